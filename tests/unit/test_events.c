/*
 * test_events.c — the scheduler's event log and the step-mode driver
 * around it: what each event says (P, G, source, outcome, who made or
 * readied a G), gort_step_p, gort_reseed, gort_inspect_ms; determinism of a
 * long random workload (100,000 steps, same seed → the same log, byte for
 * byte; another seed → another log); Go's global-queue fairness (a hog
 * cannot keep a G on the global queue waiting more than 61 ticks); and, in
 * threaded mode, the log turned on and off.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../support/gort_test.h"

TestSuite(events, .timeout = 300);

static void start(unsigned procs, uint64_t seed)
{
	gort_config cfg = {.procs = procs, .arena_bytes = 64 * MiB, .seed = seed};
	gt_init_config(&cfg);
	gt_record_errors();
}

static gort_event evs[256];

static size_t events_after(uint64_t after)
{
	return gort_inspect_events(after, evs, sizeof evs / sizeof *evs);
}

static void yield_once(void *arg)
{
	(void)arg;
	gort_yield();
}

static int64_t parked_id;

static void park_once(void *arg)
{
	(void)arg;
	gort_park("test");
}

static void spawn_and_ready(void *arg)
{
	(void)arg;
	gort_go(yield_once, NULL);
	gort_ready(parked_id);
}

Test(events, each_event_names_p_g_source_and_outcome)
{
	start(1, 1);
	cr_assert_eq(gort_event_seq(), 0);
	int64_t a = gort_go(yield_once, NULL);
	cr_assert_eq(gort_step(), 1);
	cr_assert_eq(gort_step(), 1);
	cr_assert_eq(events_after(0), 3);
	cr_assert_eq(evs[0].kind, GORT_EV_GO);
	cr_assert_eq(evs[0].goid, a);
	cr_assert_eq(evs[0].by, 0, "made outside any G");
	cr_assert_eq(evs[0].p, 0, "outside a G, gort_go queues on P 0's runnext");
	cr_assert_eq(evs[1].kind, GORT_EV_RUN);
	cr_assert_eq(evs[1].source, GORT_SRC_RUNNEXT);
	cr_assert_eq(evs[1].outcome, GORT_OUT_YIELDED);
	cr_assert_eq(evs[1].step, 0);
	cr_assert_eq(evs[2].source, GORT_SRC_LOCAL, "a yield goes to the ring, not runnext");
	cr_assert_eq(evs[2].outcome, GORT_OUT_EXITED);
	cr_assert_eq(evs[2].step, 1);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(evs[i].seq, i + 1);
	cr_assert_str_eq(gort_event_source_name(GORT_SRC_STOLEN), "stolen");
	cr_assert_str_eq(gort_event_outcome_name(GORT_OUT_PARKED), "parked");
	cr_assert_str_eq(gort_event_kind_name(GORT_EV_READY), "ready");
	cr_assert_str_eq(gort_event_kind_name(99), "?");
	gt_expect_clean();
	gort_shutdown();
}

Test(events, go_and_ready_from_a_g_name_it)
{
	start(1, 1);
	parked_id = gort_go(park_once, NULL);
	cr_assert_eq(gort_step(), 1);
	int64_t b = gort_go(spawn_and_ready, NULL);
	uint64_t mark = gort_event_seq();
	cr_assert_eq(gort_step(), 1);
	cr_assert_eq(events_after(mark), 3);
	cr_assert_eq(evs[0].kind, GORT_EV_GO);
	cr_assert_eq(evs[0].by, b);
	cr_assert_eq(evs[1].kind, GORT_EV_READY);
	cr_assert_eq(evs[1].goid, parked_id);
	cr_assert_eq(evs[1].by, b);
	cr_assert_eq(evs[2].kind, GORT_EV_RUN);
	cr_assert_eq(evs[2].goid, b);
	cr_assert_eq(evs[2].outcome, GORT_OUT_EXITED);
	cr_assert_eq(gort_run(), 0);
	gt_expect_clean();
	gort_shutdown();
}

Test(events, step_p_makes_only_that_p_look_and_steal)
{
	start(2, 1);
	for (int i = 0; i < 4; i++)
		gort_go(yield_once, NULL); /* all on P 0 */
	uint64_t mark = gort_event_seq();
	cr_assert_eq(gort_step_p(1), 1);
	cr_assert_eq(events_after(mark), 1);
	cr_assert_eq(evs[0].p, 1);
	cr_assert_eq(evs[0].source, GORT_SRC_STOLEN);
	cr_assert_eq(evs[0].from, 0);
	cr_assert_eq(gort_step_p(2), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(gort_step_p(0), 0, "nothing left to run");
	gt_expect_clean();
	gort_shutdown();
}

