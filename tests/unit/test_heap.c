/*
 * test_heap.c — the page heap and the runtime's life cycle: coalescing back
 * to one free run, arena exhaustion (NULL + ENOMEM, then recovery), reuse of
 * freed pages by another size class, memory returned to the OS (RSS falls),
 * exact statistics, gort_init/gort_shutdown cycles, lazy init and the arena
 * placement at Go's hint address.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/mem.h"

#include "../support/gort_test.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng = 0x3c6ef372fe94f82bull;
static uint64_t rnd(void)
{
	return gt_xorshift(&rng);
}

static void shuffle(void **a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rnd() % i);
		void *t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* The heap is one free run covering the whole committed arena, and no span
 * is in use. */
static void expect_empty_heap(void)
{
	gt_expect_one_free_run();
	gt_expect_only_the_free_span();
}

/* ------------------------------------------------------------ coalescing */

Test(heap, freeing_everything_coalesces_into_one_run)
{
	gt_init_recording(1024 * MiB);
	enum {
		N = 6000
	};
	void **ps = calloc(N, sizeof *ps);
	for (size_t i = 0; i < N; i++) {
		uint64_t r = rnd() % 10;
		size_t size = r < 2   ? 32769 + (size_t)(rnd() % (200 << 10))
			      : r < 3 ? (size_t)(rnd() % 16)
				      : 1 + (size_t)(rnd() % 32768);
		ps[i] = r == 2 ? gort_alloc(1 + size % 15, GORT_NOSCAN) : gort_malloc(size);
		cr_assert_not_null(ps[i]);
		memset(ps[i], 0x77, 1);
	}
	cr_assert_eq(gort_check(), 0);
	gort_run_info runs[4];
	cr_assert_leq(gort_inspect_free_runs(runs, 4), 4);
	shuffle(ps, N);
	for (size_t i = 0; i < N; i++)
		gort_free(ps[i]);
	cr_assert_eq(gt_reports(), 0, "%s", gt_rec.message);
	gort_flush_caches();
	expect_empty_heap();
	gt_expect_clean();

	/* Again after the pages were returned to the OS. */
	cr_assert_gt(gort_release(), 0);
	expect_empty_heap();
	for (size_t i = 0; i < N; i++) {
		ps[i] = gort_malloc(1 + (size_t)(rnd() % 100000));
		cr_assert_not_null(ps[i]);
	}
	shuffle(ps, N);
	for (size_t i = 0; i < N; i++)
		gort_free(ps[i]);
	gort_flush_caches();
	expect_empty_heap();
	gt_expect_clean();
	free(ps);
	gort_shutdown();
}

Test(heap, neighbours_merge_whichever_is_freed_first)
{
	gt_init_recording(64 * MiB);
	/* Three adjacent large objects, freed in every order. */
	static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					 {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (int o = 0; o < 6; o++) {
		char *p[3];
		for (int i = 0; i < 3; i++)
			p[i] = gort_malloc(5 * GORT_PAGE_SIZE);
		cr_assert_eq(p[1], p[0] + 5 * GORT_PAGE_SIZE, "large objects not adjacent");
		cr_assert_eq(p[2], p[1] + 5 * GORT_PAGE_SIZE);
		for (int i = 0; i < 3; i++) {
			gort_free(p[orders[o][i]]);
			cr_assert_eq(gort_check(), 0, "order %d step %d: %s", o, i, gt_rec.message);
		}
		expect_empty_heap();
	}
	gt_expect_clean();
	gort_shutdown();
}

/* ------------------------------------------------------ arena exhaustion */

Test(heap, arena_exhaustion_is_enomem_and_recoverable)
{
	gt_init_recording(4 * MiB);
	enum {
		MAXN = 200
	};
	void *ps[MAXN];
	size_t n = 0;
	for (;;) {
		cr_assert_lt(n, MAXN, "a 4 MiB arena held more than %d 64 KiB objects", MAXN);
		errno = 0;
		void *p = gort_malloc(64 << 10);
		if (!p) {
			cr_assert_eq(errno, ENOMEM, "errno %d", errno);
			break;
		}
		memset(p, 0x5c, 64 << 10);
		ps[n++] = p;
	}
	cr_assert_eq(n, 64, "%zu 64 KiB objects in a 4 MiB arena, want all 64", n);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	/* Every kind of request fails cleanly while the arena is full. */
	errno = 0;
	cr_assert_null(gort_malloc(16));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(gort_calloc(1, 1000));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(gort_alloc(3, GORT_NOSCAN));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(gort_aligned_alloc(4096, 100));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(gort_realloc(ps[0], 128 << 10));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);

	for (size_t i = 0; i < n; i++)
		gort_free(ps[i]);
	expect_empty_heap();
	size_t again = 0;
	for (; again < MAXN; again++) {
		ps[again] = gort_malloc(64 << 10);
		if (!ps[again])
			break;
	}
	cr_assert_eq(again, 64, "after freeing everything only %zu fit again", again);
	for (size_t i = 0; i < again; i++)
		gort_free(ps[i]);
	gt_expect_clean();
	gort_shutdown();
}

