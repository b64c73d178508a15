/*
 * fileio.h - small, careful file I/O helpers used everywhere.
 *
 * All functions return 0 or a negative errno.  They retry on EINTR and on
 * short transfers.  Thread-safe (no shared state).
 */
#ifndef VAULTFS_FILEIO_H
#define VAULTFS_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Read up to len bytes at off.  *got is the number read; it is less than len
 * only at end of file.  A read past the end is not an error (*got = 0).
 */
int pread_full(int fd, void *buf, size_t len, off_t off, size_t *got)
	__attribute__((nonnull, warn_unused_result));

/* Write exactly len bytes at off, or fail (-ENOSPC, -EIO, ...). */
int pwrite_full(int fd, const void *buf, size_t len, off_t off)
	__attribute__((nonnull, warn_unused_result));

/*
 * Replace dirfd/name atomically with data: write "name.tmp.XXXXXX" beside
 * it (mode, O_EXCL|O_NOFOLLOW), fsync, rename over name, fsync dirfd.
 * On failure the old file is untouched and the temp file removed.
 */
int write_file_atomic(int dirfd, const char *name, const void *data,
		      size_t len, mode_t mode)
	__attribute__((nonnull, warn_unused_result));

/*
 * Create dirfd/name with O_CREAT|O_EXCL|O_NOFOLLOW and mode, write data,
 * fsync.  Fails with -EEXIST if it exists.  On failure nothing is left.
 */
int write_file_new(int dirfd, const char *name, const void *data,
		   size_t len, mode_t mode)
	__attribute__((nonnull, warn_unused_result));

/*
 * Read the whole of dirfd/name (O_NOFOLLOW, regular files only) into buf.
 * -EFBIG if it holds more than cap bytes, -ENOENT if missing, -EINVAL if it
 * is not a regular file.
 */
int read_file_small(int dirfd, const char *name, void *buf, size_t cap,
		    size_t *len)
	__attribute__((nonnull, warn_unused_result));

#endif
