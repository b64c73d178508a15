/*
 * cmd-fsck.c - vaultctl fsck: authenticate every name, directory id,
 * symlink target, document header and chunk of a vault.
 *
 * Exit status (the brief's contract): 0 all authenticated, 1 damage found
 * (each damaged item listed on stdout), 2 usage or key error.
 * The vault should not be mounted: fsck takes the mount lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vaultctl.h"
#include "../keys/keystore.h"
#include "../vaultfs/backing.h"
#include "../vaultfs/document.h"
#include "../vaultfs/names.h"

struct fsck {
	const struct keystore *ks;
	struct names_key *nk;
	unsigned long docs, dirs, links, damaged, warnings;
	uint64_t bytes;
	bool progress;			/* stderr is a terminal */
	time_t last_progress;
	/* for the bad-chunk callback */
	const char *cur_path;
	const char *cur_backing;
	unsigned long cur_bad;
};

static const char fsck_usage[] =
	"usage: vaultctl fsck VAULT [--passfile FILE]\n"
	"\n"
	"Check that every document, name and directory of VAULT authenticates.\n"
	"Lists each damaged item with its path in the vault and in the backing\n"
	"store.  The vault must not be mounted.\n"
	"\n"
	"  --passfile FILE  read the passphrase from the first line of FILE\n"
	"  -h, --help       show this help\n"
	"\n"
	"Exit status: 0 clean, 1 damage found, 2 usage or key error.\n";

static void progress(struct fsck *f, bool final)
{
	time_t now;

	if (!f->progress)
		return;
	now = time(NULL);
	if (!final && now == f->last_progress)
		return;
	f->last_progress = now;
	fprintf(stderr, "\rchecked %lu documents (%" PRIu64 " MiB), %lu "
		"directories%s", f->docs, f->bytes >> 20, f->dirs,
		final ? "\n" : "");
	fflush(stderr);
}

static void damage(struct fsck *f, const char *path, const char *backing,
		   const char *what)
{
	if (f->progress)
		fputs("\r\033[K", stderr);
	printf("damaged: %s (backing %s): %s\n", path, backing, what);
	fflush(stdout);
	f->damaged++;
}

static void warning(struct fsck *f, const char *path, const char *backing,
		    const char *what)
{
	if (f->progress)
		fputs("\r\033[K", stderr);
	printf("warning: %s (backing %s): %s\n", path, backing, what);
	f->warnings++;
}

static void bad_chunk(uint64_t index, int error, void *arg)
{
	struct fsck *f = arg;
	char what[128];

	if (error == -ESTALE) {
		snprintf(what, sizeof(what), "chunk %" PRIu64 ": newest version "
			 "damaged, the previous one is used (torn write after a "
			 "crash, or tampering)", index);
		warning(f, f->cur_path, f->cur_backing, what);
		return;
	}
	snprintf(what, sizeof(what), "chunk %" PRIu64 " %s", index,
		 error == -EBADMSG ? "failed authentication or is missing"
				   : strerror(-error));
	damage(f, f->cur_path, f->cur_backing, what);
	f->cur_bad++;
}

static void check_file(struct fsck *f, int dirfd, const char *backing,
		       const char *path, const char *bpath)
{
	struct doc *d = NULL;
	int fd, r;

	fd = openat(dirfd, backing, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		damage(f, path, bpath, strerror(errno));
		return;
	}
	r = doc_open(fd, f->ks, &d);
	if (r < 0) {
		damage(f, path, bpath, r == -ENOKEY ?
		       "its key-encryption key is gone" :
		       r == -EBADMSG ? "header failed authentication" :
		       strerror(-r));
		close(fd);
		return;
	}
	f->cur_path = path;
	f->cur_backing = bpath;
	f->cur_bad = 0;
	r = doc_verify(d, bad_chunk, f);
	if (r < 0 && r != -EBADMSG)
		damage(f, path, bpath, strerror(-r));
	f->docs++;
	f->bytes += doc_size(d);
	(void)doc_close(d);
	close(fd);
	progress(f, false);
}

static void check_link(struct fsck *f, int dirfd, const char *backing,
		       const char *path, const char *bpath)
{
	char enc[NAMES_LINK_ENC_MAX], target[NAMES_LINK_MAX + 1];
	ssize_t n = readlinkat(dirfd, backing, enc, sizeof(enc) - 1);
	size_t len;

	if (n < 0) {
		damage(f, path, bpath, strerror(errno));
		return;
	}
	enc[n] = '\0';
	if (names_link_decrypt(f->nk, enc, (size_t)n, target, &len) < 0)
		damage(f, path, bpath, "symlink target failed authentication");
	sodium_memzero(target, sizeof(target));
	f->links++;
}

static void walk(struct fsck *f, int dirfd, const char *path,
		 const char *bpath);

