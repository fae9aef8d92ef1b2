/*
 * The virtual CPU: what ring 0 would see of control registers, MSRs,
 * CPUID, descriptor tables and segments, and how exceptions and interrupts
 * reach the guest's own IDT.
 *
 * Nothing here knows the kernel: the state starts as the PVH entry
 * contract defines it (32-bit protected mode, paging off, IF clear), and
 * every later state comes from instructions the guest executed (the
 * descriptors its lgdt named, the page tables its CR3 names).  The guest
 * is at CPL 0 throughout; a return to CPL 3 is refused (ends the run).
 */
#include "spt.h"

struct spt_cpu spt_cpu;
static uint32_t private_vflags;

#define CR0_VALID 0xe005003full
#define CR0_NW 0x20000000ull
#define CR0_CD 0x40000000ull
/* CR4 bits the advertised features allow: TSD PSE PAE PGE OSFXSR
 * OSXMMEXCPT FSGSBASE. */
#define CR4_VALID 0x106b4ull
#define CR4_RELOAD 0xb0ull /* PSE PAE PGE: a change flushes the TLB */
#define EFER_VALID (EFER_SCE | EFER_LME | EFER_NXE)

#define MSR_TSC 0x10u
#define MSR_APIC_BASE 0x1bu
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
#define MSR_PAT 0x277u
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SFMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX 0xc0000103u

static uint64_t canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16);
}

void spt_cpu_reset(struct spt_regs *r, uint32_t entry, uint32_t start_info)
{
    struct spt_shared *sh =
        spt_vm.rom_present ? spt_pa(spt_vm.rom.data + SPT_SHARED_OFF, sizeof *sh) : NULL;

    spt_cpu = (struct spt_cpu){.cr0 = CR0_PE | CR0_ET, .pat = 0x0007040600070406ull,
                               .sel = {0x10, 0x08, 0x10, 0x10, 0x10, 0x10}, .tr = 0x18};
    spt_cpu.vflags = sh ? &sh->vflags : &private_vflags;
    *spt_cpu.vflags = 0;
    *r = (struct spt_regs){.rip = entry, .rflags = 0x202, .mode64 = 0};
    r->gpr[R_BX] = start_info;
}

int spt_raise(unsigned vec, int has_err, uint32_t err)
{
    spt_cpu.exc_vec = (uint8_t)vec;
    spt_cpu.exc_has_err = (uint8_t)has_err;
    spt_cpu.exc_err = err;
    return SPT_EXC;
}

uint64_t spt_guest_flags(const struct spt_regs *r)
{
    return (r->rflags & ~FL_IF) | (spt_vif() ? FL_IF : 0) | 2;
}

/* ------------------------------------------------------------------------
 * Descriptors.
 */

#define D_PRESENT (1ull << 47)
#define D_S (1ull << 44)
#define D_CODE (1ull << 43)
#define D_L (1ull << 53)
#define D_DB (1ull << 54)

static unsigned dpl(uint64_t d)
{
    return (d >> 45) & 3;
}

static uint64_t desc_base(const uint64_t d[2], bool wide)
{
    uint64_t b = ((d[0] >> 16) & 0xffffff) | ((d[0] >> 56) & 0xff) << 24;
    return wide ? b | d[1] << 32 : b;
}

/* Read the GDT descriptor (sel) names: 8 bytes, or 16 (wide). */
static int desc_read(uint16_t sel, uint64_t d[2], bool wide)
{
    uint32_t last = (sel & ~7u) + (wide ? 15u : 7u);

    if ((sel & 4) || last > spt_cpu.gdt_limit)
        return spt_raise(V_GP, 1, sel & ~3u); /* no LDT */
    d[1] = 0;
    return spt_vread(spt_cpu.gdt_base + (sel & ~7u), d, wide ? 16 : 8, 0);
}

