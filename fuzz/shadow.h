/*
 * shadow.h — the shadow model of the heap that fuzz_alloc, fuzz_misuse and
 * fuzz_harden share, and the loop that decodes an input into allocator
 * operations.
 *
 * Included by exactly one harness per program (everything is static); uses
 * only the public headers, gort.h and gort_inspect.h.
 *
 * The model knows every live object: address, request, usable size, span
 * class, and an id whose pattern fills the object. It checks, per operation:
 *  - the result: usable size >= request (and exactly the class size, or the
 *    page-rounded request for large objects), alignment (8 bytes, Go's tiny
 *    rules, or the alignment asked for), zeroed memory for calloc/GORT_ZERO,
 *    NULL + ENOMEM for impossible sizes, NULL + EINVAL for bad alignments,
 *    and NULL + ENOMEM otherwise only when no free run or uncommitted part of
 *    the arena could have held the span;
 *  - the new object in the snapshots: gort_inspect_object says it is the
 *    start of a slot with ALLOC set, FREED and MARK clear, POINTERS as the
 *    flags asked (small objects), the right span class, and a large span
 *    records the request;
 *  - no overlap: live objects are kept in address order, and a new one must
 *    fit between its neighbours;
 *  - patterns: an object is verified before it is freed or reallocated
 *    (realloc keeps the prefix); objects up to 4 KiB are filled whole,
 *    larger ones on their first and last 512 bytes and 8 bytes at up to 8
 *    points in between (so a large object costs a dozen page touches,
 *    not a memset);
 *  - after every step, gort_memstats against the model: live objects,
 *    cumulative mallocs and frees, tiny and large counts, live objects per
 *    size class (by_size), heap_alloc (exact but for the one tiny block a
 *    cache may hold open); and gort_check_at() == 0 on the span of every
 *    object the step made, freed or pushed out of a quarantine, or the
 *    whole gort_check() when the step did more than that (see Cost below);
 *  - every SH_DEEP_EVERY steps and at the end of the input, the deep check:
 *    the spans listing tiles the committed arena with no two free runs
 *    adjacent; per span class, ALLOC minus FREED bits == the model's live
 *    count (tiny: live blocks plus the caches' open block); the centrals'
 *    counts == the spans'; and a rotating window of live objects has its
 *    bitmap bits, large request and pattern checked.
 * At the end of every input everything is freed and the calling thread's
 * cache flushed (every SH_RELEASE_EVERY-th input, the heap also released:
 * see sh_end_input); the heap must then be back to its initial shape: no
 * object, one free run covering the committed arena and no in-use span.
 * That is also the reset between inputs: the runtime is initialised once,
 * in LLVMFuzzerInitialize, and never reserved again (an empty input costs
 * about 38 us under ASan, i.e. ~26,000 executions per second); fuzz_harden
 * alone starts a new one per input (see the hardened mode below).
 *
 * Budget: at most SH_MAX_OPS operations and SH_MAX_LIVE live objects per
 * input, and the model's worst-case footprint (a whole span per small
 * object, pages plus alignment slack per large one) under SH_FOOTPRINT_MAX,
 * far below the 256 MiB arena; an allocation that would break the budget is
 * skipped.
 *
 * Cost: gort_check is linear in the committed heap and cost more than the
 * rest of a step put together (about 3.4 us of ~7 us with a 1 MiB heap
 * under ASan). Most steps change nothing but the spans of the objects they
 * make and free, so those get gort_check_at (one span each). The whole
 * gort_check runs after a step that did more: one that moved the heap's
 * page counts (a span taken from or given back to the heap, the arena
 * grown, pages released), a flush or release (centrals' lists), one that
 * touched more than SH_TOUCHED objects; and after every SH_CHECK_EVERY-th
 * step, a misuse, every deep check and the end of the input. A broken
 * invariant is thus seen at the step that broke it, or (a stray write, a
 * central's list changed by a cache refill) at most SH_CHECK_EVERY - 1
 * steps later, while the failure message still lists that step.
 *
 * Hardened mode (fuzz_harden: sh_start with GORT_HARDEN_DEFAULT or PARANOID,
 * a fresh runtime per input; fuzz_alloc and fuzz_misuse stay in light, as
 * before): the expectations follow docs/hardening.md. A request of n bytes
 * takes the class of n + 8 (large beyond 32 KiB), usable size is exactly n,
 * p[n] reads 0, a new small object reads zero, there are no tiny objects,
 * and paranoid adds a guard page to every span (footprint, OOM oracle). The
 * model also holds the quarantines (S.held): after each free the object's
 * bits say where it went (QUARANTINE: the ring of its class, or the large
 * FIFO; FREED: the inbox of a span the cache does not own, freed at once for
 * the statistics), and the model evicts the oldest entry of a full ring
 * exactly as the library must; flush and release empty the small rings,
 * never the large FIFO. Held objects count as objects, slot bytes and
 * ALLOC bits, never as frees, until they leave; every deep check verifies
 * each entry still has its QUARANTINE bit and that gort_memstats'
 * quarantine_objects and quarantine_bytes are the model's. A new object may
 * not be a held one. Objects' intervals are their whole slots (span for a
 * large one), so the overlap check covers the canary too.
 *
 * Any violation prints what broke, the input's last operations, and aborts.
 * With GORT_FUZZ_TRACE=1 in the environment every operation is printed as
 * it runs (fuzz/run_inputs FILE shows what an input does).
 */
#ifndef GORT_FUZZ_SHADOW_H
#define GORT_FUZZ_SHADOW_H

#include <errno.h>
#include <stdarg.h>
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
#define SH_FULL_FILL 4096
#define SH_STRIDE 512
#define SH_SAMPLES 8
#define SH_DEEP_EVERY 32
#define SH_WINDOW 4
#define SH_TOUCHED 16
#define SH_CHECK_EVERY 16 /* <= SH_RING: the failing step is still listed */
#define SH_GRAVE 64
#define SH_RELEASE_EVERY 64
#define SH_RING 24
#define SH_PAGE ((size_t)GORT_PAGE_SIZE)
/* The longest quarantine hardened mode models (fuzz_harden picks 1..16). */
#define SH_QMAX 16
#define SH_CANARY 8

#define SH_UNUSED __attribute__((unused))

#ifndef FUZZ_API
#define FUZZ_API __attribute__((visibility("default")))
#endif

/* A harness's one-time setup, `static void fn(void)`: run by
 * LLVMFuzzerInitialize, or by the first input under a driver that does not
 * call it. Defines LLVMFuzzerInitialize and sh_ensure_ready(). */
#define SH_HARNESS_SETUP(fn)                                                               \
	static void fn(void);                                                              \
	static int sh_ready_;                                                              \
	static void sh_ensure_ready(void)                                                  \
	{                                                                                  \
		if (!sh_ready_) {                                                          \
			fn();                                                              \
			sh_ready_ = 1;                                                     \
		}                                                                          \
	}                                                                                  \
	FUZZ_API int LLVMFuzzerInitialize(int *argc, char ***argv)                         \
	{                                                                                  \
		(void)argc;                                                                \
		(void)argv;                                                                \
		sh_ensure_ready();                                                         \
		return 0;                                                                  \
	}
/* The checking code needs no coverage feedback of its own (the library's is
 * what guides the fuzzer), and comparison tracing in its loops over object
 * bytes and class tables would cost more than the library calls. */
#if defined(__clang__)
#define SH_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define SH_NOCOV
#endif
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

/* An object freed into a quarantine: still allocated for the library. */
typedef struct sh_held {
	uintptr_t p;
	size_t slot, foot;
	uint64_t id;
} sh_held;

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

static struct sh_state {
	const char *harness;
	int trace;
	int gsh;         /* GORT_FUZZ_GSH=1: print the input as a gortsh script */
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

	/* Hardened mode (all zero in light). */
	int preset;	     /* GORT_HARDEN_LIGHT, DEFAULT or PARANOID */
	int hard;	     /* default or paranoid: canaries, zero check, quarantine */
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
} S;

/* ------------------------------------------------------------- failing */

static void sh_print_step(const sh_step *s)
{
	fprintf(stderr, "  op %ld: %s(%#llx, %#llx, %#llx) -> %#lx\n", s->no, s->name,
		(unsigned long long)s->a, (unsigned long long)s->b, (unsigned long long)s->c,
		(unsigned long)s->ret);
}

SH_PRINTF(1, 2) static void sh_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: FAILED at op %ld: ", S.harness, S.op_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s: the input's last operations (op, args, result):\n", S.harness);
	size_t n = S.nring < SH_RING ? S.nring : SH_RING;
	for (size_t i = S.nring - n; i < S.nring; i++)
		sh_print_step(&S.ring[i % SH_RING]);
	fprintf(stderr, "%s: %zu live objects in the model\n", S.harness, S.nlive);
	abort();
}

#define SH_ASSERT(cond, ...)                      \
	do {                                      \
		if (__builtin_expect(!(cond), 0)) \
			sh_fail(__VA_ARGS__);     \
	} while (0)

/* Record the operation about to run; its result is filled in by sh_ret. */
SH_NOCOV static sh_step *sh_op(const char *name, uint64_t a, uint64_t b, uint64_t c)
{
	sh_step *s = &S.ring[S.nring++ % SH_RING];
	*s = (sh_step){S.op_no, name, a, b, c, 0};
	return s;
}

