/*
 * gort_inspect.h — read-only views of gort's internals for the shell, the
 * fuzzers and tests.
 *
 * Every function copies a consistent snapshot into memory the caller provides
 * and returns how many items exist (which may exceed `max`: call again with a
 * larger buffer). Snapshots take the allocator's locks for the time of the
 * copy, so they are consistent with each other in step mode and consistent
 * per structure in threaded mode. Nothing here allocates from the gort heap,
 * so inspecting does not change what is inspected.
 */
#ifndef GORT_INSPECT_H
#define GORT_INSPECT_H

#include "gort.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	GORT_PAGE_SIZE = 8192,
	GORT_NUM_SIZE_CLASSES = 68, /* class 0 = large objects */
	GORT_TINY_SPAN_CLASS = 68,  /* the span class of 16-byte tiny blocks */
	GORT_NUM_SPAN_CLASSES = 69,
	GORT_MAX_SMALL_SIZE = 32768,
	GORT_TINY_SIZE = 16,
	GORT_BITMAP_PLANES = 4,
};

/* The four bits each object has in the out-of-band bitmap. */
enum gort_plane {
	GORT_PLANE_ALLOC = 0,    /* slot handed out and not yet freed */
	GORT_PLANE_FREED = 1,    /* freed by another thread, not yet folded in by the owner */
	GORT_PLANE_QUARANTINE = 2, /* freed into a quarantine: still holds its slot, not reusable */
	GORT_PLANE_POINTERS = 3, /* allocated without GORT_NOSCAN: may hold pointers */
};

/* --------------------------------------------------------- size classes */
typedef struct gort_sizeclass_info {
	unsigned cls;
	uint32_t size;   /* bytes per object */
	uint32_t npages; /* pages per span */
	uint32_t nelems; /* objects per span */
	uint32_t tail_waste;
	uint32_t divmagic; /* n / size == (n * divmagic) >> 32 */
} gort_sizeclass_info;
/* 68 rows, class 0 first (a dummy with size 0). */
GORT_API size_t gort_inspect_sizeclasses(gort_sizeclass_info *out, size_t max);
/* The class a request of `size` bytes lands in; 0 for a large object. */
GORT_API unsigned gort_size_to_class(size_t size);

/* ---------------------------------------------------------------- arena */
typedef struct gort_arena_info {
	/* The heap grows in arenas of GORT_ARENA_BYTES (64 MiB), each with its
	 * own spans array and bitmap, grouped in ranges of contiguous arenas.
	 * The fields below describe the first range (at Go's hint
	 * 0xc000000000 when it was free); gort_inspect_arenas lists them all. */
	uintptr_t reserved_base; /* the first arena's side tables: [spans | guard | bitmap] */
	size_t reserved_bytes;
	uintptr_t spans_base; /* the first arena's spans array: one pointer per page */
	size_t spans_bytes;
	uintptr_t bitmap_base; /* its bitmap: 4 bits per 8-byte granule */
	size_t bitmap_bytes;
	uintptr_t arena_base; /* where the first range starts */
	size_t arena_bytes;   /* how far the heap may grow from there: the heap limit
				 when one is set, else the bytes reserved so far */
	uintptr_t arena_used; /* end of the committed part of the first range */
	int at_hint;          /* 1 if the first arena landed at Go's hint address */
	size_t heap_limit;    /* gort_config.arena_bytes or GORT_HEAP_LIMIT; 0 = none */
	size_t heap_reserved; /* address space reserved: every arena, and room ahead */
	size_t heap_committed; /* committed bytes of every range */
	uint32_t narenas;
	uint32_t nranges;
} gort_arena_info;
GORT_API void gort_inspect_arena(gort_arena_info *out);

#define GORT_ARENA_BYTES ((size_t)64 << 20)
typedef struct gort_heap_arena_info {
	uintptr_t base;      /* GORT_ARENA_BYTES of heap address space */
	uintptr_t used;      /* committed up to here */
	uintptr_t spans_base; /* its spans array and bitmap, outside the heap */
	uintptr_t bitmap_base;
	uint32_t range;      /* which range of contiguous arenas it belongs to */
} gort_heap_arena_info;
/* Every arena in address order; returns how many there are. */
GORT_API size_t gort_inspect_arenas(gort_heap_arena_info *out, size_t max);

