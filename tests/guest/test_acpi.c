/*
 * guest-acpi: the kernel's ACPI reader (guest/acpi.c, compiled hosted) on
 * valid and malformed tables placed in a mapping that stands for physical
 * memory.  Each refusal must name what is wrong, in one line, and end in
 * "one CPU, 8259 PIC".
 *
 *   xsdt            RSDP 2 -> XSDT -> MADT: CPUs, IOAPIC, the override for
 *                   IRQ 0 (GSI and flags), the local APIC address
 *   rsdt            RSDP 0 -> RSDT -> MADT
 *   cpu_entries     disabled entries skipped; an x2APIC entry below 255
 *                   taken; more CPUs than the kernel holds counted apart;
 *                   the address override taken
 *   ioapic_choice   of two IOAPICs, the one whose GSIs hold the timer's
 *   refusals        one case per check: RSDP checksum, root table
 *                   signature, checksum, length, unmappable, no MADT,
 *                   entry running past the table, entry too short for its
 *                   type, an APIC id twice, no local APIC, no IOAPIC
 *   no_rsdp         rsdp_paddr 0 and no memory map: nothing is scanned
 *                   (a read of the BIOS area would fault here)
 *   bios_scan       the BIOS area is scanned only when the memory map
 *                   describes it
 */
#include "acpi_env.h"

#include "../harness.h"

#define RSDP_OFF 0x100
#define ROOT_OFF 0x200
#define MADT_OFF 0x400
#define IOAPIC_B 0xfec00000u

static uint8_t *mem;
static uint8_t madt_buf[1024];
static size_t madt_len;

static uint64_t pa(size_t off)
{
    return ACPI_BASE + off;
}

static void madt_begin(uint32_t lapic)
{
    uint32_t flags = 1;

    memset(madt_buf, 0, sizeof madt_buf);
    memcpy(madt_buf + 36, &lapic, 4);
    memcpy(madt_buf + 40, &flags, 4);
    madt_len = 44;
}

static void madt_add(const void *e, size_t n)
{
    memcpy(madt_buf + madt_len, e, n);
    madt_len += n;
}

static void lapic(uint8_t id, uint32_t flags)
{
    uint8_t e[8] = {0, 8, id, id};
    memcpy(e + 4, &flags, 4);
    madt_add(e, 8);
}

static void ioapic(uint32_t addr, uint32_t gsi)
{
    uint8_t e[12] = {1, 12, 0, 0};
    memcpy(e + 4, &addr, 4);
    memcpy(e + 8, &gsi, 4);
    madt_add(e, 12);
}

static void iso(uint8_t irq, uint32_t gsi, uint16_t flags)
{
    uint8_t e[10] = {2, 10, 0, irq};
    memcpy(e + 4, &gsi, 4);
    memcpy(e + 8, &flags, 2);
    madt_add(e, 10);
}

/* RSDP (revision 2 with an XSDT, or 0 with an RSDT) -> root -> MADT. */
static void place(int xsdt)
{
    uint8_t *r = mem + RSDP_OFF, *root = mem + ROOT_OFF;
    uint64_t madt = pa(MADT_OFF);
    uint32_t rsdt = (uint32_t)pa(ROOT_OFF), len = 36;

    memset(mem, 0, 0x1000);
    memcpy(mem + MADT_OFF, madt_buf, madt_len);
    acpi_seal(mem + MADT_OFF, "APIC", (uint32_t)madt_len);
    if (xsdt) {
        memcpy(root + 36, &madt, 8);
        acpi_seal(root, "XSDT", 44);
    } else {
        uint32_t m32 = (uint32_t)madt;
        memcpy(root + 36, &m32, 4);
        acpi_seal(root, "RSDT", 40);
    }
    memcpy(r, "RSD PTR ", 8);
    r[15] = xsdt ? 2 : 0;
    if (xsdt) {
        uint64_t x = pa(ROOT_OFF);
        memcpy(r + 20, &len, 4);
        memcpy(r + 24, &x, 8);
    } else {
        memcpy(r + 16, &rsdt, 4);
    }
    r[8] = (uint8_t)-acpi_sum(r, 20);
    if (xsdt)
        r[32] = (uint8_t)-acpi_sum(r, 36);
    memset(&k_boot, 0, sizeof k_boot);
    k_boot.rsdp = pa(RSDP_OFF);
    acpi_msg[0] = 0;
}

