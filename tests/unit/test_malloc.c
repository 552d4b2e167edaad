/*
 * test_malloc.c — the malloc family through the public API: sizes, usable
 * sizes and alignment for every request size, calloc zeroing and overflow,
 * impossible sizes, realloc across classes and in place, aligned_alloc for
 * every power of two up to 2 MiB, GORT_ZERO, and the tiny allocator
 * (packing, no overlap, exact frees, misuse of tiny objects).
 *
 * Every test runs in its own process with its own 256 MiB step-mode runtime
 * and a recording error handler, so an unexpected report fails the test
 * instead of aborting it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/sizeclass.h"

#include "../support/gort_test.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	return gt_xorshift(&rng_state);
}

static size_t lowbit(size_t x)
{
	return x & -x;
}

/* The alignment every object of a small class has: objects sit at
 * span_base + i * size with page-aligned span bases. */
static size_t class_align(size_t size)
{
	size_t a = lowbit(size);
	return a > SC_PAGE_SIZE ? SC_PAGE_SIZE : a;
}

/* The request's class under gort.h's alignment contract: 16 bytes and up
 * round to a multiple of 16, which skips Go's 24-byte class. */
static size_t abi_request(size_t n)
{
	return n >= 16 ? (n + 15) & ~(size_t)15 : n;
}

TestSuite(malloc, .init = gt_setup, .fini = gt_teardown);

/* --------------------------------------------------------- every size */

Test(malloc, every_size_has_its_class_usable_size_and_alignment)
{
	for (size_t n = 0; n <= 33000; n++) {
		unsigned char *p = gort_malloc(n);
		cr_assert_not_null(p, "malloc(%zu)", n);
		size_t us = gort_usable_size(p);
		cr_assert_geq(us, n, "usable_size(malloc(%zu)) = %zu", n, us);
		if (n <= SC_MAX_SMALL) {
			unsigned cls = gort_size_to_class(abi_request(n));
			cr_assert_eq(us, gort_sc_size[cls],
				     "malloc(%zu): usable %zu, class %u is %u", n, us, cls,
				     gort_sc_size[cls]);
			cr_assert_eq((uintptr_t)p % class_align(us), 0,
				     "malloc(%zu) = %p not aligned to %zu", n, (void *)p,
				     class_align(us));
		} else {
			cr_assert_eq(us % SC_PAGE_SIZE, 0, "large usable size %zu", us);
			cr_assert_lt(us, n + SC_PAGE_SIZE, "large usable size %zu for %zu", us, n);
			cr_assert_eq((uintptr_t)p % SC_PAGE_SIZE, 0, "large object %p", (void *)p);
		}
		if (n >= 8)
			cr_assert_eq((uintptr_t)p % 8, 0, "malloc(%zu) = %p", n, (void *)p);
		if (n >= 16)
			cr_assert_eq((uintptr_t)p % 16, 0, "malloc(%zu) = %p", n, (void *)p);
		/* The whole usable size is ours to write. */
		if (n % 61 == 0 || n > SC_MAX_SMALL - 64)
			memset(p, 0xee, us);
		else
			p[0] = p[us - 1] = 0xee;
		gort_free(p);
	}
	gt_expect_clean();
}

