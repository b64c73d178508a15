/* audit-syslog.c - see audit-syslog.h. */
#include "audit-syslog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vaultfs/log.h"
#include "../vaultfs/seal.h"

enum status { ST_FORGED, ST_UNVERIFIED, ST_AUTH };

/* Key and plaintext of the record being opened. */
struct secret {
	uint8_t k[AUDITREC_KEY_BYTES];
	uint8_t plain[AUDITREC_PLAIN_MAX];
	char strbuf[AUDITREC_STRBUF_BYTES];
};

struct ctx {
	const char *file;
	const uint8_t *sk, *pk;
	const struct audit_syslog_callbacks *cb;
	void *arg;
	struct audit_syslog_summary *sum;
	struct auditfwd_collector *col;
	const struct auditfwd_item *it;	/* the chosen vault's items */
	size_t n;
	uint8_t *st;			/* enum status per item */
	struct secret *sec;
	uint64_t wrong_key;		/* headers sealed to another key */
	uint64_t undecodable;
};

/* One forwarded segment: items [a, b). */
struct fseg {
	uint64_t no;
	size_t a, b;
	bool have_header;
	struct auditrec_header h;	/* the authentic header */
	uint64_t end_seq;		/* last authentic record (first_seq - 1
					 * if none) */
	uint8_t end_chain[AUDITREC_CHAIN_BYTES];	/* chain value after it */
};

/* One local frame. */
struct lframe {
	uint64_t seq, index, offset;
	size_t len;
};

