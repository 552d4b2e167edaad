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
#include "server.h"

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

int main(int argc, char **argv)
{
	return server_main(argc, argv, "echo");
}
