/*
 * t-perm.c - Linux permission rules (vaultfs/perm.h).
 *
 * Part 1: tables of cases with the result Linux gives, written out.
 * Part 2 (root only): the same functions against the running kernel.  Real
 * files with many modes and owners are made in a temp directory; a child
 * drops to a given uid/gid/groups and makes the real system calls; the
 * errno it gets (and the resulting mode/group where it matters) must be
 * what perm.h predicts, over grids of cases.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/perm.h"

/* ---- part 1: tables ------------------------------------------------------ */

static const gid_t grp1001[] = { 1001 };
static const gid_t grp_many[] = { 2000, 1001, 3000 };

static const struct perm_cred root = { 0, 0, NULL, 0 };
static const struct perm_cred u1000 = { 1000, 1000, NULL, 0 };
static const struct perm_cred u1001 = { 1001, 1001, NULL, 0 };
static const struct perm_cred u1002s = { 1002, 1002, grp1001, 1 };
static const struct perm_cred u1002m = { 1002, 1002, grp_many, 3 };
static const struct perm_cred u1003 = { 1003, 1003, NULL, 0 };
static const struct perm_cred g1001 = { 1003, 1001, NULL, 0 };	/* fsgid */
static const struct perm_cred root_g = { 0, 5, NULL, 0 };

static struct stat mkst(mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	st.st_mode = mode;
	st.st_uid = uid;
	st.st_gid = gid;
	st.st_dev = 1;
	st.st_ino = (ino_t)(mode ^ uid * 7919u ^ gid * 104729u);
	return st;
}

struct check_case {
	const struct perm_cred *c;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int mask;
	int want;
	const char *what;
};

static const struct check_case check_cases[] = {
	{ &u1000, 0400, 1000, 1000, PERM_R, 0, "owner reads 0400" },
	{ &u1000, 0400, 1000, 1000, PERM_W, -EACCES, "owner cannot write 0400" },
	{ &u1000, 0600, 1000, 1000, PERM_R | PERM_W, 0, "owner rw 0600" },
	{ &u1000, 0400, 1000, 1000, PERM_R | PERM_W, -EACCES,
	  "owner rw 0400 refused as a whole" },
	{ &u1000, 0100, 1000, 1000, PERM_X, 0, "owner executes 0100" },
	{ &u1000, 0077, 1000, 1000, PERM_R, -EACCES,
	  "owner judged by owner bits only (0077)" },
	{ &u1000, 0047, 1000, 1001, PERM_R, -EACCES,
	  "owner not helped by group/other bits" },
	{ &u1001, 0040, 1000, 1001, PERM_R, 0, "primary group reads 0040" },
	{ &u1001, 0040, 1000, 1001, PERM_W, -EACCES, "group cannot write 0040" },
	{ &u1001, 0704, 1000, 1001, PERM_R, -EACCES,
	  "group judged by group bits only (0704)" },
	{ &u1001, 0074, 1000, 1001, PERM_R | PERM_W | PERM_X, 0,
	  "group rwx via 0070" },
	{ &u1002s, 0040, 1000, 1001, PERM_R, 0, "supplementary group reads" },
	{ &u1002m, 0020, 1000, 1001, PERM_W, 0,
	  "supplementary group, not the first, writes" },
	{ &u1002s, 0704, 1000, 1001, PERM_R, -EACCES,
	  "supplementary group judged by group bits only" },
	{ &g1001, 0050, 1000, 1001, PERM_X, 0, "fsgid alone makes a member" },
	{ &u1003, 0004, 1000, 1001, PERM_R, 0, "other reads 0004" },
	{ &u1003, 0770, 1000, 1001, PERM_R, -EACCES, "other refused 0770" },
	{ &u1003, 0001, 1000, 1001, PERM_X, 0, "other executes 0001" },
	{ &u1003, 0000, 1000, 1001, 0, 0, "mask 0 always passes" },
	{ &u1003, 0006, 1000, 1001, 8 | PERM_R, 0, "unknown mask bits ignored" },
	{ &root, 0000, 1000, 1001, PERM_R | PERM_W, 0, "root rw on 0000" },
	{ &root, 0000, 1000, 1001, PERM_X, -EACCES,
	  "root cannot execute a file with no x bit" },
	{ &root, 0644, 0, 0, PERM_X, -EACCES,
	  "root cannot execute its own 0644 file" },
	{ &root, 0001, 1000, 1001, PERM_X, 0, "root executes if other has x" },
	{ &root, 0010, 1000, 1001, PERM_X, 0, "root executes if group has x" },
	{ &root, 0100, 1000, 1001, PERM_R | PERM_W | PERM_X, 0,
	  "root rwx if owner has x" },
	{ &root_g, 0000, 1000, 1001, PERM_R, 0, "root is root by uid alone" },
	{ &root, S_IFDIR | 0000, 1000, 1001, PERM_R | PERM_W | PERM_X, 0,
	  "root rwx on a 0000 directory" },
	{ &u1000, S_IFDIR | 0600, 1000, 1000, PERM_X, -EACCES,
	  "owner cannot search a 0600 directory" },
	{ &u1003, S_IFDIR | 0711, 1000, 1000, PERM_X, 0,
	  "other searches 0711 directory" },
	{ &u1003, S_IFDIR | 0711, 1000, 1000, PERM_R, -EACCES,
	  "other cannot list 0711 directory" },
	{ &u1003, S_IFIFO | 0000, 1000, 1000, PERM_R, -EACCES,
	  "fifo 0000 refused" },
	{ &root, S_IFCHR | 0000, 1000, 1000, PERM_X, -EACCES,
	  "root cannot execute a 0000 device node" },
	{ &u1003, 06777, 1000, 1001, PERM_R | PERM_W | PERM_X, 0,
	  "set-id bits do not get in the way" },
	{ &u1003, 07000, 1000, 1001, PERM_X, -EACCES,
	  "set-id bits are not x bits" },
	{ &root, 07000, 1000, 1001, PERM_X, -EACCES,
	  "set-id bits do not let root execute" },
};

static void test_check(void)
{
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]);
	     i++) {
		const struct check_case *t = &check_cases[i];
		struct stat st = mkst(t->mode, t->uid, t->gid);

		is_int(perm_check(t->c, &st, t->mask), t->want, "check: %s",
		       t->what);
	}
	ok(perm_in_group(&u1002m, 3000) && perm_in_group(&u1002m, 1002) &&
	   !perm_in_group(&u1002m, 1000) && !perm_in_group(&u1000, 1001),
	   "perm_in_group: gid and every supplementary group, nothing else");
}

