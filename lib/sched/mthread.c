/*
 * mthread.c — threaded mode: Ms are OS threads (pthreads), each holding a P
 * while it runs Gs, as in Go.
 *
 * Ms start lazily: work that appears (gort_go, gort_ready) goes on a queue
 * and then wakep() runs — if a P is idle and no M spins, one M is woken
 * from the idle list or started (Go's wakep/startm). An M with a P loops:
 * findRunnable (proc.c: global tick, local, global; stealing only while
 * spinning, and at most half the busy Ps spin), runs the G on its own
 * context (g0) until it yields, parks, exits or blocks in a syscall, files
 * it, and goes on. With no work it puts its P on the idle list, stops
 * spinning, looks at every queue once more (the other half of the
 * enqueue-fence-check-spinning handshake with wakep), and parks on a futex
 * until startm hands it a P.
 *
 * Syscalls (Go's entersyscall/exitsyscall and sysmon's retake):
 * gort_syscall_enter marks the G SYSCALL and its P SYSCALL, and keeps the P
 * for a grace period: a short call then costs no M wake-up (Go's
 * entersyscall; entersyscallblock's hand-off at once is not offered). The
 * sysmon thread (started with the first M) looks every 20 us, and after 50
 * looks in a row with nothing to do doubles its sleep up to 10 ms: a P
 * still in the same syscall as at its previous look is retaken and handed
 * off (Go's handoffp: to an M if there is work, else to the idle list) —
 * unless there is no work anywhere and Ms spin or Ps are idle, for up to
 * 10 ms. gort_syscall_exit takes its P straight back if sysmon has not
 * retaken it, else its old P if idle, else any idle P, else the G goes to
 * the global queue and the M parks. With every P idle sysmon sleeps until
 * a P is acquired (Go's sysmonwait).
 *
 * A G that runs 10 ms without yielding (its P's runtick unchanged between
 * sysmon's looks): Go would preempt it; gort cannot stop C code, so sysmon
 * moves the Gs queued behind it on its P to the global queue and wakes an
 * idle P for them, and schedtrace names it.
 *
 * gort_run: the caller sleeps on a futex until every M is idle and every
 * queue empty; Gs still parked then are Go's "all goroutines are asleep -
 * deadlock!" (reported through gort_report).
 *
 * Locks: S.lock (Go's sched.lock) over the idle P and M lists, allm and the
 * run waiter; the global queue's lock may be taken under it, never the
 * other way round. A P belongs to the M holding it; ownership passes
 * through S.lock (idle list) only.
 *
 * Per-M state (the running G, the held P, g0) is reached through a
 * thread-local pointer read by a function the compiler cannot inline or
 * cache: a G may resume on another thread after any switch.
 */
#define _GNU_SOURCE
#include "sched/sched.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "os/futex.h"
#include "sched/fault.h"
#include "sched/netpoll.h"
#include "sched/wait.h"

#define S (gort_sched)

struct gort_m {
	int32_t id;
	gort_ctx g0;       /* the thread's own context */
	gort_g *curg;      /* the G running on it, NULL on g0 */
	gort_p *p;         /* the P held */
	gort_p *oldp;      /* the P held before a syscall */
	gort_p *nextp;     /* handed over by startm */
	int outcome;       /* how curg gave control back */
	void (*unlockf)(void *); /* gort_park_unlock's, run on g0 once curg is parked */
	void *unlockarg;
	bool spinning;     /* counted in S.nmspinning */
	uint32_t park;     /* futex word: 1 = woken */
	uint64_t rng;      /* steal order */
	cache_t *own;      /* the thread's own cache, while it holds a P's */
	pthread_t thread;
	gort_m *schedlink; /* idle list */
	gort_m *alllink;
};

static __thread gort_m *tls_m;

/* The calling thread's M, NULL outside Ms. Never inlined and never
 * cached: a G calling it may have moved to another thread since. */
__attribute__((noinline)) static gort_m *getm(void)
{
	__asm__ volatile("" ::: "memory");
	return *(gort_m *volatile *)&tls_m;
}

#define ATOMIC_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define ATOMIC_SUB(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

void gort_fatal(const char *what)
{
	fprintf(stderr, "gort: fatal: %s\n", what);
	abort();
}

/* ------------------------------------------------------------ idle Ps */

/* S.lock held. */
static void pidleput(gort_p *p)
{
	st(&p->status, GORT_P_IDLE);
	p->link = S.pidle;
	S.pidle = p;
	ATOMIC_ADD(&S.npidle, 1);
}

/* S.lock held. want if it is idle, else any idle P, else NULL. */
static gort_p *pidleget(gort_p *want)
{
	gort_p **pp = &S.pidle;
	if (want) {
		while (*pp && *pp != want)
			pp = &(*pp)->link;
		if (!*pp)
			pp = &S.pidle;
	}
	gort_p *p = *pp;
	if (p) {
		*pp = p->link;
		p->link = NULL;
		ATOMIC_SUB(&S.npidle, 1);
	}
	return p;
}

static void sysmon_wakeup(void);

