/*
 * export.c — files for other tools: `export svg FILE` draws the arena map
 * as a standalone SVG, and `trace start FILE` / `trace stop` write the
 * scheduler's event log as Chrome trace-event JSON (chrome://tracing,
 * Perfetto, speedscope).
 *
 * Invariants:
 *  - both read the runtime through gort_inspect.h into libc buffers only,
 *    so exporting changes nothing it shows;
 *  - an SVG is written whole or reported as failed; it carries nothing but
 *    arena addresses, sizes and counts, so the same session draws the same
 *    file;
 *  - while sh->trace is open the file holds a valid prefix of one JSON
 *    object: the header, then events separated by commas (sh->trace_first
 *    says whether one was written yet); trace_close adds the tail, so any
 *    file it closed parses;
 *  - sh->trace_seq is the newest event already written; trace_events
 *    writes exactly the events after it, once each;
 *  - step mode traces are deterministic: times come from the step count,
 *    not the clock.
 */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_BUF 40

/* --------------------------------------------------------------- SVG */

enum {
	SVG_ROW_PAGES = 64, /* cells a row, as in `dump arena` */
	SVG_CELL = 12,	    /* px a page */
	SVG_LEFT = 120,	    /* room for the row addresses */
	SVG_TOP = 48,	    /* room for the heading */
	SVG_RIGHT = 16,
	SVG_WIDTH = SVG_LEFT + SVG_ROW_PAGES * SVG_CELL + SVG_RIGHT,
};

/* The same twelve 256-colour-cube entries col_bg uses in the terminal, so a
 * span's colour idea carries over (index by span, neighbours differ). */
static const int span_palette[] = {153, 186, 217, 151, 223, 183, 152, 222, 189, 158, 216, 229};

static void palette_rgb(unsigned span_index, char hex[8])
{
	static const int level[] = {0, 95, 135, 175, 215, 255};
	int c = span_palette[span_index % (sizeof span_palette / sizeof *span_palette)] - 16;
	snprintf(hex, 8, "#%02x%02x%02x", level[c / 36], level[c / 6 % 6], level[c % 6]);
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* Control bytes are not allowed in XML 1.0 at all. */
			fputc((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' ? '?' : *s, f);
		}
	}
}

#define SVG_MAX_PAGES (1u << 16) /* 512 MiB of 8 KiB pages */

/* What the map draws: the committed pages and every span. */
typedef struct svg_map {
	gort_arena_info ai;
	gort_page_info *pages;
	size_t npages;
	gort_span_info *spans;
	size_t nspans;
	uint64_t released;
	size_t nused; /* in-use spans drawn */
} svg_map;

static void map_free(svg_map *m)
{
	free(m->pages);
	free(m->spans);
}

/* 0, or -1 when out of memory. Spans are asked for again if more appeared
 * between the two calls (threaded mode). */
static int map_load(svg_map *m)
{
	gort_inspect_arena(&m->ai);
	m->npages = (m->ai.arena_used - m->ai.arena_base) / GORT_PAGE_SIZE;
	m->pages = calloc(m->npages ? m->npages : 1, sizeof *m->pages);
	if (!m->pages)
		return -1;
	if (m->npages)
		gort_inspect_pages(m->ai.arena_base, m->pages, m->npages);
	for (int tries = 0; tries < 8; tries++) {
		size_t room = gort_inspect_spans(NULL, 0) + 16;
		free(m->spans);
		m->spans = malloc(room * sizeof *m->spans);
		if (!m->spans)
			return -1;
		m->nspans = gort_inspect_spans(m->spans, room);
		if (m->nspans <= room)
			break;
		m->nspans = room;
	}
	for (size_t i = 0; i < m->nspans; i++)
		if (m->spans[i].state != GORT_SPAN_INUSE)
			m->released += (uint64_t)m->spans[i].released_pages * GORT_PAGE_SIZE;
	return 0;
}

static const gort_span_info *map_span(const svg_map *m, const gort_page_info *pg)
{
	return pg->state != GORT_PAGE_UNUSED && pg->span_index < m->nspans
		       ? &m->spans[pg->span_index]
		       : NULL;
}

static const char *kind_of(const gort_span_info *s)
{
	if (s->state != GORT_SPAN_INUSE)
		return s->released ? "released" : "free";
	if (s->span_class == 0)
		return "large";
	return s->span_class == GORT_TINY_SPAN_CLASS ? "tiny" : "small";
}

