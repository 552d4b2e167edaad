/*
 * test_chan.c — channels and select through the public API, in step mode
 * and in threaded mode: values delivered exactly once and in order, the
 * direct hand-off to a waiting receiver, FIFO waiters, close waking every
 * waiter, the misuse reports, try_ forms, select's uniform choice and its
 * wake-ups, waiting outside any G, deadlock reports, and determinism.
 *
 * Gs run on the runtime's threads in threaded mode, where Criterion's
 * asserts must not be used: they record into atomics and plain arrays that
 * the test's thread reads after gort_run (which joins with them through
 * the scheduler's locks).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../support/gort_test.h"

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

TestSuite(chan, .timeout = 120);

/* ------------------------------------------------ unbuffered, in order */

#define PINGS 2000
static gort_chan *ch;
static long got[PINGS];
static long ngot, misordered;

static void sender(void *arg)
{
	(void)arg;
	for (long i = 0; i < PINGS; i++)
		if (gort_chan_send(ch, &i) != 0)
			ADD(&misordered, 1000000);
	gort_chan_close(ch);
}

static void receiver(void *arg)
{
	(void)arg;
	long v;
	while (gort_chan_recv(ch, &v) == 1) {
		if (v != ngot)
			misordered++;
		got[ngot++] = v;
	}
}

