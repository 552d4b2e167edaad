/*
 * stack.c — goroutine stacks: segments of guarded slots, the free-stack
 * cache, giving a deep stack's pages back. The layout and the API are
 * described in stack.h.
 *
 * Owns: the segments' address space, the guard pages, the per-slot state
 * bytes, the cache and the cold list. Invariants (under pool->lock):
 *  - every carved slot is in exactly one of: in use (state INUSE), the cache
 *    (CACHED, memory kept), the cold list (RELEASED, memory
 *    returned); slots = inuse + ncache + ncold;
 *  - a carved slot's guard (guard_bytes below lo) is installed and its
 *    usable part is read-write; uncarved slots are untouched reservation;
 *  - cold_cap >= slots, so freeing never allocates.
 *
 * Guard pages and vm.max_map_count (65530 on this machine; every VMA counts):
 *  - MADV_GUARD_INSTALL (Linux 6.13+) marks the guard page in the page
 *    tables only. A segment is made read-write once, as one VMA, and guard
 *    regions never split it: a segment of 16384 stacks costs one VMA (plus
 *    one for its state bytes). The number of stacks is bounded by memory
 *    (~1 page per parked G, plus its share of a page table) and address
 *    space (1 MiB + 64 KiB per stack by default), not by the map count:
 *    millions of Gs fit.
 *  - mprotect(PROT_NONE) makes every guard page its own VMA and splits the
 *    read-write part around it: 2 VMAs per carved stack. With the program's
 *    own mappings (a few hundred), that is at most about
 *    (65530 - those) / 2 ~ 32,000 stacks ever carved; past that mprotect
 *    fails with ENOMEM and so does gort_stack_alloc. Raising
 *    vm.max_map_count raises the limit.
 *
 * Transparent huge pages are turned off for the segments: one touched byte
 * must cost one page, not 2 MiB.
 */
#define _GNU_SOURCE
#include "sched/stack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

#if defined(GORT_SAN_ADDRESS) || defined(__SANITIZE_ADDRESS__)
#define STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACK_ASAN 1
#endif
#endif
#ifdef STACK_ASAN
#include <sanitizer/asan_interface.h>
#endif

enum slot_state {
	SLOT_FRESH = 0,
	SLOT_INUSE = 1,
	SLOT_CACHED = 2,
	SLOT_RELEASED = 3
};

#define SEG_FIRST_SLOTS 64u
#define SEG_MAX_SLOTS 16384u
/* A usable size the slot arithmetic (uint32 slot index times slot size)
 * cannot overflow on: 1 GiB per stack is far beyond any sane G. */
#define USABLE_MAX ((size_t)1 << 30)

/* ------------------------------------------------------- guard mechanism */

/* The mechanism is the OS layer's (os/guard.c). In guard-region mode a
 * segment is committed once and each carved slot gets its guard page. */
bool gort_stack_guard_regions_supported(void)
{
	return gort_os_guard_regions_supported();
}

/* ---------------------------------------------------------------- pool */

static void *map_array(size_t bytes)
{
	size_t page = gort_os_page_size();
	return gort_os_map((bytes + page - 1) & ~(page - 1));
}

static void unmap_array(void *p, size_t bytes)
{
	size_t page = gort_os_page_size();
	gort_os_unmap(p, (bytes + page - 1) & ~(page - 1));
}

