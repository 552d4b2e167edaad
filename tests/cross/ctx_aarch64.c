/*
 * ctx_aarch64.c — standalone check of lib/sched/context_aarch64.S (and of
 * lib/sched/stack.c on aarch64), for qemu-user: no Criterion, plain exit
 * codes, TAP-like "ok - " / "not ok - " lines.
 *
 *   aarch64-linux-gnu-gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -pthread \
 *       -Ilib -Ilib/include tests/cross/ctx_aarch64.c lib/sched/context_aarch64.S lib/sched/stack.c \
 *       lib/os/vmem.c lib/os/lock.c lib/os/clock.c -o ctx_test
 *   qemu-aarch64 ./ctx_test            # all checks; exit 0 if all pass
 *   qemu-aarch64 ./ctx_test returns    # entry returns: must die of SIGABRT
 *   qemu-aarch64 ./ctx_test overflow   # write below a stack: must die of SIGSEGV
 *
 * `make test-aarch64` does all of this (installing the cross compiler and
 * qemu-user first when run as root).
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sched/context.h"
#include "sched/stack.h"

static int failures;
static gort_stack_pool pool;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("  failed: %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void report(const char *name, int before)
{
	printf("%s - %s\n", failures == before ? "ok" : "not ok", name);
}

static gort_stack new_stack(gort_ctx *c, void (*entry)(void *), void *arg)
{
	gort_stack s = gort_stack_alloc(&pool);
	if (!s.lo) {
		printf("stack allocation failed\n");
		exit(2);
	}
	gort_ctx_init(c, s.lo, (size_t)((char *)s.hi - (char *)s.lo), entry, arg);
	return s;
}

static void drop_stack(gort_ctx *c, gort_stack *s)
{
	gort_ctx_destroy(c);
	CHECK(gort_stack_free(&pool, s) == 0, "free failed");
}

/* ------------------------------------------------------------ ping-pong */

#define NCO 6
static gort_ctx main_ctx, co_ctx[NCO];
static int last_id = -1;
static long runs[NCO], total;

static void pingpong(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (;;) {
		runs[id]++;
		total++;
		last_id = id;
		gort_ctx_switch(&co_ctx[id], &main_ctx);
	}
}

static void test_pingpong(void)
{
	int before = failures;
	gort_stack st[NCO];
	gort_ctx_for_thread(&main_ctx);
	for (int i = 0; i < NCO; i++)
		st[i] = new_stack(&co_ctx[i], pingpong, (void *)(intptr_t)i);
	for (long r = 0; r < 1000; r++)
		for (int k = 0; k < NCO; k++) {
			int i = (r & 1) ? NCO - 1 - k : k;
			gort_ctx_switch(&main_ctx, &co_ctx[i]);
			CHECK(last_id == i && runs[i] == r + 1 && total == r * NCO + k + 1,
			      "round %ld coroutine %d", r, i);
		}
	for (int i = 0; i < NCO; i++)
		drop_stack(&co_ctx[i], &st[i]);
	report("ping-pong between main and 6 coroutines, 1000 rounds, order checked", before);
}

/* ------------------------------------------------------------ arguments */

static gort_ctx arg_ctx, arg_back;
static uintptr_t seen;

static void arg_entry(void *arg)
{
	seen = (uintptr_t)arg;
	for (;;)
		gort_ctx_switch(&arg_ctx, &arg_back);
}

static void test_args(void)
{
	int before = failures;
	const uintptr_t v[] = {0, 1, UINTPTR_MAX, (uintptr_t)0xdeadbeefcafef00dull};
	gort_ctx_for_thread(&arg_back);
	for (unsigned i = 0; i < 4; i++) {
		gort_stack s = new_stack(&arg_ctx, arg_entry, (void *)v[i]);
		gort_ctx_switch(&arg_back, &arg_ctx);
		CHECK(seen == v[i], "%#lx arrived as %#lx", (unsigned long)v[i], (unsigned long)seen);
		drop_stack(&arg_ctx, &s);
	}
	report("arguments passed through", before);
}

/* --------------------------------------------------- callee-saved state */

static gort_ctx clob_ctx, clob_back;
static volatile uint64_t seeds[20];
static volatile double dseeds[8];

