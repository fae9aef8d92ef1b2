/*
 * Signals: every way the guest leaves ring-3 execution.
 *
 *   SIGSEGV  #GP (privileged instruction, CPUID with faulting on, int n,
 *            non-canonical address) -> emulate or deliver; #PF -> TLB miss
 *            or the guest's #PF
 *   SIGILL, SIGFPE, SIGTRAP, SIGBUS -> the guest's #UD, #DE/#MF/#XM,
 *            #DB/#BP, #AC/#SS
 *   SIGSYS   a system call from guest code (Syscall User Dispatch): what
 *            the hardware would do with it; a system call the sandbox
 *            forbids (seccomp): the run ends
 *   SPT_SIG_TICK  the PIT's host timer, or the kick timer (armed while an
 *            interrupt waits for IF): a virtual interrupt if IF allows
 *   SIGALRM  --timeout: the run ends
 *
 * Each handler runs on the alternate stack with every signal blocked,
 * entered through entry.S (which switches FS to the monitor's), copies
 * the guest's registers out of the ucontext, acts, delivers a pending
 * interrupt if IF allows, and copies them back.  A synchronous signal in
 * monitor code is a monitor failure; an asynchronous one there (the gate
 * runs with signals unblocked) only leaves a note for the monitor.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "spt.h"

volatile uint8_t spt_in_monitor = 2;
volatile int spt_timed_out;
unsigned spt_timeout;
uint64_t spt_events;
/* The state the first guest instruction runs in (main.c fills it). */
struct spt_regs spt_boot_regs;

static const uint8_t greg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                 REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                 REG_R12, REG_R13, REG_R14, REG_R15};

#define CS_64 0x33 /* Linux's 64-bit user code segment */
#define CS_32 0x23 /* and its 32-bit one */

static void regs_from(struct spt_regs *r, const ucontext_t *uc, const uint64_t bases[2])
{
    const greg_t *g = uc->uc_mcontext.gregs;

    for (int i = 0; i < 16; i++)
        r->gpr[i] = (uint64_t)g[greg[i]];
    r->rip = (uint64_t)g[REG_RIP];
    r->rflags = (uint64_t)g[REG_EFL];
    r->mode64 = ((uint64_t)g[REG_CSGSFS] & 0xffff) != CS_32;
    spt_cpu.fs_base = bases[0];
    spt_cpu.gs_base = bases[1];
}

static void regs_to(const struct spt_regs *r, ucontext_t *uc, uint64_t bases[2])
{
    greg_t *g = uc->uc_mcontext.gregs;

    for (int i = 0; i < 16; i++)
        g[greg[i]] = (greg_t)r->gpr[i];
    g[REG_RIP] = (greg_t)r->rip;
    g[REG_EFL] = (greg_t)((r->rflags & FL_USER) | FL_IF | 2);
    g[REG_CSGSFS] = (greg_t)(((uint64_t)g[REG_CSGSFS] & ~0xffffull) | (r->mode64 ? CS_64 : CS_32));
    bases[0] = spt_cpu.fs_base;
    bases[1] = spt_cpu.gs_base;
    spt_cpu.resumed64 = (uint8_t)r->mode64;
}

/*
 * sysenter is the one system call instruction the host kernel acts on
 * before Syscall User Dispatch can stop it: it takes it for a 32-bit
 * vDSO call, replaces the instruction pointer with the 32-bit vDSO's
 * return address (which a 64-bit process does not have) and the stack
 * pointer with %ebp, and returns in 32-bit mode.  No system call runs,
 * but what the guest had in rip and rsp is gone: the run ends.
 */
static void check_sysenter(const ucontext_t *uc)
{
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];

    if (spt_cpu.resumed64 && ((uint64_t)uc->uc_mcontext.gregs[REG_CSGSFS] & 0xffff) == CS_32 &&
        (uint32_t)rip - (uint32_t)spt_vdso < 0x4000)
        spt_stop(MON_EXIT_GUEST, rip, "the guest executed sysenter, which the host kernel "
                 "takes for a 32-bit system call: it ran none, but the guest's rip and rsp "
                 "are lost");
}

/* A few words about a failure inside the monitor, without the C library
 * (which the failure may have left inconsistent). */
