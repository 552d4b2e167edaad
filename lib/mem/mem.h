/*
 * mem.h — the allocator's internal types and the interfaces between its
 * parts. The design essay is docs/allocator.md; in one paragraph:
 *
 * The heap grows in 64 MiB arenas (arena.c), each with its own spans array
 * and bitmap in a metadata mapping outside the heap, found from any address
 * by a two-level index. The heap is cut into 8 KiB pages; a span is a run
 * of pages. Small objects (<= 32 KiB) live
 * in spans of one size class; each object has 4 bits in the out-of-band
 * bitmap (allocated, freed by another thread, quarantined, has-pointers), so no pointer
 * is ever stored in a free object and every free is checked exactly. A
 * thread or P allocates from its mcache without locks (ctz over 64 slots of
 * the allocated plane); an empty cache slot refills from the mcentral of its
 * span class (a lock per class); mcentral grows from the mheap (one lock),
 * which manages free page runs, coalesces them through the spans array,
 * serves large objects, and returns idle memory to the OS.
 *
 * Lock order: caches registry -> central[i] (ascending i) -> heap -> fixalloc.
 */
#ifndef GORT_MEM_MEM_H
#define GORT_MEM_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/harden.h"
#include "mem/sizeclass.h"
#include "os/lock.h"
#include "os/os.h"
#include "os/rand.h"

#define MEM_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PAGE_SHIFT SC_PAGE_SHIFT
#define PAGE_SIZE SC_PAGE_SIZE
#define NUM_SPAN_CLASSES GORT_NUM_SPAN_CLASSES
#define TINY_SPAN_CLASS GORT_TINY_SPAN_CLASS
#define TINY_SIZE GORT_TINY_SIZE
#define LARGE_SPAN_CLASS 0

/* Go's arena hint: addresses repeat from run to run when it is free. */
#define ARENA_HINT ((uintptr_t)0xc000000000)
/* The heap grows the committed arena by at least this much (Go 1.5: 1 MiB). */
#define HEAP_GROW_PAGES 128
/* Free runs shorter than this have an exact-size bucket. */
#define HEAP_BUCKETS 128

/* Atomics, relaxed unless stated: the locks and the program's own
 * synchronisation order everything else. */
#define ld(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define st(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ld_acq(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_rel(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* ------------------------------------------------------------------ span */

enum span_state { SPAN_FREE = 0, SPAN_INUSE = 1 };
enum span_owner { OWNER_HEAP = 0, OWNER_CENTRAL = 1, OWNER_CACHE = 2, OWNER_LARGE = 3 };
enum span_list { LIST_NONE = 0, LIST_PARTIAL = 1, LIST_FULL = 2, LIST_FREE = 3, LIST_EMPTY = 4 };
/* A cache's own spans besides its current one (cache.c): READY ones had a
 * slot freed by the owner since they ran out, FULL ones have not (frees by
 * other threads may wait in their inbox), EMPTY ones hold no object. */
enum cache_list {
	CACHE_LIST_NONE = 0,
	CACHE_LIST_READY = 1,
	CACHE_LIST_FULL = 2,
	CACHE_LIST_EMPTY = 3
};

/* Tiny block mask, one 64-bit word per 16-byte block:
 *  bits 0..15   a live object starts at that offset;
 *  bits 16..31  an object was started at that offset since the block was
 *               opened (tells a double free from an interior pointer, and
 *               where the next object begins);
 *  bits 32..36  END: where the last object handed out in the block ends;
 *  bit 63       OPEN: the block is some cache's current tiny block.
 * The block's slot is freed by whoever clears the last of LIVE|OPEN. */
#define TINY_LIVE_MASK ((uint64_t)0xffff)
#define TINY_STARTED(o) ((uint64_t)1 << (16 + (o)))
#define TINY_END_SHIFT 32
#define TINY_END(m) ((unsigned)(((m) >> TINY_END_SHIFT) & 31))
#define TINY_OPEN ((uint64_t)1 << 63)

typedef struct span span_t;
/* The first 64 bytes hold every field the fast paths read: fixalloc's
 * objects start 64 bytes into a page-aligned chunk, and a span is a whole
 * number of lines, so a free or an allocation touches one line of it. */
struct span {
	uintptr_t base;
	uint64_t *bits;      /* its 4 planes in the bitmap region */
	size_t npages;
	/* Cache-owner fields: only the thread owning the span's cache uses them. */
	uint64_t alloc_cache; /* free slots of word cache_word not yet handed out */
	uint32_t elemsize;   /* bytes per slot; large: npages * PAGE_SIZE */
	uint32_t nelems;     /* slots; large: 1 */
	uint32_t hwm;        /* slots below it were handed out at least once (atomic) */
	int32_t cache_id;    /* the cache holding it, -1 */
	uint32_t cache_word;
	uint16_t nwords;     /* 64-bit words per bitmap plane */
	uint16_t nquar;      /* its slots in the owning cache's quarantine rings */
	uint8_t spanclass;   /* 0 large, 1..67 small, TINY_SPAN_CLASS */
	uint8_t state;       /* enum span_state; atomic: free() reads it unlocked */
	uint8_t owner;       /* enum span_owner */
	uint8_t list;        /* enum span_list */
	uint8_t needzero;    /* its memory may hold old data */
	uint8_t guard;       /* its last `guard` pages are guard pages (paranoid) */
	uint8_t cache_list;  /* enum cache_list: where its cache keeps it (owner only) */
	uint8_t fenced;      /* large, in quarantine: its pages fault (quarantine.c) */
	span_t *next, *prev; /* heap free bucket or central list */
	uint32_t full_flag;  /* on the full list; the first free moves it (atomic) */
	uint32_t nreleased;  /* free run: pages returned to the OS (their bits) */
	uint32_t next_word;  /* next bitmap word to load (cache owner) */
	uint64_t *tiny;      /* tiny spans: one mask per 16-byte block */
	size_t request;      /* large: bytes asked for */
	/* Central-owned small spans (central.c): live objects when filed
	 * (high half) and frees counted since (low half); atomic. */
	uint64_t watch;
	uint64_t empty_since; /* on a central's empty list since (ns; 0 in step mode) */
};
_Static_assert(offsetof(span_t, cache_list) < 64 && sizeof(span_t) % 64 == 0,
	       "the fast paths' fields fill the first line of a 64-byte aligned span");

