/*
 * audit-syslog.h - vaultctl audit verify|show --syslog FILE: the access
 * log's copy that the daemon forwarded to syslog (-o audit_syslog,
 * vaultfs/auditfwd.h), as a collector wrote it to FILE, checked with the
 * auditor's key and compared with the local segments.
 *
 * FILE holds lines as rsyslog writes them ("Nov 25 10:00:00 host
 * vaultfs-audit[123]: VFSAF1 ..."), `journalctl -o cat` output, or any
 * export with one forwarded payload per line; "-" reads stdin.  Other
 * lines are skipped.  Anyone on the machine can write to /dev/log, so
 * every forwarded item is authenticated before it counts: a header must
 * open with the auditor's key (its sealed K0 and MAC), a record must
 * authenticate under K0 evolved to its seq.  Items that do not are
 * "forged" and ignored (a note); records whose segment header was not
 * forwarded cannot be authenticated and are never evidence of damage.
 *
 * What verify reports (through the finding callback, as struct
 * audit_problem, detail beginning "forwarded copy:"):
 *   SEGMENT_REMOVED  a forwarded segment is not in the local log
 *                    (deleted), unless it is archived history: older
 *                    than the oldest local segment O, and O chains onto
 *                    the end of a forwarded segment at or after it
 *   TRUNCATED        authentic forwarded records after the last local
 *                    record of their segment (the segment was cut short);
 *                    seq = the first missing, count = how many
 *   REMOVED          authentic forwarded records missing between local
 *                    records of their segment
 *   ALTERED          a local record or header differs from its authentic
 *                    forwarded copy
 * and through the note callback (not damage): local records or segments
 * that were not forwarded (the sender dropped them, command segments,
 * mounts without audit_syslog), archived forwarded segments (not
 * compared), forged, incomplete or unverifiable items, items of other
 * vaults, and a summary.
 *
 * Memory: the forwarded items of FILE are held in memory (about the size
 * of the segments they copy); a local segment is read whole while it is
 * compared.  Decrypted records (show) and keys live in sodium_malloc
 * memory and are wiped.  Not thread-safe per call; no shared state.
 */
#ifndef VAULTFS_AUDIT_SYSLOG_H
#define VAULTFS_AUDIT_SYSLOG_H

#include <stdint.h>

#include "../vaultfs/auditfwd.h"
#include "../vaultfs/auditrec.h"
#include "../vaultfs/auditverify.h"

struct audit_syslog_summary {
	struct auditfwd_collect_stats collect;	/* parsing and reassembly */
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];	/* the one checked */
	uint64_t other_vault;		/* items of other vaults (ignored) */
	uint64_t segments;		/* forwarded segments of this vault */
	uint64_t first_segment, last_segment;
	uint64_t headers;		/* authentic forwarded headers */
	uint64_t records;		/* authentic forwarded records */
	uint64_t first_seq, last_seq;	/* of those */
	uint64_t forged;		/* items that do not authenticate */
	uint64_t unverified;		/* records without a forwarded header */
	/* verify only */
	uint64_t matched;		/* forwarded = local, byte for byte */
	uint64_t missing, altered;	/* damage: records concerned */
	uint64_t segments_missing;	/* damage: segments deleted */
	uint64_t archived;		/* records of segments older than the
					 * oldest local one (not compared) */
	uint64_t not_forwarded;		/* local records with no copy */
};

struct audit_syslog_callbacks {
	/* show: each authentic forwarded record, in (segment, seq) order;
	 * pos->chained: its link to the previous forwarded record checks. */
	int (*record)(void *arg, const struct audit_record *r,
		      const struct audit_position *pos);
	/* verify: each damage finding. */
	int (*finding)(void *arg, const struct audit_problem *p);
	/* both: one line of information, no final newline. */
	void (*note)(void *arg, const char *text);
};

/*
 * Compare the forwarded copy in file with the segments in audit_dir_fd.
 * vault_id: the vault to look for (the one the local log verified); NULL
 * takes the vault most items in file belong to.  sk, pk: the auditor's key
 * pair.  Returns 0 (sum->missing, ->altered, ->segments_missing tell
 * whether damage was found), a callback's non-zero value, -ENOENT and the
 * like when file cannot be read (errno of fopen/getline), -ENODATA when
 * file holds no forwarded item of the vault, -EKEYREJECTED when forwarded
 * headers exist but none opens with pk/sk, -ENOMEM, or an I/O error
 * reading a segment.
 */
int audit_syslog_verify(int audit_dir_fd, const char *file,
			const uint8_t sk[AUDITREC_SK_BYTES],
			const uint8_t pk[AUDITREC_PK_BYTES],
			const uint8_t *vault_id,
			const struct audit_syslog_callbacks *cb, void *arg,
			struct audit_syslog_summary *sum)
	__attribute__((nonnull(2, 3, 4, 6, 8), warn_unused_result));

/*
 * Deliver the authentic records of the forwarded copy in file to
 * cb->record (notes as above).  Returns as audit_syslog_verify().
 */
int audit_syslog_records(const char *file, const uint8_t sk[AUDITREC_SK_BYTES],
			 const uint8_t pk[AUDITREC_PK_BYTES],
			 const uint8_t *vault_id,
			 const struct audit_syslog_callbacks *cb, void *arg,
			 struct audit_syslog_summary *sum)
	__attribute__((nonnull(1, 2, 3, 5, 7), warn_unused_result));

#endif
