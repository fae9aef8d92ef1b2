/*
 * pvlink-spt, the process monitor: internal interfaces.
 *
 * The kernel runs in this process, in ring 3, at its own addresses: guest
 * RAM is a memfd; the process's mappings below SPT_VA_HI are the guest's
 * virtual address space as its page tables say, each page mapped onto its
 * frame in the memfd; the monitor (its code, data, stacks, libraries)
 * lives above SPT_VA_HI.  What the CPU refuses in ring 3 comes back as a
 * signal and is emulated on the guest's behalf (trap.c, emu.c, cpu.c);
 * what the ROM replaces comes in through the gate, a call into the
 * monitor with no trap (gate.c, entry.S).
 *
 * Two kinds of code:
 *   - the engine (cpu.c, decode.c, emu.c, mem.c, dev.c, gate.c, trap.c)
 *     runs in signal handlers and in the gate, between two guest
 *     instructions.  It
 *     is built -mgeneral-regs-only and calls no C library function (the
 *     build checks its objects) except through spt_host_output() and
 *     spt_host_hcall(), which save the guest's vector and x87 state around
 *     the call, and spt_stop(), which does not return: the gate must give
 *     the guest back every register its operation does not declare;
 *   - the front end (main.c, host.c, stats.c) sets the process up
 *     before the first guest instruction and reports at the end.
 * Errors: the run ends through spt_stop() with one of pvlink-run's exit
 * statuses (mon.h); setup failures use err()/errx() with those statuses.
 */
#ifndef PVL_SPT_H
#define PVL_SPT_H

/* Layout of struct spt_regs, for entry.S. */
#define SPT_R_RIP 128
#define SPT_R_RFLAGS 136
#define SPT_R_FS 144
#define SPT_R_GS 152
#define SPT_R_OP 160

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include "../../rom/spt/sptabi.h"
#include "../mon.h"

PVL_STATIC_ASSERT(SPT_ROM_GPA == MON_ROM_GPA, "the spt ROM is bound to where it is published");

/* The host timer that drives the PIT. */
#define SPT_SIG_TICK SIGVTALRM

/* The guest's part of the address space: [SPT_VA_LO, SPT_VA_HI). */
#define SPT_VA_LO 0x1000ull
#define SPT_VA_HI 0x400000000000ull /* 64 TiB */
#define SPT_PAGE 4096ull

/* General registers in the x86 encoding order. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI, R_R8, R_R9, R_R10, R_R11,
       R_R12, R_R13, R_R14, R_R15 };

/* The guest's registers as the engine sees them between two instructions:
 * copied from and back to a signal's ucontext, or saved by the gate. */
struct spt_regs {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    uint64_t fs_base, gs_base; /* the real bases while the guest ran */
    uint64_t op;               /* gate operation (gate only) */
    uint64_t mode64;           /* 1: 64-bit code segment, 0: 32-bit */
};
PVL_STATIC_ASSERT(offsetof(struct spt_regs, rip) == SPT_R_RIP, "spt_regs.rip");
PVL_STATIC_ASSERT(offsetof(struct spt_regs, rflags) == SPT_R_RFLAGS, "spt_regs.rflags");
PVL_STATIC_ASSERT(offsetof(struct spt_regs, fs_base) == SPT_R_FS, "spt_regs.fs_base");
PVL_STATIC_ASSERT(offsetof(struct spt_regs, gs_base) == SPT_R_GS, "spt_regs.gs_base");
PVL_STATIC_ASSERT(offsetof(struct spt_regs, op) == SPT_R_OP, "spt_regs.op");

static inline uint64_t spt_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* RFLAGS bits. */
#define FL_CF 0x1ull
#define FL_TF 0x100ull
#define FL_IF 0x200ull
#define FL_DF 0x400ull
#define FL_NT 0x4000ull
#define FL_RF 0x10000ull
#define FL_AC 0x40000ull
/* What the guest's flags may carry into ring 3; IF is always set there. */
#define FL_USER 0x254dd5ull /* CF PF AF ZF SF TF DF OF AC ID, and bit 1 */

/* Exception vectors. */
enum { V_DE = 0, V_DB = 1, V_BP = 3, V_UD = 6, V_DF = 8, V_TS = 10, V_NP = 11,
       V_SS = 12, V_GP = 13, V_PF = 14, V_MF = 16, V_AC = 17, V_XM = 19 };

/* Page-fault error code bits (also the access kinds of the walker). */
#define PFE_P 0x1u
#define PFE_W 0x2u
#define PFE_U 0x4u
#define PFE_RSVD 0x8u
#define PFE_I 0x10u

