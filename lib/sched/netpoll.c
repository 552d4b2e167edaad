/*
 * netpoll.c — Gs that wait for file descriptors (Go's netpoll.go over
 * netpoll_epoll.go): gort_wait_fd, and read, write, accept and connect that
 * park their G on EAGAIN instead of blocking its M. A socket's read and
 * write use MSG_DONTWAIT, so their fast path is one system call.
 *
 * One epoll instance for the runtime, made on first use. Each fd gets a
 * poll descriptor (a table indexed by fd, chunks mapped on first use and
 * never freed, so a late event can always look at one) with a lock, the
 * waiter of each direction, and a ready flag per direction for an edge that
 * came while nobody waited. The fd is registered once, edge-triggered; a
 * waiter always tries its call until EAGAIN before it waits, so no edge is
 * missed. The epoll data carries the fd and a registration generation, so
 * an event for an fd closed (gort_close) and reused is dropped.
 *
 * Who polls (threaded mode): an M that finds no work polls without waiting
 * before it gives its P up; the one M that sleeps for the next timer (see
 * m.c) sleeps in epoll_wait instead when fds are waited on, and an
 * eventfd interrupts it; an M polls between Gs when nobody has for 10 ms,
 * so busy Ms do not starve I/O. Step mode polls without waiting when no G
 * can run (so the same calls give the same steps whenever the fds are
 * ready at the same points); a thread outside any G that drives the
 * scheduler waits in epoll_wait when only fds can wake it.
 *
 * A waiter with a deadline also has a timer. Exactly one party wakes it:
 * the one that takes it off its descriptor (an event, the timer, or
 * gort_close) — except that once its timer has been taken off the heap to
 * run, only the timer's callback wakes it, since the waiter (and its timer)
 * live on its stack and must stay until that callback has run.
 *
 * Invariants: a descriptor's waiter slots point to parked waiters only;
 * nwaiters counts the waiters in all slots; ready[d] is set only while no
 * waiter waits in direction d.
 */
#define _GNU_SOURCE
#include "sched/netpoll.h"
#include "sched/sched.h"
#include "sched/wait.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/poll.h"

#define S (gort_sched)

#define PD_CHUNK 1024
#define PD_CHUNKS 1024 /* fds below 1,048,576 */
#define POLL_STARVE_NS 10000000 /* poll between Gs after 10 ms without */

enum { DIR_READ = 0, DIR_WRITE = 1 };

typedef struct fdwait fdwait;

typedef struct polldesc {
	gort_lock_t lock;
	uint32_t seq;        /* registration generation, in the epoll data */
	bool registered;
	uint8_t ready[2];    /* an edge came while nobody waited */
	fdwait *w[2];        /* the waiter of each direction */
} polldesc;

struct fdwait {
	gort_parker pk;
	polldesc *pd;
	int result;          /* 1 ready, 0 timed out, -1 closed */
	bool has_timer;
	gort_timer t;
	int64_t deadline;
	fdwait *next;        /* the waker's list */
};

static struct {
	gort_lock_t lock;    /* making the instance and the table's chunks */
	int ep, wakefd;
	uint32_t active;     /* atomic: ep is open */
	uint32_t nwaiters;   /* atomic */
	int64_t lastpoll;    /* atomic: the clock at the last poll */
	polldesc *chunk[PD_CHUNKS];
} N;

/* ------------------------------------------------------------ descriptors */

static int poll_start(void)
{
	if (__atomic_load_n(&N.active, __ATOMIC_ACQUIRE))
		return 0;
	gort_lock(&N.lock);
	if (!N.active) {
		N.ep = gort_os_poll_open(&N.wakefd);
		if (N.ep >= 0) {
			__atomic_store_n(&N.active, 1, __ATOMIC_RELEASE);
			if (S.threaded)
				gort_mt_poller_break(); /* a timer sleeper sleeps in epoll from now on */
		}
	}
	gort_unlock(&N.lock);
	return N.ep >= 0 ? 0 : -1;
}

