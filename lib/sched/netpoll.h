/*
 * netpoll.h — what the scheduler asks of the netpoller (netpoll.c): poll
 * now or until a deadline, how many Gs wait on fds, and how to interrupt a
 * poll that blocks.
 */
#ifndef GORT_SCHED_NETPOLL_H
#define GORT_SCHED_NETPOLL_H

#include <stdbool.h>
#include <stdint.h>

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Polls once, waiting up to timeout_ns (0: not at all; < 0: until an event
 * or gort_netpoll_break), and wakes the waiters whose fds are ready. How
 * many it woke. Nothing (0) before the first fd wait. */
SCHED_HIDDEN int gort_netpoll(int64_t timeout_ns);
/* Gs (or threads driving step mode) parked on fds now. */
SCHED_HIDDEN uint32_t gort_netpoll_waiters(void);
/* The epoll instance exists (an fd was waited on). */
SCHED_HIDDEN bool gort_netpoll_active(void);
/* Makes a blocked gort_netpoll return. */
SCHED_HIDDEN void gort_netpoll_break(void);
/* Fds are waited on and nobody has polled for 10 ms. */
SCHED_HIDDEN bool gort_netpoll_starving(int64_t now);
SCHED_HIDDEN void gort_netpoll_shutdown(void);

#endif /* GORT_SCHED_NETPOLL_H */
