/*
 * fuzz_shell.c — coverage-guided fuzzing of gortsh, the inspector shell:
 * the input is what `gortsh --norc --keep-going < INPUT` would read.
 *
 * The bytes go through the shell's own batch path: they become the shell's
 * standard input (an fmemopen stream in place of stdin for the length of
 * the call) and sh_run_file(sh, "-") reads them as gortsh does, line by
 * line, joining lines while a brace is open, with --keep-going semantics
 * (keep_going, not interactive, no colour, JSON off until the input says
 * `set json on`). Each input starts from a fresh runtime (sh_runtime_init
 * with step mode, 2 Ps, a 4 MiB arena, seed 1) and ends with
 * sh_session_end, exactly like one gortsh process. The shell is linked in
 * (cli/ but main.c and repl.c), compiled for this harness with its
 * allocation calls renamed to the hooks below (the Makefile's
 * FUZZ_SHELL_HOOKS): they count what the session owns and pass every call
 * on unchanged.
 *
 * What must hold, besides no crash and no sanitizer report:
 *  - every error is one clean record on stderr: `FILE:LINE: error: ...`
 *    (or `error: ...`), one line, flushed as a whole;
 *  - in JSON mode every line on stdout is one JSON object whose first key
 *    is "cmd" or "error" (a small validator below);
 *  - the shell frees and reallocates only objects the session allocated
 *    (or pointers gort rejects: misuse is reported, the heap unchanged);
 *  - at the end of the input, gort_check() holds.
 * A violation prints what broke and aborts.
 *
 * Output: the shell's stdout and stderr go to sinks that check and discard
 * them (fopencookie streams swapped into stdout/stderr only while the shell
 * runs), so libFuzzer's own messages, the sanitizers' reports (fd 2) and
 * run_inputs' file names are untouched and no write(2) is spent on the
 * shell's output. GORT_FUZZ_TRACE=1 lets the shell print to the real
 * stdout/stderr instead (no output checks then) and says what an input
 * costs or why it was skipped.
 *
 * Admission: before running, the input is split the way the shell splits
 * it (the same line joining, sh_split, and body.c's reading of bodies) to
 * bound what it can cost and touch. It is skipped (return -1: libFuzzer
 * does not keep it) when:
 *  - its estimated cost is over BUDGET units (about 10 us each under ASan):
 *    one unit per command and per body step, scaled by the enclosing repeat
 *    counts (and `spawn` inside a repeat; `spawn NAME` costs the highest
 *    price a `func NAME` body was given before it), plus `work N` by N,
 *    allocation sizes by bytes, and prices for init (by Ps), views (by the
 *    Gs, Ps, objects and bytes allocated so far), exports and `source FILE`
 *    (see the C_* constants). Steps are not priced: every step runs at least one
 *    body step or ends a G, both already counted. Counts the shell rejects
 *    (work > 10^8, repeat > 10^6) and sizes above any arena allowed cost
 *    nothing, so their errors stay reachable. (The shell lets a G run 2*10^8
 *    work units between yields, seconds per input for a fuzzer, and has no
 *    knob to lower its limits.)
 *  - `init` asks for an arena above 64 MiB or a stack above 1 MiB that the
 *    runtime would accept (above 2^46 and 2^30 it refuses: those stay), or
 *    threaded mode (OS threads make runs irreproducible; GORT_FUZZ_THREADS=1
 *    allows it);
 *  - `source`, `export svg` or `trace start` names a path with a '/'.
 * Inputs that use those three commands run with the private folder made at
 * start-up (mkdtemp) as the working directory, emptied afterwards; so the
 * fuzzer reads and writes files only there.
 *
 * Build: `make fuzz` (build/fuzz/fuzz_shell, build/afl/fuzz_shell{,.cmplog});
 * replay: build/fuzz-replay/fuzz_shell FILE|DIR... (`make fuzz-replay`).
 * Reproduce a find with gortsh itself:
 *   (echo 'init procs=2 arena=4M seed=1'; cat FILE) | build/gortsh --norc --keep-going
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../cli/shell.h"

#define FUZZ_API __attribute__((visibility("default")))
/* The harness's own code needs no coverage feedback (the shell's is what
 * guides the fuzzer), and comparison tracing in the output checks would
 * cost more than the commands. */
#if defined(__clang__)
#define FS_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FS_NOCOV
#endif

/* ------------------------------------------------------------ settings */

#define ARENA_BYTES ((size_t)4 << 20)
#define ARENA_MAX ((uint64_t)64 << 20)	  /* init arena= beyond: skipped ... */
#define ARENA_REFUSED ((uint64_t)1 << 46) /* ... unless gort refuses it anyway */
#define STACK_MAX ((uint64_t)1 << 20)
#define STACK_REFUSED ((uint64_t)1 << 30)
#define WORK_MAX 100000000ull /* cli/body.c: larger is a compile error */
#define REPEAT_MAX 1000000ull

