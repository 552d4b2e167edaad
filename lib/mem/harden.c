/*
 * harden.c — the presets, the canary secret, and the canaries themselves.
 *
 * Owns gort_hard (the settings in force, read-only after init), the choice
 * of preset (gort_config.harden, else $GORT_HARDEN, else default) and the
 * canary encoding described in harden.h. The secret comes from the OS in
 * threaded mode and from the seed in step mode, so a stepped run, canary
 * bytes included, repeats exactly.
 */
#include "mem/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const harden_t light = {.preset = GORT_HARDEN_LIGHT};
const harden_t *gort_hard = &light;
static harden_t *hard_page;

static const char *const preset_names[] = {
	[GORT_HARDEN_AUTO] = "auto",
	[GORT_HARDEN_LIGHT] = "light",
	[GORT_HARDEN_DEFAULT] = "default",
	[GORT_HARDEN_PARANOID] = "paranoid",
};

const char *gort_harden_name(int preset)
{
	if (preset < GORT_HARDEN_AUTO || preset > GORT_HARDEN_PARANOID)
		return "unknown";
	return preset_names[preset];
}

/* $GORT_HARDEN, read without allocating; a value that names no preset is
 * reported once and the default taken, since a preloaded allocator has no
 * caller to return an error to. */
static int preset_from_env(void)
{
	const char *v = getenv("GORT_HARDEN");
	if (!v || !*v)
		return GORT_HARDEN_DEFAULT;
	for (int p = GORT_HARDEN_LIGHT; p <= GORT_HARDEN_PARANOID; p++)
		if (strcmp(v, preset_names[p]) == 0)
			return p;
	static int warned;
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
		static const char msg[] = "gort: GORT_HARDEN is not light, default or paranoid: "
					  "using default\n";
		gort_os_write_all(2, msg, sizeof msg - 1);
	}
	return GORT_HARDEN_DEFAULT;
}

int gort_harden_preset(void)
{
	if (ld_acq(&gort_mem.state) == 2)
		return gort_hard->preset;
	return preset_from_env();
}

static uint64_t make_secret(const gort_config *cfg)
{
	if (!cfg->threaded)
		return gort_mix64((cfg->seed ? cfg->seed : 0x676f7274ull) ^ 0x63616e617279ull);
	uint64_t r = gort_os_random64();
	if (!r)
		r = gort_mix64(gort_os_nanotime() ^ (uintptr_t)&r);
	return r;
}

static void settle(harden_t *h, const gort_config *cfg, int preset)
{
	memset(h, 0, sizeof *h);
	h->preset = preset;
	if (preset >= GORT_HARDEN_DEFAULT) {
		h->checks = h->canary = h->zero_check = true;
		h->zero_bytes = GORT_ZERO_CHECK_BYTES;
		h->quarantine = cfg->quarantine ? cfg->quarantine : 8;
		h->lquar_keeps = true;
		h->lquar_bytes = LQUAR_DEFAULT_BYTES;
		h->lquar_object = LQUAR_DEFAULT_OBJECT;
		h->lquar_fence_every = LQUAR_FENCE_EVERY;
	}
	if (preset >= GORT_HARDEN_PARANOID) {
		h->randomize = h->guard_spans = h->guard_large = true;
		h->zero_bytes = UINT32_MAX;
		h->lquar_keeps = false;
		h->lquar_bytes = LQUAR_MAX_BYTES;
		h->lquar_object = LQUAR_MAX_OBJECT;
		h->lquar_fence_every = 0;
		h->quarantine = cfg->quarantine ? cfg->quarantine : 64;
	}
	h->secret = make_secret(cfg);
}

