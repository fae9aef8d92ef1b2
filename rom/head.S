/*
 * The pvlink monitor's ROM: header, table and templates.  Code for the call
 * entries is in console.c and clock.c; rom.ld puts this first, the code
 * after it, and defines rom_end (end of the image), rom_data (the data
 * area, at the next page boundary), the length of each call entry
 * (<name>_len) and the probe's place (rom_probe_off, rom_probe_len: 0
 * when the ROM has no rom_probe function).  Every offset is a difference of two
 * labels of the image, so the assembler and linker compute it and the
 * image holds no absolute address.  rom/pack seals the checksum.
 *
 * The choices, per the seeds: operations hardware virtualization handles
 * (interrupt flag, control registers, TLB, page tables) stay native or are
 * inlined; the console becomes a buffer flushed with one hypercall per
 * line; the clock comes from the clock page with no exit; I/O delay, the
 * no-op hint and lazy MMU batching become NOPs.  Every operation has an
 * entry, so that `pvlink-run --policy` can change any action in place.
 */
#include "ops.inc"

    .section .rom.head, "ax"
    .globl rom_base
rom_base:
    .long ROM_MAGIC
    .short FORMAT_MAJOR, FORMAT_MINOR
1:  .ascii "pvlink.kernel"
    .fill 24 - (. - 1b), 1, 0
    .short IFACE_MAJOR, IFACE_MINOR
    .long rom_end - rom_base            /* size */
    .long 0                             /* checksum: sealed by rom/pack */
    .long table - rom_base
    .long (table_end - table) / ENTRY_SIZE
    .long 0                             /* flags */
    .long rom_probe_off - rom_base      /* probe: rom.ld, 0 when there is none */
    .long rom_probe_len - rom_base
    .long 0, 0, 0, 0                    /* reserved */
    .if . - rom_base != HEADER_SIZE
    .error "the ROM header must be HEADER_SIZE bytes"
    .endif

/* ENTRY op, action, template label (or none), what it may change, call
 * entry (or none: rom.ld defines <call>_len), what it may change, flags.
 * The masks are declarations: the linker checks them against the bytes. */
.macro ENTRY op, action, tmpl=none, tclb=0, call=none, cclb=0, flags=0
    .short OP_\op
    .byte ACT_\action, \flags
    .ifc \tmpl,none
    .short 0, 0
    .long 0
    .else
    .short t_\tmpl\()_end - t_\tmpl, 0
    .long t_\tmpl - rom_base
    .endif
    .ifc \call,none
    .long 0, 0
    .else
    .long \call - rom_base, \call\()_len - rom_base
    .endif
    .long 0
    .quad \tclb, \cclb
.endm

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
table_end:
    .if (table_end - table) / ENTRY_SIZE != NOPS
    .error "the ROM table must have one entry per operation"
    .endif

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
