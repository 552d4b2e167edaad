/*
 * poll.h — the kernel's readiness interface for the netpoller
 * (sched/netpoll.c): one epoll instance, edge-triggered registrations, an
 * eventfd to interrupt a blocked wait, and the fd flags the I/O calls need.
 *
 * Events come back as (data, readable, writable): a hang-up or an error
 * counts as both, so a waiter in either direction wakes and sees it from
 * its next call.
 */
#ifndef GORT_OS_POLL_H
#define GORT_OS_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "os/os.h"

typedef struct gort_os_pollev {
	uint64_t data;
	bool readable, writable;
} gort_os_pollev;

/* An epoll instance with an eventfd registered under data 0 (so no fd's
 * data may be 0); -1 with errno. *wakefd gets the eventfd. */
OS_HIDDEN int gort_os_poll_open(int *wakefd);
OS_HIDDEN void gort_os_poll_close(int ep, int wakefd);
/* fd, edge-triggered for input, output and hang-up, under data. 0 or -1
 * with errno (EEXIST: already there; EPERM: a file epoll cannot watch). */
OS_HIDDEN int gort_os_poll_add(int ep, int fd, uint64_t data);
OS_HIDDEN int gort_os_poll_del(int ep, int fd);
/* Up to max events; waits at most timeout_ns (< 0: until one comes; 0:
 * not at all). The wake-up event (data 0) is drained and not returned, but
 * counts in *woken. Returns the number of events, 0 on EINTR. */
OS_HIDDEN int gort_os_poll_wait(int ep, int wakefd, gort_os_pollev *ev, int max,
				int64_t timeout_ns, bool *woken);
/* Makes a blocked gort_os_poll_wait return. */
OS_HIDDEN void gort_os_poll_wake(int wakefd);
/* O_NONBLOCK on fd; 0 or -1 with errno. */
OS_HIDDEN int gort_os_set_nonblock(int fd);
/* poll(2) on one fd: 1 ready (in the directions asked, or hang-up/error),
 * 0 not within timeout_ns (< 0: forever), -1 with errno. */
OS_HIDDEN int gort_os_poll_one(int fd, bool read, bool write, int64_t timeout_ns);

#endif /* GORT_OS_POLL_H */