/* Check (sel) as a code segment for CPL 0 and say whether it is 64-bit. */
static int code_segment(struct spt_regs *r, uint16_t sel, uint64_t *mode64)
{
    uint64_t d[2];

    if ((sel & ~3u) == 0)
        return spt_raise(V_GP, 1, 0);
    if (desc_read(sel, d, false) != SPT_OK)
        return SPT_EXC;
    if ((d[0] & (D_S | D_CODE)) != (D_S | D_CODE))
        return spt_raise(V_GP, 1, sel & ~3u);
    if (!(d[0] & D_PRESENT))
        return spt_raise(V_NP, 1, sel & ~3u);
    if ((sel & 3) || dpl(d[0]))
        spt_stop(MON_EXIT_GUEST, r->rip, "the guest switched to CPL 3 (code selector %#x): "
                 "guest user mode is not supported", sel);
    if ((spt_cpu.efer & EFER_LMA) && (d[0] & D_L))
        *mode64 = 1;
    else if (d[0] & D_DB)
        *mode64 = 0;
    else
        spt_stop(MON_EXIT_GUEST, r->rip, "code selector %#x is a 16-bit segment: 16-bit code "
                 "is not supported", sel);
    return SPT_OK;
}

/* 32-bit guest code needs flat data selectors in the real DS and ES (a
 * 64-bit process starts with null ones, which compatibility mode faults
 * on); 0x2b is Linux's flat user data segment. */
static void flat_data_segments(void)
{
    __asm__ __volatile__("mov %0, %%ds; mov %0, %%es" : : "r"(0x2b));
}

int spt_far_jump(struct spt_regs *r, uint16_t sel, uint64_t off)
{
    uint64_t m;

    if (code_segment(r, sel, &m) != SPT_OK)
        return SPT_EXC;
    if (m && canonical(off) != off)
        return spt_raise(V_GP, 1, 0);
    if (!m)
        flat_data_segments();
    spt_cpu.sel[S_CS] = sel;
    r->mode64 = m;
    r->rip = m ? off : off & 0xffffffffull;
    return SPT_OK;
}

int spt_load_seg(struct spt_regs *r, unsigned seg, uint16_t sel)
{
    uint64_t d[2];

    if (seg == S_CS || seg > S_GS)
        return spt_raise(V_UD, 0, 0);
    if ((sel & ~3u) == 0) { /* null: fine except SS outside 64-bit mode */
        if (seg == S_SS && !r->mode64)
            return spt_raise(V_GP, 1, 0);
        spt_cpu.sel[seg] = sel;
        return SPT_OK;
    }
    if (desc_read(sel, d, false) != SPT_OK)
        return SPT_EXC;
    bool code = d[0] & D_CODE, rw = d[0] & (1ull << 41);
    if (!(d[0] & D_S) || (seg == S_SS ? code || !rw || (sel & 3) || dpl(d[0]) : code && !rw))
        return spt_raise(V_GP, 1, sel & ~3u);
    if (!(d[0] & D_PRESENT))
        return spt_raise(seg == S_SS ? V_SS : V_NP, 1, sel & ~3u);
    spt_cpu.sel[seg] = sel;
    if (seg == S_FS)
        spt_cpu.fs_base = desc_base(d, false);
    if (seg == S_GS)
        spt_cpu.gs_base = desc_base(d, false);
    return SPT_OK;
}

int spt_ltr(uint16_t sel)
{
    bool wide = (spt_cpu.efer & EFER_LMA) != 0;
    uint64_t d[2];
    uint8_t type;

    if ((sel & ~3u) == 0)
        return spt_raise(V_GP, 1, 0);
    if (desc_read(sel, d, wide) != SPT_OK)
        return SPT_EXC;
    type = (d[0] >> 40) & 0x1f;
    if (type != 0x09) /* an available 32/64-bit TSS, system descriptor */
        return spt_raise(V_GP, 1, sel & ~3u);
    if (!(d[0] & D_PRESENT))
        return spt_raise(V_NP, 1, sel & ~3u);
    type |= 2; /* busy, as the processor marks it */
    if (spt_vwrite(spt_cpu.gdt_base + (sel & ~7u) + 5, &type, 1) != SPT_OK)
        return SPT_EXC;
    spt_cpu.tr = sel;
    spt_cpu.tr_base = desc_base(d, wide);
    return SPT_OK;
}

/* ------------------------------------------------------------------------
 * Control registers and MSRs.
 */

