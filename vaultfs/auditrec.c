/* auditrec.c - see auditrec.h; the byte format is in man/vaultfs.5. */
#include "auditrec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "le.h"
#include "log.h"

#define MAGIC "VFSAUDIT"
#define MAGIC_BYTES 8
#define KDF_CTX "vfsaudit"
#define KDF_ID_RECORD 1
#define KDF_ID_HEADER 2
#define EVOLVE_MSG "vaultfs-audit-evolve"

/* Header offsets. */
#define H_FORMAT 8
#define H_KIND 12
#define H_VAULT_ID 16
#define H_SEGMENT 32
#define H_PREV_SEGMENT 40
#define H_FIRST_SEQ 48
#define H_CREATED 56
#define H_PREV_CHAIN 64
#define H_AUDITOR_PK 96
#define H_SEALED 128
#define H_MAC (H_SEALED + AUDITREC_SEALED_KEY_BYTES)		/* 208 */

/* Frame offsets. */
#define F_SEQ 4
#define F_CHAIN 12
#define F_NONCE AUDITREC_AD_BYTES				/* 44 */
#define F_CT AUDITREC_FRAME_HEAD_BYTES				/* 68 */

/* Plaintext offsets. */
#define P_EVENT 0
#define P_RESERVED 1
#define P_FLAGS 2
#define P_UID 4
#define P_GID 8
#define P_PID 12
#define P_RESULT 16
#define P_OPEN_FLAGS 20
#define P_TIME 24
#define P_BYTES_READ 32
#define P_BYTES_WRITTEN 40
#define P_DOC_ID 48
#define P_LENS 64
#define NSTR 5

#define ROUND_UP(n, m) (((n) + (m) - 1) / (m) * (m))

_Static_assert(H_MAC + AUDITREC_CHAIN_BYTES == AUDITREC_HEADER_BYTES,
	       "header layout");
_Static_assert(AUDITREC_SEALED_KEY_BYTES == 80, "sealed key size");
_Static_assert(F_CHAIN + AUDITREC_CHAIN_BYTES == AUDITREC_AD_BYTES, "AD");
_Static_assert(P_LENS + 2 * NSTR == AUDITREC_FIXED_BYTES, "plaintext layout");
_Static_assert(AUDITREC_PLAIN_MAX ==
	       ROUND_UP(AUDITREC_FIXED_BYTES + AUDIT_COMM_MAX + AUDIT_EXE_MAX +
			2 * AUDIT_PATH_MAX + AUDIT_DETAIL_MAX, AUDITREC_PAD),
	       "AUDITREC_PLAIN_MAX");
_Static_assert(AUDITREC_FRAME_MIN == AUDITREC_FRAME_OVERHEAD +
	       ROUND_UP(AUDITREC_FIXED_BYTES, AUDITREC_PAD), "frame min");
_Static_assert(AUDITREC_FRAME_MAX < UINT16_MAX, "frames are small");
_Static_assert(AUDITREC_KEY_BYTES == crypto_generichash_KEYBYTES,
	       "evolution key size");
_Static_assert(AUDITREC_SK_BYTES == 32 && AUDITREC_PK_BYTES == 32,
	       "X25519 key sizes");

/* ---- events and names ---- */

