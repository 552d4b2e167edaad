/*
 * runq.c — the run queues: each P's lock-free local ring with its runnext
 * slot, and the global queue under a lock.
 *
 * The local ring is a single-producer, multi-consumer queue. The owner
 * writes a slot and then publishes it with a release store of tail; a
 * consumer (the owner's get, or a thief) reads head and tail with acquire,
 * reads the slots, and claims them by a release CAS of head from the value
 * it read. The release on head tells the owner, which loads head with
 * acquire before reusing slots, that the consumer is done reading them.
 * A consumer that read slots the owner has since overwritten has a stale
 * head, so its CAS fails and it starts over: that is why slots may be read
 * racily, and why they are atomics (relaxed) rather than plain pointers.
 *
 * runnext is exchanged by the owner and CASed to NULL by thieves, with
 * acquire-release, so a G's fields written before it was queued are seen by
 * whoever takes it.
 *
 * Invariants (gort_runq_check verifies them on a quiescent queue):
 *  - 0 <= tail - head <= 256, as uint32 arithmetic on free-running indices;
 *  - the slots [head, tail) hold distinct runnable Gs, none NULL;
 *  - runnext is NULL or a runnable G that is not also on the ring;
 *  - the global list has exactly size Gs and ends at tail.
 * Transiently, while the owner kicks the old runnext to the ring, that G is
 * in neither place; gort_runq_empty rereads tail to see through it.
 */
#include "sched/runq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mem/mem.h" /* gort_report */

/* ------------------------------------------------------------- atomics */

