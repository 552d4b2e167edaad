/*
 * m.h — the M of threaded mode: one OS thread that runs Gs while it holds a
 * P. m.c has its code; the Gs' side of threaded mode (mthread.c) and the P
 * (p.c) reach an M through this header.
 *
 * Invariants (m.c keeps them):
 *  - an M is on the idle list (sched.midle, counted by nmidle) exactly
 *    while it is parked in stopm, holding no P; mcount counts every M
 *    started and not yet joined, allm lists them;
 *  - nmspinning counts the Ms whose spinning flag is set: Ms that hold a P
 *    and look for work to steal; at most half the busy Ps spin;
 *  - at most one M sleeps for timers and fds (tsleeping), and it is not
 *    idle: gort_run waits for it;
 *  - curg is the G running on the M's thread, NULL while it runs g0.
 */
#ifndef GORT_SCHED_M_H
#define GORT_SCHED_M_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/sched.h"

#define ATOMIC_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define ATOMIC_SUB(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

struct gort_m {
	int32_t id;
	gort_ctx g0;       /* the thread's own context */
	gort_g *curg;      /* the G running on it, NULL on g0 */
	gort_p *p;         /* the P held */
	gort_p *oldp;      /* the P held before a syscall */
	gort_p *nextp;     /* handed over by startm */
	int outcome;       /* how curg gave control back */
	void (*unlockf)(void *); /* gort_park_unlock's, run on g0 once curg is parked */
	void *unlockarg;
	bool spinning;     /* counted in S.nmspinning */
	uint32_t park;     /* futex word: 1 = woken */
	uint64_t rng;      /* steal order */
	cache_t *own;      /* the thread's own cache, while it holds a P's */
	pthread_t thread;
	gort_m *schedlink; /* idle list */
	gort_m *alllink;
};

/* The calling thread's M, NULL outside Ms. Never inlined and never
 * cached: a G calling it may have moved to another thread since. */
SCHED_HIDDEN gort_m *gort_getm(void);

/* Wakes an idle M, or starts one, to run p (an idle P if NULL); spinning
 * says whether the caller counted it in nmspinning already. */
SCHED_HIDDEN void gort_startm(gort_p *p, bool spinning);

/* Go's wakep, for work published by a seq_cst read-modify-write (a G put
 * in runnext): that write orders the seq_cst load of npidle after it as a
 * fence would, so an M that has just gone idle either sees the G or is
 * seen here. One fence less on every ready. Inline: every ready and every
 * gort_go pass here, and most leave at the first load. */
static inline void gort_wakep_published(void)
{
	if (__atomic_load_n(&gort_sched.npidle, __ATOMIC_SEQ_CST) == 0)
		return;
	uint32_t zero = 0;
	if (ld(&gort_sched.nmspinning) != 0 ||
	    !__atomic_compare_exchange_n(&gort_sched.nmspinning, &zero, 1, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return;
	gort_startm(NULL, true);
}

/* Go's wakep: enqueue, fence, then this. */
static inline void gort_wakep(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	gort_wakep_published();
}

/* sched.lock held: every M is parked and no queue holds a G. */
SCHED_HIDDEN bool gort_quiescent_locked(void);

/* A GO or READY event, if recording: goid queued on p (NULL: global), by
 * the calling M's G. */
SCHED_HIDDEN void gort_m_note_event(uint32_t kind, int64_t goid, const gort_p *p);

#endif /* GORT_SCHED_M_H */
