/*
 * vmem.c — virtual memory: reserve, commit, release, map.
 *
 * Owns every mmap/mprotect/madvise the runtime makes. Invariants: reserved
 * ranges start PROT_NONE and MAP_NORESERVE, so reserving 64 GiB costs no
 * memory; commit only changes protection; release keeps the mapping (the
 * range stays ours, so no other mmap can land in the arena) and drops the
 * pages, which read back as zero.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static void *map_anywhere(size_t bytes, int prot)
{
	void *p = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *gort_os_reserve(size_t bytes, uintptr_t hint, int *at_hint)
{
	*at_hint = 0;
	if (hint) {
		int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE;
		void *p = mmap((void *)hint, bytes, PROT_NONE, flags, -1, 0);
		if (p != MAP_FAILED && (uintptr_t)p == hint) {
			*at_hint = 1;
			return p;
		}
		/* Old kernels ignore MAP_FIXED_NOREPLACE and treat hint as a hint. */
		if (p != MAP_FAILED)
			munmap(p, bytes);
	}
	return map_anywhere(bytes, PROT_NONE);
}

int gort_os_commit(void *p, size_t n)
{
	return mprotect(p, n, PROT_READ | PROT_WRITE);
}

int gort_os_protect_none(void *p, size_t n)
{
	return mprotect(p, n, PROT_NONE);
}

int gort_os_protect_read(void *p, size_t n)
{
	return mprotect(p, n, PROT_READ);
}

int gort_os_release(void *p, size_t n)
{
	return madvise(p, n, MADV_DONTNEED);
}

int gort_os_decommit(void *p, size_t n)
{
	if (madvise(p, n, MADV_DONTNEED) != 0)
		return -1;
	return mprotect(p, n, PROT_NONE);
}

void *gort_os_map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void gort_os_unmap(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

size_t gort_os_page_size(void)
{
	static size_t cached;
	size_t n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (!n) {
		long v = sysconf(_SC_PAGESIZE);
		n = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	}
	return n;
}
