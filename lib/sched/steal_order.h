/*
 * steal_order.h — the order in which a spinning M visits the other Ps to
 * steal: Go's randomOrder/randomEnum.
 *
 * Every pass of findRunnable's steal loop starts at a random P and walks
 * with a random stride coprime to the number of Ps, so it visits each P
 * exactly once, and different thieves start and stride differently so they
 * do not all pile onto the same victim. The order is a pure function of the
 * random number given to start(), so step mode can replay it from its seed.
 *
 * Invariants: after reset(n), coprimes holds every i in [1, n] with
 * gcd(i, n) == 1, ascending (for n == 1 that is {1}); an enumeration visits
 * count positions, each of 0..count-1 once.
 */
#ifndef GORT_SCHED_STEAL_ORDER_H
#define GORT_SCHED_STEAL_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#ifndef SCHED_HIDDEN
#define SCHED_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Most Ps an order can cover: the array is inline so reset never allocates
 * (it runs when the number of Ps changes, possibly with the world stopped). */
#define GORT_STEAL_ORDER_MAX 1024u

typedef struct gort_steal_order {
	uint32_t count;	    /* number of Ps */
	uint32_t ncoprimes; /* entries of coprimes in use */
	uint32_t coprimes[GORT_STEAL_ORDER_MAX];
} gort_steal_order;

/* One walk over the Ps. */
typedef struct gort_steal_enum {
	uint32_t i;	/* positions visited so far */
	uint32_t count; /* positions in all */
	uint32_t pos;	/* the current P */
	uint32_t inc;	/* the stride, coprime to count */
} gort_steal_enum;

/* Prepares o for n Ps. 0, or -1 if n is 0 or above GORT_STEAL_ORDER_MAX
 * (o is left unchanged). */
SCHED_HIDDEN int gort_steal_order_reset(gort_steal_order *o, uint32_t n);

/* A walk chosen by r: it starts at r % n with stride
 * coprimes[(r / n) % ncoprimes]. o must have been reset. */
SCHED_HIDDEN gort_steal_enum gort_steal_order_start(const gort_steal_order *o, uint32_t r);

static inline bool gort_steal_enum_done(const gort_steal_enum *e)
{
	return e->i == e->count;
}

static inline void gort_steal_enum_next(gort_steal_enum *e)
{
	e->i++;
	e->pos = (e->pos + e->inc) % e->count;
}

static inline uint32_t gort_steal_enum_pos(const gort_steal_enum *e)
{
	return e->pos;
}

#endif /* GORT_SCHED_STEAL_ORDER_H */
