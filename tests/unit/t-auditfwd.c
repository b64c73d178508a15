/* t-auditfwd.c - the syslog copy of the access log (vaultfs/auditfwd.h)
 * and the auditlog copy hook it hangs on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/auditfwd.h"
#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/seal.h"

static char tmpdir[] = "/tmp/t-auditfwd.XXXXXX";
static uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
static struct vault_settings vs;
static const uint8_t vid[AUDITREC_VAULT_ID_BYTES] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

/* ---- helpers ---- */

static void rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every datagram line of an item, as one buffer of '\n'-ended lines. */
static int format_all(uint64_t seg, uint64_t seq, const uint8_t *b,
		      size_t len, char **out, size_t *outlen, size_t *maxdg)
{
	unsigned parts = auditfwd_parts(len);
	char *all = malloc((size_t)parts * (AUDITFWD_DGRAM_MAX + 1) + 1);
	size_t used = 0;

	if (all == NULL)
		return -ENOMEM;
	*maxdg = 0;
	for (unsigned p = 1; p <= parts; p++) {
		size_t n;
		int err = auditfwd_format(vid, seg, seq, b, len, p, 1795000000,
					  4242, all + used, AUDITFWD_DGRAM_MAX,
					  &n);

		if (err < 0) {
			free(all);
			return err;
		}
		if (n > *maxdg)
			*maxdg = n;
		used += n;
		all[used++] = '\n';
	}
	all[used] = '\0';
	*out = all;
	*outlen = used;
	return 0;
}

/* Feed '\n'-separated lines to c (in order, or reversed). */
static int feed(struct auditfwd_collector *c, const char *buf, size_t len,
		int reverse)
{
	const char *starts[64];
	size_t lens[64], n = 0;
	const char *p = buf, *end = buf + len;

	while (p < end && n < 64) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		starts[n] = p;
		lens[n++] = l;
		p += l + (nl ? 1 : 0);
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = reverse ? n - 1 - i : i;

		if (auditfwd_collector_add(c, starts[k], lens[k]) < 0)
			return -1;
	}
	return (int)n;
}

/* ---- format, parse, base64 ---- */

