/*
 * context_aarch64.S — the context switch for aarch64, AAPCS64.
 *
 * Owns the three symbols declared in sched/context.h: the switch, the
 * trampoline a fresh context starts in, and the abort path for an entry
 * function that returns. The frame layout (GORT_CTX_*) is defined there and
 * written by gort_ctx_init for a fresh context.
 *
 * Saved: x19-x28, x29 (frame pointer), x30 (link register: where the switch
 * returns to), d8-d15 (only the low 64 bits of v8-v15 are callee-saved in
 * AAPCS64), and FPCR (rounding mode, flush-to-zero, trap enables). FPSR, the
 * cumulative exception flags, is not: AAPCS64 leaves it to the caller.
 * sp stays a multiple of 16 throughout, as the architecture checks.
 *
 * Writing FPCR may synchronise the pipeline on some cores, so the switch
 * skips the write when both contexts have the same FPCR (the common case).
 */
#include "sched/context.h"

/* Branch Target Identification: when the C code is built with it, every
 * target of an indirect call needs a landing pad, and the object must say it
 * is compatible (the property note at the end) or the linker turns BTI off
 * for the whole program. Return targets (the trampoline) need no pad. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C hint 34
#define GORT_FEATURE_BTI 1
#else
#define BTI_C
#define GORT_FEATURE_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
/* Nothing here signs return addresses: x30 is stored and reloaded as is. */
#define GORT_FEATURE_PAC 2
#else
#define GORT_FEATURE_PAC 0
#endif

	.text

/* void gort_ctx_switch_raw(gort_ctx *from, gort_ctx *to)
 * x0 = from, x1 = to. After the stack swap the frame is to's, laid out the
 * same, so the CFI below stays true on both sides. */
	.globl	gort_ctx_switch_raw
	.hidden	gort_ctx_switch_raw
	.type	gort_ctx_switch_raw, %function
	.p2align 4
