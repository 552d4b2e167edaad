/*
 * test_runq.c — the run queues (sched/runq.h) and the random steal order
 * (sched/steal_order.h) against Go 1.19's semantics.
 *
 * Single-threaded: FIFO at every fill level and ring offset; runnext first,
 * with the time slice inherited, and the displaced runnext kicked to the
 * tail; a full ring spilling exactly 129 Gs to the global queue (the 128
 * oldest, then the new one) and keeping the newest 128; grab taking
 * ceil(half) from the head for every size 0..256 and runnext only from an
 * empty ring when allowed (after the caller's pause); steal returning the
 * last G grabbed; globrunqget's batch rule over a table; the steal order
 * visiting every P once for 1..64 Ps; the checkers catching corrupted
 * queues; and a random workload over 4 Ps checked for conservation after
 * every operation.
 *
 * Multi-threaded: one owner putting and getting while 3 thieves steal (and
 * every thread also serves the global queue); every G must finish exactly
 * once. Worker threads never assert: they count failures in atomics that the
 * test's thread checks after joining. Sizes shrink under ThreadSanitizer.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/g.h"
#include "sched/runq.h"
#include "sched/steal_order.h"

#include "../support/gort_test.h"

#if defined(GORT_SAN_THREAD)
#define STRESS_GS 20000
#define WORKLOAD_OPS 20000
#else
#define STRESS_GS 400000
#define WORKLOAD_OPS 200000
#endif

TestSuite(runq, .timeout = 120);

/* ------------------------------------------------------------- helpers */

#define NG 1024
static gort_g gs[NG + 1]; /* gs[i] has goid i; gs[0] unused */

static void make_gs(void)
{
	for (int i = 0; i <= NG; i++) {
		gs[i].goid = i;
		gs[i].status = GORT_G_RUNNABLE;
		gs[i].schedlink = NULL;
	}
}

static gort_runq *new_runq(void)
{
	gort_runq *q = malloc(sizeof *q);
	cr_assert_not_null(q);
	gort_runq_init(q);
	return q;
}

/* Moves head and tail to `offset` so that the Gs that follow wrap the ring
 * at a different place. */
static void rotate(gort_runq *q, gort_globrunq *glob, uint32_t offset)
{
	for (uint32_t i = 0; i < offset; i++) {
		gort_runq_put(q, &gs[1], false, glob);
		cr_assert_eq(gort_runq_get(q, NULL), &gs[1]);
	}
}

static void put_range(gort_runq *q, gort_globrunq *glob, int from, int to)
{
	for (int i = from; i <= to; i++)
		gort_runq_put(q, &gs[i], false, glob);
}

static void expect_clean(const gort_runq *q)
{
	const char *err = gort_runq_check(q);
	cr_assert_null(err, "%s", err);
}

static void expect_glob_clean(gort_globrunq *glob)
{
	const char *err = gort_globrunq_check(glob);
	cr_assert_null(err, "%s", err);
}

/* The ring holds exactly gs[from..to], head first, and runnext is `next`. */
static void expect_ring(const gort_runq *q, int from, int to, gort_g *next)
{
	gort_g *out[GORT_RUNQ_SIZE], *rn = (gort_g *)1;
	uint32_t n = gort_runq_snapshot(q, out, &rn);
	uint32_t want = to >= from ? (uint32_t)(to - from + 1) : 0;
	cr_assert_eq(n, want, "ring holds %u Gs, want %u", n, want);
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(out[i], &gs[from + (int)i], "position %u: g%lld, want g%d", i,
			     (long long)out[i]->goid, from + (int)i);
	cr_assert_eq(rn, next);
	cr_assert_eq(gort_runq_len(q), n);
	cr_assert_eq(gort_runq_size(q), n + (next != NULL));
	cr_assert_eq(gort_runq_empty(q), n == 0 && next == NULL);
	expect_clean(q);
}

/* The global queue holds exactly the Gs of ids[0..n), head first. */
static void expect_glob(gort_globrunq *glob, const int *ids, uint32_t n)
{
	expect_glob_clean(glob);
	cr_assert_eq(glob->size, n);
	gort_g *g = glob->head;
	for (uint32_t i = 0; i < n; i++, g = g->schedlink)
		cr_assert_eq(g, &gs[ids[i]], "global position %u: g%lld, want g%d", i,
			     (long long)g->goid, ids[i]);
	cr_assert_null(g);
}

static int pauses;
static void count_pause(void *ctx)
{
	cr_assert_eq(ctx, &pauses);
	pauses++;
}

/* ---------------------------------------------------------- put / get */