static void test_format_parse(void)
{
	static const size_t sizes[] = {
		AUDITREC_HEADER_BYTES, AUDITREC_FRAME_MIN, 600,
		AUDITFWD_PART_BYTES, AUDITFWD_PART_BYTES + 1, 4000,
		AUDITREC_FRAME_MAX,
	};
	uint8_t *b = malloc(AUDITREC_FRAME_MAX);
	char line[AUDITFWD_DGRAM_MAX];
	struct auditfwd_part p;
	size_t n;

	is_int(auditfwd_parts(1), 1, "1 byte: one part");
	is_int(auditfwd_parts(AUDITFWD_PART_BYTES), 1, "a full part");
	is_int(auditfwd_parts(AUDITFWD_PART_BYTES + 1), 2, "one more: two");
	is_int(auditfwd_parts(AUDITREC_FRAME_MAX), AUDITFWD_PARTS_MAX,
	       "the largest frame: AUDITFWD_PARTS_MAX parts");
	ok(AUDITFWD_PARTS_MAX == 11, "which is 11");

	seal_random(b, AUDITREC_FRAME_MAX);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct auditfwd_collector *c = NULL;
		const struct auditfwd_item *items;
		struct auditfwd_collect_stats st;
		size_t nitems = 0, len = sizes[i], alen, maxdg;
		char *all = NULL;
		int nl;

		ok(format_all(7, 99, b, len, &all, &alen, &maxdg) == 0,
		   "format %zu bytes", len);
		ok(maxdg <= AUDITFWD_DGRAM_MAX, "  datagrams <= %d bytes (%zu)",
		   AUDITFWD_DGRAM_MAX, maxdg);
		ok(auditfwd_collector_new(&c) == 0, "  collector");
		nl = feed(c, all, alen, i % 2);
		is_int(nl, (int)auditfwd_parts(len), "  %u lines fed%s",
		       auditfwd_parts(len), i % 2 ? " in reverse" : "");
		ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0 &&
		   nitems == 1 && st.incomplete == 0 && st.malformed == 0,
		   "  reassembled into one item");
		ok(nitems == 1 && items[0].len == len &&
		   memcmp(items[0].bytes, b, len) == 0 &&
		   items[0].segment == 7 && items[0].seq == 99 &&
		   memcmp(items[0].vault_id, vid, sizeof(vid)) == 0,
		   "  base64 round trip: the exact bytes, segment, seq, vault");
		auditfwd_collector_free(c);
		free(all);
	}

	/* The datagram's syslog header. */
	ok(auditfwd_format(vid, 3, 0, b, AUDITREC_HEADER_BYTES, 1, 1795000000,
			   77, line, sizeof(line), &n) == 0, "format a header");
	ok(strncmp(line, "<86>", 4) == 0 && line[19] == ' ' &&
	   strncmp(line + 20, "vaultfs-audit[77]: VFSAF1 "
		   "0123456789abcdeffedcba9876543210 3 0 ", 63) == 0,
	   "  <86>TIMESTAMP vaultfs-audit[PID]: VFSAF1 VAULT SEG SEQ ...: %.90s",
	   line);
	ok(strlen(line) == n && strchr(line, '\n') == NULL, "  one line, length");
	ok(auditfwd_parse_line(line, n, &p) == 0 && p.segment == 3 &&
	   p.seq == 0 && p.part == 1 && p.parts == 1 &&
	   p.len == AUDITREC_HEADER_BYTES &&
	   memcmp(p.data, b, AUDITREC_HEADER_BYTES) == 0, "  parses back");

	/* Errors. */
	is_int(auditfwd_format(vid, 3, 1, b, 0, 1, 0, 1, line, sizeof(line), &n),
	       -EINVAL, "format: empty item");
	is_int(auditfwd_format(vid, 3, 1, b, AUDITFWD_ITEM_MAX + 1, 1, 0, 1,
			       line, sizeof(line), &n), -EINVAL,
	       "format: item too large");
	is_int(auditfwd_format(vid, 3, 1, b, 100, 0, 0, 1, line, sizeof(line),
			       &n), -EINVAL, "format: part 0");
	is_int(auditfwd_format(vid, 3, 1, b, 100, 2, 0, 1, line, sizeof(line),
			       &n), -EINVAL, "format: part beyond the last");
	is_int(auditfwd_format(vid, 0, 1, b, 100, 1, 0, 1, line, sizeof(line),
			       &n), -EINVAL, "format: segment 0");
	is_int(auditfwd_format(vid, 3, 1, b, 1000, 1, 0, 1, line, 200, &n),
	       -ENOBUFS, "format: buffer too small");
	free(b);
}

/* A valid payload for the tamper cases: 4 bytes "abcd" as one part. */
#define GOOD "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/1 YWJjZA=="