static void notef(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notef(struct ctx *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (c->cb->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->cb->note(c->arg, line);
}

static void short_hex(const uint8_t *id, char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
}

/* ---- reading the file ---- */

static int load(struct ctx *c, const uint8_t *vault_id)
{
	const struct auditfwd_item *all;
	size_t nall = 0, best = 0, best_at = 0, i, j;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	f = strcmp(c->file, "-") == 0 ? stdin : fopen(c->file, "re");
	if (f == NULL)
		return -errno;
	if (auditfwd_collector_new(&c->col) < 0) {
		err = -ENOMEM;
		goto out;
	}
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (auditfwd_collector_add(c->col, line, (size_t)len) < 0) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		goto out;
	}
	err = auditfwd_collector_finish(c->col, &all, &nall,
					&c->sum->collect);
	if (err < 0)
		goto out;
	/* Items are sorted by vault first: pick one run. */
	for (i = 0; i < nall; i = j) {
		for (j = i + 1; j < nall && memcmp(all[j].vault_id,
			all[i].vault_id, AUDITREC_VAULT_ID_BYTES) == 0; j++)
			;
		if (vault_id != NULL ?
		    memcmp(all[i].vault_id, vault_id,
			   AUDITREC_VAULT_ID_BYTES) == 0 : j - i > best) {
			best = j - i;
			best_at = i;
		}
	}
	c->it = all + best_at;
	c->n = best;
	c->sum->other_vault = nall - best;
	if (vault_id != NULL)
		memcpy(c->sum->vault_id, vault_id, AUDITREC_VAULT_ID_BYTES);
	else if (best > 0)
		memcpy(c->sum->vault_id, c->it[0].vault_id,
		       AUDITREC_VAULT_ID_BYTES);
	if (best == 0) {
		err = -ENODATA;
		goto out;
	}
	c->st = calloc(best, 1);
	c->sec = seal_secret_alloc(sizeof(*c->sec));
	if (c->st == NULL || c->sec == NULL)
		err = -ENOMEM;
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

static void release(struct ctx *c)
{
	if (c->sec != NULL)
		seal_secret_free(c->sec);
	free(c->st);
	auditfwd_collector_free(c->col);
}

/* ---- authenticating one forwarded segment: items [a, b) ---- */

static int deliver(struct ctx *c, const struct auditrec_header *h,
		   const struct auditrec_frame *f, uint64_t seq, bool chained,
		   const uint8_t chain[AUDITREC_CHAIN_BYTES])
{
	char name[AUDITREC_SEGNAME_MAX];
	struct audit_position pos;
	struct audit_record r;
	int ret;

	if (auditrec_decode(c->sec->plain, f->ct_len - SEAL_TAG_BYTES, &r,
			    c->sec->strbuf, sizeof(c->sec->strbuf)) < 0) {
		c->undecodable++;
		return 0;
	}
	r.seq = seq;
	auditrec_segment_name(h->segment, name);
	memset(&pos, 0, sizeof(pos));
	pos.segment = name;
	pos.segment_no = h->segment;
	pos.kind = (enum audit_segment_kind)h->kind;
	pos.index = seq - h->first_seq;
	pos.chained = chained;
	pos.chain = chain;
	ret = c->cb->record(c->arg, &r, &pos);
	sodium_memzero(c->sec->strbuf, sizeof(c->sec->strbuf));
	return ret;
}

/*
 * Mark each item of the segment authentic, unverifiable (no authentic
 * header) or forged; deliver records when asked.  *h receives the
 * authentic header, *have_header whether there is one.
 */
static int auth_segment(struct ctx *c, struct fseg *fs)
{
	uint8_t prev_chain[AUDITREC_CHAIN_BYTES], chain[AUDITREC_CHAIN_BYTES];
	uint64_t idx = 0, prev_seq = 0;
	size_t a = fs->a, b = fs->b, i = a, j;
	struct auditrec_header *h = &fs->h;
	bool *have_header = &fs->have_header;
	int ret = 0;

	*have_header = false;
	memset(h, 0, sizeof(*h));
	for (; i < b && c->it[i].seq == 0; i++) {
		struct auditrec_header hh;
		int r;

		c->st[i] = ST_FORGED;
		if (*have_header || c->it[i].len != AUDITREC_HEADER_BYTES ||
		    auditrec_header_parse(c->it[i].bytes, c->it[i].len,
					  &hh) < 0 ||
		    hh.segment != c->it[i].segment ||
		    memcmp(hh.vault_id, c->it[i].vault_id,
			   AUDITREC_VAULT_ID_BYTES) != 0)
			continue;
		r = auditrec_header_open(&hh, c->it[i].bytes, c->sk, c->pk,
					 c->sec->k);
		if (r == -EKEYREJECTED)
			c->wrong_key++;
		if (r < 0)
			continue;
		c->st[i] = ST_AUTH;
		*h = hh;
		*have_header = true;
		auditrec_chain(c->it[i].bytes, c->it[i].len, prev_chain);
		prev_seq = hh.first_seq - 1;
	}
	if (!*have_header) {
		for (; i < b; i++)
			c->st[i] = ST_UNVERIFIED;
		return 0;
	}
	c->sum->headers++;
	for (; i < b && ret == 0; i = j) {
		uint64_t seq = c->it[i].seq, steps;
		bool found = false;

		for (j = i + 1; j < b && c->it[j].seq == seq; j++)
			;
		if (seq < h->first_seq ||
		    seq - h->first_seq - idx > AUDITVERIFY_MAX_GAP) {
			for (size_t k = i; k < j; k++)
				c->st[k] = ST_FORGED;
			continue;
		}
		for (steps = seq - h->first_seq - idx; steps > 0; steps--)
			auditrec_evolve(c->sec->k);
		idx = seq - h->first_seq;
		for (size_t k = i; k < j; k++) {
			struct auditrec_frame f;
			bool chained;

			c->st[k] = ST_FORGED;
			if (found ||
			    auditrec_frame_parse(c->it[k].bytes, c->it[k].len,
						 &f) < 0 ||
			    f.frame_len != c->it[k].len || f.seq != seq ||
			    auditrec_frame_open(c->sec->k, &f,
						c->sec->plain) < 0)
				continue;
			found = true;
			c->st[k] = ST_AUTH;
			chained = prev_seq + 1 == seq &&
				  memcmp(f.prev_chain, prev_chain,
					 AUDITREC_CHAIN_BYTES) == 0;
			auditrec_chain(c->it[k].bytes, c->it[k].len, chain);
			if (c->sum->records == 0 || seq < c->sum->first_seq)
				c->sum->first_seq = seq;
			if (seq > c->sum->last_seq)
				c->sum->last_seq = seq;
			c->sum->records++;
			if (c->cb->record != NULL)
				ret = deliver(c, h, &f, seq, chained, chain);
			sodium_memzero(c->sec->plain, sizeof(c->sec->plain));
			memcpy(prev_chain, chain, sizeof(chain));
			prev_seq = seq;
		}
	}
	fs->end_seq = prev_seq;
	memcpy(fs->end_chain, prev_chain, sizeof(prev_chain));
	return ret;
}

/* ---- the local log ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Segment numbers in the directory, ascending (*v malloc'd). */
static int list_local(int dfd, uint64_t **v, size_t *n)
{
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	uint64_t num;
	DIR *d;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*v = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)) != NULL) {
		if (auditrec_segment_number(de->d_name, &num) < 0)
			continue;
		if (cnt == cap) {
			uint64_t *nv = realloc(*v, (cap = cap ? cap * 2 : 64) *
					       sizeof(**v));

			if (nv == NULL) {
				closedir(d);
				free(*v);
				*v = NULL;
				return -ENOMEM;
			}
			*v = nv;
		}
		(*v)[cnt++] = num;
	}
	closedir(d);
	if (cnt > 1)
		qsort(*v, cnt, sizeof(**v), cmp_u64);
	*n = cnt;
	return 0;
}