Test(runq, zeroed_queue_is_empty)
{
	gort_runq *q = calloc(1, sizeof *q);
	cr_assert(gort_runq_empty(q));
	cr_assert_eq(gort_runq_size(q), 0);
	bool inherit = true;
	cr_assert_null(gort_runq_get(q, &inherit));
	cr_assert_not(inherit);
	expect_clean(q);
	free(q);
}

Test(runq, fifo_at_every_fill_level_and_offset)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	static const uint32_t offsets[] = {0, 1, 100, 255, 256, 300};
	for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
		gort_runq *q = new_runq();
		rotate(q, &glob, offsets[o]);
		for (int k = 0; k <= 256; k++) {
			put_range(q, &glob, 1, k);
			expect_ring(q, 1, k, NULL);
			for (int i = 1; i <= k; i++) {
				bool inherit = true;
				cr_assert_eq(gort_runq_get(q, &inherit), &gs[i],
					     "offset %u, fill %d, get %d", offsets[o], k, i);
				cr_assert_not(inherit);
			}
			cr_assert_null(gort_runq_get(q, NULL));
			cr_assert(gort_runq_empty(q));
		}
		free(q);
	}
	cr_assert_eq(glob.size, 0, "nothing may spill below 257 Gs");
}

Test(runq, runnext_first_inherits_and_kicks_to_tail)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *q = new_runq();

	put_range(q, &glob, 1, 2);
	gort_runq_put(q, &gs[3], true, &glob);
	expect_ring(q, 1, 2, &gs[3]);
	/* A second runnext displaces the first to the tail. */
	gort_runq_put(q, &gs[4], true, &glob);
	expect_ring(q, 1, 3, &gs[4]);

	bool inherit = false;
	cr_assert_eq(gort_runq_get(q, &inherit), &gs[4]);
	cr_assert(inherit, "runnext shares the time slice");
	expect_ring(q, 1, 3, NULL);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(gort_runq_get(q, &inherit), &gs[i]);
		cr_assert_not(inherit);
	}
	cr_assert_null(gort_runq_get(q, &inherit));

	/* runnext alone: not empty until taken. */
	gort_runq_put(q, &gs[5], true, &glob);
	cr_assert_not(gort_runq_empty(q));
	cr_assert_eq(gort_runq_get(q, &inherit), &gs[5]);
	cr_assert(inherit);
	cr_assert(gort_runq_empty(q));
	free(q);
}

Test(runq, full_ring_spills_oldest_half_plus_new)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	static const uint32_t offsets[] = {0, 77, 256};
	for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
		gort_runq *q = new_runq();
		rotate(q, &glob, offsets[o]);
		put_range(q, &glob, 1, 256);
		cr_assert_eq(glob.size, 0);
		gort_runq_put(q, &gs[257], false, &glob);

		int want[129];
		for (int i = 0; i < 128; i++)
			want[i] = i + 1;
		want[128] = 257;
		expect_glob(&glob, want, 129);
		expect_ring(q, 129, 256, NULL);

		/* Drain the global queue for the next offset. */
		gort_globrunq_init(&glob);
		free(q);
	}
}

Test(runq, full_ring_spills_the_displaced_runnext)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *q = new_runq();
	put_range(q, &glob, 1, 256);
	gort_runq_put(q, &gs[300], true, &glob);
	cr_assert_eq(glob.size, 0, "a runnext needs no room on the ring");
	gort_runq_put(q, &gs[301], true, &glob);

	int want[129];
	for (int i = 0; i < 128; i++)
		want[i] = i + 1;
	want[128] = 300;
	expect_glob(&glob, want, 129);
	expect_ring(q, 129, 256, &gs[301]);
	free(q);
}

/* ------------------------------------------------------- grab / steal */

Test(runq, grab_takes_ceil_half_from_head_for_every_size)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	for (int size = 0; size <= 256; size++) {
		gort_runq *v = new_runq();
		rotate(v, &glob, (uint32_t)size * 7);
		put_range(v, &glob, 1, size);
		/* A runnext stays put while the ring has Gs. */
		if (size > 0)
			gort_runq_put(v, &gs[999], true, &glob);
		gort_g *buf[GORT_RUNQ_HALF];
		pauses = 0;
		uint32_t n = gort_runq_grab(v, buf, true, count_pause, &pauses);
		uint32_t want = (uint32_t)(size - size / 2);
		cr_assert_eq(n, want, "size %d: grabbed %u, want %u", size, n, want);
		cr_assert_eq(pauses, 0);
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(buf[i], &gs[i + 1], "size %d, position %u", size, i);
		expect_ring(v, (int)n + 1, size, size > 0 ? &gs[999] : NULL);
		free(v);
	}
}

