/* t-auditlog.c - the access-log writer (vaultfs/auditlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/auditverify.h"
#include "../../vaultfs/seal.h"

static char tmpdir[] = "/tmp/t-auditlog.XXXXXX";
static uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
static struct vault_settings vs;

/* ---- helpers ---- */

static int new_audit_dir(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	if (mkdir(path, 0700) < 0)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

/* Record number i of a deterministic test stream. */
static void make_record(struct audit_record *r, unsigned i, char *path,
			size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->event = (i % 3 == 0) ? AUDIT_EV_CLOSE : AUDIT_EV_OPEN;
	r->time_us = 1795000000000000LL + i;
	r->uid = 1000 + i % 7;
	r->gid = 100 + i % 3;
	r->pid = 3000 + i;
	r->result = (i % 11 == 0) ? -EACCES : 0;
	r->open_flags = i % 3 == 0 ? 0 : (unsigned)O_RDONLY | (i & 1 ? O_APPEND : 0);
	r->bytes_read = i * 1000ull;
	r->bytes_written = i * 7ull;
	memset(r->doc_id, (int)(i & 0xff), sizeof(r->doc_id));
	r->comm = i % 2 ? "cat" : "python3";
	r->exe = i % 2 ? "/usr/bin/cat" : "/usr/bin/python3.11";
	snprintf(path, cap, "/projects/secret-alpha/doc-%04u.txt", i);
	r->path = path;
}

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int same_record(const struct audit_record *a,
		       const struct audit_record *b)
{
	return a->time_us == b->time_us && a->event == b->event &&
	       a->uid == b->uid && a->gid == b->gid && a->pid == b->pid &&
	       a->result == b->result && a->open_flags == b->open_flags &&
	       a->bytes_read == b->bytes_read &&
	       a->bytes_written == b->bytes_written &&
	       memcmp(a->doc_id, b->doc_id, sizeof(a->doc_id)) == 0 &&
	       str_eq(a->comm, b->comm) && str_eq(a->exe, b->exe) &&
	       str_eq(a->path, b->path) && str_eq(a->new_path, b->new_path) &&
	       str_eq(a->detail, b->detail);
}

#define MAX_FINDINGS 32

struct vres {
	int rc;
	struct auditverify_summary sum;
	uint64_t nrec, prev_seq;
	int seq_gaps, mismatches, unchained, finals, ends;
	unsigned base;		/* make_record index of seq 1.. (see check) */
	int check;		/* compare OPEN/CLOSE records with make_record */
	int nfind;
	struct audit_problem find[MAX_FINDINGS];
};

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	struct vres *v = arg;

	if (v->nrec > 0 && r->seq != v->prev_seq + 1)
		v->seq_gaps++;
	v->prev_seq = r->seq;
	v->nrec++;
	if (!pos->chained)
		v->unchained++;
	if (r->flags & AUDIT_RF_FINAL)
		v->finals++;
	if (r->event == AUDIT_EV_END)
		v->ends++;
	if (v->check && (r->event == AUDIT_EV_OPEN ||
			 r->event == AUDIT_EV_CLOSE)) {
		struct audit_record want;
		char path[128];
		unsigned i = (unsigned)(r->time_us - 1795000000000000LL);

		make_record(&want, i, path, sizeof(path));
		if (!same_record(r, &want))
			v->mismatches++;
	}
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

static void verify(int dfd, struct vres *v)
{
	memset(v, 0, sizeof(*v));
	v->check = 1;
	v->rc = auditverify_run(dfd, sk, pk, vs.vault_id, &cbs, v, &v->sum);
}

static int has_finding(const struct vres *v, enum audit_finding kind)
{
	for (int i = 0; i < v->nfind; i++)
		if (v->find[i].kind == kind)
			return 1;
	return 0;
}

static void show_findings(const struct vres *v)
{
	for (int i = 0; i < v->nfind; i++)
		diag("finding %s in %s seq %llu: %s",
		     auditverify_finding_name(v->find[i].kind),
		     v->find[i].segment,
		     (unsigned long long)v->find[i].seq, v->find[i].detail);
}

static int append_n(struct auditlog *log, unsigned from, unsigned n)
{
	for (unsigned i = from; i < from + n; i++) {
		struct audit_record r;
		char path[128];
		int err;

		make_record(&r, i, path, sizeof(path));
		err = auditlog_append(log, &r, NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

static void mount_record(struct audit_record *r, enum audit_event ev)
{
	memset(r, 0, sizeof(*r));
	r->event = ev;
	r->detail = "host=testhost vault=/srv/vault";
}

static off_t file_size(int dfd, uint64_t seg)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct stat st;

	auditrec_segment_name(seg, name);
	if (fstatat(dfd, name, &st, 0) < 0)
		return -1;
	return st.st_size;
}

/* Frames of a segment file: offsets and lengths. */
static int read_frames(int dfd, uint64_t seg, uint8_t **data, size_t *len,
		       size_t *off, size_t max)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct auditrec_frame f;
	struct stat st;
	size_t o = AUDITREC_HEADER_BYTES;
	int n = 0, fd;

	auditrec_segment_name(seg, name);
	fd = openat(dfd, name, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	*len = (size_t)st.st_size;
	*data = malloc(*len);
	if (*data == NULL || read(fd, *data, *len) != (ssize_t)*len) {
		close(fd);
		return -1;
	}
	close(fd);
	while (o < *len && (size_t)n < max &&
	       auditrec_frame_parse(*data + o, *len - o, &f) == 0) {
		off[n++] = o;
		o += f.frame_len;
	}
	return n;
}

/* ---- tests ---- */

static void test_basic(void)
{
	struct audit_record r;
	struct auditlog *log = NULL;
	struct auditlog_head h;
	struct vres v;
	uint64_t seq = 0;
	int dfd = new_audit_dir("basic"), bad_seq = 0, err;
	char name[AUDITREC_SEGNAME_MAX], path[128];
	char *buf;
	ssize_t n;
	int fd;

	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "open a mount segment");
	mount_record(&r, AUDIT_EV_MOUNT);
	ok(auditlog_append(log, &r, &seq) == 0 && seq == 1, "mount is seq 1");
	for (unsigned i = 1; i <= 300; i++) {
		make_record(&r, i, path, sizeof(path));
		err = auditlog_append(log, &r, &seq);
		if (err < 0 || seq != i + 1)
			bad_seq++;
	}
	is_int(bad_seq, 0, "300 appends, seq increasing");
	ok(auditlog_sync(log) == 0, "sync");
	auditlog_head(log, &h);
	ok(h.segment == 1 && h.seq == 301 &&
	   strcmp(h.name, "seg-000000000001.log") == 0, "head");

	/* While it is open: the verifier sees a live segment. */
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && has_finding(&v, AUDIT_NOTE_OPEN),
	   "open segment: note, no damage");
	is_mem(v.sum.last_chain, h.chain, sizeof(h.chain),
	       "head chain equals the verifier's");

	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_OPEN;
	r.flags = AUDIT_RF_FINAL;
	is_int(auditlog_append(log, &r, NULL), -EINVAL, "caller cannot set FINAL");
	r.flags = 0;
	r.event = (enum audit_event)0;
	is_int(auditlog_append(log, &r, NULL), -EINVAL, "event 0 refused");

	mount_record(&r, AUDIT_EV_UNMOUNT);
	ok(auditlog_close(log, &r) == 0, "close with unmount record");

	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 0,
	   "verify: intact, no findings");
	if (v.nfind)
		show_findings(&v);
	ok(v.nrec == 302 && v.seq_gaps == 0 && v.mismatches == 0 &&
	   v.unchained == 0, "302 records decode equal to the input");
	ok(v.finals == 1 && v.sum.history_complete && v.sum.first_seq == 1 &&
	   v.sum.last_seq == 302, "final record, complete history");

	/* No plaintext in the file. */
	auditrec_segment_name(1, name);
	fd = openat(dfd, name, O_RDONLY);
	buf = malloc(1 << 20);
	n = fd >= 0 && buf ? read(fd, buf, 1 << 20) : -1;
	ok(n > 0 && memmem(buf, (size_t)n, "secret-alpha", 12) == NULL &&
	   memmem(buf, (size_t)n, "python3", 7) == NULL &&
	   memmem(buf, (size_t)n, "testhost", 8) == NULL,
	   "segment holds no plaintext path, comm or host");
	free(buf);
	if (fd >= 0)
		close(fd);

	/* The next mount chains on. */
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "second mount");
	mount_record(&r, AUDIT_EV_MOUNT);
	ok(auditlog_append(log, &r, &seq) == 0 && seq == 303,
	   "seq continues across segments");
	ok(append_n(log, 1000, 20) == 0, "more records");
	mount_record(&r, AUDIT_EV_UNMOUNT);
	ok(auditlog_close(log, &r) == 0, "close");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 0 && v.nrec == 324 &&
	   v.seq_gaps == 0 && v.sum.segments == 2, "two segments verify");

	/* A vaultctl command segment. */
	struct auditlog_options o = { .kind = AUDIT_SEG_COMMAND };
	ok(auditlog_open(dfd, &vs, &o, &log) == 0, "command segment");
	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_ROTATE;
	r.detail = "kek 1 -> 2";
	ok(auditlog_close(log, &r) == 0, "command record is the final one");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nrec == 325 && v.finals == 3,
	   "three segments verify");

	ok(auditlog_close(NULL, NULL) == 0, "close(NULL)");
	close(dfd);
}

