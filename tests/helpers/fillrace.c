/*
 * fillrace.c - random reads racing with rewrites (t1010): after a random
 * read the daemon puts the rest of the chunk into the page cache; that
 * must never bring back data older than what a finished write left.
 *
 *   fillrace race DIR SECONDS [READERS] [TRUNCATE]
 *   fillrace pages FILE REF
 *
 * DIR/fill holds CHUNKS chunks of CS bytes; every 4 KiB page is stamped
 * with its page number and a version in each of its 8-byte words.  One
 * writer rewrites whole chunks with the next version (open, pwrite,
 * close each time, and with TRUNCATE=1 a truncate(2) by path to the same
 * size now and then) and publishes, after close returns, the version now
 * in place.  READERS readers pread random pages (some through a
 * descriptor kept open, some through a fresh open) and check each word
 * of each page: right page number, and a version not older than the one
 * published before the read began.  Exit 0 with a summary line
 * when no read failed a check, 1 otherwise (the first failures printed),
 * 2 on a usage or setup error.
 *
 * pages: through one descriptor (POSIX_FADV_RANDOM), read 4 KiB page 3,
 * wait 0.2 s, then read pages 0 to 15 in turn, and compare each with the same page of REF
 * (a plain copy).  Exit 0 if all match.  The access log then shows how
 * many of those bytes reached the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CS 65536
#define CHUNKS 32
#define PAGE 4096
#define PAGES (CHUNKS * CS / PAGE)
#define MAX_READERS 8

struct shared {
	volatile uint64_t done[CHUNKS];	/* version in place, published */
	volatile int stop;
	volatile uint64_t reads[MAX_READERS], bad[MAX_READERS];
	volatile uint64_t writes;
};

static struct shared *sh;
static char path[4096];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void stamp(uint8_t *p, uint64_t page, uint64_t version)
{
	uint64_t w = page << 40 | version;

	for (size_t i = 0; i < PAGE; i += 8)
		memcpy(p + i, &w, 8);
}

static int write_chunk(int fd, uint64_t k, uint64_t version)
{
	static uint8_t buf[CS];

	for (uint64_t i = 0; i < CS / PAGE; i++)
		stamp(buf + i * PAGE, k * (CS / PAGE) + i, version);
	return pwrite(fd, buf, CS, (off_t)(k * CS)) == CS ? 0 : -1;
}

static void writer(int truncate_too)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL, ver[CHUNKS] = { 0 };

	while (!sh->stop) {
		uint64_t k = rnd(&s) % CHUNKS;
		int fd = open(path, O_RDWR);

		if (fd < 0 || write_chunk(fd, k, ver[k] + 1) < 0) {
			perror("fillrace: writer");
			exit(2);
		}
		if (close(fd) < 0) {
			perror("fillrace: writer: close");
			exit(2);
		}
		ver[k]++;
		__atomic_store_n(&sh->done[k], ver[k], __ATOMIC_SEQ_CST);
		sh->writes++;
		if (truncate_too && rnd(&s) % 8 == 0 &&
		    truncate(path, (off_t)CHUNKS * CS) < 0) {
			perror("fillrace: writer: truncate");
			exit(2);
		}
	}
	exit(0);
}

/*
 * Every word of the page must name the page and a version no older than
 * floor.  Words of two versions in one page are allowed: Linux does not
 * make a buffered read atomic against a write in progress (seen without
 * any page cache fill too).
 */
static int check(const uint8_t *p, uint64_t page, uint64_t floor, int id)
{
	for (size_t i = 0; i < PAGE; i += 8) {
		uint64_t w, v;

		memcpy(&w, p + i, 8);
		v = w & ((UINT64_C(1) << 40) - 1);
		if (w >> 40 == page && v >= floor)
			continue;
		if (sh->bad[id] < 5)
			printf("reader %d: page %" PRIu64 ", byte %zu: says "
			       "page %" PRIu64 " version %" PRIu64 ", expected "
			       "version >= %" PRIu64 "\n", id, page, i,
			       w >> 40, v, floor);
		return -1;
	}
	return 0;
}

