/*
 * g.c — the G lifecycle: made (or reused from a free list), given a stack
 * and a fresh context, run to its end, and put back dead.
 *
 * As in Go, dead Gs keep their stacks and wait on their P's free list for
 * the next gort_go; past 64 a P moves half of its list to the global one,
 * and an empty P takes up to 32 back from it. Gs are never freed until
 * shutdown; allg lists every G ever made.
 *
 * Invariants: a G on a free list is DEAD and on exactly one list; a G's
 * stack, once it has one, stays with it; goids are never reused.
 */
#include "sched/sched.h"

#include <errno.h>
#include <string.h>

#define S (gort_sched)

static void gfree_push(gort_g **list, uint32_t *n, gort_g *g)
{
	g->schedlink = *list;
	*list = g;
	(*n)++;
}

static gort_g *gfree_pop(gort_g **list, uint32_t *n)
{
	gort_g *g = *list;
	if (g) {
		*list = g->schedlink;
		g->schedlink = NULL;
		(*n)--;
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

static int allg_add(gort_g *g)
{
	if (S.nallg == S.capallg) {
		uint32_t cap = S.capallg ? S.capallg * 2 : 64;
		gort_g **a = gort_realloc(S.allg, cap * sizeof *a);
		if (!a)
			return -1;
		S.allg = a;
		S.capallg = cap;
	}
	g->index = S.nallg;
	S.allg[S.nallg++] = g;
	return 0;
}

/* allg_add under gflock: gort_g_by_id scans allg under it, and the array
 * may be replaced when it grows. */
static int allg_add_locked(gort_g *g)
{
	gort_lock(&S.gflock);
	int rc = allg_add(g);
	gort_unlock(&S.gflock);
	return rc;
}

static gort_g *g_make(void)
{
	gort_g *g = gort_alloc(sizeof *g, GORT_ZERO);
	if (!g)
		return NULL;
	if (allg_add_locked(g) != 0) {
		gort_free(g);
		return NULL;
	}
	g->p = -1;
	g->waitreason = "";
	st(&g->status, GORT_G_DEAD);
	return g;
}

void gort_g_entry(void *arg)
{
	gort_g *g = arg;
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
	g->goid = ++S.goidgen;
	gort_unlock(&S.gflock);
	g->fn = fn;
	g->arg = arg;
	g->waitreason = "";
	g->p = -1;
	g->nswitch = 0;
	gort_ctx_init(&g->ctx, g->stack.lo, (size_t)((char *)g->stack.hi - (char *)g->stack.lo),
		      gort_g_entry, g);
	st(&g->status, GORT_G_RUNNABLE);
	return g;
}

gort_g *gort_g_by_id(int64_t goid)
{
	gort_g *found = NULL;
	gort_lock(&S.gflock);
	for (uint32_t i = 0; i < S.nallg; i++)
		if (S.allg[i]->goid == goid && ld(&S.allg[i]->status) != GORT_G_DEAD) {
			found = S.allg[i];
			break;
		}
	gort_unlock(&S.gflock);
	return found;
}

void gort_g_free_all(void)
{
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		if (g->has_stack)
			gort_stack_free(&S.stacks, &g->stack);
		gort_ctx_destroy(&g->ctx);
		gort_free(g);
	}
	gort_free(S.allg);
	S.allg = NULL;
	S.nallg = S.capallg = 0;
}
