/*
 * fuzz_sched.c — coverage-guided fuzzing of step mode's scheduler against a
 * shadow model of the run queues (fuzz/sched_model.h has the model and
 * every check).
 *
 * The input is decoded FuzzedDataProvider-style (fuzz/fdp.h): first a table
 * of up to 8 goroutine bodies, then a sequence of operations, one tail byte
 * picking each and further tail bytes its arguments.
 *
 * A body is data: up to 8 actions, each one byte (low nibble the action,
 * high nibble its argument), and a loop flag (at its end a body exits, or
 * starts over). One C function, fz_body, interprets it on the G's stack:
 * yield, park, ready a parked G (or itself, a dead G, a bogus goid: -1),
 * spawn a child with gort_go or onto a P with gort_go_p (a P that does not
 * exist: EINVAL), allocate or free a small object (a pattern checked
 * before the free), call what a G may not (gort_step, gort_step_p,
 * gort_set_procs, gort_run: EDEADLK; gort_go(NULL): EINVAL), gort_self,
 * exit. A G does at most FZ_ACTS_PER_RUN actions per run, then yields.
 * The body only records what it did and what each call returned
 * (fprintf on a 16 KiB goroutine stack is no place to fail); after the
 * step the harness replays that log into the model, which checks each
 * result.
 *
 * A waiting body (its header byte's high nibble is 1; fuzz/seeds.py
 * wact) reads each action byte from another table: send, receive, close
 * on one of four channels (capacities 0, 1, 2, 4; values unique to the
 * input), two shapes of select (with or without a default, a case on a nil
 * channel, a send and a receive on the same channel), lock, unlock (also
 * of a mutex nobody holds) and trylock of two mutexes, add, done and wait
 * on one WaitGroup, sleep (0 to 10 ms), yield, spawn, exit, park. A call
 * that blocks leaves its entry pending in the log of the run it began in;
 * the run it returns in starts with a W_RESUME entry holding its result
 * (F.stepgen tells the body). fuzz/wait_model.h predicts every one: which
 * call waits, who it wakes (HANDOFF, CLOSE and READY events one for one),
 * the value each receive gets, what close does to each waiter, the mutex
 * word and its semaphore line, the WaitGroup, each P's timer heap and the
 * virtual clock's jumps, the reports (send on closed, close of closed,
 * unlock of unlocked, WaitGroup misuse, deadlock); select's choice comes
 * from the PRNG, so the harness checks the case taken was ready and keeps
 * fairness counts. A G that holds a mutex when it leaves its body unlocks
 * it. Every checkpoint also compares each channel with gort_inspect_chan
 * and gort_inspect_chan_value and runs gort_check_chan.
 *
 * Operations: spawn (gort_go outside any G: P 0's runnext), spawn onto a P
 * (gort_go_p, also onto a P that does not exist), spawn 2..64 at once (runs
 * a ring past 256), step (gort_step), step a P (gort_step_p, also one that
 * does not exist), 1..16 steps, ready a parked G from outside (or one that
 * is not parked, or a bogus goid), reseed (gort_reseed), set the number of
 * Ps (1..8; 0 and 257: EINVAL), run to idle (at most 64 steps; when idle,
 * gort_run must return the number of parked Gs without a step), and the
 * calls that do nothing outside a G (gort_yield, gort_park, gort_self == 0),
 * and the waiting calls from outside any G (close, try_send, try_recv, a
 * WaitGroup add or done, and, only when no G can run and no timer is
 * pending, a blocking receive or wait that must report the deadlock).
 *
 * Every step's RUN event is checked against the model (sm_take: where the
 * G may come from, by Go's rules; which P looked first and the steal order
 * come from the runtime's PRNG, which is not re-implemented), GO and READY
 * events are predicted one for one, and after every operation and every
 * step (a checkpoint) the model is compared with gort_inspect_ps and
 * gort_inspect_sched: every ring and runnext in order, the global queue,
 * schedticks, free-list counts, steps and Gs made. The live Gs' statuses
 * (gort_inspect_gs) and gort_check() == 0 are checked at every checkpoint
 * when replaying, and at every 8th and 16th when fuzzing (FZ_GS_EVERY,
 * FZ_CHECK_EVERY; GORT_FUZZ_CHECK_EVERY=1 makes them every one), and always
 * at the end of the input: a broken invariant is seen at most 15
 * checkpoints late, and the failure message lists the last operations.
 *
 * Determinism: every FZ_TWICE_EVERY-th input (the first one included, so a
 * lone reproducer gets it) runs twice, and the two event logs (goids taken
 * relative to the input's first) must hash the same.
 *
 * An input that ends with Gs waiting in primitives or asleep drains
 * loosely (fz_drain_loose): channels closed, the WaitGroup zeroed, mutexes
 * unlocked for their waiting holders, then gort_run until no G is live;
 * every object must end idle.
 *
 * Reset between inputs: the runtime is initialised once (step mode, 4 Ps,
 * 64 MiB arena, 16 KiB stacks). Each input ends by draining: every parked
 * G is readied from outside, gort_run() runs every G once more, in which it
 * frees its objects and exits (each RUN event checked against the model);
 * the queues must then be empty and no G live. Then
 * gort_set_procs(1); P 0's schedtick is brought to a multiple of 61 by a G
 * that yields the right number of times (only the tick modulo 61 matters,
 * and P 0 is never made afresh); gort_set_procs(4), which makes P 1..3
 * anew at tick 0; gort_reseed(FZ_SEED). Every input thus starts from the
 * same scheduling state, and a reproducer replays alone as it failed.
 *
 * Speed (libFuzzer + ASan + UBSan, one core): a step with its checks costs
 * about 5 us (the inspection snapshots, the library's comparison tracing,
 * the context switches), an input about 50 us of fixed work (drain, reset,
 * the final gort_check). About 20,000 executions per second on empty
 * inputs; two minutes from the corpus made 2,690 with -max_len=16 (763 of
 * the 765 edges the default length reached) and 450 with the default
 * length, whose inputs run to 100-400 bytes (dozens of operations, runs of
 * 64 steps, drains of hundreds of Gs); AFL++, whose queue keeps inputs
 * shorter, 2,340.
 *
 * As a gortsh script: fuzz/fuzz2gsh fuzz_sched FILE > find.gsh (which runs
 * GORT_FUZZ_GSH=1 build/fuzz-replay/fuzz_sched FILE) prints the process's
 * first input (the only one that starts from a fresh runtime) as a script,
 * so a find can be stepped through in gortsh (docs/gortsh.md, "Fuzz finds as
 * scripts"). It holds the harness's runtime and the reset setup() makes
 * (whose G is g1, so goids agree); one `func gN` per G; the operations in
 * order, each with the harness's account of it (`# op 7: run(0, 0, 0) ->
 * 64`); and, before the drain, a `# state:` comment of the model (every
 * queue in order, schedticks, free Gs, live Gs, steps), then the drain's
 * calls as comments (a G live at the end has, as its func's last line, what
 * the drain makes it do: free its objects and exit). If the harness fails,
 * sm_fail has the script printed up to the call it found wrong, that call
 * included. A G's func is the trace of what its body did, read from the log
 * the harness replays into the model, one line per run (`# [12] p1 local`):
 * a trace, not a translation of the body table, because what a body does
 * depends on the run (which parked G a ready picks, where a looping body
 * starts over, the forced yields), and a trace replays exactly with the
 * shell's plain body steps. A G live at the end is given the drain's last
 * line rather than a `park` that never runs: so the drain can be stepped
 * through too. Funcs, not nested `spawn { ... }`, because a chain of Gs
 * spawning one another would nest braces past the shell's 32; they are
 * defined from the last G down, so each names its children's. Calls that
 * fail by design become `try` lines where the shell has the command (a step
 * that finds nothing still draws from the PRNG, so it is kept); calls that
 * change nothing (a G's EDEADLK/EINVAL calls, gort_self, the calls outside
 * any G) are comments. tests/shell/test_fuzz2gsh.sh runs every corpus file
 * through gortsh and checks each step and the final state. Unset, the
 * converter does nothing: inputs decode and are checked exactly as without
 * it.
 *
 * Build: `make fuzz` (libFuzzer + ASan + UBSan into build/fuzz/, AFL++ into
 * build/afl/); replay: build/fuzz-replay/fuzz_sched FILE|DIR...
 * (GORT_FUZZ_TRACE=1 prints each operation, step and body action).
 */
#include <stddef.h>
#include <stdint.h>

#include "sched_model.h"
#include "wait_model.h"

#include "fdp.h"

#define FUZZ_API __attribute__((visibility("default")))

#define FZ_PROCS 4
#define FZ_ARENA_BYTES ((size_t)64 << 20)
#define FZ_STACK_BYTES ((size_t)16 << 10)
#define FZ_SEED 0x5eed5eedull
#define FZ_MAX_OPS 256
#define FZ_MAX_STEPS 1024 /* steps per input, draining not counted */
#define FZ_RUN_STEPS 64	  /* the most one run-to-idle takes */
#define FZ_BODIES 8
#define FZ_BODY_LEN 8
#define FZ_ACTS_PER_RUN 16
#define FZ_LOG_MAX (FZ_ACTS_PER_RUN + 4)
#define FZ_EV_MAX (SM_G_MAX + 128) /* a drain readies every parked G at once */
#define FZ_OBJS 2
#define FZ_TWICE_EVERY 16
/* When fuzzing, gort_inspect_gs() at every 8th checkpoint and gort_check()
 * at every 16th (it walks the whole heap and every G: at every checkpoint
 * it cost more than everything else together); both at every checkpoint
 * when replaying (GORT_FUZZ_CHECK_EVERY=N sets both to N). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FZ_GS_EVERY 8
#define FZ_CHECK_EVERY 16
#else
#define FZ_GS_EVERY 1
#define FZ_CHECK_EVERY 1
#endif

/* Body actions (the low nibble of an action byte). */
enum fz_act {
	A_YIELD,
	A_YIELD2,
	A_PARK,
	A_READY,
	A_SPAWN,
	A_SPAWN_ON,
	A_ALLOC,
	A_FREE,
	A_EXIT,
	A_NEST,
	A_READY2,
	A_SPAWN2,
	A_YIELD3,
	A_PARK2,
	A_ALLOC2,
	A_SELF,
	/* log entries only */
	A_FORCED_YIELD,
	A_SKIP,
	/* a waiting body's actions (fz_prog.wait): W_FIRST + the low nibble */
	W_FIRST = 32,
	W_SEND = W_FIRST,
	W_RECV,
	W_SELECT,
	W_SELECT2,
	W_CLOSE,
	W_LOCK,
	W_UNLOCK,
	W_TRYLOCK,
	W_WG_ADD,
	W_WG_DONE,
	W_WG_WAIT,
	W_SLEEP,
	W_YIELD,
	W_SPAWN,
	W_EXIT,
	W_PARK,
	/* log entries only: a blocking call returned in a later run than it
	 * began (its entry is in that run's log, this one in this run's) */
	W_RESUME,
};

static const char *const fz_wact_name[] = {
	"send",	   "recv",    "select", "select2", "close", "lock", "unlock", "trylock",
	"wg_add",  "wg_done", "wg_wait", "sleep",  "yield", "spawn", "exit",  "park",
	"resume",
};

/* W_SLEEP's argument: milliseconds (gortsh's `sleep MS`). */
static const uint8_t fz_sleep_ms[16] = {0, 1, 1, 1, 2, 2, 3, 5, 1, 1, 2, 4, 8, 1, 2, 10};

static const char *const fz_act_name[] = {
	"yield", "yield", "park",  "ready", "spawn", "spawn_on", "alloc", "free",	  "exit",
	"nest",	 "ready", "spawn", "yield", "park",  "alloc",	 "self",  "forced_yield", "skip",
};

typedef struct fz_prog {
	uint8_t len, loop;
	uint8_t wait; /* its actions are W_FIRST + nibble (header's high nibble 1) */
	uint8_t act[FZ_BODY_LEN];
} fz_prog;

/* What a body did: one entry per action, in order. */
typedef struct fz_log {
	uint8_t act; /* enum fz_act, as executed (A_SKIP: budget exhausted) */
	uint8_t arg;
	uint16_t g;	/* the G that did it */
	int32_t p;	/* spawn_on: the P asked for */
	int32_t child;	/* spawn: the index given to the new G */
	int64_t target; /* ready: the goid asked for; nest: which call */
	int64_t rc;
	int err;
	/* waiting actions */
	uint8_t done; /* the call returned in this run (else it blocked, or yielded) */
	uint8_t ok;   /* select: the receive case's ok */
	int64_t val;  /* send: the value; recv, select: the value received */
	int64_t offer; /* select: the value its send case offers */
	int64_t now;  /* gort_now() when the call returned */
} fz_log;

