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
 * loader's first allocation on. C++'s operator new and delete are in
 * gortcxx.c. A misuse report names the C call that found it
 * (`malloc_usable_size`, not the API's `usable_size`).
 */
#define _GNU_SOURCE
#include "gort.h"
#include "mem/mem.h"

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
	return gort_usable_size_as(p, "malloc_usable_size");
}

/* ---------------------------------------------------------------- exit */
/* Paranoid: an overflow of an object that is never freed is found at exit,
 * by checking every live object's canary (mem/livecheck.c); the default
 * error handler then aborts, so the exit status says so. */
__attribute__((destructor)) static void check_live_canaries_at_exit(void)
{
	if (ld_acq(&gort_mem.state) == 2 && gort_hard->preset == GORT_HARDEN_PARANOID)
		(void)gort_mem_check_canaries("exit");
}

/* ------------------------------------------------------- bulk writes */
/* memcpy, memmove and memset check their destination against the heap
 * object it lies in before writing (mem/bounds.c: O(1), default and
 * paranoid), then do the copy with the C library's own code, reached
 * through its _chk entry points with no bound of their own (calling
 * memcpy here would call this memcpy). Only calls from outside the C
 * library come here: its internal copies do not go through the PLT. The
 * allocator's own copies (a slot's zeroing, realloc's copy, the canary's
 * pattern) reach these too, the drop-in being linked -Bsymbolic-functions,
 * and are told apart by their return address, inside this object. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

static inline void check_write(const void *from, void *d, size_t n, const char *op)
{
	if ((const char *)from < __ehdr_start || (const char *)from >= _end)
		gort_check_write(d, n, op);
}

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dlen);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dlen);
void *__memset_chk(void *d, int c, size_t n, size_t dlen);
/* Called through pointers the compiler cannot see through: it folds a
 * _chk call with no bound back into a call of memcpy, which is this one. */
typedef void *(*copy_fn)(void *, const void *, size_t, size_t);
typedef void *(*fill_fn)(void *, int, size_t, size_t);
static copy_fn volatile libc_memcpy = __memcpy_chk;
static copy_fn volatile libc_memmove = __memmove_chk;
static fill_fn volatile libc_memset = __memset_chk;

EXPORT void *memcpy(void *d, const void *s, size_t n)
{
	check_write(__builtin_return_address(0), d, n, "memcpy");
	return libc_memcpy(d, s, n, (size_t)-1);
}

EXPORT void *memmove(void *d, const void *s, size_t n)
{
	check_write(__builtin_return_address(0), d, n, "memmove");
	return libc_memmove(d, s, n, (size_t)-1);
}

EXPORT void *memset(void *d, int c, size_t n)
{
	check_write(__builtin_return_address(0), d, n, "memset");
	return libc_memset(d, c, n, (size_t)-1);
}
