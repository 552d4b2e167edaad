/*
 * netload.c — the load generator of bench/net.sh: C concurrent TCP
 * connections to 127.0.0.1:PORT, driven by plain epoll on its own threads.
 * It does not use gort, so it loads gort's servers and Go's alike.
 *
 *   netload echo [-c CONNS] [-r ROUNDS] [-b BYTES] [-t THREADS] PORT
 *       CONNS connections (default 1000), each does ROUNDS round trips
 *       (default 100): writes BYTES (default 64) and reads them back, then
 *       closes. One request = one round trip.
 *   netload http [-c CONNS] [-n TOTAL] [-t THREADS] PORT
 *       TOTAL requests (default 20000), CONNS of them in flight at a time:
 *       each connects, writes "GET / HTTP/1.0", reads the response until
 *       the server closes, checks its status line, and a new connection
 *       takes its place. One request = one connection.
 *
 * Prints one line, "MODE VALUE req/s", the requests over the wall-clock
 * time from the first connect to the last response (connects included).
 * Any failed connection, short echo or bad status fails the run (exit 1),
 * so a server that drops work cannot look fast.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { ECHO, HTTP };
enum state { CONNECTING, SENDING, RECEIVING };

typedef struct conn {
	int fd;
	enum state st;
	size_t off;    /* bytes sent or received in this exchange */
	long rounds;   /* echo: round trips done on this connection */
	char head[16]; /* http: the response's first bytes */
} conn;

typedef struct worker {
	pthread_t tid;
	int ep;
	long nconns;   /* connections (slots) of this worker */
	long quota;    /* http: requests this worker makes in all */
	long started;  /* http: requests begun */
	long done;     /* requests completed */
	long open;     /* connections still open (echo) or slots in use (http) */
	conn *c;
} worker;

static struct {
	enum mode mode;
	long conns, rounds, total, bytes;
	int threads;
	struct sockaddr_in addr;
	char *payload; /* echo: what is sent; http: the request */
	size_t plen;
	char *scratch; /* per read; contents compared for echo */
} O = {.conns = 1000, .rounds = 100, .total = 20000, .bytes = 64, .threads = 1};

static const char request[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

static _Noreturn void die(const char *what)
{
	perror(what);
	exit(1);
}

static _Noreturn void fail(const char *why)
{
	fprintf(stderr, "netload: %s\n", why);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ one conn */

/* Starts a connection in slot c: non-blocking connect, registered once,
 * edge-triggered for both directions (each step then runs to EAGAIN). */
static void conn_open(worker *w, conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*c = (conn){.fd = fd, .st = CONNECTING};
	if (connect(fd, (struct sockaddr *)&O.addr, sizeof O.addr) == 0)
		c->st = SENDING;
	else if (errno != EINPROGRESS)
		die("connect");
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) != 0)
		die("epoll_ctl");
	w->open++;
}

static void conn_close(worker *w, conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	w->open--;
}

/* false while the connect is in progress; dies if it failed. */
static bool connected(conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		die("getsockopt");
	if (err == EINPROGRESS || err == EALREADY)
		return false;
	if (err) {
		errno = err;
		die("connect");
	}
	return true;
}

/* Sends the rest of the request; true when all of it is out. */
static bool send_some(conn *c)
{
	while (c->off < O.plen) {
		ssize_t n = write(c->fd, O.payload + c->off, O.plen - c->off);
		if (n < 0)
			return errno == EAGAIN ? false : (die("write"), false);
		c->off += (size_t)n;
	}
	c->off = 0;
	return true;
}

/* Reads what has come. 1: the exchange is complete, 0: wait, dies on an
 * error, a short echo or a wrong byte. */
static int recv_echo(conn *c)
{
	while (c->off < O.plen) {
		ssize_t n = read(c->fd, O.scratch, O.plen - c->off);
		if (n < 0)
			return errno == EAGAIN ? 0 : (die("read"), 0);
		if (n == 0)
			fail("echo: the server closed a connection early");
		if (memcmp(O.scratch, O.payload + c->off, (size_t)n) != 0)
			fail("echo: the server sent back other bytes");
		c->off += (size_t)n;
	}
	c->off = 0;
	return 1;
}

/* HTTP/1.0: the response ends when the server closes. */
static int recv_http(conn *c)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n < 0)
			return errno == EAGAIN ? 0 : (die("read"), 0);
		if (n == 0)
			break;
		size_t keep = sizeof c->head - 1 - c->off;
		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(c->head + c->off, buf, keep);
		c->off += keep;
	}
	c->head[c->off] = 0;
	if (strncmp(c->head, "HTTP/1.0 200", 12) != 0 && strncmp(c->head, "HTTP/1.1 200", 12) != 0)
		fail("http: a response without status 200");
	return 1;
}

