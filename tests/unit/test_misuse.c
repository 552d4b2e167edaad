/*
 * test_misuse.c — every misuse of the malloc family is reported with the
 * right kind, through the one reporter, and leaves the heap as it was:
 * double frees (immediate, delayed, interleaved, after reuse, racing on two
 * threads), frees of foreign, never-allocated and interior pointers, realloc
 * and usable_size of such pointers, the message format, handlers that call
 * back into gort or longjmp out, and the default handler's abort.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/sizeclass.h"

#include "../support/gort_test.h"

TestSuite(misuse, .init = gt_setup, .fini = gt_teardown);

static const char *kind_str(gort_error_kind k)
{
	switch (k) {
	case GORT_ERR_DOUBLE_FREE: return "double free";
	case GORT_ERR_INVALID_FREE: return "invalid free";
	case GORT_ERR_INTERIOR_POINTER: return "interior pointer";
	default: return "other";
	}
}

/* What a misuse must leave alone: the counters and the invariants. */
typedef struct {
	struct gort_memstats ms;
} snapshot_t;

static void snap(snapshot_t *s)
{
	gort_memstats(&s->ms);
}

static void expect_unchanged(const snapshot_t *before, const char *what)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, before->ms.mallocs, "%s changed mallocs", what);
	cr_assert_eq(ms.frees, before->ms.frees, "%s changed frees", what);
	cr_assert_eq(ms.heap_objects, before->ms.heap_objects, "%s changed heap_objects", what);
	cr_assert_eq(ms.heap_alloc, before->ms.heap_alloc, "%s changed heap_alloc", what);
	cr_assert_eq(ms.heap_inuse, before->ms.heap_inuse, "%s changed heap_inuse", what);
	int n = gt_reports();
	cr_assert_eq(gort_check(), 0, "after %s: %s", what, gt_rec.message);
	cr_assert_eq(gt_reports(), n);
}

