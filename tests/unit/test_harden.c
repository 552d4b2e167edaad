/*
 * test_harden.c — the hardening presets through gort_*: choosing a preset;
 * canaries (every overflow offset of the 8 bytes after an object, small and
 * large, at free, realloc and usable_size; the zero byte after the request);
 * zero on free checked at reuse and by gort_check; the quarantine's FIFO,
 * its double-free detection from any thread and its statistics; freed large
 * objects and the guard pages of paranoid faulting; paranoid's random slots
 * repeating with the seed; the settings page being read-only. Each test fails
 * without the mechanism it names. tests/misuse/ runs the same misuses as
 * whole programs through LD_PRELOAD.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"
#include "gort_inspect.h"
#include "mem/mem.h"

#include "../support/gort_test.h"

static void init_preset(int preset, unsigned quarantine)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .harden = preset, .quarantine = quarantine};
	gt_init_config(&cfg);
	gt_record_errors();
}

static void fini(void)
{
	gort_set_error_handler(NULL, NULL);
	gort_shutdown();
}

TestSuite(harden, .fini = fini);

/* Sizes that reach every kind of slot: tiny requests, each slack from 8 to
 * a class's whole width, the largest small size, and large objects. (A
 * zero-size object has no slot: zero_size_objects_have_no_byte.) */
static const size_t sizes[] = {1,     7,     8,     9,     15,    16,    17,
			       24,    25,    100,   255,   256,   1000,  4096,  8184,
			       8185,  20000, 32760, 32761, 32768, 40000, 65536, 1048576};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static gort_object_info info_of(const void *p)
{
	gort_object_info o;
	cr_assert_eq(gort_inspect_object(p, &o), 0, "%p is not in an in-use span", p);
	return o;
}

/* ------------------------------------------------------------- presets */

Test(harden, presets_are_chosen_by_config_then_environment)
{
	static const int presets[] = {GORT_HARDEN_LIGHT, GORT_HARDEN_DEFAULT, GORT_HARDEN_PARANOID};
	for (size_t i = 0; i < 3; i++) {
		init_preset(presets[i], 0);
		cr_assert_eq(gort_harden_preset(), presets[i]);
		struct gort_memstats ms;
		gort_memstats(&ms);
		cr_assert_eq(ms.harden, presets[i]);
		gort_shutdown();
	}
	setenv("GORT_HARDEN", "paranoid", 1);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_PARANOID, "before init: what AUTO would take");
	gort_config cfg = {.arena_bytes = 64 * MiB, .harden = GORT_HARDEN_AUTO};
	cr_assert_eq(gort_init(&cfg), 0);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_PARANOID);
	gort_shutdown();
	unsetenv("GORT_HARDEN");
	cr_assert_eq(gort_init(&cfg), 0);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_DEFAULT, "no GORT_HARDEN: default");
	gort_shutdown();
	cr_assert_str_eq(gort_harden_name(GORT_HARDEN_LIGHT), "light");
	cr_assert_str_eq(gort_harden_name(GORT_HARDEN_PARANOID), "paranoid");
	cr_assert_str_eq(gort_harden_name(42), "unknown");
}

Test(harden, bad_settings_are_refused)
{
	gort_config bad[] = {
		{.arena_bytes = 64 * MiB, .harden = 4},
		{.arena_bytes = 64 * MiB, .harden = -1},
		{.arena_bytes = 64 * MiB, .harden = GORT_HARDEN_DEFAULT, .quarantine = 4097},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		cr_assert_eq(gort_init(&bad[i]), -1, "config %zu accepted", i);
		cr_assert_eq(errno, EINVAL);
	}
}

/* ------------------------------------------------------------- canaries */

Test(harden, usable_size_is_the_request_and_the_slot_has_room_for_the_canary)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = sizes[i];
		unsigned char *p = gort_malloc(n);
		cr_assert_not_null(p, "malloc(%zu)", n);
		cr_assert_eq(gort_usable_size(p), n, "usable size of malloc(%zu)", n);
		gort_object_info o = info_of(p);
		if (n + 8 <= GORT_MAX_SMALL_SIZE)
			cr_assert_geq(o.elemsize, n + 8, "malloc(%zu): slot of %zu", n, o.elemsize);
		cr_assert_eq(p[n], 0, "malloc(%zu): the byte after the object is not 0", n);
		gt_fill(p, n, n);
		cr_assert(gt_intact(p, n, n));
		gort_free(p);
	}
	gt_expect_clean();
}

/* An overflow of one byte at each of the 8 offsets past the request is
 * reported as a heap overflow by free, realloc and usable_size alike, and
 * leaves the object live: repaired, it frees cleanly. */
Test(harden, every_overflow_byte_is_caught_by_free_realloc_and_usable_size)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = sizes[i];
		for (size_t k = 0; k < 8; k++) {
			volatile unsigned char *p = gort_malloc(n);
			p[n + k] ^= 0x5a;
			for (int op = 0; op < 3; op++) {
				gt_reset_reports();
				if (op == 0)
					gort_free((void *)p);
				else if (op == 1)
					cr_assert_null(gort_realloc((void *)p, n + 100));
				else
					cr_assert_eq(gort_usable_size((void *)p), 0);
				cr_assert_eq(gt_reports(), 1, "size %zu, byte +%zu, op %d: %d reports",
					     n, k, op, gt_reports());
				cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_OVERFLOW, "size %zu +%zu: %s", n,
					     k, gt_rec.message);
				cr_assert_eq(gt_rec.address, (uintptr_t)p);
			}
			p[n + k] ^= 0x5a;
			gt_reset_reports();
			gort_free((void *)p);
			cr_assert_eq(gt_reports(), 0, "size %zu: repaired object did not free", n);
		}
	}
	gt_expect_clean();
}

