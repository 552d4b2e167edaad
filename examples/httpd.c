/*
 * httpd.c — a small HTTP/1.0 server on goroutines: one G per connection
 * reads the request head, answers GET / with a line naming the goroutine
 * that served it (and GET /sleep?ms=N after sleeping N ms, to show Gs
 * waiting on timers while others serve), 404 otherwise, and closes.
 *
 *   httpd [-t] [-n N] [PORT]   options as examples/echo.c
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

/* Reads until the blank line that ends the head; its length, or -1. */
static ssize_t read_head(int c, char *buf, size_t cap)
{
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = gort_read(c, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void reply(int c, const char *status, const char *body)
{
	char out[512];
	int n = snprintf(out, sizeof out,
			 "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
			 status, strlen(body), body);
	gort_write(c, out, (size_t)n);
}

static void serve(void *arg)
{
	int c = (int)(intptr_t)arg;
	char head[2048], body[128];
	long ms;
	if (read_head(c, head, sizeof head) > 0) {
		if (strncmp(head, "GET / ", 6) == 0) {
			snprintf(body, sizeof body, "hello from goroutine %lld\n", (long long)gort_self());
			reply(c, "200 OK", body);
		} else if (sscanf(head, "GET /sleep?ms=%ld ", &ms) == 1 && ms >= 0 && ms <= 10000) {
			gort_sleep(ms * 1000000);
			snprintf(body, sizeof body, "slept %ld ms in goroutine %lld\n", ms,
				 (long long)gort_self());
			reply(c, "200 OK", body);
		} else {
			reply(c, "404 Not Found", "not found\n");
		}
	}
	gort_close(c);
	gort_wg_done(&conns);
}

int main(int argc, char **argv)
{
	return server_main(argc, argv, "httpd");
}
