/*
 * shadow_input.c — one input's life: the runtime it runs in, the model's
 * reset at its start, and its end, where everything is freed and the heap
 * must be back to its initial shape.
 *
 * The runtime is initialised once per process (sh_init: light, step mode,
 * a 256 MiB arena) and never reserved again: the end of an input is the
 * reset (an empty input costs about 38 us under ASan, i.e. ~26,000
 * executions per second). fuzz_harden alone starts a new one per input
 * (sh_start with a preset, a quarantine length and a seed), because the
 * settings are read-only once the runtime is up and only a shutdown
 * empties the large objects' quarantine.
 */
#include "shadow.h"

/* The model's per-input state, empty; the heap must be empty too. */
void sh_begin_input(void)
{
	sh_gsh_begin();
	memset(shadow.qhead, 0, sizeof shadow.qhead);
	memset(shadow.qlen, 0, sizeof shadow.qlen);
	shadow.nheld = 0;
	shadow.held_bytes = 0;
	shadow.nlive = 0;
	shadow.tiny_blocks = 0;
	shadow.foot = 0;
	shadow.slot_bytes = 0;
	memset(shadow.live_by_class, 0, sizeof shadow.live_by_class);
	shadow.mallocs = shadow.frees = shadow.tiny_allocs = shadow.large_allocs = 0;
	memset(shadow.mallocs_by_class, 0, sizeof shadow.mallocs_by_class);
	shadow.alloc_bytes = 0;
	shadow.ngrave = shadow.grave_next = 0;
	shadow.op_no = 0;
	shadow.ntouched = 0;
	shadow.check_all = 0;
	shadow.nring = 0;
	shadow.rot = 0;
	/* The previous input ended with sh_expect_initial_shape. */
	struct gort_memstats *b = &shadow.base;
	gort_memstats(b);
	sh_pages_moved(b);
	SH_ASSERT(b->heap_objects == 0 && b->heap_inuse == 0,
		  "at the start of an input: %llu objects, %llu bytes in use",
		  (unsigned long long)b->heap_objects, (unsigned long long)b->heap_inuse);
}

/* Free everything and flush the cache: the heap must be as it was. Every
 * SH_RELEASE_EVERY-th input (and the first) also releases the heap to the OS:
 * releasing after every input would make the next one fault in every page it
 * touches again, which halves the executions per second; gort_release is
 * also one of the fuzzed operations, so its paths are covered within inputs. */
void sh_end_input(void)
{
	static unsigned long inputs;
	sh_deep_check();
	sh_gsh_state();
	while (shadow.nlive)
		sh_free_live(shadow.nlive - 1);
	sh_check_stats();
	sh_flush();
	if (inputs++ % SH_RELEASE_EVERY == 0)
		sh_release();
	sh_check_stats();
	sh_expect_initial_shape("after freeing everything and gort_flush_caches");
}

/* Once per process: the harness's name and the environment's switches. */
void sh_setup(const char *harness)
{
	shadow.harness = harness;
	const char *t = getenv("GORT_FUZZ_TRACE");
	shadow.trace = t && *t && *t != '0';
	t = getenv("GORT_FUZZ_GSH");
	shadow.gsh = t && *t && *t != '0';
	shadow.next_id = 1;
}

/* The runtime in step mode with a modest arena, under a preset (hardened:
 * a quarantine of 1..SH_QMAX and a seed, which keys the canaries and
 * paranoid's random choices), and the size class table the sizes are drawn
 * from. A runtime already up is shut down first: every pointer it handed
 * out is forgotten, as the model must be (sh_begin_input). */
void sh_start(int preset, unsigned quarantine, uint64_t seed)
{
	static int up;
	if (up)
		gort_shutdown();
	shadow.preset = preset;
	shadow.hard = preset != GORT_HARDEN_LIGHT;
	shadow.zero_bytes = preset == GORT_HARDEN_PARANOID ? SIZE_MAX : GORT_ZERO_CHECK_BYTES;
	shadow.quarantine = shadow.hard ? quarantine : 0;
	shadow.seed = seed;
	gort_config cfg = {.arena_bytes = SH_ARENA_BYTES,
			   .procs = 1,
			   .threaded = 0,
			   .harden = preset,
			   .quarantine = shadow.quarantine,
			   .seed = seed};
	if ((shadow.hard && (quarantine < 1 || quarantine > SH_QMAX)) || gort_init(&cfg) != 0 ||
	    gort_harden_preset() != preset) {
		fprintf(stderr, "%s: gort_init(%s, quarantine %u) failed, errno %d\n",
			shadow.harness, gort_harden_name(preset), quarantine, errno);
		abort();
	}
	up = 1;
	size_t n = gort_inspect_sizeclasses(shadow.sc, GORT_NUM_SIZE_CLASSES);
	if (n != GORT_NUM_SIZE_CLASSES) {
		fprintf(stderr, "%s: %zu size classes, expected %d\n", shadow.harness, n,
			GORT_NUM_SIZE_CLASSES);
		abort();
	}
}

/* Once per process (fuzz_alloc, fuzz_misuse): light, for good. */
void sh_init(const char *harness)
{
	sh_setup(harness);
	sh_start(GORT_HARDEN_LIGHT, 0, 0);
}
