/*
 * Text in aligned columns: collect the cells, measure, print.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

static void add(struct pvt_tab *t, char *cell)
{
    size_t n = (t->nrows - 1) * t->ncols + t->filled;

    if (n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16 * t->ncols;
        t->cells = pvt_xreallocarray(t->cells, t->cap, sizeof *t->cells);
    }
    t->cells[n] = cell;
    if (++t->filled == t->ncols) {
        t->filled = 0;
        t->nrows++;
    }
}

void pvt_tab_init(struct pvt_tab *t, unsigned right, const char *const *head,
                  size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols, t->right = right, t->nrows = 1;
    for (size_t i = 0; i < ncols; i++)
        add(t, pvt_xstrdup(head[i]));
}

void pvt_tab_cell(struct pvt_tab *t, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = pvt_xstrdup("?");
    va_end(ap);
    add(t, s);
}

void pvt_tab_print(struct pvt_tab *t, FILE *f, int indent)
{
    size_t rows = t->nrows - 1; /* complete rows; the heading is row 0 */
    size_t shown = rows > 1 ? rows : 0; /* no heading over nothing */
    size_t *w = pvt_xcalloc(t->ncols, sizeof *w);

    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t k = strlen(t->cells[r * t->ncols + c]);
            w[c] = k > w[c] ? k : w[c];
        }
    for (size_t r = 0; r < shown; r++) {
        fprintf(f, "%*s", indent, "");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            int last = c + 1 == t->ncols, right = (t->right >> c) & 1;
            int pad = (int)(w[c] - strlen(s));
            if (right)
                fprintf(f, "%*s%s", pad, "", s);
            else
                fprintf(f, "%s%*s", s, last ? 0 : pad, "");
            if (!last)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < rows * t->ncols + t->filled; i++)
        free(t->cells[i]);
    free(t->cells);
    free(w);
    memset(t, 0, sizeof *t);
}
