/* t-container.c - container.h: header and frame encode/decode, holes. */
#include "../../vaultfs/container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/compress.h"
#include "../tap.h"
#include "../../vaultfs/le.h"

static uint8_t dek[SEAL_KEY_BYTES], dek2[SEAL_KEY_BYTES];
static uint8_t doc_id[CONTAINER_DOC_ID_BYTES], doc_id2[CONTAINER_DOC_ID_BYTES];

static bool hdr_equal(const struct container_header *a,
		      const struct container_header *b, bool body)
{
	if (a->gen != b->gen || a->chunk_size != b->chunk_size ||
	    a->kek_version != b->kek_version ||
	    memcmp(a->doc_id, b->doc_id, sizeof(a->doc_id)) != 0 ||
	    memcmp(a->wrapped_dek, b->wrapped_dek, sizeof(a->wrapped_dek)) != 0)
		return false;
	if (!body)
		return true;
	if (a->size != b->size || a->nholes != b->nholes)
		return false;
	for (uint32_t i = 0; i < a->nholes; i++)
		if (a->holes[i].first != b->holes[i].first ||
		    a->holes[i].count != b->holes[i].count)
			return false;
	return true;
}

static void sample_header(struct container_header *h)
{
	memset(h, 0, sizeof(*h));
	h->gen = 0x0102030405060708ULL;
	memcpy(h->doc_id, doc_id, sizeof(doc_id));
	h->chunk_size = 65536;
	h->kek_version = 7;
	seal_random(h->wrapped_dek, sizeof(h->wrapped_dek));
	h->size = 100 * 65536ULL + 5;
	h->nholes = 2;
	h->holes[0].first = 3;
	h->holes[0].count = 4;
	h->holes[1].first = 20;
	h->holes[1].count = 81;	/* up to the last chunk (index 100) */
}

/*
 * Build a header slot by hand from h's clear fields and an arbitrary body
 * plaintext, sealed the way container.h specifies (independent of
 * container_header_seal, so it also checks the layout).
 */
static void craft_header(const struct container_header *h,
			 const uint8_t body[CONTAINER_BODY_BYTES],
			 uint8_t out[CONTAINER_HDR_SLOT_BYTES])
{
	memset(out, 0, CONTAINER_HDR_SLOT_BYTES);
	memcpy(out, "VLTD", 4);
	out[4] = 1;
	le_put64(out + 8, h->gen);
	memcpy(out + 16, h->doc_id, 16);
	le_put32(out + 32, h->chunk_size);
	le_put32(out + 36, h->kek_version);
	memcpy(out + 40, h->wrapped_dek, CONTAINER_WRAPPED_DEK_BYTES);
	randombytes_buf(out + 112, 24);
	le_put32(out + 136, CONTAINER_BODY_BYTES + 16);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 140, NULL, body,
						   CONTAINER_BODY_BYTES, out,
						   140, NULL, out + 112, dek);
}

static void body_of(const struct container_header *h,
		    uint8_t body[CONTAINER_BODY_BYTES])
{
	memset(body, 0, CONTAINER_BODY_BYTES);
	le_put64(body, h->size);
	le_put32(body + 8, h->nholes);
	for (uint32_t i = 0; i < h->nholes; i++) {
		le_put64(body + 16 + 16 * i, h->holes[i].first);
		le_put64(body + 24 + 16 * i, h->holes[i].count);
	}
}

static void test_sizes(void)
{
	ok(container_chunk_size_valid(4096), "4096 valid");
	ok(container_chunk_size_valid(65536), "65536 valid");
	ok(container_chunk_size_valid(1u << 20), "1 MiB valid");
	ok(!container_chunk_size_valid(0), "0 invalid");
	ok(!container_chunk_size_valid(2048), "2048 invalid");
	ok(!container_chunk_size_valid(4097), "4097 invalid");
	ok(!container_chunk_size_valid(12288), "12288 (not a power of 2) invalid");
	ok(!container_chunk_size_valid(1u << 21), "2 MiB invalid");
	is_int(container_slot_bytes(4096), 8192, "slot bytes 4 KiB chunk");
	is_int(container_slot_bytes(65536), 65536 + 4096, "slot bytes 64 KiB");
	is_int(container_slot_offset(4096, 0, 0), 4096, "chunk 0 slot 0");
	is_int(container_slot_offset(4096, 0, 1), 4096 + 8192, "chunk 0 slot 1");
	is_int(container_slot_offset(4096, 3, 1), 4096 + 7 * 8192,
	       "chunk 3 slot 1");
}

