/*
 * t-auditverify.c - access-log verification (vaultfs/auditverify.h): every
 * kind of tampering with the files on disk is found and named.
 *
 * The log under test has three segments:
 *   seg 1  command: init (seq 1), end (2, final)
 *   seg 2  mount:   mount (3), 40 records (4..43), unmount (44, final)
 *   seg 3  mount:   mount (45), 20 records (46..65), unmount (66, final)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/auditverify.h"
#include "../../vaultfs/seal.h"

#define NSEG 3
#define TOTAL 66
#define SEG2_FIRST 3
#define SEG3_FIRST 45

static char tmpdir[] = "/tmp/t-auditverify.XXXXXX";
static uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
static uint8_t pk2[AUDITREC_PK_BYTES], sk2[AUDITREC_SK_BYTES];
static struct vault_settings vs, other_vs;
static int dfd = -1, other_dfd = -1;

struct file {
	uint8_t *data;
	size_t len;
	size_t off[128];	/* frame offsets */
	int nframes;
};

static struct file pristine[NSEG + 1], other[NSEG + 1];

/* ---- building and restoring ---- */

static int open_dir(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	if (mkdir(path, 0700) < 0)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void record(struct audit_record *r, enum audit_event ev, unsigned i,
		   char *path, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->event = ev;
	r->uid = 1000 + i % 5;
	r->pid = 100 + i;
	r->comm = "vim";
	r->exe = "/usr/bin/vim.basic";
	snprintf(path, cap, "/designs/part-%u.cad", i);
	r->path = path;
}

static int build(int d, const struct vault_settings *s)
{
	struct auditlog_options cmd = { .kind = AUDIT_SEG_COMMAND };
	struct auditlog *log;
	struct audit_record r;
	char path[64];
	int err = 0;

	err |= auditlog_open(d, s, &cmd, &log);
	record(&r, AUDIT_EV_INIT, 0, path, sizeof(path));
	err |= auditlog_append(log, &r, NULL);
	err |= auditlog_close(log, NULL);
	for (unsigned seg = 2; seg <= 3; seg++) {
		unsigned n = seg == 2 ? 40 : 20;

		err |= auditlog_open(d, s, NULL, &log);
		record(&r, AUDIT_EV_MOUNT, 0, path, sizeof(path));
		err |= auditlog_append(log, &r, NULL);
		for (unsigned i = 1; i <= n; i++) {
			record(&r, i % 2 ? AUDIT_EV_OPEN : AUDIT_EV_CLOSE, i,
			       path, sizeof(path));
			err |= auditlog_append(log, &r, NULL);
		}
		record(&r, AUDIT_EV_UNMOUNT, 0, path, sizeof(path));
		err |= auditlog_close(log, &r);
	}
	return err;
}

static void frames(struct file *f)
{
	struct auditrec_frame fr;
	size_t o = AUDITREC_HEADER_BYTES;

	f->nframes = 0;
	while (o < f->len && f->nframes < 128 &&
	       auditrec_frame_parse(f->data + o, f->len - o, &fr) == 0) {
		f->off[f->nframes++] = o;
		o += fr.frame_len;
	}
}

static int load(int d, uint64_t seg, struct file *f)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct stat st;
	int fd;

	auditrec_segment_name(seg, name);
	fd = openat(d, name, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	f->len = (size_t)st.st_size;
	f->data = malloc(f->len + 1);
	if (f->data == NULL || read(fd, f->data, f->len) != (ssize_t)f->len) {
		close(fd);
		return -1;
	}
	close(fd);
	frames(f);
	return 0;
}

static void store(uint64_t seg, const uint8_t *data, size_t len)
{
	char name[AUDITREC_SEGNAME_MAX];
	int fd;

	auditrec_segment_name(seg, name);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		diag("cannot write %s", name);
	if (fd >= 0)
		close(fd);
}

static void drop(uint64_t seg)
{
	char name[AUDITREC_SEGNAME_MAX];

	auditrec_segment_name(seg, name);
	unlinkat(dfd, name, 0);
}

/* Put the pristine log back; remove anything else. */
static void restore(void)
{
	for (uint64_t seg = 1; seg <= NSEG + 3; seg++)
		drop(seg);
	for (uint64_t seg = 1; seg <= NSEG; seg++)
		store(seg, pristine[seg].data, pristine[seg].len);
}

/* A copy of pristine segment seg with edits. */
static struct file copy(uint64_t seg)
{
	struct file f = pristine[seg];

	f.data = malloc(f.len + AUDITREC_FRAME_MAX * 4);
	memcpy(f.data, pristine[seg].data, f.len);
	return f;
}

static size_t flen(const struct file *f, int i)
{
	return (i + 1 < f->nframes ? f->off[i + 1] : f->len) - f->off[i];
}

/* Remove frames [i, i + n). */
static void cut_frames(struct file *f, int i, int n)
{
	size_t a = f->off[i], b = i + n < f->nframes ? f->off[i + n] : f->len;

	memmove(f->data + a, f->data + b, f->len - b);
	f->len -= b - a;
	frames(f);
}

/* Insert frame j of src before frame i of f. */
static void insert_frame(struct file *f, int i, const struct file *src, int j)
{
	size_t a = i < f->nframes ? f->off[i] : f->len, l = flen(src, j);

	memmove(f->data + a + l, f->data + a, f->len - a);
	memcpy(f->data + a, src->data + src->off[j], l);
	f->len += l;
	frames(f);
}

/* ---- verifying ---- */

#define MAX_FINDINGS 32

struct vres {
	int rc;
	struct auditverify_summary sum;
	uint64_t nrec, unchained;
	int nfind;
	struct audit_problem find[MAX_FINDINGS];
	int stop_after;
};

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	struct vres *v = arg;

	v->nrec++;
	if (!pos->chained)
		v->unchained++;
	if (v->stop_after && v->nrec == (uint64_t)v->stop_after)
		return 7;
	return 0;
}

