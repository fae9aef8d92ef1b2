/*
 * ROM images: checksum and validation.  The image is untrusted; every
 * field is checked before anything in it is used, and the first problem is
 * reported with the field that holds it.  Every template, call entry and
 * probe is decoded and its effects derived from its bytes
 * (pvl_impl_check), never taken from the table's declarations.
 */
#include "insn.h"
#include "internal.h"

#define HDR sizeof(struct pvl_rom_header)
#define ENT sizeof(struct pvl_rom_entry)
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

    if (len < HDR)
        return PVL_E_ROM_SHORT;
    if (h->size < HDR || h->size > len)
        return PVL_E_ROM_SIZE;
    h->checksum = pvl_rom_checksum(img, h->size);
    return PVL_OK;
}

/* An image of this minor version or older must keep reserved space zero;
 * a newer one may use it for what this reader may ignore. */
static int known_minor(const struct pvl_rom_header *h)
{
    return h->format_minor <= PVL_FORMAT_MINOR;
}

/* Magic and format first: they say how to read the rest. */
static pvl_result check_format(const struct pvl_rom_header *h, size_t len,
                               struct pvl_diag *d)
{
    if (len < 8)
        return pvl__fail(d, PVL_E_ROM_SHORT, "header", PVL_NOINDEX, len);
    if (h->magic != PVL_ROM_MAGIC)
        return pvl__fail(d, PVL_E_ROM_MAGIC, "header.magic", PVL_NOINDEX, h->magic);
    if (h->format_major != PVL_FORMAT_MAJOR)
        return pvl__fail2(d, PVL_E_ROM_FORMAT, "header.format_major", PVL_NOINDEX,
                          h->format_major, PVL_FORMAT_MAJOR, PVL_DIAG_EXPECTED);
    if (len < HDR)
        return pvl__fail(d, PVL_E_ROM_SHORT, "header", PVL_NOINDEX, len);
    return PVL_OK;
}

/* The header flags a minor version defines. */
static uint32_t flags_of(uint16_t minor)
{
    return minor >= 1 ? PVL_ROM_GATES : 0;
}

/*
 * The gates' declaration (2.1): believed, since the environment's bytes
 * are not in the image, so held to what a reader that does not know it
 * assumes instead (a C function): within PVL_CLB_C, and with STACK.
 * Without the flag the mask is reserved space.
 */
static pvl_result check_gates(const struct pvl_rom_header *h, struct pvl_diag *d)
{
    uint64_t g = h->gate_writes;

    if (h->format_minor >= 1 && (h->flags & PVL_ROM_GATES)) {
        if ((g & ~PVL_CLB_C) || !(g & PVL_CLB(STACK)))
            return pvl__fail(d, PVL_E_ROM_GATES, "header.gate_writes", PVL_NOINDEX, g);
        return PVL_OK;
    }
    if (known_minor(h) && g)
        return pvl__fail(d, PVL_E_ROM_RESERVED, "header.gate_writes", PVL_NOINDEX, g);
    return PVL_OK;
}

/* The header on its own: size, checksum, flags, reserved fields. */
static pvl_result check_header(const struct pvl_rom_header *h, size_t len,
                               struct pvl_diag *d)
{
    uint32_t sum;

    if (h->size < HDR || h->size > len)
        return pvl__fail(d, PVL_E_ROM_SIZE, "header.size", PVL_NOINDEX, h->size);
    if (h->checksum != (sum = pvl_rom_checksum(h, h->size)))
        return pvl__fail2(d, PVL_E_ROM_CHECKSUM, "header.checksum", PVL_NOINDEX, h->checksum,
                          sum, PVL_DIAG_CHECKSUM);
    if (known_minor(h) && (h->flags & ~flags_of(h->format_minor)))
        return pvl__fail(d, PVL_E_ROM_RESERVED, "header.flags", PVL_NOINDEX, h->flags);
    for (unsigned i = 0; known_minor(h) && i < 2; i++)
        if (h->reserved[i])
            return pvl__fail(d, PVL_E_ROM_RESERVED, "header.reserved", PVL_NOINDEX,
                             h->reserved[i]);
    return check_gates(h, d);
}

