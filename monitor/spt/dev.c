/*
 * The devices behind the ports: the 8259 PIC pair, the 8254 PIT, COM1
 * (stdout), the debug-exit port and the pvlink hypercall port; and the
 * virtual interrupt that ties the PIC to the guest's IF.
 *
 * Time is the TSC's: the PIT counts 1193182 Hz from the moment its count
 * was loaded, and IRQ 0 is raised whenever the monitor looks (a host timer
 * signal at the PIT's period, any access to the PIC or PIT, a halt) and a
 * period has ended since the last one.  Periods missed while the guest had
 * interrupts off are not queued, as on a real PIT: one edge, one request.
 * Ports nobody owns read as all ones and ignore writes; they are counted.
 */
#include "spt.h"

#define PIT_HZ 1193182ull
#define MIN_TIMER_NS 100000ull /* the host timer fires at most 10,000 times a second */

/* ------------------------------------------------------------------------
 * 8259 PIC: edge-triggered, fixed priority, cascade on IRQ 2.
 */
struct pic {
    uint8_t irr, isr, imr, base;
    uint8_t init;       /* initialization words still expected: 0, or 2..4 */
    uint8_t need_icw4, read_isr, auto_eoi;
};
static struct pic pic[2];

static int lowest(uint8_t bits)
{
    return bits ? __builtin_ctz(bits) : 8;
}

/* The line (0..7) this PIC would interrupt with, or -1. */
static int pic_line(const struct pic *p, uint8_t extra)
{
    int req = lowest((uint8_t)((p->irr | extra) & ~p->imr)), busy = lowest(p->isr);

    return req < busy ? req : -1;
}

static uint8_t slave_out(void)
{
    return pic_line(&pic[1], 0) >= 0 ? 1u << 2 : 0;
}

int spt_pic_pending(void)
{
    int m = pic_line(&pic[0], slave_out()), v;

    if (m < 0)
        return -1;
    v = m == 2 ? pic[1].base + pic_line(&pic[1], 0) : pic[0].base + m;
    if ((unsigned)(v >> 4) <= spt_cpu.cr8 && spt_cpu.cr8)
        return -1;
    return v;
}

static void pic_take(struct pic *p, int line)
{
    p->irr &= (uint8_t)~(1u << line);
    if (!p->auto_eoi)
        p->isr |= (uint8_t)(1u << line);
}

int spt_pic_ack(void)
{
    int v = spt_pic_pending(), m = pic_line(&pic[0], slave_out());

    if (v < 0)
        return -1;
    if (m == 2)
        pic_take(&pic[1], pic_line(&pic[1], 0));
    pic_take(&pic[0], m);
    return v;
}

static void pic_raise(unsigned irq)
{
    pic[irq >> 3].irr |= (uint8_t)(1u << (irq & 7));
}

static void pic_command(struct pic *p, uint8_t v)
{
    if (v & 0x10) { /* ICW1 */
        *p = (struct pic){.base = p->base, .init = 2, .need_icw4 = v & 1};
        if (v & 2) /* single PIC: no ICW3 */
            p->init = 3;
    } else if (v & 0x08) { /* OCW3 */
        if (v & 2)
            p->read_isr = v & 1;
    } else if ((v >> 5) == 3 || (v >> 5) == 7) { /* specific EOI */
        p->isr &= (uint8_t)~(1u << (v & 7));
    } else if ((v >> 5) == 1 || (v >> 5) == 5) { /* non-specific EOI */
        p->isr &= (uint8_t)(p->isr - 1);
    }
}

static void pic_data(struct pic *p, uint8_t v)
{
    switch (p->init) {
    case 2: /* ICW2 */
        p->base = v & 0xf8;
        p->init = 3;
        break;
    case 3: /* ICW3 (cascade wiring, fixed here) */
        p->init = p->need_icw4 ? 4 : 0;
        break;
    case 4: /* ICW4 */
        p->auto_eoi = (v >> 1) & 1;
        p->init = 0;
        break;
    default: /* OCW1 */
        p->imr = v;
    }
}

static uint32_t pic_io(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)size;
    struct pic *p = &pic[port >= 0xa0];

    if (out) {
        if (port & 1)
            pic_data(p, (uint8_t)v);
        else
            pic_command(p, (uint8_t)v);
        return 0;
    }
    if (port & 1)
        return p->imr;
    return p->read_isr ? p->isr : p->irr;
}

/* ------------------------------------------------------------------------
 * 8254 PIT: three channels; channel 0 drives IRQ 0.
 */
struct pit_ch {
    uint32_t reload;  /* 1..65536 */
    uint8_t mode, access, bcd;
    uint8_t wlo;      /* lo/hi access: the low byte is written, the high next */
    uint8_t rhi;      /* lo/hi access: the next read gives the high byte */
    uint8_t null_count, fired;
    uint8_t latched, status_latched, status;
    uint16_t latch, wbuf;
    uint64_t start;   /* TSC when the count was loaded */
    uint64_t periods; /* periods that have raised IRQ 0 */
};
static struct pit_ch pit[3];
static uint64_t pit_mul; /* PIT ticks per TSC tick, << 32 */