/* ------------------------------------------------------- gortsh scripts */
/*
 * GORT_FUZZ_GSH=1 prints the input as a gortsh script on stdout, so a find
 * can be stepped through in the shell: `GORT_FUZZ_GSH=1
 * build/fuzz-replay/fuzz_alloc FILE > find.gsh; build/gortsh find.gsh`.
 * Object number k of the model is the shell's name ok; misuse becomes
 * `try ...`; calls the shell has no command for (usable_size, impossible
 * requests) become comments, as they change nothing. The script starts with
 * the harness's runtime (init arena=256M procs=1) and ends, before the
 * harness frees everything, with `dump spans` and a `# state:` comment
 * listing every span as base/pages/class/nalloc (free runs base/pages/free):
 * running the script must leave the shell with exactly those spans
 * (tests/shell/test_fuzz2gsh.sh checks it for every corpus file). Only the
 * first input of a process starts from a fresh runtime, so give one file.
 */
SH_PRINTF(1, 2) SH_NOCOV static void sh_gsh(const char *fmt, ...)
{
	if (!S.gsh || S.gsh_inputs != 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The gortsh line of an operation of the model, once it has returned r. */
SH_NOCOV static void sh_gsh_step(const sh_step *s, uintptr_t r)
{
	const char *n = s->name;
	unsigned long long a = s->a, b = s->b, id = S.next_id;
	bool allocates = strcmp(n, "malloc") == 0 || strcmp(n, "calloc") == 0 ||
			 strcmp(n, "aligned_alloc") == 0 || strncmp(n, "gort_alloc", 10) == 0 ||
			 strcmp(n, "realloc") == 0;
	if (allocates && r == 1)
		return; /* not run: no room in the model's arena */
	if (strcmp(n, "malloc") == 0)
		sh_gsh(r ? "alloc %llu as o%llu" : "try alloc %llu", a, id);
	else if (strcmp(n, "calloc") == 0)
		sh_gsh(r ? "calloc %llu %llu as o%llu" : "try calloc %llu %llu", a, b, id);
	else if (strcmp(n, "aligned_alloc") == 0)
		sh_gsh(r ? "alloc %llu align=%llu as o%llu" : "try alloc %llu align=%llu", b, a, id);
	else if (strncmp(n, "gort_alloc", 10) == 0)
		sh_gsh(r ? "alloc %llu%s%s as o%llu" : "try alloc %llu%s%s", a,
		       b & GORT_NOSCAN ? " noscan" : "", b & GORT_ZERO ? " zero" : "", id);
	else if (strcmp(n, "realloc") == 0)
		sh_gsh(r ? "realloc o%llu %llu as o%llu" : "try realloc o%llu %llu",
		       (unsigned long long)s->c, b, id);
	else if (strcmp(n, "free") == 0)
		sh_gsh("free o%llu", (unsigned long long)s->c);
	else if (strcmp(n, "gort_release") == 0)
		sh_gsh("release");
	else if (strcmp(n, "gort_flush_caches") == 0)
		sh_gsh("flush");
	else if (strcmp(n, "gort_memstats+deep_check") == 0)
		sh_gsh("check");
	else if (strcmp(n, "usable_size") == 0 || strcmp(n, "impossible") == 0)
		sh_gsh("# %s(%#llx, %#llx) -> %#lx: changes nothing", n, a, b, (unsigned long)r);
}

SH_NOCOV static void sh_gsh_state(void)
{
	if (!S.gsh || S.gsh_inputs != 1)
		return;
	size_t n = gort_inspect_spans(NULL, 0);
	gort_span_info *sp = calloc(n ? n : 1, sizeof *sp);
	if (!sp)
		return;
	n = gort_inspect_spans(sp, n);
	printf("dump spans\n# state:");
	for (size_t i = 0; i < n; i++)
		if (sp[i].state == GORT_SPAN_FREE)
			printf(" %#lx/%u/free", (unsigned long)sp[i].base, sp[i].npages);
		else
			printf(" %#lx/%u/%u/%u", (unsigned long)sp[i].base, sp[i].npages,
			       sp[i].span_class, sp[i].nalloc);
	printf("\n");
	free(sp);
}

SH_NOCOV static void sh_ret(sh_step *s, uintptr_t r)
{
	s->ret = r;
	if (S.trace)
		sh_print_step(s);
	if (S.gsh)
		sh_gsh_step(s, r);
}

/* ------------------------------------------------------------ patterns */

SH_NOCOV static uint64_t sh_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The 8 bytes at offset 8k of an object with seed v: depend on the offset
 * too, so a shifted copy shows up. */
SH_NOCOV static inline uint64_t sh_word(uint64_t v, size_t k)
{
	return v ^ ((uint64_t)k * 0xd6e8feb86659fd93ull);
}

SH_NOCOV static inline uint8_t sh_byte(uint64_t v, size_t i)
{
	return (uint8_t)(sh_word(v, i >> 3) >> (8 * (i & 7)));
}

/* Fill [a, b) of p (zero = 1: check for zeroes instead, see sh_check_range). */
SH_NOCOV SH_NOASAN static void sh_fill_range(unsigned char *p, size_t a, size_t b, uint64_t v)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		p[i] = sh_byte(v, i);
	if (((uintptr_t)p & 7) == 0)
		for (; i + 8 <= b; i += 8)
			*(uint64_t *)(void *)(p + i) = sh_word(v, i >> 3);
	for (; i < b; i++)
		p[i] = sh_byte(v, i);
}

/* First offset in [a, b) that does not hold the pattern (or 0 if zero),
 * or SIZE_MAX. */
SH_NOCOV SH_NOASAN static size_t sh_check_range(const unsigned char *p, size_t a, size_t b,
						uint64_t v, int zero)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		if (p[i] != (zero ? 0 : sh_byte(v, i)))
			return i;
	if (((uintptr_t)p & 7) == 0)
		for (; i + 8 <= b; i += 8)
			if (*(const uint64_t *)(const void *)(p + i) !=
			    (zero ? 0 : sh_word(v, i >> 3)))
				break;
	for (; i < b; i++)
		if (p[i] != (zero ? 0 : sh_byte(v, i)))
			return i;
	return SIZE_MAX;
}

/* The bytes of an n-byte object that carry its pattern: all of them up to
 * SH_FULL_FILL, else the first and last SH_STRIDE and 8 bytes every
 * stride (a multiple of SH_STRIDE, at most SH_SAMPLES strides).
 * Calls fn on each range below `upto`; stops at the first nonzero return. */
typedef size_t (*sh_range_fn)(unsigned char *p, size_t a, size_t b, uint64_t v, int zero);

SH_NOCOV static size_t sh_fill_fn(unsigned char *p, size_t a, size_t b, uint64_t v, int zero)
{
	(void)zero;
	sh_fill_range(p, a, b, v);
	return SIZE_MAX;
}

SH_NOCOV static size_t sh_check_fn(unsigned char *p, size_t a, size_t b, uint64_t v, int zero)
{
	return sh_check_range(p, a, b, v, zero);
}

SH_NOCOV static size_t sh_layout(unsigned char *p, size_t n, size_t upto, uint64_t v, int zero,
				 sh_range_fn fn)
{
	size_t r;
#define SH_RANGE(a_, b_)                                                     \
	do {                                                                 \
		size_t a__ = (a_), b__ = (b_) < upto ? (b_) : upto;          \
		if (a__ < b__ && (r = fn(p, a__, b__, v, zero)) != SIZE_MAX) \
			return r;                                            \
	} while (0)
	if (n <= SH_FULL_FILL) {
		SH_RANGE(0, n);
		return SIZE_MAX;
	}
	/* At most SH_SAMPLES words in between: a large object costs a few
	 * dozen page touches whatever its size. */
	size_t stride = (n / SH_SAMPLES + SH_STRIDE - 1) & ~(size_t)(SH_STRIDE - 1);
	if (stride < SH_STRIDE)
		stride = SH_STRIDE;
	SH_RANGE(0, SH_STRIDE);
	for (size_t k = stride; k + SH_STRIDE < n; k += stride)
		SH_RANGE(k, k + 8);
	SH_RANGE(n - SH_STRIDE, n);
#undef SH_RANGE
	return SIZE_MAX;
}

SH_NOCOV static void sh_fill(const sh_obj *o)
{
	sh_layout((unsigned char *)o->p, o->req, o->req, sh_mix(o->id), 0, sh_fill_fn);
}

/* Verify o's pattern at `at` (o->p, or where realloc moved it), below upto. */
SH_NOCOV static void sh_verify_at(const sh_obj *o, uintptr_t at, size_t upto, const char *before)
{
	size_t bad = sh_layout((unsigned char *)at, o->req, upto, sh_mix(o->id), 0, sh_check_fn);
	SH_ASSERT(bad == SIZE_MAX,
		  "object %llu (%zu bytes at %#lx%s, class %u) damaged at byte %zu %s",
		  (unsigned long long)o->id, o->req, (unsigned long)at, o->tiny ? ", tiny" : "",
		  o->cls, bad, before);
}

SH_NOCOV static void sh_verify(const sh_obj *o, const char *before)
{
	sh_verify_at(o, o->p, o->req, before);
}

SH_NOCOV static void sh_expect_zero(uintptr_t p, size_t n, const char *what)
{
	size_t bad = sh_layout((unsigned char *)p, n, n, 0, 1, sh_check_fn);
	SH_ASSERT(bad == SIZE_MAX, "%s(%zu) = %#lx: byte %zu is not zero", what, n,
		  (unsigned long)p, bad);
}