static int cr0_write(uint64_t v)
{
    uint64_t old = spt_cpu.cr0;

    v |= CR0_ET;
    if ((v & ~CR0_VALID) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
        return spt_raise(V_GP, 1, 0);
    if ((v & CR0_PG) && !(old & CR0_PG)) {
        if (!(spt_cpu.efer & EFER_LME))
            spt_stop(MON_EXIT_GUEST, 0, "the guest enabled 32-bit paging (CR0.PG without "
                     "EFER.LME): only long-mode paging is supported");
        if (!(spt_cpu.cr4 & CR4_PAE))
            return spt_raise(V_GP, 1, 0);
        spt_cpu.efer |= EFER_LMA;
    }
    if (!(v & CR0_PG) && (old & CR0_PG))
        spt_cpu.efer &= ~EFER_LMA;
    spt_cpu.cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_WP))
        spt_mmu_reload();
    return SPT_OK;
}

static int cr4_write(uint64_t v)
{
    uint64_t old = spt_cpu.cr4;

    if ((v & ~CR4_VALID) || ((spt_cpu.efer & EFER_LMA) && !(v & CR4_PAE)))
        return spt_raise(V_GP, 1, 0);
    spt_cpu.cr4 = v;
    if (((old ^ v) & CR4_RELOAD) && (spt_cpu.cr0 & CR0_PG))
        spt_mmu_reload();
    return SPT_OK;
}

int spt_cr_read(unsigned n, uint64_t *v)
{
    switch (n) {
    case 0: *v = spt_cpu.cr0; return SPT_OK;
    case 2: *v = spt_cpu.cr2; return SPT_OK;
    case 3: *v = spt_cpu.cr3; return SPT_OK;
    case 4: *v = spt_cpu.cr4; return SPT_OK;
    case 8: *v = spt_cpu.cr8; return SPT_OK;
    }
    return spt_raise(V_UD, 0, 0);
}

int spt_cr_write(unsigned n, uint64_t v)
{
    switch (n) {
    case 0:
        return cr0_write(v);
    case 2:
        spt_cpu.cr2 = v;
        return SPT_OK;
    case 3:
        if (v >> 52)
            return spt_raise(V_GP, 1, 0);
        spt_cpu.cr3 = v;
        if (spt_cpu.cr0 & CR0_PG)
            spt_mmu_reload();
        return SPT_OK;
    case 4:
        return cr4_write(v);
    case 8:
        if (v > 15)
            return spt_raise(V_GP, 1, 0);
        spt_cpu.cr8 = v;
        return SPT_OK;
    }
    return spt_raise(V_UD, 0, 0);
}

static int efer_write(uint64_t v)
{
    uint64_t old = spt_cpu.efer;

    if ((v & ~(EFER_VALID | EFER_LMA)) ||
        ((spt_cpu.cr0 & CR0_PG) && ((v ^ old) & EFER_LME)))
        return spt_raise(V_GP, 1, 0);
    spt_cpu.efer = (v & EFER_VALID) | (old & EFER_LMA);
    if (((old ^ v) & EFER_NXE) && (spt_cpu.cr0 & CR0_PG))
        spt_mmu_reload();
    return SPT_OK;
}

/* MSRs that only hold a value; (addr): it must be canonical. */
static const struct {
    uint32_t msr;
    bool addr;
    size_t off;
} plain_msrs[] = {
    {MSR_SYSENTER_CS, false, offsetof(struct spt_cpu, sysenter_cs)},
    {MSR_SYSENTER_ESP, true, offsetof(struct spt_cpu, sysenter_esp)},
    {MSR_SYSENTER_EIP, true, offsetof(struct spt_cpu, sysenter_eip)},
    {MSR_PAT, false, offsetof(struct spt_cpu, pat)},
    {MSR_STAR, false, offsetof(struct spt_cpu, star)},
    {MSR_LSTAR, true, offsetof(struct spt_cpu, lstar)},
    {MSR_CSTAR, true, offsetof(struct spt_cpu, cstar)},
    {MSR_SFMASK, false, offsetof(struct spt_cpu, sfmask)},
    {MSR_FS_BASE, true, offsetof(struct spt_cpu, fs_base)},
    {MSR_GS_BASE, true, offsetof(struct spt_cpu, gs_base)},
    {MSR_KERNEL_GS_BASE, true, offsetof(struct spt_cpu, kernel_gs_base)},
    {MSR_TSC_AUX, false, offsetof(struct spt_cpu, tsc_aux)},
};

static uint64_t *plain_msr(uint32_t msr, bool *addr)
{
    for (size_t i = 0; i < sizeof plain_msrs / sizeof plain_msrs[0]; i++)
        if (plain_msrs[i].msr == msr) {
            *addr = plain_msrs[i].addr;
            return (uint64_t *)((char *)&spt_cpu + plain_msrs[i].off);
        }
    return NULL;
}

