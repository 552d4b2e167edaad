/*
 * sigfault.h — what the fault handler needs from the OS: a per-thread
 * alternate signal stack, installing a SIGSEGV/SIGBUS handler that runs on
 * it, and handing a fault on to whoever handled it before.
 *
 * Nothing here allocates from the heap. gort_os_fault_chain is
 * async-signal-safe; the rest is called outside signal handlers.
 */
#ifndef GORT_OS_SIGFAULT_H
#define GORT_OS_SIGFAULT_H

#include <signal.h>
#include <stddef.h>

#include "os/os.h"

/* The calling thread's alternate signal stack, as the thread start made it. */
typedef struct gort_os_altstack {
	void *mem;    /* our mapping (guard page included), NULL if we made none */
	size_t bytes; /* its size */
} gort_os_altstack;

/* Gives the calling thread an alternate signal stack unless it has one
 * already (a sanitizer's runtime, or the program's own, is kept). 0, or -1
 * with errno; *as records what to undo. */
OS_HIDDEN int gort_os_altstack_on(gort_os_altstack *as);
/* Undoes gort_os_altstack_on on the same thread (a no-op if it made none). */
OS_HIDDEN void gort_os_altstack_off(gort_os_altstack *as);

typedef void (*gort_os_fault_fn)(int sig, siginfo_t *si, void *uc);

/* Installs fn for sig with SA_ONSTACK | SA_SIGINFO; *old gets the action it
 * replaced. 0, or -1 with errno. */
OS_HIDDEN int gort_os_fault_install(int sig, gort_os_fault_fn fn, struct sigaction *old);
/* Puts back *old for sig if fn is still the action in force (a program that
 * installed its own since keeps it). */
OS_HIDDEN void gort_os_fault_restore(int sig, gort_os_fault_fn fn, const struct sigaction *old);

/* From inside fn: passes the fault on to *old, the action fn replaced. A
 * handler is called as the kernel would have; SIG_DFL or SIG_IGN put the
 * default action back for every thread, so the faulting instruction, run
 * again when fn returns, kills the process as it would have without us (a
 * signal sent rather than raised by a fault is sent again). */
OS_HIDDEN void gort_os_fault_chain(int sig, const struct sigaction *old, siginfo_t *si,
				   void *uc);

#endif /* GORT_OS_SIGFAULT_H */
