/*
 * invariants.c — gort_check: every structural invariant of the allocator,
 * checked from scratch (mimalloc's expensive page checks, for all of gort).
 *
 * What holds at any quiescent point (no allocation in flight):
 *  arena    every committed page belongs to exactly one span or free run;
 *  heap     no two free runs touch; each run sits in its length's bucket;
 *           page counters add up to the committed arena;
 *  span     in-use spans are recorded at every page; their bitmap has no bit
 *           beyond nelems; large spans hold one object at base;
 *  central  each CENTRAL span is on the list it names, once; counts agree;
 *           full-list spans are flagged and (in step mode) all live;
 *  cache    each cached span belongs to that cache and class; alloc_cache only
 *           names free slots of its word;
 *  tiny     an allocated tiny block has a live object or is a cache's open block;
 *  harden   QUARANTINE bits lie within ALLOC, apart from FREED, and are exactly
 *           the quarantines' entries and (light) the recent stacks' slots, each
 *           in a span its cache owns; with zero_check every slot that is not
 *           live reads zero (a write after free is found here too), and so
 *           does the head of an unfenced large object in quarantine.
 * The first broken invariant is reported as `heap corruption` with its name.
 */
#include "mem/mem.h"

#define ARENA (gort_mem.arena)
#define HEAP (gort_mem.heap)

typedef struct check_ctx {
	const char *why;
	uintptr_t where;
	uint64_t quarantined; /* QUARANTINE bits seen */
} check_ctx_t;

#define FAILV(ctx, addr, msg, ret)                                                         \
	do {                                                                               \
		(ctx)->why = (msg);                                                        \
		(ctx)->where = (uintptr_t)(addr);                                          \
		return ret;                                                                \
	} while (0)
#define FAIL(ctx, addr, msg) FAILV(ctx, addr, msg, false)

/* Slots are handed out lowest-first within a pass, so none at or above the
 * high-water mark can be allocated. Word by word: a fuzzer checks a span
 * after every operation on it. */
static bool alloc_above_hwm(const span_t *s)
{
	uint32_t hwm = ld(&s->hwm);
	const uint64_t *alloc = span_plane(s, GORT_PLANE_ALLOC);
	for (uint32_t w = hwm / 64; w < s->nwords; w++) {
		uint64_t above = w == hwm / 64 ? ~(uint64_t)0 << (hwm % 64) : ~(uint64_t)0;
		if (ld(&alloc[w]) & above & span_word_mask(s, w))
			return true;
	}
	return false;
}

/* The slots of word w that hold a live object: allocated, not freed by
 * another thread, not in a quarantine. */
static uint64_t live_word(const span_t *s, uint32_t w)
{
	return ld(&span_plane(s, GORT_PLANE_ALLOC)[w]) &
	       ~ld(&span_plane(s, GORT_PLANE_FREED)[w]) &
	       ~ld(&span_plane(s, GORT_PLANE_QUARANTINE)[w]);
}

static bool check_bits(check_ctx_t *x, const span_t *s)
{
	if (s->bits != arena_bits_of(s->base))
		FAIL(x, s->base, "span bitmap pointer is not its out-of-band slot");
	if (s->nwords != (s->nelems + 63) / 64)
		FAIL(x, s->base, "span nwords does not match nelems");
	for (unsigned p = 0; p < GORT_BITMAP_PLANES; p++) {
		uint64_t last = ld(&span_plane(s, p)[s->nwords - 1]);
		if (last & ~span_word_mask(s, s->nwords - 1))
			FAIL(x, s->base, "bitmap bit set beyond the span's last slot");
	}
	if (alloc_above_hwm(s))
		FAIL(x, s->base, "allocated slot above the span's high-water mark");
	uint32_t nquar = 0;
	for (uint32_t w = 0; w < s->nwords; w++) {
		uint64_t q = ld(&span_plane(s, GORT_PLANE_QUARANTINE)[w]);
		if (q & ~ld(&span_plane(s, GORT_PLANE_ALLOC)[w]))
			FAIL(x, s->base, "quarantined slot that is not allocated");
		if (q & ld(&span_plane(s, GORT_PLANE_FREED)[w]))
			FAIL(x, s->base, "slot both quarantined and freed remotely");
		nquar += popcount64(q);
	}
	x->quarantined += nquar;
	/* Light's recent stacks are not counted per span (check_recent). */
	if (s->spanclass != LARGE_SPAN_CLASS &&
	    (gort_hard->quarantine ? nquar != s->nquar : s->nquar != 0))
		FAIL(x, s->base, "span's quarantined-slot count disagrees with its bits");
	return true;
}