int spt_msr_read(uint32_t msr, uint64_t *v)
{
    bool addr;
    uint64_t *p = plain_msr(msr, &addr);

    if (p)
        *v = *p;
    else if (msr == MSR_EFER)
        *v = spt_cpu.efer;
    else if (msr == MSR_TSC)
        *v = spt_rdtsc();
    else if (msr == MSR_APIC_BASE) /* no local APIC: globally disabled */
        *v = 0;
    else
        return spt_raise(V_GP, 1, 0);
    return SPT_OK;
}

int spt_msr_write(uint32_t msr, uint64_t v)
{
    bool addr;
    uint64_t *p = plain_msr(msr, &addr);

    if (msr == MSR_EFER)
        return efer_write(v);
    if (!p || (addr && canonical(v) != v) || (msr == MSR_PAT && (v & 0xf8f8f8f8f8f8f8f8ull)))
        return spt_raise(V_GP, 1, 0);
    *p = msr == MSR_TSC_AUX ? v & 0xffffffffull : v;
    return SPT_OK;
}

/* ------------------------------------------------------------------------
 * CPUID: the host's answers (captured before CPUID faulting was turned
 * on), reduced to what a CPL0 guest in a process can use, plus the pvlink
 * monitor leaves.
 */
#define B(n) (1u << (n))
/* leaf 1: SSE3 PCLMUL SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND */
#define L1_ECX (B(0) | B(1) | B(9) | B(13) | B(19) | B(20) | B(22) | B(23) | B(25) | B(30))
/* FPU PSE TSC MSR PAE CX8 PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 */
#define L1_EDX (B(0) | B(3) | B(4) | B(5) | B(6) | B(8) | B(13) | B(15) | B(16) | B(17) | \
                B(19) | B(23) | B(24) | B(25) | B(26))
/* leaf 7: FSGSBASE BMI1 BMI2 ERMS ADX CLFLUSHOPT SHA */
#define L7_EBX (B(0) | B(3) | B(8) | B(9) | B(19) | B(23) | B(29))
/* 0x80000001: LAHF LZCNT PREFETCHW; SYSCALL NX PDPE1GB RDTSCP LM */
#define X1_ECX (B(0) | B(5) | B(8))
#define X1_EDX (B(11) | B(20) | B(26) | B(27) | B(29))

static const struct {
    uint32_t leaf;
    uint32_t mask[4];
} cpuid_masks[] = {
    {0, {0, ~0u, ~0u, ~0u}},
    {1, {~0u, 0xffff, L1_ECX, L1_EDX}},
    {7, {0, L7_EBX, 0, 0}},
    {0x80000000, {0, 0, 0, 0}},
    {0x80000001, {0, 0, X1_ECX, X1_EDX}},
    {0x80000002, {~0u, ~0u, ~0u, ~0u}},
    {0x80000003, {~0u, ~0u, ~0u, ~0u}},
    {0x80000004, {~0u, ~0u, ~0u, ~0u}},
    {0x80000007, {0, 0, 0, B(8)}}, /* invariant TSC */
    {0x80000008, {0xffff, 0, 0, 0}},
};

void spt_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    const uint32_t *rom = spt_rom_leaf;

    for (int i = 0; i < 4; i++)
        out[i] = 0;
    if (leaf == PVL_HV_CPUID_BASE) {
        out[0] = PVL_HV_CPUID_INFO, out[1] = PVL_HV_SIG_EBX;
        out[2] = PVL_HV_SIG_ECX, out[3] = PVL_HV_SIG_EDX;
    } else if (leaf == PVL_HV_CPUID_ROM) {
        for (int i = 0; i < 4; i++)
            out[i] = rom[i];
    } else if (leaf == PVL_HV_CPUID_INFO) {
        out[0] = PVL_HV_ABI_VERSION, out[1] = PVL_HV_PORT;
    }
    if (sub != 0 && leaf == 7)
        return;
    for (size_t i = 0; i < sizeof cpuid_masks / sizeof cpuid_masks[0]; i++) {
        if (cpuid_masks[i].leaf != leaf)
            continue;
        const uint32_t *h = spt_host_leaf(leaf);
        for (int k = 0; k < 4; k++)
            out[k] = h[k] & cpuid_masks[i].mask[k];
    }
    if (leaf == 0)
        out[0] = 7;
    else if (leaf == 1)
        out[1] |= 1u << 16, out[2] |= 1u << 31; /* one logical CPU; a hypervisor */
    else if (leaf == 0x80000000)
        out[0] = 0x80000008;
}

