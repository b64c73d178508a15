/* dirpool.c - see dirpool.h. */
#include "dirpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backing.h"

struct waiting {
	char name[BACKING_TMP_NAME_MAX];
	uint8_t id[NAMES_DIRID_BYTES];
};

struct dirpool {
	int dirfd;
	size_t size;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t room;		/* a directory was taken, or stop */
	bool stop;			/* lock */
	bool stuck;			/* lock: the last make failed */
	size_t n;			/* lock: waiting, in w[0, n) */
	struct waiting w[DIRPOOL_MAX];
};

/*
 * Make directories while there is room.  After a failure (a full disk,
 * say) wait for the next take instead of retrying at once: mkdir then
 * makes its own and reports the error itself.
 */
static void *fill(void *arg)
{
	struct dirpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct waiting w;
		int r;

		while (!p->stop && (p->n == p->size || p->stuck))
			pthread_cond_wait(&p->room, &p->lock);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		r = backing_mkdir_tmp(p->dirfd, w.name, w.id);
		pthread_mutex_lock(&p->lock);
		if (r < 0)
			p->stuck = true;
		else if (p->stop)
			backing_rmdir_tmp(p->dirfd, w.name);
		else
			p->w[p->n++] = w;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

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
	p->size = size;
	p->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (p->dirfd < 0) {
		r = -errno;
		free(p);
		return r;
	}
	sweep(p->dirfd);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->room, NULL);
	r = -pthread_create(&p->thread, NULL, fill, p);
	if (r < 0) {
		pthread_cond_destroy(&p->room);
		pthread_mutex_destroy(&p->lock);
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
	int r;

	pthread_mutex_lock(&p->lock);
	p->stuck = false;
	if (p->n == 0) {
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		return -EAGAIN;
	}
	w = p->w[--p->n];
	pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->lock);

	r = backing_mkdir_place(p->dirfd, w.name, parent_fd, name, mode);
	if (r < 0)
		backing_rmdir_tmp(p->dirfd, w.name);
	else
		memcpy(dirid, w.id, NAMES_DIRID_BYTES);
	return r;
}

size_t dirpool_ready(struct dirpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void dirpool_close(struct dirpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	while (p->n > 0)
		backing_rmdir_tmp(p->dirfd, p->w[--p->n].name);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->lock);
	close(p->dirfd);
	free(p);
}
