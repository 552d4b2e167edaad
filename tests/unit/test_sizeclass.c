/*
 * test_sizeclass.c — unit tests of the size-class tables (lib/mem/sizeclass.h,
 * generated into lib/mem/sizeclass_table.c by tools/mksizeclasses.c) and of
 * gort_size_to_class(): every request lands in the smallest class that holds
 * it, the tables match Go 1.19's numbers, and each class's span, alignment and
 * division constant are right. Everything is checked by brute force.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "gort_inspect.h"
#include "mem/sizeclass.h"

/* The smallest class whose size is >= size, found by scanning the table. */
static unsigned brute_class(size_t size)
{
	for (unsigned c = 1; c < SC_NUM; c++)
		if (gort_sc_size[c] >= size)
			return c;
	return 0;
}

static size_t span_bytes(unsigned c)
{
	return (size_t)gort_sc_npages[c] * SC_PAGE_SIZE;
}

Test(sizeclass, header_constants)
{
	cr_assert_eq(SC_NUM, 68);
	cr_assert_eq(SC_NUM, GORT_NUM_SIZE_CLASSES);
	cr_assert_eq(SC_PAGE_SIZE, 8192);
	cr_assert_eq(SC_PAGE_SIZE, GORT_PAGE_SIZE);
	cr_assert_eq(SC_MAX_SMALL, GORT_MAX_SMALL_SIZE);
	cr_assert_eq(SC_CLASS8_LEN, 129);
	cr_assert_eq(SC_CLASS128_LEN, 249);
	cr_assert_eq(sizeof(gort_sc_class8), 129);
	cr_assert_eq(sizeof(gort_sc_class128), 249);
}

Test(sizeclass, class_zero_is_a_zero_dummy)
{
	cr_assert_eq(gort_sc_size[0], 0);
	cr_assert_eq(gort_sc_npages[0], 0);
	cr_assert_eq(gort_sc_nelems[0], 0);
	cr_assert_eq(gort_sc_divmagic[0], 0);
	cr_assert_eq(gort_sc_class8[0], 0, "class8[0] is 0, as in Go");
}

Test(sizeclass, every_small_size_gets_the_smallest_fitting_class)
{
	for (size_t size = 1; size <= SC_MAX_SMALL; size++) {
		unsigned want = brute_class(size);
		unsigned got = sc_class_of(size);
		cr_assert_eq(got, want, "size %zu: sc_class_of gives %u, want %u", size, got, want);
		cr_assert_geq(gort_sc_size[got], size);
		cr_assert_lt(gort_sc_size[got - 1], size);
	}
}

Test(sizeclass, lookup_table_seams)
{
	/* 1017..1024 go through class128[0], which is the 1024-byte class. */
	cr_assert_eq(gort_sc_class128[0], 32);
	for (size_t size = 1009; size <= 1024; size++)
		cr_assert_eq(gort_sc_size[sc_class_of(size)], 1024, "size %zu", size);
	cr_assert_eq(gort_sc_size[sc_class_of(1025)], 1152);
	cr_assert_eq(sc_class_of(1), 1);
	cr_assert_eq(sc_class_of(8), 1);
	cr_assert_eq(sc_class_of(9), 2);
	cr_assert_eq(sc_class_of(16), 2);
	cr_assert_eq(sc_class_of(17), 3);
	cr_assert_eq(sc_class_of(SC_MAX_SMALL), SC_NUM - 1);
	cr_assert_eq(sc_class_of(SC_MAX_SMALL - 1), SC_NUM - 1);
	cr_assert_eq(sc_class_of(28673), SC_NUM - 1);
	cr_assert_eq(sc_class_of(28672), SC_NUM - 2);
}

Test(sizeclass, public_size_to_class_agrees_for_small_sizes)
{
	for (size_t size = 1; size <= SC_MAX_SMALL; size++)
		cr_assert_eq(gort_size_to_class(size), sc_class_of(size),
			     "gort_size_to_class(%zu) = %u, sc_class_of = %u", size,
			     gort_size_to_class(size), sc_class_of(size));
}

Test(sizeclass, public_size_to_class_edges)
{
	cr_assert_eq(gort_size_to_class(0), 1, "a 0-byte request is served as 1 byte");
	for (size_t size = SC_MAX_SMALL + 1; size <= 33000; size++)
		cr_assert_eq(gort_size_to_class(size), 0, "size %zu is large", size);
	cr_assert_eq(gort_size_to_class((size_t)1 << 20), 0);
	cr_assert_eq(gort_size_to_class(SIZE_MAX), 0);
}

