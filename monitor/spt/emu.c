/*
 * The instructions ring 3 refuses and ring 0 would execute, carried out on
 * the virtual CPU.  One table says which instructions those are (decode.c
 * decodes them); anything else that faulted gets the guest's own
 * exception.  In 64-bit mode the core's length decoder (core/insn.c) must
 * agree on every length.
 */
#include "spt.h"

#include "../../core/insn.h"

/* Fetch up to 15 bytes at (rip): those of its page, then those of the
 * next if it is there.  Returns how many, or -1 (the fault raised) if
 * even the first page cannot be read. */
static int fetch(const struct spt_regs *r, uint8_t buf[15])
{
    unsigned n = (unsigned)(SPT_PAGE - (r->rip & (SPT_PAGE - 1)));

    if (n >= 15)
        return spt_vread(r->rip, buf, 15, PFE_I) == SPT_OK ? 15 : -1;
    if (spt_vread(r->rip, buf, n, PFE_I) != SPT_OK)
        return -1;
    return (int)n + (spt_vread(r->rip + n, buf + n, 15 - n, PFE_I) == SPT_OK ? 15 - (int)n : 0);
}

static uint64_t reg_read(const struct spt_regs *r, unsigned reg, unsigned size)
{
    uint64_t v = r->gpr[reg];

    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

/* A register write as the CPU does it: 32-bit results zero-extend. */
static void reg_write(struct spt_regs *r, unsigned reg, unsigned size, uint64_t v)
{
    uint64_t *p = &r->gpr[reg];

    if (size >= 4)
        *p = size == 8 ? v : (uint32_t)v;
    else if (size == 2)
        *p = (*p & ~0xffffull) | (v & 0xffff);
    else
        *p = (*p & ~0xffull) | (v & 0xff);
}

/* ------------------------------------------------------------------------
 * The instructions.  Each returns SPT_OK (go on after it), SPT_EXC (the
 * exception it raised is delivered as a fault at it), or JUMPED (it set
 * rip itself).
 */
#define JUMPED 2

typedef int (*emu_fn)(struct spt_regs *r, const struct spt_insn *in);

static uint16_t rm16(const struct spt_regs *r, const struct spt_insn *in, int *st)
{
    uint16_t v = 0;

    *st = in->mem ? spt_vread(in->ea, &v, 2, 0) : SPT_OK;
    return in->mem ? v : (uint16_t)r->gpr[in->rm];
}

static int e_cli(struct spt_regs *r, const struct spt_insn *in)
{
    (void)r, (void)in;
    spt_set_vif(false);
    return SPT_OK;
}

/* sti holds interrupts off for one more instruction: "sti; hlt" halts
 * with interrupts enabled and no window between the two. */
static int e_sti(struct spt_regs *r, const struct spt_insn *in)
{
    uint8_t next;

    spt_set_vif(true);
    if (spt_vread(r->rip + in->len, &next, 1, PFE_I) == SPT_OK && next == 0xf4) {
        r->rip += in->len + 1u;
        spt_halt(r);
        return JUMPED;
    }
    return SPT_OK;
}

static int e_hlt(struct spt_regs *r, const struct spt_insn *in)
{
    r->rip += in->len;
    spt_halt(r);
    return JUMPED;
}

static unsigned io_size(const struct spt_insn *in)
{
    return (in->op & 1) ? (in->opsz == 2 ? 2 : 4) : 1;
}

static uint16_t io_port(const struct spt_regs *r, const struct spt_insn *in)
{
    return (in->op & 8) ? (uint16_t)r->gpr[R_DX] : (uint16_t)in->imm;
}

static int e_in(struct spt_regs *r, const struct spt_insn *in)
{
    reg_write(r, R_AX, io_size(in), spt_port_in(io_port(r, in), io_size(in)));
    return SPT_OK;
}

static int e_out(struct spt_regs *r, const struct spt_insn *in)
{
    spt_port_out(io_port(r, in), io_size(in), (uint32_t)reg_read(r, R_AX, io_size(in)));
    return SPT_OK;
}

static int e_mov_sreg(struct spt_regs *r, const struct spt_insn *in)
{
    int st;
    uint16_t sel = rm16(r, in, &st);

    return st == SPT_OK ? spt_load_seg(r, in->reg & 7, sel) : st;
}

static int e_iret(struct spt_regs *r, const struct spt_insn *in)
{
    return spt_iret(r, in->opsz) == SPT_OK ? JUMPED : SPT_EXC;
}

static int e_ljmp_ptr(struct spt_regs *r, const struct spt_insn *in)
{
    return spt_far_jump(r, in->sel, in->imm) == SPT_OK ? JUMPED : SPT_EXC;
}

static int e_ljmp_mem(struct spt_regs *r, const struct spt_insn *in)
{
    unsigned sz = in->opsz == 8 ? 8 : 4;
    uint64_t off = 0;
    uint16_t sel;

    if (!in->mem)
        return spt_raise(V_UD, 0, 0);
    if (spt_vread(in->ea, &off, sz, 0) != SPT_OK || spt_vread(in->ea + sz, &sel, 2, 0) != SPT_OK)
        return SPT_EXC;
    return spt_far_jump(r, sel, off) == SPT_OK ? JUMPED : SPT_EXC;
}

static int e_lret(struct spt_regs *r, const struct spt_insn *in)
{
    unsigned sz = in->opsz == 8 ? 8 : 4;
    uint64_t off = 0, sel = 0, sp = r->gpr[R_SP];

    if (spt_vread(sp, &off, sz, 0) != SPT_OK || spt_vread(sp + sz, &sel, sz, 0) != SPT_OK)
        return SPT_EXC;
    if (spt_far_jump(r, (uint16_t)sel, off) != SPT_OK)
        return SPT_EXC;
    r->gpr[R_SP] = sp + 2 * sz + in->imm;
    return JUMPED;
}

static int e_int(struct spt_regs *r, const struct spt_insn *in)
{
    r->rip += in->len;
    spt_deliver(r, (unsigned)in->imm, DV_SOFT, 0, 0);
    return JUMPED;
}

/* sldt, str, smsw: a 16-bit value to memory, or zero-extended to a register. */
static int store16(struct spt_regs *r, const struct spt_insn *in, uint16_t v)
{
    if (in->mem)
        return spt_vwrite(in->ea, &v, 2);
    reg_write(r, in->rm, in->opsz == 2 ? 2 : 4, v);
    return SPT_OK;
}

static int e_sldt(struct spt_regs *r, const struct spt_insn *in)
{
    return store16(r, in, spt_cpu.ldtr);
}

static int e_str(struct spt_regs *r, const struct spt_insn *in)
{
    return store16(r, in, spt_cpu.tr);
}

static int e_smsw(struct spt_regs *r, const struct spt_insn *in)
{
    return store16(r, in, (uint16_t)spt_cpu.cr0);
}

static int e_lldt(struct spt_regs *r, const struct spt_insn *in)
{
    int st;
    uint16_t sel = rm16(r, in, &st);

    if (st != SPT_OK)
        return st;
    if (sel & ~3u)
        spt_stop(MON_EXIT_GUEST, r->rip, "lldt %#x: local descriptor tables are not supported",
                 sel);
    spt_cpu.ldtr = 0;
    return SPT_OK;
}

static int e_ltr(struct spt_regs *r, const struct spt_insn *in)
{
    int st;
    uint16_t sel = rm16(r, in, &st);

    return st == SPT_OK ? spt_ltr(sel) : st;
}

/* Descriptor-table registers: limit, then base (8 bytes in 64-bit mode). */
static int dt_store(const struct spt_regs *r, const struct spt_insn *in, uint64_t base, uint32_t lim)
{
    uint16_t l = (uint16_t)lim;
    unsigned bsz = r->mode64 ? 8 : 4;

    if (spt_vwrite(in->ea, &l, 2) != SPT_OK)
        return SPT_EXC;
    return spt_vwrite(in->ea + 2, &base, bsz);
}

static int dt_load(const struct spt_regs *r, const struct spt_insn *in, uint64_t *base,
                   uint32_t *lim)
{
    uint16_t l;
    uint64_t b = 0;
    unsigned bsz = r->mode64 ? 8 : 4;

    if (spt_vread(in->ea, &l, 2, 0) != SPT_OK || spt_vread(in->ea + 2, &b, bsz, 0) != SPT_OK)
        return SPT_EXC;
    if (r->mode64 && (uint64_t)((int64_t)(b << 16) >> 16) != b)
        return spt_raise(V_GP, 1, 0);
    *base = b, *lim = l;
    return SPT_OK;
}

static int e_sgdt(struct spt_regs *r, const struct spt_insn *in)
{
    return dt_store(r, in, spt_cpu.gdt_base, spt_cpu.gdt_limit);
}

static int e_sidt(struct spt_regs *r, const struct spt_insn *in)
{
    return dt_store(r, in, spt_cpu.idt_base, spt_cpu.idt_limit);
}

static int e_lgdt(struct spt_regs *r, const struct spt_insn *in)
{
    return dt_load(r, in, &spt_cpu.gdt_base, &spt_cpu.gdt_limit);
}

static int e_lidt(struct spt_regs *r, const struct spt_insn *in)
{
    return dt_load(r, in, &spt_cpu.idt_base, &spt_cpu.idt_limit);
}

/* lmsw loads CR0's low four bits, and cannot clear PE. */
static int e_lmsw(struct spt_regs *r, const struct spt_insn *in)
{
    int st;
    uint16_t v = rm16(r, in, &st);

    if (st != SPT_OK)
        return st;
    return spt_cr_write(0, (spt_cpu.cr0 & ~0xeull) | (v & 0xf) | (spt_cpu.cr0 & CR0_PE));
}

static int e_invlpg(struct spt_regs *r, const struct spt_insn *in)
{
    (void)r;
    spt_mmu_flush_page(in->ea);
    return SPT_OK;
}

static int e_swapgs(struct spt_regs *r, const struct spt_insn *in)
{
    uint64_t t = spt_cpu.gs_base;

    (void)in;
    if (!r->mode64)
        return spt_raise(V_UD, 0, 0);
    spt_cpu.gs_base = spt_cpu.kernel_gs_base;
    spt_cpu.kernel_gs_base = t;
    return SPT_OK;
}

static int e_nothing(struct spt_regs *r, const struct spt_insn *in)
{
    (void)r, (void)in;
    return SPT_OK;
}

static int e_clts(struct spt_regs *r, const struct spt_insn *in)
{
    (void)r, (void)in;
    spt_cpu.cr0 &= ~CR0_TS;
    return SPT_OK;
}

static int e_mov_from_cr(struct spt_regs *r, const struct spt_insn *in)
{
    uint64_t v;

    if (spt_cr_read(in->reg, &v) != SPT_OK)
        return SPT_EXC;
    reg_write(r, in->rm, r->mode64 ? 8 : 4, v);
    return SPT_OK;
}

static int e_mov_to_cr(struct spt_regs *r, const struct spt_insn *in)
{
    return spt_cr_write(in->reg, reg_read(r, in->rm, r->mode64 ? 8 : 4));
}

static int e_mov_dr(struct spt_regs *r, const struct spt_insn *in)
{
    unsigned n = in->reg & 7;

    if (in->reg > 7)
        return spt_raise(V_UD, 0, 0);
    n = n == 4 ? 6 : n == 5 ? 7 : n;
    if (in->op == 0x21)
        reg_write(r, in->rm, r->mode64 ? 8 : 4, spt_cpu.dr[n]);
    else
        spt_cpu.dr[n] = reg_read(r, in->rm, r->mode64 ? 8 : 4);
    return SPT_OK;
}

static int e_rdmsr(struct spt_regs *r, const struct spt_insn *in)
{
    uint64_t v;

    (void)in;
    if (spt_msr_read((uint32_t)r->gpr[R_CX], &v) != SPT_OK)
        return SPT_EXC;
    reg_write(r, R_AX, 4, v);
    reg_write(r, R_DX, 4, v >> 32);
    return SPT_OK;
}

static int e_wrmsr(struct spt_regs *r, const struct spt_insn *in)
{
    (void)in;
    return spt_msr_write((uint32_t)r->gpr[R_CX],
                         (r->gpr[R_DX] & 0xffffffffull) << 32 | (uint32_t)r->gpr[R_AX]);
}

static int e_cpuid(struct spt_regs *r, const struct spt_insn *in)
{
    uint32_t out[4];
    static const uint8_t regs[4] = {R_AX, R_BX, R_CX, R_DX};

    (void)in;
    spt_cpuid((uint32_t)r->gpr[R_AX], (uint32_t)r->gpr[R_CX], out);
    for (int i = 0; i < 4; i++)
        reg_write(r, regs[i], 4, out[i]);
    return SPT_OK;
}

/* What the statistics count: one class per instruction, whatever its
 * encodings. */
enum {
    T_CLI,
    T_STI,
    T_HLT,
    T_IN,
    T_OUT,
    T_MOV_TO_SEGMENT_REGISTER,
    T_IRET,
    T_FAR_JMP,
    T_FAR_RET,
    T_INT_N,
    T_SLDT,
    T_STR,
    T_LLDT,
    T_LTR,
    T_SWAPGS,
    T_SGDT,
    T_SIDT,
    T_LGDT,
    T_LIDT,
    T_SMSW,
    T_LMSW,
    T_INVLPG,
    T_CLTS,
    T_INVD,
    T_WBINVD,
    T_MOV_FROM_CONTROL_REGISTER,
    T_MOV_TO_CONTROL_REGISTER,
    T_MOV_FROM_DEBUG_REGISTER,
    T_MOV_TO_DEBUG_REGISTER,
    T_WRMSR,
    T_RDMSR,
    T_CPUID,
    NCLASSES
};
_Static_assert(NCLASSES <= SPT_NTRAP, "SPT_NTRAP is too small");

static const char *const class_names[NCLASSES] = {
    [T_CLI] = "cli",
    [T_STI] = "sti",
    [T_HLT] = "hlt",
    [T_IN] = "in",
    [T_OUT] = "out",
    [T_MOV_TO_SEGMENT_REGISTER] = "mov to segment register",
    [T_IRET] = "iret",
    [T_FAR_JMP] = "far jmp",
    [T_FAR_RET] = "far ret",
    [T_INT_N] = "int n",
    [T_SLDT] = "sldt",
    [T_STR] = "str",
    [T_LLDT] = "lldt",
    [T_LTR] = "ltr",
    [T_SWAPGS] = "swapgs",
    [T_SGDT] = "sgdt",
    [T_SIDT] = "sidt",
    [T_LGDT] = "lgdt",
    [T_LIDT] = "lidt",
    [T_SMSW] = "smsw",
    [T_LMSW] = "lmsw",
    [T_INVLPG] = "invlpg",
    [T_CLTS] = "clts",
    [T_INVD] = "invd",
    [T_WBINVD] = "wbinvd",
    [T_MOV_FROM_CONTROL_REGISTER] = "mov from control register",
    [T_MOV_TO_CONTROL_REGISTER] = "mov to control register",
    [T_MOV_FROM_DEBUG_REGISTER] = "mov from debug register",
    [T_MOV_TO_DEBUG_REGISTER] = "mov to debug register",
    [T_WRMSR] = "wrmsr",
    [T_RDMSR] = "rdmsr",
    [T_CPUID] = "cpuid",
};

const char *spt_trap_name(unsigned i)
{
    return i < NCLASSES ? class_names[i] : NULL;
}

/* The table: opcode, ModRM constraints, handler, class.  (modrm) is an
 * exact ModRM byte or -1; (reg) a required ModRM.reg or -1; (mem) 1 if
 * the operand must be in memory, 0 if it must be a register, -1 either. */
static const struct emu_op {
    uint8_t map, op;
    int16_t modrm;
    int8_t reg, mem;
    emu_fn fn;
    uint8_t cls;
} emu_ops[] = {
    {1, 0xfa, -1, -1, -1, e_cli, T_CLI},
    {1, 0xfb, -1, -1, -1, e_sti, T_STI},
    {1, 0xf4, -1, -1, -1, e_hlt, T_HLT},
    {1, 0xe4, -1, -1, -1, e_in, T_IN},
    {1, 0xe5, -1, -1, -1, e_in, T_IN},
    {1, 0xec, -1, -1, -1, e_in, T_IN},
    {1, 0xed, -1, -1, -1, e_in, T_IN},
    {1, 0xe6, -1, -1, -1, e_out, T_OUT},
    {1, 0xe7, -1, -1, -1, e_out, T_OUT},
    {1, 0xee, -1, -1, -1, e_out, T_OUT},
    {1, 0xef, -1, -1, -1, e_out, T_OUT},
    {1, 0x8e, -1, -1, -1, e_mov_sreg, T_MOV_TO_SEGMENT_REGISTER},
    {1, 0xcf, -1, -1, -1, e_iret, T_IRET},
    {1, 0xea, -1, -1, -1, e_ljmp_ptr, T_FAR_JMP},
    {1, 0xff, -1, 5, 1, e_ljmp_mem, T_FAR_JMP},
    {1, 0xcb, -1, -1, -1, e_lret, T_FAR_RET},
    {1, 0xca, -1, -1, -1, e_lret, T_FAR_RET},
    {1, 0xcd, -1, -1, -1, e_int, T_INT_N},
    {2, 0x00, -1, 0, -1, e_sldt, T_SLDT},
    {2, 0x00, -1, 1, -1, e_str, T_STR},
    {2, 0x00, -1, 2, -1, e_lldt, T_LLDT},
    {2, 0x00, -1, 3, -1, e_ltr, T_LTR},
    {2, 0x01, 0xf8, -1, -1, e_swapgs, T_SWAPGS},
    {2, 0x01, -1, 0, 1, e_sgdt, T_SGDT},
    {2, 0x01, -1, 1, 1, e_sidt, T_SIDT},
    {2, 0x01, -1, 2, 1, e_lgdt, T_LGDT},
    {2, 0x01, -1, 3, 1, e_lidt, T_LIDT},
    {2, 0x01, -1, 4, -1, e_smsw, T_SMSW},
    {2, 0x01, -1, 6, -1, e_lmsw, T_LMSW},
    {2, 0x01, -1, 7, 1, e_invlpg, T_INVLPG},
    {2, 0x06, -1, -1, -1, e_clts, T_CLTS},
    {2, 0x08, -1, -1, -1, e_nothing, T_INVD},
    {2, 0x09, -1, -1, -1, e_nothing, T_WBINVD},
    {2, 0x20, -1, -1, -1, e_mov_from_cr, T_MOV_FROM_CONTROL_REGISTER},
    {2, 0x22, -1, -1, -1, e_mov_to_cr, T_MOV_TO_CONTROL_REGISTER},
    {2, 0x21, -1, -1, -1, e_mov_dr, T_MOV_FROM_DEBUG_REGISTER},
    {2, 0x23, -1, -1, -1, e_mov_dr, T_MOV_TO_DEBUG_REGISTER},
    {2, 0x30, -1, -1, -1, e_wrmsr, T_WRMSR},
    {2, 0x32, -1, -1, -1, e_rdmsr, T_RDMSR},
    {2, 0xa2, -1, -1, -1, e_cpuid, T_CPUID},
};
#define NOPS (sizeof emu_ops / sizeof emu_ops[0])

static const struct emu_op *lookup(const struct spt_insn *in)
{
    for (size_t i = 0; i < NOPS; i++) {
        const struct emu_op *e = &emu_ops[i];
        if (e->map != in->map || e->op != in->op)
            continue;
        if (e->modrm >= 0 && (!in->has_modrm || in->modrm != e->modrm))
            continue;
        if (e->reg >= 0 && (in->modrm >> 3 & 7) != e->reg)
            continue;
        if (e->mem >= 0 && in->mem != (e->mem == 1))
            continue;
        return e;
    }
    return NULL;
}

/* Privileged instructions ring 0 would execute and pvlink-spt does not
 * emulate: the run ends rather than the guest getting a fault no CPU
 * would give it. */
static const char *unsupported(const uint8_t *p, unsigned n)
{
    unsigned i = 0;

    while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 ||
                     (p[i] & 0xf0) == 0x40))
        i++;
    if (i < n && p[i] >= 0x6c && p[i] <= 0x6f)
        return "string port I/O (ins/outs)";
    if (i + 1 >= n || p[i] != 0x0f)
        return NULL;
    switch (p[i + 1]) {
    case 0x07: return "sysret";
    case 0x35: return "sysexit";
    case 0x33: return "rdpmc";
    case 0xaa: return "rsm";
    case 0x78: case 0x79: return "a VMX instruction";
    }
    if (p[i + 1] == 0x01 && i + 2 < n && p[i + 2] >= 0xc0 && p[i + 2] <= 0xd9)
        return "a system instruction of group 0F 01 (monitor, mwait, xsetbv, VMX, SVM)";
    return NULL;
}

