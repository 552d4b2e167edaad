/*
 * test_rand.c — the runtime's pseudo-random numbers (os/rand.h) give the
 * exact values they always gave: seeded runs (step mode, the shell's golden
 * outputs, the canary MAC) depend on them, and the scheduler's
 * gort_rand_step is splitmix64 over the shared mixer.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "os/rand.h"
#include "sched/sched.h"

/* splitmix64 as first published, written out again on purpose. */
static uint64_t reference_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

Test(rand, splitmix64_known_answers)
{
	static const uint64_t want[] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull,
					0x06c45d188009454full, 0xf88bb8a8724c81ecull};
	uint64_t state = 0;
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_assert_eq(gort_splitmix64(&state), want[i], "value %u", i);
}

Test(rand, rand_step_is_splitmix64)
{
	uint64_t a = 12345, b = 12345, c = 12345;
	for (int i = 0; i < 1000; i++) {
		uint64_t r = reference_splitmix64(&c);
		cr_assert_eq(gort_rand_step(&a), r);
		cr_assert_eq(gort_splitmix64(&b), r);
	}
	cr_assert_eq(a, c);
}

Test(rand, mix64_is_the_finaliser)
{
	uint64_t s = 41;
	cr_assert_eq(gort_mix64(42 + GORT_RAND_GAMMA), reference_splitmix64(&(uint64_t){42}));
	cr_assert_eq(gort_mix64(s + GORT_RAND_GAMMA), gort_splitmix64(&s));
	cr_assert_eq(gort_mix64(0), 0, "zero is the finaliser's fixed point");
}

Test(rand, xorshift64_known_answers)
{
	uint64_t state = 1;
	cr_assert_eq(gort_xorshift64(&state), 0x40822041ull);
	cr_assert_eq(state, 0x40822041ull);
	uint64_t zero = 0, seeded = 0x2545f4914f6cdd1dull;
	cr_assert_eq(gort_xorshift64(&zero), gort_xorshift64(&seeded),
		     "a zero state starts from the fixed one");
	for (int i = 0; i < 1000; i++)
		cr_assert_neq(gort_xorshift64(&state), 0);
}
