/*
 * events.c — the scheduler's event log: a ring of the last
 * GORT_EVENT_LOG_CAP events, read by the shell (step lines, traces) and by
 * the fuzzers and tests (determinism). See events.h for the invariants.
 */
#include "sched/events.h"

#include <string.h>

#include "os/os.h"

gort_evlog gort_events;
#define E (gort_events)
#define MASK ((uint64_t)GORT_EVENT_LOG_CAP - 1)

void gort_evlog_init(bool threaded)
{
	memset(&E, 0, sizeof E);
	gort_lock_init(&E.lock);
	E.threaded = threaded;
	E.t0 = gort_os_nanotime();
	/* Lazily committed by the kernel: a short run touches a few pages. */
	E.ring = gort_os_map(GORT_EVENT_LOG_CAP * sizeof *E.ring);
}

void gort_evlog_destroy(void)
{
	if (E.ring)
		gort_os_unmap(E.ring, GORT_EVENT_LOG_CAP * sizeof *E.ring);
	memset(&E, 0, sizeof E);
}

uint64_t gort_evlog_now(void)
{
	return gort_os_nanotime() - E.t0;
}

void gort_evlog_add(gort_event *e)
{
	if (!E.ring || !gort_evlog_enabled())
		return;
	if (E.threaded)
		gort_lock(&E.lock);
	e->seq = ++E.seq;
	E.ring[(e->seq - 1) & MASK] = *e;
	if (E.threaded)
		gort_unlock(&E.lock);
}

size_t gort_inspect_events(uint64_t after, gort_event *out, size_t max)
{
	if (!E.ring)
		return 0;
	if (E.threaded)
		gort_lock(&E.lock);
	uint64_t oldest = E.seq > MASK ? E.seq - MASK : 1;
	uint64_t first = after + 1 > oldest ? after + 1 : oldest;
	size_t n = 0;
	for (uint64_t s = first; s <= E.seq && n < max; s++)
		out[n++] = E.ring[(s - 1) & MASK];
	if (E.threaded)
		gort_unlock(&E.lock);
	return n;
}

uint64_t gort_event_seq(void)
{
	if (!E.threaded)
		return E.seq;
	gort_lock(&E.lock);
	uint64_t s = E.seq;
	gort_unlock(&E.lock);
	return s;
}

int gort_event_log(int on)
{
	if (!E.threaded)
		return 1;
	return (int)__atomic_exchange_n(&E.on, on ? 1u : 0u, __ATOMIC_RELAXED);
}

static const char *name_of(const char *const *names, size_t n, uint32_t i)
{
	return i < n ? names[i] : "?";
}

const char *gort_event_source_name(uint32_t source)
{
	static const char *const names[] = {"runnext", "local", "global", "stolen"};
	return name_of(names, sizeof names / sizeof *names, source);
}

const char *gort_event_outcome_name(uint32_t outcome)
{
	static const char *const names[] = {"yielded", "parked", "exited", "syscall"};
	return name_of(names, sizeof names / sizeof *names, outcome);
}

const char *gort_event_kind_name(uint32_t kind)
{
	static const char *const names[] = {"?", "run", "go", "ready", "handoff", "close"};
	return name_of(names, sizeof names / sizeof *names, kind);
}
