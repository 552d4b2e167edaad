/*
 * shadow.h — the shadow model of the heap that fuzz_alloc, fuzz_misuse and
 * fuzz_harden share: its state, its budget, and what each of its modules
 * offers the harnesses.
 *
 * The model knows every live object (address, request, usable size, span
 * class, and an id whose pattern fills the object), checks the result of
 * every allocator call against what gort.h promises, and after every step
 * checks gort_memstats and the heap's snapshots against itself. An input is
 * decoded into allocator operations, run, checked, and can be printed as
 * the gortsh script that replays it. The modules:
 *
 *   shadow_decode.c      the input decoder: bytes into operations and sizes
 *   shadow_input.c       one input's life: the runtime, the reset, the end
 *   shadow_model.c       the live objects and the bookkeeping of each call
 *   shadow_object.c      what one call's result must be (gort.h's promises)
 *   shadow_heap.c        what the whole heap must be after a step
 *   shadow_quarantine.c  the hardened presets' quarantines, as FIFOs
 *   shadow_interval.c    live objects in address order: no two overlap
 *   shadow_pattern.c     the bytes each object is filled with
 *   shadow_log.c         the input's last operations, the trace, failing
 *   shadow_gsh.c         the input as a gortsh script (GORT_FUZZ_GSH=1)
 *
 * At the end of every input everything is freed and the calling thread's
 * cache flushed; the heap must then be back to its initial shape, which is
 * also the reset between inputs: the runtime is initialised once, in
 * LLVMFuzzerInitialize, and never reserved again (fuzz_harden alone starts
 * a new one per input, with a preset, a quarantine length and a seed).
 *
 * Budget: at most SH_MAX_OPS operations and SH_MAX_LIVE live objects per
 * input, and the model's worst-case footprint (a whole span per small
 * object, pages plus alignment slack per large one) under SH_FOOTPRINT_MAX,
 * far below the 256 MiB arena; an allocation that would break the budget is
 * skipped.
 *
 * What gort.h promises of the malloc family, and what checks it after
 * every call it applies to:
 *  - NULL and ENOMEM for impossible sizes and an overflowing calloc
 *    (sh_expect_enomem), and for any other request only when no free run
 *    nor the uncommitted arena could hold it (sh_expect_fair_oom); NULL and
 *    EINVAL for an alignment that is not a power of two (op_impossible);
 *  - usable size >= request, hardened exactly the request (sh_check_new,
 *    op_usable);
 *  - alignment: malloc, calloc, realloc and gort_alloc without GORT_NOSCAN
 *    align 16 bytes and more to alignof(max_align_t), 8 and more to 8, in
 *    every preset, and an object's class keeps that for all its slots;
 *    GORT_NOSCAN keeps Go's rules; aligned_alloc gives the alignment asked
 *    (sh_promised_align, sh_check_new);
 *  - calloc and GORT_ZERO memory reads zero (sh_add); GORT_NOSCAN under 16
 *    bytes is a tiny object (light, without GORT_ZERO: sh_check_new);
 *  - realloc keeps the contents up to the smaller size, and a failed one
 *    leaves the object as it was (op_realloc, op_impossible);
 *  - a reported misuse leaves the heap unchanged: free does nothing,
 *    realloc and usable_size return 0; the handler may call gort and
 *    longjmp out (misuse.h);
 *  - gort_memstats is exact in step mode: the object, byte and page counts
 *    against the model and the snapshots, the other fields against their
 *    definitions (shadow_heap.c);
 *  - gort_release releases every free run, returns the bytes newly
 *    released, counts in num_released, and gives back the emptied spans
 *    and the calling thread's quarantined small objects first
 *    (sh_check_release).
 * Not checked here: lazy init (the harnesses start the runtime first;
 * tests/unit/test_heap.c has it); realloc(NULL, n) (no operation makes it
 * without changing what the corpora's bytes mean; test_shadow.c has it);
 * threaded mode's statistics; and that the pages of quarantined large
 * objects are released (reading them faults, by design).
 *
 * Any violation prints what broke, the input's last operations, and aborts.
 * With GORT_FUZZ_TRACE=1 in the environment every operation is printed as
 * it runs (fuzz/run_inputs FILE shows what an input does).
 *
 * Uses only the public headers, gort.h and gort_inspect.h. Everything here
 * is single-threaded: the harnesses run the runtime in step mode.
 */
#ifndef GORT_FUZZ_SHADOW_H
#define GORT_FUZZ_SHADOW_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"

#include "fdp.h"

#define SH_ARENA_BYTES ((size_t)256 << 20)
#define SH_MAX_OPS 256
#define SH_MAX_LIVE 1024
#define SH_FOOTPRINT_MAX ((size_t)96 << 20)
#define SH_MAX_LARGE ((size_t)2 << 20)
#define SH_DEEP_EVERY 32
#define SH_TOUCHED 16
#define SH_CHECK_EVERY 16 /* <= SH_RING: the failing step is still listed */
#define SH_GRAVE 64
#define SH_RELEASE_EVERY 64
#define SH_RING 24
#define SH_PAGE ((size_t)GORT_PAGE_SIZE)
/* The longest quarantine hardened mode models (fuzz_harden picks 1..16). */
#define SH_QMAX 16
#define SH_CANARY 8