static pvl_result check_iface(const struct pvl_rom_header *h,
                              const struct pvl_iface *iface, struct pvl_diag *d)
{
    if (h->iface[PVL_IFACE_NAME_MAX - 1] != '\0' ||
        !pvl__name_is(h->iface, PVL_IFACE_NAME_MAX, iface->name))
        return pvl__fail(d, PVL_E_ROM_IFACE, "header.iface", PVL_NOINDEX, 0);
    if (h->iface_major != iface->major)
        return pvl__fail2(d, PVL_E_ROM_VERSION, "header.iface_major", PVL_NOINDEX,
                          h->iface_major, iface->major, PVL_DIAG_EXPECTED);
    if (h->table_count > PVL_ROM_TABLE_MAX)
        return pvl__fail2(d, PVL_E_ROM_TABLE, "header.table_count", PVL_NOINDEX,
                          h->table_count, PVL_ROM_TABLE_MAX, PVL_DIAG_LIMIT);
    if (h->table_off % 8 || h->table_off < HDR ||
        !pvl__within(h->table_off, h->table_count ? ENT : 0, h->size))
        return pvl__fail(d, PVL_E_ROM_TABLE, "header.table_off", PVL_NOINDEX, h->table_off);
    if (!pvl__within(h->table_off, (uint64_t)h->table_count * ENT, h->size))
        return pvl__fail(d, PVL_E_ROM_TABLE, "header.table_count", PVL_NOINDEX,
                         h->table_count);
    return PVL_OK;
}

/* ------------------------------------------------------------------------
 * Where code may be.
 */

struct rom {
    const struct pvl_rom_header *h;
    const struct pvl_rom_entry *t;
    const struct pvl_iface *iface;
};

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* In the image, after the header, not over the table. */
static int in_body(const struct rom *r, uint64_t off, uint64_t len)
{
    return off >= HDR && pvl__within(off, len, r->h->size) &&
           !overlaps(off, len, r->h->table_off, (uint64_t)r->h->table_count * ENT);
}

/* Entries this reader looks at: those of operations it knows. */
static int used(const struct rom *r, uint32_t i)
{
    return r->t[i].op < r->iface->nops;
}

/* The first template (of a used entry) that [off, off + len) overlaps. */
static int over_template(const struct rom *r, uint64_t off, uint64_t len)
{
    for (uint32_t j = 0; j < r->h->table_count; j++)
        if (used(r, j) && overlaps(off, len, r->t[j].tmpl_off, r->t[j].tmpl_len))
            return 1;
    return 0;
}