/* The harness's side of a G: its body's state and its objects. */
typedef struct fz_g {
	uint16_t index;
	uint8_t body, pc;
	uint8_t acts; /* actions in this run */
	uint8_t bad;  /* a pattern did not hold */
	void *obj[FZ_OBJS];
	uint32_t objn[FZ_OBJS];
	uint8_t held; /* the mutexes it holds (bit i: m_i) */
} fz_g;

static struct fz_state {
	int ready;
	uint64_t ninputs;
	int draining;
	int dance_left;
	fz_prog bodies[FZ_BODIES];
	unsigned nbodies;
	fz_g g[SM_G_MAX];
	uint32_t made; /* harness records handed out (== M.ng between steps) */
	fz_log log[FZ_LOG_MAX];
	unsigned nlog;
	int log_overflow;
	uint64_t seq; /* the last event seen */
	uint64_t hash;
	uint32_t steps;
	unsigned gs_every, check_every;
	unsigned long nchecks;
	gort_event ev[FZ_EV_MAX];
	uint64_t stepgen; /* steps begun: a body sees whether a call parked */
	int64_t nextval;  /* the next value a body sends */
	int loose;	  /* a loose drain: the reports of a clean-up are expected */
	uint32_t rep[64]; /* reports of waiting misuse not yet checked, in order (a run makes
			   * at most FZ_LOG_MAX) */
	unsigned nrep, rep_used;
	char repmsg[160]; /* the message of the first report not yet checked */
	gort_mutex mu[WM_MUTEXES];
	gort_waitgroup wg;
} F;

static const uint32_t fz_sizes[16] = {1,  8,  16,   24,	  100, 500, 1024, 3000,
				      13, 32, 4096, 9000, 7,   48,  200,  33000};

/* -------------------------------------------------------------- the body */

/* Runs on the G's stack: record only, never fail here. */
static fz_log *fz_rec(fz_g *g, uint8_t act, uint8_t arg)
{
	if (F.nlog == FZ_LOG_MAX) {
		F.log_overflow = 1;
		F.nlog--;
	}
	fz_log *l = &F.log[F.nlog++];
	*l = (fz_log){.act = act, .arg = arg, .g = g->index, .p = -1, .child = -1};
	return l;
}

static void fz_body(void *arg);

SM_NOCOV static void fz_fill(fz_g *g, unsigned slot)
{
	unsigned char *p = g->obj[slot];
	uint32_t n = g->objn[slot];
	unsigned char v = (unsigned char)(g->index * 7 + slot + 1);
	if (n <= 64) {
		memset(p, v, n);
		return;
	}
	memset(p, v, 32);
	memset(p + n - 32, v, 32);
}

SM_NOCOV static void fz_drop(fz_g *g, unsigned slot)
{
	unsigned char *p = g->obj[slot];
	if (!p)
		return;
	uint32_t n = g->objn[slot], lo = n <= 64 ? n : 32;
	unsigned char v = (unsigned char)(g->index * 7 + slot + 1);
	for (uint32_t i = 0; i < lo; i++)
		g->bad |= p[i] != v || (n > 64 && p[n - 32 + i] != v);
	gort_free(p);
	g->obj[slot] = NULL;
}

/* A new G's harness record; NULL when the input's budget is spent. */
static fz_g *fz_new_g(unsigned body)
{
	if (F.made >= SM_G_MAX)
		return NULL;
	fz_g *c = &F.g[F.made];
	*c = (fz_g){.index = (uint16_t)F.made, .body = (uint8_t)body};
	F.made++;
	return c;
}

static void fz_spawn(fz_log *l, int on_p, unsigned p, unsigned body)
{
	fz_g *c = fz_new_g(body);
	if (!c) {
		l->act = A_SKIP;
		return;
	}
	l->child = c->index;
	l->p = on_p ? (int32_t)p : -1;
	errno = 0;
	l->rc = on_p ? gort_go_p(p, fz_body, c) : gort_go(fz_body, c);
	l->err = errno;
	if (l->rc < 0)
		F.made--; /* the model says whether that was right */
}

/* One action; returns 1 when the G gives control back (or must exit: 2). */
static int fz_do(fz_g *g, uint8_t byte)
{
	uint8_t act = byte & 15, arg = byte >> 4;
	fz_log *l = fz_rec(g, act, arg);
	switch (act) {
	case A_YIELD:
	case A_YIELD2:
	case A_YIELD3: gort_yield(); return 1;
	case A_PARK:
	case A_PARK2: gort_park(SM_WAITREASON); return 1;
	case A_READY:
	case A_READY2: {
		/* The model's parked list as it was before this step (the model
		 * catches up after it): the same G may be readied twice. */
		int64_t goid;
		if (arg < 12 && M.nparked)
			goid = sm_goid(M.parked[arg % M.nparked]);
		else if (arg == 12 || (arg < 12 && !M.nparked))
			goid = gort_self();
		else if (arg == 13)
			goid = M.base - 1; /* dead: the previous input's last */
		else if (arg == 14)
			goid = 0;
		else
			goid = INT64_MAX;
		l->target = goid;
		l->rc = gort_ready(goid);
		return 0;
	}
	case A_SPAWN:
	case A_SPAWN2: fz_spawn(l, 0, 0, arg % F.nbodies); return 0;
	case A_SPAWN_ON: fz_spawn(l, 1, arg & 7, (g->body + (arg >> 3)) % F.nbodies); return 0;
	case A_ALLOC:
	case A_ALLOC2: {
		unsigned slot = g->obj[0] ? 1 : 0;
		if (g->obj[slot])
			fz_drop(g, slot);
		uint32_t n = fz_sizes[arg];
		g->obj[slot] =
			act == A_ALLOC2 && n < 16 ? gort_alloc(n, GORT_NOSCAN) : gort_malloc(n);
		g->objn[slot] = n;
		l->rc = g->obj[slot] != NULL;
		if (g->obj[slot])
			fz_fill(g, slot);
		return 0;
	}
	case A_FREE: fz_drop(g, arg & 1); return 0;
	case A_EXIT:
		F.nlog--; /* fz_body records the exit itself, after the frees */
		return 2;
	case A_NEST:
		l->target = arg & 7;
		errno = 0;
		switch (arg & 7) {
		case 0: l->rc = gort_step(); break;
		case 1: l->rc = gort_step_p(arg >> 3); break;
		case 2: l->rc = gort_set_procs(1 + (arg >> 3)); break;
		case 3: l->rc = gort_run(); break;
		case 4: l->rc = gort_go(NULL, NULL); break;
		case 5: l->rc = gort_go_p(200, fz_body, NULL); break;
		default: l->rc = gort_self(); break;
		}
		l->err = errno;
		return 0;
	default: /* A_SELF */ l->rc = gort_self(); return 0;
	}
}

/* The cases of W_SELECT (receive on c[a], send on c[a+1], with arg & 4 a
 * receive on c[a+2]) and W_SELECT2 (send and receive on c[a], with arg & 4
 * a receive on a nil channel); arg & 8: with a default. Returns how many. */
static int fz_sel_cases(uint8_t act, uint8_t arg, int64_t val, wm_selcase *out)
{
	int a = arg & 3, n = 0;
	if (act == W_SELECT) {
		out[n++] = (wm_selcase){(int8_t)a, GORT_RECV, 0};
		out[n++] = (wm_selcase){(int8_t)((a + 1) & 3), GORT_SEND, val};
		if (arg & 4)
			out[n++] = (wm_selcase){(int8_t)((a + 2) & 3), GORT_RECV, 0};
	} else {
		out[n++] = (wm_selcase){(int8_t)a, GORT_SEND, val};
		out[n++] = (wm_selcase){(int8_t)a, GORT_RECV, 0};
		if (arg & 4)
			out[n++] = (wm_selcase){-1, GORT_RECV, 0};
	}
	return n;
}

static void fz_select(fz_log *l, uint8_t act, uint8_t arg)
{
	wm_selcase wc[WM_SEL_MAX];
	gort_select_case k[WM_SEL_MAX];
	int64_t in[WM_SEL_MAX] = {0}, out[WM_SEL_MAX] = {0};
	int n = fz_sel_cases(act, arg, l->offer, wc);
	for (int i = 0; i < n; i++) {
		in[i] = wc[i].val;
		k[i] = (gort_select_case){.chan = wc[i].chan >= 0 ? W.chan[wc[i].chan] : NULL,
					  .dir = wc[i].dir,
					  .elem = wc[i].dir == GORT_SEND ? &in[i] : &out[i]};
	}
	l->rc = gort_select(k, n, !(arg & 8));
	if (l->rc >= 0 && l->rc < n && k[l->rc].dir == GORT_RECV) {
		l->val = out[l->rc];
		l->ok = k[l->rc].ok;
	}
}

/* A waiting body's action; returns as fz_do. A call that blocks records
 * its result in a W_RESUME entry of the run it returns in. */
static int fz_do_wait(fz_g *g, uint8_t byte)
{
	uint8_t act = (uint8_t)(W_FIRST + (byte & 15)), arg = byte >> 4;
	int ch = arg & 3, mi = arg & 1;
	fz_log *l = fz_rec(g, act, arg);
	uint64_t gen = F.stepgen;
	int64_t v = 0;
	int yields = 0;
	switch (act) {
	case W_SEND:
		/* On the G's stack: a waiting sender's value is read by the
		 * receiver that takes it, after this log has been reused. */
		v = l->val = F.nextval++;
		l->rc = gort_chan_send(W.chan[ch], &v);
		break;
	case W_RECV:
		l->rc = gort_chan_recv(W.chan[ch], &v);
		l->val = v;
		break;
	case W_SELECT:
	case W_SELECT2:
		l->offer = F.nextval++;
		fz_select(l, act, arg);
		break;
	case W_CLOSE: gort_chan_close(W.chan[ch]); break;
	case W_LOCK:
		if (g->held & (1u << mi)) { /* not recursive: the body skips it */
			l->act = A_SKIP;
			return 0;
		}
		gort_mutex_lock(&F.mu[mi]);
		g->held |= (uint8_t)(1u << mi);
		break;
	case W_UNLOCK:
		/* Its own lock; or with arg & 8 one that nobody holds (reported). */
		if (!(g->held & (1u << mi)) && !((arg & 8) && W.m[mi].holder < 0)) {
			l->act = A_SKIP;
			return 0;
		}
		g->held &= (uint8_t)~(1u << mi);
		gort_mutex_unlock(&F.mu[mi]);
		break;
	case W_TRYLOCK:
		if (g->held & (1u << mi)) {
			l->act = A_SKIP;
			return 0;
		}
		l->rc = gort_mutex_trylock(&F.mu[mi]);
		if (l->rc == 1)
			g->held |= (uint8_t)(1u << mi);
		break;
	case W_WG_ADD: gort_wg_add(&F.wg, 1 + (arg & 3)); break;
	case W_WG_DONE: gort_wg_done(&F.wg); break;
	case W_WG_WAIT: gort_wg_wait(&F.wg); break;
	case W_SLEEP: gort_sleep((int64_t)fz_sleep_ms[arg] * 1000000); break;
	case W_YIELD: gort_yield(); return 1;
	case W_SPAWN: fz_spawn(l, 0, 0, arg % F.nbodies); return 0;
	case W_EXIT: F.nlog--; return 2;
	default: gort_park(SM_WAITREASON); return 1;
	}
	if (gen != F.stepgen && F.draining)
		return 0; /* woken by the drain: the body stops here */
	if (gen != F.stepgen) { /* it parked (or yielded) and runs again now */
		int64_t rc = l->rc, val = l->val;
		uint8_t ok = l->ok;
		l = fz_rec(g, W_RESUME, act);
		l->rc = rc;
		l->val = val;
		l->ok = ok;
		yields = 1;
	}
	l->done = 1;
	l->now = gort_now();
	return yields;
}

/* A G leaving its body unlocks what it holds (Go would leave it locked;
 * here every lock is the harness's to release). */
static void fz_unlock_held(fz_g *g)
{
	for (int mi = 0; mi < WM_MUTEXES; mi++) {
		if (!(g->held & (1u << mi)))
			continue;
		fz_log *l = F.draining ? NULL : fz_rec(g, W_UNLOCK, (uint8_t)mi);
		uint64_t gen = F.stepgen;
		g->held &= (uint8_t)~(1u << mi);
		gort_mutex_unlock(&F.mu[mi]);
		if (!l)
			continue;
		if (gen != F.stepgen)
			l = fz_rec(g, W_RESUME, W_UNLOCK);
		l->done = 1;
		l->now = gort_now();
	}
}