static void test_busy_and_keys(void)
{
	struct auditlog *a = NULL, *b = NULL;
	struct vault_settings bad = vs;
	int dfd = new_audit_dir("busy");

	ok(auditlog_open(dfd, &vs, NULL, &a) == 0, "first writer");
	is_int(auditlog_open(dfd, &vs, NULL, &b), -EBUSY,
	       "second writer while the first is active: EBUSY");
	ok(b == NULL, "no handle on failure");
	ok(auditlog_close(a, NULL) == 0, "close first");
	ok(auditlog_open(dfd, &vs, NULL, &b) == 0, "now a second one works");
	ok(auditlog_close(b, NULL) == 0, "close second");

	memset(bad.auditor_pk, 0, sizeof(bad.auditor_pk));
	is_int(auditlog_open(dfd, &bad, NULL, &a), -ENOKEY,
	       "no auditor key: ENOKEY");
	close(dfd);
}

static void test_crash(void)
{
	struct audit_record r;
	struct auditlog *log = NULL;
	struct vres v;
	pid_t pid;
	int status = -1, dfd = new_audit_dir("crash");
	char name[AUDITREC_SEGNAME_MAX];

	pid = fork();
	if (pid == 0) {
		struct auditlog *l;

		if (auditlog_open(dfd, &vs, NULL, &l) < 0)
			_exit(1);
		mount_record(&r, AUDIT_EV_MOUNT);
		if (auditlog_append(l, &r, NULL) < 0 || append_n(l, 1, 10) < 0)
			_exit(2);
		_exit(0);	/* no close: like kill -9 */
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer 'crashed'");

	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.first_damage.kind == AUDIT_TRUNCATED &&
	   v.sum.first_damage.seq == 12 && v.nrec == 11,
	   "before the next mount: truncated tail at seq 12");

	/* A torn partial record, as after a power cut mid-write: the first
	 * 100 bytes of a real frame. */
	{
		size_t off[64], len = 0;
		uint8_t *data = NULL;
		int nf = read_frames(dfd, 1, &data, &len, off, 64);
		int fd;

		auditrec_segment_name(1, name);
		fd = openat(dfd, name, O_WRONLY | O_APPEND);
		ok(nf == 11 && fd >= 0 && write(fd, data + off[5], 100) == 100,
		   "append a torn record");
		if (fd >= 0)
			close(fd);
		free(data);
	}

	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "next mount after crash");
	mount_record(&r, AUDIT_EV_MOUNT);
	ok(auditlog_append(log, &r, NULL) == 0, "mount record");
	mount_record(&r, AUDIT_EV_UNMOUNT);
	ok(auditlog_close(log, &r) == 0, "unmount");

	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && has_finding(&v, AUDIT_NOTE_CRASH),
	   "after the next mount: crash note, log intact");
	if (v.sum.damage)
		show_findings(&v);
	ok(v.nrec == 13 && v.seq_gaps == 0, "seq continues after the crash");
	ok(v.nfind >= 1 && strstr(v.find[0].detail, "torn") != NULL &&
	   v.find[0].seq == 12 && v.find[0].segment_no == 1,
	   "crash note names the segment, seq and the torn record");
	close(dfd);
}

