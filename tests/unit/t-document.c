/*
 * t-document.c - document.h on real temp files with a real key store:
 * edge cases, a model-based random test, tampering, torn writes, punching.
 */
#include "../../vaultfs/document.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/log.h"
#include "../tap.h"

static char tmpdir[256];
static int file_no;

/* xorshift64*: fixed seeds, reproducible runs */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void fill_rnd(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void fill_text(uint8_t *p, size_t n, unsigned salt)
{
	static const char s[] = "lorem ipsum dolor sit amet, consectetur ";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(s[(i + salt) % (sizeof(s) - 1)]);
}

static struct keystore *make_ks(uint32_t cs)
{
	struct vault_settings s;
	struct keystore *ks = NULL;
	char dir[300];
	int r;

	memset(&s, 0, sizeof(s));
	s.chunk_size = cs;
	s.compress_level = 3;
	snprintf(dir, sizeof(dir), "%s/vault-%d", tmpdir, file_no++);
	if (mkdir(dir, 0700) < 0) {
		perror("mkdir");
		exit(1);
	}
	r = keystore_create(dir, "test pass", 9, KEYSTORE_KDF_INTERACTIVE, &s,
			    &ks);
	if (r < 0) {
		printf("# keystore_create: %s\n", strerror(-r));
		exit(1);
	}
	return ks;
}

static int new_file(void)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/doc%d", tmpdir, file_no++);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("open");
		exit(1);
	}
	return fd;
}

static struct doc *create(int fd, const struct keystore *ks)
{
	struct doc *d = NULL;
	int r = doc_create(fd, ks, &d);

	if (r < 0) {
		printf("# doc_create: %s\n", strerror(-r));
		exit(1);
	}
	return d;
}

static struct doc *reopen(struct doc *d, int fd, const struct keystore *ks)
{
	int r;

	if (d && (r = doc_close(d)) < 0)
		printf("# doc_close: %s\n", strerror(-r));
	d = NULL;
	r = doc_open(fd, ks, &d);
	if (r < 0) {
		printf("# doc_open: %s\n", strerror(-r));
		return NULL;
	}
	return d;
}

/* Whole content equals want[0, size). */
static bool content_is(struct doc *d, const uint8_t *want, uint64_t size)
{
	uint8_t *buf = malloc(size + 100);
	size_t got = 0;
	bool okay;
	int r;

	r = doc_read(d, buf, size + 100, 0, &got);
	okay = r == 0 && got == size && doc_size(d) == size &&
	       memcmp(buf, want, size) == 0;
	if (!okay)
		diag("content: r=%d got=%zu size=%llu want %llu", r, got,
		     (unsigned long long)doc_size(d), (unsigned long long)size);
	free(buf);
	return okay;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int read_at(struct doc *d, void *buf, size_t len, uint64_t off,
		   size_t *got)
{
	return doc_read(d, buf, len, off, got);
}

static uint64_t slot_gen(int fd, uint32_t cs, uint64_t i, int s)
{
	uint8_t h[48];
	uint64_t g = 0;

	if (pread(fd, h, sizeof(h), (off_t)container_slot_offset(cs, i, s)) !=
	    sizeof(h))
		return 0;
	for (int k = 7; k >= 0; k--)
		g = g << 8 | h[8 + k];
	return g;
}

static bool slot_empty(int fd, uint32_t cs, uint64_t i, int s)
{
	uint8_t h[48];
	ssize_t n = pread(fd, h, sizeof(h),
			  (off_t)container_slot_offset(cs, i, s));

	return n <= 0 || all_zero(h, (size_t)n);
}

static void test_basics(const struct keystore *ks, uint32_t cs)
{
	int fd = new_file();
	struct doc *d = create(fd, ks);
	uint8_t *data = malloc(3 * cs + 10), *buf = malloc(3 * cs + 10);
	size_t got = 99;
	uint64_t size = 1;
	struct stat st;
	size_t lens[] = { 1, cs - 1, cs, cs + 1, 2 * cs - 1, 2 * cs,
			  2 * cs + 1, 3 * cs };

	is_int(doc_size(d), 0, "cs %u: new doc is empty", cs);
	is_int(read_at(d, buf, 10, 0, &got), 0, "read empty");
	is_int(got, 0, "read empty: nothing");
	fstat(fd, &st);
	is_int(st.st_size, CONTAINER_DATA_OFFSET, "new file: header only");
	d = reopen(d, fd, ks);
	ok(d && doc_size(d) == 0, "reopened empty doc");
	is_int(doc_peek_size(fd, ks, &size, NULL), 0, "peek size");
	is_int(size, 0, "peek size 0");
	is_int(doc_close(d), 0, "close");

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k];

		fd = new_file();
		d = create(fd, ks);
		fill_rnd(data, n);
		is_int(doc_write(d, data, n, 0), 0, "write %zu", n);
		ok(content_is(d, data, n), "read back %zu", n);
		d = reopen(d, fd, ks);
		ok(d && content_is(d, data, n), "read back %zu after reopen",
		   n);
		/* reads around each chunk boundary */
		for (uint64_t b = cs; d && b <= n + 1; b += cs) {
			size_t want = b + 1 <= n ? 2 : n > b - 1 ? n - (b - 1)
								    : 0;

			memset(buf, 0xEE, 4);
			is_int(read_at(d, buf, 2, b - 1, &got), 0,
			       "read at %llu", (unsigned long long)(b - 1));
			ok(got == want && memcmp(buf, data + b - 1, got) == 0,
			   "boundary %llu: %zu bytes", (unsigned long long)b,
			   got);
		}
		is_int(doc_peek_size(fd, ks, &size, NULL), 0, "peek");
		is_int(size, n, "peek size %zu", n);
		doc_close(d);
		close(fd);
	}

	/* write in pieces across chunk boundaries, unaligned */
	fd = new_file();
	d = create(fd, ks);
	fill_rnd(data, 3 * cs);
	for (size_t off = 0; off < 3 * cs; off += 777) {
		size_t n = 3 * cs - off < 777 ? 3 * cs - off : 777;

		if (doc_write(d, data + off, n, off) != 0)
			break;
	}
	ok(content_is(d, data, 3 * cs), "777-byte pieces");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, data, 3 * cs), "777-byte pieces after reopen");
	doc_close(d);
	close(fd);
	free(data);
	free(buf);
}

