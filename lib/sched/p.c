/*
 * p.c — the P's life: made and destroyed (init, shutdown, gort_set_procs's
 * resize), and in threaded mode its idle list, its acquisition and release
 * by an M, and its hand-off when no M holds it (Go's pidleput/pidleget,
 * acquirep/releasep, handoffp).
 *
 * Invariants (see p.h):
 *  - a P in use has an mcache and an initialised run queue; gort_procresize
 *    never moves a P (the mapping has room for SCHED_MAX_PROCS), and a P it
 *    destroys gives its runnable Gs to the global queue (runnext first, at
 *    the head, in order), its dead Gs to the global free list and its
 *    timers to P 0;
 *  - the idle list and npidle change together, under sched.lock; an idle P
 *    has status IDLE and no M;
 *  - while an M holds a P, the M's thread allocates from the P's cache
 *    (acquirep swaps it in, releasep swaps the M's own back).
 */
#include "sched/sched.h"

#include <errno.h>
#include <string.h>

#include "sched/m.h"

#define S (gort_sched)

/* ------------------------------------------------------------ made and destroyed */

/* P i made ready to run: an empty queue and its own mcache. */
static int p_start(unsigned i)
{
	gort_p *p = &S.p[i];
	memset(p, 0, sizeof *p);
	p->id = (int32_t)i;
	gort_runq_init(&p->runq);
	p->mcache = gort_cache_new(1);
	return p->mcache ? 0 : -1;
}

/* Go's pp.destroy: P i's runnable Gs go to the head of the global queue
 * (runnext first, then its ring in order), its dead Gs to the global free
 * list, its mcache back to the centrals. */
static void p_stop(unsigned i)
{
	gort_p *p = &S.p[i];
	gort_g *ring[GORT_RUNQ_SIZE], *next = NULL;
	uint32_t n = gort_runq_snapshot(&p->runq, ring, &next);
	gort_lock(&S.glob.lock);
	while (n > 0)
		gort_globrunq_put_head(&S.glob, ring[--n]);
	if (next)
		gort_globrunq_put_head(&S.glob, next);
	gort_unlock(&S.glob.lock);
	gort_runq_init(&p->runq);
	gort_lock(&S.gflock);
	while (p->gfree) {
		gort_g *g = p->gfree;
		p->gfree = g->schedlink;
		g->schedlink = S.gfree;
		S.gfree = g;
		S.ngfree++;
	}
	p->ngfree = 0;
	gort_unlock(&S.gflock);
	gort_cache_retire(p->mcache);
	p->mcache = NULL;
	gort_timers_move(&S.p[0], p);
	gort_timers_destroy(&p->timers);
}

int gort_ps_init(unsigned nprocs)
{
	/* Runtime metadata, not program objects: off the heap. Room for the
	 * most Ps there can be, so gort_set_procs never moves a P (the kernel
	 * commits only the pages of the Ps in use). */
	S.p_bytes = SCHED_MAX_PROCS * sizeof *S.p;
	S.p = gort_os_map(S.p_bytes);
	if (!S.p)
		return -1;
	for (unsigned i = 0; i < nprocs; i++) {
		if (p_start(i) != 0)
			return -1;
		S.nprocs = i + 1;
	}
	return gort_steal_order_reset(&S.order, nprocs);
}

void gort_ps_destroy(void)
{
	for (unsigned i = 0; i < S.nprocs; i++) {
		if (S.p[i].mcache)
			gort_cache_retire(S.p[i].mcache);
		gort_timers_destroy(&S.p[i].timers);
	}
	gort_os_unmap(S.p, S.p_bytes);
}

int gort_procresize(unsigned n)
{
	if (gort_steal_order_reset(&S.order, n) != 0)
		return -1;
	while (S.nprocs < n) {
		if (p_start(S.nprocs) != 0) {
			gort_steal_order_reset(&S.order, S.nprocs);
			errno = ENOMEM;
			return -1;
		}
		S.nprocs++;
	}
	while (S.nprocs > n)
		p_stop(--S.nprocs);
	return 0;
}

/* ------------------------------------------------------------ threaded mode */

void gort_pidleput(gort_p *p)
{
	st(&p->status, GORT_P_IDLE);
	p->link = S.pidle;
	S.pidle = p;
	ATOMIC_ADD(&S.npidle, 1);
}

gort_p *gort_pidleget(gort_p *want)
{
	gort_p **pp = &S.pidle;
	if (want) {
		while (*pp && *pp != want)
			pp = &(*pp)->link;
		if (!*pp)
			pp = &S.pidle;
	}
	gort_p *p = *pp;
	if (p) {
		*pp = p->link;
		p->link = NULL;
		ATOMIC_SUB(&S.npidle, 1);
	}
	return p;
}

void gort_pidle_init(void)
{
	for (uint32_t i = S.nprocs; i-- > 0;)
		gort_pidleput(&S.p[i]);
	S.p[0].runq.solo = S.nprocs == 1; /* threaded mode never changes the count */
}

void gort_acquirep(gort_m *m, gort_p *p)
{
	m->p = p;
	/* A new tick: sysmon must not count the time the P was idle as a
	 * G running without yielding. */
	st(&p->runtick, p->runtick + 1);
	st(&p->rungoid, 0);
	st(&p->status, GORT_P_RUNNING);
	m->own = gort_cache_swap(p->mcache); /* the M allocates through its P's cache */
	gort_sysmon_wakeup(); /* after npidle went down: pairs with sysmon_sleep */
}

void gort_releasep(gort_m *m)
{
	gort_cache_swap(m->own);
	m->p = NULL;
}

bool gort_work_anywhere(void)
{
	if (gort_globrunq_size_hint(&S.glob) != 0)
		return true;
	for (uint32_t i = 0; i < S.nprocs; i++)
		if (!gort_runq_empty(&S.p[i].runq))
			return true;
	return false;
}

void gort_handoffp(gort_p *p)
{
	if (!gort_runq_empty(&p->runq)) {
		gort_startm(p, false);
		return;
	}
	gort_lock(&S.lock);
	if (gort_globrunq_size_hint(&S.glob) != 0) {
		gort_unlock(&S.lock);
		gort_startm(p, false);
		return;
	}
	gort_pidleput(p);
	gort_unlock(&S.lock);
	/* Work that came while we looked: wakep finds the idle P. */
	if (gort_work_anywhere())
		gort_wakep();
}
