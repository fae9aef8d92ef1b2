/*
 * The ROM pvlink-spt publishes, in format 2.1: header, table, templates,
 * call entries and probe (the header and entry macros are rom/rom.inc's;
 * rom.ld, shared with rom/, places the image and the data area).  See
 * sptabi.h for the addresses, the virtual flags and the gate.
 *
 * The choices, for a kernel deprivileged in a Linux process:
 *   - the interrupt flag is virtual, a word of the page shared with the
 *     monitor, and the four interrupt-flag operations are inline templates
 *     that read or write it by absolute address (7 or 8 bytes: the
 *     catalog's 8-byte rooms).  save_fl and restore_fl are required: their
 *     native code (pushf, popf) runs in ring 3 without a fault and shows or
 *     ignores the host's IF, which is wrong here.  irq_disable and
 *     irq_enable are not: cli and sti fault, and the monitor emulates them;
 *   - what the monitor does better than the native code, and what would
 *     trap (console, clock, control registers, MSRs, port I/O, TLB and
 *     page-table updates as direct updates of the process's mappings,
 *     halt), calls the monitor's gate, in the same process, with no trap.
 *     The gate is declared (PVL_ROM_GATES) as writing rax, the flags and
 *     the stack: operations that may change rax jump into it with the
 *     operation in %eax; "save" operations that may not call it with rax
 *     saved around the call, so that the linker sees them change nothing
 *     but the flags;
 *   - I/O delay, the no-op hint and lazy MMU batching become NOPs; the TSC
 *     stays native (rdtsc works in ring 3), and so does CPUID (it traps
 *     and is emulated: its four results are more than the gate returns).
 * Every operation has an entry, so that `pvlink-spt --policy` can change
 * any action in place.
 */
#include "ops.inc"
#include "rom.inc"
#include "sptabi.h"

/* What the gate writes, and the shared page as the ROM's code reaches it
 * (RIP-relatively, from rom.ld's rom_data). */
    .set GATE_WRITES, CLB_RAX | CLB_FLAGS | CLB_STACK
    .set SAVE, CLB_FLAGS | CLB_STACK
    .set shared, rom_data + SPT_SHARED_OFF
    .set gate, shared + SPT_SHARED_GATE
    .set magic, shared + SPT_SHARED_MAGIC

    ROM_HEADER ROM_GATES, GATE_WRITES

/* GATE op: the call entry g_<op> carries it out in the monitor. */
.macro GATE op, cclb
    ENTRY \op, CALL, none, 0, g_\op, \cclb
.endm

    .balign 8
table:
    ENTRY nop,            NOP
    ENTRY irq_disable,    INLINE, cli, 0
    ENTRY irq_enable,     INLINE, sti, 0
    ENTRY save_fl,        INLINE, save_fl, CLB_RAX, flags=ENT_REQUIRED
    ENTRY restore_fl,     INLINE, restore_fl, 0, flags=ENT_REQUIRED
    GATE  safe_halt,      SAVE
    GATE  halt,           SAVE
    GATE  read_cr0,       GATE_WRITES
    GATE  write_cr0,      SAVE
    GATE  read_cr2,       GATE_WRITES
    GATE  write_cr2,      SAVE
    GATE  read_cr3,       GATE_WRITES
    GATE  write_cr3,      SAVE
    GATE  read_cr4,       GATE_WRITES
    GATE  write_cr4,      SAVE
    GATE  read_msr,       GATE_WRITES
    GATE  write_msr,      GATE_WRITES
    ENTRY read_tsc,       NATIVE
    ENTRY cpuid,          NATIVE
    GATE  flush_tlb_one,  SAVE
    GATE  flush_tlb_all,  GATE_WRITES
    GATE  set_pte,        SAVE
    ENTRY lazy_mmu_begin, NOP
    ENTRY lazy_mmu_end,   NOP
    GATE  inb,            GATE_WRITES
    GATE  inw,            GATE_WRITES
    GATE  inl,            GATE_WRITES
    GATE  outb,           GATE_WRITES
    GATE  outw,           GATE_WRITES
    GATE  outl,           GATE_WRITES
    ENTRY io_delay,       NOP, none, 0, g_io_delay, SAVE
    GATE  console_write,  GATE_WRITES
    GATE  clock_read,     GATE_WRITES
    TABLE_END

/*
 * Templates: the virtual flags by absolute address, one instruction each
 * (IF is bit 1 of the word's second byte).
 */
t_cli:          movb $0, SPT_VFLAGS_GPA + 1
t_cli_end:
t_sti:          movb $(SPT_IF >> 8), SPT_VFLAGS_GPA + 1
t_sti_end:
t_save_fl:      mov SPT_VFLAGS_GPA, %eax
t_save_fl_end:
t_restore_fl:   mov %edi, SPT_VFLAGS_GPA
t_restore_fl_end:

/*
 * Call entries: the operation for the gate in %eax.  G_JUMP for operations
 * whose sites allow rax to change (the gate returns straight to the
 * site), G_KEEP for the others.  <name>_len is the entry's length for
 * ENTRY (rom_base cancels out: see rom.inc).
 */
.macro G_JUMP op
g_\op:
    mov $OP_\op, %eax
    jmp *gate(%rip)
g_\op\()_end:
    .set g_\op\()_len, rom_base + (g_\op\()_end - g_\op)
.endm

.macro G_KEEP op
g_\op:
    push %rax
    mov $OP_\op, %eax
    call *gate(%rip)
    pop %rax
    ret
g_\op\()_end:
    .set g_\op\()_len, rom_base + (g_\op\()_end - g_\op)
.endm

    G_KEEP safe_halt
    G_KEEP halt
    G_JUMP read_cr0
    G_KEEP write_cr0
    G_JUMP read_cr2
    G_KEEP write_cr2
    G_JUMP read_cr3
    G_KEEP write_cr3
    G_JUMP read_cr4
    G_KEEP write_cr4
    G_JUMP read_msr
    G_JUMP write_msr
    G_KEEP flush_tlb_one
    G_JUMP flush_tlb_all
    G_KEEP set_pte
    G_JUMP inb
    G_JUMP inw
    G_JUMP inl
    G_JUMP outb
    G_JUMP outw
    G_JUMP outl
    G_KEEP io_delay
    G_JUMP console_write
    G_JUMP clock_read

/*
 * The probe: accept only under pvlink-spt, with this image where its
 * templates' absolute addresses say (the shared page that RIP-relative
 * code finds is the one at SPT_SHARED_GPA) and the monitor's magic there.
 */
    .section .text.rom_probe, "ax"
    .globl rom_probe
    .hidden rom_probe
rom_probe:
    lea shared(%rip), %rax
    cmp $SPT_SHARED_GPA, %rax
    jne 1f
    movabs $SPT_MAGIC, %rax
    cmp magic(%rip), %rax
    jne 1f
    mov $1, %eax
    ret
1:  xor %eax, %eax
    ret

    .section .note.GNU-stack, "", @progbits
