/* auditverify.c - see auditverify.h; the byte format is in auditrec.h. */
#include "auditverify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"

#define RBUF_BYTES (1u << 20)
/* Salvage mode tries smaller gaps: each try costs gap key evolutions. */
#define SALVAGE_GAP 4096u
/* Bytes of a public key shown in a WRONG_KEY finding (auditkey.h's
 * fingerprint: the first 8 bytes in hex). */
#define FINGERPRINT_BYTES 8

_Static_assert(RBUF_BYTES >= AUDITREC_FRAME_MAX, "a frame fits the buffer");

/* Everything secret, in one sodium_malloc block. */
struct secret {
	uint8_t k[AUDITREC_KEY_BYTES];		/* K_i for the expected seq */
	uint8_t t[AUDITREC_KEY_BYTES];		/* K_j, j > i, while probing */
	uint8_t plain[AUDITREC_PLAIN_MAX];
	char strbuf[AUDITREC_STRBUF_BYTES];
};

/* A segment file as the first pass found it. */
struct segent {
	uint64_t no;
	int err;		/* 0, or why the header is unusable */
	bool unusable;		/* present, but its records cannot be read */
	struct auditrec_header h;
	uint8_t raw[AUDITREC_HEADER_BYTES];
};

/* Buffered reads of one segment file. */
struct reader {
	int fd;
	uint64_t size;		/* snapshot when opened */
	uint8_t *buf;
	uint64_t boff;
	size_t blen;
};

/* How a segment ended, for checking the next one's link. */
struct tail {
	uint64_t no;
	char name[AUDITREC_SEGNAME_MAX];
	bool known;		/* chain/next_seq are those of a genuine frame */
	bool closed;		/* its final record was seen */
	bool live;		/* a writer holds it */
	bool foreign;		/* sealed to a key not given: walked by its
				 * clear chain only, closed is unknown */
	uint8_t chain[AUDITREC_CHAIN_BYTES];
	uint64_t next_seq;
	uint64_t torn;		/* bytes of a partial frame at its end */
	uint64_t index, offset;	/* where its records end */
};

struct verifier {
	int dir_fd;
	const struct auditverify_key *keys;
	size_t nkeys;
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	const struct auditverify_callbacks *cb;
	void *arg;
	struct auditverify_summary *sum;
	struct secret *sec;
	struct reader rd;
	uint8_t *cur;		/* the frame being processed */
	const struct segent *segs;	/* all segment files, by number */
	size_t nsegs;
	bool have_prev;		/* prev is the last segment read */
	struct tail prev;
	bool unusable_after;	/* an unusable segment came after prev */
	int stop;		/* a callback's non-zero return */
	int err;		/* an I/O error that ends the walk */
};

/* The walk through one segment's frames. */
struct walk {
	const struct segent *e;
	const char *name;
	uint64_t s;		/* seq expected next */
	uint8_t c[AUDITREC_CHAIN_BYTES];	/* chain value expected next */
	bool salvage;		/* after damage: place frames by seq */
	bool last_ok;		/* c is the chain of an authentic frame */
	bool final;
	uint64_t idx, off;
};

const char *auditverify_finding_name(enum audit_finding kind)
{
	switch (kind) {
	case AUDIT_OK: return "ok";
	case AUDIT_ALTERED: return "altered";
	case AUDIT_REMOVED: return "removed";
	case AUDIT_REORDERED: return "reordered";
	case AUDIT_TRUNCATED: return "truncated";
	case AUDIT_SEGMENT_REMOVED: return "segment-removed";
	case AUDIT_SEGMENT_REPLAYED: return "segment-replayed";
	case AUDIT_BAD_HEADER: return "bad-header";
	case AUDIT_WRONG_KEY: return "wrong-key";
	case AUDIT_NOTE_HISTORY_START: return "history-start";
	case AUDIT_NOTE_CRASH: return "crash";
	case AUDIT_NOTE_OPEN: return "open";
	}
	return "unknown";
}

bool auditverify_is_damage(enum audit_finding kind)
{
	return kind >= AUDIT_ALTERED && kind <= AUDIT_WRONG_KEY;
}

static bool chain_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, AUDITREC_CHAIN_BYTES) == 0;
}

