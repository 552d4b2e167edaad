/*
 * malloc.c — the front door: tiny / small / large routing, the malloc
 * family, and the validation every free goes through.
 *
 * Routing, as Go's mallocgc: noscan requests under 16 bytes go to the tiny
 * allocator; requests up to 32 KiB to a size class through the cache; larger
 * ones to the heap as a span of their own.
 *
 * Every pointer given to free/realloc/usable_size is resolved through the
 * spans array and checked before anything changes: inside the arena, in an
 * in-use span, at the start of a slot, and live. The owner's thread frees by
 * clearing the ALLOC bit; any other thread by one atomic OR into the FREED
 * inbox, whose old value exposes a second free (bitmap.c has the protocol).
 * A misuse leaves the heap as it was.
 */
#include "mem/mem.h"

#include <errno.h>
#include <string.h>

/* ---------------------------------------------------------------- large */

static void *alloc_large(size_t size, size_t align, bool zero)
{
	const harden_t *h = gort_hard;
	/* Beyond any address space: refused before the page count overflows. */
	if (size > ((size_t)1 << (ARENA_ADDR_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = harden_slot_need(h, size);
	size_t npages = (need + PAGE_SIZE - 1) >> PAGE_SHIFT;
	size_t align_pages = align > PAGE_SIZE ? align >> PAGE_SHIFT : 1;
	span_t *s = gort_heap_alloc_span(npages, align_pages, LARGE_SPAN_CLASS, h->guard_large);
	if (!s)
		return NULL;
	bool needzero = s->needzero;
	s->request = size;
	bitmap_set(s, GORT_PLANE_ALLOC, 0);
	bitmap_set(s, GORT_PLANE_POINTERS, 0);
	st(&s->hwm, 1);
	if (zero && needzero)
		memset((void *)ld(&s->base), 0, size);
	if (h->canary)
		gort_large_canary_set(s->base, size);
	gort_report_pending(); /* strays met while the heap took back spans */
	return (void *)ld(&s->base);
}

#define COLD __attribute__((noinline, cold))
#define HOT_INLINE inline __attribute__((always_inline))

static COLD void report_at(gort_error_kind kind, const char *op, uintptr_t p, const span_t *s,
			   const char *extra);

/* Every report of this file: the kind as the calling operation names it. */
static COLD void report(gort_error_kind kind, const char *op, uintptr_t p, const char *detail)
{
	gort_report(gort_kind_for_op(kind, op), op, p, detail);
}

static const char *const family_name[] = {"malloc", "new", "new[]"};

/* Canary presets: whether the object was allocated by `family`; reports a
 * mismatched free if not. */
static bool family_ok(const span_t *s, uintptr_t p, unsigned family, const char *op)
{
	unsigned got = ld(&s->spanclass) == LARGE_SPAN_CLASS
			       ? gort_large_canary_family(p, s->request)
			       : gort_canary_family(p, s->elemsize);
	if (likely(got == family))
		return true;
	char buf[96];
	strbuf_t b = {buf, sizeof buf, 0};
	gort_sb_str(&b, "allocated by ");
	gort_sb_str(&b, got < 3 ? family_name[got] : "?");
	gort_sb_str(&b, ", released by ");
	gort_sb_str(&b, op);
	report_at(GORT_ERR_MISMATCHED_FREE, op, p, s, gort_sb_done(&b));
	return false;
}

/* "[requested N B, ]canary at +OFF damaged": a small slot's request is
 * unknown once its canary is damaged ((size_t)-1). */
const char *gort_overflow_detail(char *buf, size_t n, size_t request, size_t bad)
{
	strbuf_t b = {buf, n, 0};
	if (request != (size_t)-1) {
		gort_sb_str(&b, "requested ");
		gort_sb_dec(&b, request);
		gort_sb_str(&b, " B, ");
	}
	gort_sb_str(&b, "canary at +");
	gort_sb_dec(&b, bad);
	gort_sb_str(&b, " damaged");
	return gort_sb_done(&b);
}

/* Canary presets: the request a live large object's canary still vouches
 * for, or (size_t)-1 after reporting the overflow. */
static size_t large_request(span_t *s, const char *op)
{
	size_t bad, request = s->request;
	if (gort_large_canary_ok(s->base, request, &bad))
		return request;
	char buf[96];
	report_at(GORT_ERR_HEAP_OVERFLOW, op, s->base, s,
		  gort_overflow_detail(buf, sizeof buf, request, bad));
	return (size_t)-1;
}

/* A large object in quarantine: freed, its pages a guard range. */
static bool large_quarantined(const span_t *s)
{
	return bitmap_test(s, GORT_PLANE_QUARANTINE, 0);
}

static void free_large(span_t *s, const char *op, unsigned family)
{
	const harden_t *h = gort_hard;
	/* Quarantined first: the canary of a held object sits in pages that
	 * fault. The QUARANTINE bit's atomic OR below catches a racing twin. */
	if (h->checks) {
		if (large_quarantined(s)) {
			report_at(GORT_ERR_DOUBLE_FREE, op, s->base, s, "in quarantine");
			return;
		}
		if (h->canary && bitmap_test(s, GORT_PLANE_ALLOC, 0) &&
		    (large_request(s, op) == (size_t)-1 || !family_ok(s, s->base, family, op)))
			return;
	}
	if (h->quarantine && bitmap_test(s, GORT_PLANE_ALLOC, 0)) {
		if (bitmap_set(s, GORT_PLANE_QUARANTINE, 0)) {
			report_at(GORT_ERR_DOUBLE_FREE, op, s->base, s, "in quarantine");
			return;
		}
		if (gort_quarantine_large(s, op))
			return; /* counted as freed when it leaves the quarantine */
		bitmap_clear(s, GORT_PLANE_QUARANTINE, 0);
	}
	if (!__atomic_fetch_and(&span_plane(s, GORT_PLANE_ALLOC)[0], ~(uint64_t)1,
				__ATOMIC_SEQ_CST)) {
		char buf[160];
		report(GORT_ERR_DOUBLE_FREE, op, ld(&s->base),
		       gort_detail_span(buf, sizeof buf, s, NULL));
		return;
	}
	gort_heap_free_span(s);
}

/* ---------------------------------------------------------------- small */

/* The has-pointers plane: written only when it changes, so a slot reused
 * for the same kind of object costs one load. Owner only, like ALLOC. */
static inline void note_pointers(span_t *s, void *p, bool pointers)
{
	size_t idx = sc_index_of(ld(&s->spanclass), (uintptr_t)p - ld(&s->base));
	uint64_t *w = &span_plane(s, GORT_PLANE_POINTERS)[idx / 64];
	uint64_t bit = (uint64_t)1 << (idx % 64), old = ld(w);
	if (((old & bit) != 0) != pointers)
		st(w, old ^ bit);
}

static void *alloc_small_hardened(cache_t *c, size_t size, unsigned flags);

/* The ABI's alignment (gort.h): a request of 16 bytes or more gets a slot
 * on a 16-byte boundary, as every C allocator gives it. Every class of 32
 * bytes and up is a multiple of 16, so rounding the slot bytes a request
 * needs up to one skips just Go's 24-byte class, and only for requests
 * that must not land there: GORT_NOSCAN ones keep Go's rules (8 bytes). */
#define ABI_ALIGN 16
static inline size_t abi_slot_need(size_t request, size_t need, unsigned flags)
{
	if (request < ABI_ALIGN || (flags & GORT_NOSCAN))
		return need;
	return (need + ABI_ALIGN - 1) & ~(size_t)(ABI_ALIGN - 1);
}

/* Every small allocation: alloc_small's fast path, or all of it. */
static __attribute__((noinline)) void *alloc_small_general(size_t size, unsigned flags)
{
	cache_t *c = cache_current();
	if (unlikely(!c)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(gort_hard->checks))
		return alloc_small_hardened(c, size, flags);
	if ((flags & GORT_NOSCAN) && size < TINY_SIZE && !(flags & GORT_ZERO))
		return gort_cache_alloc_tiny(c, size ? size : 1);
	unsigned sc = sc_class_of(size ? abi_slot_need(size, size, flags) : 1);
	bool pointers = !(flags & GORT_NOSCAN);
	span_t *s;
	void *p;
	unsigned held = c->recent_n[sc];
	/* The bitmap's word used up: the top slot before another word. */
	if (held >= 2 || (held == 1 && c->alloc[sc]->alloc_cache == 0)) {
		p = recent_pop(c, sc, pointers, held == 1, true, &s);
		if (unlikely(!p))
			return gort_alloc(size, flags); /* a stray was reported */
	} else {
		bool marked;
		p = cache_alloc_marked(c, sc, pointers, &marked);
		if (unlikely(!p)) {
			errno = ENOMEM;
			return NULL;
		}
		s = c->alloc[sc];
		if (unlikely(!marked))
			note_pointers(s, p, pointers);
	}
	DEBUG_CHECK_SPAN(s);
	if (flags & GORT_ZERO)
		memset(p, 0, s->elemsize);
	return p;
}

/* Light's common allocation, malloc's: a slot off the class's recent
 * stack, else the bitmap's current word. Anything else, or anything out of
 * the ordinary on the way (a stray free met, a refill), goes to
 * alloc_small_general, which starts over and reports: this path calls
 * nothing, so it needs no frame. */
static inline __attribute__((always_inline)) void *alloc_small(size_t size, unsigned flags)
{
	cache_t *c = gort_tls_cache;
	if (unlikely(!c || gort_tls_gen != ld(&gort_mem.gen) || gort_hard->checks || flags))
		return alloc_small_general(size, flags);
	unsigned sc = sc_class_of(size ? abi_slot_need(size, size, 0) : 1);
	span_t *s;
	void *p;
	if (c->recent_n[sc] >= 2) {
		p = recent_pop(c, sc, true, false, false, &s);
	} else {
		s = c->alloc[sc];
		uint64_t free = s->alloc_cache;
		p = NULL;
		if (likely(free != 0)) {
			unsigned bit = (unsigned)__builtin_ctzll(free);
			bool marked;
			if (likely(!cache_slot_stray(s, bit)))
				p = cache_take_unchecked(c, sc, s, bit, 1, &marked);
		}
	}
	if (unlikely(!p))
		return alloc_small_general(size, 0);
	DEBUG_CHECK_SPAN(s);
	return p;
}

/* A slot that is not live must read zero (zero on free): anything else
 * was written through a dangling pointer. The slot is repaired and freed
 * again before the report, so a handler that longjmps leaves a whole heap;
 * if it returns, the allocation goes on with another slot. */
static bool slot_was_clean(cache_t *c, span_t *s, uintptr_t p)
{
	size_t zlen = harden_zero_len(gort_hard, s->elemsize);
	size_t off = gort_first_nonzero((const void *)p, zlen);
	if (likely(off == zlen))
		return true;
	memset((void *)p, 0, zlen);
	bitmap_clear(s, GORT_PLANE_POINTERS, sc_index_of(s->spanclass, p - s->base));
	gort_free_small(c, s, p, "malloc");
	char extra[64];
	strbuf_t b = {extra, sizeof extra, 0};
	gort_sb_str(&b, "written after free at +");
	gort_sb_dec(&b, off);
	report_at(GORT_ERR_USE_AFTER_FREE, "malloc", p, s, gort_sb_done(&b));
	return false;
}

/* GORT_ZERO in a slot: with zero_check its prefix already reads zero (just
 * checked), so only the request's bytes past it are cleared. */
static void zero_past_prefix(const harden_t *h, void *p, size_t elemsize, size_t size)
{
	size_t done = h->zero_check ? harden_zero_len(h, elemsize) : 0;
	/* With canaries the bytes past the request are the canary's. */
	size_t upto = h->canary && size < elemsize ? size : elemsize;
	if (upto > done)
		memset((char *)p + done, 0, upto - done);
}

/* A request of `size` bytes in class sc: every hardened small allocation
 * (room for the canary, no tiny blocks, since objects sharing a slot could
 * have neither canaries nor zero-on-free; random slots in paranoid; the zero
 * check; the canary) and aligned_alloc's in every preset. */
static void *alloc_in_class(cache_t *c, unsigned sc, size_t size, unsigned flags)
{
	const harden_t *h = gort_hard;
	for (;;) {
		void *p = h->randomize ? gort_cache_alloc_random(c, sc) : cache_alloc(c, sc);
		if (unlikely(!p)) {
			errno = ENOMEM;
			return NULL;
		}
		span_t *s = c->alloc[sc];
		DEBUG_CHECK_SPAN(s);
		if (h->zero_check && !slot_was_clean(c, s, (uintptr_t)p))
			continue;
		if (flags & GORT_ZERO)
			zero_past_prefix(h, p, s->elemsize, size);
		note_pointers(s, p, !(flags & GORT_NOSCAN));
		if (h->canary)
			gort_canary_set((uintptr_t)p, s->elemsize, size);
		return p;
	}
}

/* A dead slot whose watched prefix is not zero: zeroed again, then the
 * write reported as a use after free, found by `how`. */
static COLD void dirty_dead_slot(const span_t *s, uintptr_t slot, size_t off, const char *op,
				 const char *how)
{
	memset((void *)slot, 0, harden_zero_len(gort_hard, s->elemsize));
	char extra[96];
	strbuf_t b = {extra, sizeof extra, 0};
	gort_sb_str(&b, "written after free at +");
	gort_sb_dec(&b, off);
	gort_sb_str(&b, how);
	report_at(GORT_ERR_USE_AFTER_FREE, op, slot, s, gort_sb_done(&b));
}

/* The slot this cache quarantined last must still read zero: a write
 * through a pointer just freed is found at the next allocation of any
 * size, not only when its slot is reused. One slot's prefix: O(1). */
static void check_last_quarantined(cache_t *c)
{
	uintptr_t p = c->last_quar;
	span_t *s = p ? arena_span_entry(p) : NULL;
	if (!s || ld(&s->cache_id) != c->id || ld(&s->state) != SPAN_INUSE ||
	    s->spanclass == LARGE_SPAN_CLASS || s->spanclass == TINY_SPAN_CLASS)
		return;
	size_t off = p - s->base, idx = sc_index_of(s->spanclass, off);
	if (idx >= s->nelems || idx * s->elemsize != off ||
	    !bitmap_test(s, GORT_PLANE_QUARANTINE, idx))
		return;
	size_t zlen = harden_zero_len(gort_hard, s->elemsize);
	size_t bad = gort_first_nonzero((const void *)p, zlen);
	if (likely(bad == zlen))
		return;
	c->last_quar = 0;
	dirty_dead_slot(s, p, bad, "malloc", " (found at the next allocation)");
}

/* A free into a span our cache owns: the dead slots within NEIGHBOUR_BYTES
 * after the object's slot must read zero in their watched prefix; a write
 * there came from beyond the object's canary, or through a dangling
 * pointer. O(1). Only in our own spans: in another thread's, its owner may
 * hand out a slot we have just read as dead and its new object be written
 * before we read the slot (a false report, seen under xmalloc-style
 * producer/consumer churn). */
#define NEIGHBOUR_BYTES 64
static void check_neighbours(const span_t *s, size_t idx, const char *op)
{
	size_t zlen = harden_zero_len(gort_hard, s->elemsize);
	for (size_t j = idx + 1, seen = 0; j < s->nelems && seen < NEIGHBOUR_BYTES;
	     j++, seen += s->elemsize) {
		if (slot_live(s, j))
			continue;
		uintptr_t slot = s->base + j * s->elemsize;
		size_t len = zlen < NEIGHBOUR_BYTES - seen ? zlen : NEIGHBOUR_BYTES - seen;
		size_t bad = gort_first_nonzero((const void *)slot, len);
		if (bad != len) {
			dirty_dead_slot(s, slot, bad, op, " (found beside a free)");
			return;
		}
	}
}

static void *alloc_small_hardened(cache_t *c, size_t size, unsigned flags)
{
	if (gort_hard->zero_check)
		check_last_quarantined(c);
	if (size == 0) {
		void *z = gort_zero_alloc();
		if (z)
			return z;
	}
	size_t need = abi_slot_need(size, harden_slot_need(gort_hard, size), flags);
	if (need > SC_MAX_SMALL)
		return alloc_large(size, PAGE_SIZE, flags & GORT_ZERO);
	return alloc_in_class(c, sc_class_of(need ? need : 1), size, flags);
}

void *gort_alloc(size_t size, unsigned flags)
{
	if (size <= SC_MAX_SMALL)
		return alloc_small(size, flags);
	if (gort_mem_ensure_init() != 0) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_large(size, PAGE_SIZE, flags & GORT_ZERO);
}

void *gort_malloc(size_t size)
{
	if (likely(size <= SC_MAX_SMALL))
		return alloc_small(size, 0);
	return gort_alloc(size, 0);
}

void *gort_calloc(size_t count, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(count, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return gort_alloc(bytes, GORT_ZERO);
}

/* Smallest class at or above `size` whose objects all sit on `align`. */
static unsigned aligned_class(size_t size, size_t align)
{
	for (unsigned cls = sc_class_of(size ? size : 1); cls < SC_NUM; cls++)
		if (gort_sc_size[cls] % align == 0)
			return cls;
	return 0;
}

void *gort_aligned_alloc(size_t align, size_t size)
{
	if (align == 0 || (align & (align - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	if (align <= 8)
		return gort_malloc(size);
	/* The preset decides the room a request needs: read it after init. */
	cache_t *c = cache_current();
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = harden_slot_need(gort_hard, size);
	unsigned cls = need <= SC_MAX_SMALL && align <= PAGE_SIZE ? aligned_class(need, align) : 0;
	if (cls)
		return alloc_in_class(c, cls, size, 0);
	return alloc_large(size ? size : 1, align, false);
}

/* ----------------------------------------------------------- validation */

static COLD void report_at(gort_error_kind kind, const char *op, uintptr_t p, const span_t *s,
			   const char *extra)
{
	char buf[200];
	report(kind, op, p, gort_detail_span(buf, sizeof buf, s, extra));
}

/* Resolve p to its span, reporting why not. */
static HOT_INLINE span_t *span_for_free(uintptr_t p, const char *op)
{
	if (unlikely(ld(&gort_mem.state) != 2)) {
		report(GORT_ERR_INVALID_FREE, op, p, "runtime not initialised");
		return NULL;
	}
	if (!arena_committed(p)) {
		report(GORT_ERR_INVALID_FREE, op, p, "not a gort heap address");
		return NULL;
	}
	span_t *s = gort_span_lookup(p);
	if (!s)
		report(GORT_ERR_INVALID_FREE, op, p, "no object here: free pages");
	return s;
}

/* Whether a clear ALLOC bit at slot idx means "freed" (double free) or
 * "never handed out" (invalid free): slots are handed out lowest first, so
 * everything below the high-water mark was allocated at least once. */
static gort_error_kind clear_bit_kind(const span_t *s, size_t idx)
{
	return idx < ld(&s->hwm) ? GORT_ERR_DOUBLE_FREE : GORT_ERR_INVALID_FREE;
}

/* A free of a slot that is not live: freed already (pending: by another
 * thread, not yet folded in), or never handed out. */
static COLD void report_not_live(const span_t *s, size_t idx, uintptr_t p, const char *op,
			    bool pending)
{
	gort_error_kind kind = pending ? GORT_ERR_DOUBLE_FREE : clear_bit_kind(s, idx);
	report_at(kind, op, p, s, kind == GORT_ERR_INVALID_FREE ? "slot never allocated" : NULL);
}

/* The owner's own free: its thread alone writes the span's ALLOC words.
 * In light the slot waits on the class's recent stack (not tiny blocks,
 * whose class has none). */
static HOT_INLINE void free_local(cache_t *c, span_t *s, size_t idx, uintptr_t p,
				  const char *op)
{
	uint64_t bit = (uint64_t)1 << (idx % 64);
	uint64_t *a = &span_plane(s, GORT_PLANE_ALLOC)[idx / 64];
	uint64_t *q = &span_plane(s, GORT_PLANE_QUARANTINE)[idx / 64];
	uint64_t alloc = ld(a);
	/* QUARANTINE: light's recent stack holds the slot (the hardened paths
	 * check it, small_live, before they come here). */
	if (unlikely(!(alloc & bit) ||
		     ((ld(&span_plane(s, GORT_PLANE_FREED)[idx / 64]) | ld(q)) & bit))) {
		report_not_live(s, idx, p, op, alloc & bit);
		return;
	}
	unsigned sc = ld(&s->spanclass);
	if (recent_push(c, sc, s, q, bit, p))
		return;
	st(a, alloc & ~bit);
	counter_inc(&c->slot_free[sc]);
	cache_note_local_free(c, s, alloc & ~bit);
}

/* A free from any other thread: one atomic OR into the FREED inbox. After
 * it the span may be emptied and recycled by its owner at any moment, so
 * everything needed from it is read before. */
static void free_remote(cache_t *c, span_t *s, size_t idx, uintptr_t p, const char *op)
{
	uint64_t bit = (uint64_t)1 << (idx % 64);
	unsigned sc = ld(&s->spanclass);
	uint32_t *full_flag = &s->full_flag;
	bool alloc = ld(&span_plane(s, GORT_PLANE_ALLOC)[idx / 64]) & bit;
	/* QUARANTINE: the owner's recent stack holds it (light). */
	if (unlikely(!alloc || (ld(&span_plane(s, GORT_PLANE_QUARANTINE)[idx / 64]) & bit))) {
		report_not_live(s, idx, p, op, alloc);
		return;
	}
	uint64_t old = __atomic_fetch_or(&span_plane(s, GORT_PLANE_FREED)[idx / 64], bit,
					 __ATOMIC_SEQ_CST);
	if (unlikely(old & bit)) {
		report_at(GORT_ERR_DOUBLE_FREE, op, p, s, NULL);
		return;
	}
	if (c)
		counter_inc(&c->slot_free[sc]);
	if (unlikely(__atomic_load_n(full_flag, __ATOMIC_SEQ_CST)))
		gort_central_note_free(s);
	central_watch_free(s);
}

/* Slot idx of s, at p: ours if our cache owns the span (only we can make
 * that true or false), else another thread's. */
static HOT_INLINE void free_slot(cache_t *c, span_t *s, size_t idx, uintptr_t p, const char *op)
{
	if (likely(c && ld(&s->cache_id) == c->id))
		free_local(c, s, idx, p, op);
	else
		free_remote(c, s, idx, p, op);
}

static inline void free_small(cache_t *c, span_t *s, uintptr_t p, const char *op)
{
	size_t off = p - ld(&s->base);
	unsigned sc = ld(&s->spanclass);
	free_slot(c, s, sc == TINY_SPAN_CLASS ? off / TINY_SIZE : sc_index_of(sc, off), p, op);
}

void gort_free_small(cache_t *c, span_t *s, uintptr_t p, const char *op)
{
	free_small(c, s, p, op);
}

/* Whether slot idx is live; else reports why not (as free_local would). */
static bool small_live(const span_t *s, size_t idx, uintptr_t p, const char *op)
{
	uint64_t bit = (uint64_t)1 << (idx % 64);
	bool alloc = ld(&span_plane(s, GORT_PLANE_ALLOC)[idx / 64]) & bit;
	bool quar = ld(&span_plane(s, GORT_PLANE_QUARANTINE)[idx / 64]) & bit;
	bool freed = ld(&span_plane(s, GORT_PLANE_FREED)[idx / 64]) & bit;
	if (likely(alloc && !quar && !freed))
		return true;
	if (alloc && quar)
		report_at(GORT_ERR_DOUBLE_FREE, op, p, s, "in quarantine");
	else
		report_not_live(s, idx, p, op, alloc);
	return false;
}

/* Canary presets: the request size the slot's canary vouches for, or
 * (size_t)-1 after reporting the overflow. */
static size_t small_request(const span_t *s, uintptr_t p, const char *op)
{
	size_t bad, request = gort_canary_request(p, s->elemsize, &bad);
	if (likely(request != (size_t)-1))
		return request;
	char buf[96];
	report_at(GORT_ERR_HEAP_OVERFLOW, op, p, s,
		  gort_overflow_detail(buf, sizeof buf, (size_t)-1, bad));
	return (size_t)-1;
}

/* default and paranoid: the object must be live and its canary whole;
 * then it is zeroed and quarantined (or zeroed and freed). */
static void free_small_hardened(span_t *s, size_t idx, uintptr_t p, const char *op,
				unsigned family)
{
	const harden_t *h = gort_hard;
	if (!small_live(s, idx, p, op))
		return;
	if (h->canary && (small_request(s, p, op) == (size_t)-1 || !family_ok(s, p, family, op)))
		return;
	cache_t *c = cache_current();
	bool ours = c && ld(&s->cache_id) == c->id;
	if (h->zero_check && ours)
		check_neighbours(s, idx, op);
	if (h->quarantine && ours) {
		gort_quarantine_small(c, s, idx, p);
		return;
	}
	/* Another thread's span: zeroed while still ours, then into its
	 * owner's inbox, where it waits until the owner folds the word in. */
	if (h->zero_check)
		memset((void *)p, 0, harden_zero_len(h, s->elemsize));
	free_small(c, s, p, op);
}

static void free_tiny(span_t *s, uintptr_t p, const char *op)
{
	size_t block = (p - ld(&s->base)) / TINY_SIZE;
	uintptr_t bbase = ld(&s->base) + block * TINY_SIZE;
	unsigned off = (unsigned)(p - bbase);
	if (!bitmap_test(s, GORT_PLANE_ALLOC, block) || bitmap_test(s, GORT_PLANE_FREED, block)) {
		report_at(clear_bit_kind(s, block), op, p, s, "tiny block");
		return;
	}
	uint64_t *m = &s->tiny[block];
	uint64_t bit = (uint64_t)1 << off;
	uint64_t old = __atomic_fetch_and(m, ~bit, __ATOMIC_ACQ_REL);
	if (!(old & bit)) {
		bool started = old & TINY_STARTED(off);
		report_at(started ? GORT_ERR_DOUBLE_FREE : GORT_ERR_INTERIOR_POINTER, op, p, s,
			  "tiny block");
		return;
	}
	cache_t *c = cache_current();
	if (c)
		counter_inc(&c->tiny_free);
	if (((old & ~bit) & (TINY_LIVE_MASK | TINY_OPEN)) == 0)
		free_small(c, s, bbase, op);
}

/* Check p; return its span if p is the start of a live object, else report. */
static HOT_INLINE span_t *validate(uintptr_t p, const char *op, size_t *idx_out)
{
	span_t *s = span_for_free(p, op);
	if (!s)
		return NULL;
	size_t off = p - ld(&s->base);
	unsigned sc = ld(&s->spanclass);
	if (sc == LARGE_SPAN_CLASS) {
		if (off != 0) {
			report_at(GORT_ERR_INTERIOR_POINTER, op, p, s, NULL);
			return NULL;
		}
		*idx_out = 0;
		return s;
	}
	if (sc == TINY_SPAN_CLASS) {
		*idx_out = off / TINY_SIZE;
		return s;
	}
	size_t idx = sc_index_of(sc, off);
	if (idx >= ld(&s->nelems)) {
		report_at(GORT_ERR_INVALID_FREE, op, p, s, "span tail, no object");
		return NULL;
	}
	if (idx * ld(&s->elemsize) != off) {
		report_at(GORT_ERR_INTERIOR_POINTER, op, p, s, NULL);
		return NULL;
	}
	*idx_out = idx;
	return s;
}

/* Every free but the common one: large, tiny, hardened, zero-size, another
 * thread's span, every misuse, and C++'s delete (op, family). */
static COLD void free_general_as(void *ptr, const char *op, unsigned family)
{
	if (!ptr)
		return;
	uintptr_t p = (uintptr_t)ptr;
	if (gort_zero_contains(p)) {
		gort_zero_free(p, op);
		return;
	}
	size_t idx;
	span_t *s = validate(p, op, &idx);
	if (!s)
		return;
	unsigned sc = ld(&s->spanclass);
	if (sc == LARGE_SPAN_CLASS) {
		free_large(s, op, family);
		return;
	}
	if (sc == TINY_SPAN_CLASS)
		free_tiny(s, p, op);
	else if (unlikely(gort_hard->checks))
		free_small_hardened(s, idx, p, op, family);
	else
		free_slot(cache_current(), s, idx, p, op);
	DEBUG_CHECK_SPAN(s);
}

static COLD void free_general(void *ptr)
{
	free_general_as(ptr, "free", GORT_FAMILY_MALLOC);
}

/* A pointer outside the arena the cache's frees fell in last: that arena
 * becomes the one its next frees try, if p is in one. */
static COLD void free_elsewhere(cache_t *c, void *ptr)
{
	gort_cache_note_arena(c, (uintptr_t)ptr);
	free_general(ptr);
}

/* The common free, light preset: a live small object of a span the
 * calling thread's cache owns, onto its class's recent stack. Every test
 * of validate() and free_local() is made, in a function that calls
 * nothing, so it needs no frame; anything else goes to free_general, which
 * makes the same tests again and reports.
 * A span we own cannot be recycled under us, so the spans array entry is
 * trusted once it is ours and covers p. */
void gort_free(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	cache_t *c = gort_tls_cache;
	if (unlikely(!c || gort_tls_gen != ld(&gort_mem.gen) || gort_hard->checks))
		return free_general(ptr);
	span_t **slot = cache_span_slot(c, p);
	if (unlikely(!slot))
		return free_elsewhere(c, ptr);
	span_t *s = ld(slot);
	if (unlikely(!s || ld(&s->cache_id) != c->id || ld_acq(&s->state) != SPAN_INUSE))
		return free_general(ptr);
	unsigned sc = ld(&s->spanclass);
	size_t off = p - ld(&s->base);
	if (unlikely(sc == LARGE_SPAN_CLASS || sc == TINY_SPAN_CLASS ||
		     off >= (ld(&s->npages) << PAGE_SHIFT)))
		return free_general(ptr);
	size_t idx = sc_index_of(sc, off), nw = ld(&s->nwords);
	uint64_t bit = (uint64_t)1 << (idx % 64);
	uint64_t *a = &ld(&s->bits)[idx / 64];
	uint64_t *q = a + (size_t)GORT_PLANE_QUARANTINE * nw;
	uint64_t alloc = ld(a);
	if (unlikely(idx >= ld(&s->nelems) || idx * ld(&s->elemsize) != off || !(alloc & bit) ||
		     ((ld(a + (size_t)GORT_PLANE_FREED * nw) | ld(q)) & bit)))
		return free_general(ptr);
	if (likely(recent_push(c, sc, s, q, bit, p)))
		return;
	st(a, alloc & ~bit);
	counter_inc(&c->slot_free[sc]);
	cache_note_local_free(c, s, alloc & ~bit);
}

/* Canary presets: the request of the live object at p (slot idx of s), or
 * (size_t)-1 after reporting. */
static size_t hardened_size(span_t *s, size_t idx, uintptr_t p, const char *op)
{
	if (ld(&s->spanclass) == LARGE_SPAN_CLASS) {
		if (large_quarantined(s)) {
			report_at(GORT_ERR_DOUBLE_FREE, op, p, s, "in quarantine");
			return (size_t)-1;
		}
		if (!bitmap_test(s, GORT_PLANE_ALLOC, 0)) {
			report_at(GORT_ERR_DOUBLE_FREE, op, p, s, "object is not allocated");
			return (size_t)-1;
		}
		return large_request(s, op);
	}
	if (!small_live(s, idx, p, op))
		return (size_t)-1;
	return small_request(s, p, op);
}

/* Usable bytes of a live object at p, (size_t)-1 after reporting if p is
 * not one. */
static size_t live_size(uintptr_t p, const char *op, span_t **sp)
{
	if (gort_zero_contains(p)) {
		*sp = NULL;
		return gort_zero_live(p, op) ? 0 : (size_t)-1;
	}
	size_t idx;
	span_t *s = validate(p, op, &idx);
	if (!s)
		return (size_t)-1;
	*sp = s;
	if (gort_hard->canary && ld(&s->spanclass) != TINY_SPAN_CLASS)
		return hardened_size(s, idx, p, op);
	if (ld(&s->spanclass) == TINY_SPAN_CLASS) {
		uint64_t m = ld(&s->tiny[idx]);
		unsigned off = (unsigned)(p - ld(&s->base)) % TINY_SIZE;
		if (!bitmap_test(s, GORT_PLANE_ALLOC, idx) || bitmap_test(s, GORT_PLANE_FREED, idx)) {
			report_at(clear_bit_kind(s, idx), op, p, s, "tiny block is free");
			return (size_t)-1;
		}
		if (!(m & (1u << off))) {
			/* As free_tiny: a start seen before is a freed object,
			 * any other offset is inside one. */
			bool started = m & TINY_STARTED(off);
			report_at(started ? GORT_ERR_DOUBLE_FREE : GORT_ERR_INTERIOR_POINTER, op, p, s,
				  started ? "tiny object is free" : "tiny block");
			return (size_t)-1;
		}
		/* Up to where the next object starts, or where the block's last
		 * object ends: never into a neighbour, now or later. */
		uint64_t after = ((m >> 16) & TINY_LIVE_MASK) >> (off + 1);
		return after ? (size_t)__builtin_ctzll(after) + 1 : TINY_END(m) - off;
	}
	/* QUARANTINE: light's recent stack holds it. */
	if (!bitmap_test(s, GORT_PLANE_ALLOC, idx) || bitmap_test(s, GORT_PLANE_FREED, idx) ||
	    (ld(&s->spanclass) != LARGE_SPAN_CLASS && bitmap_test(s, GORT_PLANE_QUARANTINE, idx))) {
		report_at(clear_bit_kind(s, idx), op, p, s, "object is not allocated");
		return (size_t)-1;
	}
	return ld(&s->spanclass) == LARGE_SPAN_CLASS ? span_bytes(s) : s->elemsize;
}

size_t gort_usable_size_as(const void *ptr, const char *op)
{
	if (!ptr)
		return 0;
	span_t *s;
	size_t n = live_size((uintptr_t)ptr, op, &s);
	return n == (size_t)-1 ? 0 : n;
}

size_t gort_usable_size(const void *ptr)
{
	return gort_usable_size_as(ptr, "usable_size");
}

/* Canary presets: resize in place when the new request still fits the
 * slot (same class) or the span (large, without wasting half), rewriting
 * the canary; false when the object has to move. */
static bool resize_hardened(span_t *s, uintptr_t p, size_t size)
{
	if (size == 0 && gort_hard->zero_check)
		return false; /* a zero-size object, with no byte to touch */
	size_t need = abi_slot_need(size, harden_slot_need(gort_hard, size), 0);
	if (ld(&s->spanclass) == LARGE_SPAN_CLASS) {
		size_t cap = span_bytes(s) - ((size_t)s->guard << PAGE_SHIFT);
		if (need <= SC_MAX_SMALL || need > cap || need <= cap / 2)
			return false;
		s->request = size;
		gort_large_canary_set(p, size);
		return true;
	}
	if (need > SC_MAX_SMALL || sc_class_of(need) != ld(&s->spanclass))
		return false;
	gort_canary_set(p, s->elemsize, size);
	return true;
}

/* Light: stay in place while the object still lands in the same place: its
 * own class, or a large span that fits without wasting half. */
static bool resize_light(span_t *s, size_t have, size_t size)
{
	unsigned sc = ld(&s->spanclass);
	if (sc == TINY_SPAN_CLASS)
		return false;
	if (sc != LARGE_SPAN_CLASS)
		return size <= SC_MAX_SMALL && sc_class_of(size ? abi_slot_need(size, size, 0) : 1) == sc;
	if (size <= SC_MAX_SMALL || size > have || size <= have / 2)
		return false;
	s->request = size;
	return true;
}

void *gort_realloc(void *ptr, size_t size)
{
	if (!ptr)
		return gort_malloc(size);
	span_t *s;
	size_t have = live_size((uintptr_t)ptr, "realloc", &s);
	if (have == (size_t)-1)
		return NULL;
	bool hardened = s && gort_hard->canary && ld(&s->spanclass) != TINY_SPAN_CLASS;
	if (hardened && !family_ok(s, (uintptr_t)ptr, GORT_FAMILY_MALLOC, "realloc"))
		return NULL;
	if (s && (hardened ? resize_hardened(s, (uintptr_t)ptr, size) : resize_light(s, have, size)))
		return ptr;
	void *q = gort_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, ptr, have < size ? have : size);
	gort_free(ptr);
	return q;
}

/* ------------------------------------------------------------------ C++ */

/* Whether `size` is what the live object at p was allocated with: exactly,
 * with canaries (they keep the request); light knows only the size class
 * (and a large object's request). Reports a mismatch or a dead object. */
static bool size_matches(uintptr_t p, size_t size, const char *op)
{
	span_t *s;
	size_t have = live_size(p, op, &s);
	if (have == (size_t)-1)
		return false;
	if (!s)
		return true; /* a zero-size object: every size a program passes is 0 */
	unsigned sc = ld(&s->spanclass);
	bool exact = gort_hard->canary || sc == LARGE_SPAN_CLASS;
	size_t request = gort_hard->canary ? have : s->request;
	bool ok = exact ? request == size
			: sc == TINY_SPAN_CLASS ||
				  (size <= SC_MAX_SMALL &&
				   sc_class_of(size ? abi_slot_need(size, size, 0) : 1) == sc);
	if (ok)
		return true;
	char buf[96];
	strbuf_t b = {buf, sizeof buf, 0};
	if (exact) {
		gort_sb_str(&b, "allocated ");
		gort_sb_dec(&b, request);
		gort_sb_str(&b, " B, ");
	}
	gort_sb_str(&b, "deleted as ");
	gort_sb_dec(&b, size);
	gort_sb_str(&b, " B");
	report_at(GORT_ERR_SIZE_MISMATCH, op, p, s, gort_sb_done(&b));
	return false;
}

void gort_dealloc(void *ptr, unsigned family, size_t size, const char *op)
{
	if (!ptr || (size && !size_matches((uintptr_t)ptr, size, op)))
		return;
	free_general_as(ptr, op, family);
}

void gort_set_family(void *ptr, unsigned family)
{
	uintptr_t p = (uintptr_t)ptr;
	if (!ptr || !gort_hard->canary || gort_zero_contains(p))
		return;
	span_t *s = gort_span_lookup(p);
	if (ld(&s->spanclass) == LARGE_SPAN_CLASS) {
		gort_large_canary_set_family(p, s->request, family);
		return;
	}
	size_t bad, request = gort_canary_request(p, s->elemsize, &bad);
	gort_canary_set_family(p, s->elemsize, request, family);
}