Test(heap, pages_freed_by_one_class_serve_another)
{
	gt_init_recording(4 * MiB);
	size_t cap = 4 * MiB / 8 + 16;
	void **ps = calloc(cap, sizeof *ps);
	size_t n = 0;
	for (;;) {
		cr_assert_lt(n, cap);
		errno = 0;
		void *p = gort_malloc(8);
		if (!p) {
			cr_assert_eq(errno, ENOMEM);
			break;
		}
		ps[n++] = p;
	}
	cr_assert_geq(n, 4 * MiB / 8 - 2 * 1024, "only %zu 8-byte objects in 4 MiB", n);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	for (size_t i = 0; i < n; i++)
		gort_free(ps[i]);
	cr_assert_eq(gt_reports(), 0, "%s", gt_rec.message);

	/* No flush: the heap must find the emptied class-1 spans by itself. */
	size_t m = 0;
	for (;;) {
		void *p = gort_malloc(32768);
		if (!p)
			break;
		ps[m++] = p;
	}
	cr_assert_geq(m, 120, "only %zu 32 KiB objects after freeing 4 MiB of 8-byte ones", m);
	for (size_t i = 0; i < m; i++)
		gort_free(ps[i]);
	/* And large objects after the small ones. */
	void *big = gort_malloc(3 * MiB);
	cr_assert_not_null(big, "3 MiB did not fit in an emptied 4 MiB arena");
	gort_free(big);
	gort_flush_caches();
	expect_empty_heap();
	gt_expect_clean();
	free(ps);
	gort_shutdown();
}

/* ---------------------------------------------------------------- release */

Test(heap, release_returns_memory_and_rss_falls)
{
	gt_init_recording(512 * MiB);
	enum {
		NBIG = 150,
		NSMALL = 50 * 1024
	};
	void **big = calloc(NBIG, sizeof *big);
	void **small = calloc(NSMALL, sizeof *small);
	size_t rss0 = gt_rss_bytes();
	for (size_t i = 0; i < NBIG; i++) {
		big[i] = gort_malloc(MiB);
		cr_assert_not_null(big[i]);
		memset(big[i], (int)i, MiB);
	}
	for (size_t i = 0; i < NSMALL; i++) {
		small[i] = gort_malloc(1000);
		cr_assert_not_null(small[i]);
		memset(small[i], (int)i, 1000);
	}
	size_t rss1 = gt_rss_bytes();
	cr_assert_geq(rss1, rss0 + 180 * MiB, "RSS grew by only %zu MiB for 200 MiB of objects",
		      (rss1 - rss0) / MiB);
	for (size_t i = 0; i < NBIG; i++)
		gort_free(big[i]);
	for (size_t i = 0; i < NSMALL; i++)
		gort_free(small[i]);
	size_t released = gort_release();
	cr_assert_geq(released, 150 * MiB, "gort_release() gave back %zu MiB", released / MiB);
	size_t rss2 = gt_rss_bytes();
	cr_assert_geq(rss1 - rss2, 150 * MiB, "RSS fell by %zu MiB only (from %zu to %zu MiB)",
		      (rss1 > rss2 ? rss1 - rss2 : 0) / MiB, rss1 / MiB, rss2 / MiB);

	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_inuse, 0);
	cr_assert_eq(ms.heap_released, ms.heap_idle);
	cr_assert_geq(ms.num_released, 1);
	cr_assert_eq(gort_release(), 0, "a second release has nothing left to give");

	/* Released memory comes back zeroed and usable. */
	unsigned char *p = gort_calloc(1, 100 * MiB);
	cr_assert_not_null(p);
	for (size_t i = 0; i < 100 * MiB; i += 4096)
		cr_assert_eq(p[i], 0);
	gort_free(p);
	gt_expect_clean();
	free(big);
	free(small);
	gort_shutdown();
}

