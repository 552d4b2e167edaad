/*
 * test_stack.c — goroutine stacks (lib/sched/stack.{h,c}): shape and
 * alignment of many stacks, the usable range writable, the guard below it
 * faulting (both guard mechanisms, its whole 64 KiB, and a runaway recursion
 * on a coroutine), the free-stack cache and the release of what exceeds it
 * (counters, LIFO reuse, released memory reading back as zero), a deep
 * stack's pages given back when it is freed or shrunk while a shallow one's
 * are kept, rejected double and foreign frees, a configurable size,
 * concurrent use, and 10,000 stacks alive at once costing a page each.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sched/context.h"
#include "sched/stack.h"

#include "../support/gort_test.h"

#define KiB ((size_t)1 << 10)

TestSuite(stack, .timeout = 120);

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t usable(const gort_stack *s)
{
	return (size_t)((char *)s->hi - (char *)s->lo);
}

static void init_pool(gort_stack_pool *p, size_t usable_bytes, size_t cache_max,
		      gort_stack_guard guard)
{
	gort_stack_config cfg = {
		.usable_bytes = usable_bytes, .cache_max = cache_max, .guard = guard};
	cr_assert_eq(gort_stack_pool_init_config(p, &cfg), 0, "pool init: errno %d", errno);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const gort_stack *)a)->lo;
	uintptr_t y = (uintptr_t)((const gort_stack *)b)->lo;
	return x < y ? -1 : x > y;
}

/* ----------------------------------------------------------- shape, count */

Test(stack, many_stacks_have_the_right_shape)
{
	enum {
		N = 1000
	};
	static gort_stack s[N];
	gort_stack_pool p;
	cr_assert_eq(gort_stack_pool_init(&p, 0), 0);

	for (int i = 0; i < N; i++) {
		s[i] = gort_stack_alloc(&p);
		cr_assert_not_null(s[i].lo, "stack %d: errno %d", i, errno);
		cr_assert_eq(usable(&s[i]), GORT_STACK_DEFAULT_USABLE);
		cr_assert_eq((uintptr_t)s[i].lo % page(), 0);
	}
	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.inuse, N);
	cr_assert_eq(st.slots, N);
	cr_assert_eq(st.cached + st.released, 0);
	cr_assert_eq(st.bytes_committed, N * GORT_STACK_DEFAULT_USABLE);
	cr_assert_geq(st.bytes_reserved, N * (GORT_STACK_DEFAULT_USABLE + GORT_STACK_GUARD_BYTES));
	cr_assert_eq(st.guard_bytes, GORT_STACK_GUARD_BYTES);
	cr_assert_eq(st.slot_bytes, GORT_STACK_DEFAULT_USABLE + GORT_STACK_GUARD_BYTES);

	/* Disjoint, with at least a guard between neighbours. */
	gort_stack sorted[N];
	memcpy(sorted, s, sizeof sorted);
	qsort(sorted, N, sizeof sorted[0], cmp_ptr);
	for (int i = 1; i < N; i++)
		cr_assert_geq((uintptr_t)sorted[i].lo,
			      (uintptr_t)sorted[i - 1].hi + GORT_STACK_GUARD_BYTES);

	for (int i = 0; i < N; i++)
		cr_assert_eq(gort_stack_free(&p, &s[i]), 0);
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.inuse, 0);
	cr_assert_eq(st.cached, GORT_STACK_DEFAULT_CACHE);
	cr_assert_eq(st.released, N - GORT_STACK_DEFAULT_CACHE);
	cr_assert_eq(st.bytes_committed, GORT_STACK_DEFAULT_CACHE * GORT_STACK_DEFAULT_USABLE);
	gort_stack_pool_destroy(&p);
}

Test(stack, usable_size_is_configurable)
{
	gort_stack_pool p;
	cr_assert_eq(gort_stack_pool_init(&p, 10000), 0);
	gort_stack s = gort_stack_alloc(&p);
	cr_assert_not_null(s.lo);
	cr_assert_eq(usable(&s), (10000 + page() - 1) / page() * page());
	memset(s.lo, 1, usable(&s));
	cr_assert_eq(gort_stack_free(&p, &s), 0);
	gort_stack_pool_destroy(&p);

	cr_assert_eq(gort_stack_pool_init(&p, (size_t)4 << 20), 0);
	s = gort_stack_alloc(&p);
	cr_assert_eq(usable(&s), (size_t)4 << 20);
	gort_stack_pool_destroy(&p);

	cr_assert_eq(gort_stack_pool_init(&p, (size_t)1 << 40), -1, "absurd size accepted");
	cr_assert_eq(errno, EINVAL);
}