static const struct {
	enum audit_event ev;
	const char *name;
} events[] = {
	{ AUDIT_EV_MOUNT, "mount" },
	{ AUDIT_EV_UNMOUNT, "unmount" },
	{ AUDIT_EV_OPEN, "open" },
	{ AUDIT_EV_CLOSE, "close" },
	{ AUDIT_EV_CREATE, "create" },
	{ AUDIT_EV_UNLINK, "unlink" },
	{ AUDIT_EV_RENAME, "rename" },
	{ AUDIT_EV_MKDIR, "mkdir" },
	{ AUDIT_EV_RMDIR, "rmdir" },
	{ AUDIT_EV_TRUNCATE, "truncate" },
	{ AUDIT_EV_SETATTR, "setattr" },
	{ AUDIT_EV_INTEGRITY, "integrity" },
	{ AUDIT_EV_DENIED, "denied" },
	{ AUDIT_EV_SYMLINK, "symlink" },
	{ AUDIT_EV_LINK, "link" },
	{ AUDIT_EV_MKNOD, "mknod" },
	{ AUDIT_EV_INIT, "init" },
	{ AUDIT_EV_PASSWD, "passwd" },
	{ AUDIT_EV_ROTATE, "rotate" },
	{ AUDIT_EV_REWRAP, "rewrap" },
	{ AUDIT_EV_REENCRYPT, "reencrypt" },
	{ AUDIT_EV_FSCK, "fsck" },
	{ AUDIT_EV_SETTINGS, "settings" },
	{ AUDIT_EV_END, "end" },
};

const char *auditrec_event_name(enum audit_event ev)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].ev == ev)
			return events[i].name;
	return "unknown";
}

int auditrec_event_from_name(const char *name, enum audit_event *ev)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(events[i].name, name) == 0) {
			*ev = events[i].ev;
			return 0;
		}
	return -EINVAL;
}

void auditrec_segment_name(uint64_t n, char out[AUDITREC_SEGNAME_MAX])
{
	snprintf(out, AUDITREC_SEGNAME_MAX, "seg-%012" PRIu64 ".log", n);
}

int auditrec_segment_number(const char *name, uint64_t *n)
{
	const char *p = name + 4;
	uint64_t v = 0;
	size_t digits = 0;

	if (strncmp(name, "seg-", 4) != 0)
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
		digits++;
	}
	/* Exactly what auditrec_segment_name() writes, nothing else. */
	if (digits < 12 || (digits > 12 && name[4] == '0') ||
	    strcmp(p, ".log") != 0 || v == 0)
		return -EINVAL;
	*n = v;
	return 0;
}

/* ---- record plaintext ---- */

static size_t clip(const char *s, size_t max, bool *clipped)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strnlen(s, max + 1);
	if (len > max) {
		*clipped = true;
		len = max;
	}
	return len;
}

int auditrec_encode(const struct audit_record *r, uint8_t *out, size_t cap,
		    size_t *len)
{
	const char *str[NSTR] = { r->comm, r->exe, r->path, r->new_path,
				  r->detail };
	static const size_t max[NSTR] = { AUDIT_COMM_MAX, AUDIT_EXE_MAX,
					  AUDIT_PATH_MAX, AUDIT_PATH_MAX,
					  AUDIT_DETAIL_MAX };
	size_t slen[NSTR], total = AUDITREC_FIXED_BYTES, plen;
	bool clipped = false;
	uint32_t flags = r->flags;
	uint8_t *p;

	if ((unsigned)r->event == 0 || (unsigned)r->event > 255 ||
	    (flags & ~AUDIT_RF_MASK) != 0)
		return -EINVAL;
	for (int i = 0; i < NSTR; i++) {
		slen[i] = clip(str[i], max[i], &clipped);
		total += slen[i];
	}
	plen = ROUND_UP(total, AUDITREC_PAD);
	if (cap < plen)
		return -ENOBUFS;
	if (clipped)
		flags |= AUDIT_RF_CLIPPED;

	out[P_EVENT] = (uint8_t)r->event;
	out[P_RESERVED] = 0;
	le_put16(out + P_FLAGS, (uint16_t)flags);
	le_put32(out + P_UID, r->uid);
	le_put32(out + P_GID, r->gid);
	le_put32(out + P_PID, r->pid);
	le_put32(out + P_RESULT, (uint32_t)r->result);
	le_put32(out + P_OPEN_FLAGS, r->open_flags);
	le_put64(out + P_TIME, (uint64_t)r->time_us);
	le_put64(out + P_BYTES_READ, r->bytes_read);
	le_put64(out + P_BYTES_WRITTEN, r->bytes_written);
	memcpy(out + P_DOC_ID, r->doc_id, AUDITREC_DOC_ID_BYTES);
	p = out + AUDITREC_FIXED_BYTES;
	for (int i = 0; i < NSTR; i++) {
		le_put16(out + P_LENS + 2 * i, (uint16_t)slen[i]);
		if (slen[i] > 0)
			memcpy(p, str[i], slen[i]);
		p += slen[i];
	}
	memset(p, 0, plen - total);
	*len = plen;
	return 0;
}

