/*
 * The consistency checks of `pvlink check`: each record and the table as
 * a whole by the linker's own checks (pvl_site_check, pvl_table_check:
 * what the linker refuses is reported in its words), and each site
 * against its operation (the catalog's native code, or the call its
 * record names) and against its original copy.  Errors are what would
 * make a link wrong or refused; warnings are what limits what an
 * environment can do.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

#define HEX (3 * PVL_ROOM_MAX + 8)

static void add(struct pvt_problems *P, long site, enum pvt_level lv,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add(struct pvt_problems *P, long site, enum pvt_level lv,
                const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = pvt_xstrdup("(message lost: out of memory)");
    va_end(ap);
    if (P->n == P->cap) {
        P->cap = P->cap ? 2 * P->cap : 16;
        P->p = pvt_xreallocarray(P->p, P->cap, sizeof *P->p);
    }
    P->p[P->n++] = (struct pvt_problem){site, lv, msg};
    if (lv == PVT_ERROR)
        P->nerrors++;
    else
        P->nwarnings++;
}

void pvt_problems_free(struct pvt_problems *P)
{
    for (size_t i = 0; i < P->n; i++)
        free(P->p[i].msg);
    free(P->p);
    memset(P, 0, sizeof *P);
}

/* ------------------------------------------------------------------------
 * Native code.
 */

/* The target of e8 rel32 at (p), which sits at address (at). */
static int call_target(const uint8_t *p, uint64_t at, uint64_t *target)
{
    int32_t rel;

    if (p[0] != 0xe8)
        return 0;
    memcpy(&rel, p + 1, 4);
    *target = at + PVL_CALL_LEN + (uint64_t)(int64_t)rel;
    return 1;
}

static void check_padding(struct pvt_problems *P, const struct pvt_site *s,
                          size_t from)
{
    char hex[HEX];

    if (pvt_dis_all_nops(s->bytes + from, s->room - from))
        return;
    pvt_hex(hex, sizeof hex, s->bytes + from, s->room - from);
    add(P, s->index, PVT_ERROR, "the %zu bytes after the native code are not "
        "NOPs: %s", s->room - from, hex);
}

static void check_native_call(struct pvt_problems *P, const struct pvt_elf *e,
                              const struct pvt_site *s)
{
    char hex[HEX], sym[200];
    uint64_t to;

    if (!call_target(s->bytes, s->addr, &to) || to != s->target) {
        pvt_hex(hex, sizeof hex, s->bytes, PVL_CALL_LEN);
        pvt_elf_symbolize(e, s->target, sym, sizeof sym);
        add(P, s->index, PVT_ERROR, "native code is not a call to the recorded "
            "target 0x%llx <%s>: found %s", (unsigned long long)s->target,
            sym, hex);
        return;
    }
    check_padding(P, s, PVL_CALL_LEN);
}

static void check_catalog_bytes(struct pvt_problems *P,
                                const struct pvt_site *s,
                                const struct pvl_op_info *oi)
{
    char want[HEX], got[HEX];

    if (oi->native_len <= s->room &&
        !memcmp(s->bytes, oi->native, oi->native_len)) {
        check_padding(P, s, oi->native_len);
        return;
    }
    pvt_hex(want, sizeof want, oi->native, oi->native_len);
    pvt_hex(got, sizeof got, s->bytes, s->room);
    add(P, s->index, PVT_ERROR, "native code does not match %s: expected %s "
        "then NOPs, found %s", oi->name, oi->native_len ? want : "only NOPs",
        got);
}

/* Without a catalog, the most that can be said: whole instructions. */
static void check_decodes(struct pvt_problems *P, const struct pvt_site *s)
{
    char hex[HEX];
    size_t at = 0, k;
    int nop;

    while (at < s->room && (k = pvt_dis_length(s->bytes + at, s->room - at,
                                                &nop)))
        at += k;
    if (at == s->room)
        return;
    pvt_hex(hex, sizeof hex, s->bytes, s->room);
    add(P, s->index, PVT_ERROR, "native code does not decode as whole "
        "instructions within the room (at byte %zu): %s", at, hex);
}

static const struct pvl_op_info *catalog_op(const struct pvt_site *s)
{
    const struct pvl_iface *cat = s->iface->catalog;
    return cat && s->op < cat->nops ? &cat->ops[s->op] : NULL;
}