static void test_sparse(const struct keystore *ks, uint32_t cs)
{
	int fd = new_file();
	struct doc *d = create(fd, ks);
	uint64_t far = 100ULL * cs + 5;
	uint8_t *buf = malloc(2 * cs), a[10], b[10];
	size_t got;
	struct stat st;
	bool zeros = true;

	fill_rnd(a, 10);
	fill_rnd(b, 10);
	is_int(doc_write(d, a, 10, 0), 0, "sparse: write at 0");
	is_int(doc_write(d, b, 10, far), 0, "sparse: write far");
	is_int(doc_size(d), far + 10, "sparse size");
	for (int pass = 0; pass < 2; pass++) {
		zeros = true;
		for (uint64_t off = 10; off < far; off += cs) {
			size_t n = far - off < cs ? far - off : cs;

			if (read_at(d, buf, n, off, &got) != 0 || got != n ||
			    !all_zero(buf, n))
				zeros = false;
		}
		ok(zeros, "sparse: zeros in between (pass %d)", pass);
		ok(read_at(d, buf, 20, far, &got) == 0 && got == 10 &&
		   memcmp(buf, b, 10) == 0, "sparse: data at the end");
		ok(read_at(d, buf, 10, 0, &got) == 0 && got == 10 &&
		   memcmp(buf, a, 10) == 0, "sparse: data at 0");
		d = reopen(d, fd, ks);
		if (!d)
			break;
	}
	fstat(fd, &st);
	ok((uint64_t)st.st_blocks * 512 < 8 * (uint64_t)cs + 65536,
	   "sparse file stays small (%lld blocks)", (long long)st.st_blocks);
	is_int(doc_verify(d, NULL, NULL), 0, "sparse doc verifies");

	/* truncate up far, then read the end */
	is_int(doc_truncate(d, 1ULL << 40), 0, "truncate up to 1 TiB");
	ok(read_at(d, buf, 100, (1ULL << 40) - 50, &got) == 0 && got == 50 &&
	   all_zero(buf, 50), "end of 1 TiB hole reads zeros");
	d = reopen(d, fd, ks);
	ok(d && doc_size(d) == 1ULL << 40, "1 TiB size after reopen");
	ok(d && read_at(d, buf, 10, far, &got) == 0 && got == 10 &&
	   memcmp(buf, b, 10) == 0, "old data still there");
	fstat(fd, &st);
	ok((uint64_t)st.st_size <= container_slot_offset(cs, 101, 0),
	   "backing file not grown by holes");
	doc_close(d);
	close(fd);
	free(buf);
}

static void test_truncate(const struct keystore *ks, uint32_t cs)
{
	int fd = new_file();
	struct doc *d = create(fd, ks);
	uint64_t n = 3 * cs;
	uint8_t *data = malloc(n), *want = calloc(1, n);
	struct stat st;

	fill_rnd(data, n);
	is_int(doc_write(d, data, n, 0), 0, "trunc: write 3 chunks");
	is_int(doc_truncate(d, cs + 100), 0, "truncate down mid-chunk");
	is_int(doc_size(d), cs + 100, "size after truncate down");
	is_int(doc_truncate(d, n), 0, "truncate up again");
	memcpy(want, data, cs + 100);
	ok(content_is(d, want, n), "truncated bytes read as zeros");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, want, n), "... after reopen");
	fstat(fd, &st);

	/* down and up inside one chunk, with the chunk on disk only */
	is_int(doc_truncate(d, 50), 0, "truncate to 50");
	d = reopen(d, fd, ks);
	is_int(doc_truncate(d, cs / 2), 0, "truncate up within the chunk");
	memset(want + 50, 0, n - 50);
	ok(content_is(d, want, cs / 2), "old bytes do not come back");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, want, cs / 2), "... after reopen");
	fstat(fd, &st);
	ok((uint64_t)st.st_size <= container_slot_offset(cs, 1, 0),
	   "backing file cut to one slot pair");

	is_int(doc_truncate(d, cs / 2), 0, "truncate to the same size");
	is_int(doc_truncate(d, 0), 0, "truncate to 0");
	fstat(fd, &st);
	is_int(st.st_size, CONTAINER_DATA_OFFSET, "backing file header only");
	d = reopen(d, fd, ks);
	ok(d && doc_size(d) == 0, "size 0 after reopen");
	is_int(doc_truncate(d, 5), 0, "truncate 0 -> 5");
	ok(content_is(d, want + n - 5, 5), "5 zero bytes");
	is_int(doc_truncate(d, DOC_MAX_SIZE + 1), -EFBIG, "truncate EFBIG");
	is_int(doc_write(d, data, 1, DOC_MAX_SIZE), -EFBIG, "write EFBIG");
	is_int(doc_write(d, data, 0, 7), 0, "empty write");
	is_int(doc_size(d), 5, "empty write does not extend");
	doc_close(d);
	close(fd);
	free(data);
	free(want);
}

/* Random operations against an in-memory model. */
static void test_model(const struct keystore *ks, uint32_t cs, int ops,
		       uint64_t seed)
{
	uint64_t max = 12ULL * cs, size = 0;
	uint8_t *model = calloc(1, max), *buf = malloc(max), *src = malloc(max);
	int fd = new_file();
	struct doc *d = create(fd, ks);
	int fails = 0, reads = 0, reopens = 0;

	rng_state = seed;
	for (int op = 0; op < ops && d && fails < 5; op++) {
		unsigned kind = (unsigned)rnd_below(100);
		uint64_t off, len;
		size_t got;
		int r;

		if (kind < 40) {		/* write */
			switch (rnd_below(4)) {
			case 0:	/* small */
				len = rnd_below(64) + 1;
				off = rnd_below(max - len);
				break;
			case 1:	/* aligned whole chunks */
				len = (rnd_below(3) + 1) * cs;
				off = rnd_below(max / cs - 3) * cs;
				break;
			case 2:	/* around the end of the file */
				len = rnd_below(cs) + 1;
				off = size + rnd_below(2 * cs);
				if (off > cs)
					off -= cs;
				if (off + len > max)
					off = max - len;
				break;
			default:
				len = rnd_below(3 * cs) + 1;
				off = rnd_below(max - len);
				break;
			}
			if (rnd_below(3) == 0)
				fill_text(src, len, (unsigned)op);
			else
				fill_rnd(src, len);
			r = doc_write(d, src, len, off);
			if (r != 0) {
				diag("op %d: write %llu@%llu: %d", op,
				     (unsigned long long)len,
				     (unsigned long long)off, r);
				fails++;
			}
			memcpy(model + off, src, len);
			if (off + len > size)
				size = off + len;
		} else if (kind < 70) {		/* read */
			off = rnd_below(size + 10);
			len = rnd_below(rnd_below(2) ? 3 * cs : 100) + 1;
			if (off > max)
				off = max;
			if (off + len > max)
				len = max - off;
			memset(buf, 0xA5, len);
			r = doc_read(d, buf, len, off, &got);
			reads++;
			{
				size_t want = off >= size ? 0 :
					      size - off < len ? size - off :
					      len;

				if (r != 0 || got != want ||
				    memcmp(buf, model + off, want) != 0) {
					diag("op %d: read %llu@%llu: r %d got "
					     "%zu want %zu", op,
					     (unsigned long long)len,
					     (unsigned long long)off, r, got,
					     want);
					fails++;
				}
			}
		} else if (kind < 82) {		/* truncate */
			uint64_t ns = rnd_below(2) ? rnd_below(size + 1) :
				      rnd_below(max + 1);

			r = doc_truncate(d, ns);
			if (r != 0) {
				diag("op %d: truncate %llu: %d", op,
				     (unsigned long long)ns, r);
				fails++;
			}
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		} else if (kind < 92) {
			r = doc_flush(d);
			if (r != 0) {
				diag("op %d: flush %d", op, r);
				fails++;
			}
		} else if (kind < 93) {
			r = doc_sync(d, rnd_below(2));
			if (r != 0) {
				diag("op %d: sync %d", op, r);
				fails++;
			}
		} else {
			d = reopen(d, fd, ks);
			reopens++;
			if (!d || !content_is(d, model, size)) {
				diag("op %d: content after reopen", op);
				fails++;
			}
		}
		if (d && doc_size(d) != size) {
			diag("op %d: size %llu want %llu", op,
			     (unsigned long long)doc_size(d),
			     (unsigned long long)size);
			fails++;
		}
	}
	is_int(fails, 0, "cs %u: %d random ops (%d reads, %d reopens) match "
	       "the model", cs, ops, reads, reopens);
	ok(d && content_is(d, model, size), "final content");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, model, size), "final content after reopen");
	is_int(d ? doc_verify(d, NULL, NULL) : -1, 0, "final doc verifies");
	doc_close(d);
	close(fd);
	free(model);
	free(buf);
	free(src);
}

