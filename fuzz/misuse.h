/*
 * misuse.h — the misuse checker that fuzz_misuse and fuzz_harden share: the
 * error handler that records reports, misuse() (one call with a pointer
 * that is not a live object: exactly one report, of an expected kind, about
 * that pointer, from that call, and nothing changed), the oracle that
 * decides which kinds a pointer may be reported as from the model
 * (fuzz/shadow.h) and the heap's snapshots, and the misuse operations of
 * fuzz_misuse (fuzz/fuzz_misuse.c describes them).
 *
 * Included by exactly one harness per program, after nothing else of the
 * fuzzers (it includes shadow.h); everything is static.
 *
 * A report outside an armed call is a failure (on_error). Hardened mode
 * (shadow.hard) narrows the oracle to the kinds docs/hardening.md promises: a
 * pointer the model holds in a quarantine is a double free whose detail
 * says "in quarantine", every other pointer's detail must not say so, and
 * realloc and usable_size of a freed object are never a use after free.
 */
#ifndef GORT_FUZZ_MISUSE_H
#define GORT_FUZZ_MISUSE_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "shadow.h"

enum call {
	CALL_FREE,
	CALL_REALLOC,
	CALL_USABLE,
};
static const char *const call_name[] = {"free", "realloc", "usable_size"};

#define K(kind) (1u << (kind))

/* What the handler saw during one misuse call. */
static struct {
	int armed, jump, count;
	jmp_buf env;
	gort_error_kind kind;
	uintptr_t address;
	char op[32];
	char message[256];
	char detail[200];
} R;

static void on_error(const gort_error *e, void *ctx)
{
	(void)ctx;
	if (!R.armed)
		sh_fail("unexpected report from %s: %s", e->op, e->message);
	/* gort.h: the handler runs with no allocator lock held and may call
	 * gort functions. gort_memstats takes the caches' and the heap's
	 * locks: one still held by the reporting call would hang it here (a
	 * timeout for the fuzzer). */
	struct gort_memstats ms;
	gort_memstats(&ms);
	R.count++;
	R.kind = e->kind;
	R.address = e->address;
	snprintf(R.op, sizeof R.op, "%s", e->op);
	snprintf(R.message, sizeof R.message, "%s", e->message);
	snprintf(R.detail, sizeof R.detail, "%s", e->detail);
	if (R.jump)
		longjmp(R.env, 1);
}

static const char *kind_names(unsigned mask, char *buf, size_t n)
{
	static const char *names[] = {"?",
				      "double free",
				      "invalid free",
				      "interior pointer",
				      "heap overflow",
				      "use after free",
				      "heap corruption",
				      "stack overflow",
				      "deadlock"};
	buf[0] = 0;
	for (unsigned k = 1; k < sizeof names / sizeof names[0]; k++)
		if (mask & K(k))
			snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? " or " : "",
				 names[k]);
	if (mask & K(GORT_ERR_INVALID_POINTER))
		snprintf(buf + strlen(buf), n - strlen(buf), "%sinvalid pointer", buf[0] ? " or " : "");
	return buf;
}

/* usable_size frees nothing: what a free would report as a double free it
 * reports as a use after free, an invalid free as an invalid pointer. */
static unsigned as_seen_by(enum call call, unsigned kinds)
{
	if (call != CALL_USABLE)
		return kinds;
	unsigned out = kinds & ~(K(GORT_ERR_DOUBLE_FREE) | K(GORT_ERR_INVALID_FREE));
	if (kinds & K(GORT_ERR_DOUBLE_FREE))
		out |= K(GORT_ERR_USE_AFTER_FREE);
	if (kinds & K(GORT_ERR_INVALID_FREE))
		out |= K(GORT_ERR_INVALID_POINTER);
	return out;
}

