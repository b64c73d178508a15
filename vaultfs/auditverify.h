/*
 * auditverify.h - read, verify and decrypt the access log (vaultctl audit).
 *
 * auditverify_run() walks the segment files of VAULT/audit in number
 * order with the auditor's key pair, checks every header, every record and
 * every link, hands each authentic record to a callback and reports each
 * finding to another.  "Damage" findings make the log fail verification;
 * "notes" do not.
 *
 * How damage is named (first applicable rule wins; details in
 * man/vaultfs.5 and notes for the auditor in vaultctl(8)):
 *
 *  BAD_HEADER       a segment header does not parse, its sealed key does
 *                   not open with the auditor key, or its MAC fails.
 *  WRONG_KEY        a segment is sealed to an auditor key that was not
 *                   given (if no segment at all is sealed to a given key,
 *                   auditverify_run() fails with -EKEYREJECTED instead).
 *                   After 'vaultctl audit rekey' the segments before the
 *                   change are sealed to the old key, the later ones to
 *                   the new key: give both (auditverify_run_keys()) to
 *                   read the whole log.  The records of such a segment
 *                   cannot be read, but its clear hash chain is still
 *                   walked: its frames must follow its header and each
 *                   other (else ALTERED), and the next segment's link onto
 *                   its last frame is checked as for any segment, so a
 *                   change made to it after a later segment was written
 *                   shows (TRUNCATED, SEGMENT_REPLAYED).  What this cannot
 *                   show is a change that keeps the chain intact: only
 *                   its key authenticates the records.
 *  SEGMENT_REPLAYED a segment does not belong where it is: the header's
 *                   number differs from its file name (copied or renamed),
 *                   it belongs to another vault, it chains onto an older
 *                   segment than its predecessor, or it does not chain onto
 *                   its complete (closed) predecessor.
 *  SEGMENT_REMOVED  a segment chains onto a segment number that is not the
 *                   previous one present (segments between are missing).
 *  ALTERED          a record does not authenticate, its framing or clear
 *                   sequence number was changed, a frame that does not
 *                   authenticate here was inserted, or bytes follow the
 *                   segment's final record.
 *  REORDERED        the record expected next (right seq, chained onto the
 *                   last good record) exists later in the segment (looked
 *                   for among the next AUDITVERIFY_LOOKAHEAD frames) and
 *                   the frame found in its place authenticates at its own
 *                   later seq; or a record with an already passed seq
 *                   appears again (moved back or duplicated).
 *  REMOVED          the record found instead carries a later seq, the
 *                   expected one is not further on, and the found one
 *                   authenticates under the key evolved that many steps
 *                   (up to AUDITVERIFY_MAX_GAP): the records in between
 *                   are gone (count given).
 *  TRUNCATED        a segment lacks its final record and is not explained
 *                   by a crash: either it is the last segment and no
 *                   writer holds it, or the next segment chains onto a
 *                   record that is no longer there.  A torn partial record
 *                   at the end of such a segment is part of this finding.
 *
 * Notes: HISTORY_START (the oldest segment present has a predecessor:
 * older segments were archived), CRASH (a segment lacks its final record,
 * possibly with a torn partial record at its end, but the next segment
 * chains onto its last complete record: the writer crashed), OPEN (the last
 * segment is being written by a live writer: the vault is mounted).
 *
 * After damage in a segment the walk goes on in "salvage" mode: every
 * further frame that authenticates under the key evolved to its seq is
 * still delivered, with pos->chained false; frames that cannot be placed
 * are skipped.  Later segments are verified normally.
 *
 * Limits, by design: a log cut at a segment boundary (newest segments
 * deleted, or the open segment replaced by a forged one started from the
 * public key) looks like a shorter intact log; compare with anchors kept
 * off the machine (auditlog_head()).
 *
 * Thread-safe (no shared state); callbacks run on the calling thread.
 */
#ifndef VAULTFS_AUDITVERIFY_H
#define VAULTFS_AUDITVERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "auditrec.h"

#define AUDITVERIFY_LOOKAHEAD 65536	/* frames searched for a moved record */
#define AUDITVERIFY_MAX_GAP (1u << 20)	/* largest gap checked for REMOVED */
#define AUDITVERIFY_DETAIL_MAX 192
#define AUDITVERIFY_MAX_KEYS 16		/* keys auditverify_run_keys() takes */
#define AUDITVERIFY_OTHER_PKS 4		/* other keys a summary lists */

enum audit_finding {
	AUDIT_OK = 0,
	/* Damage. */
	AUDIT_ALTERED = 1,
	AUDIT_REMOVED = 2,
	AUDIT_REORDERED = 3,
	AUDIT_TRUNCATED = 4,
	AUDIT_SEGMENT_REMOVED = 5,
	AUDIT_SEGMENT_REPLAYED = 6,
	AUDIT_BAD_HEADER = 7,
	AUDIT_WRONG_KEY = 8,
	/* Notes. */
	AUDIT_NOTE_HISTORY_START = 100,
	AUDIT_NOTE_CRASH = 101,
	AUDIT_NOTE_OPEN = 102,
};

