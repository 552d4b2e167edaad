/*
 * shadow_interval.c — the live objects' extents in address order
 * (shadow.iv, as many as shadow.nlive): a new object must fit between its
 * neighbours, so the allocator never hands out memory that overlaps a live
 * object.
 *
 * An extent is what the object owns: its usable size; a tiny object's
 * request only (its usable size may grow as later objects of the block
 * start further on); in hardened mode its whole slot (span for a large
 * one), so the overlap check covers the canary too. Tiny objects of one
 * 16-byte block are neighbours in the order (nothing else can sit inside a
 * block), which is how shadow.tiny_blocks counts the blocks holding live
 * tiny objects.
 */
#include "shadow.h"

/* Shift n intervals from `from` to `to` (overlapping). A plain loop, not
 * memmove: ASan's memmove copies a byte at a time, and with up to 1,024
 * live objects these shifts were a tenth of fuzz_alloc's time. no_builtin
 * keeps clang from turning the loop back into a memmove call. */
#ifdef __clang__
#define SH_NO_MEMMOVE __attribute__((no_builtin("memmove")))
#else
#define SH_NO_MEMMOVE
#endif
SH_NOASAN SH_NO_MEMMOVE static void shift(sh_iv *to, const sh_iv *from, size_t n)
{
	if (to < from)
		for (size_t i = 0; i < n; i++)
			to[i] = from[i];
	else
		for (size_t i = n; i-- > 0;)
			to[i] = from[i];
}

/* Index of the first interval with lo >= p. */
size_t sh_iv_lower(uintptr_t p)
{
	size_t lo = 0, hi = shadow.nlive;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (shadow.iv[mid].lo < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int same_block(const sh_iv *v, uintptr_t p)
{
	return v->tiny && (v->lo & ~(uintptr_t)15) == (p & ~(uintptr_t)15);
}

/* Whether the tiny object at index i (of n) shares its block: a block's
 * first and last live objects are found by looking at the two neighbours. */
static int block_has_neighbour(size_t i, uintptr_t p, size_t n)
{
	return (i > 0 && same_block(&shadow.iv[i - 1], p)) ||
	       (i + 1 < n && same_block(&shadow.iv[i + 1], p));
}

/* Insert [lo, hi) before shadow.nlive grows to count it. */
void sh_iv_insert(uintptr_t lo, uintptr_t hi, int tiny, uint64_t id)
{
	size_t i = sh_iv_lower(lo);
	SH_ASSERT(i == shadow.nlive || shadow.iv[i].lo >= hi,
		  "new object %llu [%#lx, %#lx) overlaps a live object at [%#lx, %#lx)",
		  (unsigned long long)id, (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)shadow.iv[i].lo, (unsigned long)shadow.iv[i].hi);
	SH_ASSERT(i == 0 || shadow.iv[i - 1].hi <= lo,
		  "new object %llu [%#lx, %#lx) overlaps a live object at [%#lx, %#lx)",
		  (unsigned long long)id, (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)shadow.iv[i - 1].lo, (unsigned long)shadow.iv[i - 1].hi);
	shift(&shadow.iv[i + 1], &shadow.iv[i], shadow.nlive - i);
	shadow.iv[i] = (sh_iv){lo, hi, (uint8_t)tiny};
	if (tiny && !block_has_neighbour(i, lo, shadow.nlive + 1))
		shadow.tiny_blocks++;
}

/* Remove the interval at lo before shadow.nlive shrinks. */
void sh_iv_remove(uintptr_t lo)
{
	size_t i = sh_iv_lower(lo);
	SH_ASSERT(i < shadow.nlive && shadow.iv[i].lo == lo, "model: no interval at %#lx",
		  (unsigned long)lo);
	if (shadow.iv[i].tiny && !block_has_neighbour(i, lo, shadow.nlive))
		shadow.tiny_blocks--;
	shift(&shadow.iv[i], &shadow.iv[i + 1], shadow.nlive - i - 1);
}

/* The live object whose extent holds p, or NULL. */
const sh_iv *sh_iv_containing(uintptr_t p)
{
	size_t i = sh_iv_lower(p + 1);
	if (i == 0)
		return NULL;
	const sh_iv *v = &shadow.iv[i - 1];
	return p >= v->lo && p < v->hi ? v : NULL;
}

/* Whether a live tiny object sits in the 16-byte block at `block`. */
int sh_tiny_block_live(uintptr_t block)
{
	size_t i = sh_iv_lower(block);
	return i < shadow.nlive && same_block(&shadow.iv[i], block);
}