static void fz_body(void *arg)
{
	fz_g *g = arg;
	g->acts = 0;
	while (!F.draining) {
		if (F.dance_left >= 0) { /* the end-of-input tick alignment */
			if (F.dance_left == 0)
				break;
			F.dance_left--;
			gort_yield();
			continue;
		}
		const fz_prog *b = &F.bodies[g->body];
		if (g->pc >= b->len) {
			if (!b->loop)
				break;
			g->pc = 0;
		}
		if (g->acts >= FZ_ACTS_PER_RUN) {
			fz_rec(g, A_FORCED_YIELD, 0);
			gort_yield();
			g->acts = 0;
			continue;
		}
		g->acts++;
		uint8_t byte = b->act[g->pc++];
		int r = b->wait ? fz_do_wait(g, byte) : fz_do(g, byte);
		if (r == 2)
			break;
		if (r == 1)
			g->acts = 0;
	}
	fz_unlock_held(g);
	for (unsigned i = 0; i < FZ_OBJS; i++)
		fz_drop(g, i);
	if (F.dance_left < 0 && !F.draining)
		fz_rec(g, A_EXIT, 0);
}

/* -------------------------------------------------------------- helpers */

/* Reports of waiting misuse (and deadlock) are recorded, as they may come
 * from a G's stack, and checked against the model after the step or the
 * operation (fz_reports_done); any other report fails at once. */
static void on_error(const gort_error *e, void *ctx)
{
	(void)ctx;
	switch (e->kind) {
	case GORT_ERR_DEADLOCK:
	case GORT_ERR_SEND_ON_CLOSED:
	case GORT_ERR_CLOSE_OF_CLOSED:
	case GORT_ERR_UNLOCK_OF_UNLOCKED:
	case GORT_ERR_WAITGROUP_MISUSE:
		if (F.loose && e->kind == GORT_ERR_SEND_ON_CLOSED)
			return; /* the drain closes channels senders wait on */
		if (F.nrep < sizeof F.rep / sizeof F.rep[0]) {
			if (F.nrep == F.rep_used) /* the first one not yet checked */
				snprintf(F.repmsg, sizeof F.repmsg, "%s", e->message);
			F.rep[F.nrep++] = e->kind;
		}
		return;
	default: sm_fail("unexpected report from %s: %s", e->op, e->message);
	}
}

/* The model expects report kind now. */
static void fz_gsh_note_report(void);

SM_NOCOV static void fz_expect_report(uint32_t kind, const char *what)
{
	SM_ASSERT(F.rep_used < F.nrep && F.rep[F.rep_used] == kind,
		  "%s: the model expects a report of kind %u, the runtime made %s%u", what, kind,
		  F.rep_used < F.nrep ? "kind " : "none ",
		  F.rep_used < F.nrep ? F.rep[F.rep_used] : 0);
	F.rep_used++;
	if (F.rep_used < F.nrep)
		F.repmsg[0] = 0; /* named only for the first report */
	fz_gsh_note_report();
}

SM_NOCOV static void fz_reports_done(void)
{
	SM_ASSERT(F.rep_used == F.nrep,
		  "%u reports the model does not expect (the first: kind %u, \"%s\")",
		  F.nrep - F.rep_used, F.rep[F.rep_used], F.repmsg);
	F.nrep = F.rep_used = 0;
}

SM_NOCOV static uint64_t fz_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

SM_NOCOV static int64_t fz_rel(int64_t goid)
{
	return goid ? goid - M.base + 1 : 0;
}

/* Hash the events, goids relative to the input's first. */
SM_NOCOV static void fz_hash(const gort_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const gort_event *e = &ev[i];
		uint64_t h = F.hash;
		h = fz_mix(h, e->kind);
		h = fz_mix(h, (uint64_t)(int64_t)e->p);
		h = fz_mix(h, (uint64_t)(int64_t)e->from);
		h = fz_mix(h, (uint64_t)fz_rel(e->goid));
		h = fz_mix(h, (uint64_t)fz_rel(e->by));
		h = fz_mix(h, e->source);
		h = fz_mix(h, e->outcome);
		h = fz_mix(h, e->schedtick % SM_GLOBAL_TICK);
		F.hash = h;
		if (M.trace) {
			char victim[16] = "";
			if (e->from >= 0)
				snprintf(victim, sizeof victim, " P%d", e->from);
			if (e->kind == GORT_EV_RUN)
				fprintf(stderr,
					"    event %llu: run g%lld on P%d from %s%s, %s, "
					"tick %u\n",
					(unsigned long long)e->seq, (long long)e->goid, e->p,
					gort_event_source_name(e->source), victim,
					gort_event_outcome_name(e->outcome), e->schedtick);
			else
				fprintf(stderr, "    event %llu: %s g%lld on P%d by g%lld\n",
					(unsigned long long)e->seq, gort_event_kind_name(e->kind),
					(long long)e->goid, e->p, (long long)e->by);
		}
	}
}

/* The events since the last call. */
SM_NOCOV static size_t fz_events(void)
{
	uint64_t seq = gort_event_seq();
	SM_ASSERT(seq >= F.seq && seq - F.seq <= FZ_EV_MAX, "event seq went from %llu to %llu",
		  (unsigned long long)F.seq, (unsigned long long)seq);
	size_t n = gort_inspect_events(F.seq, F.ev, FZ_EV_MAX);
	SM_ASSERT(n == seq - F.seq, "%zu events copied, %llu recorded", n,
		  (unsigned long long)(seq - F.seq));
	for (size_t i = 0; i < n; i++)
		SM_ASSERT(F.ev[i].seq == F.seq + 1 + i, "event %zu has seq %llu, expected %llu", i,
			  (unsigned long long)F.ev[i].seq, (unsigned long long)(F.seq + 1 + i));
	fz_hash(F.ev, n);
	F.seq = seq;
	return n;
}

/* A checkpoint, after every operation and after every step: the model
 * against the queues, counters and events every time; the live Gs'
 * statuses at every F.gs_every-th checkpoint, gort_check() at every
 * F.check_every-th (and both at the end of the input). */
SM_NOCOV static void fz_check(void)
{
	F.nchecks++;
	sm_check((F.nchecks % F.gs_every == 0 ? SM_CK_GS : 0) |
		 (F.nchecks % F.check_every == 0 ? SM_CK_CHECK : 0));
	wm_check();
}

/* After an operation that ran no G: the GO/READY events it made. */
SM_NOCOV static void fz_after_op(void)
{
	size_t n = fz_events();
	sm_match_events(F.ev, n);
	fz_reports_done();
	fz_check();
}

/* ------------------------------------------------------- gortsh scripts */
/*
 * GORT_FUZZ_GSH=1 (see the top of the file): the operations' lines and each
 * G's func are gathered while the input runs and printed at its end.
 * Everything here runs between steps, on the harness's own stack and libc's
 * heap (never gort's, which the harness checks), reads the harness's state
 * and changes none of it, and does nothing unless Z.active.
 */

/* A growable text, on libc's heap (never gort's: the harness checks it). */
typedef struct fz_text {
	char *s;
	size_t n, cap;
} fz_text;

static struct fz_gsh {
	int on;			/* GORT_FUZZ_GSH is set */
	int in_run;		/* converting a G's run (its calls go in its func) */
	int waits;		/* the input used the channels, mutexes, WaitGroup or sleeps */
	char inexact[96];	/* the first call gortsh has no command for, "" if none */
	int active;		/* this run of an input is being converted */
	unsigned long runs;	/* inputs run so far (only the first is converted) */
	uint32_t reset_yields;	/* the last reset's G: its yields (setup's, for the first) */
	long nops;		/* M.nops when the current operation began */
	int step_p;		/* steps waiting to be written as one line: their P (-1: any) */
	unsigned step_n;	/* and how many (0: none) */
	int run_pending;	/* a step ran a G whose line is not written yet */
	int step_reported;	/* a step waiting to be written made a report: `try step` */
	fz_text cur;		/* the current operation's lines */
	fz_text ops;		/* every operation's lines, in order */
	fz_text run;		/* the steps of the run being converted */
	fz_text notes;		/* calls in that run that change nothing, for its comment */
	char note[96];		/* the last of them, not yet in notes ... */
	unsigned note_n;	/* ... and how many times in a row */
	fz_text body[SM_G_MAX]; /* per G index: its func's lines, one per run */
	uint32_t obj[SM_G_MAX][FZ_OBJS]; /* the name number of each object slot, 0: empty */
	uint32_t nobj[SM_G_MAX];
} Z;

SM_PRINTF(2, 3) SM_NOCOV static void fz_tx(fz_text *t, const char *fmt, ...)
{
	for (;;) {
		size_t room = t->cap - t->n;
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(t->s ? t->s + t->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < room) {
			t->n += (size_t)k;
			return;
		}
		size_t cap = 2 * (t->cap + (size_t)(k > 0 ? k : 0) + 64);
		char *s = k < 0 ? NULL : realloc(t->s, cap);
		if (!s) {
			fprintf(stderr, "fuzz_sched: cannot write the gortsh script\n");
			abort();
		}
		t->s = s;
		t->cap = cap;
	}
}

SM_NOCOV static void fz_tx_free(fz_text *t)
{
	free(t->s);
	*t = (fz_text){0};
}

/* The steps merged so far: `step [N] [on pK]`. */
SM_NOCOV static void fz_gsh_flush_steps(void)
{
	if (!Z.step_n)
		return;
	/* A body's misuse fails the shell's step (the harness expects the
	 * report): the line must not end a strict script. */
	fz_tx(&Z.cur, Z.step_reported ? "try step" : "step");
	Z.step_reported = 0;
	if (Z.step_n > 1)
		fz_tx(&Z.cur, " %u", Z.step_n);
	if (Z.step_p >= 0)
		fz_tx(&Z.cur, " on p%d", Z.step_p);
	fz_tx(&Z.cur, "\n");
	Z.step_n = 0;
}

/* A report the harness expects: if it came from a step still to be
 * written (the group's last), that step goes on a line of its own as
 * `try step`: the shell's `step N` stops at the first step whose body
 * misused something, where the harness goes on. */
SM_NOCOV static void fz_gsh_note_report(void)
{
	if (!Z.step_n || Z.step_reported)
		return;
	if (Z.step_n > 1) {
		unsigned n = Z.step_n;
		Z.step_n = n - 1; /* the clean ones before it */
		fz_gsh_flush_steps();
		Z.step_n = 1;
	}
	Z.step_reported = 1;
}

/* One line of the current operation. */
SM_PRINTF(1, 2) SM_NOCOV static void fz_gsh_line(const char *fmt, ...)
{
	if (!Z.active)
		return;
	fz_gsh_flush_steps();
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fz_tx(&Z.cur, "%s\n", line);
}

/* A call gortsh has no command for: a comment line where it happens, and
 * the script is marked inexact (the first such call named) so that
 * tests/shell/test_fuzz2gsh.sh does not hold it to the harness's state. */
SM_PRINTF(1, 2) SM_NOCOV static void fz_gsh_inexact(const char *fmt, ...)
{
	if (!Z.active)
		return;
	char what[sizeof Z.inexact];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (!Z.inexact[0])
		memcpy(Z.inexact, what, sizeof what);
	Z.waits = 1;
	if (!Z.in_run)
		fz_gsh_line("# %s (no gortsh command)", what);
}

/* gort_step (p < 0) or gort_step_p(p) returned rc: steps that ran merge
 * into one line; one that did not is `try step`, which makes the same call
 * (gort_step draws from the PRNG even when nothing runs). */
SM_NOCOV static void fz_gsh_step(int p, int rc)
{
	if (!Z.active)
		return;
	Z.run_pending = rc == 1;
	if (rc == 1 && Z.step_n && Z.step_p == p && !Z.step_reported) {
		Z.step_n++;
		return;
	}
	fz_gsh_flush_steps();
	if (rc == 1) {
		Z.step_p = p;
		Z.step_n = 1;
	} else if (p < 0) {
		fz_gsh_line("try step");
	} else {
		fz_gsh_line("try step on p%d", p); /* nothing there, or no such P */
	}
}

/* gort_go (p < 0) or gort_go_p(p) outside any G returned rc; the new G's
 * body is the func named after it. */
SM_NOCOV static void fz_gsh_spawn(int p, int64_t rc)
{
	if (!Z.active || rc == 0) /* 0: skipped, the input's Gs are spent */
		return;
	if (rc < 0 && p < 0)
		fz_gsh_line("try spawn { }"); /* out of memory: the harness fails */
	else if (rc < 0)
		fz_gsh_line("try spawn on p%d { }", p);
	else if (p < 0)
		fz_gsh_line("spawn g%lld", (long long)rc);
	else
		fz_gsh_line("spawn on p%d g%lld", p, (long long)rc);
}

SM_NOCOV static void fz_gsh_op_begin(void)
{
	Z.nops = (long)M.nops;
}

/* The operation's lines, the first one followed by the harness's own
 * account of it (as GORT_FUZZ_TRACE=1 and a failure message show it), or
 * preceded by it when that line is a comment. */
