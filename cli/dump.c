/*
 * dump.c — `dump`: the allocator's and the scheduler's structures as maps
 * and tables (text) or one object per command (--json): the arena's page
 * map, the spans, one span, a span's bitmap, the caches, the centrals, the
 * heap's free runs, the size classes and the run queues.
 *
 * Invariants:
 *  - everything is read through gort_inspect.h snapshots copied into libc
 *    buffers, never the gort heap, so dumping changes nothing it shows;
 *  - the only numbers printed are arena addresses (through fmt_addr), sizes
 *    and counters: no host pointers, no times, so outputs compare byte for
 *    byte between runs;
 *  - two snapshots taken by separate calls may disagree in threaded mode:
 *    every index that crosses from one to the other (a page's span index,
 *    a P's cache id) is checked before it is used;
 *  - any argument may be garbage: each is parsed and checked, and a bad one
 *    ends the command with one sh_error.
 */
#include "shell.h"
#include "sync.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_BUF 40
#define ROW_PAGES 64		 /* cells per row of the arena map */
#define MAX_MAP_PAGES (1u << 16) /* 512 MiB: a bigger map is not readable */
#define LIST_SLOTS 64		 /* up to this many slots, one line each */
#define GRID_CELLS 16		 /* beyond it, rows of this many 4-char cells */

/* Small spans cycle through these letters by span index; 'l' and 't' are
 * left out because they mean large and tiny pages. */
static const char small_letters[] = "abcdefghijkmnopqrsuvwxyz";

/* ------------------------------------------------------------ snapshots */

/* Each inspect call returns how many items exist; a snapshot asks, makes
 * room with some slack, and asks again until everything fit (the count can
 * grow between the calls in threaded mode). NULL when out of memory. */
#define DEFINE_SNAPSHOT(name, type, inspect_fn)                 \
	static type *name(size_t *n)                            \
	{                                                       \
		for (int tries = 0; tries < 8; tries++) {       \
			size_t room = inspect_fn(NULL, 0) + 16; \
			type *v = malloc(room * sizeof *v);     \
			if (!v)                                 \
				return NULL;                    \
			size_t got = inspect_fn(v, room);       \
			if (got <= room) {                      \
				*n = got;                       \
				return v;                       \
			}                                       \
			free(v);                                \
		}                                               \
		return NULL;                                    \
	}

DEFINE_SNAPSHOT(snap_spans, gort_span_info, gort_inspect_spans)
DEFINE_SNAPSHOT(snap_runs, gort_run_info, gort_inspect_free_runs)
DEFINE_SNAPSHOT(snap_caches, gort_cache_info, gort_inspect_caches)
DEFINE_SNAPSHOT(snap_ps, gort_p_info, gort_inspect_ps)

/* The size class table; row c is class c (0: large, a dummy). */
typedef struct class_table {
	gort_sizeclass_info row[GORT_NUM_SIZE_CLASSES];
	size_t n;
} class_table;

static void load_classes(class_table *t)
{
	size_t n = gort_inspect_sizeclasses(t->row, GORT_NUM_SIZE_CLASSES);
	t->n = n < GORT_NUM_SIZE_CLASSES ? n : GORT_NUM_SIZE_CLASSES;
}

/* Object size of a span class: tiny spans hold 16-byte blocks; large
 * spans have no fixed size (0). */
static uint32_t class_size(const class_table *t, unsigned span_class)
{
	if (span_class == GORT_TINY_SPAN_CLASS)
		return GORT_TINY_SIZE;
	return span_class > 0 && span_class < t->n ? t->row[span_class].size : 0;
}

/* ------------------------------------------------------------- naming */

/* Object sizes exactly: "1152 B", not fmt_size's rounded "1.1 KiB"; whole
 * KiB and MiB stay short ("8 KiB"). buf >= 32 bytes. */
static const char *exact_size(uint64_t n, char *buf)
{
	if (n && n % 1024 == 0)
		return fmt_size(n, buf);
	snprintf(buf, 32, "%llu B", (unsigned long long)n);
	return buf;
}

static const char *span_kind(const gort_span_info *s)
{
	if (s->state != GORT_SPAN_INUSE)
		return s->released ? "released" : "free";
	if (s->span_class == 0)
		return "large";
	return s->span_class == GORT_TINY_SPAN_CLASS ? "tiny" : "small";
}

static const char *owner_name(unsigned owner)
{
	static const char *const names[] = {"heap", "central", "cache", "large"};
	return owner < sizeof names / sizeof *names ? names[owner] : "?";
}