struct bad_list {
	int n;
	uint64_t idx[8];
};

static void note_bad(uint64_t index, int error, void *arg)
{
	struct bad_list *b = arg;

	if (b->n < 8)
		b->idx[b->n] = index;
	b->n++;
	(void)error;
}

/* A doc of nch chunks of random data, closed; returns its fd. */
static int make_doc(const struct keystore *ks, uint32_t cs, uint8_t *data,
		    size_t nch)
{
	int fd = new_file();
	struct doc *d = create(fd, ks);

	fill_rnd(data, nch * cs);
	if (doc_write(d, data, nch * cs, 0) != 0 || doc_close(d) != 0)
		exit(1);
	return fd;
}

static void copy_range(int from, int to, off_t src, off_t dst, size_t n)
{
	uint8_t *b = calloc(1, n);
	ssize_t got = pread(from, b, n, src);

	if (got < 0 || pwrite(to, b, n, dst) != (ssize_t)n)
		exit(1);
	free(b);
}

static void test_tamper(const struct keystore *ks, const struct keystore *ks2)
{
	const uint32_t cs = 4096;
	size_t sb = container_slot_bytes(cs), got;
	uint8_t *data = malloc(4 * cs), *buf = malloc(4 * cs);
	uint8_t *zero = calloc(1, 2 * sb);
	struct bad_list bl = { 0 };
	struct doc *d;
	int fd, fd2;

	/* zero both slots of chunk 1 */
	fd = make_doc(ks, cs, data, 4);
	if (pwrite(fd, zero, 2 * sb, (off_t)container_slot_offset(cs, 1, 0)) < 0)
		exit(1);
	d = reopen(NULL, fd, ks);
	memset(buf, 0x11, cs);
	is_int(read_at(d, buf, cs, cs, &got), -EBADMSG,
	       "zeroed chunk: EBADMSG, not zeros");
	ok(all_zero(buf, cs), "zeroed chunk: buffer cleared");
	is_int(read_at(d, buf, 10, cs + 5, &got), -EBADMSG,
	       "zeroed chunk: partial read EBADMSG");
	ok(read_at(d, buf, cs, 0, &got) == 0 && memcmp(buf, data, cs) == 0,
	   "neighbour chunk intact");
	is_int(read_at(d, buf, 2 * cs, cs / 2, &got), -EBADMSG,
	   "read spanning the bad chunk fails");
	is_int(doc_verify(d, note_bad, &bl), -EBADMSG, "verify finds it");
	ok(bl.n == 1 && bl.idx[0] == 1, "verify names chunk 1");
	doc_close(d);
	close(fd);

	/* cut the backing file's tail */
	fd = make_doc(ks, cs, data, 4);
	if (ftruncate(fd, (off_t)container_slot_offset(cs, 3, 0)) < 0)
		exit(1);
	d = reopen(NULL, fd, ks);
	is_int(read_at(d, buf, cs, 3 * cs, &got), -EBADMSG,
	       "cut tail: EBADMSG");
	bl.n = 0;
	is_int(doc_verify(d, note_bad, &bl), -EBADMSG, "cut tail: verify");
	ok(bl.n == 1 && bl.idx[0] == 3, "verify names chunk 3");
	doc_close(d);
	close(fd);

	/* swap chunks 1 and 2 */
	fd = make_doc(ks, cs, data, 4);
	{
		uint8_t *p1 = malloc(2 * sb), *p2 = malloc(2 * sb);

		if (pread(fd, p1, 2 * sb, (off_t)container_slot_offset(cs, 1, 0)) < 0 ||
		    pread(fd, p2, 2 * sb, (off_t)container_slot_offset(cs, 2, 0)) < 0 ||
		    pwrite(fd, p2, 2 * sb, (off_t)container_slot_offset(cs, 1, 0)) < 0 ||
		    pwrite(fd, p1, 2 * sb, (off_t)container_slot_offset(cs, 2, 0)) < 0)
			exit(1);
		free(p1);
		free(p2);
	}
	d = reopen(NULL, fd, ks);
	is_int(read_at(d, buf, cs, cs, &got), -EBADMSG, "swapped chunk 1");
	is_int(read_at(d, buf, cs, 2 * cs, &got), -EBADMSG, "swapped chunk 2");
	ok(read_at(d, buf, cs, 3 * cs, &got) == 0 &&
	   memcmp(buf, data + 3 * cs, cs) == 0, "chunk 3 fine");
	doc_close(d);
	close(fd);

	/* the same chunk from another document of the same vault */
	fd = make_doc(ks, cs, data, 4);
	fd2 = make_doc(ks, cs, buf, 4);
	copy_range(fd2, fd, (off_t)container_slot_offset(cs, 2, 0),
		   (off_t)container_slot_offset(cs, 2, 0), 2 * sb);
	d = reopen(NULL, fd, ks);
	is_int(read_at(d, buf, cs, 2 * cs, &got), -EBADMSG,
	       "chunk from another document");
	doc_close(d);
	close(fd2);

	/* header slots */
	fd2 = new_file();
	copy_range(fd, fd2, 0, 0, 4 * sb + 4096 * 2);
	{
		uint8_t x = 0;

		if (pread(fd, &x, 1, 2048 + 200) != 1)
			exit(1);
		x ^= 1;
		if (pwrite(fd, &x, 1, 2048 + 200) != 1)
			exit(1);
	}
	d = reopen(NULL, fd, ks);
	ok(d != NULL, "newest header slot damaged: opens via the other");
	ok(d && read_at(d, buf, cs, 0, &got) == 0 &&
	   memcmp(buf, data, cs) == 0, "... and reads");
	/* flush rewrites both header slots */
	if (d) {
		is_int(doc_truncate(d, 4 * cs - 1), 0, "change the size");
		doc_close(d);
	}
	d = reopen(NULL, fd, ks);
	ok(d && doc_size(d) == 4 * cs - 1, "header rewritten after damage");
	doc_close(d);
	{
		uint8_t x[2];

		if (pread(fd2, x, 1, 300) != 1 || pread(fd2, x + 1, 1, 2048 + 300) != 1)
			exit(1);
		x[0] ^= 0x40;
		x[1] ^= 0x40;
		if (pwrite(fd2, x, 1, 300) != 1 || pwrite(fd2, x + 1, 1, 2048 + 300) != 1)
			exit(1);
	}
	d = NULL;
	is_int(doc_open(fd2, ks, &d), -EBADMSG, "both header slots damaged");
	{
		uint64_t size;

		is_int(doc_peek_size(fd2, ks, &size, NULL), -EBADMSG,
		       "peek size fails too");
	}
	close(fd2);
	is_int(doc_open(fd, ks2, &d), -EBADMSG, "another vault's key store");
	close(fd);

	/* chunks inside / outside hole extents */
	fd = new_file();
	d = create(fd, ks);
	fill_rnd(data, cs);
	if (doc_write(d, data, cs, 0) || doc_write(d, data, cs, 10 * cs))
		exit(1);
	doc_close(d);
	/* a real frame copied into the hole at chunk 5 is ignored */
	copy_range(fd, fd, (off_t)container_slot_offset(cs, 0, 0),
		   (off_t)container_slot_offset(cs, 5, 0), 2 * sb);
	d = reopen(NULL, fd, ks);
	ok(read_at(d, buf, cs, 5 * cs, &got) == 0 && all_zero(buf, cs),
	   "chunk in a hole extent reads zeros");
	doc_close(d);
	if (pwrite(fd, zero, 2 * sb, (off_t)container_slot_offset(cs, 10, 0)) < 0)
		exit(1);
	d = reopen(NULL, fd, ks);
	is_int(read_at(d, buf, cs, 10 * cs, &got), -EBADMSG,
	       "empty chunk outside the holes: EBADMSG");
	is_int(doc_verify(d, NULL, NULL), -EBADMSG, "verify sees it");
	doc_close(d);
	close(fd);

	free(data);
	free(buf);
	free(zero);
}

