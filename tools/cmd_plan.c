/*
 * pvlink plan ELF ROM: what the inline linker would do to each site of a
 * binary with a ROM, computed by the linker itself (pvl_plan_site for
 * each site, pvl_link in dry-run mode for the verdict) over a copy of the
 * binary's loadable segments.  Nothing runs and nothing is written.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

#define MIB16 ((uint64_t)16 << 20)

struct plan {
    const struct pvt_bin *b;
    struct pvt_rom rom;
    uint64_t rom_addr;
    const char *addr_why; /* how rom_addr was chosen */
    struct pvl_link link;
    struct pvl_report rep;
    struct pvl_diag diag;
    pvl_result verdict;
    uint32_t nchanged;
};

/* ------------------------------------------------------------------------
 * Where the ROM is when the code runs.
 */

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static int default_rom_addr(struct plan *p, struct pvt_err *err)
{
    const struct pvt_elf *e = &p->b->elf;
    uint64_t a = e->type == ET_EXEC ? 4096 : MIB16;

    if (e->hi > UINT64_MAX - a)
        return pvt_fail(err, "no default ROM address above the image (it ends "
                             "at 0x%llx): give --rom-addr",
                        (unsigned long long)e->hi);
    p->rom_addr = align_up(e->hi, a);
    p->addr_why = e->type == ET_EXEC
                      ? "default for ET_EXEC: the first page boundary at or "
                        "above the end of the highest segment"
                      : "default for ET_DYN: the first 16 MiB boundary at or "
                        "above the end of the object, load base 0";
    return 0;
}

/* ------------------------------------------------------------------------
 * Linking in dry-run mode.
 */

/* The binary's descriptor of the ROM's interface, preferring the ROM's
 * major version. */
static const struct pvt_iface *bin_iface(const struct pvt_table *t,
                                         const uint8_t *img, size_t len)
{
    const char *name = pvt_rom_header_iface(img, len);
    const struct pvt_iface *any = NULL;
    uint16_t major;

    if (!name)
        return NULL;
    memcpy(&major, img + offsetof(struct pvl_rom_header, iface_major),
           sizeof major);
    for (size_t i = 0; i < t->nifaces; i++) {
        if (strcmp(t->ifaces[i].name, name))
            continue;
        if (t->ifaces[i].major == major)
            return &t->ifaces[i];
        any = any ? any : &t->ifaces[i];
    }
    return any;
}

static void make_request(struct plan *p)
{
    const struct pvt_table *t = &p->b->tab;

    p->rep.refused_cap = (uint32_t)t->nsites;
    p->rep.refused = pvt_xcalloc(t->nsites, sizeof *p->rep.refused);
    pvt_link_init(&p->link, &p->b->elf, t, p->rom.iface);
    p->link.env = &p->rom.env;
    p->link.flags = PVL_LINK_DRY_RUN;
    p->link.scratch = pvt_xcalloc(t->nsites, sizeof(uint32_t));
    p->link.report = &p->rep;
    p->link.diag = &p->diag;
    p->verdict = pvl_link(&p->link);
}

/* ------------------------------------------------------------------------
 * One row per site of the ROM's interface.
 */

struct row {
    const struct pvt_site *s;
    struct pvl_site_info si;
    int action;
    pvl_result r;
    uint8_t state; /* for PVL_E_CLOBBER: a state the site does not allow */
    uint8_t out[PVL_ROOM_MAX];
};

/* Plans site (i); returns 0 for a site of another interface. */
static int plan_row(struct plan *p, size_t i, struct row *w)
{
    w->s = &p->b->tab.sites[i];
    w->r = pvl_plan_site(&p->link, i, &w->si, &w->action, w->out, &w->state);
    if (w->r == PVL_E_ENV)
        return 0;
    if (w->r == PVL_OK && memcmp(w->out, w->s->bytes, w->s->room))
        p->nchanged++;
    return 1;
}

