/*
 * recent.c — light's stacks of recently freed slots, one per size class in
 * each cache (the fast paths, recent_push and recent_pop, are in mem.h).
 *
 * The bitmap hands out the lowest free slot of a word, in address order, so
 * a thread that frees an object and allocates another of its class gets a
 * slot it has not touched for a while, out of the CPU's cache. The stack
 * gives back one it freed a moment ago instead. A slot on a stack keeps its
 * ALLOC bit and gets its QUARANTINE bit, as in a quarantine ring
 * (quarantine.c), so nothing else can take it and a second free of it is a
 * double free; it counts as freed (slot_free) from the push, and as
 * allocated again (slot_alloc) at the pop, so statistics stay exact. The
 * slot freed last stays on top until the next free, never handed out by the
 * next allocation: a double free right after a reallocation is still
 * caught (unless the allocation finds the current bitmap word used up,
 * where the bitmap alone would have handed out a slot just freed too).
 * Only the owner's frees of its own spans come here, and only in light:
 * the hardened presets quarantine instead (recent_cap 0).
 *
 * Invariants (gort_check, invariants.c):
 *  - recent_n[sc] <= recent_cap[sc] <= RECENT_SLOTS; a free that finds
 *    the stack full goes to the bitmap (a ring that made room by freeing
 *    its oldest slot cost batches of frees twice the work);
 *  - every entry is the start of a distinct slot of its span, a span of
 *    class sc that its cache owns, with ALLOC and QUARANTINE set and FREED
 *    clear; the QUARANTINE bits of the bitmap are exactly the stacks'
 *    entries plus the quarantines' (span.nquar counts only the rings', so
 *    light's spans keep it 0 and the fast paths never write it);
 *  - a span with entries stays with its cache: owned_trim drains the class
 *    before it gives spans back, and a flush drains every class first.
 */
#include "mem/mem.h"

uint8_t gort_recent_cap(unsigned sc)
{
	if (gort_hard->checks || sc == LARGE_SPAN_CLASS || sc == TINY_SPAN_CLASS)
		return 0;
	size_t n = RECENT_BYTES / gort_sc_size[sc];
	return (uint8_t)(n < 2 ? 0 : n < RECENT_SLOTS ? n : RECENT_SLOTS);
}

/* The owner's free of slot e, counted when it was pushed: QUARANTINE and
 * ALLOC cleared with plain stores (both are the owner's), and the span
 * filed anew as free_local would file it. */
static void release(cache_t *c, recent_slot_t e)
{
	span_t *s = e.s;
	size_t idx = sc_index_of(s->spanclass, e.p - s->base);
	uint64_t bit = (uint64_t)1 << (idx % 64);
	uint64_t *q = &span_plane(s, GORT_PLANE_QUARANTINE)[idx / 64];
	uint64_t *a = &span_plane(s, GORT_PLANE_ALLOC)[idx / 64];
	st(q, ld(q) & ~bit);
	uint64_t left = ld(a) & ~bit;
	st(a, left);
	cache_note_local_free(c, s, left);
}

void gort_recent_drain(cache_t *c, unsigned sc)
{
	unsigned n = c->recent_n[sc];
	st(&c->recent_n[sc], 0);
	for (unsigned i = 0; i < n; i++)
		release(c, c->recent[sc][i]);
}

void gort_recent_drain_all(cache_t *c)
{
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++)
		if (c->recent_n[sc])
			gort_recent_drain(c, sc);
}

/* The slot's first free was counted at the push and this one by the
 * thread that made it: gort_note_stray takes one back out. */
void gort_recent_stray(span_t *s, size_t idx)
{
	uint64_t bit = (uint64_t)1 << (idx % 64);
	uint64_t old = __atomic_fetch_and(&span_plane(s, GORT_PLANE_FREED)[idx / 64], ~bit,
					  __ATOMIC_ACQ_REL);
	if (old & bit)
		gort_note_stray(s->spanclass, s->base, s->base + idx * s->elemsize, 1);
	gort_report_pending();
}
