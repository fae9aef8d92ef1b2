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

/*
 * Take pvr__lock for a public function, or refuse (PVL_E_BUSY, nothing
 * locked) when this thread is already inside one: a signal handler that
 * interrupted it.  Different threads wait for each other.  pvr__leave
 * releases it.  Safe to call from a signal handler (no libc lock, no TLS).
 */
PVR_HIDDEN pvl_result pvr__enter(struct pvr_error *err);
PVR_HIDDEN void pvr__leave(void);

/* The executable segment of (o) holding [p, p+n), or NULL. */
PVR_HIDDEN const struct pvr_seg *pvr__seg_of(const struct pvr_obj *o, uintptr_t p,
                                             size_t n);

/* ------------------------------------------------------------------------
 * Veneers (veneer.c): an absolute jump to (target) within rel32 reach of
 * every byte of (o), reused per target.  0 (err set) when none can be made.
 */
PVR_HIDDEN uint64_t pvr__veneer(struct pvr_obj *o, uint64_t target, struct pvr_error *err);
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
/* mmap read-execute (fails like SELinux execmem under PVR_FAULT_MMAP_EXEC). */
PVR_HIDDEN void *pvr__mmap_code(void *addr, size_t len, int flags, int fd);
/* Write (n) bytes at (dst) through /proc/self/mem, opened on first use;
 * pvr__procmem_ready opens it; pvr__procmem_close closes it (end of a
 * link).  0 or -1 with errno. */
PVR_HIDDEN int pvr__procmem_ready(void);
PVR_HIDDEN int pvr__procmem_write(void *dst, const void *src, size_t n);
PVR_HIDDEN void pvr__procmem_close(void);
/* Code at [p, p+n) changed (valgrind forgets its translations). */
PVR_HIDDEN void pvr__code_changed(const void *p, size_t n);
PVR_HIDDEN int pvr__on_valgrind(void);

/* ------------------------------------------------------------------------
 * Executable memory the runtime fills (code.c): out-of-line copies and
 * veneers, with or without writable executable mappings.
 */
enum { PVR_CODE_MPROTECT, PVR_CODE_PROCMEM, PVR_CODE_MEMFD };
struct pvr_code {
    uint8_t *p;
    size_t len; /* whole pages */
    int fd;     /* the memfd, or -1 */
};
/* Map code holding (init, len), within rel32 reach of [lo, hi) when
 * hi != 0.  PVL_E_CALL_RANGE when nothing is free in reach, PVL_E_WRITE
 * (saying why) when no way to make executable memory works. */
PVR_HIDDEN pvl_result pvr__code_new(struct pvr_code *c, const uint8_t *init, size_t len,
                                    uintptr_t lo, uintptr_t hi, struct pvr_error *err);
/* Write into code other threads may be running (bytes they do not run). */
PVR_HIDDEN int pvr__code_put(struct pvr_code *c, size_t off, const void *src, size_t n);
PVR_HIDDEN void pvr__code_free(struct pvr_code *c);
/* The way in use (PVR_CODE_*), and why writable code is refused. */
PVR_HIDDEN int pvr__code_how(void);
PVR_HIDDEN const char *pvr__wx_why(void);

/* ------------------------------------------------------------------------
 * The other threads (threads.c), from /proc.
 */
enum { PVR_RUNNING, PVR_BLOCKED, PVR_GONE };
/* Thread ids other than (self) into (tids) (at most cap); the count of all
 * of them, or -1. */
PVR_HIDDEN int pvr__threads(int *tids, int cap, int self);
/* PVR_BLOCKED (in the kernel, or stopped) with the user address it
 * resumes at in (*pc) (or 2 bytes before, a restarted system call),
 * PVR_RUNNING (on a CPU, waiting for one, or unknown), PVR_GONE. */
PVR_HIDDEN int pvr__where(int tid, uintptr_t *pc);
/* Between these, pvr__where keeps the files it reads open (one link). */
PVR_HIDDEN void pvr__looks_begin(void);
PVR_HIDDEN void pvr__looks_end(void);
/*
 * Settle threads (tids[0..n)): call (seen)(ctx, tid, how, pc) once for
 * each, as soon as it is known, with how PVR_GONE, PVR_BLOCKED (and pc as
 * pvr__where gives it) or PVR_RUNNING.  A thread seen running is looked at
 * again and reported running only if it was running at every look and
 * has run 0.5 ms on a CPU without sleeping (since this call, or since an
 * earlier one), or after 100 ms if it has had a CPU meanwhile, or after
 * (limit_ms): a thread just woken, still inside the kernel on its way out
 * of a blocking call, is reported blocked once it blocks again.  Stops
 * at, and returns, the first non-zero result of (seen); 0 otherwise.
 * Under pvr__lock.
 */
typedef int (*pvr_seen_fn)(void *ctx, int tid, int how, uintptr_t pc);
PVR_HIDDEN int pvr__watch(const int *tids, int n, unsigned limit_ms, pvr_seen_fn seen,
                          void *ctx);
/* 1 when (tid) blocks (sig), 0 when not, -1 when unknown.  _still tells a
 * mask the thread keeps (1) from one of a moment (libc's, pvlink's signal
 * handler's own; 0), or 2 when the thread never ran to tell; it may look
 * for up to 50 ms, only while the thread blocks (sig). */
PVR_HIDDEN int pvr__blocks(int tid, int sig);
PVR_HIDDEN int pvr__blocks_still(int tid, int sig);
/* CPU time thread (tid) of this process has run so far (ns), exact, or 0
 * when unknown. */
