/*
 * cmd-audit.c - vaultctl audit verify|show|report: the forensic reviewer's
 * view of the access log in VAULT/audit/, read with the auditor's key.
 *
 *   verify  check every segment, record and link; exit 0 only when the
 *           log is intact; name the first bad record and why
 *   show    print the authentic records that pass the filters, as a
 *           table or one JSON object per line
 *   report  summarise a time window: per account and per process,
 *           documents opened and bytes; bursts; integrity failures;
 *           denied accesses; mounts; gaps; the verification status
 *
 * All three walk the whole log with auditverify_run() (vaultfs/
 * auditverify.h), so show and report always know whether what they print
 * comes from an intact log: on damage they still print every record that
 * authenticates, warn on stderr and exit 1.
 *
 * The walk needs no vault passphrase and takes no lock: the log is
 * append-only and each segment is read as it is, so a mounted vault can be
 * examined (its open segment is then reported as "open").  The log holds
 * plaintext paths once decrypted: it goes to stdout only, never to a file
 * of ours.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vaultctl.h"
#include "audit-syslog.h"
#include "../vaultfs/le.h"
#include "../keys/auditkey.h"
#include "../vaultfs/auditlog.h"
#include "../vaultfs/auditrec.h"
#include "../vaultfs/auditverify.h"
#include "../vaultfs/passphrase.h"
#include "../vaultfs/seal.h"

#define BURST_DOCS_DEFAULT 50
#define BURST_WINDOW_DEFAULT 60		/* seconds */
#define VERIFY_PRINT_MAX 100		/* findings listed by verify */
#define SHOW_WARN_MAX 20		/* damage warnings printed by show */
#define REPORT_LIST_MAX 1000		/* entries kept per report list */
#define REPORT_PRINT_MAX 50		/* of which the text report prints */
#define HEAD_BYTES 80

enum verb { VERB_VERIFY, VERB_SHOW, VERB_REPORT };

/* Which verbs take an option. */
#define V_VERIFY (1u << VERB_VERIFY)
#define V_SHOW (1u << VERB_SHOW)
#define V_REPORT (1u << VERB_REPORT)
#define V_ALL (V_VERIFY | V_SHOW | V_REPORT)

struct opts {
	enum verb verb;
	const char *what;		/* "audit show": for messages */
	const char *vault, *keyfile, *passfile;
	bool json;
	bool has_since, has_until;
	int64_t since, until;		/* microseconds; until exclusive */
	bool has_uid, has_pid;
	uint32_t uid, pid;
	const char *path_glob, *comm_glob;
	bool has_events;
	bool events[256];
	char doc[2 * AUDITREC_DOC_ID_BYTES + 1];	/* hex prefix, lower */
	size_t doclen;
	unsigned long burst_docs, burst_window;
	const char *syslog;		/* --syslog FILE: the forwarded copy */
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
	"       vaultctl audit SUBCOMMAND --help\n"
	"\n"
	"Read the access log of VAULT (VAULT/audit/) with the auditor's secret key\n"
	"K, whose passphrase comes from the first line of AF or the terminal.\n"
	"\n"
	"  verify  check that every record is present, unaltered and in order\n"
	"  show    print the records that pass the filters\n"
	"  report  summarise who opened what, bursts, failures, mounts and gaps\n"
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
	"replayed, bad header, wrong key) with the segment file, the record's seq,\n"
	"frame index and byte offset, and notes (where the retained history\n"
	"starts, crashes, a segment still being written).  Ends with a summary.\n"
	"\n"
	"  --auditor-key K        the auditor's secret key file (from 'vaultctl init')\n"
	"  --auditor-passfile AF  read its passphrase from the first line of AF\n"
	"  --syslog FILE          also compare with the copy the daemon forwarded\n"
	"                         to syslog (-o audit_syslog) as collected in FILE\n"
	"                         (an rsyslog file, 'journalctl -o cat' output;\n"
	"                         '-' for stdin): records forwarded but missing\n"
	"                         locally (a log cut short, a segment deleted) or\n"
	"                         different locally are damage\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 the log is intact, 1 damage found (or the log cannot be\n"
	"read), 2 usage error, 3 wrong auditor passphrase.\n";

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

/* ---- output helpers ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vaultctl: note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * Write s for a terminal: the log holds names chosen by whoever created
 * the files, so control characters (C0, DEL, C1), backslashes and bytes
 * that are not UTF-8 are written as \xNN and cannot drive the terminal.
 */
static void put_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != 0) {
		size_t n = utf8_len(p);

		if (n == 0 || *p < 0x20 || *p == 0x7f || *p == '\\' ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			/* One byte, or a C1 control as its two bytes. */
			size_t k = n == 2 ? 2 : 1;

			for (size_t i = 0; i < k; i++)
				fprintf(f, "\\x%02x", p[i]);
			p += k;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

/* A JSON string (or null), escaped as auditrec_print_json() does. */
static void put_json(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p != 0) {
		size_t n = utf8_len(p);

		if (n == 0) {
			fprintf(f, "\\\\x%02x", *p++);
		} else if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

static void put_json_time(FILE *f, int64_t us)
{
	char t[32];

	auditrec_format_time(us, t);
	put_json(f, t);
}

static const char *kind_words(enum audit_finding k)
{
	switch (k) {
	case AUDIT_ALTERED: return "altered";
	case AUDIT_REMOVED: return "removed";
	case AUDIT_REORDERED: return "reordered";
	case AUDIT_TRUNCATED: return "truncated tail";
	case AUDIT_SEGMENT_REMOVED: return "segment removed";
	case AUDIT_SEGMENT_REPLAYED: return "segment replayed";
	case AUDIT_BAD_HEADER: return "bad header";
	case AUDIT_WRONG_KEY: return "wrong key";
	case AUDIT_NOTE_HISTORY_START: return "history start";
	case AUDIT_NOTE_CRASH: return "crash";
	case AUDIT_NOTE_OPEN: return "open";
	default: return "unknown";
	}
}

/*
 * "seg-000000000002.log: record seq 10 (frame 7, byte offset 1736):
 * altered: record does not authenticate".  Findings about a whole segment
 * have no frame position (offset 0: frames start after the header).
 */
static void format_finding(const struct audit_problem *p, char *out,
			   size_t cap)
{
	char where[128] = "", count[48] = "";

	if (p->offset != 0)
		snprintf(where, sizeof(where), ": record seq %" PRIu64
			 " (frame %" PRIu64 ", byte offset %" PRIu64 ")",
			 p->seq, p->index, p->offset);
	else if (p->seq != 0 && p->kind != AUDIT_NOTE_HISTORY_START)
		snprintf(where, sizeof(where), ": from record seq %" PRIu64,
			 p->seq);
	if (p->count > 1 && auditverify_is_damage(p->kind))
		snprintf(count, sizeof(count), " (%" PRIu64 " %s)", p->count,
			 p->kind == AUDIT_SEGMENT_REMOVED ? "segments" :
			 "records");
	snprintf(out, cap, "%s%s: %s%s: %s", p->segment, where,
		 kind_words(p->kind), count, p->detail);
}

static void print_finding_json(FILE *f, const struct audit_problem *p)
{
	fputs("{\"kind\":", f);
	put_json(f, auditverify_finding_name(p->kind));
	fprintf(f, ",\"damage\":%s,\"segment\":",
		auditverify_is_damage(p->kind) ? "true" : "false");
	put_json(f, p->segment);
	fprintf(f, ",\"seq\":%" PRIu64 ",\"count\":%" PRIu64 ",\"index\":%"
		PRIu64 ",\"offset\":%" PRIu64 ",\"detail\":", p->seq, p->count,
		p->index, p->offset);
	put_json(f, p->detail);
	fputc('}', f);
}

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

/* Read exactly n decimal digits. */
static bool digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		*v = *v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
				  31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/*
 * RFC 3339 date-time (T, t or a blank between date and time; seconds may
 * be left out; any number of fractional digits, microseconds kept; Z or
 * +HH:MM / -HH:MM), or a plain date meaning 00:00:00 UTC.
 */
static bool parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
	    *s++ != '-' || !digits(&s, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (*s != '\0') {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return false;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &sec))
				return false;
			if (*s == '.' || *s == ',') {
				s++;
				if (!isdigit((unsigned char)*s))
					return false;
				for (; isdigit((unsigned char)*s); s++) {
					frac += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '+' ? 1 : -1;
			if (!digits(&s, 2, &oh) || *s++ != ':' ||
			    !digits(&s, 2, &om) || oh > 23 || om > 59)
				return false;
		} else {
			return false;	/* local time is ambiguous */
		}
		if (*s != '\0')
			return false;
	}
	*us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		sign * (oh * 3600 + om * 60)) * 1000000) + frac;
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
		o->events[ev & 0xff] = true;
		o->has_events = true;
	}
	if (!o->has_events)
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
		o->doc[i] = (char)tolower((unsigned char)s[i]);
	}
	o->doc[n] = '\0';
	o->doclen = n;
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
			o->keyfile = optarg;
			break;
		case OPT_PASSFILE:
			o->passfile = optarg;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (!parse_time(optarg, c == OPT_SINCE ? &o->since :
					&o->until))
				return vaultctl_usage_error(o->what, "%s '%s' is "
					"not a time: use RFC 3339 "
					"(2026-11-20T10:00:00Z, or with an "
					"offset such as +02:00) or a date "
					"(2026-11-20, midnight UTC)",
					c == OPT_SINCE ? "--since" : "--until",
					optarg);
			if (c == OPT_SINCE)
				o->has_since = true;
			else
				o->has_until = true;
			break;
		case OPT_UID:
			if (!parse_u32(optarg, &o->uid)) {
				struct passwd *pw = getpwnam(optarg);

				if (pw == NULL)
					return vaultctl_usage_error(o->what,
						"--uid '%s' is neither a user "
						"id nor a known user name",
						optarg);
				o->uid = pw->pw_uid;
			}
			o->has_uid = true;
			break;
		case OPT_PID:
			if (!parse_u32(optarg, &o->pid))
				return vaultctl_usage_error(o->what, "--pid '%s' "
							    "is not a process "
							    "id", optarg);
			o->has_pid = true;
			break;
		case OPT_COMM:
			o->comm_glob = optarg;
			break;
		case OPT_PATH:
			o->path_glob = optarg;
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
			o->syslog = optarg;
			break;
		case OPT_BURST_DOCS:
			r = parse_count(o, "--burst-docs", optarg, 1000000,
					&o->burst_docs);
			break;
		case OPT_BURST_WINDOW:
			r = parse_count(o, "--burst-window", optarg,
					366ul * 86400, &o->burst_window);
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
	o->vault = argv[optind];
	if (o->keyfile == NULL)
		return vaultctl_usage_error(o->what, "--auditor-key K is "
					    "required: the auditor's secret "
					    "key file written by 'vaultctl "
					    "init'");
	if (o->has_since && o->has_until && o->since >= o->until)
		return vaultctl_usage_error(o->what, "--since must be earlier "
					    "than --until");
	return 0;
}