static void acquirep(gort_m *m, gort_p *p)
{
	m->p = p;
	/* A new tick: sysmon must not count the time the P was idle as a
	 * G running without yielding. */
	st(&p->runtick, p->runtick + 1);
	st(&p->rungoid, 0);
	st(&p->status, GORT_P_RUNNING);
	m->own = gort_cache_swap(p->mcache); /* the M allocates through its P's cache */
	sysmon_wakeup(); /* after npidle went down: pairs with sysmon_sleep */
}

static void releasep(gort_m *m)
{
	gort_cache_swap(m->own);
	m->p = NULL;
}

/* Any queue holds a G: read without locks, after a full fence. */
static bool work_anywhere(void)
{
	if (gort_globrunq_size_hint(&S.glob) != 0)
		return true;
	for (uint32_t i = 0; i < S.nprocs; i++)
		if (!gort_runq_empty(&S.p[i].runq))
			return true;
	return false;
}

/* ------------------------------------------------------------ Ms */

static void *mstart(void *arg);
static void sysmon_ensure(void);

/* Wakes an idle M, or starts one, to run p (an idle P if NULL); spinning
 * says whether the caller counted it in nmspinning already. */
static void startm(gort_p *p, bool spinning)
{
	gort_lock(&S.lock);
	if (ld(&S.stopping)) {
		if (p)
			pidleput(p);
		gort_unlock(&S.lock);
		if (spinning)
			ATOMIC_SUB(&S.nmspinning, 1);
		return;
	}
	if (!p && !(p = pidleget(NULL))) {
		gort_unlock(&S.lock);
		if (spinning)
			ATOMIC_SUB(&S.nmspinning, 1);
		return;
	}
	gort_m *m = S.midle;
	if (m) {
		S.midle = m->schedlink;
		S.nmidle--;
		gort_unlock(&S.lock);
		m->spinning = spinning;
		m->nextp = p;
		ST_REL(&m->park, 1);
		gort_futex_wake(&m->park, 1);
		return;
	}
	m = gort_os_map(sizeof *m);
	if (!m)
		gort_fatal("out of memory for an M");
	m->id = (int32_t)S.mcount++;
	m->alllink = S.allm;
	S.allm = m;
	m->rng = S.rng ^ ((uint64_t)m->id + 1) * 0x9e3779b97f4a7c15ull;
	m->spinning = spinning;
	m->nextp = p;
	gort_unlock(&S.lock);
	if (pthread_create(&m->thread, NULL, mstart, m) != 0)
		gort_fatal("cannot start an M (pthread_create)");
	sysmon_ensure(); /* it watches syscalls and Gs that never yield */
}

/* Go's wakep, for work published by a seq_cst read-modify-write (a G put
 * in runnext): that write orders the seq_cst load of npidle after it as a
 * fence would, so an M that has just gone idle either sees the G or is
 * seen here. One fence less on every ready. */
