/*
 * auditrec.h - byte format and cryptography of the access log: segment
 * headers, record frames, the record plaintext, key evolution.
 *
 * No I/O here (auditlog.h writes segments, auditverify.h reads them).  The
 * exact byte format is in man/vaultfs.5; in short:
 *
 *   segment = header (AUDITREC_HEADER_BYTES) || frame*
 *   header  = clear fields || crypto_box_seal(K0, auditor pk) || MAC
 *             MAC = BLAKE2b-256 keyed with HK = KDF(K0, 2, "vfsaudit")
 *   frame   = len u32 || seq u64 || prev chain (32) || nonce (24)
 *             || XChaCha20-Poly1305(RK_i, AD = len || seq || prev chain,
 *                                   record plaintext)  || len u32
 *             RK_i = KDF(K_i, 1, "vfsaudit")
 *   K_i+1   = BLAKE2b-256 keyed with K_i over "vaultfs-audit-evolve"
 *   chain   = BLAKE2b-256(frame bytes); the chain value before the first
 *             frame is BLAKE2b-256(header bytes)
 *
 * All integers little-endian.  Every frame carries its predecessor's chain
 * value in the clear (authenticated as AD), so the chain values form an
 * unkeyed hash chain over the ciphertext: anyone can check linkage, only
 * the auditor can check authenticity.
 *
 * All functions are thread-safe (no shared state).  Secret inputs (K0, K_i)
 * are the caller's; temporary subkeys are wiped before returning.
 */
#ifndef VAULTFS_AUDITREC_H
#define VAULTFS_AUDITREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sodium.h>

#include "seal.h"

#define AUDITREC_FORMAT 1
#define AUDITREC_KEY_BYTES SEAL_KEY_BYTES		/* 32: K0, K_i */
#define AUDITREC_CHAIN_BYTES 32
#define AUDITREC_VAULT_ID_BYTES 16
#define AUDITREC_DOC_ID_BYTES 16
#define AUDITREC_PK_BYTES crypto_box_PUBLICKEYBYTES	/* 32 */
#define AUDITREC_SK_BYTES crypto_box_SECRETKEYBYTES	/* 32 */
#define AUDITREC_SEALED_KEY_BYTES (crypto_box_SEALBYTES + AUDITREC_KEY_BYTES)
#define AUDITREC_HEADER_BYTES 240

/* Longest strings a record keeps (longer ones are clipped, flag CLIPPED). */
#define AUDIT_COMM_MAX 255
#define AUDIT_EXE_MAX 4096
#define AUDIT_PATH_MAX 4096
#define AUDIT_DETAIL_MAX 1024

/* Record plaintext: fixed part, strings, zero padding to a multiple of 64. */
#define AUDITREC_FIXED_BYTES 74
#define AUDITREC_PAD 64
#define AUDITREC_PLAIN_MAX 13696
/* Frame: prefix 4 + seq 8 + chain 32 + nonce 24 + tag 16 + suffix 4. */
#define AUDITREC_AD_BYTES 44
#define AUDITREC_FRAME_HEAD_BYTES (AUDITREC_AD_BYTES + SEAL_NONCE_BYTES)
#define AUDITREC_FRAME_OVERHEAD (AUDITREC_FRAME_HEAD_BYTES + SEAL_TAG_BYTES + 4)
#define AUDITREC_FRAME_MIN (AUDITREC_FRAME_OVERHEAD + AUDITREC_PAD * 2)
#define AUDITREC_FRAME_MAX (AUDITREC_FRAME_OVERHEAD + AUDITREC_PLAIN_MAX)
/* Bytes auditrec_decode() needs for the strings of the largest record. */
#define AUDITREC_STRBUF_BYTES (AUDIT_COMM_MAX + AUDIT_EXE_MAX + \
			       2 * AUDIT_PATH_MAX + AUDIT_DETAIL_MAX + 5)

