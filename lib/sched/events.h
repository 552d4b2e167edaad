/*
 * events.h — the scheduler's event log (public view in gort_inspect.h).
 *
 * A ring of the last GORT_EVENT_LOG_CAP events, numbered by seq from 1.
 * Step mode: one thread writes and reads, no lock, always on, and the times
 * are logical (the step count), so the log is a pure function of the seed
 * and the calls. Threaded mode: off unless turned on; writers and readers
 * take the log's lock, and times are nanoseconds since init.
 *
 * Invariants: ring slot (seq - 1) % CAP holds event seq for the last
 * min(seq, CAP) events; seq never goes back while the runtime lives.
 */
#ifndef GORT_SCHED_EVENTS_H
#define GORT_SCHED_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gort_inspect.h"
#include "os/lock.h"

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

typedef struct gort_evlog {
	gort_event *ring; /* GORT_EVENT_LOG_CAP slots, mapped on first use */
	uint64_t seq;     /* the newest event's seq */
	uint32_t on;      /* atomic: threaded mode records */
	bool threaded;
	uint64_t t0;      /* threaded: init time */
	gort_lock_t lock; /* threaded: writers and readers */
} gort_evlog;

SCHED_HIDDEN extern gort_evlog gort_events;

SCHED_HIDDEN void gort_evlog_init(bool threaded);
SCHED_HIDDEN void gort_evlog_destroy(void);
/* Record e (its seq is assigned here). */
SCHED_HIDDEN void gort_evlog_add(gort_event *e);
/* Threaded mode's clock for t_start/t_end. */
SCHED_HIDDEN uint64_t gort_evlog_now(void);

/* Is anything recorded? Cheap enough for every switch. */
static inline bool gort_evlog_enabled(void)
{
	return !gort_events.threaded || __atomic_load_n(&gort_events.on, __ATOMIC_RELAXED);
}

#endif /* GORT_SCHED_EVENTS_H */
