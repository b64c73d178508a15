/*
 * cmd-rotate.c - vaultctl rotate: a new KEK version, every document moved
 * to it (rewrapped, or with --reencrypt re-encrypted under a new DEK), the
 * old versions destroyed.  The engine is keys/rotate.h; this file holds
 * the messages, the report and the progress line.
 *
 * The vault must not be mounted: rotate takes the daemon's mount lock
 * (backing_lock(); this also keeps fsck away) and the key store lock
 * (keystore_lock(); this keeps a second rotate or a passwd away), both
 * through vaultctl_open_vault().  Going through the running daemon
 * instead, so users keep working, is a later improvement.
 *
 * Documents that could not be rotated are listed on stdout with their
 * path in the vault; stderr has the progress line and messages that name
 * the vault only.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vaultctl.h"
#include "vault-open.h"
#include "../vaultfs/auditrec.h"
#include "../keys/keystore.h"
#include "../keys/rotate.h"

static const char rotate_usage[] =
	"usage: vaultctl rotate VAULT [--passfile F] [--reencrypt]\n"
	"\n"
	"Make a new key-encryption key (KEK) for VAULT, rewrap every document's\n"
	"data key under it (headers only: fast), then destroy the old KEK.\n"
	"With --reencrypt every document also gets a new data key and its\n"
	"content is re-encrypted (needed if someone may hold old headers and an\n"
	"old KEK).  Crash-safe: if interrupted, run the same command again and\n"
	"it finishes; the vault stays readable and mountable in between.\n"
	"The vault must not be mounted.\n"
	"\n"
	"  --passfile F  read the passphrase from the first line of F\n"
	"  --reencrypt   also give every document a new data key\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 done, 1 failed or unfinished (documents that could not\n"
	"be rotated are listed on stdout), 2 usage error, 3 wrong passphrase.\n";

struct ui {
	bool tty;
	bool drawn;			/* a progress line is on the screen */
	bool reencrypt;
	struct timespec start, last;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void clear_line(struct ui *u)
{
	if (u->drawn) {
		fputs("\r\033[K", stderr);
		u->drawn = false;
	}
}

static void fmt_eta(double s, char out[32])
{
	if (s < 0 || s > 360000)
		snprintf(out, 32, "--:--");
	else if (s >= 3600)
		snprintf(out, 32, "%d:%02d:%02d", (int)s / 3600,
			 (int)s / 60 % 60, (int)s % 60);
	else
		snprintf(out, 32, "%d:%02d", (int)s / 60, (int)s % 60);
}

/* On a terminal: redraw at most 10 times a second. */
static void on_progress(const struct rotate_progress *p, void *arg)
{
	struct ui *u = arg;
	struct timespec now;
	double t, rate, left = -1;
	char eta[32];

	if (!u->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (u->drawn && since(&u->last, &now) < 0.1)
		return;
	u->last = now;
	t = since(&u->start, &now);
	if (u->reencrypt) {
		rate = t > 0 ? (double)p->bytes_done / t : 0;
		if (rate > 0 && p->bytes_total >= p->bytes_done)
			left = (double)(p->bytes_total - p->bytes_done) / rate;
		fmt_eta(left, eta);
		fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " documents, %.1f/%.1f "
			"MiB, %.1f MiB/s, %s left\033[K", p->docs_done,
			p->docs_total, (double)p->bytes_done / 1048576.0,
			(double)p->bytes_total / 1048576.0, rate / 1048576.0,
			eta);
	} else {
		rate = t > 0 ? (double)p->docs_done / t : 0;
		if (rate > 0 && p->docs_total >= p->docs_done)
			left = (double)(p->docs_total - p->docs_done) / rate;
		fmt_eta(left, eta);
		fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " documents (%.1f MiB), "
			"%.0f documents/s, %s left\033[K", p->docs_done,
			p->docs_total, (double)p->bytes_done / 1048576.0,
			rate, eta);
	}
	fflush(stderr);
	u->drawn = true;
}

/*
 * A document that could not be rotated, or a problem that did not stop
 * the rotation: a line of the report on stdout, like fsck's, since it
 * names the document by its path in the vault (never on stderr).
 */
static void report_line(struct ui *u, const char *tag, const char *path,
			const char *bpath, const char *what)
{
	clear_line(u);
	printf("%s: %s (backing %s): %s\n", tag, path, bpath, what);
	fflush(stdout);
}

static void on_failed(const char *path, const char *bpath, const char *what,
		      int err, void *arg)
{
	report_line(arg, "failed", path, bpath, what);
}

static void on_warning(const char *path, const char *bpath, const char *what,
		       void *arg)
{
	report_line(arg, "warning", path, bpath, what);
}

