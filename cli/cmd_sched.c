/*
 * cmd_sched.c — the scheduler commands: spawn, func, step, run, ready,
 * procs, reseed, and the views gs, ps, ms, schedtrace, scheddetail.
 *
 * A step prints one line from the scheduler's event log (which P, which G,
 * from which queue, how it stopped) and the action log (what the G's body
 * did meanwhile), so the line is exactly what happened, not a guess.
 *
 * Invariants: in step mode nothing runs between commands, so every view is
 * exact; the action log is empty between commands.
 */
#include "shell.h"
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RUN_DEFAULT_MAX 10000

static const char *g_status(uint32_t s);

/* The session's mode (init keeps sh->cfg equal to the runtime's). */
static bool threaded(const sh_t *sh)
{
	return sh->cfg.threaded;
}

/* --------------------------------------------------------------- spawn */

/* P p's queues before a spawn, to say afterwards where its runnext went. */
typedef struct spawn_before {
	int64_t runnext;          /* kicked out by the new G; 0 if it was empty */
	uint32_t nrunq;
	int64_t head[GORT_RUNQ_CAP / 2]; /* the ring's first half, head first */
	uint32_t global;          /* Gs on the global queue */
} spawn_before;

static void snapshot_p(unsigned p, spawn_before *b)
{
	memset(b, 0, sizeof *b);
	gort_p_info *ps = calloc(p + 1, sizeof *ps); /* Ps 0..p: ~2 KiB each */
	if (ps && gort_inspect_ps(ps, p + 1) > p) {
		b->runnext = ps[p].runnext;
		b->nrunq = ps[p].nrunq;
		memcpy(b->head, ps[p].runq, sizeof b->head);
	}
	free(ps);
	gort_sched_info si;
	gort_inspect_sched(&si);
	b->global = si.runqueue;
}

/* What runqput did with the G the new one kicked out of runnext: the tail
 * of the ring, or, the ring being full, runqputslow: the ring's first
 * half and the kicked G to the global queue. */
static void say_kicked(sh_t *sh, unsigned p, const spawn_before *b)
{
	gort_sched_info si;
	gort_inspect_sched(&si);
	uint32_t moved = si.runqueue > b->global ? si.runqueue - b->global : 0;
	js_int(sh, "kicked", b->runnext);
	if (!b->runnext)
		return;
	if (moved == 0) {
		out(sh, "; g%lld moved to the tail of p%u's queue", (long long)b->runnext, p);
		js_str(sh, "kicked_to", "local");
		return;
	}
	uint32_t half = moved - 1; /* the ring's Gs that went with it */
	js_str(sh, "kicked_to", "global");
	js_array(sh, "moved");
	for (uint32_t k = 0; k < half && k < GORT_RUNQ_CAP / 2; k++)
		js_int(sh, NULL, b->head[k]);
	js_array_end(sh);
	if (half && half <= GORT_RUNQ_CAP / 2)
		out(sh, "; p%u's queue was full (%u Gs): g%lld..g%lld, its first half, and g%lld moved "
			"to the global queue",
		    p, b->nrunq, (long long)b->head[0], (long long)b->head[half - 1],
		    (long long)b->runnext);
	else
		out(sh, "; g%lld moved to the global queue", (long long)b->runnext);
}

static sh_prog *keep_prog(sh_t *sh, sh_prog *prog)
{
	if (sh->nprogs == sh->capprogs) {
		size_t cap = sh->capprogs ? 2 * sh->capprogs : 16;
		sh_prog **v = realloc(sh->progs, cap * sizeof *v);
		if (!v)
			return NULL;
		sh->progs = v;
		sh->capprogs = cap;
	}
	sh->progs[sh->nprogs++] = prog;
	return prog;
}

/* A new body compiled from { BODY } (kept until init), or the one a
 * func names; NULL after an error. */
static sh_prog *body_of(sh_t *sh, const sh_tok *t)
{
	if (t->kind == TOK_WORD) {
		sh_prog *named = func_find(sh, t->text);
		if (!named)
			sh_error(sh, "spawn: no func '%s' (func NAME { BODY } defines one)",
				 t->text);
		return named;
	}
	const char *err = NULL;
	sh_prog *prog = prog_compile(sh, t->text, &err);
	if (!prog) {
		sh_error(sh, "spawn: %s", err);
		return NULL;
	}
	if (!keep_prog(sh, prog)) {
		prog_free(prog);
		sh_error(sh, "spawn: out of memory");
		return NULL;
	}
	return prog;
}

