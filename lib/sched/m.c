/*
 * m.c — the M of threaded mode: one OS thread, started lazily, that holds a
 * P while it runs Gs (Go's M). It owns the M's life and loop: startm (wake
 * an idle M or start one), wakep (Go's: an idle P and no spinning M get one),
 * findrunnable (local, global, then stealing only while spinning), execute
 * (run a G on the M's own context, g0, and file it by how it gave control
 * back), stopm (park on a futex until startm hands over a P), the spinning
 * count, the one M that sleeps for timers and fds, the idle M list, shutdown
 * and the Ms' snapshots.
 *
 * With no work an M puts its P on the idle list, stops spinning, looks at
 * every queue once more (the other half of the enqueue-fence-check-spinning
 * handshake with wakep), and parks until startm hands it a P.
 *
 * Invariants (see m.h): an M is on the idle list exactly while parked in
 * stopm with no P; nmspinning counts the Ms that spin; gort_run's waiter is
 * woken only when it waits and every M is idle with every queue empty; at
 * most one M is the timer sleeper, and it is not idle.
 *
 * Locks: sched.lock over the idle P and M lists, allm and the run waiter;
 * the global queue's lock may be taken under it, never the other way round.
 */
#define _GNU_SOURCE
#include "sched/m.h"

#include <pthread.h>
#include <stdint.h>

#include "os/futex.h"
#include "sched/fault.h"
#include "sched/netpoll.h"
#include "sched/p.h"

#define S (gort_sched)

static __thread gort_m *tls_m;

/* Never inlined (nor is the read cached): see m.h. */
__attribute__((noinline)) gort_m *gort_getm(void)
{
	__asm__ volatile("" ::: "memory");
	return *(gort_m *volatile *)&tls_m;
}

/* ------------------------------------------------------------ Ms */

static void *mstart(void *arg);

void gort_startm(gort_p *p, bool spinning)
{
	gort_lock(&S.lock);
	if (ld(&S.stopping)) {
		if (p)
			gort_pidleput(p);
		gort_unlock(&S.lock);
		if (spinning)
			ATOMIC_SUB(&S.nmspinning, 1);
		return;
	}
	if (!p && !(p = gort_pidleget(NULL))) {
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
	gort_sysmon_ensure(); /* it watches syscalls and Gs that never yield */
}

bool gort_quiescent_locked(void)
{
	return S.nmidle == S.mcount && !gort_work_anywhere();
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
	if (S.runwaiting && gort_quiescent_locked()) {
		ST_REL(&S.runwait, 1);
		gort_futex_wake(&S.runwait, 1);
	}
	gort_unlock(&S.lock);
	while (LD_ACQ(&m->park) == 0)
		gort_futex_wait(&m->park, 0);
	if (m->nextp) {
		gort_acquirep(m, m->nextp);
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
	gort_wakep(); /* the last spinner found work: let another look for more */
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
		gort_wakep(); /* nobody sleeps for timers: make sure an M looks */
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
			gort_releasep(m);
			gort_pidleput(p);
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
		gort_releasep(m);
		gort_pidleput(p);
		gort_unlock(&S.lock);
		stop_spinning(m);
		/* wakep saw nmspinning != 0 and left the work to us, or it will
		 * see 0 now: look once more after the fence. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* a waiter or timer we saw is published */
		if (gort_work_anywhere() || idle_sleep()) {
			gort_lock(&S.lock);
			gort_p *np = gort_pidleget(NULL);
			gort_unlock(&S.lock);
			if (np) {
				gort_acquirep(m, np);
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

void gort_m_note_event(uint32_t kind, int64_t goid, const gort_p *p)
{
	if (!gort_evlog_enabled())
		return;
	gort_m *m = gort_getm();
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
		p = gort_pidleget(NULL);
		if (!p) {
			ST_REL(&g->status, GORT_G_RUNNABLE);
			gort_lock(&S.glob.lock);
			gort_globrunq_put(&S.glob, g);
			gort_unlock(&S.glob.lock);
		}
		gort_unlock(&S.lock);
		if (p) {
			gort_acquirep(m, p);
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
	gort_acquirep(m, m->nextp);
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
	gort_unlock(&S.lock);
	gort_sysmon_stop();
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
