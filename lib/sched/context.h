/*
 * context.h — execution contexts: a stack pointer to come back to, and the
 * switch between two of them (context_x86_64.S, context_aarch64.S).
 *
 * A context that is not running is one saved stack pointer. The switch
 * stores the callee-saved registers and the floating-point control state on
 * the stack it leaves, records that stack pointer in `from`, loads the one
 * in `to` and pops the same frame there. Caller-saved registers need no
 * saving: the switch is an ordinary function call to the compiler. So a
 * switch is about 20 instructions, no system call (ucontext's swapcontext
 * makes one per switch to save the signal mask; gort Gs do not own one).
 *
 * Saved per switch:
 *   x86-64 (SysV):    rbx rbp r12 r13 r14 r15, MXCSR, x87 control word
 *   aarch64 (AAPCS64): x19-x28, x29 (fp), x30 (lr), d8-d15, FPCR
 * The rounding mode and exception masks therefore belong to each context:
 * fesetround() in one G does not leak into the next G run on that thread.
 *
 * What this header adds to the assembly is the sanitizer and Valgrind
 * bookkeeping: ASan and TSan track which stack is current and must hear of
 * every switch, or they report false errors (or crash) on the first access
 * to a G's stack. gort_ctx_switch() does it; gort_ctx_switch_raw() is the
 * bare assembly for the builds and callers that need nothing else.
 *
 * Invariants:
 *  - `sp` is the first field (the assembly loads and stores it at offset 0)
 *    and is meaningful only while the context is switched out.
 *  - A fresh context's stack top is 16-byte aligned, and entry(arg) is called
 *    with the stack aligned as its ABI requires (rsp+8 or sp a multiple of 16
 *    at the callee's first instruction).
 *  - entry never returns; if it does the trampoline calls
 *    gort_ctx_entry_returned(), which writes a line to stderr and aborts.
 *  - A context runs on one OS thread at a time but may be resumed on another
 *    thread than the one it left: nothing here is thread-local. (Compiled C
 *    that caches a thread-local address across a switch is the caller's
 *    problem: the scheduler must not.)
 *  - Every field besides `sp` is bookkeeping for tools and inspection; the
 *    layout is the same in every build.
 */
#ifndef GORT_SCHED_CONTEXT_H
#define GORT_SCHED_CONTEXT_H

/* ------------------------------------------------------------ frame layout
 * Shared with the assembly, which includes this header. Offsets are from the
 * saved stack pointer; the return address of the switch sits right above the
 * register area. */
#if defined(__x86_64__)
#define GORT_CTX_MXCSR 0 /* 4 bytes */
#define GORT_CTX_FPUCW 4 /* 2 bytes, 2 bytes of padding */
#define GORT_CTX_R15 8
#define GORT_CTX_R14 16
#define GORT_CTX_R13 24
#define GORT_CTX_R12 32
#define GORT_CTX_RBX 40
#define GORT_CTX_RBP 48
#define GORT_CTX_SAVE 56 /* bytes the switch allocates; the return address is at 56 */
#elif defined(__aarch64__)
#define GORT_CTX_X19 0 /* x19..x28 in pairs at 0, 16, 32, 48, 64 */
#define GORT_CTX_X29 80
#define GORT_CTX_X30 88
#define GORT_CTX_D8 96 /* d8..d15 in pairs at 96, 112, 128, 144 */
#define GORT_CTX_FPCR 160
#define GORT_CTX_SAVE 176 /* 16-byte multiple, as sp must always be */
#else
#error "gort: no context switch for this architecture (x86-64 and aarch64 only)"
#endif

#ifndef __ASSEMBLER__

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Sanitizer detection: the Makefile defines GORT_SAN_*; the compilers' own
 * macros cover builds made another way. */
#if defined(GORT_SAN_ADDRESS) || defined(__SANITIZE_ADDRESS__)
#define GORT_CTX_ASAN 1
#endif
#if defined(GORT_SAN_THREAD) || defined(__SANITIZE_THREAD__)
#define GORT_CTX_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(GORT_CTX_ASAN)
#define GORT_CTX_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(GORT_CTX_TSAN)
#define GORT_CTX_TSAN 1
#endif
#endif

#ifdef GORT_CTX_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GORT_CTX_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#if defined(GORT_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GORT_CTX_VALGRIND 1
#endif
#endif

#define CTX_HIDDEN __attribute__((visibility("hidden")))

typedef struct gort_ctx {
	void *sp;	      /* saved stack pointer while switched out */
	const void *stack_lo; /* lowest byte of the stack this context runs on */
	size_t stack_size;    /* its size (0 if unknown) */
	void *fiber;	      /* TSan fiber, NULL in other builds */
	void *fake_stack;     /* ASan fake stack kept while switched out */
	unsigned vg_stack_id; /* Valgrind stack id, 0 if not registered */
	unsigned flags;	      /* GORT_CTX_* below */
} gort_ctx;