struct thr {
	struct auditlog *log;
	unsigned base;
	int errors;
	uint64_t seqs[250];
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	for (unsigned i = 0; i < 250; i++) {
		struct audit_record r;
		char path[128];

		make_record(&r, t->base + i, path, sizeof(path));
		if (auditlog_append(t->log, &r, &t->seqs[i]) < 0)
			t->errors++;
		if (i % 50 == 0 && auditlog_sync(t->log) < 0)
			t->errors++;
	}
	return NULL;
}

static void test_threads_and_rotation(void)
{
	struct auditlog_options o = { .max_segment_bytes = 16384 };
	struct auditlog *log = NULL;
	struct thr t[4];
	pthread_t th[4];
	static uint8_t seen[2000];
	struct audit_record r;
	struct vres v;
	int errors = 0, dups = 0, dfd = new_audit_dir("threads");

	ok(auditlog_open(dfd, &vs, &o, &log) == 0, "open with rotation");
	ok(auditlog_start_flusher(log, 2) == 0, "flusher");
	is_int(auditlog_start_flusher(log, 2), -EALREADY, "flusher twice");
	mount_record(&r, AUDIT_EV_MOUNT);
	ok(auditlog_append(log, &r, NULL) == 0, "mount record");
	for (int i = 0; i < 4; i++) {
		t[i].log = log;
		t[i].base = 1 + 250 * (unsigned)i;
		t[i].errors = 0;
		pthread_create(&th[i], NULL, thread_main, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		errors += t[i].errors;
		for (int j = 0; j < 250; j++) {
			if (t[i].seqs[j] >= sizeof(seen) || seen[t[i].seqs[j]])
				dups++;
			else
				seen[t[i].seqs[j]] = 1;
		}
	}
	is_int(errors, 0, "4 threads x 250 appends, no error");
	is_int(dups, 0, "every seq handed out once");
	mount_record(&r, AUDIT_EV_UNMOUNT);
	ok(auditlog_close(log, &r) == 0, "close");

	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 0, "verify");
	if (v.nfind)
		show_findings(&v);
	ok(v.sum.segments > 5 && v.ends == (int)v.sum.segments - 1 &&
	   v.finals == (int)v.sum.segments,
	   "rotated into %llu segments, each closed",
	   (unsigned long long)v.sum.segments);
	ok(v.nrec == 1002 + v.sum.segments - 1 && v.seq_gaps == 0 &&
	   v.mismatches == 0, "all records present and equal");
	ok(file_size(dfd, 2) < 16384 + AUDITREC_FRAME_MAX * 2,
	   "segments stay near the size limit");
	close(dfd);
}

