/*
 * heap.c — mheap: the arena's pages, as in-use spans and free runs.
 *
 * Free runs are kept in buckets by length (free[n] holds runs of exactly n
 * pages for n < 128, free[0] the longer ones), as Go 1.5's mheap did. A run
 * records itself in the spans array at its first and last page, so when a
 * span is freed its neighbours are found in O(1) and merged: the heap never
 * holds two adjacent free runs. In-use spans record themselves at every page,
 * which is what makes any address resolvable to its span in O(1).
 *
 * Large objects (> 32 KiB) are spans of their own, straight from here.
 *
 * Memory goes back to the OS by madvise(MADV_DONTNEED) of free pages
 * (scavenge.c): on demand (gort_release) and, when the runtime is used as
 * a plain allocator (not in deterministic step mode), by a background
 * scavenger. Which pages are released is kept exactly, one bit per page in
 * its arena, so a run may be partly released and merging runs loses
 * nothing; how long pages have been free is kept per 16-page chunk, so a
 * run that absorbs a fresh neighbour does not make its old pages young.
 *
 * Invariants (gort_check verifies them):
 *  - every page of [arena.base, arena.used) is in exactly one span or run;
 *  - no two free runs are adjacent;
 *  - a run of n pages is in bucket n (n < 128) or bucket 0;
 *  - pages_inuse + pages_free == committed pages;
 *  - a page's released bit is set only in a free run; a run's nreleased is
 *    the count of its bits; pages_released is their sum.
 */
#include "mem/mem.h"

#include <errno.h>
#include <string.h>

#define H (gort_mem.heap)
#define A (gort_mem.arena)

/* ------------------------------------------------------------- buckets */

static unsigned bucket_of(size_t npages)
{
	return npages < HEAP_BUCKETS ? (unsigned)npages : 0;
}

/* Runs with every page released go to the tail, all others to the head:
 * allocation takes backed memory first (no refault), and a scavenger pass
 * stops at the first run it has nothing to do for. */
static void bucket_push(span_t *s)
{
	unsigned b = bucket_of(s->npages);
	span_list_t *l = &H.free[b];
	if (s->nreleased == s->npages && l->last) {
		s->next = NULL;
		s->prev = l->last;
		l->last->next = s;
		l->last = s;
	} else {
		s->prev = NULL;
		s->next = l->first;
		if (l->first)
			l->first->prev = s;
		else
			l->last = s;
		l->first = s;
	}
	l->n++;
	H.nonempty[b / 64] |= (uint64_t)1 << (b % 64);
	st(&s->list, LIST_FREE);
}

void gort_heap_bucket_remove(span_t *s)
{
	unsigned b = bucket_of(s->npages);
	span_list_t *l = &H.free[b];
	if (s->prev)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->next = s->prev = NULL;
	if (--l->n == 0)
		H.nonempty[b / 64] &= ~((uint64_t)1 << (b % 64));
	st(&s->list, LIST_NONE);
}

/* Best fit among the long runs: the shortest that fits, lowest address on ties. */
static span_t *best_long_run(size_t npages)
{
	span_t *best = NULL;
	for (span_t *s = H.free[0].first; s; s = s->next) {
		if (s->npages < npages)
			continue;
		if (!best || s->npages < best->npages ||
		    (s->npages == best->npages && s->base < best->base))
			best = s;
	}
	return best;
}

static span_t *find_fit(size_t npages)
{
	for (unsigned b = (unsigned)npages; b < HEAP_BUCKETS && npages < HEAP_BUCKETS;) {
		uint64_t w = H.nonempty[b / 64] >> (b % 64);
		if (w) {
			b += (unsigned)__builtin_ctzll(w);
			if (b < HEAP_BUCKETS)
				return H.free[b].first;
			break;
		}
		b = (b / 64 + 1) * 64;
	}
	return best_long_run(npages);
}

/* ---------------------------------------------------------- spans array */

/* Pages may belong to two arenas (a run or span crossing a boundary), so
 * each page's entry is found through the index. */
static void set_spans(span_t *s, uintptr_t base, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		st(arena_span_slot(base + (i << PAGE_SHIFT)), s);
}

static void mark_run_ends(span_t *s)
{
	st(arena_span_slot(s->base), s);
	st(arena_span_slot(s->base + span_bytes(s) - PAGE_SIZE), s);
}

/* A free run in a bucket: one the scavenger has taken out for a moment
 * (list NONE) is neither merged nor allocated until it is back. */
