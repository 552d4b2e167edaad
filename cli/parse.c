/*
 * parse.c — from text to arguments: splitting a line into commands and
 * tokens (words, "strings", { blocks }), numbers with size suffixes,
 * key=value options, and references to memory ($N, names, addresses).
 *
 * Invariants: sh_split never reads past the line's terminating NUL, never
 * recurses (blocks are kept as text for body.c to split again), and bounds
 * tokens per command and brace depth, so no input can exhaust the stack.
 */
#include "shell.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- splitting */

typedef struct splitter {
	char *s;          /* a writable copy of the line */
	size_t i;
	sh_args args;
	const char **err;
} splitter;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool ends_word(char c)
{
	return c == '\0' || is_space(c) || c == ';' || c == '\n' || c == '{' || c == '}' || c == '"';
}

static int add_token(splitter *sp, int kind, char *text)
{
	if (sp->args.argc == SH_MAX_TOKENS) {
		*sp->err = "too many words in one command";
		return -1;
	}
	sp->args.argv[sp->args.argc++] = (sh_tok){.kind = kind, .text = text};
	return 0;
}

/* "..." with \" and \\ escapes, unescaped in place. */
static int read_string(splitter *sp)
{
	char *start = sp->s + ++sp->i, *w = start;
	for (;;) {
		char c = sp->s[sp->i];
		if (c == '\0' || c == '\n') {
			*sp->err = "unterminated string";
			return -1;
		}
		sp->i++;
		if (c == '"')
			break;
		if (c == '\\' && (sp->s[sp->i] == '"' || sp->s[sp->i] == '\\'))
			c = sp->s[sp->i++];
		*w++ = c;
	}
	*w = '\0';
	return add_token(sp, TOK_STRING, start);
}

/* { ... } up to the matching brace (strings inside respected); the inner
 * text becomes the token. */
static int read_block(splitter *sp)
{
	char *start = sp->s + ++sp->i;
	int depth = 1;
	bool in_string = false;
	for (; sp->s[sp->i]; sp->i++) {
		char c = sp->s[sp->i];
		if (in_string) {
			if (c == '\\' && sp->s[sp->i + 1])
				sp->i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' && ++depth > SH_MAX_BRACE_DEPTH) {
			*sp->err = "braces nested too deeply";
			return -1;
		} else if (c == '}' && --depth == 0) {
			sp->s[sp->i++] = '\0';
			return add_token(sp, TOK_BLOCK, start);
		}
	}
	*sp->err = "unbalanced '{'";
	return -1;
}

static int read_word(splitter *sp)
{
	char *start = sp->s + sp->i;
	while (!ends_word(sp->s[sp->i]))
		sp->i++;
	char end = sp->s[sp->i];
	if (end == '"' || end == '{') {
		*sp->err = end == '"' ? "a quote inside a word" : "a '{' inside a word";
		return -1;
	}
	/* The separator that ended it is overwritten with NUL by the main
	 * loop before the command runs, which terminates the word. */
	return add_token(sp, TOK_WORD, start);
}

static int flush(splitter *sp, sh_cmd_fn fn, void *ctx)
{
	if (sp->args.argc == 0)
		return 0;
	int rc = fn(ctx, &sp->args);
	sp->args.argc = 0;
	return rc;
}

int sh_split(const char *line, sh_cmd_fn fn, void *ctx, const char **err)
{
	static const char *no_err;
	const char *dummy;
	if (!err)
		err = &dummy;
	*err = no_err;
	size_t n = strlen(line);
	/* Room to NUL-terminate the last word in place. */
	splitter sp = {.s = malloc(n + 2), .err = err};
	if (!sp.s) {
		*err = "out of memory";
		return -1;
	}
	memcpy(sp.s, line, n + 1);
	sp.s[n + 1] = '\0';
	int rc = 0;
	while (rc == 0) {
		char c = sp.s[sp.i];
		if (c == '\0') {
			rc = flush(&sp, fn, ctx);
			break;
		}
		if (is_space(c)) {
			sp.s[sp.i++] = '\0';
		} else if (c == ';' || c == '\n') {
			sp.s[sp.i++] = '\0';
			rc = flush(&sp, fn, ctx);
		} else if (c == '#') {
			while (sp.s[sp.i] && sp.s[sp.i] != '\n')
				sp.s[sp.i++] = '\0';
		} else if (c == '"') {
			rc = read_string(&sp);
		} else if (c == '{') {
			rc = read_block(&sp);
		} else if (c == '}') {
			*err = "unbalanced '}'";
			rc = -1;
		} else {
			rc = read_word(&sp);
		}
	}
	free(sp.s);
	return rc;
}