_Static_assert(offsetof(gort_ctx, sp) == 0, "the assembly stores sp at offset 0");

enum {
	GORT_CTX_OWN_FIBER = 1u << 0, /* fiber was created here; destroy frees it */
	GORT_CTX_THREAD = 1u << 1,    /* describes an OS thread's own stack */
};

/* The assembly. gort_ctx_switch_raw stores the callee-saved state on the
 * current stack, the stack pointer in from->sp, and resumes to->sp. It
 * returns when some other context switches back to `from`. */
CTX_HIDDEN void gort_ctx_switch_raw(gort_ctx *from, gort_ctx *to);
/* Where a fresh context starts: calls fn(arg, arg2) with the three taken from
 * the callee-saved registers gort_ctx_init put in its first frame. */
CTX_HIDDEN extern char gort_ctx_trampoline[];
/* Reached only if an entry function returns: reports it on stderr, aborts. */
CTX_HIDDEN __attribute__((noreturn)) void gort_ctx_entry_returned(void);

#ifdef GORT_CTX_ASAN
/* First code on a fresh stack: ASan must hear that the switch onto it ended
 * before any instrumented frame runs there. */
static inline void gort_ctx_asan_first_run_(void *arg, void (*entry)(void *))
{
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
	entry(arg);
}
#endif

/* Reads the floating-point control state of this thread; a fresh context
 * starts with it, as a new pthread inherits its creator's (POSIX). */
static inline uint64_t gort_ctx_fp_control_(void)
{
#if defined(__x86_64__)
	uint32_t mxcsr;
	uint16_t cw;
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return (uint64_t)mxcsr | (uint64_t)cw << 32;
#else
	uint64_t fpcr;
	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	return fpcr;
#endif
}

/*
 * Prepares c so that the first gort_ctx_switch to it runs entry(arg) on the
 * stack [stack_lo, stack_lo + size). The stack must be writable at its top;
 * only its top 96 (x86-64) or 208 (aarch64) bytes are written here. c is
 * overwritten: destroy a context before preparing it again.
 */
static inline void gort_ctx_init(gort_ctx *c, void *stack_lo, size_t size, void (*entry)(void *),
				 void *arg)
{
	uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
	void *fn = (void *)entry, *a1 = arg, *a2 = NULL;

	memset(c, 0, sizeof *c);
	c->stack_lo = stack_lo;
	c->stack_size = size;
#ifdef GORT_CTX_ASAN
	/* A stack used before keeps the redzones of the frames that were live
	 * when its last context left it; they are not this context's. */
	__asan_unpoison_memory_region(stack_lo, size);
	fn = (void *)gort_ctx_asan_first_run_;
	a2 = (void *)entry;
#endif
#ifdef GORT_CTX_TSAN
	c->fiber = __tsan_create_fiber(0);
	c->flags |= GORT_CTX_OWN_FIBER;
#endif
#ifdef GORT_CTX_VALGRIND
	c->vg_stack_id = VALGRIND_STACK_REGISTER(stack_lo, (char *)stack_lo + size);
#endif

#if defined(__x86_64__)
	/* [top-16, top): two zero words, the outermost "caller". Under them the
	 * trampoline's address where the switch's `ret` finds it, so after that
	 * ret rsp = top - 16: a multiple of 16 at the trampoline's call, as SysV
	 * wants. r12 = fn, r13 = arg, r14 = second argument; rbp = 0 ends
	 * frame-pointer chains. */
	uint64_t *f = (uint64_t *)(top - 16 - 8 - GORT_CTX_SAVE);
	memset(f, 0, GORT_CTX_SAVE + 24);
	f[GORT_CTX_MXCSR / 8] = gort_ctx_fp_control_(); /* MXCSR, then the x87 word */
	f[GORT_CTX_R12 / 8] = (uint64_t)(uintptr_t)fn;
	f[GORT_CTX_R13 / 8] = (uint64_t)(uintptr_t)a1;
	f[GORT_CTX_R14 / 8] = (uint64_t)(uintptr_t)a2;
	f[GORT_CTX_SAVE / 8] = (uint64_t)(uintptr_t)gort_ctx_trampoline;
#else
	/* [top-16, top): a zero frame record. Under it the switch's save area,
	 * whose x30 is the trampoline: after the switch's `ret` sp = top - 16.
	 * x19 = fn, x20 = arg, x21 = second argument; x29 = 0. */
	uint64_t *f = (uint64_t *)(top - 16 - GORT_CTX_SAVE);
	memset(f, 0, GORT_CTX_SAVE + 16);
	f[GORT_CTX_X19 / 8 + 0] = (uint64_t)(uintptr_t)fn;
	f[GORT_CTX_X19 / 8 + 1] = (uint64_t)(uintptr_t)a1;
	f[GORT_CTX_X19 / 8 + 2] = (uint64_t)(uintptr_t)a2;
	f[GORT_CTX_X30 / 8] = (uint64_t)(uintptr_t)gort_ctx_trampoline;
	f[GORT_CTX_FPCR / 8] = gort_ctx_fp_control_();
#endif
	c->sp = f;
}

