/*
 * pvlink rom ROM: validate a ROM image the way the linker does and show
 * its header, its table and every piece of its code (templates, call
 * entries, probe) disassembled, with what each declares it changes and
 * what its bytes change (the linker's own derivation).
 */
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

/* Branch targets inside a ROM are shown as offsets in it (pvt_symfn). */
static int rom_offset(void *ctx, uint64_t addr, char *buf, size_t n)
{
    const struct pvt_rom *r = ctx;

    if (addr >= r->h.size)
        return 0;
    snprintf(buf, n, "rom+0x%llx", (unsigned long long)addr);
    return 1;
}

/* The gates (format 2.1): a declaration the linker believes, since the
 * environment's bytes are not in the image; say so. */
static void show_gates(FILE *out, const struct pvt_rom *r)
{
    uint64_t g = pvl_rom_gates(&r->h);
    char m[400];

    if (!g) {
        fprintf(out, "gates: none (indirect calls and jumps count as C calls)\n");
        return;
    }
    pvl_mask_format(g, ",", m, sizeof m);
    fprintf(out, "gates: indirect calls and jumps through RIP-relative memory enter the "
                 "environment,\n  which writes %s (declared by the ROM, not derived: "
                 "its code is not in the image)\n", m);
}

static void show_header(FILE *out, const char *name, const struct pvt_rom *r)
{
    char cat[256];

    pvt_rom_describe_catalog(r, cat, sizeof cat);
    fprintf(out, "%s: pvlink ROM image, format %u.%u, %u bytes\n", name,
            r->h.format_major, r->h.format_minor, r->h.size);
    fprintf(out, "interface %s %u.%u: %s\n", r->iface_name, r->h.iface_major,
            r->h.iface_minor, cat);
    fprintf(out, "checksum 0x%08x (valid), table of %u entr%s at 0x%x\n",
            r->h.checksum, r->h.table_count,
            r->h.table_count == 1 ? "y" : "ies", r->h.table_off);
    if (r->h.probe_len)
        fprintf(out, "probe: %u byte%s at 0x%x (the kernel calls it before linking)\n",
                r->h.probe_len, r->h.probe_len == 1 ? "" : "s", r->h.probe_off);
    else
        fprintf(out, "probe: none\n");
    show_gates(out, r);
    if (r->len > r->h.size)
        fprintf(out, "note: the file has %zu bytes after the image\n",
                r->len - r->h.size);
}

static void template_cell(struct pvt_tab *tab, const struct pvt_rom *r,
                          const struct pvl_rom_entry *e)
{
    char dis[PVT_DIS_MAX];

    if (!e->tmpl_len) {
        pvt_tab_cell(tab, "-");
        return;
    }
    pvt_dis(dis, sizeof dis, r->img + e->tmpl_off, e->tmpl_len, e->tmpl_off,
            rom_offset, (void *)r);
    pvt_tab_cell(tab, "%s (%u byte%s at 0x%x)", dis, e->tmpl_len,
                 e->tmpl_len == 1 ? "" : "s", e->tmpl_off);
}

static void entry_row(struct pvt_tab *tab, const struct pvt_rom *r,
                      const struct pvl_rom_entry *e)
{
    char buf[160], op[16];
    int ignored = e->op >= r->iface->nops;

    pvt_tab_cell(tab, "%u", e->op);
    pvt_tab_cell(tab, "%s", pvt_op_name(r->iface, e->op, op));
    if (ignored) { /* pvl_rom_load skipped it: nothing in it was checked */
        pvt_tab_cell(tab, "ignored (operation newer than the catalog)");
        for (int i = 0; i < 4; i++)
            pvt_tab_cell(tab, "-");
        return;
    }
    pvt_tab_cell(tab, "%s%s", pvt_action_name(e->action),
                 (e->flags & PVL_ENT_REQUIRED) ? ", required" : "");
    template_cell(tab, r, e);
    pvl_mask_format(e->tmpl_len ? e->tmpl_clobbers : 0, ",", buf, sizeof buf);
    pvt_tab_cell(tab, "%s", buf);
    if (e->call_off)
        pvt_tab_cell(tab, "0x%x (%u byte%s)", e->call_off, e->call_len,
                     e->call_len == 1 ? "" : "s");
    else
        pvt_tab_cell(tab, "-");
    pvl_mask_format(e->call_off ? e->call_clobbers : 0, ",", buf, sizeof buf);
    pvt_tab_cell(tab, "%s", buf);
}

