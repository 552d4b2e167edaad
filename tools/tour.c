/*
 * tour.c — a guided tour of the allocator, run by `make demo` until the
 * gortsh shell takes over that job.
 *
 * Uses only the public headers (gort.h, gort_inspect.h), as every tool does.
 * It runs in a 4 MiB arena in step mode, so its output is the same from run
 * to run (addresses included, when the arena lands at Go's hint address).
 */
#include "gort.h"
#include "gort_inspect.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void where(const char *label, const void *p)
{
	gort_object_info o;
	if (gort_inspect_object(p, &o) != 0) {
		printf("  %-8s %p  (not in the heap)\n", label, p);
		return;
	}
	printf("  %-8s %#" PRIxPTR "  class %2u (%5zu B)  span %#" PRIxPTR "  slot %zu%s\n",
	       label, (uintptr_t)p, o.size_class, o.elemsize, o.span_base, o.slot,
	       o.tiny ? "  (tiny block)" : "");
}

static void arena_map(void)
{
	static gort_page_info pages[512];
	gort_arena_info a;
	gort_inspect_arena(&a);
	size_t n = gort_inspect_pages(a.arena_base, pages, 512);
	printf("  arena %#" PRIxPTR ", %zu pages committed:\n  ", a.arena_base,
	       (size_t)((a.arena_used - a.arena_base) / GORT_PAGE_SIZE));
	for (size_t i = 0; i < n && i < 512; i++) {
		static const char cell[] = {'.', '-', '_', 's', 'L', 't'};
		putchar(cell[pages[i].state]);
		if (i % 64 == 63 || i + 1 == n)
			printf("\n  ");
	}
	printf("legend: s small-object span, t tiny blocks, L large object, - free, _ released\n");
}

static void bitmap_of(const void *p)
{
	uint64_t words[4 * 16];
	size_t nw = gort_inspect_bitmap((uintptr_t)p, words, 4 * 16);
	static const char *const names[] = {"alloc", "freed", "mark", "ptrs"};
	for (unsigned pl = 0; pl < 4; pl++) {
		printf("  %-5s ", names[pl]);
		for (size_t i = 0; i < 32 && i < nw * 64; i++)
			putchar((words[pl * nw + i / 64] >> (i % 64)) & 1 ? '1' : '0');
		printf(" ...\n");
	}
}

static void on_error(const gort_error *err, void *ctx)
{
	(void)ctx;
	printf("  error: %s\n", err->message);
}

static void stats(void)
{
	struct gort_memstats m;
	gort_memstats(&m);
	printf("  mallocs=%" PRIu64 " frees=%" PRIu64 " heap_objects=%" PRIu64
	       " heap_alloc=%" PRIu64 " heap_inuse=%" PRIu64 " heap_idle=%" PRIu64
	       " heap_released=%" PRIu64 "\n",
	       m.mallocs, m.frees, m.heap_objects, m.heap_alloc, m.heap_inuse, m.heap_idle,
	       m.heap_released);
}

int main(void)
{
	gort_config cfg = {.arena_bytes = 4 << 20, .procs = 1};
	if (gort_init(&cfg) != 0) {
		perror("gort_init");
		return 1;
	}
	gort_set_error_handler(on_error, NULL);

	puts("1. Small requests land in Go's size classes; each class has its own spans.");
	void *a = gort_malloc(24), *b = gort_malloc(24), *c = gort_malloc(100);
	void *d = gort_malloc(3000);
	where("24 B", a);
	where("24 B", b);
	where("100 B", c);
	where("3000 B", d);

	puts("\n2. Tiny noscan objects share 16-byte blocks, as in Go.");
	void *t1 = gort_alloc(3, GORT_NOSCAN), *t2 = gort_alloc(5, GORT_NOSCAN);
	where("3 B", t1);
	where("5 B", t2);

	puts("\n3. Larger than 32 KiB: a span of its own, straight from the heap.");
	void *big = gort_malloc(100000);
	where("100000 B", big);
	arena_map();

	puts("\n4. Every object has 4 bits out of band; here the first 32 slots of a's span.");
	bitmap_of(a);
	gort_free(b);
	puts("  after free(b):");
	bitmap_of(a);

	puts("\n5. Every free is checked: double, invalid and interior frees are reported.");
	gort_free(b);
	gort_free((char *)c + 8);
	gort_free((void *)0x1000);
	if (gort_check() == 0)
		puts("  the heap is intact (gort_check passed)");

	puts("\n6. Freed memory coalesces and goes back to the OS.");
	gort_free(a);
	gort_free(c);
	gort_free(d);
	gort_free(t1);
	gort_free(t2);
	gort_free(big);
	stats();
	printf("  gort_release() returned %zu bytes to the OS\n", gort_release());
	stats();
	arena_map();
	gort_shutdown();
	return 0;
}
