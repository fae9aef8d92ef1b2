/*
 * The local APIC (xAPIC, memory-mapped) and the IOAPIC, used only in APIC
 * mode, i.e. when the MADT described them (smp.c decides).  Their
 * registers are mapped uncached at the physical addresses the MADT gives.
 * Accessing them runs no site: these are memory accesses, and live linking
 * sends its IPIs through here while sites are being rewritten.
 */
#include "kern.h"

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_IRR 0x200

#define SVR_ENABLE 0x100u
#define LVT_MASKED 0x10000u
#define LVT_NMI 0x400u
#define ICR_BUSY 0x1000u
#define ICR_FIXED 0x0u
#define ICR_INIT 0x500u
#define ICR_STARTUP 0x600u
#define ICR_ASSERT 0x4000u
#define ICR_LEVEL 0x8000u

#define IOAPIC_SEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDIR 0x10
#define REDIR_MASKED 0x10000u
#define REDIR_LOW 0x2000u   /* active low */
#define REDIR_LEVEL 0x8000u /* level triggered */

/* MPS INTI flags: polarity bits 0-1 (3 = active low), trigger 2-3 (3 =
 * level); 0 means the bus's default, edge and high for ISA. */
#define INTI_POL_LOW 0x3u
#define INTI_TRIG_LEVEL 0xcu

static volatile uint32_t *lapic;

static uint32_t lapic_rd(unsigned reg)
{
    return lapic[reg / 4];
}

static void lapic_wr(unsigned reg, uint32_t v)
{
    lapic[reg / 4] = v;
}

int k_lapic_init(uint64_t base)
{
    if (base % K_PAGE || k_mm_identity(base, K_PAGE, 1) != 0)
        return -1;
    lapic = (volatile uint32_t *)(uintptr_t)base;
    return 0;
}

void k_lapic_init_cpu(int boot)
{
    lapic_wr(LAPIC_SVR, SVR_ENABLE | K_VEC_SPURIOUS);
    lapic_wr(LAPIC_TPR, 0);
    lapic_wr(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_wr(LAPIC_LVT_LINT0, LVT_MASKED); /* the PICs are masked too */
    lapic_wr(LAPIC_LVT_LINT1, boot ? LVT_NMI : LVT_MASKED);
    lapic_wr(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_wr(LAPIC_ESR, 0);
    lapic_wr(LAPIC_EOI, 0); /* anything left in service by firmware */
}

uint32_t k_lapic_id(void)
{
    return lapic_rd(LAPIC_ID) >> 24;
}

void k_lapic_eoi(void)
{
    lapic_wr(LAPIC_EOI, 0);
}

static void icr(uint32_t dest, uint32_t lo)
{
    while (lapic_rd(LAPIC_ICR_LO) & ICR_BUSY)
        __asm__ __volatile__("pause");
    lapic_wr(LAPIC_ICR_HI, dest << 24);
    lapic_wr(LAPIC_ICR_LO, lo);
}

void k_lapic_ipi(uint32_t dest, unsigned vector)
{
    icr(dest, ICR_FIXED | vector);
}

void k_lapic_init_ipi(uint32_t dest)
{
    icr(dest, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

void k_lapic_startup_ipi(uint32_t dest, unsigned page)
{
    icr(dest, ICR_STARTUP | ICR_ASSERT | (page & 0xff));
}

int k_lapic_pending(unsigned vector)
{
    return (lapic_rd(LAPIC_IRR + (vector / 32) * 0x10) >> (vector % 32)) & 1;
}

static uint32_t ioapic_rd(volatile uint32_t *io, unsigned reg)
{
    io[IOAPIC_SEL / 4] = reg;
    return io[IOAPIC_WIN / 4];
}

static void ioapic_wr(volatile uint32_t *io, unsigned reg, uint32_t v)
{
    io[IOAPIC_SEL / 4] = reg;
    io[IOAPIC_WIN / 4] = v;
}

int k_ioapic_route(const struct k_madt *m, uint32_t gsi, uint16_t flags, unsigned vector,
                   uint32_t dest)
{
    volatile uint32_t *io = (volatile uint32_t *)(uintptr_t)m->ioapic;
    unsigned pins, pin;
    uint32_t lo = vector;

    if (m->ioapic % K_PAGE || k_mm_identity(m->ioapic, K_PAGE, 1) != 0)
        return -1;
    pins = ((ioapic_rd(io, IOAPIC_VER) >> 16) & 0xff) + 1;
    pin = gsi - m->ioapic_gsi;
    if (gsi < m->ioapic_gsi || pin >= pins) {
        k_printf("ioapic: GSI %u is not among its %u pins from GSI %u\n", gsi, pins,
                 m->ioapic_gsi);
        return -1;
    }
    for (unsigned i = 0; i < pins; i++)
        ioapic_wr(io, IOAPIC_REDIR + 2 * i, REDIR_MASKED);
    if ((flags & INTI_POL_LOW) == INTI_POL_LOW)
        lo |= REDIR_LOW;
    if ((flags & INTI_TRIG_LEVEL) == INTI_TRIG_LEVEL)
        lo |= REDIR_LEVEL;
    ioapic_wr(io, IOAPIC_REDIR + 2 * pin + 1, dest << 24);
    ioapic_wr(io, IOAPIC_REDIR + 2 * pin, lo);
    return 0;
}