/* Names addresses in the ROM and in the binary (pvt_symfn). */
static int plan_sym(void *ctx, uint64_t addr, char *buf, size_t n)
{
    const struct plan *p = ctx;

    if (addr - p->rom_addr < p->rom.h.size) {
        snprintf(buf, n, "rom+0x%llx", (unsigned long long)(addr - p->rom_addr));
        return 1;
    }
    pvt_elf_symbolize(&p->b->elf, addr, buf, n);
    return strcmp(buf, "?") != 0;
}

/* Why a site is refused: the linker's message, and the state it would
 * change that the site does not allow. */
static void refusal_text(char *buf, size_t n, const struct row *w)
{
    const char *st = w->state != PVL_NOSTATE ? pvl_state_name(w->state) : NULL;

    snprintf(buf, n, "%s%s%s", pvl_strerror(w->r), st ? ": " : "", st ? st : "");
}

static void result_text(char *buf, size_t n, struct plan *p,
                        const struct row *w)
{
    char why[200];

    if (w->r != PVL_OK) {
        refusal_text(why, sizeof why, w);
        snprintf(buf, n, "REFUSED: %s", why);
    } else
        pvt_dis(buf, n, w->out, w->s->room, w->s->addr, plan_sym, p);
}

/* ------------------------------------------------------------------------
 * Text.
 */

static void text_header(FILE *out, const char *elf, const char *rom,
                        const struct plan *p)
{
    const struct pvt_elf *e = &p->b->elf;
    char cat[256];

    pvt_rom_describe_catalog(&p->rom, cat, sizeof cat);
    fprintf(out, "plan: %s (%s) with ROM %s\n", elf, pvt_elf_type_name(e), rom);
    fprintf(out, "interface %s %u.%u: %s\n", p->rom.iface_name,
            p->rom.h.iface_major, p->rom.h.iface_minor, cat);
    fprintf(out, "ROM at 0x%llx (%s)\n", (unsigned long long)p->rom_addr,
            p->addr_why);
    if (pvl_rom_gates(&p->rom.h)) {
        pvl_mask_format(pvl_rom_gates(&p->rom.h), ",", cat, sizeof cat);
        fprintf(out, "ROM gates write %s (declared, not derived: indirect calls and jumps "
                     "of its code enter its environment)\n", cat);
    }
    if (p->rom_addr < e->hi &&
        (p->rom_addr >= e->lo || e->lo - p->rom_addr < p->rom.h.size))
        fprintf(out, "warning: the ROM (0x%llx, %u bytes) overlaps the "
                     "object (0x%llx to 0x%llx)\n",
                (unsigned long long)p->rom_addr, p->rom.h.size,
                (unsigned long long)e->lo, (unsigned long long)e->hi);
}

static void text_rows(FILE *out, struct plan *p, const char *rom_iface)
{
    static const char *const head[] = {"#",    "ADDRESS", "SYMBOL", "OP",
                                       "ROOM", "ACTION",  "RESULT"};
    struct pvt_tab tab;
    char buf[PVT_DIS_MAX], op[16];
    struct row w;
    int any = 0;

    pvt_tab_init(&tab, 1u << 0 | 1u << 4, head, 7);
    for (size_t i = 0; i < p->b->tab.nsites; i++) {
        if (!plan_row(p, i, &w))
            continue;
        any = 1;
        pvt_tab_cell(&tab, "%zu", i);
        pvt_tab_cell(&tab, "0x%llx", (unsigned long long)w.s->addr);
        pvt_elf_symbolize(&p->b->elf, w.s->addr, buf, sizeof buf);
        pvt_tab_cell(&tab, "%s", buf);
        pvt_tab_cell(&tab, "%s", pvt_op_name(p->rom.iface, w.s->op, op));
        pvt_tab_cell(&tab, "%u", w.s->room);
        pvt_tab_cell(&tab, "%s", pvt_action_name(w.action));
        result_text(buf, sizeof buf, p, &w);
        pvt_tab_cell(&tab, "%s", buf);
    }
    fputc('\n', out);
    pvt_tab_print(&tab, out, 0);
    if (!any)
        fprintf(out, "no sites of interface %s\n", rom_iface);
}

