/*
 * inspect_sched.c — read-only snapshots of the scheduler: the Ps with their
 * queues, the Gs, the global queue, and Go's schedtrace line.
 *
 * Exact in step mode (the caller's thread is the one M, so nothing moves
 * while we copy); the global queue is read under its lock. Nothing here
 * allocates from the gort heap.
 */
#include "sched/chan.h"
#include "sched/sched.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define S (gort_sched)

size_t gort_inspect_ps(gort_p_info *out, size_t max)
{
	if (!S.ready)
		return 0;
	for (uint32_t i = 0; i < S.nprocs && i < max; i++) {
		gort_p *p = &S.p[i];
		gort_p_info *o = &out[i];
		gort_g *ring[GORT_RUNQ_SIZE], *next = NULL;
		/* Field by field: the ring's unused tail (2 KiB) is left as it
		 * was, since a fuzzer reads every P after every step. */
		o->id = p->id;
		o->schedtick = ld(&p->schedtick);
		o->nrunq = gort_runq_snapshot(&p->runq, ring, &next);
		for (uint32_t k = 0; k < o->nrunq; k++)
			o->runq[k] = ring[k]->goid;
		o->runnext = next ? next->goid : 0;
		o->gfreecnt = ld(&p->ngfree);
		o->cache_id = p->mcache ? p->mcache->id : -1;
		o->running = S.threaded ? ld(&p->status) == GORT_P_RUNNING : S.curp == p;
	}
	return S.nprocs;
}

static size_t stack_used(const gort_g *g)
{
	if (!g->has_stack)
		return 0;
	uintptr_t hi = (uintptr_t)g->stack.hi, sp = (uintptr_t)g->ctx.sp;
	if (g == S.curg)
		sp = (uintptr_t)__builtin_frame_address(0);
	return sp > (uintptr_t)g->stack.lo && sp <= hi ? hi - sp : 0;
}

/* strlcpy into the info's field (snprintf cost more than the rest of a G's
 * row under a sanitizer). */
static void copy_reason(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

size_t gort_inspect_gs(gort_g_info *out, size_t max)
{
	size_t n = 0;
	if (!S.ready)
		return 0;
	gort_lock(&S.gflock); /* allg may grow (and move) under an M */
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		uint32_t status = ld(&g->status);
		if (status == GORT_G_DEAD)
			continue;
		if (n < max) {
			gort_g_info *o = &out[n]; /* every field set: no memset per G */
			o->goid = g->goid;
			o->status = status;
			o->p = g->p;
			copy_reason(o->waitreason, sizeof o->waitreason,
				    status == GORT_G_WAITING ? g->waitreason : "");
			o->nswitch = g->nswitch;
			o->stack_lo = (uintptr_t)g->stack.lo;
			o->stack_hi = (uintptr_t)g->stack.hi;
			o->stack_used = stack_used(g);
			o->waiton = status == GORT_G_WAITING ? (uintptr_t)ld(&g->waiton) : 0;
		}
		n++;
	}
	gort_unlock(&S.gflock);
	return n;
}

void gort_inspect_sched(gort_sched_info *out)
{
	/* Everything but global[]'s unused tail (2 KiB), as in gort_inspect_ps. */
	memset(out, 0, offsetof(gort_sched_info, global));
	memset(&out->nglobal, 0, sizeof *out - offsetof(gort_sched_info, nglobal));
	out->curp = -1;
	if (!S.ready)
		return;
	out->gomaxprocs = S.nprocs;
	if (S.threaded) {
		uint32_t spinning, idle;
		out->idleprocs = ld(&S.npidle); /* Go's: Ps on the idle list */
		gort_mt_counts(&out->threads, &spinning, &idle);
	} else {
		for (uint32_t i = 0; i < S.nprocs; i++)
			out->idleprocs += S.curp != &S.p[i] && gort_runq_empty(&S.p[i].runq);
		out->threads = 1;
	}
	gort_lock(&S.glob.lock);
	out->runqueue = S.glob.size;
	for (gort_g *g = S.glob.head; g && out->nglobal < GORT_RUNQ_CAP; g = g->schedlink)
		out->global[out->nglobal++] = g->goid;
	gort_unlock(&S.glob.lock);
	out->steps = S.nsteps;
	out->curg = S.curg ? S.curg->goid : 0;
	out->curp = S.curp ? S.curp->id : -1;
	out->threaded = gort_mem.threaded;
	gort_lock(&S.gflock); /* an M may be adding a G */
	out->ngs = S.nallg;
	gort_unlock(&S.gflock);
}