Test(harden, realloc_in_place_rewrites_the_canary)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	char *p = gort_malloc(20); /* 28 bytes needed: the 32-byte class */
	memcpy(p, "0123456789abcdefghi", 20);
	char *q = gort_realloc(p, 24);
	cr_assert_eq(q, p, "24 + 8 still fits the slot");
	cr_assert_eq(gort_usable_size(q), 24);
	q[23] = 'x';
	char *r = gort_realloc(q, 23); /* 31 needed: still the 32-byte class */
	cr_assert_eq(r, p, "shrinking within the class stays");
	cr_assert_eq(r[23], 0, "the canary moved to the new end");
	char *s = gort_realloc(r, 30); /* 38 needed: the next class */
	cr_assert_neq(s, p);
	cr_assert_eq(memcmp(s, "0123456789", 10), 0);
	gort_free(s);
	char *big = gort_malloc(100000);
	gt_fill(big, 100000, 7);
	char *big2 = gort_realloc(big, 90000);
	cr_assert_eq(big2, big, "a large object shrinking a little stays");
	cr_assert_eq(gort_usable_size(big2), 90000);
	cr_assert(gt_intact(big2, 90000, 7), "shrinking in place kept the contents");
	gort_free(big2);
	gt_expect_clean();
}

Test(harden, aligned_objects_keep_their_alignment_and_canary)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	for (size_t align = 16; align <= 8192; align *= 2)
		for (size_t n = 1; n <= 5000; n = n * 3 + 1) {
			char *p = gort_aligned_alloc(align, n);
			cr_assert_not_null(p);
			cr_assert_eq((uintptr_t)p % align, 0, "align %zu size %zu: %p", align, n, p);
			cr_assert_eq(gort_usable_size(p), n);
			p[n] ^= 1;
			gort_free(p);
			cr_assert_eq(gt_reports(), 1, "align %zu size %zu: overflow missed", align, n);
			p[n] ^= 1;
			gt_reset_reports();
			gort_free(p);
		}
	gt_expect_clean();
}

Test(harden, light_has_no_canary)
{
	init_preset(GORT_HARDEN_LIGHT, 0);
	char *p = gort_malloc(100);
	cr_assert_eq(gort_usable_size(p), 112, "light: the whole slot is usable");
	p[111] = 1;
	gort_free(p);
	gt_expect_clean();
}

/* ----------------------------------------------------- zero on free, reuse */

Test(harden, a_write_after_free_is_reported_when_the_slot_is_reused)
{
	init_preset(GORT_HARDEN_DEFAULT, 1);
	volatile char *p = gort_malloc(100);
	gort_free((void *)p);
	cr_assert_eq(gt_nonzero_at((void *)p, GORT_ZERO_CHECK_BYTES), GORT_ZERO_CHECK_BYTES,
		     "a freed slot's first bytes read zero");
	p[37] = 'A';
	int rounds = 0;
	while (gt_reports() == 0 && rounds++ < 100000)
		gort_free(gort_malloc(100));
	cr_assert_eq(gt_reports(), 1, "not seen in %d rounds", rounds);
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
	cr_assert(strstr(gt_rec.detail, "written after free at +37"), "%s", gt_rec.detail);
	gt_reset_reports();
	gort_flush_caches();
	gt_expect_clean(); /* the slot was repaired and freed again */
}

Test(harden, gort_check_finds_a_write_into_a_quarantined_object)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	volatile char *p = gort_malloc(64);
	gort_free((void *)p);
	gt_expect_clean();
	p[3] = 9;
	cr_assert_eq(gort_check(), -1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_CORRUPTION);
	cr_assert(strstr(gt_rec.detail, "use after free"), "%s", gt_rec.detail);
	p[3] = 0;
	gt_reset_reports();
	gt_expect_clean();
}

/* Free slots next to each other are checked as one run: the report must
 * still name the slot that was written, not the run's first. */
Test(harden, gort_check_names_the_written_slot_in_a_run_of_free_ones)
{
	init_preset(GORT_HARDEN_DEFAULT, 1);
	enum { N = 8 };
	char *a[N];
	for (int i = 0; i < N; i++)
		a[i] = gort_malloc(40);
	for (int i = 1; i < N; i++) /* a[0] keeps the span in use */
		gort_free(a[i]);
	gort_flush_caches(); /* out of the quarantine: a[1..] one free run */
	gt_expect_clean();
	volatile char *q = a[5];
	q[20] = 7;
	cr_assert_eq(gort_check(), -1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_CORRUPTION);
	cr_assert_eq(gt_rec.address, (uintptr_t)q, "reported %#lx, the slot is %p",
		     (unsigned long)gt_rec.address, (void *)q);
	q[20] = 0;
	gt_reset_reports();
	gt_expect_clean();
}

/* A write at the last byte zero_check watches in a lone free slot (live
 * neighbours on both sides) is found at any size: the slot's last byte in
 * paranoid, the prefix's last in default (gort.h, GORT_ZERO_CHECK_BYTES).
 * Slots past 64 bytes are compared with memcmp, smaller ones word by word. */
static void last_watched_byte_is_checked(int preset)
{
	static const size_t sizes[] = {8, 100, 240, 1000, 3000};
	init_preset(preset, 1);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		char *a = gort_malloc(sizes[k]);
		volatile char *b = gort_malloc(sizes[k]);
		char *c = gort_malloc(sizes[k]);
		gort_object_info oi;
		cr_assert_eq(gort_inspect_object((void *)b, &oi), 0);
		size_t watched = preset == GORT_HARDEN_PARANOID || oi.elemsize < GORT_ZERO_CHECK_BYTES
					 ? oi.elemsize
					 : GORT_ZERO_CHECK_BYTES;
		gort_free((void *)b);
		gort_flush_caches();
		b[watched - 1] = 1;
		cr_assert_eq(gort_check(), -1, "size %zu", sizes[k]);
		cr_assert_eq(gt_rec.address, (uintptr_t)b, "size %zu", sizes[k]);
		b[watched - 1] = 0;
		gt_reset_reports();
		gt_expect_clean();
		gort_free(a);
		gort_free(c);
	}
}

Test(harden, a_write_at_a_free_slots_last_byte_is_reported_at_any_size_in_paranoid)
{
	last_watched_byte_is_checked(GORT_HARDEN_PARANOID);
}

