/*
 * ACPI tables describing the machine the way firmware does: an RSDP
 * (revision 2) pointing at an RSDT and an XSDT, each listing one table,
 * the MADT: the local APIC address, one enabled Processor Local APIC entry
 * per vCPU (processor UID and APIC id = vCPU index), and the IOAPIC (id 0,
 * GSI base 0).  There is no interrupt source override: KVM's default
 * routing sends ISA IRQ n (the PIT's is 0) to IOAPIC pin n, as the MADT
 * then says.  The PCAT_COMPAT flag says the 8259 PICs are there too.
 *
 * The tables go at MON_ACPI_GPA, inside the reserved part of the memory
 * map and inside the BIOS area a legacy RSDP scan covers; start_info's
 * rsdp_paddr names the RSDP (PVH).
 */
#include <err.h>
#include <string.h>

#include "mon.h"

#define MADT_PCAT_COMPAT 0x1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define LAPIC_ENABLED 0x1u

struct __attribute__((packed)) rsdp {
    char sig[8];
    uint8_t checksum;
    char oem[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum;
    uint8_t reserved[3];
};

struct __attribute__((packed)) sdt {
    char sig[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem[6];
    char oem_table[8];
    uint32_t oem_revision;
    char creator[4];
    uint32_t creator_revision;
};

struct __attribute__((packed)) madt_lapic {
    uint8_t type, length, uid, apic_id;
    uint32_t flags;
};

struct __attribute__((packed)) madt_ioapic {
    uint8_t type, length, id, reserved;
    uint32_t address, gsi_base;
};

_Static_assert(sizeof(struct rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct sdt) == 36, "ACPI table header layout");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC entry");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC entry");

static uint8_t checksum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (n--)
        s += *b++;
    return (uint8_t)-s;
}

/* A table of (len) bytes with signature (sig) at guest offset (at) of the
 * ACPI area; returns its start for the caller to fill after the header. */
static uint8_t *table(uint8_t *area, size_t at, const char *sig, size_t len)
{
    struct sdt h = {.length = (uint32_t)len, .revision = 1, .oem_revision = 1,
                    .creator_revision = 1};

    memcpy(h.sig, sig, 4);
    memcpy(h.oem, "PVLINK", 6);
    memcpy(h.oem_table, "PVLINKRN", 8);
    memcpy(h.creator, "PVLK", 4);
    memcpy(area + at, &h, sizeof h);
    return area + at;
}

static void seal(uint8_t *t)
{
    struct sdt *h = (struct sdt *)t;

    h->checksum = 0;
    h->checksum = checksum(t, h->length);
}

/* Offsets in the ACPI area; each table 16-byte aligned. */
#define AT_RSDP 0x0
#define AT_RSDT 0x40
#define AT_XSDT 0x80
#define AT_MADT 0x100

static void build_madt(struct mon_vm *vm, uint8_t *area)
{
    size_t len = sizeof(struct sdt) + 8 + vm->ncpus * sizeof(struct madt_lapic) +
                 sizeof(struct madt_ioapic);
    uint8_t *t = table(area, AT_MADT, "APIC", len), *p = t + sizeof(struct sdt);
    uint32_t lapic = (uint32_t)MON_LAPIC_GPA, flags = MADT_PCAT_COMPAT;
    struct madt_ioapic io = {MADT_IOAPIC, sizeof io, 0, 0, (uint32_t)MON_IOAPIC_GPA, 0};

    memcpy(p, &lapic, 4);
    memcpy(p + 4, &flags, 4);
    p += 8;
    for (unsigned i = 0; i < vm->ncpus; i++, p += sizeof(struct madt_lapic)) {
        struct madt_lapic e = {MADT_LAPIC, sizeof e, (uint8_t)i, (uint8_t)i, LAPIC_ENABLED};
        memcpy(p, &e, sizeof e);
    }
    memcpy(p, &io, sizeof io);
    seal(t);
}

uint64_t mon_acpi_build(struct mon_vm *vm)
{
    uint8_t *area = mon_gpa(vm, MON_ACPI_GPA, MON_HIGH_RAM - MON_ACPI_GPA);
    uint32_t madt = (uint32_t)(MON_ACPI_GPA + AT_MADT);
    uint64_t madt64 = madt;
    struct rsdp r = {.revision = 2, .rsdt = (uint32_t)(MON_ACPI_GPA + AT_RSDT),
                     .length = sizeof r, .xsdt = MON_ACPI_GPA + AT_XSDT};
    uint8_t *t;

    if (!area)
        errx(MON_EXIT_HOST, "ACPI tables: guest memory ends below 1 MiB");
    memset(area, 0, MON_HIGH_RAM - MON_ACPI_GPA);
    build_madt(vm, area);
    t = table(area, AT_RSDT, "RSDT", sizeof(struct sdt) + 4);
    memcpy(t + sizeof(struct sdt), &madt, 4);
    seal(t);
    t = table(area, AT_XSDT, "XSDT", sizeof(struct sdt) + 8);
    memcpy(t + sizeof(struct sdt), &madt64, 8);
    seal(t);
    memcpy(r.sig, "RSD PTR ", 8);
    memcpy(r.oem, "PVLINK", 6);
    r.checksum = checksum(&r, 20);
    r.ext_checksum = checksum(&r, sizeof r);
    memcpy(area + AT_RSDP, &r, sizeof r);
    return MON_ACPI_GPA + AT_RSDP;
}