/* ----------------------------------------------------------- intervals */

/* Shift n intervals from `from` to `to` (overlapping). A plain loop, not
 * memmove: ASan's memmove copies a byte at a time, and with up to 1,024
 * live objects these shifts were a tenth of fuzz_alloc's time. no_builtin
 * keeps clang from turning the loop back into a memmove call. */
#ifdef __clang__
#define SH_NO_MEMMOVE __attribute__((no_builtin("memmove")))
#else
#define SH_NO_MEMMOVE
#endif
SH_NOCOV SH_NOASAN SH_NO_MEMMOVE static void sh_iv_shift(sh_iv *to, const sh_iv *from, size_t n)
{
	if (to < from)
		for (size_t i = 0; i < n; i++)
			to[i] = from[i];
	else
		for (size_t i = n; i-- > 0;)
			to[i] = from[i];
}

/* Index of the first interval with lo >= p. */
SH_NOCOV static size_t sh_iv_lower(uintptr_t p)
{
	size_t lo = 0, hi = S.nlive;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (S.iv[mid].lo < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

SH_NOCOV static int sh_same_block(const sh_iv *v, uintptr_t p)
{
	return v->tiny && (v->lo & ~(uintptr_t)15) == (p & ~(uintptr_t)15);
}

/* Tiny objects of one block are neighbours in address order (nothing else
 * can sit inside the block), so a block's first and last live objects are
 * found by looking at the two neighbours only. */
SH_NOCOV static int sh_block_has_neighbour(size_t i, uintptr_t p, size_t n)
{
	return (i > 0 && sh_same_block(&S.iv[i - 1], p)) ||
	       (i + 1 < n && sh_same_block(&S.iv[i + 1], p));
}

SH_NOCOV static void sh_iv_insert(uintptr_t lo, uintptr_t hi, int tiny, uint64_t id)
{
	size_t i = sh_iv_lower(lo);
	SH_ASSERT(i == S.nlive || S.iv[i].lo >= hi,
		  "new object %llu [%#lx, %#lx) overlaps a live object at [%#lx, %#lx)",
		  (unsigned long long)id, (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)S.iv[i].lo, (unsigned long)S.iv[i].hi);
	SH_ASSERT(i == 0 || S.iv[i - 1].hi <= lo,
		  "new object %llu [%#lx, %#lx) overlaps a live object at [%#lx, %#lx)",
		  (unsigned long long)id, (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)S.iv[i - 1].lo, (unsigned long)S.iv[i - 1].hi);
	sh_iv_shift(&S.iv[i + 1], &S.iv[i], S.nlive - i);
	S.iv[i] = (sh_iv){lo, hi, (uint8_t)tiny};
	if (tiny && !sh_block_has_neighbour(i, lo, S.nlive + 1))
		S.tiny_blocks++;
}

SH_NOCOV static void sh_iv_remove(uintptr_t lo)
{
	size_t i = sh_iv_lower(lo);
	SH_ASSERT(i < S.nlive && S.iv[i].lo == lo, "model: no interval at %#lx", (unsigned long)lo);
	if (S.iv[i].tiny && !sh_block_has_neighbour(i, lo, S.nlive))
		S.tiny_blocks--;
	sh_iv_shift(&S.iv[i], &S.iv[i + 1], S.nlive - i - 1);
}

/* The live object whose extent holds p, or NULL. */
SH_NOCOV SH_UNUSED static const sh_iv *sh_iv_containing(uintptr_t p)
{
	size_t i = sh_iv_lower(p + 1);
	if (i == 0)
		return NULL;
	const sh_iv *v = &S.iv[i - 1];
	return p >= v->lo && p < v->hi ? v : NULL;
}

SH_NOCOV SH_UNUSED static sh_obj *sh_find_live(uintptr_t p)
{
	for (size_t i = 0; i < S.nlive; i++)
		if (S.live[i].p == p)
			return &S.live[i];
	return NULL;
}

SH_NOCOV static int sh_tiny_block_live(uintptr_t block)
{
	size_t i = sh_iv_lower(block);
	return i < S.nlive && sh_same_block(&S.iv[i], block);
}

/* ------------------------------------------------------------ the model */

SH_NOCOV static size_t sh_round_page(size_t n)
{
	return (n + SH_PAGE - 1) & ~(SH_PAGE - 1);
}

/* Paranoid puts a guard page after every span, small or large. */
SH_NOCOV static size_t sh_guard_pages(void)
{
	return S.preset == GORT_HARDEN_PARANOID;
}

/* gort.h's alignment contract: a request of 16 bytes or more that is not
 * GORT_NOSCAN takes a slot of a multiple of 16 bytes (so never Go's 24-byte
 * class); `need` is what the request needs (with the canary, hardened). */
SH_NOCOV static size_t sh_abi_need(size_t req, size_t need, int noscan)
{
	return req >= 16 && !noscan ? (need + 15) & ~(size_t)15 : need;
}

/* The alignment gort.h promises an object of req bytes. */
SH_NOCOV static size_t sh_abi_align(size_t req, int noscan)
{
	return req >= 16 && !noscan ? 16 : req >= 8 ? 8 : 1;
}

/* Worst-case pages an allocation may pin: a whole span per small object.
 * Hardened, the request takes 8 bytes more (the canary). */
SH_NOCOV static size_t sh_footprint(size_t n, size_t align, int tiny)
{
	size_t need = sh_abi_need(n, S.hard ? n + SH_CANARY : n, 0);
	size_t guard = sh_guard_pages() * SH_PAGE;
	if (tiny)
		return GORT_TINY_SIZE;
	if (need <= GORT_MAX_SMALL_SIZE && align <= 8)
		return (size_t)S.sc[gort_size_to_class(need)].npages * SH_PAGE + guard;
	if (need <= GORT_MAX_SMALL_SIZE && align <= SH_PAGE)
		return 10 * SH_PAGE + guard;
	return sh_round_page(need ? need : 1) + (align > SH_PAGE ? align : 0) + guard;
}

/* Hardened: the class a request lands in (0: large), as malloc.c routes
 * it: the class of n + 8, or with an alignment above 8 the first class from
 * there whose size is a multiple of it; large beyond 32 KiB or a page's
 * alignment. */
SH_NOCOV static unsigned sh_hard_class(size_t req, size_t align, int noscan)
{
	size_t need = align > 8 ? req + SH_CANARY : sh_abi_need(req, req + SH_CANARY, noscan);
	if (need > GORT_MAX_SMALL_SIZE || align > SH_PAGE)
		return 0;
	unsigned c = gort_size_to_class(need);
	while (align > 8 && c < GORT_NUM_SIZE_CLASSES && S.sc[c].size % align != 0)
		c++;
	return c < GORT_NUM_SIZE_CLASSES ? c : 0;
}

/* Hardened: the request a large span records, so the usable size: an
 * aligned request of 0 bytes that goes large asks for 1. */
SH_NOCOV static size_t sh_hard_usable(size_t req, unsigned cls)
{
	return cls == 0 && req == 0 ? 1 : req;
}

SH_NOCOV static int sh_room_for(size_t foot)
{
	return S.nlive < SH_MAX_LIVE && S.foot + foot <= SH_FOOTPRINT_MAX;
}

/* The step made, freed or evicted an object at p: check its span after it. */
SH_NOCOV static void sh_touch(uintptr_t p)
{
	if (S.ntouched < SH_TOUCHED)
		S.touched[S.ntouched] = p;
	S.ntouched++;
}

/* The step changed more than spans (centrals' lists, caches): check all. */
SH_NOCOV static void sh_touch_all(void)
{
	S.check_all = 1;
}

SH_NOCOV static void sh_grave_push(const sh_obj *o)
{
	S.grave[S.grave_next] = (sh_grave){o->p, o->tiny ? o->req : o->usable, o->cls, o->tiny};
	S.grave_next = (S.grave_next + 1) % SH_GRAVE;
	if (S.ngrave < SH_GRAVE)
		S.ngrave++;
}

/* -------------------------------------------------------- quarantines */

SH_NOCOV static sh_held *sh_held_at(unsigned c, uint32_t k)
{
	return &S.held[c][(S.qhead[c] + k) % S.quarantine];
}

/* The held object at p, or NULL (always NULL in light). */
SH_NOCOV static const sh_held *sh_held_find(uintptr_t p)
{
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		for (uint32_t k = 0; k < S.qlen[c]; k++)
			if (sh_held_at(c, k)->p == p)
				return sh_held_at(c, k);
	return NULL;
}

/* An object that left a quarantine is freed for real: its slot's ALLOC and
 * QUARANTINE bits are clear, or its span went back to the heap. */
SH_NOCOV static void sh_expect_released(unsigned c, const sh_held *h)
{
	gort_object_info oi = {0};
	unsigned held = 1u << GORT_PLANE_ALLOC | 1u << GORT_PLANE_QUARANTINE;
	SH_ASSERT(gort_inspect_object((void *)h->p, &oi) != 0 || oi.base != h->p ||
			  !(oi.bits & held),
		  "object %llu at %#lx left quarantine %u but keeps bits %#x",
		  (unsigned long long)h->id, (unsigned long)h->p, c, oi.bits);
}

/* The oldest entry of quarantine c leaves it, as the library's must. */
SH_NOCOV static void sh_held_pop(unsigned c)
{
	sh_held h = *sh_held_at(c, 0);
	S.qhead[c] = (S.qhead[c] + 1) % S.quarantine;
	S.qlen[c]--;
	S.nheld--;
	S.held_bytes -= h.slot;
	S.foot -= h.foot;
	sh_expect_released(c, &h);
	sh_touch(h.p);
}

SH_NOCOV static void sh_held_push(unsigned c, const sh_obj *o)
{
	if (S.qlen[c] == S.quarantine)
		sh_held_pop(c);
	*sh_held_at(c, S.qlen[c]) = (sh_held){o->p, o->slot, o->foot, o->id};
	S.qlen[c]++;
	S.nheld++;
	S.held_bytes += o->slot;
	S.foot += o->foot; /* its pages stay pinned while it is held */
}

/* Flush and release empty the small rings (never the large FIFO). */
SH_NOCOV static void sh_drain_rings(void)
{
	for (unsigned c = 1; c < GORT_NUM_SIZE_CLASSES; c++)
		while (S.qlen[c])
			sh_held_pop(c);
}

/* Hardened: where the library put o, just freed. A small slot is zeroed in
 * either place; the pages of a large one must not be touched any more. */
SH_NOCOV static void sh_freed(const sh_obj *o)
{
	sh_touch(o->p);
	if (!S.hard)
		return;
	gort_object_info oi;
	int found = gort_inspect_object((void *)o->p, &oi) == 0 && oi.base == o->p;
	uint8_t bits = found ? oi.bits : 0;
	if (o->cls != 0 && found)
		sh_expect_zero(o->p, oi.elemsize, "a freed small slot");
	if (bits & 1u << GORT_PLANE_QUARANTINE) {
		SH_ASSERT((bits & 1u << GORT_PLANE_ALLOC) && !(bits & 1u << GORT_PLANE_FREED),
			  "quarantined object %llu at %#lx: bits %#x", (unsigned long long)o->id,
			  (unsigned long)o->p, bits);
		sh_held_push(o->cls, o);
		return;
	}
	/* Not quarantined: a small slot of a span the cache does not own
	 * waits in that span's FREED inbox (counted as freed already), unless
	 * it was the span's last live object: then that free moved the span to
	 * its central's empty list (swept: the slot's bits are clear) or back
	 * to the heap, and no live object may share its page. */
	uintptr_t page = o->p & ~(uintptr_t)(SH_PAGE - 1);
	size_t i = sh_iv_lower(page);
	int page_empty = !(i < S.nlive && S.iv[i].lo < page + SH_PAGE);
	uint8_t live_bits = 1u << GORT_PLANE_ALLOC | 1u << GORT_PLANE_QUARANTINE;
	SH_ASSERT(o->cls != 0 && ((bits & 1u << GORT_PLANE_FREED) ||
				  (page_empty && (!found || !(bits & live_bits)))),
		  "freed object %llu at %#lx (class %u) is neither quarantined nor in an "
		  "inbox, nor the last of a span given back: bits %#x, in a span %d",
		  (unsigned long long)o->id, (unsigned long)o->p, o->cls, bits, found);
}

/* Every held entry still has its QUARANTINE bit: the FIFOs are exactly the
 * model's. */
SH_NOCOV static void sh_check_held(void)
{
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		for (uint32_t k = 0; k < S.qlen[c]; k++) {
			const sh_held *h = sh_held_at(c, k);
			gort_object_info oi = {0};
			SH_ASSERT(gort_inspect_object((void *)h->p, &oi) == 0 && oi.base == h->p &&
					  (oi.bits & 1u << GORT_PLANE_QUARANTINE) &&
					  oi.span_class == c,
				  "object %llu at %#lx, entry %u of quarantine %u, is not "
				  "quarantined (bits %#x)",
				  (unsigned long long)h->id, (unsigned long)h->p, k, c, oi.bits);
		}
}

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

/* Hardened: usable size exactly the request, the class of request + 8,
 * p[n] zero (the canary's terminator), and never a held slot. */
SH_NOCOV static void sh_check_new_hard(uintptr_t p, size_t req, size_t usable, const sh_expect *e,
				       gort_object_info *oi)
{
	unsigned cls = sh_hard_class(req, e->align, e->noscan);
	size_t ureq = sh_hard_usable(req, cls);
	SH_ASSERT(usable == ureq && p % 8 == 0 && (!e->align || p % e->align == 0),
		  "object %#lx of %zu bytes (align %zu): usable %zu, want %zu", (unsigned long)p,
		  req, e->align, usable, ureq);
	SH_ASSERT(((const volatile uint8_t *)p)[ureq] == 0,
		  "object %#lx of %zu bytes: the byte after it is not the canary's zero",
		  (unsigned long)p, req);
	SH_ASSERT(!sh_held_find(p), "new object %#lx is a slot the model holds in quarantine",
		  (unsigned long)p);
	memset(oi, 0, sizeof *oi);
	oi->span_class = cls;
	SH_ASSERT(gort_inspect_object((void *)p, oi) == 0 && oi->base == p,
		  "new object %#lx is not at the start of a slot of an in-use span",
		  (unsigned long)p);
	uint8_t bits = oi->bits;
	SH_ASSERT((bits & 1u << GORT_PLANE_ALLOC) &&
			  !(bits & (1u << GORT_PLANE_FREED | 1u << GORT_PLANE_QUARANTINE)),
		  "new object %#lx: bitmap bits %#x (want ALLOC only)", (unsigned long)p, bits);
	SH_ASSERT(oi->span_class == cls, "request %zu (align %zu) landed in class %u, want %u", req,
		  e->align, oi->span_class, cls);
	if (cls != 0) {
		SH_ASSERT(oi->elemsize == S.sc[cls].size &&
				  ((bits >> GORT_PLANE_POINTERS) & 1) == !e->noscan,
			  "object %#lx of class %u: slot %zu, POINTERS bit %d (noscan %d)",
			  (unsigned long)p, cls, oi->elemsize, (bits >> GORT_PLANE_POINTERS) & 1,
			  e->noscan);
		return;
	}
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(p, &si) == 0 && si.base == p && si.request == ureq &&
			  si.owner == GORT_OWNER_LARGE,
		  "large object %#lx of %zu bytes: span base %#lx request %zu owner %u",
		  (unsigned long)p, req, (unsigned long)si.base, si.request, si.owner);
}

SH_NOCOV static void sh_check_new(uintptr_t p, size_t req, size_t usable, const sh_expect *e,
				  gort_object_info *oi)
{
	SH_ASSERT(usable >= req, "usable size %zu < request %zu at %#lx", usable, req,
		  (unsigned long)p);
	if (!e->tiny)
		SH_ASSERT(p % sh_abi_align(req, e->noscan) == 0,
			  "object %#lx of %zu bytes (noscan %d) breaks the %zu-byte alignment gort.h "
			  "promises",
			  (unsigned long)p, req, e->noscan, sh_abi_align(req, e->noscan));
	if (S.hard) {
		sh_check_new_hard(p, req, usable, e, oi);
		return;
	}
	SH_ASSERT(gort_inspect_object((void *)p, oi) == 0,
		  "new object %#lx is not in an in-use span", (unsigned long)p);
	uint8_t bits = oi->bits;
	if (e->tiny) {
		unsigned off = (unsigned)(p & 15);
		SH_ASSERT(oi->tiny && oi->span_class == GORT_TINY_SPAN_CLASS,
			  "tiny request %zu at %#lx not in a tiny span (class %u)", req,
			  (unsigned long)p, oi->span_class);
		SH_ASSERT((oi->tiny_live >> off) & 1, "tiny object %#lx: live mask %#x lacks it",
			  (unsigned long)p, oi->tiny_live);
		size_t r = req ? req : 1;
		size_t need = (r & 7) == 0 ? 8 : (r & 3) == 0 ? 4 : (r & 1) == 0 ? 2 : 1;
		SH_ASSERT(p % need == 0,
			  "tiny object of %zu bytes at %#lx breaks Go's alignment %zu", req,
			  (unsigned long)p, need);
		SH_ASSERT(off + usable <= GORT_TINY_SIZE,
			  "tiny object %#lx: usable size %zu reaches past its block",
			  (unsigned long)p, usable);
	} else {
		SH_ASSERT(p % 8 == 0, "object %#lx (%zu bytes) is not 8-byte aligned",
			  (unsigned long)p, req);
		SH_ASSERT(!oi->tiny && oi->base == p,
			  "new object %#lx is not at the start of its slot (slot base %#lx)",
			  (unsigned long)p, (unsigned long)oi->base);
		SH_ASSERT(!(bits & (1u << GORT_PLANE_QUARANTINE)), "new object %#lx has its QUARANTINE bit",
			  (unsigned long)p);
		if (e->align)
			SH_ASSERT(p % e->align == 0, "aligned_alloc(%zu, %zu) = %#lx is misaligned",
				  e->align, req, (unsigned long)p);
		if (oi->span_class != 0) {
			size_t cls_size = S.sc[oi->span_class].size;
			SH_ASSERT(usable == cls_size && oi->elemsize == cls_size,
				  "object %#lx of class %u: usable %zu, slot %zu, class size %zu",
				  (unsigned long)p, oi->span_class, usable, oi->elemsize, cls_size);
			SH_ASSERT(((bits >> GORT_PLANE_POINTERS) & 1) == !e->noscan,
				  "object %#lx allocated %s GORT_NOSCAN: POINTERS bit is %d",
				  (unsigned long)p, e->noscan ? "with" : "without",
				  (bits >> GORT_PLANE_POINTERS) & 1);
			if (!e->align || e->align <= 8)
				SH_ASSERT(oi->span_class == gort_size_to_class(sh_abi_need(
								req, req, e->noscan)),
					  "request %zu landed in class %u, want %u", req,
					  oi->span_class,
					  gort_size_to_class(sh_abi_need(req, req, e->noscan)));
		} else {
			SH_ASSERT(req > GORT_MAX_SMALL_SIZE || e->align > 8,
				  "request %zu became a large object", req);
			if (!e->in_place)
				SH_ASSERT(usable == sh_round_page(req ? req : 1),
					  "large object %#lx of %zu bytes: usable %zu",
					  (unsigned long)p, req, usable);
			gort_span_info si;
			SH_ASSERT(
				gort_inspect_span_of(p, &si) == 0 && si.base == p &&
					si.request == (req ? req : 1) &&
					si.owner == GORT_OWNER_LARGE,
				"large object %#lx of %zu bytes: span base %#lx request %zu owner %u",
				(unsigned long)p, req, (unsigned long)si.base, si.request,
				si.owner);
		}
	}
	SH_ASSERT((bits & 1u << GORT_PLANE_ALLOC) && !(bits & 1u << GORT_PLANE_FREED),
		  "new object %#lx: bitmap bits %#x (want ALLOC, not FREED)", (unsigned long)p,
		  bits);
}

/* Hardened: the bytes an object counts in heap_alloc, its slot or its
 * span (guard page included), which are also its extent. */
SH_NOCOV static size_t sh_slot_bytes(uintptr_t p, unsigned cls)
{
	if (cls != 0)
		return S.sc[cls].size;
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(p, &si) == 0, "large object %#lx has no span",
		  (unsigned long)p);
	return (size_t)si.npages * SH_PAGE;
}