/* Known library bugs: a library bug the fuzzer keeps hitting can be
 * tolerated here until it is fixed, so that fuzzing goes on past it and
 * `make test` stays green: match exactly that case (call, pointer, kind
 * reported, kinds wanted), note it once on stderr, and return 1; unless
 * GORT_FUZZ_STRICT=1 is set, which makes it a failure like any other. Its
 * reproducer goes under corpus/<harness>/regressions/; delete the entry
 * with the fix, and the reproducer then guards it.
 *
 * None at the moment. The first one, realloc/usable_size of an interior
 * pointer into a tiny block reported as a double free (free said interior
 * pointer), was fixed in lib/mem/malloc.c live_size(); its reproducer is
 * corpus/fuzz_misuse/regressions/crash-e48c5d910ab3db1677452cc88deda0f624f1c6c8
 * (p = gort_alloc(3, GORT_NOSCAN), then realloc(p + 1, 0)). */
static int strict;

static int known_case(enum call call, uintptr_t p, gort_error_kind got, unsigned want)
{
	(void)call;
	(void)p;
	(void)got;
	(void)want;
	return 0; /* none at the moment */
}

static int known_bug(enum call call, uintptr_t p, gort_error_kind got, unsigned want)
{
	return !strict && known_case(call, p, got, want);
}

/* Pass p to one call, expecting exactly one report of a kind in `kinds`,
 * about p, from that call; then nothing may have changed. */
static void misuse_seen(enum call call, uintptr_t p, size_t n, unsigned kinds, int jump,
			const char *what);

static void misuse(enum call call, uintptr_t p, size_t n, unsigned kinds, int jump,
		   const char *what)
{
	misuse_seen(call, p, n, as_seen_by(call, kinds), jump, what);
}

static void misuse_seen(enum call call, uintptr_t p, size_t n, unsigned kinds, int jump,
			const char *what)
{
	/* Traced as WHAT(pointer, call: 0 free 1 realloc 2 usable_size, 1 if the
	 * handler longjmps). */
	sh_step *st = sh_op(what, p, (uint64_t)call, (uint64_t)jump);
	if (call == CALL_USABLE)
		sh_gsh("# %s: usable_size(%#lx) (no gortsh command)", what, (unsigned long)p);
	else
		sh_gsh("try %s %#lx%s  # %s", call == CALL_FREE ? "free" : "realloc", (unsigned long)p,
		       call == CALL_FREE ? "" : " 1", what);
	struct gort_memstats before, after;
	gort_memstats(&before);
	uint64_t errors = gort_error_count();
	static volatile uintptr_t result;
	result = 0xdeadbeef;
	R.count = 0;
	R.jump = jump;
	R.armed = 1;
	if (!jump || setjmp(R.env) == 0) {
		switch (call) {
		case CALL_FREE:
			gort_free((void *)p);
			result = 0;
			break;
		case CALL_REALLOC: result = (uintptr_t)gort_realloc((void *)p, n); break;
		case CALL_USABLE: result = gort_usable_size((void *)p); break;
		}
	}
	R.armed = 0;
	sh_ret(st, result);
	char want[128];
	SH_ASSERT(R.count == 1, "%s: %s(%#lx) made %d reports, want 1 (%s)", what, call_name[call],
		  (unsigned long)p, R.count, R.count ? R.message : "none");
	SH_ASSERT((kinds & K(R.kind)) || known_bug(call, p, R.kind, kinds),
		  "%s: %s(%#lx) reported \"%s\", want %s", what, call_name[call], (unsigned long)p,
		  R.message, kind_names(kinds, want, sizeof want));
	SH_ASSERT(R.address == p, "%s: %s(%#lx) reported address %#lx (%s)", what, call_name[call],
		  (unsigned long)p, (unsigned long)R.address, R.message);
	SH_ASSERT(strcmp(R.op, call_name[call]) == 0, "%s: %s(%#lx) reported op \"%s\"", what,
		  call_name[call], (unsigned long)p, R.op);
	int held = sh_held_find(p) != NULL;
	SH_ASSERT(held == (strstr(R.detail, "in quarantine") != NULL),
		  "%s: %s(%#lx) reported \"%s\", but the model %s it in quarantine", what,
		  call_name[call], (unsigned long)p, R.message, held ? "holds" : "does not hold");
	SH_ASSERT(gort_error_count() == errors + 1, "%s: gort_error_count went %llu -> %llu", what,
		  (unsigned long long)errors, (unsigned long long)gort_error_count());
	if (!jump)
		SH_ASSERT(result == 0, "%s: %s(%#lx) returned %#lx after a report", what,
			  call_name[call], (unsigned long)p, (unsigned long)result);
	gort_memstats(&after);
	SH_ASSERT(after.mallocs == before.mallocs && after.frees == before.frees &&
			  after.heap_objects == before.heap_objects &&
			  after.heap_alloc == before.heap_alloc &&
			  after.heap_inuse == before.heap_inuse &&
			  after.heap_idle == before.heap_idle &&
			  after.heap_released == before.heap_released,
		  "%s: %s(%#lx) changed the heap: mallocs %llu->%llu frees %llu->%llu "
		  "heap_alloc %llu->%llu heap_inuse %llu->%llu",
		  what, call_name[call], (unsigned long)p, (unsigned long long)before.mallocs,
		  (unsigned long long)after.mallocs, (unsigned long long)before.frees,
		  (unsigned long long)after.frees, (unsigned long long)before.heap_alloc,
		  (unsigned long long)after.heap_alloc, (unsigned long long)before.heap_inuse,
		  (unsigned long long)after.heap_inuse);
	sh_gort_check();
	const sh_iv *v = sh_iv_containing(p);
	if (v) {
		const sh_obj *o = sh_find_live(v->lo);
		SH_ASSERT(o, "model: interval without object at %#lx", (unsigned long)v->lo);
		sh_verify(o, "after a misuse inside it");
	}
}

