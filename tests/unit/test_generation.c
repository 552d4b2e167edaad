/*
 * test_generation.c — which cache a thread allocates and frees through
 * once the runtime has been shut down and started again.
 *
 * A thread keeps its cache in a thread-local pointer, stamped with the
 * runtime's generation (gort_mem.gen, bumped at every init and shutdown).
 * gort_shutdown unmaps every cache, and clears only the calling thread's
 * pointer: any other thread still holds one into the old generation, and
 * the stamp is all that tells the allocator not to use it. These tests keep
 * such a thread alive across a gort_shutdown/gort_init cycle and check that
 * it gets a cache of the new runtime, for a malloc (gort_cache_current_slow)
 * and for a free (gort_free's fast path). The old cache's memory is gone,
 * or, with the addresses the new runtime's metadata usually gets back, it is
 * the same bytes as the new cache of the thread that started the runtime
 * again: reusing the stale pointer then faults or shares a cache between
 * two threads, and the checks below see either.
 *
 * The third test is the pointer without its stamp: a thread whose
 * thread-local pointer is NULL in the current generation (the step-mode
 * scheduler restores a NULL there after running Gs on the thread's behalf)
 * must get a cache made, not the NULL.
 *
 * Worker threads never call Criterion's asserts: they run one step at a
 * time when the test's thread asks and hand results back.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "../support/gort_test.h"

/* ------------------------------------------------------------- a worker */

/* A thread that runs one step at a time on request, so a test can act
 * between its steps (shut the runtime down and start it again). */
typedef struct worker {
	pthread_t thread;
	sem_t go, done;
	void *(*step)(void *);
	void *arg, *ret;
	int quit;
} worker_t;

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	for (;;) {
		sem_wait(&w->go);
		if (w->quit)
			return NULL;
		w->ret = w->step(w->arg);
		sem_post(&w->done);
	}
}

static void worker_start(worker_t *w)
{
	cr_assert_eq(sem_init(&w->go, 0, 0), 0);
	cr_assert_eq(sem_init(&w->done, 0, 0), 0);
	w->quit = 0;
	cr_assert_eq(pthread_create(&w->thread, NULL, worker_main, w), 0);
}

/* Runs step(arg) on the worker's thread and returns what it returned. */
static void *worker_run(worker_t *w, void *(*step)(void *), void *arg)
{
	w->step = step;
	w->arg = arg;
	sem_post(&w->go);
	sem_wait(&w->done);
	return w->ret;
}

/* Ends the thread: its cache (if of this generation) is handed back. */
static void worker_stop(worker_t *w)
{
	w->quit = 1;
	sem_post(&w->go);
	pthread_join(w->thread, NULL);
	sem_destroy(&w->go);
	sem_destroy(&w->done);
}

static void *step_malloc(void *arg)
{
	return gort_malloc((size_t)(uintptr_t)arg);
}

static void *step_free(void *arg)
{
	gort_free(arg);
	return NULL;
}

/* ------------------------------------------------------------- helpers */

/* Step mode, one P (so the Ps' caches are always the same few), recording
 * reports. The test's thread allocates nothing before the cycle: the
 * worker's cache is then the first thread cache of the old runtime, at the
 * place where the new runtime makes its first one (the test thread's). */
static void init_one_p(void)
{
	gort_config cfg = {.procs = 1, .arena_bytes = 64 * MiB};
	gt_init_config(&cfg);
	gt_record_errors();
	gt_reset_reports();
}

static gort_object_info object(const void *p)
{
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p, &oi), 0, "%p is in no span of this runtime", p);
	return oi;
}

static int32_t cache_of(const void *p)
{
	gort_span_info si;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)p, &si), 0);
	cr_assert_eq(si.owner, GORT_OWNER_CACHE, "%p: its span is not in a cache", p);
	return si.cache_id;
}

/* The per-thread caches (kind 0) in use now; their rows go to out. */
static size_t thread_caches(gort_cache_info *out, size_t max)
{
	gort_cache_info all[16];
	size_t n = gort_inspect_caches(all, 16), k = 0;
	cr_assert_leq(n, 16);
	for (size_t i = 0; i < n; i++)
		if (all[i].kind == 0 && k < max)
			out[k++] = all[i];
	return k;
}

static const gort_cache_info *cache_row(const gort_cache_info *rows, size_t n, int32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].id == id)
			return &rows[i];
	cr_assert_fail("no cache %d in use", id);
	return NULL;
}

/* A worker that allocated (and so made its cache) before a shutdown/init
 * cycle, and is still alive after it. */
static void cycle_with_a_cached_worker(worker_t *w)
{
	init_one_p();
	worker_start(w);
	void *old = worker_run(w, step_malloc, (void *)(uintptr_t)100);
	cr_assert_not_null(old);
	worker_run(w, step_free, old);
	cr_assert_eq(gt_reports(), 0, "%s", gt_rec.first);
	gort_shutdown();
	init_one_p();
}