Test(stack, usable_range_is_writable)
{
	gort_stack_pool p;
	cr_assert_eq(gort_stack_pool_init(&p, 0), 0);
	for (int k = 0; k < 3; k++) {
		gort_stack s = gort_stack_alloc(&p);
		gt_fill(s.lo, usable(&s), (uint64_t)k);
		cr_assert(gt_intact(s.lo, usable(&s), (uint64_t)k));
		cr_assert_eq(gort_stack_free(&p, &s), 0);
	}
	gort_stack_pool_destroy(&p);
}

/* ------------------------------------------------------------ guard page */

static void write_below_lo(gort_stack_guard guard, size_t offset)
{
	gort_stack_pool p;
	init_pool(&p, 0, 0, guard);
	gort_stack a = gort_stack_alloc(&p);
	gort_stack b = gort_stack_alloc(&p); /* a neighbour, so a's slot is not the edge */
	cr_assert_not_null(a.lo);
	cr_assert_not_null(b.lo);
	gt_raw_segv();
	*(volatile char *)((char *)b.lo - offset) = 1;
	cr_assert_fail("wrote %zu bytes below lo without a fault", offset);
}

Test(stack, writing_just_below_lo_faults, .signal = SIGSEGV)
{
	write_below_lo(GORT_STACK_GUARD_AUTO, 1);
}

Test(stack, writing_a_page_below_lo_faults, .signal = SIGSEGV)
{
	write_below_lo(GORT_STACK_GUARD_AUTO, page());
}

/* The lowest byte of the guard: a frame of up to 64 KiB that skipped the
 * stack's bottom still lands in it. */
Test(stack, writing_at_the_bottom_of_the_guard_faults, .signal = SIGSEGV)
{
	write_below_lo(GORT_STACK_GUARD_AUTO, GORT_STACK_GUARD_BYTES);
}

Test(stack, writing_at_the_bottom_of_an_mprotect_guard_faults, .signal = SIGSEGV)
{
	write_below_lo(GORT_STACK_GUARD_MPROTECT, GORT_STACK_GUARD_BYTES);
}

Test(stack, writing_below_lo_faults_with_mprotect_guards, .signal = SIGSEGV)
{
	write_below_lo(GORT_STACK_GUARD_MPROTECT, 1);
}

Test(stack, writing_below_lo_faults_with_guard_regions, .signal = SIGSEGV)
{
	if (!gort_stack_guard_regions_supported()) {
		/* Old kernel: nothing to test; die the expected way. */
		raise(SIGSEGV);
	}
	write_below_lo(GORT_STACK_GUARD_REGION, 1);
}

static gort_ctx runaway_ctx;

static volatile int runaway_limit = 1 << 30; /* never reached: 256 GiB of frames */

static __attribute__((noinline)) int runaway(int n)
{
	volatile char frame[256];
	frame[0] = (char)n;
	if (n == runaway_limit)
		return 0;
	return runaway(n + 1) + frame[0];
}

static void runaway_entry(void *arg)
{
	(void)arg;
	runaway(0);
}

Test(stack, runaway_recursion_on_a_coroutine_hits_the_guard, .signal = SIGSEGV)
{
	gort_stack_pool p;
	cr_assert_eq(gort_stack_pool_init(&p, 32 * KiB), 0);
	gort_stack s = gort_stack_alloc(&p);
	gort_ctx me;
	gort_ctx_for_thread(&me);
	gort_ctx_init(&runaway_ctx, s.lo, usable(&s), runaway_entry, NULL);
	gt_raw_segv();
	gort_ctx_switch(&me, &runaway_ctx);
	cr_assert_fail("the recursion came back");
}

/* The probe behind gort_stack_guard_regions_supported (lib/os/guard.c,
 * page_faults) takes `n < 0 && e == EFAULT` after write(2) of one byte from
 * the guarded page into a fresh, empty pipe as "the page faults". Mutating
 * it to `n <= 0` changes nothing, so no test can tell the two apart: a
 * write of one byte to a blocking pipe with room for it returns 1 or -1,
 * never 0 (POSIX returns 0 only for a count of 0; Linux's pipe_write,
 * qemu-user and Valgrind follow it), so n <= 0 holds exactly when n < 0
 * does. Only a write(2) replaced by something that breaks that contract
 * could separate them, which would test the replacement, not the probe. */
