/*
 * test_threaded.c — threaded mode (gort_config.threaded = 1) through the
 * public API: Gs spawning and yielding across Ps run exactly once each;
 * park/ready ping-pong; gort_run returns only when every G has exited;
 * deadlock is reported once; a G blocked in a syscall lets other Gs use its
 * P; allocations on one P freed on another; gort_check() at quiescent
 * points (after gort_run returns).
 *
 * Gs run on the runtime's threads, where Criterion's asserts must not be
 * used: they record into atomics and the test's thread asserts.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../support/gort_test.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

static void start(unsigned procs)
{
	gort_config cfg = {.procs = procs, .arena_bytes = 256 * MiB, .threaded = 1};
	gt_init_config(&cfg);
	gt_record_errors();
}

static void finish(void)
{
	gt_expect_clean();
	gort_shutdown();
}

/* ------------------------------------------------ spawn, yield, exactly once */

#define SPAWNERS 32
#define CHILDREN 40
#define YIELDS 10

static int runs[SPAWNERS * CHILDREN];
static long total_yields;
static int bad_self;

static void child(void *arg)
{
	long i = (long)arg;
	if (gort_self() <= 0)
		ADD(&bad_self, 1);
	for (int k = 0; k < YIELDS; k++) {
		ADD(&total_yields, 1);
		gort_yield();
	}
	ADD(&runs[i], 1);
}

static void spawner(void *arg)
{
	long s = (long)arg;
	for (long c = 0; c < CHILDREN; c++) {
		if (gort_go(child, (void *)(s * CHILDREN + c)) <= 0)
			ADD(&bad_self, 1);
		if (c % 8 == 0)
			gort_yield();
	}
}

static void spawn_and_yield(unsigned procs)
{
	start(procs);
	memset(runs, 0, sizeof runs);
	ST(&total_yields, 0);
	ST(&bad_self, 0);
	for (long s = 0; s < SPAWNERS; s++)
		cr_assert_gt(gort_go(spawner, (void *)s), 0);
	cr_assert_eq(gort_run(), 0);
	for (int i = 0; i < SPAWNERS * CHILDREN; i++)
		cr_assert_eq(LD(&runs[i]), 1, "child %d ran to its end %d times", i, runs[i]);
	cr_assert_eq(LD(&total_yields), (long)SPAWNERS * CHILDREN * YIELDS);
	cr_assert_eq(LD(&bad_self), 0);
	finish();
}

Test(threaded, spawn_and_yield_on_2_ps)
{
	spawn_and_yield(2);
}

Test(threaded, spawn_and_yield_on_4_ps)
{
	spawn_and_yield(4);
}

Test(threaded, run_again_after_run)
{
	start(2);
	for (int round = 0; round < 3; round++) {
		memset(runs, 0, sizeof runs);
		for (long i = 0; i < 100; i++)
			cr_assert_gt(gort_go(child, (void *)i), 0);
		cr_assert_eq(gort_run(), 0);
		for (int i = 0; i < 100; i++)
			cr_assert_eq(LD(&runs[i]), 1);
		cr_assert_eq(gort_check(), 0);
	}
	errno = 0;
	cr_assert_eq(gort_step(), -1, "no single step in threaded mode");
	cr_assert_eq(errno, EINVAL);
	finish();
}

/* ------------------------------------------------------------- ping-pong */

#define ROUNDS 10000
static int64_t pp_id[2];
static long pp_count[2];

static void pp(void *arg)
{
	long me = (long)arg, other = 1 - me;
	while (LD(&pp_id[other]) == 0)
		gort_yield();
	for (long i = 0; i < ROUNDS; i++) {
		if (me == 1) {
			gort_park("ping");
			ADD(&pp_count[me], 1);
			while (gort_ready(LD(&pp_id[0])) != 0)
				gort_yield(); /* until the other one has parked */
		} else {
			while (gort_ready(LD(&pp_id[1])) != 0)
				gort_yield();
			gort_park("pong");
			ADD(&pp_count[me], 1);
		}
	}
}

