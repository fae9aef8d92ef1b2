/*
 * The running process as a linker sees it: one loaded object's site table
 * and bounds, making its text writable for a link, and mapping a ROM close
 * enough to be reached by call rel32.  Hosted (Linux).
 */
#ifndef PVR_IMAGE_H
#define PVR_IMAGE_H

#include <pvlink/link.h>

struct pvr_image {
    const struct pvl_site *sites;
    size_t nsites;
    uintptr_t lo, hi; /* the object's loaded span */
    const char *path; /* "" for the executable */
};

/*
 * Describe the loaded object whose site table is [start, stop).  Returns 0,
 * or -1 with errno set (ENOENT: no loaded object contains the table).
 */
int pvr_image_describe(struct pvr_image *im, const struct pvl_site *start,
                       const struct pvl_site *stop);

struct dl_phdr_info;

/* The span [*lo, *hi) of the PT_LOAD segments of one loaded object, as
 * dl_iterate_phdr describes it.  Returns 0 if it has none. */
int pvr_image_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);

/* The calling object's own table: the linker-made bounds of its
 * pvlink_sites section, hidden so that each object sees its own. */
extern const struct pvl_site __start_pvlink_sites[]
    __attribute__((weak, visibility("hidden")));
extern const struct pvl_site __stop_pvlink_sites[]
    __attribute__((weak, visibility("hidden")));

static inline int pvr_image_self(struct pvr_image *im)
{
    return pvr_image_describe(im, __start_pvlink_sites, __stop_pvlink_sites);
}

/* The executable segments of the object holding the image's sites, as
 * ranges for struct pvl_link (at most (cap)).  Returns how many. */
size_t pvr_image_exec(const struct pvr_image *im, struct pvl_range *r, size_t cap);

/* Make the pages holding the image's sites writable (and still
 * executable), or back to read-execute.  Returns 0 or -1 with errno. */
int pvr_image_writable(const struct pvr_image *im, int writable);

/*
 * Map (len) bytes with mmap's (prot, flags, fd) (at offset 0) at a free
 * place from which every byte is within rel32 reach of every byte of
 * [lo, hi), and back, the nearest one found; never replaces a mapping.
 * Works for spans anywhere in the address space (no wrap-around at 0 or
 * at the top).  Returns the mapping, or NULL with errno set (EINVAL: the
 * span itself is wider than rel32 reach; ENOMEM: no free place in reach).
 */
void *pvr_map_reach(uintptr_t lo, uintptr_t hi, size_t len, int prot, int flags, int fd);

/* pvr_map_reach for read-write anonymous memory near the byte (near). */
void *pvr_map_near(const void *near, size_t len);

/* Copy a ROM image into memory near (near) and make it read-execute.
 * Returns the copy (unmap with munmap(p, len)) or NULL with errno. */
void *pvr_rom_place(const void *near, const void *img, size_t len);

#endif