Test(malloc, every_class_boundary_lands_in_that_class)
{
	for (unsigned c = 1; c < SC_NUM; c++) {
		size_t sizes[] = {gort_sc_size[c - 1] + 1,
				  (gort_sc_size[c - 1] + gort_sc_size[c]) / 2 + 1, gort_sc_size[c]};
		for (size_t k = 0; k < 3; k++) {
			/* Only GORT_NOSCAN requests reach the 24-byte class
			 * (gort.h's alignment contract). */
			void *p = gort_alloc(sizes[k], gort_sc_size[c] % 16 && sizes[k] >= 16
								? GORT_NOSCAN
								: 0);
			cr_assert_not_null(p);
			gort_object_info oi;
			cr_assert_eq(gort_inspect_object(p, &oi), 0);
			cr_assert_eq(oi.size_class, c, "size %zu in class %u, want %u", sizes[k],
				     oi.size_class, c);
			cr_assert_eq(oi.base, (uintptr_t)p, "object does not start at its slot");
			cr_assert_eq(oi.elemsize, gort_sc_size[c]);
			cr_assert(oi.bits & (1u << GORT_PLANE_ALLOC), "ALLOC bit not set");
			cr_assert_eq(gort_usable_size(p), gort_sc_size[c]);
			gort_free(p);
			cr_assert_eq(gort_inspect_object(p, &oi), 0);
			/* Live is ALLOC without FREED (FREED: freed, not yet swept)
			 * or QUARANTINE (light: on the cache's recent stack). */
			cr_assert(!(oi.bits & (1u << GORT_PLANE_ALLOC)) ||
					  (oi.bits & (1u << GORT_PLANE_FREED |
						      1u << GORT_PLANE_QUARANTINE)),
				  "size %zu: slot still live after free (bits %#x)", sizes[k],
				  oi.bits);
		}
	}
	void *p = gort_malloc(SC_MAX_SMALL + 1);
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p, &oi), 0);
	cr_assert_eq(oi.size_class, 0, "32769 bytes is a large object");
	gort_free(p);
	gt_expect_clean();
}

/* All sizes 0..4096 live at once: no two overlap, each is fully writable. */
Test(malloc, small_sizes_live_together_do_not_overlap)
{
	enum {
		N = 4097
	};
	unsigned char *ps[N];
	gt_interval iv[N];
	for (size_t n = 0; n < N; n++) {
		ps[n] = gort_malloc(n);
		cr_assert_not_null(ps[n]);
		gt_fill(ps[n], n, n);
		iv[n] = (gt_interval){(uintptr_t)ps[n], (uintptr_t)ps[n] + gort_usable_size(ps[n]),
				      n};
	}
	for (size_t n = 0; n < N; n++)
		cr_assert(gt_intact(ps[n], n, n), "object of %zu bytes was overwritten", n);
	size_t bad = gt_first_overlap(iv, N);
	cr_assert_eq(bad, N, "objects overlap at %#lx", (unsigned long)iv[bad < N ? bad : 0].lo);
	for (size_t n = 0; n < N; n++)
		gort_free(ps[n]);
	gt_expect_clean();
}

Test(malloc, malloc_zero_gives_distinct_pointers)
{
	enum {
		N = 2000
	};
	void *ps[N];
	gt_interval iv[N];
	for (int i = 0; i < N; i++) {
		ps[i] = gort_malloc(0);
		cr_assert_not_null(ps[i]);
		cr_assert_geq(gort_usable_size(ps[i]), 1);
		iv[i] = (gt_interval){(uintptr_t)ps[i], (uintptr_t)ps[i] + 1, (uint64_t)i};
	}
	cr_assert_eq(gt_first_overlap(iv, N), N, "malloc(0) returned the same pointer twice");
	for (int i = 0; i < N; i++)
		gort_free(ps[i]);
	gt_expect_clean();
}

/* --------------------------------------------------------------- calloc */

