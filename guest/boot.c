/*
 * PVH boot information: hvm_start_info, the memory map and the command
 * line, copied into the kernel's own memory before anything below 1 MiB
 * is reused (QEMU keeps them in option-ROM memory there; Firecracker at
 * 0x6000, 0x7000 and 0x20000).
 *
 * All of it is untrusted input: every address is checked to lie in the
 * boot identity map, every count against our capacity, every sum for
 * overflow; the first problem is printed with the field it is in, and the
 * kernel does not go on with half-copied information.
 */
#include "kern.h"

#define START_INFO_MAGIC 0x336ec578u

/* xen/include/public/arch-x86/hvm/start_info.h, version 1. */
struct start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};
_Static_assert(sizeof(struct start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct k_memmap_entry) == 24, "memmap entry layout");

/* What the static boot page tables map (entry.S): [0, 1 GiB). */
#define BOOT_MAPPED (1ull << 30)

struct k_bootinfo k_boot;
/* Everything is copied here first and becomes k_boot only when all of it
 * was valid: a bad start_info changes nothing. */
static struct k_bootinfo staged;

/* Is [pa, pa + len) inside the boot mapping (and not at address 0)? */
static int boot_mapped(uint64_t pa, uint64_t len)
{
    return pa != 0 && pa < BOOT_MAPPED && len <= BOOT_MAPPED - pa;
}

static int copy_cmdline(uint64_t pa)
{
    const char *src = (const char *)(uintptr_t)pa;
    uint64_t cap = K_CMDLINE_MAX;

    if (pa == 0) /* absent: an empty command line */
        return staged.cmdline[0] = '\0', 0;
    if (!boot_mapped(pa, 1)) {
        k_printf("start_info.cmdline_paddr: %#llx is outside [0, 1 GiB)\n",
                 (unsigned long long)pa);
        return -1;
    }
    if (cap > BOOT_MAPPED - pa)
        cap = BOOT_MAPPED - pa;
    for (uint64_t i = 0; i < cap; i++) {
        staged.cmdline[i] = src[i];
        if (src[i] == '\0')
            return 0;
    }
    k_printf("start_info.cmdline_paddr: the command line at %#llx has no "
             "NUL within %u bytes\n",
             (unsigned long long)pa, K_CMDLINE_MAX);
    return -1;
}

static int check_entry(const struct k_memmap_entry *e, uint32_t i)
{
    if (e->size > UINT64_MAX - e->addr) {
        k_printf("start_info memmap[%u]: addr %#llx + size %#llx wraps\n", i,
                 (unsigned long long)e->addr, (unsigned long long)e->size);
        return -1;
    }
    if (e->type == K_E820_RAM && e->addr + e->size > staged.ram_top)
        staged.ram_top = e->addr + e->size;
    return 0;
}

static int copy_memmap(const struct start_info *si)
{
    uint64_t len = (uint64_t)si->memmap_entries * sizeof(struct k_memmap_entry);

    if (si->version < 1 || si->memmap_entries == 0)
        return 0; /* no map: nothing to copy */
    if (si->memmap_entries > K_MEMMAP_MAX) {
        k_printf("start_info.memmap_entries: %u, at most %u are supported\n",
                 si->memmap_entries, K_MEMMAP_MAX);
        return -1;
    }
    if (!boot_mapped(si->memmap_paddr, len)) {
        k_printf("start_info.memmap_paddr: %#llx (+%llu bytes) is outside "
                 "[0, 1 GiB)\n",
                 (unsigned long long)si->memmap_paddr, (unsigned long long)len);
        return -1;
    }
    memcpy(staged.memmap, (const void *)(uintptr_t)si->memmap_paddr, len);
    staged.nmemmap = si->memmap_entries;
    for (uint32_t i = 0; i < staged.nmemmap; i++)
        if (check_entry(&staged.memmap[i], i) != 0)
            return -1;
    return 0;
}

int k_boot_copy(uint64_t pa)
{
    struct start_info si;

    if (!boot_mapped(pa, sizeof si)) {
        k_printf("start_info: address %#llx (from %%ebx) is outside "
                 "(0, 1 GiB)\n",
                 (unsigned long long)pa);
        return -1;
    }
    memcpy(&si, (const void *)(uintptr_t)pa, sizeof si);
    if (si.magic != START_INFO_MAGIC) {
        k_printf("start_info.magic: %#x at %#llx, expected %#x (not a PVH "
                 "boot?)\n",
                 si.magic, (unsigned long long)pa, START_INFO_MAGIC);
        return -1;
    }
    memset(&staged, 0, sizeof staged);
    staged.version = si.version;
    staged.flags = si.flags;
    staged.rsdp = si.rsdp_paddr;
    if (copy_cmdline(si.cmdline_paddr) != 0 || copy_memmap(&si) != 0)
        return -1;
    memcpy(&k_boot, &staged, sizeof staged);
    return 0;
}

/* Is [pa, pa + len) inside entries of the memory map for which (want)
 * says yes?  Entries may be unsorted and adjacent: keep extending the
 * covered prefix until it stops growing. */
static int covered(uint64_t pa, uint64_t len, int ram_only)
{
    uint64_t end, at = pa;
    int grew = 1;

    if (len == 0 || len > UINT64_MAX - pa)
        return 0;
    end = pa + len;
    while (at < end && grew) {
        grew = 0;
        for (uint32_t i = 0; i < k_boot.nmemmap; i++) {
            const struct k_memmap_entry *e = &k_boot.memmap[i];
            if ((ram_only && e->type != K_E820_RAM) || e->size == 0)
                continue;
            if (e->addr <= at && at - e->addr < e->size) {
                at = e->addr + e->size;
                grew = 1;
            }
        }
    }
    return at >= end;
}

int k_boot_covered(uint64_t pa, uint64_t len)
{
    return covered(pa, len, 0);
}

int k_boot_is_ram(uint64_t pa, uint64_t len)
{
    return covered(pa, len, 1);
}
