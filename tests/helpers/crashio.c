/*
 * crashio.c - a writer to crash, and the checker of what survived (t4001).
 *
 *   crashio run   [-s SEED] [-w ID] [-n OPS] [-F FILES] [-m MAX] DIR LOG
 *   crashio check [-s SEED] [-w ID] [-F FILES] [-m MAX] [-M MODE] [-C CHUNK]
 *                 DIR LOG
 *
 * run: writer ID works on DIR/wID-f0 .. wID-f(FILES-1) and DIR/wID-tmp
 * with a fixed-seed random sequence of system calls: create, open, pwrite,
 * O_APPEND writes through a second descriptor, ftruncate, fsync and
 * fdatasync, close, "save" (write a temp file, fsync, close, rename it
 * over a file), rename of one file over another, unlink.  Before each call
 * it appends "B k" to LOG (a plain file outside the vault), after it
 * "E k", or "X k ERRNO" when it failed; it stops at the first failure (the
 * daemon was killed) or after OPS calls.  LOG is all the record there is:
 * the contents follow from the seed.
 *
 * check: replays the same sequence in memory up to the last call LOG shows
 * as finished, and compares every file of writer ID in DIR with what may
 * have survived.  For each name it keeps the contents at its last
 * durability point and every state after it.  MODE says what is durable:
 *   daemon  (default) the daemon was killed: what fsync, fdatasync or
 *           close returned from, and every rename, unlink and create the
 *           daemon performed (they reach the backing store at once);
 *   writer  the writer was killed and the daemon lived: every finished call.
 *   power   the machine lost power (t4007): only what fsync or fdatasync
 *           returned from, and every rename, unlink and create (metadata is
 *           taken to reach the disk in order); close makes nothing durable.
 *           Files are read in pieces of CHUNK bytes (-C, default 16384, the
 *           vault's chunk size): a piece that fails with EIO is allowed
 *           ("unreadable NAME chunk N") when no byte of it was durable (its
 *           durable state has only zeros or ends before it) or a state
 *           since then cut the file at or before it (the known weakness
 *           of SECURITY.md section 3: an unsynced write that extended a
 *           file), else it is a problem.  A file that cannot be
 *           opened or stat'ed at all is a problem if its durable state had
 *           data, else it prints "lost NAME: ..." (a document created after
 *           the last sync became unreadable as a whole) and, if nothing
 *           else is wrong, exits 3.
 * A call that started but did not finish may or may not have happened.  A
 * file must then exist if every allowed state has it (and not, if none
 * has); its size lie within the allowed sizes; each byte that is the same
 * in every allowed state be that byte (so nothing made durable is lost or
 * altered), and every other byte be the byte of some allowed state or
 * zero.  Every file must read without error.  Prints one line per problem
 * and a summary; exit 0 if all is well, 1 if not, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 16

enum opkind {
	OP_CREATE, OP_OPEN, OP_CLOSE, OP_WRITE, OP_TRUNC, OP_SYNC, OP_DSYNC,
	OP_AOPEN, OP_AWRITE, OP_ACLOSE, OP_RENAME, OP_UNLINK,
};

static const char *const opnames[] = {
	"create", "open", "close", "write", "truncate", "fsync", "fdatasync",
	"append-open", "append", "append-close", "rename", "unlink",
};

struct op {
	enum opkind kind;
	int f, g;		/* file index; g: rename target */
	uint64_t off, len;	/* write offset/length, truncate size */
	uint64_t dseed;		/* data */
};

/* One state of a name: absent, or these bytes. */
struct state {
	bool exists;
	uint8_t *data;
	size_t size;
};

struct name {
	struct state cur;
	bool open, aopen;		/* the writer holds a descriptor */
	struct state *hist;		/* [0] durable, then later states */
	size_t nhist;
};

struct model {
	struct name n[MAX_FILES + 1];	/* [nfiles] is the temp file */
};

