/*
 * sync.h — gortsh's waiting primitives: named channels, mutexes and wait
 * groups (sync_objs.c), the numbers each G keeps in its own variables
 * (sync_objs.c), the body steps and prompt commands that use them
 * (sync_ops.c: send, recv, close, select, lock, unlock, wg, sleep, let,
 * if), and the views (cmd_chan.c: dump chan, the wait text of gs and of a
 * step that parked).
 *
 * The rest of the shell reaches this through a few hooks: body.c compiles
 * and runs the steps it does not know through sync_compile / sync_exec and
 * hands a spawned G a copy of its parent's variables; cmd_sched.c asks for
 * the wait text; session.c forgets everything at init.
 */
#ifndef GORTSH_SYNC_H
#define GORTSH_SYNC_H

#include "shell.h"

/* ------------------------------------------------------------ objects */

enum sync_kind {
	SYNC_CHAN = 1,
	SYNC_MUTEX,
	SYNC_WG
};

/* One named object. Labels are unique: a name made again (a body that makes
 * `chan out` in a loop) gets out.2, out.3, ... Objects never move. */
typedef struct sync_obj {
	int kind;
	char label[SH_NAME_MAX + 8];
	union {
		gort_chan *chan;   /* on the gort heap, as Go's */
		gort_mutex *mutex; /* libc memory: not the session's objects */
		gort_waitgroup *wg;
	} u;
} sync_obj;

/* A new channel of int64 values labelled name; NULL (errno) on failure. */
sync_obj *sync_make_chan(const char *name, size_t cap);
/* The mutex or wait group called name, made on first use; NULL if out of
 * memory or the name is taken by another kind (*clash set). */
sync_obj *sync_named(int kind, const char *name, bool *clash);
/* The object labelled label, of any kind, NULL if none. */
sync_obj *sync_by_label(const char *label);
uintptr_t sync_addr(const sync_obj *o);
/* The object at addr (a channel, mutex or wait group), NULL if unknown. */
sync_obj *sync_by_addr(uintptr_t addr);
/* The label and kind of object i, for completion; false past the last. */
bool sync_label_at(size_t i, int *kind, char *buf, size_t n);
/* Forget every object and variable (init: the runtime is down). */
void sync_clear(void);

/* ------------------------------------------------------------ variables */

/* A G's variables (goid 0: the prompt) hold numbers or channels. */
enum {
	VAR_INT = 1,
	VAR_CHAN
};
typedef struct sync_var {
	int kind;
	int64_t v;	/* VAR_INT: the number */
	sync_obj *chan; /* VAR_CHAN: the channel */
} sync_var;

bool var_get(int64_t goid, const char *name, sync_var *out);
int var_set(int64_t goid, const char *name, const sync_var *v); /* 0, or -1 full */
/* A new G starts with a copy of its parent's variables (Go's arguments). */
void vars_fork(int64_t parent, int64_t child);
void vars_drop(int64_t goid);
/* Around gort_go in a body: the child may run on another M before its
 * variables are copied; it waits for them on this lock. */
void vars_lock(void);
void vars_unlock(void);
/* What a G parked in a select waits on ("a b"), "" if nothing is known. */
void var_waiting(int64_t goid, const char *what);
void var_waiting_get(int64_t goid, char *buf, size_t n);

/* ------------------------------------------------------------ steps */

typedef struct sync_op sync_op;
/* Body steps this file knows: 1 compiled into *out, 0 not one of them, -1
 * a syntax error in err. */
int sync_compile(sh_t *sh, sh_args *a, sync_op **out, char *err, size_t errn);
void sync_op_free(sync_op *op);
/* Runs a step in the running G. Returns true if it waited (parked); *sub
 * is set to a block to run next (if), else NULL. */
bool sync_exec(sh_t *sh, const sync_op *op, const sh_prog **sub);
/* The words a body may start a step with (help, completion). */
extern const char *const sync_body_words;

/* ------------------------------------------------------------ views */

/* "chan receive c", "sync.Mutex.Lock m", "select a b": a waiting G's
 * reason with what it waits on, when the shell knows its name. */
const char *sync_wait_text(const gort_g_info *g, char *buf, size_t n);
/* What a step's G waits on after it parked ("chan receive c"), "" if
 * nothing more than its reason is known. */
const char *sync_parked_on(int64_t goid, char *buf, size_t n);
int dump_chan(sh_t *sh, sh_args *a);

/* One printed step, as `step` makes (cmd_sched.c): 1, 0, or -1 (reported). */
int sh_step_once(sh_t *sh);

/* Prompt commands. */
int cmd_chan(sh_t *sh, sh_args *a);
int cmd_sync_op(sh_t *sh, sh_args *a); /* send, recv, close, select, lock, unlock, wg, sleep, let */

#endif /* GORTSH_SYNC_H */
