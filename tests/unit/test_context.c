/*
 * test_context.c — the context switch (lib/sched/context*.{h,S}): ping-pong
 * between the thread's own context and many coroutines with the order
 * checked, arguments passed through, callee-saved integer and floating-point
 * values surviving a switch to a context that clobbers the registers, the
 * rounding mode kept per context (MXCSR / x87 control word, FPCR), deep
 * recursion on a coroutine's stack, a context resumed on another thread,
 * stacks reused by short-lived contexts (stale ASan redzones), the abort when
 * an entry function returns, and the speed of 100k round trips.
 *
 * Coroutine stacks come from a gort_stack pool, as the scheduler's will.
 * The suite runs in the ASan and TSan builds too: that is what the fiber
 * hooks in gort_ctx_switch are for.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sched/context.h"
#include "sched/stack.h"

#if defined(GORT_SAN_ADDRESS) || defined(GORT_SAN_THREAD)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static gort_stack_pool pool;

static void setup(void)
{
	cr_assert_eq(gort_stack_pool_init(&pool, 0), 0);
}

static void teardown(void)
{
	gort_stack_pool_destroy(&pool);
}

TestSuite(context, .init = setup, .fini = teardown, .timeout = 60);

/* A coroutine: its context, its stack, and where it switches back to. */
typedef struct co {
	gort_ctx ctx;
	gort_stack stack;
	gort_ctx *back;
	uint64_t magic;
	int id;
	long runs;
} co_t;

static void co_start(co_t *c, int id, void (*entry)(void *), void *arg, gort_ctx *back)
{
	c->stack = gort_stack_alloc(&pool);
	cr_assert_not_null(c->stack.lo);
	c->id = id;
	c->magic = 0x5eed0000u + (uint64_t)id;
	c->runs = 0;
	c->back = back;
	gort_ctx_init(&c->ctx, c->stack.lo, (size_t)((char *)c->stack.hi - (char *)c->stack.lo),
		      entry, arg);
}

static void co_finish(co_t *c)
{
	gort_ctx_destroy(&c->ctx);
	cr_assert_eq(gort_stack_free(&pool, &c->stack), 0);
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ------------------------------------------------------------- ping-pong */

#define NCO 8
#define ROUNDS 2000

static co_t cos[NCO];
static gort_ctx main_ctx;
static int trace_last = -1;
static long trace_len;

static void pingpong_entry(void *arg)
{
	co_t *c = arg;
	for (;;) {
		c->runs++;
		trace_last = c->id;
		trace_len++;
		gort_ctx_switch(&c->ctx, c->back);
	}
}

Test(context, ping_pong_between_main_and_many_coroutines)
{
	cr_assert_eq(gort_ctx_for_thread(&main_ctx), 0);
	for (int i = 0; i < NCO; i++)
		co_start(&cos[i], i, pingpong_entry, &cos[i], &main_ctx);

	for (long r = 0; r < ROUNDS; r++) {
		/* A different order each round: reverse on odd rounds. */
		for (int k = 0; k < NCO; k++) {
			int i = (r & 1) ? NCO - 1 - k : k;
			gort_ctx_switch(&main_ctx, &cos[i].ctx);
			cr_assert_eq(trace_last, i, "round %ld: expected coroutine %d, %d ran", r,
				     i, trace_last);
			cr_assert_eq(cos[i].runs, r + 1);
			cr_assert_eq(trace_len, r * NCO + k + 1);
		}
	}
	for (int i = 0; i < NCO; i++) {
		cr_assert_eq(cos[i].magic, 0x5eed0000u + (uint64_t)i);
		co_finish(&cos[i]);
	}
}

/* -------------------------------------------------------------- arguments */

static uintptr_t seen_arg;
static gort_ctx *arg_back;
static gort_ctx arg_ctx;

static void arg_entry(void *arg)
{
	seen_arg = (uintptr_t)arg;
	for (;;)
		gort_ctx_switch(&arg_ctx, arg_back);
}

Test(context, arguments_are_passed_through)
{
	static const uintptr_t values[] = {0, 1, (uintptr_t)-1, (uintptr_t)0xdeadbeefcafef00dull,
					   (uintptr_t)&seen_arg};
	static gort_ctx me;
	gort_ctx_for_thread(&me);
	arg_back = &me;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		gort_stack st = gort_stack_alloc(&pool);
		cr_assert_not_null(st.lo);
		seen_arg = 12345;
		gort_ctx_init(&arg_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), arg_entry,
			      (void *)values[i]);
		gort_ctx_switch(&me, &arg_ctx);
		cr_assert_eq(seen_arg, values[i], "argument %#lx arrived as %#lx",
			     (unsigned long)values[i], (unsigned long)seen_arg);
		gort_ctx_destroy(&arg_ctx);
		cr_assert_eq(gort_stack_free(&pool, &st), 0);
	}
}

