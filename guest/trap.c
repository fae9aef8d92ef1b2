/*
 * Descriptor tables and trap dispatch.
 *
 * lgdt/lidt/ltr here are privileged instructions that are not pvlink
 * sites: loading the kernel's own descriptor tables has no catalog
 * operation (an environment that wanted to see them would have to be told
 * about the tables themselves, which VMI did and pvlink v1 does not).
 *
 * Exceptions are fatal (vector, error code and RIP are printed, the kernel
 * exits with K_EXIT_PANIC) unless the faulting instruction is listed in
 * the exception table, section k_extable: then the fault is recorded in
 * k_last_fault and execution resumes at the entry's fixup.  That is how
 * the self-test takes a page fault on purpose.  An invalid opcode (#UD)
 * first goes to live linking: the trap byte it writes at the head of a
 * site being changed is not an error (poke.c).
 *
 * Every CPU has its own TSS (and GDT slot) with two IST stacks: one for
 * the double fault, so that a stack overflow is reported, and one for #UD,
 * so that live linking's handler can push a return address onto the
 * interrupted stack when it emulates a call (poke.c).  All CPUs share the
 * IDT.
 */
#include "kern.h"

#define GATE_INTR 0x8e00ull /* present, DPL 0, 64-bit interrupt gate */
#define TSS_AVAIL 0x89ull   /* present, 64-bit available TSS */
#define NVEC 256
#define VEC_UD 6
#define VEC_DF 8
#define VEC_PF 14
#define IST_DF 1
#define IST_UD 2

_Static_assert(sizeof(struct k_tss) == 104, "64-bit TSS layout");

struct extable_entry {
    uint64_t insn, fixup;
};

extern uint64_t k_gdt[];
extern const uint64_t k_trap_stubs[NVEC];
extern const struct extable_entry __start_k_extable[], __stop_k_extable[];

static uint64_t idt[NVEC][2] __attribute__((aligned(16)));

volatile struct k_fault k_last_fault;

static void tss_init(struct k_cpu *c)
{
    uint64_t base = (uintptr_t)&c->tss, limit = sizeof c->tss - 1;
    unsigned slot = K_SEL_TSS / 8 + 2 * c->index;

    c->tss.ist[IST_DF - 1] = (uintptr_t)c->ist_df + K_IST_SIZE;
    c->tss.ist[IST_UD - 1] = (uintptr_t)c->ist_ud + K_IST_SIZE;
    c->tss.iomap_base = sizeof c->tss; /* no I/O bitmap */
    k_gdt[slot] = (limit & 0xffff) | (base & 0xffffff) << 16 | TSS_AVAIL << 40 |
                  ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    k_gdt[slot + 1] = base >> 32;
    __asm__ __volatile__("ltr %w0" : : "r"(K_SEL_TSS + 16 * c->index) : "memory");
}

static void set_gate(unsigned vec, uint64_t fn, unsigned ist)
{
    idt[vec][0] = (fn & 0xffff) | (uint64_t)K_SEL_CODE64 << 16 |
                  (uint64_t)ist << 32 | GATE_INTR << 32 |
                  ((fn >> 16) & 0xffff) << 48;
    idt[vec][1] = fn >> 32;
}

static void load_idt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } ptr = {sizeof idt - 1, (uintptr_t)idt};

    __asm__ __volatile__("lidt %0" : : "m"(ptr) : "memory");
}

void k_trap_init(void)
{
    k_cpus[0].self = &k_cpus[0];
    tss_init(&k_cpus[0]);
    for (unsigned v = 0; v < NVEC; v++)
        set_gate(v, k_trap_stubs[v], v == VEC_DF ? IST_DF : v == VEC_UD ? IST_UD : 0);
    load_idt();
}

void k_trap_init_cpu(struct k_cpu *c)
{
    load_idt();
    tss_init(c);
}

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
    "#OF overflow", "#BR bound range", "#UD invalid opcode",
    "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved 15",
    "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection",
    [28] = "#HV hypervisor injection", "#VC VMM communication",
    "#SX security",
};

