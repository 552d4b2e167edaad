/*
 * cache.c — mcache: one per P (scheduler) and one per foreign thread.
 *
 * A cache allocates from one current span per span class with no lock: the
 * span's `alloc_cache` is the complement of one 64-slot word of the ALLOC
 * plane, and ctz picks the lowest free slot (mem.h, cache_alloc). When the
 * word is used up the next one is loaded. When the span is used up it joins
 * the cache's own spans of that class: a `full` list, from which the
 * owner's next free into it moves it to a `ready` list. The next current
 * span is a ready one, else a used-up one that other threads freed into,
 * else one from mcentral. Owning spans is what keeps a thread's frees of its
 * own objects local: the bitmap protocol lets the owner clear ALLOC with a
 * plain store (bitmap.c). A class keeps CACHE_OWNED_BYTES of them at most.

 * Thread caches live in thread-local storage (initial-exec, so reaching one
 * never allocates), are flushed when their thread exits, and are parked for
 * the next new thread; their counters survive, which keeps statistics exact.
 *
 * Invariants:
 *  - alloc[sc] is gort_empty_span or a span with owner CACHE, cache_id == id
 *    and cache_list NONE; so is every span on ready[sc] and full[sc], with
 *    cache_list READY, FULL or EMPTY; together they number at most cache_owned_cap(sc)
 *    plus those kept for their quarantined slots (at most the ring's length;
 *    slots on the recent stacks keep none past the cap: owned_trim drains them);
 *  - a ready span has a free slot: only its owner allocates from it; an
 *    empty span has no slot allocated; at most CACHE_EMPTY_KEEP per class;
 *  - light: the slots on its recent stacks (recent.c) lie in spans it owns,
 *    which keeps them as it keeps those with quarantined slots;
 *  - every bit of a span's alloc_cache is a slot with ALLOC clear, within
 *    the span, in word cache_word; next_word > cache_word;
 *  - only the cache's own thread touches its spans' ALLOC words.
 */
#include "mem/mem.h"

#include <errno.h>
#include <string.h>

span_t gort_empty_span = {.nelems = 0, .nwords = 0, .cache_id = -1};

__thread cache_t *gort_tls_cache __attribute__((tls_model("initial-exec")));
__thread uint32_t gort_tls_gen __attribute__((tls_model("initial-exec")));

cache_t *gort_cache_new(int kind)
{
	gort_lock(&gort_mem.caches_lock);
	cache_t *c = gort_mem.idle_caches;
	if (c) {
		gort_mem.idle_caches = c->next_idle;
	} else {
		c = gort_fixalloc_alloc(&gort_mem.cachealloc);
		if (!c) {
			gort_unlock(&gort_mem.caches_lock);
			return NULL;
		}
		c->id = gort_mem.ncaches++;
		c->next_all = gort_mem.all_caches;
		gort_mem.all_caches = c;
	}
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
		c->alloc[sc] = &gort_empty_span;
		c->ready[sc] = (owned_list_t){0};
		c->full[sc] = (owned_list_t){0};
		c->empty[sc] = (owned_list_t){0};
		c->recent_n[sc] = 0;
		c->recent_cap[sc] = gort_recent_cap(sc);
	}
	c->tiny = 0;
	c->tiny_offset = 0;
	c->arena_base = c->arena_used = 0;
	c->arena_spans = NULL;
	c->last_quar = 0;
	c->rng = gort_hard->secret ^ ((uint64_t)(c->id + 1) * GORT_RAND_GAMMA);
	c->kind = kind;
	c->gen = gort_mem.gen;
	c->next_idle = NULL;
	st(&c->in_use, 1);
	gort_unlock(&gort_mem.caches_lock);
	return c;
}

void gort_cache_note_arena(cache_t *c, uintptr_t p)
{
	heap_arena_t *h = gort_arena_of(p);
	uintptr_t used = h ? ld(&h->used) : 0;
	if (!h || p >= used)
		return;
	c->arena_base = h->base;
	c->arena_spans = h->spans;
	c->arena_used = used - h->base;
}