int auditrec_decode(const uint8_t *in, size_t len, struct audit_record *r,
		    char *strbuf, size_t cap)
{
	static const size_t max[NSTR] = { AUDIT_COMM_MAX, AUDIT_EXE_MAX,
					  AUDIT_PATH_MAX, AUDIT_PATH_MAX,
					  AUDIT_DETAIL_MAX };
	const char *str[NSTR];
	size_t total = AUDITREC_FIXED_BYTES, used = 0;
	const uint8_t *p;
	uint16_t flags;

	memset(r, 0, sizeof(*r));
	if (len < AUDITREC_FIXED_BYTES || len > AUDITREC_PLAIN_MAX ||
	    len % AUDITREC_PAD != 0)
		return -EBADMSG;
	flags = le_get16(in + P_FLAGS);
	if (in[P_EVENT] == 0 || in[P_RESERVED] != 0 ||
	    (flags & ~AUDIT_RF_MASK) != 0)
		return -EBADMSG;
	for (int i = 0; i < NSTR; i++) {
		size_t l = le_get16(in + P_LENS + 2 * i);

		if (l > max[i])
			return -EBADMSG;
		total += l;
	}
	/* Canonical: exactly the padding the encoder writes, all zero. */
	if (ROUND_UP(total, AUDITREC_PAD) != len)
		return -EBADMSG;
	for (size_t i = total; i < len; i++)
		if (in[i] != 0)
			return -EBADMSG;

	p = in + AUDITREC_FIXED_BYTES;
	for (int i = 0; i < NSTR; i++) {
		size_t l = le_get16(in + P_LENS + 2 * i);

		str[i] = NULL;
		if (l == 0)
			continue;
		if (memchr(p, 0, l) != NULL || used + l + 1 > cap)
			return -EBADMSG;
		memcpy(strbuf + used, p, l);
		strbuf[used + l] = '\0';
		str[i] = strbuf + used;
		used += l + 1;
		p += l;
	}
	r->event = (enum audit_event)in[P_EVENT];
	r->flags = flags;
	r->uid = le_get32(in + P_UID);
	r->gid = le_get32(in + P_GID);
	r->pid = le_get32(in + P_PID);
	r->result = (int32_t)le_get32(in + P_RESULT);
	r->open_flags = le_get32(in + P_OPEN_FLAGS);
	r->time_us = (int64_t)le_get64(in + P_TIME);
	r->bytes_read = le_get64(in + P_BYTES_READ);
	r->bytes_written = le_get64(in + P_BYTES_WRITTEN);
	memcpy(r->doc_id, in + P_DOC_ID, AUDITREC_DOC_ID_BYTES);
	r->comm = str[0];
	r->exe = str[1];
	r->path = str[2];
	r->new_path = str[3];
	r->detail = str[4];
	return 0;
}

/* ---- frames ---- */

int auditrec_frame_peek(const uint8_t p[4], size_t *frame_len)
{
	uint32_t l = le_get32(p);

	if (l < AUDITREC_FRAME_MIN || l > AUDITREC_FRAME_MAX ||
	    (l - AUDITREC_FRAME_OVERHEAD) % AUDITREC_PAD != 0)
		return -EBADMSG;
	*frame_len = l;
	return 0;
}

int auditrec_frame_parse(const uint8_t *buf, size_t len,
			 struct auditrec_frame *f)
{
	size_t l;