static void test_parse_cases(void)
{
	static const struct {
		const char *line;
		int want;
		const char *what;
	} cases[] = {
		{ GOOD, 0, "payload alone (journalctl -o cat)" },
		{ "Nov 26 02:05:56 host vaultfs-audit[123]: " GOOD, 0,
		  "an rsyslog file line" },
		{ "{\"MESSAGE\":\"" GOOD "\",\"_PID\":\"1\"}", 0,
		  "inside a JSON export" },
		{ GOOD "\r", 0, "a CR at the end" },
		{ "VFSAF1 junk " GOOD, 0, "a bad marker, then a good one" },
		{ "Nov 26 host sshd[1]: Accepted publickey", -ENOENT,
		  "no marker" },
		{ "", -ENOENT, "empty line" },
		{ "VFSAF1 0123456789ABCDEFfedcba9876543210 5 17 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "upper-case hex" },
		{ "VFSAF1 0123456789abcdeffedcba98765432 5 17 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "short vault id" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 0 17 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "segment 0" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 x 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "seq not a number" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 99999999999999999999 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "seq overflows" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5  17 0011223344556677 1/1 YWJjZA==",
		  -EBADMSG, "two blanks" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 00112233445566 1/1 YWJjZA==",
		  -EBADMSG, "short id" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 0/1 YWJjZA==",
		  -EBADMSG, "part 0" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 2/1 YWJjZA==",
		  -EBADMSG, "part beyond parts" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 12/12 YWJjZA==",
		  -EBADMSG, "more parts than the largest frame needs" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/2 YWJjZA==",
		  -EBADMSG, "a short part that is not the last" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/1 YWJjZA=",
		  -EBADMSG, "base64 length not a multiple of 4" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/1 YWJj*A==",
		  -EBADMSG, "a character outside base64" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/1 YW=jZA==",
		  -EBADMSG, "padding in the middle" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17 0011223344556677 1/1 ",
		  -EBADMSG, "no data" },
		{ "VFSAF1 0123456789abcdeffedcba9876543210 5 17", -EBADMSG,
		  "cut short" },
	};
	struct auditfwd_part p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = auditfwd_parse_line(cases[i].line,
					    strlen(cases[i].line), &p);

		is_int(r, cases[i].want, "parse: %s", cases[i].what);
	}
	ok(auditfwd_parse_line(GOOD, strlen(GOOD), &p) == 0 && p.len == 4 &&
	   memcmp(p.data, "abcd", 4) == 0 && p.segment == 5 && p.seq == 17 &&
	   p.id[7] == 0x77, "parse: fields and data");
	/* Only len bytes are read: the marker cut off by the length. */
	is_int(auditfwd_parse_line(GOOD, 40, &p), -EBADMSG,
	       "parse: stops at len");

	/* Base64 of the longest part is accepted, one more is not. */
	{
		char *l = malloc(AUDITFWD_DGRAM_MAX + 8);
		uint8_t b[AUDITFWD_PART_BYTES * 2];
		size_t n;

		seal_random(b, sizeof(b));
		ok(auditfwd_format(vid, 1, 1, b, sizeof(b), 1, 0, 1, l,
				   AUDITFWD_DGRAM_MAX, &n) == 0 &&
		   auditfwd_parse_line(l, n, &p) == 0 &&
		   p.len == AUDITFWD_PART_BYTES, "a full part parses");
		memcpy(l + n, "AAAA", 4);
		is_int(auditfwd_parse_line(l, n + 4, &p), -EBADMSG,
		       "a part 4 base64 characters longer does not");
		free(l);
	}
}

/* ---- reassembly ---- */