Test(harden, a_write_at_the_last_watched_byte_is_reported_at_any_size_in_default)
{
	last_watched_byte_is_checked(GORT_HARDEN_DEFAULT);
}

Test(harden, gort_check_at_checks_the_span_it_is_given_and_only_that)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	volatile char *p = gort_malloc(64);
	char *other = gort_malloc(5000); /* another class, another span */
	gort_free((void *)p);
	p[3] = 9;
	cr_assert_eq(gort_check_at(other), 0, "a sound span is sound");
	cr_assert_eq(gort_check_at((void *)&p), 0, "an address outside the heap has no span");
	cr_assert_eq(gort_error_count(), 0);
	cr_assert_eq(gort_check_at((const void *)(p + 40)), -1, "any address in the span will do");
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_CORRUPTION);
	cr_assert(strstr(gt_rec.detail, "use after free"), "%s", gt_rec.detail);
	p[3] = 0;
	gt_reset_reports();
	cr_assert_eq(gort_check_at((const void *)p), 0);
	gort_free(other);
	gt_expect_clean();
}

/* Paranoid hands out only zeroed memory; default zeroes the watched prefix
 * (gort.h), and calloc all of it. */
static void allocations_are_zeroed(int preset, size_t watched)
{
	init_preset(preset, 2);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round * 37 % 3000);
		unsigned char *p = gort_malloc(n);
		size_t z = n < watched ? n : watched;
		cr_assert_eq(gt_nonzero_at(p, z), z, "malloc(%zu) round %d holds old data", n, round);
		memset(p, 0xff, n);
		gort_free(p);
		unsigned char *q = gort_calloc(1, n);
		cr_assert_eq(gt_nonzero_at(q, n), n, "calloc(1, %zu) round %d holds old data", n,
			     round);
		memset(q, 0xff, n);
		gort_free(q);
	}
	gt_expect_clean();
}

Test(harden, every_allocation_is_zeroed_in_paranoid)
{
	allocations_are_zeroed(GORT_HARDEN_PARANOID, SIZE_MAX);
}

Test(harden, the_watched_prefix_of_every_allocation_is_zeroed_in_default)
{
	allocations_are_zeroed(GORT_HARDEN_DEFAULT, GORT_ZERO_CHECK_BYTES);
}

/* ----------------------------------------------------------- quarantine */

static uint8_t bits_of(const void *p)
{
	return info_of(p).bits;
}

#define A (1u << GORT_PLANE_ALLOC)
#define Q (1u << GORT_PLANE_QUARANTINE)

Test(harden, the_quarantine_is_a_fifo_of_its_length)
{
	enum { LEN = 5 };
	init_preset(GORT_HARDEN_DEFAULT, LEN);
	char *p[LEN + 2];
	for (int i = 0; i < LEN + 2; i++)
		p[i] = gort_malloc(48);
	for (int i = 0; i < LEN; i++) {
		gort_free(p[i]);
		cr_assert_eq(bits_of(p[i]) & (A | Q), A | Q, "freed object %d not quarantined", i);
	}
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, LEN);
	cr_assert_eq(ms.quarantine_bytes, LEN * 64);
	cr_assert_eq(ms.heap_objects, LEN + 2, "quarantined objects still hold their slots");
	gort_free(p[LEN]);
	cr_assert_eq(bits_of(p[0]) & (A | Q), 0, "the oldest left when the ring was full");
	cr_assert_eq(bits_of(p[1]) & (A | Q), A | Q);
	gort_free(p[LEN + 1]);
	cr_assert_eq(bits_of(p[1]) & (A | Q), 0);
	gt_expect_clean();
	gort_flush_caches();
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 0, "flush empties the quarantine");
	cr_assert_eq(ms.heap_objects, 0);
	gt_expect_clean();
}

/* Each cache keeps its rings' totals for the statistics; gort_check holds
 * them to the rings. */
Test(harden, gort_check_holds_the_quarantine_totals_to_the_rings)
{
	init_preset(GORT_HARDEN_DEFAULT, 4);
	char *p = gort_malloc(48), *q = gort_malloc(3000);
	gort_free(p);
	gort_free(q);
	cache_t *c = gort_mem.all_caches;
	while (c && c->qobjects == 0)
		c = c->next_all;
	cr_assert(c && c->qobjects == 2 && c->qbytes == 64 + 3072, "totals %llu, %llu",
		  c ? (unsigned long long)c->qobjects : 0, c ? (unsigned long long)c->qbytes : 0);
	gt_expect_clean();
	c->qbytes += 16;
	cr_assert_eq(gort_check(), -1);
	cr_assert(strstr(gt_rec.detail, "quarantine totals"), "%s", gt_rec.detail);
	c->qbytes -= 16;
	gt_reset_reports();
	gort_flush_caches();
	cr_assert(c->qobjects == 0 && c->qbytes == 0, "flush leaves %llu objects",
		  (unsigned long long)c->qobjects);
	gt_expect_clean();
}

Test(harden, a_double_free_is_caught_however_many_frees_come_between)
{
	init_preset(GORT_HARDEN_DEFAULT, 64);
	char *p = gort_malloc(200);
	gort_free(p);
	for (int i = 0; i < 60; i++)
		gort_free(gort_malloc(200));
	char *q = gort_malloc(200);
	cr_assert_neq(q, p, "a quarantined slot was handed out");
	gort_free(p);
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE);
	cr_assert(strstr(gt_rec.detail, "in quarantine"), "%s", gt_rec.detail);
	gt_reset_reports();
	gort_free(q);
	gt_expect_clean();
}

static void *free_it(void *p)
{
	gort_free(p);
	return NULL;
}

Test(harden, a_double_free_from_another_thread_is_caught_in_quarantine)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	for (size_t i = 0; i < NSIZES; i++) {
		void *p = gort_malloc(sizes[i]);
		gort_free(p);
		pthread_t t;
		cr_assert_eq(pthread_create(&t, NULL, free_it, p), 0);
		pthread_join(t, NULL);
		cr_assert_eq(gt_reports(), 1, "size %zu", sizes[i]);
		cr_assert_eq(gt_rec.kind, GORT_ERR_DOUBLE_FREE, "size %zu: %s", sizes[i],
			     gt_rec.message);
		gt_reset_reports();
	}
	gt_expect_clean();
}

