/*
 * fdp.h — a small FuzzedDataProvider for C harnesses.
 *
 * The input is split from both ends: integers, booleans and picks are taken
 * from the tail, raw bytes from the front. Mutations that grow or shrink the
 * byte area at the front then leave the integers where they were, and a seed
 * file keeps its meaning after the fuzzer appends to it. There are no
 * length-prefixed records: a value needs no framing, so any byte string
 * decodes to some sequence of operations.
 *
 * An integer in [lo, hi] takes only as many tail bytes as the width of
 * hi - lo needs (one byte for a range of up to 256 values), read last byte
 * first, most significant first, reduced modulo the range size when the range
 * does not cover the whole width. When the input runs out, integers read as
 * lo, booleans as false and picks as the first element, so a harness can keep
 * decoding until fdp_remaining() is 0 without special cases.
 *
 * Header only; every function is static inline and none allocates.
 */
#ifndef GORT_FUZZ_FDP_H
#define GORT_FUZZ_FDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fdp {
	const uint8_t *data; /* the front: next byte for fdp_bytes */
	size_t size;	     /* bytes left; the tail is data[size - 1] */
} fdp_t;

static inline void fdp_init(fdp_t *d, const uint8_t *data, size_t size)
{
	d->data = data;
	d->size = data ? size : 0;
}

static inline size_t fdp_remaining(const fdp_t *d)
{
	return d->size;
}

/* A value in [lo, hi] (lo <= hi), from the tail. */
static inline uint64_t fdp_range(fdp_t *d, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo, v = 0;
	unsigned bits = 0;
	while (bits < 64 && (span >> bits) != 0 && d->size > 0) {
		v = (v << 8) | d->data[--d->size];
		bits += 8;
	}
	if (span != UINT64_MAX)
		v %= span + 1;
	return lo + v;
}

static inline uint8_t fdp_u8(fdp_t *d)
{
	return (uint8_t)fdp_range(d, 0, UINT8_MAX);
}

static inline uint16_t fdp_u16(fdp_t *d)
{
	return (uint16_t)fdp_range(d, 0, UINT16_MAX);
}

static inline uint32_t fdp_u32(fdp_t *d)
{
	return (uint32_t)fdp_range(d, 0, UINT32_MAX);
}

static inline uint64_t fdp_u64(fdp_t *d)
{
	return fdp_range(d, 0, UINT64_MAX);
}

static inline bool fdp_bool(fdp_t *d)
{
	return fdp_u8(d) & 1;
}

/* An index in [0, n), n >= 1. */
static inline size_t fdp_index(fdp_t *d, size_t n)
{
	return n ? (size_t)fdp_range(d, 0, n - 1) : 0;
}

/* An element of a fixed array. */
#define FDP_PICK(d, array) ((array)[fdp_index((d), sizeof(array) / sizeof((array)[0]))])

/* true with probability about permille / 1000 (one tail byte pair). */
static inline bool fdp_chance(fdp_t *d, unsigned permille)
{
	return fdp_range(d, 0, 999) < permille;
}

/* Up to n bytes from the front into out; returns how many were copied. */
static inline size_t fdp_bytes(fdp_t *d, void *out, size_t n)
{
	if (n > d->size)
		n = d->size;
	if (n)
		memcpy(out, d->data, n);
	d->data += n;
	d->size -= n;
	return n;
}

/* Everything left, from the front; the provider is empty afterwards. */
static inline const uint8_t *fdp_rest(fdp_t *d, size_t *n)
{
	const uint8_t *p = d->data;
	*n = d->size;
	d->data += d->size;
	d->size = 0;
	return p;
}

#endif /* GORT_FUZZ_FDP_H */