SM_NOCOV static void fz_gsh_op_end(void)
{
	if (!Z.active)
		return;
	fz_gsh_flush_steps();
	const char *s = Z.cur.s ? Z.cur.s : "";
	size_t first = 0;
	while (first < Z.cur.n && s[first] != '\n')
		first++;
	if ((long)M.nops != Z.nops) {
		const sm_opinfo *o = &M.ops[(M.nops - 1) % SM_OPS_RING];
		char op[160];
		snprintf(op, sizeof op, "op %ld: %s(%lld, %lld, %lld) -> %lld", o->no, o->name,
			 (long long)o->a, (long long)o->b, (long long)o->c, (long long)o->ret);
		if (first == 0)
			fz_tx(&Z.ops, "# %s\n", op);
		else if (s[0] == '#')
			fz_tx(&Z.ops, "# %s:%.*s\n", op, (int)first - 1, s + 1);
		else
			fz_tx(&Z.ops, "%-24.*s # %s\n", (int)first, s, op);
		if (first < Z.cur.n)
			fz_tx(&Z.ops, "%.*s", (int)(Z.cur.n - first - 1), s + first + 1);
	} else if (Z.cur.n) {
		fz_tx(&Z.ops, "%.*s", (int)Z.cur.n, s);
	}
	Z.cur.n = 0;
}

/* ---- one run of a G, from its body's log */

SM_PRINTF(1, 2) SM_NOCOV static void fz_gsh_do(const char *fmt, ...)
{
	char step[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(step, sizeof step, fmt, ap);
	va_end(ap);
	fz_tx(&Z.run, "%s%s", Z.run.n ? "; " : "", step);
}

SM_NOCOV static void fz_gsh_flush_note(void)
{
	if (!Z.note_n)
		return;
	fz_tx(&Z.notes, "%s%s", Z.notes.n ? ", " : "", Z.note);
	if (Z.note_n > 1)
		fz_tx(&Z.notes, " (%u times)", Z.note_n);
	Z.note_n = 0;
}

/* A call that changes nothing, for the comment of the run's line. */
SM_PRINTF(1, 2) SM_NOCOV static void fz_gsh_note(const char *fmt, ...)
{
	char note[sizeof Z.note];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(note, sizeof note, fmt, ap);
	va_end(ap);
	if (Z.note_n && strcmp(note, Z.note) == 0) {
		Z.note_n++;
		return;
	}
	fz_gsh_flush_note();
	memcpy(Z.note, note, sizeof note);
	Z.note_n = 1;
}

/* fz_drop of slot of G g, if it holds an object. */
SM_NOCOV static void fz_gsh_free(uint16_t g, unsigned slot)
{
	if (!Z.obj[g][slot])
		return;
	fz_gsh_do("free g%lld_%u", (long long)sm_goid(g), Z.obj[g][slot]);
	Z.obj[g][slot] = 0;
}

/* fz_do's A_ALLOC: slot 0 if empty, else slot 1, freed first if taken. */
SM_NOCOV static void fz_gsh_alloc(uint16_t g, const fz_log *l)
{
	unsigned slot = Z.obj[g][0] ? 1 : 0;
	fz_gsh_free(g, slot);
	uint32_t n = fz_sizes[l->arg];
	Z.obj[g][slot] = ++Z.nobj[g];
	fz_gsh_do("alloc %u%s as g%lld_%u", n, l->act == A_ALLOC2 && n < 16 ? " noscan" : "",
		  (long long)sm_goid(g), Z.obj[g][slot]);
}

/* A nested call a G may not make (or gort_self): it changes nothing. */
SM_NOCOV static void fz_gsh_nest(const fz_log *l)
{
	unsigned hi = l->arg >> 3;
	switch (l->target) {
	case 0: fz_gsh_note("gort_step: EDEADLK"); break;
	case 1: fz_gsh_note("gort_step_p(%u): EDEADLK", hi); break;
	case 2: fz_gsh_note("gort_set_procs(%u): EDEADLK", 1 + hi); break;
	case 3: fz_gsh_note("gort_run: EDEADLK"); break;
	case 4: fz_gsh_note("gort_go(NULL): EINVAL"); break;
	case 5: fz_gsh_note("gort_go_p(200): EINVAL"); break;
	default: fz_gsh_note("gort_self"); break;
	}
}

SM_NOCOV static void fz_gsh_spawn_in(const fz_log *l)
{
	if (l->rc > 0 && l->p < 0)
		fz_gsh_do("spawn g%lld", (long long)l->rc);
	else if (l->rc > 0)
		fz_gsh_do("spawn on p%d g%lld", l->p, (long long)l->rc);
	else if (l->p >= 0) /* no such P: the same EINVAL, shown in the step's line */
		fz_gsh_do("spawn on p%d { }", l->p);
	else /* out of memory: the harness fails */
		fz_gsh_do("spawn { }");
}

/* A select's body step: `select { recv c0; send c1 5; default }` (a case
 * on a nil channel has no channel to name; it draws nothing from the PRNG
 * either). */
SM_NOCOV static void fz_gsh_select(const fz_log *l)
{
	wm_selcase c[WM_SEL_MAX];
	int n = fz_sel_cases(l->act, l->arg, l->offer, c);
	char buf[128];
	int k = snprintf(buf, sizeof buf, "select {");
	for (int i = 0; i < n; i++) {
		if (c[i].chan < 0)
			continue;
		if (c[i].dir == GORT_SEND)
			k += snprintf(buf + k, sizeof buf - (size_t)k, " send c%d %lld;", c[i].chan,
				      (long long)c[i].val);
		else
			k += snprintf(buf + k, sizeof buf - (size_t)k, " recv c%d;", c[i].chan);
	}
	if (l->arg & 8)
		k += snprintf(buf + k, sizeof buf - (size_t)k, " default;");
	buf[k - 1] = ' ';
	fz_gsh_do("%s}", buf);
}

/* A waiting body's action as gortsh's body step (chan, sync and sleep
 * steps); a call that returns in a later run (W_RESUME) has its step in
 * the run it began in. */
SM_NOCOV static void fz_gsh_wait_act(uint16_t g, const fz_log *l)
{
	Z.waits = 1;
	int ch = l->arg & 3, mi = l->arg & 1;
	switch (l->act) {
	case W_SEND: fz_gsh_do("send c%d %lld", ch, (long long)l->val); break;
	case W_RECV: fz_gsh_do("recv c%d", ch); break;
	case W_SELECT:
	case W_SELECT2: fz_gsh_select(l); break;
	case W_CLOSE: fz_gsh_do("close c%d", ch); break;
	case W_LOCK: fz_gsh_do("lock m%d", mi); break;
	case W_UNLOCK: fz_gsh_do("unlock m%d", mi); break;
	case W_TRYLOCK:
		fz_gsh_inexact("trylock m%d", mi);
		fz_gsh_note("trylock m%d: %lld", mi, (long long)l->rc);
		break;
	case W_WG_ADD: fz_gsh_do("wg add %d", 1 + (l->arg & 3)); break;
	case W_WG_DONE: fz_gsh_do("wg done"); break;
	case W_WG_WAIT: fz_gsh_do("wg wait"); break;
	case W_SLEEP: fz_gsh_do("sleep %u", fz_sleep_ms[l->arg]); break;
	case W_YIELD: fz_gsh_do("yield"); break;
	case W_PARK: fz_gsh_do("park %s", SM_WAITREASON); break;
	case W_SPAWN: fz_gsh_spawn_in(l); break;
	default: (void)g; break; /* W_RESUME */
	}
}

SM_NOCOV static void fz_gsh_act(uint16_t g, const fz_log *l)
{
	if (l->act >= W_FIRST) {
		fz_gsh_wait_act(g, l);
		return;
	}
	switch (l->act) {
	case A_YIELD:
	case A_YIELD2:
	case A_YIELD3:
	case A_FORCED_YIELD: fz_gsh_do("yield"); break;
	case A_PARK:
	case A_PARK2: fz_gsh_do("park %s", SM_WAITREASON); break;
	case A_EXIT:
		for (unsigned i = 0; i < FZ_OBJS; i++)
			fz_gsh_free(g, i);
		fz_gsh_do("exit");
		break;
	case A_READY:
	case A_READY2:
		if (l->target > 0) /* a failed ready shows in the step's line */
			fz_gsh_do("ready g%lld", (long long)l->target);
		else
			fz_gsh_note("gort_ready(%lld): -1", (long long)l->target);
		break;
	case A_SPAWN:
	case A_SPAWN2:
	case A_SPAWN_ON: fz_gsh_spawn_in(l); break;
	case A_ALLOC:
	case A_ALLOC2: fz_gsh_alloc(g, l); break;
	case A_FREE: fz_gsh_free(g, l->arg & 1); break;
	case A_NEST: fz_gsh_nest(l); break;
	case A_SELF: fz_gsh_note("gort_self"); break;
	default: fz_gsh_note("a spawn skipped (the input made its %d Gs)", SM_G_MAX); break;
	}
}

/* One line of G g's func: the run in F.log, then a comment (the step as
 * the shell's step line shows it) and the calls that changed nothing. */
SM_NOCOV static void fz_gsh_run_line(uint16_t g, const char *comment)
{
	Z.run.n = Z.notes.n = 0;
	Z.note_n = 0;
	Z.in_run = 1;
	for (unsigned i = 0; i < F.nlog; i++)
		fz_gsh_act(g, &F.log[i]);
	Z.in_run = 0;
	fz_gsh_flush_note();
	fz_tx(&Z.body[g], "\t%-32.*s # %s", (int)Z.run.n, Z.run.s ? Z.run.s : "", comment);
	if (Z.notes.n)
		fz_tx(&Z.body[g], "; also %.*s", (int)Z.notes.n, Z.notes.s);
	fz_tx(&Z.body[g], "\n");
	Z.run_pending = 0;
}

/* G g has just run (its log is in F.log). */
SM_NOCOV static void fz_gsh_ran(const gort_event *run, uint16_t g)
{
	if (!Z.active)
		return;
	char comment[64];
	int n = snprintf(comment, sizeof comment, "[%llu] p%d %s", (unsigned long long)M.steps,
			 run->p, gort_event_source_name(run->source));
	if (run->source == GORT_SRC_STOLEN)
		snprintf(comment + n, sizeof comment - (size_t)n, " from p%d", run->from);
	fz_gsh_run_line(g, comment);
}

/* ---- the script */

SM_NOCOV static void fz_gsh_begin(void)
{
	Z.active = Z.on && Z.runs++ == 0;
	if (!Z.active)
		return;
	Z.step_n = 0;
	Z.waits = 0;
	Z.inexact[0] = 0;
	memset(Z.obj, 0, sizeof Z.obj);
	memset(Z.nobj, 0, sizeof Z.nobj);
}

/* The runtime as setup() left it for the first input: gort_init, then
 * fz_reset (its G is g1), then the input's own gort_reseed. */
SM_NOCOV static void fz_gsh_prelude(void)
{
	printf("# fuzz_sched input as a gortsh script (GORT_FUZZ_GSH=1): each G's body is the\n"
	       "# func named after it, one line per run ([step] P queue); the operations follow,\n"
	       "# each with the harness's account of it; the end holds the harness's final state.\n"
	       "init procs=%d arena=%zuM stack=%zuK seed=%#llx threads=off harden=light\n",
	       FZ_PROCS, FZ_ARENA_BYTES >> 20, FZ_STACK_BYTES >> 10, FZ_SEED);
	printf("# the harness's reset before its first input: one P, a G that yields until P 0's\n"
	       "# schedtick is a multiple of %d, %d Ps again, the seed again\n",
	       SM_GLOBAL_TICK, FZ_PROCS);
	printf("procs 1\n");
	if (Z.reset_yields) /* never for the first input: P 0 starts at tick 0 */
		printf("spawn on p0 { repeat %u { yield } }\nstep %u on p0\n", Z.reset_yields,
		       Z.reset_yields + 1);
	else
		printf("spawn on p0 { }\nstep on p0\n");
	printf("procs %d\nreseed %#llx\n", FZ_PROCS, FZ_SEED);
	if (Z.inexact[0])
		printf("# inexact: gortsh has no command for %s (and what follows may differ)\n",
		       Z.inexact);
	if (Z.waits) {
		printf("# the harness's channels, made at the start of every input\n");
		for (int i = 0; i < WM_CHANS; i++)
			printf("chan c%d %zu\n", i, wm_caps[i]);
	}
	printf("# the input\nreseed %#llx\n", FZ_SEED);
}

/* Gs spawn only Gs made after them, so defining the funcs from the last G
 * down lets each name the funcs of its children. At the end of the input
 * (drain = 1) a live G gets one more line: what it does when it next runs,
 * in the harness's drain (fz_body leaves its loop, frees its objects and
 * exits). */
SM_NOCOV static void fz_gsh_funcs(int drain)
{
	for (uint32_t i = M.ng; i-- > 0;) {
		uint16_t g = (uint16_t)i;
		printf("func g%lld {\n%.*s", (long long)sm_goid(g), (int)Z.body[g].n,
		       Z.body[g].s ? Z.body[g].s : "");
		if (drain && M.st[g] != SM_DEAD) {
			Z.run.n = 0;
			for (unsigned k = 0; k < FZ_OBJS; k++)
				fz_gsh_free(g, k);
			fz_gsh_do("exit");
			printf("\t%-32.*s # after the input: the drain\n", (int)Z.run.n, Z.run.s);
		}
		printf("}\n");
	}
}

/* fz_drain's calls, as comments: the script stops before them, at the
 * state the harness compares last, but a drain can be stepped through too. */
SM_NOCOV static void fz_gsh_drain(void)
{
	uint16_t parked[SM_G_MAX];
	uint32_t n = M.nparked;
	memcpy(parked, M.parked, n * sizeof *parked);
	printf("# the harness's drain (remove the '# ' to step through it): every parked G\n"
	       "# readied from outside, then gort_run; each G frees its objects and exits\n");
	while (n) { /* in fz_drain's order: sm_unpark moves the last into slot 0 */
		printf("# ready g%lld\n", (long long)sm_goid(parked[0]));
		parked[0] = parked[--n];
	}
	printf("# run\n");
}

SM_NOCOV static void fz_gsh_dq(const char *key, const sm_dq *q, uint32_t max)
{
	printf(" %s=", key);
	uint32_t n = q->n < max ? q->n : max;
	for (uint32_t i = 0; i < n; i++)
		printf("%s%lld", i ? "," : "", (long long)sm_goid(dq_at(q, i)));
	if (!n)
		printf("-");
}

/* What the model (checked against the runtime after the last operation)
 * says: tests/shell/fuzz2gsh_sched_state.py reads the same from gortsh. */
SM_NOCOV static void fz_gsh_state(void)
{
	printf("# state: steps=%llu", (unsigned long long)M.steps);
	for (unsigned i = 0; i < M.nprocs; i++) {
		const sm_p *p = &M.p[i];
		printf(" p%u:tick=%u:gfree=%u:next=%lld", i, p->schedtick, p->gfree,
		       (long long)sm_goid(p->runnext));
		fz_gsh_dq("ring", &p->ring, SM_RING);
	}
	fz_gsh_dq("global", &M.glob, GORT_RUNQ_CAP);
	printf(" global_len=%u", M.glob.n);
	for (uint32_t i = 0; i < M.ng; i++)
		if (M.st[i] == SM_RUNNABLE || M.st[i] == SM_PARKED)
			printf(" g%lld=%s%s", (long long)sm_goid((int32_t)i),
			       M.st[i] == SM_PARKED ? "waiting/" : "runnable",
			       M.st[i] == SM_PARKED ? M.reason[i] : "");
	printf("\n");
}

SM_NOCOV static void fz_gsh_release(void)
{
	fflush(stdout);
	for (uint32_t i = 0; i < SM_G_MAX; i++)
		fz_tx_free(&Z.body[i]);
	fz_tx_free(&Z.cur);
	fz_tx_free(&Z.ops);
	fz_tx_free(&Z.run);
	fz_tx_free(&Z.notes);
	Z.active = 0;
}

/* The whole script, at the end of the input, before the drain. */
SM_NOCOV static void fz_gsh_end(void)
{
	if (!Z.active)
		return;
	fz_gsh_prelude();
	fz_gsh_funcs(1);
	printf("%.*s", (int)Z.ops.n, Z.ops.s ? Z.ops.s : "");
	printf("# the end of the input\nps\ndump runq global\ngs\nschedtrace\n");
	fz_gsh_state();
	fz_gsh_drain();
	fz_gsh_release();
}

/* sm_fail's last words: the script up to the call the harness found wrong,
 * that call included (a step's run, from its log), so running it leaves
 * the shell where the harness failed. */
SM_NOCOV static void fz_gsh_fail(void)
{
	if (!Z.active)
		return;
	if (Z.run_pending && F.nlog > 0)
		fz_gsh_run_line(F.log[0].g, "the step the harness failed in");
	fz_gsh_flush_steps();
	fz_tx(&Z.ops, "%.*s", (int)Z.cur.n, Z.cur.s ? Z.cur.s : "");
	fz_gsh_prelude();
	fz_gsh_funcs(0);
	printf("%.*s", (int)Z.ops.n, Z.ops.s ? Z.ops.s : "");
	const sm_opinfo *o = M.nops ? &M.ops[(M.nops - 1) % SM_OPS_RING] : NULL;
	if (o && o->no == M.op_no)
		printf("# the harness failed in op %ld, %s(%lld, %lld, %lld), after the call above\n",
		       o->no, o->name, (long long)o->a, (long long)o->b, (long long)o->c);
	else
		printf("# the harness failed here\n");
	printf("# (its message is on stderr)\n");
	fz_gsh_release();
}

/* ------------------------------------------------------------ stepping */

/* ---- waiting actions, replayed */

/* The result of a blocking call that returned: what the entry says. */
SM_NOCOV static void fz_want_rc(const fz_log *l, int64_t rc, int64_t val, const char *what)
{
	SM_ASSERT(l->rc == rc && l->val == val,
		  "g%lld: %s returned %lld (value %lld), the model says %lld (value %lld)",
		  (long long)sm_goid(l->g), what, (long long)l->rc, (long long)l->val,
		  (long long)rc, (long long)val);
	SM_ASSERT(l->now == W.vnow, "g%lld: gort_now() = %lld in a G, the model's clock %lld",
		  (long long)sm_goid(l->g), (long long)l->now, (long long)W.vnow);
}

SM_NOCOV static const char *fz_reason(uint8_t kind)
{
	switch (kind) {
	case WK_SEND: return "chan send";
	case WK_RECV: return "chan receive";
	case WK_SELECT: return "select";
	case WK_MUTEX: return "sync.Mutex.Lock";
	case WK_WG: return "sync.WaitGroup.Wait";
	default: return "sleep";
	}
}

/* G g parks in a primitive (kind, on object obj). */
SM_NOCOV static void fz_block(uint16_t g, uint8_t kind, int obj)
{
	wm_gs *w = &W.g[g];
	w->kind = kind;
	w->obj = (uint8_t)obj;
	w->woken = 0;
	W.nblocked++;
}

/* Which of a select's cases are ready now; how many. */
SM_NOCOV static int fz_sel_ready(const wm_selcase *c, int n, uint8_t *ready)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		ready[i] = c[i].chan >= 0 &&
			   (c[i].dir == GORT_RECV ? wc_recv_ready(c[i].chan) : wc_send_ready(c[i].chan));
		k += ready[i];
	}
	return k;
}