/* "3", "tiny", "large" or "-" for a free run. */
static const char *class_label(const gort_span_info *s, char *buf, size_t n)
{
	if (s->state != GORT_SPAN_INUSE)
		return "-";
	if (s->span_class == 0)
		return "large";
	if (s->span_class == GORT_TINY_SPAN_CLASS)
		return "tiny";
	snprintf(buf, n, "%u", s->span_class);
	return buf;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* One span as a JSON object: key inside an object, NULL inside an array. */
static void js_span(sh_t *sh, const char *key, const gort_span_info *s, size_t index)
{
	js_object(sh, key);
	js_uint(sh, "index", index);
	js_addr(sh, "base", s->base);
	js_uint(sh, "pages", s->npages);
	js_str(sh, "kind", span_kind(s));
	if (s->state == GORT_SPAN_INUSE) {
		js_str(sh, "owner", owner_name(s->owner));
		js_uint(sh, "class", s->span_class);
		js_uint(sh, "elemsize", s->elemsize);
		js_uint(sh, "nelems", s->nelems);
		js_uint(sh, "nalloc", s->nalloc);
		js_uint(sh, "nfreed", s->nfreed);
		if (s->cache_id >= 0)
			js_int(sh, "cache", s->cache_id);
		else
			js_null(sh, "cache");
		if (s->span_class == 0)
			js_uint(sh, "request", s->request);
	}
	js_object_end(sh);
}

/* ------------------------------------------------------------ arguments */

/* Refuses words after the last one a sub-command takes. */
static int check_argc(sh_t *sh, sh_args *a, int max, const char *usage)
{
	if (a->argc <= max)
		return 0;
	return sh_error(sh, "dump %s: unexpected argument '%s' (usage: %s)", a->argv[1].text,
			a->argv[max].text, usage);
}

/* An address: $K, a name, 0x..., arena+0x... */
static int get_ref(sh_t *sh, const char *sub, const char *s, uintptr_t *addr)
{
	if (parse_ref(sh, s, addr, NULL))
		return 0;
	return sh_error(sh, "dump %s: '%s' is not an address ($K, a name, 0x..., arena+0x...)", sub,
			s);
}

static bool runtime_up(void)
{
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	return ai.arena_base != 0;
}

static int no_runtime(sh_t *sh, const char *sub)
{
	return sh_error(sh, "dump %s: the runtime is not initialised", sub);
}

static int no_memory(sh_t *sh, const char *sub)
{
	return sh_error(sh, "dump %s: out of memory", sub);
}

/* ------------------------------------------------------------ dump arena */

/* The pages a map shows, with the spans they belong to. */
typedef struct arena_view {
	gort_arena_info ai;
	uintptr_t start; /* first page shown */
	size_t npages;
	gort_page_info *pages; /* npages cells; past the committed end: UNUSED */
	gort_span_info *spans; /* every span, indexed by gort_page_info.span_index */
	size_t nspans;
	uint64_t released; /* bytes of released free runs, the whole arena */
} arena_view;

static void view_free(arena_view *v)
{
	free(v->pages);
	free(v->spans);
}

/* The span of a page, or NULL if the page is in none (or the two
 * snapshots disagree). */
static const gort_span_info *page_span(const arena_view *v, const gort_page_info *pg)
{
	return pg->state != GORT_PAGE_UNUSED && pg->span_index < v->nspans
		       ? &v->spans[pg->span_index]
		       : NULL;
}

static char page_letter(const gort_page_info *pg)
{
	char c;
	switch (pg->state) {
	case GORT_PAGE_UNUSED: return '.';
	case GORT_PAGE_FREE: return '-';
	case GORT_PAGE_RELEASED: return '_';
	case GORT_PAGE_LARGE: c = 'l'; break;
	case GORT_PAGE_TINY: c = 't'; break;
	case GORT_PAGE_SMALL: c = small_letters[pg->span_index % (sizeof small_letters - 1)]; break;
	default: return '?';
	}
	return pg->first ? (char)toupper((unsigned char)c) : c;
}

/* Pages [start, start + npages), filled past the committed end with
 * never-committed cells. 0, or -1 when out of memory. */
static int view_load(arena_view *v, uintptr_t start, size_t npages)
{
	v->start = start;
	v->npages = npages;
	v->pages = malloc(npages * sizeof *v->pages);
	v->spans = snap_spans(&v->nspans);
	if (!v->pages || !v->spans)
		return -1;
	for (size_t i = 0; i < npages; i++)
		v->pages[i] = (gort_page_info){.state = GORT_PAGE_UNUSED, .span_index = UINT32_MAX};
	if (start < v->ai.arena_used)
		gort_inspect_pages(start, v->pages, npages);
	v->released = 0;
	for (size_t i = 0; i < v->nspans; i++)
		if (v->spans[i].state != GORT_SPAN_INUSE)
			v->released += (uint64_t)v->spans[i].released_pages * GORT_PAGE_SIZE;
	return 0;
}

/* The range `dump arena [ADDRESS [LENGTH]]` asks for, in whole pages
 * inside the arena reservation. */
static int arena_range(sh_t *sh, sh_args *a, const gort_arena_info *ai, uintptr_t *start,
		       size_t *npages)
{
	char buf[ADDR_BUF];
	uintptr_t base = ai->arena_base, end = ai->arena_base + ai->arena_bytes;
	uintptr_t from = base, to = ai->arena_used;
	if (a->argc > 2) {
		if (get_ref(sh, "arena", a->argv[2].text, &from) != 0)
			return -1;
		if (from < base || from >= end)
			return sh_error(sh, "dump arena: %s is outside the arena",
					fmt_addr(from, buf));
		to = from < ai->arena_used ? ai->arena_used : from + ROW_PAGES * GORT_PAGE_SIZE;
	}
	if (a->argc > 3) {
		uint64_t len;
		if (!parse_size(a->argv[3].text, &len) || len == 0)
			return sh_error(sh, "dump arena: '%s' is not a length in bytes",
					a->argv[3].text);
		if (len > (uint64_t)MAX_MAP_PAGES * GORT_PAGE_SIZE)
			return sh_error(sh, "dump arena: %s is too long to draw (at most 512 MiB)",
					a->argv[3].text);
		to = len < end - from ? from + (uintptr_t)len : end;
	}
	if (to > end)
		to = end;
	from &= ~(uintptr_t)(GORT_PAGE_SIZE - 1); /* whole pages covering [from, to) */
	size_t n = (to - from + GORT_PAGE_SIZE - 1) / GORT_PAGE_SIZE;
	if (n > MAX_MAP_PAGES)
		return sh_error(
			sh, "dump arena: %zu pages are too many to draw; give ADDRESS LENGTH", n);
	*start = from;
	*npages = n;
	return 0;
}

/* Text: one row of the map, with a background per span in colour. */
static void arena_row(sh_t *sh, const arena_view *v, size_t first, size_t n)
{
	char abuf[ADDR_BUF], bg[32];
	out(sh, "%-14s ", fmt_addr(v->start + first * GORT_PAGE_SIZE, abuf));
	uint32_t painted = UINT32_MAX; /* the span whose background is on */
	for (size_t i = first; i < first + n; i++) {
		const gort_page_info *pg = &v->pages[i];
		bool in_use = pg->state >= GORT_PAGE_SMALL;
		if (sh->color && in_use && pg->span_index != painted) {
			out(sh, "%s", col_bg(sh, pg->span_index, bg, sizeof bg));
			painted = pg->span_index;
		} else if (sh->color && !in_use && painted != UINT32_MAX) {
			out(sh, "%s", col(sh, SH_C_RESET));
			painted = UINT32_MAX;
		}
		out(sh, "%c", page_letter(pg));
	}
	if (painted != UINT32_MAX)
		out(sh, "%s", col(sh, SH_C_RESET));
	out(sh, "\n");
}

/* "cache 2", "central", "large (40000 B asked)": who holds an in-use span. */
static const char *owner_text(const gort_span_info *s, char *buf, size_t n)
{
	if (s->span_class == 0)
		snprintf(buf, n, "large (%zu B asked)", s->request);
	else if (s->cache_id >= 0)
		snprintf(buf, n, "%s %d", owner_name(s->owner), s->cache_id);
	else
		snprintf(buf, n, "%s", owner_name(s->owner));
	return buf;
}

/* Text: the legend line of one span shown in the map. */
static void arena_legend_span(sh_t *sh, const gort_page_info *pg, const gort_span_info *s)
{
	char abuf[ADDR_BUF], sbuf[32], cbuf[16], counts[32], obuf[64], bg[32];
	const char *on = "", *off = "";
	if (sh->color && pg->state >= GORT_PAGE_SMALL) {
		on = col_bg(sh, pg->span_index, bg, sizeof bg);
		off = col(sh, SH_C_RESET);
	}
	gort_page_info first = *pg;
	first.first = 1;
	out(sh, "  %s%c%s  %-14s %5u  ", on, page_letter(&first), off, fmt_addr(s->base, abuf),
	    s->npages);
	if (s->state != GORT_SPAN_INUSE) {
		out(sh, "%s\n", span_kind(s));
		return;
	}
	out(sh, "%-8s", span_kind(s));
	snprintf(counts, sizeof counts, "%u/%u", s->nalloc, s->nelems);
	out(sh, " %5s %9s %11s  %s\n", s->span_class ? class_label(s, cbuf, sizeof cbuf) : "-",
	    exact_size(s->elemsize, sbuf), counts, owner_text(s, obuf, sizeof obuf));
}

/* Text and JSON: each span the map shows, once, in address order. */
static void arena_legend(sh_t *sh, const arena_view *v)
{
	uint32_t last = UINT32_MAX;
	if (v->npages)
		out(sh, "     %-14s %5s  %-8s %5s %9s %11s  %s\n", "base", "pages", "kind", "class",
		    "elemsize", "alloc/elems", "owner");
	js_array(sh, "spans");
	for (size_t i = 0; i < v->npages; i++) {
		const gort_page_info *pg = &v->pages[i];
		const gort_span_info *s = page_span(v, pg);
		if (!s || pg->span_index == last)
			continue;
		last = pg->span_index;
		arena_legend_span(sh, pg, s);
		js_span(sh, NULL, s, pg->span_index);
	}
	js_array_end(sh);
}

static void arena_bounds(sh_t *sh, const arena_view *v)
{
	char a1[ADDR_BUF], a2[ADDR_BUF], s1[32], s2[32], s3[32];
	uint64_t committed = v->ai.arena_used - v->ai.arena_base;
	char s4[32];
	out(sh,
	    "%u arena%s of 64 MiB at %s (%u range%s), limit %s; committed %s (%llu pages, up "
	    "to %s); released %s\n",
	    v->ai.narenas, v->ai.narenas == 1 ? "" : "s", fmt_addr(v->ai.arena_base, a1),
	    v->ai.nranges, v->ai.nranges == 1 ? "" : "s",
	    v->ai.heap_limit ? fmt_size(v->ai.heap_limit, s4) : "none", fmt_size(committed, s2),
	    (unsigned long long)(committed / GORT_PAGE_SIZE), fmt_addr(v->ai.arena_used, a2),
	    fmt_size(v->released, s3));
	(void)s1;
	js_uint(sh, "committed", committed);
	js_uint(sh, "reserved", v->ai.heap_reserved);
	js_uint(sh, "limit", v->ai.heap_limit);
	js_uint(sh, "arenas", v->ai.narenas);
	js_uint(sh, "ranges", v->ai.nranges);
	js_uint(sh, "released", v->released);
}

static int dump_arena(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 4, "dump arena [ADDRESS [LENGTH]]") != 0)
		return -1;
	arena_view v = {0};
	gort_inspect_arena(&v.ai);
	if (!v.ai.arena_base)
		return no_runtime(sh, "arena");
	uintptr_t start = 0;
	size_t npages = 0;
	if (arena_range(sh, a, &v.ai, &start, &npages) != 0)
		return -1;
	char *letters = malloc(npages + 1);
	if (!letters || view_load(&v, start, npages) != 0) {
		free(letters);
		view_free(&v);
		return no_memory(sh, "arena");
	}
	for (size_t i = 0; i < npages; i++)
		letters[i] = page_letter(&v.pages[i]);
	letters[npages] = '\0';

	char abuf[ADDR_BUF];
	if (npages) {
		out(sh, "arena from %s: %zu %s of 8 KiB, %d a row\n", fmt_addr(start, abuf), npages,
		    plural(npages, "page", "pages"), ROW_PAGES);
		for (size_t i = 0; i < npages; i += ROW_PAGES)
			arena_row(sh, &v, i, npages - i < ROW_PAGES ? npages - i : ROW_PAGES);
		out(sh, "legend: . never committed, - free, _ released, L/l large object, "
			"T/t tiny blocks,\n"
			"        a-z small-object span (by span index, skipping l and t);\n"
			"        capital letter = first page of its span\n");
	} else {
		out(sh, "arena at %s: nothing committed yet\n", fmt_addr(start, abuf));
	}
	js_begin(sh, "dump arena");
	js_addr(sh, "base", start);
	js_uint(sh, "page_size", GORT_PAGE_SIZE);
	js_str(sh, "pages", letters);
	arena_legend(sh, &v);
	arena_bounds(sh, &v);
	js_end(sh);
	free(letters);
	view_free(&v);
	return 0;
}

