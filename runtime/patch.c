/*
 * Writing site bytes into the running process: directly (no other thread
 * runs the sites) or with the live protocol described in
 * <pvlink/runtime.h>.  Whatever fails, every site ends whole: its old
 * bytes or its new bytes, and pvr_apply.state says which.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* Text spans opened for writing: one per object segment touched. */
struct span {
    uintptr_t lo, hi;
    const struct pvr_seg *seg;
    const struct pvr_obj *obj;
};

struct ctx {
    struct pvr_apply *a;
    struct span *sp;
    size_t nsp;
    int procmem;          /* write through /proc/self/mem, not mprotect */
    struct pvr_shape *fwd; /* per change: old -> new */
    struct pvr_shape *back; /* per change: new -> old (taking a batch back) */
    int risky;            /* some change has risky offsets */
    struct pvr_error *err;
};

/* ------------------------------------------------------------------------
 * Writers: mprotect read-write-execute around the whole apply and store,
 * or pwrite to /proc/self/mem (chosen by PVR_LINK_PROCMEM, or when the
 * process refuses writable executable memory).  The text stays executable.
 */

static void spans_restore(struct ctx *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pvr__mprotect((void *)x->sp[i].lo, x->sp[i].hi - x->sp[i].lo,
                          x->sp[i].seg->prot) != 0)
            x->a->prot_left = 1;
}

static pvl_result procmem_open(struct ctx *x, const struct span *s, int refused)
{
    if (pvr__procmem_ready() == 0) {
        x->procmem = 1;
        return PVL_OK;
    }
    if (!refused)
        return pvr__fail(x->err, PVL_E_WRITE, errno, "cannot open /proc/self/mem: %s",
                         strerror(errno));
    return pvr__fail(x->err, PVL_E_WRITE, errno, "cannot write the sites: making [%#lx, "
                     "%#lx) of \"%s\" writable was refused (%s), and /proc/self/mem cannot "
                     "be opened: %s", (unsigned long)s->lo, (unsigned long)s->hi,
                     s->obj->path, pvr__wx_why(), strerror(errno));
}

static pvl_result writer_open(struct ctx *x)
{
    if (x->procmem)
        return procmem_open(x, NULL, 0);
    for (size_t i = 0; i < x->nsp; i++) {
        const struct span *s = &x->sp[i];
        if (pvr__mprotect((void *)s->lo, s->hi - s->lo, s->seg->prot | PROT_WRITE) == 0)
            continue;
        int e = errno;
        spans_restore(x, i);
        x->a->prot_left = 0;
        if (e == EACCES) /* W^X: write without a writable mapping */
            return procmem_open(x, s, 1);
        return pvr__fail(x->err, PVL_E_WRITE, e, "cannot make [%#lx, %#lx) of \"%s\" "
                         "writable: %s", (unsigned long)s->lo, (unsigned long)s->hi,
                         s->obj->path, strerror(e));
    }
    return PVL_OK;
}

static int put(struct ctx *x, uint8_t *dst, const uint8_t *src, size_t n)
{
    int r = 0;

    if (x->procmem)
        r = pvr__procmem_write(dst, src, n);
    else if (n == 1)
        __atomic_store_n(dst, *src, __ATOMIC_RELAXED);
    else
        memcpy(dst, src, n);
    pvr__code_changed(dst, n);
    return r;
}

static void writer_close(struct ctx *x)
{
    if (!x->procmem)
        spans_restore(x, x->nsp);
    x->a->used_procmem = x->procmem;
}

/* ------------------------------------------------------------------------
 * Preparing: spans and address order.
 */

static struct span *span_for(struct ctx *x, const struct pvr_seg *seg,
                             const struct pvr_obj *obj)
{
    for (size_t i = 0; i < x->nsp; i++)
        if (x->sp[i].seg == seg)
            return &x->sp[i];
    if ((x->nsp & (x->nsp + 1)) == 0 || x->nsp == 0) { /* grow at 0, 1, 3, 7... */
        struct span *n = realloc(x->sp, (x->nsp * 2 + 2) * sizeof *n);
        if (!n)
            return NULL;
        x->sp = n;
    }
    x->sp[x->nsp] = (struct span){UINTPTR_MAX, 0, seg, obj};
    return &x->sp[x->nsp++];
}

