/*
 * stack.h — goroutine stacks: fixed-size, guarded, lazily backed, cached.
 *
 * A pool hands out stacks of one usable size (1 MiB of address space by
 * default; 64 KiB in ASan builds, see below). They are cut from segments of
 * address space reserved PROT_NONE and MAP_NORESERVE (the first holds 64
 * stacks, each next one twice as many, up to 16384), one slot per stack:
 *
 *     slot i:  [ guard (64 KiB) | usable bytes ...................... ]
 *                                ^ lo                     stack top: hi ^
 *
 * Stacks grow down, so an overflow runs into the guard below lo and faults;
 * the fault handler (fault.c) names the G. The guard is 64 KiB, not one
 * page, so that a frame of up to 64 KiB that skips the bottom of the stack
 * still lands in it rather than in the top of the stack below. The usable
 * part is read-write and never written by the pool, so the kernel backs
 * only the pages a G really touches: a parked G with a shallow stack costs
 * its top page, and nothing else.
 *
 * Guard pages: madvise(MADV_GUARD_INSTALL) (Linux 6.13+) where the kernel has
 * it, else mprotect(PROT_NONE) — see stack.c for what each costs in VMAs and
 * so how many stacks each allows under vm.max_map_count.
 *
 * Giving memory back: a stack that a G used deeply keeps its pages after the
 * G dies. gort_stack_shrink (called when a G dies and when a stack enters
 * the cache) returns everything below the top GORT_STACK_KEEP_BYTES to the
 * OS if the G went below that line, so a G that once recursed deep does not
 * pin its pages in a free list or the cache. See gort_stack_shrink for how
 * "went below" is told without a system call.
 *
 * Free stacks: up to cache_max stay ready (their top pages kept) in a LIFO,
 * so a G spawned after one exited reuses warm pages; beyond that a freed
 * stack's memory is returned to the OS (MADV_DONTNEED) and its slot kept for
 * reuse. Slots and address space are never given back before
 * gort_stack_pool_destroy.
 *
 * ASan builds default to 64 KiB: gort_ctx_init unpoisons a whole stack at
 * every G's start, which writes an eighth of its size in shadow memory —
 * 128 KiB of resident shadow per 1 MiB stack.
 *
 * Thread safety: every pool operation takes the pool's lock, except
 * gort_stack_shrink, which touches only the stack (its caller owns it). A
 * gort_stack is a plain value owned by whoever allocated it until it is
 * freed. The pool's geometry (usable, guard_bytes, page) is fixed at init,
 * so the fault handler may read it without the lock.
 */
#ifndef GORT_SCHED_STACK_H
#define GORT_SCHED_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/lock.h"

#define STACK_HIDDEN __attribute__((visibility("hidden")))

#if defined(GORT_SAN_ADDRESS) || defined(__SANITIZE_ADDRESS__)
#define GORT_STACK_DEFAULT_USABLE ((size_t)64 << 10)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORT_STACK_DEFAULT_USABLE ((size_t)64 << 10)
#endif
#endif
#ifndef GORT_STACK_DEFAULT_USABLE
#define GORT_STACK_DEFAULT_USABLE ((size_t)1 << 20)
#endif
#define GORT_STACK_DEFAULT_CACHE 128
/* Below each stack; rounded up to whole pages. */
#define GORT_STACK_GUARD_BYTES ((size_t)64 << 10)
/* What a dead G's stack keeps resident at most (if the G stayed above it). */
#define GORT_STACK_KEEP_BYTES ((size_t)16 << 10)
#define GORT_STACK_SEGMENTS_MAX 256

typedef enum gort_stack_guard {
	GORT_STACK_GUARD_AUTO = 0,     /* config: guard regions if the kernel has them */
	GORT_STACK_GUARD_REGION = 1,   /* madvise(MADV_GUARD_INSTALL) */
	GORT_STACK_GUARD_MPROTECT = 2, /* mprotect(PROT_NONE) */
} gort_stack_guard;

typedef struct gort_stack {
	void *lo;	 /* lowest usable byte; the guard ends here */
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
	size_t guard_bytes; /* below each stack, a page multiple */
	size_t slot_bytes;  /* guard_bytes + usable */
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
	size_t shrunk;	       /* atomic: gort_stack_shrink calls that released */
} gort_stack_pool;

typedef struct gort_stack_stats {
	size_t usable_bytes;	/* per stack */
	size_t guard_bytes;	/* per stack, below it */
	size_t slot_bytes;	/* per stack, with its guard */
	size_t inuse;		/* stacks handed out */
	size_t cached;		/* free, memory kept */
	size_t released;	/* free, memory returned to the OS */
	size_t slots;		/* inuse + cached + released */
	size_t segments;	/* reservations */
	size_t bytes_reserved;	/* address space of the segments */
	size_t bytes_committed; /* usable bytes of stacks in use or cached: the most
				   that can be resident (untouched pages are not) */
	gort_stack_guard guard; /* mechanism in use */
	size_t shrunk;		/* stacks whose deep pages gort_stack_shrink gave back */
} gort_stack_stats;

/* Sets up an empty pool; no address space is reserved until the first
 * allocation. 0, or -1 with errno (ENOMEM, EINVAL for absurd sizes). */
STACK_HIDDEN int gort_stack_pool_init(gort_stack_pool *pool, size_t usable_bytes);
STACK_HIDDEN int gort_stack_pool_init_config(gort_stack_pool *pool, const gort_stack_config *cfg);

/* Unmaps every segment, in use or not. */
STACK_HIDDEN void gort_stack_pool_destroy(gort_stack_pool *pool);

/* A stack. On failure lo == NULL and errno is set
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

/* If the G that used s went below its top GORT_STACK_KEEP_BYTES, returns
 * the pages below that line to the OS; bytes released (0 if it stayed
 * above). For a stack no G runs on: when a G dies, or before it is cached.
 * Costs a cache line's read when there is nothing to give back. */
STACK_HIDDEN size_t gort_stack_shrink(gort_stack_pool *pool, const gort_stack *s);

/* Whether addr lies in the guard below s (the pool's geometry, no lock). */
static inline bool gort_stack_in_guard(const gort_stack_pool *pool, const gort_stack *s,
				       uintptr_t addr)
{
	uintptr_t lo = (uintptr_t)s->lo;
	return lo && addr < lo && addr >= lo - pool->guard_bytes;
}

#endif /* GORT_SCHED_STACK_H */
