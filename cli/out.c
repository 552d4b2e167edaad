/*
 * out.c — everything gortsh prints: text with optional colour, one JSON
 * object per command line, addresses and sizes formatted the same way
 * everywhere, and error lines.
 *
 * Invariants: text goes to stdout only when --json is off; JSON objects are
 * opened by js_begin and closed by js_end, with js_depth back at 0 after
 * each; error lines go to stderr in text mode and, in JSON mode, also as
 * {"error":...} on stdout so a reader sees one object per command.
 */
#include "shell.h"

#include <string.h>

void out(sh_t *sh, const char *fmt, ...)
{
	if (sh->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

const char *col(const sh_t *sh, int c)
{
	static const char *const seq[] = {
		"\033[0m",  "\033[1m",	"\033[2m",  "\033[31m", "\033[32m",
		"\033[33m", "\033[34m", "\033[35m", "\033[36m",
	};
	if (!sh->color || c < 0 || c >= (int)(sizeof seq / sizeof *seq))
		return "";
	return seq[c];
}

const char *col_bg(const sh_t *sh, unsigned i, char *buf, size_t n)
{
	/* Twelve backgrounds of the 256-colour cube that keep black text legible. */
	static const int palette[] = {153, 186, 217, 151, 223, 183, 152, 222, 189, 158, 216, 229};
	if (!sh->color)
		return "";
	snprintf(buf, n, "\033[30;48;5;%dm", palette[i % (sizeof palette / sizeof *palette)]);
	return buf;
}

/* ---------------------------------------------------------------- JSON */

/* Length of the valid UTF-8 sequence at p (2..4), 0 if it is not one. */
static int utf8_len(const unsigned char *p)
{
	int n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (p[0] > 0xf4)
		return 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, or past U+10FFFF */
	return n;
}

/* How many bytes from p go into a JSON string as they are. */
static size_t plain_run(const unsigned char *p)
{
	size_t n = 0;
	while (p[n] >= 0x20 && p[n] < 0x7f && p[n] != '"' && p[n] != '\\')
		n++;
	return n;
}

/* A JSON string: UTF-8 passes through; control characters are escaped;
 * bytes that are not UTF-8 become U+FFFD, so the line is always valid. */
static void js_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int n;
		size_t run = plain_run(p);
		if (run > 1) { /* printable ASCII: one write, not a putchar each */
			fwrite(p, 1, run, stdout);
			p += run - 1;
		} else if (*p == '"' || *p == '\\') {
			putchar('\\');
			putchar(*p);
		} else if (*p == '\n') {
			fputs("\\n", stdout);
		} else if (*p == '\t') {
			fputs("\\t", stdout);
		} else if (*p < 0x20 || *p == 0x7f) {
			printf("\\u%04x", *p);
		} else if (*p < 0x80) {
			putchar(*p);
		} else if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, (size_t)n, stdout);
			p += n - 1;
		} else {
			fputs("\\ufffd", stdout);
		}
	}
	putchar('"');
}

/* A comma before every member but the first, then "key": if in an object. */
static void js_member(sh_t *sh, const char *key)
{
	int d = sh->js_depth;
	if (sh->js_comma[d])
		putchar(',');
	sh->js_comma[d] = true;
	if (key) {
		js_string(key);
		putchar(':');
	}
}

static void js_open(sh_t *sh, const char *key, char c)
{
	js_member(sh, key);
	putchar(c);
	if (sh->js_depth + 1 < (int)(sizeof sh->js_comma / sizeof *sh->js_comma))
		sh->js_depth++;
	sh->js_comma[sh->js_depth] = false;
}

static void js_close(sh_t *sh, char c)
{
	putchar(c);
	if (sh->js_depth > 0)
		sh->js_depth--;
}

void js_begin(sh_t *sh, const char *cmd)
{
	if (!sh->json)
		return;
	sh->js_depth = 0;
	sh->js_comma[0] = false;
	js_open(sh, NULL, '{');
	js_str(sh, "cmd", cmd);
}

void js_end(sh_t *sh)
{
	if (!sh->json)
		return;
	while (sh->js_depth > 1)
		js_close(sh, '}'); /* a handler that forgot to close: still valid JSON */
	js_close(sh, '}');
	sh->js_depth = 0;
	sh->js_comma[0] = false;
	putchar('\n');
	fflush(stdout);
}

void js_str(sh_t *sh, const char *key, const char *val)
{
	if (!sh->json)
		return;
	js_member(sh, key);
	js_string(val ? val : "");
}

void js_int(sh_t *sh, const char *key, int64_t v)
{
	if (!sh->json)
		return;
	js_member(sh, key);
	printf("%lld", (long long)v);
}

void js_uint(sh_t *sh, const char *key, uint64_t v)
{
	if (!sh->json)
		return;
	js_member(sh, key);
	printf("%llu", (unsigned long long)v);
}

void js_addr(sh_t *sh, const char *key, uintptr_t v)
{
	char buf[40];
	js_str(sh, key, fmt_addr(v, buf));
}

