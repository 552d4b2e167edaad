/*
 * chan.c — channels, as Go's hchan (runtime/chan.go).
 *
 * A channel is a ring buffer of cap elements (none when unbuffered), two
 * FIFO queues of waiting parties (sudogs: recvq and sendq), a closed flag
 * and a lock over all of it. A send to a channel with a waiting receiver
 * copies straight into the receiver's destination and wakes it (the
 * receiver never touches the buffer); a receive from a full buffered
 * channel with a waiting sender takes the head and puts the sender's value
 * at the tail in one step. Close wakes every waiter: receivers get zeroed
 * values and 0, senders fail as a send on a closed channel.
 *
 * Wakers never ready a party under the channel's lock (Go's rule: the
 * scheduler takes its own locks); they take its sudog off the queue, do the
 * copy, unlock, then wake. Waiters park with the channel's lock as their
 * unlock (park.c), so no wake-up is lost.
 *
 * Channels live on the gort heap (as Go's), header and buffer in one
 * allocation. The header carries a magic word so that a freed or foreign
 * pointer is caught before its queues are trusted.
 *
 * Invariants (gort_chan_check): qcount <= cap; sendx, recvx < cap (0 when
 * unbuffered); (recvx + qcount) % cap == sendx; not both queues hold
 * waiters, except for one select waiting to send and receive on the same
 * unbuffered channel; a buffered channel with values has no waiting
 * receivers and one with room no waiting senders; a closed channel has no
 * waiters.
 */
#include "sched/chan.h"

#include <errno.h>
#include <string.h>

#define S (gort_sched)

#define CHAN_MAX_ELEM ((size_t)1 << 16) /* Go: element size must be < 64 KiB */

/* ------------------------------------------------------------ making */

gort_chan *gort_chan_make(size_t elem_size, size_t cap)
{
	if (elem_size >= CHAN_MAX_ELEM) {
		errno = EINVAL;
		return NULL;
	}
	if (elem_size && cap > (SIZE_MAX - sizeof(gort_chan)) / elem_size) {
		errno = ENOMEM;
		return NULL;
	}
	gort_chan *c = gort_alloc(sizeof *c + elem_size * cap, GORT_ZERO);
	if (!c)
		return NULL;
	c->magic = CHAN_MAGIC;
	c->elemsize = elem_size;
	c->dataqsiz = cap;
	c->buf = (char *)(c + 1);
	gort_lock_init(&c->lock);
	return c;
}

/* A channel that has no magic is reported as misuse, not followed. */
static bool chan_valid(gort_chan *c, const char *op)
{
	if (__builtin_expect(ld(&c->magic) == CHAN_MAGIC, 1))
		return true;
	gort_report(GORT_ERR_INVALID_FREE, op, (uintptr_t)c, "not a channel (freed, or never made)");
	errno = EINVAL;
	return false;
}

void gort_chan_free(gort_chan *c)
{
	if (!c || !chan_valid(c, "chan_free"))
		return;
	gort_lock(&c->lock);
	bool waited = c->recvq.first || c->sendq.first;
	gort_unlock(&c->lock);
	if (waited) {
		gort_report(GORT_ERR_INVALID_FREE, "chan_free", (uintptr_t)c,
			    "goroutines still wait on the channel");
		return;
	}
	st(&c->magic, 0);
	gort_free(c);
}

size_t gort_chan_len(gort_chan *c)
{
	return c && chan_valid(c, "chan_len") ? __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) : 0;
}

size_t gort_chan_cap(gort_chan *c)
{
	return c && chan_valid(c, "chan_cap") ? c->dataqsiz : 0;
}

/* ------------------------------------------------------------ the buffer */

static void *chanbuf(gort_chan *c, size_t i)
{
	return c->buf + i * c->elemsize;
}

static void copy_elem(gort_chan *c, void *dst, const void *src)
{
	if (!dst || !src)
		return;
	/* A word, the usual element, is a load and a store rather than a
	 * call into the C library. */
	if (c->elemsize == sizeof(uint64_t))
		__builtin_memmove(dst, src, sizeof(uint64_t));
	else if (c->elemsize)
		memmove(dst, src, c->elemsize);
}

