/*
 * document.c - see document.h.  The I/O engine over the container.h
 * format: one cached plaintext chunk, two slots per chunk written
 * alternately, superseded versions punched out once the new ones are
 * durable.
 */
#include "document.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../keys/keystore.h"
#include "fileio.h"
#include "log.h"
#include "seal.h"
#include "workers.h"

/*
 * Superseded chunk versions remembered before a flush punches them.  The
 * set grows on demand (a document written only sequentially never holds
 * more than a few), up to PUNCH_MAX entries of 8 bytes in a table of twice
 * that.  Punching costs 100-400 us on ext4, as much as an fdatasync, so
 * the count matters.  Measured with bench-io randwrite (20000 random 4 KiB
 * writes on 256 MiB, through FUSE, which hands them down as 15970 writes
 * and 10500 chunk versions): with 256 entries and a sync before every
 * second version of a chunk, 10489 punches and 1259 fdatasyncs in 3.7 s;
 * now 3956 punches and 3 fdatasyncs in 2.0 s.
 */
#define PUNCH_MAX 4096
#define PUNCH_CAP_MIN 64

/* What is on disk for one chunk. */
struct chunk_state {
	int cur;		/* slot holding the current version, -1: none */
	uint64_t gen;		/* highest generation seen in either slot */
	unsigned present;	/* bit s: slot s is not known to be empty */
	bool fell_back;		/* newer version damaged, older one used */
};

struct doc {
	int fd;
	const struct keystore *ks;
	uint8_t *dek;			/* seal_key_alloc */
	struct container_header hdr;	/* hdr.gen: newest on disk */
	uint32_t cs;
	size_t slot_bytes;
	int level;
	bool writable;
	bool hdr_dirty;
	bool no_punch;			/* file system cannot punch holes */
	bool quiet;			/* doc_reencrypt: expected fallbacks */
	uint64_t file_end;		/* backing file size as we know it */
	uint64_t unkicked;		/* bytes written since the last kick */
	uint64_t ra_next;		/* chunk a sequential reader reads next */
	uint64_t ra_done;		/* readahead asked for up to here */

	/* the chunk cache: buf[len, cs) is always zero */
	bool c_valid;
	bool c_dirty;
	uint64_t c_index;
	size_t c_len;
	uint8_t *c_buf;
	struct chunk_state c_st;

	uint8_t *scratch;		/* slot_bytes: preads and sealing */
	size_t s_hi;			/* scratch[s_hi, ...) never written */

	/* slots to punch after the next sync: keys index << 1 | slot, stored
	 * + 1 (0 = free) in an open-addressing table of pcap (a power of two,
	 * at least 2 * npunch) */
	uint64_t *pset;
	size_t pcap;
	size_t npunch;
	uint64_t flushes;		/* flush_punches() calls that synced */
	uint64_t loads;			/* chunks decrypted into the cache */
};

static const uint8_t zero_byte;

static uint64_t nchunks(const struct doc *d, uint64_t size)
{
	return size / d->cs + (size % d->cs != 0);
}

static uint64_t slot_off(const struct doc *d, uint64_t index, int slot)
{
	return container_slot_offset(d->cs, index, slot);
}

static void read_ahead(struct doc *d, uint64_t index, int slot, size_t flen);

/* ---- header ---- */

/*
 * No readahead by the kernel on a backing document: it would also read,
 * and fill with zeros, the other (usually empty) slot of every chunk; we
 * read ahead ourselves (read_ahead()).  Before the first read of each
 * descriptor: a header read with normal readahead left a mark that made a
 * later read of the document start the device's readahead (8 MiB windows
 * here), which then zeroed holes for seconds.
 */
static void no_kernel_readahead(int fd)
{
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
}

/* Both header slots of the document on fd into buf (zeros past its end). */
static int read_header_bytes(int fd, uint8_t buf[CONTAINER_HDR_BYTES])
{
	size_t got;
	int r;

	no_kernel_readahead(fd);
	r = pread_full(fd, buf, CONTAINER_HDR_BYTES, 0, &got);
	if (r == 0)
		memset(buf + got, 0, CONTAINER_HDR_BYTES - got);
	return r;
}

/*
 * Read both header slots; the authenticated one with the highest
 * generation wins.  dek receives its DEK.
 */
static int read_header(int fd, const struct keystore *ks,
		       struct container_header *out, uint8_t *dek)
{
	uint8_t buf[CONTAINER_HDR_BYTES];
	struct container_header h[2];
	int pr[2], order[2], err = -EBADMSG, win = -1, failed = 0;
	int r;

	r = read_header_bytes(fd, buf);
	if (r < 0)
		return r;
	for (int s = 0; s < 2; s++) {
		pr[s] = container_header_parse(buf + s * CONTAINER_HDR_SLOT_BYTES,
					       &h[s]);
		if (pr[s] == -EPROTONOSUPPORT)
			err = pr[s];
	}
	order[0] = (pr[0] == 0 && pr[1] == 0) ? (h[1].gen > h[0].gen) :
		   (pr[0] == 0 ? 0 : 1);
	order[1] = 1 - order[0];
	for (int k = 0; k < 2 && win < 0; k++) {
		int s = order[k];

		if (pr[s] < 0)
			continue;
		r = keystore_unwrap_dek(ks, h[s].doc_id, h[s].kek_version,
					h[s].wrapped_dek, dek);
		if (r == 0) {
			r = container_header_open(buf +
						  s * CONTAINER_HDR_SLOT_BYTES,
						  dek, &h[s]);
			if (r == 0) {
				win = s;
				break;
			}
		}
		failed++;
		/* A missing KEK or a system error says more than EBADMSG. */
		if (r != -EBADMSG && err != -ENOKEY)
			err = r;
	}
	if (win < 0) {
		sodium_memzero(dek, SEAL_KEY_BYTES);
		return err;
	}
	if (failed || pr[1 - win] < 0)
		vlog(LOG_WARNING, "document header slot %d is damaged; "
		     "using slot %d", 1 - win, win);
	*out = h[win];
	return 0;
}

/*
 * Write both header slots in one pwrite: they share a 4 KiB page, so a
 * torn write leaves at least one intact, and they carry the same content.
 */
static int write_header(struct doc *d)
{
	uint8_t buf[CONTAINER_HDR_BYTES];
	uint64_t g = (d->hdr.gen & ~(uint64_t)1) + 2;
	int r;

	d->hdr.gen = g;
	r = container_header_seal(&d->hdr, d->dek, buf);
	if (r == 0) {
		d->hdr.gen = g + 1;
		r = container_header_seal(&d->hdr, d->dek,
					  buf + CONTAINER_HDR_SLOT_BYTES);
	}
	/* Even after a failed write the next one must use newer numbers. */
	d->hdr.gen = g + 1;
	if (r == 0)
		r = pwrite_full(d->fd, buf, sizeof(buf), 0);
	if (r == 0) {
		d->hdr_dirty = false;
		if (d->file_end < CONTAINER_HDR_BYTES)
			d->file_end = CONTAINER_HDR_BYTES;
	}
	return r;
}

/* ---- chunk slots on disk ---- */

/*
 * Read the clear frame headers of both slots of chunk index into fh and
 * peek them (pr: container_frame_peek() results, g: generations).  st gets
 * which slots are present and the highest generation; st->cur the slot
 * with the highest valid generation (-1 if none).
 */
