/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "seal.h"

/* "name.tmp.XXXXXX" must fit in NAME_MAX. */
#define TMP_SUFFIX ".tmp."
#define TMP_RAND_CHARS 6
#define TMP_TRIES 100

int pread_full(int fd, void *buf, size_t len, off_t off, size_t *got)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done,
				  off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done,
				   off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int sync_fd(int fd)
{
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

/* Write data to a fresh fd, fsync it, close it. */
static int fill_and_close(int fd, const void *data, size_t len)
{
	int err;

	err = pwrite_full(fd, data, len, 0);
	if (err == 0)
		err = sync_fd(fd);
	if (close(fd) < 0 && err == 0 && errno != EINTR)
		err = -errno;
	return err;
}

/*
 * Create a new temp file beside name; its name goes into tmp.  The suffix
 * is random (mkostemp wants a path, we need dirfd-relative and O_NOFOLLOW).
 */
static int create_temp(int dirfd, const char *name, mode_t mode, char *tmp,
		       size_t tmpsz)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	int tries;

	for (tries = 0; tries < TMP_TRIES; tries++) {
		uint8_t rnd[TMP_RAND_CHARS];
		char suffix[TMP_RAND_CHARS + 1];
		int fd, i, n;

		seal_random(rnd, sizeof(rnd));
		for (i = 0; i < TMP_RAND_CHARS; i++)
			suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		suffix[TMP_RAND_CHARS] = '\0';
		n = snprintf(tmp, tmpsz, "%s" TMP_SUFFIX "%s", name, suffix);
		if (n < 0 || (size_t)n >= tmpsz)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int write_file_atomic(int dirfd, const char *name, const void *data,
		      size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd, err;

	if (strlen(name) + sizeof(TMP_SUFFIX) - 1 + TMP_RAND_CHARS > NAME_MAX)
		return -ENAMETOOLONG;
	fd = create_temp(dirfd, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	err = fill_and_close(fd, data, len);
	if (err < 0)
		goto fail_unlink;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = -errno;
		goto fail_unlink;
	}
	/*
	 * The rename is done; a failed directory fsync means it may not be
	 * durable, which the caller must hear about, but the temp file is
	 * gone already.
	 */
	return sync_fd(dirfd);

fail_unlink:
	unlinkat(dirfd, tmp, 0);
	return err;
}

int write_file_new(int dirfd, const char *name, const void *data,
		   size_t len, mode_t mode)
{
	int fd, err;

	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	err = fill_and_close(fd, data, len);
	if (err < 0)
		goto fail_unlink;
	/* Without a durable directory entry the file may vanish: undo. */
	err = sync_fd(dirfd);
	if (err < 0)
		goto fail_unlink;
	return 0;

fail_unlink:
	unlinkat(dirfd, name, 0);
	return err;
}

int read_file_small(int dirfd, const char *name, void *buf, size_t cap,
		    size_t *len)
{
	struct stat st;
	uint8_t probe;
	size_t got;
	int fd, err;

	*len = 0;
	/* O_NONBLOCK: a FIFO planted under name must not hang us. */
	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		/* O_NOFOLLOW on a symlink gives ELOOP: not a regular file. */
		return errno == ELOOP ? -EINVAL : -errno;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > cap) {
		err = -EFBIG;
		goto out;
	}
	err = pread_full(fd, buf, cap, 0, &got);
	if (err < 0)
		goto out;
	/* The file may have grown since fstat: make sure it ends at cap. */
	if (got == cap) {
		size_t extra;

		err = pread_full(fd, &probe, 1, (off_t)cap, &extra);
		if (err < 0)
			goto out;
		if (extra != 0) {
			err = -EFBIG;
			goto out;
		}
	}
	*len = got;
out:
	close(fd);
	return err;
}
