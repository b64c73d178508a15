/*
 * workers.h - run independent pieces of one job on all CPUs.
 *
 * Sealing the chunks of a large write is independent work; on a machine
 * with several cores one writer should not be limited to one.  The pool
 * has one thread per CPU beyond the first, started on first use; the
 * calling thread works too, so the call returns when all pieces are done.
 * Several callers may use the pool at once.  Thread-safe.
 */
#ifndef VAULTFS_WORKERS_H
#define VAULTFS_WORKERS_H

#include <stddef.h>

/*
 * Call fn(arg, i) for every i in [0, n), in any order and on any threads,
 * and return once all calls have returned.  Without pool threads (one CPU,
 * or they could not be started) everything runs in the caller.
 */
void workers_run(size_t n, void (*fn)(void *arg, size_t i), void *arg)
	__attribute__((nonnull(2)));

#endif
