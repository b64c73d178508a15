/*
 * cmd-init.c - vaultctl init: create a vault in a new or empty directory.
 *
 * Everything is checked, and both passphrases read, before anything is
 * created.  Then, with the terminating signals held back: the vault
 * directory (if it did not exist), the auditor key file, the backing
 * layout, the key store.  If a step fails or a signal arrives, what init
 * made is removed again and the directory is left as it was found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vaultctl.h"
#include "../vaultfs/auditrec.h"
#include "../keys/auditkey.h"
#include "../keys/keystore.h"
#include "../vaultfs/backing.h"
#include "../vaultfs/compress.h"
#include "../vaultfs/passphrase.h"
#include "../vaultfs/size.h"

#define DEFAULT_CHUNK_SIZE 65536u
#define CHUNK_MIN 4096u
#define CHUNK_MAX (1u << 20)
#define AUDITOR_KEY_DEFAULT "auditor.key"

static const char init_usage[] =
	"usage: vaultctl init VAULT [--passfile F] [--auditor-key-out K]\n"
	"                     [--auditor-passfile AF] [--compress off|LEVEL]\n"
	"                     [--chunk-size BYTES]\n"
	"                     [--kdf interactive|moderate|sensitive]\n"
	"\n"
	"Create a new vault in VAULT, which must be an empty directory or not\n"
	"exist yet (its parent must).  Also creates the auditor's key pair: the\n"
	"public key goes into the vault, the secret key, protected by its own\n"
	"passphrase, into K.  The auditor keeps K off this machine.\n"
	"\n"
	"  --passfile F           read the vault passphrase from the first line\n"
	"                         of F (default: ask twice on the terminal)\n"
	"  --auditor-key-out K    write the auditor's secret key to K\n"
	"                         (default: VAULT/auditor.key; move it away)\n"
	"  --auditor-passfile AF  read the auditor key's passphrase from AF\n"
	"                         (default: ask on the terminal; without one,\n"
	"                         the vault passphrase is used)\n"
	"  --compress off|LEVEL   zstd level 1-19 for documents, or off\n"
	"                         (default: 3)\n"
	"  --chunk-size BYTES     document chunk size, a power of two from 4K\n"
	"                         to 1M; K and M suffixes (default: 64K)\n"
	"  --kdf PRESET           Argon2id cost of the passphrases: interactive\n"
	"                         (64 MiB), moderate (256 MiB, default) or\n"
	"                         sensitive (1 GiB)\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 created, 1 failed (nothing is left behind), 2 usage\n"
	"error.\n";

struct init_opts {
	const char *vault;
	const char *passfile;
	const char *auditor_out;
	const char *auditor_passfile;
	int level;
	uint32_t chunk_size;
	enum keystore_kdf kdf;
};

/* What init has made so far, to undo on failure. */
struct init_state {
	char auditor_path[PATH_MAX];
	bool made_dir, made_auditkey, made_layout, made_keystore;
	int vault_fd;
};

static const char *const kdf_costs[] = {
	[KEYSTORE_KDF_INTERACTIVE] = "64 MiB",
	[KEYSTORE_KDF_MODERATE] = "256 MiB",
	[KEYSTORE_KDF_SENSITIVE] = "1 GiB",
};

/* ---- option values ---- */

static bool parse_level(const char *s, int *level)
{
	char *end;
	long v;

	if (strcmp(s, "off") == 0) {
		*level = 0;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > COMPRESS_LEVEL_MAX)
		return false;
	*level = (int)v;
	return true;
}

static bool parse_chunk_size(const char *s, uint32_t *size)
{
	uint64_t v;

	if (size_parse(s, strlen(s), &v) < 0 || v < CHUNK_MIN ||
	    v > CHUNK_MAX || (v & (v - 1)) != 0)
		return false;
	*size = (uint32_t)v;
	return true;
}

