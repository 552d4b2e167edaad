/*
 * alloc.c — the allocator workloads of `make bench`, one per run.
 *
 * Calls plain malloc/free, so the allocator under test is chosen with
 * LD_PRELOAD (none: the C library's). Every workload draws from splitmix64
 * with a fixed seed, touches the first and last byte of each block it gets
 * and reads them back before freeing, so no allocator can skip the memory.
 *
 * Usage: alloc WORKLOAD [-n OPS] [-t THREADS] [-L LIVE_BYTES] [-S SEED]
 *
 *   churn      each thread: 1,000 slots; free a random slot, allocate 8-512 B
 *   mixed      the same with sizes 8 B-32 KiB, log-uniform
 *   large      64 slots per thread, sizes 32 KiB-1 MiB, log-uniform
 *   huge       32 slots per thread, sizes 64 KiB-4 MiB, log-uniform (run with
 *              -t 1 and -t 2: does large-object throughput scale?)
 *   prodcons   thread 0 allocates 8-512 B and passes blocks through a ring;
 *              thread 1 frees them (every free is a cross-thread free)
 *   larson     each thread churns 1,000 slots; one block in 8 is handed to
 *              another thread's mailbox instead, which that thread frees
 *              (Larson and Krishnan's server simulation, after its idea)
 *   scratch    the main thread allocates one 8-byte object per thread, back
 *              to back; each thread frees its own, then repeatedly allocates
 *              8 bytes, writes them 1,000 times and frees them (Hoard's
 *              cache-scratch: a shared cache line makes the writes slow)
 *   growth     one thread fills LIVE_BYTES with 16-256 B objects, then churns
 *              through them: cost per operation against the live heap size
 *
 * Output, one line:
 *   alloc workload=W threads=T ops=N ns_per_op=X peak_rss_kb=R
 * ns_per_op = wall-clock ns of the timed phase / operations of one thread
 * (the threads run together), peak_rss_kb = getrusage's ru_maxrss. For
 * scratch an operation is one write, for prodcons one block passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct worker worker_t;
typedef void work_fn(worker_t *w);

struct worker {
	pthread_t thread;
	int id, nthreads;
	uint64_t seed;
	unsigned long long ops;
	size_t live;
	work_fn *fn;
	pthread_barrier_t *start;
	unsigned long long sum;
	int failed;
	worker_t *all;
	/* mailbox (larson) */
	pthread_mutex_t lock;
	void **box;
	size_t nbox, capbox;
	/* scratch: the object the main thread made for this thread */
	char *given;
	double t0, t1; /* the timed phase */
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Each thread times itself, from the moment all are released to the end
 * of its loop; the run's time is the earliest start to the latest end (the
 * main thread may not even be running when the workers start). */
static void timed_start(worker_t *w)
{
	pthread_barrier_wait(w->start);
	w->t0 = now_ns();
}

static void timed_end(worker_t *w)
{
	w->t1 = now_ns();
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A size in [lo, hi], log-uniform: as many small as large doublings. */
static size_t log_uniform(uint64_t r, size_t lo, size_t hi)
{
	unsigned lo_bits = 63u - (unsigned)__builtin_clzll(lo);
	unsigned hi_bits = 63u - (unsigned)__builtin_clzll(hi);
	unsigned e = lo_bits + (unsigned)(r % (hi_bits - lo_bits + 1));
	size_t base = (size_t)1 << e;
	size_t n = base + (size_t)((r >> 16) % base);
	return n < lo ? lo : n > hi ? hi : n;
}

static char *get(worker_t *w, size_t n, unsigned long long i)
{
	char *p = malloc(n);
	if (!p) {
		w->failed = 1;
		return NULL;
	}
	p[0] = (char)i;
	p[n - 1] = (char)(i >> 8);
	return p;
}

static void put(worker_t *w, char *p, size_t n)
{
	w->sum += (unsigned char)p[0] + (unsigned char)p[n - 1];
	free(p);
}

/* ---------------------------------------------------------------- slots */

typedef struct {
	char **p;
	size_t *n;
	size_t count;
} slots_t;

static int slots_make(slots_t *s, size_t count)
{
	s->count = count;
	s->p = calloc(count, sizeof *s->p);
	s->n = calloc(count, sizeof *s->n);
	return s->p && s->n ? 0 : -1;
}

static void slots_free(worker_t *w, slots_t *s)
{
	for (size_t k = 0; k < s->count; k++)
		if (s->p[k])
			put(w, s->p[k], s->n[k]);
	free(s->p);
	free(s->n);
}

/* Replace slot k by a new block of n bytes. */
static void replace(worker_t *w, slots_t *s, size_t k, size_t n, unsigned long long i)
{
	if (s->p[k])
		put(w, s->p[k], s->n[k]);
	s->p[k] = get(w, n, i);
	s->n[k] = n;
}

static void slot_churn(worker_t *w, size_t count, size_t lo, size_t hi, int logsizes)
{
	slots_t s;
	uint64_t rng = w->seed;
	if (slots_make(&s, count) != 0)
		w->failed = 1;
	timed_start(w);
	for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
		uint64_t r = splitmix64(&rng);
		size_t n = logsizes ? log_uniform(r >> 8, lo, hi) : lo + (size_t)((r >> 32) % (hi - lo + 1));
		replace(w, &s, (size_t)(r % count), n, i);
	}
	timed_end(w);
	slots_free(w, &s);
}