static void show_table(FILE *out, const struct pvt_rom *r)
{
    static const char *const head[] = {"OP",       "NAME", "ACTION",
                                       "TEMPLATE", "TEMPLATE CLOBBERS",
                                       "CALL",     "CALL CLOBBERS"};
    struct pvt_tab tab;

    if (r->h.table_count == 0) {
        fprintf(out, "\nthe table is empty: every operation stays native\n");
        return;
    }
    fputc('\n', out);
    pvt_tab_init(&tab, 1u << 0, head, 7);
    for (uint32_t i = 0; i < r->h.table_count; i++) {
        struct pvl_rom_entry e; /* validated: inside the image */
        memcpy(&e, r->img + r->h.table_off + i * sizeof e, sizeof e);
        entry_row(&tab, r, &e);
    }
    pvt_tab_print(&tab, out, 0);
}

/* ------------------------------------------------------------------------
 * The code, listed.  The image has been validated: every piece lies in it.
 */

/* One piece of code: where, what it declares, what its bytes write. */
static void show_code(FILE *out, const struct pvt_rom *r, const char *what, uint32_t off,
                      uint32_t len, uint64_t declared, int call)
{
    /* the core's own view of the image's entries and gates */
    struct pvl_rom_code ctx = {(const struct pvl_rom_header *)r->img, r->iface, off};
    struct pvl_callcode cc = {r->img + off, len, 0, pvl_rom_entry_at, &ctx, NULL, 0};
    char d[400], w[400];
    uint64_t writes = 0;

    if (call)
        pvl_call_check(&cc, PVL_CLB_VALID, &writes, NULL);
    else
        pvl_tmpl_check(r->img + off, len, PVL_CLB_VALID, &writes, NULL);
    pvl_mask_format(declared, ",", d, sizeof d);
    pvl_mask_format(writes, ",", w, sizeof w);
    fprintf(out, "\n%s: %u byte%s at 0x%x\n  declares: %s\n  writes:   %s\n", what, len,
            len == 1 ? "" : "s", off, d, w);
    pvt_dis_lines(out, "    ", r->img + off, len, off, rom_offset, (void *)r);
}

static void show_code_all(FILE *out, const struct pvt_rom *r)
{
    char op[16], what[64];

    for (uint32_t i = 0; i < r->h.table_count; i++) {
        struct pvl_rom_entry e;
        memcpy(&e, r->img + r->h.table_off + i * sizeof e, sizeof e);
        if (e.op >= r->iface->nops)
            continue;
        if (e.tmpl_len) {
            snprintf(what, sizeof what, "%s template", pvt_op_name(r->iface, e.op, op));
            show_code(out, r, what, e.tmpl_off, e.tmpl_len, e.tmpl_clobbers, 0);
        }
        if (e.call_off) {
            snprintf(what, sizeof what, "%s call entry", pvt_op_name(r->iface, e.op, op));
            show_code(out, r, what, e.call_off, e.call_len, e.call_clobbers, 1);
        }
    }
    if (r->h.probe_len)
        show_code(out, r, "probe", r->h.probe_off, r->h.probe_len, PVL_CLB_C, 1);
}

int pvt_show_rom(FILE *out, FILE *errf, const char *name, const uint8_t *img,
                 size_t len)
{
    struct pvt_rom r;
    char msg[256];

    if (pvt_rom_load(&r, img, len, 0, NULL) != PVL_OK) {
        pvt_diag_text(msg, sizeof msg, &r.diag);
        fprintf(errf, "pvlink rom: %s: invalid ROM image: %s\n", name, msg);
        if (r.synthesized)
            fprintf(errf, "pvlink rom: %s: (interface %s is not built into "
                          "pvlink; checked against a catalog synthesized from "
                          "the ROM header)\n", name, r.iface_name);
        pvt_rom_free(&r);
        return PVT_EXIT_INPUT;
    }
    show_header(out, name, &r);
    show_table(out, &r);
    show_code_all(out, &r);
    pvt_rom_free(&r);
    return PVT_EXIT_OK;
}

int pvt_cmd_rom(int argc, char **argv)
{
    const char *file;
    const struct pvt_opt opts[] = {{NULL, NULL, NULL}};
    struct pvt_err err;
    uint8_t *img;
    size_t len;
    int r;

    if ((r = pvt_parse_args("rom", argc, argv, opts, &file, 1, "ROM file")))
        return r;
    if (pvt_read_file(file, &img, &len, &err) < 0) {
        fprintf(stderr, "pvlink rom: %s: %s\n", file, err.msg);
        return PVT_EXIT_INPUT;
    }
    r = pvt_show_rom(stdout, stderr, file, img, len);
    free(img);
    int w = pvt_finish_output(stdout, "rom");
    return w ? w : r;
}
