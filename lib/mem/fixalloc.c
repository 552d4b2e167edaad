/*
 * fixalloc.c — fixed-size metadata objects (span structures, caches, tiny
 * masks) carved from chunks mapped straight from the OS.
 *
 * Metadata never lives in the arena, so a heap overflow cannot reach it and
 * the arena holds nothing but objects. Each chunk ends with a guard page,
 * so a run of writes off its end faults instead of reaching whatever the
 * kernel mapped next. Freed metadata goes on a free list
 * threaded through the freed structures themselves (they are ours, not the
 * program's). The caller holds the lock that owns the fixalloc.
 */
#include "mem/mem.h"

#include <string.h>
#include <stdint.h>

#define FIX_CHUNK ((size_t)64 << 10)

struct chunk_hdr {
	struct chunk_hdr *next;
	size_t bytes;
};

void gort_fixalloc_init(fixalloc_t *f, size_t size)
{
	memset(f, 0, sizeof *f);
	f->size = (size + 15) & ~(size_t)15;
}

static int fix_new_chunk(fixalloc_t *f)
{
	size_t bytes = f->size * 4 + sizeof(struct chunk_hdr) > FIX_CHUNK
			       ? f->size * 4 + sizeof(struct chunk_hdr)
			       : FIX_CHUNK;
	size_t page = gort_os_page_size();
	bytes = (bytes + page - 1) & ~(page - 1);
	struct chunk_hdr *h = gort_os_map(bytes + page);
	if (!h)
		return -1;
	/* If the OS refuses the guard, the page is merely unused. */
	(void)gort_os_guard((char *)h + bytes, page);
	h->bytes = bytes + page;
	h->next = f->chunks;
	f->chunks = h;
	f->chunk = (char *)h + 64;
	f->left = bytes - 64;
	f->sys += bytes;
	return 0;
}

/* Span structures are type-stable: a free on another thread may still read
 * a recycled span's atomic fields (it then finds them changed and backs
 * off), so reuse clears them with atomic stores, not a racing memset. */
static void zero_words(void *p, size_t size)
{
	uint64_t *w = p;
	for (size_t i = 0; i < size / sizeof *w; i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
}

void *gort_fixalloc_alloc(fixalloc_t *f)
{
	void *p = f->free;
	if (p) {
		f->free = *(void **)p;
		zero_words(p, f->size);
	} else {
		if (f->left < f->size && fix_new_chunk(f) != 0)
			return NULL;
		p = f->chunk;
		f->chunk += f->size;
		f->left -= f->size;
	}
	f->inuse += f->size;
	return p;
}

void gort_fixalloc_free(fixalloc_t *f, void *p)
{
	*(void **)p = f->free;
	f->free = p;
	f->inuse -= f->size;
}

void gort_fixalloc_destroy(fixalloc_t *f)
{
	struct chunk_hdr *h = f->chunks;
	while (h) {
		struct chunk_hdr *next = h->next;
		gort_os_unmap(h, h->bytes);
		h = next;
	}
	size_t size = f->size;
	memset(f, 0, sizeof *f);
	f->size = size;
}
