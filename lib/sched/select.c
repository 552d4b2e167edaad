/*
 * select.c — Go's select (runtime/select.go) over gort's channels.
 *
 * Pass 1: with every case's channel locked (in address order, each
 * distinct channel once, so two selects never deadlock and a channel named
 * twice is not locked twice), the cases are tried in a random order (a
 * Fisher–Yates shuffle from the scheduler's PRNG: seeded in step mode),
 * and the first that can go now is done: each ready case is equally
 * likely. None ready and no blocking: -1, Go's default.
 *
 * Pass 2: one sudog per case, all sharing the caller's parker, queued on
 * their channels; the caller parks, and the unlock releases the channels
 * in reverse order. The first waker to set the parker's select_done wins
 * and records its sudog as fired; later wakers skip (and drop) the others.
 *
 * Pass 3: woken, the caller locks the channels again and takes every
 * sudog that did not fire off its queue, then reports the case that did.
 *
 * The sudogs and the orders live on the caller's stack (gort's stacks do
 * not move) for up to SELECT_STACK_CASES cases, on the heap beyond.
 *
 * Invariant: between pass 2 and pass 3 every sudog of the select is either
 * on its channel's queue or taken by a waker; after pass 3, none is queued.
 */
#include "sched/chan.h"

#include <errno.h>
#include <string.h>

#define S (gort_sched)

#define SELECT_STACK_CASES 8
#define SELECT_MAX_CASES 65536

typedef struct selstate {
	gort_select_case *cases;
	int n;
	uint32_t *pollorder; /* the shuffled cases that have a channel */
	uint32_t *lockorder; /* the same, sorted by channel address */
	int norder;
	gort_sudog *sg;      /* one per case */
	gort_parker pk;
	int fired;           /* the case that fired while waiting */
} selstate;

static gort_chan *chan_at(const selstate *s, int i)
{
	return s->cases[s->lockorder[i]].chan;
}

/* ------------------------------------------------------------ orders */

static void shuffle(selstate *s)
{
	s->norder = 0;
	for (int i = 0; i < s->n; i++) {
		if (!s->cases[i].chan)
			continue;
		/* Inside-out Fisher–Yates: a uniform permutation as it grows. */
		uint32_t j = (uint32_t)(gort_sched_rand_any() % (uint64_t)(s->norder + 1));
		s->pollorder[s->norder] = s->pollorder[j];
		s->pollorder[j] = (uint32_t)i;
		s->norder++;
	}
}

static uintptr_t key(const selstate *s, uint32_t i)
{
	return (uintptr_t)s->cases[s->lockorder[i]].chan;
}

static void sift(selstate *s, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t big = i, l = 2 * i + 1, r = l + 1;
		if (l < n && key(s, l) > key(s, big))
			big = l;
		if (r < n && key(s, r) > key(s, big))
			big = r;
		if (big == i)
			return;
		uint32_t t = s->lockorder[i];
		s->lockorder[i] = s->lockorder[big];
		s->lockorder[big] = t;
		i = big;
	}
}

/* Heap sort by channel address: O(n log n), no recursion (Go's choice). */
static void sort_locks(selstate *s)
{
	uint32_t n = (uint32_t)s->norder;
	memcpy(s->lockorder, s->pollorder, n * sizeof *s->lockorder);
	for (uint32_t i = n / 2; i-- > 0;)
		sift(s, i, n);
	for (uint32_t end = n; end-- > 1;) {
		uint32_t t = s->lockorder[0];
		s->lockorder[0] = s->lockorder[end];
		s->lockorder[end] = t;
		sift(s, 0, end);
	}
}

static void sellock(selstate *s)
{
	for (int i = 0; i < s->norder; i++)
		if (i == 0 || chan_at(s, i) != chan_at(s, i - 1))
			gort_lock(&chan_at(s, i)->lock);
}

/* Reverse order. As the park's unlock it runs while the G may already be
 * woken and relocking: it reads only the orders and cases, which the G
 * does not change until it holds every lock again (the first one last). */
static void selunlock(void *arg)
{
	selstate *s = arg;
	for (int i = s->norder - 1; i >= 0; i--) {
		gort_chan *c = chan_at(s, i);
		if (i > 0 && c == chan_at(s, i - 1))
			continue;
		gort_unlock(&c->lock);
	}
}

/* ------------------------------------------------------------ pass 1 */

/* try_case's and wait_case's results besides a case index. */
enum { NOT_READY = -1, FAILED = -2, CLOSED_WHILE_WAITING = -3 };

/* Locks held. Case i done now if it can be: i (the locks released), or
 * NOT_READY, or FAILED (a send on a closed channel; locks released). */
static int try_case(selstate *s, int i)
{
	gort_select_case *k = &s->cases[i];
	gort_chan *c = k->chan;
	gort_sudog *sg;
	if (k->dir == GORT_RECV) {
		if ((sg = gort_waitq_pop(&c->sendq))) {
			gort_parker *pk = sg->pk;
			gort_chan_handoff_recv(c, sg, k->elem, gort_chan_actor());
			selunlock(s);
			gort_parker_wake(pk);
		} else if (c->qcount > 0) {
			gort_chan_bufrecv(c, k->elem);
			selunlock(s);
		} else if (c->closed) {
			selunlock(s);
			if (k->elem && c->elemsize)
				memset(k->elem, 0, c->elemsize);
			k->ok = false;
			return i;
		} else {
			return NOT_READY;
		}
		k->ok = true;
		return i;
	}
	if (c->closed) {
		selunlock(s);
		return FAILED;
	}
	if ((sg = gort_waitq_pop(&c->recvq))) {
		gort_parker *pk = sg->pk;
		gort_chan_handoff_send(c, sg, k->elem, gort_chan_actor());
		selunlock(s);
		gort_parker_wake(pk);
	} else if (c->qcount < c->dataqsiz) {
		gort_chan_bufsend(c, k->elem);
		selunlock(s);
	} else {
		return NOT_READY;
	}
	return i;
}