static void test_open(void)
{
	struct stat f = mkst(0640, 1000, 1001), d = mkst(S_IFDIR | 0777, 1000,
							  1001);
	struct stat d0 = mkst(S_IFDIR | 0000, 1000, 1001);

	is_int(perm_open_mask(O_RDONLY), PERM_R, "open mask O_RDONLY");
	is_int(perm_open_mask(O_WRONLY), PERM_W, "open mask O_WRONLY");
	is_int(perm_open_mask(O_RDWR), PERM_R | PERM_W, "open mask O_RDWR");
	is_int(perm_open_mask(O_ACCMODE), PERM_R | PERM_W,
	       "open mask access mode 3");
	is_int(perm_open_mask(O_RDONLY | O_TRUNC), PERM_R | PERM_W,
	       "open mask O_RDONLY|O_TRUNC adds W");
	is_int(perm_open_mask(O_WRONLY | O_TRUNC | O_CREAT | O_EXCL | O_APPEND |
			      O_NOFOLLOW | O_CLOEXEC), PERM_W,
	       "open mask: other flags add nothing");
	is_int(perm_open_mask(O_RDONLY | O_DIRECTORY | O_NOATIME), PERM_R,
	       "open mask O_DIRECTORY|O_NOATIME");

	is_int(perm_may_open(&u1000, &f, O_RDWR), 0, "open: owner rw 0640");
	is_int(perm_may_open(&u1001, &f, O_RDONLY), 0, "open: group r 0640");
	is_int(perm_may_open(&u1001, &f, O_WRONLY), -EACCES,
	       "open: group w 0640");
	is_int(perm_may_open(&u1001, &f, O_RDONLY | O_TRUNC), -EACCES,
	       "open: O_RDONLY|O_TRUNC needs write");
	is_int(perm_may_open(&u1003, &f, O_RDONLY), -EACCES,
	       "open: other r 0640");
	is_int(perm_may_open(&root, &f, O_RDWR | O_TRUNC), 0,
	       "open: root rw");
	is_int(perm_may_open(&u1001, &f, O_RDONLY | O_NOATIME), -EPERM,
	       "open: O_NOATIME by a non-owner");
	is_int(perm_may_open(&u1003, &f, O_RDONLY | O_NOATIME), -EACCES,
	       "open: permission checked before O_NOATIME");
	is_int(perm_may_open(&u1000, &f, O_RDONLY | O_NOATIME), 0,
	       "open: O_NOATIME by the owner");
	is_int(perm_may_open(&root, &f, O_RDONLY | O_NOATIME), 0,
	       "open: O_NOATIME by root");
	is_int(perm_may_open(&root, &d, O_WRONLY), -EISDIR,
	       "open: directory for writing, even root");
	is_int(perm_may_open(&u1003, &d0, O_RDONLY | O_TRUNC), -EISDIR,
	       "open: directory with O_TRUNC, EISDIR before EACCES");
	is_int(perm_may_open(&u1003, &d0, O_RDONLY), -EACCES,
	       "open: 0000 directory for reading");
	is_int(perm_may_open(&u1003, &d, O_RDONLY | O_DIRECTORY), 0,
	       "open: 0777 directory for reading");
}

static void test_create_delete(void)
{
	struct stat d755 = mkst(S_IFDIR | 0755, 1000, 1000);
	struct stat d733 = mkst(S_IFDIR | 0733, 1000, 1000);
	struct stat d766 = mkst(S_IFDIR | 0766, 1000, 1000);
	struct stat d000 = mkst(S_IFDIR | 0000, 1000, 1000);
	struct stat sticky = mkst(S_IFDIR | 01777, 1000, 1000);
	struct stat sticky_ro = mkst(S_IFDIR | 01755, 1000, 1000);
	struct stat sticky_g = mkst(S_IFDIR | 01770, 1000, 1001);
	struct stat plain = mkst(S_IFDIR | 0777, 1000, 1000);
	struct stat v1001 = mkst(0600, 1001, 1001);
	struct stat v1003 = mkst(0666, 1003, 1003);
	struct stat vdir = mkst(S_IFDIR | 0000, 1001, 1001);

	is_int(perm_may_create(&u1000, &d755), 0, "create: owner in 0755");
	is_int(perm_may_create(&u1001, &d755), -EACCES,
	       "create: other in 0755");
	is_int(perm_may_create(&u1001, &d733), 0,
	       "create: other in 0733 (w and x suffice)");
	is_int(perm_may_create(&u1001, &d766), -EACCES,
	       "create: other in 0766 (no x)");
	is_int(perm_may_create(&root, &d000), 0, "create: root in 0000");

	is_int(perm_may_delete(&u1001, &plain, &v1003), 0,
	       "delete: anyone's file from a 0777 directory");
	is_int(perm_may_delete(&u1001, &d755, &v1001), -EACCES,
	       "delete: own file from an unwritable directory");
	is_int(perm_may_delete(&u1001, &sticky, &v1001), 0,
	       "sticky: owner of the file");
	is_int(perm_may_delete(&u1000, &sticky, &v1003), 0,
	       "sticky: owner of the directory");
	is_int(perm_may_delete(&u1001, &sticky, &v1003), -EPERM,
	       "sticky: someone else gets EPERM");
	is_int(perm_may_delete(&root, &sticky, &v1003), 0, "sticky: root");
	is_int(perm_may_delete(&u1001, &sticky, &vdir), 0,
	       "sticky: owner of a 0000 directory victim");
	is_int(perm_may_delete(&u1003, &sticky_ro, &v1001), -EACCES,
	       "sticky: EACCES from the directory before EPERM");
	is_int(perm_may_delete(&u1002s, &sticky_g, &v1003), -EPERM,
	       "sticky: group write access is not ownership");
	is_int(perm_may_delete(&u1002s, &sticky_g, &v1001), -EPERM,
	       "sticky: being in the file's group is not ownership");
	is_int(perm_may_delete(&g1001, &sticky_g, &v1003), 0,
	       "sticky: fsgid member owning the file");
}

static void test_rename(void)
{
	struct stat a = mkst(S_IFDIR | 0777, 1000, 1000);
	struct stat b = mkst(S_IFDIR | 0777, 1001, 1001);
	struct stat bs = mkst(S_IFDIR | 01777, 1001, 1001);
	struct stat bro = mkst(S_IFDIR | 0755, 1001, 1001);
	struct stat sdir = mkst(S_IFDIR | 0555, 1003, 1003);
	struct stat sdir_w = mkst(S_IFDIR | 0755, 1003, 1003);
	struct stat sfile = mkst(0444, 1003, 1003);
	struct stat tdir = mkst(S_IFDIR | 0555, 1002, 1002);
	struct stat tfile = mkst(0644, 1002, 1002);

	b.st_ino = a.st_ino + 1;
	bs.st_ino = a.st_ino + 2;
	bro.st_ino = a.st_ino + 3;
	is_int(perm_may_rename(&u1003, &a, &sdir, &a, NULL, 0), 0,
	       "rename: unwritable directory within one parent");
	is_int(perm_may_rename(&u1003, &a, &sdir, &b, NULL, 0), -EACCES,
	       "rename: unwritable directory to another parent");
	is_int(perm_may_rename(&u1003, &a, &sdir_w, &b, NULL, 0), 0,
	       "rename: writable directory to another parent");
	is_int(perm_may_rename(&root, &a, &sdir, &b, NULL, 0), 0,
	       "rename: root moves an unwritable directory");
	is_int(perm_may_rename(&u1003, &a, &sfile, &b, NULL, 0), 0,
	       "rename: a read-only file to another parent");
	is_int(perm_may_rename(&u1003, &a, &sfile, &bro, NULL, 0), -EACCES,
	       "rename: into an unwritable directory");
	is_int(perm_may_rename(&u1003, &a, &sfile, &bs, &tfile, 0), -EPERM,
	       "rename: over another user's file in a sticky directory");
	is_int(perm_may_rename(&u1001, &a, &sfile, &bs, &tfile, 0), 0,
	       "rename: over a file in one's own sticky directory");
	is_int(perm_may_rename(&u1003, &bs, &tfile, &a, NULL, 0), -EPERM,
	       "rename: another user's file out of a sticky directory");
	is_int(perm_may_rename(&u1003, &a, &sdir_w, &b, &tdir, 0), 0,
	       "rename: replace a directory, its write bit irrelevant");
	is_int(perm_may_rename(&u1003, &a, &sdir_w, &b, &tdir,
			       PERM_RENAME_EXCHANGE), -EACCES,
	       "exchange: the other directory needs write too");
	is_int(perm_may_rename(&u1003, &a, &sdir_w, &a, &tdir,
			       PERM_RENAME_EXCHANGE), 0,
	       "exchange within one parent: no write needed on either");
	is_int(perm_may_rename(&u1003, &a, &sdir_w, &b, &tfile,
			       PERM_RENAME_EXCHANGE), 0,
	       "exchange with a file: its write bit irrelevant");
}

