/* t-compress.c - compress.c: round trips, refusals, hostile frames. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/compress.h"
#include "../../vaultfs/seal.h"
#include "../tap.h"

#define BIG (1u << 20)

static uint8_t text[BIG], rnd[BIG], out[BIG], back[BIG];

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * Words in an order from a fixed-seed generator: with random ones, the
 * first 100 bytes now and then did not compress and "short text" failed
 * (once in a CI run of session 3).
 */
static void fill_text(void)
{
	static const char *words[] = {
		"vault", "document", "encrypted", "at", "rest", "the", "key",
		"chunk", "audit", "log", "record", "of", "a", "rotation",
	};
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	size_t i = 0, w = 0;
	uint32_t r;

	while (i < BIG) {
		size_t n;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		r = (uint32_t)((x * 2685821657736338717ULL) >> 32);
		w = r % (sizeof(words) / sizeof(words[0]));
		n = strlen(words[w]);
		if (n + 1 > BIG - i)
			n = BIG - i - 1;
		memcpy(text + i, words[w], n);
		i += n;
		if (i < BIG)
			text[i++] = (r >> 16) % 11 == 0 ? '\n' : ' ';
	}
}

static void round_trip(const uint8_t *src, size_t len, int level,
		       const char *what)
{
	size_t olen = 0;
	int err;

	err = compress_chunk(level, src, len, out, sizeof(out), &olen);
	is_int(err, 0, "%s (%zu bytes, level %d) compresses", what, len,
	       level);
	if (err != 0)
		return;
	ok(olen < len, "%s: %zu < %zu", what, olen, len);
	memset(back, 0xa5, len);
	is_int(decompress_chunk(out, olen, back, len), 0,
	       "%s: decompresses", what);
	is_mem(back, src, len, "%s: round trip", what);
}

static void test_round_trips(void)
{
	round_trip(text, 4096, 1, "text");
	round_trip(text, 65536, COMPRESS_LEVEL_DEFAULT, "text");
	round_trip(text, BIG, COMPRESS_LEVEL_DEFAULT, "text");
	round_trip(text, 65536, COMPRESS_LEVEL_MAX, "text");
	round_trip(text, 100, 5, "short text");
}

static void test_refusals(void)
{
	size_t olen = 12345, sizes[] = { 100, 4096, 65536, BIG };
	int levels[] = { 1, 3, 5, 19 };
	size_t i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++) {
			if (sizes[i] == BIG && levels[j] > 5)
				continue;	/* slow without the probe */
			is_int(compress_chunk(levels[j], rnd, sizes[i], out,
					      sizeof(out), &olen),
			       -ENOSPC, "random %zu bytes at level %d: ENOSPC",
			       sizes[i], levels[j]);
		}
	is_int(compress_chunk(0, text, 65536, out, sizeof(out), &olen),
	       -ENOSPC, "level 0 is ENOSPC");
	is_int(compress_chunk(-1, text, 65536, out, sizeof(out), &olen),
	       -EINVAL, "level -1 is EINVAL");
	is_int(compress_chunk(COMPRESS_LEVEL_MAX + 1, text, 65536, out,
			      sizeof(out), &olen),
	       -EINVAL, "level max+1 is EINVAL");
	is_int(compress_chunk(1, text, 0, out, sizeof(out), &olen), -ENOSPC,
	       "empty input is ENOSPC");
	is_int(compress_chunk(1, text, 1, out, sizeof(out), &olen), -ENOSPC,
	       "one byte is ENOSPC");
	is_int(compress_chunk(3, text, 65536, out, 16, &olen), -ENOSPC,
	       "result larger than cap is ENOSPC");
	is_int(olen, 12345, "outlen untouched on refusal");

	/*
	 * An incompressible 4 KiB header in front of compressible data must
	 * still compress (the probe samples more than the start).
	 */
	memcpy(back, text, BIG);
	memcpy(back, rnd, 8192);
	is_int(compress_chunk(9, back, 65536, out, sizeof(out), &olen), 0,
	       "random head + text compresses at level 9");
	memcpy(back, text, BIG);
	memcpy(back + BIG - 300000, rnd, 300000);
	memcpy(back, rnd, 300000);
	is_int(compress_chunk(1, back, BIG, out, sizeof(out), &olen), 0,
	       "random head and tail + text in the middle compresses");
}