static void wakep_published(void)
{
	if (__atomic_load_n(&S.npidle, __ATOMIC_SEQ_CST) == 0)
		return;
	uint32_t zero = 0;
	if (ld(&S.nmspinning) != 0 ||
	    !__atomic_compare_exchange_n(&S.nmspinning, &zero, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return;
	startm(NULL, true);
}

/* Go's wakep: enqueue, fence, then this. */
static void wakep(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wakep_published();
}

/* S.lock held: every M is parked and no queue holds a G. */
static bool quiescent_locked(void)
{
	return S.nmidle == S.mcount && !work_anywhere();
}

/* Parks m until startm gives it a P (m->p set on return) or shutdown
 * (m->p NULL). */
static void stopm(gort_m *m)
{
	gort_lock(&S.lock);
	if (ld(&S.stopping)) {
		gort_unlock(&S.lock);
		return;
	}
	st(&m->park, 0);
	m->schedlink = S.midle;
	S.midle = m;
	S.nmidle++;
	if (S.runwaiting && quiescent_locked()) {
		ST_REL(&S.runwait, 1);
		gort_futex_wake(&S.runwait, 1);
	}
	gort_unlock(&S.lock);
	while (LD_ACQ(&m->park) == 0)
		gort_futex_wait(&m->park, 0);
	if (m->nextp) {
		acquirep(m, m->nextp);
		m->nextp = NULL;
	}
}

/* m stops spinning, if it was. */
static void stop_spinning(gort_m *m)
{
	if (m->spinning) {
		m->spinning = false;
		ATOMIC_SUB(&S.nmspinning, 1);
	}
}

static void resetspinning(gort_m *m)
{
	stop_spinning(m);
	wakep(); /* the last spinner found work: let another look for more */
}

/* What the idle sleeper waits for: the next timer (INT64_MAX: none, but
 * Gs wait on fds), or 0 if there is nothing to wait for. */
static int64_t sleep_target(void)
{
	int64_t next = gort_timers_next();
	if (next == 0 && gort_netpoll_waiters() > 0)
		next = INT64_MAX;
	return next;
}

/* One sleep until target: in epoll_wait when the netpoller is on (its
 * events wake Gs, which go to the global queue: we hold no P), else on the
 * futex. true if a G was woken by an fd. */
static bool sleep_once(int64_t target, int64_t now)
{
	int64_t ns = target == INT64_MAX ? -1 : target - now;
	if (gort_netpoll_active())
		return gort_netpoll(ns) > 0;
	gort_futex_wait_ns(&S.twake, 0, (uint64_t)ns);
	return false;
}

/* The sleeper's loop: until a timer is due or an fd woke a G (true), or
 * there is nothing left to wait for, or shutdown (false). */
static bool sleep_until_work(void)
{
	while (!LD_ACQ(&S.stopping)) {
		int64_t target = sleep_target(), now = gort_clock();
		if (target == 0)
			return false;
		if (target <= now)
			return true;
		__atomic_store_n(&S.tsleep_until, target, __ATOMIC_RELEASE);
		ST_REL(&S.twake, 0);
		/* A timer added earlier than tsleep_until after this store
		 * breaks the sleep; one added before it is in target already. */
		if (sleep_target() != target)
			continue;
		if (sleep_once(target, now))
			return true;
	}
	return false;
}

/* An M with no P and no work while timers are pending or Gs wait on fds:
 * if no other M does, it sleeps until the earliest timer or an fd event
 * (Go's M blocked in netpoll until pollUntil), then looks for a P. true if
 * it woke for work (a timer due, a G readied); false if there is nothing to
 * wait for or another M sleeps for it. While it sleeps this M is not idle,
 * so gort_run sees no deadlock. */
static bool idle_sleep(void)
{
	for (;;) {
		if (sleep_target() == 0)
			return false;
		uint32_t zero = 0;
		if (!__atomic_compare_exchange_n(&S.tsleeping, &zero, 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_RELAXED))
			return false; /* the sleeper will see what we saw */
		bool work = sleep_until_work();
		__atomic_store_n(&S.tsleep_until, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&S.tsleeping, 0, __ATOMIC_SEQ_CST);
		if (work || LD_ACQ(&S.stopping))
			return work && !LD_ACQ(&S.stopping);
		/* We left because there was nothing to wait for. An M that
		 * failed its CAS meanwhile left its timer or fd to us: the
		 * fence pairs with the one before that CAS, so we see it. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

void gort_mt_poller_break(void)
{
	ST_REL(&S.twake, 1);
	gort_futex_wake(&S.twake, 1);
	gort_netpoll_break();
}

void gort_mt_timer_deleted(int64_t when)
{
	if (__atomic_load_n(&S.tsleeping, __ATOMIC_SEQ_CST) &&
	    when <= __atomic_load_n(&S.tsleep_until, __ATOMIC_ACQUIRE))
		gort_mt_poller_break();
}

void gort_mt_timer_added(int64_t when)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the timer is in its heap: then look */
	if (!__atomic_load_n(&S.tsleeping, __ATOMIC_SEQ_CST)) {
		wakep(); /* nobody sleeps for timers: make sure an M looks */
		return;
	}
	int64_t until = __atomic_load_n(&S.tsleep_until, __ATOMIC_ACQUIRE);
	if (until == 0 || when < until)
		gort_mt_poller_break();
}

/* Go's findRunnable for an M: blocks until there is a G to run (returned,
 * with m->p its P) or the runtime stops (NULL, m->p NULL). */
static gort_g *findrunnable(gort_m *m, sched_step_info *info)
{
	for (;;) {
		if (!m->p) {
			stopm(m);
			if (!m->p)
				return NULL;
			continue;
		}
		gort_p *p = m->p;
		if (LD_ACQ(&S.stopping)) {
			gort_lock(&S.lock);
			releasep(m);
			pidleput(p);
			gort_unlock(&S.lock);
			stop_spinning(m);
			return NULL;
		}
		*info = (sched_step_info){.p = p->id, .from = -1};
		if (ld(&p->timers.timer0_when) != 0)
			gort_timers_run(p, gort_clock()); /* Go's checkTimers */
		if (gort_netpoll_waiters() && gort_netpoll_starving(gort_clock()))
			gort_netpoll(0); /* busy Ms must not starve the fds */
		gort_g *g = gort_find_local(p, info);
		if (g)
			return g;
		/* Steal only while spinning, and at most half the busy Ps spin. */
		if (m->spinning || 2 * ld(&S.nmspinning) < S.nprocs - ld(&S.npidle)) {
			if (!m->spinning) {
				m->spinning = true;
				ATOMIC_ADD(&S.nmspinning, 1);
			}
			g = gort_steal_work(p, info, &m->rng, true);
			if (g)
				return g;
		}
		/* Other Ps' due timers (Go looks at them while stealing): the
		 * Gs they ready come to our runnext. */
		int64_t next = gort_timers_next();
		if (next != 0 && next <= gort_clock() && gort_timers_run_all(gort_clock()) > 0)
			continue;
		if (gort_netpoll_waiters() && gort_netpoll(0) > 0)
			continue; /* Gs ready on fds came to our runnext */
		/* Nothing: give the P back, after a last look at the global
		 * queue under the lock (exitsyscall files Gs there under it). */
		gort_lock(&S.lock);
		if (ld(&S.stopping)) {
			gort_unlock(&S.lock);
			continue;
		}
		if (gort_globrunq_size_hint(&S.glob) != 0) {
			gort_lock(&S.glob.lock);
			g = gort_globrunq_get(&S.glob, &p->runq, 0, S.nprocs);
			gort_unlock(&S.glob.lock);
			if (g) {
				gort_unlock(&S.lock);
				info->source = SRC_GLOBAL;
				return g;
			}
		}
		releasep(m);
		pidleput(p);
		gort_unlock(&S.lock);
		stop_spinning(m);
		/* wakep saw nmspinning != 0 and left the work to us, or it will
		 * see 0 now: look once more after the fence. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* a waiter or timer we saw is published */
		if (work_anywhere() || idle_sleep()) {
			gort_lock(&S.lock);
			gort_p *np = pidleget(NULL);
			gort_unlock(&S.lock);
			if (np) {
				acquirep(m, np);
				m->spinning = true;
				ATOMIC_ADD(&S.nmspinning, 1);
				continue;
			}
		}
		stopm(m);
		if (!m->p)
			return NULL;
	}
}

/* The RUN event of a G that ran from t_start until now (if recording). */
static void note_run(const gort_m *m, const sched_step_info *info, int64_t goid,
		     uint32_t schedtick, uint64_t t_start)
{
	gort_event e = {
		.kind = GORT_EV_RUN,
		.p = info->p,
		.m = m->id,
		.from = info->from,
		.goid = goid,
		.source = (uint32_t)info->source,
		.outcome = (uint32_t)m->outcome,
		.schedtick = schedtick,
		.t_start = t_start,
		.t_end = gort_evlog_now(),
	};
	gort_evlog_add(&e);
}

/* GO and READY events, if recording: g queued on p (NULL: global). */
static void note_event(uint32_t kind, int64_t goid, const gort_p *p)
{
	if (!gort_evlog_enabled())
		return;
	gort_m *m = getm();
	gort_event e = {
		.kind = kind,
		.p = p ? p->id : -1,
		.m = m ? m->id : -1,
		.from = -1,
		.goid = goid,
		.by = m && m->curg ? m->curg->goid : 0,
		.t_start = gort_evlog_now(),
	};
	e.t_end = e.t_start;
	gort_evlog_add(&e);
}

/* Runs g on m's P until it gives control back, and files it. */
static void execute(gort_m *m, gort_g *g, const sched_step_info *info)
{
	gort_p *p = m->p;
	if (info->source != SRC_RUNNEXT)
		st(&p->schedtick, p->schedtick + 1);
	st(&p->runtick, p->runtick + 1);
	st(&p->rungoid, g->goid);
	bool record = gort_evlog_enabled();
	uint64_t t_start = record ? gort_evlog_now() : 0;
	uint32_t schedtick = p->schedtick;
	st(&g->status, GORT_G_RUNNING);
	g->p = p->id;
	g->nswitch++;
	m->curg = g;
	gort_ctx_switch(&m->g0, &g->ctx);
	/* Back on g0: the G's registers are saved; others may take it now.
	 * It is curg, not g if g parked straight into another G. */
	g = m->curg;
	m->curg = NULL;
	int64_t goid = g->goid; /* g may be reused once filed */
	if (record)
		note_run(m, info, goid, schedtick, t_start);
	p = m->p;
	switch (m->outcome) {
	case OUT_YIELDED:
		ST_REL(&g->status, GORT_G_RUNNABLE);
		gort_runq_put(&p->runq, g, false, &S.glob);
		break;
	case OUT_PARKED:
		ST_REL(&g->status, GORT_G_WAITING);
		if (m->unlockf) {
			/* From here a waker may ready g: it is parked. */
			void (*unlock)(void *) = m->unlockf;
			m->unlockf = NULL;
			unlock(m->unlockarg);
		}
		break;
	case OUT_SYSCALL_NOP:
		/* Left a syscall and found no P: a P if one came free since,
		 * else the global queue (under S.lock, so an M giving up its P
		 * sees it), and this M parks. */
		gort_lock(&S.lock);
		p = pidleget(NULL);
		if (!p) {
			ST_REL(&g->status, GORT_G_RUNNABLE);
			gort_lock(&S.glob.lock);
			gort_globrunq_put(&S.glob, g);
			gort_unlock(&S.glob.lock);
		}
		gort_unlock(&S.lock);
		if (p) {
			acquirep(m, p);
			ST_REL(&g->status, GORT_G_RUNNABLE);
			gort_runq_put(&p->runq, g, true, &S.glob);
		}
		break;
	default:
		gort_ctx_destroy(&g->ctx);
		gort_g_put_dead(p, g);
		break;
	}
}

static void *mstart(void *arg)
{
	gort_m *m = arg;
	tls_m = m;
	gort_ctx_for_thread(&m->g0);
	gort_fault_thread_start(&m->curg); /* an overflow of its Gs is named */
	acquirep(m, m->nextp);
	m->nextp = NULL;
	for (;;) {
		sched_step_info info;
		gort_g *g = findrunnable(m, &info);
		if (!g)
			break;
		if (m->spinning)
			resetspinning(m);
		execute(m, g, &info);
	}
	gort_fault_thread_stop();
	tls_m = NULL;
	return NULL;
}

/* ------------------------------------------------------------ the Gs' side */

void gort_mt_file_handed(gort_g *self)
{
	gort_g *g = self->handed;
	self->handed = NULL;
	gort_m *m = getm(); /* the M that switched: its unlock is g's */
	ST_REL(&g->status, GORT_G_WAITING);
	if (m->unlockf) {
		/* From here a waker may ready g: it is parked. */
		void (*unlock)(void *) = m->unlockf;
		m->unlockf = NULL;
		unlock(m->unlockarg);
	}
}

/* Would g0, given m's P now, run the G in its runnext next? Only when
 * nothing it does first can choose otherwise: no stop, no timer on the P
 * (checkTimers readies Gs), not the schedtick that looks at the global
 * queue first, and no event log (g0 records each run). */
static bool runnext_is_next(gort_m *m)
{
	gort_p *p = m->p;
	if (gort_evlog_enabled() || LD_ACQ(&S.stopping) || ld(&p->timers.timer0_when) != 0)
		return false;
	return p->schedtick % SCHED_GLOBAL_TICK != 0 || gort_globrunq_size_hint(&S.glob) == 0;
}

/* g parks and the G in its P's runnext is what g0 would run next (a
 * receiver woken by g's send, say): switch to it directly, as g0 would
 * after filing g, and leave the filing — WAITING, then the unlock — to
 * it, once g is off its stack. Half the switches of a ping-pong. false
 * if the way through g0 is needed. */
static bool park_direct(gort_m *m, gort_g *g)
{
	if (ld(&g->status) == GORT_G_SYSCALL || !runnext_is_next(m))
		return false; /* in a syscall: enter_g0 takes a P back first */
	gort_p *p = m->p;
	gort_g *next = gort_runq_take_next(&p->runq);
	if (!next)
		return false;
	st(&next->status, GORT_G_RUNNING); /* execute's, without schedtick: it inherits */
	st(&p->runtick, p->runtick + 1);   /* but a new run: sysmon must not see a long one */
	next->p = p->id;
	next->nswitch++;
	next->handed = g;
	m->curg = next;
	gort_ctx_switch(&g->ctx, &next->ctx);
	gort_mt_after_switch(g); /* resumed, perhaps on another M */
	return true;
}

/* gort_mt_enter_g0's body, inlined where a G gives up the CPU most often
 * (yield), as it was before it grew the filing of handed Gs. */
static inline __attribute__((always_inline)) void enter_g0(int outcome)
{
	gort_m *m = getm();
	gort_g *g = m->curg;
	if (outcome != OUT_SYSCALL_NOP && ld(&g->status) == GORT_G_SYSCALL) {
		/* Left a syscall without saying so: take a P back first. */
		gort_syscall_exit();
		m = getm();
	}
	m->outcome = outcome;
	if (outcome == OUT_EXITED)
		gort_ctx_exit(&g->ctx, &m->g0);
	gort_ctx_switch(&g->ctx, &m->g0);
	/* Resumed, perhaps on another M (m is stale here), by g0 or by a G
	 * that parked straight into this one. */
	gort_mt_after_switch(g);
}

void gort_mt_enter_g0(int outcome)
{
	enter_g0(outcome);
}

int64_t gort_mt_go(gort_fn fn, void *arg)
{
	gort_m *m = getm();
	gort_p *p = m && m->curg ? m->p : NULL;
	gort_g *g = gort_g_new(p, fn, arg);
	if (!g)
		return -1;
	int64_t goid = g->goid; /* g may run, exit and be reused once queued */
	note_event(GORT_EV_GO, goid, p); /* before: it may run at once */
	if (p) {
		gort_runq_put(&p->runq, g, true, &S.glob);
		if (!p->runq.solo)
			wakep_published(); /* runnext's exchange was the fence */
		return goid;
	}
	gort_lock(&S.glob.lock);
	gort_globrunq_put(&S.glob, g);
	gort_unlock(&S.glob.lock);
	wakep();
	return goid;
}

void gort_mt_yield(void)
{
	gort_m *m = getm();
	if (m && m->curg)
		enter_g0(OUT_YIELDED);
}

void gort_mt_park(const char *reason)
{
	gort_mt_park_unlock(reason, NULL, NULL);
}

void gort_mt_park_unlock(const char *reason, void (*unlock)(void *), void *arg)
{
	gort_m *m = getm();
	if (!m || !m->curg) {
		if (unlock)
			unlock(arg);
		return;
	}
	m->curg->waitreason = reason && *reason ? reason : "park";
	m->unlockf = unlock;
	m->unlockarg = arg;
	if (!park_direct(m, m->curg))
		gort_mt_enter_g0(OUT_PARKED);
}

bool gort_sched_can_spin(int iter, int max)
{
	if (!S.threaded || iter >= max)
		return false;
	if (S.ncpu <= 1 || S.nprocs <= ld(&S.npidle) + ld(&S.nmspinning) + 1)
		return false;
	gort_m *m = getm();
	return m && m->p && gort_runq_empty(&m->p->runq);
}

gort_g *gort_mt_curg(void)
{
	gort_m *m = getm();
	return m ? m->curg : NULL;
}

gort_p *gort_mt_curp(void)
{
	gort_m *m = getm();
	return m ? m->p : NULL;
}

uint64_t gort_mt_rand(void)
{
	static __thread uint64_t outside; /* threads that are not Ms */
	gort_m *m = getm();
	if (m)
		return gort_rand_step(&m->rng);
	if (!outside)
		outside = gort_os_nanotime() | 1;
	return gort_rand_step(&outside);
}

/* g, claimed (status RUNNABLE), queued where Go's ready puts it: the
 * runnext of the caller's P (an M's G, or its g0 running timers), else the
 * global queue; then an idle P is woken for it. */
static void ready_claimed(gort_g *g)
{
	int64_t goid = g->goid;
	g->waitreason = "";
	st(&g->waiton, NULL);
	gort_m *m = getm();
	gort_p *p = m ? m->p : NULL;
	note_event(GORT_EV_READY, goid, p);
	gort_ready_put(p, g);
	if (!p)
		wakep();
	else if (!p->runq.solo) /* solo: we hold the only P, none is idle */
		wakep_published(); /* runnext's exchange was the fence */
}

int gort_mt_ready(int64_t goid)
{
	gort_g *g = NULL;
	/* Found and claimed under gflock, so the goid cannot change under us
	 * (a dead G reused gets its new goid under the same lock). Claimed
	 * first, then asked whether a primitive parked it: its waitsync is
	 * the current park's only once we hold the claim. Such a G is the
	 * primitive's to wake, and goes back to WAITING. */
	gort_lock(&S.gflock);
	gort_g *found = gort_g_by_id_locked(goid);
	uint32_t waiting = GORT_G_WAITING;
	if (found && __atomic_compare_exchange_n(&found->status, &waiting, GORT_G_CLAIMED, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (LD_ACQ(&found->waitsync))
			ST_REL(&found->status, GORT_G_WAITING);
		else
			g = found;
	}
	gort_unlock(&S.gflock);
	if (!g)
		return -1;
	ST_REL(&g->status, GORT_G_RUNNABLE);
	ready_claimed(g);
	return 0;
}

void gort_mt_ready_g(gort_g *g)
{
	for (;;) {
		uint32_t waiting = GORT_G_WAITING;
		if (__atomic_compare_exchange_n(&g->status, &waiting, GORT_G_RUNNABLE, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
		if (waiting != GORT_G_CLAIMED) /* a gort_ready by goid looks at it: wait */
			gort_fatal("ready of a G that is not parked");
		sched_yield();
	}
	ready_claimed(g);
}

int64_t gort_mt_self(void)
{
	gort_m *m = getm();
	return m && m->curg ? m->curg->goid : 0;
}

/* Go's handoffp: p is no one's; give it to an M if there is work, else
 * to the idle list. */
static void handoffp(gort_p *p)
{
	if (!gort_runq_empty(&p->runq)) {
		startm(p, false);
		return;
	}
	gort_lock(&S.lock);
	if (gort_globrunq_size_hint(&S.glob) != 0) {
		gort_unlock(&S.lock);
		startm(p, false);
		return;
	}
	pidleput(p);
	gort_unlock(&S.lock);
	/* Work that came while we looked: wakep finds the idle P. */
	if (work_anywhere())
		wakep();
}

#define SYSMON_MIN_NS 20000ull
#define SYSMON_MAX_NS 10000000ull
#define SYSMON_FORCE_NS 10000000ull
/* S.sysmon_wake: sysmon runs, is told to stop, or sleeps with every P idle. */
enum { SYSMON_AWAKE = 0, SYSMON_STOP = 1, SYSMON_ASLEEP = 2 };

/* Hands off p if it has stayed in one syscall since the last look. */
static int retake_syscall(gort_p *p, uint64_t now)
{
	uint32_t t = ld(&p->syscalltick);
	if (p->sysmon_tick != t) {
		p->sysmon_tick = t;
		p->sysmon_when = now;
		return 0;
	}
	/* Nothing for it to do and others free to take new work: let the
	 * syscall keep it a while. */
	if (gort_runq_empty(&p->runq) && gort_globrunq_size_hint(&S.glob) == 0 &&
	    ld(&S.nmspinning) + ld(&S.npidle) > 0 && now - p->sysmon_when < SYSMON_FORCE_NS)
		return 0;
	uint32_t sys = GORT_P_SYSCALL;
	if (!__atomic_compare_exchange_n(&p->status, &sys, GORT_P_IDLE, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return 0;
	handoffp(p);
	return 1;
}

/* Moves every G queued on p (ring, then runnext) to the global queue, as a
 * thief would, and wakes an idle P for them. Returns how many. The owner
 * may queue more meanwhile: a bounded number of grabs. */
static uint32_t runq_to_global(gort_p *p)
{
	gort_g *buf[GORT_RUNQ_HALF];
	uint32_t total = 0;
	for (int round = 0; round < 32; round++) {
		uint32_t n = gort_runq_grab(&p->runq, buf, true, NULL, NULL);
		if (n == 0)
			break;
		for (uint32_t i = 0; i + 1 < n; i++)
			buf[i]->schedlink = buf[i + 1];
		gort_lock(&S.glob.lock);
		gort_globrunq_put_batch(&S.glob, buf[0], buf[n - 1], n);
		gort_unlock(&S.glob.lock);
		total += n;
	}
	if (total)
		wakep();
	return total;
}

/* Go's retake of a P whose G has run 10 ms without yielding, without the
 * preemption: the Gs waiting behind it move to where another P runs them. */
static int retake_running(gort_p *p, uint64_t now)
{
	/* The only P: no other could run them, and its solo queue has no
	 * thieves (its owner moves runnext without read-modify-writes). */
	if (p->runq.solo)
		return 0;
	uint32_t t = ld(&p->runtick);
	if (ld(&p->sysmon_runtick) != t) {
		st(&p->sysmon_runwhen, now);
		ST_REL(&p->sysmon_runtick, t); /* a reader of this tick sees its time */
		return 0;
	}
	if (now - ld(&p->sysmon_runwhen) < SYSMON_FORCE_NS || gort_runq_empty(&p->runq))
		return 0;
	return runq_to_global(p) > 0;
}

/* One look at every P; returns how many it acted on. */
static int retake(uint64_t now)
{
	int n = 0;
	for (uint32_t i = 0; i < S.nprocs; i++) {
		gort_p *p = &S.p[i];
		uint32_t status = LD_ACQ(&p->status);
		if (status == GORT_P_SYSCALL)
			n += retake_syscall(p, now);
		else if (status == GORT_P_RUNNING)
			n += retake_running(p, now);
	}
	return n;
}

uint64_t gort_sysmon_next_delay(uint64_t delay, uint32_t idle)
{
	/* Go's rhythm: 20 us while busy; after 50 idle looks, doubling. */
	if (idle == 0)
		return SYSMON_MIN_NS;
	if (idle > 50 && delay < SYSMON_MAX_NS)
		return delay * 2 > SYSMON_MAX_NS ? SYSMON_MAX_NS : delay * 2;
	return delay;
}

/* With every P idle there is nothing to watch: sleep until acquirep wakes
 * us (Go's sysmonwait). true if it slept. */
static bool sysmon_sleep(void)
{
	if (ld(&S.npidle) != S.nprocs)
		return false;
	uint32_t awake = SYSMON_AWAKE;
	if (!__atomic_compare_exchange_n(&S.sysmon_wake, &awake, SYSMON_ASLEEP, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return false;
	/* acquirep takes a P (npidle down), then looks at sysmon_wake: one of
	 * us sees the other's write. */
	if (__atomic_load_n(&S.npidle, __ATOMIC_SEQ_CST) != S.nprocs) {
		uint32_t asleep = SYSMON_ASLEEP;
		__atomic_compare_exchange_n(&S.sysmon_wake, &asleep, SYSMON_AWAKE, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return false;
	}
	while (__atomic_load_n(&S.sysmon_wake, __ATOMIC_SEQ_CST) == SYSMON_ASLEEP)
		gort_futex_wait(&S.sysmon_wake, SYSMON_ASLEEP);
	return true;
}

static void sysmon_wakeup(void)
{
	uint32_t asleep = SYSMON_ASLEEP;
	if (__atomic_load_n(&S.sysmon_wake, __ATOMIC_SEQ_CST) == SYSMON_ASLEEP &&
	    __atomic_compare_exchange_n(&S.sysmon_wake, &asleep, SYSMON_AWAKE, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		gort_futex_wake(&S.sysmon_wake, 1);
}

static void *sysmon(void *arg)
{
	(void)arg;
	uint64_t delay = SYSMON_MIN_NS;
	uint32_t idle = 0;
	while (LD_ACQ(&S.sysmon_wake) != SYSMON_STOP) {
		gort_futex_wait_ns(&S.sysmon_wake, SYSMON_AWAKE, delay);
		if (LD_ACQ(&S.sysmon_wake) == SYSMON_STOP)
			break;
		if (retake(gort_os_nanotime()) > 0)
			idle = 0;
		else
			idle++;
		delay = gort_sysmon_next_delay(delay, idle);
		if (delay == SYSMON_MAX_NS && sysmon_sleep()) {
			delay = SYSMON_MIN_NS;
			idle = 0;
		}
	}
	return NULL;
}

static void sysmon_ensure(void)
{
	if (LD_ACQ(&S.sysmon_started))
		return;
	gort_lock(&S.lock);
	if (!S.sysmon_started && !ld(&S.stopping)) {
		if (pthread_create(&S.sysmon, NULL, sysmon, NULL) != 0)
			gort_fatal("cannot start sysmon (pthread_create)");
		ST_REL(&S.sysmon_started, 1);
	}
	gort_unlock(&S.lock);
}

void gort_syscall_enter(void)
{
	if (!S.ready || !S.threaded)
		return;
	gort_m *m = getm();
	if (!m || !m->curg || !m->p)
		return;
	sysmon_ensure();
	gort_p *p = m->p;
	st(&m->curg->status, GORT_G_SYSCALL);
	m->oldp = p;
	releasep(m); /* the P's cache stays with the P */
	__atomic_add_fetch(&p->syscalltick, 1, __ATOMIC_RELAXED);
	ST_REL(&p->status, GORT_P_SYSCALL); /* from here sysmon may retake it */
}

void gort_syscall_exit(void)
{
	if (!S.ready || !S.threaded)
		return;
	gort_m *m = getm();
	if (!m || !m->curg || ld(&m->curg->status) != GORT_G_SYSCALL)
		return;
	gort_g *g = m->curg;
	gort_p *p = m->oldp;
	m->oldp = NULL;
	uint32_t sys = GORT_P_SYSCALL;
	if (!__atomic_compare_exchange_n(&p->status, &sys, GORT_P_RUNNING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		/* Retaken: its old P if idle, else any. */
		gort_lock(&S.lock);
		p = pidleget(p);
		gort_unlock(&S.lock);
	}
	if (p) {
		acquirep(m, p);
		g->p = p->id;
		st(&g->status, GORT_G_RUNNING);
		return;
	}
	gort_mt_enter_g0(OUT_SYSCALL_NOP); /* g0 files it */
}

/* ------------------------------------------------------------ the caller's side */

int gort_mt_run(void)
{
	if (getm()) {
		errno = EDEADLK; /* a G cannot wait for itself */
		return -1;
	}
	gort_lock(&S.lock);
	while (!quiescent_locked()) {
		S.runwaiting = 1;
		st(&S.runwait, 0);
		gort_unlock(&S.lock);
		while (LD_ACQ(&S.runwait) == 0)
			gort_futex_wait(&S.runwait, 0);
		gort_lock(&S.lock);
		S.runwakes++;
	}
	S.runwaiting = 0;
	gort_unlock(&S.lock);
	int parked = 0;
	gort_lock(&S.gflock);
	for (uint32_t i = 0; i < S.nallg; i++)
		parked += LD_ACQ(&S.allg[i]->status) == GORT_G_WAITING;
	gort_unlock(&S.gflock);
	if (parked > 0)
		gort_report_deadlock("run", 0);
	return parked;
}

int gort_mt_init(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	S.ncpu = ncpu > 0 ? (uint32_t)ncpu : 1;
	gort_lock_init(&S.lock);
	for (uint32_t i = S.nprocs; i-- > 0;)
		pidleput(&S.p[i]);
	S.p[0].runq.solo = S.nprocs == 1; /* threaded mode never changes the count */
	return 0;
}

/* Stops every M and joins it. Ms running Gs stop at their next scheduling
 * point: call it when gort_run has returned. */
void gort_mt_shutdown(void)
{
	gort_lock(&S.lock);
	ST_REL(&S.stopping, 1);
	gort_mt_poller_break();
	for (gort_m *m = S.midle; m; m = m->schedlink) {
		m->nextp = NULL;
		ST_REL(&m->park, 1);
		gort_futex_wake(&m->park, 1);
	}
	S.midle = NULL;
	S.nmidle = 0;
	gort_m *all = S.allm;
	S.allm = NULL;
	uint32_t sysmon_started = S.sysmon_started;
	gort_unlock(&S.lock);
	if (sysmon_started) {
		ST_REL(&S.sysmon_wake, SYSMON_STOP);
		gort_futex_wake(&S.sysmon_wake, 1);
		pthread_join(S.sysmon, NULL);
	}
	while (all) {
		gort_m *next = all->alllink;
		pthread_join(all->thread, NULL);
		gort_os_unmap(all, sizeof *all);
		all = next;
	}
}

/* ------------------------------------------------------------ inspection */

static uint32_t m_status(const gort_m *m)
{
	gort_g *g = __atomic_load_n(&m->curg, __ATOMIC_RELAXED);
	if (g)
		return ld(&g->status) == GORT_G_SYSCALL ? GORT_M_SYSCALL : GORT_M_RUNNING;
	return m->spinning ? GORT_M_SPINNING : GORT_M_IDLE;
}

/* Every M in start order (allm is newest first). Exact when no M runs. */
size_t gort_mt_inspect_ms(gort_m_info *out, size_t max)
{
	gort_lock(&S.lock);
	size_t n = 0;
	for (gort_m *m = S.allm; m; m = m->alllink)
		n++;
	size_t i = n;
	for (gort_m *m = S.allm; m; m = m->alllink) {
		if (--i >= max)
			continue;
		gort_g *g = __atomic_load_n(&m->curg, __ATOMIC_RELAXED);
		gort_p *p = m->p;
		out[i] = (gort_m_info){
			.id = m->id,
			.status = m_status(m),
			.p = p ? p->id : -1,
			.curg = g ? g->goid : 0,
		};
	}
	gort_unlock(&S.lock);
	return n;
}

void gort_mt_counts(uint32_t *threads, uint32_t *spinning, uint32_t *idle)
{
	gort_lock(&S.lock);
	*threads = S.mcount;
	*idle = S.nmidle;
	gort_unlock(&S.lock);
	*spinning = ld(&S.nmspinning);
}

int64_t gort_mt_long_runner(const gort_p *p, uint64_t *ran_ns)
{
	*ran_ns = 0;
	if (!S.threaded || LD_ACQ(&p->status) != GORT_P_RUNNING)
		return 0;
	int64_t goid = ld(&p->rungoid);
	uint32_t seen = LD_ACQ(&p->sysmon_runtick);
	uint64_t since = ld(&p->sysmon_runwhen), now = gort_os_nanotime();
	/* sysmon saw this very tick at since: nothing ran on p in between. */
	if (goid == 0 || seen != ld(&p->runtick) || since == 0 || now - since < SYSMON_FORCE_NS)
		return 0;
	*ran_ns = now - since;
	return goid;
}

uint32_t gort_mt_run_wakeups(void)
{
	gort_lock(&S.lock);
	uint32_t n = S.runwakes;
	gort_unlock(&S.lock);
	return n;
}
