/*
 * proc.c — what a P does: find a runnable G in Go 1.19's order, run it on
 * the M until it gives control back, and file it according to how it did.
 *
 * findRunnable's order: every 61st schedtick the global queue first (so it
 * cannot starve); then the local queue (runnext first); then the global
 * queue; then steal from the other Ps — four passes, each over all Ps in a
 * random order that visits each once (coprime stride), taking runnext only
 * on the last pass. In step mode the PRNG that picks the orders is the
 * scheduler's seeded one, and there is no pause before stealing runnext.
 *
 * Invariant: a G runs only between gort_execute's switch to it and its
 * switch back to g0; while it runs, the thread allocates from its P's cache.
 */
#include "sched/sched.h"

#define S (gort_sched)

static gort_g *from_global(gort_p *p, uint32_t max)
{
	if (gort_globrunq_size_hint(&S.glob) == 0)
		return NULL;
	gort_lock(&S.glob.lock);
	gort_g *g = gort_globrunq_get(&S.glob, &p->runq, max, S.nprocs);
	gort_unlock(&S.glob.lock);
	return g;
}

gort_g *gort_steal_work(gort_p *p, sched_step_info *info, uint64_t *rng, bool threaded)
{
	if (S.nprocs < 2)
		return NULL;
	for (int pass = 0; pass < SCHED_STEAL_TRIES; pass++) {
		bool last = pass == SCHED_STEAL_TRIES - 1;
		uint64_t r = rng ? gort_rand_step(rng) : gort_sched_rand();
		gort_steal_enum e = gort_steal_order_start(&S.order, (uint32_t)r);
		for (; !gort_steal_enum_done(&e); gort_steal_enum_next(&e)) {
			gort_p *victim = &S.p[gort_steal_enum_pos(&e)];
			if (victim == p)
				continue;
			/* Go sleeps 3 us before taking a running P's runnext,
			 * to let it run the G it has just readied. */
			gort_runq_pause_fn *pause =
				threaded && ld(&victim->status) == GORT_P_RUNNING ? gort_runq_pause_3us
										   : NULL;
			gort_g *g = gort_runq_steal(&p->runq, &victim->runq, last, pause, NULL);
			if (g) {
				info->source = SRC_STOLEN;
				info->from = victim->id;
				return g;
			}
		}
	}
	return NULL;
}

gort_g *gort_find_local(gort_p *p, sched_step_info *info)
{
	gort_g *g;
	bool inherit = false;
	info->from = -1;
	if (p->schedtick % SCHED_GLOBAL_TICK == 0 && (g = from_global(p, 1))) {
		info->source = SRC_GLOBAL;
		return g;
	}
	if ((g = gort_runq_get(&p->runq, &inherit))) {
		info->source = inherit ? SRC_RUNNEXT : SRC_LOCAL;
		return g;
	}
	if ((g = from_global(p, 0))) {
		info->source = SRC_GLOBAL;
		return g;
	}
	return NULL;
}

gort_g *gort_find_runnable(gort_p *p, sched_step_info *info)
{
	gort_g *g = gort_find_local(p, info);
	return g ? g : gort_steal_work(p, info, NULL, false);
}

void gort_ready_put(gort_p *p, gort_g *g)
{
	if (p) {
		gort_runq_put(&p->runq, g, true, &S.glob); /* Go's ready: runnext */
		return;
	}
	gort_lock(&S.glob.lock);
	gort_globrunq_put(&S.glob, g);
	gort_unlock(&S.glob.lock);
}

/* The G left the CPU: file it where its outcome says. */
static void file_g(gort_p *p, gort_g *g, int outcome)
{
	switch (outcome) {
	case OUT_YIELDED:
		st(&g->status, GORT_G_RUNNABLE);
		gort_runq_put(&p->runq, g, false, &S.glob);
		break;
	case OUT_PARKED:
		st(&g->status, GORT_G_WAITING);
		if (S.unlockf) {
			/* gort_park_unlock's: the G is parked, wakers may come. */
			void (*unlock)(void *) = S.unlockf;
			S.unlockf = NULL;
			S.timerp = p;
			unlock(S.unlockarg);
			S.timerp = NULL;
		}
		break;
	default:
		gort_ctx_destroy(&g->ctx);
		gort_g_put_dead(p, g);
		break;
	}
}

int gort_execute(gort_p *p, gort_g *g, bool inherit)
{
	if (!inherit)
		p->schedtick++;
	st(&g->status, GORT_G_RUNNING);
	g->p = p->id;
	g->nswitch++;
	S.curg = g;
	S.curp = p;
	cache_t *saved = gort_cache_swap(p->mcache);
	gort_ctx_switch(&S.g0, &g->ctx);
	gort_cache_swap(saved);
	S.curg = NULL;
	S.curp = NULL;
	int outcome = S.outcome;
	file_g(p, g, outcome);
	return outcome;
}

/* Called on the running G: back to the M's own context. */
void gort_enter_g0(int outcome)
{
	if (S.threaded) {
		gort_mt_enter_g0(outcome);
		return;
	}
	gort_g *g = S.curg;
	S.outcome = outcome;
	if (outcome == OUT_EXITED)
		gort_ctx_exit(&g->ctx, &S.g0);
	gort_ctx_switch(&g->ctx, &S.g0);
}