/* zero_check: every slot that is not live (free, freed remotely, or in a
 * quarantine) reads zero. Adjacent dead slots are adjacent memory, so each
 * run of them is one call: a fresh span is a single run. */
static bool check_zeroed(check_ctx_t *x, const span_t *s)
{
	for (uint32_t w = 0; w < s->nwords; w++) {
		uint64_t dead = ~live_word(s, w) & span_word_mask(s, w);
		while (dead) {
			unsigned first = (unsigned)__builtin_ctzll(dead);
			uint64_t run = dead >> first;
			unsigned len = ~run ? (unsigned)__builtin_ctzll(~run) : 64 - first;
			uintptr_t p = s->base + ((uintptr_t)w * 64 + first) * s->elemsize;
			size_t bytes = (size_t)len * s->elemsize;
			size_t off = gort_first_dirty_prefix(gort_hard, p, len, s->elemsize);
			if (off != bytes)
				FAIL(x, p + off / s->elemsize * s->elemsize,
				     "a slot that is not live was written (use after free)");
			dead &= first + len < 64 ? ~0ull << (first + len) : 0;
		}
	}
	return true;
}

static bool check_tiny(check_ctx_t *x, const span_t *s)
{
	if (!s->tiny)
		FAIL(x, s->base, "tiny span without its masks");
	/* Free blocks, and blocks freed by another thread and not yet folded
	 * in, are skipped. */
	for (uint32_t w = 0; w < s->nwords; w++) {
		uint64_t held = ld(&span_plane(s, GORT_PLANE_ALLOC)[w]) &
				~ld(&span_plane(s, GORT_PLANE_FREED)[w]);
		for (; held; held &= held - 1) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(held);
			if (!(ld(&s->tiny[i]) & (TINY_LIVE_MASK | TINY_OPEN)))
				FAIL(x, s->base + i * TINY_SIZE,
				     "allocated tiny block with no object");
		}
	}
	return true;
}

static bool check_inuse(check_ctx_t *x, const span_t *s)
{
	if (gort_heap_released_bits(s->base, s->npages, BITS_COUNT) != 0)
		FAIL(x, s->base, "in-use span with pages marked released");
	for (size_t i = 0; i < s->npages; i++)
		if (arena_span_entry(s->base + (i << PAGE_SHIFT)) != s)
			FAIL(x, s->base + (i << PAGE_SHIFT), "page of an in-use span not mapped to it");
	if (s->spanclass == LARGE_SPAN_CLASS) {
		if (s->nelems != 1 || s->owner != OWNER_LARGE)
			FAIL(x, s->base, "large span with bad shape or owner");
		if (!bitmap_test(s, GORT_PLANE_ALLOC, 0))
			FAIL(x, s->base, "large span in use without its object");
	} else {
		size_t cls = spanclass_sizeclass(s->spanclass);
		if (s->spanclass >= NUM_SPAN_CLASSES || s->elemsize != gort_sc_size[cls] ||
		    s->npages - s->guard != gort_sc_npages[cls] || s->nelems != gort_sc_nelems[cls])
			FAIL(x, s->base, "small span does not match its size class");
		if (gort_hard->guard_spans ? s->guard < 1 || s->guard > 4 : s->guard != 0)
			FAIL(x, s->base, "small span's guard pages do not match the preset");
		if (s->owner != OWNER_CENTRAL && s->owner != OWNER_CACHE)
			FAIL(x, s->base, "small span owned by neither a central nor a cache");
	}
	if (!check_bits(x, s))
		return false;
	if (gort_hard->zero_check && s->spanclass != LARGE_SPAN_CLASS && !check_zeroed(x, s))
		return false;
	return s->spanclass != TINY_SPAN_CLASS || check_tiny(x, s);
}

static bool check_free_run(check_ctx_t *x, const span_t *s, const span_t *prev)
{
	if (prev && prev->state == SPAN_FREE)
		FAIL(x, s->base, "two adjacent free runs (not coalesced)");
	if (arena_span_entry(s->base + span_bytes(s) - PAGE_SIZE) != s)
		FAIL(x, s->base, "free run's last page not mapped to it");
	if (s->list != LIST_FREE)
		FAIL(x, s->base, "free run not on a heap bucket");
	if (gort_heap_released_bits(s->base, s->npages, BITS_COUNT) != s->nreleased)
		FAIL(x, s->base, "free run's released count disagrees with its page bits");
	return true;
}

/* The index and the ranges: every arena aligned and found at every one of
 * its addresses; ranges sorted, whole arenas, committed within. */