static const struct extable_entry *extable_find(uint64_t rip)
{
    for (const struct extable_entry *e = __start_k_extable; e < __stop_k_extable; e++)
        if (e->insn == rip)
            return e;
    return 0;
}

__attribute__((noreturn)) static void fatal(const struct k_frame *f)
{
    static int nested;
    const char *name = exc_names[f->vector];

    if (nested++) /* faulted while reporting a fault: just stop */
        k_exit(K_EXIT_PANIC);
    k_printf("EXCEPTION: vector %llu (%s), error code %#llx, rip %#llx, "
             "rsp %#llx",
             (unsigned long long)f->vector, name ? name : "reserved",
             (unsigned long long)f->error, (unsigned long long)f->rip,
             (unsigned long long)f->rsp);
    if (f->vector == VEC_PF)
        k_printf(", cr2 %#llx", (unsigned long long)pvk_read_cr2());
    k_puts("\n");
    k_exit(K_EXIT_PANIC);
}

static void exception(struct k_frame *f)
{
    const struct extable_entry *e = extable_find(f->rip);

    if (!e)
        fatal(f);
    k_last_fault.vector = f->vector;
    k_last_fault.error = f->error;
    k_last_fault.rip = f->rip;
    k_last_fault.cr2 = f->vector == VEC_PF ? pvk_read_cr2() : 0;
    k_last_fault.count++;
    f->rip = e->fixup;
}

/* Interrupts: the PICs' lines in PIC mode; in APIC mode the timer, the
 * IPIs and the spurious vector (which takes no EOI). */
static void interrupt(struct k_frame *f)
{
    unsigned v = (unsigned)f->vector;

    if (!k_apic_mode) {
        if (v < K_VEC_IRQ0 + 16)
            k_pic_irq(v - K_VEC_IRQ0);
        else
            k_apic_spurious();
        return;
    }
    if (v == K_VEC_SPURIOUS)
        return k_apic_spurious();
    if (v == K_VEC_IRQ0)
        k_timer_irq();
    else if (v >= K_VEC_KICK && v <= K_VEC_PARK)
        k_smp_ipi(f);
    else
        k_unexpected_irq();
    k_lapic_eoi();
}

void k_trap(struct k_frame *f)
{
    if (f->vector == VEC_UD && k_poke_trap(f))
        return;
    if (f->vector < K_VEC_IRQ0)
        exception(f);
    else
        interrupt(f);
}

/* An access that may fault: label 1 is the instruction, listed in
 * k_extable with fixup 3, which makes the result -1. */
#define PROBE_TAIL_                                                          \
    "xor %k[e], %k[e]\n"                                                     \
    "2:\n\t"                                                                 \
    ".pushsection .text.fixup, \"ax\"\n"                                     \
    "3:\tmov $-1, %k[e]\n\t"                                                 \
    "jmp 2b\n\t"                                                             \
    ".popsection\n\t"                                                        \
    ".pushsection k_extable, \"a\"\n\t"                                      \
    ".balign 8\n\t"                                                          \
    ".quad 1b, 3b\n\t"                                                       \
    ".popsection"

int k_probe_read(const volatile uint64_t *p, uint64_t *val)
{
    uint64_t v = 0;
    int err;

    __asm__ __volatile__("1:\tmovq (%[p]), %[v]\n\t" PROBE_TAIL_
                         : [v] "+r"(v), [e] "=&r"(err)
                         : [p] "r"(p)
                         : "memory");
    *val = v;
    return err;
}

int k_probe_write(volatile uint64_t *p, uint64_t val)
{
    int err;

    __asm__ __volatile__("1:\tmovq %[v], (%[p])\n\t" PROBE_TAIL_
                         : [e] "=&r"(err)
                         : [p] "r"(p), [v] "r"(val)
                         : "memory");
    return err;
}
