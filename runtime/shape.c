/*
 * How one site may change under running threads: which offsets get an
 * int3 while it is written, at which ones a thread must be moved, and how
 * a thread that meets an int3 runs the old code (see internal.h).
 *
 * The old code runs either emulated (NOPs, or NOPs and one call: the
 * handler skips the NOPs and makes the call, like Linux's int3 handler
 * for text_poke_bp) or from a copy, which must then be code that runs
 * the same at any address: it passes pvl_tmpl_check.
 */
#include <string.h>

#include "internal.h"

static int all_nops(const uint8_t *b, unsigned n)
{
    uint8_t nops[PVL_ROOM_MAX];

    pvl_emit_nops(nops, n);
    return memcmp(b, nops, n) == 0;
}

/* NOPs only, or NOPs and a call at either end: emulated, no copy. */
static int emulated(const uint8_t *old, unsigned room, uintptr_t addr, struct pvr_shape *sh)
{
    unsigned rest = room >= PVL_CALL_LEN ? room - PVL_CALL_LEN : 0;
    uint64_t t;

    if (all_nops(old, room)) {
        sh->kind = PVR_EMU_NOPS;
        return 1;
    }
    if (room < PVL_CALL_LEN)
        return 0;
    if (all_nops(old, rest) && pvl_call_target(old + rest, PVL_CALL_LEN, addr + rest, &t)) {
        sh->kind = PVR_EMU_CALL, sh->call_at = (uint8_t)rest, sh->call = t;
        return 1;
    }
    if (all_nops(old + PVL_CALL_LEN, rest) && pvl_call_target(old, room, addr, &t)) {
        sh->kind = PVR_EMU_CALL, sh->call_at = 0, sh->call = t;
        return 1;
    }
    return 0;
}

pvl_result pvr__shape(const uint8_t *old, const uint8_t *new, unsigned room, uintptr_t addr,
                      struct pvr_shape *sh)
{
    uint64_t so, io, sn, in;

    *sh = (struct pvr_shape){.guards = 1, .kind = PVR_COPY};
    pvl_code_map(old, room, &so, &io);
    pvl_code_map(new, room, &sn, &in);
    sh->idle = io;
    for (unsigned p = 1; p < room; p++) {
        uint64_t bit = 1ull << p;
        if (!(so & bit))
            continue;
        if ((sn & bit) && memcmp(old + p, new + p, room - p) == 0)
            continue; /* safe: the rest does not change */
        if ((sn & bit) && (io & bit) && (in & bit))
            sh->guards |= bit;
        else
            sh->risky |= bit;
    }
    if (emulated(old, room, addr, sh))
        return PVL_OK;
    /* a copy: whatever it writes (the site allowed it), it must run the
     * same at another address */
    return pvl_tmpl_check(old, room, ~0ull, NULL, NULL);
}
