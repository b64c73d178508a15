/*
 * document.h - reading and writing one document (container.h format) in
 * an open backing file.
 *
 * A struct doc caches the header, the unwrapped data key (sodium_malloc)
 * and one plaintext chunk, so that small sequential writes are coalesced
 * and a random read or write costs O(chunk size).  Memory per doc is
 * bounded: about two chunk slots, plus up to 64 KiB remembering superseded
 * versions after many random writes, whatever the file size.
 *
 * Durability: doc_write() may keep data in the chunk cache; doc_flush()
 * writes it and the header (readable by the next doc_open), doc_sync()
 * also makes it durable (fdatasync/fsync).  Superseded chunk versions are
 * punched out only after the new ones are durable, so a crash never makes
 * data that was synced unreadable.  Versions written since the last sync
 * replace one another in one slot, beside the last durable one (no sync
 * of their own): a crash may lose them, as POSIX allows for unsynced data,
 * never what was synced.  doc_read() opens the chunks of a large read on
 * several threads (workers.h).
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
 * Read the logical size (and, if doc_id is not NULL, the document id) of
 * the document in fd without keeping anything (for stat of a file that is
 * not open).
 */
int doc_peek_size(int fd, const struct keystore *ks, uint64_t *size,
		  uint8_t doc_id[CONTAINER_DOC_ID_BYTES])
	__attribute__((nonnull(2, 3), warn_unused_result));

uint64_t doc_size(const struct doc *d) __attribute__((nonnull));

/* The document id (CONTAINER_DOC_ID_BYTES), stable across renames. */
const uint8_t *doc_id(const struct doc *d) __attribute__((nonnull));

/* The chunk size, and how many chunks were decrypted into d's cache. */
uint32_t doc_chunk_size(const struct doc *d) __attribute__((nonnull));
uint64_t doc_chunk_loads(const struct doc *d) __attribute__((nonnull));

/*
 * Copy the cached chunk holding offset off, if it is cached and has no
 * unwritten changes, into buf (room for doc_chunk_size() bytes): *start
 * is its offset, *len its bytes within the document's size.  false if it
 * is not cached.  buf then holds plaintext: the caller wipes it.
 */
bool doc_cached_chunk(const struct doc *d, uint64_t off, void *buf,
		      uint64_t *start, size_t *len)
	__attribute__((nonnull, warn_unused_result));

/* Read up to len bytes at off; *got < len only at end of file. */
int doc_read(struct doc *d, void *buf, size_t len, uint64_t off, size_t *got)
	__attribute__((nonnull, warn_unused_result));

/* Write len bytes at off, extending the file (with a hole) if needed. */
int doc_write(struct doc *d, const void *buf, size_t len, uint64_t off)
	__attribute__((nonnull, warn_unused_result));

/*
 * A write of whole chunks in three steps, so that the costly middle one
 * runs without the caller's lock on d:
 *   doc_prep_begin()   lock held: off and len must be multiples of the
 *                      chunk size, len at most 64 chunks and 1 MiB, else
 *                      -EAGAIN (use doc_write()); notes the chunks' state
 *                      and takes a buffer of about len bytes (callers
 *                      bound how many they prepare at once); -ENOMEM.
 *   doc_prep_seal()    no lock needed: compresses and seals data (len
 *                      bytes); reads only what stays fixed while d is open.
 *   doc_prep_commit()  lock held: writes the sealed chunks if none changed
 *                      since doc_prep_begin(), else writes data again with
 *                      doc_write(); returns as doc_write().  When several
 *                      writes are prepared at once, commit them in the
 *                      order they began: the chunks of an earlier write
 *                      would otherwise first become holes.
 *   doc_prep_free()    wipes and frees (NULL is fine).
 */
struct doc_prep;

int doc_prep_begin(struct doc *d, uint64_t off, size_t len,
		   struct doc_prep **out)
	__attribute__((nonnull, warn_unused_result));
void doc_prep_seal(const struct doc *d, struct doc_prep *p, const void *data)
	__attribute__((nonnull));
int doc_prep_commit(struct doc *d, struct doc_prep *p, const void *data)
	__attribute__((nonnull, warn_unused_result));
