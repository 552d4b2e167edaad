/*
 * test_threads.c — the allocator from many threads: producer/consumer
 * stress with cross-thread frees (2 and 8 threads), every thread also
 * churning on its own; thread exit handing the thread's cache back; many
 * short-lived threads; and fork() while another thread allocates.
 *
 * Meant to run clean under ThreadSanitizer: worker threads never call
 * Criterion's asserts, they count failures in atomics that the main thread
 * checks after joining. Operation counts are scaled down under
 * ThreadSanitizer (which costs ~10x).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"

#if defined(GORT_SAN_THREAD)
#define OPS_PER_THREAD 60000
#else
#define OPS_PER_THREAD 200000
#endif

/* ------------------------------------------------------------- failures */

/* Misuse reports (none expected) go to gt_record, which keeps the first. */
static struct {
	int null_allocs; /* allocations that failed */
	int damaged;	 /* objects whose pattern was wrong */
	int usable;	 /* usable size below the request */
} bad;

static void expect_no_failures(void)
{
	cr_assert_eq(gt_reports(), 0, "reports: %s", gt_rec.first);
	cr_assert_eq(bad.null_allocs, 0, "%d allocations failed", bad.null_allocs);
	cr_assert_eq(bad.damaged, 0, "%d objects damaged", bad.damaged);
	cr_assert_eq(bad.usable, 0, "%d usable sizes too small", bad.usable);
}

static void fail(int *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------- objects */

typedef struct {
	unsigned char *p;
	uint32_t size;
	uint32_t tag;
} item_t;

static unsigned char pat(uint32_t tag, size_t i)
{
	return (unsigned char)(tag * 2654435761u >> 24) ^ (unsigned char)i;
}

/* Mostly small, a quarter tiny, a few large. */
static item_t make(uint64_t *rng, uint32_t tag)
{
	uint64_t r = gt_xorshift(rng) % 1000;
	size_t size;
	unsigned char *p;
	if (r < 250) {
		size = 1 + (size_t)(gt_xorshift(rng) % 15);
		p = gort_alloc(size, GORT_NOSCAN);
	} else if (r < 994) {
		size = (size_t)(gt_xorshift(rng) % ((uint64_t)64 << (gt_xorshift(rng) % 9)));
		p = r % 7 == 0 ? gort_calloc(1, size) : gort_malloc(size);
	} else {
		size = 32769 + (size_t)(gt_xorshift(rng) % (200 << 10));
		p = gort_malloc(size);
	}
	item_t it = {p, (uint32_t)size, tag};
	if (!p) {
		fail(&bad.null_allocs);
		return it;
	}
	if (gort_usable_size(p) < size)
		fail(&bad.usable);
	/* Large objects: pattern at both ends only, to keep TSan runs short. */
	size_t n = size > 4096 ? 64 : size;
	for (size_t i = 0; i < n; i++)
		p[i] = pat(tag, i);
	if (size > 4096)
		for (size_t i = size - 64; i < size; i++)
			p[i] = pat(tag, i);
	return it;
}

static void check_and_free(item_t it)
{
	if (!it.p)
		return;
	size_t n = it.size > 4096 ? 64 : it.size;
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= it.p[i] == pat(it.tag, i);
	if (it.size > 4096)
		for (size_t i = it.size - 64; i < it.size; i++)
			ok &= it.p[i] == pat(it.tag, i);
	if (!ok)
		fail(&bad.damaged);
	gort_free(it.p);
}

/* ---------------------------------------------------------------- ring */

enum {
	RING = 256,
	CHURN = 64,
	LEFT_LIVE = 10
};

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	item_t buf[RING];
	size_t head, count;
	int producers_left;
} ring_t;

static void ring_init(ring_t *r, int producers)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->not_empty, NULL);
	pthread_cond_init(&r->not_full, NULL);
	r->producers_left = producers;
}

static void ring_destroy(ring_t *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->not_empty);
	pthread_cond_destroy(&r->not_full);
}