/* Enter a fresh object into the model (count: it is a new malloc). */
SH_NOCOV static sh_obj *sh_add(uintptr_t p, size_t req, const sh_expect *e, int count)
{
	size_t usable = gort_usable_size((void *)p);
	gort_object_info oi;
	sh_check_new(p, req, usable, e, &oi);
	if (e->zero)
		sh_expect_zero(p, req, e->how == HOW_CALLOC ? "calloc" : "gort_alloc(ZERO)");
	/* Hardened, a small slot is zero whenever it is not live. */
	if (S.hard && oi.span_class != 0 && e->how != HOW_REALLOC)
		sh_expect_zero(p, req, "a new small object");
	sh_obj *o = &S.live[S.nlive];
	*o = (sh_obj){
		.p = p,
		.req = req,
		.usable = usable,
		.foot = e->foot,
		.id = S.next_id++,
		.cls = (uint8_t)(e->tiny ? GORT_TINY_SPAN_CLASS : oi.span_class),
		.tiny = (uint8_t)e->tiny,
		.noscan = (uint8_t)e->noscan,
		.slot = S.hard ? sh_slot_bytes(p, oi.span_class) : usable,
	};
	/* A tiny object owns its request: its usable size may grow as later
	 * objects of the block start further on. Hardened, an object owns its
	 * slot, canary included. */
	size_t extent = S.hard ? o->slot : e->tiny ? (req ? req : 1) : usable;
	sh_iv_insert(p, p + extent, e->tiny, o->id);
	S.nlive++;
	S.foot += o->foot;
	S.live_by_class[o->cls]++;
	if (!o->tiny)
		S.slot_bytes += o->slot;
	if (count) {
		S.mallocs++;
		S.tiny_allocs += o->tiny;
		S.large_allocs += o->cls == 0;
	}
	sh_fill(o);
	sh_touch(p);
	return o;
}

