/*
 * A binary's site table: section pvlink_sites, located and checked, and
 * each record resolved (its self-relative offsets turned into virtual
 * addresses) and validated by the linker's own record check
 * (pvl_site_check, over the image as the linker would see it), so that a
 * record the linker would refuse is reported here in its words.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

#define REC sizeof(struct pvl_site)

/* The section's records must be file contents of one loadable segment,
 * at the place the segment maps them. */
static int check_placement(const struct pvt_sec *s, const struct pvt_elf *e,
                           struct pvt_err *err)
{
    const struct pvt_seg *seg = pvt_elf_segment(e, s->addr, s->size);

    if (!seg)
        return pvt_fail(err, "section pvlink_sites (0x%llx bytes at 0x%llx) "
                             "is not inside a loadable segment",
                        (unsigned long long)s->size,
                        (unsigned long long)s->addr);
    if (s->off - seg->off != s->addr - seg->vaddr)
        return pvt_fail(err, "section pvlink_sites: file offset 0x%llx does "
                             "not match its address 0x%llx in its segment",
                        (unsigned long long)s->off,
                        (unsigned long long)s->addr);
    return 0;
}

static int locate(struct pvt_table *t, const struct pvt_elf *e,
                  struct pvt_err *err)
{
    size_t count;
    const struct pvt_sec *s = pvt_elf_section(e, "pvlink_sites", &count);

    if (!s)
        return 0;
    if (count > 1)
        return pvt_fail(err, "%zu sections named pvlink_sites, expected one",
                        count);
    if (s->type != SHT_PROGBITS || !(s->flags & SHF_ALLOC))
        return pvt_fail(err, "section pvlink_sites is not loaded data (type "
                             "%u, flags 0x%llx)", s->type,
                        (unsigned long long)s->flags);
    if (s->size % REC)
        return pvt_fail(err, "section pvlink_sites: size 0x%llx is not a "
                             "multiple of the %zu-byte site record of format %d",
                        (unsigned long long)s->size, REC, PVL_FORMAT_MAJOR);
    if (s->addr % 8)
        return pvt_fail(err, "section pvlink_sites: address 0x%llx is not "
                             "8-aligned", (unsigned long long)s->addr);
    if (s->size && check_placement(s, e, err) < 0)
        return -1;
    t->sec = s;
    return 0;
}

/* The address a self-relative field at (field) refers to. */
static uint64_t rel(uint64_t field, int32_t off)
{
    return field + (uint64_t)(int64_t)off;
}

void pvt_link_init(struct pvl_link *l, const struct pvt_elf *e, const struct pvt_table *t,
                   const struct pvl_iface *iface)
{
    uintptr_t lo = (uintptr_t)e->image;

    *l = (struct pvl_link){
        .sites = t->nsites ? (const struct pvl_site *)(e->image + (t->sec->addr - e->lo)) : NULL,
        .nsites = t->nsites,
        .lo = lo,
        .hi = lo + (uintptr_t)(e->hi - e->lo),
        .exec = e->exec,
        .nexec = e->nexec,
        .bias = (int64_t)(e->lo - (uint64_t)lo),
        .iface = iface,
    };
}

/* An interface no descriptor can name (longer than a name field): the
 * record check then stops at what does not depend on the interface. */
static const struct pvl_iface records_only = {"(records only: no interface is this one)",
                                              0, 0, 0, NULL};

/* What makes a record unusable, in the linker's words, or NULL. */
static char *validate(const struct pvt_elf *e, const struct pvt_table *t, struct pvt_site *s)
{
    struct pvl_link l;
    struct pvl_site_info si;
    struct pvl_diag d;
    char msg[300];

    pvt_link_init(&l, e, t, &records_only);
    pvl_result r = pvl_site_check(&l, s->index, &si, &d);
    if (r == PVL_OK || r == PVL_E_ENV) {
        s->bytes = e->image + (s->addr - e->lo);
        s->orig_bytes = e->image + (s->orig - e->lo);
        return NULL;
    }
    pvt_diag_text(msg, sizeof msg, &d);
    return pvt_xstrdup(msg);
}

static void read_record(struct pvt_site *s, const struct pvt_elf *e, const struct pvt_table *t,
                        uint64_t rec, uint32_t index)
{
    struct pvl_site r;

    memcpy(&r, e->image + (rec - e->lo), sizeof r);
    *s = (struct pvt_site){
        .index = index, .rec = rec,
        .addr = rel(rec + offsetof(struct pvl_site, addr), r.addr),
        .orig = rel(rec + offsetof(struct pvl_site, orig), r.orig),
        .target = rel(rec + offsetof(struct pvl_site, target), r.target),
        .desc = rel(rec + offsetof(struct pvl_site, iface), r.iface),
        .clobbers = r.clobbers, .op = r.op, .room = r.room,
        .flags = r.flags};
    s->err = validate(e, t, s);
}

/* ------------------------------------------------------------------------
 * Interfaces: the distinct descriptors the valid records point at, in
 * the order of their first site.  Sorting keeps this O(n log n) however
 * many descriptors a (hostile) table points at.
 */

struct desc_ref {
    struct pvl_iface_desc d; /* name NUL-padded, so memcmp compares */
    size_t site;             /* a site pointing at it (the first, once grouped) */
    size_t group;            /* its descriptor's number, in sorted order */
};

static int by_desc(const void *a, const void *b)
{
    const struct desc_ref *x = a, *y = b;
    int c = memcmp(&x->d, &y->d, sizeof x->d);
    return c ? c : (x->site > y->site) - (x->site < y->site);
}