/* Results of emulation steps. */
enum { SPT_OK = 0, SPT_EXC = 1, SPT_RETRY = 2, SPT_GUARD = 3 };

/* ---- cpu.c: the virtual CPU --------------------------------------------- */
struct spt_cpu {
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t fs_base, gs_base, kernel_gs_base;
    uint64_t star, lstar, cstar, sfmask, tsc_aux, pat;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t dr[8];
    uint64_t gdt_base, idt_base, tr_base;
    uint32_t gdt_limit, idt_limit;
    uint16_t tr, ldtr;
    uint16_t sel[6];   /* ES CS SS DS FS GS, as the guest loaded them */
    volatile uint32_t *vflags; /* the shared page's virtual flags, or private */
    uint8_t resumed64; /* the guest was last resumed in 64-bit code */
    /* the exception an emulation step raised (SPT_EXC) */
    uint8_t exc_vec, exc_has_err;
    uint32_t exc_err;
};
extern struct spt_cpu spt_cpu;

#define CR0_PE 0x1ull
#define CR0_TS 0x8ull
#define CR0_ET 0x10ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_SCE 0x1ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull

/* Segment register numbers (the ModRM order). */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };

/* The virtual interrupt flag (sptabi.h). */
static inline bool spt_vif(void)
{
    return (*spt_cpu.vflags & SPT_IF) != 0;
}

static inline void spt_set_vif(bool on)
{
    uint32_t v = *spt_cpu.vflags;

    *spt_cpu.vflags = on ? v | SPT_IF : v & ~(uint32_t)SPT_IF;
}

/* Initial state: the PVH entry's (32-bit protected mode, paging off). */
void spt_cpu_reset(struct spt_regs *r, uint32_t entry, uint32_t start_info);
/* Raise exception (vec) [with error code (err)]; returns SPT_EXC. */
int spt_raise(unsigned vec, int has_err, uint32_t err);
/* Deliver the exception or interrupt (vec) through the guest's IDT with
 * the frame the hardware pushes for a CPL0->CPL0 event; (r->rip) is the
 * address the frame returns to.  Kinds: */
enum { DV_EXC, DV_SOFT, DV_EXT };
void spt_deliver(struct spt_regs *r, unsigned vec, int kind, int has_err, uint32_t err);
/* Deliver what an emulation step raised, as a fault at (r->rip). */
void spt_deliver_raised(struct spt_regs *r);
/* Control registers, MSRs, CPUID; SPT_OK or SPT_EXC. */
int spt_cr_read(unsigned n, uint64_t *v);
int spt_cr_write(unsigned n, uint64_t v);
int spt_msr_read(uint32_t msr, uint64_t *v);
int spt_msr_write(uint32_t msr, uint64_t v);
void spt_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4]);
/* Descriptor tables, segments, far transfers, iret. */
int spt_load_seg(struct spt_regs *r, unsigned seg, uint16_t sel);
int spt_far_jump(struct spt_regs *r, uint16_t sel, uint64_t off);
int spt_iret(struct spt_regs *r, unsigned opsz);
int spt_ltr(uint16_t sel);
/* The guest's flags as it would see them: the real ones with IF virtual. */
uint64_t spt_guest_flags(const struct spt_regs *r);
/* System calls the guest issued: what the hardware would have done. */
void spt_guest_syscall(struct spt_regs *r, unsigned kind);
enum { SYS_SYSCALL, SYS_SYSENTER, SYS_INT80 };

/* ---- mem.c: guest memory, page tables, the process's mappings ------------ */
extern uint8_t *spt_phys;  /* guest-physical memory, as the monitor sees it */
extern uint64_t spt_ram;   /* its size */

/* Guest RAM: the memfd (fd) of (size) bytes, seen by the monitor at
 * (phys); the guest's part of the address space is already reserved. */
void spt_mem_init(int fd, uint8_t *phys, uint64_t size);
/* The guest's page tables changed wholesale (CR0, CR3, CR4, EFER): make
 * the mappings follow them, or the identity map while paging is off. */
void spt_mmu_reload(void);
/* invlpg: refresh what the tables say about the page holding (va). */
void spt_mmu_flush_page(uint64_t va);
/* set_pte through the ROM: store (val) at (ptep) and update the mappings
 * it controls.  SPT_OK or SPT_EXC (#PF: ptep not writable). */
int spt_mmu_set_pte(uint64_t ptep, uint64_t val);
/* A host page fault at (va) with host error code (err): map the page if
 * the guest's tables allow the access (SPT_RETRY), else raise the
 * guest's #PF (returns SPT_EXC with CR2 set); SPT_GUARD for a write the
 * tables allow to the guarded page.  Ends the run if the guest allows an
 * access the process cannot give it. */
