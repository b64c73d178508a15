/* t-workers.c - every piece runs exactly once, also with many callers. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../tap.h"
#include "../../vaultfs/workers.h"

#define PIECES 1000

struct count {
	atomic_int hits[PIECES];
};

static void piece(void *arg, size_t i)
{
	struct count *c = arg;

	atomic_fetch_add(&c->hits[i], 1);
}

static int all_once(struct count *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&c->hits[i]) != 1)
			return 0;
	return 1;
}

static void *caller(void *arg)
{
	for (int k = 0; k < 50; k++) {
		struct count *c = arg;

		memset(c, 0, sizeof(*c));
		workers_run(PIECES, piece, c);
		if (!all_once(c, PIECES))
			return (void *)1;
	}
	return NULL;
}

int main(void)
{
	static struct count c, cs[4];
	pthread_t t[4];
	int bad = 0;

	workers_run(0, piece, &c);
	ok(1, "no pieces: returns");
	workers_run(1, piece, &c);
	is_int(atomic_load(&c.hits[0]), 1, "one piece runs once");
	memset(&c, 0, sizeof(c));
	workers_run(PIECES, piece, &c);
	ok(all_once(&c, PIECES), "%d pieces each run exactly once", PIECES);
	for (int k = 0; k < 4; k++)
		pthread_create(&t[k], NULL, caller, &cs[k]);
	for (int k = 0; k < 4; k++) {
		void *r;

		pthread_join(t[k], &r);
		bad |= r != NULL;
	}
	ok(!bad, "4 callers at once, 50 jobs each: every piece once");
	return done_testing();
}
