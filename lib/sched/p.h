/*
 * p.h — the P, Go's processor: the right to run Gs, with what that needs
 * close at hand (a run queue, an mcache, dead Gs kept for reuse, a timer
 * heap). p.c has its code.
 *
 * Invariants (p.c keeps them):
 *  - Ps live in one mapping of SCHED_MAX_PROCS slots and never move; the
 *    first nprocs are in use, and a P out of use has no cache, no queued G
 *    and no timer;
 *  - threaded mode: a P is held by at most one M (status RUNNING), or is
 *    in a syscall with its M (SYSCALL), or is on the idle list (IDLE) —
 *    and it passes between Ms only through the idle list, under sched.lock,
 *    or by sysmon's SYSCALL -> IDLE exchange; npidle counts the list;
 *  - step mode leaves every P IDLE and off the list.
 */
#ifndef GORT_SCHED_P_H
#define GORT_SCHED_P_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/mem.h"
#include "sched/g.h"
#include "sched/runq.h"
#include "sched/timer.h"

/* A P's status (threaded mode; step mode leaves it IDLE). */
enum { GORT_P_IDLE = 0, GORT_P_RUNNING = 1, GORT_P_SYSCALL = 2 };

typedef struct gort_p {
	int32_t id;
	uint32_t status;     /* GORT_P_*, atomic: thieves read it */
	struct gort_p *link; /* next on the idle list (threaded mode, sched.lock) */
	uint32_t syscalltick; /* atomic: syscalls entered on it */
	uint32_t sysmon_tick; /* sysmon's own: the syscalltick it last saw */
	uint64_t sysmon_when; /* and when it saw it */
	uint32_t schedtick;   /* written by its M only; relaxed atomics for inspection */
	/* Threaded mode: runtick counts the Gs run on it (runnext included)
	 * and its acquisitions; rungoid is the G it runs or ran last. sysmon
	 * notes the runtick it saw and when (atomics: schedtrace reads them):
	 * the same runtick 10 ms later is a G that runs without yielding. */
	uint32_t runtick;
	int64_t rungoid;
	uint32_t sysmon_runtick;
	uint64_t sysmon_runwhen;
	gort_runq runq;
	cache_t *mcache;
	gort_g *gfree; /* dead Gs kept for reuse */
	uint32_t ngfree;
	gort_timers timers; /* its timer heap (timer.c) */
} gort_p;

typedef struct gort_m gort_m;

/* The Ps' mapping, with nprocs of them made: 0 or -1 (out of memory). */
SCHED_HIDDEN int gort_ps_init(unsigned nprocs);
/* Every P's cache and timers given back, and the mapping unmapped. */
SCHED_HIDDEN void gort_ps_destroy(void);
/* Go's procresize for step mode: makes or destroys Ps until there are n
 * (1..SCHED_MAX_PROCS). 0, or -1 with errno. */
SCHED_HIDDEN int gort_procresize(unsigned n);

/* Threaded mode. Every P on the idle list, in id order (at init). */
SCHED_HIDDEN void gort_pidle_init(void);
/* sched.lock held: p onto the idle list (status IDLE). */
SCHED_HIDDEN void gort_pidleput(gort_p *p);
/* sched.lock held: want off the idle list if it is there, else any idle
 * P; NULL if none is idle. */
SCHED_HIDDEN gort_p *gort_pidleget(gort_p *want);
/* m takes p (status RUNNING, a new runtick) and allocates through its cache. */
SCHED_HIDDEN void gort_acquirep(gort_m *m, gort_p *p);
/* m lets its P go (the P keeps its cache); the caller says where it goes. */
SCHED_HIDDEN void gort_releasep(gort_m *m);
/* Go's handoffp: p is no one's; to an M if there is work, else idle. */
SCHED_HIDDEN void gort_handoffp(gort_p *p);
/* Any run queue holds a G: read without locks, after a full fence. */
SCHED_HIDDEN bool gort_work_anywhere(void);

#endif /* GORT_SCHED_P_H */
