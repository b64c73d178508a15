/*
 * fuzz-document.c - the document engine (document.h) against a model, and
 * the reader on damaged containers.
 *
 * A key store is made once (Argon2id "interactive", 4 KiB chunks,
 * compression on) in a temporary directory; each input works on one
 * document in a memfd.  The input is a list of operations:
 *   op % 8 = 0 write (offset u24, length u16, a pattern byte: random or
 *            repeated, so that compression is used), 1 truncate (u24),
 *            2 read (offset u24, length u16), 3 flush, 4 sync, 5 close and
 *            reopen, 6 read everything, 7 damage (see below) and stop.
 * Without damage every call must succeed and every read match the model;
 * at the end the document is synced, reopened, compared and verified.
 *
 * Damage: the document is synced and closed (so no older chunk version is
 * left behind), then up to eight mutations from the input hit the memfd
 * (bit flips, truncation, garbage, zeroed frame headers).  The document
 * must then fail to open, or open with its true size; every chunk must
 * read as the model or fail; and doc_verify() must report damage if any
 * chunk failed.  Never wrong bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/document.h"
#include "../../vaultfs/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CS 4096u
#define MAXSIZE (512u * 1024u)
#define MAXIO 20000u

static struct keystore *ks;
static int mfd = -1;
static char dir[] = "/tmp/fuzz-document.XXXXXX";
static uint8_t model[MAXSIZE + MAXIO];
static uint64_t msize;
static uint8_t buf[MAXSIZE + MAXIO];

static void cleanup(void)
{
	char p[sizeof(dir) + 16];

	snprintf(p, sizeof(p), "%s/vault.keys", dir);
	unlink(p);
	rmdir(dir);
	keystore_free(ks);
}

static void setup(void)
{
	struct vault_settings s;

	/* damage is expected here: keep the reader's warnings quiet */
	log_set_level(LOG_CRIT);
	memset(&s, 0, sizeof(s));
	s.chunk_size = CS;
	s.compress_level = 3;
	if (seal_init() < 0 || !mkdtemp(dir) ||
	    keystore_create(dir, "fuzz", 4, KEYSTORE_KDF_INTERACTIVE, &s, &ks) < 0)
		abort();
	atexit(cleanup);
	mfd = memfd_create("fuzz-document", MFD_CLOEXEC);
	if (mfd < 0)
		abort();
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++) {
		v |= (uint64_t)(in->n ? *in->p : 0) << (8 * i);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

static void pattern(uint8_t *p, size_t len, uint64_t off, uint8_t kind)
{
	uint64_t s = off * 0x9e3779b97f4a7c15ULL + kind;

	for (size_t i = 0; i < len; i++) {
		if (kind & 1) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			p[i] = (uint8_t)s;
		} else {
			p[i] = (uint8_t)(kind + (i / 512));
		}
	}
}

static void must(int r)
{
	if (r != 0)
		abort();
}

static void check_read(struct doc *d, uint64_t off, size_t len)
{
	size_t got, want;

	must(doc_read(d, buf, len, off, &got));
	want = off >= msize ? 0 : (msize - off < len ? (size_t)(msize - off) : len);
	if (got != want || memcmp(buf, model + off, got) != 0)
		abort();
}

static void check_all(struct doc *d)
{
	if (doc_size(d) != msize)
		abort();
	check_read(d, 0, (size_t)msize + 10);
}

static void reopen(struct doc **d)
{
	uint64_t peek;

	must(doc_close(*d));
	must(doc_peek_size(mfd, ks, &peek, NULL));
	if (peek != msize)
		abort();
	must(doc_open(mfd, ks, d));
	if (doc_size(*d) != msize)
		abort();
}

static void bad_chunk(uint64_t index, int error, void *arg)
{
	(void)index;
	(void)error;
	(void)arg;
}

/* Damage the synced, closed document and check the reader's answers. */
static void damage(struct in *in)
{
	unsigned n = (unsigned)take(in, 1) % 8 + 1;
	off_t fsize = lseek(mfd, 0, SEEK_END);
	struct doc *d = NULL;
	int failed = 0, r;

	for (unsigned i = 0; i < n && fsize > 0; i++) {
		unsigned kind = (unsigned)take(in, 1) % 4;
		off_t off = (off_t)(take(in, 3) % (uint64_t)fsize);
		uint8_t b[48];

		switch (kind) {
		case 0:
			if (pread(mfd, b, 1, off) != 1)
				abort();
			b[0] ^= (uint8_t)(1u << (take(in, 1) % 8));
			if (pwrite(mfd, b, 1, off) != 1)
				abort();
			break;
		case 1:
			if (ftruncate(mfd, off) < 0)
				abort();
			fsize = off;
			break;
		case 2:
			for (int j = 0; j < 4; j++)
				b[j] = (uint8_t)take(in, 1);
			if (pwrite(mfd, b, 4, off) != 4)
				abort();
			break;
		default:
			memset(b, 0, sizeof(b));
			off &= ~(off_t)4095;
			if (pwrite(mfd, b, sizeof(b), off) != (ssize_t)sizeof(b))
				abort();
			break;
		}
	}
	r = doc_open(mfd, ks, &d);
	if (r < 0) {
		if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOKEY)
			abort();
		return;
	}
	if (doc_size(d) != msize)
		abort();
	for (uint64_t off = 0; off < msize; off += CS) {
		size_t got, len = msize - off < CS ? (size_t)(msize - off) : CS;

		r = doc_read(d, buf, len, off, &got);
		if (r < 0) {
			failed++;
			continue;
		}
		if (got != len || memcmp(buf, model + off, len) != 0)
			abort();	/* wrong bytes from a damaged document */
	}
	r = doc_verify(d, bad_chunk, NULL);
	if (failed && r != -EBADMSG)
		abort();
	doc_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct doc *d = NULL;
	unsigned ops = 0;

	if (!ks)
		setup();
	if (ftruncate(mfd, 0) < 0)
		abort();
	memset(model, 0, sizeof(model));
	msize = 0;
	must(doc_create(mfd, ks, &d));
	while (in.n > 0 && ops++ < 64) {
		unsigned op = (unsigned)take(&in, 1) % 8;
		uint64_t off, len;

		switch (op) {
		case 0:
			off = take(&in, 3) % MAXSIZE;
			len = take(&in, 2) % MAXIO + 1;
			if (off + len > MAXSIZE)
				len = MAXSIZE - off;
			pattern(buf, len, off, (uint8_t)take(&in, 1));
			must(doc_write(d, buf, len, off));
			memcpy(model + off, buf, len);
			if (off + len > msize)
				msize = off + len;
			break;
		case 1:
			off = take(&in, 3) % MAXSIZE;
			must(doc_truncate(d, off));
			if (off > msize)
				memset(model + msize, 0, off - msize);
			else
				memset(model + off, 0, msize - off);
			msize = off;
			break;
		case 2:
			off = take(&in, 3) % (MAXSIZE + 100);
			len = take(&in, 2) % MAXIO;
			check_read(d, off, len);
			break;
		case 3:
			must(doc_flush(d));
			break;
		case 4:
			must(doc_sync(d, take(&in, 1) & 1));
			break;
		case 5:
			reopen(&d);
			break;
		case 6:
			check_all(d);
			break;
		default:
			must(doc_sync(d, false));
			must(doc_close(d));
			damage(&in);
			return 0;
		}
		if (doc_size(d) != msize)
			abort();
	}
	must(doc_sync(d, false));
	reopen(&d);
	check_all(d);
	must(doc_verify(d, bad_chunk, NULL));
	must(doc_close(d));
	return 0;
}