/* Threads allocate, hand objects to each other and free them: the
 * quarantines of several caches and remote frees meet. */
#define CHURN_THREADS 4
#define CHURN_ROUNDS 20000
static void *volatile handoff[CHURN_THREADS][64];

static void *churn_thread(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	uint64_t rng = me + 1;
	for (int r = 0; r < CHURN_ROUNDS; r++) {
		size_t slot = gt_xorshift(&rng) % 64;
		size_t n = gt_xorshift(&rng) % 2000;
		void *mine = gort_malloc(n);
		memset(mine, (int)me, n);
		void *old = __atomic_exchange_n(&handoff[(me + 1) % CHURN_THREADS][slot], mine,
						__ATOMIC_ACQ_REL);
		gort_free(old);
	}
	return NULL;
}

Test(harden, threads_trading_objects_leave_a_whole_heap)
{
	gort_config cfg = {.arena_bytes = 256 * MiB,
			   .threaded = 1,
			   .procs = 2,
			   .harden = GORT_HARDEN_PARANOID};
	gt_init_config(&cfg);
	gt_record_errors();
	pthread_t t[CHURN_THREADS];
	for (uintptr_t i = 0; i < CHURN_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn_thread, (void *)i), 0);
	for (int i = 0; i < CHURN_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < CHURN_THREADS; i++)
		for (int s = 0; s < 64; s++)
			gort_free(handoff[i][s]);
	gort_flush_caches();
	gt_expect_clean();
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 0, "exited threads and flush empty the quarantines");
	cr_assert_eq(ms.heap_objects, 0);
}

/* A producer fills objects and hands them to a consumer, which frees them
 * into the producer's spans while the producer allocates there and writes
 * (xmalloc's shape). Nothing is misused, so nothing may be reported: a
 * free's look at the slots beside its object, done in another thread's span,
 * once read a slot as dead just before its owner handed it out and its new
 * object was written, and reported a use after free. */
#define PC_RING 256
#define PC_OBJECTS 400000
static void *volatile pc_ring[PC_RING];
static volatile unsigned long pc_head, pc_tail;

static void *pc_consumer(void *arg)
{
	(void)arg;
	for (unsigned long n = 0; n < PC_OBJECTS; n++) {
		while (__atomic_load_n(&pc_head, __ATOMIC_ACQUIRE) == n)
			sched_yield();
		gort_free(pc_ring[n % PC_RING]);
		__atomic_store_n(&pc_tail, n + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void producer_consumer(int preset)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .threaded = 1, .procs = 2, .harden = preset};
	gt_init_config(&cfg);
	gt_record_errors();
	pc_head = pc_tail = 0;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, pc_consumer, NULL), 0);
	for (unsigned long n = 0; n < PC_OBJECTS; n++) {
		while (n - __atomic_load_n(&pc_tail, __ATOMIC_ACQUIRE) >= PC_RING)
			sched_yield();
		char *p = gort_malloc(8); /* 16-byte slots: four beside each free */
		memset(p, 0xa5, 8);
		gort_free(gort_malloc(8)); /* the producer frees in its spans too */
		pc_ring[n % PC_RING] = p;
		__atomic_store_n(&pc_head, n + 1, __ATOMIC_RELEASE);
	}
	pthread_join(t, NULL);
	cr_assert_eq(gt_reports(), 0, "%s", gt_rec.first);
}

Test(harden, producer_consumer_frees_report_nothing_default, .timeout = 60)
{
	producer_consumer(GORT_HARDEN_DEFAULT);
}

Test(harden, producer_consumer_frees_report_nothing_paranoid, .timeout = 60)
{
	producer_consumer(GORT_HARDEN_PARANOID);
}

/* The same rule, made deterministic: a dirty dead slot beside an object
 * freed by another thread is left to the span's owner, which finds it. */
Test(harden, a_free_in_another_threads_span_leaves_its_neighbours_to_the_owner)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .threaded = 1, .procs = 2,
			   .harden = GORT_HARDEN_DEFAULT};
	gt_init_config(&cfg);
	gt_record_errors();
	char *x = gort_malloc(8), *y = gort_malloc(8);
	cr_assert_eq(y, x + 16, "two 16-byte slots side by side");
	gort_free(y);
	y[0] = 1; /* written after free */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, free_it, x), 0);
	pthread_join(t, NULL);
	cr_assert_eq(gt_reports(), 0, "another thread's free looked into our span: %s",
		     gt_rec.first);
	gort_free(gort_malloc(8)); /* our next malloc checks the slot we freed last */
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE);
	cr_assert_eq(gt_rec.address, (uintptr_t)y);
	gt_reset_reports();
	gort_flush_caches();
	gt_expect_clean();
}

/* ---------------------------------------------------------- guard pages */

Test(harden, a_freed_large_object_faults, .signal = SIGSEGV)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	volatile char *p = gort_malloc(1 << 20);
	p[100] = 1;
	gort_free((void *)p);
	gt_raw_segv();
	(void)p[100];
}

Test(harden, paranoid_puts_a_guard_page_after_a_large_object, .signal = SIGSEGV)
{
	init_preset(GORT_HARDEN_PARANOID, 0);
	volatile char *p = gort_malloc(40000);
	size_t pages = (40000 + 8 + GORT_PAGE_SIZE - 1) / GORT_PAGE_SIZE;
	p[pages * GORT_PAGE_SIZE - 1] = 1; /* the last byte of the object's pages */
	gt_raw_segv();
	p[pages * GORT_PAGE_SIZE] = 1; /* the guard page */
}

Test(harden, paranoid_puts_a_guard_page_after_each_small_span, .signal = SIGSEGV)
{
	init_preset(GORT_HARDEN_PARANOID, 0);
	char *p = gort_malloc(24);
	gort_object_info o = info_of(p);
	gort_sizeclass_info sc[GORT_NUM_SIZE_CLASSES];
	gort_inspect_sizeclasses(sc, GORT_NUM_SIZE_CLASSES);
	volatile char *end = (char *)o.span_base + sc[o.size_class].npages * GORT_PAGE_SIZE;
	end[-1] = 1;
	gt_raw_segv();
	end[0] = 1;
}

