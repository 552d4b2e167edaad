/*
 * shadow_object.c — what one allocator call's result must be, checked right
 * after the call: a new object (sh_check_new), a failed allocation
 * (sh_expect_enomem, sh_expect_fair_oom), and a live object again in the
 * deep check (sh_check_object).
 *
 * A new object: usable size >= request (hardened: exactly the request, and
 * p[n] reads 0, the canary's terminator); the alignment gort.h promises
 * (sh_promised_align); in the snapshots, the start of a slot on 8 bytes
 * with ALLOC set, FREED and QUARANTINE clear, POINTERS as the flags asked,
 * the class the request maps to (sh_light_class, sh_hard_class) with usable
 * size the class size (light) or a large span that records the request;
 * never a slot the model holds in quarantine. Zeroed memory (calloc,
 * GORT_ZERO, hardened small objects) is checked by sh_add, which then fills
 * the object.
 *
 * A failed allocation: impossible sizes give NULL and ENOMEM; any other
 * NULL must come with ENOMEM and only when no free run nor the uncommitted
 * arena could have held the span. Either may have emptied the large
 * objects' quarantine on its way (sh_after_failed_alloc).
 */
#include "shadow.h"

#define BIT(plane) (1u << (plane))

static const char *const how_name[] = {
	[HOW_MALLOC] = "malloc",	 [HOW_CALLOC] = "calloc",    [HOW_REALLOC] = "realloc",
	[HOW_ALIGNED] = "aligned_alloc", [HOW_ALLOC] = "gort_alloc",
};

/* Go's alignment of a tiny object: by its size, as mallocgc's tiny path. */
static size_t tiny_align(size_t req)
{
	size_t r = req ? req : 1;
	return (r & 7) == 0 ? 8 : (r & 3) == 0 ? 4 : (r & 1) == 0 ? 2 : 1;
}

_Static_assert(GORT_MALLOC_ALIGN % _Alignof(max_align_t) == 0,
	       "gort.h promises alignof(max_align_t): GORT_MALLOC_ALIGN must keep it");

/* The alignment gort.h promises for a request of req bytes made as e says:
 * malloc, calloc, realloc and gort_alloc without GORT_NOSCAN align every
 * request of 16 bytes or more to alignof(max_align_t) (GORT_MALLOC_ALIGN)
 * and of 8 or more to 8, in every preset; GORT_NOSCAN keeps Go's rules (8
 * from 8 bytes, a tiny object by its size); aligned_alloc gives the
 * alignment asked. A realloc promises it whatever made the object. */
size_t sh_promised_align(size_t req, const sh_expect *e)
{
	if (e->how == HOW_ALIGNED)
		return e->align;
	if (e->tiny)
		return tiny_align(req);
	if (req >= 16 && !(e->how == HOW_ALLOC && e->noscan))
		return GORT_MALLOC_ALIGN;
	return req >= 8 ? 8 : 1;
}

/* The alignment the object's class must keep its slots on: the promised
 * one, where an aligned_alloc of 8 or less is a malloc (malloc.c). */
static size_t slot_align(size_t req, const sh_expect *e)
{
	if (e->how == HOW_ALIGNED && e->align <= 8)
		return sh_promised_align(req, &(sh_expect){.how = HOW_MALLOC});
	return sh_promised_align(req, e);
}

/* A small object's class keeps the alignment gort.h promises for every
 * slot, not only for this one: slots sit at multiples of their size from a
 * page, so the size must be a multiple of the alignment. (The first slot of
 * a span is aligned whatever the size: this catches the class before its
 * second slot goes out.) */
static void expect_slots_aligned(size_t req, const sh_expect *e, const gort_object_info *oi)
{
	size_t align = sh_promised_align(req, e);
	SH_ASSERT(oi->span_class == 0 || oi->elemsize % align == 0,
		  "%s(%zu) took a %zu-byte slot of class %u: not every slot of it is aligned to "
		  "%zu bytes, as gort.h promises",
		  how_name[e->how], req, oi->elemsize, oi->span_class, align);
}

/* Hardened: usable size exactly the request, the class of request + 8,
 * p[n] zero (the canary's terminator), and never a held slot. */