/* ---- the walk ---- */

/* One finding kept for report (and for the summaries). */
struct finding_list {
	struct audit_problem *v;
	size_t n, cap;
	uint64_t total;
};

struct segment_info {
	uint64_t no;
	uint64_t first_seq, last_seq, records;
	int64_t first_us, last_us;
	enum audit_event last_event;
};

struct report;

struct walk {
	const struct opts *o;
	uint64_t damage, notes;
	struct audit_problem first_damage;
	uint64_t history_seg, history_seq;	/* from the note, 0 = none */
	uint64_t shown, printed;
	struct report *rep;
	int err;			/* -ENOMEM etc. from a callback */
};

/* Is the file name one of a segment? */
static bool has_segments(int dfd)
{
	struct dirent *de;
	bool found = false;
	uint64_t n;
	DIR *d;
	int fd = dup(dfd);

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL)
		found = auditrec_segment_number(de->d_name, &n) == 0 ||
			strcmp(de->d_name, AUDITLOG_HEAD_FILE) == 0;
	closedir(d);
	return found;
}

/*
 * VAULT/audit, or VAULT itself when it is a directory of (archived)
 * segments.  Returns the fd, or -1 after printing why.
 */
static int open_log_dir(const char *vault, char *shown, size_t cap)
{
	int vfd, dfd;

	vfd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0) {
		vaultctl_error("no vault at '%s': %s", vault, strerror(errno));
		return -1;
	}
	dfd = openat(vfd, "audit", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		close(vfd);
		snprintf(shown, cap, "%s/audit", vault);
		return dfd;
	}
	if (errno == ENOENT && has_segments(vfd)) {
		snprintf(shown, cap, "%s", vault);
		return vfd;
	}
	vaultctl_error("no access log at '%s/audit': %s; give a vault "
		       "directory, or a directory of archived segments",
		       vault, strerror(errno));
	close(vfd);
	return -1;
}

/*
 * Load the auditor's key pair: sk into secret memory.  Returns 0 or the
 * exit status (message printed).
 */
static int load_key(const struct opts *o, uint8_t **sk,
		    uint8_t pk[AUDITKEY_PK_BYTES])
{
	char prompt[600];
	char *pass = NULL;
	size_t len = 0;
	int r;

	*sk = NULL;
	/* Fail before asking for a passphrase that could not help. */
	if (access(o->keyfile, R_OK) < 0) {
		vaultctl_error("cannot read auditor key '%s': %s; give the "
			       "file 'vaultctl init --auditor-key-out' wrote",
			       o->keyfile, strerror(errno));
		return VAULTCTL_EXIT_FAILURE;
	}
	snprintf(prompt, sizeof(prompt), "Passphrase for the auditor key %s: ",
		 o->keyfile);
	r = vaultctl_passphrase(o->passfile, "--auditor-passfile", prompt,
				false, &pass, &len);
	if (r < 0)
		return r == -ENOTTY ? VAULTCTL_EXIT_USAGE :
		       VAULTCTL_EXIT_FAILURE;
	*sk = seal_secret_alloc(AUDITKEY_SK_BYTES);
	if (*sk == NULL) {
		passphrase_free(pass, len);
		vaultctl_error("out of memory");
		return VAULTCTL_EXIT_FAILURE;
	}
	r = auditkey_load(o->keyfile, pass, len, *sk, pk);
	passphrase_free(pass, len);
	if (r == 0)
		return 0;
	seal_secret_free(*sk);
	*sk = NULL;
	switch (r) {
	case -EKEYREJECTED:
		vaultctl_error("wrong passphrase for auditor key '%s'",
			       o->keyfile);
		return VAULTCTL_EXIT_PASSPHRASE;
	case -EPERM:
		vaultctl_error("auditor key '%s' is writable by group or others, "
			       "so it could have been replaced; check it and "
			       "'chmod go-w' it", o->keyfile);
		break;
	case -EBADMSG:
		vaultctl_error("'%s' is not an auditor key file, or it is "
			       "damaged; restore it from its copy", o->keyfile);
		break;
	case -EPROTONOSUPPORT:
		vaultctl_error("auditor key '%s' has a newer format than this "
			       "vaultctl understands; upgrade vaultfs",
			       o->keyfile);
		break;
	case -ENOMEM:
		vaultctl_error("not enough memory to open auditor key '%s' "
			       "(the key derivation needs up to 1 GiB)",
			       o->keyfile);
		break;
	default:
		vaultctl_error("cannot read auditor key '%s': %s", o->keyfile,
			       strerror(-r));
		break;
	}
	return VAULTCTL_EXIT_FAILURE;
}

/*
 * The head file names the newest segment a writer created or closed.  If
 * it names a segment newer than the newest present (and that one did not
 * appear while we read), the newest segments were deleted: the chain
 * alone cannot show that until the next writer chains on.  Fills *p and
 * returns true when there is such a finding.  The head is not
 * authenticated: an intruder can edit it too (a known limit).
 */