static bool check_index(check_ctx_t *x)
{
	size_t n = 0, committed = 0;
	for (const heap_arena_t *h = ARENA.all; h; h = h->next, n++) {
		if (h->base % ARENA_BYTES || h->used < h->base || h->used > h->base + ARENA_BYTES)
			FAIL(x, h->base, "arena misaligned or its committed end outside it");
		if (gort_arena_of(h->base) != h || gort_arena_of(h->base + ARENA_BYTES - 1) != h)
			FAIL(x, h->base, "arena index does not lead to the arena");
		if (h->next && h->next->base <= h->base)
			FAIL(x, h->base, "arena list out of order");
	}
	if (n != ARENA.narenas)
		FAIL(x, 0, "arena count disagrees with the arena list");
	for (unsigned k = 0; k < ARENA.nranges; k++) {
		const heap_range_t *r = &ARENA.range[k];
		if (r->base % ARENA_BYTES || r->end % ARENA_BYTES || r->used < r->base ||
		    r->used > r->end || r->resv % ARENA_BYTES || r->resv < r->end ||
		    (k && r->base < ARENA.range[k - 1].end))
			FAIL(x, r->base, "heap range misaligned, overlapping or over-committed");
		committed += r->used - r->base;
	}
	if (committed != ARENA.committed || (ARENA.limit && committed > ARENA.limit))
		FAIL(x, 0, "committed heap bytes disagree with the ranges or pass the limit");
	return true;
}

static bool check_arena(check_ctx_t *x, size_t *inuse, size_t *free, size_t *released)
{
	if (!check_index(x))
		return false;
	for (unsigned k = 0; k < ARENA.nranges; k++) {
		const heap_range_t *r = &ARENA.range[k];
		const span_t *prev = NULL;
		for (uintptr_t p = r->base; p < r->used;) {
			uintptr_t at = p;
			span_t *s = gort_heap_span_at(&p);
			if (!s || p > r->used)
				FAIL(x, at, "committed page not covered by any span or run");
			bool ok = s->state == SPAN_INUSE ? check_inuse(x, s)
							 : check_free_run(x, s, prev);
			if (!ok)
				return false;
			if (s->state == SPAN_INUSE)
				*inuse += s->npages;
			else
				*free += s->npages, *released += s->nreleased;
			prev = s;
		}
	}
	return true;
}

static bool check_buckets(check_ctx_t *x)
{
	for (unsigned b = 0; b < HEAP_BUCKETS; b++) {
		uint32_t n = 0;
		const span_t *last = NULL;
		bool released_seen = false;
		for (span_t *s = HEAP.free[b].first; s; last = s, s = s->next, n++) {
			if (s->state != SPAN_FREE)
				FAIL(x, s->base, "in-use span on a free bucket");
			if ((s->npages < HEAP_BUCKETS ? s->npages : 0) != b)
				FAIL(x, s->base, "free run in the wrong bucket");
			bool released = s->nreleased == s->npages;
			if (released_seen && !released)
				FAIL(x, s->base, "free run with backed pages behind a released one");
			released_seen |= released;
		}
		if (HEAP.free[b].last != last)
			FAIL(x, b, "free bucket's last run is wrong");
		if (n != HEAP.free[b].n)
			FAIL(x, b, "free bucket count is wrong");
		bool bit = (HEAP.nonempty[b / 64] >> (b % 64)) & 1;
		if (bit != (n > 0))
			FAIL(x, b, "free bucket nonempty bit is wrong");
	}
	return true;
}

static bool check_list(check_ctx_t *x, unsigned sc, span_t *head, uint32_t n, int list)
{
	uint32_t seen = 0;
	span_t *s = head;
	if (!head)
		return n == 0 ? true : (x->why = "central list count is wrong", x->where = sc, false);
	do {
		if (s->owner != OWNER_CENTRAL || s->list != list || s->spanclass != sc ||
		    s->state != SPAN_INUSE)
			FAIL(x, s->base, "span on a central list with the wrong owner, list or class");
		if (s->next->prev != s)
			FAIL(x, s->base, "central list links broken");
		bool full = gort_bitmap_count_live(s) == s->nelems;
		if (list == LIST_FULL && !gort_mem.threaded && (!full || !ld(&s->full_flag)))
			FAIL(x, s->base, "span on the full list has a free slot or lost its flag");
		if (list == LIST_PARTIAL && ld(&s->full_flag))
			FAIL(x, s->base, "span on the partial list carries the full flag");
		if (list == LIST_EMPTY && (gort_bitmap_count_live(s) != 0 || ld(&s->full_flag)))
			FAIL(x, s->base, "span on the empty list has a live object or the full flag");
		s = s->next;
		if (++seen > n)
			break;
	} while (s != head);
	if (seen != n)
		FAIL(x, sc, "central list count is wrong");
	return true;
}

