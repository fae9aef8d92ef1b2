/*
 * Time: the 8254 PIT's channel 0 interrupts K_TICK_HZ times a second
 * through the 8259 PIC, and the native clock counts nanoseconds from the
 * ticks plus the latched channel-0 counter.
 *
 * This is what a kernel without paravirtualization does (the PIT is the
 * one timer every PC monitor has, QEMU and a KVM with in-kernel irqchip
 * and PIT alike); it is monotonic, and it costs four port I/O exits per
 * read, which is why the pvlink monitor's ROM, reading a clock page with
 * no exit, is worth having.  The TSC is not used: its rate is unknown
 * without calibration, and calibration loops cost too much on a slow
 * monitor.
 *
 * The local APIC, when there is one and it is enabled, is put in virtual
 * wire mode (LINT0 = ExtINT) so that the PIC's interrupts reach the CPU:
 * KVM's in-kernel LAPIC resets with LINT0 masked and no BIOS has run.
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

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_X2 (1ull << 10)
#define APIC_SVR_ON 0x1ff    /* software enable, spurious vector 255 */
#define APIC_LVT_EXTINT 0x700 /* unmasked, ExtINT delivery */
#define CPUID1_EDX_APIC (1u << 9)

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

/* APIC registers for virtual wire mode: xAPIC MMIO offset, x2APIC MSR. */
static const struct {
    uint16_t mmio;
    uint32_t msr;
    uint32_t val;
} apic_setup[] = {
    {0xf0, 0x80f, APIC_SVR_ON},      /* spurious vector register */
    {0x350, 0x835, APIC_LVT_EXTINT}, /* LVT LINT0 */
};

static volatile uint64_t ticks;
static volatile uint64_t spurious, unexpected;
static uint64_t last_ns;
static int timer_ok;

static void apic_virtual_wire(void)
{
    uint64_t base;

    if (!(pvk_cpuid(1, 0).edx & CPUID1_EDX_APIC))
        return;
    base = pvk_read_msr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN))
        return; /* globally disabled: the PIC drives INTR directly */
    if (base & APIC_BASE_X2) {
        for (size_t i = 0; i < K_ARRAY_LEN(apic_setup); i++)
            pvk_write_msr(apic_setup[i].msr, apic_setup[i].val);
        return;
    }
    base &= 0x000ffffffffff000ull;
    if (k_mm_identity(base, K_PAGE, 1) != 0)
        return;
    for (size_t i = 0; i < K_ARRAY_LEN(apic_setup); i++)
        *(volatile uint32_t *)(uintptr_t)(base + apic_setup[i].mmio) =
            apic_setup[i].val;
}

void k_timer_init(void)
{
    uint32_t status;

    apic_virtual_wire();
    for (size_t i = 0; i < K_ARRAY_LEN(pic_setup); i++)
        pvk_outb(pic_setup[i].port, pic_setup[i].val);
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

int k_timer_pending(void)
{
    return pvk_inb(PIC1_CMD) & 1; /* the IRR, by the OCW3 set above */
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

void k_apic_spurious(void)
{
    spurious++;
}

static uint64_t counts_to_ns(uint64_t c)
{
    return c / K_PIT_HZ * NS_PER_S + c % K_PIT_HZ * NS_PER_S / K_PIT_HZ;
}

/*
 * Nanoseconds since k_timer_init().  With interrupts off: latch the
 * counter (mode 2 counts LATCH down to 1), then look at the PIC's IRR.
 * A pending tick with little elapsed means the counter wrapped before the
 * latch and the tick is not counted yet; a pending tick with much elapsed
 * wrapped after it.  The last value is kept as a floor, so that a
 * monitor re-injecting late ticks never makes time go back.
 */
__attribute__((visibility("hidden"))) uint64_t pvk_native_clock_read(void)
{
    uint64_t fl = pvk_save_fl(), t, ns;
    uint32_t count, irr;

    pvk_irq_disable();
    pvk_outb(PIT_CMD, PIT_LATCH_CH0);
    count = pvk_inb(PIT_CH0);
    count |= pvk_inb(PIT_CH0) << 8;
    irr = pvk_inb(PIC1_CMD);
    t = ticks;
    if (count == 0 || count > LATCH) /* not our reload value: clamp */
        count = LATCH;
    if ((irr & 1) && LATCH - count < LATCH / 2)
        t++;
    ns = counts_to_ns(t * LATCH + (LATCH - count));
    if (ns < last_ns)
        ns = last_ns;
    last_ns = ns;
    pvk_restore_fl(fl);
    return ns;
}