static int parse_args(int argc, char **argv, struct init_opts *o)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "auditor-key-out", required_argument, NULL, 'k' },
		{ "auditor-passfile", required_argument, NULL, 'a' },
		{ "compress", required_argument, NULL, 'c' },
		{ "chunk-size", required_argument, NULL, 's' },
		{ "kdf", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	o->level = COMPRESS_LEVEL_DEFAULT;
	o->chunk_size = DEFAULT_CHUNK_SIZE;
	o->kdf = KEYSTORE_KDF_MODERATE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->passfile = optarg;
			break;
		case 'k':
			o->auditor_out = optarg;
			break;
		case 'a':
			o->auditor_passfile = optarg;
			break;
		case 'c':
			if (!parse_level(optarg, &o->level))
				return vaultctl_usage_error("init", "invalid "
					"--compress '%s': use off or a level "
					"from 1 to %d", optarg,
					COMPRESS_LEVEL_MAX);
			break;
		case 's':
			if (!parse_chunk_size(optarg, &o->chunk_size))
				return vaultctl_usage_error("init", "invalid "
					"--chunk-size '%s': use a power of two "
					"from 4K to 1M, such as 64K", optarg);
			break;
		case 'd':
			r = vaultctl_parse_kdf("init", optarg, &o->kdf);
			if (r != 0)
				return r;
			break;
		case 'h':
			fputs(init_usage, stdout);
			return -1;
		default:
			return vaultctl_bad_option("init", c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error("init", argc == optind ?
					    "missing VAULT" :
					    "expected one VAULT, got %d",
					    argc - optind);
	o->vault = argv[optind];
	if (o->vault[0] == '\0')
		return vaultctl_usage_error("init", "empty VAULT path");
	if (o->auditor_out != NULL && o->auditor_out[0] == '\0')
		return vaultctl_usage_error("init", "empty --auditor-key-out");
	return 0;
}

/* ---- checks before anything is created ---- */

/* 0 if path's parent directory exists, else -errno. */
static int parent_exists(const char *path)
{
	char copy[PATH_MAX];
	struct stat st;

	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	if (stat(dirname(copy), &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* A new vault directory, or an existing empty one.  Prints why not. */
static int check_vault_dir(const char *vault, bool *exists)
{
	int fd, empty = 0, r;

	fd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*exists = false;
		r = parent_exists(vault);
		if (r < 0)
			vaultctl_error("cannot create vault '%s': its parent "
				       "directory: %s; create that first",
				       vault, strerror(-r));
		return r;
	}
	if (fd < 0) {
		r = -errno;
		if (r == -ENOTDIR)
			vaultctl_error("cannot create vault '%s': it exists "
				       "and is not a directory", vault);
		else
			vaultctl_error("cannot open vault directory '%s': %s",
				       vault, strerror(-r));
		return r;
	}
	*exists = true;
	r = backing_dir_is_empty(fd, &empty);
	close(fd);
	if (r < 0) {
		vaultctl_error("cannot read directory '%s': %s", vault,
			       strerror(-r));
		return r;
	}
	if (!empty) {
		vaultctl_error("refusing to initialise non-empty directory "
			       "'%s'", vault);
		return -ENOTEMPTY;
	}
	return 0;
}

static int check_auditor_path(const char *path, bool in_new_vault)
{
	struct stat st;
	int r;

	if (strlen(path) >= PATH_MAX) {
		vaultctl_error("auditor key path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0) {
		vaultctl_error("auditor key file '%s' already exists; choose "
			       "another --auditor-key-out", path);
		return -EEXIST;
	}
	if (in_new_vault)
		return 0;
	r = parent_exists(path);
	if (r < 0)
		vaultctl_error("cannot write auditor key '%s': its directory: "
			       "%s", path, strerror(-r));
	return r;
}

/* ---- creating and undoing ---- */

/* Remove the files in vault_fd/name and then the directory itself. */
static void remove_flat_dir(int vault_fd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(vault_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	(void)unlinkat(vault_fd, name, AT_REMOVEDIR);
}

static void undo(const struct init_opts *o, struct init_state *st)
{
	if (st->made_keystore)
		(void)unlinkat(st->vault_fd, KEYSTORE_FILE, 0);
	if (st->made_layout) {
		remove_flat_dir(st->vault_fd, BACKING_DATA_DIR);
		remove_flat_dir(st->vault_fd, BACKING_AUDIT_DIR);
		(void)unlinkat(st->vault_fd, BACKING_LOCK_FILE, 0);
	}
	if (st->made_auditkey)
		(void)unlink(st->auditor_path);
	if (st->vault_fd >= 0)
		close(st->vault_fd);
	st->vault_fd = -1;
	if (st->made_dir)
		(void)rmdir(o->vault);
}

static int create_vault(const struct init_opts *o, struct init_state *st,
			const char *pass, size_t passlen,
			const char *apass, size_t apasslen)
{
	struct vault_settings s = { 0 };
	struct keystore *ks = NULL;
	char detail[64];
	int empty = 0, r;

	if (mkdir(o->vault, 0700) == 0) {
		st->made_dir = true;
	} else if (errno != EEXIST) {
		r = -errno;
		vaultctl_error("cannot create vault directory '%s': %s",
			       o->vault, strerror(-r));
		return r;
	}
	st->vault_fd = open(o->vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->vault_fd < 0) {
		r = -errno;
		vaultctl_error("cannot open vault directory '%s': %s",
			       o->vault, strerror(-r));
		return r;
	}
	/* Someone may have been quicker since the first check. */
	r = backing_dir_is_empty(st->vault_fd, &empty);
	if (r == 0 && !empty) {
		vaultctl_error("refusing to initialise non-empty directory "
			       "'%s'", o->vault);
		return -ENOTEMPTY;
	}

	r = auditkey_generate(st->auditor_path, apass, apasslen, o->kdf,
			      s.auditor_pk);
	if (r < 0) {
		vaultctl_error("cannot write auditor key '%s': %s",
			       st->auditor_path, r == -ENOMEM ?
			       "not enough memory for the key derivation" :
			       strerror(-r));
		return r;
	}
	st->made_auditkey = true;

	r = backing_init_layout(st->vault_fd);
	if (r < 0) {
		vaultctl_error("cannot create the vault layout in '%s': %s",
			       o->vault, strerror(-r));
		return r;
	}
	st->made_layout = true;

	s.chunk_size = o->chunk_size;
	s.compress_level = o->level;
	r = keystore_create(o->vault, pass, passlen, o->kdf, &s, &ks);
	if (r < 0) {
		vaultctl_error("cannot write key store '%s/%s': %s", o->vault,
			       KEYSTORE_FILE, r == -ENOMEM ?
			       "not enough memory for the key derivation" :
			       strerror(-r));
		return r;
	}
	st->made_keystore = true;
	/* The log starts with the vault: its first record is the init. */
	snprintf(detail, sizeof(detail), "chunk_size=%u compress=%d",
		 keystore_settings(ks)->chunk_size,
		 keystore_settings(ks)->compress_level);
	r = vaultctl_record(o->vault, keystore_settings(ks), AUDIT_EV_INIT,
			    detail);
	keystore_free(ks);
	return r;
}

static void summary(const struct init_opts *o, const struct init_state *st)
{
	printf("created vault '%s'\n", o->vault);
	if (o->chunk_size >= (1u << 20))
		printf("  chunk size:   %u MiB\n", o->chunk_size >> 20);
	else
		printf("  chunk size:   %u KiB\n", o->chunk_size >> 10);
	if (o->level == 0)
		printf("  compression:  off\n");
	else
		printf("  compression:  zstd level %d\n", o->level);
	printf("  passphrases:  Argon2id, %s (%s)\n", vaultctl_kdf_name(o->kdf),
	       kdf_costs[o->kdf]);
	printf("  auditor key:  %s\n", st->auditor_path);
	fflush(stdout);
}

int cmd_init(int argc, char **argv)
{
	struct init_opts o = { 0 };
	struct init_state st = { .vault_fd = -1 };
	char prompt[PATH_MAX + 64];
	char *pass = NULL, *apass = NULL;
	size_t passlen = 0, apasslen = 0;
	bool exists = false, shared_pass = false, interrupted = false;
	sigset_t block, old, pending;
	int r, status = VAULTCTL_EXIT_FAILURE;

	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r < 0 ? VAULTCTL_EXIT_OK : r;	/* -1: --help shown */

	if (o.auditor_out != NULL)
		snprintf(st.auditor_path, sizeof(st.auditor_path), "%s",
			 o.auditor_out);
	else if ((size_t)snprintf(st.auditor_path, sizeof(st.auditor_path),
				  "%s/%s", o.vault, AUDITOR_KEY_DEFAULT) >=
		 sizeof(st.auditor_path)) {
		vaultctl_error("vault path '%s' is too long", o.vault);
		return VAULTCTL_EXIT_FAILURE;
	}
	if (check_vault_dir(o.vault, &exists) < 0)
		return VAULTCTL_EXIT_FAILURE;
	if (check_auditor_path(st.auditor_path,
			       !exists && o.auditor_out == NULL) < 0)
		return VAULTCTL_EXIT_FAILURE;

	snprintf(prompt, sizeof(prompt), "New passphrase for %s: ", o.vault);
	if (vaultctl_passphrase(o.passfile, "--passfile", prompt, true, &pass,
				&passlen) < 0)
		goto out;
	if (o.auditor_passfile != NULL) {
		if (vaultctl_passphrase(o.auditor_passfile,
					"--auditor-passfile", "", false,
					&apass, &apasslen) < 0)
			goto out;
	} else {
		snprintf(prompt, sizeof(prompt), "New passphrase for the "
			 "auditor key %s: ", st.auditor_path);
		r = passphrase_read(NULL, prompt, true, &apass, &apasslen);
		if (r == -ENOTTY) {
			shared_pass = true;
		} else if (r < 0) {
			/* Explain it the usual way. */
			if (r == -EINVAL)
				vaultctl_error("empty auditor passphrase, or "
					       "longer than %d bytes; nothing "
					       "was created", PASSPHRASE_MAX);
			else if (r == -EKEYREJECTED)
				vaultctl_error("the auditor passphrases do not "
					       "match; nothing was created");
			else
				vaultctl_error("cannot read the auditor "
					       "passphrase: %s", strerror(-r));
			goto out;
		}
	}

	/* From here on, an interrupt must not leave half a vault behind. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	r = create_vault(&o, &st, pass, passlen,
			 shared_pass ? pass : apass,
			 shared_pass ? passlen : apasslen);
	if (sigpending(&pending) == 0)
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&block, sig) == 1 &&
			    sigismember(&pending, sig) == 1)
				interrupted = true;
	if (r < 0 || interrupted) {
		undo(&o, &st);
		if (interrupted && r == 0)
			vaultctl_error("interrupted; removed the partly "
				       "created vault '%s'", o.vault);
	} else {
		close(st.vault_fd);
		st.vault_fd = -1;
		summary(&o, &st);
		if (shared_pass)
			vaultctl_warning("no --auditor-passfile and no "
					 "terminal: the auditor key '%s' is "
					 "protected by the vault passphrase",
					 st.auditor_path);
		if (o.auditor_out == NULL)
			vaultctl_warning("the auditor key was written to "
					 "'%s'; move it off this machine "
					 "(the auditor keeps it, the server "
					 "does not need it)", st.auditor_path);
		status = VAULTCTL_EXIT_OK;
	}
	/* A pending signal is delivered here, after the cleanup. */
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	passphrase_free(apass, apasslen);
	passphrase_free(pass, passlen);
	return status;
}