/* Load the next word with a free slot into the span's alloc_cache, folding
 * in the frees other threads left in its FREED word first. */
static bool refill_word(span_t *s)
{
	while (s->next_word < s->nwords) {
		uint32_t w = s->next_word++;
		uint64_t free = gort_bitmap_reclaim_word(s, w);
		if (free) {
			s->cache_word = w;
			s->alloc_cache = free;
			return true;
		}
	}
	return false;
}

static void drop_tiny(cache_t *c);

static void owned_push(owned_list_t *l, span_t *s, uint8_t where)
{
	span_t *h = l->head;
	s->alloc_cache = 0;
	s->cache_list = where;
	if (!h) {
		s->next = s->prev = s;
		l->head = s;
	} else {
		s->next = h;
		s->prev = h->prev;
		h->prev->next = s;
		h->prev = s;
	}
	l->n++;
}

static void owned_remove(owned_list_t *l, span_t *s)
{
	if (s->next == s) {
		l->head = NULL;
	} else {
		s->prev->next = s->next;
		s->next->prev = s->prev;
		if (l->head == s)
			l->head = s->next;
	}
	s->next = s->prev = NULL;
	s->cache_list = CACHE_LIST_NONE;
	l->n--;
}

static span_t *owned_pop(owned_list_t *l)
{
	span_t *s = l->head;
	if (s)
		owned_remove(l, s);
	return s;
}

static owned_list_t *owned_list_of(cache_t *c, unsigned sc, uint8_t where)
{
	return where == CACHE_LIST_READY ? &c->ready[sc]
	       : where == CACHE_LIST_FULL ? &c->full[sc]
					   : &c->empty[sc];
}

/* The owner freed a slot of s, one of its spans but not the current one:
 * a used-up span is ready again; one left with no object (looked at only
 * when the freed slot's word emptied) is empty, and past CACHE_EMPTY_KEEP
 * the oldest empty one goes back, so a thread that frees what it made does
 * not sit on the memory. */
void gort_cache_span_freed(cache_t *c, span_t *s, bool word_empty)
{
	unsigned sc = s->spanclass;
	uint8_t to = word_empty && span_unused(s) ? CACHE_LIST_EMPTY : CACHE_LIST_READY;
	if (to == s->cache_list)
		return;
	owned_remove(owned_list_of(c, sc, s->cache_list), s);
	owned_push(owned_list_of(c, sc, to), s, to);
	if (to == CACHE_LIST_EMPTY && c->empty[sc].n > CACHE_EMPTY_KEEP)
		gort_central_uncache_span(owned_pop(&c->empty[sc]));
}

/* Past the cap, the oldest spans go back to mcentral: used-up ones first,
 * then ready ones. A span with slots in the quarantine stays: ring entries
 * must lie in spans this cache owns (quarantine.c). */
static void owned_trim(cache_t *c, unsigned sc)
{
	unsigned cap = cache_owned_cap(sc);
	if (cache_owned(c, sc) <= cap)
		return;
	/* The recent stack's slots must lie in spans the cache owns, as ring
	 * entries must; unlike those they can be freed now. */
	gort_recent_drain(c, sc);
	static const uint8_t order[] = {CACHE_LIST_FULL, CACHE_LIST_READY};
	for (unsigned i = 0; i < sizeof order; i++) {
		uint8_t where = order[i];
		owned_list_t *l = owned_list_of(c, sc, where);
		for (unsigned n = l->n; n > 0 && cache_owned(c, sc) > cap; n--) {
			span_t *s = owned_pop(l);
			if (s->nquar)
				owned_push(l, s, where);
			else
				gort_central_uncache_span(s);
		}
	}
}

/* The next current span from the cache's own: a ready one, an empty one,
 * else one of the oldest used-up ones with other threads' frees in its
 * inbox. */
