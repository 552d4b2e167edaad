/*
 * gortcxx.c — C++'s replaceable operator new and delete for the drop-in,
 * in every form the language has (plain, array, nothrow, sized, aligned,
 * sized and aligned), served by gort and checked like free.
 *
 * Written in C under the Itanium C++ ABI's mangled names, so the drop-in
 * needs no C++ compiler and a C program that preloads it loads no C++
 * runtime. What only the C++ runtime has — the new_handler and throwing
 * std::bad_alloc — is reached through weak references: they resolve to the
 * program's libstdc++ when it has one (every program that calls operator
 * new does); without one nothing here is ever called.
 *
 * Each object remembers, in its canary (default and paranoid), whether
 * malloc, new or new[] allocated it, and free, delete and delete[] accept
 * only their own: `mismatched free`. A sized delete must pass the size the
 * object was allocated with: `sized delete mismatch` (light, which has no
 * canary, compares size classes only and cannot tell the families apart).
 *
 * Failure, as the standard says: throwing new calls the new_handler until
 * it returns memory, and throws std::bad_alloc when there is no handler;
 * nothrow new returns NULL when there is no handler (a handler that throws
 * from inside nothrow new is a deviation: the exception leaves it, where
 * the standard has nothrow new catch it, since C cannot catch).
 */
#define _GNU_SOURCE
#include "gort.h"
#include "mem/mem.h"

#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

typedef void (*new_handler_fn)(void);
/* std::get_new_handler() and std::__throw_bad_alloc(), from libstdc++. */
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

enum { THROWS = 1, NOTHROW = 0 };

static void *try_alloc(size_t size, size_t align)
{
	return align ? gort_aligned_alloc(align, size) : gort_malloc(size);
}

/* One operator new: retry through the new_handler while there is one. */
static void *cxx_new(size_t size, size_t align, unsigned family, int throws)
{
	for (;;) {
		void *p = try_alloc(size, align);
		if (p) {
			gort_set_family(p, family);
			return p;
		}
		new_handler_fn h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
		if (h) {
			h();
			continue;
		}
		if (!throws)
			return NULL;
		if (_ZSt17__throw_bad_allocv)
			_ZSt17__throw_bad_allocv();
		__builtin_trap(); /* throwing new without a C++ runtime: cannot happen */
	}
}

/* ---------------------------------------------------------------- new */

EXPORT void *_Znwm(size_t n) /* new(size_t) */
{
	return cxx_new(n, 0, GORT_FAMILY_NEW, THROWS);
}
EXPORT void *_Znam(size_t n) /* new[](size_t) */
{
	return cxx_new(n, 0, GORT_FAMILY_NEW_ARRAY, THROWS);
}
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt) /* new(size_t, nothrow_t) */
{
	(void)nt;
	return cxx_new(n, 0, GORT_FAMILY_NEW, NOTHROW);
}
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	(void)nt;
	return cxx_new(n, 0, GORT_FAMILY_NEW_ARRAY, NOTHROW);
}
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) /* new(size_t, align_val_t) */
{
	return cxx_new(n, al, GORT_FAMILY_NEW, THROWS);
}
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
	return cxx_new(n, al, GORT_FAMILY_NEW_ARRAY, THROWS);
}
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
	(void)nt;
	return cxx_new(n, al, GORT_FAMILY_NEW, NOTHROW);
}
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *nt)
{
	(void)nt;
	return cxx_new(n, al, GORT_FAMILY_NEW_ARRAY, NOTHROW);
}

/* ------------------------------------------------------------- delete */
/* The alignment needs no check of its own: an aligned new's object is
 * found and freed like any other. */

EXPORT void _ZdlPv(void *p) /* delete(void *) */
{
	gort_dealloc(p, GORT_FAMILY_NEW, 0, "delete");
}
EXPORT void _ZdaPv(void *p) /* delete[](void *) */
{
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, 0, "delete[]");
}
EXPORT void _ZdlPvm(void *p, size_t n) /* delete(void *, size_t) */
{
	gort_dealloc(p, GORT_FAMILY_NEW, n, "sized delete");
}
EXPORT void _ZdaPvm(void *p, size_t n)
{
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, n, "sized delete[]");
}
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	gort_dealloc(p, GORT_FAMILY_NEW, 0, "delete");
}
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, 0, "delete[]");
}
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al)
{
	(void)al;
	gort_dealloc(p, GORT_FAMILY_NEW, 0, "delete");
}
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{
	(void)al;
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, 0, "delete[]");
}
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	(void)al;
	gort_dealloc(p, GORT_FAMILY_NEW, n, "sized delete");
}
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	(void)al;
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, n, "sized delete[]");
}
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	(void)al, (void)nt;
	gort_dealloc(p, GORT_FAMILY_NEW, 0, "delete");
}
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	(void)al, (void)nt;
	gort_dealloc(p, GORT_FAMILY_NEW_ARRAY, 0, "delete[]");
}
