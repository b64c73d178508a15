/*
 * bdi.h - the kernel's dirty-page allowance and readahead for our mount.
 *
 * With the writeback cache the kernel holds written pages and sends them
 * later; pages of one chunk that arrive together cost one sealing of the
 * chunk instead of one each.  For a FUSE mount the kernel caps dirty pages
 * at a small share of its limit (strict_limit, max_ratio 1%), so random
 * writes reach the daemon nearly one page at a time and each reseals a
 * whole chunk.  Root may give the mount's "backing device info"
 * (/sys/class/bdi/MAJ:MIN) a guaranteed share instead: min_bytes.  The
 * strict limit stays, so a stuck daemon can still hold no more than that.
 * The reservation ends with the mount (the kernel drops the bdi), as does
 * the readahead size set here.
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
 * The directory /sys/class/bdi/MAJ:MIN of the mount of type fstype on
 * mountpoint (found with bdi_find()), opened O_DIRECTORY: a descriptor for
 * the calls below, or a negative errno (-ENOENT: no such mount).
 */
int bdi_open(const char *mountpoint, const char *fstype)
	__attribute__((nonnull, warn_unused_result));

/*
 * Give the mount whose bdi directory is open on bdi room for at least
 * bytes of dirty pages: raise its max_bytes to bytes if lower, set its
 * min_bytes.  At most 1/16 of the machine's memory.  When the kernel
 * refuses that much (other reservations), halves it down to 16 MiB.  *got
 * is what was set (0 on failure).  0, or a negative errno: -EACCES (not
 * root), -ENOENT (a kernel before 6.2 without min_bytes), -EINVAL
 * (refused at every size).
 */
int bdi_reserve(int bdi, uint64_t bytes, uint64_t *got)
	__attribute__((nonnull, warn_unused_result));

/*
 * Let the kernel read ahead up to bytes (rounded up to 4 KiB pages: a
 * smaller nonzero value must not turn readahead off) on the mount.  For
 * FUSE it keeps 128 KiB whatever the daemon asks for at INIT; 512 KiB
 * made reading a text corpus through vaultfs 16% faster, 1 MiB (with the
 * daemon's own 4 MiB ahead on the backing file) 6% more.  0 or a negative
 * errno.
 */
int bdi_read_ahead(int bdi, uint64_t bytes) __attribute__((warn_unused_result));

#endif
