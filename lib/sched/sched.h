/*
 * sched.h — the scheduler's internal types: the scheduler state, and the
 * interfaces between g.c (G lifecycle), p.c (the P: p.h), proc.c
 * (schedule/findRunnable on a P), step.c (the deterministic driver and the
 * public goroutine API), m.c (the M: m.h) and mthread.c (threaded mode's
 * Gs, syscalls and sysmon).
 *
 * Step mode: the caller's thread is the only M (its state is curg, curp and
 * g0 below); it runs one G at a time on one of the Ps, chosen — like every
 * other choice — by a PRNG seeded from gort_config.seed, so a run is a pure
 * function of the seed and the calls. Threaded mode (m.c, mthread.c): Ms are
 * OS threads with their own state, Go's rules for spinning, parking and
 * syscalls. Each P owns an mcache; while a G runs on P k, the thread's
 * allocations go to P k's cache.
 *
 * Invariants (gort_sched_check):
 *  - every live G (not DEAD) is in exactly one place: a P's runnext or ring,
 *    the global queue, running (the current G), or waiting (parked);
 *  - Gs in queues are RUNNABLE; the running G is RUNNING; parked Gs WAITING;
 *  - each ring holds at most 256 Gs; dead Gs are on exactly one free list.
 */
#ifndef GORT_SCHED_SCHED_H
#define GORT_SCHED_SCHED_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "mem/mem.h"
#include "sched/context.h"
#include "sched/events.h"
#include "sched/g.h"
#include "sched/p.h"
#include "sched/runq.h"
#include "sched/stack.h"
#include "sched/steal_order.h"
#include "sched/timer.h"

#define SCHED_MAX_PROCS 256
/* Go: a P's free-G list moves half to the global list past 64 (down to 32). */
#define GFREE_LOCAL_MAX 64
#define GFREE_LOCAL_KEEP 32
/* Go: every 61st schedtick the global queue is looked at first. */
#define SCHED_GLOBAL_TICK 61
/* Go: findRunnable steals in 4 passes, runnext only on the last. */
#define SCHED_STEAL_TRIES 4
#define SCHED_DEFAULT_SEED 0x9e3779b97f4a7c15ull

/* Where the last step's G came from, and how it left: the event log's
 * (gort_inspect.h) numbers. */
enum sched_source {
	SRC_RUNNEXT = GORT_SRC_RUNNEXT,
	SRC_LOCAL = GORT_SRC_LOCAL,
	SRC_GLOBAL = GORT_SRC_GLOBAL,
	SRC_STOLEN = GORT_SRC_STOLEN,
};
enum sched_outcome {
	OUT_YIELDED = GORT_OUT_YIELDED,
	OUT_PARKED = GORT_OUT_PARKED,
	OUT_EXITED = GORT_OUT_EXITED,
	OUT_SYSCALL_NOP = GORT_OUT_SYSCALL,
};

/* An M of threaded mode (m.h): one OS thread. */
typedef struct gort_m gort_m;

typedef struct sched_step_info {
	int32_t p;
	int64_t goid;
	int source;   /* enum sched_source */
	int32_t from; /* the victim P when stolen */
	int outcome;  /* enum sched_outcome */
} sched_step_info;

