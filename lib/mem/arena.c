/*
 * arena.c — the heap's address space: 64 MiB arenas, found through a sparse
 * two-level index, reserved as the heap grows.
 *
 * As Go since 1.11, the heap is not one fixed reservation but a set of
 * arenas of ARENA_BYTES (64 MiB). Each arena has the seed's three regions
 * for itself: its spans array (one span pointer per 8 KiB page), its bitmap
 * (4 bits per 8-byte granule, 1/16 of the arena) and its pages. The spans
 * array and bitmap live in a metadata mapping of their own, outside the
 * heap, with never-committed guard gaps around them, so a run of writes off
 * an object cannot reach them; the pages of neighbouring arenas stay
 * contiguous, so a free run or a large object may cross from one arena
 * into the next.
 *
 * Any address resolves to its arena in two loads: l1[i >> L2_BITS][i &
 * L2_MASK] with i = addr >> 26 (48-bit addresses: 1,024 first-level
 * entries, each a lazily mapped block of 4,096 arena pointers), as Go's
 * arenaIndex. Entries are published with a release store once the arena is
 * set up and never change until shutdown, so free() reads them unlocked.
 *
 * Arenas are grouped into ranges: maximal runs of contiguous arenas, each
 * with 64 KiB of never-committed reservation below its base (a write before
 * the first object faults). The first is placed at the hint init gives:
 * Go's 0xc000000000 (addresses repeat from run to run: the shell and step
 * mode rely on it) or a random one (the hardened drop-in), and grows
 * upward one arena at a time; when the next address is taken, a new range
 * starts wherever the kernel finds room. Only the newest range grows. Within
 * a range, pages are committed from the bottom up (mprotect of the PROT_NONE
 * reservation) as the heap needs them, so untouched address space costs
 * neither memory nor a commit charge.
 *
 * Invariants (gort_check verifies the first three):
 *  - every arena's base is aligned to ARENA_BYTES, and the index maps every
 *    address inside it to it and nothing else to it;
 *  - ranges are sorted, disjoint, and each is a whole number of arenas;
 *    [base, used) of a range is committed, and each arena's `used` is the
 *    committed end clipped to the arena;
 *  - committed bytes of all ranges <= limit when a limit is set;
 *  - arenas and their metadata are never unmapped before shutdown.
 */
#include "mem/mem.h"

#include <errno.h>
#include <string.h>

/* ThreadSanitizer treats a mapping outside its application ranges as fatal,
 * and Go's hint lies outside them: under TSan the kernel picks the address. */
#if defined(__SANITIZE_THREAD__)
#define ARENA_TRY_HINT 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ARENA_TRY_HINT 0
#endif
#endif
#ifndef ARENA_TRY_HINT
#define ARENA_TRY_HINT 1
#endif

/* Never committed: PROT_NONE below each range, so an underflow of the
 * range's first object faults whatever the kernel maps next to it. */
#define RANGE_GUARD ((size_t)64 << 10)
/* Never committed: PROT_NONE around the side tables. */
#define META_GUARD ((size_t)64 << 10)
#define SPANS_BYTES (ARENA_PAGES * sizeof(span_t *))
#define BITMAP_BYTES (ARENA_BYTES / 16 + ARENA_BITMAP_SLACK)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* The metadata mapping: [header + spans | guard | bitmap | guard]. */
static size_t meta_header_bytes(void)
{
	return round_up(sizeof(heap_arena_t), (size_t)4 << 10);
}

static size_t meta_bytes(void)
{
	return round_up(meta_header_bytes() + SPANS_BYTES, META_GUARD) + META_GUARD +
	       round_up(BITMAP_BYTES, META_GUARD) + META_GUARD;
}

/* ----------------------------------------------------------------- index */

heap_arena_t **gort_arena_l1[ARENA_L1_ENTRIES];

static heap_arena_t **l2_block(uintptr_t i, bool create)
{
	heap_arena_t **l2 = ld_acq(&gort_arena_l1[i >> ARENA_L2_BITS]);
	if (l2 || !create)
		return l2;
	l2 = gort_os_map(ARENA_L2_ENTRIES * sizeof *l2);
	if (l2)
		st_rel(&gort_arena_l1[i >> ARENA_L2_BITS], l2);
	return l2;
}

/* ----------------------------------------------------------- one arena */

/* Set up the metadata of the arena at base and publish it in the index. */
static heap_arena_t *arena_add(arena_t *a, uintptr_t base)
{
	uintptr_t i = base >> ARENA_SHIFT;
	heap_arena_t **l2 = l2_block(i, true);
	if (!l2)
		return NULL;
	int unused;
	uint8_t *m = gort_os_reserve(meta_bytes(), 0, &unused);
	if (!m)
		return NULL;
	size_t head = round_up(meta_header_bytes() + SPANS_BYTES, META_GUARD);
	uint8_t *bitmap = m + head + META_GUARD;
	if (gort_os_commit(m, head) != 0 ||
	    gort_os_commit(bitmap, round_up(BITMAP_BYTES, gort_os_page_size())) != 0) {
		gort_os_unmap(m, meta_bytes());
		return NULL;
	}
	heap_arena_t *h = (heap_arena_t *)m;
	h->base = base;
	h->used = base;
	h->spans = (span_t **)(m + meta_header_bytes());
	h->bitmap = bitmap;
	/* Keep the list in address order: arenas are few, inserts rare. */
	heap_arena_t **pp = &a->all;
	while (*pp && (*pp)->base < base)
		pp = &(*pp)->next;
	h->next = *pp;
	*pp = h;
	a->narenas++;
	st_rel(&l2[i & ARENA_L2_MASK], h);
	return h;
}

