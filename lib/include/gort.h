/*
 * gort.h — the public API of gort: Go's allocator and scheduler as a C library.
 *
 * Everything a program needs lives here: configuration, the malloc family,
 * statistics, the error reporter, goroutines, and what goroutines wait on:
 * channels, select, mutexes, wait groups and sleep.
 * Read-only views of the internals for tools are in gort_inspect.h.
 *
 * Contract, in the manner of Lua's API boundary:
 *  - Every function may be called before gort_init(): the first call
 *    initialises the runtime with the defaults (lazy init).
 *  - Out of memory and impossible sizes are not errors: NULL with errno ENOMEM.
 *  - Misuse (double free, invalid or interior pointer, ...) goes through one
 *    reporter. By default it writes `gort: <kind>: <address> (<detail>)` to
 *    stderr with write(2) and aborts; gort_set_error_handler() replaces it.
 *    When a handler returns, the call that detected the misuse returns with
 *    the heap unchanged (free does nothing, realloc returns NULL, ...).
 */
#ifndef GORT_H
#define GORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GORT_API
#define GORT_API __attribute__((visibility("default")))
#endif

#define GORT_VERSION_MAJOR 0
#define GORT_VERSION_MINOR 1
#define GORT_VERSION_PATCH 0
#define GORT_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- config */

/* Hardening presets (docs/hardening.md has what each one catches and costs). */
typedef enum gort_harden {
	GORT_HARDEN_AUTO = 0,     /* $GORT_HARDEN (light|default|paranoid), else DEFAULT */
	GORT_HARDEN_LIGHT = 1,    /* exact free checks only: Go's layout, the fastest */
	GORT_HARDEN_DEFAULT = 2,  /* + canaries, zero-on-free checked at reuse, quarantine */
	GORT_HARDEN_PARANOID = 3, /* + longer quarantines, guard pages, randomised slots */
} gort_harden;
/* Zero on free, in the default preset: the first GORT_ZERO_CHECK_BYTES of a
 * freed small slot are zeroed at free and must still read zero when the slot
 * is handed out again (a write after free there is reported); the rest of
 * the slot keeps what it held. Paranoid zeroes and checks the whole slot.
 * A freed large object waits in a quarantine too: default makes its pages
 * fault on any access for one large free per 4,096 allocator calls of its
 * thread (its first large free always), and zeroes the first
 * GORT_ZERO_CHECK_BYTES of the others, checked when they leave; paranoid
 * makes every one fault. A bounded prefix (two cache lines) keeps the check
 * O(1) per operation: most writes through a dangling pointer land in an
 * object's first fields. */
#define GORT_ZERO_CHECK_BYTES 128

typedef struct gort_config {
	unsigned procs;       /* number of Ps (GOMAXPROCS); 0 = online CPUs */
	size_t arena_bytes;   /* limit on the heap's committed bytes; 0 = none (or $GORT_HEAP_LIMIT) */
	/* Stack per G: address space reserved, rounded up to whole pages; only
	 * the pages a G touches cost memory (a parked G with a shallow stack
	 * costs one). 0 = 1 MiB (64 KiB in ASan builds). A G that runs off its
	 * bottom is reported as `stack overflow in goroutine N (...)` and the
	 * process ends. */
	size_t stack_bytes;
	uint64_t seed;        /* seed of every scheduling choice; 0 = a fixed default */
	int threaded;         /* 0 = step mode (deterministic, caller's thread); 1 = one OS thread per M */
	int harden;           /* a gort_harden preset */
	/* Quarantine length: freed small objects held per size class and per
	 * cache, and freed large objects held inaccessible. 0 = the preset's
	 * (default 8, paranoid 64; light has none); at most 4096. */
	unsigned quarantine;
} gort_config;

/* Initialise the runtime. NULL = defaults. 0, or -1 with errno (EBUSY if
 * already initialised, ENOMEM if the first arena cannot be reserved, EINVAL for a bad
 * config). gort_init may be called again after gort_shutdown. */
GORT_API int gort_init(const gort_config *cfg);

