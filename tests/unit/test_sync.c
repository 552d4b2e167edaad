/*
 * test_sync.c — what Gs wait on besides channels, through the public API:
 * gort_park_unlock (no wake-up lost, gort_ready never fails after the
 * unlock), gort_mutex (mutual exclusion, trylock, the unlock-of-unlocked
 * report, starvation mode handing the lock over), gort_waitgroup (waits
 * for every Done, misuse reported), and gort_sleep with its timers (order,
 * the virtual clock of step mode, many sleepers in threaded mode).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../support/gort_test.h"

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

TestSuite(sync, .timeout = 180);

/* ------------------------------------------------ park with unlock */

/* A one-slot mailbox guarded by a spin lock: the waiter publishes its id
 * under the lock and parks with the lock as its unlock; the waker takes
 * the lock, finds the id, and readies it. */
enum { ROUNDS = 20000 };
static uint32_t box_lock;
static int64_t box_waiter;
static long ready_failures, wakeups;

static void spin_lock(uint32_t *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		;
}

static void spin_unlock(void *l)
{
	__atomic_store_n((uint32_t *)l, 0, __ATOMIC_RELEASE);
}

static void parker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		spin_lock(&box_lock);
		box_waiter = gort_self();
		gort_park_unlock("mailbox", spin_unlock, &box_lock);
		ADD(&wakeups, 1);
	}
}

static void waker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS;) {
		spin_lock(&box_lock);
		int64_t w = box_waiter;
		box_waiter = 0;
		spin_unlock(&box_lock);
		if (w == 0) {
			gort_yield();
			continue;
		}
		if (gort_ready(w) != 0)
			ADD(&ready_failures, 1);
		i++;
	}
}

static void park_unlock_round_trips(int threaded)
{
	gt_start(threaded, 2);
	ready_failures = wakeups = 0;
	box_waiter = 0;
	gort_go(parker, NULL);
	gort_go(waker, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(ready_failures, 0, "gort_ready failed after the unlock");
	cr_assert_eq(wakeups, ROUNDS);
	gt_finish();
}

Test(sync, park_unlock_never_loses_a_wakeup_step) { park_unlock_round_trips(0); }
Test(sync, park_unlock_never_loses_a_wakeup_threaded) { park_unlock_round_trips(1); }

/* ------------------------------------------------ mutex */

enum { LOCKERS = 8, INCREMENTS = 3000 };
static gort_mutex mu = GORT_MUTEX_INIT;
static long counter, inside, overlaps;

static void locker(void *arg)
{
	(void)arg;
	for (int i = 0; i < INCREMENTS; i++) {
		gort_mutex_lock(&mu);
		if (ADD(&inside, 1) != 1)
			ADD(&overlaps, 1);
		long c = counter;
		if (i % 16 == 0)
			gort_yield(); /* hold it across a switch */
		counter = c + 1;
		ADD(&inside, -1);
		gort_mutex_unlock(&mu);
	}
}

static void mutual_exclusion(int threaded)
{
	gt_start(threaded, 4);
	mu = (gort_mutex)GORT_MUTEX_INIT;
	counter = inside = overlaps = 0;
	for (int i = 0; i < LOCKERS; i++)
		gort_go(locker, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(overlaps, 0);
	cr_assert_eq(counter, LOCKERS * INCREMENTS);
	cr_assert_eq(mu.state, 0, "unlocked, no waiters");
	gt_finish();
}

Test(sync, the_mutex_excludes_step) { mutual_exclusion(0); }
Test(sync, the_mutex_excludes_threaded) { mutual_exclusion(1); }

Test(sync, trylock_and_unlock_of_an_unlocked_mutex)
{
	gt_start(0, 1);
	gort_mutex m = GORT_MUTEX_INIT;
	cr_assert_eq(gort_mutex_trylock(&m), 1);
	cr_assert_eq(gort_mutex_trylock(&m), 0);
	gort_mutex_unlock(&m);
	cr_assert_eq(gt_reports(), 0);
	gort_mutex_unlock(&m);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_UNLOCK_OF_UNLOCKED);
	cr_assert_eq(gt_rec.address, (uintptr_t)&m);
	cr_assert_eq(m.state, 0, "the state is left as it was");
	cr_assert_eq(gort_mutex_trylock(&m), 1);
	gort_mutex_unlock(&m);
	gt_reset_reports();
	gt_finish();
}

/* A G parked on a mutex when the runtime shuts down leaves nothing in the
 * semaphore table for the next runtime to trip over. */
static gort_mutex held = GORT_MUTEX_INIT;
static void blocked_locker(void *arg)
{
	(void)arg;
	gort_mutex_lock(&held);
}

Test(sync, shutdown_forgets_the_waiters_of_a_semaphore)
{
	gt_start(0, 1);
	held = (gort_mutex)GORT_MUTEX_INIT;
	gort_mutex_lock(&held);
	gort_go(blocked_locker, NULL);
	cr_assert_eq(gort_run(), 1, "the locker parks on the held mutex");
	gort_shutdown();
	gt_start(0, 1);
	gt_finish(); /* gort_check walks the semaphore table */
}

/* Starvation: a holder that sleeps 2 ms with the lock and relocks at once
 * would win every time against a woken waiter (it is running); once the
 * waiter has waited over 1 ms the mutex hands the lock to it instead. */
static int order[16], norder;

static void greedy(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++) {
		gort_mutex_lock(&mu);
		order[norder++] = 1;
		gort_sleep(2000000);
		gort_mutex_unlock(&mu);
	}
}

