/*
 * test_shadow.c — a random workload of 10^6 operations checked against a
 * shadow model of the heap.
 *
 * Every live object is known to the model with its request, usable size and
 * an id; its bytes hold a pattern derived from the id, verified before it is
 * freed or reallocated, so an object handed out over a live one shows up as
 * a damaged pattern. Every 10k operations the live intervals are sorted and
 * adjacent pairs checked for overlap; every 50k operations gort_check() must
 * pass and gort_memstats() must count exactly the live objects. At the end
 * everything is freed and the heap must be one free run again.
 *
 * The mix: tiny (GORT_NOSCAN < 16 B), small (log-uniform up to 32 KiB),
 * large (to 256 KiB) and a few huge (1-4 MiB) objects, through malloc,
 * calloc, realloc, aligned_alloc and gort_alloc with every flag, each
 * result checked for the alignment gort.h promises it. Fixed seed.
 * The ThreadSanitizer build runs 3 x 10^5 operations, the others 10^6.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"

#if defined(GORT_SAN_THREAD)
#define SHADOW_OPS 300000 /* ~3 s under TSan */
#else
#define SHADOW_OPS 1000000 /* ~1 s normally, ~2 s under ASan+UBSan */
#endif
#define CHECK_EVERY 50000
#define OVERLAP_EVERY 10000
#define LIVE_TARGET 10000

/* ------------------------------------------------------------- helpers */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	return gt_xorshift(&rng);
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Byte i of an object with pattern v is byte (i % 8) of v (little endian),
 * so aligned objects are filled and checked a word at a time. */
static void fill(unsigned char *p, size_t n, uint64_t v)
{
	size_t i = 0;
	if (((uintptr_t)p & 7) == 0) {
		uint64_t *w = (uint64_t *)(void *)p;
		for (; i + 8 <= n; i += 8)
			w[i / 8] = v;
	}
	for (; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * (i & 7)));
}

/* Offset of the first byte that differs from the pattern, or n. */
static size_t verify(const unsigned char *p, size_t n, uint64_t v)
{
	size_t i = 0;
	if (((uintptr_t)p & 7) == 0) {
		const uint64_t *w = (const uint64_t *)(const void *)p;
		for (; i + 8 <= n; i += 8)
			if (w[i / 8] != v)
				break;
	}
	for (; i < n; i++)
		if (p[i] != (unsigned char)(v >> (8 * (i & 7))))
			return i;
	return n;
}

/* ---------------------------------------------------------------- model */

typedef struct {
	unsigned char *p;
	size_t req;
	size_t extent; /* bytes the object owns: usable size, request for tiny */
	uint64_t id;
	int tiny;
} obj_t;

static obj_t *live;
static size_t nlive, cap;
static uint64_t next_id = 1;
static uint64_t ops_done;

/* The alignment gort.h promises malloc, calloc, realloc and gort_alloc:
 * alignof(max_align_t) from 16 bytes and 8 from 8 bytes, but with
 * GORT_NOSCAN only 8 from 8 bytes (tiny objects: Go's rules, not checked
 * here). */
static size_t promised_align(size_t n, int noscan)
{
	if (n >= 16 && !noscan)
		return _Alignof(max_align_t);
	return n >= 8 ? 8 : 1;
}

/* p, of req bytes, must be aligned to `align` (and to 8 unless tiny). */
static void add_live(unsigned char *p, size_t req, int tiny, size_t align, const char *how)
{
	cr_assert_not_null(p, "op %llu: %s(%zu) failed, errno %d", (unsigned long long)ops_done,
			   how, req, errno);
	size_t us = gort_usable_size(p);
	cr_assert_eq(gt_reports(), 0, "op %llu: usable_size(%s result): %s",
		     (unsigned long long)ops_done, how, gt_rec.first);
	cr_assert_geq(us, req, "op %llu: %s(%zu) usable size %zu", (unsigned long long)ops_done,
		      how, req, us);
	if (!tiny)
		cr_assert_eq((uintptr_t)p % 8, 0, "op %llu: %s(%zu) = %p misaligned",
			     (unsigned long long)ops_done, how, req, (void *)p);
	cr_assert_eq((uintptr_t)p % align, 0, "op %llu: %s(%zu) = %p is not %zu-byte aligned",
		     (unsigned long long)ops_done, how, req, (void *)p, align);
	if (nlive == cap) {
		cap = cap ? cap * 2 : 4096;
		live = realloc(live, cap * sizeof *live);
	}
	obj_t *o = &live[nlive++];
	o->p = p;
	o->req = req;
	o->extent = tiny ? (req ? req : 1) : us;
	o->id = next_id++;
	o->tiny = tiny;
	fill(p, req, mix(o->id));
}