/* Release everything: the reservation, every span and cache. Pointers handed
 * out before are dangling afterwards; freeing one after a re-init is reported
 * as an invalid free (or, if the address was handed out again, freed). */
GORT_API void gort_shutdown(void);

/* ------------------------------------------------------------ allocation */

enum {
	GORT_NOSCAN = 1u << 0, /* holds no pointers: requests < 16 B use the tiny allocator */
	GORT_ZERO = 1u << 1,   /* return zeroed memory */
};

/* Alignment, in every preset: gort_malloc, gort_calloc, gort_realloc and
 * gort_alloc without GORT_NOSCAN return memory aligned to
 * alignof(max_align_t) (16 on x86-64 and AArch64) for every request of 16
 * bytes or more, and to 8 for requests of 8 to 15 bytes, as the C ABI and
 * every common malloc do. GORT_NOSCAN requests keep Go's rules: 8-byte
 * alignment from 8 bytes up (Go's 24-byte class), and below 16 bytes
 * packed in tiny blocks at their size's natural alignment. Objects larger
 * than 32 KiB start on a page. gort_aligned_alloc takes any power of two. */
#define GORT_MALLOC_ALIGN 16

GORT_API void *gort_malloc(size_t size);
GORT_API void *gort_calloc(size_t count, size_t size);
GORT_API void *gort_realloc(void *p, size_t size);
GORT_API void *gort_aligned_alloc(size_t align, size_t size); /* align: any power of two */
GORT_API void *gort_alloc(size_t size, unsigned flags);
GORT_API void gort_free(void *p);
GORT_API size_t gort_usable_size(const void *p);

/* Go's runtime.MemStats, snake_case. Exact in step mode; in threaded mode each
 * field is exact but the fields are read one after another. */
struct gort_memstats {
	uint64_t alloc;          /* bytes of allocated heap objects (= heap_alloc) */
	uint64_t total_alloc;    /* cumulative bytes allocated */
	uint64_t sys;            /* bytes obtained from the OS (virtual, committed) */
	uint64_t mallocs;        /* cumulative objects allocated */
	uint64_t frees;          /* cumulative objects freed */
	uint64_t heap_alloc;     /* bytes in allocated objects (slots in use x slot size) */
	uint64_t heap_sys;       /* arena bytes committed (in use + idle, released included) */
	uint64_t heap_idle;      /* bytes in free page runs */
	uint64_t heap_inuse;     /* bytes in spans that hold objects */
	uint64_t heap_released;  /* bytes of free runs returned to the OS */
	uint64_t heap_objects;   /* live objects (= mallocs - frees) */
	uint64_t tiny_allocs;    /* objects served by the tiny allocator */
	uint64_t large_allocs;   /* objects > 32 KiB, served by the heap directly */
	uint64_t stack_inuse;    /* bytes of goroutine stacks in use */
	uint64_t stack_sys;      /* bytes of goroutine stacks obtained */
	uint64_t mspan_inuse;    /* bytes of span structures in use */
	uint64_t mspan_sys;      /* bytes of span structures obtained */
	uint64_t mcache_inuse;   /* bytes of mcache structures in use */
	uint64_t mcache_sys;     /* bytes of mcache structures obtained */
	uint64_t gc_sys;         /* bytes of side tables: spans array and bitmap, committed */
	uint64_t other_sys;      /* other metadata */
	uint64_t num_released;   /* times memory was returned to the OS */
	uint64_t quarantine_objects; /* freed objects held back from reuse (counted in heap_objects) */
	uint64_t quarantine_bytes;   /* their slot or span bytes */
	int harden;              /* the preset in force: GORT_HARDEN_LIGHT..PARANOID */
	struct {
		uint32_t size;
		uint64_t mallocs, frees;
	} by_size[68]; /* per size class; [0] is the large objects, size 0 */
};
GORT_API void gort_memstats(struct gort_memstats *out);

/* Return idle memory to the OS now: every free page run is released with
 * madvise(MADV_DONTNEED). Spans emptied by frees (and the calling thread's
 * quarantined small objects) are given back to the heap first. Freed large
 * objects in their quarantine stay there until later large frees push them
 * out (at most 64 MiB of them in default).
 * Returns the number of bytes newly released. */