static pvl_result check_code_bounds(const struct rom *r, uint32_t i, struct pvl_diag *d)
{
    const struct pvl_rom_entry *e = &r->t[i];

    if (e->tmpl_len > PVL_ROOM_MAX)
        return pvl__fail2(d, PVL_E_ROM_TEMPLATE, "entry.tmpl_len", i, e->tmpl_len, PVL_ROOM_MAX,
                          PVL_DIAG_LIMIT);
    if (e->tmpl_len && !in_body(r, e->tmpl_off, e->tmpl_len))
        return pvl__fail(d, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", i, e->tmpl_off);
    if (!e->call_off && e->call_len)
        return pvl__fail(d, PVL_E_ROM_CALL, "entry.call_len", i, e->call_len);
    if (!e->call_off)
        return PVL_OK;
    if (!e->call_len)
        return pvl__fail(d, PVL_E_ROM_CALL, "entry.call_len", i, 0);
    if (e->call_len > PVL_CALL_MAX)
        return pvl__fail2(d, PVL_E_ROM_CALL, "entry.call_len", i, e->call_len, PVL_CALL_MAX,
                          PVL_DIAG_LIMIT);
    if (!in_body(r, e->call_off, e->call_len) || over_template(r, e->call_off, e->call_len))
        return pvl__fail(d, PVL_E_ROM_CALL, "entry.call_off", i, e->call_off);
    return PVL_OK;
}

/* A call entry (a) that another one (b) starts inside of: b must start on
 * one of a's instruction boundaries. */
static int starts_mid(const uint8_t *img, const struct pvl_rom_entry *a, uint32_t boff)
{
    uint64_t off = a->call_off, end = (uint64_t)a->call_off + a->call_len;
    struct pvl_insn in;

    while (off < boff && off < end) {
        size_t k = pvl_insn_decode(img + off, end - off, &in);
        if (!k)
            return 0; /* a's own check reports it */
        off += k;
    }
    return off != boff;
}

static pvl_result check_starts(const struct rom *r, uint32_t i, struct pvl_diag *d)
{
    const struct pvl_rom_entry *a = &r->t[i];

    for (uint32_t j = 0; a->call_off && j < r->h->table_count; j++) {
        const struct pvl_rom_entry *b = &r->t[j];
        if (used(r, j) && b->call_off > a->call_off &&
            b->call_off < (uint64_t)a->call_off + a->call_len &&
            starts_mid((const uint8_t *)r->h, a, b->call_off))
            return pvl__fail(d, PVL_E_ROM_OVERLAP, "entry.call_off", j, b->call_off);
    }
    return PVL_OK;
}

/* The probe: code like a call entry, in the body, over no template. */
static pvl_result check_probe_bounds(const struct rom *r, struct pvl_diag *d)
{
    const struct pvl_rom_header *h = r->h;

    if (!h->probe_len && !h->probe_off)
        return PVL_OK;
    if (!h->probe_len || h->probe_len > PVL_CALL_MAX || !in_body(r, h->probe_off, h->probe_len) ||
        over_template(r, h->probe_off, h->probe_len))
        return pvl__fail(d, PVL_E_ROM_PROBE, "header.probe_off", PVL_NOINDEX, h->probe_off);
    return PVL_OK;
}

/* ------------------------------------------------------------------------
 * The table.
 */

int pvl_rom_entry_at(void *ctx, int64_t off, uint64_t *declared)
{
    const struct pvl_rom_code *c = ctx;
    const struct pvl_rom_entry *t =
        (const struct pvl_rom_entry *)((const uint8_t *)c->h + c->h->table_off);
    uint64_t at = c->base + (uint64_t)off;

    if (off == PVL_OFF_ENV) { /* the environment: its gates, if declared */
        *declared = pvl_rom_gates(c->h);
        return *declared != 0;
    }
    for (uint32_t j = 0; j < c->h->table_count; j++)
        if (t[j].op < c->iface->nops && t[j].call_off && t[j].call_off == at) {
            *declared = t[j].call_clobbers;
            return 1;
        }
    return 0;
}

/* The entry as an implementation, for pvl_impl_check. */
static struct pvl_impl impl_of(const struct rom *r, const struct pvl_rom_entry *e,
                               uint64_t load_addr)
{
    /* a newer minor may use flag bits and reserved state bits this reader
     * ignores */
    uint8_t flags = (uint8_t)(e->flags & (known_minor(r->h) ? 0xff : PVL_ENT_FLAGS_VALID));
    uint64_t keep = known_minor(r->h) ? ~0ull : ~PVL_CLB_RESERVED;

    return (struct pvl_impl){
        .action = e->action,
        .tmpl_len = (uint8_t)e->tmpl_len,
        .flags = flags,
        .tmpl_clobbers = e->tmpl_clobbers & keep,
        .call_clobbers = e->call_clobbers & keep,
        .tmpl = e->tmpl_len ? (const uint8_t *)r->h + e->tmpl_off : 0,
        .call = e->call_off ? load_addr + e->call_off : 0,
    };
}

static pvl_result check_entry_fields(const struct rom *r, uint32_t i, struct pvl_diag *d)
{
    const struct pvl_rom_entry *e = &r->t[i];

    if (known_minor(r->h) && (e->reserved0 || e->reserved1))
        return pvl__fail(d, PVL_E_ROM_RESERVED, "entry.reserved", i,
                         e->reserved0 ? e->reserved0 : e->reserved1);
    if (known_minor(r->h) && (e->flags & ~PVL_ENT_FLAGS_VALID))
        return pvl__fail(d, PVL_E_ROM_RESERVED, "entry.flags", i, e->flags);
    return PVL_OK;
}

/* Where the entry's code is, before any of it is decoded. */
static pvl_result check_entry_place(const struct rom *r, uint32_t i, struct pvl_diag *d)
{
    pvl_result res;

    if ((res = check_entry_fields(r, i, d)) != PVL_OK || (res = check_code_bounds(r, i, d)) != PVL_OK)
        return res;
    return PVL_OK;
}

static pvl_result check_entry(const struct rom *r, uint32_t i, struct pvl_impl *m,
                              uint64_t load_addr, struct pvl_diag *d)
{
    const struct pvl_rom_entry *e = &r->t[i];
    struct pvl_rom_code ctx = {r->h, r->iface, e->call_off};
    struct pvl_callcode cc = {(const uint8_t *)r->h + e->call_off, e->call_len, 0, pvl_rom_entry_at,
                              &ctx, 0, 0};
    pvl_result res;

    *m = impl_of(r, e, load_addr);
    res = pvl_impl_check(&r->iface->ops[e->op], m, &cc, d);
    if (res != PVL_OK && d) {
        d->index = i;
        if (d->kind != PVL_DIAG_INSN)
            d->name = r->iface->ops[e->op].name;
    }
    return res;
}

/* Entries are sorted by operation, each at most once: a duplicate or an
 * out-of-order entry is refused in one comparison.  Unknown operations of
 * a newer minor are ignored. */
static pvl_result check_order(const struct rom *r, struct pvl_diag *d)
{
    for (uint32_t i = 0; i < r->h->table_count; i++) {
        const struct pvl_rom_entry *e = &r->t[i];
        if (i > 0 && e->op <= r->t[i - 1].op)
            return pvl__fail(d, PVL_E_ROM_ORDER, "entry.op", i, e->op);
        if (e->op >= r->iface->nops && r->h->iface_minor <= r->iface->minor)
            return pvl__fail(d, PVL_E_ROM_OP, "entry.op", i, e->op);
    }
    return PVL_OK;
}

static pvl_result load_table(const struct rom *r, uint64_t load_addr, struct pvl_impl *impl,
                             struct pvl_diag *d)
{
    pvl_result res;

    if ((res = check_order(r, d)) != PVL_OK)
        return res;
    /* where every piece of code is, then what each one does */
    for (uint32_t i = 0; i < r->h->table_count; i++)
        if (used(r, i) && (res = check_entry_place(r, i, d)) != PVL_OK)
            return res;
    for (uint32_t i = 0; i < r->h->table_count; i++)
        if (used(r, i) && (res = check_starts(r, i, d)) != PVL_OK)
            return res;
    for (uint32_t i = 0; i < r->h->table_count; i++)
        if (used(r, i) && (res = check_entry(r, i, &impl[r->t[i].op], load_addr, d)) != PVL_OK)
            return res;
    return PVL_OK;
}

/* The probe is called by the kernel with the C convention. */
static pvl_result check_probe(const struct rom *r, struct pvl_diag *d)
{
    const struct pvl_rom_header *h = r->h;
    struct pvl_rom_code ctx = {h, r->iface, h->probe_off};
    struct pvl_callcode cc = {(const uint8_t *)h + h->probe_off, h->probe_len, 0, pvl_rom_entry_at, &ctx,
                              "header.probe", 0};

    if (!h->probe_len)
        return PVL_OK;
    return pvl_call_check(&cc, PVL_CLB_C, 0, d);
}

pvl_result pvl_rom_load(const void *img, size_t len, uint64_t load_addr,
                        const struct pvl_iface *iface, struct pvl_impl *impl,
                        struct pvl_env *env, struct pvl_diag *diag)
{
    const struct pvl_rom_header *h = img;
    struct rom r = {h, 0, iface};
    pvl_result res;

    if (!img || !iface || !impl || !env)
        return pvl__fail(diag, PVL_E_ARG, "arguments", PVL_NOINDEX, 0);
    if ((res = check_format(h, len, diag)) != PVL_OK || (res = check_header(h, len, diag)) != PVL_OK ||
        (res = check_iface(h, iface, diag)) != PVL_OK)
        return res;
    r.t = (const struct pvl_rom_entry *)((const uint8_t *)h + h->table_off);
    for (uint32_t op = 0; op < iface->nops; op++)
        impl[op] = (struct pvl_impl){.action = PVL_ACT_NATIVE};
    if ((res = check_probe_bounds(&r, diag)) != PVL_OK ||
        (res = load_table(&r, load_addr, impl, diag)) != PVL_OK ||
        (res = check_probe(&r, diag)) != PVL_OK)
        return res;
    *env = (struct pvl_env){.name = iface->name, .major = h->iface_major,
                            .minor = h->iface_minor, .nimpl = iface->nops, .impl = impl,
                            .probe = h->probe_len ? load_addr + h->probe_off : 0};
    return PVL_OK;
}
