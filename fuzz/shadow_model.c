/*
 * shadow_model.c — the model's bookkeeping: every live object the
 * allocator handed out (shadow.live, unordered; shadow.iv in address order),
 * what it charges to the budget, the counts gort_memstats must match, the
 * spans each step touched, and the graveyard of freed pointers.
 *
 * Invariants between calls: shadow.nlive objects, each with its pattern
 * (sh_fill), its interval and its class's live count; slot_bytes the sum
 * of the non-tiny ones' slots; foot their footprints plus the held
 * objects'. mallocs and frees count since the input's start, as
 * gort_memstats must. An allocation goes through sh_add once the call has
 * returned; a free through sh_free_live; flush and release through
 * sh_flush and sh_release, which also mirror what they do to the
 * quarantines.
 */
#include "shadow.h"

sh_model shadow;

size_t sh_round_page(size_t n)
{
	return (n + SH_PAGE - 1) & ~(SH_PAGE - 1);
}

/* Paranoid puts a guard page after every span, small or large. */
size_t sh_guard_pages(void)
{
	return shadow.preset == GORT_HARDEN_PARANOID;
}

/* Worst-case pages an allocation may pin: a whole span per small object.
 * Hardened, the request takes 8 bytes more (the canary); from 16 bytes on,
 * a slot on GORT_MALLOC_ALIGN may take more still. */
size_t sh_footprint(size_t n, size_t align, int tiny)
{
	size_t need = shadow.hard ? n + SH_CANARY : n, guard = sh_guard_pages() * SH_PAGE;
	if (n >= 16)
		need = (need + GORT_MALLOC_ALIGN - 1) & ~(size_t)(GORT_MALLOC_ALIGN - 1);
	if (tiny)
		return GORT_TINY_SIZE;
	if (need <= GORT_MAX_SMALL_SIZE && align <= 8)
		return (size_t)shadow.sc[gort_size_to_class(need)].npages * SH_PAGE + guard;
	if (need <= GORT_MAX_SMALL_SIZE && align <= SH_PAGE)
		return 10 * SH_PAGE + guard;
	return sh_round_page(need ? need : 1) + (align > SH_PAGE ? align : 0) + guard;
}

/* The first class from c whose slots all sit on `align` (0: none): slots
 * lie at multiples of their size from a page, so its size is a multiple. */
static unsigned class_aligned(unsigned c, size_t align)
{
	while (align > 8 && c < GORT_NUM_SIZE_CLASSES && shadow.sc[c].size % align != 0)
		c++;
	return c < GORT_NUM_SIZE_CLASSES ? c : 0;
}

/* Light: the class a request that must sit on `align` lands in (0: large):
 * the first class from the request's own whose slots all do; large beyond
 * 32 KiB or a page's alignment. */
unsigned sh_light_class(size_t req, size_t align)
{
	if (req > GORT_MAX_SMALL_SIZE || align > SH_PAGE)
		return 0;
	return class_aligned(gort_size_to_class(req ? req : 1), align);
}

/* Hardened: the same from the class of n + 8 (the canary), as malloc.c
 * routes it. */
unsigned sh_hard_class(size_t req, size_t align)
{
	size_t need = req + SH_CANARY;
	if (need > GORT_MAX_SMALL_SIZE || align > SH_PAGE)
		return 0;
	return class_aligned(gort_size_to_class(need), align);
}

/* Hardened: the request a large span records, so the usable size: an
 * aligned request of 0 bytes that goes large asks for 1. */
size_t sh_hard_usable(size_t req, unsigned cls)
{
	return cls == 0 && req == 0 ? 1 : req;
}

/* Whether an object of footprint `foot` fits the input's budget. */
int sh_room_for(size_t foot)
{
	return shadow.nlive < SH_MAX_LIVE && shadow.foot + foot <= SH_FOOTPRINT_MAX;
}

/* The step made, freed or evicted an object at p: check its span after it. */
void sh_touch(uintptr_t p)
{
	if (shadow.ntouched < SH_TOUCHED)
		shadow.touched[shadow.ntouched] = p;
	shadow.ntouched++;
}

/* The step changed more than spans (centrals' lists, caches): check all. */
void sh_touch_all(void)
{
	shadow.check_all = 1;
}

static void grave_push(const sh_obj *o)
{
	shadow.grave[shadow.grave_next] =
		(sh_grave){o->p, o->tiny ? o->req : o->usable, o->cls, o->tiny};
	shadow.grave_next = (shadow.grave_next + 1) % SH_GRAVE;
	if (shadow.ngrave < SH_GRAVE)
		shadow.ngrave++;
}

sh_obj *sh_find_live(uintptr_t p)
{
	for (size_t i = 0; i < shadow.nlive; i++)
		if (shadow.live[i].p == p)
			return &shadow.live[i];
	return NULL;
}

/* Hardened: the bytes an object counts in heap_alloc, its slot or its
 * span (guard page included), which are also its extent. */
