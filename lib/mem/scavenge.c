/*
 * scavenge.c — free pages back to the OS: gort_release's pass over the
 * whole heap, and the background scavenger.
 *
 * A pass works in batches: under the heap lock it takes up to BATCH free
 * runs with pages to release out of their buckets (list NONE: no
 * allocation takes them and no free merges into them meanwhile), drops the
 * lock, madvises their eligible pages (and the side tables that describe
 * only those pages), then under the lock again sets the pages' released
 * bits and files the runs back, merging them with whatever was freed next
 * to them in the meantime. So no system call is ever made under the heap
 * lock, and a free on another thread never waits for an madvise.
 *
 * Eligible pages: not released yet, in a chunk (16 pages) where no page
 * became free since idle_before. gort_release passes UINT64_MAX: all.
 *
 * The background scavenger, as Go's bgscavenge: a thread started by the
 * first allocation that finds a threaded runtime's heap at 8 MiB or more
 * (a smaller one has little to give back). Every tick it
 * gives the spans that have sat on the centrals' empty lists for
 * SCAVENGE_IDLE_NS back to the heap, then releases pages idle as long, in batches of at most
 * SCAVENGE_BATCH_BYTES, and sleeps 99 times as long as each batch took, so
 * it costs about 1 % of one CPU while there is work (10 % while more than
 * 256 MiB wait), and nothing while there is none (it sleeps a whole tick). It keeps a cushion of free,
 * backed memory (a tenth of the heap in use plus 8 MiB), as Go retains
 * about 10 % over its heap goal, so a busy program does not refault
 * what it is about to take again. Step mode never starts it: there,
 * pages go back only on gort_release, so a stepped run repeats.
 *
 * Invariants:
 *  - at most one pass runs at a time (scav_lock), and gort_check holds
 *    scav_lock, so it never sees a run out of its bucket;
 *  - a run out of its bucket is still FREE and still in the spans array.
 */
#include "mem/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define RUN_RANGES 4 /* page ranges released per run per batch */
#define SCAVENGE_IDLE_NS 1000000000ull
#define SCAVENGE_TICK_NS 100000000ull
#define SCAVENGE_BATCH_BYTES ((size_t)16 << 20)
#define SCAVENGE_DUTY 100 /* 1 % */
/* Over this much to release, 10 %: madvise drops about 4 GiB a second
 * here, so at 1 % a program that freed 1.2 GiB would wait half a minute. */
#define SCAVENGE_BACKLOG_BYTES ((size_t)256 << 20)
#define SCAVENGE_DUTY_BACKLOG 10
#define SCAVENGE_KEEP_BYTES ((size_t)8 << 20)

#define H (gort_mem.heap)

static gort_lock_t scav_lock = GORT_LOCK_INIT;

void gort_scavenge_lock(void)
{
	gort_lock(&scav_lock);
}

void gort_scavenge_unlock(void)
{
	gort_unlock(&scav_lock);
}

/* ------------------------------------------------------------ eligibility */

static bool chunk_idle(uintptr_t page, uint64_t idle_before)
{
	if (idle_before == UINT64_MAX)
		return true;
	heap_arena_t *h = gort_arena_of(page);
	return h->freed_at[(page - h->base) / CHUNK_BYTES] <= idle_before;
}

/* Whether run s has a page this pass may release. Heap lock held. */
static bool has_eligible(const span_t *s, uint64_t idle_before)
{
	uintptr_t end = s->base + span_bytes(s);
	for (uintptr_t p = s->base; p < end;) {
		uintptr_t chunk_end = (p & ~(uintptr_t)(CHUNK_BYTES - 1)) + CHUNK_BYTES;
		if (chunk_end > end)
			chunk_end = end;
		if (chunk_idle(p, idle_before) &&
		    gort_heap_released_bits(p, (chunk_end - p) >> PAGE_SHIFT, BITS_COUNT) <
			    (chunk_end - p) >> PAGE_SHIFT)
			return true;
		p = chunk_end;
	}
	return false;
}

/* Up to BATCH runs with eligible pages, out of their buckets. A bucket's
 * wholly released runs are its tail (heap.c): the walk stops there. */
static unsigned take_batch(span_t **out, uint64_t idle_before)
{
	unsigned n = 0;
	for (unsigned b = 0; b < HEAP_BUCKETS && n < BATCH; b++)
		for (span_t *s = H.free[b].first, *next; s && n < BATCH; s = next) {
			next = s->next;
			if (s->nreleased == s->npages)
				break;
			if (!has_eligible(s, idle_before))
				continue;
			/* Out of the bucket: list NONE keeps it from being
			 * allocated or merged until put back. */
			gort_heap_bucket_remove(s);
			out[n++] = s;
		}
	return n;
}

/* ----------------------------------------------------------- side tables */

static uintptr_t page_round_up(uintptr_t x)
{
	uintptr_t ps = gort_os_page_size();
	return (x + ps - 1) & ~(ps - 1);
}