static bool periodic(const struct pit_ch *c)
{
    return c->mode == 2 || c->mode == 3;
}

static uint64_t pit_ticks(const struct pit_ch *c)
{
    if (!pit_mul)
        pit_mul = (PIT_HZ << 32) / spt_tsc_hz;
    return (uint64_t)(((unsigned __int128)(spt_rdtsc() - c->start) * pit_mul) >> 32);
}

static uint16_t pit_count(const struct pit_ch *c)
{
    uint64_t t = pit_ticks(c);

    if (c->null_count)
        return (uint16_t)c->reload;
    if (periodic(c))
        return (uint16_t)(c->reload - t % c->reload);
    return (uint16_t)(c->reload - t);
}

static uint8_t pit_status(const struct pit_ch *c)
{
    bool out = periodic(c) || (!c->null_count && pit_ticks(c) >= c->reload);

    return (uint8_t)(out << 7 | c->null_count << 6 | c->access << 4 | c->mode << 1 | c->bcd);
}

bool spt_can_wake(void)
{
    const struct pit_ch *c = &pit[0];
    bool counting = !c->null_count && c->reload && (periodic(c) || !c->fired);

    if (spt_pic_pending() >= 0)
        return true;
    return counting && !(pic[0].imr & 1) && !(pic[0].isr & 1) &&
           !(spt_cpu.cr8 && (unsigned)(pic[0].base >> 4) <= spt_cpu.cr8);
}

uint64_t spt_pit_next_ns(void)
{
    const struct pit_ch *c = &pit[0];
    uint64_t t, left;

    if (c->null_count || !c->reload)
        return 0;
    t = pit_ticks(c);
    left = periodic(c) ? c->reload - t % c->reload : t < c->reload ? c->reload - t : 0;
    return left * 1000000000ull / PIT_HZ + 1000; /* and a microsecond to be past it */
}

void spt_pit_poll(void)
{
    struct pit_ch *c = &pit[0];
    uint64_t t;

    if (c->null_count || !c->reload)
        return;
    t = pit_ticks(c);
    if (periodic(c) && t / c->reload > c->periods) {
        c->periods = t / c->reload;
        pic_raise(0);
    } else if (!periodic(c) && t >= c->reload && !c->fired) {
        c->fired = 1;
        pic_raise(0);
    }
}

static void pit_load(unsigned ch, uint16_t v)
{
    struct pit_ch *c = &pit[ch];

    c->reload = v ? v : 65536;
    c->start = spt_rdtsc();
    c->null_count = c->fired = 0;
    c->periods = 0;
    if (ch == 0) {
        uint64_t ns = c->reload * 1000000000ull / PIT_HZ;
        spt_timer_set(ns < MIN_TIMER_NS ? MIN_TIMER_NS : ns, periodic(c));
    }
}

static void pit_latch(struct pit_ch *c, bool count, bool status)
{
    if (status && !c->status_latched)
        c->status = pit_status(c), c->status_latched = 1;
    if (count && !c->latched)
        c->latch = pit_count(c), c->latched = 1, c->rhi = 0;
}

static void pit_control(uint8_t v)
{
    unsigned ch = v >> 6, access = (v >> 4) & 3;
    struct pit_ch *c;

    if (ch == 3) { /* read-back: bit 5 clear latches counts, bit 4 statuses */
        for (unsigned i = 0; i < 3; i++)
            if (v & (2u << i))
                pit_latch(&pit[i], !(v & 0x20), !(v & 0x10));
        return;
    }
    c = &pit[ch];
    if (access == 0) {
        pit_latch(c, true, false);
        return;
    }
    c->access = (uint8_t)access;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;
    c->bcd = v & 1;
    c->wlo = c->rhi = c->latched = 0;
    c->null_count = 1;
    if (ch == 0)
        spt_timer_set(0, false);
}

static void pit_write(unsigned ch, uint8_t v)
{
    struct pit_ch *c = &pit[ch];

    if (c->access == 1)
        pit_load(ch, v);
    else if (c->access == 2)
        pit_load(ch, (uint16_t)(v << 8));
    else if (!c->wlo)
        c->wbuf = v, c->wlo = 1;
    else
        c->wlo = 0, pit_load(ch, (uint16_t)(c->wbuf | v << 8));
}

/* Reads follow the access mode: the low byte, the high byte, or the low
 * then the high; a latched count is let go once it has been read whole. */
static uint8_t pit_read(unsigned ch)
{
    struct pit_ch *c = &pit[ch];
    uint16_t v;
    bool low;

    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    v = c->latched ? c->latch : pit_count(c);
    low = c->access == 1 || (c->access == 3 && !c->rhi);
    if (c->access == 3)
        c->rhi = !c->rhi;
    if (c->access != 3 || !c->rhi)
        c->latched = 0;
    return low ? (uint8_t)v : (uint8_t)(v >> 8);
}