TestSuite(generation);

/* Mutant killed: in gort_cache_current_slow, `gort_tls_cache && gort_tls_gen
 * == gen` made `||`, which hands the worker its unmapped (or now shared)
 * cache from before the cycle. */
Test(generation, a_thread_cache_from_before_shutdown_is_not_reused_after_init)
{
	worker_t w;
	cycle_with_a_cached_worker(&w);

	void *mine = gort_malloc(100); /* the test thread's new cache */
	cr_assert_not_null(mine);
	void *theirs = worker_run(&w, step_malloc, (void *)(uintptr_t)100);
	cr_assert_not_null(theirs, "the worker's malloc failed after the cycle");
	cr_assert_neq(mine, theirs);
	gort_object_info oi = object(theirs);
	cr_assert(oi.bits & (1u << GORT_PLANE_ALLOC), "the worker's object is not live");
	int32_t my_cache = cache_of(mine), their_cache = cache_of(theirs);
	cr_assert_neq(my_cache, their_cache,
		      "the worker allocated through the test thread's cache %d: it reused "
		      "its cache pointer from before the cycle",
		      my_cache);

	gort_cache_info rows[8];
	size_t n = thread_caches(rows, 8);
	cr_assert_eq(n, 2, "%zu thread caches in use, want the test thread's and the worker's", n);
	cr_assert_eq(cache_row(rows, n, my_cache)->mallocs, 1);
	cr_assert_eq(cache_row(rows, n, their_cache)->mallocs, 1,
		     "the worker's allocation was not counted in its new cache");

	worker_run(&w, step_free, theirs);
	gort_free(mine);
	worker_stop(&w); /* hands the worker's new cache back */
	gort_flush_caches();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0, "heap_objects %llu", (unsigned long long)ms.heap_objects);
	cr_assert_eq(ms.mallocs, 2);
	cr_assert_eq(ms.frees, 2);
	gt_expect_clean();
	gort_shutdown();
}

/* Mutant killed: in gort_free's fast path, `gort_tls_gen !=
 * ld(&gort_mem.gen)` made `==`, which lets a thread free through its cache
 * pointer from before the cycle (and sends every current free the long
 * way, which alone changes nothing visible). The worker's first call after
 * the cycle is a free of the test thread's object: it must go to the
 * owner's inbox as any other thread's free does, counted in a cache of the
 * worker's own, never clear the owner's ALLOC bit from another thread. */
Test(generation, a_free_through_a_cache_from_before_shutdown_is_a_remote_free)
{
	worker_t w;
	cycle_with_a_cached_worker(&w);

	void *mine = gort_malloc(100);
	cr_assert_not_null(mine);
	int32_t my_cache = cache_of(mine);
	worker_run(&w, step_free, mine);
	cr_assert_eq(gt_reports(), 0, "%s", gt_rec.first);
	gort_object_info oi = object(mine);
	cr_assert_eq(oi.bits & ((1u << GORT_PLANE_ALLOC) | (1u << GORT_PLANE_FREED)),
		     (1u << GORT_PLANE_ALLOC) | (1u << GORT_PLANE_FREED),
		     "bits %#x: the worker's free was not a remote free into the owner's inbox",
		     oi.bits);

	gort_cache_info rows[8];
	size_t n = thread_caches(rows, 8);
	cr_assert_eq(n, 2, "%zu thread caches in use, want the test thread's and the worker's", n);
	cr_assert_eq(cache_row(rows, n, my_cache)->frees, 0,
		     "the worker's free was counted in the test thread's cache");
	for (size_t i = 0; i < n; i++)
		if (rows[i].id != my_cache)
			cr_assert_eq(rows[i].frees, 1, "the worker's free is not in its own cache");

	worker_stop(&w);
	gort_flush_caches(); /* the owner folds the inbox in */
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0, "heap_objects %llu", (unsigned long long)ms.heap_objects);
	cr_assert_eq(ms.frees, 1);
	gt_expect_clean();
	gort_shutdown();
}

static void noop_g(void *arg)
{
	(void)arg;
}

/* Mutant killed: the same `||` as the first test, seen from its other side:
 * a NULL pointer stamped with the current generation is returned as the
 * cache, and malloc fails with ENOMEM. In step mode the scheduler runs Gs
 * on the calling thread through their P's cache and puts back what the
 * thread had before: NULL, when it had not allocated yet. */
Test(generation, a_thread_that_first_allocates_after_running_gs_gets_a_cache)
{
	init_one_p();
	cr_assert_gt(gort_go(noop_g, NULL), 0);
	cr_assert_eq(gort_run(), 0);
	void *p = gort_malloc(100);
	cr_assert_not_null(p, "malloc failed after the thread ran Gs");
	gort_free(p);
	gort_flush_caches();
	gt_expect_clean();
	gort_shutdown();
}
