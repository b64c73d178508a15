/*
 * bdi.h - the kernel's dirty-page allowance for our mount.
 *
 * With the writeback cache the kernel holds written pages and sends them
 * later; pages of one chunk that arrive together cost one sealing of the
 * chunk instead of one each.  For a FUSE mount the kernel caps dirty pages
 * at a small share of its limit (strict_limit, max_ratio 1%), so random
 * writes reach the daemon nearly one page at a time and each reseals a
 * whole chunk.  Root may give the mount's "backing device info"
 * (/sys/class/bdi/MAJ:MIN) a guaranteed share instead: min_bytes.  The
 * strict limit stays, so a stuck daemon can still hold no more than that.
 * The reservation ends with the mount (the kernel drops the bdi).
 */
#ifndef VAULTFS_BDI_H
#define VAULTFS_BDI_H

#include <stdint.h>

/*
 * Find in mountinfo (the text of /proc/self/mountinfo, NUL-terminated) the
 * last mount of file system type fstype (e.g. "fuse.vaultfs") on the
 * absolute path mountpoint, and return its device as *major, *minor.
 * 0, or -ENOENT when there is none.  Lines that do not parse are skipped.
 */
int bdi_find(const char *mountinfo, const char *mountpoint,
	     const char *fstype, unsigned *major, unsigned *minor)
	__attribute__((nonnull, warn_unused_result));

/*
 * Give the mount of type fstype on mountpoint room for at least bytes of
 * dirty pages: raise its max_bytes to bytes if lower, set its min_bytes.
 * At most 1/16 of the machine's memory.  When the kernel refuses that much
 * (other reservations), halves it down to 16 MiB.  *got is what was set (0 on failure).
 * 0, or a negative errno: -EACCES (not root), -ENOENT (no such mount, or a
 * kernel before 6.2 without min_bytes), -EINVAL (refused at every size).
 */
int bdi_reserve(const char *mountpoint, const char *fstype, uint64_t bytes,
		uint64_t *got)
	__attribute__((nonnull, warn_unused_result));

#endif
