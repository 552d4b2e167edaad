/*
 * central.c — mcentral: the spans of one span class that no cache holds.
 *
 * Two lists per class, under one lock per class: `partial` (spans with a
 * free or reclaimable slot) and `full`. While a span is here, the holder of
 * this lock is its owner in the bitmap protocol (bitmap.c): it sweeps the
 * span's FREED inbox into ALLOC when it files the span. A cache that has used up
 * its span hands it back here and takes another. Frees never take this lock
 * except once per full span: the first free into a span on the full list
 * (found by an atomic exchange of the span's full_flag) moves it to partial.
 * A span emptied by frees goes back to the heap at once: by its cache when
 * the cache returns it, and here by the free that took its last object
 * (the watch, below), so the heap never has to sweep the centrals to grow;
 * gort_release() and an allocation about to fail sweep them anyway.
 *
 * Invariants (gort_check verifies them):
 *  - a span with owner CENTRAL is on exactly the list its `list` field names;
 *  - full_flag == 1 iff the span is on the full list;
 *  - in step mode, spans on the full list have every slot live.
 */
#include "mem/mem.h"

#include <errno.h>

#define C(sc) (gort_mem.central[sc])

static void list_push(span_t **head, span_t *s)
{
	if (!*head) {
		s->next = s->prev = s;
		*head = s;
		return;
	}
	/* Insert at the tail: spans are reused in the order they were filed. */
	span_t *h = *head;
	s->next = h;
	s->prev = h->prev;
	h->prev->next = s;
	h->prev = s;
}

static void list_remove(span_t **head, span_t *s)
{
	if (s->next == s) {
		*head = NULL;
	} else {
		s->prev->next = s->next;
		s->next->prev = s->prev;
		if (*head == s)
			*head = s->next;
	}
	s->next = s->prev = NULL;
}

static void take_if_empty(central_t *c, span_t *s);
static void unfile_span(central_t *c, span_t *s);
static void file_empty(central_t *c, span_t *s);

/* File a span the caches are done with, after sweeping its inbox. The full
 * flag is raised before the last count, and a remote free checks it after
 * its atomic OR (both sequentially consistent), so a free racing with filing
 * is either seen by the count or sees the flag: no span stays on the full
 * list with a slot freed behind its back. */
