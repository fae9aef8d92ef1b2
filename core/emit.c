/*
 * The instruction emitter: NOP padding and the call form.
 */
#include "internal.h"

/*
 * NOP forms by length, as GNU as emits them for .nops (and as the Intel SDM
 * recommends up to 9 bytes: 0f 1f /0 with growing ModRM/SIB/displacement,
 * 66 for one more byte).  10 and 11 add a CS override and a second 66.
 * Sites padded by the assembler and sites padded here are then identical.
 */
#define PVL_NOP_MAX 11
static const uint8_t nops[PVL_NOP_MAX + 1][PVL_NOP_MAX] = {
    [1] = {0x90},
    [2] = {0x66, 0x90},
    [3] = {0x0f, 0x1f, 0x00},
    [4] = {0x0f, 0x1f, 0x40, 0x00},
    [5] = {0x0f, 0x1f, 0x44, 0x00, 0x00},
    [6] = {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    [7] = {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
    [8] = {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    [9] = {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    [10] = {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    [11] = {0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

void pvl_emit_nops(uint8_t *p, size_t n)
{
    while (n) {
        size_t k = n > PVL_NOP_MAX ? PVL_NOP_MAX : n;
        pvl__copy(p, nops[k], k);
        p += k;
        n -= k;
    }
}

/*
 * e8 rel32: the displacement is relative to the end of the instruction,
 * rel = target - (at + 5), and must survive sign extension from 32 bits.
 * Computed in unsigned arithmetic so that no input overflows.
 */
pvl_result pvl_emit_call(uint8_t *p, uint64_t at, uint64_t target)
{
    uint64_t rel = target - (at + PVL_CALL_LEN);
    uint64_t biased = rel + 0x80000000ull; /* in [0, 2^32) iff it fits */

    if (biased > 0xffffffffull)
        return PVL_E_CALL_RANGE;
    p[0] = 0xe8;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (uint8_t)(rel >> (8 * i));
    return PVL_OK;
}
