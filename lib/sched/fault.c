/*
 * fault.c — a goroutine's stack overflow, caught and named.
 *
 * A G that runs off the bottom of its stack writes into the guard below it
 * (stack.h) and takes a SIGSEGV. The handler installed here runs on the
 * thread's alternate signal stack — the G's own stack is what overflowed —
 * finds the G running on the faulting thread, and if the faulting address
 * lies in that G's guard, reports
 *
 *     gort: stack overflow in goroutine N (stack 0x… size 1 MiB, guard hit at 0x…)
 *
 * through the one error reporter (mem/check.c). The G cannot go on: its
 * next frame would fault again, and C has no way to unwind it. So once the
 * report returns (an error handler that returns) the process aborts; the
 * default reporter aborts itself. A stack overflow always ends the process.
 *
 * A fault on a zero-size object (mem/zero.c: malloc(0) under the hardened
 * presets) is reported as `gort: zero-size access: 0x…` on any thread, and
 * then handed on as below: the process still dies of the SIGSEGV.
 *
 * Any other fault (a NULL dereference, a write to freed memory, a fault on
 * a thread that runs no G) is none of ours: it is passed to the action we
 * replaced — the program's handler, a sanitizer's, or the default, which
 * kills the process with the signal as if we had not been there.
 *
 * What the handler may touch (it runs inside a signal): the thread-local
 * pointer to the running G (initial-exec TLS: a plain load), the G's goid
 * and stack bounds, the pool's fixed geometry, a buffer on the signal
 * stack, gort_report (write(2), no allocation, no lock) and abort.
 *
 * Invariants: the handlers are installed at most once at a time (init and
 * shutdown run on one thread, as gort_init does); a thread's tls_curg is
 * set only between its gort_fault_thread_start and _stop.
 */
#define _GNU_SOURCE
#include "sched/fault.h"

#include <errno.h>
#include <stdlib.h>

#include "os/sigfault.h"
#include "sched/sched.h"

#define S (gort_sched)

static const int fault_sigs[2] = {SIGSEGV, SIGBUS};
static struct sigaction prev[2]; /* what each replaced, chained to */
static int installed;

static __thread gort_g *const *tls_curg __attribute__((tls_model("initial-exec")));
static __thread gort_os_altstack tls_alt __attribute__((tls_model("initial-exec")));

/* "64 KiB", "1 MiB", "1536 KiB": whole MiB when it is one. */
static void put_size(strbuf_t *b, size_t n)
{
	if (n >= ((size_t)1 << 20) && n % ((size_t)1 << 20) == 0) {
		gort_sb_dec(b, n >> 20);
		gort_sb_str(b, " MiB");
	} else {
		gort_sb_dec(b, n >> 10);
		gort_sb_str(b, " KiB");
	}
}

/* Reports g's overflow at addr, then ends the process. */
static __attribute__((noreturn)) void overflowed(const gort_g *g, uintptr_t addr)
{
	char buf[192];
	strbuf_t b = {buf, sizeof buf, 0};
	uintptr_t lo = (uintptr_t)g->stack.lo, hi = (uintptr_t)g->stack.hi;
	gort_sb_str(&b, "goroutine ");
	gort_sb_dec(&b, (uint64_t)g->goid);
	gort_sb_str(&b, " (stack ");
	gort_sb_hex(&b, lo);
	gort_sb_str(&b, " size ");
	put_size(&b, hi - lo);
	gort_sb_str(&b, ", guard hit at ");
	gort_sb_hex(&b, addr);
	gort_sb_str(&b, ")");
	gort_report(GORT_ERR_STACK_OVERFLOW, "fault", addr, gort_sb_done(&b));
	abort(); /* the handler returned; the G can neither go on nor unwind */
}

/* An access to a zero-size object (mem/zero.c): named, then handed on like
 * any other fault, whose signal ends the process where it happened. */
static void zero_size_access(uintptr_t addr)
{
	gort_report(GORT_ERR_ZERO_SIZE_ACCESS, NULL, addr,
		    "a zero-size object: no byte of it may be read or written");
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	gort_g *const *slot = tls_curg;
	const gort_g *g = slot ? *(gort_g *const volatile *)slot : NULL;
	/* si_code > 0: raised by the hardware, so si_addr is where. */
	if (g && si->si_code > 0 &&
	    gort_stack_in_guard(&S.stacks, &g->stack, (uintptr_t)si->si_addr))
		overflowed(g, (uintptr_t)si->si_addr);
	if (si->si_code > 0 && gort_zero_contains((uintptr_t)si->si_addr))
		zero_size_access((uintptr_t)si->si_addr);
	gort_os_fault_chain(sig, &prev[sig == SIGBUS], si, uc);
	errno = saved;
}

int gort_fault_init(void)
{
	if (installed)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (gort_os_fault_install(fault_sigs[i], on_fault, &prev[i]) != 0) {
			int e = errno;
			while (i-- > 0)
				gort_os_fault_restore(fault_sigs[i], on_fault, &prev[i]);
			errno = e;
			return -1;
		}
		/* Never chain to ourselves (a program that saved our action
		 * and put it back after a shutdown): the default instead. */
		if ((prev[i].sa_flags & SA_SIGINFO) && prev[i].sa_sigaction == on_fault) {
			prev[i].sa_flags = 0;
			prev[i].sa_handler = SIG_DFL;
		}
	}
	installed = 1;
	return 0;
}

void gort_fault_shutdown(void)
{
	if (!installed)
		return;
	for (int i = 0; i < 2; i++)
		gort_os_fault_restore(fault_sigs[i], on_fault, &prev[i]);
	installed = 0;
}

void gort_fault_thread_start(gort_g *const *curg)
{
	if (!tls_alt.mem)
		gort_os_altstack_on(&tls_alt); /* without one, an overflow is a plain SIGSEGV */
	__atomic_store_n(&tls_curg, curg, __ATOMIC_RELEASE);
}

void gort_fault_thread_stop(void)
{
	__atomic_store_n(&tls_curg, NULL, __ATOMIC_RELEASE);
	gort_os_altstack_off(&tls_alt);
}