Test(stack, guard_mechanism_in_use)
{
	gort_stack_pool p;
	cr_assert_eq(gort_stack_pool_init(&p, 0), 0);
	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	bool regions = gort_stack_guard_regions_supported();
	cr_assert_eq(st.guard, regions ? GORT_STACK_GUARD_REGION : GORT_STACK_GUARD_MPROTECT);
	cr_log_info("guard pages: %s", regions ? "MADV_GUARD_INSTALL" : "mprotect");
	gort_stack_pool_destroy(&p);
}

/* -------------------------------------------------------- cache, release */

Test(stack, free_stacks_are_cached_then_released)
{
	enum {
		N = 10,
		CACHE = 4
	};
	gort_stack_pool p;
	init_pool(&p, 0, CACHE, GORT_STACK_GUARD_AUTO);
	gort_stack s[N];
	for (int i = 0; i < N; i++) {
		s[i] = gort_stack_alloc(&p);
		cr_assert_not_null(s[i].lo);
		/* A few frames' worth at the top, as a G would leave. */
		gt_fill((char *)s[i].hi - 3000, 3000, (uint64_t)i);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(gort_stack_free(&p, &s[i]), 0);

	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.inuse, 0);
	cr_assert_eq(st.cached, CACHE);
	cr_assert_eq(st.released, N - CACHE);
	cr_assert_eq(st.slots, N);
	cr_assert_eq(st.bytes_committed, CACHE * st.usable_bytes);

	/* The cache first, last in first out: s[3], s[2], s[1], s[0] with their
	 * pages as they were. */
	gort_stack r[N];
	for (int i = 0; i < CACHE; i++) {
		r[i] = gort_stack_alloc(&p);
		cr_assert_eq(r[i].lo, s[CACHE - 1 - i].lo, "cached stack %d not reused in order",
			     i);
		cr_assert(gt_intact((char *)r[i].hi - 3000, 3000, (uint64_t)(CACHE - 1 - i)),
			  "a cached stack lost its memory");
	}
	/* Then the released ones: same slots (no new one carved), zero pages. */
	for (int i = CACHE; i < N; i++) {
		r[i] = gort_stack_alloc(&p);
		cr_assert_eq(r[i].lo, s[N - 1 - (i - CACHE)].lo);
		cr_assert_eq(gt_nonzero_at((char *)r[i].hi - 3000, 3000), 3000,
			     "a released stack kept its memory");
	}
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.slots, N);
	cr_assert_eq(st.inuse, N);
	cr_assert_eq(st.cached + st.released, 0);

	/* Trim returns the cache's memory too. */
	for (int i = 0; i < N; i++)
		cr_assert_eq(gort_stack_free(&p, &r[i]), 0);
	cr_assert_eq(gort_stack_pool_trim(&p), CACHE * st.usable_bytes);
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.cached, 0);
	cr_assert_eq(st.released, N);
	cr_assert_eq(st.bytes_committed, 0);
	gort_stack_pool_destroy(&p);
}

Test(stack, no_cache_releases_every_free)
{
	gort_stack_pool p;
	init_pool(&p, 0, SIZE_MAX, GORT_STACK_GUARD_AUTO);
	gort_stack s = gort_stack_alloc(&p);
	memset((char *)s.hi - 100, 7, 100);
	cr_assert_eq(gort_stack_free(&p, &s), 0);
	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.cached, 0);
	cr_assert_eq(st.released, 1);
	s = gort_stack_alloc(&p);
	cr_assert_eq(gt_nonzero_at((char *)s.hi - 100, 100), 100);
	gort_stack_pool_destroy(&p);
}

Test(stack, double_and_foreign_frees_are_rejected)
{
	gort_stack_pool p, q;
	cr_assert_eq(gort_stack_pool_init(&p, 0), 0);
	cr_assert_eq(gort_stack_pool_init(&q, 0), 0);
	gort_stack s = gort_stack_alloc(&p);
	gort_stack t = gort_stack_alloc(&q);
	gort_stack_stats before, after;

	cr_assert_eq(gort_stack_free(&p, &s), 0);
	gort_stack_pool_stats(&p, &before);
	errno = 0;
	cr_assert_eq(gort_stack_free(&p, &s), -1, "double free accepted");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(gort_stack_free(&p, &t), -1, "another pool's stack accepted");
	cr_assert_eq(gort_stack_free(&p, NULL), -1);
	gort_stack forged = s;
	forged.lo = (char *)forged.lo + 16;
	cr_assert_eq(gort_stack_free(&p, &forged), -1);
	forged = s;
	forged.slot = 7;
	cr_assert_eq(gort_stack_free(&p, &forged), -1);
	gort_stack_pool_stats(&p, &after);
	cr_assert_eq(after.inuse, before.inuse, "a rejected free changed the pool");
	cr_assert_eq(after.cached, before.cached);
	cr_assert_eq(after.released, before.released);
	cr_assert_eq(after.slots, before.slots);
	cr_assert_eq(after.bytes_committed, before.bytes_committed);

	cr_assert_eq(gort_stack_free(&q, &t), 0);
	gort_stack_pool_destroy(&p);
	gort_stack_pool_destroy(&q);
}

