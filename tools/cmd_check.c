/*
 * pvlink check ELF: the consistency of a binary's site table.
 */
#include "pvlink.h"

static void problem_row(struct pvt_tab *tab, const struct pvt_bin *b,
                        const struct pvt_problem *p)
{
    const struct pvt_site *s = p->site >= 0 ? &b->tab.sites[p->site] : NULL;
    char sym[200], op[16];

    if (!s) {
        for (int i = 0; i < 4; i++)
            pvt_tab_cell(tab, "-");
    } else {
        pvt_tab_cell(tab, "%u", s->index);
        pvt_tab_cell(tab, "0x%llx", (unsigned long long)s->addr);
        pvt_elf_symbolize(&b->elf, s->addr, sym, sizeof sym);
        pvt_tab_cell(tab, "%s", s->err ? "?" : sym);
        pvt_tab_cell(tab, "%s", pvt_site_op_name(s, op));
    }
    pvt_tab_cell(tab, "%s", p->level == PVT_ERROR ? "error" : "warning");
    pvt_tab_cell(tab, "%s", p->msg);
}

static void summary(FILE *out, const struct pvt_problems *P)
{
    if (P->n == 0) {
        fprintf(out, "result: no problems found\n");
        return;
    }
    fprintf(out, "\nresult: %zu error%s, %zu warning%s\n", P->nerrors,
            P->nerrors == 1 ? "" : "s", P->nwarnings,
            P->nwarnings == 1 ? "" : "s");
}

int pvt_show_check(FILE *out, const char *name, const struct pvt_bin *b)
{
    static const char *const head[] = {"#",     "ADDRESS", "SYMBOL",
                                       "OP",    "LEVEL",   "PROBLEM"};
    const struct pvt_table *t = &b->tab;
    struct pvt_problems P;
    struct pvt_tab tab;

    if (!t->sec || t->nsites == 0) {
        fprintf(out, "%s: %s x86-64, no pvlink sites (%s): nothing to check\n",
                name, pvt_elf_type_name(&b->elf),
                b->elf.nsecs == 0 ? "the file has no section headers" :
                !t->sec           ? "no pvlink_sites section" :
                                    "section pvlink_sites is empty");
        return PVT_EXIT_OK;
    }
    fprintf(out, "%s: %s x86-64, %zu site%s, %zu interface%s\n", name,
            pvt_elf_type_name(&b->elf), t->nsites, t->nsites == 1 ? "" : "s",
            t->nifaces, t->nifaces == 1 ? "" : "s");
    pvt_check_run(&P, &b->elf, t);
    if (P.n) {
        fputc('\n', out);
        pvt_tab_init(&tab, 1u << 0, head, 6);
        for (size_t i = 0; i < P.n; i++)
            problem_row(&tab, b, &P.p[i]);
        pvt_tab_print(&tab, out, 0);
    }
    summary(out, &P);
    int r = P.nerrors ? PVT_EXIT_PROBLEMS : PVT_EXIT_OK;
    pvt_problems_free(&P);
    return r;
}

int pvt_cmd_check(int argc, char **argv)
{
    const char *file;
    const struct pvt_opt opts[] = {{NULL, NULL, NULL}};
    struct pvt_bin b;
    int r;

    if ((r = pvt_parse_args("check", argc, argv, opts, &file, 1, "ELF file")))
        return r;
    if ((r = pvt_bin_open(&b, file, "check")))
        return r;
    r = pvt_show_check(stdout, file, &b);
    pvt_bin_close(&b);
    int w = pvt_finish_output(stdout, "check");
    return w ? w : r;
}