/* A select that found cases ready: the one the runtime took must be one
 * (a send case on a closed channel fails, reported), and does what the
 * model says. */
SM_NOCOV static void fz_sel_taken(unsigned k, uint16_t g, const fz_log *l, const wm_selcase *c,
				  int n, const uint8_t *ready, int nready)
{
	int64_t self = sm_goid(g);
	SM_ASSERT(l->done, "g%lld: a select with %d ready cases waited", (long long)self, nready);
	int i = (int)l->rc;
	if (l->rc < 0) { /* the one send case, on a closed channel: it fails */
		for (int j = 0; j < n; j++)
			if (ready[j] && c[j].dir == GORT_SEND && W.c[c[j].chan].closed)
				i = j;
		SM_ASSERT(i >= 0, "g%lld: select = %lld with %d ready cases", (long long)self,
			  (long long)l->rc, nready);
		fz_expect_report(GORT_ERR_SEND_ON_CLOSED, "select");
	}
	SM_ASSERT(i < n && ready[i], "g%lld: select took case %d, which is not ready",
		  (long long)self, i);
	if (nready >= 2) {
		int rank = 0;
		for (int j = 0; j < i; j++)
			rank += ready[j];
		W.fair[nready - 2][rank]++;
	}
	if (l->rc < 0)
		return;
	if (c[i].dir == GORT_SEND) {
		SM_ASSERT(!W.c[c[i].chan].closed, "g%lld: select sent on closed c%d",
			  (long long)self, c[i].chan);
		wc_send(c[i].chan, c[i].val, (int32_t)k, self);
		return;
	}
	int64_t v = 0;
	int r = wc_recv(c[i].chan, &v, (int32_t)k, self);
	SM_ASSERT(l->val == v && l->ok == (r == 1),
		  "g%lld: select received %lld (ok %d) from c%d, the model says %lld (ok %d)",
		  (long long)self, (long long)l->val, l->ok, c[i].chan, (long long)v, r == 1);
}

/* A select: 0 done, 1 it parked. */
SM_NOCOV static int fz_replay_select(unsigned k, uint16_t g, const fz_log *l)
{
	wm_gs *w = &W.g[g];
	w->nsel = (uint8_t)fz_sel_cases(l->act, l->arg, l->offer, w->sel);
	uint8_t ready[WM_SEL_MAX];
	int nready = fz_sel_ready(w->sel, w->nsel, ready);
	if (nready) {
		fz_sel_taken(k, g, l, w->sel, w->nsel, ready, nready);
		return 0;
	}
	if (l->arg & 8) {
		SM_ASSERT(l->done && l->rc == -1, "g%lld: select with default and nothing ready = %lld",
			  (long long)sm_goid(g), (long long)l->rc);
		return 0;
	}
	SM_ASSERT(!l->done, "g%lld: a select with nothing ready returned %lld",
		  (long long)sm_goid(g), (long long)l->rc);
	w->fired = -1;
	for (int i = 0; i < w->nsel; i++)
		if (w->sel[i].chan >= 0)
			wq_push(w->sel[i].dir == GORT_SEND ? &W.c[w->sel[i].chan].sendq
							   : &W.c[w->sel[i].chan].recvq,
				g, i, w->sel[i].val);
	fz_block(g, WK_SELECT, 0);
	return 1;
}

/* A mutex or WaitGroup call returned (r = 1) or parked (0), as the model
 * says. Returns 1 if it parked. */
SM_NOCOV static int fz_returned(const fz_log *l, int r, const char *what)
{
	SM_ASSERT(l->done == (r == 1), "g%lld: %s %s, the model says it %s",
		  (long long)sm_goid(l->g), what, l->done ? "returned" : "did not return",
		  r == 1 ? "returns" : "waits");
	return r != 1;
}

SM_NOCOV static uint32_t fz_replay_send(unsigned k, uint16_t g, const fz_log *l, int ch)
{
	int64_t self = sm_goid(g);
	int r = wc_send(ch, l->val, (int32_t)k, self);
	if (r == 0) {
		SM_ASSERT(!l->done, "g%lld: a send on full c%d returned", (long long)self, ch);
		wq_push(&W.c[ch].sendq, g, -1, l->val);
		fz_block(g, WK_SEND, ch);
		return GORT_OUT_PARKED + 1;
	}
	SM_ASSERT(l->done, "g%lld: a send on c%d waited, the model says it goes", (long long)self,
		  ch);
	if (r < 0)
		fz_expect_report(GORT_ERR_SEND_ON_CLOSED, "send");
	fz_want_rc(l, r < 0 ? -1 : 0, l->val, "send");
	return 0;
}

SM_NOCOV static uint32_t fz_replay_recv(unsigned k, uint16_t g, const fz_log *l, int ch)
{
	int64_t self = sm_goid(g), v = 0;
	int r = wc_recv(ch, &v, (int32_t)k, self);
	if (r < 0) {
		SM_ASSERT(!l->done, "g%lld: a receive on empty c%d returned %lld", (long long)self,
			  ch, (long long)l->rc);
		wq_push(&W.c[ch].recvq, g, -1, 0);
		fz_block(g, WK_RECV, ch);
		return GORT_OUT_PARKED + 1;
	}
	SM_ASSERT(l->done, "g%lld: a receive on c%d waited, the model says it goes",
		  (long long)self, ch);
	fz_want_rc(l, r, v, "recv");
	return 0;
}

SM_NOCOV static uint32_t fz_replay_mutex(unsigned k, uint16_t g, const fz_log *l, int mi)
{
	int64_t self = sm_goid(g);
	wm_mutex *m = &W.m[mi];
	int r;
	switch (l->act) {
	case W_LOCK:
		if (fz_returned(l, wx_lock(mi, g), "mutex lock")) {
			fz_block(g, WK_MUTEX, mi);
			return GORT_OUT_PARKED + 1;
		}
		SM_ASSERT(m->holder < 0, "g%lld locked m%d, which g%lld holds", (long long)self, mi,
			  (long long)sm_goid(m->holder));
		m->holder = g;
		return 0;
	case W_TRYLOCK:
		r = wx_trylock(mi);
		SM_ASSERT(l->rc == r, "g%lld: trylock(m%d) = %lld, the model says %d",
			  (long long)self, mi, (long long)l->rc, r);
		if (r) {
			SM_ASSERT(m->holder < 0, "g%lld trylocked m%d, which g%lld holds",
				  (long long)self, mi, (long long)sm_goid(m->holder));
			m->holder = g;
		}
		return 0;
	default: /* W_UNLOCK */
		if (m->holder == g)
			m->holder = -1;
		r = wx_unlock(mi, (int32_t)k, self);
		if (r < 0)
			fz_expect_report(GORT_ERR_UNLOCK_OF_UNLOCKED, "unlock");
		SM_ASSERT(l->done == (r != 1), "g%lld: unlock(m%d) %s, the model says it %s",
			  (long long)self, mi, l->done ? "returned" : "yielded",
			  r == 1 ? "hands the lock over and yields" : "returns");
		if (r != 1)
			return 0;
		W.g[g].kind = WK_HANDED;
		return GORT_OUT_YIELDED + 1;
	}
}

