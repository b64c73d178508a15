/* compress.c - see compress.h.  The only includer of zstd.h. */
#include "compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

/*
 * Chunks are at most 1 MiB, so no legitimate frame needs a window above
 * 2^20.  One-shot decoding into dst never allocates a window anyway, but the
 * limit keeps a hostile frame from asking for one should the decoder ever
 * switch to streaming.
 */
#define DECOMPRESS_WINDOW_LOG_MAX 21

/*
 * Incompressibility probe: compress PROBE_BYTES at the start, middle and
 * end of src at level 1 and give up when none saves 1/PROBE_MIN_SAVING_DIV
 * (about 3 %).  Measured (zstd 1.5.4, random data, 2-core VM): without it
 * a 64 KiB chunk takes 137 us at level 5 and 2.6 ms at level 19, a 1 MiB
 * chunk 150-200 us at levels 1-4 and 51 ms at level 19; with it 7-11 us in
 * every case.  Up to level 4 on small chunks zstd's own fast path already
 * rejects random data in 6-8 us while the probe would add ~15 us (1/16 of
 * the work) to every compressible 64 KiB chunk, so it is skipped there.
 */
#define PROBE_BYTES 4096
#define PROBE_MIN_SAVING_DIV 32
#define PROBE_MIN_LEN (4 * PROBE_BYTES)
#define PROBE_FAST_LEVEL_MAX 4
#define PROBE_ALWAYS_LEN (256 * 1024)

/*
 * The probe has its own context: switching one context between probe and
 * real parameters forces zstd to clear its match tables on every call,
 * which doubled the time of level 9 on 1 MiB of text.
 */
struct zctx {
	ZSTD_CCtx *c;
	ZSTD_CCtx *probe;
	ZSTD_DCtx *d;
	int c_level;		/* what c is set up for (0: nothing yet) */
	int c_hash_log;
};

/*
 * Level 1 with a smaller match table than zstd picks: the table then stays
 * in the L1/L2 cache.  Measured on the bench's text corpus (zstd 1.5.4,
 * 2-core VM, one thread compressing it chunk by chunk, best of 3): 64 KiB
 * chunks 386 -> 460 MB/s for 27.4 -> 29.1 % stored with hashLog 11; from
 * 128 KiB on, hashLog 12 is as fast (1 MiB: 469 -> 557 MB/s, 25.1 ->
 * 27.2 %) and costs less ratio.  0: zstd's own choice.
 */
static int hash_log_for(int level, size_t len)
{
	if (level != 1)
		return 0;
	return len <= 64 * 1024 ? 11 : 12;
}

/* Point c at level and hash log, unless it is there already. */
static int cctx_setup(struct zctx *z, int level, int hash_log)
{
	if (z->c_level == level && z->c_hash_log == hash_log)
		return 0;
	z->c_level = 0;
	if (ZSTD_isError(ZSTD_CCtx_reset(z->c,
				       ZSTD_reset_session_and_parameters)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c,
						ZSTD_c_compressionLevel,
						level)) ||
	    (hash_log && ZSTD_isError(ZSTD_CCtx_setParameter(z->c,
						ZSTD_c_hashLog,
						hash_log))))
		return -EIO;
	z->c_level = level;
	z->c_hash_log = hash_log;
	return 0;
}

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_err;

static void zctx_free(void *p)
{
	struct zctx *z = p;

	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeCCtx(z->probe);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void make_key(void)
{
	/* The destructor frees the contexts of threads that just exit. */
	key_err = pthread_key_create(&key, zctx_free);
}

static struct zctx *get_zctx(void)
{
	struct zctx *z;

	if (pthread_once(&key_once, make_key) != 0 || key_err != 0)
		return NULL;
	z = pthread_getspecific(key);
	if (z != NULL)
		return z;
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	if (pthread_setspecific(key, z) != 0) {
		free(z);
		return NULL;
	}
	return z;
}

static ZSTD_CCtx *get_cctx(int probe)
{
	struct zctx *z = get_zctx();
	ZSTD_CCtx **c;

	if (z == NULL)
		return NULL;
	c = probe ? &z->probe : &z->c;
	if (*c == NULL)
		*c = ZSTD_createCCtx();
	return *c;
}

static ZSTD_DCtx *get_dctx(void)
{
	struct zctx *z = get_zctx();

	if (z == NULL)
		return NULL;
	if (z->d == NULL) {
		z->d = ZSTD_createDCtx();
		if (z->d == NULL)
			return NULL;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(z->d,
				ZSTD_d_windowLogMax,
				DECOMPRESS_WINDOW_LOG_MAX))) {
			ZSTD_freeDCtx(z->d);
			z->d = NULL;
		}
	}
	return z->d;
}