static void ring_push(ring_t *r, item_t it)
{
	pthread_mutex_lock(&r->lock);
	while (r->count == RING)
		pthread_cond_wait(&r->not_full, &r->lock);
	r->buf[(r->head + r->count) % RING] = it;
	r->count++;
	pthread_cond_signal(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
}

/* 0 once the ring is empty and every producer is done. */
static int ring_pop(ring_t *r, item_t *out)
{
	pthread_mutex_lock(&r->lock);
	while (r->count == 0 && r->producers_left > 0)
		pthread_cond_wait(&r->not_empty, &r->lock);
	int got = r->count > 0;
	if (got) {
		*out = r->buf[r->head];
		r->head = (r->head + 1) % RING;
		r->count--;
		pthread_cond_signal(&r->not_full);
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

static void ring_producer_done(ring_t *r)
{
	pthread_mutex_lock(&r->lock);
	r->producers_left--;
	pthread_cond_broadcast(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
}

/* -------------------------------------------------------------- workers */

typedef struct {
	ring_t *ring;
	int id;
	int producer;
	item_t left[LEFT_LIVE]; /* still live when the thread exits */
} worker_t;

/* Its own churn: replace a random one of CHURN live objects. */
static void churn(item_t *mine, uint64_t *rng, uint32_t *tag)
{
	size_t k = (size_t)(gt_xorshift(rng) % CHURN);
	check_and_free(mine[k]);
	mine[k] = make(rng, (*tag)++);
}

static void *worker(void *arg)
{
	worker_t *w = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
	uint32_t tag = (uint32_t)w->id << 24;
	item_t mine[CHURN];
	for (int i = 0; i < CHURN; i++)
		mine[i] = make(&rng, tag++);
	if (w->producer) {
		for (int i = 0; i < OPS_PER_THREAD; i++) {
			if (i % 2)
				churn(mine, &rng, &tag);
			else
				ring_push(w->ring, make(&rng, tag++));
		}
		ring_producer_done(w->ring);
	} else {
		item_t it;
		int i = 0;
		while (ring_pop(w->ring, &it)) {
			check_and_free(it); /* allocated by another thread */
			if (i++ % 2)
				churn(mine, &rng, &tag);
		}
	}
	for (int i = 0; i < CHURN; i++) {
		if (i < LEFT_LIVE)
			w->left[i] = mine[i];
		else
			check_and_free(mine[i]);
	}
	return NULL;
}

static void init_threaded(void)
{
	gort_config cfg = {.arena_bytes = (size_t)1 << 30, .threaded = 1};
	gt_init_config(&cfg);
	gt_record_errors();
}

static void stress(int producers, int consumers)
{
	init_threaded();
	ring_t ring;
	ring_init(&ring, producers);
	int n = producers + consumers;
	worker_t w[8];
	pthread_t t[8];
	cr_assert_leq(n, 8);
	for (int i = 0; i < n; i++) {
		w[i] = (worker_t){.ring = &ring, .id = i, .producer = i < producers};
		cr_assert_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	ring_destroy(&ring);
	expect_no_failures();

	/* Every exited thread gave its cache back; main flushes its own. */
	gort_flush_caches();
	cr_assert_eq(gt_count_inuse_spans(GT_ANY, GORT_OWNER_CACHE), 0,
		     "spans still held by the caches of exited threads");
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.first);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, (uint64_t)n * LEFT_LIVE, "heap_objects %llu, want %d",
		     (unsigned long long)ms.heap_objects, n * LEFT_LIVE);
	cr_assert_geq(ms.mallocs, (uint64_t)producers * OPS_PER_THREAD);

	/* The objects left behind by dead threads free from here. */
	for (int i = 0; i < n; i++)
		for (int k = 0; k < LEFT_LIVE; k++)
			check_and_free(w[i].left[k]);
	expect_no_failures();
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(ms.mallocs, ms.frees);
	gort_flush_caches();
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.first);
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_inuse, 0, "%llu bytes of spans in use after freeing everything",
		     (unsigned long long)ms.heap_inuse);
	gt_expect_one_free_run();
	gort_shutdown();
}

Test(threads, stress_2_threads_cross_thread_frees, .timeout = 600)
{
	stress(1, 1);
}

Test(threads, stress_8_threads_cross_thread_frees, .timeout = 600)
{
	stress(4, 4);
}

/* ------------------------------------------------------------ thread exit */

static void *alloc_many_classes(void *arg)
{
	int leave = *(int *)arg;
	void *ps[300];
	for (int i = 0; i < 300; i++)
		ps[i] = i % 3 ? gort_malloc((size_t)i * 109)
			      : gort_alloc((size_t)(i % 15) + 1, GORT_NOSCAN);
	for (int i = leave; i < 300; i++)
		gort_free(ps[i]);
	return leave ? ps[0] : NULL;
}

Test(threads, thread_exit_hands_its_cache_back)
{
	init_threaded();
	struct gort_memstats ms0;
	gort_memstats(&ms0);
	int leave = 0;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, alloc_many_classes, &leave), 0);
	pthread_join(t, NULL);
	/* No flush from here: the exiting thread did it. */
	cr_assert_eq(gt_count_inuse_spans(GT_ANY, GORT_OWNER_CACHE), 0,
		     "the exited thread's cache still holds spans");
	gort_cache_info caches[64];
	size_t nc = gort_inspect_caches(caches, 64), nthread = 0;
	cr_assert_leq(nc, 64);
	for (size_t i = 0; i < nc; i++)
		nthread += caches[i].kind == 0; /* the Ps' caches (kind 1) stay */
	cr_assert_eq(nthread, 0, "%zu thread caches in use, want none (the only thread using gort exited)",
		     nthread);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(ms.mallocs, 300, "counters of exited threads must survive");
	cr_assert_eq(ms.frees, 300);
	cr_assert_eq(ms.heap_alloc, 0, "heap_alloc %llu: the tiny block stayed open",
		     (unsigned long long)ms.heap_alloc);
	gort_flush_caches();
	gt_expect_one_free_run();
	expect_no_failures();
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