static int on_finding(void *arg, const struct audit_problem *p)
{
	struct vres *v = arg;

	if (v->nfind < MAX_FINDINGS)
		v->find[v->nfind++] = *p;
	return 0;
}

static const struct auditverify_callbacks cbs = { on_record, on_finding };

static void run(struct vres *v)
{
	memset(v, 0, sizeof(*v));
	v->rc = auditverify_run(dfd, sk, pk, vs.vault_id, &cbs, v, &v->sum);
}

static void show(const struct vres *v)
{
	diag("rc %d, %llu records, %llu damage", v->rc,
	     (unsigned long long)v->nrec, (unsigned long long)v->sum.damage);
	for (int i = 0; i < v->nfind; i++)
		diag("  %s in %s seq %llu count %llu: %s",
		     auditverify_finding_name(v->find[i].kind),
		     v->find[i].segment, (unsigned long long)v->find[i].seq,
		     (unsigned long long)v->find[i].count, v->find[i].detail);
}

/* The first damage is kind, in segment seg, at seq (0: any). */
static int expect(const char *what, enum audit_finding kind, uint64_t seg,
		  uint64_t seq)
{
	const struct audit_problem *p;
	struct vres v;
	int pass;

	run(&v);
	p = &v.sum.first_damage;
	pass = v.rc == 0 && p->kind == kind && p->segment_no == seg &&
	       (seq == 0 || p->seq == seq);
	ok(pass, "%s: %s in segment %llu seq %llu", what,
	   auditverify_finding_name(kind), (unsigned long long)seg,
	   (unsigned long long)seq);
	if (!pass)
		show(&v);
	return pass;
}

/* ---- tests ---- */

