/*
 * quarantine.c — freed objects held back from reuse (default and paranoid).
 *
 * Small objects: each cache keeps, per size class, a FIFO ring of the slots
 * its thread freed last in spans it owns. A freed slot keeps its ALLOC bit,
 * gets its QUARANTINE bit and is zeroed; only when it falls out of the ring
 * is it freed for real (both bits cleared). Until then no allocation can
 * take it, so a write through a dangling pointer lands in a slot nobody owns
 * and is seen at its reuse by the zero check (malloc.c), and a second free,
 * from any thread, sees QUARANTINE and is a double free however many frees
 * came between.
 *
 * Like ALLOC, QUARANTINE is written only by the span's owner (bitmap.c's
 * protocol), with plain stores: a quarantined free costs no locked
 * instruction. That is why a ring holds only slots of spans its cache owns:
 * a span with slots in the ring (span.nquar) stays with its cache until
 * they leave the ring (cache.c), so a cache owns at most `quarantine` spans
 * more than usual per class.
 * Frees from other threads take the FREED inbox as before (zeroed first):
 * the slot waits there, unusable, until the owner next folds that word in —
 * a quarantine of its own, as long as the owner takes to come back to it.
 *
 * Large objects: a freed large span keeps ALLOC and gets QUARANTINE too,
 * and waits in one global FIFO under the heap lock; when it falls out it
 * returns to the heap. While it waits it is either fenced, its pages made
 * to fault on any access, or has its head zeroed (the first zero_bytes,
 * checked when it leaves and by gort_check, as a small slot's are).
 * Paranoid fences every one, dropping its pages (MADV_GUARD_INSTALL where
 * the kernel has it). Default fences one when its thread made
 * lquar_fence_every allocator calls since it last fenced one, keeping its
 * pages under PROT_NONE so the next allocation there takes no page faults;
 * the rest get the zeroed head. A fence costs two system calls and a TLB
 * shootdown on every CPU the process runs on (55 us a free on a
 * paravirtualised guest: large-object churn ran 80 times the best peer and
 * slower on two threads than on one), so fencing every free broke default's
 * rule that its checks cost O(1) a call; paced by calls, not time, it
 * keeps a quiet thread's large frees all fenced and a stepped run
 * repeatable. No system call is made under the lock: a fence goes on
 * before a span joins the FIFO, and the spans a free pushes out leave it
 * together, under the lock, and lose their fences after it is dropped (in
 * between, a span is out of the FIFO with its QUARANTINE bit still set:
 * gort_check is exact at rest, as everywhere). The FIFO holds at most
 * `quarantine` spans and lquar_bytes of them (64 MiB in default, 256 MiB
 * in paranoid), never one larger than lquar_object (4 MiB in default,
 * LQUAR_MAX_OBJECT in paranoid), and an allocation about to fail empties
 * it first, so the quarantine never causes an out-of-memory.
 *
 * Invariants (gort_check, invariants.c): QUARANTINE is a subset of ALLOC and
 * disjoint from FREED; every ring entry has its bit and lies in a span its
 * cache owns; the bits set in the bitmap are exactly the ring entries of all
 * caches plus the large FIFO; an unfenced large entry's head reads zero.
 */
#include "mem/mem.h"

#include <string.h>

static size_t ring_bytes(void)
{
	size_t ps = gort_os_page_size();
	size_t n = (size_t)NUM_SPAN_CLASSES * gort_hard->quarantine * sizeof(uintptr_t);
	return (n + ps - 1) / ps * ps;
}

/* The rings are mapped on first use, outside the arena like all metadata. */
static bool ring_ready(cache_t *c)
{
	if (c->quar)
		return true;
	c->quar = gort_os_map(ring_bytes());
	if (!c->quar)
		return false;
	c->quar_bytes = ring_bytes();
	return true;
}

/* The owner's plain store on a QUARANTINE word (no other thread writes it). */
static void quar_store(span_t *s, size_t idx, bool set)
{
	uint64_t *w = &span_plane(s, GORT_PLANE_QUARANTINE)[idx / 64];
	uint64_t bit = (uint64_t)1 << (idx % 64);
	st(w, set ? ld(w) | bit : ld(w) & ~bit);
}

/* Out of the quarantine and freed for real by c, the span's owner. */
static void release_small(cache_t *c, uintptr_t p)
{
	span_t *s = arena_span_entry(p);
	quar_store(s, sc_index_of(s->spanclass, p - s->base), false);
	s->nquar--;
	gort_free_small(c, s, p, "free");
}

/* The owner keeps its rings' totals, so that stats read two words per
 * cache instead of every class's length: one object of span class sc
 * entered (+1) or left (-1) a ring. */
static void count_held(cache_t *c, unsigned sc, int dir)
{
	uint64_t bytes = gort_sc_size[spanclass_sizeclass(sc)];
	st(&c->qobjects, dir > 0 ? c->qobjects + 1 : c->qobjects - 1);
	st(&c->qbytes, dir > 0 ? c->qbytes + bytes : c->qbytes - bytes);
}

