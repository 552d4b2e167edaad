/*
 * sched_model.h — the shadow model of the scheduler's queues that
 * fuzz_sched checks step mode against (fuzz/fuzz_sched.c drives it).
 *
 * Included by exactly one harness (everything is static); uses only the
 * public headers, gort.h and gort_inspect.h.
 *
 * The model knows, for every G made during the input (by index: goids are
 * handed out in order, so index = goid - base), whether it is runnable,
 * running, parked or dead; for each P its runnext, its ring in order (a
 * deque of at most 256) and its schedtick; the global queue in order; how
 * many dead Gs wait on each P's free list and on the global one, and how
 * many G structures exist (the free lists decide when a new one is made).
 * It moves Gs by Go 1.19's rules (runtime/proc.go; docs/scheduler.md):
 *  - a new G (gort_go outside a G: P 0; in a G: its P; gort_go_p: that P)
 *    goes to runnext, the old runnext to the ring's tail;
 *  - ready from outside any G: the global queue's tail; in a G: the
 *    current P's runnext, the same way;
 *  - yield: the tail of the ring of the P the G ran on;
 *  - a full ring (256) that must take one more sends its 128 oldest and
 *    the new one to the global tail, in that order;
 *  - gort_set_procs shrinking: each P that goes, from the last, puts its
 *    runnext then its ring, in order, at the head of the global queue, and
 *    its dead Gs on the global free list; growing adds empty Ps (tick 0);
 *  - a dead G goes to its P's free list; at 64 the list keeps 32 and the
 *    rest goes to the global list; a new G comes from its P's list, which
 *    an empty P first refills with up to 32 from the global one.
 *
 * Which P looks for work and in what order it visits victims come from the
 * runtime's PRNG: the model does not re-implement them. A step's RUN event
 * says which P ran which G, from where (runnext, local, global, stolen and
 * the victim); sm_take checks that this P could have made that choice, from
 * the state before the step:
 *  - every 61st schedtick (tick % 61 == 0, before the step's increment) the
 *    global queue's head first, alone, if the queue is not empty;
 *  - else runnext; else the ring's head; else the global queue: its head
 *    runs and the next n - 1 go to the ring, n = size / nprocs + 1 (at
 *    most size, at most 128);
 *  - else (and only then, and only with 2 Ps or more) a steal: if any other
 *    P's ring holds Gs the victim must be one of those, and the thief takes
 *    n = ceil(half) of the victim's ring from its head, runs the last of
 *    them and keeps the others on its own ring in order; only if no ring
 *    holds anything, a victim's runnext;
 *  - the P's schedtick grows by one unless the G came from runnext.
 * Then the model applies what the G did while it ran (fuzz_sched.c replays
 * its body's log: spawns, readies, each with the result the model
 * predicts), and how it left (yielded, parked, exited).
 *
 * sm_check compares the whole model with the runtime (fuzz_sched.c calls it
 * after every operation and every step): gort_inspect_ps (every P's
 * schedtick, runnext, ring in order, free-list count, nothing running),
 * gort_inspect_sched (the global queue in order, its size, steps, Gs made,
 * no current G), the model's own bookkeeping (each runnable G in exactly
 * one place), ring sizes <= 256; and as asked, gort_inspect_gs (every live
 * G with the status its place needs, none missing, none extra) and
 * gort_check() == 0. GO and READY events are predicted (kind, P, goid, by,
 * step) and compared one for one with the log.
 *
 * Any disagreement prints what broke, both states, the input's last
 * operations, runs the harness's on_fail hook if it set one (fuzz_sched:
 * the gortsh script so far), and aborts.
 */
#ifndef GORT_FUZZ_SCHED_MODEL_H
#define GORT_FUZZ_SCHED_MODEL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"

#define SM_PROCS_MAX 8		     /* the harness grows to 8 Ps at most */
#define SM_RING 256		     /* GORT_RUNQ_CAP */
#define SM_HALF 128		     /* the overflow batch and the most one grab takes */
#define SM_G_MAX 400		     /* Gs made per input, at most */
#define SM_GLOB_CAP 1024	     /* > SM_G_MAX: every runnable G fits */
#define SM_GLOBAL_TICK 61	     /* Go: the global queue first every 61st tick */
#define SM_GFREE_MAX 64		     /* Go: a P's free list spills at 64 ... */
#define SM_GFREE_KEEP 32	     /* ... down to 32, and refills up to 32 */
#define SM_WANT_MAX (SM_G_MAX + 128) /* expected GO/READY events of one operation */
#define SM_OPS_RING 32		     /* operations shown in a failure message */
#define SM_GS_MAX (2 * SM_G_MAX)
#define SM_WAITREASON "fuzz"

