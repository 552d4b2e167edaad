/*
 * shadow_heap.c — what the whole heap must be after a step, against the
 * model.
 *
 * After every step: gort_memstats against the model (live objects,
 * cumulative mallocs and frees, tiny and large counts, mallocs and live
 * objects per size class, quarantine totals, heap_alloc exact but for the
 * one tiny block a cache may hold open, total_alloc but for the tiny
 * blocks opened) and against its own definitions (alloc, heap_objects,
 * sys, the rows by size, the preset, the page counts adding up); and
 * gort_check_at() == 0 on the span of every object the step made, freed or
 * pushed out of a quarantine, or the whole gort_check() when the step did
 * more than that.
 *
 * Cost: gort_check is linear in the committed heap and cost more than the
 * rest of a step put together (about 3.4 us of ~7 us with a 1 MiB heap
 * under ASan). Most steps change nothing but the spans of the objects they
 * make and free, so those get gort_check_at (one span each). The whole
 * gort_check runs after a step that did more: one that moved the heap's
 * page counts (a span taken from or given back to the heap, the arena
 * grown, pages released), a flush or release (centrals' lists), one that
 * touched more than SH_TOUCHED objects; and after every SH_CHECK_EVERY-th
 * step, a misuse, every deep check and the end of the input. A broken
 * invariant is thus seen at the step that broke it, or (a stray write, a
 * central's list changed by a cache refill) at most SH_CHECK_EVERY - 1
 * steps later, while the failure message still lists that step.
 *
 * Every SH_DEEP_EVERY steps and at the end of the input, the deep check:
 * the spans listing tiles the committed arena with no two free runs
 * adjacent, its pages those gort_memstats counts in use, idle and
 * released; per span class, ALLOC minus FREED bits == the model's live
 * count (tiny: live blocks plus the caches' open block; hardened: plus the
 * held objects, each still marked QUARANTINE); the centrals' counts == the
 * spans'; and a rotating window of live objects has its bitmap bits, large
 * request and pattern checked.
 *
 * Between inputs the heap must be back to its initial shape: no object,
 * one free run covering the committed arena and no span in use (hardened:
 * but the large objects still in quarantine).
 */
#include "shadow.h"

#define SH_WINDOW 4

void sh_gort_check(void)
{
	uint64_t before = gort_error_count();
	int rc = gort_check();
	SH_ASSERT(rc == 0 && gort_error_count() == before, "gort_check() = %d", rc);
	shadow.ntouched = 0;
	shadow.check_all = 0;
}

/* The spans of the step's objects, each checked on its own; past
 * SH_TOUCHED of them, the whole heap. */
static void check_touched(void)
{
	if (shadow.check_all || shadow.ntouched > SH_TOUCHED) {
		sh_gort_check();
		return;
	}
	uint64_t before = gort_error_count();
	for (size_t i = 0; i < shadow.ntouched; i++) {
		int rc = gort_check_at((const void *)shadow.touched[i]);
		SH_ASSERT(rc == 0 && gort_error_count() == before,
			  "gort_check_at(%#lx) = %d (a span this step touched)",
			  (unsigned long)shadow.touched[i], rc);
	}
	shadow.ntouched = 0;
}

/* Whether the heap's page counts moved since the last call; remembers them. */
int sh_pages_moved(const struct gort_memstats *ms)
{
	uint64_t pages[3] = {ms->heap_inuse, ms->heap_sys, ms->heap_released};
	int moved = memcmp(pages, shadow.pages, sizeof pages) != 0;
	memcpy(shadow.pages, pages, sizeof pages);
	return moved;
}

/* Objects: held objects are still allocated for the library, freed only
 * when they leave their quarantine. */