static void clobber(void *arg)
{
	(void)arg;
	for (;;) {
		__asm__ volatile("mov x19, #19\n\tmov x20, #20\n\tmov x21, #21\n\tmov x22, #22\n\t"
				 "mov x23, #23\n\tmov x24, #24\n\tmov x25, #25\n\tmov x26, #26\n\t"
				 "mov x27, #27\n\tmov x28, #28\n\tfmov d8, #1.0\n\tfmov d9, #2.0\n\t"
				 "fmov d10, #3.0\n\tfmov d11, #4.0\n\tfmov d12, #5.0\n\t"
				 "fmov d13, #6.0\n\tfmov d14, #7.0\n\tfmov d15, #8.0" ::
					 : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
					   "x27", "x28", "d8", "d9", "d10", "d11", "d12", "d13",
					   "d14", "d15");
		gort_ctx_switch(&clob_ctx, &clob_back);
	}
}

/* Pins known values in x19-x28 and d8-d15 with register variables around
 * the switch, so the test does not depend on the register allocator. */
static __attribute__((noinline)) int pinned_registers(void)
{
	register uint64_t r19 __asm__("x19") = seeds[0];
	register uint64_t r20 __asm__("x20") = seeds[1];
	register uint64_t r21 __asm__("x21") = seeds[2];
	register uint64_t r22 __asm__("x22") = seeds[3];
	register uint64_t r23 __asm__("x23") = seeds[4];
	register uint64_t r24 __asm__("x24") = seeds[5];
	register uint64_t r25 __asm__("x25") = seeds[6];
	register uint64_t r26 __asm__("x26") = seeds[7];
	register uint64_t r27 __asm__("x27") = seeds[8];
	register uint64_t r28 __asm__("x28") = seeds[9];
	register double f8 __asm__("d8") = dseeds[0];
	register double f9 __asm__("d9") = dseeds[1];
	register double f10 __asm__("d10") = dseeds[2];
	register double f11 __asm__("d11") = dseeds[3];
	register double f12 __asm__("d12") = dseeds[4];
	register double f13 __asm__("d13") = dseeds[5];
	register double f14 __asm__("d14") = dseeds[6];
	register double f15 __asm__("d15") = dseeds[7];
	__asm__ volatile("" : "+r"(r19), "+r"(r20), "+r"(r21), "+r"(r22), "+r"(r23), "+r"(r24),
			 "+r"(r25), "+r"(r26), "+r"(r27), "+r"(r28));
	__asm__ volatile("" : "+w"(f8), "+w"(f9), "+w"(f10), "+w"(f11), "+w"(f12), "+w"(f13),
			 "+w"(f14), "+w"(f15));
	uint64_t fp_before, fp_after;
	__asm__ volatile("mov %0, x29" : "=r"(fp_before));
	/* The bare switch: no C between the pinning and the call. */
	gort_ctx_switch_raw(&clob_back, &clob_ctx);
	__asm__ volatile("mov %0, x29" : "=r"(fp_after));
	__asm__ volatile("" : "+r"(r19), "+r"(r20), "+r"(r21), "+r"(r22), "+r"(r23), "+r"(r24),
			 "+r"(r25), "+r"(r26), "+r"(r27), "+r"(r28));
	__asm__ volatile("" : "+w"(f8), "+w"(f9), "+w"(f10), "+w"(f11), "+w"(f12), "+w"(f13),
			 "+w"(f14), "+w"(f15));
	int bad = (fp_before != fp_after) << 20;
	bad |= (r19 != seeds[0]) << 0 | (r20 != seeds[1]) << 1 | (r21 != seeds[2]) << 2;
	bad |= (r22 != seeds[3]) << 3 | (r23 != seeds[4]) << 4 | (r24 != seeds[5]) << 5;
	bad |= (r25 != seeds[6]) << 6 | (r26 != seeds[7]) << 7 | (r27 != seeds[8]) << 8;
	bad |= (r28 != seeds[9]) << 9;
	bad |= (f8 != dseeds[0]) << 10 | (f9 != dseeds[1]) << 11 | (f10 != dseeds[2]) << 12;
	bad |= (f11 != dseeds[3]) << 13 | (f12 != dseeds[4]) << 14 | (f13 != dseeds[5]) << 15;
	bad |= (f14 != dseeds[6]) << 16 | (f15 != dseeds[7]) << 17;
	return bad;
}