Test(context, thread_context_describes_this_stack)
{
	gort_ctx me;
	cr_assert_eq(gort_ctx_for_thread(&me), 0);
	cr_assert(me.flags & GORT_CTX_THREAD);
	uintptr_t lo = (uintptr_t)me.stack_lo, a = (uintptr_t)__builtin_frame_address(0);
	cr_assert(a >= lo && a < lo + me.stack_size, "frame %#lx outside [%#lx, +%zu)",
		  (unsigned long)a, (unsigned long)lo, me.stack_size);
	gort_ctx_destroy(&me);
}

/* ---------------------------------------------------- callee-saved values */

static gort_ctx clob_ctx, clob_back;
static volatile uint64_t seeds[16];
static volatile double dseeds[8];
static volatile uint64_t expect_i[16];
static volatile double expect_d[8];

/* Switches back with garbage in every callee-saved register it can name. */
static void clobber_entry(void *arg)
{
	(void)arg;
	for (uint64_t n = 1;; n++) {
#if defined(__x86_64__)
		register uint64_t b __asm__("rbx") = 0xb0b0b0b0b0b0b0b0ull ^ n;
		register uint64_t r12 __asm__("r12") = 0x1212121212121212ull ^ n;
		register uint64_t r13 __asm__("r13") = 0x1313131313131313ull ^ n;
		register uint64_t r14 __asm__("r14") = 0x1414141414141414ull ^ n;
		register uint64_t r15 __asm__("r15") = 0x1515151515151515ull ^ n;
		__asm__ volatile("" : "+r"(b), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15));
#elif defined(__aarch64__)
		__asm__ volatile(
			"mov x19, #19\n\tmov x20, #20\n\tmov x21, #21\n\tmov x22, #22\n\t"
			"mov x23, #23\n\tmov x24, #24\n\tmov x25, #25\n\tmov x26, #26\n\t"
			"mov x27, #27\n\tmov x28, #28\n\tfmov d8, #1.0\n\tfmov d9, #2.0\n\t"
			"fmov d10, #3.0\n\tfmov d11, #4.0\n\tfmov d12, #5.0\n\t"
			"fmov d13, #6.0\n\tfmov d14, #7.0\n\tfmov d15, #8.0" ::
				: "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
				  "x28", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15");
#endif
		/* FP values of its own as well, live across the switch. */
		double a = dseeds[0] * 3.0, b2 = dseeds[1] * 5.0;
		gort_ctx_switch(&clob_ctx, &clob_back);
		dseeds[2] = a + b2;
	}
}

/* Keeps 16 integers and 8 doubles live across a switch: at -O2 they sit in
 * callee-saved registers (and spill slots) while the coroutine runs. */
static __attribute__((noinline)) int many_locals_across_switch(int round)
{
	uint64_t v0 = seeds[0] + (uint64_t)round, v1 = seeds[1] * 3, v2 = seeds[2] ^ v0,
		 v3 = seeds[3] + v1, v4 = seeds[4] * v2, v5 = seeds[5] - v3, v6 = seeds[6] ^ v4,
		 v7 = seeds[7] + v5, v8 = seeds[8] * 7, v9 = seeds[9] ^ v8, v10 = seeds[10] + v9,
		 v11 = seeds[11] * v10, v12 = seeds[12] ^ v11, v13 = seeds[13] + v12,
		 v14 = seeds[14] - v13, v15 = seeds[15] ^ v14;
	double d0 = dseeds[0] + round, d1 = dseeds[1] * 1.5, d2 = dseeds[2] - d0,
	       d3 = dseeds[3] * d1, d4 = dseeds[4] + d2, d5 = dseeds[5] / 3.0, d6 = dseeds[6] * d4,
	       d7 = dseeds[7] - d5;

	/* The frame pointer register, whatever it holds here (a frame address,
	 * or a plain value at -O2): the coroutine's differs. */
	uintptr_t fp_before, fp_after;
#if defined(__x86_64__)
	__asm__ volatile("mov %%rbp, %0" : "=r"(fp_before));
#else
	__asm__ volatile("mov %0, x29" : "=r"(fp_before));
#endif
	uint64_t iv[16] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15};
	double dv[8] = {d0, d1, d2, d3, d4, d5, d6, d7};
	for (int i = 0; i < 16; i++)
		expect_i[i] = iv[i];
	for (int i = 0; i < 8; i++)
		expect_d[i] = dv[i];

	gort_ctx_switch(&clob_back, &clob_ctx);
