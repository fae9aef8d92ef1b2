/*
 * PVH entry: the ELF note that is the kernel's only boot header, the
 * 32-bit entry point, the switch to long mode, and the boot page tables.
 *
 * State at entry (Xen's docs/misc/pvh.pandoc): 32-bit protected mode, flat
 * CS/DS, paging off, CR4 = 0, IF clear, %ebx = physical address of
 * hvm_start_info, no stack.  The privileged instructions below (mov to
 * CR0/CR3/CR4, rdmsr/wrmsr of EFER, lgdt, the far jump) are the only
 * privileged instructions of the kernel that are not pvlink sites: they
 * run before there is any way to link one, and in a mode the sites are
 * not compiled for.
 *
 * The page tables are static data, built by the assembler, so that the
 * boot path performs no stores to build them (a guest instruction costs
 * ~2 us on a software KVM):
 *   [0, 2 MiB)      4 KiB pages (k_pt0), so that page 0 can be unmapped
 *                   once start_info has been copied (C does it);
 *   [2 MiB, 1 GiB)  2 MiB pages (k_pd0);
 *   256 GiB         the 4 KiB run-time window (k_win_pd, k_win_pt),
 *                   empty at boot.
 * C code adds 2 MiB identity mappings beyond 1 GiB as needed (mm.c).
 */
#include "layout.h"

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80

#include "longmode.inc"

#define SEL_CODE64 K_SEL_CODE64
#define SEL_DATA K_SEL_DATA

#define BOOT_STACK_SIZE 16384

/* ---- The PVH note: name "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY). ---- */
        .pushsection .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz */
        .long 4                 /* descsz */
        .long 18                /* type */
        .asciz "Xen"
        .balign 4
        .long _start32          /* 32-bit physical entry */
        .popsection

/* ---- 32-bit entry ----------------------------------------------------- */
        .section .text.entry, "ax"
        .code32
        .globl _start32
        .type _start32, @function
_start32:
        cld
        /* %ebx (start_info) is kept untouched all the way to k_main. */
        lgdt k_gdt_ptr
        LONG_MODE_ON $k_pml4
        ljmp $SEL_CODE64, $k_start64
        .size _start32, . - _start32

/* ---- 64-bit ----------------------------------------------------------- */
/* k_start64 is global so that tests/guest/test_elf.c knows where the
 * 32-bit code ends. */
        .code64
        .globl k_start64
k_start64:
        mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        xor %eax, %eax
        mov %eax, %fs
        mov %eax, %gs

        /* Zero the BSS with one string store (a loop would cost thousands
         * of instructions on a slow monitor).  The linker script makes
         * both ends 8-aligned.  Nothing has touched the BSS yet: the stack
         * is in it and is set up only afterwards. */
        mov $__bss_start, %edi
        mov $__bss_end, %ecx
        sub %edi, %ecx
        shr $3, %ecx
        xor %eax, %eax
        rep stosq

        mov $(k_boot_stack + BOOT_STACK_SIZE), %esp
        xor %ebp, %ebp
        mov %ebx, %edi          /* zero-extends: start_info < 4 GiB */
        call k_main
        /* k_main does not return; if it did, exit through the C path. */
        mov $2, %edi
        call k_exit

/* ---- GDT -------------------------------------------------------------- */
        .section .data.boot, "aw"
        .balign 16
        .globl k_gdt
k_gdt:
        .quad 0                         /* 0x00 null */
        .quad 0x00af9a000000ffff        /* 0x08 64-bit code, DPL 0 */
        .quad 0x00cf92000000ffff        /* 0x10 flat data */
        .quad 0x00cf9a000000ffff        /* 0x18 32-bit code (AP startup) */
        .fill 2 * K_MAX_CPUS, 8, 0      /* 0x20 TSSs, one per CPU (trap.c) */
k_gdt_end:
        .balign 8
        .globl k_gdt_ptr
k_gdt_ptr:
        .word k_gdt_end - k_gdt - 1
        .quad k_gdt                     /* lgdt in 32-bit mode reads 4 */

/* ---- Boot page tables (see the top of this file) ---------------------- */
        .section .data.pagetables, "aw"
        .balign 4096
        .globl k_pml4, k_pdpt, k_pd0, k_pt0, k_win_pd, k_win_pt
k_pml4:
        .quad k_pdpt + (PTE_P | PTE_W)
        .fill 511, 8, 0
k_pdpt:
        .quad k_pd0 + (PTE_P | PTE_W)
        .fill 255, 8, 0
        .quad k_win_pd + (PTE_P | PTE_W)    /* 256 GiB: the window */
        .fill 255, 8, 0
k_pd0:
        .quad k_pt0 + (PTE_P | PTE_W)
        .set i, 1
        .rept 511
        .quad (i << 21) | (PTE_P | PTE_W | PTE_PS)
        .set i, i + 1
        .endr
k_pt0:
        .set i, 0
        .rept 512
        .quad (i << 12) | (PTE_P | PTE_W)
        .set i, i + 1
        .endr
k_win_pd:
        .quad k_win_pt + (PTE_P | PTE_W)
        .fill 511, 8, 0
k_win_pt:
        .fill 512, 8, 0

/* ---- Stacks ----------------------------------------------------------- */
        .section .bss.stack, "aw", @nobits
        .balign 16
        .globl k_boot_stack
k_boot_stack:
        .skip BOOT_STACK_SIZE

        .section .note.GNU-stack, "", @progbits
