/*
 * fuzz-decompress.c - decompress_chunk() on hostile frames.
 *
 * Input: a 2-byte little-endian n, then the frame.  expect is n itself
 * (0 .. 32767) when its top bit is clear, else (n & 0x7fff) * 32 (up to
 * 1 MiB, the largest chunk).  Checks that a failure zeroes dst and that
 * a success fills exactly expect bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, expect, i;
	uint8_t *dst;
	int err;

	if (size < 2)
		return 0;
	n = (size_t)data[0] | (size_t)data[1] << 8;
	expect = n & 0x8000 ? (n & 0x7fff) * 32 : n;
	dst = malloc(expect > 0 ? expect : 1);
	if (dst == NULL)
		return 0;
	memset(dst, 0xa5, expect);
	err = decompress_chunk(data + 2, size - 2, dst, expect);
	if (err != 0) {
		for (i = 0; i < expect; i++)
			if (dst[i] != 0)
				abort();
	}
	free(dst);
	return 0;
}