SM_NOCOV static uint32_t fz_replay_sleep(unsigned k, uint16_t g, const fz_log *l)
{
	int64_t self = sm_goid(g);
	if (!fz_sleep_ms[l->arg]) {
		SM_ASSERT(l->done, "g%lld: sleep(0) parked", (long long)self);
		return 0;
	}
	SM_ASSERT(!l->done, "g%lld: sleep(%u ms) returned at once", (long long)self,
		  fz_sleep_ms[l->arg]);
	/* Go: the timer goes on the heap of the P the G slept on. */
	wt_push(k, W.vnow + (int64_t)fz_sleep_ms[l->arg] * 1000000, g);
	fz_block(g, WK_SLEEP, 0);
	return GORT_OUT_PARKED + 1;
}

/* One entry of a waiting body's log; returns 0 to go on, else the outcome
 * + 1 the run must end with. */
SM_NOCOV static uint32_t fz_replay_wait(unsigned k, uint16_t g, const fz_log *l)
{
	int64_t self = sm_goid(g);
	int ch = l->arg & 3;
	switch (l->act) {
	case W_SEND: return fz_replay_send(k, g, l, ch);
	case W_RECV: return fz_replay_recv(k, g, l, ch);
	case W_SELECT:
	case W_SELECT2: return fz_replay_select(k, g, l) ? GORT_OUT_PARKED + 1 : 0;
	case W_CLOSE:
		if (wc_close(ch, (int32_t)k, self) < 0)
			fz_expect_report(GORT_ERR_CLOSE_OF_CLOSED, "close");
		return 0;
	case W_LOCK:
	case W_TRYLOCK:
	case W_UNLOCK: return fz_replay_mutex(k, g, l, l->arg & 1);
	case W_WG_ADD:
	case W_WG_DONE:
		if (wg_add(l->act == W_WG_DONE ? -1 : 1 + (l->arg & 3), (int32_t)k, self) != WG_OK)
			fz_expect_report(GORT_ERR_WAITGROUP_MISUSE, "wg_add");
		return 0;
	case W_WG_WAIT: {
		int r = wg_wait(g);
		if (fz_returned(l, r != 0, "wg wait")) {
			fz_block(g, WK_WG, 0);
			return GORT_OUT_PARKED + 1;
		}
		if (r == 2)
			fz_expect_report(GORT_ERR_WAITGROUP_MISUSE, "wg wait, reused");
		return 0;
	}
	case W_SLEEP: return fz_replay_sleep(k, g, l);
	case W_YIELD: return GORT_OUT_YIELDED + 1;
	case W_PARK: return GORT_OUT_PARKED + 1;
	default: sm_fail("g%lld: a resume in the middle of a run", (long long)self);
	}
	return 0;
}

/* A woken select's result: the case that fired. */
SM_NOCOV static void fz_resume_select(uint16_t g, const fz_log *l)
{
	wm_gs *w = &W.g[g];
	int64_t self = sm_goid(g);
	int f = w->fired;
	SM_ASSERT(f >= 0, "g%lld: a select woke with no case fired", (long long)self);
	wq_drop_g(g);
	w->fired = -1;
	if (w->sel[f].dir == GORT_SEND && !w->success) {
		fz_expect_report(GORT_ERR_SEND_ON_CLOSED, "select, woken by close");
		fz_want_rc(l, -1, l->val, "select");
	} else if (w->sel[f].dir == GORT_SEND) {
		fz_want_rc(l, f, l->val, "select");
	} else {
		fz_want_rc(l, f, w->success ? w->got : 0, "select");
		SM_ASSERT(l->ok == w->success, "g%lld: select's ok %d, the model says %d",
			  (long long)self, l->ok, w->success);
	}
}

/* G g, which waited in a primitive (or yielded in an unlock), runs again:
 * first what its call does when it resumes. Returns 1 if the call returns
 * now (the run's first entry must be its W_RESUME), 0 if it parks again
 * (the run must be empty and park). */
SM_NOCOV static int fz_resume(uint16_t g)
{
	wm_gs *w = &W.g[g];
	const fz_log *l = F.nlog ? &F.log[0] : NULL;
	int64_t self = sm_goid(g);
	uint8_t kind = w->kind;
	if ((kind == WK_MUTEX && !wx_resume(w->obj, g)) ||
	    (kind == WK_WG && !ws_resume(&W.wg_sema, g))) {
		SM_ASSERT(F.nlog == 0, "g%lld: its %s returned, the model says it waits again",
			  (long long)self, fz_reason(kind));
		w->woken = 0;
		W.nblocked++;
		return 0;
	}
	SM_ASSERT(l && l->act == W_RESUME, "g%lld ran after waiting (%s) without returning",
		  (long long)self, kind == WK_HANDED ? "unlock" : fz_reason(kind));
	w->kind = WK_NONE;
	w->woken = 0;
	switch (kind) {
	case WK_SEND:
		if (!w->success)
			fz_expect_report(GORT_ERR_SEND_ON_CLOSED, "send, woken by close");
		fz_want_rc(l, w->success ? 0 : -1, l->val, "send");
		break;
	case WK_RECV: fz_want_rc(l, w->success, w->success ? w->got : 0, "recv"); break;
	case WK_SELECT: fz_resume_select(g, l); break;
	case WK_MUTEX:
		SM_ASSERT(W.m[w->obj].holder < 0, "g%lld locked m%d, which g%lld holds",
			  (long long)self, w->obj, (long long)sm_goid(W.m[w->obj].holder));
		W.m[w->obj].holder = g;
		fz_want_rc(l, l->rc, l->val, "lock");
		break;
	case WK_WG:
		if (W.wg_counter || W.wg_waiters)
			fz_expect_report(GORT_ERR_WAITGROUP_MISUSE, "wg wait, reused");
		fz_want_rc(l, l->rc, l->val, "wg wait");
		break;
	default: fz_want_rc(l, l->rc, l->val, kind == WK_SLEEP ? "sleep" : "unlock"); break;
	}
	return 1;
}

/* Replay the classic entries of a body's log of one run on P k (from entry
 * `from` on) into the model, checking each result; returns the outcome the
 * log ends with. */
SM_NOCOV static uint32_t fz_replay_plain(unsigned k, uint16_t ran, unsigned from)
{
	SM_ASSERT(F.nlog > 0, "g%lld ran and did nothing", (long long)sm_goid(ran));
	int64_t self = sm_goid(ran);
	fz_g *g = &F.g[ran];
	SM_ASSERT(!g->bad, "g%lld: an object's pattern was damaged before its free",
		  (long long)self);
	for (unsigned i = from; i < F.nlog; i++) {
		const fz_log *l = &F.log[i];
		SM_ASSERT(l->g == ran, "the log of g%lld holds an action of g%lld", (long long)self,
			  (long long)sm_goid(l->g));
		int last = i + 1 == F.nlog;
		if (M.trace)
			fprintf(stderr, "      g%lld: %s %u -> %lld (value %lld)%s\n", (long long)self,
				l->act >= W_FIRST ? fz_wact_name[l->act - W_FIRST]
						  : fz_act_name[l->act],
				l->arg, (long long)l->rc, (long long)l->val,
				l->act >= W_FIRST && !l->done ? ", waits" : "");
		if (l->act >= W_FIRST && l->act != W_SPAWN) {
			uint32_t out = fz_replay_wait(k, ran, l);
			if (out) {
				SM_ASSERT(last, "g%lld went on after its %s", (long long)self,
					  fz_wact_name[l->act - W_FIRST]);
				return out - 1;
			}
			continue;
		}
		switch (l->act) {
		case A_YIELD:
		case A_YIELD2:
		case A_YIELD3:
		case A_FORCED_YIELD:
			SM_ASSERT(last, "g%lld went on after a yield", (long long)self);
			return GORT_OUT_YIELDED;
		case A_PARK:
		case A_PARK2:
			SM_ASSERT(last, "g%lld went on after a park", (long long)self);
			return GORT_OUT_PARKED;
		case A_EXIT:
			SM_ASSERT(last, "g%lld went on after its exit", (long long)self);
			return GORT_OUT_EXITED;
		case A_READY:
		case A_READY2: {
			int ok = sm_ready_ok(l->target);
			SM_ASSERT(l->rc == (ok ? 0 : -1),
				  "g%lld on P%u: gort_ready(%lld) = %lld, the model says %d",
				  (long long)self, k, (long long)l->target, (long long)l->rc,
				  ok ? 0 : -1);
			if (ok)
				sm_ready((uint16_t)sm_index(l->target), (int32_t)k, self, M.steps);
			break;
		}
		case A_SPAWN:
		case A_SPAWN2:
		case A_SPAWN_ON:
		case W_SPAWN: {
			unsigned p = l->p >= 0 ? (unsigned)l->p : k;
			if (l->p >= 0 && (unsigned)l->p >= M.nprocs) {
				SM_ASSERT(l->rc == -1 && l->err == EINVAL,
					  "g%lld: gort_go_p(%d) with %u Ps = %lld (errno %d), "
					  "expected EINVAL",
					  (long long)self, l->p, M.nprocs, (long long)l->rc,
					  l->err);
				break;
			}
			SM_ASSERT(l->child == (int32_t)M.ng,
				  "harness: child record %d, the model is at %u", l->child, M.ng);
			SM_ASSERT(l->rc == (int64_t)M.next_goid,
				  "g%lld on P%u: gort_go%s = %lld (errno %d), the model says goid "
				  "%llu",
				  (long long)self, k, l->p >= 0 ? "_p" : "", (long long)l->rc,
				  l->err, (unsigned long long)M.next_goid);
			sm_go(p, self, M.steps);
			break;
		}
		case A_NEST:
			if (l->target <= 3)
				SM_ASSERT(l->rc == -1 && l->err == EDEADLK,
					  "g%lld: nested call %lld = %lld (errno %d), expected "
					  "EDEADLK",
					  (long long)self, (long long)l->target, (long long)l->rc,
					  l->err);
			else if (l->target <= 5)
				SM_ASSERT(
					l->rc == -1 && l->err == EINVAL,
					"g%lld: bad gort_go call %lld = %lld (errno %d), expected "
					"EINVAL",
					(long long)self, (long long)l->target, (long long)l->rc,
					l->err);
			else
				SM_ASSERT(l->rc == self, "g%lld: gort_self() = %lld",
					  (long long)self, (long long)l->rc);
			break;
		case A_SELF:
			SM_ASSERT(l->rc == self, "g%lld: gort_self() = %lld", (long long)self,
				  (long long)l->rc);
			break;
		case A_ALLOC:
		case A_ALLOC2:
			SM_ASSERT(l->rc == 1, "g%lld: allocation failed", (long long)self);
			break;
		default: /* free, skip */ break;
		}
	}
	sm_fail("g%lld's log ends without a yield, park or exit", (long long)self);
	return 0;
}

/* Replay the body's log of one run on P k into the model, checking each
 * result; returns the outcome the log ends with. */
SM_NOCOV static uint32_t fz_replay(unsigned k, uint16_t ran)
{
	SM_ASSERT(!F.log_overflow, "body log overflow");
	unsigned from = 0;
	if (W.g[ran].kind != WK_NONE) {
		if (!fz_resume(ran))
			return GORT_OUT_PARKED;
		from = 1;
	}
	return fz_replay_plain(k, ran, from);
}

