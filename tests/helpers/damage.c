/*
 * damage.c - random storage damage and a damage-aware reader (t4003).
 *
 *   damage mutate [-k] SEED COUNT VAULT
 *       Apply COUNT random mutations to the backing store of the unmounted
 *       VAULT, one line each on stdout ("N KIND PATH DETAIL"): bit flips in
 *       headers, chunk frames, directory ids, long-name side files and the
 *       access log; truncation and extension of files; 4 KiB blocks zeroed,
 *       copied between documents or moved within one; entries renamed to
 *       another valid-looking encrypted name; side files moved; dir ids and
 *       side files deleted; symlink targets changed.  -k also lets it hit
 *       vault.keys.  Never done, because SECURITY.md says the format cannot
 *       detect them: deleting, swapping or copying whole documents (or
 *       their headers) and restoring older versions.  Same SEED, same
 *       mutations on the same store.
 *
 *   damage read REFDIR MNTDIR
 *       Compare the mounted tree with the reference tree: every document is
 *       read in 64 KiB pieces, each piece must be the reference bytes or
 *       fail with an error (the reader goes on after a failure); sizes of
 *       documents that open must be exact; symlink targets must be the
 *       reference ones or fail; no name may appear that is not in the
 *       reference.  Prints "eio PATH", "missing PATH", "unlisted PATH" (opens
 *       by name but readdir hides it), "wrong PATH: WHY" lines and a summary; exits 1 if anything was wrong (wrong bytes, a
 *       wrong size, a wrong name), 0 otherwise, 2 on usage errors.
 *
 *   damage gen SEED SIZE [text]
 *       SIZE deterministic pseudo-random bytes (or, with "text", numbered
 *       text lines) on stdout, for reference trees that are the same on
 *       every run.
 *
 *   damage pristine VAULT
 *       Check that no chunk of any document has two frames (an old version
 *       that a damaged newer one would legitimately fall back to); exit 1
 *       and name the file if one does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vaultfs/container.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/le.h"

#define MAX_PATHS 20000
#define READ_PIECE 65536

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: damage mutate [-k] SEED COUNT VAULT | "
		"read REFDIR MNTDIR | gen SEED SIZE [text] | pristine VAULT\n");
	exit(2);
}

static _Noreturn void die(const char *what, const char *path)
{
	fprintf(stderr, "damage: %s '%s': %s\n", what, path, strerror(errno));
	exit(2);
}

/* ---- PRNG (splitmix64, as in randio.c) ---------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- the backing store's files ------------------------------------------- */

enum kind { K_DOC, K_DIRID, K_SIDE, K_LINK, K_DIR, K_KEYS, K_AUDIT, K_OTHER };

struct entry {
	char *path;		/* relative to the vault */
	enum kind kind;
	off_t size;
};

static struct entry ents[MAX_PATHS];
static size_t nents;

static void add_entry(const char *path, enum kind k, off_t size)
{
	if (nents == MAX_PATHS)
		return;
	ents[nents].path = strdup(path);
	if (!ents[nents].path) {
		perror("damage");
		exit(2);
	}
	ents[nents].kind = k;
	ents[nents].size = size;
	nents++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void walk(int vfd, const char *rel, bool in_data)
{
	DIR *dp;
	struct dirent *de;
	int fd = openat(vfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return;
	}
	while ((de = readdir(dp))) {
		char path[PATH_MAX * 4];
		struct stat st;
		enum kind k = K_OTHER;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", rel, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (fstatat(vfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (in_data)
				add_entry(path, K_DIR, 0);
			walk(vfd, path, in_data || !strcmp(path, "./data"));
			continue;
		}
		if (in_data) {
			if (!strcmp(de->d_name, NAMES_DIRID_FILE))
				k = K_DIRID;
			else if (S_ISLNK(st.st_mode))
				k = K_LINK;
			else if (ends_with(de->d_name, NAMES_LONG_SUFFIX))
				k = K_SIDE;
			else if (S_ISREG(st.st_mode))
				k = K_DOC;
		} else if (!strcmp(path, "./vault.keys")) {
			k = K_KEYS;
		} else if (!strncmp(path, "./audit/", 8) && S_ISREG(st.st_mode)) {
			k = K_AUDIT;
		} else {
			continue;	/* vault.lock, the auditor's key, ... */
		}
		add_entry(path, k, st.st_size);
	}
	closedir(dp);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
		      ((const struct entry *)b)->path);
}