static polldesc *pd_of(int fd)
{
	if (fd < 0 || fd >= PD_CHUNK * PD_CHUNKS) {
		errno = EBADF;
		return NULL;
	}
	polldesc **slot = &N.chunk[fd / PD_CHUNK];
	polldesc *c = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!c) {
		gort_lock(&N.lock);
		if (!(c = *slot)) {
			c = gort_os_map(PD_CHUNK * sizeof *c); /* zero: unlocked, unregistered */
			if (c)
				__atomic_store_n(slot, c, __ATOMIC_RELEASE);
		}
		gort_unlock(&N.lock);
		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
	}
	return &c[fd % PD_CHUNK];
}

static uint64_t pd_data(int fd, uint32_t seq)
{
	return (uint64_t)seq << 32 | (uint32_t)(fd + 1); /* never 0: that is the wake-up */
}

/* pd's lock held: fd in the epoll set. -1 with errno (EPERM: a regular
 * file, always ready; the callers then just make their call). */
static int pd_register(polldesc *pd, int fd)
{
	if (pd->registered)
		return 0;
	pd->seq++;
	if (gort_os_poll_add(N.ep, fd, pd_data(fd, pd->seq)) != 0) {
		if (errno != EEXIST)
			return -1;
		/* Left by an fd closed without gort_close: ours again. */
		gort_os_poll_del(N.ep, fd);
		if (gort_os_poll_add(N.ep, fd, pd_data(fd, pd->seq)) != 0)
			return -1;
	}
	pd->registered = true;
	pd->ready[0] = pd->ready[1] = 0;
	return 0;
}

/* ------------------------------------------------------------ waking */

/* pd's lock held: w leaves every slot; result is what it will see. true
 * if the caller wakes it (after unlocking), false if its timer's callback
 * already runs and will. */
/* One waiter fewer. When none is left, an M sleeping in epoll_wait for
 * them alone must wake, or it would sleep on while gort_run waits for it. */
static void waiter_gone(void)
{
	if (__atomic_sub_fetch(&N.nwaiters, 1, __ATOMIC_SEQ_CST) == 0 && S.threaded)
		gort_os_poll_wake(N.wakefd);
}

static bool take_waiter(polldesc *pd, fdwait *w, int result)
{
	for (int d = 0; d < 2; d++)
		if (pd->w[d] == w)
			pd->w[d] = NULL;
	waiter_gone();
	w->result = result;
	return !w->has_timer || gort_timer_del(&w->t);
}

static void wake_list(fdwait *list)
{
	while (list) {
		fdwait *next = list->next; /* list is the waiter's once woken */
		gort_parker_wake(&list->pk);
		list = next;
	}
}

/* pd's lock held: an edge in direction d. */
static fdwait *edge(polldesc *pd, int d, fdwait *list)
{
	fdwait *w = pd->w[d];
	if (!w) {
		pd->ready[d] = 1;
		return list;
	}
	if (take_waiter(pd, w, 1)) {
		w->next = list;
		list = w;
	}
	return list;
}

static int deliver(const gort_os_pollev *ev, int n)
{
	fdwait *list = NULL;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)ev[i].data - 1;
		polldesc *pd = pd_of(fd);
		if (!pd)
			continue;
		gort_lock(&pd->lock);
		if (pd->registered && pd->seq == (uint32_t)(ev[i].data >> 32)) {
			if (ev[i].readable)
				list = edge(pd, DIR_READ, list);
			if (ev[i].writable)
				list = edge(pd, DIR_WRITE, list);
		}
		gort_unlock(&pd->lock);
	}
	int woken = 0;
	for (fdwait *w = list; w; w = w->next)
		woken++;
	wake_list(list);
	return woken;
}