static bool has_local(const uint64_t *v, size_t n, uint64_t seg)
{
	return n > 0 && bsearch(&seg, v, n, sizeof(*v), cmp_u64) != NULL;
}

/* The whole segment file (*buf malloc'd). */
static int read_segment(int dfd, uint64_t seg, uint8_t **buf, size_t *len)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	auditrec_segment_name(seg, name);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (*buf == NULL) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*len = got;
out:
	close(fd);
	if (err < 0) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

static int cmp_lframe(const void *a, const void *b)
{
	const struct lframe *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Frames of a local segment by the clear framing, sorted by seq. */
static int local_frames(const uint8_t *buf, size_t len, struct lframe **v,
			size_t *n, uint64_t *max_seq)
{
	size_t cnt = 0, cap = 0, off = AUDITREC_HEADER_BYTES;
	struct auditrec_frame f;

	*v = NULL;
	*n = 0;
	*max_seq = 0;
	while (off < len && auditrec_frame_parse(buf + off, len - off, &f) == 0) {
		if (cnt == cap) {
			struct lframe *nv = realloc(*v, (cap = cap ? cap * 2 :
							 256) * sizeof(**v));

			if (nv == NULL) {
				free(*v);
				*v = NULL;
				return -ENOMEM;
			}
			*v = nv;
		}
		(*v)[cnt] = (struct lframe){ .seq = f.seq, .index = cnt,
					     .offset = off, .len = f.frame_len };
		if (f.seq > *max_seq)
			*max_seq = f.seq;
		cnt++;
		off += f.frame_len;
	}
	if (cnt > 1)
		qsort(*v, cnt, sizeof(**v), cmp_lframe);
	*n = cnt;
	return 0;
}

static const struct lframe *find_local(const struct lframe *v, size_t n,
				       uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].seq == seq ? &v[lo] : NULL;
}

/* ---- comparing one forwarded segment with its local file ---- */

