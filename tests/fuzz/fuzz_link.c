/*
 * libFuzzer target over everything the linker takes from outside: a ROM
 * image, a site table with the object it points into, and templates.
 *
 * Input layout: u32 split | ROM image (split bytes) | object.
 * The object starts with a u16 record count, then the executable range
 * (u16 start and end offsets at 4 and 6); records follow at offset 16;
 * every byte after that is text, copies and descriptors as the records
 * say.  The object is linked (really written, in a buffer of exactly its
 * size, so ASan sees any write outside) against the ROM if it loads, and
 * unlinked.
 */
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel_ops.h>
#include <pvlink/link.h>

#include "../../core/insn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OBJ_MAX 65536

static void link_object(const uint8_t *obj, size_t n, const struct pvl_env *env,
                        const struct pvl_iface *iface)
{
    uint8_t *mem;
    uint16_t count, xlo, xhi;
    uint32_t scratch[256];
    struct pvl_refusal ref[4];
    struct pvl_report rep = {.refused = ref, .refused_cap = 4};

    if (n < 16 || n > OBJ_MAX)
        return;
    mem = aligned_alloc(8, (n + 7) & ~(size_t)7);
    memcpy(mem, obj, n);
    memcpy(&count, mem, 2);
    memcpy(&xlo, mem + 4, 2), memcpy(&xhi, mem + 6, 2);
    count %= 256;
    struct pvl_range exec = {(uintptr_t)mem + xlo % n, (uintptr_t)mem + xhi % (n + 1)};
    struct pvl_link l = {.sites = (const struct pvl_site *)(mem + 16), .nsites = count,
                         .lo = (uintptr_t)mem, .hi = (uintptr_t)mem + n,
                         .exec = &exec, .nexec = 1,
                         .bias = 0x400000 - (int64_t)(uintptr_t)mem, .iface = iface,
                         .env = env, .report = &rep, .scratch = (mem[2] & 1) ? scratch : NULL};
    pvl_link(&l);
    l.env = NULL;
    pvl_link(&l);
    free(mem);
}

/* The decoder never claims more bytes than it was given. */
static void decode_all(const uint8_t *p, size_t n)
{
    struct pvl_insn in;
    for (size_t off = 0; off < n; off++) {
        size_t len = pvl_insn_decode(p + off, n - off, &in);
        if (len > n - off || len > 15)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct pvl_iface *ifaces[] = {&pvl_kernel_iface};
    struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    struct pvl_diag d = {0};
    uint32_t split;
    char msg[200];

    if (size < 4)
        return 0;
    memcpy(&split, data, 4);
    data += 4, size -= 4;
    split = size ? split % (uint32_t)(size + 1) : 0;

    uint8_t *rom = malloc(split ? split : 1);
    memcpy(rom, data, split);
    pvl_tmpl_check(rom, split, 0, NULL, &d);
    struct pvl_callcode cc = {rom, split, (int)(split & 1), NULL, NULL, NULL, 0};
    if ((split & 3) == 3) /* open code entered in the middle, code below it */
        cc.code = rom + split / 2, cc.len = split - split / 2, cc.before = split / 2,
        cc.open |= PVL_CODE_BEFORE;
    if (split)
        pvl_call_check(&cc, PVL_CLB_C, NULL, &d);
    pvl_diag_format(&d, msg, sizeof msg);
    decode_all(rom, split);
    for (size_t i = 0; i < sizeof ifaces / sizeof ifaces[0]; i++) {
        pvl_result r = pvl_rom_load(rom, split, 0x10000000, ifaces[i], impl, &env, &d);
        if (r != PVL_OK)
            pvl_diag_format(&d, msg, sizeof msg);
        link_object(data + split, size - split, r == PVL_OK ? &env : NULL, ifaces[i]);
    }
    free(rom);
    return 0;
}