static span_t *owned_take(cache_t *c, unsigned sc)
{
	span_t *s = owned_pop(&c->ready[sc]);
	if (!s)
		s = owned_pop(&c->empty[sc]);
	if (s)
		return s;
	owned_list_t *full = &c->full[sc];
	for (unsigned n = CACHE_OWNED_SCAN; n > 0 && full->n > 0; n--) {
		s = owned_pop(full);
		if (gort_bitmap_sweep(s))
			return s;
		owned_push(full, s, CACHE_LIST_FULL); /* to the back of the queue */
	}
	return NULL;
}

/* A stray remote free sits on the slot cache_alloc was about to take
 * (bitmap.c): clear it, count and report it, and allocate again. The slot
 * stays in alloc_cache, so the state is whole when the handler runs. */
void *gort_cache_alloc_stray(cache_t *c, unsigned sc, unsigned bit)
{
	span_t *s = c->alloc[sc];
	uint64_t mask = (uint64_t)1 << bit;
	uint64_t old = __atomic_fetch_and(&span_plane(s, GORT_PLANE_FREED)[s->cache_word], ~mask,
					  __ATOMIC_ACQ_REL);
	if (old & mask) {
		size_t idx = (size_t)s->cache_word * 64 + bit;
		gort_note_stray(sc, s->base, s->base + idx * (sc == TINY_SPAN_CLASS ? TINY_SIZE : s->elemsize), 1);
	}
	gort_report_pending();
	return cache_alloc(c, sc);
}

static bool refill(cache_t *c, unsigned sc);

/* A random free slot of the current word: rotate the word by a random
 * amount and take the lowest set bit of that. */
void *gort_cache_alloc_random(cache_t *c, unsigned sc)
{
	span_t *s = c->alloc[sc];
	uint64_t free = s->alloc_cache;
	if (free == 0)
		return gort_cache_alloc_slow(c, sc);
	unsigned r = (unsigned)(gort_xorshift64(&c->rng) & 63);
	uint64_t rot = r ? (free >> r) | (free << (64 - r)) : free;
	unsigned bit = ((unsigned)__builtin_ctzll(rot) + r) & 63;
	return cache_take(c, sc, s, bit);
}

/* Strays noted on the way are reported once the cache is in order, and
 * before a slot is taken: a handler that allocates may move c->alloc[sc] on
 * to another span, and every caller reads the span of the slot it gets from
 * c->alloc[sc] (as gort_cache_alloc_stray, the slot comes after the report). */
void *gort_cache_alloc_slow(cache_t *c, unsigned sc)
{
	bool ready = refill(c, sc);
	gort_report_pending();
	return ready ? cache_alloc(c, sc) : NULL;
}

/* Make c->alloc[sc] a span with a free slot in its alloc_cache; false if
 * there is none to be had. */
