/*
 * ACPI, as much as finding the CPUs takes: the RSDP (from PVH
 * start_info.rsdp_paddr, or the legacy scan of the EBDA's first KiB and of
 * the BIOS area [0xe0000, 0x100000)), the RSDT or XSDT it points at, and
 * the MADT: local APICs, IOAPICs, the override for ISA IRQ 0 (the PIT),
 * the local APIC address override.
 *
 * Everything here is untrusted: every table's signature, length and
 * checksum is checked before its contents are used, every entry's length
 * before its fields, and the first problem is printed (one line) with
 * where it is.  The legacy scan reads only memory the memory map
 * describes: the EBDA pointer (0x40e) only when the map says RAM there,
 * each area only when map entries cover it; a monitor that gives neither
 * start_info.rsdp_paddr nor such entries gets no read at all (a process
 * monitor has no BIOS area).
 */
#include "kern.h"

#define SDT_HEADER 36
#define MADT_FIRST 44          /* header, local APIC address, flags */
#define TABLE_MAX (1u << 20)   /* no table we read is that large */
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define BDA_EBDA_SEG 0x40e
#define EBDA_SCAN 1024
#define BIOS_AREA 0xe0000ull
#define BIOS_AREA_LEN 0x20000ull
#define LOW_MEM_END 0xa0000ull
#define MAX_IOAPICS 8

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_ADDR = 5, MADT_X2APIC = 9 };
#define LAPIC_ENABLED 0x1u

struct rsdp {
    char sig[8];
    uint8_t checksum;
    char oem[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum;
    uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct rsdp) == RSDP_V2_LEN, "RSDP layout");

struct ioapics {
    unsigned n;
    uint64_t addr[MAX_IOAPICS];
    uint32_t gsi[MAX_IOAPICS];
};

static int fail(const char *what, uint64_t at, const char *why)
{
    k_printf("acpi: %s at %#llx: %s: one CPU, 8259 PIC\n", what, (unsigned long long)at, why);
    return -1;
}

static uint8_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (n--)
        s += *b++;
    return s;
}

static uint32_t u32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Make [pa, pa + len) readable; page 0 and wrapping ranges are refused. */
static int reach(uint64_t pa, uint64_t len)
{
    if (pa < K_PAGE || len > UINT64_MAX - pa)
        return -1;
    return k_mm_identity(pa, len, 0);
}

/* Is there a valid RSDP at (pa)?  Its length is then in (*len). */
static int rsdp_valid(uint64_t pa, const struct rsdp *r, uint32_t *len)
{
    if (memcmp(r->sig, "RSD PTR ", 8) || sum(r, RSDP_V1_LEN))
        return 0;
    *len = r->revision >= 2 ? r->length : RSDP_V1_LEN;
    if (r->revision < 2)
        return 1;
    if (r->length < RSDP_V2_LEN || r->length > K_PAGE || reach(pa, r->length))
        return 0;
    return sum((const void *)(uintptr_t)pa, r->length) == 0;
}

/* The first valid RSDP in [pa, pa + len), at 16-byte steps, or 0. */
static uint64_t scan(uint64_t pa, uint64_t len)
{
    struct rsdp r;
    uint32_t rl;

    for (uint64_t a = pa; a + RSDP_V1_LEN <= pa + len; a += 16) {
        memcpy(&r, (const void *)(uintptr_t)a, RSDP_V1_LEN);
        if (a + sizeof r <= pa + len)
            memcpy(&r, (const void *)(uintptr_t)a, sizeof r);
        if (rsdp_valid(a, &r, &rl))
            return a;
    }
    return 0;
}

static uint64_t find_rsdp(const char **how)
{
    uint64_t a = 0;
    uintptr_t bda = BDA_EBDA_SEG;
    uint16_t seg;

    if (k_boot.rsdp)
        return *how = "start_info.rsdp_paddr", k_boot.rsdp;
    if (k_boot_is_ram(BDA_EBDA_SEG, 2)) {
        /* GCC takes any address below 4 KiB for an invalid object: the
         * empty asm hides that this one is the BIOS data area's */
        __asm__("" : "+r"(bda));
        seg = *(const volatile uint16_t *)bda;
        uint64_t ebda = (uint64_t)seg << 4;
        if (ebda >= K_PAGE && ebda + EBDA_SCAN <= LOW_MEM_END &&
            k_boot_covered(ebda, EBDA_SCAN) && (a = scan(ebda, EBDA_SCAN)))
            return *how = "the EBDA scan", a;
    }
    if (k_boot_covered(BIOS_AREA, BIOS_AREA_LEN) && (a = scan(BIOS_AREA, BIOS_AREA_LEN)))
        return *how = "the BIOS area scan", a;
    return 0;
}

/* Check the table at (pa): readable, signature (sig) unless NULL, length,
 * checksum.  Returns its length, or 0 after printing why not. */
static uint32_t table(uint64_t pa, const char *sig, const char *what)
{
    const uint8_t *t = (const uint8_t *)(uintptr_t)pa;
    uint32_t len;

    if (reach(pa, SDT_HEADER))
        return fail(what, pa, "not in memory the kernel can map"), 0;
    len = u32_at(t + 4);
    if (sig && memcmp(t, sig, 4))
        return fail(what, pa, "wrong signature"), 0;
    if (len < SDT_HEADER || len > TABLE_MAX)
        return fail(what, pa, "length out of range"), 0;
    if (reach(pa, len))
        return fail(what, pa, "not in memory the kernel can map"), 0;
    if (sum(t, len))
        return fail(what, pa, "checksum mismatch"), 0;
    return len;
}

