/*
 * cmd-keys.c - vaultctl keys: the vault's settings, its KEK versions and
 * how many documents each one wraps, and whether a rotation is unfinished.
 *
 * Read-only, so it runs while the vault is mounted too (the counts are
 * then a snapshot).  The counts come from the clear KEK version field of
 * every document header (keys/rotate.h rotate_census()).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vaultctl.h"
#include "vault-open.h"
#include "../keys/keystore.h"
#include "../keys/rotate.h"
#include "../vaultfs/backing.h"

static const char keys_usage[] =
	"usage: vaultctl keys VAULT [--passfile F]\n"
	"\n"
	"Show the settings of VAULT, its key-encryption keys (version, state:\n"
	"active, retiring or destroyed, creation time) with the number of\n"
	"documents each one wraps, and whether a rotation is unfinished.\n"
	"Changes nothing; works while the vault is mounted.\n"
	"\n"
	"  --passfile F  read the passphrase from the first line of F\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error, 3 wrong passphrase.\n";

/* RFC 3339, UTC, seconds. */
static void rfc3339(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "@%" PRIu64, t);
}

static const char *state_name(enum keystore_kek_state s)
{
	switch (s) {
	case KEYSTORE_KEK_ACTIVE:
		return "active";
	case KEYSTORE_KEK_RETIRING:
		return "retiring";
	case KEYSTORE_KEK_DESTROYED:
		return "destroyed";
	}
	return "?";
}

static void print_keys(const char *vault, const struct keystore *ks,
		       const struct rotate_census *c)
{
	const struct vault_settings *s = keystore_settings(ks);
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	struct keystore_rotation rot;
	uint64_t ops, mem;
	char when[32];
	size_t n;

	keystore_kdf_params(ks, &ops, &mem);
	keystore_rotation(ks, &rot);
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);

	rfc3339(s->created, when);
	printf("vault:        %s\n", vault);
	printf("format:       %u\n", (unsigned)s->format);
	printf("created:      %s\n", when);
	printf("chunk size:   %u bytes\n", (unsigned)s->chunk_size);
	if (s->compress_level)
		printf("compression:  zstd level %d\n", s->compress_level);
	else
		printf("compression:  off\n");
	printf("kdf:          Argon2id, %" PRIu64 " passes, %" PRIu64 " MiB\n",
	       ops, mem >> 20);
	printf("documents:    %" PRIu64 "\n", c->docs);
	if (rot.unfinished) {
		rfc3339(rot.started, when);
		printf("rotation:     unfinished (%s, to version %u, started "
		       "%s); run 'vaultctl rotate %s' to finish it\n",
		       rot.reencrypt ? "re-encrypting" : "rewrap",
		       (unsigned)rot.target, when, vault);
	} else {
		printf("rotation:     none in progress\n");
	}
	printf("\n%7s  %-9s  %-20s  %9s\n", "VERSION", "STATE", "CREATED",
	       "DOCUMENTS");
	for (size_t i = 0; i < n; i++) {
		uint64_t docs = 0;

		for (size_t j = 0; j < c->nkeks; j++)
			if (c->kek[j].version == info[i].version)
				docs = c->kek[j].docs;
		rfc3339(info[i].created, when);
		printf("%7u  %-9s  %-20s  %9" PRIu64 "\n",
		       (unsigned)info[i].version, state_name(info[i].state),
		       when, docs);
	}
	if (c->other)
		printf("\n%" PRIu64 " documents name a KEK version this key "
		       "store does not have (see 'vaultctl fsck')\n", c->other);
	if (c->unreadable)
		printf("%" PRIu64 " documents have a damaged header (see "
		       "'vaultctl fsck')\n", c->unreadable);
	if (c->hidden)
		printf("%" PRIu64 " entries or directories could not be read; "
		       "the counts are incomplete\n", c->hidden);
}

int cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *passfile = NULL, *vault;
	struct vaultctl_vault v;
	struct rotate_census census;
	int c, r, data_fd;
	int status = VAULTCTL_EXIT_FAILURE;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			passfile = optarg;
			break;
		case 'h':
			fputs(keys_usage, stdout);
			return VAULTCTL_EXIT_OK;
		default:
			return vaultctl_bad_option("keys", c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error("keys", "expected exactly one VAULT");
	vault = argv[optind];

	/* No lock: keys only reads, and works while the vault is mounted. */
	r = vaultctl_open_vault(vault, passfile, 0, &v);
	if (r < 0)
		return vaultctl_exit_status(r);
	data_fd = openat(v.fd, BACKING_DATA_DIR, O_RDONLY | O_DIRECTORY |
			 O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0) {
		vaultctl_error("cannot open '%s/%s': %s; is '%s' a vault?",
			       vault, BACKING_DATA_DIR, strerror(errno), vault);
		goto out;
	}
	r = rotate_census(data_fd, v.ks, &census);
	if (r < 0) {
		vaultctl_error("cannot count the documents of vault '%s': %s",
			       vault, strerror(-r));
		goto out;
	}
	print_keys(vault, v.ks, &census);
	status = VAULTCTL_EXIT_OK;
out:
	if (data_fd >= 0)
		close(data_fd);
	vaultctl_close_vault(&v);
	return status;
}
