/* dirpool.c - see dirpool.h. */
#include "dirpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahead.h"
#include "backing.h"

struct waiting {
	char name[BACKING_TMP_NAME_MAX];
	uint8_t id[NAMES_DIRID_BYTES];
};

struct dirpool {
	int dirfd;
	struct ahead *ahead;
};

static int make(void *ctx, void *item)
{
	struct dirpool *p = ctx;
	struct waiting *w = item;

	return backing_mkdir_tmp(p->dirfd, w->name, w->id);
}

static void discard(void *ctx, void *item)
{
	struct dirpool *p = ctx;
	struct waiting *w = item;

	backing_rmdir_tmp(p->dirfd, w->name);
}

static const struct ahead_ops ops = {
	.item_bytes = sizeof(struct waiting),
	.make = make,
	.discard = discard,
};

/* Remove reserved temporary directories a dead daemon left in dirfd. */
static void sweep(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t plen = strlen(NAMES_TMP_PREFIX);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, NAMES_TMP_PREFIX, plen) == 0 &&
		    e->d_type == DT_DIR)
			backing_rmdir_tmp(dirfd, e->d_name);
	closedir(d);
}

int dirpool_open(int dirfd, size_t size, struct dirpool **out)
{
	struct dirpool *p;
	int r;

	*out = NULL;
	if (size == 0 || size > DIRPOOL_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (p->dirfd < 0) {
		r = -errno;
		free(p);
		return r;
	}
	sweep(p->dirfd);
	r = ahead_open(&ops, p, size, &p->ahead);
	if (r < 0) {
		close(p->dirfd);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

int dirpool_take(struct dirpool *p, int parent_fd, const char *name,
		 mode_t mode, uint8_t dirid[NAMES_DIRID_BYTES])
{
	struct waiting w;
	int r = ahead_take(p->ahead, &w);

	if (r < 0)
		return r;
	r = backing_mkdir_place(p->dirfd, w.name, parent_fd, name, mode);
	if (r < 0)
		backing_rmdir_tmp(p->dirfd, w.name);
	else
		memcpy(dirid, w.id, NAMES_DIRID_BYTES);
	return r;
}

size_t dirpool_ready(struct dirpool *p)
{
	return ahead_ready(p->ahead);
}

void dirpool_close(struct dirpool *p)
{
	if (!p)
		return;
	ahead_close(p->ahead);
	close(p->dirfd);
	free(p);
}
