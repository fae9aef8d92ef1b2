/*
 * pvlink sites ELF: every site of a binary, as columns or as JSON.
 */
#include <string.h>

#include "pvlink.h"

/* Names a branch target after the binary's symbols (pvt_symfn). */
static int elf_sym(void *ctx, uint64_t addr, char *buf, size_t n)
{
    pvt_elf_symbolize(ctx, addr, buf, n);
    return strcmp(buf, "?") != 0;
}

static void iface_name(char *buf, size_t n, const struct pvt_iface *f)
{
    pvt_printable(buf, n, f->name, sizeof f->name);
}

/* Why there is nothing to list, or NULL when there is a table. */
static const char *no_sites_reason(const struct pvt_bin *b)
{
    if (b->elf.nsecs == 0)
        return "the file has no section headers";
    if (!b->tab.sec)
        return "no pvlink_sites section";
    if (b->tab.nsites == 0)
        return "section pvlink_sites is empty";
    return NULL;
}

/* ------------------------------------------------------------------------
 * Columns.
 */

static void text_header(FILE *out, const char *name, const struct pvt_bin *b)
{
    const struct pvt_table *t = &b->tab;
    char n[64];

    fprintf(out, "%s: %s x86-64, %zu site%s, symbols from %s\n", name,
            pvt_elf_type_name(&b->elf), t->nsites, t->nsites == 1 ? "" : "s",
            b->elf.symsrc ? b->elf.symsrc : "nowhere (no symbol table)");
    for (size_t i = 0; i < t->nifaces; i++) {
        const struct pvt_iface *f = &t->ifaces[i];
        iface_name(n, sizeof n, f);
        fprintf(out, "interface %s %u.%u: %u operations, %u site%s, %s\n", n,
                f->major, f->minor, f->nops, f->nsites,
                f->nsites == 1 ? "" : "s",
                f->catalog ? "operations named by pvlink's catalog"
                           : "no catalog in pvlink (operations shown as op<N>)");
    }
}

static void text_row(struct pvt_tab *tab, const struct pvt_elf *e,
                     const struct pvt_site *s)
{
    char buf[PVT_DIS_MAX], op[16], n[64];

    pvt_tab_cell(tab, "%u", s->index);
    pvt_tab_cell(tab, "0x%llx", (unsigned long long)s->addr);
    pvt_elf_symbolize(e, s->addr, buf, sizeof buf);
    pvt_tab_cell(tab, "%s", s->err ? "?" : buf);
    if (s->iface)
        iface_name(n, sizeof n, s->iface);
    pvt_tab_cell(tab, "%s", s->iface ? n : "-");
    pvt_tab_cell(tab, "%s", pvt_site_op_name(s, op));
    pvt_tab_cell(tab, "%u", s->room);
    pvl_mask_format(s->clobbers, ",", buf, sizeof buf);
    pvt_tab_cell(tab, "%s", buf);
    pvt_site_flags(buf, sizeof buf, s->flags);
    pvt_tab_cell(tab, "%s", buf);
    if (s->err)
        pvt_tab_cell(tab, "invalid record: %s", s->err);
    else {
        pvt_dis(buf, sizeof buf, s->bytes, s->room, s->addr, elf_sym,
                (void *)e);
        pvt_tab_cell(tab, "%s", buf);
    }
}

static void show_text(FILE *out, const char *name, const struct pvt_bin *b)
{
    static const char *const head[] = {"#",  "ADDRESS",  "SYMBOL",
                                       "INTERFACE", "OP", "ROOM",
                                       "CLOBBERS",  "FLAGS", "NATIVE"};
    const char *none = no_sites_reason(b);
    struct pvt_tab tab;

    if (none) {
        fprintf(out, "%s: %s x86-64, no pvlink sites (%s)\n", name,
                pvt_elf_type_name(&b->elf), none);
        return;
    }
    text_header(out, name, b);
    fputc('\n', out);
    pvt_tab_init(&tab, 1u << 0 | 1u << 5, head, 9);
    for (size_t i = 0; i < b->tab.nsites; i++)
        text_row(&tab, &b->elf, &b->tab.sites[i]);
    pvt_tab_print(&tab, out, 0);
}

/* ------------------------------------------------------------------------
 * JSON.
 */

/* The names of the bits of (mask), one string each. */
static void json_bits(struct pvt_json *j, const char *key, uint64_t mask,
                      void (*name)(char *, size_t, uint64_t))
{
    char buf[32];

    pvt_json_arr(j, key);
    for (unsigned i = 0; i < 64; i++)
        if (mask >> i & 1) {
            name(buf, sizeof buf, (uint64_t)1 << i);
            pvt_json_str(j, NULL, buf);
        }
    pvt_json_end(j, ']');
}

