/*
 * audit-rekey.c - see audit-rekey.h.
 *
 * Order, so that no crash or failure leaves the change unrecorded in the
 * old auditor's part of the log:
 *   1. lock the key store and the vault (refuse a mounted vault: its
 *      daemon holds the current segment), unlock the key store;
 *   2. write the new key file (O_EXCL);
 *   3. record the change in a segment sealed to the OLD key; if that
 *      fails, stop (the new key file is removed);
 *   4. replace the public key in the key store (atomic);
 *   5. record it again in a segment sealed to the NEW key.
 * A crash between 3 and 4 leaves a record of a change that did not
 * happen (later segments are still sealed to the old key, which shows
 * it); never a change without a record.  The vault passphrase is kept
 * from 1 to 4 because the key store's passphrase slot authenticates the
 * public key and must be sealed again.
 */
#include "audit-rekey.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vaultctl.h"
#include "../keys/auditkey.h"
#include "../keys/keystore.h"
#include "../vaultfs/auditrec.h"
#include "../vaultfs/backing.h"
#include "../vaultfs/passphrase.h"

#define WHAT "audit rekey"

static const char rekey_usage[] =
	"usage: vaultctl audit rekey VAULT [--passfile F] --auditor-key-out K2\n"
	"                            [--new-auditor-passfile NAF]\n"
	"                            [--kdf interactive|moderate|sensitive]\n"
	"\n"
	"Give VAULT a new auditor key pair: when the auditor's key may be\n"
	"compromised, or the auditor changes.  The new secret key is written to\n"
	"K2 (a new file, mode 0600) under the new auditor's passphrase; move it\n"
	"off the server.  The old auditor key is not needed.  Segments of the\n"
	"access log written from now on are sealed to the new key; earlier ones\n"
	"stay sealed to the old key, so reading the whole log takes both:\n"
	"'vaultctl audit verify VAULT --auditor-key OLD --auditor-key K2'.\n"
	"The change is recorded (event 'settings') both at the end of the old\n"
	"key's part of the log and at the start of the new key's part.\n"
	"The vault must not be mounted.\n"
	"\n"
	"  --passfile F                read the vault passphrase from the first\n"
	"                              line of F\n"
	"  --auditor-key-out K2        where to write the new auditor key\n"
	"  --new-auditor-passfile NAF  read the new auditor's passphrase from\n"
	"                              the first line of NAF (default: ask twice\n"
	"                              on the terminal)\n"
	"  --kdf PRESET                Argon2id cost of that passphrase:\n"
	"                              interactive, moderate (default) or\n"
	"                              sensitive\n"
	"  -h, --help                  show this help\n"
	"\n"
	"Exit status: 0 changed and recorded, 1 failed (the message says\n"
	"whether the key was changed), 2 usage error, 3 wrong passphrase.\n";

struct rekey {
	const char *vault, *passfile, *keyout, *new_passfile;
	enum keystore_kdf kdf;
	int vault_fd, ks_lock, mount_lock;
	struct keystore *ks;
	char *pass, *apass;
	size_t passlen, apasslen;
	bool made_key;
};

