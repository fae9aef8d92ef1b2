/*
 * Decoding the instructions pvlink-spt emulates (those ring 3 refuses, and
 * mov stores, for the virtual flags' guard), from bytes the guest
 * controls: legacy prefixes, REX (64-bit mode), one- and two-byte opcodes,
 * ModRM/SIB/displacement with 64- or 32-bit addressing, immediates and
 * far pointers.  It reads only the (n) bytes it is given and depends on
 * nothing but the registers, so that tests/spt/fuzz_decode.c can run it
 * alone.
 */
#include "spt.h"

/* Operand forms, by opcode (F_IZ: an immediate of the operand size,
 * at most 4 bytes). */
enum { F_M = 1, F_I8 = 2, F_I16 = 4, F_FAR = 8, F_LEGACY = 16, F_CR = 32, F_IZ = 64 };

static uint8_t form(uint8_t map, uint8_t op)
{
    if (map == 1) {
        switch (op) {
        case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xcd: return F_I8;
        case 0xca: return F_I16;
        case 0x8e: case 0xff: case 0x88: case 0x89: return F_M;
        case 0xc6: return F_M | F_I8;
        case 0xc7: return F_M | F_IZ;
        case 0xea: return F_FAR | F_LEGACY;
        case 0xec: case 0xed: case 0xee: case 0xef: case 0xfa: case 0xfb: case 0xf4:
        case 0xcf: case 0xcb: return 0;
        }
    } else {
        switch (op) {
        case 0x00: case 0x01: return F_M;
        case 0x20: case 0x21: case 0x22: case 0x23: return F_M | F_CR;
        case 0x06: case 0x08: case 0x09: case 0x30: case 0x32: case 0xa2: return 0;
        }
    }
    return 0xff; /* not an instruction pvlink-spt emulates */
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int64_t sle(const uint8_t *p, unsigned n)
{
    uint64_t v = le(p, n);
    unsigned s = 64 - 8 * n;

    return (int64_t)(v << s) >> s;
}

/* ModRM, SIB, displacement; (*rip_rel) is set for RIP-relative forms,
 * whose address is completed once the length is known.  Returns bytes
 * used, or 0 if the buffer is too short. */
static unsigned modrm(const struct spt_regs *r, struct spt_insn *in, const uint8_t *p, unsigned n,
                      bool cr, bool *rip_rel)
{
    uint8_t m = p[0], mod = m >> 6, rm = m & 7;
    unsigned i = 1, d;
    bool disp32 = mod == 2; /* also the base-less forms of mod 0 */
    uint64_t ea = 0;

    in->modrm = m;
    in->reg = (uint8_t)(((m >> 3) & 7) | (in->rex & 4 ? 8 : 0));
    in->rm = (uint8_t)(rm | (in->rex & 1 ? 8 : 0));
    if (mod == 3 || cr)
        return 1;
    in->mem = true;
    if (rm == 4) {
        if (n < 2)
            return 0;
        uint8_t sib = p[i++], base = (uint8_t)((sib & 7) | (in->rex & 1 ? 8 : 0));
        uint8_t index = (uint8_t)(((sib >> 3) & 7) | (in->rex & 2 ? 8 : 0));
        if (index != 4)
            ea = r->gpr[index] << (sib >> 6);
        if ((base & 7) == 5 && mod == 0)
            disp32 = true;
        else
            ea += r->gpr[base];
    } else if (rm == 5 && mod == 0) {
        *rip_rel = in->adsz == 8;
        disp32 = true;
    } else {
        ea = r->gpr[in->rm];
    }
    d = disp32 ? 4 : mod == 1 ? 1 : 0;
    if (i + d > n)
        return 0;
    if (d)
        ea += (uint64_t)sle(p + i, d);
    in->ea = in->adsz == 4 ? (uint32_t)ea : ea;
    return i + d;
}

static bool legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
        return true;
    }
    return false;
}

/* Prefixes and REX; returns where the opcode starts. */
static unsigned prefixes(const struct spt_regs *r, const uint8_t *p, unsigned n,
                         struct spt_insn *in)
{
    unsigned i = 0;

    for (; i < n; i++) {
        if (r->mode64 && (p[i] & 0xf0) == 0x40) {
            in->rex = p[i]; /* counts only right before the opcode */
            continue;
        }
        if (!legacy_prefix(p[i]))
            break;
        in->rex = 0;
        if (p[i] == 0x66)
            in->opsz = 2;
        else if (p[i] == 0x67)
            in->adsz = r->mode64 ? 4 : 2;
        else if (p[i] == 0x64 || p[i] == 0x65)
            in->seg = p[i] == 0x64 ? S_FS : S_GS;
    }
    if (in->rex & 8)
        in->opsz = 8;
    return i;
}

int spt_decode(const struct spt_regs *r, const uint8_t *p, unsigned n, struct spt_insn *in)
{
    bool rip_rel = false;
    unsigned i, isz, k;
    uint8_t f;

    *in = (struct spt_insn){.opsz = 4, .adsz = r->mode64 ? 8 : 4, .seg = 0xff};
    i = prefixes(r, p, n, in);
    if (i >= n)
        return SPT_DEC_BAD;
    in->map = 1, in->op = p[i++];
    if (in->op == 0x0f) {
        if (i >= n)
            return SPT_DEC_BAD;
        in->map = 2, in->op = p[i++];
    }
    f = form(in->map, in->op);
    if (f == 0xff || ((f & F_LEGACY) && r->mode64))
        return SPT_DEC_NONE;
    if (in->adsz == 2)
        return SPT_DEC_16;
    if (f & F_M) {
        if (i >= n || !(k = modrm(r, in, p + i, n - i, f & F_CR, &rip_rel)))
            return SPT_DEC_BAD;
        in->has_modrm = true;
        i += k;
    }
    isz = (f & F_I8) ? 1 : (f & F_I16) ? 2 : (f & F_FAR) ? (in->opsz == 2 ? 4 : 6) : 0;
    if (f & F_IZ)
        isz = in->opsz == 2 ? 2 : 4;
    if (i + isz > n)
        return SPT_DEC_BAD;
    if (f & F_FAR) {
        in->imm = le(p + i, isz - 2u);
        in->sel = (uint16_t)le(p + i + isz - 2, 2);
    } else {
        in->imm = le(p + i, isz);
    }
    in->len = (uint8_t)(i + isz);
    if (rip_rel) /* the displacement ends where the immediate starts */
        in->ea = r->rip + in->len + (uint64_t)sle(p + i - 4, 4);
    return SPT_DEC_OK;
}
