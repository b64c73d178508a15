/*
 * docpool.h - new documents made ahead of time.
 *
 * Creating a document makes an anonymous O_TMPFILE file, a fresh data key
 * and the header that wraps it, then links the file in: about 30 us of
 * a 75 us create when untarring.  A pool (ahead.h) keeps a few such files
 * ready, made in one directory of the backing tree; a create only links
 * one in under its name.  Waiting documents are anonymous, so nothing is
 * left behind when the pool closes or the daemon dies.  Their data keys
 * are wrapped under the key-encryption key current when they were made;
 * that does not change while the vault is mounted (vaultctl rotate
 * refuses a mounted vault).
 *
 * Thread safety: docpool_take() may be called from any thread;
 * docpool_open() and docpool_close() by one owner.
 */
#ifndef VAULTFS_DOCPOOL_H
#define VAULTFS_DOCPOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "ahead.h"

struct doc;
struct docpool;
struct keystore;

#define DOCPOOL_MAX AHEAD_MAX

/*
 * Start a pool of up to size (1..DOCPOOL_MAX) documents made in dirfd
 * (duplicated) under ks (borrowed; it must outlive the pool).  0, or
 * -EINVAL, -ENOMEM, or the error of starting the thread.
 */
int docpool_open(int dirfd, const struct keystore *ks, size_t size,
		 struct docpool **out)
	__attribute__((nonnull, warn_unused_result));

/*
 * Give a waiting document mode and link it in as parent_fd/name; *fdp
 * receives its read-write descriptor and *docp the open document, both
 * the caller's now.  -EAGAIN when none is waiting (the caller makes one);
 * -EEXIST if name exists, -EXDEV if parent_fd is on another file system,
 * or another link error: the document is discarded then.
 */
int docpool_take(struct docpool *p, int parent_fd, const char *name,
		 mode_t mode, int *fdp, struct doc **docp)
	__attribute__((nonnull, warn_unused_result));

/* Waiting documents; for tests. */
size_t docpool_ready(struct docpool *p) __attribute__((nonnull));

/* Stop the thread, discard the waiting documents, free p.  NULL: no-op. */
void docpool_close(struct docpool *p);

#endif