Test(malloc, calloc_zeroes_fresh_and_reused_memory)
{
	static const size_t sizes[] = {1,     8,     15,     16,      24,     100,
				       1000,  1024,  4000,   8192,    10000,  32768,
				       32769, 40000, 100000, 1 << 20, 3 << 20};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t size = sizes[k];
		unsigned cls = gort_size_to_class(size);
		/* Enough objects to cover three spans, so freed slots come back. */
		size_t n = cls ? 3 * (size_t)gort_sc_nelems[cls] + 3 : 4;
		unsigned char **ps = calloc(n, sizeof *ps);
		for (size_t i = 0; i < n; i++) {
			ps[i] = gort_malloc(size);
			cr_assert_not_null(ps[i]);
			memset(ps[i], 0xa5, gort_usable_size(ps[i]));
		}
		for (size_t i = 0; i < n; i++)
			gort_free(ps[i]);
		size_t reused = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char *q = gort_calloc(1, size);
			cr_assert_not_null(q);
			cr_assert_eq(gt_nonzero_at(q, size), size,
				     "calloc(1, %zu) = %p is not zeroed", size, (void *)q);
			for (size_t j = 0; j < n; j++)
				if (ps[j] == q) {
					reused++;
					ps[j] = NULL;
					break;
				}
			memset(q, 0x5a, size);
			gort_free(q);
		}
		cr_assert_gt(reused, 0, "size %zu: calloc never reused a dirty slot", size);
		free(ps);
	}
	/* The same through count * size and GORT_ZERO. */
	unsigned char *a = gort_malloc(4096);
	memset(a, 0xff, 4096);
	gort_free(a);
	unsigned char *b = gort_calloc(512, 8);
	cr_assert_eq(gt_nonzero_at(b, 4096), 4096);
	gort_free(b);
	gt_expect_clean();
}

