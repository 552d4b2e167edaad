/*
 * waitgroup.c — gort_waitgroup, Go's sync.WaitGroup: one 64-bit word,
 * the counter in the high half and the number of waiters in the low, and
 * a semaphore the waiters sleep on.
 *
 * Add changes the counter; when it reaches zero with waiters, the adder
 * that brought it there resets the word to zero and releases the
 * semaphore once per waiter. Wait returns at once on a zero counter, else
 * counts itself in and sleeps. Go's misuse checks are kept, and reported
 * as GORT_ERR_WAITGROUP_MISUSE: a negative counter; an Add from zero
 * racing a Wait; a Wait still returning when the group is reused.
 *
 * Invariant: the word is zero whenever the counter is zero and every
 * waiter has been released.
 */
#include "sched/sched.h"
#include "sched/sema.h"
#include "sched/wait.h"

#include <errno.h>

#define S (gort_sched)

static void misuse(gort_waitgroup *wg, const char *op, const char *what)
{
	gort_report(GORT_ERR_WAITGROUP_MISUSE, op, (uintptr_t)wg, what);
}

static int32_t counter_of(uint64_t state)
{
	return (int32_t)(uint32_t)(state >> 32);
}

static uint32_t waiters_of(uint64_t state)
{
	return (uint32_t)state;
}

/* The counter reached zero with waiters: release every one of them. */
static void release_waiters(gort_waitgroup *wg, uint64_t state)
{
	/* Nobody may change the word now: Add from zero would race Wait,
	 * and Wait on zero returns without touching it. */
	if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != state) {
		misuse(wg, "wg_add", "sync: WaitGroup misuse: Add called concurrently with Wait");
		return;
	}
	__atomic_store_n(&wg->state, 0, __ATOMIC_RELEASE);
	for (uint32_t w = waiters_of(state); w > 0; w--)
		gort_semrelease(&wg->sema, false);
}

void gort_wg_add(gort_waitgroup *wg, long delta)
{
	if (delta < INT32_MIN || delta > INT32_MAX) {
		misuse(wg, "wg_add", "sync: WaitGroup delta out of range");
		return;
	}
	uint64_t d = (uint64_t)(int64_t)delta << 32;
	uint64_t state = __atomic_add_fetch(&wg->state, d, __ATOMIC_ACQ_REL);
	int32_t v = counter_of(state);
	uint32_t w = waiters_of(state);
	if (v < 0) {
		__atomic_sub_fetch(&wg->state, d, __ATOMIC_ACQ_REL); /* undo */
		misuse(wg, "wg_add", "sync: negative WaitGroup counter");
		return;
	}
	if (w != 0 && delta > 0 && v == (int32_t)delta) {
		misuse(wg, "wg_add", "sync: WaitGroup misuse: Add called concurrently with Wait");
		return;
	}
	if (v > 0 || w == 0)
		return;
	release_waiters(wg, state);
}

void gort_wg_done(gort_waitgroup *wg)
{
	gort_wg_add(wg, -1);
}

void gort_wg_wait(gort_waitgroup *wg)
{
	uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
	for (;;) {
		if (counter_of(state) == 0)
			return;
		if (!__atomic_compare_exchange_n(&wg->state, &state, state + 1, true,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		if (gort_semacquire(&wg->sema, false, "sync.WaitGroup.Wait", wg) != 0) {
			__atomic_sub_fetch(&wg->state, 1, __ATOMIC_ACQ_REL);
			return; /* deadlock reported */
		}
		if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != 0)
			misuse(wg, "wg_wait",
			       "sync: WaitGroup is reused before previous Wait has returned");
		return;
	}
}
