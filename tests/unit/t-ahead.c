/* t-ahead.c - things made ahead by a thread (vaultfs/ahead.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "../tap.h"
#include "../../vaultfs/ahead.h"

/* Items are serial numbers; made and discarded are counted. */
struct counter {
	pthread_mutex_t lock;
	int next, discarded;
	bool fail;
};

static int make(void *ctx, void *item)
{
	struct counter *c = ctx;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->fail)
		r = -ENOSPC;
	else
		*(int *)item = ++c->next;
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void discard(void *ctx, void *item)
{
	struct counter *c = ctx;

	(void)item;
	pthread_mutex_lock(&c->lock);
	c->discarded++;
	pthread_mutex_unlock(&c->lock);
}

static const struct ahead_ops ops = { sizeof(int), make, discard };

static int wait_ready(struct ahead *a, size_t n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000 && ahead_ready(a) < n; i++)
		nanosleep(&ms, NULL);
	return ahead_ready(a) == n;
}

int main(void)
{
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false };
	struct timespec pause = { 0, 50000000 };
	struct ahead *a = NULL;
	int item = 0, seen = 0;

	is_int(ahead_open(&ops, &c, 0, &a), -EINVAL, "size 0 refused");
	is_int(ahead_open(&ops, &c, AHEAD_MAX + 1, &a), -EINVAL,
	       "size above AHEAD_MAX refused");
	ok(a == NULL, "  and no pool");

	is_int(ahead_open(&ops, &c, 3, &a), 0, "open, size 3");
	ok(wait_ready(a, 3), "three made");
	nanosleep(&pause, NULL);
	is_int(c.next, 3, "  and no more");
	for (int k = 0; k < 6; k++) {
		if (k == 3 && !wait_ready(a, 3))
			break;
		if (ahead_take(a, &item) != 0 || item > 30 ||
		    (seen & (1 << item)))
			break;
		seen |= 1 << item;
	}
	is_int(__builtin_popcount((unsigned)seen), 6,
	       "six taken, none twice (items 0x%x)", (unsigned)seen);
	ok(wait_ready(a, 3), "  the pool fills again");

	/* a make that fails: takes drain the pool, then find none */
	pthread_mutex_lock(&c.lock);
	c.fail = true;
	pthread_mutex_unlock(&c.lock);
	for (int k = 0; k < 3; k++)
		is_int(ahead_take(a, &item), 0, "take %d of the waiting ones", k + 1);
	is_int(ahead_take(a, &item), -EAGAIN, "then none: -EAGAIN");
	nanosleep(&pause, NULL);
	is_int(ahead_ready(a), 0, "  and none made while making fails");

	/* making works again: the next take wakes the thread */
	pthread_mutex_lock(&c.lock);
	c.fail = false;
	pthread_mutex_unlock(&c.lock);
	is_int(ahead_take(a, &item), -EAGAIN, "a take after the failure");
	ok(wait_ready(a, 3), "  wakes the thread, which fills the pool");

	ahead_close(a);
	is_int(c.discarded, 3, "close discards the three waiting");
	ahead_close(NULL);
	return done_testing();
}