int gort_harden_init(const gort_config *cfg)
{
	int preset = cfg->harden;
	if (preset < GORT_HARDEN_AUTO || preset > GORT_HARDEN_PARANOID ||
	    cfg->quarantine > QUARANTINE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (preset == GORT_HARDEN_AUTO)
		preset = preset_from_env();
	size_t page = gort_os_page_size();
	harden_t *h = gort_os_map(page);
	if (!h) {
		errno = ENOMEM;
		return -1;
	}
	settle(h, cfg, preset);
	/* Read-only from here: nothing writes the settings until shutdown. */
	(void)gort_os_protect_read(h, page);
	hard_page = h;
	__atomic_store_n(&gort_hard, h, __ATOMIC_RELEASE);
	return 0;
}

void gort_harden_shutdown(void)
{
	__atomic_store_n(&gort_hard, &light, __ATOMIC_RELEASE);
	if (hard_page)
		gort_os_unmap(hard_page, gort_os_page_size());
	hard_page = NULL;
}

/* --------------------------------------------------------------- canary */

static uint64_t slot_mac(uintptr_t slot, uint64_t tag)
{
	return gort_mix64(gort_hard->secret ^ slot ^ (tag << 48) ^ (tag >> 16));
}

/* slack in the top 16 bits, 38 bits of MAC, the family in bits 8-9, and a
 * zero low byte (the terminator when the slack is exactly 8). */
static uint64_t trailer_of(uint64_t mac, size_t slack, unsigned family)
{
	return ((uint64_t)slack << 48) | ((mac & 0x3fffffffffull) << 10) | ((uint64_t)family << 8);
}

static unsigned family_of(uint64_t word)
{
	return (unsigned)(word >> 8) & 3;
}

static uint8_t pattern_of(uint64_t mac)
{
	return (uint8_t)(mac >> 56) | 1; /* never 0: a stray NUL is caught too */
}

void gort_canary_set(uintptr_t slot, size_t elemsize, size_t request)
{
	gort_canary_set_family(slot, elemsize, request, GORT_FAMILY_MALLOC);
}

void gort_canary_set_family(uintptr_t slot, size_t elemsize, size_t request, unsigned family)
{
	size_t slack = elemsize - request;
	uint64_t mac = slot_mac(slot, slack | (size_t)family << 16);
	uint8_t *p = (uint8_t *)slot;
	size_t trailer = elemsize - CANARY_BYTES;
	if (request < trailer) {
		p[request] = 0;
		size_t end = request + 1 + CANARY_CHECK < trailer ? request + 1 + CANARY_CHECK : trailer;
		memset(p + request + 1, pattern_of(mac), end - (request + 1));
	}
	uint64_t word = trailer_of(mac, slack, family);
	memcpy(p + trailer, &word, sizeof word);
}

unsigned gort_canary_family(uintptr_t slot, size_t elemsize)
{
	uint64_t word;
	memcpy(&word, (const void *)(slot + elemsize - CANARY_BYTES), sizeof word);
	return family_of(word);
}

/* Offset of the first byte where a and b differ (they do differ). */
static size_t first_diff_byte(uint64_t a, uint64_t b)
{
	return (size_t)__builtin_ctzll(a ^ b) / 8;
}

static unsigned bytes_differing(uint64_t a, uint64_t b)
{
	unsigned n = 0;
	for (uint64_t d = a ^ b; d; d >>= 8)
		n += (d & 0xff) != 0;
	return n;
}

/* The first damaged byte of a canary word that matches none of the words
 * its four families would have (want[f]). The family bits are part of
 * what the MAC covers, so when the damage hits them the family read back
 * is wrong and so is its whole expected word: the word the canary was
 * written as is the one it differs from in the fewest bytes (damage is a
 * byte or a few; a wrong family's MAC differs in most). */
static size_t first_damaged_byte(uint64_t word, const uint64_t want[4])
{
	unsigned best = 0, fewest = 9;
	for (unsigned f = 0; f < 4; f++) {
		unsigned n = bytes_differing(word, want[f]);
		if (n < fewest)
			fewest = n, best = f;
	}
	return first_diff_byte(word, want[best]);
}

size_t gort_canary_request(uintptr_t slot, size_t elemsize, size_t *bad)
{
	const uint8_t *p = (const uint8_t *)slot;
	size_t trailer = elemsize - CANARY_BYTES;
	uint64_t word;
	memcpy(&word, p + trailer, sizeof word);
	size_t slack = (size_t)(word >> 48);
	if (slack < CANARY_BYTES || slack > elemsize) {
		*bad = trailer + 6;
		return (size_t)-1;
	}
	unsigned family = family_of(word);
	uint64_t mac = slot_mac(slot, slack | (size_t)family << 16);
	if (word != trailer_of(mac, slack, family)) {
		uint64_t want[4];
		for (unsigned f = 0; f < 4; f++)
			want[f] = trailer_of(slot_mac(slot, slack | (size_t)f << 16), slack, f);
		*bad = trailer + first_damaged_byte(word, want);
		return (size_t)-1;
	}
	size_t request = elemsize - slack;
	if (request < trailer) {
		if (p[request] != 0) {
			*bad = request;
			return (size_t)-1;
		}
		size_t end = request + 1 + CANARY_CHECK < trailer ? request + 1 + CANARY_CHECK : trailer;
		uint8_t pat = pattern_of(mac);
		uint64_t pat8 = 0x0101010101010101ull * pat;
		size_t i = request + 1;
		for (; i + 8 <= end; i += 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			if (v != pat8)
				break;
		}
		for (; i < end; i++)
			if (p[i] != pat) {
				*bad = i;
				return (size_t)-1;
			}
	}
	return request;
}

/* Low byte 0 (a string terminator), the family in bits 8-9, MAC above. */
static uint64_t large_canary(uintptr_t base, size_t request, unsigned family)
{
	uint64_t mac = slot_mac(base, request ^ ((size_t)family << 62));
	return (mac & ~(uint64_t)0x3ff) | ((uint64_t)family << 8);
}

void gort_large_canary_set(uintptr_t base, size_t request)
{
	gort_large_canary_set_family(base, request, GORT_FAMILY_MALLOC);
}

/* After the canary word, up to CANARY_CHECK pattern bytes derived from
 * it, within the object's last page (a large span is whole pages, so they
 * are always its own): an overflow that jumps the word is caught too. */
static size_t large_pattern_len(uintptr_t base, size_t request)
{
	size_t at = (base + request + CANARY_BYTES) % PAGE_SIZE;
	size_t room = at ? PAGE_SIZE - at : 0;
	return room < CANARY_CHECK ? room : CANARY_CHECK;
}

void gort_large_canary_set_family(uintptr_t base, size_t request, unsigned family)
{
	uint64_t word = large_canary(base, request, family);
	memcpy((void *)(base + request), &word, sizeof word);
	memset((void *)(base + request + CANARY_BYTES), pattern_of(word),
	       large_pattern_len(base, request));
}

unsigned gort_large_canary_family(uintptr_t base, size_t request)
{
	uint64_t word;
	memcpy(&word, (const void *)(base + request), sizeof word);
	return family_of(word);
}

bool gort_large_canary_ok(uintptr_t base, size_t request, size_t *bad)
{
	uint64_t word;
	memcpy(&word, (const void *)(base + request), sizeof word);
	if (word != large_canary(base, request, family_of(word))) {
		uint64_t want[4];
		for (unsigned f = 0; f < 4; f++)
			want[f] = large_canary(base, request, f);
		*bad = request + first_damaged_byte(word, want);
		return false;
	}
	const uint8_t *pat = (const uint8_t *)(base + request + CANARY_BYTES);
	uint8_t b = pattern_of(word);
	for (size_t i = 0, n = large_pattern_len(base, request); i < n; i++)
		if (pat[i] != b) {
			*bad = request + CANARY_BYTES + i;
			return false;
		}
	return true;
}

/* The common answer is "all zero". Most slots are small, 8-byte aligned
 * and sized: their words are ORed inline, cheaper than a call. Past
 * ZERO_INLINE_MAX bytes the C library's memcmp against a block of zeros is
 * faster (vectorised for the machine it runs on). The byte itself is looked
 * for only in a block that differs. */
#define ZERO_INLINE_MAX 64
static const uint8_t zeros[4096];

static size_t first_nonzero_byte(const uint8_t *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i])
			return i;
	return to;
}