static void unbuffered_in_order(int threaded, size_t cap)
{
	gt_start(threaded, 2);
	ch = gort_chan_make(sizeof(long), cap);
	cr_assert_not_null(ch);
	ngot = misordered = 0;
	gort_go(receiver, NULL);
	gort_go(sender, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(ngot, PINGS);
	cr_assert_eq(misordered, 0);
	cr_assert_eq(gort_chan_len(ch), 0);
	gort_chan_free(ch);
	gt_finish();
}

Test(chan, unbuffered_values_arrive_once_in_order_step) { unbuffered_in_order(0, 0); }
Test(chan, unbuffered_values_arrive_once_in_order_threaded) { unbuffered_in_order(1, 0); }
Test(chan, buffered_values_arrive_once_in_order_step) { unbuffered_in_order(0, 7); }
Test(chan, buffered_values_arrive_once_in_order_threaded) { unbuffered_in_order(1, 7); }

/* ------------------------------------- the fast paths against waiters */

/* try_send and try_recv on an unbuffered channel read the head of the
 * other side's wait queue without the lock (Go's full and empty), while a
 * blocking party on another M queues itself under it. The queue's head
 * must be written atomically for that read not to be a data race: the
 * ThreadSanitizer build of this test reported it when it was not. */
#define TRIES 2000
static gort_chan *to_blocking, *from_blocking;
static long try_sum, blocking_sum;

static void blocking_receiver(void *arg)
{
	(void)arg;
	long v;
	for (int i = 0; i < TRIES; i++)
		if (gort_chan_recv(to_blocking, &v) == 1)
			ADD(&blocking_sum, v);
}

static void trying_sender(void *arg)
{
	(void)arg;
	for (long i = 1; i <= TRIES; i++)
		while (gort_chan_try_send(to_blocking, &i) != 1)
			gort_yield();
}

static void blocking_sender(void *arg)
{
	(void)arg;
	for (long i = 1; i <= TRIES; i++)
		gort_chan_send(from_blocking, &i);
}

static void trying_receiver(void *arg)
{
	(void)arg;
	long v;
	for (int i = 0; i < TRIES; i++) {
		while (gort_chan_try_recv(from_blocking, &v) != 1)
			gort_yield();
		ADD(&try_sum, v);
	}
}

Test(chan, try_forms_race_waiters_queueing_on_other_ms)
{
	gt_start(1, 2);
	to_blocking = gort_chan_make(sizeof(long), 0);
	from_blocking = gort_chan_make(sizeof(long), 0);
	cr_assert(to_blocking && from_blocking);
	try_sum = blocking_sum = 0;
	gort_go(blocking_receiver, NULL);
	gort_go(trying_sender, NULL);
	gort_go(blocking_sender, NULL);
	gort_go(trying_receiver, NULL);
	cr_assert_eq(gort_run(), 0);
	long want = (long)TRIES * (TRIES + 1) / 2;
	cr_assert_eq(blocking_sum, want);
	cr_assert_eq(try_sum, want);
	gort_chan_free(to_blocking);
	gort_chan_free(from_blocking);
	gt_finish();
}

/* ------------------------------------------------ many to many */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 3000
static unsigned char seen[PRODUCERS * PER_PRODUCER];
static long dupes, nconsumed;
static gort_waitgroup producers_wg;

static void producer(void *arg)
{
	long base = (long)arg * PER_PRODUCER;
	for (long i = 0; i < PER_PRODUCER; i++) {
		long v = base + i;
		gort_chan_send(ch, &v);
		if (i % 64 == 0)
			gort_yield();
	}
	gort_wg_done(&producers_wg);
}

static void closer(void *arg)
{
	(void)arg;
	gort_wg_wait(&producers_wg);
	gort_chan_close(ch);
}

static void consumer(void *arg)
{
	(void)arg;
	long v;
	while (gort_chan_recv(ch, &v) == 1) {
		if (__atomic_exchange_n(&seen[v], 1, __ATOMIC_SEQ_CST))
			ADD(&dupes, 1);
		ADD(&nconsumed, 1);
	}
}

static void many_to_many(int threaded, size_t cap)
{
	gt_start(threaded, 4);
	ch = gort_chan_make(sizeof(long), cap);
	memset(seen, 0, sizeof seen);
	dupes = nconsumed = 0;
	producers_wg = (gort_waitgroup){0};
	gort_wg_add(&producers_wg, PRODUCERS);
	for (long i = 0; i < CONSUMERS; i++)
		gort_go(consumer, NULL);
	for (long i = 0; i < PRODUCERS; i++)
		gort_go(producer, (void *)i);
	gort_go(closer, NULL);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(dupes, 0);
	cr_assert_eq(nconsumed, PRODUCERS * PER_PRODUCER);
	for (size_t i = 0; i < sizeof seen; i++)
		cr_assert_eq(seen[i], 1, "value %zu lost", i);
	gort_chan_free(ch);
	gt_finish();
}

Test(chan, many_producers_and_consumers_each_value_once_step) { many_to_many(0, 16); }
Test(chan, many_producers_and_consumers_each_value_once_threaded) { many_to_many(1, 16); }
Test(chan, many_producers_and_consumers_unbuffered_threaded) { many_to_many(1, 0); }

/* ------------------------------------------------ the direct hand-off */

static long handed;

static void wait_one(void *arg)
{
	(void)arg;
	gort_chan_recv(ch, &handed);
}

static void send_seven(void *arg)
{
	(void)arg;
	long v = 7;
	gort_chan_send(ch, &v);
}

static const gort_g_info *find_g(gort_g_info *gs, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (gs[i].goid == id)
			return &gs[i];
	return NULL;
}

Test(chan, a_waiting_receiver_gets_the_value_straight_from_the_sender)
{
	gt_start(0, 1);
	ch = gort_chan_make(sizeof(long), 0);
	int64_t r = gort_go(wait_one, NULL);
	cr_assert_eq(gort_step(), 1); /* r parks */
	gort_g_info gs[8];
	size_t n = gort_inspect_gs(gs, 8);
	const gort_g_info *gi = find_g(gs, n, r);
	cr_assert_eq(gi->status, 4);
	cr_assert_str_eq(gi->waitreason, "chan receive");
	cr_assert_eq(gi->waiton, (uintptr_t)ch);
	gort_chan_info info;
	cr_assert_eq(gort_inspect_chan(ch, &info), 0);
	cr_assert_eq(info.nrecvq, 1);
	cr_assert_eq(info.recvq[0], r);
	cr_assert_eq(gort_ready(r), -1, "a G parked on a channel is the channel's to wake");
	uint64_t mark = gort_event_seq();
	int64_t s = gort_go(send_seven, NULL);
	cr_assert_eq(gort_step(), 1); /* s hands 7 over and exits */
	gort_event ev[16];
	size_t ne = gort_inspect_events(mark, ev, 16);
	bool saw = false;
	for (size_t i = 0; i < ne; i++)
		if (ev[i].kind == GORT_EV_HANDOFF) {
			cr_assert_eq(ev[i].goid, r);
			cr_assert_eq(ev[i].by, s);
			cr_assert_eq(ev[i].obj, (uintptr_t)ch);
			cr_assert_eq(ev[i].source, GORT_HANDOFF_TO_WAITER);
			saw = true;
		}
	cr_assert(saw, "no handoff event");
	cr_assert_eq(handed, 7, "the value is in the receiver before it runs again");
	cr_assert_eq(gort_run(), 0);
	gort_chan_free(ch);
	gt_finish();
}

/* ------------------------------------------------ FIFO waiters, close */

#define WAITERS 6
static long fifo_got[WAITERS + 1];
static int closed_rc[WAITERS];

static void fifo_waiter(void *arg)
{
	long i = (long)arg;
	long v = -1;
	closed_rc[i] = gort_chan_recv(ch, &v);
	fifo_got[i] = v;
}

static void send_in_order(void *arg)
{
	long n = (long)arg;
	for (long v = 0; v < n; v++)
		gort_chan_send(ch, &v);
}

Test(chan, receivers_are_served_first_come_first_served)
{
	gt_start(0, 2);
	ch = gort_chan_make(sizeof(long), 0);
	for (long i = 0; i < WAITERS; i++) {
		gort_go_p(0, fifo_waiter, (void *)i);
		cr_assert_eq(gort_step_p(0), 1); /* waiter i parks now */
	}
	gort_go(send_in_order, (void *)(long)WAITERS);
	cr_assert_eq(gort_run(), 0);
	for (long i = 0; i < WAITERS; i++)
		cr_assert_eq(fifo_got[i], i);
	gort_chan_free(ch);
	gt_finish();
}

static void close_them(int threaded)
{
	gt_start(threaded, 2);
	ch = gort_chan_make(sizeof(long), 0);
	for (long i = 0; i < WAITERS; i++) {
		closed_rc[i] = 9;
		fifo_got[i] = 9;
		gort_go(fifo_waiter, (void *)i);
	}
	/* Every waiter parked: then close from outside any G. */
	cr_assert_eq(gort_run(), WAITERS);
	gt_reset_reports();
	gort_chan_close(ch);
	cr_assert_eq(gort_run(), 0);
	for (long i = 0; i < WAITERS; i++) {
		cr_assert_eq(closed_rc[i], 0, "waiter %ld", i);
		cr_assert_eq(fifo_got[i], 0, "a receiver woken by close gets a zeroed value");
	}
	gort_chan_free(ch);
	gt_reset_reports(); /* the first run reported the parked Gs (threaded) */
	gt_finish();
}

Test(chan, close_wakes_every_receiver_step) { close_them(0); }
Test(chan, close_wakes_every_receiver_threaded) { close_them(1); }

Test(chan, a_closed_buffered_channel_still_drains)
{
	gt_start(0, 1);
	gort_chan *c = gort_chan_make(sizeof(int), 3);
	int v = 1;
	cr_assert_eq(gort_chan_send(c, &v), 0);
	v = 2;
	cr_assert_eq(gort_chan_try_send(c, &v), 1);
	gort_chan_close(c);
	cr_assert_eq(gort_chan_recv(c, &v), 1);
	cr_assert_eq(v, 1);
	cr_assert_eq(gort_chan_try_recv(c, &v), 1);
	cr_assert_eq(v, 2);
	v = 5;
	cr_assert_eq(gort_chan_recv(c, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(gort_chan_try_recv(c, &v), 0);
	cr_assert_eq(gort_chan_len(c), 0);
	cr_assert_eq(gort_chan_cap(c), 3);
	gort_chan_free(c);
	gt_finish();
}

/* ------------------------------------------------ misuse */

Test(chan, send_on_a_closed_channel_and_double_close_are_reported)
{
	gt_start(0, 1);
	gort_chan *c = gort_chan_make(sizeof(int), 1);
	gort_chan_close(c);
	int v = 1;
	errno = 0;
	cr_assert_eq(gort_chan_send(c, &v), -1);
	cr_assert_eq(errno, EPIPE);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_SEND_ON_CLOSED);
	cr_assert_eq(gt_rec.address, (uintptr_t)c);
	cr_assert_str_eq(gt_rec.kind_name, "send on closed channel");
	cr_assert_eq(gort_chan_try_send(c, &v), -1);
	cr_assert_eq(gt_reports(), 2);
	gort_chan_close(c);
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gt_rec.kind, GORT_ERR_CLOSE_OF_CLOSED);
	gort_chan_close(NULL);
	cr_assert_eq(gt_rec.kind, GORT_ERR_CLOSE_OF_NIL);
	gort_chan_free(c);
	gt_reset_reports();
	gt_finish();
}

static int waiting_send_rc = 5;

static void send_forever(void *arg)
{
	(void)arg;
	int v = 3;
	waiting_send_rc = gort_chan_send(ch, &v);
}

Test(chan, a_sender_waiting_when_the_channel_closes_fails_as_a_send_on_closed)
{
	gt_start(0, 1);
	ch = gort_chan_make(sizeof(int), 0);
	gort_go(send_forever, NULL);
	cr_assert_eq(gort_run(), 1);
	gort_chan_close(ch);
	cr_assert_eq(gt_reports(), 0);
	cr_assert_eq(gort_run(), 0);
	cr_assert_eq(waiting_send_rc, -1);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_SEND_ON_CLOSED);
	cr_assert(strstr(gt_rec.message, "goroutine"), "names the G: %s", gt_rec.message);
	gort_chan_free(ch);
	gt_reset_reports();
	gt_finish();
}