#if defined(__x86_64__)
	__asm__ volatile("mov %%rbp, %0" : "=r"(fp_after));
#else
	__asm__ volatile("mov %0, x29" : "=r"(fp_after));
#endif

	int bad = (fp_before != fp_after) << 24;
	bad |= (v0 != expect_i[0]) << 0;
	bad |= (v1 != expect_i[1]) << 1;
	bad |= (v2 != expect_i[2]) << 2;
	bad |= (v3 != expect_i[3]) << 3;
	bad |= (v4 != expect_i[4]) << 4;
	bad |= (v5 != expect_i[5]) << 5;
	bad |= (v6 != expect_i[6]) << 6;
	bad |= (v7 != expect_i[7]) << 7;
	bad |= (v8 != expect_i[8]) << 8;
	bad |= (v9 != expect_i[9]) << 9;
	bad |= (v10 != expect_i[10]) << 10;
	bad |= (v11 != expect_i[11]) << 11;
	bad |= (v12 != expect_i[12]) << 12;
	bad |= (v13 != expect_i[13]) << 13;
	bad |= (v14 != expect_i[14]) << 14;
	bad |= (v15 != expect_i[15]) << 15;
	bad |= (d0 != expect_d[0]) << 16;
	bad |= (d1 != expect_d[1]) << 17;
	bad |= (d2 != expect_d[2]) << 18;
	bad |= (d3 != expect_d[3]) << 19;
	bad |= (d4 != expect_d[4]) << 20;
	bad |= (d5 != expect_d[5]) << 21;
	bad |= (d6 != expect_d[6]) << 22;
	bad |= (d7 != expect_d[7]) << 23;
	return bad;
}

Test(context, callee_saved_values_survive_a_switch)
{
	for (int i = 0; i < 16; i++)
		seeds[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	for (int i = 0; i < 8; i++)
		dseeds[i] = 1.25 * (i + 1);
	gort_ctx_for_thread(&clob_back);
	gort_stack st = gort_stack_alloc(&pool);
	cr_assert_not_null(st.lo);
	gort_ctx_init(&clob_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), clobber_entry,
		      NULL);
	for (int round = 0; round < 100; round++) {
		int bad = many_locals_across_switch(round);
		cr_assert_eq(bad, 0, "round %d: values changed across the switch (mask %#x)", round,
			     bad);
	}
	gort_ctx_destroy(&clob_ctx);
	cr_assert_eq(gort_stack_free(&pool, &st), 0);
}

/* ---------------------------------------------------------- rounding mode */

static gort_ctx fp_ctx, fp_back;
static volatile double one = 1.0, three = 3.0;
static int fp_seen_mode;
static double fp_seen_third;

/* 1/3 rounded up and rounded down differ in the last bit: the result shows
 * the SSE/FP unit's mode (MXCSR, FPCR), fegetround() the x87 word on x86-64
 * (glibc reads that one) or FPCR on aarch64. */
static __attribute__((noinline)) double third(void)
{
	return one / three;
}

static void fp_entry(void *arg)
{
	(void)arg;
	fp_seen_mode = fegetround(); /* inherited from the creator */
	fp_seen_third = third();
	gort_ctx_switch(&fp_ctx, &fp_back);
	fesetround(FE_DOWNWARD);
	for (;;) {
		fp_seen_mode = fegetround();
		fp_seen_third = third();
		gort_ctx_switch(&fp_ctx, &fp_back);
	}
}