void doc_prep_free(struct doc_prep *p);

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
 * the result an error.  When the backing file ends before a chunk that
 * should hold data, bad(index, -ENODATA, arg) once: that chunk and every
 * data chunk after it are missing.  Hole extents cost nothing.  Returns 0
 * if all good, -EBADMSG if any was bad, or another errno if reading failed.
 */
int doc_verify(struct doc *d,
	       void (*bad)(uint64_t index, int error, void *arg), void *arg)
	__attribute__((nonnull(1), warn_unused_result));

/* Flush and free; returns the flush result.  The doc is gone either way. */
int doc_close(struct doc *d);

/*
 * ---- Key rotation (keys/rotate.h, vaultctl rotate and keys) ----
 */

/*
 * The KEK versions named in the clear parts of the two header slots of
 * the document in fd, without any key: *current from the slot a reader
 * tries first (the higher generation), *other from the other slot (0 if it
 * is empty or malformed).  Nothing is authenticated: use it to count and
 * to choose what to rotate, never to grant access.  -ENOENT if neither
 * slot holds a header, -EBADMSG if neither parses, -EPROTONOSUPPORT for a
 * newer container version, or an I/O error.
 */
int doc_peek_kek(int fd, uint32_t *current, uint32_t *other)
	__attribute__((nonnull, warn_unused_result));

/* The KEK version that wraps the document's DEK now. */
uint32_t doc_kek_version(const struct doc *d) __attribute__((nonnull));

/*
 * Rewrap the DEK under the key store's active KEK and rewrite both header
 * slots (higher generations, one write, as every header write).  Content
 * is not touched.  Not synced: the caller makes it durable (fsync, or one
 * syncfs for many documents) before the old KEK is destroyed.  A crash
 * before that leaves the old or the new header (or one slot of each), and
 * every one of them opens as long as the old KEK is in the key store.
 * -EBADF if the doc was opened read-only.
 */
int doc_rewrap(struct doc *d) __attribute__((nonnull, warn_unused_result));

/*
 * Copy the content of src into dst, a document just made by doc_create()
 * and still empty: chunk by chunk, memory bounded by one chunk, chunks
 * that are holes in src are not written (they stay holes in dst).  dst
 * gets its own document id and DEK (doc_create made them) and is synced
 * (doc_sync) at the end.  progress (may be NULL) is called after each
 * chunk with the plaintext bytes it held.  -EBADMSG if a chunk of src does
 * not authenticate; on any failure dst is left incomplete (the caller
 * removes it).
 */
int doc_copy(struct doc *src, struct doc *dst,
	     void (*progress)(uint64_t bytes, void *arg), void *arg)
	__attribute__((nonnull(1, 2), warn_unused_result));

/*
 * Re-encrypt in place, for a backing file that cannot simply be replaced
 * (hard links): a new document id and a new DEK, wrapped by the active
 * KEK.  Crash-safe through the two slots per chunk:
 *   1. every chunk's current version is re-sealed under the new DEK and id
 *      into its other slot (generation + 1); then fdatasync.  Meanwhile
 *      the old header still names the old DEK: readers try the new frame,
 *      which does not open under the old DEK, and fall back to the old
 *      version, so the document reads correctly throughout (fsck calls
 *      these chunks "newest version damaged, previous one used").
 *   2. both header slots are rewritten with the new id and DEK (one 4 KiB
 *      write; a torn one leaves either header, and both read correctly
 *      since both versions of every chunk are on disk); then fdatasync.
 *   3. the old versions are punched out.
 * Run again after a crash in 1 or 2 it starts over; after a crash in 3,
 * old versions under the old DEK may remain on disk until the chunk is
 * next written.  On failure in 1 (e.g. -EBADMSG: a chunk does not
 * authenticate) the new frames are removed again and the document is as
 * before.  progress as for doc_copy().  -EBADF if opened read-only.
 */
int doc_reencrypt(struct doc *d, void (*progress)(uint64_t bytes, void *arg),
		  void *arg)
	__attribute__((nonnull(1), warn_unused_result));

#endif