static int read_frame_headers(const struct doc *d, uint64_t index,
			      uint8_t fh[2][CONTAINER_FRAME_HDR_BYTES],
			      int pr[2], uint64_t g[2], struct chunk_state *st)
{
	st->cur = -1;
	st->gen = 0;
	st->present = 0;
	for (int s = 0; s < 2; s++) {
		size_t got = 0;
		int r = 0;

		g[s] = 0;
		/* past the end of the backing file: empty, no syscall */
		if (slot_off(d, index, s) < d->file_end)
			r = pread_full(d->fd, fh[s], CONTAINER_FRAME_HDR_BYTES,
				       (off_t)slot_off(d, index, s), &got);
		if (r < 0)
			return r;
		memset(fh[s] + got, 0, CONTAINER_FRAME_HDR_BYTES - got);
		/* peek reads the frame header only; slot_bytes bounds the
		 * sealed length */
		pr[s] = container_frame_peek(fh[s], d->slot_bytes, &g[s]);
		if (pr[s] != -ENOENT)
			st->present |= 1u << s;
	}
	if (pr[0] == 0 && pr[1] == 0)
		st->cur = g[1] > g[0];
	else if (pr[0] == 0 || pr[1] == 0)
		st->cur = pr[1] == 0;
	if (st->cur >= 0)
		st->gen = g[st->cur];
	return 0;
}

/* Clear state of both slots of chunk index, without decrypting. */
static int peek_chunk(struct doc *d, uint64_t index, struct chunk_state *st)
{
	uint8_t fh[2][CONTAINER_FRAME_HDR_BYTES];
	uint64_t g[2];
	int pr[2];

	return read_frame_headers(d, index, fh, pr, g, st);
}

/*
 * Bytes of the frame whose clear header fh passed container_frame_peek():
 * the header and the sealed length at offset 16 (container.h).
 */
static size_t frame_bytes(const uint8_t *fh)
{
	return CONTAINER_FRAME_HDR_BYTES + ((size_t)fh[16] |
					    (size_t)fh[17] << 8 |
					    (size_t)fh[18] << 16 |
					    (size_t)fh[19] << 24);
}

/*
 * Read and authenticate chunk index (within the size, not a hole) into
 * dest (room for cs bytes): the newer version if it authenticates, else
 * the older one (a torn write; st->fell_back).  Only the frame itself is
 * read, not the rest of its slot or the other slot, into scratch (room
 * for slot_bytes).  *flen: the frame's length.  dest is zeroed on failure.
 * Changes nothing in d: the chunks of a batch open in parallel.
 */
static int open_frame(const struct doc *d, uint64_t index, uint8_t *dest,
		      uint8_t *scratch, size_t *len, struct chunk_state *st,
		      size_t *flen)
{
	uint8_t fh[2][CONTAINER_FRAME_HDR_BYTES];
	uint64_t g[2], gen;
	int pr[2], first, r;

	r = read_frame_headers(d, index, fh, pr, g, st);
	if (r < 0)
		goto fail;
	/* st->cur is the newest valid-looking slot: try it first */
	first = st->cur >= 0 ? st->cur : 0;
	st->cur = -1;
	st->fell_back = false;
	r = -EBADMSG;
	for (int k = 0; k < 2; k++) {
		int s = k ? 1 - first : first;
		size_t got;

		if (pr[s] != 0)
			continue;
		*flen = frame_bytes(fh[s]);
		r = pread_full(d->fd, scratch, *flen,
			       (off_t)slot_off(d, index, s), &got);
		if (r < 0)
			goto fail;
		memset(scratch + got, 0, *flen - got);
		r = container_frame_open_inplace(d->dek, d->hdr.doc_id, index,
						 d->cs, scratch, *flen, dest,
						 len, &gen);
		if (r == 0) {
			st->cur = s;
			st->fell_back = st->present & (1u << (1 - s)) &&
					(pr[1 - s] != 0 || k == 1);
			return 0;
		}
		if (r != -EBADMSG)
			goto fail;
	}
	r = -EBADMSG;
fail:
	memset(dest, 0, d->cs);
	return r;
}

static void warn_fell_back(const struct doc *d, uint64_t index,
			   const struct chunk_state *st)
{
	if (st->fell_back && !d->quiet)
		vlog(LOG_WARNING, "chunk %llu: a newer version is damaged; "
		     "using the previous one", (unsigned long long)index);
}

/*
 * Chunks [index, index + n) are about to be read and are not in the
 * readahead window (a random access): ask for both slots of each at once,
 * so that the frame headers and the frames come in one round trip instead
 * of two (the backing file is read with POSIX_FADV_RANDOM).  Empty slots
 * are holes and cost no I/O.
 */
static void prefetch(struct doc *d, uint64_t index, uint64_t n)
{
	uint64_t off = slot_off(d, index, 0);

	if ((index >= d->ra_next && index + n <= d->ra_done) ||
	    off >= d->file_end)
		return;
	(void)posix_fadvise(d->fd, (off_t)off, (off_t)(2 * n * d->slot_bytes),
			    POSIX_FADV_WILLNEED);
}

/* open_frame() into d's scratch, with readahead and the warning. */
static int open_chunk(struct doc *d, uint64_t index, uint8_t *dest,
		      size_t *len, struct chunk_state *st)
{
	size_t flen = 0;
	int r;

	prefetch(d, index, 1);
	r = open_frame(d, index, dest, d->scratch, len, st, &flen);
	/* one frame read, or more when the first try failed */
	if (r < 0 || st->fell_back)
		d->s_hi = d->slot_bytes;
	else if (flen > d->s_hi)
		d->s_hi = flen;
	if (r < 0)
		return r;
	read_ahead(d, index, st->cur, flen);
	warn_fell_back(d, index, st);
	return 0;
}

/* Punch out (or, without hole support, blank) one superseded slot. */
static int punch_slot(struct doc *d, uint64_t index, int slot)
{
	uint64_t off = slot_off(d, index, slot);

	if (off >= d->file_end)
		return 0;
	if (!d->no_punch) {
		if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)off, (off_t)d->slot_bytes) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		d->no_punch = true;
	}
	{
		uint8_t zero[CONTAINER_FRAME_HDR_BYTES] = { 0 };

		return pwrite_full(d->fd, zero, sizeof(zero), (off_t)off);
	}
}

