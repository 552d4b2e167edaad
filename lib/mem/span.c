/*
 * span.c — a run of pages holding objects of one span class, and the lookup
 * from any address to the span that holds it.
 *
 * Invariants of an in-use span s:
 *  - spans[p] == s for every page p of s, and s->state == SPAN_INUSE,
 *    published last (release) so an unlocked reader never sees a half-made span;
 *  - small: elemsize == class size, nelems == (npages - guard) * 8192 / elemsize
 *    (paranoid ends each span with a guard page no slot reaches), and
 *    object i is at base + i * elemsize; tiny: 16-byte blocks; large: one object
 *    at base, elemsize 0 (its size is npages * 8192);
 *  - hwm only grows: slots below it have been handed out at least once.
 */
#include "mem/mem.h"

void gort_span_init_inuse(span_t *s, unsigned sc)
{
	/* Fields a free on another thread may read while racing a recycle
	 * (a double free) are written atomically; see gort_span_lookup in mem.h. */
	st(&s->spanclass, (uint8_t)sc);
	s->list = LIST_NONE;
	st(&s->cache_id, -1);
	st(&s->full_flag, 0);
	st(&s->hwm, 0);
	s->alloc_cache = 0;
	s->cache_word = 0;
	s->next_word = 0;
	s->request = 0;
	s->nquar = 0;
	s->cache_list = CACHE_LIST_NONE;
	s->next = s->prev = NULL;
	if (sc == LARGE_SPAN_CLASS) {
		st(&s->elemsize, 0);
		st(&s->nelems, 1);
	} else {
		st(&s->elemsize, gort_sc_size[spanclass_sizeclass(sc)]);
		size_t bytes = span_bytes(s) - ((size_t)s->guard << PAGE_SHIFT);
		st(&s->nelems, (uint32_t)(bytes / s->elemsize));
	}
	gort_bitmap_init_span(s);
}