int sh_brace_delta(const char *s)
{
	int depth = 0;
	bool str = false;
	for (; *s && *s != '\n'; s++) {
		if (str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				str = false;
		} else if (*s == '"') {
			str = true;
		} else if (*s == '#') {
			break; /* a comment runs to the end of the line */
		} else {
			depth += *s == '{' ? 1 : *s == '}' ? -1 : 0;
		}
	}
	return depth;
}

/* -------------------------------------------------------------- numbers */

int sh_parse_harden(const char *s, int *out)
{
	for (int p = GORT_HARDEN_LIGHT; p <= GORT_HARDEN_PARANOID; p++)
		if (strcmp(s, gort_harden_name(p)) == 0) {
			*out = p;
			return 0;
		}
	return -1;
}

bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return false;
	}
	if (shift) {
		end++;
		if (toupper((unsigned char)*end) == 'I' && toupper((unsigned char)end[1]) == 'B')
			end += 2;
		else if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *kv(const char *s, const char *key)
{
	size_t n = strlen(key);
	return strncmp(s, key, n) == 0 && s[n] == '=' ? s + n + 1 : NULL;
}

/* ----------------------------------------------------------- references */

bool parse_ref(sh_t *sh, const char *s, uintptr_t *addr, sh_value **val)
{
	uint64_t v;
	if (val)
		*val = NULL;
	if (s[0] == '$') {
		sh_value *got = s[1] != '0' && parse_u64(s + 1, &v) ? val_get(sh, v) : NULL;
		if (!got)
			return false;
		*addr = got->addr;
		if (val)
			*val = got;
		return true;
	}
	if (strncmp(s, "arena+", 6) == 0) {
		gort_arena_info ai;
		gort_inspect_arena(&ai);
		if (!parse_u64(s + 6, &v) || v > ai.arena_bytes)
			return false;
		*addr = ai.arena_base + (uintptr_t)v;
		return true;
	}
	if (isdigit((unsigned char)s[0])) {
		if (!parse_u64(s, &v))
			return false;
		*addr = (uintptr_t)v;
		return true;
	}
	sh_value *named = valid_name(s) || strchr(s, '.') ? val_by_name(sh, s) : NULL; /* gN.NAME */
	if (!named)
		return false;
	*addr = named->addr;
	if (val)
		*val = named;
	return true;
}

bool parse_p_word(const char *s, uint64_t *v)
{
	return s[0] == 'p' && isdigit((unsigned char)s[1]) && parse_u64(s + 1, v);
}

const sh_tok *parse_spawn(const sh_args *a, const char **p_word)
{
	int i = 1;
	*p_word = NULL;
	if (a->argc >= 3 && a->argv[1].kind == TOK_WORD && strcmp(a->argv[1].text, "on") == 0) {
		*p_word = a->argv[2].text;
		i = 3;
	}
	const sh_tok *t = &a->argv[a->argc - 1];
	if (a->argc != i + 1 || t->kind == TOK_STRING ||
	    (t->kind == TOK_WORD && !valid_name(t->text)))
		return NULL;
	return t;
}

bool parse_p(sh_t *sh, const char *s, unsigned *p)
{
	(void)sh;
	uint64_t v;
	gort_sched_info si;
	if (!parse_p_word(s, &v))
		return false;
	gort_inspect_sched(&si);
	if (v >= si.gomaxprocs)
		return false;
	*p = (unsigned)v;
	return true;
}

bool parse_g(const char *s, int64_t *g)
{
	uint64_t v;
	if (s[0] != 'g' || !isdigit((unsigned char)s[1]) || !parse_u64(s + 1, &v) || v == 0 ||
	    v > INT64_MAX)
		return false;
	*g = (int64_t)v;
	return true;
}
