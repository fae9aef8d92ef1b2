/*
 * pvlink rom ROM: validate a ROM image the way the linker does and show
 * its header and table.
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
    pvt_tab_cell(tab, "%s", pvt_action_name(e->action));
    template_cell(tab, r, e);
    pvl_mask_format(e->tmpl_len ? e->tmpl_clobbers : 0, ",", buf, sizeof buf);
    pvt_tab_cell(tab, "%s", buf);
    if (e->call_off)
        pvt_tab_cell(tab, "0x%x", e->call_off);
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
