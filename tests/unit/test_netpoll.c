/*
 * test_netpoll.c — Gs that wait on file descriptors, in both modes: pipe
 * ping-pong through gort_read/gort_write, a TCP echo server on 127.0.0.1
 * with many client Gs, gort_wait_fd's timeout (virtual in step mode),
 * gort_close waking a waiter, many Gs parked on fds at once, an fd wait
 * that is not a deadlock, and a step-mode main thread that waits for an
 * fd written by another thread.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/gort_test.h"

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

TestSuite(netpoll, .timeout = 120);

static double seconds_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* ------------------------------------------------ pipe ping-pong */

enum { PINGS = 2000 };
static int ab[2], ba[2];
static long pong_bad;

static void pinger(void *arg)
{
	(void)arg;
	for (int i = 0; i < PINGS; i++) {
		int v = i, r = -1;
		if (gort_write(ab[1], &v, sizeof v) != sizeof v || gort_read(ba[0], &r, sizeof r) != sizeof r ||
		    r != i + 1)
			ADD(&pong_bad, 1);
	}
}

static void ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < PINGS; i++) {
		int v = -1;
		if (gort_read(ab[0], &v, sizeof v) != sizeof v)
			ADD(&pong_bad, 1);
		v++;
		gort_write(ba[1], &v, sizeof v);
	}
}

static void pipe_ping_pong(int threaded)
{
	gt_start(threaded, 2);
	cr_assert_eq(pipe(ab), 0);
	cr_assert_eq(pipe(ba), 0);
	pong_bad = 0;
	gort_go(ponger, NULL);
	gort_go(pinger, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(pong_bad, 0);
	for (int i = 0; i < 2; i++) {
		gort_close(ab[i]);
		gort_close(ba[i]);
	}
	gt_finish();
}

Test(netpoll, pipe_ping_pong_step) { pipe_ping_pong(0); }
Test(netpoll, pipe_ping_pong_threaded) { pipe_ping_pong(1); }

/* ------------------------------------------------ TCP echo */

enum { CLIENTS = 64, ROUNDS = 20 };
static int listener;
static struct sockaddr_in addr;
static long echoed, echo_bad, served;

static void echo_conn(void *arg)
{
	int c = (int)(long)arg;
	char buf[256];
	ssize_t n;
	while ((n = gort_read(c, buf, sizeof buf)) > 0)
		if (gort_write(c, buf, (size_t)n) != n)
			break;
	gort_close(c);
}

static void echo_server(void *arg)
{
	(void)arg;
	for (int i = 0; i < CLIENTS; i++) {
		int c = gort_accept(listener, NULL, NULL);
		if (c < 0) {
			ADD(&echo_bad, 1000);
			return;
		}
		ADD(&served, 1);
		gort_go(echo_conn, (void *)(long)c);
	}
}

static void echo_client(void *arg)
{
	long id = (long)arg;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || gort_connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
		ADD(&echo_bad, 1);
		return;
	}
	for (int r = 0; r < ROUNDS; r++) {
		char out[32], in[32];
		int len = snprintf(out, sizeof out, "client %ld round %d", id, r);
		int got = 0;
		if (gort_write(s, out, (size_t)len) != len)
			ADD(&echo_bad, 1);
		while (got < len) {
			ssize_t n = gort_read(s, in + got, (size_t)(len - got));
			if (n <= 0)
				break;
			got += (int)n;
		}
		if (got != len || memcmp(in, out, (size_t)len) != 0)
			ADD(&echo_bad, 1);
		else
			ADD(&echoed, 1);
	}
	gort_close(s);
}