Test(harden, the_settings_are_read_only, .signal = SIGSEGV)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	gt_raw_segv();
	((harden_t *)gort_hard)->canary = false;
}

/* ------------------------------------------------------- randomisation */

static void addresses(uint64_t seed, uintptr_t *out, size_t n)
{
	gort_config cfg = {.arena_bytes = 64 * MiB, .seed = seed, .harden = GORT_HARDEN_PARANOID};
	gt_init_config(&cfg);
	for (size_t i = 0; i < n; i++)
		out[i] = (uintptr_t)gort_malloc(24);
	gort_shutdown();
}

Test(harden, paranoid_slots_are_random_and_repeat_with_the_seed)
{
	enum { N = 300 };
	uintptr_t a[N], b[N], c[N];
	addresses(7, a, N);
	addresses(7, b, N);
	addresses(8, c, N);
	cr_assert_eq(memcmp(a, b, sizeof a), 0, "the same seed gave other slots");
	cr_assert_neq(memcmp(a, c, sizeof a), 0, "another seed gave the same slots");
	size_t ascending = 0;
	for (size_t i = 1; i < N; i++)
		ascending += a[i] > a[i - 1];
	cr_assert_lt(ascending, N * 3 / 4, "slots handed out in address order: %zu of %d",
		     ascending, N);
	init_preset(GORT_HARDEN_DEFAULT, 0);
	uintptr_t prev = 0;
	for (size_t i = 0; i < 100; i++) {
		uintptr_t p = (uintptr_t)gort_malloc(24);
		cr_assert_gt(p, prev, "default hands slots out lowest first");
		prev = p;
	}
}

/* Paranoid spans are followed by 1 to 4 guard pages at random: the spans of
 * 20 classes allocated in a row are not where default puts them, and the
 * same seed puts them in the same places. */
static void span_bases(uint64_t seed, int preset, uintptr_t *out, size_t n)
{
	gort_config cfg = {.arena_bytes = 64 * MiB, .seed = seed, .harden = preset};
	gt_init_config(&cfg);
	for (size_t i = 0; i < n; i++)
		out[i] = info_of(gort_malloc(16 * (i + 1) * 8)).span_base;
	gort_shutdown();
}

Test(harden, paranoid_span_placement_is_random_and_repeats_with_the_seed)
{
	enum { N = 20 };
	uintptr_t a[N], b[N], c[N], d[N];
	span_bases(7, GORT_HARDEN_PARANOID, a, N);
	span_bases(7, GORT_HARDEN_PARANOID, b, N);
	span_bases(8, GORT_HARDEN_PARANOID, c, N);
	span_bases(7, GORT_HARDEN_DEFAULT, d, N);
	cr_assert_eq(memcmp(a, b, sizeof a), 0, "the same seed placed spans elsewhere");
	cr_assert_neq(memcmp(a, c, sizeof a), 0, "another seed placed spans the same");
	size_t moved = 0;
	for (size_t i = 0; i < N; i++) {
		moved += a[i] != d[i];
		cr_assert(i == 0 || d[i] >= d[i - 1], "default spans should be in address order");
	}
	cr_assert_gt(moved, N / 2, "paranoid spans mostly where default puts them (%zu moved)",
		     moved);
}

/* A zero-size object is an address no byte of which may be touched: unique,
 * outside the heap's spans, freed and checked like any other object. */
Test(harden, zero_size_objects_have_no_byte)
{
	gort_config cfg = {.threaded = 1, .harden = GORT_HARDEN_DEFAULT};
	gt_init_config(&cfg);
	void *p = gort_malloc(0), *q = gort_calloc(0, 8), *r = gort_realloc(gort_malloc(8), 0);
	cr_assert(p && q && r && p != q && q != r && p != r);
	gort_object_info o;
	cr_assert_neq(gort_inspect_object(p, &o), 0, "a zero-size object in a span");
	cr_assert_eq(gort_usable_size(p), 0);
	void *big = gort_realloc(p, 100);
	cr_assert_not_null(big);
	gort_free(q);
	gt_record_errors();
	gort_free(q);
	cr_assert(gt_reports() == 1 && gt_rec.kind == GORT_ERR_DOUBLE_FREE, "%s", gt_rec.message);
	cr_assert_eq(gort_usable_size(q), 0);
	cr_assert(gt_reports() == 2 && gt_rec.kind == GORT_ERR_USE_AFTER_FREE, "%s",
		  gt_rec.message);
	cr_assert_str_eq(gt_rec.op, "usable_size");
	gort_free((char *)r + 1);
	cr_assert(gt_reports() == 3 && gt_rec.kind == GORT_ERR_INVALID_FREE, "%s", gt_rec.message);
	gort_free(r);
	gort_free(big);
	cr_assert_eq(gt_reports(), 3);
	cr_assert_eq(gort_check(), 0);
}

/* ---------------------------------------------------------------- messages */

static void free_twice(void *p)
{
	gort_free(p);
	gort_free(p);
}

Test(harden, a_report_from_a_goroutine_names_it)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	gort_go(free_twice, gort_malloc(40));
	int64_t id = gort_go(free_twice, gort_malloc(40)); /* runnext: it runs first */
	cr_assert_eq(gort_step(), 1);
	cr_assert_eq(gt_reports(), 1);
	char want[32];
	snprintf(want, sizeof want, ", goroutine %lld)", (long long)id);
	cr_assert(strstr(gt_rec.message, want), "%s lacks '%s'", gt_rec.message, want);
	cr_assert(!strstr(gt_rec.detail, "goroutine"), "detail is the allocator's alone");
	gort_run();
	cr_assert_eq(gt_reports(), 2);
	gt_reset_reports();
	gort_free(gort_malloc(8));
	void *q = gort_malloc(8);
	gort_free(q);
	gort_free(q);
	cr_assert(!strstr(gt_rec.message, "goroutine"), "outside a G: %s", gt_rec.message);
}

