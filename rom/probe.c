/*
 * The ROM's probe: does it run under the monitor it was built for?  The
 * kernel calls it before planning a link (C convention, no arguments,
 * nonzero accepts).  This ROM's console and clock need the pvlink
 * monitor's hypercall port and clock page, and <pvlink/hv.h> allows the
 * port only after the CPUID signature matched; on any other monitor (QEMU
 * loading this image as an option ROM, say) the ROM declines and every
 * site stays native.  The signature alone is not enough: pvlink-spt
 * answers it too, and runs the kernel in ring 3, where this ROM's choice
 * to keep the interrupt-flag operations native is wrong (popf ignores IF
 * there).  So the probe also asks the machine itself: the low bits of CS
 * are the privilege level the kernel runs at, and this ROM accepts only
 * ring 0.  -ffunction-sections puts it in .text.rom_probe, where rom.ld
 * finds its place and length for the header.
 */
#include "rom.h"

int rom_probe(void) ROM_HIDDEN;

int rom_probe(void)
{
    uint32_t a = PVL_HV_CPUID_BASE, b, c = 0, d, cs;

    __asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
    if (cs & 3)
        return 0;
    __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return b == PVL_HV_SIG_EBX && c == PVL_HV_SIG_ECX && d == PVL_HV_SIG_EDX;
}