static int nfiles = 4, wid;
static uint64_t seed = 1, maxsize = 1 << 20;
static bool keep_hist, every_durable, power_mode;
static uint64_t read_chunk = 16384;
static const char *dir;

/* ---- PRNG -------------------------------------------------------------- */

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng;

static uint64_t below(uint64_t n)
{
	return n ? mix(&rng) % n : 0;
}

/* Data of an op: text (compressible) or random, by its seed. */
static void fill(uint8_t *p, size_t len, uint64_t dseed)
{
	uint64_t s = dseed;
	bool text = dseed & 1;

	for (size_t i = 0; i < len; i++) {
		if (text)
			p[i] = (i % 61 == 60) ? '\n' :
			       (uint8_t)('a' + (dseed >> 8) % 26 + (i / 61) % 3);
		else if (i % 8 == 0)
			s = mix(&s);
		if (!text)
			p[i] = (uint8_t)(s >> (8 * (i % 8)));
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "crashio: out of memory\n");
		exit(2);
	}
	return p;
}

/* ---- model -------------------------------------------------------------- */

static void state_copy(struct state *to, const struct state *from)
{
	to->exists = from->exists;
	to->size = from->size;
	to->data = xmalloc(from->size);
	if (from->size)
		memcpy(to->data, from->data, from->size);
}

static void hist_clear(struct name *n)
{
	for (size_t i = 0; i < n->nhist; i++)
		free(n->hist[i].data);
	free(n->hist);
	n->hist = NULL;
	n->nhist = 0;
}

static void hist_push(struct name *n)
{
	if (!keep_hist)
		return;
	n->hist = realloc(n->hist, (n->nhist + 1) * sizeof(*n->hist));
	if (!n->hist) {
		fprintf(stderr, "crashio: out of memory\n");
		exit(2);
	}
	state_copy(&n->hist[n->nhist++], &n->cur);
}

/* The current state of n is durable. */
static void durable(struct name *n)
{
	hist_clear(n);
	hist_push(n);
}

/* The current state of n changed (durable only in writer mode). */
static void changed(struct name *n)
{
	if (every_durable)
		durable(n);
	else
		hist_push(n);
}

static void set_size(struct state *s, size_t size)
{
	if (size > s->size) {
		s->data = realloc(s->data, size);
		if (!s->data) {
			fprintf(stderr, "crashio: out of memory\n");
			exit(2);
		}
		memset(s->data + s->size, 0, size - s->size);
	}
	s->size = size;
}

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i <= nfiles; i++)
		durable(&m->n[i]);
}

static void model_copy(struct model *to, const struct model *from)
{
	memset(to, 0, sizeof(*to));
	for (int i = 0; i <= nfiles; i++) {
		const struct name *f = &from->n[i];
		struct name *t = &to->n[i];

		state_copy(&t->cur, &f->cur);
		t->open = f->open;
		t->aopen = f->aopen;
		t->nhist = f->nhist;
		t->hist = xmalloc(f->nhist * sizeof(*t->hist));
		for (size_t j = 0; j < f->nhist; j++)
			state_copy(&t->hist[j], &f->hist[j]);
	}
}

static void model_free(struct model *m)
{
	for (int i = 0; i <= nfiles; i++) {
		free(m->n[i].cur.data);
		hist_clear(&m->n[i]);
	}
}