/* decompress_chunk must fail with EBADMSG and leave dst zeroed. */
static void bad(const void *src, size_t len, size_t expect, const char *what)
{
	memset(back, 0xa5, expect);
	is_int(decompress_chunk(src, len, back, expect), -EBADMSG, "%s", what);
	ok(all_zero(back, expect), "%s: dst zeroed", what);
}

static void test_bad_frames(void)
{
	uint8_t frame[4096], two[8192 + 16];
	size_t olen = 0, i, rejected = 0, dirty = 0;
	/* zstd frame header: magic, FHD 0xe0 (single segment, 8-byte size) */
	static const uint8_t huge[] = {
		0x28, 0xb5, 0x2f, 0xfd, 0xe0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
		0x01, 0x00, 0x00,
	};
	/* FHD 0x00: no content size, window descriptor 0x58 (2^21) */
	static const uint8_t nosize[] = {
		0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x01, 0x00, 0x00,
	};

	if (compress_chunk(3, text, 4096, out, sizeof(out), &olen) != 0 ||
	    olen > sizeof(frame))
		abort();
	memcpy(frame, out, olen);

	is_int(decompress_chunk(frame, olen, back, 4096), 0, "good frame");
	bad(frame, olen, 4095, "expect one less than the frame says");
	bad(frame, olen, 4097, "expect one more than the frame says");
	bad(frame, olen - 1, 4096, "truncated by one byte");
	bad(frame, olen / 2, 4096, "truncated to half");
	bad(frame, 3, 4096, "truncated inside the magic");
	bad(frame, 0, 4096, "empty input");
	/*
	 * Without a checksum some flips (in literals) decode to other bytes
	 * of the right size; the AEAD catches those.  Every flip zstd does
	 * see must leave dst zeroed.
	 */
	for (i = 4; i < olen; i++) {
		uint8_t t[4096];

		memcpy(t, frame, olen);
		t[i] ^= 0x5a;
		memset(back, 0xa5, 4096);
		if (decompress_chunk(t, olen, back, 4096) == 0)
			continue;
		rejected++;
		if (!all_zero(back, 4096))
			dirty++;
	}
	ok(rejected > 0, "%zu of %zu bit flips rejected", rejected, olen - 4);
	is_int(dirty, 0, "every rejected flip left dst zeroed");
	bad("garbage that is not a zstd frame", 32, 4096, "garbage");
	bad(huge, sizeof(huge), 65536, "frame declaring a huge size");
	bad(nosize, sizeof(nosize), 0, "frame without content size");

	/* A second frame after the first, even an empty one, is refused. */
	memcpy(two, frame, olen);
	memcpy(two + olen, frame, olen);
	bad(two, 2 * olen, 4096, "two frames");
	bad(two, 2 * olen, 8192, "two frames, expect both");
	memcpy(two, frame, olen);
	memcpy(two + olen, "\x50\x2a\x4d\x18\x00\x00\x00\x00", 8);
	bad(two, olen + 8, 4096, "trailing skippable frame");
	memcpy(two, "\x50\x2a\x4d\x18\x00\x00\x00\x00", 8);
	memcpy(two + 8, frame, olen);
	bad(two, olen + 8, 4096, "leading skippable frame");
}

static void *thread_main(void *arg)
{
	size_t olen = 0;
	int *fails = arg;
	uint8_t *o = malloc(65536), *b = malloc(65536);
	int i;

	for (i = 0; i < 20 && o != NULL && b != NULL; i++) {
		if (compress_chunk(1 + i % 5, text + i * 1000, 65536, o,
				   65536, &olen) != 0 ||
		    decompress_chunk(o, olen, b, 65536) != 0 ||
		    memcmp(b, text + i * 1000, 65536) != 0)
			(*fails)++;
	}
	if (o == NULL || b == NULL)
		(*fails)++;
	free(o);
	free(b);
	compress_thread_release();
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	int fails[4] = { 0 }, i, total = 0;

	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, thread_main, &fails[i]) != 0)
			fails[i] = 100;
	for (i = 0; i < 4; i++)
		if (fails[i] != 100)
			pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		total += fails[i];
	is_int(total, 0, "4 threads compress and decompress concurrently");
	compress_thread_release();
	compress_thread_release();
	round_trip(text, 65536, 3, "text after release");
}

int main(void)
{
	is_int(seal_init(), 0, "seal_init");
	seal_random(rnd, sizeof(rnd));
	fill_text();

	test_round_trips();
	test_refusals();
	test_bad_frames();
	test_threads();
	return done_testing();
}