__attribute__((format(printf, 8, 9)))
static void report(struct verifier *v, enum audit_finding kind,
		   const char *name, uint64_t no, uint64_t seq,
		   uint64_t count, const struct walk *w, const char *fmt, ...)
{
	struct audit_problem p;
	va_list ap;
	int r;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	snprintf(p.segment, sizeof(p.segment), "%s", name);
	p.segment_no = no;
	p.seq = seq;
	p.count = count;
	if (w != NULL) {
		p.index = w->idx;
		p.offset = w->off;
	}
	va_start(ap, fmt);
	vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
	va_end(ap);

	if (auditverify_is_damage(kind)) {
		if (v->sum->damage++ == 0)
			v->sum->first_damage = p;
	} else {
		v->sum->notes++;
	}
	if (v->cb != NULL && v->cb->finding != NULL && v->stop == 0) {
		r = v->cb->finding(v->arg, &p);
		if (r != 0)
			v->stop = r;
	}
}

/* ---- reading ---- */

/*
 * Make [off, off + want) available (clipped at the end of the file):
 * *p and *avail.  Moving backwards refills so that off ends the window.
 */
static int rd_get(struct reader *rd, uint64_t off, size_t want,
		  const uint8_t **p, size_t *avail)
{
	uint64_t end;

	if (off >= rd->size) {
		*p = rd->buf;
		*avail = 0;
		return 0;
	}
	end = rd->size - off < want ? rd->size : off + want;
	if (off < rd->boff || end > rd->boff + rd->blen) {
		uint64_t start = off;
		size_t len, got;
		int err;

		if (off < rd->boff)
			start = end > RBUF_BYTES ? end - RBUF_BYTES : 0;
		len = rd->size - start < RBUF_BYTES ?
		      (size_t)(rd->size - start) : RBUF_BYTES;
		err = pread_full(rd->fd, rd->buf, len, (off_t)start, &got);
		if (err < 0)
			return err;
		rd->boff = start;
		rd->blen = got;
		if (end > start + got)	/* shrank under us */
			end = start + got < off ? off : start + got;
	}
	*p = rd->buf + (off - rd->boff);
	*avail = (size_t)(end - off);
	return 0;
}

static int rd_u32(struct reader *rd, uint64_t off, uint8_t out[4])
{
	const uint8_t *p;
	size_t n;
	int err = rd_get(rd, off, 4, &p, &n);

	if (err < 0)
		return err;
	if (n < 4)
		return -EAGAIN;
	memcpy(out, p, 4);
	return 0;
}

/* true when a whole, well-framed frame starts at off (or off is the end). */
static bool frame_or_end_at(struct reader *rd, uint64_t off)
{
	const uint8_t *p;
	size_t n;
	struct auditrec_frame f;

	if (off == rd->size)
		return true;
	if (rd_get(rd, off, AUDITREC_FRAME_MAX, &p, &n) < 0)
		return false;
	return auditrec_frame_parse(p, n, &f) == 0;
}

/*
 * The frame at off cannot be parsed.  Find where it ends anyway, so the
 * walk can go on: (1) its prefix is plausible and a frame (or the end of
 * the file) follows where it says; (2) walking backwards from the end of
 * the file over length suffixes reaches a frame whose suffix says it starts
 * at off.  false: the rest of the segment cannot be framed.
 */
static bool resync(struct reader *rd, uint64_t off, uint64_t *end)
{
	uint8_t b[4], q[4];
	size_t len;
	uint64_t e;
	unsigned steps = 0;

	if (rd_u32(rd, off, b) == 0 && auditrec_frame_peek(b, &len) == 0 &&
	    rd->size - off >= len && frame_or_end_at(rd, off + len)) {
		*end = off + len;
		return true;
	}
	for (e = rd->size; e - off >= AUDITREC_FRAME_MIN &&
	     steps < AUDITVERIFY_LOOKAHEAD; steps++) {
		if (rd_u32(rd, e - 4, b) < 0 || auditrec_frame_peek(b, &len) < 0 ||
		    len > e - off)
			return false;
		if (e - len == off) {
			*end = e;
			return true;
		}
		if (rd_u32(rd, e - len, q) < 0 || memcmp(b, q, 4) != 0)
			return false;
		e -= len;
	}
	return false;
}

/*
 * Look for the frame expected next (seq s, chained onto c) among the
 * frames after off; *dist receives how many frames later it is.
 */