/* A torn header page: one slot old, one new -> the new header wins. */
static void test_torn_header(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	uint8_t *data = malloc(2 * cs), h1[4096], h2[4096];
	struct doc *d;
	int fd = make_doc(ks, cs, data, 2);

	if (pread(fd, h1, sizeof(h1), 0) != sizeof(h1))
		exit(1);
	d = reopen(NULL, fd, ks);
	is_int(d ? doc_truncate(d, 5) : -1, 0, "truncate to 5");
	doc_close(d);
	if (pread(fd, h2, sizeof(h2), 0) != sizeof(h2))
		exit(1);
	ok(memcmp(h1, h2, 2048) != 0 && memcmp(h1 + 2048, h2 + 2048, 2048) != 0,
	   "both header slots rewritten");
	for (int k = 0; k < 2; k++) {
		if (pwrite(fd, k ? h2 : h1, 2048, 0) != 2048 ||
		    pwrite(fd, (k ? h1 : h2) + 2048, 2048, 2048) != 2048)
			exit(1);
		d = reopen(NULL, fd, ks);
		ok(d && doc_size(d) == 5 && content_is(d, data, 5),
		   "torn header page (new slot %d): newest header wins", 1 - k);
		doc_close(d);
	}
	close(fd);
	free(data);
}

/* A torn write of a new version leaves the old one readable. */
static void test_torn(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	size_t sb = container_slot_bytes(cs), got;
	uint8_t *a = malloc(cs), *b = malloc(cs), *buf = malloc(cs);
	struct doc *d;
	int fd, fd2, snew;
	char junk[300];

	fd = make_doc(ks, cs, a, 1);
	d = reopen(NULL, fd, ks);
	fill_rnd(b, cs);
	/* a whole-chunk write goes to disk at once; the old slot stays
	 * until a flush punches it */
	is_int(doc_write(d, b, cs, 0), 0, "write version B");
	ok(!slot_empty(fd, cs, 0, 0) && !slot_empty(fd, cs, 0, 1),
	   "both versions on disk before the flush");
	snew = slot_gen(fd, cs, 0, 1) > slot_gen(fd, cs, 0, 0);
	ok(slot_gen(fd, cs, 0, snew) == slot_gen(fd, cs, 0, !snew) + 1,
	   "new version has generation + 1");
	/* snapshot of the backing file as a crash would leave it */
	fd2 = new_file();
	copy_range(fd, fd2, 0, 0, (size_t)container_slot_offset(cs, 1, 0));
	is_int(doc_close(d), 0, "close (punches A)");
	ok(slot_empty(fd, cs, 0, !snew) && !slot_empty(fd, cs, 0, snew),
	   "after the flush only the new version remains");
	d = reopen(NULL, fd, ks);
	ok(d && content_is(d, b, cs), "B reads");
	doc_close(d);

	/* tear B in the snapshot: garbage over part of its frame */
	fill_rnd((uint8_t *)junk, sizeof(junk));
	if (pwrite(fd2, junk, sizeof(junk),
		   (off_t)container_slot_offset(cs, 0, snew) + 1000) < 0)
		exit(1);
	d = reopen(NULL, fd2, ks);
	ok(d && content_is(d, a, cs), "torn B: old version A reads");
	if (d) {
		/* writing again goes over the torn slot, keeping A */
		is_int(doc_write(d, b, 100, 0), 0, "partial write after tear");
		is_int(doc_flush(d), 0, "flush");
		ok(!slot_empty(fd2, cs, 0, snew) &&
		   slot_empty(fd2, cs, 0, !snew),
		   "rewritten into the torn slot, A punched");
		memcpy(a, b, 100);
		d = reopen(d, fd2, ks);
		ok(d && content_is(d, a, cs), "new version after tear reads");
	}
	doc_close(d);
	/* a torn frame header (garbage from byte 0) */
	d = reopen(NULL, fd2, ks);
	snew = slot_gen(fd2, cs, 0, 1) > slot_gen(fd2, cs, 0, 0);
	if (d)
		doc_close(d);
	{
		uint8_t *g = malloc(sb);

		/* random garbage in the other slot */
		fill_rnd(g, sb);
		if (pwrite(fd2, g, sb, (off_t)container_slot_offset(cs, 0, !snew)) < 0)
			exit(1);
		d = reopen(NULL, fd2, ks);
		ok(d && content_is(d, a, cs),
		   "garbage in the other slot: still reads");
		doc_close(d);
		/* a valid-looking frame header with a higher generation */
		if (pread(fd2, g, 48, (off_t)container_slot_offset(cs, 0, snew)) != 48)
			exit(1);
		memset(g + 8, 0xFF, 7);
		if (pwrite(fd2, g, sb, (off_t)container_slot_offset(cs, 0, !snew)) < 0)
			exit(1);
		free(g);
	}
	d = reopen(NULL, fd2, ks);
	ok(d && content_is(d, a, cs),
	   "forged newer generation: the authentic version reads");
	if (d) {
		is_int(doc_write(d, b, cs, 0), 0, "overwrite after forgery");
		d = reopen(d, fd2, ks);
		ok(d && content_is(d, b, cs), "overwrite reads back");
	}
	doc_close(d);
	close(fd2);
	close(fd);
	free(a);
	free(b);
	free(buf);
	(void)got;
}

/* pwrite fails part-way (RLIMIT_FSIZE): the durable version survives. */
static void test_short_write(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	uint8_t *a = malloc(2 * cs), *b = malloc(2 * cs);
	struct rlimit old, lim;
	struct doc *d;
	int fd, r;

	signal(SIGXFSZ, SIG_IGN);
	fd = make_doc(ks, cs, a, 1);
	d = reopen(NULL, fd, ks);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	/* slot 1 of chunk 0 starts at 12288: allow 100 bytes of it */
	lim.rlim_cur = container_slot_offset(cs, 0, 1) + 100;
	setrlimit(RLIMIT_FSIZE, &lim);
	fill_rnd(b, cs);
	r = doc_write(d, b, cs, 0);
	ok(r == -EFBIG || r == -ENOSPC || r == -EIO,
	   "short write fails (%d)", r);
	r = doc_close(d);
	setrlimit(RLIMIT_FSIZE, &old);
	d = reopen(NULL, fd, ks);
	ok(d && content_is(d, a, cs), "old version survives a short write");
	if (d) {
		is_int(doc_write(d, b, cs, 0), 0, "write again with room");
		d = reopen(d, fd, ks);
		ok(d && content_is(d, b, cs), "new version reads");
	}
	doc_close(d);
	close(fd);
	free(a);
	free(b);
}

