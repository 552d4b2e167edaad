/*
 * test_wait_regress.c — regressions found by fuzz_sched's model of the
 * blocking primitives (fuzz/wait_model.h), one test each, step mode: the
 * case the fuzzer found, reduced to the calls that show it.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "gort_inspect.h"
#include "../support/gort_test.h"

TestSuite(wait_regress, .timeout = 60);

static void nap(void *arg)
{
	(void)arg;
	gort_sleep(2000000);
}

/* The READY events since seq after, on which P, into ps; how many. */
static int ready_ps(uint64_t after, int32_t *ps, int max)
{
	gort_event ev[64];
	size_t n = gort_inspect_events(after, ev, 64);
	int k = 0;
	for (size_t i = 0; i < n && k < max; i++)
		if (ev[i].kind == GORT_EV_READY)
			ps[k++] = ev[i].p;
	return k;
}

/* A sleeping G's timer goes on the heap of the P it slept on, as Go's
 * resetForSleep: when it fires, the G is readied onto that P's runnext,
 * not always P 0's (the timer used to be armed on P 0, since the park's
 * unlock runs after the G has left its P). */
Test(wait_regress, a_sleep_timer_fires_on_the_p_the_g_slept_on)
{
	gt_start(0, 4);
	int64_t g = gort_go_p(2, nap, NULL);
	cr_assert_gt(g, 0);
	cr_assert_eq(gort_step_p(2), 1); /* it sleeps: parked, timer armed */
	uint64_t seq = gort_event_seq();
	cr_assert_eq(gort_step_p(2), 1); /* the clock jumps, the timer fires, it runs */
	int32_t ps[4];
	cr_assert_eq(ready_ps(seq, ps, 4), 1);
	cr_assert_eq(ps[0], 2, "readied on P%d, it slept on P 2", ps[0]);
	cr_assert_eq(gort_run(), 0);
	gt_finish();
}

static gort_mutex mu = GORT_MUTEX_INIT;
static int order[4], norder;

static void barger(void *arg)
{
	(void)arg;
	gort_mutex_lock(&mu);
	gort_yield(); /* the waiters queue up meanwhile */
	gort_mutex_unlock(&mu); /* wakes the first waiter ... */
	gort_mutex_lock(&mu);	/* ... and takes the lock before it runs */
	gort_yield();
	gort_mutex_unlock(&mu);
}

static void waiter(void *arg)
{
	gort_mutex_lock(&mu);
	order[norder++] = (int)(long)arg;
	gort_mutex_unlock(&mu);
}

/* Go's sync.Mutex: a woken waiter that loses to a newcomer goes back to
 * the head of the queue (semacquire with lifo), not the tail. It went to
 * the tail when its wait began at virtual time 0: the start time doubled
 * as "has waited before". */
Test(wait_regress, a_woken_waiter_that_loses_queues_first_at_time_zero)
{
	gt_start(0, 1);
	mu = (gort_mutex)GORT_MUTEX_INIT;
	norder = 0;
	cr_assert_eq(gort_now(), 0);
	cr_assert_gt(gort_go(barger, NULL), 0);
	cr_assert_eq(gort_step(), 1); /* locks, yields */
	cr_assert_gt(gort_go(waiter, (void *)1L), 0);
	cr_assert_eq(gort_step(), 1); /* waiter 1 queues */
	cr_assert_gt(gort_go(waiter, (void *)2L), 0);
	cr_assert_eq(gort_step(), 1); /* waiter 2 queues behind it */
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(norder, 2);
	cr_assert_eq(order[0], 1, "waiter %d got the lock first", order[0]);
	cr_assert_eq(order[1], 2);
	gt_finish();
}