/* ------------------------------------------------------------------ stats */

Test(heap, memstats_count_a_known_sequence_exactly)
{
	gt_init_recording(64 * MiB);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, 0);
	cr_assert_eq(ms.frees, 0);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(ms.heap_alloc, 0);
	cr_assert_eq(ms.total_alloc, 0);

	void *a = gort_malloc(100);	       /* class 9, 112 bytes */
	void *b = gort_malloc(40000);	       /* large, 5 pages */
	void *t1 = gort_alloc(5, GORT_NOSCAN); /* tiny: opens a 16-byte block */
	void *t2 = gort_alloc(3, GORT_NOSCAN); /* tiny: same block */
	void *c = gort_calloc(10, 10);	       /* 100 bytes: class 9 again */
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, 5);
	cr_assert_eq(ms.frees, 0);
	cr_assert_eq(ms.heap_objects, 5);
	cr_assert_eq(ms.tiny_allocs, 2);
	cr_assert_eq(ms.large_allocs, 1);
	cr_assert_eq(ms.heap_alloc, 112 + 40960 + 16 + 112, "heap_alloc %llu",
		     (unsigned long long)ms.heap_alloc);
	cr_assert_eq(ms.alloc, ms.heap_alloc);
	cr_assert_eq(ms.total_alloc, 112 + 40960 + 16 + 112);
	cr_assert_eq(ms.by_size[9].mallocs, 2);
	cr_assert_eq(ms.by_size[9].size, 112);
	cr_assert_eq(ms.by_size[0].mallocs, 1);

	gort_free(a);
	gort_free(t1);
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, 5);
	cr_assert_eq(ms.frees, 2);
	cr_assert_eq(ms.heap_objects, 3);
	cr_assert_eq(ms.heap_alloc, 40960 + 16 + 112, "the tiny block is still in use");
	cr_assert_eq(ms.by_size[9].frees, 1);

	gort_free(t2);
	gort_free(b);
	gort_free(c);
	gort_memstats(&ms);
	cr_assert_eq(ms.frees, 5);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(ms.by_size[0].frees, 1);
	cr_assert_eq(ms.by_size[9].frees, 2);
	gort_flush_caches(); /* gives up the open tiny block */
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_alloc, 0, "heap_alloc %llu after freeing everything",
		     (unsigned long long)ms.heap_alloc);
	cr_assert_eq(ms.heap_inuse, 0);
	cr_assert_eq(ms.total_alloc, 112 + 40960 + 16 + 112, "total_alloc is cumulative");
	cr_assert_eq(ms.mallocs, 5);
	cr_assert_eq(ms.frees, 5);

	/* A reported misuse changes no counter. */
	gort_free(a);
	cr_assert_eq(gt_reports(), 1);
	gt_reset_reports();
	struct gort_memstats ms2;
	gort_memstats(&ms2);
	cr_assert_eq(ms2.mallocs, ms.mallocs);
	cr_assert_eq(ms2.frees, ms.frees);
	cr_assert_eq(ms2.heap_alloc, ms.heap_alloc);
	gt_expect_clean();
	gort_shutdown();
}

