/*
 * wait_model.h — the shadow model of gort's blocking primitives that
 * fuzz_sched checks step mode against, beside sched_model.h's queues:
 * channels (Go's hchan: a FIFO buffer, FIFO queues of waiting senders and
 * receivers, direct hand-off, close), select's waiting cases, sync.Mutex
 * (Go's state word: locked, woken, starving, waiter count, on a runtime
 * semaphore), sync.WaitGroup, and sleeps on per-P timer heaps under the
 * virtual clock.
 *
 * Included by exactly one harness after sched_model.h (everything is
 * static); uses only gort.h and gort_inspect.h.
 *
 * What the model owns: for every channel its buffered values in order,
 * recvx/sendx, closed, and its two wait queues (G index, select case);
 * for each mutex and the wait group their words and their semaphore's
 * count and FIFO line (a woken mutex waiter that loses goes back to the
 * head of its line, as Go's semacquire(lifo)); for every P the timers of
 * the Gs sleeping on it, in a 4-ary heap ordered by when (equal whens
 * leave in heap order, which the model mirrors so the READY events come
 * in the runtime's order); the virtual clock; for each G what it waits in
 * and what it will see when it runs again (the value, closed, the case
 * that fired, a report to expect). Wakes are predicted as events
 * (HANDOFF, CLOSE, READY) and compared one for one with the log.
 *
 * Invariants the model checks itself (wm_self_check): a channel with
 * values has no waiting receiver, one with room no waiting sender, a
 * closed one no waiter; a mutex is held by at most one G (the harness's
 * record of who returned from lock); a mutex that is free with waiters
 * asleep has one woken (no lost wake-up); every timer belongs to a
 * sleeping G.
 */
#ifndef GORT_FUZZ_WAIT_MODEL_H
#define GORT_FUZZ_WAIT_MODEL_H

#include "sched_model.h"

#define WM_CHANS 4
#define WM_MUTEXES 2
#define WM_QMAX 512 /* waiters on one queue: every G, a select twice */
#define WM_CAP_MAX 4
#define WM_STARVE_NS 1000000 /* Go's starvationThresholdNs */
#define WM_SEL_MAX 3

static const size_t wm_caps[WM_CHANS] = {0, 1, 2, 4};

/* What a G waits in (or is about to resume from). */
enum wm_kind {
	WK_NONE,
	WK_SEND,
	WK_RECV,
	WK_SELECT,
	WK_MUTEX,
	WK_WG,
	WK_SLEEP,
	WK_HANDED, /* not waiting: yielded inside an unlock that handed the lock over */
};

typedef struct wm_ent {
	uint16_t g;
	int8_t sel; /* the select case, -1: a plain send or receive */
	int64_t val;
} wm_ent;

typedef struct wm_q {
	wm_ent e[WM_QMAX];
	uint32_t n;
} wm_q;

typedef struct wm_chan {
	size_t cap, recvx;
	int64_t buf[WM_CAP_MAX]; /* buf[(recvx + i) % cap], i < len */
	uint32_t len;
	int closed;
	wm_q recvq, sendq;
} wm_chan;

typedef struct wm_selcase {
	int8_t chan; /* -1: a nil channel */
	uint8_t dir; /* GORT_SEND, GORT_RECV */
	int64_t val;
} wm_selcase;

/* A semaphore: its count and its line of waiting G indices. */
typedef struct wm_sema {
	uint32_t count;
	uint16_t line[SM_G_MAX];
	uint32_t n;
} wm_sema;

typedef struct wm_mutex {
	int locked, woken, starving;
	uint32_t waiters;
	wm_sema sema;
	int32_t holder; /* the harness's record: who returned from lock, -1 */
} wm_mutex;

typedef struct wm_gs {
	uint8_t kind;	 /* enum wm_kind */
	uint8_t obj;	 /* the channel or mutex index */
	uint8_t woken;	 /* a waker made it runnable: it returns when it runs */
	uint8_t in_sema; /* parked in a semaphore's line */
	uint8_t ticket;	 /* the count was handed to it */
	uint8_t lifo;	 /* its semacquire's queueing */
	int8_t fired;	 /* select: the case that fired */
	uint8_t success; /* chan: a value (1) or closed (0) */
	int64_t got;	 /* the value it receives */
	/* mutex lock_slow's locals */
	uint8_t starving, awoke, waited;
	int64_t wait_start;
	wm_selcase sel[WM_SEL_MAX];
	uint8_t nsel;
} wm_gs;

