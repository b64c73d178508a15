/*
 * fuzz-header.c - container_header_parse() and container_header_open() on
 * arbitrary header slots.
 *
 * First input byte: mode.  Bit 0 clear: the rest is a header slot, opened
 * as is with a fixed DEK (only a seed's untouched body authenticates).
 * Bit 0 set: the body region (bytes 140..667) is taken as body plaintext
 * and sealed properly first, so the body decoder and its checks (hole
 * list, reserved fields) see fuzzed input.  Whatever opens must be
 * consistent and survive a seal/parse/open round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_OFF 140
#define BODY_SEALED (CONTAINER_BODY_BYTES + SEAL_TAG_BYTES)

static void fixed_dek(uint8_t dek[SEAL_KEY_BYTES])
{
	for (size_t i = 0; i < SEAL_KEY_BYTES; i++)
		dek[i] = (uint8_t)(7 * i + 1);
}

static void check_opened(const struct container_header *h,
			 const uint8_t dek[SEAL_KEY_BYTES])
{
	uint8_t slot[CONTAINER_HDR_SLOT_BYTES];
	struct container_header p;
	uint64_t n = h->size / h->chunk_size + (h->size % h->chunk_size != 0);

	if (h->nholes > CONTAINER_MAX_HOLES ||
	    !container_chunk_size_valid(h->chunk_size))
		abort();
	for (uint32_t i = 0; i < h->nholes; i++) {
		if (h->holes[i].count == 0 || h->holes[i].first >= n ||
		    h->holes[i].count > n - h->holes[i].first)
			abort();
		if (i && h->holes[i].first <
			 h->holes[i - 1].first + h->holes[i - 1].count)
			abort();
		if (!container_is_hole(h, h->holes[i].first))
			abort();
	}
	if (container_header_seal(h, dek, slot) != 0 ||
	    container_header_parse(slot, &p) != 0 ||
	    container_header_open(slot, dek, &p) != 0)
		abort();
	if (p.gen != h->gen || p.size != h->size || p.nholes != h->nholes ||
	    p.chunk_size != h->chunk_size || p.kek_version != h->kek_version ||
	    memcmp(p.doc_id, h->doc_id, sizeof(p.doc_id)) != 0 ||
	    memcmp(p.wrapped_dek, h->wrapped_dek, sizeof(p.wrapped_dek)) != 0 ||
	    memcmp(p.holes, h->holes, sizeof(p.holes)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t slot[CONTAINER_HDR_SLOT_BYTES], dek[SEAL_KEY_BYTES];
	struct container_header h;
	uint8_t mode;
	int r;

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
	fixed_dek(dek);
	memset(slot, 0, sizeof(slot));
	memcpy(slot, data, size < sizeof(slot) ? size : sizeof(slot));
	if (mode & 1) {
		uint8_t body[CONTAINER_BODY_BYTES];

		memcpy(body, slot + BODY_OFF, sizeof(body));
		memset(slot + BODY_OFF, 0, sizeof(slot) - BODY_OFF);
		/* body length field, then seal with AD = bytes 0..139 */
		slot[136] = (uint8_t)BODY_SEALED;
		slot[137] = (uint8_t)(BODY_SEALED >> 8);
		slot[138] = slot[139] = 0;
		seal_encrypt(dek, slot, BODY_OFF, body, sizeof(body),
			     slot + 112, slot + BODY_OFF);
	}
	r = container_header_parse(slot, &h);
	if (r == 0 && container_header_open(slot, dek, &h) == 0)
		check_opened(&h, dek);
	return 0;
}
