/*
 * The kernel's ACPI reader (guest/acpi.c) and start_info parser
 * (guest/boot.c), compiled hosted for the unit test and the fuzz target,
 * with the two kernel services they call: k_printf (kept in acpi_msg) and
 * k_mm_identity (it "maps" only what lies in the test's fixed mapping, so
 * a table outside it is refused the way the kernel refuses one it cannot
 * map).  ACPI_BASE..ACPI_BASE + ACPI_SPAN stands for physical memory.
 */
#ifndef ACPI_ENV_H
#define ACPI_ENV_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "../../guest/acpi.c"
#include "../../guest/boot.c"

#define ACPI_BASE 0x30000000ul
#define ACPI_SPAN (1ul << 20)

static char acpi_msg[512];

void k_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(acpi_msg, sizeof acpi_msg, fmt, ap);
    va_end(ap);
}

/* Another range a test has mapped (the BIOS area), or 0, 0. */
static uint64_t acpi_extra_lo, acpi_extra_hi;

static int acpi_inside(uint64_t pa, uint64_t len, uint64_t lo, uint64_t hi)
{
    return pa >= lo && len <= hi - lo && pa - lo <= hi - lo - len;
}

int k_mm_identity(uint64_t pa, uint64_t len, int uc)
{
    (void)uc;
    if (acpi_inside(pa, len, ACPI_BASE, ACPI_BASE + ACPI_SPAN) ||
        (acpi_extra_hi && acpi_inside(pa, len, acpi_extra_lo, acpi_extra_hi)))
        return 0;
    return -1;
}

/* The mapping that stands for physical memory; NULL if it cannot be had. */
static uint8_t *acpi_mem(void)
{
    static uint8_t *mem;

    if (!mem) {
        void *p = mmap((void *)ACPI_BASE, ACPI_SPAN, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        mem = p == (void *)ACPI_BASE ? p : NULL;
    }
    return mem;
}

static uint8_t acpi_sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (n--)
        s += *b++;
    return s;
}

/* Give the table at (t) a header: signature, length; then its checksum. */
static void acpi_seal(uint8_t *t, const char *sig, uint32_t len)
{
    memcpy(t, sig, 4);
    memcpy(t + 4, &len, 4);
    t[8] = 1;
    t[9] = 0;
    t[9] = (uint8_t)-acpi_sum(t, len);
}

#endif