/* Found by fuzz_harden: n + 8 wrapped for n within 8 bytes of SIZE_MAX, so
 * aligned_alloc handed out a small slot and realloc "resized" in place. */
Test(harden, requests_near_size_max_fail_with_enomem)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 3, SIZE_MAX - 7, SIZE_MAX - 8};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		errno = 0;
		cr_assert_null(gort_malloc(huge[i]), "malloc(SIZE_MAX - %zu)", SIZE_MAX - huge[i]);
		cr_assert_eq(errno, ENOMEM);
		errno = 0;
		cr_assert_null(gort_aligned_alloc(4096, huge[i]));
		cr_assert_eq(errno, ENOMEM, "aligned_alloc(4096, SIZE_MAX - %zu)", SIZE_MAX - huge[i]);
		void *p = gort_malloc(0);
		errno = 0;
		cr_assert_null(gort_realloc(p, huge[i]), "realloc to SIZE_MAX - %zu",
			       SIZE_MAX - huge[i]);
		cr_assert_eq(errno, ENOMEM);
		cr_assert_eq(gort_usable_size(p), 0, "the object is unchanged");
		gort_free(p);
	}
	gt_expect_clean();
}

/* An aligned_alloc that starts the runtime (the drop-in's first call may be
 * posix_memalign) must size its slot for the preset init chooses, not for
 * the light settings in force before init. */
Test(harden, aligned_alloc_as_the_first_call_keeps_its_alignment)
{
	unsetenv("GORT_HARDEN");
	char *p = gort_aligned_alloc(64, 100);
	cr_assert_not_null(p);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_DEFAULT);
	cr_assert_eq((uintptr_t)p % 64, 0, "%p is not 64-byte aligned", (void *)p);
	cr_assert_eq(gort_usable_size(p), 100);
	gort_free(p);
}

/* A GORT_HARDEN that names no preset: default, and one line on stderr. */
Test(harden, a_bad_GORT_HARDEN_is_reported_once_and_default_used,
     .init = cr_redirect_stderr)
{
	setenv("GORT_HARDEN", "strict", 1);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_DEFAULT);
	cr_assert_eq(gort_harden_preset(), GORT_HARDEN_DEFAULT);
	fflush(stderr);
	cr_assert_stderr_eq_str("gort: GORT_HARDEN is not light, default or paranoid: using default\n");
	unsetenv("GORT_HARDEN");
}

/* Freed large objects wait in a FIFO of the quarantine's length: the
 * oldest goes back to the heap when a newer one arrives. */
Test(harden, the_large_quarantine_is_a_fifo)
{
	init_preset(GORT_HARDEN_DEFAULT, 2);
	void *a = gort_malloc(100000), *b = gort_malloc(100000), *c = gort_malloc(100000);
	gort_free(a);
	gort_free(b);
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 2);
	gort_object_info o;
	cr_assert_eq(gort_inspect_object(a, &o), 0, "a left the quarantine too early");
	gort_free(c);
	cr_assert_neq(gort_inspect_object(a, &o), 0, "a is still held after a third free");
	cr_assert_eq(gort_inspect_object(b, &o), 0);
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 2);
	cr_assert_eq(ms.large_allocs - ms.by_size[0].frees, 2, "held objects count as live");
	gt_expect_clean();
}

/* The byte bound can push several objects out with one free: they leave
 * the FIFO together, oldest first, each counted freed once, their pages
 * usable again, and everything else held as it was. */
/* The large quarantine's byte bound (paranoid: 256 MiB, pages dropped). */
static void pushed_out_by_bytes(int preset, size_t bound)
{
	gort_config cfg = {.arena_bytes = 1024 * MiB, .harden = preset, .quarantine = 64};
	gt_init_config(&cfg);
	gt_record_errors();
	enum { SMALL = 4, BIG = 4 };
	void *small[SMALL], *big[BIG];
	for (int i = 0; i < SMALL; i++)
		small[i] = gort_malloc(1 * MiB);
	for (int i = 0; i < BIG; i++)
		big[i] = gort_malloc(bound / 4 - 2 * MiB);
	void *last = gort_malloc(bound / 4 - 64 * 1024); /* room for paranoid guard pages */
	for (int i = 0; i < SMALL; i++)
		gort_free(small[i]);
	for (int i = 0; i < BIG; i++)
		gort_free(big[i]); /* 4 x 1 MiB + 4 x (bound/4 - 2 MiB) and their pages: < bound */
	struct gort_memstats ms;
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, SMALL + BIG);
	uint64_t frees = ms.by_size[0].frees;

	gort_free(last); /* over the bound: every small one and the first big one go */
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, BIG, "held %llu",
		     (unsigned long long)ms.quarantine_objects);
	cr_assert_leq(ms.quarantine_bytes, bound);
	cr_assert_eq(ms.by_size[0].frees, frees + SMALL + 1, "each evicted object counted once");
	cr_assert_eq(ms.large_allocs - ms.by_size[0].frees, BIG, "held objects count as live");
	gort_object_info o;
	for (int i = 0; i < SMALL; i++)
		cr_assert_neq(gort_inspect_object(small[i], &o), 0, "small %d still held", i);
	cr_assert_neq(gort_inspect_object(big[0], &o), 0, "the oldest big one still held");
	for (int i = 1; i < BIG; i++)
		cr_assert_eq(gort_inspect_object(big[i], &o), 0, "big %d left too early", i);
	cr_assert_eq(gort_inspect_object(last, &o), 0);
	gt_expect_clean();
	/* The evicted pages are plain heap again: writable, and reused. */
	char *again = gort_malloc(1 * MiB);
	cr_assert_not_null(again);
	memset(again, 1, 1 * MiB);
	gort_free(again);
	gt_expect_clean();
}

/* Default quarantines large objects of up to 4 MiB only: a guard's
 * page-table work grows with the object, and default's checks are O(1). */