/* ------------------------------------------------------------ dump spans */

/* class=K: a size class number, "tiny" or "large"; K matches the span
 * class (gort has no scan/noscan split: span class = size class, with
 * 0 for large objects and GORT_TINY_SPAN_CLASS for tiny blocks). */
static int parse_class(const char *s, unsigned *cls)
{
	uint64_t v;
	if (strcmp(s, "tiny") == 0) {
		*cls = GORT_TINY_SPAN_CLASS;
		return 0;
	}
	if (strcmp(s, "large") == 0) {
		*cls = 0;
		return 0;
	}
	if (!parse_u64(s, &v) || v >= GORT_NUM_SPAN_CLASSES)
		return -1;
	*cls = (unsigned)v;
	return 0;
}

static void spans_row(sh_t *sh, const gort_span_info *s, size_t index)
{
	char abuf[ADDR_BUF], sbuf[32], cbuf[16], counts[32], freed[16];
	bool in_use = s->state == GORT_SPAN_INUSE;
	snprintf(counts, sizeof counts, "-");
	snprintf(freed, sizeof freed, "-");
	if (in_use) {
		snprintf(counts, sizeof counts, "%u/%u", s->nalloc, s->nelems);
		snprintf(freed, sizeof freed, "%u", s->nfreed);
	}
	out(sh, "%5zu  %-14s %5u  %-8s %-7s %5s %9s %11s %6s", index, fmt_addr(s->base, abuf),
	    s->npages, span_kind(s), in_use ? owner_name(s->owner) : "heap",
	    s->span_class ? class_label(s, cbuf, sizeof cbuf) : "-",
	    in_use ? exact_size(s->elemsize, sbuf) : "-", counts, freed);
	if (s->cache_id >= 0)
		out(sh, "  %d\n", s->cache_id);
	else
		out(sh, "  -\n");
}