/* Many locals live across a switch, as the compiler arranges them. */
static __attribute__((noinline)) int many_locals(int round)
{
	uint64_t v[20];
	double d[8];
	for (int i = 0; i < 20; i++)
		v[i] = seeds[i] * (uint64_t)(round + 1) + (uint64_t)i;
	for (int i = 0; i < 8; i++)
		d[i] = dseeds[i] * (round + 1) + i;
	uint64_t a0 = v[0], a1 = v[1], a2 = v[2], a3 = v[3], a4 = v[4], a5 = v[5], a6 = v[6],
		 a7 = v[7], a8 = v[8], a9 = v[9], a10 = v[10], a11 = v[11], a12 = v[12];
	double e0 = d[0], e1 = d[1], e2 = d[2], e3 = d[3], e4 = d[4], e5 = d[5], e6 = d[6],
	       e7 = d[7];
	gort_ctx_switch(&clob_back, &clob_ctx);
	int bad = 0;
	bad |= a0 != v[0] || a1 != v[1] || a2 != v[2] || a3 != v[3] || a4 != v[4];
	bad |= a5 != v[5] || a6 != v[6] || a7 != v[7] || a8 != v[8] || a9 != v[9];
	bad |= a10 != v[10] || a11 != v[11] || a12 != v[12];
	bad |= (e0 != d[0] || e1 != d[1] || e2 != d[2] || e3 != d[3]) << 1;
	bad |= (e4 != d[4] || e5 != d[5] || e6 != d[6] || e7 != d[7]) << 1;
	return bad;
}

