/*
 * runtime.c — gort_init and gort_shutdown: the runtime as a whole.
 *
 * Owns the order in which the layers come up (os, then mem; the scheduler
 * joins here) and go down (the reverse). Invariant: after gort_shutdown every
 * layer is back to its state before the first init, so gort_init can run again.
 */
#include "mem/mem.h"

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
	return gort_mem_init(cfg);
}

void gort_shutdown(void)
{
	gort_mem_shutdown();
}