static bool check_head(int dfd, const struct auditverify_summary *sum,
		       struct audit_problem *p)
{
	uint8_t h[HEAD_BYTES + 1];
	char name[AUDITREC_SEGNAME_MAX];
	uint64_t seg, next;
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dfd, AUDITLOG_HEAD_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n != HEAD_BYTES || memcmp(h, "VFSAHEAD", 8) != 0 ||
	    h[8] != 1 || h[9] || h[10] || h[11])
		return false;
	seg = le_get64(h + 32);
	next = le_get64(h + 40);
	if (seg == 0)
		return false;
	if (sum->segments > 0 &&
	    memcmp(h + 16, sum->vault_id, AUDITREC_VAULT_ID_BYTES) != 0)
		return false;
	memset(p, 0, sizeof(*p));
	snprintf(p->segment, sizeof(p->segment), "%s", AUDITLOG_HEAD_FILE);
	if (sum->segments == 0) {
		p->kind = AUDIT_NOTE_HISTORY_START;
		snprintf(p->detail, sizeof(p->detail), "no segment is left; "
			 "the last one was segment %" PRIu64 " (the next record "
			 "would be seq %" PRIu64 "): all were archived or "
			 "deleted", seg, next);
		return true;
	}
	if (seg <= sum->last_segment)
		return false;
	auditrec_segment_name(seg, name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return false;	/* created while we were reading */
	p->kind = AUDIT_SEGMENT_REMOVED;
	p->segment_no = seg;
	p->count = seg - sum->last_segment;
	snprintf(p->detail, sizeof(p->detail), "the head file names segment %"
		 PRIu64 " (next seq %" PRIu64 ") but the newest segment present "
		 "is %" PRIu64 ": the newest segment(s) were deleted, or the "
		 "head file was edited", seg, next, sum->last_segment);
	return true;
}

/* ---- verify ---- */

static int verify_finding(void *arg, const struct audit_problem *p)
{
	struct walk *w = arg;
	char line[512];

	if (w->printed++ >= VERIFY_PRINT_MAX)
		return 0;
	format_finding(p, line, sizeof(line));
	printf("%s: %s\n", auditverify_is_damage(p->kind) ? "damage" : "note",
	       line);
	return 0;
}

static void print_summary(FILE *f, const struct walk *w,
			  const struct auditverify_summary *sum)
{
	if (sum->segments == 0) {
		fprintf(f, "no segments (an empty log); %" PRIu64 " damage "
			"finding%s, %" PRIu64 " note%s\n", w->damage,
			w->damage == 1 ? "" : "s", w->notes,
			w->notes == 1 ? "" : "s");
		return;
	}
	fprintf(f, "%" PRIu64 " segment%s (numbers %" PRIu64 "..%" PRIu64 "), %"
		PRIu64 " authentic record%s", sum->segments,
		sum->segments == 1 ? "" : "s", sum->first_segment,
		sum->last_segment, sum->records, sum->records == 1 ? "" : "s");
	if (sum->records > 0)
		fprintf(f, " (seq %" PRIu64 "..%" PRIu64 ")", sum->first_seq,
			sum->last_seq);
	if (sum->history_complete)
		fputs(", complete history", f);
	else if (w->history_seg != 0)
		fprintf(f, ", retained history starts at segment %" PRIu64
			" (seq %" PRIu64 "): older segments were archived",
			w->history_seg, w->history_seq);
	fprintf(f, "; %" PRIu64 " damage finding%s, %" PRIu64 " note%s\n",
		w->damage, w->damage == 1 ? "" : "s", w->notes,
		w->notes == 1 ? "" : "s");
}

/* ---- show ---- */

static bool match(const struct opts *o, const struct audit_record *r)
{
	if (o->has_since && r->time_us < o->since)
		return false;
	if (o->has_until && r->time_us >= o->until)
		return false;
	if (o->has_uid && r->uid != o->uid)
		return false;
	if (o->has_pid && r->pid != o->pid)
		return false;
	if (o->has_events && !o->events[r->event & 0xff])
		return false;
	if (o->comm_glob != NULL &&
	    (r->comm == NULL || fnmatch(o->comm_glob, r->comm, 0) != 0))
		return false;
	if (o->path_glob != NULL &&
	    (r->path == NULL || fnmatch(o->path_glob, r->path, 0) != 0) &&
	    (r->new_path == NULL || fnmatch(o->path_glob, r->new_path, 0) != 0))
		return false;
	if (o->doclen > 0) {
		char hex[2 * AUDITREC_DOC_ID_BYTES + 1];

		sodium_bin2hex(hex, sizeof(hex), r->doc_id,
			       AUDITREC_DOC_ID_BYTES);
		if (strncmp(hex, o->doc, o->doclen) != 0)
			return false;
	}
	return true;
}

static void put_flags(FILE *f, uint32_t fl)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" },
		{ O_TRUNC, "O_TRUNC" }, { O_APPEND, "O_APPEND" },
		{ O_DIRECT, "O_DIRECT" }, { O_SYNC, "O_SYNC" },
		{ O_NOATIME, "O_NOATIME" },
	};
	uint32_t acc = fl & O_ACCMODE;

	fprintf(f, " [%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ?
		"O_WRONLY" : acc == O_RDWR ? "O_RDWR" : "O_ACCMODE");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((fl & names[i].bit) == names[i].bit)
			fprintf(f, "|%s", names[i].name);
	fputc(']', f);
}

static void put_result(FILE *f, int32_t result, int width)
{
	const char *name = result < 0 ? strerrorname_np(-result) : NULL;

	if (result == 0)
		fprintf(f, "%-*s", width, "ok");
	else if (name != NULL)
		fprintf(f, "%-*s", width, name);
	else
		fprintf(f, "%-*" PRId32, width, result);
}

static void show_row(const struct audit_record *r, bool chained)
{
	char t[32], comm[256];
	FILE *f = stdout;

	auditrec_format_time(r->time_us, t);
	snprintf(comm, sizeof(comm), "%s", r->comm != NULL ? r->comm : "-");
	for (char *c = comm; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ' ')
			*c = '?';
	fprintf(f, "%-27s %7" PRIu64 " %-9s %6" PRIu32 " %7" PRIu32 " ", t,
		r->seq, auditrec_event_name(r->event), r->uid, r->pid);
	put_safe(f, comm);
	fprintf(f, "%*s ", strlen(comm) < 15 ? (int)(15 - strlen(comm)) : 0,
		"");
	put_result(f, r->result, 7);
	fputc(' ', f);
	if (r->path != NULL)
		put_safe(f, r->path);
	else
		fputc('-', f);
	if (r->new_path != NULL) {
		fputs(" -> ", f);
		put_safe(f, r->new_path);
	}
	if (r->event == AUDIT_EV_OPEN || r->event == AUDIT_EV_CREATE)
		put_flags(f, r->open_flags);
	if (r->event == AUDIT_EV_CLOSE || r->bytes_read != 0 ||
	    r->bytes_written != 0)
		fprintf(f, " read %" PRIu64 " written %" PRIu64, r->bytes_read,
			r->bytes_written);
	if (r->detail != NULL) {
		fputs(" (", f);
		put_safe(f, r->detail);
		fputc(')', f);
	}
	if (r->flags & AUDIT_RF_CLIPPED)
		fputs(" [clipped]", f);
	if (!chained)
		fputs(" [authentic, place in the log unproven]", f);
	fputc('\n', f);
}

static int show_json(const struct audit_record *r, bool chained)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int err;

	if (chained)
		return auditrec_print_json(stdout, r);
	/* Mark records read after damage: "chained":false before the '}'. */
	m = open_memstream(&buf, &len);
	if (m == NULL)
		return -ENOMEM;
	err = auditrec_print_json(m, r);
	if (fclose(m) != 0 && err == 0)
		err = -ENOMEM;
	if (err == 0 && len >= 2)
		printf("%.*s,\"chained\":false}\n", (int)(len - 2), buf);
	free(buf);
	return err;
}