/* Go 1.19's format (proc.go schedtrace). The milliseconds are the
 * scheduler's clock: the real one since init in threaded mode, the virtual
 * one (advanced by timers only) in step mode, which adds its step count as
 * a last field, steps=N, where a parser of Go's lines finds it as one more
 * key and ignores it. A G that has run 10 ms or more without yielding is
 * listed last too: longrunning=G5@P0:12ms,... (threaded mode). */
typedef struct trace_buf {
	char *buf;
	size_t n, len;
} trace_buf;

__attribute__((format(printf, 2, 3))) static void out(trace_buf *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t at = t->len < t->n ? t->len : t->n;
	int k = vsnprintf(t->buf ? t->buf + at : NULL, t->buf ? t->n - at : 0, fmt, ap);
	va_end(ap);
	t->len += k > 0 ? (size_t)k : 0;
}

/* Every M (Go's allm order, newest first), mapped off the gort heap; NULL
 * in step mode, whose one M is described from S.curg. */
typedef struct trace_ms {
	gort_m_info *m;
	size_t n, bytes;
} trace_ms;

static void ms_take(trace_ms *ms)
{
	*ms = (trace_ms){0};
	if (!S.threaded)
		return;
	size_t n = gort_mt_inspect_ms(NULL, 0) + 8; /* Ms may start meanwhile */
	ms->bytes = n * sizeof *ms->m;
	ms->m = gort_os_map(ms->bytes);
	if (ms->m) {
		ms->n = gort_mt_inspect_ms(ms->m, n);
		ms->n = ms->n < n ? ms->n : n;
	}
}

static void ms_drop(trace_ms *ms)
{
	if (ms->m)
		gort_os_unmap(ms->m, ms->bytes);
}

/* The M holding P id (by p) or running G goid (by g), -1 if none. */
static int32_t m_holding(const trace_ms *ms, int32_t p, int64_t goid)
{
	if (!S.threaded)
		return (p >= 0 && S.curp && S.curp->id == p) || (goid && S.curg && S.curg->goid == goid) ? 0 : -1;
	for (size_t i = 0; i < ms->n; i++)
		if ((p >= 0 && ms->m[i].p == p) || (goid && ms->m[i].curg == goid))
			return ms->m[i].id;
	return -1;
}

static void trace_header(trace_buf *t, const gort_sched_info *si)
{
	uint32_t threads = si->threads, spinning = 0, idle = 0;
	if (S.ready && S.threaded)
		gort_mt_counts(&threads, &spinning, &idle);
	out(t, "SCHED %lldms: gomaxprocs=%u idleprocs=%u threads=%u spinningthreads=%u "
	    "idlethreads=%u runqueue=%u",
	    (long long)(S.ready ? gort_clock() / 1000000 : 0), si->gomaxprocs, si->idleprocs,
	    threads, spinning, idle, si->runqueue);
}

/* The fields gort adds after Go's: the step count, the Gs that hog a P. */
static void trace_tail(trace_buf *t, const gort_sched_info *si)
{
	if (S.ready && !S.threaded)
		out(t, " steps=%llu", (unsigned long long)si->steps);
	int listed = 0;
	for (uint32_t i = 0; S.ready && i < si->gomaxprocs; i++) {
		uint64_t ran;
		int64_t goid = gort_mt_long_runner(&S.p[i], &ran);
		if (goid)
			out(t, "%sG%lld@P%u:%llums", listed++ ? "," : " longrunning=", (long long)goid, i,
			    (unsigned long long)(ran / 1000000));
	}
}

static void trace_ps(trace_buf *t, const gort_sched_info *si, const trace_ms *ms)
{
	for (uint32_t i = 0; i < si->gomaxprocs; i++) {
		gort_p *p = &S.p[i];
		uint32_t status = S.threaded ? ld(&p->status) : S.curp == p;
		gort_lock(&p->timers.lock);
		uint32_t ntimers = p->timers.n;
		gort_unlock(&p->timers.lock);
		out(t, "  P%d: status=%u schedtick=%u syscalltick=%u m=%d runqsize=%u gfreecnt=%u "
		    "timerslen=%u\n",
		    p->id, status, ld(&p->schedtick), ld(&p->syscalltick), m_holding(ms, p->id, 0),
		    gort_runq_len(&p->runq), ld(&p->ngfree), ntimers);
	}
}

static void trace_ms_lines(trace_buf *t, const gort_sched_info *si, const trace_ms *ms)
{
	if (!S.threaded) {
		out(t, "  M0: p=%d curg=%lld mallocing=0 throwing=0 preemptoff= locks=0 dying=0 "
		    "spinning=false blocked=false lockedg=-1\n",
		    si->curp, si->curg ? (long long)si->curg : -1LL);
		return;
	}
	for (size_t i = ms->n; i-- > 0;) { /* newest first, as Go's allm */
		const gort_m_info *m = &ms->m[i];
		bool parked = m->status == GORT_M_IDLE && m->p < 0;
		out(t, "  M%d: p=%d curg=%lld mallocing=0 throwing=0 preemptoff= locks=0 dying=0 "
		    "spinning=%s blocked=%s lockedg=-1\n",
		    m->id, m->p, m->curg ? (long long)m->curg : -1LL,
		    m->status == GORT_M_SPINNING ? "true" : "false", parked ? "true" : "false");
	}
}