/* heap_idle, heap_inuse, heap_released and heap_sys against the page map. */
static void expect_page_stats_consistent(void)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	size_t nruns = gort_inspect_free_runs(NULL, 0);
	gort_run_info *runs = calloc(nruns + 1, sizeof *runs);
	cr_assert_eq(gort_inspect_free_runs(runs, nruns + 1), nruns);
	uint64_t idle = 0, released = 0;
	for (size_t i = 0; i < nruns; i++) {
		idle += (uint64_t)runs[i].npages * GORT_PAGE_SIZE;
		released += (uint64_t)runs[i].released_pages * GORT_PAGE_SIZE;
		cr_assert_eq(runs[i].released, runs[i].released_pages == runs[i].npages);
	}
	free(runs);
	size_t nspans = gort_inspect_spans(NULL, 0);
	gort_span_info *spans = calloc(nspans + 1, sizeof *spans);
	cr_assert_eq(gort_inspect_spans(spans, nspans + 1), nspans);
	uint64_t inuse = 0;
	for (size_t i = 0; i < nspans; i++)
		if (spans[i].state == GORT_SPAN_INUSE)
			inuse += (uint64_t)spans[i].npages * GORT_PAGE_SIZE;
	free(spans);
	cr_assert_eq(ms.heap_idle, idle, "heap_idle %llu, free runs hold %llu",
		     (unsigned long long)ms.heap_idle, (unsigned long long)idle);
	cr_assert_eq(ms.heap_released, released, "heap_released %llu, released runs hold %llu",
		     (unsigned long long)ms.heap_released, (unsigned long long)released);
	cr_assert_eq(ms.heap_inuse, inuse, "heap_inuse %llu, in-use spans hold %llu",
		     (unsigned long long)ms.heap_inuse, (unsigned long long)inuse);
	cr_assert_eq(ms.heap_sys, ai.arena_used - ai.arena_base);
	cr_assert_eq(ms.heap_idle + ms.heap_inuse, ms.heap_sys);
	cr_assert_geq(ms.heap_inuse, ms.heap_alloc);
	cr_assert_geq(ms.sys, ms.heap_sys);
}

Test(heap, page_stats_agree_with_the_free_runs)
{
	gt_init_recording(256 * MiB);
	enum {
		N = 3000
	};
	void *ps[N];
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			size_t size = rnd() % 8 == 0 ? 32769 + (size_t)(rnd() % (1 << 20))
						     : (size_t)(rnd() % 20000);
			ps[i] = gort_malloc(size);
			cr_assert_not_null(ps[i]);
		}
		expect_page_stats_consistent();
		for (int i = 0; i < N; i += 2)
			gort_free(ps[i]);
		expect_page_stats_consistent();
		gort_release();
		expect_page_stats_consistent();
		gort_flush_caches();
		expect_page_stats_consistent();
		for (int i = 1; i < N; i += 2)
			gort_free(ps[i]);
		expect_page_stats_consistent();
		if (round % 2)
			gort_release();
		expect_page_stats_consistent();
	}
	gt_expect_clean();
	gort_shutdown();
}

/* -------------------------------------------------------------- life cycle */

Test(heap, init_twice_is_ebusy)
{
	gt_init_recording(64 * MiB);
	errno = 0;
	cr_assert_eq(gort_init(NULL), -1);
	cr_assert_eq(errno, EBUSY);
	gort_config cfg = {.arena_bytes = 64 * MiB};
	errno = 0;
	cr_assert_eq(gort_init(&cfg), -1);
	cr_assert_eq(errno, EBUSY);
	void *p = gort_malloc(10);
	cr_assert_not_null(p, "a refused second init must leave the runtime working");
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}

Test(heap, bad_config_is_einval)
{
	gort_config bad[] = {
		{.threaded = 2},
		{.procs = 100000},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		cr_assert_eq(gort_init(&bad[i]), -1, "config %zu accepted", i);
		cr_assert_eq(errno, EINVAL, "config %zu: errno %d", i, errno);
	}
	/* A refused config leaves nothing behind. */
	gt_init_recording(64 * MiB);
	void *p = gort_malloc(100);
	cr_assert_not_null(p);
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}

