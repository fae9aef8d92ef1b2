/*
 * The self-test: every kind of operation checked by its effect, whatever
 * the sites were linked to.  Each check prints "selftest: NAME ok" or
 * "selftest: NAME FAILED: why"; the test ends with the line SUCCESS when
 * every check passed.
 *
 * No check depends on how fast anything runs: waits are for events (a
 * timer interrupt becoming pending, a tick being taken), never for time.
 */
#include "kern.h"

#define RFLAGS_IF 0x200ull
#define CR0_PE 0x1ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_TSD 0x4ull
#define CR4_PAE 0x20ull
#define MSR_EFER 0xc0000080u
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define PF_PRESENT 0x1ull
#define PF_WRITE 0x2ull
#define VEC_GP 13
#define VEC_PF 14
#define PIC1_DATA 0x21
/* Upper bound on IRR polls while waiting for a tick with interrupts off:
 * a tick is 10 ms; this only turns a missing timer into a failure rather
 * than a hang. */
#define PENDING_POLLS 50000000ull
/* Ticks to take before one leaves the IRR clear: another could become
 * pending while the first is taken, and a monitor whose PIT re-injects
 * the ticks missed while interrupts were off (KVM's default, QEMU+KVM)
 * delivers a backlog back to back after a long interrupts-off stretch
 * such as a late link. */
#define QUIET_TRIES 1000
/* Spins after enabling interrupts with a tick pending; it is taken at the
 * first one wherever interrupts work. */
#define DELIVERY_SPINS 100000

extern uint64_t k_pml4[];

#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            k_printf("selftest: %s FAILED: ", cur);                          \
            k_printf(__VA_ARGS__);                                           \
            k_puts("\n");                                                    \
            return -1;                                                       \
        }                                                                    \
    } while (0)

static const char *cur;

static int t_cpuid(void)
{
    struct pvk_cpuid c0 = pvk_cpuid(0, 0), c1 = pvk_cpuid(1, 0);
    struct pvk_cpuid e0 = pvk_cpuid(0x80000000u, 0), e1;

    EXPECT(c0.eax >= 1, "leaf 0: highest leaf %u", c0.eax);
    EXPECT((c1.edx & 0x70) == 0x70, "leaf 1 edx %#x lacks TSC/MSR/PAE", c1.edx);
    EXPECT(e0.eax >= 0x80000001u, "leaf 0x80000000: highest %#x", e0.eax);
    e1 = pvk_cpuid(0x80000001u, 0);
    EXPECT(e1.edx & (1u << 29), "leaf 0x80000001 edx %#x lacks LM", e1.edx);
    return 0;
}

/* Flip (bit) of a control register with (rd, wr), check, flip it back. */
static int cr_toggle(uint64_t (*rd)(void), void (*wr)(uint64_t), uint64_t bit,
                     const char *name)
{
    uint64_t v = rd();

    wr(v ^ bit);
    uint64_t flipped = rd();
    wr(v);
    uint64_t back = rd();
    EXPECT(flipped == (v ^ bit), "%s: wrote %#llx, read %#llx", name,
           (unsigned long long)(v ^ bit), (unsigned long long)flipped);
    EXPECT(back == v, "%s: restored %#llx, read %#llx", name,
           (unsigned long long)v, (unsigned long long)back);
    return 0;
}

static uint64_t rd_cr0(void) { return pvk_read_cr0(); }
static void wr_cr0(uint64_t v) { pvk_write_cr0(v); }
static uint64_t rd_cr4(void) { return pvk_read_cr4(); }
static void wr_cr4(uint64_t v) { pvk_write_cr4(v); }

static int t_cr(void)
{
    uint64_t cr0 = pvk_read_cr0(), cr3 = pvk_read_cr3(), cr4 = pvk_read_cr4();

    EXPECT((cr0 & (CR0_PG | CR0_PE)) == (CR0_PG | CR0_PE), "cr0 %#llx",
           (unsigned long long)cr0);
    EXPECT((cr4 & CR4_PAE), "cr4 %#llx lacks PAE", (unsigned long long)cr4);
    EXPECT((cr3 & ~0xfffull) == (uintptr_t)k_pml4, "cr3 %#llx, PML4 at %p",
           (unsigned long long)cr3, (void *)k_pml4);
    if (cr_toggle(rd_cr0, wr_cr0, CR0_WP, "cr0.WP") ||
        cr_toggle(rd_cr4, wr_cr4, CR4_TSD, "cr4.TSD"))
        return -1;
    pvk_write_cr2(0x12345000);
    EXPECT(pvk_read_cr2() == 0x12345000, "cr2 read %#llx after writing "
           "0x12345000", (unsigned long long)pvk_read_cr2());
    return 0;
}