static int show_record(void *arg, const struct audit_record *r,
		       const struct audit_position *pos)
{
	struct walk *w = arg;

	if (!match(w->o, r))
		return 0;
	if (w->o->json) {
		int err = show_json(r, pos->chained);

		if (err < 0)
			return w->err = err;
	} else {
		if (w->shown == 0)
			printf("%-27s %7s %-9s %6s %7s %-15s %-7s %s\n", "TIME",
			       "SEQ", "EVENT", "UID", "PID", "COMM", "RESULT",
			       "PATH");
		show_row(r, pos->chained);
	}
	w->shown++;
	return 0;
}

static int show_finding(void *arg, const struct audit_problem *p)
{
	struct walk *w = arg;
	char line[512];

	format_finding(p, line, sizeof(line));
	if (!auditverify_is_damage(p->kind)) {
		note("%s", line);
		return 0;
	}
	if (w->printed++ < SHOW_WARN_MAX)
		vaultctl_warning("access log damaged: %s", line);
	return 0;
}

/* ---- report ---- */

/* Interning table: byte strings -> dense indexes 0, 1, ... */
struct intern {
	uint32_t *slots;		/* index + 1; 0 = empty */
	size_t cap;
	char **keys;
	size_t *lens;
	size_t n, keycap;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static int intern_grow(struct intern *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	uint32_t *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t s = hash_bytes(t->keys[i], t->lens[i]) & (ncap - 1);

		while (ns[s] != 0)
			s = (s + 1) & (ncap - 1);
		ns[s] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

/* Index of key (added if new; *added tells). */
static int intern_get(struct intern *t, const void *key, size_t len,
		      uint32_t *idx, bool *added)
{
	size_t s;

	*added = false;
	if ((t->n + 1) * 2 > t->cap && intern_grow(t) < 0)
		return -ENOMEM;
	s = hash_bytes(key, len) & (t->cap - 1);
	while (t->slots[s] != 0) {
		uint32_t i = t->slots[s] - 1;

		if (t->lens[i] == len && memcmp(t->keys[i], key, len) == 0) {
			*idx = i;
			return 0;
		}
		s = (s + 1) & (t->cap - 1);
	}
	if (t->n == t->keycap) {
		size_t nc = t->keycap ? t->keycap * 2 : 256;
		char **nk = realloc(t->keys, nc * sizeof(*nk));
		size_t *nl;

		if (nk == NULL)
			return -ENOMEM;
		t->keys = nk;
		nl = realloc(t->lens, nc * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		t->lens = nl;
		t->keycap = nc;
	}
	t->keys[t->n] = malloc(len + 1);
	if (t->keys[t->n] == NULL)
		return -ENOMEM;
	memcpy(t->keys[t->n], key, len);
	t->keys[t->n][len] = '\0';
	t->lens[t->n] = len;
	t->slots[s] = (uint32_t)t->n + 1;
	*idx = (uint32_t)t->n++;
	*added = true;
	return 0;
}

static void intern_free(struct intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->slots);
}

struct actor {
	uint32_t uid, pid;
	char *comm, *exe;		/* processes only; NULL if absent */
	uint64_t records, opens, docs, bytes_read, bytes_written;
	uint64_t denied, integrity;
	/* Largest number of distinct documents opened within the window. */
	uint64_t burst;
	int64_t burst_from, burst_to;
	uint64_t burst_seq_from, burst_seq_to;
};

struct open_ev {
	int64_t t;
	uint64_t seq;
	uint32_t doc;
	uint32_t actor;			/* acct or proc: the one scanned */
	uint32_t acct, proc;
};

/* A record kept for a report list (strings copied). */
struct kept {
	uint64_t seq;
	int64_t time_us;
	enum audit_event event;
	uint32_t uid, pid;
	int32_t result;
	char *comm, *exe, *path, *new_path, *detail;
};

struct kept_list {
	struct kept *v;
	size_t n, cap;
	uint64_t total;
};

struct report {
	struct intern docs, accounts, procs;
	struct intern pidcomm;		/* pid + comm -> last process */
	uint32_t *pidcomm_proc;
	size_t pidcommcap;
	struct actor *acc, *proc;	/* parallel to accounts / procs */
	size_t acccap, proccap;
	struct open_ev *opens;
	size_t nopens, opencap;
	struct kept_list integrity, denied, sessions;
	struct finding_list findings;
	struct segment_info *segs;
	size_t nsegs, segcap;
	uint64_t records;		/* in the window */
	uint64_t first_seq, last_seq;
	int64_t first_us, last_us;
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	p = realloc(*v, nc * size);
	if (p == NULL)
		return -ENOMEM;
	memset((char *)p + *cap * size, 0, (nc - *cap) * size);
	*v = p;
	*cap = nc;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int keep(struct kept_list *l, const struct audit_record *r)
{
	struct kept *k;

	l->total++;
	if (l->n >= REPORT_LIST_MAX)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	k = &l->v[l->n++];
	k->seq = r->seq;
	k->time_us = r->time_us;
	k->event = r->event;
	k->uid = r->uid;
	k->pid = r->pid;
	k->result = r->result;
	k->comm = dup_or_null(r->comm);
	k->exe = dup_or_null(r->exe);
	k->path = dup_or_null(r->path);
	k->new_path = dup_or_null(r->new_path);
	k->detail = dup_or_null(r->detail);
	return 0;
}

static void kept_free(struct kept_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].comm);
		free(l->v[i].exe);
		free(l->v[i].path);
		free(l->v[i].new_path);
		free(l->v[i].detail);
	}
	free(l->v);
}

/* The account and process entries of r (created on first sight). */
static int actors_of(struct report *rp, const struct audit_record *r,
		     struct actor **a, struct actor **p, uint32_t *ai,
		     uint32_t *pi)
{
	char key[4 + 256 + 1 + AUDIT_EXE_MAX + 1];
	size_t cl = r->comm ? strlen(r->comm) : 0;
	size_t el = r->exe ? strlen(r->exe) : 0;
	bool added, pcnew;
	uint32_t pc;

	if (intern_get(&rp->accounts, &r->uid, sizeof(r->uid), ai, &added) < 0 ||
	    grow((void **)&rp->acc, &rp->acccap, *ai + 1, sizeof(*rp->acc)) < 0)
		return -ENOMEM;
	*a = &rp->acc[*ai];
	(*a)->uid = r->uid;

	if (cl > 255)
		cl = 255;
	if (el > AUDIT_EXE_MAX)
		el = AUDIT_EXE_MAX;
	memcpy(key, &r->pid, 4);
	memcpy(key + 4, r->comm ? r->comm : "", cl);
	key[4 + cl] = '\0';
	/*
	 * A process is pid + comm + exe.  A record without the executable
	 * (it could not be read, e.g. the process had exited by its close)
	 * belongs to the last process seen with the same pid and comm.
	 */
	if (intern_get(&rp->pidcomm, key, 5 + cl, &pc, &pcnew) < 0 ||
	    grow((void **)&rp->pidcomm_proc, &rp->pidcommcap, pc + 1,
		 sizeof(*rp->pidcomm_proc)) < 0)
		return -ENOMEM;
	if (r->exe == NULL && !pcnew) {
		*pi = rp->pidcomm_proc[pc];
		*p = &rp->proc[*pi];
		return 0;
	}
	memcpy(key + 5 + cl, r->exe ? r->exe : "", el);
	if (intern_get(&rp->procs, key, 5 + cl + el, pi, &added) < 0 ||
	    grow((void **)&rp->proc, &rp->proccap, *pi + 1,
		 sizeof(*rp->proc)) < 0)
		return -ENOMEM;
	rp->pidcomm_proc[pc] = *pi;
	*p = &rp->proc[*pi];
	if (added) {
		(*p)->uid = r->uid;
		(*p)->pid = r->pid;
		(*p)->comm = dup_or_null(r->comm);
		(*p)->exe = dup_or_null(r->exe);
	}
	return 0;
}