#ifndef FUZZ_API
#define FUZZ_API __attribute__((visibility("default")))
#endif

/* A harness's one-time setup, `static void fn(void)`: run by
 * LLVMFuzzerInitialize, or by the first input under a driver that does not
 * call it. Defines LLVMFuzzerInitialize and sh_ensure_ready(). */
#define SH_HARNESS_SETUP(fn)                                       \
	static void fn(void);                                      \
	static int sh_ready_;                                      \
	static void sh_ensure_ready(void)                          \
	{                                                          \
		if (!sh_ready_) {                                  \
			fn();                                      \
			sh_ready_ = 1;                             \
		}                                                  \
	}                                                          \
	FUZZ_API int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{                                                          \
		(void)argc;                                        \
		(void)argv;                                        \
		sh_ensure_ready();                                 \
		return 0;                                          \
	}

/* The loops over object bytes touch only the gort arena, which ASan does not
 * track (its shadow there is never poisoned): checking each access would
 * cost without ever finding anything. */
#define SH_NOASAN __attribute__((no_sanitize("address")))
#define SH_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* How an object was made: what the checks of a new object may expect. */
enum sh_how {
	HOW_MALLOC,
	HOW_CALLOC,
	HOW_REALLOC,
	HOW_ALIGNED,
	HOW_ALLOC,
};

typedef struct sh_obj {
	uintptr_t p;
	size_t req;
	size_t usable;
	size_t foot; /* worst-case footprint charged to the budget */
	uint64_t id;
	uint8_t cls; /* span class: 0 large, 1..67 small, GORT_TINY_SPAN_CLASS */
	uint8_t tiny;
	uint8_t noscan;
	size_t slot; /* bytes it counts in heap_alloc: slot or span (light: usable) */
} sh_obj;

/* Expectations of a fresh object beyond "live, no overlap". */
typedef struct sh_expect {
	enum sh_how how;
	size_t align; /* asked alignment (aligned_alloc), else 0 */
	int noscan;   /* allocated with GORT_NOSCAN */
	int tiny;     /* must come from the tiny allocator */
	int zero;     /* must read as zeroes */
	int in_place; /* realloc returned the same pointer */
	size_t foot;
} sh_expect;

/* An object freed into a quarantine: still allocated for the library. */
typedef struct sh_held {
	uintptr_t p;
	size_t slot, foot;
	uint64_t id;
} sh_held;

/* A live object's extent, kept in address order. */
typedef struct sh_iv {
	uintptr_t lo, hi;
	uint8_t tiny;
} sh_iv;

/* A freed object, for the misuse harness's delayed double frees. */
typedef struct sh_grave {
	uintptr_t p;
	size_t extent;
	uint8_t cls, tiny;
} sh_grave;

/* One decoded operation, kept for the failure message. */
typedef struct sh_step {
	long no;
	const char *name;
	uint64_t a, b, c;
	uintptr_t ret;
} sh_step;

typedef struct sh_model {
	const char *harness;
	int trace;
	int gsh;	 /* GORT_FUZZ_GSH=1: print the input as a gortsh script */
	long gsh_inputs; /* inputs seen: only the first starts from a fresh runtime */
	gort_sizeclass_info sc[GORT_NUM_SIZE_CLASSES];
	gort_arena_info arena;

	sh_obj live[SH_MAX_LIVE];
	size_t nlive;
	sh_iv iv[SH_MAX_LIVE]; /* live objects in address order */
	size_t tiny_blocks;    /* distinct 16-byte blocks holding live tiny objects */
	size_t foot;
	uint64_t next_id;
	uint64_t live_by_class[GORT_NUM_SPAN_CLASSES]; /* [68] = tiny objects */
	uint64_t slot_bytes;			       /* non-tiny live objects' slots */

	struct gort_memstats base;			    /* at the start of the input */
	uint64_t mallocs, frees, tiny_allocs, large_allocs; /* since then */
	uint64_t mallocs_by_class[GORT_NUM_SIZE_CLASSES];   /* since then, tiny not counted */
	uint64_t alloc_bytes; /* since then: slot bytes of non-tiny mallocs (total_alloc) */

	/* Hardened mode (all zero in light). */
	int preset;	     /* GORT_HARDEN_LIGHT, DEFAULT or PARANOID */
	int hard;	     /* default or paranoid: canaries, zero check, quarantine */
	size_t zero_bytes;   /* hard: a dead slot's leading bytes that read zero (gort.h) */
	unsigned quarantine; /* the rings' and the large FIFO's length */
	uint64_t seed;
	/* The quarantines as FIFOs: [0] the large one, [c] class c's ring. */
	sh_held held[GORT_NUM_SIZE_CLASSES][SH_QMAX];
	uint32_t qhead[GORT_NUM_SIZE_CLASSES], qlen[GORT_NUM_SIZE_CLASSES];
	size_t nheld;
	uint64_t held_bytes;

	sh_grave grave[SH_GRAVE];
	size_t ngrave, grave_next;

	/* Objects the current step made or freed: their spans get
	 * gort_check_at; the whole heap gets gort_check instead when check_all
	 * is set or there were more than SH_TOUCHED of them. */
	uintptr_t touched[SH_TOUCHED];
	size_t ntouched;
	int check_all;
	uint64_t pages[3]; /* heap_inuse, heap_sys, heap_released after the last step */

	long op_no;
	sh_step ring[SH_RING];
	size_t nring;
	size_t rot; /* the deep check's rotating window */

	gort_span_info *spans;
	size_t spans_cap;
} sh_model;

