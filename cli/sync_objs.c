/*
 * sync_objs.c — the session's named channels, mutexes and wait groups, and
 * each G's variables (the numbers and channels `recv ... as X`, `let` and
 * `chan` bind).
 *
 * Objects are found by label (what the user typed, made unique) and by
 * address (what gort_inspect_gs reports a G waits on). Variables belong to
 * one G (goid 0: the prompt); a spawned G starts with a copy of its
 * parent's, as a Go function starts with its arguments, so Gs made in a
 * loop each keep their own channel and number.
 *
 * Invariants: an object never moves and lives until init (a G may be
 * parked on it); both tables are touched only under their lock, since in
 * threaded mode bodies run on several Ms at once; a G's variables are
 * dropped when its body ends.
 */
#include "sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define VARS_MAX 16
#define WAITING_MAX 64

static pthread_mutex_t objs_lock = PTHREAD_MUTEX_INITIALIZER;
static sync_obj **objs;
static size_t nobjs, capobjs;

/* ------------------------------------------------------------ objects */

static sync_obj *find_label_locked(const char *label)
{
	for (size_t i = 0; i < nobjs; i++)
		if (strcmp(objs[i]->label, label) == 0)
			return objs[i];
	return NULL;
}

/* name, or name.2, name.3, ...: the first label not taken. */
static void unique_label(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s", name);
	for (unsigned k = 2; find_label_locked(out); k++)
		snprintf(out, n, "%s.%u", name, k);
}

static sync_obj *add_locked(int kind, const char *name, void *ptr)
{
	if (nobjs == capobjs) {
		size_t cap = capobjs ? 2 * capobjs : 16;
		sync_obj **v = realloc(objs, cap * sizeof *v);
		if (!v)
			return NULL;
		objs = v;
		capobjs = cap;
	}
	sync_obj *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->kind = kind;
	if (kind == SYNC_CHAN)
		o->u.chan = ptr;
	else if (kind == SYNC_MUTEX)
		o->u.mutex = ptr;
	else
		o->u.wg = ptr;
	unique_label(name, o->label, sizeof o->label);
	objs[nobjs++] = o;
	return o;
}

sync_obj *sync_make_chan(const char *name, size_t cap)
{
	gort_chan *c = gort_chan_make(sizeof(int64_t), cap);
	if (!c)
		return NULL;
	pthread_mutex_lock(&objs_lock);
	sync_obj *o = add_locked(SYNC_CHAN, name, c);
	pthread_mutex_unlock(&objs_lock);
	if (!o) {
		gort_chan_free(c);
		errno = ENOMEM;
	}
	return o;
}

sync_obj *sync_named(int kind, const char *name, bool *clash)
{
	*clash = false;
	pthread_mutex_lock(&objs_lock);
	sync_obj *o = find_label_locked(name);
	if (o && o->kind != kind) {
		*clash = true;
		o = NULL;
	} else if (!o) {
		/* Zeroed is GORT_MUTEX_INIT and a ready wait group. */
		void *p =
			calloc(1, kind == SYNC_MUTEX ? sizeof(gort_mutex) : sizeof(gort_waitgroup));
		o = p ? add_locked(kind, name, p) : NULL;
		if (!o)
			free(p);
	}
	pthread_mutex_unlock(&objs_lock);
	return o;
}

sync_obj *sync_by_label(const char *label)
{
	pthread_mutex_lock(&objs_lock);
	sync_obj *o = find_label_locked(label);
	pthread_mutex_unlock(&objs_lock);
	return o;
}

uintptr_t sync_addr(const sync_obj *o)
{
	return o->kind == SYNC_CHAN    ? (uintptr_t)o->u.chan
	       : o->kind == SYNC_MUTEX ? (uintptr_t)o->u.mutex
				       : (uintptr_t)o->u.wg;
}

sync_obj *sync_by_addr(uintptr_t addr)
{
	sync_obj *found = NULL;
	pthread_mutex_lock(&objs_lock);
	for (size_t i = 0; i < nobjs && !found; i++)
		if (sync_addr(objs[i]) == addr)
			found = objs[i];
	pthread_mutex_unlock(&objs_lock);
	return found;
}

/* Copies the label of object i (creation order) of that kind into buf;
 * false past the last object. Copied, since another M may add one. */
bool sync_label_at(size_t i, int *kind, char *buf, size_t n)
{
	pthread_mutex_lock(&objs_lock);
	bool found = i < nobjs;
	if (found) {
		*kind = objs[i]->kind;
		snprintf(buf, n, "%s", objs[i]->label);
	}
	pthread_mutex_unlock(&objs_lock);
	return found;
}

