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
 * Spans emptied by frees go back to the heap when a cache returns them, when
 * the heap is about to grow, and on gort_release().
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

/* File a span the caches are done with, after sweeping its inbox. The full
 * flag is raised before the last count, and a remote free checks it after
 * its atomic OR (both sequentially consistent), so a free racing with filing
 * is either seen by the count or sees the flag: no span stays on the full
 * list with a slot freed behind its back. */
static void file_span(central_t *c, span_t *s)
{
	s->owner = OWNER_CENTRAL;
	st(&s->cache_id, -1);
	gort_bitmap_sweep(s);
	__atomic_store_n(&s->full_flag, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (gort_bitmap_count_live(s) == s->nelems) {
		s->list = LIST_FULL;
		list_push(&c->full, s);
		c->nfull++;
	} else {
		st(&s->full_flag, 0);
		s->list = LIST_PARTIAL;
		list_push(&c->partial, s);
		c->npartial++;
	}
}

static void unfile_span(central_t *c, span_t *s)
{
	if (s->list == LIST_FULL) {
		st(&s->full_flag, 0);
		list_remove(&c->full, s);
		c->nfull--;
	} else {
		list_remove(&c->partial, s);
		c->npartial--;
	}
	s->list = LIST_NONE;
}

static void hand_to_cache(central_t *c, span_t *s, int cache_id)
{
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
		file_span(c, s); /* a partial span is never full; be safe anyway */
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
		st(&s->owner, OWNER_HEAP);
		st(&s->cache_id, -1);
		gort_unlock(&c->lock);
		gort_heap_free_span(s);
	} else {
		file_span(c, s);
		gort_unlock(&c->lock);
	}
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
	return bytes;
}

void gort_central_init(void)
{
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
		central_t *c = &C(sc);
		c->partial = c->full = NULL;
		c->npartial = c->nfull = c->ncached = 0;
		gort_lock_init(&c->lock);
	}
}