/* "seg-" + 12 or more decimal digits + ".log"; buffer with NUL. */
#define AUDITREC_SEGNAME_MAX 32

/* Event codes: part of the format, never renumber. */
enum audit_event {
	AUDIT_EV_MOUNT = 1,
	AUDIT_EV_UNMOUNT = 2,
	AUDIT_EV_OPEN = 3,
	AUDIT_EV_CLOSE = 4,
	AUDIT_EV_CREATE = 5,
	AUDIT_EV_UNLINK = 6,
	AUDIT_EV_RENAME = 7,
	AUDIT_EV_MKDIR = 8,
	AUDIT_EV_RMDIR = 9,
	AUDIT_EV_TRUNCATE = 10,
	AUDIT_EV_SETATTR = 11,
	AUDIT_EV_INTEGRITY = 12,	/* a chunk or name failed to authenticate */
	AUDIT_EV_DENIED = 13,		/* access refused */
	AUDIT_EV_SYMLINK = 14,
	AUDIT_EV_LINK = 15,
	AUDIT_EV_MKNOD = 16,
	/* Written by vaultctl. */
	AUDIT_EV_INIT = 32,
	AUDIT_EV_PASSWD = 33,
	AUDIT_EV_ROTATE = 34,
	AUDIT_EV_REWRAP = 35,
	AUDIT_EV_REENCRYPT = 36,
	AUDIT_EV_FSCK = 37,
	AUDIT_EV_SETTINGS = 38,
	/* Closes a segment that has no more specific final event. */
	AUDIT_EV_END = 63,
};

/* Segment kinds (header field). */
enum audit_segment_kind {
	AUDIT_SEG_MOUNT = 1,		/* written by the daemon, one per mount */
	AUDIT_SEG_COMMAND = 2,		/* written by one vaultctl command */
};

/* Record flags. */
#define AUDIT_RF_FINAL 0x1u	/* last record of its segment (writer sets it) */
#define AUDIT_RF_CLIPPED 0x2u	/* a string was longer than its maximum */
#define AUDIT_RF_MASK 0x3u

/*
 * One access-log record.  The strings are NUL-terminated and NULL when
 * absent (encoded as empty: "" and NULL read back as NULL); they must not
 * contain NUL bytes (any other byte is fine).  When written, the pointers
 * belong to the caller; when decoded, they point into the caller's strbuf.
 */
struct audit_record {
	uint64_t seq;		/* global, from 1; assigned by the writer */
	int64_t time_us;	/* CLOCK_REALTIME, microseconds; 0 = now */
	enum audit_event event;
	uint32_t flags;		/* AUDIT_RF_*; the writer sets FINAL */
	uint32_t uid, gid, pid;
	int32_t result;		/* 0 or a negative errno */
	uint32_t open_flags;	/* open(2) flags (open, create) */
	uint64_t bytes_read, bytes_written;	/* close: through that handle */
	uint8_t doc_id[AUDITREC_DOC_ID_BYTES];	/* all zero = none */
	const char *comm;	/* process name */
	const char *exe;	/* executable path */
	const char *path;	/* plaintext path inside the vault */
	const char *new_path;	/* rename, link, symlink: the new name/target */
	const char *detail;	/* free text: host, vault, key versions... */
};

/* The clear fields of a segment header (plus the sealed key and MAC). */
struct auditrec_header {
	uint32_t format;			/* AUDITREC_FORMAT */
	uint32_t kind;				/* enum audit_segment_kind */
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	uint64_t segment;			/* >= 1, = file name number */
	uint64_t prev_segment;			/* 0 = first of the vault */
	uint64_t first_seq;			/* seq of its first record */
	int64_t created_us;			/* CLOCK_REALTIME */
	uint8_t prev_chain[AUDITREC_CHAIN_BYTES];	/* predecessor's last */
	uint8_t auditor_pk[AUDITREC_PK_BYTES];
	uint8_t sealed_key[AUDITREC_SEALED_KEY_BYTES];
	uint8_t mac[AUDITREC_CHAIN_BYTES];
};

