/*
 * What both monitors (pvlink-run, pvlink-spt) hand a PVH kernel before its
 * first instruction, and how they reach guest memory: the start_info
 * (version 1) at MON_START_INFO, the memory map at MON_MEMMAP (low RAM;
 * the reserved [640 KiB, 1 MiB) that holds the ROMs and the ACPI tables;
 * RAM from 1 MiB), the command line at MON_CMDLINE.  The kernel's reader
 * is guest/boot.c.  pvlink-spt's low RAM starts at page 1: no process may
 * map page 0 (vm.mmap_min_addr), so it is not offered to the kernel.
 */
#include <err.h>
#include <string.h>

#include "mon.h"

#define START_INFO_MAGIC 0x336ec578u
#define E820_RAM 1
#define E820_RESERVED 2

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "PVH start_info");
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "PVH memmap entry");

void *mon_gpa(const struct mon_vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa > vm->mem_size || len > vm->mem_size - gpa)
        return NULL;
    return vm->mem + gpa;
}

void mon_pvh_write(struct mon_vm *vm, const char *cmdline, uint64_t rsdp, uint64_t ram_from)
{
    struct hvm_memmap_entry map[3] = {
        {ram_from, MON_LOW_RAM_END - ram_from, E820_RAM, 0},
        {MON_LOW_RAM_END, MON_HIGH_RAM - MON_LOW_RAM_END, E820_RESERVED, 0},
        {MON_HIGH_RAM, vm->mem_size - MON_HIGH_RAM, E820_RAM, 0},
    };
    struct hvm_start_info si = {.magic = START_INFO_MAGIC, .version = 1,
                                .cmdline_paddr = MON_CMDLINE, .rsdp_paddr = rsdp,
                                .memmap_paddr = MON_MEMMAP, .memmap_entries = 3};
    size_t n = strlen(cmdline);

    if (n >= MON_CMDLINE_MAX)
        errx(MON_EXIT_USAGE, "kernel command line: %zu bytes, at most %d", n,
             MON_CMDLINE_MAX - 1);
    memcpy(mon_gpa(vm, MON_CMDLINE, n + 1), cmdline, n + 1);
    memcpy(mon_gpa(vm, MON_MEMMAP, sizeof map), map, sizeof map);
    memcpy(mon_gpa(vm, MON_START_INFO, sizeof si), &si, sizeof si);
}
