/*
 * access.h - what the daemon records in the access log, and how.
 *
 * Fills in who did it (uid, gid, pid, and the process name and executable
 * read from /proc) and appends one record through auditlog.h.  A NULL log
 * records nothing (tests and tools that run without one).
 *
 * Fail closed: access_record() returns the log's error; the caller refuses
 * the access it was about to grant (open, create) or reports the failure
 * of an operation already done (a mutation cannot be taken back), and the
 * message goes to syslog/stderr.  Thread-safe.
 */
#ifndef VAULTFS_ACCESS_H
#define VAULTFS_ACCESS_H

#include <stdint.h>

#include "auditrec.h"

struct auditlog;

struct access_event {
	enum audit_event event;
	uint32_t uid, gid, pid;		/* of the requesting process */
	const char *path;		/* plaintext path inside the vault */
	const char *new_path;		/* rename, link, symlink target */
	const uint8_t *doc_id;		/* NULL = unknown */
	int result;			/* 0 or -errno */
	uint32_t open_flags;
	uint64_t bytes_read, bytes_written;
	const char *detail;
	/* Process name and executable when known already (both NULL: read
	 * from /proc/pid now; "" = absent; longer than AUDIT_COMM_MAX or
	 * AUDIT_EXE_MAX: clipped and flagged AUDIT_RF_CLIPPED). */
	const char *comm, *exe;
};

/*
 * Read pid's process name and executable ("" when it has exited), for
 * recording later when the process may be gone (a close).  The
 * executable is read each time; the name may be remembered for up to a
 * second while the pid runs the same executable.  Thread-safe.
 */
void access_who(uint32_t pid, char comm[AUDIT_COMM_MAX + 1],
		char exe[AUDIT_EXE_MAX + 1]) __attribute__((nonnull));

/*
 * Space kept for the log on a full backing store: fd is a file of
 * preallocated blocks (owned by the caller).  When the record of an
 * unlink, rmdir or truncate fails with ENOSPC, the file is emptied once
 * and the append retried, so that what frees space can still be recorded
 * (other accesses stay refused); a critical message says so.  -1: none.
 */
void access_set_reserve(int fd);

/* Append ev to log (no-op when log is NULL).  0 or -errno. */
int access_record(struct auditlog *log, const struct access_event *ev)
	__attribute__((nonnull(2), warn_unused_result));

/*
 * Close the log with ev as its final record (auditlog_close()); frees log
 * whatever happens.  NULL log: nothing.  0 or -errno.
 */
int access_close(struct auditlog *log, const struct access_event *ev)
	__attribute__((nonnull(2)));

#endif