typedef struct sched {
	int ready;
	uint32_t nprocs;
	gort_p *p;
	size_t p_bytes;
	gort_globrunq glob;
	gort_steal_order order;
	uint64_t rng;
	gort_stack_pool stacks;
	size_t stack_bytes;
	int64_t goidgen;
	/* Every G ever made, by index (Gs are reused, never freed until shutdown). */
	gort_g **allg;
	uint32_t nallg, capallg;
	gort_g *gfree; /* the global free list */
	uint32_t ngfree;
	fixalloc_t galloc; /* G descriptors, off the heap (under gflock) */
	/* goid -> G (g.c), under gflock: one entry per G that has a goid. */
	gort_g **gidx;
	size_t gidx_cap, gidx_count;
	/* The one M of step mode: its own context, and what runs now. */
	gort_ctx g0;
	gort_g *curg;
	gort_p *curp;
	int outcome; /* how the running G gave control back */
	void (*unlockf)(void *); /* gort_park_unlock's, run once the G is parked */
	void *unlockarg;
	gort_p *timerp; /* the P whose timers run now: it gets the Gs they ready */
	int64_t vnow;   /* the virtual clock, ns */
	uint64_t nsteps;
	/* Protects the global free-G list, allg and goid assignment (Gs are
	 * made and put back on every M in threaded mode). */
	gort_lock_t gflock;
	/* Threaded mode (m.c, p.c, mthread.c); unused in step mode. */
	int threaded;
	gort_lock_t lock;   /* Go's sched.lock: the idle lists, allm, the run waiter */
	gort_p *pidle;      /* idle Ps, linked through link */
	uint32_t npidle;    /* atomic */
	uint32_t nmspinning; /* atomic */
	gort_m *midle;      /* parked Ms */
	uint32_t nmidle;
	uint32_t mcount;    /* Ms ever started and not yet exited */
	gort_m *allm;
	uint32_t stopping;  /* atomic; set by shutdown */
	int runwaiting;     /* gort_run's caller waits on runwait */
	uint32_t runwait;   /* futex word */
	uint32_t sysmon_started; /* atomic */
	uint32_t sysmon_wake; /* futex word: SYSMON_AWAKE, _STOP or _ASLEEP (mthread.c) */
	uint32_t runwakes;    /* times gort_run's waiter was woken (under lock) */
	pthread_t sysmon;
	uint64_t t0;           /* threaded: the clock at init */
	uint32_t ncpu;         /* threaded: online CPUs at init */
	/* The one M that sleeps until the next timer (Go's blocked netpoller):
	 * tsleeping says one does, until when, and twake is its futex word. */
	uint32_t tsleeping;
	int64_t tsleep_until;
	uint32_t twake;
} sched_t;

SCHED_HIDDEN extern sched_t gort_sched;

/* One step of splitmix64 over *state (os/rand.h). */
static inline uint64_t gort_rand_step(uint64_t *state)
{
	return gort_splitmix64(state);
}

/* A pause in a spin loop, cheap for the sibling hyperthread. */
static inline void gort_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Go's sync_runtime_canSpin: may a G spinning for a mutex (iteration iter
 * of at most max) expect it to be freed soon? Only in threaded mode, on
 * more than one CPU, with other Ps busy and nothing else queued here. */
SCHED_HIDDEN bool gort_sched_can_spin(int iter, int max);

/* Prints `gort: fatal: what` and aborts: the scheduler cannot go on. */
SCHED_HIDDEN void gort_fatal(const char *what) __attribute__((noreturn));
/* A random number for a scheduling choice: step mode's seeded PRNG, or the
 * calling M's own in threaded mode. */
SCHED_HIDDEN uint64_t gort_sched_rand_any(void);
SCHED_HIDDEN uint64_t gort_mt_rand(void);

/* g.c */
SCHED_HIDDEN gort_g *gort_g_new(gort_p *p, void (*fn)(void *), void *arg);
SCHED_HIDDEN void gort_g_put_dead(gort_p *p, gort_g *g);
/* The live G with that goid, NULL if none (or dead). */
SCHED_HIDDEN gort_g *gort_g_by_id(int64_t goid);
/* gflock held: the G that holds goid now, dead or alive; NULL if none. */
SCHED_HIDDEN gort_g *gort_g_by_id_locked(int64_t goid);
SCHED_HIDDEN void gort_g_free_all(void);
SCHED_HIDDEN void gort_g_entry(void *arg);

/* The running G parked by a primitive is made runnable: on the current P's
 * runnext (or the P running timers), else the global queue. It must be
 * WAITING (the park-with-unlock protocol guarantees it). */
SCHED_HIDDEN void gort_ready_g(gort_g *g);

/* proc.c */
SCHED_HIDDEN gort_g *gort_find_runnable(gort_p *p, sched_step_info *info);
/* findRunnable's halves: the global tick, local and global queues; then the
 * four stealing passes. rng: the caller's PRNG state, NULL for step mode's
 * seeded one. threaded: pause before taking a running victim's runnext. */
