/*
 * The pvlink monitor's ROM: header, table and templates (the macros are
 * rom.inc's).  Code for the call entries is in console.c and clock.c;
 * rom.ld puts this first, the code after it, and defines rom_end (end of
 * the image), rom_data (the data area, at the next page boundary), the
 * length of each call entry (<name>_len) and the probe's place.
 *
 * The choices, per the seeds: operations hardware virtualization handles
 * (interrupt flag, control registers, TLB, page tables) stay native or are
 * inlined; the console becomes a buffer flushed with one hypercall per
 * line; the clock comes from the clock page with no exit; I/O delay, the
 * no-op hint and lazy MMU batching become NOPs.  Every operation has an
 * entry, so that `pvlink-run --policy` can change any action in place.
 */
#include "ops.inc"
#include "rom.inc"

    ROM_HEADER

    .balign 8
table:
    ENTRY nop,            NOP
    ENTRY irq_disable,    INLINE, cli, CLB_FLAGS
    ENTRY irq_enable,     INLINE, sti, CLB_FLAGS
    ENTRY save_fl,        INLINE, save_fl, CLB_RAX|CLB_FLAGS|CLB_STACK
    ENTRY restore_fl,     INLINE, restore_fl, CLB_FLAGS|CLB_STACK
    ENTRY safe_halt,      NATIVE, safe_halt, CLB_FLAGS
    ENTRY halt,           NATIVE, halt, CLB_FLAGS
    ENTRY read_cr0,       NATIVE, read_cr0, CLB_RAX
    ENTRY write_cr0,      NATIVE, write_cr0, 0
    ENTRY read_cr2,       NATIVE, read_cr2, CLB_RAX
    ENTRY write_cr2,      NATIVE, write_cr2, 0
    ENTRY read_cr3,       NATIVE, read_cr3, CLB_RAX
    ENTRY write_cr3,      NATIVE, write_cr3, 0
    ENTRY read_cr4,       NATIVE, read_cr4, CLB_RAX
    ENTRY write_cr4,      NATIVE, write_cr4, 0
    ENTRY read_msr,       NATIVE
    ENTRY write_msr,      NATIVE
    ENTRY read_tsc,       NATIVE, read_tsc, CLB_RAX|CLB_RDX|CLB_FLAGS
    ENTRY cpuid,          NATIVE
    ENTRY flush_tlb_one,  INLINE, invlpg, 0
    ENTRY flush_tlb_all,  NATIVE
    ENTRY set_pte,        INLINE, set_pte, 0
    ENTRY lazy_mmu_begin, NOP
    ENTRY lazy_mmu_end,   NOP
    ENTRY inb,            NATIVE
    ENTRY inw,            NATIVE
    ENTRY inl,            NATIVE
    ENTRY outb,           NATIVE
    ENTRY outw,           NATIVE
    ENTRY outl,           NATIVE
    ENTRY io_delay,       NOP
    ENTRY console_write,  CALL, none, 0, rom_console_write, CLB_KC
    ENTRY clock_read,     CALL, none, 0, rom_clock_read, CLB_KC
    TABLE_END

/*
 * Templates: the instructions themselves, with nothing around them, one
 * instruction per line (a ";" would end a macro argument, so no macro).
 */
t_cli:          cli
t_cli_end:
t_sti:          sti
t_sti_end:
t_save_fl:      pushfq
                pop %rax
t_save_fl_end:
t_restore_fl:   push %rdi
                popfq
t_restore_fl_end:
t_safe_halt:    sti
                hlt
t_safe_halt_end:
t_halt:         hlt
t_halt_end:
t_read_cr0:     mov %cr0, %rax
t_read_cr0_end:
t_write_cr0:    mov %rdi, %cr0
t_write_cr0_end:
t_read_cr2:     mov %cr2, %rax
t_read_cr2_end:
t_write_cr2:    mov %rdi, %cr2
t_write_cr2_end:
t_read_cr3:     mov %cr3, %rax
t_read_cr3_end:
t_write_cr3:    mov %rdi, %cr3
t_write_cr3_end:
t_read_cr4:     mov %cr4, %rax
t_read_cr4_end:
t_write_cr4:    mov %rdi, %cr4
t_write_cr4_end:
t_read_tsc:     rdtsc
                shl $32, %rdx
                or %rdx, %rax
t_read_tsc_end:
t_invlpg:       invlpg (%rdi)
t_invlpg_end:
t_set_pte:      mov %rsi, (%rdi)
t_set_pte_end:

    .section .note.GNU-stack, "", @progbits