Test(context, rounding_mode_is_kept_per_context)
{
	fesetround(FE_UPWARD);
	double up = third();
	fesetround(FE_DOWNWARD);
	double down = third();
	cr_assert_neq(up, down, "the FP unit ignores the rounding mode?");

	/* A fresh context inherits its creator's mode, as a new thread does. */
	fesetround(FE_TOWARDZERO);
	gort_ctx_for_thread(&fp_back);
	gort_stack st = gort_stack_alloc(&pool);
	cr_assert_not_null(st.lo);
	gort_ctx_init(&fp_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), fp_entry, NULL);
	fesetround(FE_UPWARD);
	gort_ctx_switch(&fp_back, &fp_ctx);
	cr_assert_eq(fp_seen_mode, FE_TOWARDZERO);
	cr_assert_eq(fp_seen_third, down, "toward zero is down for 1/3");
	cr_assert_eq(fegetround(), FE_UPWARD, "the coroutine's mode leaked back");
	cr_assert_eq(third(), up);

	for (int i = 0; i < 50; i++) {
		gort_ctx_switch(&fp_back, &fp_ctx); /* it sets (or keeps) FE_DOWNWARD */
		cr_assert_eq(fp_seen_mode, FE_DOWNWARD, "round %d", i);
		cr_assert_eq(fp_seen_third, down, "round %d", i);
		cr_assert_eq(fegetround(), FE_UPWARD, "round %d: mode leaked", i);
		cr_assert_eq(third(), up, "round %d: MXCSR/FPCR leaked", i);
		if (i == 25)
			fesetround(FE_UPWARD); /* same again: nothing changes */
	}
	fesetround(FE_TONEAREST);
	gort_ctx_destroy(&fp_ctx);
	cr_assert_eq(gort_stack_free(&pool, &st), 0);
}

/* --------------------------------------------------------- deep recursion */

static gort_ctx deep_ctx, deep_back;
static uintptr_t deep_min_sp;
static uint64_t deep_result;

static __attribute__((noinline)) uint64_t recurse(int depth)
{
	volatile unsigned char buf[64];
	for (int i = 0; i < 64; i++)
		buf[i] = (unsigned char)(depth + i);
	/* The frame, not buf: ASan may keep buf on a fake stack. */
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	if (fp < deep_min_sp)
		deep_min_sp = fp;
	uint64_t below = depth ? recurse(depth - 1) : 0;
	return below + buf[depth & 63] + (uint64_t)depth;
}

static void deep_entry(void *arg)
{
	int depth = (int)(intptr_t)arg;
	deep_result = recurse(depth);
	for (;;)
		gort_ctx_switch(&deep_ctx, &deep_back);
}

Test(context, deep_recursion_inside_a_coroutine)
{
	/* 1 MiB stack; 2000 frames of ~100-250 bytes (ASan adds redzones). */
	gort_stack_pool big;
	cr_assert_eq(gort_stack_pool_init(&big, (size_t)1 << 20), 0);
	gort_stack st = gort_stack_alloc(&big);
	cr_assert_not_null(st.lo);
	const int depth = 2000;
	uint64_t expect = 0;
	for (int d = 0; d <= depth; d++)
		expect += (uint64_t)((d + (d & 63)) & 0xff) + (uint64_t)d;

	gort_ctx_for_thread(&deep_back);
	deep_min_sp = UINTPTR_MAX;
	gort_ctx_init(&deep_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), deep_entry,
		      (void *)(intptr_t)depth);
	gort_ctx_switch(&deep_back, &deep_ctx);

	cr_assert_eq(deep_result, expect);
	cr_assert(deep_min_sp >= (uintptr_t)st.lo && deep_min_sp < (uintptr_t)st.hi,
		  "the recursion ran off the coroutine's stack");
	cr_assert_lt(deep_min_sp, (uintptr_t)st.hi - 100000, "the recursion was not deep");
	gort_ctx_destroy(&deep_ctx);
	cr_assert_eq(gort_stack_free(&big, &st), 0);
	gort_stack_pool_destroy(&big);
}

/* -------------------------------------------------- migration to a thread */

static co_t mig;
static pid_t mig_tids[3];

static void migrate_entry(void *arg)
{
	co_t *c = arg;
	for (int i = 0; i < 3; i++) {
		mig_tids[i] = tid();
		c->runs++;
		gort_ctx_switch(&c->ctx, c->back);
	}
	for (;;)
		gort_ctx_switch(&c->ctx, c->back);
}

static void *resume_on_thread(void *arg)
{
	(void)arg;
	gort_ctx here;
	gort_ctx_for_thread(&here);
	mig.back = &here;
	gort_ctx_switch(&here, &mig.ctx);
	gort_ctx_destroy(&here);
	return NULL;
}

Test(context, a_context_resumes_on_another_thread)
{
	gort_ctx me;
	gort_ctx_for_thread(&me);
	co_start(&mig, 1, migrate_entry, &mig, &me);

	gort_ctx_switch(&me, &mig.ctx); /* first run here */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, resume_on_thread, NULL), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	mig.back = &me;
	gort_ctx_switch(&me, &mig.ctx); /* and back here */

	cr_assert_eq(mig.runs, 3);
	cr_assert_eq(mig_tids[0], tid());
	cr_assert_neq(mig_tids[1], tid(), "the second run was not on the other thread");
	cr_assert_eq(mig_tids[2], tid());
	co_finish(&mig);
}