Test(chan, make_refuses_bad_sizes)
{
	gt_start(0, 1);
	errno = 0;
	cr_assert_null(gort_chan_make(1 << 16, 1));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(gort_chan_make(1 << 10, SIZE_MAX / 512));
	cr_assert_eq(errno, ENOMEM);
	gort_chan *z = gort_chan_make(0, 4); /* signals only */
	cr_assert_not_null(z);
	cr_assert_eq(gort_chan_send(z, NULL), 0);
	cr_assert_eq(gort_chan_len(z), 1);
	cr_assert_eq(gort_chan_recv(z, NULL), 1);
	gort_chan_free(z);
	gt_finish();
}

Test(chan, try_forms_never_wait)
{
	gt_start(0, 1);
	gort_chan *u = gort_chan_make(sizeof(int), 0), *b = gort_chan_make(sizeof(int), 1);
	int v = 4;
	cr_assert_eq(gort_chan_try_send(u, &v), 0, "no receiver waits");
	cr_assert_eq(gort_chan_try_recv(u, &v), -1, "no sender waits");
	cr_assert_eq(gort_chan_try_send(b, &v), 1);
	cr_assert_eq(gort_chan_try_send(b, &v), 0, "full");
	cr_assert_eq(gort_chan_try_recv(b, &v), 1);
	cr_assert_eq(gort_chan_try_recv(b, &v), -1, "empty");
	cr_assert_eq(gort_chan_try_send(NULL, &v), 0);
	cr_assert_eq(gort_chan_try_recv(NULL, &v), -1);
	gort_chan_free(u);
	gort_chan_free(b);
	gt_finish();
}

