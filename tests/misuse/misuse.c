/*
 * misuse.c — one deliberate misuse of the heap (or the scheduler) per run,
 * for tests/misuse/test_misuse.sh, which checks how each run ends.
 *
 * Usage: misuse CASE [SIZE]
 *
 * Built twice: misuse_libc calls the C library's functions and is run with
 * LD_PRELOAD=libgortmalloc.so; misuse_gort (-DMISUSE_GORT) calls gort_*
 * directly and also holds the cases only the API can express (re-init, the
 * scheduler). The preset comes from $GORT_HARDEN in both.
 *
 * A case that gets past its misuse prints "not caught: ..." and exits 0; one
 * that checks a return value (NULL and errno, -1) exits 0 when it is right
 * and 3 when it is not. Pointers go through launder() and the allocation
 * calls through noinline wrappers, so the compiler can neither see the
 * misuse (and warn, or delete it) nor fold a malloc/free pair away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef MISUSE_GORT
#include "gort.h"
#include "gort_inspect.h"
#define X_MALLOC gort_malloc
#define X_FREE gort_free
#define X_REALLOC gort_realloc
#define X_CALLOC gort_calloc
#define X_USABLE gort_usable_size
#define X_ALIGNED gort_aligned_alloc
#else
#define X_MALLOC malloc
#define X_FREE free
#define X_REALLOC realloc
#define X_CALLOC calloc
#define X_USABLE malloc_usable_size
#define X_ALIGNED aligned_alloc
#endif

static size_t size = 8;

static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* A size the compiler cannot see (it rejects impossible constants). */
static size_t opaque(size_t n)
{
	__asm__ volatile("" : "+r"(n));
	return n;
}

__attribute__((noinline)) static char *m_alloc(size_t n)
{
	return launder(X_MALLOC(n));
}
__attribute__((noinline)) static void m_free(void *p)
{
	X_FREE(launder(p));
}
__attribute__((noinline)) static void *m_realloc(void *p, size_t n)
{
	return launder(X_REALLOC(launder(p), n));
}
__attribute__((noinline)) static size_t m_usable(void *p)
{
	return X_USABLE(launder(p));
}

static void not_caught(const char *what)
{
	printf("not caught: %s\n", what);
	fflush(stdout);
	exit(0);
}

static void fail(const char *what)
{
	printf("wrong: %s (errno %d)\n", what, errno);
	fflush(stdout);
	exit(3);
}

/* Allocate and free objects of the case's size many times: enough for a
 * slot freed earlier to leave any quarantine and be handed out again. */
static void churn(void)
{
	int rounds = size > 32768 ? 2000 : 100000;
	for (int i = 0; i < rounds; i++)
		m_free(m_alloc(size));
}

/* ----------------------------------------------------------- double free */

static void double_free(void)
{
	char *p = m_alloc(size);
	m_free(p);
	m_free(p);
	not_caught("double free");
}

static void double_free_delayed(void)
{
	char *p = m_alloc(size), *q[64];
	for (int i = 0; i < 64; i++)
		q[i] = m_alloc(size);
	m_free(p);
	for (int i = 0; i < 64; i++)
		m_free(q[i]);
	m_free(p);
	not_caught("double free after 64 other frees");
}

static void double_free_interleaved(void)
{
	char *p = m_alloc(size), *q = m_alloc(size);
	m_free(p);
	m_free(q);
	m_free(p);
	not_caught("free p, free q, free p");
}

static void double_free_reused(void)
{
	char *p = m_alloc(size);
	m_free(p);
	char *q = m_alloc(size);
	m_free(p);
	printf("q %s p\n", q == p ? "==" : "!=");
	not_caught("double free after the slot was handed out again");
}

static void *free_in_thread(void *p)
{
	m_free(p);
	return NULL;
}

static void double_free_thread(void)
{
	char *p = m_alloc(size);
	pthread_t t;
	if (pthread_create(&t, NULL, free_in_thread, p) != 0)
		fail("pthread_create");
	pthread_join(t, NULL);
	m_free(p);
	not_caught("double free, first on another thread");
}

/* ---------------------------------------------------------- invalid free */

static char global_object[64];

static void free_one(void)
{
	m_free((void *)1);
	not_caught("free((void *)1)");
}

static void free_stack(void)
{
	char local[64];
	memset(local, 1, sizeof local);
	m_free(local);
	not_caught("free of a stack address");
}

static void free_global(void)
{
	m_free(global_object);
	not_caught("free of a global");
}

static void free_foreign_mmap(void)
{
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	m_free(p);
	not_caught("free of a foreign mmap");
}

