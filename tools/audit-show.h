/*
 * audit-show.h - vaultctl audit show: print the authentic records of the
 * access log (or, with --syslog, of the copy forwarded to syslog) that pass
 * every filter, as a table or one JSON object per line, on stdout.
 *
 * The whole log is verified as it is read: on damage every record that
 * still authenticates is printed (those read after damage marked), the
 * damage is reported on stderr by segment and seq only (no plaintext)
 * and the exit status is 1.
 */
#ifndef VAULTFS_AUDIT_SHOW_H
#define VAULTFS_AUDIT_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit-read.h"
#include "audit-time.h"
#include "../vaultfs/auditrec.h"

/* The filters (all given must match) and the form. */
struct audit_show_opts {
	struct audit_time_window window;	/* --since, --until */
	bool has_uid, has_pid;
	uint32_t uid, pid;			/* --uid, --pid */
	const char *comm_glob;			/* --comm, or NULL */
	const char *path_glob;			/* --path (path or new path) */
	bool has_events;
	bool events[256];			/* --event, by event & 0xff */
	char doc[2 * AUDITREC_DOC_ID_BYTES + 1];	/* --doc: lower-case
							 * hex prefix */
	size_t doclen;				/* 0: no --doc */
	bool json;				/* --json */
};

/*
 * Returns the exit status: 0 intact log, 1 damaged log or failure, 2
 * usage (no terminal for the passphrase), 3 wrong auditor passphrase.
 */
int audit_show_run(const struct audit_read_source *src,
		   const struct audit_show_opts *o)
	__attribute__((nonnull, warn_unused_result));

#endif