static void apply(struct model *m, const struct op *o)
{
	struct name *n = &m->n[o->f];

	switch (o->kind) {
	case OP_CREATE:
		n->open = true;
		if (n->cur.exists && o->f == nfiles && n->cur.size) {
			/* the temp file is opened with O_TRUNC */
			set_size(&n->cur, 0);
			changed(n);
		} else if (!n->cur.exists) {
			n->cur.exists = true;
			n->cur.size = 0;
			/* the daemon links the new entry in at once */
			durable(n);
		}
		break;
	case OP_OPEN:
		n->open = true;
		break;
	case OP_CLOSE:
	case OP_ACLOSE:
	case OP_SYNC:
	case OP_DSYNC:
		if (o->kind == OP_CLOSE)
			n->open = false;
		if (o->kind == OP_ACLOSE)
			n->aopen = false;
		/* after a power cut only a sync makes data durable */
		if (!power_mode || o->kind == OP_SYNC || o->kind == OP_DSYNC)
			durable(n);
		break;
	case OP_AOPEN:
		n->aopen = true;
		break;
	case OP_WRITE:
	case OP_AWRITE: {
		uint64_t off = o->kind == OP_AWRITE ? n->cur.size : o->off;

		if (off + o->len > n->cur.size)
			set_size(&n->cur, off + o->len);
		fill(n->cur.data + off, o->len, o->dseed);
		changed(n);
		break;
	}
	case OP_TRUNC:
		set_size(&n->cur, o->off);
		changed(n);
		break;
	case OP_RENAME: {
		struct name *t = &m->n[o->g];

		free(t->cur.data);
		hist_clear(t);
		t->cur = n->cur;
		n->cur.data = NULL;
		n->cur.size = 0;
		n->cur.exists = false;
		/* the rename reaches the backing store at once; the content
		 * keeps its durability (it was closed before) */
		t->hist = n->hist;
		t->nhist = n->nhist;
		n->hist = NULL;
		n->nhist = 0;
		if (t->nhist == 0)
			durable(t);
		durable(n);
		break;
	}
	case OP_UNLINK:
		n->cur.exists = false;
		n->cur.size = 0;
		durable(n);
		break;
	}
}

/* ---- the sequence ------------------------------------------------------------ */

static struct op queue[8];
static int qhead, qlen;

static void push(enum opkind k, int f, int g, uint64_t off, uint64_t len)
{
	struct op *o = &queue[(qhead + qlen++) % 8];

	o->kind = k;
	o->f = f;
	o->g = g;
	o->off = off;
	o->len = len;
	o->dseed = mix(&rng);
}

static uint64_t rnd_len(uint64_t room)
{
	uint64_t len;

	switch (below(4)) {
	case 0:
		len = 1 + below(100);
		break;
	case 1:
		len = 1 + below(8192);
		break;
	default:
		len = 1 + below(131072);
		break;
	}
	return len < room ? len : room;
}

/* Queue the calls of the next step; closing what must be closed first. */
static void plan(const struct model *m)
{
	int f = (int)below((uint64_t)nfiles), g;
	const struct name *n = &m->n[f];
	uint64_t r = below(100), size = n->cur.size;
	uint64_t room = maxsize > size ? maxsize - size : 0;

	if (!n->cur.exists) {
		push(OP_CREATE, f, 0, 0, 0);
		return;
	}
	if (!n->open) {
		push(OP_OPEN, f, 0, 0, 0);
		return;
	}
	if (r < 30) {
		uint64_t off = below(size + 32768);

		if (off >= maxsize)
			off = below(maxsize);
		push(OP_WRITE, f, 0, off, rnd_len(maxsize - off));
	} else if (r < 42) {
		if (room == 0)
			return;
		push(OP_AOPEN, f, 0, 0, 0);
		push(OP_AWRITE, f, 0, 0, rnd_len(room));
		push(OP_ACLOSE, f, 0, 0, 0);
	} else if (r < 52) {
		uint64_t to = below(size + size / 2 + 16384);

		push(OP_TRUNC, f, 0, to < maxsize ? to : maxsize, 0);
	} else if (r < 62) {
		push(below(2) ? OP_SYNC : OP_DSYNC, f, 0, 0, 0);
	} else if (r < 72) {
		push(OP_CLOSE, f, 0, 0, 0);
	} else if (r < 80) {
		/* an editor's save: temp file, fsync, close, rename over */
		push(OP_CLOSE, f, 0, 0, 0);
		push(OP_CREATE, nfiles, 0, 0, 0);
		push(OP_WRITE, nfiles, 0, 0, rnd_len(maxsize));
		push(OP_SYNC, nfiles, 0, 0, 0);
		push(OP_CLOSE, nfiles, 0, 0, 0);
		push(OP_RENAME, nfiles, f, 0, 0);
	} else if (r < 85) {
		g = (int)below((uint64_t)nfiles);
		if (g == f)
			return;
		push(OP_CLOSE, f, 0, 0, 0);
		if (m->n[g].open)
			push(OP_CLOSE, g, 0, 0, 0);
		push(OP_RENAME, f, g, 0, 0);
	} else if (r < 88) {
		push(OP_CLOSE, f, 0, 0, 0);
		push(OP_UNLINK, f, 0, 0, 0);
	} else {
		uint64_t off = below(size + 1);

		if (off >= maxsize)
			off = maxsize - 1;
		push(OP_WRITE, f, 0, off, 1 + below(maxsize - off < 100 ? maxsize - off : 100));
	}
}

