/*
 * fuzz_threaded.c — coverage-guided fuzzing of threaded mode: random G
 * programs run on 2 Ps by real Ms, checked against what must hold whatever
 * the interleaving.
 *
 * The input is decoded FuzzedDataProvider-style (fuzz/fdp.h, every choice
 * from the tail) into a plan: 1..6 workers, each a straight-line program of
 * up to 12 operations:
 *   yield; send a value on a sink channel (blocking, or try_send); receive
 *   from a source channel (blocking), or try_recv from a sink channel;
 *   a critical section (lock one of two mutexes, read its counter, maybe
 *   yield, sleep or make a syscall, write the counter plus one, unlock) or
 *   a trylock that does the same when it gets the mutex; gort_sleep of up
 *   to 50 us; gort_syscall_enter, nanosleep up to 50 us, gort_syscall_exit;
 *   allocate, fill, yield, check and free an object; spawn a child that runs
 *   a program of up to 4 operations, detached; fork-join 1..3 children on a
 *   WaitGroup of the caller's (Add, gort_go each, Wait; each child Done).
 * Children nest two deep. Channels: two sinks and two sources, each of
 * capacity 0, 1, 2 or 4 (from the input).
 *
 * No interleaving can deadlock, by construction:
 *  - sinks are drained by 1..2 drainer Gs each, which receive until the
 *    channel is closed; a closer G waits on the workers' WaitGroup (every
 *    worker and detached child is counted in it before it starts) and then
 *    closes every channel; so every send on a sink finds a receiver;
 *  - sources are fed by 1..2 feeder Gs each, which send exactly as many
 *    values as the plan's blocking receives on that source (counted at
 *    decode time, children multiplied by how many copies run), and only
 *    the workers receive from sources: every receive meets a send;
 *  - a critical section never waits for another G (it does not send,
 *    receive, join or take the other mutex), and join children never need
 *    a mutex their parent holds.
 *
 * Checks, after gort_run (which must return 0: no G left parked), with a
 * watchdog that aborts with a clear message if it has not returned after
 * 10 s (a lost wake-up or a deadlock):
 *  - every G started ended (a count kept by the Gs), and gort_inspect_gs
 *    lists no live G;
 *  - values are conserved on each channel: the count and sum of values
 *    sent equal those received; blocking sends on sinks and receives on
 *    sources are exactly the plan's; no receive on a source saw it closed;
 *  - each mutex's counter equals the plan's critical sections plus the
 *    trylocks that succeeded (a lost update is a broken mutex);
 *  - the scheduler is at rest: every P idle with empty queues, nothing on
 *    the global queue, every M idle, holding no P and running no G;
 *  - each channel is closed, empty and without waiters (gort_check_chan);
 *  - the heap is back to where it was before the input (live objects),
 *    memstats agree with themselves (mallocs - frees = live objects), and
 *    gort_check() passes every FT_CHECK_EVERY-th input and when replaying;
 *  - nothing was reported through the error handler; allocated objects
 *    kept their pattern while their G yielded.
 * A G cannot fail on its own stack: it counts what went wrong in atomics,
 * and the harness's thread reports after the run.
 *
 * The runtime is initialised once per process (threaded, 2 Ps, 64 MiB
 * arena); every input ends with every G dead and every M parked, which is
 * the reset. Threaded runs are not repeatable: a find is reproduced by
 * running it again, often many times (build/fuzz-replay/fuzz_threaded FILE
 * in a loop, or with GORT_FUZZ_ROUNDS=N, which runs each input N times),
 * and better under TSan (the SAN=thread build's replay driver, which `make
 * test` runs over the corpus, each input 10 times).
 *
 * Build: `make fuzz` (libFuzzer + ASan + UBSan into build/fuzz/); replay:
 * build/fuzz-replay/fuzz_threaded FILE|DIR... (GORT_FUZZ_TRACE=1 prints
 * the decoded plan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gort.h"
#include "gort_inspect.h"

#include "fdp.h"

#define FUZZ_API __attribute__((visibility("default")))

#define FT_PROCS 2
#define FT_ARENA_BYTES ((size_t)64 << 20)
#define FT_WATCHDOG_SECONDS 10
/* gort_check() walks the whole heap: every 16th input when fuzzing, every
 * input when replaying. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FT_CHECK_EVERY 16
#else
#define FT_CHECK_EVERY 1
#endif

#define FT_MAX_WORKERS 6
#define FT_WORKER_OPS 12
#define FT_CHILD_OPS 4
#define FT_MAX_DEPTH 2
#define FT_MAX_JOIN 3
#define FT_MAX_OPS 512	       /* decoded operations, all programs */
#define FT_MAX_GS 64	       /* workers and children, copies counted */
#define FT_MAX_RUN_OPS 1024    /* operations run, copies counted */
#define FT_MAX_WAIT_NS 3000000 /* sleeps and syscalls, copies counted */
#define FT_MAX_SLEEP_NS 50000
#define FT_MAX_ALLOC 4096

