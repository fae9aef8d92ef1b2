/*
 * CPUs: whether to use the local APICs at all (APIC mode), starting the
 * other CPUs, per-CPU state, and giving them work.
 *
 * APIC mode needs a MADT listing the boot CPU's local APIC and an IOAPIC
 * (acpi.c), the local APIC enabled in xAPIC mode (IA32_APIC_BASE), and its
 * registers where the MADT says.  Otherwise the kernel stays on one CPU
 * with the 8259 PIC and never touches APIC memory.
 *
 * The other CPUs are started one at a time, the way the Intel SDM and the
 * MP specification describe: INIT, then a STARTUP IPI naming the
 * trampoline page, a second STARTUP if the CPU has not come up, each wait
 * bounded in timer ticks.  A CPU that does not come up is sent INIT again
 * (so that it cannot wake later into a kernel that does not know it) and
 * left out.  Online CPUs are k_cpus[0 .. k_ncpus).
 *
 * An AP then idles (sti; hlt) until the boot CPU gives it work with
 * k_smp_run(): the function, then a KICK IPI.
 */
#include "kern.h"

#define MSR_APIC_BASE 0x1bu
#define MSR_GS_BASE 0xc0000101u
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_X2 (1ull << 10)
#define APIC_BASE_ADDR 0x000ffffffffff000ull
#define START_WAIT_TICKS 2   /* after the first STARTUP IPI */
#define START_RETRY_TICKS 100 /* after the second */

struct k_cpu k_cpus[K_MAX_CPUS];
int k_apic_mode;
unsigned k_ncpus = 1;

extern const char k_tramp_start[], k_tramp_end[], k_tramp_gdtr[], k_tramp_cr3[],
    k_tramp_stack[], k_tramp_cpu[], k_tramp_entry[];
extern const uint8_t k_gdt_ptr[10];
__attribute__((noreturn)) void k_ap_main(struct k_cpu *c);

static const struct k_madt *madt;

/* Where trampoline label (x) is in the copy. */
static void *tramp(const char *x)
{
    return (void *)(uintptr_t)(K_TRAMPOLINE + (uintptr_t)(x - k_tramp_start));
}

static int boot_cpu_listed(const struct k_madt *m, uint32_t id)
{
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->apic_id[i] == id)
            return 1;
    return 0;
}

void k_smp_init(struct k_madt *m)
{
    uint64_t base = pvk_read_msr(MSR_APIC_BASE);
    const char *why = 0;

    if (!(base & APIC_BASE_EN) || (base & APIC_BASE_X2))
        why = "the local APIC is disabled or in x2APIC mode";
    else if ((base & APIC_BASE_ADDR) != m->lapic)
        why = "the MADT's local APIC address is not the CPU's";
    else if (k_lapic_init(m->lapic) != 0)
        why = "its registers cannot be mapped";
    else if (!boot_cpu_listed(m, k_lapic_id()))
        why = "the MADT does not list the boot CPU";
    if (why) {
        k_printf("smp: %s: one CPU, 8259 PIC\n", why);
        return;
    }
    k_cpus[0].apic_id = k_lapic_id();
    k_cpus[0].online = 1;
    k_lapic_init_cpu(1);
    pvk_write_msr(MSR_GS_BASE, (uintptr_t)&k_cpus[0]);
    k_apic_mode = 1;
    madt = m;
}

/* Wait with interrupts on until (c) is online or (n) ticks have passed. */
static int wait_online(struct k_cpu *c, uint64_t n)
{
    uint64_t end = k_ticks() + n;

    while (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE) && k_ticks() < end)
        pvk_safe_halt();
    return c->online;
}

static void prepare_trampoline(void)
{
    uint64_t cr3 = pvk_read_cr3(), entry = (uintptr_t)k_ap_main;

    memcpy((void *)(uintptr_t)K_TRAMPOLINE, k_tramp_start, (size_t)(k_tramp_end - k_tramp_start));
    memcpy(tramp(k_tramp_gdtr), k_gdt_ptr, 6); /* limit, low 32 bits of the base */
    memcpy(tramp(k_tramp_cr3), &cr3, 4);
    memcpy(tramp(k_tramp_entry), &entry, 8);
}

