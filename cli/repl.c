/*
 * repl.c — the interactive prompt on GNU readline: a history file
 * ($GORTSH_HISTORY, else ~/.gortsh_history, capped at HISTORY_MAX lines),
 * Ctrl-R search (readline's own), a continuation prompt while a { block }
 * is open (the block, once closed, is one history entry), and TAB completion
 * by each command's grammar: its sub-commands and keywords, then the kind of
 * argument it takes ($N values and names, Gs, Ps, funcs, channels, mutexes,
 * wait groups, files).
 *
 * Ctrl-C is the shell's, as in bash or python: at the prompt it abandons
 * the line (or the open block), during `run` or `step N` it stops them at
 * the next step boundary (session.c's sh_interrupted, which the commands
 * poll). So lines are read through readline's callback interface: a
 * signal wakes the select() it waits in, which a blocking readline() would
 * restart instead.
 *
 * Invariants: errors never end the session here; only quit/exit/Ctrl-D on
 * an empty `gortsh>` line do (Ctrl-D at `...>` abandons the block).
 */
#define _GNU_SOURCE
#include "repl.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define HISTORY_MAX 1000

static char history_path[4096];

static void history_open(void)
{
	const char *env = getenv("GORTSH_HISTORY"), *home = getenv("HOME");
	if (env && *env)
		snprintf(history_path, sizeof history_path, "%s", env);
	else if (home)
		snprintf(history_path, sizeof history_path, "%s/.gortsh_history", home);
	using_history();
	stifle_history(HISTORY_MAX);
	/* A { block } typed over several lines is one entry: in the file each
	 * entry follows a "#TIME" line, and the lines up to the next one are
	 * read back as one entry (readline's multiline entries). */
	history_comment_char = '#';
	history_write_timestamps = 1;
	history_multiline_entries = 1;
	if (history_path[0])
		read_history(history_path);
}

static void history_save(void)
{
	if (!history_path[0])
		return;
	write_history(history_path);
	history_truncate_file(history_path, HISTORY_MAX);
}

/* ---------------------------------------------------------- completion */

/* TAB completes the word under the cursor from what the grammar allows
 * there: the line up to it is split into statements (at ';', '{', '}'),
 * each brace remembering whether it holds commands, a G's body or a
 * select's cases, and the words of the current statement choose the kind
 * of argument. The candidates are gathered once per TAB and handed out one
 * by one, so every name appears in the TAB-TAB list. */

enum { K_CMD = 1, K_VALUE = 2, K_G = 4, K_P = 8, K_FUNC = 16, K_CHAN = 32, K_MUTEX = 64,
       K_WG = 128, K_FILE = 256 };
enum { CTX_CMD, CTX_BODY, CTX_SELECT };

#define COMPL_WORDS 16

typedef struct want {
	unsigned kinds;
	const char *const *words; /* keywords, NULL-ended */
} want;

static const char *const w_body[] = {"alloc", "free", "yield", "park", "ready", "spawn", "work",
				      "syscall", "repeat", "exit", "chan", "send", "recv", "close",
				      "select", "lock", "unlock", "wg", "sleep", "let", "if", NULL};
static const char *const w_select[] = {"recv", "send", "default", NULL};
static const char *const w_on[] = {"on", NULL};
static const char *const w_as[] = {"as", NULL};
static const char *const w_max[] = {"max=", NULL};
static const char *const w_wg[] = {"add", "done", "wait", NULL};
static const char *const w_global[] = {"global", NULL};
static const char *const w_class[] = {"class=", NULL};
static const char *const w_svg[] = {"svg", NULL};
static const char *const w_trace[] = {"start", "stop", NULL};
static const char *const w_set[] = {"color", "json", "echo", NULL};
static const char *const w_onoff[] = {"on", "off", NULL};

