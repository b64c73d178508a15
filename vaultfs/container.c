/* container.c - see container.h; man/vaultfs.5 is the normative format. */
#include "container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "le.h"
#include "log.h"
#include "seal.h"

static const uint8_t hdr_magic[4] = { 'V', 'L', 'T', 'D' };
static const uint8_t frame_magic[4] = { 'V', 'L', 'T', 'C' };

/* Header slot offsets (container.h). */
enum {
	H_MAGIC = 0,
	H_VERSION = 4,
	H_FLAGS = 6,
	H_GEN = 8,
	H_DOC_ID = 16,
	H_CHUNK_SIZE = 32,
	H_KEK_VERSION = 36,
	H_WRAPPED = 40,		/* DEK nonce at 40, wrapped DEK at 64 */
	H_BODY_NONCE = 112,
	H_BODY_LEN = 136,
	H_BODY = 140,
	H_BODY_SEALED = CONTAINER_BODY_BYTES + SEAL_TAG_BYTES,
	H_END = H_BODY + H_BODY_SEALED,
};

/* Frame offsets. */
enum {
	F_MAGIC = 0,
	F_FLAGS = 4,
	F_GEN = 8,
	F_SEALED_LEN = 16,
	F_RESERVED = 20,
	F_NONCE = 24,
	F_AD_BYTES = 24,	/* frame bytes 0..23 go into the AD */
	F_CT = CONTAINER_FRAME_HDR_BYTES,
	FRAME_AD_BYTES = CONTAINER_DOC_ID_BYTES + 8 + F_AD_BYTES,
	/* frame header, inner header and tag around the payload */
	FRAME_OVERHEAD = CONTAINER_FRAME_HDR_BYTES + CONTAINER_INNER_HDR_BYTES +
			 SEAL_TAG_BYTES,
};

#define INNER_COMPRESSED 0x01u

_Static_assert(H_WRAPPED + CONTAINER_WRAPPED_DEK_BYTES == H_BODY_NONCE,
	       "wrapped DEK must end where the body nonce starts");
_Static_assert(H_END <= CONTAINER_HDR_SLOT_BYTES, "header body too large");
_Static_assert(F_NONCE + SEAL_NONCE_BYTES == CONTAINER_FRAME_HDR_BYTES,
	       "frame header layout");

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

bool container_chunk_size_valid(uint32_t chunk_size)
{
	return chunk_size >= CONTAINER_CHUNK_MIN &&
	       chunk_size <= CONTAINER_CHUNK_MAX &&
	       (chunk_size & (chunk_size - 1)) == 0;
}

size_t container_slot_bytes(uint32_t chunk_size)
{
	size_t need;

	if (!container_chunk_size_valid(chunk_size))
		vault_misuse("container_slot_bytes: invalid chunk size");
	need = (size_t)chunk_size + FRAME_OVERHEAD;
	return (need + CONTAINER_FRAME_ALIGN - 1) &
	       ~(size_t)(CONTAINER_FRAME_ALIGN - 1);
}

uint64_t container_slot_offset(uint32_t chunk_size, uint64_t index, int slot)
{
	if (slot != 0 && slot != 1)
		vault_misuse("container_slot_offset: slot must be 0 or 1");
	return CONTAINER_DATA_OFFSET +
	       (2 * index + (uint64_t)slot) * container_slot_bytes(chunk_size);
}

/* Number of chunks that hold bytes of a document of size bytes. */
static uint64_t nchunks(uint64_t size, uint32_t chunk_size)
{
	return size / chunk_size + (size % chunk_size != 0);
}

/* Sorted, non-overlapping, non-empty, within the size. */
static bool holes_valid(const struct container_hole *holes, uint32_t n,
			uint64_t size, uint32_t chunk_size)
{
	uint64_t limit = nchunks(size, chunk_size), prev_end = 0;

	if (n > CONTAINER_MAX_HOLES)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const struct container_hole *e = &holes[i];

		if (e->count == 0 || e->first > limit ||
		    e->count > limit - e->first)
			return false;
		if (i > 0 && e->first < prev_end)
			return false;
		prev_end = e->first + e->count;
	}
	return true;
}