Test(harden, default_quarantines_large_objects_up_to_four_mebibytes)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .harden = GORT_HARDEN_DEFAULT};
	gt_init_config(&cfg);
	gt_record_errors();
	struct gort_memstats ms;
	void *fits = gort_malloc(4 * MiB - 4096), *over = gort_malloc(4 * MiB + 4096);
	gort_free(fits);
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 1, "a 4 MiB object is not held");
	gort_free(over);
	gort_memstats(&ms);
	cr_assert_eq(ms.quarantine_objects, 1, "an object over 4 MiB is held");
	gt_expect_clean();
	gort_shutdown();
}

Test(harden, one_large_free_can_push_several_objects_out_by_bytes_paranoid)
{
	pushed_out_by_bytes(GORT_HARDEN_PARANOID, 256 * MiB);
}

/* ------------------------------------------------------------ alignment */

static void assert_abi_aligned(const void *p, size_t n, const char *what, int preset)
{
	cr_assert_not_null(p, "%s(%zu) in %s", what, n, gort_harden_name(preset));
	uintptr_t a = (uintptr_t)p;
	if (n >= 16)
		cr_assert_eq(a % GORT_MALLOC_ALIGN, 0, "%s(%zu) = %p in %s: not 16-aligned", what, n,
			     p, gort_harden_name(preset));
	else if (n >= 8)
		cr_assert_eq(a % 8, 0, "%s(%zu) = %p in %s: not 8-aligned", what, n, p,
			     gort_harden_name(preset));
}

/* gort.h's alignment contract, for every small size and a stride of
 * sizes up to 1 MiB, through malloc, calloc, realloc and gort_alloc, in each
 * preset (the canary's 8 bytes once pushed 16-byte requests into Go's
 * 24-byte class). */
Test(harden, the_malloc_family_keeps_the_abi_alignment_in_every_preset, .timeout = 60)
{
	static const int presets[] = {GORT_HARDEN_LIGHT, GORT_HARDEN_DEFAULT, GORT_HARDEN_PARANOID};
	for (size_t i = 0; i < 3; i++) {
		init_preset(presets[i], 0);
		for (size_t n = 0; n <= ((size_t)1 << 20); n += n < 33000 ? 1 : 8191) {
			void *p = gort_malloc(n), *q = gort_calloc(1, n), *r = gort_alloc(n, 0);
			assert_abi_aligned(p, n, "malloc", presets[i]);
			assert_abi_aligned(q, n, "calloc", presets[i]);
			assert_abi_aligned(r, n, "alloc", presets[i]);
			size_t grown = n + 1 + n % 40;
			p = gort_realloc(p, grown);
			assert_abi_aligned(p, grown, "realloc", presets[i]);
			gort_free(p);
			gort_free(q);
			gort_free(r);
		}
		cr_assert_eq(gt_rec.count, 0, "no misuse reported: %s", gt_rec.message);
		cr_assert_eq(gort_check(), 0);
		fini();
	}
}

/* GORT_NOSCAN keeps Go's classes: a 24-byte noscan object sits in the
 * 24-byte class at 8-byte alignment, in every preset without canaries. */
Test(harden, noscan_requests_keep_gos_24_byte_class)
{
	init_preset(GORT_HARDEN_LIGHT, 0);
	void *p = gort_alloc(24, GORT_NOSCAN), *q = gort_malloc(24);
	cr_assert_eq(info_of(p).elemsize, 24);
	cr_assert_eq(info_of(q).elemsize, 32, "malloc(24) takes the 32-byte class");
	gort_free(p);
	gort_free(q);
}

/* Default keeps a quarantined large object's pages under PROT_NONE (no
 * refault when they are reused); paranoid drops them. Either way they
 * fault while held, and a calloc after they come back reads zero. */
static void large_quarantine_pages(int preset, bool kept)
{
	gort_config cfg = {.arena_bytes = 256 * MiB, .harden = preset, .quarantine = 2};
	gt_init_config(&cfg);
	gt_record_errors();
	const size_t n = 1 * MiB;
	char *p = gort_malloc(n);
	memset(p, 0x5a, n);
	gort_free(p);
	size_t resident = gt_resident_pages(p, n);
	if (kept)
		cr_assert_eq(resident, n / 4096, "only %zu pages kept", resident);
	else
		cr_assert_eq(resident, 0, "%zu pages kept", resident);
	for (int i = 0; i < 2; i++) /* push p out */
		gort_free(gort_malloc(n));
	char *q = gort_calloc(1, n);
	cr_assert_not_null(q);
	cr_assert_eq(gt_nonzero_at(q, n), n, "calloc over a quarantined object's pages");
	gort_free(q);
	gt_expect_clean();
	gort_shutdown();
}

/* Default fences a large free (its pages fault) when its thread made
 * LQUAR_FENCE_EVERY allocator calls since its last fence; a thread's first
 * large free always is. In between, freed large objects get their head
 * zeroed instead, and stay readable. */
Test(harden, default_fences_large_frees_paced_by_calls)
{
	init_preset(GORT_HARDEN_DEFAULT, 8);
	char *a = gort_malloc(100000), *b = gort_malloc(100000), *c = gort_malloc(100000);
	memset(b, 0x5a, 100000);
	gort_free(a);
	cr_assert_not(gt_readable(a), "the first large free is fenced");
	gort_free(b);
	cr_assert(gt_readable(b), "the next one, right after, is not");
	cr_assert_eq(gt_nonzero_at(b, GORT_ZERO_CHECK_BYTES), GORT_ZERO_CHECK_BYTES,
		     "its head reads zero");
	cr_assert_eq((unsigned char)b[GORT_ZERO_CHECK_BYTES], 0x5a, "only its head is zeroed");
	for (int i = 0; i < LQUAR_FENCE_EVERY; i++)
		gort_free(gort_malloc(32)); /* a call, and one when it leaves the quarantine */
	gort_free(c);
	cr_assert_not(gt_readable(c), "fenced again after LQUAR_FENCE_EVERY calls");
	gt_expect_clean();
}

Test(harden, paranoid_fences_every_large_free)
{
	init_preset(GORT_HARDEN_PARANOID, 8);
	for (int i = 0; i < 4; i++) {
		char *p = gort_malloc(100000);
		gort_free(p);
		cr_assert_not(gt_readable(p), "large free %d not fenced", i);
	}
	gt_expect_clean();
}

