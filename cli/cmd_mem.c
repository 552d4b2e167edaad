/*
 * cmd_mem.c — the allocator commands: init, alloc, calloc, realloc, free,
 * release, stats. Each prints what the allocator did in its own terms:
 * the value's number, the address, the size class, the span and the slot.
 *
 * Invariants: a command that gort rejects (double free, bad pointer, out
 * of memory) reports one error and changes no value's state.
 */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- init */

static int init_option(sh_t *sh, gort_config *c, const char *arg)
{
	const char *v;
	uint64_t n;
	if ((v = kv(arg, "procs"))) {
		if (!parse_u64(v, &n) || n == 0 || n > 256)
			return sh_error(sh, "init: procs must be 1..256, not '%s'", v);
		c->procs = (unsigned)n;
	} else if ((v = kv(arg, "arena"))) {
		if (!parse_size(v, &n) || n == 0)
			return sh_error(sh, "init: bad arena size '%s'", v);
		c->arena_bytes = n;
	} else if ((v = kv(arg, "stack"))) {
		if (!parse_size(v, &n) || n < SH_MIN_STACK)
			return sh_error(sh, "init: stack must be a size of at least " SH_MIN_STACK_TEXT
					    ", not '%s'",
					v);
		c->stack_bytes = n;
	} else if ((v = kv(arg, "seed"))) {
		if (!parse_u64(v, &n))
			return sh_error(sh, "init: bad seed '%s'", v);
		c->seed = n;
	} else if ((v = kv(arg, "harden"))) {
		if (sh_parse_harden(v, &c->harden) != 0)
			return sh_error(sh, "init: harden is light, default or paranoid, not '%s'", v);
	} else if ((v = kv(arg, "quarantine"))) {
		if (!parse_u64(v, &n) || n > 4096)
			return sh_error(sh, "init: quarantine must be 0..4096, not '%s'", v);
		c->quarantine = (unsigned)n;
	} else if ((v = kv(arg, "threads"))) {
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return sh_error(sh, "init: threads is on or off, not '%s'", v);
		c->threaded = strcmp(v, "on") == 0;
	} else {
		return sh_error(sh,
				"init: unknown setting '%s' (procs, arena, stack, seed, threads, harden, "
				"quarantine)",
				arg);
	}
	return 0;
}

/* Light keeps no quarantine: asking for one there is refused, and one
 * left from an earlier init is dropped, with a word (*dropped). */
static int check_quarantine(sh_t *sh, gort_config *c, const gort_config *old, unsigned *dropped)
{
	*dropped = 0;
	if (c->harden != GORT_HARDEN_LIGHT || c->quarantine == 0)
		return 0;
	if (c->quarantine != old->quarantine || old->harden == GORT_HARDEN_LIGHT)
		return sh_error(sh,
				"init: quarantine=%u needs harden=default or paranoid (light keeps "
				"no quarantine)",
				c->quarantine);
	*dropped = c->quarantine;
	c->quarantine = 0;
	return 0;
}

/* What init did that its line did not say: a rounded arena, a dropped
 * quarantine. */
static void init_notes(sh_t *sh, const gort_config *c, const gort_arena_info *ai, unsigned dropped)
{
	if (c->arena_bytes && ai->arena_bytes != c->arena_bytes)
		out(sh, "  (arena=%llu B: the heap's limit is rounded up to whole MiB, so %llu MiB)\n",
		    (unsigned long long)c->arena_bytes, (unsigned long long)(ai->arena_bytes >> 20));
	if (dropped)
		out(sh, "  (quarantine=%u dropped: light keeps no quarantine)\n", dropped);
	js_uint(sh, "arena_asked", c->arena_bytes);
	js_uint(sh, "quarantine", c->quarantine);
	js_uint(sh, "quarantine_dropped", dropped);
}

