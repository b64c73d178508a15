/* perm.c - see perm.h.  Function names in comments are the kernel's. */
#include "perm.h"

#include <errno.h>
#include <fcntl.h>

#define MODE_IXUGO (S_IXUSR | S_IXGRP | S_IXOTH)

static bool is_root(const struct perm_cred *c)
{
	return c->uid == 0;
}

/* inode_owner_or_capable(): the owner, or CAP_FOWNER. */
static bool owner_or_root(const struct perm_cred *c, const struct stat *st)
{
	return c->uid == st->st_uid || is_root(c);
}

bool perm_in_group(const struct perm_cred *c, gid_t g)
{
	if (c->gid == g)
		return true;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return true;
	return false;
}

/* acl_permission_check() without ACLs. */
static int mode_check(const struct perm_cred *c, const struct stat *st,
		      int mask)
{
	unsigned mode = st->st_mode;

	if (c->uid == st->st_uid) {
		mode >>= 6;
		return (mask & ~mode) ? -EACCES : 0;
	}
	/* Group membership only matters where group and other differ. */
	if ((mask & (mode ^ (mode >> 3))) && perm_in_group(c, st->st_gid))
		mode >>= 3;
	return (mask & ~mode) ? -EACCES : 0;
}

int perm_check(const struct perm_cred *c, const struct stat *st, int mask)
{
	mask &= PERM_R | PERM_W | PERM_X;
	if (mode_check(c, st, mask) == 0)
		return 0;
	if (!is_root(c))
		return -EACCES;
	/* CAP_DAC_OVERRIDE: everything on a directory; on anything else
	 * read and write always, execute only if someone may execute. */
	if (S_ISDIR(st->st_mode))
		return 0;
	if (!(mask & PERM_X) || (st->st_mode & MODE_IXUGO))
		return 0;
	return -EACCES;
}

int perm_open_mask(int open_flags)
{
	static const int acc[4] = {
		PERM_R, PERM_W, PERM_R | PERM_W, PERM_R | PERM_W
	};
	int mask = acc[open_flags & O_ACCMODE];

	if (open_flags & O_TRUNC)
		mask |= PERM_W;
	return mask;
}

int perm_may_open(const struct perm_cred *c, const struct stat *st,
		  int open_flags)
{
	int mask = perm_open_mask(open_flags);
	int r;

	if (S_ISDIR(st->st_mode) && (mask & PERM_W))
		return -EISDIR;
	r = perm_check(c, st, mask);
	if (r < 0)
		return r;
	if ((open_flags & O_NOATIME) && !owner_or_root(c, st))
		return -EPERM;
	return 0;
}

int perm_may_create(const struct perm_cred *c, const struct stat *dir)
{
	return perm_check(c, dir, PERM_W | PERM_X);
}

int perm_may_delete(const struct perm_cred *c, const struct stat *dir,
		    const struct stat *victim)
{
	int r = perm_check(c, dir, PERM_W | PERM_X);

	if (r < 0)
		return r;
	/* check_sticky() */
	if ((dir->st_mode & S_ISVTX) && c->uid != victim->st_uid &&
	    c->uid != dir->st_uid && !is_root(c))
		return -EPERM;
	return 0;
}

int perm_may_rename(const struct perm_cred *c, const struct stat *olddir,
		    const struct stat *src, const struct stat *newdir,
		    const struct stat *target, unsigned flags)
{
	int r = perm_may_delete(c, olddir, src);

	if (r < 0)
		return r;
	r = target ? perm_may_delete(c, newdir, target)
		   : perm_may_create(c, newdir);
	if (r < 0)
		return r;
	if (olddir->st_dev == newdir->st_dev &&
	    olddir->st_ino == newdir->st_ino)
		return 0;
	/* A directory moving elsewhere gets a new "..". */
	if (S_ISDIR(src->st_mode)) {
		r = perm_check(c, src, PERM_W);
		if (r < 0)
			return r;
	}
	if ((flags & PERM_RENAME_EXCHANGE) && target &&
	    S_ISDIR(target->st_mode))
		return perm_check(c, target, PERM_W);
	return 0;
}

int perm_setattr(const struct perm_cred *c, const struct stat *st,
		 unsigned valid, const struct stat *want,
		 bool have_write_handle, mode_t *mode_out)
{
	const unsigned touch = PERM_SET_ATIME_NOW | PERM_SET_MTIME_NOW;
	const unsigned times = PERM_SET_ATIME | PERM_SET_MTIME | touch;
	mode_t mode = st->st_mode;
	int r;

	if (valid & PERM_SET_SIZE) {
		/* vfs_truncate(), do_sys_truncate() */
		if (S_ISDIR(st->st_mode))
			return -EISDIR;
		if (!S_ISREG(st->st_mode) || want->st_size < 0)
			return -EINVAL;
		if (have_write_handle) {
			/* do_truncate() on an open file: its ATTR_MTIME and
			 * ATTR_CTIME are not a request to check. */
			valid &= ~times;
		} else {
			r = perm_check(c, st, PERM_W);
			if (r < 0)
				return r;
		}
	}
	/* notify_change(), ATTR_TOUCH: vfs_utimes() without explicit times. */
	if ((valid & touch) == touch) {
		if (!owner_or_root(c, st)) {
			r = perm_check(c, st, PERM_W);
			if (r < 0)
				return r;
		}
		valid &= ~times;
	}
	/* setattr_prepare(): chown_ok() */
	if ((valid & PERM_SET_UID) && !is_root(c) &&
	    !(c->uid == st->st_uid && want->st_uid == st->st_uid))
		return -EPERM;
	/* chgrp_ok() */
	if ((valid & PERM_SET_GID) && !is_root(c) &&
	    !(c->uid == st->st_uid && (want->st_gid == st->st_gid ||
				       perm_in_group(c, want->st_gid))))
		return -EPERM;
	if (valid & PERM_SET_MODE) {
		gid_t g = (valid & PERM_SET_GID) ? want->st_gid : st->st_gid;

		if (!owner_or_root(c, st))
			return -EPERM;
		mode = (st->st_mode & S_IFMT) | (want->st_mode & 07777);
		/* in_group_or_capable(): CAP_FSETID */
		if (!is_root(c) && !perm_in_group(c, g))
			mode &= (mode_t)~S_ISGID;
	}
	/* ATTR_TIMES_SET: an explicit time, or a single UTIME_NOW */
	if ((valid & times) && !owner_or_root(c, st))
		return -EPERM;
	if (mode_out)
		*mode_out = mode;
	return 0;
}

void perm_new_owner(const struct perm_cred *c, const struct stat *dir,
		    mode_t mode, gid_t *gid_out, mode_t *mode_out)
{
	bool sgid_dir = (dir->st_mode & S_ISGID) != 0;

	*gid_out = sgid_dir ? dir->st_gid : c->gid;
	if (S_ISDIR(mode)) {
		/* vfs_mkdir() masks to S_IRWXUGO | S_ISVTX; inode_init_owner()
		 * makes directories inherit S_ISGID. */
		mode &= S_IFMT | 01777;
		if (sgid_dir)
			mode |= S_ISGID;
	} else {
		mode &= S_IFMT | 07777;
		/* mode_strip_sgid() */
		if (sgid_dir &&
		    (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		    !is_root(c) && !perm_in_group(c, dir->st_gid))
			mode &= (mode_t)~S_ISGID;
	}
	*mode_out = mode;
}
