/*
 * auditlog.h - the access-log writer (daemon and vaultctl).
 *
 * The log is a sequence of segment files VAULT/audit/seg-NNNNNNNNNNNN.log
 * (auditrec.h gives the byte format, auditverify.h reads them back).  Each
 * writer starts a new segment: the daemon one per mount (kind
 * AUDIT_SEG_MOUNT), each vaultctl command that records something one small
 * segment of its own (AUDIT_SEG_COMMAND).  A segment starts from a fresh
 * random key K0 sealed to the auditor's public key; after each record the
 * key evolves one-way (K_i+1 = BLAKE2b_K_i("vaultfs-audit-evolve")) and the
 * old key is wiped, so whoever takes the process at time t can neither read
 * nor forge the records written before t.
 *
 * Chaining between segments.  The writer cannot decrypt old segments, so
 * it chains on a value it can compute from ciphertext: the chain value of
 * the predecessor's last complete frame (BLAKE2b-256 of its bytes), found
 * in O(1) through the frame's length suffix (a forward walk only after a
 * crash left a torn tail).  The new header records the predecessor's
 * number, that chain value and the next sequence number; the header MAC
 * and the first record's AD bind them.  A torn tail of the predecessor is
 * left as it is (evidence); the verifier reports it.
 *
 * Only one writer at a time: auditlog_open() takes an exclusive flock on
 * the new segment for the writer's lifetime and refuses (-EBUSY) while
 * another writer holds the newest segment (e.g. vaultctl while the vault
 * is mounted).  Segment creation is serialised by a flock on the audit
 * directory and is atomic (temporary file, fdatasync, rename, fsync of the
 * directory): a segment file always has a whole header.
 *
 * Durability.  auditlog_append() has written (pwrite(2)) the record when it
 * returns: it survives a crash of the process (kill -9).  It is durable
 * against power loss or a kernel crash only after auditlog_sync(), which is
 * a group commit: concurrent callers share one fdatasync.  The daemon
 * either calls auditlog_sync() where it needs durability or lets
 * auditlog_start_flusher() sync every few milliseconds; records appended
 * since the last sync are what a power cut can lose.
 *
 * Fail closed.  Every function returns 0 or a negative errno (-ENOSPC,
 * -EIO, -EFBIG, ...); the daemon must refuse the access it tried to
 * record.  A failed append leaves no partial record (the file is cut back)
 * and the log usable; if cutting back or a sync fails, the log is marked
 * broken and every later append returns that error.
 *
 * Rotation and archiving.  A segment ends with a record flagged
 * AUDIT_RF_FINAL (the unmount record, a command's last record, or an "end"
 * record).  With max_segment_bytes set, a long mount continues in a new
 * segment once the current one is larger.  Old segments can be moved off
 * the machine.  The writer chains onto the newest segment present; when
 * none is left it uses AUDITLOG_HEAD_FILE, a small clear file naming the
 * last segment, its next seq and final chain value (written when a segment
 * is created and when it is closed), so even archiving every segment keeps
 * the chain.  Archive only closed segments (not the one being written or
 * one a crash left open).  With neither, a new chain starts at segment 1.
 *
 * Thread safety: append, sync and head may be called from any number of
 * threads.  open and close are not concurrent with anything.  Call
 * auditlog_start_flusher() after any fork() (daemonizing).  seal_init()
 * must have succeeded.
 *
 * Secrets: the chain key lives in sodium_malloc memory and is replaced
 * (old value overwritten) after every record; K0 exists only until the
 * first record is written; the plaintext of a record is encrypted in place
 * and never leaves the process.  close() wipes everything.  Record nonces
 * are random, drawn from the kernel a few dozen at a time and each used
 * once (they are public; a failed append uses one up too).
 */
#ifndef VAULTFS_AUDITLOG_H
#define VAULTFS_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include "auditrec.h"
#include "../keys/keystore.h"