int cmd_spawn(sh_t *sh, sh_args *a)
{
	unsigned p = 0;
	const char *p_word;
	const sh_tok *body = parse_spawn(a, &p_word);
	bool on = p_word != NULL;
	if (on && !parse_p(sh, p_word, &p))
		return sh_error(sh, "spawn: no P '%s'", p_word);
	if (!body)
		return sh_error(sh, "usage: spawn [on pN] { BODY } | FUNC");
	if (on && threaded(sh))
		return sh_error(sh, "spawn on pN needs step mode (only a P's M may fill its queue)");
	sh_prog *prog = body_of(sh, body);
	if (!prog)
		return -1;
	bool step = !threaded(sh);
	spawn_before before;
	if (step)
		snapshot_p(p, &before);
	int64_t g = on ? prog_spawn_on(sh, prog, p) : prog_spawn(sh, prog);
	if (g < 0)
		return sh_error(sh, "spawn: %s", strerror(errno));
	js_begin(sh, "spawn");
	js_int(sh, "g", g);
	if (step) {
		out(sh, "g%lld runnable on p%u (runnext)", (long long)g, p);
		js_uint(sh, "p", p);
		js_str(sh, "queue", "runnext");
		say_kicked(sh, p, &before);
		out(sh, "\n");
	} else {
		out(sh, "g%lld runnable (global queue; the Ms run it now)\n", (long long)g);
		js_str(sh, "queue", "global");
	}
	js_end(sh);
	return 0;
}

/* func NAME { BODY }: a body to spawn by name, at the prompt or from
 * another body. */
int cmd_func(sh_t *sh, sh_args *a)
{
	if (a->argc != 3 || a->argv[1].kind != TOK_WORD || a->argv[2].kind != TOK_BLOCK)
		return sh_error(sh, "usage: func NAME { BODY }");
	const char *name = a->argv[1].text;
	if (!valid_name(name))
		return sh_error(sh,
				"func: '%s' is not a name (a letter, then letters, digits, _; "
				"not a command)",
				name);
	const char *err = NULL;
	sh_prog *prog = prog_compile(sh, a->argv[2].text, &err);
	if (!prog)
		return sh_error(sh, "func %s: %s", name, err);
	bool again = func_find(sh, name) != NULL;
	if (!keep_prog(sh, prog)) {
		prog_free(prog);
		return sh_error(sh, "func: out of memory");
	}
	if (func_define(sh, name, prog) != 0)
		return sh_error(sh, "func: out of memory"); /* prog is kept, freed at init */
	size_t n = prog_steps(prog);
	out(sh, "func %s: %zu step%s%s\n", name, n, n == 1 ? "" : "s",
	    again ? " (redefined: bodies compiled before keep the old one)" : "");
	js_begin(sh, "func");
	js_str(sh, "name", name);
	js_uint(sh, "steps", n);
	js_bool(sh, "redefined", again);
	js_end(sh);
	return 0;
}

/* ---------------------------------------------------------------- step */

/* The count of lines the log only counted: text says how to see them,
 * JSON (which keeps them all up to SH_ACTIONS_JSON_MAX) gives a number
 * beside "did", never a line inside it. */
static void print_dropped(sh_t *sh, uint64_t dropped, const char *before, const char *after)
{
	if (!dropped)
		return;
	out(sh, "%s" SH_MORE_FMT "%s", before, (unsigned long long)dropped, after);
	js_uint(sh, SH_MORE_JSON, dropped);
}

