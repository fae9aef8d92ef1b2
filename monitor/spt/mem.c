/*
 * Guest memory and the guest's page tables, as process mappings.
 *
 * Guest RAM is a memfd, seen by the monitor through one shared mapping
 * (spt_phys).  The process's addresses [SPT_VA_LO, SPT_VA_HI) are the
 * guest's virtual addresses: each page its tables map is a MAP_SHARED
 * mapping of its frame in the memfd, with the protection the tables give a
 * CPL0 access (writable if every level allows it or CR0.WP is clear,
 * executable unless NX); everything else is an anonymous PROT_NONE
 * reservation, so that nothing of the monitor's ever lands there.
 *
 * The mappings are the guest's TLB.  A CR3 (or CR0/CR4/EFER) reload maps
 * everything the tables say; invlpg refreshes the entry covering one page;
 * set_pte through the ROM stores the entry and refreshes what it controls
 * (the table pages' positions are remembered during walks); and a host page
 * fault on a page the tables do allow is a TLB miss: the page is mapped and
 * the instruction runs again.  So a native store to a page table behaves
 * as on hardware: seen at the next flush, or at once if nothing was mapped.
 *
 * Supported: 4-level long-mode paging with 4 KiB, 2 MiB and 1 GiB pages,
 * or paging off.  A page the tables map but the process cannot (page 0,
 * which mmap_min_addr forbids; frames outside RAM; addresses at or above
 * SPT_VA_HI) ends the run when the guest touches it.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "spt.h"

uint8_t *spt_phys;
uint64_t spt_ram;
static int memfd = -1;
/* The guarded page (spt_mmu_guard), when guard_on. */
static uint64_t guard_va;
static bool guard_on;

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define LEVELS 4

/* Bytes one entry covers at table level (1 = PT .. 4 = PML4). */
static uint64_t span(unsigned level)
{
    return 1ull << (12 + 9 * (level - 1));
}

static uint64_t canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16);
}

void *spt_pa(uint64_t pa, uint64_t len)
{
    if (pa > spt_ram || len > spt_ram - pa)
        return NULL;
    return spt_phys + pa;
}

/* ------------------------------------------------------------------------
 * Host mappings.
 */

static long sys_mmap(uint64_t va, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
    return spt_syscall(SYS_mmap, (long)va, (long)len, prot, flags, fd, (long)off);
}

static void map_failed(long r, uint64_t va, uint64_t len)
{
    if (r == -ENOMEM)
        spt_stop(MON_EXIT_GUEST, 0, "the guest's page tables need more distinct mappings than "
                 "the process may have (vm.max_map_count), at %#llx",
                 (unsigned long long)va);
    spt_stop(MON_EXIT_HOST, 0, "mmap of guest page(s) [%#llx, +%#llx) failed (errno %ld)",
             (unsigned long long)va, (unsigned long long)len, -r);
}

/* Clip [*va, *va + *len) to the guest's part of the address space. */
static int clip(uint64_t *va, uint64_t *len, uint64_t *pa)
{
    uint64_t end = *va + *len;

    if (*va < SPT_VA_LO) {
        if (end <= SPT_VA_LO)
            return 0;
        if (pa)
            *pa += SPT_VA_LO - *va;
        *va = SPT_VA_LO;
    }
    if (end > SPT_VA_HI || end < *va)
        end = SPT_VA_HI;
    if (*va >= end)
        return 0;
    *len = end - *va;
    return 1;
}

static void unmap(uint64_t va, uint64_t len)
{
    long r;

    if (!clip(&va, &len, NULL))
        return;
    r = sys_mmap(va, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                 -1, 0);
    if (r < 0)
        map_failed(r, va, len);
}

static void map_pages(uint64_t va, uint64_t pa, uint64_t len, int prot)
{
    long r = sys_mmap(va, len, prot, MAP_SHARED | MAP_FIXED, memfd, pa);

    if (r < 0)
        map_failed(r, va, len);
}

/* Map [va, +len) onto frames [pa, +len); what lies outside RAM stays
 * unmapped (and ends the run when touched, see spt_mmu_fault).  The
 * guarded page stays read-only. */