/* Rows of the table in the reference (Go 1.19.8 sizeclasses.go). */
static const struct {
	unsigned cls, size, span, objects, tail;
} spot[] = {
	{1, 8, 8192, 1024, 0},     {2, 16, 8192, 512, 0},    {3, 24, 8192, 341, 8},
	{4, 32, 8192, 256, 0},     {5, 48, 8192, 170, 32},   {10, 128, 8192, 64, 0},
	{18, 256, 8192, 32, 0},    {19, 288, 8192, 28, 128}, {31, 896, 8192, 9, 128},
	{32, 1024, 8192, 8, 0},    {35, 1408, 16384, 11, 896}, {40, 2688, 8192, 3, 128},
	{41, 3072, 24576, 8, 0},   {48, 6528, 32768, 5, 128}, {50, 6912, 49152, 7, 768},
	{51, 8192, 8192, 1, 0},    {52, 9472, 57344, 6, 512}, {60, 18432, 73728, 4, 0},
	{63, 21760, 65536, 3, 256}, {65, 27264, 81920, 3, 128}, {66, 28672, 57344, 2, 0},
	{67, 32768, 32768, 1, 0},
};

Test(sizeclass, matches_reference_rows)
{
	for (size_t i = 0; i < sizeof(spot) / sizeof(spot[0]); i++) {
		unsigned c = spot[i].cls;
		cr_assert_eq(gort_sc_size[c], spot[i].size, "class %u size", c);
		cr_assert_eq(span_bytes(c), spot[i].span, "class %u span", c);
		cr_assert_eq(gort_sc_nelems[c], spot[i].objects, "class %u objects", c);
		cr_assert_eq(span_bytes(c) - (size_t)gort_sc_nelems[c] * gort_sc_size[c],
			     spot[i].tail, "class %u tail waste", c);
	}
}

Test(sizeclass, sizes_strictly_increase)
{
	cr_assert_eq(gort_sc_size[1], 8);
	cr_assert_eq(gort_sc_size[SC_NUM - 1], SC_MAX_SMALL);
	for (unsigned c = 1; c < SC_NUM; c++)
		cr_assert_gt(gort_sc_size[c], gort_sc_size[c - 1], "class %u", c);
}

Test(sizeclass, alignment)
{
	for (unsigned c = 1; c < SC_NUM; c++) {
		size_t size = gort_sc_size[c];
		cr_assert_eq(size % 8, 0, "class %u: size %zu not a multiple of 8", c, size);
		if (size >= 32)
			cr_assert_eq(size % 16, 0, "class %u: size %zu not a multiple of 16", c,
				     size);
		/* Above 1024 the 128-byte lookup needs 128-byte steps. */
		if (size >= 1024)
			cr_assert_eq(size % 128, 0, "class %u: size %zu", c, size);

		size_t align = (size_t)1 << __builtin_ctz((unsigned)size);
		if (align > SC_PAGE_SIZE)
			align = SC_PAGE_SIZE;
		size_t floor = size >= 32 ? 16 : 8;
		cr_assert_geq(align, floor, "class %u", c);

		uintptr_t base = (uintptr_t)7 * SC_PAGE_SIZE; /* any page-aligned span base */
		for (size_t n = 0; n < gort_sc_nelems[c]; n++) {
			uintptr_t obj = base + n * size;
			cr_assert_eq(obj % align, 0, "class %u object %zu", c, n);
			cr_assert_eq(obj % floor, 0, "class %u object %zu", c, n);
		}
	}
}

Test(sizeclass, span_shape)
{
	for (unsigned c = 1; c < SC_NUM; c++) {
		size_t span = span_bytes(c);
		size_t size = gort_sc_size[c];
		cr_assert_gt(gort_sc_npages[c], 0, "class %u", c);
		cr_assert_eq(gort_sc_nelems[c], span / size, "class %u nelems", c);
		size_t tail = span - gort_sc_nelems[c] * size;
		cr_assert_leq(tail * 8, span, "class %u: tail waste %zu of %zu > 12.5%%", c, tail,
			      span);
	}
}

Test(sizeclass, divmagic_is_exact)
{
	for (unsigned c = 1; c < SC_NUM; c++) {
		uint32_t size = gort_sc_size[c];
		cr_assert_eq(gort_sc_divmagic[c], UINT32_MAX / size + 1, "class %u", c);
		size_t span = span_bytes(c);
		for (size_t n = 0; n <= span; n++) {
			uint64_t q = ((uint64_t)n * gort_sc_divmagic[c]) >> 32;
			if (q != n / size)
				cr_assert_fail("class %u: n = %zu gives %llu, want %zu", c, n,
					       (unsigned long long)q, n / size);
			if (sc_index_of(c, n) != n / size)
				cr_assert_fail("class %u: sc_index_of(%zu) wrong", c, n);
		}
	}
}
