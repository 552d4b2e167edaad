/*
 * repl.c — the interactive prompt on GNU readline: a history file
 * ($GORTSH_HISTORY, else ~/.gortsh_history, capped at HISTORY_MAX lines),
 * Ctrl-R search (readline's own), a continuation prompt while a { block }
 * is open (the block, once closed, is one history entry), and TAB completion: the first word from the command table; then
 * that command's sub-commands and keywords, $N values and names.
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

/* The words that may follow what is already on the line. */
static const sh_cmd *completing_for;
static bool completing_command;

static char *next_match(const char *text, int state)
{
	static size_t i, k;
	static char buf[64];
	size_t n = strlen(text);
	sh_t *sh = sh_current;
	if (state == 0)
		i = k = 0;
	if (completing_command) {
		for (const sh_cmd *c; (c = &sh_commands[i])->name; i++)
			if (strncmp(c->name, text, n) == 0 && ++i)
				return strdup(c->name);
		return NULL;
	}
	if (completing_for && completing_for->subs)
		for (const char *w; (w = completing_for->subs[i]); i++)
			if (strncmp(w, text, n) == 0 && ++i)
				return strdup(w);
	/* Then values: $N and names. */
	for (k = k ? k : 1; k < sh->nvals; k++) {
		sh_value *v = val_get(sh, k);
		if (!v)
			break;
		snprintf(buf, sizeof buf, "$%zu", k);
		if (strncmp(buf, text, n) == 0 && ++k)
			return strdup(buf);
		if (v->name[0] && strncmp(v->name, text, n) == 0 && ++k)
			return strdup(v->name);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	char first[64] = "";
	const char *line = rl_line_buffer;
	int b = 0;
	while (b < start && (line[b] == ' ' || line[b] == '\t'))
		b++;
	completing_command = b == start;
	if (!completing_command) {
		int e = b;
		while (e < start && line[e] != ' ' && line[e] != '\t' && e - b < 63)
			e++;
		memcpy(first, line + b, (size_t)(e - b));
		first[e - b] = '\0';
	}
	completing_for = sh_find_command(first);
	/* help COMMAND completes command names. */
	if (completing_for && strcmp(first, "help") == 0)
		completing_command = true;
	rl_attempted_completion_over = 1; /* no file names unless asked */
	if (completing_for && (strcmp(first, "source") == 0 || strcmp(first, "export") == 0))
		rl_attempted_completion_over = 0;
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
