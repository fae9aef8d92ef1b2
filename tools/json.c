/*
 * A small JSON writer: one document, two-space indentation.  Strings from
 * files are untrusted: quotes, backslashes and control characters are
 * escaped, and bytes outside ASCII are written as \u00XX so that the
 * document is valid UTF-8 whatever the input holds.
 */
#include "pvlink.h"

static void newline(struct pvt_json *j)
{
    fprintf(j->f, "%s\n%*s", j->need_comma ? "," : "", 2 * j->depth, "");
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void key(struct pvt_json *j, const char *k)
{
    if (j->depth)
        newline(j);
    if (k) {
        put_string(j->f, k);
        fputs(": ", j->f);
    }
    j->need_comma = 1;
}

void pvt_json_open(struct pvt_json *j, FILE *f)
{
    j->f = f, j->depth = 0, j->need_comma = 0;
}

void pvt_json_obj(struct pvt_json *j, const char *k)
{
    key(j, k);
    fputc('{', j->f);
    j->depth++, j->need_comma = 0;
}

void pvt_json_arr(struct pvt_json *j, const char *k)
{
    key(j, k);
    fputc('[', j->f);
    j->depth++, j->need_comma = 0;
}

void pvt_json_end(struct pvt_json *j, char close)
{
    int empty = !j->need_comma;

    j->depth--;
    j->need_comma = 0;
    if (!empty)
        newline(j);
    fputc(close, j->f);
    j->need_comma = 1;
}

void pvt_json_str(struct pvt_json *j, const char *k, const char *s)
{
    key(j, k);
    put_string(j->f, s);
}

void pvt_json_num(struct pvt_json *j, const char *k, uint64_t v)
{
    key(j, k);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void pvt_json_bool(struct pvt_json *j, const char *k, int v)
{
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void pvt_json_null(struct pvt_json *j, const char *k)
{
    key(j, k);
    fputs("null", j->f);
}

/* Addresses as strings: a JSON number cannot carry 64 bits everywhere. */
void pvt_json_hex(struct pvt_json *j, const char *k, uint64_t v)
{
    key(j, k);
    fprintf(j->f, "\"0x%llx\"", (unsigned long long)v);
}

void pvt_json_close(struct pvt_json *j)
{
    fputc('\n', j->f);
}