static void check_new_hard(uintptr_t p, size_t req, size_t usable, const sh_expect *e,
			   gort_object_info *oi)
{
	unsigned cls = sh_hard_class(req, slot_align(req, e));
	size_t ureq = sh_hard_usable(req, cls);
	SH_ASSERT(usable == ureq && p % 8 == 0,
		  "object %#lx of %zu bytes (align %zu): usable %zu, want %zu", (unsigned long)p,
		  req, e->align, usable, ureq);
	SH_ASSERT(((const volatile uint8_t *)p)[ureq] == 0,
		  "object %#lx of %zu bytes: the byte after it is not the canary's zero",
		  (unsigned long)p, req);
	SH_ASSERT(!sh_held_find(p), "new object %#lx is a slot the model holds in quarantine",
		  (unsigned long)p);
	memset(oi, 0, sizeof *oi);
	SH_ASSERT(gort_inspect_object((void *)p, oi) == 0 && oi->base == p,
		  "new object %#lx is not at the start of a slot of an in-use span",
		  (unsigned long)p);
	uint8_t bits = oi->bits;
	SH_ASSERT((bits & BIT(GORT_PLANE_ALLOC)) &&
			  !(bits & (BIT(GORT_PLANE_FREED) | BIT(GORT_PLANE_QUARANTINE))),
		  "new object %#lx: bitmap bits %#x (want ALLOC only)", (unsigned long)p, bits);
	expect_slots_aligned(req, e, oi);
	SH_ASSERT(oi->span_class == cls, "request %zu (align %zu) landed in class %u, want %u", req,
		  e->align, oi->span_class, cls);
	if (cls != 0) {
		SH_ASSERT(oi->elemsize == shadow.sc[cls].size &&
				  ((bits >> GORT_PLANE_POINTERS) & 1) == !e->noscan,
			  "object %#lx of class %u: slot %zu, POINTERS bit %d (noscan %d)",
			  (unsigned long)p, cls, oi->elemsize, (bits >> GORT_PLANE_POINTERS) & 1,
			  e->noscan);
		return;
	}
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(p, &si) == 0 && si.base == p && si.request == ureq &&
			  si.owner == GORT_OWNER_LARGE,
		  "large object %#lx of %zu bytes: span base %#lx request %zu owner %u",
		  (unsigned long)p, req, (unsigned long)si.base, si.request, si.owner);
}

/* Light, a tiny object: in a tiny block, live in its mask, and no usable
 * byte past the block. */
static void check_new_tiny(uintptr_t p, size_t req, size_t usable, const gort_object_info *oi)
{
	unsigned off = (unsigned)(p & 15);
	SH_ASSERT(oi->tiny && oi->span_class == GORT_TINY_SPAN_CLASS,
		  "tiny request %zu at %#lx not in a tiny span (class %u)", req, (unsigned long)p,
		  oi->span_class);
	SH_ASSERT((oi->tiny_live >> off) & 1, "tiny object %#lx: live mask %#x lacks it",
		  (unsigned long)p, oi->tiny_live);
	SH_ASSERT(off + usable <= GORT_TINY_SIZE,
		  "tiny object %#lx: usable size %zu reaches past its block", (unsigned long)p,
		  usable);
}

/* Light, a small object: usable size the class size, POINTERS as asked. */
static void check_new_small(uintptr_t p, size_t usable, const sh_expect *e,
			    const gort_object_info *oi)
{
	size_t cls_size = shadow.sc[oi->span_class].size;
	SH_ASSERT(usable == cls_size && oi->elemsize == cls_size,
		  "object %#lx of class %u: usable %zu, slot %zu, class size %zu", (unsigned long)p,
		  oi->span_class, usable, oi->elemsize, cls_size);
	SH_ASSERT(((oi->bits >> GORT_PLANE_POINTERS) & 1) == !e->noscan,
		  "object %#lx allocated %s GORT_NOSCAN: POINTERS bit is %d", (unsigned long)p,
		  e->noscan ? "with" : "without", (oi->bits >> GORT_PLANE_POINTERS) & 1);
}

/* Light, a large object: its span records the request, and a new one has
 * the page-rounded request as usable size (one resized in place keeps its
 * span). */
static void check_new_large(uintptr_t p, size_t req, size_t usable, const sh_expect *e)
{
	if (!e->in_place)
		SH_ASSERT(usable == sh_round_page(req ? req : 1),
			  "large object %#lx of %zu bytes: usable %zu", (unsigned long)p, req,
			  usable);
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(p, &si) == 0 && si.base == p &&
			  si.request == (req ? req : 1) && si.owner == GORT_OWNER_LARGE,
		  "large object %#lx of %zu bytes: span base %#lx request %zu owner %u",
		  (unsigned long)p, req, (unsigned long)si.base, si.request, si.owner);
}

/* Light, any object but a tiny one: 8-byte aligned, the start of its slot,
 * never marked quarantined, in the class its request and alignment map to
 * (0: large). */
static void check_new_slot(uintptr_t p, size_t req, size_t usable, const sh_expect *e,
			   const gort_object_info *oi)
{
	SH_ASSERT(p % 8 == 0, "object %#lx (%zu bytes) is not 8-byte aligned", (unsigned long)p,
		  req);
	SH_ASSERT(!oi->tiny && oi->base == p,
		  "new object %#lx is not at the start of its slot (slot base %#lx)",
		  (unsigned long)p, (unsigned long)oi->base);
	SH_ASSERT(!(oi->bits & BIT(GORT_PLANE_QUARANTINE)),
		  "new object %#lx has its QUARANTINE bit", (unsigned long)p);
	expect_slots_aligned(req, e, oi);
	unsigned cls = sh_light_class(req, slot_align(req, e));
	SH_ASSERT(oi->span_class == cls, "%s(%zu) landed in class %u, want %u", how_name[e->how],
		  req, oi->span_class, cls);
	if (cls != 0)
		check_new_small(p, usable, e, oi);
	else
		check_new_large(p, req, usable, e);
}

/* A new object at p of req bytes with usable size `usable`; fills *oi with
 * its snapshot. */