static void test_header_roundtrip(void)
{
	struct container_header h, p, o;
	uint8_t slot[CONTAINER_HDR_SLOT_BYTES], slot2[CONTAINER_HDR_SLOT_BYTES];
	uint8_t body[CONTAINER_BODY_BYTES];

	sample_header(&h);
	is_int(container_header_seal(&h, dek, slot), 0, "header seal");
	ok(memcmp(slot, "VLTD", 4) == 0, "header magic");
	is_int(slot[4] | slot[5] << 8, 1, "header version 1");
	ok(le_get64(slot + 8) == h.gen, "generation at 8");
	ok(memcmp(slot + 16, doc_id, 16) == 0, "doc id at 16");
	is_int(le_get32(slot + 32), 65536, "chunk size at 32");
	is_int(le_get32(slot + 36), 7, "KEK version at 36");
	ok(memcmp(slot + 40, h.wrapped_dek, 72) == 0, "wrapped DEK at 40");
	is_int(le_get32(slot + 136), CONTAINER_BODY_BYTES + 16, "body length");
	{
		uint8_t zero[CONTAINER_HDR_SLOT_BYTES - 140 - 544] = { 0 };

		ok(memcmp(slot + 684, zero, sizeof(zero)) == 0,
		   "rest of slot zero");
	}
	is_int(crypto_aead_xchacha20poly1305_ietf_decrypt(
		       body, NULL, NULL, slot + 140, CONTAINER_BODY_BYTES + 16,
		       slot, 140, slot + 112, dek), 0,
	       "body opens independently with AD = bytes 0..139");
	ok(le_get64(body) == h.size && le_get32(body + 8) == 2 &&
	   le_get64(body + 16) == 3 && le_get64(body + 24) == 4 &&
	   le_get64(body + 32) == 20 && le_get64(body + 40) == 81,
	   "body plaintext layout");

	is_int(container_header_parse(slot, &p), 0, "header parse");
	ok(hdr_equal(&p, &h, false), "parsed clear fields match");
	ok(p.size == 0 && p.nholes == 0, "parse leaves body fields empty");
	o = p;
	is_int(container_header_open(slot, dek, &o), 0, "header open");
	ok(hdr_equal(&o, &h, true), "opened header matches");

	is_int(container_header_seal(&h, dek, slot2), 0, "seal again");
	ok(memcmp(slot, slot2, sizeof(slot)) != 0, "fresh nonce each seal");

	p = h;
	is_int(container_header_open(slot, dek2, &p), -EBADMSG,
	       "header open with wrong DEK");

	/* no holes, size 0 */
	memset(&h.holes, 0, sizeof(h.holes));
	h.nholes = 0;
	h.size = 0;
	is_int(container_header_seal(&h, dek, slot), 0, "seal empty doc");
	is_int(container_header_parse(slot, &p), 0, "parse empty doc");
	is_int(container_header_open(slot, dek, &p), 0, "open empty doc");
	ok(hdr_equal(&p, &h, true), "empty doc round trip");

	memset(slot, 0, sizeof(slot));
	is_int(container_header_parse(slot, &p), -ENOENT, "zero slot: ENOENT");
	is_int(container_header_open(slot, dek, &p), -EBADMSG,
	       "zero slot does not open");
}

