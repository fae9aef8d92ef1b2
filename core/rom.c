/*
 * ROM images: checksum and validation.  The image is untrusted; every
 * field is checked before anything in it is used, and the first problem is
 * reported with the field that holds it.
 */
#include "internal.h"

#define CSUM_OFF offsetof(struct pvl_rom_header, checksum)

uint32_t pvl_rom_checksum(const void *img, size_t size)
{
    const uint8_t *p = img;
    uint32_t h = 0x811c9dc5u; /* FNV-1a offset basis */

    for (size_t i = 0; i < size; i++) {
        uint8_t b = (i >= CSUM_OFF && i < CSUM_OFF + 4) ? 0 : p[i];
        h = (h ^ b) * 0x01000193u; /* FNV prime */
    }
    return h;
}

pvl_result pvl_rom_seal(void *img, size_t len)
{
    struct pvl_rom_header *h = img;

    if (len < sizeof *h)
        return PVL_E_ROM_SHORT;
    if (h->size < sizeof *h || h->size > len)
        return PVL_E_ROM_SIZE;
    h->checksum = pvl_rom_checksum(img, h->size);
    return PVL_OK;
}

/* The header on its own: magic, format, size, checksum, reserved fields. */
static pvl_result check_header(const struct pvl_rom_header *h, size_t len,
                               struct pvl_diag *d)
{
    if (h->magic != PVL_ROM_MAGIC)
        return pvl__fail(d, PVL_E_ROM_MAGIC, "header.magic", PVL_NOINDEX, h->magic);
    if (h->format_major != PVL_FORMAT_MAJOR)
        return pvl__fail(d, PVL_E_ROM_FORMAT, "header.format_major", PVL_NOINDEX,
                         h->format_major);
    if (h->size < sizeof *h || h->size > len)
        return pvl__fail(d, PVL_E_ROM_SIZE, "header.size", PVL_NOINDEX, h->size);
    if (h->checksum != pvl_rom_checksum(h, h->size))
        return pvl__fail(d, PVL_E_ROM_CHECKSUM, "header.checksum", PVL_NOINDEX,
                         h->checksum);
    if (h->flags)
        return pvl__fail(d, PVL_E_ROM_RESERVED, "header.flags", PVL_NOINDEX, h->flags);
    if (h->reserved[0] || h->reserved[1])
        return pvl__fail(d, PVL_E_ROM_RESERVED, "header.reserved", PVL_NOINDEX, 0);
    return PVL_OK;
}

static pvl_result check_iface(const struct pvl_rom_header *h,
                              const struct pvl_iface *iface, struct pvl_diag *d)
{
    if (h->iface[PVL_IFACE_NAME_MAX - 1] != '\0' ||
        !pvl__name_is(h->iface, PVL_IFACE_NAME_MAX, iface->name))
        return pvl__fail(d, PVL_E_ROM_IFACE, "header.iface", PVL_NOINDEX, 0);
    if (h->iface_major != iface->major)
        return pvl__fail(d, PVL_E_ROM_VERSION, "header.iface_major", PVL_NOINDEX,
                         h->iface_major);
    if (h->table_off % 4 || h->table_off < sizeof *h ||
        !pvl__within(h->table_off, (uint64_t)h->table_count * sizeof(struct pvl_rom_entry),
                     h->size))
        return pvl__fail(d, PVL_E_ROM_TABLE, "header.table_off", PVL_NOINDEX,
                         h->table_off);
    return PVL_OK;
}

/* Where a template or call entry may live: after the header, in the image. */
static int in_body(uint64_t off, uint64_t len, uint32_t size)
{
    return off >= sizeof(struct pvl_rom_header) && pvl__within(off, len, size);
}