static bool check_centrals(check_ctx_t *x)
{
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		central_t *c = &gort_mem.central[sc];
		if (!check_list(x, sc, c->partial, c->npartial, LIST_PARTIAL) ||
		    !check_list(x, sc, c->full, c->nfull, LIST_FULL) ||
		    !check_list(x, sc, c->empty, c->nempty, LIST_EMPTY))
			return false;
	}
	return true;
}

static bool check_cache_span(check_ctx_t *x, const cache_t *c, unsigned sc, const span_t *s)
{
	if (s->state != SPAN_INUSE || s->owner != OWNER_CACHE || s->cache_id != c->id ||
	    s->spanclass != sc)
		FAIL(x, s->base, "cached span with the wrong state, owner or class");
	if (s->alloc_cache) {
		if (s->cache_word >= s->nwords || s->next_word <= s->cache_word)
			FAIL(x, s->base, "cached span's word cursor out of range");
		if (s->alloc_cache & ld(&span_plane(s, GORT_PLANE_ALLOC)[s->cache_word]))
			FAIL(x, s->base, "cached free slot is allocated");
	}
	return true;
}

/* One of a cache's owned lists: spans of its own, not current, filed as
 * `where` says; a ready one has a free slot. Returns how many, or -1. */
static int check_owned_list(check_ctx_t *x, const cache_t *c, unsigned sc,
			    const owned_list_t *l, uint8_t where)
{
	const span_t *h = l->head, *s = h;
	unsigned n = 0;
	if (h) {
		do {
			if (!check_cache_span(x, c, sc, s))
				return -1;
			if (s->alloc_cache)
				FAILV(x, s->base, "owned span that is not current has cached slots", -1);
			if (s->cache_list != where)
				FAILV(x, s->base, "owned span on the wrong list", -1);
			if (where == CACHE_LIST_READY && gort_bitmap_count_live(s) >= s->nelems)
				FAILV(x, s->base, "ready span has no free slot", -1);
			if (where == CACHE_LIST_EMPTY && !span_unused(s))
				FAILV(x, s->base, "empty owned span holds an object", -1);
			if (s->next->prev != s || ++n > l->n)
				FAILV(x, s->base, "cache's owned-span list is broken", -1);
			s = s->next;
		} while (s != h);
	}
	if (n != l->n)
		FAILV(x, sc, "cache's owned-span count is wrong", -1);
	return (int)n;
}

static bool check_owned(check_ctx_t *x, const cache_t *c, unsigned sc)
{
	int ready = check_owned_list(x, c, sc, &c->ready[sc], CACHE_LIST_READY);
	int full = ready < 0 ? -1 : check_owned_list(x, c, sc, &c->full[sc], CACHE_LIST_FULL);
	int empty = full < 0 ? -1 : check_owned_list(x, c, sc, &c->empty[sc], CACHE_LIST_EMPTY);
	if (empty < 0)
		return false;
	if (empty > CACHE_EMPTY_KEEP)
		FAIL(x, sc, "cache keeps too many empty spans of a class");
	if (cache_owned(c, sc) > cache_owned_cap(sc) + gort_hard->quarantine)
		FAIL(x, sc, "cache owns more spans of a class than its cap");
	return true;
}

static bool tiny_block_open(uintptr_t block)
{
	span_t *s = arena_span_entry(block);
	return s && s->tiny && (ld(&s->tiny[(block - s->base) / TINY_SIZE]) & TINY_OPEN);
}

static bool check_caches(check_ctx_t *x)
{
	uint32_t cached[NUM_SPAN_CLASSES] = {0};
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
			span_t *s = c->alloc[sc];
			if (s != &gort_empty_span) {
				if (!check_cache_span(x, c, sc, s))
					return false;
				cached[sc]++;
			}
			if (!check_owned(x, c, sc))
				return false;
			cached[sc] += cache_owned(c, sc);
		}
		if (c->tiny && !tiny_block_open(c->tiny))
			FAIL(x, c->tiny, "cache's tiny block is not marked open");
	}
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++)
		if (cached[sc] != gort_mem.central[sc].ncached)
			FAIL(x, sc, "central's cached-span count disagrees with the caches");
	return true;
}

/* One entry of a recent stack (recent.c): the start of a slot of a span
 * its cache owns, of its class, with ALLOC and QUARANTINE set, FREED clear. */