struct sa_case {
	const struct perm_cred *c;
	mode_t mode;		/* of the file */
	uid_t uid;
	gid_t gid;
	unsigned valid;
	mode_t new_mode;
	uid_t new_uid;
	gid_t new_gid;
	off_t new_size;
	bool handle;
	int want;
	mode_t want_mode;	/* permission bits of *mode_out on success */
	const char *what;
};

#define SM PERM_SET_MODE
#define SU PERM_SET_UID
#define SG PERM_SET_GID
#define SS PERM_SET_SIZE
#define TA PERM_SET_ATIME
#define TM PERM_SET_MTIME
#define NA (PERM_SET_ATIME | PERM_SET_ATIME_NOW)
#define NM (PERM_SET_MTIME | PERM_SET_MTIME_NOW)

static const struct sa_case sa_cases[] = {
	/* chown */
	{ &u1000, 0644, 1000, 1000, SU, 0, 1001, 0, 0, false, -EPERM, 0644,
	  "chown: owner gives a file away" },
	{ &u1000, 0644, 1000, 1000, SU, 0, 1000, 0, 0, false, 0, 0644,
	  "chown: owner to his own uid (no-op)" },
	{ &u1001, 0666, 1000, 1000, SU, 0, 1000, 0, 0, false, -EPERM, 0666,
	  "chown: non-owner to the current uid" },
	{ &u1001, 0666, 1000, 1000, SU, 0, 1001, 0, 0, false, -EPERM, 0666,
	  "chown: non-owner takes a file" },
	{ &root, 0644, 1000, 1000, SU, 0, 1001, 0, 0, false, 0, 0644,
	  "chown: root" },
	/* chgrp */
	{ &u1000, 0644, 1000, 1000, SG, 0, 0, 1001, 0, false, -EPERM, 0644,
	  "chgrp: owner to a group he is not in" },
	{ &u1000, 0644, 1000, 1001, SG, 0, 0, 1000, 0, false, 0, 0644,
	  "chgrp: owner to his primary group" },
	{ &u1002s, 0644, 1002, 1002, SG, 0, 0, 1001, 0, false, 0, 0644,
	  "chgrp: owner to a supplementary group" },
	{ &u1000, 0644, 1000, 1001, SG, 0, 0, 1001, 0, false, 0, 0644,
	  "chgrp: owner to the current group he is not in (no-op)" },
	{ &u1001, 0666, 1000, 1000, SG, 0, 0, 1001, 0, false, -EPERM, 0666,
	  "chgrp: non-owner member of the new group" },
	{ &root, 0644, 1000, 1000, SG, 0, 0, 4242, 0, false, 0, 0644,
	  "chgrp: root to any group" },
	{ &u1000, 0644, 1000, 1000, SU | SG, 0, 1000, 1001, 0, false, -EPERM,
	  0644, "chown uid:gid: the gid part refused" },
	{ &u1000, 0644, 1000, 1000, SU | SG, 0, 1001, 1000, 0, false, -EPERM,
	  0644, "chown uid:gid: the uid part refused" },
	/* chmod */
	{ &u1000, 0644, 1000, 1000, SM, 0600, 0, 0, 0, false, 0, 0600,
	  "chmod: owner" },
	{ &u1001, 0666, 1000, 1001, SM, 0600, 0, 0, 0, false, -EPERM, 0,
	  "chmod: group member with write access" },
	{ &root, 0644, 1000, 1000, SM, 07777, 0, 0, 0, false, 0, 07777,
	  "chmod: root sets every bit" },
	{ &u1000, 0644, 1000, 1001, SM, 02755, 0, 0, 0, false, 0, 0755,
	  "chmod: S_ISGID dropped, owner not in the group" },
	{ &u1000, 0644, 1000, 1001, SM, 06755, 0, 0, 0, false, 0, 04755,
	  "chmod: S_ISUID kept while S_ISGID dropped" },
	{ &u1000, 0644, 1000, 1000, SM, 02755, 0, 0, 0, false, 0, 02755,
	  "chmod: S_ISGID kept, owner's primary group" },
	{ &u1002s, 0644, 1002, 1001, SM, 02710, 0, 0, 0, false, 0, 02710,
	  "chmod: S_ISGID kept, supplementary group" },
	{ &root, 0644, 1000, 1001, SM, 02755, 0, 0, 0, false, 0, 02755,
	  "chmod: S_ISGID kept for root outside the group" },
	{ &u1000, S_IFDIR | 0755, 1000, 1001, SM, 03775, 0, 0, 0, false, 0,
	  01775, "chmod: directory S_ISGID dropped too" },
	{ &u1000, 0644, 1000, 1000, SG | SM, 02755, 0, 1000, 0, false, 0,
	  02755, "chmod+chgrp: new group judged" },
	{ &u1000, 0644, 1000, 1001, SG | SM, 02755, 0, 1000, 0, false, 0,
	  02755, "chmod+chgrp to own group: S_ISGID kept" },
	{ &u1000, 0644, 1000, 1000, SG | SM, 02755, 0, 1001, 0, false,
	  -EPERM, 0, "chmod+chgrp to a foreign group: EPERM" },
	{ &root, 0644, 1000, 1000, SG | SM, 02755, 0, 7, 0, false, 0, 02755,
	  "chmod+chgrp by root" },
	/* explicit times */
	{ &u1000, 0444, 1000, 1000, TA | TM, 0, 0, 0, 0, false, 0, 0444,
	  "utimes explicit: owner without write" },
	{ &u1001, 0666, 1000, 1000, TA | TM, 0, 0, 0, 0, false, -EPERM, 0,
	  "utimes explicit: non-owner with write" },
	{ &u1001, 0666, 1000, 1000, TM, 0, 0, 0, 0, false, -EPERM, 0,
	  "utimes explicit mtime only: non-owner" },
	{ &root, 0000, 1000, 1000, TA | TM, 0, 0, 0, 0, false, 0, 0,
	  "utimes explicit: root" },
	{ &u1001, 0666, 1000, 1000, NA, 0, 0, 0, 0, false, -EPERM, 0,
	  "utimes {NOW, OMIT}: non-owner gets EPERM" },
	{ &u1001, 0666, 1000, 1000, PERM_SET_MTIME_NOW, 0, 0, 0, 0, false,
	  -EPERM, 0, "utimes {OMIT, NOW} (bare _NOW bit): EPERM" },
	{ &u1001, 0666, 1000, 1000, NA | TM, 0, 0, 0, 0, false, -EPERM, 0,
	  "utimes {NOW, t}: non-owner gets EPERM" },
	{ &u1000, 0000, 1000, 1000, NM, 0, 0, 0, 0, false, 0, 0,
	  "utimes {OMIT, NOW}: owner" },
	/* touch */
	{ &u1001, 0666, 1000, 1000, NA | NM, 0, 0, 0, 0, false, 0, 0666,
	  "utimes NULL: non-owner with write" },
	{ &u1001, 0644, 1000, 1000, NA | NM, 0, 0, 0, 0, false, -EACCES, 0,
	  "utimes NULL: non-owner without write gets EACCES" },
	{ &u1001, 0664, 1000, 1001, PERM_SET_ATIME_NOW | PERM_SET_MTIME_NOW,
	  0, 0, 0, 0, false, 0, 0664, "utimes NULL (bare _NOW bits): group w" },
	{ &u1000, 0000, 1000, 1000, NA | NM, 0, 0, 0, 0, false, 0, 0,
	  "utimes NULL: owner without write" },
	{ &root, 0000, 1000, 1000, NA | NM, 0, 0, 0, 0, false, 0, 0,
	  "utimes NULL: root" },
	/* size */
	{ &u1001, 0666, 1000, 1000, SS, 0, 0, 0, 0, false, 0, 0666,
	  "truncate: non-owner with write" },
	{ &u1001, 0644, 1000, 1000, SS, 0, 0, 0, 0, false, -EACCES, 0,
	  "truncate: without write" },
	{ &u1000, 0444, 1000, 1000, SS, 0, 0, 0, 0, false, -EACCES, 0,
	  "truncate: owner without write bit" },
	{ &root, 0000, 1000, 1000, SS, 0, 0, 0, 0, false, 0, 0,
	  "truncate: root" },
	{ &u1001, 0444, 1000, 1000, SS, 0, 0, 0, 0, true, 0, 0444,
	  "ftruncate on a write handle: no check" },
	{ &u1001, 0444, 1000, 1000, SS | NM, 0, 0, 0, 0, true, 0, 0444,
	  "ftruncate: implicit mtime not checked" },
	{ &u1001, 0666, 1000, 1000, SS | NM, 0, 0, 0, 0, false, -EPERM, 0,
	  "truncate by path with a lone mtime: EPERM" },
	{ &root, S_IFDIR | 0777, 1000, 1000, SS, 0, 0, 0, 0, false, -EISDIR,
	  0, "truncate: a directory" },
	{ &root, S_IFIFO | 0666, 1000, 1000, SS, 0, 0, 0, 0, false, -EINVAL,
	  0, "truncate: a fifo" },
	{ &root, 0666, 1000, 1000, SS, 0, 0, 0, -1, false, -EINVAL, 0,
	  "truncate: negative size" },
	/* combinations and order */
	{ &u1001, 0644, 1000, 1000, SS | SM, 0600, 0, 0, 0, false, -EACCES, 0,
	  "size checked before mode" },
	{ &u1001, 0644, 1000, 1000, NA | NM | SU, 0, 1000, 0, 0, false,
	  -EACCES, 0, "touch checked before uid" },
	{ &u1001, 0666, 1000, 1000, NA | NM | SU, 0, 1000, 0, 0, false,
	  -EPERM, 0, "touch passes, uid refused" },
	{ &u1000, 0644, 1000, 1000, SM | TA | TM, 0640, 0, 0, 0, false, 0,
	  0640, "owner: mode and times" },
	{ &u1000, 0644, 1000, 1000, 0, 0, 0, 0, 0, false, 0, 0644,
	  "nothing to change" },
	{ &u1003, 0000, 1000, 1000, 0x10000, 0, 0, 0, 0, false, 0, 0,
	  "unknown valid bits ignored" },
};

