/*
 * sched.c — what gort's scheduler costs: a goroutine switch, a spawn, a
 * park/ready round trip, and the memory held by a parked goroutine.
 *
 * gort rebuilds Go's G-M-P scheduler, so Go itself is the yardstick:
 * bench/sched_go.go runs the same workloads with goroutines and
 * bench/sched.sh runs both side by side. The four costs measured here are
 * the ones every goroutine program pays: how fast Gs can hand the CPU to
 * each other, how cheap a short-lived G is, how fast one G wakes another,
 * and how many Gs fit in memory while they wait.
 *
 * Usage: sched WORKLOAD [N]
 *   yield       threaded, 1 P: two Gs call gort_yield, N switches in all
 *   yield-step  the same in step mode, the caller's thread in gort_run
 *   spawn-p1    threaded, 1 P: a G spawns N Gs that exit at once
 *   spawn-p2    the same on 2 Ps
 *   pingpong    threaded, 1 P: two Gs wake each other with gort_ready and
 *               wait with gort_park, N round trips
 *   parked      step mode: N Gs park; resident memory they add
 *   fanout      threaded, 2 Ps: a G spawns N Gs that each allocate, fill and
 *               free 64 bytes, then parks; the last child readies it
 *
 * Output, one line: WORKLOAD VALUE UNIT, with UNIT ns/switch, ns/G,
 * ns/roundtrip or B/G. Times are wall-clock (CLOCK_MONOTONIC) from the first
 * gort_go to gort_run's return, after an untimed warm-up that starts the Ms
 * (and, for spawn, makes the N Gs and their stacks once, so the timed round
 * reuses dead Gs as a running Go program does). A wrong count, a G left
 * parked or a failed call exits with status 1 and a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

static void die(const char *what)
{
	fprintf(stderr, "sched: %s\n", what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void start(unsigned procs, int threaded)
{
	gort_config cfg = {.procs = procs, .threaded = threaded};
	if (gort_init(&cfg) != 0)
		die("gort_init failed");
}

/* gort_run, insisting that every G has exited. */
static void run_all(void)
{
	int parked = gort_run();
	if (parked != 0) {
		fprintf(stderr, "sched: gort_run returned %d\n", parked);
		exit(1);
	}
}

static void spawn(gort_fn fn, void *arg)
{
	if (gort_go(fn, arg) < 0)
		die("gort_go failed");
}

static void nothing(void *arg)
{
	(void)arg;
}

/* In threaded mode the first G starts an M (pthread_create): keep that
 * out of the timings. */
static void warm_up(void)
{
	spawn(nothing, NULL);
	run_all();
}

/* ------------------------------------------------------------- yield */

static void yielder(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		gort_yield();
}

/* Each of the two Gs yields n/2 times: every yield hands the P to the
 * other one, so n switches in all. */
static double bench_yield(long n, int threaded)
{
	start(1, threaded);
	warm_up();
	uint64_t t0 = now_ns();
	spawn(yielder, (void *)(n / 2));
	spawn(yielder, (void *)(n / 2));
	run_all();
	uint64_t t1 = now_ns();
	return (double)(t1 - t0) / (double)(n / 2 * 2);
}

/* ------------------------------------------------------------- spawn */

static long spawned_ran;
static int spawn_failed;

static void child(void *arg)
{
	(void)arg;
	ADD(&spawned_ran, 1); /* Go's side pays wg.Done, an atomic add too */
}

/* Spawns from inside a G, as Go's main goroutine does: new Gs go on the
 * spawner's P (runnext, then its queue, then the global queue). */
static void spawner(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		if (gort_go(child, NULL) < 0) {
			ST(&spawn_failed, 1);
			return;
		}
}

static uint64_t spawn_round(long n)
{
	ST(&spawned_ran, 0);
	uint64_t t0 = now_ns();
	spawn(spawner, (void *)n);
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&spawn_failed))
		die("gort_go failed in the spawner");
	if (LD(&spawned_ran) != n) {
		fprintf(stderr, "sched: %ld of %ld spawned Gs ran\n", LD(&spawned_ran), n);
		exit(1);
	}
	return t1 - t0;
}

static double bench_spawn(long n, unsigned procs)
{
	start(procs, 1);
	warm_up();
	spawn_round(n); /* makes the Gs and stacks the timed round reuses */
	return (double)spawn_round(n) / (double)n;
}

/* ---------------------------------------------------------- pingpong */

static int64_t pp_id[2]; /* [0] serves, [1] answers */
static long pp_rounds;

/* gort_ready fails while the target has not finished parking (threaded
 * mode): give it the P until it has. */
static void wake(int64_t goid)
{
	while (gort_ready(goid) != 0)
		gort_yield();
}

static void server(void *arg)
{
	long n = (long)arg;
	while (LD(&pp_id[1]) == 0)
		gort_yield();
	for (long i = 0; i < n; i++) {
		wake(LD(&pp_id[1]));
		gort_park("ping");
	}
}

static void answerer(void *arg)
{
	long n = (long)arg;
	while (LD(&pp_id[0]) == 0)
		gort_yield();
	for (long i = 0; i < n; i++) {
		gort_park("pong");
		ADD(&pp_rounds, 1);
		wake(LD(&pp_id[0]));
	}
}

