/*
 * g.c — the G lifecycle: made (or reused from a free list), given a stack
 * and a fresh context, run to its end, and put back dead.
 *
 * As in Go, dead Gs keep their stacks and wait on their P's free list for
 * the next gort_go; past 64 a P moves half of its list to the global one,
 * and an empty P takes up to 32 back from it. Gs are never freed until
 * shutdown; allg lists every G ever made.
 *
 * Unlike Go, where a G is a garbage-collected heap object, gort keeps G
 * descriptors, allg and the goid index off the heap (a fixalloc and mapped
 * arrays): with explicit free, a program's stray free of an address that
 * happened to hold a G would otherwise corrupt the scheduler.
 *
 * gort_ready finds a G by goid through an index (open addressing, linear
 * probing, under gflock) with one entry per G: a reused G's entry moves from
 * its old goid to its new one when the new one is given, so the index stays
 * as large as allg however many Gs were ever spawned.
 *
 * Invariants: a G on a free list is DEAD and on exactly one list; a G's
 * stack, once it has one, stays with it; goids are never reused; every G
 * with a goid has exactly one index entry, under its current goid.
 */
#include "sched/sched.h"

#include <errno.h>
#include <string.h>

#define S (gort_sched)

static void gfree_push(gort_g **list, uint32_t *n, gort_g *g)
{
	g->schedlink = *list;
	*list = g;
	st(n, *n + 1); /* read by inspection from other threads */
}

static gort_g *gfree_pop(gort_g **list, uint32_t *n)
{
	gort_g *g = *list;
	if (g) {
		*list = g->schedlink;
		g->schedlink = NULL;
		st(n, *n - 1);
	}
	return g;
}

/* Go's gfget: a dead G from p, refilled from the global list when empty.
 * Without a P (threaded mode, outside any G) straight from the global list. */
static gort_g *gfget(gort_p *p)
{
	gort_g *g;
	if (!p || p->ngfree == 0) {
		gort_lock(&S.gflock);
		if (!p) {
			g = gfree_pop(&S.gfree, &S.ngfree);
			gort_unlock(&S.gflock);
			return g;
		}
		while (p->ngfree < GFREE_LOCAL_KEEP && S.gfree)
			gfree_push(&p->gfree, &p->ngfree, gfree_pop(&S.gfree, &S.ngfree));
		gort_unlock(&S.gflock);
	}
	return gfree_pop(&p->gfree, &p->ngfree);
}

void gort_g_put_dead(gort_p *p, gort_g *g)
{
	st(&g->status, GORT_G_DEAD);
	/* A G that went deep gives those pages back now, not when (or if) its
	 * G is reused: a dead G on a free list costs what a fresh one does. */
	if (g->has_stack)
		gort_stack_shrink(&S.stacks, &g->stack);
	g->fn = NULL;
	g->arg = NULL;
	g->waitreason = "";
	if (!p) {
		gort_lock(&S.gflock);
		gfree_push(&S.gfree, &S.ngfree, g);
		gort_unlock(&S.gflock);
		return;
	}
	gfree_push(&p->gfree, &p->ngfree, g);
	if (p->ngfree >= GFREE_LOCAL_MAX) {
		gort_lock(&S.gflock);
		while (p->ngfree > GFREE_LOCAL_KEEP)
			gfree_push(&S.gfree, &S.ngfree, gfree_pop(&p->gfree, &p->ngfree));
		gort_unlock(&S.gflock);
	}
}

/* A zeroed array of n pointers mapped from the OS, off the heap. */
static gort_g **table_new(size_t n)
{
	return gort_os_map(n * sizeof(gort_g *));
}

static void table_free(gort_g **t, size_t n)
{
	if (t)
		gort_os_unmap(t, n * sizeof(gort_g *));
}

static int allg_add(gort_g *g)
{
	if (S.nallg == S.capallg) {
		uint32_t cap = S.capallg ? S.capallg * 2 : 512;
		gort_g **a = table_new(cap);
		if (!a)
			return -1;
		if (S.allg)
			memcpy(a, S.allg, S.nallg * sizeof *a);
		table_free(S.allg, S.capallg);
		S.allg = a;
		S.capallg = cap;
	}
	g->index = S.nallg;
	S.allg[S.nallg++] = g;
	return 0;
}

/* ---------------------------------------------------------- goid index */

