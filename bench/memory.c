/*
 * memory.c — the allocator workloads of `make bench` that measure memory
 * rather than speed, one per run: what an allocator gives back to the
 * system after everything is freed, what a fragmented heap costs a large
 * allocation, how much untouched memory it lets a program hold, and whether
 * it starts, and fails cleanly, under an address-space limit.
 *
 * Calls plain malloc/free, so the allocator under test is chosen with
 * LD_PRELOAD (none: the C library's). The program's own bookkeeping, the
 * arrays of pointers, is mapped with mmap outside the heap under test, and
 * /proc/self/statm is read with read(2), so neither adds to what is measured.
 *
 * Usage: memory WORKLOAD [options]   (sizes take a K, M or G suffix)
 *
 *   rss-after-free [-B BYTES] [-p SECONDS,...]
 *       allocate BYTES (default 1200M), a third each in 16-256 B, 20 KiB and
 *       2 MiB objects, interleaved; write every page of them; free them all;
 *       then sleep and read the resident set at each point after the last
 *       free (default 0,1,2,5 seconds)
 *   fragmentation [-n SMALL] [-m LARGE]
 *       allocate SMALL (default 4,000,000) 64-byte objects, free every other
 *       one, then time LARGE (default 1,024) mallocs of 1 MiB, writing one
 *       byte of each
 *   untouched [-n COUNT] [-s SIZE]
 *       malloc(SIZE) (default 1G) up to COUNT (default 200) times until one
 *       fails, never touching the memory; then free them all
 *   address-limit [-A KIB] [-s STEP]
 *       start this program again with RLIMIT_AS at KIB (default 4,000,000,
 *       as `ulimit -v 4000000`) set before exec, so the preloaded allocator
 *       initialises under the limit; there malloc STEP (default 64M) at a
 *       time, untouched, until malloc returns NULL
 *
 * Output, one line:
 *   memory workload=rss-after-free bytes=B objects=N rss_kb_start=S
 *          rss_kb_live=L at_s=0,1,2,5 rss_kb=R0,R1,R2,R5
 *   memory workload=fragmentation small=N large=M small_ms=X large_ms=Y
 *          peak_rss_kb=P
 *   memory workload=untouched size=S tried=N ok=K errno=E rss_kb=R ms=T
 *   memory workload=address-limit limit_kb=L step=S started=0|1 small_ok=0|1
 *          got_mib=M errno=E enomem=0|1 exit=X
 * Resident sizes are /proc/self/statm's, in KiB; rss_kb_live is read with
 * everything allocated and written. untouched stops early (capped=1) if the
 * resident set grows by more than 2 GiB, which only an allocator writing the
 * memory it hands out would do. For address-limit, started=0 means the
 * program died before main, small_ok=1 that a first malloc(64) there
 * worked; exit is the second run's exit status, or sigN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)
#define PAGE 4096
#define MAX_POINTS 16
#define MAX_STEPS 4096 /* address-limit: 256 GiB in 64 MiB steps */

typedef struct {
	const char *prog;
	unsigned long long bytes, count, large, size, limit_kb, report_fd;
	double points[MAX_POINTS];
	int npoints;
} opts_t;

