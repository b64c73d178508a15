/*
 * cmd-audit.c - vaultctl audit verify|show|report: the forensic reviewer's
 * view of the access log in VAULT/audit/, read with the auditor's key.
 * This file holds the usage texts, the options and the dispatch; each
 * subcommand is a module of its own:
 *
 *   verify  audit-verify.h: check every segment, record and link; exit 0
 *           only when the log is intact; name the first bad record and why
 *   show    audit-show.h: print the authentic records that pass the
 *           filters, as a table or one JSON object per line
 *   report  audit-report.h, audit-report-print.h: summarise a time window:
 *           per account and per process, documents opened and bytes;
 *           bursts; integrity failures; denied accesses; mounts; gaps; the
 *           verification status
 *   passwd  audit-passwd.h: change the passphrase of an auditor key file
 *   rekey   audit-rekey.h: give a vault a new auditor key pair
 *
 * --auditor-key may be given more than once (a log whose auditor key was
 * changed); the n-th --auditor-passfile is the passphrase of the n-th key.
 *
 * All three walk the whole log (audit-read.h), so show and report always
 * know whether what they print comes from an intact log: on damage they
 * still print every record that authenticates, warn on stderr and exit 1.
 * The log holds plaintext paths once decrypted: they go to stdout only,
 * never to stderr or a file of ours.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultctl.h"
#include "audit-passwd.h"
#include "audit-read.h"
#include "audit-rekey.h"
#include "audit-report.h"
#include "audit-show.h"
#include "audit-time.h"
#include "audit-verify.h"
#include "../vaultfs/auditrec.h"

enum verb { VERB_VERIFY, VERB_SHOW, VERB_REPORT };

/* Which verbs take an option. */
#define V_VERIFY (1u << VERB_VERIFY)
#define V_SHOW (1u << VERB_SHOW)
#define V_REPORT (1u << VERB_REPORT)
#define V_ALL (V_VERIFY | V_SHOW | V_REPORT)

struct opts {
	enum verb verb;
	const char *what;		/* "audit show": for messages */
	struct audit_read_source src;	/* every verb */
	struct audit_time_window window;	/* show, report */
	bool json;			/* show, report */
	struct audit_show_opts show;	/* its filters */
	struct audit_report_opts report;	/* its burst threshold */
	const char *passfiles[AUDITVERIFY_MAX_KEYS];	/* in order */
	size_t npassfiles;
};

static const char audit_usage[] =
	"usage: vaultctl audit verify VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                             [--syslog FILE]\n"
	"       vaultctl audit show   VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                             [--since T] [--until T] [--uid N] [--pid N]\n"
	"                             [--comm NAME] [--path GLOB] [--event NAME]\n"
	"                             [--doc ID] [--json] [--syslog FILE]\n"
	"       vaultctl audit report VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                             [--since T] [--until T] [--burst-docs N]\n"
	"                             [--burst-window SECONDS] [--json]\n"
	"       vaultctl audit passwd --auditor-key K [--auditor-passfile AF]\n"
	"                             [--new-auditor-passfile NAF] [--kdf PRESET]\n"
	"       vaultctl audit rekey  VAULT [--passfile F] --auditor-key-out K2\n"
	"                             [--new-auditor-passfile NAF] [--kdf PRESET]\n"
	"       vaultctl audit SUBCOMMAND --help\n"
	"\n"
	"Read the access log of VAULT (VAULT/audit/) with the auditor's secret key\n"
	"K, whose passphrase comes from the first line of AF or the terminal.\n"
	"After an auditor key change, give every key: --auditor-key K1\n"
	"--auditor-passfile AF1 --auditor-key K2 --auditor-passfile AF2 (the n-th\n"
	"passfile goes with the n-th key).\n"
	"\n"
	"  verify  check that every record is present, unaltered and in order\n"
	"  show    print the records that pass the filters\n"
	"  report  summarise who opened what, bursts, failures, mounts and gaps\n"
	"  passwd  change the passphrase of the auditor key file K\n"
	"  rekey   give VAULT a new auditor key pair (secret key written to K2)\n"
	"\n"
	"Exit status: 0 intact, 1 damage found or failure, 2 usage error,\n"
	"3 wrong auditor passphrase.\n";

