/*
 * pvlink-run, the pvlink KVM monitor: internal interfaces.
 *
 * One VM with 1 to MON_MAX_CPUS vCPUs (one thread each), the in-kernel
 * interrupt controllers (a local APIC per vCPU, an IOAPIC, the 8259 PICs)
 * and PIT, PVH entry, ACPI tables describing the CPUs and the IOAPIC, COM1
 * to stdout, a debug-exit port, hypercalls through port I/O, and ROMs
 * published below 1 MiB: one at boot, and optionally a second one while
 * the guest runs (--rom-switch).  Everything the guest hands over
 * (hypercall requests, addresses, lengths) is checked against guest memory
 * with overflow-safe bounds; a malformed request gets an error back and is
 * counted, it never stops the monitor.
 *
 * Threads: each vCPU thread runs KVM_RUN and handles its own exits with
 * the VM lock held (devices, hypercalls, statistics and the console are
 * shared); the main thread only waits for signals and deadlines (timeout,
 * ROM switch) and stops the vCPUs.
 *
 * Errors: fatal ones go through err()/errx() with the operation named and
 * one of the exit statuses below.
 */
#ifndef PVL_MON_H
#define PVL_MON_H

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pvlink/hv.h>
#include <pvlink/link.h>

/* Exit statuses of pvlink-run besides the guest's own (0..63). */
#define MON_EXIT_USAGE 64  /* bad command line */
#define MON_EXIT_INPUT 65  /* kernel or ROM refused */
#define MON_EXIT_GUEST 66  /* the guest failed: triple fault, KVM error, timeout */
#define MON_EXIT_HOST 67   /* the host failed: /dev/kvm, memory, stdout closed */
#define MON_GUEST_STATUS_MAX 63

#define MON_MAX_CPUS 8

/* Guest-physical layout. */
#define MON_START_INFO 0x6000ull
#define MON_MEMMAP 0x7000ull
#define MON_MEMMAP_MAX 8
#define MON_CMDLINE 0x20000ull
#define MON_CMDLINE_MAX 4096
#define MON_LOW_RAM_END 0x9fc00ull /* reserved from here to 1 MiB */
#define MON_HIGH_RAM 0x100000ull
#define MON_ROM_GPA 0xc0000ull     /* the boot ROM's region, up to ... */
#define MON_ROM2_GPA 0xd0000ull    /* ... the switch ROM's, up to ... */
#define MON_ACPI_GPA 0xf0000ull    /* ... the ACPI tables, up to 1 MiB */
#define MON_LAPIC_GPA 0xfee00000ull
#define MON_IOAPIC_GPA 0xfec00000ull
#define MON_TSS_ADDR 0xfffbd000ull

/* Ports. */
#define MON_COM1 0x3f8

#define MON_POLICY_ALL (-1) /* --policy all=native */
struct mon_policy {
    int op;     /* operation number, or MON_POLICY_ALL */
    int action; /* enum pvl_action */
};

struct mon_opts {
    const char *kernel;
    char *cmdline; /* malloc'd */
    uint64_t mem; /* bytes */
    unsigned cpus;
    const char *rom_file, *switch_file;
    int switch_after; /* seconds, -1 = only on SIGUSR1 */
    bool no_rom, no_acpi, late_link, stats;
    const char *stats_json;
    unsigned timeout; /* seconds, 0 = none */
    struct mon_policy policy[64];
    int npolicy;
};

/* A ROM to publish: a sealed, validated image and where it goes. */
struct mon_rom {
    uint8_t *img;
    size_t size;     /* image size (its header's size field) */
    size_t region;   /* image, padding, data area */
    uint64_t gpa;    /* where the image goes */
    uint64_t data;   /* GPA of the data area */
    bool published;
};

struct mon_stats {
    uint64_t exit_reason[64]; /* KVM_EXIT_* */
    uint64_t io_out[0x10000], io_in[0x10000];
    uint64_t hcall[8];         /* requests by number (well-formed headers) */
    uint64_t hcall_unknown;    /* well-formed requests with an unknown number */
    uint64_t hcall_malformed;  /* bad address, alignment, length or access */
    uint64_t unknown_port;     /* accesses to ports nobody owns */
    uint64_t console_bytes;
    uint64_t rom_switches;
};

struct kvm_run;
struct mon_vm;

struct mon_vcpu {
    struct mon_vm *vm;
    unsigned index; /* also its APIC id; 0 is the boot CPU */
    int fd, stats_fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
};

struct mon_vm {
    int kvm, vm;
    unsigned ncpus;
    struct mon_vcpu cpu[MON_MAX_CPUS];
    uint8_t *mem;
    uint64_t mem_size;
    bool acpi;
    pthread_mutex_t lock; /* everything below */
    /* device and guest state */
    uint8_t com1_lcr;
    bool late_link, link_sent, rom_present;
    bool switch_pending; /* a ROM switch not yet reported by POLL */
    int console_errno; /* stdout could not be written (EPIPE, ENOSPC...), or 0 */
    int exit_status;     /* -1 while running */
    const char *failure; /* why the guest failed, with exit_status 66 */
    unsigned failed_cpu;
    struct mon_rom rom, rom2;
    const struct mon_rom *current; /* what PVL_HC_ROM_INFO describes */
    struct pvl_clock_page clock;   /* written into every ROM's data area */
    struct mon_stats st;
};

/* elf.c: load (path) into guest memory; returns the PVH entry.  Refuses,
 * naming the problem, anything but a well-formed ELF64 x86-64 executable
 * whose segments lie in [1 MiB, mem) without overlapping, which has
 * exactly one PVH note, and whose entry lies in the file bytes of an
 * executable segment; exits with MON_EXIT_INPUT. */
