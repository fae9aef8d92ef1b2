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

T_CASES(T(nops_match_gas), T(nops_decode), T(call_in_range), T(call_out_of_range))