/* Sorted, so that a seed picks the same entries in a copy of the store. */
static void scan(int vfd)
{
	for (size_t i = 0; i < nents; i++)
		free(ents[i].path);
	nents = 0;
	walk(vfd, ".", false);
	qsort(ents, nents, sizeof(ents[0]), entry_cmp);
}

/* A random entry whose kind is in mask (1 << kind), or NULL. */
static struct entry *pick(unsigned mask)
{
	size_t n = 0, i, want;

	for (i = 0; i < nents; i++)
		if (mask & (1u << ents[i].kind))
			n++;
	if (n == 0)
		return NULL;
	want = below(n);
	for (i = 0; i < nents; i++)
		if ((mask & (1u << ents[i].kind)) && want-- == 0)
			return &ents[i];
	return NULL;
}

/* ---- documents: where the frames are -------------------------------------- */

/* Chunk size from the clear part of header slot 0 (or 1), or 0. */
static uint32_t doc_chunk_size(int fd)
{
	uint8_t b[4];

	for (int s = 0; s < 2; s++) {
		uint32_t cs;

		if (pread(fd, b, 4, (off_t)s * CONTAINER_HDR_SLOT_BYTES + 32) != 4)
			continue;
		cs = le_get32(b);
		if (container_chunk_size_valid(cs))
			return cs;
	}
	return 0;
}

struct frame {
	off_t off;
	size_t len;
	uint64_t index;
};

/* Frames of a document (magic at a slot start), at most max. */
static size_t doc_frames(int fd, off_t size, struct frame *out, size_t max)
{
	uint32_t cs = doc_chunk_size(fd);
	size_t n = 0, slot;
	uint8_t h[24];

	if (cs == 0)
		return 0;
	slot = container_slot_bytes(cs);
	for (uint64_t i = 0; n < max; i++) {
		for (int s = 0; s < 2 && n < max; s++) {
			off_t off = (off_t)container_slot_offset(cs, i, s);
			uint32_t sealed;

			if (off >= size)
				return n;
			if (pread(fd, h, sizeof(h), off) != (ssize_t)sizeof(h) ||
			    memcmp(h, "VLTC", 4))
				continue;
			sealed = le_get32(h + 16);
			out[n].off = off;
			out[n].len = sealed >= 32 && sealed + 48 <= slot ?
				     sealed + 48 : 4096;
			out[n].index = i;
			n++;
		}
	}
	return n;
}

/* ---- mutations ---------------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int vfd;
static unsigned long seq;

static void report(const char *kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const char *kind, const char *path, const char *fmt, ...)
{
	va_list ap;

	printf("%lu %s %s ", ++seq, kind, path + 2);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int open_rw(const struct entry *e)
{
	int fd = openat(vfd, e->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		die("cannot open", e->path);
	return fd;
}

static void flip_at(const struct entry *e, int fd, off_t off, const char *what)
{
	uint8_t b;
	int bit = (int)below(8);

	if (pread(fd, &b, 1, off) != 1)
		b = 0;
	b ^= (uint8_t)(1u << bit);
	if (pwrite(fd, &b, 1, off) != 1)
		die("cannot write", e->path);
	report("flip", e->path, "%s offset %jd bit %d", what, (intmax_t)off, bit);
}

static bool m_flip_doc(void)
{
	static struct frame fr[4096];
	struct entry *e = pick(1u << K_DOC);
	int fd;
	size_t n;
	unsigned r = (unsigned)below(100);

	if (!e || e->size == 0)
		return false;
	fd = open_rw(e);
	if (r < 25) {
		off_t lim = e->size < 4096 ? e->size : 4096;

		/* the parts of a header slot that are used, mostly */
		off_t off = (off_t)below(2) * 2048 + (off_t)below(700);

		if (off >= lim)
			off = (off_t)below((uint64_t)lim);
		flip_at(e, fd, off, "header");
	} else if (r < 85 && (n = doc_frames(fd, e->size, fr, 4096)) > 0) {
		struct frame *f = &fr[below(n)];
		off_t off = below(4) == 0 ? f->off + (off_t)below(48)
					  : f->off + (off_t)below(f->len);

		flip_at(e, fd, off, off - f->off < 48 ? "frame-header" : "frame");
	} else {
		flip_at(e, fd, (off_t)below((uint64_t)e->size), "anywhere");
	}
	close(fd);
	return true;
}