static void check_pattern(const obj_t *o, const char *before)
{
	size_t bad = verify(o->p, o->req, mix(o->id));
	cr_assert_eq(bad, o->req,
		     "op %llu: object %llu (%zu bytes at %p%s) damaged at byte %zu before %s",
		     (unsigned long long)ops_done, (unsigned long long)o->id, o->req, (void *)o->p,
		     o->tiny ? ", tiny" : "", bad, before);
}

static void check_no_overlap(void)
{
	gt_interval *iv = malloc((nlive + 1) * sizeof *iv);
	for (size_t i = 0; i < nlive; i++)
		iv[i] = (gt_interval){(uintptr_t)live[i].p, (uintptr_t)live[i].p + live[i].extent,
				      live[i].id};
	size_t i = gt_first_overlap(iv, nlive);
	if (i < nlive)
		cr_assert_fail(
			"op %llu: object %llu [%#lx, %#lx) overlaps object %llu [%#lx, %#lx)",
			(unsigned long long)ops_done, (unsigned long long)iv[i].id,
			(unsigned long)iv[i].lo, (unsigned long)iv[i].hi,
			(unsigned long long)iv[i - 1].id, (unsigned long)iv[i - 1].lo,
			(unsigned long)iv[i - 1].hi);
	free(iv);
}

static void check_heap(void)
{
	cr_assert_eq(gort_check(), 0, "op %llu: gort_check: %s", (unsigned long long)ops_done,
		     gt_rec.first);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, nlive, "op %llu: heap_objects %llu, model has %zu live",
		     (unsigned long long)ops_done, (unsigned long long)ms.heap_objects, nlive);
	cr_assert_eq(ms.mallocs - ms.frees, nlive);
}

/* ------------------------------------------------------------ workload */

static size_t small_size(void)
{
	unsigned bits = (unsigned)(rnd() % 15); /* up to 2^15 = 32 KiB */
	return (size_t)(rnd() % ((uint64_t)2 << bits));
}

static size_t any_size(void)
{
	uint64_t r = rnd() % 10000;
	if (r < 3)
		return ((size_t)1 << 20) + (size_t)(rnd() % (3u << 20)); /* huge: 1-4 MiB */
	if (r < 60)
		return 32769 + (size_t)(rnd() % ((256u << 10) - 32769)); /* large */
	return small_size();
}

static void op_alloc(void)
{
	uint64_t r = rnd() % 100;
	if (r < 25) {
		size_t n = 1 + (size_t)(rnd() % 15);
		add_live(gort_alloc(n, GORT_NOSCAN), n, 1, 1, "gort_alloc(NOSCAN)");
	} else if (r < 55) {
		size_t n = any_size();
		add_live(gort_malloc(n), n, 0, promised_align(n, 0), "malloc");
	} else if (r < 65) {
		size_t n = any_size();
		size_t elt = (size_t)1 << (rnd() % 5);
		size_t cnt = n / elt + (rnd() & 1);
		unsigned char *p = gort_calloc(cnt, elt);
		cr_assert_not_null(p, "op %llu: calloc(%zu, %zu)", (unsigned long long)ops_done,
				   cnt, elt);
		size_t z = gt_nonzero_at(p, cnt * elt);
		cr_assert_eq(z, cnt * elt, "op %llu: calloc(%zu, %zu) = %p: byte %zu not zero",
			     (unsigned long long)ops_done, cnt, elt, (void *)p, z);
		add_live(p, cnt * elt, 0, promised_align(cnt * elt, 0), "calloc");
	} else if (r < 75) {
		size_t align = (size_t)1 << (rnd() % 13);
		if (rnd() % 100 == 0)
			align = (size_t)1 << (13 + rnd() % 6);
		size_t n = rnd() % 4 ? small_size() : any_size();
		unsigned char *p = gort_aligned_alloc(align, n);
		cr_assert_not_null(p, "op %llu: aligned_alloc(%zu, %zu)",
				   (unsigned long long)ops_done, align, n);
		cr_assert_eq((uintptr_t)p % align, 0, "op %llu: aligned_alloc(%zu, %zu) = %p",
			     (unsigned long long)ops_done, align, n, (void *)p);
		add_live(p, n, 0, align, "aligned_alloc");
	} else if (r < 90) {
		static const unsigned flagsets[] = {0, GORT_ZERO, GORT_NOSCAN,
						    GORT_ZERO | GORT_NOSCAN};
		unsigned flags = flagsets[rnd() % 4];
		size_t n = rnd() % 3 ? small_size() : any_size();
		unsigned char *p = gort_alloc(n, flags);
		cr_assert_not_null(p, "op %llu: gort_alloc(%zu, %#x)", (unsigned long long)ops_done,
				   n, flags);
		if (flags & GORT_ZERO) {
			size_t z = gt_nonzero_at(p, n);
			cr_assert_eq(z, n, "op %llu: gort_alloc(%zu, ZERO) = %p: byte %zu not zero",
				     (unsigned long long)ops_done, n, (void *)p, z);
		}
		int tiny = (flags == GORT_NOSCAN) && n < 16;
		add_live(p, n, tiny, tiny ? 1 : promised_align(n, flags & GORT_NOSCAN),
			 "gort_alloc");
	} else {
		size_t n = any_size();
		add_live(gort_realloc(NULL, n), n, 0, promised_align(n, 0), "realloc(NULL)");
	}
}