static void test_callee_saved(void)
{
	int before = failures;
	for (int i = 0; i < 20; i++)
		seeds[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	for (int i = 0; i < 8; i++)
		dseeds[i] = 1.0 / (i + 3);
	gort_ctx_for_thread(&clob_back);
	gort_stack s = new_stack(&clob_ctx, clobber, NULL);
	for (int r = 0; r < 50; r++) {
		int bad = pinned_registers();
		CHECK(bad == 0, "round %d: pinned registers changed, mask %#x", r, bad);
		bad = many_locals(r);
		CHECK(bad == 0, "round %d: locals changed, mask %#x", r, bad);
	}
	drop_stack(&clob_ctx, &s);
	report("x19-x28 and d8-d15 survive a switch to a context that clobbers them", before);
}

/* ----------------------------------------------------------------- FPCR */

static gort_ctx fp_ctx, fp_back;
static volatile double one = 1.0, three = 3.0;
static int fp_mode;
static double fp_third;

static __attribute__((noinline)) double third(void)
{
	return one / three;
}

static void fp_entry(void *arg)
{
	(void)arg;
	fp_mode = fegetround();
	fp_third = third();
	gort_ctx_switch(&fp_ctx, &fp_back);
	fesetround(FE_DOWNWARD);
	for (;;) {
		fp_mode = fegetround();
		fp_third = third();
		gort_ctx_switch(&fp_ctx, &fp_back);
	}
}

static void test_fpcr(void)
{
	int before = failures;
	fesetround(FE_UPWARD);
	double up = third();
	fesetround(FE_DOWNWARD);
	double down = third();
	CHECK(up != down, "rounding mode ignored");
	fesetround(FE_TOWARDZERO);
	gort_ctx_for_thread(&fp_back);
	gort_stack s = new_stack(&fp_ctx, fp_entry, NULL);
	fesetround(FE_UPWARD);
	gort_ctx_switch(&fp_back, &fp_ctx);
	CHECK(fp_mode == FE_TOWARDZERO, "fresh context did not inherit the creator's mode");
	CHECK(fp_third == down, "toward zero");
	CHECK(fegetround() == FE_UPWARD && third() == up, "mode leaked back");
	for (int i = 0; i < 20; i++) {
		gort_ctx_switch(&fp_back, &fp_ctx);
		CHECK(fp_mode == FE_DOWNWARD && fp_third == down, "round %d in the coroutine", i);
		CHECK(fegetround() == FE_UPWARD && third() == up, "round %d: FPCR leaked", i);
	}
	fesetround(FE_TONEAREST);
	drop_stack(&fp_ctx, &s);
	report("FPCR rounding mode kept per context, inherited at creation", before);
}

/* ------------------------------------------------------- deep recursion */

static gort_ctx deep_ctx, deep_back;
static uint64_t deep_result;
static uintptr_t deep_min;

static __attribute__((noinline)) uint64_t recurse(int depth)
{
	volatile unsigned char buf[64];
	for (int i = 0; i < 64; i++)
		buf[i] = (unsigned char)(depth + i);
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	if (fp < deep_min)
		deep_min = fp;
	uint64_t below = depth ? recurse(depth - 1) : 0;
	return below + buf[depth & 63] + (uint64_t)depth;
}

static void deep_entry(void *arg)
{
	deep_result = recurse((int)(intptr_t)arg);
	/* sp must be 16-aligned here, as everywhere on aarch64. */
	uintptr_t sp;
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	if (sp & 15)
		deep_result = 0;
	for (;;)
		gort_ctx_switch(&deep_ctx, &deep_back);
}

static void test_deep(void)
{
	int before = failures;
	gort_stack_pool big;
	gort_stack_pool_init(&big, (size_t)1 << 20);
	gort_stack s = gort_stack_alloc(&big);
	const int depth = 3000;
	uint64_t expect = 0;
	for (int d = 0; d <= depth; d++)
		expect += (uint64_t)((d + (d & 63)) & 0xff) + (uint64_t)d;
	deep_min = UINTPTR_MAX;
	gort_ctx_for_thread(&deep_back);
	gort_ctx_init(&deep_ctx, s.lo, (size_t)((char *)s.hi - (char *)s.lo), deep_entry,
		      (void *)(intptr_t)depth);
	gort_ctx_switch(&deep_back, &deep_ctx);
	CHECK(deep_result == expect, "recursion result %lu, expected %lu",
	      (unsigned long)deep_result, (unsigned long)expect);
	CHECK(deep_min >= (uintptr_t)s.lo && deep_min < (uintptr_t)s.hi - 200000,
	      "recursion not on the coroutine stack or not deep");
	gort_ctx_destroy(&deep_ctx);
	gort_stack_pool_destroy(&big);
	report("3000-deep recursion on a 1 MiB coroutine stack", before);
}

/* ---------------------------------------------------- another thread */

static gort_ctx mig_ctx, *mig_back;
static long mig_tid[3];

static void mig_entry(void *arg)
{
	(void)arg;
	for (int i = 0;; i++) {
		if (i < 3)
			mig_tid[i] = syscall(SYS_gettid);
		gort_ctx_switch(&mig_ctx, mig_back);
	}
}

static void *mig_thread(void *arg)
{
	(void)arg;
	gort_ctx here;
	gort_ctx_for_thread(&here);
	mig_back = &here;
	gort_ctx_switch(&here, &mig_ctx);
	mig_back = NULL;
	return NULL;
}

static void test_migration(void)
{
	int before = failures;
	static gort_ctx me;
	gort_ctx_for_thread(&me);
	mig_back = &me;
	gort_stack s = new_stack(&mig_ctx, mig_entry, NULL);
	gort_ctx_switch(&me, &mig_ctx);
	pthread_t t;
	pthread_create(&t, NULL, mig_thread, NULL);
	pthread_join(t, NULL);
	mig_back = &me;
	gort_ctx_switch(&me, &mig_ctx);
	long self = syscall(SYS_gettid);
	CHECK(mig_tid[0] == self && mig_tid[1] != self && mig_tid[2] == self, "threads %ld %ld %ld",
	      mig_tid[0], mig_tid[1], mig_tid[2]);
	drop_stack(&mig_ctx, &s);
	report("a context resumes on another thread and back", before);
}

/* ------------------------------------------------------------ speed */

static gort_ctx spin_ctx, spin_back;

static void spin(void *arg)
{
	long *n = arg;
	for (;;) {
		++*n;
		gort_ctx_switch(&spin_ctx, &spin_back);
	}
}

static void test_speed(void)
{
	int before = failures;
	long n = 0;
	gort_ctx_for_thread(&spin_back);
	gort_stack s = new_stack(&spin_ctx, spin, &n);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < 100000; i++)
		gort_ctx_switch(&spin_back, &spin_ctx);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	CHECK(n == 100000, "count %ld", n);
	printf("# 100000 round trips: %.1f ns per switch (under emulation)\n", ns / 200000);
	drop_stack(&spin_ctx, &s);
	report("100k round trips", before);
}

/* ---------------------------------------------------- death modes */

static gort_ctx ret_ctx, ret_back;

static void returns(void *arg)
{
	(void)arg;
}

int main(int argc, char **argv)
{
	gort_stack_pool_init(&pool, 0);
	if (argc > 1 && strcmp(argv[1], "returns") == 0) {
		gort_ctx_for_thread(&ret_back);
		new_stack(&ret_ctx, returns, NULL);
		gort_ctx_switch(&ret_back, &ret_ctx);
		printf("came back\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
		gort_stack a = gort_stack_alloc(&pool), b = gort_stack_alloc(&pool);
		(void)a;
		*(volatile char *)((char *)b.lo - 1) = 1;
		printf("no fault\n");
		return 1;
	}
	gort_stack_stats st;
	gort_stack_pool_stats(&pool, &st);
	printf("# guard pages: %s\n", st.guard == GORT_STACK_GUARD_REGION ? "MADV_GUARD_INSTALL"
									  : "mprotect");
	test_pingpong();
	test_args();
	test_callee_saved();
	test_fpcr();
	test_deep();
	test_migration();
	test_speed();
	gort_stack_pool_destroy(&pool);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures != 0;
}