Test(malloc, calloc_overflow_is_enomem)
{
	struct {
		size_t count, size;
	} bad[] = {
		{SIZE_MAX, 2},	       {2, SIZE_MAX},
		{SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 32, (size_t)1 << 32},
		{SIZE_MAX, SIZE_MAX},  {3, SIZE_MAX / 3 + 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		void *p = gort_calloc(bad[i].count, bad[i].size);
		cr_assert_null(p, "calloc(%zu, %zu) did not fail", bad[i].count, bad[i].size);
		cr_assert_eq(errno, ENOMEM, "calloc(%zu, %zu): errno %d", bad[i].count, bad[i].size,
			     errno);
	}
	/* No overflow, but more than the arena. */
	errno = 0;
	cr_assert_null(gort_calloc((size_t)1 << 20, (size_t)1 << 20));
	cr_assert_eq(errno, ENOMEM);
	/* count or size 0 is a valid empty request. */
	void *z = gort_calloc(0, SIZE_MAX);
	cr_assert_not_null(z);
	gort_free(z);
	z = gort_calloc(SIZE_MAX, 0);
	cr_assert_not_null(z);
	gort_free(z);
	gt_expect_clean();
}

/* ------------------------------------------------------- impossible sizes */

Test(malloc, impossible_sizes_are_enomem)
{
	static const size_t sizes[] = {
		SIZE_MAX,	 SIZE_MAX - 1,	  SIZE_MAX - SC_PAGE_SIZE + 1, SIZE_MAX / 2,
		(size_t)1 << 62, (size_t)1 << 40, ((size_t)256 << 20) + 1,     (size_t)300 << 20,
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		errno = 0;
		cr_assert_null(gort_malloc(sizes[i]), "malloc(%zu) did not fail", sizes[i]);
		cr_assert_eq(errno, ENOMEM, "malloc(%zu): errno %d", sizes[i], errno);
		errno = 0;
		cr_assert_null(gort_alloc(sizes[i], GORT_ZERO));
		cr_assert_eq(errno, ENOMEM);
		errno = 0;
		cr_assert_null(gort_alloc(sizes[i], GORT_NOSCAN));
		cr_assert_eq(errno, ENOMEM);
		errno = 0;
		cr_assert_null(gort_aligned_alloc(4096, sizes[i]));
		cr_assert_eq(errno, ENOMEM);
		errno = 0;
		cr_assert_null(gort_realloc(NULL, sizes[i]));
		cr_assert_eq(errno, ENOMEM);
	}
	/* A failed realloc leaves the object as it was. */
	unsigned char *p = gort_malloc(100);
	gt_fill(p, 100, 7);
	errno = 0;
	cr_assert_null(gort_realloc(p, SIZE_MAX));
	cr_assert_eq(errno, ENOMEM);
	cr_assert(gt_intact(p, 100, 7));
	cr_assert_eq(gort_usable_size(p), 112);
	unsigned char *q = gort_malloc(1 << 20);
	gt_fill(q, 1 << 20, 8);
	errno = 0;
	cr_assert_null(gort_realloc(q, (size_t)1 << 40));
	cr_assert_eq(errno, ENOMEM);
	cr_assert(gt_intact(q, 1 << 20, 8));
	gort_free(p);
	gort_free(q);
	/* And the heap still serves ordinary requests. */
	p = gort_malloc(200 << 20);
	cr_assert_not_null(p, "a 200 MiB object fits in the 256 MiB arena");
	gort_free(p);
	gt_expect_clean();
}

/* --------------------------------------------------------------- realloc */

/* Allocate `from` bytes, fill, realloc to `to`: the common prefix survives. */
static void *realloc_keeps(size_t from, size_t to, uint64_t id)
{
	unsigned char *p = gort_malloc(from);
	cr_assert_not_null(p);
	gt_fill(p, from, id);
	unsigned char *q = gort_realloc(p, to);
	cr_assert_not_null(q, "realloc %zu -> %zu", from, to);
	size_t keep = from < to ? from : to;
	cr_assert(gt_intact(q, keep, id), "realloc %zu -> %zu lost the content", from, to);
	cr_assert_geq(gort_usable_size(q), to);
	memset(q, 0x11, to);
	return q;
}

Test(malloc, realloc_preserves_content_across_classes)
{
	static const size_t pairs[][2] = {
		{1, 2000},	  {100, 50},	    {2000, 3000},      {24, 16},
		{100, 40000},	  {30000, 33000},   {40000, 100},      {1 << 20, 8},
		{40000, 1 << 20}, {3 << 20, 40000}, {100000, 5 << 20}, {5 << 20, 2 << 20},
		{33000, 32768},	  {32768, 32769},   {0, 100},	       {100, 0},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		gort_free(realloc_keeps(pairs[i][0], pairs[i][1], i + 1));

	/* One object walked up through every class and a few large sizes and
	 * back down again. */
	size_t cur = 1;
	unsigned char *p = gort_malloc(cur);
	gt_fill(p, cur, 99);
	size_t steps[SC_NUM * 2 + 8];
	size_t ns = 0;
	for (unsigned c = 1; c < SC_NUM; c++)
		steps[ns++] = gort_sc_size[c];
	steps[ns++] = 50000;
	steps[ns++] = 200000;
	steps[ns++] = 3 << 20;
	for (unsigned c = SC_NUM; c-- > 1;)
		steps[ns++] = gort_sc_size[c] - 1;
	for (size_t i = 0; i < ns; i++) {
		unsigned char *q = gort_realloc(p, steps[i]);
		cr_assert_not_null(q);
		size_t keep = cur < steps[i] ? cur : steps[i];
		cr_assert(gt_intact(q, keep, 99), "walk step %zu: %zu -> %zu", i, cur, steps[i]);
		gt_fill(q, steps[i], 99);
		p = q;
		cur = steps[i];
	}
	gort_free(p);
	gt_expect_clean();
}

Test(malloc, realloc_null_is_malloc)
{
	void *p = gort_realloc(NULL, 100);
	cr_assert_not_null(p);
	cr_assert_eq(gort_usable_size(p), 112);
	void *q = gort_realloc(NULL, 100000);
	cr_assert_not_null(q);
	cr_assert_geq(gort_usable_size(q), 100000);
	void *r = gort_realloc(NULL, 0);
	cr_assert_not_null(r);
	gort_free(p);
	gort_free(q);
	gort_free(r);
	gt_expect_clean();
}

Test(malloc, realloc_in_place_while_the_class_holds)
{
	unsigned char *p = gort_malloc(100);
	gt_fill(p, 100, 3);
	cr_assert_eq(gort_realloc(p, 112), p, "100 -> 112 is the same class");
	cr_assert_eq(gort_realloc(p, 97), p, "112 -> 97 is the same class");
	cr_assert_eq(gort_realloc(p, 105), p);
	cr_assert(gt_intact(p, 97, 3));
	unsigned char *q = gort_realloc(p, 113);
	cr_assert_neq(q, p, "113 bytes needs class 128");
	cr_assert(gt_intact(q, 97, 3));
	gort_free(q);

	/* Every small class: the class's own sizes stay in place. */
	for (unsigned c = 1; c < SC_NUM; c++) {
		size_t lo = gort_sc_size[c - 1] + 1, hi = gort_sc_size[c];
		void *a = gort_malloc(lo);
		cr_assert_eq(gort_realloc(a, hi), a, "class %u: %zu -> %zu moved", c, lo, hi);
		cr_assert_eq(gort_realloc(a, lo), a, "class %u: %zu -> %zu moved", c, hi, lo);
		gort_free(a);
	}

	/* Large: shrinking by less than half, or growing within the pages. */
	unsigned char *l = gort_malloc(1 << 20);
	gt_fill(l, 1 << 20, 4);
	cr_assert_eq(gort_realloc(l, (1 << 20) - 1000), l);
	cr_assert_eq(gort_realloc(l, 600 << 10), l);
	cr_assert_eq(gort_realloc(l, 1 << 20), l);
	cr_assert(gt_intact(l, 600 << 10, 4));
	unsigned char *m = gort_realloc(l, 100 << 10);
	cr_assert_neq(m, l, "shrinking a 1 MiB object to 100 KiB should give its pages back");
	cr_assert(gt_intact(m, 100 << 10, 4));
	gort_free(m);
	gt_expect_clean();
}

/* --------------------------------------------------------- aligned_alloc */

Test(malloc, aligned_alloc_every_power_of_two_up_to_2mib)
{
	for (size_t align = 1; align <= ((size_t)2 << 20); align <<= 1) {
		size_t sizes[] = {0,	 1,	    8,	       100,  align / 2 + 1, align - 1,
				  align, align + 1, 3 * align, 5000, 40000};
		enum {
			NS = sizeof sizes / sizeof sizes[0]
		};
		void *ps[NS];
		gt_interval iv[NS];
		for (size_t k = 0; k < NS; k++) {
			size_t size = sizes[k];
			unsigned char *p = gort_aligned_alloc(align, size);
			cr_assert_not_null(p, "aligned_alloc(%zu, %zu)", align, size);
			cr_assert_eq((uintptr_t)p % align, 0, "aligned_alloc(%zu, %zu) = %p", align,
				     size, (void *)p);
			size_t us = gort_usable_size(p);
			cr_assert_geq(us, size, "aligned_alloc(%zu, %zu): usable %zu", align, size,
				      us);
			gt_fill(p, size, k + align);
			ps[k] = p;
			iv[k] = (gt_interval){(uintptr_t)p, (uintptr_t)p + (us ? us : 1), k};
		}
		for (size_t k = 0; k < NS; k++)
			cr_assert(gt_intact(ps[k], sizes[k], k + align),
				  "aligned_alloc(%zu, %zu) overwritten", align, sizes[k]);
		cr_assert_eq(gt_first_overlap(iv, NS), NS, "aligned objects overlap (align %zu)",
			     align);
		for (size_t k = 0; k < NS; k++)
			gort_free(ps[k]);
	}
	gt_expect_clean();
}

Test(malloc, aligned_alloc_needs_a_power_of_two)
{
	static const size_t bad[] = {0, 3, 5, 6, 12, 24, 48, 100, 4095, 4097, 3 << 20, SIZE_MAX};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		cr_assert_null(gort_aligned_alloc(bad[i], 64), "alignment %zu accepted", bad[i]);
		cr_assert_eq(errno, EINVAL, "alignment %zu: errno %d", bad[i], errno);
	}
	/* A valid but impossible alignment is out of memory, not a crash. */
	errno = 0;
	cr_assert_null(gort_aligned_alloc((size_t)1 << 62, 1));
	cr_assert_eq(errno, ENOMEM);
	gt_expect_clean();
}

/* ------------------------------------------------------------- GORT_ZERO */

Test(malloc, gort_zero_flag_zeroes_reused_memory)
{
	static const size_t sizes[] = {1, 7, 15, 16, 100, 5000, 32768, 50000, 1 << 20};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		enum {
			N = 40
		};
		void *ps[N];
		for (int i = 0; i < N; i++) {
			ps[i] = gort_malloc(sizes[k]);
			memset(ps[i], 0xcc, gort_usable_size(ps[i]));
		}
		for (int i = 0; i < N; i++)
			gort_free(ps[i]);
		gort_flush_caches(); /* dirty spans back to the centrals and the heap */
		static const unsigned flagsets[] = {GORT_ZERO, GORT_ZERO | GORT_NOSCAN};
		for (int f = 0; f < 2; f++) {
			for (int i = 0; i < N; i++) {
				ps[i] = gort_alloc(sizes[k], flagsets[f]);
				cr_assert_not_null(ps[i]);
				cr_assert_eq(gt_nonzero_at(ps[i], sizes[k]), sizes[k],
					     "gort_alloc(%zu, %#x) not zeroed", sizes[k],
					     flagsets[f]);
				memset(ps[i], 0xcc, sizes[k]);
			}
			for (int i = 0; i < N; i++)
				gort_free(ps[i]);
		}
	}
	gt_expect_clean();
}