/* dump's second word: what its sub-command takes. */
static want dump_arg(const char *sub)
{
	if (!strcmp(sub, "span") || !strcmp(sub, "bitmap"))
		return (want){K_VALUE, NULL};
	if (!strcmp(sub, "mcache"))
		return (want){K_P, NULL};
	if (!strcmp(sub, "runq"))
		return (want){K_P, w_global};
	if (!strcmp(sub, "chan"))
		return (want){K_CHAN, NULL};
	if (!strcmp(sub, "spans"))
		return (want){0, w_class};
	return (want){0, NULL};
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The n words w[0..n) of the statement are complete; what may come next. */
static want next_arg(char w[][64], int n, int ctx)
{
	if (n == 0)
		return ctx == CTX_BODY	   ? (want){0, w_body}
		       : ctx == CTX_SELECT ? (want){0, w_select}
					   : (want){K_CMD, NULL};
	const char *c = w[0], *prev = w[n - 1];
	if (is(c, "try") && ctx == CTX_CMD)
		return next_arg(w + 1, n - 1, ctx);
	if (n > 1 && is(prev, "as"))
		return (want){0, NULL}; /* a new name */
	if (n > 1 && is(prev, "on") && (is(c, "spawn") || is(c, "step")))
		return (want){K_P, NULL};
	if (is(c, "spawn"))
		return n == 1 ? (want){K_FUNC, w_on} : n == 3 ? (want){K_FUNC, NULL} : (want){0, NULL};
	if (is(c, "free") || is(c, "peek") || is(c, "poke") || is(c, "realloc"))
		return n == 1 ? (want){K_VALUE, NULL}
		       : (n == 3 && is(c, "realloc")) ? (want){0, w_as} : (want){0, NULL};
	if (is(c, "ready"))
		return (want){n == 1 ? K_G : 0, NULL};
	if (is(c, "send") || is(c, "close"))
		return (want){n == 1 ? K_CHAN : 0, NULL};
	if (is(c, "recv"))
		return n == 1 ? (want){K_CHAN, NULL} : n == 2 ? (want){0, w_as} : (want){0, NULL};
	if (is(c, "lock") || is(c, "unlock"))
		return (want){n == 1 ? K_MUTEX : 0, NULL};
	if (is(c, "wg"))
		return n == 1 ? (want){K_WG, w_wg}
		       : (n == 2 && !is(w[1], "add") && !is(w[1], "done") && !is(w[1], "wait"))
			       ? (want){0, w_wg}
			       : (want){0, NULL};
	if (ctx != CTX_CMD)
		return is(c, "alloc") && n >= 2 ? (want){0, sh_find_command("alloc")->subs}
						: (want){0, NULL};
	if (is(c, "help"))
		return (want){n == 1 ? K_CMD : 0, NULL};
	if (is(c, "init"))
		return (want){0, sh_find_command("init")->subs};
	if (is(c, "alloc") || is(c, "calloc"))
		return (want){0, n >= (is(c, "alloc") ? 2 : 3) ? sh_find_command(c)->subs : NULL};
	if (is(c, "step"))
		return (want){0, w_on};
	if (is(c, "run"))
		return (want){0, n == 1 ? w_max : NULL};
	if (is(c, "dump"))
		return n == 1 ? (want){0, sh_find_command("dump")->subs}
		       : n == 2 ? dump_arg(w[1]) : (want){0, NULL};
	if (is(c, "export"))
		return n == 1 ? (want){0, w_svg} : (want){n == 2 ? K_FILE : 0, NULL};
	if (is(c, "trace"))
		return n == 1 ? (want){0, w_trace} : (want){n == 2 && is(w[1], "start") ? K_FILE : 0, NULL};
	if (is(c, "set"))
		return (want){0, n == 1 ? w_set : n == 2 ? w_onoff : NULL};
	if (is(c, "source"))
		return (want){n == 1 ? K_FILE : 0, NULL};
	return (want){0, NULL};
}

/* The context a '{' opens, from the statement that opens it. */
static int brace_ctx(char w[][64], int n, int ctx)
{
	if (n > 0 && is(w[0], "try"))
		return brace_ctx(w + 1, n - 1, ctx);
	if (n > 0 && (is(w[0], "spawn") || is(w[0], "func")))
		return CTX_BODY;
	if (n > 0 && is(w[0], "select"))
		return CTX_SELECT;
	return ctx == CTX_SELECT ? CTX_BODY : ctx; /* repeat, if: as around them */
}

/* Splits line[0..end) into the current statement's words and its context. */
static want parse_line(const char *line, int end)
{
	static char w[COMPL_WORDS][64];
	int ctx[SH_MAX_BRACE_DEPTH + 1] = {CTX_CMD}, depth = 0, n = 0;
	for (int i = 0; i < end;) {
		char ch = line[i];
		if (ch == ' ' || ch == '\t') {
			i++;
		} else if (ch == ';' || ch == '{' || ch == '}') {
			if (ch == '{' && depth < SH_MAX_BRACE_DEPTH) {
				depth++;
				ctx[depth] = brace_ctx(w, n, ctx[depth - 1]);
			} else if (ch == '}' && depth > 0) {
				depth--;
			}
			n = 0;
			i++;
		} else {
			int b = i;
			bool quoted = false;
			while (i < end && (quoted || !strchr(" \t;{}", line[i])))
				quoted ^= line[i++] == '"';
			if (n < COMPL_WORDS)
				snprintf(w[n++], sizeof w[0], "%.*s", i - b, line + b);
		}
	}
	return next_arg(w, n, ctx[depth]);
}

/* The candidates of one TAB, every one (the prefix filters them later). */
static char **cands;
static size_t ncands, capcands;

static void cand(const char *s)
{
	if (ncands == capcands) {
		size_t cap = capcands ? 2 * capcands : 64;
		char **v = realloc(cands, cap * sizeof *v);
		if (!v)
			return;
		cands = v;
		capcands = cap;
	}
	char *d = strdup(s);
	if (d)
		cands[ncands++] = d;
}

static void cands_values(sh_t *sh)
{
	char buf[SH_NAME_MAX + 32];
	for (size_t k = 1; k < sh->nvals; k++) {
		sh_value *v = val_get(sh, k);
		if (!v || !v->live)
			continue;
		snprintf(buf, sizeof buf, "$%zu", k);
		cand(buf);
		if (v->name[0])
			cand(val_label(v, buf, sizeof buf));
	}
}

static void cands_gs(void)
{
	static gort_g_info gs[1024];
	char buf[32];
	size_t n = gort_inspect_gs(gs, sizeof gs / sizeof *gs);
	for (size_t i = 0; i < n && i < sizeof gs / sizeof *gs; i++) {
		snprintf(buf, sizeof buf, "g%lld", (long long)gs[i].goid);
		cand(buf);
	}
}

static void cands_ps(void)
{
	static gort_sched_info si;
	char buf[16];
	gort_inspect_sched(&si);
	for (unsigned p = 0; p < si.gomaxprocs && p < SH_MAX_PROCS_SHOWN; p++) {
		snprintf(buf, sizeof buf, "p%u", p);
		cand(buf);
	}
}

static void cands_sync(unsigned kinds)
{
	char label[SH_NAME_MAX + 8];
	int kind;
	for (size_t i = 0; sync_label_at(i, &kind, label, sizeof label); i++)
		if ((kind == SYNC_CHAN && (kinds & K_CHAN)) || (kind == SYNC_MUTEX && (kinds & K_MUTEX)) ||
		    (kind == SYNC_WG && (kinds & K_WG)))
			cand(label);
}

static void gather(sh_t *sh, want wt)
{
	while (ncands)
		free(cands[--ncands]);
	for (size_t i = 0; wt.words && wt.words[i]; i++)
		cand(wt.words[i]);
	if (wt.kinds & K_CMD)
		for (const sh_cmd *c = sh_commands; c->name; c++)
			cand(c->name);
	if (wt.kinds & K_VALUE)
		cands_values(sh);
	if (wt.kinds & K_G)
		cands_gs();
	if (wt.kinds & K_P)
		cands_ps();
	if (wt.kinds & K_FUNC)
		for (size_t i = 0; func_name(sh, i); i++)
			cand(func_name(sh, i));
	if (wt.kinds & (K_CHAN | K_MUTEX | K_WG))
		cands_sync(wt.kinds);
}

static char *next_match(const char *text, int state)
{
	static size_t i;
	size_t n = strlen(text);
	if (state == 0)
		i = 0;
	while (i < ncands)
		if (strncmp(cands[i++], text, n) == 0)
			return strdup(cands[i - 1]);
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	want wt = parse_line(rl_line_buffer, start);
	gather(sh_current, wt);
	/* File names only where a file is asked for. */
	rl_attempted_completion_over = !(wt.kinds & K_FILE);
	return rl_completion_matches(text, next_match);
}

/* ------------------------------------------------------ reading a line */

/* Ctrl-C wakes the prompt through a pipe (the self-pipe trick): a flag
 * alone could be set just before select() starts waiting, or on another
 * thread (an M in threaded mode), and then nothing would wake it. */
static int intr_pipe[2] = {-1, -1};

static void on_sigint(int sig)
{
	(void)sig;
	int saved = errno;
	sh_interrupted = 1;
	if (intr_pipe[1] >= 0)
		(void)!write(intr_pipe[1], "", 1);
	errno = saved;
}

static void drain_intr_pipe(void)
{
	char buf[64];
	while (intr_pipe[0] >= 0 && read(intr_pipe[0], buf, sizeof buf) > 0)
		;
}

/* Our handler, not readline's (which would end the process); no
 * SA_RESTART, so a blocking call of a command returns too. */
static void catch_sigint(void)
{
	if (pipe2(intr_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		intr_pipe[0] = intr_pipe[1] = -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	rl_catch_signals = 0;
}

enum { READ_LINE, READ_EOF, READ_INTERRUPT };

static char *read_got;
static bool read_done;

static void on_line(char *line)
{
	read_got = line;
	read_done = true;
	rl_callback_handler_remove();
}

/* Ctrl-C while typing: readline forgets the line and gives the terminal
 * back, as after its own signal handling. */
static int read_interrupted(void)
{
	rl_free_line_state();
	rl_callback_sigcleanup();
	rl_cleanup_after_signal();
	rl_callback_handler_remove();
	fputs("^C\n", stdout);
	fflush(stdout);
	return READ_INTERRUPT;
}

/* One line into *line (readline's malloc'd string): READ_LINE, READ_EOF
 * (Ctrl-D on an empty line, or the end of input) or READ_INTERRUPT. */
static int read_line(const char *prompt, char **line)
{
	read_got = NULL;
	read_done = false;
	sh_interrupted = 0; /* an earlier Ctrl-C has done its work */
	drain_intr_pipe();
	rl_callback_handler_install(prompt, on_line);
	int fd = rl_instream ? fileno(rl_instream) : STDIN_FILENO;
	while (!read_done) {
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(fd, &fds);
		if (intr_pipe[0] >= 0)
			FD_SET(intr_pipe[0], &fds);
		int top = fd > intr_pipe[0] ? fd : intr_pipe[0];
		int r = sh_interrupted ? 0 : select(top + 1, &fds, NULL, NULL, NULL);
		if (sh_interrupted) {
			drain_intr_pipe();
			return read_interrupted();
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rl_callback_handler_remove();
			return READ_EOF;
		}
		if (FD_ISSET(fd, &fds))
			rl_callback_read_char();
	}
	*line = read_got;
	return read_got ? READ_LINE : READ_EOF;
}

/* --------------------------------------------------------------- loop */

/* Braces left open by text of one or more lines (a block recalled from
 * history holds its newlines). */
static int text_brace_delta(const char *s)
{
	int depth = sh_brace_delta(s);
	while ((s = strchr(s, '\n')) != NULL)
		depth += sh_brace_delta(++s);
	return depth;
}

/* Ctrl-D at `...>`: the block is dropped, the session goes on. */
static void abandon_block(int depth)
{
	printf("\n(Ctrl-D: the open block was abandoned, %d brace%s unclosed)\n", depth,
	       depth == 1 ? "" : "s");
}

int repl_run(sh_t *sh)
{
	history_open();
	rl_readline_name = "gortsh";
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t;{}";
	if (!sh->quiet)
		printf("gortsh %s — Go's allocator and scheduler, step by step. "
		       "help lists the commands.\n",
		       GORT_VERSION_STRING);
	char *pending = NULL;
	size_t plen = 0;
	int depth = 0;
	catch_sigint();
	while (!sh->quit) {
		char *line = NULL;
		int r = read_line(plen ? "...> " : "gortsh> ", &line);
		if (r == READ_EOF && !plen)
			break;
		if (r != READ_LINE) { /* Ctrl-C, or Ctrl-D inside a block */
			if (r == READ_EOF)
				abandon_block(depth);
			plen = 0;
			depth = 0;
			continue;
		}
		size_t n = strlen(line);
		char *p = realloc(pending, plen + n + 2);
		if (!p) {
			free(line);
			break;
		}
		pending = p;
		if (plen)
			pending[plen++] = '\n';
		memcpy(pending + plen, line, n + 1);
		plen += n;
		depth += text_brace_delta(line);
		free(line);
		if (depth > 0)
			continue;
		depth = 0;
		if (*pending) /* the whole block, as typed: Up recalls all of it */
			add_history(pending);
		sh->file = NULL;
		sh_run_line(sh, pending);
		plen = 0;
	}
	free(pending);
	if (!sh->quit)
		putchar('\n');
	history_save();
	return 0;
}
