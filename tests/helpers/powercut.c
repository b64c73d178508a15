/*
 * powercut.c - turn a backing store into what a power cut could have left
 * (t4007), from the journal that tests/shim/powercut.c wrote.
 *
 *   powercut apply [-s SEED] [-t prefix|any] [-k KEEP%] [-r REVERT%]
 *                  [-T TRUNCKEEP%] [-C CHUNK] [-B] [-v] JOURNAL ROOT
 *
 * Run after the daemon was killed (kill -9) while the shim journalled its
 * writes.  For each file still under ROOT whose identity (device, inode,
 * birth time) the journal names, the writes, punches and truncations
 * journalled after the file's last barrier (its last fsync/fdatasync that
 * returned, or the last syncfs) are what the disk may not have: going
 * from the newest to the oldest, each is kept (KEEP%, default 40),
 * reverted as a whole (REVERT%, default 30) or torn (the rest): only some
 * of its 512-byte sectors reached the disk, a prefix of them (-t prefix,
 * the default: the write was cut off) or any subset (-t any: the device
 * reordered sectors).  Truncations are kept or reverted, never torn.  A
 * byte ends up holding the newest write to it that reached the disk, or
 * what it held before the first write after the barrier.  -T sets the
 * share of truncations kept (default KEEP% plus half the torn share).  Old bytes past
 * the old end of the file come back as zeros.  Writes before the barrier
 * are never touched.  Metadata (create, rename, unlink) is taken to have
 * reached the disk in order: files that are gone are skipped.
 *
 * Prints, for each document under ROOT/data (chunk size CHUNK, default
 * 16384), "unsynced PATH header" and "unsynced PATH chunk N" for every
 * header or chunk that a record after the barrier touched (kept or not),
 * then one summary line "powercut: ...".  -B breaks the rule on purpose
 * (to show that the test notices): it also reverts the newest synced
 * write of a chunk that nothing later overwrote, and says
 * "broke PATH chunk N".  -v prints every decision.
 * Exit 0, 1 if the journal is malformed or a file cannot be rewritten, 2
 * on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shim/powercut.h"

#define SECTOR 512
#define HDR_BYTES 4096

struct rec {
	uint32_t type;
	uint64_t off, len, oldlen, joff;
	const uint8_t *old;
};

struct file {
	uint64_t dev, ino;
	int64_t bsec;
	uint32_t bnsec;
	uint64_t barrier;	/* records at journal offsets below are durable */
	struct rec *recs;
	size_t nrecs, cap;
	char *cur;		/* its path now, NULL if gone */
};

static struct file *files;
static size_t nfiles;
static const char *root_data;
static size_t root_data_len;

static uint64_t rng_state;
static int keep_pct = 40, revert_pct = 30, trunc_keep_pct = -1, verbose;
static bool tear_any, do_break;
static uint64_t chunk = 16384;
static unsigned long n_after, n_kept, n_reverted, n_torn, n_trunc_reverted,
	n_files_changed;
static uint64_t bytes_changed;

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? mix(&rng_state) % n : 0;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "powercut: out of memory\n");
		exit(1);
	}
	return p;
}

static struct file *file_of(const struct pc_rec *h)
{
	static size_t last;

	if (last < nfiles && files[last].dev == h->dev &&
	    files[last].ino == h->ino && files[last].bsec == h->btime_sec &&
	    files[last].bnsec == h->btime_nsec)
		return &files[last];
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].dev == h->dev && files[i].ino == h->ino &&
		    files[i].bsec == h->btime_sec &&
		    files[i].bnsec == h->btime_nsec)
			return &files[last = i];
	files = xrealloc(files, (nfiles + 1) * sizeof(*files));
	memset(&files[nfiles], 0, sizeof(*files));
	files[nfiles].dev = h->dev;
	files[nfiles].ino = h->ino;
	files[nfiles].bsec = h->btime_sec;
	files[nfiles].bnsec = h->btime_nsec;
	last = nfiles;
	return &files[nfiles++];
}