static void check_stats_objects(const struct gort_memstats *ms)
{
	const struct gort_memstats *b = &shadow.base;
	SH_ASSERT(ms->heap_objects == shadow.nlive + shadow.nheld,
		  "heap_objects %llu, model has %zu live and %zu in quarantine",
		  (unsigned long long)ms->heap_objects, shadow.nlive, shadow.nheld);
	SH_ASSERT(ms->mallocs == b->mallocs + shadow.mallocs &&
			  ms->frees == b->frees + shadow.frees - shadow.nheld,
		  "mallocs %llu frees %llu, model %llu %llu", (unsigned long long)ms->mallocs,
		  (unsigned long long)ms->frees, (unsigned long long)(b->mallocs + shadow.mallocs),
		  (unsigned long long)(b->frees + shadow.frees - shadow.nheld));
	SH_ASSERT(ms->quarantine_objects == shadow.nheld &&
			  ms->quarantine_bytes == shadow.held_bytes,
		  "quarantine: %llu objects of %llu bytes, model %zu of %llu",
		  (unsigned long long)ms->quarantine_objects,
		  (unsigned long long)ms->quarantine_bytes, shadow.nheld,
		  (unsigned long long)shadow.held_bytes);
	SH_ASSERT(ms->tiny_allocs == b->tiny_allocs + shadow.tiny_allocs,
		  "tiny_allocs %llu, model %llu", (unsigned long long)ms->tiny_allocs,
		  (unsigned long long)(b->tiny_allocs + shadow.tiny_allocs));
	SH_ASSERT(ms->large_allocs == b->large_allocs + shadow.large_allocs,
		  "large_allocs %llu, model %llu", (unsigned long long)ms->large_allocs,
		  (unsigned long long)(b->large_allocs + shadow.large_allocs));
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++) {
		SH_ASSERT(ms->by_size[c].mallocs - ms->by_size[c].frees ==
				  shadow.live_by_class[c] + shadow.qlen[c],
			  "class %u: %llu live by memstats, model %llu (+%u in quarantine)", c,
			  (unsigned long long)(ms->by_size[c].mallocs - ms->by_size[c].frees),
			  (unsigned long long)shadow.live_by_class[c], shadow.qlen[c]);
		SH_ASSERT(ms->by_size[c].mallocs ==
				  b->by_size[c].mallocs + shadow.mallocs_by_class[c],
			  "class %u: %llu mallocs by memstats, model %llu", c,
			  (unsigned long long)ms->by_size[c].mallocs,
			  (unsigned long long)(b->by_size[c].mallocs + shadow.mallocs_by_class[c]));
	}
}

/* Bytes and pages: tiny blocks count 16 bytes each, and a cache may hold
 * one open block with no live object. */
static void check_stats_bytes(const struct gort_memstats *ms)
{
	uint64_t slots = shadow.slot_bytes + shadow.held_bytes;
	uint64_t tiny_bytes = ms->heap_alloc - slots;
	SH_ASSERT(ms->heap_alloc >= slots && tiny_bytes % GORT_TINY_SIZE == 0 &&
			  tiny_bytes / GORT_TINY_SIZE >= shadow.tiny_blocks &&
			  tiny_bytes / GORT_TINY_SIZE <= shadow.tiny_blocks + 1,
		  "heap_alloc %llu: slots of the model %llu + %zu live tiny blocks",
		  (unsigned long long)ms->heap_alloc, (unsigned long long)slots,
		  shadow.tiny_blocks);
	/* total_alloc: the model's slots, plus 16 bytes per tiny block opened
	 * (at least one per block holding live objects, at most one per tiny
	 * object). */
	uint64_t total = ms->total_alloc - shadow.base.total_alloc;
	uint64_t blocks = (total - shadow.alloc_bytes) / GORT_TINY_SIZE;
	SH_ASSERT(total >= shadow.alloc_bytes &&
			  (total - shadow.alloc_bytes) % GORT_TINY_SIZE == 0 &&
			  blocks >= shadow.tiny_blocks && blocks <= shadow.tiny_allocs,
		  "total_alloc grew by %llu: model's slots %llu, %zu live tiny blocks, %llu tiny "
		  "objects",
		  (unsigned long long)total, (unsigned long long)shadow.alloc_bytes,
		  shadow.tiny_blocks, (unsigned long long)shadow.tiny_allocs);
	SH_ASSERT(ms->heap_inuse + ms->heap_idle == ms->heap_sys &&
			  ms->heap_released <= ms->heap_idle,
		  "pages: inuse %llu + idle %llu != sys %llu (released %llu)",
		  (unsigned long long)ms->heap_inuse, (unsigned long long)ms->heap_idle,
		  (unsigned long long)ms->heap_sys, (unsigned long long)ms->heap_released);
}

/* The fields' definitions (gort.h, Go's MemStats): alloc is heap_alloc,
 * heap_objects mallocs - frees, sys the sum of the *_sys fields, the rows
 * by size the classes' sizes and together with tiny_allocs every malloc,
 * nothing in use beyond what was obtained, and the preset in force. */
