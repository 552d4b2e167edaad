/*
 * shell.h — gortsh's internal interface: the shell state, the tokens a
 * command line is split into, the command table, output (text or JSON,
 * colour or not), errors, and the values ($N) and names a session binds.
 *
 * gortsh uses only gort.h and gort_inspect.h: what it shows is what any
 * program could see. Its own memory comes from libc, never from the gort
 * heap, so the arena it draws holds exactly what the session allocated.
 *
 * Invariants:
 *  - every command prints through out_* / js_*, so --json gives exactly one
 *    JSON object per line per command (errors included) and text mode never
 *    mixes in JSON;
 *  - a failing command calls sh_error once and returns -1; the runtime is
 *    left as the failed call left it (gort's handler returns without
 *    touching the heap);
 *  - a value ($N) keeps its number for the whole session (init resets it);
 *    names point at values.
 */
#ifndef GORTSH_SHELL_H
#define GORTSH_SHELL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gort.h"
#include "gort_inspect.h"

#define SH_MAX_TOKENS 64
#define SH_MAX_NESTING 16      /* source FILE inside source FILE ... */
#define SH_MAX_BRACE_DEPTH 32  /* spawn { repeat 2 { ... } } */
#define SH_NAME_MAX 32
#define SH_DEFAULT_ARENA ((size_t)64 << 20)
#define SH_DEFAULT_PROCS 2
#define SH_HINT_BASE ((uintptr_t)0xc000000000)
#define SH_MAX_PROCS_SHOWN 256
/* What a G body's interpreter needs, with room; sanitizers' frames and
 * printf interceptors take several times more. */
#if defined(GORT_SAN_ADDRESS) || defined(GORT_SAN_THREAD)
#define SH_MIN_STACK ((uint64_t)64 << 10)
#define SH_MIN_STACK_TEXT "64K"
#else
#define SH_MIN_STACK ((uint64_t)16 << 10)
#define SH_MIN_STACK_TEXT "16K"
#endif
#define SH_ACTIONS_MAX 64  /* action lines shown per step; the rest are counted */
#define SH_ACTIONS_JSON_MAX 1000000u /* in JSON every line is kept, up to this many */
#define SH_VAL_BLOCK 256
#define SH_VAL_BLOCKS 4096 /* at most a million values per session */

/* ------------------------------------------------------------ tokens */

enum sh_tok_kind { TOK_WORD, TOK_STRING, TOK_BLOCK };

typedef struct sh_tok {
	int kind;       /* enum sh_tok_kind */
	char *text;     /* word, unquoted string, or a block's inner text */
} sh_tok;

/* One command's tokens; text points into a buffer the splitter owns. */
typedef struct sh_args {
	int argc;
	sh_tok argv[SH_MAX_TOKENS];
} sh_args;

/* Split line into commands at top-level ';' and newlines. For each command,
 * calls fn(ctx, args). Returns 0, or -1 with *err set to a message (an
 * unbalanced brace or quote, too many tokens, nesting too deep); the
 * commands before the bad one have run already. A '#' outside quotes and
 * braces starts a comment. */
typedef int (*sh_cmd_fn)(void *ctx, sh_args *args);
int sh_split(const char *line, sh_cmd_fn fn, void *ctx, const char **err);

/* ------------------------------------------------------------ values */

typedef struct sh_value {
	uintptr_t addr;
	size_t size;        /* requested */
	bool live;          /* not freed through the shell */
	char name[SH_NAME_MAX]; /* "" if unnamed */
	int64_t owner;      /* the G whose body bound it (0: the shell): its name is that G's */
} sh_value;

/* ------------------------------------------------------------ state */

/* A file being run, and where it was sourced from: a chain on the C
 * stack, innermost first, for the include chain of an error. */
typedef struct sh_frame {
	const char *file;       /* the file that ran `source`; NULL: the prompt */
	unsigned line;          /* the line of that `source` */
	struct sh_frame *up;
} sh_frame;

typedef struct sh_prog sh_prog; /* a compiled G body (body.c) */
typedef struct sh_func sh_func; /* func NAME { ... } (body.c) */

