/*
 * alloc.c — the allocator workloads of `make bench`, one per run.
 *
 * Calls plain malloc/free, so the allocator under test is chosen with
 * LD_PRELOAD (none: the C library's). Every workload draws from splitmix64
 * with a fixed seed, touches the first and last byte of each block it gets
 * and reads them back before freeing, so no allocator can skip the memory.
 *
 * Usage: alloc WORKLOAD [-n OPS] [-t THREADS] [-L LIVE_BYTES] [-R ROUND_OPS]
 *              [-s SIZE] [-S SEED]
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
 * The shapes of the public allocator benchmarks' programs (mimalloc-bench),
 * written anew here:
 *   larson-turnover  each thread's slot holds 5,000 blocks of 8-1000 B; a
 *              thread replaces random blocks ROUND_OPS times (default
 *              500,000), then starts its successor, which inherits the array
 *              (and frees blocks an exited thread allocated), and exits
 *              (larson's server simulation with its thread turnover)
 *   xmalloc    THREADS/2 producer/consumer pairs (THREADS even): each
 *              producer allocates batches of 4,096 blocks of SIZE bytes
 *              (default 64; -s 0: 8 B-2 KiB, log-uniform) and queues them to
 *              its consumer, which frees them (xmalloc-test: every free is a
 *              cross-thread free)
 *   rptest     each thread: 1,000 slots of 16 B-16 KiB, small sizes more
 *              likely; frees a batch of 30-99, allocates a batch of 30-99, and
 *              every other time allocates a batch for the next thread to
 *              free (rpmalloc's benchmark)
 *   alloc-test each thread: a pool of 262,144/THREADS slots, half full; picks
 *              a slot, hot ones far more often (nested 80/20), frees it if
 *              full, else allocates 8 B-1 KiB, each doubling half as likely
 *   glibc-simple  batches of 25, 100, 400 and 1,600 blocks of 16, 32 and
 *              64 B: allocate the batch, free its first half in order and the
 *              second in reverse (glibc's bench-malloc-simple)
 *   malloc-large  8 slots; replace a random one by 5-25 MiB and write a
 *              byte in each of its pages (malloc-large, which zero-fills
 *              each buffer)
 *   mstress    rounds of ROUND_OPS allocations (default 10,000) per thread,
 *              each round on a new thread: objects of 8-128 B with random
 *              lifetimes and of 8-512 B kept to the end of the round (1 % of
 *              either far larger), some swapped into a shared array that other threads
 *              take them from; between rounds half of a slot's share of that
 *              array is freed (mstress)
 *
 * Output, one line:
 *   alloc workload=W threads=T ops=N ns_per_op=X peak_rss_kb=R
 * ns_per_op = wall-clock ns of the timed phase / operations of one thread
 * (the threads run together), peak_rss_kb = getrusage's ru_maxrss. For
 * scratch an operation is one write, for prodcons and xmalloc one block
 * passed, for larson-turnover one block replaced, for alloc-test one malloc
 * or free, for the others one malloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct worker worker_t;
typedef void work_fn(worker_t *w);

typedef struct {
	char **p;
	size_t *n;
	size_t count;
} slots_t;

typedef struct batch batch_t;

struct worker {
	pthread_t thread;
	int id, nthreads;
	uint64_t seed;
	unsigned long long ops;
	size_t live;
	unsigned long long round; /* operations of one thread before it exits */
	size_t size;
	work_fn *fn;
	pthread_barrier_t *start;
	unsigned long long sum;
	int failed;
	worker_t *all;
	/* mailbox (larson, rptest) */
	pthread_mutex_t lock;
	void **box;
	size_t nbox, capbox;
	/* queue of batches from this producer to its consumer (xmalloc) */
	pthread_cond_t changed;
	batch_t *head, *tail;
	unsigned nbatches;
	/* scratch: the object the main thread made for this thread */
	char *given;
	/* larson-turnover: the array the generations of this slot inherit */
	slots_t slots;
	uint64_t rng;
	unsigned long long left;
	sem_t done;
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

/* A block that another thread frees carries its size in its first bytes
 * (every such block is at least 8 bytes). */
static char *tag(char *p, size_t n)
{
	if (p)
		*(uint32_t *)p = (uint32_t)n;
	return p;
}

static void put_tagged(worker_t *w, char *p)
{
	put(w, p, *(uint32_t *)p);
}