void gort_quarantine_small(cache_t *c, span_t *s, size_t idx, uintptr_t p)
{
	memset((void *)p, 0, harden_zero_len(gort_hard, s->elemsize));
	quar_store(s, idx, true);
	s->nquar++;
	c->last_quar = p;
	if (!ring_ready(c)) {
		release_small(c, p);
		return;
	}
	unsigned sc = s->spanclass;
	uint32_t cap = gort_hard->quarantine;
	uintptr_t *ring = c->quar + (size_t)sc * cap;
	uint32_t head = c->qhead[sc], len = c->qlen[sc];
	if (len < cap) {
		ring[(head + len) % cap] = p;
		st(&c->qlen[sc], (uint16_t)(len + 1));
		count_held(c, sc, +1);
		return;
	}
	uintptr_t oldest = ring[head];
	ring[head] = p;
	c->qhead[sc] = (uint16_t)((head + 1) % cap);
	release_small(c, oldest);
	gort_report_pending();
}

void gort_quarantine_drain(cache_t *c)
{
	if (!c->quar)
		return;
	uint32_t cap = gort_hard->quarantine;
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		uintptr_t *ring = c->quar + (size_t)sc * cap;
		while (c->qlen[sc] > 0) {
			uintptr_t p = ring[c->qhead[sc]];
			c->qhead[sc] = (uint16_t)((c->qhead[sc] + 1) % cap);
			st(&c->qlen[sc], (uint16_t)(c->qlen[sc] - 1));
			count_held(c, sc, -1);
			release_small(c, p);
		}
		c->qhead[sc] = 0;
	}
}

/* ---------------------------------------------------------------- large */

/* Offset of the first written byte of an unfenced span's head, which must
 * read zero (anything else was written through a dangling pointer), or
 * the head's length. */
static size_t head_written(const span_t *s, size_t *len)
{
	*len = harden_zero_len(gort_hard, s->request);
	return gort_first_nonzero((const void *)s->base, *len);
}

/* Spans leave the FIFO under the heap lock, chained through next, and are
 * released after it is dropped: the fences come off without the lock (a
 * system call each), an unfenced span's head is checked and repaired, then
 * each span goes back to the heap in one locked section that also counts
 * its free. A written head is reported once every span is back, so the
 * heap is whole whatever the handler does (it may longjmp). */
static void release_large(span_t *chain, const char *op)
{
	uintptr_t written = 0;
	size_t written_at = 0;
	while (chain) {
		span_t *s = chain;
		chain = s->next;
		s->next = NULL;
		size_t len, off;
		if (s->fenced && gort_hard->lquar_keeps) {
			gort_os_commit((void *)s->base, span_bytes(s));
		} else if (s->fenced) {
			gort_os_unguard((void *)s->base, span_bytes(s));
		} else if ((off = head_written(s, &len)) != len) {
			memset((void *)s->base, 0, len);
			if (!written) {
				written = s->base;
				written_at = off;
			}
		}
		if (!s->fenced || gort_hard->lquar_keeps)
			s->needzero = 1; /* its old contents are back, or never left */
		s->fenced = 0;
		s->guard = 0; /* the whole span, its guard page included, is plain again */
		bitmap_clear(s, GORT_PLANE_QUARANTINE, 0);
		bitmap_clear(s, GORT_PLANE_ALLOC, 0);
		gort_heap_free_span(s);
	}
	if (written) {
		char buf[96];
		strbuf_t b = {buf, sizeof buf, 0};
		gort_sb_str(&b, "large, written after free at +");
		gort_sb_dec(&b, written_at);
		gort_report(gort_kind_for_op(GORT_ERR_USE_AFTER_FREE, op), op, written,
			    gort_sb_done(&b));
	}
}

/* Take the oldest held spans out while the FIFO holds more than `most`
 * spans or lquar_bytes, onto *chain. Heap lock held. */
static void large_over(uint32_t most, span_t **chain)
{
	while (gort_mem.lqlen &&
	       (gort_mem.lqlen > most || gort_mem.lqbytes > gort_hard->lquar_bytes)) {
		span_t *s = gort_mem.lquar[gort_mem.lqhead];
		gort_mem.lqhead = (gort_mem.lqhead + 1) % gort_hard->quarantine;
		gort_mem.lqlen--;
		gort_mem.lqbytes -= span_bytes(s);
		s->next = *chain;
		*chain = s;
	}
}

/* Allocator calls c's thread has made: what its fences are paced by. */
static uint64_t calls_made(const cache_t *c)
{
	uint64_t n = c->tiny_alloc + c->tiny_free + c->large_frees;
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++)
		n += c->slot_alloc[sc] + c->slot_free[sc];
	return n;
}