static void test_fail_closed(void)
{
	struct rlimit old, lim;
	struct auditlog *log = NULL;
	struct vres v;
	off_t before, after;
	int err, dfd = new_audit_dir("full");

	signal(SIGXFSZ, SIG_IGN);
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "open");
	ok(append_n(log, 1, 5) == 0, "5 records");
	before = file_size(dfd, 1);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 100;	/* part of a record fits */
	setrlimit(RLIMIT_FSIZE, &lim);
	err = append_n(log, 6, 1);
	after = file_size(dfd, 1);
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(err, -EFBIG, "append fails when the file cannot grow");
	is_int(after, before, "no partial record left behind");
	ok(append_n(log, 6, 5) == 0, "appends work again once there is room");
	ok(auditlog_close(log, NULL) == 0, "close");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nrec == 11 && v.seq_gaps == 0,
	   "log intact after the failure");
	close(dfd);
}

/*
 * Nonces are drawn in batches: across batches, a failed append and two
 * segments, no two frames share one and none is left zero.
 */
static void test_nonces(void)
{
	static uint8_t seen[400][SEAL_NONCE_BYTES];
	static const uint8_t zero[SEAL_NONCE_BYTES];
	struct rlimit old, lim;
	struct auditlog *log = NULL;
	struct auditrec_frame f;
	size_t off[300], len;
	uint8_t *data;
	int n = 0, dup = 0, zeros = 0, dfd = new_audit_dir("nonces");

	signal(SIGXFSZ, SIG_IGN);
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "open");
	ok(append_n(log, 1, 70) == 0, "70 records");
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(dfd, 1) + 100;
	setrlimit(RLIMIT_FSIZE, &lim);
	is_int(append_n(log, 71, 1), -EFBIG, "one append fails");
	setrlimit(RLIMIT_FSIZE, &old);
	ok(append_n(log, 71, 70) == 0, "70 more");
	ok(auditlog_close(log, NULL) == 0, "close");
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 200, 50) == 0 && auditlog_close(log, NULL) == 0,
	   "a second segment of 50");
	for (uint64_t seg = 1; seg <= 2; seg++) {
		int m = read_frames(dfd, seg, &data, &len, off, 300);

		for (int i = 0; i < m && n < 400; i++) {
			if (auditrec_frame_parse(data + off[i], len - off[i],
						 &f) != 0)
				continue;
			memcpy(seen[n++], f.nonce, SEAL_NONCE_BYTES);
		}
		if (m >= 0)
			free(data);
	}
	is_int(n, 70 + 70 + 1 + 50 + 1, "every frame read");
	for (int i = 0; i < n; i++) {
		if (memcmp(seen[i], zero, sizeof(zero)) == 0)
			zeros++;
		for (int j = i + 1; j < n; j++)
			if (memcmp(seen[i], seen[j], SEAL_NONCE_BYTES) == 0)
				dup++;
	}
	is_int(dup, 0, "no nonce used twice");
	is_int(zeros, 0, "no zero nonce");
	close(dfd);
}

