/*
 * document.h - reading and writing one document (container.h format) in
 * an open backing file.
 *
 * A struct doc caches the header, the unwrapped data key (sodium_malloc)
 * and one plaintext chunk, so that small sequential writes are coalesced
 * and a random read or write costs O(chunk size).  Memory per doc is
 * bounded: about two chunk slots, whatever the file size.
 *
 * Durability: doc_write() may keep data in the chunk cache; doc_flush()
 * writes it and the header (readable by the next doc_open), doc_sync()
 * also makes it durable (fdatasync/fsync).  Superseded chunk versions are
 * punched out only after the new ones are durable, so a crash never makes
 * data that was synced unreadable.
 *
 * Not thread-safe: the caller serialises all calls on one doc (the daemon
 * holds the inode lock).  The doc does not own fd; the caller closes it
 * after doc_close().
 *
 * Errors: -EBADMSG (something failed authentication: damaged or tampered
 * storage; the daemon turns it into EIO and logs it), -ENOKEY (the KEK
 * this document needs is gone), -EIO/-ENOSPC/... from the file system,
 * -EFBIG (size beyond what the format addresses), -ENOMEM.
 */
#ifndef VAULTFS_DOCUMENT_H
#define VAULTFS_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"

struct keystore;
struct doc;

/* Maximum logical size of a document (fits off_t with room to spare). */
#define DOC_MAX_SIZE (1ULL << 50)

/*
 * Turn an empty backing file fd (opened O_RDWR) into a new, empty document:
 * fresh document id and DEK, header written (both slots).
 */
int doc_create(int fd, const struct keystore *ks, struct doc **out)
	__attribute__((nonnull, warn_unused_result));

/* Open the document in fd (O_RDWR, or O_RDONLY for read-only use). */
int doc_open(int fd, const struct keystore *ks, struct doc **out)
	__attribute__((nonnull, warn_unused_result));

/*
 * Read the logical size of the document in fd without keeping anything
 * (for stat of a file that is not open).
 */
int doc_peek_size(int fd, const struct keystore *ks, uint64_t *size)
	__attribute__((nonnull, warn_unused_result));

uint64_t doc_size(const struct doc *d) __attribute__((nonnull));

/* Read up to len bytes at off; *got < len only at end of file. */
int doc_read(struct doc *d, void *buf, size_t len, uint64_t off, size_t *got)
	__attribute__((nonnull, warn_unused_result));

/* Write len bytes at off, extending the file (with a hole) if needed. */
int doc_write(struct doc *d, const void *buf, size_t len, uint64_t off)
	__attribute__((nonnull, warn_unused_result));

/* Set the logical size; growing leaves a hole that reads as zeros. */
int doc_truncate(struct doc *d, uint64_t size)
	__attribute__((nonnull, warn_unused_result));

/* Write the cached chunk and the header if they changed. */
int doc_flush(struct doc *d) __attribute__((nonnull, warn_unused_result));

/* doc_flush(), then make it durable (datasync: fdatasync, else fsync). */
int doc_sync(struct doc *d, bool datasync)
	__attribute__((nonnull, warn_unused_result));

/*
 * Check every chunk within the size authenticates (fsck).  For each bad
 * chunk calls bad(index, -EBADMSG, arg); for a chunk whose newest version
 * is damaged while the one before it authenticates (a torn write after a
 * crash, or tampering) bad(index, -ESTALE, arg), which alone does not make
 * the result an error.  Returns 0 if all good, -EBADMSG if any was bad, or
 * another errno if reading failed.
 */
int doc_verify(struct doc *d,
	       void (*bad)(uint64_t index, int error, void *arg), void *arg)
	__attribute__((nonnull(1), warn_unused_result));

/* Flush and free; returns the flush result.  The doc is gone either way. */
int doc_close(struct doc *d);

#endif