static int parse(const uint8_t *j, size_t size, uint64_t *global)
{
	size_t at = 0;

	*global = 0;
	while (at < size) {
		struct pc_rec h;
		struct file *f;

		/* A record cut short is the one being written at the kill:
		 * its write had not begun (the record goes first). */
		if (size - at < sizeof(h)) {
			fprintf(stderr, "powercut: journal cut at %zu\n", at);
			break;
		}
		memcpy(&h, j + at, sizeof(h));
		if (h.magic != PC_MAGIC || h.type < PC_WRITE || h.type > PC_SYNCFS ||
		    h.pathlen > 4096 || h.oldlen > h.len) {
			fprintf(stderr, "powercut: bad journal record at %zu\n", at);
			return -1;
		}
		if (size - at - sizeof(h) < (uint64_t)h.pathlen + h.oldlen) {
			fprintf(stderr, "powercut: journal cut at %zu\n", at);
			break;
		}
		if (h.type == PC_SYNCFS) {
			if (h.upto > *global)
				*global = h.upto;
		} else {
			f = file_of(&h);
			if (h.type == PC_SYNC) {
				if (h.upto > f->barrier)
					f->barrier = h.upto;
			} else {
				if (f->nrecs == f->cap) {
					f->cap = f->cap ? 2 * f->cap : 16;
					f->recs = xrealloc(f->recs, f->cap * sizeof(*f->recs));
				}
				f->recs[f->nrecs++] = (struct rec){
					.type = h.type, .off = h.off, .len = h.len,
					.oldlen = h.oldlen, .joff = at,
					.old = j + at + sizeof(h) + h.pathlen,
				};
			}
		}
		at += sizeof(h) + h.pathlen + h.oldlen;
	}
	return 0;
}

static int visit(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	struct statx sx;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) < 0)
		return 0;
	for (size_t i = 0; i < nfiles; i++) {
		struct file *f = &files[i];

		if (f->dev == (uint64_t)st->st_dev && f->ino == (uint64_t)st->st_ino &&
		    (!(sx.stx_mask & STATX_BTIME) ||
		     (f->bsec == sx.stx_btime.tv_sec &&
		      f->bnsec == sx.stx_btime.tv_nsec))) {
			free(f->cur);
			f->cur = strdup(path);
		}
	}
	return 0;
}

static bool is_document(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	if (strncmp(path, root_data, root_data_len) != 0 ||
	    path[root_data_len] != '/')
		return false;
	base = base ? base + 1 : path;
	n = strlen(base);
	return strcmp(base, "vaultfs.dirid") != 0 &&
	       !(n > 5 && !strcmp(base + n - 5, ".name"));
}

/* Print the header and chunks that records [first, n) of f touched. */
static void report_unsynced(const struct file *f, size_t first)
{
	uint64_t slot = chunk + 4096, nchunks = 0, *seen = NULL;
	size_t nseen = 0;
	bool header = false;

	for (size_t k = first; k < f->nrecs; k++) {
		const struct rec *r = &f->recs[k];
		uint64_t a = r->off, b = r->off + r->len;

		if (a < HDR_BYTES)
			header = true;
		if (b <= HDR_BYTES)
			continue;
		if (a < HDR_BYTES)
			a = HDR_BYTES;
		for (uint64_t c = (a - HDR_BYTES) / (2 * slot);
		     c <= (b - 1 - HDR_BYTES) / (2 * slot); c++) {
			if (c >= nchunks) {
				seen = xrealloc(seen, (c + 1) * sizeof(*seen));
				memset(seen + nchunks, 0, (c + 1 - nchunks) * sizeof(*seen));
				nchunks = c + 1;
			}
			if (!seen[c]++)
				nseen++;
		}
	}
	if (header)
		printf("unsynced %s header\n", f->cur);
	for (uint64_t c = 0; c < nchunks; c++)
		if (seen[c])
			printf("unsynced %s chunk %" PRIu64 "\n", f->cur, c);
	free(seen);
}