/* Cost units: about 10 us each under ASan (measured with build/fuzz/). */
#define BUDGET 10000u
#define FS_FUNCS 64 /* funcs an input may define (more: skipped) */
#define C_CMD 1u	      /* a command, a body step */
#define C_GO 4u		      /* a G spawned by a body: its stack, its last step */
#define C_SPAWN 25u	      /* spawn at the prompt (it snapshots every P) */
#define C_VIEW 25u	      /* dump, check, stats, gs, ps, vals, help, ... */
#define GS_PER_UNIT 20u	      /* ... plus a unit per this many Gs or Ps it may list */
#define HEAP_PER_UNIT 2u      /* ... and per this many objects or 4 KiB of heap */
#define C_INIT 50u	      /* shut down and start the runtime ... */
#define C_INIT_PER_P 1u	      /* ... plus this per P */
#define C_FILE 200u	      /* export svg, source FILE: plus the heap, once */
#define WORK_PER_UNIT 1000u   /* `work` iterations per unit */
#define REPEATS_PER_UNIT 250u /* rounds of a `repeat`, body aside, per unit */
#define BYTES_PER_UNIT 16384u /* allocation bytes (zeroing, copying) per unit */

static sh_t session;
static int ready, trace, allow_threads;
static char folder[4096]; /* the private working folder for file commands */
static int home_fd = -1;  /* the caller's working directory */
static FILE *real_out, *real_err;

/* ------------------------------------------------------------ failures */

static unsigned long inputs;

FS_NOCOV __attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;
	FILE *e = real_err ? real_err : stderr;
	fprintf(e, "fuzz_shell: FAILED at line %u (input %lu): ", session.line, inputs);
	va_start(ap, fmt);
	vfprintf(e, fmt, ap);
	va_end(ap);
	fprintf(e,
		"\nfuzz_shell: reproduce with: (echo 'init procs=2 arena=4M seed=1'; cat FILE) | "
		"build/gortsh --norc --keep-going\n");
	fflush(e);
	abort();
}

/* Shell bugs this harness found, fixed, their reproducers kept under
 * corpus/fuzz_shell/regressions/: a G body overflowing a small stack
 * (crash-6e5440e7: `init stack=4K`, a body 30 repeats deep, SIGSEGV; the
 * shell now asks for 16 KiB at least and runs bodies without recursion;
 * crash-41997f45: `init stack=32K`, `spawn { alloc 8 }`, `run` still
 * overflowed under ASan, so sanitizer builds now ask for 64 KiB), the shell
 * freeing the runtime's own objects through a stale value or a raw address
 * (crash-db877ba8: alloc 1M, free $1, spawn {}, free $1, release, run: a G
 * freed under the scheduler; the runtime's G descriptors, allg and goid
 * index are no longer on the heap, and the hooks below make it a failure),
 * and an error message quoting a { block } spanning lines taking several
 * stderr lines (newline-in-error: `{ a<newline>b }`; sh_error now writes
 * \n). A shell bug the fuzzer keeps hitting before it can be fixed may be
 * tolerated with a narrow, named exception here (GORT_FUZZ_STRICT=1
 * overriding it); there is none now. */

/* ------------------------------------------------------------ admission */

/* A body named by `func NAME { ... }`: what one `spawn NAME` of it costs. */
typedef struct fs_func {
	char name[SH_NAME_MAX];
	uint64_t cost, gs, heap;
} fs_func;

typedef struct estimate {
	uint64_t cost;
	uint64_t mult;	 /* how many times the body being read runs */
	uint64_t gs;	 /* Gs spawned so far, at most */
	uint64_t procs;	 /* the most Ps asked for so far */
	uint64_t heap;	 /* objects allocated so far plus their bytes / 4 KiB */
	bool files;	 /* source/export/trace: run in the private folder */
	bool pokes;	 /* poke: may write into a freed slot on purpose */
	const char *why; /* why the input is skipped, NULL if admitted */
	fs_func funcs[FS_FUNCS]; /* one per name (the highest price it was given) */
	size_t nfuncs;
} estimate;

FS_NOCOV static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

FS_NOCOV static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

FS_NOCOV static int charge(estimate *e, uint64_t units)
{
	e->cost = sat_add(e->cost, sat_mul(e->mult, units));
	if (e->cost > BUDGET) {
		e->why = "over the cost budget";
		return -1;
	}
	return 0;
}

