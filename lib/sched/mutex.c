/*
 * mutex.c — gort_mutex, Go's sync.Mutex: one word of state and a
 * semaphore (sema.c) that waiters sleep on.
 *
 * state: bit 0 locked, bit 1 woken (a waiter is awake and competing, so
 * unlock need not wake another), bit 2 starving, and the count of waiters
 * above them. Two modes, as Go's:
 *  - normal: waiters queue FIFO, but a woken waiter does not own the lock;
 *    it competes with Gs that arrive meanwhile (which are running and
 *    usually win). A loser goes back to the head of the queue. In threaded
 *    mode a G spins a little first while that can pay (several Ps busy,
 *    nothing else to run).
 *  - starving: entered when a waiter has waited more than 1 ms (on the
 *    scheduler's clock: virtual in step mode). Unlock hands the lock to the
 *    first waiter directly and yields to it; newcomers neither spin nor
 *    grab, they queue. The mode ends when the waiter that got the lock is
 *    the last, or waited less than 1 ms.
 *
 * Invariants: the waiter count never goes negative; woken is set by at
 * most one party at a time; while starving, unlock never leaves locked set
 * (ownership passes inside the semaphore).
 */
#include "sched/sched.h"
#include "sched/sema.h"
#include "sched/wait.h"

#include <errno.h>

#define S (gort_sched)

enum {
	MUTEX_LOCKED = 1,
	MUTEX_WOKEN = 2,
	MUTEX_STARVING = 4,
	MUTEX_WAITER_SHIFT = 3,
	MUTEX_WAITER = 1 << MUTEX_WAITER_SHIFT,
};
#define STARVATION_NS 1000000 /* Go's starvationThresholdNs */
#define SPIN_TRIES 4          /* Go's active_spin */
#define SPIN_PAUSES 30        /* Go's active_spin_cnt */

static int32_t load_state(gort_mutex *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_RELAXED);
}

static bool cas_state(gort_mutex *m, int32_t *old, int32_t new)
{
	return __atomic_compare_exchange_n(&m->state, old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

int gort_mutex_trylock(gort_mutex *m)
{
	int32_t old = load_state(m);
	if (old & (MUTEX_LOCKED | MUTEX_STARVING))
		return 0;
	return cas_state(m, &old, old | MUTEX_LOCKED);
}

static void spin_once(void)
{
	for (int i = 0; i < SPIN_PAUSES; i++)
		gort_cpu_relax();
}

/* The state a would-be owner tries to install, seeing old. */
static int32_t wanted_state(int32_t old, bool starving, bool awoke)
{
	int32_t new = old;
	if (!(old & MUTEX_STARVING))
		new |= MUTEX_LOCKED; /* in starvation mode the lock is handed, not taken */
	if (old & (MUTEX_LOCKED | MUTEX_STARVING))
		new += MUTEX_WAITER;
	if (starving && (old & MUTEX_LOCKED))
		new |= MUTEX_STARVING;
	if (awoke)
		new &= ~MUTEX_WOKEN; /* we were the woken one: we are not any more */
	return new;
}

/* Woken in starvation mode: the lock was handed to us. Fix the state up:
 * locked, one waiter fewer, and out of starvation mode if it is time. */
static void take_handed_lock(gort_mutex *m, int32_t old, bool starving)
{
	if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) || (old >> MUTEX_WAITER_SHIFT) == 0)
		gort_fatal("sync: inconsistent mutex state");
	int32_t delta = MUTEX_LOCKED - MUTEX_WAITER;
	if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
		delta -= MUTEX_STARVING;
	__atomic_add_fetch(&m->state, delta, __ATOMIC_ACQ_REL);
}

static void lock_slow(gort_mutex *m)
{
	int64_t wait_start = 0;
	/* Not wait_start != 0: step mode's clock starts at 0, and a waiter
	 * whose wait began then must still requeue first (Go's queueLifo). */
	bool waited = false, starving = false, awoke = false;
	int iter = 0;
	int32_t old = load_state(m);
	for (;;) {
		if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED &&
		    gort_sched_can_spin(iter, SPIN_TRIES)) {
			/* Tell unlock not to wake anyone: we are awake. */
			if (!awoke && !(old & MUTEX_WOKEN) && (old >> MUTEX_WAITER_SHIFT) &&
			    cas_state(m, &old, old | MUTEX_WOKEN))
				awoke = true;
			spin_once();
			iter++;
			old = load_state(m);
			continue;
		}
		int32_t new = wanted_state(old, starving, awoke);
		if (awoke && !(old & MUTEX_WOKEN))
			gort_fatal("sync: inconsistent mutex state");
		if (!cas_state(m, &old, new))
			continue; /* old reloaded by the failed CAS */
		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
			return; /* took it */
		bool again = waited;
		if (!waited) {
			waited = true;
			wait_start = gort_clock();
		}
		if (gort_semacquire(&m->sema, again, "sync.Mutex.Lock", m) != 0) {
			__atomic_sub_fetch(&m->state, MUTEX_WAITER, __ATOMIC_ACQ_REL);
			return; /* deadlock reported; returns without the lock */
		}
		starving = starving || gort_clock() - wait_start > STARVATION_NS;
		old = load_state(m);
		if (old & MUTEX_STARVING) {
			take_handed_lock(m, old, starving);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

void gort_mutex_lock(gort_mutex *m)
{
	int32_t zero = 0;
	if (cas_state(m, &zero, MUTEX_LOCKED))
		return;
	lock_slow(m);
}

static void unlock_slow(gort_mutex *m, int32_t new)
{
	if (!((new + MUTEX_LOCKED) & MUTEX_LOCKED)) {
		__atomic_add_fetch(&m->state, MUTEX_LOCKED, __ATOMIC_ACQ_REL); /* undo */
		gort_report(GORT_ERR_UNLOCK_OF_UNLOCKED, "mutex_unlock", (uintptr_t)m,
			    "sync: unlock of unlocked mutex");
		return;
	}
	if (new & MUTEX_STARVING) {
		gort_semrelease(&m->sema, true); /* hand it to the first waiter */
		return;
	}
	int32_t old = new;
	for (;;) {
		/* No waiters, or someone already has it, is awake, or it is
		 * being handed over: nobody to wake. */
		if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
		    (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
			return;
		if (cas_state(m, &old, (old - MUTEX_WAITER) | MUTEX_WOKEN)) {
			gort_semrelease(&m->sema, false);
			return;
		}
	}
}

void gort_mutex_unlock(gort_mutex *m)
{
	int32_t new = __atomic_sub_fetch(&m->state, MUTEX_LOCKED, __ATOMIC_ACQ_REL);
	if (new != 0)
		unlock_slow(m, new);
}