static void test_header_tamper(void)
{
	struct container_header h, p;
	uint8_t slot[CONTAINER_HDR_SLOT_BYTES], t[CONTAINER_HDR_SLOT_BYTES];
	int bad = 0, ver = 0;

	sample_header(&h);
	if (container_header_seal(&h, dek, slot) != 0)
		abort();
	for (size_t i = 0; i < sizeof(slot); i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			int r;

			memcpy(t, slot, sizeof(t));
			t[i] ^= (uint8_t)(1u << bit);
			r = container_header_parse(t, &p);
			if (r == 0)
				r = container_header_open(t, dek, &p);
			if (r == -EPROTONOSUPPORT)
				ver++;
			if (r == 0)
				bad++;
		}
	}
	is_int(bad, 0, "every single-bit flip of a header slot is rejected");
	is_int(ver, 4, "flips of the version field give EPROTONOSUPPORT");

	memcpy(t, slot, sizeof(t));
	t[4] = 2;
	is_int(container_header_parse(t, &p), -EPROTONOSUPPORT,
	       "unknown version 2");
	t[4] = 0;
	is_int(container_header_parse(t, &p), -EPROTONOSUPPORT,
	       "unknown version 0");
	memcpy(t, slot, sizeof(t));
	t[0] = 'X';
	is_int(container_header_parse(t, &p), -EBADMSG, "bad magic");
	memcpy(t, slot, sizeof(t));
	t[2047] = 1;
	is_int(container_header_parse(t, &p), -EBADMSG, "nonzero tail");
	memcpy(t, slot, sizeof(t));
	le_put32(t + 32, 4097);
	is_int(container_header_parse(t, &p), -EBADMSG, "bad chunk size");
	memcpy(t, slot, sizeof(t));
	le_put32(t + 136, 100);
	is_int(container_header_parse(t, &p), -EBADMSG, "bad body length");
	memcpy(t, slot, sizeof(t));
	t[6] = 1;
	is_int(container_header_parse(t, &p), -EBADMSG, "nonzero flags");

	/* A header from another document (or its other slot) is its own. */
	memcpy(h.doc_id, doc_id2, 16);
	if (container_header_seal(&h, dek, t) != 0)
		abort();
	memcpy(t + 16, doc_id, 16);
	is_int(container_header_parse(t, &p), 0, "doc id swapped: parses");
	is_int(container_header_open(t, dek, &p), -EBADMSG,
	       "doc id swapped: does not open");
}

/* Bodies that authenticate but are inconsistent. */
static void test_header_body(void)
{
	struct container_header h, p;
	uint8_t slot[CONTAINER_HDR_SLOT_BYTES];
	uint8_t body[CONTAINER_BODY_BYTES];

	sample_header(&h);
	body_of(&h, body);
	craft_header(&h, body, slot);
	is_int(container_header_parse(slot, &p), 0, "crafted parses");
	is_int(container_header_open(slot, dek, &p), 0,
	       "crafted header (independent encoder) opens");
	ok(hdr_equal(&p, &h, true), "crafted header decodes");

#define BAD_BODY(what, mutate) do {					\
		sample_header(&h);					\
		mutate;							\
		body_of(&h, body);					\
		craft_header(&h, body, slot);				\
		is_int(container_header_open(slot, dek, &p), -EBADMSG,	\
		       "body: %s", what);				\
	} while (0)

	BAD_BODY("holes unsorted", {
		h.holes[0].first = 30; h.holes[1].first = 3;
		h.holes[1].count = 4; h.holes[0].count = 2; });
	BAD_BODY("holes overlapping", { h.holes[1].first = 5; });
	BAD_BODY("hole count 0", { h.holes[0].count = 0; });
	BAD_BODY("hole past the size", { h.holes[1].count = 82; });
	BAD_BODY("hole count overflow", {
		h.holes[1].first = 1ULL << 63;
		h.holes[1].count = 1ULL << 63; });
	BAD_BODY("size 0 with holes", { h.size = 0; });

	sample_header(&h);
	body_of(&h, body);
	le_put32(body + 12, 1);
	craft_header(&h, body, slot);
	is_int(container_header_open(slot, dek, &p), -EBADMSG,
	       "body: reserved nonzero");
	body_of(&h, body);
	le_put64(body + 16 + 16 * 5, 1);
	craft_header(&h, body, slot);
	is_int(container_header_open(slot, dek, &p), -EBADMSG,
	       "body: unused hole entry nonzero");
	body_of(&h, body);
	le_put32(body + 8, CONTAINER_MAX_HOLES + 1);
	craft_header(&h, body, slot);
	is_int(container_header_open(slot, dek, &p), -EBADMSG,
	       "body: nholes > max");

	/* seal refuses inconsistent input */
	sample_header(&h);
	h.chunk_size = 1000;
	is_int(container_header_seal(&h, dek, slot), -EINVAL,
	       "seal: bad chunk size");
	sample_header(&h);
	h.nholes = CONTAINER_MAX_HOLES + 1;
	is_int(container_header_seal(&h, dek, slot), -EINVAL,
	       "seal: too many holes");
	sample_header(&h);
	h.holes[1].count = 1000;
	is_int(container_header_seal(&h, dek, slot), -EINVAL,
	       "seal: hole past size");
}