static size_t gidx_slot(int64_t goid, size_t cap)
{
	return (size_t)(((uint64_t)goid * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static void gidx_put(gort_g **tab, size_t cap, gort_g *g)
{
	size_t i = gidx_slot(g->goid, cap);
	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = g;
}

/* gflock held. Room for one more entry; -1 if it cannot grow. */
static int gidx_reserve(void)
{
	if (2 * (S.gidx_count + 1) <= S.gidx_cap)
		return 0;
	size_t cap = S.gidx_cap ? 2 * S.gidx_cap : 1024;
	gort_g **tab = table_new(cap);
	if (!tab)
		return -1;
	for (size_t i = 0; i < S.gidx_cap; i++)
		if (S.gidx[i])
			gidx_put(tab, cap, S.gidx[i]);
	table_free(S.gidx, S.gidx_cap);
	S.gidx = tab;
	S.gidx_cap = cap;
	return 0;
}

/* gflock held. Removes g's entry (under g->goid), closing the gap by
 * shifting later entries of the probe run back (no tombstones). */
static void gidx_remove(gort_g *g)
{
	size_t cap = S.gidx_cap, i = gidx_slot(g->goid, cap);
	while (S.gidx[i] != g)
		i = (i + 1) & (cap - 1);
	S.gidx[i] = NULL;
	for (size_t j = (i + 1) & (cap - 1); S.gidx[j]; j = (j + 1) & (cap - 1)) {
		size_t home = gidx_slot(S.gidx[j]->goid, cap);
		/* Move j back to the hole unless its home lies in (i, j]. */
		bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			S.gidx[i] = S.gidx[j];
			S.gidx[j] = NULL;
			i = j;
		}
	}
	S.gidx_count--;
}

/* gflock held: g takes the next goid; its index entry follows. */
static int give_goid(gort_g *g)
{
	if (g->goid == 0 && gidx_reserve() != 0)
		return -1;
	if (g->goid != 0)
		gidx_remove(g);
	g->goid = ++S.goidgen;
	gidx_put(S.gidx, S.gidx_cap, g);
	S.gidx_count++;
	return 0;
}

gort_g *gort_g_by_id_locked(int64_t goid)
{
	if (goid <= 0 || !S.gidx)
		return NULL;
	for (size_t i = gidx_slot(goid, S.gidx_cap); S.gidx[i]; i = (i + 1) & (S.gidx_cap - 1))
		if (S.gidx[i]->goid == goid)
			return S.gidx[i];
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* A new G descriptor, listed in allg (both under gflock: readers of allg
 * hold it, and the array may be replaced when it grows). */
static gort_g *g_make(void)
{
	gort_lock(&S.gflock);
	gort_g *g = gort_fixalloc_alloc(&S.galloc);
	if (g && allg_add(g) != 0) {
		gort_fixalloc_free(&S.galloc, g);
		g = NULL;
	}
	gort_unlock(&S.gflock);
	if (!g)
		return NULL;
	g->p = -1;
	g->waitreason = "";
	st(&g->status, GORT_G_DEAD);
	return g;
}

void gort_g_entry(void *arg)
{
	gort_g *g = arg;
	gort_mt_after_switch(g); /* a G may have parked straight into this one */
	g->fn(g->arg);
	gort_enter_g0(OUT_EXITED);
}

gort_g *gort_g_new(gort_p *p, void (*fn)(void *), void *arg)
{
	gort_g *g = gfget(p);
	if (!g && !(g = g_make())) {
		errno = ENOMEM;
		return NULL;
	}
	if (!g->has_stack) {
		g->stack = gort_stack_alloc(&S.stacks);
		if (!g->stack.lo) {
			gort_g_put_dead(p, g);
			errno = ENOMEM;
			return NULL;
		}
		g->has_stack = true;
	}
	gort_lock(&S.gflock); /* gort_g_by_id reads goids under it */
	int rc = give_goid(g);
	gort_unlock(&S.gflock);
	if (rc != 0) {
		gort_g_put_dead(p, g);
		errno = ENOMEM;
		return NULL;
	}
	g->fn = fn;
	g->arg = arg;
	g->waitreason = "";
	g->p = -1;
	g->nswitch = 0;
	g->handed = NULL;
	gort_ctx_init(&g->ctx, g->stack.lo, (size_t)((char *)g->stack.hi - (char *)g->stack.lo),
		      gort_g_entry, g);
	st(&g->status, GORT_G_RUNNABLE);
	return g;
}

gort_g *gort_g_by_id(int64_t goid)
{
	gort_lock(&S.gflock);
	gort_g *g = gort_g_by_id_locked(goid);
	if (g && ld(&g->status) == GORT_G_DEAD)
		g = NULL;
	gort_unlock(&S.gflock);
	return g;
}

void gort_g_free_all(void)
{
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		if (g->has_stack)
			gort_stack_free(&S.stacks, &g->stack);
		gort_ctx_destroy(&g->ctx);
	}
	gort_fixalloc_destroy(&S.galloc);
	table_free(S.allg, S.capallg);
	S.allg = NULL;
	S.nallg = S.capallg = 0;
	table_free(S.gidx, S.gidx_cap);
	S.gidx = NULL;
	S.gidx_cap = S.gidx_count = 0;
}