/* A thread of a workload's own (a detached one cleans up after itself). */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg, int detached)
{
	pthread_attr_t a;
	int rc = pthread_attr_init(&a);
	if (rc == 0 && detached)
		rc = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (rc == 0)
		rc = pthread_create(t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return rc;
}

/* ---------------------------------------------------------------- slots */

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

/* Free slot k's block, if it holds one. */
static void empty(worker_t *w, slots_t *s, size_t k)
{
	if (s->p[k])
		put(w, s->p[k], s->n[k]);
	s->p[k] = NULL;
}

/* Replace slot k by a new block of n bytes. */
static void replace(worker_t *w, slots_t *s, size_t k, size_t n, unsigned long long i)
{
	empty(w, s, k);
	s->p[k] = get(w, n, i);
	s->n[k] = n;
}

enum {
	LOG_SIZES = 1,	 /* log-uniform sizes, else uniform */
	TOUCH_PAGES = 2, /* write a byte in every page of each block */
};

/* A byte in every page: a program uses the whole buffer, and whether the
 * allocator hands back pages still backed or fresh ones to fault in is
 * what differs between allocators (a full memset would add the same cost
 * to all). The barrier keeps the compiler from dropping stores that are
 * never read back. */
static void touch_pages(char *p, size_t n)
{
	for (size_t at = 4096; p && at < n - 1; at += 4096)
		p[at] = (char)at;
	__asm__ volatile("" : : "r"(p) : "memory");
}

static void slot_churn(worker_t *w, size_t count, size_t lo, size_t hi, int flags)
{
	slots_t s;
	uint64_t rng = w->seed;
	if (slots_make(&s, count) != 0)
		w->failed = 1;
	timed_start(w);
	for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
		uint64_t r = splitmix64(&rng);
		size_t k = (size_t)(r % count);
		size_t n = flags & LOG_SIZES ? log_uniform(r >> 8, lo, hi)
					     : lo + (size_t)((r >> 32) % (hi - lo + 1));
		replace(w, &s, k, n, i);
		if (flags & TOUCH_PAGES)
			touch_pages(s.p[k], n);
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
	slot_churn(w, 1000, 8, 32768, LOG_SIZES);
}

static void work_large(worker_t *w)
{
	slot_churn(w, 64, 32768, 1 << 20, LOG_SIZES);
}

static void work_huge(worker_t *w)
{
	slot_churn(w, 32, 65536, 4 << 20, LOG_SIZES);
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
			char *p = tag(get(w, n, i), n);
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
		for (unsigned spins = 0; __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) <= i;
		     spins++)
			relax(spins);
		char *p = ring[i % RING];
		__atomic_store_n(&ring_tail, i + 1, __ATOMIC_RELEASE);
		if (p)
			put_tagged(w, p);
	}
	timed_end(w);
}

/* --------------------------------------------------------------- larson */

/* Hand n blocks (tagged; NULLs are skipped) to another thread to free. */
static void mail_many(worker_t *to, char **p, size_t n)
{
	pthread_mutex_lock(&to->lock);
	for (size_t k = 0; k < n; k++) {
		if (!p[k])
			continue;
		if (to->nbox == to->capbox) {
			size_t cap = to->capbox ? to->capbox * 2 : 1024;
			void **b = realloc(to->box, cap * sizeof *b);
			if (!b) {
				free(p[k]);
				continue;
			}
			to->box = b;
			to->capbox = cap;
		}
		to->box[to->nbox++] = p[k];
	}
	pthread_mutex_unlock(&to->lock);
}

static void mail(worker_t *to, char *p)
{
	mail_many(to, &p, 1);
}