/* An allocation of bytes, mult times. More than the largest arena allowed
 * fails at once. */
FS_NOCOV static int charge_alloc(estimate *e, uint64_t bytes)
{
	if (bytes > ARENA_MAX)
		bytes = 0;
	e->heap = sat_add(e->heap, sat_mul(e->mult, 1 + bytes / 4096));
	return charge(e, 1 + bytes / BYTES_PER_UNIT);
}

/* A command that lists Gs, Ps, objects or pages. */
FS_NOCOV static int charge_view(estimate *e, uint64_t base)
{
	return charge(
		e, sat_add(base, sat_add(e->gs, e->procs) / GS_PER_UNIT + e->heap / HEAP_PER_UNIT));
}

static int body_step(void *ctx, sh_args *a);
static int bodies(estimate *e, sh_args *a, int from, uint64_t mult);

/* `spawn NAME`, mult times: the func's body at the highest price it was
 * given so far (body.c resolves the name when the spawning body is
 * compiled, so later definitions do not count). An unknown name is an
 * error that runs nothing. */
FS_NOCOV static int charge_func(estimate *e, const char *name)
{
	for (size_t i = 0; i < e->nfuncs; i++) {
		const fs_func *f = &e->funcs[i];
		if (strcmp(f->name, name) != 0)
			continue;
		e->gs = sat_add(e->gs, sat_mul(e->mult, f->gs));
		e->heap = sat_add(e->heap, sat_mul(e->mult, f->heap));
		return charge(e, f->cost);
	}
	return charge(e, C_CMD);
}

FS_NOCOV static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* `func NAME { BODY }` runs nothing: it prices BODY once, from zero, for
 * the spawns that name it. Only names the shell would bind (cmd_func).
 * Whether BODY compiles is not known here, and a definition that does not
 * leaves the old one in force: so a name defined again keeps the higher
 * of its prices. */
FS_NOCOV static int define_func(estimate *e, sh_args *a)
{
	if (a->argc != 3 || a->argv[1].kind != TOK_WORD || a->argv[2].kind != TOK_BLOCK ||
	    !valid_name(a->argv[1].text))
		return charge(e, C_CMD);
	const char *name = a->argv[1].text;
	fs_func *f = NULL;
	for (size_t i = 0; i < e->nfuncs && !f; i++)
		if (strcmp(e->funcs[i].name, name) == 0)
			f = &e->funcs[i];
	if (!f && e->nfuncs == FS_FUNCS) {
		e->why = "more funcs than the estimate keeps";
		return -1;
	}
	uint64_t cost = e->cost, gs = e->gs, heap = e->heap;
	e->cost = e->gs = e->heap = 0;
	int rc = bodies(e, a, 2, 1);
	if (!f) {
		f = &e->funcs[e->nfuncs++];
		*f = (fs_func){0};
		snprintf(f->name, sizeof f->name, "%s", name);
	}
	f->cost = max_u64(f->cost, e->cost);
	f->gs = max_u64(f->gs, e->gs);
	f->heap = max_u64(f->heap, e->heap);
	e->cost = cost, e->gs = gs, e->heap = heap;
	return rc != 0 ? -1 : charge(e, C_CMD);
}

/* The body a `spawn` starts, run mult times: a func's by name, or the
 * { block } among its words. */
FS_NOCOV static int spawned_body(estimate *e, sh_args *a, uint64_t mult)
{
	if (a->argv[a->argc - 1].kind == TOK_WORD)
		return charge_func(e, a->argv[a->argc - 1].text);
	return bodies(e, a, 1, mult);
}

/* Every { block } among a command's words, read as a body run mult times. */
FS_NOCOV static int bodies(estimate *e, sh_args *a, int from, uint64_t mult)
{
	for (int i = from; i < a->argc; i++) {
		if (a->argv[i].kind != TOK_BLOCK || mult == 0)
			continue;
		uint64_t saved = e->mult;
		e->mult = mult;
		const char *err = NULL;
		int rc = sh_split(a->argv[i].text, body_step, e, &err);
		e->mult = saved;
		if (rc != 0 && e->why)
			return -1;
	}
	return 0;
}