static uint32_t file_span(central_t *c, span_t *s)
{
	s->owner = OWNER_CENTRAL;
	st(&s->cache_id, -1);
	/* The watch restarts before the count (see watch_arm). */
	__atomic_store_n(&s->watch, 0, __ATOMIC_SEQ_CST);
	gort_bitmap_sweep(s);
	__atomic_store_n(&s->full_flag, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t live = gort_bitmap_count_live(s);
	if (live == s->nelems) {
		s->list = LIST_FULL;
		list_push(&c->full, s);
		c->nfull++;
	} else {
		st(&s->full_flag, 0);
		s->list = LIST_PARTIAL;
		list_push(&c->partial, s);
		c->npartial++;
	}
	return live;
}

/* ------------------------------------------------------------ the watch */
/*
 * A span here empties when its last live object is freed, by some thread
 * whose free is remote (no cache owns the span). Sweeping every partial
 * span to find the empty ones costs as much as the heap is big, so each
 * filed span is watched instead: s->watch holds the live count at filing
 * (high half) and the frees counted since (low half). A remote free bumps
 * the count after its FREED bit is set and, when the count reaches the
 * target, hands the span to gort_central_note_empty, which checks under
 * this lock and gives an empty span back to the heap at once.
 *
 * The count restarts (0) before the live objects are counted and the
 * target is added after, so a free racing the filing is either in the
 * live count or in the frees counted, or in both (then the target is
 * reached one free early: the check under the lock finds the span not
 * empty, and every later free sees count >= target and checks again, so
 * the last one is never missed). A free that counts on a span that left
 * this central meanwhile bumps a watch that restarts when it is filed
 * again: at worst an extra check.
 */
static void watch_arm(central_t *c, span_t *s, uint32_t live)
{
	uint64_t old = __atomic_fetch_add(&s->watch, (uint64_t)live << 32, __ATOMIC_SEQ_CST);
	if (live && (uint32_t)old >= live)
		take_if_empty(c, s);
}

/* Under c's lock, s one of its spans: if s has no live object, it moves to
 * the empty list. It keeps its bitmap there, so a late double free is still
 * told from an invalid one, until the span is reused or given back. */
static void take_if_empty(central_t *c, span_t *s)
{
	gort_bitmap_sweep(s); /* this lock makes us the owner */
	if (s->list == LIST_EMPTY || gort_bitmap_count_live(s) != 0)
		return;
	unfile_span(c, s);
	file_empty(c, s);
}

/* s, with no live object, onto the empty list, under c's lock. */
static void file_empty(central_t *c, span_t *s)
{
	s->empty_since = gort_mem.threaded ? gort_os_nanotime() : 0;
	s->list = LIST_EMPTY;
	list_push(&c->empty, s);
	st(&c->nempty, c->nempty + 1); /* read unlocked by release_empty */
}

void gort_central_note_empty(span_t *s)
{
	unsigned sc = ld(&s->spanclass);
	if (sc == LARGE_SPAN_CLASS || sc >= NUM_SPAN_CLASSES)
		return;
	central_t *c = &C(sc);
	gort_lock(&c->lock);
	/* Still one of this central's spans? The struct may have been
	 * recycled since the free counted. */
	if (ld(&s->spanclass) == sc && ld(&s->owner) == OWNER_CENTRAL &&
	    ld(&s->state) == SPAN_INUSE && s->list != LIST_NONE)
		take_if_empty(c, s);
	gort_unlock(&c->lock);
}

static void unfile_span(central_t *c, span_t *s)
{
	if (s->list == LIST_FULL) {
		st(&s->full_flag, 0);
		list_remove(&c->full, s);
		c->nfull--;
	} else if (s->list == LIST_EMPTY) {
		list_remove(&c->empty, s);
		st(&c->nempty, c->nempty - 1);
	} else {
		list_remove(&c->partial, s);
		c->npartial--;
	}
	s->list = LIST_NONE;
}

static void hand_to_cache(central_t *c, span_t *s, int cache_id)
{
	__atomic_store_n(&s->watch, 0, __ATOMIC_SEQ_CST); /* no target: never fires */
	s->owner = OWNER_CACHE;
	st(&s->cache_id, cache_id);
	s->alloc_cache = 0;
	s->cache_word = 0;
	s->next_word = 0;
	c->ncached++;
}

span_t *gort_central_cache_span(unsigned sc, int cache_id)
{
	central_t *c = &C(sc);
	gort_lock(&c->lock);
	for (uint32_t n = c->npartial; n > 0 && c->partial; n--) {
		span_t *s = c->partial;
		unfile_span(c, s);
		if (gort_bitmap_count_live(s) < s->nelems) {
			hand_to_cache(c, s, cache_id);
			gort_unlock(&c->lock);
			return s;
		}
		watch_arm(c, s, file_span(c, s));
	}
	if (c->empty) {
		/* An emptied span of this class: no trip to the heap. */
		span_t *s = c->empty;
		unfile_span(c, s);
		hand_to_cache(c, s, cache_id);
		gort_unlock(&c->lock);
		return s;
	}
	gort_unlock(&c->lock);

	unsigned cls = spanclass_sizeclass(sc);
	span_t *s = gort_heap_alloc_span(gort_sc_npages[cls], 1, sc, gort_hard->guard_spans);
	if (!s)
		return NULL;
	gort_lock(&c->lock);
	hand_to_cache(c, s, cache_id);
	gort_unlock(&c->lock);
	return s;
}

void gort_central_uncache_span(span_t *s)
{
	central_t *c = &C(s->spanclass);
	gort_lock(&c->lock);
	c->ncached--;
	s->alloc_cache = 0;
	/* Still the owner: fold in the inbox, so a double free racing the
	 * owner's own free is reported even when it empties the span. */
	gort_bitmap_sweep(s);
	if (gort_bitmap_count_live(s) == 0) {
		/* The empty list, not the heap: the bitmap stays, so a late
		 * double free is still told from an invalid one, until the
		 * heap needs the pages or they have been idle a while. */
		s->owner = OWNER_CENTRAL;
		st(&s->cache_id, -1);
		file_empty(c, s);
	} else {
		watch_arm(c, s, file_span(c, s));
	}
	gort_unlock(&c->lock);
}

void gort_central_note_free(span_t *s)
{
	/* Whoever lowers the flag moves the span. The flag is raised only while
	 * the span is being filed (under its central's lock) or sits on a full
	 * list, which it leaves only here: so once we own the flag the span is
	 * not recycled, and its class is the one whose list holds it — even if
	 * the struct was reused since the caller last knew it. */
	if (!__atomic_exchange_n(&s->full_flag, 0, __ATOMIC_SEQ_CST))
		return;
	central_t *c = &C(ld(&s->spanclass));
	gort_lock(&c->lock);
	if (ld(&s->list) == LIST_FULL && ld(&s->owner) == OWNER_CENTRAL) {
		list_remove(&c->full, s);
		c->nfull--;
		s->list = LIST_PARTIAL;
		list_push(&c->partial, s);
		c->npartial++;
	}
	gort_unlock(&c->lock);
}

/* Move the empty spans of one class out of its lists onto `out`. */
static span_t *collect_empty(central_t *c)
{
	span_t *out = NULL;
	span_t *s = c->partial;
	for (uint32_t n = c->npartial; n > 0; n--) {
		span_t *next = s->next;
		gort_bitmap_sweep(s); /* this lock makes us the owner */
		if (gort_bitmap_count_live(s) == 0) {
			unfile_span(c, s);
			s->owner = OWNER_HEAP;
			s->next = out;
			out = s;
		}
		s = next;
	}
	return out;
}

size_t gort_central_reclaim_all(void)
{
	size_t bytes = 0;
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		central_t *c = &C(sc);
		gort_lock(&c->lock);
		span_t *empty = collect_empty(c);
		gort_unlock(&c->lock);
		while (empty) {
			span_t *next = empty->next;
			bytes += span_bytes(empty);
			gort_heap_free_span(empty);
			empty = next;
		}
	}
	/* And the spans already on the empty lists. */
	return bytes + (gort_central_release_empty(UINT64_MAX) << PAGE_SHIFT);
}

size_t gort_central_release_empty(uint64_t emptied_before)
{
	size_t pages = 0;
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		central_t *c = &C(sc);
		if (!ld(&c->nempty))
			continue;
		span_t *out = NULL;
		gort_lock(&c->lock);
		/* Oldest first: the list is in the order the spans emptied. */
		while (c->empty && c->empty->empty_since <= emptied_before) {
			span_t *e = c->empty;
			unfile_span(c, e);
			e->owner = OWNER_HEAP;
			e->next = out;
			out = e;
		}
		gort_unlock(&c->lock);
		while (out) {
			span_t *next = out->next;
			pages += out->npages;
			gort_heap_free_span(out);
			out = next;
		}
	}
	return pages;
}

void gort_central_init(void)
{
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
		central_t *c = &C(sc);
		c->partial = c->full = c->empty = NULL;
		c->npartial = c->nfull = c->ncached = c->nempty = 0;
		gort_lock_init(&c->lock);
	}
}