/* Side-table bytes that describe [base, used) of h, in whole OS pages:
 * what gc_sys counts. */
static size_t meta_in_use(const heap_arena_t *h)
{
	size_t pages = (ld(&h->used) - h->base) >> PAGE_SHIFT, ps = gort_os_page_size();
	if (!pages)
		return 0;
	return round_up(pages * sizeof(span_t *), ps) + round_up((pages << PAGE_SHIFT) / 16, ps);
}

/* --------------------------------------------------------------- ranges */

static heap_range_t *range_insert(arena_t *a, uintptr_t base)
{
	if (a->nranges == ARENA_MAX_RANGES)
		return NULL;
	unsigned k = a->nranges;
	while (k > 0 && a->range[k - 1].base > base) {
		a->range[k] = a->range[k - 1];
		k--;
	}
	a->range[k] = (heap_range_t){.base = base, .end = base, .used = base, .resv = base};
	a->nranges++;
	return &a->range[k];
}

/* Reserve `bytes` at exactly `at`; at, or 0. */
static uintptr_t reserve_at(size_t bytes, uintptr_t at)
{
	int at_hint;
	void *p = gort_os_reserve(bytes, at, &at_hint);
	if (p && at_hint)
		return (uintptr_t)p;
	if (p)
		gort_os_unmap(p, bytes);
	return 0;
}

/* Reserve `n` arenas at exactly `at` (the growing range's next address);
 * their base, or 0. */
static uintptr_t reserve_arenas(size_t n, uintptr_t at)
{
	return reserve_at(n * ARENA_BYTES, at);
}

/* Reserve `n` arenas for a new range, at `at` or, when at is 0 or taken
 * and `anywhere`, where the kernel finds room, aligned to an arena; with
 * RANGE_GUARD bytes of the reservation kept below the base. Their base, or
 * 0. */
static uintptr_t reserve_range(size_t n, uintptr_t at, bool anywhere)
{
	size_t bytes = n * ARENA_BYTES;
	if (at && reserve_at(bytes + RANGE_GUARD, at - RANGE_GUARD))
		return at;
	if (!anywhere)
		return 0;
	/* Room for the guard and to slide to an arena boundary; the slack
	 * on either side goes back. */
	int at_hint;
	uint8_t *r = gort_os_reserve(bytes + ARENA_BYTES + RANGE_GUARD, 0, &at_hint);
	if (!r)
		return 0;
	uintptr_t base = round_up((uintptr_t)r + RANGE_GUARD, ARENA_BYTES);
	if (base - RANGE_GUARD > (uintptr_t)r)
		gort_os_unmap(r, base - RANGE_GUARD - (uintptr_t)r);
	uintptr_t end = (uintptr_t)r + bytes + ARENA_BYTES + RANGE_GUARD;
	if (end > base + bytes)
		gort_os_unmap((void *)(base + bytes), end - (base + bytes));
	return base;
}

/* Make the n reserved arenas at base (= r->end) arenas of range r. */
static int range_extend(arena_t *a, heap_range_t *r, uintptr_t base, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		/* On failure the ones added stay (the index never shrinks)
		 * and the rest stays reserved ahead. */
		if (!arena_add(a, base + k * ARENA_BYTES))
			return -1;
		r->end = base + (k + 1) * ARENA_BYTES;
	}
	return 0;
}

/* ----------------------------------------------------------------- init */

int gort_arena_init(arena_t *a, size_t limit, uintptr_t hint)
{
	memset(a, 0, sizeof *a);
	if (limit && limit < ARENA_MIN_BYTES)
		limit = ARENA_MIN_BYTES;
	/* Whole megabytes keep the limit a whole number of growth steps. */
	a->limit = limit ? round_up(limit, (size_t)1 << 20) : 0;
	a->try_hint = ARENA_TRY_HINT && hint;
	uintptr_t base = a->try_hint ? reserve_range(1, hint, false) : 0;
	size_t ahead = 1;
	a->at_hint = base != 0;
	if (!base && (base = reserve_range(ARENA_RANGE_AHEAD, 0, true)) != 0)
		ahead = ARENA_RANGE_AHEAD;
	if (!base)
		base = reserve_range(1, 0, true);
	heap_range_t *r = base ? range_insert(a, base) : NULL;
	if (r)
		r->resv = base + ahead * ARENA_BYTES;
	if (!r || range_extend(a, r, base, 1) != 0) {
		if (base && !r)
			gort_os_unmap((void *)(base - RANGE_GUARD), ahead * ARENA_BYTES + RANGE_GUARD);
		gort_arena_destroy(a);
		errno = ENOMEM;
		return -1;
	}
	a->cur = r;
	a->base = base;
	return 0;
}