/* In 64-bit mode, the core's decoder must find the same length; it
 * refuses some encodings the CPU takes (a REX before another prefix). */
static void check_length(const struct spt_regs *r, const uint8_t *p, unsigned n,
                         const struct spt_insn *in)
{
    static const char hex[] = "0123456789abcdef";
    struct pvl_insn ci;
    char b[3 * 15 + 1];

    if (!r->mode64 || pvl_insn_decode(p, n, &ci) == in->len)
        return;
    for (unsigned i = 0; i < in->len; i++)
        b[3 * i] = hex[p[i] >> 4], b[3 * i + 1] = hex[p[i] & 15], b[3 * i + 2] = ' ';
    b[3 * in->len - 1] = 0;
    spt_stop(MON_EXIT_GUEST, r->rip, "the guest executed an encoding pvlink-spt cannot decode "
             "(%s)", b);
}

void spt_emulate(struct spt_regs *r, unsigned vec, uint32_t err)
{
    uint8_t buf[15];
    int n = fetch(r, buf), f, st;
    const struct emu_op *e = NULL;
    const char *why;
    struct spt_insn in;

    if (n < 0) {
        spt_deliver_raised(r);
        return;
    }
    f = spt_decode(r, buf, (unsigned)n, &in);
    if (f == SPT_DEC_16)
        spt_stop(MON_EXIT_GUEST, r->rip, "16-bit addressing is not supported");
    if (f == SPT_DEC_OK && (e = lookup(&in)) != NULL)
        check_length(r, buf, (unsigned)n, &in);
    if (e && in.mem && r->mode64 && in.seg != 0xff)
        in.ea += in.seg == S_FS ? spt_cpu.fs_base : spt_cpu.gs_base;
    if (!e) {
        if ((why = unsupported(buf, (unsigned)n)) != NULL)
            spt_stop(MON_EXIT_GUEST, r->rip, "the guest executed %s, which pvlink-spt does not "
                     "emulate", why);
        spt_deliver(r, vec, DV_EXC, vec == V_GP, err);
        return;
    }
    spt_st.trap[e->cls]++;
    st = e->fn(r, &in);
    if (st == SPT_OK)
        r->rip = r->mode64 ? r->rip + in.len : (uint32_t)(r->rip + in.len);
    else if (st == SPT_EXC)
        spt_deliver_raised(r);
}

