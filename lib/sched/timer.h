/*
 * timer.h — timers, as Go 1.14 has them: each P keeps a 4-ary min-heap of
 * the timers added on it, ordered by when they fire; whoever holds or looks
 * at a P in findRunnable runs its due timers. A timer's callback runs on
 * the scheduler's side (g0, no G), with the heap's lock released; it must
 * not block. gort_sleep is a timer that readies its G.
 *
 * Clocks: step mode's is virtual (S.vnow: it moves only when nothing can
 * run and a timer is pending, to that timer); threaded mode's is
 * CLOCK_MONOTONIC since init. Either way, nanoseconds.
 *
 * Invariants (gort_timers_check): heap order (a parent fires no later than
 * its children); each timer's pp/idx name the heap and slot it is in;
 * timer0_when is the root's when, 0 when the heap is empty.
 */
#ifndef GORT_SCHED_TIMER_H
#define GORT_SCHED_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "os/lock.h"

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

typedef struct gort_timer {
	int64_t when;          /* fires at this clock value */
	void (*f)(void *arg);  /* on the scheduler's side, no lock held */
	void *arg;
	int32_t pp;            /* the P whose heap holds it, -1 if none (under that heap's lock) */
	uint32_t idx;          /* its slot there */
} gort_timer;

typedef struct gort_timers {
	gort_lock_t lock;
	gort_timer **heap;     /* mapped off the heap, grown by doubling */
	uint32_t n, cap;
	int64_t timer0_when;   /* atomic: the root's when, 0 if none */
} gort_timers;

struct gort_p;

/* The scheduler's clock now. */
SCHED_HIDDEN int64_t gort_clock(void);
/* t fires at when (on the current P's heap, P 0's outside any). 0, or -1
 * if the heap cannot grow (ENOMEM). */
SCHED_HIDDEN int gort_timer_add(gort_timer *t, int64_t when);
/* t taken off its heap before it fired: true; false if it fired or runs. */
SCHED_HIDDEN bool gort_timer_del(gort_timer *t);
/* Runs p's timers due at now; how many ran. */
SCHED_HIDDEN int gort_timers_run(struct gort_p *p, int64_t now);
/* Runs every P's due timers (the Gs they ready go to the caller's P). */
SCHED_HIDDEN int gort_timers_run_all(int64_t now);
/* The earliest when over every P, 0 if no timer is pending. */
SCHED_HIDDEN int64_t gort_timers_next(void);
/* All of from's timers onto to's heap (a P that goes away). */
SCHED_HIDDEN void gort_timers_move(struct gort_p *to, struct gort_p *from);
SCHED_HIDDEN void gort_timers_destroy(gort_timers *ts);
SCHED_HIDDEN const char *gort_timers_check(const gort_timers *ts, int32_t pp);
/* Pending timers over every P. */
SCHED_HIDDEN uint64_t gort_timers_count(void);

#endif /* GORT_SCHED_TIMER_H */
