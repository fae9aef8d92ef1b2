#include "image.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct find {
    uintptr_t want;
    struct pvr_image *im;
    int found;
};

int pvr_image_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX, *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < *lo)
            *lo = a;
        if (a + ph->p_memsz > *hi)
            *hi = a + ph->p_memsz;
    }
    return *hi != 0;
}

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find *f = arg;
    uintptr_t lo, hi;

    (void)size;
    if (!pvr_image_span(info, &lo, &hi) || f->want < lo || f->want >= hi)
        return 0;
    f->im->lo = lo, f->im->hi = hi;
    f->im->path = info->dlpi_name ? info->dlpi_name : "";
    f->found = 1;
    return 1;
}

int pvr_image_describe(struct pvr_image *im, const struct pvl_site *start,
                       const struct pvl_site *stop)
{
    struct find f = {(uintptr_t)start, im, 0};

    memset(im, 0, sizeof *im);
    if (!start || !stop || stop < start) {
        errno = ENOENT;
        return -1;
    }
    dl_iterate_phdr(find_object, &f);
    if (!f.found) {
        errno = ENOENT;
        return -1;
    }
    im->sites = start;
    im->nsites = (size_t)(stop - start);
    return 0;
}

struct find_exec {
    uintptr_t want;
    struct pvl_range *r;
    size_t cap, n;
};

static int exec_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_exec *f = arg;
    uintptr_t lo, hi;

    (void)size;
    if (!pvr_image_span(info, &lo, &hi) || f->want < lo || f->want >= hi)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && f->n < f->cap; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
            f->r[f->n++] = (struct pvl_range){a, a + ph->p_memsz};
    }
    return 1;
}

size_t pvr_image_exec(const struct pvr_image *im, struct pvl_range *r, size_t cap)
{
    struct find_exec f = {(uintptr_t)im->sites, r, cap, 0};

    dl_iterate_phdr(exec_segments, &f);
    return f.n;
}

/* Page span of the sites, from their records. */
static void site_span(const struct pvr_image *im, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX, *hi = 0;
    for (size_t i = 0; i < im->nsites; i++) {
        const struct pvl_site *s = &im->sites[i];
        uintptr_t a = (uintptr_t)pvl_rel(&s->addr);
        if (a < *lo)
            *lo = a;
        if (a + s->room > *hi)
            *hi = a + s->room;
    }
}

int pvr_image_writable(const struct pvr_image *im, int writable)
{
    uintptr_t lo, hi, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    int prot = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);

    if (!im->nsites)
        return 0;
    site_span(im, &lo, &hi);
    lo &= ~(pg - 1);
    hi = (hi + pg - 1) & ~(pg - 1);
    return mprotect((void *)lo, hi - lo, prot);
}

/* ------------------------------------------------------------------------
 * Placing memory within rel32 reach.  The free gaps between the mappings
 * listed in /proc/self/maps are searched for the place nearest to the
 * span, below it or above it, with every distance computed without
 * wrap-around: an object in the first GiB (a non-PIE executable at
 * 0x400000) or at the top of the address space gets memory as well.
 */

#define REACH ((uint64_t)INT32_MAX - 64) /* farthest byte a rel32 may reach */
#define LOW_TOP 0x7ffffffff000ull         /* end of the 47-bit user space */
#define HIGH_TOP 0xfffffffffff000ull      /* end of the 56-bit user space */

struct place {
    uintptr_t lo, hi, len, floor, top;
    uintptr_t best, dist; /* best candidate so far (0: none) */
};

/* Would [c, c + len) be reachable from every byte of [lo, hi), and back? */
static int reaches(const struct place *p, uintptr_t c)
{
    uintptr_t from = c < p->lo ? c : p->lo, to = c + p->len > p->hi ? c + p->len : p->hi;
    return to - from <= REACH;
}

/* Take (c) if it is the nearest place in reach so far. */
static void candidate(struct place *p, uintptr_t c)
{
    uintptr_t d = c + p->len <= p->lo ? p->lo - (c + p->len) : c >= p->hi ? c - p->hi : 0;

    if (!reaches(p, c))
        return;
    if (!p->best || d < p->dist)
        p->best = c, p->dist = d;
}

/* Consider the free gap [g0, g1): its places nearest to the span, below
 * it and above it (a span not mapped itself may lie inside the gap). */
static void consider(struct place *p, uintptr_t g0, uintptr_t g1, uintptr_t pg)
{
    uintptr_t below, above;

    g0 = g0 < p->floor ? p->floor : g0;
    g1 = g1 > p->top ? p->top : g1;
    if (g0 >= g1 || g1 - g0 < p->len)
        return;
    below = ((g1 < p->lo ? g1 : p->lo) - p->len) & ~(pg - 1);
    if ((g1 < p->lo ? g1 : p->lo) >= p->len && below >= g0)
        candidate(p, below);
    above = ((g0 > p->hi ? g0 : p->hi) + pg - 1) & ~(pg - 1);
    if (above >= g0 && above <= g1 - p->len)
        candidate(p, above);
}

static uintptr_t min_addr(void)
{
    unsigned long v = 65536;
    FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "re");

    if (f) {
        if (fscanf(f, "%lu", &v) != 1)
            v = 65536;
        fclose(f);
    }
    return v < 65536 ? 65536 : (uintptr_t)v;
}

/* The best free place for (p), from the current mappings; 0 if none. */
static uintptr_t find_place(struct place *p)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), prev = 0;
    unsigned long a, b;
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");

    if (!f)
        return 0;
    p->best = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &a, &b) == 2) {
            if (a > prev)
                consider(p, prev, a, pg);
            prev = b > prev ? b : prev;
        }
    fclose(f);
    consider(p, prev, p->top, pg);
    return p->best;
}

void *pvr_map_reach(uintptr_t lo, uintptr_t hi, size_t len, int prot, int flags, int fd)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct place pl = {lo, hi, (len + pg - 1) & ~(pg - 1), min_addr(), LOW_TOP, 0, 0};

    if (len == 0 || hi < lo || hi - lo > REACH) {
        errno = EINVAL;
        return NULL;
    }
    pl.top = hi > LOW_TOP ? HIGH_TOP : LOW_TOP;
    for (int tries = 0; tries < 8; tries++) { /* another thread may map meanwhile */
        uintptr_t c = find_place(&pl);
        if (!c)
            break;
        void *m = mmap((void *)c, len, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
        if (m == (void *)c)
            return m;
        if (m != MAP_FAILED) /* an old kernel took it as a hint */
            munmap(m, len);
        else if (errno != EEXIST)
            return NULL;
    }
    errno = ENOMEM;
    return NULL;
}

void *pvr_map_near(const void *near, size_t len)
{
    uintptr_t a = (uintptr_t)near;
    return pvr_map_reach(a, a + 1, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1);
}

void *pvr_rom_place(const void *near, const void *img, size_t len)
{
    void *p = pvr_map_near(near, len);

    if (!p)
        return NULL;
    memcpy(p, img, len);
    if (mprotect(p, len, PROT_READ | PROT_EXEC) != 0) {
        int e = errno;
        munmap(p, len);
        errno = e;
        return NULL;
    }
    return p;
}