/* Relaxed loads (plain moves): a racing double free may read a span that
 * is being recycled, whose fields are then written atomically (span.c). */
static inline uint64_t *span_plane(const span_t *s, unsigned plane)
{
	return ld(&s->bits) + (size_t)plane * ld(&s->nwords);
}

static inline size_t span_bytes(const span_t *s)
{
	return s->npages << PAGE_SHIFT;
}

static inline unsigned spanclass_sizeclass(unsigned sc)
{
	return sc == TINY_SPAN_CLASS ? 2 : sc;
}

/* The slots of the last word that exist (bits beyond nelems are never free). */
static inline uint64_t span_word_mask(const span_t *s, uint32_t w)
{
	uint32_t rem = s->nelems - w * 64;
	return rem >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << rem) - 1);
}

/* ---------------------------------------------------------------- bitmap */
/* bitmap.c: the 4 planes of each span, out of band. */
MEM_HIDDEN void gort_bitmap_init_span(span_t *s);
MEM_HIDDEN uint32_t gort_bitmap_count(const span_t *s, unsigned plane);
/* Live objects: ALLOC and not FREED. */
MEM_HIDDEN uint32_t gort_bitmap_count_live(const span_t *s);
/* Owner only: fold word w's remote frees into ALLOC; returns its free slots.
 * A remote free of a slot already free is a double free: it is noted with
 * gort_note_stray, to be reported when the current call is done. */
MEM_HIDDEN uint64_t gort_bitmap_reclaim_word(const span_t *s, uint32_t w);
/* Owner only: reclaim every word; returns the number of free slots. */
MEM_HIDDEN uint32_t gort_bitmap_sweep(const span_t *s);

/* Bits set in a word. x86-64's baseline has no popcnt instruction, so the
 * compiler calls a software routine; bitmap.c picks the instruction at
 * init when the CPU has it (every x86-64 CPU since 2008 does). */
MEM_HIDDEN extern bool gort_have_popcnt;
MEM_HIDDEN uint32_t gort_popcount_hw(uint64_t x);
static inline uint32_t popcount64(uint64_t x)
{
#if defined(__x86_64__) && !defined(__POPCNT__)
	if (likely(gort_have_popcnt))
		return gort_popcount_hw(x);
#endif
	return (uint32_t)__builtin_popcountll(x);
}
MEM_HIDDEN void gort_bitmap_cpu_init(void);

static inline bool bitmap_test(const span_t *s, unsigned plane, size_t i)
{
	return (ld(&span_plane(s, plane)[i / 64]) >> (i % 64)) & 1;
}
/* Slot idx of s holds a live object: allocated, not freed by another
 * thread (inbox), not in a quarantine. FREED is loaded with acquire: a
 * remote free zeroes the slot before it sets the bit, and a caller that
 * reads a dead slot's bytes next must see them zeroed. */
static inline bool slot_live(const span_t *s, size_t idx)
{
	uint64_t bit = (uint64_t)1 << (idx % 64);
	size_t w = idx / 64;
	return (ld(&span_plane(s, GORT_PLANE_ALLOC)[w]) & bit) &&
	       !((ld_acq(&span_plane(s, GORT_PLANE_FREED)[w]) |
		  ld(&span_plane(s, GORT_PLANE_QUARANTINE)[w])) &
		 bit);
}

/* Whether no slot of s is allocated (quarantined slots are). */
static inline bool span_unused(const span_t *s)
{
	const uint64_t *a = span_plane(s, GORT_PLANE_ALLOC);
	for (uint32_t i = 0; i < s->nwords; i++)
		if (ld(&a[i]))
			return false;
	return true;
}
/* Atomically set/clear; return whether the bit was set before. */
static inline bool bitmap_set(const span_t *s, unsigned plane, size_t i)
{
	uint64_t bit = (uint64_t)1 << (i % 64);
	return __atomic_fetch_or(&span_plane(s, plane)[i / 64], bit, __ATOMIC_RELAXED) & bit;
}
static inline bool bitmap_clear(const span_t *s, unsigned plane, size_t i)
{
	uint64_t bit = (uint64_t)1 << (i % 64);
	return __atomic_fetch_and(&span_plane(s, plane)[i / 64], ~bit, __ATOMIC_RELAXED) & bit;
}

/* ----------------------------------------------------------------- arena */
/* arena.c: 64 MiB arenas, each with its spans array and bitmap, found by a
 * two-level index; grouped in ranges of contiguous arenas. */
#define ARENA_SHIFT 26
#define ARENA_BYTES ((size_t)1 << ARENA_SHIFT)
#define ARENA_PAGES (ARENA_BYTES >> PAGE_SHIFT)
/* 48-bit addresses: 22 bits of arena number, split 10 + 12. */
#define ARENA_ADDR_BITS 48
#define ARENA_L2_BITS 12
#define ARENA_L1_ENTRIES ((size_t)1 << (ARENA_ADDR_BITS - ARENA_SHIFT - ARENA_L2_BITS))
#define ARENA_L2_ENTRIES ((size_t)1 << ARENA_L2_BITS)
#define ARENA_L2_MASK (ARENA_L2_ENTRIES - 1)
/* A small span (at most 10 pages) may start in one arena and end in the
 * next: its bits are all in the first arena's bitmap, which has room past
 * its end for them. */
#define ARENA_BITMAP_SLACK ((size_t)16 * PAGE_SIZE / 16)
#define ARENA_MAX_RANGES 256
#define ARENA_MIN_BYTES ((size_t)1 << 20)

