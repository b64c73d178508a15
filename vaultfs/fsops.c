/*
 * fsops.c - FUSE low-level operations over the encrypted backing tree.
 * See fsops.h for the design.  Every reply is 0 or an errno; storage that
 * fails authentication is reported to the caller as EIO and logged by
 * backing name only.
 */
#define FUSE_USE_VERSION 312
#include "fsops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backing.h"
#include "document.h"
#include "fileio.h"
#include "access.h"
#include "log.h"
#include "names.h"
#include "perm.h"
#include "../keys/keystore.h"

struct inode {
	struct inode *next;		/* hash chain, table lock */
	/* A directory's descriptor (O_RDONLY), or for anything else -1:
	 * it is found again through parent and name (struct loc), so that
	 * the inodes the kernel remembers cost no descriptors.  Once its
	 * name may be gone (unlinked, renamed over) it is pinned: an
	 * O_PATH descriptor is kept here until the inode is forgotten.
	 * Table lock to set. */
	int fd;
	dev_t dev;
	ino_t ino;
	mode_t type;			/* S_IFMT bits */
	uint64_t nlookup;		/* table lock */
	/* The name it was last looked up by, for the access log (a hard-
	 * linked file has several; the log shows the latest).  The parent
	 * keeps one lookup reference for it.  Table lock. */
	struct inode *parent;
	char *name;

	pthread_mutex_t lock;		/* everything below */
	bool have_dirid;
	uint8_t dirid[NAMES_DIRID_BYTES];
	struct doc *doc;		/* while opens > 0 */
	int doc_fd;
	bool doc_writable;
	bool doc_changed;		/* written since the last writeback */
	unsigned opens;
	bool size_known;
	bool damaged;			/* header failed authentication */
	uint64_t size;
	bool have_id;
	uint8_t doc_id[CONTAINER_DOC_ID_BYTES];

	/* Page cache fills (fill_run): handles open for writing, and a
	 * count of content changes.  fs->fill_lock. */
	uint32_t writers;
	uint32_t fill_gen;

	/* Writes sealed outside the lock (doc_prep_*) commit in the order
	 * they began: tickets handed out, and committed.  Lock. */
	uint64_t prep_next, prep_done;
	pthread_cond_t prep_turn;
};

struct handle {
	struct fsops *fs;
	struct handle *prev, *next;	/* fs->handles, its lock */
	struct inode *inode;
	int flags;			/* open(2) flags */
	uint64_t bytes_read;
	uint64_t bytes_written;
	/* Who opened it: a release comes from the kernel, not the process,
	 * which may be gone by then. */
	uint32_t uid, gid, pid;
	char comm[AUDIT_COMM_MAX + 1];
	char *exe;
};

struct dirhandle {
	DIR *dp;
	struct inode *inode;
	struct dirent *entry;		/* pending entry, or NULL */
	off_t offset;
};

struct fsops {
	/* Held shared while a name is used to reach a non-directory,
	 * exclusively while unlink and rename change what names mean.
	 * Order: inode lock, then this, then the table lock. */
	pthread_rwlock_t names_lock;
	pthread_mutex_t table_lock;
	/* Open files, so that those still open when the daemon stops get
	 * their close record. */
	pthread_mutex_t handles_lock;
	struct handle *handles;
	struct inode **buckets;
	size_t nbuckets;
	size_t ninodes;
	struct inode root;
	const struct keystore *ks;
	const struct names_key *nk;
	struct auditlog *log;
	struct fuse_session *se;	/* for cache invalidations */
	/* Page cache fills: shared while one runs, exclusive to bump an
	 * inode's writers or fill_gen.  Never taken with an inode lock
	 * held (a fill waits for pages whose reads take that lock). */
	pthread_rwlock_t fill_lock;
	sem_t fill_slots;		/* fills running at once, at most */
	sem_t prep_slots;		/* writes sealed unlocked at once */
	bool fill;
	bool root_owns;
	bool shared;
	bool writeback;
	bool direct_io;
	double timeout;
};

#define ENC_BUF NAMES_ENC_MAX
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct fsops *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct inode *inode_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs_of(req)->root;
	return (struct inode *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct fsops *fs, struct inode *in)
{
	return in == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)in;
}

static void proc_path(char buf[64], int fd)
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* ---- inode table ---------------------------------------------------- */

static size_t bucket_of(const struct fsops *fs, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (size_t)(h >> 16) & (fs->nbuckets - 1);
}

static void table_grow(struct fsops *fs)
{
	size_t n = fs->nbuckets * 2;
	struct inode **nb = calloc(n, sizeof(*nb));
	struct inode **old = fs->buckets;
	size_t oldn = fs->nbuckets;

	if (!nb)
		return;	/* keep the smaller table: slower, still correct */
	fs->buckets = nb;
	fs->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct inode *in = old[i], *next;

		for (; in; in = next) {
			size_t b = bucket_of(fs, in->dev, in->ino);

			next = in->next;
			in->next = nb[b];
			nb[b] = in;
		}
	}
	free(old);
}

static void inode_forget(struct fsops *fs, struct inode *in, uint64_t n);

/* The inode of backing file st, or NULL.  Table lock held. */
static struct inode *table_find(struct fsops *fs, const struct stat *st)
{
	struct inode *in = fs->buckets[bucket_of(fs, st->st_dev, st->st_ino)];

	while (in && (in->dev != st->st_dev || in->ino != st->st_ino))
		in = in->next;
	return in;
}

/*
 * Record that in is reachable as parent/name.  Table lock held; returns
 * the former parent, whose reference the caller drops with inode_forget()
 * after unlocking.  Keeps the old name if memory runs out.
 */
static struct inode *set_link(struct inode *in, struct inode *parent,
			      const char *name)
{
	struct inode *old = in->parent;
	char *copy;

	if (old == parent && in->name && !strcmp(in->name, name))
		return NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	free(in->name);
	in->name = copy;
	parent->nlookup++;
	in->parent = parent;
	return old;
}

/*
 * Find or insert the inode for a backing file that fd (O_PATH) refers to,
 * reached as parent/name, taking one lookup reference.  Consumes fd.
 */
static struct inode *inode_get(struct fsops *fs, int fd, const struct stat *st,
			       struct inode *parent, const char *name)
{
	struct inode *in, *old = NULL;
	size_t b;

	if (st->st_dev == fs->root.dev && st->st_ino == fs->root.ino) {
		close(fd);
		pthread_mutex_lock(&fs->table_lock);
		fs->root.nlookup++;
		pthread_mutex_unlock(&fs->table_lock);
		return &fs->root;
	}
	pthread_mutex_lock(&fs->table_lock);
	b = bucket_of(fs, st->st_dev, st->st_ino);
	for (in = fs->buckets[b]; in; in = in->next)
		if (in->dev == st->st_dev && in->ino == st->st_ino)
			break;
	if (in) {
		in->nlookup++;
		old = set_link(in, parent, name);
		pthread_mutex_unlock(&fs->table_lock);
		close(fd);
		if (old)
			inode_forget(fs, old, 1);
		return in;
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		pthread_mutex_unlock(&fs->table_lock);
		close(fd);
		return NULL;
	}
	in->fd = fd;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->type = st->st_mode & S_IFMT;
	in->nlookup = 1;
	in->doc_fd = -1;
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->prep_turn, NULL);
	(void)set_link(in, parent, name);
	if (in->type != S_IFDIR && in->name) {
		close(fd);
		in->fd = -1;
	}
	in->next = fs->buckets[b];
	fs->buckets[b] = in;
	if (++fs->ninodes > fs->nbuckets * 2)
		table_grow(fs);
	pthread_mutex_unlock(&fs->table_lock);
	return in;
}

static void inode_destroy(struct inode *in)
{
	if (in->doc) {
		int r = doc_close(in->doc);

		if (r < 0)
			vlog(LOG_ERR, "flushing inode %ju on release failed: %s",
			     (uintmax_t)in->ino, strerror(-r));
	}
	if (in->doc_fd >= 0)
		close(in->doc_fd);
	if (in->fd >= 0)
		close(in->fd);
	pthread_mutex_destroy(&in->lock);
	pthread_cond_destroy(&in->prep_turn);
	free(in->name);
	free(in);
}

static void inode_forget(struct fsops *fs, struct inode *in, uint64_t n)
{
	/* Freeing an inode drops the reference it held on its parent:
	 * iterate up instead of recursing. */
	while (in) {
		struct inode **pp, *parent;

		pthread_mutex_lock(&fs->table_lock);
		if (n > in->nlookup)
			n = in->nlookup;
		in->nlookup -= n;
		if (in->nlookup > 0 || in == &fs->root) {
			pthread_mutex_unlock(&fs->table_lock);
			return;
		}
		pp = &fs->buckets[bucket_of(fs, in->dev, in->ino)];
		while (*pp && *pp != in)
			pp = &(*pp)->next;
		if (*pp)
			*pp = in->next;
		fs->ninodes--;
		parent = in->parent;
		pthread_mutex_unlock(&fs->table_lock);
		inode_destroy(in);
		in = parent;
		n = 1;
	}
}

/* Keep in alive past the reply, after which the kernel may forget it. */
static void inode_hold(struct fsops *fs, struct inode *in)
{
	pthread_mutex_lock(&fs->table_lock);
	in->nlookup++;
	pthread_mutex_unlock(&fs->table_lock);
}

/* The inode of backing file st, if known, is now parent/name. */
static void inode_moved(struct fsops *fs, const struct stat *st,
			struct inode *parent, const char *name)
{
	struct inode *in, *old = NULL;

	pthread_mutex_lock(&fs->table_lock);
	in = table_find(fs, st);
	if (in)
		old = set_link(in, parent, name);
	pthread_mutex_unlock(&fs->table_lock);
	if (old)
		inode_forget(fs, old, 1);
}

/*
 * Plaintext path of in inside the vault ("/" for the root), with child
 * appended when not NULL.  malloc'd; NULL when out of memory.
 */
static char *path_of(struct fsops *fs, struct inode *in, const char *child)
{
	size_t len = child ? strlen(child) + 1 : 0, pos;
	struct inode *p;
	char *buf;

	pthread_mutex_lock(&fs->table_lock);
	for (p = in; p && p != &fs->root && p->name; p = p->parent)
		len += strlen(p->name) + 1;
	buf = malloc(len + 2);
	if (buf) {
		pos = len;
		buf[pos] = '\0';
		if (child) {
			pos -= strlen(child);
			memcpy(buf + pos, child, strlen(child));
			buf[--pos] = '/';
		}
		for (p = in; p && p != &fs->root && p->name; p = p->parent) {
			size_t n = strlen(p->name);

			pos -= n;
			memcpy(buf + pos, p->name, n);
			buf[--pos] = '/';
		}
		if (len == 0)
			strcpy(buf, "/");
		else if (pos != 0)	/* a detached inode: keep what we know */
			memmove(buf, buf + pos, len - pos + 1);
	}
	pthread_mutex_unlock(&fs->table_lock);
	return buf;
}

/* ---- access log ---------------------------------------------------------- */

struct rec {
	enum audit_event event;
	struct inode *in;		/* the object, or its directory ... */
	const char *name;		/* ... and its name in it */
	struct inode *in2;		/* rename, link: the new place */
	const char *name2;
	const char *target;		/* symlink: where it points */
	int result;
	uint32_t open_flags;
	uint64_t bytes_read, bytes_written;
	const char *detail;
	const struct handle *h;		/* close: who opened it */
	const uint8_t *doc_id;		/* when in is the directory */
};

/*
 * Document id of backing file st if its inode is known and was read.
 * Used to tie unlink and rename records to the document.
 */