/* The connection's exchange is over: the next round, or close (and, for
 * http, a new connection in the slot). */
static void exchange_done(worker *w, conn *c)
{
	w->done++;
	if (O.mode == ECHO && ++c->rounds < O.rounds) {
		c->st = SENDING;
		return;
	}
	conn_close(w, c);
	if (O.mode == HTTP && w->started < w->quota) {
		w->started++;
		conn_open(w, c);
	}
}

/* Runs the slot's state machine until it must wait for an edge. */
static void step(worker *w, conn *c)
{
	while (c->fd >= 0) {
		if (c->st == CONNECTING) {
			if (!connected(c))
				return;
			c->st = SENDING;
		}
		if (c->st == SENDING) {
			if (!send_some(c))
				return;
			c->st = RECEIVING;
		}
		if ((O.mode == ECHO ? recv_echo(c) : recv_http(c)) == 0)
			return;
		exchange_done(w, c);
	}
}

/* ------------------------------------------------------------ workers */

static void *run(void *arg)
{
	worker *w = arg;
	struct epoll_event ev[256];
	for (long i = 0; i < w->nconns; i++) {
		if (O.mode == HTTP && w->started >= w->quota)
			break;
		w->started++;
		conn_open(w, &w->c[i]);
	}
	while (w->open > 0) {
		int n = epoll_wait(w->ep, ev, 256, 10000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		if (n == 0)
			fail("no progress for 10 s");
		for (int i = 0; i < n; i++)
			step(w, ev[i].data.ptr);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: netload echo [-c CONNS] [-r ROUNDS] [-b BYTES] [-t THREADS] PORT\n"
			"       netload http [-c CONNS] [-n TOTAL] [-t THREADS] PORT\n");
	exit(2);
}

static long num(const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == 0 || *end || v < min)
		usage();
	return v;
}

static void parse(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "echo") == 0)
		O.mode = ECHO;
	else if (strcmp(argv[1], "http") == 0)
		O.mode = HTTP;
	else
		usage();
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "c:r:b:n:t:")) != -1) {
		switch (opt) {
		case 'c': O.conns = num(optarg, 1); break;
		case 'r': O.rounds = num(optarg, 1); break;
		case 'b': O.bytes = num(optarg, 1); break;
		case 'n': O.total = num(optarg, 1); break;
		case 't': O.threads = (int)num(optarg, 1); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	O.addr = (struct sockaddr_in){.sin_family = AF_INET,
				      .sin_port = htons((uint16_t)num(argv[optind], 1)),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (O.threads > O.conns)
		O.threads = (int)O.conns;
}

static void make_payload(void)
{
	if (O.mode == HTTP) {
		O.payload = (char *)request;
		O.plen = sizeof request - 1;
		return;
	}
	O.plen = (size_t)O.bytes;
	O.payload = malloc(O.plen);
	O.scratch = malloc(O.plen);
	if (!O.payload || !O.scratch)
		die("malloc");
	for (size_t i = 0; i < O.plen; i++)
		O.payload[i] = (char)('a' + i % 26);
}

/* Worker i's share of n, the remainder spread over the first ones. */
static long share(long n, int i)
{
	return n / O.threads + (i < n % O.threads);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	make_payload();
	worker *w = calloc((size_t)O.threads, sizeof *w);
	if (!w)
		die("calloc");
	for (int i = 0; i < O.threads; i++) {
		w[i].nconns = share(O.conns, i);
		w[i].quota = O.mode == HTTP ? share(O.total, i) : w[i].nconns;
		w[i].c = calloc((size_t)w[i].nconns, sizeof(conn));
		if ((w[i].ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !w[i].c)
			die("setup");
	}
	double t0 = now_s();
	for (int i = 0; i < O.threads; i++)
		if (pthread_create(&w[i].tid, NULL, run, &w[i]) != 0)
			fail("pthread_create failed");
	long done = 0;
	for (int i = 0; i < O.threads; i++) {
		pthread_join(w[i].tid, NULL);
		done += w[i].done;
	}
	double secs = now_s() - t0;
	long want = O.mode == ECHO ? O.conns * O.rounds : O.total;
	if (done != want)
		fail("fewer requests completed than asked");
	printf("%s %.1f req/s\n", O.mode == ECHO ? "echo" : "http", (double)done / secs);
	return 0;
}