struct audit_problem {
	enum audit_finding kind;
	char segment[AUDITREC_SEGNAME_MAX];	/* file name */
	uint64_t segment_no;		/* from the file name */
	uint64_t seq;			/* first record concerned; 0 = none */
	uint64_t count;			/* records concerned; 0 = unknown */
	uint64_t index;			/* frame position in the file, from 0 */
	uint64_t offset;		/* byte offset in the file */
	char detail[AUDITVERIFY_DETAIL_MAX];	/* one line, no plaintext */
};

struct audit_position {
	const char *segment;		/* file name */
	uint64_t segment_no;
	enum audit_segment_kind kind;
	uint64_t index;			/* frame position in the file */
	uint64_t offset;
	bool chained;			/* false: authentic, but read in salvage
					 * mode after damage, so its place in
					 * the chain is not proven */
	const uint8_t *chain;		/* chain value after this record */
};

struct auditverify_callbacks {
	/*
	 * Each authentic record in log order; r's strings and pos are valid
	 * during the call only.  A non-zero return stops the walk and is
	 * returned by auditverify_run().
	 */
	int (*record)(void *arg, const struct audit_record *r,
		      const struct audit_position *pos);
	/* Each finding, damage or note, as it is found.  Same return rule. */
	int (*finding)(void *arg, const struct audit_problem *p);
};

struct auditverify_summary {
	uint64_t segments;		/* segment files examined */
	uint64_t records;		/* authentic records delivered */
	uint64_t first_segment, last_segment;	/* numbers present */
	uint64_t first_seq, last_seq;	/* of the delivered records */
	bool history_complete;		/* the vault's first segment is here */
	uint64_t damage, notes;		/* findings of each class */
	struct audit_problem first_damage;	/* kind AUDIT_OK if none */
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];	/* the one checked */
	uint8_t last_chain[AUDITREC_CHAIN_BYTES];	/* after last_seq */
	/*
	 * Segments sealed to auditor keys not given (each also reported as
	 * AUDIT_WRONG_KEY): how many, the lowest and highest number, and
	 * the first AUDITVERIFY_OTHER_PKS distinct public keys they name.
	 */
	uint64_t other_key_segments;
	uint64_t other_key_first, other_key_last;
	size_t n_other_pks;
	uint8_t other_pks[AUDITVERIFY_OTHER_PKS][AUDITREC_PK_BYTES];
};

/* One auditor key pair for auditverify_run_keys(). */
struct auditverify_key {
	const uint8_t *sk;		/* AUDITREC_SK_BYTES, caller's memory */
	const uint8_t *pk;		/* AUDITREC_PK_BYTES */
	uint64_t segments;		/* out: well-formed segment headers
					 * sealed to pk */
};

/*
 * Verify the log in audit_dir_fd with the auditor's key pair (sk, pk as
 * auditkey_load() gives them).  vault_id: the vault's id when the caller
 * knows it (e.g. from the key store's clear part); NULL takes the id most
 * segment headers carry (ties: the newest).  cb and its members may be
 * NULL.  Fills *sum.
 *
 * Returns 0 when the walk finished (sum->damage tells whether the log is
 * intact), a callback's non-zero value, -EKEYREJECTED if segments exist
 * but none is sealed to pk, -ENOMEM, or an I/O error.  An empty directory
 * is not an error (sum->segments == 0).
 */
int auditverify_run(int audit_dir_fd, const uint8_t sk[AUDITREC_SK_BYTES],
		    const uint8_t pk[AUDITREC_PK_BYTES], const uint8_t *vault_id,
		    const struct auditverify_callbacks *cb, void *arg,
		    struct auditverify_summary *sum)
	__attribute__((nonnull(2, 3, 7), warn_unused_result));

/*
 * The same with several auditor key pairs, keys[0..nkeys) (1 <= nkeys <=
 * AUDITVERIFY_MAX_KEYS): each segment is read with the key its header
 * names, so a log whose auditor key was changed reads as one log.  Fills
 * each key's segments count.  -EKEYREJECTED if segments exist but none is
 * sealed to any of the keys.  A key given twice is harmless.
 */
int auditverify_run_keys(int audit_dir_fd, struct auditverify_key *keys,
			 size_t nkeys, const uint8_t *vault_id,
			 const struct auditverify_callbacks *cb, void *arg,
			 struct auditverify_summary *sum)
	__attribute__((nonnull(2, 7), warn_unused_result));

/* "altered", "removed", ..., "history-start", "crash", "open". */
const char *auditverify_finding_name(enum audit_finding kind);

/* true for the kinds that make the log fail verification. */
bool auditverify_is_damage(enum audit_finding kind);

#endif