/* An unfenced large object written after its free: gort_check names it
 * while it is held, and the free that pushes it out reports it. */
static char *written_after_free(void)
{
	init_preset(GORT_HARDEN_DEFAULT, 2);
	gort_free(gort_malloc(100000)); /* takes the fence */
	char *p = gort_malloc(100000);
	gort_free(p);
	cr_assert(gt_readable(p));
	p[40] = 1;
	return p;
}

Test(harden, gort_check_finds_a_write_into_an_unfenced_large_object)
{
	char *p = written_after_free();
	cr_assert_neq(gort_check(), 0);
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_CORRUPTION);
	cr_assert(strstr(gt_rec.detail, "large object in quarantine was written"), "%s",
		  gt_rec.detail);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
}

Test(harden, a_write_into_an_unfenced_large_object_is_reported_when_it_leaves)
{
	char *p = written_after_free();
	for (int i = 0; i < 2; i++) /* push p out */
		gort_free(gort_malloc(100000));
	cr_assert_eq(gt_reports(), 1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
	cr_assert(strstr(gt_rec.detail, "written after free at +40"), "%s", gt_rec.detail);
	gt_reset_reports();
	gt_expect_clean(); /* repaired and back in the heap */
}

/* The report comes once every span pushed out is back in the heap: a
 * handler that longjmps out of it leaves a whole heap. */
Test(harden, a_handler_escaping_the_large_write_report_leaves_a_whole_heap)
{
	char *volatile p = written_after_free();
	char *q = gort_malloc(100000);
	gort_set_error_handler(gt_jumping_handler, NULL);
	if (setjmp(gt_escape) == 0) {
		gort_free(q); /* q in, p out */
		gort_free(gort_malloc(100000)); /* pushes q out too, if the first did not report */
		cr_assert_fail("the write after free was not reported");
	}
	gt_record_errors();
	cr_assert_eq(gt_rec.kind, GORT_ERR_USE_AFTER_FREE);
	cr_assert_eq(gt_rec.address, (uintptr_t)p);
	gt_reset_reports();
	gt_expect_clean();
}

Test(harden, default_keeps_a_quarantined_large_objects_pages)
{
	large_quarantine_pages(GORT_HARDEN_DEFAULT, true);
}

Test(harden, paranoid_drops_a_quarantined_large_objects_pages)
{
	large_quarantine_pages(GORT_HARDEN_PARANOID, false);
}

/* ------------------------------------------------------ live canaries */

/* gort_check_canaries finds the overflow of an object nobody frees, names
 * it, and leaves freed, quarantined and whole objects alone. */
static void live_canaries(int preset)
{
	init_preset(preset, 4);
	char *keep = gort_malloc(100), *big = gort_malloc(40000), *gone = gort_malloc(100);
	gort_free(gone); /* in the quarantine: not live */
	cr_assert_eq(gort_check_canaries(), 0);
	cr_assert_eq(gt_reports(), 0);
	keep[101] ^= 1;
	cr_assert_eq(gort_check_canaries(), -1);
	cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_OVERFLOW, "%s", gt_rec.message);
	cr_assert_eq(gt_rec.address, (uintptr_t)keep);
	cr_assert(strstr(gt_rec.detail, "canary at +101 damaged"), "%s", gt_rec.detail);
	keep[101] ^= 1;
	big[40002] ^= 1;
	gt_reset_reports();
	cr_assert_eq(gort_check_canaries(), -1);
	cr_assert_eq(gt_rec.address, (uintptr_t)big);
	cr_assert(strstr(gt_rec.detail, "requested 40000 B"), "%s", gt_rec.detail);
	big[40002] ^= 1;
	gt_reset_reports();
	cr_assert_eq(gort_check_canaries(), 0);
	gort_free(keep);
	gort_free(big);
	gt_expect_clean();
}

Test(harden, gort_check_canaries_finds_an_overflow_of_a_live_object_in_default)
{
	live_canaries(GORT_HARDEN_DEFAULT);
}

Test(harden, gort_check_canaries_finds_an_overflow_of_a_live_object_in_paranoid)
{
	live_canaries(GORT_HARDEN_PARANOID);
}

Test(harden, gort_check_canaries_has_nothing_to_check_in_light)
{
	init_preset(GORT_HARDEN_LIGHT, 0);
	char *p = gort_malloc(100);
	p[100] = 1; /* the slot's own slack: light makes no promise */
	cr_assert_eq(gort_check_canaries(), 0);
	gort_free(p);
	gt_expect_clean();
}

/* Damage to a canary word's family bits changes the family read back and
 * so the whole word expected: the offset reported must still be the byte
 * that was damaged, for every value it could be damaged with. */
static void canary_byte1_damage_named(size_t n)
{
	init_preset(GORT_HARDEN_DEFAULT, 0);
	char *p = gort_malloc(n);
	gort_object_info oi;
	cr_assert_eq(gort_inspect_object(p, &oi), 0);
	size_t at = n >= 32768 ? n + 1 : oi.elemsize - 8 + 1; /* byte 1 of the canary word */
	char want[40];
	snprintf(want, sizeof want, "canary at +%zu damaged", at);
	for (unsigned x = 1; x < 256; x++) {
		p[at] ^= (char)x;
		gt_reset_reports();
		cr_assert_eq(gort_usable_size(p), 0, "x %#x", x);
		cr_assert_eq(gt_rec.kind, GORT_ERR_HEAP_OVERFLOW, "x %#x: %s", x, gt_rec.message);
		cr_assert(strstr(gt_rec.detail, want), "x %#x: %s, want %s", x, gt_rec.detail, want);
		p[at] ^= (char)x;
	}
	gt_reset_reports();
	gort_free(p);
	gt_expect_clean();
}

Test(harden, damage_to_a_small_canarys_family_bits_is_named_at_its_byte)
{
	canary_byte1_damage_named(100);
}

Test(harden, damage_to_a_large_canarys_family_bits_is_named_at_its_byte)
{
	canary_byte1_damage_named(118351);
}
