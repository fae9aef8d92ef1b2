/*
 * The gate: the operations the ROM hands to the monitor with a call
 * instead of a trap (see rom/spt/sptabi.h for the calling sequence).
 * entry.S saved the guest's registers in spt_gate_regs, with rip the
 * return address and rsp above it; the operation (a kernel catalog
 * operation number) is the caller's %eax.  An operation reads its
 * arguments there and writes its result in rax, the only register the ROM
 * declares the gate writes (with the flags and the stack below it): no
 * operation here changes another, so the gate carries out no operation
 * with more results than that (cpuid).
 *
 * A fault (a bad MSR, an unmapped console buffer) is delivered as the
 * native code's fault would be: at the site that called the ROM, when the
 * ROM was called from a site with e8 rel32; otherwise at the return
 * address.  Before the guest resumes, an interrupt the guest enabled
 * inline since the last entry into the monitor is delivered.
 */
#include <pvlink/kernel_ops.h>

#include "spt.h"

#define JUMPED 2

struct spt_regs spt_gate_regs;

typedef int (*gate_fn)(struct spt_regs *r);

static int g_nothing(struct spt_regs *r)
{
    (void)r;
    return SPT_OK;
}

static int g_safe_halt(struct spt_regs *r)
{
    spt_set_vif(true);
    spt_halt(r);
    return JUMPED;
}

static int g_halt(struct spt_regs *r)
{
    spt_halt(r);
    return JUMPED;
}

static int read_cr(struct spt_regs *r, unsigned n)
{
    return spt_cr_read(n, &r->gpr[R_AX]);
}

static int write_cr(struct spt_regs *r, unsigned n)
{
    return spt_cr_write(n, r->gpr[R_DI]);
}

#define CR_OPS_(n)                                                                             \
    static int g_read_cr##n(struct spt_regs *r) { return read_cr(r, n); }                      \
    static int g_write_cr##n(struct spt_regs *r) { return write_cr(r, n); }
CR_OPS_(0)
CR_OPS_(2)
CR_OPS_(3)
CR_OPS_(4)
#undef CR_OPS_

static int g_read_msr(struct spt_regs *r)
{
    return spt_msr_read((uint32_t)r->gpr[R_DI], &r->gpr[R_AX]);
}

static int g_write_msr(struct spt_regs *r)
{
    return spt_msr_write((uint32_t)r->gpr[R_DI], r->gpr[R_SI]);
}

static int g_read_tsc(struct spt_regs *r)
{
    r->gpr[R_AX] = spt_rdtsc();
    return SPT_OK;
}

static int g_flush_tlb_one(struct spt_regs *r)
{
    spt_mmu_flush_page(r->gpr[R_DI]);
    return SPT_OK;
}

static int g_flush_tlb_all(struct spt_regs *r)
{
    (void)r;
    if (spt_cpu.cr0 & CR0_PG)
        spt_mmu_reload();
    return SPT_OK;
}

static int g_set_pte(struct spt_regs *r)
{
    return spt_mmu_set_pte(r->gpr[R_DI], r->gpr[R_SI]);
}

static int port_in(struct spt_regs *r, unsigned size)
{
    r->gpr[R_AX] = spt_port_in((uint16_t)r->gpr[R_DI], size);
    return SPT_OK;
}

static int port_out(struct spt_regs *r, unsigned size)
{
    spt_port_out((uint16_t)r->gpr[R_DI], size, (uint32_t)r->gpr[R_SI]);
    return SPT_OK;
}

static int g_inb(struct spt_regs *r) { return port_in(r, 1); }
static int g_inw(struct spt_regs *r) { return port_in(r, 2); }
static int g_inl(struct spt_regs *r) { return port_in(r, 4); }
static int g_outb(struct spt_regs *r) { return port_out(r, 1); }
static int g_outw(struct spt_regs *r) { return port_out(r, 2); }
static int g_outl(struct spt_regs *r) { return port_out(r, 4); }

static int g_io_delay(struct spt_regs *r)
{
    spt_port_out(0x80, 1, (uint8_t)r->gpr[R_AX]);
    return SPT_OK;
}

/* console_write(buf, len): the guest's bytes, page by page. */
static int g_console_write(struct spt_regs *r)
{
    uint64_t va = r->gpr[R_DI], n = r->gpr[R_SI], pa;

    while (n) {
        uint64_t chunk = SPT_PAGE - (va & (SPT_PAGE - 1));
        const char *p;
        if (chunk > n)
            chunk = n;
        if (spt_translate(va, 0, &pa) != SPT_OK)
            return SPT_EXC;
        if (!(p = spt_pa(pa, chunk)))
            spt_stop(MON_EXIT_GUEST, r->rip, "console_write from guest-physical %#llx, which "
                     "is not RAM", (unsigned long long)pa);
        spt_console_put(p, chunk);
        va += chunk, n -= chunk;
    }
    return SPT_OK;
}