typedef struct heap_arena heap_arena_t;
/* Free pages age per chunk of 16 pages (128 KiB). */
#define CHUNK_BYTES ((size_t)128 << 10)
#define ARENA_CHUNKS (ARENA_BYTES / CHUNK_BYTES)
struct heap_arena {
	uintptr_t base;     /* ARENA_BYTES of heap pages from here */
	uintptr_t used;     /* committed up to here (atomic: free() reads it) */
	span_t **spans;     /* ARENA_PAGES entries */
	uint8_t *bitmap;    /* ARENA_BYTES / 16, plus ARENA_BITMAP_SLACK */
	heap_arena_t *next; /* every arena, in address order */
	/* Under the heap lock: free pages returned to the OS, one bit each,
	 * and when a page of each chunk last became free (ns; 0 in step mode). */
	uint64_t released[ARENA_PAGES / 64];
	uint64_t freed_at[ARENA_CHUNKS];
};

typedef struct heap_range {
	uintptr_t base, end; /* whole arenas: [base, end) in the index */
	uintptr_t used;      /* [base, used) committed */
	uintptr_t resv;      /* [end, resv) reserved ahead, not arenas yet */
} heap_range_t;
/* A range that cannot start at Go's hint reserves this many arenas of
 * address space ahead (1 GiB), since the kernel fills the space above its
 * mappings first: growing upward one arena at a time would fail there. */
#define ARENA_RANGE_AHEAD 16

 /* The index's first level (arena.c): entries are set once, atomically, and
 * stay until shutdown. */
MEM_HIDDEN extern heap_arena_t **gort_arena_l1[ARENA_L1_ENTRIES];

typedef struct arena {
	heap_arena_t *all;                   /* in address order */
	size_t narenas;
	heap_range_t range[ARENA_MAX_RANGES]; /* sorted by base */
	unsigned nranges;
	heap_range_t *cur;     /* the range that grows */
	uintptr_t base;        /* the first arena's base (the shell's arena+0x...) */
	size_t limit;          /* most bytes the heap may commit; 0 = none */
	size_t committed;      /* heap bytes committed, every range */
	size_t meta_committed; /* side-table bytes describing committed pages */
	int at_hint, try_hint;
} arena_t;

/* hint: where the first range goes if free (0: wherever the kernel says). */
MEM_HIDDEN int gort_arena_init(arena_t *a, size_t limit, uintptr_t hint);
MEM_HIDDEN void gort_arena_destroy(arena_t *a);
/* Commit at least `npages` more pages (with their side tables) at the top
 * of the growing range, reserving arenas as needed; the base of the new
 * pages (*got of them), or 0 at the limit or when the OS refuses. Heap lock
 * held. */
MEM_HIDDEN uintptr_t gort_arena_grow(arena_t *a, size_t npages, size_t *got);
/* The range whose committed part holds p, or NULL. */
MEM_HIDDEN heap_range_t *gort_arena_range_of(arena_t *a, uintptr_t p);
/* The base of the first committed range at or above p, or 0. */
MEM_HIDDEN uintptr_t gort_arena_next_range(const arena_t *a, uintptr_t p);

/* The arena holding address p, or NULL: two loads, no lock. */
static inline heap_arena_t *gort_arena_of(uintptr_t p)
{
	uintptr_t i = p >> ARENA_SHIFT;
	if (i >> (ARENA_ADDR_BITS - ARENA_SHIFT))
		return NULL;
	heap_arena_t **l2 = ld_acq(&gort_arena_l1[i >> ARENA_L2_BITS]);
	return l2 ? ld_acq(&l2[i & ARENA_L2_MASK]) : NULL;
}

/* The spans-array entry of a committed page, or NULL for any other address. */
static inline span_t *arena_span_entry(uintptr_t p)
{
	heap_arena_t *h = gort_arena_of(p);
	if (!h || p >= ld(&h->used))
		return NULL;
	return ld(&h->spans[(p - h->base) >> PAGE_SHIFT]);
}
/* Its slot in the spans array (p committed). */
static inline span_t **arena_span_slot(uintptr_t p)
{
	heap_arena_t *h = gort_arena_of(p);
	return &h->spans[(p - h->base) >> PAGE_SHIFT];
}
/* Whether p is in a committed page of the heap. */
static inline bool arena_committed(uintptr_t p)
{
	heap_arena_t *h = gort_arena_of(p);
	return h && p < ld(&h->used);
}
static inline uint64_t *arena_bits_of(uintptr_t span_base)
{
	heap_arena_t *h = gort_arena_of(span_base);
	return (uint64_t *)(h->bitmap + (span_base - h->base) / 16);
}

/* -------------------------------------------------------------- fixalloc */
/* fixalloc.c: fixed-size metadata objects from mmap'd chunks, off the heap. */
typedef struct fixalloc {
	size_t size;
	void *free;       /* free list through the objects (metadata, never heap) */
	char *chunk;      /* current chunk and what is left of it */
	size_t left;
	void *chunks;     /* all chunks, for shutdown */
	size_t inuse, sys;
} fixalloc_t;
MEM_HIDDEN void gort_fixalloc_init(fixalloc_t *f, size_t size);
MEM_HIDDEN void *gort_fixalloc_alloc(fixalloc_t *f); /* zeroed; NULL if the OS refuses */
MEM_HIDDEN void gort_fixalloc_free(fixalloc_t *f, void *p);
MEM_HIDDEN void gort_fixalloc_destroy(fixalloc_t *f);

/* ------------------------------------------------------------------ heap */
typedef struct span_list_head {
	span_t *first, *last;
	uint32_t n;
} span_list_t;

typedef struct heap {
	gort_lock_t lock;
	span_list_t free[HEAP_BUCKETS]; /* free[n]: runs of n pages; free[0]: longer runs */
	uint64_t nonempty[HEAP_BUCKETS / 64];
	size_t pages_inuse, pages_free, pages_released;
	uint64_t large_allocs, large_frees, large_bytes_alloc, large_bytes_freed;
	uint64_t num_released;
	int scavenge;         /* the background scavenger (threaded use); off in step mode */
	fixalloc_t spanalloc; /* span structures */
	fixalloc_t tinyalloc; /* tiny masks: 512 x uint64_t per tiny span */
	uint64_t rng;         /* guard lengths (paranoid), from the canary secret */
} heap_t;

/* Allocate a run of npages aligned to align_pages pages for span class sc,
 * followed by `guard` guard pages (part of the span); NULL with errno ENOMEM
 * when the arena is exhausted. */
