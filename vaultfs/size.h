/*
 * size.h - byte counts as people write them: "65536", "64K", "256MiB".
 *
 * Shared by vaultctl init --chunk-size and the dirty_min and read_ahead
 * mount options, so all take the same suffixes.  Thread-safe.
 */
#ifndef VAULTFS_SIZE_H
#define VAULTFS_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse the len bytes at s: decimal digits, then nothing or one of K, k,
 * KiB, M, m, MiB, G, g, GiB (powers of 1024).  0 and *out set, or -EINVAL
 * (empty, a sign or space, another suffix, above UINT64_MAX).
 */
int size_parse(const char *s, size_t len, uint64_t *out)
	__attribute__((nonnull, warn_unused_result));

#endif
