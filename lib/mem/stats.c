/*
 * stats.c — gort_memstats (Go's MemStats names), gort_release, and flushing.
 *
 * Counters live where they are cheapest to bump: per cache (slot and tiny
 * allocations and frees, bumped by the cache's owner with relaxed stores),
 * and in the heap (large objects and pages, under the heap lock). This file
 * sums them. Per-cache counters of exited threads survive in their parked
 * caches, so the sums stay exact.
 */
#include "mem/mem.h"

#include <string.h>

gort_stack_stats_fn *gort_mem_stack_stats;
gort_goid_fn *gort_mem_current_goid;

static void sum_caches(uint64_t slot_alloc[], uint64_t slot_free[], uint64_t *tiny_alloc,
		       uint64_t *tiny_free)
{
	gort_lock(&gort_mem.caches_lock);
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all) {
		for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++) {
			slot_alloc[sc] += ld(&c->slot_alloc[sc]);
			slot_free[sc] += ld(&c->slot_free[sc]);
		}
		*tiny_alloc += ld(&c->tiny_alloc);
		*tiny_free += ld(&c->tiny_free);
	}
	gort_unlock(&gort_mem.caches_lock);
}

void gort_memstats(struct gort_memstats *out)
{
	memset(out, 0, sizeof *out);
	if (gort_mem_ensure_init() != 0)
		return;
	uint64_t sa[NUM_SPAN_CLASSES] = {0}, sf[NUM_SPAN_CLASSES] = {0}, ta = 0, tf = 0;
	sum_caches(sa, sf, &ta, &tf);
	/* A double free caught late was counted by the thread that made it. */
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++)
		sf[sc] -= ld(&gort_mem.stray_frees[sc]);

	for (unsigned cls = 0; cls < SC_NUM; cls++)
		out->by_size[cls].size = gort_sc_size[cls];
	for (unsigned sc = 1; sc < NUM_SPAN_CLASSES; sc++) {
		uint64_t size = gort_sc_size[spanclass_sizeclass(sc)];
		out->heap_alloc += (sa[sc] - sf[sc]) * size;
		out->total_alloc += sa[sc] * size;
		if (sc == TINY_SPAN_CLASS)
			continue;
		out->mallocs += sa[sc];
		out->frees += sf[sc];
		out->by_size[sc].mallocs = sa[sc];
		out->by_size[sc].frees = sf[sc];
	}
	out->tiny_allocs = ta;
	out->mallocs += ta;
	out->frees += tf;

	heap_t *h = &gort_mem.heap;
	arena_t *a = &gort_mem.arena;
	gort_lock(&h->lock);
	out->mallocs += h->large_allocs;
	out->frees += h->large_frees;
	uint64_t za, zf;
	gort_zero_counts(&za, &zf); /* zero-size objects: no bytes, but objects */
	out->mallocs += za;
	out->frees += zf;
	out->large_allocs = h->large_allocs;
	out->by_size[0].mallocs = h->large_allocs;
	out->by_size[0].frees = h->large_frees;
	out->heap_alloc += h->large_bytes_alloc - h->large_bytes_freed;
	out->total_alloc += h->large_bytes_alloc;
	out->heap_inuse = (uint64_t)h->pages_inuse << PAGE_SHIFT;
	out->heap_idle = (uint64_t)h->pages_free << PAGE_SHIFT;
	out->heap_released = (uint64_t)h->pages_released << PAGE_SHIFT;
	out->heap_sys = a->committed;
	out->gc_sys = a->meta_committed;
	out->mspan_inuse = h->spanalloc.inuse;
	out->mspan_sys = h->spanalloc.sys;
	out->other_sys = h->tinyalloc.sys;
	out->num_released = h->num_released;
	gort_unlock(&h->lock);

	gort_lock(&gort_mem.caches_lock);
	out->mcache_inuse = gort_mem.cachealloc.inuse;
	out->mcache_sys = gort_mem.cachealloc.sys;
	gort_quarantine_stats(&out->quarantine_objects, &out->quarantine_bytes);
	for (cache_t *c = gort_mem.all_caches; c; c = c->next_all)
		out->other_sys += c->quar_bytes;
	gort_unlock(&gort_mem.caches_lock);
	out->harden = gort_hard->preset;

	if (gort_mem_stack_stats)
		gort_mem_stack_stats(&out->stack_inuse, &out->stack_sys);
	out->alloc = out->heap_alloc;
	out->heap_objects = out->mallocs - out->frees;
	out->sys = out->heap_sys + out->gc_sys + out->mspan_sys + out->mcache_sys +
		   out->other_sys + out->stack_sys;
}

void gort_flush_caches(void)
{
	if (ld_acq(&gort_mem.state) != 2)
		return;
	cache_t *c = gort_tls_cache;
	if (c && gort_tls_gen == ld(&gort_mem.gen))
		gort_cache_flush(c);
	gort_central_reclaim_all();
	gort_report_pending();
}

size_t gort_release(void)
{
	if (gort_mem_ensure_init() != 0)
		return 0;
	gort_flush_caches();
	return gort_heap_scavenge(UINT64_MAX, SIZE_MAX);
}

void gort_mem_reclaim_for_retry(void)
{
	/* The calling thread's cache is its own to trim; other threads'
	 * caches keep at most CACHE_EMPTY_KEEP empty spans per class. */
	cache_t *c = gort_tls_cache;
	if (c && gort_tls_gen == ld(&gort_mem.gen))
		gort_cache_release_empty(c);
	gort_quarantine_drain_large("malloc");
	gort_central_reclaim_all();
}