static pvl_result make_spans(struct ctx *x)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    const struct pvr_seg *seg = NULL;
    struct span *s = NULL;

    for (size_t i = 0; i < x->a->n; i++) {
        const struct pvr_change *c = &x->a->v[i];
        uintptr_t p = (uintptr_t)c->addr;
        if (s && s->obj == c->obj && p >= seg->lo && p + c->room <= seg->hi) {
            s->lo = p < s->lo ? p : s->lo; /* the same segment as the last site */
            s->hi = p + c->room > s->hi ? p + c->room : s->hi;
            continue;
        }
        seg = pvr__seg_of(c->obj, p, c->room);
        if (!seg)
            return pvr__fail(x->err, PVL_E_SITE_BOUNDS, 0, "site at %#lx of \"%s\" is not in "
                             "an executable segment", (unsigned long)p, c->obj->path);
        if (!(s = span_for(x, seg, c->obj)))
            return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory");
        s->lo = p < s->lo ? p : s->lo;
        s->hi = p + c->room > s->hi ? p + c->room : s->hi;
    }
    for (size_t i = 0; i < x->nsp; i++) {
        x->sp[i].lo &= ~(pg - 1);
        x->sp[i].hi = (x->sp[i].hi + pg - 1) & ~(pg - 1);
    }
    return PVL_OK;
}

static int by_addr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct pvr_change *)a)->addr;
    uintptr_t y = (uintptr_t)((const struct pvr_change *)b)->addr;
    return (x > y) - (x < y);
}

static void sort_changes(struct pvr_apply *a)
{
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i].addr < a->v[i - 1].addr) {
            qsort(a->v, a->n, sizeof *a->v, by_addr);
            return;
        }
}

/* ------------------------------------------------------------------------
 * Direct writing.
 */

static pvl_result apply_direct(struct ctx *x)
{
    struct pvr_apply *a = x->a;
    pvl_result r = writer_open(x);

    a->state = PVR_STATE_OLD;
    if (r != PVL_OK)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        const struct pvr_change *c = &a->v[i];
        if (put(x, c->addr, pvr__new(a, c), c->room) == 0)
            continue;
        r = pvr__fail(x->err, PVL_E_WRITE, errno, "writing site %#lx of \"%s\": %s",
                      (unsigned long)c->addr, c->obj->path, strerror(errno));
        while (i-- && put(x, a->v[i].addr, pvr__old(a, &a->v[i]), a->v[i].room) == 0)
            ;
        a->state = i == (size_t)-1 ? PVR_STATE_OLD : PVR_STATE_SPLIT;
        a->nnew = i == (size_t)-1 ? 0 : (uint32_t)(i + 1);
        writer_close(x);
        return r;
    }
    writer_close(x);
    a->state = PVR_STATE_NEW, a->nnew = (uint32_t)a->n;
    return PVL_OK;
}

/* ------------------------------------------------------------------------
 * Shapes of every change, both ways, before anything is written.
 */

static pvl_result shapes(struct ctx *x)
{
    struct pvr_apply *a = x->a;

    x->fwd = malloc((a->n ? a->n : 1) * sizeof *x->fwd);
    x->back = malloc((a->n ? a->n : 1) * sizeof *x->back);
    if (!x->fwd || !x->back)
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory");
    for (size_t i = 0; i < a->n; i++) {
        const struct pvr_change *c = &a->v[i];
        const uint8_t *o = pvr__old(a, c), *n = pvr__new(a, c);
        pvl_result r = pvr__shape(o, n, c->room, (uintptr_t)c->addr, &x->fwd[i]);
        if (r == PVL_OK)
            r = pvr__shape(n, o, c->room, (uintptr_t)c->addr, &x->back[i]);
        if (r != PVL_OK)
            return pvr__fail(x->err, r, 0, "site at %#lx of \"%s\": its code cannot run out "
                             "of line during a live link (%s); link it before other threads "
                             "start (PVR_LINK_STARTUP)", (unsigned long)c->addr,
                             c->obj->path, pvl_strerror(r));
        x->risky |= x->fwd[i].risky != 0;
    }
    return PVL_OK;
}