/* Free what other threads sent, a few at a time (all of it at the end). */
static void drain(worker_t *w, size_t max)
{
	pthread_mutex_lock(&w->lock);
	while (w->nbox > 0 && max-- > 0) {
		put_tagged(w, w->box[--w->nbox]);
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
		tag(s.p[k], n);
		if (w->nthreads > 1 && ((r >> 20) & 7) == 0 && s.p[k]) {
			mail(&w->all[(w->id + 1 + (r >> 24) % (w->nthreads - 1)) % w->nthreads],
			     s.p[k]);
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

/* ------------------------------------------------------ larson-turnover */

#define LARSON_BLOCKS 5000

static size_t larson_size(uint64_t r)
{
	return 8 + (size_t)(r % 993); /* 8-1000 B */
}

/* One generation: ROUND_OPS replacements in the inherited array, then a
 * successor takes the array over and this thread exits, as a server's
 * worker threads come and go while the data they made lives on. Only one
 * generation of a slot runs at a time; pthread_create orders its writes
 * before the successor's reads. */
static void *larson_generation(void *arg)
{
	worker_t *w = arg;
	unsigned long long n = w->left < w->round ? w->left : w->round;
	unsigned long long base = w->ops - w->left;
	pthread_t next;
	for (unsigned long long i = 0; i < n && !w->failed; i++) {
		uint64_t r = splitmix64(&w->rng);
		replace(w, &w->slots, (size_t)(r % LARSON_BLOCKS), larson_size(r >> 32), base + i);
	}
	w->left -= n;
	if (w->left > 0 && !w->failed) {
		if (start_thread(&next, larson_generation, w, 1) == 0)
			return NULL;
		w->failed = 1;
	}
	sem_post(&w->done);
	return NULL;
}

/* This thread fills the slot's array (untimed) and waits for the chain of
 * generations: the first of them frees blocks of a thread that is not
 * theirs, the later ones blocks of threads that have exited. */
static void work_larson_turnover(worker_t *w)
{
	pthread_t first;
	w->rng = w->seed;
	w->left = w->ops;
	if (slots_make(&w->slots, LARSON_BLOCKS) != 0 || sem_init(&w->done, 0, 0) != 0)
		w->failed = 1;
	for (size_t k = 0; k < LARSON_BLOCKS && !w->failed; k++)
		replace(w, &w->slots, k, larson_size(splitmix64(&w->rng)), k);
	timed_start(w);
	if (!w->failed && start_thread(&first, larson_generation, w, 1) == 0)
		sem_wait(&w->done);
	else
		w->failed = 1;
	timed_end(w);
	slots_free(w, &w->slots);
}

/* -------------------------------------------------------------- xmalloc */

#define XM_BATCH 4096
#define XM_QUEUED 32 /* batches a producer may run ahead of its consumer */

struct batch {
	batch_t *next;
	size_t count;
	char *p[XM_BATCH];
};

/* The queue of a pair lives in its producer's worker (the even one). */
static void xm_send(worker_t *q, batch_t *b)
{
	pthread_mutex_lock(&q->lock);
	while (q->nbatches >= XM_QUEUED)
		pthread_cond_wait(&q->changed, &q->lock);
	b->next = NULL;
	*(q->tail ? &q->tail->next : &q->head) = b;
	q->tail = b;
	q->nbatches++;
	pthread_cond_signal(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

static batch_t *xm_receive(worker_t *q)
{
	pthread_mutex_lock(&q->lock);
	while (!q->head)
		pthread_cond_wait(&q->changed, &q->lock);
	batch_t *b = q->head;
	q->head = b->next;
	if (!q->head)
		q->tail = NULL;
	q->nbatches--;
	pthread_cond_signal(&q->changed);
	pthread_mutex_unlock(&q->lock);
	return b;
}

/* The batch itself comes from the allocator too, as in xmalloc-test. */
static void xm_produce(worker_t *w)
{
	uint64_t rng = w->seed;
	for (unsigned long long i = 0; i < w->ops;) {
		batch_t *b = malloc(sizeof *b);
		if (!b) {
			fprintf(stderr, "alloc: xmalloc: out of memory\n");
			_exit(1); /* the consumer would wait for this batch forever */
		}
		b->count = w->ops - i < XM_BATCH ? (size_t)(w->ops - i) : XM_BATCH;
		for (size_t k = 0; k < b->count; k++, i++) {
			size_t n = w->size ? w->size : log_uniform(splitmix64(&rng), 8, 2048);
			b->p[k] = tag(get(w, n, i), n);
		}
		xm_send(w, b);
	}
}

static void xm_consume(worker_t *w)
{
	for (unsigned long long i = 0; i < w->ops;) {
		batch_t *b = xm_receive(&w->all[w->id - 1]);
		for (size_t k = 0; k < b->count; k++)
			if (b->p[k])
				put_tagged(w, b->p[k]);
		i += b->count;
		free(b);
	}
}

static void work_xmalloc(worker_t *w)
{
	timed_start(w);
	if (w->id % 2)
		xm_consume(w);
	else
		xm_produce(w);
	timed_end(w);
}

/* --------------------------------------------------------------- rptest */

#define RP_SLOTS 1000
#define RP_STEP_FREE 7 /* strides through the slots, prime to their count */
#define RP_STEP_ALLOC 11

/* 16 B-16 KiB, the density falling linearly with the size (the smaller of
 * two uniform draws): mostly small blocks, a few large ones. */
static size_t rp_size(uint64_t r)
{
	uint64_t a = r & 0xffffffffu, b = r >> 32;
	return 16 + (size_t)(((a < b ? a : b) * (16384 - 16)) >> 32);
}

/* A batch of n blocks for the next thread in turn to free. */
static void rp_send(worker_t *w, size_t n, unsigned long long i, uint64_t *rng, size_t turn)
{
	char *out[100];
	for (size_t k = 0; k < n; k++) {
		size_t sz = rp_size(splitmix64(rng));
		out[k] = tag(get(w, sz, i + k), sz);
	}
	mail_many(&w->all[(w->id + 1 + turn % (size_t)(w->nthreads - 1)) % w->nthreads], out, n);
}

static void work_rptest(worker_t *w)
{
	slots_t s;
	uint64_t rng = w->seed;
	size_t fi = 0, ai = 0;
	if (slots_make(&s, RP_SLOTS) != 0)
		w->failed = 1;
	timed_start(w);
	for (unsigned long long i = 0, iter = 0; i < w->ops && !w->failed; iter++) {
		uint64_t r = splitmix64(&rng);
		size_t nfree = 30 + (size_t)(r % 70), nalloc = 30 + (size_t)((r >> 8) % 70);
		for (size_t k = 0; k < nfree; k++, fi = (fi + RP_STEP_FREE) % RP_SLOTS)
			empty(w, &s, fi);
		drain(w, SIZE_MAX);
		for (size_t k = 0; k < nalloc; k++, ai = (ai + RP_STEP_ALLOC) % RP_SLOTS)
			replace(w, &s, ai, rp_size(splitmix64(&rng)), i++);
		if (w->nthreads > 1 && iter % 2 == 0) {
			rp_send(w, nalloc, i, &rng, (size_t)(iter / 2));
			i += nalloc;
		}
	}
	timed_end(w);
	slots_free(w, &s);
	drain(w, SIZE_MAX);
}

/* ----------------------------------------------------------- alloc-test */

#define AT_POOL 262144

/* 8 B-1 KiB, each doubling half as likely as the one below it. */
static size_t at_size(uint64_t r)
{
	unsigned e = 3 + (unsigned)__builtin_ctzll(r | (1ull << 6)); /* 3..9 */
	size_t base = (size_t)1 << e;
	return base + (size_t)((r >> 8) % base);
}

/* 80 % of the picks go to the first fifth of the range, and so on six
 * levels down: a few slots are very hot (about a quarter of all picks fall
 * on 16 of 262,144), most are cold, so a freed block's memory is mostly
 * the next one asked for. */
static size_t at_slot(uint64_t r, uint64_t r2, size_t n)
{
	for (int level = 0; level < 6 && n >= 5 && (r & 0xff) < 205; level++, r >>= 8)
		n /= 5;
	return (size_t)(r2 % n);
}

static void work_alloc_test(worker_t *w)
{
	slots_t s;
	uint64_t rng = w->seed;
	size_t count = AT_POOL / (size_t)w->nthreads;
	if (slots_make(&s, count) != 0)
		w->failed = 1;
	for (size_t k = 0; k < count && !w->failed; k++) /* half full */
		if (splitmix64(&rng) & 1)
			replace(w, &s, k, at_size(splitmix64(&rng)), k);
	timed_start(w);
	for (unsigned long long i = 0; i < w->ops && !w->failed; i++) {
		size_t k = at_slot(splitmix64(&rng), splitmix64(&rng), count);
		if (s.p[k])
			empty(w, &s, k);
		else
			replace(w, &s, k, at_size(splitmix64(&rng)), i);
	}
	timed_end(w);
	slots_free(w, &s);
}

/* --------------------------------------------------------- glibc-simple */

#define SIMPLE_MAX 1600

/* Allocate a batch, free its first half in the order allocated and the
 * second half in reverse: FIFO and LIFO frees of a thread's own blocks. */
static void simple_batch(worker_t *w, char **p, size_t n, size_t size, unsigned long long i)
{
	for (size_t k = 0; k < n; k++)
		p[k] = get(w, size, i + k);
	for (size_t k = 0; k < n / 2; k++)
		if (p[k])
			put(w, p[k], size);
	for (size_t k = n; k-- > n / 2;)
		if (p[k])
			put(w, p[k], size);
}

/* An equal share of the operations for each size and batch length. */
static void work_glibc_simple(worker_t *w)
{
	static const size_t sizes[] = {16, 32, 64}, batches[] = {25, 100, 400, SIMPLE_MAX};
	char **p = malloc(SIMPLE_MAX * sizeof *p);
	unsigned long long share = w->ops / 12, i = 0;
	if (!p)
		w->failed = 1;
	timed_start(w);
	for (size_t z = 0; z < 3; z++)
		for (size_t b = 0; b < 4; b++)
			for (unsigned long long k = 0; k < share / batches[b] && !w->failed; k++) {
				simple_batch(w, p, batches[b], sizes[z], i);
				i += batches[b];
			}
	timed_end(w);
	free(p);
}

/* --------------------------------------------------------- malloc-large */

static void work_malloc_large(worker_t *w)
{
	slot_churn(w, 8, 5 << 20, 25 << 20, TOUCH_PAGES);
}

/* -------------------------------------------------------------- mstress */

#define MS_TRANSFERS 1000
static char *transfer[MS_TRANSFERS]; /* swapped into and out of atomically */

/* 8 B << (0..shift-1); one in a hundred 100 times that, and of those one
 * in ten 1,000 times and one in a hundred 10,000 times. */
static size_t ms_size(uint64_t r, unsigned shift)
{
	size_t n = (size_t)8 << (r % shift);
	if ((r >> 8) % 100 == 0) {
		uint64_t c = (r >> 16) % 100;
		n *= c == 0 ? 10000 : c <= 10 ? 1000 : 100;
	}
	return n;
}

static char *ms_new(worker_t *w, unsigned shift, unsigned long long i)
{
	size_t n = ms_size(splitmix64(&w->rng), shift);
	return tag(get(w, n, i), n);
}

/* One step of a round: most of the time free a random block, sometimes swap
 * one with the shared array (another thread may free it). */
static void ms_step(worker_t *w, char **temp, size_t ntemp)
{
	uint64_t r = splitmix64(&w->rng);
	if (ntemp == 0)
		return;
	size_t k = (size_t)((r >> 16) % ntemp);
	if (r % 100 < 66 && temp[k]) {
		put_tagged(w, temp[k]);
		temp[k] = NULL;
	}
	if ((r >> 8) % 100 < 25) {
		k = (size_t)((r >> 40) % ntemp);
		temp[k] = __atomic_exchange_n(&transfer[(r >> 24) % MS_TRANSFERS], temp[k],
					      __ATOMIC_ACQ_REL);
	}
}

static void ms_free_all(worker_t *w, char **p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k])
			put_tagged(w, p[k]);
	free(p);
}

/* A round's thread: a third of its blocks (up to 512 B) live to its end,
 * the rest (up to 128 B) are freed at random or swapped away. */
static void *mstress_round(void *arg)
{
	worker_t *w = arg;
	unsigned long long n = w->left < w->round ? w->left : w->round;
	unsigned long long base = w->ops - w->left;
	size_t nkeep = (size_t)(n / 3), ntemp = (size_t)(n - n / 3), k = 0, t = 0;
	char **keep = calloc(nkeep + 1, sizeof *keep), **temp = calloc(ntemp + 1, sizeof *temp);
	if (!keep || !temp)
		w->failed = 1;
	for (unsigned long long i = 0; i < n && !w->failed; i++) {
		if (k < nkeep && (t == ntemp || (splitmix64(&w->rng) & 1)))
			keep[k++] = ms_new(w, 7, base + i);
		else
			temp[t++] = ms_new(w, 5, base + i);
		ms_step(w, temp, t);
	}
	ms_free_all(w, keep, k);
	ms_free_all(w, temp, t);
	w->left -= n;
	return NULL;
}

/* Between rounds half of this slot's share of the shared array is freed;
 * the rest lives on into later rounds. */
static void ms_release_half(worker_t *w)
{
	for (size_t k = (size_t)w->id; k < MS_TRANSFERS; k += (size_t)w->nthreads) {
		if (splitmix64(&w->rng) & 1) {
			char *p = __atomic_exchange_n(&transfer[k], NULL, __ATOMIC_ACQ_REL);
			if (p)
				put_tagged(w, p);
		}
	}
}

/* This thread starts each round's thread and waits for it to end. */
static void work_mstress(worker_t *w)
{
	pthread_t t;
	w->rng = w->seed;
	w->left = w->ops;
	timed_start(w);
	while (w->left > 0 && !w->failed) {
		if (start_thread(&t, mstress_round, w, 0) != 0) {
			w->failed = 1;
			break;
		}
		pthread_join(t, NULL);
		ms_release_half(w);
	}
	timed_end(w);
}

/* What is left once every thread has ended: blocks mailed after their
 * receiver's last drain, and what the shared array still holds. */
static void free_leftovers(worker_t *w, unsigned long long threads)
{
	for (unsigned long long i = 0; i < threads; i++)
		drain(&w[i], SIZE_MAX);
	for (size_t k = 0; k < MS_TRANSFERS; k++)
		if (transfer[k])
			put_tagged(w, transfer[k]);
}

/* ----------------------------------------------------------------- main */

static const struct {
	const char *name;
	work_fn *fn;
	unsigned long long ops;	  /* default operations per thread */
	int threads;		  /* default threads; prodcons needs exactly 2,
				     xmalloc an even number */
	unsigned long long round; /* default -R */
	unsigned long long size;  /* default -s */
} workloads[] = {
	{"churn", work_churn, 10000000, 1, 0, 0},
	{"mixed", work_mixed, 2000000, 1, 0, 0},
	{"large", work_large, 200000, 1, 0, 0},
	{"prodcons", work_prodcons, 5000000, 2, 0, 0},
	{"larson", work_larson, 5000000, 2, 0, 0},
	{"scratch", work_scratch, 50000000, 2, 0, 0},
	{"growth", work_growth, 5000000, 1, 0, 0},
	{"huge", work_huge, 10000, 1, 0, 0},
	{"larson-turnover", work_larson_turnover, 5000000, 2, 500000, 0},
	{"xmalloc", work_xmalloc, 3000000, 4, 0, 64},
	{"rptest", work_rptest, 500000, 2, 0, 0},
	{"alloc-test", work_alloc_test, 4000000, 1, 0, 0},
	{"glibc-simple", work_glibc_simple, 20000000, 1, 0, 0},
	{"malloc-large", work_malloc_large, 80, 1, 0, 0},
	{"mstress", work_mstress, 2000000, 2, 10000, 0},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

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
	fprintf(stderr, "usage: %s ", prog);
	for (size_t i = 0; i < NWORKLOADS; i++)
		fprintf(stderr, "%s%s", i ? "|" : "", workloads[i].name);
	fprintf(stderr, " [-n OPS] [-t THREADS] [-L LIVE_BYTES] [-R ROUND_OPS] [-s SIZE] "
			"[-S SEED]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(argv[0]);
	int wl = -1;
	for (size_t i = 0; i < NWORKLOADS; i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			wl = (int)i;
	if (wl < 0)
		return usage(argv[0]);
	unsigned long long ops = workloads[wl].ops,
			   threads = (unsigned long long)workloads[wl].threads;
	unsigned long long live = 1 << 20, seed = 1, round = workloads[wl].round;
	unsigned long long size = workloads[wl].size;
	/* the option letters, in the order of the values they set */
	static const char letters[] = "ntLRsS";
	unsigned long long *dst[] = {&ops, &threads, &live, &round, &size, &seed};
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "n:t:L:R:s:S:")) != -1) {
		const char *at = strchr(letters, opt);
		if (opt == ':' || !at || parse_ull(optarg, dst[at - letters]) != 0)
			return usage(argv[0]);
	}
	if (optind != argc || ops == 0 || threads == 0 || threads > 256 ||
	    (workloads[wl].round && round == 0) || (size && (size < 8 || size > 1 << 30)) ||
	    (workloads[wl].fn == work_prodcons && threads != 2) ||
	    (workloads[wl].fn == work_xmalloc && threads % 2))
		return usage(argv[0]);

	worker_t *w = calloc(threads, sizeof *w);
	pthread_barrier_t start;
	if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0) {
		fprintf(stderr, "alloc: out of memory\n");
		return 1;
	}
	for (unsigned long long i = 0; i < threads; i++) {
		w[i] = (worker_t){.id = (int)i,
				  .nthreads = (int)threads,
				  .seed = seed + i,
				  .ops = ops,
				  .live = (size_t)live,
				  .round = round,
				  .size = (size_t)size,
				  .fn = workloads[wl].fn,
				  .start = &start,
				  .all = w};
		pthread_mutex_init(&w[i].lock, NULL);
		pthread_cond_init(&w[i].changed, NULL);
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
	free_leftovers(w, threads);
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