static void test_setattr(void)
{
	for (size_t i = 0; i < sizeof(sa_cases) / sizeof(sa_cases[0]); i++) {
		const struct sa_case *t = &sa_cases[i];
		struct stat st = mkst(t->mode, t->uid, t->gid), want;
		mode_t m = 0177777;
		int r;

		memset(&want, 0, sizeof(want));
		want.st_mode = t->new_mode;
		want.st_uid = t->new_uid;
		want.st_gid = t->new_gid;
		want.st_size = t->new_size;
		r = perm_setattr(t->c, &st, t->valid, &want, t->handle, &m);
		if (t->want < 0) {
			ok(r == t->want && m == 0177777,
			   "setattr: %s (got %d, mode_out untouched)", t->what,
			   r);
		} else {
			ok(r == 0 && m == ((st.st_mode & S_IFMT) |
					   t->want_mode),
			   "setattr: %s (got %d, mode %o)", t->what, r,
			   (unsigned)m);
		}
	}
	{
		struct stat st = mkst(0644, 1000, 1000), want = st;

		is_int(perm_setattr(&u1000, &st, SM, &want, false, NULL), 0,
		       "setattr: mode_out may be NULL");
	}
}

struct own_case {
	const struct perm_cred *c;
	mode_t dir_mode;
	gid_t dir_gid;
	mode_t mode;
	gid_t want_gid;
	mode_t want_mode;
	const char *what;
};

