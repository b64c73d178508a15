/* ahead.c - see ahead.h. */
#include "ahead.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ahead {
	const struct ahead_ops *ops;
	void *ctx;
	size_t size;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t room;		/* an item was taken, or stop */
	bool stop;			/* lock */
	bool stuck;			/* lock: the last make failed */
	size_t n;			/* lock: items waiting, first n */
	uint8_t *items;			/* size * ops->item_bytes */
	uint8_t *spare;			/* the thread's item being made */
};

static uint8_t *item_at(struct ahead *a, size_t i)
{
	return a->items + i * a->ops->item_bytes;
}

static void *fill(void *arg)
{
	struct ahead *a = arg;
	size_t sz = a->ops->item_bytes;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		int r;

		while (!a->stop && (a->n == a->size || a->stuck))
			pthread_cond_wait(&a->room, &a->lock);
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->lock);
		r = a->ops->make(a->ctx, a->spare);
		pthread_mutex_lock(&a->lock);
		if (r < 0) {
			a->stuck = true;
		} else if (a->stop) {
			a->ops->discard(a->ctx, a->spare);
		} else {
			memcpy(item_at(a, a->n), a->spare, sz);
			a->n++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int ahead_open(const struct ahead_ops *ops, void *ctx, size_t size,
	       struct ahead **out)
{
	struct ahead *a;
	int r;

	*out = NULL;
	if (size == 0 || size > AHEAD_MAX || ops->item_bytes == 0)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->items = calloc(size + 1, ops->item_bytes);
	if (!a->items) {
		free(a);
		return -ENOMEM;
	}
	a->spare = a->items + size * ops->item_bytes;
	a->ops = ops;
	a->ctx = ctx;
	a->size = size;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->room, NULL);
	r = -pthread_create(&a->thread, NULL, fill, a);
	if (r < 0) {
		pthread_cond_destroy(&a->room);
		pthread_mutex_destroy(&a->lock);
		free(a->items);
		free(a);
		return r;
	}
	*out = a;
	return 0;
}

int ahead_take(struct ahead *a, void *item)
{
	int r = -EAGAIN;

	pthread_mutex_lock(&a->lock);
	a->stuck = false;
	if (a->n > 0) {
		a->n--;
		memcpy(item, item_at(a, a->n), a->ops->item_bytes);
		r = 0;
	}
	pthread_cond_signal(&a->room);
	pthread_mutex_unlock(&a->lock);
	return r;
}

size_t ahead_ready(struct ahead *a)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void ahead_close(struct ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->room);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	while (a->n > 0)
		a->ops->discard(a->ctx, item_at(a, --a->n));
	pthread_cond_destroy(&a->room);
	pthread_mutex_destroy(&a->lock);
	free(a->items);
	free(a);
}
