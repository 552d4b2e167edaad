/*
 * clock.c — time and raw process facts: the monotonic clock, RSS, and the
 * write(2) loop the error reporter uses, the OS's random bytes. Nothing here
 * allocates.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t gort_os_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gort_os_write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* /proc/self/statm: "size resident shared ..." in pages. Parsed by hand so
 * that reading RSS never allocates. */
size_t gort_os_rss(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *s = buf;
	while (*s && *s != ' ')
		s++;
	size_t pages = 0;
	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9')
		pages = pages * 10 + (size_t)(*s++ - '0');
	return pages * gort_os_page_size();
}

uint64_t gort_os_random64(void)
{
	uint64_t v = 0;
	int saved = errno;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = 0;
	errno = saved;
	return v;
}