int container_header_seal(const struct container_header *h,
			  const uint8_t dek[SEAL_KEY_BYTES],
			  uint8_t out[CONTAINER_HDR_SLOT_BYTES])
{
	uint8_t body[CONTAINER_BODY_BYTES];
	uint8_t check[CONTAINER_BODY_BYTES];
	int r;

	if (!container_chunk_size_valid(h->chunk_size) ||
	    !holes_valid(h->holes, h->nholes, h->size, h->chunk_size))
		return -EINVAL;

	memset(out, 0, CONTAINER_HDR_SLOT_BYTES);
	memcpy(out + H_MAGIC, hdr_magic, sizeof(hdr_magic));
	le_put16(out + H_VERSION, CONTAINER_VERSION);
	le_put16(out + H_FLAGS, 0);
	le_put64(out + H_GEN, h->gen);
	memcpy(out + H_DOC_ID, h->doc_id, CONTAINER_DOC_ID_BYTES);
	le_put32(out + H_CHUNK_SIZE, h->chunk_size);
	le_put32(out + H_KEK_VERSION, h->kek_version);
	memcpy(out + H_WRAPPED, h->wrapped_dek, CONTAINER_WRAPPED_DEK_BYTES);
	le_put32(out + H_BODY_LEN, H_BODY_SEALED);

	memset(body, 0, sizeof(body));
	le_put64(body, h->size);
	le_put32(body + 8, h->nholes);
	for (uint32_t i = 0; i < h->nholes; i++) {
		le_put64(body + 16 + 16 * i, h->holes[i].first);
		le_put64(body + 24 + 16 * i, h->holes[i].count);
	}
	/*
	 * The AD (bytes 0..139) contains the body nonce, which seal_encrypt()
	 * generates: it stores the nonce before it authenticates the AD, so
	 * the AD is simply the slot itself.  Verify that once per seal (a
	 * header is small and rarely written) rather than ever writing a
	 * header that cannot be opened.
	 */
	seal_encrypt(dek, out, H_BODY, body, sizeof(body), out + H_BODY_NONCE,
		     out + H_BODY);
	r = seal_decrypt(dek, out, H_BODY, out + H_BODY_NONCE, out + H_BODY,
			 H_BODY_SEALED, check);
	if (r == 0 && memcmp(check, body, sizeof(body)) != 0)
		r = -EBADMSG;
	sodium_memzero(check, sizeof(check));
	sodium_memzero(body, sizeof(body));
	if (r < 0)
		vault_misuse("container_header_seal: sealed body does not open");
	return 0;
}

int container_header_parse(const uint8_t in[CONTAINER_HDR_SLOT_BYTES],
			   struct container_header *h)
{
	if (all_zero(in, CONTAINER_HDR_SLOT_BYTES))
		return -ENOENT;
	if (memcmp(in + H_MAGIC, hdr_magic, sizeof(hdr_magic)) != 0)
		return -EBADMSG;
	if (le_get16(in + H_VERSION) != CONTAINER_VERSION)
		return -EPROTONOSUPPORT;
	if (le_get16(in + H_FLAGS) != 0 ||
	    !container_chunk_size_valid(le_get32(in + H_CHUNK_SIZE)) ||
	    le_get32(in + H_BODY_LEN) != H_BODY_SEALED ||
	    !all_zero(in + H_END, CONTAINER_HDR_SLOT_BYTES - H_END))
		return -EBADMSG;

	memset(h, 0, sizeof(*h));
	h->gen = le_get64(in + H_GEN);
	memcpy(h->doc_id, in + H_DOC_ID, CONTAINER_DOC_ID_BYTES);
	h->chunk_size = le_get32(in + H_CHUNK_SIZE);
	h->kek_version = le_get32(in + H_KEK_VERSION);
	memcpy(h->wrapped_dek, in + H_WRAPPED, CONTAINER_WRAPPED_DEK_BYTES);
	return 0;
}

int container_header_open(const uint8_t in[CONTAINER_HDR_SLOT_BYTES],
			  const uint8_t dek[SEAL_KEY_BYTES],
			  struct container_header *h)
{
	struct container_header tmp;
	uint8_t body[CONTAINER_BODY_BYTES];
	uint32_t n;
	int r;