static uint32_t pit_io(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)size;
    spt_pit_poll();
    if (port == 0x43) {
        if (out)
            pit_control((uint8_t)v);
        return 0xff;
    }
    if (out) {
        pit_write(port - 0x40u, (uint8_t)v);
        return 0;
    }
    return pit_read(port - 0x40u);
}

/* ------------------------------------------------------------------------
 * COM1 (transmit only, to stdout), the console buffer.
 */
static char con[4096];
static size_t con_len;
static uint8_t com1_lcr, com1_scratch;

void spt_console_flush(void)
{
    if (con_len)
        spt_host_output(con, con_len);
    con_len = 0;
}

void spt_console_put(const char *p, size_t n)
{
    spt_vm.st.console_bytes += n;
    for (size_t i = 0; i < n; i++) {
        con[con_len++] = p[i];
        if (p[i] == '\n' || con_len == sizeof con)
            spt_console_flush();
    }
}

static uint32_t com1_io(uint16_t port, unsigned size, bool out, uint32_t v)
{
    unsigned reg = port - MON_COM1;
    char c = (char)v;

    (void)size;
    if (out) {
        if (reg == 3)
            com1_lcr = (uint8_t)v;
        else if (reg == 7)
            com1_scratch = (uint8_t)v;
        else if (reg == 0 && !(com1_lcr & 0x80))
            spt_console_put(&c, 1);
        return 0;
    }
    switch (reg) {
    case 2: return 0x01;       /* IIR: no interrupt pending */
    case 3: return com1_lcr;
    case 5: return 0x60;       /* LSR: transmitter empty */
    case 7: return com1_scratch;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The debug-exit port, the hypercall port, the rest.
 */
static uint32_t debug_exit(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)port, (void)size;
    if (out)
        spt_stop(v > MON_GUEST_STATUS_MAX ? MON_GUEST_STATUS_MAX : (int)v, 0, NULL);
    return ~0u;
}

/* Only a 32-bit OUT is a hypercall. */
static uint32_t hcall_io(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)port;
    if (!out || size != 4) {
        mon_hcall_malformed(&spt_vm); /* only a 32-bit OUT is a hypercall */
        return ~0u;
    }
    spt_vm.exit_status = -1;
    spt_console_flush();
    spt_host_hcall(v);
    if (spt_vm.exit_status >= 0)
        spt_stop(spt_vm.exit_status, 0, NULL);
    return 0;
}

static uint32_t ignore(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)port, (void)size, (void)out, (void)v;
    return ~0u;
}

static uint32_t unowned(uint16_t port, unsigned size, bool out, uint32_t v)
{
    (void)port, (void)size, (void)out, (void)v;
    spt_vm.st.unknown_port++;
    return ~0u;
}

typedef uint32_t (*port_fn)(uint16_t port, unsigned size, bool out, uint32_t v);

static const struct {
    uint16_t lo, hi;
    uint8_t sizes; /* access sizes it serves (1, 2, 4 as bits) */
    port_fn fn;
} ports[] = {
    {0x20, 0x21, 1, pic_io},
    {0xa0, 0xa1, 1, pic_io},
    {0x40, 0x43, 1, pit_io},
    {0x80, 0x80, 7, ignore},
    {MON_COM1, MON_COM1 + 7, 1, com1_io},
    {PVL_DEBUG_EXIT_PORT, PVL_DEBUG_EXIT_PORT + 1, 3, debug_exit},
    {PVL_HV_PORT, PVL_HV_PORT, 7, hcall_io},
};

static port_fn owner(uint16_t port, unsigned size)
{
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        if (port >= ports[i].lo && port <= ports[i].hi)
            return (ports[i].sizes & size) ? ports[i].fn : unowned;
    return unowned;
}

static uint32_t ones(unsigned size)
{
    return size == 4 ? ~0u : (1u << (8 * size)) - 1;
}

uint32_t spt_port_in(uint16_t port, unsigned size)
{
    spt_vm.st.io_in[port]++;
    return owner(port, size)(port, size, false, 0) & ones(size);
}

void spt_port_out(uint16_t port, unsigned size, uint32_t val)
{
    spt_vm.st.io_out[port]++;
    owner(port, size)(port, size, true, val & ones(size));
}

/* ------------------------------------------------------------------------
 * The virtual interrupt.
 */
int spt_inject(struct spt_regs *r)
{
    int v;

    spt_pit_poll();
    if (!spt_vif() || spt_pic_pending() < 0)
        return 0;
    v = spt_pic_ack();
    spt_deliver(r, (unsigned)v, DV_EXT, 0, 0);
    return 1;
}

void spt_settle(struct spt_regs *r)
{
    bool waits;

    spt_inject(r);
    waits = !spt_vif() && spt_pic_pending() >= 0;
    if (spt_vm.rom_present)
        spt_mmu_guard(spt_vm.rom.data + SPT_SHARED_OFF, waits);
    if (waits)
        spt_kick_arm();
}