static void check_stats_fields(const struct gort_memstats *ms)
{
	SH_ASSERT(ms->alloc == ms->heap_alloc && ms->heap_objects == ms->mallocs - ms->frees &&
			  ms->total_alloc >= ms->heap_alloc,
		  "alloc %llu, heap_alloc %llu, total_alloc %llu; heap_objects %llu, mallocs %llu, "
		  "frees %llu",
		  (unsigned long long)ms->alloc, (unsigned long long)ms->heap_alloc,
		  (unsigned long long)ms->total_alloc, (unsigned long long)ms->heap_objects,
		  (unsigned long long)ms->mallocs, (unsigned long long)ms->frees);
	uint64_t sys = ms->heap_sys + ms->gc_sys + ms->mspan_sys + ms->mcache_sys + ms->other_sys +
		       ms->stack_sys;
	SH_ASSERT(ms->sys == sys && ms->mspan_inuse <= ms->mspan_sys &&
			  ms->mcache_inuse <= ms->mcache_sys && ms->stack_inuse <= ms->stack_sys,
		  "sys %llu, its parts add up to %llu (mspan %llu of %llu, mcache %llu of %llu, "
		  "stacks %llu of %llu)",
		  (unsigned long long)ms->sys, (unsigned long long)sys,
		  (unsigned long long)ms->mspan_inuse, (unsigned long long)ms->mspan_sys,
		  (unsigned long long)ms->mcache_inuse, (unsigned long long)ms->mcache_sys,
		  (unsigned long long)ms->stack_inuse, (unsigned long long)ms->stack_sys);
	SH_ASSERT(ms->harden == shadow.preset, "memstats says preset %d, the runtime runs %d",
		  ms->harden, shadow.preset);
	uint64_t mallocs = ms->tiny_allocs;
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++) {
		SH_ASSERT(ms->by_size[c].size == (c ? shadow.sc[c].size : 0),
			  "by_size[%u].size %u, class size %u", c, ms->by_size[c].size,
			  shadow.sc[c].size);
		mallocs += ms->by_size[c].mallocs;
	}
	SH_ASSERT(mallocs == ms->mallocs, "mallocs %llu, by size and tiny %llu",
		  (unsigned long long)ms->mallocs, (unsigned long long)mallocs);
}

/* gort_memstats against the model. Returns whether the heap's page counts
 * moved since the last call (a span taken from or given back to the heap,
 * the arena grown, pages released): the heap's own structures changed. */
int sh_check_stats(void)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	check_stats_fields(&ms);
	check_stats_objects(&ms);
	check_stats_bytes(&ms);
	return sh_pages_moved(&ms);
}

/* gort_release's promises: every free page run is released; it returns
 * the bytes newly released (whole pages, enough for what heap_released
 * grew by) and num_released counts it if there were any; and the spans
 * emptied by frees went back to the heap first, with the calling thread's
 * quarantined small objects: every span still in use holds a live object
 * or a quarantined large one. */
void sh_check_release(size_t released, const struct gort_memstats *before)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	SH_ASSERT(ms.heap_released == ms.heap_idle,
		  "gort_release: %llu of %llu idle bytes released",
		  (unsigned long long)ms.heap_released, (unsigned long long)ms.heap_idle);
	SH_ASSERT(released % SH_PAGE == 0 && released <= ms.heap_released &&
			  ms.heap_released <= before->heap_released + released &&
			  (!released || ms.num_released > before->num_released),
		  "gort_release() = %zu: heap_released %llu -> %llu, num_released %llu -> %llu",
		  released, (unsigned long long)before->heap_released,
		  (unsigned long long)ms.heap_released, (unsigned long long)before->num_released,
		  (unsigned long long)ms.num_released);
	size_t n = sh_load_spans();
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &shadow.spans[i];
		if (s->state == GORT_SPAN_FREE)
			continue;
		SH_ASSERT(s->span_class == 0 ? sh_find_live(s->base) || sh_held_find(s->base)
					     : s->nalloc > s->nfreed,
			  "gort_release: span %#lx of class %u holds no object (%u allocated, %u "
			  "freed)",
			  (unsigned long)s->base, s->span_class, s->nalloc, s->nfreed);
	}
}

/* Every span into shadow.spans (grown as needed); returns how many. */
size_t sh_load_spans(void)
{
	for (;;) {
		size_t n = gort_inspect_spans(shadow.spans, shadow.spans_cap);
		if (n <= shadow.spans_cap)
			return n;
		free(shadow.spans);
		shadow.spans_cap = n + 256;
		shadow.spans = malloc(shadow.spans_cap * sizeof *shadow.spans);
		SH_ASSERT(shadow.spans, "out of libc memory for %zu spans", shadow.spans_cap);
	}
}

/* Pages of the spans listing: in use, free, and free but released. */
typedef struct {
	uint64_t inuse, idle, released;
} page_counts;

/* The page counts of gort_memstats are those of the spans listing, and
 * heap_sys the committed arenas. */
