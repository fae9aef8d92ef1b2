#include "effect_oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARITH_FLAGS                                                          \
    (ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF | \
     ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF | ZYDIS_CPUFLAG_DF)

/* One register to state bits; 0 for system state and the ip. */
static uint64_t reg_state(ZydisRegister r)
{
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8: case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32: case ZYDIS_REGCLASS_GPR64: {
        ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
        return PVL_BIT(ZydisRegisterGetId(big));
    }
    case ZYDIS_REGCLASS_X87: case ZYDIS_REGCLASS_MMX:
        return PVL_BIT(PVL_X87);
    case ZYDIS_REGCLASS_XMM: case ZYDIS_REGCLASS_YMM: case ZYDIS_REGCLASS_ZMM:
        return PVL_BIT(PVL_XMM0 + ZydisRegisterGetId(r));
    case ZYDIS_REGCLASS_MASK:
        return PVL_BIT(PVL_KMASK);
    default:
        break;
    }
    switch (r) {
    case ZYDIS_REGISTER_MXCSR:
        return PVL_BIT(PVL_MXCSR);
    case ZYDIS_REGISTER_X87CONTROL: case ZYDIS_REGISTER_X87STATUS:
    case ZYDIS_REGISTER_X87TAG:
        return PVL_BIT(PVL_X87);
    default:
        return 0;
    }
}

static int is_sp(ZydisRegister r)
{
    return r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP;
}

static uint64_t writes_of(const ZydisDecodedInstruction *z, const ZydisDecodedOperand *ops)
{
    uint64_t w = 0;
    int pushes = 0;

    for (unsigned i = 0; i < z->operand_count; i++)
        if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) && is_sp(ops[i].reg.value))
            pushes = 1; /* a stack operation: its memory is at or below rsp */
    for (unsigned i = 0; i < z->operand_count; i++) {
        const ZydisDecodedOperand *o = &ops[i];
        if (!(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
            continue;
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER)
            w |= reg_state(o->reg.value);
        if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && is_sp(o->mem.base) &&
            (o->mem.index != ZYDIS_REGISTER_NONE || o->mem.disp.value < 0 ||
             (pushes && o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT)))
            w |= PVL_BIT(PVL_STACK);
    }
    if (z->cpu_flags && ((z->cpu_flags->modified | z->cpu_flags->set_0 | z->cpu_flags->set_1 |
                          z->cpu_flags->undefined) & ARITH_FLAGS))
        w |= PVL_BIT(PVL_FLAGS);
    return w;
}

int oracle_zydis_writes(const ZydisDecoder *zd, const uint8_t *buf, size_t n,
                        uint64_t *writes, size_t *len)
{
    ZydisDecodedInstruction z;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(zd, buf, n, &z, ops)))
        return -1;
    *writes = writes_of(&z, ops);
    *len = z.length;
    return 0;
}

/* What the core says, in the same terms: stack memory from an explicit
 * operand with base rsp below it (at depth 0). */
static uint64_t core_writes(const struct pvl_insn *in, const struct pvl_effect *e)
{
    uint64_t w = e->writes;

    if (e->wmem && in->base == PVL_RSP && (in->index != PVL_NOREG || in->disp < 0))
        w |= PVL_BIT(PVL_STACK);
    return w;
}

/* State names, from the core's one table. */
static void bits(char *buf, size_t n, uint64_t m)
{
    pvl_mask_format(m, " ", buf, n);
}

/* ------------------------------------------------------------------------
 * Forms: mnemonic plus the kinds of the explicit operands.
 */

static uint64_t form_key(const ZydisDecodedInstruction *z, const ZydisDecodedOperand *ops)
{
    uint64_t h = 0xcbf29ce484222325ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 0x100000001b3ull)
    MIX(z->mnemonic);
    for (unsigned i = 0; i < z->operand_count_visible; i++) {
        MIX(ops[i].type);
        MIX(ops[i].size);
        if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER)
            MIX(ZydisRegisterGetClass(ops[i].reg.value));
    }
#undef MIX
    return h | 1;
}

static void forms_add(struct oracle_forms *f, const ZydisDecodedInstruction *z,
                      const ZydisDecodedOperand *ops)
{
    uint64_t k = form_key(z, ops);

    if (!f->seen_mnemonic[z->mnemonic])
        f->seen_mnemonic[z->mnemonic] = 1, f->nmnemonics++;
    if (2 * (f->nforms + 1) > f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4096;
        uint64_t *s = calloc(cap, sizeof *s);
        for (size_t i = 0; i < f->cap; i++)
            if (f->set[i]) {
                size_t j = f->set[i] % cap;
                while (s[j])
                    j = (j + 1) % cap;
                s[j] = f->set[i];
            }
        free(f->set);
        f->set = s, f->cap = cap;
    }
    size_t j = k % f->cap;
    while (f->set[j] && f->set[j] != k)
        j = (j + 1) % f->cap;
    if (!f->set[j])
        f->set[j] = k, f->nforms++;
}

void oracle_forms_free(struct oracle_forms *f)
{
    free(f->set);
    memset(f, 0, sizeof *f);
}

static void hex(char *buf, size_t n, const uint8_t *p, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < len && k + 4 < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%02x ", p[i]);
}

int oracle_compare(const ZydisDecoder *zd, const uint8_t *buf, size_t n,
                   const struct pvl_insn *in, const struct pvl_effect *e,
                   struct oracle_diff *df, struct oracle_forms *forms)
{
    ZydisDecodedInstruction z;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    char h[64], a[200], b[200];
    uint64_t zw, cw;

    df->zydis_refused = 0, df->msg[0] = 0;
    hex(h, sizeof h, buf, in->len);
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(zd, buf, n, &z, ops)) || z.length != in->len) {
        df->zydis_refused = 1;
        snprintf(df->msg, sizeof df->msg, "%s: modelled by pvlink (length %u), but Zydis "
                 "%s", h, in->len, z.length != in->len ? "gives another length" : "refuses it");
        return 1;
    }
    if (forms)
        forms_add(forms, &z, ops);
    zw = writes_of(&z, ops);
    cw = core_writes(in, e);
    if (!(zw & ~cw))
        return 0;
    bits(a, sizeof a, zw & ~cw);
    bits(b, sizeof b, cw);
    snprintf(df->msg, sizeof df->msg, "%s(%s): Zydis says it writes %s, not in pvlink's %s", h,
             ZydisMnemonicGetString(z.mnemonic), a, b[0] ? b : "(nothing)");
    return 1;
}