int cmd_init(sh_t *sh, sh_args *a)
{
	gort_config c = sh->cfg;
	unsigned dropped;
	for (int i = 1; i < a->argc; i++)
		if (init_option(sh, &c, a->argv[i].text) != 0)
			return -1;
	if (check_quarantine(sh, &c, &sh->cfg, &dropped) != 0)
		return -1;
	gort_config old = sh->cfg;
	sh->cfg = c;
	if (sh_runtime_init(sh) != 0) {
		int err = errno;
		sh->cfg = old;
		sh_runtime_init(sh);
		return sh_error(sh, "init: the runtime refused these settings: %s (kept the old ones)",
				strerror(err));
	}
	char sb[32], tb[32];
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	gort_sched_info si;
	gort_inspect_sched(&si);
	int preset = gort_harden_preset();
	out(sh, "runtime: %u P%s, arena %s at %s, stack %s, seed %llu, %s mode%s%s",
	    si.gomaxprocs, si.gomaxprocs == 1 ? "" : "s", fmt_size(ai.arena_bytes, sb),
	    ai.at_hint ? "0xc000000000" : "a random address",
	    fmt_size(c.stack_bytes ? c.stack_bytes : 64 << 10, tb), (unsigned long long)c.seed,
	    c.threaded ? "threaded" : "step", preset == GORT_HARDEN_LIGHT ? "" : ", harden ",
	    preset == GORT_HARDEN_LIGHT ? "" : gort_harden_name(preset));
	if (c.quarantine)
		out(sh, ", quarantine %u", c.quarantine);
	out(sh, "\n");
	js_begin(sh, "init");
	js_uint(sh, "procs", si.gomaxprocs);
	js_uint(sh, "arena", ai.arena_bytes);
	js_bool(sh, "at_hint", ai.at_hint);
	js_uint(sh, "stack", c.stack_bytes ? c.stack_bytes : 64 << 10);
	js_uint(sh, "seed", c.seed);
	js_bool(sh, "threaded", c.threaded);
	js_str(sh, "harden", gort_harden_name(preset));
	init_notes(sh, &c, &ai, dropped);
	js_end(sh);
	if (c.arena_bytes && ai.arena_bytes > c.arena_bytes)
		sh->cfg.arena_bytes = ai.arena_bytes; /* said once; the next init keeps it */
	return 0;
}

/* --------------------------------------------------------------- alloc */

/* Where a new object landed, in words and in JSON. */
static void show_object(sh_t *sh, const char *cmd, size_t k, const void *p, size_t size)
{
	char ab[40], sb[40], zb[32];
	gort_object_info oi;
	sh_value *v = val_get(sh, k);
	bool known = gort_inspect_object(p, &oi) == 0;
	out(sh, "%s$%zu%s = %s", col(sh, SH_C_BOLD), k, col(sh, SH_C_RESET), fmt_addr((uintptr_t)p, ab));
	js_begin(sh, cmd);
	js_uint(sh, "id", k);
	js_addr(sh, "addr", (uintptr_t)p);
	js_uint(sh, "size", size);
	js_str(sh, "name", v ? v->name : "");
	if (known) {
		if (oi.size_class == 0)
			out(sh, "  large (%s)", fmt_size(oi.elemsize, zb));
		else if (oi.tiny)
			out(sh, "  tiny, block %s+%lu", fmt_addr(oi.base, sb),
			    (unsigned long)((uintptr_t)p - oi.base));
		else
			out(sh, "  class %u (%s)", oi.size_class, fmt_size(oi.elemsize, zb));
		out(sh, "  span %s  slot %zu", fmt_addr(oi.span_base, sb), oi.slot);
		/* The span's class, as dump names it: tiny blocks are class
		 * GORT_TINY_SPAN_CLASS everywhere, not the 16 B size class. */
		js_uint(sh, "class", oi.span_class);
		js_uint(sh, "elemsize", oi.elemsize);
		js_addr(sh, "span", oi.span_base);
		js_uint(sh, "slot", oi.slot);
		js_bool(sh, "tiny", oi.tiny);
	}
	if (v && v->name[0])
		out(sh, "  as %s", v->name);
	out(sh, "\n");
	js_end(sh);
}

/* [noscan] [zero] [align=N] [as NAME] from argv[from] (flags and align
 * NULL where the command takes only a name). */
static int alloc_options(sh_t *sh, sh_args *a, int from, unsigned *flags, uint64_t *align,
			 const char **name)
{
	for (int i = from; i < a->argc; i++) {
		const char *w = a->argv[i].text, *v;
		if (flags && strcmp(w, "noscan") == 0) {
			*flags |= GORT_NOSCAN;
		} else if (flags && strcmp(w, "zero") == 0) {
			*flags |= GORT_ZERO;
		} else if (align && (v = kv(w, "align"))) {
			if (!parse_size(v, align) || *align == 0 || (*align & (*align - 1)))
				return sh_error(sh, "%s: align must be a power of two, not '%s'",
						a->argv[0].text, v);
		} else if (strcmp(w, "as") == 0 && i + 1 < a->argc) {
			*name = a->argv[++i].text;
			if (!valid_name(*name))
				return sh_error(sh, "%s: '%s' cannot be a name (a letter, then letters, "
						    "digits or _; not a command or keyword)",
						a->argv[0].text, *name);
		} else {
			return sh_error(sh, "%s: unexpected '%s'", a->argv[0].text, w);
		}
	}
	return 0;
}

