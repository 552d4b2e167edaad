/*
 * test_sched.c — the step-mode scheduler through the public API: spawning,
 * yielding, parking and readying, Go's queue order, stealing between Ps,
 * G reuse, per-P caches, determinism (same seed and calls, same run), stack
 * overflow detection, and the errors of calls made in the wrong place.
 * gort_check() — the allocator's and the scheduler's invariants — runs after
 * every step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../support/gort_test.h"
#include "sched/sched.h" /* white box: a G's stack bounds, for the canary test */

static char trace[1 << 16];
static size_t tlen;

static void note(const char *fmt, long a, long b)
{
	tlen += (size_t)snprintf(trace + tlen, sizeof trace - tlen, fmt, a, b);
}

static void note_str(const char *s)
{
	tlen += (size_t)snprintf(trace + tlen, sizeof trace - tlen, "%s", s);
}

static void start(unsigned procs, uint64_t seed)
{
	gort_config cfg = {.procs = procs, .arena_bytes = 64 * MiB, .seed = seed};
	gt_init_config(&cfg);
	gt_record_errors();
	tlen = 0;
	trace[0] = 0;
}

/* Step until nothing runs, checking every invariant after each step. */
static int run_checked(void)
{
	int steps = 0, rc;
	while ((rc = gort_step()) == 1) {
		steps++;
		cr_assert_eq(gort_check(), 0, "after step %d: %s", steps, gt_rec.message);
	}
	cr_assert_eq(rc, 0);
	return steps;
}

static void yielder(void *arg)
{
	long id = (long)arg;
	for (long i = 0; i < 3; i++) {
		note("%ld.%ld ", id, i);
		void *p = gort_malloc(64);
		cr_assert_not_null(p);
		gort_yield();
		gort_free(p);
	}
}

Test(sched, one_p_runs_runnext_first_then_fifo)
{
	start(1, 1);
	for (long i = 1; i <= 3; i++)
		cr_assert_eq(gort_go(yielder, (void *)i), i);
	int steps = run_checked();
	/* g3 went last into runnext, kicking g2 then g1 to the ring's tail in
	 * turn: g3 first, then the ring in order, each yield to the tail. */
	cr_assert_str_eq(trace, "3.0 1.0 2.0 3.1 1.1 2.1 3.2 1.2 2.2 ", "got %s", trace);
	cr_assert_eq(steps, 12, "3 Gs, each run 3 times to a yield and once to its end");
	cr_assert_eq(gort_run(), 0);
	gort_shutdown();
}

static void make_run(unsigned procs, uint64_t seed, char *out, size_t n)
{
	start(procs, seed);
	for (long i = 1; i <= 8; i++)
		gort_go(yielder, (void *)i);
	run_checked();
	snprintf(out, n, "%s", trace);
	gort_shutdown();
}

Test(sched, same_seed_same_run_other_seed_other_run)
{
	static char a[4096], b[4096], c[4096];
	make_run(4, 7, a, sizeof a);
	make_run(4, 7, b, sizeof b);
	cr_assert_str_eq(a, b, "a seeded run must repeat exactly");
	int differ = 0;
	for (uint64_t seed = 8; seed < 16 && !differ; seed++) {
		make_run(4, seed, c, sizeof c);
		differ = strcmp(a, c) != 0;
	}
	cr_assert(differ, "eight other seeds all gave the same run");
}

static int64_t sleeper_id;
static void sleeper(void *arg)
{
	(void)arg;
	note_str("sleep");
	cr_assert_eq(gort_self(), sleeper_id);
	gort_park("test wait");
	note_str(" woke");
}

static void waker(void *arg)
{
	(void)arg;
	cr_assert_eq(gort_ready(sleeper_id), 0);
	cr_assert_eq(gort_ready(sleeper_id), -1, "a G readied twice is not parked any more");
	note_str(" ready");
}