static void check_native(struct pvt_problems *P, const struct pvt_elf *e,
                         const struct pvt_site *s)
{
    const struct pvl_op_info *oi = catalog_op(s);

    if (s->flags & PVL_SITE_NATIVE_CALL)
        check_native_call(P, e, s);
    else if (oi && oi->native && !(oi->props & PVL_OP_NATIVE_CALL))
        check_catalog_bytes(P, s, oi);
    else
        check_decodes(P, s);
}

/* The copy in pvlink_orig is what unlinking writes back. */
static void check_orig(struct pvt_problems *P, const struct pvt_site *s)
{
    char a[HEX], b[HEX];
    uint64_t to;
    size_t from = 0;

    if (s->flags & PVL_SITE_NATIVE_CALL) {
        /* the copy is assembled elsewhere: same call target, not bytes */
        if (!call_target(s->orig_bytes, s->orig, &to) || to != s->target) {
            pvt_hex(a, sizeof a, s->orig_bytes, PVL_CALL_LEN);
            add(P, s->index, PVT_ERROR, "the original copy at 0x%llx is not a "
                "call to the recorded target 0x%llx: %s",
                (unsigned long long)s->orig, (unsigned long long)s->target, a);
            return;
        }
        from = PVL_CALL_LEN;
    } else if (!memcmp(s->bytes, s->orig_bytes, s->room)) {
        return;
    }
    if (from && !memcmp(s->bytes + from, s->orig_bytes + from, s->room - from))
        return;
    pvt_hex(a, sizeof a, s->bytes, s->room);
    pvt_hex(b, sizeof b, s->orig_bytes, s->room);
    add(P, s->index, PVT_ERROR, "site bytes differ from the original copy at "
        "0x%llx: site %s, copy %s", (unsigned long long)s->orig, a, b);
}

/* ------------------------------------------------------------------------
 * The record against its interface and pvlink's catalog.
 */

static void check_catalog_op(struct pvt_problems *P, const struct pvt_site *s,
                             const struct pvl_op_info *oi)
{
    char a[160], b[160];
    int is_call = !!(s->flags & PVL_SITE_NATIVE_CALL);

    if (is_call != !!(oi->props & PVL_OP_NATIVE_CALL))
        add(P, s->index, PVT_ERROR, "native-call flag %s, but %s's native "
            "code is %s", is_call ? "set" : "not set", oi->name,
            is_call ? "inline" : "a call");
    if (s->clobbers != oi->clobbers) {
        pvl_mask_format(s->clobbers, ",", a, sizeof a);
        pvl_mask_format(oi->clobbers, ",", b, sizeof b);
        add(P, s->index, PVT_ERROR, "clobbers %s differ from the catalog's "
            "%s for %s", a, b, oi->name);
    }
    /* A room may grow in a minor version of a catalog: a binary older
     * than that has its own version's room, which pvlink does not know. */
    if (s->room < oi->room && s->iface && s->iface->minor >= oi->room_since)
        add(P, s->index, PVT_WARN, "room %u is smaller than the catalog's %u "
            "for %s: ROM code sized for the catalog may not fit", s->room,
            oi->room, oi->name);
}

/* What the linker says of the record for its interface, when pvlink has
 * a catalog of that interface (any version): its major version and
 * operation number. */
static void linker_op_check(struct pvt_problems *P, const struct pvt_elf *e,
                            const struct pvt_table *t, const struct pvt_site *s,
                            const struct pvl_iface *cat)
{
    struct pvl_link l;
    struct pvl_site_info si;
    struct pvl_diag d;
    char msg[300];

    pvt_link_init(&l, e, t, cat);
    if (pvl_site_check(&l, s->index, &si, &d) == PVL_OK)
        return;
    pvt_diag_text(msg, sizeof msg, &d);
    add(P, s->index, PVT_ERROR, "%s (pvlink's catalog is %s %u.%u)", msg, cat->name,
        cat->major, cat->minor);
}