static pvl_result check_entry(const struct pvl_rom_header *h,
                              const struct pvl_rom_entry *e,
                              const struct pvl_op_info *op, uint32_t i,
                              struct pvl_diag *d)
{
    if (e->action >= PVL_NACTIONS)
        return pvl__fail(d, PVL_E_ROM_ACTION, "entry.action", i, e->action);
    if (e->reserved)
        return pvl__fail(d, PVL_E_ROM_RESERVED, "entry.reserved", i, e->reserved);
    if ((e->tmpl_clobbers | e->call_clobbers) & ~PVL_CLB_VALID)
        return pvl__fail(d, PVL_E_ROM_CLOBBERS, "entry.clobbers", i,
                         e->tmpl_clobbers | e->call_clobbers);
    if (e->tmpl_len && !in_body(e->tmpl_off, e->tmpl_len, h->size))
        return pvl__fail(d, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", i, e->tmpl_off);
    if (e->call_off && !in_body(e->call_off, 1, h->size))
        return pvl__fail(d, PVL_E_ROM_CALL, "entry.call_off", i, e->call_off);
    if ((e->action == PVL_ACT_INLINE && !e->tmpl_len) ||
        (e->action == PVL_ACT_CALL && !e->call_off))
        return pvl__fail(d, PVL_E_ROM_MISSING, "entry.action", i, e->action);
    if (e->action == PVL_ACT_NOP && (op->props & PVL_OP_RESULT))
        return pvl__fail(d, PVL_E_NOP_RESULT, "entry.action", i, e->action);
    if (e->tmpl_len) {
        struct pvl_diag td;
        pvl_result r = pvl_tmpl_check((const uint8_t *)h + e->tmpl_off, e->tmpl_len, &td);
        if (r != PVL_OK)
            return pvl__fail(d, r, "entry.template", i, td.value);
    }
    return PVL_OK;
}

/* Entries are sorted by operation, each at most once: a duplicate or an
 * out-of-order entry is refused in one comparison. */
static pvl_result load_table(const struct pvl_rom_header *h, uint64_t load_addr,
                             const struct pvl_iface *iface, struct pvl_impl *impl,
                             struct pvl_diag *d)
{
    const struct pvl_rom_entry *t =
        (const struct pvl_rom_entry *)((const uint8_t *)h + h->table_off);

    for (uint32_t i = 0; i < h->table_count; i++) {
        const struct pvl_rom_entry *e = &t[i];
        if (i > 0 && e->op <= t[i - 1].op)
            return pvl__fail(d, PVL_E_ROM_ORDER, "entry.op", i, e->op);
        if (e->op >= iface->nops) {
            if (h->iface_minor > iface->minor)
                continue; /* an operation newer than this program */
            return pvl__fail(d, PVL_E_ROM_OP, "entry.op", i, e->op);
        }
        pvl_result r = check_entry(h, e, &iface->ops[e->op], i, d);
        if (r != PVL_OK)
            return r;
        impl[e->op] = (struct pvl_impl){
            .action = e->action,
            .tmpl_len = e->tmpl_len,
            .tmpl_clobbers = e->tmpl_clobbers,
            .call_clobbers = e->call_clobbers,
            .tmpl = e->tmpl_len ? (const uint8_t *)h + e->tmpl_off : 0,
            .call = e->call_off ? load_addr + e->call_off : 0,
        };
    }
    return PVL_OK;
}

pvl_result pvl_rom_load(const void *img, size_t len, uint64_t load_addr,
                        const struct pvl_iface *iface, struct pvl_impl *impl,
                        struct pvl_env *env, struct pvl_diag *diag)
{
    const struct pvl_rom_header *h = img;
    pvl_result r;

    if (!img || !iface || !impl || !env)
        return pvl__fail(diag, PVL_E_ARG, "arguments", PVL_NOINDEX, 0);
    if (len < sizeof *h)
        return pvl__fail(diag, PVL_E_ROM_SHORT, "header", PVL_NOINDEX, len);
    if ((r = check_header(h, len, diag)) != PVL_OK ||
        (r = check_iface(h, iface, diag)) != PVL_OK)
        return r;
    for (uint32_t op = 0; op < iface->nops; op++)
        impl[op] = (struct pvl_impl){.action = PVL_ACT_NATIVE};
    if ((r = load_table(h, load_addr, iface, impl, diag)) != PVL_OK)
        return r;
    env->name = iface->name;
    env->major = h->iface_major;
    env->minor = h->iface_minor;
    env->nimpl = iface->nops;
    env->impl = impl;
    return PVL_OK;
}