#define SM_PRINTF(a, b) __attribute__((format(printf, a, b)))
/* The model and its checks need no coverage feedback of their own: the
 * library's is what guides the fuzzer. */
#if defined(__clang__)
#define SM_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define SM_NOCOV
#endif

enum sm_gstate {
	SM_NONE = 0,
	SM_RUNNABLE,
	SM_RUNNING,
	SM_PARKED,
	SM_DEAD
};

/* A deque of G indices over a power-of-two buffer. */
typedef struct sm_dq {
	uint16_t *buf;
	uint32_t mask, head, n;
} sm_dq;

typedef struct sm_p {
	int32_t runnext; /* G index, -1 if empty */
	sm_dq ring;
	uint16_t ringbuf[SM_RING];
	uint32_t schedtick;
	uint32_t gfree;
} sm_p;

/* One operation, kept for the failure message. */
typedef struct sm_opinfo {
	long no;
	const char *name;
	int64_t a, b, c;
	int64_t ret;
} sm_opinfo;

static struct sm_state {
	const char *harness;
	int trace;
	void (*on_fail)(void); /* run by sm_fail before it aborts (once) */

	unsigned nprocs;
	sm_p p[SM_PROCS_MAX];
	sm_dq glob;
	uint16_t globbuf[SM_GLOB_CAP];
	uint64_t gfree;	    /* dead Gs on the global free list */
	uint64_t ngs;	    /* G structures ever made */
	uint64_t steps;	    /* scheduling decisions made */
	uint64_t next_goid; /* the goid the next G gets */

	int64_t base; /* the goid of G index 0 of this input */
	uint32_t ng;  /* Gs made in this input */
	uint8_t st[SM_G_MAX];
	uint16_t parked[SM_G_MAX]; /* parked Gs, in no particular order */
	uint16_t parked_at[SM_G_MAX];
	const char *reason[SM_G_MAX]; /* a parked G's wait reason */
	uint8_t prim[SM_G_MAX];	      /* parked in a blocking primitive: gort_ready refuses it */
	uint32_t nparked, nrunnable;

	gort_event want[SM_WANT_MAX]; /* GO/READY events expected, in order */
	uint32_t nwant;

	long op_no;
	sm_opinfo ops[SM_OPS_RING];
	unsigned long nops;

	gort_p_info ps[SM_PROCS_MAX];
	gort_sched_info si;
	gort_g_info gs[SM_GS_MAX];
	uint8_t seen[SM_G_MAX];
} M;

/* ------------------------------------------------------------- failing */

SM_NOCOV static int64_t sm_goid(int32_t i)
{
	return i < 0 ? 0 : M.base + i;
}

SM_NOCOV static void sm_print_dq(const char *what, const sm_dq *q)
{
	fprintf(stderr, "%s[", what);
	for (uint32_t i = 0; i < q->n; i++)
		fprintf(stderr, "%s%lld", i ? " " : "",
			(long long)sm_goid(q->buf[(q->head + i) & q->mask]));
	fprintf(stderr, "]");
}

SM_NOCOV static void sm_print_ids(const char *what, const int64_t *ids, uint32_t n)
{
	fprintf(stderr, "%s[", what);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, "%s%lld", i ? " " : "", (long long)ids[i]);
	fprintf(stderr, "]");
}