#define FT_NSINK 2
#define FT_NSOURCE 2
#define FT_NCHAN (FT_NSINK + FT_NSOURCE) /* sinks first, then sources */
#define FT_NMUTEX 2
#define FT_MAX_HELPERS 2 /* drainers per sink, feeders per source */

enum ft_kind {
	OP_YIELD,
	OP_SEND,
	OP_TRY_SEND,
	OP_RECV,
	OP_TRY_RECV,
	OP_LOCK,
	OP_TRY_LOCK,
	OP_SLEEP,
	OP_SYSCALL,
	OP_ALLOC,
	OP_SPAWN,
	OP_JOIN,
	OP_NKINDS
};

static const char *const kind_names[OP_NKINDS] = {
	"yield",    "send",  "try_send", "recv",  "try_recv", "lock",
	"try_lock", "sleep", "syscall",	 "alloc", "spawn",    "join",
};

/* What a critical section does while it holds the mutex. */
enum ft_inner {
	IN_NONE,
	IN_YIELD,
	IN_SLEEP,
	IN_SYSCALL,
	IN_NKINDS
};

typedef struct ft_prog {
	uint16_t first, n; /* a run of ft_plan.ops */
} ft_prog;

typedef struct ft_op {
	uint8_t kind;  /* enum ft_kind */
	uint8_t which; /* the channel, the mutex, or the number of join children */
	uint8_t inner; /* enum ft_inner of a critical section */
	uint32_t arg;  /* a value sent, nanoseconds, an object's size */
	ft_prog child; /* spawn and join */
} ft_op;

/* The decoded input, and what it must do (copies of a child counted). */
static struct ft_plan {
	ft_op ops[FT_MAX_OPS];
	uint32_t nops;
	uint32_t reserved; /* decoded, to be placed after their children */
	ft_prog workers[FT_MAX_WORKERS];
	uint32_t nworkers;
	size_t cap[FT_NCHAN];
	uint32_t helpers[FT_NCHAN]; /* drainers of a sink, feeders of a source */
	uint64_t sends[FT_NCHAN];   /* blocking sends on a sink */
	uint64_t recvs[FT_NCHAN];   /* blocking receives on a source */
	uint64_t locks[FT_NMUTEX];  /* critical sections entered by lock */
	/* Budgets spent while decoding: an operation past them is a yield. */
	uint32_t gs, run_ops;
	uint64_t wait_ns;
} P;

/* What the Gs did: atomics, read by the harness's thread after the run. */
static struct ft_run {
	gort_chan *chan[FT_NCHAN];
	gort_mutex mu[FT_NMUTEX];
	long counter[FT_NMUTEX]; /* under mu[i] only */
	gort_waitgroup workers;	 /* every worker and detached child */
	uint64_t sent_n[FT_NCHAN], sent_sum[FT_NCHAN];
	uint64_t recv_n[FT_NCHAN], recv_sum[FT_NCHAN];
	uint64_t blocking_sends[FT_NCHAN], blocking_recvs[FT_NCHAN];
	uint64_t trylocks[FT_NMUTEX];
	uint64_t started, ended;
	uint64_t closed_source; /* a source receive that saw the channel closed */
	uint64_t bad_calls;	/* a call that failed where it cannot */
	uint64_t bad_pattern;	/* an object that changed while its G yielded */
	uint64_t reports;	/* through the error handler */
	char report[160];	/* the first one */
} R;