/* In VAULT/audit/ beside the segments; a hint, not verified. */
#define AUDITLOG_HEAD_FILE "head"

/* Suggested max_segment_bytes for the daemon. */
#define AUDITLOG_SEGMENT_BYTES_DEFAULT (64ull << 20)

struct auditlog_options {
	enum audit_segment_kind kind;	/* 0 = AUDIT_SEG_MOUNT */
	uint64_t max_segment_bytes;	/* 0 = one segment for the lifetime */
	/*
	 * Optional (NULL: none): called with the exact bytes written, after
	 * each segment header is in place (seq 0, AUDITREC_HEADER_BYTES
	 * bytes) and after each record is written (its seq, the whole
	 * frame), in log order, under the log's lock: it must be quick and
	 * must not call back into the log.  bytes are valid during the call
	 * only; they hold no plaintext.  For copies kept off the machine
	 * (auditfwd.h).
	 */
	void (*copy)(void *arg, uint64_t segment, uint64_t seq,
		     const uint8_t *bytes, size_t len);
	void *copy_arg;
};

/* Where the log stands: an anchor worth sending off the machine. */
struct auditlog_head {
	uint64_t segment;		/* current segment number */
	char name[AUDITREC_SEGNAME_MAX];	/* its file name */
	uint64_t seq;			/* last record written (0 = none yet) */
	uint8_t chain[AUDITREC_CHAIN_BYTES];	/* chain value after it */
};

struct auditlog;

/*
 * Start a new segment in audit_dir_fd (VAULT/audit, kept open by the
 * caller only for this call) for the vault s (vault_id, auditor_pk).  opt
 * may be NULL (mount segment, no rotation).  The segment holds no record
 * yet: the caller appends its mount (or command) record first.
 * -EBUSY if another writer is active, -ENOKEY if s has no usable auditor
 * key, -ENOMEM, and file-system errors.
 */
int auditlog_open(int audit_dir_fd, const struct vault_settings *s,
		  const struct auditlog_options *opt, struct auditlog **out)
	__attribute__((nonnull(2, 4), warn_unused_result));

/*
 * Append r (its seq is ignored; time_us 0 means now) and return its global
 * sequence number in *seq (seq may be NULL).  The caller may not set
 * AUDIT_RF_FINAL.  The record is written when this returns.  -EINVAL for
 * a bad event or flags; storage errors as above (nothing written).
 */
int auditlog_append(struct auditlog *log, const struct audit_record *r,
		    uint64_t *seq)
	__attribute__((nonnull(1, 2), warn_unused_result));

/* Make every record appended so far durable (group commit). */
int auditlog_sync(struct auditlog *log)
	__attribute__((nonnull, warn_unused_result));

/*
 * Start a thread that syncs every interval_ms (>= 1) while records are
 * pending; auditlog_close() stops it.  A sync failure marks the log broken
 * (later appends fail).  -EALREADY if running, -EINVAL, -EAGAIN.
 */
int auditlog_start_flusher(struct auditlog *log, unsigned interval_ms)
	__attribute__((nonnull, warn_unused_result));

/* Current segment, last seq and chain value. */
void auditlog_head(struct auditlog *log, struct auditlog_head *h)
	__attribute__((nonnull));

/*
 * Close the segment: append final (the unmount record, or a command's
 * last record; NULL writes an "end" record) flagged AUDIT_RF_FINAL, sync,
 * stop the flusher, close the file and wipe the key.  Always frees log
 * (NULL is fine); returns the first error of the final append or sync.
 */
int auditlog_close(struct auditlog *log, const struct audit_record *final);

/*
 * Copy the chain key that will seal the next record: exactly what an
 * intruder reading the process memory now would get.  For the tests that
 * show forward security; there is no other use.
 */
void auditlog_current_key(struct auditlog *log,
			  uint8_t k[AUDITREC_KEY_BYTES])
	__attribute__((nonnull));

#endif
