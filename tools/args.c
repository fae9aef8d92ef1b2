/*
 * Command-line options of the subcommands, table-driven: each command
 * lists its options (flags and options with an argument) and how many
 * files it takes; the parsing and the messages are the same for all.
 */
#include <string.h>

#include "pvlink.h"

int pvt_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "pvlink%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'pvlink%s%s --help'.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return PVT_EXIT_USAGE;
}

static const struct pvt_opt *find_opt(const struct pvt_opt *opts,
                                      const char *a, const char **val)
{
    for (; opts->name; opts++) {
        size_t n = strlen(opts->name);
        if (strncmp(a, opts->name, n) != 0)
            continue;
        if (a[n] == '\0' || a[n] == '=') {
            *val = a[n] == '=' ? a + n + 1 : NULL;
            return opts;
        }
    }
    return NULL;
}

/* Handle the option at argv[*i]; returns 0 or a usage error. */
static int take_opt(const char *cmd, char **argv, int argc, int *i,
                    const struct pvt_opt *opts)
{
    const char *a = argv[*i], *val;
    const struct pvt_opt *o = find_opt(opts, a, &val);

    if (!o)
        return pvt_usage_error(cmd, "unknown option '%s'", a);
    if (o->flag) {
        if (val)
            return pvt_usage_error(cmd, "option '%s' takes no argument", o->name);
        *o->flag = 1;
        return 0;
    }
    if (!val) {
        if (*i + 1 >= argc)
            return pvt_usage_error(cmd, "option '%s' needs an argument", o->name);
        val = argv[++*i];
    }
    *o->arg = val;
    return 0;
}

int pvt_parse_args(const char *cmd, int argc, char **argv,
                   const struct pvt_opt *opts, const char **pos, int npos,
                   const char *what)
{
    int n = 0, only_pos = 0, r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
        } else if (!only_pos && a[0] == '-' && a[1]) {
            if ((r = take_opt(cmd, argv, argc, &i, opts)))
                return r;
        } else if (n == npos) {
            return pvt_usage_error(cmd, "unexpected argument '%s'", a);
        } else {
            pos[n++] = a;
        }
    }
    if (n < npos)
        return pvt_usage_error(cmd, "expected %s", what);
    return 0;
}
