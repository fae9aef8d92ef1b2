#include "harness.h"

#include <stdarg.h>
#include <string.h>

static const char *prog, *cur;
static int cur_failed, cur_skipped;

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    printf("FAIL %s:%s: %s:%d: ", prog, cur, file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    cur_failed = 1;
}

void t_skip(const char *fmt, ...)
{
    va_list ap;

    printf("SKIP %s:%s: ", prog, cur);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    cur_skipped = 1;
}

const char *t_hex(const void *p, size_t n)
{
    static char buf[3 * 256 + 1];
    const unsigned char *b = p;
    size_t k = 0;

    for (size_t i = 0; i < n && i < 256; i++)
        k += (size_t)sprintf(buf + k, "%s%02x", i ? " " : "", b[i]);
    buf[k] = 0;
    return buf;
}

static int wanted(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return 1;
    return 0;
}

int t_main(int argc, char **argv, const struct t_case *cases, size_t n)
{
    int failed = 0;
    const char *slash = strrchr(argv[0], '/');

    prog = slash ? slash + 1 : argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (!wanted(argc, argv, cases[i].name))
            continue;
        cur = cases[i].name, cur_failed = 0, cur_skipped = 0;
        cases[i].fn();
        if (cur_failed)
            failed++;
        else if (!cur_skipped)
            printf("PASS %s:%s\n", prog, cur);
    }
    return failed ? 1 : 0;
}
