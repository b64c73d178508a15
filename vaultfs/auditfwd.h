/*
 * auditfwd.h - a copy of the access log off the machine, through syslog.
 *
 * The daemon (mount option audit_syslog[=SOCKET]) sends every segment
 * header and every record frame its auditlog writes, byte for byte as
 * written to the segment file, as syslog datagrams to a local socket
 * (/dev/log by default), from where rsyslog, journald or a SIEM agent
 * keep a copy on another machine.  The bytes are sealed (auditrec.h):
 * the copy holds no plaintext and reveals nothing without the auditor's
 * key.  Its value is forensic: whoever later takes the machine can cut
 * the local log short or delete segments, but cannot take back what was
 * already forwarded; `vaultctl audit verify --syslog FILE` compares the
 * two (tools/audit-syslog.h).
 *
 * Datagram (RFC 3164, as glibc's syslog(3) sends to /dev/log, which both
 * rsyslog's imuxsock and journald parse):
 *
 *   <86>Mmm dd hh:mm:ss vaultfs-audit[PID]: PAYLOAD
 *
 * 86 = facility authpriv (10) * 8 + severity info (6).  PAYLOAD:
 *
 *   VFSAF1 VAULTID SEGMENT SEQ ID PART/PARTS BASE64
 *
 *   VAULTID  32 lower-case hex digits (the vault id of the headers)
 *   SEGMENT  segment number, decimal
 *   SEQ      the record's global seq, decimal; 0 = the segment header
 *   ID       16 lower-case hex digits: the first 8 bytes of the item's
 *            chain value (BLAKE2b-256 of its bytes, auditrec_chain()),
 *            which ties the parts together and checks the reassembly
 *   PART     1..PARTS; PARTS <= AUDITFWD_PARTS_MAX
 *   BASE64   RFC 4648 with padding, of bytes [(PART-1) *
 *            AUDITFWD_PART_BYTES, ...) of the item: AUDITFWD_PART_BYTES
 *            bytes for every part but the last, 1..AUDITFWD_PART_BYTES
 *            for the last
 *
 * Why parts: a frame is up to 13784 bytes, rsyslog truncates messages
 * above its maxMessageSize (8 KiB by default) and syslog relays over UDP
 * are only required to pass 2048 bytes (RFC 5426); journald takes more.
 * So no datagram is longer than AUDITFWD_DGRAM_MAX (2048) bytes: a typical
 * record (216..600 bytes) is one datagram, the largest 11.
 *
 * A reader finds the payload anywhere in a line ("VFSAF1 " marks it), so
 * files written by rsyslog ("Nov 25 10:00:00 host vaultfs-audit[123]:
 * VFSAF1 ...") and `journalctl -o cat` output both work.  Anyone on the
 * machine can write to /dev/log: a reader must treat the lines as
 * untrusted and authenticate each frame with the auditor's key.
 *
 * Sending is best effort and never blocks the file system.  The copy
 * hook only queues the bytes (up to AUDITFWD_QUEUE_BYTES; beyond, items
 * are dropped); a thread of its own sends them on a non-blocking AF_UNIX
 * datagram socket (not syslog(3), so the daemon's own messages stay apart
 * and the socket is configurable).  When the receiver's queue is full (a
 * burst: Linux queues only net.unix.max_dgram_qlen datagrams, 10 by
 * default, 512 under systemd) the thread waits for room while the
 * file system goes on; when the socket is missing or refuses, the item
 * is dropped at once (connecting is retried at most once a second).  Drops
 * are counted, the first is reported once through vlog(), and the daemon
 * puts the counts in the unmount record's detail.
 */
#ifndef VAULTFS_AUDITFWD_H
#define VAULTFS_AUDITFWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auditrec.h"

#define AUDITFWD_SOCKET_DEFAULT "/dev/log"
#define AUDITFWD_TAG "vaultfs-audit"
#define AUDITFWD_MAGIC "VFSAF1"
#define AUDITFWD_PRI 86			/* LOG_AUTHPRIV | LOG_INFO */
#define AUDITFWD_ID_BYTES 8
#define AUDITFWD_PART_BYTES 1350	/* 1800 base64 characters */
#define AUDITFWD_PART_B64 (AUDITFWD_PART_BYTES / 3 * 4)
#define AUDITFWD_PARTS_MAX \
	((AUDITREC_FRAME_MAX + AUDITFWD_PART_BYTES - 1) / AUDITFWD_PART_BYTES)
#define AUDITFWD_ITEM_MAX AUDITREC_FRAME_MAX	/* a header is smaller */
#define AUDITFWD_DGRAM_MAX 2048
#define AUDITFWD_QUEUE_BYTES (4u << 20)	/* about 15,000 typical records */

/* ---- the wire format ---- */

/* One parsed part (data points into the caller's struct). */
struct auditfwd_part {
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	uint64_t segment;		/* >= 1 */
	uint64_t seq;			/* 0 = segment header */
	uint8_t id[AUDITFWD_ID_BYTES];
	unsigned part, parts;		/* 1 <= part <= parts */
	size_t len;			/* bytes in data */
	uint8_t data[AUDITFWD_PART_BYTES];
};