static void map(uint64_t va, uint64_t pa, uint64_t len, int prot)
{
    if (!clip(&va, &len, &pa) || pa >= spt_ram)
        return;
    if (len > spt_ram - pa)
        len = spt_ram - pa;
    map_pages(va, pa, len, prot);
    if (guard_on && (prot & PROT_WRITE) && guard_va - va < len)
        map_pages(guard_va, pa + (guard_va - va), SPT_PAGE, prot & ~PROT_WRITE);
}

/* Runs of leaves that continue each other become one mmap. */
struct run {
    uint64_t va, pa, len;
    int prot;
};

static void spend(void);

static void run_flush(struct run *u)
{
    if (u->len) {
        spend();
        map(u->va, u->pa, u->len, u->prot);
    }
    u->len = 0;
}

static void run_add(struct run *u, uint64_t va, uint64_t pa, uint64_t len, int prot)
{
    if (u->len && u->va + u->len == va && u->pa + u->len == pa && u->prot == prot) {
        u->len += len;
        return;
    }
    run_flush(u);
    *u = (struct run){va, pa, len, prot};
}

void spt_mem_init(int fd, uint8_t *phys, uint64_t size)
{
    memfd = fd, spt_phys = phys, spt_ram = size;
}

/* ------------------------------------------------------------------------
 * Walking the guest's tables.
 */

static bool paging(void)
{
    return (spt_cpu.cr0 & CR0_PG) != 0;
}

/* Reserved bits of an entry at (level) that is present. */
static uint64_t reserved(unsigned level, uint64_t e)
{
    uint64_t r = 0;

    if (!(spt_cpu.efer & EFER_NXE))
        r |= PTE_NX;
    if (level == 4)
        r |= PTE_PS;
    if (level == 3 && (e & PTE_PS))
        r |= 0x3fffe000ull; /* bits 29:13 */
    if (level == 2 && (e & PTE_PS))
        r |= 0x1fe000ull; /* bits 20:13 */
    return e & r;
}

static int read_entry(uint64_t table, unsigned idx, uint64_t *e)
{
    const uint8_t *p = spt_pa(table + idx * 8ull, 8);

    if (!p)
        spt_stop(MON_EXIT_GUEST, 0, "a page table at guest-physical %#llx lies outside RAM",
                 (unsigned long long)table);
    __builtin_memcpy(e, p, 8);
    return 0;
}

/* What a walk found. */
struct walk {
    uint64_t pa;       /* frame of the leaf plus the page offset */
    uint64_t leaf_va;  /* first address the leaf maps */
    uint64_t size;     /* bytes the leaf maps (or the hole, if not present) */
    unsigned level;    /* level where the walk stopped */
    bool present, w, x;
    uint32_t err;      /* #PF error code bits if the access is refused */
};

static int prot_of(bool w, bool x)
{
    return PROT_READ | (w || !(spt_cpu.cr0 & CR0_WP) ? PROT_WRITE : 0) | (x ? PROT_EXEC : 0);
}

/* Walk (va) from the current CR3. */
static void walk(uint64_t va, struct walk *w)
{
    uint64_t table = spt_cpu.cr3 & PTE_ADDR, e = 0;

    *w = (struct walk){.w = true, .x = true};
    if (!paging()) {
        w->present = true, w->pa = va, w->size = SPT_PAGE, w->leaf_va = va & ~(SPT_PAGE - 1);
        return;
    }
    for (unsigned level = LEVELS; level >= 1; level--) {
        unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
        read_entry(table, idx, &e);
        w->level = level;
        w->size = span(level);
        w->leaf_va = va & ~(span(level) - 1);
        if (!(e & PTE_P))
            return;
        if (reserved(level, e)) {
            w->err = PFE_RSVD | PFE_P;
            return;
        }
        w->w &= (e & PTE_W) != 0;
        w->x &= !(e & PTE_NX);
        if (level == 1 || (e & PTE_PS)) {
            w->present = true;
            w->pa = (e & PTE_ADDR & ~(span(level) - 1)) + (va & (span(level) - 1));
            return;
        }
        table = e & PTE_ADDR;
    }
}