/* Is there an entry "@hash" for side file "@hash.name"? */
static bool side_has_entry(int dirfd, const char *side)
{
	char entry[NAMES_BACKING_MAX];
	size_t n = strlen(side) - strlen(NAMES_LONG_SUFFIX);

	if (n >= sizeof(entry))
		return false;
	memcpy(entry, side, n);
	entry[n] = '\0';
	return faccessat(dirfd, entry, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void check_entry(struct fsck *f, int dirfd,
			const uint8_t id[NAMES_DIRID_BYTES], const char *name,
			const char *path, const char *bpath)
{
	char plain[NAMES_PLAIN_MAX + 1], enc[NAMES_ENC_MAX];
	char *cpath = NULL, *cbpath = NULL;
	size_t len, enclen;
	struct stat st;
	int r = -EBADMSG;

	if (asprintf(&cbpath, "%s/%s", bpath, name) < 0)
		return;
	switch (names_classify(name)) {
	case NAMES_ENTRY:
		r = id ? names_decrypt(f->nk, id, name, strlen(name), plain,
				       &len) : -EBADMSG;
		break;
	case NAMES_LONG:
		r = backing_read_longname(dirfd, name, enc, &enclen);
		if (r == 0)
			r = id ? names_decrypt(f->nk, id, enc, enclen, plain,
					       &len) : -EBADMSG;
		break;
	case NAMES_LONG_SIDE:
		if (!side_has_entry(dirfd, name))
			warning(f, path, cbpath, "long-name file without its "
				"entry (left by a crash; safe to delete)");
		goto out;
	case NAMES_RESERVED:
		if (strcmp(name, NAMES_DIRID_FILE))
			warning(f, path, cbpath, "temporary entry left by a "
				"crash (safe to delete)");
		goto out;
	case NAMES_FOREIGN:
		warning(f, path, cbpath, "entry not made by vaultfs; not "
			"visible through the mount");
		goto out;
	}
	if (r < 0) {
		damage(f, path, cbpath, "name failed authentication (entry "
		       "hidden when mounted)");
		strcpy(plain, "?");
	}
	if (asprintf(&cpath, "%s%s%s", path, strcmp(path, "/") ? "/" : "",
		     plain) < 0)
		goto out;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		damage(f, cpath, cbpath, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		check_file(f, dirfd, name, cpath, cbpath);
	} else if (S_ISLNK(st.st_mode)) {
		check_link(f, dirfd, name, cpath, cbpath);
	} else if (S_ISDIR(st.st_mode)) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			damage(f, cpath, cbpath, strerror(errno));
		} else {
			walk(f, sub, cpath, cbpath);
			close(sub);
		}
	}
out:
	sodium_memzero(plain, sizeof(plain));
	free(cpath);
	free(cbpath);
}

static void walk(struct fsck *f, int dirfd, const char *path,
		 const char *bpath)
{
	uint8_t id[NAMES_DIRID_BYTES];
	bool have_id;
	struct dirent *de;
	DIR *dp;
	int fd;

	f->dirs++;
	have_id = backing_read_dirid(dirfd, id) == 0;
	if (!have_id)
		damage(f, path, bpath, "directory id missing or damaged: no "
		       "entry in it can be named");
	fd = dup(dirfd);
	dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		damage(f, path, bpath, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		check_entry(f, dirfd, have_id ? id : NULL, de->d_name, path,
			    bpath);
	}
	closedir(dp);
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck f = { 0 };
	struct keystore *ks = NULL;
	const char *passfile = NULL, *vault;
	int c, r, vault_fd = -1, lock_fd = -1, data_fd = -1;
	int status = VAULTCTL_EXIT_USAGE;
	char bpath[4096];

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			passfile = optarg;
			break;
		case 'h':
			fputs(fsck_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "vaultctl fsck: option '%s' needs an "
				"argument\ntry 'vaultctl fsck --help'\n",
				argv[optind - 1]);
			return VAULTCTL_EXIT_USAGE;
		default:
			fprintf(stderr, "vaultctl fsck: unknown option '%s'\n"
				"try 'vaultctl fsck --help'\n", argv[optind - 1]);
			return VAULTCTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "vaultctl fsck: expected exactly one VAULT\n"
			"try 'vaultctl fsck --help'\n");
		return VAULTCTL_EXIT_USAGE;
	}
	vault = argv[optind];
	vault_fd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vault_fd < 0) {
		fprintf(stderr, "vaultctl fsck: cannot open vault '%s': %s\n",
			vault, strerror(errno));
		goto out;
	}
	r = backing_lock(vault_fd, &lock_fd);
	if (r == -EBUSY) {
		fprintf(stderr, "vaultctl fsck: vault '%s' is mounted; unmount "
			"it first\n", vault);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "vaultctl fsck: cannot lock vault '%s': %s\n",
			vault, strerror(-r));
		goto out;
	}
	r = vaultctl_unlock(vault, passfile, &ks);
	if (r != 0)
		goto out;	/* message printed; key errors exit 2 here */
	f.ks = ks;
	f.nk = names_key_new(keystore_name_key(ks));
	if (!f.nk) {
		fprintf(stderr, "vaultctl fsck: out of memory\n");
		goto out;
	}
	data_fd = openat(vault_fd, BACKING_DATA_DIR,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0) {
		printf("damaged: / (backing %s/%s): %s\n", vault,
		       BACKING_DATA_DIR, strerror(errno));
		status = 1;
		goto out;
	}
	f.progress = isatty(STDERR_FILENO);
	snprintf(bpath, sizeof(bpath), "%s/%s", vault, BACKING_DATA_DIR);
	walk(&f, data_fd, "/", bpath);
	progress(&f, true);
	printf("%lu documents, %lu directories, %lu symlinks checked: %lu "
	       "damaged, %lu warnings\n", f.docs, f.dirs, f.links, f.damaged,
	       f.warnings);
	status = f.damaged ? 1 : 0;
out:
	names_key_free(f.nk);
	keystore_free(ks);
	if (data_fd >= 0)
		close(data_fd);
	if (lock_fd >= 0)
		close(lock_fd);
	if (vault_fd >= 0)
		close(vault_fd);
	return status;
}