/* A misuse found while allocating (a write after free seen at reuse) fails
 * the command: the new object is freed again (so no value refers to it)
 * and the command gives one result, its error. */
static bool misuse_while_allocating(sh_t *sh, void *p)
{
	if (!sh_gort_error(sh))
		return false;
	gort_free(p);
	return true;
}

static int record(sh_t *sh, const char *cmd, void *p, size_t size, const char *name)
{
	if (misuse_while_allocating(sh, p))
		return -1;
	size_t k = val_add(sh, (uintptr_t)p, size, name);
	if (k == 0) {
		gort_free(p);
		return sh_error(sh, "%s: too many values in this session", cmd);
	}
	show_object(sh, cmd, k, p, size);
	return 0;
}

int cmd_alloc(sh_t *sh, sh_args *a)
{
	uint64_t size, align = 0;
	unsigned flags = 0;
	const char *name = NULL;
	if (a->argc < 2)
		return sh_error(sh, "usage: alloc SIZE [noscan] [zero] [align=N] [as NAME]");
	if (!parse_size(a->argv[1].text, &size))
		return sh_error(sh, "alloc: bad size '%s'", a->argv[1].text);
	if (alloc_options(sh, a, 2, &flags, &align, &name) != 0)
		return -1;
	if (align && flags)
		return sh_error(sh, "alloc: align= goes alone (aligned_alloc has no flags)");
	void *p = align ? gort_aligned_alloc((size_t)align, (size_t)size)
			: gort_alloc((size_t)size, flags);
	if (!p)
		return sh_error(sh, "alloc: out of memory for %llu bytes", (unsigned long long)size);
	return record(sh, "alloc", p, (size_t)size, name);
}

int cmd_calloc(sh_t *sh, sh_args *a)
{
	uint64_t count, size;
	const char *name = NULL;
	if (a->argc < 3)
		return sh_error(sh, "usage: calloc COUNT SIZE [as NAME]");
	if (!parse_u64(a->argv[1].text, &count) || !parse_size(a->argv[2].text, &size))
		return sh_error(sh, "calloc: bad count or size");
	if (alloc_options(sh, a, 3, NULL, NULL, &name) != 0)
		return -1;
	void *p = gort_calloc((size_t)count, (size_t)size);
	if (!p)
		return sh_error(sh, "calloc: out of memory for %llu x %llu bytes",
				(unsigned long long)count, (unsigned long long)size);
	return record(sh, "calloc", p, (size_t)(count * size), name);
}

static int bad_ref(sh_t *sh, const char *cmd, const char *ref)
{
	int64_t g[2];
	if (ref[0] == '$')
		return sh_error(sh, "%s: no value %s", cmd, ref);
	if (valid_name(ref) && val_owners(sh, ref, g, 2) > 1)
		return sh_error(sh,
				"%s: several goroutines bound '%s' (g%lld.%s, g%lld.%s, ...: vals "
				"lists them)",
				cmd, ref, (long long)g[0], ref, (long long)g[1], ref);
	return sh_error(sh, "%s: '%s' is not a value, a name or an address", cmd, ref);
}

int cmd_realloc(sh_t *sh, sh_args *a)
{
	uintptr_t addr;
	sh_value *v;
	uint64_t size;
	const char *as = NULL;
	if (a->argc < 3)
		return sh_error(sh, "usage: realloc $K|NAME|ADDRESS SIZE [as NAME]");
	if (!parse_ref(sh, a->argv[1].text, &addr, &v))
		return bad_ref(sh, "realloc", a->argv[1].text);
	if (!parse_size(a->argv[2].text, &size))
		return sh_error(sh, "realloc: bad size '%s'", a->argv[2].text);
	if (alloc_options(sh, a, 3, NULL, NULL, &as) != 0)
		return -1;
	char name[SH_NAME_MAX] = "";
	if (as)
		snprintf(name, sizeof name, "%s", as);
	else if (v)
		snprintf(name, sizeof name, "%s", v->name);
	errno = 0;
	void *p = gort_realloc((void *)addr, (size_t)size);
	if (p && p != (void *)addr && sh->gort_error) {
		/* The old object is gone already: only the new one can be undone. */
		if (v || (v = val_by_addr(sh, addr)) != NULL)
			v->live = false;
		misuse_while_allocating(sh, p);
		return -1;
	}
	if (sh_gort_error(sh))
		return -1;
	if (!p)
		return sh_error(sh, "realloc: out of memory for %llu bytes", (unsigned long long)size);
	if (!v)
		v = val_by_addr(sh, addr);
	if (v)
		v->live = false;
	out(sh, "%s ", p == (void *)addr ? "in place:" : "moved:");
	return record(sh, "realloc", p, (size_t)size, name[0] ? name : NULL);
}

