/*
 * inspect_mem.c — read-only snapshots of the allocator for gort_inspect.h.
 *
 * Each snapshot takes every allocator lock (gort_mem_lock_all: no scavenger
 * pass under way, so every free run is in its bucket) so the copy is
 * consistent, and writes only into the caller's buffers: inspecting never
 * allocates from the heap it shows.
 */
#include "mem/mem.h"

#include <string.h>

#define ARENA (gort_mem.arena)
#define HEAP (gort_mem.heap)

static int ready(void)
{
	return ld_acq(&gort_mem.state) == 2;
}

/* ---------------------------------------------------------- size classes */

size_t gort_inspect_sizeclasses(gort_sizeclass_info *out, size_t max)
{
	for (unsigned c = 0; c < SC_NUM && c < max; c++) {
		size_t span = (size_t)gort_sc_npages[c] * PAGE_SIZE;
		out[c] = (gort_sizeclass_info){
			.cls = c,
			.size = gort_sc_size[c],
			.npages = gort_sc_npages[c],
			.nelems = gort_sc_nelems[c],
			.tail_waste = c ? (uint32_t)(span - (size_t)gort_sc_size[c] * gort_sc_nelems[c])
					: 0,
			.divmagic = gort_sc_divmagic[c],
		};
	}
	return SC_NUM;
}

unsigned gort_size_to_class(size_t size)
{
	if (size > SC_MAX_SMALL)
		return 0;
	return sc_class_of(size ? size : 1);
}

/* ------------------------------------------------------------------ arena */

void gort_inspect_arena(gort_arena_info *out)
{
	memset(out, 0, sizeof *out);
	if (!ready())
		return;
	gort_lock(&HEAP.lock);
	const heap_range_t *r = gort_arena_range_of(&ARENA, ARENA.base);
	const heap_arena_t *h = gort_arena_of(ARENA.base);
	uintptr_t used = r ? r->used : ARENA.base;
	size_t reserved = 0;
	for (unsigned k = 0; k < ARENA.nranges; k++)
		reserved += ARENA.range[k].resv - ARENA.range[k].base;
	uintptr_t bitmap = (uintptr_t)h->bitmap;
	*out = (gort_arena_info){
		.reserved_base = (uintptr_t)h,
		.reserved_bytes = bitmap + ARENA_BYTES / 16 + ARENA_BITMAP_SLACK - (uintptr_t)h,
		.spans_base = (uintptr_t)h->spans,
		.spans_bytes = ARENA_PAGES * sizeof(span_t *),
		.bitmap_base = bitmap,
		.bitmap_bytes = ARENA_BYTES / 16,
		.arena_base = ARENA.base,
		.arena_bytes = ARENA.limit ? ARENA.limit : (r ? r->end : ARENA.base) - ARENA.base,
		.arena_used = used,
		.at_hint = ARENA.at_hint,
		.heap_limit = ARENA.limit,
		.heap_reserved = reserved,
		.heap_committed = ARENA.committed,
		.narenas = (uint32_t)ARENA.narenas,
		.nranges = ARENA.nranges,
	};
	gort_unlock(&HEAP.lock);
}

size_t gort_inspect_arenas(gort_heap_arena_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_lock(&HEAP.lock);
	size_t n = 0;
	for (const heap_arena_t *h = ARENA.all; h; h = h->next, n++) {
		if (n >= max)
			continue;
		uint32_t range = 0;
		while (range + 1 < ARENA.nranges && ARENA.range[range].end <= h->base)
			range++;
		out[n] = (gort_heap_arena_info){
			.base = h->base,
			.used = ld(&h->used),
			.spans_base = (uintptr_t)h->spans,
			.bitmap_base = (uintptr_t)h->bitmap,
			.range = range,
		};
	}
	gort_unlock(&HEAP.lock);
	return n;
}

static uint8_t page_state(const span_t *s)
{
	if (s->state == SPAN_FREE)
		return s->nreleased == s->npages ? GORT_PAGE_RELEASED : GORT_PAGE_FREE;
	if (s->spanclass == LARGE_SPAN_CLASS)
		return GORT_PAGE_LARGE;
	return s->spanclass == TINY_SPAN_CLASS ? GORT_PAGE_TINY : GORT_PAGE_SMALL;
}