static void op_realloc(void)
{
	size_t i = (size_t)(rnd() % nlive);
	obj_t o = live[i];
	check_pattern(&o, "realloc");
	size_t n = rnd() % 4 == 0 ? 1 + (size_t)(rnd() % 15) : any_size();
	unsigned char *q = gort_realloc(o.p, n);
	cr_assert_eq(gt_reports(), 0, "op %llu: realloc: %s", (unsigned long long)ops_done,
		     gt_rec.first);
	cr_assert_not_null(q, "op %llu: realloc(%p, %zu)", (unsigned long long)ops_done,
			   (void *)o.p, n);
	size_t keep = o.req < n ? o.req : n;
	size_t bad = verify(q, keep, mix(o.id));
	cr_assert_eq(bad, keep, "op %llu: realloc %zu -> %zu lost byte %zu",
		     (unsigned long long)ops_done, o.req, n, bad);
	live[i] = live[--nlive];
	add_live(q, n, 0, promised_align(n, 0), "realloc");
}

static void op_free(void)
{
	size_t i = (size_t)(rnd() % nlive);
	obj_t o = live[i];
	check_pattern(&o, "free");
	live[i] = live[--nlive];
	gort_free(o.p);
	cr_assert_eq(gt_reports(), 0, "op %llu: free(%p): %s", (unsigned long long)ops_done,
		     (void *)o.p, gt_rec.first);
}

static void final_state(void)
{
	for (size_t i = 0; i < nlive; i++) {
		check_pattern(&live[i], "the final free");
		gort_free(live[i].p);
	}
	nlive = 0;
	cr_assert_eq(gt_reports(), 0, "final frees: %s", gt_rec.first);
	gort_flush_caches();
	size_t released = gort_release();
	cr_assert_gt(released, 0);
	check_heap();

	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_alloc, 0, "heap_alloc %llu after freeing everything",
		     (unsigned long long)ms.heap_alloc);
	cr_assert_eq(ms.heap_inuse, 0);
	cr_assert_eq(ms.heap_idle, ms.heap_sys);
	cr_assert_eq(ms.heap_released, ms.heap_sys);

	gort_run_info run = gt_expect_one_free_run();
	cr_assert(run.released);
	gt_expect_only_the_free_span();
}

Test(shadow, million_random_operations, .timeout = 600)
{
	gt_init_recording((size_t)1 << 30);

	for (ops_done = 0; ops_done < SHADOW_OPS; ops_done++) {
		/* 15% reallocs; the rest allocates or frees, drifting back
		 * towards LIVE_TARGET live objects. */
		uint64_t r = rnd() % 100;
		if (nlive > 0 && r < 15)
			op_realloc();
		else if (nlive == 0 || rnd() % 100 < (nlive < LIVE_TARGET ? 60u : 40u))
			op_alloc();
		else
			op_free();
		if ((ops_done + 1) % OVERLAP_EVERY == 0)
			check_no_overlap();
		if ((ops_done + 1) % CHECK_EVERY == 0)
			check_heap();
	}
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_geq(ms.mallocs, SHADOW_OPS / 2);
	cr_assert_gt(ms.tiny_allocs, 0);
	cr_assert_gt(ms.large_allocs, 0);
	final_state();
	free(live);
	gort_shutdown();
}