/* The change whose site holds (pc) or ends at it (a system call about to
 * return from its last bytes), or -1.  Changes are sorted. */
static long change_at(const struct pvr_apply *a, size_t first, size_t n, uintptr_t pc)
{
    size_t lo = first, hi = first + n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)a->v[mid].addr <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == first)
        return -1;
    const struct pvr_change *c = &a->v[lo - 1];
    return pc <= (uintptr_t)c->addr + c->room ? (long)(lo - 1) : -1;
}

/* Is (q) a risky offset of one of the changes [first, first + n)? */
static int risky_at(const struct pvr_apply *a, const struct pvr_shape *sh, size_t first,
                    size_t n, uintptr_t q)
{
    long i = change_at(a, first, n, q);
    uintptr_t p = i < 0 ? 0 : q - (uintptr_t)a->v[i].addr;

    return i >= 0 && p < a->v[i].room && ((sh[i].risky >> p) & 1);
}

/* Would a blocked thread resuming at (pc), or at pc - 2 (a restarted
 * system call), stand at a risky offset? */
static int risky_pc(const struct pvr_apply *a, const struct pvr_shape *sh, size_t first,
                    size_t n, uintptr_t pc)
{
    return risky_at(a, sh, first, n, pc) || (pc >= 2 && risky_at(a, sh, first, n, pc - 2));
}

/* Is (pc), or pc - 2, inside or at the end of a changed site? */
static int at_change(const struct pvr_apply *a, uintptr_t pc)
{
    return change_at(a, 0, a->n, pc) >= 0 || (pc >= 2 && change_at(a, 0, a->n, pc - 2) >= 0);
}

/* ------------------------------------------------------------------------
 * The threads, before anything is written.  A thread blocked in the
 * kernel at an address outside every changed site cannot be inside one
 * and can only enter one through its int3: it does not matter.  Any other
 * thread that blocks SIGTRAP would be killed by an int3 (one seen running
 * at two looks is refused: in doubt, it may run into one); one that
 * blocks pvlink's signal could not be moved if the round signals it,
 * which is judged as the round judges it (pvr__watch).
 */

static int *other_threads(int *n)
{
    int self = pvr__gettid(), want = pvr__threads(NULL, 0, self), *t;

    for (int tries = 0; want >= 0 && tries < 4; tries++) {
        if (!(t = malloc((size_t)(want + 16) * sizeof *t)))
            return NULL;
        *n = pvr__threads(t, want + 16, self);
        if (*n >= 0 && *n <= want + 16)
            return t;
        free(t);
        want = *n;
    }
    return NULL;
}

/* pvr__watch's answer for one thread. */
struct seen_one {
    int how;
    uintptr_t pc;
};

static int note_one(void *ctx, int tid, int how, uintptr_t pc)
{
    (void)tid;
    *(struct seen_one *)ctx = (struct seen_one){how, pc};
    return 0;
}

/* Would the round signal (tid), seen (w) at (pc)?  One seen running is
 * settled by pvr__watch first, as the round does. */
static int round_would_signal(struct ctx *x, int tid, int w, uintptr_t pc)
{
    struct seen_one s = {w, pc};

    if (w == PVR_RUNNING)
        pvr__watch(&tid, 1, x->a->timeout_ms, note_one, &s);
    return s.how == PVR_RUNNING ||
           (s.how == PVR_BLOCKED && risky_pc(x->a, x->fwd, 0, x->a->n, s.pc));
}