static int by_site(const void *a, const void *b)
{
    const struct desc_ref *x = a, *y = b;
    return (x->site > y->site) - (x->site < y->site);
}

/* One desc_ref per valid site, sorted by descriptor then site. */
static size_t collect_descs(const struct pvt_table *t, const struct pvt_elf *e,
                            struct desc_ref *refs)
{
    size_t n = 0;

    for (size_t i = 0; i < t->nsites; i++) {
        const struct pvt_site *s = &t->sites[i];
        struct pvl_iface_desc d;
        if (s->err)
            continue;
        memcpy(&d, e->image + (s->desc - e->lo), sizeof d); /* checked: in the object */
        refs[n].d = (struct pvl_iface_desc){.magic = d.magic, .format_major = d.format_major,
                                            .format_minor = d.format_minor, .major = d.major,
                                            .minor = d.minor, .nops = d.nops};
        memcpy(refs[n].d.name, d.name, strlen(d.name)); /* NUL-terminated */
        refs[n++].site = i;
    }
    qsort(refs, n, sizeof *refs, by_desc);
    return n;
}

static void fill_iface(struct pvt_iface *f, const struct pvl_iface_desc *d)
{
    const struct pvl_iface *cat = pvt_catalog_find(d->name);

    memcpy(f->name, d->name, sizeof f->name);
    f->major = d->major, f->minor = d->minor, f->nops = d->nops;
    f->catalog = cat && cat->major == f->major ? cat : NULL;
}

static void intern_ifaces(struct pvt_table *t, const struct pvt_elf *e)
{
    struct desc_ref *refs = pvt_xcalloc(t->nsites, sizeof *refs);
    size_t n = collect_descs(t, e, refs), ng = 0;
    size_t *group = pvt_xcalloc(t->nsites, sizeof *group);
    size_t *rank;

    for (size_t i = 0; i < n; i++) { /* groups keep their first site */
        if (i == 0 || memcmp(&refs[i].d, &refs[ng - 1].d, sizeof refs[i].d))
            refs[ng] = refs[i], refs[ng].group = ng, ng++;
        group[refs[i].site] = ng - 1;
    }
    qsort(refs, ng, sizeof *refs, by_site);
    rank = pvt_xcalloc(ng, sizeof *rank);
    t->ifaces = pvt_xcalloc(ng, sizeof *t->ifaces);
    t->nifaces = ng;
    for (size_t k = 0; k < ng; k++) {
        rank[refs[k].group] = k;
        fill_iface(&t->ifaces[k], &refs[k].d);
    }
    for (size_t i = 0; i < t->nsites; i++) {
        if (t->sites[i].err)
            continue;
        t->sites[i].iface = &t->ifaces[rank[group[i]]];
        t->ifaces[rank[group[i]]].nsites++;
    }
    free(refs), free(group), free(rank);
}

/* ------------------------------------------------------------------------ */

int pvt_table_read(struct pvt_table *t, const struct pvt_elf *e,
                   struct pvt_err *err)
{
    memset(t, 0, sizeof *t);
    if (locate(t, e, err) < 0)
        return -1;
    if (!t->sec)
        return 0;
    t->nsites = t->sec->size / REC;
    t->sites = pvt_xcalloc(t->nsites, sizeof *t->sites);
    for (size_t i = 0; i < t->nsites; i++) {
        read_record(&t->sites[i], e, t, t->sec->addr + i * REC, (uint32_t)i);
        t->ninvalid += t->sites[i].err != NULL;
    }
    intern_ifaces(t, e);
    return 0;
}

void pvt_table_free(struct pvt_table *t)
{
    for (size_t i = 0; i < t->nsites; i++)
        free(t->sites[i].err);
    free(t->sites);
    free(t->ifaces);
    memset(t, 0, sizeof *t);
}

const char *pvt_site_op_name(const struct pvt_site *s, char buf[16])
{
    return pvt_op_name(s->iface ? s->iface->catalog : NULL, s->op, buf);
}

void pvt_table_report_invalid(FILE *f, const struct pvt_table *t,
                              const char *cmd, const char *file)
{
    for (size_t i = 0; i < t->nsites; i++)
        if (t->sites[i].err)
            fprintf(f, "pvlink %s: %s: pvlink_sites[%zu] (record at 0x%llx): "
                       "%s\n", cmd, file, i,
                    (unsigned long long)t->sites[i].rec, t->sites[i].err);
}

/* ------------------------------------------------------------------------
 * Opening a binary for a subcommand.
 */

int pvt_bin_from_memory(struct pvt_bin *b, const uint8_t *data, size_t size,
                        struct pvt_err *err)
{
    if (pvt_elf_parse(&b->elf, data, size, err) < 0)
        return -1;
    return pvt_table_read(&b->tab, &b->elf, err);
}

int pvt_bin_open(struct pvt_bin *b, const char *path, const char *cmd)
{
    struct pvt_err err;

    memset(b, 0, sizeof *b);
    if (pvt_read_file(path, &b->data, &b->size, &err) < 0 ||
        pvt_bin_from_memory(b, b->data, b->size, &err) < 0) {
        fprintf(stderr, "pvlink %s: %s: %s\n", cmd, path, err.msg);
        pvt_bin_close(b);
        return PVT_EXIT_INPUT;
    }
    return 0;
}

void pvt_bin_close(struct pvt_bin *b)
{
    pvt_table_free(&b->tab);
    pvt_elf_free(&b->elf);
    free(b->data);
    memset(b, 0, sizeof *b);
}