/* ------------------------------------------------------------ variables */

typedef struct env {
	int64_t goid;
	unsigned n;
	char names[VARS_MAX][SH_NAME_MAX];
	sync_var vars[VARS_MAX];
	char waiting[WAITING_MAX];
} env;

static pthread_mutex_t vars_mu = PTHREAD_MUTEX_INITIALIZER;
static env **envs;
static size_t nenvs, capenvs;

static env *env_find(int64_t goid)
{
	for (size_t i = 0; i < nenvs; i++)
		if (envs[i]->goid == goid)
			return envs[i];
	return NULL;
}

static env *env_get(int64_t goid)
{
	env *e = env_find(goid);
	if (e)
		return e;
	if (nenvs == capenvs) {
		size_t cap = capenvs ? 2 * capenvs : 16;
		env **v = realloc(envs, cap * sizeof *v);
		if (!v)
			return NULL;
		envs = v;
		capenvs = cap;
	}
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->goid = goid;
	envs[nenvs++] = e;
	return e;
}

bool var_get(int64_t goid, const char *name, sync_var *out)
{
	bool found = false;
	pthread_mutex_lock(&vars_mu);
	env *e = env_find(goid);
	for (unsigned i = 0; e && i < e->n && !found; i++)
		if (strcmp(e->names[i], name) == 0) {
			*out = e->vars[i];
			found = true;
		}
	pthread_mutex_unlock(&vars_mu);
	return found;
}

int var_set(int64_t goid, const char *name, const sync_var *v)
{
	int rc = -1;
	pthread_mutex_lock(&vars_mu);
	env *e = env_get(goid);
	for (unsigned i = 0; e && i < e->n && rc; i++)
		if (strcmp(e->names[i], name) == 0) {
			e->vars[i] = *v;
			rc = 0;
		}
	if (e && rc && e->n < VARS_MAX) {
		snprintf(e->names[e->n], SH_NAME_MAX, "%s", name);
		e->vars[e->n++] = *v;
		rc = 0;
	}
	pthread_mutex_unlock(&vars_mu);
	return rc;
}

void vars_lock(void)
{
	pthread_mutex_lock(&vars_mu);
}

void vars_unlock(void)
{
	pthread_mutex_unlock(&vars_mu);
}

/* Called with vars_lock held. */
void vars_fork(int64_t parent, int64_t child)
{
	env *p = env_find(parent);
	if (!p || p->n == 0)
		return;
	env *c = env_get(child);
	if (!c)
		return;
	memcpy(c->names, p->names, sizeof c->names);
	memcpy(c->vars, p->vars, sizeof c->vars);
	c->n = p->n;
}

void vars_drop(int64_t goid)
{
	pthread_mutex_lock(&vars_mu);
	for (size_t i = 0; i < nenvs; i++)
		if (envs[i]->goid == goid) {
			free(envs[i]);
			envs[i] = envs[--nenvs];
			break;
		}
	pthread_mutex_unlock(&vars_mu);
}

void var_waiting(int64_t goid, const char *what)
{
	pthread_mutex_lock(&vars_mu);
	env *e = *what ? env_get(goid) : env_find(goid);
	if (e)
		snprintf(e->waiting, sizeof e->waiting, "%s", what);
	pthread_mutex_unlock(&vars_mu);
}

void var_waiting_get(int64_t goid, char *buf, size_t n)
{
	pthread_mutex_lock(&vars_mu);
	env *e = env_find(goid);
	snprintf(buf, n, "%s", e ? e->waiting : "");
	pthread_mutex_unlock(&vars_mu);
}

/* ------------------------------------------------------------ init */

void sync_clear(void)
{
	pthread_mutex_lock(&objs_lock);
	for (size_t i = 0; i < nobjs; i++) {
		if (objs[i]->kind != SYNC_CHAN) /* channels went with the heap */
			free(objs[i]->u.mutex);
		free(objs[i]);
	}
	free(objs);
	objs = NULL;
	nobjs = capobjs = 0;
	pthread_mutex_unlock(&objs_lock);
	pthread_mutex_lock(&vars_mu);
	for (size_t i = 0; i < nenvs; i++)
		free(envs[i]);
	free(envs);
	envs = NULL;
	nenvs = capenvs = 0;
	pthread_mutex_unlock(&vars_mu);
}