SM_NOCOV static void sm_dump(void)
{
	fprintf(stderr,
		"%s: model: %u Ps, %u runnable, %u parked, steps %llu, ngs %llu, "
		"goids from %lld\n",
		M.harness, M.nprocs, M.nrunnable, M.nparked, (unsigned long long)M.steps,
		(unsigned long long)M.ngs, (long long)M.base);
	for (unsigned i = 0; i < M.nprocs; i++) {
		const sm_p *p = &M.p[i];
		fprintf(stderr, "  P%u tick %u gfree %u runnext %lld ", i, p->schedtick, p->gfree,
			(long long)sm_goid(p->runnext));
		sm_print_dq("ring ", &p->ring);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "  ");
	sm_print_dq("global ", &M.glob);
	fprintf(stderr, "\n  parked [");
	for (uint32_t i = 0; i < M.nparked; i++)
		fprintf(stderr, "%s%lld", i ? " " : "", (long long)sm_goid(M.parked[i]));
	fprintf(stderr, "]\n");

	size_t np = gort_inspect_ps(M.ps, SM_PROCS_MAX);
	fprintf(stderr, "%s: runtime: %zu Ps\n", M.harness, np);
	for (size_t i = 0; i < np && i < SM_PROCS_MAX; i++) {
		const gort_p_info *q = &M.ps[i];
		fprintf(stderr, "  P%d tick %u gfree %u runnext %lld ", q->id, q->schedtick,
			q->gfreecnt, (long long)q->runnext);
		sm_print_ids("ring ", q->runq, q->nrunq <= SM_RING ? q->nrunq : SM_RING);
		fprintf(stderr, "\n");
	}
	gort_inspect_sched(&M.si);
	fprintf(stderr, "  global (%u) ", M.si.runqueue);
	sm_print_ids("", M.si.global, M.si.nglobal);
	fprintf(stderr, "\n  steps %llu, ngs %llu, curg %lld\n", (unsigned long long)M.si.steps,
		(unsigned long long)M.si.ngs, (long long)M.si.curg);
}

SM_NOCOV static void sm_print_op(const sm_opinfo *o)
{
	fprintf(stderr, "  op %ld: %s(%lld, %lld, %lld) -> %lld\n", o->no, o->name, (long long)o->a,
		(long long)o->b, (long long)o->c, (long long)o->ret);
}

SM_PRINTF(1, 2) SM_NOCOV static void sm_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: FAILED at op %ld: ", M.harness, M.op_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	sm_dump();
	fprintf(stderr, "%s: the input's last operations (op, args, result):\n", M.harness);
	unsigned long n = M.nops < SM_OPS_RING ? M.nops : SM_OPS_RING;
	for (unsigned long i = M.nops - n; i < M.nops; i++)
		sm_print_op(&M.ops[i % SM_OPS_RING]);
	void (*last_words)(void) = M.on_fail;
	M.on_fail = NULL; /* a failure inside it must not loop */
	if (last_words)
		last_words();
	abort();
}

#define SM_ASSERT(cond, ...)                      \
	do {                                      \
		if (__builtin_expect(!(cond), 0)) \
			sm_fail(__VA_ARGS__);     \
	} while (0)

/* Record an operation about to run; its result is filled in by sm_ret. */
SM_NOCOV static sm_opinfo *sm_op(const char *name, int64_t a, int64_t b, int64_t c)
{
	sm_opinfo *o = &M.ops[M.nops++ % SM_OPS_RING];
	*o = (sm_opinfo){M.op_no, name, a, b, c, 0};
	if (M.trace)
		fprintf(stderr, "  op %ld: %s(%lld, %lld, %lld)\n", o->no, name, (long long)a,
			(long long)b, (long long)c);
	return o;
}

SM_NOCOV static void sm_ret(sm_opinfo *o, int64_t r)
{
	o->ret = r;
	if (M.trace)
		fprintf(stderr, "  op %ld: -> %lld\n", o->no, (long long)r);
}

/* --------------------------------------------------------------- deques */

SM_NOCOV static void dq_init(sm_dq *q, uint16_t *buf, uint32_t cap)
{
	*q = (sm_dq){buf, cap - 1, 0, 0};
}

SM_NOCOV static uint16_t dq_at(const sm_dq *q, uint32_t i)
{
	return q->buf[(q->head + i) & q->mask];
}

SM_NOCOV static void dq_push_back(sm_dq *q, uint16_t g)
{
	SM_ASSERT(q->n <= q->mask, "model: deque overflow");
	q->buf[(q->head + q->n++) & q->mask] = g;
}

SM_NOCOV static void dq_push_front(sm_dq *q, uint16_t g)
{
	SM_ASSERT(q->n <= q->mask, "model: deque overflow");
	q->head = (q->head - 1) & q->mask;
	q->buf[q->head] = g;
	q->n++;
}

