/*
 * audit-passwd.c - see audit-passwd.h.
 *
 * Only the protection of the file changes: the key pair stays, so every
 * segment stays readable and nothing on the server is touched.  Copies of
 * the file made before still open with the old passphrase: the auditor
 * replaces or destroys them.
 */
#include "audit-passwd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vaultctl.h"
#include "audit-read.h"
#include "../keys/auditkey.h"
#include "../vaultfs/passphrase.h"
#include "../vaultfs/seal.h"

static const char passwd_usage[] =
	"usage: vaultctl audit passwd --auditor-key K [--auditor-passfile AF]\n"
	"                             [--new-auditor-passfile NAF]\n"
	"                             [--kdf interactive|moderate|sensitive]\n"
	"\n"
	"Change the passphrase that protects the auditor's secret key file K.\n"
	"No vault is needed: run it where the auditor keeps K.  The key pair\n"
	"stays the same, so every segment of the access log stays readable.\n"
	"K is replaced atomically (a temporary file beside it, mode 0600,\n"
	"holding only the re-encrypted key).  Copies of K made before still\n"
	"open with the old passphrase: replace or destroy them.\n"
	"\n"
	"  --auditor-key K             the auditor key file to change\n"
	"  --auditor-passfile AF       read the current passphrase from the\n"
	"                              first line of AF\n"
	"  --new-auditor-passfile NAF  read the new passphrase from the first\n"
	"                              line of NAF (default: ask twice on the\n"
	"                              terminal)\n"
	"  --kdf PRESET                Argon2id cost for the new passphrase:\n"
	"                              interactive, moderate or sensitive\n"
	"                              (default: keep the current cost)\n"
	"  -h, --help                  show this help\n"
	"\n"
	"Exit status: 0 changed, 1 failed (K is unchanged), 2 usage error,\n"
	"3 wrong passphrase.\n";

/* Check the current passphrase before asking for a new one twice. */
static int check_current(const char *keyfile, const char *pass, size_t len)
{
	uint8_t pk[AUDITKEY_PK_BYTES], *sk;
	int r;

	sk = seal_secret_alloc(AUDITKEY_SK_BYTES);
	if (sk == NULL)
		return -ENOMEM;
	r = auditkey_load(keyfile, pass, len, sk, pk);
	seal_secret_free(sk);
	return r;
}

int audit_passwd_cmd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "auditor-key", required_argument, NULL, 'k' },
		{ "auditor-passfile", required_argument, NULL, 'p' },
		{ "new-auditor-passfile", required_argument, NULL, 'n' },
		{ "kdf", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *passfile = NULL, *new_passfile = NULL;
	enum keystore_kdf kdf = KEYSTORE_KDF_MODERATE;
	bool have_kdf = false;
	char prompt[PATH_MAX + 64], *pass = NULL, *npass = NULL;
	size_t len = 0, nlen = 0;
	int c, r, status = VAULTCTL_EXIT_FAILURE;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (keyfile != NULL)
				return vaultctl_usage_error("audit passwd",
					"--auditor-key given twice: change one "
					"key file at a time");
			keyfile = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'n':
			new_passfile = optarg;
			break;
		case 'd':
			if ((r = vaultctl_parse_kdf("audit passwd", optarg,
						    &kdf)) != 0)
				return r;
			have_kdf = true;
			break;
		case 'h':
			fputs(passwd_usage, stdout);
			return VAULTCTL_EXIT_OK;
		default:
			return vaultctl_bad_option("audit passwd", c, argv);
		}
	}
	if (optind != argc)
		return vaultctl_usage_error("audit passwd", "unexpected argument "
					    "'%s': the key file is given with "
					    "--auditor-key and no vault is "
					    "needed", argv[optind]);
	if (keyfile == NULL)
		return vaultctl_usage_error("audit passwd", "--auditor-key K "
					    "is required: the auditor key file "
					    "whose passphrase changes");
	/* Fail before asking for passphrases that could not help. */
	if (access(keyfile, R_OK | W_OK) < 0) {
		vaultctl_error("cannot open auditor key '%s' for writing: %s",
			       keyfile, strerror(errno));
		return VAULTCTL_EXIT_FAILURE;
	}

	snprintf(prompt, sizeof(prompt), "Passphrase for the auditor key %s: ",
		 keyfile);
	r = vaultctl_passphrase(passfile, "--auditor-passfile", prompt, false,
				&pass, &len);
	if (r < 0)
		return vaultctl_exit_status(r);
	if (new_passfile == NULL) {
		r = check_current(keyfile, pass, len);
		if (r < 0) {
			status = audit_read_key_error(keyfile, r);
			goto out;
		}
	}
	snprintf(prompt, sizeof(prompt), "New passphrase for the auditor key "
		 "%s: ", keyfile);
	r = vaultctl_passphrase(new_passfile, "--new-auditor-passfile", prompt,
				new_passfile == NULL, &npass, &nlen);
	if (r < 0) {
		/* -EKEYREJECTED here: the two entries differ, not a wrong one */
		status = r == -ENOTTY ? VAULTCTL_EXIT_USAGE :
			 VAULTCTL_EXIT_FAILURE;
		goto out;
	}

	r = auditkey_change_passphrase(keyfile, pass, len, npass, nlen,
				       have_kdf ? &kdf : NULL);
	if (r == -EKEYREJECTED || r == -EPERM || r == -EBADMSG ||
	    r == -EPROTONOSUPPORT) {
		status = audit_read_key_error(keyfile, r);
		vaultctl_note("auditor key '%s' is unchanged", keyfile);
		goto out;
	}
	if (r < 0) {
		vaultctl_error("cannot change the passphrase of auditor key "
			       "'%s': %s; the file is unchanged and the old "
			       "passphrase still opens it", keyfile,
			       r == -ENOMEM ? "not enough memory for the key "
			       "derivation" : strerror(-r));
		goto out;
	}
	printf("passphrase of auditor key '%s' changed; the old one no longer "
	       "opens it (copies made before still open with it)\n", keyfile);
	status = VAULTCTL_EXIT_OK;
out:
	passphrase_free(npass, nlen);
	passphrase_free(pass, len);
	return status;
}