Test(runq, runnext_stolen_only_from_empty_ring_when_allowed)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *v = new_runq();
	gort_g *buf[GORT_RUNQ_HALF];

	gort_runq_put(v, &gs[7], true, &glob);
	pauses = 0;
	cr_assert_eq(gort_runq_grab(v, buf, false, count_pause, &pauses), 0);
	cr_assert_eq(pauses, 0);
	expect_ring(v, 1, 0, &gs[7]);

	cr_assert_eq(gort_runq_grab(v, buf, true, count_pause, &pauses), 1);
	cr_assert_eq(buf[0], &gs[7]);
	cr_assert_eq(pauses, 1, "the caller's pause runs once before runnext is taken");
	expect_ring(v, 1, 0, NULL);

	/* No pause hook (step mode): taken just the same. */
	gort_runq_put(v, &gs[8], true, &glob);
	cr_assert_eq(gort_runq_grab(v, buf, true, NULL, NULL), 1);
	cr_assert_eq(buf[0], &gs[8]);

	/* Nothing at all: no pause either. */
	cr_assert_eq(gort_runq_grab(v, buf, true, count_pause, &pauses), 0);
	cr_assert_eq(pauses, 1);

	/* The threaded mode's pause works as a hook. */
	gort_runq_put(v, &gs[9], true, &glob);
	cr_assert_eq(gort_runq_grab(v, buf, true, gort_runq_pause_3us, NULL), 1);
	cr_assert_eq(buf[0], &gs[9]);
	free(v);
}

Test(runq, steal_returns_last_and_publishes_rest)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	for (int size = 1; size <= 256; size++) {
		gort_runq *v = new_runq(), *p = new_runq();
		rotate(v, &glob, (uint32_t)size * 3);
		rotate(p, &glob, (uint32_t)size * 5);
		put_range(v, &glob, 1, size);
		int n = size - size / 2;
		gort_g *g = gort_runq_steal(p, v, true, NULL, NULL);
		cr_assert_eq(g, &gs[n], "size %d: ran g%lld, want g%d", size,
			     g ? (long long)g->goid : 0LL, n);
		expect_ring(p, 1, n - 1, NULL);
		expect_ring(v, n + 1, size, NULL);
		free(v);
		free(p);
	}
}

Test(runq, steal_appends_behind_existing_gs)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *v = new_runq(), *p = new_runq();
	put_range(p, &glob, 1, 100);
	put_range(v, &glob, 101, 110);
	cr_assert_eq(gort_runq_steal(p, v, false, NULL, NULL), &gs[105]);
	expect_ring(p, 1, 104, NULL);
	expect_ring(v, 106, 110, NULL);
	free(v);
	free(p);
}

Test(runq, steal_runnext_and_nothing)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *v = new_runq(), *p = new_runq();
	cr_assert_null(gort_runq_steal(p, v, true, NULL, NULL));
	gort_runq_put(v, &gs[3], true, &glob);
	cr_assert_null(gort_runq_steal(p, v, false, NULL, NULL));
	pauses = 0;
	cr_assert_eq(gort_runq_steal(p, v, true, count_pause, &pauses), &gs[3]);
	cr_assert_eq(pauses, 1);
	expect_ring(p, 1, 0, NULL);
	expect_ring(v, 1, 0, NULL);
	cr_assert_null(gort_runq_steal(v, v, true, NULL, NULL), "no stealing from oneself");
	free(v);
	free(p);
}

Test(runq, steal_into_overfull_ring_is_reported)
{
	make_gs();
	gt_record_errors();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *v = new_runq(), *p = new_runq();
	put_range(p, &glob, 1, 129);
	put_range(v, &glob, 200, 300);
	cr_assert_null(gort_runq_steal(p, v, true, NULL, NULL));
	cr_assert_eq(gt_reports(), 1);
	cr_assert_str_eq(gt_rec.op, "runq_steal");
	expect_ring(p, 1, 129, NULL);
	expect_ring(v, 200, 300, NULL);
	free(v);
	free(p);
}

/* ------------------------------------------------------- global queue */

Test(runq, global_put_head_tail_batch)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_lock(&glob.lock);
	gort_globrunq_put(&glob, &gs[2]);
	gort_globrunq_put_head(&glob, &gs[1]);
	gort_globrunq_put(&glob, &gs[3]);
	gs[4].schedlink = &gs[5];
	gs[5].schedlink = &gs[6];
	gort_globrunq_put_batch(&glob, &gs[4], &gs[6], 3);
	gort_unlock(&glob.lock);
	static const int want[] = {1, 2, 3, 4, 5, 6};
	expect_glob(&glob, want, 6);
	cr_assert_eq(gort_globrunq_size_hint(&glob), 6);

	gort_globrunq empty;
	gort_globrunq_init(&empty);
	gort_globrunq_put_head(&empty, &gs[9]);
	static const int nine[] = {9};
	expect_glob(&empty, nine, 1);
}