/* Call op on p: exactly one report of `kind` about `p` from `opname`. */
#define EXPECT_REPORT(call, kind_, addr_, opname)                                             \
	do {                                                                                  \
		int before_ = gt_reports();                                                   \
		call;                                                                         \
		cr_assert_eq(gt_reports(), before_ + 1, "%s: %d reports, want 1 (%s)", #call, \
			     gt_reports() - before_, gt_rec.message);                         \
		cr_assert_eq(gt_rec.kind, kind_, "%s: reported as %s (%s), want %s", #call,   \
			     kind_str(gt_rec.kind), gt_rec.message, kind_str(kind_));         \
		cr_assert_eq(gt_rec.address, (uintptr_t)(addr_), "%s: address %#lx, want %p", \
			     #call, (unsigned long)gt_rec.address, (void *)(addr_));          \
		cr_assert_str_eq(gt_rec.op, opname, "%s: op %s", #call, gt_rec.op);           \
	} while (0)

/* Exactly one report, of either kind (for cases where the library may not
 * be able to tell a double free from an invalid one). */
#define EXPECT_REPORT2(call, kind1, kind2, addr_)                                                 \
	do {                                                                                      \
		int before_ = gt_reports();                                                       \
		call;                                                                             \
		cr_assert_eq(gt_reports(), before_ + 1, "%s: %d reports, want 1", #call,          \
			     gt_reports() - before_);                                             \
		cr_assert(gt_rec.kind == kind1 || gt_rec.kind == kind2,                           \
			  "%s: reported as %s (%s), want %s or %s", #call, kind_str(gt_rec.kind), \
			  gt_rec.message, kind_str(kind1), kind_str(kind2));                      \
		cr_assert_eq(gt_rec.address, (uintptr_t)(addr_));                                 \
	} while (0)

static int same_span(const void *a, const void *b)
{
	gort_span_info x, y;
	if (gort_inspect_span_of((uintptr_t)a, &x) || gort_inspect_span_of((uintptr_t)b, &y))
		return 0;
	return x.base == y.base;
}

/* k live objects of `size` in one span: the others keep the span in use
 * while one of them is freed twice, so the second free finds the span and
 * its bitmap. Objects allocated on the way are freed again. */
static void alloc_group(size_t size, void **out, int k)
{
	unsigned cls = gort_size_to_class(size);
	cr_assert(cls != 0 && gort_sc_nelems[cls] >= k, "class of %zu holds < %d objects", size, k);
	void *miss[4096];
	int nmiss = 0;
	for (;;) {
		for (int i = 0; i < k; i++)
			out[i] = gort_malloc(size);
		int together = 1;
		for (int i = 1; i < k; i++)
			together &= same_span(out[0], out[i]);
		if (together)
			break;
		for (int i = 0; i < k; i++) {
			cr_assert_lt(nmiss, 4096);
			miss[nmiss++] = out[i];
		}
	}
	while (nmiss > 0)
		gort_free(miss[--nmiss]);
}

/* Two objects of `size` in one span (see alloc_group): returns the one a
 * test misuses and sets *keep to its neighbour, which keeps the span in use. */
static void *alloc_pair(size_t size, void **keep)
{
	void *g[2];
	alloc_group(size, g, 2);
	*keep = g[1];
	return g[0];
}

/* Classes with at least three objects per span, from 8 bytes to 10 KiB. */
static const size_t small_sizes[] = {8, 16, 24, 100, 1000, 3000, 5000, 10000};
#define NSMALL (sizeof small_sizes / sizeof small_sizes[0])

/* ----------------------------------------------------------- double free */

Test(misuse, double_free_immediate)
{
	for (size_t k = 0; k < NSMALL; k++) {
		size_t size = small_sizes[k];
		void *q, *p = alloc_pair(size, &q);
		gt_fill(q, size, 1);
		gort_free(p);
		snapshot_t s;
		snap(&s);
		EXPECT_REPORT(gort_free(p), GORT_ERR_DOUBLE_FREE, p, "free");
		expect_unchanged(&s, "double free");
		cr_assert(gt_intact(q, size, 1));
		gort_free(q);
		cr_assert_eq(gt_reports(), (int)k + 1, "freeing the neighbour was reported");
	}
}

/* Classes of one object per span: the cache still holds the emptied span. */
Test(misuse, double_free_of_one_object_classes)
{
	static const size_t sizes[] = {8192, 16384, 24576, 32768};
	for (size_t k = 0; k < 4; k++) {
		void *p = gort_malloc(sizes[k]);
		gort_free(p);
		snapshot_t s;
		snap(&s);
		EXPECT_REPORT2(gort_free(p), GORT_ERR_DOUBLE_FREE, GORT_ERR_INVALID_FREE, p);
		expect_unchanged(&s, "double free");
	}
	cr_assert_eq(gt_reports(), 4);
}

Test(misuse, double_free_of_large_objects)
{
	static const size_t sizes[] = {32769, 40000, MiB, 5 * MiB};
	for (size_t k = 0; k < 4; k++) {
		void *keep = gort_malloc(sizes[k]); /* a live large object nearby */
		void *p = gort_malloc(sizes[k]);
		gt_fill(keep, sizes[k], 2);
		gort_free(p);
		snapshot_t s;
		snap(&s);
		/* The span is gone with the object: either kind is a fair report. */
		EXPECT_REPORT2(gort_free(p), GORT_ERR_DOUBLE_FREE, GORT_ERR_INVALID_FREE, p);
		expect_unchanged(&s, "double free of a large object");
		cr_assert(gt_intact(keep, sizes[k], 2));
		gort_free(keep);
	}
	cr_assert_eq(gt_reports(), 4);
}

Test(misuse, double_free_after_other_frees)
{
	for (size_t k = 0; k < NSMALL; k++) {
		size_t size = small_sizes[k];
		void *keep, *p = alloc_pair(size, &keep);
		gort_free(p);
		/* Lots of traffic, in p's class and others, all freed again (so a
		 * reuse of p's slot is undone before the second free). */
		enum {
			N = 2000
		};
		void *others[N];
		for (int i = 0; i < N; i++)
			others[i] = gort_malloc(i % 2 ? size : (size_t)(i * 13 % 5000));
		for (int i = 0; i < N; i++)
			gort_free(others[i]);
		snapshot_t s;
		snap(&s);
		EXPECT_REPORT(gort_free(p), GORT_ERR_DOUBLE_FREE, p, "free");
		expect_unchanged(&s, "delayed double free");
		gort_free(keep);
	}
	cr_assert_eq(gt_reports(), (int)NSMALL);
}

Test(misuse, double_free_interleaved)
{
	for (size_t k = 0; k < NSMALL; k++) {
		size_t size = small_sizes[k];
		void *g[3];
		alloc_group(size, g, 3);
		void *p = g[0], *q = g[1], *keep = g[2];
		gort_free(p);
		gort_free(q);
		EXPECT_REPORT(gort_free(p), GORT_ERR_DOUBLE_FREE, p, "free");
		EXPECT_REPORT(gort_free(q), GORT_ERR_DOUBLE_FREE, q, "free");
		EXPECT_REPORT(gort_free(p), GORT_ERR_DOUBLE_FREE, p, "free");
		cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
		gort_free(keep);
	}
	cr_assert_eq(gt_reports(), 3 * (int)NSMALL);
	cr_assert_eq(gort_check(), 0);
}

/* Once the slot is handed out again, one more free is the new object's own;
 * only the free after that is a double free. */
Test(misuse, double_free_after_the_slot_is_reused)
{
	for (size_t k = 0; k < NSMALL; k++) {
		size_t size = small_sizes[k];
		void *keep, *p = alloc_pair(size, &keep);
		gort_free(p);
		enum {
			MAXN = 20000
		};
		void **got = calloc(MAXN, sizeof *got);
		size_t n = 0;
		int found = 0;
		while (n < MAXN) {
			void *q = gort_malloc(size);
			if (q == p) {
				found = 1;
				break;
			}
			got[n++] = q;
		}
		cr_assert(found, "size %zu: the freed slot never came back in %d mallocs", size,
			  MAXN);
		gort_free(p); /* the reused object: a valid free */
		cr_assert_eq(gt_reports(), (int)k, "free of the reused object reported: %s",
			     gt_rec.message);
		EXPECT_REPORT(gort_free(p), GORT_ERR_DOUBLE_FREE, p, "free");
		for (size_t i = 0; i < n; i++)
			gort_free(got[i]);
		gort_free(keep);
		free(got);
		cr_assert_eq(gt_reports(), (int)k + 1);
	}
	cr_assert_eq(gort_check(), 0);
}

/* ------------------------------------------------------ invalid pointers */

static int a_global[64];

Test(misuse, foreign_pointers_are_invalid_frees)
{
	int on_stack[16];
	void *mapped =
		mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(mapped, MAP_FAILED);
	void *libc = malloc(100);
	void *live = gort_malloc(100);
	gt_fill(live, 100, 3);
	void *bad[] = {(void *)1,
		       (void *)8,
		       (void *)(uintptr_t)0xfffffffffffff000ull,
		       on_stack,
		       a_global,
		       &a_global[3],
		       mapped,
		       (char *)mapped + 4096,
		       libc,
		       (void *)&gt_setup};
	snapshot_t s;
	snap(&s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_REPORT(gort_free(bad[i]), GORT_ERR_INVALID_FREE, bad[i], "free");
		EXPECT_REPORT(cr_assert_eq(gort_usable_size(bad[i]), 0), GORT_ERR_INVALID_POINTER,
			      bad[i], "usable_size");
		EXPECT_REPORT(cr_assert_null(gort_realloc(bad[i], 10)), GORT_ERR_INVALID_FREE,
			      bad[i], "realloc");
	}
	expect_unchanged(&s, "foreign frees");
	cr_assert(gt_intact(live, 100, 3));
	gort_free(live);
	free(libc);
	munmap(mapped, 1 << 16);
	cr_assert_eq(gort_error_count(), (uint64_t)gt_reports());
}

Test(misuse, interior_pointers_are_reported)
{
	static const size_t sizes[] = {8, 24, 100, 4096, 40000, MiB};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t size = sizes[k];
		unsigned char *p = gort_malloc(size);
		gt_fill(p, size, 4);
		size_t offs[] = {1, 8, 16, 7, size / 2, size - 1, 5000, 8192, 3 * 8192 + 8};
		snapshot_t s;
		snap(&s);
		for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
			size_t off = offs[i];
			if (off >= size) /* past the object: the next slot or page */
				continue;
			EXPECT_REPORT(gort_free(p + off), GORT_ERR_INTERIOR_POINTER, p + off,
				      "free");
			EXPECT_REPORT(cr_assert_eq(gort_usable_size(p + off), 0),
				      GORT_ERR_INTERIOR_POINTER, p + off, "usable_size");
			EXPECT_REPORT(cr_assert_null(gort_realloc(p + off, size * 2)),
				      GORT_ERR_INTERIOR_POINTER, p + off, "realloc");
		}
		expect_unchanged(&s, "interior frees");
		cr_assert(gt_intact(p, size, 4), "size %zu: object changed by interior frees",
			  size);
		cr_assert_geq(gort_usable_size(p), size);
		int n = gt_reports();
		gort_free(p);
		cr_assert_eq(gt_reports(), n, "the object itself no longer frees: %s",
			     gt_rec.message);
	}
	cr_assert_eq(gort_check(), 0);
}