static void work_churn(worker_t *w)
{
	slot_churn(w, 1000, 8, 512, 0);
}

static void work_mixed(worker_t *w)
{
	slot_churn(w, 1000, 8, 32768, 1);
}

static void work_large(worker_t *w)
{
	slot_churn(w, 64, 32768, 1 << 20, 1);
}

static void work_huge(worker_t *w)
{
	slot_churn(w, 32, 65536, 4 << 20, 1);
}

/* ------------------------------------------------------------- prodcons */

#define RING 4096
static char *ring[RING];
static unsigned long long ring_head, ring_tail; /* producer writes head, consumer tail */

/* Spin a little, then give the CPU away: on a busy machine the other
 * thread may not be running at all. */
static void relax(unsigned spins)
{
	if (spins % 64 == 63)
		sched_yield();
}

static void work_prodcons(worker_t *w)
{
	uint64_t rng = w->seed;
	timed_start(w);
	if (w->id == 0) {
		for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
			size_t n = 8 + (size_t)(splitmix64(&rng) % 505);
			char *p = get(w, n, i);
			if (p)
				*(uint16_t *)p = (uint16_t)n;
			for (unsigned spins = 0;
			     i - __atomic_load_n(&ring_tail, __ATOMIC_ACQUIRE) >= RING; spins++)
				relax(spins);
			ring[i % RING] = p;
			__atomic_store_n(&ring_head, i + 1, __ATOMIC_RELEASE);
		}
		timed_end(w);
		return;
	}
	for (unsigned long long i = 0; i < w->ops; i++) {
		for (unsigned spins = 0; __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) <= i; spins++)
			relax(spins);
		char *p = ring[i % RING];
		__atomic_store_n(&ring_tail, i + 1, __ATOMIC_RELEASE);
		if (p)
			put(w, p, *(uint16_t *)p);
	}
	timed_end(w);
}

/* --------------------------------------------------------------- larson */

static void mail(worker_t *to, char *p)
{
	pthread_mutex_lock(&to->lock);
	if (to->nbox == to->capbox) {
		size_t cap = to->capbox ? to->capbox * 2 : 1024;
		void **b = realloc(to->box, cap * sizeof *b);
		if (!b) {
			pthread_mutex_unlock(&to->lock);
			free(p);
			return;
		}
		to->box = b;
		to->capbox = cap;
	}
	to->box[to->nbox++] = p;
	pthread_mutex_unlock(&to->lock);
}

/* Free what other threads sent, a few at a time (all of it at the end). */
static void drain(worker_t *w, size_t max)
{
	pthread_mutex_lock(&w->lock);
	while (w->nbox > 0 && max-- > 0) {
		char *p = w->box[--w->nbox];
		put(w, p, *(uint16_t *)p);
	}
	pthread_mutex_unlock(&w->lock);
}

static void work_larson(worker_t *w)
{
	slots_t s;
	uint64_t rng = w->seed;
	if (slots_make(&s, 1000) != 0)
		w->failed = 1;
	timed_start(w);
	for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
		uint64_t r = splitmix64(&rng);
		size_t k = (size_t)(r % s.count), n = 8 + (size_t)((r >> 32) % 505);
		replace(w, &s, k, n, i);
		if (s.p[k])
			*(uint16_t *)s.p[k] = (uint16_t)n;
		if (w->nthreads > 1 && ((r >> 20) & 7) == 0 && s.p[k]) {
			mail(&w->all[(w->id + 1 + (r >> 24) % (w->nthreads - 1)) % w->nthreads], s.p[k]);
			s.p[k] = NULL;
		}
		drain(w, 2);
	}
	timed_end(w);
	slots_free(w, &s);
	drain(w, SIZE_MAX);
}

/* -------------------------------------------------------------- scratch */

#define SCRATCH_WRITES 1000