typedef struct sh {
	/* Options. */
	bool json, color, echo, keep_going, quiet, interactive;
	gort_config cfg;
	/* Where the current line came from, for "FILE:LINE: error: ...". */
	const char *file;
	unsigned line;
	int depth;          /* source nesting */
	sh_frame *from;     /* where the current file was sourced from (NULL: top) */
	bool file_is_path;  /* file names a file on disk: `source` resolves from its folder */
	/* Results. */
	unsigned nerrors;   /* commands that failed */
	bool failed;        /* the current command failed */
	bool quit;
	/* Values and names: blocks of SH_VAL_BLOCK that never move, so a G may
	 * hold a value while another G adds one (threaded mode). */
	sh_value *vblocks[SH_VAL_BLOCKS];
	size_t nvals;       /* $1 .. $(nvals-1) exist */
	/* Compiled G bodies, freed at init. */
	sh_prog **progs;
	size_t nprogs, capprogs;
	/* Names of bodies (func NAME { ... }), forgotten at init. */
	sh_func *funcs;
	size_t nfuncs, capfuncs;
	/* What Gs did while the current step ran (body.c appends). */
	char *actions;
	size_t nactions, capactions;
	unsigned action_lines;  /* lines kept this step (SH_ACTIONS_MAX; JSON: _JSON_MAX) */
	uint64_t actions_dropped; /* lines past the cap, counted */
	/* gort's error handler records here (gort.h: the heap is unchanged). */
	bool gort_error;
	int gort_kind;      /* gort_error_kind of the recorded misuse */
	char gort_msg[256];
	/* trace start FILE (export.c). */
	FILE *trace;
	char *trace_path;
	uint64_t trace_seq;   /* events before the trace started */
	bool trace_first;
	/* JSON writer state. */
	int js_depth;
	bool js_comma[16];
} sh_t;

extern sh_t *sh_current; /* the one session: gort's handler and G bodies reach it */
/* Set by Ctrl-C at the prompt (repl.c), cleared at the next prompt: `run`
 * and `step N` stop at the next step boundary, threaded Gs' bodies at
 * their next step, a line's remaining commands and a source'd file's
 * remaining lines do not run. */
extern volatile sig_atomic_t sh_interrupted;

/* Start or restart the runtime with sh->cfg; drops values, names, bodies. */
int sh_runtime_init(sh_t *sh);
/* Close the trace, stop every G, shut the runtime down, forget everything. */
void sh_session_end(sh_t *sh);
/* Run one line (commands separated by ';'). 0, or -1 if any command failed. */
int sh_run_line(sh_t *sh, const char *line);
/* Run every line of a file (source; "-" is standard input). */
int sh_run_file(sh_t *sh, const char *path);
/* Run text as if it were a file called name (-c): errors say name:LINE. */
int sh_run_text(sh_t *sh, const char *name, const char *text);
/* `source PATH` from the current file: a relative PATH is taken from the
 * sourcing file's folder (as `.` in sh), from . at the prompt, in -c and
 * on standard input. Returns path or buf. */
const char *sh_source_path(const sh_t *sh, const char *path, char *buf, size_t n);

/* ------------------------------------------------------------ output */

