/*
 * powercut.c - LD_PRELOAD shim: journal every write to a backing store so
 * that tests/helpers/powercut can later undo what a power cut could lose
 * (t4007).
 *
 *   LD_PRELOAD=.../powercut.so POWERCUT_JOURNAL=DIR POWERCUT_ROOT=VAULT vaultfs ...
 *
 * Only regular files whose path (/proc/self/fd) lies under POWERCUT_ROOT
 * are followed.  Before each write-like call the shim appends to
 * DIR/journal a record with the file's identity (dev, inode, birth time),
 * its path, the range and the bytes the range held before (read with
 * pread); then it makes the call.  Records:
 *   write     pwrite, pwrite64, pwritev, pwritev2, write, writev
 *   punch     fallocate with FALLOC_FL_PUNCH_HOLE or FALLOC_FL_ZERO_RANGE
 *   truncate  ftruncate that shrinks (the bytes cut off)
 *   sync      fsync/fdatasync returned 0: every earlier record of this
 *             file (journal offset below "upto", taken when the call
 *             started) is durable
 *   syncfs    syncfs/sync returned 0: every earlier record is durable
 * Metadata (create, link, rename, unlink) is not journalled: the
 * simulation assumes it reached the disk in order.  mmap writes,
 * copy_file_range and sendfile are not followed (vaultfs uses none).
 *
 * One lock serialises the journal and the call, so the journal order is
 * the order of the writes.  The journal is opened O_APPEND on first use,
 * so the daemon's child (it forks to the background) shares it.  It is
 * never synced: it only has to survive kill -9 of the daemon.  The record
 * layout is struct pc_rec in tests/helpers/powercut.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "powercut.h"

/* Records are read back whole: bound one record's old bytes. */
#define PC_MAX_OLD (256ULL << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int jfd = -1;
static int disabled;		/* no POWERCUT_JOURNAL / ROOT, or failed */
static char root[PATH_MAX];
static size_t rootlen;

static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*r_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*r_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*r_pread)(int, void *, size_t, off_t);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_syncfs)(int);
static void (*r_sync)(void);
static int (*r_fallocate)(int, int, off_t, off_t);
static int (*r_fallocate64)(int, int, off_t, off_t);
static int (*r_ftruncate)(int, off_t);
static int (*r_ftruncate64)(int, off_t);

#define RESOLVE(name) \
	do { if (!r_##name) *(void **)&r_##name = dlsym(RTLD_NEXT, #name); } while (0)

static void die(const char *what)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "powercut shim: %s: %s\n", what,
			 strerror(errno));

	if (n > 0)
		(void)!r_write(2, msg, (size_t)n);
	abort();
}

__attribute__((constructor)) static void pc_init(void)
{
	const char *j = getenv("POWERCUT_JOURNAL"), *r = getenv("POWERCUT_ROOT");

	RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(write); RESOLVE(writev);
	RESOLVE(pwritev); RESOLVE(pwritev64); RESOLVE(pwritev2);
	RESOLVE(pread); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(syncfs);
	RESOLVE(sync); RESOLVE(fallocate); RESOLVE(fallocate64);
	RESOLVE(ftruncate); RESOLVE(ftruncate64);
	if (!j || !r || !*j || !*r || !realpath(r, root)) {
		disabled = 1;
		return;
	}
	rootlen = strlen(root);
}

/* Open the journal (lock held). */
static int journal(void)
{
	char p[PATH_MAX];

	if (jfd >= 0)
		return jfd;
	snprintf(p, sizeof(p), "%s/journal", getenv("POWERCUT_JOURNAL"));
	jfd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (jfd < 0)
		die(p);
	/* keep it away from the descriptors the program manages */
	if (jfd < 100) {
		int f = fcntl(jfd, F_DUPFD_CLOEXEC, 100);

		if (f >= 0) {
			close(jfd);
			jfd = f;
		}
	}
	return jfd;
}

