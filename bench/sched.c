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
 *   chan-pingpong  threaded, 1 P: two Gs bounce a value over two unbuffered
 *               channels, N round trips
 *   chan-buf-p1 threaded, 1 P: a producer sends N values through a channel
 *               of 128, a consumer receives them until the close
 *   chan-buf-p2 the same on 2 Ps
 *   mutex       threaded, 2 Ps: 8 Gs increment one counter under one
 *               gort_mutex, N increments in all
 *   sleep       threaded, 2 Ps: a G spawns N Gs that each gort_sleep once,
 *               10 to 100 ms; wall ms until the last woke, and peak RSS
 *
 * Output, one line: WORKLOAD VALUE UNIT, with UNIT ns/switch, ns/G,
 * ns/roundtrip, ns/value, ns/lock, ms or B/G; sleep adds peak_rss_kb=K
 * (getrusage). Times are wall-clock (CLOCK_MONOTONIC) from the first
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
#include <sys/resource.h>
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

/* ----------------------------------------------------- chan-pingpong */

/* The channel ping-pong, error flag and round count shared with the Gs. */
static gort_chan *cp_ping, *cp_pong;
static long cp_rounds;
static int cp_failed;

static void chan_server(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		long v = i;
		if (gort_chan_send(cp_ping, &v) != 0 || gort_chan_recv(cp_pong, &v) != 1 || v != i) {
			ST(&cp_failed, 1);
			return;
		}
	}
}

static void chan_answerer(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		long v;
		if (gort_chan_recv(cp_ping, &v) != 1) {
			ST(&cp_failed, 1);
			return;
		}
		cp_rounds++; /* one P: the Gs never run at once */
		if (gort_chan_send(cp_pong, &v) != 0) {
			ST(&cp_failed, 1);
			return;
		}
	}
}

static gort_chan *chan_or_die(size_t cap)
{
	gort_chan *c = gort_chan_make(sizeof(long), cap);
	if (!c)
		die("gort_chan_make failed");
	return c;
}

/* Go's pingpong: a send on one unbuffered channel and a receive on the
 * other is one round trip, two hand-offs to a parked receiver. */
static double bench_chan_pingpong(long n)
{
	start(1, 1);
	warm_up();
	cp_ping = chan_or_die(0);
	cp_pong = chan_or_die(0);
	uint64_t t0 = now_ns();
	spawn(chan_answerer, (void *)n);
	spawn(chan_server, (void *)n);
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&cp_failed) || cp_rounds != n)
		die("wrong number of channel round trips");
	gort_chan_free(cp_ping);
	gort_chan_free(cp_pong);
	return (double)(t1 - t0) / (double)n;
}

/* ---------------------------------------------------- chan-buffered */

#define PC_CAP 128

static gort_chan *pc_chan;
static long pc_sum;

static void producer(void *arg)
{
	long n = (long)arg;
	for (long i = 1; i <= n; i++)
		if (gort_chan_send(pc_chan, &i) != 0) {
			ST(&cp_failed, 1);
			return;
		}
	gort_chan_close(pc_chan);
}

static void consumer(void *arg)
{
	(void)arg;
	long v, sum = 0;
	while (gort_chan_recv(pc_chan, &v) == 1)
		sum += v;
	ST(&pc_sum, sum);
}

/* One producer sends 1..n through a channel of PC_CAP values and closes
 * it; one consumer receives until the close. ns per value. */
static double bench_chan_buffered(long n, unsigned procs)
{
	start(procs, 1);
	warm_up();
	pc_chan = chan_or_die(PC_CAP);
	uint64_t t0 = now_ns();
	spawn(consumer, NULL);
	spawn(producer, (void *)n);
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&cp_failed) || LD(&pc_sum) != n * (n + 1) / 2)
		die("the consumer did not receive every value once");
	gort_chan_free(pc_chan);
	return (double)(t1 - t0) / (double)n;
}

/* ------------------------------------------------------------ mutex */

#define MUTEX_GS 8

static gort_mutex mu = GORT_MUTEX_INIT;
static long mu_count;

static void incrementer(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		gort_mutex_lock(&mu);
		mu_count++;
		gort_mutex_unlock(&mu);
	}
}

/* MUTEX_GS Gs on 2 Ps each increment one counter n / MUTEX_GS times under
 * one gort_mutex. ns per lock/unlock pair. */
static double bench_mutex(long n)
{
	start(2, 1);
	warm_up();
	long each = n / MUTEX_GS;
	uint64_t t0 = now_ns();
	for (int i = 0; i < MUTEX_GS; i++)
		spawn(incrementer, (void *)each);
	run_all();
	uint64_t t1 = now_ns();
	if (mu_count != each * MUTEX_GS)
		die("the mutex lost an increment");
	return (double)(t1 - t0) / (double)(each * MUTEX_GS);
}

/* ------------------------------------------------------------ sleep */

/* Usable stack of the sleepers: 4 KiB, so the top frame and the canary
 * words share one page (one page fault and one resident page per G,
 * where the 64 KiB default touches two). 0 would be the default. */
#define SLEEP_STACK ((size_t)4 << 10)

static long sleep_done;
static long sleep_peak_kb;

/* 10 ms to 100 ms, spread evenly over the Gs. */
static void sleeper(void *arg)
{
	long i = (long)arg;
	gort_sleep((10 + i % 91) * 1000000ll);
	ADD(&sleep_done, 1);
}

static void sleep_spawner(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		if (gort_go(sleeper, (void *)i) < 0)
			die("gort_go failed in the spawner");
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage failed");
	return ru.ru_maxrss;
}

/* n Gs, spawned from a G on 2 Ps, each sleep once; wall ms from the first
 * spawn to the last wake-up, and the process's peak RSS. */
static double bench_sleep(long n)
{
	gort_config cfg = {.procs = 2, .threaded = 1, .stack_bytes = SLEEP_STACK};
	if (gort_init(&cfg) != 0)
		die("gort_init failed");
	warm_up();
	uint64_t t0 = now_ns();
	spawn(sleep_spawner, (void *)n);
	run_all();
	uint64_t t1 = now_ns();
	if (LD(&sleep_done) != n)
		die("not every sleeper woke");
	sleep_peak_kb = peak_rss_kb();
	return (double)(t1 - t0) / 1e6;
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
	{.name = "chan-pingpong", .n = 500000, .unit = "ns/roundtrip"},
	{.name = "chan-buf-p1", .n = 2000000, .unit = "ns/value"},
	{.name = "chan-buf-p2", .n = 2000000, .unit = "ns/value"},
	{.name = "mutex", .n = 2000000, .unit = "ns/lock"},
	{.name = "sleep", .n = 100000, .unit = "ms"},
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
	if (strcmp(name, "chan-pingpong") == 0)
		return bench_chan_pingpong(n);
	if (strcmp(name, "chan-buf-p1") == 0)
		return bench_chan_buffered(n, 1);
	if (strcmp(name, "chan-buf-p2") == 0)
		return bench_chan_buffered(n, 2);
	if (strcmp(name, "mutex") == 0)
		return bench_mutex(n);
	if (strcmp(name, "sleep") == 0)
		return bench_sleep(n);
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
	if (strcmp(w->name, "sleep") == 0)
		printf("%s %.2f %s peak_rss_kb=%ld\n", w->name, v, w->unit, sleep_peak_kb);
	else
		printf("%s %.2f %s\n", w->name, v, w->unit);
	return 0;
}