SM_NOCOV static uint16_t dq_pop_front(sm_dq *q)
{
	SM_ASSERT(q->n > 0, "model: pop from an empty deque");
	uint16_t g = q->buf[q->head];
	q->head = (q->head + 1) & q->mask;
	q->n--;
	return g;
}

/* ------------------------------------------------------------ the model */

SM_NOCOV static void sm_p_reset(unsigned i)
{
	sm_p *p = &M.p[i];
	p->runnext = -1;
	dq_init(&p->ring, p->ringbuf, SM_RING);
	p->schedtick = 0;
	p->gfree = 0;
}

SM_NOCOV static int32_t sm_index(int64_t goid)
{
	return goid >= M.base && goid < M.base + (int64_t)M.ng ? (int32_t)(goid - M.base) : -1;
}

/* A G goes to the tail of P p's ring; a full ring sends its 128 oldest and
 * then g to the global tail (runq.c put_slow). */
SM_NOCOV static void sm_ring_put(unsigned p, uint16_t g)
{
	sm_dq *r = &M.p[p].ring;
	if (r->n < SM_RING) {
		dq_push_back(r, g);
		return;
	}
	for (uint32_t i = 0; i < SM_HALF; i++)
		dq_push_back(&M.glob, dq_pop_front(r));
	dq_push_back(&M.glob, g);
}

SM_NOCOV static void sm_put_next(unsigned p, uint16_t g)
{
	int32_t old = M.p[p].runnext;
	M.p[p].runnext = g;
	if (old >= 0)
		sm_ring_put(p, (uint16_t)old);
}

SM_NOCOV static void sm_want(uint32_t kind, int32_t p, int32_t g, int64_t by, uint64_t step)
{
	SM_ASSERT(M.nwant < SM_WANT_MAX, "model: too many expected events");
	M.want[M.nwant++] = (gort_event){
		.kind = kind, .p = p, .from = -1, .goid = sm_goid(g), .by = by, .step = step};
}

/* A new G on P p (gort_g_new: a dead G from p's free list, which an empty P
 * first refills from the global one, else a new structure), into runnext.
 * Returns its index; by: the goid of the G that made it, 0 outside. */
SM_NOCOV static uint16_t sm_go(unsigned p, int64_t by, uint64_t step)
{
	SM_ASSERT(M.ng < SM_G_MAX, "model: too many Gs");
	sm_p *pp = &M.p[p];
	if (pp->gfree == 0) {
		uint64_t k = M.gfree < SM_GFREE_KEEP ? M.gfree : SM_GFREE_KEEP;
		pp->gfree += (uint32_t)k;
		M.gfree -= k;
	}
	if (pp->gfree)
		pp->gfree--;
	else
		M.ngs++;
	uint16_t g = (uint16_t)M.ng++;
	M.next_goid++;
	M.st[g] = SM_RUNNABLE;
	M.nrunnable++;
	sm_put_next(p, g);
	sm_want(GORT_EV_GO, (int32_t)p, g, by, step);
	return g;
}

SM_NOCOV static void sm_park(uint16_t g)
{
	M.st[g] = SM_PARKED;
	M.reason[g] = SM_WAITREASON;
	M.prim[g] = 0;
	M.parked_at[g] = (uint16_t)M.nparked;
	M.parked[M.nparked++] = g;
}

SM_NOCOV static void sm_unpark(uint16_t g)
{
	uint16_t at = M.parked_at[g], last = M.parked[--M.nparked];
	M.parked[at] = last;
	M.parked_at[last] = at;
}

/* gort_ready of a parked G: the global tail from outside (p < 0), else P
 * p's runnext. */
SM_NOCOV static void sm_ready(uint16_t g, int32_t p, int64_t by, uint64_t step)
{
	sm_unpark(g);
	M.prim[g] = 0;
	M.st[g] = SM_RUNNABLE;
	M.nrunnable++;
	if (p < 0)
		dq_push_back(&M.glob, g);
	else
		sm_put_next((unsigned)p, g);
	sm_want(GORT_EV_READY, p, g, by, step);
}

/* What gort_ready(goid) must return. */
SM_NOCOV static int sm_ready_ok(int64_t goid)
{
	int32_t g = sm_index(goid);
	return g >= 0 && M.st[g] == SM_PARKED && !M.prim[g];
}