int spt_mmu_fault(uint64_t va, uint32_t err, uint64_t rip);
/* The guard: while (on), the guest page at (va) (the virtual flags', as
 * the ROM's templates address it) is mapped read-only, so that a store to
 * it traps; off, it is mapped as the tables say.  Cheap when nothing
 * changes. */
void spt_mmu_guard(uint64_t va, bool on);
/* Guest virtual memory, as the CPU at CPL0 would access it (PFE_W for
 * writes, PFE_I for fetches); SPT_OK, or SPT_EXC (#PF or #GP) */
int spt_vread(uint64_t va, void *dst, size_t n, unsigned acc);
int spt_vwrite(uint64_t va, const void *src, size_t n);
/* Guest-physical (pa, len) inside RAM, as a monitor pointer, or NULL. */
void *spt_pa(uint64_t pa, uint64_t len);
/* The guest physical address of (va) for (acc), or SPT_EXC. */
int spt_translate(uint64_t va, unsigned acc, uint64_t *pa);

/* ---- dev.c: ports, PIC, PIT, COM1, debug exit, hypercalls --------------- */
/* Port input/output of (size) bytes. */
uint32_t spt_port_in(uint16_t port, unsigned size);
void spt_port_out(uint16_t port, unsigned size, uint32_t val);
/* Advance the PIT to now; raise IRQ 0 if a period ended. */
void spt_pit_poll(void);
/* The vector the PIC would deliver now (ignoring IF), or -1. */
int spt_pic_pending(void);
/* Acknowledge it (IRR to ISR); returns the vector. */
int spt_pic_ack(void);
/* Deliver a pending interrupt if IF allows; returns 1 if it did. */
int spt_inject(struct spt_regs *r);
/* Before the guest resumes: deliver a pending interrupt if IF allows, else
 * if one is pending keep the kick timer armed (the guest may set IF
 * inline, which does not trap). */
void spt_settle(struct spt_regs *r);
/* Can an interrupt still come (one is pending, or the PIT counts and
 * IRQ 0 is neither masked nor in service)? */
bool spt_can_wake(void);
/* Nanoseconds until the PIT's current period ends (a bound for waits). */
uint64_t spt_pit_next_ns(void);
/* Console output (COM1 and the ROM's console_write). */
void spt_console_put(const char *p, size_t n);
void spt_console_flush(void);

/* ---- decode.c: the instructions emu.c emulates -------------------------- */
struct spt_insn {
    uint8_t len, map, op, modrm; /* map 1: one-byte opcode, 2: 0F xx */
    uint8_t reg, rm;        /* ModRM fields, extended by REX */
    uint8_t opsz, adsz;     /* bytes */
    uint8_t rex, seg;       /* seg: S_FS or S_GS override, else 0xff */
    bool has_modrm, mem;
    uint64_t ea;            /* memory operand's address, without segment base */
    uint64_t imm;           /* immediate, or a far pointer's offset */
    uint16_t sel;           /* a far pointer's selector */
};
enum { SPT_DEC_OK, SPT_DEC_NONE, SPT_DEC_BAD, SPT_DEC_16 };
/* Decode the instruction at (r->rip) from its bytes (p, n), n <= 15, in
 * the mode (r->mode64) says, reading no byte past (n).  Returns
 * SPT_DEC_OK; SPT_DEC_NONE if pvlink-spt does not emulate it; SPT_DEC_BAD
 * if it is truncated; SPT_DEC_16 for 16-bit addressing. */
int spt_decode(const struct spt_regs *r, const uint8_t *p, unsigned n, struct spt_insn *in);

/* ---- emu.c: trapping instructions ----------------------------------------- */
/* Emulate the instruction at (r->rip) that raised #GP/#UD in ring 3 (vec
 * with host error code err); delivers the guest's exception when there is
 * nothing to emulate. */
void spt_emulate(struct spt_regs *r, unsigned vec, uint32_t err);
/* Halt until an interrupt can be delivered (IF set, PIC pending), then
 * deliver it; ends the run if nothing can ever wake the guest. */
void spt_halt(struct spt_regs *r);
/* Carry out the store at (r->rip) that faulted on the guarded page, if it
 * is a mov store (1; the guest's fault delivered if the store faults), or
 * not (0: the caller lifts the guard and lets it run). */
int spt_emulate_store(struct spt_regs *r);

/* ---- gate.c --------------------------------------------------------------- */
extern struct spt_regs spt_gate_regs;
void spt_gate_c(void);