Test(misuse, never_allocated_arena_addresses_are_invalid_frees)
{
	/* A fresh runtime: the first object of each class is slot 0 of its span. */
	unsigned char *p = gort_malloc(100);
	cr_assert_eq(gort_usable_size(p), 112);
	gort_span_info si;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)p, &si), 0);
	cr_assert_eq(si.base, (uintptr_t)p, "first object of a fresh span at slot 0");
	snapshot_t s;
	snap(&s);
	/* A slot of a live span that was never handed out. */
	EXPECT_REPORT(gort_free(p + 10 * 112), GORT_ERR_INVALID_FREE, p + 10 * 112, "free");
	/* The tail of a span whose class does not divide the page: 341 x 24 = 8184. */
	unsigned char *t = gort_alloc(24, GORT_NOSCAN); /* malloc(24) takes 32 B */
	gort_span_info ts;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)t, &ts), 0);
	snap(&s);
	EXPECT_REPORT(gort_free((void *)(ts.base + 341 * 24)), GORT_ERR_INVALID_FREE,
		      ts.base + 341 * 24, "free");
	/* Free pages of the committed arena, and the part not committed yet. */
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	cr_assert_gt(ai.arena_used - ai.arena_base, 64 * (uintptr_t)GORT_PAGE_SIZE);
	uintptr_t free_page = ai.arena_used - 16 * GORT_PAGE_SIZE;
	gort_page_info pi;
	cr_assert_eq(gort_inspect_pages(free_page, &pi, 1), 16);
	cr_assert_eq(pi.state, GORT_PAGE_FREE, "page %#lx state %u", (unsigned long)free_page,
		     pi.state);
	EXPECT_REPORT(gort_free((void *)free_page), GORT_ERR_INVALID_FREE, free_page, "free");
	uintptr_t uncommitted = ai.arena_base + ai.arena_bytes - GORT_PAGE_SIZE;
	EXPECT_REPORT(gort_free((void *)uncommitted), GORT_ERR_INVALID_FREE, uncommitted, "free");
	/* The side tables in front of the arena are not heap either. */
	EXPECT_REPORT(gort_free((void *)ai.spans_base), GORT_ERR_INVALID_FREE, ai.spans_base,
		      "free");
	EXPECT_REPORT(gort_free((void *)(ai.bitmap_base + 64)), GORT_ERR_INVALID_FREE,
		      ai.bitmap_base + 64, "free");
	EXPECT_REPORT(gort_free((void *)(ai.arena_base + ai.arena_bytes)), GORT_ERR_INVALID_FREE,
		      ai.arena_base + ai.arena_bytes, "free");
	expect_unchanged(&s, "frees of never-allocated addresses");
	gort_free(p);
	gort_free(t);
	cr_assert_eq(gort_check(), 0);
}