static size_t punch_hash(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static bool punch_pending(const struct doc *d, uint64_t index, int slot)
{
	uint64_t key = (index << 1 | (uint64_t)slot) + 1;

	if (d->npunch == 0)
		return false;
	for (size_t h = punch_hash(key, d->pcap);; h = (h + 1) & (d->pcap - 1)) {
		if (d->pset[h] == key)
			return true;
		if (d->pset[h] == 0)
			return false;
	}
}

/* Insert key (stored form) into a table with room for it. */
static void pset_insert(uint64_t *set, size_t cap, uint64_t key)
{
	size_t h = punch_hash(key, cap);

	while (set[h] != 0 && set[h] != key)
		h = (h + 1) & (cap - 1);
	set[h] = key;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Punch out (or blank) the slots in keys (stored form, sorted): adjacent
 * slots (slot 1 of one chunk and slot 0 of the next) go in one call,
 * since each fallocate costs far more than its length.
 */
static int punch_sorted(struct doc *d, const uint64_t *keys, size_t n)
{
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t first = keys[i] - 1, off, len;
		int r;

		for (j = i + 1; j < n && keys[j] == keys[j - 1] + 1; j++)
			;
		off = slot_off(d, first >> 1, (int)(first & 1));
		len = (uint64_t)(j - i) * d->slot_bytes;
		if (off >= d->file_end)
			continue;
		if (!d->no_punch) {
			if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE |
				      FALLOC_FL_KEEP_SIZE, (off_t)off,
				      (off_t)len) == 0)
				continue;
			if (errno != EOPNOTSUPP && errno != ENOSYS)
				return -errno;
			d->no_punch = true;
		}
		for (size_t k = i; k < j; k++) {
			uint64_t key = keys[k] - 1;

			r = punch_slot(d, key >> 1, (int)(key & 1));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Make the new versions durable, then drop the ones they replace. */
static int flush_punches(struct doc *d)
{
	size_t n = 0;
	int r;

	if (d->npunch == 0)
		return 0;
	if (fdatasync(d->fd) < 0)
		return -errno;
	for (size_t h = 0; h < d->pcap; h++)
		if (d->pset[h] != 0)
			d->pset[n++] = d->pset[h];
	d->flushes++;
	qsort(d->pset, n, sizeof(*d->pset), cmp_u64);
	r = punch_sorted(d, d->pset, n);
	/*
	 * On failure the remaining stale versions stay behind; they have
	 * lower generations than the current ones and do no harm.
	 */
	memset(d->pset, 0, d->pcap * sizeof(*d->pset));
	d->npunch = 0;
	return r;
}

/*
 * Room for n more entries (n <= BATCH_MAX): grow the table, or flush when
 * it is full.
 */
static int punch_reserve(struct doc *d, size_t n)
{
	uint64_t *set;
	size_t cap;

	if (2 * (d->npunch + n) <= d->pcap)
		return 0;
	if (d->npunch + n > PUNCH_MAX)
		return flush_punches(d);
	for (cap = d->pcap ? d->pcap : PUNCH_CAP_MIN; cap < 2 * (d->npunch + n);)
		cap *= 2;
	set = calloc(cap, sizeof(*set));
	if (!set)
		return d->npunch ? flush_punches(d) : -ENOMEM;
	for (size_t h = 0; h < d->pcap; h++)
		if (d->pset[h] != 0)
			pset_insert(set, cap, d->pset[h]);
	free(d->pset);
	d->pset = set;
	d->pcap = cap;
	return 0;
}

static int add_punch(struct doc *d, uint64_t index, int slot)
{
	int r;

	if (punch_pending(d, index, slot))
		return 0;
	r = punch_reserve(d, 1);
	if (r < 0)
		return r;
	pset_insert(d->pset, d->pcap, (index << 1 | (uint64_t)slot) + 1);
	d->npunch++;
	return 0;
}

/* Forget pending punches of chunks at or past index n (a truncate). */
static int drop_punches_from(struct doc *d, uint64_t n)
{
	uint64_t *keep;
	size_t k = 0;

	if (d->npunch == 0)
		return 0;
	keep = malloc(d->npunch * sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	for (size_t h = 0; h < d->pcap; h++)
		if (d->pset[h] != 0 && (d->pset[h] - 1) >> 1 < n)
			keep[k++] = d->pset[h];
	memset(d->pset, 0, d->pcap * sizeof(*d->pset));
	for (size_t i = 0; i < k; i++)
		pset_insert(d->pset, d->pcap, keep[i]);
	d->npunch = k;
	free(keep);
	return 0;
}

/*
 * The slot the next version of a chunk goes to: the one that does not
 * hold the current version.  But that slot may still hold the last
 * durable version (the current one was written since the last sync: the
 * slot waits to be punched).  Then the new version replaces the current
 * one, which was never synced, in its slot: a crash meanwhile leaves the
 * durable version to fall back on, as after a torn write.  Syncing before
 * every second version of a chunk instead made random writes cost an
 * fdatasync each (1259 in the randwrite bench).
 */
static int target_slot(struct doc *d, uint64_t index,
		       const struct chunk_state *st, int *slot)
{
	*slot = st->cur == 0 ? 1 : 0;
	if (!punch_pending(d, index, *slot))
		return 0;
	if (st->cur >= 0 && !punch_pending(d, index, st->cur)) {
		*slot = st->cur;
		return 0;
	}
	return flush_punches(d);
}

/*
 * Every KICK_BYTES written, start the backing file system writing what is
 * dirty, without waiting.  Otherwise it waits for its background limit
 * (gigabytes) or our next fsync, and a large file's fsync then writes it
 * all while the CPUs idle.  Sequential write of 256 MiB: 0.44-0.46 s
 * instead of 0.57-0.58 s (4 MiB apart: no gain).  Errors surface at the
 * next fdatasync, which this does not consume.
 */
#define KICK_BYTES (1U << 20)

static void kick_writeback(struct doc *d, size_t n)
{
	d->unkicked += n;
	if (d->unkicked < KICK_BYTES)
		return;
	d->unkicked = 0;
	(void)sync_file_range(d->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Write the sealed frame of a new version into slot s; update st. */
static int write_sealed(struct doc *d, uint64_t index, const uint8_t *frame,
			size_t flen, struct chunk_state *st, int s)
{
	uint64_t gen = st->gen + 1, off = slot_off(d, index, s);
	int r;

	r = pwrite_full(d->fd, frame, flen, (off_t)off);
	if (r == 0)
		kick_writeback(d, flen);
	/* Even a failed write may have left part of a frame there. */
	st->present |= 1u << s;
	st->gen = gen;
	if (off + flen > d->file_end)
		d->file_end = off + flen;
	if (r < 0)
		return r;
	if (st->cur >= 0 || st->present & (1u << (1 - s))) {
		r = add_punch(d, index, 1 - s);
		if (r < 0) {
			st->cur = s;
			return r;
		}
	}
	st->cur = s;
	return 0;
}

/* scratch high-water mark after sealing len bytes into it (container.h) */
static size_t seal_hi(const struct doc *d, size_t hi, size_t len)
{
	size_t end = ((len + CONTAINER_FRAME_ALIGN - 1) &
		      ~(size_t)(CONTAINER_FRAME_ALIGN - 1)) + CONTAINER_FRAME_ALIGN;

	if (end > d->slot_bytes)
		end = d->slot_bytes;
	return end > hi ? end : hi;
}

static int write_version(struct doc *d, uint64_t index, const void *data,
			 size_t len, struct chunk_state *st)
{
	size_t flen;
	int s, r;

	r = target_slot(d, index, st, &s);
	if (r < 0)
		return r;
	d->s_hi = seal_hi(d, d->s_hi, len);
	r = container_frame_seal(d->dek, d->hdr.doc_id, index, st->gen + 1,
				 d->level, data, len, d->scratch,
				 d->slot_bytes, &flen);
	if (r < 0)
		return r;
	return write_sealed(d, index, d->scratch, flen, st, s);
}

/* ---- writing several whole chunks at once ---- */

static int fill_hole(struct doc *d, uint64_t index);
static int grow(struct doc *d, uint64_t size);

/*
 * Compressing and sealing dominate large writes and each chunk is
 * independent: seal the chunks of a write on all CPUs (workers.h), then
 * write them in order.  The frames go to a buffer from a small shared
 * cache, so a doc costs no more memory while idle.  (Writing each frame on
 * the thread that sealed it measured 8 % slower on a busy 2-CPU machine:
 * 1.25 against 1.15 s for bench-io seqwrite of 256 MiB.)
 *
 * The kernel's writeback sends a large file as several 1 MiB writes at
 * once, and the caller's lock made them take turns, with the disk writes
 * of each batch in between (a 128 MiB text write kept the daemon at about
 * 1.4 of 2 CPUs).  So a write can also be sealed without the lock
 * (doc_prep_*): the lock is held only to note the chunks' state before
 * and to check it and write the frames after.  The check compares both
 * slots' clear headers: a new version always brings a fresh nonce.
 */
#define BATCH_MAX 8			/* chunks per write_batch() */
#define BATCH_BUFS_KEPT 4
#define PREP_MAX 64			/* chunks of one prepared write */
#define PREP_BYTES_MAX (1u << 20)	/* and its bytes (FUSE's max_write) */

struct doc_prep {
	uint64_t first;
	size_t m;
	uint8_t *out;			/* m frames, slot_bytes apart */
	size_t out_size;
	struct chunk_state st[PREP_MAX];
	uint8_t fh[PREP_MAX][2][CONTAINER_FRAME_HDR_BYTES];
	size_t flen[PREP_MAX];
	int r[PREP_MAX];
};

static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *bufs[BATCH_BUFS_KEPT];
static size_t bufs_size[BATCH_BUFS_KEPT];

static uint8_t *batch_buf_get(size_t size)
{
	uint8_t *b = NULL;

	pthread_mutex_lock(&bufs_lock);
	for (int k = 0; k < BATCH_BUFS_KEPT && !b; k++)
		if (bufs[k] && bufs_size[k] == size) {
			b = bufs[k];
			bufs[k] = NULL;
		}
	pthread_mutex_unlock(&bufs_lock);
	return b ? b : malloc(size);
}

static void batch_buf_put(uint8_t *b, size_t size)
{
	pthread_mutex_lock(&bufs_lock);
	for (int k = 0; k < BATCH_BUFS_KEPT && b; k++)
		if (!bufs[k]) {
			bufs[k] = b;
			bufs_size[k] = size;
			b = NULL;
		}
	pthread_mutex_unlock(&bufs_lock);
	free(b);
}

/* p for chunks [first, first + m) with a frame buffer of out_size bytes. */
static struct doc_prep *prep_new(uint64_t first, size_t m, size_t out_size)
{
	struct doc_prep *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->first = first;
	p->m = m;
	p->out_size = out_size;
	p->out = batch_buf_get(out_size);
	if (!p->out) {
		free(p);
		return NULL;
	}
	return p;
}

void doc_prep_free(struct doc_prep *p)
{
	if (!p)
		return;
	sodium_memzero(p->out, p->out_size);
	batch_buf_put(p->out, p->out_size);
	free(p);
}

/* Turn p's holes into chunks to write; note what both slots hold. */
static int prep_note(struct doc *d, struct doc_prep *p)
{
	uint64_t g[2];
	int pr[2], r = 0;

	for (size_t k = 0; k < p->m && r == 0; k++) {
		if (container_is_hole(&d->hdr, p->first + k))
			r = fill_hole(d, p->first + k);
		if (r == 0)
			r = read_frame_headers(d, p->first + k, p->fh[k], pr,
					       g, &p->st[k]);
	}
	return r;
}

struct prep_job {
	const struct doc *d;
	struct doc_prep *p;
	const uint8_t *data;
};

static void prep_seal(void *arg, size_t k)
{
	struct prep_job *a = arg;
	const struct doc *d = a->d;
	struct doc_prep *p = a->p;

	p->r[k] = container_frame_seal(d->dek, d->hdr.doc_id, p->first + k,
				       p->st[k].gen + 1, d->level,
				       a->data + k * d->cs, d->cs,
				       p->out + k * d->slot_bytes,
				       d->slot_bytes, &p->flen[k]);
}

void doc_prep_seal(const struct doc *d, struct doc_prep *p, const void *data)
{
	struct prep_job a = { d, p, data };

	workers_run(p->m, prep_seal, &a);
}

/* 0, or the first error sealing p's chunks. */
static int prep_sealed(const struct doc_prep *p)
{
	for (size_t k = 0; k < p->m; k++)
		if (p->r[k] < 0)
			return p->r[k];
	return 0;
}

/* Write p's sealed frames (prep_sealed() said 0), p->st as noted. */
static int prep_write(struct doc *d, struct doc_prep *p)
{
	int slot[PREP_MAX], r;
	uint64_t flushes;

	/*
	 * Choose every slot before writing any, with no sync in between: a
	 * sync makes the current versions durable, and target_slot() may
	 * have chosen to overwrite one of them because it was not.
	 */
	r = punch_reserve(d, p->m);
	if (r < 0)
		return r;
	do {
		flushes = d->flushes;
		for (size_t k = 0; k < p->m && r == 0; k++)
			r = target_slot(d, p->first + k, &p->st[k], &slot[k]);
		if (r < 0)
			return r;
	} while (flushes != d->flushes);
	for (size_t k = 0; k < p->m && r == 0; k++)
		r = write_sealed(d, p->first + k, p->out + k * d->slot_bytes,
				 p->flen[k], &p->st[k], slot[k]);
	return r;
}

/* Write m (2..BATCH_MAX) whole chunks from index first, data in order. */
static int write_batch(struct doc *d, uint64_t first, size_t m,
		       const uint8_t *data)
{
	struct doc_prep *p = prep_new(first, m, BATCH_MAX * d->slot_bytes);
	int r;

	if (!p)
		return -ENOMEM;
	r = prep_note(d, p);
	if (r == 0) {
		doc_prep_seal(d, p, data);
		r = prep_sealed(p);
	}
	if (r == 0)
		r = prep_write(d, p);
	doc_prep_free(p);
	return r;
}

int doc_prep_begin(struct doc *d, uint64_t off, size_t len,
		   struct doc_prep **out)
{
	struct doc_prep *p;
	uint64_t first;
	int r;

	*out = NULL;
	if (!d->writable || len == 0 || off % d->cs != 0 || len % d->cs != 0 ||
	    len / d->cs > PREP_MAX || len > PREP_BYTES_MAX ||
	    off > DOC_MAX_SIZE || len > DOC_MAX_SIZE - off)
		return -EAGAIN;
	first = off / d->cs;
	if (d->c_valid && d->c_index >= first &&
	    d->c_index < first + len / d->cs)
		return -EAGAIN;	/* the cached chunk has its own newer state */
	p = prep_new(first, len / d->cs, len / d->cs * d->slot_bytes);
	if (!p)
		return -ENOMEM;
	r = prep_note(d, p);
	if (r < 0) {
		doc_prep_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* Is every chunk of p still as prep_note() saw it? */
static int prep_current(struct doc *d, const struct doc_prep *p)
{
	uint8_t fh[2][CONTAINER_FRAME_HDR_BYTES];
	struct chunk_state st;
	uint64_t g[2];
	int pr[2], r;

	if (d->c_valid && d->c_index >= p->first &&
	    d->c_index < p->first + p->m)
		return 0;
	for (size_t k = 0; k < p->m; k++) {
		if (container_is_hole(&d->hdr, p->first + k))
			return 0;
		r = read_frame_headers(d, p->first + k, fh, pr, g, &st);
		if (r < 0)
			return r;
		if (memcmp(fh, p->fh[k], sizeof(fh)) != 0)
			return 0;
	}
	return 1;
}

int doc_prep_commit(struct doc *d, struct doc_prep *p, const void *data)
{
	uint64_t end = (p->first + p->m) * d->cs;
	int r;

	if (!d->writable)
		return -EBADF;
	r = prep_sealed(p);
	if (r < 0)
		return r;
	/* Chunks strictly between the old end and these: holes. */
	if (p->first > nchunks(d, d->hdr.size)) {
		r = grow(d, p->first * d->cs);
		if (r < 0)
			return r;
	}
	r = prep_current(d, p);
	if (r < 0)
		return r;
	if (r == 0)	/* changed meanwhile: do it all again, locked */
		return doc_write(d, data, p->m * d->cs, p->first * d->cs);
	r = prep_write(d, p);
	if (r == 0 && end > d->hdr.size) {
		d->hdr.size = end;
		d->hdr_dirty = true;
	}
	return r;
}

/* An explicit empty chunk, to replace a hole extent. */
static int write_empty_chunk(struct doc *d, uint64_t index)
{
	struct chunk_state st;
	int r = peek_chunk(d, index, &st);

	return r < 0 ? r : write_version(d, index, &zero_byte, 0, &st);
}

/* ---- hole extents ---- */

static uint32_t smallest_extent(const struct doc *d)
{
	uint32_t k = 0;

	for (uint32_t i = 1; i < d->hdr.nholes; i++)
		if (d->hdr.holes[i].count < d->hdr.holes[k].count)
			k = i;
	return k;
}

/*
 * Too many extents: replace the smallest one by explicit empty chunks
 * (one 4 KiB frame each).  Each chunk leaves the hole list only after it
 * is written.
 */
static int materialise_smallest(struct doc *d)
{
	struct container_hole e = d->hdr.holes[smallest_extent(d)];

	d->hdr_dirty = true;
	for (uint64_t j = e.first; j < e.first + e.count; j++) {
		int r = write_empty_chunk(d, j);

		if (r < 0)
			return r;
		/* j is the first chunk of its extent: never a split */
		if (container_fill_hole(&d->hdr, j) < 0)
			vault_misuse("materialise_smallest: fill_hole failed");
	}
	return 0;
}

/* Chunk index is about to hold data: take it out of the hole extents. */
static int fill_hole(struct doc *d, uint64_t index)
{
	int r;

	d->hdr_dirty = true;
	while ((r = container_fill_hole(&d->hdr, index)) == -ENOSPC) {
		r = materialise_smallest(d);
		if (r < 0)
			return r;
	}
	return r;
}

/* Chunks [first, first + count) are new and read as zeros. */
static int add_holes(struct doc *d, uint64_t first, uint64_t count)
{
	int r;

	d->hdr_dirty = true;
	while ((r = container_add_holes(&d->hdr, first, count)) == -ENOSPC) {
		if (count <= d->hdr.holes[smallest_extent(d)].count) {
			for (uint64_t j = first; j < first + count; j++) {
				r = write_empty_chunk(d, j);
				if (r < 0)
					return r;
			}
			return 0;
		}
		r = materialise_smallest(d);
		if (r < 0)
			return r;
	}
	return r;
}

/* ---- the chunk cache ---- */

static int cache_writeback(struct doc *d)
{
	int r;

	if (!d->c_valid || !d->c_dirty)
		return 0;
	r = write_version(d, d->c_index, d->c_buf, d->c_len, &d->c_st);
	if (r == 0)
		d->c_dirty = false;
	return r;
}

/*
 * Make chunk index the cached one.  fresh: its current content is not
 * needed (a hole, past the end, or about to be overwritten completely):
 * start from zeros and only learn the slot state.
 */
static int cache_load(struct doc *d, uint64_t index, bool fresh)
{
	int r;

	if (d->c_valid && d->c_index == index)
		return 0;
	r = cache_writeback(d);
	if (r < 0)
		return r;
	d->c_valid = false;
	/* c_buf[c_len, cs) is zero, cached or not: zero no more than that */
	if (fresh) {
		memset(d->c_buf, 0, d->c_len);
		d->c_len = 0;
		r = peek_chunk(d, index, &d->c_st);
	} else {
		size_t hi = d->c_len;

		r = open_chunk(d, index, d->c_buf, &d->c_len, &d->c_st);
		if (r == 0 && hi > d->c_len)
			memset(d->c_buf + d->c_len, 0, hi - d->c_len);
	}
	if (r < 0)
		return r;
	if (!fresh)
		d->loads++;
	d->c_index = index;
	d->c_valid = true;
	d->c_dirty = false;
	return 0;
}

static void cache_drop(struct doc *d)
{
	d->c_valid = false;
	d->c_dirty = false;
}

/* ---- lifecycle ---- */

/*
 * The chunk and scratch buffers of closed documents, kept whole zero for
 * the next ones.  Allocating, zeroing and wiping 200 KiB per document (64
 * KiB chunks) was about 5 % of the daemon's time reading many small files;
 * a kept pair is wiped only as far as its document wrote into it.
 */
#define DOC_BUFS_KEPT 8

struct doc_bufs {
	uint32_t cs;
	uint8_t *c_buf, *scratch;
};

static pthread_mutex_t doc_bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct doc_bufs doc_bufs[DOC_BUFS_KEPT];
static size_t ndoc_bufs;

/* Zeroed buffers for chunk size cs into d (c_buf, scratch). */
static int doc_bufs_get(struct doc *d)
{
	pthread_mutex_lock(&doc_bufs_lock);
	for (size_t k = ndoc_bufs; k-- > 0;)
		if (doc_bufs[k].cs == d->cs) {
			d->c_buf = doc_bufs[k].c_buf;
			d->scratch = doc_bufs[k].scratch;
			doc_bufs[k] = doc_bufs[--ndoc_bufs];
			break;
		}
	pthread_mutex_unlock(&doc_bufs_lock);
	if (d->c_buf)
		return 0;
	d->c_buf = calloc(1, d->cs);
	d->scratch = calloc(1, d->slot_bytes);
	return d->c_buf && d->scratch ? 0 : -ENOMEM;
}

/* Wipe what d wrote into its buffers; keep them or free them. */
static void doc_bufs_put(struct doc *d)
{
	bool kept = false;

	/* c_buf[c_len, cs) is always zero (cache_load) */
	if (d->c_buf)
		sodium_memzero(d->c_buf, d->c_len);
	if (d->scratch)
		sodium_memzero(d->scratch, d->s_hi);
	if (d->c_buf && d->scratch) {
		pthread_mutex_lock(&doc_bufs_lock);
		if (ndoc_bufs < DOC_BUFS_KEPT) {
			doc_bufs[ndoc_bufs++] = (struct doc_bufs){
				d->cs, d->c_buf, d->scratch };
			kept = true;
		}
		pthread_mutex_unlock(&doc_bufs_lock);
	}
	if (!kept) {
		free(d->c_buf);
		free(d->scratch);
	}
	d->c_buf = d->scratch = NULL;
}

static void doc_free(struct doc *d)
{
	if (!d)
		return;
	doc_bufs_put(d);
	free(d->pset);
	seal_key_free(d->dek);
	sodium_memzero(d, sizeof(*d));
	free(d);
}

static int doc_alloc(int fd, const struct keystore *ks, struct doc **out)
{
	struct doc *d = calloc(1, sizeof(*d));
	int fl;

	if (!d)
		return -ENOMEM;
	d->fd = fd;
	d->ks = ks;
	d->dek = seal_key_alloc();
	if (!d->dek) {
		free(d);
		return -ENOMEM;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		int r = -errno;

		doc_free(d);
		return r;
	}
	d->writable = (fl & O_ACCMODE) != O_RDONLY;
	d->level = keystore_settings(ks)->compress_level;
	*out = d;
	return 0;
}

/* Buffers for chunk size cs; file_end from the backing file. */
static int doc_setup(struct doc *d, uint32_t cs)
{
	struct stat st;

	if (!container_chunk_size_valid(cs))
		return -EINVAL;
	d->cs = cs;
	d->slot_bytes = container_slot_bytes(cs);
	if (doc_bufs_get(d) < 0)
		return -ENOMEM;
	if (fstat(d->fd, &st) < 0)
		return -errno;
	d->file_end = (uint64_t)st.st_size;
	return 0;
}

/*
 * Readahead window: 4 MiB ahead, asked for in batches of half of it, but
 * never more than 256 chunks (1 MiB of the smallest), each its own
 * fadvise (with 4 KiB chunks, 1024 ahead read 256 MiB in 1.29-1.34 s,
 * 256 in 1.04-1.08 s).  Sequential read of 256 MiB incompressible in
 * 64 KiB chunks, seven alternating pairs: 0.37-0.40 s with 0.39-0.42 s
 * of daemon CPU, against 0.42-0.47 s and 0.44-0.48 s with 1 MiB ahead,
 * which left the CPUs idle 16-20% of the time, waiting on the disk.  2
 * and 8 MiB were slower than 4; text read did not change (0.187-0.200 s
 * against 0.196-0.206 s).
 */
#define RA_BYTES (UINT64_C(4) << 20)
#define RA_CHUNKS_MAX 256

/*
 * Chunk index was just read from slot, frame flen bytes long.  When reads
 * are sequential, ask the kernel to fetch the same slot of the next chunks
 * (a sequentially written file keeps all chunks in one slot).  Compressed
 * frames differ in length, and the tail of one longer than asked for is
 * read alone and synchronously: ask for each slot's data up to the hole
 * after it (the rest of a slot is a hole unless a longer frame was there
 * before), or, where the file system reports no such hole, half again as
 * much as this frame (text read 0.21-0.23 s against 0.22-0.235 s; the
 * hole then took the 87 synchronous tail reads left to none, 3% faster).
 * A stored (incompressible) frame is as long as any: ask for just that,
 * not the empty rest of its slot.
 */
static void read_ahead(struct doc *d, uint64_t index, int slot, size_t flen)
{
	uint64_t n = nchunks(d, d->hdr.size), end;
	uint64_t w = RA_BYTES / d->cs < RA_CHUNKS_MAX ? RA_BYTES / d->cs :
						       RA_CHUNKS_MAX;
	bool packed;

	if (index != d->ra_next) {
		d->ra_next = index + 1;
		d->ra_done = index + 1;
		return;
	}
	d->ra_next = index + 1;
	if (d->ra_done < index + 1)
		d->ra_done = index + 1;
	if (d->ra_done > index + w / 2)
		return;	/* enough in flight; ask again in bigger batches */
	end = index + 1 + w < n ? index + 1 + w : n;
	packed = flen < d->cs;
	if (packed)
		flen = flen + flen / 2 < d->cs ? flen + flen / 2 : d->cs;
	for (; d->ra_done < end; d->ra_done++) {
		off_t off = (off_t)slot_off(d, d->ra_done, slot);
		off_t hole = packed ? lseek(d->fd, off, SEEK_HOLE) : -1;
		size_t len = flen;

		if (hole > off && (uint64_t)(hole - off) < d->slot_bytes)
			len = (size_t)(hole - off);
		(void)posix_fadvise(d->fd, off, (off_t)len, POSIX_FADV_WILLNEED);
	}
}

int doc_create(int fd, const struct keystore *ks, struct doc **out)
{
	struct doc *d;
	int r;

	r = doc_alloc(fd, ks, &d);
	if (r < 0)
		return r;
	/* doc_open() had it done by read_header(); nothing read here yet */
	no_kernel_readahead(fd);
	r = doc_setup(d, keystore_settings(ks)->chunk_size);
	if (r < 0)
		goto fail;
	if (!d->writable) {
		r = -EBADF;
		goto fail;
	}
	if (d->file_end != 0) {
		r = -EEXIST;
		goto fail;
	}
	seal_random(d->hdr.doc_id, sizeof(d->hdr.doc_id));
	seal_random(d->dek, SEAL_KEY_BYTES);
	r = keystore_wrap_dek(ks, d->hdr.doc_id, d->dek, &d->hdr.kek_version,
			      d->hdr.wrapped_dek);
	if (r < 0)
		goto fail;
	d->hdr.chunk_size = d->cs;
	d->hdr.gen = 0;		/* first write: slots get 2 and 3 */
	r = write_header(d);
	if (r < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	doc_free(d);
	return r;
}

int doc_open(int fd, const struct keystore *ks, struct doc **out)
{
	struct doc *d;
	int r;

	r = doc_alloc(fd, ks, &d);
	if (r < 0)
		return r;
	r = read_header(fd, ks, &d->hdr, d->dek);
	if (r < 0)
		goto fail;
	if (d->hdr.size > DOC_MAX_SIZE) {
		r = -EBADMSG;
		goto fail;
	}
	r = doc_setup(d, d->hdr.chunk_size);
	if (r < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	doc_free(d);
	return r;
}

int doc_peek_size(int fd, const struct keystore *ks, uint64_t *size,
		  uint8_t doc_id[CONTAINER_DOC_ID_BYTES])
{
	struct container_header h;
	uint8_t *dek = seal_key_alloc();
	int r;

	if (!dek)
		return -ENOMEM;
	r = read_header(fd, ks, &h, dek);
	seal_key_free(dek);
	if (r < 0)
		return r;
	if (h.size > DOC_MAX_SIZE)
		return -EBADMSG;
	*size = h.size;
	if (doc_id)
		memcpy(doc_id, h.doc_id, CONTAINER_DOC_ID_BYTES);
	return 0;
}

uint64_t doc_size(const struct doc *d)
{
	return d->hdr.size;
}

const uint8_t *doc_id(const struct doc *d)
{
	return d->hdr.doc_id;
}

uint64_t doc_chunk_loads(const struct doc *d)
{
	return d->loads;
}

uint32_t doc_chunk_size(const struct doc *d)
{
	return d->cs;
}

bool doc_cached_chunk(const struct doc *d, uint64_t off, void *buf,
		      uint64_t *start, size_t *len)
{
	uint64_t n;

	if (!d->c_valid || d->c_dirty || off / d->cs != d->c_index ||
	    off >= d->hdr.size)
		return false;
	*start = d->c_index * d->cs;
	n = d->hdr.size - *start;
	*len = n < d->cs ? (size_t)n : d->cs;
	memcpy(buf, d->c_buf, *len);
	return true;
}

/* ---- reading ---- */

/*
 * Number of chunks from index on, at most max and BATCH_MAX, that can be
 * read straight into the caller's buffer: not cached, not holes.  At
 * least 1 (index itself qualifies).
 */
static size_t whole_run(const struct doc *d, uint64_t index, size_t max)
{
	size_t m = 1;

	if (max > BATCH_MAX)
		max = BATCH_MAX;
	while (m < max && !(d->c_valid && d->c_index == index + m) &&
	       !container_is_hole(&d->hdr, index + m))
		m++;
	return m;
}

struct rbatch {
	const struct doc *d;
	uint64_t first;
	uint8_t *dest;			/* m chunks, cs apart */
	uint8_t *scratch;		/* m frames, slot_bytes apart */
	struct chunk_state st[BATCH_MAX];
	size_t flen[BATCH_MAX];
	int r[BATCH_MAX];
};

static void batch_open(void *arg, size_t k)
{
	struct rbatch *b = arg;
	const struct doc *d = b->d;
	uint8_t *dest = b->dest + k * d->cs;
	size_t len;

	b->r[k] = open_frame(d, b->first + k, dest, b->scratch +
			     k * d->slot_bytes, &len, &b->st[k], &b->flen[k]);
	if (b->r[k] == 0)
		memset(dest + len, 0, d->cs - len);
}

/*
 * Read m whole chunks from index first into dest (m * cs bytes).  Opening
 * (decrypting, decompressing) dominates large reads and each chunk is
 * independent: on all CPUs, as write_batch() seals.
 */
static int read_batch(struct doc *d, uint64_t first, size_t m, uint8_t *dest)
{
	struct rbatch b = { .d = d, .first = first, .dest = dest };
	size_t size = BATCH_MAX * d->slot_bytes;
	int r = 0;

	if (m == 1) {
		struct chunk_state st;
		size_t len;

		r = open_chunk(d, first, dest, &len, &st);
		if (r == 0)
			memset(dest + len, 0, d->cs - len);
		return r;
	}
	prefetch(d, first, m);
	b.scratch = batch_buf_get(size);
	if (!b.scratch)
		return -ENOMEM;
	workers_run(m, batch_open, &b);
	/* frames were decrypted in place: wipe what each one used */
	for (size_t k = 0; k < m; k++)
		sodium_memzero(b.scratch + k * d->slot_bytes,
			       b.r[k] == 0 && !b.st[k].fell_back ?
			       b.flen[k] : d->slot_bytes);
	batch_buf_put(b.scratch, size);
	for (size_t k = 0; k < m && r == 0; k++)
		r = b.r[k];
	for (size_t k = 0; k < m && r == 0; k++) {
		read_ahead(d, first + k, b.st[k].cur, b.flen[k]);
		warn_fell_back(d, first + k, &b.st[k]);
	}
	return r;
}

int doc_read(struct doc *d, void *buf, size_t len, uint64_t off, size_t *got)
{
	uint8_t *out = buf;
	uint64_t pos = off;
	size_t total, done = 0;
	int r = 0;

	*got = 0;
	if (off >= d->hdr.size || len == 0)
		return 0;
	total = d->hdr.size - off < len ? (size_t)(d->hdr.size - off) : len;
	while (done < total) {
		uint64_t i = pos / d->cs;
		size_t coff = (size_t)(pos % d->cs);
		size_t n = d->cs - coff < total - done ? d->cs - coff :
			   total - done;

		if (d->c_valid && d->c_index == i) {
			memcpy(out + done, d->c_buf + coff, n);
		} else if (container_is_hole(&d->hdr, i)) {
			memset(out + done, 0, n);
		} else if (n == d->cs) {
			/* whole chunks: decrypt straight into the caller's
			 * buffer, several at once */
			size_t m = whole_run(d, i, (total - done) / d->cs);

			r = read_batch(d, i, m, out + done);
			if (r < 0)
				goto fail;
			n = m * d->cs;
		} else {
			r = cache_load(d, i, false);
			if (r < 0)
				goto fail;
			memcpy(out + done, d->c_buf + coff, n);
		}
		done += n;
		pos += n;
	}
	*got = total;
	return 0;
fail:
	memset(buf, 0, total);
	return r;
}

static uint64_t next_data_chunk(const struct doc *d, uint64_t index);

int doc_verify(struct doc *d,
	       void (*bad)(uint64_t index, int error, void *arg), void *arg)
{
	uint64_t n = nchunks(d, d->hdr.size);
	bool any = false;
	int r;

	r = cache_writeback(d);
	if (r < 0)
		return r;
	cache_drop(d);
	/* Holes are skipped as whole extents, and a backing file cut short
	 * is one finding, so the cost follows the data, not the size. */
	for (uint64_t i = next_data_chunk(d, 0); i < n;
	     i = next_data_chunk(d, i + 1)) {
		struct chunk_state st;
		size_t len;

		if (slot_off(d, i, 0) >= d->file_end) {
			any = true;
			if (bad)
				bad(i, -ENODATA, arg);
			break;
		}
		r = open_chunk(d, i, d->c_buf, &len, &st);
		if (r == -EBADMSG) {
			any = true;
			if (bad)
				bad(i, r, arg);
		} else if (r < 0) {
			return r;
		} else if (st.fell_back && bad) {
			bad(i, -ESTALE, arg);
		}
	}
	sodium_memzero(d->c_buf, d->cs);
	return any ? -EBADMSG : 0;
}

/* ---- writing ---- */

/* Grow to size (> current): the new chunks are holes. */
static int grow(struct doc *d, uint64_t size)
{
	uint64_t old_n = nchunks(d, d->hdr.size), new_n = nchunks(d, size);
	int r = 0;

	if (new_n > old_n)
		r = add_holes(d, old_n, new_n - old_n);
	if (r < 0)
		return r;
	d->hdr.size = size;
	d->hdr_dirty = true;
	return 0;
}

int doc_write(struct doc *d, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *in = buf;
	uint64_t pos = off;
	size_t done = 0;
	int r;

	if (!d->writable)
		return -EBADF;
	if (len == 0)
		return 0;
	if (off > DOC_MAX_SIZE || len > DOC_MAX_SIZE - off)
		return -EFBIG;
	/* Chunks strictly between the old end and the new data: holes. */
	if (off / d->cs > nchunks(d, d->hdr.size)) {
		r = grow(d, off / d->cs * d->cs);
		if (r < 0)
			return r;
	}
	while (done < len) {
		uint64_t i = pos / d->cs, start = i * d->cs;
		size_t coff = (size_t)(pos % d->cs);
		size_t n = d->cs - coff < len - done ? d->cs - coff :
			   len - done;
		size_t m = coff == 0 ? (len - done) / d->cs : 0;

		if (m > BATCH_MAX)
			m = BATCH_MAX;
		/* never past the cached chunk: it has its own newer state */
		if (m > 0 && d->c_valid && d->c_index >= i && d->c_index < i + m)
			m = (size_t)(d->c_index - i);
		if (m >= 2) {
			r = write_batch(d, i, m, in + done);
			if (r < 0)
				return r;
			done += m * d->cs;
			pos += m * d->cs;
			if (pos > d->hdr.size) {
				d->hdr.size = pos;
				d->hdr_dirty = true;
			}
			continue;
		}
		if (d->c_valid && d->c_index == i) {
			/* the cached chunk is never a hole */
		} else {
			bool hole = container_is_hole(&d->hdr, i);
			uint64_t have = 0;	/* bytes of the chunk that exist */

			if (!hole && start < d->hdr.size)
				have = d->hdr.size - start < d->cs ?
				       d->hdr.size - start : d->cs;
			if (hole) {
				r = fill_hole(d, i);
				if (r < 0)
					return r;
			}
			if (n == d->cs) {
				/* whole chunk: seal it straight from buf */
				struct chunk_state st;

				r = peek_chunk(d, i, &st);
				if (r == 0)
					r = write_version(d, i, in + done, n,
							  &st);
				if (r < 0)
					return r;
				goto next;
			}
			r = cache_load(d, i, have == 0 ||
					     (coff == 0 && n >= have));
			if (r < 0)
				return r;
		}
		memcpy(d->c_buf + coff, in + done, n);
		if (coff + n > d->c_len)
			d->c_len = coff + n;
		d->c_dirty = true;
next:
		done += n;
		pos += n;
		if (pos > d->hdr.size) {
			d->hdr.size = pos;
			d->hdr_dirty = true;
		}
	}
	return 0;
}

int doc_truncate(struct doc *d, uint64_t size)
{
	uint64_t n, end;
	size_t keep;
	int r;

	if (!d->writable)
		return -EBADF;
	if (size > DOC_MAX_SIZE)
		return -EFBIG;
	if (size == d->hdr.size)
		return 0;
	if (size > d->hdr.size)
		return grow(d, size);

	n = nchunks(d, size);
	if (d->c_valid && d->c_index >= n)
		cache_drop(d);
	/* superseded versions beyond the end go with the ftruncate below */
	r = drop_punches_from(d, n);
	if (r < 0)
		return r;
	/*
	 * Cut the new last chunk's data length, so that its old bytes can
	 * never come back when the file grows again.
	 */
	keep = (size_t)(size % d->cs);
	if (keep && !container_is_hole(&d->hdr, n - 1)) {
		r = cache_load(d, n - 1, false);
		if (r < 0)
			return r;
		if (d->c_len > keep) {
			memset(d->c_buf + keep, 0, d->c_len - keep);
			d->c_len = keep;
			d->c_dirty = true;
		}
	}
	r = cache_writeback(d);
	if (r < 0)
		return r;
	container_clip_holes(&d->hdr, n);
	d->hdr.size = size;
	d->hdr_dirty = true;
	/*
	 * Header first, durable, then cut the file: a crash in between
	 * leaves stale chunks past the size (ignored), never a size whose
	 * chunks are gone.  Without the sync a power cut could keep the cut
	 * and lose the header (t4007 showed it).
	 */
	r = write_header(d);
	if (r < 0)
		return r;
	end = n ? slot_off(d, n, 0) : CONTAINER_DATA_OFFSET;
	if (d->file_end > end) {
		if (fdatasync(d->fd) < 0 || ftruncate(d->fd, (off_t)end) < 0)
			return -errno;
		d->file_end = end;
	}
	return 0;
}

int doc_flush(struct doc *d)
{
	int r;

	if (!d->writable)
		return 0;
	r = cache_writeback(d);
	if (r == 0)
		r = flush_punches(d);
	if (r == 0 && d->hdr_dirty)
		r = write_header(d);
	return r;
}

int doc_sync(struct doc *d, bool datasync)
{
	int r = doc_flush(d);

	if (r < 0)
		return r;
	if ((datasync ? fdatasync(d->fd) : fsync(d->fd)) < 0)
		return -errno;
	return 0;
}

int doc_close(struct doc *d)
{
	int r;

	if (!d)
		return 0;
	r = doc_flush(d);
	doc_free(d);
	return r;
}

/* ---- key rotation ---- */

int doc_peek_kek(int fd, uint32_t *current, uint32_t *other)
{
	uint8_t buf[CONTAINER_HDR_BYTES];
	struct container_header h[2];
	int pr[2], win;
	int r;

	*current = *other = 0;
	r = read_header_bytes(fd, buf);
	if (r < 0)
		return r;
	for (int s = 0; s < 2; s++)
		pr[s] = container_header_parse(buf + s * CONTAINER_HDR_SLOT_BYTES,
					       &h[s]);
	if (pr[0] < 0 && pr[1] < 0) {
		if (pr[0] == -EPROTONOSUPPORT || pr[1] == -EPROTONOSUPPORT)
			return -EPROTONOSUPPORT;
		return pr[0] == -ENOENT && pr[1] == -ENOENT ? -ENOENT : -EBADMSG;
	}
	/* the same choice as read_header() */
	win = (pr[0] == 0 && pr[1] == 0) ? (h[1].gen > h[0].gen) :
	      (pr[0] == 0 ? 0 : 1);
	*current = h[win].kek_version;
	if (pr[1 - win] == 0)
		*other = h[1 - win].kek_version;
	return 0;
}

uint32_t doc_kek_version(const struct doc *d)
{
	return d->hdr.kek_version;
}

int doc_rewrap(struct doc *d)
{
	int r;

	if (!d->writable)
		return -EBADF;
	r = doc_flush(d);
	if (r < 0)
		return r;
	r = keystore_wrap_dek(d->ks, d->hdr.doc_id, d->dek,
			      &d->hdr.kek_version, d->hdr.wrapped_dek);
	if (r < 0)
		return r;
	return write_header(d);
}

/* The first chunk at or after index that is not in a hole extent. */
static uint64_t next_data_chunk(const struct doc *d, uint64_t index)
{
	/* extents are sorted and disjoint: one pass skips them all */
	for (uint32_t k = 0; k < d->hdr.nholes; k++) {
		const struct container_hole *e = &d->hdr.holes[k];

		if (index >= e->first && index - e->first < e->count)
			index = e->first + e->count;
	}
	return index;
}

int doc_copy(struct doc *src, struct doc *dst,
	     void (*progress)(uint64_t bytes, void *arg), void *arg)
{
	uint64_t n;
	int r;

	if (!dst->writable)
		return -EBADF;
	if (dst->hdr.size != 0 || src == dst)
		return -EINVAL;
	r = doc_flush(src);
	if (r < 0)
		return r;
	cache_drop(src);
	n = nchunks(src, src->hdr.size);
	for (uint64_t i = next_data_chunk(src, 0); i < n;
	     i = next_data_chunk(src, i + 1)) {
		struct chunk_state st;
		size_t len;

		r = open_chunk(src, i, src->c_buf, &len, &st);
		/* an empty chunk (len 0) reads as zeros: a hole will do */
		if (r == 0 && len > 0)
			r = doc_write(dst, src->c_buf, len, i * src->cs);
		if (r < 0)
			goto out;
		if (progress)
			progress(len, arg);
	}
	r = doc_truncate(dst, src->hdr.size);
	if (r == 0)
		r = doc_sync(dst, false);
out:
	sodium_memzero(src->c_buf, src->cs);
	return r;
}

/* Punch slot of every data chunk before index end that holds the newer version. */
static void undo_new_frames(struct doc *d, uint64_t end)
{
	for (uint64_t j = next_data_chunk(d, 0); j < end;
	     j = next_data_chunk(d, j + 1)) {
		struct chunk_state st;

		if (peek_chunk(d, j, &st) == 0 && st.present == 3u)
			(void)punch_slot(d, j, st.cur);
	}
}

int doc_reencrypt(struct doc *d, void (*progress)(uint64_t bytes, void *arg),
		  void *arg)
{
	uint8_t id[CONTAINER_DOC_ID_BYTES], wrapped[CONTAINER_WRAPPED_DEK_BYTES];
	uint8_t *dek;
	uint32_t version;
	uint64_t n, i;
	int r;

	if (!d->writable)
		return -EBADF;
	r = doc_flush(d);
	if (r < 0)
		return r;
	cache_drop(d);
	dek = seal_key_alloc();
	if (!dek)
		return -ENOMEM;
	seal_random(id, sizeof(id));
	seal_random(dek, SEAL_KEY_BYTES);
	r = keystore_wrap_dek(d->ks, id, dek, &version, wrapped);
	if (r < 0)
		goto out;

	/* 1. the new versions, beside the current ones */
	d->quiet = true;	/* frames of an earlier, interrupted run */
	n = nchunks(d, d->hdr.size);
	for (i = next_data_chunk(d, 0); i < n; i = next_data_chunk(d, i + 1)) {
		struct chunk_state st;
		uint64_t off;
		size_t len, flen;
		int s;

		r = open_chunk(d, i, d->c_buf, &len, &st);
		if (r < 0)
			goto undo;
		/* the slot not holding the version that authenticated */
		s = st.cur == 0 ? 1 : 0;
		off = slot_off(d, i, s);
		d->s_hi = seal_hi(d, d->s_hi, len);
		r = container_frame_seal(dek, id, i, st.gen + 1, d->level,
					 d->c_buf, len, d->scratch,
					 d->slot_bytes, &flen);
		if (r == 0)
			r = pwrite_full(d->fd, d->scratch, flen, (off_t)off);
		if (off + flen > d->file_end)
			d->file_end = off + flen;
		if (r < 0) {
			i++;	/* this one may be partly written */
			goto undo;
		}
		if (progress)
			progress(len, arg);
	}
	if (fdatasync(d->fd) < 0) {
		r = -errno;
		goto undo;
	}

	/* 2. the header switches to the new id and DEK */
	memcpy(d->dek, dek, SEAL_KEY_BYTES);
	memcpy(d->hdr.doc_id, id, sizeof(id));
	memcpy(d->hdr.wrapped_dek, wrapped, sizeof(wrapped));
	d->hdr.kek_version = version;
	r = write_header(d);
	if (r == 0 && fdatasync(d->fd) < 0)
		r = -errno;
	if (r < 0)
		goto out;	/* old or new header: both read correctly */

	/* 3. drop the old versions: the newer slot of each chunk is ours */
	for (i = next_data_chunk(d, 0); i < n && r == 0;
	     i = next_data_chunk(d, i + 1)) {
		struct chunk_state st;

		r = peek_chunk(d, i, &st);
		if (r == 0 && st.present == 3u)
			r = punch_slot(d, i, 1 - st.cur);
	}
	goto out;

undo:
	undo_new_frames(d, i);
out:
	d->quiet = false;
	sodium_memzero(d->c_buf, d->cs);
	sodium_memzero(id, sizeof(id));
	seal_key_free(dek);
	return r;
}
