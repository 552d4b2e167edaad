/*
 * churn.c — "small churn" allocator benchmark.
 *
 * Uses the plain malloc/free of whatever allocator the process ends up with,
 * so the allocator under test is chosen with LD_PRELOAD (or none: the C
 * library's own malloc).
 *
 * Workload: each thread owns an array of SLOTS pointers (default 1000) and a
 * splitmix64 generator with a fixed seed. One operation picks a random slot;
 * if the slot holds a block it is freed; then a block of a random size in
 * [8, 512] bytes is allocated into the slot and its first and last bytes are
 * written. Blocks that are freed are read first, so the writes cannot be
 * optimised away.
 *
 * Usage: churn [-n OPS] [-t THREADS] [-s SLOTS] [-S SEED]
 *   -n OPS      operations per thread (default 10000000)
 *   -t THREADS  threads, each with its own slot array and generator (default 1)
 *   -s SLOTS    slots per thread (default 1000)
 *   -S SEED     base seed; thread i uses SEED + i (default 1)
 *
 * Output, one line:
 *   churn threads=T ops=N ns_per_op=X.XX
 * where N is the number of operations each thread performs and
 *   ns_per_op = elapsed wall-clock ns / N,
 * i.e. the latency of one operation as seen by one thread. The threads run
 * concurrently, so with perfect scaling ns_per_op is the same for every T;
 * contention inside the allocator shows up as a larger value. Wall-clock time
 * runs from the moment all threads are released together until the last one
 * has finished (thread creation is not timed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_SIZE 8u
#define MAX_SIZE 512u

struct worker {
	pthread_t thread;
	uint64_t seed;
	unsigned long slots;
	unsigned long long ops;
	pthread_barrier_t *start;
	unsigned long long checksum;
	int failed;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	unsigned char **slot = calloc(w->slots, sizeof *slot);
	size_t *size = calloc(w->slots, sizeof *size);
	uint64_t rng = w->seed;
	unsigned long long sum = 0;

	if (slot == NULL || size == NULL)
		w->failed = 1;
	/* Every thread must reach the barrier, even one that failed. */
	pthread_barrier_wait(w->start);
	if (w->failed) {
		free(slot);
		free(size);
		return NULL;
	}

	for (unsigned long long i = 0; i < w->ops; i++) {
		uint64_t r = splitmix64(&rng);
		unsigned long k = (unsigned long)(r % w->slots);
		size_t n = MIN_SIZE + (size_t)((r >> 32) % (MAX_SIZE - MIN_SIZE + 1));
		unsigned char *p;

		if (slot[k] != NULL) {
			sum += slot[k][0] + slot[k][size[k] - 1];
			free(slot[k]);
		}
		p = malloc(n);
		if (p == NULL) {
			w->failed = 1;
			slot[k] = NULL;
			break;
		}
		p[0] = (unsigned char)i;
		p[n - 1] = (unsigned char)(i >> 8);
		slot[k] = p;
		size[k] = n;
	}

	for (unsigned long k = 0; k < w->slots; k++)
		free(slot[k]);
	free(slot);
	free(size);
	w->checksum = sum;
	return NULL;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n OPS] [-t THREADS] [-s SLOTS] [-S SEED]\n", prog);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long long ops = 10000000ull, threads = 1, slots = 1000, seed = 1;
	pthread_barrier_t start;
	struct worker *w;
	volatile unsigned long long sink = 0;
	double t0, t1;
	int opt, failed = 0;

	while ((opt = getopt(argc, argv, "n:t:s:S:h")) != -1) {
		unsigned long long *dst;

		switch (opt) {
		case 'n': dst = &ops; break;
		case 't': dst = &threads; break;
		case 's': dst = &slots; break;
		case 'S': dst = &seed; break;
		case 'h': usage(argv[0]); return 0;
		default: usage(argv[0]); return 2;
		}
		if (parse_ull(optarg, dst) != 0) {
			usage(argv[0]);
			return 2;
		}
	}
	if (optind != argc || ops == 0 || threads == 0 || threads > 1024 || slots == 0) {
		usage(argv[0]);
		return 2;
	}

	w = calloc(threads, sizeof *w);
	if (w == NULL) {
		perror("churn: calloc");
		return 1;
	}
	if (pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0) {
		fprintf(stderr, "churn: pthread_barrier_init failed\n");
		return 1;
	}
	for (unsigned long long i = 0; i < threads; i++) {
		int rc;

		w[i].seed = seed + i;
		w[i].slots = (unsigned long)slots;
		w[i].ops = ops;
		w[i].start = &start;
		rc = pthread_create(&w[i].thread, NULL, run_worker, &w[i]);
		if (rc != 0) {
			fprintf(stderr, "churn: pthread_create: %s\n", strerror(rc));
			/* The barrier can never be released now. */
			_exit(1);
		}
	}

	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (unsigned long long i = 0; i < threads; i++)
		pthread_join(w[i].thread, NULL);
	t1 = now_ns();

	for (unsigned long long i = 0; i < threads; i++) {
		failed |= w[i].failed;
		sink += w[i].checksum;
	}
	(void)sink;
	pthread_barrier_destroy(&start);
	free(w);
	if (failed) {
		fprintf(stderr, "churn: allocation failed\n");
		return 1;
	}

	printf("churn threads=%llu ops=%llu ns_per_op=%.2f\n", threads, ops,
	       (t1 - t0) / (double)ops);
	return 0;
}