static void page_fill(const gort_page_info *pg, char hex[8])
{
	switch (pg->state) {
	case GORT_PAGE_FREE: snprintf(hex, 8, "#d0d0d0"); break;
	case GORT_PAGE_RELEASED: snprintf(hex, 8, "#ffffff"); break;
	case GORT_PAGE_UNUSED: snprintf(hex, 8, "#f4f4f4"); break;
	default: palette_rgb(pg->span_index, hex);
	}
}

/* The tooltip and the label of a span group. */
static void span_title(const gort_span_info *s, char *buf, size_t n)
{
	char abuf[ADDR_BUF], sbuf[32];
	int len = snprintf(buf, n, "%s, %u page%s, %s", fmt_addr(s->base, abuf), s->npages,
			   s->npages == 1 ? "" : "s", kind_of(s));
	if (len < 0 || (size_t)len >= n || s->state != GORT_SPAN_INUSE)
		return;
	if (s->span_class == 0)
		snprintf(buf + len, n - (size_t)len, " object of %zu bytes", s->request);
	else
		snprintf(buf + len, n - (size_t)len, ", class %u, %s objects, %u/%u allocated, %s",
			 s->span_class, fmt_size(s->elemsize, sbuf), s->nalloc, s->nelems,
			 s->owner == 2	 ? "in an mcache"
			 : s->owner == 1 ? "in mcentral"
					 : "heap");
}

static void span_label(const gort_span_info *s, char *buf, size_t n)
{
	if (s->state != GORT_SPAN_INUSE)
		snprintf(buf, n, "%s", s->released ? "released" : "free");
	else if (s->span_class == 0)
		snprintf(buf, n, "large");
	else if (s->span_class == GORT_TINY_SPAN_CLASS)
		snprintf(buf, n, "tiny");
	else
		snprintf(buf, n, "c%u", s->span_class);
}

static void svg_cell_xy(size_t page, int *x, int *y)
{
	*x = SVG_LEFT + (int)(page % SVG_ROW_PAGES) * SVG_CELL;
	*y = SVG_TOP + (int)(page / SVG_ROW_PAGES) * SVG_CELL;
}

/* One group per span: its tooltip, a rect per page, a bar on its first
 * page, and a label on each row piece wide enough to hold it. */
static void svg_span(FILE *f, const svg_map *m, size_t first, size_t end)
{
	const gort_page_info *pg = &m->pages[first];
	const gort_span_info *s = map_span(m, pg);
	char hex[8], title[256], label[16];
	page_fill(pg, hex);
	fprintf(f, "<g class=\"%s\">\n<title>", s ? kind_of(s) : "unknown");
	if (s) {
		span_title(s, title, sizeof title);
		xml_text(f, title);
	} else {
		xml_text(f, "pages of no span");
	}
	fprintf(f, "</title>\n");
	for (size_t i = first; i < end; i++) {
		int x, y;
		svg_cell_xy(i, &x, &y);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x,
			y, SVG_CELL, SVG_CELL, hex);
		if (m->pages[i].first && pg->state >= GORT_PAGE_SMALL)
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"2\" height=\"%d\" fill=\"#404040\"/>\n",
				x, y, SVG_CELL);
	}
	if (s) {
		span_label(s, label, sizeof label);
		int need = (int)strlen(label) * 6 + 4; /* px at font-size 9 */
		for (size_t i = first; i < end;) {
			size_t row_end = (i / SVG_ROW_PAGES + 1) * SVG_ROW_PAGES;
			size_t piece = (row_end < end ? row_end : end) - i;
			int x, y;
			svg_cell_xy(i, &x, &y);
			if ((int)piece * SVG_CELL >= need) {
				fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"label\">", x + 3,
					y + 9);
				xml_text(f, label);
				fprintf(f, "</text>\n");
			}
			i += piece;
		}
	}
	fprintf(f, "</g>\n");
}

static void svg_rows(FILE *f, const svg_map *m)
{
	char abuf[ADDR_BUF];
	for (size_t row = 0; row * SVG_ROW_PAGES < m->npages; row++) {
		int x, y;
		svg_cell_xy(row * SVG_ROW_PAGES, &x, &y);
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"addr\">", 4, y + 10);
		xml_text(f,
			 fmt_addr(m->ai.arena_base + row * SVG_ROW_PAGES * GORT_PAGE_SIZE, abuf));
		fprintf(f, "</text>\n");
	}
}