/* Re-create frame's ciphertext and tag from plain under chain key k. */
static int recreates(const uint8_t k[AUDITREC_KEY_BYTES],
		     const struct auditrec_frame *f, const uint8_t *plain)
{
	static uint8_t c[AUDITREC_PLAIN_MAX + SEAL_TAG_BYTES];
	uint8_t rk[SEAL_KEY_BYTES];
	unsigned long long clen;

	seal_derive(rk, 1, "vfsaudit", k);
	crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, plain,
						   f->ct_len - SEAL_TAG_BYTES,
						   f->raw, AUDITREC_AD_BYTES,
						   NULL, f->nonce, rk);
	return clen == f->ct_len && memcmp(c, f->ct, f->ct_len) == 0;
}

static void test_forward_security(void)
{
	uint8_t kt[AUDITREC_KEY_BYTES], k2[AUDITREC_KEY_BYTES];
	uint8_t k0[AUDITREC_KEY_BYTES], kj[AUDITREC_KEY_BYTES];
	uint8_t chain[AUDITREC_CHAIN_BYTES];
	static uint8_t plain[AUDITREC_PLAIN_MAX], forged[AUDITREC_FRAME_MAX];
	struct auditrec_header h;
	struct auditrec_frame f;
	struct auditlog *log = NULL;
	struct audit_record r;
	struct vres v;
	size_t off[64], len = 0, flen = 0;
	uint8_t *data = NULL, *copy;
	int n, opened = 0, recreated = 0, dfd = new_audit_dir("forward");
	char path[128];

	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "open");
	ok(append_n(log, 1, 10) == 0, "records 1..10 written");
	/* The intruder takes the process now: the key for record 11. */
	auditlog_current_key(log, kt);
	ok(append_n(log, 11, 1) == 0, "record 11");
	auditlog_current_key(log, k2);
	memcpy(kj, kt, sizeof(kj));
	auditrec_evolve(kj);
	is_mem(k2, kj, sizeof(k2), "state evolves by one step per record");
	ok(append_n(log, 12, 5) == 0, "records 12..16");
	ok(auditlog_close(log, NULL) == 0, "close");

	n = read_frames(dfd, 1, &data, &len, off, 64);
	is_int(n, 17, "17 frames");
	if (n != 17)
		goto out;

	/* The state at time t opens record 11 (it is the real state)... */
	ok(auditrec_frame_parse(data + off[10], len - off[10], &f) == 0 &&
	   auditrec_frame_open(kt, &f, plain) == 0,
	   "state at t opens the record written at t");
	/* ...but no record before t, however far it is evolved. */
	memcpy(kj, kt, sizeof(kj));
	for (int j = 0; j < 200; j++) {
		for (int i = 0; i < 10; i++) {
			if (auditrec_frame_parse(data + off[i], len - off[i],
						 &f) == 0 &&
			    auditrec_frame_open(kj, &f, plain) == 0)
				opened++;
		}
		auditrec_evolve(kj);
	}
	is_int(opened, 0, "state at t (evolved 0..199 steps) opens no record "
	       "before t");

	/* The auditor's K_4 re-creates record 5's tag; the state at t not. */
	ok(auditrec_header_parse(data, len, &h) == 0 &&
	   auditrec_header_open(&h, data, sk, pk, k0) == 0, "auditor opens K0");
	memcpy(kj, k0, sizeof(kj));
	for (int i = 0; i < 4; i++)
		auditrec_evolve(kj);
	ok(auditrec_frame_parse(data + off[4], len - off[4], &f) == 0 &&
	   auditrec_frame_open(kj, &f, plain) == 0, "K_4 opens record 5");
	ok(recreates(kj, &f, plain), "K_4 re-creates record 5 exactly");
	memcpy(kj, kt, sizeof(kj));
	for (int j = 0; j < 200; j++) {
		if (recreates(kj, &f, plain))
			recreated++;
		auditrec_evolve(kj);
	}
	is_int(recreated, 0, "state at t cannot re-create record 5's tag");

	/* A forgery of record 5 with the state at t is detected. */
	make_record(&r, 5, path, sizeof(path));
	r.path = "/projects/innocent.txt";
	ok(auditrec_frame_parse(data + off[4], len - off[4], &f) == 0 &&
	   auditrec_frame_seal(kt, 5, f.prev_chain, &r, forged, &flen,
			       chain) == 0, "forge record 5 under the state at t");
	copy = malloc(len + flen);
	if (copy != NULL) {
		char name[AUDITREC_SEGNAME_MAX];
		size_t nl;
		int fd;

		memcpy(copy, data, off[4]);
		memcpy(copy + off[4], forged, flen);
		nl = off[4] + flen;
		memcpy(copy + nl, data + off[5], len - off[5]);
		nl += len - off[5];
		auditrec_segment_name(1, name);
		fd = openat(dfd, name, O_WRONLY | O_TRUNC);
		ok(fd >= 0 && write(fd, copy, nl) == (ssize_t)nl,
		   "replace record 5 in the file");
		if (fd >= 0)
			close(fd);
		free(copy);
	}
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.first_damage.kind == AUDIT_ALTERED &&
	   v.sum.first_damage.seq == 5, "verify: record 5 altered");
