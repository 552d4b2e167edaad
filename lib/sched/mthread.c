/*
 * mthread.c — threaded mode seen from the Gs and from the caller: what a G
 * does to give up its M (yield, park, exit, enter and leave a syscall),
 * spawning and readying Gs, sysmon, and gort_run's wait. The M itself (its
 * loop, spinning, parking, the idle M list) is m.c's; the P (idle list,
 * acquire, release, hand-off) is p.c's.
 *
 * Work that appears (gort_go, gort_ready) goes on a queue and then wakep
 * runs (m.h): if a P is idle and no M spins, one M is woken from the idle
 * list or started. A G that parks while the G in its P's runnext is what g0
 * would run next switches straight to it (park_direct), and the G resumed
 * files the parked one.
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
 * Invariants: a G that parks is WAITING before its unlock runs (on g0, or
 * on the G it switched to); a G readied by goid is claimed (CLAIMED) before
 * anyone looks at why it waits, so it cannot race its own park; sysmon
 * takes a P only from SYSCALL, by one exchange its M's exit also tries.
 *
 * Per-M state (the running G, the held P, g0) is reached through
 * gort_getm(), a function the compiler cannot inline or cache: a G may
 * resume on another thread after any switch.
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
#include "sched/m.h"
#include "sched/p.h"
#include "sched/wait.h"

#define S (gort_sched)

void gort_fatal(const char *what)
{
	fprintf(stderr, "gort: fatal: %s\n", what);
	abort();
}

/* ------------------------------------------------------------ the Gs' side */

void gort_mt_file_handed(gort_g *self)
{
	gort_g *g = self->handed;
	self->handed = NULL;
	gort_m *m = gort_getm(); /* the M that switched: its unlock is g's */
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
	gort_m *m = gort_getm();
	gort_g *g = m->curg;
	if (outcome != OUT_SYSCALL_NOP && ld(&g->status) == GORT_G_SYSCALL) {
		/* Left a syscall without saying so: take a P back first. */
		gort_syscall_exit();
		m = gort_getm();
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
	gort_m *m = gort_getm();
	gort_p *p = m && m->curg ? m->p : NULL;
	gort_g *g = gort_g_new(p, fn, arg);
	if (!g)
		return -1;
	int64_t goid = g->goid; /* g may run, exit and be reused once queued */
	gort_m_note_event(GORT_EV_GO, goid, p); /* before: it may run at once */
	if (p) {
		gort_runq_put(&p->runq, g, true, &S.glob);
		if (!p->runq.solo)
			gort_wakep_published(); /* runnext's exchange was the fence */
		return goid;
	}
	gort_lock(&S.glob.lock);
	gort_globrunq_put(&S.glob, g);
	gort_unlock(&S.glob.lock);
	gort_wakep();
	return goid;
}

void gort_mt_yield(void)
{
	gort_m *m = gort_getm();
	if (m && m->curg)
		enter_g0(OUT_YIELDED);
}

void gort_mt_park(const char *reason)
{
	gort_mt_park_unlock(reason, NULL, NULL);
}

void gort_mt_park_unlock(const char *reason, void (*unlock)(void *), void *arg)
{
	gort_m *m = gort_getm();
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
	gort_m *m = gort_getm();
	return m && m->p && gort_runq_empty(&m->p->runq);
}

gort_g *gort_mt_curg(void)
{
	gort_m *m = gort_getm();
	return m ? m->curg : NULL;
}

gort_p *gort_mt_curp(void)
{
	gort_m *m = gort_getm();
	return m ? m->p : NULL;
}

uint64_t gort_mt_rand(void)
{
	static __thread uint64_t outside; /* threads that are not Ms */
	gort_m *m = gort_getm();
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
	gort_m *m = gort_getm();
	gort_p *p = m ? m->p : NULL;
	gort_m_note_event(GORT_EV_READY, goid, p);
	gort_ready_put(p, g);
	if (!p)
		gort_wakep();
	else if (!p->runq.solo) /* solo: we hold the only P, none is idle */
		gort_wakep_published(); /* runnext's exchange was the fence */
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
	gort_m *m = gort_getm();
	return m && m->curg ? m->curg->goid : 0;
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
	gort_handoffp(p);
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
		gort_wakep();
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

void gort_sysmon_wakeup(void)
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

void gort_sysmon_ensure(void)
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

/* After shutdown set stopping under sched.lock: sysmon_ensure starts no
 * sysmon from here on, and one started before is told to stop, then
 * joined. */
void gort_sysmon_stop(void)
{
	if (!LD_ACQ(&S.sysmon_started))
		return;
	ST_REL(&S.sysmon_wake, SYSMON_STOP);
	gort_futex_wake(&S.sysmon_wake, 1);
	pthread_join(S.sysmon, NULL);
}

void gort_syscall_enter(void)
{
	if (!S.ready || !S.threaded)
		return;
	gort_m *m = gort_getm();
	if (!m || !m->curg || !m->p)
		return;
	gort_sysmon_ensure();
	gort_p *p = m->p;
	st(&m->curg->status, GORT_G_SYSCALL);
	m->oldp = p;
	gort_releasep(m); /* the P's cache stays with the P */
	__atomic_add_fetch(&p->syscalltick, 1, __ATOMIC_RELAXED);
	ST_REL(&p->status, GORT_P_SYSCALL); /* from here sysmon may retake it */
}

void gort_syscall_exit(void)
{
	if (!S.ready || !S.threaded)
		return;
	gort_m *m = gort_getm();
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
		p = gort_pidleget(p);
		gort_unlock(&S.lock);
	}
	if (p) {
		gort_acquirep(m, p);
		g->p = p->id;
		st(&g->status, GORT_G_RUNNING);
		return;
	}
	gort_mt_enter_g0(OUT_SYSCALL_NOP); /* g0 files it */
}

/* ------------------------------------------------------------ the caller's side */

int gort_mt_run(void)
{
	if (gort_getm()) {
		errno = EDEADLK; /* a G cannot wait for itself */
		return -1;
	}
	gort_lock(&S.lock);
	while (!gort_quiescent_locked()) {
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
	gort_pidle_init();
	return 0;
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