/* Can P k find a G (its queues, the global queue, or a steal)? */
SM_NOCOV static int sm_p_can_run(unsigned k)
{
	if (M.p[k].runnext >= 0 || M.p[k].ring.n || M.glob.n)
		return 1;
	if (M.nprocs < 2)
		return 0;
	for (unsigned i = 0; i < M.nprocs; i++)
		if (i != k && (M.p[i].runnext >= 0 || M.p[i].ring.n))
			return 1;
	return 0;
}

static const char *const sm_src_name[] = {"runnext", "local", "global", "stolen"};

/* Check the choice of a RUN event against the model before the step, and
 * apply it: the G leaves its place (with the batch a global take or a steal
 * moves) and runs. Returns its index. Everything is checked before the
 * model moves, so a failure message shows the state the P chose from. */
SM_NOCOV static uint16_t sm_take(const gort_event *ev)
{
	SM_ASSERT(ev->p >= 0 && (unsigned)ev->p < M.nprocs, "RUN event on P %d of %u", ev->p,
		  M.nprocs);
	unsigned k = (unsigned)ev->p;
	sm_p *p = &M.p[k], *v = NULL;
	uint32_t want, n = 1; /* n: Gs moved (global: to the ring; steal: from v) */
	int32_t from = -1;
	uint16_t g;
	if (p->schedtick % SM_GLOBAL_TICK == 0 && M.glob.n) {
		want = GORT_SRC_GLOBAL; /* alone: n = 1 */
		g = dq_at(&M.glob, 0);
	} else if (p->runnext >= 0) {
		want = GORT_SRC_RUNNEXT;
		g = (uint16_t)p->runnext;
	} else if (p->ring.n) {
		want = GORT_SRC_LOCAL;
		g = dq_at(&p->ring, 0);
	} else if (M.glob.n) {
		want = GORT_SRC_GLOBAL;
		n = M.glob.n / M.nprocs + 1;
		if (n > M.glob.n)
			n = M.glob.n;
		if (n > SM_HALF)
			n = SM_HALF;
		g = dq_at(&M.glob, 0);
	} else {
		want = GORT_SRC_STOLEN;
		SM_ASSERT(M.nprocs >= 2,
			  "P%u ran g%lld (%s) with nothing to run in the model and no P to "
			  "steal from",
			  k, (long long)ev->goid, sm_src_name[ev->source & 3]);
		SM_ASSERT(ev->source == GORT_SRC_STOLEN,
			  "P%u ran g%lld from %s, but only a steal could find work", k,
			  (long long)ev->goid, ev->source < 4 ? sm_src_name[ev->source] : "?");
		from = ev->from;
		SM_ASSERT(from >= 0 && (unsigned)from < M.nprocs && (unsigned)from != k,
			  "P%u stole from P%d (%u Ps)", k, from, M.nprocs);
		int any_ring = 0;
		for (unsigned i = 0; i < M.nprocs; i++)
			any_ring |= i != k && M.p[i].ring.n > 0;
		v = &M.p[from];
		if (any_ring) {
			SM_ASSERT(v->ring.n > 0,
				  "P%u stole g%lld from P%d, whose ring is empty, while another "
				  "P's ring holds Gs (runnext is only taken when no ring has any)",
				  k, (long long)ev->goid, from);
			n = v->ring.n - v->ring.n / 2;
			g = dq_at(&v->ring, n - 1);
		} else {
			SM_ASSERT(v->runnext >= 0,
				  "P%u stole g%lld from P%d, which has nothing to steal", k,
				  (long long)ev->goid, from);
			n = 0; /* runnext, not the ring */
			g = (uint16_t)v->runnext;
		}
	}
	SM_ASSERT(ev->source == want,
		  "P%u (schedtick %u) took g%lld from %s, the model says %s (g%lld)", k,
		  p->schedtick, (long long)ev->goid, ev->source < 4 ? sm_src_name[ev->source] : "?",
		  sm_src_name[want], (long long)sm_goid(g));
	SM_ASSERT(from < 0 || n == 0 || ev->goid == sm_goid(g),
		  "P%u stole g%lld from P%d, the model says g%lld (the thief takes ceil(half) = "
		  "%u of the victim's %u from the head of its ring and runs the last of them)",
		  k, (long long)ev->goid, from, (long long)sm_goid(g), n, v ? v->ring.n : 0);
	SM_ASSERT(ev->goid == sm_goid(g), "P%u took g%lld from %s, the model says g%lld", k,
		  (long long)ev->goid, sm_src_name[want], (long long)sm_goid(g));
	SM_ASSERT(ev->from == from, "RUN event of g%lld: from P%d, the model says %d",
		  (long long)ev->goid, ev->from, from);
	uint32_t tick = p->schedtick + (want != GORT_SRC_RUNNEXT);
	SM_ASSERT(ev->schedtick == tick, "RUN event on P%u: schedtick %u, the model says %u", k,
		  ev->schedtick, tick);
	SM_ASSERT(ev->step == M.steps, "RUN event: step %llu, the model says %llu",
		  (unsigned long long)ev->step, (unsigned long long)M.steps);
	SM_ASSERT(ev->m == 0, "RUN event on M %d in step mode", ev->m);

	switch (want) {
	case GORT_SRC_RUNNEXT: p->runnext = -1; break;
	case GORT_SRC_LOCAL: dq_pop_front(&p->ring); break;
	case GORT_SRC_GLOBAL:
		dq_pop_front(&M.glob);
		for (uint32_t i = 1; i < n; i++)
			dq_push_back(&p->ring, dq_pop_front(&M.glob));
		break;
	default:
		if (n == 0) {
			v->runnext = -1;
			break;
		}
		for (uint32_t i = 0; i + 1 < n; i++)
			dq_push_back(&p->ring, dq_pop_front(&v->ring));
		dq_pop_front(&v->ring);
		break;
	}
	p->schedtick = tick;
	M.steps++;
	M.st[g] = SM_RUNNING;
	M.nrunnable--;
	return g;
}

