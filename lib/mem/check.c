/*
 * check.c — the one error reporter.
 *
 * Every detected misuse arrives here as (kind, operation, address, detail).
 * The message is built in a stack buffer by a small formatter (no stdio, no
 * allocation: the heap may be what is broken). The default handler writes
 * `gort: <kind> in <op>: <address> (<detail>)` to stderr with write(2) and
 * aborts (a zero-size access returns to the fault handler, whose signal then
 * ends the process as the kernel would have); a
 * handler installed with gort_set_error_handler() gets the same text and the
 * fields, and when it returns the caller leaves the heap unchanged.
 *
 * A stack overflow reads as Go's names it, `stack overflow in <detail>`,
 * the detail being `goroutine N (stack 0x… size …, guard hit at 0x…)`:
 * the address (where the guard was hit) is in the detail already.
 *
 * gort_report is async-signal-safe as long as the installed handler is: the
 * fault handler (sched/fault.c) calls it on a signal stack.
 */
#include "mem/mem.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
	[GORT_ERR_DOUBLE_FREE] = "double free",
	[GORT_ERR_INVALID_FREE] = "invalid free",
	[GORT_ERR_INTERIOR_POINTER] = "interior pointer",
	[GORT_ERR_HEAP_OVERFLOW] = "heap overflow",
	[GORT_ERR_USE_AFTER_FREE] = "use after free",
	[GORT_ERR_HEAP_CORRUPTION] = "heap corruption",
	[GORT_ERR_STACK_OVERFLOW] = "stack overflow",
	[GORT_ERR_DEADLOCK] = "deadlock",
	[GORT_ERR_SEND_ON_CLOSED] = "send on closed channel",
	[GORT_ERR_CLOSE_OF_CLOSED] = "close of closed channel",
	[GORT_ERR_CLOSE_OF_NIL] = "close of nil channel",
	[GORT_ERR_UNLOCK_OF_UNLOCKED] = "unlock of unlocked mutex",
	[GORT_ERR_WAITGROUP_MISUSE] = "WaitGroup misuse",
	[GORT_ERR_INVALID_POINTER] = "invalid pointer",
	[GORT_ERR_MISMATCHED_FREE] = "mismatched free",
	[GORT_ERR_SIZE_MISMATCH] = "sized delete mismatch",
	[GORT_ERR_ZERO_SIZE_ACCESS] = "zero-size access",
};

static struct {
	gort_error_handler handler;
	void *ctx;
	uint64_t count;
} reporter;

/* ------------------------------------------------------------ formatter */

static void sb_putc(strbuf_t *b, char c)
{
	if (b->len + 1 < b->cap)
		b->buf[b->len++] = c;
}

void gort_sb_str(strbuf_t *b, const char *s)
{
	while (s && *s)
		sb_putc(b, *s++);
}

void gort_sb_hex(strbuf_t *b, uintptr_t v)
{
	char tmp[2 + 16];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	gort_sb_str(b, "0x");
	while (n > 0)
		sb_putc(b, tmp[--n]);
}

void gort_sb_dec(strbuf_t *b, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0)
		sb_putc(b, tmp[--n]);
}

const char *gort_sb_done(strbuf_t *b)
{
	b->buf[b->len < b->cap ? b->len : b->cap - 1] = 0;
	return b->buf;
}

/* Reads the span with atomic loads: a report may be about a double free
 * racing the span's recycling (mem.h, gort_span_lookup). */
const char *gort_detail_span(char *buf, size_t n, const span_t *s, const char *extra)
{
	strbuf_t b = {buf, n, 0};
	unsigned sc = ld(&s->spanclass);
	if (sc == LARGE_SPAN_CLASS) {
		gort_sb_str(&b, "large, ");
		gort_sb_dec(&b, ld(&s->npages) << PAGE_SHIFT);
		gort_sb_str(&b, " B");
	} else if (sc == TINY_SPAN_CLASS) {
		gort_sb_str(&b, "tiny block, class 2");
	} else {
		gort_sb_str(&b, "class ");
		gort_sb_dec(&b, sc);
	}
	gort_sb_str(&b, ", span ");
	gort_sb_hex(&b, ld(&s->base));
	if (extra) {
		gort_sb_str(&b, ", ");
		gort_sb_str(&b, extra);
	}
	return gort_sb_done(&b);
}

__thread stray_t gort_tls_stray __attribute__((tls_model("initial-exec")));

void gort_note_stray(unsigned spanclass, uintptr_t span_base, uintptr_t addr, unsigned n)
{
	__atomic_fetch_add(&gort_mem.stray_frees[spanclass], n, __ATOMIC_RELAXED);
	if (!gort_tls_stray.addr)
		gort_tls_stray = (stray_t){addr, span_base, spanclass, GORT_ERR_DOUBLE_FREE, 0};
}

