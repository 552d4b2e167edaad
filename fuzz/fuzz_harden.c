/*
 * fuzz_harden.c — fuzz_alloc's operations and shadow model (fuzz/shadow.h,
 * in its hardened mode) and fuzz_misuse's misuse (fuzz/misuse.h) under the
 * default and paranoid presets, plus the misuse only those presets catch:
 * heap overflows, writes after free, double frees of quarantined objects.
 *
 * Every input starts a fresh runtime (sh_start), configured by the input's
 * first tail bytes: the preset (default or paranoid), the quarantine length
 * (1..16, short so that objects do leave it) and the seed (0..255, which
 * keys the canaries and paranoid's random slots and span placement). Fresh,
 * because the settings are read-only once the runtime is up, because only a
 * shutdown empties the large objects' quarantine, and so that an input
 * replays alone exactly as it ran in the fuzzer. It costs about 75 us an
 * input (the reservation and its side tables).
 *
 * The shadow model (shadow.h) checks every operation as in fuzz_alloc, with
 * the hardened expectations: usable size exactly the request, the class of
 * request + 8, p[n] zero, new small objects zeroed, freed small slots
 * zeroed, and the quarantines modelled as FIFOs (which object is held, which
 * leaves, what gort_memstats counts). The misuse operations of fuzz_misuse
 * run with misuse.h's oracle narrowed to the hardened kinds. New here, each
 * of which must be reported exactly once, with exactly the right kind,
 * address and call, and leave the heap consistent (gort_check() == 0 once
 * the planted byte is repaired or reported):
 *  - heap overflow: one byte at p[n + k] (k 0..7) of a live object is
 *    changed (xor with a nonzero value, so p[n] never stays 0), then free,
 *    realloc or usable_size: a heap overflow, the object still live, the
 *    damaged offset in the detail; the byte is put back, usable_size then
 *    reports nothing, and the object is freed or kept.
 *  - write after free: a live small object is freed (into a quarantine or
 *    its span's inbox) and one nonzero byte written into the part of its
 *    slot that zero_check watches (GORT_ZERO_CHECK_BYTES in default); at once
 *    gort_check() must report heap corruption, "use after free", naming the
 *    slot. Then one of two variants, both exact:
 *      repair: the zero goes back; gort_check() is clean;
 *      reuse:  gort_flush_caches() empties the rings, so the slot is freed
 *              for real. If the model has no live object in the slot's
 *              span, the span goes back to the heap and the flush reports
 *              the use after free (op "free": the pending report of a dirty
 *              span). Otherwise the flush reports nothing and the class is
 *              allocated, up to as many times as its spans have free slots:
 *              after a flush a cache takes the centrals' partial spans in
 *              order and hands out every free slot of one before the next,
 *              so the slot comes out within that many allocations, and that
 *              malloc must report the use after free, repair the slot and
 *              go on with another (counted as one more malloc and free).
 *              Too many free slots for the model's budget: repair instead.
 *  - write after a large free: a freed large object held in quarantine is
 *    fenced (its first byte cannot be read: paranoid fences every one) or
 *    its watched head reads zero (gort.h); then one nonzero byte goes into
 *    that head, gort_check() must report it as above, and the zero goes
 *    back.
 *  - double free in quarantine: a pointer the model holds in a quarantine
 *    (chosen among all held ones, so possibly many frees ago), through
 *    free, realloc or usable_size: a double free, "in quarantine".
 * A report anywhere else is a failure, as in fuzz_misuse.
 *
 * Build and replay as the other harnesses (make fuzz, make fuzz-replay);
 * GORT_FUZZ_TRACE=1 prints each operation; GORT_FUZZ_GSH=1 prints the input
 * as a gortsh script (init with its preset, quarantine and seed; planted
 * bytes as poke); it runs in gortsh step for step up to the first malloc
 * that reports a use after free, whose object the shell frees and the
 * harness keeps.
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "misuse.h"

#define FUZZ_API __attribute__((visibility("default")))

/* --------------------------------------------------- expected reports */

/* Record reports of a call that is not a misuse() call (gort_check, a
 * flush, a malloc) without longjmp: those calls must finish their work. */
static void arm(void)
{
	R.count = 0;
	R.jump = 0;
	R.armed = 1;
}

static void disarm(void)
{
	R.armed = 0;
}

/* Exactly one report, of `kind`, about p, from op, its detail holding
 * `detail`. */