static bool m_flip_small(bool keys)
{
	unsigned mask = 1u << K_DIRID | 1u << K_SIDE | 1u << K_AUDIT;
	struct entry *e = pick(keys ? 1u << K_KEYS : mask);
	int fd;

	if (!e || e->size == 0)
		return false;
	fd = open_rw(e);
	flip_at(e, fd, (off_t)below((uint64_t)e->size), "");
	close(fd);
	return true;
}

static bool m_truncate(bool keys)
{
	unsigned mask = 1u << K_DOC | 1u << K_DIRID | 1u << K_SIDE | 1u << K_AUDIT;
	struct entry *e = pick(keys ? 1u << K_KEYS : mask);
	off_t to;

	if (!e || e->size == 0)
		return false;
	to = (off_t)below((uint64_t)e->size);
	/* documents: often at a 4 KiB boundary (cuts whole frames off) */
	if (e->kind == K_DOC && below(2))
		to &= ~(off_t)4095;
	if (truncate(e->path, to) < 0)	/* relative: we chdir'ed to VAULT */
		die("cannot truncate", e->path);
	report("truncate", e->path, "from %jd to %jd", (intmax_t)e->size,
	       (intmax_t)to);
	return true;
}

static bool m_extend(bool keys)
{
	unsigned mask = 1u << K_DOC | 1u << K_DIRID | 1u << K_SIDE | 1u << K_AUDIT;
	struct entry *e = pick(keys ? 1u << K_KEYS : mask);
	uint8_t buf[9000];
	size_t n = 1 + (size_t)below(sizeof(buf));
	unsigned how = (unsigned)below(3);
	int fd;

	if (!e)
		return false;
	fd = open_rw(e);
	if (how == 2) {
		if (ftruncate(fd, e->size + (off_t)n) < 0)
			die("cannot extend", e->path);
	} else {
		for (size_t i = 0; i < n; i++)
			buf[i] = how ? (uint8_t)rnd() : 0;
		if (pwrite(fd, buf, n, e->size) != (ssize_t)n)
			die("cannot extend", e->path);
	}
	close(fd);
	report("extend", e->path, "by %zu %s", n,
	       how == 2 ? "hole" : how ? "random bytes" : "zero bytes");
	return true;
}

static bool m_zero_block(void)
{
	static const uint8_t zero[4096];
	struct entry *e = pick(1u << K_DOC);
	off_t off;
	int fd;

	if (!e || e->size == 0)
		return false;
	off = (off_t)below((uint64_t)(e->size + 4095) / 4096) * 4096;
	fd = open_rw(e);
	if (pwrite(fd, zero, sizeof(zero), off) != (ssize_t)sizeof(zero))
		die("cannot write", e->path);
	close(fd);
	report("zero", e->path, "4096 bytes at %jd", (intmax_t)off);
	return true;
}

/* Copy a 4 KiB block (never a header) from one document to another, or
 * move it within one document. */
static bool m_copy_block(bool within)
{
	struct entry *a = pick(1u << K_DOC), *b;
	uint8_t buf[4096];
	off_t from, to;
	ssize_t n;
	int fa, fb;

	if (!a || a->size <= 4096)
		return false;
	b = within ? a : pick(1u << K_DOC);
	if (!b || (!within && b == a))
		return false;
	from = 4096 + (off_t)below((uint64_t)(a->size - 4096 + 4095) / 4096) * 4096;
	to = within ? 4096 + (off_t)below((uint64_t)(a->size - 4096 + 4095) / 4096) * 4096
		    : from;
	if (within && to == from)
		return false;
	fa = open_rw(a);
	fb = within ? fa : open_rw(b);
	n = pread(fa, buf, sizeof(buf), from);
	if (n <= 0 || pwrite(fb, buf, (size_t)n, to) != n)
		die("cannot copy a block of", a->path);
	if (fb != fa)
		close(fb);
	close(fa);
	if (within)
		report("move-block", a->path, "%zd bytes from %jd to %jd", n,
		       (intmax_t)from, (intmax_t)to);
	else
		report("copy-block", b->path, "%zd bytes at %jd from %s", n,
		       (intmax_t)from, a->path + 2);
	return true;
}