/* A G's argument: its program and the WaitGroup it is counted in. */
typedef struct ft_garg {
	ft_prog prog;
	int depth;
	gort_waitgroup *wg;
} ft_garg;

static ft_garg gargs[FT_MAX_GS];
static uint32_t ngargs; /* atomic */

static struct {
	int ready, trace;
	unsigned rounds; /* runs of each input: GORT_FUZZ_ROUNDS, default 1 */
	unsigned long ninputs;
	const uint8_t *data; /* the input, for the failure message */
	size_t size;
} F;

#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

/* ------------------------------------------------------------ failures */

static void print_plan(FILE *out);

__attribute__((format(printf, 2, 3), noreturn)) static void ft_fail(int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fuzz_threaded: FAILED at line %d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	print_plan(stderr);
	abort();
}

#define FT_ASSERT(cond, ...)                            \
	do {                                            \
		if (!(cond))                            \
			ft_fail(__LINE__, __VA_ARGS__); \
	} while (0)

static void on_error(const gort_error *e, void *ctx)
{
	(void)ctx;
	if (ADD(&R.reports, 1) == 1)
		snprintf(R.report, sizeof R.report, "%s", e->message);
}

/* ------------------------------------------------------------ watchdog */

/* A thread that aborts the process if gort_run has not returned after
 * FT_WATCHDOG_SECONDS: a G that is never woken (a lost wake-up) leaves
 * gort_run waiting for ever. Not SIGALRM: libFuzzer's -timeout uses it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t armed; /* the input being watched, 0 if none */
	struct timespec deadline;
} WD = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0, 0}};

__attribute__((noreturn)) static void watchdog_fire(void)
{
	fprintf(stderr,
		"fuzz_threaded: FAILED at line %d: watchdog: gort_run has not returned after "
		"%d s (a lost wake-up or a deadlock); %llu of %llu Gs ended\n",
		__LINE__, FT_WATCHDOG_SECONDS, (unsigned long long)LD(&R.ended),
		(unsigned long long)LD(&R.started));
	print_plan(stderr);
	abort();
}

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&WD.lock);
	for (;;) {
		if (!WD.armed) {
			pthread_cond_wait(&WD.cond, &WD.lock);
			continue;
		}
		uint64_t watched = WD.armed;
		int rc = pthread_cond_timedwait(&WD.cond, &WD.lock, &WD.deadline);
		if (rc == ETIMEDOUT && WD.armed == watched)
			watchdog_fire();
	}
	return NULL;
}

static void watchdog_arm(uint64_t input)
{
	pthread_mutex_lock(&WD.lock);
	clock_gettime(CLOCK_REALTIME, &WD.deadline);
	WD.deadline.tv_sec += FT_WATCHDOG_SECONDS;
	WD.armed = input;
	pthread_cond_signal(&WD.cond);
	pthread_mutex_unlock(&WD.lock);
}

static void watchdog_disarm(void)
{
	pthread_mutex_lock(&WD.lock);
	WD.armed = 0;
	pthread_cond_signal(&WD.cond);
	pthread_mutex_unlock(&WD.lock);
}

/* ------------------------------------------------------------ decoding */

static ft_prog decode_prog(fdp_t *d, int depth, uint32_t copies);

static void decode_children(fdp_t *d, ft_op *o, int depth, uint32_t copies)
{
	o->which = o->kind == OP_JOIN ? (uint8_t)fdp_range(d, 1, FT_MAX_JOIN) : 1;
	if (depth >= FT_MAX_DEPTH || P.gs + copies * o->which > FT_MAX_GS) {
		o->kind = OP_YIELD;
		return;
	}
	P.gs += copies * o->which;
	o->child = decode_prog(d, depth + 1, copies * o->which);
}

/* The arguments of o, a kind just decoded; what it must do is added to the
 * plan's counts, copies times. */