static void free_plus(size_t k)
{
	char *p = m_alloc(size);
	m_free(p + k);
	not_caught("free of p + k");
}
static void free_plus1(void)
{
	free_plus(1);
}
static void free_plus8(void)
{
	free_plus(8);
}
static void free_plus16(void)
{
	free_plus(16);
}
static void free_inside_large(void)
{
	free_plus(4096);
}

static void free_never_allocated(void)
{
	char *p = m_alloc(size);
	m_free(p + ((size_t)256 << 20));
	not_caught("free of an arena address never handed out");
}

/* ------------------------------------------ realloc and usable size */

static void realloc_freed(void)
{
	char *p = m_alloc(size);
	m_free(p);
	if (m_realloc(p, size * 2) == NULL)
		not_caught("realloc of a freed pointer returned NULL");
	not_caught("realloc of a freed pointer");
}

static void realloc_interior(void)
{
	char *p = m_alloc(size);
	m_realloc(p + 1, size * 2);
	not_caught("realloc of p + 1");
}

static void usable_freed(void)
{
	char *p = m_alloc(size);
	m_free(p);
	printf("usable %zu\n", m_usable(p));
	not_caught("usable size of a freed pointer");
}

static void usable_interior(void)
{
	char *p = m_alloc(size);
	printf("usable %zu\n", m_usable(p + 1));
	not_caught("usable size of p + 1");
}

/* -------------------------------------------------------------- overflow */

static void overflow_1(void)
{
	volatile char *p = m_alloc(size);
	p[size] = 'A';
	m_free((void *)p);
	not_caught("1-byte overflow");
}

static void overflow_8(void)
{
	volatile char *p = m_alloc(size);
	p[size + 7] ^= 1;
	m_free((void *)p);
	not_caught("8-byte overflow");
}

/* An object that is never freed: only paranoid's check of every live
 * canary at exit (the drop-in's) sees its overflow. */
static void overflow_never_freed(void)
{
	volatile char *p = m_alloc(size);
	p[size + 1] ^= 1;
	not_caught("overflow of an object never freed, then exit");
}

/* 32 bytes past the object, over its canary word: small, into the slot
 * after it, which if free must still read zero when the object is freed;
 * large, into the pattern bytes after the canary word. */
static void overflow_32(void)
{
	volatile char *p = m_alloc(size);
	p[size + 31] ^= 'A';
	m_free((void *)p);
	not_caught("32 bytes past the object, then free");
}

/* -------------------------------------------------------- use after free */

static void write_after_free(void)
{
	volatile char *p = m_alloc(size);
	m_free((void *)p);
	p[size / 2] = 'A';
	churn();
	not_caught("write after free");
}

/* Default watches a freed slot's first 128 bytes (gort.h): a write there
 * is caught at any size, one in the middle of a big slot only by paranoid. */
static void write_after_free_head(void)
{
	volatile char *p = m_alloc(size);
	m_free((void *)p);
	p[1] = 'A';
	churn();
	not_caught("write after free into the object's first bytes");
}

/* Found at the next allocation of any size: the slot just quarantined is
 * looked at by every malloc. */
static void write_after_free_then_malloc(void)
{
	volatile char *p = m_alloc(size);
	m_free((void *)p);
	p[0] = 'A';
	m_free(m_alloc(size * 3 + 1000));
	not_caught("write after free, then a malloc of another size");
}

static void write_after_free_reuse(void)
{
	volatile char *p = m_alloc(size);
	m_free((void *)p);
	char *q = m_alloc(size);
	p[size / 2] = 'A';
	m_free(q);
	churn();
	not_caught("write after free, the size allocated again in between");
}

static void read_after_free(void)
{
	volatile char *p = m_alloc(size);
	memset((void *)p, 'x', size);
	m_free((void *)p);
	printf("read %d\n", p[size / 2]);
	not_caught("read after free");
}

/* ---------------------------------------------------- impossible requests */

static void malloc_huge(void)
{
	errno = 0;
	if (X_MALLOC(opaque(SIZE_MAX - 4096)) != NULL || errno != ENOMEM)
		fail("malloc(SIZE_MAX - 4096) is not NULL with ENOMEM");
	errno = 0;
	if (X_MALLOC(opaque((size_t)1 << 62)) != NULL || errno != ENOMEM)
		fail("malloc(2^62) is not NULL with ENOMEM");
}

static void calloc_huge(void)
{
	errno = 0;
	if (X_CALLOC(opaque(SIZE_MAX / 2 + 1), 2) != NULL || errno != ENOMEM)
		fail("calloc overflowing size_t is not NULL with ENOMEM");
	errno = 0;
	if (X_CALLOC(opaque((size_t)1 << 31), (size_t)1 << 31) != NULL || errno != ENOMEM)
		fail("calloc(2^31, 2^31) is not NULL with ENOMEM");
}