typedef struct wm_timer {
	int64_t when;
	uint16_t g;
} wm_timer;

typedef struct wm_heap {
	wm_timer t[SM_G_MAX];
	uint32_t n;
} wm_heap;

static struct wm_state {
	gort_chan *chan[WM_CHANS];
	wm_chan c[WM_CHANS];
	gort_mutex *mu;		/* WM_MUTEXES of them, the harness's */
	wm_mutex m[WM_MUTEXES];
	gort_waitgroup *wg;
	int32_t wg_counter;
	uint32_t wg_waiters;
	wm_sema wg_sema;
	wm_heap timers[SM_PROCS_MAX];
	int64_t vnow;
	wm_gs g[SM_G_MAX];
	uint32_t nblocked; /* Gs parked in a primitive */
	/* select fairness: [k ready cases - 2][the rank of the one taken] */
	uint32_t fair[WM_SEL_MAX - 1][WM_SEL_MAX];
	gort_chan_info ci;
} W;

/* --------------------------------------------------------- the events */

SM_NOCOV static void wm_want(uint32_t kind, int32_t p, int64_t goid, int64_t by, uint32_t source,
			     int ch)
{
	SM_ASSERT(M.nwant < SM_WANT_MAX, "model: too many expected events");
	M.want[M.nwant++] = (gort_event){.kind = kind,
					 .p = p,
					 .from = -1,
					 .goid = goid,
					 .by = by,
					 .source = source,
					 .step = M.steps,
					 .obj = (uintptr_t)W.chan[ch]};
}

/* G g, parked in a primitive, made runnable by the G `by` running on P p
 * (p < 0: from outside, to the global queue). */
SM_NOCOV static void wm_wake(uint16_t g, int32_t p, int64_t by)
{
	SM_ASSERT(M.st[g] == SM_PARKED && W.g[g].kind != WK_NONE && !W.g[g].woken,
		  "model: waking g%lld, which does not wait", (long long)sm_goid(g));
	W.g[g].woken = 1;
	W.nblocked--;
	sm_ready(g, p, by, M.steps);
}

/* ------------------------------------------------------------ queues */

SM_NOCOV static void wq_push(wm_q *q, uint16_t g, int sel, int64_t val)
{
	SM_ASSERT(q->n < WM_QMAX, "model: a wait queue overflows");
	q->e[q->n++] = (wm_ent){g, (int8_t)sel, val};
}

SM_NOCOV static void wq_del(wm_q *q, uint32_t i)
{
	memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof q->e[0]);
	q->n--;
}

/* gort_waitq_pop: the first party that can still be woken through q; a
 * select whose other case already fired is dropped on the way. */
SM_NOCOV static int wq_pop(wm_q *q, wm_ent *out)
{
	while (q->n) {
		wm_ent e = q->e[0];
		wq_del(q, 0);
		if (e.sel >= 0 && W.g[e.g].fired >= 0)
			continue;
		if (e.sel >= 0)
			W.g[e.g].fired = e.sel;
		*out = e;
		return 1;
	}
	return 0;
}

/* A select's stale entries, off every queue (its pass 3). */
SM_NOCOV static void wq_drop_g(uint16_t g)
{
	for (int c = 0; c < WM_CHANS; c++) {
		wm_q *qs[2] = {&W.c[c].recvq, &W.c[c].sendq};
		for (int k = 0; k < 2; k++)
			for (uint32_t i = qs[k]->n; i-- > 0;)
				if (qs[k]->e[i].g == g)
					wq_del(qs[k], i);
	}
}

/* ------------------------------------------------------------ channels */

SM_NOCOV static void wc_bufput(wm_chan *c, int64_t v)
{
	c->buf[(c->recvx + c->len) % c->cap] = v;
	c->len++;
}

SM_NOCOV static int64_t wc_buftake(wm_chan *c)
{
	int64_t v = c->buf[c->recvx];
	c->recvx = (c->recvx + 1) % c->cap;
	c->len--;
	return v;
}

/* A send by `self` (G index, -1 outside) on P p of v on channel ch that
 * finds a waiting receiver: the hand-off and the wake. */