static span_t *free_run_at(uintptr_t page)
{
	span_t *t = arena_span_entry(page);
	return t && t->state == SPAN_FREE && t->list == LIST_FREE ? t : NULL;
}

span_t *gort_heap_span_at(uintptr_t *p)
{
	if (!arena_committed(*p)) {
		/* Past the end of a range: on to the next one. */
		uintptr_t next = *p ? gort_arena_next_range(&A, *p) : 0;
		if (!next)
			return NULL;
		*p = next;
	}
	span_t *s = arena_span_entry(*p);
	if (!s || s->base != *p || s->npages == 0)
		return NULL;
	*p += span_bytes(s);
	return s;
}

/* ------------------------------------------------------- page bits */

/* Count the released bits of [base, base + npages pages), then set or clear
 * them (op); the count before. Pages may lie in two or more arenas. */
size_t gort_heap_released_bits(uintptr_t base, size_t npages, int op)
{
	size_t was = 0;
	uintptr_t end = base + (npages << PAGE_SHIFT);
	for (uintptr_t p = base; p < end;) {
		heap_arena_t *h = gort_arena_of(p);
		uintptr_t seg_end = h->base + ARENA_BYTES < end ? h->base + ARENA_BYTES : end;
		size_t i = (p - h->base) >> PAGE_SHIFT, stop = (seg_end - h->base) >> PAGE_SHIFT;
		while (i < stop) {
			size_t lo = i % 64, n = stop - i < 64 - lo ? stop - i : 64 - lo;
			uint64_t mask = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << lo;
			uint64_t *w = &h->released[i / 64];
			was += popcount64(*w & mask);
			if (op == BITS_SET)
				*w |= mask;
			else if (op == BITS_CLEAR)
				*w &= ~mask;
			i += n;
		}
		p = seg_end;
	}
	return was;
}

/* Pages of [base, +npages) became free now: their chunks start aging. */
static void stamp_freed(uintptr_t base, size_t npages)
{
	if (!H.scavenge)
		return;
	uint64_t now = gort_os_nanotime();
	uintptr_t end = base + (npages << PAGE_SHIFT);
	for (uintptr_t p = base & ~(uintptr_t)(CHUNK_BYTES - 1); p < end; p += CHUNK_BYTES) {
		heap_arena_t *h = gort_arena_of(p);
		h->freed_at[(p - h->base) / CHUNK_BYTES] = now;
	}
}

/* --------------------------------------------------------------- runs */

static span_t *new_run(uintptr_t base, size_t npages, size_t nreleased, int needzero)
{
	span_t *s = gort_fixalloc_alloc(&H.spanalloc);
	if (!s)
		return NULL;
	st(&s->base, base);
	st(&s->npages, npages);
	st(&s->state, SPAN_FREE);
	st(&s->owner, OWNER_HEAP);
	s->nreleased = (uint32_t)nreleased;
	s->needzero = (uint8_t)needzero;
	st(&s->cache_id, -1);
	return s;
}

/* Absorb the free neighbour t into s (t's struct is freed). */
static void absorb(span_t *s, span_t *t)
{
	gort_heap_bucket_remove(t);
	s->nreleased += t->nreleased;
	s->needzero |= t->needzero;
	if (t->base < s->base)
		st(&s->base, t->base);
	st(&s->npages, s->npages + t->npages);
	gort_fixalloc_free(&H.spanalloc, t);
}

/* File s as a free run, merged with free neighbours. Heap lock held. */
void gort_heap_insert_free(span_t *s)
{
	span_t *left = free_run_at(s->base - PAGE_SIZE);
	if (left)
		absorb(s, left);
	span_t *right = free_run_at(s->base + span_bytes(s));
	if (right)
		absorb(s, right);
	mark_run_ends(s);
	bucket_push(s);
}

/* Split the tail of free run s beyond npages into a run of its own. */
static void split_tail(span_t *s, size_t npages)
{
	if (s->npages == npages)
		return;
	uintptr_t tail = s->base + (npages << PAGE_SHIFT);
	size_t rel = gort_heap_released_bits(tail, s->npages - npages, BITS_COUNT);
	span_t *t = new_run(tail, s->npages - npages, rel, s->needzero);
	if (!t)
		return; /* keep the slack inside s: wasteful, never wrong */
	s->nreleased -= (uint32_t)rel;
	st(&s->npages, npages);
	mark_run_ends(t);
	bucket_push(t);
}