static void test_punch_and_space(const struct keystore *ks,
				 const struct keystore *ks64)
{
	const uint32_t cs = 4096;
	size_t sb = container_slot_bytes(cs);
	uint8_t *a = malloc(16 * 65536), *b = malloc(2 * 65536);
	uint8_t f1[8192], f2[8192];
	struct stat st1, st2;
	struct doc *d;
	int fd, s1, s2;

	/* nonce freshness and punching */
	fd = make_doc(ks, cs, a, 1);
	s1 = !slot_empty(fd, cs, 0, 1);
	if (pread(fd, f1, sb, (off_t)container_slot_offset(cs, 0, s1)) < 0)
		exit(1);
	d = reopen(NULL, fd, ks);
	is_int(doc_write(d, a, cs, 0), 0, "rewrite the same data");
	is_int(doc_flush(d), 0, "flush");
	s2 = !slot_empty(fd, cs, 0, 1) && slot_empty(fd, cs, 0, 0) ? 1 : 0;
	ok(s2 != s1, "new version in the other slot");
	ok(slot_empty(fd, cs, 0, s1), "old slot punched after flush");
	if (pread(fd, f2, sb, (off_t)container_slot_offset(cs, 0, s2)) < 0)
		exit(1);
	ok(memcmp(f1 + 48, f2 + 48, sb - 48) != 0 &&
	   memcmp(f1 + 24, f2 + 24, 24) != 0,
	   "same data, fresh nonce, different ciphertext");
	fstat(fd, &st1);
	ok(st1.st_blocks * 512 <= (blkcnt_t)(CONTAINER_DATA_OFFSET + sb),
	   "one version allocated (%lld blocks)", (long long)st1.st_blocks);
	/* many rewrites of the same chunk, flushing in between */
	for (int i = 0; i < 20; i++) {
		a[0] = (uint8_t)i;
		if (doc_write(d, a, 10, 0) != 0 || doc_flush(d) != 0)
			break;
	}
	ok(slot_empty(fd, cs, 0, 0) != slot_empty(fd, cs, 0, 1),
	   "after 20 rewrites one slot is in use");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, a, cs), "content after rewrites");
	doc_close(d);
	close(fd);

	/* compressible data takes less disk than random data */
	fd = new_file();
	d = create(fd, ks64);
	fill_text(a, 16 * 65536, 0);
	is_int(doc_write(d, a, 16 * 65536, 0), 0, "write 1 MiB of text");
	doc_close(d);
	fstat(fd, &st1);
	d = reopen(NULL, fd, ks64);
	ok(d && content_is(d, a, 16 * 65536), "text reads back");
	doc_close(d);
	close(fd);
	fd = new_file();
	d = create(fd, ks64);
	fill_rnd(a, 16 * 65536);
	is_int(doc_write(d, a, 16 * 65536, 0), 0, "write 1 MiB random");
	doc_close(d);
	fstat(fd, &st2);
	close(fd);
	ok(st1.st_blocks * 4 < st2.st_blocks,
	   "text %lld blocks, random %lld blocks", (long long)st1.st_blocks,
	   (long long)st2.st_blocks);
	free(a);
	free(b);
}

/* More separated writes than the header has hole extents. */
static void test_many_holes(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	uint64_t max = 100 * 5 * cs + cs;
	uint8_t *model = calloc(1, max), v[100];
	struct doc *d;
	int fd = new_file(), bad = 0;

	d = create(fd, ks);
	for (int i = 0; i < 100; i++) {
		v[0] = (uint8_t)(i + 1);
		memcpy(model + (uint64_t)i * 5 * cs + 7, v, 1);
		if (doc_write(d, v, 1, (uint64_t)i * 5 * cs + 7) != 0)
			bad++;
	}
	is_int(bad, 0, "100 separated writes");
	ok(content_is(d, model, 99 * 5 * cs + 8), "content");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, model, 99 * 5 * cs + 8), "content after reopen");
	is_int(d ? doc_verify(d, NULL, NULL) : -1, 0, "verifies");
	/* fill some holes in the middle: splits need extents too */
	for (int i = 0; d && i < 60; i++) {
		uint64_t off = (uint64_t)(i % 99) * 5 * cs + 2 * cs + 100;

		v[0] = (uint8_t)(200 + i);
		model[off] = v[0];
		if (doc_write(d, v, 1, off) != 0)
			bad++;
	}
	is_int(bad, 0, "60 writes into holes");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, model, 99 * 5 * cs + 8), "content after fills");
	/* grow far: a hole that cannot be an extent any more */
	is_int(d ? doc_truncate(d, max) : -1, 0, "grow with full extents");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, model, max), "content after grow");
	doc_close(d);
	close(fd);
	free(model);
}

static void test_readonly(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	uint8_t *a = malloc(2 * cs), *before = malloc(20000),
		*after = malloc(20000);
	char path[300];
	struct doc *d = NULL;
	ssize_t n1, n2;
	int fd, ro;

	fd = make_doc(ks, cs, a, 2);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	n1 = pread(fd, before, 20000, 0);
	is_int(doc_open(ro, ks, &d), 0, "open read-only");
	ok(d && content_is(d, a, 2 * cs), "read-only reads");
	is_int(d ? doc_write(d, a, 1, 0) : 0, -EBADF, "write refused");
	is_int(d ? doc_truncate(d, 1) : 0, -EBADF, "truncate refused");
	is_int(d ? doc_flush(d) : -1, 0, "flush is a no-op");
	is_int(doc_close(d), 0, "close read-only");
	n2 = pread(fd, after, 20000, 0);
	ok(n1 == n2 && memcmp(before, after, (size_t)n1) == 0,
	   "file untouched");
	close(ro);
	close(fd);
	free(a);
	free(before);
	free(after);
}

/*
 * Large aligned writes are sealed in batches on several threads: new
 * chunks, rewrites of every chunk (new generations, old slots punched at
 * flush), across hole extents and next to a cached partial chunk.
 */