static size_t slot_bytes(uintptr_t p, unsigned cls)
{
	if (cls != 0)
		return shadow.sc[cls].size;
	gort_span_info si;
	SH_ASSERT(gort_inspect_span_of(p, &si) == 0, "large object %#lx has no span",
		  (unsigned long)p);
	return (size_t)si.npages * SH_PAGE;
}

/* A new malloc, in the counts gort_memstats keeps. */
static void count_malloc(const sh_obj *o)
{
	shadow.mallocs++;
	shadow.tiny_allocs += o->tiny;
	shadow.large_allocs += o->cls == 0;
	if (!o->tiny) {
		shadow.mallocs_by_class[o->cls]++;
		shadow.alloc_bytes += o->slot;
	}
}

/* A fresh object's memory: zeroed when the call promised it; hardened, a
 * small slot's first shadow.zero_bytes (all of it in paranoid) are zero
 * whenever it is not live. */
static void expect_zeroed(uintptr_t p, size_t req, const sh_expect *e, unsigned cls)
{
	if (e->zero)
		sh_expect_zero(p, req, e->how == HOW_CALLOC ? "calloc" : "gort_alloc(ZERO)");
	if (shadow.hard && cls != 0 && e->how != HOW_REALLOC)
		sh_expect_zero(p, req < shadow.zero_bytes ? req : shadow.zero_bytes,
			       "a new small object");
}

/* Check a fresh object, then enter it into the model and fill it (count:
 * it is a new malloc, not a realloc in place). */
sh_obj *sh_add(uintptr_t p, size_t req, const sh_expect *e, int count)
{
	size_t usable = gort_usable_size((void *)p);
	gort_object_info oi;
	sh_check_new(p, req, usable, e, &oi);
	expect_zeroed(p, req, e, oi.span_class);
	sh_obj *o = &shadow.live[shadow.nlive];
	*o = (sh_obj){
		.p = p,
		.req = req,
		.usable = usable,
		.foot = e->foot,
		.id = shadow.next_id++,
		.cls = (uint8_t)(e->tiny ? GORT_TINY_SPAN_CLASS : oi.span_class),
		.tiny = (uint8_t)e->tiny,
		.noscan = (uint8_t)e->noscan,
		.slot = shadow.hard ? slot_bytes(p, oi.span_class) : usable,
	};
	/* A tiny object owns its request: its usable size may grow as later
	 * objects of the block start further on. Hardened, an object owns its
	 * slot, canary included. */
	size_t extent = shadow.hard ? o->slot : e->tiny ? (req ? req : 1) : usable;
	sh_iv_insert(p, p + extent, e->tiny, o->id);
	shadow.nlive++;
	shadow.foot += o->foot;
	shadow.live_by_class[o->cls]++;
	if (!o->tiny)
		shadow.slot_bytes += o->slot;
	if (count)
		count_malloc(o);
	sh_fill(o);
	sh_touch(p);
	return o;
}

/* Take live[i] out of the model (count: it is a free). */
sh_obj sh_remove(size_t i, int count)
{
	sh_obj o = shadow.live[i];
	sh_iv_remove(o.p);
	shadow.live[i] = shadow.live[--shadow.nlive];
	shadow.foot -= o.foot;
	shadow.live_by_class[o.cls]--;
	if (!o.tiny)
		shadow.slot_bytes -= o.slot;
	if (count)
		shadow.frees++;
	return o;
}

/* Hardened: a malloc took a slot of class cls written after free, which
 * it repaired and freed again before taking another: one more malloc and
 * free of that class. */
void sh_count_reused_slot(unsigned cls)
{
	shadow.mallocs++;
	shadow.frees++;
	shadow.mallocs_by_class[cls]++;
	shadow.alloc_bytes += shadow.sc[cls].size;
}

/* gort_free of live[i], its pattern verified first. */
void sh_free_live(size_t i)
{
	sh_obj o = shadow.live[i];
	sh_step *st = sh_op("free", o.p, o.req, o.id);
	sh_verify(&o, "free");
	sh_remove(i, 1);
	gort_free((void *)o.p);
	sh_freed(&o);
	sh_ret(st, 0);
}

/* o, out of the model, was just freed (by gort_free, or by a realloc that
 * moved it): its span is checked after the step, its pointer kept for
 * delayed double frees, and hardened, where it went is checked. */
void sh_freed(const sh_obj *o)
{
	sh_touch(o->p);
	grave_push(o);
	if (shadow.hard)
		sh_expect_held_or_inbox(o);
}

/* gort_flush_caches: the small rings empty (their objects freed for real)
 * and the centrals' lists change. */
void sh_flush(void)
{
	gort_flush_caches();
	sh_drain_rings();
	sh_touch_all();
}

/* gort_release: a flush, then the idle pages go back to the OS. */
size_t sh_release(void)
{
	struct gort_memstats before;
	gort_memstats(&before);
	size_t released = gort_release();
	sh_drain_rings();
	sh_touch_all();
	sh_check_release(released, &before);
	return released;
}