static void decode_args(fdp_t *d, ft_op *o, int depth, uint32_t copies)
{
	switch (o->kind) {
	case OP_SEND:
	case OP_TRY_SEND:
	case OP_TRY_RECV:
		o->which = (uint8_t)fdp_index(d, FT_NSINK);
		o->arg = fdp_u16(d);
		if (o->kind == OP_SEND)
			P.sends[o->which] += copies;
		break;
	case OP_RECV:
		o->which = (uint8_t)(FT_NSINK + fdp_index(d, FT_NSOURCE));
		P.recvs[o->which] += copies;
		break;
	case OP_LOCK:
	case OP_TRY_LOCK:
		o->which = (uint8_t)fdp_index(d, FT_NMUTEX);
		o->inner = (uint8_t)fdp_index(d, IN_NKINDS);
		o->arg = (uint32_t)fdp_range(d, 0, FT_MAX_SLEEP_NS);
		if (o->kind == OP_LOCK)
			P.locks[o->which] += copies;
		break;
	case OP_SLEEP:
	case OP_SYSCALL: o->arg = (uint32_t)fdp_range(d, 0, FT_MAX_SLEEP_NS); break;
	case OP_ALLOC: o->arg = (uint32_t)fdp_range(d, 1, FT_MAX_ALLOC); break;
	case OP_SPAWN:
	case OP_JOIN: decode_children(d, o, depth, copies); break;
	default: break;
	}
}

/* Whether o waits for time: its nanoseconds, to charge to the budget. */
static uint64_t op_wait_ns(const ft_op *o)
{
	bool timed = o->kind == OP_SLEEP || o->kind == OP_SYSCALL ||
		     ((o->kind == OP_LOCK || o->kind == OP_TRY_LOCK) && o->inner >= IN_SLEEP);
	return timed ? o->arg : 0;
}

static bool decode_op(fdp_t *d, ft_op *o, int depth, uint32_t copies)
{
	if (P.nops + P.reserved >= FT_MAX_OPS || P.run_ops + copies > FT_MAX_RUN_OPS)
		return false;
	P.run_ops += copies;
	memset(o, 0, sizeof *o);
	o->kind = (uint8_t)fdp_index(d, OP_NKINDS);
	decode_args(d, o, depth, copies);
	if (P.wait_ns + copies * op_wait_ns(o) > FT_MAX_WAIT_NS) {
		/* Past the budget of waiting: a critical section that only
		 * yields, or a yield (the plan's counts stay right). */
		if (o->kind == OP_LOCK || o->kind == OP_TRY_LOCK)
			o->inner = IN_YIELD;
		else
			o->kind = OP_YIELD;
	}
	P.wait_ns += copies * op_wait_ns(o);
	return true;
}

/* A program of up to FT_WORKER_OPS (a worker) or FT_CHILD_OPS operations,
 * run copies times over. Its children's programs are decoded first, so
 * that its own operations are one run of P.ops. */
static ft_prog decode_prog(fdp_t *d, int depth, uint32_t copies)
{
	ft_op local[FT_WORKER_OPS];
	size_t len = fdp_range(d, 0, depth == 0 ? FT_WORKER_OPS : FT_CHILD_OPS), n = 0;
	while (n < len && decode_op(d, &local[n], depth, copies)) {
		P.reserved++; /* its place, taken once its children's are */
		n++;
	}
	P.reserved -= (uint32_t)n;
	ft_prog prog = {.first = (uint16_t)P.nops, .n = (uint16_t)n};
	memcpy(&P.ops[P.nops], local, n * sizeof *local);
	P.nops += (uint32_t)n;
	return prog;
}

static void decode_plan(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {0, 1, 2, 4};
	fdp_t d;
	fdp_init(&d, data, size);
	memset(&P, 0, sizeof P);
	for (int c = 0; c < FT_NCHAN; c++) {
		P.cap[c] = FDP_PICK(&d, caps);
		P.helpers[c] = (uint32_t)fdp_range(&d, 1, FT_MAX_HELPERS);
	}
	P.nworkers = (uint32_t)fdp_range(&d, 1, FT_MAX_WORKERS);
	P.gs = P.nworkers;
	for (uint32_t w = 0; w < P.nworkers; w++)
		P.workers[w] = decode_prog(&d, 0, 1);
}

/* ------------------------------------------------------------ the Gs */

static void g_main(void *arg);

