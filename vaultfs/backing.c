/* backing.c - see backing.h. */
#include "backing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "seal.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/*
 * The dir id and long-name side files hold no secret (ids are random,
 * names are encrypted).  They are world-readable so that, when the daemon
 * runs as an ordinary account with allow_other, lookups keep working for
 * files other accounts created; the encryption, not the mode, protects them.
 */
#define DIRID_MODE 0444
#define LONGNAME_MODE 0644
#define LOCK_MODE 0600
#define PRIVATE_DIR_MODE 0700
#define TMP_RANDOM_BYTES 8
#define TMP_NAME_MAX (sizeof(NAMES_TMP_PREFIX) + 1 + 2 * TMP_RANDOM_BYTES)

static int open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int sync_dir(int fd)
{
	/* Some file systems cannot sync a directory (EINVAL): nothing to do. */
	if (fsync(fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* Errors that mean "this file is not a valid one of ours". */
static bool is_bad_file(int r)
{
	return r == -ENOENT || r == -EFBIG || r == -EINVAL || r == -ELOOP ||
	       r == -ENOTDIR;
}

/*
 * Rename directory olddir/from to newdir/to unless to exists.  File systems
 * without RENAME_NOREPLACE (NFS, some FUSE) fall back to a check and a
 * plain rename: rename(2) of a directory replaces only an empty directory,
 * and every backing directory holds its dir id file, so an existing entry
 * still makes it fail (the window covers only empty foreign directories).
 */
static int rename_noreplace(int olddir, const char *from, int newdir,
			    const char *to)
{
	struct stat st;

	if (syscall(SYS_renameat2, olddir, from, newdir, to,
		    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (fstatat(newdir, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	if (renameat(olddir, from, newdir, to) == 0)
		return 0;
	if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR ||
	    errno == EISDIR)
		return -EEXIST;
	return -errno;
}

/*
 * Give dirfd/name, just created by us, its intended mode whatever the
 * umask (an ordinary owner cannot even open a directory the umask left
 * without read permission).  Best effort: where fchmodat() cannot refuse
 * symlinks (no /proc, old kernel) it fails, and what follows decides.
 */
static void set_mode(int dirfd, const char *name, mode_t mode)
{
	if (fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW) < 0)
		return;	/* not fatal: see above */
}

/* Remove a directory that holds at most its dir id file. */
static void remove_id_dir(int parent_fd, const char *name, int fd)
{
	int own = -1;

	if (fd < 0) {
		set_mode(parent_fd, name, PRIVATE_DIR_MODE);
		fd = own = open_dir(parent_fd, name);
	}
	if (fd >= 0) {
		/* The requested mode may deny us writing (non-root daemon). */
		(void)fchmod(fd, PRIVATE_DIR_MODE);
		(void)unlinkat(fd, NAMES_DIRID_FILE, 0);
	}
	if (own >= 0)
		close(own);
	(void)unlinkat(parent_fd, name, AT_REMOVEDIR);
}

int backing_mkdir(int parent_fd, const char *name, mode_t mode,
		  uint8_t dirid[NAMES_DIRID_BYTES])
{
	char tmp[TMP_NAME_MAX];
	uint8_t rnd[TMP_RANDOM_BYTES], id[NAMES_DIRID_BYTES];
	int fd, r;

	seal_random(rnd, sizeof(rnd));
	memcpy(tmp, NAMES_TMP_PREFIX "-", sizeof(NAMES_TMP_PREFIX));
	sodium_bin2hex(tmp + sizeof(NAMES_TMP_PREFIX),
		       sizeof(tmp) - sizeof(NAMES_TMP_PREFIX), rnd,
		       sizeof(rnd));

	if (mkdirat(parent_fd, tmp, PRIVATE_DIR_MODE) < 0)
		return -errno;
	set_mode(parent_fd, tmp, PRIVATE_DIR_MODE);
	fd = open_dir(parent_fd, tmp);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	/* In case set_mode() could not: we need to write inside. */
	if (fchmod(fd, PRIVATE_DIR_MODE) < 0) {
		r = -errno;
		goto fail;
	}
	seal_random(id, sizeof(id));
	r = write_file_new(fd, NAMES_DIRID_FILE, id, sizeof(id), DIRID_MODE);
	if (r < 0)
		goto fail;
	set_mode(fd, NAMES_DIRID_FILE, DIRID_MODE);
	if (fchmod(fd, mode & 07777) < 0) {
		r = -errno;
		goto fail;
	}
	r = rename_noreplace(parent_fd, tmp, parent_fd, name);
	if (r < 0)
		goto fail;
	close(fd);
	memcpy(dirid, id, NAMES_DIRID_BYTES);
	/*
	 * No sync of the parent: like mkdir(2), the new name is durable once
	 * the caller syncs the directory (fsyncdir syncs the backing one).
	 * write_file_new() made the dir id durable before the rename, so the
	 * name never outlives a crash without its id.  Two syncs fewer:
	 * 300 mkdirs took 0.18-0.20 s instead of 0.25-0.31 s.
	 */
	return 0;

fail:
	remove_id_dir(parent_fd, tmp, fd);
	if (fd >= 0)
		close(fd);
	return r;
}

int backing_init_layout(int vault_fd)
{
	uint8_t id[NAMES_DIRID_BYTES];
	bool made_audit = false, made_lock = false;
	int fd, r;

	r = backing_mkdir(vault_fd, BACKING_DATA_DIR, PRIVATE_DIR_MODE, id);
	if (r < 0)
		return r;

	if (mkdirat(vault_fd, BACKING_AUDIT_DIR, PRIVATE_DIR_MODE) < 0) {
		r = -errno;
		goto fail;
	}
	made_audit = true;
	set_mode(vault_fd, BACKING_AUDIT_DIR, PRIVATE_DIR_MODE);
	fd = open_dir(vault_fd, BACKING_AUDIT_DIR);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	r = fchmod(fd, PRIVATE_DIR_MODE) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		goto fail;

	r = write_file_new(vault_fd, BACKING_LOCK_FILE, "", 0, LOCK_MODE);
	if (r < 0)
		goto fail;
	made_lock = true;
	set_mode(vault_fd, BACKING_LOCK_FILE, LOCK_MODE);

	r = sync_dir(vault_fd);
	if (r < 0)
		goto fail;
	return 0;

fail:
	if (made_lock)
		(void)unlinkat(vault_fd, BACKING_LOCK_FILE, 0);
	if (made_audit)
		(void)unlinkat(vault_fd, BACKING_AUDIT_DIR, AT_REMOVEDIR);
	remove_id_dir(vault_fd, BACKING_DATA_DIR, -1);
	return r;
}

int backing_dir_is_empty(int dirfd, int *empty)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	/* A fresh open file description: dirfd's position stays untouched. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	*empty = 1;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			*empty = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int backing_lock(int vault_fd, int *lock_fd)
{
	struct stat st;
	int fd, r;

	fd = openat(vault_fd, BACKING_LOCK_FILE, O_RDWR | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	*lock_fd = fd;
	return 0;

fail:
	close(fd);
	return r;
}

int backing_read_dirid(int dirfd, uint8_t dirid[NAMES_DIRID_BYTES])
{
	uint8_t buf[NAMES_DIRID_BYTES];
	size_t len;
	int r;

	r = read_file_small(dirfd, NAMES_DIRID_FILE, buf, sizeof(buf), &len);
	if (is_bad_file(r))
		return -EBADMSG;
	if (r < 0)
		return r;
	if (len != NAMES_DIRID_BYTES)
		return -EBADMSG;
	memcpy(dirid, buf, NAMES_DIRID_BYTES);
	return 0;
}

/* side = backing + NAMES_LONG_SUFFIX, for a well-formed "@" entry only. */
static int side_name(const char *backing, char side[NAMES_BACKING_MAX])
{
	size_t len = strlen(backing);

	if (names_classify(backing) != NAMES_LONG ||
	    len + sizeof(NAMES_LONG_SUFFIX) > NAMES_BACKING_MAX)
		return -EINVAL;
	memcpy(side, backing, len);
	memcpy(side + len, NAMES_LONG_SUFFIX, sizeof(NAMES_LONG_SUFFIX));
	return 0;
}

int backing_read_longname(int dirfd, const char *backing,
			  char enc[NAMES_ENC_MAX], size_t *enclen)
{
	char side[NAMES_BACKING_MAX];
	size_t len;
	int r;

	r = side_name(backing, side);
	if (r < 0)
		return r;
	r = read_file_small(dirfd, side, enc, NAMES_ENC_MAX - 1, &len);
	if (is_bad_file(r))
		r = -EBADMSG;
	if (r == 0 && (memchr(enc, '\0', len) != NULL ||
		       !names_long_matches(backing, enc, len)))
		r = -EBADMSG;
	if (r < 0) {
		memset(enc, 0, NAMES_ENC_MAX);
		*enclen = 0;
		return r;
	}
	enc[len] = '\0';
	*enclen = len;
	return 0;
}

int backing_write_longname(int dirfd, const char *backing, const char *enc)
{
	char side[NAMES_BACKING_MAX];
	size_t len = strnlen(enc, NAMES_ENC_MAX);
	int r;

	r = side_name(backing, side);
	if (r < 0)
		return r;
	if (len == NAMES_ENC_MAX || !names_long_matches(backing, enc, len))
		return -EINVAL;
	return write_file_atomic(dirfd, side, enc, len, LONGNAME_MODE);
}

int backing_remove_longname(int dirfd, const char *backing)
{
	char side[NAMES_BACKING_MAX];
	int r;

	r = side_name(backing, side);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, side, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