Test(misuse, realloc_and_usable_size_of_freed_pointers)
{
	for (size_t k = 0; k < NSMALL; k++) {
		size_t size = small_sizes[k];
		void *keep, *p = alloc_pair(size, &keep);
		gort_free(p);
		snapshot_t s;
		snap(&s);
		int n = gt_reports();
		cr_assert_eq(gort_usable_size(p), 0, "usable_size of a freed object");
		cr_assert_eq(gt_reports(), n + 1, "usable_size of a freed object not reported");
		cr_assert(gt_rec.kind == GORT_ERR_DOUBLE_FREE ||
				  gt_rec.kind == GORT_ERR_USE_AFTER_FREE,
			  "usable_size(freed): %s", gt_rec.message);
		cr_assert_str_eq(gt_rec.op, "usable_size");
		errno = 0;
		cr_assert_null(gort_realloc(p, size + 1000), "realloc of a freed object");
		cr_assert_eq(gt_reports(), n + 2, "realloc of a freed object not reported");
		cr_assert(gt_rec.kind == GORT_ERR_DOUBLE_FREE ||
				  gt_rec.kind == GORT_ERR_USE_AFTER_FREE,
			  "realloc(freed): %s", gt_rec.message);
		cr_assert_str_eq(gt_rec.op, "realloc");
		cr_assert_eq(gt_rec.address, (uintptr_t)p);
		expect_unchanged(&s, "realloc of a freed object");
		gort_free(keep);
	}
	/* Large: the span went back to the heap with the object. */
	void *l = gort_malloc(MiB);
	gort_free(l);
	EXPECT_REPORT2(cr_assert_eq(gort_usable_size(l), 0), GORT_ERR_INVALID_POINTER,
		       GORT_ERR_USE_AFTER_FREE, l);
	EXPECT_REPORT2(cr_assert_null(gort_realloc(l, 10)), GORT_ERR_INVALID_FREE,
		       GORT_ERR_DOUBLE_FREE, l);
	cr_assert_eq(gort_check(), 0);
}