	if (len < 4)
		return -EAGAIN;
	if (auditrec_frame_peek(buf, &l) < 0)
		return -EBADMSG;
	if (len < l)
		return -EAGAIN;
	if (le_get32(buf + l - 4) != l)
		return -EBADMSG;
	f->raw = buf;
	f->frame_len = l;
	f->seq = le_get64(buf + F_SEQ);
	f->prev_chain = buf + F_CHAIN;
	f->nonce = buf + F_NONCE;
	f->ct = buf + F_CT;
	f->ct_len = l - F_CT - 4;
	return 0;
}

int auditrec_frame_seal_nonce(const uint8_t k[AUDITREC_KEY_BYTES],
			      uint64_t seq,
			      const uint8_t prev_chain[AUDITREC_CHAIN_BYTES],
			      const struct audit_record *r,
			      const uint8_t nonce[SEAL_NONCE_BYTES],
			      uint8_t *out, size_t *frame_len,
			      uint8_t chain[AUDITREC_CHAIN_BYTES])
{
	uint8_t rk[SEAL_KEY_BYTES];
	size_t plen, l;
	int err;

	err = auditrec_encode(r, out + F_CT, AUDITREC_PLAIN_MAX, &plen);
	if (err < 0)
		return err;
	l = plen + AUDITREC_FRAME_OVERHEAD;
	le_put32(out, (uint32_t)l);
	le_put64(out + F_SEQ, seq);
	memcpy(out + F_CHAIN, prev_chain, AUDITREC_CHAIN_BYTES);
	memcpy(out + F_NONCE, nonce, SEAL_NONCE_BYTES);
	seal_derive(rk, KDF_ID_RECORD, KDF_CTX, k);
	/* In place: the plaintext is overwritten by its ciphertext. */
	seal_encrypt_nonce(rk, out, AUDITREC_AD_BYTES, out + F_CT, plen,
			   out + F_NONCE, out + F_CT);
	sodium_memzero(rk, sizeof(rk));
	le_put32(out + l - 4, (uint32_t)l);
	auditrec_chain(out, l, chain);
	*frame_len = l;
	return 0;
}

int auditrec_frame_seal(const uint8_t k[AUDITREC_KEY_BYTES], uint64_t seq,
			const uint8_t prev_chain[AUDITREC_CHAIN_BYTES],
			const struct audit_record *r, uint8_t *out,
			size_t *frame_len, uint8_t chain[AUDITREC_CHAIN_BYTES])
{
	uint8_t nonce[SEAL_NONCE_BYTES];

	seal_random(nonce, sizeof(nonce));
	return auditrec_frame_seal_nonce(k, seq, prev_chain, r, nonce, out,
					 frame_len, chain);
}

int auditrec_frame_open(const uint8_t k[AUDITREC_KEY_BYTES],
			const struct auditrec_frame *f, uint8_t *plain)
{
	uint8_t rk[SEAL_KEY_BYTES];
	int err;

	seal_derive(rk, KDF_ID_RECORD, KDF_CTX, k);
	err = seal_decrypt(rk, f->raw, AUDITREC_AD_BYTES, f->nonce, f->ct,
			   f->ct_len, plain);
	sodium_memzero(rk, sizeof(rk));
	return err;
}

void auditrec_evolve(uint8_t k[AUDITREC_KEY_BYTES])
{
	uint8_t next[AUDITREC_KEY_BYTES];

	seal_hash(next, sizeof(next), k, EVOLVE_MSG, sizeof(EVOLVE_MSG) - 1);
	memcpy(k, next, sizeof(next));
	sodium_memzero(next, sizeof(next));
}

void auditrec_chain(const uint8_t *bytes, size_t len,
		    uint8_t chain[AUDITREC_CHAIN_BYTES])
{
	seal_hash(chain, AUDITREC_CHAIN_BYTES, NULL, bytes, len);
}

/* ---- headers ---- */

static void header_mac(const uint8_t k0[AUDITREC_KEY_BYTES],
		       const uint8_t *raw, uint8_t mac[AUDITREC_CHAIN_BYTES])
{
	uint8_t hk[SEAL_KEY_BYTES];

	seal_derive(hk, KDF_ID_HEADER, KDF_CTX, k0);
	seal_hash(mac, AUDITREC_CHAIN_BYTES, hk, raw, H_MAC);
	sodium_memzero(hk, sizeof(hk));
}

