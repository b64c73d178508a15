/*
 * audit-read.h - what vaultctl audit verify, show and report share:
 * open the access log of a vault (VAULT/audit/, or a directory of
 * archived segments), load the auditor's key with its passphrase, walk and
 * verify the whole log (auditverify_run(), vaultfs/auditverify.h), compare
 * with or read the copy forwarded to syslog (--syslog, audit-syslog.h),
 * check the head file, and count what was found.
 *
 * The walk needs no vault passphrase and takes no lock: the log is
 * append-only and each segment is read as it is, so a mounted vault can
 * be examined (its open segment is then reported as "open").  Decrypted
 * records, plaintext paths included, go to the verb's callbacks only;
 * nothing of them reaches a file of ours or stderr from here.  The
 * auditor's secret key lives in sodium_malloc memory and is freed before
 * audit_read_run() returns.  Not thread-safe (stdio).
 */
#ifndef VAULTFS_AUDIT_READ_H
#define VAULTFS_AUDIT_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../vaultfs/auditverify.h"

/*
 * One auditor key: --auditor-key K, and the --auditor-passfile AF given
 * in the same position (the n-th passfile goes with the n-th key).
 */
struct audit_read_key {
	const char *keyfile;
	const char *passfile;		/* NULL: ask on the terminal */
};

/*
 * Which log, with which keys: the options every audit verb takes.  More
 * than one key reads a log whose auditor key was changed ('vaultctl audit
 * rekey'): each segment is read with the key it is sealed to.
 */
struct audit_read_source {
	const char *vault;		/* VAULT operand */
	size_t nkeys;			/* 1..AUDITVERIFY_MAX_KEYS */
	struct audit_read_key keys[AUDITVERIFY_MAX_KEYS];
	const char *syslog;		/* --syslog FILE, or NULL; one key */
};

/*
 * The verb's part of the walk.  Callbacks get arg; a non-zero return
 * stops the walk and makes audit_read_run() fail with that error (use a
 * negative errno).
 */
struct audit_read_ops {
	/* Each authentic record of the local log; NULL: not wanted. */
	int (*record)(void *arg, const struct audit_record *r,
		      const struct audit_position *pos);
	/*
	 * Each finding (local log, forwarded copy, head file), after it is
	 * counted in the tally; NULL: not wanted.
	 */
	int (*finding)(void *arg, const struct audit_problem *p);
	/*
	 * --syslog: true compares the forwarded copy with the local log
	 * (audit_syslog_verify(); damage comes as findings), false delivers
	 * its authentic records to syslog_record (audit_syslog_records()).
	 */
	bool syslog_compare;
	int (*syslog_record)(void *arg, const struct audit_record *r,
			     const struct audit_position *pos);
	/* One line of information about the forwarded copy. */
	void (*syslog_note)(void *arg, const char *text);
};

/* What the walk found. */
struct audit_read_tally {
	struct auditverify_summary sum;	/* of the local log */
	uint64_t damage, notes;		/* findings of each class, all
					 * sources */
	struct audit_problem first_damage;	/* valid when damage > 0 */
	/*
	 * Of the damage: wrong_key findings (segments sealed to auditor
	 * keys not given, t->sum tells which), the rest, and the first of
	 * the rest (valid when other_damage > 0).
	 */
	uint64_t wrong_key, other_damage;
	struct audit_problem first_other_damage;
	uint64_t history_seg, history_seq;	/* where the retained
						 * history starts; 0: none
						 * archived */
	char dir[4200];			/* the log directory, for messages */
};

/*
 * Walk the log of src with ops (see the top of this file), filling *t.
 * Returns 0 when the whole log was read (t->damage tells whether it is
 * intact; the verb prints its output next), or else the exit status
 * after printing why on stderr: VAULTCTL_EXIT_FAILURE (no log, unreadable
 * or wrong key, a callback's error, output error), VAULTCTL_EXIT_USAGE (no
 * passfile and no terminal) or VAULTCTL_EXIT_PASSPHRASE.
 */
int audit_read_run(const struct audit_read_source *src,
		   const struct audit_read_ops *ops, void *arg,
		   struct audit_read_tally *t)
	__attribute__((nonnull(1, 2, 4), warn_unused_result));

/*
 * Explain an error of auditkey_load() (or auditkey_change_passphrase()
 * reading the file) for keyfile on stderr; returns the exit status: 0 for
 * 0, VAULTCTL_EXIT_PASSPHRASE for -EKEYREJECTED, else
 * VAULTCTL_EXIT_FAILURE.
 */
int audit_read_key_error(const char *keyfile, int err) __attribute__((nonnull));

/*
 * When segments are sealed to auditor keys not given (t->wrong_key > 0):
 * one line naming how many, their numbers and public key fingerprints,
 * and what to do ("give those keys too").  Nothing otherwise.
 */
void audit_read_print_other_keys(FILE *f, const struct audit_read_tally *t)
	__attribute__((nonnull));

/*
 * The one-line summary of t ("3 segments (numbers 1..3), 42 authentic
 * records (seq 1..42), complete history; 0 damage findings, 1 note").
 */
void audit_read_print_summary(FILE *f, const struct audit_read_tally *t)
	__attribute__((nonnull));

/*
 * After the verb's output: flush stdout and return the exit status, 0
 * for an intact log, 1 for damage or when the output could not be
 * written (message printed).
 */
int audit_read_status(const struct audit_read_tally *t)
	__attribute__((nonnull, warn_unused_result));

#endif