GORT_API size_t gort_release(void);

/* ---------------------------------------------------------------- errors */

typedef enum gort_error_kind {
	GORT_ERR_DOUBLE_FREE = 1,
	GORT_ERR_INVALID_FREE,     /* never allocated here, foreign pointer, freed span */
	GORT_ERR_INTERIOR_POINTER, /* inside an object, not at its start */
	GORT_ERR_HEAP_OVERFLOW,    /* canary damaged */
	GORT_ERR_USE_AFTER_FREE,   /* write to a freed object seen at reuse; usable_size of one */
	GORT_ERR_HEAP_CORRUPTION,  /* an internal invariant does not hold */
	GORT_ERR_STACK_OVERFLOW,   /* a G hit the guard below its stack; the process then ends */
	GORT_ERR_DEADLOCK,         /* every G is blocked (the detail lists each with its wait reason) */
	GORT_ERR_SEND_ON_CLOSED,   /* gort_chan_send or a select send on a closed channel */
	GORT_ERR_CLOSE_OF_CLOSED,  /* gort_chan_close twice */
	GORT_ERR_CLOSE_OF_NIL,     /* gort_chan_close(NULL) */
	GORT_ERR_UNLOCK_OF_UNLOCKED, /* gort_mutex_unlock of a mutex nobody holds */
	GORT_ERR_WAITGROUP_MISUSE, /* negative counter, Add racing Wait, reuse before Wait returned */
	GORT_ERR_INVALID_POINTER,  /* usable_size of a pointer gort never handed out */
	GORT_ERR_MISMATCHED_FREE,  /* free, delete or delete[] of what another of them allocated */
	GORT_ERR_SIZE_MISMATCH,    /* sized delete with a size the object was not allocated with */
	GORT_ERR_ZERO_SIZE_ACCESS, /* a read or write of a zero-size object (a fault) */
} gort_error_kind;

typedef struct gort_error {
	gort_error_kind kind;
	const char *kind_name; /* "double free", "invalid free", ... */
	uintptr_t address;     /* the pointer the misuse was about, 0 if none */
	const char *op;        /* the call that found it: "free", "realloc", "usable_size",
				  "malloc_usable_size", "delete[]", ... */
	const char *detail;    /* "class 3, span 0xc000002000", never NULL */
	const char *message;   /* "<kind>: <address> (<detail>)", no address when there is
				  none; the default handler prints "gort: <kind> in <op>: ..." */
} gort_error;

typedef void (*gort_error_handler)(const gort_error *err, void *ctx);

/* Replace the reporter (NULL restores the default: write + abort). Returns the
 * previous handler. The handler runs on the thread that found the misuse, with
 * no allocator lock held; it may call gort functions or longjmp out. */
GORT_API gort_error_handler gort_set_error_handler(gort_error_handler h, void *ctx);

/* The preset in force (GORT_HARDEN_LIGHT..PARANOID), and its name. Before
 * the first init: the preset an init with GORT_HARDEN_AUTO would choose. */
GORT_API int gort_harden_preset(void);
GORT_API const char *gort_harden_name(int preset);

/* Number of misuses reported since init (handled or not). */
GORT_API uint64_t gort_error_count(void);

/* ------------------------------------------------------------ goroutines */
/*
 * Step mode (gort_config.threaded = 0, the default): the caller's thread
 * drives the scheduler with gort_step()/gort_run(); every choice comes from
 * a PRNG seeded with gort_config.seed, so the same seed and calls give the
 * same run.
 *
 * Threaded mode (threaded = 1): Go's G-M-P scheduler on OS threads. Ms
 * (pthreads, one per P plus those blocked in syscalls) start when work
 * appears and run Gs in parallel; gort_run() blocks until every G has
 * exited. If Gs remain and all of them are parked while no M runs any G,
 * gort_run reports GORT_ERR_DEADLOCK ("all goroutines are asleep -
 * deadlock!") through the error reporter: the default handler aborts the
 * process, as Go does; only under a handler that returns
 * (gort_set_error_handler) does gort_run return how many are parked.
 * gort_step() fails with EINVAL there. Call gort_shutdown() after gort_run() has returned: it
 * stops and joins every M.
 */