/* --------------------------------------------------- giving pages back */


/* A stack as a G that recursed `depth` bytes deep leaves it (frames of
 * return addresses and locals: non-zero words). */
static void use_stack(const gort_stack *s, size_t depth, uint64_t seed)
{
	gt_fill((char *)s->hi - depth, depth, seed);
}

Test(stack, a_deep_stack_gives_its_pages_back_when_cached)
{
	gort_stack_pool p;
	init_pool(&p, MiB, 4, GORT_STACK_GUARD_AUTO);
	gort_stack s = gort_stack_alloc(&p);
	use_stack(&s, 600 * KiB, 1);
	cr_assert_geq(gt_resident_pages(s.lo, usable(&s)), 600 * KiB / page());
	cr_assert_eq(gort_stack_free(&p, &s), 0);

	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.cached, 1);
	cr_assert_eq(st.shrunk, 1);
	cr_assert_leq(gt_resident_pages(s.lo, usable(&s)), GORT_STACK_KEEP_BYTES / page(),
		      "a cached deep stack kept %zu pages", gt_resident_pages(s.lo, usable(&s)));

	/* The next G on it finds the top as the last left it, zeros below. */
	gort_stack again = gort_stack_alloc(&p);
	cr_assert_eq(again.lo, s.lo);
	size_t keep = GORT_STACK_KEEP_BYTES;
	char *line = (char *)again.hi - keep;
	cr_assert_eq(gt_nonzero_at((char *)again.hi - 64, 64), 0, "the kept top lost its contents");
	cr_assert_lt(gt_nonzero_at(line, keep), keep);
	cr_assert_eq(gt_nonzero_at(again.lo, usable(&again) - keep), usable(&again) - keep,
		     "memory below the keep line survived");
	gort_stack_pool_destroy(&p);
}

Test(stack, a_shallow_stack_keeps_its_pages)
{
	gort_stack_pool p;
	init_pool(&p, MiB, 4, GORT_STACK_GUARD_AUTO);
	gort_stack s = gort_stack_alloc(&p);
	use_stack(&s, GORT_STACK_KEEP_BYTES - 64, 2);
	cr_assert_eq(gort_stack_free(&p, &s), 0);
	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.shrunk, 0);
	gort_stack again = gort_stack_alloc(&p);
	cr_assert_eq(again.lo, s.lo);
	cr_assert(gt_intact((char *)again.hi - (GORT_STACK_KEEP_BYTES - 64),
			    GORT_STACK_KEEP_BYTES - 64, 2),
		  "a shallow stack lost its warm pages");
	gort_stack_pool_destroy(&p);
}

Test(stack, shrink_releases_only_below_the_keep_line)
{
	gort_stack_pool p;
	init_pool(&p, MiB, 4, GORT_STACK_GUARD_AUTO);
	gort_stack s = gort_stack_alloc(&p);
	cr_assert_eq(gort_stack_shrink(&p, &s), 0, "an untouched stack has nothing to give");
	use_stack(&s, 200 * KiB, 3);
	cr_assert_eq(gort_stack_shrink(&p, &s), usable(&s) - GORT_STACK_KEEP_BYTES);
	cr_assert_leq(gt_resident_pages(s.lo, usable(&s)), GORT_STACK_KEEP_BYTES / page());
	cr_assert_eq(gort_stack_shrink(&p, &s), 0, "a shrunk stack shrank again");
	cr_assert_eq(gt_nonzero_at((char *)s.hi - 64, 64), 0, "the kept top lost its contents");
	cr_assert_eq(gort_stack_free(&p, &s), 0);
	gort_stack_pool_destroy(&p);
}

/* ------------------------------------------------------- many, threads */


/* What writing the top 512 bytes of a fresh page costs in RSS in this
 * build, pages `stride` apart as stacks are: a page, plus in sanitizer
 * builds the shadow the write makes resident (ASan a page, TSan about two). */