static void next_op(const struct model *m, struct op *o)
{
	while (qlen == 0)
		plan(m);
	*o = queue[qhead];
	qhead = (qhead + 1) % 8;
	qlen--;
}

/* ---- run ------------------------------------------------------------------------ */

static void path_of(char *buf, size_t cap, int f)
{
	if (f == nfiles)
		snprintf(buf, cap, "%s/w%d-tmp", dir, wid);
	else
		snprintf(buf, cap, "%s/w%d-f%d", dir, wid, f);
}

static int fds[MAX_FILES + 1], afds[MAX_FILES + 1];

static int do_op(const struct model *m, const struct op *o)
{
	char p[4096], q[4096];
	uint8_t *buf;
	ssize_t n;
	int r = 0;

	path_of(p, sizeof(p), o->f);
	switch (o->kind) {
	case OP_CREATE:
		fds[o->f] = open(p, O_RDWR | O_CREAT | O_CLOEXEC |
				 (o->f == nfiles ? O_TRUNC : 0), 0644);
		return fds[o->f] < 0 ? -1 : 0;
	case OP_OPEN:
		fds[o->f] = open(p, O_RDWR | O_CLOEXEC);
		return fds[o->f] < 0 ? -1 : 0;
	case OP_CLOSE:
		r = close(fds[o->f]);
		fds[o->f] = -1;
		return r;
	case OP_ACLOSE:
		r = close(afds[o->f]);
		afds[o->f] = -1;
		return r;
	case OP_AOPEN:
		afds[o->f] = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
		return afds[o->f] < 0 ? -1 : 0;
	case OP_SYNC:
		return fsync(fds[o->f]);
	case OP_DSYNC:
		return fdatasync(fds[o->f]);
	case OP_TRUNC:
		return ftruncate(fds[o->f], (off_t)o->off);
	case OP_WRITE:
	case OP_AWRITE:
		buf = xmalloc(o->len);
		fill(buf, o->len, o->dseed);
		if (o->kind == OP_AWRITE)
			n = write(afds[o->f], buf, o->len);
		else
			n = pwrite(fds[o->f], buf, o->len, (off_t)o->off);
		free(buf);
		if (n >= 0 && (uint64_t)n != o->len) {
			errno = EIO;	/* a short write counts as a failure */
			return -1;
		}
		return n < 0 ? -1 : 0;
	case OP_RENAME:
		path_of(q, sizeof(q), o->g);
		return rename(p, q);
	case OP_UNLINK:
		return unlink(p);
	}
	(void)m;
	return 0;
}

static void logf_(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(int fd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(fd, line, (size_t)n) != n) {
		perror("crashio: log");
		exit(2);
	}
}