static bool words_zero(const uint8_t *b, size_t n)
{
	uint64_t acc = 0;
	for (size_t i = 0; i < n; i += sizeof acc) {
		uint64_t w;
		memcpy(&w, b + i, sizeof w);
		acc |= w;
	}
	return acc == 0;
}

size_t gort_first_nonzero(const void *p, size_t n)
{
	const uint8_t *b = p;
	if (n <= ZERO_INLINE_MAX && ((uintptr_t)p | n) % sizeof(uint64_t) == 0)
		return words_zero(b, n) ? n : first_nonzero_byte(b, 0, n);
	for (size_t off = 0; off < n; off += sizeof zeros) {
		size_t len = n - off < sizeof zeros ? n - off : sizeof zeros;
		if (memcmp(b + off, zeros, len) != 0)
			return first_nonzero_byte(b, off, off + len);
	}
	return n;
}

void gort_zero_prefixes(const harden_t *h, uintptr_t base, size_t n, size_t elemsize)
{
	size_t zlen = harden_zero_len(h, elemsize);
	if (zlen == elemsize) {
		memset((void *)base, 0, n * elemsize);
		return;
	}
	for (size_t i = 0; i < n; i++)
		memset((void *)(base + i * elemsize), 0, zlen);
}

size_t gort_first_dirty_prefix(const harden_t *h, uintptr_t base, size_t n, size_t elemsize)
{
	size_t zlen = harden_zero_len(h, elemsize);
	if (zlen == elemsize)
		return gort_first_nonzero((const void *)base, n * elemsize);
	for (size_t i = 0; i < n; i++) {
		size_t off = gort_first_nonzero((const void *)(base + i * elemsize), zlen);
		if (off != zlen)
			return i * elemsize + off;
	}
	return n * elemsize;
}
