/*
 * harden.h — the hardening presets and the checks they switch on (harden.c).
 * docs/hardening.md is the essay: what each preset catches, what it costs,
 * and what it does not catch.
 *
 * The settings live in a page of their own, mapped at init and made
 * read-only before the first object is handed out, so a stray write cannot
 * turn the checks off or change the canary secret. Before init `gort_hard`
 * points at a constant light preset.
 *
 * Small objects, with canaries on (default, paranoid): a request of n bytes
 * takes the class of n + 8, so every slot of E bytes has at least 8 bytes
 * of slack after the object:
 *
 *     [ object: n bytes | 0 | pattern ... | trailer: 8 bytes ]
 *                         ^ p[n] = 0 stops C-string overreads
 *
 * The trailer (at E - 8) holds the slack E - n in its top 16 bits, a 38-bit
 * MAC of (secret, slot address, slack, family) and the allocating family
 * (malloc, new, new[]: 2 bits) above a zero low byte; the
 * pattern bytes (up to CANARY_CHECK of them) are derived from the MAC. A
 * free or realloc recomputes all of it: any change is a heap overflow.
 * Large objects keep their request out of band (span.request) and get the
 * same 8 canary bytes right after it: a zero byte, the family, a MAC.
 *
 * Zero on free: the first zero_bytes of a freed small slot (the whole slot
 * in paranoid, GORT_ZERO_CHECK_BYTES in default) are zeroed before it joins
 * the quarantine, and those of every slot of a fresh span when it is handed
 * to a class, so that prefix of every slot that is not live reads zero;
 * allocation checks it, and a write after free there shows up as a non-zero
 * byte: `use after free` at reuse. The cost is bounded by zero_bytes, not
 * by the slot's size.
 *
 * Invariants (checked by gort_check):
 *  - QUARANTINE bits are a subset of ALLOC bits, disjoint from FREED;
 *  - the quarantined bits in the bitmap are exactly the entries of the
 *    caches' rings and of the large quarantine;
 *  - with zero_check, the zero_bytes prefix of every small slot with ALLOC
 *    clear reads zero.
 */
#ifndef GORT_MEM_HARDEN_H
#define GORT_MEM_HARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gort.h"

#ifndef MEM_HIDDEN
#define MEM_HIDDEN __attribute__((visibility("hidden")))
#endif

#define CANARY_BYTES 8
/* Pattern bytes after the object that are written and checked. */
#define CANARY_CHECK 56
#define QUARANTINE_MAX 4096

typedef struct harden {
	int preset;          /* GORT_HARDEN_LIGHT .. PARANOID */
	bool checks;         /* any of the below: the fast paths test only this */
	bool canary;         /* canaries after small and large objects */
	bool zero_check;     /* zero on free, checked at reuse; no tiny blocks */
	uint32_t zero_bytes; /* zero_check: leading bytes of a slot zeroed and checked */
	bool randomize;      /* random slot within the current bitmap word */
	bool guard_spans;    /* a guard page after every small span */
	bool guard_large;    /* a guard page after every large object */
	bool lquar_keeps;    /* a quarantined large object keeps its pages (PROT_NONE) */
	/* Default: a large free is fenced (its pages made to fault) when its
	 * thread made this many allocator calls since it fenced one; the others
	 * get the O(1) checks (head zeroed, checked when it leaves). 0: all. */
	uint32_t lquar_fence_every;
	size_t lquar_bytes;  /* the large quarantine holds at most this many bytes */
	size_t lquar_object; /* and no object larger than this */
	uint32_t quarantine; /* small slots per class per cache; large spans held */
	uint64_t secret;     /* canary key; from the seed in step mode */
} harden_t;

MEM_HIDDEN extern const harden_t *gort_hard;

/* Settle the preset for an init (harden.c); 0, or -1 with errno EINVAL. */
MEM_HIDDEN int gort_harden_init(const gort_config *cfg);
MEM_HIDDEN void gort_harden_shutdown(void);

/* ---------------------------------------------------------------- small */
/* The slot bytes a request needs: n, or n + 8 with canaries; saturated, so
 * that an impossible request (within 8 bytes of SIZE_MAX) stays impossible
 * instead of wrapping into a small class. */
static inline size_t harden_slot_need(const harden_t *h, size_t n)
{
	if (!h->canary)
		return n;
	return n > SIZE_MAX - CANARY_BYTES ? SIZE_MAX : n + CANARY_BYTES;
}
/* Which call allocated an object, kept in its canary (so known only with
 * canaries): free, delete and delete[] each accept only their own. */
enum { GORT_FAMILY_MALLOC = 0, GORT_FAMILY_NEW = 1, GORT_FAMILY_NEW_ARRAY = 2 };

MEM_HIDDEN void gort_canary_set(uintptr_t slot, size_t elemsize, size_t request);
MEM_HIDDEN void gort_canary_set_family(uintptr_t slot, size_t elemsize, size_t request,
				       unsigned family);
/* The family of a slot whose canary gort_canary_request found whole. */
MEM_HIDDEN unsigned gort_canary_family(uintptr_t slot, size_t elemsize);
/* The request size the slot's canary encodes, or (size_t)-1 if the canary is
 * damaged; *bad gets the offset of the first damaged byte. */
MEM_HIDDEN size_t gort_canary_request(uintptr_t slot, size_t elemsize, size_t *bad);
MEM_HIDDEN void gort_large_canary_set(uintptr_t base, size_t request);
MEM_HIDDEN bool gort_large_canary_ok(uintptr_t base, size_t request, size_t *bad);
MEM_HIDDEN void gort_large_canary_set_family(uintptr_t base, size_t request, unsigned family);
MEM_HIDDEN unsigned gort_large_canary_family(uintptr_t base, size_t request);

/* zero_check: the leading bytes of a slot of elemsize bytes that are zeroed
 * at free and checked at reuse (the whole slot in paranoid). */
static inline size_t harden_zero_len(const harden_t *h, size_t elemsize)
{
	return elemsize < h->zero_bytes ? elemsize : h->zero_bytes;
}

/* Offset of the first non-zero byte of [p, p+n), or n. */
MEM_HIDDEN size_t gort_first_nonzero(const void *p, size_t n);
/* n slots of elemsize bytes from base: zero the prefix zero_check watches
 * in each; or the offset from base of the first non-zero byte in one of
 * those prefixes (n * elemsize if none). One call for the whole run when
 * the prefix is the whole slot. */
MEM_HIDDEN void gort_zero_prefixes(const harden_t *h, uintptr_t base, size_t n, size_t elemsize);
MEM_HIDDEN size_t gort_first_dirty_prefix(const harden_t *h, uintptr_t base, size_t n,
					  size_t elemsize);

#endif /* GORT_MEM_HARDEN_H */
