/*
 * steal_order.c — the coprime strides behind the random steal order (see
 * steal_order.h). Owns nothing but the arithmetic: why a stride coprime to
 * n visits every P is that k * inc == 0 (mod n) forces n | k, so the first n
 * positions pos + k * inc (k = 0..n-1) are distinct.
 */
#include "sched/steal_order.h"

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t r = a % b;
		a = b;
		b = r;
	}
	return a;
}

int gort_steal_order_reset(gort_steal_order *o, uint32_t n)
{
	if (n == 0 || n > GORT_STEAL_ORDER_MAX)
		return -1;
	o->count = n;
	o->ncoprimes = 0;
	for (uint32_t i = 1; i <= n; i++)
		if (gcd(i, n) == 1)
			o->coprimes[o->ncoprimes++] = i;
	return 0;
}

gort_steal_enum gort_steal_order_start(const gort_steal_order *o, uint32_t r)
{
	return (gort_steal_enum){
		.i = 0,
		.count = o->count,
		.pos = r % o->count,
		.inc = o->coprimes[(r / o->count) % o->ncoprimes],
	};
}
