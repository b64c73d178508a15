/* audit-report-print.c - see audit-report-print.h. */
#include "audit-report-print.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit-print.h"

#define REPORT_PRINT_MAX 50		/* entries the text lists print */

static const struct audit_report_segment *
segment_of(const struct audit_report *rp, uint64_t no)
{
	for (size_t i = 0; i < rp->nsegs; i++)
		if (rp->segs[i].no == no)
			return &rp->segs[i];
	return NULL;
}

/*
 * Is finding p a gap (a segment that ended without its final record) that
 * belongs to the window, i.e. whose segment's last record does?  *s: that
 * segment as its records showed it, NULL when none authenticated.
 */
static bool window_gap(const struct audit_report_opts *o,
		       const struct audit_report *rp,
		       const struct audit_problem *p,
		       const struct audit_report_segment **s)
{
	if (p->kind != AUDIT_NOTE_CRASH && p->kind != AUDIT_TRUNCATED &&
	    p->kind != AUDIT_NOTE_OPEN)
		return false;
	*s = segment_of(rp, p->segment_no);
	return *s == NULL || audit_time_window_has(&o->window, (*s)->last_us);
}

static void text_kept(const struct audit_report_kept *k, bool with_event)
{
	char t[32];

	auditrec_format_time(k->time_us, t);
	printf("  %s  seq %" PRIu64 "  ", t, k->seq);
	if (with_event)
		printf("%-9s ", auditrec_event_name(k->event));
	printf("uid %" PRIu32 " pid %" PRIu32 " ", k->uid, k->pid);
	audit_print_safe(stdout, k->comm ? k->comm : "-");
	if (k->path != NULL) {
		fputc(' ', stdout);
		audit_print_safe(stdout, k->path);
	}
	if (k->new_path != NULL) {
		fputs(" -> ", stdout);
		audit_print_safe(stdout, k->new_path);
	}
	if (k->result != 0) {
		fputc(' ', stdout);
		audit_print_result(stdout, k->result, 0);
	}
	if (k->detail != NULL) {
		fputs(" (", stdout);
		audit_print_safe(stdout, k->detail);
		fputc(')', stdout);
	}
	fputc('\n', stdout);
}

static void text_list(const char *title,
		      const struct audit_report_kept_list *l, bool with_event)
{
	printf("\n%s: %" PRIu64 "\n", title, l->total);
	for (size_t i = 0; i < l->n && i < REPORT_PRINT_MAX; i++)
		text_kept(&l->v[i], with_event);
	if (l->total > REPORT_PRINT_MAX)
		printf("  ... and %" PRIu64 " more ('vaultctl audit show' "
		       "lists them)\n", l->total - REPORT_PRINT_MAX);
}

/* The rest of a burst line, after who it is. */
static void text_burst(const struct audit_report_actor *a,
		       const struct audit_report_opts *o)
{
	char t1[32], t2[32];

	auditrec_format_time(a->burst_from, t1);
	auditrec_format_time(a->burst_to, t2);
	printf(": %" PRIu64 " distinct documents within %lu s, from %s to %s "
	       "(seq %" PRIu64 "..%" PRIu64 ")\n", a->burst, o->burst_window,
	       t1, t2, a->burst_seq_from, a->burst_seq_to);
}

void audit_report_print_text(const char *vault,
			     const struct audit_report_opts *o,
			     const struct audit_read_tally *t,
			     const struct audit_report *rp)
{
	char t1[32], t2[32], line[512];
	uint64_t bursts = 0, gaps = 0;

	printf("Access log report for %s\n", vault);
	if (o->window.has_since)
		auditrec_format_time(o->window.since, t1);
	if (o->window.has_until)
		auditrec_format_time(o->window.until, t2);
	printf("Window:        %s to %s\n",
	       o->window.has_since ? t1 : "the start",
	       o->window.has_until ? t2 : "the end");
	if (t->damage == 0) {
		printf("Verification:  intact: ");
	} else {
		audit_print_format_finding(&t->first_damage, line,
					   sizeof(line));
		printf("Verification:  DAMAGED: first: %s\n               ",
		       line);
	}
	audit_read_print_summary(stdout, t);
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
		const struct audit_report_actor *a = &rp->acc[i];

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
		const struct audit_report_actor *p = &rp->proc[i];
		size_t cl = p->comm ? strlen(p->comm) : 1;

		printf("  %8" PRIu32 " %10" PRIu32 " ", p->pid, p->uid);
		audit_print_safe(stdout, p->comm ? p->comm : "-");
		printf("%*s %8" PRIu64 " %8" PRIu64 " %14" PRIu64 " %14" PRIu64
		       " %7" PRIu64 " %9" PRIu64 " ", cl < 15 ? (int)(15 - cl) :
		       0, "", p->opens, p->docs, p->bytes_read,
		       p->bytes_written, p->denied, p->integrity);
		audit_print_safe(stdout, p->exe ? p->exe : "-");
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
		const struct audit_report_actor *p = &rp->proc[i];

		if (p->burst < o->burst_docs)
			continue;
		printf("  process %" PRIu32 " ", p->pid);
		audit_print_safe(stdout, p->comm ? p->comm : "-");
		fputs(" (", stdout);
		audit_print_safe(stdout, p->exe ? p->exe : "-");
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
		const struct audit_report_segment *s;

		if (!window_gap(o, rp, p, &s))
			continue;
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

	if (t->damage > 0) {
		printf("\nDamage findings: %" PRIu64 "\n", t->damage);
		for (size_t i = 0, k = 0; i < rp->findings.n &&
		     k < REPORT_PRINT_MAX; i++) {
			if (!auditverify_is_damage(rp->findings.v[i].kind))
				continue;
			audit_print_format_finding(&rp->findings.v[i], line,
						   sizeof(line));
			printf("  %s\n", line);
			k++;
		}
	}
}