Test(runq, globrunqget_batch_rule)
{
	/* n = min(size, size / gomaxprocs + 1, max if max > 0, 128). */
	static const struct {
		uint32_t size, procs, max, n;
	} rows[] = {
		{0, 1, 0, 0},	   {1, 1, 0, 1},     {1, 8, 0, 1},	 {10, 1, 0, 10},
		{10, 4, 0, 3},	   {10, 4, 1, 1},    {7, 8, 0, 1},	 {8, 8, 0, 2},
		{5, 2, 2, 2},	   {5, 2, 10, 3},    {127, 1, 0, 127},	 {128, 1, 0, 128},
		{129, 1, 0, 128},  {300, 1, 0, 128}, {300, 2, 0, 128},	 {300, 3, 0, 101},
		{1000, 16, 0, 63}, {1000, 16, 5, 5}, {129, 1, 200, 128}, {256, 2, 0, 128},
		{255, 2, 0, 128},  {253, 2, 0, 127}, {1000, 1000, 0, 2}, {1000, 1001, 0, 1},
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		make_gs();
		gort_globrunq glob;
		gort_globrunq_init(&glob);
		for (uint32_t i = 1; i <= rows[r].size; i++)
			gort_globrunq_put(&glob, &gs[i]);
		gort_runq *p = new_runq();

		gort_lock(&glob.lock);
		gort_g *g = gort_globrunq_get(&glob, p, rows[r].max, rows[r].procs);
		gort_unlock(&glob.lock);

		uint32_t n = rows[r].n;
		if (n == 0) {
			cr_assert_null(g);
		} else {
			cr_assert_eq(g, &gs[1], "row %zu", r);
			cr_assert_eq(glob.size, rows[r].size - n, "row %zu: took %u, want %u", r,
				     rows[r].size - glob.size, n);
			expect_ring(p, 2, (int)n, NULL);
			cr_assert_eq(glob.head, n < rows[r].size ? &gs[n + 1] : NULL, "row %zu", r);
		}
		expect_glob_clean(&glob);
		free(p);
	}
}

Test(runq, globrunqget_pops_cleared_link)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_globrunq_put(&glob, &gs[1]);
	gort_globrunq_put(&glob, &gs[2]);
	gort_runq *p = new_runq();
	cr_assert_eq(gort_globrunq_get(&glob, p, 1, 1), &gs[1]);
	cr_assert_null(gs[1].schedlink);
	static const int two[] = {2};
	expect_glob(&glob, two, 1);
	expect_ring(p, 1, 0, NULL);
	free(p);
}

Test(runq, globrunqget_never_overflows_a_busy_ring)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *p = new_runq();
	put_range(p, &glob, 1, 250); /* 6 free slots */
	for (int i = 300; i < 400; i++)
		gort_globrunq_put(&glob, &gs[i]);
	cr_assert_eq(gort_globrunq_get(&glob, p, 0, 1), &gs[300]);
	cr_assert_eq(gort_runq_len(p), 256);
	cr_assert_eq(glob.size, 100 - 7);
	expect_glob_clean(&glob);
	expect_clean(p);
	free(p);
}

/* ---------------------------------------------------------- steal order */

Test(runq, steal_order_coprimes)
{
	gort_steal_order *o = malloc(sizeof *o);
	cr_assert_eq(gort_steal_order_reset(o, 0), -1);
	cr_assert_eq(gort_steal_order_reset(o, GORT_STEAL_ORDER_MAX + 1), -1);
	cr_assert_eq(gort_steal_order_reset(o, 1), 0);
	cr_assert_eq(o->ncoprimes, 1);
	cr_assert_eq(o->coprimes[0], 1);
	cr_assert_eq(gort_steal_order_reset(o, 12), 0);
	static const uint32_t twelve[] = {1, 5, 7, 11};
	cr_assert_eq(o->ncoprimes, 4);
	cr_assert_arr_eq(o->coprimes, twelve, sizeof twelve);
	cr_assert_eq(gort_steal_order_reset(o, 7), 0);
	cr_assert_eq(o->ncoprimes, 6);
	cr_assert_eq(gort_steal_order_reset(o, GORT_STEAL_ORDER_MAX), 0);
	cr_assert_eq(o->ncoprimes, GORT_STEAL_ORDER_MAX / 2);

	/* start(r): pos = r % n, inc = coprimes[(r / n) % len]. */
	gort_steal_order_reset(o, 12);
	gort_steal_enum e = gort_steal_order_start(o, 12 * 2 + 5);
	cr_assert_eq(gort_steal_enum_pos(&e), 5);
	cr_assert_eq(e.inc, 7);
	gort_steal_enum_next(&e);
	cr_assert_eq(gort_steal_enum_pos(&e), 0);
	gort_steal_enum_next(&e);
	cr_assert_eq(gort_steal_enum_pos(&e), 7);
	free(o);
}

