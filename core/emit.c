/*
 * The instruction emitter: NOP padding, the call form, breakpoints and far
 * jumps, and the map of where instructions start in bytes it will replace.
 */
#include "insn.h"
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

/* ------------------------------------------------------------------------
 * What the live protocol writes besides sites: breakpoints and far jumps,
 * and what it must know about the bytes a site holds.
 */

void pvl_emit_int3(uint8_t *p)
{
    p[0] = 0xcc;
}

/* ff 25 00 00 00 00 <target>: jmp *0(%rip), the address right after it. */
void pvl_emit_jmp_abs(uint8_t *p, uint64_t target)
{
    static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0};

    pvl__copy(p, jmp, sizeof jmp);
    for (int i = 0; i < 8; i++)
        p[6 + i] = (uint8_t)(target >> (8 * i));
}

int pvl_call_target(const uint8_t *p, size_t n, uint64_t at, uint64_t *target)
{
    uint32_t rel = 0;

    if (n < PVL_CALL_LEN || p[0] != 0xe8)
        return 0;
    for (int i = 0; i < 4; i++)
        rel |= (uint32_t)p[1 + i] << (8 * i);
    *target = at + PVL_CALL_LEN + (uint64_t)(int64_t)(int32_t)rel;
    return 1;
}

/* One of the NOP forms above, exactly. */
static int is_nop(const uint8_t *p, size_t len)
{
    return len >= 1 && len <= PVL_NOP_MAX && pvl__same(p, nops[len], len);
}

int pvl_code_map(const uint8_t *p, size_t n, uint64_t *starts, uint64_t *idle)
{
    struct pvl_insn in;
    int quiet = 1;

    *starts = 0, *idle = 1;
    if (n > 64) {
        *starts = ~0ull;
        return -1;
    }
    for (size_t off = 0; off < n; off += in.len) {
        *starts |= 1ull << off;
        if (!pvl_insn_decode(p + off, n - off, &in)) {
            *starts = n == 64 ? ~0ull : (1ull << n) - 1, *idle = 1;
            return -1;
        }
        quiet = quiet && is_nop(p + off, in.len);
        if (quiet && off + in.len < 64)
            *idle |= 1ull << (off + in.len);
    }
    return 0;
}