static pvl_result check_thread(struct ctx *x, int tid)
{
    uintptr_t pc = 0;
    int w = pvr__where(tid, &pc), sig = pvr__signal();

    if (w == PVR_RUNNING) /* may be finishing its way into a blocking call */
        w = pvr__where(tid, &pc);
    if (w == PVR_GONE || (w == PVR_BLOCKED && !at_change(x->a, pc)))
        return PVL_OK;
    const char *what = w == PVR_RUNNING ? "is running" : "stands at a site being changed";
    if (pvr__blocks_still(tid, SIGTRAP) >= 1) /* in doubt, refuse: an int3 would kill */
        return pvr__fail(x->err, PVL_E_THREADS, 0, "thread %d blocks SIGTRAP and %s: an "
                         "int3 would kill the process; link refused, nothing written", tid,
                         what);
    /* in doubt, go on: the round sees a thread that never answers */
    if (x->risky && (w == PVR_RUNNING || risky_pc(x->a, x->fwd, 0, x->a->n, pc)) &&
        pvr__blocks_signal(tid) == 1 && round_would_signal(x, tid, w, pc))
        return pvr__fail(x->err, PVL_E_THREADS, 0, "thread %d blocks pvlink's signal %d and "
                         "%s: it could not be moved out of a site; link refused, nothing "
                         "written", tid, sig, what);
    return PVL_OK;
}

static pvl_result preflight(struct ctx *x)
{
    int n = 0, *t;
    pvl_result r = PVL_OK;

    if (pvr__on_valgrind()) /* /proc shows valgrind's threads, not the program's */
        return PVL_OK;
    if (!(t = other_threads(&n)))
        return pvr__fail(x->err, PVL_E_WRITE, errno, "cannot list the threads "
                         "(/proc/self/task): %s", strerror(errno));
    for (int i = 0; i < n && r == PVL_OK; i++)
        r = check_thread(x, t[i]);
    free(t);
    return r;
}

/* ------------------------------------------------------------------------
 * One live batch: sites [first, first + n) of the sorted changes, from
 * their old bytes to their new ones (forward) or back.
 */

struct batch {
    struct pvr_lbatch b; /* first: the handlers' view */
    struct pvr_lsite *v;
    struct pvr_code olx;
    size_t first, n;
    int forward, risky;
};

static const uint8_t *from_of(const struct ctx *x, const struct batch *bt, size_t i)
{
    const struct pvr_change *c = &x->a->v[i];
    return bt->forward ? pvr__old(x->a, c) : pvr__new(x->a, c);
}

static const uint8_t *to_of(const struct ctx *x, const struct batch *bt, size_t i)
{
    const struct pvr_change *c = &x->a->v[i];
    return bt->forward ? pvr__new(x->a, c) : pvr__old(x->a, c);
}

static const struct pvr_shape *shape_of(const struct ctx *x, const struct batch *bt, size_t i)
{
    return bt->forward ? &x->fwd[i] : &x->back[i];
}

static void release(struct pvr_lbatch *lb)
{
    struct batch *bt = (struct batch *)lb;

    pvr__code_free(&bt->olx);
    free(bt->v);
    free(bt);
}

/* A copy slot for site (s) with old bytes (b): see PVR_OLX_SLOT. */
static void put_slot(uint8_t *slot, const uint8_t *b, const struct pvr_lsite *s)
{
    uint64_t words[2] = {s->addr + s->room, s->room};

    memcpy(slot, b, s->room);
    for (size_t k = s->room; k < PVR_OLX_END; k++)
        pvl_emit_int3(slot + k);
    memcpy(slot + PVR_OLX_END, words, sizeof words);
}