Test(runq, steal_order_visits_every_p_once_deterministically)
{
	gort_steal_order *o = malloc(sizeof *o);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	for (uint32_t n = 1; n <= 64; n++) {
		cr_assert_eq(gort_steal_order_reset(o, n), 0);
		for (int s = 0; s < 2000; s++) {
			uint32_t r = s == 0 ? 0 : s == 1 ? UINT32_MAX : (uint32_t)gt_xorshift(&rng);
			uint8_t seen[64] = {0};
			uint32_t order[64], visits = 0;
			for (gort_steal_enum e = gort_steal_order_start(o, r);
			     !gort_steal_enum_done(&e); gort_steal_enum_next(&e)) {
				uint32_t pos = gort_steal_enum_pos(&e);
				cr_assert_lt(pos, n);
				cr_assert_lt(visits, n, "n %u, r %u: more than n visits", n, r);
				cr_assert_eq(seen[pos]++, 0, "n %u, r %u: P %u twice", n, r, pos);
				order[visits++] = pos;
			}
			cr_assert_eq(visits, n);
			/* The same r walks the same way. */
			uint32_t k = 0;
			for (gort_steal_enum e = gort_steal_order_start(o, r);
			     !gort_steal_enum_done(&e); gort_steal_enum_next(&e))
				cr_assert_eq(gort_steal_enum_pos(&e), order[k++]);
		}
	}
	free(o);
}

/* -------------------------------------------------------------- checker */

Test(runq, checker_flags_corruption)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *q = new_runq();
	rotate(q, &glob, 250);
	put_range(q, &glob, 1, 10);
	gort_runq_put(q, &gs[11], true, &glob);
	expect_clean(q);

	gort_runq bad;
	const char *err;

	bad = *q;
	bad.tail = bad.head + 257;
	err = gort_runq_check(&bad);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "more than 256"), "%s", err);

	bad = *q;
	bad.head = bad.tail + 1; /* head past tail */
	cr_assert_not_null(gort_runq_check(&bad));

	bad = *q;
	bad.ring[(bad.head + 3) & GORT_RUNQ_MASK] = NULL;
	err = gort_runq_check(&bad);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "NULL"), "%s", err);

	bad = *q;
	bad.ring[(bad.head + 5) & GORT_RUNQ_MASK] = &gs[2];
	err = gort_runq_check(&bad);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "twice"), "%s", err);

	bad = *q;
	bad.runnext = &gs[4];
	err = gort_runq_check(&bad);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "runnext"), "%s", err);

	gs[6].status = GORT_G_WAITING;
	err = gort_runq_check(q);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "g6"), "%s", err);
	gs[6].status = GORT_G_RUNNABLE;
	gs[11].status = GORT_G_DEAD;
	cr_assert_not_null(gort_runq_check(q));
	gs[11].status = GORT_G_RUNNABLE;
	expect_clean(q);

	/* Global queue. */
	for (int i = 20; i < 25; i++)
		gort_globrunq_put(&glob, &gs[i]);
	expect_glob_clean(&glob);
	glob.size = 4;
	cr_assert_not_null(gort_globrunq_check(&glob));
	glob.size = 6;
	cr_assert_not_null(gort_globrunq_check(&glob));
	glob.size = 5;
	glob.tail = &gs[23];
	cr_assert_not_null(gort_globrunq_check(&glob));
	glob.tail = &gs[24];
	gs[24].schedlink = &gs[20]; /* a cycle */
	cr_assert_not_null(gort_globrunq_check(&glob));
	gs[24].schedlink = NULL;
	gs[22].status = GORT_G_RUNNING;
	cr_assert_not_null(gort_globrunq_check(&glob));
	gs[22].status = GORT_G_RUNNABLE;
	expect_glob_clean(&glob);
	free(q);
}

/* ------------------------------------------- random single-thread workload */

/* Where each G is, from a full snapshot: every G must be in exactly one of
 * the 4 Ps' rings or runnext, the global queue, or held by the test. */
#define WP 4
#define WG 600