static const char verify_usage[] =
	"usage: vaultctl audit verify VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                             [--syslog FILE]\n"
	"\n"
	"Verify the access log of VAULT (VAULT/audit/; VAULT may also be a\n"
	"directory of archived segments): every segment header, every record and\n"
	"every link between records and segments.  Lists each finding: damage\n"
	"(altered, removed, reordered, truncated tail, segment removed, segment\n"
	"replayed, bad header) with the segment file, the record's seq, frame\n"
	"index and byte offset; segments sealed to an auditor key not given\n"
	"('not verified': their records cannot be read, their hash chain is\n"
	"still checked); and notes (where the retained history starts,\n"
	"crashes, a segment still being written).  Ends with a summary.\n"
	"\n"
	"  --auditor-key K        the auditor's secret key file (from 'vaultctl init'\n"
	"                         or 'vaultctl audit rekey'); give it once per key\n"
	"                         when the auditor key was changed: each segment\n"
	"                         is read with the key it is sealed to\n"
	"  --auditor-passfile AF  read the passphrase of the key given in the same\n"
	"                         position (the n-th passfile is for the n-th key)\n"
	"                         from the first line of AF; keys without one are\n"
	"                         asked for on the terminal\n"
	"  --syslog FILE          also compare with the copy the daemon forwarded\n"
	"                         to syslog (-o audit_syslog) as collected in FILE\n"
	"                         (an rsyslog file, 'journalctl -o cat' output;\n"
	"                         '-' for stdin): records forwarded but missing\n"
	"                         locally (a log cut short, a segment deleted) or\n"
	"                         different locally are damage\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 the log is intact, 1 damage found, segments sealed to\n"
	"an auditor key not given, or the log cannot be read, 2 usage error,\n"
	"3 wrong auditor passphrase.\n";

static const char show_usage[] =
	"usage: vaultctl audit show VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                           [--since T] [--until T] [--uid N] [--pid N]\n"
	"                           [--comm NAME] [--path GLOB] [--event NAME[,NAME...]]\n"
	"                           [--doc ID] [--json] [--syslog FILE]\n"
	"\n"
	"Print the records of VAULT's access log that pass every filter given.\n"
	"\n"
	"  --since T        records at or after T\n"
	"  --until T        records before T\n"
	"                   T: RFC 3339 (2026-11-20T00:00:00Z, with fractional\n"
	"                   seconds or an offset like +02:00) or a date 2026-11-20\n"
	"                   (midnight UTC)\n"
	"  --uid N          records of user id N (or user name N)\n"
	"  --pid N          records of process id N\n"
	"  --comm NAME      records of processes named NAME (a glob)\n"
	"  --path GLOB      records whose path or new path matches GLOB; '*' also\n"
	"                   matches '/', so '/satellites/*' is everything below\n"
	"                   /satellites\n"
	"  --event NAME     records of these events (comma-separated): mount,\n"
	"                   unmount, open, close, create, unlink, rename, mkdir,\n"
	"                   rmdir, truncate, setattr, integrity, denied, symlink,\n"
	"                   link, mknod, init, passwd, rotate, rewrap, reencrypt,\n"
	"                   fsck, settings, end\n"
	"  --doc ID         records of document ID (hex, at least 8 digits: a\n"
	"                   prefix of the 'doc' shown); follows renames\n"
	"  --json           one JSON object per line instead of a table\n"
	"  --syslog FILE    print the records of the copy forwarded to syslog\n"
	"                   (-o audit_syslog) as collected in FILE instead of\n"
	"                   the local ones, e.g. when those are gone; each must\n"
	"                   authenticate with the auditor key\n"
	"  --auditor-key K, --auditor-passfile AF, -h, --help: as for verify\n"
	"\n"
	"The whole log is verified as it is read.  If it is damaged, every record\n"
	"that still authenticates is printed, the damage is reported on stderr\n"
	"and the exit status is 1.\n"
	"\n"
	"Exit status: 0 intact log, 1 damaged log or failure, 2 usage error,\n"
	"3 wrong auditor passphrase.\n";

static const char report_usage[] =
	"usage: vaultctl audit report VAULT --auditor-key K [--auditor-passfile AF]\n"
	"                             [--since T] [--until T] [--burst-docs N]\n"
	"                             [--burst-window SECONDS] [--json]\n"
	"\n"
	"Summarise VAULT's access log, or the records from --since to --until:\n"
	"per account (uid) and per process (pid, comm, exe) the opens, distinct\n"
	"documents opened, bytes read and written, denied accesses and integrity\n"
	"failures; bursts (an account or process that opened at least N distinct\n"
	"documents within SECONDS); integrity failures; denied accesses; mounts,\n"
	"unmounts and vaultctl commands; gaps (segments that ended without their\n"
	"final record: crashes, or a cut log); and whether the log verified.\n"
	"\n"
	"  --since T, --until T     the window (as for 'audit show')\n"
	"  --burst-docs N           burst threshold in documents (default 50)\n"
	"  --burst-window SECONDS   burst window (default 60)\n"
	"  --json                   one JSON object instead of text\n"
	"  --auditor-key K, --auditor-passfile AF, -h, --help: as for verify\n"
	"\n"
	"Exit status: 0 intact log, 1 damaged log (the report is still printed)\n"
	"or failure, 2 usage error, 3 wrong auditor passphrase.\n";