/* The G that ran on P k left the CPU this way (proc.c file_g). */
SM_NOCOV static void sm_outcome(unsigned k, uint16_t g, uint32_t outcome)
{
	switch (outcome) {
	case GORT_OUT_YIELDED:
		M.st[g] = SM_RUNNABLE;
		M.nrunnable++;
		sm_ring_put(k, g);
		break;
	case GORT_OUT_PARKED: sm_park(g); break;
	case GORT_OUT_EXITED: {
		sm_p *p = &M.p[k];
		M.st[g] = SM_DEAD;
		if (++p->gfree >= SM_GFREE_MAX) {
			M.gfree += p->gfree - SM_GFREE_KEEP;
			p->gfree = SM_GFREE_KEEP;
		}
		break;
	}
	default: sm_fail("g%lld left P%u with outcome %u", (long long)sm_goid(g), k, outcome);
	}
}

/* gort_set_procs(n), n valid (step.c p_stop / p_start). */
SM_NOCOV static void sm_set_procs(unsigned n)
{
	while (M.nprocs > n) {
		sm_p *p = &M.p[--M.nprocs];
		while (p->ring.n) {
			p->ring.n--;
			dq_push_front(&M.glob, dq_at(&p->ring, p->ring.n));
		}
		if (p->runnext >= 0)
			dq_push_front(&M.glob, (uint16_t)p->runnext);
		p->runnext = -1;
		M.gfree += p->gfree;
		p->gfree = 0;
	}
	while (M.nprocs < n)
		sm_p_reset(M.nprocs++);
}

/* Start an input: the runtime must be idle, with nothing queued and no live
 * G; the model takes the rest (schedticks, free lists, counters) from it. */
SM_NOCOV static void sm_begin(void)
{
	M.nops = 0;
	M.op_no = 0;
	M.nwant = 0;
	M.ng = 0;
	M.nparked = M.nrunnable = 0;
	M.base = (int64_t)M.next_goid;
	dq_init(&M.glob, M.globbuf, SM_GLOB_CAP);
	gort_inspect_sched(&M.si);
	size_t np = gort_inspect_ps(M.ps, SM_PROCS_MAX);
	SM_ASSERT(np >= 1 && np <= SM_PROCS_MAX, "%zu Ps at the start of an input", np);
	M.nprocs = (unsigned)np;
	uint64_t onp = 0;
	for (unsigned i = 0; i < M.nprocs; i++) {
		sm_p_reset(i);
		M.p[i].schedtick = M.ps[i].schedtick;
		M.p[i].gfree = M.ps[i].gfreecnt;
		onp += M.ps[i].gfreecnt;
	}
	M.ngs = M.si.ngs;
	M.steps = M.si.steps;
	SM_ASSERT(M.ngs >= onp, "%llu Gs made, %llu on the Ps' free lists",
		  (unsigned long long)M.ngs, (unsigned long long)onp);
	M.gfree = M.ngs - onp; /* nothing is live: every other G is on the global list */
}

