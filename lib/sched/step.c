/*
 * step.c — step mode, the deterministic driver, and the goroutine API.
 *
 * The caller's thread is the one M. gort_step() makes one scheduling
 * decision: the PRNG (splitmix64, seeded from gort_config.seed) picks the P
 * that looks for work first; the P runs findRunnable (proc.c) and runs the G
 * it finds until the G yields, parks or exits. If that P finds nothing, the
 * next Ps in order try. Nothing else is consulted — no clock, no thread
 * timing, no address — so the same seed and the same calls give the same
 * run, step for step.
 *
 * Threaded mode (gort_config.threaded = 1, one OS thread per M) lives in
 * m.c, p.c and mthread.c; the API calls below hand over to it. The Ps are
 * made and resized by p.c.
 *
 * Invariants: see sched.h; gort_sched_check_why() verifies them.
 */
#define _GNU_SOURCE
#include "sched/fault.h"
#include "sched/netpoll.h"
#include "sched/sched.h"
#include "sched/sema.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

sched_t gort_sched;
#define S (gort_sched)

uint64_t gort_sched_rand(void)
{
	return gort_rand_step(&S.rng);
}

uint64_t gort_sched_rand_any(void)
{
	return S.threaded ? gort_mt_rand() : gort_sched_rand();
}

static unsigned default_procs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Goroutine stacks in gort_memstats: in use = handed out, sys = committed
 * or cached (the most that can be resident). */
static void stack_stats(uint64_t *inuse, uint64_t *sys)
{
	gort_stack_stats st;
	if (!S.ready)
		return;
	gort_stack_pool_stats(&S.stacks, &st);
	*inuse = (uint64_t)st.inuse * st.usable_bytes;
	*sys = st.bytes_committed;
}

int gort_sched_init(const gort_config *cfg)
{
	memset(&S, 0, sizeof S);
	unsigned nprocs = cfg->procs ? cfg->procs : default_procs();
	if (nprocs > SCHED_MAX_PROCS) {
		errno = EINVAL;
		return -1;
	}
	S.rng = cfg->seed ? cfg->seed : SCHED_DEFAULT_SEED;
	gort_globrunq_init(&S.glob);
	gort_fixalloc_init(&S.galloc, sizeof(gort_g));
	if (gort_stack_pool_init(&S.stacks, cfg->stack_bytes) != 0) {
		if (errno != EINVAL)
			errno = ENOMEM;
		return -1;
	}
	S.stack_bytes = S.stacks.usable;
	if (gort_ps_init(nprocs) != 0) {
		errno = ENOMEM;
		return -1;
	}
	gort_ctx_for_thread(&S.g0);
	/* Overflows of Gs run on this thread (step mode's) are named; each M
	 * does the same for itself. */
	if (gort_fault_init() != 0)
		return -1;
	gort_fault_thread_start(&S.curg);
	S.threaded = gort_mem.threaded;
	S.t0 = gort_os_nanotime();
	gort_evlog_init(S.threaded);
	if (S.threaded && gort_mt_init() != 0)
		return -1;
	gort_mem_stack_stats = stack_stats;
	gort_mem_current_goid = gort_self;
	S.ready = 1;
	return 0;
}

void gort_sched_shutdown(void)
{
	if (!S.ready)
		return;
	if (S.threaded)
		gort_mt_shutdown();
	gort_g_free_all();
	gort_sema_reset();
	gort_ps_destroy();
	gort_fault_thread_stop();
	gort_fault_shutdown();
	gort_stack_pool_destroy(&S.stacks);
	gort_evlog_destroy();
	gort_netpoll_shutdown();
	gort_mem_stack_stats = NULL;
	gort_mem_current_goid = NULL;
	memset(&S, 0, sizeof S);
}

/* Goroutines need the scheduler: made on first use with the defaults. */
static int sched_ready(void)
{
	if (likely(S.ready))
		return 0;
	if (gort_mem_ensure_init() != 0)
		return -1;
	static const gort_config defaults;
	return gort_sched_init(&defaults);
}

/* Step mode's GO and READY events: g was queued on p (NULL: global). */
static void note_event(uint32_t kind, const gort_g *g, const gort_p *p)
{
	gort_event e = {
		.kind = kind,
		.p = p ? p->id : -1,
		.from = -1,
		.goid = g->goid,
		.by = S.curg ? S.curg->goid : 0,
		.step = S.nsteps,
	};
	gort_evlog_add(&e);
}

/* Step mode: a new G on p's runnext. */
static int64_t go_on(gort_p *p, gort_fn fn, void *arg)
{
	gort_g *g = gort_g_new(p, fn, arg);
	if (!g)
		return -1;
	gort_runq_put(&p->runq, g, true, &S.glob);
	note_event(GORT_EV_GO, g, p);
	return g->goid;
}

/* ------------------------------------------------------------------ API */

int64_t gort_go(gort_fn fn, void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	if (sched_ready() != 0)
		return -1;
	if (S.threaded)
		return gort_mt_go(fn, arg);
	return go_on(S.curp ? S.curp : &S.p[0], fn, arg);
}

int64_t gort_go_p(unsigned p, gort_fn fn, void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	if (sched_ready() != 0)
		return -1;
	if (S.threaded || p >= S.nprocs) {
		errno = EINVAL;
		return -1;
	}
	return go_on(&S.p[p], fn, arg);
}