/* One cell per page of the committed arena. */
enum gort_page_state {
	GORT_PAGE_UNUSED = 0,   /* reserved, never committed */
	GORT_PAGE_FREE = 1,     /* in a free run, backed by memory */
	GORT_PAGE_RELEASED = 2, /* in a free run, returned to the OS */
	GORT_PAGE_SMALL = 3,    /* in a span of small objects */
	GORT_PAGE_LARGE = 4,    /* in a span holding one large object */
	GORT_PAGE_TINY = 5,     /* in a span of tiny blocks */
};
typedef struct gort_page_info {
	uint8_t state;        /* enum gort_page_state */
	uint8_t span_class;   /* for small/tiny spans */
	uint8_t first;        /* 1 on the first page of its span or run */
	uint8_t pad;
	uint32_t span_index;  /* index of its span in gort_inspect_spans() order, or UINT32_MAX */
} gort_page_info;
/* Pages from `addr` (rounded down to a page) for at most `max` pages; returns
 * the number of pages from addr to the end of the committed arena. */
GORT_API size_t gort_inspect_pages(uintptr_t addr, gort_page_info *out, size_t max);

/* ---------------------------------------------------------------- spans */
enum gort_span_state {
	GORT_SPAN_FREE = 0,   /* a free page run in the heap */
	GORT_SPAN_INUSE = 1,  /* holds objects */
};
enum gort_span_owner {
	GORT_OWNER_HEAP = 0,    /* free run */
	GORT_OWNER_CENTRAL = 1, /* on an mcentral list */
	GORT_OWNER_CACHE = 2,   /* cached by an mcache */
	GORT_OWNER_LARGE = 3,   /* a large object, owned by the program */
};
typedef struct gort_span_info {
	uintptr_t base;
	uint32_t npages;
	uint8_t state;      /* enum gort_span_state */
	uint8_t owner;      /* enum gort_span_owner */
	uint8_t span_class; /* 0 = large; GORT_TINY_SPAN_CLASS = tiny blocks */
	uint8_t released;   /* free run, every page returned to the OS */
	uint32_t elemsize;
	uint32_t nelems;
	uint32_t nalloc;    /* slots with the ALLOC bit set */
	uint32_t nfreed;    /* slots with the FREED bit set (freed by another thread) */
	int32_t cache_id;   /* the mcache holding it, or -1 */
	uint16_t guard_pages; /* its last pages are guard pages (paranoid) */
	uint16_t nquarantined; /* slots with the QUARANTINE bit set */
	size_t request;     /* large objects: the bytes asked for */
	uint32_t released_pages; /* free run: pages returned to the OS */
} gort_span_info;
/* Every span and free run in address order. */
GORT_API size_t gort_inspect_spans(gort_span_info *out, size_t max);
/* The span holding `addr`, 0 if found, -1 if addr is not in an in-use span. */
GORT_API int gort_inspect_span_of(uintptr_t addr, gort_span_info *out);

/* A span's bitmap planes: planes[p] holds nwords 64-bit words, slot i at bit
 * i%64 of word i/64. `words` must hold 4 * ceil(nelems/64) words; returns the
 * number of words per plane (0 if addr is not in an in-use span). */
GORT_API size_t gort_inspect_bitmap(uintptr_t addr, uint64_t *words, size_t max_words);

/* Tiny spans: per 16-byte block, a mask of the offsets where a live
 * sub-object starts (bit i = offset i). Returns the number of blocks. */
GORT_API size_t gort_inspect_tiny(uintptr_t addr, uint16_t *live, size_t max);

/* Where a pointer lands: class, span, slot, and whether it is live. */
typedef struct gort_object_info {
	uintptr_t addr;
	uintptr_t base;      /* start of the object (slot) holding addr */
	uintptr_t span_base;
	unsigned span_class;
	unsigned size_class;
	size_t slot;
	size_t elemsize;
	uint8_t bits;        /* the slot's 4 bitmap bits, bit p = plane p */
	uint8_t tiny;        /* in a tiny block */
	uint16_t tiny_live;  /* the block's live offsets */
} gort_object_info;
/* 0 and fills out if addr is inside an in-use span, -1 otherwise. */
GORT_API int gort_inspect_object(const void *addr, gort_object_info *out);