Test(threads, short_lived_threads_reuse_caches)
{
	init_threaded();
	enum {
		N = 64
	};
	void *left[N];
	int leave = 1;
	uint64_t mcache_after_first = 0;
	for (int i = 0; i < N; i++) {
		pthread_t t;
		cr_assert_eq(pthread_create(&t, NULL, alloc_many_classes, &leave), 0);
		pthread_join(t, &left[i]);
		cr_assert_not_null(left[i]);
		if (i == 0) {
			struct gort_memstats ms;
			gort_memstats(&ms);
			mcache_after_first = ms.mcache_inuse;
		}
	}
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, N, "heap_objects %llu", (unsigned long long)ms.heap_objects);
	cr_assert_eq(ms.mcache_inuse, mcache_after_first,
		     "sequential threads should reuse the parked cache (%llu -> %llu bytes)",
		     (unsigned long long)mcache_after_first, (unsigned long long)ms.mcache_inuse);
	for (int i = 0; i < N; i++)
		gort_free(left[i]);
	gort_flush_caches();
	gort_memstats(&ms);
	cr_assert_eq(ms.heap_objects, 0);
	gt_expect_one_free_run();
	expect_no_failures();
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

/* Threads created before any gort call: the lazy init races between them. */
static void *lazy_worker(void *arg)
{
	pthread_barrier_t *b = arg;
	pthread_barrier_wait(b);
	for (int i = 0; i < 2000; i++) {
		void *p = gort_malloc((size_t)(i % 500));
		if (!p)
			fail(&bad.null_allocs);
		gort_free(p);
	}
	return NULL;
}

Test(threads, concurrent_lazy_init)
{
	gt_record_errors();
	enum {
		N = 6
	};
	pthread_barrier_t b;
	pthread_barrier_init(&b, NULL, N);
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, lazy_worker, &b), 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
	expect_no_failures();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.mallocs, (uint64_t)N * 2000);
	cr_assert_eq(ms.heap_objects, 0);
	cr_assert_eq(gort_check(), 0);
	gort_shutdown();
}

/* ------------------------------------------------------------------ fork */

static int fork_stop;

static void *fork_churner(void *arg)
{
	(void)arg;
	uint64_t rng = 12345;
	uint32_t tag = 0;
	item_t mine[CHURN];
	for (int i = 0; i < CHURN; i++)
		mine[i] = make(&rng, tag++);
	while (!__atomic_load_n(&fork_stop, __ATOMIC_ACQUIRE))
		churn(mine, &rng, &tag);
	for (int i = 0; i < CHURN; i++)
		check_and_free(mine[i]);
	return NULL;
}

/* In the child: allocate, check, free; exit 0 if all went well. */
static int child_work(void *parents)
{
	alarm(10); /* a deadlock kills the child, and the test fails */
	int status = 0;
	uint64_t rng = 777;
	item_t its[200];
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 200; i++) {
			its[i] = make(&rng, (uint32_t)i);
			if (!its[i].p)
				status = 2;
		}
		for (int i = 0; i < 200; i++)
			check_and_free(its[i]);
	}
	/* An object the parent allocated before forking is ours too. */
	if (memcmp(parents, "parent", 7) != 0)
		status = 3;
	gort_free(parents);
	if (bad.damaged || gt_reports() || bad.null_allocs)
		status = 4;
	return status;
}

Test(threads, fork_while_another_thread_allocates, .timeout = 120)
{
	init_threaded();
	char *parents = gort_malloc(7);
	memcpy(parents, "parent", 7);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, fork_churner, NULL), 0);
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		cr_assert_neq(pid, -1, "fork: errno %d", errno);
		if (pid == 0)
			_exit(child_work(parents));
		int status = 0;
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status), "child %d died with signal %d%s", i,
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			  WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (deadlock)" : "");
		cr_assert_eq(WEXITSTATUS(status), 0, "child %d exited with %d", i,
			     WEXITSTATUS(status));
		usleep(1000);
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	expect_no_failures();
	cr_assert(memcmp(parents, "parent", 7) == 0);
	gort_free(parents);
	cr_assert_eq(gort_check(), 0, "%s", gt_rec.first);
	gort_shutdown();
}