Test(misuse, freed_tiny_object_through_realloc_and_usable_size)
{
	unsigned char *a = gort_alloc(4, GORT_NOSCAN);
	unsigned char *b = gort_alloc(4, GORT_NOSCAN);
	memcpy(b, "live", 4);
	gort_free(a);
	int n = gt_reports();
	cr_assert_eq(gort_usable_size(a), 0);
	cr_assert_eq(gt_reports(), n + 1);
	cr_assert_null(gort_realloc(a, 100));
	cr_assert_eq(gt_reports(), n + 2);
	cr_assert(memcmp(b, "live", 4) == 0);
	cr_assert_geq(gort_usable_size(b), 4);
	gort_free(b);
	cr_assert_eq(gt_reports(), n + 2);
}

/* ----------------------------------------------------------- the message */

Test(misuse, message_format)
{
	void *keep, *p = alloc_pair(100, &keep);
	gort_free(p);
	gort_free(p);
	cr_assert_eq(gt_reports(), 1);
	char want[64];
	snprintf(want, sizeof want, "double free: %#lx", (unsigned long)(uintptr_t)p);
	cr_assert(strncmp(gt_rec.message, "double free: 0x", 15) == 0, "message: %s",
		  gt_rec.message);
	cr_assert(strncmp(gt_rec.message, want, strlen(want)) == 0,
		  "message %s, want it to start %s", gt_rec.message, want);
	cr_assert(strstr(gt_rec.message, "class"), "message without the class: %s", gt_rec.message);
	cr_assert(strstr(gt_rec.message, "span 0x"), "message without the span: %s",
		  gt_rec.message);
	cr_assert_str_eq(gt_rec.kind_name, "double free");
	cr_assert_str_eq(gt_rec.op, "free");
	cr_assert(strstr(gt_rec.message, gt_rec.detail), "detail %s not in message %s",
		  gt_rec.detail, gt_rec.message);
	/* `<kind>: <address> (<detail>)` */
	size_t len = strlen(gt_rec.message);
	cr_assert(len > 0 && gt_rec.message[len - 1] == ')', "message: %s", gt_rec.message);
	cr_assert_neq(strchr(gt_rec.message, '('), NULL);
	cr_assert_null(strchr(gt_rec.message, '\n'));
	gort_span_info si;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)keep, &si), 0);
	char span[40];
	snprintf(span, sizeof span, "span %#lx", (unsigned long)si.base);
	cr_assert(strstr(gt_rec.message, span), "message %s does not name %s", gt_rec.message,
		  span);

	int stack;
	gort_free(&stack);
	cr_assert(strncmp(gt_rec.message, "invalid free: 0x", 16) == 0, "message: %s",
		  gt_rec.message);
	cr_assert_str_eq(gt_rec.kind_name, "invalid free");
	unsigned char *q = gort_malloc(100);
	gort_free(q + 4);
	cr_assert(strncmp(gt_rec.message, "interior pointer: 0x", 20) == 0, "message: %s",
		  gt_rec.message);
	cr_assert_str_eq(gt_rec.kind_name, "interior pointer");
	cr_assert_eq(gort_error_count(), 3);
	gort_free(q);
	gort_free(keep);
}