static bool lookahead(struct reader *rd, uint64_t off, uint64_t s,
		      const uint8_t *c, uint64_t *dist)
{
	struct auditrec_frame f;
	const uint8_t *p;
	size_t n;

	for (uint64_t i = 1; i <= AUDITVERIFY_LOOKAHEAD; i++) {
		if (rd_get(rd, off, AUDITREC_FRAME_MAX, &p, &n) < 0 ||
		    auditrec_frame_parse(p, n, &f) < 0)
			return false;
		if (f.seq == s && chain_eq(f.prev_chain, c)) {
			*dist = i;
			return true;
		}
		off += f.frame_len;
	}
	return false;
}

/* ---- records ---- */

static void deliver(struct verifier *v, struct walk *w,
		    const struct auditrec_frame *f, const uint8_t *chain,
		    bool chained)
{
	size_t plen = f->ct_len - SEAL_TAG_BYTES;
	struct audit_position pos;
	struct audit_record r;
	int rc;

	if (auditrec_decode(v->sec->plain, plen, &r, v->sec->strbuf,
			    sizeof(v->sec->strbuf)) < 0) {
		report(v, AUDIT_ALTERED, w->name, w->e->no, f->seq, 1, w,
		       "record authenticates but does not decode (written by "
		       "a newer or broken program)");
		goto out;
	}
	r.seq = f->seq;
	if (r.flags & AUDIT_RF_FINAL)
		w->final = true;
	if (v->sum->records++ == 0)
		v->sum->first_seq = f->seq;
	v->sum->last_seq = f->seq;
	memcpy(v->sum->last_chain, chain, AUDITREC_CHAIN_BYTES);
	if (v->cb != NULL && v->cb->record != NULL && v->stop == 0) {
		pos.segment = w->name;
		pos.segment_no = w->e->no;
		pos.kind = (enum audit_segment_kind)w->e->h.kind;
		pos.index = w->idx;
		pos.offset = w->off;
		pos.chained = chained;
		pos.chain = chain;
		rc = v->cb->record(v->arg, &r, &pos);
		if (rc != 0)
			v->stop = rc;
	}
out:
	sodium_memzero(v->sec->plain, plen);
	sodium_memzero(v->sec->strbuf, sizeof(v->sec->strbuf));
}

/* Open f with the key evolved gap steps past K_s (in sec->t). */
static bool open_at_gap(struct verifier *v, const struct auditrec_frame *f,
			uint64_t gap)
{
	memcpy(v->sec->t, v->sec->k, AUDITREC_KEY_BYTES);
	for (uint64_t i = 0; i < gap; i++)
		auditrec_evolve(v->sec->t);
	return auditrec_frame_open(v->sec->t, f, v->sec->plain) == 0;
}

/* Accept f, opened under sec->t as record f->seq: state moves past it. */
static void accept_at_gap(struct verifier *v, struct walk *w,
			  const struct auditrec_frame *f, bool chained)
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];

	auditrec_chain(f->raw, f->frame_len, chain);
	memcpy(v->sec->k, v->sec->t, AUDITREC_KEY_BYTES);
	sodium_memzero(v->sec->t, AUDITREC_KEY_BYTES);
	auditrec_evolve(v->sec->k);
	w->s = f->seq + 1;
	memcpy(w->c, chain, sizeof(chain));
	w->last_ok = true;
	deliver(v, w, f, chain, chained);
}

/* Consume f as record s without trusting it (it did not authenticate). */
static void skip_as_expected(struct verifier *v, struct walk *w,
			     const struct auditrec_frame *f)
{
	auditrec_chain(f->raw, f->frame_len, w->c);
	auditrec_evolve(v->sec->k);
	w->s++;
	w->salvage = true;
	w->last_ok = false;
}