static void note_sent(int c, uint64_t v)
{
	ADD(&R.sent_n[c], 1);
	ADD(&R.sent_sum[c], v);
}

static void note_received(int c, uint64_t v)
{
	ADD(&R.recv_n[c], 1);
	ADD(&R.recv_sum[c], v);
}

/* Starts a G running prog, counted in wg (Add before the G exists). */
static void spawn(ft_prog prog, int depth, gort_waitgroup *wg)
{
	uint32_t i = ADD(&ngargs, 1) - 1;
	if (i >= FT_MAX_GS) { /* the decoder's budget makes this impossible */
		ADD(&R.bad_calls, 1);
		return;
	}
	gargs[i] = (ft_garg){.prog = prog, .depth = depth, .wg = wg};
	gort_wg_add(wg, 1);
	ADD(&R.started, 1);
	if (gort_go(g_main, &gargs[i]) <= 0) {
		ADD(&R.bad_calls, 1);
		ADD(&R.ended, 1);
		gort_wg_done(wg);
	}
}

static void join(const ft_op *o, int depth)
{
	gort_waitgroup wg = {0, 0};
	for (unsigned i = 0; i < o->which; i++)
		spawn(o->child, depth + 1, &wg);
	gort_wg_wait(&wg);
}

/* A blocking call the runtime does not know about, between the calls that
 * tell it: long enough for sysmon to retake the P now and then. */
static void syscall_sleep(uint32_t ns)
{
	struct timespec ts = {0, (long)ns};
	gort_syscall_enter();
	nanosleep(&ts, NULL);
	gort_syscall_exit();
}

static void while_holding(const ft_op *o)
{
	switch (o->inner) {
	case IN_YIELD: gort_yield(); break;
	case IN_SLEEP: gort_sleep(o->arg); break;
	case IN_SYSCALL: syscall_sleep(o->arg); break;
	default: break;
	}
}

/* Read, wait a little, write: a broken mutex loses an update. */
static void critical_section(const ft_op *o)
{
	long v = R.counter[o->which];
	while_holding(o);
	R.counter[o->which] = v + 1;
	gort_mutex_unlock(&R.mu[o->which]);
}

static void alloc_and_check(uint32_t size)
{
	unsigned char *p = gort_malloc(size);
	if (!p) {
		ADD(&R.bad_calls, 1);
		return;
	}
	unsigned char seed = (unsigned char)(uintptr_t)p ^ (unsigned char)size;
	for (uint32_t i = 0; i < size; i++)
		p[i] = (unsigned char)(seed + i);
	gort_yield(); /* perhaps to another M: the object must not change */
	for (uint32_t i = 0; i < size; i++)
		if (p[i] != (unsigned char)(seed + i)) {
			ADD(&R.bad_pattern, 1);
			break;
		}
	gort_free(p);
}

static void do_send(const ft_op *o)
{
	uint64_t v = o->arg;
	if (o->kind == OP_SEND) {
		if (gort_chan_send(R.chan[o->which], &v) != 0)
			ADD(&R.bad_calls, 1);
		ADD(&R.blocking_sends[o->which], 1);
		note_sent(o->which, v);
	} else if (gort_chan_try_send(R.chan[o->which], &v) == 1) {
		note_sent(o->which, v);
	}
}

static void do_recv(const ft_op *o)
{
	uint64_t v = 0;
	if (o->kind == OP_TRY_RECV) {
		if (gort_chan_try_recv(R.chan[o->which], &v) == 1)
			note_received(o->which, v);
		return;
	}
	if (gort_chan_recv(R.chan[o->which], &v) != 1) {
		ADD(&R.closed_source, 1);
		return;
	}
	ADD(&R.blocking_recvs[o->which], 1);
	note_received(o->which, v);
}