Test(heap, init_shutdown_cycles)
{
	for (int cycle = 0; cycle < 8; cycle++) {
		gt_init_recording((size_t)(16 + 16 * cycle) * MiB);
		gort_arena_info ai;
		gort_inspect_arena(&ai);
		cr_assert_geq(ai.arena_bytes, (size_t)(16 + 16 * cycle) * MiB);
		struct gort_memstats ms;
		gort_memstats(&ms);
		cr_assert_eq(ms.mallocs, 0, "cycle %d starts with old counts", cycle);
		cr_assert_eq(ms.heap_objects, 0);
		void *ps[500];
		for (int i = 0; i < 500; i++) {
			ps[i] = i % 50 == 0 ? gort_malloc(100000)
				: i % 3	    ? gort_malloc((size_t)i * 7)
					    : gort_alloc(5, GORT_NOSCAN);
			cr_assert_not_null(ps[i]);
		}
		for (int i = 0; i < 500; i += 2)
			gort_free(ps[i]);
		gt_expect_clean();
		/* Shut down with objects still live: everything goes at once. */
		gort_shutdown();
	}
}

Test(heap, pointer_from_before_shutdown_is_reported)
{
	gt_init_recording(64 * MiB);
	void *small = gort_malloc(100);
	void *large = gort_malloc(100000);
	gort_shutdown();

	/* While no runtime exists. */
	gort_free(small);
	cr_assert_eq(gt_reports(), 1, "free after shutdown not reported");
	cr_assert_eq(gt_rec.kind, GORT_ERR_INVALID_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)small);

	/* After a new init: the old arena is gone; nothing is handed out yet. */
	gt_reset_reports();
	gt_init_recording(64 * MiB);
	gort_free(small);
	cr_assert_eq(gt_reports(), 1, "stale free after re-init not reported");
	cr_assert(gt_rec.kind == GORT_ERR_INVALID_FREE || gt_rec.kind == GORT_ERR_DOUBLE_FREE, "%s",
		  gt_rec.message);
	gort_free(large);
	cr_assert_eq(gt_reports(), 2);
	cr_assert(gt_rec.kind == GORT_ERR_INVALID_FREE || gt_rec.kind == GORT_ERR_DOUBLE_FREE, "%s",
		  gt_rec.message);
	cr_assert_eq(gort_usable_size(small), 0);
	cr_assert_eq(gt_reports(), 3);
	cr_assert_null(gort_realloc(large, 10));
	cr_assert_eq(gt_reports(), 4);
	gt_reset_reports();
	void *p = gort_malloc(100);
	cr_assert_not_null(p);
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}

Test(heap, lazy_init_on_first_call)
{
	gt_record_errors();
	unsetenv("GORT_HARDEN");
	void *p = gort_malloc(100);
	cr_assert_not_null(p, "gort_malloc before gort_init");
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_DEFAULT, "lazy init takes the default preset");
	cr_assert_eq(gort_usable_size(p), 100, "default preset: usable size is the request");
	void *q = gort_malloc(1 << 20);
	cr_assert_not_null(q);
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	cr_assert_eq(ai.heap_limit, 0, "lazy init: no heap limit (GORT_HEAP_LIMIT unset)");
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 2);
	errno = 0;
	cr_assert_eq(gort_init(NULL), -1, "gort_init after lazy init");
	cr_assert_eq(errno, EBUSY);
	gort_free(p);
	gort_free(q);
	gt_expect_clean();
	gort_shutdown();
	gt_init_recording(64 * MiB);
	gort_inspect_arena(&ai);
	cr_assert_eq(ai.heap_limit, 64 * MiB);
	cr_assert_eq(ai.arena_bytes, 64 * MiB);
	gort_shutdown();
}

Test(heap, lazy_init_through_every_entry_point)
{
	/* Each of these may be the first call a program makes. */
	void *p = gort_calloc(3, 5);
	cr_assert_not_null(p);
	gort_free(p);
	gort_shutdown();
	p = gort_aligned_alloc(64, 10);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 64, 0);
	gort_free(p);
	gort_shutdown();
	p = gort_alloc(3, GORT_NOSCAN);
	cr_assert_not_null(p);
	gort_free(p);
	gort_shutdown();
	p = gort_realloc(NULL, 70000);
	cr_assert_not_null(p);
	gort_free(p);
	gort_shutdown();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, 0);
	gort_shutdown();
	p = gort_malloc(1);
	cr_assert_not_null(p);
	gort_free(p);
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