PVR_HIDDEN unsigned long long pvr__ran_ns(int tid);

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
    uint32_t nnew, nbatches, nrounds, nmoved, nsignals, nskipped, ntraps;
    int state, prot_left, used_procmem;
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
 * PVL_OK; PVL_E_THREADS or a template code (the old bytes of a site cannot
 * run out of line) before anything is written; or PVL_E_WRITE with (err)
 * set and (a->state) saying where the sites are. */
PVR_HIDDEN pvl_result pvr__apply(struct pvr_apply *a, struct pvr_error *err);

/* Number of threads in the process (from /proc/self/task), or -1. */
PVR_HIDDEN int pvr__nthreads(void);

/* ------------------------------------------------------------------------
 * How a site may change under running threads (shape.c).
 *
 * A thread may stand at any instruction start of a site's old bytes.  At
 * offset p > 0 it is
 *   safe    when p also starts an instruction of the new bytes and the
 *           bytes from p on do not change: it finishes the old code;
 *   guarded when p starts an instruction of both and both are only NOPs
 *           before p: it has done nothing yet.  An int3 sits at p while
 *           the site is written; a thread arriving there is handled like
 *           one arriving at the head, and one still standing there
 *           afterwards runs the new code from p, which is the new code;
 *   risky   otherwise: a thread standing there must be moved (a round).
 * The head is always guarded.  A site is "single" when its old bytes have
 * no risky offset; a batch of single sites needs no signal at all.
 */
enum { PVR_EMU_NOPS, PVR_EMU_CALL, PVR_COPY };

struct pvr_shape {
    uint64_t guards; /* offsets with an int3 while the site is written */
    uint64_t risky;  /* offsets at which a thread must be moved */
    uint64_t idle;   /* offsets with only NOPs before them in the old bytes */
    uint64_t call;   /* PVR_EMU_CALL: the old call's target */
    uint8_t kind;    /* PVR_EMU_*: the old bytes are emulated; PVR_COPY: copied */
    uint8_t call_at; /* PVR_EMU_CALL: offset of the call in the old bytes */
};

/* The shape of change (old -> new) of (room) bytes at (addr).  Returns
 * PVL_OK, or the pvl_tmpl_check code of old bytes that must be copied and
 * cannot run at another address. */
PVR_HIDDEN pvl_result pvr__shape(const uint8_t *old, const uint8_t *new, unsigned room,
                                 uintptr_t addr, struct pvr_shape *sh);

/* ------------------------------------------------------------------------
 * Signals and rounds (trap.c).
 */

/* A site of a batch being written, as the handlers see it. */
struct pvr_lsite {
    uintptr_t addr;
    uintptr_t olx;  /* PVR_COPY: the copy of its old bytes, then an int3 exit */
    struct pvr_shape sh;
    uint32_t room;
};

/* A copy slot: the old bytes, an int3 exit right after them, int3s up to
 * PVR_OLX_END, then two words: the site's end address and the offset of
 * the exit in the slot. */
#define PVR_OLX_SLOT 96
#define PVR_OLX_END 80

/* A batch: sorted by address; its copies lie in [olx_lo, olx_hi). */
struct pvr_lbatch {
    const struct pvr_lsite *v;
    size_t n;
    uint64_t id; /* unique per batch */
    uintptr_t olx_lo, olx_hi;
    _Atomic long inside;               /* threads inside its copies */
    struct pvr_lbatch *_Atomic next;   /* the list of batches with copies */
    struct pvr_lbatch *gone;           /* patcher only: batches being freed */
};

/* Install the handlers (once; re-install a replaced SIGTRAP handler). */
PVR_HIDDEN pvl_result pvr__traps_ready(struct pvr_error *err);
/* pvlink's real-time signal (once chosen). */
PVR_HIDDEN int pvr__signal(void);
/* pvr__blocks_still for pvlink's signal, not holding against a thread the
 * mask pvlink's own handler gives it for a moment after it answered. */
PVR_HIDDEN int pvr__blocks_signal(int tid);
/* Publish (b) to the handlers, or withdraw it (NULL) and wait until no
 * handler still reads the previous one. */
PVR_HIDDEN void pvr__publish(struct pvr_lbatch *b);
/* Keep (b), whose copies threads may still run, until no thread is inside
 * them; pvr__reap frees every kept batch no thread is inside (and calls
 * (release) on it).  pvr__traps_count: traps handled so far. */
PVR_HIDDEN void pvr__keep(struct pvr_lbatch *b);
PVR_HIDDEN void pvr__reap(void (*release)(struct pvr_lbatch *));
PVR_HIDDEN uint32_t pvr__traps_count(void);
/* Remember addresses pvlink puts int3 on, each with the head of its site
 * (a[i][0], a[i][1]; before writing any), or forget those in [lo, hi) (an
 * unloaded object).  -1: out of memory. */
PVR_HIDDEN int pvr__sites_add(const uintptr_t (*a)[2], size_t n);
PVR_HIDDEN void pvr__sites_forget(uintptr_t lo, uintptr_t hi);
/*
 * A round: begin, signal threads one by one (each that stands at a risky
 * offset of a published site moves itself and answers), end: wait for
 * every answer (when wait is 1).  _signal and _end return PVL_OK,
 * PVL_E_THREADS (a thread blocks the signal: err names it) or PVL_E_WRITE
 * (sending failed, or no answer within timeout_ms); _end always closes
 * the round and adds the threads moved to (*moved).
 */
PVR_HIDDEN void pvr__round_begin(void);
PVR_HIDDEN pvl_result pvr__round_signal(int tid, struct pvr_error *err);
PVR_HIDDEN pvl_result pvr__round_end(int wait, unsigned timeout_ms, uint32_t *moved,
                                     struct pvr_error *err);

#endif