static void process(struct verifier *v, struct walk *w,
		    const struct auditrec_frame *f)
{
	bool linked = chain_eq(f->prev_chain, w->c);
	bool reported = false;
	uint64_t dist;

	if (f->seq == w->s && (linked || w->salvage)) {
		if (auditrec_frame_open(v->sec->k, f, v->sec->plain) == 0) {
			memcpy(v->sec->t, v->sec->k, AUDITREC_KEY_BYTES);
			accept_at_gap(v, w, f, linked && w->last_ok);
			if (linked)
				w->salvage = false;
			return;
		}
		report(v, AUDIT_ALTERED, w->name, w->e->no, w->s, 1, w,
		       "record does not authenticate");
		skip_as_expected(v, w, f);
		return;
	}

	if (!w->salvage) {
		uint64_t gap = f->seq - w->s;
		bool authentic;

		reported = true;
		if (linked) {
			/* It chains onto the last good record: it is that
			 * record's successor with a changed seq field. */
			report(v, AUDIT_ALTERED, w->name, w->e->no, w->s, 1, w,
			       "clear sequence number altered (reads %" PRIu64
			       ")", f->seq);
			skip_as_expected(v, w, f);
			return;
		}
		if (f->seq < w->s) {
			report(v, AUDIT_REORDERED, w->name, w->e->no, w->s, 1, w,
			       "record seq %" PRIu64 " appears again where seq %"
			       PRIu64 " belongs (moved back or duplicated)",
			       f->seq, w->s);
			w->salvage = true;
			return;
		}
		/* Does f belong to this segment, at a later place? */
		authentic = gap <= AUDITVERIFY_MAX_GAP && open_at_gap(v, f, gap);
		if (lookahead(&v->rd, w->off + f->frame_len, w->s, w->c,
			      &dist)) {
			if (authentic)
				report(v, AUDIT_REORDERED, w->name, w->e->no,
				       w->s, 1, w, "record seq %" PRIu64 " is "
				       "out of place: it appears %" PRIu64
				       " records later", w->s, dist);
			else
				report(v, AUDIT_ALTERED, w->name, w->e->no,
				       w->s, 1, w, "a record that does not "
				       "belong here was inserted before seq %"
				       PRIu64, w->s);
		} else if (authentic && gap > 0) {
			report(v, AUDIT_REMOVED, w->name, w->e->no, w->s, gap,
			       w, "%" PRIu64 " record(s) missing: seq %" PRIu64
			       " follows seq %" PRIu64, gap, f->seq,
			       w->s - 1);
			/* The chain goes on from f: no salvage needed. */
			accept_at_gap(v, w, f, false);
			return;
		} else {
			report(v, AUDIT_ALTERED, w->name, w->e->no, w->s, 1, w,
			       "record replaced or its chain link altered");
		}
		w->salvage = true;
	}

	/* Salvage: place the frame by its seq if it authenticates there. */
	if (f->seq < w->s || f->seq - w->s > SALVAGE_GAP)
		return;
	if (open_at_gap(v, f, f->seq - w->s)) {
		accept_at_gap(v, w, f, false);
		return;
	}
	sodium_memzero(v->sec->t, AUDITREC_KEY_BYTES);
	if (!reported)
		report(v, AUDIT_ALTERED, w->name, w->e->no, f->seq, 1, w,
		       "record does not authenticate");
	auditrec_chain(f->raw, f->frame_len, w->c);
	w->last_ok = false;
}

/*
 * Walk the frames of a segment whose header opened (K0 in sec->k); fill
 * the tail for the next segment's link check.
 */
static int walk_segment(struct verifier *v, const struct segent *e,
			const char *name, struct tail *t)
{
	struct auditrec_frame f;
	struct walk w;
	uint64_t torn = 0, end;
	bool aborted = false;
	const uint8_t *p;
	size_t n;
	int err;

	memset(&w, 0, sizeof(w));
	w.e = e;
	w.name = name;
	w.s = e->h.first_seq;
	auditrec_chain(e->raw, AUDITREC_HEADER_BYTES, w.c);
	w.last_ok = true;
	w.off = AUDITREC_HEADER_BYTES;

	while (w.off < v->rd.size && v->stop == 0) {
		if (w.final) {
			report(v, AUDIT_ALTERED, name, e->no, w.s, 0, &w,
			       "%" PRIu64 " bytes follow the segment's final "
			       "record", v->rd.size - w.off);
			aborted = true;
			break;
		}
		err = rd_get(&v->rd, w.off, AUDITREC_FRAME_MAX, &p, &n);
		if (err < 0)
			return err;
		err = auditrec_frame_parse(p, n, &f);
		if (err == 0) {
			memcpy(v->cur, p, f.frame_len);
			if (auditrec_frame_parse(v->cur, f.frame_len, &f) < 0)
				return -EIO;
			process(v, &w, &f);
			w.off += f.frame_len;
			w.idx++;
			continue;
		}
		if (resync(&v->rd, w.off, &end)) {
			report(v, AUDIT_ALTERED, name, e->no, w.s, 1, &w,
			       "record framing altered");
			/* Count it as record s, unauthenticated. */
			auditrec_evolve(v->sec->k);
			w.s++;
			w.salvage = true;
			w.last_ok = false;
			w.off = end;
			w.idx++;
			continue;
		}
		if (err == -EAGAIN) {
			/* Fewer bytes than the frame announces: a torn tail. */
			torn = v->rd.size - w.off;
			break;
		}
		report(v, AUDIT_ALTERED, name, e->no, w.s, 0, &w,
		       "record framing damaged; the remaining %" PRIu64
		       " bytes cannot be read", v->rd.size - w.off);
		aborted = true;
		break;
	}
	t->no = e->no;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->closed = w.final;
	t->known = !aborted && w.last_ok;
	memcpy(t->chain, w.c, sizeof(t->chain));
	t->next_seq = w.s;
	t->torn = torn;
	t->index = w.idx;
	t->offset = w.off;
	return 0;
}