static void test_pristine(void)
{
	struct vres v;

	restore();
	run(&v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 0 && v.nrec == TOTAL &&
	   v.unchained == 0, "pristine log: %d records, no findings", TOTAL);
	if (v.nfind)
		show(&v);
	ok(v.sum.history_complete && v.sum.segments == NSEG &&
	   v.sum.first_seq == 1 && v.sum.last_seq == TOTAL, "summary");

	memset(&v, 0, sizeof(v));
	v.rc = auditverify_run(dfd, sk, pk, NULL, &cbs, &v, &v.sum);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nrec == TOTAL &&
	   memcmp(v.sum.vault_id, vs.vault_id, 16) == 0,
	   "without a vault id: learnt from the segments");

	memset(&v, 0, sizeof(v));
	v.stop_after = 5;
	v.rc = auditverify_run(dfd, sk, pk, vs.vault_id, &cbs, &v, &v.sum);
	ok(v.rc == 7 && v.nrec == 5, "a callback's non-zero return stops");

	is_int(auditverify_run(dfd, sk2, pk2, NULL, NULL, NULL, &v.sum),
	       -EKEYREJECTED, "wrong auditor key: EKEYREJECTED");
	ok(auditverify_run(dfd, sk, pk, NULL, NULL, NULL, &v.sum) == 0 &&
	   v.sum.damage == 0 && v.sum.records == TOTAL, "no callbacks");
}

static void test_records(void)
{
	static const struct { const char *what; size_t at; } flips[] = {
		{ "ciphertext byte flipped", AUDITREC_FRAME_HEAD_BYTES + 5 },
		{ "tag byte flipped", 0 /* last tag byte, below */ },
		{ "nonce byte flipped", AUDITREC_AD_BYTES + 3 },
		{ "clear seq byte flipped", 4 },
		{ "clear chain byte flipped", 20 },
		{ "length prefix flipped", 0 },
		{ "length suffix flipped", 1 /* below */ },
	};
	int i10 = 10 - SEG2_FIRST;
	struct file f;
	struct vres v;

	for (size_t k = 0; k < sizeof(flips) / sizeof(flips[0]); k++) {
		size_t at = pristine[2].off[i10];
		size_t l = flen(&pristine[2], i10);

		restore();
		f = copy(2);
		if (k == 1)
			at += l - 5;
		else if (k == 5)
			at += 1;
		else if (k == 6)
			at += l - 4;
		else
			at += flips[k].at;
		f.data[at] ^= 0x04;
		store(2, f.data, f.len);
		free(f.data);
		expect(flips[k].what, AUDIT_ALTERED, 2, 10);
		run(&v);
		ok(v.nrec == TOTAL - 1, "%s: the other %d records still read",
		   flips[k].what, TOTAL - 1);
	}

	restore();
	f = copy(2);
	cut_frames(&f, i10, 1);
	store(2, f.data, f.len);
	if (expect("record 10 deleted", AUDIT_REMOVED, 2, 10)) {
		run(&v);
		ok(v.sum.first_damage.count == 1 && v.nrec == TOTAL - 1 &&
		   v.sum.damage == 1, "one record missing, the rest intact");
	}
	free(f.data);

	restore();
	f = copy(2);
	cut_frames(&f, i10, 3);
	store(2, f.data, f.len);
	if (expect("records 10..12 deleted", AUDIT_REMOVED, 2, 10)) {
		run(&v);
		ok(v.sum.first_damage.count == 3, "count 3");
	}
	free(f.data);

	restore();
	f = copy(2);
	cut_frames(&f, 0, 1);
	store(2, f.data, f.len);
	expect("first record of a segment deleted", AUDIT_REMOVED, 2,
	       SEG2_FIRST);
	free(f.data);

	restore();
	f = copy(2);
	cut_frames(&f, i10, 1);
	insert_frame(&f, i10 + 1, &pristine[2], i10);
	store(2, f.data, f.len);
	if (expect("records 10 and 11 swapped", AUDIT_REORDERED, 2, 10)) {
		run(&v);
		ok(v.sum.damage == 1, "one finding for one swap");
	}
	free(f.data);

	restore();
	f = copy(2);
	cut_frames(&f, i10, 1);
	insert_frame(&f, i10 + 10, &pristine[2], i10);
	store(2, f.data, f.len);
	expect("record 10 moved after 20", AUDIT_REORDERED, 2, 10);
	free(f.data);

	restore();
	f = copy(2);
	insert_frame(&f, i10 + 1, &pristine[2], i10);
	store(2, f.data, f.len);
	if (expect("record 10 duplicated", AUDIT_REORDERED, 2, 11)) {
		run(&v);
		ok(v.nrec == TOTAL && v.sum.damage == 1,
		   "every record still read once");
	}
	free(f.data);

	restore();
	f = copy(2);
	insert_frame(&f, i10, &pristine[3], 5);
	store(2, f.data, f.len);
	expect("record from another segment inserted", AUDIT_ALTERED, 2, 10);
	free(f.data);

	restore();
	f = copy(2);
	insert_frame(&f, f.nframes, &pristine[2], 3);
	store(2, f.data, f.len);
	expect("frame appended after the final record", AUDIT_ALTERED, 2, 0);
	free(f.data);
}