/* One step of a G body, as cli/body.c compiles it. */
FS_NOCOV static int body_step(void *ctx, sh_args *a)
{
	estimate *e = ctx;
	const char *w = a->argv[0].text;
	uint64_t n;
	if (a->argv[0].kind != TOK_WORD)
		return charge(e, C_CMD);
	if (strcmp(w, "work") == 0 && a->argc == 2 && parse_u64(a->argv[1].text, &n) &&
	    n <= WORK_MAX)
		return charge(e, C_CMD + n / WORK_PER_UNIT);
	if (strcmp(w, "alloc") == 0 && a->argc >= 2 && parse_size(a->argv[1].text, &n))
		return charge_alloc(e, n);
	if (strcmp(w, "repeat") == 0 && a->argc >= 2) {
		if (!parse_u64(a->argv[1].text, &n) || n > REPEAT_MAX)
			return charge(e, C_CMD); /* a compile error: nothing runs */
		if (charge(e, C_CMD + n / REPEATS_PER_UNIT) != 0)
			return -1;
		return bodies(e, a, 2, sat_mul(e->mult, n));
	}
	if (strcmp(w, "spawn") == 0) {
		e->gs = sat_add(e->gs, e->mult);
		return charge(e, C_GO) != 0 ? -1 : spawned_body(e, a, e->mult);
	}
	return charge(e, C_CMD);
}

FS_NOCOV static int path_ok(estimate *e, sh_args *a, int i)
{
	e->files = true;
	if (i < a->argc && strchr(a->argv[i].text, '/')) {
		e->why = "a file name with a '/'";
		return -1;
	}
	return 0;
}

FS_NOCOV static int init_ok(estimate *e, sh_args *a)
{
	for (int i = 1; i < a->argc; i++) {
		const char *arg = a->argv[i].text, *v;
		uint64_t n;
		if ((v = kv(arg, "arena")) && parse_size(v, &n) && n > ARENA_MAX &&
		    n <= ARENA_REFUSED)
			e->why = "an arena above 64 MiB";
		else if ((v = kv(arg, "stack")) && parse_size(v, &n) && n > STACK_MAX &&
			 n <= STACK_REFUSED)
			e->why = "a stack above 1 MiB";
		else if ((v = kv(arg, "threads")) && strcmp(v, "on") == 0 && !allow_threads)
			e->why = "threaded mode (GORT_FUZZ_THREADS=1 allows it)";
		else if ((v = kv(arg, "procs")) && parse_u64(v, &n) && n > e->procs && n <= 256)
			e->procs = n;
		if (e->why)
			return -1;
	}
	return charge(e, C_INIT + C_INIT_PER_P * e->procs);
}

/* One command at the top level, as session.c's run_command dispatches it. */
FS_NOCOV static int top_command(void *ctx, sh_args *a)
{
	estimate *e = ctx;
	sh_args rest;
	uint64_t n, m;
	if (a->argc >= 2 && a->argv[0].kind == TOK_WORD && strcmp(a->argv[0].text, "try") == 0) {
		rest.argc = a->argc - 1;
		memcpy(rest.argv, a->argv + 1, (size_t)rest.argc * sizeof *rest.argv);
		a = &rest;
	}
	if (a->argv[0].kind != TOK_WORD)
		return charge(e, C_CMD);
	const char *w = a->argv[0].text;
	const char *arg1 = a->argc > 1 ? a->argv[1].text : "";
	if (strcmp(w, "spawn") == 0) {
		e->gs = sat_add(e->gs, 1);
		return charge(e, C_SPAWN) != 0 ? -1 : spawned_body(e, a, 1);
	}
	if (strcmp(w, "func") == 0)
		return define_func(e, a);
	if (strcmp(w, "init") == 0)
		return init_ok(e, a);
	if (strcmp(w, "poke") == 0)
		e->pokes = true;
	if (strcmp(w, "procs") == 0) {
		if (parse_u64(arg1, &n) && n > e->procs && n <= 256)
			e->procs = n;
		return charge(e, C_CMD + C_INIT_PER_P * e->procs);
	}
	if (strcmp(w, "alloc") == 0 && parse_size(arg1, &n))
		return charge_alloc(e, n);
	if (strcmp(w, "calloc") == 0 && a->argc >= 3 && parse_u64(arg1, &n) &&
	    parse_size(a->argv[2].text, &m))
		return charge_alloc(e, sat_mul(n, m));
	if (strcmp(w, "realloc") == 0 && a->argc >= 3 && parse_size(a->argv[2].text, &n))
		return charge_alloc(e, n);
	if (strcmp(w, "source") == 0) {
		if (strcmp(arg1, "-") == 0)
			return charge(e, C_CMD);
		/* A file this input wrote: an SVG of the heap, or a trace of at
		 * most as many events as there were steps, i.e. body steps. */
		return path_ok(e, a, 1) != 0 ? -1 : charge_view(e, sat_add(C_FILE, e->cost));
	}
	if (strcmp(w, "export") == 0)
		return path_ok(e, a, 2) != 0 ? -1 : charge_view(e, C_FILE);
	if (strcmp(w, "trace") == 0)
		return path_ok(e, a, 2) != 0 ? -1 : charge(e, C_VIEW);
	if (strcmp(w, "dump") == 0 || strcmp(w, "check") == 0 || strcmp(w, "stats") == 0 ||
	    strcmp(w, "gs") == 0 || strcmp(w, "ps") == 0 || strcmp(w, "ms") == 0 ||
	    strcmp(w, "vals") == 0 || strcmp(w, "help") == 0 || strcmp(w, "release") == 0 ||
	    strcmp(w, "schedtrace") == 0 || strcmp(w, "scheddetail") == 0)
		return charge_view(e, C_VIEW);
	return charge(e, C_CMD);
}

