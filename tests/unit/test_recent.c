/*
 * test_recent.c — light's recent stacks (lib/mem/recent.c): the owner's
 * frees wait there, ALLOC kept and QUARANTINE set, and come back first,
 * the slot freed last staying until the next free; a second free of a
 * waiting slot, from the owner or another thread, is a double free;
 * statistics and gort_check stay exact while slots wait; a free past a full
 * stack goes to the bitmap; a flush frees them all.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"

#define OBJ 100

static void init_light(void)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .harden = GORT_HARDEN_LIGHT};
	gt_init_config(&cfg);
	gt_record_errors();
}

TestSuite(recent, .init = init_light, .fini = gt_teardown);

static unsigned bits_of(void *p)
{
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p, &oi), 0);
	return oi.bits;
}

static bool waiting(void *p)
{
	unsigned b = bits_of(p);
	return (b & (1u << GORT_PLANE_ALLOC)) && (b & (1u << GORT_PLANE_QUARANTINE));
}

Test(recent, the_slot_freed_before_the_last_comes_back_first)
{
	void *a = gort_malloc(OBJ), *b = gort_malloc(OBJ), *c = gort_malloc(OBJ);
	gort_free(a);
	gort_free(b);
	cr_assert(waiting(a) && waiting(b), "freed slots are not on the stack");
	gt_expect_clean();
	void *x = gort_malloc(OBJ);
	cr_assert_eq(x, a, "got %p, want the slot freed before the last (%p)", x, a);
	cr_assert_not(waiting(x));
	cr_assert(waiting(b), "the slot freed last was handed out");
	void *y = gort_malloc(OBJ);
	cr_assert_neq(y, b, "the slot freed last came back with a fresh word at hand");
	gort_free(x);
	gort_free(y);
	gort_free(c);
	gt_expect_clean();
}

Test(recent, a_double_free_after_a_reallocation_is_caught)
{
	void *p = gort_malloc(OBJ);
	gort_free(p);
	void *q = gort_malloc(OBJ);
	cr_assert_neq(q, p);
	gort_free(p);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
	gt_reset_reports();
	gort_free(q);
	gt_expect_clean();
}

Test(recent, every_use_of_a_waiting_slot_is_reported)
{
	void *p = gort_malloc(OBJ), *keep = gort_malloc(OBJ);
	gort_free(p);
	cr_assert(waiting(p));
	gort_free(p);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gort_usable_size(p), 0);
	cr_assert_eq(gt_reports(), 2);
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE, "%s", gt_rec.message);
	cr_assert_null(gort_realloc(p, 2 * OBJ));
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	gt_reset_reports();
	cr_assert(waiting(p), "a reported misuse changed the slot");
	gort_free(keep);
	gt_expect_clean();
}

static void *free_it(void *p)
{
	gort_free(p);
	return NULL;
}

Test(recent, another_threads_free_of_a_waiting_slot_is_a_double_free)
{
	void *p = gort_malloc(OBJ), *keep = gort_malloc(OBJ);
	gort_free(p);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, free_it, p), 0);
	pthread_join(t, NULL);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
	gt_reset_reports();
	cr_assert(waiting(p));
	gort_free(keep);
	gt_expect_clean();
}

Test(recent, statistics_count_a_waiting_slot_as_freed)
{
	struct gort_memstats m0, m1, m2;
	void *p = gort_malloc(OBJ), *q = gort_malloc(OBJ);
	uint64_t slot = gort_usable_size(p);
	gort_memstats(&m0);
	gort_free(p);
	gort_free(q);
	gort_memstats(&m1);
	cr_assert_eq(m1.frees, m0.frees + 2);
	cr_assert_eq(m1.heap_objects, m0.heap_objects - 2);
	cr_assert_eq(m1.heap_alloc, m0.heap_alloc - 2 * slot);
	cr_assert_eq(m1.quarantine_objects, 0, "waiting slots are not a quarantine");
	void *r = gort_malloc(OBJ);
	gort_memstats(&m2);
	cr_assert_eq(m2.mallocs, m1.mallocs + 1);
	cr_assert_eq(m2.heap_objects, m1.heap_objects + 1);
	cr_assert_eq(m2.heap_alloc, m1.heap_alloc + slot);
	gort_free(r);
	gt_expect_clean();
}

/* More frees than the stack holds: those past its size go back to the
 * bitmap. */
Test(recent, frees_past_a_full_stack_go_to_the_bitmap)
{
	enum { N = 64, RECENT = 16 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_malloc(OBJ);
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	gt_expect_clean();
	for (int i = 0; i < N; i++) {
		unsigned b = bits_of(p[i]);
		if (i >= RECENT)
			cr_assert_not(b & (1u << GORT_PLANE_ALLOC), "slot %d still held", i);
		else
			cr_assert(waiting(p[i]), "slot %d, among the first freed, is not waiting", i);
	}
}

static int held_of(size_t size)
{
	enum { N = 8 };
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_malloc(size);
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	gt_expect_clean();
	int held = 0;
	for (int i = 0; i < N; i++)
		held += waiting(p[i]);
	return held;
}

/* The big classes hold fewer slots (RECENT_BYTES, 16 KiB, each), and those
 * above 8 KiB none. */
Test(recent, a_big_class_holds_few_slots)
{
	cr_assert_eq(held_of(4096), 4);
	cr_assert_eq(held_of(8192), 2);
	cr_assert_eq(held_of(16384), 0);
	cr_assert_eq(held_of(32768), 0);
}

Test(recent, a_flush_frees_every_waiting_slot)
{
	void *p = gort_malloc(OBJ), *q = gort_malloc(OBJ);
	gort_free(p);
	gort_free(q);
	gort_flush_caches();
	gt_expect_clean();
	gort_span_info si;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)p, &si), -1, "the emptied span stayed in use");
}