	/* Re-parse: the clear fields handed back must be the ones verified. */
	r = container_header_parse(in, &tmp);
	if (r < 0)
		return r == -ENOENT ? -EBADMSG : r;
	r = seal_decrypt(dek, in, H_BODY, in + H_BODY_NONCE, in + H_BODY,
			 H_BODY_SEALED, body);
	if (r < 0)
		return -EBADMSG;

	r = -EBADMSG;
	tmp.size = le_get64(body);
	n = le_get32(body + 8);
	if (n > CONTAINER_MAX_HOLES || le_get32(body + 12) != 0)
		goto out;
	tmp.nholes = n;
	for (uint32_t i = 0; i < n; i++) {
		tmp.holes[i].first = le_get64(body + 16 + 16 * i);
		tmp.holes[i].count = le_get64(body + 24 + 16 * i);
	}
	/* Unused hole entries are reserved: zero. */
	if (!all_zero(body + 16 + 16 * n, 16 * (CONTAINER_MAX_HOLES - n)))
		goto out;
	if (!holes_valid(tmp.holes, n, tmp.size, tmp.chunk_size))
		goto out;
	*h = tmp;
	r = 0;
out:
	sodium_memzero(body, sizeof(body));
	return r;
}

static void frame_ad(uint8_t ad[FRAME_AD_BYTES],
		     const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
		     uint64_t index, const uint8_t *frame)
{
	memcpy(ad, doc_id, CONTAINER_DOC_ID_BYTES);
	le_put64(ad + CONTAINER_DOC_ID_BYTES, index);
	memcpy(ad + CONTAINER_DOC_ID_BYTES + 8, frame, F_AD_BYTES);
}

static size_t frame_len_for(size_t payload)
{
	size_t need = payload + FRAME_OVERHEAD;

	return (need + CONTAINER_FRAME_ALIGN - 1) &
	       ~(size_t)(CONTAINER_FRAME_ALIGN - 1);
}

int container_frame_seal(const uint8_t dek[SEAL_KEY_BYTES],
			 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
			 uint64_t index, uint64_t gen, int level,
			 const void *data, size_t len,
			 uint8_t *slot, size_t slot_bytes, size_t *frame_len)
{
	uint8_t ad[FRAME_AD_BYTES];
	uint8_t *inner = slot + CONTAINER_FRAME_HDR_BYTES;
	uint8_t *payload = inner + CONTAINER_INNER_HDR_BYTES;
	size_t raw_len = frame_len_for(len), flen = raw_len, plen = len;
	uint8_t flags = 0;

	/* slot_bytes = container_slot_bytes(chunk size) = chunk size + 4096 */
	if (slot_bytes <= CONTAINER_FRAME_ALIGN ||
	    slot_bytes - CONTAINER_FRAME_ALIGN > UINT32_MAX ||
	    !container_chunk_size_valid((uint32_t)(slot_bytes -
						   CONTAINER_FRAME_ALIGN)) ||
	    len > slot_bytes - CONTAINER_FRAME_ALIGN)
		return -EINVAL;

	/*
	 * Compression only pays when it saves at least one 4 KiB block of
	 * the frame: cap the output so that zstd gives up early otherwise.
	 */
	if (raw_len > CONTAINER_FRAME_ALIGN && level > 0) {
		size_t cap = raw_len - CONTAINER_FRAME_ALIGN - FRAME_OVERHEAD;
		size_t clen;
		int r = compress_chunk(level, data, len, payload, cap, &clen);

		if (r == 0 && clen <= cap) {
			flags = INNER_COMPRESSED;
			plen = clen;
			flen = frame_len_for(clen);
		} else if (r < 0 && r != -ENOSPC) {
			return r;
		}
	}
	if (!flags)
		memcpy(payload, data, len);

	memset(inner, 0, CONTAINER_INNER_HDR_BYTES);
	inner[0] = flags;
	le_put32(inner + 4, (uint32_t)len);
	le_put32(inner + 8, (uint32_t)plen);
	memset(payload + plen, 0, flen - FRAME_OVERHEAD - plen);

	memcpy(slot + F_MAGIC, frame_magic, sizeof(frame_magic));
	le_put32(slot + F_FLAGS, 0);
	le_put64(slot + F_GEN, gen);
	le_put32(slot + F_SEALED_LEN, (uint32_t)(flen - CONTAINER_FRAME_HDR_BYTES));
	le_put32(slot + F_RESERVED, 0);
	frame_ad(ad, doc_id, index, slot);
	seal_encrypt(dek, ad, sizeof(ad), inner,
		     flen - CONTAINER_FRAME_HDR_BYTES - SEAL_TAG_BYTES,
		     slot + F_NONCE, inner);
	*frame_len = flen;
	return 0;
}

