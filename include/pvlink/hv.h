/*
 * pvlink monitor ABI, version 2: what the pvlink monitor (pvlink-run)
 * offers a guest besides PVH boot, and how the guest finds it.  Version 2
 * added the ROM switch (PVL_EV_ROM_SWITCH, PVL_HC_ROM_INFO); a guest uses
 * them only when PVL_HV_CPUID_INFO reports version 2 or later.
 *
 * Self-contained (<stdint.h> only), shared by the monitor, the ROM and the
 * reference kernel.  Layouts are pinned with _Static_assert.
 *
 * Discovery.  A guest that wants a ROM asks CPUID leaf PVL_HV_CPUID_BASE;
 * only if ebx, ecx, edx spell PVL_HV_SIGNATURE exactly does it read
 * PVL_HV_CPUID_ROM, which gives the ROM region.  Failing that it scans the
 * legacy option-ROM area [PVL_OPTROM_START, PVL_OPTROM_END) at
 * PVL_OPTROM_ALIGN steps for PVL_ROM_MAGIC (a ROM image header, validated
 * like any other).  With neither, every site stays native.  The hypercall
 * port is used only after the CPUID signature matched: on other monitors
 * that port belongs to someone else.
 *
 * The ROM region.  The monitor places a ROM image at a page-aligned
 * guest-physical address in memory that the memory map marks reserved,
 * followed (at the next page boundary after the image) by the ROM's data
 * area: pages the ROM's code uses as it sees fit (console buffer, clock
 * page).  The guest maps the whole region read-write-execute at its
 * physical address and never writes it except through ROM code.
 *
 * Hypercalls.  The guest writes, with a 32-bit OUT to PVL_HV_PORT, the
 * guest-physical address of a struct pvl_hcall (8-byte aligned, below
 * 4 GiB).  The monitor validates every address and length against guest
 * RAM and stores the result in (ret) before the guest resumes: >= 0 on
 * success, a negative PVL_HV_E* on error.  Unknown numbers and malformed
 * requests get an error and are counted; they never stop the monitor.
 *
 * Processors.  The monitor describes its vCPUs as firmware does: ACPI
 * tables (RSDP, RSDT/XSDT, MADT with a local APIC entry per vCPU and the
 * IOAPIC) in memory the memory map marks reserved, named by PVH
 * start_info.rsdp_paddr.  Every vCPU but the first waits for INIT and
 * STARTUP IPIs.  Hypercalls may come from any vCPU at any time; a request
 * is copied before it is checked.
 *
 * ROM switch (version 2).  A monitor may publish another ROM while the
 * guest runs (as a host of another kind would after a live migration): it
 * places the new ROM region elsewhere in reserved memory, and the next
 * PVL_HC_POLL reports PVL_EV_ROM_SWITCH.  The guest then asks
 * PVL_HC_ROM_INFO where it is, validates it like any ROM and re-links to
 * it.  The previous ROM stays in place and working until the guest stops
 * using it.  Both ROMs' clock pages describe the same time line, so a
 * clock read through the new ROM never goes back from one through the old.
 */
#ifndef PVLINK_HV_H
#define PVLINK_HV_H

/* The constants are usable from assembly; the layouts only from C. */
#ifndef __ASSEMBLER__
#include <stdint.h>

#include "cdefs.h"
#endif

#define PVL_HV_ABI_VERSION 2

/* CPUID leaves. */
#define PVL_HV_CPUID_BASE 0x40000000u /* eax: highest leaf; signature */
#define PVL_HV_CPUID_ROM 0x40000001u  /* the ROM region, see below */
#define PVL_HV_CPUID_INFO 0x40000002u /* eax: ABI version, ebx: port */

/* "pvlinkpvlink" as ebx, ecx, edx (little-endian): 'pvli' 'nkpv' 'link'. */
#define PVL_HV_SIGNATURE "pvlinkpvlink"
#define PVL_HV_SIG_EBX 0x696c7670u
#define PVL_HV_SIG_ECX 0x76706b6eu
#define PVL_HV_SIG_EDX 0x6b6e696cu

/*
 * Leaf PVL_HV_CPUID_ROM:
 *   eax  guest-physical address of the ROM image (page-aligned, < 4 GiB)
 *   ebx  size of the image in bytes (its header's size)
 *   ecx  size of the whole region (image, padding, data area) in bytes
 *   edx  flags: PVL_HV_ROM_PRESENT when a ROM is published (all zero
 *        otherwise, e.g. with --no-rom); PVL_HV_ROM_LATE when the guest
 *        should boot native and link only once PVL_HC_POLL returns
 *        PVL_EV_LINK (late linking); PVL_HV_ROM_SWITCH (version 2) when
 *        the monitor may publish another ROM later, so that the guest
 *        polls for PVL_EV_ROM_SWITCH (a guest needs no poll otherwise)
 */