static int cmd_run(uint64_t ops, const char *log)
{
	struct model m;
	struct op o;
	int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		       0644);

	if (lfd < 0) {
		perror(log);
		return 2;
	}
	for (int i = 0; i <= nfiles; i++)
		fds[i] = afds[i] = -1;
	model_init(&m);
	for (uint64_t k = 1; k <= ops; k++) {
		next_op(&m, &o);
		logf_(lfd, "B %" PRIu64 "\n", k);
		if (do_op(&m, &o) < 0) {
			int e = errno;

			logf_(lfd, "X %" PRIu64 " %d\n", k, e);
			printf("writer %d: call %" PRIu64 " (%s) failed: %s\n", wid,
			       k, opnames[o.kind], strerror(e));
			model_free(&m);
			return 1;
		}
		logf_(lfd, "E %" PRIu64 "\n", k);
		apply(&m, &o);
	}
	printf("writer %d: %" PRIu64 " calls done\n", wid, ops);
	model_free(&m);
	return 0;
}

/* ---- check ------------------------------------------------------------------------ */

static unsigned long problems, names_ok, bytes_pinned;

static void problem(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("bad %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Does got (NULL: absent) fit the allowed states of n?  why gets a reason. */
static bool fits(const struct name *n, const uint8_t *got, size_t size,
		 char *why, size_t cap, unsigned long *pinned,
		 const uint8_t *skip)
{
	size_t lo = SIZE_MAX, hi = 0, nexist = 0;

	for (size_t i = 0; i < n->nhist; i++) {
		const struct state *s = &n->hist[i];

		if (!s->exists)
			continue;
		nexist++;
		if (s->size < lo)
			lo = s->size;
		if (s->size > hi)
			hi = s->size;
	}
	if (!got) {
		if (nexist < n->nhist)
			return true;
		snprintf(why, cap, "missing, but every allowed state has it");
		return false;
	}
	if (nexist == 0) {
		snprintf(why, cap, "exists, but no allowed state has it");
		return false;
	}
	if (size < lo || size > hi) {
		snprintf(why, cap, "size %zu, allowed %zu to %zu", size, lo, hi);
		return false;
	}
	*pinned = 0;
	for (size_t x = 0; x < size; x++) {
		bool same = nexist == n->nhist, any = got[x] == 0;
		int v = -1;

		if (skip && skip[x / read_chunk])
			continue;	/* unreadable (power mode): judged apart */
		for (size_t i = 0; i < n->nhist; i++) {
			const struct state *s = &n->hist[i];

			if (!s->exists)
				continue;
			if (x >= s->size) {
				same = false;
				continue;
			}
			if (v < 0)
				v = s->data[x];
			else if (v != s->data[x])
				same = false;
			if (s->data[x] == got[x])
				any = true;
		}
		if (same && v >= 0) {
			(*pinned)++;
			if (got[x] != v) {
				snprintf(why, cap, "byte %zu is 0x%02x; it was made "
					 "durable as 0x%02x", x, got[x], v);
				return false;
			}
		} else if (!any) {
			snprintf(why, cap, "byte %zu is 0x%02x, which no allowed "
				 "state has", x, got[x]);
			return false;
		}
	}
	return true;
}

static int read_back(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	*data = xmalloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);

		if (n < 0) {
			int e = errno;

			close(fd);
			free(*data);
			*data = NULL;
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return 0;
}

/*
 * Power mode: read path in pieces of read_chunk bytes; a piece that fails
 * with EIO reads as zeros and is flagged in *skip (one byte per piece).
 */
static int read_back_pieces(const char *path, uint8_t **data, size_t *size,
			    uint8_t **skip, size_t *nbad)
{
	struct stat st;
	size_t len, npieces;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data = NULL;
	*skip = NULL;
	*nbad = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	len = (size_t)st.st_size;
	npieces = len / read_chunk + 1;
	*data = xmalloc(len);
	*skip = xmalloc(npieces);
	memset(*skip, 0, npieces);
	for (size_t at = 0; at < len;) {
		size_t piece = read_chunk - at % read_chunk, got = 0;

		if (piece > len - at)
			piece = len - at;
		while (got < piece) {
			ssize_t n = pread(fd, *data + at + got, piece - got,
					  (off_t)(at + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EIO) {
				memset(*data + at, 0, piece);
				(*skip)[at / read_chunk] = 1;
				(*nbad)++;
				got = piece;
				break;
			}
			if (n < 0) {
				int e = errno;

				close(fd);
				free(*data);
				free(*skip);
				*data = *skip = NULL;
				return -e;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (got < piece) {		/* shorter than its size */
			len = at + got;
			break;
		}
		at += piece;
	}
	close(fd);
	*size = len;
	return 0;
}

/*
 * May piece c of n read EIO after a power cut?  Only when no synced data
 * depends on it: its durable state has only zeros there (or ends before
 * it), or a later state cut the file at or before the piece, so that
 * whatever it holds now came from an unsynced write that extended the
 * file again (the known weakness of SECURITY.md section 3).
 */
static bool piece_may_fail(const struct name *n, size_t c)
{
	const struct state *s = n->nhist ? &n->hist[0] : NULL;

	if (!s || !s->exists)
		return true;
	for (size_t j = 1; j < n->nhist; j++)
		if (!n->hist[j].exists || n->hist[j].size <= c * read_chunk)
			return true;
	for (size_t x = c * read_chunk; x < (c + 1) * read_chunk && x < s->size; x++)
		if (s->data[x])
			return false;
	return true;
}

static unsigned long pieces_unreadable, lost_files;

/* Power mode: judge one file.  Returns true if it passes. */
static bool check_power(const char *p, const struct model *m,
			const struct model *m2, bool have_inflight, int i,
			uint64_t last_end, unsigned long *pinned_out)
{
	const struct name *n = &m->n[i];
	char why[256], why2[256];
	unsigned long pinned = 0, pinned2 = 0;
	uint8_t *got, *skip;
	size_t size = 0, nbad = 0;
	bool good = true;
	int r;

	r = read_back_pieces(p, &got, &size, &skip, &nbad);
	if (r < 0 && r != -ENOENT) {
		bool had = n->nhist && n->hist[0].exists && n->hist[0].size;

		if (had || !power_mode) {
			problem(p, "cannot read it back: %s (it held durable data)",
				strerror(-r));
			return false;
		}
		printf("lost %s: the whole file is unreadable: %s (created "
		       "or emptied before the last sync, written after it)\n",
		       p, strerror(-r));
		lost_files++;
		return true;
	}
	for (size_t c = 0; got && c <= size / read_chunk; c++) {
		if (!skip[c])
			continue;
		if (!piece_may_fail(n, c) &&
		    (!have_inflight || !piece_may_fail(&m2->n[i], c))) {
			problem(p, "chunk %zu unreadable (EIO), but it held data "
				"that was made durable", c);
			good = false;
		} else {
			printf("unreadable %s chunk %zu (nothing synced in "
			       "it, or cut and extended since)\n", p, c);
		}
	}
	pieces_unreadable += nbad;
	if (!fits(&m->n[i], got, size, why, sizeof(why), &pinned, skip) &&
	    !(have_inflight &&
	      fits(&m2->n[i], got, size, why2, sizeof(why2), &pinned2, skip))) {
		problem(p, "%s (after call %" PRIu64 "%s)", why, last_end,
			have_inflight ? ", one more in flight" : "");
		good = false;
	}
	*pinned_out = pinned > pinned2 ? pinned : pinned2;
	free(got);
	free(skip);
	return good;
}

static int cmd_check(const char *log, const char *mode)
{
	struct model m, m2;
	struct op o, inflight;
	uint64_t last_end = 0, last_begin = 0, k;
	bool have_inflight;
	char line[128];
	FILE *lf = fopen(log, "r");

	if (!lf) {
		perror(log);
		return 2;
	}
	if (!strcmp(mode, "writer"))
		every_durable = true;
	else if (!strcmp(mode, "power"))
		power_mode = true;
	else if (strcmp(mode, "daemon")) {
		fprintf(stderr, "crashio: unknown mode '%s'\n", mode);
		return 2;
	}
	while (fgets(line, sizeof(line), lf)) {
		uint64_t v;

		if (sscanf(line + 1, " %" SCNu64, &v) != 1)
			continue;
		if (line[0] == 'E' && v > last_end)
			last_end = v;
		if ((line[0] == 'B' || line[0] == 'X') && v > last_begin)
			last_begin = v;
	}
	fclose(lf);
	keep_hist = true;
	model_init(&m);
	for (k = 1; k <= last_end; k++) {
		next_op(&m, &o);
		apply(&m, &o);
	}
	have_inflight = last_begin > last_end;
	if (have_inflight)
		next_op(&m, &inflight);
	/* The call in flight may have happened in part (a write cut short by
	 * the signal): its state joins the allowed ones, the older ones stay. */
	model_copy(&m2, &m);
	every_durable = false;
	if (have_inflight)
		apply(&m2, &inflight);

	for (int i = 0; i <= nfiles; i++) {
		char p[4096], why[256], why2[256];
		unsigned long pinned = 0, pinned2 = 0;
		uint8_t *got;
		size_t size = 0;
		int r;

		path_of(p, sizeof(p), i);
		if (power_mode) {
			if (check_power(p, &m, &m2, have_inflight, i, last_end,
					&pinned)) {
				names_ok++;
				bytes_pinned += pinned;
			} else {
				problems++;
			}
			continue;
		}
		r = read_back(p, &got, &size);
		if (r < 0 && r != -ENOENT) {
			problem(p, "cannot read it back: %s", strerror(-r));
			problems++;
			continue;
		}
		if (fits(&m.n[i], got, size, why, sizeof(why), &pinned, NULL) ||
		    (have_inflight &&
		     fits(&m2.n[i], got, size, why2, sizeof(why2), &pinned2,
			  NULL))) {
			names_ok++;
			bytes_pinned += pinned > pinned2 ? pinned : pinned2;
		} else {
			problem(p, "%s (after call %" PRIu64 "%s)", why, last_end,
				have_inflight ? ", one more in flight" : "");
			problems++;
		}
		free(got);
	}
	if (power_mode)
		printf("writer %d: %lu chunks unreadable, %lu files lost\n", wid,
		       pieces_unreadable, lost_files);
	printf("writer %d: %" PRIu64 " calls finished%s; %lu names fit, %lu "
	       "do not; %lu durable bytes verified\n", wid, last_end,
	       have_inflight ? " (and one in flight)" : "", names_ok, problems,
	       bytes_pinned);
	model_free(&m);
	model_free(&m2);
	return problems ? 1 : lost_files ? 3 : 0;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: crashio run [-s SEED] [-w ID] [-n OPS] [-F FILES] "
		"[-m MAX] DIR LOG\n"
		"       crashio check [-s SEED] [-w ID] [-F FILES] [-m MAX] "
		"[-M daemon|writer|power] [-C CHUNK] DIR LOG\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd, *mode = "daemon";
	uint64_t ops = 1000000;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "s:w:n:F:m:M:C:")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			wid = atoi(optarg);
			break;
		case 'n':
			ops = strtoull(optarg, NULL, 0);
			break;
		case 'F':
			nfiles = atoi(optarg);
			if (nfiles < 2 || nfiles > MAX_FILES)
				usage();
			break;
		case 'm':
			maxsize = strtoull(optarg, NULL, 0);
			if (maxsize < 4096)
				usage();
			break;
		case 'M':
			mode = optarg;
			break;
		case 'C':
			read_chunk = strtoull(optarg, NULL, 0);
			if (read_chunk < 512)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	dir = argv[optind];
	rng = seed * 1000003 + (uint64_t)wid;
	if (!strcmp(cmd, "run"))
		return cmd_run(ops, argv[optind + 1]);
	if (!strcmp(cmd, "check"))
		return cmd_check(argv[optind + 1], mode);
	usage();
}