out:
	free(data);
	close(dfd);
}

static void test_predecessor_choice(void)
{
	struct auditlog *log = NULL;
	struct vres v;
	int fd, dfd = new_audit_dir("pred");

	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 1, 3) == 0 && auditlog_close(log, NULL) == 0,
	   "segment 1");
	/* A damaged newer file: the next writer chains onto segment 1. */
	fd = openat(dfd, "seg-000000000002.log", O_WRONLY | O_CREAT | O_EXCL,
		    0600);
	ok(fd >= 0 && write(fd, "garbage", 7) == 7, "junk segment 2");
	if (fd >= 0)
		close(fd);
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 4, 3) == 0 && auditlog_close(log, NULL) == 0,
	   "segment 3 written");
	ok(file_size(dfd, 3) > 0, "it is segment 3");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 1 &&
	   v.sum.first_damage.kind == AUDIT_BAD_HEADER &&
	   v.sum.first_damage.segment_no == 2 && v.nrec == 8 &&
	   v.seq_gaps == 0, "only the junk is reported; seq continues");
	if (v.sum.damage != 1)
		show_findings(&v);

	/* A directory where the newest segment should be. */
	ok(mkdirat(dfd, "seg-000000000009.log", 0700) == 0, "stray directory");
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 7, 1) == 0 && auditlog_close(log, NULL) == 0,
	   "a stray directory does not stop the writer");
	ok(file_size(dfd, 10) > 0, "it wrote segment 10");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 2 && v.nrec == 10 && v.seq_gaps == 0,
	   "both strays reported, the chain is whole");
	if (v.sum.damage != 2)
		show_findings(&v);
	close(dfd);
}