void gort_yield(void)
{
	if (S.threaded)
		gort_mt_yield();
	else if (S.curg)
		gort_enter_g0(OUT_YIELDED);
}

void gort_park(const char *reason)
{
	if (S.threaded) {
		gort_mt_park(reason);
		return;
	}
	if (!S.curg)
		return;
	S.curg->waitreason = reason && *reason ? reason : "park";
	gort_enter_g0(OUT_PARKED);
}

/* Step mode: g, parked, made runnable on p's runnext (NULL: the global
 * queue). */
static void ready_on(gort_g *g, gort_p *p)
{
	g->waitreason = "";
	st(&g->waiton, NULL);
	st(&g->status, GORT_G_RUNNABLE);
	gort_ready_put(p, g);
	note_event(GORT_EV_READY, g, p);
}

int gort_ready(int64_t goid)
{
	if (!S.ready)
		return -1;
	if (S.threaded)
		return gort_mt_ready(goid);
	gort_g *g = gort_g_by_id(goid);
	if (!g || ld(&g->status) != GORT_G_WAITING || ld(&g->waitsync))
		return -1;
	ready_on(g, S.curp);
	return 0;
}

void gort_ready_g(gort_g *g)
{
	if (S.threaded) {
		gort_mt_ready_g(g);
		return;
	}
	if (ld(&g->status) != GORT_G_WAITING)
		gort_fatal("ready of a G that is not parked");
	ready_on(g, S.curp ? S.curp : S.timerp);
}

int64_t gort_self(void)
{
	if (S.threaded)
		return gort_mt_self();
	return S.curg ? S.curg->goid : 0;
}

/* The RUN event of the step just made. */
static void note_step(const sched_step_info *info, const gort_p *p)
{
	gort_event e = {
		.kind = GORT_EV_RUN,
		.p = info->p,
		.from = info->from,
		.goid = info->goid,
		.source = (uint32_t)info->source,
		.outcome = (uint32_t)info->outcome,
		.schedtick = p->schedtick,
		.step = S.nsteps - 1,
	};
	gort_evlog_add(&e);
}

/* Step mode can step here: -1 with errno if not. */
static int can_step(void)
{
	if (sched_ready() != 0)
		return -1;
	if (S.threaded) {
		errno = EINVAL; /* threads run the Gs: there is no single step */
		return -1;
	}
	if (S.curg) {
		errno = EDEADLK; /* a G cannot drive the scheduler it runs on */
		return -1;
	}
	return 0;
}

/* One decision: Ps first, first+1, ... (count of them) look for work in
 * turn; the first that finds a G runs it. */
static int step_from(uint32_t first, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		gort_p *p = &S.p[(first + i) % S.nprocs];
		sched_step_info info = {.p = p->id, .from = -1};
		gort_g *g = gort_find_runnable(p, &info);
		if (!g)
			continue;
		info.goid = g->goid;
		S.nsteps++;
		info.outcome = gort_execute(p, g, info.source == SRC_RUNNEXT);
		note_step(&info, p);
		return 1;
	}
	return 0;
}

/* Step mode's timers: those due now run on their Ps; if no G can run,
 * the virtual clock jumps to the next timer. The Gs they ready go to the
 * runnext of the P whose heap held the timer. */
static void run_timers_due(void)
{
	for (uint32_t i = 0; i < S.nprocs; i++) {
		S.timerp = &S.p[i];
		gort_timers_run(&S.p[i], S.vnow);
	}
	S.timerp = NULL;
}

static int step_from_timers(uint32_t first, uint32_t count)
{
	run_timers_due();
	int rc = step_from(first, count);
	if (rc != 0)
		return rc;
	if (gort_netpoll_waiters() && gort_netpoll(0) > 0)
		return step_from(first, count); /* fds ready: their Gs first */
	int64_t next = gort_timers_next();
	if (next == 0)
		return 0;
	if (next > S.vnow)
		S.vnow = next;
	run_timers_due();
	return step_from(first, count);
}

int gort_step(void)
{
	if (can_step() != 0)
		return -1;
	return step_from_timers((uint32_t)(gort_sched_rand() % S.nprocs), S.nprocs);
}

int gort_step_p(unsigned p)
{
	if (can_step() != 0)
		return -1;
	if (p >= S.nprocs) {
		errno = EINVAL;
		return -1;
	}
	return step_from_timers(p, 1);
}

int gort_set_procs(unsigned n)
{
	if (can_step() != 0)
		return -1;
	if (n == 0 || n > SCHED_MAX_PROCS) {
		errno = EINVAL;
		return -1;
	}
	return gort_procresize(n);
}

void gort_reseed(uint64_t seed)
{
	if (sched_ready() == 0 && !S.threaded)
		S.rng = seed ? seed : SCHED_DEFAULT_SEED;
}

int gort_run(void)
{
	if (sched_ready() != 0)
		return -1;
	if (S.threaded)
		return gort_mt_run();
	int rc;
	while ((rc = gort_step()) == 1)
		;
	if (rc < 0)
		return -1;
	int parked = 0;
	for (uint32_t i = 0; i < S.nallg; i++)
		parked += ld(&S.allg[i]->status) == GORT_G_WAITING;
	return parked;
}