/* ---- parsing option values ---- */

static bool parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int parse_events(struct opts *o, const char *list)
{
	char buf[256], *save = NULL, *w;
	enum audit_event ev;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return vaultctl_usage_error(o->what, "--event list too long");
	for (w = strtok_r(buf, ",", &save); w != NULL;
	     w = strtok_r(NULL, ",", &save)) {
		if (auditrec_event_from_name(w, &ev) < 0)
			return vaultctl_usage_error(o->what, "unknown event "
						    "'%s' in --event", w);
		o->show.events[ev & 0xff] = true;
		o->show.has_events = true;
	}
	if (!o->show.has_events)
		return vaultctl_usage_error(o->what, "--event needs an event "
					    "name");
	return 0;
}

static int parse_doc(struct opts *o, const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > 2 * AUDITREC_DOC_ID_BYTES)
		return vaultctl_usage_error(o->what, "--doc '%s' must be 8 to "
					    "32 hex digits", s);
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return vaultctl_usage_error(o->what, "--doc '%s' is not "
						    "hexadecimal", s);
		o->show.doc[i] = (char)tolower((unsigned char)s[i]);
	}
	o->show.doc[n] = '\0';
	o->show.doclen = n;
	return 0;
}

static int parse_count(struct opts *o, const char *opt, const char *s,
		       unsigned long max, unsigned long *v)
{
	uint32_t x;

	if (!parse_u32(s, &x) || x == 0 || x > max)
		return vaultctl_usage_error(o->what, "%s '%s' must be a whole "
					    "number from 1 to %lu", opt, s, max);
	*v = x;
	return 0;
}

enum {
	OPT_KEY = 256, OPT_PASSFILE, OPT_SINCE, OPT_UNTIL, OPT_UID, OPT_PID,
	OPT_COMM, OPT_PATH, OPT_EVENT, OPT_DOC, OPT_JSON, OPT_BURST_DOCS,
	OPT_BURST_WINDOW, OPT_SYSLOG,
};

