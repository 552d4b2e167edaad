/*
 * sema.c — the runtime's semaphores (Go's runtime/sema.go), under the
 * mutex and the wait group: semacquire waits until *addr > 0 and takes one;
 * semrelease adds one and wakes a waiter.
 *
 * Waiters hang off a table of 251 roots chosen by address, each a lock, a
 * count of waiters (read without the lock by semrelease's fast path) and
 * one list of sudogs; waiters of one address keep their order in it (FIFO,
 * or at the head of that address's waiters for a LIFO queue, as a mutex's
 * woken loser is). Go keeps a treap per root; one list is enough while a
 * root holds few distinct addresses, and it keeps the order plain.
 *
 * No lost wake-up: semacquire counts itself in nwait under the root's lock
 * and then tries the count once more before parking with that lock as its
 * unlock; semrelease adds to the count before it reads nwait.
 *
 * Handoff (a mutex in starvation mode): the releaser takes the count for
 * the first waiter and sets its ticket, so no newcomer can take it first,
 * and yields so that the waiter runs at once.
 *
 * Invariant (gort_sema_check): each root's nwait equals the sudogs on its
 * list, and the list's links agree.
 */
#include "sched/sched.h"
#include "sched/sema.h"
#include "sched/wait.h"

#include <string.h>

#define S (gort_sched)

#define SEMA_ROOTS 251

typedef struct semaroot {
	gort_lock_t lock;
	uint32_t nwait; /* atomic */
	gort_waitq q;
} __attribute__((aligned(64))) semaroot;

static semaroot semtable[SEMA_ROOTS];

static semaroot *root_of(const uint32_t *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % SEMA_ROOTS];
}

static bool cansemacquire(uint32_t *addr)
{
	uint32_t v = __atomic_load_n(addr, __ATOMIC_ACQUIRE);
	while (v != 0)
		if (__atomic_compare_exchange_n(addr, &v, v - 1, true, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return true;
	return false;
}

/* Root lock held: sg in addr's line, last (FIFO) or first (LIFO). */
static void queue(semaroot *r, gort_sudog *sg, bool lifo)
{
	if (lifo) {
		for (gort_sudog *x = r->q.first; x; x = x->next) {
			if (x->addr != sg->addr)
				continue;
			sg->prev = x->prev;
			sg->next = x;
			if (x->prev)
				x->prev->next = sg;
			else
				r->q.first = sg;
			x->prev = sg;
			return;
		}
	}
	gort_waitq_push(&r->q, sg);
}

/* Root lock held: the first waiter on addr, off the list; NULL if none. */
static gort_sudog *dequeue(semaroot *r, uintptr_t addr)
{
	for (gort_sudog *x = r->q.first; x; x = x->next) {
		if (x->addr == addr) {
			gort_waitq_remove(&r->q, x);
			return x;
		}
	}
	return NULL;
}

static void root_unlock(void *arg)
{
	gort_unlock(&((semaroot *)arg)->lock);
}

int gort_semacquire(uint32_t *addr, bool lifo, const char *reason, const void *waiton)
{
	if (cansemacquire(addr))
		return 0;
	semaroot *r = root_of(addr);
	gort_parker pk;
	gort_sudog sg = {.pk = &pk, .addr = (uintptr_t)addr};
	for (;;) {
		gort_lock(&r->lock);
		__atomic_add_fetch(&r->nwait, 1, __ATOMIC_SEQ_CST);
		if (cansemacquire(addr)) {
			__atomic_sub_fetch(&r->nwait, 1, __ATOMIC_SEQ_CST);
			gort_unlock(&r->lock);
			return 0;
		}
		gort_parker_init(&pk);
		sg.ticket = 0;
		queue(r, &sg, lifo);
		if (pk.g)
			st(&pk.g->waiton, waiton);
		if (gort_parker_wait(&pk, reason, root_unlock, r) != 0) {
			gort_lock(&r->lock);
			if (sg.prev || r->q.first == &sg) {
				gort_waitq_remove(&r->q, &sg);
				__atomic_sub_fetch(&r->nwait, 1, __ATOMIC_SEQ_CST);
			}
			gort_unlock(&r->lock);
			gort_report_deadlock(reason, (uintptr_t)waiton);
			return -1;
		}
		if (sg.ticket != 0 || cansemacquire(addr))
			return 0;
	}
}

void gort_semrelease(uint32_t *addr, bool handoff)
{
	semaroot *r = root_of(addr);
	__atomic_add_fetch(addr, 1, __ATOMIC_SEQ_CST);
	/* Count first, then look for waiters: a waiter counts itself first,
	 * then looks at the count. */
	if (__atomic_load_n(&r->nwait, __ATOMIC_SEQ_CST) == 0)
		return;
	gort_lock(&r->lock);
	gort_sudog *sg = __atomic_load_n(&r->nwait, __ATOMIC_RELAXED) ? dequeue(r, (uintptr_t)addr)
								       : NULL;
	if (sg)
		__atomic_sub_fetch(&r->nwait, 1, __ATOMIC_SEQ_CST);
	gort_unlock(&r->lock);
	if (!sg)
		return;
	bool handed = handoff && cansemacquire(addr);
	if (handed)
		sg->ticket = 1;
	gort_parker_wake(sg->pk);
	if (handed)
		gort_yield(); /* let the waiter run now (it is in our runnext) */
}

void gort_sema_reset(void)
{
	memset(semtable, 0, sizeof semtable); /* as it starts: unlocked, empty */
}

const char *gort_sema_check(void)
{
	for (int i = 0; i < SEMA_ROOTS; i++) {
		semaroot *r = &semtable[i];
		gort_lock(&r->lock);
		const char *why = gort_waitq_check(&r->q);
		uint32_t n = 0;
		for (gort_sudog *x = r->q.first; x; x = x->next)
			n++;
		if (!why && n != r->nwait)
			why = "a semaphore root's count of waiters is wrong";
		gort_unlock(&r->lock);
		if (why)
			return why;
	}
	return NULL;
}
