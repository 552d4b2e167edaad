/*
 * test_fault.c — a goroutine's stack overflow named (lib/sched/fault.c), in
 * step mode and threaded mode: the report's exact text through the default
 * reporter and through a recording handler (after which the process must
 * still end), the goroutine it names, gort_config.stack_bytes in the report;
 * faults that are not overflows left alone (a NULL dereference in a G dies
 * as it would without gort, and reaches a handler the program installed);
 * and what a parked G costs with the large lazy stacks: at most 4.5 KiB of
 * RSS each, over 10,000.
 *
 * Each overflow runs in a forked child whose stderr comes back through a
 * pipe: the child must end, and the test reads how and what it wrote.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sched/stack.h"

#include "../support/gort_test.h"

#define KiB ((size_t)1 << 10)

#if defined(GORT_SAN_ADDRESS) || defined(__SANITIZE_ADDRESS__)
#define FAULT_ASAN 1
#endif
#if defined(GORT_SAN_THREAD) || defined(__SANITIZE_THREAD__)
#define FAULT_TSAN 1
#endif

/* TSan cannot start threads in a child forked from a process that has some
 * (Criterion's runner does): its threaded-mode children are skipped there. */
#ifdef FAULT_TSAN
#define CHILD_THREADS_OK 0
#else
#define CHILD_THREADS_OK 1
#endif

TestSuite(fault, .timeout = 120);

/* ---------------------------------------------------------- the child */

typedef struct child {
	int status;
	char out[4096]; /* its stderr */
} child;

/* Runs body(arg) in a child whose stderr is a pipe; the child must not
 * return from body (it exits 0 if it does). */
static void run_child(child *c, void (*body)(void *), void *arg)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: errno %d", errno);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		body(arg);
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < sizeof c->out && (r = read(fds[0], c->out + n, sizeof c->out - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		cr_assert_gt(r, 0, "read: errno %d", errno);
		n += (size_t)r;
	}
	c->out[n] = 0;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &c->status, 0), pid);
}

static bool matches(const char *text, const char *pattern)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0, "bad pattern %s",
		     pattern);
	bool m = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static void expect_signal(const child *c, int sig)
{
	cr_assert(WIFSIGNALED(c->status) && WTERMSIG(c->status) == sig,
		  "the child did not die of signal %d: status %#x, stderr:\n%s", sig, c->status,
		  c->out);
}

/* ------------------------------------------------------ runaway programs */

static volatile int never = 1 << 30;

/* A frame per call that the compiler can neither drop nor turn into a loop:
 * the array is volatile and the call's result is used after it. */
static __attribute__((noinline)) int recurse(int n)
{
	volatile char frame[200];
	frame[n % 200] = (char)n;
	if (n == never)
		return 0;
	return recurse(n + 1) + frame[n % 200];
}

static void runaway_g(void *arg)
{
	(void)arg;
	recurse(0);
}

static void quiet_g(void *arg)
{
	(void)arg;
	gort_yield();
}

static void null_g(void *arg)
{
	(void)arg;
	*(volatile int *)NULL = 1;
}

typedef struct program {
	int threaded;
	size_t stack_bytes;
	int record; /* through a recording handler that returns */
	gort_fn fn; /* the third G */
} program;

/* The recording handler, then the message on stderr for the parent. */
static void record_and_say(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	char line[512];
	int n = snprintf(line, sizeof line, "recorded: %s\n", gt_rec.message);
	if (write(2, line, (size_t)n) < 0)
		_exit(98);
}

/* Two quiet Gs first, so the one that faults is goroutine 3. */
static void run_program(void *arg)
{
	const program *pr = arg;
	gort_config cfg = {
		.procs = pr->threaded ? 2 : 1,
		.threaded = pr->threaded,
		.stack_bytes = pr->stack_bytes,
	};
	if (gort_init(&cfg) != 0)
		_exit(97);
	if (pr->record)
		gort_set_error_handler(record_and_say, NULL);
	gort_go(quiet_g, NULL);
	gort_go(quiet_g, NULL);
	gort_go(pr->fn, NULL);
	gort_run();
	_exit(0); /* not reached: the third G never ends */
}

