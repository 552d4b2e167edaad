/*
 * session.c — a gortsh session: the runtime it drives (started, restarted
 * by init, shut down at the end), and running a line or a file, which the
 * prompt, batches, `source` and the shell's fuzz harness all share.
 *
 * Invariants: sh_current is the one session (gort's error handler and the
 * G bodies reach it); a line's commands run in order and the first failure
 * stops a batch unless --keep-going; init and the end of a session leave
 * no G running, no value, no compiled body or func and no open trace
 * behind.
 */
#define _GNU_SOURCE
#include "shell.h"
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sh_t *sh_current;
volatile sig_atomic_t sh_interrupted;

/* ------------------------------------------------------------- runtime */

static void progs_clear(sh_t *sh)
{
	for (size_t i = 0; i < sh->nprogs; i++)
		prog_free(sh->progs[i]);
	free(sh->progs);
	sh->progs = NULL;
	sh->nprogs = sh->capprogs = 0;
	funcs_clear(sh);
}

/* Threaded mode: Gs may be running; let them finish or park first. */
static void quiesce(sh_t *sh)
{
	gort_sched_info si;
	gort_inspect_sched(&si);
	if (!si.threaded)
		return;
	gort_run();
	sh->gort_error = false; /* a deadlock report: parked Gs are simply dropped */
}

void sh_session_end(sh_t *sh)
{
	trace_close(sh);
	quiesce(sh);
	gort_shutdown();
	sync_clear();
	progs_clear(sh);
	vals_clear(sh);
	free(actions_take(sh, NULL));
}

int sh_runtime_init(sh_t *sh)
{
	sh_session_end(sh);
	gort_set_error_handler(sh_gort_handler, sh);
	if (gort_init(&sh->cfg) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ commands */

static void echo_command(sh_t *sh, const sh_args *a)
{
	if (sh->json)
		return;
	fputs("> ", stdout);
	for (int i = 0; i < a->argc; i++) {
		const sh_tok *t = &a->argv[i];
		const char *sep = i ? " " : "";
		if (t->kind == TOK_BLOCK)
			printf("%s{%s}", sep, t->text);
		else if (t->kind == TOK_STRING)
			printf("%s\"%s\"", sep, t->text);
		else
			printf("%s%s", sep, t->text);
	}
	putchar('\n');
}

static int run_command(void *ctx, sh_args *a)
{
	sh_t *sh = ctx;
	if (sh->quit || sh_interrupted)
		return -1;
	if (sh->echo)
		echo_command(sh, a);
	sh->failed = false;
	sh->gort_error = false;
	sh_body_errors = 0;
	const sh_cmd *c = a->argv[0].kind == TOK_WORD ? sh_find_command(a->argv[0].text) : NULL;
	if (!c)
		sh_error(sh, "unknown command '%s' (try help)", a->argv[0].text);
	else if (c->run(sh, a) == 0 && !sh->failed)
		sh_gort_error(sh); /* a misuse the command did not report itself */
	fflush(stdout);
	if (!sh->failed)
		return 0;
	sh->nerrors++;
	return (sh->interactive && sh->depth == 0) || sh->keep_going ? 0 : -1;
}

int sh_run_line(sh_t *sh, const char *line)
{
	const char *err = NULL;
	unsigned before = sh->nerrors;
	int rc = sh_split(line, run_command, sh, &err);
	if (rc != 0 && err) {
		sh_error(sh, "%s", err);
		sh->nerrors++;
	}
	if (sh->quit && sh->nerrors == before)
		return 0; /* quit stops the line, and is no failure */
	return sh->nerrors != before || rc != 0 ? -1 : 0;
}

/* Appends line to *buf (with a newline between): a block across lines. */
static int append(char **buf, size_t *len, const char *line)
{
	size_t n = strlen(line);
	char *b = realloc(*buf, *len + n + 2);
	if (!b)
		return -1;
	if (*len)
		b[(*len)++] = '\n';
	memcpy(b + *len, line, n + 1);
	*buf = b;
	*len += n;
	return 0;
}

/* Runs every line of f; a block left open runs on over the next lines (its
 * depth is kept line by line, so a long open block costs linear time).
 * Errors name the line where the command started. */
static int run_stream(sh_t *sh, FILE *f)
{
	char *line = NULL, *pending = NULL;
	size_t cap = 0, plen = 0;
	unsigned first_line = 0;
	int rc = 0, depth = 0;
	for (unsigned lineno = 1; !sh->quit && !sh_interrupted; lineno++) {
		errno = 0;
		ssize_t n = getline(&line, &cap, f);
		if (n < 0) {
			if (ferror(f))
				rc = sh_error(sh, "cannot read %s: %s", sh->file,
					      strerror(errno ? errno : EIO));
			break;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (plen == 0)
			first_line = lineno;
		if (append(&pending, &plen, line) != 0) {
			rc = sh_error(sh, "out of memory");
			break;
		}
		depth += sh_brace_delta(line);
		if (depth > 0)
			continue;
		depth = 0;
		sh->line = first_line;
		int r = sh_run_line(sh, pending);
		plen = 0;
		if (r != 0) {
			rc = -1;
			if (!sh->keep_going)
				break;
		}
	}
	if (plen && !sh->quit && !sh_interrupted && (rc == 0 || sh->keep_going)) {
		/* End of input inside a block: running it reports the brace. */
		sh->line = first_line;
		if (sh_run_line(sh, pending) != 0)
			rc = -1;
	}
	free(pending);
	free(line);
	return rc;
}

/* Runs f as the file name (a path on disk or not): the current file and
 * line are pushed on the include chain for the time it runs. */
static int run_as(sh_t *sh, FILE *f, const char *name, bool is_path)
{
	sh_frame fr = {.file = sh->file, .line = sh->line, .up = sh->from};
	bool was_path = sh->file_is_path;
	sh->from = &fr;
	sh->file = name;
	sh->file_is_path = is_path;
	sh->depth++;
	int rc = run_stream(sh, f);
	sh->depth--;
	sh->file_is_path = was_path;
	sh->file = fr.file;
	sh->line = fr.line;
	sh->from = fr.up;
	return rc;
}

int sh_run_text(sh_t *sh, const char *name, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return strlen(text) ? sh_error(sh, "out of memory") : 0;
	int rc = run_as(sh, f, name, false);
	fclose(f);
	return rc;
}

int sh_run_file(sh_t *sh, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f)
		return sh_error(sh, "cannot open %s: %s", path, strerror(errno));
	struct stat stbuf;
	if (fstat(fileno(f), &stbuf) == 0 && S_ISDIR(stbuf.st_mode)) {
		if (f != stdin)
			fclose(f);
		return sh_error(sh, "cannot run %s: %s", path, strerror(EISDIR));
	}
	int rc = run_as(sh, f, f == stdin ? "<stdin>" : path, f != stdin);
	if (f != stdin)
		fclose(f);
	if (rc != 0 && sh->depth > 0)
		sh->failed = true; /* the source command fails with its file */
	return rc;
}

const char *sh_source_path(const sh_t *sh, const char *path, char *buf, size_t n)
{
	const char *slash = sh->file && sh->file_is_path ? strrchr(sh->file, '/') : NULL;
	if (path[0] == '/' || strcmp(path, "-") == 0 || !slash)
		return path; /* absolute, stdin, or the sourcing file is in . */
	int k = snprintf(buf, n, "%.*s/%s", (int)(slash - sh->file), sh->file, path);
	return k >= 0 && (size_t)k < n ? buf : path;
}
