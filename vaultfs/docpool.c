/* docpool.c - see docpool.h. */
#include "docpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "document.h"

struct waiting {
	int fd;
	struct doc *doc;
};

struct docpool {
	int dirfd;
	const struct keystore *ks;
	struct ahead *ahead;
};

static int make(void *ctx, void *item)
{
	struct docpool *p = ctx;
	struct waiting *w = item;
	int r;

	w->fd = openat(p->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return -errno;
	r = doc_create(w->fd, p->ks, &w->doc);
	if (r < 0)
		close(w->fd);
	return r;
}

static void discard(void *ctx, void *item)
{
	struct waiting *w = item;

	(void)ctx;
	(void)doc_close(w->doc);
	close(w->fd);
}

static const struct ahead_ops ops = {
	.item_bytes = sizeof(struct waiting),
	.make = make,
	.discard = discard,
};

int docpool_open(int dirfd, const struct keystore *ks, size_t size,
		 struct docpool **out)
{
	struct docpool *p;
	int r;

	*out = NULL;
	if (size == 0 || size > DOCPOOL_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ks = ks;
	p->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (p->dirfd < 0) {
		r = -errno;
		free(p);
		return r;
	}
	r = ahead_open(&ops, p, size, &p->ahead);
	if (r < 0) {
		close(p->dirfd);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

int docpool_take(struct docpool *p, int parent_fd, const char *name,
		 mode_t mode, int *fdp, struct doc **docp)
{
	struct waiting w;
	char path[32];
	int r = ahead_take(p->ahead, &w);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", w.fd);
	if (fchmod(w.fd, mode & 07777) < 0 ||
	    linkat(AT_FDCWD, path, parent_fd, name, AT_SYMLINK_FOLLOW) < 0) {
		r = -errno;
		discard(p, &w);
		return r;
	}
	*fdp = w.fd;
	*docp = w.doc;
	return 0;
}

size_t docpool_ready(struct docpool *p)
{
	return ahead_ready(p->ahead);
}

void docpool_close(struct docpool *p)
{
	if (!p)
		return;
	ahead_close(p->ahead);
	close(p->dirfd);
	free(p);
}