SM_NOCOV static void wc_give(int ch, const wm_ent *r, int64_t v, int32_t p, int64_t by)
{
	wm_gs *w = &W.g[r->g];
	w->success = 1;
	w->got = v;
	wm_want(GORT_EV_HANDOFF, p, sm_goid(r->g), by, GORT_HANDOFF_TO_WAITER, ch);
	wm_wake(r->g, p, by);
}

/* What chansend does now, by a G on P p (by its goid; p < 0, by 0:
 * outside). 1 sent, 0 it must wait (nothing changed), -1 closed. */
SM_NOCOV static int wc_send(int ch, int64_t v, int32_t p, int64_t by)
{
	wm_chan *c = &W.c[ch];
	wm_ent r;
	if (c->closed)
		return -1;
	if (wq_pop(&c->recvq, &r)) {
		wc_give(ch, &r, v, p, by);
		return 1;
	}
	if (c->len < c->cap) {
		wc_bufput(c, v);
		return 1;
	}
	return 0;
}

/* chanrecv: 1 a value (*v), 0 closed and drained, -1 it must wait. */
SM_NOCOV static int wc_recv(int ch, int64_t *v, int32_t p, int64_t by)
{
	wm_chan *c = &W.c[ch];
	wm_ent s;
	if (c->closed && c->len == 0) {
		*v = 0;
		return 0;
	}
	if (wq_pop(&c->sendq, &s)) {
		if (c->cap == 0) {
			*v = s.val;
		} else { /* full: the head out, the sender's value in at the tail */
			*v = wc_buftake(c);
			wc_bufput(c, s.val);
		}
		W.g[s.g].success = 1;
		wm_want(GORT_EV_HANDOFF, p, by, sm_goid(s.g), GORT_HANDOFF_FROM_WAITER, ch);
		wm_wake(s.g, p, by);
		return 1;
	}
	if (c->len) {
		*v = wc_buftake(c);
		return 1;
	}
	return -1;
}

/* Would a receive (or send) on ch go now, without waiting? */
SM_NOCOV static int wc_recv_ready(int ch)
{
	const wm_chan *c = &W.c[ch];
	if (c->len || c->closed)
		return 1;
	for (uint32_t i = 0; i < c->sendq.n; i++)
		if (c->sendq.e[i].sel < 0 || W.g[c->sendq.e[i].g].fired < 0)
			return 1;
	return 0;
}

SM_NOCOV static int wc_send_ready(int ch)
{
	const wm_chan *c = &W.c[ch];
	if (c->closed || c->len < c->cap)
		return 1;
	for (uint32_t i = 0; i < c->recvq.n; i++)
		if (c->recvq.e[i].sel < 0 || W.g[c->recvq.e[i].g].fired < 0)
			return 1;
	return 0;
}

/* close: the CLOSE event, then every receiver, then every sender, woken
 * in queue order. 0, or -1 if it was closed (reported). */
SM_NOCOV static int wc_close(int ch, int32_t p, int64_t by)
{
	wm_chan *c = &W.c[ch];
	if (c->closed)
		return -1;
	c->closed = 1;
	wm_ent e;
	uint16_t woke[2 * WM_QMAX];
	uint32_t n = 0;
	while (wq_pop(&c->recvq, &e)) {
		W.g[e.g].success = 0;
		W.g[e.g].got = 0;
		woke[n++] = e.g;
	}
	while (wq_pop(&c->sendq, &e)) {
		W.g[e.g].success = 0;
		woke[n++] = e.g;
	}
	wm_want(GORT_EV_CLOSE, p, 0, by, 0, ch);
	for (uint32_t i = 0; i < n; i++)
		wm_wake(woke[i], p, by);
	return 0;
}

/* ------------------------------------------------------------ semaphores */

/* gort_semacquire's try for G g: 1 it has the count, 0 it parked. */
SM_NOCOV static int ws_acquire(wm_sema *s, uint16_t g, int lifo)
{
	if (s->count) {
		s->count--;
		return 1;
	}
	SM_ASSERT(s->n < SM_G_MAX, "model: a semaphore line overflows");
	if (lifo) {
		memmove(&s->line[1], &s->line[0], s->n * sizeof s->line[0]);
		s->line[0] = g;
	} else {
		s->line[s->n] = g;
	}
	s->n++;
	W.g[g].in_sema = 1;
	W.g[g].lifo = (uint8_t)lifo;
	W.g[g].ticket = 0;
	return 0;
}

