/*
 * shadow_log.c — the input's last operations: each step is recorded before
 * it runs (sh_op) and completed with its result (sh_ret), which traces it
 * (GORT_FUZZ_TRACE=1) and prints its gortsh line (GORT_FUZZ_GSH=1); a
 * failure (sh_fail) lists them and aborts.
 *
 * The ring keeps the last SH_RING steps, at least SH_CHECK_EVERY, so the
 * step that broke an invariant is still listed when the whole-heap check
 * that finds it runs.
 */
#include <stdarg.h>

#include "shadow.h"

static void print_step(const sh_step *s)
{
	fprintf(stderr, "  op %ld: %s(%#llx, %#llx, %#llx) -> %#lx\n", s->no, s->name,
		(unsigned long long)s->a, (unsigned long long)s->b, (unsigned long long)s->c,
		(unsigned long)s->ret);
}

void sh_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: FAILED at op %ld: ", shadow.harness, shadow.op_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s: the input's last operations (op, args, result):\n", shadow.harness);
	size_t n = shadow.nring < SH_RING ? shadow.nring : SH_RING;
	for (size_t i = shadow.nring - n; i < shadow.nring; i++)
		print_step(&shadow.ring[i % SH_RING]);
	fprintf(stderr, "%s: %zu live objects in the model\n", shadow.harness, shadow.nlive);
	abort();
}

sh_step *sh_op(const char *name, uint64_t a, uint64_t b, uint64_t c)
{
	sh_step *s = &shadow.ring[shadow.nring++ % SH_RING];
	*s = (sh_step){shadow.op_no, name, a, b, c, 0};
	return s;
}

void sh_ret(sh_step *s, uintptr_t r)
{
	s->ret = r;
	if (shadow.trace)
		print_step(s);
	if (shadow.gsh)
		sh_gsh_step(s, r);
}