static bool known_doc_id(struct fsops *fs, const struct stat *st,
			 uint8_t id[CONTAINER_DOC_ID_BYTES])
{
	struct inode *in;
	bool found = false;

	if (!S_ISREG(st->st_mode))
		return false;
	pthread_mutex_lock(&fs->table_lock);
	in = table_find(fs, st);
	if (in)
		in->nlookup++;	/* the inode lock is never taken under ours */
	pthread_mutex_unlock(&fs->table_lock);
	if (!in)
		return false;
	pthread_mutex_lock(&in->lock);
	found = in->have_id;
	memcpy(id, in->doc_id, CONTAINER_DOC_ID_BYTES);
	pthread_mutex_unlock(&in->lock);
	inode_forget(fs, in, 1);
	return found;
}

/*
 * Append a record for req.  Returns the log's error: callers refuse the
 * access when the log cannot be written (fail closed).
 */
static int audit_as(struct fsops *fs, const struct fuse_ctx *ctx,
		    const struct rec *rc)
{
	uint8_t id[CONTAINER_DOC_ID_BYTES];
	bool have_id = false;
	char *path = NULL, *path2 = NULL;
	int r;

	if (!fs->log)
		return 0;
	if (rc->in) {
		path = path_of(fs, rc->in, rc->name);
		if (!rc->name && rc->in->type == S_IFREG) {
			pthread_mutex_lock(&rc->in->lock);
			have_id = rc->in->have_id;
			memcpy(id, rc->in->doc_id, sizeof(id));
			pthread_mutex_unlock(&rc->in->lock);
		}
	}
	if (rc->doc_id) {
		memcpy(id, rc->doc_id, sizeof(id));
		have_id = true;
	}
	if (rc->in2)
		path2 = path_of(fs, rc->in2, rc->name2);
	r = access_record(fs->log, &(struct access_event){
		.event = rc->event,
		.uid = rc->h ? rc->h->uid : ctx->uid,
		.gid = rc->h ? rc->h->gid : ctx->gid,
		.pid = rc->h ? rc->h->pid : (uint32_t)ctx->pid,
		.comm = rc->h ? rc->h->comm : NULL,
		.exe = rc->h ? (rc->h->exe ? rc->h->exe : "") : NULL,
		.path = path,
		.new_path = path2 ? path2 : rc->target,
		.doc_id = have_id ? id : NULL,
		.result = rc->result,
		.open_flags = rc->open_flags,
		.bytes_read = rc->bytes_read,
		.bytes_written = rc->bytes_written,
		.detail = rc->detail,
	});
	free(path);
	free(path2);
	return r;
}

static int audit(fuse_req_t req, const struct rec *rc)
{
	return audit_as(fs_of(req), fuse_req_ctx(req), rc);
}

/* Record a failed authentication (best effort: the error goes out anyway). */
static void audit_integrity(fuse_req_t req, struct inode *in, const char *name,
			    const char *detail)
{
	if (!req)
		return;
	(void)audit(req, &(struct rec){ .event = AUDIT_EV_INTEGRITY, .in = in,
		    .name = name, .result = -EIO, .detail = detail });
}

/*
 * Removals and renames are recorded before they are made: a log that
 * cannot be written stops them (fail closed) instead of leaving a change
 * on disk that was reported as failed.  r is the result of the checks so
 * far: a request that already failed is recorded with its error, and that
 * error is returned.  Returns 0 when the change may go ahead.
 */
static int audit_before(fuse_req_t req, struct rec *rc, int r)
{
	int a;

	rc->result = r;
	a = audit(req, rc);
	return r < 0 ? r : a;
}

/* The change recorded by audit_before() then failed with r: say so. */
static int audit_failed(fuse_req_t req, const struct rec *rc, int r)
{
	struct rec c = *rc;

	c.result = r;
	c.detail = "failed after it was recorded";
	(void)audit(req, &c);
	return r;
}

/*
 * Record a change already made.  It cannot be taken back; if the log
 * cannot be written the caller still reports an error so that the change
 * does not pass silently.
 */
static int audit_change(fuse_req_t req, const struct rec *rc)
{
	int r = audit(req, rc);

	return r < 0 && rc->result == 0 ? -EIO : rc->result;
}

/* ---- helpers ---------------------------------------------------------- */

/* Dir id of a directory inode, read once.  Caller holds nothing. */
static int dir_id(fuse_req_t req, struct inode *dir,
		  uint8_t out[NAMES_DIRID_BYTES])
{
	int r = 0;

	if (dir->type != S_IFDIR)
		return -ENOTDIR;
	pthread_mutex_lock(&dir->lock);
	if (!dir->have_dirid) {
		r = backing_read_dirid(dir->fd, dir->dirid);
		if (r == 0)
			dir->have_dirid = true;
		else
			vlog(LOG_ERR, "integrity: directory id of backing "
			     "directory inode %ju unreadable: %s",
			     (uintmax_t)dir->ino, strerror(-r));
	}
	if (r == 0)
		memcpy(out, dir->dirid, NAMES_DIRID_BYTES);
	pthread_mutex_unlock(&dir->lock);
	if (r == -EBADMSG && req)
		audit_integrity(req, dir, NULL, "directory id");
	return r == -EBADMSG ? -EIO : r;
}

/* Encrypt name for directory dir: backing entry name (and long form). */
static int enc_name(struct fsops *fs, fuse_req_t req, struct inode *dir,
		    const char *name, char enc[ENC_BUF],
		    char backing[NAMES_BACKING_MAX], bool *is_long)
{
	uint8_t id[NAMES_DIRID_BYTES];
	int r = dir_id(req, dir, id);

	if (r < 0)
		return r;
	return names_encrypt(fs->nk, id, name, strlen(name), enc, backing,
			     is_long);
}

/* ---- reaching a backing entry ------------------------------------------- */

/*
 * Where the backing entry of an inode is: its own descriptor (directories
 * and pinned inodes), or a name in its parent directory.  Between
 * loc_get() and loc_put() that name keeps its meaning (names lock held
 * shared) and the parent stays alive (a lookup reference).
 */
struct loc {
	int fd;				/* own descriptor, or -1 */
	struct inode *dir;		/* else the backing name in dir */
	char backing[NAMES_BACKING_MAX];
};

static void loc_put(struct fsops *fs, struct loc *l)
{
	if (l->dir) {
		pthread_rwlock_unlock(&fs->names_lock);
		inode_forget(fs, l->dir, 1);
		l->dir = NULL;
	}
}

static int loc_get(struct fsops *fs, struct inode *in, struct loc *l)
{
	char name[NAME_MAX + 1], enc[ENC_BUF];
	bool is_long;
	int r;

	l->dir = NULL;
	pthread_rwlock_rdlock(&fs->names_lock);
	pthread_mutex_lock(&fs->table_lock);
	l->fd = in->fd;
	if (l->fd < 0) {
		l->dir = in->parent;
		l->dir->nlookup++;
		snprintf(name, sizeof(name), "%s", in->name);
	}
	pthread_mutex_unlock(&fs->table_lock);
	if (!l->dir) {
		pthread_rwlock_unlock(&fs->names_lock);
		return 0;
	}
	r = enc_name(fs, NULL, l->dir, name, enc, l->backing, &is_long);
	if (r < 0)
		loc_put(fs, l);
	return r;
}

static int loc_stat(const struct loc *l, struct stat *st)
{
	int r = l->dir ? fstatat(l->dir->fd, l->backing, st, AT_SYMLINK_NOFOLLOW)
		       : fstatat(l->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);

	return r < 0 ? -errno : 0;
}

static ssize_t loc_readlink(const struct loc *l, char *buf, size_t size)
{
	ssize_t n = l->dir ? readlinkat(l->dir->fd, l->backing, buf, size)
			   : readlinkat(l->fd, "", buf, size);

	return n < 0 ? -errno : n;
}

/* The name may since have been given to another file (from outside). */
static int same_inode(const struct inode *in, const struct stat *st)
{
	return st->st_dev == in->dev && st->st_ino == in->ino ? 0 : -ESTALE;
}

/* A new descriptor of in's backing file, opened with flags (never
 * following a symlink), or -errno. */
static int inode_open(struct fsops *fs, struct inode *in, int flags)
{
	struct loc l;
	struct stat st;
	char path[64];
	int fd, r;

	r = loc_get(fs, in, &l);
	if (r < 0)
		return r;
	if (l.dir) {
		fd = openat(l.dir->fd, l.backing, flags | O_NOFOLLOW | O_CLOEXEC);
	} else {
		proc_path(path, l.fd);
		fd = open(path, flags | O_CLOEXEC);
	}
	r = fd < 0 ? -errno : 0;
	loc_put(fs, &l);
	if (r == 0 && (fstat(fd, &st) < 0 || same_inode(in, &st) < 0)) {
		close(fd);
		r = -ESTALE;
	}
	return r < 0 ? r : fd;
}

/*
 * The entry backing in dir is about to lose its name (unlink, rename over
 * it): if the kernel still knows its inode, give the inode a descriptor
 * of its own so that open handles and fstat keep working.  Names lock
 * held exclusively.
 */
static void pin(struct fsops *fs, struct inode *dir, const char *backing,
		const struct stat *st)
{
	struct inode *in;
	struct stat now;
	int fd;

	if (S_ISDIR(st->st_mode))
		return;
	pthread_mutex_lock(&fs->table_lock);
	in = table_find(fs, st);
	fd = in && in->fd < 0 ? 0 : -1;
	pthread_mutex_unlock(&fs->table_lock);
	if (fd < 0)
		return;
	fd = openat(dir->fd, backing, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino) {
		close(fd);
		return;
	}
	/* Look again: the kernel may have forgotten it meanwhile. */
	pthread_mutex_lock(&fs->table_lock);
	in = table_find(fs, st);
	if (in && in->fd < 0) {
		in->fd = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&fs->table_lock);
	if (fd >= 0)
		close(fd);
}

/* Logical size of a regular file, from the open doc or the header. */
static int file_size(struct fsops *fs, struct inode *in, uint64_t *size)
{
	int r = 0;

	pthread_mutex_lock(&in->lock);
	if (in->doc) {
		in->size = doc_size(in->doc);
		in->size_known = true;
	} else if (!in->size_known) {
		int fd = inode_open(fs, in, O_RDONLY);

		if (fd < 0) {
			r = fd;
		} else {
			r = doc_peek_size(fd, fs->ks, &in->size, in->doc_id);
			close(fd);
			if (r == 0) {
				in->size_known = true;
				in->damaged = false;
				in->have_id = true;
			}
		}
	}
	*size = in->size;
	pthread_mutex_unlock(&in->lock);
	return r;
}

static void report_damage(struct inode *in, int err)
{
	vlog(LOG_ERR, "integrity: document in backing inode %ju failed "
	     "authentication: %s", (uintmax_t)in->ino, strerror(-err));
}

/* Mark in damaged; true the first time, so it is reported once. */
static bool first_damage(struct inode *in)
{
	bool first;

	pthread_mutex_lock(&in->lock);
	first = !in->damaged;
	in->damaged = true;
	pthread_mutex_unlock(&in->lock);
	return first;
}

/* errno for the kernel: authentication failures become EIO. */
static int kerr(int r)
{
	if (r == -EBADMSG || r == -ENOKEY || r == -EPROTONOSUPPORT)
		return EIO;
	return -r;
}

static int inode_stat(struct fsops *fs, fuse_req_t req, struct inode *in,
		      struct stat *st)
{
	char enc[NAMES_LINK_ENC_MAX];
	ssize_t n = 0;
	struct loc l;
	int r;