/* Text: printf to stdout (only when not --json). */
void out(sh_t *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An ANSI colour sequence, or "" without colour: SH_C_* */
enum { SH_C_RESET, SH_C_BOLD, SH_C_DIM, SH_C_RED, SH_C_GREEN, SH_C_YELLOW, SH_C_BLUE,
       SH_C_MAGENTA, SH_C_CYAN };
const char *col(const sh_t *sh, int c);
/* A 256-colour background for span colour i (dump arena), "" without colour. */
const char *col_bg(const sh_t *sh, unsigned i, char *buf, size_t n);

/* JSON: one object per command. js_begin opens {"cmd":NAME; fields follow;
 * js_end closes it and ends the line. Nested arrays and objects: pass a key
 * inside an object, NULL inside an array. */
void js_begin(sh_t *sh, const char *cmd);
void js_end(sh_t *sh);
void js_str(sh_t *sh, const char *key, const char *val);
void js_int(sh_t *sh, const char *key, int64_t v);
void js_uint(sh_t *sh, const char *key, uint64_t v);
void js_addr(sh_t *sh, const char *key, uintptr_t v); /* a string "0x..." */
void js_bool(sh_t *sh, const char *key, bool v);
void js_null(sh_t *sh, const char *key);
void js_array(sh_t *sh, const char *key);
void js_array_end(sh_t *sh);
void js_object(sh_t *sh, const char *key);
void js_object_end(sh_t *sh);

/* "0xc000002000", or "arena+0x2000" when the arena is not at the fixed
 * hint (so outputs compare across machines). buf >= 32 bytes. */
const char *fmt_addr(uintptr_t addr, char *buf);
/* "24 B", "8 KiB", "1.5 MiB" */
const char *fmt_size(uint64_t n, char *buf);

/* ------------------------------------------------------------ errors */

/* Reports "error: ..." (with FILE:LINE: in a batch) and marks the command
 * failed. Returns -1 for `return sh_error(...)`. */
int sh_error(sh_t *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* If gort reported a misuse during the command, print it as an error and
 * return -1; else 0. */
int sh_gort_error(sh_t *sh);
void sh_gort_handler(const gort_error *err, void *ctx);

/* ------------------------------------------------------------ parsing */

/* Open braces a line leaves unclosed (negative if it closes more), outside
 * strings and comments: how a block spans lines. */
int sh_brace_delta(const char *line);

/* Decimal or 0x hex, with an optional K/M/G (KiB ...) suffix for sizes. */
bool parse_u64(const char *s, uint64_t *out);
bool parse_size(const char *s, uint64_t *out);
/* "light", "default" or "paranoid" into a gort_harden preset; 0, or -1. */
int sh_parse_harden(const char *s, int *out);
/* "key=value": returns value if s starts with key=, else NULL. */
const char *kv(const char *s, const char *key);
/* $N, a name, 0x..., arena+0x...: the address, and the value if it is one. */
bool parse_ref(sh_t *sh, const char *s, uintptr_t *addr, sh_value **val);
/* pN → N: parse_p_word for any N, parse_p only for a P that exists now;
 * gN → N. */
bool parse_p_word(const char *s, uint64_t *v);
bool parse_p(sh_t *sh, const char *s, unsigned *p);
/* spawn [on pN] { BODY } | FUNC, at the prompt or in a body: the body's
 * or func's token and the pN word (NULL without `on`, not yet parsed);
 * NULL if the words have another shape. */
const sh_tok *parse_spawn(const sh_args *a, const char **p_word);
bool parse_g(const char *s, int64_t *g);

/* A new value; returns its number K ($K), 0 if there is no room. The
 * shell's (owner 0); val_add_owned for a G body's, whose name is that G's
 * own, as a Go local is: binding it moves only that G's name. */
size_t val_add(sh_t *sh, uintptr_t addr, size_t size, const char *name);
size_t val_add_owned(sh_t *sh, uintptr_t addr, size_t size, const char *name, int64_t owner);
/* $K, NULL if it does not exist. */
sh_value *val_get(sh_t *sh, uint64_t k);
/* Forget every value (init). */
void vals_clear(sh_t *sh);
/* NAME as the prompt sees it: the shell's own NAME, else `gN.NAME`, else
 * the NAME of the one G that bound it (NULL if none or several). */
sh_value *val_by_name(sh_t *sh, const char *name);
/* NAME exactly as owner bound it (a body's lookup: its own, then 0's). */
sh_value *val_lookup(sh_t *sh, int64_t owner, const char *name);
/* The Gs (up to max) that bound NAME, newest first; how many there are. */
size_t val_owners(sh_t *sh, const char *name, int64_t *owners, size_t max);
/* "w" for the shell's, "g1.w" for a G's: how vals and errors write it. */
const char *val_label(const sh_value *v, char *buf, size_t n);
/* The newest live value at addr, NULL if none. */
sh_value *val_by_addr(sh_t *sh, uintptr_t addr);
/* Names must start with a letter and be [A-Za-z0-9_]. */
bool valid_name(const char *s);

/* ------------------------------------------------------------ commands */

typedef struct sh_cmd {
	const char *name;
	const char *usage;
	const char *summary;
	const char *help;
	const char *example;
	const char *const *subs; /* sub-commands or keywords for completion, NULL-ended */
	int (*run)(sh_t *sh, sh_args *a);
} sh_cmd;

extern const sh_cmd sh_commands[];
const sh_cmd *sh_find_command(const char *name);

/* Handlers (one file per group). */
int cmd_init(sh_t *sh, sh_args *a);
int cmd_alloc(sh_t *sh, sh_args *a);
int cmd_calloc(sh_t *sh, sh_args *a);
int cmd_realloc(sh_t *sh, sh_args *a);
int cmd_free(sh_t *sh, sh_args *a);
int cmd_peek(sh_t *sh, sh_args *a);
int cmd_poke(sh_t *sh, sh_args *a);
int cmd_release(sh_t *sh, sh_args *a);
int cmd_flush(sh_t *sh, sh_args *a);
int cmd_stats(sh_t *sh, sh_args *a);
int cmd_vals(sh_t *sh, sh_args *a);
int cmd_spawn(sh_t *sh, sh_args *a);
int cmd_func(sh_t *sh, sh_args *a);
int cmd_step(sh_t *sh, sh_args *a);
int cmd_run(sh_t *sh, sh_args *a);
int cmd_ready(sh_t *sh, sh_args *a);
int cmd_procs(sh_t *sh, sh_args *a);
int cmd_reseed(sh_t *sh, sh_args *a);
int cmd_gs(sh_t *sh, sh_args *a);
int cmd_ps(sh_t *sh, sh_args *a);
int cmd_ms(sh_t *sh, sh_args *a);
int cmd_schedtrace(sh_t *sh, sh_args *a);
int cmd_scheddetail(sh_t *sh, sh_args *a);
int cmd_dump(sh_t *sh, sh_args *a);
int cmd_export(sh_t *sh, sh_args *a);
int cmd_trace(sh_t *sh, sh_args *a);
int cmd_check(sh_t *sh, sh_args *a);
int cmd_set(sh_t *sh, sh_args *a);
int cmd_echo(sh_t *sh, sh_args *a);
int cmd_source(sh_t *sh, sh_args *a);
int cmd_help(sh_t *sh, sh_args *a);
int cmd_try(sh_t *sh, sh_args *a);
int cmd_repeat(sh_t *sh, sh_args *a);
int cmd_quit(sh_t *sh, sh_args *a);

/* trace (export.c): called after each step and run with the new events. */
void trace_events(sh_t *sh);
void trace_close(sh_t *sh);

/* body.c: compile a G body; NULL and *err on a syntax error. */
sh_prog *prog_compile(sh_t *sh, const char *text, const char **err);
void prog_free(sh_prog *p);
/* The steps of a body at its top level (not counting nested blocks). */
size_t prog_steps(const sh_prog *p);
/* func NAME { ... }: the program bound to NAME (NULL if none); bind NAME
 * (0, or -1 out of memory); forget every name (init). A func's program must
 * also be kept with the session's programs, which own it. */
sh_prog *func_find(sh_t *sh, const char *name);
int func_define(sh_t *sh, const char *name, sh_prog *prog);
void funcs_clear(sh_t *sh);
const char *func_name(const sh_t *sh, size_t i);
/* Why gort_ready(g) failed: "no goroutine g9 (...)", "g3 has exited",
 * "g2 is runnable, not parked" (cmd_sched.c; buf >= 80 bytes). */
const char *sh_not_parked(int64_t g, char *buf, size_t n);
/* Start a G running prog (on P p's runnext: step mode only); its goid or -1. */
int64_t prog_spawn(sh_t *sh, sh_prog *prog);
int64_t prog_spawn_on(sh_t *sh, sh_prog *prog, unsigned p);
/* Misuse found by gort while a body ran one of its steps: the error
 * handler writes here (per thread) instead of failing the shell command. */
typedef struct sh_capture {
	bool hit;
	char msg[256];
} sh_capture;
extern __thread sh_capture *sh_body_capture;
/* Body steps that failed since the last step/run reported them. */
extern unsigned sh_body_errors;

/* Append to the step's action log (thread-safe). */
void actions_add(sh_t *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the log over and start a new one: its lines (malloc'd, the caller
 * frees; NULL if none) and how many more were only counted (text mode's
 * summary; in JSON only past SH_ACTIONS_JSON_MAX). */
char *actions_take(sh_t *sh, uint64_t *dropped);
/* How text mode ends a summarised log: "... and N more ...". */
#define SH_MORE_FMT "... and %llu more (--json or set json on lists every one)"
#define SH_MORE_JSON "did_dropped" /* JSON's count of lines past SH_ACTIONS_JSON_MAX */

#endif /* GORTSH_SHELL_H */
