/*
 * The effects model (core/effect.c) against Zydis: every instruction form
 * the decoder accepts, enumerated (the one-byte, 0F, 0F 38 and 0F 3A maps
 * x ModRM register and memory forms x mandatory and lock prefixes x REX),
 * and every one the model accepts must
 *   - be an instruction Zydis decodes, with the same length, and
 *   - write at least what Zydis says it writes: general registers (any
 *     width), the stack pointer, the arithmetic flags and DF, x87/MMX
 *     state, xmm/ymm/zmm registers, mask registers, MXCSR, and memory
 *     below the stack pointer.
 * System state (segment, control, debug and table registers, MSRs, XCR0,
 * PKRU, IF, AC) is the business of the operations themselves, not of the
 * clobber model, and is not compared.  The count of forms modelled is
 * printed: distinct Zydis mnemonics with distinct explicit operand kinds.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "../core/insn.h"
#include "effect_oracle.h"
#include "harness.h"

static ZydisDecoder zd;

/* ModRM variants: all register forms, and four memory forms per reg. */
struct mvar {
    uint8_t bytes[6];
    uint8_t n;
};

static size_t modrm_variants(struct mvar *v)
{
    size_t k = 0;

    for (unsigned m = 0xc0; m <= 0xff; m++)
        v[k++] = (struct mvar){{(uint8_t)m}, 1};
    for (unsigned r = 0; r < 8; r++) {
        uint8_t g = (uint8_t)(r << 3);
        v[k++] = (struct mvar){{g}, 1};                                  /* (%rax) */
        v[k++] = (struct mvar){{(uint8_t)(0x44 | g), 0x24, 0xf8}, 3};     /* -8(%rsp) */
        v[k++] = (struct mvar){{(uint8_t)(0x05 | g), 0, 0, 0, 0}, 5};     /* 0(%rip) */
        v[k++] = (struct mvar){{(uint8_t)(0x44 | g), 0x4d, 0x10}, 3};     /* 16(%rbp,%rcx,2) */
    }
    return k;
}

static const uint8_t prefixes[][2] = {{0}, {0x66}, {0xf3}, {0xf2}, {0xf0}, {0x66, 0xf2}};
static const uint8_t prefix_len[] = {0, 1, 1, 1, 1, 2};
static const uint8_t rexes[] = {0, 0x40, 0x45, 0x48, 0x4f};

struct tally {
    size_t tried, decoded, modelled, refused_named, zydis_refused, bad;
    struct oracle_forms forms;
};

static void check_one(const uint8_t *buf, size_t n, struct tally *t)
{
    struct pvl_insn in;
    struct pvl_effect e;
    struct oracle_diff df;

    t->tried++;
    if (!pvl_insn_decode(buf, n, &in))
        return;
    pvl_result r = pvl_insn_effect(&in, &e);
    if (r == PVL_E_INSN_STATE)
        t->refused_named++;
    if (r != PVL_OK)
        return;
    t->modelled++;
    if (oracle_compare(&zd, buf, n, &in, &e, &df, &t->forms) == 0)
        return;
    if (df.zydis_refused)
        t->zydis_refused++;
    if (getenv("PVL_ORACLE_ALL"))
        printf("DIFF %s\n", df.msg);
    if (t->bad++ < 25)
        t_fail(__FILE__, __LINE__, "%s", df.msg);
}

/* Every map, opcode, prefix, REX and ModRM variant. */
static void enumerate(struct tally *t)
{
    static struct mvar mv[64 + 32];
    size_t nmv = modrm_variants(mv);
    static const uint8_t esc[4][2] = {{0}, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}};
    static const uint8_t esc_len[4] = {0, 1, 2, 2};

    for (int map = 0; map < 4; map++)
        for (unsigned op = 0; op < 256; op++)
            for (size_t p = 0; p < sizeof prefix_len; p++)
                for (size_t x = 0; x < sizeof rexes; x++)
                    for (size_t v = 0; v < nmv; v++) {
                        uint8_t buf[32] = {0};
                        size_t n = 0;
                        memcpy(buf, prefixes[p], prefix_len[p]);
                        n += prefix_len[p];
                        if (rexes[x])
                            buf[n++] = rexes[x];
                        memcpy(buf + n, esc[map], esc_len[map]);
                        n += esc_len[map];
                        buf[n++] = (uint8_t)op;
                        size_t at = n;
                        memcpy(buf + n, mv[v].bytes, mv[v].n);
                        n += mv[v].n;
                        buf[n++] = 0x10; /* immediates: 0x10, then zeros */
                        struct pvl_insn in;
                        if (v > 0 && pvl_insn_decode(buf, 15, &in) && !in.has_modrm)
                            continue; /* no ModRM: one variant is enough */
                        (void)at;
                        check_one(buf, 15, t);
                    }
}

static void every_form(void)
{
    static struct tally t;

    ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    enumerate(&t);
    printf("  %zu encodings tried, %zu modelled, %zu refused as outside the model\n",
           t.tried, t.modelled, t.refused_named);
    printf("  forms modelled: %zu (distinct mnemonic and explicit operand kinds), "
           "%zu mnemonics\n", t.forms.nforms, t.forms.nmnemonics);
    CHECK_EQ(t.bad, 0);
    CHECK(t.forms.nforms > 1000);
    oracle_forms_free(&t.forms);
}

static int sweep_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct tally *t = arg;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        for (size_t off = 0; off < ph->p_filesz;) {
            struct pvl_insn in;
            size_t k = pvl_insn_decode(p + off, ph->p_filesz - off, &in);
            if (k) {
                t->decoded++;
                check_one(p + off, ph->p_filesz - off, t);
            }
            off += k ? k : 1;
        }
    }
    return 0;
}

/* Real compiler output: every instruction of the code loaded in this
 * process (the test, libc, Zydis) that the decoder accepts. */
static void loaded_code(void)
{
    static struct tally t;

    ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    dl_iterate_phdr(sweep_object, &t);
    printf("  loaded code: %zu instructions decoded, %zu modelled (%.2f%%)\n", t.decoded,
           t.modelled, 100.0 * (double)t.modelled / (double)(t.decoded ? t.decoded : 1));
    CHECK_EQ(t.bad, 0);
    CHECK(t.decoded > 100000);
    CHECK(t.modelled * 100 > t.decoded * 95);
    oracle_forms_free(&t.forms);
}

T_CASES(T(every_form), T(loaded_code))
