/*
 * libFuzzer target for the effects model: every instruction the core's
 * decoder accepts and whose effects it models, at every offset of the
 * input, must be one Zydis decodes to the same length, and what the core
 * says it writes must include everything Zydis says it writes (the
 * invariant of tests/test_effect.c, on arbitrary bytes).
 */
#include <stdio.h>
#include <stdlib.h>

#include "../effect_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        if (!n || pvl_insn_effect(&in, &e) != PVL_OK)
            continue;
        if (oracle_compare(&zd, data + off, size - off, &in, &e, &df, NULL)) {
            fprintf(stderr, "effects oracle: %s\n", df.msg);
            abort();
        }
    }
    return 0;
}