static int t_msr(void)
{
    uint64_t efer = pvk_read_msr(MSR_EFER);
    uint64_t old = pvk_read_msr(MSR_KERNEL_GS_BASE), v = 0x00007f5a5a5a5000ull;

    EXPECT((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
           "EFER %#llx lacks LME|LMA", (unsigned long long)efer);
    pvk_write_msr(MSR_KERNEL_GS_BASE, v);
    uint64_t got = pvk_read_msr(MSR_KERNEL_GS_BASE);
    pvk_write_msr(MSR_KERNEL_GS_BASE, old);
    EXPECT(got == v, "KERNEL_GS_BASE read %#llx after writing %#llx",
           (unsigned long long)got, (unsigned long long)v);
    EXPECT(pvk_read_msr(MSR_KERNEL_GS_BASE) == old, "KERNEL_GS_BASE not "
           "restored");
    return 0;
}

static int t_irqflags(void)
{
    uint64_t outer = pvk_save_fl(), inner;

    EXPECT(outer & RFLAGS_IF, "interrupts are off at the start");
    pvk_irq_disable();
    inner = pvk_save_fl();
    EXPECT(!(inner & RFLAGS_IF), "irq_disable left IF set");
    pvk_irq_disable();
    pvk_restore_fl(inner);
    EXPECT(!(pvk_save_fl() & RFLAGS_IF), "inner restore_fl enabled "
           "interrupts");
    pvk_restore_fl(outer);
    EXPECT(pvk_save_fl() & RFLAGS_IF, "outer restore_fl left them off");
    pvk_irq_disable();
    pvk_irq_enable();
    EXPECT(pvk_save_fl() & RFLAGS_IF, "irq_enable left IF clear");
    return 0;
}

/* Write a mask to the PIC's IMR and read it back: port output and input
 * by effect. */
static int t_portio(void)
{
    uint64_t fl = pvk_save_fl();

    pvk_irq_disable();
    uint32_t old = pvk_inb(PIC1_DATA);
    pvk_outb(PIC1_DATA, 0xff);
    uint32_t all = pvk_inb(PIC1_DATA);
    pvk_outb(PIC1_DATA, old);
    uint32_t back = pvk_inb(PIC1_DATA);
    pvk_restore_fl(fl);
    EXPECT(all == 0xff, "PIC IMR read %#x after writing 0xff", all);
    EXPECT(back == old, "PIC IMR read %#x after writing %#x", back, old);
    return 0;
}

static int wait_pending(void)
{
    for (uint64_t i = 0; i < PENDING_POLLS; i++)
        if (k_timer_pending())
            return 0;
    return -1;
}

/* With a tick pending, enable interrupts: it must be taken at once (the
 * spin bound only turns "never" into a failure).  Interrupts are off
 * again on return. */
static int take_pending(void)
{
    uint64_t t = k_ticks();

    pvk_irq_enable();
    for (int i = 0; i < DELIVERY_SPINS && k_ticks() == t; i++)
        pvk_nop();
    pvk_irq_disable();
    return k_ticks() != t ? 0 : -1;
}

/* Interrupts off, just after a tick was taken, with none pending: the
 * next tick is a whole period away.  Returns -1 (interrupts off) if no
 * tick became pending, one was never delivered, or one kept being
 * pending. */
static int after_tick(const char **why)
{
    pvk_irq_disable();
    for (int i = 0; i < QUIET_TRIES; i++) {
        if (wait_pending() != 0)
            return *why = "IRQ 0 never became pending", -1;
        if (take_pending() != 0)
            return *why = "IRQ 0 pending but not taken with interrupts on "
                          "(is LAPIC LINT0 in ExtINT mode?)", -1;
        if (!k_timer_pending())
            return 0;
    }
    return *why = "a tick was pending again right after each tick", -1;
}

/* Set once the timer interrupt is known to be delivered: only then may a
 * check halt to wait for a tick. */
static int irq_ok;

/*
 * The timer interrupt is taken only while enabled; the clock counts a
 * tick that is pending but not yet taken (without that, the reading after
 * the counter wrapped would be a whole tick behind and the floor would
 * hold it equal to the one before).
 */
static int t_interrupt(void)
{
    uint64_t fl = pvk_save_fl(), t0, t1, c0, c1, c2;
    const char *why = 0;
    int r;

    EXPECT(k_timer_ok(), "no PIT, no timer interrupt");
    r = after_tick(&why);
    t0 = k_ticks();
    c0 = pvk_clock_read();
    if (r == 0)
        r = wait_pending();
    c1 = pvk_clock_read();
    t1 = k_ticks();
    if (r == 0 && (r = take_pending()) != 0)
        why = "the second tick was not taken";
    c2 = pvk_clock_read();
    pvk_restore_fl(fl);
    EXPECT(r == 0, "%s", why ? why : "IRQ 0 never became pending again");
    EXPECT(t1 == t0, "a tick was taken with interrupts disabled");
    EXPECT(c1 > c0, "clock %llu ns with a tick pending, %llu before it",
           (unsigned long long)c1, (unsigned long long)c0);
    EXPECT(c2 >= c1, "clock went back after the tick: %llu < %llu",
           (unsigned long long)c2, (unsigned long long)c1);
    irq_ok = 1;
    return 0;
}

/* Monotonic over consecutive reads; the clock and the TSC advance over a
 * tick, waited for with safe_halt (sti; hlt). */
static int t_clock(void)
{
    uint64_t prev = pvk_clock_read(), first = prev, t = k_ticks();
    uint64_t tsc0 = pvk_read_tsc();

    for (int i = 0; i < 32; i++) {
        uint64_t c = pvk_clock_read();
        EXPECT(c >= prev, "read %d: %llu ns after %llu ns", i,
               (unsigned long long)c, (unsigned long long)prev);
        prev = c;
    }
    EXPECT(irq_ok, "cannot wait for a tick: the timer interrupt check failed");
    while (k_ticks() == t)
        pvk_safe_halt();
    uint64_t last = pvk_clock_read(), tsc1 = pvk_read_tsc();
    EXPECT(last > first, "clock did not advance over a tick: %llu ns, then "
           "%llu ns", (unsigned long long)first, (unsigned long long)last);
    EXPECT(tsc1 > tsc0, "TSC did not advance over a tick: %llu, then %llu",
           (unsigned long long)tsc0, (unsigned long long)tsc1);
    return 0;
}

static int expect_fault(const char *what, uint64_t vec, uint64_t addr,
                        int rc, uint64_t n0)
{
    EXPECT(rc != 0 && k_last_fault.count == n0 + 1, "%s did not fault", what);
    EXPECT(k_last_fault.vector == vec, "%s: vector %llu, expected %llu", what,
           (unsigned long long)k_last_fault.vector, (unsigned long long)vec);
    EXPECT(vec != VEC_PF || k_last_fault.cr2 == addr,
           "%s: cr2 %#llx, expected %#llx", what,
           (unsigned long long)k_last_fault.cr2, (unsigned long long)addr);
    return 0;
}

/* Map a window page, read and write through it; retarget it and make the
 * change visible with a CR3 reload, a full flush and a one-page flush. */
static int t_map(void)
{
    volatile uint64_t *a = (volatile uint64_t *)(uintptr_t)k_scratch_frame(0);
    volatile uint64_t *b = (volatile uint64_t *)(uintptr_t)k_scratch_frame(1);
    volatile uint64_t *pte = k_win_pte(0);
    uint64_t v = 0;
    volatile uint64_t *w;

    *a = 0xaaaa0001, *b = 0xbbbb0002;
    w = k_win_map(0, (uintptr_t)a);
    EXPECT(k_probe_read(w, &v) == 0 && v == 0xaaaa0001,
           "read %#llx through the new mapping", (unsigned long long)v);
    *w = 0xaaaa0003;
    EXPECT(*a == 0xaaaa0003, "a write through the window did not reach the "
           "frame");
    pvk_set_pte(pte, (uintptr_t)b | 3);
    pvk_write_cr3(pvk_read_cr3());
    EXPECT(*w == 0xbbbb0002, "after a CR3 reload the window shows %#llx",
           (unsigned long long)*w);
    pvk_set_pte(pte, (uintptr_t)a | 3);
    pvk_flush_tlb_all();
    EXPECT(*w == 0xaaaa0003, "after flush_tlb_all the window shows %#llx",
           (unsigned long long)*w);
    pvk_set_pte(pte, (uintptr_t)b | 3);
    pvk_flush_tlb_one(w);
    EXPECT(*w == 0xbbbb0002, "after flush_tlb_one the window shows %#llx",
           (unsigned long long)*w);
    k_win_unmap(0);
    return 0;
}

/* An unmapped page faults, with CR2 and the error code telling where and
 * how; so do page 0 and a non-canonical address. */
static int t_fault(void)
{
    volatile uint64_t *w = k_win_map(0, k_scratch_frame(0));
    uint64_t va = (uintptr_t)w, v, n0;
    volatile uint64_t *noncanon = (volatile uint64_t *)0x8000000000000000ull;

    k_win_unmap(0);
    n0 = k_last_fault.count;
    if (expect_fault("read of an unmapped page", VEC_PF, va,
                     k_probe_read(w, &v), n0))
        return -1;
    EXPECT(!(k_last_fault.error & (PF_PRESENT | PF_WRITE)),
           "read fault error code %#llx", (unsigned long long)k_last_fault.error);
    if (expect_fault("write to an unmapped page", VEC_PF, va,
                     k_probe_write(w, 1), n0 + 1))
        return -1;
    EXPECT((k_last_fault.error & (PF_PRESENT | PF_WRITE)) == PF_WRITE,
           "write fault error code %#llx", (unsigned long long)k_last_fault.error);
    if (expect_fault("read of page 0", VEC_PF, 0,
                     k_probe_read((volatile uint64_t *)0, &v), n0 + 2) ||
        expect_fault("read of a non-canonical address", VEC_GP, 0,
                     k_probe_read(noncanon, &v), n0 + 3))
        return -1;
    return 0;
}

/* Each other CPU runs a function when kicked, and finds itself through
 * GS and its local APIC. */
static volatile uint32_t cpu_seen[K_MAX_CPUS];

static void whoami(void *arg)
{
    struct k_cpu *c = arg;

    cpu_seen[c->index] = k_this_cpu() == c ? k_lapic_id() + 1 : 0;
}

static int t_cpus(void)
{
    for (unsigned i = 1; i < k_ncpus; i++) {
        struct k_cpu *c = &k_cpus[i];
        cpu_seen[i] = 0;
        k_smp_run(c, whoami, c);
        k_smp_wait(c);
        EXPECT(cpu_seen[i] == c->apic_id + 1, "CPU %u (APIC id %u) answered %u", i,
               c->apic_id, cpu_seen[i] - 1);
    }
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void);
} checks[] = {
    {"cpuid", t_cpuid},         {"control registers", t_cr},
    {"msr", t_msr},             {"interrupt flag", t_irqflags},
    {"port io", t_portio},      {"timer interrupt", t_interrupt},
    {"clock and tsc", t_clock}, {"page mapping", t_map},
    {"page faults", t_fault},   {"cpus", t_cpus},
};

/* Run every check once; returns how many failed. */
static unsigned run_checks(const char *when)
{
    unsigned failed = 0;

    for (size_t i = 0; i < K_ARRAY_LEN(checks); i++) {
        cur = checks[i].name;
        if (checks[i].fn() == 0)
            k_printf("selftest: %s ok%s\n", cur, when);
        else
            failed++;
    }
    return failed;
}

/*
 * Every check, then a poll of the monitor (late linking): if it says link
 * now, the kernel links and runs every check again, linked -- the same
 * operations through their new code.
 */
int k_selftest(void)
{
    size_t total = K_ARRAY_LEN(checks);
    unsigned failed = run_checks("");

    if (!failed && k_link_poll()) {
        failed = run_checks(" (linked late)");
        total *= 2;
    }
    if (failed) {
        k_printf("FAILURE: %u of %zu checks failed\n", failed, total);
        return -1;
    }
    k_puts("SUCCESS\n");
    return 0;
}
