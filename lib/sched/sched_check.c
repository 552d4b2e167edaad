/*
 * sched_check.c — the scheduler's invariants, checked from scratch (the
 * second half of gort_check): every G in exactly one place with the status
 * that place requires, every run queue well formed, free lists dead, the
 * goid index finding every G under its current goid, every P's timer heap
 * in order, and the semaphores' wait lists agreeing with their counts.
 * Exact whenever no G is being moved: in step mode between steps; in
 * threaded mode when every M is parked (after gort_run returns).
 */
#include "sched/sched.h"
#include "sched/sema.h"

#define S (gort_sched)

static const char *mark_ring(const gort_runq *q)
{
	gort_g *ring[GORT_RUNQ_SIZE], *next = NULL;
	const char *why = gort_runq_check(q);
	if (why)
		return why;
	uint32_t n = gort_runq_snapshot(q, ring, &next);
	for (uint32_t i = 0; i < n; i++)
		ring[i]->mark++;
	if (next)
		next->mark++;
	return NULL;
}

static const char *mark_free_list(const gort_g *g)
{
	for (; g; g = g->schedlink) {
		if (ld(&g->status) != GORT_G_DEAD)
			return "a G on a free list is not dead";
		((gort_g *)g)->mark++;
	}
	return NULL;
}

static const char *mark_places(void)
{
	const char *why;
	for (uint32_t i = 0; i < S.nprocs; i++) {
		if ((why = mark_ring(&S.p[i].runq)) || (why = mark_free_list(S.p[i].gfree)))
			return why;
	}
	gort_lock(&S.glob.lock);
	why = gort_globrunq_check(&S.glob);
	for (gort_g *g = S.glob.head; !why && g; g = g->schedlink)
		g->mark++;
	gort_unlock(&S.glob.lock);
	if (why || (why = mark_free_list(S.gfree)))
		return why;
	if (S.curg)
		S.curg->mark++;
	return NULL;
}

/* How many places a G in this status must be in. */
static uint32_t places_for(uint32_t status)
{
	return status == GORT_G_WAITING ? 0 : 1;
}

/* One entry per G with a goid, each found under it. */
static const char *check_goid_index(void)
{
	size_t with_goid = 0;
	const char *why = NULL;
	gort_lock(&S.gflock);
	for (uint32_t i = 0; i < S.nallg && !why; i++) {
		gort_g *g = S.allg[i];
		if (g->goid == 0)
			continue;
		with_goid++;
		if (gort_g_by_id_locked(g->goid) != g)
			why = "the goid index does not find a G";
	}
	if (!why && with_goid != S.gidx_count)
		why = "the goid index holds stale entries";
	gort_unlock(&S.gflock);
	return why;
}

const char *gort_sched_check_why(void)
{
	if (!S.ready)
		return NULL;
	for (uint32_t i = 0; i < S.nallg; i++)
		S.allg[i]->mark = 0;
	const char *why = mark_places();
	if (why)
		return why;
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		uint32_t status = ld(&g->status);
		if (g->mark != places_for(status))
			return g->mark > 1 ? "a G is in two places at once"
					   : "a G is missing from the place its status says";
		if (status == GORT_G_RUNNING && g != S.curg)
			return "a G is marked running but does not run";
	}
	if ((why = check_goid_index()))
		return why;
	for (uint32_t i = 0; i < S.nprocs; i++) {
		gort_lock(&S.p[i].timers.lock);
		why = gort_timers_check(&S.p[i].timers, S.p[i].id);
		gort_unlock(&S.p[i].timers.lock);
		if (why)
			return why;
	}
	return gort_sema_check();
}
