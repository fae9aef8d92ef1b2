/*
 * x86-64 instruction length decoding for template checking.
 *
 * An instruction is: legacy prefixes, an optional REX, an opcode (one byte,
 * or 0F xx, 0F 38 xx, 0F 3A xx), then ModRM [SIB] [disp], then an
 * immediate.  The tables give, per opcode, whether ModRM follows, which
 * immediate, and how the instruction transfers control.
 */
#include "insn.h"

#include "internal.h"

enum {
    M = 1 << 0,    /* ModRM follows */
    I8 = 1 << 1,   /* imm8 */
    IZ = 1 << 2,   /* imm16 with 66, else imm32 */
    IV = 1 << 3,   /* imm64 with REX.W, imm16 with 66, else imm32 */
    I16 = 1 << 4,  /* imm16 */
    MO = 1 << 5,   /* moffs: 8 bytes, 4 with 67 */
    R8 = 1 << 6,   /* rel8 branch */
    R32 = 1 << 7,  /* rel32 branch */
    RET = 1 << 8,  /* return */
    ESC = 1 << 9,  /* system or far transfer */
    BAD = 1 << 10, /* invalid in 64-bit mode, or not handled */
    GRP = 1 << 11, /* depends on ModRM: see group() */
    MR = 1 << 12,  /* ModRM names registers only, whatever its mod bits */
};

/* clang-format off */
static const uint16_t map1[256] = {
    [0x00 ... 0x03] = M, [0x04] = I8, [0x05] = IZ, [0x06 ... 0x07] = BAD,
    [0x08 ... 0x0b] = M, [0x0c] = I8, [0x0d] = IZ, [0x0e] = BAD,
    [0x10 ... 0x13] = M, [0x14] = I8, [0x15] = IZ, [0x16 ... 0x17] = BAD,
    [0x18 ... 0x1b] = M, [0x1c] = I8, [0x1d] = IZ, [0x1e ... 0x1f] = BAD,
    [0x20 ... 0x23] = M, [0x24] = I8, [0x25] = IZ, [0x27] = BAD,
    [0x28 ... 0x2b] = M, [0x2c] = I8, [0x2d] = IZ, [0x2f] = BAD,
    [0x30 ... 0x33] = M, [0x34] = I8, [0x35] = IZ, [0x37] = BAD,
    [0x38 ... 0x3b] = M, [0x3c] = I8, [0x3d] = IZ, [0x3f] = BAD,
    [0x26] = BAD, [0x2e] = BAD, [0x36] = BAD, [0x3e] = BAD,
    [0x40 ... 0x4f] = BAD, /* a REX after a REX */
    [0x60 ... 0x62] = BAD, [0x63] = M, [0x64 ... 0x67] = BAD,
    [0x68] = IZ, [0x69] = M | IZ, [0x6a] = I8, [0x6b] = M | I8,
    [0x70 ... 0x7f] = R8,
    [0x80] = M | I8, [0x81] = M | IZ, [0x82] = BAD, [0x83] = M | I8,
    [0x84 ... 0x8c] = M, [0x8d] = M | GRP, [0x8e] = M, [0x8f] = M | GRP,
    [0x9a] = BAD,
    [0xa0 ... 0xa3] = MO, [0xa8] = I8, [0xa9] = IZ,
    [0xb0 ... 0xb7] = I8, [0xb8 ... 0xbf] = IV,
    [0xc0 ... 0xc1] = M | I8, [0xc2] = RET | I16, [0xc3] = RET,
    [0xc4 ... 0xc5] = BAD, [0xc6] = M | I8 | GRP, [0xc7] = M | IZ | GRP,
    [0xc8] = I16 | I8, [0xca] = RET | I16, [0xcb] = RET, [0xcc] = ESC,
    [0xcd] = ESC | I8, [0xce] = BAD, [0xcf] = RET,
    [0xd0 ... 0xd3] = M, [0xd4 ... 0xd6] = BAD, [0xd8 ... 0xdf] = M,
    [0xe0 ... 0xe3] = R8, [0xe4 ... 0xe7] = I8, [0xe8 ... 0xe9] = R32,
    [0xea] = BAD, [0xeb] = R8,
    [0xf0] = BAD, [0xf1] = ESC, [0xf2 ... 0xf3] = BAD,
    [0xf6 ... 0xf7] = M | GRP, [0xfe ... 0xff] = M | GRP,
};

