/*
 * lock.h — the runtime's mutex: one 32-bit word and a futex.
 *
 * Why not pthread_mutex_t: the allocator's locks must be taken all at once
 * around fork() and by whole-heap checks (over 70 of them), which sanitizer
 * deadlock detectors cannot track; the runtime needs no owner tracking or
 * attributes; and an uncontended lock here is one compare-and-swap.
 * Acquire/release atomics give ThreadSanitizer the happens-before edges.
 *
 * States: 0 unlocked, 1 locked, 2 locked with possible waiters.
 */
#ifndef GORT_OS_LOCK_H
#define GORT_OS_LOCK_H

#include <stdint.h>

#include "os/os.h"

typedef struct gort_lock {
	uint32_t v;
} gort_lock_t;

#define GORT_LOCK_INIT {0}

OS_HIDDEN void gort_lock_slow(gort_lock_t *l);
OS_HIDDEN void gort_unlock_slow(gort_lock_t *l);

static inline void gort_lock_init(gort_lock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELAXED);
}

static inline void gort_lock(gort_lock_t *l)
{
	uint32_t expect = 0;
	if (__builtin_expect(__atomic_compare_exchange_n(&l->v, &expect, 1, 0, __ATOMIC_ACQUIRE,
							 __ATOMIC_RELAXED),
			     1))
		return;
	gort_lock_slow(l);
}

static inline void gort_unlock(gort_lock_t *l)
{
	if (__builtin_expect(__atomic_exchange_n(&l->v, 0, __ATOMIC_RELEASE) == 2, 0))
		gort_unlock_slow(l);
}

#endif /* GORT_OS_LOCK_H */