MEM_HIDDEN span_t *gort_heap_alloc_span(size_t npages, size_t align_pages, unsigned sc,
					unsigned guard);
/* Give an in-use span's pages back; coalesces with free neighbours. A large
 * object's free is counted in the same locked section, as its allocation
 * is in gort_heap_alloc_span's: one trip to the heap lock each. */
MEM_HIDDEN void gort_heap_free_span(span_t *s);
/* Take free run s out of its bucket (list NONE). Heap lock held. */
MEM_HIDDEN void gort_heap_bucket_remove(span_t *s);
/* File s (state FREE, counted in pages_free) as a free run, merged with
 * its free neighbours. Heap lock held. */
MEM_HIDDEN void gort_heap_insert_free(span_t *s);
/* The released bits of npages pages from base: counted, then left as they
 * are, set or cleared. Returns how many were set before. Heap lock held. */
enum { BITS_COUNT, BITS_SET, BITS_CLEAR };
MEM_HIDDEN size_t gort_heap_released_bits(uintptr_t base, size_t npages, int op);

/* scavenge.c. Release the free pages whose chunks have been idle since
 * before idle_before ns (UINT64_MAX: every free page), at most `budget`
 * bytes; the bytes released. No lock held on entry; no system call is
 * made under the heap lock. */
MEM_HIDDEN size_t gort_heap_scavenge(uint64_t idle_before, size_t budget);
/* Threaded use: start the background scavenger once (in this process),
 * when the heap first has SCAVENGER_HEAP_BYTES committed: a smaller heap has
 * little to give back, and a program's start-up runs without a thread. */
#define SCAVENGER_HEAP_BYTES ((size_t)8 << 20)
MEM_HIDDEN void gort_scavenger_start(void);
MEM_HIDDEN void gort_scavenger_stop(void);
/* gort_check: hold the scavenger off while the heap is looked at. */
MEM_HIDDEN void gort_scavenge_lock(void);
MEM_HIDDEN void gort_scavenge_unlock(void);
/* An allocation is about to fail: give back what quarantines and centrals
 * hold, so that only a heap really full says ENOMEM. No lock held. */
MEM_HIDDEN void gort_mem_reclaim_for_retry(void);
MEM_HIDDEN void gort_heap_init(int scavenge);
/* The span or run starting at *p, advancing *p past it; NULL at the end of
 * the committed arena or at a page no span claims (corruption). Heap lock held. */
MEM_HIDDEN span_t *gort_heap_span_at(uintptr_t *p);
/* Every span and run of the committed arena, in address order. */
#define FOR_EACH_SPAN(s)                                                                   \
	for (uintptr_t p_ = gort_mem.arena.range[0].base, *pp_ = &p_; pp_; pp_ = NULL)     \
		for (span_t *s; (s = gort_heap_span_at(&p_)) != NULL;)
MEM_HIDDEN void gort_heap_destroy(void);

/* --------------------------------------------------------------- central */
typedef struct central {
	gort_lock_t lock;
	span_t *partial; /* circular doubly-linked lists */
	span_t *full;
	span_t *empty;   /* no live object: the next to reuse or give back */
	uint32_t npartial, nfull, ncached, nempty;
} __attribute__((aligned(64))) central_t;

/* A span of class sc with at least one free slot, owned by cache `cache_id`. */
MEM_HIDDEN span_t *gort_central_cache_span(unsigned sc, int cache_id);
/* The cache is done with s: file it as full, partial, or give it back. */
MEM_HIDDEN void gort_central_uncache_span(span_t *s);
/* A free found s flagged full: move it to partial. */
MEM_HIDDEN void gort_central_note_free(span_t *s);
/* A remote free's count reached s's watch target: if s is a central span
 * with no live object left, it moves to its class's empty list now. */
MEM_HIDDEN void gort_central_note_empty(span_t *s);
/* The remote free of one object of s (FREED bit set): count it on s's watch. */
static inline void central_watch_free(span_t *s)
{
	/* After the FREED bit's OR (both sequentially consistent): a span
	 * filed after this load had the bit swept into its live count. */
	if (__atomic_load_n(&s->cache_id, __ATOMIC_SEQ_CST) != -1)
		return;
	uint64_t old = __atomic_fetch_add(&s->watch, 1, __ATOMIC_SEQ_CST);
	uint32_t target = (uint32_t)(old >> 32);
	if (unlikely(target && (uint32_t)old + 1 >= target))
		gort_central_note_empty(s);
}
/* Give every span with no objects back to the heap; bytes returned. */
MEM_HIDDEN size_t gort_central_reclaim_all(void);
/* Give the spans of the empty lists that emptied before `emptied_before`
 * (ns; UINT64_MAX: all) back to the heap; pages given. No lock held. */
MEM_HIDDEN size_t gort_central_release_empty(uint64_t emptied_before);
MEM_HIDDEN void gort_central_init(void);

/* ----------------------------------------------------------------- cache */
typedef struct cache cache_t;
/* Spans a cache keeps besides its current one, per class: frees into them
 * by the cache's thread stay local (no locked instruction). A free by the
 * owner that gives a used-up span a slot moves it to the ready list, and
 * one that empties a span to the empty list, so the next current span is
 * found without a search; when none is ready or empty, the
 * CACHE_OWNED_SCAN oldest used-up ones are swept for other threads' frees.
 * A class keeps up to CACHE_OWNED_BYTES of spans (at least CACHE_OWNED_MIN)
 * and CACHE_EMPTY_KEEP empty ones; past that the oldest go back to mcentral
 * (an empty one on to the heap). Larson-style servers, whose threads free
 * objects scattered over many spans, need the room: with a few spans per
 * class most of their frees were remote. */
#define CACHE_OWNED_BYTES ((size_t)1 << 20)
#define CACHE_OWNED_MIN 4
#define CACHE_OWNED_SCAN 4
#define CACHE_EMPTY_KEEP 1
typedef struct owned_list {
	span_t *head; /* circular through next/prev, oldest first */
	uint16_t n;
} owned_list_t;