static int setup(void)
{
    if (!(mem = acpi_mem())) {
        t_skip("cannot map %#lx bytes at %#lx for the tables", ACPI_SPAN, ACPI_BASE);
        return -1;
    }
    madt_begin(0xfee00000u);
    lapic(0, 1);
    lapic(1, 1);
    ioapic(IOAPIC_B, 0);
    return 0;
}

static void xsdt(void)
{
    struct k_madt m;

    if (setup())
        return;
    iso(0, 2, 0x5);
    place(1);
    CHECK_EQ(k_acpi_madt(&m), 0);
    CHECK_EQ(m.ncpus, 2);
    CHECK_EQ(m.apic_id[0], 0);
    CHECK_EQ(m.apic_id[1], 1);
    CHECK_EQ(m.lapic, 0xfee00000u);
    CHECK_EQ(m.ioapic, IOAPIC_B);
    CHECK_EQ(m.timer_gsi, 2);
    CHECK_EQ(m.timer_flags, 0x5);
    CHECK_EQ(m.timer_iso, 1);
    CHECK_EQ(m.flags, 1);
    CHECK_EQ(m.madt, pa(MADT_OFF));
    CHECK(strcmp(m.found_by, "start_info.rsdp_paddr") == 0);
}

static void rsdt(void)
{
    struct k_madt m;

    if (setup())
        return;
    place(0);
    CHECK_EQ(k_acpi_madt(&m), 0);
    CHECK_EQ(m.ncpus, 2);
    CHECK_EQ(m.timer_gsi, 0);
    CHECK_EQ(m.timer_iso, 0);
}

static void cpu_entries(void)
{
    struct k_madt m;
    uint8_t x2[16] = {9, 16};
    uint8_t over[12] = {5, 12};
    uint32_t id = 7, on = 1;
    uint64_t addr = 0xfed00000u;

    if (setup())
        return;
    lapic(2, 0); /* disabled */
    memcpy(x2 + 4, &id, 4);
    memcpy(x2 + 8, &on, 4);
    madt_add(x2, 16);
    for (uint8_t i = 10; i < 20; i++)
        lapic(i, 1);
    memcpy(over + 4, &addr, 8);
    madt_add(over, 12);
    place(1);
    CHECK_EQ(k_acpi_madt(&m), 0);
    CHECK_EQ(m.ncpus, K_MAX_CPUS);
    CHECK_EQ(m.apic_id[2], 7);
    CHECK_EQ(m.nignored, 3 + 10 - K_MAX_CPUS);
    CHECK_EQ(m.lapic, addr);
}

static void ioapic_choice(void)
{
    struct k_madt m;

    if (setup())
        return;
    ioapic(0xfec10000u, 24);
    iso(0, 30, 0);
    place(1);
    CHECK_EQ(k_acpi_madt(&m), 0);
    CHECK_EQ(m.ioapic, 0xfec10000u);
    CHECK_EQ(m.ioapic_gsi, 24);
}

struct refusal {
    const char *name;
    void (*break_it)(void);
    const char *msg;
};

static void b_rsdp_sum(void) { mem[RSDP_OFF + 8] ^= 1; }
static void b_root_sig(void) { memcpy(mem + ROOT_OFF, "XSDX", 4); }
static void b_root_sum(void) { mem[ROOT_OFF + 40] ^= 1; }
static void b_root_len(void)
{
    uint32_t len = 8;
    memcpy(mem + ROOT_OFF + 4, &len, 4);
}
static void b_root_far(void)
{
    uint64_t far = 0x7f0000000000ull;
    memcpy(mem + RSDP_OFF + 24, &far, 8);
    mem[RSDP_OFF + 32] = 0;
    mem[RSDP_OFF + 32] = (uint8_t)-acpi_sum(mem + RSDP_OFF, 36);
}
static void b_no_madt(void) { memcpy(mem + MADT_OFF, "FACP", 4); }
static void resealed_madt(void) { acpi_seal(mem + MADT_OFF, "APIC", (uint32_t)madt_len); }
static void b_entry_past(void)
{
    mem[MADT_OFF + 44 + 1] = 200; /* the first entry's length */
    resealed_madt();
}
static void b_entry_zero(void)
{
    mem[MADT_OFF + 44 + 1] = 0;
    resealed_madt();
}
static void b_entry_short(void)
{
    mem[MADT_OFF + 44 + 1] = 6; /* a local APIC entry needs 8 */
    resealed_madt();
}
static void b_twice(void)
{
    mem[MADT_OFF + 44 + 8 + 3] = 0; /* the second CPU gets the first's id */
    resealed_madt();
}
static void b_no_lapic(void)
{
    mem[MADT_OFF + 44 + 4] = 0, mem[MADT_OFF + 52 + 4] = 0; /* both disabled */
    resealed_madt();
}
static void b_no_ioapic(void)
{
    mem[MADT_OFF + 60] = 0x7f; /* the IOAPIC entry becomes an unknown type */
    resealed_madt();
}

