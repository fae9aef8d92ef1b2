/*
 * pvlink-spt: run a PVH kernel as a sandboxed Linux process, in ring 3,
 * and publish a ROM for it.
 *
 * What is shared with pvlink-run (monitor/): the exit statuses and the
 * guest-physical layout (mon.h), the command line and the console (front.c), the
 * kernel loader and its checks (elf.c), the ROM preparation, --policy and
 * publication (rom.c), the PVH start_info (boot.c) and the hypercall ABI
 * (hcall.c).  struct mon_vm is their common state; its memory is spt's
 * view of guest RAM.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spt.h"

struct mon_vm spt_vm = {.exit_status = -1};
struct spt_stats spt_st;
extern struct spt_regs spt_boot_regs;

static const char usage_text[] =
    "usage: pvlink-spt [options] KERNEL [-- kernel command line]\n"
    "\n"
    "Run the PVH kernel KERNEL (ELF64) in this process, deprivileged in ring 3 and\n"
    "sandboxed (seccomp, Syscall User Dispatch), with the console on stdout and a\n"
    "pvlink ROM published for the kernel to link its sites against.  What the ROM\n"
    "does not replace traps and is emulated.\n"
    "\n"
    "options:\n"
    "  -m, --mem MIB        guest RAM in MiB (default 64, 8..3072)\n"
    "      --rom FILE       publish the ROM image in FILE instead of the built-in one\n"
    "      --no-rom         publish no ROM: the kernel keeps every site native\n"
    "      --policy OP=ACT  override the ROM's action for operation OP; all=native:\n"
    "                       every operation the ROM does not mark required\n"
    "                       (ACT: native, inline, call or nop); repeatable\n"
    "      --stats          print traps by instruction, ROM calls into the monitor and\n"
    "                       virtual interrupts when the guest stops\n"
    "      --stats-json F   write the same as JSON to F\n"
    "      --timeout SEC    stop a guest still running after SEC seconds\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: the guest's (0..63, from the debug-exit port 0x501 or the exit\n"
    "hypercall); 64 bad command line; 65 kernel or ROM refused; 66 the guest failed\n"
    "(triple fault, timeout, halt with nothing to wake it, an instruction or a\n"
    "mapping pvlink-spt cannot give it, a forbidden system call); 67 host failure,\n"
    "or a console (stdout) that is closed or cannot be written (SIGPIPE is ignored).\n";

static struct mon_opts opts;
static FILE *json;

static const struct option longopts[] = {MON_OPTIONS, {0, 0, 0, 0}};

static void parse(struct mon_opts *o, int argc, char **argv)
{
    mon_parse(o, argc, argv, longopts, usage_text, NULL);
    if (o->no_rom && (o->rom_file || o->npolicy))
        mon_usage_error("%s", "--no-rom cannot be combined with --rom or --policy");
}

/* hcall.c's and front.c's stop: the run ends when the hypercall returns. */
void mon_stop_locked(struct mon_vm *vm, int status)
{
    if (vm->exit_status < 0)
        vm->exit_status = status;
}

/* Publish the ROM, fill spt's shared page (interrupts off, as at the PVH
 * entry), answer the ROM leaf. */
static void publish_rom(void)
{
    struct spt_shared *sh;

    mon_rom_clock(&spt_vm, (uint32_t)(spt_tsc_hz / 1000), spt_rdtsc());
    mon_rom_publish(&spt_vm, &spt_vm.rom);
    spt_vm.current = &spt_vm.rom;
    sh = spt_pa(spt_vm.rom.data + SPT_SHARED_OFF, sizeof *sh);
    sh->vflags = 0;
    sh->gate = (uintptr_t)spt_gate;
    sh->magic = SPT_MAGIC;
    spt_rom_leaf[0] = (uint32_t)spt_vm.rom.gpa;
    spt_rom_leaf[1] = (uint32_t)spt_vm.rom.size;
    spt_rom_leaf[2] = (uint32_t)spt_vm.rom.region;
    spt_rom_leaf[3] = PVL_HV_ROM_PRESENT;
}

void spt_stop(int status, uint64_t rip, const char *fmt, ...)
{
    static int stopping;
    va_list ap;

    if (stopping++) /* a failure while stopping */
        _exit(status);
    spt_console_flush();
    if (spt_vm.rom_present)
        mon_rom_flush_console(&spt_vm);
    if (fmt) {
        fflush(stdout);
        fprintf(stderr, "pvlink-spt: %s", status == MON_EXIT_GUEST ? "guest failed: " : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (rip)
            fprintf(stderr, " (rip %#llx)", (unsigned long long)rip);
        fputc('\n', stderr);
    }
    if (opts.stats)
        spt_stats_print(stderr);
    if (json && spt_stats_json(json, status) != 0)
        fprintf(stderr, "pvlink-spt: --stats-json %s: write failed\n", opts.stats_json);
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

int main(int argc, char **argv)
{
    static char outbuf[1 << 16], jsonbuf[1 << 16];
    uint32_t entry;
    int memfd;

    parse(&opts, argc, argv);
    spt_host_init();
    if (!opts.no_rom)
        mon_rom_prepare(&spt_vm.rom, &opts, opts.rom_file, MON_ROM_GPA, MON_ROM2_GPA);
    spt_vm.rom_present = !opts.no_rom;
    memfd = spt_host_memory(opts.mem);
    spt_vm.mem = spt_phys;
    spt_vm.mem_size = spt_ram;
    entry = mon_elf_load(&spt_vm, opts.kernel);
    if (spt_vm.rom_present)
        publish_rom();
    mon_pvh_write(&spt_vm, opts.cmdline, 0, SPT_VA_LO);
    free(opts.cmdline);
    if (opts.stats_json && !(json = fopen(opts.stats_json, "we")))
        err(MON_EXIT_HOST, "--stats-json %s", opts.stats_json);
    /* in the sandbox, stdio may only write: no allocation, no fstat */
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    setvbuf(stderr, NULL, _IONBF, 0);
    if (json)
        setvbuf(json, jsonbuf, _IOFBF, sizeof jsonbuf);
    spt_cpu_reset(&spt_boot_regs, entry, (uint32_t)MON_START_INFO);
    spt_mmu_reload();
    spt_host_signals(opts.timeout);
    spt_host_sandbox(memfd, json ? fileno(json) : -1);
    spt_enter();
}