/* Take live[i] out of the model (count: it is a free). */
SH_NOCOV static sh_obj sh_remove(size_t i, int count)
{
	sh_obj o = S.live[i];
	sh_iv_remove(o.p);
	S.live[i] = S.live[--S.nlive];
	S.foot -= o.foot;
	S.live_by_class[o.cls]--;
	if (!o.tiny)
		S.slot_bytes -= o.slot;
	if (count)
		S.frees++;
	return o;
}

/* ------------------------------------------------------------ oom oracle */

/* A NULL from an allocation that should fit: errno must be ENOMEM, and no
 * free run nor the uncommitted arena may have room for `pages` (plus the
 * alignment slack). Returns normally if the failure was fair. */
SH_NOCOV static void sh_expect_fair_oom(const char *what, size_t n, size_t align)
{
	SH_ASSERT(errno == ENOMEM, "%s(%zu): NULL with errno %d, want ENOMEM", what, n, errno);
	size_t pages, need = S.hard ? n + SH_CANARY : n;
	if (need <= GORT_MAX_SMALL_SIZE && align <= SH_PAGE)
		pages = 10; /* the longest small span */
	else
		pages = sh_round_page(need ? need : 1) / SH_PAGE;
	if (align > SH_PAGE)
		pages += align / SH_PAGE - 1;
	pages += sh_guard_pages();
	gort_inspect_arena(&S.arena);
	size_t left = (S.arena.arena_bytes - (S.arena.arena_used - S.arena.arena_base)) / SH_PAGE;
	SH_ASSERT(left < pages, "%s(%zu, align %zu) failed with %zu arena pages uncommitted", what,
		  n, align, left);
	gort_run_info runs[256];
	size_t nr = gort_inspect_free_runs(runs, 256);
	for (size_t i = 0; i < nr && i < 256; i++)
		SH_ASSERT(runs[i].npages < pages,
			  "%s(%zu, align %zu) failed with a free run of %u pages at %#lx", what, n,
			  align, runs[i].npages, (unsigned long)runs[i].base);
}

/* ---------------------------------------------------------- the checks */

SH_NOCOV static void sh_gort_check(void)
{
	uint64_t before = gort_error_count();
	int rc = gort_check();
	SH_ASSERT(rc == 0 && gort_error_count() == before, "gort_check() = %d", rc);
	S.ntouched = 0;
	S.check_all = 0;
}

/* The spans of the step's objects, each checked on its own; past
 * SH_TOUCHED of them, the whole heap. */
SH_NOCOV static void sh_check_touched(void)
{
	if (S.check_all || S.ntouched > SH_TOUCHED) {
		sh_gort_check();
		return;
	}
	uint64_t before = gort_error_count();
	for (size_t i = 0; i < S.ntouched; i++) {
		int rc = gort_check_at((const void *)S.touched[i]);
		SH_ASSERT(rc == 0 && gort_error_count() == before,
			  "gort_check_at(%#lx) = %d (a span this step touched)",
			  (unsigned long)S.touched[i], rc);
	}
	S.ntouched = 0;
}

/* Whether the heap's page counts moved since the last call; remembers them. */
SH_NOCOV static int sh_pages_moved(const struct gort_memstats *ms)
{
	uint64_t pages[3] = {ms->heap_inuse, ms->heap_sys, ms->heap_released};
	int moved = memcmp(pages, S.pages, sizeof pages) != 0;
	memcpy(S.pages, pages, sizeof pages);
	return moved;
}

/* gort_memstats against the model. Returns whether the heap's page counts
 * moved since the last call (a span taken from or given back to the heap,
 * the arena grown, pages released): the heap's own structures changed. */
SH_NOCOV static int sh_check_stats(void)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	const struct gort_memstats *b = &S.base;
	/* Held objects are still allocated for the library: freed only when
	 * they leave their quarantine. */
	SH_ASSERT(ms.heap_objects == S.nlive + S.nheld,
		  "heap_objects %llu, model has %zu live and %zu in quarantine",
		  (unsigned long long)ms.heap_objects, S.nlive, S.nheld);
	SH_ASSERT(ms.mallocs == b->mallocs + S.mallocs && ms.frees == b->frees + S.frees - S.nheld,
		  "mallocs %llu frees %llu, model %llu %llu", (unsigned long long)ms.mallocs,
		  (unsigned long long)ms.frees, (unsigned long long)(b->mallocs + S.mallocs),
		  (unsigned long long)(b->frees + S.frees - S.nheld));
	SH_ASSERT(ms.quarantine_objects == S.nheld && ms.quarantine_bytes == S.held_bytes,
		  "quarantine: %llu objects of %llu bytes, model %zu of %llu",
		  (unsigned long long)ms.quarantine_objects,
		  (unsigned long long)ms.quarantine_bytes, S.nheld,
		  (unsigned long long)S.held_bytes);
	SH_ASSERT(ms.tiny_allocs == b->tiny_allocs + S.tiny_allocs, "tiny_allocs %llu, model %llu",
		  (unsigned long long)ms.tiny_allocs,
		  (unsigned long long)(b->tiny_allocs + S.tiny_allocs));
	SH_ASSERT(ms.large_allocs == b->large_allocs + S.large_allocs,
		  "large_allocs %llu, model %llu", (unsigned long long)ms.large_allocs,
		  (unsigned long long)(b->large_allocs + S.large_allocs));
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		SH_ASSERT(ms.by_size[c].mallocs - ms.by_size[c].frees ==
				  S.live_by_class[c] + S.qlen[c],
			  "class %u: %llu live by memstats, model %llu (+%u in quarantine)", c,
			  (unsigned long long)(ms.by_size[c].mallocs - ms.by_size[c].frees),
			  (unsigned long long)S.live_by_class[c], S.qlen[c]);
	/* Tiny blocks count 16 bytes each; a cache may hold one open block
	 * with no live object. */
	uint64_t slots = S.slot_bytes + S.held_bytes;
	uint64_t tiny_bytes = ms.heap_alloc - slots;
	SH_ASSERT(ms.heap_alloc >= slots && tiny_bytes % GORT_TINY_SIZE == 0 &&
			  tiny_bytes / GORT_TINY_SIZE >= S.tiny_blocks &&
			  tiny_bytes / GORT_TINY_SIZE <= S.tiny_blocks + 1,
		  "heap_alloc %llu: slots of the model %llu + %zu live tiny blocks",
		  (unsigned long long)ms.heap_alloc, (unsigned long long)slots, S.tiny_blocks);
	SH_ASSERT(ms.heap_inuse + ms.heap_idle == ms.heap_sys && ms.heap_released <= ms.heap_idle,
		  "pages: inuse %llu + idle %llu != sys %llu (released %llu)",
		  (unsigned long long)ms.heap_inuse, (unsigned long long)ms.heap_idle,
		  (unsigned long long)ms.heap_sys, (unsigned long long)ms.heap_released);
	return sh_pages_moved(&ms);
}