/*
 * Seal an arbitrary inner plaintext (plain_len bytes) as a frame for
 * (doc_id, index, gen), independently of container_frame_seal.
 */
static size_t craft_frame(uint8_t *slot, uint64_t index, uint64_t gen,
			  const uint8_t *plain, size_t plain_len)
{
	uint8_t ad[48];

	memset(slot, 0, 48);
	memcpy(slot, "VLTC", 4);
	le_put64(slot + 8, gen);
	le_put32(slot + 16, (uint32_t)(plain_len + 16));
	randombytes_buf(slot + 24, 24);
	memcpy(ad, doc_id, 16);
	le_put64(ad + 16, index);
	memcpy(ad + 24, slot, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(slot + 48, NULL, plain,
						   plain_len, ad, 48, NULL,
						   slot + 24, dek);
	return 48 + plain_len + 16;
}

static void fill_random(uint8_t *p, size_t n)
{
	randombytes_buf(p, n);
}

static void fill_text(uint8_t *p, size_t n)
{
	static const char s[] = "the quick brown fox jumps over the lazy dog ";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)s[i % (sizeof(s) - 1)];
}

static void test_frame_roundtrip(uint32_t cs)
{
	size_t sb = container_slot_bytes(cs), flen, len;
	uint8_t *slot = malloc(sb), *data = malloc(cs), *out = malloc(cs);
	size_t lens[] = { 0, 1, cs - 1, cs };
	uint64_t gen;

	for (size_t k = 0; k < 4; k++) {
		for (int kind = 0; kind < 2; kind++) {
			size_t n = lens[k];

			if (kind)
				fill_text(data, n);
			else
				fill_random(data, n);
			memset(slot, 0xAA, sb);
			memset(out, 0x55, cs);
			is_int(container_frame_seal(dek, doc_id, 9, 42, 3, data,
						    n, slot, sb, &flen), 0,
			       "cs %u: seal %s %zu bytes", cs,
			       kind ? "text" : "random", n);
			ok(flen % 4096 == 0 && flen <= sb && flen >= 4096,
			   "frame length %zu aligned, within slot", flen);
			is_int(container_frame_peek(slot, sb, &gen), 0, "peek");
			ok(gen == 42, "peek generation");
			is_int(container_frame_open(dek, doc_id, 9, cs, slot,
						    sb, out, &len, &gen), 0,
			       "open");
			ok(len == n && gen == 42 && memcmp(out, data, n) == 0,
			   "data round trip");
			if (n == cs && !kind)
				is_int(flen, sb, "random full chunk fills slot");
			if (n == cs && kind)
				is_int(flen, 4096, "text chunk compresses");
		}
	}

	/* level 0: no compression */
	fill_text(data, cs);
	is_int(container_frame_seal(dek, doc_id, 9, 1, 0, data, cs, slot, sb,
				    &flen), 0, "seal level 0");
	is_int(flen, sb, "level 0 stores raw");
	is_int(container_frame_open(dek, doc_id, 9, cs, slot, sb, out, &len,
				    &gen), 0, "open raw text");
	ok(len == cs && memcmp(out, data, cs) == 0, "raw text round trip");

	/* bytes after the frame inside the slot are not part of it */
	fill_text(data, cs);
	memset(slot, 0, sb);
	is_int(container_frame_seal(dek, doc_id, 9, 1, 3, data, cs, slot, sb,
				    &flen), 0, "seal compressible");
	memset(slot + flen, 0x77, sb - flen);
	is_int(container_frame_open(dek, doc_id, 9, cs, slot, sb, out, &len,
				    &gen), 0, "garbage after the frame ignored");

	is_int(container_frame_seal(dek, doc_id, 9, 1, 3, data, cs + 1, slot,
				    sb, &flen), -EINVAL, "seal: too long");
	free(slot);
	free(data);
	free(out);
}

