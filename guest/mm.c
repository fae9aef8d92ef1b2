/*
 * Page tables.  The boot tables (entry.S) identity-map [0, 1 GiB) and hold
 * an empty 4 KiB window at K_WIN_BASE.  Every change made after boot goes
 * through the set_pte site and, where a present entry changes, the
 * flush_tlb_one site, so that an environment doing shadow or checked page
 * tables sees each of them.
 *
 * Physical and virtual addresses are the same in the identity map, so a
 * table's physical address is also where we write it.
 */
#include "kern.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

#define GIB (1ull << 30)
/* Identity mappings stay below the window's 1 GiB slot of the PDPT. */
#define IDENTITY_LIMIT K_WIN_BASE
/* Page directories for identity mappings beyond the first GiB. */
#define PD_POOL 8

extern uint64_t k_pdpt[512], k_pt0[512], k_win_pt[512];

static uint64_t pd_pool[PD_POOL][512] __attribute__((aligned(4096)));
static unsigned pd_used;
static uint8_t scratch[K_SCRATCH_PAGES][4096] __attribute__((aligned(4096)));

void k_mm_init(void)
{
    /* Page 0 stays unmapped from here on, so that a null pointer faults.
     * start_info has been copied, and nothing else lives there. */
    pvk_set_pte(&k_pt0[0], 0);
    pvk_flush_tlb_one((const void *)0);
}

/* The page directory for the GiB holding (pa), made present if need be. */
static uint64_t *pd_for(uint64_t pa)
{
    volatile uint64_t *pdpte = &k_pdpt[pa / GIB];

    if (*pdpte & PTE_P)
        return (uint64_t *)(uintptr_t)(*pdpte & PTE_ADDR);
    if (pd_used == PD_POOL)
        return 0;
    uint64_t *pd = pd_pool[pd_used++];
    pvk_set_pte(pdpte, (uintptr_t)pd | PTE_P | PTE_W);
    return pd;
}

int k_mm_identity(uint64_t pa, uint64_t len, int uc)
{
    uint64_t flags = PTE_P | PTE_W | PTE_PS | (uc ? PTE_PCD | PTE_PWT : 0);
    uint64_t lo = pa & ~(K_HUGE - 1), end;

    if (len == 0)
        return 0;
    if (len > IDENTITY_LIMIT || pa > IDENTITY_LIMIT - len) {
        k_printf("mm: cannot map [%#llx, +%#llx): the identity map ends at "
                 "%#llx\n",
                 (unsigned long long)pa, (unsigned long long)len,
                 (unsigned long long)IDENTITY_LIMIT);
        return -1;
    }
    end = pa + len;
    for (uint64_t a = lo; a < end; a += K_HUGE) {
        uint64_t *pd = pd_for(a);
        if (!pd) {
            k_printf("mm: out of page directories mapping %#llx\n",
                     (unsigned long long)a);
            return -1;
        }
        volatile uint64_t *pde = &pd[(a / K_HUGE) % 512];
        if (!(*pde & PTE_P))
            pvk_set_pte(pde, a | flags);
    }
    return 0;
}

volatile uint64_t *k_win_pte(unsigned i)
{
    return &k_win_pt[i % K_WIN_PAGES];
}

void *k_win_map(unsigned i, uint64_t pa)
{
    /* a not-present entry is never cached, so no flush is needed */
    pvk_set_pte(k_win_pte(i), (pa & PTE_ADDR) | PTE_P | PTE_W);
    return (void *)(uintptr_t)(K_WIN_BASE + (uint64_t)(i % K_WIN_PAGES) * K_PAGE);
}

void k_win_unmap(unsigned i)
{
    pvk_set_pte(k_win_pte(i), 0);
    pvk_flush_tlb_one((const void *)(uintptr_t)(K_WIN_BASE +
                                                (uint64_t)(i % K_WIN_PAGES) * K_PAGE));
}

uint64_t k_scratch_frame(unsigned i)
{
    return (uintptr_t)scratch[i % K_SCRATCH_PAGES];
}
