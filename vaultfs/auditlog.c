/* auditlog.c - see auditlog.h; the byte format is in auditrec.h. */
#include "auditlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "le.h"
#include "fileio.h"
#include "log.h"

#define TMP_SUFFIX ".tmp"

/*
 * The head file: where the chain stands, in the clear, so that a writer
 * can go on even when every segment was archived.  A hint only: the
 * verifier checks every link.
 *   magic "VFSAHEAD" | format u32 | 0 u32 | vault id 16 | segment u64 |
 *   next seq u64 | chain 32                                   (80 bytes)
 */
#define HEAD_MAGIC "VFSAHEAD"
#define HEAD_BYTES 80

/*
 * Nonces per draw from the kernel: a getrandom(2) per record was a tenth
 * of a record's cost.  libsodium asks the kernel for 256 bytes at a time.
 */
#define NONCE_BATCH (3 * 256 / SEAL_NONCE_BYTES)

/* The writer's secrets, in one sodium_malloc block. */
struct secret {
	uint8_t k[AUDITREC_KEY_BYTES];		/* K_i: seals the next record */
};

struct auditlog {
	pthread_mutex_t mu;		/* everything below but the flusher */
	pthread_mutex_t sync_mu;	/* serialises fdatasync (group commit) */
	int dir_fd;			/* VAULT/audit, for rotation */
	int fd;				/* current segment; -1 between two */
	enum audit_segment_kind kind;
	uint64_t max_bytes;
	void (*copy)(void *, uint64_t, uint64_t, const uint8_t *, size_t);
	void *copy_arg;
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	uint8_t pk[AUDITREC_PK_BYTES];
	uint64_t segment;		/* current (or last) segment number */
	uint64_t next_seq;
	uint64_t size;			/* bytes in the current segment */
	uint64_t records;		/* records in the current segment */
	uint8_t chain[AUDITREC_CHAIN_BYTES];	/* after the last frame */
	int broken;			/* 0, or the error every append returns */
	uint64_t written;		/* records written, ever */
	uint64_t synced;		/* of which durable */
	struct secret *sec;
	uint8_t *frame;			/* AUDITREC_FRAME_MAX scratch */
	/* Random nonces drawn in one go; each is used once, then dropped. */
	uint8_t nonces[NONCE_BATCH * SEAL_NONCE_BYTES];
	unsigned nonces_left;

	/* Flusher thread. */
	pthread_mutex_t fl_mu;
	pthread_cond_t fl_cv;
	pthread_t fl_thread;
	bool fl_running, fl_stop;
	unsigned fl_interval_ms;
};

/* Record the chain's end (segment, next seq, chain); failure is logged. */
static void head_write(struct auditlog *log)
{
	uint8_t b[HEAD_BYTES];
	int err;

	memset(b, 0, sizeof(b));
	memcpy(b, HEAD_MAGIC, 8);
	b[8] = AUDITREC_FORMAT;
	memcpy(b + 16, log->vault_id, AUDITREC_VAULT_ID_BYTES);
	le_put64(b + 32, log->segment);
	le_put64(b + 40, log->next_seq);
	memcpy(b + 48, log->chain, AUDITREC_CHAIN_BYTES);
	err = write_file_atomic(log->dir_fd, AUDITLOG_HEAD_FILE, b, sizeof(b),
				0600);
	if (err < 0)
		vlog(LOG_WARNING, "audit: cannot write \"%s\": %s",
		     AUDITLOG_HEAD_FILE, strerror(-err));
}