#define PVL_HV_ROM_PRESENT 0x1u
#define PVL_HV_ROM_LATE 0x2u
#define PVL_HV_ROM_SWITCH 0x4u

/* Legacy option-ROM area scanned when CPUID offers nothing. */
#define PVL_OPTROM_START 0xc0000u
#define PVL_OPTROM_END 0xf0000u
#define PVL_OPTROM_ALIGN 0x800u

/* Ports. */
#define PVL_HV_PORT 0x540          /* hypercalls: outl of a request's GPA */
#define PVL_DEBUG_EXIT_PORT 0x501  /* as QEMU isa-debug-exit: outb/outw v */

/* Hypercall numbers. */
#define PVL_HC_PUTS 1 /* args[0] = GPA of bytes, args[1] = length;
                         ret = bytes written */
#define PVL_HC_EXIT 2 /* args[0] = exit status; does not return */
#define PVL_HC_POLL 3 /* ret = pending events (PVL_EV_*), then cleared */
#define PVL_HC_NOP 4  /* ret = 0; for measuring the exit itself */
#define PVL_HC_ROM_INFO 5 /* (version 2) the ROM published now: ret = 0,
                             args[0] = GPA of the image, args[1] = its
                             size, args[2] = size of the region, args[3] =
                             PVL_HV_ROM_PRESENT (all 0 if none); the same
                             contract as leaf PVL_HV_CPUID_ROM */

/* Events (PVL_HC_POLL). */
#define PVL_EV_LINK 0x1u /* link now (late linking): the ROM is ready */
#define PVL_EV_ROM_SWITCH 0x2u /* (version 2) another ROM was published:
                                  ask PVL_HC_ROM_INFO, re-link to it */

/* Errors (negative ret). */
#define PVL_HV_EINVAL 1 /* malformed request: bad address or length */
#define PVL_HV_ENOSYS 2 /* unknown hypercall number */

#ifndef __ASSEMBLER__
/* A hypercall request, in guest memory. */
struct pvl_hcall {
    uint32_t nr;
    int32_t ret;
    uint64_t args[4];
};

PVL_STATIC_ASSERT(sizeof(struct pvl_hcall) == 40, "pvl_hcall layout");

/*
 * The clock page, at offset PVL_ROM_DATA_CLOCK of the ROM's data area,
 * written by the monitor and read by the ROM's clock code.
 * pvclock-style: the monitor makes (version) odd while it updates, even
 * when done; a reader reads version, fields, version again, and retries if
 * they differ or are odd.  Time in nanoseconds is
 *     ns = ns_base + (((tsc - tsc_base) << shift) * mul) >> 32
 * with the product taken in 128 bits (or shift chosen so it fits).
 */
struct pvl_clock_page {
    uint32_t version;
    uint32_t mul;
    uint64_t tsc_base;
    uint64_t ns_base;
    int8_t shift;
    uint8_t pad[7];
};

PVL_STATIC_ASSERT(sizeof(struct pvl_clock_page) == 32, "clock page layout");
#endif /* !__ASSEMBLER__ */

/*
 * The data area of the pvlink monitor's ROM (PVL_ROM_DATA_SIZE bytes at the
 * first page boundary after the image): the clock page, then the console
 * buffer the ROM fills and flushes with PVL_HC_PUTS (one hypercall per
 * line or full buffer).  The monitor flushes what is left when the guest
 * stops, so no output is lost to buffering.
 */
#define PVL_ROM_DATA_SIZE 0x2000
#define PVL_ROM_DATA_CLOCK 0x0    /* struct pvl_clock_page */
#define PVL_ROM_DATA_CONSOLE 0x1000 /* struct pvl_rom_console */
#define PVL_ROM_CONSOLE_CAP (0x1000 - 48)

#ifndef __ASSEMBLER__
struct pvl_rom_console {
    uint32_t len;          /* bytes pending in buf, <= PVL_ROM_CONSOLE_CAP */
    uint32_t pad;
    struct pvl_hcall req;  /* the ROM's own hypercall request */
    char buf[PVL_ROM_CONSOLE_CAP];
};

PVL_STATIC_ASSERT(sizeof(struct pvl_rom_console) == 0x1000, "console layout");
#endif /* !__ASSEMBLER__ */

#endif /* PVLINK_HV_H */
