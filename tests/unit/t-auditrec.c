/* t-auditrec.c - access-log record format and crypto (vaultfs/auditrec.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/seal.h"

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int rec_eq(const struct audit_record *a, const struct audit_record *b)
{
	return a->time_us == b->time_us && a->event == b->event &&
	       a->flags == b->flags && a->uid == b->uid && a->gid == b->gid &&
	       a->pid == b->pid && a->result == b->result &&
	       a->open_flags == b->open_flags &&
	       a->bytes_read == b->bytes_read &&
	       a->bytes_written == b->bytes_written &&
	       memcmp(a->doc_id, b->doc_id, sizeof(a->doc_id)) == 0 &&
	       str_eq(a->comm, b->comm) && str_eq(a->exe, b->exe) &&
	       str_eq(a->path, b->path) && str_eq(a->new_path, b->new_path) &&
	       str_eq(a->detail, b->detail);
}

static void sample(struct audit_record *r)
{
	memset(r, 0, sizeof(*r));
	r->time_us = 1795000000123456LL;
	r->event = AUDIT_EV_RENAME;
	r->uid = 1000;
	r->gid = 100;
	r->pid = 4242;
	r->result = -EACCES;
	r->open_flags = 0x8241;
	r->bytes_read = 1ull << 40;
	r->bytes_written = 12345;
	for (int i = 0; i < AUDITREC_DOC_ID_BYTES; i++)
		r->doc_id[i] = (uint8_t)(i * 17 + 1);
	r->comm = "soffice.bin";
	r->exe = "/usr/lib/libreoffice/program/soffice.bin";
	r->path = "/satellites/propulsion/test \"report\".odt";
	r->new_path = "/satellites/propulsion/\xc3\xa9t\xc3\xa9.odt";
	r->detail = "host=lab1";
}

static void test_names(void)
{
	char name[AUDITREC_SEGNAME_MAX];
	enum audit_event ev;
	uint64_t n = 0;
	int bad = 0;

	auditrec_segment_name(42, name);
	is_int(strcmp(name, "seg-000000000042.log"), 0, "segment name");
	ok(auditrec_segment_number(name, &n) == 0 && n == 42,
	   "segment number parsed");
	auditrec_segment_name(1234567890123ull, name);
	ok(auditrec_segment_number(name, &n) == 0 && n == 1234567890123ull,
	   "13-digit segment number round trip");
	static const char *bad_names[] = {
		"seg-42.log", "seg-000000000042.log.tmp", "seg-000000000000.log",
		"seg-0000000000042.log", "xseg-000000000042.log",
		"seg-00000000004x.log", "seg-000000000042.lo", "seg-.log",
		"seg-99999999999999999999999.log", "",
	};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		if (auditrec_segment_number(bad_names[i], &n) != -EINVAL) {
			bad++;
			diag("accepted %s", bad_names[i]);
		}
	is_int(bad, 0, "non-segment names refused");

	bad = 0;
	for (int e = 1; e < 64; e++) {
		const char *s = auditrec_event_name((enum audit_event)e);

		if (strcmp(s, "unknown") == 0)
			continue;
		if (auditrec_event_from_name(s, &ev) != 0 || (int)ev != e)
			bad++;
	}
	is_int(bad, 0, "every event name maps back to its code");
	ok(auditrec_event_from_name("read", &ev) == -EINVAL, "unknown name");
	is_int(strcmp(auditrec_event_name(AUDIT_EV_OPEN), "open"), 0, "open");
	is_int(strcmp(auditrec_event_name((enum audit_event)200), "unknown"),
	       0, "unknown code");
}

static void test_encode(void)
{
	static uint8_t buf[AUDITREC_PLAIN_MAX], buf2[AUDITREC_PLAIN_MAX];
	static char sb[AUDITREC_STRBUF_BYTES];
	static char big[8192];
	struct audit_record r, d;
	size_t len, len2;
	int bad = 0;

	sample(&r);
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == 0, "encode");
	is_int(len % AUDITREC_PAD, 0, "padded to %d", AUDITREC_PAD);
	ok(auditrec_decode(buf, len, &d, sb, sizeof(sb)) == 0 && rec_eq(&r, &d),
	   "decode equals input");

	/* Empty strings and NULL both come back as NULL. */
	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_MOUNT;
	r.path = "";
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == 0 &&
	   len == AUDITREC_PAD * 2, "minimal record is %d bytes",
	   AUDITREC_PAD * 2);
	ok(auditrec_decode(buf, len, &d, sb, sizeof(sb)) == 0 &&
	   d.path == NULL && d.comm == NULL && d.event == AUDIT_EV_MOUNT,
	   "empty strings decode as NULL");

	/* Maximal record, and clipping beyond. */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sample(&r);
	r.comm = big + sizeof(big) - 1 - AUDIT_COMM_MAX;
	r.exe = big + sizeof(big) - 1 - AUDIT_EXE_MAX;
	r.path = big + sizeof(big) - 1 - AUDIT_PATH_MAX;
	r.new_path = r.path;
	r.detail = big + sizeof(big) - 1 - AUDIT_DETAIL_MAX;
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == 0 &&
	   len == AUDITREC_PLAIN_MAX, "largest record fills AUDITREC_PLAIN_MAX");
	ok(auditrec_decode(buf, len, &d, sb, sizeof(sb)) == 0 &&
	   rec_eq(&r, &d) && !(d.flags & AUDIT_RF_CLIPPED),
	   "largest record round trip, not clipped");
	ok(auditrec_encode(&r, buf, len - 1, &len2) == -ENOBUFS, "ENOBUFS");
	r.path = big;
	r.detail = big;
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == 0 &&
	   len == AUDITREC_PLAIN_MAX, "over-long strings clipped");
	ok(auditrec_decode(buf, len, &d, sb, sizeof(sb)) == 0 &&
	   (d.flags & AUDIT_RF_CLIPPED) && strlen(d.path) == AUDIT_PATH_MAX &&
	   strlen(d.detail) == AUDIT_DETAIL_MAX, "clipped flag and lengths");

	sample(&r);
	r.event = (enum audit_event)0;
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == -EINVAL, "event 0");
	r.event = (enum audit_event)256;
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == -EINVAL, "event 256");
	r.event = AUDIT_EV_OPEN;
	r.flags = 0x100;
	ok(auditrec_encode(&r, buf, sizeof(buf), &len) == -EINVAL,
	   "unknown flags");

	/* Every malformation of the plaintext is refused. */
	sample(&r);
	r.detail = NULL;
	if (auditrec_encode(&r, buf, sizeof(buf), &len) != 0)
		bad++;
	ok(auditrec_decode(buf, len - AUDITREC_PAD, &d, sb, sizeof(sb)) ==
	   -EBADMSG, "shortened");
	ok(auditrec_decode(buf, len + AUDITREC_PAD, &d, sb, sizeof(sb)) ==
	   -EBADMSG, "extra padding block");
	ok(auditrec_decode(buf, len - 1, &d, sb, sizeof(sb)) == -EBADMSG,
	   "not a multiple of the pad");
	ok(auditrec_decode(buf, 0, &d, sb, sizeof(sb)) == -EBADMSG, "empty");