/* Is the access (acc) allowed by (w)?  Else sets w->err. */
static bool allowed(struct walk *w, unsigned acc)
{
    if (w->err)
        return false;
    if (!w->present) {
        w->err = acc & (PFE_W | PFE_I);
        return false;
    }
    if ((acc & PFE_W) && !w->w && (spt_cpu.cr0 & CR0_WP))
        w->err = PFE_P | PFE_W;
    else if ((acc & PFE_I) && !w->x)
        w->err = PFE_P | PFE_I;
    return !w->err;
}

static int raise_pf(uint64_t va, uint32_t err)
{
    if (!(spt_cpu.efer & EFER_NXE))
        err &= ~PFE_I;
    spt_cpu.cr2 = va;
    return spt_raise(V_PF, 1, err);
}

int spt_translate(uint64_t va, unsigned acc, uint64_t *pa)
{
    struct walk w;

    if (spt_cpu.efer & EFER_LMA) {
        if (canonical(va) != va)
            return spt_raise(V_GP, 1, 0);
    } else {
        va &= 0xffffffffull;
    }
    walk(va, &w);
    if (!allowed(&w, acc))
        return raise_pf(va, w.err | (acc & (PFE_W | PFE_I)));
    *pa = w.pa;
    return SPT_OK;
}

/* Copy between guest virtual memory and (buf), page by page. */
static int vcopy(uint64_t va, uint8_t *buf, size_t n, unsigned acc, bool to_guest)
{
    while (n) {
        uint64_t pa, chunk = SPT_PAGE - (va & (SPT_PAGE - 1));
        uint8_t *p;

        if (spt_translate(va, acc, &pa) != SPT_OK)
            return SPT_EXC;
        if (chunk > n)
            chunk = n;
        if (!(p = spt_pa(pa, chunk)))
            spt_stop(MON_EXIT_GUEST, 0, "guest address %#llx maps guest-physical %#llx, "
                     "which is not RAM", (unsigned long long)va, (unsigned long long)pa);
        for (uint64_t i = 0; i < chunk; i++) {
            if (to_guest)
                p[i] = buf[i];
            else
                buf[i] = p[i];
        }
        va += chunk, buf += chunk, n -= chunk;
    }
    return SPT_OK;
}

int spt_vread(uint64_t va, void *dst, size_t n, unsigned acc)
{
    return vcopy(va, dst, n, acc, false);
}

int spt_vwrite(uint64_t va, const void *src, size_t n)
{
    return vcopy(va, (uint8_t *)src, n, PFE_W, true);
}

/* ------------------------------------------------------------------------
 * Where each page-table page sits: (level, first address it maps), so that
 * a set_pte through the ROM knows which addresses its entry controls.  An
 * entry is checked against the current tables before it is believed; a
 * page found at two places, or a full table, makes set_pte fall back to
 * storing only (the hardware's behaviour: the next flush sees it).
 */
#define RMAP_SIZE 4096u /* power of two */

struct rmap_ent {
    uint64_t pa;   /* table page + 1; 0 = free */
    uint64_t va;
    uint8_t level; /* 0: ambiguous */
};
static struct rmap_ent rmap[RMAP_SIZE];
static unsigned rmap_used;

static void rmap_clear(void)
{
    for (unsigned i = 0; i < RMAP_SIZE; i++)
        rmap[i].pa = 0;
    rmap_used = 0;
}

static struct rmap_ent *rmap_slot(uint64_t pa)
{
    unsigned h = (unsigned)((pa >> 12) * 0x9e3779b1u) & (RMAP_SIZE - 1);

    for (unsigned i = 0; i < RMAP_SIZE; i++, h = (h + 1) & (RMAP_SIZE - 1))
        if (rmap[h].pa == 0 || rmap[h].pa == pa + 1)
            return &rmap[h];
    return NULL;
}

static void rmap_add(uint64_t pa, unsigned level, uint64_t va)
{
    struct rmap_ent *e;

    if (rmap_used >= RMAP_SIZE / 2 || !(e = rmap_slot(pa)))
        return; /* set_pte on an unknown table stores only */
    if (e->pa == 0) {
        *e = (struct rmap_ent){pa + 1, va, (uint8_t)level};
        rmap_used++;
    } else if (e->level != level || e->va != va) {
        e->level = 0;
    }
}