/* The copies of the batch's sites that need one, in one mapping. */
static pvl_result build_copies(struct ctx *x, struct batch *bt)
{
    size_t ncopies = 0, k = 0;
    uint8_t *img;
    pvl_result r;

    for (size_t i = 0; i < bt->n; i++)
        ncopies += bt->v[i].sh.kind == PVR_COPY;
    if (!ncopies)
        return PVL_OK;
    if (!(img = malloc(ncopies * PVR_OLX_SLOT)))
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for copies");
    for (size_t i = 0; i < bt->n; i++)
        if (bt->v[i].sh.kind == PVR_COPY)
            put_slot(img + k++ * PVR_OLX_SLOT, from_of(x, bt, bt->first + i), &bt->v[i]);
    r = pvr__code_new(&bt->olx, img, ncopies * PVR_OLX_SLOT, 0, 0, x->err);
    free(img);
    if (r != PVL_OK)
        return r;
    for (size_t i = 0, j = 0; i < bt->n; i++)
        if (bt->v[i].sh.kind == PVR_COPY)
            bt->v[i].olx = (uintptr_t)(bt->olx.p + j++ * PVR_OLX_SLOT);
    bt->b.olx_lo = (uintptr_t)bt->olx.p;
    bt->b.olx_hi = bt->b.olx_lo + ncopies * PVR_OLX_SLOT;
    return PVL_OK;
}

/* Every address of the batch that gets an int3, with its site's head,
 * into the site set. */
static int add_int3_sites(const struct batch *bt)
{
    size_t n = 0, k = 0;
    uintptr_t (*a)[2];
    int r;

    for (size_t i = 0; i < bt->n; i++)
        n += (size_t)__builtin_popcountll(bt->v[i].sh.guards);
    if (!(a = malloc(n * sizeof *a)))
        return -1;
    for (size_t i = 0; i < bt->n; i++)
        for (unsigned p = 0; p < bt->v[i].room; p++)
            if ((bt->v[i].sh.guards >> p) & 1)
                a[k][0] = bt->v[i].addr + p, a[k++][1] = bt->v[i].addr;
    r = pvr__sites_add(a, n);
    free(a);
    return r;
}

static pvl_result batch_build(struct ctx *x, struct batch *bt)
{
    static uint64_t ids;

    if (!(bt->v = calloc(bt->n, sizeof *bt->v)))
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for a batch of %zu "
                         "sites", bt->n);
    for (size_t k = 0; k < bt->n; k++) {
        const struct pvr_change *c = &x->a->v[bt->first + k];
        bt->v[k] = (struct pvr_lsite){(uintptr_t)c->addr, 0, *shape_of(x, bt, bt->first + k),
                                      c->room};
        bt->risky |= bt->v[k].sh.risky != 0;
    }
    pvl_result r = build_copies(x, bt);
    if (r == PVL_OK && add_int3_sites(bt) != 0)
        r = pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for the site set");
    if (r != PVL_OK)
        return r;
    bt->b.v = bt->v, bt->b.n = bt->n, bt->b.id = ++ids;
    return PVL_OK;
}

/* Write one part of every site of the batch: the guarded offsets, or the
 * others, from the (from) bytes, the (to) bytes, or int3. */
enum { FROM, TO, INT3 };
enum { GUARDS, TAILS };

static int put_site(struct ctx *x, struct batch *bt, size_t i, int which, int part)
{
    const struct pvr_lsite *s = &bt->v[i - bt->first];
    const uint8_t *src = which == TO ? to_of(x, bt, i) : from_of(x, bt, i);
    uint8_t buf[PVL_ROOM_MAX], int3;
    int fail = 0;

    pvl_emit_int3(&int3);
    if (part == TAILS) { /* one write: the bytes, int3 where guarded */
        memcpy(buf, src, s->room);
        for (unsigned p = 0; p < s->room; p++)
            if ((s->sh.guards >> p) & 1)
                buf[p] = int3;
        return s->room > 1 ? put(x, (uint8_t *)s->addr + 1, buf + 1, s->room - 1u) : 0;
    }
    for (unsigned p = 0; p < s->room; p++)
        if (((s->sh.guards >> p) & 1) &&
            put(x, (uint8_t *)s->addr + p, which == INT3 ? &int3 : src + p, 1) != 0)
            fail = -1;
    return fail;
}

