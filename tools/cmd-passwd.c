/*
 * cmd-passwd.c - vaultctl passwd: change the vault passphrase.
 *
 * The current passphrase unlocks the key store; a new random master key is
 * wrapped under the new passphrase and the store is replaced atomically
 * (keystore_change_passphrase()).  Documents and names are not touched.
 *
 * Refused while the vault is mounted: the change is recorded in the access
 * log, whose current segment belongs to the daemon (the mount lock tells).
 * What must not run at the same time either is another writer of the key
 * store (passwd, rotate): keystore_lock().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vaultctl.h"
#include "vault-open.h"
#include "../keys/keystore.h"
#include "../vaultfs/auditrec.h"
#include "../vaultfs/passphrase.h"

static const char passwd_usage[] =
	"usage: vaultctl passwd VAULT [--passfile F] [--new-passfile NF]\n"
	"                       [--kdf interactive|moderate|sensitive]\n"
	"\n"
	"Change the passphrase of VAULT.  The old passphrase stops working at\n"
	"once; a new master key is made, so an old copy of the key store opened\n"
	"with the old passphrase opens no later one.  No document is touched.\n"
	"The vault must not be mounted (the change goes into its access log).\n"
	"\n"
	"  --passfile F      read the current passphrase from the first line of F\n"
	"  --new-passfile NF read the new passphrase from the first line of NF\n"
	"                    (default: ask twice on the terminal)\n"
	"  --kdf PRESET      Argon2id cost for the new passphrase: interactive,\n"
	"                    moderate or sensitive (default: keep the current)\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 changed, 1 failed (nothing changed, unless the message\n"
	"says the change was made but could not be recorded), 2 usage error,\n"
	"3 wrong passphrase.\n";

/* Record the change in the access log (who, from where, the KDF cost). */
static int audit_passwd(const char *vault, const struct keystore *ks,
			const enum keystore_kdf *kdf)
{
	char detail[64];

	snprintf(detail, sizeof(detail), "kdf=%s",
		 kdf ? vaultctl_kdf_name(*kdf) : "unchanged");
	return vaultctl_record(vault, keystore_settings(ks), AUDIT_EV_PASSWD,
			       detail);
}

int cmd_passwd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "new-passfile", required_argument, NULL, 'n' },
		{ "kdf", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *passfile = NULL, *new_passfile = NULL, *vault;
	enum keystore_kdf kdf = KEYSTORE_KDF_MODERATE;
	bool have_kdf = false;
	struct vaultctl_vault v;
	char prompt[512], *pass = NULL;
	size_t len = 0;
	int c, r, status = VAULTCTL_EXIT_FAILURE;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			passfile = optarg;
			break;
		case 'n':
			new_passfile = optarg;
			break;
		case 'k':
			if ((r = vaultctl_parse_kdf("passwd", optarg, &kdf)) != 0)
				return r;
			have_kdf = true;
			break;
		case 'h':
			fputs(passwd_usage, stdout);
			return VAULTCTL_EXIT_OK;
		default:
			return vaultctl_bad_option("passwd", c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error("passwd", "expected exactly one "
					    "VAULT");
	vault = argv[optind];

	r = vaultctl_open_vault(vault, passfile, VAULTCTL_OPEN_KEYSTORE_LOCK |
				VAULTCTL_OPEN_NOT_MOUNTED, &v);
	if (r < 0)
		return vaultctl_exit_status(r);

	snprintf(prompt, sizeof(prompt), "New passphrase for %s: ", vault);
	r = vaultctl_passphrase(new_passfile, "--new-passfile", prompt,
				new_passfile == NULL, &pass, &len);
	if (r < 0) {
		/* -EKEYREJECTED here: the two entries differ, not a wrong one */
		status = r == -ENOTTY ? VAULTCTL_EXIT_USAGE :
			 VAULTCTL_EXIT_FAILURE;
		goto out;
	}
	r = keystore_change_passphrase(v.ks, vault, pass, len,
				       have_kdf ? &kdf : NULL);
	passphrase_free(pass, len);
	if (r < 0) {
		vaultctl_error("cannot change the passphrase of vault '%s': %s; "
			       "the old passphrase still works", vault,
			       r == -ENOMEM ? "not enough memory for the key "
			       "derivation" : strerror(-r));
		goto out;
	}
	printf("passphrase of vault '%s' changed; the old one no longer "
	       "opens it\n", vault);
	status = VAULTCTL_EXIT_OK;
	if (audit_passwd(vault, v.ks, have_kdf ? &kdf : NULL) < 0) {
		vaultctl_error("the passphrase was changed, but the change could "
			       "not be recorded in the access log");
		status = VAULTCTL_EXIT_FAILURE;
	}
out:
	vaultctl_close_vault(&v);
	return status;
}