static const struct own_case own_cases[] = {
	{ &u1000, 0777, 1001, S_IFREG | 0644, 1000, S_IFREG | 0644,
	  "plain dir: creator's gid" },
	{ &g1001, 0777, 1000, S_IFREG | 0644, 1001, S_IFREG | 0644,
	  "plain dir: creator's fsgid, not uid" },
	{ &u1000, 0777, 1001, S_IFREG | 02755, 1000, S_IFREG | 02755,
	  "plain dir: own setgid file kept" },
	{ &u1000, 02777, 1001, S_IFREG | 0644, 1001, S_IFREG | 0644,
	  "setgid dir: file gets the dir's group" },
	{ &u1000, 02777, 1001, S_IFREG | 02755, 1001, S_IFREG | 0755,
	  "setgid dir: non-member loses S_ISGID on a g+x file" },
	{ &u1000, 02777, 1001, S_IFREG | 06711, 1001, S_IFREG | 04711,
	  "setgid dir: S_ISUID survives" },
	{ &u1000, 02777, 1001, S_IFREG | 02745, 1001, S_IFREG | 02745,
	  "setgid dir: S_ISGID without g+x is kept" },
	{ &u1002s, 02777, 1001, S_IFREG | 02755, 1001, S_IFREG | 02755,
	  "setgid dir: supplementary member keeps S_ISGID" },
	{ &root, 02777, 1001, S_IFREG | 02755, 1001, S_IFREG | 02755,
	  "setgid dir: root keeps S_ISGID" },
	{ &u1000, 02777, 1001, S_IFIFO | 02775, 1001, S_IFIFO | 0775,
	  "setgid dir: fifo loses S_ISGID too" },
	{ &u1000, 02777, 1001, S_IFLNK | 0777, 1001, S_IFLNK | 0777,
	  "setgid dir: symlink gets the group" },
	{ &u1000, 02777, 1001, S_IFDIR | 0755, 1001, S_IFDIR | 02755,
	  "setgid dir: directory inherits S_ISGID" },
	{ &u1000, 0777, 1001, S_IFDIR | 02755, 1000, S_IFDIR | 0755,
	  "plain dir: mkdir ignores S_ISGID" },
	{ &u1000, 0777, 1001, S_IFDIR | 07777, 1000, S_IFDIR | 01777,
	  "plain dir: mkdir ignores S_ISUID, keeps S_ISVTX" },
	{ &root, 0777, 0, S_IFDIR | 04755, 0, S_IFDIR | 0755,
	  "plain dir: root's mkdir ignores S_ISUID too" },
};

static void test_new_owner(void)
{
	for (size_t i = 0; i < sizeof(own_cases) / sizeof(own_cases[0]);
	     i++) {
		const struct own_case *t = &own_cases[i];
		struct stat dir = mkst(S_IFDIR | t->dir_mode, 1000,
				       t->dir_gid);
		gid_t g = 4321;
		mode_t m = 0;

		perm_new_owner(t->c, &dir, t->mode, &g, &m);
		ok(g == t->want_gid && m == t->want_mode,
		   "new: %s (gid %u mode %o)", t->what, (unsigned)g,
		   (unsigned)m);
	}
}

/* ---- part 2: against the kernel ----------------------------------------- */

struct who {
	const char *name;
	uid_t uid;
	gid_t gid;
	gid_t groups[2];
	size_t ngroups;
};

static const struct who whos[] = {
	{ "root", 0, 0, { 0 }, 0 },
	{ "1000/1000", 1000, 1000, { 0 }, 0 },
	{ "1001/1001", 1001, 1001, { 0 }, 0 },
	{ "1002/1002+1001", 1002, 1002, { 1001 }, 1 },
	{ "1003/1001", 1003, 1001, { 0 }, 0 },
	{ "1000/1000+1001", 1000, 1000, { 1001, 1002 }, 2 },
};
#define NWHO (sizeof(whos) / sizeof(whos[0]))

static struct perm_cred cred_of(const struct who *w)
{
	return (struct perm_cred){ w->uid, w->gid, w->groups, w->ngroups };
}

struct grid {
	const char *name;
	unsigned cases, bad, seen_ok, seen_eacces, seen_eperm;
};

