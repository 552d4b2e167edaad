/*
 * sched_aarch64.c — the scheduler on aarch64, under qemu-user: the whole
 * library cross-built, then Gs spawning, yielding and passing values over a
 * channel in step mode and in threaded mode on 2 Ps (where Ms are real
 * threads, so the atomics and the context switch meet). No Criterion (no
 * aarch64 build of it here): "ok - " / "not ok - " lines, exit 1 on a
 * failure. `make test-aarch64` builds and runs it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gort.h"
#include "gort_inspect.h"

#define GS 64
#define YIELDS 20
#define VALUES 1000

static long runs, received_sum;
static gort_chan *ch;

static void yielder(void *arg)
{
	(void)arg;
	for (int i = 0; i < YIELDS; i++)
		gort_yield();
	__atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
}

static void sender(void *arg)
{
	(void)arg;
	for (long v = 1; v <= VALUES; v++)
		gort_chan_send(ch, &v);
}

static void receiver(void *arg)
{
	(void)arg;
	for (int i = 0; i < VALUES; i++) {
		long v = 0;
		gort_chan_recv(ch, &v);
		__atomic_add_fetch(&received_sum, v, __ATOMIC_SEQ_CST);
	}
}

/* One run in the given mode; returns 0 if every check held. */
static int run_mode(int threaded)
{
	gort_config cfg = {.procs = 2, .arena_bytes = 64u << 20, .threaded = threaded};
	if (gort_init(&cfg) != 0) {
		printf("not ok - gort_init (threaded=%d)\n", threaded);
		return 1;
	}
	runs = received_sum = 0;
	ch = gort_chan_make(sizeof(long), 0);
	for (int i = 0; i < GS; i++)
		gort_go(yielder, NULL);
	gort_go(sender, NULL);
	gort_go(receiver, NULL);
	int parked = gort_run();
	long want = (long)VALUES * (VALUES + 1) / 2;
	int bad = parked != 0 || runs != GS || received_sum != want || gort_check() != 0;
	printf("%s - %s mode: %d Gs yielded %d times each, %d values over a channel\n",
	       bad ? "not ok" : "ok", threaded ? "threaded" : "step", GS, YIELDS, VALUES);
	if (bad)
		printf("# parked=%d runs=%ld sum=%ld (want %ld)\n", parked, runs, received_sum, want);
	gort_shutdown();
	return bad;
}

int main(void)
{
	int bad = run_mode(0) + run_mode(1);
	printf("%s\n", bad ? "FAILED" : "all passed");
	return bad ? 1 : 0;
}