int gort_netpoll(int64_t timeout_ns)
{
	if (!__atomic_load_n(&N.active, __ATOMIC_ACQUIRE))
		return 0;
	gort_os_pollev ev[128];
	bool woken = false;
	__atomic_store_n(&N.lastpoll, gort_clock(), __ATOMIC_RELAXED);
	int n = gort_os_poll_wait(N.ep, N.wakefd, ev, 128, timeout_ns, &woken);
	__atomic_store_n(&N.lastpoll, gort_clock(), __ATOMIC_RELAXED);
	return n > 0 ? deliver(ev, n) : 0;
}

uint32_t gort_netpoll_waiters(void)
{
	return __atomic_load_n(&N.nwaiters, __ATOMIC_SEQ_CST);
}

bool gort_netpoll_active(void)
{
	return __atomic_load_n(&N.active, __ATOMIC_ACQUIRE);
}

void gort_netpoll_break(void)
{
	if (gort_netpoll_active())
		gort_os_poll_wake(N.wakefd);
}

bool gort_netpoll_starving(int64_t now)
{
	return gort_netpoll_waiters() &&
	       now - __atomic_load_n(&N.lastpoll, __ATOMIC_RELAXED) >= POLL_STARVE_NS;
}

void gort_netpoll_shutdown(void)
{
	if (N.active)
		gort_os_poll_close(N.ep, N.wakefd);
	for (int i = 0; i < PD_CHUNKS; i++)
		if (N.chunk[i])
			gort_os_unmap(N.chunk[i], PD_CHUNK * sizeof(polldesc));
	memset(&N, 0, sizeof N);
}

/* ------------------------------------------------------------ waiting */

static void fdwait_timeout(void *arg)
{
	fdwait *w = arg;
	polldesc *pd = w->pd;
	gort_lock(&pd->lock);
	if (pd->w[DIR_READ] == w || pd->w[DIR_WRITE] == w) {
		for (int d = 0; d < 2; d++)
			if (pd->w[d] == w)
				pd->w[d] = NULL;
		waiter_gone();
		w->result = 0;
	}
	gort_unlock(&pd->lock);
	gort_parker_wake(&w->pk); /* taken by an event meanwhile: result 1 stays */
}

/* The park's unlock: the G is parked, its timer may fire. */
static void fdwait_arm(void *arg)
{
	fdwait *w = arg;
	if (w->has_timer && gort_timer_add(&w->t, w->deadline) != 0)
		w->has_timer = false; /* no room: it waits without a deadline */
	gort_unlock(&w->pd->lock);
}

/* In a G: waits until fd is ready in the directions asked (by an edge or a
 * flag left by one), the deadline passes (0), or gort_close (-1, EBADF). */
static int wait_in_g(polldesc *pd, int fd, bool rd, bool wr, int64_t deadline)
{
	gort_lock(&pd->lock);
	if (pd_register(pd, fd) != 0) {
		gort_unlock(&pd->lock);
		return errno == EPERM ? 1 : -1; /* a regular file is always ready */
	}
	if ((rd && pd->ready[DIR_READ]) || (wr && pd->ready[DIR_WRITE])) {
		pd->ready[DIR_READ] &= (uint8_t)!rd;
		pd->ready[DIR_WRITE] &= (uint8_t)!wr;
		gort_unlock(&pd->lock);
		return 1;
	}
	if ((rd && pd->w[DIR_READ]) || (wr && pd->w[DIR_WRITE])) {
		gort_unlock(&pd->lock);
		errno = EBUSY; /* one waiter per direction (Go: "double wait") */
		return -1;
	}
	fdwait w = {.pd = pd, .result = -1, .deadline = deadline, .has_timer = deadline >= 0};
	gort_parker_init(&w.pk);
	w.t = (gort_timer){.f = fdwait_timeout, .arg = &w, .pp = -1};
	if (rd)
		pd->w[DIR_READ] = &w;
	if (wr)
		pd->w[DIR_WRITE] = &w;
	__atomic_add_fetch(&N.nwaiters, 1, __ATOMIC_SEQ_CST);
	gort_parker_wait(&w.pk, "IO wait", fdwait_arm, &w);
	if (w.result < 0)
		errno = EBADF;
	return w.result;
}

