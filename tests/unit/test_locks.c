/*
 * test_locks.c — the allocator's whole-heap operations under the default
 * sanitizer settings: gort_check(), the gort_inspect_*() snapshots and
 * fork() each take every allocator lock at once (gort_mem_lock_all: the
 * scavenger pass, caches registry, 69 centrals, heap). Under ThreadSanitizer, with its deadlock detector on, this
 * once hung: pthread mutexes beyond 64 held at once overflow the detector.
 * The runtime's own futex locks (lib/os/lock.h) fixed it; this suite keeps
 * the detector on to hold that fixed.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gort.h"
#include "gort_inspect.h"

#include "../support/gort_test.h"
#include "mem/mem.h"

/* The default error handler stays: a misuse report aborts the test. */
static void setup(void)
{
	gt_init(64 * MiB);
}

TestSuite(locks, .init = setup, .fini = gt_teardown, .timeout = 10);

Test(locks, check_returns)
{
	void *p = gort_malloc(100);
	cr_assert_eq(gort_check(), 0);
	gort_free(p);
	cr_assert_eq(gort_check(), 0);
}

Test(locks, inspect_snapshots_return)
{
	void *p = gort_malloc(100);
	gort_span_info spans[8];
	cr_assert_geq(gort_inspect_spans(spans, 8), 1);
	gort_span_info one;
	cr_assert_eq(gort_inspect_span_of((uintptr_t)p, &one), 0);
	gort_cache_info caches[4];
	cr_assert_geq(gort_inspect_caches(caches, 4), 1);
	gort_central_info centrals[GORT_NUM_SPAN_CLASSES];
	cr_assert_eq(gort_inspect_centrals(centrals, GORT_NUM_SPAN_CLASSES), GORT_NUM_SPAN_CLASSES);
	gort_run_info runs[4];
	cr_assert_geq(gort_inspect_free_runs(runs, 4), 1);
	gort_free(p);
}

Test(locks, fork_after_init_returns)
{
	void *p = gort_malloc(100);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		alarm(10);
		void *q = gort_malloc(200);
		gort_free(q);
		gort_free(p);
		_exit(q ? 0 : 1);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	gort_free(p);
}

/* A fork in the middle of a scavenger pass (here: a thread holding the
 * pass's lock, as the background scavenger does while it madvises) waits
 * for the pass to end. Were the pass's lock left out of fork's locks, the
 * child would inherit it held by a thread it does not have, and its first
 * gort_release() or gort_check() would wait forever. */
static int pass_started;

static void *scavenger_pass(void *arg)
{
	(void)arg;
	gort_scavenge_lock();
	__atomic_store_n(&pass_started, 1, __ATOMIC_RELEASE);
	usleep(100 * 1000);
	gort_scavenge_unlock();
	return NULL;
}

Test(locks, fork_waits_for_a_scavenger_pass)
{
	void *p = gort_malloc(100);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, scavenger_pass, NULL), 0);
	while (!__atomic_load_n(&pass_started, __ATOMIC_ACQUIRE))
		usleep(1000);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		alarm(5);
		gort_free(p);
		gort_release();
		_exit(gort_check() == 0 ? 0 : 1);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child hung or failed: status %#x", status);
	cr_assert_eq(pthread_join(t, NULL), 0);
	gort_free(p);
}