Test(sched, park_waits_for_ready)
{
	start(2, 3);
	sleeper_id = gort_go(sleeper, NULL);
	cr_assert_gt(sleeper_id, 0);
	cr_assert_eq(gort_run(), 1, "the sleeper is parked");
	cr_assert_str_eq(trace, "sleep");
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_geq(ms.stack_inuse, 64 * 1024, "the parked G's stack is in use");
	cr_assert_geq(ms.stack_sys, ms.stack_inuse);
	cr_assert_eq(gort_ready(12345), -1, "no such G");
	gort_go(waker, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_str_eq(trace, "sleep ready woke", "got %s", trace);
	gort_shutdown();
}

Test(sched, ready_from_outside_any_g_uses_the_global_queue)
{
	start(2, 5);
	sleeper_id = gort_go(sleeper, NULL);
	cr_assert_eq(gort_run(), 1);
	cr_assert_eq(gort_ready(sleeper_id), 0);
	cr_assert_eq(gort_check(), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_str_eq(trace, "sleep woke");
	gort_shutdown();
}

static int spawned_done;
static unsigned ps_used; /* bit k: a child ran on P k */
static void child(void *arg)
{
	(void)arg;
	spawned_done++;
	ps_used |= 1u << gort_sched.curp->id;
}

static void spawner(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		cr_assert_gt(gort_go(child, NULL), 0);
	cr_assert_eq(gort_step(), -1, "a G cannot drive the scheduler");
	cr_assert_eq(errno, EDEADLK);
}

Test(sched, gs_spawned_by_a_g_run_and_ps_steal_them)
{
	start(4, 11);
	spawned_done = 0;
	ps_used = 0;
	gort_go(spawner, (void *)300L); /* more than a ring holds: overflow to global */
	run_checked();
	cr_assert_eq(spawned_done, 300);
	/* All were spawned on P 0; the other Ps got theirs by stealing or from
	 * the global queue. */
	cr_assert_eq(ps_used, 0xfu, "Ps that ran children: %#x", ps_used);
	gort_shutdown();
}

Test(sched, dead_gs_and_their_stacks_are_reused)
{
	start(2, 13);
	spawned_done = 0;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 20; i++)
			gort_go(child, NULL);
		cr_assert_eq(gort_run(), 0);
	}
	cr_assert_eq(spawned_done, 1000);
	struct gort_memstats ms;
	gort_memstats(&ms);
	/* G structures come from the heap: reuse keeps them to one batch. */
	cr_assert_lt(ms.heap_objects, 100, "%llu objects: dead Gs are not reused",
		     (unsigned long long)ms.heap_objects);
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

static void allocator(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		gort_free(gort_malloc(200));
}

Test(sched, a_g_allocates_from_its_ps_cache)
{
	start(1, 17);
	gort_go(allocator, NULL);
	run_checked();
	gort_cache_info caches[16];
	size_t n = gort_inspect_caches(caches, 16);
	uint64_t by_p = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		if (caches[i].kind == 1)
			by_p += caches[i].mallocs;
	cr_assert_geq(by_p, 10, "the G's allocations did not go to its P's cache");
	gort_shutdown();
}

Test(sched, calls_outside_a_g)
{
	start(1, 19);
	cr_assert_eq(gort_self(), 0);
	gort_yield();      /* nothing happens */
	gort_park("none"); /* nothing happens */
	cr_assert_eq(gort_step(), 0, "nothing to run");
	cr_assert_eq(gort_go(NULL, NULL), -1);
	cr_assert_eq(errno, EINVAL);
	gort_shutdown();
}

static int threaded_ran;

static void threaded_child(void *arg)
{
	(void)arg;
	gort_yield();
	__atomic_add_fetch(&threaded_ran, 1, __ATOMIC_SEQ_CST);
}

Test(sched, threaded_mode_runs_gort_go_and_gort_run)
{
	gort_config cfg = {.procs = 2, .arena_bytes = 64 * MiB, .threaded = 1};
	gt_init_config(&cfg);
	__atomic_store_n(&threaded_ran, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 10; i++)
		cr_assert_gt(gort_go(threaded_child, NULL), 0);
	cr_assert_eq(gort_run(), 0, "every G has exited");
	cr_assert_eq(__atomic_load_n(&threaded_ran, __ATOMIC_SEQ_CST), 10);
	cr_assert_eq(gort_step(), -1, "threaded mode has no single step");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

static int recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	return n > 0 ? recurse(n - 1) + pad[0] : 0;
}

static void deep(void *arg)
{
	(void)arg;
	recurse(1 << 20); /* 512 MiB of frames: far past any stack */
}

/* The fault on the guard is named (test_fault.c checks the text): the
 * recording handler returns, and the process then aborts. */
Test(sched, running_off_the_stack_is_reported_as_an_overflow, .signal = SIGABRT)
{
	start(1, 23);
	gort_go(deep, NULL);
	gort_run();
}

static void parks(void *arg)
{
	(void)arg;
	gort_park("chan receive");
}

Test(sched, snapshots_show_queues_gs_and_schedtrace)
{
	start(2, 31);
	int64_t a = gort_go(parks, NULL), b = gort_go(child, NULL), c = gort_go(child, NULL);
	/* On P 0: c in runnext (it kicked b, which kicked a, to the ring). */
	gort_p_info ps[4];
	cr_assert_eq(gort_inspect_ps(ps, 4), 2);
	cr_assert_eq(ps[0].runnext, c);
	cr_assert_eq(ps[0].nrunq, 2);
	cr_assert_eq(ps[0].runq[0], a);
	cr_assert_eq(ps[0].runq[1], b);
	cr_assert_eq(ps[1].nrunq, 0);
	char line[256];
	gort_schedtrace(line, sizeof line, 0);
	cr_assert_str_eq(line,
			 "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=1 spinningthreads=0 "
			 "idlethreads=0 runqueue=0 [2 0] steps=0\n");
	cr_assert_eq(gort_run(), 1);
	gort_g_info gs[8];
	cr_assert_eq(gort_inspect_gs(gs, 8), 1, "only the parked G is alive");
	cr_assert_eq(gs[0].goid, a);
	cr_assert_eq(gs[0].status, 4);
	cr_assert_str_eq(gs[0].waitreason, "chan receive");
	cr_assert_gt(gs[0].stack_used, 0);
	cr_assert_lt(gs[0].stack_used, gs[0].stack_hi - gs[0].stack_lo);
	static char detail[4096];
	gort_schedtrace(detail, sizeof detail, 1);
	char want[64];
	snprintf(want, sizeof want, "  G%lld: status=4(chan receive) m=-1 lockedm=-1\n",
		 (long long)a);
	cr_assert(strstr(detail, want), "%s", detail);
	cr_assert(strstr(detail, "  P1: status=0 schedtick="), "%s", detail);
	gort_shutdown();
}