static void test_collector(void)
{
	uint8_t a[3000], x[500], y[500];
	struct auditfwd_collector *c = NULL;
	const struct auditfwd_item *items;
	struct auditfwd_collect_stats st;
	char *la, *lx, *ly;
	size_t na, nx, ny, m, nitems;

	seal_random(a, sizeof(a));
	seal_random(x, sizeof(x));
	memcpy(y, x, sizeof(y));
	y[100] ^= 1;
	ok(format_all(2, 10, a, sizeof(a), &la, &na, &m) == 0 &&
	   format_all(2, 11, x, sizeof(x), &lx, &nx, &m) == 0 &&
	   format_all(2, 11, y, sizeof(y), &ly, &ny, &m) == 0,
	   "three items: a (3 parts), x and a conflicting y at the same seq");

	/* Interleaved, duplicated, with noise. */
	ok(auditfwd_collector_new(&c) == 0, "collector");
	{
		const char *nl1 = memchr(la, '\n', na);
		const char *nl2 = memchr(nl1 + 1, '\n', na - (size_t)(nl1 + 1 - la));
		int e = 0;

		e |= auditfwd_collector_add(c, "noise line", 10) < 0;
		e |= auditfwd_collector_add(c, nl1 + 1, (size_t)(nl2 - nl1 - 1)) < 0;
		e |= feed(c, lx, nx, 0) < 0;
		e |= auditfwd_collector_add(c, la, (size_t)(nl1 - la)) < 0;
		e |= feed(c, lx, nx, 0) < 0;	/* collected twice */
		e |= auditfwd_collector_add(c, "x VFSAF1 broken", 15) < 0;
		e |= auditfwd_collector_add(c, nl2 + 1,
					    (size_t)(la + na - nl2 - 2)) < 0;
		e |= feed(c, ly, ny, 0) < 0;
		ok(!e, "lines added");
	}
	ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0,
	   "finish");
	is_int(nitems, 3, "three items (a, x, y)");
	ok(nitems == 3 && items[0].seq == 10 && items[0].len == sizeof(a) &&
	   memcmp(items[0].bytes, a, sizeof(a)) == 0,
	   "a reassembled from interleaved parts");
	ok(nitems == 3 && items[1].seq == 11 &&
	   memcmp(items[1].bytes, x, sizeof(x)) == 0 && items[2].seq == 11 &&
	   memcmp(items[2].bytes, y, sizeof(y)) == 0 &&
	   items[1].line < items[2].line,
	   "a conflicting copy is kept, after the first one seen");
	is_int(st.duplicates, 1, "the repeated line counted as a duplicate");
	is_int(st.malformed, 1, "the broken line counted as malformed");
	is_int(st.lines, 8, "lines counted");
	is_int(st.incomplete, 0, "nothing incomplete");
	auditfwd_collector_free(c);

	/* A missing part, an altered part, a single part with a wrong id. */
	ok(auditfwd_collector_new(&c) == 0, "collector");
	{
		char *nl1 = memchr(la, '\n', na);
		char *alt = strdup(lx);
		char *b64 = strrchr(alt, ' ') + 1;

		/* "AAAA" decodes to 3 zero bytes: changed data, valid base64 */
		memcpy(b64 + 8, b64[8] == 'A' ? "BBBB" : "AAAA", 4);
		ok(feed(c, nl1 + 1, strlen(nl1 + 1), 0) == 2 &&
		   auditfwd_collector_add(c, alt, strlen(alt) - 1) >= 0,
		   "parts 2 and 3 of a, and an altered x");
		free(alt);
	}
	ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0 &&
	   nitems == 0 && st.incomplete == 2,
	   "a missing part and altered bytes: no item, 2 incomplete");
	auditfwd_collector_free(c);
	free(la);
	free(lx);
	free(ly);
}

/* ---- the auditlog hook ---- */

struct capture {
	uint8_t *buf[8];	/* per segment number 1..7 */
	size_t len[8];
	uint64_t last_seq;
	int order_errors;
	int calls;
};

static void capture_copy(void *arg, uint64_t segment, uint64_t seq,
			 const uint8_t *bytes, size_t len)
{
	struct capture *c = arg;
	uint8_t *nb;

	c->calls++;
	if (segment == 0 || segment > 7) {
		c->order_errors++;
		return;
	}
	/* header first (seq 0, empty so far), then rising seqs */
	if ((seq == 0) != (c->len[segment] == 0) ||
	    (seq != 0 && seq != c->last_seq + 1)) {
		c->order_errors++;
	}
	if (seq != 0)
		c->last_seq = seq;
	nb = realloc(c->buf[segment], c->len[segment] + len);
	if (nb == NULL)
		abort();
	memcpy(nb + c->len[segment], bytes, len);
	c->buf[segment] = nb;
	c->len[segment] += len;
}

static int same_as_file(int dfd, uint64_t seg, const uint8_t *b, size_t len)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct stat st;
	uint8_t *f;
	int fd, same;

	auditrec_segment_name(seg, name);
	fd = openat(dfd, name, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size != len) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	f = malloc(len);
	same = f && read(fd, f, len) == (ssize_t)len && !memcmp(f, b, len);
	free(f);
	close(fd);
	return same;
}