static void grid_note(struct grid *g, int kernel, int predicted,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void grid_note(struct grid *g, int kernel, int predicted,
		      const char *fmt, ...)
{
	g->cases++;
	g->seen_ok += kernel == 0;
	g->seen_eacces += kernel == -EACCES;
	g->seen_eperm += kernel == -EPERM;
	if (kernel == predicted)
		return;
	if (g->bad++ < 12) {
		char buf[256];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		diag("%s: %s: kernel %d, predicted %d", g->name, buf, kernel,
		     predicted);
	}
}

/* need: which of EACCES ('a') and EPERM ('p') the grid must have met, so
 * that it is known to reach the refusals it compares. */
static void grid_report(const struct grid *g, const char *need)
{
	ok(g->bad == 0 && g->cases > 0, "kernel agrees: %s (%u cases, %u off)",
	   g->name, g->cases, g->bad);
	ok(g->seen_ok && (g->seen_eacces || !strchr(need, 'a')) &&
	   (g->seen_eperm || !strchr(need, 'p')),
	   "grid %s sees success (%u), EACCES (%u), EPERM (%u)", g->name,
	   g->seen_ok, g->seen_eacces, g->seen_eperm);
}

/*
 * Run fn(arg, out) in a child with w's ids; it fills out[0..len).  0 when
 * the child ran and sent all of out, -1 otherwise.
 */
static int run_as(const struct who *w, void (*fn)(const void *, void *),
		  const void *arg, void *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		const uint8_t *o = out;
		size_t done = 0;

		close(p[0]);
		if (setgroups(w->ngroups, w->groups) < 0 ||
		    setresgid(w->gid, w->gid, w->gid) < 0 ||
		    setresuid(w->uid, w->uid, w->uid) < 0)
			_exit(3);
		fn(arg, out);
		while (done < len) {
			ssize_t n = write(p[1], o + done, len - done);

			if (n <= 0)
				_exit(4);
			done += (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	while (got < len) {
		ssize_t n = read(p[0], (uint8_t *)out + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return got == len && WIFEXITED(status) && WEXITSTATUS(status) == 0
	       ? 0 : -1;
}

static int neg_errno(int r)
{
	return r < 0 ? -errno : 0;
}

/* Make path as root: type from mode, then owner, then permission bits
 * (chown would clear set-id bits, so chmod comes last). */
static int mkobj(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd;

	switch (mode & S_IFMT) {
	case S_IFDIR:
		if (mkdir(path, 0700) < 0)
			return -errno;
		break;
	case S_IFIFO:
		if (mkfifo(path, 0600) < 0)
			return -errno;
		break;
	default:
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
	}
	if (lchown(path, uid, gid) < 0 || chmod(path, mode & 07777) < 0)
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int lstat_ok(const char *path, struct stat *st)
{
	return lstat(path, st) == 0;
}

/* -- batch: access(2) with every mask and open(2) with several flags ----- */

static const int open_flags[] = {
	O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_TRUNC,
	O_RDONLY | O_NOATIME, O_RDWR | O_NOATIME,
};
#define NOPEN (sizeof(open_flags) / sizeof(open_flags[0]))
#define PER_OBJ (7 + NOPEN)

struct batch {
	size_t n;
	char (*path)[32];
};

static void batch_child(const void *arg, void *out)
{
	const struct batch *b = arg;
	int *res = out;

	for (size_t i = 0; i < b->n; i++) {
		for (int m = 1; m <= 7; m++)
			*res++ = neg_errno(faccessat(AT_FDCWD, b->path[i], m,
						     AT_EACCESS));
		for (size_t f = 0; f < NOPEN; f++) {
			int fd = open(b->path[i], open_flags[f] | O_CLOEXEC);

			*res++ = fd < 0 ? -errno : 0;
			if (fd >= 0)
				close(fd);
		}
	}
}

static void diff_batch(void)
{
	static const struct { uid_t u; gid_t g; } owners[] = {
		{ 1000, 1000 }, { 1001, 1001 }, { 1000, 1001 }, { 0, 0 },
	};
	struct grid ga = { .name = "access(2) masks" };
	struct grid go = { .name = "open(2) flags" };
	struct batch b;
	struct stat *st;
	int *res;
	size_t n = 0, max = 512 * 5;

	b.path = calloc(max, sizeof(*b.path));
	st = calloc(max, sizeof(*st));
	res = calloc(max * PER_OBJ, sizeof(*res));
	if (!b.path || !st || !res || mkdir("batch", 0755) < 0) {
		ok(0, "batch set-up");
		goto out;
	}
	/* every permission mode for files with four owners, and for
	 * directories owned by 1000:1001 */
	for (unsigned o = 0; o < 5; o++) {
		for (mode_t m = 0; m < 01000; m++) {
			mode_t type = o == 4 ? S_IFDIR : S_IFREG;
			uid_t u = o == 4 ? 1000 : owners[o].u;
			gid_t g = o == 4 ? 1001 : owners[o].g;
			/* the set-id and sticky bits ride along on some */
			mode_t pm = m | (m % 5 == 1 ? S_ISUID | S_ISGID : 0) |
				    (m % 7 == 3 ? S_ISVTX : 0);

			snprintf(b.path[n], sizeof(b.path[n]), "batch/%u-%04o",
				 o, (unsigned)pm);
			if (mkobj(b.path[n], type | pm, u, g) < 0 ||
			    !lstat_ok(b.path[n], &st[n])) {
				ok(0, "batch set-up %s", b.path[n]);
				goto out;
			}
			n++;
		}
	}
	b.n = n;
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);

		if (run_as(&whos[w], batch_child, &b, res,
			   n * PER_OBJ * sizeof(*res)) < 0) {
			ok(0, "batch child as %s", whos[w].name);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			const int *r = res + i * PER_OBJ;

			for (int m = 1; m <= 7; m++)
				grid_note(&ga, r[m - 1],
					  perm_check(&c, &st[i], m),
					  "%s access %s mask %d", whos[w].name,
					  b.path[i], m);
			for (size_t f = 0; f < NOPEN; f++)
				grid_note(&go, r[7 + f],
					  perm_may_open(&c, &st[i],
							open_flags[f]),
					  "%s open %s flags %#o", whos[w].name,
					  b.path[i], (unsigned)open_flags[f]);
		}
	}
	grid_report(&ga, "a");
	grid_report(&go, "ap");
out:
	rm_tree("batch");
	free(res);
	free(st);
	free(b.path);
}

/* -- one child per case --------------------------------------------------- */

struct op {
	int kind;
	const char *path, *path2;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	const struct timespec *times;
	unsigned flags;
};

enum { OP_UNLINK, OP_RMDIR, OP_CHMOD, OP_CHOWN, OP_UTIMENS, OP_TRUNCATE,
       OP_CREATE, OP_MKDIR, OP_MKFIFO, OP_RENAME };

struct result {
	int err;
	struct stat st;		/* of what OP_CREATE/MKDIR/MKFIFO made */
};

static void op_child(const void *arg, void *out)
{
	const struct op *op = arg;
	struct result *res = out;
	int r = 0, fd;

	memset(res, 0, sizeof(*res));
	switch (op->kind) {
	case OP_UNLINK:
		r = unlink(op->path);
		break;
	case OP_RMDIR:
		r = rmdir(op->path);
		break;
	case OP_CHMOD:
		r = chmod(op->path, op->mode);
		break;
	case OP_CHOWN:
		r = chown(op->path, op->uid, op->gid);
		break;
	case OP_UTIMENS:
		r = utimensat(AT_FDCWD, op->path, op->times, 0);
		break;
	case OP_TRUNCATE:
		r = truncate(op->path, 0);
		break;
	case OP_CREATE:
		fd = open(op->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  op->mode);
		r = fd < 0 ? -1 : close(fd);
		break;
	case OP_MKDIR:
		r = mkdir(op->path, op->mode);
		break;
	case OP_MKFIFO:
		r = mkfifo(op->path, op->mode);
		break;
	case OP_RENAME:
		r = renameat2(AT_FDCWD, op->path, AT_FDCWD, op->path2,
			      op->flags);
		break;
	}
	res->err = neg_errno(r);
	if (r == 0 && (op->kind == OP_CREATE || op->kind == OP_MKDIR ||
		       op->kind == OP_MKFIFO) && lstat(op->path, &res->st) < 0)
		res->err = -1000;
}

static int run_op(const struct who *w, const struct op *op,
		  struct result *res)
{
	if (run_as(w, op_child, op, res, sizeof(*res)) < 0) {
		res->err = -2000;
		return -1;
	}
	return 0;
}

static void diff_delete(void)
{
	static const mode_t dmodes[] = { 01777, 0777, 01770, 01733, 0755,
					 01757, 01775 };
	static const struct { uid_t u; gid_t g; } downers[] = {
		{ 1000, 1001 }, { 1001, 1001 }, { 0, 0 },
	}, vowners[] = {
		{ 1000, 1000 }, { 1001, 1001 }, { 1002, 1002 },
	};
	struct grid g = { .name = "unlink/rmdir in (sticky) dirs" };

	for (size_t dm = 0; dm < sizeof(dmodes) / sizeof(dmodes[0]); dm++)
	for (size_t dn = 0; dn < 3; dn++)
	for (size_t vn = 0; vn < 3; vn++)
	for (int isdir = 0; isdir < 2; isdir++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		struct stat dst, vst;
		struct result res;
		struct op op = { .kind = isdir ? OP_RMDIR : OP_UNLINK,
				 .path = "d/v" };

		if (mkobj("d", S_IFDIR | dmodes[dm], downers[dn].u,
			  downers[dn].g) < 0 ||
		    mkobj("d/v", (isdir ? S_IFDIR : S_IFREG) | 0600,
			  vowners[vn].u, vowners[vn].g) < 0 ||
		    !lstat_ok("d", &dst) || !lstat_ok("d/v", &vst)) {
			ok(0, "delete set-up");
			rm_tree("d");
			return;
		}
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err, perm_may_delete(&c, &dst, &vst),
			  "%s %s in %04o %u:%u, victim %u", whos[w].name,
			  isdir ? "rmdir" : "unlink", (unsigned)dmodes[dm],
			  (unsigned)downers[dn].u, (unsigned)downers[dn].g,
			  (unsigned)vowners[vn].u);
		rm_tree("d");
	}
	grid_report(&g, "ap");
}

static void diff_chmod(void)
{
	static const struct { mode_t t; uid_t u; gid_t g; } objs[] = {
		{ S_IFREG, 1000, 1000 }, { S_IFREG, 1000, 1001 },
		{ S_IFREG, 1001, 1001 }, { S_IFDIR, 1000, 1001 },
		{ S_IFREG, 1002, 1001 },
	};
	static const mode_t modes[] = { 0644, 02755, 04755, 02745, 07777, 0,
					 03775 };
	struct grid g = { .name = "chmod(2)" }, gm = { .name = "chmod mode" };

	for (size_t o = 0; o < sizeof(objs) / sizeof(objs[0]); o++)
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		struct stat st, want, after;
		struct op op = { .kind = OP_CHMOD, .path = "f",
				 .mode = modes[m] };
		struct result res;
		mode_t predicted = 0;
		int pr;

		if (mkobj("f", objs[o].t | 0666, objs[o].u, objs[o].g) < 0 ||
		    !lstat_ok("f", &st)) {
			ok(0, "chmod set-up");
			rm_tree("f");
			return;
		}
		want = st;
		want.st_mode = modes[m];
		pr = perm_setattr(&c, &st, PERM_SET_MODE, &want, false,
				  &predicted);
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err, pr, "%s chmod %o %u:%u to %04o",
			  whos[w].name, (unsigned)st.st_mode,
			  (unsigned)objs[o].u, (unsigned)objs[o].g,
			  (unsigned)modes[m]);
		if (res.err == 0 && pr == 0 && lstat_ok("f", &after))
			grid_note(&gm, (int)after.st_mode, (int)predicted,
				  "%s chmod %u:%u to %04o: mode",
				  whos[w].name, (unsigned)objs[o].u,
				  (unsigned)objs[o].g, (unsigned)modes[m]);
		rm_tree("f");
	}
	grid_report(&g, "p");
	ok(gm.bad == 0 && gm.cases > 0,
	   "kernel agrees: mode after chmod, S_ISGID rule (%u cases, %u off)",
	   gm.cases, gm.bad);
}

static void diff_chown(void)
{
	static const struct { uid_t u; gid_t g; } objs[] = {
		{ 1000, 1000 }, { 1000, 1001 }, { 1002, 1002 },
	};
	static const struct { uid_t u; gid_t g; } to[] = {
		{ (uid_t)-1, (gid_t)-1 }, { 1000, (gid_t)-1 },
		{ 1001, (gid_t)-1 }, { 0, (gid_t)-1 }, { (uid_t)-1, 1000 },
		{ (uid_t)-1, 1001 }, { (uid_t)-1, 1002 }, { 1000, 1000 },
		{ 1000, 1001 }, { 1001, 1001 }, { 1002, 1001 },
	};
	struct grid g = { .name = "chown(2)" };

	for (size_t o = 0; o < sizeof(objs) / sizeof(objs[0]); o++)
	for (size_t t = 0; t < sizeof(to) / sizeof(to[0]); t++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		struct stat st, want;
		struct op op = { .kind = OP_CHOWN, .path = "f",
				 .uid = to[t].u, .gid = to[t].g };
		struct result res;
		unsigned valid = 0;

		if (mkobj("f", S_IFREG | 0666, objs[o].u, objs[o].g) < 0 ||
		    !lstat_ok("f", &st)) {
			ok(0, "chown set-up");
			rm_tree("f");
			return;
		}
		want = st;
		if (to[t].u != (uid_t)-1) {
			valid |= PERM_SET_UID;
			want.st_uid = to[t].u;
		}
		if (to[t].g != (gid_t)-1) {
			valid |= PERM_SET_GID;
			want.st_gid = to[t].g;
		}
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err,
			  perm_setattr(&c, &st, valid, &want, false, NULL),
			  "%s chown %u:%u to %d:%d", whos[w].name,
			  (unsigned)objs[o].u, (unsigned)objs[o].g,
			  (int)to[t].u, (int)to[t].g);
		rm_tree("f");
	}
	grid_report(&g, "p");
}

