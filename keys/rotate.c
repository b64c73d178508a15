/*
 * rotate.c - see rotate.h.
 *
 * One run: (1) begin or resume the rotation recorded in the key store;
 * (2) a quick pass over the headers for the totals the progress line
 * needs; (3) the pass that moves each document; (4) syncfs, so that every
 * new header is durable; (5) a census of every header; (6) destroy the
 * KEKs the census found unused.  Steps 2 and 5 read 4 KiB per document.
 */
#include "rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vaultfs/backing.h"
#include "../vaultfs/document.h"
#include "../vaultfs/names.h"
#include "../vaultfs/seal.h"
#include "../vaultfs/walk.h"

/* ---- a set of (dev, ino): hard-linked documents are visited once ---- */

struct inoset {
	struct ino_key {
		dev_t dev;
		ino_t ino;
	} *v;
	size_t n, cap;		/* cap: 0 or a power of two */
};

static size_t ino_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (cap - 1);
}

/* Insert; 1 if it was new, 0 if already there, -ENOMEM. */
static int inoset_add(struct inoset *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct ino_key *v = calloc(cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t k = 0; k < s->cap; k++) {
			if (s->v[k].ino == 0)
				continue;
			i = ino_hash(s->v[k].dev, s->v[k].ino, cap);
			while (v[i].ino != 0)
				i = (i + 1) & (cap - 1);
			v[i] = s->v[k];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	/* inode 0 marks a free slot; no file system hands it out */
	if (ino == 0)
		return 1;
	for (i = ino_hash(dev, ino, s->cap); s->v[i].ino != 0;
	     i = (i + 1) & (s->cap - 1))
		if (s->v[i].ino == ino && s->v[i].dev == dev)
			return 0;
	s->v[i].dev = dev;
	s->v[i].ino = ino;
	s->n++;
	return 1;
}

static void inoset_free(struct inoset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* 1 if e is a document to look at (first visit of its inode), 0, -ENOMEM. */
static int first_visit(struct inoset *s, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return 0;
	if (st->st_nlink <= 1)
		return 1;
	return inoset_add(s, st->st_dev, st->st_ino);
}

/* ---- census ---- */

struct census_walk {
	struct rotate_census *c;
	struct inoset seen;
};

static void census_damage(const char *path, const char *bpath,
			  const char *what, void *arg)
{
	struct census_walk *w = arg;

	w->c->hidden++;
}

static int census_entry(const struct walk_entry *e, void *arg)
{
	struct census_walk *w = arg;
	struct rotate_census *c = w->c;
	uint32_t v[2];
	bool known = false;
	int fd, r;

	r = first_visit(&w->seen, e->st);
	if (r <= 0)
		return r;
	c->docs++;
	fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		c->hidden++;
		return 0;
	}
	r = doc_peek_kek(fd, &v[0], &v[1]);
	close(fd);
	if (r == -EIO || r == -ENOMEM) {
		c->hidden++;
		return 0;
	}
	if (r < 0) {
		c->unreadable++;
		return 0;
	}
	for (size_t i = 0; i < c->nkeks; i++) {
		struct rotate_count *k = &c->kek[i];

		if (k->version == v[0]) {
			k->docs++;
			known = true;
		}
		if (k->version == v[0] || k->version == v[1])
			k->refs++;
	}
	if (!known)
		c->other++;
	return 0;
}

int rotate_census(int data_fd, const struct keystore *ks,
		  struct rotate_census *c)
{
	static const struct walk_ops ops = {
		.entry = census_entry,
		.damage = census_damage,
	};
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	struct census_walk w = { c, { 0 } };
	int r;

	memset(c, 0, sizeof(*c));
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &c->nkeks);
	for (size_t i = 0; i < c->nkeks; i++)
		c->kek[i].version = info[i].version;
	r = walk_vault(data_fd, BACKING_DATA_DIR, NULL, &ops, &w);
	inoset_free(&w.seen);
	return r;
}

/* ---- the rotation pass ---- */

struct rot {
	struct keystore *ks;
	const struct rotate_ops *ops;
	struct rotate_result *res;
	uint32_t target;
	bool reencrypt;
	bool counting;			/* step 2: totals only */
	struct inoset seen;
	struct rotate_progress prog;
	unsigned long abort_after;	/* the test hook; 0: off */
};

static void progress(struct rot *R)
{
	if (R->ops->progress)
		R->ops->progress(&R->prog, R->ops->arg);
}