static uintptr_t page_round_down(uintptr_t x)
{
	return x & ~(uintptr_t)(gort_os_page_size() - 1);
}

/* The bitmap bytes and spans entries that describe only the pages
 * [from, to) of run s go back with them; the run's own first and last
 * spans entries stay (they find the run). Within one arena at a time. */
static void release_side_tables(const span_t *s, uintptr_t from, uintptr_t to)
{
	for (uintptr_t p = from; p < to;) {
		heap_arena_t *h = gort_arena_of(p);
		uintptr_t seg = h->base + ARENA_BYTES < to ? h->base + ARENA_BYTES : to;
		uintptr_t b_lo = page_round_up((uintptr_t)h->bitmap + (p - h->base) / 16);
		uintptr_t b_hi = page_round_down((uintptr_t)h->bitmap + (seg - h->base) / 16);
		if (b_lo < b_hi)
			(void)gort_os_release((void *)b_lo, b_hi - b_lo);
		uintptr_t first = p > s->base ? p : s->base + PAGE_SIZE;
		uintptr_t last = seg < s->base + span_bytes(s) - PAGE_SIZE
					 ? seg
					 : s->base + span_bytes(s) - PAGE_SIZE;
		if (first < last) {
			uintptr_t e_lo = page_round_up(
				(uintptr_t)&h->spans[(first - h->base) >> PAGE_SHIFT]);
			uintptr_t e_hi = page_round_down(
				(uintptr_t)&h->spans[(last - h->base) >> PAGE_SHIFT]);
			if (e_lo < e_hi)
				(void)gort_os_release((void *)e_lo, e_hi - e_lo);
		}
		p = seg;
	}
}

/* ------------------------------------------------------------------ pass */

typedef struct range {
	uintptr_t base;
	size_t npages;
} range_t;

/* The eligible pages of run s as at most `max` ranges. Heap lock held:
 * the bits and ages are the heap's; the run is then out of its bucket, so
 * the ranges stay valid after the lock is dropped. */
static size_t plan_run(const span_t *s, uint64_t idle_before, range_t *out, size_t max,
		       size_t *pages_left)
{
	size_t n = 0;
	uintptr_t end = s->base + span_bytes(s), from = 0;
	for (uintptr_t p = s->base; p <= end && n < max; p += PAGE_SIZE) {
		bool want = p < end && *pages_left && !gort_heap_released_bits(p, 1, BITS_COUNT) &&
			    chunk_idle(p, idle_before);
		if (want)
			--*pages_left;
		if (want && !from)
			from = p;
		if (want || !from)
			continue;
		out[n++] = (range_t){from, (p - from) >> PAGE_SHIFT};
		from = 0;
	}
	return n;
}

/* No lock: madvise the planned ranges of s; a range the OS refuses is
 * dropped from the plan (npages 0). Pages released. */
static size_t release_ranges(const span_t *s, range_t *r, size_t n)
{
	size_t pages = 0;
	for (size_t k = 0; k < n; k++) {
		uintptr_t to = r[k].base + (r[k].npages << PAGE_SHIFT);
		if (gort_os_release((void *)r[k].base, to - r[k].base) != 0) {
			r[k].npages = 0;
			continue;
		}
		release_side_tables(s, r[k].base, to);
		pages += r[k].npages;
	}
	return pages;
}

/* Put the batch back, the released ranges' bits set. Heap lock held. */
static void file_back(span_t **batch, unsigned n, const range_t *done, const size_t *first)
{
	for (unsigned i = 0; i < n; i++) {
		span_t *s = batch[i];
		for (size_t k = first[i]; k < first[i + 1]; k++) {
			size_t was = gort_heap_released_bits(done[k].base, done[k].npages, BITS_SET);
			s->nreleased += (uint32_t)(done[k].npages - was);
			H.pages_released += done[k].npages - was;
		}
		if (s->nreleased == s->npages)
			s->needzero = 0;
		gort_heap_insert_free(s);
	}
}