/* Groups of consecutive pages in one span; returns in-use spans drawn. */
static size_t svg_spans(FILE *f, const svg_map *m)
{
	size_t used = 0;
	for (size_t i = 0; i < m->npages;) {
		size_t end = i + 1;
		while (end < m->npages && m->pages[end].span_index == m->pages[i].span_index &&
		       !m->pages[end].first)
			end++;
		svg_span(f, m, i, end);
		used += m->pages[i].state >= GORT_PAGE_SMALL;
		i = end;
	}
	return used;
}

static void svg_swatch(FILE *f, int x, int y, const char *fill, const char *text)
{
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
		"stroke=\"#808080\" stroke-width=\"0.5\"/>\n",
		x, y, SVG_CELL, SVG_CELL, fill);
	fprintf(f, "<text x=\"%d\" y=\"%d\">", x + SVG_CELL + 4, y + 10);
	xml_text(f, text);
	fprintf(f, "</text>\n");
}

/* The legend and a bar of the reservation: committed and released parts. */
static int svg_legend(FILE *f, const svg_map *m, int y)
{
	char hex[8], s1[32], s2[32], s3[32], line[160];
	palette_rgb(0, hex);
	svg_swatch(f, SVG_LEFT, y, hex,
		   "span (one colour each; dark bar = first page; "
		   "label: cN size class, tiny, large)");
	svg_swatch(f, SVG_LEFT, y + 18, "#d0d0d0", "free pages (committed)");
	svg_swatch(f, SVG_LEFT + 260, y + 18, "#ffffff", "released to the OS");
	y += 46;
	uint64_t committed = m->ai.arena_used - m->ai.arena_base;
	int bar = SVG_ROW_PAGES * SVG_CELL;
	double scale = m->ai.arena_bytes ? (double)bar / (double)m->ai.arena_bytes : 0;
	int used = (int)(committed * scale), rel = (int)(m->released * scale);
	if (committed && used < 1)
		used = 1;
	if (m->released && rel < 1)
		rel = 1;
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"#f4f4f4\" "
		"stroke=\"#808080\" stroke-width=\"0.5\"><title>reserved</title></rect>\n",
		SVG_LEFT, y, bar);
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"#5080c0\">"
		"<title>committed</title></rect>\n",
		SVG_LEFT, y, used);
	if (rel)
		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"10\" fill=\"#ffffff\" "
			"stroke=\"#5080c0\" stroke-width=\"0.5\"><title>released</title></rect>\n",
			SVG_LEFT + used - (rel < used ? rel : used), y, rel < used ? rel : used);
	snprintf(line, sizeof line,
		 "%u arena%s of 64 MiB, limit %s, committed %s (%zu pages), released %s",
		 m->ai.narenas, m->ai.narenas == 1 ? "" : "s",
		 m->ai.heap_limit ? fmt_size(m->ai.heap_limit, s1) : "none",
		 fmt_size(committed, s2), m->npages, fmt_size(m->released, s3));
	fprintf(f, "<text x=\"%d\" y=\"%d\">", SVG_LEFT, y + 24);
	xml_text(f, line);
	fprintf(f, "</text>\n");
	return y + 36;
}

static void svg_write(FILE *f, svg_map *m)
{
	char abuf[ADDR_BUF], title[96];
	size_t rows = (m->npages + SVG_ROW_PAGES - 1) / SVG_ROW_PAGES;
	int legend_y = SVG_TOP + (int)rows * SVG_CELL + 16;
	int height = legend_y + 46 + 36 + 8;
	snprintf(title, sizeof title, "gort arena at %s", fmt_addr(m->ai.arena_base, abuf));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\">\n",
		SVG_WIDTH, height, SVG_WIDTH, height);
	fprintf(f, "<title>");
	xml_text(f, title);
	fprintf(f, "</title>\n<style>text{font-family:monospace;font-size:11px;fill:#202020}"
		   " .label{font-size:9px;pointer-events:none} .addr{fill:#606060}"
		   " g rect{stroke:#ffffff;stroke-width:0.5}"
		   " g.released rect{stroke:#b0b0b0}</style>\n");
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	fprintf(f, "<text x=\"4\" y=\"20\" style=\"font-size:14px\">");
	xml_text(f, title);
	fprintf(f, ": %zu pages of 8 KiB, %d a row</text>\n", m->npages, SVG_ROW_PAGES);
	svg_rows(f, m);
	m->nused = svg_spans(f, m);
	if (m->npages) { /* the committed end: a line after the last cell */
		int x, y;
		svg_cell_xy(m->npages - 1, &x, &y);
		fprintf(f,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c03030\" "
			"stroke-width=\"2\"><title>end of the committed arena</title></line>\n",
			x + SVG_CELL, y - 2, x + SVG_CELL, y + SVG_CELL + 2);
	}
	svg_legend(f, m, legend_y);
	fprintf(f, "</svg>\n");
}

