/*
 * vaultctl.c - vaultctl(8): dispatch to one cmd_<verb>() per subcommand,
 * plus the helpers they share (vaultctl.h).
 */
#include "vaultctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../keys/keystore.h"
#include "../vaultfs/harden.h"
#include "../vaultfs/log.h"
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

void vaultctl_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vaultctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vaultctl_warning(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vaultctl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

int vaultctl_exit_status(int err)
{
	if (err == 0)
		return VAULTCTL_EXIT_OK;
	if (err == -EKEYREJECTED)
		return VAULTCTL_EXIT_PASSPHRASE;
	return VAULTCTL_EXIT_FAILURE;
}

/* ---- passphrases and unlocking ---- */

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

/*
 * Explain a keystore error for vault; returns err.  unlocked: the error
 * came from keystore_open() (else from the check before the passphrase).
 */
static int keystore_message(const char *vault, int err, uint32_t format,
			    bool unlocked)
{
	struct stat st;

	switch (err) {
	case -ENOENT:
		if (stat(vault, &st) < 0)
			vaultctl_error("no vault at '%s': %s", vault,
				       strerror(errno));
		else
			vaultctl_error("no vault at '%s': '%s/%s' does not "
				       "exist; create a vault with 'vaultctl "
				       "init'", vault, vault, KEYSTORE_FILE);
		break;
	case -ENOTDIR:
		vaultctl_error("no vault at '%s': not a directory", vault);
		break;
	case -EKEYREJECTED:
		vaultctl_error("wrong passphrase for vault '%s'", vault);
		break;
	case -EBADMSG:
		if (!unlocked)
			vaultctl_error("'%s/%s' is not a vault key store (or "
				       "its first bytes are damaged); restore "
				       "it from a backup", vault, KEYSTORE_FILE);
		else
			vaultctl_error("key store '%s/%s' is damaged or has "
				       "been tampered with; restore it from a "
				       "backup", vault, KEYSTORE_FILE);
		break;
	case -EPROTONOSUPPORT:
		vaultctl_error("key store '%s/%s' has format %u, newer than "
			       "this vaultctl understands (%d); upgrade vaultfs",
			       vault, KEYSTORE_FILE, (unsigned)format,
			       KEYSTORE_FORMAT);
		break;
	case -ENOMEM:
		vaultctl_error("not enough memory to unlock vault '%s' (the "
			       "key derivation needs up to 1 GiB)", vault);
		break;
	default:
		vaultctl_error("cannot read key store '%s/%s': %s", vault,
			       KEYSTORE_FILE, strerror(-err));
		break;
	}
	return err;
}

int vaultctl_unlock(const char *vault, const char *passfile,
		    struct keystore **ks)
{
	char prompt[512];
	uint32_t format = 0;
	char *pass = NULL;
	size_t len = 0;
	int r;

	*ks = NULL;
	/* Fail before asking for a passphrase that could not help. */
	r = keystore_peek_format(vault, &format);
	if (r == 0 && format > KEYSTORE_FORMAT)
		r = -EPROTONOSUPPORT;
	if (r < 0)
		return keystore_message(vault, r, format, false);

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", vault);
	r = vaultctl_passphrase(passfile, "--passfile", prompt, false, &pass,
				&len);
	if (r < 0)
		return r;
	r = keystore_open(vault, pass, len, ks);
	passphrase_free(pass, len);
	if (r < 0)
		return keystore_message(vault, r, format, true);
	return 0;
}

/* ---- dispatch ---- */

static void usage(FILE *f)
{
	fputs("usage: vaultctl COMMAND [ARGS...]\n"
	      "       vaultctl COMMAND --help\n"
	      "       vaultctl --help\n"
	      "\n"
	      "Manage vaultfs vaults: encrypted, audited document stores.\n"
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