static void echo(int threaded)
{
	gt_start(threaded, 2);
	echoed = echo_bad = served = 0;
	listener = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(listener, 0);
	addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	cr_assert_eq(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0);
	cr_assert_eq(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
	cr_assert_eq(listen(listener, CLIENTS), 0);
	gort_go(echo_server, NULL);
	for (long i = 0; i < CLIENTS; i++)
		gort_go(echo_client, (void *)i);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(echo_bad, 0);
	cr_assert_eq(served, CLIENTS);
	cr_assert_eq(echoed, CLIENTS * ROUNDS);
	gort_close(listener);
	gt_finish();
}

Test(netpoll, tcp_echo_server_step) { echo(0); }
Test(netpoll, tcp_echo_server_threaded) { echo(1); }

/* ------------------------------------------------ timeouts, close */

static int waited_rc = 9, waited_errno;

static void wait_read(void *arg)
{
	waited_rc = gort_wait_fd(ab[0], GORT_READ, (int64_t)(long)arg);
	waited_errno = errno;
}

static void timeout(int threaded)
{
	gt_start(threaded, 2);
	cr_assert_eq(pipe(ab), 0);
	waited_rc = 9;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t v0 = gort_now();
	/* 20 ms for real; 20 s in step mode, where a real wait would show. */
	long timeout_ns = threaded ? 20000000L : 20000000000L;
	gort_go(wait_read, (void *)timeout_ns);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(waited_rc, 0, "timed out");
	cr_assert_geq(gort_now() - v0, timeout_ns);
	if (threaded)
		cr_assert_geq(seconds_since(&t0), 0.019);
	else
		cr_assert_lt(seconds_since(&t0), 5.0, "step mode's clock is virtual");
	gort_close(ab[0]);
	gort_close(ab[1]);
	gt_finish();
}

Test(netpoll, wait_fd_times_out_step) { timeout(0); }
Test(netpoll, wait_fd_times_out_threaded) { timeout(1); }

Test(netpoll, wait_fd_is_ready_at_once_when_data_waits)
{
	gt_start(0, 1);
	cr_assert_eq(pipe(ab), 0);
	cr_assert_eq(write(ab[1], "x", 1), 1);
	gort_go(wait_read, (void *)-1L);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(waited_rc, 1);
	gort_close(ab[0]);
	gort_close(ab[1]);
	gt_finish();
}

Test(netpoll, gort_close_wakes_the_waiter_with_ebadf)
{
	gt_start(0, 1);
	cr_assert_eq(pipe(ab), 0);
	waited_rc = 9;
	gort_go(wait_read, (void *)-1L);
	cr_assert_eq(gort_run(), 1, "parked on the fd");
	gort_g_info g[2];
	cr_assert_eq(gort_inspect_gs(g, 2), 1);
	cr_assert_str_eq(g[0].waitreason, "IO wait");
	gort_close(ab[0]);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(waited_rc, -1);
	cr_assert_eq(waited_errno, EBADF);
	close(ab[1]);
	gt_finish();
}

/* ------------------------------------------------ many waiters */

enum { MANY = 200 };
static int many[MANY][2];
static long many_got;
static gort_chan *done_ch;

static void read_one(void *arg)
{
	long i = (long)arg;
	char c;
	if (gort_read(many[i][0], &c, 1) == 1 && c == (char)i)
		ADD(&many_got, 1);
	gort_chan_send(done_ch, &i);
}

static void *write_all_later(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 30000000};
	nanosleep(&ts, NULL);
	for (long i = 0; i < MANY; i++) {
		char c = (char)i;
		if (write(many[i][1], &c, 1) != 1)
			break;
	}
	return NULL;
}

/* The main thread waits for MANY Gs parked on pipes that another thread
 * fills 30 ms later: in step mode its receive drives the scheduler and,
 * with nothing runnable and no timer, waits in the poller. */
static void many_waiters(int threaded)
{
	gt_start(threaded, 2);
	many_got = 0;
	done_ch = gort_chan_make(sizeof(long), 0);
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(pipe(many[i]), 0);
	for (long i = 0; i < MANY; i++)
		gort_go(read_one, (void *)i);
	pthread_t t;
	pthread_create(&t, NULL, write_all_later, NULL);
	for (int i = 0; i < MANY; i++) {
		long who;
		cr_assert_eq(gort_chan_recv(done_ch, &who), 1);
	}
	pthread_join(t, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(many_got, MANY);
	for (int i = 0; i < MANY; i++) {
		gort_close(many[i][0]);
		close(many[i][1]);
	}
	gort_chan_free(done_ch);
	gt_finish();
}

Test(netpoll, many_gs_parked_on_fds_step) { many_waiters(0); }
Test(netpoll, many_gs_parked_on_fds_threaded) { many_waiters(1); }

static void *write_later(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 30000000};
	nanosleep(&ts, NULL);
	if (write(ab[1], "y", 1) != 1)
		return NULL;
	return NULL;
}

Test(netpoll, a_g_waiting_on_an_fd_is_not_a_deadlock_threaded)
{
	gt_start(1, 2);
	cr_assert_eq(pipe(ab), 0);
	waited_rc = 9;
	gort_go(wait_read, (void *)-1L);
	pthread_t t;
	pthread_create(&t, NULL, write_later, NULL);
	cr_assert_eq(gort_run(), 0);
	pthread_join(t, NULL);
	cr_assert_eq(waited_rc, 1);
	cr_assert_eq(gt_reports(), 0, "no deadlock reported");
	gort_close(ab[0]);
	close(ab[1]);
	gt_finish();
}

/* A wait with a long timeout that an event ends early: its timer is
 * deleted and gort_run returns when the G is done, not when the timeout
 * would have passed. (The sleeping M usually takes the event itself; when
 * another M's poll takes it, the delete is what wakes the sleeper.) */
Test(netpoll, an_early_event_does_not_keep_run_waiting_for_the_timeout_threaded)
{
	gt_start(1, 2);
	cr_assert_eq(pipe(ab), 0);
	waited_rc = 9;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	gort_go(wait_read, (void *)5000000000L);
	pthread_t t;
	pthread_create(&t, NULL, write_later, NULL);
	cr_assert_eq(gort_run(), 0);
	pthread_join(t, NULL);
	cr_assert_eq(waited_rc, 1);
	cr_assert_lt(seconds_since(&t0), 2.0, "run waited for a deleted timer");
	gort_close(ab[0]);
	close(ab[1]);
	gt_finish();
}
