/*
 * bench-io.c - the I/O kernels and data generators of `make bench`.
 *
 * Not built by the Makefile: tests/bench/bench.sh compiles it with cc -O2
 * into build/bench/.  Every timed command prints one line on stdout:
 *
 *   seqwrite PATH MIB SEED        -> "SECONDS BYTES HASH"  (PRNG data, fsync)
 *   seqread  PATH                 -> "SECONDS BYTES HASH"
 *   writefiles DSTDIR SRC...      -> "SECONDS BYTES"  (sources loaded into
 *                                    memory first; each file fsynced)
 *   readfiles FILE...             -> "SECONDS BYTES HASH"
 *   randread  PATH NOPS SEED      -> "SECONDS NOPS"   (4 KiB pread,
 *                                    POSIX_FADV_RANDOM)
 *   randwrite PATH NOPS SEED      -> "SECONDS NOPS"   (4 KiB pwrite, fsync)
 *   run CMD ARGS...               -> "SECONDS STATUS" (runs CMD, its stdout
 *                                    sent to stderr; STATUS is its exit
 *                                    status, 128+N for signal N)
 *   unmount MNT PID               -> "SECONDS" from `fusermount3 -u MNT`
 *                                    until process PID (the daemon) has
 *                                    exited; fails if fusermount3 fails
 *
 * Untimed helpers:
 *
 *   gencsv  PATH MIB SEED         deterministic CSV of numbers and words
 *   gentree DIR NFILES NDIRS SEED deterministic tree of small text files
 *   hash    FILE...               -> "BYTES HASH", same hash as readfiles
 *   now                           -> monotonic clock in seconds, for sh
 *
 * The clock is CLOCK_MONOTONIC.  The hash is a fast non-cryptographic
 * 64-bit mix, only there to catch a file system returning wrong data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { IO_BYTES = 1 << 20, BLOCK_BYTES = 4096 };

static const char *const words[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel", "india", "juliet", "kilo", "lima", "mike", "november",
	"oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
	"victor", "whiskey", "xray", "yankee", "zulu", "pressure", "sensor",
	"thermal", "vibration", "antenna", "gimbal", "thruster", "valve",
	"harness", "telemetry", "calibration", "nominal", "anomaly", "report",
	"the", "of", "and", "to", "in", "is", "for", "with", "on", "was",
	"result", "measured", "expected", "within", "limits", "test", "run",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void die(const char *what, const char *subject)
{
	fprintf(stderr, "bench-io: %s '%s': %s\n", what, subject,
		strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-io seqwrite|seqread|writefiles|"
		"readfiles|randread|randwrite|run|unmount|gencsv|gentree|hash|now "
		"ARGS...\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: fast, good enough to make data zstd cannot shrink. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(unsigned char *buf, size_t len, uint64_t *s)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = rnd(s);
		memcpy(buf + i, &v, 8);
	}
	for (; i < len; i++)
		buf[i] = (unsigned char)rnd(s);
}

struct hash {
	uint64_t h;
	uint64_t n;
};

static void hash_update(struct hash *hs, const unsigned char *p, size_t len)
{
	uint64_t h = hs->h;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	hs->h = h;
	hs->n += len;
}

/*
 * Hash positions must not depend on how read() splits a file, so data is
 * fed in IO_BYTES pieces exactly as written.
 */
static void hash_fd(int fd, const char *path, struct hash *hs,
		    unsigned char *buf)
{
	for (;;) {
		size_t got = 0;
		ssize_t r;

		while (got < IO_BYTES) {
			r = read(fd, buf + got, IO_BYTES - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				die("cannot read", path);
			if (r == 0)
				break;
			got += (size_t)r;
		}
		hash_update(hs, buf, got);
		if (got < IO_BYTES)
			return;
	}
}

static void write_all(int fd, const unsigned char *p, size_t len,
		      const char *path)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("cannot write", path);
		p += w;
		len -= (size_t)w;
	}
}