void compress_thread_release(void)
{
	struct zctx *z;

	if (pthread_once(&key_once, make_key) != 0 || key_err != 0)
		return;
	z = pthread_getspecific(key);
	if (z == NULL)
		return;
	pthread_setspecific(key, NULL);
	zctx_free(z);
}

static int zstd_errno(size_t ret)
{
	switch (ZSTD_getErrorCode(ret)) {
	case ZSTD_error_dstSize_tooSmall:
		return -ENOSPC;
	case ZSTD_error_memory_allocation:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * True when a cheap look at src says it will not compress: samples at the
 * start, middle and end all fail to save PROBE_MIN_SAVING_DIV at level 1.
 * Three samples so that an incompressible header in front of compressible
 * data does not throw the chunk's saving away.
 */
static int looks_incompressible(int level, const uint8_t *src, size_t len)
{
	ZSTD_CCtx *c;
	uint8_t out[PROBE_BYTES - PROBE_BYTES / PROBE_MIN_SAVING_DIV];
	size_t at[3] = { 0, len / 2 - PROBE_BYTES / 2, len - PROBE_BYTES };
	size_t i, ret;

	if (len < PROBE_MIN_LEN ||
	    (level <= PROBE_FAST_LEVEL_MAX && len < PROBE_ALWAYS_LEN))
		return 0;
	c = get_cctx(1);
	if (c == NULL)
		return 0;
	for (i = 0; i < 3; i++) {
		ret = ZSTD_compressCCtx(c, out, sizeof(out), src + at[i],
					PROBE_BYTES, 1);
		if (!ZSTD_isError(ret))
			return 0;
	}
	return 1;
}

int compress_chunk(int level, const void *src, size_t len, void *dst,
		   size_t cap, size_t *outlen)
{
	ZSTD_CCtx *c;
	size_t ret, dstcap;
	int r;

	if (level < 0 || level > COMPRESS_LEVEL_MAX)
		return -EINVAL;
	if (level == 0 || len < 2)
		return -ENOSPC;
	if (looks_incompressible(level, src, len))
		return -ENOSPC;
	c = get_cctx(0);
	if (c == NULL)
		return -ENOMEM;
	r = cctx_setup(get_zctx(), level, hash_log_for(level, len));
	if (r < 0)
		return r;
	/*
	 * Only a strictly smaller result counts, so cap the output at len - 1:
	 * zstd then stops with dstSize_tooSmall instead of emitting raw
	 * blocks we would throw away.
	 */
	dstcap = len - 1 < cap ? len - 1 : cap;
	ret = ZSTD_compress2(c, dst, dstcap, src, len);
	if (ZSTD_isError(ret))
		return zstd_errno(ret);
	*outlen = ret;
	return 0;
}

int decompress_chunk(const void *src, size_t len, void *dst, size_t expect)
{
	unsigned long long csize;
	ZSTD_DCtx *d;
	size_t ret;
	int err = -EBADMSG;

	/* The frame must declare exactly expect bytes ... */
	csize = ZSTD_getFrameContentSize(src, len);
	if (csize == ZSTD_CONTENTSIZE_UNKNOWN ||
	    csize == ZSTD_CONTENTSIZE_ERROR || csize != expect)
		goto fail;
	/* ... and be the only thing in src (no trailing or skippable frames). */
	ret = ZSTD_findFrameCompressedSize(src, len);
	if (ZSTD_isError(ret) || ret != len)
		goto fail;
	d = get_dctx();
	if (d == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	ret = ZSTD_decompressDCtx(d, dst, expect, src, len);
	if (ZSTD_isError(ret)) {
		if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
			err = -ENOMEM;
		goto fail;
	}
	if (ret != expect)
		goto fail;
	return 0;

fail:
	if (expect > 0)
		memset(dst, 0, expect);
	return err;
}