static void test_batches(const struct keystore *ks, uint32_t cs)
{
	enum { N = 40 };
	int fd = new_file();
	struct doc *d = create(fd, ks);
	size_t len = (size_t)N * cs;
	uint8_t *want = calloc(1, len + cs), *data = malloc(len);
	bool punched = true;

	fill_text(data, len, 1);
	is_int(doc_write(d, data, len, 0), 0, "batch: %d chunks in one write", N);
	memcpy(want, data, len);
	ok(content_is(d, want, len), "batch: reads back");
	fill_rnd(data, len);
	is_int(doc_write(d, data, len, 0), 0, "batch: rewrite them all");
	memcpy(want, data, len);
	ok(content_is(d, want, len), "batch: rewrite reads back");
	is_int(doc_flush(d), 0, "batch: flush");
	for (uint64_t i = 0; i < N; i++)
		if (slot_gen(fd, cs, i, 1) != 2 || !slot_empty(fd, cs, i, 0))
			punched = false;
	ok(punched, "batch: new generation in slot 1, slot 0 punched");
	/* a partial chunk in the cache, then a batch over it */
	fill_rnd(data, 100);
	is_int(doc_write(d, data, 100, 5ull * cs + 7), 0, "batch: partial write");
	memcpy(want + 5 * cs + 7, data, 100);
	fill_text(data, 12 * (size_t)cs, 2);
	is_int(doc_write(d, data, 12 * (size_t)cs, 2ull * cs), 0,
	       "batch: over the cached chunk");
	memcpy(want + 2 * cs, data, 12 * (size_t)cs);
	ok(content_is(d, want, len), "batch: the newest data wins");
	/* far beyond the end: the gap is a hole, the batch fills chunks */
	is_int(doc_write(d, data, 4 * (size_t)cs, (uint64_t)(N + 20) * cs), 0,
	       "batch: far past the end");
	d = reopen(d, fd, ks);
	if (d) {
		uint8_t *all = calloc(1, (size_t)(N + 24) * cs);

		memcpy(all, want, len);
		memcpy(all + (size_t)(N + 20) * cs, data, 4 * (size_t)cs);
		ok(content_is(d, all, (uint64_t)(N + 24) * cs),
		   "batch: hole in between, data after, after reopen");
		free(all);
		is_int(doc_verify(d, NULL, NULL), 0, "batch: verifies");
		doc_close(d);
	}
	close(fd);
	free(want);
	free(data);
}

/*
 * Versions written since the last sync: the second one replaces the first
 * in its slot (no sync in between), the durable version stays in the
 * other slot until the sync, and a crash (a torn newest frame) falls back
 * to that durable version.
 */
static void test_unsynced_rewrites(const struct keystore *ks)
{
	const uint32_t cs = 4096;
	uint8_t *a = malloc(cs), *b = malloc(cs), *c = malloc(cs);
	uint64_t ga, gb;
	struct doc *d;
	char junk[300];
	int fd, fd2, sa, sb;

	fd = make_doc(ks, cs, a, 1);	/* A, durable */
	sa = !slot_empty(fd, cs, 0, 1);
	ga = slot_gen(fd, cs, 0, sa);
	d = reopen(NULL, fd, ks);
	fill_rnd(b, cs);
	fill_rnd(c, cs);
	is_int(doc_write(d, b, cs, 0), 0, "unsynced: write B");
	sb = 1 - sa;
	gb = slot_gen(fd, cs, 0, sb);
	ok(gb == ga + 1, "unsynced: B in the other slot");
	is_int(doc_write(d, c, cs, 0), 0, "unsynced: write C");
	ok(slot_gen(fd, cs, 0, sb) == ga + 2 && slot_gen(fd, cs, 0, sa) == ga,
	   "unsynced: C replaces B in its slot, A untouched");
	ok(content_is(d, c, cs), "unsynced: C reads");
	/* a crash now, with C torn: the durable A reads */
	fd2 = new_file();
	copy_range(fd, fd2, 0, 0, (size_t)container_slot_offset(cs, 1, 0));
	fill_rnd((uint8_t *)junk, sizeof(junk));
	if (pwrite(fd2, junk, sizeof(junk),
		   (off_t)container_slot_offset(cs, 0, sb) + 500) < 0)
		exit(1);
	{
		struct doc *d2 = reopen(NULL, fd2, ks);

		ok(d2 && content_is(d2, a, cs), "unsynced: torn C, A reads");
		doc_close(d2);
	}
	is_int(doc_sync(d, true), 0, "unsynced: sync");
	ok(slot_empty(fd, cs, 0, sa) && slot_gen(fd, cs, 0, sb) == ga + 2,
	   "unsynced: after the sync A is punched, C stays");
	/* after the sync the next version goes to the other slot again */
	is_int(doc_write(d, b, cs, 0), 0, "unsynced: write B after sync");
	ok(slot_gen(fd, cs, 0, sa) == ga + 3 && slot_gen(fd, cs, 0, sb) == ga + 2,
	   "unsynced: B beside the durable C");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, b, cs), "unsynced: B after reopen");
	ok(slot_empty(fd, cs, 0, sb), "unsynced: close punched C");
	doc_close(d);
	close(fd2);
	close(fd);
	free(a);
	free(b);
	free(c);
}

/*
 * Thousands of superseded versions before one sync (more than the set of
 * pending punches holds, so it syncs once on the way), adjacent stale
 * slots punched together, pending punches past a truncation dropped.
 */
static void test_many_punches(const struct keystore *ks)
{
	enum { N = 4200 };
	const uint32_t cs = 4096;
	size_t len = (size_t)N * cs;
	uint8_t *want = malloc(len), v[16];
	struct doc *d;
	int fd = new_file(), bad = 0, both = 0, one = 0;
	struct stat st;

	d = create(fd, ks);
	fill_text(want, len, 3);
	is_int(doc_write(d, want, len, 0), 0, "punches: %d chunks", N);
	is_int(doc_sync(d, true), 0, "punches: sync");
	/* two passes of small writes: every chunk superseded twice */
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < N; i++) {
			uint64_t off = i * cs + 100 + (uint64_t)pass * 20;

			fill_rnd(v, sizeof(v));
			memcpy(want + off, v, sizeof(v));
			if (doc_write(d, v, sizeof(v), off) != 0)
				bad++;
		}
	is_int(bad, 0, "punches: %d small writes", 2 * N);
	is_int(doc_flush(d), 0, "punches: flush");
	for (uint64_t i = 0; i < N; i++) {
		bool e0 = slot_empty(fd, cs, i, 0), e1 = slot_empty(fd, cs, i, 1);

		both += !e0 && !e1;
		one += e0 != e1;
	}
	ok(one == N && both == 0, "punches: one version per chunk (%d, %d)",
	   one, both);
	ok(content_is(d, want, len), "punches: content");
	fstat(fd, &st);
	ok(st.st_blocks * 512 <= (blkcnt_t)(CONTAINER_DATA_OFFSET +
					    (size_t)N * container_slot_bytes(cs)),
	   "punches: space of one version per chunk (%lld blocks)",
	   (long long)st.st_blocks);

	/* chunk 0 stale in slot 1 and chunk 1 stale in slot 0: adjacent */
	{
		int c0 = !slot_empty(fd, cs, 0, 1), c1 = !slot_empty(fd, cs, 1, 1);

		v[0] = 0x5A;
		if (c0 == 0) {	/* chunk 0 must be current in slot 1 */
			is_int(doc_write(d, v, 1, 0), 0, "punches: move chunk 0");
			want[0] = v[0];
			is_int(doc_sync(d, true), 0, "punches: sync");
		}
		if (c1 == 1) {	/* chunk 1 current in slot 0 */
			is_int(doc_write(d, v, 1, cs), 0, "punches: move chunk 1");
			want[cs] = v[0];
			is_int(doc_sync(d, true), 0, "punches: sync");
		}
		ok(!slot_empty(fd, cs, 0, 1) && slot_empty(fd, cs, 0, 0) &&
		   !slot_empty(fd, cs, 1, 0) && slot_empty(fd, cs, 1, 1),
		   "punches: chunk 0 in slot 1, chunk 1 in slot 0");
		v[0] = 0xA5;
		is_int(doc_write(d, v, 1, 5), 0, "punches: rewrite chunk 0");
		is_int(doc_write(d, v, 1, cs + 5), 0, "punches: rewrite chunk 1");
		want[5] = v[0];
		want[cs + 5] = v[0];
		/* the cached chunk 1 goes out with the flush */
		is_int(doc_flush(d), 0, "punches: flush adjacent");
		ok(!slot_empty(fd, cs, 0, 0) && slot_empty(fd, cs, 0, 1) &&
		   slot_empty(fd, cs, 1, 0) && !slot_empty(fd, cs, 1, 1),
		   "punches: adjacent stale slots punched, current ones kept");
		ok(content_is(d, want, len), "punches: content after");
	}

	/* pending punches past a truncation */
	for (uint64_t i = 0; i < 10; i++) {
		v[0] = (uint8_t)i;
		want[i * cs + 9] = v[0];
		if (doc_write(d, v, 1, i * cs + 9) != 0)
			bad++;
	}
	is_int(bad, 0, "punches: rewrite 10 chunks");
	is_int(doc_truncate(d, 3 * (uint64_t)cs + 10), 0, "punches: truncate");
	is_int(doc_sync(d, true), 0, "punches: sync after truncate");
	ok(content_is(d, want, 3 * (uint64_t)cs + 10), "punches: truncated content");
	d = reopen(d, fd, ks);
	ok(d && content_is(d, want, 3 * (uint64_t)cs + 10),
	   "punches: after reopen");
	is_int(d ? doc_verify(d, NULL, NULL) : -1, 0, "punches: verifies");
	doc_close(d);
	close(fd);
	free(want);
}

