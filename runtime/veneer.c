/*
 * Veneers: a call into a provider whose function lies beyond rel32 reach
 * of an object (a shared object mapped far from the executable, say) goes
 * to an absolute jump (pvl_emit_jmp_abs) in a page mapped within reach of
 * every byte of the object, wherever the object is.  Veneers are reused
 * per target and live as long as the object: a site may point at one at
 * any time.  Adding one writes only bytes no thread runs yet, through
 * code.c (so also where writable executable memory is refused).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define VENEER_SIZE 16
#define PAGE_BYTES 4096
#define PER_PAGE (PAGE_BYTES / VENEER_SIZE)

struct pvr_veneer_page {
    struct pvr_veneer_page *next;
    struct pvr_code code;
    uint64_t target[PER_PAGE];
    unsigned n;
};

static uint64_t lookup(const struct pvr_obj *o, uint64_t target)
{
    for (const struct pvr_veneer_page *p = o->veneers; p; p = p->next)
        for (unsigned i = 0; i < p->n; i++)
            if (p->target[i] == target)
                return (uint64_t)(uintptr_t)(p->code.p + i * VENEER_SIZE);
    return 0;
}

/* A page of breakpoints within reach of the object. */
static struct pvr_veneer_page *page_with_room(struct pvr_obj *o, struct pvr_error *err)
{
    struct pvr_veneer_page *p = o->veneers;
    uint8_t traps[PAGE_BYTES];

    if (p && p->n < PER_PAGE)
        return p;
    if (!(p = calloc(1, sizeof *p))) {
        pvr__fail(err, PVL_E_WRITE, ENOMEM, "out of memory for a veneer");
        return NULL;
    }
    for (size_t i = 0; i < sizeof traps; i++)
        pvl_emit_int3(traps + i);
    if (pvr__code_new(&p->code, traps, sizeof traps, o->lo, o->hi, err) != PVL_OK) {
        free(p);
        return NULL;
    }
    p->next = o->veneers;
    o->veneers = p;
    return p;
}

uint64_t pvr__veneer(struct pvr_obj *o, uint64_t target, struct pvr_error *err)
{
    struct pvr_veneer_page *p;
    uint8_t v[PVL_JMP_ABS_LEN];
    uint64_t have = lookup(o, target);

    if (have)
        return have;
    if (!(p = page_with_room(o, err)))
        return 0;
    pvl_emit_jmp_abs(v, target);
    if (pvr__code_put(&p->code, p->n * VENEER_SIZE, v, sizeof v) != 0) {
        pvr__fail(err, PVL_E_WRITE, 0, "cannot write a veneer");
        return 0;
    }
    p->target[p->n++] = target;
    return (uint64_t)(uintptr_t)(p->code.p + (p->n - 1) * VENEER_SIZE);
}

void pvr__veneers_free(struct pvr_obj *o)
{
    while (o->veneers) {
        struct pvr_veneer_page *p = o->veneers;
        o->veneers = p->next;
        pvr__code_free(&p->code);
        free(p);
    }
}