static void text_footer(FILE *out, const struct plan *p)
{
    const struct pvl_report *r = &p->rep;
    char msg[256];

    fprintf(out, "\ntotals: %u native, %u inline, %u call, %u nop; %u refused; "
                 "%u site%s of other interfaces left alone\n",
            r->count[PVL_ACT_NATIVE], r->count[PVL_ACT_INLINE],
            r->count[PVL_ACT_CALL], r->count[PVL_ACT_NOP], r->nrefused,
            r->nother, r->nother == 1 ? "" : "s");
    if (p->verdict == PVL_OK)
        fprintf(out, "result: the link would succeed; %u site%s would "
                     "change\n", p->nchanged, p->nchanged == 1 ? "" : "s");
    else if (p->verdict == PVL_E_REFUSED)
        fprintf(out, "result: link refused: %u site%s cannot be linked; "
                     "nothing would be written\n",
                r->nrefused, r->nrefused == 1 ? "" : "s");
    else {
        pvt_diag_text(msg, sizeof msg, &p->diag);
        fprintf(out, "result: link refused: %s; nothing would be written\n",
                msg);
    }
}

/* ------------------------------------------------------------------------
 * JSON.
 */

static void json_site(struct pvt_json *j, struct plan *p, const struct row *w)
{
    char buf[PVT_DIS_MAX], op[16];

    pvt_json_obj(j, NULL);
    pvt_json_num(j, "index", w->s->index);
    pvt_json_hex(j, "address", w->s->addr);
    pvt_elf_symbolize(&p->b->elf, w->s->addr, buf, sizeof buf);
    if (strcmp(buf, "?"))
        pvt_json_str(j, "symbol", buf);
    else
        pvt_json_null(j, "symbol");
    pvt_json_num(j, "op", w->s->op);
    pvt_json_str(j, "op_name", pvt_op_name(p->rom.iface, w->s->op, op));
    pvt_json_num(j, "room", w->s->room);
    pvt_json_str(j, "action", pvt_action_name(w->action));
    if (w->r != PVL_OK) {
        refusal_text(buf, sizeof buf, w);
        pvt_json_str(j, "refused", buf);
    } else {
        pvt_hex(buf, sizeof buf, w->out, w->s->room);
        pvt_json_str(j, "bytes", buf);
        result_text(buf, sizeof buf, p, w);
        pvt_json_str(j, "disasm", buf);
    }
    pvt_json_end(j, '}');
}

static void json_totals(struct pvt_json *j, const struct plan *p)
{
    char msg[256];

    pvt_json_obj(j, "totals");
    for (int a = 0; a < PVL_NACTIONS; a++)
        pvt_json_num(j, pvt_action_name(a), p->rep.count[a]);
    pvt_json_num(j, "refused", p->rep.nrefused);
    pvt_json_num(j, "other_interfaces", p->rep.nother);
    pvt_json_num(j, "changed", p->verdict == PVL_OK ? p->nchanged : 0);
    pvt_json_end(j, '}');
    pvt_json_bool(j, "ok", p->verdict == PVL_OK);
    if (p->verdict != PVL_OK) {
        pvt_diag_text(msg, sizeof msg, &p->diag);
        pvt_json_str(j, "reason", msg);
    }
}

static void show_json(FILE *out, const char *elf, const char *rom,
                      struct plan *p)
{
    struct pvt_json j;
    struct row w;

