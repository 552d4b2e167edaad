/*
 * runq.h — run queues: a P's local ring with its runnext slot, and the
 * global run queue. Semantics are Go 1.19's (runtime/proc.go runqput,
 * runqget, runqgrab, runqsteal, globrunqget); the design notes are in
 * runq.c.
 *
 * Local queue (gort_runq): single producer, many consumers, no lock. Only
 * the owner (the M holding the P) puts; the owner and thieves take. Owner
 * calls: put, get, steal (into its own ring). Calls any thread may make:
 * grab, empty, len, size.
 *
 * Global queue (gort_globrunq): a FIFO linked through gort_g.schedlink,
 * under its lock. Every gort_globrunq_* call that changes it or reads it
 * whole requires the caller to hold q->lock (Go: "requires sched.lock").
 * gort_runq_put takes that lock itself when the ring overflows, so it must
 * not be called with the global lock held (gort_globrunq_get, which runs
 * under the lock, puts into the ring without ever overflowing it).
 */
#ifndef GORT_SCHED_RUNQ_H
#define GORT_SCHED_RUNQ_H

#include <stdbool.h>
#include <stdint.h>

#include "os/lock.h"
#include "sched/g.h"

/* Ring entries; a power of two so that free-running indices wrap cleanly. */
#define GORT_RUNQ_SIZE 256u
#define GORT_RUNQ_MASK (GORT_RUNQ_SIZE - 1)
/* Most Gs one grab takes, and the batch size of the overflow path. */
#define GORT_RUNQ_HALF (GORT_RUNQ_SIZE / 2)

/* A P's local run queue. head and tail are free-running: the Gs are
 * ring[head % 256 .. tail % 256), oldest at head, and tail - head <= 256.
 * Every field is accessed with atomics (see runq.c for the orders). Zeroed
 * memory is an empty queue. */
typedef struct gort_runq {
	uint32_t head;	 /* next G to take; advanced by CAS by owner and thieves */
	uint32_t tail;	 /* next free slot; written only by the owner */
	gort_g *runnext; /* runs before the ring and inherits the time slice */
	/* No other P can steal from this one (threaded mode with one P): the
	 * owner moves runnext with plain atomic loads and stores instead of
	 * read-modify-writes, the dearest instructions of a wake-up. */
	bool solo;
	gort_g *ring[GORT_RUNQ_SIZE];
} gort_runq;

/* The global run queue. size mirrors the list length; it is written under
 * the lock and may be read without it as a hint (gort_globrunq_size_hint). */
typedef struct gort_globrunq {
	gort_lock_t lock;
	gort_g *head;
	gort_g *tail;
	uint32_t size;
} gort_globrunq;

/* A pause a thief takes before it takes a victim's runnext; NULL for none.
 * Go sleeps 3 µs there when the victim P is running, to let the victim run
 * the G it has just readied. The caller decides (it knows the victim's
 * status and whether it is in step mode), and ctx is passed through. */
typedef void gort_runq_pause_fn(void *ctx);
/* The threaded mode's pause: sleeps 3 µs, whatever ctx. */
SCHED_HIDDEN void gort_runq_pause_3us(void *ctx);

/* ---------------------------------------------------------- local queue */

SCHED_HIDDEN void gort_runq_init(gort_runq *q);

/* Owner only. Puts g on q. With next, g goes into runnext and the G that was
 * there (if any) goes to the tail of the ring instead. On a full ring, the
 * 128 oldest Gs and the one being put go to glob's tail in one batch, in
 * that order (takes glob->lock: do not hold it). glob must not be NULL.
 * With next, g is published by a seq_cst exchange (a seq_cst load after it
 * is ordered as if a full fence stood between them), except on a solo queue. */
SCHED_HIDDEN void gort_runq_put(gort_runq *q, gort_g *g, bool next, gort_globrunq *glob);

/* Owner only. Takes runnext; NULL if it is empty (or a thief took it). */
SCHED_HIDDEN gort_g *gort_runq_take_next(gort_runq *q);

/* Owner only. Takes runnext if set (then *inherit = true: the G shares the
 * current time slice), else the G at the head (*inherit = false). NULL if
 * the queue is empty. inherit may be NULL. */
SCHED_HIDDEN gort_g *gort_runq_get(gort_runq *q, bool *inherit);

