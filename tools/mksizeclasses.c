/*
 * mksizeclasses.c — owns the generation of gort's size classes. It applies
 * the rules of Go's mksizeclasses.go (Go 1.19) to compute the 68 classes
 * (class 0 is the dummy "large object" class), checks them, and prints the
 * complete C source of lib/mem/sizeclass_table.c to stdout. That file is this
 * program's output and is checked in; tests/gen/check-sizeclasses.sh rebuilds
 * it and compares byte for byte, so change the rules here, never the table.
 *
 * Usage: mksizeclasses [-v] > lib/mem/sizeclass_table.c
 *   -v  report the self-checks on stderr.
 *
 * The rules (Go's src/runtime/mksizeclasses.go, makeClasses):
 *  1. sizes run from 8 to 32768 in steps of `align`, which starts at 8 and
 *     changes at each power of two: 16 from 32, size/8 from 128, 256 from 2048;
 *  2. a class's span is the smallest multiple of 8 KiB whose tail (the bytes
 *     left after the last whole object) is at most 1/8 of the span;
 *  3. a size with the same span length and the same object count as the
 *     previous class replaces that class's size instead of making a new class;
 *  4. afterwards each class grows to the largest multiple of 128 that still
 *     fits the same number of objects in its span, if that is larger.
 *
 * Self-checks (failure prints a message and exits 1, before any output):
 * exactly 68 classes; sizes strictly increase, are multiples of 8 (and of 16
 * from 32 up); tail waste <= 12.5%; n / size == (n * divmagic) >> 32 for every
 * 0 <= n <= span bytes; every value fits the type of its table; and both
 * lookup tables send every size 1..32768 to the smallest class that holds it.
 *
 * Standalone: C11 and libc only.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	PAGE_SHIFT = 13,
	PAGE_SIZE = 1 << PAGE_SHIFT,
	MAX_SMALL = 32768,
	SMALL_DIV = 8,
	SMALL_MAX = 1024,
	LARGE_DIV = 128,
	NUM_CLASSES = 68, /* including class 0 */
	CLASS8_LEN = SMALL_MAX / SMALL_DIV + 1,             /* 129 */
	CLASS128_LEN = (MAX_SMALL - SMALL_MAX) / LARGE_DIV + 1, /* 249 */
	MAX_SLOTS = 128, /* room while building: more than the rules can produce */
};

struct sizeclass {
	uint32_t size;
	uint32_t npages;
	uint32_t nelems;
	uint32_t tail;
	uint32_t divmagic;
};

static struct sizeclass cls[MAX_SLOTS];
static int ncls;
static unsigned class8[CLASS8_LEN];
static unsigned class128[CLASS128_LEN];
static int verbose;

#if defined(__GNUC__)
#define PRINTF_LIKE __attribute__((format(printf, 1, 2)))
#else
#define PRINTF_LIKE
#endif

static _Noreturn void fail(const char *fmt, ...) PRINTF_LIKE;
static void note(const char *fmt, ...) PRINTF_LIKE;