/* ---- segments ---- */

static void report_tail(struct verifier *v, enum audit_finding kind,
			const struct tail *t, uint64_t count, const char *why)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.idx = t->index;
	w.off = t->offset;
	report(v, kind, t->name, t->no, t->next_seq, count, &w,
	       "segment ends without its final record%s; %s",
	       t->torn ? " and with a torn partial record" : "", why);
}

/*
 * true when segment no is present but could not be read (bad header):
 * a link to it cannot be checked, and the damage has been reported
 * already.  (A segment sealed to another auditor key is walked by its
 * clear chain instead, so links to it are checked.)
 */
static bool is_unusable(const struct verifier *v, uint64_t no)
{
	size_t lo = 0, hi = v->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->segs[mid].no == no)
			return v->segs[mid].unusable;
		if (v->segs[mid].no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * Check segment e's link to the last segment read (prev).  The writer
 * chains onto the newest segment it can use, skipping damaged ones, so a
 * link to an unusable segment is not checked and unusable segments in
 * between do not count as removed.
 */
static void check_link(struct verifier *v, const struct segent *e,
		       const char *name)
{
	const struct auditrec_header *h = &e->h;
	struct tail *p = &v->prev;

	if (!v->have_prev) {
		if (h->prev_segment == 0) {
			v->sum->history_complete = true;
		} else if (!is_unusable(v, h->prev_segment)) {
			report(v, AUDIT_NOTE_HISTORY_START, name, e->no,
			       h->first_seq, 0, NULL, "retained history "
			       "starts at segment %" PRIu64 " (seq %" PRIu64
			       "); older segments were archived", e->no,
			       h->first_seq);
		}
		return;
	}
	if (h->prev_segment > p->no) {
		if (is_unusable(v, h->prev_segment))
			return;
		report(v, AUDIT_SEGMENT_REMOVED, name, e->no,
		       p->known ? p->next_seq : 0, h->prev_segment - p->no,
		       NULL, "segment(s) %" PRIu64 "..%" PRIu64 " are missing: "
		       "this segment chains onto segment %" PRIu64,
		       p->no + 1, h->prev_segment, h->prev_segment);
		return;
	}
	if (h->prev_segment < p->no) {
		report(v, AUDIT_SEGMENT_REPLAYED, name, e->no, h->first_seq, 0,
		       NULL, "segment chains onto segment %" PRIu64 ", not onto "
		       "its predecessor %" PRIu64, h->prev_segment, p->no);
		return;
	}
	if (!p->known)
		return;	/* predecessor damaged: already reported */
	if (chain_eq(h->prev_chain, p->chain) && h->first_seq == p->next_seq) {
		/* Whether a foreign segment was closed is sealed inside. */
		if (!p->closed && !p->foreign)
			report_tail(v, AUDIT_NOTE_CRASH, p, 0, "the next "
				    "segment chains onto its last record: the "
				    "writer stopped without closing it");
		return;
	}
	if (!p->closed && (!p->foreign || h->first_seq > p->next_seq)) {
		report_tail(v, AUDIT_TRUNCATED, p,
			    h->first_seq > p->next_seq ?
			    h->first_seq - p->next_seq : 0,
			    "the next segment chains onto a later record: "
			    "records were cut from its end");
		return;
	}
	if (p->foreign)
		report(v, AUDIT_SEGMENT_REPLAYED, name, e->no, h->first_seq, 0,
		       NULL, "segment does not chain onto the last record of "
		       "segment %" PRIu64 ": one of the two was altered or "
		       "replaced (that one is sealed to another auditor key, "
		       "so which cannot be told here)", p->no);
	else
		report(v, AUDIT_SEGMENT_REPLAYED, name, e->no, h->first_seq, 0,
		       NULL, "segment does not chain onto the final record of "
		       "segment %" PRIu64, p->no);
}

/*
 * Walk a segment sealed to a key we do not have (its file is open in
 * v->rd) by its clear hash chain only: every frame must carry the next
 * seq and the chain value of what precedes it.  Nothing is decrypted or
 * delivered; a break is damage (the writer never leaves one), a partial
 * frame at the end is a torn tail.  Fills the tail for the next link.
 */
static int walk_foreign(struct verifier *v, const struct segent *e,
			const char *name, struct tail *t)
{
	struct auditrec_frame f;
	struct walk w;
	bool broken = false;
	uint64_t torn = 0, end;
	const uint8_t *p;
	size_t n;
	int err;

	memset(&w, 0, sizeof(w));
	w.s = e->h.first_seq;
	auditrec_chain(e->raw, AUDITREC_HEADER_BYTES, w.c);
	w.off = AUDITREC_HEADER_BYTES;
	while (w.off < v->rd.size && v->stop == 0) {
		err = rd_get(&v->rd, w.off, AUDITREC_FRAME_MAX, &p, &n);
		if (err < 0)
			return err;
		err = auditrec_frame_parse(p, n, &f);
		if (err == -EAGAIN && !resync(&v->rd, w.off, &end)) {
			/* Fewer bytes than the frame announces: a torn tail. */
			torn = v->rd.size - w.off;
			break;
		}
		if (err < 0) {
			report(v, AUDIT_ALTERED, name, e->no, w.s, 0, &w,
			       "record framing damaged in a segment sealed to "
			       "another auditor key; the remaining %" PRIu64
			       " bytes cannot be checked", v->rd.size - w.off);
			broken = true;
			break;
		}
		if (f.seq != w.s || !chain_eq(f.prev_chain, w.c)) {
			report(v, AUDIT_ALTERED, name, e->no, w.s, 0, &w,
			       "the hash chain is broken here (frame reads seq %"
			       PRIu64 "); checked without the segment's key, "
			       "which alone can tell more", f.seq);
			broken = true;
			break;
		}
		auditrec_chain(p, f.frame_len, w.c);
		w.s++;
		w.off += f.frame_len;
		w.idx++;
	}
	t->no = e->no;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->closed = false;
	t->foreign = true;
	t->known = !broken;
	memcpy(t->chain, w.c, sizeof(t->chain));
	t->next_seq = w.s;
	t->torn = torn;
	t->index = w.idx;
	t->offset = w.off;
	return 0;
}

/* The key pair the segment is sealed to, or NULL. */
static const struct auditverify_key *find_key(const struct verifier *v,
					      const uint8_t *pk)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (memcmp(v->keys[i].pk, pk, AUDITREC_PK_BYTES) == 0)
			return &v->keys[i];
	return NULL;
}