Test(events, ms_in_step_mode_is_the_callers_thread)
{
	start(2, 1);
	gort_m_info ms[4];
	cr_assert_eq(gort_inspect_ms(ms, 4), 1);
	cr_assert_eq(ms[0].id, 0);
	cr_assert_eq(ms[0].status, GORT_M_IDLE);
	cr_assert_eq(ms[0].p, -1);
	cr_assert_eq(ms[0].curg, 0);
	gort_shutdown();
}

/* ------------------------------------------------ a long random workload */

/* Bodies choose from a PRNG of their own seeded by their goid and round:
 * whatever the scheduler decides, a G does the same things. */
#define MAX_PARKED 64
static int64_t parked[MAX_PARKED];
static int nparked, live, draining;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void random_body(void *arg)
{
	(void)arg;
	int64_t me = gort_self();
	for (uint64_t round = 0; !draining; round++) {
		uint64_t r = mix((uint64_t)me * 1000003u + round) % 100;
		if (r < 50) {
			gort_yield();
		} else if (r < 62 && live < 200) {
			live++;
			gort_go(random_body, NULL);
		} else if (r < 75 && nparked < MAX_PARKED) {
			parked[nparked++] = me;
			gort_park("random");
		} else if (r < 88 && nparked > 0) {
			int k = (int)(r % (uint64_t)nparked);
			int64_t g = parked[k];
			parked[k] = parked[--nparked];
			cr_assert_eq(gort_ready(g), 0);
		} else if (r < 92) {
			void *p = gort_malloc(16 + r * 8);
			gort_yield();
			gort_free(p);
		} else {
			live--;
			return;
		}
	}
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int k = 0; k < 8; k++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ull;
	return h;
}

/* Every field but the times (threaded mode's only). */
static uint64_t hash_event(uint64_t h, const gort_event *e)
{
	uint64_t f[] = {e->seq, e->kind, (uint64_t)e->p, (uint64_t)e->m, (uint64_t)e->from,
			(uint64_t)e->goid, (uint64_t)e->by, e->source, e->outcome, e->schedtick,
			e->step};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++)
		h = fnv(h, f[i]);
	return h;
}

/* Sanitized builds check the invariants less often: the check is linear in
 * the heap, and it is the same code either way. */
#if defined(GORT_SAN_ADDRESS) || defined(GORT_SAN_THREAD)
#define CHECK_EVERY 2048
#else
#define CHECK_EVERY 64
#endif
#define STEPS 100000

/* FNV-1a over every event of a 100,000-step run. */
static uint64_t run_workload(uint64_t seed, uint64_t *nevents)
{
	start(4, seed);
	nparked = 0;
	live = 0;
	draining = 0;
	uint64_t h = 0xcbf29ce484222325ull, seen = 0;
	for (int step = 0; step < STEPS; step++) {
		if (gort_step() == 0) {
			/* Nothing runnable: wake a parked G or start a new one. */
			if (nparked > 0)
				cr_assert_eq(gort_ready(parked[--nparked]), 0);
			else
				live++, gort_go(random_body, NULL);
			cr_assert_eq(gort_step(), 1);
		}
		if (step % CHECK_EVERY == 0)
			cr_assert_eq(gort_check(), 0, "step %d: %s", step, gt_rec.message);
		size_t n;
		while ((n = events_after(seen)) > 0) {
			cr_assert_eq(evs[0].seq, seen + 1, "the log lost events");
			for (size_t i = 0; i < n; i++)
				h = hash_event(h, &evs[i]);
			seen = evs[n - 1].seq;
		}
	}
	*nevents = seen;
	/* Finish: every G, woken, returns. */
	draining = 1;
	while (nparked > 0)
		cr_assert_eq(gort_ready(parked[--nparked]), 0);
	cr_assert_eq(gort_run(), 0);
	gt_expect_clean();
	gort_shutdown();
	return h;
}