static void zero_elem(gort_chan *c, void *dst)
{
	if (dst && c->elemsize)
		memset(dst, 0, c->elemsize);
}

static size_t ring_next(gort_chan *c, size_t i)
{
	return i + 1 == c->dataqsiz ? 0 : i + 1;
}

static void set_qcount(gort_chan *c, size_t n)
{
	__atomic_store_n(&c->qcount, n, __ATOMIC_RELAXED);
}

void gort_chan_bufsend(gort_chan *c, const void *elem)
{
	copy_elem(c, chanbuf(c, c->sendx), elem);
	c->sendx = ring_next(c, c->sendx);
	set_qcount(c, c->qcount + 1);
}

void gort_chan_bufrecv(gort_chan *c, void *elem)
{
	void *slot = chanbuf(c, c->recvx);
	copy_elem(c, elem, slot);
	zero_elem(c, slot);
	c->recvx = ring_next(c, c->recvx);
	set_qcount(c, c->qcount - 1);
}

/* ------------------------------------------------------------ hand-offs */

static void chan_unlock(void *arg)
{
	gort_unlock(&((gort_chan *)arg)->lock);
}

void gort_chan_handoff_send(gort_chan *c, gort_sudog *sg, const void *elem, int64_t by)
{
	copy_elem(c, sg->elem, elem);
	sg->elem = NULL;
	sg->success = true;
	gort_parker *pk = sg->pk;
	pk->fired = sg;
	if (gort_evlog_enabled())
		gort_chan_note(GORT_EV_HANDOFF, c, pk->g ? pk->g->goid : 0, by, GORT_HANDOFF_TO_WAITER);
}

void gort_chan_handoff_recv(gort_chan *c, gort_sudog *sg, void *elem, int64_t by)
{
	if (c->dataqsiz == 0) {
		copy_elem(c, elem, sg->elem);
	} else {
		/* Full buffer: take its head, put the sender's value at the
		 * tail (the same slot: the ring turns by one). */
		void *slot = chanbuf(c, c->recvx);
		copy_elem(c, elem, slot);
		copy_elem(c, slot, sg->elem);
		c->recvx = ring_next(c, c->recvx);
		c->sendx = c->recvx;
	}
	sg->elem = NULL;
	sg->success = true;
	gort_parker *pk = sg->pk;
	pk->fired = sg;
	if (gort_evlog_enabled())
		gort_chan_note(GORT_EV_HANDOFF, c, by, pk->g ? pk->g->goid : 0, GORT_HANDOFF_FROM_WAITER);
}

void gort_chan_note(uint32_t kind, gort_chan *c, int64_t to, int64_t by, uint32_t side)
{
	if (!gort_evlog_enabled())
		return;
	gort_p *p = S.threaded ? gort_mt_curp() : S.curp;
	gort_event e = {
		.kind = kind,
		.p = p ? p->id : -1,
		.from = -1,
		.goid = to,
		.by = by,
		.source = side,
		.step = S.threaded ? 0 : S.nsteps,
		.obj = (uintptr_t)c,
	};
	if (S.threaded)
		e.t_start = e.t_end = gort_evlog_now();
	gort_evlog_add(&e);
}

/* ------------------------------------------------------------ send */


/* A waiting party gives up its sudog after a deadlock (step mode outside
 * any G): nothing else can take it off. */
static void abandon(gort_chan *c, gort_waitq *q, gort_sudog *sg, const char *op)
{
	gort_lock(&c->lock);
	gort_waitq_remove(q, sg);
	gort_unlock(&c->lock);
	gort_report_deadlock(op, (uintptr_t)c);
}

static int send_closed(gort_chan *c, const char *op)
{
	gort_report(GORT_ERR_SEND_ON_CLOSED, op, (uintptr_t)c, "the channel was closed");
	errno = EPIPE;
	return -1;
}

/* Waits forever: Go's nil channel. -1 (EDEADLK) only where nothing can run. */
static int block_forever(const char *reason, const char *op)
{
	gort_parker pk;
	gort_parker_init(&pk);
	if (gort_parker_wait(&pk, reason, NULL, NULL) != 0) {
		gort_report_deadlock(op, 0);
		return -1;
	}
	gort_fatal("a goroutine blocked forever was woken");
}