static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mksizeclasses: check failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fputs("mksizeclasses: ok: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int is_pow2(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static unsigned ctz32(uint32_t x)
{
	unsigned n = 0;

	while (n < 32 && !(x & ((uint32_t)1 << n)))
		n++;
	return n;
}

/* Rules 1-4: fill cls[0..ncls). */
static void build_classes(void)
{
	uint32_t align = 8;

	memset(cls, 0, sizeof(cls));
	ncls = 1; /* class 0: the dummy, all zeros */
	for (uint32_t size = align; size <= MAX_SMALL; size += align) {
		if (is_pow2(size)) {
			if (size >= 2048)
				align = 256;
			else if (size >= 128)
				align = size / 8;
			else if (size >= 32)
				align = 16;
		}
		if (!is_pow2(align))
			fail("alignment %" PRIu32 " at size %" PRIu32 " is not a power of two",
			     align, size);

		uint32_t span = PAGE_SIZE;
		while (span % size > span / 8)
			span += PAGE_SIZE;
		uint32_t npages = span / PAGE_SIZE;

		struct sizeclass *prev = &cls[ncls - 1];
		if (ncls > 1 && prev->npages == npages && span / prev->size == span / size) {
			prev->size = size;
			continue;
		}
		if (ncls == MAX_SLOTS)
			fail("more than %d classes while building", MAX_SLOTS);
		cls[ncls].size = size;
		cls[ncls].npages = npages;
		ncls++;
	}

	for (int c = 1; c < ncls; c++) {
		uint32_t span = cls[c].npages * PAGE_SIZE;
		uint32_t grown = (span / (span / cls[c].size)) & ~(uint32_t)(LARGE_DIV - 1);
		if (grown > cls[c].size)
			cls[c].size = grown;
	}

	for (int c = 1; c < ncls; c++) {
		uint32_t span = cls[c].npages * PAGE_SIZE;
		cls[c].nelems = span / cls[c].size;
		cls[c].tail = span - cls[c].nelems * cls[c].size;
		cls[c].divmagic = UINT32_MAX / cls[c].size + 1;
	}
}

/* Entry i of a lookup table: the first class whose size is >= i * div. */
static unsigned first_class_holding(uint32_t bytes)
{
	for (int c = 0; c < ncls; c++)
		if (cls[c].size >= bytes)
			return (unsigned)c;
	fail("no class holds %" PRIu32 " bytes", bytes);
}

static void build_lookup(void)
{
	for (uint32_t i = 0; i < CLASS8_LEN; i++)
		class8[i] = first_class_holding(i * SMALL_DIV);
	for (uint32_t i = 0; i < CLASS128_LEN; i++)
		class128[i] = first_class_holding(SMALL_MAX + i * LARGE_DIV);
}

/* The same computation as sc_class_of() in lib/mem/sizeclass.h. */
static unsigned lookup(uint32_t size)
{
	if (size <= SMALL_MAX - 8)
		return class8[(size + SMALL_DIV - 1) / SMALL_DIV];
	return class128[(size - SMALL_MAX + LARGE_DIV - 1) / LARGE_DIV];
}

static void check(void)
{
	if (ncls != NUM_CLASSES)
		fail("%d classes, want %d", ncls, NUM_CLASSES);
	note("%d classes (class 0 + %d real)", ncls, ncls - 1);

	if (cls[0].size || cls[0].npages || cls[0].nelems || cls[0].divmagic)
		fail("class 0 is not all zeros");
	if (cls[1].size != 8 || cls[ncls - 1].size != MAX_SMALL)
		fail("classes span %" PRIu32 "..%" PRIu32 ", want 8..%d", cls[1].size,
		     cls[ncls - 1].size, MAX_SMALL);
	for (int c = 1; c < ncls; c++) {
		const struct sizeclass *k = &cls[c];
		if (k->size <= cls[c - 1].size)
			fail("class %d: size %" PRIu32 " does not grow", c, k->size);
		if (k->size % 8 != 0 || (k->size >= 32 && k->size % 16 != 0))
			fail("class %d: size %" PRIu32 " is misaligned", c, k->size);
		if (k->size > UINT16_MAX || k->npages > UINT8_MAX || k->nelems > UINT16_MAX)
			fail("class %d: a value does not fit its table", c);
		if (k->nelems == 0)
			fail("class %d: no object fits the span", c);
	}
	note("sizes 8..%d strictly increase, multiples of 8 (of 16 from 32 up), fit uint16",
	     MAX_SMALL);

	uint32_t worst_tail = 0;
	int worst_class = 1;
	for (int c = 1; c < ncls; c++) {
		uint32_t span = cls[c].npages * PAGE_SIZE;
		if ((uint64_t)cls[c].tail * 8 > span)
			fail("class %d: tail waste %" PRIu32 " of %" PRIu32 " exceeds 12.5%%", c,
			     cls[c].tail, span);
		if ((uint64_t)cls[c].tail * cls[worst_class].npages >
		    (uint64_t)worst_tail * cls[c].npages) {
			worst_tail = cls[c].tail;
			worst_class = c;
		}
	}
	note("tail waste <= 12.5%% for every class (worst: class %d, %.2f%%)", worst_class,
	     100.0 * worst_tail / (cls[worst_class].npages * PAGE_SIZE));

	uint64_t tried = 0;
	for (int c = 1; c < ncls; c++) {
		uint64_t span = (uint64_t)cls[c].npages * PAGE_SIZE;
		for (uint64_t n = 0; n <= span; n++) {
			if (n / cls[c].size != (n * cls[c].divmagic) >> 32)
				fail("class %d: divmagic %" PRIu32 " wrong for n = %" PRIu64, c,
				     cls[c].divmagic, n);
		}
		tried += span + 1;
	}
	note("divmagic exact for every n in 0..span bytes (%" PRIu64 " divisions)", tried);

	if (class8[0] != 0)
		fail("class8[0] is %u, want 0", class8[0]);
	for (uint32_t size = 1; size <= MAX_SMALL; size++) {
		unsigned c = lookup(size);
		if (c == 0 || c >= (unsigned)ncls || cls[c].size < size || cls[c - 1].size >= size)
			fail("size %" PRIu32 " maps to class %u", size, c);
	}
	note("lookup tables (%d + %d entries) give the smallest fitting class for 1..%d",
	     CLASS8_LEN, CLASS128_LEN, MAX_SMALL);
}

/* --------------------------------------------------------------- output */

static void emit_header(void)
{
	puts("/*\n"
	     " * sizeclass_table.c — Go's size classes as tables.\n"
	     " *\n"
	     " * GENERATED by tools/mksizeclasses.c; DO NOT EDIT. Change the generator\n"
	     " * and regenerate:\n"
	     " *   cc -std=gnu11 -o mksizeclasses tools/mksizeclasses.c\n"
	     " *   ./mksizeclasses > lib/mem/sizeclass_table.c\n"
	     " * tests/gen/check-sizeclasses.sh fails when this file and the generator\n"
	     " * disagree.\n"
	     " */");
}

static void emit_summary(void)
{
	/* min_size[b]: the smallest size from which every class is 2^b-aligned. */
	uint32_t min_size[PAGE_SHIFT + 1] = {0};
	uint32_t prev = 0;

	puts("");
	puts("/*");
	puts(" * Rounding a request up to its class wastes at most 12.5%, and so does");
	puts(" * cutting a span into objects (tail waste); max waste is the worst case,");
	puts(" * every object one byte larger than the class below.");
	puts(" *");
	puts(" * class  bytes/obj  bytes/span  objects  tail waste  max waste  min align");
	for (int c = 1; c < ncls; c++) {
		const struct sizeclass *k = &cls[c];
		uint32_t span = k->npages * PAGE_SIZE;
		double max_waste = (double)((k->size - prev - 1) * k->nelems + k->tail) / span;
		unsigned bits = ctz32(k->size);

		if (bits > PAGE_SHIFT)
			bits = PAGE_SHIFT;
		for (unsigned b = 0; b <= PAGE_SHIFT; b++) {
			if (b > bits)
				min_size[b] = 0;
			else if (min_size[b] == 0)
				min_size[b] = k->size;
		}
		printf(" * %5d  %9" PRIu32 "  %10" PRIu32 "  %7" PRIu32 "  %10" PRIu32
		       "  %8.2f%%  %9u\n",
		       c, k->size, span, k->nelems, k->tail, 100.0 * max_waste, 1u << bits);
		prev = k->size;
	}
	puts(" *");
	puts(" * alignment  bits  min obj size (every class from this size up is aligned)");
	for (unsigned b = 0; b <= PAGE_SHIFT; b++) {
		if (min_size[b] == 0)
			break;
		if (b < PAGE_SHIFT && min_size[b] == min_size[b + 1])
			continue;
		printf(" * %9u  %4u  %12" PRIu32 "\n", 1u << b, b, min_size[b]);
	}
	puts(" */");
}

/* One table: `per` values a line, each right-aligned in `width` columns, and a
 * comment naming the index of the line's first value. */
static void emit_array(const char *type, const char *name, const char *len,
		       const uint32_t *v, int n, int per, int width)
{
	printf("const %s %s[%s] = {\n", type, name, len);
	for (int i = 0; i < n; i += per) {
		putchar('\t');
		for (int j = i; j < i + per; j++) {
			if (j < n)
				printf("%*" PRIu32 ",", width, v[j]);
			else /* pad a short last line so its comment lines up */
				printf("%*s", width + 1, "");
			if (j + 1 < i + per)
				putchar(' ');
		}
		printf(" /* %3d */\n", i);
	}
	puts("};");
}

static void emit(void)
{
	uint32_t v[CLASS128_LEN];

	emit_header();
	emit_summary();
	puts("");
	puts("#include \"sizeclass.h\"");

	for (int c = 0; c < ncls; c++)
		v[c] = cls[c].size;
	puts("");
	emit_array("uint16_t", "gort_sc_size", "SC_NUM", v, ncls, 8, 5);
	for (int c = 0; c < ncls; c++)
		v[c] = cls[c].npages;
	puts("");
	emit_array("uint8_t", "gort_sc_npages", "SC_NUM", v, ncls, 16, 2);
	for (int c = 0; c < ncls; c++)
		v[c] = cls[c].nelems;
	puts("");
	emit_array("uint16_t", "gort_sc_nelems", "SC_NUM", v, ncls, 8, 4);
	for (int c = 0; c < ncls; c++)
		v[c] = cls[c].divmagic;
	puts("");
	emit_array("uint32_t", "gort_sc_divmagic", "SC_NUM", v, ncls, 6, 10);

	puts("");
	puts("/* Index ceil(size / 8) for size <= 1016: the first class whose size is");
	puts(" * >= index * 8 (entry 0 is class 0). */");
	for (int i = 0; i < CLASS8_LEN; i++)
		v[i] = class8[i];
	emit_array("uint8_t", "gort_sc_class8", "SC_CLASS8_LEN", v, CLASS8_LEN, 16, 2);

	puts("");
	puts("/* Index ceil((size - 1024) / 128) for 1016 < size <= 32768: the first class");
	puts(" * whose size is >= 1024 + index * 128. */");
	for (int i = 0; i < CLASS128_LEN; i++)
		v[i] = class128[i];
	emit_array("uint8_t", "gort_sc_class128", "SC_CLASS128_LEN", v, CLASS128_LEN, 16, 2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else {
			fprintf(stderr, "usage: %s [-v] > lib/mem/sizeclass_table.c\n", argv[0]);
			return 2;
		}
	}

	build_classes();
	build_lookup();
	check();
	emit();

	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("mksizeclasses: writing stdout");
		return 1;
	}
	note("wrote the table");
	return 0;
}
