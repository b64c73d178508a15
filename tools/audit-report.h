/*
 * audit-report.h - vaultctl audit report: summarise the access log, or
 * the records from --since to --until: per account (uid) and per process
 * (pid, comm, exe) the opens, distinct documents, bytes read and written,
 * denied accesses and integrity failures; bursts (an account or process
 * that opened at least burst_docs distinct documents within burst_window
 * seconds); integrity failures; denied accesses; mounts, unmounts and
 * vaultctl commands; gaps (segments that ended without their final
 * record); and whether the log verified.
 *
 * This module collects and analyses (struct audit_report, filled while the
 * log is walked); audit-report-print.h writes it as text or JSON.  The
 * report holds plaintext paths and program names from the log in ordinary
 * memory, for stdout only.
 */
#ifndef VAULTFS_AUDIT_REPORT_H
#define VAULTFS_AUDIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit-read.h"
#include "audit-time.h"
#include "intern.h"
#include "../vaultfs/auditrec.h"

#define AUDIT_REPORT_BURST_DOCS 50	/* default --burst-docs */
#define AUDIT_REPORT_BURST_WINDOW 60	/* default --burst-window, seconds */
#define AUDIT_REPORT_LIST_MAX 1000	/* entries kept per list */

struct audit_report_opts {
	struct audit_time_window window;	/* --since, --until */
	unsigned long burst_docs;	/* --burst-docs */
	unsigned long burst_window;	/* --burst-window, seconds */
	bool json;			/* --json */
};

/* An account (uid only) or a process (pid + comm + exe). */
struct audit_report_actor {
	uint32_t uid, pid;
	char *comm, *exe;		/* processes only; NULL if absent */
	uint64_t records, opens, docs, bytes_read, bytes_written;
	uint64_t denied, integrity;
	/* Largest number of distinct documents opened within the window. */
	uint64_t burst;
	int64_t burst_from, burst_to;
	uint64_t burst_seq_from, burst_seq_to;
};

/* A record kept for a list (strings copied). */
struct audit_report_kept {
	uint64_t seq;
	int64_t time_us;
	enum audit_event event;
	uint32_t uid, pid;
	int32_t result;
	char *comm, *exe, *path, *new_path, *detail;
};

/* The first AUDIT_REPORT_LIST_MAX of total. */
struct audit_report_kept_list {
	struct audit_report_kept *v;
	size_t n, cap;
	uint64_t total;
};

struct audit_report_findings {
	struct audit_problem *v;
	size_t n, cap;
	uint64_t total;
};

/* A segment as its records showed it (all of them, not just the window). */
struct audit_report_segment {
	uint64_t no;
	uint64_t first_seq, last_seq, records;
	int64_t first_us, last_us;
	enum audit_event last_event;
};

struct audit_report_open;		/* one successful open (audit-report.c) */

struct audit_report {
	struct intern docs, accounts, procs;
	struct intern pidcomm;		/* pid + comm -> last process */
	uint32_t *pidcomm_proc;
	size_t pidcommcap;
	/* Parallel to accounts / procs; sorted by uid, by pid and comm
	 * once the walk is over (the indexes then no longer apply). */
	struct audit_report_actor *acc, *proc;
	size_t acccap, proccap;
	struct audit_report_open *opens;
	size_t nopens, opencap;
	struct audit_report_kept_list integrity, denied, sessions;
	struct audit_report_findings findings;	/* all, damage and notes */
	struct audit_report_segment *segs;
	size_t nsegs, segcap;
	uint64_t records;		/* in the window */
	uint64_t first_seq, last_seq;	/* of those */
	int64_t first_us, last_us;
};

/*
 * Walk the log of src, then print the report on stdout.  Returns the exit
 * status: 0 intact log, 1 damaged log (the report is still printed) or
 * failure, 2 usage (no terminal for the passphrase), 3 wrong auditor
 * passphrase.
 */
int audit_report_run(const struct audit_read_source *src,
		     const struct audit_report_opts *o)
	__attribute__((nonnull, warn_unused_result));

#endif
