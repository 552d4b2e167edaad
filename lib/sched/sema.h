/*
 * sema.h — the runtime's semaphores (sema.c): what gort_mutex and
 * gort_waitgroup wait on, as Go's sync package waits on runtime_Semacquire.
 */
#ifndef GORT_SCHED_SEMA_H
#define GORT_SCHED_SEMA_H

#include <stdbool.h>
#include <stdint.h>

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Waits until *addr > 0, then takes one. lifo: first in line among the
 * waiters on addr (a mutex's waiter woken and beaten). reason: the wait
 * reason shown while parked; waiton: the object shown (the mutex, ...).
 * 0; -1 (EDEADLK, reported) only outside any G in step mode when nothing
 * can run. */
SCHED_HIDDEN int gort_semacquire(uint32_t *addr, bool lifo, const char *reason,
				 const void *waiton);
/* Adds one to *addr and wakes the first waiter on it. handoff: the count
 * goes to that waiter directly and the caller yields to it. */
SCHED_HIDDEN void gort_semrelease(uint32_t *addr, bool handoff);
SCHED_HIDDEN const char *gort_sema_check(void);
/* Shutdown: forget every waiter. The table outlives the runtime, but the
 * Gs parked in it (and the sudogs on their stacks) do not. */
SCHED_HIDDEN void gort_sema_reset(void);

#endif /* GORT_SCHED_SEMA_H */