static int dump_spans(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 3, "dump spans [class=K]") != 0)
		return -1;
	bool filter = false;
	unsigned cls = 0;
	if (a->argc > 2) {
		const char *v = kv(a->argv[2].text, "class");
		if (!v || parse_class(v, &cls) != 0)
			return sh_error(sh, "dump spans: '%s' is not class=K (0-%d, tiny, large)",
					a->argv[2].text, GORT_NUM_SPAN_CLASSES - 1);
		filter = true;
	}
	if (!runtime_up())
		return no_runtime(sh, "spans");
	size_t n;
	gort_span_info *spans = snap_spans(&n);
	if (!spans)
		return no_memory(sh, "spans");
	out(sh, "%5s  %-14s %5s  %-8s %-7s %5s %9s %11s %6s  %s\n", "#", "base", "pages", "kind",
	    "owner", "class", "elemsize", "alloc/elems", "freed", "cache");
	js_begin(sh, "dump spans");
	js_array(sh, "spans");
	size_t shown = 0, in_use = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_span_info *s = &spans[i];
		if (filter && (s->state != GORT_SPAN_INUSE || s->span_class != cls))
			continue;
		spans_row(sh, s, i);
		js_span(sh, NULL, s, i);
		shown++;
		in_use += s->state == GORT_SPAN_INUSE;
	}
	js_array_end(sh);
	out(sh, "%zu %s (%zu in use, %zu free %s)\n", shown, plural(shown, "span", "spans"), in_use,
	    shown - in_use, plural(shown - in_use, "run", "runs"));
	js_end(sh);
	free(spans);
	return 0;
}

/* ------------------------------------------------------------- dump span */

/* The span or free run holding addr from a full snapshot (gort_inspect_span_of
 * knows only in-use spans). -1 if addr is in no committed page. */
static int find_span(uintptr_t addr, gort_span_info *out, size_t *index)
{
	size_t n;
	gort_span_info *spans = snap_spans(&n);
	if (!spans)
		return -1;
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		uintptr_t lo = spans[i].base, hi = lo + (uintptr_t)spans[i].npages * GORT_PAGE_SIZE;
		if (addr >= lo && addr < hi) {
			*out = spans[i];
			*index = i;
			rc = 0;
			break;
		}
	}
	free(spans);
	return rc;
}

static void span_object_line(sh_t *sh, uintptr_t addr)
{
	gort_object_info o;
	char abuf[ADDR_BUF], bbuf[ADDR_BUF];
	if (gort_inspect_object((const void *)addr, &o) != 0)
		return;
	bool live = (o.bits & 1u << GORT_PLANE_ALLOC) && !(o.bits & 1u << GORT_PLANE_FREED);
	out(sh, "  address   %s is slot %zu (base %s +%zu), %s\n", fmt_addr(addr, abuf), o.slot,
	    fmt_addr(o.base, bbuf), (size_t)(addr - o.base), live ? "live" : "not live");
	js_object(sh, "object");
	js_addr(sh, "addr", addr);
	js_uint(sh, "slot", o.slot);
	js_addr(sh, "slot_base", o.base);
	js_uint(sh, "offset", addr - o.base);
	js_bool(sh, "live", live);
	js_object_end(sh);
}

static void span_detail(sh_t *sh, const gort_span_info *s)
{
	class_table t;
	char sbuf[32], wbuf[32];
	load_classes(&t);
	if (s->span_class == 0) {
		out(sh, "  kind      large object: %zu bytes asked, %s span\n", s->request,
		    exact_size(s->elemsize, sbuf));
	} else if (s->span_class == GORT_TINY_SPAN_CLASS) {
		out(sh,
		    "  kind      tiny blocks: %u blocks of 16 B, shared by noscan objects < 16 B\n",
		    s->nelems);
	} else if (s->span_class < t.n) {
		const gort_sizeclass_info *c = &t.row[s->span_class];
		out(sh, "  kind      small, class %u: %s objects, %u a span, tail waste %s\n",
		    s->span_class, exact_size(c->size, sbuf), c->nelems,
		    exact_size(c->tail_waste, wbuf));
	}
	out(sh, "  owner     %s", owner_name(s->owner));
	if (s->cache_id >= 0)
		out(sh, " (mcache %d)", s->cache_id);
	out(sh, "\n  slots     %u allocated, %u freed in the inbox, %u free\n", s->nalloc,
	    s->nfreed, s->nelems >= s->nalloc ? s->nelems - s->nalloc : 0);
}

