/*
 * criterion_tsan.c — owns one thing: letting Criterion start under
 * ThreadSanitizer. Linked into every unit test binary; empty unless the
 * build is SAN=thread.
 *
 * Why: at start-up Criterion maps an "inheritable arena" at a random address
 * that it draws with rand_r() from 0x2000'0000'0000 to 0x6000'0000'0000, and
 * gives up after ten addresses it finds already mapped. ThreadSanitizer
 * (clang 14, x86-64) reserves nearly all of that range for its shadow and
 * protected gaps; the only part it gives to the program is
 * 0x5500'0000'0000..0x5680'0000'0000, so Criterion aborts with "Could not
 * initialize inheritable arena" almost every time.
 *
 * How: this rand_r() overrides the C library's for the whole process and
 * returns values that, masked and scaled the way Criterion uses them, fall
 * in that application range. It is still a linear congruential generator
 * over the caller's seed, so other callers get varying numbers within
 * [0, RAND_MAX]. Nothing in gort calls rand_r(); gort has its own generators.
 *
 * Invariant: only compiled in with GORT_SAN_THREAD on x86-64, where the
 * layout above holds.
 */
#include <stdlib.h>

#if defined(GORT_SAN_THREAD) && defined(__x86_64__)

/* Criterion: base = 0x2000'0000'0000 + (rand_r() & 0x3fffff) << 24. */
#define ARENA_R_LO 0x350000u  /* (0x5500'0000'0000 - base) >> 24 */
#define ARENA_R_SPAN 0x18000u /* up to 0x5680'0000'0000 */

/* Default visibility: the build hides symbols, and a hidden rand_r would not
 * take the place of the C library's (or the sanitizer's interceptor). */
__attribute__((visibility("default"))) int rand_r(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (int)(ARENA_R_LO + (*seed >> 8) % ARENA_R_SPAN);
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int gort_criterion_tsan_unused;

#endif