/* "1, 2 and 3" into out. */
static void list_versions(const uint32_t *v, size_t n, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < cap; i++) {
		int k = snprintf(out + used, cap - used, "%s%u",
				 i == 0 ? "" : i + 1 == n ? " and " : ", ",
				 (unsigned)v[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/*
 * Record the rotation in the access log: which versions, how many
 * documents, and the result (a stopped rotation is recorded too).
 */
static int audit_rotate(const char *vault, const struct keystore *ks,
			bool reencrypt, const struct rotate_result *res, int r)
{
	char retired[KEYSTORE_MAX_KEKS * 16], destroyed[KEYSTORE_MAX_KEKS * 16];
	char detail[2 * KEYSTORE_MAX_KEKS * 16 + 256];

	list_versions(res->retired, res->nretired, retired, sizeof(retired));
	list_versions(res->destroyed, res->ndestroyed, destroyed,
		      sizeof(destroyed));
	snprintf(detail, sizeof(detail), "target=%u retired=[%s] destroyed=[%s] "
		 "documents=%" PRIu64 " moved=%" PRIu64 " failed=%" PRIu64
		 " resumed=%d finished=%d result=%d", (unsigned)res->target,
		 retired, destroyed, res->docs, res->moved, res->failed,
		 res->resumed, res->finished, r);
	return vaultctl_record(vault, keystore_settings(ks), reencrypt ?
			       AUDIT_EV_REENCRYPT : AUDIT_EV_ROTATE, detail);
}

static int report(const char *vault, const struct rotate_result *res,
		  double secs)
{
	char destroyed[KEYSTORE_MAX_KEKS * 16], left[KEYSTORE_MAX_KEKS * 16];
	uint32_t still[KEYSTORE_MAX_KEKS];
	size_t nstill = 0;

	for (size_t i = 0; i < res->census.nkeks; i++)
		for (size_t j = 0; j < res->nretired; j++)
			if (res->census.kek[i].version == res->retired[j] &&
			    res->census.kek[i].refs)
				still[nstill++] = res->retired[j];
	list_versions(res->destroyed, res->ndestroyed, destroyed,
		      sizeof(destroyed));
	printf("%s vault '%s' to KEK version %u in %.1f s: %" PRIu64
	       " documents %s (%.1f MiB), %" PRIu64 " already done, %" PRIu64
	       " failed; %s%s%s\n",
	       res->resumed ? "resumed rotation of" : "rotated", vault,
	       (unsigned)res->target, secs, res->moved,
	       res->reencrypt ? "re-encrypted" : "rewrapped",
	       (double)res->bytes / 1048576.0, res->skipped, res->failed,
	       res->ndestroyed ? "destroyed KEK version " : "",
	       res->ndestroyed ? destroyed : "no KEK destroyed",
	       res->finished ? "" : "; rotation unfinished");
	if (res->finished)
		return res->failed ? VAULTCTL_EXIT_FAILURE : VAULTCTL_EXIT_OK;
	list_versions(still, nstill, left, sizeof(left));
	if (res->census.hidden)
		vaultctl_error("rotation of vault '%s' is unfinished: %" PRIu64
			       " entries or directories could not be read, so "
			       "no old KEK was destroyed; fix what is listed "
			       "on standard output, then run 'vaultctl rotate "
			       "%s' again", vault, res->census.hidden, vault);
	else
		vaultctl_error("rotation of vault '%s' is unfinished: %" PRIu64
			       " documents could not be rotated (listed on "
			       "standard output), so KEK version %s stays "
			       "(retiring); restore or remove them (see "
			       "'vaultctl fsck %s'), then run 'vaultctl rotate "
			       "%s' again", vault,
			       res->failed, nstill ? left : "?", vault, vault);
	return VAULTCTL_EXIT_FAILURE;
}

int cmd_rotate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "reencrypt", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rotate_ops ops = { on_progress, on_failed, on_warning, NULL };
	const char *passfile = NULL, *vault;
	struct rotate_result res = { 0 };
	struct vaultctl_vault v;
	struct ui u = { 0 };
	struct timespec end;
	bool reencrypt = false;
	int c, r, status = VAULTCTL_EXIT_FAILURE;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			passfile = optarg;
			break;
		case 'r':
			reencrypt = true;
			break;
		case 'h':
			fputs(rotate_usage, stdout);
			return VAULTCTL_EXIT_OK;
		default:
			return vaultctl_bad_option("rotate", c, argv);
		}
	}
	if (argc - optind != 1)
		return vaultctl_usage_error("rotate", "expected exactly one "
					    "VAULT");
	vault = argv[optind];

	r = vaultctl_open_vault(vault, passfile, VAULTCTL_OPEN_KEYSTORE_LOCK |
				VAULTCTL_OPEN_MOUNT_LOCK, &v);
	if (r < 0)
		return vaultctl_exit_status(r);

	u.tty = isatty(STDERR_FILENO);
	u.reencrypt = reencrypt;
	clock_gettime(CLOCK_MONOTONIC, &u.start);
	ops.arg = &u;
	r = rotate_run(v.fd, vault, v.ks, reencrypt, &ops, &res);
	clear_line(&u);
	if (audit_rotate(vault, v.ks, reencrypt, &res, r) < 0 && r == 0) {
		vaultctl_error("the rotation of vault '%s' finished, but it could "
			       "not be recorded in the access log", vault);
		goto out;
	}
	if (r < 0) {
		vaultctl_error("rotation of vault '%s' stopped: %s; every "
			       "document is still readable; run 'vaultctl "
			       "rotate %s' again to resume", vault,
			       strerror(-r), vault);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	status = report(vault, &res, since(&u.start, &end));
out:
	vaultctl_close_vault(&v);
	return status;
}