size_t gort_inspect_pages(uintptr_t addr, gort_page_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	/* Within the range holding addr (the first one if addr is below it). */
	uintptr_t from = addr < ARENA.base ? ARENA.base : addr & ~(uintptr_t)(PAGE_SIZE - 1);
	const heap_range_t *r = gort_arena_range_of(&ARENA, from);
	size_t total = r ? (r->used - from) >> PAGE_SHIFT : 0;
	uintptr_t to = r ? r->used : 0;
	size_t n = 0, index = 0;
	FOR_EACH_SPAN(s)
	{
		for (size_t i = 0; i < s->npages; i++) {
			uintptr_t page = s->base + (i << PAGE_SHIFT);
			if (page < from || page >= to || n >= max)
				continue;
			out[n++] = (gort_page_info){
				.state = s->state == SPAN_FREE
						 ? (gort_heap_released_bits(page, 1, BITS_COUNT)
							    ? GORT_PAGE_RELEASED
							    : GORT_PAGE_FREE)
						 : page_state(s),
				.span_class = s->spanclass,
				.first = i == 0,
				.span_index = (uint32_t)index,
			};
		}
		index++;
	}
	gort_mem_unlock_all();
	return total;
}

/* ------------------------------------------------------------------ spans */

/* Field by field, every field (a memset per span is an intercepted call in
 * sanitizer builds, and fuzzers list every span in their deep checks). */
static void fill_span(const span_t *s, gort_span_info *o)
{
	bool inuse = s->state == SPAN_INUSE;
	o->base = s->base;
	o->npages = (uint32_t)s->npages;
	o->state = s->state;
	o->owner = s->owner;
	o->span_class = s->spanclass;
	o->released = !inuse && s->nreleased == s->npages;
	o->released_pages = inuse ? 0 : s->nreleased;
	o->cache_id = inuse ? s->cache_id : -1;
	o->elemsize = !inuse ? 0
		      : s->spanclass == LARGE_SPAN_CLASS ? (uint32_t)span_bytes(s)
							  : s->elemsize;
	o->nelems = inuse ? s->nelems : 0;
	o->nalloc = inuse ? gort_bitmap_count(s, GORT_PLANE_ALLOC) : 0;
	o->nfreed = inuse ? gort_bitmap_count(s, GORT_PLANE_FREED) : 0;
	o->nquarantined = inuse ? (uint16_t)gort_bitmap_count(s, GORT_PLANE_QUARANTINE) : 0;
	o->guard_pages = inuse ? s->guard : 0;
	o->request = inuse ? s->request : 0;
}

size_t gort_inspect_spans(gort_span_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	size_t n = 0;
	FOR_EACH_SPAN(s)
	{
		if (n < max)
			fill_span(s, &out[n]);
		n++;
	}
	gort_mem_unlock_all();
	return n;
}

int gort_inspect_span_of(uintptr_t addr, gort_span_info *out)
{
	if (!ready())
		return -1;
	gort_mem_lock_all();
	span_t *s = gort_span_lookup(addr);
	if (s)
		fill_span(s, out);
	gort_mem_unlock_all();
	return s ? 0 : -1;
}

size_t gort_inspect_bitmap(uintptr_t addr, uint64_t *words, size_t max_words)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	span_t *s = gort_span_lookup(addr);
	size_t nw = s ? s->nwords : 0;
	if (s && max_words >= (size_t)GORT_BITMAP_PLANES * nw)
		for (unsigned p = 0; p < GORT_BITMAP_PLANES; p++)
			for (size_t w = 0; w < nw; w++)
				words[p * nw + w] = ld(&span_plane(s, p)[w]);
	gort_mem_unlock_all();
	return nw;
}