static int finding(struct ctx *c, enum audit_finding kind, uint64_t seg,
		   uint64_t seq, uint64_t count, const struct lframe *at,
		   const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int finding(struct ctx *c, enum audit_finding kind, uint64_t seg,
		   uint64_t seq, uint64_t count, const struct lframe *at,
		   const char *fmt, ...)
{
	struct audit_problem p;
	size_t used;
	va_list ap;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	auditrec_segment_name(seg, p.segment);
	p.segment_no = seg;
	p.seq = seq;
	p.count = count;
	if (at != NULL) {
		p.index = at->index;
		p.offset = at->offset;
	}
	used = (size_t)snprintf(p.detail, sizeof(p.detail), "forwarded copy: ");
	va_start(ap, fmt);
	vsnprintf(p.detail + used, sizeof(p.detail) - used, fmt, ap);
	va_end(ap);
	return c->cb->finding != NULL ? c->cb->finding(c->arg, &p) : 0;
}

struct run {
	uint64_t first, last, n;
};

static void run_add(struct run *r, uint64_t seq)
{
	if (r->n++ == 0)
		r->first = seq;
	r->last = seq;
}

static int flush_removed(struct ctx *c, uint64_t seg, struct run *r)
{
	int ret;

	if (r->n == 0)
		return 0;
	c->sum->missing += r->n;
	ret = finding(c, AUDIT_REMOVED, seg, r->first, r->n, NULL,
		      "%" PRIu64 " record%s (seq %" PRIu64 "..%" PRIu64 ") "
		      "forwarded when written %s missing from the local segment",
		      r->n, r->n == 1 ? "" : "s", r->first, r->last,
		      r->n == 1 ? "is" : "are");
	memset(r, 0, sizeof(*r));
	return ret;
}

static int compare_segment(struct ctx *c, int dfd, const uint64_t *local,
			   size_t nlocal, const struct fseg *fs,
			   uint64_t archived_upto)
{
	uint64_t seg = fs->no;
	size_t a = fs->a, b = fs->b;
	bool have_header = fs->have_header;
	struct lframe *lf = NULL;
	struct run mid = { 0 }, tail = { 0 };
	uint64_t nauth = 0, first = 0, last = 0, max_seq = 0, bad_unv = 0;
	uint64_t not_fw = 0, not_fw_first = 0;
	uint8_t *buf = NULL;
	size_t len = 0, nlf = 0, i, j;
	int ret = 0, err;

	for (i = a; i < b; i++) {
		if (c->it[i].seq == 0 || c->st[i] != ST_AUTH)
			continue;
		if (nauth++ == 0)
			first = c->it[i].seq;
		last = c->it[i].seq;
	}
	if (!has_local(local, nlocal, seg)) {
		if (seg <= archived_upto) {
			c->sum->archived += nauth;
			notef(c, "forwarded segment %" PRIu64 " (%" PRIu64
			      " authentic records) is older than the oldest "
			      "local segment %" PRIu64 ", which continues from "
			      "it: archived; not compared (verify a directory "
			      "that also holds the archive)", seg, nauth,
			      local[0]);
			return 0;
		}
		if (!have_header && nauth == 0) {
			notef(c, "forwarded segment %" PRIu64 " is not in the "
			      "local log, but its header was not forwarded: "
			      "its records cannot be authenticated", seg);
			return 0;
		}
		c->sum->segments_missing++;
		c->sum->missing += nauth;
		if (nlocal > 0 && seg < local[0])
			return finding(c, AUDIT_SEGMENT_REMOVED, seg, first, 1,
				       NULL, "the segment is not in the local "
				       "log (%" PRIu64 " records forwarded), and "
				       "the oldest local segment %" PRIu64 " does "
				       "not provably continue from it: deleted, "
				       "or archived (then verify a directory "
				       "that also holds the archive)", nauth,
				       local[0]);
		if (nauth == 0)
			return finding(c, AUDIT_SEGMENT_REMOVED, seg, 0, 1,
				       NULL, "the segment was started (its "
				       "header was forwarded) but is not in "
				       "the local log: deleted");
		return finding(c, AUDIT_SEGMENT_REMOVED, seg, first, 1, NULL,
			       "the segment is not in the local log, but "
			       "%" PRIu64 " of its records (seq %" PRIu64
			       "..%" PRIu64 ") were forwarded: deleted", nauth,
			       first, last);
	}

	err = read_segment(dfd, seg, &buf, &len);
	if (err < 0) {
		notef(c, "cannot read local segment %" PRIu64 ": %s; not "
		      "compared", seg, strerror(-err));
		return 0;
	}
	err = local_frames(buf, len, &lf, &nlf, &max_seq);
	if (err < 0) {
		free(buf);
		return err;
	}

	/* The header. */
	if (have_header) {
		for (i = a; i < b && c->it[i].seq == 0; i++) {
			if (c->st[i] != ST_AUTH)
				continue;
			if (len < AUDITREC_HEADER_BYTES ||
			    memcmp(buf, c->it[i].bytes,
				   AUDITREC_HEADER_BYTES) != 0) {
				c->sum->altered++;
				ret = finding(c, AUDIT_ALTERED, seg, 0, 1, NULL,
					      "the segment header differs "
					      "from the one forwarded (line %"
					      PRIu64 ")", c->it[i].line);
			}
		}
	}

	/* Each forwarded record: the authentic copy, else an unverified one. */
	for (i = a; i < b && ret == 0; i = j) {
		uint64_t seq = c->it[i].seq;
		const struct auditfwd_item *pick = NULL;
		enum status ps = ST_FORGED;
		const struct lframe *l;

		for (j = i; j < b && c->it[j].seq == seq; j++) {
			if (c->st[j] > ps) {
				ps = (enum status)c->st[j];
				pick = &c->it[j];
			}
		}
		if (seq == 0 || pick == NULL)
			continue;
		l = find_local(lf, nlf, seq);
		if (l != NULL && l->len == pick->len &&
		    memcmp(buf + l->offset, pick->bytes, pick->len) == 0) {
			c->sum->matched++;
			if (ps == ST_AUTH)
				ret = flush_removed(c, seg, &mid);
			continue;
		}
		if (ps != ST_AUTH) {
			bad_unv++;
			continue;
		}
		if (l != NULL) {
			ret = flush_removed(c, seg, &mid);
			if (ret != 0)
				break;
			c->sum->altered++;
			ret = finding(c, AUDIT_ALTERED, seg, seq, 1, l,
				      "the local record differs from the one "
				      "forwarded (line %" PRIu64 ")",
				      pick->line);
		} else if (seq > max_seq) {
			run_add(&tail, seq);
		} else {
			run_add(&mid, seq);
		}
	}
	if (ret == 0)
		ret = flush_removed(c, seg, &mid);
	if (ret == 0 && tail.n > 0) {
		char after[64];

		c->sum->missing += tail.n;
		if (max_seq > 0)
			snprintf(after, sizeof(after), "the last local record "
				 "(seq %" PRIu64 ")", max_seq);
		else
			snprintf(after, sizeof(after), "the header: no local "
				 "record is left");
		ret = finding(c, AUDIT_TRUNCATED, seg, tail.first, tail.n,
			      NULL, "cut short: %" PRIu64 " record%s (seq %"
			      PRIu64 "..%" PRIu64 ") forwarded when written "
			      "%s %s", tail.n, tail.n == 1 ? "" : "s",
			      tail.first, tail.last,
			      tail.n == 1 ? "follows" : "follow", after);
	}
	if (bad_unv > 0)
		notef(c, "segment %" PRIu64 ": %" PRIu64 " forwarded records "
		      "that cannot be authenticated (the header was not "
		      "forwarded) are missing or different locally: not "
		      "evidence", seg, bad_unv);

	/* Local records with no forwarded copy (merge of two sorted lists). */
	for (i = 0, j = a; i < nlf; i++) {
		while (j < b && c->it[j].seq < lf[i].seq)
			j++;
		if (j < b && c->it[j].seq == lf[i].seq)
			continue;
		if (not_fw++ == 0)
			not_fw_first = lf[i].seq;
	}
	c->sum->not_forwarded += not_fw;
	if (not_fw > 0)
		notef(c, "segment %" PRIu64 ": %" PRIu64 " local record%s (from "
		      "seq %" PRIu64 ") %s no forwarded copy (dropped by the "
		      "sender: its unmount record counts them; or lost on the "
		      "way)", seg, not_fw, not_fw == 1 ? "" : "s", not_fw_first,
		      not_fw == 1 ? "has" : "have");
	if (!have_header && a < b && c->it[a].seq != 0)
		notef(c, "segment %" PRIu64 ": its header was not forwarded",
		      seg);
	free(lf);
	free(buf);
	return ret;
}

/* ---- entry points ---- */

/*
 * Forwarded segments up to which number a missing one counts as archived:
 * the oldest local segment must chain onto the end of a forwarded,
 * authentic segment p (its header names p and the chain value after p's
 * last forwarded record); then p and everything before it is history the
 * local log provably continues from.  Otherwise 0: a missing forwarded
 * segment is damage, since whoever deletes segments can also start a new
 * one that claims any predecessor.
 */
static uint64_t archived_upto(int dfd, const uint64_t *local, size_t nlocal,
			      const struct fseg *fs, size_t nfs)
{
	uint8_t raw[AUDITREC_HEADER_BYTES];
	struct auditrec_header o;
	char name[AUDITREC_SEGNAME_MAX];
	ssize_t got;
	int fd;

	if (nlocal == 0 || nfs == 0 || fs[0].no >= local[0])
		return 0;
	auditrec_segment_name(local[0], name);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	got = pread(fd, raw, sizeof(raw), 0);
	close(fd);
	if (got != (ssize_t)sizeof(raw) ||
	    auditrec_header_parse(raw, sizeof(raw), &o) < 0 ||
	    o.segment != local[0] || o.prev_segment == 0)
		return 0;
	for (size_t i = 0; i < nfs; i++) {
		if (fs[i].no != o.prev_segment)
			continue;
		if (fs[i].have_header && fs[i].end_seq + 1 == o.first_seq &&
		    memcmp(fs[i].end_chain, o.prev_chain,
			   AUDITREC_CHAIN_BYTES) == 0)
			return o.prev_segment;
		return 0;
	}
	return 0;
}

static int walk(struct ctx *c, int dfd, const uint8_t *vault_id)
{
	uint64_t *local = NULL, nolocal = 0, listed = 0, upto = 0;
	size_t nlocal = 0, nfs = 0, a, b, k;
	struct fseg *fs = NULL;
	char vid[9], more[64] = "";
	int ret;

	ret = load(c, vault_id);
	if (ret < 0)
		return ret;
	if (dfd >= 0) {
		ret = list_local(dfd, &local, &nlocal);
		if (ret < 0)
			return ret;
	}
	fs = calloc(c->n, sizeof(*fs));
	if (fs == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	/* Authenticate (and for show, deliver) every forwarded segment. */
	for (a = 0; a < c->n && ret == 0; a = b) {
		for (b = a + 1; b < c->n && c->it[b].segment == c->it[a].segment;
		     b++)
			;
		if (c->sum->segments++ == 0)
			c->sum->first_segment = c->it[a].segment;
		c->sum->last_segment = c->it[a].segment;
		fs[nfs] = (struct fseg){ .no = c->it[a].segment, .a = a, .b = b };
		ret = auth_segment(c, &fs[nfs++]);
		for (k = a; k < b; k++) {
			if (c->st[k] == ST_FORGED)
				c->sum->forged++;
			else if (c->st[k] == ST_UNVERIFIED && c->it[k].seq != 0)
				c->sum->unverified++;
		}
	}
	/* Then compare with the local segments. */
	if (dfd >= 0)
		upto = archived_upto(dfd, local, nlocal, fs, nfs);
	for (k = 0; k < nfs && ret == 0 && dfd >= 0; k++)
		ret = compare_segment(c, dfd, local, nlocal, &fs[k], upto);
	if (ret != 0)
		goto out;
	if (c->sum->headers == 0 && c->wrong_key > 0) {
		ret = -EKEYREJECTED;
		goto out;
	}

	/* Local segments nobody forwarded. */
	for (k = 0, a = 0; k < nlocal; k++) {
		while (a < c->n && c->it[a].segment < local[k])
			a++;
		if (a < c->n && c->it[a].segment == local[k])
			continue;
		if (nolocal++ < 8)
			listed += (uint64_t)snprintf(more + listed,
				sizeof(more) > listed ? sizeof(more) - listed : 0,
				"%s%" PRIu64, listed ? "," : "", local[k]);
	}
	if (nolocal > 0)
		notef(c, "%" PRIu64 " local segment%s (%s%s) %s no forwarded "
		      "copy: vaultctl command segments, mounts without "
		      "-o audit_syslog, or all their datagrams lost", nolocal,
		      nolocal == 1 ? "" : "s", more, nolocal > 8 ? ",..." : "",
		      nolocal == 1 ? "has" : "have");
	if (c->sum->forged > 0)
		notef(c, "%" PRIu64 " forwarded item%s do%s not authenticate "
		      "with the auditor key (forged lines%s): ignored",
		      c->sum->forged, c->sum->forged == 1 ? "" : "s",
		      c->sum->forged == 1 ? "es" : "",
		      c->wrong_key ? ", or sealed to another auditor key" : "");
	if (c->sum->collect.incomplete > 0 || c->sum->collect.malformed > 0)
		notef(c, "%" PRIu64 " forwarded item%s incomplete (parts "
		      "lost, or not matching their id) and %" PRIu64
		      " malformed line%s: ignored", c->sum->collect.incomplete,
		      c->sum->collect.incomplete == 1 ? " is" : "s are",
		      c->sum->collect.malformed,
		      c->sum->collect.malformed == 1 ? "" : "s");
	if (c->sum->other_vault > 0)
		notef(c, "%" PRIu64 " forwarded item%s of other vaults: "
		      "ignored", c->sum->other_vault,
		      c->sum->other_vault == 1 ? "" : "s");
	if (c->undecodable > 0)
		notef(c, "%" PRIu64 " authentic forwarded records do not "
		      "decode", c->undecodable);
	short_hex(c->sum->vault_id, vid);
	if (dfd >= 0)
		notef(c, "forwarded copy '%s': %" PRIu64 " header%s and %"
		      PRIu64 " record%s of vault %s... authenticate "
		      "(segments %" PRIu64 "..%" PRIu64 "); %" PRIu64
		      " match the local log, %" PRIu64 " missing, %" PRIu64
		      " altered; %" PRIu64 " local record%s not forwarded",
		      c->file, c->sum->headers,
		      c->sum->headers == 1 ? "" : "s", c->sum->records,
		      c->sum->records == 1 ? "" : "s", vid,
		      c->sum->first_segment, c->sum->last_segment,
		      c->sum->matched, c->sum->missing, c->sum->altered,
		      c->sum->not_forwarded,
		      c->sum->not_forwarded == 1 ? "" : "s");
out:
	free(fs);
	free(local);
	return ret;
}

int audit_syslog_verify(int audit_dir_fd, const char *file,
			const uint8_t sk[AUDITREC_SK_BYTES],
			const uint8_t pk[AUDITREC_PK_BYTES],
			const uint8_t *vault_id,
			const struct audit_syslog_callbacks *cb, void *arg,
			struct audit_syslog_summary *sum)
{
	struct audit_syslog_callbacks vcb = *cb;
	struct ctx c = { .file = file, .sk = sk, .pk = pk, .cb = &vcb,
			 .arg = arg, .sum = sum };
	int ret;

	vcb.record = NULL;
	memset(sum, 0, sizeof(*sum));
	if (audit_dir_fd < 0)
		vault_misuse("audit_syslog_verify: no audit directory");
	ret = walk(&c, audit_dir_fd, vault_id);
	release(&c);
	return ret;
}

int audit_syslog_records(const char *file, const uint8_t sk[AUDITREC_SK_BYTES],
			 const uint8_t pk[AUDITREC_PK_BYTES],
			 const uint8_t *vault_id,
			 const struct audit_syslog_callbacks *cb, void *arg,
			 struct audit_syslog_summary *sum)
{
	struct ctx c = { .file = file, .sk = sk, .pk = pk, .cb = cb,
			 .arg = arg, .sum = sum };
	int ret;

	memset(sum, 0, sizeof(*sum));
	ret = walk(&c, -1, vault_id);
	release(&c);
	return ret;
}