static void json_actor(FILE *f, const struct audit_report_actor *a,
		       bool proc, const struct audit_report_opts *o)
{
	fprintf(f, "{");
	if (proc) {
		fprintf(f, "\"pid\":%" PRIu32 ",\"comm\":", a->pid);
		audit_print_json(f, a->comm);
		fputs(",\"exe\":", f);
		audit_print_json(f, a->exe);
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

static void json_burst(FILE *f, const struct audit_report_actor *a,
		       bool proc, bool *first)
{
	fputs(*first ? "" : ",", f);
	*first = false;
	if (proc) {
		fprintf(f, "{\"kind\":\"process\",\"pid\":%" PRIu32 ",\"comm\":",
			a->pid);
		audit_print_json(f, a->comm);
		fputs(",\"exe\":", f);
		audit_print_json(f, a->exe);
		fprintf(f, ",\"uid\":%" PRIu32, a->uid);
	} else {
		fprintf(f, "{\"kind\":\"account\",\"uid\":%" PRIu32, a->uid);
	}
	fprintf(f, ",\"documents\":%" PRIu64 ",\"from\":", a->burst);
	audit_print_json_time(f, a->burst_from);
	fputs(",\"to\":", f);
	audit_print_json_time(f, a->burst_to);
	fprintf(f, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
		a->burst_seq_from, a->burst_seq_to);
}

static void json_kept(FILE *f, const struct audit_report_kept_list *l)
{
	fputs("[", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct audit_report_kept *k = &l->v[i];

		fprintf(f, "%s{\"seq\":%" PRIu64 ",\"time\":", i ? "," : "",
			k->seq);
		audit_print_json_time(f, k->time_us);
		fputs(",\"event\":", f);
		audit_print_json(f, auditrec_event_name(k->event));
		fputs(",\"path\":", f);
		audit_print_json(f, k->path);
		if (k->new_path != NULL) {
			fputs(",\"new_path\":", f);
			audit_print_json(f, k->new_path);
		}
		fprintf(f, ",\"uid\":%" PRIu32 ",\"pid\":%" PRIu32 ",\"comm\":",
			k->uid, k->pid);
		audit_print_json(f, k->comm);
		fputs(",\"exe\":", f);
		audit_print_json(f, k->exe);
		fprintf(f, ",\"result\":%" PRId32, k->result);
		if (k->detail != NULL) {
			fputs(",\"detail\":", f);
			audit_print_json(f, k->detail);
		}
		fputc('}', f);
	}
	fputs("]", f);
}

void audit_report_print_json(const char *vault,
			     const struct audit_report_opts *o,
			     const struct audit_read_tally *t,
			     const struct audit_report *rp)
{
	const struct auditverify_summary *sum = &t->sum;
	FILE *f = stdout;
	bool first = true;

	fputs("{\"vault\":", f);
	audit_print_json(f, vault);
	fputs(",\"since\":", f);
	if (o->window.has_since)
		audit_print_json_time(f, o->window.since);
	else
		fputs("null", f);
	fputs(",\"until\":", f);
	if (o->window.has_until)
		audit_print_json_time(f, o->window.until);
	else
		fputs("null", f);

	fprintf(f, ",\"verification\":{\"intact\":%s,\"segments\":%" PRIu64
		",\"first_segment\":%" PRIu64 ",\"last_segment\":%" PRIu64
		",\"records\":%" PRIu64 ",\"first_seq\":%" PRIu64
		",\"last_seq\":%" PRIu64 ",\"history_complete\":%s",
		t->damage == 0 ? "true" : "false", sum->segments,
		sum->first_segment, sum->last_segment, sum->records,
		sum->first_seq, sum->last_seq,
		sum->history_complete ? "true" : "false");
	if (t->history_seg != 0)
		fprintf(f, ",\"history_starts\":{\"segment\":%" PRIu64
			",\"seq\":%" PRIu64 "}", t->history_seg,
			t->history_seq);
	fprintf(f, ",\"damage\":%" PRIu64 ",\"notes\":%" PRIu64
		",\"first_damage\":", t->damage, t->notes);
	if (t->damage > 0)
		audit_print_finding_json(f, &t->first_damage);
	else
		fputs("null", f);
	fputs(",\"findings\":[", f);
	for (size_t i = 0; i < rp->findings.n; i++) {
		fputs(i ? "," : "", f);
		audit_print_finding_json(f, &rp->findings.v[i]);
	}
	fputs("]}", f);

	fprintf(f, ",\"records\":%" PRIu64, rp->records);
	if (rp->records > 0) {
		fprintf(f, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
			",\"first_time\":", rp->first_seq, rp->last_seq);
		audit_print_json_time(f, rp->first_us);
		fputs(",\"last_time\":", f);
		audit_print_json_time(f, rp->last_us);
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
		const struct audit_report_segment *s;

		if (!window_gap(o, rp, p, &s))
			continue;
		fputs(first ? "{\"segment\":" : ",{\"segment\":", f);
		first = false;
		audit_print_json(f, p->segment);
		fputs(",\"kind\":", f);
		audit_print_json(f, auditverify_finding_name(p->kind));
		if (s != NULL) {
			fprintf(f, ",\"last_seq\":%" PRIu64 ",\"last_time\":",
				s->last_seq);
			audit_print_json_time(f, s->last_us);
			fputs(",\"last_event\":", f);
			audit_print_json(f, auditrec_event_name(s->last_event));
		}
		fputs(",\"detail\":", f);
		audit_print_json(f, p->detail);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

