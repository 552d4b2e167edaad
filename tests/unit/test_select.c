/*
 * test_select.c — gort_select through the public API: the uniform choice
 * among ready cases, default, a blocked select woken by each kind of case,
 * close seen by a receive case, a send case on a closed channel reported,
 * the same channel named twice, many cases (the heap path), and selects
 * racing each other on the same channels in threaded mode.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../support/gort_test.h"

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

TestSuite(select, .timeout = 120);

Test(select, ready_cases_are_chosen_uniformly)
{
	gt_start(0, 1);
	enum { N = 3, ROUNDS = 6000 };
	gort_chan *c[N];
	int counts[N] = {0}, v = 1, out;
	for (int i = 0; i < N; i++)
		c[i] = gort_chan_make(sizeof(int), 1);
	for (int r = 0; r < ROUNDS; r++) {
		gort_select_case k[N];
		for (int i = 0; i < N; i++) {
			if (gort_chan_len(c[i]) == 0)
				gort_chan_send(c[i], &v);
			k[i] = (gort_select_case){.chan = c[i], .dir = GORT_RECV, .elem = &out};
		}
		int got = gort_select(k, N, false);
		cr_assert(got >= 0 && got < N);
		cr_assert(k[got].ok);
		counts[got]++;
	}
	for (int i = 0; i < N; i++) {
		cr_assert(counts[i] > ROUNDS / N * 9 / 10 && counts[i] < ROUNDS / N * 11 / 10,
			  "case %d chosen %d times of %d", i, counts[i], ROUNDS);
		gort_chan_free(c[i]);
	}
	gt_finish();
}

Test(select, default_when_nothing_is_ready)
{
	gt_start(0, 1);
	gort_chan *a = gort_chan_make(sizeof(int), 0), *b = gort_chan_make(sizeof(int), 1);
	int x = 3, y;
	gort_chan_send(b, &x); /* b is full */
	gort_select_case k[] = {
		{.chan = a, .dir = GORT_RECV, .elem = &y},
		{.chan = b, .dir = GORT_SEND, .elem = &x},
		{.chan = NULL, .dir = GORT_RECV, .elem = &y},
	};
	cr_assert_eq(gort_select(k, 3, false), -1);
	cr_assert_eq(gort_select(NULL, 0, false), -1);
	k[0].dir = 7;
	errno = 0;
	cr_assert_eq(gort_select(k, 3, false), -1);
	cr_assert_eq(errno, EINVAL);
	gort_chan_free(a);
	gort_chan_free(b);
	gt_finish();
}

static gort_chan *ca, *cb, *cc;
static int sel_index = -9, sel_value = -9;
static bool sel_ok;

static void selector(void *arg)
{
	(void)arg;
	int v = 100, r = -1;
	gort_select_case k[] = {
		{.chan = ca, .dir = GORT_RECV, .elem = &r},
		{.chan = cb, .dir = GORT_SEND, .elem = &v},
		{.chan = cc, .dir = GORT_RECV, .elem = &r},
	};
	sel_index = gort_select(k, 3, true);
	sel_value = r;
	sel_ok = sel_index >= 0 ? k[sel_index].ok : false;
}

static void send_to_a(void *arg)
{
	int v = (int)(long)arg;
	gort_chan_send(ca, &v);
}

static void recv_from_b(void *arg)
{
	gort_chan_recv(cb, arg);
}

static void make3(void)
{
	ca = gort_chan_make(sizeof(int), 0);
	cb = gort_chan_make(sizeof(int), 0);
	cc = gort_chan_make(sizeof(int), 0);
}

static void free3(void)
{
	gort_chan_info i;
	gort_chan *all[] = {ca, cb, cc};
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(gort_inspect_chan(all[k], &i), 0);
		cr_assert_eq(i.nrecvq + i.nsendq, 0, "the select left a sudog queued");
		gort_chan_free(all[k]);
	}
}

static void woken_by(int threaded, int which)
{
	gt_start(threaded, 2);
	make3();
	sel_index = sel_value = -9;
	int got = -1;
	gort_go(selector, NULL);
	cr_assert_eq(gort_run(), 1);
	gt_reset_reports();
	gort_g_info gs[4];
	gort_inspect_gs(gs, 4);
	cr_assert_str_eq(gs[0].waitreason, "select");
	if (which == 0)
		gort_go(send_to_a, (void *)41L);
	else if (which == 1)
		gort_go(recv_from_b, &got);
	else
		gort_chan_close(cc);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(sel_index, which);
	if (which == 0) {
		cr_assert_eq(sel_value, 41);
		cr_assert(sel_ok);
	} else if (which == 1) {
		cr_assert_eq(got, 100);
	} else {
		cr_assert_not(sel_ok, "a receive case woken by close is not ok");
		cr_assert_eq(sel_value, 0);
	}
	free3();
	gt_finish();
}