void gort_arena_destroy(arena_t *a)
{
	for (unsigned k = 0; k < a->nranges; k++) {
		heap_range_t *r = &a->range[k];
		gort_os_unmap((void *)(r->base - RANGE_GUARD), r->resv - r->base + RANGE_GUARD);
	}
	for (heap_arena_t *h = a->all, *next; h; h = next) {
		next = h->next;
		gort_os_unmap(h, meta_bytes());
	}
	for (size_t i = 0; i < ARENA_L1_ENTRIES; i++) {
		heap_arena_t **l2 = ld(&gort_arena_l1[i]);
		if (l2) {
			st(&gort_arena_l1[i], NULL);
			gort_os_unmap(l2, ARENA_L2_ENTRIES * sizeof *l2);
		}
	}
	memset(a, 0, sizeof *a);
}

/* ----------------------------------------------------------------- grow */

/* Make sure the growing range has `bytes` of reserved room above its
 * committed end: extend it upward, or start a new range. */
static heap_range_t *room_for(arena_t *a, size_t bytes)
{
	heap_range_t *r = a->cur;
	size_t room = r->end - r->used;
	if (room >= bytes)
		return r;
	size_t n = (bytes - room + ARENA_BYTES - 1) / ARENA_BYTES;
	/* Address space reserved ahead first, then the next arenas up. */
	size_t ahead = (r->resv - r->end) / ARENA_BYTES;
	if (ahead >= n)
		return range_extend(a, r, r->end, n) == 0 ? r : NULL;
	if (reserve_arenas(n - ahead, r->resv)) {
		r->resv += (n - ahead) * ARENA_BYTES;
		return range_extend(a, r, r->end, n) == 0 ? r : NULL;
	}
	/* The next address is taken: a new range, big enough on its own,
	 * with room ahead so that it does not meet the same fate at once. */
	n = (bytes + ARENA_BYTES - 1) / ARENA_BYTES;
	ahead = n > ARENA_RANGE_AHEAD ? n : ARENA_RANGE_AHEAD;
	uintptr_t at = reserve_range(ahead, 0, true);
	if (!at && (at = reserve_range(n, 0, true)) != 0)
		ahead = n;
	if (!at)
		return NULL;
	heap_range_t *nr = range_insert(a, at);
	if (!nr) {
		gort_os_unmap((void *)(at - RANGE_GUARD), ahead * ARENA_BYTES + RANGE_GUARD);
		return NULL;
	}
	/* range_insert may have moved the growing range within the array. */
	for (unsigned k = 0; k < a->nranges; k++)
		if (a->range[k].base == at)
			nr = &a->range[k];
	nr->resv = at + ahead * ARENA_BYTES;
	if (range_extend(a, nr, at, n) != 0)
		return NULL;
	a->cur = nr;
	return nr;
}

/* Publish the committed end `to` of range r in each arena it reaches. */
static void set_used(arena_t *a, uintptr_t from, uintptr_t to)
{
	for (uintptr_t b = from & ~(uintptr_t)(ARENA_BYTES - 1); b < to; b += ARENA_BYTES) {
		heap_arena_t *h = gort_arena_of(b);
		size_t before = meta_in_use(h);
		st_rel(&h->used, to < b + ARENA_BYTES ? to : b + ARENA_BYTES);
		a->meta_committed += meta_in_use(h) - before;
	}
}

uintptr_t gort_arena_grow(arena_t *a, size_t npages, size_t *got)
{
	size_t need = npages << PAGE_SHIFT;
	size_t want = npages < HEAP_GROW_PAGES ? (size_t)HEAP_GROW_PAGES << PAGE_SHIFT : need;
	if (npages > ((size_t)1 << (47 - PAGE_SHIFT)))
		return 0;
	if (a->limit) {
		if (need > a->limit - a->committed)
			return 0;
		if (want > a->limit - a->committed)
			want = a->limit - a->committed;
	}
	heap_range_t *r = room_for(a, need);
	if (!r)
		return 0;
	if (want > r->end - r->used)
		want = r->end - r->used > need ? r->end - r->used : need;
	uintptr_t from = r->used, to = from + want;
	if (gort_os_commit((void *)from, want) != 0)
		return 0;
	r->used = to;
	a->committed += want;
	set_used(a, from, to);
	*got = want >> PAGE_SHIFT;
	return from;
}

/* ----------------------------------------------------------------- walk */

heap_range_t *gort_arena_range_of(arena_t *a, uintptr_t p)
{
	for (unsigned k = 0; k < a->nranges; k++)
		if (p >= a->range[k].base && p < a->range[k].used)
			return &a->range[k];
	return NULL;
}

uintptr_t gort_arena_next_range(const arena_t *a, uintptr_t p)
{
	for (unsigned k = 0; k < a->nranges; k++)
		if (a->range[k].base >= p && a->range[k].used > a->range[k].base)
			return a->range[k].base;
	return 0;
}