/* --------------------------------------------------------------- caches */
typedef struct gort_cache_info {
	int32_t id;
	int32_t kind;     /* 0 = per-thread, 1 = per-P */
	uintptr_t tiny;   /* current tiny block, 0 if none */
	uint32_t tiny_offset;
	uint32_t nspans;  /* spans it holds: current ones and the owned ones behind them */
	uintptr_t spans[GORT_NUM_SPAN_CLASSES]; /* current span base per class, 0 if none */
	uint64_t mallocs, frees;
} gort_cache_info;
GORT_API size_t gort_inspect_caches(gort_cache_info *out, size_t max);

/* -------------------------------------------------------------- central */
typedef struct gort_central_info {
	unsigned span_class;
	uint32_t npartial; /* spans with free slots */
	uint32_t nfull;    /* spans believed full (may have slots freed since) */
	uint32_t ncached;  /* spans of this class held by caches */
	uint64_t nalloc;   /* slots allocated across all its spans */
	uint32_t nempty;   /* spans with no live object, waiting for reuse or the heap */
} gort_central_info;
/* One row per span class, GORT_NUM_SPAN_CLASSES rows. */
GORT_API size_t gort_inspect_centrals(gort_central_info *out, size_t max);

/* ----------------------------------------------------------------- heap */
typedef struct gort_run_info {
	uintptr_t base;
	uint32_t npages;
	uint8_t released;        /* every page of it returned to the OS */
	uint32_t released_pages; /* how many of its pages are */
} gort_run_info;
/* Free page runs in address order. */
GORT_API size_t gort_inspect_free_runs(gort_run_info *out, size_t max);

/* ------------------------------------------------------------- scheduler */
enum { GORT_RUNQ_CAP = 256 };

typedef struct gort_p_info {
	int32_t id;
	uint32_t schedtick;
	int64_t runnext;          /* goid in runnext, 0 if empty */
	uint32_t nrunq;           /* Gs on the ring */
	int64_t runq[GORT_RUNQ_CAP]; /* their goids, head (next to run) first; the
				      * entries past nrunq are left as they were */
	uint32_t gfreecnt;        /* dead Gs kept for reuse */
	int32_t cache_id;         /* its mcache (gort_inspect_caches) */
	int32_t running;          /* 1 while it runs a G */
} gort_p_info;
/* Every P, in id order. */
GORT_API size_t gort_inspect_ps(gort_p_info *out, size_t max);

typedef struct gort_g_info {
	int64_t goid;
	uint32_t status;      /* Go's numbers: 1 runnable, 2 running, 3 syscall, 4 waiting, 6 dead */
	int32_t p;            /* the P it last ran on, -1 if none yet */
	char waitreason[32];  /* why it waits ("" unless waiting) */
	uint64_t nswitch;     /* times it was run */
	uintptr_t stack_lo, stack_hi;
	size_t stack_used;    /* bytes of stack in use when it last stopped */
	uintptr_t waiton;     /* waiting in a channel operation: the channel (a
			       * select: the first of its channels); 0 otherwise */
} gort_g_info;
/* Every G that is not dead, in creation order. */
GORT_API size_t gort_inspect_gs(gort_g_info *out, size_t max);

typedef struct gort_sched_info {
	uint32_t gomaxprocs;
	uint32_t idleprocs;   /* Ps with nothing to run */
	uint32_t threads;     /* Ms */
	uint32_t runqueue;    /* Gs on the global queue */
	int64_t global[GORT_RUNQ_CAP]; /* the first of them, in order (past
					* nglobal: left as they were) */
	uint32_t nglobal;     /* how many of global[] are filled */
	uint64_t steps;       /* scheduling decisions made */
	int64_t curg;         /* running G, 0 if none */
	int32_t curp;         /* its P, -1 if none */
	int32_t threaded;
	uint64_t ngs;         /* Gs ever made (live and dead) */
} gort_sched_info;
GORT_API void gort_inspect_sched(gort_sched_info *out);