static unsigned char *xmalloc(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "bench-io: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0') {
		fprintf(stderr, "bench-io: bad number '%s'\n", s);
		exit(2);
	}
	return (uint64_t)v;
}

static int cmd_seqwrite(const char *path, uint64_t mib, uint64_t seed)
{
	unsigned char *buf = xmalloc(IO_BYTES);
	struct hash hs = { 0xcbf29ce484222325ULL, 0 };
	double t0, t1;
	uint64_t i;
	int fd;

	t0 = now();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create", path);
	for (i = 0; i < mib; i++) {
		fill(buf, IO_BYTES, &seed);
		hash_update(&hs, buf, IO_BYTES);
		write_all(fd, buf, IO_BYTES, path);
	}
	if (fsync(fd) < 0)
		die("cannot fsync", path);
	if (close(fd) < 0)
		die("cannot close", path);
	t1 = now();
	printf("%.6f %" PRIu64 " %016" PRIx64 "\n", t1 - t0, hs.n, hs.h);
	free(buf);
	return 0;
}

static int cmd_readfiles(int n, char **paths)
{
	unsigned char *buf = xmalloc(IO_BYTES);
	struct hash hs = { 0xcbf29ce484222325ULL, 0 };
	double t0, t1;
	int i;

	t0 = now();
	for (i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open", paths[i]);
		hash_fd(fd, paths[i], &hs, buf);
		close(fd);
	}
	t1 = now();
	printf("%.6f %" PRIu64 " %016" PRIx64 "\n", t1 - t0, hs.n, hs.h);
	free(buf);
	return 0;
}

static int cmd_hash(int n, char **paths)
{
	unsigned char *buf = xmalloc(IO_BYTES);
	struct hash hs = { 0xcbf29ce484222325ULL, 0 };
	int i;

	for (i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open", paths[i]);
		hash_fd(fd, paths[i], &hs, buf);
		close(fd);
	}
	printf("%" PRIu64 " %016" PRIx64 "\n", hs.n, hs.h);
	free(buf);
	return 0;
}

static int cmd_writefiles(const char *dir, int n, char **srcs)
{
	unsigned char **data = calloc((size_t)n, sizeof(*data));
	size_t *lens = calloc((size_t)n, sizeof(*lens));
	uint64_t total = 0;
	double t0, t1;
	int i;

	if (!data || !lens)
		usage();
	for (i = 0; i < n; i++) {
		struct stat st;
		int fd = open(srcs[i], O_RDONLY | O_CLOEXEC);
		size_t got = 0;

		if (fd < 0 || fstat(fd, &st) < 0)
			die("cannot open", srcs[i]);
		lens[i] = (size_t)st.st_size;
		data[i] = xmalloc(lens[i]);
		while (got < lens[i]) {
			ssize_t r = read(fd, data[i] + got, lens[i] - got);
			if (r <= 0)
				die("cannot read", srcs[i]);
			got += (size_t)r;
		}
		close(fd);
		total += lens[i];
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		const char *base = strrchr(srcs[i], '/');
		char path[4096];
		size_t off;
		int fd;

		base = base ? base + 1 : srcs[i];
		snprintf(path, sizeof(path), "%s/%s", dir, base);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("cannot create", path);
		for (off = 0; off < lens[i]; off += IO_BYTES) {
			size_t len = lens[i] - off;
			write_all(fd, data[i] + off, len < IO_BYTES ? len : IO_BYTES,
				  path);
		}
		if (fsync(fd) < 0)
			die("cannot fsync", path);
		if (close(fd) < 0)
			die("cannot close", path);
	}
	t1 = now();
	printf("%.6f %" PRIu64 "\n", t1 - t0, total);
	for (i = 0; i < n; i++)
		free(data[i]);
	free(data);
	free(lens);
	return 0;
}