#define MUTATE(off, val, what) do {					\
		memcpy(buf2, buf, len);					\
		buf2[off] = (uint8_t)(val);				\
		ok(auditrec_decode(buf2, len, &d, sb, sizeof(sb)) ==	\
		   -EBADMSG, what);					\
	} while (0)
	MUTATE(0, 0, "event 0 refused");
	MUTATE(1, 1, "reserved byte refused");
	MUTATE(3, 0x80, "unknown flag refused");
	MUTATE(64, 0xff, "comm longer than its maximum refused");
	MUTATE(69, 0x7f, "path length beyond the record refused");
	MUTATE(74, 0, "NUL inside a string refused");
	MUTATE(len - 1, 1, "non-zero padding refused");
	ok(auditrec_decode(buf, len, &d, sb, 10) == -EBADMSG,
	   "small string buffer refused");
	is_int(bad, 0, "setup");
}

static void test_frames(void)
{
	static uint8_t fr[AUDITREC_FRAME_MAX], fr2[AUDITREC_FRAME_MAX];
	static uint8_t plain[AUDITREC_PLAIN_MAX];
	static char sb[AUDITREC_STRBUF_BYTES];
	uint8_t k[AUDITREC_KEY_BYTES], k1[AUDITREC_KEY_BYTES];
	uint8_t other[AUDITREC_KEY_BYTES];
	uint8_t prev[AUDITREC_CHAIN_BYTES], chain[AUDITREC_CHAIN_BYTES];
	uint8_t c2[AUDITREC_CHAIN_BYTES];
	struct auditrec_frame f;
	struct audit_record r, d;
	size_t len, fl = 0;
	int bad_open = 0, bad_chain = 0;

	seal_random(k, sizeof(k));
	seal_random(other, sizeof(other));
	seal_random(prev, sizeof(prev));
	sample(&r);
	ok(auditrec_frame_seal(k, 77, prev, &r, fr, &len, chain) == 0,
	   "seal a frame");
	ok(auditrec_frame_peek(fr, &fl) == 0 && fl == len, "peek length");
	ok(auditrec_frame_parse(fr, len, &f) == 0 && f.seq == 77 &&
	   memcmp(f.prev_chain, prev, sizeof(prev)) == 0 &&
	   f.frame_len == len, "parse clear fields");
	auditrec_chain(fr, len, c2);
	is_mem(chain, c2, sizeof(chain), "chain value is the frame hash");
	ok(auditrec_frame_open(k, &f, plain) == 0, "open with K_i");
	ok(auditrec_decode(plain, f.ct_len - SEAL_TAG_BYTES, &d, sb,
			   sizeof(sb)) == 0 && rec_eq(&r, &d), "round trip");
	ok(auditrec_frame_open(other, &f, plain) == -EBADMSG,
	   "another key fails");

	/* The plaintext never appears in the frame. */
	ok(memmem(fr, len, "satellites", 10) == NULL &&
	   memmem(fr, len, "soffice", 7) == NULL, "no plaintext in the frame");

	/* Every byte matters: open fails or the parse does. */
	for (size_t i = 0; i < len; i++) {
		memcpy(fr2, fr, len);
		fr2[i] ^= 0x01;
		auditrec_chain(fr2, len, c2);
		if (memcmp(c2, chain, sizeof(c2)) == 0)
			bad_chain++;
		if (auditrec_frame_parse(fr2, len, &f) != 0)
			continue;
		if (auditrec_frame_open(k, &f, plain) == 0)
			bad_open++;
	}
	is_int(bad_open, 0, "no flipped byte of %zu opens", len);
	is_int(bad_chain, 0, "every flipped byte changes the chain value");

	ok(auditrec_frame_parse(fr, len - 1, &f) == -EAGAIN, "short: EAGAIN");
	ok(auditrec_frame_parse(fr, 3, &f) == -EAGAIN, "3 bytes: EAGAIN");
	memcpy(fr2, fr, len);
	fr2[len - 1] ^= 1;
	ok(auditrec_frame_parse(fr2, len, &f) == -EBADMSG, "suffix differs");
	memset(fr2, 0, 4);
	ok(auditrec_frame_parse(fr2, len, &f) == -EBADMSG, "length 0");
	fr2[0] = (uint8_t)(AUDITREC_FRAME_MIN + 1);
	ok(auditrec_frame_peek(fr2, &fl) == -EBADMSG, "unpadded length");

	/* Key evolution: deterministic, one way, old key useless. */
	memcpy(k1, k, sizeof(k));
	auditrec_evolve(k1);
	ok(memcmp(k, k1, sizeof(k)) != 0, "evolve changes the key");
	memcpy(other, k, sizeof(k));
	auditrec_evolve(other);
	is_mem(other, k1, sizeof(k1), "evolve is deterministic");
	ok(auditrec_frame_parse(fr, len, &f) == 0 &&
	   auditrec_frame_open(k1, &f, plain) == -EBADMSG,
	   "K_i+1 cannot open record i");
}

