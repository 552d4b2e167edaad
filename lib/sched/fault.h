/*
 * fault.h — naming a goroutine's stack overflow (fault.c).
 *
 * gort_fault_init installs a SIGSEGV and SIGBUS handler (process-wide, on
 * the alternate signal stack); every thread that runs Gs calls
 * gort_fault_thread_start with the address of the pointer it keeps its
 * running G in (step mode's S.curg, an M's m->curg), which gives the thread
 * its alternate stack and lets the handler find the G.
 */
#ifndef GORT_SCHED_FAULT_H
#define GORT_SCHED_FAULT_H

#include "sched/g.h"

#define FAULT_HIDDEN __attribute__((visibility("hidden")))

/* Installs the handlers (the actions they replace are chained to).
 * 0, or -1 with errno. */
FAULT_HIDDEN int gort_fault_init(void);
/* Puts the replaced actions back, where ours are still in force. */
FAULT_HIDDEN void gort_fault_shutdown(void);

/* The calling thread runs Gs: *curg names the one running (NULL on g0). */
FAULT_HIDDEN void gort_fault_thread_start(gort_g *const *curg);
/* The thread runs Gs no more: its alternate stack, if made here, goes. */
FAULT_HIDDEN void gort_fault_thread_stop(void);

#endif /* GORT_SCHED_FAULT_H */
