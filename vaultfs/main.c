/*
 * main.c - vaultfs(8): unlock a vault and mount it.
 *
 *   vaultfs VAULT MOUNTPOINT [--passfile F] [-f] [-d] [-o OPT[,OPT...]]
 *
 * Returns only once the mount is ready (or has failed): the mount is made
 * before the daemon detaches.  Exit status: 0 ok, 1 failure, 2 usage,
 * 3 wrong passphrase.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <limits.h>
#include <unistd.h>

#include "access.h"
#include "auditfwd.h"
#include "auditlog.h"
#include "backing.h"
#include "bdi.h"
#include "fsops.h"
#include "harden.h"
#include "log.h"
#include "mountopts.h"
#include "names.h"
#include "passphrase.h"
#include "seal.h"
#include "../keys/keystore.h"

enum { EXIT_USAGE = 2, EXIT_BADPASS = 3 };

static const char usage_text[] =
	"usage: vaultfs VAULT MOUNTPOINT [--passfile FILE] [-f] [-o OPT[,OPT...]]\n"
	"\n"
	"Unlock the vault in directory VAULT and mount its documents on\n"
	"MOUNTPOINT.  Returns when the mount is ready; unmount with\n"
	"'fusermount3 -u MOUNTPOINT'.\n"
	"\n"
	"  --passfile FILE  read the passphrase from the first line of FILE\n"
	"                   (default: prompt on the terminal)\n"
	"  -f, --foreground stay in the foreground\n"
	"  -d, --debug      foreground, with FUSE request tracing\n"
	"  -o OPT[,OPT...]  mount options: the usual FUSE ones (allow_other,\n"
	"                   ro, ...) and vaultfs's own:\n"
	"                     no_writeback  no kernel writeback cache\n"
	"                     cache_timeout=SECONDS  attribute/entry cache\n"
	"                     direct_io     exact byte counts in the access\n"
	"                                   log (no page cache; slower)\n"
	"                     audit_syslog[=SOCKET]  copy the access log\n"
	"                                   to syslog (default /dev/log)\n"
	"                     dirty_min=SIZE  room for dirty pages (root;\n"
	"                                   default 256M, 0 = kernel's)\n"
	"                     read_ahead=SIZE  kernel readahead (root;\n"
	"                                   default 1M, 0 = kernel's)\n"
	"  -h, --help       show this help\n"
	"\n"
	"Exit status: 0 mounted, 1 failure, 2 usage error, 3 wrong passphrase.\n"
	"See vaultfs(8).\n";

struct options {
	const char *vault;
	const char *mountpoint;
	const char *passfile;
	bool foreground;
	bool debug;
	struct mount_opts mount;
};

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vaultfs: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\ntry 'vaultfs --help'\n");
	exit(EXIT_USAGE);
}

static void append_opt(char **list, const char *opt)
{
	size_t old = *list ? strlen(*list) : 0;
	char *n = realloc(*list, old + strlen(opt) + 2);

	if (!n) {
		fprintf(stderr, "vaultfs: out of memory\n");
		exit(EXIT_FAILURE);
	}
	if (old)
		n[old++] = ',';
	strcpy(n + old, opt);
	*list = n;
}

static void parse_o(struct options *o, const char *arg)
{
	const char *bad = NULL;
	int r = mountopts_parse(&o->mount, arg, &bad);

	if (r == -EINVAL)
		usage_error("bad value in mount option '%s'", bad);
	if (r < 0) {
		fprintf(stderr, "vaultfs: out of memory\n");
		exit(EXIT_FAILURE);
	}
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	mountopts_init(&o->mount);
	opterr = 0;
	/* GNU getopt permutes, so options may also follow the operands. */
	while ((c = getopt_long(argc, argv, ":fdho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->passfile = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->foreground = o->debug = true;
			break;
		case 'o':
			parse_o(o, optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_SUCCESS);
		case ':':
			usage_error("option '%s' needs an argument",
				    argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		usage_error("%s", "missing VAULT or MOUNTPOINT operand");
	if (argc - optind > 2)
		usage_error("unexpected argument '%s'", argv[optind + 2]);
	o->vault = argv[optind];
	o->mountpoint = argv[optind + 1];
}

/*
 * The daemon keeps a descriptor for every file and directory the kernel
 * remembers: use all the descriptors the hard limit allows.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	FILE *f;
	unsigned long nr_open = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	/* root may go up to the kernel's ceiling */
	f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (geteuid() == 0 && nr_open > rl.rlim_max) {
		struct rlimit big = { nr_open, nr_open };

		if (setrlimit(RLIMIT_NOFILE, &big) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A clear message for each way the vault directory can be wrong. */
static int open_vault(const char *vault)
{
	struct stat st;
	int fd;
	uint32_t format;
	int r;

	fd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vaultfs: cannot open vault '%s': %s\n", vault,
			strerror(errno));
		return -1;
	}
	if (fstatat(fd, KEYSTORE_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "vaultfs: '%s' is not a vault (no %s); create "
			"one with 'vaultctl init %s'\n", vault, KEYSTORE_FILE,
			vault);
		close(fd);
		return -1;
	}
	r = keystore_peek_format(vault, &format);
	if (r == -EPROTONOSUPPORT || (r == 0 && format > KEYSTORE_FORMAT)) {
		fprintf(stderr, "vaultfs: key store '%s/%s' says format %u, "
			"newer than this vaultfs supports (%u): upgrade vaultfs, "
			"or, if the vault was never used with a newer one, the "
			"key store is damaged: restore it from a backup\n",
			vault, KEYSTORE_FILE, r == 0 ? format : 0,
			KEYSTORE_FORMAT);
		close(fd);
		return -1;
	}
	return fd;
}

static int check_mountpoint(const char *mp)
{
	struct stat st;

	if (stat(mp, &st) < 0) {
		fprintf(stderr, "vaultfs: cannot use mount point '%s': %s\n",
			mp, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vaultfs: mount point '%s' is not a directory\n",
			mp);
		return -1;
	}
	return 0;
}

static int unlock(const struct options *o, struct keystore **ks)
{
	char prompt[512];
	char *pass = NULL;
	size_t len = 0;
	int r;

	snprintf(prompt, sizeof(prompt), "Passphrase for vault '%s': ",
		 o->vault);
	r = passphrase_read(o->passfile, prompt, false, &pass, &len);
	if (r == -ENOTTY) {
		fprintf(stderr, "vaultfs: no terminal to ask for the passphrase "
			"of '%s'; use --passfile FILE\n", o->vault);
		return EXIT_USAGE;
	}
	if (r < 0) {
		if (o->passfile)
			fprintf(stderr, "vaultfs: cannot read passphrase file "
				"'%s': %s\n", o->passfile,
				r == -EINVAL ? "empty or too long first line"
					     : strerror(-r));
		else
			fprintf(stderr, "vaultfs: cannot read passphrase: %s\n",
				strerror(-r));
		return EXIT_FAILURE;
	}
	r = keystore_open(o->vault, pass, len, ks);
	passphrase_free(pass, len);
	switch (r) {
	case 0:
		return 0;
	case -EKEYREJECTED:
		fprintf(stderr, "vaultfs: wrong passphrase for vault '%s'\n",
			o->vault);
		return EXIT_BADPASS;
	case -EBADMSG:
		fprintf(stderr, "vaultfs: key store of vault '%s' is damaged or "
			"was tampered with; restore %s from a backup\n",
			o->vault, KEYSTORE_FILE);
		return EXIT_FAILURE;
	case -EPROTONOSUPPORT:
		fprintf(stderr, "vaultfs: vault '%s' needs a newer vaultfs\n",
			o->vault);
		return EXIT_FAILURE;
	default:
		fprintf(stderr, "vaultfs: cannot read key store of vault '%s': "
			"%s\n", o->vault, strerror(-r));
		return EXIT_FAILURE;
	}
}

/* host, vault and mount point, for the mount and unmount records */
static void describe(char *buf, size_t len, const struct options *o)
{
	char host[256] = "", vault[PATH_MAX], mp[PATH_MAX];

	gethostname(host, sizeof(host) - 1);
	if (!realpath(o->vault, vault))
		snprintf(vault, sizeof(vault), "%s", o->vault);
	if (!realpath(o->mountpoint, mp))
		snprintf(mp, sizeof(mp), "%s", o->mountpoint);
	snprintf(buf, len, "host=%s vault=%s mountpoint=%s%s%s", host, vault,
		 mp, o->mount.fuse ? " options=" : "",
		 o->mount.fuse ? o->mount.fuse : "");
}

/*
 * Preallocate RESERVE_BYTES in VAULT/audit.reserve for the access log, so
 * that on a full backing store the removals that free space can still be
 * recorded (access.h).  Best effort: -1 without one.
 */
#define RESERVE_FILE "audit.reserve"
#define RESERVE_BYTES (256 << 10)	/* about a thousand records */

static int make_reserve(int vault_fd)
{
	int fd = openat(vault_fd, RESERVE_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
			O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (posix_fallocate(fd, 0, RESERVE_BYTES) != 0) {
		vlog(LOG_WARNING, "no space for the access log reserve: on a "
		     "full disk, removals cannot be recorded either");
		close(fd);
		return -1;
	}
	return fd;
}

/* -o audit_syslog: the copy of the access log sent to syslog, or NULL. */
static struct auditfwd *audit_fwd;

/* For the unmount record and the daemon's log: what the copy lacks. */
static void note_forwarding(char *detail, size_t cap)
{
	uint64_t sent, dropped, unsent;
	size_t len = strlen(detail);

	/* The record keeps AUDIT_DETAIL_MAX bytes: the counts must fit. */
	if (len > AUDIT_DETAIL_MAX - 100 && cap > AUDIT_DETAIL_MAX - 100)
		len = AUDIT_DETAIL_MAX - 100;
	unsent = auditfwd_flush(audit_fwd, 500);
	auditfwd_counts(audit_fwd, &sent, &dropped);
	snprintf(detail + len, cap - len, " audit_syslog: forwarded %llu, "
		 "dropped %llu", (unsigned long long)sent,
		 (unsigned long long)dropped);
	if (unsent > 0) {
		len = strlen(detail);
		snprintf(detail + len, cap - len, ", unsent %llu",
			 (unsigned long long)unsent);
	}
	if (dropped > 0)
		vlog(LOG_WARNING, "audit_syslog: %llu access log frames could "
		     "not be forwarded (%llu were)", (unsigned long long)dropped,
		     (unsigned long long)sent);
}

/* The access log must start, or the vault is not mounted (fail closed). */
static int open_log(int vault_fd, const struct options *o,
		    const struct keystore *ks, struct auditlog **log)
{
	int fd, r;

	fd = openat(vault_fd, BACKING_AUDIT_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vaultfs: cannot open the access log directory "
			"'%s/%s': %s\n", o->vault, BACKING_AUDIT_DIR,
			strerror(errno));
		return -1;
	}
	if (o->mount.audit_syslog != NULL &&
	    auditfwd_open(o->mount.audit_syslog,
			  keystore_settings(ks)->vault_id, &audit_fwd) < 0) {
		fprintf(stderr, "vaultfs: cannot forward the access log to "
			"'%s': out of memory\n", o->mount.audit_syslog);
		close(fd);
		return -1;
	}
	r = auditlog_open(fd, keystore_settings(ks),
			  &(struct auditlog_options){
				.kind = AUDIT_SEG_MOUNT,
				.max_segment_bytes = AUDITLOG_SEGMENT_BYTES_DEFAULT,
				.copy = audit_fwd != NULL ? auditfwd_copy : NULL,
				.copy_arg = audit_fwd,
			  }, log);
	close(fd);
	if (r == -EBUSY) {
		fprintf(stderr, "vaultfs: the access log of vault '%s' is being "
			"written by another program; wait for it to finish\n",
			o->vault);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "vaultfs: cannot start the access log in "
			"'%s/%s': %s; not mounting without it\n", o->vault,
			BACKING_AUDIT_DIR, strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * Without -f, vaultfs goes to the background before it touches a key: a
 * child does all the work (memory locks are not inherited across fork(2),
 * and the access log then names the daemon's own pid) while the parent
 * waits until the child says the mount is ready, or exits, and returns
 * that.  ready_fd is the child's end of that pipe.
 */
static int ready_fd = -1;

static void detach_early(void)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		fprintf(stderr, "vaultfs: cannot go to the background: %s\n",
			strerror(errno));
		exit(EXIT_FAILURE);
	}
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		return;
	}
	close(p[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(EXIT_SUCCESS);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(EXIT_FAILURE);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILURE);
}

/* Mounted: leave the terminal and let the waiting parent return 0. */
static void detach_done(void)
{
	int fd;

	if (ready_fd < 0)
		return;
	(void)setsid();
	if (chdir("/") < 0)
		vlog(LOG_WARNING, "cannot change to /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if (write(ready_fd, "", 1) != 1)	/* the parent is gone: no matter */
		vlog(LOG_DEBUG, "nobody waits for the mount");
	close(ready_fd);
	ready_fd = -1;
}

/*
 * The kernel's per-mount settings (bdi.h): room for dirty pages, so that
 * random writes coalesce per chunk (only the writeback cache gathers
 * pages), and a larger readahead.  Only root may set them.  A refusal
 * costs speed, never data: warn and go on.
 */
static void tune_bdi(const struct options *o)
{
	bool dirty = o->mount.writeback && !o->mount.direct_io &&
		     o->mount.dirty_min > 0;
	uint64_t got;
	int bdi, r;

	if (geteuid() != 0 || (!dirty && o->mount.read_ahead == 0))
		return;
	bdi = bdi_open(o->mountpoint, "fuse.vaultfs");
	if (bdi < 0) {
		vlog(LOG_WARNING, "cannot find the kernel's settings for the "
		     "mount on '%s': %s; it may be slower", o->mountpoint,
		     strerror(-bdi));
		return;
	}
	if (dirty && (r = bdi_reserve(bdi, o->mount.dirty_min, &got)) < 0)
		vlog(LOG_WARNING, "dirty_min: cannot reserve room for dirty "
		     "pages on '%s': %s; small random writes will be slower",
		     o->mountpoint, strerror(-r));
	else if (dirty && got < o->mount.dirty_min)
		vlog(LOG_INFO, "dirty_min: the kernel allows %" PRIu64 " MiB "
		     "of dirty pages on '%s', not the %" PRIu64 " MiB asked for",
		     got >> 20, o->mountpoint, o->mount.dirty_min >> 20);
	if (o->mount.read_ahead > 0 &&
	    (r = bdi_read_ahead(bdi, o->mount.read_ahead)) < 0)
		vlog(LOG_WARNING, "read_ahead: cannot set it on '%s': %s",
		     o->mountpoint, strerror(-r));
	close(bdi);
}

int main(int argc, char **argv)
{
	struct options o;
	struct keystore *ks = NULL;
	struct names_key *nk = NULL;
	struct fsops *fs = NULL;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	struct auditlog *log = NULL;
	char where[3 * PATH_MAX];
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int vault_fd = -1, lock_fd = -1, data_fd = -1, reserve_fd = -1;
	int status = EXIT_FAILURE, r;
	char *opts = NULL;

	log_init("vaultfs");
	parse_args(argc, argv, &o);
	if (!o.foreground)
		detach_early();
	if (seal_init() < 0) {
		fprintf(stderr, "vaultfs: cannot initialise libsodium\n");
		return EXIT_FAILURE;
	}
	if (harden_process() < 0)
		fprintf(stderr, "vaultfs: warning: cannot disable core dumps\n");
	raise_fd_limit();

	vault_fd = open_vault(o.vault);
	if (vault_fd < 0)
		goto out;
	if (check_mountpoint(o.mountpoint) < 0)
		goto out;
	r = backing_lock(vault_fd, &lock_fd);
	if (r == -EBUSY) {
		fprintf(stderr, "vaultfs: vault '%s' is already mounted; "
			"unmount it first\n", o.vault);
		goto out;
	} else if (r < 0) {
		fprintf(stderr, "vaultfs: cannot lock vault '%s': %s\n",
			o.vault, strerror(-r));
		goto out;
	}
	status = unlock(&o, &ks);
	if (status != 0)
		goto out;
	status = EXIT_FAILURE;

	data_fd = openat(vault_fd, BACKING_DATA_DIR,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0) {
		fprintf(stderr, "vaultfs: vault '%s' has no %s/ directory: %s\n",
			o.vault, BACKING_DATA_DIR, strerror(errno));
		goto out;
	}
#ifndef VAULTFS_BENCH_NO_AUDIT
	if (open_log(vault_fd, &o, ks, &log) < 0)
		goto out;
#else
	/*
	 * Benchmark-only build (tests/bench/bench.sh builds it into its own
	 * directory to measure what the access log costs): no log at all, a
	 * NULL log records nothing.  Only this compiler flag turns it on; no
	 * option, environment or file can.
	 */
	(void)open_log;
	fprintf(stderr, "vaultfs: WARNING: BENCHMARK-ONLY BUILD "
		"(VAULTFS_BENCH_NO_AUDIT): NO ACCESS LOG, NOTHING IS "
		"RECORDED; never use this binary on real data\n");
#endif
	reserve_fd = make_reserve(vault_fd);
	access_set_reserve(reserve_fd);
	describe(where, sizeof(where), &o);
	nk = names_key_new(keystore_name_key(ks));
	if (!nk) {
		fprintf(stderr, "vaultfs: out of memory\n");
		goto out;
	}
	fs = fsops_new(&(struct fsops_config){
		.data_fd = data_fd,
		.ks = ks,
		.nk = nk,
		.log = log,
		.root_owns = geteuid() == 0,
		.timeout = o.mount.timeout,
		.writeback = o.mount.writeback && !o.mount.direct_io,
		.direct_io = o.mount.direct_io,
		.shared = o.mount.shared,
	});
	if (!fs) {
		fprintf(stderr, "vaultfs: cannot set up: %s\n", strerror(errno));
		goto out;
	}
	data_fd = -1;	/* owned by fs now */

	/* No default_permissions: the daemon makes the POSIX permission
	 * checks itself (fsops.c, perm.h), so that refusals are recorded. */
	append_opt(&opts, "fsname=vaultfs");
	append_opt(&opts, "subtype=vaultfs");
	if (o.mount.fuse)
		append_opt(&opts, o.mount.fuse);
	if (fuse_opt_add_arg(&args, argv[0]) < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, opts) < 0 ||
	    (o.debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		fprintf(stderr, "vaultfs: out of memory\n");
		goto out;
	}
	se = fuse_session_new(&args, fsops_table(), fsops_table_size(), fs);
	if (!se) {
		fprintf(stderr, "vaultfs: invalid mount options '%s'; see "
			"vaultfs --help\n", o.mount.fuse ? o.mount.fuse : "");
		status = EXIT_USAGE;
		goto out;
	}
	fsops_set_session(fs, se);
	if (fuse_set_signal_handlers(se) < 0) {
		fprintf(stderr, "vaultfs: cannot set signal handlers\n");
		goto out;
	}
	if (fuse_session_mount(se, o.mountpoint) < 0) {
		fprintf(stderr, "vaultfs: cannot mount on '%s'\n", o.mountpoint);
		goto out_signals;
	}
	tune_bdi(&o);
	r = access_record(log, &(struct access_event){
		.event = AUDIT_EV_MOUNT, .uid = getuid(), .gid = getgid(),
		.pid = (uint32_t)getpid(), .path = "/", .detail = where });
	if (r < 0) {
		fprintf(stderr, "vaultfs: cannot write the mount record to the "
			"access log: %s; not mounting\n", strerror(-r));
		goto out_unmount;
	}
	/* Header and mount record now: a wrong socket shows on stderr. */
	if (audit_fwd != NULL)
		(void)auditfwd_flush(audit_fwd, 0);
	/* Mounted: detaching now lets the caller use it on its next line. */
	if (!o.foreground) {
		detach_done();
		log_use_syslog();
	}
	/* Records are written at once; this bounds what a power cut loses. */
	if (log && auditlog_start_flusher(log, 100) < 0)
		vlog(LOG_WARNING, "cannot start the access log flusher; records "
		     "are synced at unmount only");
	if (audit_fwd != NULL && auditfwd_start(audit_fwd) < 0)
		vlog(LOG_WARNING, "audit_syslog: cannot start the sender; the "
		     "access log is forwarded at unmount only");

	loop = fuse_loop_cfg_create();
	if (!loop)
		goto out_unmount;
	fuse_loop_cfg_set_max_threads(loop, 16);
	fuse_loop_cfg_set_idle_threads(loop, 16);
	r = fuse_session_loop_mt(se, loop);
	status = r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	fuse_loop_cfg_destroy(loop);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	fsops_free(fs);	/* flushes open documents */
	if (log && audit_fwd)
		note_forwarding(where, sizeof(where));
	if (log)
		(void)access_close(log, &(struct access_event){
			.event = se ? AUDIT_EV_UNMOUNT : AUDIT_EV_END,
			.uid = getuid(), .gid = getgid(),
			.pid = (uint32_t)getpid(), .path = "/",
			.result = status == EXIT_SUCCESS ? 0 : -EIO,
			.detail = where });
	fuse_opt_free_args(&args);
	auditfwd_free(audit_fwd);
	free(opts);
	mountopts_release(&o.mount);
	names_key_free(nk);
	keystore_free(ks);
	if (data_fd >= 0)
		close(data_fd);
	access_set_reserve(-1);
	if (reserve_fd >= 0)
		close(reserve_fd);
	if (lock_fd >= 0)
		close(lock_fd);
	if (vault_fd >= 0)
		close(vault_fd);
	return status;
}
