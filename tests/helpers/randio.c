/*
 * randio.c - model-based random I/O checker for the integration tests.
 *
 *   randio [-s SEED] [-n OPS] [-f FILES] [-m MAXSIZE] [-c CHUNK] [-q]
 *          DIR [REFDIR]
 *
 * Creates FILES files DIR/rand-N.bin and runs OPS random operations on
 * them (pwrite, pread, ftruncate up and down, writes past the end that
 * leave holes, O_APPEND writes, small sequential writes, fsync, fstat,
 * close and reopen), keeping the expected contents in memory.  Every read
 * is compared against the model.  On the first mismatch or failing system
 * call it prints what differs and the last operations, and exits 1.  At
 * the end every file is compared in full; with REFDIR, the model contents
 * are written there (same names) for a later comparison, e.g. after a
 * remount.  The same seed always gives the same operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINES 48
#define MAX_FILES 64

struct file {
	char path[4096];
	int fd;
	uint8_t *model;
	size_t size;
};

static uint64_t rng_state;
static char oplog[LOG_LINES][200];
static unsigned long opno;
static size_t chunk = 65536;
static size_t maxsize = 1 << 20;

static struct {
	unsigned long writes, reads, truncs, extends, appends, seqs, syncs,
		reopens, stats, fulls;
	unsigned long long bytes_written, bytes_read;
} count;

static uint64_t rnd(void)
{
	/* splitmix64: tiny, and the same sequence everywhere */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logop(const char *fmt, ...)
{
	va_list ap;
	char *line = oplog[opno % LOG_LINES];
	int n = snprintf(line, sizeof(oplog[0]), "#%lu ", opno);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(oplog[0]) - (size_t)n, fmt, ap);
	va_end(ap);
}

static _Noreturn void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	unsigned long i, first = opno >= LOG_LINES ? opno - LOG_LINES + 1 : 0;

	fflush(stdout);
	fprintf(stderr, "randio: FAILED at op #%lu: ", opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrandio: last operations:\n");
	for (i = first; i <= opno; i++)
		if (oplog[i % LOG_LINES][0])
			fprintf(stderr, "  %s\n", oplog[i % LOG_LINES]);
	exit(1);
}

/* A length: mostly small, often around the chunk size, sometimes large. */
static size_t rnd_len(void)
{
	switch (rnd_below(8)) {
	case 0:
		return 1 + rnd_below(16);
	case 1:
	case 2:
		return 1 + rnd_below(4096);
	case 3:
		return chunk - 8 + rnd_below(17);	/* chunk +- 8 */
	case 4:
		return chunk * (1 + rnd_below(2));
	case 5:
		return 1 + rnd_below(3 * chunk);
	default:
		return 1 + rnd_below(chunk);
	}
}

/* An offset: anywhere in the file, often near a chunk boundary. */
static size_t rnd_off(size_t size)
{
	size_t lim = size + chunk;

	if (rnd_below(3) == 0) {
		size_t b = rnd_below(lim / chunk + 1) * chunk;

		return b + rnd_below(9) - (b >= 4 ? 4 : 0);
	}
	return rnd_below(lim);
}

static void fill(uint8_t *p, size_t len)
{
	size_t i;
	uint8_t c;

	switch (rnd_below(5)) {
	case 0:		/* zeros: must not be confused with holes */
		memset(p, 0, len);
		break;
	case 1:		/* one byte value, very compressible */
		memset(p, (int)(rnd() & 0xff), len);
		break;
	case 2:		/* text-like, compressible */
		c = (uint8_t)rnd();
		for (i = 0; i < len; i++)
			p[i] = (uint8_t)("vaultfs randio line of text\n"[(i + c) % 28]);
		break;
	default:	/* random, incompressible */
		for (i = 0; i + 8 <= len; i += 8) {
			uint64_t r = rnd();

			memcpy(p + i, &r, 8);
		}
		for (; i < len; i++)
			p[i] = (uint8_t)rnd();
		break;
	}
}

static void xpwrite(struct file *f, int fd, const uint8_t *buf, size_t len,
		    size_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done,
				   (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("pwrite %s len %zu off %zu: %s", f->path, len, off,
			    n < 0 ? strerror(errno) : "wrote nothing");
		done += (size_t)n;
	}
}

static void model_write(struct file *f, const uint8_t *buf, size_t len,
			size_t off)
{
	if (off > f->size)
		memset(f->model + f->size, 0, off - f->size);
	memcpy(f->model + off, buf, len);
	if (off + len > f->size)
		f->size = off + len;
	count.bytes_written += len;
}

