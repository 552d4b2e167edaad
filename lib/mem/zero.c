/*
 * zero.c — zero-size objects: what malloc(0) (and calloc, realloc and
 * gort_alloc of 0 bytes) hands out under the default and paranoid presets
 * in threaded mode (the drop-in). Step mode keeps Go's smallest slot, whose
 * canary catches a write, so that the shell and the fuzzers' heap model see
 * every object in a span.
 *
 * A zero-size object has no byte that may be read or written, so it gets no
 * memory at all: a unique 16-byte-aligned address inside a reservation that
 * is PROT_NONE for ever, so any access, before or after the free, faults at
 * the instruction that made it. The fault handler (sched/fault.c), where the
 * runtime installs one, names it; the drop-in installs no signal handler and
 * the program dies of a plain SIGSEGV.
 *
 * The addresses are handed out once each, in order (an atomic counter), and
 * a bit per address says which are live, so free, realloc and usable_size
 * of one are checked as exactly as any other object's: a second free is a
 * double free, an address never handed out an invalid free. After
 * ZERO_SLOTS allocations the region is used up and malloc(0) falls back to
 * an ordinary smallest object (whose canary still catches a write).
 *
 * Invariants: the region is mapped at init and unmapped at shutdown only,
 * never made accessible; a bit is set only below `next`; state is read
 * without a lock (published before the allocator's state becomes ready).
 */
#include "mem/mem.h"

#define ZERO_STEP 16
#define ZERO_SLOTS ((size_t)1 << 24) /* 256 MiB of address space, 2 MiB of bits */
#define ZERO_REGION (ZERO_SLOTS * ZERO_STEP)

static struct {
	uintptr_t base; /* 0: no zero-size objects (light, or no address space) */
	uint64_t *live; /* one bit per address, touched only where used */
	size_t next;    /* slots handed out so far */
	uint64_t frees; /* of them, freed */
} Z;

void gort_zero_init(bool on)
{
	Z.next = 0;
	Z.frees = 0;
	Z.base = 0;
	if (!on)
		return;
	int unused;
	void *r = gort_os_reserve(ZERO_REGION, 0, &unused);
	uint64_t *bits = r ? gort_os_map(ZERO_SLOTS / 8) : NULL;
	if (!bits) {
		if (r)
			gort_os_unmap(r, ZERO_REGION);
		return;
	}
	Z.live = bits;
	Z.base = (uintptr_t)r;
}

void gort_zero_shutdown(void)
{
	if (!Z.base)
		return;
	gort_os_unmap((void *)Z.base, ZERO_REGION);
	gort_os_unmap(Z.live, ZERO_SLOTS / 8);
	Z.base = 0;
}

bool gort_zero_contains(uintptr_t p)
{
	uintptr_t base = ld(&Z.base);
	return base && p - base < ZERO_REGION;
}

void *gort_zero_alloc(void)
{
	if (!ld(&Z.base))
		return NULL;
	size_t i = __atomic_fetch_add(&Z.next, 1, __ATOMIC_RELAXED);
	if (i >= ZERO_SLOTS)
		return NULL;
	__atomic_fetch_or(&Z.live[i / 64], (uint64_t)1 << (i % 64), __ATOMIC_RELAXED);
	return (void *)(Z.base + i * ZERO_STEP);
}

/* Reports why p is not a live zero-size object; true if it is. */
static bool zero_check(uintptr_t p, const char *op, bool take)
{
	size_t off = p - Z.base, i = off / ZERO_STEP;
	const char *why = "zero-size object";
	gort_error_kind kind = GORT_ERR_INVALID_FREE;
	if (off % ZERO_STEP == 0 && i < ld(&Z.next)) {
		uint64_t bit = (uint64_t)1 << (i % 64), old;
		if (take)
			old = __atomic_fetch_and(&Z.live[i / 64], ~bit, __ATOMIC_ACQ_REL);
		else
			old = __atomic_load_n(&Z.live[i / 64], __ATOMIC_ACQUIRE);
		if (old & bit) {
			if (take)
				__atomic_fetch_add(&Z.frees, 1, __ATOMIC_RELAXED);
			return true;
		}
		kind = GORT_ERR_DOUBLE_FREE;
	} else {
		why = "zero-size region, never handed out";
	}
	gort_report(gort_kind_for_op(kind, op), op, p, why);
	return false;
}

void gort_zero_free(uintptr_t p, const char *op)
{
	zero_check(p, op, true);
}

bool gort_zero_live(uintptr_t p, const char *op)
{
	return zero_check(p, op, false);
}

void gort_zero_counts(uint64_t *mallocs, uint64_t *frees)
{
	size_t n = ld(&Z.next);
	*mallocs = ld(&Z.base) ? (n < ZERO_SLOTS ? n : ZERO_SLOTS) : 0;
	*frees = ld(&Z.frees);
}