static int export_svg(sh_t *sh, sh_args *a)
{
	if (a->argc < 3)
		return sh_error(sh, "export svg: missing FILE (usage: export svg FILE)");
	if (a->argc > 3)
		return sh_error(sh, "export svg: unexpected argument '%s'", a->argv[3].text);
	const char *path = a->argv[2].text;
	svg_map m = {0};
	gort_inspect_arena(&m.ai);
	if (!m.ai.arena_base)
		return sh_error(sh, "export svg: the runtime is not initialised");
	/* One rect per page: past 512 MiB committed the picture is tens of
	 * megabytes that no viewer draws usefully (dump arena has the same cap). */
	if ((m.ai.arena_used - m.ai.arena_base) / GORT_PAGE_SIZE > SVG_MAX_PAGES)
		return sh_error(sh, "export svg: %zu MiB of committed arena is too much to draw "
				    "(at most 512 MiB; dump arena ADDRESS LENGTH shows a part)",
				(size_t)((m.ai.arena_used - m.ai.arena_base) >> 20));
	if (map_load(&m) != 0) {
		map_free(&m);
		return sh_error(sh, "export svg: out of memory");
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		int err = errno;
		map_free(&m);
		return sh_error(sh, "export svg: %s: %s", path, strerror(err));
	}
	svg_write(f, &m);
	int failed = ferror(f);
	int err = failed ? errno : 0;
	if (fclose(f) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	size_t npages = m.npages, nused = m.nused;
	map_free(&m);
	if (failed)
		return sh_error(sh, "export svg: %s: %s", path, strerror(err ? err : EIO));
	out(sh, "wrote %s (%zu page%s, %zu span%s)\n", path, npages, npages == 1 ? "" : "s", nused,
	    nused == 1 ? "" : "s");
	js_begin(sh, "export svg");
	js_str(sh, "file", path);
	js_uint(sh, "pages", npages);
	js_uint(sh, "spans", nused);
	js_end(sh);
	return 0;
}

int cmd_export(sh_t *sh, sh_args *a)
{
	if (a->argc < 2)
		return sh_error(sh, "export: missing format (usage: export svg FILE)");
	if (strcmp(a->argv[1].text, "svg") == 0)
		return export_svg(sh, a);
	return sh_error(sh, "export: unknown format '%s' (svg)", a->argv[1].text);
}

/* -------------------------------------------------------------- trace */

enum {
	TRACE_PID = 1,
	TRACE_OUTSIDE_TID = 100000, /* the track of GO/READY done outside any G */
	TRACE_MAX_NAMED = 4096,	    /* P tracks named; Ps beyond stay unnamed */
	TRACE_CHUNK = 128,	    /* events read per gort_inspect_events call */
};
/* Step mode: one decision is drawn as 1 ms. */
static const uint64_t STEP_NS = 1000000;

/* What the open trace has written besides what sh_t records. */
static struct {
	bool threaded;	  /* times from the clock, not the step count */
	int prev_log;	  /* gort_event_log's state before the trace */
	uint64_t nevents; /* gort events written */
	uint64_t lost;	  /* events the ring overwrote before we read them */
	bool outside_named;
	uint8_t named[TRACE_MAX_NAMED / 8]; /* P tracks with their thread_name */
} tr;

/* Starts one entry of the traceEvents array. */
static void trace_entry(sh_t *sh)
{
	fputs(sh->trace_first ? "\n" : ",\n", sh->trace);
	sh->trace_first = false;
}

static void trace_thread_name(sh_t *sh, int tid, const char *name)
{
	trace_entry(sh);
	fprintf(sh->trace,
		"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":%d,\"tid\":%d,"
		"\"args\":{\"name\":\"%s\"}}",
		TRACE_PID, tid, name);
}

/* The track of an event: its P, or the outside track; named on first use. */
static int trace_track(sh_t *sh, int32_t p)
{
	if (p < 0) {
		if (!tr.outside_named) {
			trace_thread_name(sh, TRACE_OUTSIDE_TID, "outside Gs");
			tr.outside_named = true;
		}
		return TRACE_OUTSIDE_TID;
	}
	if (p < TRACE_MAX_NAMED && !(tr.named[p / 8] >> (p % 8) & 1)) {
		char name[16];
		snprintf(name, sizeof name, "P%d", (int)p);
		trace_thread_name(sh, p, name);
		tr.named[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	return p;
}

/* Microseconds from nanoseconds, with integer arithmetic: a locale's
 * decimal comma must not reach the JSON. Whole numbers in step mode, so
 * traces compare byte for byte. */
static void trace_time(sh_t *sh, const char *key, uint64_t ns)
{
	if (tr.threaded)
		fprintf(sh->trace, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
			(unsigned long long)(ns % 1000));
	else
		fprintf(sh->trace, ",\"%s\":%llu", key, (unsigned long long)(ns / 1000));
}

static void trace_run(sh_t *sh, const gort_event *e)
{
	int tid = trace_track(sh, e->p);
	uint64_t ts = e->step * STEP_NS, dur = STEP_NS;
	if (tr.threaded) {
		ts = e->t_start;
		dur = e->t_end > e->t_start ? e->t_end - e->t_start : 0;
	}
	trace_entry(sh);
	fprintf(sh->trace, "{\"name\":\"g%lld\",\"cat\":\"run\",\"ph\":\"X\"", (long long)e->goid);
	trace_time(sh, "ts", ts);
	trace_time(sh, "dur", dur);
	fprintf(sh->trace,
		",\"pid\":%d,\"tid\":%d,\"args\":{\"goid\":%lld,\"source\":\"%s\",\"from\":%d,"
		"\"outcome\":\"%s\",\"schedtick\":%u",
		TRACE_PID, tid, (long long)e->goid, gort_event_source_name(e->source), (int)e->from,
		gort_event_outcome_name(e->outcome), e->schedtick);
	if (tr.threaded)
		fprintf(sh->trace, ",\"m\":%d}}", (int)e->m);
	else
		fprintf(sh->trace, ",\"step\":%llu}}", /* as the step line: [1] first */
			(unsigned long long)e->step + 1);
}

/* GO and READY: instants on the P of the G that did it, or on the outside
 * track. In step mode an event inside a G carries the count of decisions
 * including the one running (RUN events carry the count before it), so it
 * goes in the middle of that decision's slice; outside a G it happened
 * before decision `step`, at the start of its slice. */
static void trace_instant(sh_t *sh, const gort_event *e)
{
	bool outside = e->by == 0;
	int tid = trace_track(sh, outside ? -1 : e->p);
	uint64_t ts;
	if (tr.threaded)
		ts = e->t_start;
	else if (outside || e->step == 0)
		ts = e->step * STEP_NS;
	else
		ts = (e->step - 1) * STEP_NS + STEP_NS / 2;
	trace_entry(sh);
	fprintf(sh->trace, "{\"name\":\"%s g%lld\",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\"",
		gort_event_kind_name(e->kind), (long long)e->goid, gort_event_kind_name(e->kind));
	trace_time(sh, "ts", ts);
	fprintf(sh->trace, ",\"pid\":%d,\"tid\":%d,\"args\":{\"goid\":%lld,\"by\":%lld,\"p\":%d}}",
		TRACE_PID, tid, (long long)e->goid, (long long)e->by, (int)e->p);
}

void trace_events(sh_t *sh)
{
	if (!sh->trace)
		return;
	if (gort_event_seq() < sh->trace_seq)
		sh->trace_seq = 0; /* the runtime restarted: its log counts from 1 again */
	gort_event buf[TRACE_CHUNK];
	size_t n;
	while ((n = gort_inspect_events(sh->trace_seq, buf, TRACE_CHUNK)) > 0) {
		for (size_t i = 0; i < n; i++) {
			const gort_event *e = &buf[i];
			if (e->seq <= sh->trace_seq)
				continue; /* cannot happen; never write an event twice */
			tr.lost += e->seq - sh->trace_seq - 1;
			if (e->kind == GORT_EV_RUN)
				trace_run(sh, e);
			else if (e->kind == GORT_EV_GO || e->kind == GORT_EV_READY)
				trace_instant(sh, e);
			tr.nevents++;
			sh->trace_seq = e->seq;
		}
	}
	fflush(sh->trace);
}

/* Closes the JSON and the file; -1 with errno if anything failed to write. */
static int trace_finish(sh_t *sh)
{
	if (!sh->trace)
		return 0;
	fprintf(sh->trace, "\n],\"displayTimeUnit\":\"ms\"}\n");
	int rc = ferror(sh->trace) ? -1 : 0;
	int err = rc ? errno : 0;
	if (fclose(sh->trace) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	sh->trace = NULL;
	free(sh->trace_path);
	sh->trace_path = NULL;
	sh->trace_seq = 0;
	sh->trace_first = false;
	if (tr.threaded)
		gort_event_log(tr.prev_log);
	errno = err;
	return rc;
}

void trace_close(sh_t *sh)
{
	int saved = errno;
	trace_events(sh); /* the tail since the last step: spawns, readies */
	trace_finish(sh);
	free(sh->trace_path); /* a path left without a file */
	sh->trace_path = NULL;
	errno = saved;
}

static int trace_start(sh_t *sh, sh_args *a)
{
	if (a->argc < 3)
		return sh_error(sh, "trace start: missing FILE (usage: trace start FILE)");
	if (a->argc > 3)
		return sh_error(sh, "trace start: unexpected argument '%s'", a->argv[3].text);
	if (sh->trace)
		return sh_error(sh, "trace start: already writing %s (trace stop first)",
				sh->trace_path);
	const char *path = a->argv[2].text;
	char *copy = strdup(path);
	if (!copy)
		return sh_error(sh, "trace start: out of memory");
	FILE *f = fopen(path, "w");
	if (!f) {
		int err = errno;
		free(copy);
		return sh_error(sh, "trace start: %s: %s", path, strerror(err));
	}
	gort_sched_info si;
	gort_inspect_sched(&si);
	memset(&tr, 0, sizeof tr);
	tr.threaded = si.threaded != 0;
	free(sh->trace_path);
	sh->trace = f;
	sh->trace_path = copy;
	sh->trace_first = true;
	sh->trace_seq = gort_event_seq();
	fprintf(f, "{\"traceEvents\":[");
	trace_entry(sh);
	fprintf(f,
		"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":%d,\"tid\":0,"
		"\"args\":{\"name\":\"gort\"}}",
		TRACE_PID);
	/* Step mode records always (the call only reports 1); threaded mode
	 * records from now on. */
	tr.prev_log = gort_event_log(1);
	fflush(f);
	out(sh, "trace: writing %s (%s mode)\n", path, tr.threaded ? "threaded" : "step");
	js_begin(sh, "trace start");
	js_str(sh, "file", path);
	js_str(sh, "mode", tr.threaded ? "threaded" : "step");
	js_end(sh);
	return 0;
}

static int trace_stop(sh_t *sh, sh_args *a)
{
	if (a->argc > 2)
		return sh_error(sh, "trace stop: unexpected argument '%s'", a->argv[2].text);
	if (!sh->trace)
		return sh_error(sh, "trace stop: no trace is being written (trace start FILE)");
	trace_events(sh);
	char *path = strdup(sh->trace_path ? sh->trace_path : "");
	uint64_t nevents = tr.nevents, lost = tr.lost;
	if (trace_finish(sh) != 0) {
		int err = errno ? errno : EIO;
		int rc = sh_error(sh, "trace stop: %s: %s", path ? path : "trace", strerror(err));
		free(path);
		return rc;
	}
	out(sh, "trace: wrote %llu events to %s", (unsigned long long)nevents, path ? path : "");
	if (lost)
		out(sh, " (%llu lost: the log ring overtook the trace)", (unsigned long long)lost);
	out(sh, "\n");
	js_begin(sh, "trace stop");
	js_str(sh, "file", path ? path : "");
	js_uint(sh, "events", nevents);
	js_uint(sh, "lost", lost);
	js_end(sh);
	free(path);
	return 0;
}

static int trace_state(sh_t *sh)
{
	js_begin(sh, "trace");
	if (sh->trace) {
		trace_events(sh);
		out(sh, "trace: writing %s, %llu events so far\n", sh->trace_path,
		    (unsigned long long)tr.nevents);
		js_bool(sh, "on", true);
		js_str(sh, "file", sh->trace_path);
		js_uint(sh, "events", tr.nevents);
	} else {
		out(sh, "trace: off\n");
		js_bool(sh, "on", false);
	}
	js_end(sh);
	return 0;
}

int cmd_trace(sh_t *sh, sh_args *a)
{
	if (a->argc < 2)
		return trace_state(sh);
	if (strcmp(a->argv[1].text, "start") == 0)
		return trace_start(sh, a);
	if (strcmp(a->argv[1].text, "stop") == 0)
		return trace_stop(sh, a);
	return sh_error(sh, "trace: unknown sub-command '%s' (start FILE, stop)", a->argv[1].text);
}
