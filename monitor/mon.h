/*
 * pvlink-run, the pvlink KVM monitor: internal interfaces.
 *
 * One VM, one vCPU, the in-kernel interrupt controller and PIT, PVH entry,
 * COM1 to stdout, a debug-exit port, hypercalls through port I/O, and a
 * ROM published below 1 MiB.  Everything the guest hands over (hypercall
 * requests, addresses, lengths) is checked against guest memory with
 * overflow-safe bounds; a malformed request gets an error back and is
 * counted, it never stops the monitor.
 *
 * Errors: fatal ones go through err()/errx() with the operation named and
 * one of the exit statuses below.
 */
#ifndef PVL_MON_H
#define PVL_MON_H

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
#define MON_EXIT_HOST 67   /* the host failed: /dev/kvm, memory */
#define MON_GUEST_STATUS_MAX 63

/* Guest-physical layout. */
#define MON_START_INFO 0x6000ull
#define MON_MEMMAP 0x7000ull
#define MON_MEMMAP_MAX 8
#define MON_CMDLINE 0x20000ull
#define MON_CMDLINE_MAX 4096
#define MON_LOW_RAM_END 0x9fc00ull /* reserved from here to 1 MiB */
#define MON_HIGH_RAM 0x100000ull
#define MON_ROM_GPA 0xc0000ull
#define MON_ROM_LIMIT 0xf0000ull   /* the ROM region must end by here */
#define MON_TSS_ADDR 0xfffbd000ull

/* Ports. */
#define MON_COM1 0x3f8

struct mon_policy {
    int op;     /* operation number */
    int action; /* enum pvl_action */
};

struct mon_opts {
    const char *kernel;
    char *cmdline; /* malloc'd */
    uint64_t mem; /* bytes */
    const char *rom_file;
    bool no_rom, late_link, stats;
    const char *stats_json;
    unsigned timeout; /* seconds, 0 = none */
    struct mon_policy policy[64];
    int npolicy;
};

/* The ROM to publish: a sealed, validated image. */
struct mon_rom {
    uint8_t *img;
    size_t size;     /* image size (its header's size field) */
    size_t region;   /* image, padding, data area */
    uint64_t data;   /* GPA of the data area */
};

struct mon_stats {
    uint64_t exit_reason[64]; /* KVM_EXIT_* */
    uint64_t io_out[0x10000], io_in[0x10000];
    uint64_t hcall[8];         /* by number, [0] = unknown */
    uint64_t hcall_errors;     /* malformed or unknown requests */
    uint64_t unknown_port;     /* accesses to ports nobody owns */
    uint64_t console_bytes;
};

struct kvm_run;

struct mon_vm {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *mem;
    uint64_t mem_size;
    int stats_fd;
    /* device and guest state */
    uint8_t com1_lcr;
    bool late_link, link_sent, rom_present;
    int exit_status; /* -1 while running */
    struct mon_rom rom;
    struct mon_stats st;
};

/* elf.c: load (path) into guest memory; returns the PVH entry.  Refuses,
 * naming the problem, anything but a well-formed ELF64 x86-64 executable
 * whose segments lie in [1 MiB, mem) without overlapping and which has a
 * PVH note; exits with MON_EXIT_INPUT. */
uint32_t mon_elf_load(struct mon_vm *vm, const char *path);

/* rom.c: build the ROM to publish from the embedded image or (file), with
 * the policy overrides applied, validated like any image; exits with
 * MON_EXIT_INPUT naming the field on a bad one. */
void mon_rom_prepare(struct mon_rom *rom, const struct mon_opts *o);
/* Copy the ROM region into guest memory and fill the clock page. */
void mon_rom_publish(struct mon_vm *vm, uint32_t tsc_khz, uint64_t tsc_now);
/* Print what the ROM console still holds when the guest stops. */
void mon_rom_flush_console(struct mon_vm *vm);
/* Parse "OP=ACTION" into (p); returns 0 or -1 with a message in (why). */
int mon_policy_parse(const char *s, struct mon_policy *p, char *why, size_t n);

/* vm.c: the VM, its memory, the vCPU in PVH entry state, CPUID. */
void mon_vm_create(struct mon_vm *vm, uint64_t mem_size);
void mon_vm_boot(struct mon_vm *vm, uint32_t entry, const char *cmdline);
uint32_t mon_vm_tsc_khz(struct mon_vm *vm);
uint64_t mon_vm_guest_tsc(struct mon_vm *vm);

/* run.c: run until the guest stops; returns pvlink-run's exit status. */
int mon_run(struct mon_vm *vm, unsigned timeout);

/* hcall.c: handle a hypercall whose request is at guest-physical (gpa). */
void mon_hcall(struct mon_vm *vm, uint64_t gpa);

/* stats.c */
void mon_stats_print(const struct mon_vm *vm, FILE *f);
int mon_stats_json(const struct mon_vm *vm, const char *path);

/* Guest memory: a host pointer to [gpa, gpa + len) if it lies inside guest
 * RAM (overflow-safe), else NULL. */
void *mon_gpa(const struct mon_vm *vm, uint64_t gpa, uint64_t len);

#endif