/* auditrec_frame_seal_nonce(): the caller's nonce, nothing else changes. */
static void test_frame_nonce(void)
{
	static uint8_t fr[AUDITREC_FRAME_MAX], fr2[AUDITREC_FRAME_MAX];
	static uint8_t fr3[AUDITREC_FRAME_MAX];
	static uint8_t plain[AUDITREC_PLAIN_MAX];
	static char sb[AUDITREC_STRBUF_BYTES];
	uint8_t k[AUDITREC_KEY_BYTES], prev[AUDITREC_CHAIN_BYTES];
	uint8_t n1[SEAL_NONCE_BYTES], n2[SEAL_NONCE_BYTES];
	uint8_t chain[AUDITREC_CHAIN_BYTES], chain2[AUDITREC_CHAIN_BYTES];
	struct auditrec_frame f;
	struct audit_record r, d;
	size_t len, len2, len3;

	seal_random(k, sizeof(k));
	seal_random(prev, sizeof(prev));
	seal_random(n1, sizeof(n1));
	memcpy(n2, n1, sizeof(n2));
	n2[SEAL_NONCE_BYTES - 1] ^= 0x80;
	sample(&r);
	ok(auditrec_frame_seal_nonce(k, 9, prev, &r, n1, fr, &len, chain) == 0,
	   "seal with a given nonce");
	ok(auditrec_frame_parse(fr, len, &f) == 0 &&
	   memcmp(f.nonce, n1, sizeof(n1)) == 0, "the frame carries that nonce");
	ok(auditrec_frame_open(k, &f, plain) == 0 &&
	   auditrec_decode(plain, f.ct_len - SEAL_TAG_BYTES, &d, sb,
			   sizeof(sb)) == 0 && rec_eq(&r, &d),
	   "opens and decodes like any frame");
	ok(auditrec_frame_seal_nonce(k, 9, prev, &r, n1, fr2, &len2,
				     chain2) == 0 && len2 == len &&
	   memcmp(fr, fr2, len) == 0 && memcmp(chain, chain2, 32) == 0,
	   "same inputs, same nonce: the same frame");
	ok(auditrec_frame_seal_nonce(k, 9, prev, &r, n2, fr3, &len3,
				     chain2) == 0 && len3 == len &&
	   memcmp(fr + AUDITREC_FRAME_HEAD_BYTES, fr3 + AUDITREC_FRAME_HEAD_BYTES,
		  len - AUDITREC_FRAME_HEAD_BYTES - 4) != 0,
	   "another nonce: another ciphertext");
	/* The nonce is authenticated through the AEAD. */
	memcpy(fr2, fr, len);
	fr2[AUDITREC_AD_BYTES] ^= 1;
	ok(auditrec_frame_parse(fr2, len, &f) == 0 &&
	   auditrec_frame_open(k, &f, plain) == -EBADMSG,
	   "a changed nonce does not open");
	ok(auditrec_frame_seal(k, 9, prev, &r, fr2, &len2, chain2) == 0 &&
	   auditrec_frame_parse(fr2, len2, &f) == 0 &&
	   memcmp(f.nonce, n1, sizeof(n1)) != 0 &&
	   auditrec_frame_open(k, &f, plain) == 0,
	   "auditrec_frame_seal() draws its own");
}

