/*
 * test_cache.c — the spans a thread's cache keeps (lib/mem/cache.c): the
 * ones it filled stay its own, so its frees into them stay local; a free
 * that gives a used-up span a slot makes it the next current one; a span
 * emptied by the owner's frees leaves the cache (past one kept per class)
 * for mcentral's empty list, where a late double free is still named; the
 * arena a cache remembers for its frees does not go stale as the heap grows.
 */
#include <criterion/criterion.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"

/* 1,000-byte requests: 8 per 8 KiB span in light. */
#define OBJ 1000
#define PER_SPAN 8
#define SPANS 40
/* Slots of this class a cache's recent stack holds (lib/mem/mem.h). */
#define RECENT 16

static void init_light(void)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .harden = GORT_HARDEN_LIGHT};
	gt_init_config(&cfg);
	gt_record_errors();
}

/* The calling thread's cache (the only per-thread cache these tests make). */
static gort_cache_info my_cache(void)
{
	gort_cache_info info[8];
	size_t n = gort_inspect_caches(info, 8);
	for (size_t i = 0; i < n; i++)
		if (info[i].kind == 0 && info[i].mallocs > 0)
			return info[i];
	cr_assert_fail("no thread cache found");
	return info[0];
}

static void fill(void **ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ps[i] = gort_malloc(OBJ);
		cr_assert_not_null(ps[i]);
	}
}

static void free_all(void **ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gort_free(ps[i]);
	gt_expect_clean();
}

Test(cache, a_thread_keeps_the_spans_it_filled)
{
	init_light();
	void *ps[SPANS * PER_SPAN];
	fill(ps, SPANS * PER_SPAN);
	/* Five (the current one and four more) was the old limit: past it,
	 * the owner's frees into its own objects went the remote way. */
	cr_assert_geq(my_cache().nspans, SPANS, "the cache holds %u spans",
		      my_cache().nspans);
	gt_expect_clean();
	free_all(ps, SPANS * PER_SPAN);
	gort_shutdown();
}

Test(cache, a_slot_freed_in_a_used_up_span_is_the_next_one_handed_out)
{
	init_light();
	void *ps[SPANS * PER_SPAN];
	fill(ps, SPANS * PER_SPAN);
	struct gort_memstats before, after;
	gort_memstats(&before);
	void *victim = ps[3 * PER_SPAN + 2]; /* an old span, long used up */
	gort_free(victim);
	gt_expect_clean();
	void *again = gort_malloc(OBJ);
	cr_assert_eq(again, victim, "got %p, not the slot freed at %p", again, victim);
	gort_memstats(&after);
	cr_assert_eq(after.heap_inuse, before.heap_inuse, "the heap grew for a slot it had");
	ps[3 * PER_SPAN + 2] = again;
	free_all(ps, SPANS * PER_SPAN);
	gort_shutdown();
}

Test(cache, spans_emptied_by_the_owner_leave_the_cache)
{
	init_light();
	void *ps[SPANS * PER_SPAN];
	fill(ps, SPANS * PER_SPAN);
	free_all(ps, SPANS * PER_SPAN);
	/* The current span and one empty one stay, and those holding the
	 * slots on the class's recent stack: the first RECENT freed. */
	cr_assert_leq(my_cache().nspans, 2 + RECENT / PER_SPAN, "the cache still holds %u spans",
		      my_cache().nspans);
	gort_shutdown();
}

Test(cache, a_double_free_into_a_span_that_left_the_cache_is_still_named)
{
	init_light();
	void *ps[SPANS * PER_SPAN];
	fill(ps, SPANS * PER_SPAN);
	free_all(ps, SPANS * PER_SPAN);
	gort_free(ps[0]); /* its span emptied first: long gone from the cache */
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "reported as %s: %s", gt_rec.kind_name,
		     gt_rec.message);
	gt_reset_reports();
	gt_expect_clean();
	gort_shutdown();
}

/* The common free tries the arena the cache's frees fell in last, as far as
 * it was committed then: a free above that, once the heap has grown, takes
 * the general path, which makes the grown arena the cache's, and is as
 * exact (the slot waits on the recent stack, counted freed). */
Test(cache, a_free_above_the_committed_end_the_cache_knew_is_exact)
{
	init_light();
	void *first = gort_malloc(OBJ), *keep = gort_malloc(OBJ);
	gort_free(first); /* the cache learns the arena, committed as it is now */
	struct gort_arena_info before, after;
	gort_inspect_arena(&before);
	enum { BIG = 3 * 1024 * 1024 / 32768 };
	void *big[BIG];
	for (int i = 0; i < BIG; i++)
		big[i] = gort_malloc(32768);
	void *late = gort_malloc(100);
	gort_inspect_arena(&after);
	cr_assert_gt(after.arena_used, before.arena_used, "the heap did not grow");
	cr_assert_geq((uintptr_t)late, before.arena_used, "the new object is not above the old end");
	struct gort_memstats m0, m1;
	gort_memstats(&m0);
	gort_free(late);
	gort_memstats(&m1);
	cr_assert_eq(m1.frees, m0.frees + 1);
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(late, &oi), 0);
	cr_assert(oi.bits & (1u << GORT_PLANE_QUARANTINE), "the free did not stay local");
	gt_expect_clean();
	for (int i = 0; i < BIG; i++)
		gort_free(big[i]);
	gort_free(keep);
	gt_expect_clean();
	gort_shutdown();
}