/* ------------------------------------------------------------- checking */

/* Events since seq `after` that are not RUN: compared with the expected ones
 * (consumed). HANDOFF and CLOSE events also by side and channel. */
SM_NOCOV static void sm_match_events(const gort_event *ev, size_t n)
{
	SM_ASSERT(n == M.nwant, "%zu GO/READY events, the model expects %u", n, M.nwant);
	for (size_t i = 0; i < n; i++) {
		const gort_event *e = &ev[i], *w = &M.want[i];
		SM_ASSERT(e->kind == w->kind && e->p == w->p && e->goid == w->goid &&
				  e->by == w->by && e->from == -1 && e->step == w->step &&
				  e->source == w->source && e->obj == w->obj,
			  "event %llu: %s g%lld on P%d by g%lld at step %llu (from %d, side %u, "
			  "obj %#lx), the model expects %s g%lld on P%d by g%lld at step %llu "
			  "(side %u, obj %#lx)",
			  (unsigned long long)e->seq, gort_event_kind_name(e->kind),
			  (long long)e->goid, e->p, (long long)e->by, (unsigned long long)e->step,
			  e->from, e->source, (unsigned long)e->obj, gort_event_kind_name(w->kind),
			  (long long)w->goid, w->p, (long long)w->by, (unsigned long long)w->step,
			  w->source, (unsigned long)w->obj);
	}
	M.nwant = 0;
}

/* The model's own bookkeeping: each runnable G in exactly one place. */
SM_NOCOV static void sm_self_check(void)
{
	memset(M.seen, 0, M.ng);
	uint32_t places = 0;
#define SM_SEE(g_, where_)                                                          \
	do {                                                                        \
		uint16_t g__ = (g_);                                                \
		SM_ASSERT(g__ < M.ng && M.st[g__] == SM_RUNNABLE && !M.seen[g__],   \
			  "model: g%lld in %s is not runnable or is in two places", \
			  (long long)sm_goid(g__), where_);                         \
		M.seen[g__] = 1;                                                    \
		places++;                                                           \
	} while (0)
	for (unsigned i = 0; i < M.nprocs; i++) {
		const sm_p *p = &M.p[i];
		SM_ASSERT(p->ring.n <= SM_RING, "model: P%u's ring holds %u", i, p->ring.n);
		if (p->runnext >= 0)
			SM_SEE((uint16_t)p->runnext, "a runnext");
		for (uint32_t k = 0; k < p->ring.n; k++)
			SM_SEE(dq_at(&p->ring, k), "a ring");
	}
	for (uint32_t k = 0; k < M.glob.n; k++)
		SM_SEE(dq_at(&M.glob, k), "the global queue");
#undef SM_SEE
	SM_ASSERT(places == M.nrunnable, "model: %u runnable Gs, %u in queues", M.nrunnable,
		  places);
}

/* What sm_check looks at besides the queues. */
enum {
	SM_CK_GS = 1,	 /* every live G's status (gort_inspect_gs) */
	SM_CK_CHECK = 2, /* gort_check() == 0 */
	SM_CK_ALL = 3,
};

/* The whole model against the runtime: every P's queues in order, the
 * global queue, the counters; with SM_CK_GS the model's own bookkeeping
 * and every live G's status, with SM_CK_CHECK gort_check(). (The queues
 * compared equal, a G in two places or none would be the runtime's too,
 * which gort_check sees: the self-check only names it sooner.) */