/* Reads text (NUL-terminated at n) line by line as session.c's run_stream
 * does (a block left open runs on over the next lines: sh_brace_delta), and
 * every unit it would run through sh_split. A unit that does not split
 * stops at its error, as in the shell. Conservative where the shell may
 * stop early (quit, an open block at the end). */
FS_NOCOV static void admit(estimate *e, char *text, size_t n)
{
	char *pending = malloc(n + 2);
	size_t plen = 0;
	int depth = 0;
	if (!pending) {
		e->why = "out of memory";
		return;
	}
	for (size_t pos = 0; pos < n && !e->why;) {
		char *nl = memchr(text + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - text) : n;
		text[end] = '\0';
		size_t len = strlen(text + pos); /* getline keeps NULs, strlen stops */
		if (plen)
			pending[plen++] = '\n';
		memcpy(pending + plen, text + pos, len);
		plen += len;
		pending[plen] = '\0';
		depth += sh_brace_delta(text + pos);
		text[end] = nl ? '\n' : '\0';
		pos = end + 1;
		if (depth > 0 && pos < n)
			continue;
		depth = 0;
		const char *err = NULL;
		sh_split(pending, top_command, e, &err);
		plen = 0;
	}
	free(pending);
}

/* ------------------------------------------------------------ JSON */

/* A validator for what js_* write: objects, arrays, strings (the escapes
 * js_string uses, and the rest of JSON's), integers, true/false/null.
 * Strings hold no raw control character or DEL (the shell escapes them)
 * and only well-formed UTF-8 (the shell writes U+FFFD for the rest). */
typedef struct jsp {
	const char *p, *end;
} jsp;

static bool js_value(jsp *j, int depth);

FS_NOCOV static bool js_lit(jsp *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * form, no surrogate, nothing past U+10FFFF), 0 if there is none. */
FS_NOCOV static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	int n = c >= 0xc2 && c <= 0xdf	 ? 2
		: c >= 0xe0 && c <= 0xef ? 3
		: c >= 0xf0 && c <= 0xf4 ? 4
					 : 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (!n || end - p < n || p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

FS_NOCOV static bool js_string(jsp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c >= 0x80) {
			int k = utf8_seq((const unsigned char *)j->p,
					 (const unsigned char *)j->end);
			if (!k)
				return false;
			j->p += k - 1;
			continue;
		}
		if (c != '\\')
			continue;
		if (++j->p >= j->end)
			return false;
		c = (unsigned char)*j->p;
		if (c == 'u') {
			for (int k = 0; k < 4; k++)
				if (++j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) ||
				    !*j->p)
					return false;
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return false;
		}
	}
	return false;
}

