/*
 * cmd-fsck.c - vaultctl fsck: authenticate every name, directory id,
 * symlink target, document header and chunk of a vault.
 *
 * Exit status (the brief's contract): 0 all authenticated, 1 damage found
 * (each damaged item listed on stdout), 2 usage or key error.
 * The vault should not be mounted: fsck takes the mount lock.
 */
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
#include "vault-open.h"
#include "../keys/keystore.h"
#include "../vaultfs/auditrec.h"
#include "../vaultfs/backing.h"
#include "../vaultfs/document.h"
#include "../vaultfs/names.h"
#include "../vaultfs/walk.h"

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
	if (error == -ENODATA) {
		snprintf(what, sizeof(what), "chunks from %" PRIu64 " on are "
			 "missing (the backing file was cut short)", index);
		damage(f, f->cur_path, f->cur_backing, what);
		f->cur_bad++;
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

/* ---- walk callbacks (vaultfs/walk.h) ---- */

static void on_damage(const char *path, const char *bpath, const char *what,
		      void *arg)
{
	damage(arg, path, bpath, what);
}

static void on_warning(const char *path, const char *bpath, const char *what,
		       void *arg)
{
	warning(arg, path, bpath, what);
}

static int on_dir(const struct walk_entry *e, void *arg)
{
	struct fsck *f = arg;

	f->dirs++;
	return 0;
}

static int on_entry(const struct walk_entry *e, void *arg)
{
	struct fsck *f = arg;

	if (S_ISREG(e->st->st_mode))
		check_file(f, e->dirfd, e->name, e->path, e->bpath);
	else if (S_ISLNK(e->st->st_mode))
		check_link(f, e->dirfd, e->name, e->path, e->bpath);
	return 0;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct walk_ops walk_ops = {
		.entry = on_entry,
		.dir = on_dir,
		.damage = on_damage,
		.warning = on_warning,
	};
	struct fsck f = { 0 };
	struct vaultctl_vault v;
	const char *passfile = NULL, *vault;
	int c, r, data_fd = -1;
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
			return VAULTCTL_EXIT_OK;
		default:
			return vaultctl_bad_option("fsck", c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error("fsck", "expected exactly one VAULT");
	vault = argv[optind];
	/* Any trouble before the check is a usage or key error: exit 2. */
	if (vaultctl_open_vault(vault, passfile, VAULTCTL_OPEN_MOUNT_LOCK,
				&v) < 0)
		return VAULTCTL_EXIT_USAGE;
	f.ks = v.ks;
	f.nk = names_key_new(keystore_name_key(v.ks));
	if (!f.nk) {
		vaultctl_error("out of memory");
		goto out;
	}
	data_fd = openat(v.fd, BACKING_DATA_DIR,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0) {
		printf("damaged: / (backing %s/%s): %s\n", vault,
		       BACKING_DATA_DIR, strerror(errno));
		status = 1;
		goto out;
	}
	/*
	 * fsck authenticates every document (and shows no content): it is
	 * recorded, but a log too damaged to append to must not stop the
	 * tool that reports damage (the error is printed).
	 */
	if (vaultctl_record(vault, keystore_settings(v.ks), AUDIT_EV_FSCK,
			    "start") < 0)
		vaultctl_error("checking anyway");
	f.progress = isatty(STDERR_FILENO);
	snprintf(bpath, sizeof(bpath), "%s/%s", vault, BACKING_DATA_DIR);
	r = walk_vault(data_fd, bpath, f.nk, &walk_ops, &f);
	if (r < 0) {
		vaultctl_error("cannot check vault '%s': %s", vault,
			       strerror(-r));
		goto out;
	}
	progress(&f, true);
	printf("%lu documents, %lu directories, %lu symlinks checked: %lu "
	       "damaged, %lu warnings\n", f.docs, f.dirs, f.links, f.damaged,
	       f.warnings);
	status = f.damaged ? 1 : 0;
	snprintf(bpath, sizeof(bpath), "done documents=%lu directories=%lu "
		 "symlinks=%lu damaged=%lu warnings=%lu", f.docs, f.dirs,
		 f.links, f.damaged, f.warnings);
	if (vaultctl_record(vault, keystore_settings(v.ks), AUDIT_EV_FSCK,
			    bpath) < 0)
		vaultctl_error("the result is not recorded");
out:
	names_key_free(f.nk);
	if (data_fd >= 0)
		close(data_fd);
	vaultctl_close_vault(&v);
	return status;
}