Test(select, a_blocked_select_wakes_for_a_receive_step) { woken_by(0, 0); }
Test(select, a_blocked_select_wakes_for_a_send_step) { woken_by(0, 1); }
Test(select, a_blocked_select_wakes_for_a_close_step) { woken_by(0, 2); }
Test(select, a_blocked_select_wakes_for_a_receive_threaded) { woken_by(1, 0); }
Test(select, a_blocked_select_wakes_for_a_send_threaded) { woken_by(1, 1); }
Test(select, a_blocked_select_wakes_for_a_close_threaded) { woken_by(1, 2); }

Test(select, a_send_case_on_a_closed_channel_is_reported)
{
	gt_start(0, 1);
	gort_chan *c = gort_chan_make(sizeof(int), 1);
	gort_chan_close(c);
	int v = 1;
	gort_select_case k[] = {{.chan = c, .dir = GORT_SEND, .elem = &v}};
	errno = 0;
	cr_assert_eq(gort_select(k, 1, true), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(gt_rec.kind, GORT_ERR_SEND_ON_CLOSED);
	cr_assert_eq(gt_rec.address, (uintptr_t)c);
	gort_chan_free(c);
	gt_reset_reports();
	gt_finish();
}

/* One select sends and receives on the same unbuffered channel. */
static int both_index = -1;

static void send_and_recv_same(void *arg)
{
	(void)arg;
	int v = 5, r;
	gort_select_case k[] = {
		{.chan = ca, .dir = GORT_SEND, .elem = &v},
		{.chan = ca, .dir = GORT_RECV, .elem = &r},
	};
	both_index = gort_select(k, 2, true);
}

Test(select, one_channel_named_twice_is_locked_once)
{
	gt_start(0, 1);
	make3();
	gort_go(send_and_recv_same, NULL);
	cr_assert_eq(gort_run(), 1);
	int got = 0;
	cr_assert_eq(gort_chan_recv(ca, &got), 1, "main takes the select's send");
	cr_assert_eq(got, 5);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(both_index, 0);
	free3();
	gt_finish();
}

Test(select, many_cases_take_the_heap_path)
{
	gt_start(0, 1);
	enum { N = 40 };
	gort_chan *c[N];
	gort_select_case k[N];
	int r = -1;
	for (int i = 0; i < N; i++) {
		c[i] = gort_chan_make(sizeof(int), 1);
		k[i] = (gort_select_case){.chan = c[i], .dir = GORT_RECV, .elem = &r};
	}
	int v = 77;
	gort_chan_send(c[31], &v);
	cr_assert_eq(gort_select(k, N, true), 31);
	cr_assert_eq(r, 77);
	for (int i = 0; i < N; i++)
		gort_chan_free(c[i]);
	gt_finish();
}

/* Threaded: selectors racing senders on shared channels; every value is
 * taken exactly once and no sudog is left behind. */
enum { RACERS = 4, RACE_VALUES = 4000 };
static long race_sum, race_count;

static void race_selector(void *arg)
{
	(void)arg;
	for (;;) {
		int r;
		gort_select_case k[] = {
			{.chan = ca, .dir = GORT_RECV, .elem = &r},
			{.chan = cb, .dir = GORT_RECV, .elem = &r},
		};
		int i = gort_select(k, 2, true);
		if (i < 0 || !k[i].ok)
			return; /* a channel closed: done */
		ADD(&race_sum, r);
		ADD(&race_count, 1);
	}
}

static gort_waitgroup race_wg;

static void race_sender(void *arg)
{
	gort_chan *c = arg;
	for (int v = 1; v <= RACE_VALUES; v++)
		gort_chan_send(c, &v);
	gort_wg_done(&race_wg);
}

Test(select, racing_selects_take_each_value_once_threaded)
{
	gt_start(1, 4);
	make3();
	race_sum = race_count = 0;
	race_wg = (gort_waitgroup){0};
	gort_wg_add(&race_wg, 2);
	for (int i = 0; i < RACERS; i++)
		gort_go(race_selector, NULL);
	gort_go(race_sender, ca);
	gort_go(race_sender, cb);
	gort_wg_wait(&race_wg); /* the main thread waits outside any G */
	gort_chan_close(ca);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(race_count, 2 * RACE_VALUES);
	cr_assert_eq(race_sum, 2L * RACE_VALUES * (RACE_VALUES + 1) / 2);
	free3();
	gt_finish();
}