/* Go's chansend: 1 sent, 0 would block (only if !block), -1 error. */
static int chansend(gort_chan *c, const void *elem, bool block, const char *op)
{
	if (!c)
		return block ? block_forever("chan send (nil chan)", op) : 0;
	if (!chan_valid(c, op))
		return -1;
	/* Go's fast path: not closed and full, read without the lock. */
	if (!block && !ld(&c->closed) &&
	    (c->dataqsiz == 0 ? !ld(&c->recvq.first)
			      : __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) == c->dataqsiz))
		return 0;
	gort_lock(&c->lock);
	if (c->closed) {
		gort_unlock(&c->lock);
		return send_closed(c, op);
	}
	gort_sudog *sg = gort_waitq_pop(&c->recvq);
	if (sg) {
		gort_chan_handoff_send(c, sg, elem, gort_chan_actor());
		gort_parker *pk = sg->pk;
		gort_unlock(&c->lock);
		gort_parker_wake(pk);
		return 1;
	}
	if (c->qcount < c->dataqsiz) {
		gort_chan_bufsend(c, elem);
		gort_unlock(&c->lock);
		return 1;
	}
	if (!block) {
		gort_unlock(&c->lock);
		return 0;
	}
	gort_parker pk;
	gort_parker_init(&pk);
	gort_sudog me = {.pk = &pk, .elem = (void *)elem, .c = c};
	gort_waitq_push(&c->sendq, &me);
	if (pk.g)
		st(&pk.g->waiton, c);
	if (gort_parker_wait(&pk, "chan send", chan_unlock, c) != 0) {
		abandon(c, &c->sendq, &me, op);
		return -1;
	}
	return me.success ? 1 : send_closed(c, op);
}

int gort_chan_send(gort_chan *c, const void *elem)
{
	return chansend(c, elem, true, "chan_send") == 1 ? 0 : -1;
}

int gort_chan_try_send(gort_chan *c, const void *elem)
{
	return chansend(c, elem, false, "chan_try_send");
}

/* ------------------------------------------------------------ receive */

enum { RECV_WOULD_BLOCK = -1, RECV_CLOSED = 0, RECV_VALUE = 1, RECV_ERROR = -2 };

/* Go's empty(c), without the lock. */
static bool chan_empty(gort_chan *c)
{
	if (c->dataqsiz == 0)
		return !__atomic_load_n(&c->sendq.first, __ATOMIC_RELAXED);
	return __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) == 0;
}

/* Go's chanrecv: RECV_*. */
static int chanrecv(gort_chan *c, void *elem, bool block, const char *op)
{
	if (!c) {
		if (!block)
			return RECV_WOULD_BLOCK;
		block_forever("chan receive (nil chan)", op);
		return RECV_ERROR;
	}
	if (!chan_valid(c, op))
		return RECV_ERROR;
	/* Go's fast path: empty, then closed, then empty again (a value sent
	 * just before the close must not be missed). */
	if (!block && chan_empty(c)) {
		if (!__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE))
			return RECV_WOULD_BLOCK;
		if (chan_empty(c)) {
			zero_elem(c, elem);
			return RECV_CLOSED;
		}
	}
	gort_lock(&c->lock);
	if (c->closed && c->qcount == 0) {
		gort_unlock(&c->lock);
		zero_elem(c, elem);
		return RECV_CLOSED;
	}
	gort_sudog *sg = gort_waitq_pop(&c->sendq);
	if (sg) {
		gort_chan_handoff_recv(c, sg, elem, gort_chan_actor());
		gort_parker *pk = sg->pk;
		gort_unlock(&c->lock);
		gort_parker_wake(pk);
		return RECV_VALUE;
	}
	if (c->qcount > 0) {
		gort_chan_bufrecv(c, elem);
		gort_unlock(&c->lock);
		return RECV_VALUE;
	}
	if (!block) {
		gort_unlock(&c->lock);
		return RECV_WOULD_BLOCK;
	}
	gort_parker pk;
	gort_parker_init(&pk);
	gort_sudog me = {.pk = &pk, .elem = elem, .c = c};
	gort_waitq_push(&c->recvq, &me);
	if (pk.g)
		st(&pk.g->waiton, c);
	if (gort_parker_wait(&pk, "chan receive", chan_unlock, c) != 0) {
		abandon(c, &c->recvq, &me, op);
		return RECV_ERROR;
	}
	return me.success ? RECV_VALUE : RECV_CLOSED;
}