static void check_page_counts(const page_counts *pc)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	uint64_t committed = shadow.arena.heap_committed;
	SH_ASSERT(ms.heap_inuse == pc->inuse * SH_PAGE && ms.heap_idle == pc->idle * SH_PAGE &&
			  ms.heap_released == pc->released * SH_PAGE && ms.heap_sys == committed,
		  "memstats: inuse %llu idle %llu released %llu sys %llu; spans listing: %llu, "
		  "%llu, %llu pages, %llu bytes committed",
		  (unsigned long long)ms.heap_inuse, (unsigned long long)ms.heap_idle,
		  (unsigned long long)ms.heap_released, (unsigned long long)ms.heap_sys,
		  (unsigned long long)pc->inuse, (unsigned long long)pc->idle,
		  (unsigned long long)pc->released, (unsigned long long)committed);
}

/* The spans listing tiles the committed arena, no two free runs adjacent,
 * as many free runs as the heap lists; live[], held[] and alloc[] get the
 * live (ALLOC, neither FREED nor QUARANTINE), the QUARANTINE and the ALLOC
 * counts per span class, *pc the pages. */
static void check_span_tiling(uint64_t *live, uint64_t *held, uint64_t *alloc, page_counts *pc)
{
	size_t n = sh_load_spans();
	uintptr_t at = shadow.arena.arena_base;
	int prev_free = 0;
	size_t nfree = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &shadow.spans[i];
		SH_ASSERT(s->base == at && s->npages > 0,
			  "spans listing: entry %zu at %#lx (%u pages), expected %#lx", i,
			  (unsigned long)s->base, s->npages, (unsigned long)at);
		at += (uintptr_t)s->npages * SH_PAGE;
		if (s->state == GORT_SPAN_FREE) {
			SH_ASSERT(!prev_free, "two adjacent free runs at %#lx",
				  (unsigned long)s->base);
			prev_free = 1;
			nfree++;
			pc->idle += s->npages;
			pc->released += s->released_pages;
			continue;
		}
		pc->inuse += s->npages;
		prev_free = 0;
		SH_ASSERT(s->span_class < GORT_NUM_SPAN_CLASSES && s->nfreed <= s->nalloc &&
				  s->nalloc <= s->nelems,
			  "span %#lx: class %u, %u allocated, %u freed, %u slots",
			  (unsigned long)s->base, s->span_class, s->nalloc, s->nfreed, s->nelems);
		if (s->span_class == 0)
			SH_ASSERT(s->nalloc == 1 && s->nfreed == 0 && s->owner == GORT_OWNER_LARGE,
				  "large span %#lx: %u allocated, %u freed, owner %u",
				  (unsigned long)s->base, s->nalloc, s->nfreed, s->owner);
		live[s->span_class] += s->nalloc - s->nfreed - s->nquarantined;
		held[s->span_class] += s->nquarantined;
		alloc[s->span_class] += s->nalloc;
	}
	SH_ASSERT(at == shadow.arena.arena_used,
		  "spans listing ends at %#lx, committed arena at %#lx", (unsigned long)at,
		  (unsigned long)shadow.arena.arena_used);
	SH_ASSERT(gort_inspect_free_runs(NULL, 0) == nfree, "free runs: %zu, spans listing %zu",
		  gort_inspect_free_runs(NULL, 0), nfree);
}

/* Tiny: the blocks of live tiny objects, plus each cache's open block
 * that holds none. */
static void check_tiny_blocks(uint64_t live_blocks)
{
	gort_cache_info caches[8];
	size_t nc = gort_inspect_caches(caches, 8);
	uint64_t want = shadow.tiny_blocks;
	for (size_t i = 0; i < nc && i < 8; i++)
		if (caches[i].tiny && !sh_tiny_block_live(caches[i].tiny))
			want++;
	SH_ASSERT(live_blocks == want,
		  "tiny: %llu live blocks in the bitmap, model %llu (%zu with live objects)",
		  (unsigned long long)live_blocks, (unsigned long long)want, shadow.tiny_blocks);
}

static void check_centrals(const uint64_t *alloc)
{
	gort_central_info cen[GORT_NUM_SPAN_CLASSES];
	SH_ASSERT(gort_inspect_centrals(cen, GORT_NUM_SPAN_CLASSES) == GORT_NUM_SPAN_CLASSES,
		  "centrals: wrong row count");
	for (unsigned c = 0; c < GORT_NUM_SPAN_CLASSES; c++)
		SH_ASSERT(cen[c].nalloc == alloc[c], "central %u: %llu allocated, spans say %llu",
			  c, (unsigned long long)cen[c].nalloc, (unsigned long long)alloc[c]);
}

