/*
 * Fuzz pvlink-spt's instruction decoder (monitor/spt/decode.c), which reads
 * bytes the guest controls.  Input: one byte of mode (bit 0: 64-bit code),
 * then at most 15 instruction bytes, copied to a buffer of exactly that
 * size so that ASan sees any read past them.  Invariants: a decoded
 * instruction is 1..n bytes long, and in 64-bit mode the core's length
 * decoder (which pvlink-spt checks it against) finds the same length or
 * none.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/insn.h"
#include "../../monitor/spt/spt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spt_regs r = {.rip = 0xffffffff00000ull, .mode64 = size ? data[0] & 1 : 0};
    size_t n = size > 16 ? 15 : size ? size - 1 : 0;
    uint8_t *p = malloc(n ? n : 1);
    struct spt_insn in;
    struct pvl_insn ci;

    for (int i = 0; i < 16; i++)
        r.gpr[i] = 0x0123456789abcdefull * (uint64_t)(i + 1);
    memcpy(p, data + (size ? 1 : 0), n);
    if (spt_decode(&r, p, (unsigned)n, &in) == SPT_DEC_OK) {
        if (in.len < 1 || in.len > n)
            abort();
        if (r.mode64) {
            size_t cl = pvl_insn_decode(p, n, &ci);
            if (cl && cl != in.len)
                abort();
        }
    }
    free(p);
    return 0;
}
