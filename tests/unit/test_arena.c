/*
 * test_arena.c — the heap's address space: 64 MiB arenas reserved as the
 * heap grows, with no cap but the OS's and an optional limit; ranges of
 * contiguous arenas; objects and free runs that cross arena boundaries.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"

static void fini(void)
{
	gort_set_error_handler(NULL, NULL);
	gort_shutdown();
}

TestSuite(arena, .fini = fini);

static gort_arena_info arena_info(void)
{
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	return ai;
}

static void init_light(size_t limit)
{
	gort_config cfg = {.arena_bytes = limit, .harden = GORT_HARDEN_LIGHT};
	gt_init_config(&cfg);
	gt_record_errors();
}

/* Free runs in the heap (gort_inspect_spans). */
static size_t free_runs(void)
{
	static gort_span_info spans[4096];
	size_t n = gort_inspect_spans(spans, 4096), runs = 0;
	cr_assert_leq(n, 4096);
	for (size_t i = 0; i < n; i++)
		runs += spans[i].state == GORT_SPAN_FREE;
	return runs;
}

Test(arena, the_heap_grows_past_one_arena_and_merges_across_the_boundary)
{
	init_light(0);
	enum { N = 200 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = gort_malloc(MiB);
		cr_assert_not_null(p[i], "1 MiB object %d: errno %d", i, errno);
		memset(p[i], i, 4096);
	}
	gort_arena_info ai = arena_info();
	cr_assert_geq(ai.narenas, 4, "200 MiB in %u arenas", ai.narenas);
	cr_assert_eq(ai.nranges, 1, "arenas above the hint are contiguous");
	cr_assert_eq(gort_check(), 0);
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	cr_assert_eq(gort_check(), 0);
	cr_assert_eq(free_runs(), 1, "free pages across %u arenas not merged into one run",
		     ai.narenas);
	gt_expect_clean();
}

Test(arena, a_large_object_bigger_than_an_arena)
{
	init_light(0);
	size_t n = 3 * GORT_ARENA_BYTES + 12345;
	unsigned char *p = gort_malloc(n);
	cr_assert_not_null(p, "errno %d", errno);
	p[0] = 1;
	p[n - 1] = 2;
	cr_assert_geq(gort_usable_size(p), n);
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p + n - 1, &oi), 0, "last byte not resolved to the object");
	cr_assert_eq(oi.base, (uintptr_t)p);
	cr_assert_eq(gort_check(), 0);
	gort_free(p);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

/* No fixed reservation: 200 untouched gigabytes, as under glibc. */
#ifdef GORT_SAN_THREAD
#define TSAN_SKIP .disabled = true, /* TSan maps shadow for all of it */
#else
#define TSAN_SKIP
#endif
Test(arena, two_hundred_untouched_gigabytes, TSAN_SKIP.timeout = 60)
{
	init_light(0);
	enum { N = 200 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = gort_malloc((size_t)1 << 30);
		cr_assert_not_null(p[i], "malloc(1 GiB) number %d: errno %d", i + 1, errno);
	}
	gort_arena_info ai = arena_info();
	cr_assert_geq(ai.heap_reserved, (size_t)200 << 30);
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

Test(arena, a_heap_limit_ends_in_enomem_and_frees_make_room_again)
{
	init_light(8 * MiB);
	static void *p[64];
	int n = 0;
	errno = 0;
	while (n < 64 && (p[n] = gort_malloc(MiB)) != NULL)
		n++;
	cr_assert_eq(errno, ENOMEM, "at the limit: errno %d", errno);
	cr_assert_eq(n, 8, "%d MiB objects under an 8 MiB limit", n);
	gort_arena_info ai = arena_info();
	cr_assert_leq(ai.heap_committed, 8 * MiB);
	cr_assert_eq(ai.heap_limit, 8 * MiB);
	gort_free(p[0]);
	void *q = gort_malloc(MiB);
	cr_assert_not_null(q, "a freed MiB is not reused under the limit");
	gort_free(q);
	for (int i = 1; i < n; i++)
		gort_free(p[i]);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

/* Something else sits right above the first arena: the heap starts a
 * second range elsewhere, and both work. */
Test(arena, a_taken_address_starts_a_new_range)
{
	init_light(0);
	gort_arena_info ai = arena_info();
	if (!ai.at_hint)
		cr_skip_test("the first range was placed by the kernel with room reserved ahead");
	uintptr_t above = ai.arena_base + GORT_ARENA_BYTES;
	void *block = mmap((void *)above, 4096, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq((uintptr_t)block, above, "could not take the address above the arena");
	void *small = gort_malloc(100);
	void *big = gort_malloc(100 * MiB);
	cr_assert_not_null(big, "errno %d", errno);
	ai = arena_info();
	cr_assert_eq(ai.nranges, 2, "%u ranges", ai.nranges);
	cr_assert((uintptr_t)big < ai.arena_base || (uintptr_t)big >= above + 4096);
	memset(big, 7, 100 * MiB);
	cr_assert_eq(gort_check(), 0);
	gort_heap_arena_info hi[8];
	size_t n = gort_inspect_arenas(hi, 8);
	cr_assert_geq(n, 3);
	for (size_t i = 1; i < n; i++)
		cr_assert_gt(hi[i].base, hi[i - 1].base, "arenas not in address order");
	gort_free(big);
	gort_free(small);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
	gort_shutdown();
	munmap(block, 4096);
}