/* utimensat() times as FUSE hands them down (fs/fuse/dir.c
 * iattr_to_fattr(), no writeback cache). */
static unsigned utimens_valid(const struct timespec *tv)
{
	unsigned v = 0;

	if (!tv || (tv[0].tv_nsec == UTIME_NOW && tv[1].tv_nsec == UTIME_NOW))
		return PERM_SET_ATIME | PERM_SET_ATIME_NOW | PERM_SET_MTIME |
		       PERM_SET_MTIME_NOW;
	if (tv[0].tv_nsec == UTIME_NOW)
		v |= PERM_SET_ATIME | PERM_SET_ATIME_NOW;
	else if (tv[0].tv_nsec != UTIME_OMIT)
		v |= PERM_SET_ATIME;
	if (tv[1].tv_nsec == UTIME_NOW)
		v |= PERM_SET_MTIME | PERM_SET_MTIME_NOW;
	else if (tv[1].tv_nsec != UTIME_OMIT)
		v |= PERM_SET_MTIME;
	return v;
}

static void diff_utimens(void)
{
	static const mode_t modes[] = { 0666, 0644, 0000, 0600, 0620 };
	static const struct timespec T[][2] = {
		{ { 0, UTIME_NOW }, { 0, UTIME_NOW } },
		{ { 0, UTIME_NOW }, { 0, UTIME_OMIT } },
		{ { 0, UTIME_OMIT }, { 0, UTIME_NOW } },
		{ { 5, 0 }, { 6, 0 } },
		{ { 5, 0 }, { 0, UTIME_OMIT } },
		{ { 0, UTIME_NOW }, { 6, 0 } },
		{ { 0, UTIME_OMIT }, { 0, UTIME_OMIT } },
	};
	struct grid g = { .name = "utimensat(2)" };
	size_t nt = sizeof(T) / sizeof(T[0]);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
	for (size_t t = 0; t <= nt; t++)	/* t == nt: NULL times */
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		const struct timespec *tv = t < nt ? T[t] : NULL;
		struct op op = { .kind = OP_UTIMENS, .path = "f", .times = tv };
		struct stat st;
		struct result res;

		if (mkobj("f", S_IFREG | modes[m], 1000, 1001) < 0 ||
		    !lstat_ok("f", &st)) {
			ok(0, "utimensat set-up");
			rm_tree("f");
			return;
		}
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err,
			  perm_setattr(&c, &st, utimens_valid(tv), &st, false,
				       NULL),
			  "%s utimensat %04o times #%zu", whos[w].name,
			  (unsigned)modes[m], t);
		rm_tree("f");
	}
	grid_report(&g, "ap");
}

static void diff_truncate(void)
{
	static const mode_t modes[] = {
		S_IFREG | 0666, S_IFREG | 0644, S_IFREG | 0600, S_IFREG | 0444,
		S_IFREG | 0000, S_IFREG | 0222, S_IFREG | 0060,
		S_IFDIR | 0777, S_IFIFO | 0666,
	};
	struct grid g = { .name = "truncate(2)" };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		struct op op = { .kind = OP_TRUNCATE, .path = "f" };
		struct stat st, want;
		struct result res;

		if (mkobj("f", modes[m], 1000, 1001) < 0 ||
		    !lstat_ok("f", &st)) {
			ok(0, "truncate set-up");
			rm_tree("f");
			return;
		}
		want = st;
		want.st_size = 0;
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err,
			  perm_setattr(&c, &st, PERM_SET_SIZE, &want, false,
				       NULL),
			  "%s truncate %o", whos[w].name, (unsigned)modes[m]);
		rm_tree("f");
	}
	grid_report(&g, "a");
}