static void reader(int id)
{
	uint64_t s = 0xD1B54A32D192ED03ULL + (uint64_t)id * 7919;
	uint8_t buf[PAGE];
	int keep = open(path, O_RDONLY);

	if (keep < 0) {
		perror("fillrace: reader");
		exit(2);
	}
	(void)posix_fadvise(keep, 0, 0, POSIX_FADV_RANDOM);
	while (!sh->stop) {
		uint64_t page = rnd(&s) % PAGES, k = page / (CS / PAGE);
		uint64_t floor = __atomic_load_n(&sh->done[k], __ATOMIC_SEQ_CST);
		int fd = keep, fresh = rnd(&s) % 16 == 0;

		if (fresh && (fd = open(path, O_RDONLY)) < 0) {
			perror("fillrace: reader: open");
			exit(2);
		}
		if (fresh)
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
		if (pread(fd, buf, PAGE, (off_t)(page * PAGE)) != PAGE) {
			perror("fillrace: reader: pread");
			exit(2);
		}
		if (check(buf, page, floor, id) < 0)
			sh->bad[id]++;
		sh->reads[id]++;
		if (fresh)
			close(fd);
	}
	exit(0);
}

static int pages(const char *file, const char *ref)
{
	uint8_t a[PAGE], b[PAGE];
	int fd = open(file, O_RDONLY), rf = open(ref, O_RDONLY), bad = 0;

	if (fd < 0 || rf < 0) {
		perror("fillrace: pages");
		return 2;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	for (int i = -1; i < CS / PAGE; i++) {
		off_t off = (off_t)(i < 0 ? 3 : i) * PAGE;
		ssize_t n = pread(fd, a, PAGE, off);

		if (n < 0 || pread(rf, b, PAGE, off) != n ||
		    memcmp(a, b, (size_t)n) != 0) {
			printf("fillrace: page %jd differs\n", (intmax_t)off / PAGE);
			bad = 1;
		}
		if (i < 0)	/* the daemon fills after its reply */
			usleep(200000);
	}
	close(fd);
	close(rf);
	return bad;
}

int main(int argc, char **argv)
{
	int nreaders, truncate_too;
	pid_t pids[MAX_READERS + 1];
	uint64_t reads = 0, bad = 0;
	int fd, status = 0;

	if (argc == 4 && strcmp(argv[1], "pages") == 0)
		return pages(argv[2], argv[3]);
	nreaders = argc > 4 ? atoi(argv[4]) : 3;
	truncate_too = argc > 5 && atoi(argv[5]) != 0;
	if (argc < 4 || strcmp(argv[1], "race") != 0 || nreaders < 1 ||
	    nreaders > MAX_READERS) {
		fprintf(stderr, "usage: fillrace race DIR SECONDS [READERS] "
			"[TRUNCATE]\n       fillrace pages FILE REF\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fill", argv[2]);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	memset((void *)sh, 0, sizeof(*sh));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("fillrace: create");
		return 2;
	}
	for (uint64_t k = 0; k < CHUNKS; k++)
		if (write_chunk(fd, k, 0) < 0) {
			perror("fillrace: fill");
			return 2;
		}
	if (close(fd) < 0)
		return 2;
	for (int i = 0; i <= nreaders; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 2;
		if (pids[i] == 0) {
			if (i == 0)
				writer(truncate_too);
			reader(i - 1);
		}
	}
	sleep((unsigned)atoi(argv[3]));
	sh->stop = 1;
	for (int i = 0; i <= nreaders; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			status = 2;
	}
	for (int i = 0; i < nreaders; i++) {
		reads += sh->reads[i];
		bad += sh->bad[i];
	}
	printf("fillrace: %" PRIu64 " chunk writes, %" PRIu64 " page reads, %"
	       PRIu64 " bad\n", (uint64_t)sh->writes, reads, bad);
	if (status)
		return status;
	return bad ? 1 : 0;
}