#define OVERFLOW_LINE "stack overflow in goroutine 3 \\(stack 0x([0-9a-f]+) size %s, guard hit at 0x([0-9a-f]+)\\)"

/* The report as the issue of it reads, and its addresses as they must be:
 * the guard hit lies in the 64 KiB under the stack's lowest byte. */
static void expect_overflow(const child *c, const char *prefix, const char *size)
{
	char pat[256];
	snprintf(pat, sizeof pat, "^%s" OVERFLOW_LINE "$", prefix, size);
	cr_assert(matches(c->out, pat), "no `%s` line in:\n%s", pat, c->out);
	const char *at = strstr(c->out, "(stack 0x");
	cr_assert_not_null(at);
	unsigned long long lo = 0, hit = 0;
	cr_assert_eq(sscanf(at, "(stack 0x%llx size %*u %*s guard hit at 0x%llx)", &lo, &hit), 2);
	cr_assert(hit < lo && hit >= lo - GORT_STACK_GUARD_BYTES,
		  "guard hit at %#llx, stack at %#llx", hit, lo);
	expect_signal(c, SIGABRT);
}

static void overflow_case(int threaded, int record)
{
	if (threaded && !CHILD_THREADS_OK) {
		cr_log_info("threaded mode in a forked child: not under TSan");
		return;
	}
	program pr = {.threaded = threaded, .stack_bytes = 64 * KiB, .record = record,
		      .fn = runaway_g};
	child c;
	run_child(&c, run_program, &pr);
	cr_log_info("%s", c.out);
	expect_overflow(&c, record ? "recorded: " : "gort: ", "64 KiB");
}

Test(fault, overflow_is_named_in_step_mode)
{
	overflow_case(0, 0);
}

Test(fault, overflow_is_named_in_threaded_mode)
{
	overflow_case(1, 0);
}

/* A handler that returns does not let the G go on: the process ends. */
Test(fault, overflow_through_a_recording_handler_still_ends_the_process)
{
	overflow_case(0, 1);
	overflow_case(1, 1);
}

Test(fault, the_report_gives_the_stack_size_configured)
{
	program pr = {.threaded = 0, .stack_bytes = 256 * KiB, .fn = runaway_g};
	child c;
	run_child(&c, run_program, &pr);
	expect_overflow(&c, "gort: ", "256 KiB");

	pr.stack_bytes = 0;
	run_child(&c, run_program, &pr);
	expect_overflow(&c, "gort: ", GORT_STACK_DEFAULT_USABLE == MiB ? "1 MiB" : "64 KiB");

	pr.threaded = CHILD_THREADS_OK;
	pr.stack_bytes = 2 * MiB + 100; /* rounded up to pages */
	run_child(&c, run_program, &pr);
	expect_overflow(&c, "gort: ", "2052 KiB");
}

/* ------------------------------------------------- faults that are not ours */

/* What a fault does without gort: SIGSEGV, or a sanitizer's report. */
static void expect_plain_segv(const child *c)
{
	cr_assert_null(strstr(c->out, "stack overflow"), "reported as an overflow:\n%s", c->out);
#if defined(FAULT_ASAN)
	/* ASan exits with an error, or aborts (ASAN_OPTIONS=abort_on_error=1). */
	cr_assert((WIFEXITED(c->status) && WEXITSTATUS(c->status) != 0) ||
			  (WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT),
		  "status %#x", c->status);
	cr_assert_not_null(strstr(c->out, "SEGV"), "no sanitizer report:\n%s", c->out);
#elif defined(FAULT_TSAN)
	cr_assert(!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0, "status %#x", c->status);
#else
	expect_signal(c, SIGSEGV);
#endif
}

Test(fault, a_null_dereference_in_a_g_is_an_ordinary_segfault)
{
	for (int threaded = 0; threaded <= CHILD_THREADS_OK; threaded++) {
		program pr = {.threaded = threaded, .fn = null_g};
		child c;
		run_child(&c, run_program, &pr);
		expect_plain_segv(&c);
	}
}

