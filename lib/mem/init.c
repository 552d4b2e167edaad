/*
 * init.c — bringing the allocator up and down: the reservation, the locks,
 * thread-exit flushing, and fork safety.
 *
 * The allocator starts on the first call that needs it (lazy init, with the
 * defaults and the scavenger on) or on gort_init(). It never calls anything
 * that may allocate while it holds its init lock, so it is safe as the
 * process's malloc from the dynamic loader's first call on.
 *
 * The lock order, for every path that holds more than one allocator lock:
 *
 *     init lock -> scavenger pass -> caches registry -> mcentral (ascending
 *     class) -> mheap
 *
 * (fixalloc, the arenas and the large quarantine live under the heap lock.)
 * gort_mem_lock_all takes all but the init lock in that order, for whatever
 * must see the whole allocator at rest: gort_check, the inspection
 * snapshots, and fork.
 *
 * Fork: pthread_atfork takes the init lock and every allocator lock before
 * fork() and releases them in both processes after, so the child never
 * inherits a lock held by a thread that does not exist there, nor a
 * scavenger pass's runs out of their buckets.
 *
 * Invariants: state moves 0 -> 2 under init_lock and back to 0 only in
 * gort_mem_shutdown; gen changes at every init, which invalidates every
 * thread's cached cache pointer.
 */
#include "mem/mem.h"

#include <stdlib.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

mem_runtime_t gort_mem;

static gort_lock_t init_lock = GORT_LOCK_INIT;
static pthread_key_t cache_key;
static int key_made, atfork_done;
static int fork_locked;

/* The thread's cache is unhooked before it is flushed: anything the flush
 * reports may run a handler that allocates, which must not land in a cache
 * being parked. */
static void thread_exit(void *arg)
{
	cache_t *c = arg;
	bool mine = c && gort_tls_cache == c && gort_tls_gen == ld(&gort_mem.gen) &&
		    ld_acq(&gort_mem.state) == 2;
	gort_tls_cache = NULL;
	if (mine)
		gort_cache_retire(c);
}

void gort_mem_lock_all(void)
{
	gort_scavenge_lock();
	gort_lock(&gort_mem.caches_lock);
	for (unsigned sc = 0; sc < NUM_SPAN_CLASSES; sc++)
		gort_lock(&gort_mem.central[sc].lock);
	gort_lock(&gort_mem.heap.lock);
}

void gort_mem_unlock_all(void)
{
	gort_unlock(&gort_mem.heap.lock);
	for (unsigned sc = NUM_SPAN_CLASSES; sc-- > 0;)
		gort_unlock(&gort_mem.central[sc].lock);
	gort_unlock(&gort_mem.caches_lock);
	gort_scavenge_unlock();
}

static void fork_prepare(void)
{
	gort_lock(&init_lock);
	fork_locked = ld(&gort_mem.state) == 2;
	if (fork_locked)
		gort_mem_lock_all();
}

static void fork_release(void)
{
	if (fork_locked)
		gort_mem_unlock_all();
	gort_unlock(&init_lock);
}

/* GORT_HEAP_LIMIT: a byte count with an optional K, M, G or T suffix (powers
 * of 1024); 0, garbage or absence mean no limit. */
static size_t env_heap_limit(void)
{
	const char *v = getenv("GORT_HEAP_LIMIT");
	if (!v || *v < '0' || *v > '9')
		return 0;
	size_t n = 0;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (n > (SIZE_MAX - 9) / 10)
			return 0;
		n = n * 10 + (size_t)(*v - '0');
	}
	static const char units[] = "KMGT";
	const char *u = *v ? strchr(units, *v == 'k' ? 'K' : *v) : NULL;
	if (*v && (!u || (v[1] && !(v[1] == 'B' || v[1] == 'b'))))
		return 0;
	unsigned shift = u ? 10 * (unsigned)(u - units + 1) : 0;
	return n > (SIZE_MAX >> shift) ? 0 : n << shift;
}

/* Random heap bases span [16 TiB, 96 TiB): clear of the low mappings and of
 * the stacks and libraries the kernel puts near the top of 47 bits. */
#define RANDOM_HINT_LO ((uintptr_t)1 << 44)
#define RANDOM_HINT_SPAN ((uintptr_t)5 << 44)