static int grow(size_t npages)
{
	/* A free run at the top of the growing range merges with the new
	 * pages: only the difference is needed (it matters at the limit). */
	const heap_range_t *r = A.cur;
	span_t *top = r->used > r->base ? free_run_at(r->used - PAGE_SIZE) : NULL;
	if (top && top->npages < npages)
		npages -= top->npages;
	size_t got;
	uintptr_t from = gort_arena_grow(&A, npages, &got);
	if (!from)
		return -1;
	span_t *s = new_run(from, got, 0, 0);
	if (!s)
		return -1;
	H.pages_free += got;
	stamp_freed(from, got);
	gort_heap_insert_free(s);
	return 0;
}

/* Paranoid: how many guard pages follow a span, 1 to 4 at random, so spans
 * do not sit at predictable distances from each other. Spans are carved
 * from the start of a free run, and the page below a free run is never free
 * (runs coalesce): it is the guard of the span below, or the range's guard,
 * so the page below every span faults too. (Shifting a span into its run
 * instead would leave writable free pages under its first object.) */
static size_t guard_pages(size_t guard)
{
	if (!guard || !gort_hard->randomize)
		return guard;
	return guard + (size_t)(gort_xorshift64(&H.rng) % 4);
}

/* Take npages (aligned to align_pages) out of the free runs. Heap lock held. */
static span_t *take_run(size_t npages, size_t align_pages)
{
	size_t want = npages + (align_pages > 1 ? align_pages - 1 : 0);
	span_t *s = find_fit(want);
	if (!s)
		return NULL;
	gort_heap_bucket_remove(s);
	uintptr_t align = (uintptr_t)align_pages << PAGE_SHIFT;
	uintptr_t start = s->base;
	uintptr_t abase = align_pages > 1 ? (start + align - 1) & ~(align - 1) : start;
	if (abase != s->base) {
		/* The leading pages become a run of their own, filed as is:
		 * its left neighbour cannot be free (runs are coalesced). */
		size_t lead = (abase - s->base) >> PAGE_SHIFT;
		size_t rel = gort_heap_released_bits(s->base, lead, BITS_COUNT);
		span_t *l = new_run(s->base, lead, rel, s->needzero);
		if (!l) {
			bucket_push(s);
			return NULL;
		}
		s->nreleased -= (uint32_t)rel;
		st(&s->base, abase);
		st(&s->npages, s->npages - lead);
		mark_run_ends(l);
		bucket_push(l);
	}
	split_tail(s, npages);
	/* In use from here: its pages are backed again once touched. */
	H.pages_released -= gort_heap_released_bits(s->base, s->npages, BITS_CLEAR);
	s->nreleased = 0;
	H.pages_free -= s->npages;
	H.pages_inuse += s->npages;
	return s;
}

/* Outside the heap lock (system calls, page-sized memsets): the span's
 * guard pages, and with zero_check, a small span whose pages held objects
 * before is zeroed, so every slot that is not live reads zero. */
static void prepare_hardened(span_t *s, unsigned sc)
{
	size_t usable = s->npages - s->guard;
	/* If the OS refuses (mprotect out of mappings), the page is merely an
	 * unused tail: no slot reaches it either way. */
	if (s->guard)
		(void)gort_os_guard((void *)(s->base + (usable << PAGE_SHIFT)),
				    (size_t)s->guard << PAGE_SHIFT);
	if (sc != LARGE_SPAN_CLASS && gort_hard->zero_check && s->needzero) {
		size_t elemsize = sc == TINY_SPAN_CLASS ? TINY_SIZE : gort_sc_size[spanclass_sizeclass(sc)];
		gort_zero_prefixes(gort_hard, s->base, (usable << PAGE_SHIFT) / elemsize, elemsize);
		s->needzero = 0;
	}
}

