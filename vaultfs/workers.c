/* workers.c - see workers.h. */
#include "workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_THREADS 16

struct job {
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n;
	size_t next;		/* next piece to hand out; lock */
	size_t done;		/* pieces finished; lock */
	struct job *link;	/* queue of jobs with pieces left */
	pthread_cond_t finished;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct job *queue;
static int nthreads;

/* Take the next piece of the first job with pieces left.  Lock held. */
static struct job *take(size_t *i)
{
	struct job *j = queue;

	if (!j)
		return NULL;
	*i = j->next++;
	if (j->next == j->n)
		queue = j->link;	/* handed out completely */
	return j;
}

static void finish(struct job *j)
{
	if (++j->done == j->n)
		pthread_cond_signal(&j->finished);
}

static void *worker(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct job *j;
		size_t i;

		while (!(j = take(&i)))
			pthread_cond_wait(&work, &lock);
		pthread_mutex_unlock(&lock);
		j->fn(j->arg, i);
		pthread_mutex_lock(&lock);
		finish(j);
	}
	return NULL;
}

static void start(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_attr_t attr;

	if (cpus <= 1 || pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long k = 1; k < cpus && k < MAX_THREADS; k++) {
		pthread_t t;

		if (pthread_create(&t, &attr, worker, NULL) != 0)
			break;
		nthreads++;
	}
	pthread_attr_destroy(&attr);
}

void workers_run(size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	struct job j = { .fn = fn, .arg = arg, .n = n };
	struct job **tail;

	pthread_once(&once, start);
	if (n == 0)
		return;
	if (n == 1 || nthreads == 0) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	pthread_cond_init(&j.finished, NULL);
	pthread_mutex_lock(&lock);
	for (tail = &queue; *tail; tail = &(*tail)->link)
		;
	*tail = &j;
	pthread_cond_broadcast(&work);
	/* Work on our own job until it is handed out, then wait for it. */
	while (j.next < j.n) {
		size_t i = j.next++;

		if (j.next == j.n) {
			for (tail = &queue; *tail != &j; tail = &(*tail)->link)
				;
			*tail = j.link;
		}
		pthread_mutex_unlock(&lock);
		fn(arg, i);
		pthread_mutex_lock(&lock);
		finish(&j);
	}
	while (j.done < j.n)
		pthread_cond_wait(&j.finished, &lock);
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&j.finished);
}
