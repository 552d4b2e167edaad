/*
 * shadow_decode.c — the input decoder of the allocator harnesses: an input
 * is a sequence of operations decoded FuzzedDataProvider-style (fuzz/fdp.h),
 * one tail byte picking the operation (sh_ops, weights out of 256) and
 * further tail bytes its arguments; each operation makes its calls and
 * hands their results to the model (shadow_model.c), which checks them.
 *
 * Operations: malloc, calloc, realloc, aligned_alloc (powers of two up to
 * 1 MiB), gort_alloc with GORT_NOSCAN (tiny) / GORT_ZERO, singly or up to 64
 * at a time, of sizes that span tiny, small (size class boundaries +-1),
 * large and big objects; impossible requests (beyond the arena or the
 * address space, an overflowing calloc, a bad alignment); free of a live
 * object by index or of a run of them; gort_release, gort_flush_caches,
 * gort_memstats with a deep check; gort_usable_size.
 *
 * What the bytes mean is fixed: the corpora and fuzz/seeds.py depend on it.
 * An index into a list takes two tail bytes whatever the list's length, so
 * what follows decodes the same however many objects are live. An
 * allocation the budget has no room for is skipped (traced with result 1)
 * after its arguments are decoded.
 */
#include "shadow.h"

/* Impossible sizes: beyond the arena, or beyond the address space. */
static size_t huge_size(fdp_t *d)
{
	static const size_t extra[] = {1, SH_PAGE, (size_t)1 << 20};
	switch (fdp_range(d, 0, 5)) {
	case 0: return SH_ARENA_BYTES + FDP_PICK(d, extra);
	case 1: return SH_ARENA_BYTES * 2;
	case 2: return (size_t)1 << (40 + fdp_range(d, 0, 22));
	case 3: return SIZE_MAX - fdp_range(d, 0, 2 * SH_PAGE);
	case 4: return SIZE_MAX / 2 + 1;
	default: return SH_ARENA_BYTES + fdp_range(d, 1, (size_t)1 << 32);
	}
}

/* A request size: tiny, a size class boundary +-1, any small, large around
 * page boundaries, big (to SH_MAX_LARGE, past the heap's exact-length
 * buckets of up to 127 pages) or zero. Never huge. Big requests are rare:
 * a calloc of megabytes is a memset of megabytes. */
static size_t request_size(fdp_t *d)
{
	switch (fdp_range(d, 0, 7)) {
	case 6:
		if (fdp_range(d, 0, 3) == 0)
			return fdp_range(d, 256 << 10, SH_MAX_LARGE);
		return fdp_range(d, GORT_MAX_SMALL_SIZE + 1, 256 << 10);
	case 0: return fdp_range(d, 0, 16);
	case 1:
	case 2: {
		unsigned c = (unsigned)fdp_range(d, 1, GORT_NUM_SIZE_CLASSES - 1);
		int delta = (int)fdp_range(d, 0, 2) - 1;
		return (size_t)((int64_t)shadow.sc[c].size + delta);
	}
	case 3: {
		unsigned bits = (unsigned)fdp_range(d, 3, 15);
		return fdp_range(d, 0, ((uint64_t)1 << bits) - 1);
	}
	case 4: return fdp_range(d, GORT_MAX_SMALL_SIZE + 1, 256 << 10);
	case 5: {
		size_t pages = fdp_range(d, 4, 256);
		int delta = (int)fdp_range(d, 0, 2) - 1;
		return pages * SH_PAGE + (size_t)(int64_t)delta;
	}
	default: return 0;
	}
}

/* An index into the live objects (or any list of n): always two tail bytes,
 * so what follows decodes the same whatever n is when the input runs. */
size_t sh_pick(fdp_t *d, size_t n)
{
	size_t v = fdp_u16(d);
	return n ? v % n : 0;
}

/* Run an allocation that succeeded or failed fairly into the model. */
static void took(void *p, size_t n, const sh_expect *e, const char *what)
{
	if (!p) {
		sh_expect_fair_oom(what, n, e->align);
		return;
	}
	sh_add((uintptr_t)p, n, e, 1);
}