/* ---- trap.c: signals ------------------------------------------------------ */
/* Where the process is: the guest runs (0), the gate's assembly (1), or
 * monitor C code (2). */
extern volatile uint8_t spt_in_monitor;
extern volatile int spt_timed_out;
/* Monitor entries so far (signals and gate calls). */
extern uint64_t spt_events;
extern unsigned spt_timeout;
/* Wait at most (ns) for a timer or timeout signal, signals blocked or
 * not; 0: no bound. */
void spt_wait_signal(uint64_t ns);
/* Poll what asynchronous signals left for monitor code (the timeout). */
void spt_check_async(void);

/* ---- host.c, pvh.c, main.c: the process, statuses ------------------------ */
/* Setup, in this order: host CPU (FSGSBASE, CPUID, TSC rate); guest RAM
 * (returns the memfd); signals and timers; the sandbox. */
void spt_host_init(void);
int spt_host_memory(uint64_t size);
void spt_host_signals(unsigned timeout);
void spt_host_sandbox(int memfd, int json_fd);
/* CPUID as the host answered it before faulting was enabled: leaf (leaf),
 * subleaf 0, four words (zero for leaves not captured). */
const uint32_t *spt_host_leaf(uint32_t leaf);
/* What the ROM leaf (PVL_HV_CPUID_ROM) answers. */
extern uint32_t spt_rom_leaf[4];
extern uint64_t spt_tsc_hz;
extern uint64_t spt_host_fs; /* the monitor's own FS base (TLS) */
extern uint64_t spt_vdso;    /* where the host mapped its vDSO */
extern bool spt_cpuid_faulting; /* the guest's cpuid traps */
/* Nanoseconds since boot by the TSC (the guest's clock). */
uint64_t spt_clock_ns(void);
/* Arm the PIT's host timer to fire in (ns), and every (ns) after if
 * (periodic); disarm it with 0. */
void spt_timer_set(uint64_t ns, bool periodic);
/* Arm the kick timer (one shot, SPT_KICK_NS) unless it is armed; a
 * signal (si_value) says whether it was the kick's, which disarms it. */
#define SPT_KICK_ID 1
void spt_kick_arm(void);
void spt_kick_fired(void);
/* Console output to stdout, and a hypercall (hcall.c, pvlink-run's): C
 * library code, run with the guest's vector, x87 and mask registers saved
 * around it. */
void spt_host_output(const char *p, size_t n);
void spt_host_hcall(uint32_t gpa);
/* End the run: flush the console, report (why, if any, as a guest
 * failure with the guest's rip), print statistics, exit with (status). */
__attribute__((noreturn)) void spt_stop(int status, uint64_t rip, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The shared pvlink-run state spt reuses: ROM, hypercalls, port counts. */
extern struct mon_vm spt_vm;

/* ---- entry.S -------------------------------------------------------------- */
long spt_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
void spt_sig_entry(int sig, void *si, void *uc);
void spt_sigreturn(void);
void spt_gate(void);
__attribute__((noreturn)) void spt_enter(void);
extern const char spt_enter_trap[], spt_gate_end[], spt_gate_reads[],
    spt_gate_reads_end[];

/* ---- stats ---------------------------------------------------------------- */
/* Names of the emulated instructions, for statistics. */
#define SPT_NTRAP 48
struct spt_stats {
    uint64_t trap[SPT_NTRAP];   /* emulated instructions, by emu.c's table */
    uint64_t gate[64];          /* gate calls by operation */
    uint64_t exc[256];          /* exceptions delivered to the guest */
    uint64_t irq;               /* virtual interrupts delivered */
    uint64_t timer_signals;     /* host timer signals (the PIT's) */
    uint64_t kicks;             /* kick timer signals */
    uint64_t guards;            /* times the virtual flags were guarded */
    uint64_t stores;            /* stores to the guarded virtual flags emulated */
    uint64_t page_syncs;        /* pages mapped on a host page fault */
    uint64_t reloads;           /* whole-table reloads */
    uint64_t page_updates;      /* invlpg and set_pte updates */
    uint64_t syscalls;          /* guest system calls turned back */
    uint64_t halts;             /* halts waited out */
};
extern struct spt_stats spt_st;
/* The name of emulated instruction (i), or NULL past the table. */
const char *spt_trap_name(unsigned i);
void spt_stats_print(FILE *f);
/* Write the statistics as JSON to (f); 0, or -1 if writing failed. */
int spt_stats_json(FILE *f, int status);
#endif /* !__ASSEMBLER__ */

#endif /* PVL_SPT_H */