/* Rename an entry (or a side file) to another valid-looking name. */
static bool m_rename(void)
{
	struct entry *e = pick(1u << K_DOC | 1u << K_DIR | 1u << K_LINK |
			       1u << K_SIDE);
	char to[PATH_MAX * 4];
	char *base;
	size_t len, first, last;

	if (!e)
		return false;
	snprintf(to, sizeof(to), "%s", e->path);
	base = strrchr(to, '/') + 1;
	len = strlen(base);
	first = base[0] == '@' ? 1 : 0;
	last = e->kind == K_SIDE ? len - strlen(NAMES_LONG_SUFFIX) : len;
	if (last <= first)
		return false;
	for (int tries = 0; tries < 10; tries++) {
		size_t i = first + (size_t)below(last - first);
		char c = b64[below(64)];

		if (c == base[i])
			continue;
		base[i] = c;
		if (faccessat(vfd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			snprintf(to, sizeof(to), "%s", e->path);
			continue;
		}
		if (rename(e->path, to) < 0)
			die("cannot rename", e->path);
		report("rename", e->path, "to %s", base);
		return true;
	}
	return false;
}

static bool m_delete(void)
{
	struct entry *e = pick(1u << K_DIRID | 1u << K_SIDE);

	if (!e)
		return false;
	if (unlink(e->path) < 0)
		die("cannot delete", e->path);
	report("delete", e->path, "%s", "");
	return true;
}

static bool m_symlink(void)
{
	struct entry *e = pick(1u << K_LINK);
	char t[8192];
	ssize_t n;
	size_t i;
	char c;

	if (!e)
		return false;
	n = readlink(e->path, t, sizeof(t) - 1);
	if (n <= 0)
		return false;
	t[n] = '\0';
	i = (size_t)below((uint64_t)n);
	c = b64[below(64)];
	if (c == t[i])
		c = c == 'A' ? 'B' : 'A';
	t[i] = c;
	if (unlink(e->path) < 0 || symlink(t, e->path) < 0)
		die("cannot replace symlink", e->path);
	report("symlink", e->path, "target character %zu changed", i);
	return true;
}

static int cmd_mutate(int argc, char **argv)
{
	bool keys = false;
	unsigned long count, done = 0, tries = 0;

	if (argc > 1 && !strcmp(argv[1], "-k")) {
		keys = true;
		argc--;
		argv++;
	}
	if (argc != 4)
		usage();
	rng_state = strtoull(argv[1], NULL, 0) * 0x100000001b3ULL + 12345;
	count = strtoul(argv[2], NULL, 0);
	if (chdir(argv[3]) < 0)
		die("cannot enter", argv[3]);
	vfd = AT_FDCWD;
	while (done < count && tries < count * 50) {
		unsigned r = (unsigned)below(1000);
		bool ok;

		tries++;
		scan(vfd);
		if (r < 400)
			ok = m_flip_doc();
		else if (r < 500)
			ok = m_flip_small(false);
		else if (r < 580)
			ok = m_truncate(false);
		else if (r < 620)
			ok = m_extend(false);
		else if (r < 700)
			ok = m_rename();
		else if (r < 760)
			ok = m_zero_block();
		else if (r < 820)
			ok = m_copy_block(false);
		else if (r < 860)
			ok = m_copy_block(true);
		else if (r < 890)
			ok = m_delete();
		else if (r < 920)
			ok = m_symlink();
		else if (keys) {
			unsigned k = (unsigned)below(3);

			ok = k == 0 ? m_flip_small(true) :
			     k == 1 ? m_truncate(true) : m_extend(true);
		} else {
			ok = m_flip_doc();
		}
		if (ok)
			done++;
	}
	fflush(stdout);
	return done == count ? 0 : 1;
}

/* ---- pristine: no chunk with two frames ---------------------------------------- */

static int cmd_pristine(int argc, char **argv)
{
	static struct frame fr[65536];
	int bad = 0;

	if (argc != 2)
		usage();
	if (chdir(argv[1]) < 0)
		die("cannot enter", argv[1]);
	vfd = AT_FDCWD;
	scan(vfd);
	for (size_t i = 0; i < nents; i++) {
		size_t n;
		int fd;

		if (ents[i].kind != K_DOC)
			continue;
		fd = open(ents[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open", ents[i].path);
		n = doc_frames(fd, ents[i].size, fr, 65536);
		for (size_t j = 1; j < n; j++)
			if (fr[j].index == fr[j - 1].index) {
				printf("two frames for chunk %" PRIu64 " in %s\n",
				       fr[j].index, ents[i].path + 2);
				bad = 1;
				break;
			}
		close(fd);
	}
	return bad;
}

/* ---- read: the mount against the reference ------------------------------------ */

static struct {
	unsigned long files, dirs, links, ok, eio, missing, unlisted, wrong, errs;
	unsigned long long bytes_ok, pieces_failed;
} st;

static void wrong(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wrong(const char *path, const char *fmt, ...)
{
	va_list ap;

	printf("wrong %s: ", path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	st.wrong++;
}

static void failed(const char *path, int err)
{
	if (err == ENOENT) {
		printf("missing %s\n", path);
		st.missing++;
	} else {
		printf("eio %s (%s)\n", path, strerror(err));
		st.eio++;
		if (err != EIO)
			st.errs++;
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat s;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &s) < 0)
		die("cannot read reference", path);
	buf = malloc((size_t)s.st_size + 1);
	if (!buf)
		die("out of memory for", path);
	while (got < (size_t)s.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)s.st_size - got);

		if (n <= 0)
			die("cannot read reference", path);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static void read_file(const char *ref, const char *mnt, const char *rel)
{
	static uint8_t piece[READ_PIECE];
	size_t rlen;
	uint8_t *want = slurp(ref, &rlen);
	struct stat s;
	bool bad = false;
	int fd;

	st.files++;
	fd = open(mnt, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		failed(rel, errno);
		free(want);
		return;
	}
	if (fstat(fd, &s) < 0) {
		failed(rel, errno);
		goto out;
	}
	if ((size_t)s.st_size != rlen) {
		wrong(rel, "size %jd, expected %zu", (intmax_t)s.st_size, rlen);
		goto out;
	}
	/* Short reads are fine (the kernel stops at a failing page): go on
	 * from where they stopped.  After a failure, from the next piece. */
	for (size_t off = 0; off < rlen;) {
		size_t expect = rlen - off < READ_PIECE ? rlen - off : READ_PIECE;
		ssize_t n = pread(fd, piece, expect, (off_t)off);

		if (n < 0) {
			if (!bad)
				failed(rel, errno);
			bad = true;
			st.pieces_failed++;
			off = (off / READ_PIECE + 1) * READ_PIECE;
			continue;
		}
		if (n == 0) {
			wrong(rel, "end of file at %zu, expected %zu", off, rlen);
			goto out;
		}
		if (memcmp(piece, want + off, (size_t)n)) {
			size_t i = 0;

			while (piece[i] == want[off + i])
				i++;
			wrong(rel, "wrong byte at offset %zu", off + i);
			goto out;
		}
		st.bytes_ok += (size_t)n;
		off += (size_t)n;
	}
	if (!bad) {
		ssize_t n = pread(fd, piece, 1, (off_t)rlen);

		if (n > 0) {
			wrong(rel, "data past the end at %zu", rlen);
			goto out;
		}
	}
	if (!bad)
		st.ok++;
out:
	close(fd);
	free(want);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void read_tree(const char *ref, const char *mnt, const char *rel);

static void read_entry(const char *ref, const char *mnt, const char *rel)
{
	struct stat rs, ms;

	if (lstat(ref, &rs) < 0)
		die("cannot stat reference", ref);
	if (lstat(mnt, &ms) < 0) {
		if (S_ISREG(rs.st_mode))
			st.files++;
		failed(rel, errno);
		return;
	}
	if ((rs.st_mode & S_IFMT) != (ms.st_mode & S_IFMT)) {
		wrong(rel, "type %o, expected %o", ms.st_mode & S_IFMT,
		      rs.st_mode & S_IFMT);
		return;
	}
	if (S_ISREG(rs.st_mode)) {
		read_file(ref, mnt, rel);
	} else if (S_ISLNK(rs.st_mode)) {
		char a[8192], b[8192];
		ssize_t na = readlink(ref, a, sizeof(a) - 1);
		ssize_t nb = readlink(mnt, b, sizeof(b) - 1);

		st.links++;
		if (nb < 0) {
			failed(rel, errno);
		} else if (na != nb || memcmp(a, b, (size_t)na)) {
			wrong(rel, "symlink target differs");
		} else {
			st.ok++;
		}
	} else if (S_ISDIR(rs.st_mode)) {
		read_tree(ref, mnt, rel);
	}
}

static void add_name(char ***names, size_t *n, size_t *cap, const char *name,
		     const char *where)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*names = realloc(*names, *cap * sizeof(**names));
		if (!*names)
			die("out of memory in", where);
	}
	(*names)[(*n)++] = strdup(name);
}

static void read_tree(const char *ref, const char *mnt, const char *rel)
{
	char **names = NULL, **listed = NULL;
	size_t n = 0, cap = 0, nlisted = 0, lcap = 0;
	bool listing = false;
	struct dirent *de;
	DIR *dp;

	st.dirs++;
	/* names the mount shows must all be in the reference */
	dp = opendir(mnt);
	if (!dp) {
		failed(rel, errno);
	} else {
		listing = true;
		for (;;) {
			char rp[PATH_MAX];
			struct stat s;

			errno = 0;
			de = readdir(dp);
			if (!de) {
				if (errno)
					failed(rel, errno);
				break;
			}
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(rp, sizeof(rp), "%s/%s", ref, de->d_name);
			if (lstat(rp, &s) < 0)
				wrong(rel, "unknown name of %zu bytes listed",
				      strlen(de->d_name));
			add_name(&listed, &nlisted, &lcap, de->d_name, mnt);
		}
		if (errno)
			listing = false;
		closedir(dp);
	}
	if (nlisted)
		qsort(listed, nlisted, sizeof(*listed), name_cmp);
	dp = opendir(ref);
	if (!dp)
		die("cannot list reference", ref);
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		add_name(&names, &n, &cap, de->d_name, ref);
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *r, *m, *l;

		if (asprintf(&r, "%s/%s", ref, names[i]) < 0 ||
		    asprintf(&m, "%s/%s", mnt, names[i]) < 0 ||
		    asprintf(&l, "%s/%s", rel, names[i]) < 0)
			die("out of memory in", ref);
		/* a name that opens but is not listed (its long-name side
		 * file is damaged: lookups need only the entry) is hidden */
		if (listing && (nlisted == 0 ||
				!bsearch(&names[i], listed, nlisted,
					 sizeof(*listed), name_cmp))) {
			printf("unlisted %s\n", l);
			st.unlisted++;
		}
		read_entry(r, m, l);
		free(r);
		free(m);
		free(l);
		free(names[i]);
	}
	for (size_t i = 0; i < nlisted; i++)
		free(listed[i]);
	free(listed);
	free(names);
}

static int cmd_read(int argc, char **argv)
{
	if (argc != 3)
		usage();
	read_tree(argv[1], argv[2], "");
	printf("summary: %lu files, %lu links, %lu dirs: %lu ok, %lu failed "
	       "(%lu not EIO), %lu missing, %lu not listed, %lu wrong; %llu "
	       "bytes verified, %llu pieces failed\n", st.files, st.links,
	       st.dirs, st.ok, st.eio, st.errs, st.missing, st.unlisted,
	       st.wrong, st.bytes_ok, st.pieces_failed);
	return st.wrong ? 1 : 0;
}

static int cmd_gen(int argc, char **argv)
{
	static uint8_t buf[65536];
	unsigned long long size, done = 0, line = 0;
	bool text;
	size_t n = 0;

	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "text")))
		usage();
	rng_state = strtoull(argv[1], NULL, 0);
	size = strtoull(argv[2], NULL, 0);
	text = argc == 4;
	while (done < size) {
		if (text) {
			char l[64];
			int k = snprintf(l, sizeof(l), "line %llu of %llu: %llx\n",
					 ++line, size, (unsigned long long)(rnd() & 0xffff));

			for (int i = 0; i < k && done + n < size; i++)
				buf[n++] = (uint8_t)l[i];
		} else {
			uint64_t v = rnd();

			for (int i = 0; i < 8 && done + n < size; i++)
				buf[n++] = (uint8_t)(v >> (8 * i));
		}
		if (n > sizeof(buf) - 64 || done + n == size) {
			if (fwrite(buf, 1, n, stdout) != n)
				return 1;
			done += n;
			n = 0;
		}
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "mutate"))
		return cmd_mutate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "read"))
		return cmd_read(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pristine"))
		return cmd_pristine(argc - 1, argv + 1);
	usage();
}
