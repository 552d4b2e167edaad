/*
 * test_sysmon.c — threaded mode's monitor and what it tells: sysmon's
 * backoff rhythm; gort_run's waiter woken only once every M is idle; a G
 * that runs without yielding does not keep the Gs queued behind it on its P
 * from running (sysmon moves them), and schedtrace names it; schedtrace,
 * scheddetail and the P snapshots give the real M counts and running Ps.
 *
 * Gs run on the runtime's threads, where Criterion's asserts must not be
 * used: they record into atomics and the test's thread asserts. Time bounds
 * here only stop a failing test from hanging; no assertion is on timing.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../support/gort_test.h"
#include "sched/sched.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
/* Gs never assert: the test's thread does, after gort_run. */

static void start(unsigned procs)
{
	gt_start(1, procs);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- sysmon's rhythm */

/* Go's sysmon: 20 us while it finds work, the same for 50 idle looks, then
 * doubling up to 10 ms; any look that acts brings it back to 20 us. */
Test(sysmon, backoff_waits_50_idle_looks_then_doubles_to_10_ms)
{
	uint64_t d = 20000;
	for (uint32_t idle = 1; idle <= 50; idle++) {
		d = gort_sysmon_next_delay(d, idle);
		cr_assert_eq(d, 20000, "idle look %u: delay %llu, want 20 us", idle,
			     (unsigned long long)d);
	}
	d = gort_sysmon_next_delay(d, 51);
	cr_assert_eq(d, 40000);
	for (uint32_t idle = 52; idle < 80; idle++)
		d = gort_sysmon_next_delay(d, idle);
	cr_assert_eq(d, 10000000, "capped at 10 ms, got %llu", (unsigned long long)d);
	cr_assert_eq(gort_sysmon_next_delay(d, 1000), 10000000);
	cr_assert_eq(gort_sysmon_next_delay(d, 0), 20000, "work found: back to 20 us");
}

/* -------------------------------------------------- gort_run's waiter */

#define CHURN_ROUNDS 40

static long churn_done;

static void nothing(void *arg)
{
	(void)arg;
}

/* Spawns (an M is woken for the child, finds little, stops) and sleeps (its
 * M sleeps for the timer, not idle): Ms stop again and again while the run
 * is not over. */
static void churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < CHURN_ROUNDS; i++) {
		gort_go(nothing, NULL);
		gort_sleep(200000);
	}
	ADD(&churn_done, 1);
}

Test(sysmon, run_waiter_is_woken_only_when_every_m_is_idle)
{
	start(2);
	ST(&churn_done, 0);
	uint32_t before = gort_mt_run_wakeups();
	cr_assert_gt(gort_go(churn, NULL), 0);
	cr_assert_gt(gort_go(churn, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&churn_done), 2);
	uint32_t wakes = gort_mt_run_wakeups() - before;
	/* One wake at the end; a stopping M must not wake the waiter while
	 * another M still runs or sleeps for a timer. */
	cr_assert_leq(wakes, 2, "gort_run's waiter woke %u times for one run", wakes);
	gt_finish();
}

/* ------------------------------------------- a G that never yields */

static int hog_ready[2];
static long victim_ran, hog_saw_victim, hog_timeout, yielder_rounds;
static int64_t hog_goid;
static char hog_trace[1024];

static void victim(void *arg)
{
	(void)arg;
	ST(&victim_ran, 1);
}

/* Both Gs raise a flag and spin until they see the other's: they are then
 * running at once, on the two Ps. */
static void meet(int me)
{
	ST(&hog_ready[me], 1);
	uint64_t until = now_ns() + 5000000000ull;
	while (!LD(&hog_ready[1 - me]) && now_ns() < until)
		;
}

/* Queues the victim on its own P (runnext: the other P is busy, so nobody
 * is woken to steal it) and spins without yielding until the victim has
 * run, or 10 s. */
static void hog(void *arg)
{
	(void)arg;
	meet(0);
	ST(&hog_goid, gort_self());
	if (gort_go(victim, NULL) <= 0) {
		ST(&hog_timeout, 1);
		return;
	}
	uint64_t until = now_ns() + 10000000000ull;
	while (!LD(&victim_ran))
		if (now_ns() > until) {
			ST(&hog_timeout, 1);
			return;
		}
	ST(&hog_saw_victim, 1);
	gort_schedtrace(hog_trace, sizeof hog_trace, 0); /* still running: it is named */
}

/* Keeps the other P busy, yielding: its P never runs out of work, so it
 * never steals; it looks at the global queue every 61 ticks. */
static void yielder(void *arg)
{
	(void)arg;
	meet(1);
	while (!LD(&hog_saw_victim) && !LD(&hog_timeout)) {
		ADD(&yielder_rounds, 1);
		gort_yield();
	}
}

Test(sysmon, gs_queued_behind_a_g_that_never_yields_still_run, .timeout = 60)
{
	start(2);
	ST(&victim_ran, 0);
	ST(&hog_saw_victim, 0);
	ST(&hog_timeout, 0);
	cr_assert_gt(gort_go(hog, NULL), 0);
	cr_assert_gt(gort_go(yielder, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(LD(&hog_timeout), 0, "the G queued behind the hog never ran while it spun");
	cr_assert_eq(LD(&hog_saw_victim), 1);
	char want[64];
	snprintf(want, sizeof want, " longrunning=G%lld@P", (long long)hog_goid);
	cr_assert(strstr(hog_trace, want), "schedtrace does not name the hog: %s", hog_trace);
	gt_finish();
}

/* ------------------------------------------------ the counts are real */

static gort_p_info seen_ps[2];
static char seen_detail[4096];

static void look(void *arg)
{
	(void)arg;
	gort_inspect_ps(seen_ps, 1);
	gort_schedtrace(seen_detail, sizeof seen_detail, 1);
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

Test(sysmon, schedtrace_and_ps_tell_the_threaded_truth)
{
	start(1);
	cr_assert_gt(gort_go(look, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(seen_ps[0].running, 1, "the P running the looking G is not marked running");
	cr_assert(strstr(seen_detail, "  P0: status=1 "), "%s", seen_detail);
	cr_assert(strstr(seen_detail, "status=2() m=0 "), "the running G on M0: %s", seen_detail);

	/* Quiescent: every M parked and counted. */
	gort_m_info ms[64];
	size_t nm = gort_inspect_ms(ms, 64);
	cr_assert_geq(nm, 1);
	char line[512], want[128];
	gort_schedtrace(line, sizeof line, 0);
	cr_assert_eq(strncmp(line, "SCHED ", 6), 0, "%s", line);
	cr_assert(strstr(line, "ms: gomaxprocs=1 idleprocs=1 "), "%s", line);
	snprintf(want, sizeof want, " threads=%zu spinningthreads=0 idlethreads=%zu ", nm, nm);
	cr_assert(strstr(line, want), "want '%s' in %s", want, line);
	cr_assert(!strstr(line, "steps="), "threaded mode has no steps: %s", line);
	static char detail[8192];
	gort_schedtrace(detail, sizeof detail, 1);
	cr_assert_eq(count(detail, "\n  M"), nm, "one line per M: %s", detail);
	cr_assert(strstr(detail, "blocked=true"), "%s", detail);
	cr_assert(strstr(detail, "  P0: status=0 "), "%s", detail);
	gt_finish();
}