/* Number of parts an item of len bytes (1..AUDITFWD_ITEM_MAX) needs. */
unsigned auditfwd_parts(size_t len);

/*
 * Write datagram part (1..auditfwd_parts(len)) of item bytes[0..len)
 * (segment, seq; 0 = header) into out (cap >= AUDITFWD_DGRAM_MAX is
 * always enough), NUL-terminated, its length in *out_len.  time_s is the
 * timestamp (local time, as syslog(3) writes it), pid the PID shown.
 * -EINVAL for an impossible len, part or segment; -ENOBUFS if cap is
 * too small.
 */
int auditfwd_format(const uint8_t vault_id[AUDITREC_VAULT_ID_BYTES],
		    uint64_t segment, uint64_t seq, const uint8_t *bytes,
		    size_t len, unsigned part, int64_t time_s, uint32_t pid,
		    char *out, size_t cap, size_t *out_len)
	__attribute__((nonnull(1, 4, 9, 11), warn_unused_result));

/*
 * Find a forwarded part anywhere in line[0..len) (not NUL-terminated;
 * the first "VFSAF1 " that parses wins) and parse it into *p.  0,
 * -ENOENT if the line holds no "VFSAF1 " marker, -EBADMSG if every one
 * there is malformed (fields, base64, sizes).  Safe on any input.
 */
int auditfwd_parse_line(const char *line, size_t len, struct auditfwd_part *p)
	__attribute__((nonnull, warn_unused_result));

/* ---- reassembly (reader side) ---- */

/* One reassembled item, whole and matching its ID. */
struct auditfwd_item {
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	uint64_t segment;
	uint64_t seq;			/* 0 = segment header */
	uint64_t line;			/* line number (from 1) of its first part */
	size_t len;
	uint8_t *bytes;			/* owned by the collector */
};

struct auditfwd_collect_stats {
	uint64_t lines;			/* lines given */
	uint64_t parts;			/* parts parsed */
	uint64_t malformed;		/* lines with a marker that did not parse */
	uint64_t items;			/* items reassembled (duplicates excluded) */
	uint64_t duplicates;		/* the same item again (dropped) */
	uint64_t incomplete;		/* items with parts missing, inconsistent,
					 * or whose bytes do not match the ID */
};

struct auditfwd_collector;

/* -ENOMEM. */
int auditfwd_collector_new(struct auditfwd_collector **out)
	__attribute__((nonnull, warn_unused_result));

/*
 * Take one line (without its newline; need not be NUL-terminated).
 * 1 when it held a part, 0 when it held none or a malformed one (counted),
 * -ENOMEM (the collector stays usable).
 */
int auditfwd_collector_add(struct auditfwd_collector *c, const char *line,
			   size_t len)
	__attribute__((nonnull, warn_unused_result));

/*
 * Reassemble what was added.  *items (owned by c, valid until
 * auditfwd_collector_free) is sorted by vault id, segment, seq, then line:
 * two different items for the same (vault, segment, seq) both appear (one
 * is forged; the reader decides with the key).  Call once.  -ENOMEM.
 */
int auditfwd_collector_finish(struct auditfwd_collector *c,
			      const struct auditfwd_item **items, size_t *n,
			      struct auditfwd_collect_stats *st)
	__attribute__((nonnull, warn_unused_result));

void auditfwd_collector_free(struct auditfwd_collector *c);

/* ---- the sender (daemon side) ---- */

struct auditfwd;

/*
 * A sender to the AF_UNIX datagram socket at path (absolute; copied) for
 * vault_id.  Items are queued until auditfwd_start().  The socket need not
 * exist yet.  -EINVAL if path does not fit a socket address, -ENOMEM.
 */
int auditfwd_open(const char *path,
		  const uint8_t vault_id[AUDITREC_VAULT_ID_BYTES],
		  struct auditfwd **out)
	__attribute__((nonnull, warn_unused_result));

/*
 * Start the sending thread.  Call it after any fork() (daemonizing): a
 * thread does not survive one.  -EALREADY, -EAGAIN.
 */
int auditfwd_start(struct auditfwd *f)
	__attribute__((nonnull, warn_unused_result));

/*
 * The auditlog_options.copy hook (arg: a struct auditfwd *): queue a copy
 * of the item (never blocks; a full queue drops it).  Later it is counted
 * as forwarded when every part went out, else as dropped.  Thread-safe.
 */
void auditfwd_copy(void *arg, uint64_t segment, uint64_t seq,
		   const uint8_t *bytes, size_t len);

/*
 * Wait up to timeout_ms until everything queued has been sent (or
 * dropped); without a thread, send it now without waiting for room.
 * Returns how many items are still unsent.  Thread-safe.
 */
uint64_t auditfwd_flush(struct auditfwd *f, unsigned timeout_ms)
	__attribute__((nonnull));

/* Items forwarded and dropped so far.  Thread-safe. */
void auditfwd_counts(struct auditfwd *f, uint64_t *forwarded,
		     uint64_t *dropped)
	__attribute__((nonnull));

/*
 * Send what is still queued (waiting for room at most about a second),
 * stop the thread, close the socket and free f (NULL is fine).  Not
 * concurrent with auditfwd_copy().
 */
void auditfwd_free(struct auditfwd *f);

#endif