static void test_frame_tamper(uint32_t cs, size_t step)
{
	size_t sb = container_slot_bytes(cs), flen, len;
	uint8_t *slot = malloc(sb), *t = malloc(sb), *out = malloc(cs);
	uint8_t *data = malloc(cs), *zero = calloc(1, cs);
	uint64_t gen;
	int bad = 0, notzero = 0, tried = 0;

	for (int kind = 0; kind < 2; kind++) {
		if (kind)
			fill_text(data, cs);
		else
			fill_random(data, cs);
		memset(slot, 0, sb);
		if (container_frame_seal(dek, doc_id, 5, 77, 3, data, cs - 3,
					 slot, sb, &flen) != 0)
			abort();
		for (size_t i = 0; i < flen; i += (i < 64 ? 1 : step)) {
			memcpy(t, slot, sb);
			t[i] ^= 0x01;
			tried++;
			memset(out, 0x33, cs);
			if (container_frame_open(dek, doc_id, 5, cs, t, sb, out,
						 &len, &gen) != -EBADMSG)
				bad++;
			else if (memcmp(out, zero, cs) != 0)
				notzero++;
		}
	}
	is_int(bad, 0, "cs %u: %d byte flips of a frame give EBADMSG", cs,
	       tried);
	is_int(notzero, 0, "output zeroed after each failure");

	fill_random(data, cs);
	memset(slot, 0, sb);
	if (container_frame_seal(dek, doc_id, 5, 77, 3, data, cs, slot, sb,
				 &flen) != 0)
		abort();
	is_int(container_frame_open(dek, doc_id, 6, cs, slot, sb, out, &len,
				    &gen), -EBADMSG, "wrong chunk index");
	ok(memcmp(out, zero, cs) == 0, "wrong index: output zero");
	is_int(container_frame_open(dek, doc_id2, 5, cs, slot, sb, out, &len,
				    &gen), -EBADMSG, "wrong document id");
	is_int(container_frame_open(dek2, doc_id, 5, cs, slot, sb, out, &len,
				    &gen), -EBADMSG, "wrong DEK");
	memcpy(t, slot, sb);
	le_put64(t + 8, 78);
	is_int(container_frame_peek(t, sb, &gen), 0, "changed gen peeks");
	is_int(container_frame_open(dek, doc_id, 5, cs, t, sb, out, &len,
				    &gen), -EBADMSG, "changed generation");
	memcpy(t, slot, sb);
	t[flen - 1] ^= 0x80;
	is_int(container_frame_open(dek, doc_id, 5, cs, t, sb, out, &len,
				    &gen), -EBADMSG, "flipped tag");
	is_int(container_frame_open(dek, doc_id, 5, cs, slot, sb, out, &len,
				    &gen), 0, "untouched frame still opens");

	/* empty and malformed clear headers */
	memset(t, 0, sb);
	is_int(container_frame_peek(t, sb, &gen), -ENOENT, "peek empty slot");
	is_int(container_frame_open(dek, doc_id, 5, cs, t, sb, out, &len,
				    &gen), -ENOENT, "open empty slot");
	memcpy(t, slot, 48);
	le_put32(t + 16, (uint32_t)(sb - 48 + 4096));
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG,
	       "sealed length beyond slot");
	le_put32(t + 16, 16);
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG,
	       "sealed length below inner header + tag");
	le_put32(t + 16, 4096);
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG,
	       "frame not a multiple of 4096");
	memcpy(t, slot, 48);
	t[20] = 1;
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG, "reserved nonzero");
	memcpy(t, slot, 48);
	t[4] = 1;
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG, "flags nonzero");
	memcpy(t, slot, 48);
	t[3] = 'X';
	is_int(container_frame_peek(t, sb, &gen), -EBADMSG, "bad frame magic");
	is_int(container_frame_peek(slot, 40, &gen), -EBADMSG,
	       "slot shorter than a frame header");

	free(slot);
	free(t);
	free(out);
	free(data);
	free(zero);
}