/* ------------------------------------------------------------------------
 * Exceptions and interrupts.
 */

static const char *const vec_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS",
    "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM",
};

static const char *vec_name(unsigned v)
{
    return v < 32 && vec_names[v] ? vec_names[v] : "an interrupt";
}

__attribute__((noreturn)) static void triple_fault(const struct spt_regs *r, unsigned vec,
                                                   const char *why)
{
    spt_stop(MON_EXIT_GUEST, r->rip, "triple fault: %s (vector %u) could not be delivered: %s",
             vec_name(vec), vec, why);
}

/* Push the frame for (vec) and enter its handler; SPT_EXC if that faulted. */
static int deliver_once(struct spt_regs *r, unsigned vec, int kind, int has_err, uint32_t err)
{
    uint64_t g[2], frame[6], rsp, handler, m;
    unsigned ist, type, n = 0;

    if (vec * 16u + 15 > spt_cpu.idt_limit)
        return spt_raise(V_GP, 1, vec * 8 + 2);
    if (spt_vread(spt_cpu.idt_base + vec * 16u, g, 16, 0) != SPT_OK)
        return SPT_EXC;
    type = (g[0] >> 40) & 0x1f;
    if (type != 0x0e && type != 0x0f)
        return spt_raise(V_GP, 1, vec * 8 + 2);
    if (!(g[0] & D_PRESENT))
        return spt_raise(V_NP, 1, vec * 8 + 2);
    if (code_segment(r, (uint16_t)(g[0] >> 16), &m) != SPT_OK)
        return SPT_EXC;
    if (!m)
        spt_stop(MON_EXIT_GUEST, r->rip, "the IDT gate for vector %u names a 32-bit code "
                 "segment", vec);
    handler = (g[0] & 0xffff) | ((g[0] >> 48) & 0xffff) << 16 | (g[1] & 0xffffffffull) << 32;
    if (canonical(handler) != handler)
        return spt_raise(V_GP, 1, 0);
    ist = (g[0] >> 32) & 7;
    rsp = r->gpr[R_SP];
    if (ist && spt_vread(spt_cpu.tr_base + 36 + 8 * (ist - 1), &rsp, 8, 0) != SPT_OK)
        return SPT_EXC;
    rsp &= ~0xfull;
    if (kind == DV_EXC && has_err)
        frame[n++] = err;
    frame[n++] = r->rip;
    frame[n++] = spt_cpu.sel[S_CS];
    frame[n++] = spt_guest_flags(r);
    frame[n++] = r->gpr[R_SP];
    frame[n++] = spt_cpu.sel[S_SS];
    rsp -= 8 * n;
    if (spt_vwrite(rsp, frame, 8 * n) != SPT_OK)
        return SPT_EXC;
    r->gpr[R_SP] = rsp;
    r->rip = handler;
    r->mode64 = 1;
    r->rflags &= ~(FL_TF | FL_NT | FL_RF);
    spt_cpu.sel[S_CS] = (uint16_t)(g[0] >> 16);
    if (type == 0x0e)
        spt_set_vif(false);
    return SPT_OK;
}

/* The SDM's classes (Table 6-5): contributory exceptions, page faults,
 * and the benign rest. */
static bool contributory(unsigned v)
{
    return v == V_DE || (v >= V_TS && v <= V_GP);
}

/*
 * A fault raised while delivering (vec): the second event is delivered
 * instead, unless the pair makes a double fault (contributory then
 * contributory, or a page fault then a page fault or contributory);
 * a fault while delivering a double fault is a triple fault.
 */