/* The head file's values, if it is there, well-formed and ours. */
static bool head_read(struct auditlog *log, uint64_t *segment,
		      uint64_t *next_seq, uint8_t chain[AUDITREC_CHAIN_BYTES])
{
	static const uint8_t zero[8];
	uint8_t b[HEAD_BYTES];
	size_t len = 0;

	if (read_file_small(log->dir_fd, AUDITLOG_HEAD_FILE, b, sizeof(b),
			    &len) < 0 || len != HEAD_BYTES ||
	    memcmp(b, HEAD_MAGIC, 8) != 0 || b[8] != AUDITREC_FORMAT ||
	    memcmp(b + 9, zero, 7) != 0 ||
	    memcmp(b + 16, log->vault_id, AUDITREC_VAULT_ID_BYTES) != 0)
		return false;
	*segment = le_get64(b + 32);
	*next_seq = le_get64(b + 40);
	memcpy(chain, b + 48, AUDITREC_CHAIN_BYTES);
	return *segment != 0 && *segment != UINT64_MAX && *next_seq != 0;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- finding the predecessor ---- */

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Numbers of the segment files in dir_fd, newest first (*list malloc'd). */
static int list_segments(int dir_fd, uint64_t **list, size_t *n)
{
	uint64_t *v = NULL, num;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		int err = -errno;

		close(fd);
		return err;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (auditrec_segment_number(de->d_name, &num) < 0)
			continue;
		if (cnt == cap) {
			uint64_t *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = num;
	}
	if (errno != 0) {
		int err = -errno;

		free(v);
		closedir(d);
		return err;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_desc);
	*list = v;
	*n = cnt;
	return 0;
}

static int open_segment(int dir_fd, uint64_t num, int *fd)
{
	char name[AUDITREC_SEGNAME_MAX];

	auditrec_segment_name(num, name);
	*fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

/* -EBUSY if a live writer holds the segment fd (its exclusive flock). */
static int check_not_live(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	flock(fd, LOCK_UN);
	return 0;
}

/*
 * Chain value and next seq after the last complete frame of a segment
 * whose header h (raw bytes hraw) is valid.  Fast path: the suffix at the
 * end names the last frame.  After a crash the tail may be torn; then walk
 * forward over the clear framing and stop at the first frame that is not
 * whole.  Only ciphertext is read: no key is needed.
 */
static int find_tail(int fd, const struct auditrec_header *h,
		     const uint8_t *hraw, uint8_t *buf,
		     uint8_t chain[AUDITREC_CHAIN_BYTES], uint64_t *next_seq)
{
	struct auditrec_frame f;
	struct stat st;
	uint64_t size, off, last_off = 0;
	size_t got, len, last_len = 0;
	uint8_t p[4];
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	size = (uint64_t)st.st_size;
	auditrec_chain(hraw, AUDITREC_HEADER_BYTES, chain);
	*next_seq = h->first_seq;
	if (size <= AUDITREC_HEADER_BYTES)
		return 0;

	/* Fast path. */
	err = pread_full(fd, p, 4, (off_t)(size - 4), &got);
	if (err < 0)
		return err;
	if (auditrec_frame_peek(p, &len) == 0 &&
	    size - AUDITREC_HEADER_BYTES >= len) {
		err = pread_full(fd, buf, len, (off_t)(size - len), &got);
		if (err < 0)
			return err;
		if (got == len && auditrec_frame_parse(buf, len, &f) == 0) {
			auditrec_chain(buf, len, chain);
			*next_seq = f.seq + 1;
			return 0;
		}
	}

	/* Slow path: prefix and suffix of every frame. */
	for (off = AUDITREC_HEADER_BYTES; size - off >= 4; off += len) {
		uint8_t q[4];

		err = pread_full(fd, p, 4, (off_t)off, &got);
		if (err < 0)
			return err;
		if (auditrec_frame_peek(p, &len) < 0 || size - off < len)
			break;
		err = pread_full(fd, q, 4, (off_t)(off + len - 4), &got);
		if (err < 0)
			return err;
		if (memcmp(p, q, 4) != 0)
			break;
		last_off = off;
		last_len = len;
	}
	if (last_len == 0)
		return 0;
	err = pread_full(fd, buf, last_len, (off_t)last_off, &got);
	if (err < 0)
		return err;
	if (got != last_len || auditrec_frame_parse(buf, last_len, &f) < 0)
		return -EIO;	/* changed under us */
	auditrec_chain(buf, last_len, chain);
	*next_seq = f.seq + 1;
	return 0;
}

/*
 * The predecessor of a new segment: the newest segment file whose header
 * parses and belongs to this vault (damaged or foreign newer files are
 * skipped; the verifier reports them); when there is none (all archived),
 * the segment the head file names.  *number receives the number the new
 * segment gets: one above every segment file present or named.
 */
static int find_predecessor(struct auditlog *log, uint64_t *number,
			    uint64_t *prev, uint8_t chain[AUDITREC_CHAIN_BYTES],
			    uint64_t *next_seq)
{
	uint8_t hraw[AUDITREC_HEADER_BYTES];
	struct auditrec_header h;
	uint64_t *list = NULL;
	size_t n = 0, got;
	int err, fd = -1;

	err = list_segments(log->dir_fd, &list, &n);
	if (err < 0)
		return err;
	*number = n > 0 ? list[0] + 1 : 1;
	*prev = 0;
	*next_seq = 1;
	memset(chain, 0, AUDITREC_CHAIN_BYTES);
	if (n > 0 && list[0] == UINT64_MAX) {
		err = -EOVERFLOW;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/*
		 * A file we cannot open or read (a symlink, a directory, an
		 * I/O error) is skipped like a damaged one: refusing to start
		 * would let any stray file stop the vault from mounting.
		 */
		err = open_segment(log->dir_fd, list[i], &fd);
		if (err == -ENOENT)
			continue;
		if (err == 0 && i == 0) {
			err = check_not_live(fd);
			if (err == -EBUSY)
				goto out;
		}
		if (err == 0)
			err = pread_full(fd, hraw, sizeof(hraw), 0, &got);
		if (err == 0 && got == sizeof(hraw) &&
		    auditrec_header_parse(hraw, got, &h) == 0 &&
		    h.segment == list[i] &&
		    memcmp(h.vault_id, log->vault_id, sizeof(h.vault_id)) == 0) {
			err = find_tail(fd, &h, hraw, log->frame, chain,
					next_seq);
			if (err == 0) {
				*prev = list[i];
				break;
			}
		}
		vlog(LOG_WARNING, "audit: segment %012llu is damaged, unreadable "
		     "or not from this vault; not chaining on it (run vaultctl "
		     "audit verify)", (unsigned long long)list[i]);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (*prev == 0) {
		/* Nothing usable: forget what a failed candidate left. */
		memset(chain, 0, AUDITREC_CHAIN_BYTES);
		*next_seq = 1;
	}
	/*
	 * The head names the newest segment ever started.  If that is newer
	 * than what we found, the newest segments were archived (or
	 * deleted): chain onto the head, so the verifier sees the gap
	 * instead of a seamless chain.
	 */
	{
		uint64_t hs, hseq;
		uint8_t hc[AUDITREC_CHAIN_BYTES];

		if (head_read(log, &hs, &hseq, hc) && hs > *prev) {
			if (*prev != 0)
				vlog(LOG_WARNING, "audit: segments after "
				     "%012llu are gone; chaining onto segment "
				     "%012llu named by \"%s\"",
				     (unsigned long long)*prev,
				     (unsigned long long)hs, AUDITLOG_HEAD_FILE);
			if (hs + 1 > *number)
				*number = hs + 1;
			*prev = hs;
			*next_seq = hseq;
			memcpy(chain, hc, AUDITREC_CHAIN_BYTES);
		}
	}
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	free(list);
	return err;
}

/* ---- segments ---- */

static int fsync_dir(int dir_fd)
{
	return fsync(dir_fd) < 0 && errno != EINVAL ? -errno : 0;
}

/* Rename tmp to name, refusing to replace; link+unlink where unsupported. */
static int rename_noreplace(int dir_fd, const char *tmp, const char *name)
{
	if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
		return -errno;
	unlinkat(dir_fd, tmp, 0);
	return 0;
}

/*
 * Create segment number (caller holds the directory lock and log->mu):
 * fresh K0 in log->sec, header written to a temporary file, synced, locked
 * and renamed into place.  On success log->fd and the chain state point
 * at it.
 */
static int segment_create(struct auditlog *log, uint64_t number,
			  uint64_t prev, const uint8_t prev_chain[32],
			  uint64_t first_seq)
{
	char name[AUDITREC_SEGNAME_MAX], tmp[AUDITREC_SEGNAME_MAX + 8];
	uint8_t raw[AUDITREC_HEADER_BYTES];
	struct auditrec_header h;
	int fd, err;

	memset(&h, 0, sizeof(h));
	h.kind = log->kind;
	memcpy(h.vault_id, log->vault_id, sizeof(h.vault_id));
	h.segment = number;
	h.prev_segment = prev;
	h.first_seq = first_seq;
	h.created_us = now_us();
	memcpy(h.prev_chain, prev_chain, AUDITREC_CHAIN_BYTES);
	memcpy(h.auditor_pk, log->pk, AUDITREC_PK_BYTES);
	seal_random(log->sec->k, AUDITREC_KEY_BYTES);
	err = auditrec_header_build(&h, log->sec->k, raw);
	if (err < 0)
		goto fail_key;

	auditrec_segment_name(number, name);
	snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, name);
	/* A leftover from a crash during creation holds only a header. */
	unlinkat(log->dir_fd, tmp, 0);
	fd = openat(log->dir_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto fail_key;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		goto fail_file;
	}
	err = pwrite_full(fd, raw, sizeof(raw), 0);
	if (err < 0)
		goto fail_file;
	if (fdatasync(fd) < 0) {
		err = -errno;
		goto fail_file;
	}
	err = rename_noreplace(log->dir_fd, tmp, name);
	if (err < 0)
		goto fail_file;
	err = fsync_dir(log->dir_fd);
	if (err < 0) {
		/*
		 * The segment is in place and complete; only its directory
		 * entry may not survive a power cut.  Failing now would
		 * leave a segment nobody writes to; go on and say so.
		 */
		vlog(LOG_ERR, "audit: cannot sync directory after creating "
		     "segment \"%s\": %s", name, strerror(-err));
	}
	log->fd = fd;
	log->segment = number;
	log->next_seq = first_seq;
	log->size = sizeof(raw);
	log->records = 0;
	auditrec_chain(raw, sizeof(raw), log->chain);
	head_write(log);
	if (log->copy != NULL)
		log->copy(log->copy_arg, number, 0, raw, sizeof(raw));
	return 0;

fail_file:
	unlinkat(log->dir_fd, tmp, 0);
	close(fd);
fail_key:
	sodium_memzero(log->sec->k, AUDITREC_KEY_BYTES);
	vlog(LOG_ERR, "audit: cannot create segment %012llu: %s",
	     (unsigned long long)number, strerror(-err));
	return err;
}

/* Directory lock around finding the predecessor and creating a segment. */
static int segment_start(struct auditlog *log, bool first)
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];
	uint64_t number, prev, next_seq;
	int err;

	if (flock(log->dir_fd, LOCK_EX) < 0)
		return -errno;
	if (first) {
		err = find_predecessor(log, &number, &prev, chain, &next_seq);
		if (err < 0)
			goto out;
	} else {
		/* Rotation: we wrote the predecessor and know its tail. */
		number = log->segment + 1;
		prev = log->segment;
		memcpy(chain, log->chain, sizeof(chain));
		next_seq = log->next_seq;
	}
	err = segment_create(log, number, prev, chain, next_seq);
out:
	flock(log->dir_fd, LOCK_UN);
	return err;
}

/* ---- appending ---- */

static void fill_self(struct audit_record *r, enum audit_event ev)
{
	memset(r, 0, sizeof(*r));
	r->event = ev;
	r->uid = (uint32_t)geteuid();
	r->gid = (uint32_t)getegid();
	r->pid = (uint32_t)getpid();
}

/* Seal and write one record; log->mu held.  Nothing changes on failure. */
static int write_record(struct auditlog *log, const struct audit_record *in,
			uint32_t flags, uint64_t *seq)
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];
	struct audit_record r = *in;
	const uint8_t *nonce;
	size_t len;
	int err;

	r.flags = (in->flags & ~AUDIT_RF_FINAL) | flags;
	if (r.time_us == 0)
		r.time_us = now_us();
	/* Taken whatever happens next: no nonce is ever offered twice. */
	if (log->nonces_left == 0) {
		seal_random(log->nonces, sizeof(log->nonces));
		log->nonces_left = NONCE_BATCH;
	}
	nonce = log->nonces + (NONCE_BATCH - log->nonces_left) * SEAL_NONCE_BYTES;
	log->nonces_left--;
	err = auditrec_frame_seal_nonce(log->sec->k, log->next_seq, log->chain,
					&r, nonce, log->frame, &len, chain);
	if (err < 0)
		return err;
	err = pwrite_full(log->fd, log->frame, len, (off_t)log->size);
	if (err < 0) {
		/* No partial record may stay: the next one would follow it. */
		if (ftruncate(log->fd, (off_t)log->size) < 0) {
			log->broken = err;
			vlog(LOG_ERR, "audit: segment %012llu has a partial "
			     "record that cannot be removed: %s",
			     (unsigned long long)log->segment, strerror(errno));
		}
		return err;
	}
	log->size += len;
	memcpy(log->chain, chain, sizeof(chain));
	auditrec_evolve(log->sec->k);
	if (log->copy != NULL)
		log->copy(log->copy_arg, log->segment, log->next_seq,
			  log->frame, len);
	if (seq != NULL)
		*seq = log->next_seq;
	log->next_seq++;
	log->records++;
	log->written++;
	return 0;
}