typedef void (*gort_fn)(void *arg);
/* A new runnable G (on the current P's runnext; outside any G, P 0's
 * runnext in step mode, the global queue in threaded mode); its id (> 0),
 * or -1 with errno. */
GORT_API int64_t gort_go(gort_fn fn, void *arg);
/* Step mode: a new runnable G on P p's runnext (the shell's `spawn on pN`).
 * Its id, or -1 with errno (EINVAL for a P that does not exist or in
 * threaded mode, where only a P's owner may touch its queue). */
GORT_API int64_t gort_go_p(unsigned p, gort_fn fn, void *arg);
/* In a G: back to the end of its P's run queue. Outside a G: nothing. */
GORT_API void gort_yield(void);
/* In a G: wait until gort_ready() names it. Outside a G: nothing. */
GORT_API void gort_park(const char *reason);
/* In a G: park it and, once it is off its stack and marked waiting, call
 * unlock(arg) on the scheduler's side (Go's gopark with an unlock
 * function). A waker that finds the G through state guarded by that lock
 * can then gort_ready it: the call never fails and is never lost. unlock
 * runs on another stack, perhaps another thread: it must not block, park
 * or touch the G's stack frame. Outside a G: calls unlock(arg) and
 * returns. NULL unlock: as gort_park. */
GORT_API void gort_park_unlock(const char *reason, void (*unlock)(void *), void *arg);
/* Make a parked G runnable (on the current P's runnext, or on the global
 * queue when called outside any G). 0, or -1 if that G is not parked. In
 * threaded mode a G parked with gort_park is "parked" only once it is off
 * its stack, so a waker racing it may see -1 and must retry; a G parked
 * with gort_park_unlock is parked before its unlock runs, so a waker that
 * saw it under that lock never fails. */
GORT_API int gort_ready(int64_t goid);
/* The running G's id; 0 outside a G. */
GORT_API int64_t gort_self(void);
/* Step mode: one scheduling decision; 1 if a G ran, 0 if none was runnable,
 * -1 with errno (EDEADLK when called from a G, EINVAL in threaded mode). */
GORT_API int gort_step(void);
/* Step mode: one scheduling decision made by P p alone: it looks in its own
 * queues, the global queue, and steals from the others, as in gort_step;
 * if it finds nothing, no other P tries. 1, 0, or -1 with errno (EINVAL
 * for a P that does not exist or in threaded mode, EDEADLK from a G). */
GORT_API int gort_step_p(unsigned p);
/* Step mode: change the number of Ps (Go's GOMAXPROCS). Growing adds Ps
 * with empty queues and their own mcaches; shrinking moves the runnable Gs
 * of the Ps that go to the head of the global queue (runnext first, then
 * each ring in order), their dead Gs to the global free list, and their
 * mcaches' spans back to the centrals. 0, or -1 with errno (EINVAL for
 * 0 or more than 256 Ps, or in threaded mode; EDEADLK from a G). */
GORT_API int gort_set_procs(unsigned n);
/* Step mode: reseed the PRNG behind every scheduling choice (0 = the fixed
 * default). The same seed and calls from here on give the same run. */
GORT_API void gort_reseed(uint64_t seed);
/* Step mode: step until no G can run; returns how many Gs are still
 * parked. Threaded mode: wait until every G has exited or all that remain
 * are parked; then GORT_ERR_DEADLOCK is reported, and the default error
 * handler aborts the process, so gort_run returns the number parked only
 * under a handler that returns. -1 with errno on error (EDEADLK when called
 * from a G in threaded mode). */