/* ---------------------------------------------- short-lived, stacks reused */

static gort_ctx short_ctx, short_back;
static long short_sum;

static __attribute__((noinline)) void use_arrays(int n)
{
	volatile int a[37], b[11];
	for (int i = 0; i < 37; i++)
		a[i] = n + i;
	for (int i = 0; i < 11; i++)
		b[i] = a[i * 3];
	short_sum += b[n % 11];
}

static void short_entry(void *arg)
{
	volatile char frame_array[200]; /* live (with its redzones) at the exit */
	frame_array[0] = (char)(intptr_t)arg;
	use_arrays((int)(intptr_t)arg + frame_array[0]);
	gort_ctx_exit(&short_ctx, &short_back);
}

/* Another frame shape over the same bytes: its array covers where
 * short_entry's redzones were. */
static void short_entry_wide(void *arg)
{
	volatile char wide[1500];
	for (size_t i = 0; i < sizeof wide; i++)
		wide[i] = (char)i;
	wide[0] = (char)(intptr_t)arg;
	use_arrays((int)(intptr_t)arg + wide[0]);
	gort_ctx_exit(&short_ctx, &short_back);
}

/* 50,000 contexts, each left for good while a frame with redzones is live.
 * Without the fiber hooks ThreadSanitizer crashes here (its shadow call stack
 * overflows after ~33,000 such contexts on one thread), and a reused stack
 * would show ASan the previous owner's redzones. */
Test(context, short_lived_contexts_reuse_stacks)
{
	gort_ctx_for_thread(&short_back);
	long expect = 0;
	for (int i = 0; i < 50000; i++) {
		gort_stack st = gort_stack_alloc(&pool);
		cr_assert_not_null(st.lo);
		gort_ctx_init(&short_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo),
			      (i & 1) ? short_entry_wide : short_entry, (void *)(intptr_t)(i & 63));
		gort_ctx_switch(&short_back, &short_ctx);
		int n = 2 * (i & 63);
		expect += n + (n % 11) * 3;
		gort_ctx_destroy(&short_ctx);
		cr_assert_eq(gort_stack_free(&pool, &st), 0);
	}
	cr_assert_eq(short_sum, expect);
	gort_stack_stats ss;
	gort_stack_pool_stats(&pool, &ss);
	cr_assert_eq(ss.slots, 1, "one stack, reused 50,000 times");
}

/* ------------------------------------------------------- entry returning */

static gort_ctx ret_ctx, ret_back;

static void returning_entry(void *arg)
{
	(void)arg;
}

Test(context, entry_that_returns_aborts, .signal = SIGABRT)
{
	gort_ctx_for_thread(&ret_back);
	gort_stack st = gort_stack_alloc(&pool);
	gort_ctx_init(&ret_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), returning_entry,
		      NULL);
	gort_ctx_switch(&ret_back, &ret_ctx);
	cr_assert_fail("came back from a context whose entry returned");
}

/* ---------------------------------------------------------------- speed */

static gort_ctx spin_ctx, spin_back;

static void spin_entry(void *arg)
{
	long *count = arg;
	for (;;) {
		++*count;
		gort_ctx_switch(&spin_ctx, &spin_back);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

Test(context, hundred_thousand_round_trips_are_quick)
{
	const long n = 100000;
	long count = 0;
	gort_ctx_for_thread(&spin_back);
	gort_stack st = gort_stack_alloc(&pool);
	gort_ctx_init(&spin_ctx, st.lo, (size_t)((char *)st.hi - (char *)st.lo), spin_entry,
		      &count);
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		gort_ctx_switch(&spin_back, &spin_ctx);
	uint64_t dt = now_ns() - t0;
	cr_assert_eq(count, n);
	cr_log_info("%ld round trips (%ld switches): %.1f ns per switch", n, 2 * n,
		    (double)dt / (double)(2 * n));
	/* ~15 ns per switch plain here; the sanitizers' fiber hooks cost far more. */
	cr_assert_lt(dt, SANITIZED ? 20000000000ull : 1000000000ull, "%lu ns", (unsigned long)dt);
	gort_ctx_destroy(&spin_ctx);
	cr_assert_eq(gort_stack_free(&pool, &st), 0);
}