void spt_deliver(struct spt_regs *r, unsigned vec, int kind, int has_err, uint32_t err)
{
    if (!(spt_cpu.efer & EFER_LMA))
        triple_fault(r, vec, "the guest is not in long mode, and pvlink-spt delivers only "
                     "through a 64-bit IDT");
    for (;;) {
        if (kind == DV_EXT)
            spt_st.irq++;
        else
            spt_st.exc[vec & 255]++;
        if (deliver_once(r, vec, kind, has_err, err) == SPT_OK)
            return;
        unsigned second = spt_cpu.exc_vec;
        if (vec == V_DF && kind == DV_EXC)
            triple_fault(r, vec, "delivering it faulted");
        if (kind == DV_EXC && (contributory(vec) || vec == V_PF) &&
            (contributory(second) || (vec == V_PF && second == V_PF)))
            second = V_DF, spt_cpu.exc_has_err = 1, spt_cpu.exc_err = 0;
        vec = second, kind = DV_EXC;
        has_err = spt_cpu.exc_has_err, err = spt_cpu.exc_err;
    }
}

void spt_deliver_raised(struct spt_regs *r)
{
    spt_deliver(r, spt_cpu.exc_vec, DV_EXC, spt_cpu.exc_has_err, spt_cpu.exc_err);
}

int spt_iret(struct spt_regs *r, unsigned opsz)
{
    uint64_t v[5] = {0}, m, fl;
    unsigned n = r->mode64 ? 5 : 3;

    if (opsz == 2)
        spt_stop(MON_EXIT_GUEST, r->rip, "16-bit iret is not supported");
    for (unsigned i = 0; i < n; i++)
        if (spt_vread(r->gpr[R_SP] + i * opsz, &v[i], opsz, 0) != SPT_OK)
            return SPT_EXC;
    if (code_segment(r, (uint16_t)v[1], &m) != SPT_OK)
        return SPT_EXC;
    if (m && canonical(v[0]) != v[0])
        return spt_raise(V_GP, 1, 0);
    fl = v[2];
    spt_set_vif((fl & FL_IF) != 0);
    r->rflags = (fl & FL_USER) | FL_IF | 2;
    r->gpr[R_SP] = n == 5 ? v[3] : r->gpr[R_SP] + 3 * opsz;
    if (n == 5)
        spt_cpu.sel[S_SS] = (uint16_t)v[4];
    if (!m)
        flat_data_segments();
    spt_cpu.sel[S_CS] = (uint16_t)v[1];
    r->mode64 = m;
    r->rip = m ? v[0] : v[0] & 0xffffffffull;
    return SPT_OK;
}

/* ------------------------------------------------------------------------
 * System calls: the guest's syscall, sysenter and int 0x80 never reach the
 * host (Syscall User Dispatch turns them into SIGSYS); they do here what
 * they would do on a CPU with the guest's MSRs.  (r->rip) is after the
 * instruction.
 */
void spt_guest_syscall(struct spt_regs *r, unsigned kind)
{
    spt_st.syscalls++;
    if (kind == SYS_INT80) {
        spt_deliver(r, 0x80, DV_SOFT, 0, 0);
        return;
    }
    r->rip -= 2; /* a fault reports the instruction itself */
    if (kind == SYS_SYSENTER) {
        if (!(spt_cpu.efer & EFER_LMA) || (spt_cpu.sysenter_cs & ~3ull) == 0) {
            spt_deliver(r, V_GP, DV_EXC, 1, 0);
            return;
        }
        if (spt_far_jump(r, (uint16_t)(spt_cpu.sysenter_cs & ~3ull), spt_cpu.sysenter_eip) !=
            SPT_OK) {
            spt_deliver_raised(r);
            return;
        }
        r->gpr[R_SP] = spt_cpu.sysenter_esp;
        spt_set_vif(false);
        r->rflags &= ~(FL_TF | FL_RF);
        return;
    }
    if (!(spt_cpu.efer & EFER_SCE) || !(spt_cpu.efer & EFER_LMA) || !r->mode64) {
        spt_deliver(r, V_UD, DV_EXC, 0, 0);
        return;
    }
    r->gpr[R_CX] = r->rip + 2;
    r->gpr[R_R11] = spt_guest_flags(r) & ~FL_RF;
    uint64_t fl = spt_guest_flags(r) & ~spt_cpu.sfmask;
    spt_set_vif((fl & FL_IF) != 0);
    r->rflags = (fl & FL_USER) | FL_IF | 2;
    spt_cpu.sel[S_CS] = (uint16_t)((spt_cpu.star >> 32) & 0xfffc);
    spt_cpu.sel[S_SS] = (uint16_t)(spt_cpu.sel[S_CS] + 8);
    r->rip = spt_cpu.lstar;
}
