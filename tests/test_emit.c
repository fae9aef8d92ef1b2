/*
 * The emitter against reference bytes: NOP padding of every length against
 * what GNU as emits (tests/golden/nops.txt), and the call form at both ends
 * of the rel32 range.
 */
#include <stdlib.h>
#include <string.h>

#include <pvlink/link.h>

#include "../core/insn.h"
#include "harness.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    unsigned v;
    while (sscanf(s + 2 * n, "%2x", &v) == 1)
        out[n++] = (uint8_t)v;
    return n;
}

static void nops_match_gas(void)
{
    FILE *f = fopen("tests/golden/nops.txt", "r");
    char line[512], hex[400];
    uint8_t want[PVL_ROOM_MAX], got[PVL_ROOM_MAX + 1];
    int len, seen = 0;

    if (!f) {
        t_fail(__FILE__, __LINE__, "cannot open tests/golden/nops.txt");
        return;
    }
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%d %399s", &len, hex) != 2)
            continue;
        CHECK_EQ(unhex(hex, want), len);
        memset(got, 0xaa, sizeof got);
        pvl_emit_nops(got, (size_t)len);
        CHECK_BYTES(got, want, (size_t)len);
        CHECK_EQ(got[len], 0xaa); /* nothing past the end */
        seen++;
    }
    fclose(f);
    CHECK_EQ(seen, PVL_ROOM_MAX);
}

/* Every NOP run decodes as a sequence of plain instructions. */
static void nops_decode(void)
{
    uint8_t buf[PVL_ROOM_MAX];
    for (size_t n = 1; n <= PVL_ROOM_MAX; n++) {
        pvl_emit_nops(buf, n);
        CHECK_EQ(pvl_tmpl_check(buf, n, 0, NULL, NULL), PVL_OK); /* NOPs write nothing */
    }
}

static void call_in_range(void)
{
    uint8_t b[5];
    const uint64_t at = 0x400000;

    CHECK_EQ(pvl_emit_call(b, at, at + 5), PVL_OK);
    CHECK_BYTES(b, "\xe8\x00\x00\x00\x00", 5);
    CHECK_EQ(pvl_emit_call(b, at, at), PVL_OK); /* call to itself: -5 */
    CHECK_BYTES(b, "\xe8\xfb\xff\xff\xff", 5);
    /* the far ends: rel = INT32_MAX and rel = INT32_MIN */
    CHECK_EQ(pvl_emit_call(b, at, at + 5 + 0x7fffffffull), PVL_OK);
    CHECK_BYTES(b, "\xe8\xff\xff\xff\x7f", 5);
    CHECK_EQ(pvl_emit_call(b, 0x100000000ull, 0x100000005ull - 0x80000000ull), PVL_OK);
    CHECK_BYTES(b, "\xe8\x00\x00\x00\x80", 5);
}

static void call_out_of_range(void)
{
    uint8_t b[5] = {1, 2, 3, 4, 5};
    const uint64_t at = 0x100000000ull;

    CHECK_EQ(pvl_emit_call(b, at, at + 5 + 0x80000000ull), PVL_E_CALL_RANGE);
    CHECK_EQ(pvl_emit_call(b, at, at + 5 - 0x80000001ull), PVL_E_CALL_RANGE);
    CHECK_EQ(pvl_emit_call(b, 0, 0xffffffff00000000ull), PVL_E_CALL_RANGE);
    CHECK_EQ(pvl_emit_call(b, 0xfffffffffffffff0ull, 0x10), PVL_OK); /* wraps: +27 */
    CHECK_BYTES(b, "\xe8\x1b\x00\x00\x00", 5);
    uint8_t c[5] = {1, 2, 3, 4, 5};
    CHECK_EQ(pvl_emit_call(c, 0, 0x80000005ull), PVL_E_CALL_RANGE); /* rel 2^31 */
    CHECK_BYTES(c, "\x01\x02\x03\x04\x05", 5); /* refused: untouched */
}

static void breakpoint_and_far_jump(void)
{
    uint8_t b[PVL_JMP_ABS_LEN + 1];

    memset(b, 0xaa, sizeof b);
    pvl_emit_int3(b);
    CHECK_BYTES(b, "\xcc\xaa", 2);
    pvl_emit_jmp_abs(b, 0x1122334455667788ull);
    CHECK_BYTES(b, "\xff\x25\x00\x00\x00\x00\x88\x77\x66\x55\x44\x33\x22\x11\xaa",
                PVL_JMP_ABS_LEN + 1);
}

/* pvl_call_target reads back what pvl_emit_call wrote, nothing else. */
static void call_target(void)
{
    uint8_t b[8];
    uint64_t t = 0;

    CHECK_EQ(pvl_emit_call(b, 0x400000, 0x400000 - 0x1000), PVL_OK);
    CHECK_EQ(pvl_call_target(b, 5, 0x400000, &t), 1);
    CHECK_EQ(t, 0x400000 - 0x1000);
    CHECK_EQ(pvl_call_target(b, 4, 0x400000, &t), 0); /* too short */
    pvl_emit_nops(b, 5);
    t = 7;
    CHECK_EQ(pvl_call_target(b, 5, 0x400000, &t), 0);
    CHECK_EQ(t, 7);
}

/* Instruction starts and NOP prefixes of site-shaped code. */
static void code_map(void)
{
    uint8_t b[64];
    uint64_t starts, idle;

    /* NOPs (11) then a call: starts at 0, 11; idle up to 11 */
    pvl_emit_nops(b, 11);
    CHECK_EQ(pvl_emit_call(b + 11, 0x1000 + 11, 0x2000), PVL_OK);
    CHECK_EQ(pvl_code_map(b, 16, &starts, &idle), 0);
    CHECK_EQ(starts, (1ull << 0) | (1ull << 11));
    CHECK_EQ(idle, (1ull << 0) | (1ull << 11));
    /* lea (%rdi,%rdi),%rax; nop: starts at 0, 4; only the empty prefix idle */
    memcpy(b, "\x48\x8d\x04\x3f\x90", 5);
    CHECK_EQ(pvl_code_map(b, 5, &starts, &idle), 0);
    CHECK_EQ(starts, 0x11);
    CHECK_EQ(idle, 1);
    /* 20 bytes of NOPs: 11 + 9, idle everywhere an instruction starts */
    pvl_emit_nops(b, 20);
    CHECK_EQ(pvl_code_map(b, 20, &starts, &idle), 0);
    CHECK_EQ(starts, (1ull << 0) | (1ull << 11));
    CHECK_EQ(idle, (1ull << 0) | (1ull << 11) | (1ull << 20));
    /* 0x41 0x90 is xchg %eax,%r8d, not a NOP */
    memcpy(b, "\x41\x90\x90", 3);
    CHECK_EQ(pvl_code_map(b, 3, &starts, &idle), 0);
    CHECK_EQ(starts, 0x5);
    CHECK_EQ(idle, 1);
    /* undecodable (VEX): every byte may be a start */
    memcpy(b, "\xc5\xf8\x77\x90", 4);
    CHECK_EQ(pvl_code_map(b, 4, &starts, &idle), -1);
    CHECK_EQ(starts, 0xf);
    CHECK_EQ(idle, 1);
    CHECK_EQ(pvl_code_map(b, 65, &starts, &idle), -1);
    CHECK_EQ(starts, ~0ull);
}

T_CASES(T(nops_match_gas), T(nops_decode), T(call_in_range), T(call_out_of_range),
        T(breakpoint_and_far_jump), T(call_target), T(code_map))