FS_NOCOV static bool js_number(jsp *j)
{
	const char *start = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
		return false; /* a leading zero */
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

FS_NOCOV static bool js_members(jsp *j, int depth, char close, bool keys)
{
	j->p++;
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		if (keys && (!js_string(j) || !js_lit(j, ":")))
			return false;
		if (!js_value(j, depth + 1))
			return false;
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

FS_NOCOV static bool js_value(jsp *j, int depth)
{
	if (depth > 64 || j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{': return js_members(j, depth, '}', true);
	case '[': return js_members(j, depth, ']', false);
	case '"': return js_string(j);
	case 't': return js_lit(j, "true");
	case 'f': return js_lit(j, "false");
	case 'n': return js_lit(j, "null");
	default: return js_number(j);
	}
}

FS_NOCOV static bool js_line_ok(const char *s, size_t n)
{
	jsp j = {s, s + n};
	if (!js_lit(&j, "{\"cmd\":") && !js_lit(&j, "{\"error\":"))
		return false;
	j.p = s;
	return js_value(&j, 0) && j.p == j.end;
}

/* ------------------------------------------------------------ sinks */

/* stdout: discarded; in JSON mode each line is checked as it completes. */
static char *line;
static size_t line_len, line_cap;
static bool line_too_long;

/* The mode is judged when a command's output is flushed, after it ran: so
 * `set json on` with echo on shows its own `> set json on` line (printed in
 * text mode, before the switch) to the JSON check. Echo lines pass. */
FS_NOCOV static bool echo_line(const char *s, size_t n)
{
	return session.echo && n >= 2 && s[0] == '>' && s[1] == ' ';
}

FS_NOCOV static void out_line_done(void)
{
	if (session.json && !line_too_long && !echo_line(line, line_len) &&
	    !js_line_ok(line, line_len))
		fail("JSON mode printed a line that is not one JSON object with \"cmd\" or "
		     "\"error\" first: %.*s",
		     (int)(line_len > 400 ? 400 : line_len), line);
	line_len = 0;
	line_too_long = false;
}

FS_NOCOV static bool line_add(const char *s, size_t n)
{
	if (line_too_long)
		return false;
	if (line_len + n > line_cap) {
		size_t cap = line_cap ? line_cap : 4096;
		while (cap < line_len + n)
			cap *= 2;
		char *l = cap <= ((size_t)16 << 20) ? realloc(line, cap) : NULL;
		if (!l) {
			line_too_long = true; /* not checked: no room */
			return false;
		}
		line = l;
		line_cap = cap;
	}
	memcpy(line + line_len, s, n);
	line_len += n;
	return true;
}

FS_NOCOV static ssize_t out_write(void *c, const char *buf, size_t n)
{
	(void)c;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - buf) : n;
		line_add(buf + i, end - i);
		if (nl)
			out_line_done();
		i = end + 1;
	}
	return (ssize_t)n;
}

/* stderr: sh_error writes one record and flushes it, so each write is one
 * whole error: `FILE:LINE: error: MESSAGE\n` or `error: MESSAGE\n`. */
FS_NOCOV static bool error_prefix(const char *s, size_t n)
{
	static const char tag[] = "error: ";
	const size_t tn = sizeof tag - 1;
	if (n >= tn && memcmp(s, tag, tn) == 0)
		return true;
	const char *nl = memchr(s, '\n', n);
	size_t first = nl ? (size_t)(nl - s) : n;
	for (size_t i = 0; i + 2 + tn <= first; i++) {
		if (s[i] != ':' || s[i + 1] < '0' || s[i + 1] > '9')
			continue;
		size_t k = i + 1;
		while (k < first && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k + 2 + tn <= first && s[k] == ':' && s[k + 1] == ' ' &&
		    memcmp(s + k + 2, tag, tn) == 0)
			return true;
	}
	return false;
}

FS_NOCOV static ssize_t err_write(void *c, const char *buf, size_t n)
{
	(void)c;
	if (n == 0)
		return 0;
	if (!error_prefix(buf, n))
		fail("stderr got something else than an error line: %.*s", (int)(n > 400 ? 400 : n),
		     buf);
	if (buf[n - 1] != '\n')
		fail("an error line without its newline (or written in pieces): %.*s",
		     (int)(n > 400 ? 400 : n), buf);
	if (memchr(buf, '\n', n - 1))
		fail("an error message takes several lines: %.*s", (int)(n > 400 ? 400 : n), buf);
	return (ssize_t)n;
}

static FILE *out_sink, *err_sink;

/* ------------------------------------------------------------ hooks */

/* For this harness cli/ is compiled with -Dgort_alloc=fuzz_shell_gort_alloc
 * (and the same for gort_calloc, gort_aligned_alloc, gort_realloc, gort_free,
 * gort_shutdown;
 * the Makefile's FUZZ_SHELL_HOOKS, fuzz/build.sh), so every object the
 * shell allocates or frees passes here, while the runtime's own calls go
 * straight to the library. The hooks keep the set of objects the session
 * owns (allocated by the shell or a G body, not yet freed by it), and check
 * that the shell never frees or reallocates an allocated object it does
 * not own: that would be the runtime's own (or a bug of the hooks). They
 * change nothing else: gort sees the same calls as in gortsh. */
GORT_API void *fuzz_shell_gort_alloc(size_t size, unsigned flags);
GORT_API void *fuzz_shell_gort_calloc(size_t count, size_t size);
GORT_API void *fuzz_shell_gort_aligned_alloc(size_t align, size_t size);
GORT_API void *fuzz_shell_gort_realloc(void *p, size_t size);
GORT_API void fuzz_shell_gort_free(void *p);
GORT_API void fuzz_shell_gort_shutdown(void);

/* Owned addresses: open addressing, linear probing, backward-shift delete. */
static uintptr_t *owned;
static size_t owned_cap, owned_n;

FS_NOCOV static size_t owned_slot(uintptr_t a)
{
	uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (owned_cap - 1);
}