span_t *gort_heap_alloc_span(size_t npages, size_t align_pages, unsigned sc, unsigned guard)
{
	if (npages == 0 || npages > ((size_t)1 << (ARENA_ADDR_BITS - 1 - PAGE_SHIFT))) {
		errno = ENOMEM;
		return NULL;
	}
	gort_lock(&H.lock);
	guard = (unsigned)guard_pages(guard);
	npages += guard;
	/* Free runs first, then the spans that emptied (found on the
	 * centrals' empty lists, never by a sweep), then new pages: growing
	 * costs the same however big the heap is. */
	size_t want = npages + (align_pages > 1 ? align_pages - 1 : 0);
	span_t *s = take_run(npages, align_pages);
	if (!s) {
		/* Spans that emptied, from the centrals' empty lists. */
		gort_unlock(&H.lock);
		size_t got = gort_central_release_empty(UINT64_MAX);
		gort_lock(&H.lock);
		if (got)
			s = take_run(npages, align_pages);
	}
	if (!s && grow(want) == 0)
		s = take_run(npages, align_pages);
	if (!s) {
		/* At the limit or out of address space: whatever the quarantines
		 * and the centrals still hold goes back, and one more try. */
		gort_unlock(&H.lock);
		gort_mem_reclaim_for_retry();
		gort_lock(&H.lock);
		s = take_run(npages, align_pages);
		if (!s && grow(want) == 0)
			s = take_run(npages, align_pages);
	}
	if (!s) {
		gort_unlock(&H.lock);
		errno = ENOMEM;
		return NULL;
	}
	st(&s->owner, sc == LARGE_SPAN_CLASS ? OWNER_LARGE : OWNER_HEAP);
	if (sc == TINY_SPAN_CLASS) {
		s->tiny = gort_fixalloc_alloc(&H.tinyalloc);
		if (!s->tiny) {
			H.pages_inuse -= s->npages;
			H.pages_free += s->npages;
			gort_heap_insert_free(s);
			gort_unlock(&H.lock);
			errno = ENOMEM;
			return NULL;
		}
	}
	s->guard = (uint8_t)guard;
	gort_span_init_inuse(s, sc);
	set_spans(s, s->base, s->npages);
	st_rel(&s->state, SPAN_INUSE);
	if (sc == LARGE_SPAN_CLASS) {
		H.large_allocs++;
		H.large_bytes_alloc += span_bytes(s);
	}
	bool big = A.committed >= SCAVENGER_HEAP_BYTES;
	gort_unlock(&H.lock);
	prepare_hardened(s, sc);
	/* Inside an allocation, no lock held: its own allocations (the
	 * thread's) come before ours returns, never between a program's
	 * free and its next call. */
	if (big)
		gort_scavenger_start();
	return s;
}

/* zero_check: a small span comes back with every slot free, so the watched
 * prefix of each must read zero; a byte that does not was written after its
 * slot was freed (and would be wiped by the next class's zeroing). True if
 * the whole span reads zero, so its next user need not zero it: only when
 * the prefix is the whole slot (paranoid), as default's slots keep their
 * tails. */
static bool span_still_zero(const span_t *s)
{
	unsigned sc = s->spanclass;
	if (!gort_hard->zero_check || sc == LARGE_SPAN_CLASS || sc == TINY_SPAN_CLASS)
		return false;
	size_t bytes = (size_t)s->nelems * s->elemsize;
	size_t off = gort_first_dirty_prefix(gort_hard, s->base, s->nelems, s->elemsize);
	if (off == bytes)
		return harden_zero_len(gort_hard, s->elemsize) == s->elemsize;
	gort_note_dirty(sc, s->base, s->base + off / s->elemsize * s->elemsize, off % s->elemsize);
	return false;
}

void gort_heap_free_span(span_t *s)
{
	bool clean = span_still_zero(s);
	if (s->guard) {
		size_t usable = s->npages - s->guard;
		gort_os_unguard((void *)(s->base + (usable << PAGE_SHIFT)),
				(size_t)s->guard << PAGE_SHIFT);
		s->guard = 0;
	}
	gort_lock(&H.lock);
	if (ld(&s->spanclass) == LARGE_SPAN_CLASS) {
		H.large_frees++;
		H.large_bytes_freed += span_bytes(s);
	}
	st(&s->state, SPAN_FREE);
	if (s->tiny) {
		gort_fixalloc_free(&H.tinyalloc, s->tiny);
		s->tiny = NULL;
	}
	H.pages_inuse -= s->npages;
	H.pages_free += s->npages;
	st(&s->owner, OWNER_HEAP);
	st(&s->list, LIST_NONE);
	st(&s->spanclass, 0);
	st(&s->cache_id, -1);
	s->needzero = !clean;
	s->nreleased = 0;
	stamp_freed(s->base, s->npages);
	gort_heap_insert_free(s);
	gort_unlock(&H.lock);
}

void gort_heap_init(int scavenge)
{
	memset(&H, 0, sizeof H);
	gort_lock_init(&H.lock);
	gort_fixalloc_init(&H.spanalloc, sizeof(span_t));
	gort_fixalloc_init(&H.tinyalloc, (PAGE_SIZE / TINY_SIZE) * sizeof(uint64_t));
	H.scavenge = scavenge;
	H.rng = gort_hard->secret ^ 0x6865617070616765ull;
}

void gort_heap_destroy(void)
{
	gort_fixalloc_destroy(&H.spanalloc);
	gort_fixalloc_destroy(&H.tinyalloc);
}