/* fdatasync the current segment and close it; log->mu held. */
static int segment_finish(struct auditlog *log)
{
	int err = 0;

	if (fdatasync(log->fd) < 0)
		err = -errno;
	/* Before close: our flock keeps a next writer out until then. */
	if (err == 0) {
		log->synced = log->written;
		head_write(log);
	}
	close(log->fd);
	log->fd = -1;
	return err;
}

/* Close a full segment with an "end" record and start the next. */
static int rotate(struct auditlog *log)
{
	struct audit_record end;
	int err;

	if (log->fd >= 0) {
		fill_self(&end, AUDIT_EV_END);
		end.detail = "continued in the next segment";
		err = write_record(log, &end, AUDIT_RF_FINAL, NULL);
		if (err < 0)
			return err;
		err = segment_finish(log);
		if (err < 0) {
			log->broken = err;
			return err;
		}
	}
	return segment_start(log, false);
}

int auditlog_append(struct auditlog *log, const struct audit_record *r,
		    uint64_t *seq)
{
	int err;

	if (r->flags & AUDIT_RF_FINAL)
		return -EINVAL;
	pthread_mutex_lock(&log->mu);
	err = log->broken;
	if (err < 0)
		goto out;
	if (log->fd < 0 || (log->max_bytes != 0 && log->records > 0 &&
			    log->size >= log->max_bytes)) {
		err = rotate(log);
		if (err < 0)
			goto out;
	}
	err = write_record(log, r, 0, seq);
out:
	pthread_mutex_unlock(&log->mu);
	return err;
}

