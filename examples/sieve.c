/*
 * sieve.c — Go's concurrent prime sieve on gort's goroutines and channels.
 *
 * A generator G sends 2, 3, 4, ... down a channel; each prime found starts
 * a filter G between the last channel and a new one, which passes on the
 * numbers its prime does not divide. The first number out of the last
 * channel is always the next prime. The main thread reads them outside any
 * G: in threaded mode it blocks until a G sends; in step mode the receive
 * drives the scheduler, so the run is the same every time.
 *
 *   sieve [-t] [N]   print the first N primes (default 10); -t: threaded
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"

typedef struct filter_args {
	gort_chan *in, *out;
	int64_t prime;
} filter_args;

static void generate(void *arg)
{
	gort_chan *ch = arg;
	for (int64_t i = 2;; i++)
		if (gort_chan_send(ch, &i) != 0)
			return;
}

static void filter(void *arg)
{
	filter_args *f = arg;
	int64_t n;
	while (gort_chan_recv(f->in, &n) == 1)
		if (n % f->prime != 0 && gort_chan_send(f->out, &n) != 0)
			return;
}

int main(int argc, char **argv)
{
	gort_config cfg = {.procs = 2};
	int argi = 1;
	if (argi < argc && strcmp(argv[argi], "-t") == 0) {
		cfg.threaded = 1;
		argi++;
	}
	long count = argi < argc ? strtol(argv[argi], NULL, 10) : 10;
	if (count < 1 || gort_init(&cfg) != 0) {
		fprintf(stderr, "usage: sieve [-t] [N >= 1]\n");
		return 2;
	}
	gort_chan *ch = gort_chan_make(sizeof(int64_t), 0);
	gort_go(generate, ch);
	for (long i = 0; i < count; i++) {
		int64_t prime;
		if (gort_chan_recv(ch, &prime) != 1)
			return 1;
		printf("%lld\n", (long long)prime);
		filter_args *f = gort_malloc(sizeof *f);
		*f = (filter_args){.in = ch, .out = gort_chan_make(sizeof(int64_t), 0), .prime = prime};
		gort_go(filter, f);
		ch = f->out;
	}
	/* The Gs wait forever on their channels, as in Go when main returns:
	 * the process ends without waiting for them. */
	return 0;
}