/* Any thread. Takes ceil(half) of victim's ring from its head, oldest first,
 * into buf[0..n) and returns n (at most 128). Takes nothing from runnext
 * unless the ring is empty and steal_runnext is set: then, after
 * pause(pause_ctx) if pause is not NULL, it takes runnext (n = 1). */
SCHED_HIDDEN uint32_t gort_runq_grab(gort_runq *victim, gort_g *buf[GORT_RUNQ_HALF],
				     bool steal_runnext, gort_runq_pause_fn *pause,
				     void *pause_ctx);

/* p's owner only; victim != p. Grabs from victim (as gort_runq_grab) into
 * p's ring, returns the last G grabbed for the caller to run now, and
 * publishes the others on p's ring in order. NULL if nothing was grabbed.
 * p's ring must hold at most 128 Gs (Go steals only into an empty one);
 * otherwise it reports an internal error and steals nothing. */
SCHED_HIDDEN gort_g *gort_runq_steal(gort_runq *p, gort_runq *victim, bool steal_runnext,
				     gort_runq_pause_fn *pause, void *pause_ctx);

/* Any thread. No G on the ring and none in runnext. Never reports empty
 * while the owner moves a G from runnext to the ring. */
SCHED_HIDDEN bool gort_runq_empty(const gort_runq *q);

/* Any thread. Gs on the ring (tail - head, what schedtrace prints per P),
 * read consistently. */
SCHED_HIDDEN uint32_t gort_runq_len(const gort_runq *q);

/* Any thread. Gs this queue holds: the ring plus runnext. Exact when the
 * owner is not running; otherwise a value the queue had recently. */
SCHED_HIDDEN uint32_t gort_runq_size(const gort_runq *q);

/* Copies the ring, head first, into out[0..n) and returns n; *runnext gets
 * runnext (runnext may be NULL). The ring part is a consistent copy even
 * while thieves take; ring and runnext together are exact when the owner is
 * not running (step mode, or a stopped world). */
SCHED_HIDDEN uint32_t gort_runq_snapshot(const gort_runq *q, gort_g *out[GORT_RUNQ_SIZE],
					 gort_g **runnext);

/* Checks q's invariants: at most 256 Gs (head and tail consistent), no NULL
 * in [head, tail), no G twice, runnext not also on the ring, every G
 * runnable. Returns NULL if they hold, else a description in a
 * thread-local buffer (valid until this thread's next check). Call it while
 * the owner is not running. */
SCHED_HIDDEN const char *gort_runq_check(const gort_runq *q);

/* --------------------------------------------------------- global queue */

SCHED_HIDDEN void gort_globrunq_init(gort_globrunq *q);

/* The list length, read without the lock: a hint, as Go's sched.runqsize
 * read in findRunnable's fairness check. */
SCHED_HIDDEN uint32_t gort_globrunq_size_hint(const gort_globrunq *q);

/* Lock held. Puts g at the tail (Gosched, preemption, exitsyscall with no P). */
SCHED_HIDDEN void gort_globrunq_put(gort_globrunq *q, gort_g *g);

/* Lock held. Puts g at the head. */
SCHED_HIDDEN void gort_globrunq_put_head(gort_globrunq *q, gort_g *g);

/* Lock held. Appends the n Gs linked head -> ... -> tail through schedlink. */
SCHED_HIDDEN void gort_globrunq_put_batch(gort_globrunq *q, gort_g *head, gort_g *tail, uint32_t n);

/* Lock held; called by p's owner. Go 1.19's globrunqget: takes
 * n = min(size, size / gomaxprocs + 1, max if max > 0, 128) Gs from the
 * head, returns the first and puts the other n - 1 on p's ring in order.
 * NULL if the queue is empty. p's ring should be empty, as in Go (n is also
 * capped by its free room, so the ring never overflows under the lock). */
SCHED_HIDDEN gort_g *gort_globrunq_get(gort_globrunq *q, gort_runq *p, uint32_t max,
				       uint32_t gomaxprocs);

/* Lock held. Checks the list: size matches its length, tail is its last G
 * and ends it, every G runnable. NULL or a description, as gort_runq_check. */
SCHED_HIDDEN const char *gort_globrunq_check(const gort_globrunq *q);

#endif /* GORT_SCHED_RUNQ_H */