static void aligned_huge(void)
{
	errno = 0;
	if (X_ALIGNED(64, opaque(SIZE_MAX / 2)) != NULL || errno != ENOMEM)
		fail("aligned_alloc(64, SIZE_MAX / 2) is not NULL with ENOMEM");
}

static void malloc_zero(void)
{
	char *p = m_alloc(0), *q = m_alloc(0);
	if (!p || !q || p == q)
		fail("two malloc(0) are not two distinct pointers");
	m_free(p);
	m_free(q);
}

static void memalign_bad(void)
{
	void *p = NULL;
#ifdef MISUSE_GORT
	errno = 0;
	if (gort_aligned_alloc(opaque(3), 16) != NULL || errno != EINVAL)
		fail("gort_aligned_alloc(opaque(3), 16) is not NULL with EINVAL");
	errno = 0;
	if (gort_aligned_alloc(opaque(0), 16) != NULL || errno != EINVAL)
		fail("gort_aligned_alloc(opaque(0), 16) is not NULL with EINVAL");
	(void)p;
#else
	if (posix_memalign(&p, opaque(3), 16) != EINVAL)
		fail("posix_memalign(3) is not EINVAL");
	if (posix_memalign(&p, opaque(sizeof(void *) / 2), 16) != EINVAL)
		fail("posix_memalign(sizeof(void *) / 2) is not EINVAL");
	if (posix_memalign(&p, opaque(0), 16) != EINVAL)
		fail("posix_memalign(0) is not EINVAL");
	if (posix_memalign(&p, 64, 16) != 0 || ((uintptr_t)p & 63) != 0)
		fail("posix_memalign(64) failed");
	free(p);
#endif
}

/* ------------------------------------------------------ the drop-in's */
#ifndef MISUSE_GORT
/* C++'s operators, by their Itanium names: weak, so that this C program
 * links without a C++ runtime; the drop-in provides them. */
extern void *_Znwm(size_t) __attribute__((weak));
extern void *_Znam(size_t) __attribute__((weak));
extern void _ZdlPv(void *) __attribute__((weak));
extern void _ZdaPv(void *) __attribute__((weak));
extern void _ZdlPvm(void *, size_t) __attribute__((weak));

static void zero_read(void)
{
	volatile char *p = m_alloc(0);
	printf("read %d\n", p[0]);
	not_caught("read of a zero-size object");
}

static void zero_write(void)
{
	volatile char *p = m_alloc(0);
	p[0] = 'A';
	not_caught("write to a zero-size object");
}

static void zero_read_freed(void)
{
	volatile char *p = m_alloc(0);
	m_free((void *)p);
	printf("read %d\n", p[0]);
	not_caught("read of a freed zero-size object");
}

static void new_delete_array(void)
{
	_ZdaPv(launder(_Znwm(size)));
	not_caught("new freed with delete[]");
}

static void new_array_delete(void)
{
	_ZdlPv(launder(_Znam(size)));
	not_caught("new[] freed with delete");
}

static void new_free(void)
{
	m_free(_Znwm(size));
	not_caught("new freed with free");
}

static void malloc_delete(void)
{
	_ZdlPv(m_alloc(size));
	not_caught("malloc freed with delete");
}

static void sized_delete_wrong(void)
{
	_ZdlPvm(launder(_Znwm(size)), size * 8 + 64);
	not_caught("sized delete with the wrong size");
}

static void memcpy_overflow(void)
{
	char *p = m_alloc(size), src[64] = {0};
	memcpy(launder(p) + size - 1, src, opaque(2));
	not_caught("memcpy one byte past the end");
}

static void usable_one(void)
{
	printf("usable %zu\n", m_usable((void *)1));
	not_caught("malloc_usable_size((void *)1)");
}

static void realloc_one(void)
{
	m_realloc((void *)1, 16);
	not_caught("realloc((void *)1, 16)");
}
#endif

/* ------------------------------------------------- the API's own cases */
#ifdef MISUSE_GORT

/* The first object of a fresh heap sits at the bottom of its range, above
 * the range's guard: a write just before it faults. */
static void underflow_first(void)
{
	volatile char *p = m_alloc(size);
	p[-1] ^= 1;
	m_free((void *)p);
	not_caught("write before the heap's first object");
}

static void free_after_reinit(void)
{
	char *p = m_alloc(size);
	gort_shutdown();
	if (gort_init(NULL) != 0)
		fail("gort_init again");
	m_free(p);
	not_caught("free of a pointer from before gort_shutdown");
}

/* Bounded only by a limit no stack reaches, so the compiler sees an end. */
__attribute__((noinline)) static int recurse(int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	if ((size_t)depth > opaque(1) << 40)
		return 0;
	return recurse(depth + 1) + frame[0];
}