static void flag_name(char *buf, size_t n, uint64_t bit)
{
    pvt_site_flags(buf, n, (unsigned)bit);
}

static void state_name(char *buf, size_t n, uint64_t bit)
{
    pvl_mask_format(bit, ",", buf, n);
}

static void json_ifaces(struct pvt_json *j, const struct pvt_table *t)
{
    pvt_json_arr(j, "interfaces");
    for (size_t i = 0; i < t->nifaces; i++) {
        const struct pvt_iface *f = &t->ifaces[i];
        pvt_json_obj(j, NULL);
        pvt_json_str(j, "name", f->name);
        pvt_json_num(j, "major", f->major);
        pvt_json_num(j, "minor", f->minor);
        pvt_json_num(j, "operations", f->nops);
        pvt_json_num(j, "sites", f->nsites);
        pvt_json_bool(j, "catalog", f->catalog != NULL);
        pvt_json_end(j, '}');
    }
    pvt_json_end(j, ']');
}

static void json_site(struct pvt_json *j, const struct pvt_elf *e,
                      const struct pvt_site *s)
{
    char buf[PVT_DIS_MAX], op[16];

    pvt_json_obj(j, NULL);
    pvt_json_num(j, "index", s->index);
    pvt_json_hex(j, "record", s->rec);
    if (s->err) {
        pvt_json_str(j, "error", s->err);
        pvt_json_end(j, '}');
        return;
    }
    pvt_json_hex(j, "address", s->addr);
    pvt_elf_symbolize(e, s->addr, buf, sizeof buf);
    if (strcmp(buf, "?"))
        pvt_json_str(j, "symbol", buf);
    else
        pvt_json_null(j, "symbol");
    pvt_json_str(j, "interface", s->iface->name);
    pvt_json_num(j, "op", s->op);
    pvt_json_str(j, "op_name", pvt_site_op_name(s, op));
    pvt_json_num(j, "room", s->room);
    json_bits(j, "clobbers", s->clobbers, state_name);
    json_bits(j, "flags", s->flags, flag_name);
    if (s->flags & PVL_SITE_NATIVE_CALL)
        pvt_json_hex(j, "target", s->target);
    pvt_hex(buf, sizeof buf, s->bytes, s->room);
    pvt_json_str(j, "native", buf);
    pvt_dis(buf, sizeof buf, s->bytes, s->room, s->addr, elf_sym, (void *)e);
    pvt_json_str(j, "disasm", buf);
    pvt_json_end(j, '}');
}

static void show_json(FILE *out, const char *name, const struct pvt_bin *b)
{
    struct pvt_json j;

    pvt_json_open(&j, out);
    pvt_json_obj(&j, NULL);
    pvt_json_str(&j, "file", name);
    pvt_json_str(&j, "type", pvt_elf_type_name(&b->elf));
    if (b->elf.symsrc)
        pvt_json_str(&j, "symbols", b->elf.symsrc);
    else
        pvt_json_null(&j, "symbols");
    if (no_sites_reason(b))
        pvt_json_str(&j, "note", no_sites_reason(b));
    json_ifaces(&j, &b->tab);
    pvt_json_arr(&j, "sites");
    for (size_t i = 0; i < b->tab.nsites; i++)
        json_site(&j, &b->elf, &b->tab.sites[i]);
    pvt_json_end(&j, ']');
    pvt_json_end(&j, '}');
    pvt_json_close(&j);
}

/* ------------------------------------------------------------------------ */

int pvt_show_sites(FILE *out, FILE *errf, const char *name,
                   const struct pvt_bin *b, int json)
{
    if (json)
        show_json(out, name, b);
    else
        show_text(out, name, b);
    pvt_table_report_invalid(errf, &b->tab, "sites", name);
    return b->tab.ninvalid ? PVT_EXIT_INPUT : PVT_EXIT_OK;
}

int pvt_cmd_sites(int argc, char **argv)
{
    int json = 0, r;
    const char *file;
    const struct pvt_opt opts[] = {{"--json", NULL, &json}, {NULL, NULL, NULL}};
    struct pvt_bin b;

    if ((r = pvt_parse_args("sites", argc, argv, opts, &file, 1, "ELF file")))
        return r;
    if ((r = pvt_bin_open(&b, file, "sites")))
        return r;
    r = pvt_show_sites(stdout, stderr, file, &b, json);
    pvt_bin_close(&b);
    int w = pvt_finish_output(stdout, "sites");
    return w ? w : r;
}