static void expect_conserved(gort_runq *const *ps, gort_globrunq *glob, const bool *held,
			     uint64_t op)
{
	uint8_t count[WG + 1] = {0};
	for (int p = 0; p < WP; p++) {
		const char *err = gort_runq_check(ps[p]);
		cr_assert_null(err, "op %llu, P %d: %s", (unsigned long long)op, p, err);
		gort_g *out[GORT_RUNQ_SIZE], *next;
		uint32_t n = gort_runq_snapshot(ps[p], out, &next);
		for (uint32_t i = 0; i < n; i++)
			count[out[i]->goid]++;
		if (next)
			count[next->goid]++;
	}
	const char *err = gort_globrunq_check(glob);
	cr_assert_null(err, "op %llu: %s", (unsigned long long)op, err);
	for (gort_g *g = glob->head; g; g = g->schedlink)
		count[g->goid]++;
	for (int i = 1; i <= WG; i++)
		cr_assert_eq(count[i] + held[i], 1, "op %llu: g%d is in %d places",
			     (unsigned long long)op, i, count[i] + held[i]);
}

Test(runq, random_workload_conserves_every_g)
{
	make_gs();
	gort_globrunq glob;
	gort_globrunq_init(&glob);
	gort_runq *ps[WP];
	for (int p = 0; p < WP; p++)
		ps[p] = new_runq();
	bool held[WG + 1];
	int free_ids[WG], nfree = WG;
	for (int i = 1; i <= WG; i++) {
		held[i] = true;
		free_ids[i - 1] = i;
	}
	gort_steal_order order;
	gort_steal_order_reset(&order, WP);
	uint64_t rng = 42;

	for (uint64_t op = 0; op < WORKLOAD_OPS; op++) {
		uint64_t x = gt_xorshift(&rng);
		int p = (int)(x % WP);
		unsigned kind = (unsigned)((x >> 8) % 10);
		gort_g *g = NULL;
		if (kind < 5 && nfree > 0) { /* put a held G */
			int j = (int)((x >> 16) % (uint64_t)nfree);
			int id = free_ids[j];
			free_ids[j] = free_ids[--nfree];
			held[id] = false;
			gort_runq_put(ps[p], &gs[id], (x >> 32) & 1, &glob);
		} else if (kind < 7) {
			g = gort_runq_get(ps[p], NULL);
		} else if (kind < 8) {
			gort_lock(&glob.lock);
			if (gort_runq_len(ps[p]) == 0)
				g = gort_globrunq_get(&glob, ps[p], (x >> 20) & 1, WP);
			gort_unlock(&glob.lock);
		} else if (gort_runq_len(ps[p]) <= GORT_RUNQ_HALF) {
			/* One pass of a steal, runnext allowed on odd draws. */
			gort_steal_enum e = gort_steal_order_start(&order, (uint32_t)(x >> 24));
			for (; !g && !gort_steal_enum_done(&e); gort_steal_enum_next(&e))
				if ((int)gort_steal_enum_pos(&e) != p)
					g = gort_runq_steal(ps[p], ps[gort_steal_enum_pos(&e)],
							    (x >> 40) & 1, NULL, NULL);
		}
		if (g) {
			held[g->goid] = true;
			free_ids[nfree++] = (int)g->goid;
		}
		if (op % 16 == 0 || op < 2000)
			expect_conserved(ps, &glob, held, op);
	}
	expect_conserved(ps, &glob, held, WORKLOAD_OPS);
	for (int p = 0; p < WP; p++)
		free(ps[p]);
}

/* --------------------------------------------------------------- stress */

/* One owner P puts every G (a quarter as runnext) and runs some; 3
 * thief Ps steal from any P in a random order, with runnext on the last of
 * 4 passes as findRunnable does, and every P serves the global queue when
 * its own is empty. A G needs 1-3 runs; between runs it goes back on the
 * queue of the P that ran it. */
#define SP 4

static struct {
	gort_runq *ps[SP];
	gort_globrunq glob;
	gort_steal_order order;
	gort_g *gs;
	uint8_t *runs_left; /* written only by the thread holding the G */
	uint32_t *finished; /* per G, atomic */
	uint64_t nfinished; /* atomic */
	uint64_t steals, runnext_steals, from_global;
	int bad_status, twice;
} st;

static void stress_pause(void *ctx)
{
	uint64_t *rng = ctx;
	if (gt_xorshift(rng) % 64 == 0)
		gort_runq_pause_3us(NULL);
}

