/*
 * threadio.c - many threads doing random I/O on shared files, checked for
 * linearizability (t4005).
 *
 *   threadio [-t THREADS] [-n OPS] [-f FILES] [-b BLOCKS] [-s SEED] DIR
 *
 * Creates DIR/shared-0 .. shared-(FILES-1), BLOCKS 4 KiB blocks each (a
 * hole at first), and starts THREADS threads that each do OPS random
 * operations on them: pwrite of one to four whole blocks (a record per
 * block that names its file, block, thread and sequence number, and
 * pseudo-random contents from those), pread of one to four blocks,
 * fsync.  Every operation takes a tick from a shared counter before and
 * after its system call, and writes are logged per block with their
 * ticks.
 *
 * Each byte a read returns must come from a write to that block that may
 * be the latest one at some moment during the read: one that overlapped
 * the read, or one that finished before it and was not overwritten by a
 * write that began after it finished and also finished before the read
 * (or zero if no write to the block had finished).  At the end, with no
 * one writing, every block must hold exactly one such record, whole.
 * Prints a summary; on a violation, what was read where; exit 1 then,
 * 0 if all is well, 2 on usage or system errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096
#define MAX_SPAN 4

struct wlog {
	uint32_t thread, seq;
	uint64_t start, end;		/* end == UINT64_MAX: in progress */
};

struct block {
	pthread_mutex_t lock;
	struct wlog *w;
	size_t n, cap;
};

static int nthreads = 8, nfiles = 3, nblocks = 64;
static unsigned long nops = 2000;
static uint64_t seed = 1;
static int *fds;
static struct block *blocks;		/* nfiles * nblocks */
static atomic_uint_fast64_t clock_ticks;
static atomic_ulong violations, reads_done, writes_done, syncs_done,
	bytes_checked, overlapped_reads;

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The record thread t writes with sequence number seq to block b of file f. */
static void record(uint8_t out[BLOCK], int f, int b, uint32_t t, uint32_t seq)
{
	uint64_t s = seed ^ ((uint64_t)f << 48) ^ ((uint64_t)b << 32) ^
		     ((uint64_t)t << 24) ^ seq;
	char head[64];

	for (int i = 0; i < BLOCK; i += 8) {
		uint64_t v = mix(&s);

		memcpy(out + i, &v, 8);
	}
	memset(head, 0, sizeof(head));
	snprintf(head, sizeof(head), "TIO f%d b%d t%u s%u\n", f, b, t, seq);
	memcpy(out, head, sizeof(head));
}

static struct block *blk(int f, int b)
{
	return &blocks[f * nblocks + b];
}

static void log_start(struct block *bl, uint32_t t, uint32_t seq, uint64_t tick)
{
	pthread_mutex_lock(&bl->lock);
	if (bl->n == bl->cap) {
		bl->cap = bl->cap ? 2 * bl->cap : 16;
		bl->w = realloc(bl->w, bl->cap * sizeof(*bl->w));
		if (!bl->w) {
			perror("threadio");
			exit(2);
		}
	}
	bl->w[bl->n++] = (struct wlog){ t, seq, tick, UINT64_MAX };
	pthread_mutex_unlock(&bl->lock);
}

static void log_end(struct block *bl, uint32_t t, uint32_t seq, uint64_t tick)
{
	pthread_mutex_lock(&bl->lock);
	for (size_t i = bl->n; i-- > 0;)
		if (bl->w[i].thread == t && bl->w[i].seq == seq) {
			bl->w[i].end = tick;
			break;
		}
	pthread_mutex_unlock(&bl->lock);
}

/*
 * Writes to a block that may be its latest at some moment in [rs, re]:
 * candidates (at most max), and whether zero (no write done yet) may be.
 */
static size_t candidates(struct block *bl, uint64_t rs, uint64_t re,
			 struct wlog *out, size_t max, bool *zero_ok)
{
	size_t n = 0;

	pthread_mutex_lock(&bl->lock);
	*zero_ok = true;
	for (size_t i = 0; i < bl->n; i++) {
		const struct wlog *w = &bl->w[i];
		bool dominated = false;

		if (w->start > re)
			continue;		/* began after the read ended */
		if (w->end <= rs) {
			*zero_ok = false;
			/* overwritten by one that began after it and ended
			 * before the read began? */
			for (size_t j = 0; j < bl->n && !dominated; j++)
				if (bl->w[j].start > w->end && bl->w[j].end <= rs)
					dominated = true;
		}
		if (!dominated && n < max)
			out[n++] = *w;
	}
	pthread_mutex_unlock(&bl->lock);
	return n;
}