static void test_header(void)
{
	uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
	uint8_t pk2[AUDITREC_PK_BYTES], sk2[AUDITREC_SK_BYTES];
	uint8_t k0[AUDITREC_KEY_BYTES], k[AUDITREC_KEY_BYTES];
	uint8_t raw[AUDITREC_HEADER_BYTES], raw2[AUDITREC_HEADER_BYTES];
	struct auditrec_header h, p;
	int undetected = 0;

	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	seal_random(k0, sizeof(k0));
	memset(&h, 0, sizeof(h));
	h.kind = AUDIT_SEG_MOUNT;
	seal_random(h.vault_id, sizeof(h.vault_id));
	h.segment = 9;
	h.prev_segment = 8;
	h.first_seq = 1000;
	h.created_us = 1795000000000000LL;
	seal_random(h.prev_chain, sizeof(h.prev_chain));
	memcpy(h.auditor_pk, pk, sizeof(pk));
	ok(auditrec_header_build(&h, k0, raw) == 0, "build header");
	ok(auditrec_header_parse(raw, sizeof(raw), &p) == 0 &&
	   p.segment == 9 && p.prev_segment == 8 && p.first_seq == 1000 &&
	   p.created_us == h.created_us && p.kind == AUDIT_SEG_MOUNT &&
	   memcmp(p.vault_id, h.vault_id, 16) == 0 &&
	   memcmp(p.prev_chain, h.prev_chain, 32) == 0, "parse clear fields");
	ok(auditrec_header_open(&p, raw, sk, pk, k) == 0 &&
	   memcmp(k, k0, sizeof(k)) == 0, "auditor recovers K0");
	ok(memmem(raw, sizeof(raw), k0, sizeof(k0)) == NULL, "K0 not in clear");
	is_int(auditrec_header_open(&p, raw, sk2, pk2, k), -EKEYREJECTED,
	       "other auditor key: EKEYREJECTED");
	is_int(auditrec_header_open(&p, raw, sk2, pk, k), -EBADMSG,
	       "wrong secret key for the right public key: EBADMSG");

	for (size_t i = 0; i < sizeof(raw); i++) {
		int r;

		memcpy(raw2, raw, sizeof(raw));
		raw2[i] ^= 0x20;
		r = auditrec_header_parse(raw2, sizeof(raw2), &p);
		if (r == 0)
			r = auditrec_header_open(&p, raw2, sk, pk, k);
		if (r == 0) {
			undetected++;
			diag("header byte %zu flip undetected", i);
		}
	}
	is_int(undetected, 0, "every header byte is checked");

	memcpy(raw2, raw, sizeof(raw));
	raw2[8] = 2;
	is_int(auditrec_header_parse(raw2, sizeof(raw2), &p), -EPROTONOSUPPORT,
	       "newer format");
	is_int(auditrec_header_parse(raw, sizeof(raw) - 1, &p), -EBADMSG,
	       "short header");
	memset(h.auditor_pk, 0, sizeof(h.auditor_pk));
	is_int(auditrec_header_build(&h, k0, raw2), -ENOKEY, "zero public key");
}

