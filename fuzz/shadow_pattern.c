/*
 * shadow_pattern.c — the bytes every live object holds: a pattern derived
 * from its id, written when the object is made and verified before it is
 * freed or reallocated (realloc keeps the prefix) and in the deep check, so
 * an object handed out over a live one, a stray write or a lost copy shows
 * up as a damaged pattern.
 *
 * The 8 bytes at offset 8k depend on the offset too, so a shifted copy
 * shows up. Objects up to SH_FULL_FILL bytes carry it whole; larger ones on
 * their first and last SH_STRIDE bytes and 8 bytes at up to SH_SAMPLES
 * points in between, so a large object costs a dozen page touches, not a
 * memset. The same layout checks zeroed memory (calloc, GORT_ZERO, the
 * hardened presets' zero on free).
 */
#include "shadow.h"

#define SH_FULL_FILL 4096
#define SH_STRIDE 512
#define SH_SAMPLES 8

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The 8 bytes at offset 8k of an object with seed v. */
static inline uint64_t word_at(uint64_t v, size_t k)
{
	return v ^ ((uint64_t)k * 0xd6e8feb86659fd93ull);
}

static inline uint8_t byte_at(uint64_t v, size_t i)
{
	return (uint8_t)(word_at(v, i >> 3) >> (8 * (i & 7)));
}

/* Fill [a, b) of p with the pattern of seed v. */
SH_NOASAN static void fill_range(unsigned char *p, size_t a, size_t b, uint64_t v)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		p[i] = byte_at(v, i);
	if (((uintptr_t)p & 7) == 0)
		for (; i + 8 <= b; i += 8)
			*(uint64_t *)(void *)(p + i) = word_at(v, i >> 3);
	for (; i < b; i++)
		p[i] = byte_at(v, i);
}

/* First offset in [a, b) that does not hold the pattern (or 0 if zero),
 * or SIZE_MAX. */
SH_NOASAN static size_t check_range(const unsigned char *p, size_t a, size_t b, uint64_t v,
				    int zero)
{
	size_t i = a;
	for (; i < b && (i & 7); i++)
		if (p[i] != (zero ? 0 : byte_at(v, i)))
			return i;
	if (((uintptr_t)p & 7) == 0)
		for (; i + 8 <= b; i += 8)
			if (*(const uint64_t *)(const void *)(p + i) !=
			    (zero ? 0 : word_at(v, i >> 3)))
				break;
	for (; i < b; i++)
		if (p[i] != (zero ? 0 : byte_at(v, i)))
			return i;
	return SIZE_MAX;
}

/* What is done to each range of the layout: returns SIZE_MAX to go on,
 * anything else to stop there and return it. */
typedef size_t (*range_fn)(unsigned char *p, size_t a, size_t b, uint64_t v, int zero);

static size_t fill_fn(unsigned char *p, size_t a, size_t b, uint64_t v, int zero)
{
	(void)zero;
	fill_range(p, a, b, v);
	return SIZE_MAX;
}

static size_t check_fn(unsigned char *p, size_t a, size_t b, uint64_t v, int zero)
{
	return check_range(p, a, b, v, zero);
}

/* Calls fn on each range of an n-byte object's layout that lies below
 * `upto`; stops at the first that does not return SIZE_MAX. */
static size_t layout(unsigned char *p, size_t n, size_t upto, uint64_t v, int zero, range_fn fn)
{
	size_t r;
#define SH_RANGE(a_, b_)                                                     \
	do {                                                                 \
		size_t a__ = (a_), b__ = (b_) < upto ? (b_) : upto;          \
		if (a__ < b__ && (r = fn(p, a__, b__, v, zero)) != SIZE_MAX) \
			return r;                                            \
	} while (0)
	if (n <= SH_FULL_FILL) {
		SH_RANGE(0, n);
		return SIZE_MAX;
	}
	/* At most SH_SAMPLES words in between: a large object costs a few
	 * dozen page touches whatever its size. */
	size_t stride = (n / SH_SAMPLES + SH_STRIDE - 1) & ~(size_t)(SH_STRIDE - 1);
	if (stride < SH_STRIDE)
		stride = SH_STRIDE;
	SH_RANGE(0, SH_STRIDE);
	for (size_t k = stride; k + SH_STRIDE < n; k += stride)
		SH_RANGE(k, k + 8);
	SH_RANGE(n - SH_STRIDE, n);
#undef SH_RANGE
	return SIZE_MAX;
}

void sh_fill(const sh_obj *o)
{
	layout((unsigned char *)o->p, o->req, o->req, mix(o->id), 0, fill_fn);
}

/* Verify o's pattern at `at` (o->p, or where realloc moved it), below upto. */
void sh_verify_at(const sh_obj *o, uintptr_t at, size_t upto, const char *before)
{
	size_t bad = layout((unsigned char *)at, o->req, upto, mix(o->id), 0, check_fn);
	SH_ASSERT(bad == SIZE_MAX,
		  "object %llu (%zu bytes at %#lx%s, class %u) damaged at byte %zu %s",
		  (unsigned long long)o->id, o->req, (unsigned long)at, o->tiny ? ", tiny" : "",
		  o->cls, bad, before);
}

void sh_verify(const sh_obj *o, const char *before)
{
	sh_verify_at(o, o->p, o->req, before);
}

void sh_expect_zero(uintptr_t p, size_t n, const char *what)
{
	size_t bad = layout((unsigned char *)p, n, n, 0, 1, check_fn);
	SH_ASSERT(bad == SIZE_MAX, "%s(%zu) = %#lx: byte %zu is not zero", what, n,
		  (unsigned long)p, bad);
}