/* ------------------------------------------------------------- handlers */

static int reentrant_ok;
static void reentrant_handler(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	/* The handler runs with no allocator lock held: gort calls work. */
	void *x = gort_malloc(64);
	void *y = gort_malloc(100000);
	struct gort_memstats ms;
	gort_memstats(&ms);
	reentrant_ok = x && y && gort_check() == 0;
	gort_free(x);
	gort_free(y);
}

Test(misuse, handler_may_call_gort)
{
	gort_set_error_handler(reentrant_handler, NULL);
	void *keep, *p = alloc_pair(100, &keep);
	gort_free(p);
	gort_free(p);
	cr_assert_eq(gt_reports(), 1);
	cr_assert(reentrant_ok, "gort calls inside the handler failed");
	void *l = gort_malloc(MiB);
	gort_free((char *)l + 8);
	cr_assert_eq(gt_reports(), 2);
	cr_assert(reentrant_ok);
	gort_free((void *)1);
	cr_assert_eq(gt_reports(), 3);
	cr_assert(reentrant_ok);
	gort_free(l);
	gort_free(keep);
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gort_check(), 0);
}

Test(misuse, handler_may_longjmp_out)
{
	gort_set_error_handler(gt_jumping_handler, NULL);
	void *keep, *p = alloc_pair(100, &keep);
	void *l = gort_malloc(MiB);
	unsigned char *t = gort_alloc(4, GORT_NOSCAN);
	gort_free(p);
	void *volatile targets[] = {p, (char *)l + 64, (void *)16, t + 1};
	for (int i = 0; i < 4; i++) {
		if (setjmp(gt_escape) == 0) {
			gort_free(targets[i]);
			cr_assert_fail("misuse %d not reported", i);
		}
		cr_assert_eq(gt_reports(), i + 1);
		/* Nothing was left locked or half done. */
		void *x = gort_malloc(200);
		cr_assert_not_null(x);
		gort_free(x);
		cr_assert_eq(gort_check(), 0, "after escaping misuse %d: %s", i, gt_rec.message);
	}
	if (setjmp(gt_escape) == 0) {
		gort_realloc((char *)l + 8, 10);
		cr_assert_fail("realloc of an interior pointer not reported");
	}
	cr_assert_eq(gt_reports(), 5);
	gt_record_errors();
	gort_free(l);
	gort_free(keep);
	gort_free(t);
	cr_assert_eq(gt_reports(), 5);
	cr_assert_eq(gort_check(), 0);
}

Test(misuse, set_error_handler_returns_the_previous_one)
{
	cr_assert_eq(gort_set_error_handler(gt_jumping_handler, NULL), gt_record);
	cr_assert_eq(gort_set_error_handler(NULL, NULL), gt_jumping_handler);
	cr_assert_null(gort_set_error_handler(gt_record, NULL));
}

static void *ctx_seen;
static void ctx_handler(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	ctx_seen = ctx;
}

Test(misuse, handler_gets_its_context)
{
	int token;
	gort_set_error_handler(ctx_handler, &token);
	gort_free((void *)24);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(ctx_seen, &token);
}

/* ---------------------------------------------------- cross-thread races */