/* Inner plaintexts that authenticate but are inconsistent. */
static void test_frame_inner(void)
{
	uint32_t cs = 4096;
	size_t sb = container_slot_bytes(cs), len, clen;
	size_t plen = 4096 - 64;	/* one-block frame */
	uint8_t *slot = malloc(sb), *out = malloc(cs), *plain = calloc(1, sb);
	uint8_t *text = malloc(cs);
	uint64_t gen;

	fill_text(text, cs);

#define INNER(what, want, setup) do {					\
		memset(plain, 0, sb);					\
		setup;							\
		memset(slot, 0, sb);					\
		craft_frame(slot, 2, 5, plain, plen);			\
		is_int(container_frame_open(dek, doc_id, 2, cs, slot,	\
					    sb, out, &len, &gen), want,	\
		       "inner: %s", what);				\
	} while (0)

	INNER("raw 10 bytes (independent encoder)", 0, {
		le_put32(plain + 4, 10); le_put32(plain + 8, 10);
		memcpy(plain + 16, text, 10); });
	ok(len == 10 && gen == 5 && memcmp(out, text, 10) == 0,
	   "crafted frame decodes");
	INNER("unknown flag", -EBADMSG, {
		plain[0] = 2; le_put32(plain + 4, 10); le_put32(plain + 8, 10); });
	INNER("reserved byte 1", -EBADMSG, {
		plain[1] = 1; le_put32(plain + 4, 10); le_put32(plain + 8, 10); });
	INNER("reserved word 12", -EBADMSG, {
		le_put32(plain + 12, 1); le_put32(plain + 4, 10);
		le_put32(plain + 8, 10); });
	INNER("data length > chunk size", -EBADMSG, {
		le_put32(plain + 4, cs + 1); le_put32(plain + 8, 10); });
	INNER("payload length past the frame", -EBADMSG, {
		le_put32(plain + 4, 10); le_put32(plain + 8, (uint32_t)plen); });
	INNER("raw payload length != data length", -EBADMSG, {
		le_put32(plain + 4, 10); le_put32(plain + 8, 11); });
	INNER("nonzero padding", -EBADMSG, {
		le_put32(plain + 4, 10); le_put32(plain + 8, 10);
		plain[plen - 1] = 1; });
	INNER("compressed flag on non-zstd data", -EBADMSG, {
		plain[0] = 1; le_put32(plain + 4, 10); le_put32(plain + 8, 10);
		memcpy(plain + 16, text, 10); });
	if (compress_chunk(3, text, cs, plain + 16, plen - 16, &clen) == 0) {
		uint8_t *z = malloc(clen);

		memcpy(z, plain + 16, clen);
		INNER("valid zstd frame", 0, {
			plain[0] = 1; le_put32(plain + 4, cs);
			le_put32(plain + 8, (uint32_t)clen);
			memcpy(plain + 16, z, clen); });
		ok(len == cs && memcmp(out, text, cs) == 0,
		   "crafted compressed frame decodes");
		INNER("zstd size != data length", -EBADMSG, {
			plain[0] = 1; le_put32(plain + 4, cs - 1);
			le_put32(plain + 8, (uint32_t)clen);
			memcpy(plain + 16, z, clen); });
		INNER("zstd frame truncated", -EBADMSG, {
			plain[0] = 1; le_put32(plain + 4, cs);
			le_put32(plain + 8, (uint32_t)clen - 1);
			memcpy(plain + 16, z, clen - 1); });
		free(z);
	} else {
		ok(0, "compress_chunk failed on text");
	}
	free(slot);
	free(out);
	free(plain);
	free(text);
}

static bool holes_are(const struct container_header *h, uint32_t n,
		      const uint64_t *pairs)
{
	if (h->nholes != n)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (h->holes[i].first != pairs[2 * i] ||
		    h->holes[i].count != pairs[2 * i + 1])
			return false;
	for (uint32_t i = n; i < CONTAINER_MAX_HOLES; i++)
		if (h->holes[i].first || h->holes[i].count)
			return false;
	return true;
}