Test(threaded, park_ready_ping_pong)
{
	start(2);
	ST(&pp_id[0], 0);
	ST(&pp_id[1], 0);
	int64_t a = gort_go(pp, (void *)1);
	int64_t b = gort_go(pp, (void *)0);
	cr_assert_gt(a, 0);
	cr_assert_gt(b, 0);
	ST(&pp_id[1], a);
	ST(&pp_id[0], b);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&pp_count[0]), ROUNDS);
	cr_assert_eq(LD(&pp_count[1]), ROUNDS);
	finish();
}

/* ------------------------------------------------ run waits for every G */

static long exited;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void slow(void *arg)
{
	long ms = (long)arg;
	gort_syscall_enter();
	sleep_ms(ms);
	gort_syscall_exit();
	for (int i = 0; i < 100; i++)
		gort_yield();
	ADD(&exited, 1);
}

Test(threaded, run_returns_only_when_every_g_has_exited)
{
	start(2);
	ST(&exited, 0);
	for (long i = 0; i < 8; i++)
		cr_assert_gt(gort_go(slow, (void *)(5 + 3 * i)), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&exited), 8);
	finish();
}

/* -------------------------------------------------------------- deadlock */

static long parked_once;

static void park_forever(void *arg)
{
	(void)arg;
	ADD(&parked_once, 1);
	gort_park("forever");
	ADD(&parked_once, 100); /* never */
}

Test(threaded, deadlock_is_reported_once)
{
	start(2);
	ST(&parked_once, 0);
	cr_assert_gt(gort_go(park_forever, NULL), 0);
	cr_assert_gt(gort_go(park_forever, NULL), 0);
	cr_assert_eq(gort_run(), 2, "both Gs are parked");
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DEADLOCK);
	cr_assert(strstr(gt_rec.message, "all goroutines are asleep - deadlock!"), "got %s",
		  gt_rec.message);
	cr_assert_eq(LD(&parked_once), 2);
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

/* --------------------------------------------------------------- syscall */

static long counter, count_before, count_after, sys_done;

static void blocker(void *arg)
{
	(void)arg;
	ST(&count_before, LD(&counter));
	gort_syscall_enter();
	sleep_ms(50);
	ST(&count_after, LD(&counter));
	gort_syscall_exit();
	ST(&sys_done, 1);
}

static void counting(void *arg)
{
	(void)arg;
	while (!LD(&sys_done)) {
		ADD(&counter, 1);
		gort_yield();
	}
}

Test(threaded, a_g_in_a_syscall_lets_others_use_its_p)
{
	start(1);
	ST(&counter, 0);
	ST(&sys_done, 0);
	cr_assert_gt(gort_go(blocker, NULL), 0);
	cr_assert_gt(gort_go(counting, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&sys_done), 1);
	cr_assert_gt(LD(&count_after), LD(&count_before),
		     "the counter stood still during the syscall (%ld, %ld)", count_before,
		     count_after);
	finish();
}

/* ------------------------------------------------------ cross-P allocation */

#define ALLOCERS 16
#define PER 200
static void *objs[ALLOCERS * PER];
static long alloc_fail;

static void allocer(void *arg)
{
	long a = (long)arg;
	for (long i = 0; i < PER; i++) {
		long k = a * PER + i;
		size_t n = 8 + (size_t)(k * 37 % 3000);
		void *p = gort_malloc(n);
		if (!p) {
			ADD(&alloc_fail, 1);
			continue;
		}
		gt_fill(p, n, (uint64_t)k);
		__atomic_store_n(&objs[k], p, __ATOMIC_RELEASE);
		if (i % 16 == 0)
			gort_yield();
	}
}

static void freer(void *arg)
{
	long a = (long)arg;
	/* Frees what another G (likely on another P) allocated. */
	long from = (a + ALLOCERS / 2) % ALLOCERS;
	for (long i = 0; i < PER; i++) {
		long k = from * PER + i;
		void *p = __atomic_load_n(&objs[k], __ATOMIC_ACQUIRE);
		size_t n = 8 + (size_t)(k * 37 % 3000);
		if (!p || !gt_intact(p, n, (uint64_t)k))
			ADD(&alloc_fail, 1);
		gort_free(p);
		if (i % 16 == 0)
			gort_yield();
	}
}

