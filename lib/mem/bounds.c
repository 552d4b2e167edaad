/*
 * bounds.c — whether a write of n bytes at an address stays inside one live
 * object: the drop-in's memcpy, memmove and memset ask before they write
 * (default and paranoid), so an overflow by a bulk copy is reported before
 * it lands rather than, at best, when the object is freed.
 *
 * O(1) per call whatever n is: the address resolves to its span through
 * the arena index (two loads; anything outside the heap is not ours to
 * judge), its slot by the class's multiply-shift, and the object's end is
 * the request its canary keeps. Only the destination is checked, and only
 * when it is a heap object: stacks, globals and foreign memory pass.
 *
 * Reads only: the span and bitmap words are loaded as a free from another
 * thread loads them. A write into a slot that is not live is a use after
 * free; past the request, a heap overflow. A canary already damaged is
 * left for free to report, with its offset.
 */
#include "mem/mem.h"

static __attribute__((noinline, cold)) void bounds_report(gort_error_kind kind, const char *op, uintptr_t dst,
				      const span_t *s, uintptr_t obj, size_t request, size_t n);

/* The request of the live small object in slot idx at obj, (size_t)-2 if
 * the slot is not live, (size_t)-1 if its canary says nothing usable. */
static size_t small_object_end(const span_t *s, size_t idx, uintptr_t obj)
{
	if (!slot_live(s, idx))
		return (size_t)-2;
	size_t bad;
	return gort_canary_request(obj, s->elemsize, &bad);
}

void gort_check_write(const void *dst, size_t n, const char *op)
{
	uintptr_t p = (uintptr_t)dst;
	if (!n || !gort_hard->canary || ld_acq(&gort_mem.state) != 2)
		return;
	span_t *s = gort_span_lookup(p);
	if (!s)
		return;
	unsigned sc = ld(&s->spanclass);
	uintptr_t base = ld(&s->base);
	size_t request;
	uintptr_t obj = base;
	if (sc == LARGE_SPAN_CLASS) {
		bool live = bitmap_test(s, GORT_PLANE_ALLOC, 0) &&
			    !bitmap_test(s, GORT_PLANE_QUARANTINE, 0);
		request = live ? s->request : (size_t)-2;
	} else if (sc == TINY_SPAN_CLASS) {
		return;
	} else {
		size_t idx = sc_index_of(sc, p - base);
		if (idx >= ld(&s->nelems))
			return;
		obj = base + idx * s->elemsize;
		request = small_object_end(s, idx, obj);
	}
	if (request == (size_t)-1)
		return;
	if (request == (size_t)-2) {
		bounds_report(GORT_ERR_USE_AFTER_FREE, op, p, s, obj, 0, n);
		return;
	}
	if (p - obj > request || n > request - (p - obj))
		bounds_report(GORT_ERR_HEAP_OVERFLOW, op, p, s, obj, request, n);
}

static __attribute__((noinline, cold)) void bounds_report(gort_error_kind kind, const char *op, uintptr_t dst,
				      const span_t *s, uintptr_t obj, size_t request, size_t n)
{
	char extra[112], buf[200];
	strbuf_t b = {extra, sizeof extra, 0};
	gort_sb_dec(&b, n);
	gort_sb_str(&b, " B written at +");
	gort_sb_dec(&b, dst - obj);
	if (kind == GORT_ERR_HEAP_OVERFLOW) {
		gort_sb_str(&b, " of a ");
		gort_sb_dec(&b, request);
		gort_sb_str(&b, "-byte object");
	} else {
		gort_sb_str(&b, " of a freed object");
	}
	gort_report(kind, op, obj, gort_detail_span(buf, sizeof buf, s, gort_sb_done(&b)));
}
