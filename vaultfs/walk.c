/*
 * walk.c - see walk.h.  Extracted from vaultctl fsck so that fsck, rotate
 * and keys sort backing entries the same way.
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backing.h"
#include "names.h"
#include "seal.h"

struct walk {
	const struct names_key *nk;
	const struct walk_ops *ops;
	void *arg;
};

static void damage(struct walk *w, const char *path, const char *bpath,
		   const char *what)
{
	if (w->ops->damage)
		w->ops->damage(path, bpath, what, w->arg);
}

static void warning(struct walk *w, const char *path, const char *bpath,
		    const char *what)
{
	if (w->ops->warning)
		w->ops->warning(path, bpath, what, w->arg);
}

/* "parent/name", or "/name" under the root "/"; NULL when out of memory. */
static char *join(const char *parent, const char *name)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "",
		     name) < 0)
		return NULL;
	return s;
}

/* Wipe a string that may hold plaintext names, then free it. */
static void free_path(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* Is there an entry "@hash" for side file "@hash.name"? */
static bool side_has_entry(int dirfd, const char *side)
{
	char entry[NAMES_BACKING_MAX];
	size_t n = strlen(side) - strlen(NAMES_LONG_SUFFIX);

	if (n >= sizeof(entry))
		return false;
	memcpy(entry, side, n);
	entry[n] = '\0';
	return faccessat(dirfd, entry, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *path,
		    const char *bpath, const struct stat *st);

/* Decrypt the name of entry name in dirfd (dir id id, NULL if unknown). */
static int entry_name(struct walk *w, int dirfd, const uint8_t *id,
		      const char *name, enum names_kind kind,
		      char plain[NAMES_PLAIN_MAX + 1])
{
	char enc[NAMES_ENC_MAX];
	size_t len, enclen;
	int r;

	if (!id)
		return -EBADMSG;
	if (kind == NAMES_ENTRY)
		return names_decrypt(w->nk, id, name, strlen(name), plain, &len);
	r = backing_read_longname(dirfd, name, enc, &enclen);
	if (r == 0)
		r = names_decrypt(w->nk, id, enc, enclen, plain, &len);
	return r;
}

static int visit(struct walk *w, int dirfd, const uint8_t *id,
		 const char *name, const char *path, const char *bpath)
{
	char plain[NAMES_PLAIN_MAX + 1];
	char *cpath = NULL, *cbpath = NULL;
	enum names_kind kind = names_classify(name);
	struct walk_entry e;
	struct stat st;
	int r = 0;

	cbpath = join(bpath, name);
	if (!cbpath)
		return -ENOMEM;
	e.dirfd = dirfd;
	e.name = name;
	e.bpath = cbpath;
	e.path = path;
	switch (kind) {
	case NAMES_ENTRY:
	case NAMES_LONG:
		break;
	case NAMES_LONG_SIDE:
		if (!side_has_entry(dirfd, name))
			warning(w, path, cbpath, "long-name file without its "
				"entry (left by a crash; safe to delete)");
		goto out;
	case NAMES_RESERVED:
		if (!strcmp(name, NAMES_DIRID_FILE))
			goto out;
		if (w->ops->reserved) {
			if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				goto out;	/* gone meanwhile */
			e.st = &st;
			r = w->ops->reserved(&e, w->arg);
			if (r != 0)
				goto out;
		}
		warning(w, path, cbpath, "temporary entry left by a crash "
			"(safe to delete)");
		goto out;
	case NAMES_FOREIGN:
		warning(w, path, cbpath, "entry not made by vaultfs; not "
			"visible through the mount");
		goto out;
	}
	if (w->nk) {
		if (entry_name(w, dirfd, id, name, kind, plain) < 0) {
			damage(w, path, cbpath, "name failed authentication "
			       "(entry hidden when mounted)");
			strcpy(plain, "?");
		}
		cpath = join(path, plain);
		sodium_memzero(plain, sizeof(plain));
		if (!cpath) {
			r = -ENOMEM;
			goto out;
		}
	}
	e.path = cpath;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		damage(w, cpath, cbpath, strerror(errno));
		goto out;
	}
	e.st = &st;
	if (S_ISDIR(st.st_mode)) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0) {
			damage(w, cpath, cbpath, strerror(errno));
			goto out;
		}
		r = walk_dir(w, sub, cpath, cbpath, &st);
		close(sub);
	} else if (w->ops->entry) {
		r = w->ops->entry(&e, w->arg);
	}
out:
	free_path(cpath);
	free(cbpath);
	return r < 0 ? r : 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *path,
		    const char *bpath, const struct stat *st)
{
	uint8_t id[NAMES_DIRID_BYTES];
	bool have_id = false;
	struct walk_entry e = { dirfd, ".", path, bpath, st };
	struct dirent *de;
	DIR *dp;
	int fd, r = 0;

	if (w->ops->dir) {
		r = w->ops->dir(&e, w->arg);
		if (r < 0)
			return r;
	}
	if (w->nk) {
		have_id = backing_read_dirid(dirfd, id) == 0;
		if (!have_id)
			damage(w, path, bpath, "directory id missing or "
			       "damaged: no entry in it can be named");
	}
	/*
	 * A new open file description, not dup(): that would share the
	 * directory offset, and a second walk from the same dirfd would
	 * start where the first one ended.
	 */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		damage(w, path, bpath, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (r == 0) {
		errno = 0;
		de = readdir(dp);
		if (!de) {
			if (errno)
				damage(w, path, bpath, strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = visit(w, dirfd, have_id ? id : NULL, de->d_name, path,
			  bpath);
	}
	closedir(dp);
	return r;
}

int walk_vault(int data_fd, const char *bpath, const struct names_key *nk,
	       const struct walk_ops *ops, void *arg)
{
	struct walk w = { nk, ops, arg };
	struct stat st;

	if (fstat(data_fd, &st) < 0) {
		damage(&w, nk ? "/" : NULL, bpath, strerror(errno));
		return 0;
	}
	return walk_dir(&w, data_fd, nk ? "/" : NULL, bpath, &st);
}
