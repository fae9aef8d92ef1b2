/*
 * pvlink-run: boot a PVH kernel in a KVM VM and publish a ROM for it.
 */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mon.h"

static const char usage_text[] =
    "usage: pvlink-run [options] KERNEL [-- kernel command line]\n"
    "\n"
    "Boot the PVH kernel KERNEL (ELF64) in a KVM virtual machine, the console on\n"
    "COM1 (stdout), with ACPI tables describing its CPUs and a pvlink ROM\n"
    "published for the kernel to link its sites against.\n"
    "\n"
    "options:\n"
    "  -m, --mem MIB        guest RAM in MiB (default 64, 8..3072)\n"
    "      --cpus N         vCPUs (default 1, 1..8), one thread each\n"
    "      --no-acpi        publish no ACPI tables (start_info.rsdp_paddr 0): the\n"
    "                       kernel then runs on one CPU with the 8259 PIC; only\n"
    "                       with --cpus 1\n"
    "      --rom FILE       publish the ROM image in FILE instead of the built-in one\n"
    "      --no-rom         publish no ROM: the kernel keeps every site native\n"
    "      --policy OP=ACT  override the ROM's action for operation OP; all=native:\n"
    "                       every operation the ROM does not mark required\n"
    "                       (ACT: native, inline, call or nop); repeatable\n"
    "      --late-link      the kernel boots native and links when told, mid-workload\n"
    "      --rom-switch F   publish the ROM image in file F as well, at 0xd0000, while\n"
    "                       the guest runs: on SIGUSR1, or after --rom-switch-after;\n"
    "                       the guest's next poll hypercall reports the switch\n"
    "      --rom-switch-after SEC\n"
    "                       publish the --rom-switch ROM SEC seconds after the start\n"
    "                       (0: at once, so the first poll reports it)\n"
    "      --stats          print exits by reason and by port when the guest stops\n"
    "      --stats-json F   write the same as JSON to F\n"
    "      --timeout SEC    stop a guest still running after SEC seconds\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: the guest's (0..63, from the debug-exit port 0x501 or the exit\n"
    "hypercall); 64 bad command line; 65 kernel or ROM refused; 66 the guest\n"
    "failed (triple fault, KVM error, timeout); 67 host failure (/dev/kvm, memory)\n"
    "or a console (stdout) that is closed or cannot be written (SIGPIPE is ignored).\n";

enum { O_LATE = MON_O_NEXT, O_CPUS, O_NO_ACPI, O_SWITCH, O_SWITCH_AFTER };

static const struct option longopts[] = {
    MON_OPTIONS,
    {"late-link", no_argument, 0, O_LATE}, {"cpus", required_argument, 0, O_CPUS},
    {"no-acpi", no_argument, 0, O_NO_ACPI}, {"rom-switch", required_argument, 0, O_SWITCH},
    {"rom-switch-after", required_argument, 0, O_SWITCH_AFTER}, {0, 0, 0, 0},
};

/* pvlink-run's own options (front.c has the others). */
static void parse_option(struct mon_opts *o, int c, const char *arg)
{
    switch (c) {
    case O_LATE: o->late_link = true; break;
    case O_CPUS: o->cpus = (unsigned)mon_number(arg, 1, MON_MAX_CPUS, "--cpus"); break;
    case O_NO_ACPI: o->no_acpi = true; break;
    case O_SWITCH: o->switch_file = arg; break;
    case O_SWITCH_AFTER:
        o->switch_after = (int)mon_number(arg, 0, 86400, "--rom-switch-after");
        break;
    }
}

static void parse(struct mon_opts *o, int argc, char **argv)
{
    mon_parse(o, argc, argv, longopts, usage_text, parse_option);
    if (o->no_rom && (o->rom_file || o->npolicy || o->late_link))
        mon_usage_error("%s", "--no-rom cannot be combined with --rom, --policy or --late-link");
    if (o->no_acpi && o->cpus > 1)
        mon_usage_error("%s", "--no-acpi leaves the kernel one CPU: it cannot be combined "
                        "with --cpus 2 or more");
    if (o->switch_after >= 0 && !o->switch_file)
        mon_usage_error("%s", "--rom-switch-after needs --rom-switch FILE");
}

int main(int argc, char **argv)
{
    static struct mon_vm vm = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct mon_opts o;
    FILE *json = NULL;

    signal(SIGPIPE, SIG_IGN); /* a closed stdout is seen as EPIPE: status 67 */
    parse(&o, argc, argv);
    /* a file that cannot be written is said before the guest runs */
    if (o.stats_json && !(json = fopen(o.stats_json, "we")))
        err(MON_EXIT_HOST, "--stats-json %s", o.stats_json);
    if (!o.no_rom)
        mon_rom_prepare(&vm.rom, &o, o.rom_file, MON_ROM_GPA, MON_ROM2_GPA);
    if (o.switch_file)
        mon_rom_prepare(&vm.rom2, NULL, o.switch_file, MON_ROM2_GPA, MON_ACPI_GPA);
    vm.rom_present = !o.no_rom;
    vm.late_link = o.late_link;
    vm.acpi = !o.no_acpi;
    mon_vm_create(&vm, o.mem, o.cpus);
    uint32_t entry = mon_elf_load(&vm, o.kernel);
    mon_rom_clock(&vm, mon_vm_tsc_khz(&vm), mon_vm_guest_tsc(&vm));
    if (vm.rom_present) {
        mon_rom_publish(&vm, &vm.rom);
        vm.current = &vm.rom;
    }
    mon_vm_boot(&vm, entry, o.cmdline);
    free(o.cmdline); /* the guest has its copy */
    int status = mon_run(&vm, o.timeout, o.switch_after);
    mon_rom_flush_console(&vm);
    if (o.stats)
        mon_stats_print(&vm, stderr);
    if (json && mon_stats_json(&vm, json) != 0)
        err(MON_EXIT_HOST, "--stats-json %s", o.stats_json);
    free(vm.rom.img);
    free(vm.rom2.img);
    return status;
}