/* ---------------------------------------------------------------- tools */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t};
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The resident set in KiB, without calling malloc (stdio would). */
static long rss_kb(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	long pages;
	if (sscanf(buf, "%*s %ld", &pages) != 1)
		return -1;
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Bookkeeping outside the heap under test; untouched pages cost nothing. */
static void **table(size_t count)
{
	void *p = mmap(NULL, count * sizeof(void *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void table_free(void **t, size_t count)
{
	munmap(t, count * sizeof(void *));
}

/* The compiler may drop a malloc whose block is never used, or assume it
 * succeeded; this makes every block escape. */
static void keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Write one byte in every page of the block, and its last byte. */
static void touch(char *p, size_t n, char v)
{
	for (size_t off = 0; off < n; off += PAGE)
		p[off] = v;
	p[n - 1] = v;
}

/* ------------------------------------------------------- rss-after-free */

/* The next object: whichever kind has the fewest bytes so far, so the
 * three kinds interleave and end up a third of the bytes each. */
static size_t next_size(const size_t have[3], uint64_t *rng)
{
	int k = have[0] <= have[1] && have[0] <= have[2] ? 0 : have[1] <= have[2] ? 1 : 2;
	return k == 0 ? 16 + (size_t)(splitmix64(rng) % 241) : k == 1 ? 20 * KIB : 2 * MIB;
}

static int kind_of(size_t n)
{
	return n == 2 * MIB ? 2 : n == 20 * KIB ? 1 : 0;
}

static int case_rss_after_free(const opts_t *o)
{
	size_t cap = (size_t)o->bytes / 16 + 3, count = 0, have[3] = {0, 0, 0};
	void **t = table(cap);
	uint64_t rng = 1;
	long start = rss_kb();
	if (!t)
		return -1;
	for (size_t total = 0; total < o->bytes && count < cap; count++) {
		size_t n = next_size(have, &rng);
		char *p = malloc(n);
		if (!p)
			return -1;
		touch(p, n, (char)count);
		t[count] = p;
		have[kind_of(n)] += n;
		total += n;
	}
	long live = rss_kb();
	for (size_t i = 0; i < count; i++)
		free(t[i]);
	double last_free = now_s();
	table_free(t, cap);
	long at[MAX_POINTS];
	for (int i = 0; i < o->npoints; i++) {
		sleep_until(last_free + o->points[i]);
		at[i] = rss_kb();
	}
	printf("memory workload=rss-after-free bytes=%llu objects=%zu rss_kb_start=%ld "
	       "rss_kb_live=%ld at_s=",
	       o->bytes, count, start, live);
	for (int i = 0; i < o->npoints; i++)
		printf("%s%g", i ? "," : "", o->points[i]);
	printf(" rss_kb=");
	for (int i = 0; i < o->npoints; i++)
		printf("%s%ld", i ? "," : "", at[i]);
	printf("\n");
	return 0;
}

/* -------------------------------------------------------- fragmentation */

static int case_fragmentation(const opts_t *o)
{
	size_t n = (size_t)o->count, m = (size_t)o->large;
	void **small = table(n), **large = table(m);
	if (!small || !large)
		return -1;
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		char *p = small[i] = malloc(64);
		if (!p)
			return -1;
		memset(p, (int)i, 64);
	}
	for (size_t i = 1; i < n; i += 2)
		free(small[i]);
	double t1 = now_s();
	for (size_t i = 0; i < m; i++) {
		char *p = large[i] = malloc(MIB);
		if (!p)
			return -1;
		p[0] = (char)i;
	}
	double t2 = now_s();
	long peak = rss_kb();
	for (size_t i = 0; i < m; i++)
		free(large[i]);
	for (size_t i = 0; i < n; i += 2)
		free(small[i]);
	table_free(small, n);
	table_free(large, m);
	printf("memory workload=fragmentation small=%zu large=%zu small_ms=%.2f large_ms=%.2f "
	       "peak_rss_kb=%ld\n",
	       n, m, (t1 - t0) * 1e3, (t2 - t1) * 1e3, peak);
	return 0;
}

/* ------------------------------------------------------------ untouched */

static int case_untouched(const opts_t *o)
{
	size_t n = (size_t)o->count, ok = 0;
	void **t = table(n);
	long start = rss_kb(), now = start;
	int err = 0, capped = 0;
	if (!t)
		return -1;
	double t0 = now_s();
	for (; ok < n; ok++) {
		errno = 0;
		void *p = malloc((size_t)o->size);
		keep(p);
		if (!p) {
			err = errno;
			break;
		}
		t[ok] = p;
		now = rss_kb();
		if (now - start > (long)(2 * GIB / KIB)) {
			capped = 1;
			ok++; /* this one is kept, and freed below */
			break;
		}
	}
	double t1 = now_s();
	for (size_t i = 0; i < ok; i++)
		free(t[i]);
	table_free(t, n);
	printf("memory workload=untouched size=%llu tried=%zu ok=%zu errno=%d rss_kb=%ld ms=%.2f%s\n",
	       o->size, n, ok, err, now, (t1 - t0) * 1e3, capped ? " capped=1" : "");
	return 0;
}

/* -------------------------------------------------------- address-limit */

/*
 * The second run, under the limit: it reports to the pipe FD as it goes,
 * "S" on reaching main, "s" if a first malloc of 64 bytes works, "+" for
 * every block it gets, "E<errno>" at the end, so the first run knows how
 * far it came even if it dies.
 */
static int address_limit_child(const opts_t *o)
{
	static void *got[MAX_STEPS];
	int fd = (int)o->report_fd, n = 0, err = 0;
	char end[32];
	if (write(fd, "S", 1) != 1)
		return 1;
	void *small = malloc(64);
	keep(small);
	if (small && write(fd, "s", 1) != 1)
		return 1;
	free(small);
	for (; n < MAX_STEPS; n++) {
		errno = 0;
		void *p = malloc((size_t)o->size);
		keep(p);
		if (!p) {
			err = errno;
			break;
		}
		got[n] = p;
		if (write(fd, "+", 1) != 1)
			return 1;
	}
	int len = snprintf(end, sizeof end, "E%d", err);
	if (write(fd, end, (size_t)len) != len)
		return 1;
	for (int i = 0; i < n; i++)
		free(got[i]);
	return 0;
}

static void address_limit_exec(const opts_t *o, int fd)
{
	struct rlimit rl = {.rlim_cur = o->limit_kb * 1024, .rlim_max = o->limit_kb * 1024};
	char fdarg[24], step[24];
	snprintf(fdarg, sizeof fdarg, "%d", fd);
	snprintf(step, sizeof step, "%llu", o->size);
	char *args[] = {(char *)o->prog, "address-limit", "-F", fdarg, "-s", step, NULL};
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("memory: setrlimit");
		_exit(126);
	}
	execv("/proc/self/exe", args);
	perror("memory: execv");
	_exit(127);
}

/* Everything the second run wrote to the pipe, up to the buffer's size. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	buf[len] = '\0';
	return len;
}

static int case_address_limit(const opts_t *o)
{
	static char buf[MAX_STEPS + 64];
	int fds[2], status;
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		address_limit_exec(o, fds[1]);
	}
	close(fds[1]);
	read_all(fds[0], buf, sizeof buf);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	size_t got = 0;
	for (const char *c = buf; *c; c++)
		got += *c == '+';
	const char *e = strchr(buf, 'E');
	int err = e ? atoi(e + 1) : -1;
	char exit_s[16];
	if (WIFSIGNALED(status))
		snprintf(exit_s, sizeof exit_s, "sig%d", WTERMSIG(status));
	else
		snprintf(exit_s, sizeof exit_s, "%d", WEXITSTATUS(status));
	printf("memory workload=address-limit limit_kb=%llu step=%llu started=%d small_ok=%d "
	       "got_mib=%zu errno=%d enomem=%d exit=%s\n",
	       o->limit_kb, o->size, buf[0] == 'S', strchr(buf, 's') != NULL,
	       got * (size_t)(o->size / MIB), err, err == ENOMEM, exit_s);
	return 0;
}

static int case_address_limit_or_child(const opts_t *o)
{
	return o->report_fd ? address_limit_child(o) : case_address_limit(o);
}

/* ----------------------------------------------------------------- main */

static const struct {
	const char *name;
	int (*fn)(const opts_t *o);
	const char *flags; /* the options it takes */
} cases[] = {
	{"rss-after-free", case_rss_after_free, "B:p:"},
	{"fragmentation", case_fragmentation, "n:m:"},
	{"untouched", case_untouched, "n:s:"},
	{"address-limit", case_address_limit_or_child, "A:s:F:"},
};

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': v <<= 10, end++; break;
	case 'M': v <<= 20, end++; break;
	case 'G': v <<= 30, end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* "0,1,2,5": seconds after the last free, in increasing order. */
static int parse_points(const char *s, opts_t *o)
{
	o->npoints = 0;
	for (;;) {
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (errno || end == s || v < 0 || o->npoints == MAX_POINTS ||
		    (o->npoints > 0 && v < o->points[o->npoints - 1]))
			return -1;
		o->points[o->npoints++] = v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static int parse_opt(int opt, const char *arg, opts_t *o)
{
	switch (opt) {
	case 'B': return parse_ull(arg, &o->bytes);
	case 'p': return parse_points(arg, o);
	case 'n': return parse_ull(arg, &o->count);
	case 'm': return parse_ull(arg, &o->large);
	case 's': return parse_ull(arg, &o->size);
	case 'A': return parse_ull(arg, &o->limit_kb);
	case 'F': return parse_ull(arg, &o->report_fd);
	}
	return -1;
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s rss-after-free [-B BYTES] [-p SECONDS,...]\n"
		"       %s fragmentation [-n SMALL] [-m LARGE]\n"
		"       %s untouched [-n COUNT] [-s SIZE]\n"
		"       %s address-limit [-A KIB] [-s STEP]\n",
		prog, prog, prog, prog);
	return 2;
}

/* Defaults differ by workload: -n is 4,000,000 objects for fragmentation
 * but 200 tries for untouched, -s 1 GiB for untouched but 64 MiB steps for
 * address-limit. */
static void defaults(opts_t *o, const char *name)
{
	int untouched = strcmp(name, "untouched") == 0;
	*o = (opts_t){.bytes = 1200 * MIB,
		      .count = untouched ? 200 : 4000000,
		      .large = 1024,
		      .size = untouched ? GIB : 64 * MIB,
		      .limit_kb = 4000000,
		      .points = {0, 1, 2, 5},
		      .npoints = 4};
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(argv[0]);
	int c = -1;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strcmp(argv[1], cases[i].name) == 0)
			c = (int)i;
	if (c < 0)
		return usage(argv[0]);
	opts_t o;
	defaults(&o, cases[c].name);
	o.prog = argv[0];
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, cases[c].flags)) != -1)
		if (opt == '?' || parse_opt(opt, optarg, &o) != 0)
			return usage(argv[0]);
	if (optind != argc || o.bytes == 0 || o.count == 0 || o.large == 0 || o.size == 0 ||
	    o.limit_kb == 0 || o.report_fd > 1024)
		return usage(argv[0]);
	if (cases[c].fn(&o) != 0) {
		fprintf(stderr, "memory: %s: %s\n", cases[c].name,
			errno ? strerror(errno) : "failed");
		return 1;
	}
	return 0;
}