static bool is_denied(const struct audit_record *r)
{
	return r->event == AUDIT_EV_DENIED || r->result == -EACCES ||
	       r->result == -EPERM;
}

static int report_segment(struct report *rp, const struct audit_record *r,
			  const struct audit_position *pos)
{
	struct segment_info *s;

	if (rp->nsegs == 0 || rp->segs[rp->nsegs - 1].no != pos->segment_no) {
		if (grow((void **)&rp->segs, &rp->segcap, rp->nsegs + 1,
			 sizeof(*rp->segs)) < 0)
			return -ENOMEM;
		s = &rp->segs[rp->nsegs++];
		s->no = pos->segment_no;
		s->first_seq = r->seq;
		s->first_us = r->time_us;
	}
	s = &rp->segs[rp->nsegs - 1];
	s->last_seq = r->seq;
	s->last_us = r->time_us;
	s->last_event = r->event;
	s->records++;
	return 0;
}

static int report_record(void *arg, const struct audit_record *r,
			 const struct audit_position *pos)
{
	struct walk *w = arg;
	struct report *rp = w->rep;
	struct actor *a, *p;
	uint32_t ai, pi;
	int err;

	err = report_segment(rp, r, pos);
	if (err < 0)
		return w->err = err;
	if (!match(w->o, r))	/* the window: the only filters of report */
		return 0;
	if (rp->records++ == 0) {
		rp->first_seq = r->seq;
		rp->first_us = r->time_us;
	}
	rp->last_seq = r->seq;
	rp->last_us = r->time_us;

	if (r->event == AUDIT_EV_MOUNT || r->event == AUDIT_EV_UNMOUNT ||
	    r->event >= AUDIT_EV_INIT) {
		/* Sessions and vaultctl commands ("end" closes segments). */
		if (r->event != AUDIT_EV_END && keep(&rp->sessions, r) < 0)
			return w->err = -ENOMEM;
		if (r->event != AUDIT_EV_MOUNT && r->event != AUDIT_EV_UNMOUNT)
			return 0;
	}
	if (r->event == AUDIT_EV_MOUNT || r->event == AUDIT_EV_UNMOUNT)
		return 0;

	if (actors_of(rp, r, &a, &p, &ai, &pi) < 0)
		return w->err = -ENOMEM;
	a->records++;
	p->records++;
	if (r->event == AUDIT_EV_INTEGRITY) {
		a->integrity++;
		p->integrity++;
		if (keep(&rp->integrity, r) < 0)
			return w->err = -ENOMEM;
	} else if (is_denied(r)) {
		a->denied++;
		p->denied++;
		if (keep(&rp->denied, r) < 0)
			return w->err = -ENOMEM;
	}
	if (r->event == AUDIT_EV_CLOSE) {
		a->bytes_read += r->bytes_read;
		a->bytes_written += r->bytes_written;
		p->bytes_read += r->bytes_read;
		p->bytes_written += r->bytes_written;
	}
	if ((r->event == AUDIT_EV_OPEN || r->event == AUDIT_EV_CREATE) &&
	    r->result == 0) {
		static const uint8_t zero[AUDITREC_DOC_ID_BYTES];
		char key[1 + AUDIT_PATH_MAX + 1];
		size_t len;
		uint32_t di;
		bool added;

		/* A document is its id; without one, its path. */
		if (memcmp(r->doc_id, zero, sizeof(zero)) != 0) {
			key[0] = 'd';
			memcpy(key + 1, r->doc_id, sizeof(zero));
			len = 1 + sizeof(zero);
		} else {
			len = r->path ? strlen(r->path) : 0;
			if (len > AUDIT_PATH_MAX)
				len = AUDIT_PATH_MAX;
			key[0] = 'p';
			memcpy(key + 1, r->path ? r->path : "", len);
			len++;
		}
		if (intern_get(&rp->docs, key, len, &di, &added) < 0 ||
		    grow((void **)&rp->opens, &rp->opencap, rp->nopens + 1,
			 sizeof(*rp->opens)) < 0)
			return w->err = -ENOMEM;
		a->opens++;
		p->opens++;
		rp->opens[rp->nopens].t = r->time_us;
		rp->opens[rp->nopens].seq = r->seq;
		rp->opens[rp->nopens].doc = di;
		rp->opens[rp->nopens].acct = ai;
		rp->opens[rp->nopens].proc = pi;
		rp->nopens++;
	}
	return 0;
}

static int report_finding(void *arg, const struct audit_problem *p)
{
	struct walk *w = arg;
	struct finding_list *l = &w->rep->findings;

	l->total++;
	if (l->n >= REPORT_LIST_MAX)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return w->err = -ENOMEM;
	l->v[l->n++] = *p;
	return 0;
}

