/*
 * os.h — the operating-system layer: virtual memory, time, raw output.
 *
 * The only layer that talks to the kernel. Everything above asks it for
 * address space (reserve), for memory in that space (commit), gives memory
 * back (release), and reads the clock. Nothing here allocates from the heap,
 * so the allocator may call it from any path, including error paths.
 */
#ifndef GORT_OS_H
#define GORT_OS_H

#include <stddef.h>
#include <stdint.h>

#define OS_HIDDEN __attribute__((visibility("hidden")))

/* Reserve `bytes` of address space, PROT_NONE. Tries `hint` first without
 * replacing anything mapped there; falls back to anywhere. *at_hint tells
 * which. NULL on failure (errno set). */
OS_HIDDEN void *gort_os_reserve(size_t bytes, uintptr_t hint, int *at_hint);

/* Make [p, p+n) readable and writable; p and n multiples of the OS page. */
OS_HIDDEN int gort_os_commit(void *p, size_t n);

/* Return the memory of [p, p+n) to the OS; it stays mapped and reads as zero. */
OS_HIDDEN int gort_os_release(void *p, size_t n);

/* Make [p, p+n) inaccessible, keeping its memory (gort_os_commit makes it
 * readable again with its contents). Splits the mapping. */
OS_HIDDEN int gort_os_protect_none(void *p, size_t n);

/* Make [p, p+n) read-only. */
OS_HIDDEN int gort_os_protect_read(void *p, size_t n);

/* Make [p, p+n) inaccessible again (and drop its memory). */
OS_HIDDEN int gort_os_decommit(void *p, size_t n);

/* Guard pages (guard.c): [p, p+n) faults on any access until unguarded,
 * then reads as zero. Page-aligned. 0, or -1 with errno. */
OS_HIDDEN int gort_os_guard(void *p, size_t n);
OS_HIDDEN int gort_os_unguard(void *p, size_t n);
/* Whether guards are page-table marks (MADV_GUARD_INSTALL) rather than
 * mprotect'ed ranges that split the mapping. */
OS_HIDDEN int gort_os_guard_regions_supported(void);

/* A fresh private read-write mapping (for metadata), NULL on failure. */
OS_HIDDEN void *gort_os_map(size_t n);
OS_HIDDEN void gort_os_unmap(void *p, size_t n);

/* Size of an OS page. */
OS_HIDDEN size_t gort_os_page_size(void);

/* Monotonic nanoseconds. */
OS_HIDDEN uint64_t gort_os_nanotime(void);

/* write(2) all of buf to fd, retrying on EINTR; no allocation. */
OS_HIDDEN void gort_os_write_all(int fd, const char *buf, size_t n);

/* 8 bytes from the OS's random source; 0 if it has none to give. */
OS_HIDDEN uint64_t gort_os_random64(void);

/* Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown. */
OS_HIDDEN size_t gort_os_rss(void);

#endif /* GORT_OS_H */