int auditlog_sync(struct auditlog *log)
{
	uint64_t target;
	int err = 0, fd;

	pthread_mutex_lock(&log->sync_mu);
	pthread_mutex_lock(&log->mu);
	target = log->written;
	if (log->broken < 0) {
		err = log->broken;
		pthread_mutex_unlock(&log->mu);
		goto out;
	}
	if (log->synced >= target || log->fd < 0) {
		pthread_mutex_unlock(&log->mu);
		goto out;
	}
	/* Our own descriptor: rotation may close log->fd meanwhile. */
	fd = fcntl(log->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		err = -errno;
	pthread_mutex_unlock(&log->mu);
	if (err < 0)
		goto out;

	if (fdatasync(fd) < 0)
		err = -errno;
	close(fd);

	pthread_mutex_lock(&log->mu);
	if (err < 0) {
		/* Pages may be lost and the error is reported only once. */
		log->broken = err;
		vlog(LOG_ERR, "audit: cannot sync segment %012llu: %s; "
		     "refusing further access", (unsigned long long)log->segment,
		     strerror(-err));
	} else if (log->synced < target) {
		log->synced = target;
	}
	pthread_mutex_unlock(&log->mu);
out:
	pthread_mutex_unlock(&log->sync_mu);
	return err;
}

static void *flusher(void *arg)
{
	struct auditlog *log = arg;
	struct timespec ts;

	pthread_mutex_lock(&log->fl_mu);
	while (!log->fl_stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(log->fl_interval_ms % 1000) * 1000000;
		ts.tv_sec += log->fl_interval_ms / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&log->fl_cv, &log->fl_mu, &ts);
		if (log->fl_stop)
			break;
		pthread_mutex_unlock(&log->fl_mu);
		/* Errors mark the log broken; appends report them. */
		(void)!auditlog_sync(log);
		pthread_mutex_lock(&log->fl_mu);
	}
	pthread_mutex_unlock(&log->fl_mu);
	return NULL;
}