/* Clear-header checks shared by peek and open; *sealed_len on success. */
static int frame_check(const uint8_t *slot, size_t slot_bytes,
		       uint64_t *gen, size_t *sealed_len)
{
	size_t sl;

	if (slot_bytes < CONTAINER_FRAME_HDR_BYTES)
		return -EBADMSG;
	if (all_zero(slot, CONTAINER_FRAME_HDR_BYTES))
		return -ENOENT;
	sl = le_get32(slot + F_SEALED_LEN);
	if (memcmp(slot + F_MAGIC, frame_magic, sizeof(frame_magic)) != 0 ||
	    le_get32(slot + F_FLAGS) != 0 || le_get32(slot + F_RESERVED) != 0 ||
	    sl < CONTAINER_INNER_HDR_BYTES + SEAL_TAG_BYTES ||
	    sl > slot_bytes - CONTAINER_FRAME_HDR_BYTES ||
	    (sl + CONTAINER_FRAME_HDR_BYTES) % CONTAINER_FRAME_ALIGN != 0)
		return -EBADMSG;
	*gen = le_get64(slot + F_GEN);
	*sealed_len = sl;
	return 0;
}

int container_frame_peek(const uint8_t *slot, size_t slot_bytes,
			 uint64_t *gen)
{
	size_t sl;

	return frame_check(slot, slot_bytes, gen, &sl);
}

/*
 * The sealed plaintext carries a header and padding around the data, so
 * it is decrypted where it lies (libsodium's AEAD works in place) and the
 * data copied out.
 */
int container_frame_open_inplace(const uint8_t dek[SEAL_KEY_BYTES],
				 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
				 uint64_t index, uint32_t chunk_size,
				 uint8_t *slot, size_t slot_bytes,
				 void *data, size_t *len, uint64_t *gen)
{
	uint8_t ad[FRAME_AD_BYTES];
	uint8_t *plain = slot + CONTAINER_FRAME_HDR_BYTES;
	size_t sl, plain_len, dlen, plen;
	uint64_t g;
	int r;

	if (!container_chunk_size_valid(chunk_size))
		vault_misuse("container_frame_open: invalid chunk size");
	r = frame_check(slot, slot_bytes, &g, &sl);
	if (r < 0)
		goto fail;
	plain_len = sl - SEAL_TAG_BYTES;
	frame_ad(ad, doc_id, index, slot);
	r = seal_decrypt(dek, ad, sizeof(ad), slot + F_NONCE, plain, sl,
			 plain);
	if (r < 0) {
		r = -EBADMSG;
		goto fail;
	}
	r = -EBADMSG;
	dlen = le_get32(plain + 4);
	plen = le_get32(plain + 8);
	if ((plain[0] & ~INNER_COMPRESSED) != 0 || !all_zero(plain + 1, 3) ||
	    le_get32(plain + 12) != 0 || dlen > chunk_size ||
	    plen > plain_len - CONTAINER_INNER_HDR_BYTES ||
	    !all_zero(plain + CONTAINER_INNER_HDR_BYTES + plen,
		      plain_len - CONTAINER_INNER_HDR_BYTES - plen))
		goto fail;
	if (plain[0] & INNER_COMPRESSED) {
		if (decompress_chunk(plain + CONTAINER_INNER_HDR_BYTES, plen,
				     data, dlen) < 0)
			goto fail;
	} else {
		if (plen != dlen)
			goto fail;
		memcpy(data, plain + CONTAINER_INNER_HDR_BYTES, dlen);
	}
	*len = dlen;
	*gen = g;
	return 0;
fail:
	memset(data, 0, chunk_size);
	return r;
}