/* ------------------------------------------------ outside any G, deadlock */

static void send_three(void *arg)
{
	int n = (int)(long)arg;
	for (int i = 0; i < n; i++)
		gort_chan_send(ch, &i);
}

static void main_waits_for_gs(int threaded)
{
	gt_start(threaded, 2);
	ch = gort_chan_make(sizeof(int), 0);
	gort_go(send_three, (void *)3L);
	int v, sum = 0;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(gort_chan_recv(ch, &v), 1);
		sum += v;
	}
	cr_assert_eq(sum, 0 + 1 + 2);
	cr_assert_eq(gort_run(), 0);
	gort_chan_free(ch);
	gt_finish();
}

Test(chan, the_main_thread_receives_from_gs_step) { main_waits_for_gs(0); }
Test(chan, the_main_thread_receives_from_gs_threaded) { main_waits_for_gs(1); }

static void recv_forever(void *arg)
{
	(void)arg;
	gort_chan_recv(ch, NULL);
}

Test(chan, waiting_outside_a_g_with_nothing_to_run_is_a_deadlock_in_step_mode)
{
	gt_start(0, 1);
	ch = gort_chan_make(sizeof(int), 0);
	int64_t g = gort_go(recv_forever, NULL);
	int v;
	errno = 0;
	cr_assert_eq(gort_chan_recv(ch, &v), -1);
	cr_assert_eq(errno, EDEADLK);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DEADLOCK);
	char want[64];
	snprintf(want, sizeof want, "goroutine %lld [chan receive]", (long long)g);
	cr_assert(strstr(gt_rec.message, "all goroutines are asleep - deadlock!"), "%s",
		  gt_rec.message);
	cr_assert(strstr(gt_rec.message, want), "%s", gt_rec.message);
	gort_chan_info info;
	gort_inspect_chan(ch, &info);
	cr_assert_eq(info.nrecvq, 1, "only the G waits: the main thread took its sudog back");
	gort_chan_close(ch); /* lets g finish */
	cr_assert_eq(gort_run(), 0);
	gort_chan_free(ch);
	gt_reset_reports();
	gt_finish();
}