static int dump_span(sh_t *sh, sh_args *a)
{
	if (a->argc < 3)
		return sh_error(sh, "dump span: missing ADDRESS (usage: dump span ADDRESS)");
	if (check_argc(sh, a, 3, "dump span ADDRESS") != 0)
		return -1;
	uintptr_t addr;
	if (get_ref(sh, "span", a->argv[2].text, &addr) != 0)
		return -1;
	if (!runtime_up())
		return no_runtime(sh, "span");
	gort_span_info s;
	size_t index;
	char abuf[ADDR_BUF], ebuf[ADDR_BUF], sbuf[32];
	if (find_span(addr, &s, &index) != 0)
		return sh_error(sh, "dump span: %s is not in the committed arena",
				fmt_addr(addr, abuf));
	uintptr_t end = s.base + (uintptr_t)s.npages * GORT_PAGE_SIZE;
	out(sh, "span %zu: %s-%s, %u %s (%s), %s\n", index, fmt_addr(s.base, abuf),
	    fmt_addr(end, ebuf), s.npages, plural(s.npages, "page", "pages"),
	    fmt_size((uint64_t)s.npages * GORT_PAGE_SIZE, sbuf), span_kind(&s));
	js_begin(sh, "dump span");
	js_span(sh, "span", &s, index);
	if (s.state == GORT_SPAN_INUSE) {
		span_detail(sh, &s);
		span_object_line(sh, addr);
	} else {
		out(sh, "  a free run of the heap%s\n", s.released ? ", returned to the OS" : "");
	}
	js_end(sh);
	return 0;
}

/* ----------------------------------------------------------- dump bitmap */

/* A span's four planes, slot i at bit i%64 of word i/64 of each. */
typedef struct planes {
	uint64_t *words;
	size_t nwords; /* per plane */
} planes;

static bool plane_bit(const planes *p, unsigned plane, size_t slot)
{
	size_t w = slot / 64;
	return w < p->nwords && (p->words[plane * p->nwords + w] >> (slot % 64)) & 1;
}

/* 0, or -1 when out of memory or when the span went away meanwhile. */
static int load_planes(uintptr_t addr, planes *p)
{
	p->words = NULL;
	for (int tries = 0; tries < 8; tries++) {
		size_t nw = gort_inspect_bitmap(addr, NULL, 0);
		if (nw == 0)
			return -1;
		free(p->words);
		p->words = malloc(GORT_BITMAP_PLANES * nw * sizeof *p->words);
		if (!p->words)
			return -1;
		if (gort_inspect_bitmap(addr, p->words, GORT_BITMAP_PLANES * nw) == nw) {
			p->nwords = nw;
			return 0;
		}
	}
	free(p->words);
	p->words = NULL;
	return -1;
}

/* "AFQP" with '.' for each clear bit. */
static void slot_cell(const planes *p, size_t slot, char cell[5])
{
	static const char letter[GORT_BITMAP_PLANES] = {'A', 'F', 'Q', 'P'};
	for (unsigned pl = 0; pl < GORT_BITMAP_PLANES; pl++)
		cell[pl] = plane_bit(p, pl, slot) ? letter[pl] : '.';
	cell[4] = '\0';
}

static void bitmap_list(sh_t *sh, const gort_span_info *s, const planes *p, size_t mark)
{
	char abuf[ADDR_BUF];
	out(sh, "   slot  address         A F Q P\n");
	for (size_t i = 0; i < s->nelems; i++) {
		bool here = i == mark;
		out(sh, "%s%c %5zu  %-14s ", here ? col(sh, SH_C_BOLD) : "", here ? '>' : ' ', i,
		    fmt_addr(s->base + i * (uintptr_t)s->elemsize, abuf));
		for (unsigned pl = 0; pl < GORT_BITMAP_PLANES; pl++)
			out(sh, " %c", plane_bit(p, pl, i) ? '1' : '0');
		out(sh, "%s\n", here ? col(sh, SH_C_RESET) : "");
	}
}

/* True if no slot of [first, end) has any bit set. */
static bool slots_clear(const planes *p, size_t first, size_t end)
{
	for (size_t i = first; i < end; i++)
		for (unsigned pl = 0; pl < GORT_BITMAP_PLANES; pl++)
			if (plane_bit(p, pl, i))
				return false;
	return true;
}

/* Rows of GRID_CELLS slots; two or more rows in a row with no bit set
 * (and not the marked slot) fold into one line, so a big span with a few
 * objects stays short. */
static void bitmap_grid(sh_t *sh, const gort_span_info *s, const planes *p, size_t mark)
{
	char abuf[ADDR_BUF], cell[5];
	for (size_t row = 0; row < s->nelems;) {
		size_t end = row;
		while (end < s->nelems && (mark < end || mark >= end + GRID_CELLS) &&
		       slots_clear(p, end,
				   end + GRID_CELLS < s->nelems ? end + GRID_CELLS : s->nelems))
			end += GRID_CELLS;
		if (end > s->nelems)
			end = s->nelems;
		if (end - row > GRID_CELLS) {
			out(sh, "%5zu  %-14s slots %zu-%zu: no bit set\n", row,
			    fmt_addr(s->base + row * (uintptr_t)s->elemsize, abuf), row, end - 1);
			row = end;
			continue;
		}
		out(sh, "%5zu  %-14s", row, fmt_addr(s->base + row * (uintptr_t)s->elemsize, abuf));
		for (size_t i = row; i < row + GRID_CELLS && i < s->nelems; i++) {
			slot_cell(p, i, cell);
			if (i == mark)
				out(sh, ">%s%s%s", col(sh, SH_C_BOLD), cell, col(sh, SH_C_RESET));
			else
				out(sh, " %s", cell);
		}
		out(sh, "\n");
		row += GRID_CELLS;
	}
}