/* The MADT among the root table's entries (4 or 8 bytes each), or 0. */
static uint64_t find_madt(uint64_t root, uint32_t len, unsigned esize)
{
    const uint8_t *t = (const uint8_t *)(uintptr_t)root;

    for (uint32_t off = SDT_HEADER; off + esize <= len; off += esize) {
        uint64_t pa = esize == 8 ? u64_at(t + off) : u32_at(t + off);
        if (pa < K_PAGE || reach(pa, SDT_HEADER))
            continue; /* an entry we cannot read is not the MADT */
        if (!memcmp((const void *)(uintptr_t)pa, "APIC", 4))
            return pa;
    }
    return 0;
}

static int add_cpu(struct k_madt *m, uint32_t id, uint64_t at)
{
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->apic_id[i] == id)
            return fail("MADT", at, "an APIC id is listed twice");
    if (m->ncpus == K_MAX_CPUS)
        return m->nignored++, 0;
    m->apic_id[m->ncpus++] = id;
    return 0;
}

/* One MADT entry of (len) bytes at (e). */
static int entry(struct k_madt *m, struct ioapics *io, const uint8_t *e, uint8_t len,
                 uint64_t at)
{
    static const uint8_t min_len[] = {[MADT_LAPIC] = 8, [MADT_IOAPIC] = 12, [MADT_ISO] = 10,
                                      [MADT_LAPIC_ADDR] = 12, [MADT_X2APIC] = 16};

    if (e[0] < sizeof min_len && len < min_len[e[0]])
        return fail("MADT", at, "an entry is shorter than its type needs");
    switch (e[0]) {
    case MADT_LAPIC:
        return (u32_at(e + 4) & LAPIC_ENABLED) ? add_cpu(m, e[3], at) : 0;
    case MADT_X2APIC: /* usable through the xAPIC registers below 255 */
        if (!(u32_at(e + 8) & LAPIC_ENABLED))
            return 0;
        return u32_at(e + 4) < 0xff ? add_cpu(m, u32_at(e + 4), at) : (m->nignored++, 0);
    case MADT_IOAPIC:
        if (io->n < MAX_IOAPICS)
            io->addr[io->n] = u32_at(e + 4), io->gsi[io->n++] = u32_at(e + 8);
        return 0;
    case MADT_ISO:
        if (e[2] == 0 && e[3] == 0) /* ISA bus, IRQ 0 */
            m->timer_gsi = u32_at(e + 4), m->timer_flags = (uint16_t)(e[8] | e[9] << 8),
            m->timer_iso = 1;
        return 0;
    case MADT_LAPIC_ADDR:
        m->lapic = u64_at(e + 4);
        return 0;
    default:
        return 0;
    }
}

/* The IOAPIC whose GSIs start at or below the timer's, closest to it. */
static int pick_ioapic(struct k_madt *m, const struct ioapics *io, uint64_t at)
{
    for (unsigned i = 0; i < io->n; i++)
        if (io->gsi[i] <= m->timer_gsi && (!m->ioapic || io->gsi[i] > m->ioapic_gsi))
            m->ioapic = io->addr[i], m->ioapic_gsi = io->gsi[i];
    if (!m->ncpus)
        return fail("MADT", at, "no enabled local APIC");
    if (!m->ioapic)
        return fail("MADT", at, "no IOAPIC for the timer's interrupt");
    return 0;
}

static int parse_madt(struct k_madt *m, uint64_t pa, uint32_t len)
{
    const uint8_t *t = (const uint8_t *)(uintptr_t)pa;
    struct ioapics io = {0};

    if (len < MADT_FIRST)
        return fail("MADT", pa, "shorter than its fixed fields");
    m->lapic = u32_at(t + SDT_HEADER);
    m->flags = u32_at(t + SDT_HEADER + 4);
    for (uint32_t off = MADT_FIRST; off < len;) {
        uint8_t elen = off + 2 <= len ? t[off + 1] : 0;
        if (elen < 2 || elen > len - off)
            return fail("MADT", pa, "an entry runs past the table");
        if (entry(m, &io, t + off, elen, pa))
            return -1;
        off += elen;
    }
    return pick_ioapic(m, &io, pa);
}

int k_acpi_madt(struct k_madt *m)
{
    const char *how = 0;
    uint64_t rp = find_rsdp(&how), root;
    struct rsdp r;
    uint32_t rlen, len;
    int x;

    *m = (struct k_madt){0};
    if (!rp) {
        k_printf("acpi: no RSDP (start_info.rsdp_paddr is 0, no legacy scan found one): "
                 "one CPU, 8259 PIC\n");
        return -1;
    }
    if (reach(rp, RSDP_V1_LEN))
        return fail("RSDP", rp, "not in memory the kernel can map");
    memset(&r, 0, sizeof r);
    memcpy(&r, (const void *)(uintptr_t)rp, RSDP_V1_LEN);
    if (r.revision >= 2 && !reach(rp, sizeof r))
        memcpy(&r, (const void *)(uintptr_t)rp, sizeof r);
    if (!rsdp_valid(rp, &r, &rlen))
        return fail("RSDP", rp, "bad signature, checksum or length");
    x = r.revision >= 2 && r.xsdt;
    root = x ? r.xsdt : r.rsdt;
    if (!(len = table(root, x ? "XSDT" : "RSDT", x ? "XSDT" : "RSDT")))
        return -1;
    m->rsdp = rp, m->found_by = how;
    if (!(m->madt = find_madt(root, len, x ? 8 : 4)))
        return fail(x ? "XSDT" : "RSDT", root, "no MADT");
    if (!(len = table(m->madt, "APIC", "MADT")))
        return -1;
    return parse_madt(m, m->madt, len);
}
