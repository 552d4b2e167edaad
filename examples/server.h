/*
 * server.h — what the network examples share: a listening TCP socket on
 * 127.0.0.1 (its port printed as the first line, so that a test, or you,
 * knows where to connect), an acceptor G that starts one G per connection,
 * and the main that parses `[-t] [-n N] [PORT]` and waits for the
 * connections to end.
 *
 * Each example defines serve(fd), its per-connection G, which closes the fd
 * and calls gort_wg_done(&conns) when it is done.
 */
#ifndef EXAMPLES_SERVER_H
#define EXAMPLES_SERVER_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "gort.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static inline int listen_on(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 1024) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
		perror("listen");
		exit(1);
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return s;
}

/* One per connection still to be served (or one for ever). */
static gort_waitgroup conns;

static void serve(void *arg);

typedef struct acceptor {
	int listener;
	long count; /* connections to serve, < 0 for ever */
} acceptor;

static void accept_loop(void *arg)
{
	acceptor *a = arg;
	for (long i = 0; a->count < 0 || i < a->count; i++) {
		int c = gort_accept(a->listener, NULL, NULL);
		if (c >= 0) {
			gort_go(serve, (void *)(intptr_t)c);
			continue;
		}
		perror("accept");
		gort_wg_done(&conns); /* that connection will not come: count it served */
	}
}

/* Parses [-t] [-n N] [PORT], serves, and returns main's status. */
static inline int server_main(int argc, char **argv, const char *name)
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
			return fprintf(stderr, "usage: %s [-t] [-n N] [PORT]\n", name), 2;
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

#endif /* EXAMPLES_SERVER_H */