/* Splits the action log into lines, for text ("; "-joined) and JSON. */
static void print_actions(sh_t *sh, char *acts, uint64_t dropped)
{
	bool first = true;
	js_array(sh, "did");
	for (char *line = acts ? strtok(acts, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		out(sh, "%s%s", first ? "" : "; ", line);
		js_str(sh, NULL, line);
		first = false;
	}
	js_array_end(sh);
	print_dropped(sh, dropped, first ? "" : "; ", "");
	if (!first || dropped)
		out(sh, "; ");
}

static void print_step(sh_t *sh, const gort_event *e)
{
	uint64_t dropped;
	char *acts = actions_take(sh, &dropped);
	out(sh, "%s[%llu]%s p%d %sg%lld%s %s", col(sh, SH_C_DIM), (unsigned long long)e->step + 1,
	    col(sh, SH_C_RESET), e->p, col(sh, SH_C_BOLD), (long long)e->goid, col(sh, SH_C_RESET),
	    gort_event_source_name(e->source));
	if (e->source == GORT_SRC_STOLEN)
		out(sh, " from p%d", e->from);
	out(sh, ": ");
	js_begin(sh, "step");
	js_uint(sh, "step", e->step + 1);
	js_int(sh, "p", e->p);
	js_int(sh, "g", e->goid);
	js_str(sh, "source", gort_event_source_name(e->source));
	if (e->source == GORT_SRC_STOLEN)
		js_int(sh, "from", e->from);
	js_uint(sh, "schedtick", e->schedtick);
	print_actions(sh, acts, dropped);
	free(acts);
	int c = e->outcome == GORT_OUT_EXITED ? SH_C_DIM : e->outcome == GORT_OUT_PARKED ? SH_C_YELLOW
											 : SH_C_GREEN;
	char on[128] = "";
	if (e->outcome == GORT_OUT_PARKED)
		sync_parked_on(e->goid, on, sizeof on); /* "chan receive c" */
	out(sh, "%s%s%s%s%s\n", col(sh, c), gort_event_outcome_name(e->outcome), on[0] ? " on " : "",
	    on, col(sh, SH_C_RESET));
	js_str(sh, "outcome", gort_event_outcome_name(e->outcome));
	if (on[0])
		js_str(sh, "on", on);
	js_end(sh);
}

/* The RUN event of the step just made (the newest one). */
static bool last_run_event(uint64_t mark, gort_event *out_ev)
{
	gort_event evs[64];
	bool found = false;
	size_t n;
	while ((n = gort_inspect_events(mark, evs, 64)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (evs[i].kind == GORT_EV_RUN) {
				*out_ev = evs[i];
				found = true;
			}
		mark = evs[n - 1].seq;
	}
	return found;
}

static unsigned parked_count(void)
{
	size_t n = gort_inspect_gs(NULL, 0);
	gort_g_info *gs = calloc(n ? n : 1, sizeof *gs);
	if (!gs)
		return 0;
	n = gort_inspect_gs(gs, n);
	unsigned parked = 0;
	for (size_t i = 0; i < n; i++)
		parked += gs[i].status == 4;
	free(gs);
	return parked;
}

/* A step or run in which a G's body misused something (a double free, a
 * send on a closed channel, ...) fails, as the same command at the prompt
 * would; the step lines say how. Read here
 * with no M running a body: step mode runs bodies on this thread, and in
 * threaded mode gort_run has returned. */
static int body_failures(sh_t *sh, const char *cmd)
{
	unsigned n = __atomic_exchange_n(&sh_body_errors, 0, __ATOMIC_RELAXED);
	if (n == 0)
		return 0;
	return sh_error(sh, "%s: a goroutine's body made %u error%s (shown above)", cmd,
			n, n == 1 ? "" : "s");
}

/* One step of cmd (step or run, which errors name); 1 ran, 0 nothing to
 * run, -1 error reported. */
static int one_step(sh_t *sh, const char *cmd, bool on, unsigned p)
{
	uint64_t mark = gort_event_seq();
	int rc = on ? gort_step_p(p) : gort_step();
	if (rc < 0)
		return sh_error(sh, "%s: %s", cmd, strerror(errno));
	if (rc == 0)
		return 0;
	gort_event e;
	if (last_run_event(mark, &e))
		print_step(sh, &e);
	trace_events(sh);
	if (sh_gort_error(sh) || body_failures(sh, cmd) != 0)
		return -1;
	return 1;
}

static void nothing_left(sh_t *sh, const char *cmd, unsigned steps)
{
	unsigned parked = parked_count();
	out(sh, "%s: %u step%s; nothing runnable", cmd, steps, steps == 1 ? "" : "s");
	if (parked)
		out(sh, " (%u G%s parked)", parked, parked == 1 ? "" : "s");
	out(sh, "\n");
	js_begin(sh, cmd);
	js_uint(sh, "steps", steps);
	js_uint(sh, "parked", parked);
	js_bool(sh, "idle", true);
	js_end(sh);
}

/* Ctrl-C stopped cmd after steps steps: not an error, the Gs wait. */
static void interrupted(sh_t *sh, const char *cmd, uint64_t steps)
{
	out(sh, "%s: interrupted (Ctrl-C) after %llu step%s; Gs are still runnable\n", cmd,
	    (unsigned long long)steps, steps == 1 ? "" : "s");
	js_begin(sh, cmd);
	js_uint(sh, "steps", steps);
	js_bool(sh, "idle", false);
	js_bool(sh, "interrupted", true);
	js_end(sh);
}

int cmd_step(sh_t *sh, sh_args *a)
{
	uint64_t n = 1;
	unsigned p = 0;
	bool on = false;
	int i = 1;
	if (i < a->argc && strcmp(a->argv[i].text, "on") != 0) {
		if (!parse_u64(a->argv[i].text, &n) || n == 0)
			return sh_error(sh, "step: bad count '%s'", a->argv[i].text);
		i++;
	}
	if (i + 1 < a->argc + 1 && i < a->argc) {
		if (strcmp(a->argv[i].text, "on") != 0 || i + 2 != a->argc)
			return sh_error(sh, "usage: step [N] [on pK]");
		if (!parse_p(sh, a->argv[i + 1].text, &p))
			return sh_error(sh, "step: no P '%s'", a->argv[i + 1].text);
		on = true;
	}
	if (threaded(sh))
		return sh_error(sh, "step: threaded mode has no single steps (use run)");
	for (uint64_t k = 0; k < n; k++) {
		if (sh_interrupted) {
			interrupted(sh, "step", k);
			return 0;
		}
		int rc = one_step(sh, "step", on, p);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (k == 0) {
				unsigned parked = parked_count();
				return sh_error(sh, "step: nothing is runnable%s (%u G%s parked)",
						on ? " on that P" : "", parked, parked == 1 ? "" : "s");
			}
			nothing_left(sh, "step", (unsigned)k);
			return 0;
		}
	}
	/* Every step made: text has said it all; JSON ends with the summary
	 * as run does, so a reader knows the command is over. */
	js_begin(sh, "step");
	js_uint(sh, "steps", n);
	js_uint(sh, "parked", sh->json ? parked_count() : 0);
	js_bool(sh, "idle", false);
	js_end(sh);
	return 0;
}

/* ----------------------------------------------------------------- run */

static int run_threaded(sh_t *sh)
{
	uint64_t mark = gort_event_seq(), dropped;
	int parked = gort_run();
	if (sh->gort_error && sh->gort_kind == GORT_ERR_DEADLOCK)
		sh->gort_error = false; /* parked Gs wait for `ready`: shown below */
	char *acts = actions_take(sh, &dropped);
	js_begin(sh, "run");
	js_array(sh, "did");
	for (char *line = acts ? strtok(acts, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		out(sh, "  %s\n", line);
		js_str(sh, NULL, line);
	}
	js_array_end(sh);
	free(acts);
	print_dropped(sh, dropped, "  ", "\n");
	uint64_t events = gort_event_seq() - mark;
	trace_events(sh);
	bool stopped = sh_interrupted;
	out(sh, "run: %severy M is idle; %d G%s parked\n",
	    stopped ? "interrupted (Ctrl-C): the Gs' bodies stopped at their next step; " : "",
	    parked, parked == 1 ? "" : "s");
	js_int(sh, "parked", parked);
	if (stopped)
		js_bool(sh, "interrupted", true);
	js_uint(sh, "events", events);
	js_end(sh);
	return body_failures(sh, "run");
}

int cmd_run(sh_t *sh, sh_args *a)
{
	uint64_t max = RUN_DEFAULT_MAX;
	const char *v;
	if (a->argc > 2 || (a->argc == 2 && (!(v = kv(a->argv[1].text, "max")) ||
					      !parse_u64(v, &max) || max == 0)))
		return sh_error(sh, "usage: run [max=N]");
	if (threaded(sh))
		return run_threaded(sh);
	for (uint64_t k = 0; k < max; k++) {
		if (sh_interrupted) {
			interrupted(sh, "run", k);
			return 0;
		}
		int rc = one_step(sh, "run", false, 0);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			nothing_left(sh, "run", (unsigned)k);
			return 0;
		}
	}
	out(sh, "run: stopped after %llu steps (Gs are still runnable; run again or max=N)\n",
	    (unsigned long long)max);
	js_begin(sh, "run");
	js_uint(sh, "steps", max);
	js_bool(sh, "idle", false);
	js_end(sh);
	return 0;
}

const char *sh_not_parked(int64_t g, char *buf, size_t n)
{
	/* On the heap: a G's body calls this, on a stack of maybe 16 KiB. */
	gort_sched_info *si = malloc(sizeof *si);
	uint64_t made = 0;
	if (si) {
		gort_inspect_sched(si);
		made = si->ngs;
		free(si);
	}
	size_t ng = gort_inspect_gs(NULL, 0);
	gort_g_info *gs = calloc(ng ? ng : 1, sizeof *gs);
	ng = gs ? gort_inspect_gs(gs, ng) : 0;
	uint32_t status = 6; /* not among the live Gs: dead */
	for (size_t i = 0; i < ng; i++)
		if (gs[i].goid == g)
			status = gs[i].status;
	free(gs);
	if (g <= 0 || (uint64_t)g > made)
		snprintf(buf, n, "no goroutine g%lld (%llu made so far)", (long long)g,
			 (unsigned long long)made);
	else if (status == 6)
		snprintf(buf, n, "g%lld has exited", (long long)g);
	else
		snprintf(buf, n, "g%lld is %s, not parked", (long long)g, g_status(status));
	return buf;
}

int cmd_ready(sh_t *sh, sh_args *a)
{
	int64_t g;
	if (a->argc != 2 || !parse_g(a->argv[1].text, &g))
		return sh_error(sh, "usage: ready gN");
	char why[80];
	if (gort_ready(g) != 0)
		return sh_error(sh, "ready: %s", sh_not_parked(g, why, sizeof why));
	out(sh, "g%lld runnable (global queue)\n", (long long)g);
	js_begin(sh, "ready");
	js_int(sh, "g", g);
	js_str(sh, "queue", "global");
	js_end(sh);
	return 0;
}

int cmd_procs(sh_t *sh, sh_args *a)
{
	uint64_t n;
	if (a->argc != 2 || !parse_u64(a->argv[1].text, &n) || n == 0 || n > 256)
		return sh_error(sh, "usage: procs N (1..256)");
	if (threaded(sh))
		return sh_error(sh, "procs: threaded mode cannot change its Ps (init procs=N)");
	gort_sched_info before;
	gort_inspect_sched(&before);
	if (gort_set_procs((unsigned)n) != 0)
		return sh_error(sh, "procs: %s", strerror(errno));
	gort_sched_info after;
	gort_inspect_sched(&after);
	out(sh, "%u P%s (was %u); global queue: %u G%s\n", after.gomaxprocs,
	    after.gomaxprocs == 1 ? "" : "s", before.gomaxprocs, after.runqueue,
	    after.runqueue == 1 ? "" : "s");
	js_begin(sh, "procs");
	js_uint(sh, "procs", after.gomaxprocs);
	js_uint(sh, "was", before.gomaxprocs);
	js_uint(sh, "global", after.runqueue);
	js_end(sh);
	return 0;
}

int cmd_reseed(sh_t *sh, sh_args *a)
{
	uint64_t n;
	if (a->argc != 2 || !parse_u64(a->argv[1].text, &n))
		return sh_error(sh, "usage: reseed N");
	if (threaded(sh))
		return sh_error(sh, "reseed: threaded mode has no seeded choices (the OS schedules the Ms)");
	gort_reseed(n);
	out(sh, "scheduler PRNG reseeded with %llu\n", (unsigned long long)n);
	js_begin(sh, "reseed");
	js_uint(sh, "seed", n);
	js_end(sh);
	return 0;
}

/* --------------------------------------------------------------- views */

static const char *g_status(uint32_t s)
{
	switch (s) {
	case 0:
		return "idle";
	case 1:
		return "runnable";
	case 2:
		return "running";
	case 3:
		return "syscall";
	case 4:
		return "waiting";
	case 6:
		return "dead";
	default:
		return "?";
	}
}

/* The names G goid bound in its body ("w,buf"; "-" if none), into buf,
 * or with json as the array "names". */
static const char *g_names(sh_t *sh, int64_t goid, char *buf, size_t n, bool json)
{
	size_t len = 0;
	buf[0] = '\0';
	if (json)
		js_array(sh, "names");
	for (size_t i = 1; i < sh->nvals; i++) {
		const sh_value *v = val_get(sh, i);
		if (!v || v->owner != goid || !v->name[0])
			continue;
		if (json)
			js_str(sh, NULL, v->name);
		int k = snprintf(buf + len, n - len, "%s%s", len ? "," : "", v->name);
		if (k > 0 && (size_t)k < n - len)
			len += (size_t)k;
	}
	if (json)
		js_array_end(sh);
	return len ? buf : "-";
}

int cmd_gs(sh_t *sh, sh_args *a)
{
	(void)a;
	size_t n = gort_inspect_gs(NULL, 0);
	gort_g_info *gs = calloc(n ? n : 1, sizeof *gs);
	if (!gs)
		return sh_error(sh, "gs: out of memory");
	n = gort_inspect_gs(gs, n);
	size_t wait_width = 12; /* wider when a G waits on a named object */
	for (size_t i = 0; i < n; i++) {
		char wb[128];
		size_t w = strlen(sync_wait_text(&gs[i], wb, sizeof wb));
		wait_width = w > wait_width ? w : wait_width;
	}
	js_begin(sh, "gs");
	js_array(sh, "gs");
	if (n)
		out(sh, "%-6s %-9s %-*s %-4s %8s %6s  %s\n", "G", "STATUS", (int)wait_width, "WAIT",
		    "P", "STACK", "RUNS", "NAMES");
	else
		out(sh, "no goroutines\n");
	for (size_t i = 0; i < n; i++) {
		const gort_g_info *g = &gs[i];
		char pb[16] = "-", wb[128];
		if (g->p >= 0)
			snprintf(pb, sizeof pb, "p%d", g->p);
		const char *wait = sync_wait_text(g, wb, sizeof wb); /* with what it waits on */
		char nb[128];
		const char *names = g_names(sh, g->goid, nb, sizeof nb, false);
		out(sh, "g%-5lld %-9s %-*s %-4s %6zu B %6llu  %s\n", (long long)g->goid,
		    g_status(g->status), (int)wait_width, wait[0] ? wait : "-", pb, g->stack_used,
		    (unsigned long long)g->nswitch, names);
		js_object(sh, NULL);
		js_int(sh, "g", g->goid);
		js_str(sh, "status", g_status(g->status));
		js_str(sh, "wait", g->waitreason);
		if (strcmp(wait, g->waitreason) != 0)
			js_str(sh, "on", wait + strlen(g->waitreason) + 1);
		js_int(sh, "p", g->p);
		js_uint(sh, "stack_used", g->stack_used);
		js_uint(sh, "runs", g->nswitch);
		g_names(sh, g->goid, nb, sizeof nb, true);
		js_object_end(sh);
	}
	js_array_end(sh);
	js_end(sh);
	free(gs);
	return 0;
}

/* The mallocs and frees of cache id, from a snapshot of every cache. */
static void cache_summary(const gort_cache_info *cs, size_t n, int32_t id, uint64_t *mallocs,
			  uint64_t *frees)
{
	*mallocs = *frees = 0;
	for (size_t i = 0; i < n; i++)
		if (cs[i].id == id) {
			*mallocs = cs[i].mallocs;
			*frees = cs[i].frees;
		}
}

int cmd_ps(sh_t *sh, sh_args *a)
{
	(void)a;
	gort_sched_info si;
	gort_inspect_sched(&si);
	size_t ncache = gort_inspect_caches(NULL, 0);
	gort_p_info *ps = calloc(si.gomaxprocs ? si.gomaxprocs : 1, sizeof *ps);
	gort_cache_info *cs = calloc(ncache ? ncache : 1, sizeof *cs);
	if (!ps || !cs) {
		free(ps);
		free(cs);
		return sh_error(sh, "ps: out of memory");
	}
	size_t n = gort_inspect_ps(ps, si.gomaxprocs);
	ncache = gort_inspect_caches(cs, ncache);
	js_begin(sh, "ps");
	js_array(sh, "ps");
	for (size_t i = 0; i < n && i < si.gomaxprocs; i++) {
		const gort_p_info *p = &ps[i];
		uint64_t mallocs, frees;
		cache_summary(cs, ncache, p->cache_id, &mallocs, &frees);
		out(sh, "p%d%s schedtick=%u runnext=", p->id, p->running ? " running" : "",
		    p->schedtick);
		if (p->runnext)
			out(sh, "g%lld", (long long)p->runnext);
		else
			out(sh, "-");
		out(sh, " runq=[");
		for (uint32_t k = 0; k < p->nrunq; k++)
			out(sh, "%sg%lld", k ? " " : "", (long long)p->runq[k]);
		out(sh, "] gfree=%u mcache=%d (mallocs %llu, frees %llu)\n", p->gfreecnt, p->cache_id,
		    (unsigned long long)mallocs, (unsigned long long)frees);
		js_object(sh, NULL);
		js_int(sh, "p", p->id);
		js_bool(sh, "running", p->running);
		js_uint(sh, "schedtick", p->schedtick);
		js_int(sh, "runnext", p->runnext);
		js_array(sh, "runq");
		for (uint32_t k = 0; k < p->nrunq; k++)
			js_int(sh, NULL, p->runq[k]);
		js_array_end(sh);
		js_uint(sh, "gfree", p->gfreecnt);
		js_int(sh, "mcache", p->cache_id);
		js_uint(sh, "mallocs", mallocs);
		js_uint(sh, "frees", frees);
		js_object_end(sh);
	}
	js_array_end(sh);
	js_end(sh);
	free(ps);
	free(cs);
	return 0;
}

int cmd_ms(sh_t *sh, sh_args *a)
{
	(void)a;
	static const char *const status[] = {"idle", "running", "spinning", "syscall"};
	gort_m_info ms[SH_MAX_PROCS_SHOWN];
	size_t n = gort_inspect_ms(ms, SH_MAX_PROCS_SHOWN);
	js_begin(sh, "ms");
	js_array(sh, "ms");
	for (size_t i = 0; i < n && i < SH_MAX_PROCS_SHOWN; i++) {
		const char *st = ms[i].status < 4 ? status[ms[i].status] : "?";
		out(sh, "m%d %-8s p=", ms[i].id, st);
		if (ms[i].p >= 0)
			out(sh, "p%d", ms[i].p);
		else
			out(sh, "-");
		out(sh, " curg=");
		if (ms[i].curg)
			out(sh, "g%lld\n", (long long)ms[i].curg);
		else
			out(sh, "-\n");
		js_object(sh, NULL);
		js_int(sh, "m", ms[i].id);
		js_str(sh, "status", st);
		js_int(sh, "p", ms[i].p);
		js_int(sh, "curg", ms[i].curg);
		js_object_end(sh);
	}
	js_array_end(sh);
	js_end(sh);
	if (n == 0)
		out(sh, "no Ms yet (threaded mode starts them when work appears)\n");
	return 0;
}

static int schedtrace(sh_t *sh, const char *cmd, int detailed)
{
	size_t need = gort_schedtrace(NULL, 0, detailed) + 1;
	char *buf = malloc(need);
	if (!buf)
		return sh_error(sh, "%s: out of memory", cmd);
	gort_schedtrace(buf, need, detailed);
	out(sh, "%s%s", buf, need > 1 && buf[need - 2] == '\n' ? "" : "\n");
	js_begin(sh, cmd);
	js_str(sh, "text", buf);
	js_end(sh);
	free(buf);
	return 0;
}

int cmd_schedtrace(sh_t *sh, sh_args *a)
{
	(void)a;
	return schedtrace(sh, "schedtrace", 0);
}

int cmd_scheddetail(sh_t *sh, sh_args *a)
{
	(void)a;
	return schedtrace(sh, "scheddetail", 1);
}

int sh_step_once(sh_t *sh)
{
	return one_step(sh, "step", false, 0);
}