static void op_malloc(fdp_t *d)
{
	size_t n = request_size(d);
	sh_step *st = sh_op("malloc", n, 0, 0);
	sh_expect e = {.how = HOW_MALLOC, .foot = sh_footprint(n, 0, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_malloc(n);
	sh_ret(st, (uintptr_t)p);
	took(p, n, &e, "malloc");
}

static void op_calloc(fdp_t *d)
{
	size_t n = request_size(d);
	size_t elt = (size_t)1 << fdp_range(d, 0, 6);
	size_t cnt = n / elt + fdp_range(d, 0, 1);
	sh_step *st = sh_op("calloc", cnt, elt, 0);
	sh_expect e = {.how = HOW_CALLOC, .zero = 1, .foot = sh_footprint(cnt * elt, 0, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_calloc(cnt, elt);
	sh_ret(st, (uintptr_t)p);
	took(p, cnt * elt, &e, "calloc");
}

static void op_aligned(fdp_t *d)
{
	size_t align = (size_t)1 << fdp_range(d, 0, 20);
	size_t n = request_size(d);
	if (n > SH_MAX_LARGE / 2)
		n /= 4;
	sh_step *st = sh_op("aligned_alloc", align, n, 0);
	sh_expect e = {.how = HOW_ALIGNED, .align = align, .foot = sh_footprint(n, align, 0)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_aligned_alloc(align, n);
	sh_ret(st, (uintptr_t)p);
	took(p, n, &e, "aligned_alloc");
}

static void op_alloc(fdp_t *d)
{
	static const unsigned flagsets[] = {GORT_NOSCAN, GORT_NOSCAN, 0, GORT_ZERO,
					    GORT_NOSCAN | GORT_ZERO};
	unsigned flags = FDP_PICK(d, flagsets);
	size_t n = fdp_bool(d) ? fdp_range(d, 0, 17) : request_size(d);
	int tiny = !shadow.hard && flags == GORT_NOSCAN && n < GORT_TINY_SIZE;
	sh_step *st = sh_op("gort_alloc", n, flags, 0);
	sh_expect e = {.how = HOW_ALLOC,
		       .noscan = !!(flags & GORT_NOSCAN),
		       .tiny = tiny,
		       .zero = !!(flags & GORT_ZERO),
		       .foot = sh_footprint(n, 0, tiny)};
	if (!sh_room_for(e.foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *p = gort_alloc(n, flags);
	sh_ret(st, (uintptr_t)p);
	took(p, n, &e, "gort_alloc");
}

/* Up to 64 small objects of one request at once: fills spans (and tiny blocks)
 * to where caches move on to the next span and centrals see full ones,
 * which single allocations would need a long input to reach. Every object
 * is checked as any new one (a snapshot lookup takes only the heap lock). */
static void op_alloc_many(fdp_t *d)
{
	static const unsigned flagsets[] = {0, GORT_NOSCAN, GORT_ZERO};
	unsigned flags = FDP_PICK(d, flagsets);
	size_t n = fdp_bool(d) ? fdp_range(d, 0, 17) : request_size(d) % (GORT_MAX_SMALL_SIZE + 1);
	size_t k = fdp_range(d, 2, 64);
	int tiny = !shadow.hard && flags == GORT_NOSCAN && n < GORT_TINY_SIZE;
	sh_expect e = {.how = HOW_ALLOC,
		       .noscan = !!(flags & GORT_NOSCAN),
		       .tiny = tiny,
		       .zero = !!(flags & GORT_ZERO),
		       .foot = sh_footprint(n, 0, tiny)};
	for (size_t i = 0; i < k && sh_room_for(e.foot); i++) {
		sh_step *st = sh_op("gort_alloc(many)", n, flags, 0);
		errno = 0;
		void *p = gort_alloc(n, flags);
		sh_ret(st, (uintptr_t)p);
		if (!p) {
			sh_expect_fair_oom("gort_alloc", n, 0);
			break;
		}
		sh_add((uintptr_t)p, n, &e, 1);
	}
}

static void op_realloc(fdp_t *d)
{
	if (shadow.nlive == 0)
		return;
	size_t i = sh_pick(d, shadow.nlive);
	size_t n = fdp_range(d, 0, 3) == 0 ? fdp_range(d, 0, 24) : request_size(d);
	sh_obj o = shadow.live[i];
	sh_step *st = sh_op("realloc", o.p, n, o.id);
	sh_verify(&o, "realloc");
	size_t foot = sh_footprint(n, 0, 0);
	if (!sh_room_for(foot)) {
		sh_ret(st, 1);
		return;
	}
	errno = 0;
	void *q = gort_realloc((void *)o.p, n);
	sh_ret(st, (uintptr_t)q);
	if (!q) {
		sh_expect_fair_oom("realloc", n, 0);
		sh_verify(&o, "after a failed realloc");
		return;
	}
	size_t keep = o.req < n ? o.req : n;
	sh_verify_at(&o, (uintptr_t)q, keep, "after realloc (the prefix)");
	int moved = (uintptr_t)q != o.p;
	sh_remove(i, moved);
	if (moved)
		sh_freed(&o);
	/* In place, the object keeps its slot and so its POINTERS bit. */
	sh_expect e = {.how = HOW_REALLOC,
		       .in_place = !moved,
		       .noscan = moved ? 0 : o.noscan,
		       .foot = foot};
	sh_add((uintptr_t)q, n, &e, moved);
}

static void op_free(fdp_t *d)
{
	if (shadow.nlive)
		sh_free_live(sh_pick(d, shadow.nlive));
}

/* Free a run of the most recent objects: empties spans, so spans go back. */
static void op_free_many(fdp_t *d)
{
	size_t k = fdp_range(d, 1, 64);
	while (k-- && shadow.nlive)
		sh_free_live(shadow.nlive - 1);
}

static void op_release(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_release", 0, 0, 0);
	sh_ret(st, sh_release());
}

static void op_flush(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_flush_caches", 0, 0, 0);
	sh_flush();
	sh_ret(st, 0);
}

static void op_stats(fdp_t *d)
{
	(void)d;
	sh_step *st = sh_op("gort_memstats+deep_check", 0, 0, 0);
	sh_deep_check();
	sh_ret(st, 0);
}

static void op_usable(fdp_t *d)
{
	if (shadow.nlive == 0)
		return;
	const sh_obj *o = &shadow.live[sh_pick(d, shadow.nlive)];
	sh_step *st = sh_op("usable_size", o->p, o->req, o->id);
	size_t u = gort_usable_size((void *)o->p);
	sh_ret(st, u);
	if (o->tiny)
		SH_ASSERT(u >= o->req && (o->p & 15) + u <= GORT_TINY_SIZE,
			  "tiny %#lx of %zu bytes: usable %zu", (unsigned long)o->p, o->req, u);
	else
		SH_ASSERT(u == o->usable, "usable_size(%#lx) = %zu, was %zu", (unsigned long)o->p,
			  u, o->usable);
}

/* Impossible requests: NULL with ENOMEM (EINVAL for a bad alignment), and
 * nothing changes. */
static void op_impossible(fdp_t *d)
{
	size_t n = huge_size(d);
	unsigned what = (unsigned)fdp_range(d, 0, 6);
	sh_step *st = sh_op("impossible", what, n, 0);
	void *p = NULL;
	errno = 0;
	switch (what) {
	case 0: sh_expect_enomem(p = gort_malloc(n), "malloc", n); break;
	case 1: {
		size_t elt = (size_t)fdp_range(d, 2, 4096);
		size_t cnt = SIZE_MAX / elt + fdp_range(d, 1, 3);
		sh_expect_enomem(p = gort_calloc(cnt, elt), "calloc(overflowing count)", cnt);
		break;
	}
	case 2: sh_expect_enomem(p = gort_calloc(1, n), "calloc", n); break;
	case 3:
		sh_expect_enomem(p = gort_aligned_alloc((size_t)1 << fdp_range(d, 0, 20), n),
				 "aligned_alloc", n);
		break;
	case 4:
		sh_expect_enomem(p = gort_alloc(n, (unsigned)fdp_range(d, 0, 3)), "gort_alloc", n);
		break;
	case 5: {
		static const size_t bad[] = {0, 3, 24, 48, 1000, (SIZE_MAX >> 1) + 2};
		size_t align = FDP_PICK(d, bad);
		p = gort_aligned_alloc(align, 64);
		SH_ASSERT(p == NULL && errno == EINVAL,
			  "aligned_alloc(%zu, 64) = %p errno %d: want NULL and EINVAL", align, p,
			  errno);
		break;
	}
	default:
		if (shadow.nlive) {
			const sh_obj *o = &shadow.live[sh_pick(d, shadow.nlive)];
			sh_expect_enomem(p = gort_realloc((void *)o->p, n), "realloc", n);
			sh_verify(o, "after realloc to an impossible size");
		}
		break;
	}
	sh_ret(st, (uintptr_t)p);
}

/* Weights out of 256: more allocation than freeing, so objects pile up.
 * gort_release is rare: after it every page an input touches faults again,
 * which costs more than anything else the harness does; so is the explicit
 * deep check, which also runs every SH_DEEP_EVERY steps anyway. */
static const struct {
	unsigned upto;
	sh_opfn fn;
} sh_ops[] = {
	{36, op_malloc},      {40, op_alloc_many}, {56, op_calloc}, {84, op_realloc},
	{100, op_aligned},    {140, op_alloc},	   {210, op_free},  {218, op_free_many},
	{220, op_release},    {226, op_flush},	   {228, op_stats}, {240, op_usable},
	{256, op_impossible},
};

sh_opfn sh_pick_op(unsigned byte)
{
	for (size_t i = 0; i < sizeof sh_ops / sizeof sh_ops[0]; i++)
		if (byte < sh_ops[i].upto)
			return sh_ops[i].fn;
	return op_impossible;
}

void sh_run_ops(fdp_t *d, unsigned normal, const sh_opfn *extra, size_t nextra)
{
	while (fdp_remaining(d) && shadow.op_no < SH_MAX_OPS) {
		unsigned b = fdp_u8(d);
		if (b < normal)
			sh_pick_op(b * 256 / normal)(d);
		else
			extra[(b - normal) % nextra](d);
		sh_step_checks();
		shadow.op_no++;
	}
}