SH_NOCOV static size_t sh_load_spans(void)
{
	for (;;) {
		size_t n = gort_inspect_spans(S.spans, S.spans_cap);
		if (n <= S.spans_cap)
			return n;
		free(S.spans);
		S.spans_cap = n + 256;
		S.spans = malloc(S.spans_cap * sizeof *S.spans);
		SH_ASSERT(S.spans, "out of libc memory for %zu spans", S.spans_cap);
	}
}

/* One live object's bitmap bits, large request and pattern. */
SH_NOCOV static void sh_check_object(const sh_obj *o)
{
	gort_object_info oi;
	SH_ASSERT(gort_inspect_object((void *)o->p, &oi) == 0,
		  "live object %llu at %#lx is not in an in-use span", (unsigned long long)o->id,
		  (unsigned long)o->p);
	SH_ASSERT((oi.bits & 1u << GORT_PLANE_ALLOC) && !(oi.bits & 1u << GORT_PLANE_FREED),
		  "live object %llu at %#lx: bitmap bits %#x", (unsigned long long)o->id,
		  (unsigned long)o->p, oi.bits);
	SH_ASSERT(oi.span_class == o->cls, "live object %llu at %#lx: span class %u, model %u",
		  (unsigned long long)o->id, (unsigned long)o->p, oi.span_class, o->cls);
	if (o->tiny)
		SH_ASSERT((oi.tiny_live >> (o->p & 15)) & 1,
			  "live tiny object %llu at %#lx: live mask %#x", (unsigned long long)o->id,
			  (unsigned long)o->p, oi.tiny_live);
	else
		SH_ASSERT(oi.base == o->p, "live object %llu at %#lx: slot base %#lx",
			  (unsigned long long)o->id, (unsigned long)o->p, (unsigned long)oi.base);
	if (o->cls == 0) {
		gort_span_info si;
		SH_ASSERT(gort_inspect_span_of(o->p, &si) == 0 &&
				  si.request == (o->req ? o->req : 1),
			  "large object %llu at %#lx: span request %zu, model %zu",
			  (unsigned long long)o->id, (unsigned long)o->p, si.request, o->req);
	}
	if (S.hard)
		SH_ASSERT(((const volatile uint8_t *)o->p)[o->usable] == 0,
			  "live object %llu at %#lx: the canary's zero after it was overwritten",
			  (unsigned long long)o->id, (unsigned long)o->p);
	sh_verify(o, "in the deep check");
}

SH_NOCOV static void sh_deep_check(void)
{
	sh_gort_check();
	gort_inspect_arena(&S.arena);
	size_t n = sh_load_spans();
	uint64_t live[GORT_NUM_SPAN_CLASSES] = {0}, alloc[GORT_NUM_SPAN_CLASSES] = {0};
	uintptr_t at = S.arena.arena_base;
	int prev_free = 0;
	size_t nfree = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &S.spans[i];
		SH_ASSERT(s->base == at && s->npages > 0,
			  "spans listing: entry %zu at %#lx (%u pages), expected %#lx", i,
			  (unsigned long)s->base, s->npages, (unsigned long)at);
		at += (uintptr_t)s->npages * SH_PAGE;
		if (s->state == GORT_SPAN_FREE) {
			SH_ASSERT(!prev_free, "two adjacent free runs at %#lx",
				  (unsigned long)s->base);
			prev_free = 1;
			nfree++;
			continue;
		}
		prev_free = 0;
		SH_ASSERT(s->span_class < GORT_NUM_SPAN_CLASSES && s->nfreed <= s->nalloc &&
				  s->nalloc <= s->nelems,
			  "span %#lx: class %u, %u allocated, %u freed, %u slots",
			  (unsigned long)s->base, s->span_class, s->nalloc, s->nfreed, s->nelems);
		if (s->span_class == 0)
			SH_ASSERT(s->nalloc == 1 && s->nfreed == 0 && s->owner == GORT_OWNER_LARGE,
				  "large span %#lx: %u allocated, %u freed, owner %u",
				  (unsigned long)s->base, s->nalloc, s->nfreed, s->owner);
		live[s->span_class] += s->nalloc - s->nfreed;
		alloc[s->span_class] += s->nalloc;
	}
	SH_ASSERT(at == S.arena.arena_used, "spans listing ends at %#lx, committed arena at %#lx",
		  (unsigned long)at, (unsigned long)S.arena.arena_used);
	SH_ASSERT(gort_inspect_free_runs(NULL, 0) == nfree, "free runs: %zu, spans listing %zu",
		  gort_inspect_free_runs(NULL, 0), nfree);
	/* Quarantined slots keep their ALLOC bits. */
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++)
		SH_ASSERT(live[c] == S.live_by_class[c] + S.qlen[c],
			  "class %u: %llu live slots in the bitmap, model %llu (+%u in quarantine)",
			  c, (unsigned long long)live[c], (unsigned long long)S.live_by_class[c],
			  S.qlen[c]);
	sh_check_held();
	/* Tiny: the blocks of live tiny objects, plus each cache's open block
	 * that holds none. */
	gort_cache_info caches[8];
	size_t nc = gort_inspect_caches(caches, 8);
	uint64_t want_tiny = S.tiny_blocks;
	for (size_t i = 0; i < nc && i < 8; i++)
		if (caches[i].tiny && !sh_tiny_block_live(caches[i].tiny))
			want_tiny++;
	SH_ASSERT(live[GORT_TINY_SPAN_CLASS] == want_tiny,
		  "tiny: %llu live blocks in the bitmap, model %llu (%zu with live objects)",
		  (unsigned long long)live[GORT_TINY_SPAN_CLASS], (unsigned long long)want_tiny,
		  S.tiny_blocks);
	gort_central_info cen[GORT_NUM_SPAN_CLASSES];
	SH_ASSERT(gort_inspect_centrals(cen, GORT_NUM_SPAN_CLASSES) == GORT_NUM_SPAN_CLASSES,
		  "centrals: wrong row count");
	for (unsigned c = 0; c < GORT_NUM_SPAN_CLASSES; c++)
		SH_ASSERT(cen[c].nalloc == alloc[c], "central %u: %llu allocated, spans say %llu",
			  c, (unsigned long long)cen[c].nalloc, (unsigned long long)alloc[c]);
	for (size_t k = 0; k < SH_WINDOW && k < S.nlive; k++)
		sh_check_object(&S.live[(S.rot++) % S.nlive]);
}

/* Hardened: no small object, and the only spans in use are those of the
 * large objects still in quarantine (nothing but a new runtime empties the
 * large FIFO). */
SH_NOCOV static void sh_expect_hard_shape(const char *when)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	SH_ASSERT(S.nlive == 0 && S.nheld == S.qlen[0] && ms.heap_objects == S.nheld,
		  "%s: %llu objects, model %zu held (%u large)", when,
		  (unsigned long long)ms.heap_objects, S.nheld, S.qlen[0]);
	size_t n = sh_load_spans(), inuse = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &S.spans[i];
		if (s->state == GORT_SPAN_FREE)
			continue;
		inuse++;
		SH_ASSERT(s->span_class == 0 && sh_held_find(s->base),
			  "%s: span %#lx of class %u in use, not a quarantined large object", when,
			  (unsigned long)s->base, s->span_class);
	}
	SH_ASSERT(inuse == S.qlen[0], "%s: %zu spans in use, %u large objects held", when, inuse,
		  S.qlen[0]);
	sh_gort_check();
}

/* The heap as it must be between inputs: nothing live, one free run over
 * the committed arena (none if nothing was ever committed). */
SH_NOCOV static void sh_expect_initial_shape(const char *when)
{
	if (S.hard) {
		sh_expect_hard_shape(when);
		return;
	}
	struct gort_memstats ms;
	gort_memstats(&ms);
	SH_ASSERT(ms.heap_objects == 0 && ms.heap_alloc == 0 && ms.heap_inuse == 0,
		  "%s: %llu objects, heap_alloc %llu, heap_inuse %llu", when,
		  (unsigned long long)ms.heap_objects, (unsigned long long)ms.heap_alloc,
		  (unsigned long long)ms.heap_inuse);
	gort_inspect_arena(&S.arena);
	size_t committed = (S.arena.arena_used - S.arena.arena_base) / SH_PAGE;
	gort_run_info runs[4];
	size_t nr = gort_inspect_free_runs(runs, 4);
	if (committed == 0) {
		SH_ASSERT(nr == 0, "%s: %zu free runs in an empty arena", when, nr);
	} else {
		SH_ASSERT(nr == 1, "%s: %zu free runs, want 1", when, nr);
		SH_ASSERT(runs[0].base == S.arena.arena_base && runs[0].npages == committed,
			  "%s: the free run is %u pages at %#lx, the committed arena %zu pages at "
			  "%#lx",
			  when, runs[0].npages, (unsigned long)runs[0].base, committed,
			  (unsigned long)S.arena.arena_base);
	}
	size_t ns = gort_inspect_spans(NULL, 0);
	SH_ASSERT(ns == nr, "%s: %zu spans and runs, want only the free run", when, ns);
	sh_gort_check();
}