    pvt_json_open(&j, out);
    pvt_json_obj(&j, NULL);
    pvt_json_str(&j, "file", elf);
    pvt_json_str(&j, "rom", rom);
    pvt_json_str(&j, "interface", p->rom.iface_name);
    pvt_json_num(&j, "major", p->rom.h.iface_major);
    pvt_json_num(&j, "minor", p->rom.h.iface_minor);
    pvt_json_hex(&j, "rom_address", p->rom_addr);
    pvt_json_str(&j, "rom_address_from", p->addr_why);
    if (pvl_rom_gates(&p->rom.h)) {
        char m[400];
        pvl_mask_format(pvl_rom_gates(&p->rom.h), ",", m, sizeof m);
        pvt_json_str(&j, "gates_declared", m);
    }
    pvt_json_arr(&j, "sites");
    for (size_t i = 0; i < p->b->tab.nsites; i++)
        if (plan_row(p, i, &w))
            json_site(&j, p, &w);
    pvt_json_end(&j, ']');
    json_totals(&j, p);
    pvt_json_end(&j, '}');
    pvt_json_close(&j);
}

/* ------------------------------------------------------------------------ */

static void plan_free(struct plan *p)
{
    free(p->rep.refused);
    free(p->link.scratch);
    pvt_rom_free(&p->rom);
}

static int load_rom(struct plan *p, FILE *errf, const char *rom,
                    const uint8_t *img, size_t len)
{
    char msg[256];

    if (pvt_rom_load(&p->rom, img, len, p->rom_addr,
                     bin_iface(&p->b->tab, img, len)) == PVL_OK)
        return 0;
    pvt_diag_text(msg, sizeof msg, &p->rom.diag);
    fprintf(errf, "pvlink plan: %s: invalid ROM image: %s\n", rom, msg);
    return PVT_EXIT_INPUT;
}

int pvt_show_plan(FILE *out, FILE *errf, const char *elf_name,
                  const struct pvt_bin *b, const char *rom_name,
                  const uint8_t *img, size_t len, const uint64_t *rom_addr,
                  int json)
{
    struct plan p = {.b = b};
    struct pvt_err err;
    int r;

    if (b->tab.ninvalid) {
        pvt_table_report_invalid(errf, &b->tab, "plan", elf_name);
        return PVT_EXIT_INPUT;
    }
    if (rom_addr)
        p.rom_addr = *rom_addr, p.addr_why = "--rom-addr";
    else if (default_rom_addr(&p, &err) < 0) {
        fprintf(errf, "pvlink plan: %s: %s\n", elf_name, err.msg);
        return PVT_EXIT_INPUT;
    }
    if ((r = load_rom(&p, errf, rom_name, img, len))) {
        plan_free(&p);
        return r;
    }
    make_request(&p);
    if (json)
        show_json(out, elf_name, rom_name, &p);
    else {
        text_header(out, elf_name, rom_name, &p);
        text_rows(out, &p, p.rom.iface_name);
        text_footer(out, &p);
    }
    r = p.verdict == PVL_OK ? PVT_EXIT_OK : PVT_EXIT_PROBLEMS;
    plan_free(&p);
    return r;
}

int pvt_cmd_plan(int argc, char **argv)
{
    int json = 0, r;
    const char *files[2], *addr = NULL;
    const struct pvt_opt opts[] = {{"--rom-addr", &addr, NULL},
                                   {"--json", NULL, &json},
                                   {NULL, NULL, NULL}};
    uint64_t a;
    struct pvt_bin b;
    struct pvt_err err;
    uint8_t *img;
    size_t len;

    if ((r = pvt_parse_args("plan", argc, argv, opts, files, 2,
                            "ELF and ROM files")))
        return r;
    if (addr && pvt_parse_u64(addr, &a) < 0)
        return pvt_usage_error("plan", "--rom-addr: '%s' is not an address "
                               "(decimal, or hex with 0x)", addr);
    if ((r = pvt_bin_open(&b, files[0], "plan")))
        return r;
    if (pvt_read_file(files[1], &img, &len, &err) < 0) {
        fprintf(stderr, "pvlink plan: %s: %s\n", files[1], err.msg);
        pvt_bin_close(&b);
        return PVT_EXIT_INPUT;
    }
    r = pvt_show_plan(stdout, stderr, files[0], &b, files[1], img, len,
                      addr ? &a : NULL, json);
    free(img);
    pvt_bin_close(&b);
    int w = pvt_finish_output(stdout, "plan");
    return w ? w : r;
}