Test(malloc, noscan_is_recorded_in_the_pointer_plane)
{
	void *scan = gort_alloc(64, 0);
	void *noscan = gort_alloc(64, GORT_NOSCAN);
	gort_object_info a, b;
	cr_assert_eq(gort_inspect_object(scan, &a), 0);
	cr_assert_eq(gort_inspect_object(noscan, &b), 0);
	cr_assert(a.bits & (1u << GORT_PLANE_POINTERS));
	cr_assert_not(b.bits & (1u << GORT_PLANE_POINTERS));
	cr_assert_not(b.tiny, "64 bytes is not tiny");
	gort_free(scan);
	gort_free(noscan);
	gt_expect_clean();
}

/* ------------------------------------------------------------------ tiny */

static size_t tiny_align_of(size_t n)
{
	return (n & 7) == 0 ? 8 : (n & 3) == 0 ? 4 : (n & 1) == 0 ? 2 : 1;
}

Test(malloc, tiny_objects_share_blocks)
{
	unsigned char *a = gort_alloc(1, GORT_NOSCAN);
	unsigned char *b = gort_alloc(1, GORT_NOSCAN);
	unsigned char *c = gort_alloc(2, GORT_NOSCAN);
	unsigned char *d = gort_alloc(4, GORT_NOSCAN);
	unsigned char *e = gort_alloc(8, GORT_NOSCAN);
	cr_assert_eq(b, a + 1, "1-byte tiny objects should be packed");
	cr_assert_eq(c, a + 2);
	cr_assert_eq(d, a + 4);
	cr_assert_eq(e, a + 8);
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(a, &oi), 0);
	cr_assert(oi.tiny);
	cr_assert_eq(oi.span_class, GORT_TINY_SPAN_CLASS);
	cr_assert_eq(oi.tiny_live, (1u << 0) | (1u << 1) | (1u << 2) | (1u << 4) | (1u << 8));
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.tiny_allocs, 5);
	cr_assert_eq(ms.heap_objects, 5);
	gort_free(a);
	gort_free(c);
	gort_free(e);
	gort_free(b);
	gort_free(d);
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
	gt_expect_clean();
}