/* Where the heap starts. Go's fixed hint where runs must repeat (step mode:
 * the shell, the tests, the fuzzers), in light (Go's layout, nothing
 * hardened), and whenever GORT_FIXED_ADDRESS=1; a random arena-aligned
 * address for the hardened presets in threaded mode (the drop-in), so the
 * heap is not where an attacker knows it is. */
static uintptr_t arena_hint(const gort_config *cfg)
{
	const char *fixed = getenv("GORT_FIXED_ADDRESS");
	if (!cfg->threaded || gort_hard->preset < GORT_HARDEN_DEFAULT ||
	    (fixed && strcmp(fixed, "1") == 0))
		return ARENA_HINT;
	uint64_t r = gort_os_random64();
	if (!r)
		return ARENA_HINT;
	return RANDOM_HINT_LO + ((uintptr_t)r % RANDOM_HINT_SPAN & ~(uintptr_t)(ARENA_BYTES - 1));
}

static int do_init(const gort_config *cfg)
{
	/* state and gen are read without the lock: never memset them. */
	size_t keep = offsetof(mem_runtime_t, arena);
	memset((char *)&gort_mem + keep, 0, sizeof gort_mem - keep);
	st(&gort_mem.gen, ld(&gort_mem.gen) + 1);
	gort_mem.threaded = cfg->threaded;
	gort_bitmap_cpu_init();
	if (gort_harden_init(cfg) != 0)
		return -1;
	size_t limit = cfg->arena_bytes ? cfg->arena_bytes : env_heap_limit();
	if (gort_arena_init(&gort_mem.arena, limit, arena_hint(cfg)) != 0) {
		gort_harden_shutdown();
		return -1;
	}
	gort_quarantine_init();
	gort_zero_init(cfg->threaded && gort_hard->preset >= GORT_HARDEN_DEFAULT);
	gort_heap_init(gort_mem.threaded);
	gort_central_init();
	gort_lock_init(&gort_mem.caches_lock);
	gort_fixalloc_init(&gort_mem.cachealloc, sizeof(cache_t));
	if (!key_made && pthread_key_create(&cache_key, thread_exit) == 0)
		key_made = 1;
	gort_mem.cache_key = cache_key;
	gort_mem.key_made = key_made;
	st_rel(&gort_mem.state, 2);
	return 0;
}

/* Registered after the state is ready: pthread_atfork may call malloc. */
static void register_atfork(void)
{
	if (__atomic_exchange_n(&atfork_done, 1, __ATOMIC_ACQ_REL) == 0)
		pthread_atfork(fork_prepare, fork_release, fork_release);
}

int gort_mem_init(const gort_config *cfg)
{
	static const gort_config defaults; /* step mode, default sizes */
	if (!cfg)
		cfg = &defaults;
	gort_lock(&init_lock);
	if (ld(&gort_mem.state) == 2) {
		gort_unlock(&init_lock);
		errno = EBUSY;
		return -1;
	}
	int rc = do_init(cfg);
	gort_unlock(&init_lock);
	if (rc == 0)
		register_atfork();
	return rc;
}

int gort_mem_ensure_init(void)
{
	if (likely(ld_acq(&gort_mem.state) == 2))
		return 0;
	gort_lock(&init_lock);
	/* Used as a plain allocator: threaded, with the scavenger on. */
	static const gort_config lazy = {.threaded = 1};
	int rc = ld(&gort_mem.state) == 2 ? 0 : do_init(&lazy);
	gort_unlock(&init_lock);
	if (rc == 0)
		register_atfork();
	return rc;
}

void gort_mem_shutdown(void)
{
	gort_lock(&init_lock);
	if (ld(&gort_mem.state) != 2) {
		gort_unlock(&init_lock);
		return;
	}
	gort_scavenger_stop(); /* it walks the heap: gone before the heap is */
	st(&gort_mem.state, 0);
	gort_tls_cache = NULL;
	gort_quarantine_shutdown();
	gort_zero_shutdown();
	gort_fixalloc_destroy(&gort_mem.cachealloc);
	gort_heap_destroy();
	gort_arena_destroy(&gort_mem.arena);
	gort_harden_shutdown();
	gort_mem.all_caches = gort_mem.idle_caches = NULL;
	gort_mem.ncaches = 0;
	/* A new generation: every thread's cached cache pointer is now stale. */
	st(&gort_mem.gen, gort_mem.gen + 1);
	gort_unlock(&init_lock);
}