static void test_truncation(void)
{
	struct file f;
	struct vres v;

	restore();
	f = copy(3);
	f.len = f.off[f.nframes - 1] + 50;
	store(3, f.data, f.len);
	expect("last segment cut inside its last record", AUDIT_TRUNCATED, 3,
	       TOTAL);
	free(f.data);

	restore();
	f = copy(3);
	f.len = f.off[f.nframes - 1];
	store(3, f.data, f.len);
	expect("last segment cut at a record boundary", AUDIT_TRUNCATED, 3,
	       TOTAL);
	free(f.data);

	restore();
	f = copy(3);
	f.len = f.off[10];
	store(3, f.data, f.len);
	expect("last segment cut in half", AUDIT_TRUNCATED, 3, SEG3_FIRST + 10);
	free(f.data);

	restore();
	f = copy(2);
	f.len = f.off[f.nframes - 5];
	store(2, f.data, f.len);
	if (expect("middle segment lost its last 5 records", AUDIT_TRUNCATED,
		   2, 40)) {
		run(&v);
		ok(v.sum.first_damage.count == 5 && v.nrec == TOTAL - 5,
		   "the next segment proves 5 records are missing");
	}
	free(f.data);

	restore();
	f = copy(2);
	f.len = f.off[f.nframes - 1] + 30;
	store(2, f.data, f.len);
	expect("middle segment cut inside its final record", AUDIT_TRUNCATED,
	       2, 44);
	free(f.data);

	restore();
	f = copy(3);
	f.len = AUDITREC_HEADER_BYTES;
	store(3, f.data, f.len);
	expect("last segment reduced to its header", AUDIT_TRUNCATED, 3,
	       SEG3_FIRST);
	free(f.data);
}

static void test_segments(void)
{
	struct auditrec_header h;
	uint8_t raw[AUDITREC_HEADER_BYTES], k0[AUDITREC_KEY_BYTES];
	struct file f;
	struct vres v;

	restore();
	drop(2);
	if (expect("middle segment deleted", AUDIT_SEGMENT_REMOVED, 3, 0)) {
		run(&v);
		ok(v.sum.first_damage.count == 1, "one segment missing");
	}

	restore();
	drop(1);
	run(&v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 1 &&
	   v.find[0].kind == AUDIT_NOTE_HISTORY_START &&
	   v.find[0].segment_no == 2 && !v.sum.history_complete &&
	   v.nrec == TOTAL - 2, "oldest segment archived: note, not damage");
	if (v.sum.damage)
		show(&v);
	drop(2);
	run(&v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 1 &&
	   v.find[0].segment_no == 3 && v.find[0].seq == SEG3_FIRST &&
	   strstr(v.find[0].detail, "starts at segment 3") != NULL,
	   "retained history starts at segment 3");

	restore();
	store(4, pristine[2].data, pristine[2].len);
	expect("old segment replayed under a new name",
	       AUDIT_SEGMENT_REPLAYED, 4, 0);

	restore();
	store(4, other[3].data, other[3].len);
	expect("another vault's segment 3 added as segment 4",
	       AUDIT_SEGMENT_REPLAYED, 4, 0);

	restore();
	f = other[3];
	store(3, f.data, f.len);
	expect("segment 3 replaced by another vault's segment 3",
	       AUDIT_SEGMENT_REPLAYED, 3, 0);

	/* Well-formed segments whose links are wrong (made by hand). */
	restore();
	memset(&h, 0, sizeof(h));
	h.kind = AUDIT_SEG_MOUNT;
	memcpy(h.vault_id, vs.vault_id, sizeof(h.vault_id));
	h.segment = 4;
	h.prev_segment = 3;
	h.first_seq = TOTAL + 1;
	h.created_us = 1;
	memcpy(h.auditor_pk, pk, sizeof(pk));
	seal_random(h.prev_chain, sizeof(h.prev_chain));
	seal_random(k0, sizeof(k0));
	ok(auditrec_header_build(&h, k0, raw) == 0, "forge a segment 4");
	store(4, raw, sizeof(raw));
	expect("segment 4 does not chain onto closed segment 3",
	       AUDIT_SEGMENT_REPLAYED, 4, 0);

	restore();
	h.prev_segment = 1;
	ok(auditrec_header_build(&h, k0, raw) == 0, "forge another");
	store(4, raw, sizeof(raw));
	expect("segment 4 chains onto segment 1", AUDIT_SEGMENT_REPLAYED, 4, 0);

	restore();
	h.prev_segment = 2;
	h.segment = 3;
	ok(auditrec_header_build(&h, k0, raw) == 0, "forge a segment 3");
	store(3, raw, sizeof(raw));
	expect("segment 3 replaced by one that does not chain",
	       AUDIT_SEGMENT_REPLAYED, 3, 0);
}

