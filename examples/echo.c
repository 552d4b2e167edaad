/*
 * echo.c — a TCP echo server on goroutines: one G accepts, one G per
 * connection reads and writes back until the client closes. gort_accept,
 * gort_read and gort_write park their G when the socket would block, so a
 * few Ms serve any number of connections.
 *
 *   echo [-t] [-n N] [PORT]
 *     -t   threaded mode (default: step mode, the caller's thread runs the Gs)
 *     -n   serve N connections, wait for them to end, and exit (default: forever)
 *     PORT on 127.0.0.1; 0 or none picks a free one. The first line printed is
 *          "listening on 127.0.0.1:PORT".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gort.h"
#include "listen.h"

static gort_waitgroup conns;

static void serve(void *arg)
{
	int c = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;
	while ((n = gort_read(c, buf, sizeof buf)) > 0)
		if (gort_write(c, buf, (size_t)n) != n)
			break;
	gort_close(c);
	gort_wg_done(&conns);
}

typedef struct acceptor {
	int listener;
	long count; /* connections to serve, < 0 for ever */
} acceptor;

static void accept_loop(void *arg)
{
	acceptor *a = arg;
	for (long i = 0; a->count < 0 || i < a->count; i++) {
		int c = gort_accept(a->listener, NULL, NULL);
		if (c < 0) {
			perror("accept");
			continue;
		}
		gort_go(serve, (void *)(intptr_t)c);
	}
}

int main(int argc, char **argv)
{
	gort_config cfg = {.procs = 2};
	acceptor a = {.count = -1};
	int opt;
	while ((opt = getopt(argc, argv, "tn:")) != -1) {
		if (opt == 't')
			cfg.threaded = 1;
		else if (opt == 'n')
			a.count = strtol(optarg, NULL, 10);
		else
			return fprintf(stderr, "usage: echo [-t] [-n N] [PORT]\n"), 2;
	}
	if (gort_init(&cfg) != 0)
		return perror("gort_init"), 1;
	a.listener = listen_on(optind < argc ? atoi(argv[optind]) : 0);
	gort_wg_add(&conns, a.count < 0 ? 1 : a.count);
	gort_go(accept_loop, &a);
	gort_wg_wait(&conns); /* step mode: this drives the Gs, and waits in the poller */
	gort_close(a.listener);
	return 0;
}