int container_frame_open(const uint8_t dek[SEAL_KEY_BYTES],
			 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
			 uint64_t index, uint32_t chunk_size,
			 const uint8_t *slot, size_t slot_bytes,
			 void *data, size_t *len, uint64_t *gen)
{
	size_t n = slot_bytes, sl;
	uint64_t g;
	uint8_t *copy;
	int r;

	if (!container_chunk_size_valid(chunk_size))
		vault_misuse("container_frame_open: invalid chunk size");
	/* copy only the frame, not the rest of the slot */
	if (frame_check(slot, slot_bytes, &g, &sl) == 0)
		n = CONTAINER_FRAME_HDR_BYTES + sl;
	copy = malloc(n ? n : 1);
	if (!copy) {
		memset(data, 0, chunk_size);
		return -ENOMEM;
	}
	memcpy(copy, slot, n);
	r = container_frame_open_inplace(dek, doc_id, index, chunk_size, copy,
					 n, data, len, gen);
	sodium_memzero(copy, n);
	free(copy);
	return r;
}

bool container_is_hole(const struct container_header *h, uint64_t index)
{
	for (uint32_t i = 0; i < h->nholes && i < CONTAINER_MAX_HOLES; i++) {
		if (index < h->holes[i].first)
			return false;
		if (index - h->holes[i].first < h->holes[i].count)
			return true;
	}
	return false;
}

int container_add_holes(struct container_header *h, uint64_t first,
			uint64_t count)
{
	struct container_hole out[CONTAINER_MAX_HOLES + 1];
	uint64_t end;
	uint32_t n = 0, i = 0;

	if (count == 0)
		return 0;
	if (first > UINT64_MAX - count)
		return -EINVAL;
	end = first + count;
	/* Extents ending before the new one (not even adjacent). */
	for (; i < h->nholes && h->holes[i].first + h->holes[i].count < first;
	     i++)
		out[n++] = h->holes[i];
	/* Merge every extent that overlaps or touches [first, end). */
	for (; i < h->nholes && h->holes[i].first <= end; i++) {
		uint64_t e = h->holes[i].first + h->holes[i].count;

		if (h->holes[i].first < first)
			first = h->holes[i].first;
		if (e > end)
			end = e;
	}
	out[n].first = first;
	out[n].count = end - first;
	n++;
	for (; i < h->nholes; i++) {
		if (n > CONTAINER_MAX_HOLES)
			return -ENOSPC;
		out[n++] = h->holes[i];
	}
	if (n > CONTAINER_MAX_HOLES)
		return -ENOSPC;
	memcpy(h->holes, out, n * sizeof(out[0]));
	memset(h->holes + n, 0, (CONTAINER_MAX_HOLES - n) * sizeof(out[0]));
	h->nholes = n;
	return 0;
}

int container_fill_hole(struct container_header *h, uint64_t index)
{
	for (uint32_t i = 0; i < h->nholes; i++) {
		struct container_hole *e = &h->holes[i];
		uint64_t off;

		if (index < e->first)
			return 0;
		off = index - e->first;
		if (off >= e->count)
			continue;
		if (e->count == 1) {
			memmove(e, e + 1, (h->nholes - i - 1) * sizeof(*e));
			h->nholes--;
			memset(&h->holes[h->nholes], 0, sizeof(*e));
		} else if (off == 0) {
			e->first++;
			e->count--;
		} else if (off == e->count - 1) {
			e->count--;
		} else {
			if (h->nholes == CONTAINER_MAX_HOLES)
				return -ENOSPC;
			memmove(e + 2, e + 1, (h->nholes - i - 1) * sizeof(*e));
			e[1].first = index + 1;
			e[1].count = e->count - off - 1;
			e->count = off;
			h->nholes++;
		}
		return 0;
	}
	return 0;
}

void container_clip_holes(struct container_header *h, uint64_t nchunks_left)
{
	uint32_t n = 0;

	while (n < h->nholes && h->holes[n].first < nchunks_left) {
		struct container_hole *e = &h->holes[n];

		if (e->count > nchunks_left - e->first)
			e->count = nchunks_left - e->first;
		n++;
	}
	memset(h->holes + n, 0, (h->nholes - n) * sizeof(h->holes[0]));
	h->nholes = n;
}
