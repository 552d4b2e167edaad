/*
 * fuzz_alloc.c — coverage-guided fuzzing of the malloc family against a
 * shadow model (fuzz/shadow.h and its shadow_*.c modules have the model,
 * the decoder and every check).
 *
 * The input is a sequence of operations decoded FuzzedDataProvider-style
 * (fuzz/fdp.h): one tail byte picks the operation, further tail bytes its
 * arguments. Operations: malloc, calloc, realloc, aligned_alloc (powers of
 * two up to 1 MiB), gort_alloc with GORT_NOSCAN (tiny) / GORT_ZERO, singly
 * or up to 64 at a time, of sizes that span tiny, small (size class
 * boundaries +-1), large and big objects;
 * impossible requests (beyond the 256 MiB arena or the address space: NULL
 * and ENOMEM; a bad alignment: EINVAL); free of a live object by index, of a
 * run of them; gort_release, gort_flush_caches, gort_memstats with a deep
 * check; gort_usable_size. No misuse: any report through the error handler
 * is a failure.
 *
 * The runtime is initialised once (step mode, 256 MiB arena); each input
 * ends by freeing everything and checking the heap is back to one free run,
 * which is what lets inputs run back to back without a new reservation.
 *
 * Build: `make fuzz` (libFuzzer + ASan + UBSan into build/fuzz/, AFL++ into
 * build/afl/); replay: build/fuzz-replay/fuzz_alloc FILE|DIR...
 * (GORT_FUZZ_TRACE=1 prints each operation).
 */
#include <stddef.h>
#include <stdint.h>

#include "shadow.h"

#define FUZZ_API __attribute__((visibility("default")))

static void on_error(const gort_error *e, void *ctx)
{
	(void)ctx;
	sh_fail("unexpected report from %s: %s", e->op, e->message);
}

SH_HARNESS_SETUP(setup)

static void setup(void)
{
	sh_init("fuzz_alloc");
	gort_set_error_handler(on_error, NULL);
}

FUZZ_API int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sh_ensure_ready();
	fdp_t d;
	fdp_init(&d, data, size);
	sh_begin_input();
	sh_run_ops(&d, 256, NULL, 0); /* every op byte picks one of the model's */
	sh_end_input();
	return 0;
}
