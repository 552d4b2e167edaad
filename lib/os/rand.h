/*
 * rand.h — the runtime's pseudo-random numbers: its one 64-bit mixer,
 * splitmix64 built on it, and the paranoid preset's xorshift64.
 *
 * gort_mix64 is splitmix64's finaliser (Steele, Lea and Flood; Stafford's
 * variant 13): a bijection of 64-bit words in which every input bit flips
 * each output bit with probability close to 1/2. The canaries' MAC and the
 * step-mode canary secret (mem/harden.c) are one mix each; the scheduler's
 * choices (sched/) are splitmix64 steps: a Weyl sequence, each value mixed.
 *
 * The paranoid preset's slot choice and guard lengths (mem/cache.c, mem/heap.c)
 * draws from xorshift64 instead, which is cheaper and needs no mixing for
 * a choice among at most 64. It stays xorshift64 because its sequence is in
 * the shell's golden outputs (a paranoid session shows the slots it chose).
 *
 * Invariants: pure functions of their arguments and of *state, nothing else
 * (no clock, no address), so a run seeded alike repeats exactly: step mode's
 * determinism and the shell's golden outputs depend on these exact values.
 * Changing a constant here changes every seeded run.
 */
#ifndef GORT_OS_RAND_H
#define GORT_OS_RAND_H

#include <stdint.h>

/* splitmix64's increment: 2^64 divided by the golden ratio, odd, so the
 * Weyl sequence visits every 64-bit value once per period. */
#define GORT_RAND_GAMMA 0x9e3779b97f4a7c15ull

static inline uint64_t gort_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* One step of splitmix64 over *state: any state, zero included, is fine. */
static inline uint64_t gort_splitmix64(uint64_t *state)
{
	return gort_mix64(*state += GORT_RAND_GAMMA);
}

/* Marsaglia's xorshift64 (13, 7, 17) over *state; a zero state, which
 * xorshift never leaves, starts from a fixed non-zero one instead. */
static inline uint64_t gort_xorshift64(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x2545f4914f6cdd1dull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif /* GORT_OS_RAND_H */
