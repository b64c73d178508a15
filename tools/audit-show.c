/* audit-show.c - see audit-show.h. */
#include "audit-show.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vaultctl.h"
#include "audit-print.h"
#include "../vaultfs/seal.h"

#define SHOW_WARN_MAX 20		/* damage warnings printed */

struct show {
	const struct audit_show_opts *o;
	uint64_t shown;			/* records printed */
	uint64_t printed;		/* damage findings seen */
};

static bool match(const struct audit_show_opts *o,
		  const struct audit_record *r)
{
	if (!audit_time_window_has(&o->window, r->time_us))
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
	audit_print_safe(f, comm);
	fprintf(f, "%*s ", strlen(comm) < 15 ? (int)(15 - strlen(comm)) : 0,
		"");
	audit_print_result(f, r->result, 7);
	fputc(' ', f);
	if (r->path != NULL)
		audit_print_safe(f, r->path);
	else
		fputc('-', f);
	if (r->new_path != NULL) {
		fputs(" -> ", f);
		audit_print_safe(f, r->new_path);
	}
	if (r->event == AUDIT_EV_OPEN || r->event == AUDIT_EV_CREATE)
		put_flags(f, r->open_flags);
	if (r->event == AUDIT_EV_CLOSE || r->bytes_read != 0 ||
	    r->bytes_written != 0)
		fprintf(f, " read %" PRIu64 " written %" PRIu64, r->bytes_read,
			r->bytes_written);
	if (r->detail != NULL) {
		fputs(" (", f);
		audit_print_safe(f, r->detail);
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
	struct show *s = arg;

	if (!match(s->o, r))
		return 0;
	if (s->o->json) {
		int err = show_json(r, pos->chained);

		if (err < 0)
			return err;
	} else {
		if (s->shown == 0)
			printf("%-27s %7s %-9s %6s %7s %-15s %-7s %s\n", "TIME",
			       "SEQ", "EVENT", "UID", "PID", "COMM", "RESULT",
			       "PATH");
		show_row(r, pos->chained);
	}
	s->shown++;
	return 0;
}

/* Findings name segments and seqs, never a path: stderr is fine. */
static int show_finding(void *arg, const struct audit_problem *p)
{
	struct show *s = arg;
	char line[512];

	audit_print_format_finding(p, line, sizeof(line));
	if (!auditverify_is_damage(p->kind)) {
		vaultctl_note("%s", line);
		return 0;
	}
	if (p->kind == AUDIT_WRONG_KEY)
		return 0;	/* summed up at the end */
	if (s->printed++ < SHOW_WARN_MAX)
		vaultctl_warning("access log damaged: %s", line);
	return 0;
}

static void syslog_note(void *arg, const char *text)
{
	vaultctl_note("syslog: %s", text);
}

int audit_show_run(const struct audit_read_source *src,
		   const struct audit_show_opts *o)
{
	/* --syslog: the forwarded records are shown instead */
	const struct audit_read_ops ops = {
		.record = src->syslog != NULL ? NULL : show_record,
		.finding = show_finding,
		.syslog_compare = false,
		.syslog_record = show_record,
		.syslog_note = syslog_note,
	};
	struct show s = { .o = o };
	struct audit_read_tally t;
	char line[512];
	int status;

	status = audit_read_run(src, &ops, &s, &t);
	if (status != 0)
		return status;
	if (t.wrong_key > 0) {
		fflush(stdout);
		fputs("vaultctl: warning: the access log was not read "
		      "completely: ", stderr);
		audit_read_print_other_keys(stderr, &t);
	}
	if (t.other_damage > 0) {
		audit_print_format_finding(&t.first_other_damage, line,
					   sizeof(line));
		if (s.printed > SHOW_WARN_MAX)
			vaultctl_warning("... %" PRIu64 " more damage findings",
					 s.printed - SHOW_WARN_MAX);
		vaultctl_warning("the access log is damaged (%" PRIu64
				 " finding%s; first: %s): only records that "
				 "authenticate were shown; run 'vaultctl audit "
				 "verify' for details", t.other_damage,
				 t.other_damage == 1 ? "" : "s", line);
	}
	return audit_read_status(&t);
}
