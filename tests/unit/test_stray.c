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

/* ------------------------------------------- a report inside the refill */

/* A late free found while the cache refills is reported from inside its
 * slow path (gort_cache_alloc_slow), once the cache is in order again. The
 * handler may allocate more of the same class than the refilled span has
 * left, which moves the cache's current span on. The allocation the report
 * interrupted then books its object in the span it takes from the cache's
 * current one (its POINTERS bit, through alloc_small or alloc_in_class), so
 * that object must lie in that span: were it taken before the handler ran,
 * the bit would be written at an index computed against another span's base
 * (a fault when that span lies above, the index having wrapped; another
 * span's bitmap otherwise) and the object's own bit would stay stale. */

enum {
	REFILL_SIZE = 1024
};

static struct {
	void *objs[64];
	int n;
	int want; /* how many the handler allocates at its first report */
} refill;

static void refill_handler(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	if (gt_reports() != 1)
		return;
	for (int i = 0; i < refill.want && refill.n < 64; i++)
		refill.objs[refill.n++] = gort_malloc(REFILL_SIZE); /* with pointers */
}

static void *alloc_plain(void)
{
	return gort_malloc(REFILL_SIZE);
}

static void *alloc_aligned(void)
{
	return gort_aligned_alloc(16, REFILL_SIZE); /* alloc_in_class, in every preset */
}

static bool has_pointers(const void *p)
{
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p, &oi), 0, "%p is in no span", p);
	cr_assert_eq(oi.bits & ((1u << GORT_PLANE_ALLOC) | (1u << GORT_PLANE_FREED)),
		     1u << GORT_PLANE_ALLOC, "%p is not live (bits %#x)", p, oi.bits);
	return oi.bits & (1u << GORT_PLANE_POINTERS);
}

/* Fill one span of the class with NOSCAN objects (POINTERS clear), free one
 * of them and put a racing second free on it: the next allocation finds the
 * span used up, sweeps it back in as the refill and meets the late free
 * there. `alloc` makes that allocation, with pointers. */
static void report_inside_refill(void *(*alloc)(void))
{
	gort_sizeclass_info ci[GORT_NUM_SIZE_CLASSES];
	gort_inspect_sizeclasses(ci, GORT_NUM_SIZE_CLASSES);
	unsigned cls = gort_size_to_class(REFILL_SIZE);
	int n = (int)ci[cls].nelems;
	cr_assert_leq(n, 64);
	refill.n = 0;
	refill.want = n; /* more than the refill leaves: the current span moves on */

	void *objs[64];
	for (int i = 0; i < n; i++)
		objs[i] = gort_alloc(REFILL_SIZE, GORT_NOSCAN);
	gort_object_info first, oi;
	cr_assert_eq(gort_inspect_object(objs[0], &first), 0);
	for (int i = 1; i < n; i++) {
		cr_assert_eq(gort_inspect_object(objs[i], &oi), 0);
		cr_assert_eq(oi.span_base, first.span_base, "the objects must fill one span");
	}
	int victim = n / 2;
	gort_free(objs[victim]);
	late_remote_free(objs[victim]);

	gort_set_error_handler(refill_handler, NULL);
	void *p = alloc();
	cr_assert_not_null(p);
	cr_assert_eq(gt_reports(), 1, "the late free must be reported once (got %d)", gt_reports());
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)objs[victim]);
	cr_assert_eq(refill.n, n, "the handler's allocations failed");
	gort_set_error_handler(gt_record, NULL);

	/* Every object live, each handed out once, each with its own bits. */
	void *live[3 * 64];
	int nlive = 0;
	for (int i = 0; i < n; i++) {
		if (i == victim)
			continue;
		cr_assert_not(has_pointers(objs[i]), "NOSCAN object %d has POINTERS set", i);
		live[nlive++] = objs[i];
	}
	for (int i = 0; i < refill.n; i++) {
		cr_assert_not_null(refill.objs[i]);
		cr_assert(has_pointers(refill.objs[i]), "the handler's object %d lacks POINTERS",
			  i);
		live[nlive++] = refill.objs[i];
	}
	cr_assert(has_pointers(p),
		  "the object handed out by the interrupted refill lacks POINTERS: "
		  "its bit was written in another span");
	live[nlive++] = p;
	for (int i = 0; i < nlive; i++)
		for (int j = i + 1; j < nlive; j++)
			cr_assert_neq(live[i], live[j], "one object handed out twice");
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);

	for (int i = 0; i < nlive; i++)
		gort_free(live[i]);
	gort_flush_caches();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0, "heap_objects %llu", (unsigned long long)ms.heap_objects);
	cr_assert_eq(gt_reports(), 1, "%s", gt_rec.message);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
}

Test(stray, malloc_books_its_object_in_its_own_span_when_the_refill_handler_allocates)
{
	report_inside_refill(alloc_plain);
}

Test(stray, aligned_alloc_books_its_object_in_its_own_span_when_the_refill_handler_allocates)
{
	report_inside_refill(alloc_aligned);
}

/* ------------------------------------- a late free met on the fast path */

/* The fast path meets the late free on the lowest slot of the word it
 * refilled earlier: the stray path clears the FREED bit, reports, and
 * allocates again (the same slot, free all along). That slot last held an
 * object with pointers; the new one is NOSCAN, so its POINTERS bit must be
 * cleared as for any other allocation: the stray path leaves the bit to the
 * caller, and the caller must know it was not written. */
Test(stray, a_slot_handed_out_past_a_late_free_gets_its_own_pointers_bit)
{
	enum { SIZE = 128 }; /* a one-page span of 64 slots: one bitmap word */
	gort_sizeclass_info ci[GORT_NUM_SIZE_CLASSES];
	gort_inspect_sizeclasses(ci, GORT_NUM_SIZE_CLASSES);
	cr_assert_eq(ci[gort_size_to_class(SIZE)].nelems, 64);

	void *p[64];
	for (int i = 0; i < 64; i++)
		p[i] = gort_malloc(SIZE); /* with pointers: every POINTERS bit set */
	for (int i = 1; i <= 2; i++)
		gort_free(p[i]); /* the owner's frees: ALLOC cleared, POINTERS kept */
	/* The span is used up: the refill folds the frees in and takes slot 1,
	 * leaving slot 2 in the cache's word. */
	void *first = gort_malloc(SIZE);
	cr_assert_eq(first, p[1], "the refill did not go back to the span");
	late_remote_free(p[2]);

	void *q = gort_alloc(SIZE, GORT_NOSCAN);
	cr_assert_eq(gt_reports(), 1, "the late free must be reported once (got %d)", gt_reports());
	cr_assert_eq(gt_rec.address, (uintptr_t)p[2]);
	cr_assert_eq(q, p[2], "the stray path did not take the slot it cleared");
	cr_assert_not(has_pointers(q), "a NOSCAN object kept the POINTERS bit of the slot's "
				       "last object");
	cr_assert(has_pointers(first));
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);

	gort_free(first);
	gort_free(q);
	for (int i = 3; i < 64; i++)
		gort_free(p[i]);
	gort_free(p[0]);
	gort_flush_caches();
	cr_assert_eq(gt_reports(), 1, "%s", gt_rec.message);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
}