/* The kinds a misuse of p may be reported as, from the model and a snapshot
 * taken now; 0 if p is the start of a live object (not a misuse at all). */
static unsigned oracle(uintptr_t p, enum call call)
{
	unsigned freed = K(GORT_ERR_DOUBLE_FREE) | K(GORT_ERR_INVALID_FREE);
	if (call != CALL_FREE && !shadow.hard)
		freed |= K(GORT_ERR_USE_AFTER_FREE);
	if (sh_find_live(p))
		return 0;
	if (sh_held_find(p))
		return K(GORT_ERR_DOUBLE_FREE);
	const sh_iv *v = sh_iv_containing(p);
	if (v && !v->tiny)
		return K(GORT_ERR_INTERIOR_POINTER);
	gort_span_info si;
	if (gort_inspect_span_of(p, &si) != 0)
		return K(GORT_ERR_INVALID_FREE);
	gort_object_info oi;
	SH_ASSERT(gort_inspect_object((void *)p, &oi) == 0, "span_of and object of %#lx disagree",
		  (unsigned long)p);
	int quarantined = oi.bits & K(GORT_PLANE_QUARANTINE);
	int slot_live =
		(oi.bits & K(GORT_PLANE_ALLOC)) && !(oi.bits & K(GORT_PLANE_FREED)) && !quarantined;
	if (si.span_class == 0) {
		SH_ASSERT(p != si.base, "a large object at %#lx the model does not know",
			  (unsigned long)p);
		return K(GORT_ERR_INTERIOR_POINTER);
	}
	if (si.span_class == GORT_TINY_SPAN_CLASS) {
		if (!slot_live)
			return freed;
		SH_ASSERT(!((oi.tiny_live >> (p & 15)) & 1),
			  "a live tiny object at %#lx the model does not know", (unsigned long)p);
		/* A block in use: an offset where an object started since the
		 * block was opened is a double free, any other is interior. */
		return K(GORT_ERR_INTERIOR_POINTER) | K(GORT_ERR_DOUBLE_FREE) |
		       (call != CALL_FREE ? K(GORT_ERR_USE_AFTER_FREE) : 0);
	}
	size_t off = p - si.base;
	if (off / si.elemsize >= si.nelems)
		return K(GORT_ERR_INVALID_FREE);
	if (off % si.elemsize)
		return K(GORT_ERR_INTERIOR_POINTER);
	SH_ASSERT(!slot_live, "a live object at %#lx (class %u) the model does not know",
		  (unsigned long)p, si.span_class);
	SH_ASSERT(!quarantined || !shadow.hard,
		  "a quarantined slot at %#lx (class %u) the model does not hold", (unsigned long)p,
		  si.span_class);
	/* Light: the slot waits on its cache's recent stack (lib/mem/recent.c). */
	if (quarantined)
		return K(GORT_ERR_DOUBLE_FREE) | (call != CALL_FREE ? K(GORT_ERR_USE_AFTER_FREE) : 0);
	/* Hardened: freed into its span's inbox and not yet folded in. */
	if (shadow.hard && (oi.bits & K(GORT_PLANE_FREED)))
		return K(GORT_ERR_DOUBLE_FREE);
	return freed;
}

