/*
 * test_stray.c — late double frees: a remote free whose atomic OR into the
 * FREED inbox lands after the owner already folded the first free of the
 * same object (docs/allocator.md, "The bitmap"). Real races hit that window
 * rarely, so these white-box tests put the bit there directly — exactly what
 * the losing thread's OR does — and check what the allocator makes of it:
 * one report, the slot never handed out twice, counts kept exact, and a
 * handler that allocates while the report is made leaves every invariant
 * standing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../support/gort_test.h"
#include "mem/mem.h"

/* The late OR of a second, racing free of p, with the count the losing
 * thread makes of it (it believes its free succeeded). */
static void late_remote_free(void *p)
{
	span_t *s = gort_span_lookup((uintptr_t)p);
	cr_assert_not_null(s);
	size_t idx = ((uintptr_t)p - s->base) / s->elemsize;
	__atomic_fetch_or(&span_plane(s, GORT_PLANE_FREED)[idx / 64], (uint64_t)1 << (idx % 64),
			  __ATOMIC_SEQ_CST);
	counter_inc(&cache_current()->slot_free[s->spanclass]);
}

TestSuite(stray, .init = gt_setup, .fini = gt_teardown);

Test(stray, slot_with_a_late_free_is_reported_and_handed_out_once)
{
	enum { N = 64 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_malloc(100);
	void *x = p[5];
	gort_free(x);         /* the owner's own free: ALLOC cleared */
	late_remote_free(x);  /* the racing second free arrives afterwards */
	cr_assert_eq(gt_reports(), 0);

	void *q[N];
	int hits = 0;
	for (int i = 0; i < N; i++) {
		q[i] = gort_malloc(100);
		hits += q[i] == x;
		memset(q[i], i, 100);
	}
	cr_assert_eq(gt_reports(), 1, "the late free must be reported once (got %d)", gt_reports());
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE);
	cr_assert_eq(gt_rec.address, (uintptr_t)x);
	cr_assert_leq(hits, 1, "the slot was handed out twice");
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			cr_assert_neq(q[i], q[j], "one object handed out twice");
	cr_assert_eq(gort_check(), 0);

	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 2 * N - 1, "the double free must not count as a free");
	for (int i = 0; i < N; i++) {
		if (i != 5)
			gort_free(p[i]);
		gort_free(q[i]);
	}
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gort_check(), 0);
}

/* The handler allocates (and frees) while the late free is being reported
 * from deep inside the cache's slow path. */
static void allocating_handler(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	for (int i = 0; i < 200; i++)
		gort_free(gort_malloc(100));
	(void)gort_malloc(100); /* kept: shows up in heap_objects */
}

Test(stray, handler_that_allocates_during_a_late_report)
{
	gort_set_error_handler(allocating_handler, NULL);
	enum { N = 600 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_malloc(100);
	gort_free(p[1]);
	late_remote_free(p[1]);
	gort_flush_caches(); /* the owner gives the span up and sweeps it */
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, N - 1 + 1);
	for (int i = 0; i < N; i++)
		if (i != 1)
			gort_free(p[i]);
	gort_flush_caches();
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
}
