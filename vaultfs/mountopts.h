/*
 * mountopts.h - split a "-o" list into vaultfs's own mount options and
 * the ones passed on to libfuse (which rejects what it does not know).
 *
 * vaultfs's own:
 *   writeback / no_writeback   kernel writeback cache (default on)
 *   cache_timeout=SECONDS      attribute and entry cache, 0..86400
 *   direct_io                  no page cache for file data: every read
 *                              and write reaches the daemon, so the
 *                              access log counts bytes exactly (slower;
 *                              shared writable mmap is not available)
 *   default_permissions        accepted; the daemon always makes the
 *                              permission checks itself (perm.h)
 *   allow_other                passed on to libfuse, and noted (shared)
 *   audit_syslog[=SOCKET]      forward each access-log frame (sealed,
 *                              base64) to the syslog socket SOCKET, an
 *                              absolute path (default /dev/log);
 *                              auditfwd.h
 *   dirty_min=SIZE             room the kernel keeps for the mount's dirty
 *                              pages (size.h syntax; default 256M, 0 =
 *                              the kernel's own limit); bdi.h
 *   read_ahead=SIZE            the kernel's readahead on the mount
 *                              (default 1M, 0 = the kernel's); bdi.h
 */
#ifndef VAULTFS_MOUNTOPTS_H
#define VAULTFS_MOUNTOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mount_opts {
	bool writeback;
	bool direct_io;
	double timeout;		/* seconds */
	bool shared;		/* allow_other: several accounts use it */
	uint64_t dirty_min;	/* bytes; 0: leave the kernel's limit */
	uint64_t read_ahead;	/* bytes; 0: leave the kernel's */
	char *audit_syslog;	/* socket path, or NULL: no forwarding; malloc'd */
	char *fuse;		/* comma list for libfuse, or NULL; malloc'd */
};

#define MOUNTOPTS_DIRTY_MIN (UINT64_C(256) << 20)
#define MOUNTOPTS_READ_AHEAD (UINT64_C(1) << 20)

/* Defaults: writeback on, timeout 10 s, dirty_min MOUNTOPTS_DIRTY_MIN,
 * read_ahead MOUNTOPTS_READ_AHEAD, nothing for libfuse. */
void mountopts_init(struct mount_opts *o) __attribute__((nonnull));

/*
 * Parse one comma-separated list (one -o argument) into o; may be called
 * repeatedly.  Empty items are ignored.  -EINVAL for a bad value of one of
 * our options: *bad (if not NULL) then points into a static copy of the
 * offending item for the message.  -ENOMEM.
 */
int mountopts_parse(struct mount_opts *o, const char *list, const char **bad)
	__attribute__((nonnull(1, 2), warn_unused_result));

/* Free o->fuse and o->audit_syslog and reset to defaults. */
void mountopts_release(struct mount_opts *o) __attribute__((nonnull));

#endif