SCHED_HIDDEN gort_g *gort_find_local(gort_p *p, sched_step_info *info);
SCHED_HIDDEN gort_g *gort_steal_work(gort_p *p, sched_step_info *info, uint64_t *rng,
				     bool threaded);
/* A readied G queued as Go's ready does: p's runnext, or the global queue
 * when the waker holds no P (a thread outside any G). */
SCHED_HIDDEN void gort_ready_put(gort_p *p, gort_g *g);
/* Runs g on p until it gives control back; returns how (enum sched_outcome). */
SCHED_HIDDEN int gort_execute(gort_p *p, gort_g *g, bool inherit);
SCHED_HIDDEN void gort_enter_g0(int outcome);

/* mthread.c and m.c: threaded mode. */
SCHED_HIDDEN int gort_mt_init(void);
SCHED_HIDDEN void gort_mt_shutdown(void);
SCHED_HIDDEN void gort_mt_enter_g0(int outcome);
/* First thing in a G resumed or started, self: files the G that parked by
 * switching straight to it, if one did. A load of its own G when none
 * did: no call, no lookup of the M. */
SCHED_HIDDEN void gort_mt_file_handed(gort_g *self);
static inline void gort_mt_after_switch(gort_g *self)
{
	if (__builtin_expect(self->handed != NULL, 0))
		gort_mt_file_handed(self);
}
SCHED_HIDDEN int64_t gort_mt_go(gort_fn fn, void *arg);
SCHED_HIDDEN void gort_mt_yield(void);
SCHED_HIDDEN void gort_mt_park(const char *reason);
SCHED_HIDDEN void gort_mt_park_unlock(const char *reason, void (*unlock)(void *), void *arg);
SCHED_HIDDEN gort_g *gort_mt_curg(void);
SCHED_HIDDEN void gort_mt_ready_g(gort_g *g);
SCHED_HIDDEN gort_p *gort_mt_curp(void);
/* A timer earlier than the one the timer sleeper waits for was added. */
SCHED_HIDDEN void gort_mt_timer_added(int64_t when);
/* A timer was deleted: if the sleeper waits for it, it wakes to look again
 * (gort_run would otherwise wait until that time). */
SCHED_HIDDEN void gort_mt_timer_deleted(int64_t when);
/* Wakes the M that sleeps for timers and fds, wherever it sleeps. */
SCHED_HIDDEN void gort_mt_poller_break(void);
SCHED_HIDDEN int gort_mt_ready(int64_t goid);
SCHED_HIDDEN int64_t gort_mt_self(void);
SCHED_HIDDEN int gort_mt_run(void);
SCHED_HIDDEN size_t gort_mt_inspect_ms(gort_m_info *out, size_t max);
/* Go's schedtrace counts: Ms, spinning Ms, parked Ms. */
SCHED_HIDDEN void gort_mt_counts(uint32_t *threads, uint32_t *spinning, uint32_t *idle);
/* The G that has run on p for 10 ms or more without yielding, 0 if none;
 * *ran_ns says for how long at least. */
SCHED_HIDDEN int64_t gort_mt_long_runner(const gort_p *p, uint64_t *ran_ns);
/* sysmon's sleep after a look, given the last (delay) and how many looks
 * in a row found nothing to do (idle). */
SCHED_HIDDEN uint64_t gort_sysmon_next_delay(uint64_t delay, uint32_t idle);
/* How many times gort_run's waiter has been woken since init. */
SCHED_HIDDEN uint32_t gort_mt_run_wakeups(void);
/* sysmon is started once, with the first M; acquirep wakes it from its
 * sleep with every P idle; shutdown stops and joins it. */
SCHED_HIDDEN void gort_sysmon_ensure(void);
SCHED_HIDDEN void gort_sysmon_wakeup(void);
SCHED_HIDDEN void gort_sysmon_stop(void);

/* step.c */
SCHED_HIDDEN uint64_t gort_sched_rand(void);
SCHED_HIDDEN int gort_sched_init(const gort_config *cfg);
SCHED_HIDDEN void gort_sched_shutdown(void);
SCHED_HIDDEN const char *gort_sched_check_why(void);

#endif /* GORT_SCHED_SCHED_H */