/* One string per plane, a '0' or '1' per slot. */
static int bitmap_json(sh_t *sh, const gort_span_info *s, const planes *p)
{
	static const char *const names[GORT_BITMAP_PLANES] = {"alloc", "freed", "quarantine", "pointers"};
	if (!sh->json)
		return 0;
	char *bits = malloc((size_t)s->nelems + 1);
	if (!bits)
		return -1;
	js_object(sh, "planes");
	for (unsigned pl = 0; pl < GORT_BITMAP_PLANES; pl++) {
		for (size_t i = 0; i < s->nelems; i++)
			bits[i] = plane_bit(p, pl, i) ? '1' : '0';
		bits[s->nelems] = '\0';
		js_str(sh, names[pl], bits);
	}
	js_object_end(sh);
	free(bits);
	return 0;
}

/* Tiny spans: the offsets where a live object starts, per block in use. */
static int bitmap_tiny(sh_t *sh, const gort_span_info *s)
{
	size_t n = s->nelems;
	uint16_t *live = calloc(n ? n : 1, sizeof *live);
	char abuf[ADDR_BUF];
	if (!live)
		return -1;
	size_t got = gort_inspect_tiny(s->base, live, n);
	if (got < n)
		n = got;
	out(sh, "tiny blocks in use (offsets where a live object starts):\n");
	js_array(sh, "tiny");
	for (size_t i = 0; i < n; i++) {
		if (!live[i])
			continue;
		out(sh, "  block %4zu  %-14s", i, fmt_addr(s->base + i * GORT_TINY_SIZE, abuf));
		js_object(sh, NULL);
		js_uint(sh, "block", i);
		js_array(sh, "live");
		for (unsigned off = 0; off < GORT_TINY_SIZE; off++) {
			if (!(live[i] >> off & 1))
				continue;
			out(sh, " +%u", off);
			js_uint(sh, NULL, off);
		}
		js_array_end(sh);
		js_object_end(sh);
		out(sh, "\n");
	}
	js_array_end(sh);
	free(live);
	return 0;
}

static int dump_bitmap(sh_t *sh, sh_args *a)
{
	if (a->argc < 3)
		return sh_error(sh, "dump bitmap: missing ADDRESS (usage: dump bitmap ADDRESS|$K)");
	if (check_argc(sh, a, 3, "dump bitmap ADDRESS|$K") != 0)
		return -1;
	uintptr_t addr;
	char abuf[ADDR_BUF], cbuf[16], sbuf[32];
	if (get_ref(sh, "bitmap", a->argv[2].text, &addr) != 0)
		return -1;
	gort_span_info s;
	planes p;
	if (gort_inspect_span_of(addr, &s) != 0 || s.elemsize == 0)
		return sh_error(sh, "dump bitmap: %s is not in an in-use span",
				fmt_addr(addr, abuf));
	if (load_planes(addr, &p) != 0)
		return sh_error(sh, "dump bitmap: %s is not in an in-use span",
				fmt_addr(addr, abuf));
	size_t mark = (addr - s.base) / s.elemsize;
	out(sh,
	    "bitmap of span %s: class %s, %s slots, %u of them: A alloc, F freed (inbox), "
	    "Q quarantine, P pointers; > slot %zu, the one asked for\n",
	    fmt_addr(s.base, abuf), class_label(&s, cbuf, sizeof cbuf),
	    exact_size(s.elemsize, sbuf), s.nelems, mark);
	js_begin(sh, "dump bitmap");
	js_addr(sh, "span", s.base);
	js_uint(sh, "class", s.span_class);
	js_uint(sh, "elemsize", s.elemsize);
	js_uint(sh, "nelems", s.nelems);
	js_uint(sh, "slot", mark);
	int rc = 0;
	if (s.nelems <= LIST_SLOTS)
		bitmap_list(sh, &s, &p, mark);
	else
		bitmap_grid(sh, &s, &p, mark);
	if (bitmap_json(sh, &s, &p) != 0)
		rc = -1;
	if (rc == 0 && s.span_class == GORT_TINY_SPAN_CLASS)
		rc = bitmap_tiny(sh, &s);
	free(p.words);
	if (rc != 0)
		return no_memory(sh, "bitmap");
	js_end(sh);
	return 0;
}

/* ----------------------------------------------------------- dump mcache */

static void mcache_one(sh_t *sh, const gort_cache_info *c, int p, const class_table *t)
{
	char abuf[ADDR_BUF], sbuf[32];
	if (p >= 0)
		out(sh, "p%d  mcache %d:", p, c->id);
	else
		out(sh, "thread mcache %d:", c->id);
	out(sh, " %u %s held, %llu mallocs, %llu frees", c->nspans,
	    plural(c->nspans, "span", "spans"), (unsigned long long)c->mallocs,
	    (unsigned long long)c->frees);
	if (c->tiny)
		out(sh, ", tiny block %s +%u", fmt_addr(c->tiny, abuf), c->tiny_offset);
	out(sh, "\n");
	js_object(sh, NULL);
	if (p >= 0)
		js_int(sh, "p", p);
	else
		js_null(sh, "p");
	js_int(sh, "id", c->id);
	js_uint(sh, "nspans", c->nspans);
	js_uint(sh, "mallocs", c->mallocs);
	js_uint(sh, "frees", c->frees);
	if (c->tiny)
		js_addr(sh, "tiny", c->tiny);
	else
		js_null(sh, "tiny");
	js_uint(sh, "tiny_offset", c->tiny_offset);
	js_array(sh, "spans");
	for (unsigned sc = 0; sc < GORT_NUM_SPAN_CLASSES; sc++) {
		if (!c->spans[sc])
			continue;
		uint32_t size = class_size(t, sc);
		if (sc == GORT_TINY_SPAN_CLASS)
			out(sh, "    class tiny %8s  span %s\n", exact_size(size, sbuf),
			    fmt_addr(c->spans[sc], abuf));
		else
			out(sh, "    class %4u %8s  span %s\n", sc, exact_size(size, sbuf),
			    fmt_addr(c->spans[sc], abuf));
		js_object(sh, NULL);
		js_uint(sh, "class", sc);
		js_uint(sh, "elemsize", size);
		js_addr(sh, "span", c->spans[sc]);
		js_object_end(sh);
	}
	js_array_end(sh);
	js_object_end(sh);
}