static void expect_report(const char *what, gort_error_kind kind, uintptr_t p, const char *op,
			  const char *detail)
{
	char want[64];
	SH_ASSERT(R.count == 1, "%s: %d reports, want 1 (%s)", what, R.count,
		  R.count ? R.message : "none");
	SH_ASSERT(R.kind == kind && R.address == p && strcmp(R.op, op) == 0 &&
			  strstr(R.detail, detail),
		  "%s: %s reported \"%s\", want %s about %#lx with \"%s\"", what, R.op, R.message,
		  kind_names(K(kind), want, sizeof want), (unsigned long)p, detail);
}

/* Write one byte into an object's slot: a live object's (its canary
 * included) or a freed small one's, never a freed large one's. */
static void poke(const sh_obj *o, size_t off, uint8_t byte, const char *what)
{
	sh_step *st = sh_op(what, o->p + off, byte, o->id);
	((volatile uint8_t *)o->p)[off] = byte;
	sh_gsh("poke o%llu %zu %u  # %s", (unsigned long long)o->id, off, byte, what);
	sh_ret(st, 0);
}

/* ------------------------------------------------------- heap overflow */

/* The damaged offset in the report's detail: exactly n + k, but for a
 * small object's trailer (the slot's last 8 bytes), where a changed slack
 * field makes the MAC differ elsewhere in the trailer. */
static void expect_overflow_at(const sh_obj *o, size_t at)
{
	const char *s = strstr(R.detail, "canary at +");
	SH_ASSERT(s, "heap overflow of object %llu: detail \"%s\"", (unsigned long long)o->id,
		  R.detail);
	size_t bad = strtoul(s + strlen("canary at +"), NULL, 10);
	size_t trailer = o->slot - SH_CANARY;
	int in_trailer = o->cls != 0 && at >= trailer;
	SH_ASSERT(bad == at || (in_trailer && bad >= trailer && bad < o->slot),
		  "heap overflow of object %llu (%zu bytes) at +%zu: reported +%zu",
		  (unsigned long long)o->id, o->req, at, bad);
}

static void expect_still_live(const sh_obj *o)
{
	gort_object_info oi;
	SH_ASSERT(gort_inspect_object((void *)o->p, &oi) == 0 && oi.base == o->p &&
			  (oi.bits & K(GORT_PLANE_ALLOC)) &&
			  !(oi.bits & (K(GORT_PLANE_FREED) | K(GORT_PLANE_QUARANTINE))),
		  "object %llu at %#lx is not live after its overflow was reported",
		  (unsigned long long)o->id, (unsigned long)o->p);
}

static void hz_overflow(fdp_t *d)
{
	size_t i = sh_pick(d, shadow.nlive);
	size_t k = fdp_range(d, 0, SH_CANARY - 1);
	uint8_t x = (uint8_t)fdp_range(d, 1, 255);
	enum call call = pick_call(d);
	int jump = fdp_bool(d);
	size_t n = fdp_range(d, 0, 100);
	int free_after = fdp_bool(d);
	if (shadow.nlive == 0)
		return;
	sh_obj o = shadow.live[i];
	size_t at = o.usable + k;
	uint8_t old = ((volatile uint8_t *)o.p)[at];
	poke(&o, at, old ^ x, "overflow");
	misuse(call, o.p, n, K(GORT_ERR_HEAP_OVERFLOW), jump, "heap overflow");
	expect_overflow_at(&o, at);
	expect_still_live(&o);
	poke(&o, at, old, "repair");
	/* Whole again: no report (the handler is disarmed) and the size. */
	SH_ASSERT(gort_usable_size((void *)o.p) == o.usable,
		  "object %llu: usable_size after the repair is not %zu", (unsigned long long)o.id,
		  o.usable);
	if (free_after)
		sh_free_live(i);
}

/* ----------------------------------------------------- write after free */

/* gort_check finds the byte at once: heap corruption naming the slot. */
static void expect_check_finds(const sh_obj *o)
{
	sh_step *st = sh_op("gort_check", o->p, 0, o->id);
	sh_gsh("try check");
	uint64_t before = gort_error_count();
	arm();
	int rc = gort_check();
	disarm();
	sh_ret(st, (uintptr_t)rc);
	expect_report("gort_check after a write after free", GORT_ERR_HEAP_CORRUPTION, o->p,
		      "check", "use after free");
	SH_ASSERT(rc == -1 && gort_error_count() == before + 1,
		  "gort_check() = %d after a write after free, error count +%llu", rc,
		  (unsigned long long)(gort_error_count() - before));
}