uint32_t mon_elf_load(struct mon_vm *vm, const char *path);

/* rom.c: build a ROM to publish at (gpa), below (limit), from the embedded
 * image or (file), with the policy overrides of (o) applied, validated
 * like any image; exits with MON_EXIT_INPUT naming the field on a bad
 * one. */
void mon_rom_prepare(struct mon_rom *rom, const struct mon_opts *o, const char *file,
                     uint64_t gpa, uint64_t limit);
/* The clock page every ROM gets: time 0 at (tsc_now), guest TSC at (khz). */
void mon_rom_clock(struct mon_vm *vm, uint32_t tsc_khz, uint64_t tsc_now);
/* Copy (rom)'s region into guest memory with the clock page. */
void mon_rom_publish(struct mon_vm *vm, struct mon_rom *rom);
/* Print what the published ROMs' consoles still hold when the guest
 * stops. */
void mon_rom_flush_console(struct mon_vm *vm);
/* Parse "OP=ACTION" (or "all=native") into (p); returns 0 or -1 with a
 * message in (why). */
int mon_policy_parse(const char *s, struct mon_policy *p, char *why, size_t n);

/* acpi.c: write the ACPI tables (RSDP, RSDT, XSDT, MADT) for (vm)'s CPUs
 * at MON_ACPI_GPA; returns the RSDP's address. */
uint64_t mon_acpi_build(struct mon_vm *vm);

/* vm.c: the VM, its memory, the vCPUs (the boot CPU in PVH entry state,
 * the others waiting for INIT/SIPI), CPUID. */
void mon_vm_create(struct mon_vm *vm, uint64_t mem_size, unsigned ncpus);
void mon_vm_boot(struct mon_vm *vm, uint32_t entry, const char *cmdline);
uint32_t mon_vm_tsc_khz(struct mon_vm *vm);
uint64_t mon_vm_guest_tsc(struct mon_vm *vm);

/* run.c: run until the guest stops or (timeout) seconds pass; publishes
 * rom2 on SIGUSR1 or after (switch_after) seconds (-1: only on the
 * signal).  Returns pvlink-run's exit status. */
int mon_run(struct mon_vm *vm, unsigned timeout, int switch_after);
/* Stop every vCPU with (status) unless a status is already set; with the
 * VM lock held (pvlink-spt: note the status). */
void mon_stop_locked(struct mon_vm *vm, int status);
/* front.c: write guest console bytes to stdout; returns -1 (and stops the
 * guest with MON_EXIT_HOST) if stdout is gone.  Called with the VM lock
 * held. */
int mon_console(struct mon_vm *vm, const void *buf, size_t n);

/* hcall.c: handle a hypercall whose request is at guest-physical (gpa);
 * with the VM lock held. */
void mon_hcall(struct mon_vm *vm, uint64_t gpa);
/* Count a malformed hypercall (not a 32-bit OUT, or no request to answer). */
void mon_hcall_malformed(struct mon_vm *vm);

/* stats.c */
void mon_stats_print(const struct mon_vm *vm, FILE *f);
/* Write the statistics as JSON to (f), which --stats-json opened before
 * the guest ran, and close it; 0, or -1 if writing failed. */
int mon_stats_json(const struct mon_vm *vm, FILE *f);

/* boot.c: guest memory: a host pointer to [gpa, gpa + len) if it lies
 * inside guest RAM (overflow-safe), else NULL. */
void *mon_gpa(const struct mon_vm *vm, uint64_t gpa, uint64_t len);
/* Write the PVH start_info, memory map (low RAM from (ram_from)) and
 * (cmdline) into guest memory, with ACPI's RSDP at (rsdp) (0: none);
 * refuses (MON_EXIT_USAGE) a command line longer than MON_CMDLINE_MAX - 1. */
void mon_pvh_write(struct mon_vm *vm, const char *cmdline, uint64_t rsdp, uint64_t ram_from);

/* front.c: the command line, for both monitors.  The options they share
 * (MON_OPTIONS in their getopt tables) are parsed into (o) by mon_parse,
 * which hands any other option of (longopts) to (option) (NULL: none),
 * prints (usage) for -h, then takes KERNEL and its command line (after an
 * optional "--", joined with spaces, malloc'd).  A usage error (fmt with
 * one string argument), a number out of [lo, hi] for option (opt), a bad
 * --policy OP=ACTION: a message and MON_EXIT_USAGE. */
enum {
    MON_O_ROM = 256, MON_O_NO_ROM, MON_O_POLICY, MON_O_STATS, MON_O_JSON, MON_O_TIMEOUT,
    MON_O_NEXT /* a monitor's own options from here */
};
#define MON_OPTIONS                                                                       \
    {"mem", required_argument, 0, 'm'}, {"rom", required_argument, 0, MON_O_ROM},           \
        {"no-rom", no_argument, 0, MON_O_NO_ROM},                                           \
        {"policy", required_argument, 0, MON_O_POLICY}, {"stats", no_argument, 0, MON_O_STATS}, \
        {"stats-json", required_argument, 0, MON_O_JSON},                                   \
        {"timeout", required_argument, 0, MON_O_TIMEOUT}, {"help", no_argument, 0, 'h'}
__attribute__((noreturn)) void mon_usage_error(const char *fmt, const char *arg);
unsigned long mon_number(const char *s, unsigned long lo, unsigned long hi, const char *opt);
void mon_parse(struct mon_opts *o, int argc, char **argv, const struct option *longopts,
               const char *usage, void (*option)(struct mon_opts *o, int c, const char *arg));

#endif
