/*
 * values.c — the session's values: every object the shell or a G body
 * allocated gets a number ($1, $2, ...) for the whole session, and
 * optionally a name (`alloc 24 as x`). Rebinding a name moves it to the
 * new value. A name bound in a G's body belongs to that G, as a Go local
 * does: two Gs running one body each have their own `x`; the prompt
 * reaches a G's name as gN.x (or as x, when one G alone has an x and the
 * shell has none).
 *
 * Invariants: $0 does not exist; values live in blocks that never move, so
 * a pointer to one stays valid until init; in threaded mode G bodies add
 * values from several Ms, so adding and looking up go through vals_lock.
 */
#include "shell.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t vals_lock = PTHREAD_MUTEX_INITIALIZER;

static sh_value *slot(sh_t *sh, size_t k)
{
	return &sh->vblocks[k / SH_VAL_BLOCK][k % SH_VAL_BLOCK];
}

sh_value *val_get(sh_t *sh, uint64_t k)
{
	pthread_mutex_lock(&vals_lock);
	sh_value *v = k >= 1 && k < sh->nvals ? slot(sh, k) : NULL;
	pthread_mutex_unlock(&vals_lock);
	return v;
}

static void unname(sh_t *sh, const char *name, int64_t owner)
{
	for (size_t i = 1; i < sh->nvals; i++)
		if (slot(sh, i)->owner == owner && strcmp(slot(sh, i)->name, name) == 0)
			slot(sh, i)->name[0] = '\0';
}

size_t val_add(sh_t *sh, uintptr_t addr, size_t size, const char *name)
{
	return val_add_owned(sh, addr, size, name, 0);
}

size_t val_add_owned(sh_t *sh, uintptr_t addr, size_t size, const char *name, int64_t owner)
{
	pthread_mutex_lock(&vals_lock);
	if (sh->nvals == 0)
		sh->nvals = 1; /* $0 does not exist */
	size_t k = sh->nvals, b = k / SH_VAL_BLOCK;
	if (b >= SH_VAL_BLOCKS ||
	    (!sh->vblocks[b] && !(sh->vblocks[b] = calloc(SH_VAL_BLOCK, sizeof(sh_value))))) {
		pthread_mutex_unlock(&vals_lock);
		return 0;
	}
	if (name && *name)
		unname(sh, name, owner);
	sh_value *v = slot(sh, k);
	*v = (sh_value){.addr = addr, .size = size, .live = true, .owner = owner};
	snprintf(v->name, sizeof v->name, "%s", name ? name : "");
	sh->nvals++;
	pthread_mutex_unlock(&vals_lock);
	return k;
}

sh_value *val_lookup(sh_t *sh, int64_t owner, const char *name)
{
	sh_value *found = NULL;
	pthread_mutex_lock(&vals_lock);
	for (size_t i = sh->nvals; i-- > 1 && !found;)
		if (slot(sh, i)->owner == owner && strcmp(slot(sh, i)->name, name) == 0)
			found = slot(sh, i);
	pthread_mutex_unlock(&vals_lock);
	return found;
}

size_t val_owners(sh_t *sh, const char *name, int64_t *owners, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&vals_lock);
	for (size_t i = sh->nvals; i-- > 1;) {
		const sh_value *v = slot(sh, i);
		if (v->owner != 0 && strcmp(v->name, name) == 0) {
			if (n < max)
				owners[n] = v->owner;
			n++;
		}
	}
	pthread_mutex_unlock(&vals_lock);
	return n;
}

/* gN.NAME: the G and the name; false if s has another shape. */
static bool split_owned(const char *s, int64_t *g, char *name)
{
	const char *dot = strchr(s, '.');
	char gw[24];
	if (!dot || (size_t)(dot - s) >= sizeof gw || strlen(dot + 1) >= SH_NAME_MAX)
		return false;
	memcpy(gw, s, (size_t)(dot - s));
	gw[dot - s] = '\0';
	strcpy(name, dot + 1);
	return parse_g(gw, g) && *g > 0 && valid_name(name);
}

sh_value *val_by_name(sh_t *sh, const char *name)
{
	int64_t g, owners[1];
	char bare[SH_NAME_MAX];
	if (split_owned(name, &g, bare))
		return val_lookup(sh, g, bare);
	sh_value *v = val_lookup(sh, 0, name);
	if (v || val_owners(sh, name, owners, 1) != 1)
		return v;
	return val_lookup(sh, owners[0], name);
}

const char *val_label(const sh_value *v, char *buf, size_t n)
{
	if (v->owner && v->name[0])
		snprintf(buf, n, "g%lld.%s", (long long)v->owner, v->name);
	else
		snprintf(buf, n, "%s", v->name);
	return buf;
}

sh_value *val_by_addr(sh_t *sh, uintptr_t addr)
{
	sh_value *found = NULL;
	pthread_mutex_lock(&vals_lock);
	for (size_t i = sh->nvals; i-- > 1 && !found;)
		if (slot(sh, i)->live && slot(sh, i)->addr == addr)
			found = slot(sh, i);
	pthread_mutex_unlock(&vals_lock);
	return found;
}

void vals_clear(sh_t *sh)
{
	pthread_mutex_lock(&vals_lock);
	/* Blocks are filled in order: past the last value's, none exists. */
	for (size_t b = 0; b < SH_VAL_BLOCKS && b <= sh->nvals / SH_VAL_BLOCK; b++) {
		free(sh->vblocks[b]);
		sh->vblocks[b] = NULL;
	}
	sh->nvals = 0;
	pthread_mutex_unlock(&vals_lock);
}

bool valid_name(const char *s)
{
	if (!isalpha((unsigned char)s[0]) || strlen(s) >= SH_NAME_MAX)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return false;
	/* Words that would read as something else. */
	static const char *const reserved[] = {"as", "noscan", "on", "arena", "global", NULL};
	for (int i = 0; reserved[i]; i++)
		if (strcmp(s, reserved[i]) == 0)
			return false;
	return !sh_find_command(s);
}

int cmd_vals(sh_t *sh, sh_args *a)
{
	(void)a;
	char ab[40], sb[40];
	js_begin(sh, "vals");
	js_array(sh, "values");
	size_t n = sh->nvals;
	for (size_t i = 1; i < n; i++) {
		sh_value *v = val_get(sh, i);
		char lb[SH_NAME_MAX + 24];
		out(sh, "$%-4zu %-14s %10s  %-5s %s\n", i, fmt_addr(v->addr, ab),
		    fmt_size(v->size, sb), v->live ? "live" : "freed", val_label(v, lb, sizeof lb));
		js_object(sh, NULL);
		js_uint(sh, "id", i);
		js_addr(sh, "addr", v->addr);
		js_uint(sh, "size", v->size);
		js_bool(sh, "live", v->live);
		js_str(sh, "name", v->name);
		js_int(sh, "owner", v->owner);
		js_object_end(sh);
	}
	if (n <= 1)
		out(sh, "no values yet\n");
	js_array_end(sh);
	js_end(sh);
	return 0;
}
