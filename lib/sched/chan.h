/*
 * chan.h — the channel's layout (Go's hchan) and what select.c shares with
 * chan.c: the buffer moves, the hand-offs to a waiting party, the event
 * note. See chan.c for the design and the invariants.
 */
#ifndef GORT_SCHED_CHAN_H
#define GORT_SCHED_CHAN_H

#include "sched/sched.h"
#include "sched/wait.h"

#define CHAN_MAGIC 0x6368616eu /* "chan" */

struct gort_chan {
	uint32_t magic;    /* CHAN_MAGIC while it lives */
	uint32_t closed;   /* atomic: read without the lock by the fast paths */
	size_t elemsize;
	size_t dataqsiz;   /* capacity, fixed */
	size_t qcount;     /* values buffered; atomic for the fast paths */
	size_t sendx, recvx;
	char *buf;         /* dataqsiz slots of elemsize bytes, after the header */
	gort_waitq recvq, sendq;
	gort_lock_t lock;  /* everything above but magic and dataqsiz */
};

/* Lock held. The next value into the ring / out of it (the slot zeroed). */
SCHED_HIDDEN void gort_chan_bufsend(gort_chan *c, const void *elem);
SCHED_HIDDEN void gort_chan_bufrecv(gort_chan *c, void *elem);
/* Lock held, sg taken off c's recvq: elem copied to its receiver. The
 * caller unlocks, then wakes sg->pk. by: the sender's goid. */
SCHED_HIDDEN void gort_chan_handoff_send(gort_chan *c, gort_sudog *sg, const void *elem,
					 int64_t by);
/* Lock held, sg taken off c's sendq: a value into elem (the head of a full
 * buffer, the sender's value taking its place; or the sender's, direct). */
SCHED_HIDDEN void gort_chan_handoff_recv(gort_chan *c, gort_sudog *sg, void *elem, int64_t by);
/* A HANDOFF (value from by to to; side: GORT_HANDOFF_*) or CLOSE (by)
 * event in the log. */
SCHED_HIDDEN void gort_chan_note(uint32_t kind, gort_chan *c, int64_t to, int64_t by, uint32_t side);
SCHED_HIDDEN const char *gort_chan_check(gort_chan *c);

/* The acting G's id, for the event log only: looking it up costs a call
 * per hand-off that nothing else needs. */
static inline int64_t gort_chan_actor(void)
{
	return gort_evlog_enabled() ? gort_self() : 0;
}

#endif /* GORT_SCHED_CHAN_H */