Test(threaded, allocations_freed_on_other_ps)
{
	start(4);
	ST(&alloc_fail, 0);
	for (long a = 0; a < ALLOCERS; a++)
		cr_assert_gt(gort_go(allocer, (void *)a), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(gort_check(), 0);
	for (long a = 0; a < ALLOCERS; a++)
		cr_assert_gt(gort_go(freer, (void *)a), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&alloc_fail), 0);
	finish();
}

/* ------------------------------------------------ short syscalls, many */

static long short_done;

static void short_syscalls(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		gort_syscall_enter();
		if (i % 100 == 0)
			sleep_ms(1); /* now and then long enough for sysmon to retake */
		gort_syscall_exit();
		if (i % 64 == 0)
			gort_yield();
	}
	ADD(&short_done, 1);
}

Test(threaded, many_syscalls_race_sysmon_and_complete)
{
	start(2);
	ST(&short_done, 0);
	for (int i = 0; i < 6; i++)
		cr_assert_gt(gort_go(short_syscalls, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&short_done), 6);
	finish();
}

/* ------------------------------------------------ two Ps run at once */

static int par_flag[2];
static long par_timeout;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each G raises its flag and spins, never yielding, until it sees the
 * other's: only two Ms running at the same time get both through (Go's
 * TestGoroutineParallelism idea). A 5 s limit keeps a failure from hanging. */
static void parallel(void *arg)
{
	long me = (long)arg;
	ST(&par_flag[me], 1);
	uint64_t until = now_ns() + 5000000000ull;
	while (!LD(&par_flag[1 - me]))
		if (now_ns() > until) {
			ADD(&par_timeout, 1);
			return;
		}
}

Test(threaded, two_ps_run_two_gs_at_once)
{
	start(2);
	ST(&par_flag[0], 0);
	ST(&par_flag[1], 0);
	ST(&par_timeout, 0);
	cr_assert_gt(gort_go(parallel, (void *)0), 0);
	cr_assert_gt(gort_go(parallel, (void *)1), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&par_timeout), 0, "the two Gs never ran at the same time");
	finish();
}

/* ------------------------------------------- a million Gs, ten yields each */

/* Sanitized builds run the same test at a tenth of the size: TSan makes
 * every switch some twenty times slower. */
#if defined(GORT_SAN_ADDRESS) || defined(GORT_SAN_THREAD)
#define MILLION_GS 100000L
#else
#define MILLION_GS 1000000L
#endif
/* At most this many children alive at once: a million stacks at once would
 * cost gigabytes, and the test is about the count, not the footprint. */
#define MILLION_LIVE 20000L

static long million_count, million_live, million_exits;

static void million_child(void *arg)
{
	(void)arg;
	for (int k = 0; k < 10; k++) {
		ADD(&million_count, 1);
		gort_yield();
	}
	ADD(&million_live, -1);
	ADD(&million_exits, 1);
}

static void million_spawner(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		while (LD(&million_live) >= MILLION_LIVE)
			gort_yield();
		ADD(&million_live, 1);
		if (gort_go(million_child, NULL) <= 0)
			ADD(&bad_self, 1);
	}
}

static void million_gs(unsigned procs)
{
	start(procs);
	ST(&million_count, 0);
	ST(&million_live, 0);
	ST(&million_exits, 0);
	ST(&bad_self, 0);
	/* Two spawners, so on several Ps children appear on more than one. */
	cr_assert_gt(gort_go(million_spawner, (void *)(MILLION_GS / 2)), 0);
	cr_assert_gt(gort_go(million_spawner, (void *)(MILLION_GS - MILLION_GS / 2)), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&bad_self), 0);
	cr_assert_eq(LD(&million_exits), MILLION_GS);
	cr_assert_eq(LD(&million_count), MILLION_GS * 10);
	finish();
}

Test(threaded, a_million_gs_yield_ten_times_on_1_p, .timeout = 300)
{
	million_gs(1);
}

Test(threaded, a_million_gs_yield_ten_times_on_2_ps, .timeout = 300)
{
	million_gs(2);
}

Test(threaded, a_million_gs_yield_ten_times_on_8_ps, .timeout = 300)
{
	million_gs(8);
}
