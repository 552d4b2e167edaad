/*
 * abi_align.c — what a C program assumes of malloc's alignment, tried the
 * way real code trips over it: structs holding SIMD vectors and long
 * doubles, allocated with malloc(sizeof ...) and copied with aligned
 * instructions (movaps on x86-64: it faults on a misaligned address).
 *
 * test_programs.sh runs it plainly and under the drop-in in each preset and
 * compares the output; a misaligned pointer is a SIGSEGV (x86-64) or an
 * explicit "misaligned" line (elsewhere).
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
typedef __m128 vec_t;
/* movaps both ways, never an unaligned fallback. */
static void copy_vec(vec_t *dst, const vec_t *src)
{
	_mm_store_ps((float *)dst, _mm_load_ps((const float *)src));
}
#else
typedef long double vec_t;
static void copy_vec(vec_t *dst, const vec_t *src)
{
	*dst = *src;
}
#endif

struct particle {
	vec_t pos; /* 16 bytes: malloc(16) exactly */
};
struct body {
	long double mass;
	vec_t vel;
	char tag[8];
};

static int check(const char *what, size_t n, const void *p)
{
	if ((uintptr_t)p % alignof(max_align_t) == 0)
		return 0;
	printf("misaligned: %s (%zu bytes) at %p\n", what, n, p);
	return 1;
}

int main(void)
{
	int bad = 0;
	long sum = 0;
	for (int round = 0; round < 2000; round++) {
		struct particle *a = malloc(sizeof *a), *b = malloc(sizeof *b);
		struct body *c = calloc(1, sizeof *c);
		struct body *d = realloc(NULL, sizeof *d);
		bad += check("particle", sizeof *a, a) + check("particle", sizeof *b, b);
		bad += check("body", sizeof *c, c) + check("body", sizeof *d, d);
		memset(a, round & 0x7f, sizeof *a);
		copy_vec(&b->pos, &a->pos);
		copy_vec(&c->vel, &b->pos);
		*d = *c;
		d = realloc(d, sizeof *d + (size_t)(round % 48));
		bad += check("body (realloc)", sizeof *d + (size_t)(round % 48), d);
		sum += ((unsigned char *)&d->vel)[0];
		free(a);
		free(b);
		free(c);
		free(d);
	}
	/* Every size from 16 up to a page: the ABI's alignment for each. */
	for (size_t n = 16; n <= 8192; n++) {
		void *p = malloc(n);
		bad += check("malloc", n, p);
		free(p);
	}
	printf("sum %ld, %s\n", sum, bad ? "misaligned" : "ok");
	return bad != 0;
}