static double bench_pingpong(long n)
{
	start(1, 1);
	warm_up();
	uint64_t t0 = now_ns();
	int64_t a = gort_go(answerer, (void *)n);
	int64_t s = gort_go(server, (void *)n);
	if (a < 0 || s < 0)
		die("gort_go failed");
	ST(&pp_id[1], a);
	ST(&pp_id[0], s);
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&pp_rounds) != n)
		die("wrong number of round trips");
	return (double)(t1 - t0) / (double)n;
}

/* ------------------------------------------------------------ parked */

static long parked_woke;

static void parker(void *arg)
{
	(void)arg;
	gort_park("bench");
	parked_woke++;
}

/* Resident bytes of the whole process (/proc/self/statm, second field):
 * what the kernel really holds, stacks included, unlike gort_memstats. */
static long rss_bytes(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2)
		die("cannot read /proc/self/statm");
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

/* Every parked G is readied and must run to its end. */
static void wake_all(int64_t first, long n)
{
	for (int64_t id = first; id < first + n; id++)
		if (gort_ready(id) != 0)
			die("gort_ready failed on a parked G");
	if (gort_run() != 0 || parked_woke != n)
		die("the readied Gs did not all finish");
}

/* Step mode, the caller's thread driving: no M threads to count. */
static double bench_parked(long n)
{
	start(1, 0);
	warm_up();
	long before = rss_bytes();
	int64_t first = 0;
	for (long i = 0; i < n; i++) {
		int64_t id = gort_go(parker, NULL);
		if (id < 0)
			die("gort_go failed");
		if (i == 0)
			first = id;
	}
	if (gort_run() != n)
		die("gort_run did not leave every G parked");
	long after = rss_bytes();
	wake_all(first, n);
	return (double)(after - before) / (double)n;
}

/* ------------------------------------------------------------- fanout */

static long fan_left;
static int64_t fan_parent;

static void fan_child(void *arg)
{
	(void)arg;
	volatile char *p = gort_malloc(64);
	if (!p)
		die("gort_malloc failed in a child");
	memset((char *)p, 1, 64);
	gort_free((void *)p);
	if (__atomic_sub_fetch(&fan_left, 1, __ATOMIC_ACQ_REL) == 0)
		wake(LD(&fan_parent)); /* the parent may still be on its way to parking */
}

/* Fans out n children, then waits for the last one to wake it: Go's
 * `for ... { go f() }; wg.Wait()` with a parked parent. */
static void fan_parent_g(void *arg)
{
	long n = (long)arg;
	ST(&fan_parent, gort_self()); /* before any child can finish */
	for (long i = 0; i < n; i++)
		if (gort_go(fan_child, NULL) < 0)
			die("gort_go failed in the parent");
	gort_park("fan-in");
}

static uint64_t fan_round(long n)
{
	ST(&fan_left, n);
	ST(&fan_parent, 0);
	uint64_t t0 = now_ns();
	if (gort_go(fan_parent_g, (void *)n) < 0)
		die("gort_go failed");
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&fan_left) != 0)
		die("not every child of the fan-out ran");
	return t1 - t0;
}

static double bench_fanout(long n)
{
	start(2, 1);
	warm_up();
	fan_round(n); /* makes the Gs and stacks the timed round reuses */
	return (double)fan_round(n) / (double)n;
}

/* ------------------------------------------------------------- main */

struct workload {
	const char *name;
	long n; /* default N */
	const char *unit;
};

static const struct workload workloads[] = {
	{.name = "yield", .n = 2000000, .unit = "ns/switch"},
	{.name = "yield-step", .n = 2000000, .unit = "ns/switch"},
	{.name = "spawn-p1", .n = 100000, .unit = "ns/G"},
	{.name = "spawn-p2", .n = 100000, .unit = "ns/G"},
	{.name = "pingpong", .n = 500000, .unit = "ns/roundtrip"},
	{.name = "parked", .n = 1000000, .unit = "B/G"},
	{.name = "fanout", .n = 100000, .unit = "ns/G"},
};

static double measure(const char *name, long n)
{
	if (strcmp(name, "yield") == 0)
		return bench_yield(n, 1);
	if (strcmp(name, "yield-step") == 0)
		return bench_yield(n, 0);
	if (strcmp(name, "spawn-p1") == 0)
		return bench_spawn(n, 1);
	if (strcmp(name, "spawn-p2") == 0)
		return bench_spawn(n, 2);
	if (strcmp(name, "pingpong") == 0)
		return bench_pingpong(n);
	if (strcmp(name, "fanout") == 0)
		return bench_fanout(n);
	return bench_parked(n);
}

static void usage(void)
{
	fprintf(stderr, "usage: sched WORKLOAD [N]\nworkloads:");
	for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
		fprintf(stderr, " %s", workloads[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static long parse_n(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 2)
		usage();
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		usage();
	const struct workload *w = NULL;
	for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			w = &workloads[i];
	if (!w)
		usage();
	long n = argc == 3 ? parse_n(argv[2]) : w->n;
	double v = measure(w->name, n);
	gort_shutdown();
	printf("%s %.2f %s\n", w->name, v, w->unit);
	return 0;
}