/* Light: per class, a stack of slots the cache's thread freed last in spans
 * it owns, handed out again before the bitmap is (recent.c). */
#define RECENT_SLOTS 16
/* A class holds at most this many bytes in its stack: fewer slots of the
 * big classes, none above 8 KiB (a stack of one slot could never hand it
 * out, recent_pop), so a thread's stacks pin little memory and few spans
 * that a large allocation might need. */
#define RECENT_BYTES ((size_t)16 << 10)
typedef struct recent_slot {
	uintptr_t p;
	span_t *s;
} recent_slot_t;

struct cache {
	span_t *alloc[NUM_SPAN_CLASSES]; /* &gort_empty_span when none */
	/* The recent stacks: recent_n read by gort_check, like qlen. */
	uint8_t recent_n[NUM_SPAN_CLASSES];
	uint8_t recent_cap[NUM_SPAN_CLASSES]; /* 0: no stack (hardened, tiny, large) */
	owned_list_t ready[NUM_SPAN_CLASSES]; /* owned spans with a free slot */
	owned_list_t full[NUM_SPAN_CLASSES];  /* owned spans that ran out */
	owned_list_t empty[NUM_SPAN_CLASSES]; /* owned spans with no object */
	uintptr_t tiny;                  /* current tiny block */
	uintptr_t last_quar;             /* the slot it quarantined last (malloc.c) */
	uint32_t tiny_offset;
	/* The arena the owner's frees fell in last (cache_span_slot): its
	 * base, spans array, and committed bytes then (they only grow). */
	uintptr_t arena_base;
	span_t **arena_spans;
	size_t arena_used;
	int32_t id;
	int32_t kind; /* 0 per-thread, 1 per-P */
	uint32_t gen;
	/* Counters: written by the owner (relaxed stores), read by stats. */
	uint64_t slot_alloc[NUM_SPAN_CLASSES];
	uint64_t slot_free[NUM_SPAN_CLASSES];
	uint64_t tiny_alloc, tiny_free; /* tiny sub-objects */
	uint64_t large_frees;           /* large objects offered to the quarantine */
	uint64_t fence_next; /* calls after which its next large free is fenced */
	/* Quarantine (quarantine.c): a ring of gort_hard->quarantine freed
	 * slots per class, mapped on first use; qlen is read by stats. */
	uintptr_t *quar;
	size_t quar_bytes;
	uint16_t qhead[NUM_SPAN_CLASSES], qlen[NUM_SPAN_CLASSES];
	uint64_t qobjects, qbytes; /* the sums of qlen and their slot bytes */
	uint64_t rng; /* slot randomisation (paranoid) */
	cache_t *next_all;  /* registry of every cache */
	cache_t *next_idle; /* caches of exited threads, ready for reuse */
	int in_use;
	recent_slot_t recent[NUM_SPAN_CLASSES][RECENT_SLOTS];
};

MEM_HIDDEN extern span_t gort_empty_span;
/* The owner's frees fall in the same arena again and again: the common
 * free tries the arena it found last (arena_base, ...) before the index.
 * Makes the committed arena holding p, if any, that arena. */
MEM_HIDDEN void gort_cache_note_arena(cache_t *c, uintptr_t p);
/* The spans-array entry of p if it lies in c's last arena, else NULL. */
static inline span_t **cache_span_slot(const cache_t *c, uintptr_t p)
{
	uintptr_t off = p - c->arena_base;
	return likely(off < c->arena_used) ? &c->arena_spans[off >> PAGE_SHIFT] : NULL;
}
MEM_HIDDEN void gort_cache_span_freed(cache_t *c, span_t *s, bool word_empty);
/* Spans of class sc that c keeps besides its current one. */
static inline unsigned cache_owned(const cache_t *c, unsigned sc)
{
	return (unsigned)c->ready[sc].n + c->full[sc].n + c->empty[sc].n;
}
/* Spans class sc may keep besides its current one (CACHE_OWNED_BYTES). */
static inline unsigned cache_owned_cap(unsigned sc)
{
	size_t pages = sc == LARGE_SPAN_CLASS ? 0 : gort_sc_npages[spanclass_sizeclass(sc)];
	size_t cap = pages ? CACHE_OWNED_BYTES / (pages << PAGE_SHIFT) : 0;
	return cap < CACHE_OWNED_MIN ? CACHE_OWNED_MIN : (unsigned)cap;
}
/* After the owner's free of a slot of s, which left `word_left` in its
 * ALLOC word: a used-up span is ready again, an emptied one empty. The
 * current span (NONE) stays where it is. */
static inline void cache_note_local_free(cache_t *c, span_t *s, uint64_t word_left)
{
	uint8_t where = s->cache_list;
	if (unlikely(where != CACHE_LIST_NONE) && (where == CACHE_LIST_FULL || word_left == 0))
		gort_cache_span_freed(c, s, word_left == 0);
}
MEM_HIDDEN cache_t *gort_cache_new(int kind);
MEM_HIDDEN void gort_cache_retire(cache_t *c); /* flush, then park for reuse */
MEM_HIDDEN void gort_cache_flush(cache_t *c);
/* Its empty spans back to the heap (an allocation about to fail). */
MEM_HIDDEN void gort_cache_release_empty(cache_t *c);
MEM_HIDDEN void *gort_cache_alloc_slow(cache_t *c, unsigned sc);
MEM_HIDDEN void *gort_cache_alloc_stray(cache_t *c, unsigned sc, unsigned bit);
MEM_HIDDEN void *gort_cache_alloc_tiny(cache_t *c, size_t size);
MEM_HIDDEN cache_t *gort_cache_current_slow(void);

static inline void counter_inc(uint64_t *c)
{
	st(c, ld(c) + 1);
}

/* cache_take, which with pointers >= 0 also sets the slot's POINTERS bit to
 * it while the word is at hand (the owner's plane, like ALLOC), and says so
 * in *marked. The stray path allocates again, maybe from another span, and
 * leaves the bit to the caller: *marked stays false there. */