static void header_put_clear(const struct auditrec_header *h, uint8_t *out)
{
	memcpy(out, MAGIC, MAGIC_BYTES);
	le_put32(out + H_FORMAT, h->format);
	le_put32(out + H_KIND, h->kind);
	memcpy(out + H_VAULT_ID, h->vault_id, AUDITREC_VAULT_ID_BYTES);
	le_put64(out + H_SEGMENT, h->segment);
	le_put64(out + H_PREV_SEGMENT, h->prev_segment);
	le_put64(out + H_FIRST_SEQ, h->first_seq);
	le_put64(out + H_CREATED, (uint64_t)h->created_us);
	memcpy(out + H_PREV_CHAIN, h->prev_chain, AUDITREC_CHAIN_BYTES);
	memcpy(out + H_AUDITOR_PK, h->auditor_pk, AUDITREC_PK_BYTES);
}

int auditrec_header_build(struct auditrec_header *h,
			  const uint8_t k0[AUDITREC_KEY_BYTES],
			  uint8_t out[AUDITREC_HEADER_BYTES])
{
	static const uint8_t zero[AUDITREC_PK_BYTES];

	if (h->segment == 0 || h->prev_segment >= h->segment ||
	    h->first_seq == 0 || (h->kind != AUDIT_SEG_MOUNT &&
				  h->kind != AUDIT_SEG_COMMAND))
		vault_misuse("auditrec_header_build: bad header fields");
	if (sodium_memcmp(h->auditor_pk, zero, sizeof(zero)) == 0)
		return -ENOKEY;
	/* Fails when the key has small order (no usable shared secret). */
	if (crypto_box_seal(h->sealed_key, k0, AUDITREC_KEY_BYTES,
			    h->auditor_pk) != 0)
		return -ENOKEY;
	h->format = AUDITREC_FORMAT;
	header_put_clear(h, out);
	memcpy(out + H_SEALED, h->sealed_key, AUDITREC_SEALED_KEY_BYTES);
	header_mac(k0, out, h->mac);
	memcpy(out + H_MAC, h->mac, AUDITREC_CHAIN_BYTES);
	return 0;
}

int auditrec_header_parse(const uint8_t *buf, size_t len,
			  struct auditrec_header *h)
{
	memset(h, 0, sizeof(*h));
	if (len < AUDITREC_HEADER_BYTES || memcmp(buf, MAGIC, MAGIC_BYTES) != 0)
		return -EBADMSG;
	h->format = le_get32(buf + H_FORMAT);
	if (h->format == 0)
		return -EBADMSG;
	if (h->format > AUDITREC_FORMAT)
		return -EPROTONOSUPPORT;
	h->kind = le_get32(buf + H_KIND);
	memcpy(h->vault_id, buf + H_VAULT_ID, AUDITREC_VAULT_ID_BYTES);
	h->segment = le_get64(buf + H_SEGMENT);
	h->prev_segment = le_get64(buf + H_PREV_SEGMENT);
	h->first_seq = le_get64(buf + H_FIRST_SEQ);
	h->created_us = (int64_t)le_get64(buf + H_CREATED);
	memcpy(h->prev_chain, buf + H_PREV_CHAIN, AUDITREC_CHAIN_BYTES);
	memcpy(h->auditor_pk, buf + H_AUDITOR_PK, AUDITREC_PK_BYTES);
	memcpy(h->sealed_key, buf + H_SEALED, AUDITREC_SEALED_KEY_BYTES);
	memcpy(h->mac, buf + H_MAC, AUDITREC_CHAIN_BYTES);
	if ((h->kind != AUDIT_SEG_MOUNT && h->kind != AUDIT_SEG_COMMAND) ||
	    h->segment == 0 || h->prev_segment >= h->segment ||
	    h->first_seq == 0)
		return -EBADMSG;
	return 0;
}

