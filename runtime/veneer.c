/*
 * Veneers: a call into a provider whose function lies beyond rel32 reach
 * of an object (a shared object mapped far from the executable, say) goes
 * to `jmp *0(%rip); .quad target` in a page mapped within 1 GiB of the
 * object.  Veneers are reused per target and live as long as the object:
 * a site may point at one at any time.  The page keeps PROT_EXEC while a
 * veneer is added, since threads may be jumping through its others.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "image.h"
#include "internal.h"

#define VENEER_SIZE 16
#define PAGE_BYTES 4096
#define PER_PAGE (PAGE_BYTES / VENEER_SIZE)

struct pvr_veneer_page {
    struct pvr_veneer_page *next;
    uint8_t *code;
    uint64_t target[PER_PAGE];
    unsigned n;
};

static uint64_t lookup(const struct pvr_obj *o, uint64_t target)
{
    for (const struct pvr_veneer_page *p = o->veneers; p; p = p->next)
        for (unsigned i = 0; i < p->n; i++)
            if (p->target[i] == target)
                return (uint64_t)(uintptr_t)(p->code + i * VENEER_SIZE);
    return 0;
}

static struct pvr_veneer_page *page_with_room(struct pvr_obj *o)
{
    struct pvr_veneer_page *p = o->veneers;

    if (p && p->n < PER_PAGE)
        return p;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    if (!(p->code = pvr_map_near((const void *)o->lo, PAGE_BYTES))) {
        free(p);
        return NULL;
    }
    if (mprotect(p->code, PAGE_BYTES, PROT_READ | PROT_EXEC) != 0) {
        munmap(p->code, PAGE_BYTES);
        free(p);
        return NULL;
    }
    p->next = o->veneers;
    o->veneers = p;
    return p;
}

uint64_t pvr__veneer(struct pvr_obj *o, uint64_t target)
{
    static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0}; /* jmp *0(%rip) */
    struct pvr_veneer_page *p;
    uint8_t *v;
    uint64_t have = lookup(o, target);

    if (have)
        return have;
    if (!(p = page_with_room(o)))
        return 0;
    v = p->code + p->n * VENEER_SIZE;
    if (mprotect(p->code, PAGE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return 0;
    memcpy(v, jmp, sizeof jmp);
    memcpy(v + sizeof jmp, &target, sizeof target);
    memset(v + 14, 0xcc, VENEER_SIZE - 14);
    mprotect(p->code, PAGE_BYTES, PROT_READ | PROT_EXEC);
    p->target[p->n++] = target;
    return (uint64_t)(uintptr_t)v;
}

void pvr__veneers_free(struct pvr_obj *o)
{
    while (o->veneers) {
        struct pvr_veneer_page *p = o->veneers;
        o->veneers = p->next;
        munmap(p->code, PAGE_BYTES);
        free(p);
    }
}
