/*
 * The application processors' way in.  A STARTUP IPI starts a CPU in real
 * mode at K_TRAMPOLINE (CS = K_TRAMPOLINE >> 4, IP = 0); smp.c copies this
 * code there, fills the parameters at its end, and sends INIT-SIPI-SIPI.
 * It loads the kernel's GDT, enters protected mode, enables PAE, loads the
 * kernel's page tables (which identity-map this page), sets EFER.LME,
 * enables paging and jumps to 64-bit code, which takes its stack and its
 * struct k_cpu from the parameters and calls k_ap_main(cpu).
 *
 * The code lives in read-only data: it never runs in place, only from the
 * copy, so every address below is K_TRAMPOLINE plus an offset in it.  Like
 * the 32-bit entry (entry.S), it runs before any site could be linked and
 * in modes sites are not compiled for: its privileged instructions are not
 * sites.
 */
#include "layout.h"

#include "longmode.inc"

/* The address of label (x) in the copy. */
#define AT(x) (K_TRAMPOLINE + (x) - k_tramp_start)

        .section .rodata.k_trampoline, "a"
        .globl k_tramp_start, k_tramp_end
        .globl k_tramp_gdtr, k_tramp_cr3, k_tramp_stack, k_tramp_cpu, k_tramp_entry
        .code16
k_tramp_start:
        cli
        cld
        mov %cs, %ax
        mov %ax, %ds
        lgdtl (k_tramp_gdtr - k_tramp_start)
        mov %cr0, %eax
        or $CR0_PE, %eax
        mov %eax, %cr0
        ljmpl $K_SEL_CODE32, $AT(1f)

        .code32
1:      LONG_MODE_ON AT(k_tramp_cr3)
        ljmp $K_SEL_CODE64, $AT(2f)

        .code64
2:      mov AT(k_tramp_stack), %rsp
        mov AT(k_tramp_cpu), %rdi
        xor %ebp, %ebp
        mov AT(k_tramp_entry), %rax
        jmp *%rax

/* Parameters, filled in the copy by smp.c. */
        .balign 8
k_tramp_gdtr:   .word 0                 /* lgdtl: limit, 32-bit base */
                .long 0
                .word 0
k_tramp_cr3:    .long 0, 0
k_tramp_stack:  .quad 0
k_tramp_cpu:    .quad 0
k_tramp_entry:  .quad 0
k_tramp_end:

        .section .note.GNU-stack, "", @progbits