static const uint16_t map2[256] = {
    [0x00] = M, [0x01] = M | GRP, [0x02 ... 0x03] = M, [0x04] = BAD, [0x05] = ESC, [0x07] = RET,
    [0x0a] = BAD, [0x0b] = ESC /* ud2 */, [0x0c] = BAD, [0x0d] = M, [0x0e ... 0x0f] = BAD,
    [0x10 ... 0x1f] = M, [0x20 ... 0x23] = M | MR, [0x24 ... 0x27] = BAD,
    [0x28 ... 0x2f] = M,
    [0x34] = ESC, [0x35] = RET, [0x36] = BAD, [0x37] = ESC /* getsec */, [0x38] = M, [0x39] = BAD,
    [0x3a] = M | I8, [0x3b ... 0x3f] = BAD,
    [0x40 ... 0x6f] = M, [0x70 ... 0x73] = M | I8, [0x74 ... 0x76] = M,
    [0x78 ... 0x7b] = BAD, [0x7c ... 0x7f] = M,
    [0x80 ... 0x8f] = R32, [0x90 ... 0x9f] = M,
    [0xa3] = M, [0xa4] = M | I8, [0xa5] = M, [0xa6 ... 0xa7] = BAD,
    [0xaa] = RET, [0xab] = M, [0xac] = M | I8, [0xad ... 0xaf] = M,
    [0xb0 ... 0xb7] = M, [0xb8] = BAD, [0xb9] = M | ESC /* ud1 */, [0xba] = M | I8,
    [0xbb ... 0xc1] = M,
    [0xc2] = M | I8, [0xc3] = M, [0xc4 ... 0xc6] = M | I8, [0xc7] = M,
    [0xd0 ... 0xfe] = M, [0xff] = M | ESC /* ud0 */,
};
/* clang-format on */

static int is_legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
        return 1;
    }
    return 0;
}

struct dec {
    const uint8_t *p;
    size_t n, i;
    int opsize, addrsize, rexw, rexr, rexb, rexx, lock, last_rep;
};

/* Consume (k) more bytes if the buffer has them.  Invariant: i <= n. */
static int take(struct dec *d, size_t k)
{
    if (k > d->n - d->i)
        return 0;
    d->i += k;
    return 1;
}