SM_NOCOV static void sm_check(int what)
{
	if (what & SM_CK_GS)
		sm_self_check();
	size_t np = gort_inspect_ps(M.ps, SM_PROCS_MAX);
	SM_ASSERT(np == M.nprocs, "%zu Ps, the model has %u", np, M.nprocs);
	for (unsigned i = 0; i < M.nprocs; i++) {
		const gort_p_info *q = &M.ps[i];
		const sm_p *p = &M.p[i];
		SM_ASSERT(q->id == (int32_t)i && !q->running, "P%u: id %d, running %d", i, q->id,
			  q->running);
		SM_ASSERT(q->nrunq <= SM_RING, "P%u's ring holds %u Gs", i, q->nrunq);
		SM_ASSERT(q->schedtick == p->schedtick, "P%u: schedtick %u, the model says %u", i,
			  q->schedtick, p->schedtick);
		SM_ASSERT(q->runnext == sm_goid(p->runnext),
			  "P%u: runnext g%lld, the model says g%lld", i, (long long)q->runnext,
			  (long long)sm_goid(p->runnext));
		SM_ASSERT(q->nrunq == p->ring.n, "P%u: %u Gs on the ring, the model says %u", i,
			  q->nrunq, p->ring.n);
		for (uint32_t k = 0; k < q->nrunq; k++)
			SM_ASSERT(q->runq[k] == sm_goid(dq_at(&p->ring, k)),
				  "P%u: ring position %u holds g%lld, the model says g%lld", i, k,
				  (long long)q->runq[k], (long long)sm_goid(dq_at(&p->ring, k)));
		SM_ASSERT(q->gfreecnt == p->gfree, "P%u: %u dead Gs kept, the model says %u", i,
			  q->gfreecnt, p->gfree);
	}
	gort_inspect_sched(&M.si);
	SM_ASSERT(M.si.gomaxprocs == M.nprocs, "gomaxprocs %u, the model says %u", M.si.gomaxprocs,
		  M.nprocs);
	SM_ASSERT(M.si.runqueue == M.glob.n, "%u Gs on the global queue, the model says %u",
		  M.si.runqueue, M.glob.n);
	uint32_t ng = M.glob.n < GORT_RUNQ_CAP ? M.glob.n : GORT_RUNQ_CAP;
	SM_ASSERT(M.si.nglobal == ng, "global snapshot of %u, expected %u", M.si.nglobal, ng);
	for (uint32_t k = 0; k < ng; k++)
		SM_ASSERT(M.si.global[k] == sm_goid(dq_at(&M.glob, k)),
			  "global queue position %u holds g%lld, the model says g%lld", k,
			  (long long)M.si.global[k], (long long)sm_goid(dq_at(&M.glob, k)));
	SM_ASSERT(M.si.steps == M.steps, "%llu steps, the model says %llu",
		  (unsigned long long)M.si.steps, (unsigned long long)M.steps);
	SM_ASSERT(M.si.ngs == M.ngs, "%llu Gs made, the model says %llu",
		  (unsigned long long)M.si.ngs, (unsigned long long)M.ngs);
	SM_ASSERT(M.si.curg == 0 && M.si.curp == -1, "between steps: g%lld runs on P%d",
		  (long long)M.si.curg, M.si.curp);
	if (what & SM_CK_GS) {
		size_t n = gort_inspect_gs(M.gs, SM_GS_MAX);
		SM_ASSERT(n == M.nrunnable + M.nparked, "%zu live Gs, the model has %u", n,
			  M.nrunnable + M.nparked);
		SM_ASSERT(n <= SM_GS_MAX, "%zu live Gs", n);
		for (size_t i = 0; i < n; i++) {
			const gort_g_info *gi = &M.gs[i];
			int32_t g = sm_index(gi->goid);
			SM_ASSERT(g >= 0, "live g%lld was not made by this input",
				  (long long)gi->goid);
			if (M.st[g] == SM_RUNNABLE)
				SM_ASSERT(gi->status == 1, "runnable g%lld has status %u",
					  (long long)gi->goid, gi->status);
			else if (M.st[g] == SM_PARKED)
				SM_ASSERT(gi->status == 4 &&
						  strcmp(gi->waitreason, M.reason[g]) == 0,
					  "parked g%lld has status %u (%s), the model says 4 (%s)",
					  (long long)gi->goid, gi->status, gi->waitreason,
					  M.reason[g]);
			else
				sm_fail("g%lld has status %u, the model says it is %s",
					(long long)gi->goid, gi->status,
					M.st[g] == SM_DEAD ? "dead" : "running");
		}
	}
	if (what & SM_CK_CHECK)
		SM_ASSERT(gort_check() == 0, "gort_check failed");
}

#endif /* GORT_FUZZ_SCHED_MODEL_H */
