/*
 * timer.c — per-P timer heaps (see timer.h), the scheduler's clock, and
 * gort_sleep built on them.
 *
 * Unlike Go 1.14, which marks a deleted or modified timer and lets the
 * owning P tidy its heap later (lock-free status transitions), gort keeps
 * one lock per heap and deletes in place, O(log n): fewer states, and the
 * timers here (sleeps) are never modified. A timer remembers its heap, so
 * a delete from any thread goes straight to it.
 *
 * gort_sleep arms its timer in the park's unlock function, as Go's
 * resetForSleep: armed earlier, a short timer could fire and ready a G
 * that has not parked yet.
 */
#define _GNU_SOURCE
#include "sched/sched.h"
#include "sched/wait.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define S (gort_sched)
#define HEAP_ARITY 4

int64_t gort_clock(void)
{
	if (!S.threaded)
		return S.vnow;
	return (int64_t)(gort_os_nanotime() - S.t0);
}

int64_t gort_now(void)
{
	if (!S.ready && gort_mem_ensure_init() != 0)
		return 0;
	return S.ready ? gort_clock() : 0;
}

/* ------------------------------------------------------------ the heap */

static void heap_set(gort_timers *ts, uint32_t i, gort_timer *t)
{
	ts->heap[i] = t;
	t->idx = i;
}

static void sift_up(gort_timers *ts, uint32_t i)
{
	gort_timer *t = ts->heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / HEAP_ARITY;
		if (ts->heap[parent]->when <= t->when)
			break;
		heap_set(ts, i, ts->heap[parent]);
		i = parent;
	}
	heap_set(ts, i, t);
}

static void sift_down(gort_timers *ts, uint32_t i)
{
	gort_timer *t = ts->heap[i];
	for (;;) {
		uint32_t first = i * HEAP_ARITY + 1, best = i;
		int64_t best_when = t->when;
		for (uint32_t c = first; c < first + HEAP_ARITY && c < ts->n; c++) {
			if (ts->heap[c]->when < best_when) {
				best = c;
				best_when = ts->heap[c]->when;
			}
		}
		if (best == i)
			break;
		heap_set(ts, i, ts->heap[best]);
		i = best;
	}
	heap_set(ts, i, t);
}

static void update_when0(gort_timers *ts)
{
	__atomic_store_n(&ts->timer0_when, ts->n ? ts->heap[0]->when : 0, __ATOMIC_RELEASE);
}

/* Lock held. Room for one more; -1 if it cannot grow. */
static int heap_reserve(gort_timers *ts)
{
	if (ts->n < ts->cap)
		return 0;
	uint32_t cap = ts->cap ? ts->cap * 2 : 256;
	gort_timer **h = gort_os_map((size_t)cap * sizeof *h);
	if (!h)
		return -1;
	if (ts->heap) {
		memcpy(h, ts->heap, (size_t)ts->n * sizeof *h);
		gort_os_unmap(ts->heap, (size_t)ts->cap * sizeof *h);
	}
	ts->heap = h;
	ts->cap = cap;
	return 0;
}

/* Lock held. */
static void heap_push(gort_timers *ts, gort_timer *t, int32_t pp)
{
	t->pp = pp;
	heap_set(ts, ts->n++, t);
	sift_up(ts, ts->n - 1);
	update_when0(ts);
}

/* Lock held: the timer at slot i out of the heap. */
static void heap_remove(gort_timers *ts, uint32_t i)
{
	gort_timer *t = ts->heap[i];
	gort_timer *last = ts->heap[--ts->n];
	t->pp = -1;
	if (i < ts->n) {
		heap_set(ts, i, last);
		sift_down(ts, i);
		sift_up(ts, last->idx);
	}
	update_when0(ts);
}

/* ------------------------------------------------------------ timers */

/* The P a new timer goes on: the running G's, or, in step mode, the P
 * that is filing a parking G (gort_sleep arms its timer in the park's
 * unlock, which runs after the G left S.curp: Go's resetForSleep adds it
 * to the sleeping G's P); P 0 outside any. */
static gort_p *current_p(void)
{
	gort_p *p = S.threaded ? gort_mt_curp() : S.curp ? S.curp : S.timerp;
	return p ? p : &S.p[0];
}

int gort_timer_add(gort_timer *t, int64_t when)
{
	gort_p *p = current_p();
	gort_timers *ts = &p->timers;
	t->when = when;
	gort_lock(&ts->lock);
	if (heap_reserve(ts) != 0) {
		gort_unlock(&ts->lock);
		errno = ENOMEM;
		return -1;
	}
	heap_push(ts, t, p->id);
	gort_unlock(&ts->lock);
	if (S.threaded)
		gort_mt_timer_added(when);
	return 0;
}

