/*
 * sync_ops.c — the steps that wait or talk: chan, send, recv, close,
 * select, lock, unlock, wg, sleep, and the variables they use (let, if).
 * One compiler and one interpreter serve G bodies and the prompt.
 *
 * In a G each step first tries without waiting; if it cannot go on it
 * makes the blocking call (the G parks: the step's line says on what).
 * At the prompt, which is not a G, a step that cannot go on drives the
 * scheduler one printed step at a time (step mode; threaded mode: one
 * run) and tries again, until it can or nothing is left to run — so
 * `recv c` at the prompt waits for the Gs as Go's main does, and shows
 * every step it took.
 *
 * What the step did is read back from the scheduler's event log: a
 * hand-off names the G on the other side, a close or unlock the Gs it
 * woke. Only events this G made count (the log holds everyone's).
 *
 * Invariants: gort's misuse reports are captured only around calls that
 * cannot park (a parked G must not leave this thread's capture pointing
 * at its stack); the interpreter never allocates from the gort heap but
 * for the channels it is asked to make.
 */
#include "sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LINES_MAX 4
#define PROMPT_STEPS_MAX 10000 /* as `run` */
#define SLEEP_MS_MAX 60000ull
#define CASES_MAX 16
#define WOKE_MAX 8

enum sop_kind {
	SOP_CHAN = 1,
	SOP_SEND,
	SOP_RECV,
	SOP_CLOSE,
	SOP_SELECT,
	SOP_DEFAULT,
	SOP_LOCK,
	SOP_UNLOCK,
	SOP_WG_ADD,
	SOP_WG_DONE,
	SOP_WG_WAIT,
	SOP_SLEEP,
	SOP_LET,
	SOP_IF
};

/* A number, or a variable holding one. */
typedef struct operand {
	bool var;
	char name[SH_NAME_MAX];
	int64_t v;
} operand;

/* A OP B, or just A (op[0] == 0). */
typedef struct expr {
	operand a, b;
	char op[3];
} expr;

struct sync_op {
	int kind;
	char obj[SH_NAME_MAX]; /* the channel, mutex or wait group */
	char as[SH_NAME_MAX];  /* recv as X, let X, chan X: "" if none */
	expr e;		       /* send's value, let's and if's expression, wg add's delta */
	uint64_t n;	       /* chan's capacity, sleep's milliseconds */
	sync_op *cases;	       /* select */
	int ncases;
	bool has_default;
	sh_prog *sub; /* if */
};

const char *const sync_body_words =
	"chan, send, recv, close, select, lock, unlock, wg, sleep, let, if";

/* ------------------------------------------------------------ compiling */