/*
 * Walking every table is work the guest controls: tables that point back
 * at themselves multiply it by 512 per level, in a signal handler that no
 * timeout interrupts, and every run of pages is a mapping the process may
 * have only so many of (vm.max_map_count, 65530 by default).  A walk may
 * visit WALK_BUDGET tables and make as many mappings; the reference
 * kernel's take about ten of each.
 */
#define WALK_BUDGET 32768u
static unsigned walk_budget = WALK_BUDGET;

static void spend(void)
{
    if (!walk_budget--)
        spt_stop(MON_EXIT_GUEST, 0, "the guest's page tables need more than %u tables or "
                 "runs of pages (tables that point back at themselves?)", WALK_BUDGET);
}

/* Map everything table (pa) at (level) maps from (va) on, given the
 * rights the levels above grant. */
static void map_table(struct run *u, uint64_t pa, unsigned level, uint64_t va, bool w, bool x)
{
    spend();
    rmap_add(pa, level, va);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e, a = canonical(va + i * span(level));
        read_entry(pa, i, &e);
        if (!(e & PTE_P) || reserved(level, e) || a >= SPT_VA_HI)
            continue;
        bool ew = w && (e & PTE_W), ex = x && !(e & PTE_NX);
        if (level == 1 || (e & PTE_PS))
            run_add(u, a, e & PTE_ADDR & ~(span(level) - 1), span(level), prot_of(ew, ex));
        else
            map_table(u, e & PTE_ADDR, level - 1, a, ew, ex);
    }
}

void spt_mmu_reload(void)
{
    struct run u = {0};

    spt_st.reloads++;
    unmap(SPT_VA_LO, SPT_VA_HI - SPT_VA_LO);
    rmap_clear();
    if (!paging()) {
        map(SPT_VA_LO, SPT_VA_LO, spt_ram, PROT_READ | PROT_WRITE | PROT_EXEC);
        return;
    }
    walk_budget = WALK_BUDGET;
    map_table(&u, spt_cpu.cr3 & PTE_ADDR, LEVELS, 0, true, true);
    run_flush(&u);
}

/* Make the mapping of [w->leaf_va, +w->size) what the walk found. */
static void refresh(const struct walk *w)
{
    if (w->present && !w->err)
        map(w->leaf_va, w->pa - (w->pa & (w->size - 1)), w->size, prot_of(w->w, w->x));
    else
        unmap(w->leaf_va, w->size);
}

void spt_mmu_flush_page(uint64_t va)
{
    struct walk w;

    spt_st.page_updates++;
    if (canonical(va) != va)
        return;
    walk(va, &w);
    refresh(&w);
}

/* The rights the levels above (level) grant for (va), if table (pa) is
 * still where the reverse map says; false if it is not. */
static bool still_there(uint64_t pa, unsigned level, uint64_t va, bool *w, bool *x)
{
    uint64_t table = spt_cpu.cr3 & PTE_ADDR, e;

    *w = *x = true;
    for (unsigned l = LEVELS; l > level; l--) {
        read_entry(table, (va >> (12 + 9 * (l - 1))) & 511, &e);
        if (!(e & PTE_P) || (e & PTE_PS) || reserved(l, e))
            return false;
        *w &= (e & PTE_W) != 0;
        *x &= !(e & PTE_NX);
        table = e & PTE_ADDR;
    }
    return table == pa;
}