/* A parsed frame: pointers into the caller's buffer. */
struct auditrec_frame {
	const uint8_t *raw;		/* frame start (the length prefix) */
	size_t frame_len;		/* whole frame, prefix to suffix */
	uint64_t seq;
	const uint8_t *prev_chain;	/* AUDITREC_CHAIN_BYTES */
	const uint8_t *nonce;		/* SEAL_NONCE_BYTES */
	const uint8_t *ct;		/* ciphertext and tag */
	size_t ct_len;
};

/* ---- events and names ---- */

/* "open", "rename", ...; "unknown" for a code this version does not know. */
const char *auditrec_event_name(enum audit_event ev);

/* Event code for a name; -EINVAL if unknown. */
int auditrec_event_from_name(const char *name, enum audit_event *ev)
	__attribute__((nonnull, warn_unused_result));

/* "seg-000000000042.log" for n = 42 (n >= 1). */
void auditrec_segment_name(uint64_t n, char out[AUDITREC_SEGNAME_MAX])
	__attribute__((nonnull));

/* Number of a segment file name; -EINVAL if name is not one. */
int auditrec_segment_number(const char *name, uint64_t *n)
	__attribute__((nonnull, warn_unused_result));

/* ---- record plaintext ---- */

/*
 * Encode r (seq excepted: it lives in the frame) into out (cap >=
 * AUDITREC_PLAIN_MAX is always enough).  Strings longer than their maximum
 * are clipped and AUDIT_RF_CLIPPED set in the encoding.  -EINVAL if the
 * event is 0 or > 255 or flags has bits outside AUDIT_RF_MASK; -ENOBUFS
 * if cap is too small.
 */
int auditrec_encode(const struct audit_record *r, uint8_t *out, size_t cap,
		    size_t *len)
	__attribute__((nonnull, warn_unused_result));

/*
 * Decode plaintext into r (r->seq is left 0); strings are copied to strbuf
 * (cap >= AUDITREC_STRBUF_BYTES is always enough).  -EBADMSG on any
 * malformation (lengths, limits, NUL in a string, non-zero padding,
 * unknown flags, event 0).
 */
int auditrec_decode(const uint8_t *in, size_t len, struct audit_record *r,
		    char *strbuf, size_t cap)
	__attribute__((nonnull, warn_unused_result));

/* ---- frames ---- */

/*
 * Total frame length announced by the 4-byte prefix at p; -EBADMSG if it
 * is outside [AUDITREC_FRAME_MIN, AUDITREC_FRAME_MAX] or not a valid size.
 */
int auditrec_frame_peek(const uint8_t p[4], size_t *frame_len)
	__attribute__((nonnull, warn_unused_result));

/*
 * Parse the frame at buf (len bytes available): prefix valid, suffix equal
 * to prefix.  -EBADMSG if malformed, -EAGAIN if len is shorter than the
 * frame the prefix announces (a torn tail, or more to read).
 */
int auditrec_frame_parse(const uint8_t *buf, size_t len,
			 struct auditrec_frame *f)
	__attribute__((nonnull, warn_unused_result));

/*
 * Seal r as record seq under chain key k (K_i), chained to prev_chain.
 * out must hold AUDITREC_FRAME_MAX bytes; *frame_len receives the length
 * and chain the new chain value.  The plaintext is wiped from out's
 * scratch area.  Errors as auditrec_encode().
 */