/* Runs g once; it either finishes or goes back on p's queue. */
static void stress_run(int p, gort_g *g, uint64_t *rng)
{
	if (__atomic_load_n(&g->status, __ATOMIC_RELAXED) != GORT_G_RUNNABLE)
		__atomic_fetch_add(&st.bad_status, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&g->status, GORT_G_RUNNING, __ATOMIC_RELAXED);
	if (--st.runs_left[g->goid] > 0) {
		__atomic_store_n(&g->status, GORT_G_RUNNABLE, __ATOMIC_RELAXED);
		gort_runq_put(st.ps[p], g, gt_xorshift(rng) % 4 == 0, &st.glob);
		return;
	}
	__atomic_store_n(&g->status, GORT_G_DEAD, __ATOMIC_RELAXED);
	if (__atomic_fetch_add(&st.finished[g->goid], 1, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_add(&st.twice, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&st.nfinished, 1, __ATOMIC_RELEASE);
}

/* findRunnable's order, minus the rest of the scheduler: local, global,
 * then 4 stealing passes. */
static gort_g *stress_find(int p, uint64_t *rng)
{
	gort_g *g = gort_runq_get(st.ps[p], NULL);
	if (g)
		return g;
	if (gort_globrunq_size_hint(&st.glob) > 0) {
		gort_lock(&st.glob.lock);
		g = gort_globrunq_get(&st.glob, st.ps[p], 0, SP);
		gort_unlock(&st.glob.lock);
		if (g) {
			__atomic_fetch_add(&st.from_global, 1, __ATOMIC_RELAXED);
			return g;
		}
	}
	for (int pass = 0; pass < 4; pass++) {
		gort_steal_enum e = gort_steal_order_start(&st.order, (uint32_t)gt_xorshift(rng));
		for (; !gort_steal_enum_done(&e); gort_steal_enum_next(&e)) {
			int v = (int)gort_steal_enum_pos(&e);
			if (v == p)
				continue;
			bool before = gort_runq_len(st.ps[v]) == 0;
			g = gort_runq_steal(st.ps[p], st.ps[v], pass == 3, stress_pause, rng);
			if (g) {
				__atomic_fetch_add(before && pass == 3 ? &st.runnext_steals
								       : &st.steals,
						   1, __ATOMIC_RELAXED);
				return g;
			}
		}
	}
	return NULL;
}

static bool stress_done(void)
{
	return __atomic_load_n(&st.nfinished, __ATOMIC_ACQUIRE) == STRESS_GS;
}

static void *stress_owner(void *arg)
{
	(void)arg;
	uint64_t rng = 1;
	for (uint32_t i = 0; i < STRESS_GS; i++) {
		gort_runq_put(st.ps[0], &st.gs[i], gt_xorshift(&rng) % 4 == 0, &st.glob);
		/* Run Gs too, mostly keeping the ring around a random level below
		 * full so that thieves find work there; one stretch in four runs
		 * nothing, so the ring fills and spills to the global queue. */
		if ((i / 1024) % 4 == 3)
			continue;
		while (gort_runq_len(st.ps[0]) > gt_xorshift(&rng) % 200) {
			gort_g *g = gort_runq_get(st.ps[0], NULL);
			if (g)
				stress_run(0, g, &rng);
		}
	}
	while (!stress_done()) {
		gort_g *g = stress_find(0, &rng);
		if (g)
			stress_run(0, g, &rng);
	}
	return NULL;
}

static void *stress_thief(void *arg)
{
	int p = (int)(intptr_t)arg;
	uint64_t rng = 0x1234567ull * (uint64_t)(p + 1);
	while (!stress_done()) {
		gort_g *g = stress_find(p, &rng);
		if (g)
			stress_run(p, g, &rng);
	}
	return NULL;
}

Test(runq, stress_owner_and_three_thieves)
{
	memset(&st, 0, sizeof st);
	for (int p = 0; p < SP; p++)
		st.ps[p] = new_runq();
	gort_globrunq_init(&st.glob);
	gort_steal_order_reset(&st.order, SP);
	st.gs = calloc(STRESS_GS, sizeof *st.gs);
	st.runs_left = malloc(STRESS_GS);
	st.finished = calloc(STRESS_GS, sizeof *st.finished);
	cr_assert(st.gs && st.runs_left && st.finished);
	for (uint32_t i = 0; i < STRESS_GS; i++) {
		st.gs[i].goid = i;
		st.gs[i].status = GORT_G_RUNNABLE;
		st.runs_left[i] = (uint8_t)(1 + i % 3);
	}

	pthread_t th[SP];
	cr_assert_eq(pthread_create(&th[0], NULL, stress_owner, NULL), 0);
	for (int p = 1; p < SP; p++)
		cr_assert_eq(pthread_create(&th[p], NULL, stress_thief, (void *)(intptr_t)p), 0);
	for (int p = 0; p < SP; p++)
		pthread_join(th[p], NULL);

	cr_assert_eq(st.twice, 0, "%d Gs finished twice", st.twice);
	cr_assert_eq(st.bad_status, 0, "%d Gs taken while not runnable", st.bad_status);
	cr_assert_eq(st.nfinished, STRESS_GS);
	for (uint32_t i = 0; i < STRESS_GS; i++)
		cr_assert_eq(st.finished[i], 1, "g%u finished %u times", i, st.finished[i]);
	for (int p = 0; p < SP; p++) {
		cr_assert(gort_runq_empty(st.ps[p]));
		expect_clean(st.ps[p]);
	}
	expect_glob_clean(&st.glob);
	cr_assert_eq(st.glob.size, 0);
	cr_assert_gt(st.steals, 0, "the thieves never stole");
	cr_log_info("stress: %u Gs, %llu steals, %llu from runnext, %llu from global", STRESS_GS,
		    (unsigned long long)st.steals, (unsigned long long)st.runnext_steals,
		    (unsigned long long)st.from_global);
	for (int p = 0; p < SP; p++)
		free(st.ps[p]);
	free(st.gs);
	free(st.runs_left);
	free(st.finished);
}

/* The owner and 2 thieves fighting over runnext alone: the owner puts each G
 * as runnext and at once tries to take it back; the thieves steal runnext
 * (no pause) as fast as they can. Each G must be taken exactly once. */
#define RACE_GS (STRESS_GS / 4)

static struct {
	gort_runq *owner, *thieves[2];
	gort_globrunq glob;
	gort_g *gs;
	uint32_t *taken;
	uint64_t ntaken, by_thieves;
	int twice;
} rr;

static void race_take(gort_g *g, bool thief)
{
	if (__atomic_fetch_add(&rr.taken[g->goid], 1, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_add(&rr.twice, 1, __ATOMIC_RELAXED);
	if (thief)
		__atomic_fetch_add(&rr.by_thieves, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rr.ntaken, 1, __ATOMIC_RELEASE);
}

static void *race_owner(void *arg)
{
	(void)arg;
	for (uint32_t i = 0; i < RACE_GS; i++) {
		gort_runq_put(rr.owner, &rr.gs[i], true, &rr.glob);
		gort_g *g = gort_runq_get(rr.owner, NULL);
		if (g)
			race_take(g, false);
	}
	/* Whatever the thieves left, kicked to the ring or still in runnext. */
	for (gort_g *g; (g = gort_runq_get(rr.owner, NULL));)
		race_take(g, false);
	return NULL;
}

static void *race_thief(void *arg)
{
	gort_runq *mine = arg;
	while (__atomic_load_n(&rr.ntaken, __ATOMIC_ACQUIRE) < RACE_GS) {
		gort_g *g = gort_runq_steal(mine, rr.owner, true, NULL, NULL);
		if (g)
			race_take(g, true);
		while ((g = gort_runq_get(mine, NULL)))
			race_take(g, true);
	}
	return NULL;
}

Test(runq, stress_runnext_race)
{
	memset(&rr, 0, sizeof rr);
	rr.owner = new_runq();
	rr.thieves[0] = new_runq();
	rr.thieves[1] = new_runq();
	gort_globrunq_init(&rr.glob);
	rr.gs = calloc(RACE_GS, sizeof *rr.gs);
	rr.taken = calloc(RACE_GS, sizeof *rr.taken);
	cr_assert(rr.gs && rr.taken);
	for (uint32_t i = 0; i < RACE_GS; i++) {
		rr.gs[i].goid = i;
		rr.gs[i].status = GORT_G_RUNNABLE;
	}
	pthread_t th[3];
	cr_assert_eq(pthread_create(&th[0], NULL, race_thief, rr.thieves[0]), 0);
	cr_assert_eq(pthread_create(&th[1], NULL, race_thief, rr.thieves[1]), 0);
	cr_assert_eq(pthread_create(&th[2], NULL, race_owner, NULL), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	cr_assert_eq(rr.twice, 0, "%d Gs taken twice", rr.twice);
	cr_assert_eq(rr.ntaken, RACE_GS);
	for (uint32_t i = 0; i < RACE_GS; i++)
		cr_assert_eq(rr.taken[i], 1, "g%u taken %u times", i, rr.taken[i]);
	cr_assert_eq(rr.glob.size, 0);
	cr_log_info("runnext race: %u Gs, %llu taken by thieves", RACE_GS,
		    (unsigned long long)rr.by_thieves);
	free(rr.owner);
	free(rr.thieves[0]);
	free(rr.thieves[1]);
	free(rr.gs);
	free(rr.taken);
}