/* Check one block read in [rs, re]; whole: must be one record entirely. */
static bool check_block(int f, int b, const uint8_t *got, uint64_t rs,
			uint64_t re, bool whole)
{
	static const uint8_t zero[BLOCK];
	struct wlog c[256];
	uint8_t (*rec)[BLOCK];
	bool zero_ok, ok = true;
	size_t n = candidates(blk(f, b), rs, re, c, 256, &zero_ok);

	rec = malloc((n ? n : 1) * sizeof(*rec));
	if (!rec) {
		perror("threadio");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		record(rec[i], f, b, c[i].thread, c[i].seq);
	if (whole) {
		ok = zero_ok && !memcmp(got, zero, BLOCK);
		for (size_t i = 0; i < n && !ok; i++)
			ok = !memcmp(got, rec[i], BLOCK);
	} else {
		for (size_t x = 0; x < BLOCK && ok; x++) {
			bool any = zero_ok && got[x] == 0;

			for (size_t i = 0; i < n && !any; i++)
				any = got[x] == rec[i][x];
			if (!any) {
				char head[41];

				memcpy(head, got, 40);
				head[40] = '\0';
				head[strcspn(head, "\n")] = '\0';
				printf("violation: shared-%d block %d byte %zu is 0x%02x, "
				       "from none of %zu candidate writes%s (read in "
				       "ticks %" PRIu64 "..%" PRIu64 "; the block read "
				       "starts '%s')\n", f, b, x, got[x], n,
				       zero_ok ? " or zero" : "", rs, re,
				       got[0] == 'T' ? head : "?");
				for (size_t i = 0; i < n; i++)
					printf("  candidate: t%u s%u, ticks %" PRIu64
					       "..%" PRIu64 "\n", c[i].thread, c[i].seq,
					       c[i].start, c[i].end);
				ok = false;
			}
		}
	}
	if (whole && !ok) {
		char head[65];

		memcpy(head, got, 64);
		head[64] = '\0';
		head[strcspn(head, "\n")] = '\0';
		printf("violation: at the end shared-%d block %d holds '%.40s...', "
		       "not one whole candidate of %zu%s\n", f, b,
		       got[0] == 'T' ? head : "(no record)", n,
		       zero_ok ? " or zero" : "");
	}
	free(rec);
	if (!ok)
		atomic_fetch_add(&violations, 1);
	atomic_fetch_add(&bytes_checked, BLOCK);
	return ok;
}

struct targ {
	uint32_t id;
};

static void *worker(void *p)
{
	uint32_t t = ((struct targ *)p)->id;
	uint64_t rng = seed * 7919 + t;
	uint8_t *buf = malloc(BLOCK * MAX_SPAN);
	uint32_t seq = 0;

	if (!buf) {
		perror("threadio");
		exit(2);
	}
	for (unsigned long k = 0; k < nops; k++) {
		int f = (int)(mix(&rng) % (uint64_t)nfiles);
		int span = 1 + (int)(mix(&rng) % MAX_SPAN);
		int b = (int)(mix(&rng) % (uint64_t)(nblocks - span + 1));
		unsigned r = (unsigned)(mix(&rng) % 100);
		uint64_t rs, re;
		ssize_t n;

		if (r < 50) {
			uint32_t first = seq;

			if (r < 35)
				span = 1;
			for (int i = 0; i < span; i++)
				record(buf + i * BLOCK, f, b + i, t, seq + (uint32_t)i);
			rs = atomic_fetch_add(&clock_ticks, 1);
			for (int i = 0; i < span; i++)
				log_start(blk(f, b + i), t, seq + (uint32_t)i, rs);
			n = pwrite(fds[f], buf, (size_t)span * BLOCK,
				   (off_t)b * BLOCK);
			re = atomic_fetch_add(&clock_ticks, 1);
			if (n != span * BLOCK) {
				fprintf(stderr, "threadio: pwrite shared-%d: %s\n", f,
					n < 0 ? strerror(errno) : "short write");
				exit(2);
			}
			for (int i = 0; i < span; i++)
				log_end(blk(f, b + i), t, first + (uint32_t)i, re);
			seq += (uint32_t)span;
			atomic_fetch_add(&writes_done, 1);
		} else if (r < 95) {
			rs = atomic_fetch_add(&clock_ticks, 1);
			n = pread(fds[f], buf, (size_t)span * BLOCK, (off_t)b * BLOCK);
			re = atomic_fetch_add(&clock_ticks, 1);
			if (n != span * BLOCK) {
				fprintf(stderr, "threadio: pread shared-%d: %s\n", f,
					n < 0 ? strerror(errno) : "short read");
				exit(2);
			}
			if (re - rs > 1)
				atomic_fetch_add(&overlapped_reads, 1);
			for (int i = 0; i < span; i++)
				check_block(f, b + i, buf + i * BLOCK, rs, re, false);
			atomic_fetch_add(&reads_done, 1);
		} else {
			if (fsync(fds[f]) < 0) {
				fprintf(stderr, "threadio: fsync shared-%d: %s\n", f,
					strerror(errno));
				exit(2);
			}
			atomic_fetch_add(&syncs_done, 1);
		}
	}
	free(buf);
	return NULL;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: threadio [-t THREADS] [-n OPS] [-f FILES] "
		"[-b BLOCKS] [-s SEED] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t *th;
	struct targ *ta;
	uint8_t buf[BLOCK];
	int c;

	while ((c = getopt(argc, argv, "t:n:f:b:s:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': nops = strtoul(optarg, NULL, 0); break;
		case 'f': nfiles = atoi(optarg); break;
		case 'b': nblocks = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind != 1 || nthreads < 1 || nthreads > 256 ||
	    nfiles < 1 || nfiles > 64 || nblocks < MAX_SPAN)
		usage();
	fds = calloc((size_t)nfiles, sizeof(*fds));
	blocks = calloc((size_t)nfiles * (size_t)nblocks, sizeof(*blocks));
	th = calloc((size_t)nthreads, sizeof(*th));
	ta = calloc((size_t)nthreads, sizeof(*ta));
	if (!fds || !blocks || !th || !ta)
		usage();
	for (int f = 0; f < nfiles; f++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/shared-%d", argv[optind], f);
		fds[f] = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fds[f] < 0 || ftruncate(fds[f], (off_t)nblocks * BLOCK) < 0) {
			perror(p);
			return 2;
		}
	}
	for (int i = 0; i < nfiles * nblocks; i++)
		pthread_mutex_init(&blocks[i].lock, NULL);
	for (int i = 0; i < nthreads; i++) {
		ta[i].id = (uint32_t)i;
		if (pthread_create(&th[i], NULL, worker, &ta[i]) != 0) {
			perror("threadio: pthread_create");
			return 2;
		}
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);

	/* the end: every block one whole record (fresh descriptors) */
	for (int f = 0; f < nfiles; f++) {
		char p[4096];
		int fd;

		snprintf(p, sizeof(p), "%s/shared-%d", argv[optind], f);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(p);
			return 2;
		}
		for (int b = 0; b < nblocks; b++) {
			uint64_t t = atomic_fetch_add(&clock_ticks, 1);

			if (pread(fd, buf, BLOCK, (off_t)b * BLOCK) != BLOCK) {
				fprintf(stderr, "threadio: final read of %s block %d: %s\n",
					p, b, strerror(errno));
				return 2;
			}
			check_block(f, b, buf, t, t, true);
		}
		close(fd);
		close(fds[f]);
	}
	for (int i = 0; i < nfiles * nblocks; i++) {
		pthread_mutex_destroy(&blocks[i].lock);
		free(blocks[i].w);
	}
	free(blocks);
	free(fds);
	free(th);
	free(ta);
	printf("threadio: %d threads, %lu writes, %lu reads (%lu overlapping "
	       "other calls), %lu fsyncs, %lu bytes checked: %lu violations\n",
	       nthreads, (unsigned long)writes_done, (unsigned long)reads_done,
	       (unsigned long)overlapped_reads, (unsigned long)syncs_done,
	       (unsigned long)bytes_checked, (unsigned long)violations);
	return violations ? 1 : 0;
}