static void test_archive(void)
{
	char from[512], to[512], arch[300];
	struct auditlog *log = NULL;
	struct vres v;
	int err = 0, dfd = new_audit_dir("archive");

	for (unsigned seg = 0; seg < 3; seg++) {
		err |= auditlog_open(dfd, &vs, NULL, &log);
		err |= append_n(log, 1 + seg * 10, 10);
		err |= auditlog_close(log, NULL);
	}
	ok(err == 0, "three segments");

	/* The administrator moves every segment off the machine. */
	snprintf(arch, sizeof(arch), "%s/archived", tmpdir);
	mkdir(arch, 0700);
	for (uint64_t seg = 1; seg <= 3; seg++) {
		char name[AUDITREC_SEGNAME_MAX];

		auditrec_segment_name(seg, name);
		snprintf(from, sizeof(from), "%s/archive/%s", tmpdir, name);
		snprintf(to, sizeof(to), "%s/%s", arch, name);
		err |= rename(from, to);
	}
	ok(err == 0, "all segments archived");
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 31, 5) == 0 && auditlog_close(log, NULL) == 0,
	   "next mount with an empty audit directory");
	ok(file_size(dfd, 4) > 0, "it continues with segment 4");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.damage == 0 && v.nfind == 1 &&
	   v.find[0].kind == AUDIT_NOTE_HISTORY_START &&
	   v.sum.first_seq == 34 && !v.sum.history_complete,
	   "what is left verifies; history starts at segment 4, seq 34");
	if (v.sum.damage)
		show_findings(&v);

	/* Bring the archive back: one seamless chain. */
	for (uint64_t seg = 1; seg <= 3; seg++) {
		char name[AUDITREC_SEGNAME_MAX];

		auditrec_segment_name(seg, name);
		snprintf(from, sizeof(from), "%s/%s", arch, name);
		snprintf(to, sizeof(to), "%s/archive/%s", tmpdir, name);
		err |= rename(from, to);
	}
	verify(dfd, &v);
	ok(err == 0 && v.rc == 0 && v.sum.damage == 0 && v.nfind == 0 &&
	   v.nrec == 39 && v.seq_gaps == 0 && v.sum.history_complete,
	   "archive and the rest verify together");

	/* Deleting the newest segment while unmounted: the head remembers. */
	unlinkat(dfd, "seg-000000000004.log", 0);
	ok(auditlog_open(dfd, &vs, NULL, &log) == 0 &&
	   append_n(log, 41, 2) == 0 && auditlog_close(log, NULL) == 0,
	   "next mount after the newest segment was deleted");
	verify(dfd, &v);
	ok(v.rc == 0 && v.sum.first_damage.kind == AUDIT_SEGMENT_REMOVED &&
	   v.sum.first_damage.segment_no == 5,
	   "segment 5 shows that segment 4 was removed");
	close(dfd);
}

int main(void)
{
	if (seal_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	crypto_box_keypair(pk, sk);
	memset(&vs, 0, sizeof(vs));
	seal_random(vs.vault_id, sizeof(vs.vault_id));
	memcpy(vs.auditor_pk, pk, sizeof(pk));

	test_basic();
	test_busy_and_keys();
	test_crash();
	test_threads_and_rotation();
	test_fail_closed();
	test_nonces();
	test_forward_security();
	test_predecessor_choice();
	test_archive();
	rm_tree(tmpdir);
	return done_testing();
}
