/*
 * Seed inputs for fuzz_link: a valid kernel-catalog ROM paired with a small
 * valid object holding two sites, so the fuzzer starts from inputs that get
 * past the first checks.  Usage: mkseed DIR
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel_ops.h>

#include "../../tools/romb.h"

static void *seed_rom(size_t *n)
{
    static struct romb b;
    romb_init(&b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    uint32_t t = romb_code(&b, "\xfa", 1);
    romb_op(&b, PVK_OP_IRQ_DISABLE, PVL_ACT_INLINE, t, 1, 0, ROMB_NONE, 0);
    uint32_t c = romb_code(&b, "\xc3", 1);
    romb_op(&b, PVK_OP_READ_CR3, PVL_ACT_CALL, 0, 0, 0, c, PVL_CLB(RAX) | PVL_CLB(STACK));
    romb_op(&b, PVK_OP_IO_DELAY, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
    return romb_finish(&b, n);
}

/* count | exec lo, hi (u16 at 4, 6) | 2 records at 16 | descriptor at 80 |
 * text at 128 | orig at 160 */
static size_t seed_object(uint8_t *o)
{
    struct pvl_site *r = (struct pvl_site *)(o + 16);
    const struct pvl_iface_desc d = {PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                     PVK_IFACE_NAME, 1, 0, PVK_NOPS};
    uint16_t lo = 128, hi = 160;

    memset(o, 0, 192);
    o[0] = 2;
    memcpy(o + 4, &lo, 2), memcpy(o + 6, &hi, 2);
    memcpy(o + 80, &d, sizeof d);
    memcpy(o + 128, "\xfa\x0f\x1f\x40\x00\x0f\x20\xd8\x66\x90", 10);
    memcpy(o + 160, o + 128, 10);
    for (int i = 0; i < 2; i++) {
        uint8_t *rec = (uint8_t *)&r[i];
        r[i].addr = (int32_t)(128 + 5 * i - (rec - o));
        r[i].orig = (int32_t)(160 + 5 * i - (rec + 4 - o));
        r[i].iface = (int32_t)(80 - (rec + 12 - o));
        r[i].op = i ? PVK_OP_READ_CR3 : PVK_OP_IRQ_DISABLE;
        r[i].room = 5;
        r[i].clobbers = i ? PVK_CLB_SAVE_RAX : PVK_CLB_SAVE;
    }
    return 192;
}

int main(int argc, char **argv)
{
    uint8_t obj[192];
    size_t rn, on = seed_object(obj);
    uint8_t *rom = seed_rom(&rn);
    char path[4096];
    uint32_t split = (uint32_t)rn;

    if (argc != 2)
        errx(2, "usage: mkseed DIR");
    snprintf(path, sizeof path, "%s/rom-and-object", argv[1]);
    FILE *f = fopen(path, "wb");
    if (!f)
        err(1, "mkseed: %s", path);
    fwrite(&split, 4, 1, f);
    fwrite(rom, rn, 1, f);
    fwrite(obj, on, 1, f);
    fclose(f);
    free(rom);
    return 0;
}