/* gort_semrelease by a G on P p (by; outside: -1, 0): the first waiter
 * woken; with handoff the count is its. Returns 1 if the count was handed
 * (the caller yields). */
SM_NOCOV static int ws_release(wm_sema *s, int handoff, int32_t p, int64_t by)
{
	s->count++;
	if (!s->n)
		return 0;
	uint16_t g = s->line[0];
	memmove(&s->line[0], &s->line[1], (s->n - 1) * sizeof s->line[0]);
	s->n--;
	W.g[g].in_sema = 0;
	int handed = handoff && s->count > 0;
	if (handed) {
		s->count--;
		W.g[g].ticket = 1;
	}
	wm_wake(g, p, by);
	return handed;
}

/* A woken semaphore waiter runs: 1 it has the count, 0 parked again. */
SM_NOCOV static int ws_resume(wm_sema *s, uint16_t g)
{
	if (W.g[g].ticket) {
		W.g[g].ticket = 0;
		return 1;
	}
	return ws_acquire(s, g, W.g[g].lifo);
}

/* ------------------------------------------------------------ mutexes */

/* lock_slow from the top of its loop, for G g (state old = the mutex's):
 * 1 it holds the lock, 0 it parked. Go's sync.Mutex, step mode (no
 * spinning). */
SM_NOCOV static int wx_after_sema(int mi, uint16_t g);

SM_NOCOV static int wx_loop(int mi, uint16_t g)
{
	wm_mutex *m = &W.m[mi];
	wm_gs *w = &W.g[g];
	for (;;) {
		int was_locked = m->locked, was_starving = m->starving;
		SM_ASSERT(!w->awoke || m->woken,
			  "model: g%lld was woken but the mutex's woken bit is clear",
			  (long long)sm_goid(g));
		if (!was_starving)
			m->locked = 1;
		if (was_locked || was_starving)
			m->waiters++;
		if (w->starving && was_locked)
			m->starving = 1;
		if (w->awoke)
			m->woken = 0;
		if (!was_locked && !was_starving)
			return 1;
		int again = w->waited;
		if (!w->waited) {
			w->waited = 1;
			w->wait_start = W.vnow;
		}
		if (!ws_acquire(&m->sema, g, again))
			return 0;
		if (wx_after_sema(mi, g) == 1)
			return 1;
	}
}

/* Semacquire returned: starving, then the handed lock or another round.
 * 1 it holds the lock; else the next round's result (0: parked). */
SM_NOCOV static int wx_after_sema(int mi, uint16_t g)
{
	wm_mutex *m = &W.m[mi];
	wm_gs *w = &W.g[g];
	w->starving = w->starving || W.vnow - w->wait_start > WM_STARVE_NS;
	if (m->starving) {
		SM_ASSERT(!m->locked && !m->woken && m->waiters > 0,
			  "model: g%lld handed a mutex in an inconsistent state",
			  (long long)sm_goid(g));
		m->locked = 1;
		if (!w->starving || m->waiters == 1)
			m->starving = 0;
		m->waiters--;
		return 1;
	}
	w->awoke = 1;
	return -1; /* another round: the caller loops */
}

/* gort_mutex_lock by G g: 1 it holds it, 0 it parked. */
SM_NOCOV static int wx_lock(int mi, uint16_t g)
{
	wm_mutex *m = &W.m[mi];
	wm_gs *w = &W.g[g];
	if (!m->locked && !m->woken && !m->starving && !m->waiters) {
		m->locked = 1;
		return 1;
	}
	w->starving = w->awoke = w->waited = 0;
	w->wait_start = 0;
	return wx_loop(mi, g);
}

/* A mutex waiter woken from its semaphore runs: 1 it holds the lock, 0 it
 * parked again. */
SM_NOCOV static int wx_resume(int mi, uint16_t g)
{
	if (!ws_resume(&W.m[mi].sema, g))
		return 0;
	int r = wx_after_sema(mi, g);
	return r == 1 ? 1 : wx_loop(mi, g);
}

SM_NOCOV static int wx_trylock(int mi)
{
	wm_mutex *m = &W.m[mi];
	if (m->locked || m->starving)
		return 0;
	m->locked = 1;
	return 1;
}