FS_NOCOV static bool owned_has(uintptr_t a)
{
	if (!owned_n)
		return false;
	for (size_t i = owned_slot(a); owned[i]; i = (i + 1) & (owned_cap - 1))
		if (owned[i] == a)
			return true;
	return false;
}

FS_NOCOV static void owned_add(uintptr_t a)
{
	if (!a || owned_has(a))
		return;
	if (2 * (owned_n + 1) > owned_cap) {
		size_t old_cap = owned_cap, cap = owned_cap ? 2 * owned_cap : 1024;
		uintptr_t *old = owned, *t = calloc(cap, sizeof *t);
		if (!t)
			fail("out of memory for the set of owned objects");
		owned = t;
		owned_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i]) {
				size_t k = owned_slot(old[i]);
				while (owned[k])
					k = (k + 1) & (owned_cap - 1);
				owned[k] = old[i];
			}
		free(old);
	}
	size_t i = owned_slot(a);
	while (owned[i])
		i = (i + 1) & (owned_cap - 1);
	owned[i] = a;
	owned_n++;
}

FS_NOCOV static void owned_del(uintptr_t a)
{
	if (!owned_n)
		return;
	size_t i = owned_slot(a);
	while (owned[i] && owned[i] != a)
		i = (i + 1) & (owned_cap - 1);
	if (!owned[i])
		return;
	owned[i] = 0;
	owned_n--;
	for (size_t j = (i + 1) & (owned_cap - 1); owned[j]; j = (j + 1) & (owned_cap - 1)) {
		size_t k = owned_slot(owned[j]);
		/* Move owned[j] into the hole at i unless its home lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			owned[i] = owned[j];
			owned[j] = 0;
			i = j;
		}
	}
}

FS_NOCOV static void owned_clear(void)
{
	if (owned_n)
		memset(owned, 0, owned_cap * sizeof *owned);
	owned_n = 0;
}

/* p starts a live object (allocated, not freed into the inbox or a
 * quarantine; not tiny) that the session does not own. */
FS_NOCOV static bool foreign(void *p)
{
	gort_object_info oi;
	if (!p || owned_has((uintptr_t)p) || gort_inspect_object(p, &oi) != 0)
		return false;
	return !oi.tiny && oi.base == (uintptr_t)p && (oi.bits & (1u << GORT_PLANE_ALLOC)) &&
	       !(oi.bits & (1u << GORT_PLANE_FREED)) && !(oi.bits & (1u << GORT_PLANE_QUARANTINE));
}

__attribute__((noreturn)) FS_NOCOV static void not_owned(const char *call, void *p)
{
	fail("the shell's %s(%p) reaches an allocated object the session does not own "
	     "(the runtime's own?)",
	     call, p);
}

FS_NOCOV void *fuzz_shell_gort_alloc(size_t size, unsigned flags)
{
	void *p = gort_alloc(size, flags);
	owned_add((uintptr_t)p);
	return p;
}

FS_NOCOV void *fuzz_shell_gort_aligned_alloc(size_t align, size_t size)
{
	void *p = gort_aligned_alloc(align, size);
	owned_add((uintptr_t)p);
	return p;
}

FS_NOCOV void *fuzz_shell_gort_calloc(size_t count, size_t size)
{
	void *p = gort_calloc(count, size);
	owned_add((uintptr_t)p);
	return p;
}

FS_NOCOV void *fuzz_shell_gort_realloc(void *p, size_t size)
{
	if (foreign(p))
		not_owned("gort_realloc", p);
	bool mine = p && owned_has((uintptr_t)p);
	uint64_t errors = gort_error_count();
	void *q = gort_realloc(p, size);
	/* A reported misuse (a damaged canary) leaves the object where it was. */
	if (mine && (q || size == 0) && gort_error_count() == errors)
		owned_del((uintptr_t)p);
	owned_add((uintptr_t)q);
	return q;
}

FS_NOCOV void fuzz_shell_gort_free(void *p)
{
	if (foreign(p))
		not_owned("gort_free", p);
	uint64_t errors = gort_error_count();
	gort_free(p);
	if (gort_error_count() == errors) /* else: reported, and still live */
		owned_del((uintptr_t)p);
}

FS_NOCOV void fuzz_shell_gort_shutdown(void)
{
	gort_shutdown();
	owned_clear();
}

/* ------------------------------------------------------------ folder */

FS_NOCOV static void empty_folder(void)
{
	DIR *d = opendir(folder);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

FS_NOCOV static void remove_folder(void)
{
	empty_folder();
	rmdir(folder);
}

/* Made when the first input needs it (so that runs without file commands,
 * and AFL++'s forked children that never see one, leave nothing behind);
 * removed at exit. */
FS_NOCOV static void make_folder(void)
{
	if (folder[0])
		return;
	const char *tmp = getenv("TMPDIR");
	snprintf(folder, sizeof folder, "%s/gort-fuzz-shell.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(folder))
		fail("mkdtemp %s: %s", folder, strerror(errno));
	atexit(remove_folder);
}

/* ------------------------------------------------------------ setup */

FS_NOCOV static void setup(void)
{
	const char *t = getenv("GORT_FUZZ_TRACE");
	trace = t && *t && *t != '0';
	t = getenv("GORT_FUZZ_THREADS");
	allow_threads = t && *t && *t != '0';
	real_out = stdout;
	real_err = stderr;

	home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0) {
		fprintf(stderr, "fuzz_shell: cannot open the working directory: %s\n",
			strerror(errno));
		abort();
	}

	static char out_buf[1 << 16], err_buf[1 << 16];
	out_sink = fopencookie(NULL, "w", (cookie_io_functions_t){.write = out_write});
	err_sink = fopencookie(NULL, "w", (cookie_io_functions_t){.write = err_write});
	if (!out_sink || !err_sink) {
		fprintf(stderr, "fuzz_shell: fopencookie failed\n");
		abort();
	}
	setvbuf(out_sink, out_buf, _IOFBF, sizeof out_buf);
	setvbuf(err_sink, err_buf, _IOFBF, sizeof err_buf);
	sh_current = &session;
	ready = 1;
}

FUZZ_API FS_NOCOV int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!ready)
		setup();
	return 0;
}

/* What gortsh's main sets up for `--norc --keep-going`, stdin not a tty. */
FS_NOCOV static void session_reset(sh_t *sh)
{
	sh->json = sh->color = sh->echo = sh->quiet = sh->interactive = false;
	sh->keep_going = true;
	sh->cfg = (gort_config){
		.procs = 2, .arena_bytes = ARENA_BYTES, .seed = 1, .harden = GORT_HARDEN_LIGHT};
	sh->file = NULL;
	sh->line = 0;
	sh->depth = 0;
	sh->nerrors = 0;
	sh->failed = sh->quit = sh->gort_error = false;
	sh->js_depth = 0;
	sh->js_comma[0] = false;
}

/* The runtime is up (an init the runtime refused twice leaves it down). */
FS_NOCOV static bool runtime_up(void)
{
	gort_arena_info ai;
	memset(&ai, 0, sizeof ai);
	gort_inspect_arena(&ai);
	return ai.arena_base != 0;
}

FUZZ_API FS_NOCOV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	inputs++;
	char *text = malloc(size + 1);
	if (!text)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';

	estimate e = {.mult = 1, .procs = 2};
	admit(&e, text, size);
	if (e.why) {
		if (trace)
			fprintf(stderr, "fuzz_shell: skipped: %s\n", e.why);
		free(text);
		return -1;
	}
	if (trace)
		fprintf(stderr, "fuzz_shell: cost %llu of %u units%s\n", (unsigned long long)e.cost,
			BUDGET, e.files ? ", in the private folder" : "");

	sh_t *sh = &session;
	session_reset(sh);
	FILE *in = size ? fmemopen(text, size, "r") : NULL;
	FILE *saved_in = stdin;
	if (size && !in)
		fail("fmemopen: %s", strerror(errno));
	if (e.files) {
		make_folder();
		if (chdir(folder) != 0)
			fail("chdir %s: %s", folder, strerror(errno));
	}
	if (!trace) {
		stdout = out_sink;
		stderr = err_sink;
	}
	if (sh_runtime_init(sh) != 0)
		fail("sh_runtime_init: %s", strerror(errno));
	if (in) {
		stdin = in;
		sh_run_file(sh, "-");
		stdin = saved_in;
	}
	fflush(stdout);
	fflush(stderr);
	if (!trace && line_len) /* a last line without its newline */
		out_line_done();
	if (runtime_up()) {
		sh->gort_error = false;
		/* A poke into a freed slot is a use after free the input made on
		 * purpose: gort_check finding it is the check working. */
		if (gort_check() != 0 &&
		    !(e.pokes && sh->gort_error && strstr(sh->gort_msg, "(use after free)")))
			fail("gort_check after the input: %s",
			     sh->gort_error ? sh->gort_msg : "(no report)");
	}
	sh_session_end(sh);
	fflush(stdout);
	fflush(stderr);
	stdout = real_out;
	stderr = real_err;
	if (e.files) {
		if (fchdir(home_fd) != 0)
			fail("fchdir back: %s", strerror(errno));
		empty_folder();
	}
	if (in)
		fclose(in);
	free(text);
	return 0;
}