	r = loc_get(fs, in, &l);
	if (r < 0)
		return r;
	r = loc_stat(&l, st);
	if (r == 0)
		r = same_inode(in, st);
	if (r == 0 && S_ISLNK(st->st_mode))
		n = loc_readlink(&l, enc, sizeof(enc) - 1);
	loc_put(fs, &l);
	if (r < 0)
		return r;
	if (S_ISREG(st->st_mode)) {
		uint64_t size;

		r = file_size(fs, in, &size);
		if (r == -EBADMSG || r == -ENOKEY || r == -EPROTONOSUPPORT) {
			/* Show the entry (so it can be removed); opening it fails. */
			if (first_damage(in)) {
				report_damage(in, r);
				audit_integrity(req, in, NULL, "document header");
			}
			size = 0;
		} else if (r < 0) {
			return r;
		}
		st->st_size = (off_t)size;
	} else if (S_ISLNK(st->st_mode)) {
		char target[NAMES_LINK_MAX + 1];
		size_t len;

		if (n < 0)
			return (int)n;
		enc[n] = '\0';
		if (names_link_decrypt(fs->nk, enc, (size_t)n, target, &len) == 0) {
			st->st_size = (off_t)len;
		} else {
			st->st_size = 0;
			if (first_damage(in))
				audit_integrity(req, in, NULL, "symlink target");
		}
		sodium_memzero(target, sizeof(target));
	}
	st->st_ino = in->ino;
	return 0;
}

/* ---- permissions ------------------------------------------------------------- */

/*
 * The daemon makes the permission checks itself (perm.h) instead of the
 * kernel's default_permissions, so that a refused access reaches it and is
 * recorded as "denied".  The caller's supplementary groups cost a read of
 * /proc: they are fetched only when a check may depend on them.
 */
struct cred {
	struct perm_cred c;
	fuse_req_t req;
	bool have_groups;
	gid_t *groups;			/* malloc'd when more than fit below */
	gid_t some[32];
};

static void cred_init(struct cred *cr, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	memset(cr, 0, sizeof(*cr));
	cr->c.uid = ctx->uid;
	cr->c.gid = ctx->gid;
	cr->req = req;
}

static void cred_release(struct cred *cr)
{
	if (cr->groups != cr->some)
		free(cr->groups);
}

/* cr, able to judge a file owned by st (or to join group g). */
static const struct perm_cred *cred_for(struct cred *cr, uid_t uid, gid_t gid)
{
	int n;

	if (cr->have_groups || cr->c.uid == 0 || cr->c.uid == uid ||
	    cr->c.gid == gid)
		return &cr->c;
	cr->have_groups = true;
	n = fuse_req_getgroups(cr->req, (int)ARRAY_SIZE(cr->some), cr->some);
	cr->groups = cr->some;
	if (n > (int)ARRAY_SIZE(cr->some)) {
		gid_t *g = malloc((size_t)n * sizeof(*g));

		if (g) {
			int m = fuse_req_getgroups(cr->req, n, g);

			if (m > 0 && m <= n) {
				cr->groups = g;
				n = m;
			} else {
				free(g);
				n = (int)ARRAY_SIZE(cr->some);
			}
		} else {
			n = (int)ARRAY_SIZE(cr->some);
		}
	}
	if (n > 0) {
		cr->c.groups = cr->groups;
		cr->c.ngroups = (size_t)n;
	}
	return &cr->c;
}

#define CRED(cr, st) cred_for((cr), (st)->st_uid, (st)->st_gid)

/* Mode and owner of in's backing entry (no header read). */
static int inode_perm_stat(struct fsops *fs, struct inode *in, struct stat *st)
{
	struct loc l;
	int r = loc_get(fs, in, &l);

	if (r < 0)
		return r;
	r = loc_stat(&l, st);
	loc_put(fs, &l);
	return r < 0 ? r : same_inode(in, st);
}

/*
 * Record that the request was refused with r (what it tried in detail)
 * and return r.  A log that cannot be written changes nothing: it is
 * refused anyway.
 */
static int denied(fuse_req_t req, struct inode *in, const char *name,
		  struct inode *in2, const char *name2, const char *detail,
		  uint32_t open_flags, int r)
{
	(void)audit(req, &(struct rec){ .event = AUDIT_EV_DENIED, .in = in,
		    .name = name, .in2 = in2, .name2 = name2, .result = r,
		    .detail = detail, .open_flags = open_flags });
	return r;
}

/* May the caller open in with flags?  Records a refusal. */
static int may_open(fuse_req_t req, struct inode *in, int flags)
{
	struct stat st;
	struct cred cr;
	int r = inode_perm_stat(fs_of(req), in, &st);

	cred_init(&cr, req);
	if (r == 0 && (r = perm_may_open(CRED(&cr, &st), &st, flags)) < 0)
		r = denied(req, in, NULL, NULL, NULL, "open", (uint32_t)flags, r);
	cred_release(&cr);
	return r;
}

/*
 * On a shared mount, entries in a directory that not everyone may search
 * are not cached by the kernel: without default_permissions it checks
 * nothing on a path walk through cached entries, so each walk must come
 * here (op_lookup).  A mount only its owner may use needs no such care.
 */
static double entry_timeout(struct fsops *fs, const struct stat *dirst)
{
	return !fs->shared || (dirst->st_mode & 0111) == 0111 ? fs->timeout : 0;
}

/*
 * New entries belong to the caller when the daemon runs as root, with
 * the group and mode Linux would give them (setgid directories).
 */