static void open_file(struct file *f, int flags)
{
	f->fd = open(f->path, O_RDWR | O_CLOEXEC | flags, 0644);
	if (f->fd < 0)
		die("open %s: %s", f->path, strerror(errno));
}

/* Read [off, off+len) and compare with the model. */
static void check_range(struct file *f, size_t off, size_t len, uint8_t *buf)
{
	size_t want = off < f->size ? f->size - off : 0, got = 0, i;

	if (want > len)
		want = len;
	while (got < len) {
		ssize_t n = pread(f->fd, buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("pread %s len %zu off %zu: %s", f->path, len, off,
			    strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	count.bytes_read += got;
	if (got != want)
		die("read of %s at %zu len %zu returned %zu bytes, expected %zu "
		    "(file size %zu)", f->path, off, len, got, want, f->size);
	for (i = 0; i < got; i++)
		if (buf[i] != f->model[off + i])
			die("%s: byte at offset %zu is 0x%02x, expected 0x%02x "
			    "(read at %zu len %zu, file size %zu)", f->path,
			    off + i, buf[i], f->model[off + i], off, len,
			    f->size);
}

static void check_size(struct file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		die("fstat %s: %s", f->path, strerror(errno));
	if ((size_t)st.st_size != f->size)
		die("%s: st_size %jd, expected %zu", f->path,
		    (intmax_t)st.st_size, f->size);
}

static void one_op(struct file *f, uint8_t *buf, uint8_t *rbuf)
{
	size_t off, len, n;
	unsigned op = (unsigned)rnd_below(100);
	int afd;

	if (op < 32) {				/* pwrite */
		off = rnd_off(f->size);
		len = rnd_len();
		if (off >= maxsize)
			off = rnd_below(maxsize);
		if (off + len > maxsize)
			len = maxsize - off;
		fill(buf, len);
		logop("pwrite %s off %zu len %zu", f->path, off, len);
		xpwrite(f, f->fd, buf, len, off);
		model_write(f, buf, len, off);
		count.writes++;
	} else if (op < 62) {			/* pread */
		off = rnd_off(f->size);
		len = rnd_len();
		logop("pread %s off %zu len %zu (size %zu)", f->path, off, len,
		      f->size);
		check_range(f, off, len, rbuf);
		count.reads++;
	} else if (op < 70) {			/* ftruncate up or down */
		if (rnd_below(2))
			len = rnd_below(f->size + 1);
		else
			len = f->size + rnd_below(3 * chunk);
		if (len > maxsize)
			len = maxsize;
		logop("ftruncate %s %zu -> %zu", f->path, f->size, len);
		if (ftruncate(f->fd, (off_t)len) < 0)
			die("ftruncate %s to %zu: %s", f->path, len,
			    strerror(errno));
		if (len > f->size)
			memset(f->model + f->size, 0, len - f->size);
		f->size = len;
		count.truncs++;
	} else if (op < 76) {			/* write past the end: hole */
		off = f->size + 1 + rnd_below(3 * chunk);
		len = 1 + rnd_below(chunk / 2);
		if (off + len > maxsize) {
			logop("extend %s skipped (at max size)", f->path);
			return;
		}
		fill(buf, len);
		logop("extend %s off %zu len %zu (size %zu)", f->path, off, len,
		      f->size);
		xpwrite(f, f->fd, buf, len, off);
		model_write(f, buf, len, off);
		count.extends++;
	} else if (op < 81) {			/* O_APPEND on a second fd */
		len = rnd_len() % 8192 + 1;
		if (f->size + len > maxsize) {
			logop("append %s skipped (at max size)", f->path);
			return;
		}
		fill(buf, len);
		logop("append %s len %zu (size %zu)", f->path, len, f->size);
		afd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (afd < 0)
			die("open O_APPEND %s: %s", f->path, strerror(errno));
		n = 0;
		while (n < len) {
			ssize_t w = write(afd, buf + n, len - n);

			if (w <= 0)
				die("append to %s: %s", f->path,
				    w < 0 ? strerror(errno) : "wrote nothing");
			n += (size_t)w;
		}
		if (close(afd) < 0)
			die("close O_APPEND %s: %s", f->path, strerror(errno));
		model_write(f, buf, len, f->size);
		count.appends++;
	} else if (op < 85) {			/* small sequential writes */
		size_t rec = 1 + rnd_below(300), k = 1 + rnd_below(64), i;

		off = rnd_below(f->size + 1);
		if (off + rec * k > maxsize) {
			logop("seqwrite %s skipped (at max size)", f->path);
			return;
		}
		logop("seqwrite %s off %zu %zu x %zu bytes", f->path, off, k,
		      rec);
		if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
			die("lseek %s: %s", f->path, strerror(errno));
		for (i = 0; i < k; i++) {
			fill(buf, rec);
			if (write(f->fd, buf, rec) != (ssize_t)rec)
				die("write %s record %zu: %s", f->path, i,
				    strerror(errno));
			model_write(f, buf, rec, off + i * rec);
		}
		count.seqs++;
	} else if (op < 89) {			/* fsync / fdatasync */
		int data = (int)rnd_below(2);

		logop("%s %s", data ? "fdatasync" : "fsync", f->path);
		if ((data ? fdatasync(f->fd) : fsync(f->fd)) < 0)
			die("fsync %s: %s", f->path, strerror(errno));
		count.syncs++;
	} else if (op < 93) {			/* close and reopen */
		logop("close+reopen %s", f->path);
		if (close(f->fd) < 0)
			die("close %s: %s", f->path, strerror(errno));
		open_file(f, 0);
		count.reopens++;
	} else if (op < 98) {			/* fstat */
		logop("fstat %s (size %zu)", f->path, f->size);
		check_size(f);
		count.stats++;
	} else {				/* read all of it */
		logop("read all of %s (size %zu)", f->path, f->size);
		check_range(f, 0, f->size + 1, rbuf);
		count.fulls++;
	}
}

static void write_ref(const struct file *f, const char *refdir)
{
	char path[4200];
	const char *base = strrchr(f->path, '/') + 1;
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", refdir, base);
	out = fopen(path, "wb");
	if (!out || fwrite(f->model, 1, f->size, out) != f->size ||
	    fclose(out) != 0)
		die("cannot write reference %s: %s", path, strerror(errno));
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: randio [-s SEED] [-n OPS] [-f FILES] "
		"[-m MAXSIZE] [-c CHUNK] [-q] DIR [REFDIR]\n");
	exit(2);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static struct file files[MAX_FILES];
	unsigned long long seed = 1, ops = 1000;
	size_t nfiles = 3, i;
	uint8_t *buf, *rbuf;
	int c, quiet = 0;

	while ((c = getopt(argc, argv, "s:n:f:m:c:q")) != -1) {
		switch (c) {
		case 's': seed = num(optarg); break;
		case 'n': ops = num(optarg); break;
		case 'f': nfiles = (size_t)num(optarg); break;
		case 'm': maxsize = (size_t)num(optarg); break;
		case 'c': chunk = (size_t)num(optarg); break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (argc - optind < 1 || argc - optind > 2 || nfiles < 1 ||
	    nfiles > MAX_FILES || chunk < 16 || maxsize < chunk)
		usage();
	rng_state = seed;
	buf = malloc(4 * chunk + maxsize);
	rbuf = malloc(4 * chunk + maxsize + 1);
	if (!buf || !rbuf)
		die("out of memory");
	for (i = 0; i < nfiles; i++) {
		struct file *f = &files[i];

		snprintf(f->path, sizeof(f->path), "%s/rand-%zu.bin",
			 argv[optind], i);
		f->model = calloc(1, maxsize + 1);
		if (!f->model)
			die("out of memory");
		open_file(f, O_CREAT | O_TRUNC);
	}
	for (opno = 1; opno <= ops; opno++)
		one_op(&files[rnd_below(nfiles)], buf, rbuf);
	opno = ops;
	for (i = 0; i < nfiles; i++) {
		struct file *f = &files[i];

		logop("final check of %s (size %zu)", f->path, f->size);
		check_size(f);
		check_range(f, 0, f->size + 1, rbuf);
		if (close(f->fd) < 0)
			die("close %s: %s", f->path, strerror(errno));
		if (argc - optind == 2)
			write_ref(f, argv[optind + 1]);
	}
	if (!quiet)
		printf("randio: seed %llu: %llu ops on %zu files ok "
		       "(%lu pwrite, %lu pread, %lu truncate, %lu extend, "
		       "%lu append, %lu seqwrite, %lu sync, %lu reopen, "
		       "%lu fstat, %lu full read; %llu bytes written, "
		       "%llu read)\n", seed, ops, nfiles, count.writes,
		       count.reads, count.truncs, count.extends, count.appends,
		       count.seqs, count.syncs, count.reopens, count.stats,
		       count.fulls, count.bytes_written, count.bytes_read);
	for (i = 0; i < nfiles; i++)
		free(files[i].model);
	free(buf);
	free(rbuf);
	return 0;
}