/* A channel as Go's hchan shows it. Waiting parties are listed by goid in
 * queue order (0: a thread outside any G); a select waiting on several
 * channels is in each of their queues. Exact in step mode; in threaded
 * mode a snapshot taken under the channel's lock. */
enum { GORT_CHAN_WAITERS_MAX = 64 };
typedef struct gort_chan_info {
	size_t elemsize, cap, len;
	size_t sendx, recvx;   /* ring indices: next slot to fill, next to take */
	int closed;
	uint32_t nrecvq, nsendq; /* waiting receivers and senders (all of them) */
	int64_t recvq[GORT_CHAN_WAITERS_MAX], sendq[GORT_CHAN_WAITERS_MAX]; /* the first ones */
	uint8_t recvq_select[GORT_CHAN_WAITERS_MAX], sendq_select[GORT_CHAN_WAITERS_MAX]; /* 1: in a select */
} gort_chan_info;
struct gort_chan;
/* 0, or -1 with errno EINVAL for NULL or a pointer that is not a live channel. */
GORT_API int gort_inspect_chan(struct gort_chan *c, gort_chan_info *out);
/* Checks c's invariants (ring indices and count, wait queues' links, no
 * waiters on a closed channel, ...): 0, or reports GORT_ERR_HEAP_CORRUPTION
 * naming the broken one and returns -1. Exact when no G is in the middle of
 * an operation on c (step mode between steps). */
GORT_API int gort_check_chan(struct gort_chan *c);
/* Copies buffered value i (0 = the next to be received) into out
 * (elemsize bytes); 0, or -1 with errno EINVAL if there is no such value. */
GORT_API int gort_inspect_chan_value(struct gort_chan *c, size_t i, void *out);

/* Every M. Step mode has one, the caller's thread (id 0); threaded mode
 * one per OS thread started (exact only while gort_run is not running). */
enum { GORT_M_IDLE = 0, GORT_M_RUNNING = 1, GORT_M_SPINNING = 2, GORT_M_SYSCALL = 3 };
typedef struct gort_m_info {
	int32_t id;
	uint32_t status;     /* GORT_M_* */
	int32_t p;           /* the P it holds, -1 if none */
	int64_t curg;        /* the G it runs, 0 if none */
} gort_m_info;
GORT_API size_t gort_inspect_ms(gort_m_info *out, size_t max);

/* ------------------------------------------------------------ event log */
/*
 * The scheduler's event log: what each step did, which Gs were made and
 * readied. Step mode records always (the log is part of the deterministic
 * run: same seed and calls, same events, byte for byte); threaded mode only
 * while gort_event_log(1) is on, with nanosecond times. The log keeps the
 * last GORT_EVENT_LOG_CAP events; seq numbers go on counting, so a reader
 * that fell behind sees the gap.
 */
enum { GORT_EVENT_LOG_CAP = 1 << 16 };
enum gort_event_kind {
	GORT_EV_RUN = 1,   /* a G ran on a P until it yielded, parked or exited */
	GORT_EV_GO = 2,    /* a G was made (goid) by another (by, 0 outside any G) */
	GORT_EV_READY = 3, /* a parked G was made runnable by another (by) */
	GORT_EV_HANDOFF = 4, /* a value went straight from sender by to receiver goid
			      * on channel obj, one of them waiting there (source:
			      * GORT_HANDOFF_TO_WAITER or GORT_HANDOFF_FROM_WAITER) */
	GORT_EV_CLOSE = 5,   /* channel obj was closed by by */
};
enum gort_event_source { GORT_SRC_RUNNEXT = 0, GORT_SRC_LOCAL, GORT_SRC_GLOBAL, GORT_SRC_STOLEN };
/* HANDOFF's source: the receiver waited (a sender handed it the value), or
 * the sender waited (a receiver took its value). */
