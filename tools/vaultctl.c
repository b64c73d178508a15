/*
 * vaultctl.c - vaultctl(8): dispatch to one cmd_<verb>() per subcommand,
 * plus the helpers they share (vaultctl.h).
 */
#include "vaultctl.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vaultfs/harden.h"
#include "../vaultfs/log.h"
#include "../vaultfs/mountopts.h"
#include "../vaultfs/passphrase.h"
#include "../vaultfs/seal.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

#define VAULTCTL_ENTRY(verb, summary) { #verb, cmd_##verb, summary },
static const struct command commands[] = {
	VAULTCTL_COMMANDS(VAULTCTL_ENTRY)
};
#undef VAULTCTL_ENTRY

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- messages ---- */

/* After what is on stdout, so that both read in order on a terminal. */
static void message(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vaultctl_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("vaultctl: ", fmt, ap);
	va_end(ap);
}

void vaultctl_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("vaultctl: warning: ", fmt, ap);
	va_end(ap);
}

void vaultctl_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("vaultctl: note: ", fmt, ap);
	va_end(ap);
}

int vaultctl_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vaultctl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'vaultctl %s --help'\n", verb);
	return VAULTCTL_EXIT_USAGE;
}

int vaultctl_bad_option(const char *verb, int c, char **argv)
{
	/*
	 * getopt_long sets optopt to the letter of a bad short option (also
	 * inside "-xyz") and to 0 for an unknown long one; argv[optind - 1]
	 * is then the word.  For a missing argument, the word tells which.
	 */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0;

	if (c == ':') {
		if (is_long)
			return vaultctl_usage_error(verb, "option '%s' needs "
						    "an argument", arg);
		return vaultctl_usage_error(verb, "option '-%c' needs an "
					    "argument", optopt);
	}
	if (optopt != 0)
		return vaultctl_usage_error(verb, "unknown option '-%c'",
					    optopt);
	return vaultctl_usage_error(verb, "unknown option '%s'", arg);
}

static const char *const kdf_names[] = {
	[KEYSTORE_KDF_INTERACTIVE] = "interactive",
	[KEYSTORE_KDF_MODERATE] = "moderate",
	[KEYSTORE_KDF_SENSITIVE] = "sensitive",
};

int vaultctl_parse_kdf(const char *verb, const char *s,
		       enum keystore_kdf *kdf)
{
	for (size_t i = 0; i < sizeof(kdf_names) / sizeof(kdf_names[0]); i++) {
		if (strcmp(s, kdf_names[i]) == 0) {
			*kdf = (enum keystore_kdf)i;
			return 0;
		}
	}
	return vaultctl_usage_error(verb, "unknown --kdf preset '%s' (use "
				    "interactive, moderate or sensitive)", s);
}

const char *vaultctl_kdf_name(enum keystore_kdf kdf)
{
	return (size_t)kdf < sizeof(kdf_names) / sizeof(kdf_names[0]) ?
	       kdf_names[kdf] : "unknown";
}

int vaultctl_exit_status(int err)
{
	if (err == 0)
		return VAULTCTL_EXIT_OK;
	if (err == -EKEYREJECTED)
		return VAULTCTL_EXIT_PASSPHRASE;
	if (err == -ENOTTY)
		return VAULTCTL_EXIT_USAGE;
	return VAULTCTL_EXIT_FAILURE;
}

/* ---- passphrases ---- */

int vaultctl_passphrase(const char *passfile, const char *passfile_option,
			const char *prompt, bool confirm, char **pass,
			size_t *len)
{
	int r = passphrase_read(passfile, prompt, confirm, pass, len);

	if (r == 0)
		return 0;
	if (passfile != NULL) {
		if (r == -EINVAL)
			vaultctl_error("passphrase file '%s' holds no usable "
				       "passphrase: its first line is empty or "
				       "longer than %d bytes", passfile,
				       PASSPHRASE_MAX);
		else
			vaultctl_error("cannot read passphrase file '%s': %s",
				       passfile, strerror(-r));
		return r;
	}
	switch (r) {
	case -ENOTTY:
		vaultctl_error("no terminal to ask for the passphrase; give "
			       "it with %s FILE", passfile_option);
		break;
	case -EINVAL:
		vaultctl_error("empty passphrase, or longer than %d bytes; "
			       "nothing was changed", PASSPHRASE_MAX);
		break;
	case -EKEYREJECTED:
		vaultctl_error("the passphrases do not match; nothing was "
			       "changed, try again");
		break;
	case -EINTR:
		vaultctl_error("interrupted");
		break;
	default:
		vaultctl_error("cannot read the passphrase from the terminal: "
			       "%s", strerror(-r));
		break;
	}
	return r;
}