static bool check_recent_slot(check_ctx_t *x, const cache_t *c, unsigned sc, recent_slot_t e)
{
	const span_t *s = e.s;
	if (arena_span_entry(e.p) != s || s->state != SPAN_INUSE || s->owner != OWNER_CACHE ||
	    s->cache_id != c->id || s->spanclass != sc)
		FAIL(x, e.p, "recent-stack slot outside a span of its class its cache owns");
	size_t off = e.p - s->base, idx = off / s->elemsize;
	if (off % s->elemsize || idx >= s->nelems)
		FAIL(x, e.p, "recent-stack entry is not the start of a slot");
	if (!bitmap_test(s, GORT_PLANE_ALLOC, idx) || !bitmap_test(s, GORT_PLANE_QUARANTINE, idx) ||
	    bitmap_test(s, GORT_PLANE_FREED, idx))
		FAIL(x, e.p, "recent-stack slot without ALLOC and QUARANTINE, or freed remotely");
	return true;
}

/* Every cache's recent stacks; *held gets their entries. Distinct entries
 * are checked by the count: the bits must equal the entries. */
static bool check_recent(check_ctx_t *x, uint64_t *held)
{
	for (const cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
			unsigned n = c->recent_n[sc];
			if (n > c->recent_cap[sc] || c->recent_cap[sc] > RECENT_SLOTS)
				FAIL(x, sc, "a recent stack holds more than its cap");
			for (unsigned i = 0; i < n; i++)
				if (!check_recent_slot(x, c, sc, c->recent[sc][i]))
					return false;
			*held += n;
		}
	}
	return true;
}

static bool check_quarantine(check_ctx_t *x)
{
	uintptr_t bad = 0;
	uint64_t held = gort_quarantine_entries(&bad), recent = 0;
	if (held == (uint64_t)-1)
		FAIL(x, bad, "quarantine entry without its QUARANTINE bit");
	if (!check_recent(x, &recent))
		return false;
	if (held + recent != x->quarantined)
		FAIL(x, held, "QUARANTINE bits disagree with the quarantines' and stacks' entries");
	uintptr_t written = gort_quarantine_large_written();
	if (written)
		FAIL(x, written, "a large object in quarantine was written (use after free)");
	for (const cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		uint64_t n = 0, bytes = 0;
		for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
			n += c->qlen[sc];
			bytes += (uint64_t)c->qlen[sc] * gort_sc_size[spanclass_sizeclass(sc)];
		}
		if (n != c->qobjects || bytes != c->qbytes)
			FAIL(x, c->id, "a cache's quarantine totals disagree with its rings");
	}
	return true;
}

void gort_span_check(const span_t *s)
{
	check_ctx_t x = {0};
	if (ld_acq(&s->state) == SPAN_INUSE && !check_bits(&x, s))
		gort_report(GORT_ERR_HEAP_CORRUPTION, "check", x.where, x.why);
}

/* The span-local invariants of the span holding addr (check_inuse: page
 * mapping, shape, bitmap, tiny masks, zeroed free slots), for a caller that
 * wants a check after every operation without paying for the whole heap.
 * Only the heap lock: it pins the span's identity and shape (they change
 * only when the heap hands the span out or takes it back); the rest is read
 * as gort_check reads it, at a quiescent point. An address outside every
 * in-use span has nothing to check. */
int gort_mem_check_at(uintptr_t addr)
{
	if (ld_acq(&gort_mem.state) != 2)
		return 0;
	check_ctx_t x = {0};
	gort_lock(&HEAP.lock);
	span_t *s = gort_span_lookup(addr);
	bool ok = !s || check_inuse(&x, s);
	gort_unlock(&HEAP.lock);
	if (ok)
		return 0;
	gort_report(GORT_ERR_HEAP_CORRUPTION, "check", x.where, x.why);
	return -1;
}

int gort_mem_check(void)
{
	if (ld_acq(&gort_mem.state) != 2)
		return 0;
	check_ctx_t x = {0};
	size_t inuse = 0, free = 0, released = 0;
	gort_mem_lock_all();
	bool ok = check_arena(&x, &inuse, &free, &released) && check_buckets(&x) &&
		  check_centrals(&x) && check_caches(&x) && check_quarantine(&x);
	if (ok && (inuse != HEAP.pages_inuse || free != HEAP.pages_free ||
		   released != HEAP.pages_released))
		ok = false, x.why = "heap page counters disagree with the arena", x.where = 0;
	gort_mem_unlock_all();
	if (ok)
		return 0;
	gort_report(GORT_ERR_HEAP_CORRUPTION, "check", x.where, x.why);
	return -1;
}