/* The P whose cache is id, or -1 (a thread's cache). */
static int cache_p(const gort_p_info *ps, size_t nps, int32_t id)
{
	for (size_t i = 0; i < nps; i++)
		if (ps[i].cache_id == id)
			return ps[i].id;
	return -1;
}

static int by_cache_id(const void *a, const void *b)
{
	int32_t x = ((const gort_cache_info *)a)->id, y = ((const gort_cache_info *)b)->id;
	return (x > y) - (x < y);
}

/* The Ps' caches in P order, then the threads' caches in id order (the
 * registry's own order is newest first, which says nothing). */
static size_t mcache_all(sh_t *sh, gort_cache_info *caches, size_t nc, const gort_p_info *ps,
			 size_t nps, int only, const class_table *t)
{
	size_t shown = 0;
	qsort(caches, nc, sizeof *caches, by_cache_id);
	for (size_t i = 0; i < nps; i++) {
		if (only >= 0 && ps[i].id != only)
			continue;
		for (size_t k = 0; k < nc; k++)
			if (caches[k].id == ps[i].cache_id) {
				mcache_one(sh, &caches[k], ps[i].id, t);
				shown++;
				break;
			}
	}
	for (size_t k = 0; only < 0 && k < nc; k++)
		if (cache_p(ps, nps, caches[k].id) < 0) {
			mcache_one(sh, &caches[k], -1, t);
			shown++;
		}
	return shown;
}

static int dump_mcache(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 3, "dump mcache [pN]") != 0)
		return -1;
	int only = -1;
	if (a->argc > 2) {
		unsigned p;
		if (!parse_p(sh, a->argv[2].text, &p))
			return sh_error(sh, "dump mcache: '%s' is not a P (p0, p1, ...)",
					a->argv[2].text);
		only = (int)p;
	}
	if (!runtime_up())
		return no_runtime(sh, "mcache");
	size_t nc = 0, nps = 0;
	gort_cache_info *caches = snap_caches(&nc);
	gort_p_info *ps = snap_ps(&nps);
	if (!caches || !ps) {
		free(caches);
		free(ps);
		return no_memory(sh, "mcache");
	}
	class_table t;
	load_classes(&t);
	js_begin(sh, "dump mcache");
	js_array(sh, "caches");
	size_t shown = mcache_all(sh, caches, nc, ps, nps, only, &t);
	js_array_end(sh);
	if (!shown)
		out(sh, "no mcache%s\n", only >= 0 ? " on that P" : "");
	js_end(sh);
	free(caches);
	free(ps);
	return 0;
}

/* --------------------------------------------------------- dump mcentral */

static int dump_mcentral(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 3, "dump mcentral [CLASS]") != 0)
		return -1;
	bool one = false;
	unsigned cls = 0;
	if (a->argc > 2) {
		if (parse_class(a->argv[2].text, &cls) != 0)
			return sh_error(sh,
					"dump mcentral: '%s' is not a class (0-%d, tiny, large)",
					a->argv[2].text, GORT_NUM_SPAN_CLASSES - 1);
		one = true;
	}
	if (!runtime_up())
		return no_runtime(sh, "mcentral");
	gort_central_info rows[GORT_NUM_SPAN_CLASSES];
	size_t n = gort_inspect_centrals(rows, GORT_NUM_SPAN_CLASSES);
	if (n > GORT_NUM_SPAN_CLASSES)
		n = GORT_NUM_SPAN_CLASSES;
	class_table t;
	load_classes(&t);
	char sbuf[32], cbuf[16];
	out(sh, "%5s %9s %8s %5s %7s %8s\n", "class", "size", "partial", "full", "cached",
	    "nalloc");
	js_begin(sh, "dump mcentral");
	js_array(sh, "centrals");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const gort_central_info *r = &rows[i];
		bool empty = !r->npartial && !r->nfull && !r->ncached && !r->nalloc;
		if (one ? r->span_class != cls : empty)
			continue;
		gort_span_info probe = {.state = GORT_SPAN_INUSE,
					.span_class = (uint8_t)r->span_class};
		uint32_t size = class_size(&t, r->span_class);
		out(sh, "%5s %9s %8u %5u %7u %8llu\n", class_label(&probe, cbuf, sizeof cbuf),
		    size ? exact_size(size, sbuf) : "-", r->npartial, r->nfull, r->ncached,
		    (unsigned long long)r->nalloc);
		js_object(sh, NULL);
		js_uint(sh, "class", r->span_class);
		js_uint(sh, "elemsize", size);
		js_uint(sh, "npartial", r->npartial);
		js_uint(sh, "nfull", r->nfull);
		js_uint(sh, "ncached", r->ncached);
		js_uint(sh, "nalloc", r->nalloc);
		js_object_end(sh);
		shown++;
	}
	js_array_end(sh);
	if (!shown)
		out(sh, "(no class has spans)\n");
	js_end(sh);
	return 0;
}

/* ------------------------------------------------------------ dump heap */

static int dump_heap(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 2, "dump heap") != 0)
		return -1;
	if (!runtime_up())
		return no_runtime(sh, "heap");
	size_t n;
	gort_run_info *runs = snap_runs(&n);
	if (!runs)
		return no_memory(sh, "heap");
	char abuf[ADDR_BUF], sbuf[32], tbuf[32], rbuf[32];
	uint64_t total = 0, released = 0;
	out(sh, "%-14s %6s %10s  %s\n", "base", "pages", "bytes", "released");
	js_begin(sh, "dump heap");
	js_array(sh, "runs");
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes = (uint64_t)runs[i].npages * GORT_PAGE_SIZE;
		total += bytes;
		released += (uint64_t)runs[i].released_pages * GORT_PAGE_SIZE;
		char part[32];
		snprintf(part, sizeof part, "%u pages", runs[i].released_pages);
		out(sh, "%-14s %6u %10s  %s\n", fmt_addr(runs[i].base, abuf), runs[i].npages,
		    fmt_size(bytes, sbuf),
		    runs[i].released	       ? "yes"
		    : runs[i].released_pages ? part
					     : "no");
		js_object(sh, NULL);
		js_addr(sh, "base", runs[i].base);
		js_uint(sh, "pages", runs[i].npages);
		js_uint(sh, "bytes", bytes);
		js_bool(sh, "released", runs[i].released);
		js_uint(sh, "released_pages", runs[i].released_pages);
		js_object_end(sh);
	}
	js_array_end(sh);
	out(sh, "%zu free %s, %s, %s released\n", n, plural(n, "run", "runs"),
	    fmt_size(total, tbuf), fmt_size(released, rbuf));
	js_uint(sh, "free_bytes", total);
	js_uint(sh, "released_bytes", released);
	js_end(sh);
	free(runs);
	return 0;
}

