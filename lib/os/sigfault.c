/*
 * sigfault.c — alternate signal stacks and the SIGSEGV/SIGBUS plumbing the
 * fault handler (sched/fault.c) sits on. See sigfault.h.
 *
 * Owns the alternate stacks it maps: one per thread that asked, with a
 * guard page below so a handler that overflows it faults (and, SIGSEGV
 * being blocked inside the handler, the kernel kills the process) rather
 * than writing over whatever lies below.
 */
#define _GNU_SOURCE
#include "os/sigfault.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Room for the report (under 1 KiB of buffers), an error handler that
 * formats with snprintf, and sanitizer-instrumented frames. */
#define ALTSTACK_MIN ((size_t)64 << 10)

static size_t altstack_bytes(void)
{
	size_t page = gort_os_page_size();
	size_t n = ALTSTACK_MIN;
#ifdef _SC_SIGSTKSZ
	long k = sysconf(_SC_SIGSTKSZ); /* grows with the CPU's vector state */
	if (k > 0 && (size_t)k * 4 > n)
		n = (size_t)k * 4;
#endif
	return (n + page - 1) & ~(page - 1);
}

int gort_os_altstack_on(gort_os_altstack *as)
{
	*as = (gort_os_altstack){0};
	stack_t cur;
	if (sigaltstack(NULL, &cur) != 0)
		return -1;
	if (!(cur.ss_flags & SS_DISABLE))
		return 0; /* someone's stack is there already: ours is not needed */
	size_t page = gort_os_page_size(), n = altstack_bytes();
	char *mem = gort_os_map(page + n);
	if (!mem)
		return -1;
	gort_os_guard(mem, page); /* best effort: the stack works without it */
	stack_t ss = {.ss_sp = mem + page, .ss_size = n, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) != 0) {
		int e = errno;
		gort_os_unmap(mem, page + n);
		errno = e;
		return -1;
	}
	*as = (gort_os_altstack){.mem = mem, .bytes = page + n};
	return 0;
}

void gort_os_altstack_off(gort_os_altstack *as)
{
	if (!as->mem)
		return;
	stack_t cur;
	size_t page = gort_os_page_size();
	/* Only if the thread still uses ours, and is not running on it. */
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == (char *)as->mem + page &&
	    !(cur.ss_flags & SS_ONSTACK)) {
		stack_t off = {.ss_flags = SS_DISABLE};
		sigaltstack(&off, NULL);
		gort_os_unmap(as->mem, as->bytes);
	}
	*as = (gort_os_altstack){0};
}

int gort_os_fault_install(int sig, gort_os_fault_fn fn, struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, old);
}

void gort_os_fault_restore(int sig, gort_os_fault_fn fn, const struct sigaction *old)
{
	struct sigaction cur;
	if (sigaction(sig, NULL, &cur) != 0)
		return;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == fn)
		sigaction(sig, old, NULL);
}

void gort_os_fault_chain(int sig, const struct sigaction *old, siginfo_t *si, void *uc)
{
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, si, uc);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* The default: for a fault the kernel would have killed the process
	 * (even under SIG_IGN, which it overrides for a synchronous fault). */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0) /* sent by kill/raise: nothing runs again */
		raise(sig);
}
