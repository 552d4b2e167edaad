/*
 * park.c — parking with an unlock function, waking, and wait queues: the
 * one way every blocking primitive (chan.c, select.c, sema.c, timer.c)
 * puts a party to sleep and gets it back.
 *
 * Go's rule, kept here: a waiter publishes itself under a lock and parks;
 * the lock is released by the scheduler only after the G is marked
 * WAITING (gort_park_unlock), so a waker that found it under that lock
 * readies a G that is surely parked — no spinning, no lost wake-up. A G
 * parked this way is the primitive's: gort_ready() by goid refuses it (a
 * stray ready would run it with its sudog still queued).
 *
 * Outside any G the party is the calling thread: in threaded mode it
 * sleeps on a futex in its parker; in step mode it drives the scheduler
 * until a G wakes it, and when nothing can run any more it is deadlocked.
 *
 * Invariants: a parker is woken at most once per wait; a sudog is on at
 * most one queue, and off queues its links are NULL.
 */
#include "sched/netpoll.h"
#include "sched/sched.h"
#include "sched/wait.h"

#include <errno.h>

#include "os/futex.h"

#define S (gort_sched)

/* ------------------------------------------------------------ parking */

void gort_park_unlock(const char *reason, void (*unlock)(void *), void *arg)
{
	if (S.threaded) {
		gort_mt_park_unlock(reason, unlock, arg);
		return;
	}
	if (!S.curg) {
		if (unlock)
			unlock(arg);
		return;
	}
	S.curg->waitreason = reason && *reason ? reason : "park";
	S.unlockf = unlock;
	S.unlockarg = arg;
	gort_enter_g0(OUT_PARKED);
}

/* The running G, if the caller is one. */
static gort_g *current_g(void)
{
	if (!S.ready)
		return NULL;
	return S.threaded ? gort_mt_curg() : S.curg;
}

void gort_parker_init(gort_parker *pk)
{
	*pk = (gort_parker){.g = current_g()};
}

/* Step mode, outside any G: run Gs until one wakes us. When none can run
 * and no timer is pending, only an fd can: wait for one. */
static int step_until_woken(gort_parker *pk)
{
	while (!ld(&pk->wake)) {
		int rc = gort_step();
		if (rc == 1)
			continue;
		if (rc < 0 || gort_netpoll_waiters() == 0)
			return -1;
		gort_netpoll(-1);
	}
	return 0;
}

int gort_parker_wait(gort_parker *pk, const char *reason, void (*unlock)(void *), void *arg)
{
	if (pk->g) {
		__atomic_store_n(&pk->g->waitsync, 1, __ATOMIC_RELEASE);
		gort_park_unlock(reason, unlock, arg);
		return 0;
	}
	if (unlock)
		unlock(arg);
	if (!S.threaded)
		return step_until_woken(pk);
	while (!__atomic_load_n(&pk->wake, __ATOMIC_ACQUIRE))
		gort_futex_wait(&pk->wake, 0);
	return 0;
}

void gort_parker_wake(gort_parker *pk)
{
	gort_g *g = pk->g;
	if (g) {
		__atomic_store_n(&g->waitsync, 0, __ATOMIC_RELAXED);
		gort_ready_g(g);
		return;
	}
	__atomic_store_n(&pk->wake, 1, __ATOMIC_RELEASE);
	if (S.threaded)
		gort_futex_wake(&pk->wake, 1); /* pk may be gone: a stale wake is harmless */
}

/* ------------------------------------------------------------ wait queues */

/* A channel's fast paths read first without its lock (Go's full and
 * empty): it is written, always under the lock, with an atomic store, so
 * those reads are not a data race. */
static void set_first(gort_waitq *q, gort_sudog *sg)
{
	__atomic_store_n(&q->first, sg, __ATOMIC_RELAXED);
}

void gort_waitq_push(gort_waitq *q, gort_sudog *sg)
{
	sg->next = NULL;
	sg->prev = q->last;
	if (q->last)
		q->last->next = sg;
	else
		set_first(q, sg);
	q->last = sg;
}

static void unlink_first(gort_waitq *q, gort_sudog *sg)
{
	set_first(q, sg->next);
	if (q->first)
		q->first->prev = NULL;
	else
		q->last = NULL;
	sg->next = sg->prev = NULL;
}

gort_sudog *gort_waitq_pop(gort_waitq *q)
{
	gort_sudog *sg;
	while ((sg = q->first)) {
		unlink_first(q, sg);
		if (!sg->is_select)
			return sg;
		uint32_t zero = 0;
		if (__atomic_compare_exchange_n(&sg->pk->select_done, &zero, 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return sg;
		/* Another case of its select won: drop this one. */
	}
	return NULL;
}

void gort_waitq_remove(gort_waitq *q, gort_sudog *sg)
{
	if (!sg->prev && q->first != sg)
		return; /* not on it (taken by a waker, or never queued) */
	if (sg->prev)
		sg->prev->next = sg->next;
	else
		set_first(q, sg->next);
	if (sg->next)
		sg->next->prev = sg->prev;
	else
		q->last = sg->prev;
	sg->next = sg->prev = NULL;
}

const char *gort_waitq_check(const gort_waitq *q)
{
	const gort_sudog *prev = NULL;
	for (const gort_sudog *sg = q->first; sg; prev = sg, sg = sg->next)
		if (sg->prev != prev || !sg->pk)
			return "a wait queue's links disagree";
	if (prev != q->last)
		return "a wait queue's last is not its tail";
	return NULL;
}

/* ------------------------------------------------------------ deadlock */

void gort_report_deadlock(const char *op, uintptr_t addr)
{
	char buf[320];
	strbuf_t b = {buf, sizeof buf, 0};
	gort_sb_str(&b, "all goroutines are asleep - deadlock!");
	uint32_t shown = 0, more = 0;
	gort_lock(&S.gflock);
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		if (ld(&g->status) != GORT_G_WAITING)
			continue;
		if (b.len > sizeof buf - 64) {
			more++;
			continue;
		}
		gort_sb_str(&b, shown++ ? ", " : "; ");
		gort_sb_str(&b, "goroutine ");
		gort_sb_dec(&b, (uint64_t)g->goid);
		gort_sb_str(&b, " [");
		gort_sb_str(&b, g->waitreason);
		gort_sb_str(&b, "]");
	}
	gort_unlock(&S.gflock);
	if (more) {
		gort_sb_str(&b, " and ");
		gort_sb_dec(&b, more);
		gort_sb_str(&b, " more");
	}
	gort_report(GORT_ERR_DEADLOCK, op, addr, gort_sb_done(&b));
	errno = EDEADLK;
}