enum { GORT_HANDOFF_TO_WAITER = 0, GORT_HANDOFF_FROM_WAITER = 1 };
enum gort_event_outcome { GORT_OUT_YIELDED = 0, GORT_OUT_PARKED, GORT_OUT_EXITED, GORT_OUT_SYSCALL };
typedef struct gort_event {
	uint64_t seq;       /* 1, 2, ... in the order recorded */
	uint32_t kind;      /* GORT_EV_* */
	int32_t p;          /* the P it happened on, -1 outside any G */
	int32_t m;          /* the M (0 in step mode) */
	int32_t from;       /* RUN, stolen: the victim P; else -1 */
	int64_t goid;       /* the G that ran, was made or was readied */
	int64_t by;         /* GO/READY: the G that did it, 0 outside any G */
	uint32_t source;    /* RUN: GORT_SRC_* */
	uint32_t outcome;   /* RUN: GORT_OUT_* */
	uint32_t schedtick; /* RUN: the P's schedtick once the G was chosen */
	uint64_t step;      /* step mode: scheduling decisions made before it */
	uint64_t t_start;   /* threaded: ns since init (RUN: when the G started) */
	uint64_t t_end;     /* threaded: ns since init when it ended; step mode: 0 */
	uintptr_t obj;      /* HANDOFF, CLOSE: the channel */
} gort_event;
/* Copy events with seq > after, oldest first, into out (at most max);
 * returns how many were copied. */
GORT_API size_t gort_inspect_events(uint64_t after, gort_event *out, size_t max);
/* The seq of the newest event, 0 if none. */
GORT_API uint64_t gort_event_seq(void);
/* Threaded mode: turn recording on (1) or off (0); returns the previous
 * state. Step mode records always; the call only reports 1 there. */
GORT_API int gort_event_log(int on);
/* Names for printing: "runnext", "local", "global", "stolen"; "yielded",
 * "parked", "exited", "syscall"; "run", "go", "ready", "handoff", "close". */
GORT_API const char *gort_event_source_name(uint32_t source);
GORT_API const char *gort_event_outcome_name(uint32_t outcome);
GORT_API const char *gort_event_kind_name(uint32_t kind);

/* Go's GODEBUG=schedtrace line (detailed = scheddetail=1 adds a line per P
 * and per G), into buf (always terminated); returns the length it needed. */
GORT_API size_t gort_schedtrace(char *buf, size_t n, int detailed);

/* ----------------------------------------------------------- invariants */
/* Check every invariant of the heap, the centrals, the caches and the
 * bitmap. Returns 0 if they hold; otherwise reports GORT_ERR_HEAP_CORRUPTION
 * through the error reporter (naming the first broken invariant) and returns
 * -1. Cost: linear in the committed heap. Debug builds, tests and fuzzers call
 * it after every step. */
GORT_API int gort_check(void);

/* Check the invariants local to the in-use span holding addr: its pages map
 * to it, its shape matches its class, its bitmap planes agree with each
 * other and the span's counts, its tiny masks, and (default and paranoid
 * presets) that its slots that are not live read zero. Returns 0 if they
 * hold or addr is in no in-use span; otherwise reports as gort_check does
 * and returns -1. Cost: one span. For a check after every operation on the
 * spans it touched, with gort_check now and then for the rest. Like
 * gort_check, it is exact at a quiescent point: with no allocation or free
 * in flight on another thread. */
GORT_API int gort_check_at(const void *addr);

/* Default and paranoid presets: check the canary of every live object, so
 * an overflow of an object that is never freed is found too (free checks
 * the canary of the object it frees). Returns 0 if every canary is whole;
 * otherwise reports GORT_ERR_HEAP_OVERFLOW for the first damaged one (its
 * address, the offset of the first damaged byte) and returns -1. Light has
 * no canaries: 0. Cost: linear in the committed heap. The drop-in runs it
 * at exit under the paranoid preset. A damaged canary is looked at again a
 * millisecond later and reported only if it is still damaged and its
 * object still live, so a thread writing a canary meanwhile is not
 * mistaken for an overflow. */
GORT_API int gort_check_canaries(void);

/* Flush the calling thread's cache (its current and owned spans, its tiny
 * block) back to the centrals, and give fully free spans back to the heap. Used by tests and
 * the shell to show a heap with nothing held in caches. */
GORT_API void gort_flush_caches(void);

#ifdef __cplusplus
}
#endif
#endif /* GORT_INSPECT_H */
