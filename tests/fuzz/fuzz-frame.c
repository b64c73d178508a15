/*
 * fuzz-frame.c - container_frame_peek() and container_frame_open() on
 * arbitrary chunk slots (chunk size 4096, fixed DEK, document id and
 * chunk index 3).
 *
 * First input byte: mode (low two bits).
 *   0: the rest is a slot, peeked and opened as is.
 *   1: the rest is a frame header (48 bytes) and inner plaintext, sealed
 *      properly first (4096- or 8192-byte frame, by mode bit 2), so the
 *      inner decoder (flags, lengths, padding, zstd) sees fuzzed input.
 *   2, 3: the rest is chunk data (up to 4096 bytes): seal it at level
 *      (mode >> 2) % 4 and open it again; it must round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/container.h"
#include "../../vaultfs/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CS 4096u
#define SLOT_BYTES (CS + 4096u)
#define INDEX 3

static void fixed_keys(uint8_t dek[SEAL_KEY_BYTES],
		       uint8_t id[CONTAINER_DOC_ID_BYTES])
{
	for (size_t i = 0; i < SEAL_KEY_BYTES; i++)
		dek[i] = (uint8_t)(7 * i + 1);
	for (size_t i = 0; i < CONTAINER_DOC_ID_BYTES; i++)
		id[i] = (uint8_t)(0xA0 + i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t slot[SLOT_BYTES], out[CS];
	uint8_t dek[SEAL_KEY_BYTES], id[CONTAINER_DOC_ID_BYTES];
	size_t len, flen;
	uint64_t gen, pgen;
	uint8_t mode;
	int r, pr;

	if (!ready) {
		if (seal_init() != 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	fixed_keys(dek, id);
	memset(slot, 0, sizeof(slot));

	if ((mode & 3) >= 2) {
		size_t n = size < CS ? size : CS;

		if (container_frame_seal(dek, id, INDEX, 42, (mode >> 2) % 4,
					 data, n, slot, SLOT_BYTES, &flen) != 0)
			abort();
		if (flen % 4096 || flen > SLOT_BYTES)
			abort();
		if (container_frame_open(dek, id, INDEX, CS, slot, SLOT_BYTES,
					 out, &len, &gen) != 0 ||
		    len != n || gen != 42 || memcmp(out, data, n) != 0)
			abort();
		return 0;
	}

	memcpy(slot, data, size < SLOT_BYTES ? size : SLOT_BYTES);
	if (mode & 1) {
		size_t flen1 = (mode & 4) ? 8192 : 4096;
		size_t plen = flen1 - CONTAINER_FRAME_HDR_BYTES - SEAL_TAG_BYTES;
		uint8_t ad[CONTAINER_DOC_ID_BYTES + 8 + 24];
		uint32_t sl = (uint32_t)(flen1 - CONTAINER_FRAME_HDR_BYTES);

		memcpy(slot, "VLTC", 4);
		memset(slot + 4, 0, 4);
		slot[16] = (uint8_t)sl;
		slot[17] = (uint8_t)(sl >> 8);
		slot[18] = slot[19] = 0;
		memset(slot + 20, 0, 4);
		memset(slot + flen1, 0, SLOT_BYTES - flen1);
		memcpy(ad, id, sizeof(id));
		le_put64(ad + sizeof(id), INDEX);
		memcpy(ad + sizeof(id) + 8, slot, 24);
		seal_encrypt(dek, ad, sizeof(ad), slot + CONTAINER_FRAME_HDR_BYTES,
			     plen, slot + 24, slot + CONTAINER_FRAME_HDR_BYTES);
	}
	pr = container_frame_peek(slot, SLOT_BYTES, &pgen);
	memset(out, 0xA5, sizeof(out));
	r = container_frame_open(dek, id, INDEX, CS, slot, SLOT_BYTES, out,
				 &len, &gen);
	if (r == 0) {
		if (pr != 0 || len > CS || gen != pgen)
			abort();
	} else {
		for (size_t i = 0; i < CS; i++)
			if (out[i])
				abort();	/* failures must zero the output */
	}
	return 0;
}
