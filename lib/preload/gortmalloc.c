/*
 * gortmalloc.c — the LD_PRELOAD drop-in: the C library's allocation
 * functions, served by gort.
 *
 * Built only into libgortmalloc.so. Each function is a thin, checked mapping
 * onto the gort_* API; the standard's corner cases are settled here
 * (malloc(0) gives a unique pointer, posix_memalign returns an error code
 * instead of setting errno, pvalloc rounds up to the page, ...). gort is
 * lazily initialised by the first call, from any thread, and never calls
 * back into malloc while initialising, so it is safe from the dynamic
 * loader's first allocation on.
 */
#define _GNU_SOURCE
#include "gort.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t size)
{
	return gort_malloc(size);
}

EXPORT void free(void *p)
{
	gort_free(p);
}

EXPORT void cfree(void *p)
{
	gort_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	return gort_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	return gort_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return gort_realloc(p, bytes);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	int saved = errno;
	void *p = gort_aligned_alloc(align, size);
	if (!p) {
		int err = errno ? errno : ENOMEM;
		errno = saved;
		return err;
	}
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return gort_aligned_alloc(align, size);
}

EXPORT void *memalign(size_t align, size_t size)
{
	return gort_aligned_alloc(align, size);
}

static size_t os_page(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

EXPORT void *valloc(size_t size)
{
	return gort_aligned_alloc(os_page(), size);
}

EXPORT void *pvalloc(size_t size)
{
	size_t page = os_page();
	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return gort_aligned_alloc(page, (size + page - 1) & ~(page - 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
	return gort_usable_size(p);
}
