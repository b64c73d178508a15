/*
 * walk.h - visit every entry of a vault's backing tree (VAULT/data/), as
 * vaultctl fsck, rotate and keys need it.
 *
 * The walk is depth first, in readdir order, and never follows a symlink.
 * For every directory it reads the directory id (backing.h) and, when
 * given a names key, decrypts each entry's name (long names through their
 * side files) so that callbacks can report plaintext paths.  It sorts the
 * entries into vault entries (given to the callbacks) and everything else
 * (directory id files, temporary entries, long-name side files, foreign
 * entries), which it reports as warnings where fsck would.
 *
 * Problems of the tree itself (a directory that cannot be opened or read,
 * a missing directory id, a name that fails authentication, an entry that
 * cannot be stat'ed) go to ops->damage; the walk goes on.  An entry whose
 * name fails authentication is still visited, with '?' as its name in the
 * path.  Without a names key nothing is decrypted and no path is given.
 *
 * Not thread-safe per walk; no global state.  Plaintext names exist only
 * in the path strings handed to the callbacks and are wiped afterwards.
 */
#ifndef VAULTFS_WALK_H
#define VAULTFS_WALK_H

#include <sys/stat.h>

struct names_key;

struct walk_entry {
	int dirfd;		/* the backing directory holding the entry */
	const char *name;	/* the backing entry name within dirfd */
	const char *path;	/* plaintext path in the vault ("/" for the
				 * root, "/a/?" for a name that failed), or
				 * NULL when walking without a names key */
	const char *bpath;	/* backing path, for messages */
	const struct stat *st;	/* lstat of the entry */
};

struct walk_ops {
	/*
	 * Every vault entry that is not a directory (regular file, symlink,
	 * FIFO, socket, anything else).  Return 0 to go on, a negative errno
	 * to stop the walk (walk_vault returns it).  May be NULL.
	 */
	int (*entry)(const struct walk_entry *e, void *arg);
	/*
	 * A directory, before its entries; the root too (name ".", path
	 * "/").  Same return convention.  May be NULL.
	 */
	int (*dir)(const struct walk_entry *e, void *arg);
	/*
	 * A reserved temporary entry (names_classify() NAMES_RESERVED other
	 * than the directory id file).  Return 1 if handled (e.g. removed),
	 * 0 to have it reported as a warning, a negative errno to stop.  May
	 * be NULL (always a warning).
	 */
	int (*reserved)(const struct walk_entry *e, void *arg);
	/* An item that is damaged or unreadable; what is an English phrase. */
	void (*damage)(const char *path, const char *bpath, const char *what,
		       void *arg);
	/* Harmless debris or a foreign entry.  May be NULL. */
	void (*warning)(const char *path, const char *bpath, const char *what,
			void *arg);
};

/*
 * Walk the tree under data_fd (VAULT/data, which the caller keeps open),
 * whose backing path is bpath.  nk: decrypt names (and check directory
 * ids), or NULL to visit entries without names.  Returns 0 when the walk
 * went through (damage found along the way is reported, not returned), or
 * the first negative value a callback returned, or -ENOMEM.
 */
int walk_vault(int data_fd, const char *bpath, const struct names_key *nk,
	       const struct walk_ops *ops, void *arg)
	__attribute__((nonnull(2, 4), warn_unused_result));

#endif