/* gort_mutex_unlock by a G on P p (outside: -1, 0): 0 done; 1 done and
 * the caller yielded (the lock handed over); -1 it was not locked
 * (reported). */
SM_NOCOV static int wx_unlock(int mi, int32_t p, int64_t by)
{
	wm_mutex *m = &W.m[mi];
	if (!m->locked)
		return -1;
	m->locked = 0;
	if (m->starving)
		return ws_release(&m->sema, 1, p, by) && p >= 0;
	if (!m->waiters || m->woken)
		return 0;
	m->waiters--;
	m->woken = 1;
	ws_release(&m->sema, 0, p, by);
	return 0;
}

SM_NOCOV static int32_t wx_state(int mi)
{
	const wm_mutex *m = &W.m[mi];
	return m->locked | m->woken << 1 | m->starving << 2 | (int32_t)(m->waiters << 3);
}

/* ------------------------------------------------------------ wait group */

enum { WG_OK = 0, WG_NEGATIVE = 1, WG_RACE = 2 };

/* gort_wg_add(delta) by a G on P p: WG_* (the report it makes). */
SM_NOCOV static int wg_add(int32_t delta, int32_t p, int64_t by)
{
	int32_t v = W.wg_counter + delta;
	if (v < 0)
		return WG_NEGATIVE;
	W.wg_counter = v;
	if (W.wg_waiters && delta > 0 && v == delta)
		return WG_RACE;
	if (v > 0 || !W.wg_waiters)
		return WG_OK;
	uint32_t w = W.wg_waiters;
	W.wg_waiters = 0;
	while (w--)
		ws_release(&W.wg_sema, 0, p, by);
	return WG_OK;
}

/* gort_wg_wait by G g: 1 returned, 0 parked, 2 returned at once on a
 * count left in the semaphore for waiters released before (the group
 * reused while they have not run: the word is not zero, reported). */
SM_NOCOV static int wg_wait(uint16_t g)
{
	if (W.wg_counter == 0)
		return 1;
	W.wg_waiters++;
	return ws_acquire(&W.wg_sema, g, 0) ? 2 : 0;
}

/* ------------------------------------------------------------ timers */

SM_NOCOV static void wt_swap(wm_heap *h, uint32_t a, uint32_t b)
{
	wm_timer t = h->t[a];
	h->t[a] = h->t[b];
	h->t[b] = t;
}

SM_NOCOV static void wt_up(wm_heap *h, uint32_t i)
{
	while (i > 0 && h->t[(i - 1) / 4].when > h->t[i].when) {
		wt_swap(h, i, (i - 1) / 4);
		i = (i - 1) / 4;
	}
}

SM_NOCOV static uint32_t wt_down(wm_heap *h, uint32_t i)
{
	for (;;) {
		uint32_t best = i;
		for (uint32_t c = 4 * i + 1; c < 4 * i + 5 && c < h->n; c++)
			if (h->t[c].when < h->t[best].when)
				best = c;
		if (best == i)
			return i;
		wt_swap(h, i, best);
		i = best;
	}
}

SM_NOCOV static void wt_push(unsigned p, int64_t when, uint16_t g)
{
	wm_heap *h = &W.timers[p];
	SM_ASSERT(h->n < SM_G_MAX, "model: a timer heap overflows");
	h->t[h->n] = (wm_timer){when, g};
	wt_up(h, h->n++);
}

/* The timer at slot i out (timer.c heap_remove: the last one into its
 * place, down then up). */
SM_NOCOV static wm_timer wt_remove(unsigned p, uint32_t i)
{
	wm_heap *h = &W.timers[p];
	wm_timer t = h->t[i];
	h->n--;
	if (i < h->n) {
		h->t[i] = h->t[h->n];
		wt_up(h, wt_down(h, i));
	}
	return t;
}

SM_NOCOV static int64_t wt_next(void)
{
	int64_t next = 0;
	for (unsigned i = 0; i < M.nprocs; i++)
		if (W.timers[i].n && (!next || W.timers[i].t[0].when < next))
			next = W.timers[i].t[0].when;
	return next;
}

/* Step mode's run_timers_due: every P's due timers, in P order, each
 * heap from its root; each wakes its G onto that P (by nobody). */