static int put_all(struct ctx *x, struct batch *bt, int which, int part)
{
    int fail = 0;

    for (size_t i = bt->first; i < bt->first + bt->n; i++)
        if (put_site(x, bt, i, which, part) != 0)
            fail = -1;
    return fail;
}

static pvl_result serialize(struct ctx *x, const char *step)
{
    if (pvr__membarrier_sync() == 0)
        return PVL_OK;
    return pvr__fail(x->err, PVL_E_WRITE, errno, "membarrier after %s: %s", step,
                     strerror(errno));
}

/* Put the batch back as it was: the tails, then the guarded bytes. */
static void batch_undo(struct ctx *x, struct batch *bt, int tails_written)
{
    if (tails_written) {
        put_all(x, bt, FROM, TAILS);
        pvr__membarrier_sync();
    }
    put_all(x, bt, FROM, GUARDS);
    pvr__membarrier_sync();
}

static pvl_result write_failed(struct ctx *x, const char *what)
{
    return pvr__fail(x->err, PVL_E_WRITE, errno, "writing %s: %s", what, strerror(errno));
}

/*
 * The round of a batch with risky offsets, once its int3s are in place.
 * From then on a thread outside every risky offset can only reach one
 * through a guarded offset, whose int3 handles it: a thread seen blocked
 * (or stopped) at any address but a risky one, at any look, is skipped.
 * pvr__watch settles each thread; those that may stand at a risky offset
 * (running at every look, or blocked right there) are signalled as soon
 * as known.  Then wait for every answer.
 */
struct round {
    struct ctx *x;
    const struct pvr_shape *sh;
    const struct batch *bt;
};

static int round_seen(void *ctx, int tid, int how, uintptr_t pc)
{
    struct round *rd = ctx;
    struct pvr_apply *a = rd->x->a;

    if (how == PVR_GONE)
        return PVL_OK;
    if (how == PVR_BLOCKED && !risky_pc(a, rd->sh, rd->bt->first, rd->bt->n, pc)) {
        a->nskipped++;
        return PVL_OK;
    }
    a->nsignals++;
    return pvr__round_signal(tid, rd->x->err);
}

static pvl_result batch_round(struct ctx *x, struct batch *bt)
{
    int n = 0, *t = other_threads(&n);
    struct round rd = {x, bt->forward ? x->fwd : x->back, bt};
    pvl_result r = PVL_OK;

    if (!t)
        return pvr__fail(x->err, PVL_E_WRITE, errno, "cannot list the threads "
                         "(/proc/self/task): %s", strerror(errno));
    x->a->nrounds++;
    pvr__round_begin();
    if (pvr__on_valgrind()) /* /proc shows valgrind's threads: signal every one */
        for (int i = 0; i < n && r == PVL_OK; i++)
            r = round_seen(&rd, t[i], PVR_RUNNING, 0);
    else
        r = pvr__watch(t, n, x->a->timeout_ms, round_seen, &rd);
    pvl_result r2 = pvr__round_end(r == PVL_OK, x->a->timeout_ms, &x->a->nmoved, x->err);
    free(t);
    return r == PVL_OK ? r2 : r;
}

/* Steps 2-5.  On failure the batch holds its (from) bytes again. */
static pvl_result batch_steps(struct ctx *x, struct batch *bt)
{
    pvl_result r;

    if (put_all(x, bt, INT3, GUARDS) != 0) {
        r = write_failed(x, "int3");
        batch_undo(x, bt, 0);
        return r;
    }
    if ((r = serialize(x, "int3")) != PVL_OK || (bt->risky && (r = batch_round(x, bt)))) {
        batch_undo(x, bt, 0);
        return r;
    }
    if (put_all(x, bt, TO, TAILS) != 0) {
        r = write_failed(x, "site bytes");
        batch_undo(x, bt, 1);
        return r;
    }
    if ((r = serialize(x, "the site bytes")) != PVL_OK) {
        batch_undo(x, bt, 1);
        return r;
    }
    if (put_all(x, bt, TO, GUARDS) != 0) {
        r = write_failed(x, "first bytes");
        batch_undo(x, bt, 1);
        return r;
    }
    return PVL_OK;
}