static bool refill(cache_t *c, unsigned sc)
{
	span_t *s = c->alloc[sc];
	if (s != &gort_empty_span && refill_word(s))
		return true;
	if (s != &gort_empty_span) {
		c->alloc[sc] = &gort_empty_span;
		owned_push(&c->full[sc], s, CACHE_LIST_FULL);
	}
	s = owned_take(c, sc);
	if (!s)
		s = gort_central_cache_span(sc, c->id);
	owned_trim(c, sc);
	if (!s)
		return false;
	s->alloc_cache = 0;
	s->cache_word = 0;
	s->next_word = 0;
	c->alloc[sc] = s;
	if (!refill_word(s)) {
		/* both sources hand out only spans with a free slot */
		gort_report(GORT_ERR_HEAP_CORRUPTION, "malloc", s->base,
			    "a span with no free slot became current");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ tiny */

static uint64_t *tiny_mask(uintptr_t block)
{
	span_t *s = arena_span_entry(block);
	return &s->tiny[(block - s->base) / TINY_SIZE];
}

/* Free the block's slot once its last live object and its cache are gone. */
static void tiny_release_block(cache_t *c, uintptr_t block)
{
	span_t *s = arena_span_entry(block);
	gort_free_small(c, s, block, "free");
}

static void drop_tiny(cache_t *c)
{
	if (!c->tiny)
		return;
	uintptr_t block = c->tiny;
	c->tiny = 0;
	c->tiny_offset = 0;
	uint64_t left = __atomic_and_fetch(tiny_mask(block), ~TINY_OPEN, __ATOMIC_ACQ_REL);
	if ((left & TINY_LIVE_MASK) == 0)
		tiny_release_block(c, block);
}

static size_t tiny_align(size_t off, size_t size)
{
	if ((size & 7) == 0)
		return (off + 7) & ~(size_t)7;
	if ((size & 3) == 0)
		return (off + 3) & ~(size_t)3;
	if ((size & 1) == 0)
		return (off + 1) & ~(size_t)1;
	return off;
}

static uint64_t tiny_start_bits(size_t off)
{
	return ((uint64_t)1 << off) | TINY_STARTED(off);
}

/* Go's tiny allocator: noscan objects under 16 bytes share 16-byte blocks.
 * Each block keeps a mask of where its live objects start, so an explicit
 * free is as exact as any other. */
void *gort_cache_alloc_tiny(cache_t *c, size_t size)
{
	if (c->tiny) {
		size_t off = tiny_align(c->tiny_offset, size);
		if (off + size <= TINY_SIZE) {
			/* One add sets the new start bits (clear until now) and
			 * moves END from the old offset to this object's end. */
			uint64_t grow = (uint64_t)(off + size - c->tiny_offset) << TINY_END_SHIFT;
			__atomic_fetch_add(tiny_mask(c->tiny), tiny_start_bits(off) + grow,
					   __ATOMIC_RELAXED);
			c->tiny_offset = (uint32_t)(off + size);
			counter_inc(&c->tiny_alloc);
			return (void *)(c->tiny + off);
		}
	}
	uintptr_t block = (uintptr_t)cache_alloc(c, TINY_SPAN_CLASS);
	if (!block)
		return NULL;
	counter_inc(&c->tiny_alloc);
	/* Keep whichever block has more room left, as Go does. */
	uint64_t fresh = tiny_start_bits(0) | ((uint64_t)size << TINY_END_SHIFT);
	if (!c->tiny || size < c->tiny_offset) {
		drop_tiny(c);
		st(tiny_mask(block), fresh | TINY_OPEN);
		c->tiny = block;
		c->tiny_offset = (uint32_t)size;
	} else {
		st(tiny_mask(block), fresh);
	}
	return (void *)block;
}

/* ----------------------------------------------------------------- flush */

void gort_cache_release_empty(cache_t *c)
{
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		span_t *s;
		while ((s = owned_pop(&c->empty[sc])) != NULL)
			gort_central_uncache_span(s);
	}
}

void gort_cache_flush(cache_t *c)
{
	/* First: their frees are local while c owns the spans. */
	gort_quarantine_drain(c);
	gort_recent_drain_all(c);
	drop_tiny(c);
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		span_t *s = c->alloc[sc];
		if (s != &gort_empty_span) {
			c->alloc[sc] = &gort_empty_span;
			gort_central_uncache_span(s);
		}
		while ((s = owned_pop(&c->ready[sc])) != NULL)
			gort_central_uncache_span(s);
		while ((s = owned_pop(&c->full[sc])) != NULL)
			gort_central_uncache_span(s);
	}
	gort_cache_release_empty(c);
	gort_report_pending();
}

void gort_cache_retire(cache_t *c)
{
	gort_cache_flush(c);
	gort_lock(&gort_mem.caches_lock);
	st(&c->in_use, 0);
	c->next_idle = gort_mem.idle_caches;
	gort_mem.idle_caches = c;
	gort_unlock(&gort_mem.caches_lock);
}

/* The calling thread's cache: made on first use, registered for exit. */
cache_t *gort_cache_current_slow(void)
{
	if (gort_mem_ensure_init() != 0)
		return NULL;
	uint32_t gen = ld(&gort_mem.gen);
	if (gort_tls_cache && gort_tls_gen == gen)
		return gort_tls_cache;
	cache_t *c = gort_cache_new(0);
	if (!c)
		return NULL;
	gort_tls_cache = c;
	gort_tls_gen = gen;
	if (gort_mem.key_made)
		pthread_setspecific(gort_mem.cache_key, c);
	return c;
}