extern sh_model shadow;

/* ------------------------------------------- shadow_log.c: failing, trace */

SH_PRINTF(1, 2) __attribute__((noreturn)) void sh_fail(const char *fmt, ...);

#define SH_ASSERT(cond, ...)                      \
	do {                                      \
		if (__builtin_expect(!(cond), 0)) \
			sh_fail(__VA_ARGS__);     \
	} while (0)

/* Record the operation about to run; sh_ret fills in its result, traces it
 * and prints its gortsh line. */
sh_step *sh_op(const char *name, uint64_t a, uint64_t b, uint64_t c);
void sh_ret(sh_step *s, uintptr_t r);

/* ------------------------------------------- shadow_gsh.c: gortsh scripts */

SH_PRINTF(1, 2) void sh_gsh(const char *fmt, ...);
void sh_gsh_step(const sh_step *s, uintptr_t r);
void sh_gsh_begin(void);
void sh_gsh_state(void);

/* ---------------------------------------------- shadow_pattern.c: bytes */

void sh_fill(const sh_obj *o);
void sh_verify_at(const sh_obj *o, uintptr_t at, size_t upto, const char *before);
void sh_verify(const sh_obj *o, const char *before);
void sh_expect_zero(uintptr_t p, size_t n, const char *what);

/* -------------------------------------- shadow_interval.c: address order */

size_t sh_iv_lower(uintptr_t p);
void sh_iv_insert(uintptr_t lo, uintptr_t hi, int tiny, uint64_t id);
void sh_iv_remove(uintptr_t lo);
const sh_iv *sh_iv_containing(uintptr_t p);
int sh_tiny_block_live(uintptr_t block);

/* ------------------------------------------ shadow_quarantine.c: held */

sh_held *sh_held_at(unsigned c, uint32_t k);
const sh_held *sh_held_find(uintptr_t p);
void sh_expect_held_or_inbox(const sh_obj *o);
void sh_drain_rings(void);
void sh_after_failed_alloc(void);
void sh_check_held(void);

/* ------------------------------------------- shadow_model.c: the objects */

size_t sh_round_page(size_t n);
size_t sh_guard_pages(void);
unsigned sh_light_class(size_t req, size_t align);
unsigned sh_hard_class(size_t req, size_t align);
size_t sh_hard_usable(size_t req, unsigned cls);
size_t sh_footprint(size_t n, size_t align, int tiny);
int sh_room_for(size_t foot);
void sh_touch(uintptr_t p);
void sh_touch_all(void);
sh_obj *sh_find_live(uintptr_t p);
sh_obj *sh_add(uintptr_t p, size_t req, const sh_expect *e, int count);
sh_obj sh_remove(size_t i, int count);
void sh_count_reused_slot(unsigned cls);
void sh_free_live(size_t i);
void sh_freed(const sh_obj *o);
void sh_flush(void);
size_t sh_release(void);

/* ------------------------------------------ shadow_input.c: an input */

void sh_setup(const char *harness);
void sh_start(int preset, unsigned quarantine, uint64_t seed);
void sh_init(const char *harness);
void sh_begin_input(void);
void sh_end_input(void);

/* ---------------------------------- shadow_object.c: one call's result */

size_t sh_promised_align(size_t req, const sh_expect *e);
void sh_check_new(uintptr_t p, size_t req, size_t usable, const sh_expect *e, gort_object_info *oi);
void sh_check_object(const sh_obj *o);
void sh_expect_enomem(void *p, const char *what, size_t n);
void sh_expect_fair_oom(const char *what, size_t n, size_t align);

/* ----------------------------------------- shadow_heap.c: the whole heap */

void sh_gort_check(void);
int sh_check_stats(void);
int sh_pages_moved(const struct gort_memstats *ms);
void sh_check_release(size_t released, const struct gort_memstats *before);
size_t sh_load_spans(void);
void sh_deep_check(void);
void sh_expect_initial_shape(const char *when);
void sh_step_checks(void);

/* ------------------------------------------- shadow_decode.c: the input */

/* An operation decoded from the input's tail. */
typedef void (*sh_opfn)(fdp_t *d);

size_t sh_pick(fdp_t *d, size_t n);
sh_opfn sh_pick_op(unsigned byte);
/* An input's operations, up to SH_MAX_OPS, each followed by the step's
 * checks: op bytes below `normal` are fuzz_alloc's (scaled to its table),
 * the others pick among the harness's own `extra` ones. */
void sh_run_ops(fdp_t *d, unsigned normal, const sh_opfn *extra, size_t nextra);

#endif /* GORT_FUZZ_SHADOW_H */