static void fill(struct audit_record *r, unsigned i, char *path, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->event = i % 2 ? AUDIT_EV_OPEN : AUDIT_EV_CLOSE;
	r->uid = 1000;
	r->pid = 100 + i;
	snprintf(path, cap, "/secret-project/doc-%u.txt", i);
	r->path = path;
	r->comm = "cat";
}

static int make_dir(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	if (mkdir(path, 0700) < 0)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_hook(void)
{
	struct capture cap = { 0 };
	struct auditlog_options o = {
		.kind = AUDIT_SEG_MOUNT, .max_segment_bytes = 4096,
		.copy = capture_copy, .copy_arg = &cap,
	};
	struct audit_record r;
	struct auditlog *log = NULL;
	char path[64];
	int dfd = make_dir("hook"), err = 0, all = 1;
	uint64_t nseg = 0;

	ok(auditlog_open(dfd, &vs, &o, &log) == 0, "open with a copy hook");
	is_int(cap.calls, 1, "the header is copied at once");
	for (unsigned i = 0; i < 60; i++) {
		fill(&r, i, path, sizeof(path));
		err |= auditlog_append(log, &r, NULL);
	}
	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_UNMOUNT;
	err |= auditlog_close(log, &r);
	ok(err == 0, "60 appends with rotation every 4 KiB, close");
	for (uint64_t s = 1; s < 8; s++)
		if (cap.len[s] > 0)
			nseg = s;
	ok(nseg >= 3, "several segments (%llu)", (unsigned long long)nseg);
	is_int(cap.order_errors, 0, "copies in log order: header, then seqs");
	for (uint64_t s = 1; s <= nseg; s++)
		all &= same_as_file(dfd, s, cap.buf[s], cap.len[s]);
	ok(all, "the copies are byte for byte the segment files (headers, "
	   "records, end and unmount records)");
	for (uint64_t s = 1; s <= nseg; s++)
		all &= memmem(cap.buf[s], cap.len[s], "secret-project", 14) == NULL;
	ok(all, "no plaintext in what is copied");
	for (int s = 0; s < 8; s++)
		free(cap.buf[s]);
	close(dfd);
}

/* ---- the sender ---- */

static int bind_sink(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read every queued datagram into c; returns how many. */
static int drain(int fd, struct auditfwd_collector *c)
{
	static char buf[65536];
	int n = 0;
	ssize_t got;

	while ((got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (got > AUDITFWD_DGRAM_MAX)
			return -1000;
		if (auditfwd_collector_add(c, buf, (size_t)got) < 0)
			return -1000;
		n++;
	}
	return n;
}

/* Send what is queued while the test reads the receiver; items read. */
static int pump(struct auditfwd *f, int sfd, struct auditfwd_collector *c)
{
	int n = 0, got, rounds = 0;
	uint64_t left;

	do {
		left = auditfwd_flush(f, 20);
		got = drain(sfd, c);
		if (got < 0)
			return -1;
		n += got;
	} while ((left > 0 || got > 0) && ++rounds < 2000);
	return n;
}

static void test_sender(void)
{
	char sock[256], big[200];
	uint8_t item[13000];
	struct auditfwd *f = NULL;
	struct auditfwd_collector *c = NULL;
	const struct auditfwd_item *items;
	struct auditfwd_collect_stats st;
	uint64_t fw = 0, dr = 0, left;
	size_t nitems;
	double t0;
	int sfd, n;

	snprintf(sock, sizeof(sock), "%s/log.sock", tmpdir);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	is_int(auditfwd_open(big, vid, &f), -EINVAL,
	       "open: a path longer than a socket address");
	ok(f == NULL, "  nothing returned");

	/* No socket: counted as dropped, quickly. */
	ok(auditfwd_open(sock, vid, &f) == 0, "open with no socket there");
	ok(auditfwd_start(f) == 0, "start the sender");
	is_int(auditfwd_start(f), -EALREADY, "  only once");
	seal_random(item, sizeof(item));
	t0 = now_s();
	for (int i = 1; i <= 100; i++)
		auditfwd_copy(f, 1, (uint64_t)i, item, 300);
	is_int(auditfwd_flush(f, 2000), 0, "no socket: nothing left queued");
	auditfwd_counts(f, &fw, &dr);
	ok(fw == 0 && dr == 100, "  100 dropped, 0 forwarded (%llu, %llu)",
	   (unsigned long long)dr, (unsigned long long)fw);
	ok(now_s() - t0 < 0.5, "  without waiting");

	/* The receiver appears: used after the retry interval. */
	sfd = bind_sink(sock);
	ok(sfd >= 0, "bind a receiver");
	usleep(1100 * 1000);
	ok(auditfwd_collector_new(&c) == 0, "collector");
	auditfwd_copy(f, 1, 101, item, 300);
	auditfwd_copy(f, 1, 102, item, 5000);
	n = pump(f, sfd, c);
	auditfwd_counts(f, &fw, &dr);
	ok(fw == 2 && dr == 100, "connected: both forwarded");
	is_int(n, 1 + (int)auditfwd_parts(5000),
	       "one datagram, then four for the 5000-byte item");
	ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0 &&
	   nitems == 2 && items[0].seq == 101 && items[0].len == 300 &&
	   items[1].seq == 102 && items[1].len == 5000 &&
	   memcmp(items[1].bytes, item, 5000) == 0,
	   "the receiver reassembles both");
	auditfwd_collector_free(c);

	/* The receiver restarts (new socket): reconnected at once. */
	close(sfd);
	sfd = bind_sink(sock);
	ok(auditfwd_collector_new(&c) == 0, "collector");
	auditfwd_copy(f, 1, 103, item, 300);
	n = pump(f, sfd, c);
	auditfwd_counts(f, &fw, &dr);
	ok(fw == 3 && dr == 100 && n == 1,
	   "receiver restarted: reconnected, forwarded");
	auditfwd_collector_free(c);

	/* A burst while the receiver does not read: queued, not dropped. */
	t0 = now_s();
	for (int i = 0; i < 2000; i++)
		auditfwd_copy(f, 2, 1 + (uint64_t)i, item, 300);
	ok(now_s() - t0 < 1.0, "2000 copies to a receiver that does not read "
	   "return at once (%.3f s)", now_s() - t0);
	left = auditfwd_flush(f, 300);
	ok(left > 1000, "  most are still queued (%llu)",
	   (unsigned long long)left);
	ok(auditfwd_collector_new(&c) == 0, "collector");
	n = pump(f, sfd, c);
	auditfwd_counts(f, &fw, &dr);
	ok(n == 2000 && fw == 2003 && dr == 100,
	   "  when it reads again, all 2000 arrive, none dropped (%d; %llu, "
	   "%llu)", n, (unsigned long long)fw, (unsigned long long)dr);
	ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0 &&
	   nitems == 2000 && items[0].seq == 1 && items[1999].seq == 2000,
	   "  in order");
	auditfwd_collector_free(c);

	/* More than the queue holds: the rest is dropped, never blocks. */
	t0 = now_s();
	for (int i = 0; i < 400; i++)
		auditfwd_copy(f, 3, 1 + (uint64_t)i, item, sizeof(item));
	auditfwd_counts(f, &fw, &dr);
	/* the receiver's own queue and one in flight take a few more */
	ok(dr - 100 + 20 >= 400 - AUDITFWD_QUEUE_BYTES / sizeof(item) &&
	   dr - 100 < 400, "a full queue drops (%llu of 400)",
	   (unsigned long long)(dr - 100));
	ok(now_s() - t0 < 1.0, "  without blocking (%.3f s)", now_s() - t0);
	t0 = now_s();
	auditfwd_free(f);
	ok(now_s() - t0 < 3.0, "free with a stalled receiver gives up soon "
	   "(%.3f s)", now_s() - t0);
	close(sfd);

	/* Without the thread: flush and free send what is queued. */
	sfd = bind_sink(sock);
	ok(auditfwd_open(sock, vid, &f) == 0, "a sender without its thread");
	ok(auditfwd_collector_new(&c) == 0, "collector");
	auditfwd_copy(f, 4, 1, item, 300);
	auditfwd_copy(f, 4, 2, item, 300);
	is_int(auditfwd_flush(f, 0), 0, "  flush sends at once");
	auditfwd_counts(f, &fw, &dr);
	ok(fw == 2 && dr == 0 && drain(sfd, c) == 2, "  both forwarded");
	auditfwd_copy(f, 4, 3, item, 300);
	auditfwd_free(f);
	ok(drain(sfd, c) == 1, "  free sends the last one");
	auditfwd_collector_free(c);
	close(sfd);
	unlink(sock);
	auditfwd_free(NULL);
}

/* The hook and the sender together: what arrives is the segment file. */
static void test_end_to_end(void)
{
	char sock[256], path[64];
	struct auditfwd *f = NULL;
	struct auditfwd_collector *c = NULL;
	const struct auditfwd_item *items;
	struct auditfwd_collect_stats st;
	struct auditlog *log = NULL;
	struct audit_record r;
	size_t nitems = 0, total = 0;
	uint8_t *cat = NULL;
	int dfd = make_dir("e2e"), sfd, err = 0, ok_order = 1;
	char longpath[5000];

	snprintf(sock, sizeof(sock), "%s/e2e.sock", tmpdir);
	sfd = bind_sink(sock);
	ok(sfd >= 0 && auditfwd_open(sock, vs.vault_id, &f) == 0,
	   "receiver and sender");
	ok(auditlog_open(dfd, &vs, &(struct auditlog_options){
			.copy = auditfwd_copy, .copy_arg = f }, &log) == 0,
	   "log forwarding through auditfwd_copy");
	ok(auditfwd_start(f) == 0, "start the sender after the header");
	ok(auditfwd_collector_new(&c) == 0, "collector");
	for (unsigned i = 0; i < 40; i++) {
		fill(&r, i, path, sizeof(path));
		if (i == 5) {
			/* a large record: several datagrams */
			memset(longpath, 'p', sizeof(longpath) - 1);
			longpath[0] = '/';
			longpath[sizeof(longpath) - 1] = '\0';
			r.path = longpath;
		}
		err |= auditlog_append(log, &r, NULL);
	}
	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_UNMOUNT;
	err |= auditlog_close(log, &r);
	ok(err == 0, "40 records, one of them 4 KiB, and close");
	ok(pump(f, sfd, c) >= 42, "the datagrams arrive");
	ok(auditfwd_collector_finish(c, &items, &nitems, &st) == 0 &&
	   nitems == 42 && st.incomplete == 0, "header and 41 records arrive");
	for (size_t i = 0; i < nitems; i++) {
		uint8_t *nb = realloc(cat, total + items[i].len);

		if (nb == NULL)
			abort();
		cat = nb;
		memcpy(cat + total, items[i].bytes, items[i].len);
		total += items[i].len;
		ok_order &= items[i].seq == i && items[i].segment == 1 &&
			    !memcmp(items[i].vault_id, vs.vault_id, 16);
	}
	ok(ok_order, "in order: header (seq 0), then seq 1..41");
	ok(same_as_file(dfd, 1, cat, total),
	   "header and frames, reassembled, are the segment file");
	free(cat);
	auditfwd_collector_free(c);
	auditfwd_free(f);
	close(sfd);
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

	test_format_parse();
	test_parse_cases();
	test_collector();
	test_hook();
	test_sender();
	test_end_to_end();
	rm_tree(tmpdir);
	return done_testing();
}