void gort_note_dirty(unsigned spanclass, uintptr_t span_base, uintptr_t slot, size_t off)
{
	if (!gort_tls_stray.addr)
		gort_tls_stray = (stray_t){slot, span_base, spanclass, GORT_ERR_USE_AFTER_FREE, off};
}

void gort_report_pending_slow(void)
{
	stray_t s = gort_tls_stray;
	gort_tls_stray.addr = 0;
	char buf[200];
	strbuf_t b = {buf, sizeof buf, 0};
	if (s.spanclass == TINY_SPAN_CLASS) {
		gort_sb_str(&b, "tiny block, class 2");
	} else {
		gort_sb_str(&b, "class ");
		gort_sb_dec(&b, s.spanclass);
	}
	gort_sb_str(&b, ", span ");
	gort_sb_hex(&b, s.span);
	if (s.kind == GORT_ERR_USE_AFTER_FREE) {
		gort_sb_str(&b, ", written after free at +");
		gort_sb_dec(&b, s.off);
		gort_report(GORT_ERR_USE_AFTER_FREE, "free", s.addr, gort_sb_done(&b));
		return;
	}
	gort_sb_str(&b, ", freed on two threads at once");
	gort_report(GORT_ERR_DOUBLE_FREE, "free", s.addr, gort_sb_done(&b));
}

/* ------------------------------------------------------------- reporter */

/* `<kind>: <address> (<detail>[, goroutine N])`, or `<kind> (<detail>)` when
 * the misuse is about no address (a deadlock). */
static void format_misuse(strbuf_t *b, gort_error_kind kind, uintptr_t addr, const char *detail)
{
	gort_sb_str(b, kind_names[kind]);
	if (addr) {
		gort_sb_str(b, ": ");
		gort_sb_hex(b, addr);
	}
	gort_sb_str(b, " (");
	gort_sb_str(b, detail ? detail : "");
	int64_t goid = gort_mem_current_goid ? gort_mem_current_goid() : 0;
	if (goid > 0 && kind != GORT_ERR_DEADLOCK) {
		gort_sb_str(b, ", goroutine ");
		gort_sb_dec(b, (uint64_t)goid);
	}
	gort_sb_str(b, ")");
}

/* `stack overflow in <detail>`: the detail names the goroutine first. */
static void format_overflow(strbuf_t *b, const char *detail)
{
	gort_sb_str(b, kind_names[GORT_ERR_STACK_OVERFLOW]);
	gort_sb_str(b, " in ");
	gort_sb_str(b, detail ? detail : "");
}

/* The default handler's line: the message with the call that found the
 * misuse after its kind, `gort: double free in realloc: 0x… (…)`. */
static size_t default_line(char *line, size_t cap, const char *msg, gort_error_kind kind,
			   const char *op)
{
	strbuf_t l = {line, cap, 0};
	gort_sb_str(&l, "gort: ");
	size_t kind_len = strlen(kind_names[kind]);
	if (op && *op && kind != GORT_ERR_STACK_OVERFLOW && strncmp(msg, kind_names[kind], kind_len) == 0) {
		gort_sb_str(&l, kind_names[kind]);
		gort_sb_str(&l, " in ");
		gort_sb_str(&l, op);
		msg += kind_len;
	}
	gort_sb_str(&l, msg);
	gort_sb_str(&l, "\n");
	return l.len;
}

void gort_report(gort_error_kind kind, const char *op, uintptr_t addr, const char *detail)
{
	char msg[384];
	strbuf_t b = {msg, sizeof msg, 0};
	const char *name = kind_names[kind];
	if (kind == GORT_ERR_STACK_OVERFLOW)
		format_overflow(&b, detail);
	else
		format_misuse(&b, kind, addr, detail);
	gort_sb_done(&b);
	__atomic_fetch_add(&reporter.count, 1, __ATOMIC_RELAXED);

	gort_error err = {
		.kind = kind,
		.kind_name = name,
		.address = addr,
		.op = op ? op : "",
		.detail = detail ? detail : "",
		.message = msg,
	};
	gort_error_handler h = __atomic_load_n(&reporter.handler, __ATOMIC_ACQUIRE);
	if (h) {
		h(&err, __atomic_load_n(&reporter.ctx, __ATOMIC_RELAXED));
		return;
	}
	char line[448];
	gort_os_write_all(2, line, default_line(line, sizeof line, msg, kind, op));
	if (kind != GORT_ERR_ZERO_SIZE_ACCESS)
		abort();
	/* A fault: the caller hands it on, and the signal ends the process. */
}

gort_error_handler gort_set_error_handler(gort_error_handler h, void *ctx)
{
	__atomic_store_n(&reporter.ctx, ctx, __ATOMIC_RELAXED);
	return __atomic_exchange_n(&reporter.handler, h, __ATOMIC_ACQ_REL);
}

uint64_t gort_error_count(void)
{
	return __atomic_load_n(&reporter.count, __ATOMIC_RELAXED);
}