static int g_clock_read(struct spt_regs *r)
{
    r->gpr[R_AX] = spt_clock_ns();
    return SPT_OK;
}

static const gate_fn gate_ops[64] = {
    [PVK_OP_NOP] = g_nothing,
    [PVK_OP_SAFE_HALT] = g_safe_halt,
    [PVK_OP_HALT] = g_halt,
    [PVK_OP_READ_CR0] = g_read_cr0,
    [PVK_OP_WRITE_CR0] = g_write_cr0,
    [PVK_OP_READ_CR2] = g_read_cr2,
    [PVK_OP_WRITE_CR2] = g_write_cr2,
    [PVK_OP_READ_CR3] = g_read_cr3,
    [PVK_OP_WRITE_CR3] = g_write_cr3,
    [PVK_OP_READ_CR4] = g_read_cr4,
    [PVK_OP_WRITE_CR4] = g_write_cr4,
    [PVK_OP_READ_MSR] = g_read_msr,
    [PVK_OP_WRITE_MSR] = g_write_msr,
    [PVK_OP_READ_TSC] = g_read_tsc,
    [PVK_OP_FLUSH_TLB_ONE] = g_flush_tlb_one,
    [PVK_OP_FLUSH_TLB_ALL] = g_flush_tlb_all,
    [PVK_OP_SET_PTE] = g_set_pte,
    [PVK_OP_LAZY_MMU_BEGIN] = g_nothing,
    [PVK_OP_LAZY_MMU_END] = g_nothing,
    [PVK_OP_INB] = g_inb,
    [PVK_OP_INW] = g_inw,
    [PVK_OP_INL] = g_inl,
    [PVK_OP_OUTB] = g_outb,
    [PVK_OP_OUTW] = g_outw,
    [PVK_OP_OUTL] = g_outl,
    [PVK_OP_IO_DELAY] = g_io_delay,
    [PVK_OP_CONSOLE_WRITE] = g_console_write,
    [PVK_OP_CLOCK_READ] = g_clock_read,
};

/* Where the ROM's code was called from a site: the ROM returns to (*ret)
 * with the stack at (*sp) and rax (*rax, for an entry that saved it).
 * Entries that keep rax are at `pop %rax; ret` on the way back (sptabi.h);
 * the others jumped to the gate, whose return address is the site's. */
static void site_return(const struct spt_regs *r, uint64_t *ret, uint64_t *sp, uint64_t *rax)
{
    uint8_t code[2];
    uint64_t w[2];

    *ret = r->rip, *sp = r->gpr[R_SP], *rax = r->gpr[R_AX];
    if (spt_vread(r->rip, code, 2, PFE_I) == SPT_OK && code[0] == 0x58 && code[1] == 0xc3 &&
        spt_vread(*sp, w, 16, 0) == SPT_OK)
        *rax = w[0], *ret = w[1], *sp += 16;
}

/* Deliver what the operation raised at the site that called the ROM: it
 * ends with e8 rel32 (the core writes calls at the end of a room) into
 * the ROM image. */
static void deliver_at_site(struct spt_regs *r)
{
    uint64_t ret, sp, rax, cr2 = spt_cpu.cr2, to;
    uint8_t call[5], vec = spt_cpu.exc_vec, has_err = spt_cpu.exc_has_err;
    uint32_t err = spt_cpu.exc_err;
    int32_t rel;

    site_return(r, &ret, &sp, &rax);
    if (spt_vread(ret - 5, call, 5, PFE_I) == SPT_OK && call[0] == 0xe8) {
        __builtin_memcpy(&rel, call + 1, 4);
        to = ret + (uint64_t)(int64_t)rel;
        if (spt_vm.rom_present && to - spt_vm.rom.gpa < spt_vm.rom.size)
            r->rip = ret - 5, r->gpr[R_SP] = sp, r->gpr[R_AX] = rax;
    }
    spt_cpu.cr2 = cr2; /* the probing above may have faulted */
    spt_deliver(r, vec, DV_EXC, has_err, err);
}

void spt_gate_c(void)
{
    struct spt_regs *r = &spt_gate_regs;
    uint64_t op = r->op;
    int st;

    spt_events++;
    r->mode64 = 1;
    spt_cpu.fs_base = r->fs_base;
    spt_cpu.gs_base = r->gs_base;
    if (op >= 64 || !gate_ops[op])
        spt_stop(MON_EXIT_GUEST, r->rip, "the guest called the monitor's gate with unknown "
                 "operation %llu", (unsigned long long)op);
    spt_st.gate[op]++;
    st = gate_ops[op](r);
    if (st == SPT_EXC)
        deliver_at_site(r);
    spt_check_async();
    spt_settle(r);
    r->fs_base = spt_cpu.fs_base;
    r->gs_base = spt_cpu.gs_base;
    r->rflags &= ~FL_TF;
    spt_cpu.resumed64 = 1;
}