static void diff_create(void)
{
	static const struct { mode_t m; uid_t u; gid_t g; } dirs[] = {
		{ 02777, 0, 1001 }, { 0777, 0, 1001 }, { 02755, 1000, 1001 },
		{ 02770, 1001, 1001 }, { 03777, 1002, 1002 },
	};
	static const struct { int kind; mode_t m; } what[] = {
		{ OP_CREATE, S_IFREG | 0644 }, { OP_CREATE, S_IFREG | 02755 },
		{ OP_CREATE, S_IFREG | 02745 }, { OP_CREATE, S_IFREG | 06777 },
		{ OP_CREATE, S_IFREG | 02710 }, { OP_MKFIFO, S_IFIFO | 02775 },
		{ OP_MKDIR, S_IFDIR | 0755 }, { OP_MKDIR, S_IFDIR | 02755 },
		{ OP_MKDIR, S_IFDIR | 04755 }, { OP_MKDIR, S_IFDIR | 03777 },
	};
	struct grid g = { .name = "create/mkdir/mkfifo" };
	struct grid go = { .name = "new entry owner, group and mode" };

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++)
	for (size_t k = 0; k < sizeof(what) / sizeof(what[0]); k++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		struct op op = { .kind = what[k].kind, .path = "d/n",
				 .mode = what[k].m & 07777 };
		struct stat dst;
		struct result res;
		gid_t pg;
		mode_t pm;
		int pr;

		if (mkobj("d", S_IFDIR | dirs[d].m, dirs[d].u, dirs[d].g) < 0 ||
		    !lstat_ok("d", &dst)) {
			ok(0, "create set-up");
			rm_tree("d");
			return;
		}
		pr = perm_may_create(&c, &dst);
		perm_new_owner(&c, &dst, what[k].m, &pg, &pm);
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err, pr, "%s kind %d %o in %04o %u:%u",
			  whos[w].name, what[k].kind, (unsigned)what[k].m,
			  (unsigned)dirs[d].m, (unsigned)dirs[d].u,
			  (unsigned)dirs[d].g);
		if (res.err == 0 && pr == 0) {
			grid_note(&go, (int)res.st.st_mode, (int)pm,
				  "%s mode of %o in %04o %u:%u", whos[w].name,
				  (unsigned)what[k].m, (unsigned)dirs[d].m,
				  (unsigned)dirs[d].u, (unsigned)dirs[d].g);
			grid_note(&go, (int)res.st.st_gid, (int)pg,
				  "%s gid of %o in %04o", whos[w].name,
				  (unsigned)what[k].m, (unsigned)dirs[d].m);
			grid_note(&go, (int)res.st.st_uid, (int)whos[w].uid,
				  "%s uid of %o", whos[w].name,
				  (unsigned)what[k].m);
		}
		rm_tree("d");
	}
	grid_report(&g, "a");
	ok(go.bad == 0 && go.cases > 0,
	   "kernel agrees: %s (%u cases, %u off)", go.name, go.cases, go.bad);
}

static void diff_rename(void)
{
	static const mode_t amodes[] = { 0777, 01777, 0755 };
	static const mode_t bmodes[] = { 0777, 01777, 0755 };
	static const uid_t sowners[] = { 1000, 1002 };
	enum { SAME, CROSS, OVER, EXCHANGE, NKIND };
	struct grid g = { .name = "rename(2)/renameat2 exchange" };

	for (size_t am = 0; am < 3; am++)
	for (size_t bm = 0; bm < 3; bm++)
	for (int isdir = 0; isdir < 2; isdir++)
	for (size_t so = 0; so < 2; so++)
	for (int kind = 0; kind < NKIND; kind++)
	for (size_t w = 0; w < NWHO; w++) {
		struct perm_cred c = cred_of(&whos[w]);
		mode_t type = isdir ? S_IFDIR : S_IFREG;
		struct stat ast, bst, sst, tst;
		struct op op = { .kind = OP_RENAME, .path = "a/s" };
		bool target = kind == OVER || kind == EXCHANGE;
		struct result res;

		op.path2 = kind == SAME ? "a/n" : target ? "b/t" : "b/n";
		op.flags = kind == EXCHANGE ? RENAME_EXCHANGE : 0;
		if (mkobj("a", S_IFDIR | amodes[am], 1000, 1000) < 0 ||
		    mkobj("b", S_IFDIR | bmodes[bm], 1001, 1001) < 0 ||
		    mkobj("a/s", type | 0755, sowners[so], sowners[so]) < 0 ||
		    (target && mkobj("b/t", type | 0755, 1003, 1003) < 0) ||
		    !lstat_ok("a", &ast) || !lstat_ok("b", &bst) ||
		    !lstat_ok("a/s", &sst) ||
		    (target && !lstat_ok("b/t", &tst))) {
			ok(0, "rename set-up");
			rm_tree("a");
			rm_tree("b");
			return;
		}
		run_op(&whos[w], &op, &res);
		grid_note(&g, res.err,
			  perm_may_rename(&c, &ast, &sst,
					  kind == SAME ? &ast : &bst,
					  target ? &tst : NULL,
					  kind == EXCHANGE ?
					  PERM_RENAME_EXCHANGE : 0),
			  "%s rename kind %d %s owned %u, a %04o b %04o",
			  whos[w].name, kind, isdir ? "dir" : "file",
			  (unsigned)sowners[so], (unsigned)amodes[am],
			  (unsigned)bmodes[bm]);
		rm_tree("a");
		rm_tree("b");
	}
	grid_report(&g, "ap");
}

/* Root with the capabilities perm.h models, able to become anyone. */
static const char *why_not_differential(void)
{
	/* CHOWN 0, DAC_OVERRIDE 1, DAC_READ_SEARCH 2, FOWNER 3, FSETID 4,
	 * SETGID 6, SETUID 7 */
	const unsigned long long need = 0xdf;
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() != 0)
		return "not root";
	f = fopen("/proc/self/status", "r");
	if (!f)
		return "no /proc/self/status";
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if ((eff & need) != need)
		return "root without the capabilities modelled";
	return NULL;
}

static void differential(void)
{
	char base[] = "/tmp/t-perm.XXXXXX";
	const char *why = why_not_differential();
	int cwd;

	if (!why && !mkdtemp(base))
		why = "mkdtemp failed";
	if (why) {
		ok(1, "# SKIP differential test against the kernel: %s", why);
		return;
	}
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chmod(base, 0755) < 0 || chdir(base) < 0 ||
	    mkobj("probe", S_IFREG | 0600, 1000, 1001) < 0) {
		ok(1, "# SKIP differential test: cannot chown in %s", base);
		goto out;
	}
	unlink("probe");
	umask(0);
	diff_batch();
	diff_delete();
	diff_chmod();
	diff_chown();
	diff_utimens();
	diff_truncate();
	diff_create();
	diff_rename();
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			diag("cannot return to the old directory");
		close(cwd);
	}
	rm_tree(base);
}

int main(void)
{
	test_check();
	test_open();
	test_create_delete();
	test_rename();
	test_setattr();
	test_new_owner();
	differential();
	return done_testing();
}
