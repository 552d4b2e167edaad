/*
 * bitmap.c — the 4 bits each object has, out of band.
 *
 * The bitmap region of the reservation holds 1/16 of the arena: a span of B
 * bytes owns the B/16 bytes at bitmap + (span.base - arena.base)/16. Its
 * objects use four planes of ceil(nelems/64) words each, laid one after the
 * other: ALLOC, FREED, MARK, POINTERS (gort_inspect.h, enum gort_plane).
 * Bit i of a plane is slot i. Since every object is at least 8 bytes, four
 * planes always fit in B/16 bytes (B/8 slots, 4 bits each).
 *
 * Who writes what — the protocol that keeps every free exact without a
 * locked instruction on the common paths:
 *  - ALLOC is written only by the span's owner: the cache holding it, or
 *    whoever holds its mcentral's lock when no cache does. Allocation sets
 *    the bit, a free by the owner's own thread clears it (plain stores).
 *  - FREED is the inbox of frees from other threads: one atomic OR. If the
 *    bit was already set, that is a double free, caught on the spot.
 *  - The owner reclaims the inbox word by word (ALLOC &= ~FREED, FREED = 0)
 *    before it allocates from a word, and when it files the span.
 *  - A slot is live iff ALLOC and neither FREED nor QUARANTINE (a
 *    quarantine or light's recent stack holds it); free for allocation iff
 *    none of the three.
 *    A FREED bit on a slot whose ALLOC bit is clear, or whose QUARANTINE
 *    bit is set, can only come from a remote free racing a local free of
 *    the same object: reclaim reports it as the double free it is and
 *    leaves the slot as the first free left it.
 *  - Bits at or beyond nelems are zero in every plane.
 */
#include "mem/mem.h"

#include <string.h>

bool gort_have_popcnt;

#if defined(__x86_64__) && !defined(__POPCNT__)
__attribute__((target("popcnt"))) uint32_t gort_popcount_hw(uint64_t x)
{
	return (uint32_t)__builtin_popcountll(x);
}
#else
uint32_t gort_popcount_hw(uint64_t x)
{
	return (uint32_t)__builtin_popcountll(x);
}
#endif

/* Called at init: __builtin_cpu_init first, since a preloaded allocator
 * may run before the constructor that would fill in the CPU's model. */
void gort_bitmap_cpu_init(void)
{
#if defined(__x86_64__) && !defined(__POPCNT__)
	__builtin_cpu_init();
	gort_have_popcnt = __builtin_cpu_supports("popcnt");
#endif
}

void gort_bitmap_init_span(span_t *s)
{
	st(&s->nwords, (uint16_t)((s->nelems + 63) / 64));
	st(&s->bits, arena_bits_of(s->base));
	memset(s->bits, 0, (size_t)GORT_BITMAP_PLANES * s->nwords * sizeof(uint64_t));
}

uint32_t gort_bitmap_count(const span_t *s, unsigned plane)
{
	const uint64_t *w = span_plane(s, plane);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nwords; i++)
		n += popcount64(ld(&w[i]));
	return n;
}

/* Acquire loads: a span found empty here may be recycled, and every thread
 * whose free emptied it must be done with it first (its OR released). */
uint32_t gort_bitmap_count_live(const span_t *s)
{
	const uint64_t *a = span_plane(s, GORT_PLANE_ALLOC);
	const uint64_t *f = span_plane(s, GORT_PLANE_FREED);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nwords; i++)
		n += popcount64(ld_acq(&a[i]) & ~ld_acq(&f[i]));
	return n;
}

uint64_t gort_bitmap_reclaim_word(const span_t *s, uint32_t w)
{
	uint64_t *f = &span_plane(s, GORT_PLANE_FREED)[w];
	uint64_t *a = &span_plane(s, GORT_PLANE_ALLOC)[w];
	uint64_t freed = ld(f) ? __atomic_exchange_n(f, 0, __ATOMIC_ACQ_REL) : 0;
	uint64_t alloc = ld(a);
	uint64_t held = ld(&span_plane(s, GORT_PLANE_QUARANTINE)[w]);
	/* A slot freed already, or held in a quarantine or recent stack, was
	 * freed twice: it stays as it was, the second free is the stray. */
	uint64_t stray = freed & (~alloc | held);
	if (unlikely(stray)) {
		size_t i = (size_t)w * 64 + (size_t)__builtin_ctzll(stray);
		size_t size = s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE : s->elemsize;
		gort_note_stray(s->spanclass, s->base, s->base + i * size,
				popcount64(stray));
	}
	alloc &= ~(freed & ~held);
	st(a, alloc);
	return ~alloc & span_word_mask(s, w);
}

uint32_t gort_bitmap_sweep(const span_t *s)
{
	uint32_t free = 0;
	for (uint32_t w = 0; w < s->nwords; w++)
		free += popcount64(gort_bitmap_reclaim_word(s, w));
	return free;
}
