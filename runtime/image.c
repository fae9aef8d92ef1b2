#include "image.h"

#include <errno.h>
#include <link.h>
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

void *pvr_map_near(const void *near, size_t len)
{
    const uintptr_t step = 16u << 20, reach = 1u << 30;
    uintptr_t base = (uintptr_t)near & ~(step - 1);

    if (len == 0) {
        errno = EINVAL;
        return NULL;
    }
    /* try below and above (near), 16 MiB apart, never replacing a mapping */
    for (uintptr_t d = step; d < reach; d += step) {
        uintptr_t cand[2] = {base - d, base + d};
        for (int k = 0; k < 2; k++) {
            if (cand[k] < (1u << 20))
                continue;
            void *p = mmap((void *)cand[k], len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (p != MAP_FAILED)
                return p;
            if (errno != EEXIST)
                return NULL;
        }
    }
    errno = ENOMEM;
    return NULL;
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
