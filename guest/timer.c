/*
 * Time: the 8254 PIT's channel 0 interrupts K_TICK_HZ times a second, and
 * the native clock counts nanoseconds from the ticks plus the latched
 * channel-0 counter.
 *
 * This is what a kernel without paravirtualization does (the PIT is the
 * one timer every PC monitor has, QEMU and a KVM with in-kernel irqchip
 * and PIT alike); it is monotonic, and it costs four port I/O exits per
 * read, which is why the pvlink monitor's ROM, reading a clock page with
 * no exit, is worth having.  The TSC is not used: its rate is unknown
 * without calibration, and calibration loops cost too much on a slow
 * monitor.
 *
 * PIC mode: the tick comes through the 8259 PIC, as it always did.  A
 * local APIC the kernel does not use is switched off through
 * IA32_APIC_BASE (the read_msr and write_msr sites; no APIC register is
 * touched): with the APIC disabled the CPU's LINT0 pin is the 8259's INTR
 * (Intel SDM vol. 3, "Local APIC State After It Has Been Software
 * Disabled" and the IA32_APIC_BASE description), whatever firmware left
 * in LVT LINT0 (microvm's qboot without ACPI leaves it masked).  APIC
 * mode: the PICs are initialized and masked, and the PIT's interrupt goes
 * through the IOAPIC (the GSI the MADT gives for ISA IRQ 0) to the boot
 * CPU's local APIC.  As Linux's check_timer() does, the kernel checks that
 * a tick arrives; without an interrupt source override it then also tries
 * GSI 2, where PC chipsets wire IRQ 0 (QEMU's microvm lists no override,
 * yet its IOAPIC delivers IRQ 0 on pin 2).  A tick that is pending but not yet taken is seen in
 * the PIC's IRR, or in APIC mode in the boot CPU's local APIC IRR (other
 * CPUs cannot see it; the floor below keeps their reads monotonic).
 *
 * The clock's reads are serialized (one CPU latches the PIT at a time) and
 * never go below the largest value returned, on any CPU.  When a re-link
 * moves the clock_read sites from a ROM's clock back to this one, the
 * clock continues from where the ROM's was (k_clock_native_rebase).
 */
#include "kern.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_LATCH_CH0 0x00
#define PIT_READBACK_STATUS_CH0 0xe2 /* read-back: status only, channel 0 */
#define PIT_MODE2_LOHI 0x34          /* channel 0, lo/hi byte, mode 2 */
#define PIT_STATUS_MASK 0x3f         /* mode, access, BCD of the status */

/* PIT counts per tick, rounded to nearest. */
#define LATCH ((K_PIT_HZ + K_TICK_HZ / 2) / K_TICK_HZ)
#define NS_PER_S 1000000000ull
#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_X2 (1ull << 10)
#define CPUID1_EDX_APIC (1u << 9)
#define ROUTE_WRAPS 25

static const struct {
    uint16_t port;
    uint8_t val;
} pic_setup[] = {
    {PIC1_CMD, 0x11},  {PIC2_CMD, 0x11},  /* ICW1: edge, cascade, ICW4 */
    {PIC1_DATA, 0x20}, {PIC2_DATA, 0x28}, /* ICW2: vectors 32 and 40 */
    {PIC1_DATA, 0x04}, {PIC2_DATA, 0x02}, /* ICW3: slave on IRQ 2 */
    {PIC1_DATA, 0x01}, {PIC2_DATA, 0x01}, /* ICW4: 8086 mode */
    {PIC1_DATA, 0xfe}, {PIC2_DATA, 0xff}, /* only IRQ 0 unmasked */
    {PIC1_CMD, OCW3_READ_IRR},            /* port 0x20 reads the IRR */
    {PIT_CMD, PIT_MODE2_LOHI},
    {PIT_CH0, LATCH & 0xff},
    {PIT_CH0, LATCH >> 8},
};

static volatile uint64_t ticks;
static volatile uint64_t spurious, unexpected;
static uint64_t last_ns, offset_ns;
static volatile uint64_t rebase_ns; /* 0, or continue from here */
static struct k_lock clock_lock;
static int timer_ok;

/* Mask both PICs (they stay initialized, their vectors out of the way). */
static void pic_mask_all(void)
{
    pvk_outb(PIC1_DATA, 0xff);
    pvk_outb(PIC2_DATA, 0xff);
}

static uint32_t pit_count(void)
{
    uint32_t c;

    pvk_outb(PIT_CMD, PIT_LATCH_CH0);
    c = pvk_inb(PIT_CH0);
    return c | pvk_inb(PIT_CH0) << 8;
}

/* Route the PIT to (gsi) and see whether a tick reaches the local APIC
 * while the counter wraps ROUTE_WRAPS times (interrupts are off).  One wrap
 * would do on an idle host; a busy one may run a monitor's timer callback
 * (which raises the interrupt) well after the counter, computed from the
 * clock, has wrapped.  Only a pin that does not work costs the wait. */
static int route_works(struct k_madt *m, uint32_t gsi)
{
    uint32_t prev = pit_count(), c;

    if (k_ioapic_route(m, gsi, m->timer_flags, K_VEC_IRQ0, k_cpus[0].apic_id))
        return 0;
    for (int wraps = 0; wraps < ROUTE_WRAPS; prev = c) {
        if (k_lapic_pending(K_VEC_IRQ0))
            return 1;
        if ((c = pit_count()) > prev)
            wraps++;
    }
    return 0;
}