gort_ctx_switch_raw:
	.cfi_startproc
	BTI_C
	sub	sp, sp, #GORT_CTX_SAVE
	.cfi_def_cfa_offset GORT_CTX_SAVE
	stp	x19, x20, [sp, #GORT_CTX_X19 + 0]
	stp	x21, x22, [sp, #GORT_CTX_X19 + 16]
	stp	x23, x24, [sp, #GORT_CTX_X19 + 32]
	stp	x25, x26, [sp, #GORT_CTX_X19 + 48]
	stp	x27, x28, [sp, #GORT_CTX_X19 + 64]
	stp	x29, x30, [sp, #GORT_CTX_X29]
	.cfi_offset x19, GORT_CTX_X19 + 0 - GORT_CTX_SAVE
	.cfi_offset x20, GORT_CTX_X19 + 8 - GORT_CTX_SAVE
	.cfi_offset x21, GORT_CTX_X19 + 16 - GORT_CTX_SAVE
	.cfi_offset x22, GORT_CTX_X19 + 24 - GORT_CTX_SAVE
	.cfi_offset x23, GORT_CTX_X19 + 32 - GORT_CTX_SAVE
	.cfi_offset x24, GORT_CTX_X19 + 40 - GORT_CTX_SAVE
	.cfi_offset x25, GORT_CTX_X19 + 48 - GORT_CTX_SAVE
	.cfi_offset x26, GORT_CTX_X19 + 56 - GORT_CTX_SAVE
	.cfi_offset x27, GORT_CTX_X19 + 64 - GORT_CTX_SAVE
	.cfi_offset x28, GORT_CTX_X19 + 72 - GORT_CTX_SAVE
	.cfi_offset x29, GORT_CTX_X29 - GORT_CTX_SAVE
	.cfi_offset x30, GORT_CTX_X30 - GORT_CTX_SAVE
	stp	d8, d9, [sp, #GORT_CTX_D8 + 0]
	stp	d10, d11, [sp, #GORT_CTX_D8 + 16]
	stp	d12, d13, [sp, #GORT_CTX_D8 + 32]
	stp	d14, d15, [sp, #GORT_CTX_D8 + 48]
	mrs	x9, fpcr
	str	x9, [sp, #GORT_CTX_FPCR]

	mov	x10, sp
	str	x10, [x0]		/* from->sp */
	ldr	x10, [x1]		/* to->sp: from here on, to's frame */
	mov	sp, x10

	ldr	x10, [sp, #GORT_CTX_FPCR]
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x10
1:
	ldp	d8, d9, [sp, #GORT_CTX_D8 + 0]
	ldp	d10, d11, [sp, #GORT_CTX_D8 + 16]
	ldp	d12, d13, [sp, #GORT_CTX_D8 + 32]
	ldp	d14, d15, [sp, #GORT_CTX_D8 + 48]
	ldp	x19, x20, [sp, #GORT_CTX_X19 + 0]
	ldp	x21, x22, [sp, #GORT_CTX_X19 + 16]
	ldp	x23, x24, [sp, #GORT_CTX_X19 + 32]
	ldp	x25, x26, [sp, #GORT_CTX_X19 + 48]
	ldp	x27, x28, [sp, #GORT_CTX_X19 + 64]
	ldp	x29, x30, [sp, #GORT_CTX_X29]
	add	sp, sp, #GORT_CTX_SAVE
	.cfi_def_cfa_offset 0
	ret
	.cfi_endproc
	.size	gort_ctx_switch_raw, .-gort_ctx_switch_raw

/* A fresh context's first instruction, reached by the switch's `ret` with
 * sp = top - 16 and x19 = fn, x20 = arg, x21 = arg2 from the frame
 * gort_ctx_init wrote. The return address is undefined in the CFI: this is
 * the outermost frame, and unwinders stop here. */
	.globl	gort_ctx_trampoline
	.hidden	gort_ctx_trampoline
	.type	gort_ctx_trampoline, %function
	.p2align 4
gort_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	BTI_C
	mov	x0, x20
	mov	x1, x21
	blr	x19
	/* fn returned: never allowed, there is nothing to return to. */
	bl	gort_ctx_entry_returned
	brk	#0x1
	.cfi_endproc
	.size	gort_ctx_trampoline, .-gort_ctx_trampoline

/* void gort_ctx_entry_returned(void) — noreturn. A raw write(2) (nothing
 * here may rely on the stack or the heap being sane), then abort(). sp is a
 * multiple of 16 at all times on aarch64, so abort can be called directly. */
	.globl	gort_ctx_entry_returned
	.hidden	gort_ctx_entry_returned
	.type	gort_ctx_entry_returned, %function
	.p2align 4
gort_ctx_entry_returned:
	.cfi_startproc
	BTI_C
	mov	x0, #2
	adrp	x1, .Lreturned_msg
	add	x1, x1, :lo12:.Lreturned_msg
	mov	x2, #(.Lreturned_end - .Lreturned_msg)
	mov	x8, #64			/* SYS_write */
	svc	#0
	bl	abort
	brk	#0x1
	.cfi_endproc
	.size	gort_ctx_entry_returned, .-gort_ctx_entry_returned

	.section .rodata
.Lreturned_msg:
	.ascii	"gort: context entry function returned (it must never return)\n"
.Lreturned_end:

	.section .note.GNU-stack, "", %progbits

#if GORT_FEATURE_BTI || GORT_FEATURE_PAC
/* GNU_PROPERTY_AARCH64_FEATURE_1_AND: what this object is compatible with. */
	.section .note.gnu.property, "a"
	.p2align 3
	.word	4			/* name size: "GNU\0" */
	.word	16			/* descriptor size */
	.word	5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.word	0xc0000000		/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.word	4			/* data size */
	.word	GORT_FEATURE_BTI | GORT_FEATURE_PAC
	.word	0			/* pad to 8 */
#endif