static int span_has_live(const gort_span_info *si)
{
	size_t i = sh_iv_lower(si->base);
	return i < shadow.nlive && shadow.iv[i].lo < si->base + (uintptr_t)si->npages * SH_PAGE;
}

/* Free slots of class c in every in-use span: after a flush, the most
 * allocations it can take to reach any of them. */
static size_t free_slots(unsigned c)
{
	size_t n = sh_load_spans(), slots = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &shadow.spans[i];
		if (s->state != GORT_SPAN_FREE && s->span_class == c)
			slots += s->nelems - s->nalloc + s->nfreed;
	}
	return slots;
}

/* The reuse variant after the flush: allocate class c until the malloc
 * that meets the slot reports it. */
static void reuse_until_report(const sh_obj *o, size_t at, const char *detail)
{
	size_t n = shadow.sc[o->cls].size - SH_CANARY, k = free_slots(o->cls);
	/* Only GORT_NOSCAN requests reach a class whose slots do not all keep
	 * the alignment gort.h promises malloc (Go's 24 bytes). */
	sh_expect m = {.how = HOW_MALLOC};
	int noscan = sh_hard_class(n, sh_promised_align(n, &m)) != o->cls;
	sh_expect e = {.how = noscan ? HOW_ALLOC : HOW_MALLOC,
		       .noscan = noscan,
		       .foot = sh_footprint(n, 0, 0)};
	if (shadow.nlive + k > SH_MAX_LIVE || shadow.foot + k * e.foot > SH_FOOTPRINT_MAX) {
		poke(o, at, 0, "repair (no budget to reuse)");
		sh_gort_check();
		return;
	}
	for (size_t j = 0; j < k; j++) {
		sh_step *st = sh_op(noscan ? "gort_alloc" : "malloc", n, noscan ? GORT_NOSCAN : 0, 0);
		errno = 0;
		arm();
		void *p = noscan ? gort_alloc(n, GORT_NOSCAN) : gort_malloc(n);
		disarm();
		int reported = R.count != 0;
		if (reported) {
			/* The shell frees what such an alloc returns; the harness
			 * keeps it. */
			st->name = "malloc (use after free)";
			sh_gsh("try alloc %zu%s  # use after free; the harness keeps o%llu", n,
			       noscan ? " noscan" : "", (unsigned long long)shadow.next_id);
		}
		sh_ret(st, (uintptr_t)p);
		SH_ASSERT(p, "malloc(%zu) = NULL, errno %d, reusing class %u", n, errno, o->cls);
		if (reported) {
			expect_report("malloc over a slot written after free",
				      GORT_ERR_USE_AFTER_FREE, o->p, "malloc", detail);
			sh_count_reused_slot(o->cls); /* taken, repaired, freed */
		}
		sh_add((uintptr_t)p, n, &e, 1);
		if (reported) {
			sh_gort_check();
			return;
		}
	}
	sh_fail("write after free at %#lx + %zu: no report in %zu allocations of class %u",
		(unsigned long)o->p, at, k, o->cls);
}

/* The reuse variant: flush, then the report comes from the flush (the span
 * went back to the heap) or from the malloc that reuses the slot. */
static void flush_and_reuse(const sh_obj *o, const gort_span_info *si, size_t at)
{
	char detail[48];
	snprintf(detail, sizeof detail, "written after free at +%zu", at);
	int empty = !span_has_live(si);
	/* Named apart when it must report, so that the script says `try`. */
	sh_step *st =
		sh_op(empty ? "gort_flush_caches (use after free)" : "gort_flush_caches", 0, 0, 0);
	if (empty)
		sh_gsh("try flush");
	arm();
	sh_flush();
	disarm();
	sh_ret(st, 0);
	if (empty) {
		expect_report("flush of a span written after free", GORT_ERR_USE_AFTER_FREE, o->p,
			      "free", detail);
		sh_gort_check();
		return;
	}
	SH_ASSERT(R.count == 0, "flush: %d reports while the span still holds objects (%s)",
		  R.count, R.message);
	reuse_until_report(o, at, detail);
}