int cmd_free(sh_t *sh, sh_args *a)
{
	uintptr_t addr;
	sh_value *v;
	if (a->argc != 2)
		return sh_error(sh, "usage: free $K|NAME|ADDRESS");
	if (!parse_ref(sh, a->argv[1].text, &addr, &v))
		return bad_ref(sh, "free", a->argv[1].text);
	gort_free((void *)addr);
	if (sh_gort_error(sh))
		return -1; /* gort left the heap unchanged; the value stays as it was */
	char ab[40];
	if (!v)
		v = val_by_addr(sh, addr);
	if (v)
		v->live = false;
	out(sh, "freed %s\n", fmt_addr(addr, ab));
	js_begin(sh, "free");
	js_addr(sh, "addr", addr);
	js_end(sh);
	return 0;
}

/* ---------------------------------------------------------- peek, poke */

/* 0 if [addr+off, addr+off+len) may be touched: inside the slot holding
 * addr (a large object's pages, not its guard page) and not a freed large
 * object, whose pages fault; else -1 after saying why. */
static int slot_range(sh_t *sh, const char *cmd, uintptr_t addr, uint64_t off, uint64_t len)
{
	char ab[40];
	gort_object_info o;
	if (gort_inspect_object((void *)addr, &o) != 0)
		return sh_error(sh, "%s: %s is not in an in-use span", cmd, fmt_addr(addr, ab));
	uint64_t end = (addr - o.base) + off + len;
	size_t room = o.elemsize;
	if (o.span_class == 0) {
		gort_span_info si;
		if (gort_inspect_span_of(o.span_base, &si) == 0 && si.guard_pages)
			room = (si.npages - si.guard_pages) * (size_t)GORT_PAGE_SIZE;
		bool live = (o.bits & 1u << GORT_PLANE_ALLOC) &&
			    !(o.bits & 1u << GORT_PLANE_QUARANTINE);
		if (!live)
			return sh_error(sh, "%s: %s is a freed large object: its pages fault", cmd,
					fmt_addr(addr, ab));
	}
	if (len == 0 || off > room || end > room)
		return sh_error(sh, "%s: offset %llu+%llu is outside the %zu-byte slot", cmd,
				(unsigned long long)off, (unsigned long long)len, room);
	return 0;
}

int cmd_peek(sh_t *sh, sh_args *a)
{
	uintptr_t addr;
	sh_value *v;
	uint64_t off = 0, len = 0;
	if (a->argc < 2 || a->argc > 4 || (a->argc > 2 && !parse_u64(a->argv[2].text, &off)) ||
	    (a->argc > 3 && !parse_u64(a->argv[3].text, &len)))
		return sh_error(sh, "usage: peek $K|NAME|ADDRESS [OFFSET [LENGTH]]");
	if (!parse_ref(sh, a->argv[1].text, &addr, &v))
		return bad_ref(sh, "peek", a->argv[1].text);
	/* Default: the rest of the value's request (16 bytes past it or when
	 * unknown), at most 256. */
	if (a->argc < 4) {
		size_t usable = v && v->live ? v->size : 0;
		len = usable > off ? usable - off : 16;
		len = len > 256 ? 256 : len;
	}
	if (len > 4096)
		return sh_error(sh, "peek: at most 4096 bytes at a time");
	if (slot_range(sh, "peek", addr, off, len) != 0)
		return -1;
	char *all = malloc(2 * len + 1);
	if (!all)
		return sh_error(sh, "peek: out of memory");
	const unsigned char *p = (const unsigned char *)addr + off;
	char hex[3 * 16 + 1], ab[40];
	js_begin(sh, "peek");
	js_addr(sh, "addr", addr + off);
	for (uint64_t i = 0; i < len; i += 16) {
		size_t n = len - i < 16 ? (size_t)(len - i) : 16, k = 0;
		for (size_t j = 0; j < n; j++)
			k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x ", p[i + j]);
		hex[k ? k - 1 : 0] = '\0';
		out(sh, "%s  +%-5llu %s\n", fmt_addr(addr + off + i, ab),
		    (unsigned long long)(off + i), hex);
	}
	for (uint64_t i = 0; i < len; i++)
		snprintf(all + 2 * i, 3, "%02x", p[i]);
	js_str(sh, "hex", all);
	free(all);
	js_end(sh);
	return 0;
}

