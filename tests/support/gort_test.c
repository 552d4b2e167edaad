/*
 * gort_test.c — the helpers the unit suites share; gort_test.h says what each
 * one does. Linked into every test binary, so it defines no Criterion test
 * and exports only gt_* names.
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gort_test.h"

/* ------------------------------------------------- recording error handler */

struct gt_recorder gt_rec;

/* Reports may come from several threads at once (the misuse races): the
 * fields are written under this lock, and count last, so a thread that sees
 * the count also sees the report. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

void gt_record(const gort_error *e, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&rec_lock);
	gt_rec.kind = e->kind;
	gt_rec.address = e->address;
	snprintf(gt_rec.op, sizeof gt_rec.op, "%s", e->op);
	snprintf(gt_rec.kind_name, sizeof gt_rec.kind_name, "%s", e->kind_name);
	snprintf(gt_rec.detail, sizeof gt_rec.detail, "%s", e->detail ? e->detail : "(null)");
	snprintf(gt_rec.message, sizeof gt_rec.message, "%s", e->message);
	if (__atomic_load_n(&gt_rec.count, __ATOMIC_SEQ_CST) == 0)
		snprintf(gt_rec.first, sizeof gt_rec.first, "%s (op %s)", e->message, e->op);
	__atomic_fetch_add(&gt_rec.count, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&rec_lock);
}

void gt_record_errors(void)
{
	gort_set_error_handler(gt_record, NULL);
}

jmp_buf gt_escape;

void gt_jumping_handler(const gort_error *e, void *ctx)
{
	gt_record(e, ctx);
	longjmp(gt_escape, 1);
}

int gt_reports(void)
{
	return __atomic_load_n(&gt_rec.count, __ATOMIC_SEQ_CST);
}

void gt_reset_reports(void)
{
	pthread_mutex_lock(&rec_lock);
	gt_rec.first[0] = 0;
	__atomic_store_n(&gt_rec.count, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&rec_lock);
}

/* ----------------------------------------------------------------- runtime */

/* The suites written against Go's layout (classes, slots, tiny blocks,
 * exact free counts) run the light preset unless they ask for another;
 * test_harden.c and tests/misuse/ cover default and paranoid. */
void gt_init_config(const gort_config *cfg)
{
	gort_config c = *cfg;
	if (c.harden == GORT_HARDEN_AUTO)
		c.harden = GORT_HARDEN_LIGHT;
	cr_assert_eq(gort_init(&c), 0, "gort_init(arena %zu bytes%s, %s): errno %d", c.arena_bytes,
		     c.threaded ? ", threaded" : "", gort_harden_name(c.harden), errno);
}

void gt_init(size_t arena_bytes)
{
	gort_config cfg = {.arena_bytes = arena_bytes};
	gt_init_config(&cfg);
}

void gt_init_recording(size_t arena_bytes)
{
	gt_init(arena_bytes);
	gt_record_errors();
}

void gt_setup(void)
{
	gt_init_recording(256 * MiB);
	gt_reset_reports();
}

void gt_teardown(void)
{
	gort_shutdown();
}

void gt_start(int threaded, unsigned procs)
{
	gort_config cfg = {.procs = procs, .arena_bytes = 256 * MiB, .threaded = threaded};
	gt_init_config(&cfg);
	gt_record_errors();
}

void gt_finish(void)
{
	gt_expect_clean();
	gort_shutdown();
}

void gt_expect_clean(void)
{
	cr_assert_eq(gt_reports(), 0, "unexpected report: %s", gt_rec.message);
	cr_assert_eq(gort_check(), 0, "gort_check: %s", gt_rec.message);
}

/* -------------------------------------------------------------- heap shape */

gort_run_info gt_expect_one_free_run(void)
{
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	gort_run_info runs[16];
	size_t n = gort_inspect_free_runs(runs, 16);
	cr_assert_eq(n, 1, "%zu free runs, want 1", n);
	cr_assert_eq(runs[0].base, ai.arena_base);
	cr_assert_eq((uintptr_t)runs[0].npages * GORT_PAGE_SIZE, ai.arena_used - ai.arena_base,
		     "free run of %u pages, committed arena of %lu pages", runs[0].npages,
		     (unsigned long)((ai.arena_used - ai.arena_base) / GORT_PAGE_SIZE));
	return runs[0];
}

void gt_expect_only_the_free_span(void)
{
	gort_span_info spans[16];
	size_t n = gort_inspect_spans(spans, 16);
	cr_assert_eq(n, 1, "%zu spans and free runs, want only the free run", n);
	cr_assert_eq(spans[0].state, GORT_SPAN_FREE);
}

size_t gt_count_inuse_spans(int span_class, int owner)
{
	size_t n = gort_inspect_spans(NULL, 0);
	gort_span_info *s = calloc(n + 16, sizeof *s);
	cr_assert_not_null(s);
	size_t got = gort_inspect_spans(s, n + 16);
	size_t inuse = 0;
	for (size_t i = 0; i < got && i < n + 16; i++)
		if (s[i].state == GORT_SPAN_INUSE &&
		    (span_class == GT_ANY || s[i].span_class == span_class) &&
		    (owner == GT_ANY || s[i].owner == owner))
			inuse++;
	free(s);
	return inuse;
}

/* -------------------------------------------------------------------- data */

uint64_t gt_xorshift(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned char pattern(uint64_t id, size_t i)
{
	return (unsigned char)((id * 131 + i * 7 + (i >> 8)) ^ 0x5a);
}

void gt_fill(void *p, size_t n, uint64_t id)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = pattern(id, i);
}

int gt_intact(const void *p, size_t n, uint64_t id)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != pattern(id, i))
			return 0;
	return 1;
}

size_t gt_nonzero_at(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return i;
	return n;
}

static int cmp_interval(const void *a, const void *b)
{
	const gt_interval *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t gt_first_overlap(gt_interval *iv, size_t n)
{
	qsort(iv, n, sizeof *iv, cmp_interval);
	for (size_t i = 1; i < n; i++)
		if (iv[i].lo < iv[i - 1].hi)
			return i;
	return n;
}

/* ----------------------------------------------------------------- process */

size_t gt_rss_bytes(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY);
	cr_assert_geq(fd, 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	unsigned long size = 0, resident = 0;
	cr_assert_eq(sscanf(buf, "%lu %lu", &size, &resident), 2);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

void gt_raw_segv(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

bool gt_readable(const void *p)
{
	char byte;
	struct iovec to = {&byte, 1}, from = {(void *)p, 1};
	ssize_t n = process_vm_readv(getpid(), &to, 1, &from, 1, 0);
	cr_assert(n == 1 || errno == EFAULT, "process_vm_readv: errno %d", errno);
	return n == 1;
}

size_t gt_resident_pages(const void *p, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (n + page - 1) / page;
	unsigned char *vec = calloc(pages, 1);
	cr_assert_not_null(vec);
	cr_assert_eq(mincore((void *)p, n, vec), 0, "mincore: errno %d", errno);
	size_t r = 0;
	for (size_t i = 0; i < pages; i++)
		r += vec[i] & 1;
	free(vec);
	return r;
}
