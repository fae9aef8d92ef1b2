/*
 * pvlink: look at the sites of a binary and at what a ROM would do to
 * them, without running anything.  The subcommands are a table; each has
 * its help text here, next to the others, so that they read alike.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"
#include "version.h"

#define EXIT_HELP                                                            \
    "Exit status:\n"                                                         \
    "  0  success; nothing wrong was found\n"                                \
    "  1  check found errors, or plan: the linker would refuse the link\n"   \
    "  2  the command line is wrong\n"                                       \
    "  3  an input is unreadable or malformed: not an ELF64 x86-64\n"        \
    "     executable, shared library or kernel; a corrupted site table or\n" \
    "     site record; a ROM image the linker's validation refuses\n"        \
    "  4  out of memory, or the output could not be written\n"

static const char main_help[] =
    "Usage: pvlink COMMAND [OPTION]... FILE...\n"
    "\n"
    "Show the pvlink sites of a binary and what a ROM would do to them,\n"
    "without running anything.\n"
    "\n"
    "Commands:\n"
    "  sites ELF       list every site of an executable, library or kernel\n"
    "  rom ROM         validate a ROM image and show its header and table\n"
    "  plan ELF ROM    show what linking ELF with ROM would do, site by site\n"
    "  check ELF       check the consistency of a binary's site table\n"
    "  help [COMMAND]  show this help, or a command's\n"
    "\n"
    "Options:\n"
    "  -h, --help      show help (after a command: that command's help)\n"
    "      --version   show the version\n"
    "\n" EXIT_HELP "\n"
    "See pvlink(1).\n";

static const char sites_help[] =
    "Usage: pvlink sites [--json] ELF\n"
    "\n"
    "List every site of ELF (an executable, shared library or kernel): its\n"
    "address, the function holding it (from .symtab, else .dynsym; \"?\" if\n"
    "none), its interface and operation (named by pvlink's catalog for\n"
    "pvlink.kernel; op<N> for interfaces pvlink has no catalog of), room,\n"
    "allowed clobbers, flags, and its native bytes disassembled (AT&T\n"
    "syntax; NOP padding shown as \".nops N\").\n"
    "\n"
    "Options:\n"
    "      --json   one JSON document instead of columns\n"
    "  -h, --help   show this help\n"
    "\n"
    "A site record that does not validate is listed as invalid and\n"
    "reported on standard error, and the exit status is 3.\n"
    "\n" EXIT_HELP;

static const char rom_help[] =
    "Usage: pvlink rom ROM\n"
    "\n"
    "Validate the ROM image ROM as the linker does (pvl_rom_load) against\n"
    "the catalog its header names: pvlink's own catalog for pvlink.kernel;\n"
    "for an interface pvlink does not know, a catalog synthesized from the\n"
    "header (operations op<N>; results and native code unknown), which the\n"
    "output says.  Show the header and, per operation, the action, the\n"
    "template disassembled, its clobbers, and the call entry's offset and\n"
    "clobbers.  An invalid image is refused with the field at fault, and\n"
    "the exit status is 3.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n" EXIT_HELP;

static const char plan_help[] =
    "Usage: pvlink plan [--rom-addr ADDR] [--json] ELF ROM\n"
    "\n"
    "Show what the inline linker would do to each site of ELF with the ROM\n"
    "image ROM, computed by the linker itself over a copy of the file's\n"
    "loadable segments; nothing runs and nothing is written.  For each site\n"
    "of the ROM's interface: the action and the bytes the site would get,\n"
    "disassembled, or why the linker would refuse it; then totals per\n"
    "action and the verdict (a link is all or nothing).  Sites of other\n"
    "interfaces are counted and left alone.  A binary with a site record\n"
    "that does not validate is refused (status 3): `pvlink check` says why.\n"
    "\n"
    "The ROM's run-time address decides whether calls reach it (rel32).\n"
    "By default, for an ET_EXEC file (a kernel): the first page boundary at\n"
    "or above the end of the highest loadable segment; for an ET_DYN file\n"
    "(PIE, shared library), shown at its link-time addresses (load base 0):\n"
    "the first 16 MiB boundary at or above the end of the object.\n"
    "\n"
    "Options:\n"
    "      --rom-addr ADDR  the ROM's run-time address (decimal, or hex\n"
    "                       with 0x), in the file's address space\n"
    "      --json           one JSON document instead of columns\n"
    "  -h, --help           show this help\n"
    "\n" EXIT_HELP;

static const char check_help[] =
    "Usage: pvlink check ELF\n"
    "\n"
    "Check the consistency of ELF's site table.  Errors: records that do\n"
    "not validate; overlapping sites; native bytes that do not match the\n"
    "operation (for pvlink.kernel: the catalog's native code then NOPs;\n"
    "for native-call sites: a call to the recorded target then NOPs; for\n"
    "other interfaces: whole instructions); an original copy that differs\n"
    "from the site; clobbers or native-call flag that differ from the\n"
    "catalog; unknown operations; sites outside executable segments; one\n"
    "interface in two major versions.  Warnings: room under 5 bytes (such\n"
    "a site can never become a call); room smaller than the catalog's.\n"
    "The exit status is 1 when there are errors; warnings alone give 0.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n" EXIT_HELP;

static int cmd_help(int argc, char **argv);

struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct cmd cmds[] = {
    {"sites", pvt_cmd_sites, sites_help},
    {"rom", pvt_cmd_rom, rom_help},
    {"plan", pvt_cmd_plan, plan_help},
    {"check", pvt_cmd_check, check_help},
    {"help", cmd_help, main_help},
};

static const struct cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static int print_help(const char *text)
{
    fputs(text, stdout);
    return pvt_finish_output(stdout, "help");
}

static int cmd_help(int argc, char **argv)
{
    const struct cmd *c;

    signal(SIGPIPE, SIG_IGN); /* a closed pipe is EPIPE: status 4, not a signal */
    if (argc < 2)
        return print_help(main_help);
    if (argc > 2)
        return pvt_usage_error("help", "unexpected argument '%s'", argv[2]);
    if (!(c = find_cmd(argv[1])))
        return pvt_usage_error("help", "unknown command '%s'", argv[1]);
    return print_help(c->help);
}

/* -h or --help among a command's options (before "--"). */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const struct cmd *c;

    signal(SIGPIPE, SIG_IGN); /* a closed pipe is EPIPE: status 4, not a signal */
    if (argc < 2)
        return pvt_usage_error(NULL, "%s", "expected a command");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return print_help(main_help);
    if (!strcmp(argv[1], "--version")) {
        printf("pvlink %s (site and ROM format %d.%d, %s %d.%d)\n",
               PVT_VERSION, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
               pvl_kernel_iface.name, pvl_kernel_iface.major,
               pvl_kernel_iface.minor);
        return pvt_finish_output(stdout, "--version");
    }
    if (!(c = find_cmd(argv[1])))
        return pvt_usage_error(NULL, argv[1][0] == '-' ? "unknown option '%s'"
                                                   : "unknown command '%s'",
                           argv[1]);
    if (c->run != cmd_help && wants_help(argc - 1, argv + 1))
        return print_help(c->help);
    return c->run(argc - 1, argv + 1);
}
