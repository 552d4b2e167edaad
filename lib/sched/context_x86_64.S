/*
 * context_x86_64.S — the context switch for x86-64, System V ABI.
 *
 * Owns the three symbols declared in sched/context.h: the switch, the
 * trampoline a fresh context starts in, and the abort path for an entry
 * function that returns. The frame layout (GORT_CTX_*) is defined there and
 * written by gort_ctx_init for a fresh context.
 *
 * Saved: the SysV callee-saved registers rbx, rbp, r12-r15, plus MXCSR and
 * the x87 control word (both callee-saved "control bits" in the ABI). Not
 * saved: rax rcx rdx rsi rdi r8-r11 and every xmm register, which a call
 * may clobber anyway, nor the x87 status word (scratch in the ABI). MXCSR
 * is saved whole, its sticky exception flags included, so flags raised in
 * one context do not show in another after a switch.
 *
 * No CET property note: the switch returns to an address that the shadow
 * stack never saw, so objects linked with it must not claim shadow-stack
 * support, and leaving the note out makes the linker drop the claim.
 */
#include "sched/context.h"

	.text

/* void gort_ctx_switch_raw(gort_ctx *from, gort_ctx *to)
 * rdi = from, rsi = to. After the stack swap the frame is to's, laid out the
 * same, so the CFI below stays true on both sides. */
	.globl	gort_ctx_switch_raw
	.hidden	gort_ctx_switch_raw
	.type	gort_ctx_switch_raw, @function
	.p2align 4
gort_ctx_switch_raw:
	.cfi_startproc
	subq	$GORT_CTX_SAVE, %rsp
	.cfi_adjust_cfa_offset GORT_CTX_SAVE
	movq	%rbp, GORT_CTX_RBP(%rsp)
	.cfi_rel_offset %rbp, GORT_CTX_RBP
	movq	%rbx, GORT_CTX_RBX(%rsp)
	.cfi_rel_offset %rbx, GORT_CTX_RBX
	movq	%r12, GORT_CTX_R12(%rsp)
	.cfi_rel_offset %r12, GORT_CTX_R12
	movq	%r13, GORT_CTX_R13(%rsp)
	.cfi_rel_offset %r13, GORT_CTX_R13
	movq	%r14, GORT_CTX_R14(%rsp)
	.cfi_rel_offset %r14, GORT_CTX_R14
	movq	%r15, GORT_CTX_R15(%rsp)
	.cfi_rel_offset %r15, GORT_CTX_R15
	stmxcsr	GORT_CTX_MXCSR(%rsp)
	fnstcw	GORT_CTX_FPUCW(%rsp)

	movq	%rsp, (%rdi)		/* from->sp */
	movq	(%rsi), %rsp		/* to->sp: from here on, to's frame */

	ldmxcsr	GORT_CTX_MXCSR(%rsp)
	fldcw	GORT_CTX_FPUCW(%rsp)
	movq	GORT_CTX_R15(%rsp), %r15
	movq	GORT_CTX_R14(%rsp), %r14
	movq	GORT_CTX_R13(%rsp), %r13
	movq	GORT_CTX_R12(%rsp), %r12
	movq	GORT_CTX_RBX(%rsp), %rbx
	movq	GORT_CTX_RBP(%rsp), %rbp
	addq	$GORT_CTX_SAVE, %rsp
	.cfi_adjust_cfa_offset -GORT_CTX_SAVE
	ret
	.cfi_endproc
	.size	gort_ctx_switch_raw, .-gort_ctx_switch_raw

/* A fresh context's first instruction, reached by the switch's `ret` with
 * rsp = top - 16 (a multiple of 16) and r12 = fn, r13 = arg, r14 = arg2 from
 * the frame gort_ctx_init wrote. The return address is undefined in the CFI:
 * this is the outermost frame, and unwinders stop here. */
	.globl	gort_ctx_trampoline
	.hidden	gort_ctx_trampoline
	.type	gort_ctx_trampoline, @function
	.p2align 4
gort_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined %rip
	movq	%r13, %rdi
	movq	%r14, %rsi
	call	*%r12
	/* fn returned: never allowed, there is nothing to return to. */
	call	gort_ctx_entry_returned
	ud2
	.cfi_endproc
	.size	gort_ctx_trampoline, .-gort_ctx_trampoline

/* void gort_ctx_entry_returned(void) — noreturn. A raw write(2) (nothing
 * here may rely on the stack or the heap being sane), then abort(). */
	.globl	gort_ctx_entry_returned
	.hidden	gort_ctx_entry_returned
	.type	gort_ctx_entry_returned, @function
	.p2align 4
gort_ctx_entry_returned:
	.cfi_startproc
	movl	$1, %eax		/* SYS_write */
	movl	$2, %edi
	leaq	.Lreturned_msg(%rip), %rsi
	movl	$(.Lreturned_end - .Lreturned_msg), %edx
	syscall
	andq	$-16, %rsp		/* abort is a C function: align for it */
	call	abort@PLT
	ud2
	.cfi_endproc
	.size	gort_ctx_entry_returned, .-gort_ctx_entry_returned

	.section .rodata
.Lreturned_msg:
	.ascii	"gort: context entry function returned (it must never return)\n"
.Lreturned_end:

	.section .note.GNU-stack, "", @progbits