static void run_op(const ft_op *o, int depth)
{
	switch (o->kind) {
	case OP_YIELD: gort_yield(); break;
	case OP_SEND:
	case OP_TRY_SEND: do_send(o); break;
	case OP_RECV:
	case OP_TRY_RECV: do_recv(o); break;
	case OP_LOCK:
		gort_mutex_lock(&R.mu[o->which]);
		critical_section(o);
		break;
	case OP_TRY_LOCK:
		if (gort_mutex_trylock(&R.mu[o->which])) {
			ADD(&R.trylocks[o->which], 1);
			critical_section(o);
		}
		break;
	case OP_SLEEP: gort_sleep(o->arg); break;
	case OP_SYSCALL: syscall_sleep(o->arg); break;
	case OP_ALLOC: alloc_and_check(o->arg); break;
	case OP_SPAWN: spawn(o->child, depth + 1, &R.workers); break;
	case OP_JOIN: join(o, depth); break;
	}
}

static void g_main(void *arg)
{
	const ft_garg *a = arg;
	for (uint16_t i = 0; i < a->prog.n; i++)
		run_op(&P.ops[a->prog.first + i], a->depth);
	ADD(&R.ended, 1);
	gort_wg_done(a->wg);
}

/* Receives from sink c until it is closed and drained. */
static void drainer(void *arg)
{
	int c = (int)(intptr_t)arg;
	uint64_t v;
	while (gort_chan_recv(R.chan[c], &v) == 1)
		note_received(c, v);
	ADD(&R.ended, 1);
}

/* Feeder f of source c sends the plan's receives numbered f, f + helpers,
 * ... : together the feeders send exactly as many values as the workers
 * receive. The values are distinct, so a value received twice or lost
 * shows in the sum. */
static void feeder(void *arg)
{
	intptr_t packed = (intptr_t)arg;
	int c = (int)(packed / FT_MAX_HELPERS), f = (int)(packed % FT_MAX_HELPERS);
	for (uint64_t k = (uint64_t)f; k < P.recvs[c]; k += P.helpers[c]) {
		uint64_t v = (uint64_t)c << 40 | (k + 1);
		if (gort_chan_send(R.chan[c], &v) != 0)
			ADD(&R.bad_calls, 1);
		note_sent(c, v);
	}
	ADD(&R.ended, 1);
}

/* Once every worker and detached child has ended, closes every channel:
 * the drainers then end. */
static void closer(void *arg)
{
	(void)arg;
	gort_wg_wait(&R.workers);
	for (int c = 0; c < FT_NCHAN; c++)
		gort_chan_close(R.chan[c]);
	ADD(&R.ended, 1);
}

/* ------------------------------------------------------------ running */

static void go_helper(gort_fn fn, intptr_t arg)
{
	ADD(&R.started, 1);
	FT_ASSERT(gort_go(fn, (void *)arg) > 0, "gort_go failed: errno %d", errno);
}

static void make_channels(void)
{
	for (int c = 0; c < FT_NCHAN; c++) {
		R.chan[c] = gort_chan_make(sizeof(uint64_t), P.cap[c]);
		FT_ASSERT(R.chan[c], "gort_chan_make(8, %zu) failed: errno %d", P.cap[c], errno);
	}
}

/* Every G of the plan started from outside any G (the global queue). */
static void start_gs(void)
{
	gort_wg_add(&R.workers, (long)P.nworkers);
	for (int c = 0; c < FT_NSINK; c++)
		for (uint32_t h = 0; h < P.helpers[c]; h++)
			go_helper(drainer, c);
	for (int c = FT_NSINK; c < FT_NCHAN; c++)
		for (uint32_t f = 0; f < P.helpers[c]; f++)
			go_helper(feeder, c * FT_MAX_HELPERS + (intptr_t)f);
	go_helper(closer, 0);
	for (uint32_t w = 0; w < P.nworkers; w++) {
		uint32_t i = ADD(&ngargs, 1) - 1;
		gargs[i] = (ft_garg){.prog = P.workers[w], .depth = 0, .wg = &R.workers};
		go_helper(g_main, (intptr_t)&gargs[i]);
	}
}

/* ------------------------------------------------------------ checks */

static void check_gs_ended(int parked)
{
	FT_ASSERT(parked == 0, "gort_run returned %d (Gs left parked)", parked);
	FT_ASSERT(LD(&R.ended) == LD(&R.started), "%llu Gs started, %llu ended",
		  (unsigned long long)LD(&R.started), (unsigned long long)LD(&R.ended));
	gort_g_info g[4];
	size_t live = gort_inspect_gs(g, 4);
	FT_ASSERT(live == 0, "%zu Gs live after gort_run (goid %lld, status %u, \"%s\")", live,
		  (long long)g[0].goid, g[0].status, g[0].waitreason);
}