__attribute__((noreturn)) static void monitor_failed(const char *what, uint64_t rip)
{
    static const char hex[] = "0123456789abcdef";
    char msg[160];
    size_t n = 0;

    for (const char *p = "pvlink-spt: "; *p; p++)
        msg[n++] = *p;
    for (const char *p = what; *p && n < 120; p++)
        msg[n++] = *p;
    for (const char *p = " at rip 0x"; *p; p++)
        msg[n++] = *p;
    for (int s = 60; s >= 0; s -= 4)
        msg[n++] = hex[(rip >> s) & 15];
    msg[n++] = '\n';
    spt_syscall(SYS_write, 2, (long)msg, (long)n, 0, 0, 0);
    spt_syscall(SYS_exit_group, MON_EXIT_HOST, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

/* A timer signal: the PIT's, or the kick timer's, which it disarms. */
static void timer_signal(const siginfo_t *si)
{
    if (si->si_code == SI_TIMER && si->si_value.sival_int == SPT_KICK_ID) {
        spt_st.kicks++;
        spt_kick_fired();
    } else {
        spt_st.timer_signals++;
    }
}

/* An asynchronous signal while the monitor runs (the gate, state 1 or 2):
 * the gate settles interrupts before the guest resumes. */
static void monitor_async(int sig, const siginfo_t *si, uint8_t state)
{
    if (sig == SIGALRM) {
        spt_timed_out = 1;
        if (state == 1) /* between two gate steps: nothing is half done */
            spt_check_async();
        return;
    }
    timer_signal(si);
}

/* A synchronous signal in monitor code. */
__attribute__((noreturn)) static void monitor_fault(int sig, const siginfo_t *si,
                                                    const ucontext_t *uc)
{
    static const char msg[] = "the monitor made a system call its sandbox forbids: number ";
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    char what[sizeof msg + 8];

    if (sig == SIGSEGV && rip >= (uintptr_t)spt_gate_reads && rip < (uintptr_t)spt_gate_reads_end)
        spt_stop(MON_EXIT_GUEST, rip, "the guest called the monitor's gate with an unusable "
                 "stack (rsp %#llx)", (unsigned long long)spt_gate_regs.gpr[R_SP]);
    if (sig == SIGSYS) {
        unsigned nr = (unsigned)si->si_syscall % 1000;
        __builtin_memcpy(what, msg, sizeof msg - 1);
        what[sizeof msg - 1] = (char)('0' + nr / 100);
        what[sizeof msg] = (char)('0' + nr / 10 % 10);
        what[sizeof msg + 1] = (char)('0' + nr % 10);
        what[sizeof msg + 2] = 0;
        monitor_failed(what, rip);
    }
    monitor_failed(sig == SIGSEGV ? "the monitor faulted (SIGSEGV)" : "the monitor faulted", rip);
}

/* Which system call instruction ends at (rip): syscall, sysenter, int 0x80. */
static void guest_syscall(struct spt_regs *r)
{
    uint8_t b[2];

    if (spt_vread(r->rip - 2, b, 2, PFE_I) != SPT_OK)
        spt_stop(MON_EXIT_GUEST, r->rip, "a system call from guest code that cannot be read");
    if (b[0] == 0xcd && b[1] == 0x80)
        spt_guest_syscall(r, SYS_INT80);
    else if (b[0] == 0x0f && b[1] == 0x34)
        spt_guest_syscall(r, SYS_SYSENTER);
    else if (b[0] == 0x0f && b[1] == 0x05)
        spt_guest_syscall(r, SYS_SYSCALL);
    else
        spt_stop(MON_EXIT_GUEST, r->rip, "a system call by an unknown instruction (%02x %02x)",
                 b[0], b[1]);
}

static void sigsys(struct spt_regs *r, const siginfo_t *si)
{
    if (si->si_code == 2) { /* SYS_USER_DISPATCH */
        guest_syscall(r);
        return;
    }
    spt_stop(MON_EXIT_GUEST, r->rip, "the guest made system call %d from host code, which the "
             "sandbox forbids", si->si_syscall);
}

static void fault(struct spt_regs *r, int sig, const siginfo_t *si, const ucontext_t *uc)
{
    unsigned trapno = (unsigned)uc->uc_mcontext.gregs[REG_TRAPNO];
    uint32_t err = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];

    if (sig == SIGSEGV && trapno == V_PF) {
        int st = spt_mmu_fault((uint64_t)(uintptr_t)si->si_addr, err, r->rip);
        if (st == SPT_EXC)
            spt_deliver_raised(r);
        else if (st == SPT_GUARD && !spt_emulate_store(r))
            spt_mmu_guard(0, false); /* it runs natively; the kick timer delivers */
    } else if (sig == SIGSEGV && trapno == V_GP) {
        spt_emulate(r, V_GP, err);
    } else if (sig == SIGBUS && trapno == V_AC) {
        r->rflags &= ~FL_AC; /* alignment checks apply to CPL 3, not the guest */
    } else if (sig == SIGILL) {
        spt_deliver(r, V_UD, DV_EXC, 0, 0);
    } else if (sig == SIGTRAP) {
        spt_deliver(r, trapno == V_BP ? V_BP : V_DB, DV_EXC, 0, 0);
    } else if (trapno == V_NP || trapno == V_SS || trapno == V_GP) {
        spt_deliver(r, trapno, DV_EXC, 1, err);
    } else if (sig == SIGFPE && (trapno == V_DE || trapno == V_MF || trapno == V_XM)) {
        spt_deliver(r, trapno, DV_EXC, 0, 0);
    } else {
        spt_stop(MON_EXIT_GUEST, r->rip, "signal %d (trap %u) from guest code", sig, trapno);
    }
}

static void dispatch(struct spt_regs *r, int sig, const siginfo_t *si, const ucontext_t *uc)
{
    if (sig == SIGSYS)
        sigsys(r, si);
    else if (sig == SIGALRM)
        spt_timed_out = 1;
    else if (sig == SPT_SIG_TICK)
        timer_signal(si);
    else
        fault(r, sig, si, uc);
    spt_check_async();
    spt_settle(r);
}

/* Called by entry.S with the real FS and GS bases in (bases), which it
 * loads back on return. */
void spt_signal(int sig, siginfo_t *si, ucontext_t *uc, uint64_t bases[2]);
void spt_signal(int sig, siginfo_t *si, ucontext_t *uc, uint64_t bases[2])
{
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    uint8_t state = spt_in_monitor;
    bool async = sig == SPT_SIG_TICK || sig == SIGALRM;
    struct spt_regs r;

    if (state == 0 && rip >= (uintptr_t)spt_gate && rip < (uintptr_t)spt_gate_end)
        state = 1;
    if (state && async) {
        monitor_async(sig, si, state);
        return;
    }
    if (state && !(sig == SIGILL && rip == (uintptr_t)spt_enter_trap))
        monitor_fault(sig, si, uc);
    spt_in_monitor = 2;
    spt_events++;
    if (state) { /* the first guest instruction */
        for (size_t i = 0; i < sizeof r / 8; i++) /* no memcpy: see spt.h */
            ((uint64_t *)&r)[i] = ((const uint64_t *)&spt_boot_regs)[i];
        spt_cpu.fs_base = spt_cpu.gs_base = 0;
    } else {
        check_sysenter(uc);
        regs_from(&r, uc, bases);
        dispatch(&r, sig, si, uc);
    }
    regs_to(&r, (ucontext_t *)uc, bases);
    spt_in_monitor = 0;
}

void spt_wait_signal(uint64_t ns)
{
    struct {
        long sec, nsec;
    } ts = {(long)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    uint64_t set = 1ull << (SPT_SIG_TICK - 1) | 1ull << (SIGALRM - 1);
    siginfo_t si;
    long r = spt_syscall(SYS_rt_sigtimedwait, (long)&set, (long)&si, ns ? (long)&ts : 0, 8, 0, 0);

    if (r == SIGALRM)
        spt_timed_out = 1;
    else if (r == SPT_SIG_TICK)
        timer_signal(&si);
}

void spt_check_async(void)
{
    if (spt_timed_out)
        spt_stop(MON_EXIT_GUEST, 0, "timed out after %u s", spt_timeout);
}