/* Count a segment sealed to another key and remember that key. */
static void note_other_key(struct verifier *v, const struct segent *e)
{
	struct auditverify_summary *sum = v->sum;
	size_t i;

	if (sum->other_key_segments++ == 0)
		sum->other_key_first = e->no;
	sum->other_key_last = e->no;
	for (i = 0; i < sum->n_other_pks; i++)
		if (memcmp(sum->other_pks[i], e->h.auditor_pk,
			   AUDITREC_PK_BYTES) == 0)
			return;
	if (i < AUDITVERIFY_OTHER_PKS)
		memcpy(sum->other_pks[sum->n_other_pks++], e->h.auditor_pk,
		       AUDITREC_PK_BYTES);
}

/* A segment whose records cannot be read. */
static void mark_unusable(struct verifier *v, struct segent *e)
{
	e->unusable = true;
	v->unusable_after = true;
}

static void verify_segment(struct verifier *v, struct segent *e)
{
	const struct auditrec_header *h = &e->h;
	const struct auditverify_key *key = NULL;
	char name[AUDITREC_SEGNAME_MAX];
	struct tail t;
	struct stat st;
	bool live = false;
	int fd, err;

	auditrec_segment_name(e->no, name);
	if (e->err < 0) {
		report(v, AUDIT_BAD_HEADER, name, e->no, 0, 0, NULL, "%s",
		       e->err == -EBADMSG ? "not a valid segment header" :
		       e->err == -EPROTONOSUPPORT ? "segment format is newer "
		       "than this program" : e->err == -ENODATA ?
		       "file is shorter than a segment header" :
		       "segment cannot be read");
		mark_unusable(v, e);
		return;
	}
	if (h->segment != e->no) {
		report(v, AUDIT_SEGMENT_REPLAYED, name, e->no, h->first_seq, 0,
		       NULL, "header says segment %" PRIu64 ": the file was "
		       "copied or renamed", h->segment);
		return;
	}
	if (memcmp(h->vault_id, v->vault_id, sizeof(v->vault_id)) != 0) {
		report(v, AUDIT_SEGMENT_REPLAYED, name, e->no, h->first_seq, 0,
		       NULL, "segment belongs to another vault");
		return;
	}
	key = find_key(v, h->auditor_pk);
	if (key == NULL) {
		char fp[2 * FINGERPRINT_BYTES + 1];

		sodium_bin2hex(fp, sizeof(fp), h->auditor_pk,
			       FINGERPRINT_BYTES);
		note_other_key(v, e);
		report(v, AUDIT_WRONG_KEY, name, e->no, h->first_seq, 0, NULL,
		       "segment is sealed to another auditor key (public key "
		       "%s...): its records cannot be read with the key%s "
		       "given; its hash chain is checked without it", fp,
		       v->nkeys == 1 ? "" : "s");
	}

	fd = openat(v->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		report(v, AUDIT_BAD_HEADER, name, e->no, 0, 0, NULL,
		       "segment cannot be read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		mark_unusable(v, e);
		return;
	}
	/* A live writer holds an exclusive lock on its segment. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		live = errno == EWOULDBLOCK;
	else
		flock(fd, LOCK_UN);
	if (key != NULL &&
	    auditrec_header_open(h, e->raw, key->sk, key->pk, v->sec->k) < 0) {
		report(v, AUDIT_BAD_HEADER, name, e->no, h->first_seq, 0, NULL,
		       "segment key or header MAC does not verify");
		close(fd);
		mark_unusable(v, e);
		return;
	}

	check_link(v, e, name);
	v->rd.fd = fd;
	v->rd.size = (uint64_t)st.st_size;
	v->rd.boff = 0;
	v->rd.blen = 0;
	memset(&t, 0, sizeof(t));
	if (key != NULL)
		err = walk_segment(v, e, name, &t);
	else
		err = walk_foreign(v, e, name, &t);
	sodium_memzero(v->sec->k, sizeof(v->sec->k));
	close(fd);
	v->rd.fd = -1;
	if (err < 0) {
		v->err = err;
		return;
	}
	t.live = live;
	v->prev = t;
	v->have_prev = true;
	v->unusable_after = false;
}

/* ---- the first pass ---- */

static int cmp_seg(const void *a, const void *b)
{
	uint64_t x = ((const struct segent *)a)->no;
	uint64_t y = ((const struct segent *)b)->no;

	return x < y ? -1 : x > y;
}

static void read_header(int dir_fd, struct segent *e)
{
	char name[AUDITREC_SEGNAME_MAX];
	size_t got = 0;
	int fd;

	auditrec_segment_name(e->no, name);
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e->err = -errno;
		return;
	}
	e->err = pread_full(fd, e->raw, sizeof(e->raw), 0, &got);
	close(fd);
	if (e->err < 0)
		return;
	if (got < sizeof(e->raw)) {
		e->err = -ENODATA;
		return;
	}
	e->err = auditrec_header_parse(e->raw, got, &e->h);
}

static int scan(int dir_fd, struct segent **out, size_t *count)
{
	struct segent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	uint64_t num;
	DIR *d;
	int fd, err = 0;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (auditrec_segment_number(de->d_name, &num) < 0)
			continue;
		if (n == cap) {
			struct segent *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n++].no = num;
	}
	if (errno != 0)
		err = -errno;
out:
	closedir(d);
	if (err < 0) {
		free(v);
		return err;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_seg);
	for (size_t i = 0; i < n; i++)
		read_header(dir_fd, &v[i]);
	*out = v;
	*count = n;
	return 0;
}