/* ----------------------------------------------------- dump sizeclasses */

static int dump_sizeclasses(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 2, "dump sizeclasses") != 0)
		return -1;
	class_table t;
	char sbuf[32], pbuf[32], wbuf[32];
	load_classes(&t);
	out(sh, "%5s %9s %9s %7s %10s\n", "class", "size", "span", "objects", "tail waste");
	js_begin(sh, "dump sizeclasses");
	js_array(sh, "classes");
	for (size_t c = 1; c < t.n; c++) { /* class 0 is the large objects' dummy */
		const gort_sizeclass_info *r = &t.row[c];
		out(sh, "%5u %9s %9s %7u %10s\n", r->cls, exact_size(r->size, sbuf),
		    fmt_size((uint64_t)r->npages * GORT_PAGE_SIZE, pbuf), r->nelems,
		    exact_size(r->tail_waste, wbuf));
		js_object(sh, NULL);
		js_uint(sh, "class", r->cls);
		js_uint(sh, "size", r->size);
		js_uint(sh, "pages", r->npages);
		js_uint(sh, "objects", r->nelems);
		js_uint(sh, "tail_waste", r->tail_waste);
		js_object_end(sh);
	}
	js_array_end(sh);
	out(sh,
	    "tiny: noscan requests < 16 B share 16 B blocks (span class %d);"
	    " > 32 KiB: large, a span each\n",
	    GORT_TINY_SPAN_CLASS);
	js_end(sh);
	return 0;
}

/* ------------------------------------------------------------ dump runq */

static void runq_list(sh_t *sh, const char *key, const int64_t *goids, size_t n, size_t more)
{
	out(sh, "[");
	js_array(sh, key);
	for (size_t i = 0; i < n; i++) {
		out(sh, "%sg%lld", i ? " " : "", (long long)goids[i]);
		js_int(sh, NULL, goids[i]);
	}
	js_array_end(sh);
	if (more)
		out(sh, "%s+%zu more", n ? " " : "", more);
	out(sh, "]\n");
}

static int dump_runq(sh_t *sh, sh_args *a)
{
	if (check_argc(sh, a, 3, "dump runq [pN|global]") != 0)
		return -1;
	bool want_ps = true, want_global = true;
	int only = -1;
	if (a->argc > 2) {
		unsigned p;
		if (strcmp(a->argv[2].text, "global") == 0) {
			want_ps = false;
		} else if (parse_p(sh, a->argv[2].text, &p)) {
			only = (int)p;
			want_global = false;
		} else {
			return sh_error(sh, "dump runq: '%s' is not a P (p0, p1, ...) or global",
					a->argv[2].text);
		}
	}
	gort_sched_info si;
	gort_inspect_sched(&si);
	if (!si.gomaxprocs)
		return no_runtime(sh, "runq");
	size_t nps = 0;
	gort_p_info *ps = want_ps ? snap_ps(&nps) : NULL;
	if (want_ps && !ps)
		return no_memory(sh, "runq");
	js_begin(sh, "dump runq");
	if (want_ps) {
		js_array(sh, "ps");
		for (size_t i = 0; i < nps; i++) {
			const gort_p_info *p = &ps[i];
			if (only >= 0 && p->id != only)
				continue;
			uint32_t nq = p->nrunq < GORT_RUNQ_CAP ? p->nrunq : GORT_RUNQ_CAP;
			if (p->runnext)
				out(sh, "p%d runnext=g%lld ", p->id, (long long)p->runnext);
			else
				out(sh, "p%d runnext=- ", p->id);
			js_object(sh, NULL);
			js_int(sh, "p", p->id);
			if (p->runnext)
				js_int(sh, "runnext", p->runnext);
			else
				js_null(sh, "runnext");
			runq_list(sh, "runq", p->runq, nq, p->nrunq - nq);
			js_object_end(sh);
		}
		js_array_end(sh);
	}
	if (want_global) {
		uint32_t ng = si.nglobal < GORT_RUNQ_CAP ? si.nglobal : GORT_RUNQ_CAP;
		out(sh, "global ");
		runq_list(sh, "global", si.global, ng, si.runqueue > ng ? si.runqueue - ng : 0);
		js_uint(sh, "global_len", si.runqueue);
	}
	js_end(sh);
	free(ps);
	return 0;
}

/* ----------------------------------------------------------------- dump */

static const struct {
	const char *name;
	int (*run)(sh_t *sh, sh_args *a);
} dump_subs[] = {
	{"arena", dump_arena},	 {"spans", dump_spans},
	{"span", dump_span},	 {"bitmap", dump_bitmap},
	{"mcache", dump_mcache}, {"mcentral", dump_mcentral},
	{"heap", dump_heap},	 {"sizeclasses", dump_sizeclasses},
	{"runq", dump_runq},	 {"chan", dump_chan},
};

#define DUMP_SUBS "arena, spans, span, bitmap, mcache, mcentral, heap, sizeclasses, runq, chan"

int cmd_dump(sh_t *sh, sh_args *a)
{
	if (a->argc < 2)
		return sh_error(sh, "dump: missing sub-command (" DUMP_SUBS ")");
	for (size_t i = 0; i < sizeof dump_subs / sizeof *dump_subs; i++)
		if (strcmp(a->argv[1].text, dump_subs[i].name) == 0)
			return dump_subs[i].run(sh, a);
	return sh_error(sh, "dump: unknown sub-command '%s' (" DUMP_SUBS ")", a->argv[1].text);
}