static uint64_t journal_size(void)
{
	struct stat st;

	if (fstat(journal(), &st) < 0)
		die("fstat journal");
	return (uint64_t)st.st_size;
}

/*
 * Is fd a regular file under the root?  Fills the identity and path of r,
 * and st.
 */
static int followed(int fd, struct pc_rec *r, char *path, struct stat *st)
{
	char link[64];
	ssize_t n;
	struct statx sx;

	if (disabled || fd < 0 || fd == jfd)
		return 0;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, PATH_MAX - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	if ((size_t)n <= rootlen || strncmp(path, root, rootlen) != 0 ||
	    path[rootlen] != '/')
		return 0;
	memset(r, 0, sizeof(*r));
	r->magic = PC_MAGIC;
	r->dev = (uint64_t)st->st_dev;
	r->ino = (uint64_t)st->st_ino;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME)) {
		r->btime_sec = sx.stx_btime.tv_sec;
		r->btime_nsec = sx.stx_btime.tv_nsec;
	}
	r->pathlen = (uint32_t)n;
	r->oldsize = (uint64_t)st->st_size;
	r->pid = (uint64_t)getpid();
	return 1;
}

/* Append r, its path and the old bytes of [off, off+len) (lock held). */
static void record(int fd, struct pc_rec *r, const char *path, int type,
		   uint64_t off, uint64_t len)
{
	uint64_t have = 0;
	uint8_t *old = NULL;
	struct iovec iov[3];
	size_t total;
	ssize_t n;

	r->type = (uint32_t)type;
	r->off = off;
	r->len = len;
	if (type != PC_SYNC && type != PC_SYNCFS && off < r->oldsize) {
		have = r->oldsize - off < len ? r->oldsize - off : len;
		if (have > PC_MAX_OLD) {
			errno = EFBIG;
			die("a write too large to journal");
		}
		old = malloc(have ? have : 1);
		if (!old)
			die("malloc");
		for (uint64_t got = 0; got < have;) {
			n = r_pread(fd, old + got, have - got, (off_t)(off + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("pread old bytes");
			if (n == 0) {		/* shrunk meanwhile: zeros */
				memset(old + got, 0, have - got);
				break;
			}
			got += (uint64_t)n;
		}
	}
	r->oldlen = have;
	iov[0] = (struct iovec){ r, sizeof(*r) };
	iov[1] = (struct iovec){ (void *)path, r->pathlen };
	iov[2] = (struct iovec){ old, have };
	total = sizeof(*r) + r->pathlen + have;
	n = r_writev(journal(), iov, 3);
	if (n < 0 || (size_t)n != total)	/* a short append breaks the journal */
		die("append to journal");
	free(old);
}

static uint64_t iov_len(const struct iovec *iov, int cnt)
{
	uint64_t s = 0;

	for (int i = 0; i < cnt; i++)
		s += iov[i].iov_len;
	return s;
}

/* Journal a write of len bytes at off (off < 0: at the file position). */
static int before_write(int fd, off_t off, uint64_t len)
{
	struct pc_rec r;
	struct stat st;
	char path[PATH_MAX];

	if (!followed(fd, &r, path, &st))
		return 0;
	pthread_mutex_lock(&mu);
	if (off < 0) {
		int fl = fcntl(fd, F_GETFL);

		off = fl >= 0 && (fl & O_APPEND) ? st.st_size
						 : lseek(fd, 0, SEEK_CUR);
	}
	if (len > 0 && off >= 0)
		record(fd, &r, path, PC_WRITE, (uint64_t)off, len);
	return 1;	/* the caller unlocks */
}

#define WRAP_WRITE(call, fd, off, len) \
	do { \
		int held_ = before_write(fd, off, len); \
		ssize_t n_ = call; \
		int e_ = errno; \
		if (held_) \
			pthread_mutex_unlock(&mu); \
		errno = e_; \
		return n_; \
	} while (0)

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	WRAP_WRITE(r_pwrite(fd, buf, n, off), fd, off, n);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	WRAP_WRITE(r_pwrite64(fd, buf, n, off), fd, off, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	WRAP_WRITE(r_write(fd, buf, n), fd, -1, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	WRAP_WRITE(r_writev(fd, iov, cnt), fd, -1, iov_len(iov, cnt));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRAP_WRITE(r_pwritev(fd, iov, cnt, off), fd, off, iov_len(iov, cnt));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRAP_WRITE(r_pwritev64(fd, iov, cnt, off), fd, off, iov_len(iov, cnt));
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int fl)
{
	WRAP_WRITE(r_pwritev2(fd, iov, cnt, off, fl), fd, off < 0 ? -1 : off,
		   iov_len(iov, cnt));
}

static int do_fallocate(int (*real)(int, int, off_t, off_t), int fd,
			int mode, off_t off, off_t len)
{
	struct pc_rec r;
	struct stat st;
	char path[PATH_MAX];
	int held = 0, ret, e;

	if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) &&
	    off >= 0 && len > 0 && followed(fd, &r, path, &st)) {
		pthread_mutex_lock(&mu);
		held = 1;
		record(fd, &r, path, PC_PUNCH, (uint64_t)off, (uint64_t)len);
	}
	ret = real(fd, mode, off, len);
	e = errno;
	if (held)
		pthread_mutex_unlock(&mu);
	errno = e;
	return ret;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	return do_fallocate(r_fallocate, fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return do_fallocate(r_fallocate64, fd, mode, off, len);
}

static int do_ftruncate(int (*real)(int, off_t), int fd, off_t len)
{
	struct pc_rec r;
	struct stat st;
	char path[PATH_MAX];
	int held = 0, ret, e;

	if (len >= 0 && followed(fd, &r, path, &st) && len < st.st_size) {
		pthread_mutex_lock(&mu);
		held = 1;
		record(fd, &r, path, PC_TRUNC, (uint64_t)len,
		       (uint64_t)(st.st_size - len));
	}
	ret = real(fd, len);
	e = errno;
	if (held)
		pthread_mutex_unlock(&mu);
	errno = e;
	return ret;
}

int ftruncate(int fd, off_t len)
{
	return do_ftruncate(r_ftruncate, fd, len);
}

int ftruncate64(int fd, off_t len)
{
	return do_ftruncate(r_ftruncate64, fd, len);
}

/* Barrier: note where the journal is, sync, and on success record it. */
static int barrier(int (*real)(int), int fd, int type)
{
	struct pc_rec r;
	struct stat st;
	char path[PATH_MAX];
	uint64_t upto = 0;
	int ret, e, follow;

	if (type == PC_SYNC) {
		follow = followed(fd, &r, path, &st);
	} else {
		follow = !disabled;
		memset(&r, 0, sizeof(r));
		r.magic = PC_MAGIC;
		r.pid = (uint64_t)getpid();
		path[0] = '\0';
	}
	if (follow) {
		pthread_mutex_lock(&mu);
		upto = journal_size();
		pthread_mutex_unlock(&mu);
	}
	ret = real ? real(fd) : (r_sync(), 0);
	e = errno;
	if (follow && ret == 0) {
		pthread_mutex_lock(&mu);
		r.upto = upto;
		record(fd, &r, path, type, 0, 0);
		pthread_mutex_unlock(&mu);
	}
	errno = e;
	return ret;
}

int fsync(int fd)
{
	return barrier(r_fsync, fd, PC_SYNC);
}

int fdatasync(int fd)
{
	return barrier(r_fdatasync, fd, PC_SYNC);
}

int syncfs(int fd)
{
	return barrier(r_syncfs, fd, PC_SYNCFS);
}

void sync(void)
{
	(void)barrier(NULL, -1, PC_SYNCFS);
}