static bool in_g(void)
{
	return S.ready && (S.threaded ? gort_mt_curg() != NULL : S.curg != NULL);
}

/* Waits for fd: parks a G, blocks a thread outside any G. */
static int wait_fd(int fd, bool rd, bool wr, int64_t timeout_ns)
{
	if (!in_g())
		return gort_os_poll_one(fd, rd, wr, timeout_ns);
	if (timeout_ns == 0)
		return gort_os_poll_one(fd, rd, wr, 0);
	polldesc *pd = pd_of(fd);
	if (!pd || poll_start() != 0)
		return -1;
	int64_t now = gort_clock();
	int64_t deadline = timeout_ns < 0 ? -1 : (timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns);
	return wait_in_g(pd, fd, rd, wr, deadline);
}

int gort_wait_fd(int fd, int events, int64_t timeout_ns)
{
	bool rd = events & GORT_READ, wr = events & GORT_WRITE;
	if (!rd && !wr) {
		errno = EINVAL;
		return -1;
	}
	/* Ready now (the fd need not have been drained): no wait. */
	int now = gort_os_poll_one(fd, rd, wr, 0);
	if (now != 0)
		return now;
	return wait_fd(fd, rd, wr, timeout_ns);
}

/* ------------------------------------------------------------ the calls */

static int prepare(int fd)
{
	if (!in_g())
		return 0;
	return gort_os_set_nonblock(fd);
}

static bool would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* One read or write that cannot block in a G. A socket takes MSG_DONTWAIT
 * and needs no fcntl: that saves a system call per call, as Go does by
 * making its fds non-blocking once. Anything else (ENOTSOCK, once per
 * call) is put in non-blocking mode first. Outside a G: the plain call. */
static ssize_t io_once(int fd, void *buf, size_t n, bool wr)
{
	if (in_g()) {
		ssize_t r = wr ? send(fd, buf, n, MSG_DONTWAIT) : recv(fd, buf, n, MSG_DONTWAIT);
		if (r >= 0 || errno != ENOTSOCK)
			return r;
		if (gort_os_set_nonblock(fd) != 0)
			return -1;
	}
	return wr ? write(fd, buf, n) : read(fd, buf, n);
}

ssize_t gort_read(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = io_once(fd, buf, n, false);
		if (r >= 0 || (errno != EINTR && !would_block()))
			return r;
		if (errno == EINTR)
			continue;
		if (wait_fd(fd, true, false, -1) < 0)
			return -1;
	}
}

ssize_t gort_write(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = io_once(fd, (char *)buf + done, n - done, true);
		if (r >= 0) {
			done += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (!would_block() || wait_fd(fd, false, true, -1) < 0)
			return done ? (ssize_t)done : -1;
	}
	return (ssize_t)done;
}

int gort_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (prepare(fd) != 0)
		return -1;
	for (;;) {
		int c = accept4(fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0 || (errno != EINTR && !would_block() && errno != ECONNABORTED))
			return c;
		if (would_block() && wait_fd(fd, true, false, -1) < 0)
			return -1;
	}
}

int gort_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (prepare(fd) != 0)
		return -1;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	if (wait_fd(fd, false, true, -1) < 0)
		return -1;
	int err = 0;
	socklen_t el = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int gort_close(int fd)
{
	polldesc *pd = gort_netpoll_active() ? pd_of(fd) : NULL;
	if (pd) {
		fdwait *list = NULL;
		gort_lock(&pd->lock);
		for (int d = 0; d < 2; d++) {
			fdwait *w = pd->w[d];
			if (w && take_waiter(pd, w, -1)) {
				w->next = list;
				list = w;
			}
		}
		if (pd->registered) {
			gort_os_poll_del(N.ep, fd);
			pd->registered = false;
		}
		pd->ready[0] = pd->ready[1] = 0;
		gort_unlock(&pd->lock);
		wake_list(list);
	}
	return close(fd);
}