int gort_chan_recv(gort_chan *c, void *elem)
{
	int rc = chanrecv(c, elem, true, "chan_recv");
	return rc == RECV_ERROR ? -1 : rc;
}

int gort_chan_try_recv(gort_chan *c, void *elem)
{
	int rc = chanrecv(c, elem, false, "chan_try_recv");
	return rc == RECV_ERROR ? -1 : rc;
}

/* ------------------------------------------------------------ close */

/* Takes every waiter off q into the list through next (woken later, with
 * the lock released), marking each as failed. */
static gort_sudog *drain_waiters(gort_chan *c, gort_waitq *q, gort_sudog *list, bool zero)
{
	gort_sudog *sg;
	while ((sg = gort_waitq_pop(q))) {
		if (zero)
			zero_elem(c, sg->elem);
		sg->elem = NULL;
		sg->success = false;
		sg->pk->fired = sg;
		sg->next = list;
		list = sg;
	}
	return list;
}

/* The list was built newest first: wake in queue order. */
static void wake_all(gort_sudog *list)
{
	gort_sudog *rev = NULL;
	while (list) {
		gort_sudog *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		gort_sudog *next = rev->next; /* rev is the waiter's once woken */
		gort_parker *pk = rev->pk;
		rev->next = NULL;
		gort_parker_wake(pk);
		rev = next;
	}
}

void gort_chan_close(gort_chan *c)
{
	if (!c) {
		gort_report(GORT_ERR_CLOSE_OF_NIL, "chan_close", 0, "close of nil channel");
		return;
	}
	if (!chan_valid(c, "chan_close"))
		return;
	gort_lock(&c->lock);
	if (c->closed) {
		gort_unlock(&c->lock);
		gort_report(GORT_ERR_CLOSE_OF_CLOSED, "chan_close", (uintptr_t)c,
			    "the channel was closed before");
		return;
	}
	__atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);
	gort_sudog *list = drain_waiters(c, &c->recvq, NULL, true);
	list = drain_waiters(c, &c->sendq, list, false);
	gort_chan_note(GORT_EV_CLOSE, c, 0, gort_chan_actor(), 0);
	gort_unlock(&c->lock);
	wake_all(list);
}

/* ------------------------------------------------------------ checks */

static const char *ring_check(const gort_chan *c)
{
	if (c->qcount > c->dataqsiz)
		return "a channel holds more than its capacity";
	if (c->dataqsiz == 0)
		return c->sendx || c->recvx ? "an unbuffered channel moved its ring" : NULL;
	if (c->sendx >= c->dataqsiz || c->recvx >= c->dataqsiz)
		return "a channel's ring index is out of range";
	if ((c->recvx + c->qcount) % c->dataqsiz != c->sendx)
		return "a channel's ring indices disagree with its count";
	return NULL;
}

static bool only_selects(const gort_waitq *q)
{
	for (const gort_sudog *sg = q->first; sg; sg = sg->next)
		if (!sg->is_select)
			return false;
	return true;
}

static const char *queues_check(const gort_chan *c)
{
	const char *why;
	if ((why = gort_waitq_check(&c->recvq)) || (why = gort_waitq_check(&c->sendq)))
		return why;
	bool r = c->recvq.first, s = c->sendq.first;
	if (c->closed && (r || s))
		return "a closed channel has waiters";
	if (c->dataqsiz > 0 && c->qcount > 0 && r)
		return "a channel with values has waiting receivers";
	if (c->dataqsiz > 0 && c->qcount < c->dataqsiz && s)
		return "a channel with room has waiting senders";
	if (c->dataqsiz == 0 && r && s && !(only_selects(&c->recvq) && only_selects(&c->sendq)))
		return "both of a channel's queues hold waiters";
	return NULL;
}

const char *gort_chan_check(gort_chan *c)
{
	if (ld(&c->magic) != CHAN_MAGIC)
		return "not a channel";
	gort_lock(&c->lock);
	const char *why = ring_check(c);
	if (!why)
		why = queues_check(c);
	gort_unlock(&c->lock);
	return why;
}