int spt_mmu_set_pte(uint64_t ptep, uint64_t val)
{
    uint64_t pa, table, va, e, frame;
    struct rmap_ent *r;
    struct run u = {0};
    bool w, x, leaf;

    if (spt_vwrite(ptep, &val, 8) != SPT_OK)
        return SPT_EXC;
    spt_st.page_updates++;
    if (!paging() || (ptep & 7) || spt_translate(ptep, 0, &pa) != SPT_OK)
        return SPT_OK;
    table = pa & PTE_ADDR;
    if (!(r = rmap_slot(table)) || r->pa != table + 1 || !r->level ||
        !still_there(table, r->level, r->va, &w, &x))
        return SPT_OK; /* not a table we know: seen at the next flush */
    va = canonical(r->va + ((pa & 0xfff) / 8) * span(r->level));
    read_entry(table, (unsigned)((pa & 0xfff) / 8), &e);
    w &= (e & PTE_W) != 0, x &= !(e & PTE_NX);
    leaf = r->level == 1 || (e & PTE_PS);
    frame = e & PTE_ADDR & ~(span(r->level) - 1);
    if (!(e & PTE_P) || reserved(r->level, e) || !leaf || frame + span(r->level) > spt_ram)
        unmap(va, span(r->level)); /* a leaf in RAM replaces what was there */
    if (!(e & PTE_P) || reserved(r->level, e) || va >= SPT_VA_HI)
        return SPT_OK;
    if (leaf)
        map(va, frame, span(r->level), prot_of(w, x));
    else
        walk_budget = WALK_BUDGET, map_table(&u, e & PTE_ADDR, r->level - 1, va, w, x);
    run_flush(&u);
    return SPT_OK;
}

/* ------------------------------------------------------------------------
 * Host page faults.
 */

/* Why the process cannot map what the walk found, or NULL if it can. */
static const char *unmappable(const struct walk *w, uint64_t va)
{
    if (va < SPT_VA_LO)
        return "page 0, which no process may map (vm.mmap_min_addr)";
    if (va >= SPT_VA_HI)
        return "an address above pvlink-spt's guest address space (64 TiB)";
    if (w->pa >= spt_ram)
        return "a guest-physical page that is not RAM";
    return NULL;
}

int spt_mmu_fault(uint64_t va, uint32_t err, uint64_t rip)
{
    static uint64_t last_va = 1, last_rip, last_event;
    unsigned acc = err & (PFE_W | PFE_I);
    const char *why;
    struct walk w;

    if (spt_cpu.efer & EFER_LMA ? canonical(va) != va : va > 0xffffffffull)
        return spt_raise(V_GP, 1, 0);
    walk(va, &w);
    if (!allowed(&w, acc))
        return raise_pf(va, w.err | acc);
    if (guard_on && (acc & PFE_W) && (va & ~(SPT_PAGE - 1)) == guard_va)
        return SPT_GUARD;
    if ((why = unmappable(&w, va)) != NULL)
        spt_stop(MON_EXIT_GUEST, rip, "the guest touched %#llx, mapped to %#llx: %s",
                 (unsigned long long)va, (unsigned long long)w.pa, why);
    if (va == last_va && rip == last_rip && last_event + 1 == spt_events)
        spt_stop(MON_EXIT_HOST, rip, "the page at %#llx faults again after it was mapped",
                 (unsigned long long)va);
    last_va = va, last_rip = rip, last_event = spt_events;
    spt_st.page_syncs++;
    refresh(&w);
    return SPT_RETRY;
}

/* ------------------------------------------------------------------------
 * The guard over the virtual flags: read-only while an interrupt waits
 * for IF, so that the store that sets IF traps (the ROM's templates do not
 * otherwise enter the monitor).
 */
/* Map the one page at (va) as the tables say, read-only if guarded. */
static void guard_page(uint64_t va)
{
    struct walk w;
    uint64_t pa;

    walk(va, &w);
    pa = w.pa & ~(SPT_PAGE - 1);
    if (!w.present || w.err || pa >= spt_ram)
        unmap(va, SPT_PAGE);
    else
        map_pages(va, pa, SPT_PAGE,
                  prot_of(w.w, w.x) & ~(guard_on && va == guard_va ? PROT_WRITE : 0));
}

void spt_mmu_guard(uint64_t va, bool on)
{
    va &= ~(SPT_PAGE - 1);
    if (on == guard_on && (!on || va == guard_va))
        return;
    if (guard_on) { /* lift the old one */
        guard_on = false;
        guard_page(guard_va);
    }
    if (!on || va < SPT_VA_LO || va >= SPT_VA_HI)
        return;
    guard_va = va, guard_on = true;
    spt_st.guards++;
    guard_page(va);
}
