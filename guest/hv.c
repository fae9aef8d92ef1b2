/*
 * The pvlink monitor, seen from the guest: the CPUID signature, the ROM
 * leaf, hypercalls, and how the kernel exits.
 *
 * The hypercall port is used only when the signature matched exactly: on
 * any other monitor that port may belong to a device.
 */
#include "kern.h"

struct k_hv k_hv;

void k_hv_detect(void)
{
    struct pvk_cpuid c = pvk_cpuid(PVL_HV_CPUID_BASE, 0);

    if (c.ebx != PVL_HV_SIG_EBX || c.ecx != PVL_HV_SIG_ECX ||
        c.edx != PVL_HV_SIG_EDX)
        return;
    k_hv.present = 1;
    k_hv.max_leaf = c.eax;
    if (c.eax < PVL_HV_CPUID_ROM)
        return; /* a pvlink monitor without the ROM leaf offers none */
    c = pvk_cpuid(PVL_HV_CPUID_ROM, 0);
    k_hv.rom_addr = c.eax;
    k_hv.rom_size = c.ebx;
    k_hv.rom_region = c.ecx;
    k_hv.rom_flags = c.edx;
}

void k_hcall_raw(uint32_t gpa)
{
    pvk_outl(PVL_HV_PORT, gpa);
}

int32_t k_hcall(struct pvl_hcall *h)
{
    /* the outl site is a compiler barrier ("memory"), so h->ret is read
     * again after the monitor wrote it */
    k_hcall_raw((uint32_t)(uintptr_t)h);
    return h->ret;
}

/*
 * Exit with (code): the debug-exit port (QEMU's isa-debug-exit and the
 * pvlink monitor both stop there); if the kernel is still running, the
 * EXIT hypercall when a pvlink monitor is present; otherwise nothing can
 * stop the machine, so say so and halt with interrupts off, for ever.
 */
void k_exit(int code)
{
    static struct pvl_hcall h __attribute__((aligned(8)));

    pvk_outb(PVL_DEBUG_EXIT_PORT, (uint32_t)code);
    if (k_hv.present) {
        h = (struct pvl_hcall){.nr = PVL_HC_EXIT, .args = {(uint64_t)code}};
        k_hcall(&h);
    }
    k_printf("exit %d: no debug-exit port (0x%x) and no pvlink monitor; "
             "halting\n",
             code, PVL_DEBUG_EXIT_PORT);
    for (;;) {
        pvk_irq_disable();
        pvk_halt();
    }
}
