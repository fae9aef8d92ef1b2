/*
 * Inside the pvlink monitor's ROM: freestanding, position-independent
 * (every reference RIP-relative; rom/rom.mk refuses an object with an
 * absolute relocation), no SSE.
 */
#ifndef PVL_ROM_H
#define PVL_ROM_H

#include <stddef.h>
#include <stdint.h>

#include <pvlink/hv.h>

#define ROM_HIDDEN __attribute__((visibility("hidden")))

/* The data area, placed by rom.ld at the page after the image. */
extern char rom_data[] ROM_HIDDEN;

static inline struct pvl_rom_console *rom_console(void)
{
    return (struct pvl_rom_console *)(rom_data + PVL_ROM_DATA_CONSOLE);
}

static inline volatile struct pvl_clock_page *rom_clock_page(void)
{
    return (volatile struct pvl_clock_page *)(rom_data + PVL_ROM_DATA_CLOCK);
}

/* One hypercall: outl of the request's guest-physical address (the ROM
 * region is mapped at its physical address). */
static inline void rom_hypercall(struct pvl_hcall *req)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)req), "Nd"((uint16_t)PVL_HV_PORT)
                         : "memory");
}

/* The call entries named in head.S. */
void rom_console_write(const char *buf, size_t len) ROM_HIDDEN;
uint64_t rom_clock_read(void) ROM_HIDDEN;

#endif