SM_NOCOV static void wt_fire_due(void)
{
	for (unsigned p = 0; p < M.nprocs; p++)
		while (W.timers[p].n && W.timers[p].t[0].when <= W.vnow) {
			wm_timer t = wt_remove(p, 0);
			wm_wake(t.g, (int32_t)p, 0);
		}
}

/* gort_set_procs shrinking: P from's timers onto P 0's heap, from its
 * last slot down. */
SM_NOCOV static void wt_move(unsigned from)
{
	while (W.timers[from].n) {
		wm_timer t = wt_remove(from, W.timers[from].n - 1);
		wt_push(0, t.when, t.g);
	}
}

/* ------------------------------------------------------------ checks */

/* A select's entry whose select another case has won is stale: the
 * runtime drops it when a pop meets it or its G runs again, which depends
 * on select's random poll order, so only the live entries are compared
 * (in order). */
SM_NOCOV static int wm_stale(int64_t goid, int sel)
{
	int32_t g = sm_index(goid);
	return sel && g >= 0 && W.g[g].fired >= 0;
}

SM_NOCOV static void wm_check_queue(int ch, const char *name, const wm_q *q, const int64_t *ids,
				    const uint8_t *sels, uint32_t n)
{
	uint32_t i = 0, j = 0;
	for (;;) {
		while (i < n && wm_stale(ids[i], sels[i]))
			i++;
		while (j < q->n && wm_stale(sm_goid(q->e[j].g), q->e[j].sel >= 0))
			j++;
		if (i == n || j == q->n)
			break;
		SM_ASSERT(ids[i] == sm_goid(q->e[j].g) && sels[i] == (q->e[j].sel >= 0),
			  "c%d: %s position %u is g%lld (select %u), the model says g%lld (%d)", ch,
			  name, i, (long long)ids[i], sels[i], (long long)sm_goid(q->e[j].g),
			  q->e[j].sel >= 0);
		i++;
		j++;
	}
	SM_ASSERT(i == n && j == q->n, "c%d: %s has %u live waiters past the model's", ch, name,
		  i == n ? 0 : n - i);
}

SM_NOCOV static void wm_check_chan(int ch)
{
	wm_chan *c = &W.c[ch];
	SM_ASSERT(gort_check_chan(W.chan[ch]) == 0, "gort_check_chan(c%d) failed", ch);
	gort_chan_info *ci = &W.ci;
	SM_ASSERT(gort_inspect_chan(W.chan[ch], ci) == 0, "gort_inspect_chan(c%d) failed", ch);
	SM_ASSERT(ci->cap == c->cap && ci->len == c->len && ci->closed == c->closed,
		  "c%d: cap %zu len %zu closed %d, the model says cap %zu len %u closed %d", ch,
		  ci->cap, ci->len, ci->closed, c->cap, c->len, c->closed);
	size_t sendx = c->cap ? (c->recvx + c->len) % c->cap : 0;
	SM_ASSERT(ci->recvx == c->recvx && ci->sendx == sendx,
		  "c%d: recvx %zu sendx %zu, the model says %zu %zu", ch, ci->recvx, ci->sendx,
		  c->recvx, sendx);
	for (uint32_t i = 0; i < c->len; i++) {
		int64_t v = 0;
		SM_ASSERT(gort_inspect_chan_value(W.chan[ch], i, &v) == 0 &&
				  v == c->buf[(c->recvx + i) % c->cap],
			  "c%d: buffered value %u is %lld, the model says %lld", ch, i,
			  (long long)v, (long long)c->buf[(c->recvx + i) % c->cap]);
	}
	const wm_q *qs[2] = {&c->recvq, &c->sendq};
	const uint32_t ns[2] = {ci->nrecvq, ci->nsendq};
	const int64_t *ids[2] = {ci->recvq, ci->sendq};
	const uint8_t *sels[2] = {ci->recvq_select, ci->sendq_select};
	for (int k = 0; k < 2; k++)
		if (ns[k] <= GORT_CHAN_WAITERS_MAX)
			wm_check_queue(ch, k ? "sendq" : "recvq", qs[k], ids[k], sels[k], ns[k]);
	/* No lost wake-up: nobody waits where the other side could go on. */
	int live_r = 0, live_s = 0;
	for (uint32_t i = 0; i < c->recvq.n; i++)
		live_r |= c->recvq.e[i].sel < 0 || W.g[c->recvq.e[i].g].fired < 0;
	for (uint32_t i = 0; i < c->sendq.n; i++)
		live_s |= c->sendq.e[i].sel < 0 || W.g[c->sendq.e[i].g].fired < 0;
	SM_ASSERT(!(live_r && (c->len || c->closed)) && !(live_s && (c->len < c->cap || c->closed)),
		  "model: c%d has a waiter that could go on", ch);
}