/* Whether p's byte can be read, without a fault: a fenced page is EFAULT. */
static int readable(uintptr_t p)
{
	char byte;
	struct iovec to = {&byte, 1}, from = {(void *)p, 1};
	return process_vm_readv(getpid(), &to, 1, &from, 1, 0) == 1;
}

static void hz_write_after_large_free(size_t i, uint16_t off, uint8_t x)
{
	sh_obj o = shadow.live[i];
	sh_free_live(i);
	if (!sh_held_find(o.p))
		return; /* too big to hold: back in the heap */
	int fenced = !readable(o.p);
	SH_ASSERT(fenced || shadow.preset != GORT_HARDEN_PARANOID,
		  "paranoid left freed large object %llu readable", (unsigned long long)o.id);
	if (fenced)
		return;
	size_t req = o.req ? o.req : 1; /* a large malloc(0) (aligned) asks for a byte */
	size_t head = req < shadow.zero_bytes ? req : shadow.zero_bytes;
	for (size_t k = 0; k < head; k++)
		SH_ASSERT(((volatile uint8_t *)o.p)[k] == 0,
			  "freed large object %llu: byte %zu of its head is not zero",
			  (unsigned long long)o.id, k);
	size_t at = off % head;
	poke(&o, at, x, "write after free");
	expect_check_finds(&o);
	poke(&o, at, 0, "repair");
	sh_gort_check();
}

static void hz_write_after_free(fdp_t *d)
{
	size_t i = sh_pick(d, shadow.nlive);
	uint16_t off = fdp_u16(d);
	uint8_t x = (uint8_t)fdp_range(d, 1, 255);
	int reuse = fdp_bool(d);
	if (shadow.nlive == 0)
		return;
	if (shadow.live[i].cls == 0) {
		hz_write_after_large_free(i, off, x);
		return;
	}
	sh_obj o = shadow.live[i];
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(o.p, &si) == 0, "object %llu has no span",
		  (unsigned long long)o.id);
	/* Only the watched prefix of a dead slot is promised zero (gort.h). */
	size_t at = off % (o.slot < shadow.zero_bytes ? o.slot : shadow.zero_bytes);
	sh_free_live(i);
	poke(&o, at, x, "write after free");
	expect_check_finds(&o);
	if (reuse) {
		flush_and_reuse(&o, &si, at);
		return;
	}
	poke(&o, at, 0, "repair");
	sh_gort_check();
}

/* ------------------------------------------------ double free, held */

static void hz_double_free_held(fdp_t *d)
{
	mis_target t = decode_target(d, shadow.nheld);
	size_t k = t.k;
	if (shadow.nheld == 0)
		return;
	for (unsigned c = 0; c < GORT_NUM_SIZE_CLASSES; c++) {
		if (k >= shadow.qlen[c]) {
			k -= shadow.qlen[c];
			continue;
		}
		uintptr_t p = sh_held_at(c, (uint32_t)k)->p;
		misuse(t.call, p, t.n, K(GORT_ERR_DOUBLE_FREE), t.jump, "double free (in quarantine)");
		return;
	}
}

/* ------------------------------------------------------------ the loop */

enum {
	NORMAL_OPS = 200
}; /* op bytes below: fuzz_alloc's operations; above: misuse */

/* The hardened misuse twice: the others are fuzz_misuse's already. */
static const sh_opfn misuses[] = {
	mis_double_free_now, mis_double_free_later, mis_freed_span,	 mis_interior,
	mis_foreign,	     mis_never_allocated,   hz_overflow,	 hz_write_after_free,
	hz_double_free_held, hz_overflow,	    hz_write_after_free, hz_double_free_held,
};

SH_HARNESS_SETUP(setup)

static void setup(void)
{
	sh_setup("fuzz_harden");
	misuse_setup();
}

FUZZ_API int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sh_ensure_ready();
	fdp_t d;
	fdp_init(&d, data, size);
	int preset = fdp_bool(&d) ? GORT_HARDEN_PARANOID : GORT_HARDEN_DEFAULT;
	unsigned quarantine = (unsigned)fdp_range(&d, 1, SH_QMAX);
	uint64_t seed = fdp_u8(&d);
	sh_start(preset, quarantine, seed);
	sh_begin_input();
	sh_run_ops(&d, NORMAL_OPS, misuses, sizeof misuses / sizeof misuses[0]);
	sh_end_input();
	return 0;
}
