/*
 * libFuzzer target for the effects model: every instruction the core's
 * decoder accepts and whose effects it models, at every offset of the
 * input, must be one Zydis decodes to the same length, and what the core
 * says it writes must include everything Zydis says it writes (the
 * invariant of tests/test_effect.c, on arbitrary bytes); a VEX or EVEX
 * instruction it refuses must be measured as Zydis decodes it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../effect_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A VEX or EVEX instruction the decoder refused but measured: within the
 * input and 15 bytes, and as long as Zydis says (Knights Corner's forms,
 * no x86-64 CPU's, set aside). */
static void vex_measured(const ZydisDecoder *zd, const uint8_t *p, size_t n,
                         const struct pvl_insn *in)
{
    ZydisDecodedInstruction z;

    if (!in->len || in->len > n || in->len > 15)
        abort();
    if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(zd, NULL, p, n, &z)) &&
        !(z.meta.isa_ext >= ZYDIS_ISA_EXT_KNC && z.meta.isa_ext <= ZYDIS_ISA_EXT_KNCV) &&
        z.length != in->len) {
        fprintf(stderr, "VEX measured as %u bytes, Zydis says %u\n", in->len, z.length);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ZydisDecoder zd;
    static int ready;

    if (!ready) {
        ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        ready = 1;
    }
    for (size_t off = 0; off < size && off < 64; off++) {
        struct pvl_insn in;
        struct pvl_effect e;
        struct oracle_diff df;
        size_t n = pvl_insn_decode(data + off, size - off, &in);
        if (n > size - off || n > 15)
            abort();
        if (!n && in.vex)
            vex_measured(&zd, data + off, size - off, &in);
        if (!n || pvl_insn_effect(&in, &e) != PVL_OK)
            continue;
        if (oracle_compare(&zd, data + off, size - off, &in, &e, &df, NULL)) {
            fprintf(stderr, "effects oracle: %s\n", df.msg);
            abort();
        }
    }
    return 0;
}