size_t gort_heap_scavenge(uint64_t idle_before, size_t budget)
{
	span_t *batch[BATCH];
	range_t plan[BATCH * RUN_RANGES];
	size_t bytes = 0, first[BATCH + 1];
	gort_lock(&scav_lock);
	/* One pass: at most what is free and backed now, so a pass ends even
	 * while other threads keep freeing (and never starves them). */
	gort_lock(&H.lock);
	size_t backed = (H.pages_free - H.pages_released) << PAGE_SHIFT;
	gort_unlock(&H.lock);
	if (budget > backed)
		budget = backed;
	while (bytes < budget) {
		gort_lock(&H.lock);
		unsigned n = take_batch(batch, idle_before);
		size_t nplan = 0, pages_left = (budget - bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
		for (unsigned i = 0; i < n; i++) {
			first[i] = nplan;
			nplan += plan_run(batch[i], idle_before, plan + nplan, RUN_RANGES,
					  &pages_left);
		}
		first[n] = nplan;
		gort_unlock(&H.lock);
		if (!n)
			break;
		size_t got = 0;
		for (unsigned i = 0; i < n; i++)
			got += release_ranges(batch[i], plan + first[i], first[i + 1] - first[i]);
		gort_lock(&H.lock);
		file_back(batch, n, plan, first);
		gort_unlock(&H.lock);
		if (!got)
			break; /* the OS refused every madvise: try again next time */
		bytes += got << PAGE_SHIFT;
	}
	if (bytes) {
		gort_lock(&H.lock);
		H.num_released++;
		gort_unlock(&H.lock);
	}
	gort_unlock(&scav_lock);
	return bytes;
}

/* ------------------------------------------------------------ the thread */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	pid_t pid;     /* the process that started it (a fork's child has none) */
	int running;   /* atomic */
	int stop;
} bg = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Sleep ns unless told to stop; false when told. */
static bool nap(uint64_t ns)
{
	/* A statically initialised condition variable waits on the
	 * realtime clock. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	pthread_mutex_lock(&bg.mu);
	while (!bg.stop && pthread_cond_timedwait(&bg.cv, &bg.mu, &ts) == 0)
		;
	bool go_on = !bg.stop;
	pthread_mutex_unlock(&bg.mu);
	return go_on;
}

/* How much free, backed memory the heap may keep: a tenth of what is in
 * use plus 8 MiB, as Go retains about 10 % over its heap goal. Releasing
 * less than everything idle spares a busy program the refaults of memory
 * it will take again; a program that freed everything keeps 8 MiB. */
static size_t scavenge_excess(void)
{
	gort_lock(&H.lock);
	size_t backed = (H.pages_free - H.pages_released) << PAGE_SHIFT;
	size_t keep = (H.pages_inuse << PAGE_SHIFT) / 10 + SCAVENGE_KEEP_BYTES;
	gort_unlock(&H.lock);
	return backed > keep ? backed - keep : 0;
}

static void *scavenger(void *arg)
{
	(void)arg;
	uint64_t sleep_ns = SCAVENGE_TICK_NS;
	size_t excess = 0;
	while (nap(sleep_ns)) {
		uint64_t now = gort_os_nanotime();
		size_t got = 0;
		uint64_t took = 0;
		if (now > SCAVENGE_IDLE_NS) {
			/* Spans empty for a while go back to the heap first. */
			gort_central_release_empty(now - SCAVENGE_IDLE_NS);
			excess = scavenge_excess();
			uint64_t start = gort_os_nanotime();
			if (excess)
				got = gort_heap_scavenge(now - SCAVENGE_IDLE_NS,
							 excess < SCAVENGE_BATCH_BYTES
								 ? excess
								 : SCAVENGE_BATCH_BYTES);
			took = gort_os_nanotime() - start;
		}
		/* Work 1 % of the time while there is work, 10 % while the
		 * backlog is big; a tick when idle. */
		unsigned duty = excess > SCAVENGE_BACKLOG_BYTES ? SCAVENGE_DUTY_BACKLOG
								 : SCAVENGE_DUTY;
		sleep_ns = got ? took * (duty - 1) : SCAVENGE_TICK_NS;
		if (sleep_ns > SCAVENGE_TICK_NS)
			sleep_ns = SCAVENGE_TICK_NS; /* a slow batch (a busy machine) */
		if (sleep_ns < SCAVENGE_TICK_NS / 10)
			sleep_ns = SCAVENGE_TICK_NS / 10;
	}
	return NULL;
}

/* A fork's child has no scavenger thread: it starts its own. */
static void forked_child(void)
{
	st(&bg.running, 0);
	st(&bg.pid, 0);
}

void gort_scavenger_start(void)
{
	if (!H.scavenge || ld_acq(&bg.running))
		return;
	static int atfork_done;
	if (!__atomic_exchange_n(&atfork_done, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, forked_child);
	pthread_mutex_lock(&bg.mu);
	if (!ld(&bg.running)) {
		bg.stop = 0;
		/* Set first: pthread_create may allocate, and come back here. */
		st(&bg.pid, getpid());
		st_rel(&bg.running, 1);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, (size_t)64 << 10);
		if (pthread_create(&bg.thread, &attr, scavenger, NULL) != 0)
			st(&bg.running, 0), st(&bg.pid, 0);
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&bg.mu);
}

void gort_scavenger_stop(void)
{
	pthread_mutex_lock(&bg.mu);
	bool ours = ld(&bg.running) && ld(&bg.pid) == getpid();
	bg.stop = 1;
	pthread_cond_broadcast(&bg.cv);
	pthread_mutex_unlock(&bg.mu);
	if (ours)
		pthread_join(bg.thread, NULL);
	pthread_mutex_lock(&bg.mu);
	st(&bg.running, 0);
	st(&bg.pid, 0);
	pthread_mutex_unlock(&bg.mu);
}