/*
 * Step 5's serialization, then withdraw the batch from the handlers.  A
 * SIGTRAP raised by one of its int3s and delivered later finds the address
 * in the site set and runs what is there now.  The batch is freed once no
 * thread is inside its copies.
 */
static void withdraw(struct batch *bt)
{
    pvr__membarrier_sync(); /* a failure leaves only late traps, handled */
    pvr__publish(NULL);
    if (bt->b.olx_hi == bt->b.olx_lo)
        release(&bt->b);
    pvr__reap(release);
}

static pvl_result live_batch(struct ctx *x, size_t first, size_t n, int forward)
{
    struct batch *bt = calloc(1, sizeof *bt);
    pvl_result r;

    if (!bt)
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for a batch");
    bt->first = first, bt->n = n, bt->forward = forward, bt->olx.fd = -1;
    if ((r = batch_build(x, bt)) != PVL_OK) {
        release(&bt->b);
        return r;
    }
    pvr__publish(&bt->b);
    r = batch_steps(x, bt);
    withdraw(bt);
    if (r == PVL_OK)
        x->a->nbatches++;
    return r;
}

/* Batches [0, done) are new: take them back, last first.  Sets the
 * state: old, or split when a batch could not be taken back. */
static void roll_back(struct ctx *x, size_t done)
{
    struct pvr_apply *a = x->a;
    struct pvr_error again, *keep = x->err;
    size_t end = done;

    x->err = &again;
    while (end > 0) {
        size_t start = (end - 1) / a->batch * a->batch;
        if (live_batch(x, start, end - start, 0) != PVL_OK)
            break;
        end = start;
    }
    x->err = keep;
    a->nnew = (uint32_t)end;
    a->state = end ? PVR_STATE_SPLIT : PVR_STATE_OLD;
}

static pvl_result apply_live(struct ctx *x)
{
    struct pvr_apply *a = x->a;
    uint32_t traps = pvr__traps_count();
    pvl_result r;

    pvr__looks_begin();
    if ((r = shapes(x)) != PVL_OK || (r = pvr__traps_ready(x->err)) != PVL_OK ||
        (r = preflight(x)) != PVL_OK || (r = writer_open(x)) != PVL_OK) {
        pvr__looks_end();
        return r;
    }
    pvr__reap(release);
    for (size_t i = 0; i < a->n && r == PVL_OK; i += a->batch) {
        size_t n = a->n - i < a->batch ? a->n - i : a->batch;
        if ((r = live_batch(x, i, n, 1)) == PVL_OK)
            continue;
        roll_back(x, i);
        if (a->state == PVR_STATE_SPLIT)
            snprintf(x->err->msg + strlen(x->err->msg), sizeof x->err->msg -
                     strlen(x->err->msg), "; restoring failed too: %u sites stay new", a->nnew);
    }
    writer_close(x);
    pvr__looks_end();
    a->ntraps = pvr__traps_count() - traps;
    if (r == PVL_OK)
        a->state = PVR_STATE_NEW, a->nnew = (uint32_t)a->n;
    return r;
}

pvl_result pvr__apply(struct pvr_apply *a, struct pvr_error *err)
{
    struct pvr_error scratch;
    struct ctx x = {.a = a, .procmem = a->procmem, .err = err ? err : &scratch};
    pvl_result r;

    a->state = PVR_STATE_OLD;
    sort_changes(a);
    if ((r = make_spans(&x)) == PVL_OK)
        r = a->live ? apply_live(&x) : apply_direct(&x);
    pvr__procmem_close();
    free(x.sp);
    free(x.fwd);
    free(x.back);
    return r;
}