bool gort_timer_del(gort_timer *t)
{
	for (;;) {
		int32_t pp = __atomic_load_n(&t->pp, __ATOMIC_ACQUIRE);
		if (pp < 0)
			return false;
		gort_timers *ts = &S.p[pp].timers;
		gort_lock(&ts->lock);
		if (t->pp == pp) {
			heap_remove(ts, t->idx);
			gort_unlock(&ts->lock);
			if (S.threaded)
				gort_mt_timer_deleted(t->when);
			return true;
		}
		gort_unlock(&ts->lock); /* moved to another P meanwhile: follow it */
	}
}

int gort_timers_run(gort_p *p, int64_t now)
{
	gort_timers *ts = &p->timers;
	int64_t w = __atomic_load_n(&ts->timer0_when, __ATOMIC_ACQUIRE);
	if (w == 0 || w > now)
		return 0;
	int ran = 0;
	gort_lock(&ts->lock);
	while (ts->n > 0 && ts->heap[0]->when <= now) {
		gort_timer *t = ts->heap[0];
		heap_remove(ts, 0);
		void (*f)(void *) = t->f;
		void *arg = t->arg; /* t may be gone once f has run */
		gort_unlock(&ts->lock);
		f(arg);
		ran++;
		gort_lock(&ts->lock);
	}
	gort_unlock(&ts->lock);
	return ran;
}

int gort_timers_run_all(int64_t now)
{
	int ran = 0;
	for (uint32_t i = 0; i < S.nprocs; i++)
		ran += gort_timers_run(&S.p[i], now);
	return ran;
}

int64_t gort_timers_next(void)
{
	int64_t next = 0;
	for (uint32_t i = 0; i < S.nprocs; i++) {
		int64_t w = __atomic_load_n(&S.p[i].timers.timer0_when, __ATOMIC_ACQUIRE);
		if (w && (!next || w < next))
			next = w;
	}
	return next;
}

uint64_t gort_timers_count(void)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < S.nprocs; i++) {
		gort_lock(&S.p[i].timers.lock);
		n += S.p[i].timers.n;
		gort_unlock(&S.p[i].timers.lock);
	}
	return n;
}

void gort_timers_move(gort_p *to, gort_p *from)
{
	gort_lock(&from->timers.lock);
	gort_lock(&to->timers.lock);
	while (from->timers.n > 0) {
		gort_timer *t = from->timers.heap[from->timers.n - 1];
		heap_remove(&from->timers, from->timers.n - 1);
		if (heap_reserve(&to->timers) != 0)
			gort_fatal("out of memory moving timers");
		heap_push(&to->timers, t, to->id);
	}
	gort_unlock(&to->timers.lock);
	gort_unlock(&from->timers.lock);
}

void gort_timers_destroy(gort_timers *ts)
{
	if (ts->heap)
		gort_os_unmap(ts->heap, (size_t)ts->cap * sizeof *ts->heap);
	memset(ts, 0, sizeof *ts);
}

const char *gort_timers_check(const gort_timers *ts, int32_t pp)
{
	for (uint32_t i = 0; i < ts->n; i++) {
		const gort_timer *t = ts->heap[i];
		if (t->pp != pp || t->idx != i)
			return "a timer does not know its heap slot";
		if (i > 0 && ts->heap[(i - 1) / HEAP_ARITY]->when > t->when)
			return "a timer heap is out of order";
	}
	if (ts->timer0_when != (ts->n ? ts->heap[0]->when : 0))
		return "a timer heap's timer0_when is stale";
	return NULL;
}

/* ------------------------------------------------------------ sleep */

typedef struct sleeper {
	gort_parker pk;
	gort_timer t;
	int64_t when;
} sleeper;

static void sleep_fire(void *arg)
{
	gort_parker_wake(arg);
}

/* The park's unlock: the G is parked now, so the timer may fire. */
static void sleep_arm(void *arg)
{
	sleeper *s = arg;
	if (gort_timer_add(&s->t, s->when) != 0)
		gort_parker_wake(&s->pk); /* no room for the timer: wake at once */
}

static void nanosleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void gort_sleep(int64_t ns)
{
	if (ns <= 0)
		return;
	sleeper s;
	gort_parker_init(&s.pk);
	if (!s.pk.g) {
		nanosleep_ns(ns);
		return;
	}
	int64_t now = gort_clock();
	s.when = ns > INT64_MAX - now ? INT64_MAX : now + ns;
	s.t = (gort_timer){.f = sleep_fire, .arg = &s.pk, .pp = -1};
	gort_parker_wait(&s.pk, "sleep", sleep_arm, &s);
}