void sh_deep_check(void)
{
	sh_gort_check();
	gort_inspect_arena(&shadow.arena);
	uint64_t live[GORT_NUM_SPAN_CLASSES] = {0}, alloc[GORT_NUM_SPAN_CLASSES] = {0};
	uint64_t held[GORT_NUM_SPAN_CLASSES] = {0};
	page_counts pc = {0};
	check_span_tiling(live, held, alloc, &pc);
	check_page_counts(&pc);
	/* Quarantined slots keep their ALLOC bits. In light the QUARANTINE
	 * bits of small slots are the caches' recent stacks, which the model
	 * does not follow: gort_check (above) matches them entry by entry. */
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++) {
		SH_ASSERT(live[c] == shadow.live_by_class[c],
			  "class %u: %llu live slots in the bitmap, model %llu", c,
			  (unsigned long long)live[c], (unsigned long long)shadow.live_by_class[c]);
		SH_ASSERT(held[c] == shadow.qlen[c] || (!shadow.hard && c != 0),
			  "class %u: %llu quarantined slots in the bitmap, model %u", c,
			  (unsigned long long)held[c], shadow.qlen[c]);
	}
	SH_ASSERT(held[GORT_TINY_SPAN_CLASS] == 0, "tiny blocks with the QUARANTINE bit");
	sh_check_held();
	check_tiny_blocks(live[GORT_TINY_SPAN_CLASS]);
	check_centrals(alloc);
	for (size_t k = 0; k < SH_WINDOW && k < shadow.nlive; k++)
		sh_check_object(&shadow.live[(shadow.rot++) % shadow.nlive]);
}

/* Hardened: no small object, and the only spans in use are those of the
 * large objects still in quarantine (nothing but a new runtime empties the
 * large FIFO). */
static void expect_hard_shape(const char *when)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	SH_ASSERT(shadow.nlive == 0 && shadow.nheld == shadow.qlen[0] &&
			  ms.heap_objects == shadow.nheld,
		  "%s: %llu objects, model %zu held (%u large)", when,
		  (unsigned long long)ms.heap_objects, shadow.nheld, shadow.qlen[0]);
	size_t n = sh_load_spans(), inuse = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &shadow.spans[i];
		if (s->state == GORT_SPAN_FREE)
			continue;
		inuse++;
		SH_ASSERT(s->span_class == 0 && sh_held_find(s->base),
			  "%s: span %#lx of class %u in use, not a quarantined large object", when,
			  (unsigned long)s->base, s->span_class);
	}
	SH_ASSERT(inuse == shadow.qlen[0], "%s: %zu spans in use, %u large objects held", when,
		  inuse, shadow.qlen[0]);
	sh_gort_check();
}

/* The heap as it must be between inputs: nothing live, one free run over
 * the committed arena (none if nothing was ever committed). */
void sh_expect_initial_shape(const char *when)
{
	if (shadow.hard) {
		expect_hard_shape(when);
		return;
	}
	struct gort_memstats ms;
	gort_memstats(&ms);
	SH_ASSERT(ms.heap_objects == 0 && ms.heap_alloc == 0 && ms.heap_inuse == 0,
		  "%s: %llu objects, heap_alloc %llu, heap_inuse %llu", when,
		  (unsigned long long)ms.heap_objects, (unsigned long long)ms.heap_alloc,
		  (unsigned long long)ms.heap_inuse);
	gort_inspect_arena(&shadow.arena);
	size_t committed = (shadow.arena.arena_used - shadow.arena.arena_base) / SH_PAGE;
	gort_run_info runs[4];
	size_t nr = gort_inspect_free_runs(runs, 4);
	if (committed == 0) {
		SH_ASSERT(nr == 0, "%s: %zu free runs in an empty arena", when, nr);
	} else {
		SH_ASSERT(nr == 1, "%s: %zu free runs, want 1", when, nr);
		SH_ASSERT(runs[0].base == shadow.arena.arena_base && runs[0].npages == committed,
			  "%s: the free run is %u pages at %#lx, the committed arena %zu pages at "
			  "%#lx",
			  when, runs[0].npages, (unsigned long)runs[0].base, committed,
			  (unsigned long)shadow.arena.arena_base);
	}
	size_t ns = gort_inspect_spans(NULL, 0);
	SH_ASSERT(ns == nr, "%s: %zu spans and runs, want only the free run", when, ns);
	sh_gort_check();
}

/* The checks after every step of an input. */
void sh_step_checks(void)
{
	if (sh_check_stats() || shadow.op_no % SH_CHECK_EVERY == SH_CHECK_EVERY - 1)
		sh_touch_all();
	check_touched();
	if (shadow.op_no % SH_DEEP_EVERY == SH_DEEP_EVERY - 1)
		sh_deep_check();
}
