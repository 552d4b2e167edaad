/*
 * g.h — the goroutine descriptor, as much of it as the run queues need.
 *
 * A G is a unit of work the scheduler moves between queues: a P's local ring
 * or its runnext slot (sched/runq.h), the global run queue (linked through
 * schedlink), the free lists, or an M that runs it. This header owns the
 * core every one of those places relies on; the scheduler adds the entry
 * function, saved context, stack, wait reason, P/M links and counters here.
 *
 * Invariants:
 *  - a G is in at most one queue at a time, and schedlink is meaningful only
 *    while it is in a linked queue (the global run queue or a free list);
 *  - a G on any run queue has status GORT_G_RUNNABLE (gort_runq_check and
 *    gort_globrunq_check verify it);
 *  - goid is set once when the G is first created and never reused while the
 *    runtime lives (a G taken from a free list gets a new one, as in Go).
 */
#ifndef GORT_SCHED_G_H
#define GORT_SCHED_G_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/context.h"
#include "sched/stack.h"

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Go's G statuses, with Go's numbers so that traces and schedtrace output
 * read the same. Go's 5 (_Gmoribund_unused), 8 (_Gcopystack) and 9 (_Gpreempted) are not used by gort: its stacks do
 * not move and preemption is cooperative. */
enum gort_g_status {
	GORT_G_IDLE = 0,     /* just allocated, not yet initialised */
	GORT_G_RUNNABLE = 1, /* on a run queue; not running, its stack is not in use */
	GORT_G_RUNNING = 2,  /* has an M and a P, runs user code */
	GORT_G_SYSCALL = 3,  /* has an M, in a blocking call, no user code */
	GORT_G_WAITING = 4,  /* parked; whoever parked it knows where it is */
	GORT_G_DEAD = 6,     /* exited, or on a free list waiting to be reused */
	/* Threaded mode, for an instant: gort_ready by goid has claimed a
	 * WAITING G and looks whether it may ready it (Go's 7 is unused). */
	GORT_G_CLAIMED = 7,
};

typedef struct gort_g gort_g;

struct gort_g {
	int64_t goid; /* goroutine id: 1, 2, ... in creation order */
	/* enum gort_g_status; read and written with atomics, since thieves
	 * and checkers look at Gs other threads own. */
	uint32_t status;
	gort_g *schedlink; /* next G in the global run queue or a free list */
	/* Owned by the scheduler (sched/g.c, sched/proc.c). */
	void (*fn)(void *);
	void *arg;
	const char *waitreason; /* why it is WAITING ("" otherwise) */
	int32_t p;              /* the P it last ran on, -1 if none yet */
	uint32_t index;         /* its slot in the scheduler's table of all Gs */
	uint64_t nswitch;       /* times it was switched to */
	/* Threaded mode: the G that parked by switching straight to this one,
	 * for this one to file as it resumes (mthread.c); NULL otherwise. */
	gort_g *handed;
	uint32_t mark;          /* scratch for the invariant checker */
	/* Parked by a blocking primitive (wait.h), atomic: only that
	 * primitive may ready it, not gort_ready by goid. */
	uint32_t waitsync;
	/* What it waits on while parked by one: a channel, mutex, ... (for
	 * gort_inspect_gs), NULL otherwise. */
	const void *waiton;
	bool has_stack;         /* stack below is its own (kept while dead, for reuse) */
	gort_stack stack;
	gort_ctx ctx; /* saved registers while not running */
};

#endif /* GORT_SCHED_G_H */