Test(chan, threaded_run_names_each_blocked_g_and_its_reason)
{
	gt_start(1, 2);
	ch = gort_chan_make(sizeof(int), 0);
	int64_t g = gort_go(recv_forever, NULL);
	cr_assert_eq(gort_run(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DEADLOCK);
	char want[64];
	snprintf(want, sizeof want, "goroutine %lld [chan receive]", (long long)g);
	cr_assert(strstr(gt_rec.message, want), "%s", gt_rec.message);
	gort_chan_close(ch);
	cr_assert_eq(gort_run(), 0);
	gort_chan_free(ch);
	gt_reset_reports();
	gt_finish();
}

static void nil_send(void *arg)
{
	(void)arg;
	gort_chan_send(NULL, &arg);
}

Test(chan, a_nil_channel_blocks_forever_with_its_reason)
{
	gt_start(0, 1);
	int64_t g = gort_go(nil_send, NULL);
	cr_assert_eq(gort_run(), 1);
	gort_g_info gs[4];
	size_t n = gort_inspect_gs(gs, 4);
	cr_assert_str_eq(find_g(gs, n, g)->waitreason, "chan send (nil chan)");
	gort_shutdown();
}

/* ------------------------------------------------ determinism */

static void det_worker(void *arg)
{
	long id = (long)arg;
	for (long i = 0; i < 50; i++) {
		long v = id * 1000 + i;
		if (i % 2 == 0)
			gort_chan_send(ch, &v);
		else
			gort_chan_recv(ch, &v);
		if (i % 5 == 0)
			gort_yield();
	}
}

/* Field by field: the structs' padding is whatever the stack held. */
static bool same_events(const gort_event *a, const gort_event *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const gort_event *x = &a[i], *y = &b[i];
		if (x->seq != y->seq || x->kind != y->kind || x->p != y->p || x->m != y->m ||
		    x->from != y->from || x->goid != y->goid || x->by != y->by ||
		    x->source != y->source || x->outcome != y->outcome ||
		    x->schedtick != y->schedtick || x->step != y->step || x->obj != y->obj)
			return false;
	}
	return true;
}

static size_t record_run(uint64_t seed, gort_event *ev, size_t max)
{
	gort_config cfg = {.procs = 3, .arena_bytes = 64 * MiB, .seed = seed};
	gt_init_config(&cfg);
	ch = gort_chan_make(sizeof(long), 1);
	for (long i = 0; i < 6; i++)
		gort_go(det_worker, (void *)i);
	gort_run();
	size_t n = gort_inspect_events(0, ev, max);
	for (size_t i = 0; i < n; i++)
		ev[i].obj = ev[i].obj ? 1 : 0; /* the address may differ between inits */
	gort_shutdown();
	return n;
}

Test(chan, the_same_seed_gives_the_same_run)
{
	static gort_event a[1 << 14], b[1 << 14];
	size_t na = record_run(42, a, 1 << 14), nb = record_run(42, b, 1 << 14);
	cr_assert_gt(na, 300, "%zu events", na);
	cr_assert_eq(na, nb);
	cr_assert(same_events(a, b, na));
	size_t nc = record_run(43, b, 1 << 14);
	cr_assert(nc != na || !same_events(a, b, na), "the seed chooses nothing");
}

Test(chan, freeing_a_channel_someone_waits_on_is_refused_and_leaves_it_intact)
{
	gt_start(0, 1);
	ch = gort_chan_make(sizeof(int), 0);
	gort_go(recv_forever, NULL);
	cr_assert_eq(gort_run(), 1);
	gort_chan_free(ch);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_INVALID_FREE);
	cr_assert_eq(gt_rec.address, (uintptr_t)ch);
	cr_assert(strstr(gt_rec.message, "still wait"), "%s", gt_rec.message);
	cr_assert_eq(gort_check_chan(ch), 0, "the channel is as it was");
	gort_chan_info info;
	cr_assert_eq(gort_inspect_chan(ch, &info), 0);
	cr_assert_eq(info.nrecvq, 1);
	errno = 0;
	cr_assert_eq(gort_inspect_chan(NULL, &info), -1);
	cr_assert_eq(errno, EINVAL);
	gort_chan_close(ch); /* the waiter leaves, then the free is allowed */
	cr_assert_eq(gort_run(), 0);
	gort_chan_free(ch);
	gt_reset_reports();
	gt_finish();
}