GORT_API int gort_run(void);
/* Threaded mode, in a G, around a call that may block (read, sleep, ...),
 * as Go's entersyscall/exitsyscall: enter keeps the P for the call, marked
 * as in a syscall; the monitor thread, which looks every 20 us while busy
 * (every 10 ms at most once idle a while), hands the P to another M when it
 * finds the G in the same call at two looks in a row, so other Gs run
 * meanwhile (a P with no work anywhere is left for up to 10 ms). A short
 * call so costs no thread wake-up; a long one frees its P after 20 us to
 * about 20 ms. exit takes a P back: its own if not handed off, else its old
 * one if idle, else any idle P, else the G waits on the global queue for
 * one. Do not yield or park in between. Nothing in step mode or outside a
 * G. */
GORT_API void gort_syscall_enter(void);
GORT_API void gort_syscall_exit(void);

/* ------------------------------------------------- waiting: channels, sync */
/*
 * Go's channels, select, sync.Mutex, sync.WaitGroup and time.Sleep, with
 * Go's semantics (docs/scheduler.md explains how they are built). In a G a
 * call that must wait parks the G ("chan receive", "chan send", "select",
 * "sync.Mutex.Lock", "sync.WaitGroup.Wait", "sleep": gort_inspect_gs shows
 * the reason) and other Gs run meanwhile.
 *
 * Outside any G they work too. In threaded mode the calling thread blocks
 * until a G or another thread lets it go, as on a condition variable (gort
 * cannot know whether another thread will, so it reports no deadlock
 * there: gort_run does, for the Gs). In step mode the call drives the
 * scheduler (gort_step) until it can go on, so `main` can wait for its Gs
 * as in Go; if no G can run and no timer is pending, that is a deadlock:
 * GORT_ERR_DEADLOCK is reported, and if the handler returns the call gives
 * up (-1 with errno EDEADLK where it returns an int; gort_mutex_lock returns
 * without the lock, gort_wg_wait with the counter unchanged).
 *
 * Misuse goes through the error reporter: send on a closed channel, close
 * of a closed or nil channel, unlock of an unlocked mutex, a negative wait
 * group counter. When the handler returns the call does nothing more.
 */
typedef struct gort_chan gort_chan;

/* A channel of elements of elem_size bytes (0 allowed: signals only) with
 * room for cap of them (0: unbuffered, every send meets a receive). NULL
 * with errno EINVAL (elem_size of 64 KiB or more, as Go) or ENOMEM. */
GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap);
/* Send *elem (elem_size bytes): waits for room or a receiver. 0; -1 with
 * errno EPIPE on a closed channel (reported, even when the close came while
 * waiting). A NULL channel blocks forever ("chan send (nil chan)"). */
GORT_API int gort_chan_send(gort_chan *c, const void *elem);
/* Receive into *elem (may be NULL to drop the value): waits for a value.
 * 1 = a value; 0 = the channel is closed and drained (*elem zeroed). A NULL
 * channel blocks forever ("chan receive (nil chan)"). */
GORT_API int gort_chan_recv(gort_chan *c, void *elem);
/* Never wait: 1 sent, 0 it would have to wait; -1 (EPIPE) closed, reported. */
GORT_API int gort_chan_try_send(gort_chan *c, const void *elem);
/* Never wait: 1 a value, 0 closed and drained (*elem zeroed), -1 it would wait. */
GORT_API int gort_chan_try_recv(gort_chan *c, void *elem);
/* Close: every waiting receiver gets 0 (zeroed), every waiting sender fails
 * as a send on a closed channel; buffered values can still be received. */
GORT_API void gort_chan_close(gort_chan *c);
GORT_API size_t gort_chan_len(gort_chan *c); /* values buffered now */
GORT_API size_t gort_chan_cap(gort_chan *c);
/* Free a channel nobody waits on any more (its values are dropped). */
GORT_API void gort_chan_free(gort_chan *c);

enum { GORT_SEND = 1, GORT_RECV = 2 };
typedef struct gort_select_case {
	gort_chan *chan; /* NULL: the case is never ready (as a nil channel in Go) */
	int dir;         /* GORT_SEND or GORT_RECV */
	void *elem;      /* send: the value; receive: where it goes (may be NULL) */
	bool ok;         /* receive: set to true for a value, false for closed */
} gort_select_case;
/* Go's select: one of the ready cases, chosen uniformly at random (the
 * scheduler's seeded PRNG in step mode), is done and its index returned. If
 * none is ready: with block, wait until one is ("select"; no cases at all
 * waits forever, "select (no cases)"); without, -1 (Go's default). -1 with
 * errno EINVAL for a bad case or n < 0, EPIPE for a send case on a closed
 * channel (reported), EDEADLK as above. */