static void test_holes(void)
{
	struct container_header h, save;

	memset(&h, 0, sizeof(h));
	is_int(container_add_holes(&h, 10, 5), 0, "add [10,15)");
	ok(holes_are(&h, 1, (uint64_t[]){ 10, 5 }), "one extent");
	ok(!container_is_hole(&h, 9) && container_is_hole(&h, 10) &&
	   container_is_hole(&h, 14) && !container_is_hole(&h, 15),
	   "is_hole edges");
	is_int(container_add_holes(&h, 15, 2), 0, "add adjacent right");
	ok(holes_are(&h, 1, (uint64_t[]){ 10, 7 }), "merged right");
	is_int(container_add_holes(&h, 7, 3), 0, "add adjacent left");
	ok(holes_are(&h, 1, (uint64_t[]){ 7, 10 }), "merged left");
	is_int(container_add_holes(&h, 30, 1), 0, "add separate");
	is_int(container_add_holes(&h, 1, 2), 0, "add before");
	ok(holes_are(&h, 3, (uint64_t[]){ 1, 2, 7, 10, 30, 1 }), "three sorted");
	is_int(container_add_holes(&h, 2, 30), 0, "add spanning all");
	ok(holes_are(&h, 1, (uint64_t[]){ 1, 31 }), "all merged");
	is_int(container_add_holes(&h, 5, 0), 0, "add empty is a no-op");
	ok(holes_are(&h, 1, (uint64_t[]){ 1, 31 }), "unchanged");

	is_int(container_fill_hole(&h, 1), 0, "fill first");
	ok(holes_are(&h, 1, (uint64_t[]){ 2, 30 }), "front trimmed");
	is_int(container_fill_hole(&h, 31), 0, "fill last");
	ok(holes_are(&h, 1, (uint64_t[]){ 2, 29 }), "back trimmed");
	is_int(container_fill_hole(&h, 10), 0, "fill middle");
	ok(holes_are(&h, 2, (uint64_t[]){ 2, 8, 11, 20 }), "split");
	is_int(container_fill_hole(&h, 100), 0, "fill outside: no-op");
	is_int(container_fill_hole(&h, 10), 0, "fill filled: no-op");
	ok(holes_are(&h, 2, (uint64_t[]){ 2, 8, 11, 20 }), "unchanged");
	is_int(container_add_holes(&h, 50, 1), 0, "add single");
	is_int(container_fill_hole(&h, 50), 0, "fill single");
	ok(holes_are(&h, 2, (uint64_t[]){ 2, 8, 11, 20 }), "single removed");

	container_clip_holes(&h, 15);
	ok(holes_are(&h, 2, (uint64_t[]){ 2, 8, 11, 4 }), "clip inside");
	container_clip_holes(&h, 11);
	ok(holes_are(&h, 1, (uint64_t[]){ 2, 8 }), "clip at extent start");
	container_clip_holes(&h, 100);
	ok(holes_are(&h, 1, (uint64_t[]){ 2, 8 }), "clip beyond: no-op");
	container_clip_holes(&h, 0);
	ok(holes_are(&h, 0, NULL), "clip to 0");

	/* overflow */
	memset(&h, 0, sizeof(h));
	for (uint64_t i = 0; i < CONTAINER_MAX_HOLES; i++)
		if (container_add_holes(&h, 10 * i, 5) != 0)
			abort();
	is_int(h.nholes, CONTAINER_MAX_HOLES, "max extents");
	save = h;
	is_int(container_add_holes(&h, 1000, 1), -ENOSPC, "one more: ENOSPC");
	ok(memcmp(&h, &save, sizeof(h)) == 0, "unchanged after ENOSPC");
	is_int(container_add_holes(&h, 7, 1), -ENOSPC, "one more between");
	ok(memcmp(&h, &save, sizeof(h)) == 0, "unchanged after ENOSPC");
	is_int(container_fill_hole(&h, 12), -ENOSPC, "split when full: ENOSPC");
	ok(memcmp(&h, &save, sizeof(h)) == 0, "unchanged after ENOSPC");
	is_int(container_fill_hole(&h, 10), 0, "trim when full works");
	is_int(container_add_holes(&h, 5, 6), 0, "merge when full works");
	ok(h.nholes == CONTAINER_MAX_HOLES - 1 && h.holes[0].first == 0 &&
	   h.holes[0].count == 15, "merged three");
	is_int(container_add_holes(&h, 1000, 1), 0, "room again");
	is_int(container_add_holes(&h, UINT64_MAX, 2), -EINVAL,
	       "overflowing extent");
}

int main(void)
{
	if (seal_init() != 0)
		return 1;
	seal_random(dek, sizeof(dek));
	seal_random(dek2, sizeof(dek2));
	seal_random(doc_id, sizeof(doc_id));
	seal_random(doc_id2, sizeof(doc_id2));

	test_sizes();
	test_header_roundtrip();
	test_header_tamper();
	test_header_body();
	test_frame_roundtrip(4096);
	test_frame_roundtrip(65536);
	test_frame_roundtrip(1u << 20);
	test_frame_tamper(4096, 1);
	test_frame_tamper(65536, 13);
	test_frame_inner();
	test_holes();
	return done_testing();
}
