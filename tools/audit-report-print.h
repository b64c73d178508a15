/*
 * audit-report-print.h - vaultctl audit report's output on stdout: the
 * report collected by audit-report.c, as text for people or as one JSON
 * object.  Names, programs and paths from the log go through
 * audit_print_safe() / audit_print_json().  Not thread-safe (stdio).
 */
#ifndef VAULTFS_AUDIT_REPORT_PRINT_H
#define VAULTFS_AUDIT_REPORT_PRINT_H

#include "audit-read.h"
#include "audit-report.h"

/*
 * The text report of rp for vault: window, verification status, records,
 * accounts, processes, bursts, integrity failures, denied accesses,
 * mounts and commands, gaps and damage findings (lists cut at 50 entries,
 * saying how many more there are).
 */
void audit_report_print_text(const char *vault,
			     const struct audit_report_opts *o,
			     const struct audit_read_tally *t,
			     const struct audit_report *rp)
	__attribute__((nonnull));

/* The same as one JSON object on one line (lists cut at 1000 entries). */
void audit_report_print_json(const char *vault,
			     const struct audit_report_opts *o,
			     const struct audit_read_tally *t,
			     const struct audit_report *rp)
	__attribute__((nonnull));

#endif
