/*
 * lock.c — the contended paths of the runtime's mutex (lock.h): spin a
 * little, then sleep on the futex; wake one sleeper on unlock.
 */
#define _GNU_SOURCE
#include "os/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void futex_wait(uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_one(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void gort_lock_slow(gort_lock_t *l)
{
	for (int spin = 0; spin < 100; spin++) {
		uint32_t expect = 0;
		if (__atomic_compare_exchange_n(&l->v, &expect, 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		cpu_relax();
	}
	/* Mark the lock contended; whoever unlocks it then wakes a sleeper. */
	while (__atomic_exchange_n(&l->v, 2, __ATOMIC_ACQUIRE) != 0)
		futex_wait(&l->v, 2);
}

void gort_unlock_slow(gort_lock_t *l)
{
	futex_wake_one(&l->v);
}