/* The vault id most well-formed headers carry; ties go to the newest. */
static void majority_vault_id(const struct segent *v, size_t n,
			      uint8_t id[AUDITREC_VAULT_ID_BYTES])
{
	size_t best = 0, best_i = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t cnt = 0;

		if (v[i].err < 0 || v[i].h.segment != v[i].no)
			continue;
		for (size_t j = 0; j < n; j++)
			if (v[j].err == 0 && v[j].h.segment == v[j].no &&
			    memcmp(v[j].h.vault_id, v[i].h.vault_id,
				   AUDITREC_VAULT_ID_BYTES) == 0)
				cnt++;
		if (cnt >= best) {
			best = cnt;
			best_i = i;
		}
	}
	if (best_i != SIZE_MAX)
		memcpy(id, v[best_i].h.vault_id, AUDITREC_VAULT_ID_BYTES);
}

int auditverify_run(int audit_dir_fd, const uint8_t sk[AUDITREC_SK_BYTES],
		    const uint8_t pk[AUDITREC_PK_BYTES], const uint8_t *vault_id,
		    const struct auditverify_callbacks *cb, void *arg,
		    struct auditverify_summary *sum)
{
	struct auditverify_key key = { .sk = sk, .pk = pk };

	return auditverify_run_keys(audit_dir_fd, &key, 1, vault_id, cb, arg,
				    sum);
}