static void trace_gs(trace_buf *t, const trace_ms *ms)
{
	gort_lock(&S.gflock);
	for (uint32_t i = 0; i < S.nallg; i++) {
		gort_g *g = S.allg[i];
		uint32_t st_ = ld(&g->status);
		if (st_ == GORT_G_DEAD)
			continue;
		int64_t goid = g->goid;
		bool on_m = st_ == GORT_G_RUNNING || st_ == GORT_G_SYSCALL;
		out(t, "  G%lld: status=%u(%s) m=%d lockedm=-1\n", (long long)goid, st_,
		    st_ == GORT_G_WAITING ? g->waitreason : "", on_m ? m_holding(ms, -1, goid) : -1);
	}
	gort_unlock(&S.gflock);
}

size_t gort_schedtrace(char *buf, size_t n, int detailed)
{
	gort_sched_info si;
	gort_inspect_sched(&si);
	trace_buf t = {.buf = buf, .n = n};
	trace_header(&t, &si);
	if (!detailed) {
		for (uint32_t i = 0; i < si.gomaxprocs; i++)
			out(&t, "%s%u", i == 0 ? " [" : " ", gort_runq_len(&S.p[i].runq));
		out(&t, "%s", si.gomaxprocs ? "]" : "");
		trace_tail(&t, &si);
		out(&t, "\n");
		return t.len;
	}
	out(&t, " gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0");
	trace_tail(&t, &si);
	out(&t, "\n");
	trace_ms ms;
	ms_take(&ms);
	trace_ps(&t, &si, &ms);
	trace_ms_lines(&t, &si, &ms);
	trace_gs(&t, &ms);
	ms_drop(&ms);
	return t.len;
}

size_t gort_inspect_ms(gort_m_info *out, size_t max)
{
	if (!S.ready)
		return 0;
	if (S.threaded)
		return gort_mt_inspect_ms(out, max);
	if (max > 0)
		out[0] = (gort_m_info){
			.id = 0,
			.status = S.curg ? GORT_M_RUNNING : GORT_M_IDLE,
			.p = S.curp ? S.curp->id : -1,
			.curg = S.curg ? S.curg->goid : 0,
		};
	return 1;
}

/* ------------------------------------------------------------ channels */

static uint32_t list_waiters(const gort_waitq *q, int64_t *ids, uint8_t *sel)
{
	uint32_t n = 0;
	for (const gort_sudog *sg = q->first; sg; sg = sg->next, n++) {
		if (n < GORT_CHAN_WAITERS_MAX) {
			ids[n] = sg->pk->g ? sg->pk->g->goid : 0;
			sel[n] = sg->is_select;
		}
	}
	return n;
}

static bool live_chan(struct gort_chan *c)
{
	if (c && S.ready && gort_usable_size(c) >= sizeof *c && ld(&c->magic) == CHAN_MAGIC)
		return true;
	errno = EINVAL;
	return false;
}

int gort_inspect_chan(struct gort_chan *c, gort_chan_info *out)
{
	if (!live_chan(c))
		return -1;
	gort_lock(&c->lock);
	out->elemsize = c->elemsize;
	out->cap = c->dataqsiz;
	out->len = c->qcount;
	out->sendx = c->sendx;
	out->recvx = c->recvx;
	out->closed = (int)c->closed;
	out->nrecvq = list_waiters(&c->recvq, out->recvq, out->recvq_select);
	out->nsendq = list_waiters(&c->sendq, out->sendq, out->sendq_select);
	gort_unlock(&c->lock);
	return 0;
}

int gort_check_chan(struct gort_chan *c)
{
	if (!live_chan(c))
		return -1;
	const char *why = gort_chan_check(c);
	if (!why)
		return 0;
	gort_report(GORT_ERR_HEAP_CORRUPTION, "check_chan", (uintptr_t)c, why);
	return -1;
}

int gort_inspect_chan_value(struct gort_chan *c, size_t i, void *out)
{
	if (!live_chan(c))
		return -1;
	gort_lock(&c->lock);
	bool ok = i < c->qcount;
	if (ok && c->elemsize)
		memcpy(out, c->buf + ((c->recvx + i) % c->dataqsiz) * c->elemsize, c->elemsize);
	gort_unlock(&c->lock);
	if (!ok)
		errno = EINVAL;
	return ok ? 0 : -1;
}