void sh_check_new(uintptr_t p, size_t req, size_t usable, const sh_expect *e, gort_object_info *oi)
{
	SH_ASSERT(usable >= req, "usable size %zu < request %zu at %#lx", usable, req,
		  (unsigned long)p);
	size_t align = sh_promised_align(req, e);
	SH_ASSERT(p % align == 0, "%s(%zu) = %#lx is not aligned to %zu bytes, as gort.h promises",
		  how_name[e->how], req, (unsigned long)p, align);
	if (shadow.hard) {
		check_new_hard(p, req, usable, e, oi);
		return;
	}
	SH_ASSERT(gort_inspect_object((void *)p, oi) == 0,
		  "new object %#lx is not in an in-use span", (unsigned long)p);
	if (e->tiny)
		check_new_tiny(p, req, usable, oi);
	else
		check_new_slot(p, req, usable, e, oi);
	SH_ASSERT((oi->bits & BIT(GORT_PLANE_ALLOC)) && !(oi->bits & BIT(GORT_PLANE_FREED)),
		  "new object %#lx: bitmap bits %#x (want ALLOC, not FREED)", (unsigned long)p,
		  oi->bits);
}

/* One live object's bitmap bits, large request, canary and pattern. */
void sh_check_object(const sh_obj *o)
{
	gort_object_info oi;
	SH_ASSERT(gort_inspect_object((void *)o->p, &oi) == 0,
		  "live object %llu at %#lx is not in an in-use span", (unsigned long long)o->id,
		  (unsigned long)o->p);
	SH_ASSERT((oi.bits & BIT(GORT_PLANE_ALLOC)) && !(oi.bits & BIT(GORT_PLANE_FREED)),
		  "live object %llu at %#lx: bitmap bits %#x", (unsigned long long)o->id,
		  (unsigned long)o->p, oi.bits);
	SH_ASSERT(oi.span_class == o->cls, "live object %llu at %#lx: span class %u, model %u",
		  (unsigned long long)o->id, (unsigned long)o->p, oi.span_class, o->cls);
	if (o->tiny)
		SH_ASSERT((oi.tiny_live >> (o->p & 15)) & 1,
			  "live tiny object %llu at %#lx: live mask %#x", (unsigned long long)o->id,
			  (unsigned long)o->p, oi.tiny_live);
	else
		SH_ASSERT(oi.base == o->p, "live object %llu at %#lx: slot base %#lx",
			  (unsigned long long)o->id, (unsigned long)o->p, (unsigned long)oi.base);
	if (o->cls == 0) {
		gort_span_info si;
		SH_ASSERT(gort_inspect_span_of(o->p, &si) == 0 &&
				  si.request == (o->req ? o->req : 1),
			  "large object %llu at %#lx: span request %zu, model %zu",
			  (unsigned long long)o->id, (unsigned long)o->p, si.request, o->req);
	}
	if (shadow.hard)
		SH_ASSERT(((const volatile uint8_t *)o->p)[o->usable] == 0,
			  "live object %llu at %#lx: the canary's zero after it was overwritten",
			  (unsigned long long)o->id, (unsigned long)o->p);
	sh_verify(o, "in the deep check");
}

/* An impossible request: NULL with ENOMEM. */
void sh_expect_enomem(void *p, const char *what, size_t n)
{
	SH_ASSERT(p == NULL && errno == ENOMEM, "%s(%#zx) = %p, errno %d: want NULL and ENOMEM",
		  what, n, p, errno);
	sh_after_failed_alloc();
}

/* A NULL from an allocation that should fit: errno must be ENOMEM, and no
 * free run nor the uncommitted arena may have room for the pages it needs
 * (plus the alignment slack). Returns normally if the failure was fair. */
void sh_expect_fair_oom(const char *what, size_t n, size_t align)
{
	SH_ASSERT(errno == ENOMEM, "%s(%zu): NULL with errno %d, want ENOMEM", what, n, errno);
	size_t pages, need = shadow.hard ? n + SH_CANARY : n;
	if (need <= GORT_MAX_SMALL_SIZE && align <= SH_PAGE)
		pages = 10; /* the longest small span */
	else
		pages = sh_round_page(need ? need : 1) / SH_PAGE;
	if (align > SH_PAGE)
		pages += align / SH_PAGE - 1;
	pages += sh_guard_pages();
	gort_inspect_arena(&shadow.arena);
	const gort_arena_info *a = &shadow.arena;
	size_t left = (a->arena_bytes - (a->arena_used - a->arena_base)) / SH_PAGE;
	SH_ASSERT(left < pages, "%s(%zu, align %zu) failed with %zu arena pages uncommitted", what,
		  n, align, left);
	gort_run_info runs[256];
	size_t nr = gort_inspect_free_runs(runs, 256);
	for (size_t i = 0; i < nr && i < 256; i++)
		SH_ASSERT(runs[i].npages < pages,
			  "%s(%zu, align %zu) failed with a free run of %u pages at %#lx", what, n,
			  align, runs[i].npages, (unsigned long)runs[i].base);
	sh_after_failed_alloc();
}
