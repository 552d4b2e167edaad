/*
 * body.c — goroutine bodies: `spawn { alloc 100 as x; yield; free x }`,
 * and the named ones of `func NAME { ... }` (`spawn NAME`). A body is
 * compiled once into a list of steps (nested blocks for spawn and repeat)
 * and run by an interpreter on the G's own stack, through the real
 * scheduler: yield is gort_yield, park is gort_park, allocation goes to the
 * P's mcache. What a G did is appended to the action log, which the step
 * that ran it prints.
 *
 * Invariants: compiling bounds every number (work, repeat) so no body can
 * hang the shell for long; a program is freed only at init, after the
 * runtime that runs it has shut down; the interpreter never allocates from
 * the gort heap except for the objects the body asks for. A func's program
 * belongs to the session's list of programs like any other; a body that
 * spawns it by name only borrows it (the name is resolved when that body is
 * compiled, so a func can name only funcs defined before it: no cycles,
 * and a chain of Gs that spawn one another needs no nesting of braces).
 */
#include "shell.h"
#include "sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORK_MAX 100000000ull   /* iterations of one `work` */
#define REPEAT_MAX 1000000ull   /* rounds of one `repeat` */
/* Work a G may do between two yields before the shell ends it: nested
 * repeats multiply, and a step must come back to the prompt. */
#define SLICE_BUDGET 200000000ull
/* What a step other than work costs against the budget: an allocation with
 * its bookkeeping takes about as long as a thousand loop iterations. */
#define STEP_COST 1000ull
/* `syscall MS` blocks for at most this long (threaded mode only), and each
 * millisecond counts as this much work, so a loop of them ends too. */
#define SYSCALL_MS_MAX 100ull
#define SYSCALL_MS_COST 1000000ull

enum op_kind { OP_ALLOC, OP_FREE, OP_YIELD, OP_PARK, OP_READY, OP_SPAWN, OP_WORK, OP_REPEAT,
	       OP_EXIT, OP_SYSCALL, OP_SYNC };

typedef struct op {
	int kind;
	uint64_t n;         /* alloc size, work iterations, repeat count */
	unsigned flags;     /* alloc: GORT_NOSCAN */
	int64_t g;          /* ready */
	int32_t p;          /* spawn on pN: N; -1: the current P (gort_go) */
	char name[SH_NAME_MAX];
	char reason[32];    /* park */
	sh_prog *sub;       /* spawn, repeat */
	bool borrowed;      /* sub is a func's program, not this op's */
	sync_op *sync;      /* OP_SYNC: channels, mutexes, ... (sync_ops.c) */
} op;

struct sh_prog {
	op *ops;
	size_t nops, cap;
};

/* A name bound by `func NAME { ... }` (the last definition wins). */
struct sh_func {
	char name[SH_NAME_MAX];
	sh_prog *prog;
};

/* ------------------------------------------------------------ compiling */

typedef struct compiler {
	sh_t *sh;
	sh_prog *prog;
	char err[256];
} compiler;

