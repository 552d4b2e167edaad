/*
 * wait.h — how a party waits for another: parkers, sudogs and wait queues,
 * the pieces channels, select, semaphores and timers are built from.
 *
 * A parker is one waiting party: a G, or an OS thread outside any G. It
 * lives on the waiter's stack for as long as it waits (gort's stacks never
 * move, so wakers may write into it). gort_parker_wait parks it with an
 * unlock function, as Go's gopark: the waiter publishes itself (a sudog in
 * a queue) under a lock, and that lock is released only once the waiter is
 * marked waiting, so a waker that finds it there can always wake it.
 *
 * A sudog is one place a parker waits in: one per channel operation, one
 * per case of a select, one per semaphore acquire. Its links are written
 * only under the lock of the queue it is on (a channel's, a semaphore
 * root's); after a waker has woken the parker it touches neither.
 *
 * Invariants (gort_waitq_check): a queue's links are consistent both ways;
 * a sudog off every queue has next == prev == NULL, so removing it twice is
 * harmless (select's pass 3 removes sudogs a waker has already taken).
 */
#ifndef GORT_SCHED_WAIT_H
#define GORT_SCHED_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/g.h"

typedef struct gort_sudog gort_sudog;

typedef struct gort_parker {
	gort_g *g;            /* the waiting G; NULL: a thread outside any G */
	uint32_t wake;        /* futex word of a thread outside any G: 1 = woken */
	uint32_t select_done; /* a select's wakers race to set it 0 -> 1; the winner wakes */
	gort_sudog *fired;    /* the sudog that fired (Go's gp.param) */
} gort_parker;

struct gort_sudog {
	gort_parker *pk;
	gort_sudog *next, *prev; /* in the queue it waits on */
	void *elem;              /* channels: the value sent, or where to put one */
	struct gort_chan *c;
	bool is_select;
	bool success;            /* woken by a transfer (true) or by close (false) */
	/* Semaphores (sema.c). */
	uintptr_t addr;
	uint32_t ticket;         /* 1: the releaser handed the count over */
	int64_t acquiretime;
};

typedef struct gort_waitq {
	gort_sudog *first, *last;
} gort_waitq;

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

/* The calling party, ready to wait: its G, or none outside any G. */
SCHED_HIDDEN void gort_parker_init(gort_parker *pk);
/* Parks pk's party and then runs unlock(arg). 0 once woken; -1 only
 * outside any G in step mode, when no G can run and no timer is pending
 * (nothing can ever wake it): the caller takes its sudogs back and reports
 * the deadlock. */
SCHED_HIDDEN int gort_parker_wait(gort_parker *pk, const char *reason, void (*unlock)(void *),
				  void *arg);
/* Wakes pk's party (once; the caller has taken its sudog off every queue
 * it could be found through, or won its select). After this, pk and its
 * sudogs belong to the waiter again. */
SCHED_HIDDEN void gort_parker_wake(gort_parker *pk);

SCHED_HIDDEN void gort_waitq_push(gort_waitq *q, gort_sudog *sg);
/* The first sudog whose party can still be woken through it: a select's
 * sudog is skipped (and dropped) when another case won its select. */
SCHED_HIDDEN gort_sudog *gort_waitq_pop(gort_waitq *q);
/* sg off q, if it is still on it. */
SCHED_HIDDEN void gort_waitq_remove(gort_waitq *q, gort_sudog *sg);
SCHED_HIDDEN const char *gort_waitq_check(const gort_waitq *q);

/* Step mode's blocking calls outside any G, and reports: the deadlock
 * message, which names every parked G and why it waits. */
SCHED_HIDDEN void gort_report_deadlock(const char *op, uintptr_t addr);

#endif /* GORT_SCHED_WAIT_H */