static void check_channel(int c)
{
	FT_ASSERT(R.sent_n[c] == R.recv_n[c] && R.sent_sum[c] == R.recv_sum[c],
		  "channel %d (cap %zu): %llu values sent (sum %llu), %llu received (sum %llu)", c,
		  P.cap[c], (unsigned long long)R.sent_n[c], (unsigned long long)R.sent_sum[c],
		  (unsigned long long)R.recv_n[c], (unsigned long long)R.recv_sum[c]);
	uint64_t want = c < FT_NSINK ? P.sends[c] : P.recvs[c];
	uint64_t got = c < FT_NSINK ? R.blocking_sends[c] : R.blocking_recvs[c];
	FT_ASSERT(got == want, "channel %d: %llu blocking %s, the plan has %llu", c,
		  (unsigned long long)got, c < FT_NSINK ? "sends" : "receives",
		  (unsigned long long)want);
	gort_chan_info ci;
	FT_ASSERT(gort_inspect_chan(R.chan[c], &ci) == 0, "gort_inspect_chan(%d) failed", c);
	FT_ASSERT(ci.closed && ci.len == 0 && ci.nrecvq == 0 && ci.nsendq == 0,
		  "channel %d after the run: closed %d, len %zu, %u receivers and %u senders "
		  "waiting",
		  c, ci.closed, ci.len, ci.nrecvq, ci.nsendq);
	FT_ASSERT(gort_check_chan(R.chan[c]) == 0, "gort_check_chan(%d) failed", c);
}

static void check_values(void)
{
	FT_ASSERT(R.closed_source == 0, "%llu receives on a source saw it closed",
		  (unsigned long long)R.closed_source);
	for (int c = 0; c < FT_NCHAN; c++)
		check_channel(c);
	for (int m = 0; m < FT_NMUTEX; m++) {
		uint64_t want = P.locks[m] + R.trylocks[m];
		FT_ASSERT((uint64_t)R.counter[m] == want,
			  "mutex %d: counter %ld, want %llu (%llu locks, %llu trylocks)", m,
			  R.counter[m], (unsigned long long)want, (unsigned long long)P.locks[m],
			  (unsigned long long)R.trylocks[m]);
	}
	FT_ASSERT(R.bad_calls == 0, "%llu calls failed that cannot",
		  (unsigned long long)R.bad_calls);
	FT_ASSERT(R.bad_pattern == 0, "%llu objects changed while their G yielded",
		  (unsigned long long)R.bad_pattern);
	FT_ASSERT(R.reports == 0, "%llu errors reported; the first: %s",
		  (unsigned long long)R.reports, R.report);
}

/* After gort_run every M is parked: no P held, no G, not spinning; every
 * P idle with empty queues. */
static void check_at_rest(void)
{
	gort_sched_info si;
	gort_inspect_sched(&si);
	FT_ASSERT(si.threaded && si.gomaxprocs == FT_PROCS && si.idleprocs == FT_PROCS &&
			  si.runqueue == 0,
		  "scheduler after the run: %u Ps, %u idle, %u Gs on the global queue",
		  si.gomaxprocs, si.idleprocs, si.runqueue);
	gort_p_info p[FT_PROCS];
	FT_ASSERT(gort_inspect_ps(p, FT_PROCS) == FT_PROCS, "gort_inspect_ps: not %d Ps", FT_PROCS);
	for (int i = 0; i < FT_PROCS; i++)
		FT_ASSERT(p[i].nrunq == 0 && p[i].runnext == 0 && !p[i].running,
			  "P %d after the run: %u queued, runnext %lld, running %d", i, p[i].nrunq,
			  (long long)p[i].runnext, p[i].running);
	gort_m_info m[64];
	size_t n = gort_inspect_ms(m, 64);
	FT_ASSERT(n == si.threads, "%zu Ms listed, schedtrace counts %u", n, si.threads);
	for (size_t i = 0; i < n && i < 64; i++)
		FT_ASSERT(m[i].status == GORT_M_IDLE && m[i].p == -1 && m[i].curg == 0,
			  "M %d after the run: status %u, P %d, G %lld", m[i].id, m[i].status,
			  m[i].p, (long long)m[i].curg);
}