static void sh_step_checks(void)
{
	if (sh_check_stats() || S.op_no % SH_CHECK_EVERY == SH_CHECK_EVERY - 1)
		sh_touch_all();
	sh_check_touched();
	if (S.op_no % SH_DEEP_EVERY == SH_DEEP_EVERY - 1)
		sh_deep_check();
}

/* --------------------------------------------------------------- sizes */

/* Impossible sizes: beyond the arena, or beyond the address space. */
static size_t sh_huge_size(fdp_t *d)
{
	static const size_t extra[] = {1, SH_PAGE, (size_t)1 << 20};
	switch (fdp_range(d, 0, 5)) {
	case 0: return SH_ARENA_BYTES + FDP_PICK(d, extra);
	case 1: return SH_ARENA_BYTES * 2;
	case 2: return (size_t)1 << (40 + fdp_range(d, 0, 22));
	case 3: return SIZE_MAX - fdp_range(d, 0, 2 * SH_PAGE);
	case 4: return SIZE_MAX / 2 + 1;
	default: return SH_ARENA_BYTES + fdp_range(d, 1, (size_t)1 << 32);
	}
}

/* A request size: tiny, a size class boundary +-1, any small, large around
 * page boundaries, big (to SH_MAX_LARGE, past the heap's exact-length
 * buckets of up to 127 pages) or zero. Never huge. Big requests are rare:
 * a calloc of megabytes is a memset of megabytes. */
static size_t sh_size(fdp_t *d)
{
	switch (fdp_range(d, 0, 7)) {
	case 6:
		if (fdp_range(d, 0, 3) == 0)
			return fdp_range(d, 256 << 10, SH_MAX_LARGE);
		return fdp_range(d, GORT_MAX_SMALL_SIZE + 1, 256 << 10);
	case 0: return fdp_range(d, 0, 16);
	case 1:
	case 2: {
		unsigned c = (unsigned)fdp_range(d, 1, GORT_NUM_SIZE_CLASSES - 1);
		int delta = (int)fdp_range(d, 0, 2) - 1;
		return (size_t)((int64_t)S.sc[c].size + delta);
	}
	case 3: {
		unsigned bits = (unsigned)fdp_range(d, 3, 15);
		return fdp_range(d, 0, ((uint64_t)1 << bits) - 1);
	}
	case 4: return fdp_range(d, GORT_MAX_SMALL_SIZE + 1, 256 << 10);
	case 5: {
		size_t pages = fdp_range(d, 4, 256);
		int delta = (int)fdp_range(d, 0, 2) - 1;
		return pages * SH_PAGE + (size_t)(int64_t)delta;
	}
	default: return 0;
	}
}

/* ------------------------------------------------------------ operations */

/* An index into the live objects (or any list of n): always two tail bytes,
 * so what follows decodes the same whatever n is when the input runs. */
static size_t sh_pick(fdp_t *d, size_t n)
{
	size_t v = fdp_u16(d);
	return n ? v % n : 0;
}

static void sh_expect_enomem(void *p, const char *what, size_t n)
{
	SH_ASSERT(p == NULL && errno == ENOMEM, "%s(%#zx) = %p, errno %d: want NULL and ENOMEM",
		  what, n, p, errno);
}

/* Run an allocation that succeeded or failed fairly into the model. */
static void sh_took(void *p, size_t n, const sh_expect *e, const char *what)
{
	if (!p) {
		sh_expect_fair_oom(what, n, e->align);
		return;
	}
	sh_add((uintptr_t)p, n, e, 1);
}

