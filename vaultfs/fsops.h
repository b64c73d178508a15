/*
 * fsops.h - the FUSE low-level operations: the only module (with main.c)
 * that includes fuse_lowlevel.h.
 *
 * Design (chosen for speed, see the speed issue): the low-level API with an
 * inode table keyed by the backing file's (st_dev, st_ino), as libfuse's
 * passthrough_ll does.  Each inode keeps an O_PATH descriptor of its backing
 * file, so no operation resolves a path; directories cache their dir id,
 * regular files their logical size and, while open, their struct doc
 * (document.h).  Requests run on several threads: the table has one mutex,
 * each inode another that serialises its document I/O.
 */
#ifndef VAULTFS_FSOPS_H
#define VAULTFS_FSOPS_H

#include <stdbool.h>

struct keystore;
struct names_key;
struct auditlog;
struct fsops;
struct fuse_session;

struct fsops_config {
	int data_fd;			/* O_RDONLY|O_DIRECTORY of VAULT/data */
	const struct keystore *ks;	/* borrowed; outlives the fsops */
	const struct names_key *nk;	/* borrowed; outlives the fsops */
	struct auditlog *log;		/* borrowed; NULL = no access log */
	bool root_owns;			/* daemon is root: chown new files */
	double timeout;			/* attribute and entry cache, seconds */
	bool writeback;			/* kernel writeback cache */
	bool direct_io;			/* bypass the page cache */
	bool shared;			/* allow_other: accounts other than
					 * the daemon's use the mount */
};

/* NULL on failure (errno set).  Takes ownership of cfg->data_fd. */
struct fsops *fsops_new(const struct fsops_config *cfg);

/* The operations table; userdata for fuse_session_new() is the fsops. */
const void *fsops_table(void);
unsigned long fsops_table_size(void);

/*
 * The session serving fs, for the cache invalidations the permission
 * checks need (fsops.c); set it before the loop starts.
 */
void fsops_set_session(struct fsops *fs, struct fuse_session *se);

/* Release every inode, flush and close open documents. */
void fsops_free(struct fsops *fs);

#endif
