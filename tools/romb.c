#include "romb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/link.h>

#define ALIGN16(x) (((x) + 15u) & ~(size_t)15u)
#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

static void full(const char *what)
{
    fprintf(stderr, "romb: %s full\n", what);
    abort();
}

void romb_init(struct romb *b, const char *iface, uint16_t major,
               uint16_t minor)
{
    memset(b, 0, sizeof *b);
    snprintf(b->iface, sizeof b->iface, "%s", iface);
    b->major = major, b->minor = minor;
}

uint32_t romb_code(struct romb *b, const void *bytes, size_t n)
{
    size_t off = ALIGN16(b->ncode);

    if (n > ROMB_MAX_CODE - off)
        full("code area");
    if (b->npiece == ROMB_MAX_PIECES)
        full("piece list");
    memset(b->code + b->ncode, 0xcc, off - b->ncode); /* int3 between pieces */
    memcpy(b->code + off, bytes, n);
    b->ncode = off + n;
    b->piece[b->npiece].off = (uint32_t)off;
    b->piece[b->npiece++].len = (uint32_t)n;
    return (uint32_t)off;
}

void romb_data(struct romb *b, const void *bytes, size_t n)
{
    if (n > ROMB_MAX_CODE - b->ncode)
        full("code area");
    memcpy(b->code + b->ncode, bytes, n);
    b->ncode += n;
}

static uint32_t piece_len(const struct romb *b, uint32_t off)
{
    for (size_t i = 0; i < b->npiece; i++)
        if (b->piece[i].off == off)
            return b->piece[i].len;
    return 0;
}

struct pvl_rom_entry *romb_op(struct romb *b, uint16_t op, int action, uint32_t tmpl,
                              uint8_t tmpl_len, uint64_t tmpl_clobbers, uint32_t call,
                              uint64_t call_clobbers)
{
    if (b->nent == ROMB_MAX_ENTRIES)
        full("entry table");
    /* offsets are code-relative until romb_finish rebases them; call_off
     * 0 means none in the image, so keep "none" as ROMB_NONE here */
    b->ent[b->nent] = (struct pvl_rom_entry){
        .op = op, .action = (uint8_t)action, .tmpl_len = tmpl_len,
        .tmpl_off = tmpl_len ? tmpl : 0, .tmpl_clobbers = tmpl_clobbers,
        .call_off = call, .call_len = call == ROMB_NONE ? 0 : piece_len(b, call),
        .call_clobbers = call_clobbers};
    return &b->ent[b->nent++];
}

void romb_probe(struct romb *b, uint32_t off)
{
    b->probe = off, b->probe_len = piece_len(b, off);
}

void romb_gates(struct romb *b, uint64_t writes)
{
    b->gates = writes;
}

static int by_op(const void *a, const void *b)
{
    const struct pvl_rom_entry *x = a, *y = b;
    return (int)x->op - (int)y->op;
}

void *romb_finish(const struct romb *b, size_t *size)
{
    size_t tab = ALIGN8(sizeof(struct pvl_rom_header));
    size_t code = ALIGN16(tab + b->nent * sizeof(struct pvl_rom_entry));
    size_t total = ALIGN16(code + b->ncode);
    uint8_t *img = calloc(1, total);
    struct pvl_rom_header *h = (struct pvl_rom_header *)img;
    struct pvl_rom_entry *t = (struct pvl_rom_entry *)(img + tab);

    if (!img)
        return NULL;
    *h = (struct pvl_rom_header){
        .magic = PVL_ROM_MAGIC, .format_major = PVL_FORMAT_MAJOR,
        .format_minor = PVL_FORMAT_MINOR, .iface_major = b->major,
        .iface_minor = b->minor, .size = (uint32_t)total,
        .table_off = (uint32_t)tab, .table_count = (uint32_t)b->nent,
        .probe_off = b->probe_len ? b->probe + (uint32_t)code : 0,
        .probe_len = b->probe_len, .flags = b->gates ? PVL_ROM_GATES : 0,
        .gate_writes = b->gates};
    memcpy(h->iface, b->iface, sizeof h->iface);
    memcpy(t, b->ent, b->nent * sizeof *t);
    qsort(t, b->nent, sizeof *t, by_op);
    for (size_t i = 0; i < b->nent; i++) {
        if (t[i].tmpl_len)
            t[i].tmpl_off += (uint32_t)code;
        t[i].call_off = t[i].call_off == ROMB_NONE ? 0 : t[i].call_off + (uint32_t)code;
    }
    memcpy(img + code, b->code, b->ncode);
    pvl_rom_seal(img, total);
    *size = total;
    return img;
}