static void chunk_done(uint64_t bytes, void *arg)
{
	struct rot *R = arg;

	R->prog.bytes_done += bytes;
	progress(R);
}

static void failed(struct rot *R, const struct walk_entry *e,
		   const char *what, int err)
{
	R->res->failed++;
	if (R->ops->failed)
		R->ops->failed(e->path ? e->path : "?", e->bpath, what, err,
			       R->ops->arg);
}

static const char *doc_error(int err)
{
	switch (err) {
	case -EBADMSG:
		return "failed authentication (damaged or tampered with; "
		       "see 'vaultctl fsck')";
	case -ENOKEY:
		return "its key-encryption key is already gone";
	case -EPROTONOSUPPORT:
		return "made by a newer vaultfs";
	default:
		return strerror(-err);
	}
}

/* Does the document need moving?  cur/other: doc_peek_kek(). */
static bool on_target(const struct rot *R, uint32_t cur, uint32_t other)
{
	return cur == R->target && (other == 0 || other == R->target);
}

/*
 * Open a document for writing.  A backing file without write permission
 * for its owner (a read-only file in the vault) is opened after briefly
 * adding it, when we are the owner; root needs no such help.
 */
static int open_rw(const struct walk_entry *e)
{
	int fd = openat(e->dirfd, e->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES && e->st->st_uid == geteuid() &&
	    !(e->st->st_mode & S_IWUSR)) {
		mode_t mode = e->st->st_mode & 07777;

		if (fchmodat(e->dirfd, e->name, mode | S_IWUSR, 0) < 0)
			return -EACCES;
		fd = openat(e->dirfd, e->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fchmodat(e->dirfd, e->name, mode, 0) < 0 && fd >= 0) {
			close(fd);
			return -EACCES;
		}
		if (fd < 0)
			errno = EACCES;
	}
	return fd < 0 ? -errno : fd;
}

/* Give the backing file fd the times it had (header writes change them). */
static void keep_times(int fd, const struct stat *st)
{
	struct timespec tv[2] = { st->st_atim, st->st_mtim };

	(void)futimens(fd, tv);
}