static size_t touch_cost(size_t stride)
{
	enum { PAGES = 256 };
	size_t n = PAGES * stride;
	char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	cr_assert_neq((void *)m, MAP_FAILED);
	size_t before = gt_rss_bytes();
	for (size_t i = 0; i < PAGES; i++)
		memset(m + (i + 1) * stride - 512, 0x5a, 512);
	size_t after = gt_rss_bytes();
	munmap(m, n);
	size_t cost = after > before ? (after - before) / PAGES : 0;
	return cost > page() ? cost : page();
}

static void ten_thousand_alive(gort_stack_guard guard)
{
	enum {
		N = 10000
	};
	static gort_stack s[N];
	gort_stack_pool p;
	init_pool(&p, 0, 0, guard);

	size_t rss0 = gt_rss_bytes();
	for (int i = 0; i < N; i++) {
		s[i] = gort_stack_alloc(&p);
		cr_assert_not_null(s[i].lo, "stack %d of %d: errno %d", i, N, errno);
		/* A parked G: a few hundred bytes of frames at the top. */
		memset((char *)s[i].hi - 512, 0x5a, 512);
	}
	size_t rss1 = gt_rss_bytes();
	size_t growth = rss1 > rss0 ? rss1 - rss0 : 0;

	size_t resident = 0;
	for (int i = 0; i < N; i++)
		resident += gt_resident_pages(s[i].lo, usable(&s[i]));
	cr_log_info("%d stacks of %zu KiB (%s): RSS +%zu KiB, %.2f KiB per stack; %zu resident "
		    "pages in the stacks",
		    N, GORT_STACK_DEFAULT_USABLE / KiB,
		    guard == GORT_STACK_GUARD_MPROTECT ? "mprotect" : "auto", growth / KiB,
		    (double)growth / N / KiB, resident);
	/* Mapped and resident: the top page alone, so a parked G costs one. */
	cr_assert_leq(resident, (size_t)N, "%zu pages mapped", resident);
	size_t per_stack = touch_cost(usable(&s[0]) + GORT_STACK_GUARD_BYTES);
	cr_assert_lt(growth, (size_t)N * per_stack * 5 / 4,
		     "RSS grew by %.2f KiB per stack", (double)growth / N / KiB);

	gort_stack_stats st;
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.inuse, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(gort_stack_free(&p, &s[i]), 0);
	gort_stack_pool_stats(&p, &st);
	cr_assert_eq(st.inuse, 0);
	cr_assert_eq(st.cached, GORT_STACK_DEFAULT_CACHE);
	cr_assert_eq(st.released, N - GORT_STACK_DEFAULT_CACHE);
	gort_stack_pool_destroy(&p);
}

Test(stack, ten_thousand_stacks_alive_cost_a_few_pages_each)
{
	ten_thousand_alive(GORT_STACK_GUARD_AUTO);
}

Test(stack, ten_thousand_stacks_alive_with_mprotect_guards)
{
	ten_thousand_alive(GORT_STACK_GUARD_MPROTECT);
}

#define THREADS 4
#define ROUNDS 5000
#define HOLD 8

static gort_stack_pool shared_pool;

static void *churn(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	gort_stack held[HOLD];
	int n = 0;
	long bad = 0;
	for (int r = 0; r < ROUNDS; r++) {
		if (n < HOLD && (n == 0 || gt_xorshift(&rng) & 1)) {
			held[n] = gort_stack_alloc(&shared_pool);
			if (!held[n].lo)
				return (void *)1;
			bad += *((volatile char *)held[n].hi - 2) != 0; /* fresh or cached: ours only */
			*((volatile char *)held[n].hi - 1) = (char)r;
			n++;
		} else {
			int k = (int)(gt_xorshift(&rng) % (uint64_t)n);
			bad += gort_stack_free(&shared_pool, &held[k]) != 0;
			held[k] = held[--n];
		}
	}
	while (n > 0)
		bad += gort_stack_free(&shared_pool, &held[--n]) != 0;
	return (void *)bad;
}

Test(stack, threads_allocate_and_free_concurrently)
{
	init_pool(&shared_pool, 16 * KiB, 4, GORT_STACK_GUARD_AUTO);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;
		cr_assert_eq(pthread_join(t[i], &bad), 0);
		cr_assert_null(bad, "thread %d: %ld failures", i, (long)(uintptr_t)bad);
	}
	gort_stack_stats st;
	gort_stack_pool_stats(&shared_pool, &st);
	cr_assert_eq(st.inuse, 0);
	cr_assert_leq(st.slots, THREADS * HOLD, "free stacks were not reused");
	cr_assert_eq(st.cached + st.released, st.slots);
	gort_stack_pool_destroy(&shared_pool);
}
