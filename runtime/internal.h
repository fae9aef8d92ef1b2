/*
 * Shared between the runtime's files; nothing here is exported.
 */
#ifndef PVR_INTERNAL_H
#define PVR_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <pvlink/runtime.h>

#define PVR_HIDDEN __attribute__((visibility("hidden")))

/* ------------------------------------------------------------------------
 * Errors (error.c)
 */

/* Fill (e) (may be NULL) with (code), (sys) and a formatted message;
 * returns (code). */
PVR_HIDDEN pvl_result pvr__fail(struct pvr_error *e, pvl_result code, int sys,
                                const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


/* ------------------------------------------------------------------------
 * Objects (registry.c).  All of it under pvr__lock.
 */

#define PVR_MAX_SEGS 8

struct pvr_seg {
    uintptr_t lo, hi; /* page-aligned executable segment */
    int prot;         /* its protection when not being written */
};

struct pvr_veneer_page; /* veneer.c */

struct pvr_obj {
    struct pvr_obj *next;
    const struct pvl_site *sites;
    size_t nsites;
    uintptr_t lo, hi;  /* what site records may refer to */
    const char *path;  /* "" for the executable */
    struct pvr_seg seg[PVR_MAX_SEGS];
    int nseg;
    int refs;
    int region;        /* registered by pvr_region_register */
    struct pvr_veneer_page *veneers;
};

PVR_HIDDEN extern pthread_mutex_t pvr__lock;
PVR_HIDDEN extern struct pvr_obj *pvr__objs;

/* The executable segment of (o) holding [p, p+n), or NULL. */
PVR_HIDDEN const struct pvr_seg *pvr__seg_of(const struct pvr_obj *o, uintptr_t p,
                                             size_t n);

/* ------------------------------------------------------------------------
 * Veneers (veneer.c): an absolute jump to (target) within rel32 reach of
 * every byte of (o), reused per target.  0 when none can be mapped.
 */
PVR_HIDDEN uint64_t pvr__veneer(struct pvr_obj *o, uint64_t target);
PVR_HIDDEN void pvr__veneers_free(struct pvr_obj *o);

/* ------------------------------------------------------------------------
 * Providers (provider.c)
 */

struct pvr_provider {
    char name[PVR_NAME_MAX + 8];
    char iface[PVL_IFACE_NAME_MAX];
    uint16_t major, minor;
    uint16_t nops;
    void *dl;                 /* dlopen handle, or NULL for a table */
    struct pvl_impl *impl;    /* nops entries; templates point into tmpl */
    uint8_t *tmpl;            /* copies of the templates */
};

/* 1 when some interface is linked to (p) (link.c; under pvr__lock). */
PVR_HIDDEN int pvr__provider_in_use(const struct pvr_provider *p);

/* ------------------------------------------------------------------------
 * System operations with fault injection (sys.c).
 */
PVR_HIDDEN int pvr__mprotect(void *addr, size_t len, int prot);
PVR_HIDDEN int pvr__membarrier_sync(void);
PVR_HIDDEN int pvr__membarrier_register(void);
PVR_HIDDEN int pvr__sigqueue(int pid, int tid, int sig, uint64_t value);
PVR_HIDDEN int pvr__gettid(void);

/* ------------------------------------------------------------------------
 * Writing sites (patch.c).  A change: site (addr, room) from its current
 * bytes (old) to (new), both kept in a byte arena at (off).
 */
struct pvr_change {
    uint8_t *addr;
    const struct pvr_obj *obj;
    uint32_t off;
    uint8_t room;
};

struct pvr_apply {
    struct pvr_change *v;
    size_t n;
    uint8_t *bytes;
    int live, procmem;
    size_t batch;
    unsigned timeout_ms;
    /* results */
    uint32_t nnew, nbatches, nrounds, nmoved;
    int state, prot_left;
};

static inline uint8_t *pvr__old(const struct pvr_apply *a, const struct pvr_change *c)
{
    return a->bytes + c->off;
}
static inline uint8_t *pvr__new(const struct pvr_apply *a, const struct pvr_change *c)
{
    return a->bytes + c->off + c->room;
}

/* Write every change (see the protocol in <pvlink/runtime.h>).  Returns
 * PVL_OK or PVL_E_WRITE with (err) set and (a->state) saying where the
 * sites are. */
PVR_HIDDEN pvl_result pvr__apply(struct pvr_apply *a, struct pvr_error *err);

/* Number of threads in the process (from /proc/self/task), or -1. */
PVR_HIDDEN int pvr__nthreads(void);

/* ------------------------------------------------------------------------
 * Signals and rounds (trap.c).
 */

/* An out-of-line copy of one site's old bytes, as the handlers see it. */
struct pvr_lsite {
    uintptr_t addr;
    uintptr_t olx;
    uint32_t room;
};

/* A batch being written: sorted by address. */
struct pvr_lbatch {
    const struct pvr_lsite *v;
    size_t n;
    uint64_t id; /* unique per batch */
};

/* Install the handlers (once; re-install a replaced SIGTRAP handler). */
PVR_HIDDEN pvl_result pvr__traps_ready(struct pvr_error *err);
/* Publish (b) to the handlers, or withdraw it (NULL) and wait until no
 * handler still reads the previous one. */
PVR_HIDDEN void pvr__publish(const struct pvr_lbatch *b);
/* Remember the heads of (v) as pvlink's int3 sites (before writing any),
 * or forget those in [lo, hi) (an unloaded object).  -1: out of memory. */
PVR_HIDDEN int pvr__sites_add(const struct pvr_lsite *v, size_t n);
PVR_HIDDEN void pvr__sites_forget(uintptr_t lo, uintptr_t hi);
/* An address range of out-of-line code whose users the next round counts. */
PVR_HIDDEN void pvr__watch(uintptr_t lo, uintptr_t hi);
/*
 * Signal every other thread and wait for all answers.  With (fix), each
 * thread strictly inside a published site moves to its copy.  Returns
 * PVL_OK or PVL_E_WRITE (err says which thread did not answer); (*busy)
 * is 1 when some thread was inside the watched range; (*moved) counts
 * moved threads.
 */
PVR_HIDDEN pvl_result pvr__round(int fix, unsigned timeout_ms, int *busy,
                                 uint32_t *moved, struct pvr_error *err);

#endif