/* One step: gort_step (p < 0) or gort_step_p(p). Returns its result. */
SM_NOCOV static int fz_step(int p)
{
	F.nlog = 0;
	F.log_overflow = 0;
	F.stepgen++;
	errno = 0;
	int rc = p < 0 ? gort_step() : gort_step_p((unsigned)p);
	int err = errno;
	fz_gsh_step(p, rc); /* before any check: a step that fails one is in the script */
	size_t n = fz_events();
	if (p >= 0 && (unsigned)p >= M.nprocs) {
		SM_ASSERT(rc == -1 && err == EINVAL && n == 0,
			  "gort_step_p(%d) with %u Ps = %d (errno %d), expected EINVAL", p,
			  M.nprocs, rc, err);
		return rc;
	}
	int can = p < 0 ? M.nrunnable > 0 : sm_p_can_run((unsigned)p);
	if (!can && wt_next()) { /* nothing can run: the clock jumps to the next timer */
		if (wt_next() > W.vnow)
			W.vnow = wt_next();
		wt_fire_due();
		can = p < 0 ? M.nrunnable > 0 : sm_p_can_run((unsigned)p);
	}
	SM_ASSERT(rc == can, "gort_step%s(%d) = %d (errno %d), the model says %d",
		  p < 0 ? "" : "_p", p, rc, err, can);
	if (rc != 1) {
		SM_ASSERT(n == 0 && F.nlog == 0, "a step that ran nothing made %zu events", n);
		fz_reports_done();
		return rc;
	}
	SM_ASSERT(n >= 1 && F.ev[n - 1].kind == GORT_EV_RUN, "a step made no RUN event");
	const gort_event *run = &F.ev[n - 1];
	SM_ASSERT(p < 0 || run->p == p, "gort_step_p(%d) ran on P%d", p, run->p);
	SM_ASSERT(p >= 0 || M.nprocs > 1 || run->p == 0, "one P, and the step ran on P%d", run->p);
	uint16_t g = sm_take(run);
	uint32_t outcome = fz_replay((unsigned)run->p, g);
	sm_match_events(F.ev, n - 1);
	SM_ASSERT(run->outcome == outcome, "g%lld left with %s, its body says %s",
		  (long long)run->goid, gort_event_outcome_name(run->outcome),
		  gort_event_outcome_name(outcome));
	sm_outcome((unsigned)run->p, g, outcome);
	if (outcome == GORT_OUT_PARKED && W.g[g].kind != WK_NONE) {
		M.reason[g] = fz_reason(W.g[g].kind);
		M.prim[g] = 1;
	}
	fz_reports_done();
	fz_gsh_ran(run, g);
	F.steps++;
	return rc;
}

/* --------------------------------------------------------- operations */

typedef void (*fz_op_fn)(fdp_t *d);

/* Spawn from outside any G: gort_go (p < 0) or gort_go_p(p). */
SM_NOCOV static int64_t fz_spawn_outside(int p, unsigned body)
{
	if (F.made >= SM_G_MAX)
		return 0;
	fz_g *c = fz_new_g(body);
	errno = 0;
	int64_t rc = p < 0 ? gort_go(fz_body, c) : gort_go_p((unsigned)p, fz_body, c);
	int err = errno;
	fz_gsh_spawn(p, rc);
	if (p >= 0 && (unsigned)p >= M.nprocs) {
		SM_ASSERT(rc == -1 && err == EINVAL,
			  "gort_go_p(%d) with %u Ps = %lld (errno %d), expected EINVAL", p,
			  M.nprocs, (long long)rc, err);
		F.made--;
		return rc;
	}
	SM_ASSERT(rc == (int64_t)M.next_goid, "gort_go%s = %lld (errno %d), the model says %llu",
		  p < 0 ? "" : "_p", (long long)rc, err, (unsigned long long)M.next_goid);
	sm_go(p < 0 ? 0 : (unsigned)p, 0, M.steps);
	return rc;
}

SM_NOCOV static unsigned fz_pick_body(fdp_t *d)
{
	return (unsigned)fdp_range(d, 0, F.nbodies - 1);
}

SM_NOCOV static void op_spawn(fdp_t *d)
{
	unsigned b = fz_pick_body(d);
	sm_opinfo *o = sm_op("spawn", b, 0, 0);
	sm_ret(o, fz_spawn_outside(-1, b));
	fz_after_op();
}

SM_NOCOV static void op_spawn_on(fdp_t *d)
{
	unsigned b = fz_pick_body(d);
	int p = (int)fdp_range(d, 0, SM_PROCS_MAX);
	sm_opinfo *o = sm_op("spawn_on", b, p, 0);
	sm_ret(o, fz_spawn_outside(p, b));
	fz_after_op();
}

SM_NOCOV static void op_spawn_many(fdp_t *d)
{
	unsigned b = fz_pick_body(d);
	int p = (int)fdp_range(d, 0, SM_PROCS_MAX + 1) - 1; /* -1: gort_go */
	unsigned k = (unsigned)fdp_range(d, 2, 64);
	sm_opinfo *o = sm_op("spawn_many", b, p, k);
	int64_t last = 0;
	for (unsigned i = 0; i < k; i++)
		last = fz_spawn_outside(p, b);
	sm_ret(o, last);
	fz_after_op();
}

SM_NOCOV static void op_step(fdp_t *d)
{
	(void)d;
	if (F.steps >= FZ_MAX_STEPS)
		return;
	sm_opinfo *o = sm_op("step", 0, 0, 0);
	sm_ret(o, fz_step(-1));
	fz_check();
}

SM_NOCOV static void op_step_p(fdp_t *d)
{
	int p = (int)fdp_range(d, 0, SM_PROCS_MAX);
	if (F.steps >= FZ_MAX_STEPS)
		return;
	sm_opinfo *o = sm_op("step_p", p, 0, 0);
	sm_ret(o, fz_step(p));
	fz_check();
}

SM_NOCOV static void op_steps(fdp_t *d)
{
	unsigned k = (unsigned)fdp_range(d, 1, 16);
	sm_opinfo *o = sm_op("steps", k, 0, 0);
	unsigned i = 0;
	for (; i < k && F.steps < FZ_MAX_STEPS; i++) {
		if (fz_step(-1) != 1)
			break;
		fz_check();
	}
	sm_ret(o, i);
	fz_check();
}

SM_NOCOV static void op_run(fdp_t *d)
{
	(void)d;
	sm_opinfo *o = sm_op("run", 0, 0, 0);
	unsigned i = 0;
	int idle = 0;
	for (; i < FZ_RUN_STEPS && F.steps < FZ_MAX_STEPS; i++) {
		if (fz_step(-1) != 1) {
			idle = 1;
			break;
		}
		fz_check();
	}
	if (idle) {
		/* Nothing runnable: gort_run makes no step and counts the parked. */
		int rc = gort_run();
		fz_gsh_line("run"); /* one gort_step, which finds nothing, as gort_run's */
		SM_ASSERT(rc == (int)M.nparked,
			  "gort_run() when idle = %d, the model has %u parked", rc, M.nparked);
		SM_ASSERT(fz_events() == 0, "gort_run when idle made events");
	}
	sm_ret(o, i);
	fz_check();
}

SM_NOCOV static void op_ready(fdp_t *d)
{
	unsigned which = (unsigned)fdp_range(d, 0, 255);
	int64_t goid;
	if (which < 240 && M.nparked)
		goid = sm_goid(M.parked[which % M.nparked]);
	else if (which < 244 && M.ng)
		goid = sm_goid((int32_t)(which % M.ng)); /* whatever it is now */
	else if (which < 248)
		goid = M.base - 1; /* dead: the previous input's last */
	else if (which < 252)
		goid = 0;
	else
		goid = which & 1 ? -5 : INT64_MAX;
	sm_opinfo *o = sm_op("ready", goid, 0, 0);
	int ok = sm_ready_ok(goid);
	int rc = gort_ready(goid);
	sm_ret(o, rc);
	if (goid > 0)
		fz_gsh_line("%sready g%lld", rc == 0 ? "" : "try ", (long long)goid);
	else
		fz_gsh_line("# gort_ready(%lld) outside any G: -1, nothing changes",
			    (long long)goid);
	SM_ASSERT(rc == (ok ? 0 : -1), "gort_ready(%lld) outside = %d, the model says %d",
		  (long long)goid, rc, ok ? 0 : -1);
	if (ok)
		sm_ready((uint16_t)sm_index(goid), -1, 0, M.steps);
	fz_after_op();
}

SM_NOCOV static void op_reseed(fdp_t *d)
{
	uint64_t seed = fdp_u32(d);
	sm_opinfo *o = sm_op("reseed", (int64_t)seed, 0, 0);
	gort_reseed(seed);
	sm_ret(o, 0);
	fz_gsh_line("reseed %llu", (unsigned long long)seed);
}

SM_NOCOV static void op_set_procs(fdp_t *d)
{
	unsigned v = (unsigned)fdp_range(d, 0, SM_PROCS_MAX + 1);
	unsigned n = v == SM_PROCS_MAX + 1 ? 257 : v;
	sm_opinfo *o = sm_op("set_procs", n, 0, 0);
	errno = 0;
	int rc = gort_set_procs(n);
	int err = errno;
	sm_ret(o, rc);
	fz_gsh_line("%sprocs %u", rc == 0 ? "" : "try ", n);
	if (n == 0 || n > 256) {
		SM_ASSERT(rc == -1 && err == EINVAL, "gort_set_procs(%u) = %d (errno %d)", n, rc,
			  err);
	} else {
		SM_ASSERT(rc == 0, "gort_set_procs(%u) = %d (errno %d)", n, rc, err);
		for (unsigned p = M.nprocs; p-- > n;)
			wt_move(p);
		sm_set_procs(n);
	}
	fz_after_op();
}

SM_NOCOV static void op_outside(fdp_t *d)
{
	(void)d;
	sm_opinfo *o = sm_op("outside", 0, 0, 0);
	gort_yield();
	gort_park("outside");
	int64_t self = gort_self();
	sm_ret(o, self);
	fz_gsh_line("# gort_yield, gort_park, gort_self outside any G: nothing changes");
	SM_ASSERT(self == 0, "gort_self() outside any G = %lld", (long long)self);
	fz_after_op();
}

/* Deadlock, exactly when the model says so: no G runnable, no timer. A
 * receive that must wait (or a wait on a non-zero counter) from outside
 * then makes one gort_step, which finds nothing, and reports. */
SM_NOCOV static int64_t fz_deadlock_probe(int ch)
{
	if (M.nrunnable || wt_next())
		return 0; /* it would run the Gs: the harness steps them itself */
	int use_wg = wc_recv_ready(ch);
	if (use_wg && W.wg_counter == 0)
		return 0;
	errno = 0;
	int rc = 0;
	if (use_wg)
		gort_wg_wait(&F.wg);
	else
		rc = gort_chan_recv(W.chan[ch], NULL);
	int err = errno;
	fz_gsh_line("try step                 # %s outside any G: deadlock",
		    use_wg ? "wg wait" : "recv");
	fz_expect_report(GORT_ERR_DEADLOCK, "deadlock probe");
	SM_ASSERT(use_wg || (rc == -1 && err == EDEADLK),
		  "gort_chan_recv(c%d) outside at a deadlock = %d (errno %d)", ch, rc, err);
	return 1;
}

/* The blocking primitives from outside any G (wakes go to the global
 * queue, by nobody): close, try_send, try_recv, a WaitGroup add or done,
 * and, when no G can run and no timer is pending, a blocking receive or
 * wait, which must report the deadlock after one step that finds nothing. */
SM_NOCOV static int64_t fz_wait_outside(unsigned sub, int ch)
{
	int64_t v = 0, got = 0;
	int r;
	switch (sub) {
	case 0:
		fz_gsh_inexact("close c%d", ch);
		gort_chan_close(W.chan[ch]);
		if (wc_close(ch, -1, 0) < 0)
			fz_expect_report(GORT_ERR_CLOSE_OF_CLOSED, "close outside");
		return 0;
	case 2:
		fz_gsh_inexact("try_recv c%d", ch);
		r = wc_recv(ch, &v, -1, 0);
		SM_ASSERT(gort_chan_try_recv(W.chan[ch], &got) == r && got == v,
			  "gort_chan_try_recv(c%d) outside: %lld, the model says %d (%lld)", ch,
			  (long long)got, r, (long long)v);
		return r;
	case 3: return fz_deadlock_probe(ch);
	case 4:
	case 5:
		fz_gsh_inexact("wg %s", sub == 4 ? "add 1" : "done");
		gort_wg_add(&F.wg, sub == 4 ? 1 : -1);
		if (wg_add(sub == 4 ? 1 : -1, -1, 0) != WG_OK)
			fz_expect_report(GORT_ERR_WAITGROUP_MISUSE, "wg_add outside");
		return 0;
	default:
		v = F.nextval++;
		fz_gsh_inexact("try_send c%d %lld", ch, (long long)v);
		int rc = gort_chan_try_send(W.chan[ch], &v);
		r = wc_send(ch, v, -1, 0);
		if (r < 0)
			fz_expect_report(GORT_ERR_SEND_ON_CLOSED, "try_send outside");
		SM_ASSERT(rc == r, "gort_chan_try_send(c%d) outside = %d, the model says %d", ch,
			  rc, r);
		return r;
	}
}

SM_NOCOV static void op_wait(fdp_t *d)
{
	unsigned b = fdp_u8(d), sub = b & 7;
	int ch = (int)(b >> 3) & 3;
	sm_opinfo *o = sm_op("wait_outside", sub, ch, 0);
	sm_ret(o, fz_wait_outside(sub, ch));
	fz_after_op();
}

/* One tail byte picks the operation: steps are the most common. */
static const struct {
	uint8_t upto;
	fz_op_fn fn;
} fz_ops[] = {
	{40, op_spawn},	     {60, op_spawn_on}, {68, op_spawn_many}, {140, op_step},
	{175, op_step_p},    {190, op_steps},	{215, op_ready},     {222, op_reseed},
	{234, op_set_procs}, {246, op_run},	{251, op_outside},   {255, op_wait},
};