int auditverify_run_keys(int audit_dir_fd, struct auditverify_key *keys,
			 size_t nkeys, const uint8_t *vault_id,
			 const struct auditverify_callbacks *cb, void *arg,
			 struct auditverify_summary *sum)
{
	struct verifier v;
	struct segent *segs = NULL;
	size_t n = 0, parsed = 0, ours = 0;
	int err;

	if (nkeys == 0 || nkeys > AUDITVERIFY_MAX_KEYS)
		vault_misuse("auditverify_run_keys: key count out of range");
	memset(sum, 0, sizeof(*sum));
	memset(&v, 0, sizeof(v));
	v.rd.fd = -1;
	for (size_t k = 0; k < nkeys; k++)
		keys[k].segments = 0;
	err = scan(audit_dir_fd, &segs, &n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		bool mine = false;

		if (segs[i].err < 0)
			continue;
		parsed++;
		for (size_t k = 0; k < nkeys; k++) {
			if (memcmp(segs[i].h.auditor_pk, keys[k].pk,
				   AUDITREC_PK_BYTES) == 0) {
				keys[k].segments++;
				mine = true;
			}
		}
		ours += mine;
	}
	if (parsed > 0 && ours == 0) {
		err = -EKEYREJECTED;
		goto out;
	}
	if (vault_id != NULL)
		memcpy(v.vault_id, vault_id, sizeof(v.vault_id));
	else
		majority_vault_id(segs, n, v.vault_id);
	memcpy(sum->vault_id, v.vault_id, sizeof(sum->vault_id));

	v.dir_fd = audit_dir_fd;
	v.segs = segs;
	v.nsegs = n;
	v.keys = keys;
	v.nkeys = nkeys;
	v.cb = cb;
	v.arg = arg;
	v.sum = sum;
	v.sec = seal_secret_alloc(sizeof(*v.sec));
	v.rd.buf = malloc(RBUF_BYTES);
	v.cur = malloc(AUDITREC_FRAME_MAX);
	if (v.sec == NULL || v.rd.buf == NULL || v.cur == NULL) {
		err = -ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < n && v.stop == 0 && v.err == 0; i++) {
		if (sum->segments++ == 0)
			sum->first_segment = segs[i].no;
		sum->last_segment = segs[i].no;
		verify_segment(&v, &segs[i]);
	}
	if (v.err < 0) {
		err = v.err;
		goto out;
	}
	if (v.stop == 0 && v.have_prev && !v.prev.closed &&
	    !v.prev.foreign && !v.unusable_after) {
		if (v.prev.live)
			report_tail(&v, AUDIT_NOTE_OPEN, &v.prev, 0, "a writer "
				    "holds it: the vault is mounted");
		else if (v.prev.known)
			report_tail(&v, AUDIT_TRUNCATED, &v.prev, 0, "the log "
				    "was cut short, or its writer crashed and "
				    "no writer started since");
	}
	err = v.stop;
out:
	seal_secret_free(v.sec);
	free(v.rd.buf);
	free(v.cur);
	free(segs);
	return err;
}
