/*
 * What both monitors do alike with the outside world: the command line
 * (usage errors, bounded numbers, --policy overrides, the kernel and its
 * command line) and the guest's console on standard output.  Messages
 * start with the running program's name (pvlink-run, pvlink-spt); every
 * command-line error exits with MON_EXIT_USAGE.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mon.h"

void mon_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", program_invocation_short_name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(%s --help for usage)\n", program_invocation_short_name);
    exit(MON_EXIT_USAGE);
}

unsigned long mon_number(const char *s, unsigned long lo, unsigned long hi, const char *opt)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s: \"%s\" is not a number in [%lu, %lu]\n",
                program_invocation_short_name, opt, s, lo, hi);
        exit(MON_EXIT_USAGE);
    }
    return v;
}

static void add_policy(struct mon_opts *o, const char *arg)
{
    char why[160];

    if (o->npolicy == (int)(sizeof o->policy / sizeof o->policy[0]))
        mon_usage_error("--policy %s: too many overrides", arg);
    if (mon_policy_parse(arg, &o->policy[o->npolicy], why, sizeof why) != 0) {
        fprintf(stderr, "%s: --policy: %s\n", program_invocation_short_name, why);
        exit(MON_EXIT_USAGE);
    }
    o->npolicy++;
}

static char *join(char **argv, int n)
{
    size_t len = 1;
    char *s;

    for (int i = 0; i < n; i++)
        len += strlen(argv[i]) + 1;
    if (!(s = calloc(1, len)))
        err(MON_EXIT_HOST, "command line");
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* The options both monitors have; false for another. */
static bool common_option(struct mon_opts *o, int c, const char *arg, const char *usage)
{
    switch (c) {
    case 'm': o->mem = mon_number(arg, 8, 3072, "--mem") << 20; break;
    case MON_O_ROM: o->rom_file = arg; break;
    case MON_O_NO_ROM: o->no_rom = true; break;
    case MON_O_POLICY: add_policy(o, arg); break;
    case MON_O_STATS: o->stats = true; break;
    case MON_O_JSON: o->stats_json = arg; break;
    case MON_O_TIMEOUT: o->timeout = (unsigned)mon_number(arg, 1, 86400, "--timeout"); break;
    case 'h': fputs(usage, stdout); exit(0);
    default: return false;
    }
    return true;
}

/*
 * Standard input, output and error must be open before the monitor opens
 * anything (guest RAM, /dev/kvm): a closed one would be reused by the next
 * open, and the guest's console written into it.  A closed standard output
 * ends the run at once (the console would go nowhere); a closed standard
 * input or error is given /dev/null.
 */
static void check_stdio(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if (fd == 1) {
            fprintf(stderr, "%s: standard output is closed: the guest's console would go "
                    "nowhere\n", program_invocation_short_name);
            exit(MON_EXIT_HOST);
        }
        if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
            exit(MON_EXIT_HOST);
    }
}

void mon_parse(struct mon_opts *o, int argc, char **argv, const struct option *longopts,
               const char *usage, void (*option)(struct mon_opts *o, int c, const char *arg))
{
    int c;

    check_stdio();
    *o = (struct mon_opts){.mem = 64ull << 20, .cpus = 1, .switch_after = -1};
    opterr = 0; /* one message, ours */
    while ((c = getopt_long(argc, argv, "+:m:h", longopts, NULL)) != -1) {
        if (c == ':')
            mon_usage_error("option %s needs an argument", argv[optind - 1]);
        if (common_option(o, c, optarg, usage))
            continue;
        if (c < MON_O_NEXT || !option)
            mon_usage_error("unknown option %s", argv[optind - 1]);
        option(o, c, optarg);
    }
    if (optind >= argc)
        mon_usage_error("%s", "no KERNEL given");
    o->kernel = argv[optind++];
    if (optind < argc && !strcmp(argv[optind], "--"))
        optind++;
    o->cmdline = join(argv + optind, argc - optind);
}

/* The guest's console: standard output, flushed at each line.  One that
 * cannot be written (closed: EPIPE, SIGPIPE being ignored; full; gone)
 * stops the guest with MON_EXIT_HOST: output that goes nowhere is a host
 * failure, not a success. */
int mon_console(struct mon_vm *vm, const void *buf, size_t n)
{
    const char *s = buf;

    vm->st.console_bytes += n;
    if (fwrite(s, 1, n, stdout) == n && (!n || s[n - 1] != '\n' || fflush(stdout) == 0))
        return 0;
    vm->console_errno = errno ? errno : EIO;
    mon_stop_locked(vm, MON_EXIT_HOST);
    return -1;
}