/* Whether this large free is fenced: always in paranoid; in default when
 * the thread made lquar_fence_every calls since its last fence (so a
 * thread's first large free always is), which bounds the page-table work
 * (two system calls and a TLB shootdown on every CPU the process runs on)
 * to one pair per lquar_fence_every calls. The count is of calls, not
 * time, so a stepped run fences the same frees every time. */
static bool fence_due(cache_t *c)
{
	uint32_t every = gort_hard->lquar_fence_every;
	if (!every || !c)
		return true;
	c->large_frees++;
	uint64_t now = calls_made(c);
	if (now < c->fence_next)
		return false;
	c->fence_next = now + every;
	return true;
}

bool gort_quarantine_large(span_t *s, const char *op)
{
	uint32_t cap = gort_hard->quarantine;
	/* Bounded in bytes as well as in objects: one huge buffer freed over
	 * and over must not hold the heap's address space (or its limit). */
	if (!cap || !gort_mem.lquar || span_bytes(s) > gort_hard->lquar_object)
		return false;
	void *base = (void *)s->base;
	bool fence = fence_due(cache_current());
	if (!fence)
		memset(base, 0, harden_zero_len(gort_hard, s->request));
	else if ((gort_hard->lquar_keeps ? gort_os_protect_none(base, span_bytes(s))
					 : gort_os_guard(base, span_bytes(s))) != 0)
		return false;
	s->fenced = fence;
	heap_t *h = &gort_mem.heap;
	span_t *out = NULL;
	gort_lock(&h->lock);
	large_over(cap - 1, &out); /* room for s */
	gort_mem.lquar[(gort_mem.lqhead + gort_mem.lqlen) % cap] = s;
	gort_mem.lqlen++;
	gort_mem.lqbytes += span_bytes(s);
	large_over(cap, &out);
	gort_unlock(&h->lock);
	release_large(out, op);
	return true;
}

void gort_quarantine_drain_large(const char *op)
{
	heap_t *h = &gort_mem.heap;
	span_t *out = NULL;
	gort_lock(&h->lock);
	if (gort_hard->quarantine)
		large_over(0, &out);
	gort_unlock(&h->lock);
	release_large(out, op);
}

/* ----------------------------------------------------------- bookkeeping */

void gort_quarantine_init(void)
{
	uint32_t cap = gort_hard->quarantine;
	if (cap)
		gort_mem.lquar = gort_os_map((size_t)cap * sizeof(span_t *));
}

void gort_quarantine_stats(uint64_t *objects, uint64_t *bytes)
{
	uint64_t n = 0, b = 0;
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		n += ld(&c->qobjects);
		b += ld(&c->qbytes);
	}
	heap_t *h = &gort_mem.heap;
	gort_lock(&h->lock);
	n += gort_mem.lqlen;
	b += gort_mem.lqbytes;
	gort_unlock(&h->lock);
	*objects = n;
	*bytes = b;
}

/* Entries of the rings and the large FIFO, each checked to carry its bit;
 * (uint64_t)-1 if one does not, with *bad set to it. Every lock held. */
uint64_t gort_quarantine_entries(uintptr_t *bad)
{
	uint64_t n = 0;
	uint32_t cap = gort_hard->quarantine;
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all)
		for (unsigned sc = 1; sc < NUM_SPAN_CLASSES && c->quar; sc++)
			for (uint32_t i = 0; i < c->qlen[sc]; i++) {
				uintptr_t p = c->quar[(size_t)sc * cap + (c->qhead[sc] + i) % cap];
				span_t *s = arena_span_entry(p);
				if (!s || s->state != SPAN_INUSE || s->spanclass != sc ||
				    s->cache_id != c->id ||
				    !bitmap_test(s, GORT_PLANE_QUARANTINE,
						 sc_index_of(sc, p - s->base))) {
					*bad = p;
					return (uint64_t)-1;
				}
				n++;
			}
	for (uint32_t i = 0; i < gort_mem.lqlen; i++) {
		span_t *s = gort_mem.lquar[(gort_mem.lqhead + i) % cap];
		if (!bitmap_test(s, GORT_PLANE_QUARANTINE, 0)) {
			*bad = s->base;
			return (uint64_t)-1;
		}
		n++;
	}
	return n;
}

uintptr_t gort_quarantine_large_written(void)
{
	for (uint32_t i = 0; i < gort_mem.lqlen; i++) {
		const span_t *s = gort_mem.lquar[(gort_mem.lqhead + i) % gort_hard->quarantine];
		size_t len;
		if (!s->fenced && head_written(s, &len) != len)
			return s->base;
	}
	return 0;
}

void gort_quarantine_shutdown(void)
{
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all)
		if (c->quar) {
			gort_os_unmap(c->quar, c->quar_bytes);
			c->quar = NULL;
		}
	if (gort_mem.lquar)
		gort_os_unmap(gort_mem.lquar, (size_t)gort_hard->quarantine * sizeof(span_t *));
	gort_mem.lquar = NULL;
}