static int start_cpu(struct k_cpu *c, uint32_t id)
{
    uint64_t stack = (uintptr_t)c->stack + K_STACK_SIZE - 8, cpu = (uintptr_t)c;

    memset(c, 0, sizeof *c - sizeof c->stack);
    c->self = c;
    c->index = k_ncpus;
    c->apic_id = id;
    memcpy(tramp(k_tramp_stack), &stack, 8);
    memcpy(tramp(k_tramp_cpu), &cpu, 8);
    k_lapic_init_ipi(id);
    wait_online(c, 1); /* the SDM's 10 ms: at most a tick */
    k_lapic_startup_ipi(id, K_TRAMPOLINE >> 12);
    if (wait_online(c, START_WAIT_TICKS))
        return 0;
    k_lapic_startup_ipi(id, K_TRAMPOLINE >> 12);
    if (wait_online(c, START_RETRY_TICKS))
        return 0;
    k_lapic_init_ipi(id); /* back to waiting for a STARTUP */
    k_printf("smp: CPU with APIC id %u did not start; it is left out\n", id);
    return -1;
}

void k_smp_start(const struct k_madt *m)
{
    if (!k_apic_mode || m->ncpus < 2)
        return;
    if (!k_boot_is_ram(K_TRAMPOLINE, K_PAGE) || !k_timer_ok()) {
        k_printf("smp: %s: the other %u CPUs are not started\n",
                 k_timer_ok() ? "no RAM for the trampoline at 0x8000" : "no timer",
                 m->ncpus - 1);
        return;
    }
    prepare_trampoline();
    for (unsigned i = 0; i < m->ncpus; i++) {
        if (m->apic_id[i] == k_cpus[0].apic_id)
            continue;
        if (start_cpu(&k_cpus[k_ncpus], m->apic_id[i]) == 0)
            k_ncpus++;
    }
}

/* ---- the APs ------------------------------------------------------------ */

static void idle(struct k_cpu *c)
{
    for (;;) {
        pvk_irq_disable();
        while (__atomic_load_n(&c->work_gen, __ATOMIC_ACQUIRE) == c->done_gen) {
            pvk_safe_halt();
            pvk_irq_disable();
        }
        uint64_t gen = c->work_gen;
        void (*fn)(void *) = c->work_fn;
        void *arg = c->work_arg;
        pvk_irq_enable();
        fn(arg);
        __atomic_store_n(&c->done_gen, gen, __ATOMIC_RELEASE);
    }
}

void k_ap_main(struct k_cpu *c)
{
    k_trap_init_cpu(c);
    pvk_write_msr(MSR_GS_BASE, (uintptr_t)c);
    k_lapic_init_cpu(0);
    __atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
    idle(c);
    for (;;)
        pvk_halt();
}

void k_smp_run(struct k_cpu *c, void (*fn)(void *), void *arg)
{
    c->work_fn = fn;
    c->work_arg = arg;
    __atomic_store_n(&c->work_gen, c->done_gen + 1, __ATOMIC_RELEASE);
    k_lapic_ipi(c->apic_id, K_VEC_KICK);
}

void k_smp_wait(struct k_cpu *c)
{
    while (__atomic_load_n(&c->done_gen, __ATOMIC_ACQUIRE) != c->work_gen)
        pvk_safe_halt();
}

void k_smp_ipi(struct k_frame *f)
{
    struct k_cpu *c = k_this_cpu();

    c->ipis++;
    if (f->vector == K_VEC_SYNC)
        k_poke_sync();
    else if (f->vector == K_VEC_PARK)
        k_poke_park(f);
    /* K_VEC_KICK: waking up was the point */
}

void k_smp_report(void)
{
    char ids[K_MAX_CPUS * 4 + 1];
    size_t n = 0;

    if (!k_apic_mode || madt->ncpus < 2)
        return; /* one CPU: nothing to say beyond what the boot said */
    ids[0] = 0;
    for (unsigned i = 0; i < k_ncpus; i++)
        n += k_snprintf(ids + n, sizeof ids - n, "%s%u", i ? " " : "", k_cpus[i].apic_id);
    k_printf("smp: %u of %u CPUs online (APIC ids %s), MADT at %#llx found by %s; timer "
             "on IOAPIC GSI %u%s\n",
             k_ncpus, madt->ncpus, ids, (unsigned long long)madt->madt, madt->found_by,
             madt->timer_gsi, madt->nignored ? "; more CPUs than the kernel supports" : "");
}