int cmd_poke(sh_t *sh, sh_args *a)
{
	uintptr_t addr;
	sh_value *v;
	uint64_t off, byte;
	if (a->argc != 4 || !parse_u64(a->argv[2].text, &off) || !parse_u64(a->argv[3].text, &byte) ||
	    byte > 255)
		return sh_error(sh, "usage: poke $K|NAME|ADDRESS OFFSET BYTE (0-255)");
	if (!parse_ref(sh, a->argv[1].text, &addr, &v))
		return bad_ref(sh, "poke", a->argv[1].text);
	if (slot_range(sh, "poke", addr, off, 1) != 0)
		return -1;
	unsigned char *p = (unsigned char *)addr + off;
	unsigned old = *p;
	*p = (unsigned char)byte;
	char ab[40];
	out(sh, "%s  +%llu: %02x -> %02x\n", fmt_addr(addr + off, ab), (unsigned long long)off, old,
	    (unsigned)byte);
	js_begin(sh, "poke");
	js_addr(sh, "addr", addr + off);
	js_uint(sh, "old", old);
	js_uint(sh, "new", byte);
	js_end(sh);
	return 0;
}

int cmd_release(sh_t *sh, sh_args *a)
{
	if (a->argc != 1)
		return sh_error(sh, "usage: release");
	size_t n = gort_release();
	char sb[32];
	out(sh, "released %s to the OS\n", fmt_size(n, sb));
	js_begin(sh, "release");
	js_uint(sh, "bytes", n);
	js_end(sh);
	return 0;
}

int cmd_flush(sh_t *sh, sh_args *a)
{
	if (a->argc != 1)
		return sh_error(sh, "usage: flush");
	gort_flush_caches();
	if (sh_gort_error(sh))
		return -1; /* a write after free found on the way; the flush is done */
	out(sh, "flushed this thread's cache to the centrals\n");
	js_begin(sh, "flush");
	js_end(sh);
	return 0;
}

/* ---------------------------------------------------------------- stats */

int cmd_stats(sh_t *sh, sh_args *a)
{
	(void)a;
	struct gort_memstats m;
	gort_memstats(&m);
	const struct {
		const char *go, *json;
		uint64_t v;
	} rows[] = {
		{"Alloc", "alloc", m.alloc},
		{"TotalAlloc", "total_alloc", m.total_alloc},
		{"Sys", "sys", m.sys},
		{"Mallocs", "mallocs", m.mallocs},
		{"Frees", "frees", m.frees},
		{"HeapAlloc", "heap_alloc", m.heap_alloc},
		{"HeapSys", "heap_sys", m.heap_sys},
		{"HeapIdle", "heap_idle", m.heap_idle},
		{"HeapInuse", "heap_inuse", m.heap_inuse},
		{"HeapReleased", "heap_released", m.heap_released},
		{"HeapObjects", "heap_objects", m.heap_objects},
		{"TinyAllocs", "tiny_allocs", m.tiny_allocs},
		{"LargeAllocs", "large_allocs", m.large_allocs},
		{"StackInuse", "stack_inuse", m.stack_inuse},
		{"StackSys", "stack_sys", m.stack_sys},
		{"MSpanInuse", "mspan_inuse", m.mspan_inuse},
		{"MSpanSys", "mspan_sys", m.mspan_sys},
		{"MCacheInuse", "mcache_inuse", m.mcache_inuse},
		{"MCacheSys", "mcache_sys", m.mcache_sys},
		{"GCSys", "gc_sys", m.gc_sys},
		{"OtherSys", "other_sys", m.other_sys},
		{"NumReleased", "num_released", m.num_released},
		{"Quarantined", "quarantine_objects", m.quarantine_objects},
		{"QuarantineB", "quarantine_bytes", m.quarantine_bytes},
	};
	js_begin(sh, "stats");
	out(sh, "%-13s %s\n", "Harden", gort_harden_name(m.harden));
	js_str(sh, "harden", gort_harden_name(m.harden));
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		out(sh, "%-13s %llu\n", rows[i].go, (unsigned long long)rows[i].v);
		js_uint(sh, rows[i].json, rows[i].v);
	}
	js_end(sh);
	return 0;
}
