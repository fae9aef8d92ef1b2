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
 * the self-test takes a page fault on purpose.
 */
#include "kern.h"

#define SEL_CODE64 0x08
#define SEL_TSS 0x20
#define GATE_INTR 0x8e00ull /* present, DPL 0, 64-bit interrupt gate */
#define TSS_AVAIL 0x89ull   /* present, 64-bit available TSS */
#define NSTUBS 48           /* vectors 0..47 have stubs, plus 255 */
#define VEC_IRQ0 32
#define VEC_DF 8
#define VEC_PF 14
#define VEC_SPURIOUS 255
#define IST_STACK_SIZE 4096

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS layout");

struct extable_entry {
    uint64_t insn, fixup;
};

extern uint64_t k_gdt[];
extern const uint64_t k_trap_stubs[NSTUBS + 1];
extern const struct extable_entry __start_k_extable[], __stop_k_extable[];

static struct tss tss;
static uint64_t idt[256][2] __attribute__((aligned(16)));
static uint8_t ist_stack[IST_STACK_SIZE] __attribute__((aligned(16)));

volatile struct k_fault k_last_fault;

static void tss_init(void)
{
    uint64_t base = (uintptr_t)&tss, limit = sizeof tss - 1;

    /* a double fault gets a stack of its own, so that a kernel stack
     * overflow is reported instead of ending in a triple fault */
    tss.ist[0] = (uintptr_t)ist_stack + IST_STACK_SIZE;
    tss.iomap_base = sizeof tss; /* no I/O bitmap */
    k_gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
                         TSS_AVAIL << 40 | ((limit >> 16) & 0xf) << 48 |
                         ((base >> 24) & 0xff) << 56;
    k_gdt[SEL_TSS / 8 + 1] = base >> 32;
    __asm__ __volatile__("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

static void set_gate(unsigned vec, uint64_t fn, unsigned ist)
{
    idt[vec][0] = (fn & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
                  (uint64_t)ist << 32 | GATE_INTR << 32 |
                  ((fn >> 16) & 0xffff) << 48;
    idt[vec][1] = fn >> 32;
}

void k_trap_init(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } ptr = {sizeof idt - 1, (uintptr_t)idt};

    tss_init();
    for (unsigned v = 0; v < NSTUBS; v++)
        set_gate(v, k_trap_stubs[v], v == VEC_DF ? 1 : 0);
    set_gate(VEC_SPURIOUS, k_trap_stubs[NSTUBS], 0);
    __asm__ __volatile__("lidt %0" : : "m"(ptr) : "memory");
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

void k_trap(struct k_frame *f)
{
    if (f->vector < VEC_IRQ0)
        exception(f);
    else if (f->vector < VEC_IRQ0 + 16)
        k_pic_irq((unsigned)(f->vector - VEC_IRQ0));
    else
        k_apic_spurious();
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
