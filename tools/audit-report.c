/* audit-report.c - see audit-report.h. */
#include "audit-report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vaultctl.h"
#include "audit-report-print.h"

/* One successful open or create, for distinct documents and bursts. */
struct audit_report_open {
	int64_t t;
	uint64_t seq;
	uint32_t doc;
	uint32_t actor;			/* acct or proc: the one scanned */
	uint32_t acct, proc;
};

/* What report_record() and report_finding() get. */
struct collect {
	const struct audit_report_opts *o;
	struct audit_report *rp;
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

static int keep(struct audit_report_kept_list *l,
		const struct audit_record *r)
{
	struct audit_report_kept *k;

	l->total++;
	if (l->n >= AUDIT_REPORT_LIST_MAX)
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

static void kept_free(struct audit_report_kept_list *l)
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
static int actors_of(struct audit_report *rp, const struct audit_record *r,
		     struct audit_report_actor **a,
		     struct audit_report_actor **p, uint32_t *ai, uint32_t *pi)
{
	char key[4 + 256 + 1 + AUDIT_EXE_MAX + 1];
	size_t cl = r->comm ? strlen(r->comm) : 0;
	size_t el = r->exe ? strlen(r->exe) : 0;
	bool added, pcnew;
	uint32_t pc;

	if (intern_get(&rp->accounts, &r->uid, sizeof(r->uid), ai,
		       &added) < 0 ||
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

static int report_segment(struct audit_report *rp,
			  const struct audit_record *r,
			  const struct audit_position *pos)
{
	struct audit_report_segment *s;

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
	struct collect *c = arg;
	struct audit_report *rp = c->rp;
	struct audit_report_actor *a, *p;
	uint32_t ai, pi;
	int err;

	err = report_segment(rp, r, pos);
	if (err < 0)
		return err;
	if (!audit_time_window_has(&c->o->window, r->time_us))
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
			return -ENOMEM;
		if (r->event != AUDIT_EV_MOUNT && r->event != AUDIT_EV_UNMOUNT)
			return 0;
	}
	if (r->event == AUDIT_EV_MOUNT || r->event == AUDIT_EV_UNMOUNT)
		return 0;

	if (actors_of(rp, r, &a, &p, &ai, &pi) < 0)
		return -ENOMEM;
	a->records++;
	p->records++;
	if (r->event == AUDIT_EV_INTEGRITY) {
		a->integrity++;
		p->integrity++;
		if (keep(&rp->integrity, r) < 0)
			return -ENOMEM;
	} else if (is_denied(r)) {
		a->denied++;
		p->denied++;
		if (keep(&rp->denied, r) < 0)
			return -ENOMEM;
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
			return -ENOMEM;
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
	struct collect *c = arg;
	struct audit_report_findings *l = &c->rp->findings;

	l->total++;
	if (l->n >= AUDIT_REPORT_LIST_MAX)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = *p;
	return 0;
}

static int cmp_open(const void *a, const void *b)
{
	const struct audit_report_open *x = a, *y = b;

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
static void scan_opens(struct audit_report_open *ev, size_t n,
		       struct audit_report_actor *actors, int64_t window_us,
		       uint32_t *count, uint32_t *stamp)
{
	size_t g = 0;

	while (g < n) {
		uint32_t who = ev[g].actor;
		struct audit_report_actor *a = &actors[who];
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
static int analyse(struct audit_report *rp, int64_t window_us)
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

static void report_free(struct audit_report *rp)
{
	intern_release(&rp->docs);
	intern_release(&rp->accounts);
	intern_release(&rp->procs);
	intern_release(&rp->pidcomm);
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
	const struct audit_report_actor *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct audit_report_actor *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->comm ? x->comm : "", y->comm ? y->comm : "");
}

int audit_report_run(const struct audit_read_source *src,
		     const struct audit_report_opts *o)
{
	static const struct audit_read_ops ops = {
		.record = report_record,
		.finding = report_finding,
	};
	struct audit_report rep;
	struct collect c = { .o = o, .rp = &rep };
	struct audit_read_tally t;
	int status;

	memset(&rep, 0, sizeof(rep));
	status = audit_read_run(src, &ops, &c, &t);
	if (status != 0)
		goto out;
	if (analyse(&rep, (int64_t)o->burst_window * 1000000) < 0) {
		vaultctl_error("out of memory");
		status = VAULTCTL_EXIT_FAILURE;
		goto out;
	}
	/* Index order no longer matters: sort for the reader. */
	if (rep.accounts.n > 0)
		qsort(rep.acc, rep.accounts.n, sizeof(*rep.acc), cmp_acc);
	if (rep.procs.n > 0)
		qsort(rep.proc, rep.procs.n, sizeof(*rep.proc), cmp_proc);
	if (o->json)
		audit_report_print_json(src->vault, o, &t, &rep);
	else
		audit_report_print_text(src->vault, o, &t, &rep);
	if (t.wrong_key > 0) {
		fflush(stdout);
		fputs("vaultctl: warning: the report covers part of the access "
		      "log only: ", stderr);
		audit_read_print_other_keys(stderr, &t);
	}
	status = audit_read_status(&t);
out:
	report_free(&rep);
	return status;
}