/*
 * Reads of several whole chunks open them in parallel: a torn newest
 * version in the middle falls back, a damaged chunk fails the read and
 * leaves zeros.
 */
static void test_read_batch(const struct keystore *ks)
{
	enum { N = 12 };
	const uint32_t cs = 4096;
	uint8_t *a = malloc(N * cs), *b = malloc(cs), *buf = malloc(N * cs);
	uint8_t junk[200];
	struct doc *d;
	size_t got = 1;
	int fd, s;

	fd = make_doc(ks, cs, a, N);
	d = reopen(NULL, fd, ks);
	fill_rnd(b, cs);
	is_int(doc_write(d, b, cs, 5ull * cs), 0, "read batch: new chunk 5");
	/* tear the new version of chunk 5 behind the doc's back */
	s = slot_gen(fd, cs, 5, 1) > slot_gen(fd, cs, 5, 0);
	fill_rnd(junk, sizeof(junk));
	if (pwrite(fd, junk, sizeof(junk),
		   (off_t)container_slot_offset(cs, 5, s) + 300) < 0)
		exit(1);
	ok(content_is(d, a, N * cs), "read batch: torn chunk 5 falls back");
	/* damage chunk 8 for good: both slots */
	for (int k = 0; k < 2; k++)
		if (pwrite(fd, junk, sizeof(junk),
			   (off_t)container_slot_offset(cs, 8, k) + 100) < 0)
			exit(1);
	memset(buf, 0xAA, N * cs);
	is_int(doc_read(d, buf, N * cs, 0, &got), -EBADMSG,
	       "read batch: damaged chunk 8 fails the read");
	ok(got == 0 && all_zero(buf, N * cs), "read batch: nothing returned");
	is_int(doc_read(d, buf, 4 * cs, 2 * cs, &got), 0,
	       "read batch: chunks 2-5 still read");
	ok(got == 4 * cs && memcmp(buf, a + 2 * cs, 4 * cs) == 0,
	   "read batch: chunks 2-5 content");
	doc_close(d);
	close(fd);
	free(a);
	free(b);
	free(buf);
}

/*
 * Chunk buffers go back to a pool and serve the next documents: whatever
 * an earlier document held must never show through (a gap written into
 * a cached chunk reads as zeros).
 */
static void test_reused_buffers(const struct keystore *ks)
{
	const uint32_t cs = 65536;
	uint8_t *big = malloc(cs), *buf = malloc(cs), small[10];
	bool clean = true;
	size_t got;

	memset(big, 0xAA, cs);
	memset(small, 0x11, sizeof(small));
	for (int round = 0; round < 12; round++) {
		struct doc *a, *b, *c;
		int fa = new_file(), fb = new_file(), fc = new_file();

		/* a: a long chunk through the cache, read back once more */
		a = create(fa, ks);
		if (doc_write(a, big, 60000, 0) < 0)
			exit(1);
		a = reopen(a, fa, ks);
		if (read_at(a, buf, 100, 0, &got) < 0)
			exit(1);
		/* c: a short existing document, loaded while a is open */
		c = create(fc, ks);
		if (doc_write(c, small, sizeof(small), 0) < 0)
			exit(1);
		doc_close(a);
		c = reopen(c, fc, ks);
		if (read_at(c, buf, 5, 0, &got) < 0 ||
		    doc_write(c, small, sizeof(small), 30000) < 0 ||
		    read_at(c, buf, 30010, 0, &got) < 0)
			exit(1);
		clean &= got == 30010 && all_zero(buf + 10, 29990) &&
			 memcmp(buf + 30000, small, 10) == 0;
		/* b: a new document, two writes with a gap in one chunk */
		b = create(fb, ks);
		if (doc_write(b, small, sizeof(small), 0) < 0 ||
		    doc_write(b, small, sizeof(small), 50000) < 0 ||
		    read_at(b, buf, 50010, 0, &got) < 0)
			exit(1);
		clean &= got == 50010 && all_zero(buf + 10, 49990);
		b = reopen(b, fb, ks);
		if (read_at(b, buf, 50010, 0, &got) < 0)
			exit(1);
		clean &= got == 50010 && all_zero(buf + 10, 49990);
		doc_close(b);
		doc_close(c);
		close(fa);
		close(fb);
		close(fc);
	}
	ok(clean, "reused buffers: no byte of an earlier document shows");
	free(big);
	free(buf);
}

/* One doc_prep_begin/seal/commit round; commit's result. */
static int prep_write(struct doc *d, const uint8_t *data, size_t len,
		      uint64_t off)
{
	struct doc_prep *p = NULL;
	int r = doc_prep_begin(d, off, len, &p);

	if (r < 0)
		return r;
	doc_prep_seal(d, p, data);
	r = doc_prep_commit(d, p, data);
	doc_prep_free(p);
	return r;
}

/* Seal and commit *p (from doc_prep_begin()), then free it. */
static void prep_finish(struct doc *d, struct doc_prep **p,
			const uint8_t *data, uint32_t cs, const char *what)
{
	if (*p) {
		doc_prep_seal(d, *p, data);
		is_int(doc_prep_commit(d, *p, data), 0, "prep %u: commit %s",
		       cs, what);
	}
	doc_prep_free(*p);
	*p = NULL;
}

/*
 * Whole chunks sealed outside the lock (doc_prep_*): what qualifies, two
 * writes prepared at once, and every way the chunks can change between
 * begin and commit, after which the commit must write the data anew.
 */