Test(malloc, tiny_objects_do_not_overlap_and_free_exactly)
{
	enum {
		N = 20000
	};
	unsigned char **ps = calloc(N, sizeof *ps);
	size_t *sz = calloc(N, sizeof *sz);
	gt_interval *iv = calloc(N, sizeof *iv);
	for (size_t i = 0; i < N; i++) {
		size_t n = 1 + rnd() % 15;
		ps[i] = gort_alloc(n, GORT_NOSCAN);
		sz[i] = n;
		cr_assert_not_null(ps[i]);
		cr_assert_eq((uintptr_t)ps[i] % tiny_align_of(n), 0, "tiny %zu at %p", n,
			     (void *)ps[i]);
		cr_assert_geq(gort_usable_size(ps[i]), n);
		memset(ps[i], (int)(i % 251) + 1, n);
		iv[i] = (gt_interval){(uintptr_t)ps[i], (uintptr_t)ps[i] + n, i};
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < sz[i]; j++)
			cr_assert_eq(ps[i][j], (unsigned char)(i % 251 + 1),
				     "tiny object %zu (%zu bytes at %p) overwritten", i, sz[i],
				     (void *)ps[i]);
	size_t bad = gt_first_overlap(iv, N);
	cr_assert_eq(bad, N, "tiny objects overlap");
	cr_assert_gt(gt_count_inuse_spans(GORT_TINY_SPAN_CLASS, GT_ANY), 0);

	/* Free in random order; the others stay intact. */
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		unsigned char *tp = ps[i];
		ps[i] = ps[j];
		ps[j] = tp;
		size_t ts = sz[i];
		sz[i] = sz[j];
		sz[j] = ts;
	}
	for (size_t i = 0; i < N; i++)
		gort_free(ps[i]);
	cr_assert_eq(gt_reports(), 0, "unexpected report: %s", gt_rec.message);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.tiny_allocs, N);
	cr_assert_eq(ms.heap_objects, 0);
	gort_flush_caches();
	cr_assert_eq(gt_count_inuse_spans(GORT_TINY_SPAN_CLASS, GT_ANY), 0,
		     "tiny spans still in use after freeing everything");
	cr_assert_eq(gt_count_inuse_spans(GT_ANY, GT_ANY), 0,
		     "spans still in use after freeing everything");
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_alloc, 0);
	free(ps);
	free(sz);
	free(iv);
	gt_expect_clean();
}

