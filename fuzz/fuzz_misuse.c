/*
 * fuzz_misuse.c — fuzz_alloc's operations and shadow model (fuzz/shadow.h),
 * plus deliberate misuse, each of which must be reported once, with the
 * right kind, address and call, and must leave the heap as it was.
 *
 * The error handler records the report and then, as the input chooses,
 * either returns (the library's contract: the call then returns with the
 * heap unchanged — free does nothing, realloc returns NULL, usable_size 0)
 * or longjmps out of the call (allowed: the handler runs with no allocator
 * lock held). A report outside a misuse operation is a failure.
 *
 * Misuse operations, each through free, realloc or usable_size:
 *  - double free, immediate: a live object is freed, then passed again:
 *    double free (a large object's span has gone back to the heap with it:
 *    invalid free is accepted too);
 *  - double free, delayed: a pointer freed earlier in the input, after any
 *    amount of other traffic (its slot may hold a new object, its span may
 *    have gone back to the heap or hold another class);
 *  - interior pointers: p+1, p+8, p+16, the middle, the last byte, or any
 *    offset inside a live object's usable size: interior pointer;
 *  - foreign pointers: a stack address, a global, a pointer from the libc
 *    malloc (the harness's own, not gort), a function, small integers, the
 *    top of the address space: invalid free;
 *  - never-allocated arena addresses, found with gort_inspect_arena and
 *    friends: inside a free run, in the uncommitted arena, in the spans array
 *    or bitmap, past the arena, in a span's tail beyond its last slot:
 *    invalid free; a slot of a live span whose ALLOC bit is clear: double or
 *    invalid free (which one depends on the span's high-water mark, not
 *    visible through the public API);
 *  - freed-span pointers: an object is freed and gort_flush_caches() (or
 *    gort_release()) gives its emptied span back to the heap before the
 *    pointer is passed again.
 * For pointers whose fate the model does not decide alone, the expected
 * kinds come from the model plus a snapshot taken just before the call
 * (oracle()). realloc and usable_size of a freed object may also be
 * reported as use after free, as the unit tests accept. The handler,
 * misuse(), the oracle and these operations live in fuzz/misuse.h, which
 * fuzz_harden shares; this file is the loop, in the light preset.
 *
 * Not here yet: a cross-thread double free in step mode — it needs the
 * scheduler (two Ms under one deterministic driver) and comes with it.
 */
#include <stddef.h>
#include <stdint.h>

#include "misuse.h"

#define FUZZ_API __attribute__((visibility("default")))

/* ------------------------------------------------------------ the loop */

enum {
	NORMAL_OPS = 216
}; /* op bytes below: fuzz_alloc's operations; above: misuse */

static const sh_opfn misuses[] = {
	mis_double_free_now, mis_double_free_later, mis_freed_span,
	mis_interior,	     mis_foreign,	    mis_never_allocated,
};

SH_HARNESS_SETUP(setup)

static void setup(void)
{
	sh_init("fuzz_misuse");
	misuse_setup();
}

FUZZ_API int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sh_ensure_ready();
	fdp_t d;
	fdp_init(&d, data, size);
	sh_begin_input();
	sh_run_ops(&d, NORMAL_OPS, misuses, sizeof misuses / sizeof misuses[0]);
	sh_end_input();
	return 0;
}
