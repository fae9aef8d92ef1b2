/*
 * The contract between pvlink-spt (monitor/spt/) and the ROM it publishes
 * (rom/spt/): where the ROM and its shared page are, the virtual interrupt
 * flag, and the gate.
 *
 * Self-contained (<stdint.h>, <stddef.h> and <pvlink/cdefs.h>), usable
 * from C and, for the constants, from assembly.  Layouts are pinned with
 * PVL_STATIC_ASSERT.
 *
 * Where.  pvlink-spt publishes its ROM as pvlink-run does (<pvlink/hv.h>),
 * at SPT_ROM_GPA, with the data area at the next page boundary after the
 * image; the kernel maps the whole region at its physical address.  The
 * spt ROM's image fits in one page, so its data area is at SPT_ROM_GPA +
 * SPT_DATA_OFF (the build checks it), and the shared page at
 * SPT_SHARED_GPA.  The first page of the data area keeps the pvlink clock
 * page at offset 0 (so that pvlink-run's ROM works here too).  The spt ROM
 * is bound to these addresses: its inline templates name the virtual flags
 * by absolute address (templates may not be RIP-relative), and its probe
 * declines to run anywhere else.
 *
 * The virtual interrupt flag.  A deprivileged guest cannot clear IF, and
 * pushf/popf show and ignore the host's: `vflags` (a 32-bit word at
 * SPT_VFLAGS_GPA) is the guest's, IF being its bit 9 (0x200) and the other
 * bits whatever restore_fl last stored.  The ROM's interrupt-flag
 * templates read and write it inline with no exit:
 *
 *     irq_disable   movb $0, SPT_VFLAGS_GPA+1       (8 bytes)
 *     irq_enable    movb $2, SPT_VFLAGS_GPA+1       (8 bytes)
 *     save_fl       mov SPT_VFLAGS_GPA, %eax        (7 bytes)
 *     restore_fl    mov %edi, SPT_VFLAGS_GPA        (7 bytes)
 *
 * The monitor reads IF there before it delivers a virtual interrupt, and
 * writes it when it delivers one through an interrupt gate (IF off), when
 * it emulates cli, sti, iretq, syscall or sysenter, and for safe_halt.
 * Nothing traps when the guest sets IF inline, so while an interrupt is
 * pending and IF is off the monitor maps the shared page read-only where
 * the templates address it: the store that sets IF faults, the monitor
 * carries it out and delivers the interrupt at once.  A store it does not
 * carry out (not a mov, or through another mapping of the page) runs
 * natively; for those the monitor also re-arms a short host timer
 * (SPT_KICK_NS) while the interrupt waits, which delivers it at most about
 * SPT_KICK_NS after IF was set (plus the host's scheduling delay).
 *
 * The gate.  `gate` holds the address of the monitor's entry point, code
 * in the same process; the ROM declares it (format 2.1's PVL_ROM_GATES)
 * as writing rax, the arithmetic flags and the stack below its caller's.  A ROM call entry puts the operation (a kernel
 * catalog operation number) in %eax, its arguments in the operation's
 * registers (%rdi, %rsi), and calls or jumps through `gate`:
 *
 *     mov $op, %eax               mov $op, %eax         (the operation's
 *     jmp *gate(%rip)             push ... call ... pop  convention)
 *
 * The gate returns to the return address on the stack with %rsp above it,
 * the operation done, its result (if any) in %rax, the arithmetic flags
 * undefined, and every other register (vector and x87 state included) as
 * it was.  It runs on a stack of its own.  It may instead resume the
 * guest in an interrupt or exception handler, with the frame the hardware
 * would have pushed below %rsp, returning to the same address.
 */
#ifndef PVL_SPTABI_H
#define PVL_SPTABI_H

#define SPT_ROM_GPA 0xc0000        /* where pvlink-spt publishes its ROM */
#define SPT_DATA_OFF 0x1000        /* its data area, from SPT_ROM_GPA */
#define SPT_SHARED_OFF 0x800       /* the shared page, from the data area */
#define SPT_SHARED_GPA (SPT_ROM_GPA + SPT_DATA_OFF + SPT_SHARED_OFF)
#define SPT_SHARED_VFLAGS 0x0      /* uint32_t: the virtual flags, IF 0x200 */
#define SPT_SHARED_GATE 0x8        /* uint64_t: the gate's address */
#define SPT_SHARED_MAGIC 0x10      /* uint64_t: SPT_MAGIC once filled */
#define SPT_VFLAGS_GPA (SPT_SHARED_GPA + SPT_SHARED_VFLAGS)
#define SPT_MAGIC 0x32746e696c767073 /* "spvlint2" little-endian */
#define SPT_IF 0x200               /* IF in the virtual flags */
#define SPT_KICK_NS 100000         /* re-arm period while IF holds back an interrupt */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include <pvlink/cdefs.h>

struct spt_shared {
    uint32_t vflags;
    uint32_t pad;
    uint64_t gate;
    uint64_t magic;
};

PVL_STATIC_ASSERT(sizeof(struct spt_shared) == 24, "spt_shared layout");
PVL_STATIC_ASSERT(offsetof(struct spt_shared, vflags) == SPT_SHARED_VFLAGS, "spt_shared.vflags");
PVL_STATIC_ASSERT(offsetof(struct spt_shared, gate) == SPT_SHARED_GATE, "spt_shared.gate");
PVL_STATIC_ASSERT(offsetof(struct spt_shared, magic) == SPT_SHARED_MAGIC, "spt_shared.magic");
PVL_STATIC_ASSERT(SPT_SHARED_GPA + sizeof(struct spt_shared) < 0x80000000u,
                  "absolute operands of 32 bits reach the shared page");
#endif

#endif /* PVL_SPTABI_H */