/* write(2) from an address the process may not read fails with EFAULT. */
static bool unreadable(uintptr_t p)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	ssize_t n = write(fds[1], (const void *)p, 1);
	int e = errno;
	close(fds[0]);
	close(fds[1]);
	return n < 0 && e == EFAULT;
}

Test(heap, arena_layout_and_hint)
{
	gt_init_recording(64 * MiB);
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	cr_assert_eq(ai.arena_bytes, 64 * MiB, "the limit, when one is set");
	cr_assert_eq(ai.narenas, 1);
	/* One arena at the hint; a range the kernel places reserves 1 GiB
	 * ahead (sanitizer builds). */
	cr_assert_eq(ai.heap_reserved, ai.at_hint ? GORT_ARENA_BYTES : 16 * GORT_ARENA_BYTES,
		     "reserved at init: %zu", ai.heap_reserved);
	/* The first arena's side tables: [spans | guard | bitmap | guard],
	 * outside the heap's address space. */
	cr_assert_eq(ai.spans_base % 4096, 0);
	uintptr_t gap1 = ai.spans_base + ai.spans_bytes, gap2 = ai.bitmap_base + ai.bitmap_bytes;
	cr_assert_eq(ai.spans_bytes, GORT_ARENA_BYTES / GORT_PAGE_SIZE * sizeof(void *));
	cr_assert_eq(ai.bitmap_bytes, GORT_ARENA_BYTES / 16);
	cr_assert_geq(ai.bitmap_base - gap1, 64 << 10, "no guard after the spans array");
	cr_assert(unreadable(ai.bitmap_base - (64 << 10)) && unreadable(ai.bitmap_base - 1),
		  "spans/bitmap guard readable");
	cr_assert(ai.reserved_base + ai.reserved_bytes <= ai.arena_base ||
			  ai.reserved_base >= ai.arena_base + GORT_ARENA_BYTES,
		  "side tables inside the heap");
	(void)gap2;
	cr_assert_eq(ai.arena_base % GORT_ARENA_BYTES, 0, "arena not aligned to its size");
	if (ai.at_hint)
		cr_assert_eq(ai.arena_base, (uintptr_t)0xc000000000, "at_hint but arena at %#lx",
			     (unsigned long)ai.arena_base);
	else
		cr_assert_neq(ai.arena_base, (uintptr_t)0xc000000000);
#if !defined(GORT_SAN_ADDRESS) && !defined(GORT_SAN_THREAD)
	/* A fresh process has nothing at Go's hint, so the normal build uses it. */
	cr_assert(ai.at_hint, "arena not at the hint address in a fresh process");
#endif
	cr_assert_eq(ai.arena_used, ai.arena_base, "nothing committed before the first malloc");
	void *p = gort_malloc(10);
	gort_inspect_arena(&ai);
	cr_assert_geq((uintptr_t)p, ai.arena_base);
	cr_assert_lt((uintptr_t)p, ai.arena_used);
	cr_assert_leq(ai.arena_used, ai.arena_base + ai.arena_bytes);
	gort_heap_arena_info hi[4];
	cr_assert_eq(gort_inspect_arenas(hi, 4), 1);
	cr_assert_eq(hi[0].base, ai.arena_base);
	cr_assert_eq(hi[0].used, ai.arena_used);
	cr_assert_eq(hi[0].spans_base, ai.spans_base);
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Take the page at Go's hint so the arena must land elsewhere. ThreadSanitizer
 * treats a mapping there as fatal, and gort never asks for the hint under it
 * anyway, so there the test runs without the block. */
static void *block_hint_page(void)
{
#if defined(GORT_SAN_THREAD)
	return MAP_FAILED;
#else
	return mmap((void *)0xc000000000, 4096, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
#endif
}

/* When Go's hint is taken (by another mapping, or always in the sanitizer
 * builds), the arena lands wherever the kernel puts it: it must still start
 * on an 8 KiB page, or every span, every 8 KiB-class object, aligned_alloc
 * and large objects lose their alignment. The kernel aligns mappings to
 * 4 KiB only, so the tests below reserve twice, the second time shifted by
 * one OS page, to see both placements: attempt 0 or 1 of that starts a
 * runtime here and returns its arena. *reserved is the size of the last
 * attempt's reservation, updated to this one's. */
static gort_arena_info start_attempt(int attempt, size_t *reserved)
{
	if (attempt == 1) {
		/* Plug the top page of the gap the last reservation used. */
		char *h = mmap(NULL, *reserved + 4096, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		cr_assert_neq(h, MAP_FAILED);
		munmap(h, *reserved + 4096);
		mmap(h + *reserved, 4096, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
	gt_init_recording(64 * MiB);
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	*reserved = ai.reserved_bytes;
	return ai;
}

Test(heap, arena_away_from_the_hint_is_page_aligned)
{
	void *block = block_hint_page();
	if (block != MAP_FAILED && block != (void *)0xc000000000) {
		munmap(block, 4096); /* an old kernel took the address as a hint */
		block = MAP_FAILED;
	}
	size_t reserved = 0;
	uintptr_t bases[2];
	for (int attempt = 0; attempt < 2; attempt++) {
		gort_arena_info ai = start_attempt(attempt, &reserved);
		bases[attempt] = ai.arena_base;
		if (block != MAP_FAILED)
			cr_assert_not(ai.at_hint, "the hint is taken, yet at_hint is set");
		cr_assert_eq(ai.arena_base % GORT_PAGE_SIZE, 0,
			     "attempt %d: arena at %#lx is not on an 8 KiB page", attempt,
			     (unsigned long)ai.arena_base);
		void *page = gort_malloc(8192);
		void *al = gort_aligned_alloc(8192, 100);
		void *big = gort_malloc(100000);
		void *al64k = gort_aligned_alloc(65536, 70000);
		cr_assert_eq((uintptr_t)page % 8192, 0, "malloc(8192) = %p", page);
		cr_assert_eq((uintptr_t)al % 8192, 0, "aligned_alloc(8192, 100) = %p", al);
		cr_assert_eq((uintptr_t)big % 8192, 0, "large object at %p", big);
		cr_assert_eq((uintptr_t)al64k % 65536, 0, "aligned_alloc(65536, 70000) = %p",
			     al64k);
		gort_free(page);
		gort_free(al);
		gort_free(big);
		gort_free(al64k);
		gt_expect_clean();
		gort_shutdown();
	}
	cr_log_info("arena bases %#lx and %#lx", (unsigned long)bases[0], (unsigned long)bases[1]);
}

/* The same placements, seen from the objects: large objects aligned beyond
 * a page must not overlap each other or run past the committed arena. */
Test(heap, aligned_large_objects_off_the_hint_stay_inside_their_pages)
{
	void *block = block_hint_page();
	(void)block;
	size_t reserved = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		gort_arena_info ai = start_attempt(attempt, &reserved);
		enum {
			N = 24
		};
		void *ps[N];
		uintptr_t lo[N], hi[N];
		for (int i = 0; i < N; i++) {
			size_t align = (size_t)16384 << (i % 4), size = 40000 + (size_t)i * 3000;
			ps[i] = i % 3 ? gort_aligned_alloc(align, size) : gort_malloc(size);
			cr_assert_not_null(ps[i]);
			gort_inspect_arena(&ai);
			lo[i] = (uintptr_t)ps[i];
			hi[i] = lo[i] + gort_usable_size(ps[i]);
			cr_assert_leq(hi[i], ai.arena_used,
				      "attempt %d: object %d [%#lx, %#lx) runs past the committed "
				      "arena (%#lx)",
				      attempt, i, (unsigned long)lo[i], (unsigned long)hi[i],
				      (unsigned long)ai.arena_used);
			for (int j = 0; j < i; j++)
				cr_assert(
					hi[j] <= lo[i] || hi[i] <= lo[j],
					"attempt %d: objects [%#lx, %#lx) and [%#lx, %#lx) overlap",
					attempt, (unsigned long)lo[j], (unsigned long)hi[j],
					(unsigned long)lo[i], (unsigned long)hi[i]);
		}
		cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
		for (int i = 0; i < N; i++)
			gort_free(ps[i]);
		gt_expect_clean();
		gort_shutdown();
	}
}

/* fixalloc.c's chunks (span structures, caches, tiny masks) end with a
 * guard page. The chunk header is {next, bytes}, bytes counting the guard. */
Test(heap, metadata_chunks_end_in_a_guard_page)
{
	fixalloc_t f;
	gort_fixalloc_init(&f, 200);
	cr_assert_not_null(gort_fixalloc_alloc(&f));
	const struct {
		void *next;
		size_t bytes;
	} *h = f.chunks;
	uintptr_t end = (uintptr_t)h + h->bytes, page = gort_os_page_size();
	cr_assert(unreadable(end - page), "the chunk's last page is readable");
	cr_assert(!unreadable(end - page - 1), "the chunk's own bytes are not readable");
	gort_fixalloc_destroy(&f);
}

/* popcount64 counts the same with the popcnt instruction (when the CPU has
 * it) and without it. */
Test(heap, popcount_is_the_same_either_way)
{
	gort_bitmap_cpu_init();
	bool hw = gort_have_popcnt;
	uint64_t rng = 7;
	for (int i = 0; i < 10000; i++) {
		uint64_t x = gt_xorshift(&rng) & gt_xorshift(&rng);
		uint32_t want = (uint32_t)__builtin_popcountll(x);
		gort_have_popcnt = false;
		cr_assert_eq(popcount64(x), want);
		gort_have_popcnt = hw;
		cr_assert_eq(popcount64(x), want);
		if (hw) /* the instruction itself, where the CPU has it */
			cr_assert_eq(gort_popcount_hw(x), want);
	}
}

/* ------------------------------------------------------- span checks */

/* gort_check and gort_check_at find a broken span invariant, name it, and
 * find nothing once it is repaired. */
static void expect_caught(const void *p, const char *why)
{
	cr_assert_eq(gort_check_at(p), -1, "gort_check_at missed: %s", why);
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_CORRUPTION);
	cr_assert(strstr(gt_rec.detail, why), "%s", gt_rec.detail);
	gt_reset_reports();
	cr_assert_eq(gort_check(), -1, "gort_check missed: %s", why);
	cr_assert(strstr(gt_rec.detail, why), "%s", gt_rec.detail);
	gt_reset_reports();
}

Test(heap, an_allocated_slot_above_the_high_water_mark_is_caught)
{
	gt_init_recording(64 * MiB);
	void *p = gort_malloc(64);
	span_t *s = gort_span_lookup((uintptr_t)p);
	cr_assert(s && s->nelems > 64 && ld(&s->hwm) < s->nelems - 1);
	size_t last = s->nelems - 1; /* in a word no cache has taken yet */
	bitmap_set(s, GORT_PLANE_ALLOC, last);
	expect_caught(p, "high-water mark");
	bitmap_clear(s, GORT_PLANE_ALLOC, last);
	cr_assert_eq(gort_check_at(p), 0);
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}

Test(heap, an_allocated_tiny_block_without_an_object_is_caught)
{
	gort_config cfg = {.arena_bytes = 64 * MiB, .harden = GORT_HARDEN_LIGHT};
	gt_init_config(&cfg); /* tiny objects exist in light only */
	gt_record_errors();
	void *p = gort_alloc(8, GORT_NOSCAN);
	gort_flush_caches(); /* the block is no longer any cache's open block */
	span_t *s = gort_span_lookup((uintptr_t)p);
	cr_assert(s && s->spanclass == TINY_SPAN_CLASS);
	size_t i = ((uintptr_t)p - s->base) / TINY_SIZE;
	uint64_t mask = ld(&s->tiny[i]);
	cr_assert(mask & TINY_LIVE_MASK);
	st(&s->tiny[i], 0);
	expect_caught(p, "tiny block with no object");
	st(&s->tiny[i], mask);
	cr_assert_eq(gort_check_at(p), 0);
	gort_free(p);
	gt_expect_clean();
	gort_shutdown();
}