/* A little-endian signed value of (k) bytes at (q). */
static int64_t sval(const uint8_t *q, size_t k)
{
    uint64_t v = 0;
    for (size_t j = 0; j < k; j++)
        v |= (uint64_t)q[j] << (8 * j);
    if (k && k < 8 && (v >> (8 * k - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * k);
    return (int64_t)v;
}

/* Displacement of (k) bytes, recorded once consumed. */
static int take_disp(struct dec *d, struct pvl_insn *out, size_t k)
{
    if (!take(d, k))
        return 0;
    out->disp = (int32_t)sval(d->p + d->i - k, k);
    return 1;
}

/* ModRM, SIB and displacement; fills the operand fields and riprel.
 * (regonly): the mov to and from control and debug registers, whose
 * ModRM always names registers. */
static int modrm(struct dec *d, struct pvl_insn *out, uint8_t *reg, int regonly)
{
    uint8_t m, mod, rm;

    if (d->i >= d->n)
        return 0;
    m = d->p[d->i++];
    mod = m >> 6, rm = m & 7, *reg = (m >> 3) & 7;
    out->has_modrm = 1, out->modrm = m;
    out->reg = (uint8_t)(*reg + 8 * d->rexr);
    out->rm = (uint8_t)(rm + 8 * d->rexb);
    if (mod == 3 || regonly)
        return 1;
    out->mem = 1, out->base = out->index = PVL_NOREG;
    if (rm == 4) { /* SIB; with mod 0 and base 5, a disp32 and no base */
        if (d->i >= d->n)
            return 0;
        uint8_t sib = d->p[d->i++], base = sib & 7, idx = (sib >> 3) & 7;
        if (idx != 4 || d->rexx)
            out->index = (uint8_t)(idx + 8 * d->rexx);
        if (mod == 0 && base == 5)
            return take_disp(d, out, 4);
        out->base = (uint8_t)(base + 8 * d->rexb);
    } else if (mod == 0 && rm == 5) {
        out->riprel = 1, out->base = PVL_RIPREG;
        return take_disp(d, out, 4);
    } else {
        out->base = (uint8_t)(rm + 8 * d->rexb);
    }
    return take_disp(d, out, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static size_t imm_size(const struct dec *d, uint16_t a)
{
    size_t k = 0;
    if (a & I8)
        k += 1;
    if (a & I16)
        k += 2;
    if (a & IZ)
        k += (d->opsize && !d->rexw) ? 2 : 4;
    if (a & IV)
        k += d->rexw ? 8 : d->opsize ? 2 : 4;
    if (a & MO)
        k += d->addrsize ? 4 : 8;
    return k;
}

/* Size of the first immediate (enter has imm16 then imm8). */
static size_t first_imm_size(const struct dec *d, uint16_t a)
{
    return (a & I16) ? 2 : (a & (IZ | IV)) ? imm_size(d, a & (IZ | IV)) : (a & I8) ? 1 : 0;
}

/* Where an opcode is: map 1 is one byte, 2 is 0F xx, 3 is 0F 38, 4 0F 3A. */
struct opc {
    uint8_t map, op;
};

/*
 * The group opcodes whose meaning depends on ModRM.reg (and for C6/C7, the
 * whole ModRM): F6 /0,/1 and F7 /0,/1 (test) take an immediate; FE allows
 * /0,/1; FF /2../5 are indirect call/jmp, /7 is invalid; 8F must be /0
 * (otherwise XOP); C6 and C7 are mov /0, plus xabort (C6 F8) and xbegin
 * (C7 F8, a relative branch we refuse rather than follow).  In the
 * two-byte map, 0F 01 holds xend, the VMX/SVM/SGX/TDX entries and skinit,
 * which transfer, and the returns of FRED, user interrupts and SEAM.
 * Deliberate traps (int3, int n, ud0/1/2) count as transfers.
 */
static uint16_t group2(const struct dec *d, uint8_t modrm_byte, uint16_t a)
{
    int f3 = d->last_rep == 0xf3, f2 = d->last_rep == 0xf2, o66 = !d->last_rep && d->opsize;

    switch (modrm_byte) {
    case 0xc0: /* enclv */
    case 0xc2: /* vmlaunch */
    case 0xc3: /* vmresume */
    case 0xcf: /* encls; seamcall with 66 */
    case 0xd5: /* xend */
    case 0xd7: /* enclu */
    case 0xd8: /* vmrun */
    case 0xde: /* skinit */
        return a | ESC;
    case 0xca: /* eretu (f3), erets (f2); clac otherwise */
        return (f3 || f2) ? a | RET : a;
    case 0xcd: /* seamret (66) */
        return o66 ? a | RET : a;
    case 0xec: /* uiret (f3) */
        return f3 ? a | RET : a;
    case 0xcc: /* tdcall (66) */
    case 0xce: /* seamops (66) */
        return o66 ? a | ESC : a;
    }
    return a;
}

static uint16_t group(const struct dec *d, struct opc o, uint8_t reg, uint8_t modrm_byte,
                      uint16_t a)
{
    if (o.map == 2)
        return o.op == 0x01 ? group2(d, modrm_byte, a) : a;
    switch (o.op) {
    case 0xf6:
        return reg < 2 ? a | I8 : a;
    case 0xf7:
        return reg < 2 ? a | IZ : a;
    case 0xfe:
        return reg < 2 ? a : BAD;
    case 0xff:
        return reg == 7 ? BAD : (reg >= 2 && reg <= 5) ? a | ESC : a;
    case 0x8f:
        return reg == 0 ? a : BAD;
    case 0xc6: /* xabort leaves for the xbegin fallback */
        return modrm_byte == 0xf8 ? a | ESC : reg == 0 ? a : BAD;
    case 0x8d: /* lea needs a memory operand */
        return modrm_byte >= 0xc0 ? BAD : a;
    case 0xc7:
        return modrm_byte == 0xf8 ? a | ESC : reg == 0 ? a : BAD;
    }
    return a;
}

/* The names of the return-like instructions, refused by name. */
static const char *ret_name(const struct dec *d, struct opc o, uint8_t mb)
{
    if (o.map == 1)
        return o.op == 0xcf ? "iret" : (o.op == 0xca || o.op == 0xcb) ? "lret" : "ret";
    if (o.op == 0x07)
        return "sysret";
    if (o.op == 0x35)
        return "sysexit";
    if (o.op == 0xaa)
        return "rsm";
    if (mb == 0xca)
        return d->last_rep == 0xf3 ? "eretu" : "erets";
    return mb == 0xcd ? "seamret" : "uiret";
}

static void classify(struct pvl_insn *out, const struct dec *d, struct opc o, uint16_t a,
                     uint8_t reg)
{
    out->kind = PVL_INSN_PLAIN, out->flow = PVL_FLOW_NEXT;
    if (a & (R8 | R32)) {
        const uint8_t *q = d->p + d->i - ((a & R8) ? 1 : 4);
        out->kind = PVL_INSN_REL;
        out->rel = (int32_t)sval(q, (a & R8) ? 1 : 4);
        out->flow = (o.map == 1 && o.op == 0xe8) ? PVL_FLOW_CALL
                    : (o.map == 1 && (o.op == 0xe9 || o.op == 0xeb)) ? PVL_FLOW_JMP
                                                                     : PVL_FLOW_JCC;
    }
    if (a & RET) {
        out->kind = PVL_INSN_RET, out->flow = PVL_FLOW_OTHER;
        out->name = ret_name(d, o, out->modrm);
        if (o.map == 1 && (o.op == 0xc2 || o.op == 0xc3))
            out->flow = PVL_FLOW_RET;
    }
    if (a & ESC) {
        out->kind = PVL_INSN_ESCAPE, out->flow = PVL_FLOW_OTHER;
        if (o.map == 1 && o.op == 0xff && (reg == 2 || reg == 4))
            out->flow = reg == 2 ? PVL_FLOW_ICALL : PVL_FLOW_IJMP;
    }
}

/* Opcode, from the byte after prefixes and REX; returns its attributes. */
static uint16_t opcode(struct dec *d, struct opc *o)
{
    if (d->i >= d->n)
        return BAD;
    o->map = 1, o->op = d->p[d->i++];
    if (o->op != 0x0f)
        return map1[o->op];
    if (d->i >= d->n)
        return BAD;
    o->map = 2, o->op = d->p[d->i++];
    if (o->op == 0x38 || o->op == 0x3a) {
        uint16_t a = map2[o->op]; /* M, or M | I8 for 0F 3A */
        o->map = o->op == 0x38 ? 3 : 4;
        if (d->i >= d->n)
            return BAD;
        o->op = d->p[d->i++];
        return a;
    }
    return map2[o->op];
}

/* What push and pop forms do to RSP (8 bytes, 2 with 66): for the
 * template check's balance and the effect's implicit RSP write. */
static int8_t push_pop(const struct dec *d, struct opc o, uint8_t reg)
{
    int8_t w = (d->opsize && !d->rexw) ? 2 : 8; /* REX.W overrides 66 */
    uint8_t op = o.op;

    if (o.map >= 3)
        return 0;
    if (o.map == 2)
        return (op == 0xa0 || op == 0xa8) ? -w : (op == 0xa1 || op == 0xa9) ? w : 0;
    if ((op >= 0x50 && op <= 0x57) || op == 0x68 || op == 0x6a || op == 0x9c ||
        (op == 0xff && reg == 6))
        return -w;
    if ((op >= 0x58 && op <= 0x5f) || op == 0x9d || (op == 0x8f && reg == 0))
        return w;
    if (op == 0xe8 || (op == 0xff && reg == 2))
        return -8; /* a call pushes its return address */
    return 0;
}

/* Legacy prefixes, then REX. */
static void prefixes(struct dec *d, struct pvl_insn *out)
{
    const uint8_t *p = d->p;

    for (; d->i < d->n && is_legacy_prefix(p[d->i]); d->i++) {
        d->opsize |= p[d->i] == 0x66;
        d->addrsize |= p[d->i] == 0x67;
        d->lock |= p[d->i] == 0xf0;
        if (p[d->i] == 0xf2 || p[d->i] == 0xf3)
            d->last_rep = p[d->i];
        out->pfx |= (uint8_t)((p[d->i] == 0x66 ? PVL_PFX_66 : 0) |
                              (p[d->i] == 0x67 ? PVL_PFX_67 : 0) |
                              (p[d->i] == 0xf0 ? PVL_PFX_LOCK : 0) |
                              (p[d->i] == 0xf3 ? PVL_PFX_REP : 0) |
                              (p[d->i] == 0xf2 ? PVL_PFX_REPNE : 0));
    }
    if (d->i < d->n && (p[d->i] & 0xf0) == 0x40) {
        out->rex = p[d->i];
        d->rexw = (p[d->i] & 8) != 0, d->rexr = (p[d->i] & 4) != 0;
        d->rexx = (p[d->i] & 2) != 0, d->rexb = (p[d->i] & 1) != 0;
        d->i++;
    }
    out->mand = d->last_rep == 0xf3 ? PVL_MAND_F3 : d->last_rep == 0xf2 ? PVL_MAND_F2
                : d->opsize ? PVL_MAND_66 : PVL_MAND_NONE;
    out->opsize = d->rexw ? 8 : d->opsize ? 2 : 4;
}

/* The general-register instructions among VEX ones: BMI1 and BMI2 (0F 38
 * F2, F3, F5..F7; rorx, 0F 3A F0). */
static int vex_bmi(uint8_t map, uint8_t op)
{
    return (map == 2 && op >= 0xf2 && op <= 0xf7 && op != 0xf4) || (map == 3 && op == 0xf0);
}

/*
 * A VEX (C4, C5) or EVEX (62) instruction is not decoded, but measured so
 * that its refusal names it exactly: the prefix's 2, 3 or 4 bytes, the
 * opcode in the map they select (1: 0F, 2: 0F 38, 3: 0F 3A; EVEX also 5
 * and 6), ModRM with SIB and displacement (all but vzeroupper and
 * vzeroall, VEX 0F 77), and an imm8 throughout map 3 and for map 1's
 * 70..73, C2 and C4..C6.  Sets out->vex and out->len when the whole
 * instruction is there; returns 0 either way.  A REX, 66, F2, F3 or LOCK
 * before the prefix makes it invalid.
 */
static size_t vex_measure(struct dec *d, struct pvl_insn *out)
{
    uint8_t esc = d->p[d->i], map, op, reg;
    size_t plen = esc == 0xc5 ? 2 : esc == 0xc4 ? 3 : 4;
    const uint8_t *q = d->p + d->i;
    int imm;

    if (out->rex || (out->pfx & (PVL_PFX_66 | PVL_PFX_REP | PVL_PFX_REPNE | PVL_PFX_LOCK)) ||
        !take(d, plen) || d->i >= d->n)
        return 0;
    map = esc == 0xc5 ? 1 : esc == 0xc4 ? q[1] & 0x1f : q[1] & 7;
    if (esc == 0x62 ? !(q[2] & 4) || !(map == 1 || map == 2 || map == 3 || map == 5 || map == 6)
                    : map < 1 || map > 3)
        return 0;
    op = d->p[d->i++];
    if (!(esc != 0x62 && map == 1 && op == 0x77) && !modrm(d, out, &reg, 0))
        return 0;
    imm = map == 3 || (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
                                    (op >= 0xc4 && op <= 0xc6)));
    if (!take(d, (size_t)imm))
        return 0;
    out->vex = esc == 0x62 ? PVL_VEX_EVEX : vex_bmi(map, op) ? PVL_VEX_BMI : PVL_VEX_AVX;
    out->len = (uint8_t)d->i;
    return 0;
}

size_t pvl_insn_decode(const uint8_t *p, size_t n, struct pvl_insn *out)
{
    struct dec d = {.p = p, .n = n > 15 ? 15 : n};
    struct opc o = {0, 0};
    uint8_t reg = 0, mb = 0;
    uint16_t a;

    *out = (struct pvl_insn){.kind = PVL_INSN_PLAIN, .base = PVL_NOREG, .index = PVL_NOREG};
    prefixes(&d, out);
    if (d.i < d.n && (p[d.i] == 0xc4 || p[d.i] == 0xc5 || p[d.i] == 0x62))
        return vex_measure(&d, out);
    a = opcode(&d, &o);
    out->map = o.map, out->op = o.op;
    if (a & BAD)
        return 0;
    if (a & M) {
        if (d.i < d.n)
            mb = p[d.i];
        if (!modrm(&d, out, &reg, (a & MR) != 0))
            return 0;
        if ((a & GRP) && o.map <= 2)
            a = group(&d, o, reg, mb, a);
        if (a & BAD)
            return 0;
    }
    /* LOCK needs a memory destination (otherwise #UD) */
    if (d.lock && (!(a & M) || mb >= 0xc0))
        return 0;
    /* rel16 forms (66 on a near branch) behave differently on Intel and
     * AMD in 64-bit mode: refuse them rather than guess. */
    if ((a & (R8 | R32)) && d.opsize)
        return 0;
    size_t at = d.i;
    if (!take(&d, imm_size(&d, a) + ((a & R8) ? 1 : 0) + ((a & R32) ? 4 : 0)))
        return 0;
    if ((a & I16) && (a & I8)) /* enter: size, then nesting level */
        out->imm = (int64_t)(p[at] | p[at + 1] << 8 | p[at + 2] << 16);
    else if (first_imm_size(&d, a) && !(a & MO))
        out->imm = sval(p + at, first_imm_size(&d, a));
    classify(out, &d, o, a, reg);
    out->stack = push_pop(&d, o, reg);
    out->len = (uint8_t)d.i;
    return d.i;
}
