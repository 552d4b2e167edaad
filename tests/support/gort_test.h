/*
 * gort_test.h — helpers shared by the unit suites (tests/unit/test_*.c),
 * defined in gort_test.c: the recording error handler and its accessors,
 * starting and stopping a runtime for a test, the "nothing reported and
 * gort_check() passes" check, the checks that the heap is empty again, span
 * counts, the xorshift generator, a byte pattern to fill objects with and
 * verify, zero checks, overlap of live objects, and the process's RSS.
 *
 * gort_test.c is linked into every suite, as the Makefile links each .c file
 * under tests/support/ into each test binary: it defines no Criterion test,
 * and every name here starts with gt_ (besides the MiB macro), so it cannot
 * clash with a suite's own static helpers. Include it as
 * "../support/gort_test.h".
 *
 * The helpers that assert use cr_assert, so call them from a test or its
 * fixtures on the test's own thread, never from worker threads.
 */
#ifndef GORT_TEST_H
#define GORT_TEST_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "gort.h"
#include "gort_inspect.h"

#define MiB ((size_t)1 << 20)

/* ------------------------------------------------- recording error handler */

/* What gt_record saw. Read count through gt_reports(); the other fields are
 * written under a lock by whichever thread reports, so read them from the
 * test's thread once the threads that may report have been joined or have
 * passed a barrier with it. */
struct gt_recorder {
	int count; /* reports since the start or gt_reset_reports() */
	/* The last report. */
	gort_error_kind kind;
	uintptr_t address;
	char op[32];
	char kind_name[32];
	char detail[200];
	char message[400];
	/* The first report since the start or gt_reset_reports(), as
	 * "<message> (op <op>)". */
	char first[440];
};
extern struct gt_recorder gt_rec;

/* The handler: records the report in gt_rec and returns. Safe on any thread. */
void gt_record(const gort_error *e, void *ctx);
/* gort_set_error_handler(gt_record, NULL): a misuse is counted instead of
 * aborting the process. */
void gt_record_errors(void);
/* A handler that records the report, then longjmps to gt_escape: a test
 * sets it with setjmp(gt_escape) == 0 around a misuse, to show a handler
 * may leave the call. */
extern jmp_buf gt_escape;
void gt_jumping_handler(const gort_error *e, void *ctx);
/* gt_rec.count, read atomically. */
int gt_reports(void);
/* Forgets the reports so far: the count restarts at 0 and the next report is
 * the first again (the last report's fields stay until the next one). */
void gt_reset_reports(void);

/* ----------------------------------------------------------------- runtime */

/* gort_init(cfg); the test fails unless it succeeds. */
void gt_init_config(const gort_config *cfg);
/* gort_init with an arena of arena_bytes and the default error handler, which
 * aborts on the first misuse. */
void gt_init(size_t arena_bytes);
/* gt_init, then gt_record_errors(). */
void gt_init_recording(size_t arena_bytes);
/* Suite fixtures: .init = gt_setup gives each test a 256 MiB runtime with the
 * recording handler and no report counted; .fini = gt_teardown shuts it down. */
void gt_setup(void);
void gt_teardown(void);

/* A runtime for a scheduler test: step mode (threaded 0) or threaded, with
 * procs Ps, a 256 MiB arena and the recording handler; gt_finish expects
 * it clean (gt_expect_clean) and shuts it down. */
void gt_start(int threaded, unsigned procs);
void gt_finish(void);

/* Resident pages of [p, p+n) (mincore; p page-aligned). */
size_t gt_resident_pages(const void *p, size_t n);

/* Whether the byte at p can be read, without touching it from this thread
 * (process_vm_readv: a fenced page gives EFAULT, not a signal). */
bool gt_readable(const void *p);

/* No report so far, and every invariant holds (gort_check()). */
void gt_expect_clean(void);

/* -------------------------------------------------------------- heap shape */

/* The free pages are one run covering the whole committed arena. Returns it. */
gort_run_info gt_expect_one_free_run(void);
/* That free run is the only span: no span is in use. */
void gt_expect_only_the_free_span(void);

/* The number of in-use spans of span_class (a span class, or GT_ANY) held by
 * owner (an enum gort_span_owner, or GT_ANY). */
#define GT_ANY (-1)
size_t gt_count_inuse_spans(int span_class, int owner);

/* -------------------------------------------------------------------- data */

/* One step of xorshift64*: advances *state and returns the next number. */
uint64_t gt_xorshift(uint64_t *state);

/* Fills n bytes at p with a pattern that depends on id and on the offset;
 * gt_intact is 1 while they still hold it, 0 once any byte differs. */
void gt_fill(void *p, size_t n, uint64_t id);
int gt_intact(const void *p, size_t n, uint64_t id);

/* Offset of the first nonzero byte of the n at p, or n if all are zero. */
size_t gt_nonzero_at(const void *p, size_t n);

/* The bytes [lo, hi) of a live object, and an id to name it by. */
typedef struct {
	uintptr_t lo, hi;
	uint64_t id;
} gt_interval;

/* Sorts iv by lo and returns the index of the first interval that overlaps
 * its predecessor, or n if none does. */
size_t gt_first_overlap(gt_interval *iv, size_t n);

/* ----------------------------------------------------------------- process */

/* Restores the kernel's default action for SIGSEGV and SIGBUS: the
 * sanitizers catch them to print a report (and then abort), while the guard
 * page tests want the kernel's own verdict. */
void gt_raw_segv(void);

/* The process's resident set size in bytes (/proc/self/statm). */
size_t gt_rss_bytes(void);

#endif
