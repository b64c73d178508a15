/*
 * ahead.h - things made ahead of time by a thread, taken when needed.
 *
 * Making a new directory or document costs syncs, key generation and
 * system calls that need not wait for the request that wants one
 * (dirpool.h, docpool.h).  A pool keeps up to size items made by
 * ops->make; ahead_take() hands one out and wakes the thread to make the
 * next.  After a failed make the thread waits for the next take instead
 * of retrying at once (a full disk, say): the taker then finds none and
 * makes its own, reporting the error itself.
 *
 * Thread safety: ahead_take() and ahead_ready() from any thread;
 * ahead_open() and ahead_close() by one owner.
 */
#ifndef VAULTFS_AHEAD_H
#define VAULTFS_AHEAD_H

#include <stddef.h>

#define AHEAD_MAX 64

struct ahead_ops {
	size_t item_bytes;
	/* Make one item into item; 0 or a negative errno. */
	int (*make)(void *ctx, void *item);
	/* Undo a made item that nobody took. */
	void (*discard)(void *ctx, void *item);
};

struct ahead;

/*
 * Start making up to size (1..AHEAD_MAX) items; ops and ctx are borrowed
 * and must outlive the pool.  0, -EINVAL, -ENOMEM, or the error of
 * starting the thread (*out is NULL then).
 */
int ahead_open(const struct ahead_ops *ops, void *ctx, size_t size,
	       struct ahead **out)
	__attribute__((nonnull, warn_unused_result));

/* Move a waiting item into item (the caller owns it now); -EAGAIN: none. */
int ahead_take(struct ahead *a, void *item)
	__attribute__((nonnull, warn_unused_result));

/* Items waiting; for tests. */
size_t ahead_ready(struct ahead *a) __attribute__((nonnull));

/* Stop the thread, discard the waiting items, free a.  NULL: no-op. */
void ahead_close(struct ahead *a);

#endif
