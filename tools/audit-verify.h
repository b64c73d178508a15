/*
 * audit-verify.h - vaultctl audit verify: check every segment, record and
 * link of the access log (and, with --syslog, compare with the forwarded
 * copy); list each finding on stdout, then whether the log is intact, its
 * first bad record and a summary.
 */
#ifndef VAULTFS_AUDIT_VERIFY_H
#define VAULTFS_AUDIT_VERIFY_H

#include "audit-read.h"

/*
 * Returns the exit status: 0 intact, 1 damage or failure, 2 usage
 * (no terminal for the passphrase), 3 wrong auditor passphrase.
 */
int audit_verify_run(const struct audit_read_source *src)
	__attribute__((nonnull, warn_unused_result));

#endif
