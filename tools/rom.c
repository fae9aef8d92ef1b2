/*
 * ROM images as the tool sees them: the catalog to check one against,
 * and the check itself (pvl_rom_load, the linker's own validation).
 */
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

#define HDR sizeof(struct pvl_rom_header)
#define ENT sizeof(struct pvl_rom_entry)

const char *pvt_rom_header_iface(const uint8_t *img, size_t len)
{
    const char *name = (const char *)img + offsetof(struct pvl_rom_header, iface);

    if (len < HDR || !memchr(name, '\0', PVL_IFACE_NAME_MAX))
        return NULL;
    return name;
}

/*
 * Operations a synthesized catalog needs: one more than the highest
 * operation in the table, counting only entries inside the file (the
 * table is not validated yet; pvl_rom_load does that).
 */
static uint32_t table_nops(const struct pvl_rom_header *h, const uint8_t *img,
                           size_t len)
{
    uint32_t nops = 0;

    for (uint64_t i = 0; i < h->table_count; i++) {
        uint64_t off = (uint64_t)h->table_off + i * ENT;
        uint16_t op;
        if (off > len || ENT > len - off)
            break;
        memcpy(&op, img + off + offsetof(struct pvl_rom_entry, op), sizeof op);
        if ((uint32_t)op + 1 > nops)
            nops = (uint32_t)op + 1;
    }
    return nops;
}

static void choose_catalog(struct pvt_rom *r, const struct pvt_iface *bin)
{
    const char *name = pvt_rom_header_iface(r->img, r->len);

    /* not a ROM at all: any catalog will do for pvl_rom_load to say why */
    r->iface = &pvl_kernel_iface;
    if (!name || !r->has_header || r->h.magic != PVL_ROM_MAGIC)
        return;
    if ((r->iface = pvt_catalog_find(name)))
        return;
    if (bin && bin->major == r->h.iface_major) {
        pvt_synth_init(&r->synth, name, bin->major, bin->minor, bin->nops);
        r->synthesized = 2;
    } else {
        pvt_synth_init(&r->synth, name, r->h.iface_major, r->h.iface_minor,
                       table_nops(&r->h, r->img, r->len));
        r->synthesized = 1;
    }
    r->iface = &r->synth.iface;
}

pvl_result pvt_rom_load(struct pvt_rom *r, const uint8_t *img, size_t len,
                        uint64_t addr, const struct pvt_iface *bin)
{
    memset(r, 0, sizeof *r);
    r->img = img, r->len = len;
    if (len >= HDR) {
        memcpy(&r->h, img, HDR);
        r->has_header = 1;
        pvt_printable(r->iface_name, sizeof r->iface_name, r->h.iface,
                      PVL_IFACE_NAME_MAX);
    }
    choose_catalog(r, bin);
    r->impl = pvt_xcalloc(r->iface->nops, sizeof *r->impl);
    r->result = pvl_rom_load(img, len, addr, r->iface, r->impl, &r->env,
                             &r->diag);
    return r->result;
}

void pvt_rom_free(struct pvt_rom *r)
{
    free(r->impl);
    if (r->synthesized)
        pvt_synth_free(&r->synth);
    memset(r, 0, sizeof *r);
}

void pvt_rom_describe_catalog(const struct pvt_rom *r, char *buf, size_t n)
{
    if (!r->synthesized)
        snprintf(buf, n, "checked against pvlink's catalog (%u operations)",
                 r->iface->nops);
    else
        snprintf(buf, n, "not built into pvlink: checked against a catalog "
                         "synthesized from %s (%u operations named op<N>; "
                         "results and native code unknown)",
                 r->synthesized == 1 ? "the ROM header" :
                                       "the binary's interface descriptor",
                 r->iface->nops);
}
