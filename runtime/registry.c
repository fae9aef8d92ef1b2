/*
 * The objects of the process that carry sites: loaded ELF objects (each
 * registers its own table from a constructor, see <pvlink/iface.h>) and
 * regions of generated code.  The list and everything linked to it is
 * guarded by pvr__lock, which pvr_link holds for a whole link, so an
 * object cannot be unloaded in the middle of one.
 */
#include <errno.h>
#include <link.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "internal.h"

pthread_mutex_t pvr__lock = PTHREAD_MUTEX_INITIALIZER;
struct pvr_obj *pvr__objs;

/* ------------------------------------------------------------------------
 * The lock, with re-entry refused: the ids of the threads inside a public
 * function (holding pvr__lock or waiting for it) sit in (inside).  A
 * thread claims a slot before it locks and frees it after it unlocks, so
 * a signal handler that interrupts it anywhere in between finds its id.
 */
#define MAX_INSIDE 256
static _Atomic int inside[MAX_INSIDE];

static int is_inside(int self)
{
    for (int i = 0; i < MAX_INSIDE; i++)
        if (atomic_load(&inside[i]) == self)
            return 1;
    return 0;
}

static void claim(int self)
{
    for (;;) { /* more than MAX_INSIDE threads waiting: wait for a slot */
        for (int i = 0; i < MAX_INSIDE; i++) {
            int free_slot = 0;
            if (atomic_compare_exchange_strong(&inside[i], &free_slot, self))
                return;
        }
        sched_yield();
    }
}

static pvl_result busy(struct pvr_error *err)
{
    static const char msg[] = "pvlink is busy: this thread is already inside a pvlink "
                              "call (a signal handler interrupted it)";
    if (err) { /* no formatting: this may run in a signal handler */
        err->code = PVL_E_BUSY, err->sys = EBUSY;
        memcpy(err->msg, msg, sizeof msg);
    }
    return PVL_E_BUSY;
}

pvl_result pvr__enter(struct pvr_error *err)
{
    int self = pvr__gettid();

    if (is_inside(self))
        return busy(err);
    claim(self);
    pthread_mutex_lock(&pvr__lock);
    return PVL_OK;
}

void pvr__leave(void)
{
    int self = pvr__gettid();

    pthread_mutex_unlock(&pvr__lock);
    for (int i = 0; i < MAX_INSIDE; i++)
        if (atomic_load(&inside[i]) == self) {
            atomic_store(&inside[i], 0);
            return;
        }
}

static uintptr_t page_size(void)
{
    return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static int seg_prot(unsigned pf)
{
    return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) |
           ((pf & PF_X) ? PROT_EXEC : 0);
}

/* Fill the span and executable segments of the object holding o->sites. */
static int describe(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct pvr_obj *o = arg;
    uintptr_t lo, hi, want = (uintptr_t)o->sites, pg = page_size();

    (void)size;
    if (!pvr_image_span(info, &lo, &hi) || want < lo || want >= hi)
        return 0;
    o->lo = lo, o->hi = hi, o->nseg = 0;
    o->path = info->dlpi_name ? info->dlpi_name : "";
    for (int i = 0; i < info->dlpi_phnum && o->nseg < PVR_MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        o->seg[o->nseg++] = (struct pvr_seg){a & ~(pg - 1),
                                             (a + ph->p_memsz + pg - 1) & ~(pg - 1),
                                             seg_prot(ph->p_flags)};
    }
    return 1;
}

static struct pvr_obj *find(const struct pvl_site *start)
{
    for (struct pvr_obj *o = pvr__objs; o; o = o->next)
        if (o->sites == start)
            return o;
    return NULL;
}

/* Append, so that the executable (registered first) is linked first. */
static void append(struct pvr_obj *o)
{
    struct pvr_obj **pp = &pvr__objs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = o;
}