int gort_stack_pool_init_config(gort_stack_pool *pool, const gort_stack_config *cfg)
{
	size_t page = gort_os_page_size();
	size_t usable = cfg && cfg->usable_bytes ? cfg->usable_bytes : GORT_STACK_DEFAULT_USABLE;
	size_t cache_max = cfg && cfg->cache_max ? cfg->cache_max : GORT_STACK_DEFAULT_CACHE;
	gort_stack_guard guard = cfg ? cfg->guard : GORT_STACK_GUARD_AUTO;

	memset(pool, 0, sizeof *pool);
	if (usable > USABLE_MAX || guard > GORT_STACK_GUARD_MPROTECT) {
		errno = EINVAL;
		return -1;
	}
	if (cache_max == SIZE_MAX)
		cache_max = 0;
	if (cache_max > ((size_t)1 << 20))
		cache_max = (size_t)1 << 20;
	if (guard == GORT_STACK_GUARD_AUTO)
		guard = gort_stack_guard_regions_supported() ? GORT_STACK_GUARD_REGION
							     : GORT_STACK_GUARD_MPROTECT;
	else if (guard == GORT_STACK_GUARD_REGION && !gort_stack_guard_regions_supported()) {
		errno = ENOTSUP;
		return -1;
	}

	gort_lock_init(&pool->lock);
	pool->page = page;
	pool->usable = (usable + page - 1) & ~(page - 1);
	pool->guard_bytes = (GORT_STACK_GUARD_BYTES + page - 1) & ~(page - 1);
	pool->slot_bytes = pool->guard_bytes + pool->usable;
	pool->cache_max = cache_max;
	pool->guard = guard;
	if (cache_max) {
		pool->cache = map_array(cache_max * sizeof(uint64_t));
		if (!pool->cache) {
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

int gort_stack_pool_init(gort_stack_pool *pool, size_t usable_bytes)
{
	gort_stack_config cfg = {.usable_bytes = usable_bytes};
	return gort_stack_pool_init_config(pool, &cfg);
}

void gort_stack_pool_destroy(gort_stack_pool *pool)
{
	for (uint32_t i = 0; i < pool->nsegs; i++) {
		struct gort_stack_seg *sg = &pool->segs[i];
		gort_os_unmap(sg->base, (size_t)sg->nslots * pool->slot_bytes);
		unmap_array(sg->state, sg->nslots);
	}
	if (pool->cache)
		unmap_array(pool->cache, pool->cache_max * sizeof(uint64_t));
	if (pool->cold)
		unmap_array(pool->cold, pool->cold_cap * sizeof(uint64_t));
	memset(pool, 0, sizeof *pool);
}

/* Grows the cold list so it can hold every slot, `slots` of them. */
static int cold_reserve(gort_stack_pool *pool, size_t slots)
{
	if (slots <= pool->cold_cap)
		return 0;
	uint64_t *n = map_array(slots * sizeof(uint64_t));
	if (!n)
		return -1;
	if (pool->cold) {
		memcpy(n, pool->cold, pool->ncold * sizeof(uint64_t));
		unmap_array(pool->cold, pool->cold_cap * sizeof(uint64_t));
	}
	pool->cold = n;
	pool->cold_cap = slots;
	return 0;
}

/* Reserves the next segment (twice the last, up to SEG_MAX_SLOTS). In the
 * guard-region mode the whole segment becomes read-write here, one VMA;
 * with mprotect each slot is opened when carved. Under pool->lock. */
static int add_segment(gort_stack_pool *pool)
{
	if (pool->nsegs == GORT_STACK_SEGMENTS_MAX)
		return -1;
	uint32_t n = SEG_FIRST_SLOTS;
	if (pool->nsegs) {
		n = pool->segs[pool->nsegs - 1].nslots * 2;
		if (n > SEG_MAX_SLOTS)
			n = SEG_MAX_SLOTS;
	}
	size_t bytes = (size_t)n * pool->slot_bytes;
	/* Segments are carved in order, so every earlier one is full. */
	if (cold_reserve(pool, pool->slots + n) != 0)
		return -1;

	int at_hint;
	char *base = gort_os_reserve(bytes, 0, &at_hint);
	if (!base)
		return -1;
	uint8_t *state = map_array(n);
	if (!state)
		goto fail;
	madvise(base, bytes, MADV_NOHUGEPAGE); /* best effort: THP may be off */
	if (pool->guard == GORT_STACK_GUARD_REGION && gort_os_commit(base, bytes) != 0)
		goto fail;

	pool->segs[pool->nsegs++] =
		(struct gort_stack_seg){.base = base, .state = state, .nslots = n, .carved = 0};
	pool->bytes_reserved += bytes;
	return 0;
fail:
	if (state)
		unmap_array(state, n);
	gort_os_unmap(base, bytes);
	return -1;
}

static char *slot_lo(const gort_stack_pool *pool, uint32_t seg, uint32_t slot)
{
	return pool->segs[seg].base + (size_t)slot * pool->slot_bytes + pool->guard_bytes;
}

/* Makes the next slot of the last segment usable: its guard below lo,
 * its usable part read-write. Under pool->lock. */
static int carve(gort_stack_pool *pool, uint32_t *seg_out, uint32_t *slot_out)
{
	if (pool->nsegs == 0 ||
	    pool->segs[pool->nsegs - 1].carved == pool->segs[pool->nsegs - 1].nslots) {
		if (add_segment(pool) != 0)
			return -1;
	}
	uint32_t seg = pool->nsegs - 1;
	struct gort_stack_seg *sg = &pool->segs[seg];
	uint32_t slot = sg->carved;
	char *lo = slot_lo(pool, seg, slot);

	if (pool->guard == GORT_STACK_GUARD_REGION) {
		if (gort_os_guard(lo - pool->guard_bytes, pool->guard_bytes) != 0)
			return -1;
	} else if (gort_os_commit(lo, pool->usable) != 0) {
		return -1; /* ENOMEM: most likely vm.max_map_count */
	}
	sg->carved++;
	pool->slots++;
	*seg_out = seg;
	*slot_out = slot;
	return 0;
}

/* The free lists hold slot ids: segment in the high half, slot below. */
static uint64_t slot_id(uint32_t seg, uint32_t slot)
{
	return (uint64_t)seg << 32 | slot;
}

static gort_stack make_stack(const gort_stack_pool *pool, uint32_t seg, uint32_t slot)
{
	char *lo = slot_lo(pool, seg, slot);
	return (gort_stack){.lo = lo,
			    .hi = lo + pool->usable,
			    .seg = seg,
			    .slot = slot};
}

gort_stack gort_stack_alloc(gort_stack_pool *pool)
{
	uint32_t seg = 0, slot = 0;
	uint64_t id = UINT64_MAX;

	gort_lock(&pool->lock);
	if (pool->ncache)
		id = pool->cache[--pool->ncache];
	else if (pool->ncold)
		id = pool->cold[--pool->ncold];
	if (id != UINT64_MAX) {
		seg = (uint32_t)(id >> 32);
		slot = (uint32_t)id;
	} else if (carve(pool, &seg, &slot) != 0) {
		gort_unlock(&pool->lock);
		errno = ENOMEM;
		return (gort_stack){0};
	}
	pool->segs[seg].state[slot] = SLOT_INUSE;
	pool->inuse++;
	gort_unlock(&pool->lock);

	return make_stack(pool, seg, slot);
}

/* Files a freed slot, off every list (state RELEASED, counted in no list)
 * while its caller works on it without the lock: into the cache if there is
 * room, else its pages go back to the OS and it joins the cold list. */
static void file_free(gort_stack_pool *pool, const gort_stack *s)
{
	uint64_t id = slot_id(s->seg, s->slot);
	gort_lock(&pool->lock);
	if (pool->ncache < pool->cache_max) {
		pool->segs[s->seg].state[s->slot] = SLOT_CACHED;
		pool->cache[pool->ncache++] = id;
		gort_unlock(&pool->lock);
		return;
	}
	gort_unlock(&pool->lock);

	gort_os_release(s->lo, pool->usable);

	gort_lock(&pool->lock);
	pool->cold[pool->ncold++] = id;
	gort_unlock(&pool->lock);
}

int gort_stack_free(gort_stack_pool *pool, const gort_stack *s)
{
	gort_lock(&pool->lock);
	uint32_t seg = s ? s->seg : UINT32_MAX, slot = s ? s->slot : UINT32_MAX;
	if (seg >= pool->nsegs || slot >= pool->segs[seg].carved ||
	    (char *)s->lo != slot_lo(pool, seg, slot) ||
	    pool->segs[seg].state[slot] != SLOT_INUSE) {
		gort_unlock(&pool->lock);
		errno = EINVAL;
		return -1;
	}
	pool->inuse--;
	/* Off every list while it is worked on outside the lock: a second
	 * free of it now fails as a double free should. */
	pool->segs[seg].state[slot] = SLOT_RELEASED;
	bool cache = pool->ncache < pool->cache_max;
	gort_unlock(&pool->lock);

	gort_stack t = make_stack(pool, seg, slot);
#ifdef STACK_ASAN
	/* Frames that were live when the G left keep their redzones poisoned;
	 * the next owner of this stack must not inherit them. */
	__asan_unpoison_memory_region(t.lo, pool->usable);
#endif
	if (cache)
		gort_stack_shrink(pool, &t); /* a deep stack is not cached whole */
	file_free(pool, &t);
	return 0;
}

/* The cache line just below the keep line: if the dead G's frames reached
 * it, they wrote there (a return address, a saved register, a local), and
 * it reads non-zero. A G that never came down reads zeros from a page it
 * never touched (the kernel's shared zero page, which costs no memory).
 * Reading instead of asking the kernel (mincore) saves a system call, 2 µs
 * on a virtual machine, at every G's death. What it can miss: frames whose
 * 64 bytes at that line were all zero (an untouched local array across it);
 * their pages then stay until the stack is released from the cache.
 * Not instrumented: dead frames there may still be ASan redzones. */
__attribute__((no_sanitize("address"))) static bool went_below(const char *line)
{
	const volatile uint64_t *w = (const volatile uint64_t *)line;
	uint64_t any = 0;
	for (int i = 0; i < 8; i++)
		any |= w[i];
	return any != 0;
}

size_t gort_stack_shrink(gort_stack_pool *pool, const gort_stack *s)
{
	size_t keep = GORT_STACK_KEEP_BYTES;
	if (pool->usable <= keep + pool->page)
		return 0;
	char *line = (char *)s->hi - keep;
	if (!went_below(line - 64))
		return 0;
	size_t n = (size_t)(line - (char *)s->lo);
	if (gort_os_release(s->lo, n) != 0)
		return 0;
	__atomic_fetch_add(&pool->shrunk, 1, __ATOMIC_RELAXED);
	return n;
}

size_t gort_stack_pool_trim(gort_stack_pool *pool)
{
	size_t bytes = 0;
	for (;;) {
		gort_lock(&pool->lock);
		if (pool->ncache == 0) {
			gort_unlock(&pool->lock);
			return bytes;
		}
		uint64_t id = pool->cache[--pool->ncache];
		uint32_t seg = (uint32_t)(id >> 32), slot = (uint32_t)id;
		pool->segs[seg].state[slot] = SLOT_RELEASED;
		gort_unlock(&pool->lock);

		gort_os_release(slot_lo(pool, seg, slot), pool->usable);
		bytes += pool->usable;

		gort_lock(&pool->lock);
		pool->cold[pool->ncold++] = id;
		gort_unlock(&pool->lock);
	}
}

void gort_stack_pool_stats(gort_stack_pool *pool, gort_stack_stats *out)
{
	gort_lock(&pool->lock);
	*out = (gort_stack_stats){
		.usable_bytes = pool->usable,
		.guard_bytes = pool->guard_bytes,
		.slot_bytes = pool->slot_bytes,
		.inuse = pool->inuse,
		.cached = pool->ncache,
		.released = pool->slots - pool->inuse - pool->ncache,
		.slots = pool->slots,
		.segments = pool->nsegs,
		.bytes_reserved = pool->bytes_reserved,
		.bytes_committed = (pool->inuse + pool->ncache) * pool->usable,
		.guard = pool->guard,
		.shrunk = __atomic_load_n(&pool->shrunk, __ATOMIC_RELAXED),
	};
	gort_unlock(&pool->lock);
}