static inline bool cache_slot_stray(const span_t *s, unsigned bit);
static inline void *cache_take_unchecked(cache_t *c, unsigned sc, span_t *s, unsigned bit,
					 int pointers, bool *marked);
static inline void *cache_take_marked(cache_t *c, unsigned sc, span_t *s, unsigned bit,
				      int pointers, bool *marked)
{
	if (unlikely(cache_slot_stray(s, bit)))
		return gort_cache_alloc_stray(c, sc, bit);
	return cache_take_unchecked(c, sc, s, bit, pointers, marked);
}

/* A FREED bit on a free slot is a second free that landed after the first
 * was folded in (bitmap.c): never hand such a slot out. */
static inline bool cache_slot_stray(const span_t *s, unsigned bit)
{
	return ld(&s->bits[s->cache_word] + s->nwords) & ((uint64_t)1 << bit);
}

/* cache_take_marked once cache_slot_stray said no. */
static inline void *cache_take_unchecked(cache_t *c, unsigned sc, span_t *s, unsigned bit,
					 int pointers, bool *marked)
{
	size_t idx = (size_t)s->cache_word * 64 + bit;
	uint64_t *alloc = &s->bits[s->cache_word];
	uint64_t mask = (uint64_t)1 << bit;
	s->alloc_cache &= ~mask;
	/* ALLOC is the owner's alone (bitmap.c): no locked instruction. */
	st(alloc, ld(alloc) | mask);
	if (pointers >= 0) {
		uint64_t *pw = alloc + (size_t)GORT_PLANE_POINTERS * s->nwords, old = ld(pw);
		if (((old & mask) != 0) != (pointers != 0))
			st(pw, old ^ mask);
		*marked = true;
	}
	if (unlikely(idx >= ld(&s->hwm)))
		st(&s->hwm, (uint32_t)idx + 1);
	counter_inc(&c->slot_alloc[sc]);
	return (void *)(s->base + idx * s->elemsize);
}

/* Hand out slot `bit` of the current word of s, the cache's current span
 * of class sc (a bit of s->alloc_cache). */
static inline void *cache_take(cache_t *c, unsigned sc, span_t *s, unsigned bit)
{
	bool marked;
	return cache_take_marked(c, sc, s, bit, -1, &marked);
}

/* The fast path: the lowest free slot of the cached span of class sc.
 * *marked: whether the slot's POINTERS bit was written (cache_take_marked);
 * only known once the slot is taken, since the slot may not be this one. */
static inline void *cache_alloc_marked(cache_t *c, unsigned sc, int pointers, bool *marked)
{
	span_t *s = c->alloc[sc];
	uint64_t free = s->alloc_cache;
	*marked = false;
	if (likely(free != 0))
		return cache_take_marked(c, sc, s, (unsigned)__builtin_ctzll(free), pointers,
					 marked);
	return gort_cache_alloc_slow(c, sc);
}

static inline void *cache_alloc(cache_t *c, unsigned sc)
{
	bool marked;
	return cache_alloc_marked(c, sc, -1, &marked);
}

/* ---------------------------------------------------------------- recent */
/* recent.c. Light: the owner's free of a live slot of a span it owns pushes
 * the slot on its class's stack instead of clearing ALLOC. The slot keeps
 * ALLOC and gets QUARANTINE, so it is not live and a second free of it,
 * from any thread, is a double free. Its span stays with the cache: before
 * the cache gives spans of a class back it frees the class's stack. An allocation of the class
 * takes the slot just below the top, still in the CPU's cache: the top one,
 * freed last, waits for the next free, so free(p); q = malloc(n); free(p)
 * is caught as it was with the bitmap alone, whose current word never holds
 * a slot freed since it was loaded. It is taken only where the bitmap would
 * have gone on to another word. A slot counts as freed while it waits. */

/* Push p, slot of s whose QUARANTINE word is qw and bit `bit`, which the
 * caller found live; false when the stack is full (or class sc has none):
 * the caller frees the slot to the bitmap. A batch of frees costs no more
 * than the bitmap's, and the stack keeps slots the next allocations take. */
static inline bool recent_push(cache_t *c, unsigned sc, span_t *s, uint64_t *qw, uint64_t bit,
			       uintptr_t p)
{
	unsigned n = c->recent_n[sc];
	if (unlikely(n >= c->recent_cap[sc]))
		return false;
	c->recent[sc][n] = (recent_slot_t){p, s};
	st(&c->recent_n[sc], (uint8_t)(n + 1));
	st(qw, ld(qw) | bit);
	counter_inc(&c->slot_free[sc]);
	return true;
}

/* A racing double free left a FREED bit on a slot in a stack: cleared,
 * noted and reported (gort_report_pending), the slot left where it is. */
MEM_HIDDEN void gort_recent_stray(span_t *s, size_t idx);

/* Take a slot off class sc's stack: the one below the top (2 or more held)
 * or, with `top`, the top one (1 or more). Its POINTERS bit is set as
 * cache_take_marked sets it; *sp gets its span. NULL when a racing free
 * left the slot's FREED bit (reported with `report`, else left for a
 * caller that will pop again with it): the caller allocates again. */
static inline __attribute__((always_inline)) void *recent_pop(cache_t *c, unsigned sc,
							      bool pointers, bool top,
							      bool report, span_t **sp)
{
	unsigned n = c->recent_n[sc] - 1u;
	recent_slot_t *last = &c->recent[sc][n], *at = top ? last : last - 1;
	recent_slot_t e = *at;
	span_t *s = e.s;
	size_t idx = sc_index_of(sc, e.p - s->base), nw = s->nwords;
	uint64_t bit = (uint64_t)1 << (idx % 64);
	uint64_t *alloc = &s->bits[idx / 64];
	if (unlikely(ld(alloc + (size_t)GORT_PLANE_FREED * nw) & bit)) {
		if (report)
			gort_recent_stray(s, idx);
		return NULL;
	}
	*at = *last;
	st(&c->recent_n[sc], (uint8_t)n);
	uint64_t *qw = alloc + (size_t)GORT_PLANE_QUARANTINE * nw;
	st(qw, ld(qw) & ~bit);
	uint64_t *pw = alloc + (size_t)GORT_PLANE_POINTERS * nw, old = ld(pw);
	if (((old & bit) != 0) != pointers)
		st(pw, old ^ bit);
	counter_inc(&c->slot_alloc[sc]);
	*sp = s;
	return (void *)e.p;
}