int auditlog_start_flusher(struct auditlog *log, unsigned interval_ms)
{
	int err;

	if (interval_ms == 0)
		return -EINVAL;
	if (log->fl_running)
		return -EALREADY;
	log->fl_interval_ms = interval_ms;
	log->fl_stop = false;
	err = pthread_create(&log->fl_thread, NULL, flusher, log);
	if (err != 0)
		return -err;
	log->fl_running = true;
	return 0;
}

static void stop_flusher(struct auditlog *log)
{
	if (!log->fl_running)
		return;
	pthread_mutex_lock(&log->fl_mu);
	log->fl_stop = true;
	pthread_cond_signal(&log->fl_cv);
	pthread_mutex_unlock(&log->fl_mu);
	pthread_join(log->fl_thread, NULL);
	log->fl_running = false;
}

void auditlog_head(struct auditlog *log, struct auditlog_head *h)
{
	pthread_mutex_lock(&log->mu);
	h->segment = log->segment;
	auditrec_segment_name(log->segment, h->name);
	h->seq = log->next_seq - 1;
	memcpy(h->chain, log->chain, sizeof(h->chain));
	pthread_mutex_unlock(&log->mu);
}

void auditlog_current_key(struct auditlog *log,
			  uint8_t k[AUDITREC_KEY_BYTES])
{
	pthread_mutex_lock(&log->mu);
	memcpy(k, log->sec->k, AUDITREC_KEY_BYTES);
	pthread_mutex_unlock(&log->mu);
}