void js_bool(sh_t *sh, const char *key, bool v)
{
	if (!sh->json)
		return;
	js_member(sh, key);
	fputs(v ? "true" : "false", stdout);
}

void js_null(sh_t *sh, const char *key)
{
	if (!sh->json)
		return;
	js_member(sh, key);
	fputs("null", stdout);
}

void js_array(sh_t *sh, const char *key)
{
	if (sh->json)
		js_open(sh, key, '[');
}

void js_array_end(sh_t *sh)
{
	if (sh->json)
		js_close(sh, ']');
}

void js_object(sh_t *sh, const char *key)
{
	if (sh->json)
		js_open(sh, key, '{');
}

void js_object_end(sh_t *sh)
{
	if (sh->json)
		js_close(sh, '}');
}

/* ---------------------------------------------------------- formatting */

const char *fmt_addr(uintptr_t addr, char *buf)
{
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	if (!ai.at_hint && addr >= ai.arena_base && addr - ai.arena_base <= ai.arena_bytes)
		snprintf(buf, 32, "arena+0x%lx", (unsigned long)(addr - ai.arena_base));
	else
		snprintf(buf, 32, "0x%lx", (unsigned long)addr);
	return buf;
}

const char *fmt_size(uint64_t n, char *buf)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	uint64_t whole = n, tenths = 0;
	while (whole >= 1024 && u < 4) {
		tenths = (whole % 1024) * 10 / 1024;
		whole /= 1024;
		u++;
	}
	if (tenths)
		snprintf(buf, 32, "%llu.%llu %s", (unsigned long long)whole,
			 (unsigned long long)tenths, unit[u]);
	else
		snprintf(buf, 32, "%llu %s", (unsigned long long)whole, unit[u]);
	return buf;
}

/* -------------------------------------------------------------- errors */

/* " (sourced from a.gsh:3, from main.gsh:7)": how the current file was
 * reached, for the error's own line (one error, one line, one write); a
 * file that sources itself shows as one frame with its count. */
static const char *source_chain(const sh_t *sh, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (const sh_frame *f = sh->from; f && len < n;) {
		const sh_frame *next = f->up;
		unsigned times = 1;
		for (; next && next->file && f->file && next->line == f->line &&
		       strcmp(next->file, f->file) == 0;
		     next = next->up)
			times++;
		if (f->file) {
			int k = snprintf(buf + len, n - len, "%s%s:%u", len ? ", from " : " (sourced from ",
					 f->file, f->line);
			len += k > 0 ? (size_t)k : 0;
			if (times > 1 && len < n)
				len += (size_t)snprintf(buf + len, n - len, " (%u times)", times);
		}
		f = next;
	}
	if (len && len + 1 < n)
		strcpy(buf + len, ")");
	return buf;
}

int sh_error(sh_t *sh, const char *fmt, ...)
{
	char raw[512], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* One error, one line: a quoted block that spans lines keeps its
	 * newlines as \n, other control bytes become '?'. */
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)raw; *p && n + 3 < sizeof msg; p++) {
		if (*p == '\n') {
			msg[n++] = '\\';
			msg[n++] = 'n';
		} else {
			msg[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
		}
	}
	msg[n] = '\0';
	sh->failed = true;
	fflush(stdout);
	if (sh->file && !sh->interactive) {
		char chain[512];
		fprintf(stderr, "%s:%u: error: %s%s\n", sh->file, sh->line, msg,
			source_chain(sh, chain, sizeof chain));
	} else
		fprintf(stderr, "error: %s\n", msg);
	fflush(stderr);
	if (sh->json) {
		int depth = sh->js_depth;
		sh->js_depth = 0;
		sh->js_comma[0] = false;
		if (depth == 0) {
			js_open(sh, NULL, '{');
			js_str(sh, "error", msg);
			js_end(sh);
		} else {
			/* Inside a command's object: abandon it on its own line. */
			putchar('\n');
			js_open(sh, NULL, '{');
			js_str(sh, "error", msg);
			js_end(sh);
		}
	}
	return -1;
}

__thread sh_capture *sh_body_capture;

void sh_gort_handler(const gort_error *err, void *ctx)
{
	sh_t *sh = ctx;
	sh_capture *cap = sh_body_capture;
	if (cap) { /* a G body's step: the body reports it in its action line */
		if (!cap->hit)
			snprintf(cap->msg, sizeof cap->msg, "%s", err->message);
		cap->hit = true;
		return;
	}
	if (sh->gort_error)
		return; /* the first misuse of a command is the one to show */
	sh->gort_error = true;
	sh->gort_kind = (int)err->kind;
	snprintf(sh->gort_msg, sizeof sh->gort_msg, "%s", err->message);
}

int sh_gort_error(sh_t *sh)
{
	if (!sh->gort_error)
		return 0;
	sh->gort_error = false;
	return sh_error(sh, "%s", sh->gort_msg);
}
