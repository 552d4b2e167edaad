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
 * Invariants:
 *  - bits at or beyond nelems are zero in every plane;
 *  - ALLOC is set exactly for the slots handed out and not freed; it is the
 *    only plane free() changes, with one atomic AND, so two frees of the same
 *    slot — on any threads — cannot both succeed;
 *  - a slot is free for allocation iff ALLOC and FREED are both clear.
 */
#include "mem/mem.h"

#include <string.h>

void gort_bitmap_init_span(span_t *s)
{
	s->nwords = (uint16_t)((s->nelems + 63) / 64);
	s->bits = arena_bits_of(&gort_mem.arena, s->base);
	memset(s->bits, 0, (size_t)GORT_BITMAP_PLANES * s->nwords * sizeof(uint64_t));
}

uint32_t gort_bitmap_count(const span_t *s, unsigned plane)
{
	const uint64_t *w = span_plane(s, plane);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nwords; i++)
		n += (uint32_t)__builtin_popcountll(ld(&w[i]));
	return n;
}

uint32_t gort_bitmap_count_taken(const span_t *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nwords; i++)
		n += (uint32_t)__builtin_popcountll(~gort_bitmap_free_word(s, i) &
						    span_word_mask(s, i));
	return n;
}

uint64_t gort_bitmap_free_word(const span_t *s, uint32_t w)
{
	uint64_t taken = ld(&span_plane(s, GORT_PLANE_ALLOC)[w]) |
			 ld(&span_plane(s, GORT_PLANE_FREED)[w]);
	return ~taken & span_word_mask(s, w);
}