Test(events, a_100000_step_random_run_repeats_exactly_with_its_seed)
{
	uint64_t n1, n2, n3;
	uint64_t a = run_workload(42, &n1);
	uint64_t b = run_workload(42, &n2);
	cr_assert_gt(n1, STEPS, "every step records a RUN event, plus GO/READY");
	cr_assert_eq(n1, n2);
	cr_assert_eq(a, b, "the same seed gave a different event log");
	uint64_t c = run_workload(43, &n3);
	cr_assert_neq(a, c, "another seed gave the same event log");
}

/* ------------------------------------------------ global queue fairness */

static int stop_hogs;

static void hog(void *arg)
{
	(void)arg;
	while (!stop_hogs)
		gort_yield();
}

/* With hogs that keep the local queue busy, a G on the global queue must
 * run within 61 schedticks (Go's schedule: every 61st tick looks there
 * first). Measured from every phase of the tick counter. */
Test(events, a_hog_cannot_starve_the_global_queue)
{
	start(1, 3);
	stop_hogs = 0;
	for (int i = 0; i < 5; i++)
		gort_go(hog, NULL);
	int worst = 0;
	for (int phase = 0; phase < 200; phase++) {
		parked_id = gort_go(park_once, NULL);
		while (gort_step() == 1) {
			gort_g_info gi[16];
			size_t n = gort_inspect_gs(gi, 16);
			int asleep = 0;
			for (size_t i = 0; i < n; i++)
				asleep |= gi[i].goid == parked_id && gi[i].status == 4;
			if (asleep)
				break;
		}
		for (int k = 0; k < phase % 7; k++)
			cr_assert_eq(gort_step(), 1);
		cr_assert_eq(gort_ready(parked_id), 0, "outside any G: to the global queue");
		uint64_t mark = gort_event_seq();
		int steps = 0, found = 0;
		while (!found) {
			cr_assert_eq(gort_step(), 1);
			steps++;
			size_t n = events_after(mark);
			for (size_t i = 0; i < n; i++)
				if (evs[i].kind == GORT_EV_RUN && evs[i].goid == parked_id) {
					cr_assert_eq(evs[i].source, GORT_SRC_GLOBAL);
					found = 1;
				}
			mark = gort_event_seq();
			cr_assert_leq(steps, 61, "the global G waited more than 61 ticks");
		}
		if (steps > worst)
			worst = steps;
		while (gort_step() == 1) {
			gort_g_info gi[16];
			size_t n = gort_inspect_gs(gi, 16);
			int alive = 0;
			for (size_t i = 0; i < n; i++)
				alive |= gi[i].goid == parked_id;
			if (!alive)
				break;
		}
	}
	cr_assert_geq(worst, 30, "the hogs should delay it for a good part of 61 ticks");
	stop_hogs = 1;
	cr_assert_eq(gort_run(), 0);
	gt_expect_clean();
	gort_shutdown();
}

/* ------------------------------------------------ threaded mode */

static void yield_twice(void *arg)
{
	(void)arg;
	gort_yield();
	gort_yield();
}