SM_NOCOV static fz_op_fn fz_pick_op(uint8_t b)
{
	for (size_t i = 0; i < sizeof fz_ops / sizeof fz_ops[0]; i++)
		if (b <= fz_ops[i].upto)
			return fz_ops[i].fn;
	return op_outside;
}

/* ----------------------------------------------------------- an input */

SM_NOCOV static void fz_decode_bodies(fdp_t *d)
{
	F.nbodies = (unsigned)fdp_range(d, 1, FZ_BODIES);
	for (unsigned i = 0; i < F.nbodies; i++) {
		fz_prog *b = &F.bodies[i];
		uint8_t h = fdp_u8(d);
		b->len = (uint8_t)(1 + (h & 7));
		b->loop = (h >> 3) & 1;
		b->wait = (h >> 4) == 1;
		for (unsigned k = 0; k < b->len; k++)
			b->act[k] = fdp_u8(d);
	}
}

/* The clean-up of an input that left Gs waiting in primitives or asleep:
 * every channel closed, the WaitGroup's counter brought to zero, the
 * mutexes of waiting Gs unlocked for them, parked Gs readied, then
 * gort_run, until no G is live. The queues are not followed step by step
 * (the model does not know a G's drain path); at the end every G must be
 * gone and every object idle, and the model takes the runtime's state
 * over at the next input as always. */
/* After a WaitGroup reused before its Wait returned (reported), a waiter
 * released for the old round can find its count taken by a new Wait and
 * sleep on the semaphore again, counted nowhere in the group's word: Go
 * would have panicked. The drain gives those waiters a round of their own:
 * the word says that many waiters and a counter of one, and a Done
 * releases them all. */
SM_NOCOV static void fz_unstrand_wg(void)
{
	size_t n = gort_inspect_gs(M.gs, SM_GS_MAX);
	uint32_t stuck = 0;
	for (size_t i = 0; i < n; i++)
		stuck += M.gs[i].status == 4 && strcmp(M.gs[i].waitreason, "sync.WaitGroup.Wait") == 0;
	uint64_t st = __atomic_load_n(&F.wg.state, __ATOMIC_RELAXED);
	if (stuck == 0 || stuck <= (uint32_t)st || (st >> 32) != 0)
		return;
	__atomic_store_n(&F.wg.state, (uint64_t)1 << 32 | stuck, __ATOMIC_RELAXED);
	gort_wg_add(&F.wg, -1);
}

SM_NOCOV static void fz_drain_loose(void)
{
	F.loose = 1;
	sm_opinfo *o = sm_op("drain_loose", M.nparked, M.nrunnable, W.nblocked);
	size_t n = 0;
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < WM_CHANS; i++)
			if (!W.c[i].closed) {
				gort_chan_close(W.chan[i]);
				W.c[i].closed = 1;
			}
		int32_t v = (int32_t)(__atomic_load_n(&F.wg.state, __ATOMIC_RELAXED) >> 32);
		if (v > 0)
			gort_wg_add(&F.wg, -v);
		fz_unstrand_wg();
		n = gort_inspect_gs(M.gs, SM_GS_MAX);
		for (size_t i = 0; i < n; i++) {
			int32_t g = sm_index(M.gs[i].goid);
			if (g < 0 || M.gs[i].status != 4)
				continue;
			gort_ready(M.gs[i].goid); /* a plain park; -1 for the others */
			for (int mi = 0; mi < WM_MUTEXES; mi++)
				if (F.g[g].held & (1u << mi)) {
					F.g[g].held &= (uint8_t)~(1u << mi);
					gort_mutex_unlock(&F.mu[mi]);
				}
		}
		gort_run();
		if ((n = gort_inspect_gs(M.gs, SM_GS_MAX)) == 0)
			break;
	}
	SM_ASSERT(n == 0, "drain: %zu Gs still live after 16 rounds", n);
	for (int mi = 0; mi < WM_MUTEXES; mi++)
		SM_ASSERT(F.mu[mi].state == 0, "drain: m%d's state is %#x", mi, F.mu[mi].state);
	SM_ASSERT(F.wg.state == 0, "drain: the WaitGroup's state is %#llx",
		  (unsigned long long)F.wg.state);
	for (int i = 0; i < WM_CHANS; i++)
		SM_ASSERT(gort_check_chan(W.chan[i]) == 0, "drain: gort_check_chan(c%d)", i);
	for (uint32_t i = 0; i < M.ng; i++)
		M.st[i] = SM_DEAD;
	M.nrunnable = M.nparked = 0;
	M.nwant = 0;
	F.nrep = F.rep_used = 0;
	F.seq = gort_event_seq();
	SM_ASSERT(gort_check() == 0, "drain: gort_check failed");
	sm_ret(o, 0);
	F.loose = 0;
	F.draining = 0;
}

/* Every G exits: parked ones are readied from outside, and each G, when it
 * next runs, frees its objects and exits (recording nothing). gort_run
 * makes the steps; their RUN events are then checked one by one against
 * the model as fz_step does (a drain only empties the queues, so the
 * queues are compared once, at the end). */
SM_NOCOV static void fz_drain(void)
{
	F.draining = 1;
	int timers = 0;
	for (unsigned p = 0; p < M.nprocs; p++)
		timers |= W.timers[p].n > 0;
	/* A G woken inside a primitive may sleep again when it runs (a
	 * semaphore count taken meanwhile): not a G that simply exits. */
	int inside = 0;
	for (uint32_t g = 0; g < M.ng; g++)
		inside |= M.st[g] != SM_DEAD && W.g[g].kind != WK_NONE;
	if (W.nblocked || timers || inside) {
		fz_drain_loose();
		return;
	}
	sm_opinfo *o = sm_op("drain", M.nparked, M.nrunnable, 0);
	while (M.nparked) {
		int64_t goid = sm_goid(M.parked[0]);
		int rc = gort_ready(goid);
		SM_ASSERT(rc == 0, "drain: gort_ready(%lld) of a parked G = %d", (long long)goid,
			  rc);
		sm_ready(M.parked[0], -1, 0, M.steps);
	}
	fz_after_op();
	F.nlog = 0;
	uint32_t live = M.nrunnable;
	int rc = gort_run();
	SM_ASSERT(rc == 0, "drain: gort_run() = %d, expected 0 (no G parked)", rc);
	size_t n = fz_events();
	SM_ASSERT(n == live, "drain: %zu events for %u Gs", n, live);
	for (size_t i = 0; i < n; i++) {
		const gort_event *e = &F.ev[i];
		SM_ASSERT(e->kind == GORT_EV_RUN && e->outcome == GORT_OUT_EXITED,
			  "drain: event %llu is %s g%lld (%s), expected a run that exits",
			  (unsigned long long)e->seq, gort_event_kind_name(e->kind),
			  (long long)e->goid, gort_event_outcome_name(e->outcome));
		uint16_t g = sm_take(e);
		sm_outcome((unsigned)e->p, g, GORT_OUT_EXITED);
	}
	SM_ASSERT(F.nlog == 0, "drain: a G did something but exit");
	for (uint32_t i = 0; i < M.ng; i++)
		SM_ASSERT(!F.g[i].bad, "g%lld: an object's pattern was damaged before its free",
			  (long long)sm_goid((int32_t)i));
	sm_ret(o, (int64_t)n);
	sm_check(SM_CK_GS); /* gort_check follows the reset */
	SM_ASSERT(M.nrunnable == 0 && M.nparked == 0, "drain left %u runnable, %u parked",
		  M.nrunnable, M.nparked);
	F.draining = 0;
}

/* Back to the state every input starts from (see the top of the file). */
SM_NOCOV static void fz_reset(void)
{
	SM_ASSERT(gort_set_procs(1) == 0, "gort_set_procs(1) failed");
	gort_p_info *p0 = &M.ps[0];
	gort_inspect_ps(p0, 1);
	uint32_t m = (SM_GLOBAL_TICK - p0->schedtick % SM_GLOBAL_TICK) % SM_GLOBAL_TICK;
	F.dance_left = (int)m;
	Z.reset_yields = m;
	fz_g *c = &F.g[0];
	*c = (fz_g){0};
	SM_ASSERT(gort_go_p(0, fz_body, c) > 0, "reset: gort_go_p failed");
	M.next_goid++;
	int steps = 0;
	while (gort_step_p(0) == 1)
		steps++;
	SM_ASSERT(steps == (int)m + 1 && F.dance_left == 0, "reset: %d steps for %u yields", steps,
		  m);
	F.dance_left = -1;
	SM_ASSERT(gort_set_procs(FZ_PROCS) == 0, "gort_set_procs(%d) failed", FZ_PROCS);
	gort_reseed(FZ_SEED);
	gort_inspect_ps(M.ps, SM_PROCS_MAX);
	for (unsigned i = 0; i < FZ_PROCS; i++)
		SM_ASSERT(M.ps[i].schedtick % SM_GLOBAL_TICK == 0 && M.ps[i].runnext == 0 &&
				  M.ps[i].nrunq == 0,
			  "reset: P%u has tick %u, runnext %lld, %u on its ring", i,
			  M.ps[i].schedtick, (long long)M.ps[i].runnext, M.ps[i].nrunq);
	SM_ASSERT(gort_inspect_gs(M.gs, 1) == 0, "reset: a G is still live");
	F.seq = gort_event_seq();
	SM_ASSERT(gort_check() == 0, "gort_check failed after the reset");
}

SM_NOCOV static uint64_t fz_run_input(const uint8_t *data, size_t size)
{
	fdp_t d;
	fdp_init(&d, data, size);
	gort_reseed(FZ_SEED);
	F.seq = gort_event_seq();
	F.hash = 0;
	F.steps = 0;
	F.made = 0;
	sm_begin();
	wm_begin();
	F.nextval = 1;
	F.nrep = F.rep_used = 0;
	fz_gsh_begin();
	fz_decode_bodies(&d);
	while (fdp_remaining(&d) && M.op_no < FZ_MAX_OPS) {
		fz_gsh_op_begin();
		fz_pick_op(fdp_u8(&d))(&d);
		fz_gsh_op_end();
		M.op_no++;
	}
	fz_gsh_end();
	wm_check_fair();
	fz_drain();
	for (int mi = 0; mi < WM_MUTEXES; mi++)
		SM_ASSERT(F.mu[mi].state == 0, "after the drain: m%d's state is %#x", mi,
			  F.mu[mi].state);
	wm_end();
	for (uint32_t i = 0; i < M.ng; i++)
		F.g[i].held = 0;
	uint64_t h = F.hash;
	fz_reset();
	return h;
}

SM_NOCOV static void setup(void)
{
	M.harness = "fuzz_sched";
	const char *t = getenv("GORT_FUZZ_TRACE");
	M.trace = t && *t && *t != '0';
	const char *gsh = getenv("GORT_FUZZ_GSH");
	Z.on = gsh && *gsh && *gsh != '0';
	if (Z.on)
		M.on_fail = fz_gsh_fail;
	/* Light: the default preset's gort_check also reads every free slot
	 * of the heap, and gort_check runs at every FZ_CHECK_EVERY-th
	 * checkpoint; the presets have fuzz_harden. */
	gort_config cfg = {.procs = FZ_PROCS,
			   .arena_bytes = FZ_ARENA_BYTES,
			   .stack_bytes = FZ_STACK_BYTES,
			   .seed = FZ_SEED,
			   .threaded = 0,
			   .harden = GORT_HARDEN_LIGHT};
	if (gort_init(&cfg) != 0) {
		fprintf(stderr, "fuzz_sched: gort_init failed, errno %d\n", errno);
		abort();
	}
	gort_set_error_handler(on_error, NULL);
	W.mu = F.mu;
	W.wg = &F.wg;
	gort_sched_info si;
	gort_inspect_sched(&si);
	if (si.ngs != 0) {
		fprintf(stderr, "fuzz_sched: %llu Gs before the first input\n",
			(unsigned long long)si.ngs);
		abort();
	}
	const char *ce = getenv("GORT_FUZZ_CHECK_EVERY");
	F.gs_every = ce && atoi(ce) > 0 ? (unsigned)atoi(ce) : FZ_GS_EVERY;
	F.check_every = ce && atoi(ce) > 0 ? (unsigned)atoi(ce) : FZ_CHECK_EVERY;
	M.next_goid = 1;
	F.dance_left = -1;
	/* The reset's G takes goid 1: every input then finds a dead G (goid
	 * base - 1) before its own. */
	fz_reset();
	F.ready = 1;
}

FUZZ_API int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!F.ready)
		setup();
	return 0;
}

FUZZ_API int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!F.ready)
		setup();
	uint64_t h = fz_run_input(data, size);
	if (F.ninputs++ % FZ_TWICE_EVERY == 0) {
		uint64_t h2 = fz_run_input(data, size);
		SM_ASSERT(h == h2,
			  "the same input ran twice gave two event logs (hash %016llx, "
			  "then %016llx)",
			  (unsigned long long)h, (unsigned long long)h2);
	}
	return 0;
}
