/*
 * compress.h - chunk compression; the only includer of zstd.h.
 *
 * Thread-safe: each thread keeps its own zstd contexts (created on first
 * use, freed by compress_thread_release() or at process exit).
 */
#ifndef VAULTFS_COMPRESS_H
#define VAULTFS_COMPRESS_H

#include <stddef.h>

/*
 * Valid levels: 0 (off) and 1 .. COMPRESS_LEVEL_MAX.  The default is 1:
 * on 64 KiB chunks of the bench's text corpus (make bench) level 1 stores
 * 30.5 % of the plain size against 29.6 % at level 3, and the daemon
 * spends 20 % less CPU writing it (456 against 567 ms for 128 MiB) and a
 * little less reading it.  Negative (fast) levels cost more space than
 * they save time: -1 stores 36 % for 3 % fewer instructions than level 1.
 * Level 1 runs with a smaller match table than zstd's (compress.c): 33 %
 * stored, for 4-8 % faster writing of that corpus.
 */
#define COMPRESS_LEVEL_DEFAULT 1
#define COMPRESS_LEVEL_MAX 19

/*
 * Compress len bytes of src into dst (cap bytes).  Returns 0 and sets
 * *outlen when the result is strictly smaller than len and fits in cap;
 * -ENOSPC when compression does not pay (the caller then stores src raw),
 * which is also the answer when level is 0.  Gives up early on data that
 * looks incompressible.  -EINVAL on a bad level, -ENOMEM when no zstd
 * context can be made, -EIO on an unexpected zstd error.
 */
int compress_chunk(int level, const void *src, size_t len, void *dst,
		   size_t cap, size_t *outlen)
	__attribute__((nonnull, warn_unused_result));

/*
 * Decompress src (len bytes) into dst, which must come out exactly expect
 * bytes long.  Anything else (corrupt frame, wrong size, a frame that
 * declares more than expect, extra frames) is -EBADMSG; -ENOMEM when no
 * context can be made.  dst is zeroed on every failure.
 */
int decompress_chunk(const void *src, size_t len, void *dst, size_t expect)
	__attribute__((nonnull, warn_unused_result));

/* Free this thread's contexts (FUSE worker threads call it on exit). */
void compress_thread_release(void);

#endif
