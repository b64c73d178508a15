/*
 * perm.h - Linux's file permission rules, as pure functions.
 *
 * The daemon mounts without `default_permissions` and makes the checks
 * itself, so that a refused access reaches it and can be recorded as
 * "denied".  These functions reproduce, bit for bit and errno for errno,
 * what Linux's VFS decides (fs/namei.c generic_permission(), may_open(),
 * may_create(), may_delete(), check_sticky(), vfs_rename(); fs/attr.c
 * setattr_prepare(); fs/open.c vfs_truncate(); fs/utimes.c vfs_utimes();
 * fs/inode.c inode_init_owner(), mode_strip_sgid()), with this model:
 *
 *   - no POSIX ACLs, no LSMs, no immutable/append-only attributes, no
 *     read-only mount, no id-mapped mounts;
 *   - capabilities: uid 0 has CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
 *     CAP_FOWNER, CAP_CHOWN and CAP_FSETID; any other uid has none;
 *   - the uid and gid in struct perm_cred are the caller's fsuid and
 *     fsgid (what fuse_req_ctx() reports), groups its supplementary
 *     groups (fuse_req_getgroups()).  Whether the fsgid is repeated in
 *     groups does not matter.
 *
 * Only st_mode, st_uid and st_gid of a struct stat are read (and st_dev,
 * st_ino in perm_may_rename()); they must describe the file as the user
 * sees it through the mount.
 *
 * Every function is pure (no system calls, no global state): thread-safe.
 * Passing NULL where nonnull is declared is a caller bug.
 */
#ifndef VAULTFS_PERM_H
#define VAULTFS_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Access mask bits, equal to the kernel's MAY_READ/MAY_WRITE/MAY_EXEC and
 * to access(2)'s R_OK/W_OK/X_OK. */
#define PERM_R 4
#define PERM_W 2
#define PERM_X 1

struct perm_cred {
	uid_t uid;		/* fsuid; 0 = root with the capabilities above */
	gid_t gid;		/* fsgid */
	const gid_t *groups;	/* supplementary groups; NULL when ngroups 0 */
	size_t ngroups;
};

/* True when g is c's gid or one of its supplementary groups (in_group_p). */
bool perm_in_group(const struct perm_cred *c, gid_t g)
	__attribute__((nonnull(1)));

/*
 * generic_permission(): may c access st with mask (any of PERM_R, PERM_W,
 * PERM_X; 0 always passes; other bits are ignored)?  The owner is judged
 * by the owner bits alone, a member of the file's group by the group bits
 * alone, everyone else by the other bits.  Root passes everything on a
 * directory; on anything else everything but PERM_X, which root passes
 * only when at least one of the three x bits is set.
 * 0, or -EACCES.
 */
int perm_check(const struct perm_cred *c, const struct stat *st, int mask)
	__attribute__((nonnull, warn_unused_result));

/*
 * The access mask open(2) checks for open_flags: O_RDONLY -> PERM_R,
 * O_WRONLY -> PERM_W, O_RDWR (and the odd access mode 3) -> PERM_R|PERM_W;
 * O_TRUNC adds PERM_W (even with O_RDONLY).  Other flags add nothing.
 */
int perm_open_mask(int open_flags);

/*
 * may_open() for an existing file: may c open st with open_flags?  In the
 * kernel's order: a directory opened for writing (O_WRONLY, O_RDWR or
 * O_TRUNC) -> -EISDIR; perm_check(perm_open_mask()) -> -EACCES; O_NOATIME
 * by someone neither owner nor root -> -EPERM.  Otherwise 0.
 * Not for a file the same open(O_CREAT) has just created: Linux checks
 * nothing on that one (perm_may_create() on the directory is the check).
 * Symbolic links (-ELOOP) and noexec mounts are the caller's business.
 */
int perm_may_open(const struct perm_cred *c, const struct stat *st,
		  int open_flags) __attribute__((nonnull, warn_unused_result));

/*
 * may_create(): may c create an entry (file, directory, node, symlink,
 * hard link, rename target) in dir?  Needs PERM_W|PERM_X on dir.
 * 0, or -EACCES.  (-EEXIST when the name exists is the caller's check.)
 */
int perm_may_create(const struct perm_cred *c, const struct stat *dir)
	__attribute__((nonnull, warn_unused_result));

/*
 * may_delete(): may c remove (unlink, rmdir, rename away) victim from
 * dir?  PERM_W|PERM_X on dir, else -EACCES; then, when dir has the sticky
 * bit (S_ISVTX), c must own victim or own dir or be root, else -EPERM.
 * 0 otherwise.  (-EISDIR/-ENOTDIR/-ENOTEMPTY are the caller's checks.)
 */
int perm_may_delete(const struct perm_cred *c, const struct stat *dir,
		    const struct stat *victim)
	__attribute__((nonnull, warn_unused_result));

#define PERM_RENAME_EXCHANGE 1u	/* renameat2(RENAME_EXCHANGE) */