static int cmp_open(const void *a, const void *b)
{
	const struct open_ev *x = a, *y = b;

	if (x->actor != y->actor)
		return x->actor < y->actor ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * For each actor (opens sorted by actor, time): distinct documents and the
 * largest number of distinct documents within window_us.  count and stamp
 * are scratch arrays over the documents.
 */
static void scan_opens(struct open_ev *ev, size_t n, struct actor *actors,
		       int64_t window_us, uint32_t *count, uint32_t *stamp)
{
	size_t g = 0;

	while (g < n) {
		uint32_t who = ev[g].actor;
		struct actor *a = &actors[who];
		size_t l = g, r = g;
		uint64_t distinct = 0;

		for (; r < n && ev[r].actor == who; r++) {
			if (stamp[ev[r].doc] != who + 1) {
				stamp[ev[r].doc] = who + 1;
				a->docs++;
			}
			if (count[ev[r].doc]++ == 0)
				distinct++;
			while (ev[r].t - ev[l].t >= window_us) {
				if (--count[ev[l].doc] == 0)
					distinct--;
				l++;
			}
			if (distinct > a->burst) {
				a->burst = distinct;
				a->burst_from = ev[l].t;
				a->burst_to = ev[r].t;
				a->burst_seq_from = ev[l].seq;
				a->burst_seq_to = ev[r].seq;
			}
		}
		for (; l < r; l++)
			count[ev[l].doc]--;
		g = r;
	}
}

/* Distinct documents and bursts, per account and per process. */
static int analyse(struct report *rp, int64_t window_us)
{
	uint32_t *count, *stamp;

	count = calloc(rp->docs.n + 1, sizeof(*count));
	stamp = calloc(rp->docs.n + 1, sizeof(*stamp));
	if (count == NULL || stamp == NULL) {
		free(count);
		free(stamp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rp->nopens; i++)
		rp->opens[i].actor = rp->opens[i].acct;
	qsort(rp->opens, rp->nopens, sizeof(*rp->opens), cmp_open);
	scan_opens(rp->opens, rp->nopens, rp->acc, window_us, count, stamp);
	for (size_t i = 0; i < rp->nopens; i++)
		rp->opens[i].actor = rp->opens[i].proc;
	memset(stamp, 0, (rp->docs.n + 1) * sizeof(*stamp));
	qsort(rp->opens, rp->nopens, sizeof(*rp->opens), cmp_open);
	scan_opens(rp->opens, rp->nopens, rp->proc, window_us, count, stamp);
	free(count);
	free(stamp);
	return 0;
}

static void report_free(struct report *rp)
{
	intern_free(&rp->docs);
	intern_free(&rp->accounts);
	intern_free(&rp->procs);
	intern_free(&rp->pidcomm);
	free(rp->pidcomm_proc);
	free(rp->acc);
	for (size_t i = 0; i < rp->procs.n; i++) {
		free(rp->proc[i].comm);
		free(rp->proc[i].exe);
	}
	free(rp->proc);
	free(rp->opens);
	kept_free(&rp->integrity);
	kept_free(&rp->denied);
	kept_free(&rp->sessions);
	free(rp->findings.v);
	free(rp->segs);
}

static int cmp_acc(const void *a, const void *b)
{
	const struct actor *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct actor *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->comm ? x->comm : "", y->comm ? y->comm : "");
}

static const struct segment_info *segment_of(const struct report *rp,
					     uint64_t no)
{
	for (size_t i = 0; i < rp->nsegs; i++)
		if (rp->segs[i].no == no)
			return &rp->segs[i];
	return NULL;
}

static bool is_gap(const struct audit_problem *p)
{
	return p->kind == AUDIT_NOTE_CRASH || p->kind == AUDIT_TRUNCATED ||
	       p->kind == AUDIT_NOTE_OPEN;
}

/* A gap belongs to the window if its segment's last record does. */
static bool gap_in_window(const struct opts *o, const struct report *rp,
			  const struct audit_problem *p)
{
	const struct segment_info *s = segment_of(rp, p->segment_no);

	if (s == NULL)
		return true;
	return !(o->has_since && s->last_us < o->since) &&
	       !(o->has_until && s->last_us >= o->until);
}

static void text_kept(const struct kept *k, bool with_event)
{
	char t[32];

	auditrec_format_time(k->time_us, t);
	printf("  %s  seq %" PRIu64 "  ", t, k->seq);
	if (with_event)
		printf("%-9s ", auditrec_event_name(k->event));
	printf("uid %" PRIu32 " pid %" PRIu32 " ", k->uid, k->pid);
	put_safe(stdout, k->comm ? k->comm : "-");
	if (k->path != NULL) {
		fputc(' ', stdout);
		put_safe(stdout, k->path);
	}
	if (k->new_path != NULL) {
		fputs(" -> ", stdout);
		put_safe(stdout, k->new_path);
	}
	if (k->result != 0) {
		fputc(' ', stdout);
		put_result(stdout, k->result, 0);
	}
	if (k->detail != NULL) {
		fputs(" (", stdout);
		put_safe(stdout, k->detail);
		fputc(')', stdout);
	}
	fputc('\n', stdout);
}

static void text_list(const char *title, const struct kept_list *l,
		      bool with_event)
{
	printf("\n%s: %" PRIu64 "\n", title, l->total);
	for (size_t i = 0; i < l->n && i < REPORT_PRINT_MAX; i++)
		text_kept(&l->v[i], with_event);
	if (l->total > REPORT_PRINT_MAX)
		printf("  ... and %" PRIu64 " more ('vaultctl audit show' "
		       "lists them)\n", l->total - REPORT_PRINT_MAX);
}

/* The rest of a burst line, after who it is. */
static void text_burst(const struct actor *a, const struct opts *o)
{
	char t1[32], t2[32];

	auditrec_format_time(a->burst_from, t1);
	auditrec_format_time(a->burst_to, t2);
	printf(": %" PRIu64 " distinct documents within %lu s, from %s to %s "
	       "(seq %" PRIu64 "..%" PRIu64 ")\n", a->burst, o->burst_window,
	       t1, t2, a->burst_seq_from, a->burst_seq_to);
}

static void report_text(const struct walk *w, const struct report *rp,
			const struct auditverify_summary *sum)
{
	const struct opts *o = w->o;
	char t1[32], t2[32], line[512];
	uint64_t bursts = 0, gaps = 0;

	printf("Access log report for %s\n", o->vault);
	if (o->has_since)
		auditrec_format_time(o->since, t1);
	if (o->has_until)
		auditrec_format_time(o->until, t2);
	printf("Window:        %s to %s\n", o->has_since ? t1 : "the start",
	       o->has_until ? t2 : "the end");
	if (w->damage == 0) {
		printf("Verification:  intact: ");
	} else {
		format_finding(&w->first_damage, line, sizeof(line));
		printf("Verification:  DAMAGED: first: %s\n               ",
		       line);
	}
	print_summary(stdout, w, sum);
	printf("Records:       %" PRIu64 " in the window", rp->records);
	if (rp->records > 0) {
		auditrec_format_time(rp->first_us, t1);
		auditrec_format_time(rp->last_us, t2);
		printf(" (seq %" PRIu64 "..%" PRIu64 ", %s to %s)",
		       rp->first_seq, rp->last_seq, t1, t2);
	}
	putchar('\n');

	printf("\nAccounts: %zu\n", rp->accounts.n);
	if (rp->accounts.n > 0)
		printf("  %10s %8s %8s %14s %14s %7s %9s\n", "UID", "OPENS",
		       "DOCS", "BYTES_READ", "BYTES_WRITTEN", "DENIED",
		       "INTEGRITY");
	for (size_t i = 0; i < rp->accounts.n; i++) {
		const struct actor *a = &rp->acc[i];

		printf("  %10" PRIu32 " %8" PRIu64 " %8" PRIu64 " %14" PRIu64
		       " %14" PRIu64 " %7" PRIu64 " %9" PRIu64 "\n", a->uid,
		       a->opens, a->docs, a->bytes_read, a->bytes_written,
		       a->denied, a->integrity);
	}
	printf("\nProcesses: %zu\n", rp->procs.n);
	if (rp->procs.n > 0)
		printf("  %8s %10s %-15s %8s %8s %14s %14s %7s %9s %s\n", "PID",
		       "UID", "COMM", "OPENS", "DOCS", "BYTES_READ",
		       "BYTES_WRITTEN", "DENIED", "INTEGRITY", "EXE");
	for (size_t i = 0; i < rp->procs.n; i++) {
		const struct actor *p = &rp->proc[i];
		size_t cl = p->comm ? strlen(p->comm) : 1;

		printf("  %8" PRIu32 " %10" PRIu32 " ", p->pid, p->uid);
		put_safe(stdout, p->comm ? p->comm : "-");
		printf("%*s %8" PRIu64 " %8" PRIu64 " %14" PRIu64 " %14" PRIu64
		       " %7" PRIu64 " %9" PRIu64 " ", cl < 15 ? (int)(15 - cl) :
		       0, "", p->opens, p->docs, p->bytes_read,
		       p->bytes_written, p->denied, p->integrity);
		put_safe(stdout, p->exe ? p->exe : "-");
		putchar('\n');
	}

	printf("\nBursts (at least %lu distinct documents opened within %lu "
	       "s):\n", o->burst_docs, o->burst_window);
	for (size_t i = 0; i < rp->accounts.n; i++) {
		if (rp->acc[i].burst < o->burst_docs)
			continue;
		printf("  account uid %" PRIu32, rp->acc[i].uid);
		text_burst(&rp->acc[i], o);
		bursts++;
	}
	for (size_t i = 0; i < rp->procs.n; i++) {
		const struct actor *p = &rp->proc[i];

		if (p->burst < o->burst_docs)
			continue;
		printf("  process %" PRIu32 " ", p->pid);
		put_safe(stdout, p->comm ? p->comm : "-");
		fputs(" (", stdout);
		put_safe(stdout, p->exe ? p->exe : "-");
		printf("), uid %" PRIu32, p->uid);
		text_burst(p, o);
		bursts++;
	}
	if (bursts == 0)
		printf("  none\n");

	text_list("Integrity failures", &rp->integrity, true);
	text_list("Denied accesses", &rp->denied, true);
	text_list("Mounts, unmounts and vaultctl commands", &rp->sessions,
		  true);

	printf("\nGaps (segments that ended without their final record):\n");
	for (size_t i = 0; i < rp->findings.n; i++) {
		const struct audit_problem *p = &rp->findings.v[i];
		const struct segment_info *s;

		if (!is_gap(p) || !gap_in_window(o, rp, p))
			continue;
		s = segment_of(rp, p->segment_no);
		printf("  %s: %s", p->segment, p->kind == AUDIT_NOTE_OPEN ?
		       "still being written (mounted)" : p->kind ==
		       AUDIT_NOTE_CRASH ? "crash (a later segment chains on)" :
		       "truncated tail (damage)");
		if (s != NULL) {
			auditrec_format_time(s->last_us, t1);
			printf(", last record seq %" PRIu64 " at %s (%s)",
			       s->last_seq, t1, auditrec_event_name(s->last_event));
		}
		printf(": %s\n", p->detail);
		gaps++;
	}
	if (gaps == 0)
		printf("  none\n");

	if (w->damage > 0) {
		printf("\nDamage findings: %" PRIu64 "\n", w->damage);
		for (size_t i = 0, k = 0; i < rp->findings.n &&
		     k < REPORT_PRINT_MAX; i++) {
			if (!auditverify_is_damage(rp->findings.v[i].kind))
				continue;
			format_finding(&rp->findings.v[i], line, sizeof(line));
			printf("  %s\n", line);
			k++;
		}
	}
}

static void json_actor(FILE *f, const struct actor *a, bool proc,
		       const struct opts *o)
{
	fprintf(f, "{");
	if (proc) {
		fprintf(f, "\"pid\":%" PRIu32 ",\"comm\":", a->pid);
		put_json(f, a->comm);
		fputs(",\"exe\":", f);
		put_json(f, a->exe);
		fputc(',', f);
	}
	fprintf(f, "\"uid\":%" PRIu32 ",\"records\":%" PRIu64 ",\"opens\":%"
		PRIu64 ",\"documents\":%" PRIu64 ",\"bytes_read\":%" PRIu64
		",\"bytes_written\":%" PRIu64 ",\"denied\":%" PRIu64
		",\"integrity\":%" PRIu64 ",\"max_documents_in_window\":%"
		PRIu64 ",\"burst\":%s}", a->uid, a->records, a->opens, a->docs,
		a->bytes_read, a->bytes_written, a->denied, a->integrity,
		a->burst, a->burst >= o->burst_docs ? "true" : "false");
}

static void json_burst(FILE *f, const struct actor *a, bool proc, bool *first)
{
	fputs(*first ? "" : ",", f);
	*first = false;
	if (proc) {
		fprintf(f, "{\"kind\":\"process\",\"pid\":%" PRIu32 ",\"comm\":",
			a->pid);
		put_json(f, a->comm);
		fputs(",\"exe\":", f);
		put_json(f, a->exe);
		fprintf(f, ",\"uid\":%" PRIu32, a->uid);
	} else {
		fprintf(f, "{\"kind\":\"account\",\"uid\":%" PRIu32, a->uid);
	}
	fprintf(f, ",\"documents\":%" PRIu64 ",\"from\":", a->burst);
	put_json_time(f, a->burst_from);
	fputs(",\"to\":", f);
	put_json_time(f, a->burst_to);
	fprintf(f, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
		a->burst_seq_from, a->burst_seq_to);
}

static void json_kept(FILE *f, const struct kept_list *l)
{
	fputs("[", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct kept *k = &l->v[i];

		fprintf(f, "%s{\"seq\":%" PRIu64 ",\"time\":", i ? "," : "",
			k->seq);
		put_json_time(f, k->time_us);
		fputs(",\"event\":", f);
		put_json(f, auditrec_event_name(k->event));
		fputs(",\"path\":", f);
		put_json(f, k->path);
		if (k->new_path != NULL) {
			fputs(",\"new_path\":", f);
			put_json(f, k->new_path);
		}
		fprintf(f, ",\"uid\":%" PRIu32 ",\"pid\":%" PRIu32 ",\"comm\":",
			k->uid, k->pid);
		put_json(f, k->comm);
		fputs(",\"exe\":", f);
		put_json(f, k->exe);
		fprintf(f, ",\"result\":%" PRId32, k->result);
		if (k->detail != NULL) {
			fputs(",\"detail\":", f);
			put_json(f, k->detail);
		}
		fputc('}', f);
	}
	fputs("]", f);
}

static void report_json(const struct walk *w, const struct report *rp,
			const struct auditverify_summary *sum)
{
	const struct opts *o = w->o;
	FILE *f = stdout;
	bool first = true;

	fputs("{\"vault\":", f);
	put_json(f, o->vault);
	fputs(",\"since\":", f);
	if (o->has_since)
		put_json_time(f, o->since);
	else
		fputs("null", f);
	fputs(",\"until\":", f);
	if (o->has_until)
		put_json_time(f, o->until);
	else
		fputs("null", f);

	fprintf(f, ",\"verification\":{\"intact\":%s,\"segments\":%" PRIu64
		",\"first_segment\":%" PRIu64 ",\"last_segment\":%" PRIu64
		",\"records\":%" PRIu64 ",\"first_seq\":%" PRIu64
		",\"last_seq\":%" PRIu64 ",\"history_complete\":%s",
		w->damage == 0 ? "true" : "false", sum->segments,
		sum->first_segment, sum->last_segment, sum->records,
		sum->first_seq, sum->last_seq,
		sum->history_complete ? "true" : "false");
	if (w->history_seg != 0)
		fprintf(f, ",\"history_starts\":{\"segment\":%" PRIu64
			",\"seq\":%" PRIu64 "}", w->history_seg,
			w->history_seq);
	fprintf(f, ",\"damage\":%" PRIu64 ",\"notes\":%" PRIu64
		",\"first_damage\":", w->damage, w->notes);
	if (w->damage > 0)
		print_finding_json(f, &w->first_damage);
	else
		fputs("null", f);
	fputs(",\"findings\":[", f);
	for (size_t i = 0; i < rp->findings.n; i++) {
		fputs(i ? "," : "", f);
		print_finding_json(f, &rp->findings.v[i]);
	}
	fputs("]}", f);

	fprintf(f, ",\"records\":%" PRIu64, rp->records);
	if (rp->records > 0) {
		fprintf(f, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
			",\"first_time\":", rp->first_seq, rp->last_seq);
		put_json_time(f, rp->first_us);
		fputs(",\"last_time\":", f);
		put_json_time(f, rp->last_us);
	}
	fprintf(f, ",\"burst_threshold\":{\"documents\":%lu,\"window_seconds\""
		":%lu}", o->burst_docs, o->burst_window);

	fputs(",\"accounts\":[", f);
	for (size_t i = 0; i < rp->accounts.n; i++) {
		fputs(i ? "," : "", f);
		json_actor(f, &rp->acc[i], false, o);
	}
	fputs("],\"processes\":[", f);
	for (size_t i = 0; i < rp->procs.n; i++) {
		fputs(i ? "," : "", f);
		json_actor(f, &rp->proc[i], true, o);
	}
	fputs("],\"bursts\":[", f);
	for (size_t i = 0; i < rp->accounts.n; i++)
		if (rp->acc[i].burst >= o->burst_docs)
			json_burst(f, &rp->acc[i], false, &first);
	for (size_t i = 0; i < rp->procs.n; i++)
		if (rp->proc[i].burst >= o->burst_docs)
			json_burst(f, &rp->proc[i], true, &first);
	fprintf(f, "],\"integrity_failures\":%" PRIu64 ",\"integrity\":",
		rp->integrity.total);
	json_kept(f, &rp->integrity);
	fprintf(f, ",\"denied_accesses\":%" PRIu64 ",\"denied\":",
		rp->denied.total);
	json_kept(f, &rp->denied);
	fprintf(f, ",\"mounts_and_commands\":%" PRIu64 ",\"mounts\":",
		rp->sessions.total);
	json_kept(f, &rp->sessions);
	fputs(",\"gaps\":[", f);
	first = true;
	for (size_t i = 0; i < rp->findings.n; i++) {
		const struct audit_problem *p = &rp->findings.v[i];
		const struct segment_info *s;

		if (!is_gap(p) || !gap_in_window(o, rp, p))
			continue;
		s = segment_of(rp, p->segment_no);
		fputs(first ? "{\"segment\":" : ",{\"segment\":", f);
		first = false;
		put_json(f, p->segment);
		fputs(",\"kind\":", f);
		put_json(f, auditverify_finding_name(p->kind));
		if (s != NULL) {
			fprintf(f, ",\"last_seq\":%" PRIu64 ",\"last_time\":",
				s->last_seq);
			put_json_time(f, s->last_us);
			fputs(",\"last_event\":", f);
			put_json(f, auditrec_event_name(s->last_event));
		}
		fputs(",\"detail\":", f);
		put_json(f, p->detail);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

/* ---- common driver ---- */

static int common_finding(void *arg, const struct audit_problem *p)
{
	struct walk *w = arg;

	if (auditverify_is_damage(p->kind)) {
		if (w->damage++ == 0)
			w->first_damage = *p;
	} else {
		w->notes++;
		if (p->kind == AUDIT_NOTE_HISTORY_START && w->history_seg == 0 &&
		    p->segment_no != 0) {
			w->history_seg = p->segment_no;
			w->history_seq = p->seq;
		}
	}
	switch (w->o->verb) {
	case VERB_VERIFY:
		return verify_finding(arg, p);
	case VERB_SHOW:
		return show_finding(arg, p);
	default:
		return report_finding(arg, p);
	}
}

static int common_record(void *arg, const struct audit_record *r,
			 const struct audit_position *pos)
{
	struct walk *w = arg;

	switch (w->o->verb) {
	case VERB_SHOW:
		/* --syslog: the forwarded records are shown instead */
		return w->o->syslog != NULL ? 0 : show_record(arg, r, pos);
	case VERB_REPORT:
		return report_record(arg, r, pos);
	default:
		return 0;
	}
}

/* ---- --syslog FILE (tools/audit-syslog.h) ---- */

static void syslog_note(void *arg, const char *text)
{
	struct walk *w = arg;

	if (w->o->verb == VERB_VERIFY)
		printf("note: syslog: %s\n", text);
	else
		note("syslog: %s", text);
}

/*
 * Compare with (verify) or show (show) the forwarded copy; its damage
 * findings join the walk's.  0, or -1 after printing why.
 */
static int syslog_run(struct walk *w, int dfd, const uint8_t *sk,
		      const uint8_t *pk, const struct auditverify_summary *sum)
{
	static const struct audit_syslog_callbacks cb = {
		.record = show_record,
		.finding = common_finding,
		.note = syslog_note,
	};
	const struct opts *o = w->o;
	const uint8_t *vid = sum->segments > 0 ? sum->vault_id : NULL;
	struct audit_syslog_summary ss;
	int r;

	if (o->verb == VERB_VERIFY)
		r = audit_syslog_verify(dfd, o->syslog, sk, pk, vid, &cb, w,
					&ss);
	else
		r = audit_syslog_records(o->syslog, sk, pk, vid, &cb, w, &ss);
	if (r == 0 && w->err != 0)
		r = w->err;
	if (r == 0)
		return 0;
	if (r == -ENODATA)
		vaultctl_error("no forwarded access log of this vault in '%s' "
			       "(%" PRIu64 " lines, %" PRIu64 " forwarded items "
			       "of other vaults); give the file the collector "
			       "writes the vaultfs-audit messages to", o->syslog,
			       ss.collect.lines, ss.other_vault);
	else if (r == -EKEYREJECTED)
		vaultctl_error("wrong key: no forwarded segment header in '%s' "
			       "is sealed to auditor key '%s'", o->syslog,
			       o->keyfile);
	else if (r < 0)
		vaultctl_error("cannot read the forwarded copy '%s': %s",
			       o->syslog, strerror(-r));
	return -1;
}

static int run(struct opts *o)
{
	static const struct auditverify_callbacks cb = {
		.record = common_record,
		.finding = common_finding,
	};
	struct auditverify_summary sum;
	struct report rep;
	struct walk w;
	struct audit_problem head;
	uint8_t pk[AUDITKEY_PK_BYTES], *sk = NULL;
	char dir[4200];
	int dfd, r, status;

	memset(&w, 0, sizeof(w));
	memset(&rep, 0, sizeof(rep));
	w.o = o;
	w.rep = &rep;
	dfd = open_log_dir(o->vault, dir, sizeof(dir));
	if (dfd < 0)
		return VAULTCTL_EXIT_FAILURE;
	status = load_key(o, &sk, pk);
	if (status != 0)
		goto out;

	status = VAULTCTL_EXIT_FAILURE;
	r = auditverify_run(dfd, sk, pk, NULL, &cb, &w, &sum);
	if (r == 0 && w.err == 0 && o->syslog != NULL &&
	    syslog_run(&w, dfd, sk, pk, &sum) < 0)
		goto out;
	seal_secret_free(sk);
	sk = NULL;
	if (r == 0 && w.err != 0)
		r = w.err;
	if (ferror(stdout)) {
		vaultctl_error("cannot write the output");
		goto out;
	}
	if (r == -EKEYREJECTED) {
		vaultctl_error("wrong key: no segment of the access log in '%s' "
			       "is sealed to auditor key '%s'; is it this "
			       "vault's auditor key?", dir, o->keyfile);
		goto out;
	}
	if (r < 0) {
		vaultctl_error("cannot read the access log in '%s': %s", dir,
			       strerror(-r));
		goto out;
	}
	if (check_head(dfd, &sum, &head))
		(void)common_finding(&w, &head);

	switch (o->verb) {
	case VERB_VERIFY:
		if (w.printed > VERIFY_PRINT_MAX)
			printf("... %" PRIu64 " more findings not listed\n",
			       w.printed - VERIFY_PRINT_MAX);
		if (sum.segments == 0 && w.damage == 0) {
			printf("the access log in '%s' is empty: no segments\n",
			       dir);
		} else if (w.damage == 0) {
			printf("the access log is intact: ");
			print_summary(stdout, &w, &sum);
		} else {
			char line[512];

			format_finding(&w.first_damage, line, sizeof(line));
			printf("the access log is DAMAGED; first bad record: "
			       "%s\n", line);
			print_summary(stdout, &w, &sum);
		}
		break;
	case VERB_SHOW:
		if (w.damage > 0) {
			char line[512];

			format_finding(&w.first_damage, line, sizeof(line));
			if (w.printed > SHOW_WARN_MAX)
				vaultctl_warning("... %" PRIu64 " more damage "
						 "findings",
						 w.printed - SHOW_WARN_MAX);
			vaultctl_warning("the access log is damaged (%" PRIu64
					 " finding%s; first: %s): only records "
					 "that authenticate were shown; run "
					 "'vaultctl audit verify' for details",
					 w.damage, w.damage == 1 ? "" : "s",
					 line);
		}
		break;
	default:
		r = analyse(&rep, (int64_t)o->burst_window * 1000000);
		if (r < 0) {
			vaultctl_error("out of memory");
			goto out;
		}
		/* Index order no longer matters: sort for the reader. */
		if (rep.accounts.n > 0)
			qsort(rep.acc, rep.accounts.n, sizeof(*rep.acc),
			      cmp_acc);
		if (rep.procs.n > 0)
			qsort(rep.proc, rep.procs.n, sizeof(*rep.proc),
			      cmp_proc);
		if (o->json)
			report_json(&w, &rep, &sum);
		else
			report_text(&w, &rep, &sum);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		vaultctl_error("cannot write the output: %s", strerror(errno));
		goto out;
	}
	status = w.damage > 0 ? VAULTCTL_EXIT_FAILURE : VAULTCTL_EXIT_OK;
out:
	seal_secret_free(sk);
	sodium_memzero(pk, sizeof(pk));
	report_free(&rep);
	close(dfd);
	return status;
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
	memset(&o, 0, sizeof(o));
	for (v = 0; v < 3; v++)
		if (strcmp(argv[1], verbs[v]) == 0)
			break;
	if (v == 3)
		return vaultctl_usage_error("audit", "unknown subcommand '%s': "
					    "use verify, show or report",
					    argv[1]);
	o.verb = (enum verb)v;
	o.what = whats[v];
	o.burst_docs = BURST_DOCS_DEFAULT;
	o.burst_window = BURST_WINDOW_DEFAULT;
	r = parse_options(&o, argc - 1, argv + 1);
	if (r < 0)
		return VAULTCTL_EXIT_OK;	/* --help */
	if (r > 0)
		return r;
	return run(&o);
}