static void check_op(struct pvt_problems *P, const struct pvt_elf *e,
                     const struct pvt_table *t, const struct pvt_site *s)
{
    const struct pvt_iface *f = s->iface;
    const struct pvl_iface *cat = pvt_catalog_find(f->name);

    if (s->op >= f->nops)
        add(P, s->index, PVT_ERROR, "operation %u is past the %u operations "
            "of its interface descriptor", s->op, f->nops);
    if (cat)
        linker_op_check(P, e, t, s, cat);
    if (!f->catalog)
        return;
    if (s->op < cat->nops)
        check_catalog_op(P, s, &cat->ops[s->op]);
    else if (f->minor > cat->minor)
        add(P, s->index, PVT_WARN, "operation %u is newer than pvlink's "
            "catalog (%s %u.%u): not checked", s->op, cat->name, cat->major,
            cat->minor);
}

static void check_site(struct pvt_problems *P, const struct pvt_elf *e,
                       const struct pvt_table *t, const struct pvt_site *s)
{
    if (s->err) {
        add(P, s->index, PVT_ERROR, "invalid record: %s", s->err);
        return;
    }
    if (!s->iface->name[0])
        add(P, s->index, PVT_ERROR, "its interface descriptor has an empty "
            "name");
    if (s->room < PVL_CALL_LEN)
        add(P, s->index, PVT_WARN, "room %u is less than the 5-byte call: "
            "this site can never become a call", s->room);
    check_op(P, e, t, s);
    check_native(P, e, s);
    check_orig(P, s);
}

/* ------------------------------------------------------------------------
 * The table as a whole.
 */

/* The linker's table check (overlaps, rooms over records, copies or
 * descriptors).  The linker runs it once every record is valid; here it
 * also runs with invalid records (it reads only the records, never the
 * rooms), so that an overlap is not hidden by another problem. */
static void check_table(struct pvt_problems *P, const struct pvt_elf *e,
                        const struct pvt_table *t)
{
    struct pvl_link l;
    struct pvl_diag d;
    char msg[300];

    if (!t->nsites)
        return;
    pvt_link_init(&l, e, t, &pvl_kernel_iface); /* any interface: rooms only */
    l.scratch = pvt_xcalloc(t->nsites, sizeof *l.scratch);
    if (pvl_table_check(&l, &d) != PVL_OK) {
        pvt_diag_text(msg, sizeof msg, &d);
        add(P, d.index < t->nsites ? (long)d.index : -1, PVT_ERROR, "%s", msg);
    }
    free(l.scratch);
}

static int by_name_major(const void *a, const void *b)
{
    const struct pvt_iface *x = *(const struct pvt_iface *const *)a;
    const struct pvt_iface *y = *(const struct pvt_iface *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->major > y->major) - (x->major < y->major);
}

/* One interface in two major versions: sorted by name and major, the
 * versions of a name are neighbours. */
static void check_versions(struct pvt_problems *P, const struct pvt_table *t)
{
    const struct pvt_iface **v = pvt_xcalloc(t->nifaces, sizeof *v);
    char n[64];

    for (size_t i = 0; i < t->nifaces; i++)
        v[i] = &t->ifaces[i];
    qsort(v, t->nifaces, sizeof *v, by_name_major);
    for (size_t i = 1; i < t->nifaces; i++) {
        if (strcmp(v[i - 1]->name, v[i]->name) || v[i - 1]->major == v[i]->major)
            continue;
        pvt_printable(n, sizeof n, v[i]->name, sizeof v[i]->name);
        add(P, -1, PVT_ERROR, "interface %s is present in versions %u.%u and "
            "%u.%u: no ROM can serve both", n, v[i - 1]->major,
            v[i - 1]->minor, v[i]->major, v[i]->minor);
    }
    free(v);
}

struct ordered {
    struct pvt_problem p;
    size_t seq;
};

static int by_site(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    if (x->p.site != y->p.site)
        return x->p.site < y->p.site ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Problems of the table first, then site by site, each in found order. */
static void sort_problems(struct pvt_problems *P)
{
    struct ordered *o = pvt_xcalloc(P->n, sizeof *o);

    for (size_t i = 0; i < P->n; i++)
        o[i] = (struct ordered){P->p[i], i};
    qsort(o, P->n, sizeof *o, by_site);
    for (size_t i = 0; i < P->n; i++)
        P->p[i] = o[i].p;
    free(o);
}

void pvt_check_run(struct pvt_problems *P, const struct pvt_elf *e,
                   const struct pvt_table *t)
{
    memset(P, 0, sizeof *P);
    check_versions(P, t);
    for (size_t i = 0; i < t->nsites; i++)
        check_site(P, e, t, &t->sites[i]);
    check_table(P, e, t);
    sort_problems(P);
}