static void check_heap(uint64_t objects_before)
{
	struct gort_memstats ms;
	gort_memstats(&ms);
	FT_ASSERT(ms.mallocs - ms.frees == ms.heap_objects,
		  "memstats: %llu mallocs - %llu frees != %llu objects",
		  (unsigned long long)ms.mallocs, (unsigned long long)ms.frees,
		  (unsigned long long)ms.heap_objects);
	FT_ASSERT(ms.heap_objects == objects_before,
		  "%llu heap objects after the input, %llu before",
		  (unsigned long long)ms.heap_objects, (unsigned long long)objects_before);
	if (F.ninputs % FT_CHECK_EVERY == 0)
		FT_ASSERT(gort_check() == 0, "gort_check failed");
}

/* ------------------------------------------------------------ the input */

static void print_prog(FILE *out, ft_prog prog, int depth)
{
	for (uint16_t i = 0; i < prog.n; i++) {
		const ft_op *o = &P.ops[prog.first + i];
		fprintf(out, "#   %*s%s which=%u inner=%u arg=%u\n", 2 * depth, "",
			kind_names[o->kind], o->which, o->inner, o->arg);
		if (o->kind == OP_SPAWN || o->kind == OP_JOIN)
			print_prog(out, o->child, depth + 1);
	}
}

static void print_plan(FILE *out)
{
	fprintf(out, "# plan (%zu input bytes):", F.size);
	for (int c = 0; c < FT_NCHAN; c++)
		fprintf(out, " %s%d cap %zu x%u;", c < FT_NSINK ? "sink" : "source", c, P.cap[c],
			P.helpers[c]);
	fprintf(out, " %u workers, %u Gs, %u ops run, %llu ns of waits\n", P.nworkers, P.gs,
		P.run_ops, (unsigned long long)P.wait_ns);
	for (uint32_t w = 0; w < P.nworkers; w++) {
		fprintf(out, "# worker %u:\n", w);
		print_prog(out, P.workers[w], 0);
	}
}

static void reset_run(void)
{
	memset(&R, 0, sizeof R);
	__atomic_store_n(&ngargs, 0, __ATOMIC_SEQ_CST);
}

static void run_input(const uint8_t *data, size_t size)
{
	F.data = data;
	F.size = size;
	decode_plan(data, size);
	if (F.trace)
		print_plan(stderr);
	reset_run();
	struct gort_memstats ms;
	gort_memstats(&ms);
	make_channels();
	watchdog_arm(F.ninputs + 1);
	start_gs();
	int parked = gort_run();
	watchdog_disarm();
	check_gs_ended(parked);
	check_values();
	check_at_rest();
	for (int c = 0; c < FT_NCHAN; c++)
		gort_chan_free(R.chan[c]);
	check_heap(ms.heap_objects);
}

static void setup(void)
{
	const char *t = getenv("GORT_FUZZ_TRACE");
	F.trace = t && *t && *t != '0';
	const char *r = getenv("GORT_FUZZ_ROUNDS");
	F.rounds = r && atoi(r) > 0 ? (unsigned)atoi(r) : 1;
	gort_config cfg = {.procs = FT_PROCS,
			   .arena_bytes = FT_ARENA_BYTES,
			   .threaded = 1,
			   .harden = GORT_HARDEN_LIGHT};
	if (gort_init(&cfg) != 0) {
		fprintf(stderr, "fuzz_threaded: gort_init failed, errno %d\n", errno);
		abort();
	}
	gort_set_error_handler(on_error, NULL);
	pthread_t wd;
	if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
		fprintf(stderr, "fuzz_threaded: cannot start the watchdog\n");
		abort();
	}
	pthread_detach(wd);
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
	for (unsigned i = 0; i < F.rounds; i++) {
		run_input(data, size);
		F.ninputs++;
	}
	return 0;
}