enum {
	RACE_ROUNDS = 1000
};

static pthread_barrier_t race_start, race_done;
static void *volatile race_target;
static int race_stop;

static void *race_freer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&race_start);
		if (__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE))
			break;
		gort_free(race_target);
		pthread_barrier_wait(&race_done);
	}
	return NULL;
}

/* Starts n race_freer threads; the calling thread is the barriers' last
 * party. */
static void start_freers(pthread_t *t, int n)
{
	pthread_barrier_init(&race_start, NULL, (unsigned)n + 1);
	pthread_barrier_init(&race_done, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race_freer, NULL), 0);
}

static void stop_freers(pthread_t *t, int n)
{
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&race_start);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&race_start);
	pthread_barrier_destroy(&race_done);
}

/* Two threads (neither of them the allocating one) free the same object at
 * the same moment: exactly one of them reports, every time. */
static void race_rounds(const size_t *sizes, size_t nsizes)
{
	pthread_t t[2];
	start_freers(t, 2);
	int bad_round = -1, bad_count = 0;
	for (int r = 0; r < RACE_ROUNDS; r++) {
		size_t size = sizes[(size_t)r % nsizes];
		void *p = gort_malloc(size);
		race_target = p;
		int before = gt_reports();
		pthread_barrier_wait(&race_start);
		pthread_barrier_wait(&race_done);
		int got = gt_reports() - before;
		if (got != 1 && bad_round < 0) {
			bad_round = r;
			bad_count = got;
		}
	}
	stop_freers(t, 2);
	cr_assert_lt(bad_round, 0, "round %d: %d reports for one object freed on two threads",
		     bad_round, bad_count);
	int n = gt_reports();
	gort_flush_caches();
	cr_assert_eq(gt_reports(), n, "a late report after the races: %s", gt_rec.message);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0, "%llu objects left", (unsigned long long)ms.heap_objects);
}

Test(misuse, double_free_racing_on_two_threads)
{
	static const size_t sizes[] = {8, 16, 48, 100, 512, 1000, 4096, 10000, 32768};
	race_rounds(sizes, sizeof sizes / sizeof sizes[0]);
}

Test(misuse, double_free_of_large_objects_racing_on_two_threads)
{
	static const size_t sizes[] = {40000, 100000, MiB};
	race_rounds(sizes, sizeof sizes / sizeof sizes[0]);
}

/* The allocating thread and another one free the same object at once: one
 * report, possibly only when the owner next sweeps the span. */
Test(misuse, double_free_racing_with_the_owner_thread)
{
	pthread_t t;
	start_freers(&t, 1);
	int bad_round = -1, bad_count = 0;
	for (int r = 0; r < RACE_ROUNDS; r++) {
		size_t size = (size_t)16 << (r % 9);
		void *keep, *p = alloc_pair(size, &keep);
		race_target = p;
		int before = gt_reports();
		pthread_barrier_wait(&race_start);
		gort_free(p);
		pthread_barrier_wait(&race_done);
		gort_free(keep);
		gort_flush_caches(); /* the owner gives the span up: its inbox is swept */
		int got = gt_reports() - before;
		if (got != 1 && bad_round < 0) {
			bad_round = r;
			bad_count = got;
		}
	}
	stop_freers(&t, 1);
	cr_assert_lt(bad_round, 0, "round %d: %d reports for one object freed twice", bad_round,
		     bad_count);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.message);
}

/* ------------------------------------------------------ default handler */

Test(misuse_default, double_free_aborts, .signal = SIGABRT)
{
	gt_init(64 * MiB);
	void *p = gort_malloc(100);
	void *keep = gort_malloc(100);
	(void)keep;
	gort_free(p);
	gort_free(p);
	/* not reached */
	exit(0);
}

Test(misuse_default, restored_default_aborts_on_invalid_free, .signal = SIGABRT)
{
	gt_init(64 * MiB);
	gt_record_errors();
	int on_stack;
	gort_free(&on_stack);
	cr_assert_eq(gt_reports(), 1);
	gort_set_error_handler(NULL, NULL);
	gort_free(&on_stack);
	exit(0);
}