/* The excess bytes usable_size reports are the caller's to write: they must
 * not belong to the next tiny object handed out. */
Test(malloc, tiny_usable_size_does_not_reach_the_next_object)
{
	for (size_t n = 1; n < 16; n++) {
		unsigned char *a = gort_alloc(n, GORT_NOSCAN);
		size_t us = gort_usable_size(a);
		cr_assert_geq(us, n);
		unsigned char *b = gort_alloc(1, GORT_NOSCAN);
		cr_assert(b >= a + us || b + 1 <= a,
			  "tiny(%zu) at %p reports usable size %zu, but the next tiny object is "
			  "handed out at %p, inside it",
			  n, (void *)a, us, (void *)b);
		gort_free(a);
		gort_free(b);
	}
	gt_expect_clean();
}

Test(malloc, tiny_realloc_keeps_content)
{
	unsigned char *a = gort_alloc(5, GORT_NOSCAN);
	unsigned char *b = gort_alloc(7, GORT_NOSCAN);
	memcpy(a, "abcde", 5);
	memcpy(b, "0123456", 7);
	unsigned char *c = gort_realloc(a, 100);
	cr_assert_not_null(c);
	cr_assert(memcmp(c, "abcde", 5) == 0);
	cr_assert(memcmp(b, "0123456", 7) == 0, "realloc of a tiny object touched its neighbour");
	gort_free(c);
	gort_free(b);
	gt_expect_clean();
}