static void users_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char line[64];
	int n = snprintf(line, sizeof line, "user handler: signal %d at %p\n", sig, si->si_addr);
	if (write(2, line, (size_t)n) < 0)
		_exit(98);
	_exit(7);
}

static void program_with_a_handler(void *arg)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = users_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	run_program(arg);
}

/* A program's own SIGSEGV handler, installed before gort_init, still gets
 * the faults that are not overflows. */
Test(fault, other_faults_reach_the_programs_own_handler)
{
	for (int threaded = 0; threaded <= CHILD_THREADS_OK; threaded++) {
		program pr = {.threaded = threaded, .fn = null_g};
		child c;
		run_child(&c, program_with_a_handler, &pr);
		cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 7,
			  "status %#x, stderr:\n%s", c.status, c.out);
		cr_assert(matches(c.out, "^user handler: signal 11 at (0x0|\\(nil\\))$"), "%s", c.out);
	}
}

/* gort_shutdown puts the program's action back. */
Test(fault, shutdown_restores_the_previous_action)
{
	struct sigaction before, during, after;
	cr_assert_eq(sigaction(SIGSEGV, NULL, &before), 0);
	gt_start(0, 1);
	cr_assert_eq(sigaction(SIGSEGV, NULL, &during), 0);
	cr_assert(during.sa_flags & SA_ONSTACK, "gort's handler does not run on the signal stack");
	gt_finish();
	cr_assert_eq(sigaction(SIGSEGV, NULL, &after), 0);
	cr_assert_eq((void *)after.sa_handler, (void *)before.sa_handler);
}

/* ------------------------------------------------------ a parked G's cost */

#define PARKED 10000

static void park_g(void *arg)
{
	(void)arg;
	gort_park("test");
}

/* Fills step mode's event log: a ring of fixed size (5.6 MiB), which
 * would otherwise grow with the first 30,000 Gs and be counted as theirs. */
static void yield_g(void *arg)
{
	(void)arg;
	for (int i = 0; i < GORT_EVENT_LOG_CAP; i++)
		gort_yield();
}

static void parked_cost(int threaded)
{
	gt_start(threaded, 2);
	/* Warm up: the first Gs map the G table, index and caches. */
	gort_go(yield_g, NULL);
	int64_t first = gort_go(park_g, NULL);
	gort_run();
	gt_reset_reports();
	size_t rss0 = gt_rss_bytes();
	for (int i = 0; i < PARKED; i++)
		cr_assert_gt(gort_go(park_g, NULL), 0);
	int parked = gort_run(); /* threaded: reports a deadlock, recorded */
	size_t rss1 = gt_rss_bytes();
	cr_assert_eq(parked, PARKED + 1);
	double per_g = (double)(rss1 > rss0 ? rss1 - rss0 : 0) / PARKED;
	cr_log_info("%s mode: %d parked Gs on %zu KiB stacks: %.0f bytes of RSS each",
		    threaded ? "threaded" : "step", PARKED, GORT_STACK_DEFAULT_USABLE / KiB, per_g);
#if !defined(FAULT_ASAN) && !defined(FAULT_TSAN)
	/* Sanitizers add their shadow of every page touched. */
	cr_assert_leq(per_g, 4.5 * 1024, "a parked G costs %.0f bytes", per_g);
#endif
	/* Let them all end. */
	gt_reset_reports();
	for (int64_t id = first; id <= first + PARKED; id++)
		while (gort_ready(id) != 0)
			; /* threaded: a G is parked only once off its stack */
	cr_assert_eq(gort_run(), 0);
	gt_finish();
}

Test(fault, a_parked_g_costs_at_most_4_5_kib_in_step_mode)
{
	parked_cost(0);
}

Test(fault, a_parked_g_costs_at_most_4_5_kib_in_threaded_mode)
{
	parked_cost(1);
}