static void overflow_g(void *arg)
{
	(void)arg;
	recurse(0);
}

static void stack_overflow(void)
{
	gort_go(overflow_g, NULL);
	gort_run();
	not_caught("unbounded recursion in a G");
}

/* Writes just below the bottom of its own stack (found with the
 * inspector), as a frame too big for what is left would: the guard there
 * faults, and the fault is named as an overflow of this G. */
static void write_below_stack(void *arg)
{
	(void)arg;
	gort_g_info gs[64];
	size_t n = gort_inspect_gs(gs, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		if (gs[i].goid == gort_self())
			memset((char *)gs[i].stack_lo - 16, 0x41, 16);
	gort_yield();
}

static void stack_guard(void)
{
	gort_go(write_below_stack, NULL);
	gort_run();
	not_caught("a G wrote below its stack");
}

static int64_t running_ready_rc;

static void ready_self(void *arg)
{
	(void)arg;
	running_ready_rc = gort_ready(gort_self());
}

static void ready_running(void)
{
	gort_go(ready_self, NULL);
	if (gort_run() != 0 || running_ready_rc != -1)
		fail("gort_ready of the running G did not fail");
}

static void nothing(void *arg)
{
	(void)arg;
}

static void ready_dead(void)
{
	int64_t id = gort_go(nothing, NULL);
	if (gort_run() != 0)
		fail("gort_run");
	if (gort_ready(id) != -1)
		fail("gort_ready of a dead G did not fail");
	if (gort_step() != 0)
		fail("a dead G ran again");
}

static void park_forever(void *arg)
{
	(void)arg;
	gort_park("forever");
}

static void deadlock(void)
{
	gort_shutdown();
	gort_config cfg = {.procs = 2, .threaded = 1};
	if (gort_init(&cfg) != 0)
		fail("gort_init threaded");
	gort_go(park_forever, NULL);
	gort_run();
	not_caught("every G parked");
}
#endif

/* ----------------------------------------------------------------- main */

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{"double_free", double_free},
	{"double_free_delayed", double_free_delayed},
	{"double_free_interleaved", double_free_interleaved},
	{"double_free_reused", double_free_reused},
	{"double_free_thread", double_free_thread},
	{"free_one", free_one},
	{"free_stack", free_stack},
	{"free_global", free_global},
	{"free_foreign_mmap", free_foreign_mmap},
	{"free_plus1", free_plus1},
	{"free_plus8", free_plus8},
	{"free_plus16", free_plus16},
	{"free_inside_large", free_inside_large},
	{"free_never_allocated", free_never_allocated},
	{"realloc_freed", realloc_freed},
	{"realloc_interior", realloc_interior},
	{"usable_freed", usable_freed},
	{"usable_interior", usable_interior},
	{"overflow_1", overflow_1},
	{"overflow_8", overflow_8},
	{"overflow_never_freed", overflow_never_freed},
	{"write_after_free", write_after_free},
	{"write_after_free_head", write_after_free_head},
	{"write_after_free_then_malloc", write_after_free_then_malloc},
	{"overflow_32", overflow_32},
	{"write_after_free_reuse", write_after_free_reuse},
	{"read_after_free", read_after_free},
	{"malloc_huge", malloc_huge},
	{"calloc_huge", calloc_huge},
	{"aligned_huge", aligned_huge},
	{"malloc_zero", malloc_zero},
	{"memalign_bad", memalign_bad},
#ifndef MISUSE_GORT
	{"zero_read", zero_read},
	{"zero_write", zero_write},
	{"zero_read_freed", zero_read_freed},
	{"new_delete_array", new_delete_array},
	{"new_array_delete", new_array_delete},
	{"new_free", new_free},
	{"malloc_delete", malloc_delete},
	{"sized_delete_wrong", sized_delete_wrong},
	{"memcpy_overflow", memcpy_overflow},
	{"usable_one", usable_one},
	{"realloc_one", realloc_one},
#else
	{"underflow_first", underflow_first},
#endif
#ifdef MISUSE_GORT
	{"free_after_reinit", free_after_reinit},
	{"stack_overflow", stack_overflow},
	{"stack_guard", stack_guard},
	{"ready_running", ready_running},
	{"ready_dead", ready_dead},
	{"deadlock", deadlock},
#endif
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CASE [SIZE]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		size = strtoull(argv[2], NULL, 0);
#ifdef MISUSE_GORT
	if (gort_init(NULL) != 0) {
		perror("gort_init");
		return 2;
	}
#endif
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			return 0;
		}
	fprintf(stderr, "%s: no case %s\n", argv[0], argv[1]);
	return 2;
}