static int cerr(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cerr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_operand(const char *s, operand *o)
{
	if (parse_i64(s, &o->v))
		return true;
	if (!valid_name(s))
		return false;
	o->var = true;
	snprintf(o->name, sizeof o->name, "%s", s);
	return true;
}

static bool is_binop(const char *s)
{
	static const char *const ops[] = {
		"+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", NULL};
	for (int i = 0; ops[i]; i++)
		if (strcmp(s, ops[i]) == 0)
			return true;
	return false;
}

/* Words [i, end) as A or A OP B. */
static bool parse_expr(const sh_args *a, int i, int end, expr *e)
{
	if (end - i == 1)
		return parse_operand(a->argv[i].text, &e->a);
	if (end - i != 3 || !is_binop(a->argv[i + 1].text))
		return false;
	snprintf(e->op, sizeof e->op, "%s", a->argv[i + 1].text);
	return parse_operand(a->argv[i].text, &e->a) && parse_operand(a->argv[i + 2].text, &e->b);
}

static bool name_arg(const sh_args *a, int i, char *out)
{
	if (i >= a->argc || a->argv[i].kind != TOK_WORD || !valid_name(a->argv[i].text))
		return false;
	snprintf(out, SH_NAME_MAX, "%s", a->argv[i].text);
	return true;
}

static int compile_recv(const sh_args *a, sync_op *o, char *err, size_t n)
{
	if (!name_arg(a, 1, o->obj))
		return cerr(err, n, "recv: expected a channel's name");
	if (a->argc == 2)
		return 1;
	if (a->argc == 4 && strcmp(a->argv[2].text, "as") == 0 && name_arg(a, 3, o->as))
		return 1;
	return cerr(err, n, "recv: expected recv CHAN [as NAME]");
}

static int compile_send(const sh_args *a, sync_op *o, char *err, size_t n)
{
	if (a->argc != 3 || !name_arg(a, 1, o->obj) || !parse_operand(a->argv[2].text, &o->e.a))
		return cerr(err, n, "send: expected send CHAN VALUE (a number or a variable)");
	return 1;
}

typedef struct case_compiler {
	sync_op *sel;
	char *err;
	size_t errn;
} case_compiler;

static int compile_case(void *ctx, sh_args *a)
{
	case_compiler *cc = ctx;
	sync_op *sel = cc->sel;
	if (sel->ncases == CASES_MAX)
		return cerr(cc->err, cc->errn, "select: at most %d cases", CASES_MAX);
	sync_op *o = &sel->cases[sel->ncases];
	memset(o, 0, sizeof *o);
	const char *w = a->argv[0].text;
	if (strcmp(w, "default") == 0 && a->argc == 1 && !sel->has_default) {
		sel->has_default = true;
		return 0;
	}
	int rc = strcmp(w, "recv") == 0	  ? compile_recv(a, o, cc->err, cc->errn)
		 : strcmp(w, "send") == 0 ? compile_send(a, o, cc->err, cc->errn)
					  : cerr(cc->err, cc->errn,
						 "select: a case is recv CHAN [as NAME], send CHAN "
						 "VALUE or default (once)");
	if (rc < 0)
		return -1;
	o->kind = w[0] == 'r' ? SOP_RECV : SOP_SEND;
	sel->ncases++;
	return 0;
}

static int compile_select(sh_args *a, sync_op *o, char *err, size_t n)
{
	if (a->argc != 2 || a->argv[1].kind != TOK_BLOCK)
		return cerr(err, n, "select: expected select { recv a as x; send b 1; default }");
	o->cases = calloc(CASES_MAX, sizeof *o->cases);
	if (!o->cases)
		return cerr(err, n, "out of memory");
	case_compiler cc = {o, err, n};
	const char *serr = NULL;
	err[0] = '\0';
	if (sh_split(a->argv[1].text, compile_case, &cc, &serr) != 0)
		return err[0] ? -1 : cerr(err, n, "select: %s", serr ? serr : "bad cases");
	return 1;
}

static int compile_wg(sh_args *a, sync_op *o, char *err, size_t n)
{
	int i = 1;
	snprintf(o->obj, sizeof o->obj, "wg");
	if (i < a->argc && strcmp(a->argv[i].text, "add") != 0 &&
	    strcmp(a->argv[i].text, "done") != 0 && strcmp(a->argv[i].text, "wait") != 0 &&
	    name_arg(a, i, o->obj))
		i++;
	const char *w = i < a->argc ? a->argv[i].text : "";
	if (strcmp(w, "add") == 0 && a->argc == i + 2 &&
	    parse_operand(a->argv[i + 1].text, &o->e.a))
		o->kind = SOP_WG_ADD;
	else if (strcmp(w, "done") == 0 && a->argc == i + 1)
		o->kind = SOP_WG_DONE;
	else if (strcmp(w, "wait") == 0 && a->argc == i + 1)
		o->kind = SOP_WG_WAIT;
	else
		return cerr(err, n, "wg: expected wg [NAME] add N | done | wait");
	return 1;
}

static int compile_let(sh_args *a, sync_op *o, char *err, size_t n)
{
	o->kind = SOP_LET;
	if (a->argc < 4 || !name_arg(a, 1, o->as) || strcmp(a->argv[2].text, "=") != 0 ||
	    !parse_expr(a, 3, a->argc, &o->e))
		return cerr(err, n,
			    "let: expected let NAME = A [OP B] (OP: + - * / %% == != < <= > >=)");
	return 1;
}

static int compile_if(sh_t *sh, sh_args *a, sync_op *o, char *err, size_t n)
{
	o->kind = SOP_IF;
	if (a->argc < 3 || a->argv[a->argc - 1].kind != TOK_BLOCK ||
	    !parse_expr(a, 1, a->argc - 1, &o->e))
		return cerr(err, n,
			    "if: expected if A [OP B] { ... } (runs when the value is not 0)");
	const char *perr = NULL;
	o->sub = prog_compile(sh, a->argv[a->argc - 1].text, &perr);
	return o->sub ? 1 : cerr(err, n, "%s", perr);
}

static int compile_chan(sh_args *a, sync_op *o, char *err, size_t n)
{
	o->kind = SOP_CHAN;
	if (a->argc < 2 || a->argc > 3 || !name_arg(a, 1, o->as) ||
	    (a->argc == 3 && !parse_u64(a->argv[2].text, &o->n)))
		return cerr(err, n, "chan: expected chan NAME [CAP]");
	if (o->n > 1000000)
		return cerr(err, n, "chan: a capacity of at most 1000000");
	return 1;
}

static int compile_one(sh_t *sh, sh_args *a, sync_op *o, char *err, size_t n)
{
	const char *w = a->argv[0].text;
	if (strcmp(w, "chan") == 0)
		return compile_chan(a, o, err, n);
	if (strcmp(w, "send") == 0 || strcmp(w, "recv") == 0) {
		o->kind = w[0] == 's' ? SOP_SEND : SOP_RECV;
		return w[0] == 's' ? compile_send(a, o, err, n) : compile_recv(a, o, err, n);
	}
	if (strcmp(w, "close") == 0 || strcmp(w, "lock") == 0 || strcmp(w, "unlock") == 0) {
		o->kind = w[0] == 'c' ? SOP_CLOSE : w[0] == 'l' ? SOP_LOCK : SOP_UNLOCK;
		return a->argc == 2 && name_arg(a, 1, o->obj)
			       ? 1
			       : cerr(err, n, "%s: expected a name", w);
	}
	if (strcmp(w, "select") == 0) {
		o->kind = SOP_SELECT;
		return compile_select(a, o, err, n);
	}
	if (strcmp(w, "wg") == 0)
		return compile_wg(a, o, err, n);
	if (strcmp(w, "sleep") == 0) {
		o->kind = SOP_SLEEP;
		if (a->argc != 2 || !parse_u64(a->argv[1].text, &o->n) || o->n > SLEEP_MS_MAX)
			return cerr(err, n, "sleep: expected milliseconds (at most %llu)",
				    SLEEP_MS_MAX);
		return 1;
	}
	if (strcmp(w, "let") == 0)
		return compile_let(a, o, err, n);
	if (strcmp(w, "if") == 0)
		return compile_if(sh, a, o, err, n);
	return 0;
}

int sync_compile(sh_t *sh, sh_args *a, sync_op **out, char *err, size_t errn)
{
	if (a->argv[0].kind != TOK_WORD)
		return 0;
	sync_op *o = calloc(1, sizeof *o);
	if (!o)
		return cerr(err, errn, "out of memory");
	int rc = compile_one(sh, a, o, err, errn);
	if (rc <= 0) {
		sync_op_free(o);
		return rc;
	}
	*out = o;
	return 1;
}

void sync_op_free(sync_op *op)
{
	if (!op)
		return;
	free(op->cases);
	prog_free(op->sub);
	free(op);
}

/* ------------------------------------------------------------ running */

/* One step being run: its lines, and what it found out. */
typedef struct run {
	sh_t *sh;
	int64_t self; /* the G, 0 at the prompt */
	bool prompt;
	bool waited;   /* it had to wait */
	bool failed;   /* an error line was said */
	uint64_t mark; /* events before the last attempt */
	unsigned n;
	char lines[LINES_MAX][200];
} run;

static void say(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(run *r, const char *fmt, ...)
{
	if (r->n == LINES_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->lines[r->n++], sizeof r->lines[0], fmt, ap);
	va_end(ap);
}

static void fail_line(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_line(run *r, const char *fmt, ...)
{
	if (r->n == LINES_MAX)
		r->n--;
	va_list ap;
	va_start(ap, fmt);
	char msg[180];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->lines[r->n++], sizeof r->lines[0], "error: %s", msg);
	r->failed = true;
}

/* "g5 " in a G: lines about two parties name both. */
static const char *subj(const run *r, char *buf)
{
	if (r->prompt)
		return "";
	snprintf(buf, 24, "g%lld ", (long long)r->self);
	return buf;
}

/* gort's misuse reports during one call that cannot park: in a G they go
 * into the step's line (and fail it, as heap misuse does); at the prompt
 * they go to the command, as always. */
typedef struct capture {
	run *r;
	sh_capture cap;
} capture;

static void capture_begin(capture *c, run *r)
{
	c->r = r;
	memset(&c->cap, 0, sizeof c->cap);
	if (!r->prompt)
		sh_body_capture = &c->cap;
}

/* gort's report names the object by address; the shell knows its name
 * (and a mutex's address in libc memory changes from run to run). */
static void name_objects(char *msg, size_t n)
{
	char *p = strstr(msg, "0x");
	sync_obj *o = p ? sync_by_addr((uintptr_t)strtoull(p, NULL, 16)) : NULL;
	if (!o)
		return;
	size_t hex = strspn(p + 2, "0123456789abcdefABCDEF") + 2;
	char rest[256];
	snprintf(rest, sizeof rest, "%s", p + hex);
	snprintf(p, n - (size_t)(p - msg), "%s%s", o->label, rest);
}

/* true if gort reported a misuse (its line said). */
static bool capture_end(capture *c, const char *what)
{
	run *r = c->r;
	if (r->prompt) {
		if (r->sh->gort_error)
			name_objects(r->sh->gort_msg, sizeof r->sh->gort_msg);
		return r->sh->gort_error;
	}
	sh_body_capture = NULL;
	if (!c->cap.hit)
		return false;
	name_objects(c->cap.msg, sizeof c->cap.msg);
	__atomic_add_fetch(&sh_body_errors, 1, __ATOMIC_RELAXED);
	fail_line(r, "%s: %s", what, c->cap.msg);
	return true;
}

/* ------------------------------------------------------------ events */

/* What this party did, from the events since r->mark. */
typedef struct did {
	int64_t handed_to; /* HANDOFF to a waiting receiver */
	int64_t took_from; /* HANDOFF from a waiting sender */
	bool closed;
	int64_t woke[WOKE_MAX];
	unsigned nwoke, more;
} did;

static int64_t actor(const gort_event *e)
{
	if (e->kind == GORT_EV_HANDOFF && e->source == GORT_HANDOFF_FROM_WAITER)
		return e->goid; /* the receiver took it */
	return e->by;
}

static void note(did *d, const gort_event *e)
{
	if (e->kind == GORT_EV_HANDOFF && e->source == GORT_HANDOFF_TO_WAITER)
		d->handed_to = e->goid;
	else if (e->kind == GORT_EV_HANDOFF)
		d->took_from = e->by;
	else if (e->kind == GORT_EV_CLOSE)
		d->closed = true;
	else if (e->kind == GORT_EV_READY && d->nwoke < WOKE_MAX)
		d->woke[d->nwoke++] = e->goid;
	else if (e->kind == GORT_EV_READY)
		d->more++;
}

static void scan(const run *r, did *d)
{
	memset(d, 0, sizeof *d);
	gort_event evs[8];
	uint64_t mark = r->mark;
	size_t n;
	while ((n = gort_inspect_events(mark, evs, 8)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (evs[i].kind != GORT_EV_RUN && evs[i].kind != GORT_EV_GO &&
			    actor(&evs[i]) == r->self)
				note(d, &evs[i]);
		mark = evs[n - 1].seq;
	}
}

/* ", woke g3 g6" (or "" if nobody). */
static const char *woke_list(const did *d, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < d->nwoke && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s g%lld", i ? "" : ", woke",
				      (long long)d->woke[i]);
	if (d->more && k < n)
		snprintf(buf + k, n - k, " and %u more", d->more);
	return buf;
}

/* ------------------------------------------------------------ operands */

static bool value_of(run *r, const operand *o, int64_t *v)
{
	if (!o->var) {
		*v = o->v;
		return true;
	}
	sync_var x;
	if (var_get(r->self, o->name, &x) && x.kind == VAR_INT) {
		*v = x.v;
		return true;
	}
	fail_line(r, "no number '%s' (recv ... as %s or let %s = ... sets one)", o->name, o->name,
		  o->name);
	return false;
}

static bool eval(run *r, const expr *e, int64_t *v)
{
	int64_t a, b;
	if (!value_of(r, &e->a, &a))
		return false;
	if (!e->op[0]) {
		*v = a;
		return true;
	}
	if (!value_of(r, &e->b, &b))
		return false;
	const char *op = e->op;
	if ((op[0] == '/' || op[0] == '%') && b == 0) {
		fail_line(r, "division by zero");
		return false;
	}
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b; /* wrap, never trap */
	switch (op[0]) {
	case '+': *v = (int64_t)(ua + ub); return true;
	case '-': *v = (int64_t)(ua - ub); return true;
	case '*': *v = (int64_t)(ua * ub); return true;
	case '/': *v = a == INT64_MIN && b == -1 ? a : a / b; return true;
	case '%': *v = b == -1 ? 0 : a % b; return true;
	case '=': *v = a == b; return true;
	case '!': *v = a != b; return true;
	case '<': *v = op[1] ? a <= b : a < b; return true;
	default: *v = op[1] ? a >= b : a > b; return true;
	}
}

/* A channel: the G's variable of that name, else the session's object. */
static sync_obj *chan_of(run *r, const char *name)
{
	sync_var x;
	if (var_get(r->self, name, &x) && x.kind == VAR_CHAN)
		return x.chan;
	sync_obj *o = sync_by_label(name);
	if (o && o->kind == SYNC_CHAN)
		return o;
	fail_line(r, "no channel '%s' (chan %s [CAP] makes one)", name, name);
	return NULL;
}

static sync_obj *named(run *r, int kind, const char *name)
{
	bool clash;
	sync_obj *o = sync_named(kind, name, &clash);
	if (!o)
		fail_line(r, clash ? "'%s' is not a %s" : "%s%s: out of memory", name,
			  clash ? (kind == SYNC_MUTEX ? "mutex" : "wait group") : "");
	return o;
}

static void bind_var(run *r, const char *name, int64_t v)
{
	sync_var x = {.kind = VAR_INT, .v = v};
	if (name[0] && var_set(r->self, name, &x) != 0)
		fail_line(r, "too many variables (at most 16 per G)");
}

/* ------------------------------------------------------------ waiting */

typedef int (*attempt_fn)(run *r, const sync_op *o, void *st);

/* Runs the scheduler once for a prompt that waits: 1 something ran, 0
 * nothing could, -1 an error (reported). */
static int drive(run *r)
{
	if (!r->sh->cfg.threaded)
		return sh_step_once(r->sh);
	sh_args a = {.argc = 1};
	a.argv[0] = (sh_tok){.kind = TOK_WORD, .text = (char *)"run"};
	return cmd_run(r->sh, &a) == 0 && !r->sh->failed ? 0 : -1;
}

/* try() until it goes on: 1 done, -1 failed. In a G: block() (parks).
 * At the prompt: drive the scheduler between tries. */
static int proceed(run *r, const sync_op *o, void *st, attempt_fn try, attempt_fn block,
		   const char *what)
{
	r->mark = gort_event_seq();
	int rc = try(r, o, st);
	if (rc != 0)
		return rc;
	if (!r->prompt) {
		r->waited = true;
		r->mark = gort_event_seq();
		return block(r, o, st);
	}
	for (unsigned k = 0; k < PROMPT_STEPS_MAX; k++) {
		int s = drive(r);
		if (s < 0)
			return -1;
		r->waited = true;
		r->mark = gort_event_seq();
		if ((rc = try(r, o, st)) != 0)
			return rc;
		if (s == 0) {
			sh_error(r->sh,
				 "%s: all goroutines are asleep - deadlock! (nothing can run to "
				 "let the prompt go on)",
				 what);
			return -1;
		}
	}
	sh_error(r->sh, "%s: still waiting after %u steps", what, PROMPT_STEPS_MAX);
	return -1;
}

/* ------------------------------------------------------------ send, recv */

typedef struct xfer {
	sync_obj *c;
	int64_t v;
	int rc;
} xfer;

static int send_try(run *r, const sync_op *o, void *st)
{
	xfer *x = st;
	capture c;
	capture_begin(&c, r);
	int rc = gort_chan_try_send(x->c->u.chan, &x->v);
	if (capture_end(&c, "send") || rc < 0)
		return -1;
	(void)o;
	return rc;
}

static int send_block(run *r, const sync_op *o, void *st)
{
	xfer *x = st;
	(void)o;
	if (gort_chan_send(x->c->u.chan, &x->v) == 0)
		return 1;
	fail_line(r, "send %s %lld: %s was closed while this G waited", x->c->label,
		  (long long)x->v, x->c->label);
	return -1;
}

static void say_send(run *r, const xfer *x)
{
	char sb[24];
	did d;
	scan(r, &d);
	if (d.handed_to)
		say(r, "%shanded %lld to g%lld directly", subj(r, sb), (long long)x->v,
		    (long long)d.handed_to);
	for (unsigned i = 0; i < d.nwoke; i++)
		say(r, "woke g%lld", (long long)d.woke[i]);
	if (d.handed_to)
		return;
	size_t len = gort_chan_len(x->c->u.chan), cap = gort_chan_cap(x->c->u.chan);
	if (r->waited) /* the receiver that woke it took the value, or moved it into the ring */
		say(r, "send %s %lld: %s while waiting", x->c->label, (long long)x->v,
		    cap == 0 ? "taken" : "moved into the buffer");
	else if (cap == 0) /* a receiver took it (threaded mode logs no hand-off) */
		say(r, "send %s %lld", x->c->label, (long long)x->v);
	else
		say(r, "send %s %lld: buffered (%zu/%zu)", x->c->label, (long long)x->v, len, cap);
}

static int recv_try(run *r, const sync_op *o, void *st)
{
	xfer *x = st;
	(void)r, (void)o;
	x->rc = gort_chan_try_recv(x->c->u.chan, &x->v);
	return x->rc >= 0 ? 1 : 0;
}

static int recv_block(run *r, const sync_op *o, void *st)
{
	xfer *x = st;
	(void)r;
	(void)o;
	x->rc = gort_chan_recv(x->c->u.chan, &x->v);
	return x->rc >= 0 ? 1 : -1;
}

static void say_recv(run *r, const sync_op *o, const xfer *x)
{
	char sb[24], as[SH_NAME_MAX + 8] = "";
	did d;
	scan(r, &d);
	if (o->as[0])
		snprintf(as, sizeof as, " as %s", o->as);
	size_t cap = gort_chan_cap(x->c->u.chan);
	if (d.took_from && cap == 0)
		say(r, "%stook %lld from g%lld directly%s", subj(r, sb), (long long)x->v,
		    (long long)d.took_from, as);
	else if (d.took_from)
		say(r, "recv %s → %lld%s: from the buffer; g%lld's value moved in behind",
		    x->c->label, (long long)x->v, as, (long long)d.took_from);
	else if (x->rc == 0)
		say(r, "recv %s → 0%s: closed%s", x->c->label, as,
		    r->waited ? " while waiting" : "");
	else if (r->waited || cap == 0) /* the sender's line said the hand-off */
		say(r, "recv %s → %lld%s", x->c->label, (long long)x->v, as);
	else
		say(r, "recv %s → %lld%s: from the buffer (%zu/%zu left)", x->c->label,
		    (long long)x->v, as, gort_chan_len(x->c->u.chan), cap);
	for (unsigned i = 0; i < d.nwoke; i++)
		say(r, "woke g%lld", (long long)d.woke[i]);
}

static void run_send(run *r, const sync_op *o)
{
	xfer x = {.c = chan_of(r, o->obj)};
	if (!x.c || !value_of(r, &o->e.a, &x.v))
		return;
	char what[64];
	snprintf(what, sizeof what, "send %s", x.c->label);
	if (proceed(r, o, &x, send_try, send_block, what) == 1)
		say_send(r, &x);
}

static void run_recv(run *r, const sync_op *o)
{
	xfer x = {.c = chan_of(r, o->obj)};
	if (!x.c)
		return;
	char what[64];
	snprintf(what, sizeof what, "recv %s", x.c->label);
	if (proceed(r, o, &x, recv_try, recv_block, what) != 1)
		return;
	say_recv(r, o, &x);
	bind_var(r, o->as, x.v);
}

static void run_close(run *r, const sync_op *o)
{
	sync_obj *c = chan_of(r, o->obj);
	if (!c)
		return;
	r->mark = gort_event_seq();
	capture cp;
	capture_begin(&cp, r);
	gort_chan_close(c->u.chan);
	char what[64];
	snprintf(what, sizeof what, "close %s", c->label);
	if (capture_end(&cp, what))
		return;
	char sb[24], wb[200];
	did d;
	scan(r, &d);
	say(r, "%sclosed %s%s", subj(r, sb), c->label, woke_list(&d, wb, sizeof wb));
}

/* ------------------------------------------------------------ select */

typedef struct sel {
	gort_select_case cases[CASES_MAX];
	sync_obj *objs[CASES_MAX];
	int64_t vals[CASES_MAX];
	int chosen;
} sel;

static int select_try(run *r, const sync_op *o, void *st)
{
	sel *s = st;
	capture c;
	capture_begin(&c, r);
	s->chosen = gort_select(s->cases, o->ncases, false);
	bool bad = capture_end(&c, "select");
	return bad ? -1 : s->chosen >= 0 ? 1 : 0;
}

static int select_block(run *r, const sync_op *o, void *st)
{
	sel *s = st;
	char on[WOKE_MAX * SH_NAME_MAX] = "";
	size_t k = 0;
	for (int i = 0; i < o->ncases && k < sizeof on; i++)
		k += (size_t)snprintf(on + k, sizeof on - k, "%s%s", i ? " " : "",
				      s->objs[i]->label);
	var_waiting(r->self, on);
	s->chosen = gort_select(s->cases, o->ncases, true);
	var_waiting(r->self, "");
	if (s->chosen >= 0)
		return 1;
	fail_line(r, "select: %s",
		  errno == EPIPE ? "a channel it sent on was closed" : strerror(errno));
	return -1;
}

static bool select_load(run *r, const sync_op *o, sel *s)
{
	for (int i = 0; i < o->ncases; i++) {
		const sync_op *c = &o->cases[i];
		if (!(s->objs[i] = chan_of(r, c->obj)))
			return false;
		if (c->kind == SOP_SEND && !value_of(r, &c->e.a, &s->vals[i]))
			return false;
		s->cases[i] = (gort_select_case){.chan = s->objs[i]->u.chan,
						 .dir = c->kind == SOP_SEND ? GORT_SEND : GORT_RECV,
						 .elem = &s->vals[i]};
	}
	return true;
}

static void run_select(run *r, const sync_op *o)
{
	sel s;
	if (!select_load(r, o, &s))
		return;
	int rc;
	if (o->has_default) { /* never waits, at the prompt either */
		r->mark = gort_event_seq();
		if ((rc = select_try(r, o, &s)) == 0)
			say(r, "select: default");
	} else {
		rc = proceed(r, o, &s, select_try, select_block, "select");
	}
	if (rc != 1)
		return;
	const sync_op *c = &o->cases[s.chosen];
	xfer x = {.c = s.objs[s.chosen], .v = s.vals[s.chosen], .rc = s.cases[s.chosen].ok};
	say(r, "select: case %d (%s %s)", s.chosen + 1, c->kind == SOP_SEND ? "send" : "recv",
	    x.c->label);
	if (c->kind == SOP_SEND) {
		say_send(r, &x);
	} else {
		say_recv(r, c, &x);
		bind_var(r, c->as, x.v);
	}
}

/* ------------------------------------------------------------ sync */

static int lock_try(run *r, const sync_op *o, void *st)
{
	(void)r, (void)o;
	return gort_mutex_trylock(((sync_obj *)st)->u.mutex);
}

static int lock_block(run *r, const sync_op *o, void *st)
{
	(void)r, (void)o;
	gort_mutex_lock(((sync_obj *)st)->u.mutex);
	return 1;
}

static void run_lock(run *r, const sync_op *o)
{
	sync_obj *m = named(r, SYNC_MUTEX, o->obj);
	char what[64];
	snprintf(what, sizeof what, "lock %s", o->obj);
	if (m && proceed(r, o, m, lock_try, lock_block, what) == 1)
		say(r, "lock %s%s", m->label, r->waited ? " after waiting" : "");
}

/* unlock, wg add, wg done: calls that wake others and never wait. */
static void run_waker(run *r, const sync_op *o, sync_obj *x, const char *what)
{
	int64_t delta = 0;
	if (o->kind == SOP_WG_ADD && !value_of(r, &o->e.a, &delta))
		return;
	char label[64];
	if (o->kind == SOP_WG_ADD)
		snprintf(label, sizeof label, "%s %lld", what, (long long)delta);
	else
		snprintf(label, sizeof label, "%s%s", what ? what : "unlock ",
			 what ? "" : x->label);
	what = label;
	r->mark = gort_event_seq();
	capture c;
	capture_begin(&c, r);
	if (o->kind == SOP_UNLOCK)
		gort_mutex_unlock(x->u.mutex);
	else
		gort_wg_add(x->u.wg, o->kind == SOP_WG_DONE ? -1 : (long)delta);
	if (capture_end(&c, what))
		return;
	char wb[200], cb[48] = "";
	did d;
	scan(r, &d);
	if (o->kind != SOP_UNLOCK)
		snprintf(cb, sizeof cb, " (counter %lld)",
			 (long long)(int32_t)(__atomic_load_n(&x->u.wg->state, __ATOMIC_RELAXED) >>
					      32));
	say(r, "%s%s%s", what, cb, woke_list(&d, wb, sizeof wb));
}

static int wg_try(run *r, const sync_op *o, void *st)
{
	(void)r, (void)o;
	return (__atomic_load_n(&((sync_obj *)st)->u.wg->state, __ATOMIC_ACQUIRE) >> 32) == 0;
}

static int wg_block(run *r, const sync_op *o, void *st)
{
	(void)r, (void)o;
	gort_wg_wait(((sync_obj *)st)->u.wg);
	return 1;
}

static void run_wg(run *r, const sync_op *o)
{
	sync_obj *w = named(r, SYNC_WG, o->obj);
	if (!w)
		return;
	char what[64];
	bool deflt = strcmp(o->obj, "wg") == 0;
	snprintf(what, sizeof what, "wg%s%s %s", deflt ? "" : " ", deflt ? "" : w->label,
		 o->kind == SOP_WG_ADD	  ? "add"
		 : o->kind == SOP_WG_DONE ? "done"
					  : "wait");
	if (o->kind != SOP_WG_WAIT)
		run_waker(r, o, w, what);
	else if (proceed(r, o, w, wg_try, wg_block, what) == 1)
		say(r, "%s%s", what, r->waited ? ": the counter reached 0" : ": the counter is 0");
}

static void run_sleep(run *r, const sync_op *o)
{
	if (r->prompt && !r->sh->cfg.threaded) {
		sh_error(r->sh,
			 "sleep: the prompt is not a goroutine, and step mode's clock moves "
			 "only while Gs sleep (spawn { sleep %llu }, then run)",
			 (unsigned long long)o->n);
		return;
	}
	char until[48] = "";
	if (!r->sh->cfg.threaded) /* gs and the parked step say until when */
		snprintf(until, sizeof until, "until %lld ms",
			 (long long)((gort_now() + (int64_t)o->n * 1000000) / 1000000));
	var_waiting(r->self, until);
	gort_sleep((int64_t)o->n * 1000000);
	var_waiting(r->self, "");
	if (r->sh->cfg.threaded)
		say(r, "slept %llu ms", (unsigned long long)o->n);
	else /* the virtual clock: the same in every run */
		say(r, "slept %llu ms (clock %lld ms)", (unsigned long long)o->n,
		    (long long)(gort_now() / 1000000));
}

static void run_chan(run *r, const sync_op *o)
{
	sync_obj *c = sync_make_chan(o->as, (size_t)o->n);
	if (!c) {
		fail_line(r, "chan %s: %s", o->as, strerror(errno));
		return;
	}
	sync_var v = {.kind = VAR_CHAN, .chan = c};
	if (var_set(r->self, o->as, &v) != 0)
		fail_line(r, "too many variables (at most 16 per G)");
	char ab[32];
	say(r, "chan %s%s%s: cap %llu, hchan at %s", o->as, strcmp(o->as, c->label) ? " → " : "",
	    strcmp(o->as, c->label) ? c->label : "", (unsigned long long)o->n,
	    fmt_addr((uintptr_t)c->u.chan, ab));
}

static void run_let(run *r, const sync_op *o)
{
	sync_var x;
	/* let in = ch copies a channel too (Go: in := ch). */
	if (!o->e.op[0] && o->e.a.var && var_get(r->self, o->e.a.name, &x) && x.kind == VAR_CHAN) {
		if (var_set(r->self, o->as, &x) != 0)
			fail_line(r, "too many variables (at most 16 per G)");
		else
			say(r, "let %s = %s", o->as, x.chan->label);
		return;
	}
	int64_t v;
	if (eval(r, &o->e, &v)) {
		bind_var(r, o->as, v);
		say(r, "let %s = %lld", o->as, (long long)v);
	}
}

/* One step, whichever its kind. */
static const sh_prog *dispatch(run *r, const sync_op *o)
{
	sync_obj *x;
	int64_t v;
	switch (o->kind) {
	case SOP_CHAN: run_chan(r, o); break;
	case SOP_SEND: run_send(r, o); break;
	case SOP_RECV: run_recv(r, o); break;
	case SOP_CLOSE: run_close(r, o); break;
	case SOP_SELECT: run_select(r, o); break;
	case SOP_LOCK: run_lock(r, o); break;
	case SOP_UNLOCK:
		if ((x = named(r, SYNC_MUTEX, o->obj)))
			run_waker(r, o, x, NULL);
		break;
	case SOP_WG_ADD:
	case SOP_WG_DONE:
	case SOP_WG_WAIT: run_wg(r, o); break;
	case SOP_SLEEP: run_sleep(r, o); break;
	case SOP_LET: run_let(r, o); break;
	case SOP_IF: return eval(r, &o->e, &v) && v ? o->sub : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------ entries */

bool sync_exec(sh_t *sh, const sync_op *op, const sh_prog **sub)
{
	run r = {.sh = sh, .self = gort_self()};
	*sub = dispatch(&r, op);
	char wb[32] = "";
	if (sh->cfg.threaded) /* steps do not say which G: lines do */
		snprintf(wb, sizeof wb, "g%lld: ", (long long)r.self);
	for (unsigned i = 0; i < r.n; i++)
		actions_add(sh, "%s%s", wb, r.lines[i]);
	return r.waited;
}

int cmd_sync_op(sh_t *sh, sh_args *a)
{
	char err[200];
	sync_op *o = NULL;
	const char *w = a->argv[0].text;
	int rc = sync_compile(sh, a, &o, err, sizeof err);
	if (rc <= 0)
		return sh_error(sh, "%s", rc < 0 ? err : "not a command");
	if (o->kind == SOP_IF) {
		sync_op_free(o);
		return sh_error(sh, "if: a body step (spawn { ... if A { ... } })");
	}
	run r = {.sh = sh, .prompt = true};
	dispatch(&r, o);
	sync_op_free(o);
	if (sh->failed)
		return -1;
	if (sh->gort_error) /* misuse: the shell reports it as the command's error */
		return 0;
	if (r.failed) /* the error line is the command's error */
		return sh_error(sh, "%s", r.lines[r.n - 1] + strlen("error: "));
	js_begin(sh, w);
	js_array(sh, "did");
	for (unsigned i = 0; i < r.n; i++) {
		out(sh, "%s\n", r.lines[i]);
		js_str(sh, NULL, r.lines[i]);
	}
	js_array_end(sh);
	js_end(sh);
	return 0;
}