static enum call pick_call(fdp_t *d)
{
	return (enum call)fdp_range(d, 0, 2);
}

/* The common arguments of a misuse of a known object: which of `count`
 * (sh_pick), through which call, longjmp out of the handler or return, and
 * the size a realloc asks for. Decoded in this order, always. */
typedef struct {
	size_t k;
	enum call call;
	int jump;
	size_t n;
} mis_target;

static mis_target decode_target(fdp_t *d, size_t count)
{
	mis_target t;
	t.k = sh_pick(d, count);
	t.call = pick_call(d);
	t.jump = fdp_bool(d);
	t.n = fdp_range(d, 0, 100);
	return t;
}

/* The harness's reporting: the recording handler, and GORT_FUZZ_STRICT. */
static void misuse_setup(void)
{
	const char *st = getenv("GORT_FUZZ_STRICT");
	strict = st && *st && *st != '0';
	gort_set_error_handler(on_error, NULL);
}

/* ------------------------------------------------------------ misuses */

static void mis_double_free_now(fdp_t *d)
{
	mis_target t = decode_target(d, shadow.nlive);
	if (shadow.nlive == 0)
		return;
	sh_obj o = shadow.live[t.k];
	sh_free_live(t.k);
	/* Hardened, the object is in a quarantine or its span's inbox: a double
	 * free and nothing else. */
	unsigned kinds = K(GORT_ERR_DOUBLE_FREE);
	if (o.cls == 0 && !shadow.hard)
		kinds |= K(GORT_ERR_INVALID_FREE); /* the span went back with the object */
	if (t.call != CALL_FREE && !shadow.hard)
		kinds |= K(GORT_ERR_USE_AFTER_FREE);
	misuse(t.call, o.p, t.n, kinds, t.jump, "double free (immediate)");
}

static void mis_double_free_later(fdp_t *d)
{
	mis_target t = decode_target(d, shadow.ngrave);
	if (shadow.ngrave == 0)
		return;
	uintptr_t p = shadow.grave[t.k].p;
	unsigned kinds = oracle(p, t.call);
	if (kinds)
		misuse(t.call, p, t.n, kinds, t.jump, "double free (delayed)");
}

static void mis_freed_span(fdp_t *d)
{
	mis_target t = decode_target(d, shadow.nlive);
	/* Flushing gives emptied spans back to the heap; releasing them to the
	 * OS too makes the rest of the input fault its pages in again. */
	int release = fdp_range(d, 0, 3) == 0;
	if (shadow.nlive == 0)
		return;
	sh_obj o = shadow.live[t.k];
	sh_free_live(t.k);
	sh_step *st = sh_op(release ? "gort_release" : "gort_flush_caches", 0, 0, 0);
	if (release)
		sh_ret(st, sh_release());
	else {
		sh_flush();
		sh_ret(st, 0);
	}
	unsigned kinds = oracle(o.p, t.call);
	if (kinds)
		misuse(t.call, o.p, t.n, kinds, t.jump, "pointer into a freed span");
}

static void mis_interior(fdp_t *d)
{
	size_t i = sh_pick(d, shadow.nlive);
	enum call call = pick_call(d);
	int jump = fdp_bool(d);
	uint32_t r = fdp_u32(d);
	unsigned pick = (unsigned)fdp_range(d, 0, 5);
	size_t n = fdp_range(d, 0, 100);
	if (shadow.nlive == 0)
		return;
	const sh_obj *o = &shadow.live[i];
	size_t u = gort_usable_size((void *)o->p);
	if (u < 2)
		return;
	size_t offs[] = {1, 8, 16, u / 2, u - 1, 1 + r % (u - 1)};
	size_t off = offs[pick];
	if (off == 0 || off >= u)
		return;
	misuse(call, o->p + off, n, K(GORT_ERR_INTERIOR_POINTER), jump, "interior pointer");
}