int auditrec_frame_seal(const uint8_t k[AUDITREC_KEY_BYTES], uint64_t seq,
			const uint8_t prev_chain[AUDITREC_CHAIN_BYTES],
			const struct audit_record *r, uint8_t *out,
			size_t *frame_len, uint8_t chain[AUDITREC_CHAIN_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * The same with the nonce supplied by the caller: SEAL_NONCE_BYTES fresh
 * random bytes never used before (the writer draws them from the kernel
 * in batches, auditrec_frame_seal() one at a time).  Each frame's key RK_i
 * is its own, so uniqueness is what matters; the nonce is public.
 */
int auditrec_frame_seal_nonce(const uint8_t k[AUDITREC_KEY_BYTES],
			      uint64_t seq,
			      const uint8_t prev_chain[AUDITREC_CHAIN_BYTES],
			      const struct audit_record *r,
			      const uint8_t nonce[SEAL_NONCE_BYTES],
			      uint8_t *out, size_t *frame_len,
			      uint8_t chain[AUDITREC_CHAIN_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Authenticate and decrypt f under chain key k into plain (f->ct_len -
 * SEAL_TAG_BYTES bytes).  -EBADMSG (plain zeroed) if it does not verify.
 */
int auditrec_frame_open(const uint8_t k[AUDITREC_KEY_BYTES],
			const struct auditrec_frame *f, uint8_t *plain)
	__attribute__((nonnull, warn_unused_result));

/* K_i+1 from K_i, in place; the old key is wiped. */
void auditrec_evolve(uint8_t k[AUDITREC_KEY_BYTES]) __attribute__((nonnull));

/* Chain value of bytes (a whole frame, or a whole header). */
void auditrec_chain(const uint8_t *bytes, size_t len,
		    uint8_t chain[AUDITREC_CHAIN_BYTES])
	__attribute__((nonnull));

/* ---- headers ---- */

/*
 * Complete h (format, sealed_key, mac) and serialise it: K0 is sealed to
 * h->auditor_pk.  The caller fills kind, vault_id, segment, prev_segment,
 * first_seq, created_us, prev_chain, auditor_pk.  -ENOKEY if the public
 * key is unusable (all zero or of small order).
 */
int auditrec_header_build(struct auditrec_header *h,
			  const uint8_t k0[AUDITREC_KEY_BYTES],
			  uint8_t out[AUDITREC_HEADER_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Parse the clear fields (no key needed).  -EBADMSG if malformed (magic,
 * kind, numbering), -EPROTONOSUPPORT if the format is newer.
 */
int auditrec_header_parse(const uint8_t *buf, size_t len,
			  struct auditrec_header *h)
	__attribute__((nonnull, warn_unused_result));

/*
 * Recover K0 with the auditor's key pair and check the header MAC.
 * -EKEYREJECTED if the header is sealed to another public key, -EBADMSG if
 * the sealed key or the MAC does not verify (k0 zeroed).
 */
int auditrec_header_open(const struct auditrec_header *h,
			 const uint8_t raw[AUDITREC_HEADER_BYTES],
			 const uint8_t sk[AUDITREC_SK_BYTES],
			 const uint8_t pk[AUDITREC_PK_BYTES],
			 uint8_t k0[AUDITREC_KEY_BYTES])
	__attribute__((nonnull, warn_unused_result));

/* ---- presentation ---- */

/*
 * One JSON object on one line (with '\n') for r: seq, time (RFC 3339 UTC
 * with microseconds), event, path, uid, gid, pid, comm, exe, result, and
 * when present new_path, open_flags, bytes_read/bytes_written (close),
 * doc (hex), detail.  Bytes that are not UTF-8 are written as "\\xNN".
 * -EIO if writing fails.
 */
int auditrec_print_json(FILE *f, const struct audit_record *r)
	__attribute__((nonnull, warn_unused_result));

/*
 * s as a JSON string value (null for NULL), escaped as in
 * auditrec_print_json(): bytes that are not UTF-8 as "\\xNN".
 */
void auditrec_print_json_string(FILE *f, const char *s)
	__attribute__((nonnull(1)));

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t auditrec_utf8_len(const unsigned char *s) __attribute__((nonnull));

/* "2026-11-20T10:00:00.123456Z"; buffer of 32. */
void auditrec_format_time(int64_t time_us, char out[32]) __attribute__((nonnull));

#endif