/* ---- open and close ---- */

static void log_free(struct auditlog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	if (log->dir_fd >= 0)
		close(log->dir_fd);
	seal_secret_free(log->sec);
	free(log->frame);
	pthread_mutex_destroy(&log->mu);
	pthread_mutex_destroy(&log->sync_mu);
	pthread_mutex_destroy(&log->fl_mu);
	pthread_cond_destroy(&log->fl_cv);
	free(log);
}

int auditlog_open(int audit_dir_fd, const struct vault_settings *s,
		  const struct auditlog_options *opt, struct auditlog **out)
{
	pthread_condattr_t ca;
	struct auditlog *log;
	int err;

	*out = NULL;
	log = calloc(1, sizeof(*log));
	if (log == NULL)
		return -ENOMEM;
	log->fd = -1;
	log->dir_fd = -1;
	pthread_mutex_init(&log->mu, NULL);
	pthread_mutex_init(&log->sync_mu, NULL);
	pthread_mutex_init(&log->fl_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log->fl_cv, &ca);
	pthread_condattr_destroy(&ca);

	log->kind = opt != NULL && opt->kind != 0 ? opt->kind : AUDIT_SEG_MOUNT;
	if (log->kind != AUDIT_SEG_MOUNT && log->kind != AUDIT_SEG_COMMAND)
		vault_misuse("auditlog_open: bad segment kind");
	log->max_bytes = opt != NULL ? opt->max_segment_bytes : 0;
	if (opt != NULL) {
		log->copy = opt->copy;
		log->copy_arg = opt->copy_arg;
	}
	memcpy(log->vault_id, s->vault_id, sizeof(log->vault_id));
	memcpy(log->pk, s->auditor_pk, sizeof(log->pk));
	log->sec = seal_secret_alloc(sizeof(*log->sec));
	log->frame = malloc(AUDITREC_FRAME_MAX);
	if (log->sec == NULL || log->frame == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	log->dir_fd = openat(audit_dir_fd, ".", O_RDONLY | O_DIRECTORY |
			     O_CLOEXEC);
	if (log->dir_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = segment_start(log, true);
	if (err < 0)
		goto fail;
	*out = log;
	return 0;
fail:
	log_free(log);
	return err;
}

int auditlog_close(struct auditlog *log, const struct audit_record *final)
{
	struct audit_record end;
	int err, err2;

	if (log == NULL)
		return 0;
	stop_flusher(log);
	pthread_mutex_lock(&log->mu);
	err = log->broken;
	if (err == 0 && log->fd < 0)
		err = segment_start(log, false);
	if (err == 0) {
		if (final == NULL) {
			fill_self(&end, AUDIT_EV_END);
			final = &end;
		}
		err = write_record(log, final, AUDIT_RF_FINAL, NULL);
	}
	if (log->fd >= 0) {
		err2 = segment_finish(log);
		if (err == 0)
			err = err2;
	}
	pthread_mutex_unlock(&log->mu);
	log_free(log);
	return err;
}