static inline uint32_t ld_acq32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t ld_rlx32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st_rel32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Go's CasRel: the consumer's slot reads happen before its claim. */
static inline bool cas_rel32(uint32_t *p, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static inline gort_g *slot_ld(gort_g *const *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void slot_st(gort_g **p, gort_g *g)
{
	__atomic_store_n(p, g, __ATOMIC_RELAXED);
}

static inline gort_g *next_ld(gort_g *const *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline bool next_cas(gort_g **p, gort_g *old, gort_g *new)
{
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static inline void next_st(gort_g **p, gort_g *g)
{
	__atomic_store_n(p, g, __ATOMIC_RELEASE);
}

/* The owner's swap of runnext. seq_cst: the exchange is also the fence of
 * wakep's enqueue-fence-check handshake (gort_runq_put's contract). A solo
 * queue has no thief to race, and no idle P for wakep to find. */
static inline gort_g *next_swap(gort_runq *q, gort_g *g)
{
	if (!q->solo)
		return __atomic_exchange_n(&q->runnext, g, __ATOMIC_SEQ_CST);
	gort_g *old = next_ld(&q->runnext);
	next_st(&q->runnext, g);
	return old;
}

/* The owner takes next out of runnext; false if a thief took it first. */
static inline bool next_take(gort_runq *q, gort_g *next)
{
	if (!q->solo)
		return next_cas(&q->runnext, next, NULL);
	next_st(&q->runnext, NULL);
	return true;
}

void gort_runq_pause_3us(void *ctx)
{
	(void)ctx;
	struct timespec ts = {0, 3000};
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- global queue */

void gort_globrunq_init(gort_globrunq *q)
{
	gort_lock_init(&q->lock);
	q->head = q->tail = NULL;
	__atomic_store_n(&q->size, 0, __ATOMIC_RELAXED);
}

uint32_t gort_globrunq_size_hint(const gort_globrunq *q)
{
	return __atomic_load_n(&q->size, __ATOMIC_RELAXED);
}

/* size is read without the lock by the hint, so it is stored atomically. */
static void glob_add(gort_globrunq *q, int32_t d)
{
	__atomic_store_n(&q->size, q->size + (uint32_t)d, __ATOMIC_RELAXED);
}

void gort_globrunq_put(gort_globrunq *q, gort_g *g)
{
	g->schedlink = NULL;
	if (q->tail)
		q->tail->schedlink = g;
	else
		q->head = g;
	q->tail = g;
	glob_add(q, 1);
}

void gort_globrunq_put_head(gort_globrunq *q, gort_g *g)
{
	g->schedlink = q->head;
	q->head = g;
	if (!q->tail)
		q->tail = g;
	glob_add(q, 1);
}

void gort_globrunq_put_batch(gort_globrunq *q, gort_g *head, gort_g *tail, uint32_t n)
{
	tail->schedlink = NULL;
	if (q->tail)
		q->tail->schedlink = head;
	else
		q->head = head;
	q->tail = tail;
	glob_add(q, (int32_t)n);
}

static gort_g *glob_pop(gort_globrunq *q)
{
	gort_g *g = q->head;
	q->head = g->schedlink;
	if (!q->head)
		q->tail = NULL;
	g->schedlink = NULL;
	glob_add(q, -1);
	return g;
}

/* ----------------------------------------------------- local: producer */

void gort_runq_init(gort_runq *q)
{
	__atomic_store_n(&q->head, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->tail, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->runnext, NULL, __ATOMIC_RELAXED);
	q->solo = false; /* threaded mode with one P sets it after */
	for (uint32_t i = 0; i < GORT_RUNQ_SIZE; i++)
		slot_st(&q->ring[i], NULL);
}

/* Puts g at the tail if the ring has room. Owner only: tail is ours. */
static bool ring_put(gort_runq *q, gort_g *g)
{
	uint32_t h = ld_acq32(&q->head); /* consumers are done with slots before h */
	uint32_t t = ld_rlx32(&q->tail);
	if (t - h >= GORT_RUNQ_SIZE)
		return false;
	slot_st(&q->ring[t & GORT_RUNQ_MASK], g);
	st_rel32(&q->tail, t + 1); /* publishes the slot */
	return true;
}

/* The ring is full: moves its oldest half and g to the global queue as one
 * batch, oldest first. Fails if a consumer moved head since h was read;
 * then the ring has room and the caller puts g there instead. Batching
 * makes the global lock's cost per G small, and leaves the ring's newest
 * Gs (the likeliest to be warm in cache) with the P. */
static bool put_slow(gort_runq *q, gort_g *g, uint32_t h, gort_globrunq *glob)
{
	gort_g *batch[GORT_RUNQ_HALF + 1];
	const uint32_t n = GORT_RUNQ_HALF;

	for (uint32_t i = 0; i < n; i++)
		batch[i] = slot_ld(&q->ring[(h + i) & GORT_RUNQ_MASK]);
	if (!cas_rel32(&q->head, h, h + n))
		return false;
	batch[n] = g;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];

	gort_lock(&glob->lock);
	gort_globrunq_put_batch(glob, batch[0], batch[n], n + 1);
	gort_unlock(&glob->lock);
	return true;
}

void gort_runq_put(gort_runq *q, gort_g *g, bool next, gort_globrunq *glob)
{
	if (next) {
		gort_g *old = next_swap(q, g);
		if (!old)
			return;
		g = old; /* the displaced runnext goes to the tail */
	}
	for (;;) {
		if (ring_put(q, g))
			return;
		uint32_t h = ld_acq32(&q->head);
		uint32_t t = ld_rlx32(&q->tail);
		if (t - h >= GORT_RUNQ_SIZE && put_slow(q, g, h, glob))
			return;
	}
}

/* ----------------------------------------------------- local: consumers */

gort_g *gort_runq_get(gort_runq *q, bool *inherit)
{
	bool dummy;
	if (!inherit)
		inherit = &dummy;

	/* A thief may only clear runnext, so a lost race leaves it NULL and
	 * the ring is next in line. */
	gort_g *next = next_ld(&q->runnext);
	if (next && next_take(q, next)) {
		*inherit = true;
		return next;
	}
	*inherit = false;
	for (;;) {
		uint32_t h = ld_acq32(&q->head);
		uint32_t t = ld_rlx32(&q->tail);
		if (t == h)
			return NULL;
		gort_g *g = slot_ld(&q->ring[h & GORT_RUNQ_MASK]);
		if (cas_rel32(&q->head, h, h + 1))
			return g;
	}
}

gort_g *gort_runq_take_next(gort_runq *q)
{
	gort_g *next = next_ld(&q->runnext);
	return next && next_take(q, next) ? next : NULL;
}

/* The grab shared by gort_runq_grab and gort_runq_steal: copies into
 * dst[(start + i) & mask]. Returns how many it took. */
static uint32_t grab(gort_runq *v, gort_g **dst, uint32_t start, uint32_t mask, bool steal_runnext,
		     gort_runq_pause_fn *pause, void *pause_ctx)
{
	for (;;) {
		uint32_t h = ld_acq32(&v->head);
		uint32_t t = ld_acq32(&v->tail); /* the slots up to t are published */
		uint32_t n = t - h;
		n -= n / 2; /* ceil(half): the thief runs one, both keep about half */
		if (n == 0) {
			if (!steal_runnext)
				return 0;
			gort_g *next = next_ld(&v->runnext);
			if (!next)
				return 0;
			if (pause)
				pause(pause_ctx);
			if (!next_cas(&v->runnext, next, NULL))
				continue; /* the owner ran or replaced it: look again */
			slot_st(&dst[start & mask], next);
			return 1;
		}
		/* h and t were read at different times: the owner may have put
		 * and others taken in between, so t - h is not a size. */
		if (n > GORT_RUNQ_HALF)
			continue;
		for (uint32_t i = 0; i < n; i++)
			slot_st(&dst[(start + i) & mask],
				slot_ld(&v->ring[(h + i) & GORT_RUNQ_MASK]));
		if (cas_rel32(&v->head, h, h + n))
			return n;
	}
}

uint32_t gort_runq_grab(gort_runq *victim, gort_g *buf[GORT_RUNQ_HALF], bool steal_runnext,
			gort_runq_pause_fn *pause, void *pause_ctx)
{
	/* n <= 128, so indices 0..n-1 never wrap the mask. */
	return grab(victim, buf, 0, GORT_RUNQ_HALF - 1, steal_runnext, pause, pause_ctx);
}

gort_g *gort_runq_steal(gort_runq *p, gort_runq *victim, bool steal_runnext,
			gort_runq_pause_fn *pause, void *pause_ctx)
{
	if (p == victim)
		return NULL;
	uint32_t t = ld_rlx32(&p->tail);
	/* Up to 128 land beyond tail; with more than 128 queued they would
	 * overwrite live slots. Go throws there; here it is reported first. */
	if (t - ld_acq32(&p->head) > GORT_RUNQ_HALF) {
		gort_report(GORT_ERR_HEAP_CORRUPTION, "runq_steal", (uintptr_t)p,
			    "thief's run queue holds more than 128 Gs");
		return NULL;
	}
	uint32_t n = grab(victim, p->ring, t, GORT_RUNQ_MASK, steal_runnext, pause, pause_ctx);
	if (n == 0)
		return NULL;
	n--;
	gort_g *g = slot_ld(&p->ring[(t + n) & GORT_RUNQ_MASK]);
	if (n)
		st_rel32(&p->tail, t + n);
	return g;
}

/* ----------------------------------------------------------- observers */

bool gort_runq_empty(const gort_runq *q)
{
	/* The owner kicks runnext to the ring before a later get can clear
	 * runnext: if tail did not move while runnext was read, head == tail
	 * and no runnext mean no G at all. */
	for (;;) {
		uint32_t h = ld_acq32(&q->head);
		uint32_t t = ld_acq32(&q->tail);
		gort_g *next = next_ld(&q->runnext);
		if (t == ld_acq32(&q->tail))
			return h == t && !next;
	}
}

/* A (head, tail) pair that held at one moment: head did not move around
 * the read of tail. */
static void read_ends(const gort_runq *q, uint32_t *h, uint32_t *t)
{
	for (;;) {
		*h = ld_acq32(&q->head);
		*t = ld_acq32(&q->tail);
		if (ld_acq32(&q->head) == *h)
			return;
	}
}

uint32_t gort_runq_len(const gort_runq *q)
{
	uint32_t h, t;
	read_ends(q, &h, &t);
	return t - h;
}

uint32_t gort_runq_size(const gort_runq *q)
{
	for (;;) {
		uint32_t h, t;
		read_ends(q, &h, &t);
		gort_g *next = next_ld(&q->runnext);
		if (t == ld_acq32(&q->tail))
			return t - h + (next != NULL);
	}
}

uint32_t gort_runq_snapshot(const gort_runq *q, gort_g *out[GORT_RUNQ_SIZE], gort_g **runnext)
{
	/* The slots [h, t) cannot be reused while head stays at h, so a copy
	 * bracketed by an unchanged head and tail is exact. */
	for (;;) {
		uint32_t h, t;
		read_ends(q, &h, &t);
		uint32_t n = t - h;
		if (n > GORT_RUNQ_SIZE)
			continue;
		for (uint32_t i = 0; i < n; i++)
			out[i] = slot_ld(&q->ring[(h + i) & GORT_RUNQ_MASK]);
		gort_g *next = next_ld(&q->runnext);
		if (ld_acq32(&q->head) != h || ld_acq32(&q->tail) != t)
			continue;
		if (runnext)
			*runnext = next;
		return n;
	}
}

/* ------------------------------------------------------------- checks */

static __thread char check_msg[160];

__attribute__((format(printf, 1, 2))) static const char *fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(check_msg, sizeof check_msg, fmt, ap);
	va_end(ap);
	return check_msg;
}

/* Adds g to a set of G pointers (open addressing, 2 * GORT_RUNQ_SIZE slots,
 * so at most half full); false if it was there already. Linear in the ring,
 * where sorting the ring cost n log n comparator calls per check. */
#define SEEN_SLOTS (2 * GORT_RUNQ_SIZE)
static bool seen_add(const gort_g *seen[SEEN_SLOTS], const gort_g *g)
{
	size_t i = ((uintptr_t)g >> 4) * 0x9e3779b97f4a7c15ull >> 32;
	for (i %= SEEN_SLOTS; seen[i]; i = (i + 1) % SEEN_SLOTS)
		if (seen[i] == g)
			return false;
	seen[i] = g;
	return true;
}

static uint32_t status_of(const gort_g *g)
{
	return __atomic_load_n(&g->status, __ATOMIC_RELAXED);
}

const char *gort_runq_check(const gort_runq *q)
{
	uint32_t h = ld_acq32(&q->head), t = ld_acq32(&q->tail);
	if (t - h > GORT_RUNQ_SIZE)
		return fail("runq: head %u and tail %u: %u Gs, more than %u", h, t, t - h,
			    GORT_RUNQ_SIZE);
	gort_g *next = next_ld(&q->runnext);
	if (next && status_of(next) != GORT_G_RUNNABLE)
		return fail("runq: runnext g%lld has status %u, not runnable",
			    (long long)next->goid, status_of(next));

	const gort_g *seen[SEEN_SLOTS] = {0};
	uint32_t n = t - h;
	for (uint32_t i = 0; i < n; i++) {
		gort_g *g = slot_ld(&q->ring[(h + i) & GORT_RUNQ_MASK]);
		if (!g)
			return fail("runq: NULL at position %u of %u (slot %u)", i, n,
				    (h + i) & GORT_RUNQ_MASK);
		if (g == next)
			return fail("runq: runnext g%lld is also at position %u of the ring",
				    (long long)g->goid, i);
		if (status_of(g) != GORT_G_RUNNABLE)
			return fail("runq: g%lld at position %u has status %u, not runnable",
				    (long long)g->goid, i, status_of(g));
		if (!seen_add(seen, g))
			return fail("runq: g%lld is on the ring twice", (long long)g->goid);
	}
	return NULL;
}

const char *gort_globrunq_check(const gort_globrunq *q)
{
	uint32_t size = gort_globrunq_size_hint(q), n = 0;
	const gort_g *last = NULL;
	for (const gort_g *g = q->head; g; g = g->schedlink) {
		if (n == size)
			return fail("globrunq: more Gs on the list than size %u (or a cycle)",
				    size);
		if (status_of(g) != GORT_G_RUNNABLE)
			return fail("globrunq: g%lld at position %u has status %u, not runnable",
				    (long long)g->goid, n, status_of(g));
		last = g;
		n++;
	}
	if (n != size)
		return fail("globrunq: %u Gs on the list, size says %u", n, size);
	if (q->tail != last)
		return fail("globrunq: tail is not the last G of the list");
	return NULL;
}

/* ----------------------------------------------- global -> local batch */

gort_g *gort_globrunq_get(gort_globrunq *q, gort_runq *p, uint32_t max, uint32_t gomaxprocs)
{
	uint32_t size = q->size;
	if (size == 0)
		return NULL;
	/* A fair share for each P, at least one, and never more than half a
	 * ring, so the Gs taken still fit beside what the P may steal. */
	uint32_t n = size / (gomaxprocs ? gomaxprocs : 1) + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > GORT_RUNQ_HALF)
		n = GORT_RUNQ_HALF;
	/* Overflowing the ring would take this lock again; Go's callers never
	 * get here with a non-empty ring, and a cap keeps it impossible. */
	uint32_t room = GORT_RUNQ_SIZE - gort_runq_len(p);
	if (n - 1 > room)
		n = room + 1;

	gort_g *g = glob_pop(q);
	for (uint32_t i = 1; i < n; i++)
		ring_put(p, glob_pop(q)); /* always fits: room only grows */
	return g;
}