static int cmd_random(const char *path, uint64_t nops, uint64_t seed,
		      int writing)
{
	unsigned char buf[BLOCK_BYTES];
	uint64_t blocks, i;
	struct stat st;
	double t0, t1;
	int fd;

	t0 = now();
	fd = open(path, (writing ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot open", path);
	/* no readahead: each operation should cost one 4 KiB access */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	blocks = (uint64_t)st.st_size / BLOCK_BYTES;
	if (blocks == 0) {
		fprintf(stderr, "bench-io: '%s' is smaller than 4 KiB\n", path);
		exit(1);
	}
	for (i = 0; i < nops; i++) {
		off_t off = (off_t)((rnd(&seed) % blocks) * BLOCK_BYTES);
		ssize_t r;

		if (writing) {
			fill(buf, sizeof(buf), &seed);
			r = pwrite(fd, buf, sizeof(buf), off);
		} else {
			r = pread(fd, buf, sizeof(buf), off);
		}
		if (r != (ssize_t)sizeof(buf)) {
			if (r >= 0)
				errno = EIO;
			die(writing ? "cannot pwrite" : "cannot pread", path);
		}
	}
	if (writing && fsync(fd) < 0)
		die("cannot fsync", path);
	if (close(fd) < 0)
		die("cannot close", path);
	t1 = now();
	printf("%.6f %" PRIu64 "\n", t1 - t0, nops);
	return 0;
}

/* fork + exec ARGV with stdout on stderr; returns its exit status. */
static int spawn_wait(char **argv)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("cannot fork for", argv[0]);
	if (pid == 0) {
		/* our stdout carries only the timing line */
		if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "bench-io: cannot run '%s': %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("cannot wait for", argv[0]);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int cmd_run(char **argv)
{
	double t0 = now();
	int st = spawn_wait(argv);

	printf("%.6f %d\n", now() - t0, st);
	return 0;
}

/*
 * Gone: no /proc entry, or a zombie nobody reaped yet (a daemon's parent
 * has exited, so whether it is reaped at once depends on the init).
 */
static int gone(const char *stat_path)
{
	char buf[512], *p;
	ssize_t n;
	int fd = open(stat_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

/*
 * The daemon flushes and closes after the kernel lets go of the mount:
 * the unmount is done when the daemon is gone.  Polled every 0.5 ms.
 */
static int cmd_unmount(const char *mnt, uint64_t pid)
{
	static const struct timespec tick = { 0, 500000 };
	char stat_path[64];
	char *argv[] = { "fusermount3", "-u", (char *)mnt, NULL };
	double t0;
	int st;

	snprintf(stat_path, sizeof(stat_path), "/proc/%" PRIu64 "/stat", pid);
	t0 = now();
	st = spawn_wait(argv);
	if (st != 0) {
		fprintf(stderr, "bench-io: fusermount3 -u '%s' failed (%d)\n",
			mnt, st);
		return 1;
	}
	while (!gone(stat_path))
		nanosleep(&tick, NULL);
	printf("%.6f\n", now() - t0);
	return 0;
}

/* Sensor-log style CSV: about 3-4x compressible, like real test data. */
static int cmd_gencsv(const char *path, uint64_t mib, uint64_t seed)
{
	uint64_t limit = mib << 20, done = 0, row = 0;
	FILE *f = fopen(path, "w");

	if (!f)
		die("cannot create", path);
	done += (uint64_t)fprintf(f, "id,timestamp,unit,channel,label,"
				  "value,min,max,status,comment\n");
	while (done < limit) {
		uint64_t a = rnd(&seed), b = rnd(&seed), c = rnd(&seed);
		int n = fprintf(f, "%" PRIu64 ",2024-%02u-%02uT%02u:%02u:%02u.%03uZ,"
				"U%03u,%u,%s-%s,%.4f,%.2f,%.2f,%s,%s %s %s\n",
				row++, (unsigned)(a % 12) + 1,
				(unsigned)(a >> 8) % 28 + 1,
				(unsigned)(a >> 16) % 24,
				(unsigned)(a >> 24) % 60,
				(unsigned)(a >> 32) % 60,
				(unsigned)(a >> 40) % 1000,
				(unsigned)(b % 200), (unsigned)(b >> 8) % 16,
				words[(b >> 16) % NWORDS],
				words[(b >> 24) % NWORDS],
				(double)(int64_t)(c % 2000000) / 1000.0 - 1000.0,
				(double)((c >> 24) % 10000) / 10.0 - 500.0,
				(double)((c >> 40) % 10000) / 10.0 + 500.0,
				(c >> 60) ? "OK" : "WARN",
				words[(a >> 48) % NWORDS],
				words[(b >> 40) % NWORDS],
				words[(c >> 48) % NWORDS]);
		if (n < 0)
			die("cannot write", path);
		done += (uint64_t)n;
	}
	if (fclose(f) != 0)
		die("cannot write", path);
	return 0;
}

static void text_file(const char *path, uint64_t size, uint64_t *seed)
{
	FILE *f = fopen(path, "w");
	uint64_t done = 0;
	int col = 0;

	if (!f)
		die("cannot create", path);
	while (done < size) {
		const char *w = words[rnd(seed) % NWORDS];
		size_t len = strlen(w);

		fputs(w, f);
		col += (int)len + 1;
		done += len + 1;
		fputc(col > 70 ? '\n' : ' ', f);
		if (col > 70)
			col = 0;
	}
	if (fclose(f) != 0)
		die("cannot write", path);
}

/*
 * NDIRS directories two levels deep (dNN/sNN), files spread over them,
 * sizes log-uniform between 64 B and 16 KiB.
 */
static int cmd_gentree(const char *root, uint64_t nfiles, uint64_t ndirs,
		       uint64_t seed)
{
	uint64_t top = 1, i;
	char path[4096];

	while (top * top < ndirs)
		top++;
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		die("cannot create", root);
	for (i = 0; i < ndirs; i++) {
		snprintf(path, sizeof(path), "%s/d%03" PRIu64, root, i / top);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("cannot create", path);
		snprintf(path, sizeof(path), "%s/d%03" PRIu64 "/s%03" PRIu64,
			 root, i / top, i % top);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die("cannot create", path);
	}
	for (i = 0; i < nfiles; i++) {
		uint64_t d = i % ndirs;
		unsigned shift = (unsigned)(rnd(&seed) % 9); /* 2^6 .. 2^14 */
		uint64_t size = (64ULL << shift) + rnd(&seed) % (64ULL << shift);

		snprintf(path, sizeof(path),
			 "%s/d%03" PRIu64 "/s%03" PRIu64 "/file%05" PRIu64 ".txt",
			 root, d / top, d % top, i);
		text_file(path, size, &seed);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "seqwrite") && argc == 5)
		return cmd_seqwrite(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(cmd, "seqread") && argc == 3)
		return cmd_readfiles(1, argv + 2);
	if (!strcmp(cmd, "readfiles") && argc >= 3)
		return cmd_readfiles(argc - 2, argv + 2);
	if (!strcmp(cmd, "writefiles") && argc >= 4)
		return cmd_writefiles(argv[2], argc - 3, argv + 3);
	if (!strcmp(cmd, "randread") && argc == 5)
		return cmd_random(argv[2], num(argv[3]), num(argv[4]), 0);
	if (!strcmp(cmd, "randwrite") && argc == 5)
		return cmd_random(argv[2], num(argv[3]), num(argv[4]), 1);
	if (!strcmp(cmd, "run") && argc >= 3)
		return cmd_run(argv + 2);
	if (!strcmp(cmd, "unmount") && argc == 4)
		return cmd_unmount(argv[2], num(argv[3]));
	if (!strcmp(cmd, "gencsv") && argc == 5)
		return cmd_gencsv(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(cmd, "gentree") && argc == 6)
		return cmd_gentree(argv[2], num(argv[3]), num(argv[4]),
				   num(argv[5]));
	if (!strcmp(cmd, "now") && argc == 2) {
		printf("%.6f\n", now());
		return 0;
	}
	if (!strcmp(cmd, "hash") && argc >= 3)
		return cmd_hash(argc - 2, argv + 2);
	usage();
	return 2;
}
