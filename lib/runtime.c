/*
 * runtime.c — gort_init and gort_shutdown: the runtime as a whole.
 *
 * Owns the order in which the layers come up (os, then mem; the scheduler
 * joins here) and go down (the reverse). Invariant: after gort_shutdown every
 * layer is back to its state before the first init, so gort_init can run again.
 */
#include "mem/mem.h"
#include "sched/sched.h"

#include <errno.h>

static int config_valid(const gort_config *cfg)
{
	if (!cfg)
		return 1;
	if (cfg->procs > 4096)
		return 0;
	if (cfg->threaded != 0 && cfg->threaded != 1)
		return 0;
	return 1;
}

int gort_init(const gort_config *cfg)
{
	if (!config_valid(cfg)) {
		errno = EINVAL;
		return -1;
	}
	if (gort_mem_init(cfg) != 0)
		return -1;
	static const gort_config defaults;
	if (gort_sched_init(cfg ? cfg : &defaults) != 0) {
		int err = errno;
		gort_sched_shutdown();
		gort_mem_shutdown();
		errno = err;
		return -1;
	}
	return 0;
}

void gort_shutdown(void)
{
	if (gort_self() != 0)
		return; /* a G cannot take the runtime down under itself */
	gort_sched_shutdown();
	gort_mem_shutdown();
}

int gort_check_canaries(void)
{
	return gort_mem_check_canaries("gort_check_canaries");
}

int gort_check_at(const void *addr)
{
	return gort_mem_check_at((uintptr_t)addr);
}

/* Every invariant: the allocator's, then the scheduler's. */
int gort_check(void)
{
	if (gort_mem_check() != 0)
		return -1;
	const char *why = gort_sched_check_why();
	if (!why)
		return 0;
	gort_report(GORT_ERR_HEAP_CORRUPTION, "check", 0, why);
	return -1;
}