size_t gort_inspect_tiny(uintptr_t addr, uint16_t *live, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	span_t *s = gort_span_lookup(addr);
	size_t n = 0;
	if (s && s->spanclass == TINY_SPAN_CLASS) {
		n = s->nelems;
		for (size_t i = 0; i < n && i < max; i++)
			live[i] = bitmap_test(s, GORT_PLANE_ALLOC, i)
					  ? (uint16_t)(ld(&s->tiny[i]) & TINY_LIVE_MASK)
					  : 0;
	}
	gort_mem_unlock_all();
	return n;
}

/* Only the heap lock: what is read here is the span's identity and shape
 * (fixed while it is in use, and it leaves use only under the heap lock)
 * and its bits and tiny masks (atomic words). One lock instead of every
 * central's makes this cheap enough to call after every allocation. */
int gort_inspect_object(const void *addr, gort_object_info *out)
{
	if (!ready())
		return -1;
	uintptr_t p = (uintptr_t)addr;
	gort_lock(&HEAP.lock);
	span_t *s = gort_span_lookup(p);
	if (s) { /* every field set, no memset: see fill_span */
		size_t size = s->spanclass == LARGE_SPAN_CLASS ? span_bytes(s)
			      : s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE
								 : s->elemsize;
		size_t slot = (p - s->base) / size;
		out->addr = p;
		out->base = s->base + slot * size;
		out->span_base = s->base;
		out->span_class = s->spanclass;
		out->size_class = s->spanclass == LARGE_SPAN_CLASS ? 0
				  : spanclass_sizeclass(s->spanclass);
		out->slot = slot;
		out->elemsize = size;
		out->bits = 0;
		for (unsigned pl = 0; pl < GORT_BITMAP_PLANES; pl++)
			out->bits |= (uint8_t)(bitmap_test(s, pl, slot) << pl);
		out->tiny = s->spanclass == TINY_SPAN_CLASS;
		out->tiny_live =
			out->tiny ? (uint16_t)(ld(&s->tiny[slot]) & TINY_LIVE_MASK) : 0;
	}
	gort_unlock(&HEAP.lock);
	return s ? 0 : -1;
}

/* ----------------------------------------------------------------- caches */

size_t gort_inspect_caches(gort_cache_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	size_t n = 0;
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		if (!ld(&c->in_use))
			continue;
		if (n < max) {
			gort_cache_info *o = &out[n];
			memset(o, 0, sizeof *o);
			o->id = c->id;
			o->kind = c->kind;
			o->tiny = c->tiny;
			o->tiny_offset = c->tiny_offset;
			for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
				span_t *s = c->alloc[sc];
				o->spans[sc] = s == &gort_empty_span ? 0 : s->base;
				o->nspans += (s != &gort_empty_span) + cache_owned(c, sc);
				o->mallocs += ld(&c->slot_alloc[sc]);
				o->frees += ld(&c->slot_free[sc]);
			}
		}
		n++;
	}
	gort_mem_unlock_all();
	return n;
}

/* ---------------------------------------------------------------- central */

size_t gort_inspect_centrals(gort_central_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES && sc < max; sc++) {
		central_t *c = &gort_mem.central[sc];
		out[sc] = (gort_central_info){
			.span_class = sc,
			.npartial = c->npartial,
			.nfull = c->nfull,
			.ncached = c->ncached,
			.nempty = c->nempty,
		};
	}
	FOR_EACH_SPAN(s)
	{
		if (s->state == SPAN_INUSE && s->spanclass < max)
			out[s->spanclass].nalloc += gort_bitmap_count(s, GORT_PLANE_ALLOC);
	}
	gort_mem_unlock_all();
	return NUM_SPAN_CLASSES;
}

/* ------------------------------------------------------------------- heap */

size_t gort_inspect_free_runs(gort_run_info *out, size_t max)
{
	if (!ready())
		return 0;
	gort_mem_lock_all();
	size_t n = 0;
	FOR_EACH_SPAN(s)
	{
		if (s->state != SPAN_FREE)
			continue;
		if (n < max)
			out[n] = (gort_run_info){s->base, (uint32_t)s->npages,
						 s->nreleased == s->npages, s->nreleased};
		n++;
	}
	gort_mem_unlock_all();
	return n;
}