/* ---- dispatch ---- */

static void usage(FILE *f)
{
	fputs("usage: vaultctl [--audit-syslog[=SOCKET]] COMMAND [ARGS...]\n"
	      "       vaultctl COMMAND --help\n"
	      "       vaultctl --help\n"
	      "\n"
	      "Manage vaultfs vaults: encrypted, audited document stores.\n"
	      "\n"
	      "  --audit-syslog[=SOCKET]  also send the access-log segment that a\n"
	      "                           command writes (init, passwd, rotate,\n"
	      "                           fsck, audit rekey) to the syslog socket\n"
	      "                           (default /dev/log), as vaultfs -o\n"
	      "                           audit_syslog does\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Passphrases come from a passfile option (first line of the "
	      "file)\nor the terminal, never from the command line or the "
	      "environment.\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error, 3 wrong "
	      "passphrase\n(fsck: see 'vaultctl fsck --help').\n", f);
}

const char *vaultctl_audit_syslog;

/* "audit-syslog[=SOCKET]": checked as vaultfs checks -o audit_syslog. */
static int parse_syslog(const char *arg)
{
	static struct mount_opts o;
	char opt[PATH_MAX + 32];
	const char *bad = NULL;

	mountopts_init(&o);
	snprintf(opt, sizeof(opt), "audit_syslog%s",
		 arg + strlen("audit-syslog"));
	if (strchr(opt, ',') != NULL || mountopts_parse(&o, opt, &bad) < 0 ||
	    o.audit_syslog == NULL) {
		vaultctl_error("invalid --%s: the socket must be an absolute "
			       "path of at most 107 bytes", arg);
		return VAULTCTL_EXIT_USAGE;
	}
	vaultctl_audit_syslog = o.audit_syslog;	/* kept until exit */
	return VAULTCTL_EXIT_OK;
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	int r;

	if (seal_init() < 0) {
		vaultctl_error("cannot initialise libsodium");
		return VAULTCTL_EXIT_FAILURE;
	}
	r = harden_process();
	if (r < 0) {
		vaultctl_error("cannot disable core dumps: %s", strerror(-r));
		return VAULTCTL_EXIT_FAILURE;
	}
	log_init("vaultctl");

	if (argc < 2) {
		usage(stderr);
		return VAULTCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		return VAULTCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		/* "vaultctl help VERB" is "vaultctl VERB --help". */
		char *hargv[] = { argv[2], "--help", NULL };

		if (argc > 3) {
			vaultctl_error("'help' takes one command, not %d\n"
				       "try 'vaultctl --help'", argc - 2);
			return VAULTCTL_EXIT_USAGE;
		}
		cmd = find(argv[2]);
		if (cmd == NULL) {
			vaultctl_error("unknown command '%s'\ntry 'vaultctl "
				       "--help'", argv[2]);
			return VAULTCTL_EXIT_USAGE;
		}
		return cmd->fn(2, hargv);
	}
	if (strcmp(argv[1], "--audit-syslog") == 0 ||
	    strncmp(argv[1], "--audit-syslog=", 15) == 0) {
		r = parse_syslog(argv[1] + 2);
		if (r != VAULTCTL_EXIT_OK)
			return r;
		argc--;
		argv++;
		if (argc < 2) {
			usage(stderr);
			return VAULTCTL_EXIT_USAGE;
		}
	}
	if (argv[1][0] == '-') {
		vaultctl_error("unknown option '%s'\ntry 'vaultctl --help'",
			       argv[1]);
		return VAULTCTL_EXIT_USAGE;
	}
	cmd = find(argv[1]);
	if (cmd == NULL) {
		vaultctl_error("unknown command '%s'\ntry 'vaultctl --help'",
			       argv[1]);
		return VAULTCTL_EXIT_USAGE;
	}
	return cmd->fn(argc - 1, argv + 1);
}