static const struct refusal refusals[] = {
    {"rsdp checksum", b_rsdp_sum, "acpi: RSDP at 0x30000100: bad signature, checksum or length"},
    {"root signature", b_root_sig, "acpi: XSDT at 0x30000200: wrong signature"},
    {"root checksum", b_root_sum, "acpi: XSDT at 0x30000200: checksum mismatch"},
    {"root length", b_root_len, "acpi: XSDT at 0x30000200: length out of range"},
    {"root unmappable", b_root_far, "acpi: XSDT at 0x7f0000000000: not in memory the kernel can map"},
    {"no MADT", b_no_madt, "acpi: XSDT at 0x30000200: no MADT"},
    {"entry past the end", b_entry_past, "acpi: MADT at 0x30000400: an entry runs past the table"},
    {"entry of length 0", b_entry_zero, "acpi: MADT at 0x30000400: an entry runs past the table"},
    {"entry too short", b_entry_short, "acpi: MADT at 0x30000400: an entry is shorter than its type needs"},
    {"APIC id twice", b_twice, "acpi: MADT at 0x30000400: an APIC id is listed twice"},
    {"no local APIC", b_no_lapic, "acpi: MADT at 0x30000400: no enabled local APIC"},
    {"no IOAPIC", b_no_ioapic, "acpi: MADT at 0x30000400: no IOAPIC for the timer's interrupt"},
};

static void refusals_named(void)
{
    struct k_madt m;
    char want[200];

    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        if (setup())
            return;
        place(1);
        refusals[i].break_it();
        int r = k_acpi_madt(&m);
        snprintf(want, sizeof want, "%s: one CPU, 8259 PIC\n", refusals[i].msg);
        if (r != -1 || strcmp(acpi_msg, want) != 0)
            t_fail(__FILE__, __LINE__, "%s: returned %d, said \"%s\"; expected \"%s\"",
                   refusals[i].name, r, acpi_msg, want);
    }
}

static void no_rsdp(void)
{
    struct k_madt m;

    memset(&k_boot, 0, sizeof k_boot);
    CHECK_EQ(k_acpi_madt(&m), -1);
    CHECK(strstr(acpi_msg, "acpi: no RSDP (start_info.rsdp_paddr is 0, no legacy scan found "
                           "one): one CPU, 8259 PIC") != NULL);
}

/* The BIOS area, mapped at its real address for this case only. */
static void bios_scan(void)
{
    uint8_t *bios = mmap((void *)0xe0000, 0x20000, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    struct k_madt m;

    if (bios != (void *)0xe0000) {
        t_skip("cannot map the BIOS area at 0xe0000 here");
        return;
    }
    acpi_extra_lo = 0xe0000;
    acpi_extra_hi = 0x100000;
    if (setup() == 0) {
        place(1);
        memcpy(bios + 0x40, mem + RSDP_OFF, 36); /* 16-aligned, as the scan steps */
        memset(&k_boot, 0, sizeof k_boot);
        CHECK_EQ(k_acpi_madt(&m), -1); /* no map entry covers the area: not read */
        k_boot.nmemmap = 1;
        k_boot.memmap[0] = (struct k_memmap_entry){0xe0000, 0x20000, 2, 0};
        CHECK_EQ(k_acpi_madt(&m), 0);
        CHECK(m.found_by && strcmp(m.found_by, "the BIOS area scan") == 0);
        CHECK_EQ(m.rsdp, 0xe0040);
        CHECK_EQ(m.ncpus, 2);
    }
    acpi_extra_lo = 0;
    acpi_extra_hi = 0;
    munmap(bios, 0x20000);
}

T_CASES(T(xsdt), T(rsdt), T(cpu_entries), T(ioapic_choice), {"refusals", refusals_named},
        T(no_rsdp), T(bios_scan))
