/*
 * stack.h — goroutine stacks: fixed-size, guarded, lazily backed, cached.
 *
 * A pool hands out stacks of one usable size (64 KiB by default). They are
 * cut from segments of address space reserved PROT_NONE (the first holds 64
 * stacks, each next one twice as many, up to 16384), one slot per stack:
 *
 *     slot i:  [ guard page | usable bytes ............................ ]
 *                            ^ lo: canary words            stack top: hi ^
 *
 * Stacks grow down, so an overflow runs into the guard page below lo and
 * faults. The usable part is read-write and never written by the pool, so
 * the kernel backs only the pages a G really uses: a parked G with a
 * shallow stack costs its top page, and nothing else.
 *
 * Guard pages: madvise(MADV_GUARD_INSTALL) (Linux 6.13+) where the kernel has
 * it, else mprotect(PROT_NONE) — see stack.c for what each costs in VMAs and
 * so how many stacks each allows under vm.max_map_count.
 *
 * Canary: the lowest GORT_STACK_CANARY_WORDS words of every usable stack
 * must read zero. A G that has not come near its bottom never touches that
 * page, and reading an untouched page maps the kernel's shared zero page, so
 * the check costs no memory — a per-stack secret written there (gort's first
 * design) cost every parked G a second resident page, doubling its 4 KiB.
 * What it gives up: a write of zeros over all 64 bytes goes unseen, where a
 * secret would have caught it. Overflows that run off the bottom fault on
 * the guard page regardless; the canary is there for frames that reach the
 * bottom words without faulting, and those rarely write only zeros.
 * The scheduler checks it at every switch away from a G and reports
 * `stack overflow in goroutine N`; the pool itself reports nothing. A stack
 * whose canary was damaged is zeroed again before it is handed out.
 *
 * Free stacks: up to cache_max stay ready (memory kept) in a
 * LIFO, so a G spawned after one exited reuses warm pages; beyond that a
 * freed stack's memory is returned to the OS (MADV_DONTNEED) and its slot
 * kept for reuse. Slots and address space are never given back before
 * gort_stack_pool_destroy.
 *
 * Thread safety: every pool operation takes the pool's lock;
 * gort_stack_canary_ok touches only the stack. A gort_stack is a plain value
 * owned by whoever allocated it until it is freed.
 */
#ifndef GORT_SCHED_STACK_H
#define GORT_SCHED_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/lock.h"

#define STACK_HIDDEN __attribute__((visibility("hidden")))

#define GORT_STACK_DEFAULT_USABLE ((size_t)64 << 10)
#define GORT_STACK_DEFAULT_CACHE 128
#define GORT_STACK_CANARY_WORDS 8
#define GORT_STACK_SEGMENTS_MAX 256

typedef enum gort_stack_guard {
	GORT_STACK_GUARD_AUTO = 0,     /* config: guard regions if the kernel has them */
	GORT_STACK_GUARD_REGION = 1,   /* madvise(MADV_GUARD_INSTALL) */
	GORT_STACK_GUARD_MPROTECT = 2, /* mprotect(PROT_NONE) */
} gort_stack_guard;

typedef struct gort_stack {
	void *lo;	 /* lowest usable byte; the canary words start here */
	void *hi;	 /* one past the highest usable byte (page aligned) */
	uint32_t seg;	 /* where the pool keeps it */
	uint32_t slot;
} gort_stack;

typedef struct gort_stack_config {
	size_t usable_bytes; /* rounded up to whole pages; 0 = 64 KiB */
	size_t cache_max;    /* free stacks kept with their memory; 0 = 128, SIZE_MAX = none */
	gort_stack_guard guard;
} gort_stack_config;

struct gort_stack_seg {
	char *base;	 /* reservation: nslots * slot_bytes */
	uint8_t *state;	 /* one byte per slot (enum in stack.c), its own mapping */
	uint32_t nslots; /* slots in the segment */
	uint32_t carved; /* slots [0, carved) have had their guard set up */
};

typedef struct gort_stack_pool {
	gort_lock_t lock;
	size_t usable;	   /* usable bytes per stack, a page multiple */
	size_t slot_bytes; /* guard page + usable */
	size_t page;
	size_t cache_max;
	gort_stack_guard guard; /* the mechanism in use: REGION or MPROTECT */

	struct gort_stack_seg segs[GORT_STACK_SEGMENTS_MAX];
	uint32_t nsegs;

	/* Free stacks as slot ids (segment << 32 | slot), both LIFO. */
	uint64_t *cache; /* memory kept; capacity cache_max */
	size_t ncache;
	uint64_t *cold; /* memory returned; capacity >= every slot */
	size_t ncold, cold_cap;

	size_t inuse;	       /* stacks handed out */
	size_t slots;	       /* stacks ever carved: inuse + ncache + ncold */
	size_t bytes_reserved; /* address space of the segments */
} gort_stack_pool;

typedef struct gort_stack_stats {
	size_t usable_bytes;	/* per stack */
	size_t slot_bytes;	/* per stack, with its guard page */
	size_t inuse;		/* stacks handed out */
	size_t cached;		/* free, memory kept */
	size_t released;	/* free, memory returned to the OS */
	size_t slots;		/* inuse + cached + released */
	size_t segments;	/* reservations */
	size_t bytes_reserved;	/* address space of the segments */
	size_t bytes_committed; /* usable bytes of stacks in use or cached: the most
				   that can be resident (untouched pages are not) */
	gort_stack_guard guard; /* mechanism in use */
} gort_stack_stats;

/* Sets up an empty pool; no address space is reserved until the first
 * allocation. 0, or -1 with errno (ENOMEM, EINVAL for absurd sizes). */
STACK_HIDDEN int gort_stack_pool_init(gort_stack_pool *pool, size_t usable_bytes);
STACK_HIDDEN int gort_stack_pool_init_config(gort_stack_pool *pool, const gort_stack_config *cfg);

/* Unmaps every segment, in use or not. */
STACK_HIDDEN void gort_stack_pool_destroy(gort_stack_pool *pool);

/* A stack with its canary zero. On failure lo == NULL and errno is set
 * (ENOMEM: out of address space, segments or VMAs). */
STACK_HIDDEN gort_stack gort_stack_alloc(gort_stack_pool *pool);

/* Returns s to the pool. -1 with errno EINVAL if s is not a stack of this
 * pool in use (a double free, a forged value); the pool is unchanged then. */
STACK_HIDDEN int gort_stack_free(gort_stack_pool *pool, const gort_stack *s);

/* Returns the memory of every cached stack to the OS; bytes released (at
 * most: untouched pages were never resident). */
STACK_HIDDEN size_t gort_stack_pool_trim(gort_stack_pool *pool);

STACK_HIDDEN void gort_stack_pool_stats(gort_stack_pool *pool, gort_stack_stats *out);

/* Whether the mechanism would be used by a pool made now (probes once). */
STACK_HIDDEN bool gort_stack_guard_regions_supported(void);

/* True while the canary words at s->lo are all zero. Cheap: eight loads
 * from one cache line, which for a G that never came near its bottom is the
 * kernel's zero page. Not instrumented by ASan: the words lie where the G's
 * deepest frames would have had their redzones if it overflowed, and the
 * point is to say so. */
__attribute__((no_sanitize("address"))) static inline bool gort_stack_canary_ok(const gort_stack *s)
{
	const volatile uint64_t *w = (const volatile uint64_t *)s->lo;
	uint64_t any = 0;
	for (int i = 0; i < GORT_STACK_CANARY_WORDS; i++)
		any |= w[i];
	return any == 0;
}

#endif /* GORT_SCHED_STACK_H */