static int fail(compiler *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(compiler *c, const char *fmt, ...)
{
	if (c->err[0])
		return -1; /* keep the innermost message */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

static op *push(compiler *c)
{
	sh_prog *p = c->prog;
	if (p->nops == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		op *o = realloc(p->ops, cap * sizeof *o);
		if (!o)
			return NULL;
		p->ops = o;
		p->cap = cap;
	}
	op *o = &p->ops[p->nops++];
	memset(o, 0, sizeof *o);
	return o;
}

static sh_prog *compile(sh_t *sh, const char *text, char *err, size_t errn);

static int compile_block(compiler *c, op *o, const sh_tok *t, const char *what)
{
	if (t->kind != TOK_BLOCK)
		return fail(c, "%s: expected { ... }", what);
	char err[256];
	o->sub = compile(c->sh, t->text, err, sizeof err);
	return o->sub ? 0 : fail(c, "%s", err);
}

static int compile_alloc(compiler *c, op *o, sh_args *a)
{
	o->kind = OP_ALLOC;
	if (a->argc < 2 || !parse_size(a->argv[1].text, &o->n))
		return fail(c, "alloc: expected a size");
	for (int i = 2; i < a->argc; i++) {
		const char *w = a->argv[i].text;
		if (strcmp(w, "noscan") == 0) {
			o->flags |= GORT_NOSCAN;
		} else if (strcmp(w, "as") == 0 && i + 1 < a->argc && valid_name(a->argv[i + 1].text)) {
			snprintf(o->name, sizeof o->name, "%s", a->argv[++i].text);
		} else {
			return fail(c, "alloc: unexpected '%s'", w);
		}
	}
	return 0;
}

/* spawn [on pN] { BODY } | spawn [on pN] FUNC. The P is checked when the
 * step runs: the number of Ps may change before. */
static int compile_spawn(compiler *c, op *o, sh_args *a)
{
	o->kind = OP_SPAWN;
	o->p = -1;
	const char *w;
	const sh_tok *t = parse_spawn(a, &w);
	if (!t)
		return fail(c, "spawn: expected [on pN] { ... } or a func's name");
	uint64_t p;
	if (w && (!parse_p_word(w, &p) || p >= SH_MAX_PROCS_SHOWN))
		return fail(c, "spawn: no P '%s'", w);
	if (w)
		o->p = (int32_t)p;
	if (t->kind == TOK_BLOCK)
		return compile_block(c, o, t, "spawn");
	o->sub = func_find(c->sh, t->text);
	o->borrowed = true;
	return o->sub ? 0 : fail(c, "spawn: no func '%s'", t->text);
}

static int compile_count(compiler *c, op *o, sh_args *a, uint64_t max, const char *what)
{
	if (a->argc < 2 || !parse_u64(a->argv[1].text, &o->n))
		return fail(c, "%s: expected a count", what);
	if (o->n > max)
		return fail(c, "%s: at most %llu", what, (unsigned long long)max);
	return 0;
}

static int compile_step(void *ctx, sh_args *a)
{
	compiler *c = ctx;
	const char *w = a->argv[0].text;
	op *o = push(c);
	if (!o)
		return fail(c, "out of memory");
	if (a->argv[0].kind != TOK_WORD)
		return fail(c, "unexpected '%s' in a body", w);
	if (strcmp(w, "alloc") == 0)
		return compile_alloc(c, o, a);
	if (strcmp(w, "free") == 0) {
		o->kind = OP_FREE;
		if (a->argc != 2 || !valid_name(a->argv[1].text))
			return fail(c, "free: expected a name");
		snprintf(o->name, sizeof o->name, "%s", a->argv[1].text);
		return 0;
	}
	if (strcmp(w, "yield") == 0 || strcmp(w, "exit") == 0) {
		o->kind = w[0] == 'y' ? OP_YIELD : OP_EXIT;
		return a->argc == 1 ? 0 : fail(c, "%s takes nothing", w);
	}
	if (strcmp(w, "park") == 0) {
		o->kind = OP_PARK;
		snprintf(o->reason, sizeof o->reason, "%s", a->argc > 1 ? a->argv[1].text : "park");
		return a->argc <= 2 ? 0 : fail(c, "park: at most one reason");
	}
	if (strcmp(w, "ready") == 0) {
		o->kind = OP_READY;
		return a->argc == 2 && parse_g(a->argv[1].text, &o->g) ? 0
								   : fail(c, "ready: expected gN");
	}
	if (strcmp(w, "spawn") == 0)
		return compile_spawn(c, o, a);
	if (strcmp(w, "work") == 0) {
		o->kind = OP_WORK;
		return a->argc == 2 ? compile_count(c, o, a, WORK_MAX, "work")
				    : fail(c, "work: expected a count");
	}
	if (strcmp(w, "syscall") == 0) {
		o->kind = OP_SYSCALL;
		return a->argc == 2 ? compile_count(c, o, a, SYSCALL_MS_MAX, "syscall")
				    : fail(c, "syscall: expected milliseconds (at most %llu)",
					   (unsigned long long)SYSCALL_MS_MAX);
	}
	if (strcmp(w, "repeat") == 0) {
		o->kind = OP_REPEAT;
		if (a->argc != 3 || compile_count(c, o, a, REPEAT_MAX, "repeat") != 0)
			return fail(c, "repeat: expected N { ... }");
		return compile_block(c, o, &a->argv[2], "repeat");
	}
	int rc = sync_compile(c->sh, a, &o->sync, c->err, sizeof c->err);
	if (rc != 0) {
		o->kind = OP_SYNC;
		return rc > 0 ? 0 : -1;
	}
	return fail(c, "unknown body step '%s' (alloc, free, yield, park, ready, spawn, work, "
		       "syscall, repeat, exit, %s)",
		    w, sync_body_words);
}

static sh_prog *compile(sh_t *sh, const char *text, char *err, size_t errn)
{
	compiler c = {.sh = sh, .prog = calloc(1, sizeof(sh_prog))};
	if (!c.prog) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	const char *serr = NULL;
	if (sh_split(text, compile_step, &c, &serr) != 0) {
		snprintf(err, errn, "%s", c.err[0] ? c.err : serr ? serr : "bad body");
		prog_free(c.prog);
		return NULL;
	}
	return c.prog;
}

sh_prog *prog_compile(sh_t *sh, const char *text, const char **err)
{
	static char msg[300];
	sh_prog *p = compile(sh, text, msg, sizeof msg);
	if (!p)
		*err = msg;
	return p;
}

void prog_free(sh_prog *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nops; i++)
		if (!p->ops[i].borrowed)
			prog_free(p->ops[i].sub);
	for (size_t i = 0; i < p->nops; i++)
		sync_op_free(p->ops[i].sync);
	free(p->ops);
	free(p);
}

/* ------------------------------------------------------------- actions */

static pthread_mutex_t actions_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned sh_body_errors;

/* Lines kept per step or run: text summarises (the first SH_ACTIONS_MAX,
 * errors a little more, since they are what the user looks for); JSON,
 * read by programs, keeps every line up to a bound on memory. */
static unsigned lines_cap(const sh_t *sh, bool error)
{
	if (sh->json)
		return SH_ACTIONS_JSON_MAX;
	return SH_ACTIONS_MAX + (error ? SH_ACTIONS_MAX / 4 : 0);
}

void actions_add(sh_t *sh, const char *fmt, ...)
{
	/* Past every cap, count without formatting: a body in a loop may
	 * call this millions of times in one step. */
	if (__atomic_load_n(&sh->action_lines, __ATOMIC_RELAXED) >= lines_cap(sh, true)) {
		pthread_mutex_lock(&actions_lock);
		sh->actions_dropped++;
		pthread_mutex_unlock(&actions_lock);
		return;
	}
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = strlen(line);
	pthread_mutex_lock(&actions_lock);
	if (sh->action_lines >= lines_cap(sh, strstr(line, "error:") != NULL)) {
		sh->actions_dropped++;
		pthread_mutex_unlock(&actions_lock);
		return;
	}
	sh->action_lines++;
	if (sh->nactions + len + 2 > sh->capactions) {
		size_t cap = (sh->capactions + len + 2) * 2;
		char *b = realloc(sh->actions, cap);
		if (!b) {
			sh->actions_dropped++;
			pthread_mutex_unlock(&actions_lock);
			return;
		}
		sh->actions = b;
		sh->capactions = cap;
	}
	memcpy(sh->actions + sh->nactions, line, len);
	sh->nactions += len;
	sh->actions[sh->nactions++] = '\n';
	sh->actions[sh->nactions] = '\0';
	pthread_mutex_unlock(&actions_lock);
}

char *actions_take(sh_t *sh, uint64_t *dropped)
{
	pthread_mutex_lock(&actions_lock);
	char *log = sh->nactions ? sh->actions : NULL;
	if (log) { /* handed over: the next step starts a new buffer */
		sh->actions = NULL;
		sh->capactions = 0;
	}
	if (dropped)
		*dropped = sh->actions_dropped;
	sh->nactions = 0;
	sh->action_lines = 0;
	sh->actions_dropped = 0;
	if (sh->actions)
		sh->actions[0] = '\0';
	pthread_mutex_unlock(&actions_lock);
	return log;
}

/* ----------------------------------------------------------- running */

/* Threaded mode prefixes each action with its G: steps do not say. */
static const char *who(char *buf)
{
	if (!sh_current->cfg.threaded) /* not gort_inspect_sched: 2 KiB of G stack */
		return "";
	snprintf(buf, 32, "g%lld: ", (long long)gort_self());
	return buf;
}

static void run_alloc(sh_t *sh, const op *o)
{
	char ab[40], wb[32];
	void *p = gort_alloc((size_t)o->n, o->flags);
	if (!p) {
		actions_add(sh, "%serror: alloc %llu: out of memory", who(wb), (unsigned long long)o->n);
		return;
	}
	size_t k = val_add_owned(sh, (uintptr_t)p, (size_t)o->n, o->name, gort_self());
	gort_object_info oi;
	char cls[48] = "";
	if (gort_inspect_object(p, &oi) == 0) /* as alloc at the prompt says it */
		snprintf(cls, sizeof cls, oi.tiny ? " tiny" : oi.size_class ? " class %u" : " large",
			 oi.size_class);
	actions_add(sh, "%salloc %llu%s%s → $%zu = %s%s", who(wb), (unsigned long long)o->n,
		    o->name[0] ? " as " : "", o->name, k, fmt_addr((uintptr_t)p, ab), cls);
}

static void run_free(sh_t *sh, const op *o)
{
	char wb[32];
	/* The G's own name first, as a Go local shadows a global. */
	sh_value *v = val_lookup(sh, gort_self(), o->name);
	if (!v)
		v = val_lookup(sh, 0, o->name);
	if (!v) {
		actions_add(sh, "%serror: free %s: no such name", who(wb), o->name);
		return;
	}
	sh_capture cap = {0};
	sh_body_capture = &cap; /* this thread's misuse reports come here */
	gort_free((void *)v->addr);
	sh_body_capture = NULL;
	if (cap.hit) {
		/* Misuse of the heap fails the step (as `free` does in the
		 * shell); a body's other mistakes only show in its line. */
		__atomic_add_fetch(&sh_body_errors, 1, __ATOMIC_RELAXED);
		actions_add(sh, "%serror: free %s: %s", who(wb), o->name, cap.msg);
		return;
	}
	v->live = false;
	actions_add(sh, "%sfree %s", who(wb), o->name);
}

static void g_body(void *arg);

/* Units of work since the G last gave the CPU up; per thread, since in
 * threaded mode Gs run on several Ms (a G that yields resets it). */
static __thread uint64_t slice_used;

/* Charges n units; false (with an error action) once over budget. */
static bool charge(sh_t *sh, uint64_t n)
{
	char wb[32];
	slice_used += n;
	if (slice_used <= SLICE_BUDGET)
		return true;
	actions_add(sh, "%serror: more than %llu units of work without a yield: G stopped", who(wb),
		    (unsigned long long)SLICE_BUDGET);
	return false;
}

/* A blocking call: the G's P goes to another M while it sleeps (Go's
 * entersyscallblock), and it takes one back after. Step mode has no Ms to
 * hand off to, so there it only says so. */
static void run_syscall(sh_t *sh, const op *o)
{
	char wb[32];
	gort_syscall_enter();
	if (sh->cfg.threaded) {
		struct timespec ts = {0, (long)(o->n * 1000000ull)};
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	gort_syscall_exit();
	actions_add(sh, "%ssyscall %llu ms", who(wb), (unsigned long long)o->n);
}

static void run_spawn(sh_t *sh, const op *o)
{
	char wb[32], on[24] = "";
	if (o->p >= 0)
		snprintf(on, sizeof on, " on p%d", o->p);
	errno = 0;
	vars_lock(); /* the new G starts with this one's variables */
	int64_t g = o->p >= 0 ? gort_go_p((unsigned)o->p, g_body, o->sub) : gort_go(g_body, o->sub);
	if (g > 0)
		vars_fork(gort_self(), g);
	vars_unlock();
	if (g > 0)
		actions_add(sh, "%sspawn g%lld%s", who(wb), (long long)g, on);
	else if (errno != EINVAL)
		actions_add(sh, "%serror: spawn%s: out of memory", who(wb), on);
	else /* gort_go_p: only in step mode, only onto a P that exists */
		actions_add(sh, "%serror: spawn%s: %s", who(wb), on,
			    sh->cfg.threaded ? "needs step mode" : "no such P");
}

/* One step that is not control flow. */
static void exec_op(sh_t *sh, const op *o)
{
	char wb[32], why[80];
	switch (o->kind) {
	case OP_ALLOC:
		run_alloc(sh, o);
		break;
	case OP_FREE:
		run_free(sh, o);
		break;
	case OP_YIELD:
		gort_yield();
		break;
	case OP_PARK:
		gort_park(o->reason);
		break;
	case OP_READY:
		if (gort_ready(o->g) == 0)
			actions_add(sh, "%sready g%lld", who(wb), (long long)o->g);
		else if (sh->cfg.threaded) /* the Gs move on meanwhile: no why */
			actions_add(sh, "%serror: ready g%lld: not parked", who(wb), (long long)o->g);
		else
			actions_add(sh, "error: ready g%lld: %s", (long long)o->g,
				    sh_not_parked(o->g, why, sizeof why));
		break;
	case OP_SPAWN:
		run_spawn(sh, o);
		break;
	case OP_SYSCALL:
		run_syscall(sh, o);
		break;
	case OP_WORK:
		/* A loop the compiler must keep: no yield, just time. */
		for (uint64_t k = 0; k < o->n; k++)
			__asm__ volatile("" ::: "memory");
		actions_add(sh, "%swork %llu", who(wb), (unsigned long long)o->n);
		break;
	}
}

/* A waiting step (sync_ops.c): the block its `if` chose, or NULL. Not
 * inlined: it must not grow exec_prog's frame, which every G carries. */
static __attribute__((noinline)) const sh_prog *run_sync(sh_t *sh, const op *o)
{
	const sh_prog *then = NULL;
	if (sync_exec(sh, o->sync, &then))
		slice_used = 0; /* it waited: the CPU was given up */
	return then;
}

/* Runs a body without recursion: nested repeats are frames of a small
 * array, so a G's stack use does not grow with the nesting (a G may have
 * as little as 16 KiB). */
static void exec_prog(sh_t *sh, const sh_prog *prog)
{
	struct frame {
		const sh_prog *p;
		size_t i;       /* next step */
		uint64_t left;  /* rounds still to run after this one */
	} st[SH_MAX_BRACE_DEPTH + 1];
	int top = 0;
	st[0] = (struct frame){prog, 0, 0};
	while (top >= 0) {
		struct frame *f = &st[top];
		if (f->i == f->p->nops) {
			if (f->left > 0) {
				f->left--;
				f->i = 0;
			} else {
				top--;
			}
			continue;
		}
		/* Ctrl-C during a threaded run: the G ends here, so gort_run
		 * returns. Step mode stops between steps instead. */
		if (sh_interrupted && sh->cfg.threaded)
			return;
		const op *o = &f->p->ops[f->i++];
		uint64_t cost = o->kind == OP_WORK	  ? o->n + 1
				: o->kind == OP_SYSCALL ? o->n * SYSCALL_MS_COST + STEP_COST
							: STEP_COST;
		if (!charge(sh, cost) || o->kind == OP_EXIT)
			return;
		if (o->kind == OP_YIELD || o->kind == OP_PARK)
			slice_used = 0;
		if (o->kind == OP_SYNC) {
			const sh_prog *then = run_sync(sh, o);
			if (then && top + 1 < (int)(sizeof st / sizeof *st))
				st[++top] = (struct frame){then, 0, 0};
			else if (then)
				actions_add(sh, "error: if nested too deeply");
		} else if (o->kind != OP_REPEAT) {
			exec_op(sh, o);
		} else if (o->n > 0 && top + 1 < (int)(sizeof st / sizeof *st)) {
			st[++top] = (struct frame){o->sub, 0, o->n - 1};
		} else if (o->n > 0) {
			char wb[32];
			actions_add(sh, "%serror: repeat nested too deeply", who(wb));
			return;
		}
	}
}

static void g_body(void *arg)
{
	slice_used = 0; /* a new G starts a new slice */
	exec_prog(sh_current, arg);
	vars_drop(gort_self());
}

int64_t prog_spawn(sh_t *sh, sh_prog *prog)
{
	(void)sh;
	vars_lock(); /* a G spawned at the prompt starts with the prompt's variables */
	int64_t g = gort_go(g_body, prog);
	vars_fork(0, g);
	vars_unlock();
	return g;
}

int64_t prog_spawn_on(sh_t *sh, sh_prog *prog, unsigned p)
{
	(void)sh;
	vars_lock();
	int64_t g = gort_go_p(p, g_body, prog);
	vars_fork(0, g);
	vars_unlock();
	return g;
}

/* --------------------------------------------------------------- funcs */

sh_prog *func_find(sh_t *sh, const char *name)
{
	for (size_t i = sh->nfuncs; i-- > 0;)
		if (strcmp(sh->funcs[i].name, name) == 0)
			return sh->funcs[i].prog;
	return NULL;
}

/* The name of func i (definition order), NULL past the last: for completion. */
const char *func_name(const sh_t *sh, size_t i)
{
	return i < sh->nfuncs ? sh->funcs[i].name : NULL;
}

int func_define(sh_t *sh, const char *name, sh_prog *prog)
{
	for (size_t i = 0; i < sh->nfuncs; i++)
		if (strcmp(sh->funcs[i].name, name) == 0) {
			sh->funcs[i].prog = prog; /* the old program stays with its users */
			return 0;
		}
	if (sh->nfuncs == sh->capfuncs) {
		size_t cap = sh->capfuncs ? 2 * sh->capfuncs : 16;
		sh_func *v = realloc(sh->funcs, cap * sizeof *v);
		if (!v)
			return -1;
		sh->funcs = v;
		sh->capfuncs = cap;
	}
	sh_func *f = &sh->funcs[sh->nfuncs++];
	snprintf(f->name, sizeof f->name, "%s", name);
	f->prog = prog;
	return 0;
}

void funcs_clear(sh_t *sh)
{
	free(sh->funcs);
	sh->funcs = NULL;
	sh->nfuncs = sh->capfuncs = 0;
}

size_t prog_steps(const sh_prog *p)
{
	return p->nops;
}
