/*
 * guard.c — guard pages: ranges that fault on any access.
 *
 * Owns the choice of mechanism. MADV_GUARD_INSTALL (Linux 6.13+) marks the
 * pages in the page tables only: no new VMA, so a guard per stack, per span
 * or per freed large object costs nothing against vm.max_map_count (65530).
 * Elsewhere (older kernels, Valgrind, qemu-user) mprotect(PROT_NONE) does the
 * same job but splits the mapping, so each guard may cost up to two VMAs.
 *
 * Invariants: installing a guard drops the pages' contents; once removed,
 * the pages read as zero. Nothing here allocates.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux 6.13 uapi; Debian 12's headers predate it. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

static int guard_probe; /* 0 not probed, 1 guard regions work, 2 they do not */

/* Whether the kernel refuses to read the page at p: write(2) from a guard
 * page fails with EFAULT. Catches emulators that answer 0 to any madvise
 * and do nothing (qemu-user does). If no pipe can be made, trust madvise. */
static bool page_faults(void *p)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return true;
	ssize_t n = write(fds[1], p, 1);
	int e = errno;
	close(fds[0]);
	close(fds[1]);
	return n < 0 && e == EFAULT;
}

/* Tries MADV_GUARD_INSTALL once on a scratch page: kernels before 6.13
 * answer EINVAL, and so do tools (Valgrind) that do not know the advice. */
int gort_os_guard_regions_supported(void)
{
	int v = __atomic_load_n(&guard_probe, __ATOMIC_ACQUIRE);
	if (v == 0) {
		size_t page = gort_os_page_size();
		void *p = gort_os_map(page);
		v = 2;
		if (p) {
			int saved = errno;
			if (madvise(p, page, MADV_GUARD_INSTALL) == 0 && page_faults(p))
				v = 1;
			errno = saved;
			gort_os_unmap(p, page);
		}
		__atomic_store_n(&guard_probe, v, __ATOMIC_RELEASE);
	}
	return v == 1;
}

int gort_os_guard(void *p, size_t n)
{
	if (gort_os_guard_regions_supported())
		return madvise(p, n, MADV_GUARD_INSTALL);
	return gort_os_decommit(p, n);
}

int gort_os_unguard(void *p, size_t n)
{
	if (gort_os_guard_regions_supported())
		return madvise(p, n, MADV_GUARD_REMOVE);
	return gort_os_commit(p, n);
}
