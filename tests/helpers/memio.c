/*
 * memio.c - workloads for the daemon's memory bounds (t4006).
 *
 *   memio sparse [-s SEED] [-n OPS] [-z SIZE] FILE
 *       Make FILE a sparse file of SIZE bytes (default 2 GiB) and do OPS
 *       random operations: pwrite of 8 bytes to 1 MiB at random 8-byte
 *       aligned offsets, pread of the same sizes, now and then fsync.
 *       Every 8-byte word at offset x that was written holds a value
 *       derived from (SEED, x), so reads are checked without a model of
 *       the file: a word reads as that value where it was written (a
 *       4 KiB-granular map says where) and as that value or zero
 *       elsewhere.  Exit 1 on a wrong word.
 *   memio create DIR N
 *       Create N files of 100 bytes under DIR (1000 per subdirectory),
 *       then stat each and read a sample back.  Exit 1 on any error.
 *   memio hold DIR N
 *       Create N files of 100 bytes in DIR keeping every one open, then
 *       close them all.  Exit 1 (after closing) at the first error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IO (1 << 20)

static uint64_t seed = 1;

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t word_at(uint64_t off)
{
	uint64_t s = seed ^ (off * 0x9e3779b97f4a7c15ULL);

	return mix(&s) | 1;	/* never zero */
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: memio sparse [-s SEED] [-n OPS] [-z SIZE] FILE | hold DIR N | "
		"create DIR N\n");
	exit(2);
}

static int cmd_sparse(int argc, char **argv)
{
	uint64_t size = 2ULL << 30, ops = 2000, rng;
	unsigned long long writes = 0, reads = 0, wbytes = 0, rbytes = 0;
	static uint8_t *map;		/* static: reachable until exit */
	static uint64_t *buf;
	int c, fd;

	while ((c = getopt(argc, argv, "s:n:z:")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': ops = strtoull(optarg, NULL, 0); break;
		case 'z': size = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind != 1 || size < 2 * MAX_IO)
		usage();
	map = calloc(size / 4096 / 8 + 1, 1);
	buf = malloc(MAX_IO);
	if (!map || !buf)
		usage();
	fd = open(argv[optind], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror(argv[optind]);
		return 2;
	}
	rng = seed;
	for (uint64_t k = 0; k < ops; k++) {
		uint64_t r = mix(&rng) % 100;
		uint64_t len = r % 3 == 0 ? 8 * (1 + mix(&rng) % 64) :
			       8 * (1 + mix(&rng) % (MAX_IO / 8));
		uint64_t off = (mix(&rng) % ((size - len) / 8)) * 8;
		ssize_t n;

		if (r < 45) {
			for (uint64_t i = 0; i < len / 8; i++)
				buf[i] = word_at(off + 8 * i);
			n = pwrite(fd, buf, len, (off_t)off);
			if (n != (ssize_t)len) {
				fprintf(stderr, "memio: pwrite at %" PRIu64 ": %s\n",
					off, n < 0 ? strerror(errno) : "short");
				return 2;
			}
			/* whole 4 KiB pages inside the write are now known */
			for (uint64_t p = (off + 4095) / 4096;
			     (p + 1) * 4096 <= off + len; p++)
				map[p / 8] |= (uint8_t)(1u << (p % 8));
			writes++;
			wbytes += len;
		} else if (r < 97) {
			n = pread(fd, buf, len, (off_t)off);
			if (n != (ssize_t)len) {
				fprintf(stderr, "memio: pread at %" PRIu64 ": %s\n",
					off, n < 0 ? strerror(errno) : "short");
				return 2;
			}
			for (uint64_t i = 0; i < len / 8; i++) {
				uint64_t x = off + 8 * i, p = x / 4096;
				bool known = map[p / 8] & (1u << (p % 8));

				if (buf[i] == word_at(x) || (!known && buf[i] == 0))
					continue;
				printf("memio: wrong word at %" PRIu64 ": %016" PRIx64
				       " (expected %016" PRIx64 "%s)\n", x, buf[i],
				       word_at(x), known ? "" : " or zero");
				return 1;
			}
			reads++;
			rbytes += len;
		} else if (fsync(fd) < 0) {
			perror("memio: fsync");
			return 2;
		}
	}
	if (close(fd) < 0) {
		perror("memio: close");
		return 2;
	}
	printf("memio: %" PRIu64 "-byte sparse file: %llu writes (%llu MiB), "
	       "%llu reads (%llu MiB), all correct\n", size, writes, wbytes >> 20,
	       reads, rbytes >> 20);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	char p[4096], line[100];
	unsigned long n;

	if (argc != 3)
		usage();
	n = strtoul(argv[2], NULL, 0);
	memset(line, 'm', sizeof(line));
	for (unsigned long i = 0; i < n; i++) {
		int fd;

		if (i % 1000 == 0) {
			snprintf(p, sizeof(p), "%s/d%lu", argv[1], i / 1000);
			if (mkdir(p, 0755) < 0) {
				fprintf(stderr, "memio: mkdir %s: %s\n", p, strerror(errno));
				return 1;
			}
		}
		snprintf(p, sizeof(p), "%s/d%lu/file-%lu", argv[1], i / 1000, i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, sizeof(line)) != sizeof(line) ||
		    close(fd) < 0) {
			fprintf(stderr, "memio: creating file %lu of %lu: %s\n", i, n,
				strerror(errno));
			return 1;
		}
	}
	for (unsigned long i = 0; i < n; i++) {
		struct stat st;

		snprintf(p, sizeof(p), "%s/d%lu/file-%lu", argv[1], i / 1000, i);
		if (stat(p, &st) < 0 || st.st_size != sizeof(line)) {
			fprintf(stderr, "memio: stat of file %lu: %s\n", i,
				strerror(errno));
			return 1;
		}
		if (i % 97 == 0) {
			char got[sizeof(line)];
			int fd = open(p, O_RDONLY | O_CLOEXEC);

			if (fd < 0 || read(fd, got, sizeof(got)) != sizeof(got) ||
			    memcmp(got, line, sizeof(got)) || close(fd) < 0) {
				fprintf(stderr, "memio: reading file %lu back: %s\n",
					i, strerror(errno));
				return 1;
			}
		}
	}
	printf("memio: %lu files created, stat'ed and sampled\n", n);
	return 0;
}

static int cmd_hold(int argc, char **argv)
{
	char p[4096], line[100];
	unsigned long n, i;
	int *fds, rc = 0;

	if (argc != 3)
		usage();
	n = strtoul(argv[2], NULL, 0);
	fds = calloc(n ? n : 1, sizeof(*fds));
	if (!fds)
		return 1;
	memset(line, 'h', sizeof(line));
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/held-%lu", argv[1], i);
		fds[i] = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fds[i] < 0 || write(fds[i], line, sizeof(line)) != sizeof(line)) {
			fprintf(stderr, "memio: creating file %lu of %lu: %s\n", i, n,
				strerror(errno));
			rc = 1;
			if (fds[i] >= 0)
				i++;
			break;
		}
	}
	while (i-- > 0)
		if (close(fds[i]) < 0 && rc == 0) {
			fprintf(stderr, "memio: closing file %lu: %s\n", i,
				strerror(errno));
			rc = 1;
		}
	free(fds);
	if (rc == 0)
		printf("memio: %lu files held open at once\n", n);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "sparse"))
		return cmd_sparse(argc - 1, argv + 1);
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc - 1, argv + 1);
	usage();
}
