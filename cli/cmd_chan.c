/*
 * cmd_chan.c — the views of waiting: `dump chan NAME` (a channel as Go's
 * hchan: ring, indices, wait queues), and the wait text `gs` and a parked
 * step show ("chan receive c", "sync.Mutex.Lock m", "select a b").
 *
 * Invariants: everything shown comes from gort_inspect_* and the shell's
 * own names; in step mode nothing runs between commands, so it is exact.
 */
#include "sync.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ wait text */

const char *sync_wait_text(const gort_g_info *g, char *buf, size_t n)
{
	if (!g->waitreason[0])
		return "";
	char on[80] = "";
	sync_obj *o = g->waiton ? sync_by_addr(g->waiton) : NULL;
	if (strcmp(g->waitreason, "select") == 0 || strcmp(g->waitreason, "sleep") == 0)
		var_waiting_get(g->goid, on, sizeof on);
	if (!on[0] && o)
		snprintf(on, sizeof on, "%s", o->label);
	snprintf(buf, n, "%s%s%s", g->waitreason, on[0] ? " " : "", on);
	return buf;
}

const char *sync_parked_on(int64_t goid, char *buf, size_t n)
{
	buf[0] = '\0';
	size_t ng = gort_inspect_gs(NULL, 0);
	gort_g_info *gs = calloc(ng ? ng : 1, sizeof *gs);
	if (!gs)
		return buf;
	ng = gort_inspect_gs(gs, ng);
	for (size_t i = 0; i < ng; i++)
		if (gs[i].goid == goid && gs[i].status == 4) {
			char w[128];
			const char *t = sync_wait_text(&gs[i], w, sizeof w);
			/* Only what the reason alone does not say: a plain
			 * `park REASON` stays "parked". */
			if (strcmp(t, gs[i].waitreason) != 0)
				snprintf(buf, n, "%s", t);
		}
	free(gs);
	return buf;
}

/* ------------------------------------------------------------ dump chan */

static void queue_line(sh_t *sh, const char *key, const int64_t *g, const uint8_t *sel, uint32_t n)
{
	out(sh, "  %s:", key);
	js_array(sh, key);
	uint32_t shown = n < GORT_CHAN_WAITERS_MAX ? n : GORT_CHAN_WAITERS_MAX;
	for (uint32_t i = 0; i < shown; i++) {
		if (g[i])
			out(sh, " g%lld%s", (long long)g[i], sel[i] ? " (select)" : "");
		else
			out(sh, " the prompt");
		js_object(sh, NULL);
		js_int(sh, "g", g[i]);
		js_bool(sh, "select", sel[i]);
		js_object_end(sh);
	}
	if (n > shown)
		out(sh, " and %u more", n - shown);
	out(sh, "%s\n", n ? "" : " -");
	js_array_end(sh);
}

/* The ring slot by slot, marking where recvx and sendx point. */
static void ring_lines(sh_t *sh, gort_chan *c, const gort_chan_info *ci)
{
	js_array(sh, "buf");
	for (size_t i = 0; i < ci->len; i++) {
		int64_t v = 0;
		gort_inspect_chan_value(c, i, &v);
		js_int(sh, NULL, v);
	}
	js_array_end(sh);
	for (size_t s = 0; s < ci->cap; s++) {
		size_t k = (s + ci->cap - ci->recvx) % ci->cap; /* its place in receive order */
		int64_t v = 0;
		bool full = k < ci->len && gort_inspect_chan_value(c, k, &v) == 0;
		char val[24] = "-";
		if (full)
			snprintf(val, sizeof val, "%lld", (long long)v);
		bool r = s == ci->recvx, w = s == ci->sendx;
		out(sh, "  buf[%zu] %*s%s%s\n", s, r || w ? -8 : 0, val, r ? " ← recvx" : "",
		    w ? " ← sendx" : "");
	}
}

int dump_chan(sh_t *sh, sh_args *a)
{
	if (a->argc != 3)
		return sh_error(sh, "usage: dump chan NAME");
	sync_obj *o = sync_by_label(a->argv[2].text);
	if (!o || o->kind != SYNC_CHAN)
		return sh_error(sh, "dump chan: no channel '%s' (chan NAME [CAP] makes one)",
				a->argv[2].text);
	gort_chan_info ci;
	if (gort_inspect_chan(o->u.chan, &ci) != 0)
		return sh_error(sh, "dump chan: %s is not a live channel", o->label);
	char ab[32];
	out(sh, "chan %s: hchan at %s\n", o->label, fmt_addr((uintptr_t)o->u.chan, ab));
	out(sh, "  qcount=%zu dataqsiz=%zu elemsize=%zu closed=%d sendx=%zu recvx=%zu\n", ci.len,
	    ci.cap, ci.elemsize, ci.closed, ci.sendx, ci.recvx);
	js_begin(sh, "dump chan");
	js_str(sh, "name", o->label);
	js_addr(sh, "hchan", (uintptr_t)o->u.chan);
	js_uint(sh, "qcount", ci.len);
	js_uint(sh, "dataqsiz", ci.cap);
	js_uint(sh, "elemsize", ci.elemsize);
	js_bool(sh, "closed", ci.closed);
	js_uint(sh, "sendx", ci.sendx);
	js_uint(sh, "recvx", ci.recvx);
	ring_lines(sh, o->u.chan, &ci);
	queue_line(sh, "recvq", ci.recvq, ci.recvq_select, ci.nrecvq);
	queue_line(sh, "sendq", ci.sendq, ci.sendq_select, ci.nsendq);
	js_end(sh);
	return 0;
}