static void test_prepared(const struct keystore *ks, uint32_t cs)
{
	int fd = new_file();
	struct doc *d = create(fd, ks);
	size_t len = 16 * (size_t)cs;
	uint8_t *want = calloc(1, len), *x = malloc(len), *y = malloc(len);
	struct doc_prep *p = NULL, *q = NULL;
	size_t over = (1u << 20) / cs + 1;
	bool gens = true;

	fill_text(x, len, 3);
	fill_rnd(y, len);
	is_int(doc_prep_begin(d, 7, cs, &p), -EAGAIN,
	       "prep %u: unaligned offset is EAGAIN", cs);
	is_int(doc_prep_begin(d, 0, cs + 1, &p), -EAGAIN,
	       "prep %u: part of a chunk is EAGAIN", cs);
	if (over < 65)
		over = 65;
	is_int(doc_prep_begin(d, 0, over * cs, &p), -EAGAIN,
	       "prep %u: more than 64 chunks or 1 MiB is EAGAIN", cs);
	ok(p == NULL, "prep %u: nothing handed out on EAGAIN", cs);

	/* two at once, committed in the order they began */
	is_int(doc_prep_begin(d, 0, 4 * (size_t)cs, &p), 0,
	       "prep %u: begin chunks 0-3", cs);
	is_int(doc_prep_begin(d, 4ull * cs, 4 * (size_t)cs, &q), 0,
	       "prep %u: begin chunks 4-7 meanwhile", cs);
	if (p && q) {
		doc_prep_seal(d, q, y + 4 * cs);
		doc_prep_seal(d, p, x);
		is_int(doc_prep_commit(d, p, x), 0, "prep %u: commit 0-3", cs);
		is_int(doc_prep_commit(d, q, y + 4 * cs), 0,
		       "prep %u: commit 4-7", cs);
	}
	doc_prep_free(p);
	doc_prep_free(q);
	p = q = NULL;
	memcpy(want, x, 4 * (size_t)cs);
	memcpy(want + 4 * cs, y + 4 * cs, 4 * (size_t)cs);
	ok(content_is(d, want, 8ull * cs), "prep %u: both read back", cs);
	for (uint64_t i = 0; i < 8; i++)
		if (slot_gen(fd, cs, i, 1) != 1 && slot_gen(fd, cs, i, 0) != 1)
			gens = false;
	ok(gens, "prep %u: every chunk is generation 1 on disk", cs);

	/* written on disk in between: the commit writes its data anew */
	is_int(doc_prep_begin(d, 0, 2 * (size_t)cs, &p), 0,
	       "prep %u: begin over chunks 0-1", cs);
	/* twice, synced: the chunk's slots both change (a commit trusting
	 * its old view would write an older generation than the disk's) */
	for (int k = 0; k < 2; k++) {
		is_int(doc_write(d, y + k, 100, (uint64_t)cs + 5), 0,
		       "prep %u: write %d into chunk 1 meanwhile", cs, k);
		is_int(doc_sync(d, true), 0,
		       "prep %u: and it reaches the disk", cs);
	}
	{	/* another chunk into the cache: only the disk shows it */
		uint8_t b[16];
		size_t got;

		is_int(read_at(d, b, sizeof(b), 7ull * cs + 1, &got), 0,
		       "prep %u: read a little of chunk 7", cs);
	}
	prep_finish(d, &p, y, cs, "after the change");
	memcpy(want, y, 2 * (size_t)cs);
	ok(content_is(d, want, 8ull * cs),
	   "prep %u: the later (prepared) write wins", cs);

	/* the chunk cache holds a chunk of it, with unwritten changes */
	is_int(doc_prep_begin(d, 2ull * cs, 2 * (size_t)cs, &p), 0,
	       "prep %u: begin over chunks 2-3", cs);
	is_int(doc_write(d, x, 10, 3ull * cs + 3), 0,
	       "prep %u: a cached write into chunk 3 meanwhile", cs);
	prep_finish(d, &p, x + 2 * cs, cs, "over the cached chunk");
	memcpy(want + 2 * cs, x + 2 * cs, 2 * (size_t)cs);
	ok(content_is(d, want, 8ull * cs),
	   "prep %u: cached chunk: the prepared write wins", cs);
	is_int(doc_prep_begin(d, 3ull * cs, cs, &p), -EAGAIN,
	       "prep %u: begin over a cached chunk is EAGAIN", cs);
	doc_prep_free(p);
	p = NULL;

	/* truncated in between: the file grows again, with a hole */
	is_int(doc_prep_begin(d, 5ull * cs, 2 * (size_t)cs, &p), 0,
	       "prep %u: begin over chunks 5-6", cs);
	is_int(doc_truncate(d, cs), 0, "prep %u: truncate to 1 chunk", cs);
	prep_finish(d, &p, x + 5 * cs, cs, "after the truncation");
	memset(want + cs, 0, 4 * (size_t)cs);
	memcpy(want + 5 * cs, x + 5 * cs, 2 * (size_t)cs);
	ok(content_is(d, want, 7ull * cs),
	   "prep %u: truncated part reads zeros, the write after it", cs);

	/* far past the end: the gap becomes a hole */
	is_int(prep_write(d, y, 2 * (size_t)cs, 12ull * cs), 0,
	       "prep %u: past the end", cs);
	memset(want + 7 * cs, 0, 5 * (size_t)cs);
	memcpy(want + 12 * cs, y, 2 * (size_t)cs);
	d = reopen(d, fd, ks);
	if (d) {
		ok(content_is(d, want, 14ull * cs),
		   "prep %u: everything after reopen", cs);
		is_int(doc_verify(d, NULL, NULL), 0, "prep %u: verifies", cs);
		doc_close(d);
	}
	close(fd);
	free(want);
	free(x);
	free(y);
}

int main(void)
{
	struct keystore *ks4, *ks64, *other;
	const char *t = getenv("TMPDIR");

	if (seal_init() != 0)
		return 1;
	rng_state = 0x243F6A8885A308D3ULL;
	log_set_level(LOG_ERR);	/* the damage tests warn by design */
	snprintf(tmpdir, sizeof(tmpdir), "%s/t-document.XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	ks4 = make_ks(4096);
	ks64 = make_ks(65536);
	other = make_ks(4096);

	test_basics(ks4, 4096);
	test_basics(ks64, 65536);
	test_sparse(ks4, 4096);
	test_sparse(ks64, 65536);
	test_truncate(ks4, 4096);
	test_truncate(ks64, 65536);
	test_tamper(ks4, other);
	test_torn(ks4);
	test_torn_header(ks4);
	test_short_write(ks4);
	test_punch_and_space(ks4, ks64);
	test_many_holes(ks4);
	test_readonly(ks4);
	test_batches(ks4, 4096);
	test_batches(ks64, 65536);
	test_prepared(ks4, 4096);
	test_prepared(ks64, 65536);
	test_unsynced_rewrites(ks4);
	test_many_punches(ks4);
	test_read_batch(ks4);
	test_reused_buffers(ks64);
	test_model(ks4, 4096, 4000, 0x9E3779B97F4A7C15ULL);
	test_model(ks64, 65536, 3000, 0xD1B54A32D192ED03ULL);

	keystore_free(ks4);
	keystore_free(ks64);
	keystore_free(other);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	return done_testing();
}