static int pread_all(int fd, uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(buf + got, 0, len - got);
			break;
		}
		got += (uint64_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

/* Write cand where it differs from cur (bytes lo .. lo+len). */
static int write_back(int fd, const uint8_t *cand, const uint8_t *cur,
		      uint64_t lo, uint64_t len, uint64_t *changed)
{
	for (uint64_t i = 0; i < len;) {
		uint64_t j;
		int r;

		if (cand[i] == cur[i]) {
			i++;
			continue;
		}
		for (j = i + 1; j < len && cand[j] != cur[j]; j++)
			;
		r = pwrite_all(fd, cand + i, j - i, lo + i);
		if (r < 0)
			return r;
		*changed += j - i;
		i = j;
	}
	return 0;
}

/* Which of the sectors of a torn write reached the disk. */
static void tear(uint8_t *mask, uint64_t nsect)
{
	if (!tear_any) {
		uint64_t j = 1 + below(nsect - 1);

		for (uint64_t s = 0; s < nsect; s++)
			mask[s] = s < j;
		return;
	}
	for (;;) {
		uint64_t on = 0;

		for (uint64_t s = 0; s < nsect; s++)
			on += mask[s] = (uint8_t)below(2);
		if (on > 0 && on < nsect)
			return;
	}
}

static int cut(struct file *f, uint64_t global)
{
	uint64_t barrier = f->barrier > global ? f->barrier : global;
	uint64_t lo = UINT64_MAX, hi = 0, changed = 0;
	uint8_t *cand, *cur, *fixed, *mask = NULL;
	size_t first = f->nrecs;
	int fd, r = 0;

	while (first > 0 && f->recs[first - 1].joff >= barrier)
		first--;
	if (first == f->nrecs)
		return 0;
	if (is_document(f->cur))
		report_unsynced(f, first);
	for (size_t k = first; k < f->nrecs; k++) {
		if (f->recs[k].off < lo)
			lo = f->recs[k].off;
		if (f->recs[k].off + f->recs[k].len > hi)
			hi = f->recs[k].off + f->recs[k].len;
	}
	fd = open(f->cur, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		fprintf(stderr, "powercut: cannot open '%s': %s\n", f->cur,
			strerror(errno));
		return -1;
	}
	cand = xrealloc(NULL, hi - lo);
	cur = xrealloc(NULL, hi - lo);
	fixed = xrealloc(NULL, hi - lo);
	memset(fixed, 0, hi - lo);
	r = pread_all(fd, cur, hi - lo, lo);
	if (r < 0)
		goto out;
	memcpy(cand, cur, hi - lo);
	for (size_t k = f->nrecs; k-- > first;) {
		const struct rec *w = &f->recs[k];
		uint64_t s0 = w->off / SECTOR;
		uint64_t nsect = (w->off + w->len - 1) / SECTOR - s0 + 1;
		uint64_t d = below(100);
		const char *what;

		mask = xrealloc(mask, nsect);
		n_after++;
		if (w->type == PC_TRUNC ? d < (uint64_t)trunc_keep_pct
					: d < (uint64_t)keep_pct) {
			memset(mask, 1, nsect);
			what = "kept";
			n_kept++;
		} else if (w->type == PC_TRUNC || nsect < 2 ||
			   d < (uint64_t)(keep_pct + revert_pct)) {
			memset(mask, 0, nsect);
			what = "reverted";
			n_reverted++;
			n_trunc_reverted += w->type == PC_TRUNC;
		} else {
			tear(mask, nsect);
			what = "torn";
			n_torn++;
		}
		if (verbose)
			fprintf(stderr, "%s %s: %s %" PRIu64 "+%" PRIu64 "\n",
				what, f->cur, w->type == PC_WRITE ? "write" :
				w->type == PC_PUNCH ? "punch" : "truncate",
				w->off, w->len);
		for (uint64_t b = w->off; b < w->off + w->len; b++) {
			uint64_t i = b - lo;

			if (fixed[i])
				continue;
			if (mask[b / SECTOR - s0])
				fixed[i] = 1;
			else
				cand[i] = b - w->off < w->oldlen ? w->old[b - w->off] : 0;
		}
	}
	r = write_back(fd, cand, cur, lo, hi - lo, &changed);
	bytes_changed += changed;
	n_files_changed += changed > 0;
out:
	if (r < 0)
		fprintf(stderr, "powercut: cannot rewrite '%s': %s\n", f->cur,
			strerror(-r));
	close(fd);
	free(cand);
	free(cur);
	free(fixed);
	free(mask);
	return r < 0 ? -1 : 0;
}

/*
 * -B: revert the newest synced chunk write of a document that no later
 * record overlaps (a synced write lost: what must never happen).
 */
static int break_one(uint64_t global)
{
	for (size_t i = nfiles; i-- > 0;) {
		struct file *f = &files[i];
		uint64_t barrier = f->barrier > global ? f->barrier : global;

		if (!f->cur || !is_document(f->cur))
			continue;
		for (size_t k = f->nrecs; k-- > 0;) {
			const struct rec *w = &f->recs[k];
			bool later = false;
			int fd, r;

			if (w->joff >= barrier || w->type != PC_WRITE ||
			    w->off < HDR_BYTES)
				continue;
			for (size_t m = k + 1; m < f->nrecs && !later; m++)
				later = f->recs[m].off < w->off + w->len &&
					w->off < f->recs[m].off + f->recs[m].len;
			if (later)
				continue;
			fd = open(f->cur, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0)
				return -1;
			{
				uint8_t *buf = xrealloc(NULL, w->len);

				memset(buf, 0, w->len);
				memcpy(buf, w->old, w->oldlen);
				r = pwrite_all(fd, buf, w->len, w->off);
				free(buf);
			}
			close(fd);
			if (r < 0)
				return -1;
			printf("broke %s chunk %" PRIu64 "\n", f->cur,
			       (w->off - HDR_BYTES) / (2 * (chunk + 4096)));
			return 0;
		}
	}
	fprintf(stderr, "powercut: -B: no synced chunk write to revert\n");
	return -1;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: powercut apply [-s SEED] [-t prefix|any] "
		"[-k KEEP%%] [-r REVERT%%] [-T TRUNCKEEP%%] [-C CHUNK] [-B] [-v]\n"
		"                JOURNAL ROOT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, global;
	const uint8_t *j = NULL;
	char data[4096];
	struct stat st;
	int c, fd, status = 0;
	unsigned long live = 0;

	if (argc < 2 || strcmp(argv[1], "apply"))
		usage();
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "s:t:k:r:T:C:Bv")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			if (!strcmp(optarg, "any"))
				tear_any = true;
			else if (strcmp(optarg, "prefix"))
				usage();
			break;
		case 'k':
			keep_pct = atoi(optarg);
			break;
		case 'r':
			revert_pct = atoi(optarg);
			break;
		case 'T':
			trunc_keep_pct = atoi(optarg);
			if (trunc_keep_pct < 0 || trunc_keep_pct > 100)
				usage();
			break;
		case 'C':
			chunk = strtoull(optarg, NULL, 0);
			if (chunk < 4096 || (chunk & (chunk - 1)))
				usage();
			break;
		case 'B':
			do_break = true;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || keep_pct < 0 || revert_pct < 0 ||
	    keep_pct + revert_pct > 100)
		usage();
	if (trunc_keep_pct < 0)
		trunc_keep_pct = keep_pct + (100 - keep_pct - revert_pct) / 2;
	rng_state = seed * 1000003 + 7;
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "powercut: cannot read journal '%s': %s\n",
			argv[optind], strerror(errno));
		return 1;
	}
	if (st.st_size > 0) {
		j = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (j == MAP_FAILED) {
			perror("powercut: mmap");
			return 1;
		}
	}
	if (parse(j, (size_t)st.st_size, &global) < 0)
		return 1;
	snprintf(data, sizeof(data), "%s/data", argv[optind + 1]);
	root_data = data;
	root_data_len = strlen(data);
	if (nftw(argv[optind + 1], visit, 32, FTW_PHYS) < 0) {
		fprintf(stderr, "powercut: cannot walk '%s': %s\n",
			argv[optind + 1], strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (!files[i].cur)
			continue;
		live++;
		if (cut(&files[i], global) < 0)
			status = 1;
	}
	if (do_break && break_one(global) < 0)
		status = 1;
	printf("powercut: seed %" PRIu64 ": %zu files journalled, %lu still "
	       "there, %lu changed; %lu writes after the last sync: %lu kept, "
	       "%lu reverted (%lu truncations), %lu torn (%s); %" PRIu64
	       " bytes restored\n", seed, nfiles, live, n_files_changed,
	       n_after, n_kept, n_reverted, n_trunc_reverted, n_torn,
	       tear_any ? "any sectors" : "a prefix of sectors", bytes_changed);
	return status;
}