static void work_scratch(worker_t *w)
{
	timed_start(w);
	free(w->given);
	unsigned long long rounds = w->ops / SCRATCH_WRITES;
	for (unsigned long long i = 0; i < rounds && !w->failed; i++) {
		volatile char *p = malloc(8);
		if (!p) {
			w->failed = 1;
			break;
		}
		for (int k = 0; k < SCRATCH_WRITES; k++)
			p[k & 7] = (char)(p[k & 7] + 1);
		w->sum += (unsigned char)p[0];
		free((void *)p);
	}
	timed_end(w);
}

/* --------------------------------------------------------------- growth */

/* Filled before the barrier, so only the churn through the live heap is
 * timed. */
static void work_growth(worker_t *w)
{
	slots_t s;
	uint64_t rng = w->seed;
	size_t count = w->live / 136 + 1; /* 136 B: the mean of 16-256 */
	if (slots_make(&s, count) != 0)
		w->failed = 1;
	for (size_t k = 0; k < count && !w->failed; k++) {
		uint64_t r = splitmix64(&rng);
		replace(w, &s, k, 16 + (size_t)(r % 241), k);
	}
	timed_start(w);
	for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
		uint64_t r = splitmix64(&rng);
		replace(w, &s, (size_t)(r % count), 16 + (size_t)((r >> 32) % 241), i);
	}
	timed_end(w);
	slots_free(w, &s);
}

/* ----------------------------------------------------------------- main */

static const struct {
	const char *name;
	work_fn *fn;
	unsigned long long ops; /* default operations per thread */
	int threads;            /* default threads; prodcons needs exactly 2 */
} workloads[] = {
	{"churn", work_churn, 10000000, 1},   {"mixed", work_mixed, 2000000, 1},
	{"large", work_large, 200000, 1},     {"prodcons", work_prodcons, 5000000, 2},
	{"larson", work_larson, 5000000, 2},  {"scratch", work_scratch, 50000000, 2},
	{"growth", work_growth, 5000000, 1},  {"huge", work_huge, 10000, 1},
};

static void *run(void *arg)
{
	worker_t *w = arg;
	w->fn(w);
	return NULL;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': v <<= 10, end++; break;
	case 'M': v <<= 20, end++; break;
	case 'G': v <<= 30, end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s churn|mixed|large|huge|prodcons|larson|scratch|growth "
		"[-n OPS] [-t THREADS] [-L LIVE_BYTES] [-S SEED]\n",
		prog);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(argv[0]);
	int wl = -1;
	for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			wl = (int)i;
	if (wl < 0)
		return usage(argv[0]);
	unsigned long long ops = workloads[wl].ops, threads = (unsigned long long)workloads[wl].threads;
	unsigned long long live = 1 << 20, seed = 1;
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "n:t:L:S:")) != -1) {
		unsigned long long *dst = opt == 'n' ? &ops : opt == 't' ? &threads
					 : opt == 'L' ? &live : opt == 'S' ? &seed : NULL;
		if (!dst || parse_ull(optarg, dst) != 0)
			return usage(argv[0]);
	}
	if (optind != argc || ops == 0 || threads == 0 || threads > 256 ||
	    (workloads[wl].fn == work_prodcons && threads != 2))
		return usage(argv[0]);

	worker_t *w = calloc(threads, sizeof *w);
	pthread_barrier_t start;
	if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0) {
		fprintf(stderr, "alloc: out of memory\n");
		return 1;
	}
	for (unsigned long long i = 0; i < threads; i++) {
		w[i] = (worker_t){.id = (int)i, .nthreads = (int)threads, .seed = seed + i,
				  .ops = ops, .live = (size_t)live, .fn = workloads[wl].fn,
				  .start = &start, .all = w};
		pthread_mutex_init(&w[i].lock, NULL);
		if (workloads[wl].fn == work_scratch)
			w[i].given = malloc(8); /* back to back, from this thread */
	}
	for (unsigned long long i = 0; i < threads; i++)
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "alloc: pthread_create failed\n");
			_exit(1);
		}
	pthread_barrier_wait(&start);
	int failed = 0;
	volatile unsigned long long sink = 0;
	double t0 = 0, t1 = 0;
	for (unsigned long long i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		failed |= w[i].failed;
		sink += w[i].sum;
		t0 = i == 0 || w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	(void)sink;
	if (failed) {
		fprintf(stderr, "alloc: %s: an allocation failed\n", workloads[wl].name);
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("alloc workload=%s threads=%llu ops=%llu ns_per_op=%.2f peak_rss_kb=%ld\n",
	       workloads[wl].name, threads, ops, (t1 - t0) / (double)ops, ru.ru_maxrss);
	return 0;
}