/* ------------------------------------------------------------------------
 * Stores to the virtual flags' page while it is guarded (mem.c): mov of a
 * register or an immediate to memory (88, 89, c6 /0, c7 /0), carried out
 * on the guest's behalf.  Anything else is left to run natively.
 */

/* The value a mov store writes, of (in->opsz) or 1 byte: an immediate, or
 * a register (without REX, byte registers 4..7 are ah, ch, dh, bh). */
static uint64_t store_value(const struct spt_regs *r, const struct spt_insn *in, unsigned size)
{
    if (in->op == 0xc6 || in->op == 0xc7)
        return size == 8 ? (uint64_t)(int64_t)(int32_t)in->imm : in->imm;
    if (size == 1 && !in->rex && in->reg >= 4 && in->reg < 8)
        return (r->gpr[in->reg - 4] >> 8) & 0xff;
    return reg_read(r, in->reg, size);
}

int spt_emulate_store(struct spt_regs *r)
{
    uint8_t buf[15];
    int n = fetch(r, buf);
    struct spt_insn in;
    unsigned size;
    uint64_t v;

    if (n < 0 || spt_decode(r, buf, (unsigned)n, &in) != SPT_DEC_OK || in.map != 1 ||
        !in.mem || (in.op != 0x88 && in.op != 0x89 && in.op != 0xc6 && in.op != 0xc7) ||
        ((in.op == 0xc6 || in.op == 0xc7) && (in.modrm >> 3 & 7) != 0))
        return 0;
    check_length(r, buf, (unsigned)n, &in);
    if (r->mode64 && in.seg != 0xff)
        in.ea += in.seg == S_FS ? spt_cpu.fs_base : spt_cpu.gs_base;
    size = (in.op & 1) ? in.opsz : 1;
    v = store_value(r, &in, size);
    spt_st.stores++;
    if (spt_vwrite(in.ea, &v, size) != SPT_OK)
        spt_deliver_raised(r);
    else
        r->rip = r->mode64 ? r->rip + in.len : (uint32_t)(r->rip + in.len);
    return 1;
}

/* ------------------------------------------------------------------------
 * Halting.
 */
void spt_halt(struct spt_regs *r)
{
    spt_st.halts++;
    for (;;) {
        spt_check_async();
        if (spt_inject(r))
            return;
        if (!spt_vif())
            spt_stop(MON_EXIT_GUEST, r->rip, "the guest halted with interrupts disabled: "
                     "nothing can wake it");
        if (!spt_can_wake())
            spt_stop(MON_EXIT_GUEST, r->rip, "the guest halted and no interrupt can come (the "
                     "PIT is not counting, or IRQ 0 is masked or in service)");
        spt_wait_signal(spt_pit_next_ns());
    }
}