static int a_global[64];
static void not_data(void)
{
}

/* Every misuse decodes all of its arguments before it acts, so an input
 * keeps its meaning when an operation finds nothing to act on. */
static void mis_foreign(fdp_t *d)
{
	int on_stack[16] = {0};
	enum call call = pick_call(d);
	int jump = fdp_bool(d);
	unsigned kind = (unsigned)fdp_range(d, 0, 6);
	uint32_t v = fdp_u32(d);
	size_t n = fdp_range(d, 0, 100);
	void *from_libc = NULL;
	uintptr_t p;
	switch (kind) {
	case 0: p = (uintptr_t)&on_stack[v % 16]; break;
	case 1: p = (uintptr_t)&a_global[v % 64]; break;
	case 2:
		from_libc = malloc(1 + v % 4096);
		if (!from_libc)
			return;
		p = (uintptr_t)from_libc;
		break;
	case 3: p = (uintptr_t)&not_data; break;
	case 4: p = 1 + v % 65536; break;
	case 5: p = (uintptr_t)0xfffffffffffff000ull + v % 4096; break;
	default: p = (uintptr_t)1 << (12 + v % 51); break;
	}
	/* A stray value could land on the gort heap itself: then it is not
	 * foreign, and the oracle knows what it is. */
	unsigned kinds = oracle(p, call);
	if (kinds)
		misuse(call, p, n, kinds, jump, "foreign pointer");
	free(from_libc);
}

static void mis_never_allocated(fdp_t *d)
{
	enum call call = pick_call(d);
	int jump = fdp_bool(d);
	unsigned kind = (unsigned)fdp_range(d, 0, 5);
	size_t i = fdp_u16(d);
	uint32_t v = fdp_u32(d);
	int in_tail = fdp_bool(d);
	size_t n = fdp_range(d, 0, 100);
	gort_inspect_arena(&shadow.arena);
	const gort_arena_info *a = &shadow.arena;
	uintptr_t p = 0;
	const char *what = "never-allocated arena address";
	switch (kind) {
	case 0: {
		gort_run_info runs[64];
		size_t nr = gort_inspect_free_runs(runs, 64);
		if (nr == 0)
			return;
		const gort_run_info *r = &runs[i % (nr < 64 ? nr : 64)];
		p = r->base + v % ((uint64_t)r->npages * SH_PAGE);
		what = "address in a free run";
		break;
	}
	case 1:
		if (a->arena_used >= a->arena_base + a->arena_bytes)
			return;
		p = a->arena_used + v % (a->arena_base + a->arena_bytes - a->arena_used);
		what = "uncommitted arena address";
		break;
	case 2:
		p = a->spans_base + v % a->spans_bytes;
		what = "address in the spans array";
		break;
	case 3:
		p = a->bitmap_base + v % a->bitmap_bytes;
		what = "address in the bitmap";
		break;
	case 4:
		p = a->arena_base + a->arena_bytes + v % (SH_PAGE + 1);
		what = "address past the arena";
		break;
	default: {
		/* A span of a live object: its tail beyond the last slot, or a
		 * slot that is not allocated. */
		if (shadow.nlive == 0)
			return;
		const sh_obj *o = &shadow.live[i % shadow.nlive];
		gort_span_info si;
		if (o->cls == 0 || gort_inspect_span_of(o->p, &si) != 0)
			return;
		size_t slot = o->tiny ? GORT_TINY_SIZE : si.elemsize;
		size_t tail = (size_t)si.npages * SH_PAGE - (size_t)si.nelems * slot;
		if (tail && in_tail) {
			p = si.base + (uintptr_t)si.nelems * slot + v % tail;
			what = "address in a span's tail";
		} else {
			p = si.base + (v % si.nelems) * slot;
			what = "slot that is not allocated";
		}
		break;
	}
	}
	unsigned kinds = oracle(p, call);
	if (kinds)
		misuse(call, p, n, kinds, jump, what);
}

#endif /* GORT_FUZZ_MISUSE_H */
