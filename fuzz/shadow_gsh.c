/*
 * shadow_gsh.c — the gortsh emitter: with GORT_FUZZ_GSH=1 the input is
 * printed on stdout as the gortsh script that does what the harness did, so
 * a find can be stepped through in the shell: `GORT_FUZZ_GSH=1
 * build/fuzz-replay/fuzz_alloc FILE > find.gsh; build/gortsh find.gsh`
 * (fuzz/fuzz2gsh wraps that).
 *
 * Object number k of the model is the shell's name ok; misuse becomes
 * `try ...`; calls the shell has no command for (usable_size, impossible
 * requests) become comments, as they change nothing. The script starts with
 * the harness's runtime (init arena=256M procs=1, and in hardened mode the
 * preset, quarantine and seed) and ends, before the harness frees
 * everything, with `dump spans` and a `# state:` comment listing every span
 * as base/pages/class/nalloc (free runs base/pages/free): running the
 * script must leave the shell with exactly those spans
 * (tests/shell/test_fuzz2gsh.sh checks it for every corpus file). Only the
 * first input of a process starts from a fresh runtime, so only the first
 * input is printed: give one file.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "shadow.h"

void sh_gsh(const char *fmt, ...)
{
	if (!shadow.gsh || shadow.gsh_inputs != 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The script's first lines: the runtime the harness runs the input in. */
void sh_gsh_begin(void)
{
	shadow.gsh_inputs++;
	if (!shadow.hard)
		sh_gsh("# %s input as a gortsh script\ninit arena=256M procs=1 seed=0 threads=off",
		       shadow.harness);
	else
		sh_gsh("# %s input as a gortsh script\ninit arena=256M procs=1 seed=%llu threads=off "
		       "harden=%s quarantine=%u",
		       shadow.harness, (unsigned long long)shadow.seed,
		       gort_harden_name(shadow.preset), shadow.quarantine);
}

/* The gortsh line of an operation of the model, once it has returned r
 * (1 for an allocation the budget skipped, which the script leaves out).
 * The operations are told apart by the names sh_op recorded them with. */
void sh_gsh_step(const sh_step *s, uintptr_t r)
{
	const char *n = s->name;
	unsigned long long a = s->a, b = s->b, id = shadow.next_id;
	bool allocates = strcmp(n, "malloc") == 0 || strcmp(n, "calloc") == 0 ||
			 strcmp(n, "aligned_alloc") == 0 || strncmp(n, "gort_alloc", 10) == 0 ||
			 strcmp(n, "realloc") == 0;
	if (allocates && r == 1)
		return; /* not run: no room in the model's arena */
	if (strcmp(n, "malloc") == 0)
		sh_gsh(r ? "alloc %llu as o%llu" : "try alloc %llu", a, id);
	else if (strcmp(n, "calloc") == 0)
		sh_gsh(r ? "calloc %llu %llu as o%llu" : "try calloc %llu %llu", a, b, id);
	else if (strcmp(n, "aligned_alloc") == 0)
		sh_gsh(r ? "alloc %llu align=%llu as o%llu" : "try alloc %llu align=%llu", b, a,
		       id);
	else if (strncmp(n, "gort_alloc", 10) == 0)
		sh_gsh(r ? "alloc %llu%s%s as o%llu" : "try alloc %llu%s%s", a,
		       b & GORT_NOSCAN ? " noscan" : "", b & GORT_ZERO ? " zero" : "", id);
	else if (strcmp(n, "realloc") == 0)
		sh_gsh(r ? "realloc o%llu %llu as o%llu" : "try realloc o%llu %llu",
		       (unsigned long long)s->c, b, id);
	else if (strcmp(n, "free") == 0)
		sh_gsh("free o%llu", (unsigned long long)s->c);
	else if (strcmp(n, "gort_release") == 0)
		sh_gsh("release");
	else if (strcmp(n, "gort_flush_caches") == 0)
		sh_gsh("flush");
	else if (strcmp(n, "gort_memstats+deep_check") == 0)
		sh_gsh("check");
	else if (strcmp(n, "usable_size") == 0 || strcmp(n, "impossible") == 0)
		sh_gsh("# %s(%#llx, %#llx) -> %#lx: changes nothing", n, a, b, (unsigned long)r);
}

/* The script's last lines: every span as the harness sees it now. */
void sh_gsh_state(void)
{
	if (!shadow.gsh || shadow.gsh_inputs != 1)
		return;
	size_t n = gort_inspect_spans(NULL, 0);
	gort_span_info *sp = calloc(n ? n : 1, sizeof *sp);
	if (!sp)
		return;
	n = gort_inspect_spans(sp, n);
	printf("dump spans\n# state:");
	for (size_t i = 0; i < n; i++)
		if (sp[i].state == GORT_SPAN_FREE)
			printf(" %#lx/%u/free", (unsigned long)sp[i].base, sp[i].npages);
		else
			printf(" %#lx/%u/%u/%u", (unsigned long)sp[i].base, sp[i].npages,
			       sp[i].span_class, sp[i].nalloc);
	printf("\n");
	free(sp);
}
