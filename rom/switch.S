/*
 * ROM B, the ROM pvlink-run publishes on a switch (--rom-switch): ROM A's
 * header, table and code (head.S, console.c, clock.c) plus the entries
 * below, and the choices that make it differ from A.  The choices are
 * records in section .rom_variant, which is not part of the image: the
 * build reads them (rom/variant) and rewrites the matching entries of A's
 * table, each entry's length being its symbol's size, then seals the
 * image.  Every call entry here is position independent and follows its
 * operation's convention: the "save" operations change nothing but their
 * result register, the flags and the stack below it (the return address
 * the call pushed); the linker derives what each changes from its bytes
 * and checks it against what the choice declares.
 *
 * B's choices, for a host of another kind: the interrupt-flag operations
 * and the one-page TLB flush become calls (A inlines them), the console
 * flushes once per write instead of once per line (console_b.c), and the
 * clock is read through B's own entry (clock_b.c: the same clock page, so
 * the same time line).
 */
#include "ops.inc"

    .text
    .globl rom_b_irq_disable, rom_b_irq_enable, rom_b_save_fl, rom_b_restore_fl
    .globl rom_b_flush_tlb_one
    .hidden rom_b_irq_disable, rom_b_irq_enable, rom_b_save_fl, rom_b_restore_fl
    .hidden rom_b_flush_tlb_one
/* ENTRY name: a call entry, typed and sized for nm -S (its length). */
.macro FUNC name
    .type \name, @function
\name:
.endm
.macro ENDF name
    .size \name, . - \name
.endm

    FUNC rom_b_irq_disable
    cli
    ret
    ENDF rom_b_irq_disable
    FUNC rom_b_irq_enable
    sti
    ret
    ENDF rom_b_irq_enable
    FUNC rom_b_save_fl
    pushfq
    pop %rax
    ret
    ENDF rom_b_save_fl
    FUNC rom_b_restore_fl
    push %rdi
    popfq
    ret
    ENDF rom_b_restore_fl
    FUNC rom_b_flush_tlb_one
    invlpg (%rdi)
    ret
    ENDF rom_b_flush_tlb_one

/* CHOICE op, action, call entry, what it may change: one struct
 * rom_variant (rom/variant.c); linked at 0, the entry's address is its
 * offset. */
.macro CHOICE op, action, call, clb
    .short OP_\op
    .byte ACT_\action, 0
    .long \call
    .quad \clb
.endm

    .section .rom_variant, "a"
    CHOICE irq_disable,   CALL, rom_b_irq_disable, CLB_FLAGS|CLB_STACK
    CHOICE irq_enable,    CALL, rom_b_irq_enable, CLB_FLAGS|CLB_STACK
    CHOICE save_fl,       CALL, rom_b_save_fl, CLB_RAX|CLB_FLAGS|CLB_STACK
    CHOICE restore_fl,    CALL, rom_b_restore_fl, CLB_FLAGS|CLB_STACK
    CHOICE flush_tlb_one, CALL, rom_b_flush_tlb_one, CLB_FLAGS|CLB_STACK
    CHOICE console_write, CALL, rom_b_console_write, CLB_KC
    CHOICE clock_read,    CALL, rom_b_clock_read, CLB_KC

    .section .note.GNU-stack, "", @progbits