GORT_API int gort_select(gort_select_case *cases, int n, bool block);

/* Go's sync.Mutex: FIFO waiters, a woken waiter competes with newcomers,
 * and past 1 ms of waiting the mutex hands itself to the first waiter
 * (starvation mode). Not recursive; any G or thread may unlock it. */
typedef struct gort_mutex {
	int32_t state;
	uint32_t sema;
} gort_mutex;
#define GORT_MUTEX_INIT {0, 0}
GORT_API void gort_mutex_lock(gort_mutex *m);
GORT_API int gort_mutex_trylock(gort_mutex *m); /* 1 locked, 0 not */
GORT_API void gort_mutex_unlock(gort_mutex *m);

/* Go's sync.WaitGroup; zero-initialised is ready to use. */
typedef struct gort_waitgroup {
	uint64_t state; /* counter << 32 | waiters */
	uint32_t sema;
} gort_waitgroup;
GORT_API void gort_wg_add(gort_waitgroup *wg, long delta);
GORT_API void gort_wg_done(gort_waitgroup *wg);
GORT_API void gort_wg_wait(gort_waitgroup *wg);

/* In a G: park until ns nanoseconds have passed ("sleep"); ns <= 0 returns
 * at once. Step mode's clock is virtual: when every G waits and a timer is
 * pending, time jumps to it, so a run is as repeatable as without sleeps.
 * Outside a G: nanosleep. */
GORT_API void gort_sleep(int64_t ns);
/* Nanoseconds since init on the scheduler's clock: virtual in step mode,
 * CLOCK_MONOTONIC in threaded mode. */
GORT_API int64_t gort_now(void);

/* ------------------------------------------------------------ file descriptors */
/*
 * Gs that do I/O without holding up their M (Go's netpoller, on epoll). In
 * a G each call puts the fd in non-blocking mode, makes the system call, and
 * on EAGAIN parks the G ("IO wait") until the fd is ready; other Gs run
 * meanwhile. Outside any G they block the calling thread as the plain calls
 * would. Step mode polls the fds without waiting when no G can run, so a
 * step-mode program does not stall its other Gs on I/O either.
 *
 * Close an fd that Gs have waited on with gort_close: it wakes its waiters
 * (-1, EBADF) and forgets the fd's registration before close(2). An fd
 * closed with plain close and reused is registered again on its next wait.
 */
enum { GORT_READ = 1, GORT_WRITE = 2 };
/* Waits until fd is ready for what events asks (GORT_READ, GORT_WRITE, or
 * both; a hang-up or error counts as ready), or timeout_ns passes (< 0:
 * no limit). 1 ready, 0 timed out, -1 with errno (EBADF: gort_close'd
 * meanwhile; EBUSY: another G already waits on fd in that direction). */
GORT_API int gort_wait_fd(int fd, int events, int64_t timeout_ns);
/* read(2) that parks on EAGAIN: as read. */
GORT_API ssize_t gort_read(int fd, void *buf, size_t n);
/* write(2) of all n bytes, parking on EAGAIN: n, or fewer (the count so far)
 * or -1 on an error, with errno. */
GORT_API ssize_t gort_write(int fd, const void *buf, size_t n);
/* accept4(2), the new fd non-blocking and close-on-exec, parking on EAGAIN. */
GORT_API int gort_accept(int fd, struct sockaddr *sa, socklen_t *len);
/* connect(2), parking until the connection is made or fails (errno). */
GORT_API int gort_connect(int fd, const struct sockaddr *sa, socklen_t len);
/* Wakes the fd's waiters (-1, EBADF), drops its registration, close(2). */
GORT_API int gort_close(int fd);

#ifdef __cplusplus
}
#endif
#endif /* GORT_H */