Test(malloc, tiny_interior_pointer_is_reported)
{
	unsigned char *a = gort_alloc(8, GORT_NOSCAN);
	unsigned char *b = gort_alloc(4, GORT_NOSCAN);
	cr_assert_eq(b, a + 8);
	memcpy(a, "ABCDEFGH", 8);
	memcpy(b, "wxyz", 4);
	static const size_t offs[] = {1, 3, 4, 7};
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		int before = gt_reports();
		gort_free(a + offs[i]);
		cr_assert_eq(gt_reports(), before + 1, "free(a + %zu) not reported", offs[i]);
		cr_assert_eq(gt_rec.kind, GORT_ERR_INTERIOR_POINTER, "free(a + %zu): kind %d (%s)",
			     offs[i], gt_rec.kind, gt_rec.message);
		cr_assert_eq(gt_rec.address, (uintptr_t)(a + offs[i]));
	}
	gt_reset_reports();
	cr_assert_eq(gort_check(), 0);
	cr_assert(memcmp(a, "ABCDEFGH", 8) == 0);
	cr_assert(memcmp(b, "wxyz", 4) == 0);
	gort_free(b + 1);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_INTERIOR_POINTER);
	gt_reset_reports();
	/* Both objects are still live and free exactly once. */
	gort_free(a);
	gort_free(b);
	gt_expect_clean();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
}

Test(malloc, tiny_double_free_is_reported)
{
	/* 1: a live neighbour keeps the block allocated. */
	unsigned char *a = gort_alloc(4, GORT_NOSCAN);
	unsigned char *b = gort_alloc(4, GORT_NOSCAN);
	gort_free(a);
	gort_free(a);
	cr_assert_eq(gt_reports(), 1, "double free of a tiny object not reported");
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)a);
	cr_assert_eq(gort_check(), 0);
	/* 2: the second object, now alone in the cache's open block. */
	gort_free(b);
	gort_free(b);
	cr_assert_eq(gt_reports(), 2);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gort_check(), 0);
	/* 3: a block that is not the cache's open one, emptied and given back. */
	unsigned char *c = gort_alloc(12, GORT_NOSCAN);
	unsigned char *d = gort_alloc(12, GORT_NOSCAN); /* does not fit next to c */
	cr_assert(d >= c + 16 || d + 16 <= c);
	gort_free(d);
	gort_free(d);
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	gort_free(c);
	gt_reset_reports();
	gt_expect_clean();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0, "a reported double free changed the counts");
}

/* A tiny block emptied by a free while its span is no longer the cache's
 * current tiny span (the free goes through the span's FREED inbox) is a
 * free block, not corruption: gort_check must accept the heap. */
Test(malloc, tiny_block_freed_outside_the_cache_passes_check)
{
	enum {
		N = 1200
	}; /* two 8-byte objects per block: > 512 blocks, > 1 span */
	void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_alloc(8, GORT_NOSCAN);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	gort_free(p[0]);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	gort_free(p[1]); /* block 0 of the first tiny span is now empty */
	cr_assert_eq(gort_check(), 0, "after emptying a tiny block of a non-current span: %s",
		     gt_rec.message);
	for (int i = 2; i < N; i++)
		gort_free(p[i]);
	gort_flush_caches();
	cr_assert_eq(gt_count_inuse_spans(GT_ANY, GT_ANY), 0);
	gt_expect_clean();
}

/* Found by fuzz_misuse: realloc and usable_size of a pointer inside a live
 * tiny object must say "interior pointer" (as free does), not "double free". */
Test(malloc, tiny_interior_pointer_to_realloc_and_usable_size)
{
	char *p = gort_alloc(3, GORT_NOSCAN);
	cr_assert_not_null(p);
	cr_assert_null(gort_realloc(p + 1, 10));
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_INTERIOR_POINTER, "%s", gt_rec.message);
	cr_assert_eq(gort_usable_size(p + 2), 0);
	cr_assert_eq(gt_rec.kind, GORT_ERR_INTERIOR_POINTER, "%s", gt_rec.message);
	gort_free(p);
	cr_assert_eq(gort_usable_size(p), 0);
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE, "%s", gt_rec.message); /* usable_size frees nothing */
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gort_check(), 0);
}
