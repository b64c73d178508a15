/*
 * dirpool.h - new directories made ahead of time.
 *
 * A new directory needs its dir id synced before it gets its name
 * (backing.h), two syncs that took most of a mkdir's 0.6 ms.  A pool
 * keeps a few directories made by backing_mkdir_tmp() waiting in one
 * directory of the vault; a mkdir then only moves one into place, and a
 * thread of the pool makes the next one.  Waiting directories have
 * reserved names (never shown) and are removed when the pool closes.
 *
 * Thread safety: dirpool_take() may be called from any thread;
 * dirpool_open() and dirpool_close() by one owner.
 */
#ifndef VAULTFS_DIRPOOL_H
#define VAULTFS_DIRPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "names.h"

struct dirpool;

/*
 * Start a pool of up to size (1..DIRPOOL_MAX) directories waiting in dirfd
 * (duplicated: the caller keeps its descriptor).  Reserved temporary
 * directories already in dirfd are left over from a daemon that died and
 * are removed first.  0, or -ENOMEM, -EINVAL, or the error of starting the
 * thread; *out is NULL then.
 */
#define DIRPOOL_MAX 64
int dirpool_open(int dirfd, size_t size, struct dirpool **out)
	__attribute__((nonnull, warn_unused_result));

/*
 * Move a waiting directory to parent_fd/name with mode (backing_mkdir_place);
 * dirid receives its id.  -EAGAIN when none is waiting (the caller makes one
 * with backing_mkdir()); -EEXIST if name exists.  A directory that could not
 * be placed is removed, never offered again.
 */
int dirpool_take(struct dirpool *p, int parent_fd, const char *name,
		 mode_t mode, uint8_t dirid[NAMES_DIRID_BYTES])
	__attribute__((nonnull, warn_unused_result));

/* Waiting directories; for tests. */
size_t dirpool_ready(struct dirpool *p) __attribute__((nonnull));

/* Stop the thread, remove the waiting directories, free p.  NULL: no-op. */
void dirpool_close(struct dirpool *p);

#endif