static int parse(struct rekey *k, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "auditor-key-out", required_argument, NULL, 'o' },
		{ "new-auditor-passfile", required_argument, NULL, 'n' },
		{ "kdf", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			k->passfile = optarg;
			break;
		case 'o':
			k->keyout = optarg;
			break;
		case 'n':
			k->new_passfile = optarg;
			break;
		case 'd':
			r = vaultctl_parse_kdf(WHAT, optarg, &k->kdf);
			if (r != 0)
				return r;
			break;
		case 'h':
			fputs(rekey_usage, stdout);
			return -1;
		default:
			return vaultctl_bad_option(WHAT, c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error(WHAT, argc == optind ?
					    "expected a VAULT" :
					    "expected exactly one VAULT");
	k->vault = argv[optind];
	if (k->keyout == NULL)
		return vaultctl_usage_error(WHAT, "--auditor-key-out K2 is "
					    "required: where to write the new "
					    "auditor key");
	return 0;
}

/* Explain a key store error for the vault; returns the exit status. */
static int keystore_error(const struct rekey *k, int r)
{
	switch (r) {
	case -ENOENT:
		vaultctl_error("no vault at '%s': '%s/%s' does not exist",
			       k->vault, k->vault, KEYSTORE_FILE);
		break;
	case -ENOTDIR:
		vaultctl_error("no vault at '%s': not a directory", k->vault);
		break;
	case -EKEYREJECTED:
		vaultctl_error("wrong passphrase for vault '%s'", k->vault);
		break;
	case -EBADMSG:
		vaultctl_error("key store '%s/%s' is damaged or not a key "
			       "store; restore it from a backup", k->vault,
			       KEYSTORE_FILE);
		break;
	case -EPROTONOSUPPORT:
		vaultctl_error("key store '%s/%s' has a newer format than this "
			       "vaultctl understands; upgrade vaultfs", k->vault,
			       KEYSTORE_FILE);
		break;
	case -ENOMEM:
		vaultctl_error("not enough memory to unlock vault '%s' (the "
			       "key derivation needs up to 1 GiB)", k->vault);
		break;
	default:
		vaultctl_error("cannot read key store '%s/%s': %s", k->vault,
			       KEYSTORE_FILE, strerror(-r));
		break;
	}
	return vaultctl_exit_status(r);
}

/*
 * Lock and unlock the vault, as vault-open.h does for passwd, keeping the
 * passphrase (the slot is sealed again).  0 or the exit status.
 */
static int open_vault(struct rekey *k)
{
	char prompt[PATH_MAX + 64];
	uint32_t format = 0;
	int r;

	r = keystore_peek_format(k->vault, &format);
	if (r == 0 && format > KEYSTORE_FORMAT)
		r = -EPROTONOSUPPORT;
	if (r < 0)
		return keystore_error(k, r);
	k->vault_fd = open(k->vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->vault_fd < 0) {
		vaultctl_error("cannot open vault '%s': %s", k->vault,
			       strerror(errno));
		return VAULTCTL_EXIT_FAILURE;
	}
	r = keystore_lock(k->vault, &k->ks_lock);
	if (r == -EBUSY) {
		vaultctl_error("the key store of vault '%s' is being changed by "
			       "another vaultctl command; try again when it "
			       "has finished", k->vault);
		return VAULTCTL_EXIT_FAILURE;
	}
	if (r == 0) {
		r = backing_lock(k->vault_fd, &k->mount_lock);
		if (r == -EBUSY) {
			vaultctl_error("vault '%s' is mounted; unmount it first",
				       k->vault);
			return VAULTCTL_EXIT_FAILURE;
		}
		if (r == -ENOENT)	/* no lock file: vaultfs cannot mount */
			r = 0;
	}
	if (r < 0) {
		vaultctl_error("cannot lock vault '%s': %s", k->vault,
			       strerror(-r));
		return VAULTCTL_EXIT_FAILURE;
	}
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", k->vault);
	r = vaultctl_passphrase(k->passfile, "--passfile", prompt, false,
				&k->pass, &k->passlen);
	if (r < 0)
		return vaultctl_exit_status(r);
	r = keystore_open(k->vault, k->pass, k->passlen, &k->ks);
	if (r < 0)
		return keystore_error(k, r);
	return 0;
}

static void close_vault(struct rekey *k)
{
	keystore_free(k->ks);
	passphrase_free(k->apass, k->apasslen);
	passphrase_free(k->pass, k->passlen);
	if (k->mount_lock >= 0)
		close(k->mount_lock);
	if (k->ks_lock >= 0)
		close(k->ks_lock);
	if (k->vault_fd >= 0)
		close(k->vault_fd);
}

/* The new key file must not be kept when the change did not happen. */
static void drop_key(struct rekey *k)
{
	if (k->made_key && unlink(k->keyout) < 0)
		vaultctl_warning("cannot remove the unused auditor key '%s': "
				 "%s; delete it", k->keyout, strerror(errno));
	k->made_key = false;
}

int audit_rekey_cmd(int argc, char **argv)
{
	struct rekey k = { .kdf = KEYSTORE_KDF_MODERATE, .vault_fd = -1,
			   .ks_lock = -1, .mount_lock = -1 };
	uint8_t old_pk[AUDITKEY_PK_BYTES], new_pk[AUDITKEY_PK_BYTES];
	char old_fp[AUDITKEY_FINGERPRINT_CHARS], new_fp[AUDITKEY_FINGERPRINT_CHARS];
	char prompt[PATH_MAX + 64], detail[160];
	struct stat st;
	int r, status;

	status = parse(&k, argc, argv);
	if (status != 0)
		return status < 0 ? VAULTCTL_EXIT_OK : status;
	/* Fail before asking for passphrases that could not help. */
	if (lstat(k.keyout, &st) == 0) {
		vaultctl_error("auditor key file '%s' exists; give a new path "
			       "with --auditor-key-out", k.keyout);
		return VAULTCTL_EXIT_FAILURE;
	}
	status = open_vault(&k);
	if (status != 0)
		goto out;

	status = VAULTCTL_EXIT_FAILURE;
	snprintf(prompt, sizeof(prompt), "Passphrase for the new auditor key "
		 "%s: ", k.keyout);
	r = vaultctl_passphrase(k.new_passfile, "--new-auditor-passfile",
				prompt, k.new_passfile == NULL, &k.apass,
				&k.apasslen);
	if (r < 0) {
		status = r == -ENOTTY ? VAULTCTL_EXIT_USAGE :
			 VAULTCTL_EXIT_FAILURE;
		goto out;
	}
	r = auditkey_generate(k.keyout, k.apass, k.apasslen, k.kdf, new_pk);
	if (r < 0) {
		vaultctl_error("cannot write auditor key '%s': %s; nothing was "
			       "changed", k.keyout, r == -ENOMEM ?
			       "not enough memory for the key derivation" :
			       strerror(-r));
		goto out;
	}
	k.made_key = true;
	memcpy(old_pk, keystore_settings(k.ks)->auditor_pk, sizeof(old_pk));
	auditkey_fingerprint(old_pk, old_fp);
	auditkey_fingerprint(new_pk, new_fp);

	/* 3: the old auditor's last word on this log. */
	snprintf(detail, sizeof(detail), "auditor key change: old=%s new=%s",
		 old_fp, new_fp);
	if (vaultctl_record(k.vault, keystore_settings(k.ks),
			    AUDIT_EV_SETTINGS, detail) < 0) {
		vaultctl_error("the auditor key of vault '%s' was not changed: "
			       "the change could not be recorded", k.vault);
		drop_key(&k);
		goto out;
	}

	/* 4 */
	r = keystore_set_auditor_pk(k.ks, k.vault, k.pass, k.passlen, new_pk);
	if (r < 0) {
		vaultctl_error("cannot store the new auditor key in key store "
			       "'%s/%s': %s; the auditor key was not changed",
			       k.vault, KEYSTORE_FILE, r == -ENOMEM ?
			       "not enough memory for the key derivation" :
			       strerror(-r));
		drop_key(&k);
		snprintf(detail, sizeof(detail), "auditor key change failed: "
			 "old=%s kept", old_fp);
		if (vaultctl_record(k.vault, keystore_settings(k.ks),
				    AUDIT_EV_SETTINGS, detail) < 0)
			vaultctl_error("the failure could not be recorded");
		status = vaultctl_exit_status(r);
		goto out;
	}
	k.made_key = false;	/* in use now */

	/* 5: the new auditor's part starts by saying where it comes from. */
	snprintf(detail, sizeof(detail), "auditor key changed: old=%s new=%s",
		 old_fp, new_fp);
	printf("auditor key of vault '%s' changed\n"
	       "  old public key: %s\n"
	       "  new public key: %s\n"
	       "  new secret key: %s (move it off the server)\n"
	       "segments written from now on are sealed to the new key; read "
	       "the whole log with both keys\n", k.vault, old_fp, new_fp,
	       k.keyout);
	if (vaultctl_record(k.vault, keystore_settings(k.ks),
			    AUDIT_EV_SETTINGS, detail) < 0) {
		vaultctl_error("the auditor key was changed, but the change "
			       "could not be recorded under the new key (it is "
			       "recorded under the old one)");
		goto out;
	}
	status = VAULTCTL_EXIT_OK;
out:
	drop_key(&k);
	close_vault(&k);
	sodium_memzero(detail, sizeof(detail));
	return status;
}
