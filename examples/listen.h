/*
 * listen.h — what the network examples share: a listening TCP socket on
 * 127.0.0.1, its port printed as the first line so that a test (or you)
 * knows where to connect.
 */
#ifndef EXAMPLES_LISTEN_H
#define EXAMPLES_LISTEN_H

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

#endif /* EXAMPLES_LISTEN_H */
