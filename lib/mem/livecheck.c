/*
 * livecheck.c — the canaries of live objects, all at once: an overflow of an
 * object that is never freed is otherwise never seen, since free is where a
 * canary is checked. gort_check_canaries() walks every in-use span; the
 * drop-in runs the same walk at exit under the paranoid preset
 * (lib/preload), and a program may call it whenever it likes.
 *
 * Owns nothing but the walk. It runs with every allocator lock held, which
 * stops spans from changing hands but not a thread that is between setting
 * a slot's ALLOC bit and writing its canary, or between zeroing a freed
 * slot and setting its QUARANTINE bit (caches work without locks). So a
 * damaged canary is looked at again a moment later, after the locks are
 * dropped, and reported only if the object is still live and the canary
 * still damaged: a write in flight finishes in nanoseconds.
 *
 * Cost: linear in the committed heap; meant for exit and for tests, never
 * for a fast path.
 */
#include "mem/mem.h"

#include <time.h>

typedef struct damaged {
	uintptr_t obj;   /* the object's start; 0 if none found */
	size_t request;  /* large: its request; small: unknown ((size_t)-1) */
	size_t bad;      /* offset of the first damaged byte */
	bool large;
} damaged_t;

/* The first live object of s whose canary is damaged, into *d. */
static bool span_damaged(const span_t *s, damaged_t *d)
{
	unsigned sc = s->spanclass;
	if (sc == TINY_SPAN_CLASS)
		return false;
	if (sc == LARGE_SPAN_CLASS) {
		if (!slot_live(s, 0) || gort_large_canary_ok(s->base, s->request, &d->bad))
			return false;
		*d = (damaged_t){.obj = s->base, .request = s->request, .bad = d->bad, .large = true};
		return true;
	}
	for (size_t i = 0; i < s->nelems; i++) {
		uintptr_t obj = s->base + i * s->elemsize;
		if (slot_live(s, i) && gort_canary_request(obj, s->elemsize, &d->bad) == (size_t)-1) {
			*d = (damaged_t){.obj = obj, .request = (size_t)-1, .bad = d->bad};
			return true;
		}
	}
	return false;
}

static bool find_damaged(damaged_t *d)
{
	bool found = false;
	gort_mem_lock_all();
	for (unsigned k = 0; k < gort_mem.arena.nranges && !found; k++) {
		const heap_range_t *r = &gort_mem.arena.range[k];
		for (uintptr_t p = r->base; p < r->used && !found;) {
			span_t *s = gort_heap_span_at(&p);
			if (!s)
				break;
			found = s->state == SPAN_INUSE && span_damaged(s, d);
		}
	}
	gort_mem_unlock_all();
	return found;
}

/* Still live and still damaged, a moment after it was found. */
static bool still_damaged(const damaged_t *d)
{
	struct timespec pause = {0, 1000000};
	nanosleep(&pause, NULL);
	damaged_t again;
	span_t *s = gort_span_lookup(d->obj);
	if (!s || ld_acq(&s->state) != SPAN_INUSE)
		return false;
	if (d->large)
		return slot_live(s, 0) && !gort_large_canary_ok(s->base, s->request, &again.bad);
	size_t idx = sc_index_of(ld(&s->spanclass), d->obj - ld(&s->base));
	return slot_live(s, idx) &&
	       gort_canary_request(d->obj, s->elemsize, &again.bad) == (size_t)-1;
}

int gort_mem_check_canaries(const char *op)
{
	if (ld_acq(&gort_mem.state) != 2 || !gort_hard->canary)
		return 0;
	damaged_t d = {0};
	if (!find_damaged(&d) || !still_damaged(&d))
		return 0;
	char buf[96];
	gort_report(GORT_ERR_HEAP_OVERFLOW, op, d.obj,
		    gort_overflow_detail(buf, sizeof buf, d.request, d.bad));
	return -1;
}