static int parse_options(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "auditor-key", required_argument, NULL, OPT_KEY },
		{ "auditor-passfile", required_argument, NULL, OPT_PASSFILE },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "doc", required_argument, NULL, OPT_DOC },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "burst-docs", required_argument, NULL, OPT_BURST_DOCS },
		{ "burst-window", required_argument, NULL, OPT_BURST_WINDOW },
		{ "syslog", required_argument, NULL, OPT_SYSLOG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned allowed[] = {
		[OPT_KEY - OPT_KEY] = V_ALL,
		[OPT_PASSFILE - OPT_KEY] = V_ALL,
		[OPT_SINCE - OPT_KEY] = V_SHOW | V_REPORT,
		[OPT_UNTIL - OPT_KEY] = V_SHOW | V_REPORT,
		[OPT_UID - OPT_KEY] = V_SHOW,
		[OPT_PID - OPT_KEY] = V_SHOW,
		[OPT_COMM - OPT_KEY] = V_SHOW,
		[OPT_PATH - OPT_KEY] = V_SHOW,
		[OPT_EVENT - OPT_KEY] = V_SHOW,
		[OPT_DOC - OPT_KEY] = V_SHOW,
		[OPT_JSON - OPT_KEY] = V_SHOW | V_REPORT,
		[OPT_BURST_DOCS - OPT_KEY] = V_REPORT,
		[OPT_BURST_WINDOW - OPT_KEY] = V_REPORT,
		[OPT_SYSLOG - OPT_KEY] = V_VERIFY | V_SHOW,
	};
	int c, r, idx;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		if (c >= OPT_KEY && c <= OPT_SYSLOG &&
		    !(allowed[c - OPT_KEY] & (1u << o->verb)))
			return vaultctl_usage_error(o->what, "'vaultctl %s' has "
						    "no option '--%s'", o->what,
						    longopts[idx].name);
		r = 0;
		switch (c) {
		case OPT_KEY:
			if (o->src.nkeys == AUDITVERIFY_MAX_KEYS)
				return vaultctl_usage_error(o->what, "at most %d "
					"--auditor-key options",
					AUDITVERIFY_MAX_KEYS);
			o->src.keys[o->src.nkeys++].keyfile = optarg;
			break;
		case OPT_PASSFILE:
			if (o->npassfiles == AUDITVERIFY_MAX_KEYS)
				return vaultctl_usage_error(o->what, "at most %d "
					"--auditor-passfile options",
					AUDITVERIFY_MAX_KEYS);
			o->passfiles[o->npassfiles++] = optarg;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			r = audit_time_window_option(&o->window, o->what,
						     c == OPT_SINCE, optarg);
			break;
		case OPT_UID:
			if (!parse_u32(optarg, &o->show.uid)) {
				struct passwd *pw = getpwnam(optarg);

				if (pw == NULL)
					return vaultctl_usage_error(o->what,
						"--uid '%s' is neither a user "
						"id nor a known user name",
						optarg);
				o->show.uid = pw->pw_uid;
			}
			o->show.has_uid = true;
			break;
		case OPT_PID:
			if (!parse_u32(optarg, &o->show.pid))
				return vaultctl_usage_error(o->what, "--pid '%s' "
							    "is not a process "
							    "id", optarg);
			o->show.has_pid = true;
			break;
		case OPT_COMM:
			o->show.comm_glob = optarg;
			break;
		case OPT_PATH:
			o->show.path_glob = optarg;
			break;
		case OPT_EVENT:
			r = parse_events(o, optarg);
			break;
		case OPT_DOC:
			r = parse_doc(o, optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SYSLOG:
			o->src.syslog = optarg;
			break;
		case OPT_BURST_DOCS:
			r = parse_count(o, "--burst-docs", optarg, 1000000,
					&o->report.burst_docs);
			break;
		case OPT_BURST_WINDOW:
			r = parse_count(o, "--burst-window", optarg,
					366ul * 86400,
					&o->report.burst_window);
			break;
		case 'h':
			fputs(o->verb == VERB_VERIFY ? verify_usage :
			      o->verb == VERB_SHOW ? show_usage : report_usage,
			      stdout);
			return -1;	/* done, exit 0 */
		default:
			return vaultctl_bad_option(o->what, c, argv);
		}
		if (r != 0)
			return r;
	}
	if (argc - optind != 1)
		return vaultctl_usage_error(o->what, argc == optind ?
					    "expected a VAULT" :
					    "expected exactly one VAULT");
	o->src.vault = argv[optind];
	if (o->src.nkeys == 0)
		return vaultctl_usage_error(o->what, "--auditor-key K is "
					    "required: the auditor's secret "
					    "key file written by 'vaultctl "
					    "init'");
	if (o->npassfiles > o->src.nkeys)
		return vaultctl_usage_error(o->what, "%zu --auditor-passfile "
					    "options for %zu --auditor-key: "
					    "the n-th passfile is the "
					    "passphrase of the n-th key",
					    o->npassfiles, o->src.nkeys);
	for (size_t i = 0; i < o->npassfiles; i++)
		o->src.keys[i].passfile = o->passfiles[i];
	if (o->src.syslog != NULL && o->src.nkeys > 1)
		return vaultctl_usage_error(o->what, "--syslog takes one "
					    "--auditor-key: compare or read "
					    "the forwarded copy with each key "
					    "in turn");
	return audit_time_window_check(&o->window, o->what);
}

/* ---- the walk ---- */

static int run(struct opts *o)
{
	switch (o->verb) {
	case VERB_VERIFY:
		return audit_verify_run(&o->src);
	case VERB_SHOW:
		o->show.window = o->window;
		o->show.json = o->json;
		return audit_show_run(&o->src, &o->show);
	default:
		o->report.window = o->window;
		o->report.json = o->json;
		return audit_report_run(&o->src, &o->report);
	}
}

int cmd_audit(int argc, char **argv)
{
	static const char *const verbs[] = { "verify", "show", "report" };
	static const char *const whats[] = { "audit verify", "audit show",
					     "audit report" };
	struct opts o;
	int r, v;

	if (argc < 2) {
		fputs(audit_usage, stderr);
		return VAULTCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(audit_usage, stdout);
		return VAULTCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "passwd") == 0)
		return audit_passwd_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "rekey") == 0)
		return audit_rekey_cmd(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	for (v = 0; v < 3; v++)
		if (strcmp(argv[1], verbs[v]) == 0)
			break;
	if (v == 3)
		return vaultctl_usage_error("audit", "unknown subcommand '%s': "
					    "use verify, show, report, "
					    "passwd or rekey",
					    argv[1]);
	o.verb = (enum verb)v;
	o.what = whats[v];
	o.report.burst_docs = AUDIT_REPORT_BURST_DOCS;
	o.report.burst_window = AUDIT_REPORT_BURST_WINDOW;
	r = parse_options(&o, argc - 1, argv + 1);
	if (r < 0)
		return VAULTCTL_EXIT_OK;	/* --help */
	if (r > 0)
		return r;
	return run(&o);
}