static int give_to_caller(struct fsops *fs, struct cred *cr,
			  const struct stat *dirst, int dirfd,
			  const char *backing, mode_t mode)
{
	struct stat st;
	mode_t m;
	gid_t gid;

	if (!fs->root_owns)
		return 0;
	perm_new_owner(cred_for(cr, dirst->st_uid, dirst->st_gid), dirst,
		       mode, &gid, &m);
	if (fchownat(dirfd, backing, cr->c.uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* chown(2) drops set-id bits the caller asked for: put them back. */
	if (fstatat(dirfd, backing, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != (m & 07777) &&
	    fchmodat(dirfd, backing, m & 07777, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Look backing entry up in dir and fill e.  0 or -errno.  A document just
 * created for this entry may be handed over in *adopt (with its descriptor
 * in *adopt_fd): the inode takes it unless it already has one, and *adopt
 * is then set to NULL; it saves reading back the header just written.
 */
static int lookup_adopt(struct fsops *fs, fuse_req_t req, struct inode *dir,
			const struct stat *dirst, const char *name,
			const char *backing, struct fuse_entry_param *e,
			struct doc **adopt, int adopt_fd)
{
	struct inode *in;
	int fd, r;

	memset(e, 0, sizeof(*e));
	fd = openat(dir->fd, backing, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (S_ISDIR(e->attr.st_mode)) {
		/* Directories need a real descriptor: fsync after adding
		 * entries, and reading the dir id. */
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			close(fd);
			fd = dfd;
		}
	}
	in = inode_get(fs, fd, &e->attr, dir, name);
	if (!in)
		return -ENOMEM;
	if (adopt && *adopt) {
		pthread_mutex_lock(&in->lock);
		if (!in->doc) {
			in->doc = *adopt;
			in->doc_fd = adopt_fd;
			in->doc_writable = true;
			in->size = doc_size(in->doc);
			in->size_known = true;
			in->damaged = false;
			memcpy(in->doc_id, doc_id(in->doc), sizeof(in->doc_id));
			in->have_id = true;
			*adopt = NULL;
		}
		pthread_mutex_unlock(&in->lock);
	}
	r = inode_stat(fs, req, in, &e->attr);
	if (r < 0) {
		inode_forget(fs, in, 1);
		return r;
	}
	e->ino = ino_of(fs, in);
	e->attr_timeout = fs->timeout;
	e->entry_timeout = entry_timeout(fs, dirst);
	return 0;
}

static int do_lookup(struct fsops *fs, fuse_req_t req, struct inode *dir,
		     const struct stat *dirst, const char *name,
		     const char *backing, struct fuse_entry_param *e)
{
	return lookup_adopt(fs, req, dir, dirst, name, backing, e, NULL, -1);
}

/* ---- kernel cache invalidation ------------------------------------------ */

struct inval {
	struct fsops *fs;
	struct inode *dir;		/* holds a lookup reference */
	size_t n;
	char **names;
};

/*
 * The kernel's cached entries in dir (only that name, or all it may have)
 * that must be forgotten, so that the next path walk through them comes
 * to op_lookup and its permission check: after dir stopped being
 * searchable by everyone.  Run it with inval_run() after replying: until
 * then the kernel holds locks of dir that the invalidation needs.  NULL
 * when there is nothing to do or no memory (then logged).
 */
static struct inval *inval_prepare(struct fsops *fs, struct inode *dir,
				   const char *only)
{
	struct inval *iv = calloc(1, sizeof(*iv));
	size_t cap = 0;

	if (!iv || !fs->se)
		goto fail;
	iv->fs = fs;
	iv->dir = dir;
	pthread_mutex_lock(&fs->table_lock);
	for (size_t b = 0; b < fs->nbuckets && !only; b++)
		for (struct inode *in = fs->buckets[b]; in; in = in->next) {
			if (in->parent != dir || !in->name)
				continue;
			if (iv->n == cap) {
				char **nn = realloc(iv->names, (cap * 2 + 16) *
						    sizeof(*nn));

				if (!nn)
					continue;
				iv->names = nn;
				cap = cap * 2 + 16;
			}
			if ((iv->names[iv->n] = strdup(in->name)))
				iv->n++;
		}
	if (only && (iv->names = malloc(sizeof(*iv->names))) &&
	    (iv->names[0] = strdup(only)))
		iv->n = 1;
	dir->nlookup++;
	pthread_mutex_unlock(&fs->table_lock);
	return iv;
fail:
	free(iv);
	vlog(LOG_WARNING, "cannot make the kernel forget cached entries of "
	     "directory inode %ju: they stay until their timeout",
	     (uintmax_t)dir->ino);
	return NULL;
}

static void inval_run(struct inval *iv)
{
	struct fsops *fs;

	if (!iv)
		return;
	fs = iv->fs;
	for (size_t i = 0; i < iv->n; i++) {
		(void)fuse_lowlevel_notify_inval_entry(fs->se,
			ino_of(fs, iv->dir), iv->names[i], strlen(iv->names[i]));
		free(iv->names[i]);
	}
	inode_forget(fs, iv->dir, 1);
	free(iv->names);
	free(iv);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fsops *fs = userdata;

	if (fs->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Truncation goes through setattr so the document sees it. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/*
	 * The kernel clears set-id bits on write, truncation and chown
	 * (t3006); the daemon does not, so it must not claim to, whatever
	 * libfuse asks for by default.  Costs a GETATTR before each chown.
	 */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/*
	 * Nothing but this daemon changes the files, so the kernel need not
	 * drop cached pages when it sees a new mtime; doing so raced with
	 * concurrent reads (stale blocks were seen with no_writeback).
	 */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS |
			       (conn->capable & FUSE_CAP_READDIRPLUS_AUTO);
	conn->max_write = 1U << 20;
	conn->max_readahead = 1U << 20;
	/*
	 * Twice the kernel's 12 background requests (writeback, readahead):
	 * the daemon's threads then find the next write waiting instead of
	 * sleeping for it.  20000 random 4 KiB writes and an fsync took
	 * 1.11-1.19 s against 1.20-1.33 s, with 15% less daemon CPU; other
	 * workloads did not change (32 made rm -rf slower).  The kernel caps
	 * it for mounts by other users than root (max_user_bgreq).
	 */
	conn->max_background = 24;
	conn->congestion_threshold = 18;
}

static void op_destroy(void *userdata)
{
	(void)userdata;	/* fsops_free() releases everything after the loop */
}

/* ---- lookups and attributes -------------------------------------------- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *fs = fs_of(req);
	struct inode *dir = inode_of(req, parent);
	struct fuse_entry_param e;
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	struct stat dirst;
	struct cred cr;
	bool is_long;
	int r;

	cred_init(&cr, req);
	r = fstat(dir->fd, &dirst) < 0 ? -errno : 0;
	if (r == 0 && (r = perm_check(CRED(&cr, &dirst), &dirst, PERM_X)) < 0)
		r = denied(req, dir, name, NULL, NULL, "lookup", 0, r);
	cred_release(&cr);
	if (r == 0)
		r = enc_name(fs, req, dir, name, enc, backing, &is_long);
	if (r == 0)
		r = do_lookup(fs, req, dir, &dirst, name, backing, &e);
	if (r == -ENOENT) {
		/* negative entry, cached like positive ones */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = entry_timeout(fs, &dirst);
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(fs_of(req), inode_of(req, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fsops *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		inode_forget(fs, inode_of(req, forgets[i].ino),
			     forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct stat st;
	int r = inode_stat(fs, req, inode_of(req, ino), &st);

	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

/* access(2) and chdir(2): the kernel asks, having no permissions of its own. */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct inode *in = inode_of(req, ino);
	struct stat st;
	struct cred cr;
	char detail[32];
	int r = inode_perm_stat(fs_of(req), in, &st);

	cred_init(&cr, req);
	if (r == 0 && (r = perm_check(CRED(&cr, &st), &st, mask)) < 0) {
		snprintf(detail, sizeof(detail), "access %s%s%s",
			 (mask & PERM_R) ? "r" : "", (mask & PERM_W) ? "w" : "",
			 (mask & PERM_X) ? "x" : "");
		r = denied(req, in, NULL, NULL, NULL, detail, 0, r);
	}
	cred_release(&cr);
	fuse_reply_err(req, kerr(r));
}

static int open_doc(struct fsops *fs, struct inode *in, bool write);
static void close_doc(struct inode *in);

static int set_times(struct fsops *fs, struct inode *in,
		     const struct stat *attr, int valid)
{
	struct timespec tv[2];
	char path[PATH_MAX];
	struct stat st;
	struct loc l;
	int r;

	tv[0].tv_sec = 0;
	tv[1].tv_sec = 0;
	tv[0].tv_nsec = UTIME_OMIT;
	tv[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;

	r = loc_get(fs, in, &l);
	if (r < 0)
		return r;
	if (l.dir) {
		r = loc_stat(&l, &st);
		if (r == 0)
			r = same_inode(in, &st);
		if (r == 0 && utimensat(l.dir->fd, l.backing, tv,
					AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	} else if (in->type == S_IFLNK) {
		/* No descriptor-based lutimes: use the path the kernel reports. */
		char link[64];
		ssize_t n;

		proc_path(link, l.fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n < 0) {
			r = -errno;
		} else {
			path[n] = '\0';
			if (utimensat(AT_FDCWD, path, tv, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		}
	} else {
		proc_path(path, l.fd);
		if (utimensat(AT_FDCWD, path, tv, 0) < 0)
			r = -errno;
	}
	loc_put(fs, &l);
	return r;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * With the writeback cache the kernel keeps a file's times itself and
 * sends them back as an explicit mtime with a ctime: beside the size for
 * a truncation (the writer's check is the size's), through a write handle
 * (FATTR_FH) when it flushes them at close or fsync, and without one
 * after an unlink or rename, with the mtime unchanged.  None of these is
 * a change of times that needs the owner.  utimensat(2) never sends a
 * handle, so a writer's "touch -m -d" still needs the owner, as on Linux;
 * only one that sets the mtime it already has passes, and changes nothing.
 */
static bool kernel_mtime(const struct stat *attr, int valid,
			 bool write_handle, const struct stat *cur)
{
	return (valid & FUSE_SET_ATTR_MTIME) && (valid & FUSE_SET_ATTR_CTIME) &&
	       !(valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW |
			  FUSE_SET_ATTR_MTIME_NOW)) &&
	       (write_handle || (valid & FUSE_SET_ATTR_SIZE) ||
		same_time(&attr->st_mtim, &cur->st_mtim));
}

/* fi is a handle open for writing to in's content. */
static bool write_handle(const struct inode *in,
			 const struct fuse_file_info *fi)
{
	const struct handle *h = fi ? (const struct handle *)(uintptr_t)fi->fh
				    : NULL;

	return h && in->type == S_IFREG && (h->flags & O_ACCMODE) != O_RDONLY;
}

/*
 * Truncation and explicit attribute changes are recorded; the kernel's own
 * mtime (kernel_times, from kernel_mtime()) is not an access of its own.
 */
static int audit_setattr(fuse_req_t req, struct inode *in,
			 const struct stat *attr, int valid, bool kernel_times,
			 int r)
{
	char detail[96];

	if (valid & FUSE_SET_ATTR_SIZE) {
		snprintf(detail, sizeof(detail), "size=%jd",
			 (intmax_t)attr->st_size);
		r = audit_change(req, &(struct rec){ .event = AUDIT_EV_TRUNCATE,
				 .in = in, .result = r, .detail = detail });
	}
	if ((valid & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME |
		      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) ||
	    ((valid & FUSE_SET_ATTR_MTIME) && !kernel_times)) {
		int n = 0;

		detail[0] = '\0';
		if (valid & FUSE_SET_ATTR_MODE)
			n += snprintf(detail + n, sizeof(detail) - (size_t)n,
				      "mode=%04o ", attr->st_mode & 07777);
		if (valid & FUSE_SET_ATTR_UID)
			n += snprintf(detail + n, sizeof(detail) - (size_t)n,
				      "uid=%u ", (unsigned)attr->st_uid);
		if (valid & FUSE_SET_ATTR_GID)
			n += snprintf(detail + n, sizeof(detail) - (size_t)n,
				      "gid=%u ", (unsigned)attr->st_gid);
		if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW |
			     FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
			snprintf(detail + n, sizeof(detail) - (size_t)n, "times");
		r = audit_change(req, &(struct rec){ .event = AUDIT_EV_SETATTR,
				 .in = in, .result = r, .detail = detail });
	}
	return r;
}

/*
 * May the caller make the changes in valid?  Fills *mode with the mode to
 * set (Linux drops S_ISGID for a non-member); records a refusal.  The
 * kernel's own requests, sent with the credentials of whoever caused
 * them, are let through without the owner: its flushes of cached times
 * (kernel_mtime()) and the clearing of set-id bits after a write or
 * truncation by anyone with write permission.
 */
static int may_setattr(fuse_req_t req, struct inode *in,
		       const struct stat *attr, int valid,
		       const struct fuse_file_info *fi, mode_t *mode,
		       struct stat *cur)
{
	bool wh = write_handle(in, fi);
	unsigned pv = 0;
	struct stat st;
	struct cred cr;
	mode_t m;
	int r = inode_perm_stat(fs_of(req), in, &st);

	if (r < 0)
		return r;
	*cur = st;
	if (valid & FUSE_SET_ATTR_MODE)
		pv |= PERM_SET_MODE;
	if (valid & FUSE_SET_ATTR_UID)
		pv |= PERM_SET_UID;
	if (valid & FUSE_SET_ATTR_GID)
		pv |= PERM_SET_GID;
	if (valid & FUSE_SET_ATTR_SIZE)
		pv |= PERM_SET_SIZE;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		pv |= PERM_SET_ATIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		pv |= PERM_SET_ATIME;
	/* With the writeback cache (ctime given) the kernel hands "now" as
	 * an explicit mtime: beside an atime of now it is a touch. */
	if ((valid & FUSE_SET_ATTR_MTIME_NOW) ||
	    ((valid & FUSE_SET_ATTR_MTIME) && (valid & FUSE_SET_ATTR_CTIME) &&
	     (valid & FUSE_SET_ATTR_ATIME_NOW)))
		pv |= PERM_SET_MTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		pv |= PERM_SET_MTIME;
	cred_init(&cr, req);
	CRED(&cr, &st);
	if (valid & FUSE_SET_ATTR_GID)
		cred_for(&cr, st.st_uid, attr->st_gid);
	m = attr->st_mode & 07777;
	if ((pv & PERM_SET_MODE) && m != (st.st_mode & 07777) &&
	    (m | S_ISUID | S_ISGID) == ((st.st_mode & 07777) | S_ISUID | S_ISGID) &&
	    !(m & ~st.st_mode & (S_ISUID | S_ISGID)) &&
	    (wh || perm_check(&cr.c, &st, PERM_W) == 0))
		pv &= ~PERM_SET_MODE;		/* set-id bits cleared */
	if (kernel_mtime(attr, valid, wh, &st))
		pv &= ~PERM_SET_MTIME;
	r = perm_setattr(&cr.c, &st, pv, attr, wh, mode);
	if (r == 0 && !(pv & PERM_SET_MODE))
		*mode = attr->st_mode;
	cred_release(&cr);
	if (r == -EACCES || r == -EPERM)
		r = denied(req, in, NULL, NULL, NULL, "setattr", 0, r);
	return r;
}

/*
 * Page cache fills.  A random read of a few KiB costs the decryption of
 * its whole chunk (64 KiB); the kernel asks only for the pages it needs
 * and would ask again, and the chunk be decrypted again, for each other
 * page of the chunk.  So after such a read the rest of the chunk goes
 * into the page cache (FUSE notify_store), as readahead within the chunk
 * would.  Not with direct I/O, and never when the kernel could hold newer
 * data for the file: only while no handle is open for writing, and only
 * if nothing changed the content since the chunk was read (fill_gen:
 * bumped when a writer opens or closes and on truncate).  A fill waits
 * for pages whose own reads are in flight, so it runs after the reply
 * (two reads filling before replying wait for each other's pages: t1010
 * deadlocked so), with no inode lock held (the reads in flight need it),
 * and at most FILL_SLOTS at once: the other threads keep serving those
 * reads.
 */
#define FILL_SLOTS 4

/*
 * Writes of whole chunks sealed without the inode's lock (op_write), at
 * most this many at once: each holds a buffer of its size (up to 1 MiB
 * and a little), and more than there are CPUs only wait for each other.
 */
#define PREP_SLOTS 2

struct fill {
	uint64_t gen;			/* UINT64_MAX: no fill */
	uint8_t *data;			/* the chunk, plaintext */
	uint64_t start;
	size_t len;
};

/* in's content is about to change; writers += dw. */
static void fill_fence(struct fsops *fs, struct inode *in, int dw)
{
	pthread_rwlock_wrlock(&fs->fill_lock);
	in->writers += (uint32_t)dw;
	in->fill_gen++;
	pthread_rwlock_unlock(&fs->fill_lock);
}

/* The generation a fill must still find, or UINT64_MAX: none allowed. */
static uint64_t fill_gen_of(struct fsops *fs, struct inode *in)
{
	uint64_t g = UINT64_MAX;

	if (!__atomic_load_n(&fs->fill, __ATOMIC_RELAXED))
		return g;
	pthread_rwlock_rdlock(&fs->fill_lock);
	if (in->writers == 0)
		g = in->fill_gen;
	pthread_rwlock_unlock(&fs->fill_lock);
	return g;
}

/* A read of got bytes at off decrypted a chunk: keep a copy to fill. */
static void fill_prepare(struct fill *fl, const struct doc *d, uint64_t off,
			 size_t got)
{
	uint32_t cs = doc_chunk_size(d);

	/* a read of the whole chunk leaves nothing to fill */
	if (got == 0 || got >= cs)
		return;
	fl->data = malloc(cs);
	if (fl->data && !doc_cached_chunk(d, off, fl->data, &fl->start,
					  &fl->len)) {
		free(fl->data);
		fl->data = NULL;
	}
}

static void fill_store(struct fsops *fs, fuse_ino_t ino, const uint8_t *p,
		       uint64_t off, size_t len)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);
	int r;

	if (len == 0)
		return;
	bv.buf[0].mem = (void *)p;
	r = fuse_lowlevel_notify_store(fs->se, ino, (off_t)off, &bv, 0);
	if (r == -ENOSYS)
		/* the kernel cannot; any thread may see it first */
		__atomic_store_n(&fs->fill, false, __ATOMIC_RELAXED);
}

/* After the reply to a read of got bytes at off: fill around them. */
static void fill_run(struct fsops *fs, struct inode *in, fuse_ino_t ino,
		     struct fill *fl, uint64_t off, size_t got)
{
	if (!fl->data)
		return;
	if (fs->se && sem_trywait(&fs->fill_slots) == 0) {
		pthread_rwlock_rdlock(&fs->fill_lock);
		if (in->writers == 0 && in->fill_gen == fl->gen) {
			uint64_t end = fl->start + fl->len;

			/* off and off + got are page-aligned unless at EOF */
			fill_store(fs, ino, fl->data, fl->start,
				   (size_t)(off - fl->start));
			if (off + got < end)
				fill_store(fs, ino, fl->data + (off + got -
							       fl->start),
					   off + got, (size_t)(end - off - got));
		}
		pthread_rwlock_unlock(&fs->fill_lock);
		sem_post(&fs->fill_slots);
	}
	sodium_memzero(fl->data, fl->len);
	free(fl->data);
}

/*
 * With the writeback cache the kernel writes an inode's cached times back
 * as it drops the inode: after every unlink (rm -rf of 5000 files sent
 * 5000 of these) with the mtime the file already has.  Setting nothing
 * skips a utimensat(2) on the backing file for each.
 */
static bool same_mtime_only(const struct stat *attr, int valid,
			    const struct stat *cur)
{
	/* nothing else changes either: a truncation moves the mtime */
	return (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW |
			 FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_SIZE |
			 FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			 FUSE_SET_ATTR_GID)) == 0 &&
	       (valid & FUSE_SET_ATTR_MTIME) &&
	       same_time(&attr->st_mtim, &cur->st_mtim);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct inode *in = inode_of(req, ino);
	struct stat st, cur;
	char path[64];
	mode_t mode = attr->st_mode, oldmode;
	struct inval *iv = NULL;
	int fd = -1, r;

	r = may_setattr(req, in, attr, valid, fi, &mode, &cur);
	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	oldmode = cur.st_mode;
	if (valid & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fd = inode_open(fs, in, O_PATH);
		if (fd < 0) {
			r = fd;
			goto out;
		}
	}
	if (valid & FUSE_SET_ATTR_MODE) {
		proc_path(path, fd);
		if (in->type != S_IFLNK && chmod(path, mode) < 0) {
			r = -errno;
			goto out;
		}
		if (fs->shared && in->type == S_IFDIR &&
		    (oldmode & 0111) == 0111 && (mode & 0111) != 0111)
			iv = inval_prepare(fs, in, NULL);
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (in->type != S_IFREG) {
			r = -EINVAL;
			goto out;
		}
		fill_fence(fs, in, 0);
		pthread_mutex_lock(&in->lock);
		r = open_doc(fs, in, true);
		if (r == 0) {
			in->doc_changed = true;
			r = doc_truncate(in->doc, (uint64_t)attr->st_size);
			if (r == 0 && in->opens == 0)
				r = doc_flush(in->doc);
			in->size = doc_size(in->doc);
			in->size_known = true;
			close_doc(in);
		}
		pthread_mutex_unlock(&in->lock);
		if (r < 0)
			goto out;
	}
	if ((valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) &&
	    !same_mtime_only(attr, valid, &cur)) {
		r = set_times(fs, in, attr, valid);
		if (r < 0)
			goto out;
	}
	r = inode_stat(fs, req, in, &st);
out:
	if (fd >= 0)
		close(fd);
	r = audit_setattr(req, in, attr, valid,
			  kernel_mtime(attr, valid, write_handle(in, fi), &cur), r);
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_attr(req, &st, fs->timeout);
	inval_run(iv);
}

/* ---- directory entries ---------------------------------------------------- */

/*
 * Directory dirfd/name is empty for the user when it holds nothing but its
 * dir id file.  Remove that file so the backing directory can be removed
 * or replaced; *id keeps it for put_dirid() if that then fails.
 * Returns 0, -ENOTEMPTY, -ENOTDIR or another -errno.
 */
static int take_dirid(int dirfd, const char *name, uint8_t id[NAMES_DIRID_BYTES],
		      bool *had_id)
{
	struct dirent *de;
	DIR *dp;
	int fd, r = 0;

	*had_id = false;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, NAMES_DIRID_FILE))
			continue;
		r = -ENOTEMPTY;
		goto out;
	}
	if (backing_read_dirid(fd, id) == 0) {
		*had_id = true;
		if (unlinkat(fd, NAMES_DIRID_FILE, 0) < 0) {
			r = -errno;
			*had_id = false;
		}
	}
out:
	closedir(dp);
	return r;
}

/* Undo take_dirid() after the removal or replacement failed. */
static void put_dirid(int dirfd, const char *name,
		      const uint8_t id[NAMES_DIRID_BYTES], bool had_id)
{
	int fd;

	if (!had_id)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || write_file_new(fd, NAMES_DIRID_FILE, id,
				     NAMES_DIRID_BYTES, 0444) < 0)
		vlog(LOG_ERR, "cannot restore directory id in backing "
		     "directory '%s'", name);
	if (fd >= 0)
		close(fd);
}

/* Remove a long entry's side file after its entry is gone. */
static void drop_side(struct inode *dir, const char *backing, bool is_long)
{
	if (is_long)
		backing_remove_longname(dir->fd, backing);
}

/* May the caller add name to dir?  Records a refusal; fills *dirst. */
static int may_create(fuse_req_t req, struct cred *cr, struct inode *dir,
		      const char *name, struct stat *dirst)
{
	int r = fstat(dir->fd, dirst) < 0 ? -errno : 0;

	if (r == 0 && (r = perm_may_create(CRED(cr, dirst), dirst)) < 0)
		r = denied(req, dir, name, NULL, NULL, "create an entry", 0, r);
	return r;
}

static int make_node(fuse_req_t req, struct inode *dir, const char *name,
		     mode_t mode, const char *link, struct fuse_entry_param *e)
{
	struct fsops *fs = fs_of(req);
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	struct stat dirst;
	struct cred cr;
	bool is_long;
	int r;

	cred_init(&cr, req);
	r = may_create(req, &cr, dir, name, &dirst);
	if (r == 0)
		r = enc_name(fs, req, dir, name, enc, backing, &is_long);
	if (r < 0)
		goto out;
	if (is_long) {
		/* The side file exists before the entry, so a crash leaves
		 * at worst an orphan side file, never a nameless entry. */
		r = -EEXIST;
		if (faccessat(dir->fd, backing, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
		    (r = backing_write_longname(dir->fd, backing, enc)) < 0)
			goto out;
	}
	if (S_ISDIR(mode)) {
		uint8_t id[NAMES_DIRID_BYTES];

		r = backing_mkdir(dir->fd, backing, mode & 07777, id);
	} else if (S_ISLNK(mode)) {
		char *lenc = malloc(NAMES_LINK_ENC_MAX);

		if (!lenc) {
			r = -ENOMEM;
		} else {
			r = names_link_encrypt(fs->nk, link, strlen(link), lenc);
			if (r == 0 && symlinkat(lenc, dir->fd, backing) < 0)
				r = -errno;
			free(lenc);
		}
	} else {
		/* Special files and FIFOs carry no content to encrypt. */
		if (mknodat(dir->fd, backing, mode, 0) < 0)
			r = -errno;
	}
	if (r == 0)
		r = give_to_caller(fs, &cr, &dirst, dir->fd, backing, mode);
	if (r == 0)
		r = do_lookup(fs, req, dir, &dirst, name, backing, e);
	if (r < 0 && r != -EEXIST && is_long)
		drop_side(dir, backing, true);
out:
	cred_release(&cr);
	return r;
}

static void reply_entry_or_err(fuse_req_t req, int r, struct fuse_entry_param *e)
{
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_entry(req, e);
}

/* Record a new entry (result r of making it), then reply. */
static void reply_new_entry(fuse_req_t req, int r, struct fuse_entry_param *e,
			    const struct rec *rc)
{
	struct rec c = *rc;
	int a;

	c.result = r;
	a = audit_change(req, &c);
	if (a < 0 && r == 0)	/* made, but unrecorded: report it */
		inode_forget(fs_of(req), inode_of(req, e->ino), 1);
	reply_entry_or_err(req, a, e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fuse_entry_param e;

	struct inode *dir = inode_of(req, parent);

	reply_new_entry(req, make_node(req, dir, name, S_IFDIR | mode, NULL, &e),
			&e, &(struct rec){ .event = AUDIT_EV_MKDIR, .in = dir,
					   .name = name });
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct inode *dir = inode_of(req, parent);
	struct fuse_entry_param e;

	/* Regular files made by mknod(2) must still be documents. */
	if (S_ISREG(mode) || S_ISCHR(mode) || S_ISBLK(mode)) {
		fuse_reply_err(req, S_ISREG(mode) ? ENOSYS : EPERM);
		return;
	}

	reply_new_entry(req, make_node(req, dir, name, mode, NULL, &e), &e,
			&(struct rec){ .event = AUDIT_EV_MKNOD, .in = dir,
				       .name = name });
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct fuse_entry_param e;

	struct inode *dir = inode_of(req, parent);

	reply_new_entry(req, make_node(req, dir, name, S_IFLNK | 0777, link, &e),
			&e, &(struct rec){ .event = AUDIT_EV_SYMLINK, .in = dir,
					   .name = name, .target = link });
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fsops *fs = fs_of(req);
	struct inode *in = inode_of(req, ino);
	char *enc = malloc(NAMES_LINK_ENC_MAX);
	char *target = malloc(NAMES_LINK_MAX + 1);
	struct stat st;
	struct loc l;
	ssize_t n;
	size_t len;
	int r;

	if (!enc || !target) {
		r = -ENOMEM;
		goto out;
	}
	r = loc_get(fs, in, &l);
	if (r < 0)
		goto out;
	n = loc_readlink(&l, enc, NAMES_LINK_ENC_MAX - 1);
	if (n >= 0)
		r = loc_stat(&l, &st);
	loc_put(fs, &l);
	if (n < 0 || (r = r < 0 ? r : same_inode(in, &st)) < 0) {
		r = n < 0 ? (int)n : r;
		goto out;
	}
	enc[n] = '\0';
	r = names_link_decrypt(fs->nk, enc, (size_t)n, target, &len);
	if (r < 0) {
		vlog(LOG_ERR, "integrity: symlink target of backing inode %ju "
		     "failed authentication", (uintmax_t)in->ino);
		audit_integrity(req, in, NULL, "symlink target");
		goto out;
	}
	fuse_reply_readlink(req, target);
out:
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	if (target)
		sodium_memzero(target, NAMES_LINK_MAX + 1);
	free(target);
	free(enc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct fsops *fs = fs_of(req);
	struct inode *in = inode_of(req, ino);
	struct inode *dir = inode_of(req, newparent);
	struct fuse_entry_param e;
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX], path[64];
	struct stat dirst;
	struct cred cr;
	bool is_long;
	int fd, r;

	cred_init(&cr, req);
	r = may_create(req, &cr, dir, newname, &dirst);
	cred_release(&cr);
	if (r == 0)
		r = enc_name(fs, req, dir, newname, enc, backing, &is_long);
	if (r < 0)
		goto out;
	if (is_long && (r = backing_write_longname(dir->fd, backing, enc)) < 0)
		goto out;
	fd = inode_open(fs, in, O_PATH);
	if (fd < 0) {
		r = fd;
		drop_side(dir, backing, is_long);
		goto out;
	}
	if (linkat(fd, "", dir->fd, backing, AT_EMPTY_PATH) < 0) {
		proc_path(path, fd);
		if (linkat(AT_FDCWD, path, dir->fd, backing,
			   AT_SYMLINK_FOLLOW) < 0) {
			r = -errno;
			if (r != -EEXIST)
				drop_side(dir, backing, is_long);
			close(fd);
			goto out;
		}
	}
	close(fd);
	r = do_lookup(fs, req, dir, &dirst, newname, backing, &e);
out:
	reply_new_entry(req, r, &e, &(struct rec){ .event = AUDIT_EV_LINK,
			.in = in, .in2 = dir, .name2 = newname });
}

/*
 * May the caller remove victim from dir?  A refusal turns rc into the
 * record of a denied access.
 */
static int may_delete(fuse_req_t req, struct inode *dir,
		      const struct stat *victim, struct rec *rc)
{
	struct stat dirst;
	struct cred cr;
	int r = fstat(dir->fd, &dirst) < 0 ? -errno : 0;

	cred_init(&cr, req);
	if (r == 0)
		r = perm_may_delete(CRED(&cr, &dirst), &dirst, victim);
	cred_release(&cr);
	if (r == -EACCES || r == -EPERM) {
		rc->detail = auditrec_event_name(rc->event);
		rc->event = AUDIT_EV_DENIED;
	}
	return r;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *fs = fs_of(req);
	struct inode *dir = inode_of(req, parent);
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	uint8_t id[CONTAINER_DOC_ID_BYTES];
	struct stat st;
	struct rec rc = { .event = AUDIT_EV_UNLINK, .in = dir, .name = name };
	bool is_long;
	int r = enc_name(fs, req, dir, name, enc, backing, &is_long);

	if (r == 0 && fstatat(dir->fd, backing, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && known_doc_id(fs, &st, id))
		rc.doc_id = id;
	if (r == 0)
		r = may_delete(req, dir, &st, &rc);
	r = audit_before(req, &rc, r);
	if (r == 0) {
		pthread_rwlock_wrlock(&fs->names_lock);
		pin(fs, dir, backing, &st);
		r = unlinkat(dir->fd, backing, 0) < 0 ? -errno : 0;
		pthread_rwlock_unlock(&fs->names_lock);
		if (r < 0)
			r = audit_failed(req, &rc, r);
		else
			drop_side(dir, backing, is_long);
	}
	fuse_reply_err(req, kerr(r));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *fs = fs_of(req);
	struct inode *dir = inode_of(req, parent);
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	uint8_t id[NAMES_DIRID_BYTES];
	struct rec rc = { .event = AUDIT_EV_RMDIR, .in = dir, .name = name };
	struct stat st;
	bool is_long, had_id;
	int r;

	r = enc_name(fs, req, dir, name, enc, backing, &is_long);
	if (r == 0 && fstatat(dir->fd, backing, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r == 0)
		r = may_delete(req, dir, &st, &rc);
	r = audit_before(req, &rc, r);
	if (r < 0)
		goto out;
	r = take_dirid(dir->fd, backing, id, &had_id);
	if (r == 0 && unlinkat(dir->fd, backing, AT_REMOVEDIR) < 0) {
		r = -errno;
		put_dirid(dir->fd, backing, id, had_id);
	}
	if (r < 0)
		r = audit_failed(req, &rc, r);
	else
		drop_side(dir, backing, is_long);
out:
	fuse_reply_err(req, kerr(r));
}

/* May the caller rename src from dir to nbacking in ndir?  As may_delete(). */
static int may_rename(fuse_req_t req, struct inode *dir, const struct stat *src,
		      struct inode *ndir, const char *nbacking, unsigned flags,
		      struct rec *rc)
{
	struct stat dirst, ndirst, tst;
	bool target;
	struct cred cr;
	int r = 0;

	if (fstat(dir->fd, &dirst) < 0 || fstat(ndir->fd, &ndirst) < 0)
		return -errno;
	target = fstatat(ndir->fd, nbacking, &tst, AT_SYMLINK_NOFOLLOW) == 0;
	cred_init(&cr, req);
	CRED(&cr, &dirst);
	CRED(&cr, &ndirst);
	CRED(&cr, src);
	if (target)
		CRED(&cr, &tst);
	r = perm_may_rename(&cr.c, &dirst, src, &ndirst, target ? &tst : NULL,
			    (flags & RENAME_EXCHANGE) ? PERM_RENAME_EXCHANGE : 0);
	cred_release(&cr);
	if (r == -EACCES || r == -EPERM) {
		rc->detail = (flags & RENAME_EXCHANGE) ? "rename exchange" : "rename";
		rc->event = AUDIT_EV_DENIED;
	}
	return r;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fsops *fs = fs_of(req);
	struct inode *dir = inode_of(req, parent);
	struct inode *ndir = inode_of(req, newparent);
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	char nenc[ENC_BUF], nbacking[NAMES_BACKING_MAX];
	uint8_t tid[NAMES_DIRID_BYTES], id[CONTAINER_DOC_ID_BYTES];
	struct rec rc = { .event = AUDIT_EV_RENAME, .in = dir, .name = name,
			  .in2 = ndir, .name2 = newname,
			  .detail = (flags & RENAME_EXCHANGE) ? "exchange" : NULL };
	struct inval *iv1 = NULL, *iv2 = NULL;
	struct stat sst, tst;
	bool is_long, nis_long, had_tid = false;
	int r;

	r = enc_name(fs, req, dir, name, enc, backing, &is_long);
	if (r == 0)
		r = enc_name(fs, req, ndir, newname, nenc, nbacking, &nis_long);
	if (r == 0 && fstatat(dir->fd, backing, &sst, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && known_doc_id(fs, &sst, id))
		rc.doc_id = id;
	if (r == 0)
		r = may_rename(req, dir, &sst, ndir, nbacking, flags, &rc);
	r = audit_before(req, &rc, r);
	if (r < 0)
		goto out;
	/* Side files belong to names, not to files: an exchange keeps both. */
	if (nis_long && !(flags & RENAME_EXCHANGE) &&
	    (r = backing_write_longname(ndir->fd, nbacking, nenc)) < 0)
		goto failed;
	/* A directory may replace an empty one: empty means only its id. */
	if (!(flags & RENAME_EXCHANGE) &&
	    fstatat(ndir->fd, nbacking, &tst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(tst.st_mode) && S_ISDIR(sst.st_mode) &&
	    (sst.st_dev != tst.st_dev || sst.st_ino != tst.st_ino)) {
		r = take_dirid(ndir->fd, nbacking, tid, &had_tid);
		if (r < 0)
			goto failed;
	}
	pthread_rwlock_wrlock(&fs->names_lock);
	if (!(flags & RENAME_EXCHANGE) &&
	    fstatat(ndir->fd, nbacking, &tst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (sst.st_dev != tst.st_dev || sst.st_ino != tst.st_ino))
		pin(fs, ndir, nbacking, &tst);
	if (renameat2(dir->fd, backing, ndir->fd, nbacking, flags) < 0) {
		r = -errno;
		pthread_rwlock_unlock(&fs->names_lock);
		put_dirid(ndir->fd, nbacking, tid, had_tid);
		goto failed;
	}
	inode_moved(fs, &sst, ndir, newname);
	if ((flags & RENAME_EXCHANGE) &&
	    fstatat(dir->fd, backing, &tst, AT_SYMLINK_NOFOLLOW) == 0)
		inode_moved(fs, &tst, dir, name);
	pthread_rwlock_unlock(&fs->names_lock);
	/* The moved entry kept the cache time it was given where it was. */
	if (fs->shared && fstat(ndir->fd, &tst) == 0 &&
	    entry_timeout(fs, &tst) == 0 &&
	    (fstat(dir->fd, &sst) < 0 || entry_timeout(fs, &sst) > 0))
		iv1 = inval_prepare(fs, ndir, newname);
	if (fs->shared && (flags & RENAME_EXCHANGE) &&
	    fstat(dir->fd, &tst) == 0 && entry_timeout(fs, &tst) == 0 &&
	    (fstat(ndir->fd, &sst) < 0 || entry_timeout(fs, &sst) > 0))
		iv2 = inval_prepare(fs, dir, name);
	if (is_long && !(flags & RENAME_EXCHANGE) &&
	    !(dir == ndir && !strcmp(backing, nbacking)))
		drop_side(dir, backing, true);
	goto out;
failed:
	r = audit_failed(req, &rc, r);
out:
	fuse_reply_err(req, kerr(r));
	inval_run(iv1);
	inval_run(iv2);
}

/* ---- directories ----------------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in = inode_of(req, ino);
	struct dirhandle *d;
	int fd = may_open(req, in, fi->flags);

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = openat(in->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d->dp = fdopendir(fd))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		free(d);
		fuse_reply_err(req, e);
		return;
	}
	d->inode = in;
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

/* Plaintext name of backing entry de in dir, or -errno to skip it. */
static int entry_name(struct fsops *fs, struct inode *dir, int dfd,
		      const uint8_t id[NAMES_DIRID_BYTES], const char *backing,
		      char name[NAMES_PLAIN_MAX + 1])
{
	char enc[ENC_BUF];
	size_t enclen, len;
	int r;

	switch (names_classify(backing)) {
	case NAMES_ENTRY:
		r = names_decrypt(fs->nk, id, backing, strlen(backing), name,
				  &len);
		break;
	case NAMES_LONG:
		r = backing_read_longname(dfd, backing, enc, &enclen);
		if (r == 0)
			r = names_decrypt(fs->nk, id, enc, enclen, name, &len);
		break;
	default:
		return -ENOENT;	/* ours (dir id, side files) or foreign */
	}
	if (r < 0)
		vlog(LOG_ERR, "integrity: name of backing entry '%s' in "
		     "directory inode %ju failed authentication; hidden",
		     backing, (uintmax_t)dir->ino);
	return r;
}

/*
 * A listing is usually followed by a stat of each entry, which needs the
 * document's header for its size: start reading the headers now, all at
 * once, instead of one synchronous read per stat.  A document of one
 * chunk is read whole: reading it next (find | xargs cat, grep -r) then
 * costs no second I/O request, which on a virtual disk costs about as
 * much as the first whatever its size.
 */
static void prefetch_header(struct fsops *fs, int dfd, const char *backing)
{
	int fd = openat(dfd, backing, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			O_CLOEXEC);
	size_t len = CONTAINER_HDR_BYTES, small;
	struct stat st;

	if (fd < 0)
		return;
	small = CONTAINER_DATA_OFFSET +
		container_slot_bytes(keystore_settings(fs->ks)->chunk_size);
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size <= small)
		len = (size_t)st.st_size;
	(void)readahead(fd, 0, len);
	close(fd);
}

/*
 * Start reading the headers of the next regular entries of d (at most
 * PREFETCH_AHEAD) and go back: readdirplus stats each entry at once, and
 * one synchronous header read after another costs more than the round
 * trips it saves (ls -lR of 5000 files: 0.54 s without, 0.22-0.25 s
 * with, 0.32 s with plain READDIR).
 */
#define PREFETCH_AHEAD 64

static void prefetch_ahead(struct fsops *fs, struct dirhandle *d)
{
	long pos = telldir(d->dp);
	struct dirent *de;

	if (pos < 0)
		return;
	for (int n = 0; n < PREFETCH_AHEAD && (de = readdir(d->dp)); n++)
		if (de->d_type == DT_REG)
			prefetch_header(fs, dirfd(d->dp), de->d_name);
	seekdir(d->dp, pos);
}

/*
 * The listing entry for backing entry de of dir into e: its attributes
 * and a lookup reference (e->ino != 0) when attrs, else (or when the
 * lookup fails) only its inode number and type, which the kernel takes as
 * a plain entry.
 */
static void dir_entry(struct fsops *fs, fuse_req_t req, struct inode *dir,
		      const struct stat *dirst, const struct dirent *de,
		      const char *name, bool attrs, struct fuse_entry_param *e)
{
	if (!attrs || do_lookup(fs, req, dir, dirst, name, de->d_name, e) < 0) {
		memset(e, 0, sizeof(*e));
		e->attr.st_ino = de->d_ino;
		e->attr.st_mode = (mode_t)de->d_type << 12;
	}
}

/*
 * READDIR and READDIRPLUS.  Plus gives each entry's attributes and a
 * lookup reference, saving the LOOKUP (and GETATTR) a later stat, open
 * or unlink would send; only for a caller who may search dir, as a
 * lookup would check (others get the plus format without attributes).
 * 5000 files, plus against plain: rm -rf 0.71-0.78 s against 0.80-0.86,
 * find | cat 0.78-0.83 against 0.87-0.95.
 */
static void readdir_fill(fuse_req_t req, size_t size, off_t offset,
			 struct fuse_file_info *fi, bool plus)
{
	struct fsops *fs = fs_of(req);
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	struct inode *dir = d->inode;
	uint8_t id[NAMES_DIRID_BYTES];
	char name[NAMES_PLAIN_MAX + 1];
	struct stat dirst = { 0 };
	bool attrs = false;	/* plus, and the caller may search dir */
	char *buf, *p;
	size_t rem = size;
	int r = dir_id(req, dir, id);

	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	if (plus) {
		struct cred cr;

		cred_init(&cr, req);
		attrs = fstat(dir->fd, &dirst) == 0 &&
			perm_check(CRED(&cr, &dirst), &dirst, PERM_X) == 0;
		cred_release(&cr);
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	if (attrs && !d->entry)
		prefetch_ahead(fs, d);
	p = buf;
	for (;;) {
		struct fuse_entry_param e;
		bool dot;
		size_t need;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno && p == buf) {
					r = -errno;
					goto out;
				}
				break;
			}
		}
		dot = !strcmp(d->entry->d_name, ".") ||
		      !strcmp(d->entry->d_name, "..");
		if (dot) {
			strcpy(name, d->entry->d_name);
		} else if ((r = entry_name(fs, dir, dirfd(d->dp), id,
					   d->entry->d_name, name)) < 0) {
			if (r != -ENOENT)
				audit_integrity(req, dir, NULL, "a name in this "
						"directory failed authentication");
			d->offset = d->entry->d_off;
			d->entry = NULL;
			continue;
		}
		dir_entry(fs, req, dir, &dirst, d->entry, name, attrs && !dot,
			  &e);
		need = plus ? fuse_add_direntry_plus(req, p, rem, name, &e,
						     d->entry->d_off) :
			      fuse_add_direntry(req, p, rem, name, &e.attr,
						d->entry->d_off);
		if (need > rem) {
			/* not sent: the kernel takes no reference */
			if (e.ino != 0)
				inode_forget(fs, inode_of(req, e.ino), 1);
			break;
		}
		p += need;
		rem -= need;
		if (!attrs && d->entry->d_type == DT_REG)
			prefetch_header(fs, dirfd(d->dp), d->entry->d_name);
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	r = 0;
	fuse_reply_buf(req, buf, size - rem);
out:
	sodium_memzero(name, sizeof(name));
	if (r < 0)
		fuse_reply_err(req, -r);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t offset, struct fuse_file_info *fi)
{
	(void)ino;
	readdir_fill(req, size, offset, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t offset, struct fuse_file_info *fi)
{
	(void)ino;
	readdir_fill(req, size, offset, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	int fd = dirfd(d->dp);
	int r = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, r < 0 ? errno : 0);
}

/* ---- files -------------------------------------------------------------------- */

/*
 * Make sure in->doc is open (writable if write).  Caller holds in->lock.
 * A document opened read-only is reopened read-write when a writer comes.
 */
static int open_doc(struct fsops *fs, struct inode *in, bool write)
{
	int fd, r;

	if (in->doc && (!write || in->doc_writable))
		return 0;
	if (in->doc) {
		r = doc_close(in->doc);
		in->doc = NULL;
		close(in->doc_fd);
		in->doc_fd = -1;
		if (r < 0)
			return r;
	}
	fd = inode_open(fs, in, O_RDWR);
	in->doc_writable = fd >= 0;
	if (fd < 0 && !write && (fd == -EACCES || fd == -EROFS))
		fd = inode_open(fs, in, O_RDONLY);
	if (fd < 0)
		return fd;
	r = doc_open(fd, fs->ks, &in->doc);
	if (r < 0) {
		close(fd);
		in->doc = NULL;
		if (r == -EBADMSG || r == -ENOKEY || r == -EPROTONOSUPPORT) {
			report_damage(in, r);
			in->damaged = true;
		}
		return r;
	}
	in->doc_fd = fd;
	in->size = doc_size(in->doc);
	in->size_known = true;
	in->damaged = false;
	memcpy(in->doc_id, doc_id(in->doc), sizeof(in->doc_id));
	in->have_id = true;
	return 0;
}

/*
 * Write what the document caches.  The user saw the file's mtime change
 * when the data was written (or the kernel set it explicitly, with the
 * writeback cache); bytes that reach the backing file later must not move
 * it again.  Caller holds in->lock.
 */
static int doc_writeback(struct inode *in, int sync, bool datasync)
{
	struct stat st;
	bool keep = fstat(in->doc_fd, &st) == 0;
	int r;

	in->doc_changed = false;
	r = sync ? doc_sync(in->doc, datasync) : doc_flush(in->doc);
	if (keep) {
		struct timespec tv[2] = { { 0, UTIME_OMIT }, st.st_mtim };

		(void)futimens(in->doc_fd, tv);
	}
	return r;
}

/* Close the document if no handle uses it.  Caller holds in->lock. */
static void close_doc(struct inode *in)
{
	int r;

	if (!in->doc || in->opens > 0)
		return;
	in->size = doc_size(in->doc);
	/* Nothing written (a reader): nothing to write back, no mtime to keep. */
	r = in->doc_writable && in->doc_changed ?
	    doc_writeback(in, false, false) : 0;
	if (doc_close(in->doc) < 0 && r == 0)
		r = -EIO;
	if (r < 0)
		vlog(LOG_ERR, "writing document in backing inode %ju failed: %s",
		     (uintmax_t)in->ino, strerror(-r));
	in->doc = NULL;
	close(in->doc_fd);
	in->doc_fd = -1;
}

static struct handle *new_handle(fuse_req_t req, struct inode *in, int flags)
{
	struct handle *h = calloc(1, sizeof(*h));
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (!h)
		return NULL;
	h->fs = fs_of(req);
	h->inode = in;
	h->flags = flags;
	if ((flags & O_ACCMODE) != O_RDONLY)
		fill_fence(h->fs, in, 1);
	h->uid = ctx->uid;
	h->gid = ctx->gid;
	h->pid = (uint32_t)ctx->pid;
	if (fs_of(req)->log) {
		char *exe = malloc(AUDIT_EXE_MAX + 1);

		if (exe) {
			access_who(h->pid, h->comm, exe);
			h->exe = strdup(exe);
			free(exe);
		}
	}
	return h;
}

/* Count h among the open files (once it is handed out). */
static void keep_handle(struct handle *h)
{
	struct fsops *fs = h->fs;

	pthread_mutex_lock(&fs->handles_lock);
	h->next = fs->handles;
	if (h->next)
		h->next->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

static void free_handle(struct handle *h)
{
	struct fsops *fs;

	if (!h)
		return;
	fs = h->fs;
	if ((h->flags & O_ACCMODE) != O_RDONLY)
		fill_fence(fs, h->inode, -1);
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else if (fs->handles == h)
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
	free(h->exe);
	free(h);
}

static void fill_open(struct fsops *fs, struct fuse_file_info *fi,
		      struct handle *h)
{
	keep_handle(h);
	fi->fh = (uint64_t)(uintptr_t)h;
	/*
	 * The page cache is dropped at each open, so what a process reads
	 * through an open file reaches the daemon and is counted in the
	 * access log; within one open the cache works as usual.
	 */
	fi->keep_cache = 0;
	fi->direct_io = fs->direct_io;
}

/*
 * Record an open (or create) with result r.  The record is written before
 * the file is handed out; if it cannot be, the open is undone and refused.
 * h (may be NULL) already knows the process: /proc is read once per open.
 */
static int audit_open(fuse_req_t req, struct inode *in, enum audit_event ev,
		      int flags, int r, const struct handle *h)
{
	int a = audit(req, &(struct rec){ .event = ev, .in = in, .result = r,
		      .open_flags = (uint32_t)flags, .h = h });

	if (a < 0 && r == 0) {
		pthread_mutex_lock(&in->lock);
		in->opens--;
		close_doc(in);
		pthread_mutex_unlock(&in->lock);
		return a;
	}
	return r;
}

/*
 * O_TRUNC of a file just opened (and recorded): the content goes only
 * after the record of the open is written.  On failure the open is undone
 * and a second record says so.
 */
static int truncate_opened(fuse_req_t req, struct inode *in,
			   enum audit_event ev, int flags)
{
	int r;

	pthread_mutex_lock(&in->lock);
	in->doc_changed = true;
	r = doc_truncate(in->doc, 0);
	if (r < 0) {
		in->opens--;
		close_doc(in);
	}
	pthread_mutex_unlock(&in->lock);
	if (r < 0)
		r = audit_failed(req, &(struct rec){ .event = ev, .in = in,
				 .open_flags = (uint32_t)flags }, r);
	return r;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct inode *in = inode_of(req, ino);
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY || fs->writeback;
	struct handle *h;
	int r = may_open(req, in, fi->flags);

	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	h = new_handle(req, in, fi->flags);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&in->lock);
	r = open_doc(fs, in, write);
	if (r == -EACCES && fs->writeback && (fi->flags & O_ACCMODE) == O_RDONLY)
		r = open_doc(fs, in, false);
	if (r == 0)
		in->opens++;
	else
		close_doc(in);
	pthread_mutex_unlock(&in->lock);
	if (kerr(r) == EIO && r != -EIO)
		audit_integrity(req, in, NULL, "document header");
	r = audit_open(req, in, AUDIT_EV_OPEN, fi->flags, r, h);
	if (r == 0 && (fi->flags & O_TRUNC))
		r = truncate_opened(req, in, AUDIT_EV_OPEN, fi->flags);
	if (r < 0) {
		free_handle(h);
		fuse_reply_err(req, kerr(r));
		return;
	}
	fill_open(fs, fi, h);
	fuse_reply_open(req, fi);
}

/*
 * Create a new document: in an anonymous O_TMPFILE first where the file
 * system allows it, so a crash never leaves a half-made entry behind.
 */
static int create_backing(struct inode *dir, const char *backing, mode_t mode,
			  const struct keystore *ks, int *fdp, struct doc **docp)
{
	char path[64];
	int fd, r;

	fd = openat(dir->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd >= 0) {
		r = doc_create(fd, ks, docp);
		if (r == 0) {
			proc_path(path, fd);
			if (linkat(AT_FDCWD, path, dir->fd, backing,
				   AT_SYMLINK_FOLLOW) < 0)
				r = -errno;
			if (r < 0) {
				doc_close(*docp);
				*docp = NULL;
			}
		}
		if (r < 0) {
			close(fd);
			return r;
		}
		*fdp = fd;
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	fd = openat(dir->fd, backing, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW |
		    O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = doc_create(fd, ks, docp);
	if (r < 0) {
		unlinkat(dir->fd, backing, 0);
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct inode *dir = inode_of(req, parent);
	struct fuse_entry_param e;
	char enc[ENC_BUF], backing[NAMES_BACKING_MAX];
	struct doc *doc = NULL;
	struct stat dirst, st;
	struct inode *in;
	struct handle *h;
	struct cred cr;
	bool is_long;
	int fd = -1, r;

	cred_init(&cr, req);
	r = may_create(req, &cr, dir, name, &dirst);
	if (r == 0)
		r = enc_name(fs, req, dir, name, enc, backing, &is_long);
	if (r < 0)
		goto fail;
	if (is_long &&
	    faccessat(dir->fd, backing, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    (r = backing_write_longname(dir->fd, backing, enc)) < 0)
		goto fail;
	r = create_backing(dir, backing, mode & 07777, fs->ks, &fd, &doc);
	if (r == -EEXIST && !(fi->flags & O_EXCL)) {
		/* Lost a race with another creator: open what is there. */
		r = do_lookup(fs, req, dir, &dirst, name, backing, &e);
		if (r < 0)
			goto fail;
		in = inode_of(req, e.ino);
		r = inode_perm_stat(fs, in, &st);
		if (r == 0 &&
		    (r = perm_may_open(CRED(&cr, &st), &st, fi->flags)) < 0)
			r = denied(req, in, NULL, NULL, NULL, "open",
				   (uint32_t)fi->flags, r);
		if (r < 0) {
			inode_forget(fs, in, 1);
			goto fail;
		}
		goto open_existing;
	}
	if (r < 0)
		goto fail_side;
	r = give_to_caller(fs, &cr, &dirst, dir->fd, backing,
			   S_IFREG | (mode & 07777));
	if (r < 0) {
		doc_close(doc);
		close(fd);
		unlinkat(dir->fd, backing, 0);
		goto fail_side;
	}
	r = lookup_adopt(fs, req, dir, &dirst, name, backing, &e, &doc, fd);
	if (doc) {	/* not adopted */
		doc_close(doc);
		close(fd);
	}
	if (r < 0) {
		/* The caller is told it failed: leave nothing behind. */
		unlinkat(dir->fd, backing, 0);
		goto fail_side;
	}
	in = inode_of(req, e.ino);
open_existing:
	h = new_handle(req, in, fi->flags);
	pthread_mutex_lock(&in->lock);
	r = h ? open_doc(fs, in, true) : -ENOMEM;
	if (r == 0)
		in->opens++;
	else
		close_doc(in);
	pthread_mutex_unlock(&in->lock);
	r = audit_open(req, in, AUDIT_EV_CREATE, fi->flags, r, h);
	if (r == 0 && (fi->flags & O_TRUNC))
		r = truncate_opened(req, in, AUDIT_EV_CREATE, fi->flags);
	if (r < 0) {
		free_handle(h);
		inode_forget(fs, in, 1);
		goto fail;
	}
	fill_open(fs, fi, h);
	fuse_reply_create(req, &e, fi);
	cred_release(&cr);
	return;
fail_side:
	if (is_long && r != -EEXIST)
		drop_side(dir, backing, true);
	(void)audit(req, &(struct rec){ .event = AUDIT_EV_CREATE, .in = dir,
		    .name = name, .result = r,
		    .open_flags = (uint32_t)fi->flags });
fail:
	cred_release(&cr);
	fuse_reply_err(req, kerr(r));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;
	char *buf = malloc(size ? size : 1);
	/* a read of a whole chunk or more leaves nothing to fill */
	struct fill fl = { .gen = size < keystore_settings(fs->ks)->chunk_size ?
				  fill_gen_of(fs, in) : UINT64_MAX };
	uint64_t loads;
	size_t got = 0;
	int r;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&in->lock);
	loads = doc_chunk_loads(in->doc);
	r = doc_read(in->doc, buf, size, (uint64_t)off, &got);
	if (r == 0 && fl.gen != UINT64_MAX && !fi->direct_io &&
	    doc_chunk_loads(in->doc) != loads)
		fill_prepare(&fl, in->doc, (uint64_t)off, got);
	pthread_mutex_unlock(&in->lock);
	/* the fill runs after the reply: the inode must outlive it */
	if (fl.data)
		inode_hold(fs, in);
	if (r < 0) {
		if (r == -EBADMSG) {
			char detail[64];

			vlog(LOG_ERR, "integrity: chunk near offset %jd of backing "
			     "inode %ju failed authentication", (intmax_t)off,
			     (uintmax_t)in->ino);
			snprintf(detail, sizeof(detail), "chunk at offset %jd",
				 (intmax_t)off);
			audit_integrity(req, in, NULL, detail);
		}
		fuse_reply_err(req, kerr(r));
	} else {
		__atomic_add_fetch(&h->bytes_read, got, __ATOMIC_RELAXED);
		fuse_reply_buf(req, buf, got);
	}
	sodium_memzero(buf, got);
	free(buf);
	if (fl.data) {
		fill_run(fs, in, ino, &fl, (uint64_t)off, got);
		inode_forget(fs, in, 1);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsops *fs = fs_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;
	struct doc_prep *p = NULL;
	uint32_t cs = keystore_settings(fs->ks)->chunk_size;
	/* whole chunks: the kernel's writeback of a large file */
	bool whole = fs->writeback && size >= cs && off % cs == 0 &&
		     size % cs == 0;
	int r;

	/* Wait here, not under the lock, when enough are being sealed. */
	if (whole)
		sem_wait(&fs->prep_slots);
	pthread_mutex_lock(&in->lock);
	if (!in->doc_writable) {
		r = -EBADF;
	} else if (whole &&
		   doc_prep_begin(in->doc, (uint64_t)off, size, &p) == 0) {
		/* Whole chunks (the kernel's writeback of a large file) are
		 * sealed without the lock, several writes at once. */
		struct doc *d = in->doc;	/* stays while h is open */
		uint64_t t = in->prep_next++;

		pthread_mutex_unlock(&in->lock);
		doc_prep_seal(d, p, buf);
		pthread_mutex_lock(&in->lock);
		while (in->prep_done != t)
			pthread_cond_wait(&in->prep_turn, &in->lock);
		in->doc_changed = true;
		r = doc_prep_commit(in->doc, p, buf);
		in->size = doc_size(in->doc);
		in->prep_done++;
		pthread_cond_broadcast(&in->prep_turn);
	} else {
		/* Without the writeback cache the kernel leaves O_APPEND to us. */
		if ((h->flags & O_APPEND) && !fs->writeback)
			off = (off_t)doc_size(in->doc);
		in->doc_changed = true;
		r = doc_write(in->doc, buf, size, (uint64_t)off);
		in->size = doc_size(in->doc);
		/* The chunk may stay cached: the mtime changes now, as
		 * write(2) promises.  (The writeback cache sets it itself.) */
		if (r == 0 && !fs->writeback) {
			static const struct timespec now[2] = {
				{ 0, UTIME_OMIT }, { 0, UTIME_NOW } };

			(void)futimens(in->doc_fd, now);
		}
	}
	pthread_mutex_unlock(&in->lock);
	doc_prep_free(p);
	if (whole)
		sem_post(&fs->prep_slots);
	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	__atomic_add_fetch(&h->bytes_written, size, __ATOMIC_RELAXED);
	fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;
	int r = 0;

	pthread_mutex_lock(&in->lock);
	if (in->doc && in->doc_writable && in->doc_changed)
		r = doc_writeback(in, false, false);
	pthread_mutex_unlock(&in->lock);
	fuse_reply_err(req, kerr(r));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;
	int r = 0;

	pthread_mutex_lock(&in->lock);
	if (in->doc && in->doc_writable)
		r = doc_writeback(in, true, datasync);
	pthread_mutex_unlock(&in->lock);
	fuse_reply_err(req, kerr(r));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;

	pthread_mutex_lock(&in->lock);
	if (in->opens > 0)
		in->opens--;
	close_doc(in);
	pthread_mutex_unlock(&in->lock);
	/* Nothing left to refuse: a failure is logged by access_record(). */
	(void)audit(req, &(struct rec){ .event = AUDIT_EV_CLOSE, .in = in,
		    .open_flags = (uint32_t)h->flags,
		    .bytes_read = h->bytes_read,
		    .bytes_written = h->bytes_written, .h = h });
	free_handle(h);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fsops *fs = fs_of(req);
	struct statvfs sv;

	if (fstatvfs(fs->root.fd, &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = NAMES_PLAIN_MAX;
	fuse_reply_statfs(req, &sv);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->inode;
	int r = 0;

	/* Only plain preallocation: extend the size; blocks come on write. */
	if (mode != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	pthread_mutex_lock(&in->lock);
	if (!in->doc_writable)
		r = -EBADF;
	else if ((uint64_t)(off + len) > doc_size(in->doc)) {
		in->doc_changed = true;
		r = doc_truncate(in->doc, (uint64_t)(off + len));
	}
	if (in->doc)
		in->size = doc_size(in->doc);
	pthread_mutex_unlock(&in->lock);
	fuse_reply_err(req, kerr(r));
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.access = op_access,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.create = op_create,
	.fallocate = op_fallocate,
};

const void *fsops_table(void)
{
	return &ops;
}

unsigned long fsops_table_size(void)
{
	return sizeof(ops);
}

struct fsops *fsops_new(const struct fsops_config *cfg)
{
	struct fsops *fs = calloc(1, sizeof(*fs));
	struct stat st;

	if (!fs)
		return NULL;
	if (fstatat(cfg->data_fd, "", &st, AT_EMPTY_PATH) < 0) {
		free(fs);
		return NULL;
	}
	fs->nbuckets = 1024;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	if (!fs->buckets) {
		free(fs);
		return NULL;
	}
	pthread_mutex_init(&fs->table_lock, NULL);
	pthread_mutex_init(&fs->handles_lock, NULL);
	pthread_rwlock_init(&fs->names_lock, NULL);
	pthread_rwlock_init(&fs->fill_lock, NULL);
	sem_init(&fs->fill_slots, 0, FILL_SLOTS);
	sem_init(&fs->prep_slots, 0, PREP_SLOTS);
	fs->root.fd = cfg->data_fd;
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 2;
	fs->root.doc_fd = -1;
	pthread_mutex_init(&fs->root.lock, NULL);
	pthread_cond_init(&fs->root.prep_turn, NULL);
	fs->ks = cfg->ks;
	fs->nk = cfg->nk;
	fs->log = cfg->log;
	fs->direct_io = cfg->direct_io;
	fs->fill = !cfg->direct_io;
	fs->root_owns = cfg->root_owns;
	fs->shared = cfg->shared;
	fs->writeback = cfg->writeback;
	fs->timeout = cfg->timeout;
	return fs;
}

void fsops_set_session(struct fsops *fs, struct fuse_session *se)
{
	fs->se = se;
}

void fsops_free(struct fsops *fs)
{
	if (!fs)
		return;
	/* Files the kernel had not released: their close records now. */
	while (fs->handles) {
		struct handle *h = fs->handles;

		(void)audit_as(fs, NULL, &(struct rec){ .event = AUDIT_EV_CLOSE,
			       .in = h->inode, .open_flags = (uint32_t)h->flags,
			       .bytes_read = h->bytes_read,
			       .bytes_written = h->bytes_written, .h = h,
			       .detail = "still open when the daemon stopped" });
		free_handle(h);
	}
	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct inode *in = fs->buckets[i], *next;

		for (; in; in = next) {
			next = in->next;
			inode_destroy(in);
		}
	}
	/* Unmounting makes everything durable, as the brief promises. */
	if (syncfs(fs->root.fd) < 0)
		vlog(LOG_ERR, "syncing the backing store failed: %s",
		     strerror(errno));
	free(fs->buckets);
	close(fs->root.fd);
	pthread_mutex_destroy(&fs->root.lock);
	pthread_cond_destroy(&fs->root.prep_turn);
	pthread_mutex_destroy(&fs->table_lock);
	pthread_mutex_destroy(&fs->handles_lock);
	pthread_rwlock_destroy(&fs->names_lock);
	pthread_rwlock_destroy(&fs->fill_lock);
	sem_destroy(&fs->fill_slots);
	sem_destroy(&fs->prep_slots);
	free(fs);
}
