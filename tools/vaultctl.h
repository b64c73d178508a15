/*
 * vaultctl.h - what the vaultctl subcommands share: exit codes, the command
 * list, message, option and passphrase helpers, access log records.
 * Opening and unlocking a vault: vault-open.h.
 *
 * A subcommand is int cmd_<verb>(int argc, char **argv) in
 * tools/cmd-<verb>.c: argv[0] is the verb, options follow (parse them with
 * getopt_long; optind is 1 on entry), and it returns the process exit
 * status.  It writes its own messages (stderr, STYLE.md wording: problem
 * first, subject quoted, what to do).  main() has already called
 * seal_init(), harden_process() and log_init("vaultctl").
 */
#ifndef VAULTFS_VAULTCTL_H
#define VAULTFS_VAULTCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "../keys/keystore.h"

struct vault_settings;

/* Exit status of vaultctl (fsck maps a key error to 2, as the brief says). */
#define VAULTCTL_EXIT_OK 0
#define VAULTCTL_EXIT_FAILURE 1		/* the command failed */
#define VAULTCTL_EXIT_USAGE 2		/* bad command line */
#define VAULTCTL_EXIT_PASSPHRASE 3	/* wrong passphrase */

/*
 * The commands, in the order `vaultctl --help` lists them:
 * X(verb, "one-line summary").  Adding a command is one line here plus
 * tools/cmd-<verb>.c; the prototypes and the dispatch table follow.
 */
#define VAULTCTL_COMMANDS(X) \
	X(init, "create a new, empty vault") \
	X(fsck, "check that every document and name authenticates") \
	X(passwd, "change the vault passphrase") \
	X(keys, "list key versions, their documents and the vault settings") \
	X(rotate, "new key version for every document (--reencrypt: new data keys)") \
	X(audit, "verify, show and summarise the access log (auditor key)")

#define VAULTCTL_DECLARE(verb, summary) int cmd_##verb(int argc, char **argv);
VAULTCTL_COMMANDS(VAULTCTL_DECLARE)
#undef VAULTCTL_DECLARE

/*
 * Messages, on stderr after flushing stdout.  They name the vault, file,
 * option or backing path at fault, never a decrypted name: lines that
 * name documents by their path in the vault are reports the administrator
 * asked for, on stdout (fsck's and rotate's per-document lines).
 */

/* "vaultctl: <message>\n" on stderr. */
void vaultctl_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* "vaultctl: warning: <message>\n" on stderr. */
void vaultctl_warning(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* "vaultctl: note: <message>\n" on stderr: information, not a problem. */
void vaultctl_note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * "vaultctl <verb>: <message>\ntry 'vaultctl <verb> --help'\n" on stderr;
 * returns VAULTCTL_EXIT_USAGE.
 */
int vaultctl_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Report what getopt_long returned for a bad option (c is '?' for an
 * unknown option, ':' for a missing argument; call getopt_long with
 * opterr = 0 and an optstring starting with ':').  Returns
 * VAULTCTL_EXIT_USAGE.
 */
int vaultctl_bad_option(const char *verb, int c, char **argv);

/*
 * passphrase_read() that explains its failures on stderr: the passfile at
 * fault, no terminal (use --passfile), empty or mismatched input.
 * passfile_option names the option for messages ("--passfile").  Returns 0
 * (release *pass with passphrase_free()) or a negative errno.
 */
int vaultctl_passphrase(const char *passfile, const char *passfile_option,
			const char *prompt, bool confirm, char **pass,
			size_t *len)
	__attribute__((nonnull(2, 3, 5, 6), warn_unused_result));

/*
 * Exit status for a negative errno from the helpers above and from
 * vaultctl_open_vault() (vault-open.h): 0 for 0, VAULTCTL_EXIT_PASSPHRASE
 * for -EKEYREJECTED (a wrong passphrase), VAULTCTL_EXIT_USAGE for -ENOTTY
 * (no passfile and no terminal), else VAULTCTL_EXIT_FAILURE.
 */
int vaultctl_exit_status(int err);

/*
 * The Argon2id preset named s ("interactive", "moderate", "sensitive",
 * the values of --kdf) into *kdf: 0, or for any other name a usage error
 * of verb's, reported, and its exit status (VAULTCTL_EXIT_USAGE).
 */
int vaultctl_parse_kdf(const char *verb, const char *s,
		       enum keystore_kdf *kdf)
	__attribute__((nonnull, warn_unused_result));

/* The preset's name, as --kdf takes it. */
const char *vaultctl_kdf_name(enum keystore_kdf kdf);

/*
 * Append one record (event: an enum audit_event, e.g. AUDIT_EV_INIT) to
 * vault's access log in a segment of its own, with this process as the
 * actor and "host=... vault=..." plus detail (may be NULL) as its detail.
 * Prints why on failure and returns a negative errno (-EBUSY while the
 * vault is mounted).
 */
int vaultctl_record(const char *vault, const struct vault_settings *s,
		    int event, const char *detail)
	__attribute__((nonnull(1, 2), warn_unused_result));

/*
 * The syslog socket that vaultctl_record() also sends its segment to
 * (vaultctl --audit-syslog[=SOCKET]), or NULL.
 */
extern const char *vaultctl_audit_syslog;

#endif
