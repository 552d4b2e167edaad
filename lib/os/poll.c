/*
 * poll.c — epoll, eventfd and poll(2) for the netpoller (see poll.h).
 * Edge-triggered registrations, made once per fd and never modified: a
 * waiter always drains its fd to EAGAIN before it waits, so an edge is
 * never missed (Go's netpoll_epoll.go does the same).
 */
#define _GNU_SOURCE
#include "os/poll.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int gort_os_poll_open(int *wakefd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0};
	if (ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0) {
		int err = errno;
		if (ev >= 0)
			close(ev);
		close(ep);
		errno = err;
		return -1;
	}
	*wakefd = ev;
	return ep;
}

void gort_os_poll_close(int ep, int wakefd)
{
	close(wakefd);
	close(ep);
}

int gort_os_poll_add(int ep, int fd, uint64_t data)
{
	struct epoll_event e = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = data,
	};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

int gort_os_poll_del(int ep, int fd)
{
	struct epoll_event e = {0};
	return epoll_ctl(ep, EPOLL_CTL_DEL, fd, &e);
}

static int timeout_ms(int64_t ns)
{
	if (ns < 0)
		return -1;
	if (ns == 0)
		return 0;
	if (ns < 1000000)
		return 1; /* epoll's unit: round a short wait up, never down to a spin */
	int64_t ms = ns / 1000000;
	return ms > 1000000000 ? 1000000000 : (int)ms;
}

int gort_os_poll_wait(int ep, int wakefd, gort_os_pollev *ev, int max, int64_t timeout_ns,
		      bool *woken)
{
	struct epoll_event raw[128];
	if (max > 128)
		max = 128;
	int n = epoll_wait(ep, raw, max, timeout_ms(timeout_ns));
	if (n < 0)
		return 0; /* EINTR: the caller looks at its clock again */
	int k = 0;
	for (int i = 0; i < n; i++) {
		uint32_t e = raw[i].events;
		if (raw[i].data.u64 == 0) {
			uint64_t drain;
			while (read(wakefd, &drain, sizeof drain) > 0)
				;
			*woken = true;
			continue;
		}
		bool broken = e & (EPOLLHUP | EPOLLERR);
		ev[k++] = (gort_os_pollev){
			.data = raw[i].data.u64,
			.readable = (e & (EPOLLIN | EPOLLRDHUP)) || broken,
			.writable = (e & EPOLLOUT) || broken,
		};
	}
	return k;
}

void gort_os_poll_wake(int wakefd)
{
	uint64_t one = 1;
	ssize_t r = write(wakefd, &one, sizeof one); /* EAGAIN: a wake-up is pending already */
	(void)r;
}

int gort_os_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int gort_os_poll_one(int fd, bool read, bool write, int64_t timeout_ns)
{
	struct pollfd p = {.fd = fd, .events = (short)((read ? POLLIN : 0) | (write ? POLLOUT : 0))};
	for (;;) {
		int r = poll(&p, 1, timeout_ms(timeout_ns));
		if (r >= 0)
			return r > 0;
		if (errno != EINTR)
			return -1;
	}
}