/* Free for real every slot class sc's stack holds (each counted freed
 * already), or every class's. */
MEM_HIDDEN void gort_recent_drain(cache_t *c, unsigned sc);
MEM_HIDDEN void gort_recent_drain_all(cache_t *c);
/* The stack size of class sc in a new cache under the current preset. */
MEM_HIDDEN uint8_t gort_recent_cap(unsigned sc);

/* Paranoid: a random free slot of the current word. */
MEM_HIDDEN void *gort_cache_alloc_random(cache_t *c, unsigned sc);

/* ------------------------------------------------------------ quarantine */
/* quarantine.c. A live small object at p (slot idx of s, a span c owns)
 * goes into c's ring for its class, its bytes zeroed and its QUARANTINE bit
 * set; the oldest entry past the ring's length is freed for real. */
MEM_HIDDEN void gort_quarantine_small(cache_t *c, span_t *s, size_t idx, uintptr_t p);
/* Free everything c holds in quarantine. */
MEM_HIDDEN void gort_quarantine_drain(cache_t *c);
/* A large object freed by operation op: it waits in the large quarantine,
 * fenced (its pages fault) or with its head zeroed; false if it cannot (no
 * quarantine, too big, or the OS refused the fence). */
MEM_HIDDEN bool gort_quarantine_large(span_t *s, const char *op);
/* Every large span held goes back to the heap now (op: the call that asks). */
MEM_HIDDEN void gort_quarantine_drain_large(const char *op);
/* Default: one fence per this many allocator calls of a thread at most. */
#define LQUAR_FENCE_EVERY 4096
#define LQUAR_MAX_BYTES ((size_t)256 << 20)   /* paranoid: pages dropped */
#define LQUAR_DEFAULT_BYTES ((size_t)64 << 20) /* default: pages kept */
#define LQUAR_DEFAULT_OBJECT ((size_t)4 << 20) /* default: bigger ones go straight back */
#define LQUAR_MAX_OBJECT ((size_t)64 << 20)
/* Objects and bytes held, for gort_memstats (caches registry lock held). */
MEM_HIDDEN void gort_quarantine_stats(uint64_t *objects, uint64_t *bytes);
/* Entries held by the rings and the large FIFO, each checked to carry its
 * QUARANTINE bit; (uint64_t)-1 with *bad set if one does not. Locks held. */
MEM_HIDDEN uint64_t gort_quarantine_entries(uintptr_t *bad);
/* An unfenced large object in quarantine whose head was written, or 0.
 * Locks held. */
MEM_HIDDEN uintptr_t gort_quarantine_large_written(void);
MEM_HIDDEN void gort_quarantine_init(void);

/* A call that frees nothing (usable_size) names what free would call a
 * double free a use after free, and an invalid free an invalid pointer. */
static inline gort_error_kind gort_kind_for_op(gort_error_kind kind, const char *op)
{
	bool frees = !op || !strstr(op, "usable_size");
	if (!frees && kind == GORT_ERR_DOUBLE_FREE)
		return GORT_ERR_USE_AFTER_FREE;
	if (!frees && kind == GORT_ERR_INVALID_FREE)
		return GORT_ERR_INVALID_POINTER;
	return kind;
}

/* malloc.c, for the drop-in: the checked calls under the caller's name,
 * and C++'s allocation families (GORT_FAMILY_*, known with canaries). */
MEM_HIDDEN size_t gort_usable_size_as(const void *p, const char *op);
/* Frees p, which `family` must have allocated; size, when not 0, must be
 * the size it was allocated with (sized delete). */
MEM_HIDDEN void gort_dealloc(void *p, unsigned family, size_t size, const char *op);
/* bounds.c: reports a write of n bytes at dst that leaves the live heap
 * object it starts in, or lands in a freed one (canary presets). */
MEM_HIDDEN void gort_check_write(const void *dst, size_t n, const char *op);
/* Records that p, just allocated, came from operator new or new[]. */
MEM_HIDDEN void gort_set_family(void *p, unsigned family);

/* zero.c: zero-size objects, unique addresses in a PROT_NONE region. */
MEM_HIDDEN void gort_zero_init(bool on);
MEM_HIDDEN void gort_zero_shutdown(void);
MEM_HIDDEN bool gort_zero_contains(uintptr_t p);
/* A fresh zero-size object, or NULL (light, or the region is used up). */
MEM_HIDDEN void *gort_zero_alloc(void);
/* Frees the zero-size object at p (reporting if it is not a live one). */
MEM_HIDDEN void gort_zero_free(uintptr_t p, const char *op);
/* Whether p is a live zero-size object; reports if not. */
MEM_HIDDEN bool gort_zero_live(uintptr_t p, const char *op);
/* Zero-size objects handed out and freed, for gort_memstats. */
MEM_HIDDEN void gort_zero_counts(uint64_t *mallocs, uint64_t *frees);
MEM_HIDDEN void gort_quarantine_shutdown(void);

/* ------------------------------------------------------------- the world */
typedef struct mem_runtime {
	int state; /* 0 none, 2 ready (atomic) */
	uint32_t gen; /* changes at every init and shutdown (atomic) */
	/* Everything from here on is reset by each init. */
	arena_t arena;
	heap_t heap;
	central_t central[NUM_SPAN_CLASSES];
	gort_lock_t caches_lock;
	cache_t *all_caches, *idle_caches;
	int ncaches;
	fixalloc_t cachealloc;
	uint64_t stray_frees[NUM_SPAN_CLASSES]; /* frees counted twice (atomic) */
	pthread_key_t cache_key;
	int key_made;
	int threaded; /* as in gort_config: 0 = step mode */
	/* Freed large spans held inaccessible (quarantine.c), under heap.lock. */
	span_t **lquar;
	uint32_t lqhead, lqlen;
	size_t lqbytes;
} mem_runtime_t;

