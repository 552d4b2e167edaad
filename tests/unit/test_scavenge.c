/*
 * test_scavenge.c — memory going back without being asked: the background
 * scavenger and its idle rule, spans leaving their central the moment their
 * last object is freed, and a large quarantine that never runs the heap out.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/mem.h"

#include "../support/gort_test.h"

static void fini(void)
{
	gort_set_error_handler(NULL, NULL);
	gort_shutdown();
}

TestSuite(scavenge, .fini = fini);

static void init_with(int threaded, int preset, size_t limit)
{
	gort_config cfg = {.threaded = threaded, .harden = preset, .arena_bytes = limit, .procs = 1};
	gt_init_config(&cfg);
	gt_record_errors();
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t heap_released(void)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	return ms.heap_released;
}

static uint8_t page_state(const void *p)
{
	gort_page_info pi;
	cr_assert_geq(gort_inspect_pages((uintptr_t)p, &pi, 1), 1);
	return pi.state;
}

/* A program that frees everything and sleeps gets its memory back: no
 * gort_release, no further call into the allocator. */
Test(scavenge, idle_pages_go_back_to_the_os_unasked, .timeout = 30)
{
	init_with(1, GORT_HARDEN_LIGHT, 0);
	enum { N = 64 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = gort_malloc(MiB);
		memset(p[i], 1, MiB);
	}
	size_t rss_full = gt_rss_bytes();
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	cr_assert_lt(heap_released(), 8 * MiB, "released at once, not after being idle");
	int waited = 0;
	/* All but the cushion the scavenger keeps (8 MiB with nothing in use). */
	size_t want = (size_t)(N - 9) * MiB;
	while (heap_released() < want && waited < 5000) {
		sleep_ms(50);
		waited += 50;
	}
	cr_assert_geq(heap_released(), want, "after %d ms: %llu bytes released", waited,
		      (unsigned long long)heap_released());
	cr_assert_geq(waited, 900, "released after %d ms: before the pages were idle", waited);
	cr_assert_lt(gt_rss_bytes() + (size_t)N * MiB / 2, rss_full, "RSS did not fall");
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

/* The idle rule, per chunk: pages freed before the cut-off go back, pages
 * freed after it stay, even inside one merged run. */
Test(scavenge, only_pages_idle_since_the_cut_off_are_released)
{
	init_with(1, GORT_HARDEN_LIGHT, 0);
	unsigned char *a = gort_malloc(MiB), *x = gort_malloc(MiB), *b = gort_malloc(MiB);
	memset(a, 1, MiB);
	memset(b, 1, MiB);
	gort_free(a);
	sleep_ms(20);
	uint64_t cut = gort_os_nanotime();
	sleep_ms(20);
	gort_free(b);
	gort_heap_scavenge(cut, SIZE_MAX);
	cr_assert_eq(page_state(a), GORT_PAGE_RELEASED, "a, freed before the cut-off, kept");
	cr_assert_eq(page_state(a + MiB - 1), GORT_PAGE_RELEASED);
	cr_assert_eq(page_state(b), GORT_PAGE_FREE, "b, freed after the cut-off, released");
	cr_assert_eq(page_state(b + MiB - 1), GORT_PAGE_FREE);
	/* x goes: its run merges a's released pages and b's backed ones. */
	gort_free(x);
	cr_assert_eq(page_state(a), GORT_PAGE_RELEASED, "merging forgot a's released pages");
	cr_assert_eq(page_state(b), GORT_PAGE_FREE);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

static gort_central_info central_of(unsigned cls)
{
	static gort_central_info c[GORT_NUM_SPAN_CLASSES];
	gort_inspect_centrals(c, GORT_NUM_SPAN_CLASSES);
	return c[cls];
}

/* Spans filed with their central, then emptied by frees no cache owns:
 * the free of each one's last object moves it to the empty list, with no
 * sweep, and the heap takes them from there before it grows. */
Test(scavenge, a_span_leaves_its_central_when_its_last_object_is_freed)
{
	init_with(0, GORT_HARDEN_LIGHT, 0);
	enum { N = 3000 };
	static void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = gort_malloc(256);
	unsigned cls = gort_size_to_class(256);
	gort_flush_caches(); /* every span of the class goes to its central */
	gort_central_info c = central_of(cls);
	cr_assert_eq(c.ncached, 0);
	uint32_t spans = c.npartial + c.nfull;
	cr_assert_geq(spans, 3);
	for (int i = 0; i < N; i++)
		gort_free(p[i]);
	c = central_of(cls);
	cr_assert_eq(c.nempty, spans, "%u of %u emptied spans on the empty list", c.nempty, spans);
	cr_assert_eq(c.npartial + c.nfull, 0);
	cr_assert_eq(gort_check(), 0);
	/* A request of another size class reuses their pages: no growth. */
	struct gort_memstats before, after;
	gort_memstats(&before);
	void *big = gort_malloc(before.heap_idle + (size_t)spans * GORT_PAGE_SIZE);
	cr_assert_not_null(big);
	gort_memstats(&after);
	c = central_of(cls);
	cr_assert_eq(c.nempty, 0, "the heap grew before taking the empty spans");
	gort_free(big);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}

/* One big buffer at a time, freed and allocated again, for as long as one
 * likes: the large quarantine never holds the heap's limit. */
Test(scavenge, the_large_quarantine_never_runs_the_heap_out, .timeout = 60)
{
	static const int presets[] = {GORT_HARDEN_DEFAULT, GORT_HARDEN_PARANOID};
	static const size_t sizes[] = {48 * MiB, 300 * MiB};
	for (int k = 0; k < 2; k++) {
		init_with(0, presets[k], 512 * MiB);
		for (int s = 0; s < 2; s++)
			for (int round = 0; round < 40; round++) {
				unsigned char *p = gort_malloc(sizes[s]);
				cr_assert_not_null(p, "%s: %zu MiB buffer, round %d: errno %d",
						   gort_harden_name(presets[k]), sizes[s] / MiB,
						   round, errno);
				p[0] = p[sizes[s] - 1] = 1;
				gort_free(p);
			}
		struct gort_memstats ms;
		gort_memstats(&ms);
		cr_assert_leq(ms.quarantine_bytes, 256 * MiB);
		cr_assert_eq(gort_check(), 0);
		gt_expect_clean();
		fini();
	}
}

/* Passes that release pages while other threads allocate and free around
 * the runs they hold out of their buckets: merges, splits and reuse race
 * the madvise, and the heap comes out whole (and clean under TSan). */
static int churn_done;

static void *churn(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	static __thread void *slot[64];
	for (int i = 0; i < 20000; i++) {
		unsigned k = (unsigned)(gt_xorshift(&x) % 64);
		gort_free(slot[k]);
		size_t n = gt_xorshift(&x) % 3 == 0 ? 40000 + gt_xorshift(&x) % 300000
						     : 16 + gt_xorshift(&x) % 4000;
		slot[k] = gort_malloc(n);
		cr_assert_not_null(slot[k]);
		((char *)slot[k])[0] = 1;
	}
	for (int k = 0; k < 64; k++)
		gort_free(slot[k]);
	return NULL;
}

static void *releaser(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&churn_done, __ATOMIC_ACQUIRE))
		gort_heap_scavenge(UINT64_MAX, SIZE_MAX);
	return NULL;
}

Test(scavenge, release_passes_race_allocation_and_free, .timeout = 60)
{
	init_with(1, GORT_HARDEN_DEFAULT, 0);
	pthread_t t[3];
	__atomic_store_n(&churn_done, 0, __ATOMIC_RELEASE);
	pthread_create(&t[2], NULL, releaser, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&churn_done, 1, __ATOMIC_RELEASE);
	pthread_join(t[2], NULL);
	cr_assert_eq(gort_check(), 0);
	gt_expect_clean();
}