static void op_malloc(fdp_t *d)
{
	size_t n = sh_size(d);
	sh_step *st = sh_op("malloc", n, 0, 0);
	sh_expect e = {.how = HOW_MALLOC, .foot = sh_footprint(n, 0, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_malloc(n);
	sh_ret(st, (uintptr_t)p);
	sh_took(p, n, &e, "malloc");
}

static void op_calloc(fdp_t *d)
{
	size_t n = sh_size(d);
	size_t elt = (size_t)1 << fdp_range(d, 0, 6);
	size_t cnt = n / elt + fdp_range(d, 0, 1);
	sh_step *st = sh_op("calloc", cnt, elt, 0);
	sh_expect e = {.how = HOW_CALLOC, .zero = 1, .foot = sh_footprint(cnt * elt, 0, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_calloc(cnt, elt);
	sh_ret(st, (uintptr_t)p);
	sh_took(p, cnt * elt, &e, "calloc");
}

static void op_aligned(fdp_t *d)
{
	size_t align = (size_t)1 << fdp_range(d, 0, 20);
	size_t n = sh_size(d);
	if (n > SH_MAX_LARGE / 2)
		n /= 4;
	sh_step *st = sh_op("aligned_alloc", align, n, 0);
	sh_expect e = {.how = HOW_ALIGNED, .align = align, .foot = sh_footprint(n, align, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_aligned_alloc(align, n);
	sh_ret(st, (uintptr_t)p);
	sh_took(p, n, &e, "aligned_alloc");
}

static void op_alloc(fdp_t *d)
{
	static const unsigned flagsets[] = {GORT_NOSCAN, GORT_NOSCAN, 0, GORT_ZERO,
					    GORT_NOSCAN | GORT_ZERO};
	unsigned flags = FDP_PICK(d, flagsets);
	size_t n = fdp_bool(d) ? fdp_range(d, 0, 17) : sh_size(d);
	int tiny = !S.hard && flags == GORT_NOSCAN && n < GORT_TINY_SIZE;
	sh_step *st = sh_op("gort_alloc", n, flags, 0);
	sh_expect e = {.how = HOW_ALLOC,
		       .noscan = !!(flags & GORT_NOSCAN),
		       .tiny = tiny,
		       .zero = !!(flags & GORT_ZERO),
		       .foot = sh_footprint(n, 0, tiny)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_alloc(n, flags);
	sh_ret(st, (uintptr_t)p);
	sh_took(p, n, &e, "gort_alloc");
}

/* Up to 64 small objects of one request at once: fills spans (and tiny blocks)
 * to where caches move on to the next span and centrals see full ones,
 * which single allocations would need a long input to reach. Every object
 * is checked as any new one (a snapshot lookup takes only the heap lock). */
static void op_alloc_many(fdp_t *d)
{
	static const unsigned flagsets[] = {0, GORT_NOSCAN, GORT_ZERO};
	unsigned flags = FDP_PICK(d, flagsets);
	size_t n = fdp_bool(d) ? fdp_range(d, 0, 17) : sh_size(d) % (GORT_MAX_SMALL_SIZE + 1);
	size_t k = fdp_range(d, 2, 64);
	int tiny = !S.hard && flags == GORT_NOSCAN && n < GORT_TINY_SIZE;
	sh_expect e = {.how = HOW_ALLOC,
		       .noscan = !!(flags & GORT_NOSCAN),
		       .tiny = tiny,
		       .zero = !!(flags & GORT_ZERO),
		       .foot = sh_footprint(n, 0, tiny)};
	for (size_t i = 0; i < k && sh_room_for(e.foot); i++) {
		sh_step *st = sh_op("gort_alloc(many)", n, flags, 0);
		errno = 0;
		void *p = gort_alloc(n, flags);
		sh_ret(st, (uintptr_t)p);
		if (!p) {
			sh_expect_fair_oom("gort_alloc", n, 0);
			break;
		}
		sh_add((uintptr_t)p, n, &e, 1);
	}
}

static void op_realloc(fdp_t *d)
{
	if (S.nlive == 0)
		return;
	size_t i = sh_pick(d, S.nlive);
	size_t n = fdp_range(d, 0, 3) == 0 ? fdp_range(d, 0, 24) : sh_size(d);
	sh_obj o = S.live[i];
	sh_step *st = sh_op("realloc", o.p, n, o.id);
	sh_verify(&o, "realloc");
	size_t foot = sh_footprint(n, 0, 0);
	if (!sh_room_for(foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *q = gort_realloc((void *)o.p, n);
	sh_ret(st, (uintptr_t)q);
	if (!q) {
		sh_expect_fair_oom("realloc", n, 0);
		sh_verify(&o, "after a failed realloc");
		return;
	}
	size_t keep = o.req < n ? o.req : n;
	sh_verify_at(&o, (uintptr_t)q, keep, "after realloc (the prefix)");
	int moved = (uintptr_t)q != o.p;
	sh_remove(i, moved);
	if (moved) {
		sh_freed(&o);
		sh_grave_push(&o);
	}
	/* In place, the object keeps its slot and so its POINTERS bit. */
	sh_expect e = {.how = HOW_REALLOC,
		       .in_place = !moved,
		       .noscan = moved ? 0 : o.noscan,
		       .foot = foot};
	sh_add((uintptr_t)q, n, &e, moved);
}

SH_NOCOV static void sh_free_index(size_t i)
{
	sh_obj o = S.live[i];
	sh_step *st = sh_op("free", o.p, o.req, o.id);
	sh_verify(&o, "free");
	sh_remove(i, 1);
	gort_free((void *)o.p);
	sh_freed(&o);
	sh_grave_push(&o);
	sh_ret(st, 0);
}

static void op_free(fdp_t *d)
{
	if (S.nlive)
		sh_free_index(sh_pick(d, S.nlive));
}

/* Free a run of the most recent objects: empties spans, so spans go back. */
static void op_free_many(fdp_t *d)
{
	size_t k = fdp_range(d, 1, 64);
	while (k-- && S.nlive)
		sh_free_index(S.nlive - 1);
}

static void op_release(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_release", 0, 0, 0);
	sh_ret(st, gort_release());
	sh_drain_rings();
	sh_touch_all();
}

static void op_flush(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_flush_caches", 0, 0, 0);
	gort_flush_caches();
	sh_drain_rings();
	sh_touch_all();
	sh_ret(st, 0);
}

static void op_stats(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_memstats+deep_check", 0, 0, 0);
	sh_deep_check();
	sh_ret(st, 0);
}

static void op_usable(fdp_t *d)
{
	if (S.nlive == 0)
		return;
	const sh_obj *o = &S.live[sh_pick(d, S.nlive)];
	sh_step *st = sh_op("usable_size", o->p, o->req, o->id);
	size_t u = gort_usable_size((void *)o->p);
	sh_ret(st, u);
	if (o->tiny)
		SH_ASSERT(u >= o->req && (o->p & 15) + u <= GORT_TINY_SIZE,
			  "tiny %#lx of %zu bytes: usable %zu", (unsigned long)o->p, o->req, u);
	else
		SH_ASSERT(u == o->usable, "usable_size(%#lx) = %zu, was %zu", (unsigned long)o->p,
			  u, o->usable);
}

/* Impossible requests: NULL with ENOMEM (EINVAL for a bad alignment), and
 * nothing changes. */
static void op_impossible(fdp_t *d)
{
	size_t n = sh_huge_size(d);
	unsigned what = (unsigned)fdp_range(d, 0, 6);
	sh_step *st = sh_op("impossible", what, n, 0);
	void *p = NULL;
	errno = 0;
	switch (what) {
	case 0: sh_expect_enomem(p = gort_malloc(n), "malloc", n); break;
	case 1: {
		size_t elt = (size_t)fdp_range(d, 2, 4096);
		size_t cnt = SIZE_MAX / elt + fdp_range(d, 1, 3);
		sh_expect_enomem(p = gort_calloc(cnt, elt), "calloc(overflowing count)", cnt);
		break;
	}
	case 2: sh_expect_enomem(p = gort_calloc(1, n), "calloc", n); break;
	case 3:
		sh_expect_enomem(p = gort_aligned_alloc((size_t)1 << fdp_range(d, 0, 20), n),
				 "aligned_alloc", n);
		break;
	case 4:
		sh_expect_enomem(p = gort_alloc(n, (unsigned)fdp_range(d, 0, 3)), "gort_alloc", n);
		break;
	case 5: {
		static const size_t bad[] = {0, 3, 24, 48, 1000, (SIZE_MAX >> 1) + 2};
		size_t align = FDP_PICK(d, bad);
		p = gort_aligned_alloc(align, 64);
		SH_ASSERT(p == NULL && errno == EINVAL,
			  "aligned_alloc(%zu, 64) = %p errno %d: want NULL and EINVAL", align, p,
			  errno);
		break;
	}
	default:
		if (S.nlive) {
			const sh_obj *o = &S.live[sh_pick(d, S.nlive)];
			sh_expect_enomem(p = gort_realloc((void *)o->p, n), "realloc", n);
			sh_verify(o, "after realloc to an impossible size");
		}
		break;
	}
	sh_ret(st, (uintptr_t)p);
}

/* ------------------------------------------------------------ the loop */

typedef void (*sh_opfn)(fdp_t *d);

/* Weights out of 256: more allocation than freeing, so objects pile up.
 * gort_release is rare: after it every page an input touches faults again,
 * which costs more than anything else the harness does; so is the explicit
 * deep check, which also runs every SH_DEEP_EVERY steps anyway. */
static const struct {
	unsigned upto;
	sh_opfn fn;
} sh_ops[] = {
	{36, op_malloc},      {40, op_alloc_many}, {56, op_calloc}, {84, op_realloc},
	{100, op_aligned},    {140, op_alloc},	   {210, op_free},  {218, op_free_many},
	{220, op_release},    {226, op_flush},	   {228, op_stats}, {240, op_usable},
	{256, op_impossible},
};

static sh_opfn sh_pick_op(unsigned byte)
{
	for (size_t i = 0; i < sizeof sh_ops / sizeof sh_ops[0]; i++)
		if (byte < sh_ops[i].upto)
			return sh_ops[i].fn;
	return op_impossible;
}

static void sh_begin_input(void)
{
	if (++S.gsh_inputs == 1 && !S.hard)
		sh_gsh("# %s input as a gortsh script\ninit arena=256M procs=1 seed=0 threads=off",
		       S.harness);
	else if (S.gsh_inputs == 1)
		sh_gsh("# %s input as a gortsh script\ninit arena=256M procs=1 seed=%llu threads=off "
		       "harden=%s quarantine=%u",
		       S.harness, (unsigned long long)S.seed, gort_harden_name(S.preset),
		       S.quarantine);
	memset(S.qhead, 0, sizeof S.qhead);
	memset(S.qlen, 0, sizeof S.qlen);
	S.nheld = 0;
	S.held_bytes = 0;
	S.nlive = 0;
	S.tiny_blocks = 0;
	S.foot = 0;
	S.slot_bytes = 0;
	memset(S.live_by_class, 0, sizeof S.live_by_class);
	S.mallocs = S.frees = S.tiny_allocs = S.large_allocs = 0;
	S.ngrave = S.grave_next = 0;
	S.op_no = 0;
	S.ntouched = 0;
	S.check_all = 0;
	S.nring = 0;
	S.rot = 0;
	/* The previous input ended with sh_expect_initial_shape. */
	gort_memstats(&S.base);
	sh_pages_moved(&S.base);
	SH_ASSERT(S.base.heap_objects == 0 && S.base.heap_inuse == 0,
		  "at the start of an input: %llu objects, %llu bytes in use",
		  (unsigned long long)S.base.heap_objects, (unsigned long long)S.base.heap_inuse);
}

/* Free everything and flush the cache: the heap must be as it was. Every
 * SH_RELEASE_EVERY-th input (and the first) also releases the heap to the OS:
 * releasing after every input would make the next one fault in every page it
 * touches again, which halves the executions per second; gort_release is
 * also one of the fuzzed operations, so its paths are covered within inputs. */
static void sh_end_input(void)
{
	static unsigned long inputs;
	sh_deep_check();
	sh_gsh_state();
	while (S.nlive)
		sh_free_index(S.nlive - 1);
	sh_check_stats();
	gort_flush_caches();
	sh_drain_rings();
	if (inputs++ % SH_RELEASE_EVERY == 0)
		gort_release();
	sh_check_stats();
	sh_expect_initial_shape("after freeing everything and gort_flush_caches");
}

/* Once per process: the harness's name and the environment's switches. */
static void sh_setup(const char *harness)
{
	S.harness = harness;
	const char *t = getenv("GORT_FUZZ_TRACE");
	S.trace = t && *t && *t != '0';
	t = getenv("GORT_FUZZ_GSH");
	S.gsh = t && *t && *t != '0';
	S.next_id = 1;
}

/* The runtime in step mode with a modest arena, under a preset (hardened:
 * a quarantine of 1..SH_QMAX and a seed, which keys the canaries and
 * paranoid's random choices), and the size class table the sizes are drawn
 * from. A runtime already up is shut down first: every pointer it handed
 * out is forgotten, as the model must be (sh_begin_input). */
static void sh_start(int preset, unsigned quarantine, uint64_t seed)
{
	static int up;
	if (up)
		gort_shutdown();
	S.preset = preset;
	S.hard = preset != GORT_HARDEN_LIGHT;
	S.quarantine = S.hard ? quarantine : 0;
	S.seed = seed;
	gort_config cfg = {.arena_bytes = SH_ARENA_BYTES,
			   .procs = 1,
			   .threaded = 0,
			   .harden = preset,
			   .quarantine = S.quarantine,
			   .seed = seed};
	if ((S.hard && (quarantine < 1 || quarantine > SH_QMAX)) || gort_init(&cfg) != 0 ||
	    gort_harden_preset() != preset) {
		fprintf(stderr, "%s: gort_init(%s, quarantine %u) failed, errno %d\n", S.harness,
			gort_harden_name(preset), quarantine, errno);
		abort();
	}
	up = 1;
	size_t n = gort_inspect_sizeclasses(S.sc, GORT_NUM_SIZE_CLASSES);
	if (n != GORT_NUM_SIZE_CLASSES) {
		fprintf(stderr, "%s: %zu size classes, expected %d\n", S.harness, n,
			GORT_NUM_SIZE_CLASSES);
		abort();
	}
}

/* Once per process (fuzz_alloc, fuzz_misuse): light, for good. */
SH_UNUSED static void sh_init(const char *harness)
{
	sh_setup(harness);
	sh_start(GORT_HARDEN_LIGHT, 0, 0);
}

#endif /* GORT_FUZZ_SHADOW_H */