/* The layer above reports its own memory into gort_memstats through this
 * hook (mem cannot call up into sched). NULL when there is none. */
typedef void gort_stack_stats_fn(uint64_t *inuse, uint64_t *sys);
MEM_HIDDEN extern gort_stack_stats_fn *gort_mem_stack_stats;
/* ...and names the running goroutine for error reports (0 outside one). */
typedef int64_t gort_goid_fn(void);
MEM_HIDDEN extern gort_goid_fn *gort_mem_current_goid;

MEM_HIDDEN extern mem_runtime_t gort_mem;

MEM_HIDDEN int gort_mem_init(const gort_config *cfg);
MEM_HIDDEN void gort_mem_shutdown(void);
MEM_HIDDEN int gort_mem_ensure_init(void);
/* Every allocator lock, taken in the lock order (init.c states it once):
 * the whole allocator at rest, for gort_check, the snapshots and fork. */
MEM_HIDDEN void gort_mem_lock_all(void);
MEM_HIDDEN void gort_mem_unlock_all(void);

/* The calling thread's cache, creating it on first use. NULL only if the
 * runtime cannot initialise. */
MEM_HIDDEN extern __thread cache_t *gort_tls_cache __attribute__((tls_model("initial-exec")));
MEM_HIDDEN extern __thread uint32_t gort_tls_gen __attribute__((tls_model("initial-exec")));
/* Make c the calling thread's cache and return the previous one: the
 * scheduler runs each G with its P's cache. */
static inline cache_t *gort_cache_swap(cache_t *c)
{
	cache_t *old = gort_tls_cache;
	gort_tls_cache = c;
	gort_tls_gen = ld(&gort_mem.gen);
	return old;
}

static inline cache_t *cache_current(void)
{
	cache_t *c = gort_tls_cache;
	if (likely(c != NULL && gort_tls_gen == ld(&gort_mem.gen)))
		return c;
	return gort_cache_current_slow();
}

/* ----------------------------------------------------------------- check */
/* check.c: the one error reporter. Formats without allocating. */
MEM_HIDDEN void gort_report(gort_error_kind kind, const char *op, uintptr_t addr,
			    const char *detail);
/* A double free found late (two threads freed one object at once): found
 * deep inside the allocator, where a handler must not run, so it is noted
 * (and taken out of the free counts) and reported by gort_report_pending()
 * once the call that found it has put everything in order. */
typedef struct stray {
	uintptr_t addr, span;
	unsigned spanclass;
	gort_error_kind kind; /* DOUBLE_FREE, or USE_AFTER_FREE (gort_note_dirty) */
	size_t off;           /* USE_AFTER_FREE: the first written byte */
} stray_t;
MEM_HIDDEN extern __thread stray_t gort_tls_stray __attribute__((tls_model("initial-exec")));
MEM_HIDDEN void gort_note_stray(unsigned spanclass, uintptr_t span_base, uintptr_t addr,
				unsigned n);
/* zero_check: a span going back to the heap holds a byte written after its
 * slot was freed: noted like a stray, reported by gort_report_pending(). */
MEM_HIDDEN void gort_note_dirty(unsigned spanclass, uintptr_t span_base, uintptr_t slot,
				size_t off);
MEM_HIDDEN void gort_report_pending_slow(void);
static inline void gort_report_pending(void)
{
	if (unlikely(gort_tls_stray.addr != 0))
		gort_report_pending_slow();
}
/* Formats "class C, span 0x..., slot N" style details into buf. */
MEM_HIDDEN const char *gort_detail_span(char *buf, size_t n, const span_t *s, const char *extra);

/* A tiny, allocation-free formatter for messages. */
typedef struct strbuf {
	char *buf;
	size_t cap, len;
} strbuf_t;
MEM_HIDDEN void gort_sb_str(strbuf_t *b, const char *s);
MEM_HIDDEN void gort_sb_hex(strbuf_t *b, uintptr_t v);
MEM_HIDDEN void gort_sb_dec(strbuf_t *b, uint64_t v);
MEM_HIDDEN const char *gort_sb_done(strbuf_t *b);

/* -------------------------------------------------------------- internal */
/* The per-span part of gort_check, cheap enough to run after every
 * operation: debug builds (GORT_DEBUG) call it on each span they touch. */
MEM_HIDDEN void gort_span_check(const span_t *s);
/* gort_check's allocator half: 0, or -1 after reporting. */
MEM_HIDDEN int gort_mem_check(void);
MEM_HIDDEN int gort_mem_check_at(uintptr_t addr);
/* livecheck.c: every live object's canary; 0, or -1 after reporting the
 * first damaged one as a heap overflow found by `op`. */
MEM_HIDDEN int gort_mem_check_canaries(const char *op);
/* "[requested N B, ]canary at +OFF damaged" into buf (malloc.c); request
 * (size_t)-1 when unknown. */
MEM_HIDDEN const char *gort_overflow_detail(char *buf, size_t n, size_t request, size_t bad);
#ifdef GORT_DEBUG
#define DEBUG_CHECK_SPAN(s) gort_span_check(s)
#else
#define DEBUG_CHECK_SPAN(s) ((void)0)
#endif
/* The real free of a small slot, as seen from cache c (local if c owns s). */
MEM_HIDDEN void gort_free_small(cache_t *c, span_t *s, uintptr_t p, const char *op);
MEM_HIDDEN void gort_span_init_inuse(span_t *s, unsigned sc);

/* The in-use span holding p, or NULL. */
/* Unlocked: a span found here is in use unless the program races a free
 * of this very object (a double free); then the struct may be recycled
 * under us. It is never unmapped, and the fields read on this path are
 * written atomically, so the worst case is a report about the wrong kind. */
static inline span_t *gort_span_lookup(uintptr_t p)
{
	span_t *s = arena_span_entry(p);
	if (!s || ld_acq(&s->state) != SPAN_INUSE)
		return NULL;
	uintptr_t base = ld(&s->base);
	if (p < base || p - base >= (ld(&s->npages) << PAGE_SHIFT))
		return NULL;
	return s;
}

#endif /* GORT_MEM_MEM_H */