/* ------------------------------------------------------------ passes 2, 3 */

static void enqueue_all(selstate *s)
{
	for (int i = 0; i < s->norder; i++) {
		uint32_t ci = s->lockorder[i];
		gort_select_case *k = &s->cases[ci];
		gort_sudog *sg = &s->sg[ci];
		*sg = (gort_sudog){.pk = &s->pk, .elem = k->elem, .c = k->chan, .is_select = true};
		gort_waitq_push(k->dir == GORT_SEND ? &k->chan->sendq : &k->chan->recvq, sg);
	}
}

/* Locks held: every sudog that did not fire off its queue; the case that
 * fired, -1 if none (a deadlock gave up). */
static int dequeue_all(selstate *s)
{
	int fired = -1;
	for (int i = 0; i < s->norder; i++) {
		uint32_t ci = s->lockorder[i];
		gort_select_case *k = &s->cases[ci];
		gort_sudog *sg = &s->sg[ci];
		if (sg == s->pk.fired)
			fired = (int)ci;
		else
			gort_waitq_remove(k->dir == GORT_SEND ? &k->chan->sendq : &k->chan->recvq, sg);
	}
	return fired;
}

static int wait_case(selstate *s)
{
	enqueue_all(s);
	if (s->pk.g)
		st(&s->pk.g->waiton, chan_at(s, 0));
	int rc = gort_parker_wait(&s->pk, "select", selunlock, s);
	sellock(s);
	int fired = dequeue_all(s);
	selunlock(s);
	if (rc != 0) {
		gort_report_deadlock("select", 0);
		return FAILED;
	}
	s->fired = fired;
	gort_select_case *k = &s->cases[fired];
	if (k->dir == GORT_RECV) {
		k->ok = s->sg[fired].success;
		return fired;
	}
	return s->sg[fired].success ? fired : CLOSED_WHILE_WAITING;
}

/* ------------------------------------------------------------ select */

static int select_cases(selstate *s, bool block)
{
	shuffle(s);
	sort_locks(s);
	sellock(s);
	for (int i = 0; i < s->norder; i++) {
		int rc = try_case(s, (int)s->pollorder[i]);
		if (rc == FAILED) {
			errno = EPIPE;
			gort_report(GORT_ERR_SEND_ON_CLOSED, "select",
				    (uintptr_t)s->cases[s->pollorder[i]].chan, "the channel was closed");
			return -1;
		}
		if (rc != NOT_READY)
			return rc;
	}
	if (!block) {
		selunlock(s);
		return -1;
	}
	gort_parker_init(&s->pk);
	int rc = wait_case(s);
	if (rc >= 0)
		return rc;
	if (rc == CLOSED_WHILE_WAITING) {
		errno = EPIPE;
		gort_report(GORT_ERR_SEND_ON_CLOSED, "select", (uintptr_t)s->cases[s->fired].chan,
			    "the channel was closed while waiting");
	}
	return -1;
}

static bool cases_valid(const gort_select_case *cases, int n)
{
	if (n < 0 || n > SELECT_MAX_CASES || (n > 0 && !cases))
		return false;
	for (int i = 0; i < n; i++) {
		if (cases[i].dir != GORT_SEND && cases[i].dir != GORT_RECV)
			return false;
		if (cases[i].chan && ld(&cases[i].chan->magic) != CHAN_MAGIC)
			return false;
	}
	return true;
}

int gort_select(gort_select_case *cases, int n, bool block)
{
	if (!cases_valid(cases, n)) {
		errno = EINVAL;
		return -1;
	}
	uint32_t orders[2 * SELECT_STACK_CASES];
	gort_sudog sgs[SELECT_STACK_CASES];
	void *heap = NULL;
	selstate s = {.cases = cases, .n = n, .pollorder = orders,
		      .lockorder = orders + SELECT_STACK_CASES, .sg = sgs};
	if (n > SELECT_STACK_CASES) {
		size_t bytes = (size_t)n * (2 * sizeof(uint32_t) + sizeof(gort_sudog));
		if (!(heap = gort_malloc(bytes)))
			return -1;
		s.sg = heap;
		s.pollorder = (uint32_t *)(s.sg + n);
		s.lockorder = s.pollorder + n;
	}
	int rc;
	bool any = false;
	for (int i = 0; i < n; i++)
		any |= cases[i].chan != NULL;
	if (!any) {
		/* Nothing can ever be ready: Go's select {} (or all nil). */
		if (!block) {
			rc = -1;
		} else {
			gort_parker_init(&s.pk);
			gort_parker_wait(&s.pk, n ? "select" : "select (no cases)", NULL, NULL);
			gort_report_deadlock("select", 0);
			rc = -1;
		}
	} else {
		rc = select_cases(&s, block);
	}
	gort_free(heap);
	return rc;
}