static void route_timer(struct k_madt *m)
{
    uint32_t listed = m->timer_gsi;

    pic_mask_all();
    if (route_works(m, listed))
        return;
    if (!m->timer_iso && listed != 2 && route_works(m, 2)) {
        m->timer_gsi = 2;
        k_printf("timer: no tick on GSI %u, which the MADT implies (it has no override for "
                 "IRQ 0); GSI 2 works\n", listed);
        return;
    }
    k_printf("timer: no tick arrives through the IOAPIC (GSI %u): no ticks\n", listed);
}

/* PIC mode: switch an unused local APIC off (see the top of this file);
 * CPUID only says whether IA32_APIC_BASE exists. */
static void apic_off(void)
{
    uint64_t base;

    if (!(pvk_cpuid(1, 0).edx & CPUID1_EDX_APIC))
        return;
    base = pvk_read_msr(MSR_APIC_BASE);
    if (base & APIC_BASE_EN)
        pvk_write_msr(MSR_APIC_BASE, base & ~(APIC_BASE_EN | APIC_BASE_X2));
}

void k_timer_init(struct k_madt *m)
{
    uint32_t status;

    if (!k_apic_mode)
        apic_off();
    for (size_t i = 0; i < K_ARRAY_LEN(pic_setup); i++)
        pvk_outb(pic_setup[i].port, pic_setup[i].val);
    if (k_apic_mode)
        route_timer(m);
    /* the PIT reports the mode we set if it is there at all */
    pvk_outb(PIT_CMD, PIT_READBACK_STATUS_CH0);
    status = pvk_inb(PIT_CH0);
    timer_ok = (status & PIT_STATUS_MASK) == PIT_MODE2_LOHI;
    if (!timer_ok)
        k_printf("timer: no 8254 PIT (channel 0 status %#x, expected %#x): "
                 "no ticks, the clock stands still\n",
                 status, PIT_MODE2_LOHI);
}

int k_timer_ok(void)
{
    return timer_ok;
}

uint64_t k_ticks(void)
{
    return ticks;
}

/* The IRR bit of the timer's interrupt, where this CPU can see it. */
static int tick_requested(void)
{
    if (!k_apic_mode)
        return pvk_inb(PIC1_CMD) & 1; /* the IRR, by the OCW3 set above */
    return k_this_cpu() == &k_cpus[0] && k_lapic_pending(K_VEC_IRQ0);
}

int k_timer_pending(void)
{
    return tick_requested();
}

/* A PIC line's interrupt.  IRQ 7 and 15 may be spurious: only the ISR
 * tells, and a spurious one gets no EOI. */
static int pic_spurious(unsigned line)
{
    uint16_t cmd = line < 8 ? PIC1_CMD : PIC2_CMD;
    uint32_t isr;

    if ((line & 7) != 7)
        return 0;
    pvk_outb(cmd, OCW3_READ_ISR);
    isr = pvk_inb(cmd);
    pvk_outb(cmd, OCW3_READ_IRR);
    return !(isr & 0x80);
}

void k_pic_irq(unsigned line)
{
    if (pic_spurious(line)) {
        spurious++;
        if (line >= 8) /* the master saw a real IRQ 2 */
            pvk_outb(PIC1_CMD, PIC_EOI);
        return;
    }
    if (line == 0)
        ticks++;
    else
        unexpected++;
    if (line >= 8)
        pvk_outb(PIC2_CMD, PIC_EOI);
    pvk_outb(PIC1_CMD, PIC_EOI);
}

void k_timer_irq(void)
{
    ticks++;
}

void k_apic_spurious(void)
{
    spurious++;
}

void k_unexpected_irq(void)
{
    unexpected++;
}

uint64_t k_clock_native_last(void)
{
    return __atomic_load_n(&last_ns, __ATOMIC_ACQUIRE);
}

void k_clock_native_rebase(uint64_t ns)
{
    __atomic_store_n(&rebase_ns, ns, __ATOMIC_RELEASE);
}

static uint64_t counts_to_ns(uint64_t c)
{
    return c / K_PIT_HZ * NS_PER_S + c % K_PIT_HZ * NS_PER_S / K_PIT_HZ;
}

/*
 * Nanoseconds since k_timer_init() (plus the offset re-links add).  With
 * interrupts off: latch the counter (mode 2 counts LATCH down to 1), then
 * look at the tick's IRR bit.  A pending tick with little elapsed means
 * the counter wrapped before the latch and the tick is not counted yet; a
 * pending tick with much elapsed wrapped after it.  The last value is kept
 * as a floor, so that a monitor re-injecting late ticks, or a CPU that
 * cannot see a pending tick, never makes time go back.
 */
__attribute__((visibility("hidden"))) uint64_t pvk_native_clock_read(void)
{
    uint64_t fl = k_lock_irqsave(&clock_lock), t, ns, to;
    uint32_t count, pending;

    pvk_outb(PIT_CMD, PIT_LATCH_CH0);
    count = pvk_inb(PIT_CH0);
    count |= pvk_inb(PIT_CH0) << 8;
    pending = tick_requested();
    t = ticks;
    if (count == 0 || count > LATCH) /* not our reload value: clamp */
        count = LATCH;
    if (pending && LATCH - count < LATCH / 2)
        t++;
    ns = counts_to_ns(t * LATCH + (LATCH - count));
    if ((to = __atomic_exchange_n(&rebase_ns, 0, __ATOMIC_ACQ_REL)) && to > ns + offset_ns)
        offset_ns = to - ns;
    ns += offset_ns;
    if (ns < last_ns)
        ns = last_ns;
    __atomic_store_n(&last_ns, ns, __ATOMIC_RELEASE);
    k_unlock_irqrestore(&clock_lock, fl);
    return ns;
}