/* glibc declares it only under _GNU_SOURCE; this header may come after
 * <pthread.h> was included without it. */
extern int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);

/*
 * Describes the calling OS thread as a context (the scheduler's g0): it is
 * running, so it needs no frame; it can be switched away from and back to.
 * Records the thread's stack bounds (ASan needs them when switching back).
 * Returns 0, or -1 if the bounds are unknown (the context still works).
 */
static inline int gort_ctx_for_thread(gort_ctx *c)
{
	/* Asked once per thread: for the main thread glibc answers by reading
	 * /proc/self/maps, which a runtime re-initialised per fuzz input paid
	 * every time. */
	static __thread struct {
		void *lo;
		size_t size;
		int rc; /* 0 known, -1 unknown */
		bool asked;
	} bounds;
	pthread_attr_t attr;

	memset(c, 0, sizeof *c);
	c->flags = GORT_CTX_THREAD;
	if (!bounds.asked) {
		bounds.rc = -1;
		if (pthread_getattr_np(pthread_self(), &attr) == 0) {
			if (pthread_attr_getstack(&attr, &bounds.lo, &bounds.size) == 0)
				bounds.rc = 0;
			pthread_attr_destroy(&attr);
		}
		bounds.asked = true;
	}
	void *lo = bounds.lo;
	size_t size = bounds.size;
	int rc = bounds.rc;
	c->stack_lo = rc == 0 ? lo : NULL;
	c->stack_size = rc == 0 ? size : 0;
#ifdef GORT_CTX_TSAN
	c->fiber = __tsan_get_current_fiber();
#endif
	return rc;
}

/* Releases what gort_ctx_init took (the TSan fiber, the Valgrind stack id).
 * Never on the running context; the stack itself belongs to the caller. */
static inline void gort_ctx_destroy(gort_ctx *c)
{
#ifdef GORT_CTX_TSAN
	if ((c->flags & GORT_CTX_OWN_FIBER) && c->fiber)
		__tsan_destroy_fiber(c->fiber);
#endif
#ifdef GORT_CTX_VALGRIND
	if (c->vg_stack_id)
		VALGRIND_STACK_DEREGISTER(c->vg_stack_id);
#endif
	memset(c, 0, sizeof *c);
}

/*
 * Saves the running context in `from` and resumes `to`; returns when some
 * context switches back to `from` (on whichever thread does so). `from` must
 * be the context actually running; `to` a fresh or switched-out one.
 */
static inline void gort_ctx_switch(gort_ctx *from, gort_ctx *to)
{
#ifdef GORT_CTX_ASAN
	__sanitizer_start_switch_fiber(&from->fake_stack, to->stack_lo, to->stack_size);
#endif
#ifdef GORT_CTX_TSAN
	/* Last thing before the switch; synchronising (flags 0), so what one
	 * context wrote happens before what the next one reads. */
	__tsan_switch_to_fiber(to->fiber, 0);
#endif
	gort_ctx_switch_raw(from, to);
#ifdef GORT_CTX_ASAN
	/* Back on from's stack, possibly on another thread. */
	__sanitizer_finish_switch_fiber(from->fake_stack, NULL, NULL);
#endif
}

/*
 * Leaves `from` for good: as gort_ctx_switch, but nobody may switch back to
 * it. ASan frees its fake stack; the TSan fiber stays until someone else
 * calls gort_ctx_destroy(from) (a fiber cannot destroy itself).
 *
 * Not declared noreturn under ASan: the compiler would then call
 * __asan_handle_no_return before it, which unpoisons the whole stack being
 * left and makes a sigaltstack system call, at every G's exit (a twentieth
 * of a fuzzer's time). The stack needs none of that: its fake stack goes
 * with the switch below, and gort_ctx_init unpoisons it before any reuse.
 */
#ifdef GORT_CTX_ASAN
#define GORT_CTX_EXIT_NORETURN_
#else
#define GORT_CTX_EXIT_NORETURN_ __attribute__((noreturn))
#endif
static inline GORT_CTX_EXIT_NORETURN_ void gort_ctx_exit(gort_ctx *from, gort_ctx *to)
{
#ifdef GORT_CTX_ASAN
	__sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_size);
#endif
#ifdef GORT_CTX_TSAN
	__tsan_switch_to_fiber(to->fiber, 0);
#endif
	gort_ctx_switch_raw(from, to);
	__builtin_unreachable();
}

#endif /* !__ASSEMBLER__ */
#endif /* GORT_SCHED_CONTEXT_H */