static void test_json(void)
{
	struct audit_record r;
	char *out = NULL, t[32];
	size_t outlen = 0;
	FILE *f;

	auditrec_format_time(1795000000123456LL, t);
	is_int(strcmp(t, "2026-11-18T11:06:40.123456Z"), 0, "RFC 3339 time: %s",
	       t);
	auditrec_format_time(-1, t);
	is_int(strcmp(t, "1969-12-31T23:59:59.999999Z"), 0, "negative time");

	sample(&r);
	r.seq = 5;
	r.event = AUDIT_EV_CLOSE;
	r.path = "/a\"b\\c\n\x01\xff\xc3\xa9";
	f = open_memstream(&out, &outlen);
	ok(f != NULL && auditrec_print_json(f, &r) == 0, "print json");
	fclose(f);
	ok(out != NULL && strstr(out, "\"path\":\"/a\\\"b\\\\c\\u000a\\u0001"
				 "\\\\xff\xc3\xa9\"") != NULL,
	   "escaping: quotes, backslash, controls, invalid UTF-8");
	ok(out != NULL && strstr(out, "{\"seq\":5,\"time\":\"2026-11-18T11:06:"
				 "40.123456Z\",\"event\":\"close\"") != NULL,
	   "seq, time and event first");
	ok(out != NULL && strstr(out, "\"bytes_read\":1099511627776,"
				 "\"bytes_written\":12345") != NULL,
	   "byte counts on close");
	ok(out != NULL && strstr(out, "\"result\":-13") != NULL, "result");
	ok(out != NULL && strstr(out, "\"doc\":\"01122334") != NULL, "doc id");
	ok(out != NULL && out[outlen - 1] == '\n' &&
	   memchr(out, '\n', outlen - 1) == NULL, "one line");
	free(out);

	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_MOUNT;
	out = NULL;
	f = open_memstream(&out, &outlen);
	ok(f != NULL && auditrec_print_json(f, &r) == 0, "print minimal");
	fclose(f);
	ok(out != NULL && strstr(out, "\"path\":null") != NULL &&
	   strstr(out, "bytes_read") == NULL, "absent fields");
	free(out);
}

int main(void)
{
	if (seal_init() < 0)
		return 1;
	test_names();
	test_encode();
	test_frames();
	test_frame_nonce();
	test_header();
	test_json();
	return done_testing();
}