SM_NOCOV static void wm_check(void)
{
	for (int ch = 0; ch < WM_CHANS; ch++)
		wm_check_chan(ch);
	for (int i = 0; i < WM_MUTEXES; i++) {
		int32_t s = __atomic_load_n(&W.mu[i].state, __ATOMIC_RELAXED);
		SM_ASSERT(s == wx_state(i), "m%d: state %#x, the model says %#x", i, s,
			  wx_state(i));
		SM_ASSERT(W.mu[i].sema == W.m[i].sema.count, "m%d: semaphore %u, the model says %u",
			  i, W.mu[i].sema, W.m[i].sema.count);
		const wm_mutex *m = &W.m[i];
		SM_ASSERT(m->locked || m->starving || m->woken || m->sema.n == 0,
			  "m%d is free with %u waiters asleep and none woken (a lost wake-up)", i,
			  m->sema.n);
	}
	uint64_t s = __atomic_load_n(&W.wg->state, __ATOMIC_RELAXED);
	SM_ASSERT((int32_t)(s >> 32) == W.wg_counter && (uint32_t)s == W.wg_waiters,
		  "wg: counter %d waiters %u, the model says %d %u", (int32_t)(s >> 32),
		  (uint32_t)s, W.wg_counter, W.wg_waiters);
	SM_ASSERT(W.wg_counter > 0 || W.wg_sema.n == 0,
		  "wg: counter 0 with %u waiters asleep (a lost wake-up)", W.wg_sema.n);
	SM_ASSERT(gort_now() == W.vnow, "gort_now() = %lld, the model's clock %lld",
		  (long long)gort_now(), (long long)W.vnow);
}

/* Go's select fairness, loosely: among k ready cases each is taken at
 * least a 1/(4k) share once there are 200 samples (a uniform choice
 * fails this with odds below 1e-20). */
SM_NOCOV static void wm_check_fair(void)
{
	for (int k = 2; k <= WM_SEL_MAX; k++) {
		const uint32_t *f = W.fair[k - 2];
		uint32_t n = 0;
		for (int i = 0; i < k; i++)
			n += f[i];
		if (n < 200)
			continue;
		for (int i = 0; i < k; i++)
			SM_ASSERT(f[i] * 4 * (uint32_t)k >= n,
				  "select fairness: of %u selects with %d ready cases, the %d-th "
				  "was taken %u times",
				  n, k, i, f[i]);
	}
}

/* A new input: fresh objects, the model empty; the clock read from the
 * runtime (it never goes back). */
SM_NOCOV static void wm_begin(void)
{
	gort_chan *keep[WM_CHANS];
	gort_mutex *mu = W.mu;
	gort_waitgroup *wg = W.wg;
	memcpy(keep, W.chan, sizeof keep);
	memset(&W, 0, sizeof W);
	memcpy(W.chan, keep, sizeof keep);
	W.mu = mu;
	W.wg = wg;
	for (int i = 0; i < WM_CHANS; i++) {
		W.chan[i] = gort_chan_make(sizeof(int64_t), wm_caps[i]);
		SM_ASSERT(W.chan[i], "gort_chan_make failed");
		W.c[i].cap = wm_caps[i];
	}
	memset(W.mu, 0, WM_MUTEXES * sizeof *W.mu);
	memset(W.wg, 0, sizeof *W.wg);
	for (int i = 0; i < WM_MUTEXES; i++)
		W.m[i].holder = -1;
	for (uint32_t i = 0; i < SM_G_MAX; i++)
		W.g[i].fired = -1;
	W.vnow = gort_now();
}

SM_NOCOV static void wm_end(void)
{
	for (int i = 0; i < WM_CHANS; i++) {
		gort_chan_free(W.chan[i]);
		W.chan[i] = NULL;
	}
}

#endif /* GORT_FUZZ_WAIT_MODEL_H */
