/*
 * futex.h — sleeping on a 32-bit word until another thread changes it and
 * says so: the scheduler's Ms park here when they have no work, and
 * gort_run's caller waits here for the threaded run to finish.
 *
 * gort_futex_wait returns when *addr != val, on a wake, or spuriously: call
 * it in a loop that rereads the word. Private futexes (one process).
 */
#ifndef GORT_OS_FUTEX_H
#define GORT_OS_FUTEX_H

#include <stdint.h>

#include "os/os.h"

OS_HIDDEN void gort_futex_wait(uint32_t *addr, uint32_t val);
/* As gort_futex_wait, but gives up after about ns nanoseconds. */
OS_HIDDEN void gort_futex_wait_ns(uint32_t *addr, uint32_t val, uint64_t ns);
/* Wakes up to n threads waiting on addr. */
OS_HIDDEN void gort_futex_wake(uint32_t *addr, int n);

#endif /* GORT_OS_FUTEX_H */