static void drop(struct pvr_obj *o)
{
    pvr__sites_forget(o->lo, o->hi);
    for (struct pvr_obj **pp = &pvr__objs; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    pvr__veneers_free(o);
    free(o);
}

int pvr_object_register(const struct pvl_site *start, const struct pvl_site *stop)
{
    struct pvr_obj *o;

    if (!start || !stop || stop <= start)
        return 0;
    if (pvr__enter(NULL) != PVL_OK) {
        errno = EBUSY;
        return -1;
    }
    if ((o = find(start)) != NULL) {
        o->refs++;
        pvr__leave();
        return 0;
    }
    pvr__leave();
    /* describe outside the lock: dl_iterate_phdr takes the loader's lock */
    if (!(o = calloc(1, sizeof *o)))
        return -1;
    o->sites = start, o->nsites = (size_t)(stop - start), o->refs = 1;
    if (!dl_iterate_phdr(describe, o)) {
        free(o);
        errno = ENOENT;
        return -1;
    }
    if (pvr__enter(NULL) != PVL_OK) {
        free(o);
        errno = EBUSY;
        return -1;
    }
    if (find(start)) { /* registered meanwhile by another constructor */
        find(start)->refs++;
        free(o);
    } else {
        append(o);
    }
    pvr__leave();
    return 0;
}

void pvr_object_unregister(const struct pvl_site *start)
{
    struct pvr_obj *o;

    if (pvr__enter(NULL) != PVL_OK)
        return;
    if ((o = find(start)) != NULL && !o->region && --o->refs == 0)
        drop(o);
    pvr__leave();
}

pvl_result pvr_region_register(const char *name, const struct pvl_site *sites, size_t n,
                               uintptr_t lo, uintptr_t hi, int prot, struct pvr_error *err)
{
    uintptr_t t = (uintptr_t)sites, pg = page_size();
    struct pvr_obj *o;

    if (!name || !sites || !n || lo >= hi || !(prot & PROT_EXEC))
        return pvr__fail(err, PVL_E_ARG, 0, "region \"%s\": needs a name, sites, "
                         "a range and an executable protection", name ? name : "?");
    if (t % 4 || t < lo || n > (hi - t) / sizeof *sites)
        return pvr__fail(err, PVL_E_SITE_TABLE, 0, "region \"%s\": site table %#lx "
                         "(%zu records) is not inside [%#lx, %#lx)", name,
                         (unsigned long)t, n, (unsigned long)lo, (unsigned long)hi);
    if (!(o = calloc(1, sizeof *o)))
        return pvr__fail(err, PVL_E_ARG, ENOMEM, "region \"%s\": out of memory", name);
    *o = (struct pvr_obj){.sites = sites, .nsites = n, .lo = lo, .hi = hi, .path = name,
                          .nseg = 1, .refs = 1, .region = 1};
    o->seg[0] = (struct pvr_seg){lo & ~(pg - 1), (hi + pg - 1) & ~(pg - 1), prot};
    if (pvr__enter(err) != PVL_OK) {
        free(o);
        return PVL_E_BUSY;
    }
    if (find(sites)) {
        pvr__leave();
        free(o);
        return pvr__fail(err, PVL_E_ARG, 0, "region \"%s\": already registered", name);
    }
    append(o);
    pvr__leave();
    return PVL_OK;
}

void pvr_region_unregister(const struct pvl_site *sites)
{
    struct pvr_obj *o;

    if (pvr__enter(NULL) != PVL_OK)
        return;
    if ((o = find(sites)) != NULL && o->region)
        drop(o);
    pvr__leave();
}

size_t pvr_object_count(void)
{
    size_t n = 0;

    if (pvr__enter(NULL) != PVL_OK)
        return 0;
    for (struct pvr_obj *o = pvr__objs; o; o = o->next)
        n++;
    pvr__leave();
    return n;
}

const struct pvr_seg *pvr__seg_of(const struct pvr_obj *o, uintptr_t p, size_t n)
{
    for (int i = 0; i < o->nseg; i++)
        if (p >= o->seg[i].lo && p + n <= o->seg[i].hi)
            return &o->seg[i];
    return NULL;
}