/*
 * vfs_rename(): may c rename src in olddir to a name in newdir?  target
 * is the entry that name has now, NULL when there is none.  In Linux's
 * order: perm_may_delete(olddir, src); then perm_may_delete(newdir,
 * target) or, without a target, perm_may_create(newdir); then, when
 * olddir and newdir differ (by st_dev and st_ino), PERM_W on src if it is
 * a directory (its ".." changes) and, for PERM_RENAME_EXCHANGE, PERM_W on
 * target if that is a directory.  flags: 0 or PERM_RENAME_EXCHANGE.
 * 0, -EACCES or -EPERM.
 */
int perm_may_rename(const struct perm_cred *c, const struct stat *olddir,
		    const struct stat *src, const struct stat *newdir,
		    const struct stat *target, unsigned flags)
	__attribute__((nonnull(1, 2, 3, 4), warn_unused_result));

/* What a setattr changes: bits for perm_setattr()'s valid. */
#define PERM_SET_MODE		0x001u	/* chmod: want->st_mode & 07777 */
#define PERM_SET_UID		0x002u	/* chown: want->st_uid */
#define PERM_SET_GID		0x004u	/* chgrp: want->st_gid */
#define PERM_SET_SIZE		0x008u	/* truncate: want->st_size */
#define PERM_SET_ATIME		0x010u	/* atime to want->st_atim */
#define PERM_SET_MTIME		0x020u	/* mtime to want->st_mtim */
#define PERM_SET_ATIME_NOW	0x040u	/* atime to the current time */
#define PERM_SET_MTIME_NOW	0x080u	/* mtime to the current time */

/*
 * setattr_prepare() and the checks before it (vfs_truncate(), the
 * ATTR_TOUCH check of notify_change()): may c apply the changes in valid
 * (PERM_SET_*, any combination; other bits ignored) with the new values
 * in want to st?  have_write_handle: the change comes through a file
 * handle opened for writing (ftruncate(2), open(O_TRUNC); FUSE's
 * FATTR_FH on a handle whose access mode is O_WRONLY or O_RDWR); false
 * for a handle opened read-only.  Checked in this order:
 *
 *   size:   st a directory -> -EISDIR, not a regular file -> -EINVAL,
 *           want->st_size < 0 -> -EINVAL; then without have_write_handle
 *           PERM_W on st, else -EACCES.  With have_write_handle, the
 *           time bits that come with the size are the implicit update of
 *           a truncation and are not checked.
 *   touch:  PERM_SET_ATIME_NOW and PERM_SET_MTIME_NOW both (utimensat()
 *           with NULL times or both UTIME_NOW): owner, root, or anyone
 *           with PERM_W; else -EACCES.
 *   uid:    root, or the owner "changing" it to his own uid; else -EPERM.
 *   gid:    root, or the owner changing it to the file's current group
 *           or to a group he is in (perm_in_group()); else -EPERM.
 *   mode:   owner or root, else -EPERM.  S_ISGID is silently dropped
 *           when c is not root and not in the file's group (the new one
 *           when PERM_SET_GID is also given).
 *   times:  any other time change (an explicit time, or one *_NOW time
 *           alone, i.e. utimensat() with one UTIME_NOW and one UTIME_OMIT
 *           or an explicit value): owner or root, else -EPERM.
 *
 * A *_NOW bit implies its PERM_SET_ATIME/PERM_SET_MTIME bit need not be
 * given (FUSE sets both; either form is accepted).  Do not pass the
 * kernel's own time updates (the writeback cache's mtime/ctime flush) as
 * time changes: they are no request of the caller's.
 *
 * On success, *mode_out (when not NULL) gets the mode the file must be
 * given: st's type bits with want's permission bits (S_ISGID possibly
 * dropped) under PERM_SET_MODE, else st->st_mode.  On error *mode_out is
 * not written.  0, -EACCES, -EPERM, -EISDIR or -EINVAL.
 */
int perm_setattr(const struct perm_cred *c, const struct stat *st,
		 unsigned valid, const struct stat *want,
		 bool have_write_handle, mode_t *mode_out)
	__attribute__((nonnull(1, 2, 4), warn_unused_result));

/*
 * inode_init_owner() and mode_strip_sgid(): the group and mode of an
 * entry c creates in dir.  mode is the requested mode with its type bits
 * (S_IFREG, S_IFDIR, ...; FUSE's mkdir hands it without S_IFDIR: add it),
 * after the umask (FUSE applies it in the kernel).
 *
 *   gid: dir's group when dir is setgid, else c->gid.
 *   A directory gets mode & (S_IFMT | 01777) -- mkdir(2) ignores S_ISUID
 *   and S_ISGID -- plus S_ISGID when dir is setgid.
 *   Anything else keeps mode & (S_IFMT | 07777), but loses S_ISGID when
 *   dir is setgid, the mode has both S_ISGID and S_IXGRP, and c is
 *   neither root nor in dir's group.
 *
 * Always succeeds; the owner is c->uid.
 */
void perm_new_owner(const struct perm_cred *c, const struct stat *dir,
		    mode_t mode, gid_t *gid_out, mode_t *mode_out)
	__attribute__((nonnull));

#endif