static void test_headers(void)
{
	static const struct {
		const char *what;
		size_t at;
		enum audit_finding kind;
	} flips[] = {
		{ "magic", 0, AUDIT_BAD_HEADER },
		{ "format", 8, AUDIT_BAD_HEADER },
		{ "kind", 12, AUDIT_BAD_HEADER },
		{ "vault id", 16, AUDIT_SEGMENT_REPLAYED },
		{ "segment number", 32, AUDIT_SEGMENT_REPLAYED },
		{ "predecessor number", 40, AUDIT_BAD_HEADER },
		{ "first seq", 48, AUDIT_BAD_HEADER },
		{ "creation time", 56, AUDIT_BAD_HEADER },
		{ "predecessor chain", 64, AUDIT_BAD_HEADER },
		{ "auditor key", 96, AUDIT_WRONG_KEY },
		{ "sealed key", 140, AUDIT_BAD_HEADER },
		{ "MAC", 230, AUDIT_BAD_HEADER },
	};
	struct file f;
	struct vres v;

	for (size_t k = 0; k < sizeof(flips) / sizeof(flips[0]); k++) {
		char what[64];

		restore();
		f = copy(2);
		f.data[flips[k].at] ^= 0x01;
		store(2, f.data, f.len);
		free(f.data);
		snprintf(what, sizeof(what), "header %s flipped", flips[k].what);
		expect(what, flips[k].kind, 2, 0);
	}

	/* A damaged header does not make the next segment look removed. */
	restore();
	f = copy(2);
	f.data[56] ^= 1;
	store(2, f.data, f.len);
	free(f.data);
	run(&v);
	ok(v.sum.damage == 1 && v.nrec == TOTAL - 42,
	   "bad header: one finding, its records unread");

	restore();
	f = copy(2);
	store(2, f.data, 100);
	free(f.data);
	expect("segment shorter than a header", AUDIT_BAD_HEADER, 2, 0);

	/* Segment 2 sealed to someone else's key. */
	restore();
	store(2, other[2].data, other[2].len);
	expect("foreign segment in place of segment 2", AUDIT_SEGMENT_REPLAYED,
	       2, 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A segment larger than the reader's buffer; damage far into it. */
static void test_large(void)
{
	enum { N = 12000 };
	int d = open_dir("large");
	char name[AUDITREC_SEGNAME_MAX], path[64];
	struct auditverify_summary sum;
	struct auditlog *log = NULL;
	struct auditrec_frame fr;
	struct audit_record r;
	struct stat st;
	uint8_t *data = NULL;
	size_t o, idx = 0, at = 0, len;
	double t0, t1, t2;
	int err = 0, fd;

	t0 = now_s();
	err |= auditlog_open(d, &vs, NULL, &log);
	for (unsigned i = 0; i < N && err == 0; i++) {
		record(&r, AUDIT_EV_OPEN, i, path, sizeof(path));
		err |= auditlog_append(log, &r, NULL);
	}
	err |= auditlog_close(log, NULL);
	t1 = now_s();
	ok(err == 0, "%d records appended", N);
	diag("append: %.2f us per record (no sync)", (t1 - t0) * 1e6 / N);
	ok(auditverify_run(d, sk, pk, vs.vault_id, NULL, NULL, &sum) == 0 &&
	   sum.damage == 0 && sum.records == N + 1, "large segment verifies");
	t2 = now_s();
	diag("verify: %.2f us per record", (t2 - t1) * 1e6 / N);

	/* Flip a byte of the record at about 1.5 MiB. */
	auditrec_segment_name(1, name);
	fd = openat(d, name, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (3 << 19)) {
		ok(0, "segment larger than 1.5 MiB");
		goto out;
	}
	len = (size_t)st.st_size;
	data = malloc(len);
	if (data == NULL || pread(fd, data, len, 0) != (ssize_t)len)
		goto out;
	for (o = AUDITREC_HEADER_BYTES; o < len &&
	     auditrec_frame_parse(data + o, len - o, &fr) == 0;
	     o += fr.frame_len, idx++) {
		if (o >= (3u << 19)) {
			at = o;
			break;
		}
	}
	ok(at > 0, "found a record at 1.5 MiB (index %zu)", idx);
	data[at + 100] ^= 0x40;
	ok(pwrite(fd, data + at + 100, 1, (off_t)(at + 100)) == 1, "flip it");
	ok(auditverify_run(d, sk, pk, vs.vault_id, NULL, NULL, &sum) == 0 &&
	   sum.first_damage.kind == AUDIT_ALTERED &&
	   sum.first_damage.seq == idx + 1 && sum.first_damage.offset == at &&
	   sum.damage == 1 && sum.records == N, "altered record found far in");
	data[at + 100] ^= 0x40;
	/* Now swap it with its successor, across the whole file. */
	if (auditrec_frame_parse(data + at, len - at, &fr) == 0) {
		size_t l1 = fr.frame_len, l2;
		uint8_t *tmp;

		if (auditrec_frame_parse(data + at + l1, len - at - l1, &fr) == 0) {
			l2 = fr.frame_len;
			tmp = malloc(l1 + l2);
			memcpy(tmp, data + at + l1, l2);
			memcpy(tmp + l2, data + at, l1);
			ok(pwrite(fd, tmp, l1 + l2, (off_t)at) == (ssize_t)(l1 + l2),
			   "swap two records");
			free(tmp);
		}
	}
	ok(auditverify_run(d, sk, pk, vs.vault_id, NULL, NULL, &sum) == 0 &&
	   sum.first_damage.kind == AUDIT_REORDERED &&
	   sum.first_damage.seq == idx + 1 && sum.damage == 1,
	   "reordered records found far in");
out:
	free(data);
	if (fd >= 0)
		close(fd);
	close(d);
}

static void test_empty(void)
{
	struct auditverify_summary sum;
	int d = open_dir("empty");

	ok(auditverify_run(d, sk, pk, NULL, NULL, NULL, &sum) == 0 &&
	   sum.segments == 0 && sum.damage == 0, "empty directory");
	close(d);
}

int main(void)
{
	struct vault_settings s2;
	char cmd[256];

	if (seal_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	memset(&vs, 0, sizeof(vs));
	seal_random(vs.vault_id, sizeof(vs.vault_id));
	memcpy(vs.auditor_pk, pk, sizeof(pk));
	/* Another vault, same auditor: the worst case for mix-ups. */
	other_vs = vs;
	seal_random(other_vs.vault_id, sizeof(other_vs.vault_id));
	s2 = other_vs;

	dfd = open_dir("audit");
	other_dfd = open_dir("other");
	if (dfd < 0 || other_dfd < 0 || build(dfd, &vs) != 0 ||
	    build(other_dfd, &s2) != 0) {
		diag("cannot build the test logs");
		return 1;
	}
	for (uint64_t seg = 1; seg <= NSEG; seg++)
		if (load(dfd, seg, &pristine[seg]) < 0 ||
		    load(other_dfd, seg, &other[seg]) < 0)
			return 1;
	is_int(pristine[2].nframes, 42, "segment 2 has 42 records");

	test_pristine();
	test_records();
	test_truncation();
	test_segments();
	test_headers();
	test_empty();
	test_large();

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