int auditrec_header_open(const struct auditrec_header *h,
			 const uint8_t raw[AUDITREC_HEADER_BYTES],
			 const uint8_t sk[AUDITREC_SK_BYTES],
			 const uint8_t pk[AUDITREC_PK_BYTES],
			 uint8_t k0[AUDITREC_KEY_BYTES])
{
	uint8_t mac[AUDITREC_CHAIN_BYTES];

	if (memcmp(h->auditor_pk, pk, AUDITREC_PK_BYTES) != 0)
		return -EKEYREJECTED;
	if (crypto_box_seal_open(k0, h->sealed_key, AUDITREC_SEALED_KEY_BYTES,
				 pk, sk) != 0) {
		sodium_memzero(k0, AUDITREC_KEY_BYTES);
		return -EBADMSG;
	}
	header_mac(k0, raw, mac);
	if (sodium_memcmp(mac, raw + H_MAC, sizeof(mac)) != 0) {
		sodium_memzero(k0, AUDITREC_KEY_BYTES);
		return -EBADMSG;
	}
	return 0;
}

/* ---- presentation ---- */

void auditrec_format_time(int64_t time_us, char out[32])
{
	int64_t secs = time_us / 1000000, us = time_us % 1000000;
	struct tm tm;
	time_t t;

	if (us < 0) {
		us += 1000000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1000) {
		snprintf(out, 32, "invalid");
		return;
	}
	/* Years 1000..9999: always 19 characters. */
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + 19, 32 - 19, ".%06dZ", (int)us);
}

size_t auditrec_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;	/* overlong, beyond U+10FFFF */
		return 4;
	}
	return 0;
}

void auditrec_print_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	/* The string is NUL-terminated, so auditrec_utf8_len never reads past it. */
	while (*p != 0) {
		size_t n = auditrec_utf8_len(p);

		if (n == 0) {
			fprintf(f, "\\\\x%02x", *p);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

static void json_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	auditrec_print_json_string(f, s);
}

int auditrec_print_json(FILE *f, const struct audit_record *r)
{
	static const uint8_t zero[AUDITREC_DOC_ID_BYTES];
	char t[32];

	auditrec_format_time(r->time_us, t);
	fprintf(f, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"event\":\"%s\"",
		r->seq, t, auditrec_event_name(r->event));
	if (strcmp(auditrec_event_name(r->event), "unknown") == 0)
		fprintf(f, ",\"event_code\":%u", (unsigned)r->event);
	json_str(f, "path", r->path);
	if (r->new_path != NULL)
		json_str(f, "new_path", r->new_path);
	fprintf(f, ",\"uid\":%" PRIu32 ",\"gid\":%" PRIu32 ",\"pid\":%" PRIu32,
		r->uid, r->gid, r->pid);
	json_str(f, "comm", r->comm);
	json_str(f, "exe", r->exe);
	fprintf(f, ",\"result\":%" PRId32, r->result);
	if (r->event == AUDIT_EV_OPEN || r->event == AUDIT_EV_CREATE ||
	    r->open_flags != 0)
		fprintf(f, ",\"open_flags\":%" PRIu32, r->open_flags);
	if (r->event == AUDIT_EV_CLOSE || r->bytes_read != 0 ||
	    r->bytes_written != 0)
		fprintf(f, ",\"bytes_read\":%" PRIu64 ",\"bytes_written\":%"
			PRIu64, r->bytes_read, r->bytes_written);
	if (memcmp(r->doc_id, zero, sizeof(zero)) != 0) {
		fputs(",\"doc\":\"", f);
		for (size_t i = 0; i < AUDITREC_DOC_ID_BYTES; i++)
			fprintf(f, "%02x", r->doc_id[i]);
		fputc('"', f);
	}
	if (r->detail != NULL)
		json_str(f, "detail", r->detail);
	if (r->flags & AUDIT_RF_CLIPPED)
		fputs(",\"clipped\":true", f);
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
