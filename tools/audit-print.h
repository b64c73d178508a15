/*
 * audit-print.h - writing what the access log holds for people and for
 * programs: strings made safe for a terminal, JSON values, results and
 * verification findings, as vaultctl audit verify, show and report print
 * them.
 *
 * The log holds names and programs chosen by whoever made the files and
 * ran the processes: everything from a record goes through
 * audit_print_safe() (text) or audit_print_json() (JSON), so it cannot
 * drive a terminal or break a JSON line.  Plaintext paths are written to
 * the FILE given, which the callers keep to stdout.  No state;
 * thread-safe as stdio is.
 */
#ifndef VAULTFS_AUDIT_PRINT_H
#define VAULTFS_AUDIT_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../vaultfs/auditverify.h"

/*
 * s for a terminal: control characters (C0, DEL, C1), backslashes and
 * bytes that are not UTF-8 are written as \xNN.
 */
void audit_print_safe(FILE *f, const char *s) __attribute__((nonnull));

/*
 * s as a JSON string, escaped as auditrec_print_json() does (bytes that
 * are not UTF-8 as the text "\xNN"), or null when s is NULL.
 */
void audit_print_json(FILE *f, const char *s) __attribute__((nonnull(1)));

/* us as a JSON string: RFC 3339, UTC, microseconds. */
void audit_print_json_time(FILE *f, int64_t us) __attribute__((nonnull));

/*
 * A record's result, left-aligned in width columns: "ok", the errno name
 * of a negative errno ("ENOENT"), else the number.
 */
void audit_print_result(FILE *f, int32_t result, int width)
	__attribute__((nonnull));

/*
 * One line for a finding into out (cap bytes, truncated):
 * "seg-000000000002.log: record seq 10 (frame 7, byte offset 1736):
 * altered: record does not authenticate".  Findings about a whole segment
 * have no frame position.
 */
void audit_print_format_finding(const struct audit_problem *p, char *out,
				size_t cap) __attribute__((nonnull));

/* A finding as one JSON object (kind, damage, segment, seq, ...). */
void audit_print_finding_json(FILE *f, const struct audit_problem *p)
	__attribute__((nonnull));

#endif
