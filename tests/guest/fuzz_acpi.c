/*
 * libFuzzer target for the kernel's MADT reader: the input is a MADT's
 * body (after the 36-byte header), placed behind a valid RSDP and XSDT
 * with its length and checksum filled in, so that every input reaches the
 * entry walk.  Whatever the input, the reader must stay inside the table
 * (ASan watches the mapping's neighbours), and an accepted MADT must hold
 * what the reader promises: at least one CPU and no more than the kernel
 * holds, distinct APIC ids, an IOAPIC at or below the timer's GSI.
 */
#include <stdlib.h>

#include "acpi_env.h"

#define MAX_BODY (ACPI_SPAN - 0x1000 - 36)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *mem = acpi_mem(), *r, *x, *t;
    uint64_t madt = ACPI_BASE + 0x1000, root = ACPI_BASE + 0x100;
    uint32_t len = 36;
    struct k_madt m;

    if (!mem || size > MAX_BODY)
        return 0;
    r = mem, x = mem + 0x100, t = mem + 0x1000;
    memset(mem, 0, 0x1000);
    memcpy(t + 36, data, size);
    acpi_seal(t, "APIC", (uint32_t)(36 + size));
    memcpy(x + 36, &madt, 8);
    acpi_seal(x, "XSDT", 44);
    memcpy(r, "RSD PTR ", 8);
    r[15] = 2;
    memcpy(r + 20, &len, 4);
    memcpy(r + 24, &root, 8);
    r[8] = (uint8_t)-acpi_sum(r, 20);
    r[32] = (uint8_t)-acpi_sum(r, 36);
    memset(&k_boot, 0, sizeof k_boot);
    k_boot.rsdp = ACPI_BASE;
    if (k_acpi_madt(&m) != 0)
        return 0;
    if (m.ncpus == 0 || m.ncpus > K_MAX_CPUS || !m.ioapic || m.ioapic_gsi > m.timer_gsi)
        abort();
    for (unsigned i = 0; i < m.ncpus; i++)
        for (unsigned j = i + 1; j < m.ncpus; j++)
            if (m.apic_id[i] == m.apic_id[j])
                abort();
    return 0;
}