/* Link the anonymous file tmpfd into dirfd as name. */
static int link_tmpfile(int tmpfd, int dirfd, const char *name)
{
	char path[64];

	if (linkat(tmpfd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tmpfd);
	if (linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}

/*
 * Re-encrypt src (the document in e) by copying it into a new document in
 * the same directory and renaming that over e.  -EPERM if the copy could
 * not be given e's owner (the caller then re-encrypts in place).  The
 * directory's times are put back afterwards: users see them as the times
 * of the directory in the vault, and its entries did not change.
 */
static int reencrypt_copy(struct rot *R, const struct walk_entry *e,
			  struct doc *src)
{
	char tmp[sizeof(ROTATE_TMP_PREFIX) + 2 * 8];
	uint8_t rnd[8];
	struct doc *dst = NULL;
	const struct stat *st = e->st;
	struct stat dst_dir;
	bool linked = false, anonymous = true, dir_times;
	int fd, r;

	dir_times = fstat(e->dirfd, &dst_dir) == 0;
	seal_random(rnd, sizeof(rnd));
	memcpy(tmp, ROTATE_TMP_PREFIX, sizeof(ROTATE_TMP_PREFIX) - 1);
	sodium_bin2hex(tmp + sizeof(ROTATE_TMP_PREFIX) - 1,
		       sizeof(tmp) - sizeof(ROTATE_TMP_PREFIX) + 1, rnd,
		       sizeof(rnd));
	fd = openat(e->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
		anonymous = false;
		fd = openat(e->dirfd, tmp, O_CREAT | O_EXCL | O_RDWR |
			    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		linked = true;
	}
	r = doc_create(fd, R->ks, &dst);
	if (r < 0)
		goto fail;
	r = doc_copy(src, dst, chunk_done, R);
	if (doc_close(dst) < 0 && r == 0)
		r = -EIO;
	if (r < 0)
		goto fail;
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(fd, st->st_uid, st->st_gid) < 0) {
		r = errno == EPERM ? -EPERM : -errno;
		goto fail;
	}
	/* after fchown, which may clear set-id bits */
	if (fchmod(fd, st->st_mode & 07777) < 0) {
		r = -errno;
		goto fail;
	}
	keep_times(fd, st);
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (anonymous) {
		r = link_tmpfile(fd, e->dirfd, tmp);
		if (r < 0)
			goto fail;
		linked = true;
	}
	/* the one step that replaces the document: before it, e is intact */
	if (renameat(e->dirfd, tmp, e->dirfd, e->name) < 0) {
		r = -errno;
		goto fail;
	}
	/*
	 * No fsync of the directory here: until the syncfs() before any KEK
	 * is destroyed, a rename lost in a power cut leaves the old document,
	 * still on a KEK that is kept.
	 */
	close(fd);
	if (dir_times)
		keep_times(e->dirfd, &dst_dir);
	return 0;
fail:
	if (linked)
		(void)unlinkat(e->dirfd, tmp, 0);
	if (linked && dir_times)
		keep_times(e->dirfd, &dst_dir);
	close(fd);
	return r;
}

/* A named temporary file of an interrupted --reencrypt: remove it. */
static int on_reserved(const struct walk_entry *e, void *arg)
{
	if (S_ISREG(e->st->st_mode) &&
	    strncmp(e->name, ROTATE_TMP_PREFIX, strlen(ROTATE_TMP_PREFIX)) == 0) {
		(void)unlinkat(e->dirfd, e->name, 0);
		return 1;
	}
	return 0;
}

static void on_damage(const char *path, const char *bpath, const char *what,
		      void *arg)
{
	struct rot *R = arg;

	if (R->counting)
		return;
	/* the census decides whether it hid documents; here, just tell */
	if (R->ops->warning)
		R->ops->warning(path ? path : "?", bpath, what, R->ops->arg);
}

/* Step 2: how many documents, and bytes, the pass will move. */
static void count_entry(struct rot *R, int fd)
{
	uint32_t cur, other;
	struct doc *d;

	if (doc_peek_kek(fd, &cur, &other) < 0 || on_target(R, cur, other))
		return;
	R->prog.docs_total++;
	if (R->reencrypt && doc_open(fd, R->ks, &d) == 0) {
		R->prog.bytes_total += doc_size(d);
		doc_close(d);
	}
}

/* Step 3 for one document (fd open read-write). */
static void move_entry(struct rot *R, const struct walk_entry *e, int fd)
{
	struct rotate_result *res = R->res;
	uint32_t cur, other;
	struct doc *d = NULL;
	int r;

	r = doc_peek_kek(fd, &cur, &other);
	if (r == 0 && on_target(R, cur, other)) {
		res->skipped++;
		return;
	}
	r = doc_open(fd, R->ks, &d);
	if (r < 0) {
		failed(R, e, doc_error(r), r);
		return;
	}
	if (!R->reencrypt || cur == R->target) {
		/*
		 * Rewrap; also for a document whose newer header slot is
		 * already on the target (a torn header write), to make the
		 * other slot match.
		 */
		r = doc_rewrap(d);
		keep_times(fd, e->st);
	} else if (e->st->st_nlink > 1) {
		r = doc_reencrypt(d, chunk_done, R);
		keep_times(fd, e->st);
	} else {
		uint64_t before = R->prog.bytes_done;

		r = reencrypt_copy(R, e, d);
		if (r == -EPERM) {
			R->prog.bytes_done = before;
			r = doc_reencrypt(d, chunk_done, R);
			keep_times(fd, e->st);
		}
	}
	if (r == 0) {
		res->bytes += doc_size(d);
		if (!R->reencrypt)
			R->prog.bytes_done += doc_size(d);
	}
	if (doc_close(d) < 0 && r == 0)
		r = -EIO;
	if (r < 0) {
		failed(R, e, doc_error(r), r);
		return;
	}
	res->moved++;
	R->prog.docs_done++;
	progress(R);
	if (R->abort_after && res->moved >= R->abort_after)
		_exit(137);	/* the test hook: see rotate.h */
}

static int on_entry(const struct walk_entry *e, void *arg)
{
	struct rot *R = arg;
	int fd, r;

	r = first_visit(&R->seen, e->st);
	if (r <= 0)
		return r;
	if (R->counting) {
		fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd >= 0) {
			count_entry(R, fd);
			close(fd);
		}
		return 0;
	}
	R->res->docs++;
	fd = open_rw(e);
	if (fd < 0) {
		failed(R, e, strerror(-fd), fd);
		return 0;
	}
	move_entry(R, e, fd);
	close(fd);
	return 0;
}

static int pass(struct rot *R, int data_fd, const struct names_key *nk,
		const char *bpath)
{
	static const struct walk_ops ops = {
		.entry = on_entry,
		.reserved = on_reserved,
		.damage = on_damage,
	};
	int r;

	r = walk_vault(data_fd, bpath, nk, &ops, R);
	inoset_free(&R->seen);
	return r;
}

static unsigned long abort_after(void)
{
	const char *s = getenv(ROTATE_ABORT_ENV);
	char *end;
	unsigned long n;

	if (!s || !*s)
		return 0;
	n = strtoul(s, &end, 10);
	return *end ? 0 : n;
}

int rotate_run(int vault_fd, const char *vault_dir, struct keystore *ks,
	       bool reencrypt, const struct rotate_ops *ops,
	       struct rotate_result *res)
{
	struct keystore_kek_info before[KEYSTORE_MAX_KEKS], after[KEYSTORE_MAX_KEKS];
	struct keystore_rotation rs;
	struct names_key *nk = NULL;
	struct rot R = { 0 };
	uint32_t in_use[KEYSTORE_MAX_KEKS];
	size_t nbefore, nafter, nuse = 0;
	char *bpath = NULL;
	int data_fd = -1, r;

	memset(res, 0, sizeof(*res));
	keystore_rotation(ks, &rs);
	if (rs.unfinished && !(reencrypt && !rs.reencrypt)) {
		res->resumed = true;
		reencrypt = rs.reencrypt;
	} else {
		r = keystore_rotation_begin(ks, vault_dir, reencrypt);
		if (r < 0)
			return r;
	}
	keystore_rotation(ks, &rs);
	res->target = rs.target;
	res->reencrypt = reencrypt;
	keystore_keks(ks, before, KEYSTORE_MAX_KEKS, &nbefore);
	for (size_t i = 0; i < nbefore; i++)
		if (before[i].state == KEYSTORE_KEK_RETIRING)
			res->retired[res->nretired++] = before[i].version;

	data_fd = openat(vault_fd, BACKING_DATA_DIR, O_RDONLY | O_DIRECTORY |
			 O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0)
		return -errno;
	r = -ENOMEM;
	nk = names_key_new(keystore_name_key(ks));
	if (!nk || asprintf(&bpath, "%s/%s", vault_dir, BACKING_DATA_DIR) < 0) {
		bpath = NULL;
		goto out;
	}
	R.ks = ks;
	R.ops = ops;
	R.res = res;
	R.target = rs.target;
	R.reencrypt = reencrypt;
	R.abort_after = abort_after();

	/* 2: totals, for the progress line */
	R.counting = true;
	r = pass(&R, data_fd, NULL, bpath);
	if (r < 0)
		goto out;
	/* 3: move every document */
	R.counting = false;
	progress(&R);
	r = pass(&R, data_fd, nk, bpath);
	if (r < 0)
		goto out;
	/* 4: every new header durable before an old KEK may go */
	if (syncfs(data_fd) < 0) {
		r = -errno;
		goto out;
	}
	/* 5: who still uses what */
	r = rotate_census(data_fd, ks, &res->census);
	if (r < 0)
		goto out;
	/*
	 * Fewer documents than the pass saw: something changed under us or
	 * was not read.  Never destroy on a count that may be short.
	 */
	if (res->census.docs < res->docs)
		res->census.hidden += res->docs - res->census.docs;
	if (res->census.hidden) {
		/* unread corners may hold documents: destroy nothing */
		res->finished = false;
		r = 0;
		goto out;
	}
	for (size_t i = 0; i < res->census.nkeks; i++)
		if (res->census.kek[i].refs)
			in_use[nuse++] = res->census.kek[i].version;
	/* 6 */
	r = keystore_rotation_finish(ks, vault_dir, in_use, nuse,
				     &res->finished);
	if (r < 0)
		goto out;
	keystore_keks(ks, after, KEYSTORE_MAX_KEKS, &nafter);
	for (size_t i = 0; i < nafter; i++) {
		if (after[i].state != KEYSTORE_KEK_DESTROYED)
			continue;
		for (size_t j = 0; j < nbefore; j++)
			if (before[j].version == after[i].version &&
			    before[j].state != KEYSTORE_KEK_DESTROYED)
				res->destroyed[res->ndestroyed++] =
					after[i].version;
	}
out:
	free(bpath);
	names_key_free(nk);
	close(data_fd);
	return r;
}
