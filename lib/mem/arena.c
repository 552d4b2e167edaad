/*
 * arena.c — the one reservation: [spans array | guard | bitmap | guard | arena].
 *
 * As in Go 1.5 the runtime reserves, once, all the address space the heap may
 * ever use, PROT_NONE, and commits it from the bottom as the heap grows. The
 * spans array has one span pointer per 8 KiB page of the arena (1/1024 of
 * it); the bitmap has 4 bits per 8-byte granule (1/16). The arena is placed
 * at Go's hint 0xc000000000 when that range is free, so addresses repeat from
 * run to run; otherwise anywhere. The side tables are separated from each
 * other and from the arena by guard gaps that are never committed, so a run
 * of writes off the end of one cannot reach the next.
 *
 * Invariants:
 *  - base is aligned to ARENA_ALIGN (so every page and every power-of-two
 *    alignment up to it holds by address arithmetic alone);
 *  - base < used <= end; [base, used) is committed, and so are the spans
 *    entries and bitmap bytes that describe it;
 *  - used only grows, and only under the heap lock; free() reads it unlocked
 *    to reject foreign pointers with one compare.
 */
#include "mem/mem.h"

#include <errno.h>
#include <string.h>

/* ThreadSanitizer treats a mapping outside its application ranges as fatal,
 * and Go's hint lies outside them: under TSan the kernel picks the address. */
#if defined(__SANITIZE_THREAD__)
#define ARENA_TRY_HINT 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ARENA_TRY_HINT 0
#endif
#endif
#ifndef ARENA_TRY_HINT
#define ARENA_TRY_HINT 1
#endif

/* Never committed: PROT_NONE between the side tables and the arena. */
#define META_GUARD ((size_t)1 << 20)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

int gort_arena_init(arena_t *a, size_t arena_bytes)
{
	memset(a, 0, sizeof *a);
	if (arena_bytes == 0)
		arena_bytes = ARENA_DEFAULT_BYTES;
	if (arena_bytes < ARENA_MIN_BYTES)
		arena_bytes = ARENA_MIN_BYTES;
	if (arena_bytes > ((size_t)1 << 46)) {
		errno = EINVAL;
		return -1;
	}
	/* Whole megabytes keep every table a whole number of OS pages. */
	arena_bytes = round_up(arena_bytes, (size_t)1 << 20);
	size_t align = (size_t)64 << 10;
	a->spans_bytes = round_up(arena_bytes / PAGE_SIZE * sizeof(span_t *), align);
	a->bitmap_bytes = round_up(arena_bytes / 16, align);
	size_t meta = a->spans_bytes + META_GUARD + a->bitmap_bytes + META_GUARD;
	/* Slack so the arena can start on an ARENA_ALIGN boundary wherever the
	 * kernel puts the reservation; at the hint it is already aligned. */
	a->reserved_bytes = meta + arena_bytes + ARENA_ALIGN;

	void *r = gort_os_reserve(a->reserved_bytes, ARENA_TRY_HINT ? ARENA_HINT - meta : 0,
				  &a->at_hint);
	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	uintptr_t base = round_up((uintptr_t)r + meta, ARENA_ALIGN);
	/* Give back the slack on both sides: the reservation is exactly
	 * [spans | guard | bitmap | guard | arena]. */
	uintptr_t lo = base - meta, hi = base + arena_bytes;
	if (lo > (uintptr_t)r)
		gort_os_unmap(r, lo - (uintptr_t)r);
	if ((uintptr_t)r + a->reserved_bytes > hi)
		gort_os_unmap((void *)hi, (uintptr_t)r + a->reserved_bytes - hi);
	a->reserved_base = lo;
	a->reserved_bytes = hi - lo;
	a->spans = (span_t **)lo;
	a->bitmap = (uint8_t *)(lo + a->spans_bytes + META_GUARD);
	a->base = base;
	a->end = a->base + arena_bytes;
	a->used = a->base;
	return 0;
}

void gort_arena_destroy(arena_t *a)
{
	if (a->reserved_base)
		gort_os_unmap((void *)a->reserved_base, a->reserved_bytes);
	memset(a, 0, sizeof *a);
}

/* Commit the OS pages covering [lo, hi) of a side table. */
static int commit_range(uintptr_t lo, uintptr_t hi)
{
	size_t ps = gort_os_page_size();
	lo &= ~(ps - 1);
	hi = round_up(hi, ps);
	return gort_os_commit((void *)lo, hi - lo);
}

uintptr_t gort_arena_grow(arena_t *a, size_t npages)
{
	size_t left = (a->end - a->used) >> PAGE_SHIFT;
	if (npages > left)
		return 0;
	size_t grow = npages < HEAP_GROW_PAGES ? HEAP_GROW_PAGES : npages;
	if (grow > left)
		grow = left;
	uintptr_t from = a->used, to = from + (grow << PAGE_SHIFT);
	if (gort_os_commit((void *)from, to - from) != 0)
		return 0;
	uintptr_t s_lo = (uintptr_t)&a->spans[arena_page_index(a, from)];
	uintptr_t s_hi = (uintptr_t)&a->spans[arena_page_index(a, to)];
	uintptr_t b_lo = (uintptr_t)a->bitmap + (from - a->base) / 16;
	uintptr_t b_hi = (uintptr_t)a->bitmap + (to - a->base) / 16;
	if (commit_range(s_lo, s_hi) != 0 || commit_range(b_lo, b_hi) != 0)
		return 0;
	a->meta_committed = round_up(s_hi - (uintptr_t)a->spans, gort_os_page_size()) +
			    round_up(b_hi - (uintptr_t)a->bitmap, gort_os_page_size());
	st_rel(&a->used, to);
	return from;
}
