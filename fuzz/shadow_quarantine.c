/*
 * shadow_quarantine.c — the hardened presets' quarantines as the model
 * holds them, and where each free put its object (docs/hardening.md).
 *
 * shadow.held[0] is the large objects' FIFO, shadow.held[c] class c's ring,
 * each at most shadow.quarantine long. After each free the object's bits say
 * where it went: QUARANTINE (held: the ring of its class, or the large
 * FIFO) or FREED (the inbox of a span the cache does not own, freed at once
 * for the statistics). The model evicts the oldest entry of a full ring
 * exactly as the library must; flush and release empty the small rings,
 * never the large FIFO, which only a new runtime or an allocation about
 * to fail empties.
 *
 * Held objects count as objects, slot bytes and ALLOC bits, never as frees,
 * until they leave; their pages stay charged to the budget. A new object
 * may not be a held one. In light every list is empty.
 */
#include "shadow.h"

#define BIT(plane) (1u << (plane))

sh_held *sh_held_at(unsigned c, uint32_t k)
{
	return &shadow.held[c][(shadow.qhead[c] + k) % shadow.quarantine];
}

/* The held object at p, or NULL (always NULL in light). */
const sh_held *sh_held_find(uintptr_t p)
{
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		for (uint32_t k = 0; k < shadow.qlen[c]; k++)
			if (sh_held_at(c, k)->p == p)
				return sh_held_at(c, k);
	return NULL;
}

/* An object that left a quarantine is freed for real: its slot's ALLOC and
 * QUARANTINE bits are clear, or its span went back to the heap. */
static void expect_released(unsigned c, const sh_held *h)
{
	gort_object_info oi = {0};
	unsigned held = BIT(GORT_PLANE_ALLOC) | BIT(GORT_PLANE_QUARANTINE);
	SH_ASSERT(gort_inspect_object((void *)h->p, &oi) != 0 || oi.base != h->p ||
			  !(oi.bits & held),
		  "object %llu at %#lx left quarantine %u but keeps bits %#x",
		  (unsigned long long)h->id, (unsigned long)h->p, c, oi.bits);
}

/* The oldest entry of quarantine c leaves it, as the library's must. */
static void pop(unsigned c)
{
	sh_held h = *sh_held_at(c, 0);
	shadow.qhead[c] = (shadow.qhead[c] + 1) % shadow.quarantine;
	shadow.qlen[c]--;
	shadow.nheld--;
	shadow.held_bytes -= h.slot;
	shadow.foot -= h.foot;
	expect_released(c, &h);
	sh_touch(h.p);
}

static void push(unsigned c, const sh_obj *o)
{
	if (shadow.qlen[c] == shadow.quarantine)
		pop(c);
	*sh_held_at(c, shadow.qlen[c]) = (sh_held){o->p, o->slot, o->foot, o->id};
	shadow.qlen[c]++;
	shadow.nheld++;
	shadow.held_bytes += o->slot;
	shadow.foot += o->foot; /* its pages stay pinned while it is held */
}

/* An allocation about to fail empties the large FIFO first, so that the
 * quarantine never causes an out-of-memory (lib/mem/quarantine.c): after
 * one that failed, the library holds all of it or none of it. */
void sh_after_failed_alloc(void)
{
	if (shadow.qlen[0] == 0)
		return;
	const sh_held *oldest = sh_held_at(0, 0);
	gort_object_info oi = {0};
	int held = gort_inspect_object((void *)oldest->p, &oi) == 0 && oi.base == oldest->p &&
		   (oi.bits & BIT(GORT_PLANE_QUARANTINE));
	while (!held && shadow.qlen[0])
		pop(0);
}

/* Flush and release empty the small rings (never the large FIFO). */
void sh_drain_rings(void)
{
	for (unsigned c = 1; c < GORT_NUM_SIZE_CLASSES; c++)
		while (shadow.qlen[c])
			pop(c);
}

/* Hardened: where the library put o, just freed. A small slot's watched
 * prefix (gort.h, GORT_ZERO_CHECK_BYTES) is zeroed in either place; the pages of a large one must not be touched any more. */
void sh_expect_held_or_inbox(const sh_obj *o)
{
	gort_object_info oi;
	int found = gort_inspect_object((void *)o->p, &oi) == 0 && oi.base == o->p;
	uint8_t bits = found ? oi.bits : 0;
	if (o->cls != 0 && found)
		sh_expect_zero(o->p, oi.elemsize < shadow.zero_bytes ? oi.elemsize : shadow.zero_bytes,
			       "a freed small slot");
	if (bits & BIT(GORT_PLANE_QUARANTINE)) {
		SH_ASSERT((bits & BIT(GORT_PLANE_ALLOC)) && !(bits & BIT(GORT_PLANE_FREED)),
			  "quarantined object %llu at %#lx: bits %#x", (unsigned long long)o->id,
			  (unsigned long)o->p, bits);
		push(o->cls, o);
		return;
	}
	/* Not quarantined: a small slot of a span the cache does not own
	 * waits in that span's FREED inbox (counted as freed already), unless
	 * it was the span's last live object: then that free moved the span to
	 * its central's empty list (swept: the slot's bits are clear) or back
	 * to the heap, and no live object may share its page. */
	uintptr_t page = o->p & ~(uintptr_t)(SH_PAGE - 1);
	size_t i = sh_iv_lower(page);
	int page_empty = !(i < shadow.nlive && shadow.iv[i].lo < page + SH_PAGE);
	uint8_t live_bits = BIT(GORT_PLANE_ALLOC) | BIT(GORT_PLANE_QUARANTINE);
	SH_ASSERT(o->cls != 0 && ((bits & BIT(GORT_PLANE_FREED)) ||
				  (page_empty && (!found || !(bits & live_bits)))),
		  "freed object %llu at %#lx (class %u) is neither quarantined nor in an "
		  "inbox, nor the last of a span given back: bits %#x, in a span %d",
		  (unsigned long long)o->id, (unsigned long)o->p, o->cls, bits, found);
}

/* Every held entry still has its QUARANTINE bit: the FIFOs are exactly the
 * model's. */
void sh_check_held(void)
{
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		for (uint32_t k = 0; k < shadow.qlen[c]; k++) {
			const sh_held *h = sh_held_at(c, k);
			gort_object_info oi = {0};
			SH_ASSERT(gort_inspect_object((void *)h->p, &oi) == 0 && oi.base == h->p &&
					  (oi.bits & BIT(GORT_PLANE_QUARANTINE)) &&
					  oi.span_class == c,
				  "object %llu at %#lx, entry %u of quarantine %u, is not "
				  "quarantined (bits %#x)",
				  (unsigned long long)h->id, (unsigned long)h->p, k, c, oi.bits);
		}
}