static void patient(void *arg)
{
	(void)arg;
	gort_mutex_lock(&mu);
	order[norder++] = 2;
	gort_mutex_unlock(&mu);
}

Test(sync, a_waiter_past_one_millisecond_gets_the_lock_handed_over)
{
	gt_start(0, 1);
	mu = (gort_mutex)GORT_MUTEX_INIT;
	norder = 0;
	gort_go(greedy, NULL);
	cr_assert_eq(gort_step(), 1); /* greedy holds it, sleeps */
	gort_go(patient, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(norder, 5);
	int at = -1;
	for (int i = 0; i < norder; i++)
		if (order[i] == 2)
			at = i;
	cr_assert(at >= 1 && at <= 2, "the patient G got the lock at turn %d of 5", at);
	cr_assert_eq(mu.state, 0);
	gt_finish();
}

/* ------------------------------------------------ wait group */

enum { WORKERS = 50 };
static gort_waitgroup wg;
static long done_before_wait, finished;

static void worker(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n % 7; i++)
		gort_yield();
	ADD(&finished, 1);
	gort_wg_done(&wg);
}

static void waiter_g(void *arg)
{
	(void)arg;
	gort_wg_wait(&wg);
	done_before_wait = LD(&finished);
}

static void wait_for_all(int threaded)
{
	gt_start(threaded, 4);
	wg = (gort_waitgroup){0};
	finished = done_before_wait = 0;
	gort_wg_add(&wg, WORKERS);
	gort_go(waiter_g, NULL);
	for (long i = 0; i < WORKERS; i++)
		gort_go(worker, (void *)i);
	gort_wg_wait(&wg); /* the main thread too, outside any G */
	cr_assert_eq(LD(&finished), WORKERS);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(done_before_wait, WORKERS);
	cr_assert_eq(wg.state, 0);
	gt_finish();
}

Test(sync, wait_returns_after_every_done_step) { wait_for_all(0); }
Test(sync, wait_returns_after_every_done_threaded) { wait_for_all(1); }

Test(sync, a_negative_counter_is_reported)
{
	gt_start(0, 1);
	gort_waitgroup w = {0};
	gort_wg_add(&w, 1);
	gort_wg_done(&w);
	cr_assert_eq(gt_reports(), 0);
	gort_wg_done(&w);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_WAITGROUP_MISUSE);
	cr_assert(strstr(gt_rec.message, "negative WaitGroup counter"), "%s", gt_rec.message);
	cr_assert_eq(w.state, 0, "the counter stays at zero");
	gort_wg_wait(&w); /* returns at once */
	gt_reset_reports();
	gt_finish();
}

/* ------------------------------------------------ sleep */

static int64_t woke_at[8];
static int wake_order[8], nwoke;

static void sleeper(void *arg)
{
	long sec = (long)arg; /* seconds: a real sleep would show */
	gort_sleep(sec * 1000000000LL);
	woke_at[sec] = gort_now();
	wake_order[nwoke++] = (int)sec;
}

Test(sync, sleepers_wake_in_time_order_on_the_virtual_clock)
{
	gt_start(0, 2);
	nwoke = 0;
	int64_t t0 = gort_now();
	long sec[] = {5, 1, 3, 4, 2};
	for (int i = 0; i < 5; i++)
		gort_go(sleeper, (void *)sec[i]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(gort_run(), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_eq(nwoke, 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(wake_order[i], i + 1);
		cr_assert_eq(woke_at[i + 1] - t0, (i + 1) * 1000000000LL, "woke at the virtual instant");
	}
	double real = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert(real < 2.5, "step mode does not sleep for real (%.1f s of 15)", real);
	gt_finish();
}

enum { MANY = 2000 };
static long many_woke, early;

static void nap(void *arg)
{
	int64_t ns = (int64_t)(long)arg;
	int64_t t = gort_now();
	gort_sleep(ns);
	if (gort_now() - t < ns)
		ADD(&early, 1);
	ADD(&many_woke, 1);
}

Test(sync, many_sleepers_threaded)
{
	gt_start(1, 2);
	many_woke = early = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < MANY; i++)
		gort_go(nap, (void *)(10000000L + (i % 10) * 1000000L));
	cr_assert_eq(gort_run(), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double real = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert_eq(many_woke, MANY);
	cr_assert_eq(early, 0, "a sleep ended before its time");
	cr_assert(real >= 0.019, "the longest sleep is 19 ms (%.4f s)", real);
	cr_assert(real < 5, "%.3f s", real);
	gt_finish();
}

Test(sync, sleep_outside_a_g_sleeps_the_thread)
{
	gt_start(0, 1);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	gort_sleep(3000000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double real = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert(real >= 0.003, "%.4f", real);
	gt_finish();
}

static void sleep_forever_ish(void *arg)
{
	(void)arg;
	gort_sleep(50000000);
}

Test(sync, a_pending_timer_is_not_a_deadlock_threaded)
{
	gt_start(1, 2);
	gort_go(sleep_forever_ish, NULL);
	cr_assert_eq(gort_run(), 0, "run waits for the sleeper");
	cr_assert_eq(gt_reports(), 0);
	gt_finish();
}