Test(events, threaded_mode_records_only_when_asked)
{
	gort_config cfg = {.procs = 2, .arena_bytes = 64 * MiB, .threaded = 1};
	gt_init_config(&cfg);
	gt_record_errors();
	gort_go(yield_twice, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(gort_event_seq(), 0, "off by default in threaded mode");
	cr_assert_eq(gort_event_log(1), 0);
	for (int i = 0; i < 10; i++)
		gort_go(yield_twice, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(gort_event_log(0), 1);
	uint64_t seq = gort_event_seq();
	cr_assert_eq(seq, 10 + 30, "10 GO events and 3 runs of each G");
	size_t n = events_after(0);
	cr_assert_eq(n, seq);
	int exited = 0;
	for (size_t i = 0; i < n; i++) {
		cr_assert_geq(evs[i].t_end, evs[i].t_start);
		if (evs[i].kind == GORT_EV_RUN) {
			cr_assert_geq(evs[i].m, 0);
			exited += evs[i].outcome == GORT_OUT_EXITED;
		}
	}
	cr_assert_eq(exited, 10);
	gort_m_info ms[16];
	size_t nm = gort_inspect_ms(ms, 16);
	cr_assert_geq(nm, 1);
	for (size_t i = 0; i < nm; i++)
		cr_assert_eq(ms[i].curg, 0, "quiescent: no M runs a G");
	gt_expect_clean();
	gort_shutdown();
}

/* ------------------------------------------------ GOMAXPROCS */

Test(events, set_procs_grows_and_shrinks_keeping_every_g)
{
	start(1, 5);
	for (int i = 0; i < 5; i++)
		gort_go(yield_once, NULL); /* P 0: runnext g5, ring g1..g4 */
	cr_assert_eq(gort_set_procs(4), 0);
	gort_sched_info si;
	gort_inspect_sched(&si);
	cr_assert_eq(si.gomaxprocs, 4);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	cr_assert_eq(gort_step_p(3), 1, "a new P steals from the old one");
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	/* Shrink to 1: P 3's stolen Gs go to the global queue, runnext first. */
	gort_p_info ps[4];
	gort_inspect_ps(ps, 4);
	int64_t want[GORT_RUNQ_CAP];
	uint32_t nwant = 0;
	if (ps[3].runnext)
		want[nwant++] = ps[3].runnext;
	for (uint32_t k = 0; k < ps[3].nrunq; k++)
		want[nwant++] = ps[3].runq[k];
	cr_assert_eq(gort_set_procs(1), 0);
	gort_inspect_sched(&si);
	cr_assert_eq(si.gomaxprocs, 1);
	cr_assert_geq(si.nglobal, nwant);
	for (uint32_t k = 0; k < nwant; k++)
		cr_assert_eq(si.global[k], want[k], "global[%u]", k);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	cr_assert_eq(gort_run(), 0, "every G still runs to its end");
	cr_assert_eq(gort_set_procs(0), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(gort_set_procs(257), -1);
	gt_expect_clean();
	gort_shutdown();
}

/* ------------------------------------------------ reseed, descriptors */

static void yield_twice(void *arg); /* below, with the threaded test */

/* The steps' Ps and sources after a reseed, as one string. */
static void run_after_reseed(uint64_t seed, char *out, size_t n)
{
	start(4, 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(gort_step(), 0); /* draws from the first seed's PRNG */
	gort_reseed(seed);
	for (int i = 0; i < 16; i++)
		gort_go(yield_twice, NULL);
	size_t len = 0;
	uint64_t mark = gort_event_seq();
	while (gort_step() == 1) {
		size_t k = events_after(mark);
		for (size_t i = 0; i < k; i++)
			if (evs[i].kind == GORT_EV_RUN)
				len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%d%u ",
							evs[i].p, evs[i].source);
		mark = gort_event_seq();
	}
	gort_shutdown();
}

Test(events, reseed_makes_the_rest_of_a_run_a_function_of_the_new_seed)
{
	static char a[4096], b[4096], c[4096];
	run_after_reseed(99, a, sizeof a);
	run_after_reseed(99, b, sizeof b);
	cr_assert_str_eq(a, b);
	int differ = 0;
	for (uint64_t seed = 100; seed < 108 && !differ; seed++) {
		run_after_reseed(seed, c, sizeof c);
		differ = strcmp(a, c) != 0;
	}
	cr_assert(differ, "eight other seeds gave the same choices");
}

/* Gs are runtime metadata: a program's heap holds none of them, so no
 * stray free of a heap address can reach the scheduler's state. */
Test(events, g_descriptors_are_not_heap_objects)
{
	start(2, 1);
	struct gort_memstats before, after;
	gort_memstats(&before);
	for (int i = 0; i < 1000; i++)
		cr_assert_gt(gort_go(yield_once, NULL), 0);
	gort_memstats(&after);
	cr_assert_eq(after.heap_objects, before.heap_objects, "%llu heap objects for 1000 Gs",
		     (unsigned long long)(after.heap_objects - before.heap_objects));
	cr_assert_eq(gort_run(), 0);
	gt_expect_clean();
	gort_shutdown();
}
