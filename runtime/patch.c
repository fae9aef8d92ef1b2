/*
 * Writing site bytes into the running process: directly (no other thread
 * runs the sites) or with the live protocol described in
 * <pvlink/runtime.h>.  Whatever fails, every site ends whole: its old
 * bytes or its new bytes, and pvr_apply.state says which.
 */
#include <errno.h>
#include <fcntl.h>
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
    const struct writer *w;
    int memfd;
    struct pvr_error *err;
};

/* ------------------------------------------------------------------------
 * Writers: mprotect RWX around the whole apply and store, or pwrite to
 * /proc/self/mem.  Either way the text stays executable.
 */

struct writer {
    pvl_result (*open)(struct ctx *x);
    int (*put)(struct ctx *x, uint8_t *dst, const uint8_t *src, size_t n);
    void (*close)(struct ctx *x);
};

static pvl_result mp_open(struct ctx *x)
{
    for (size_t i = 0; i < x->nsp; i++) {
        const struct span *s = &x->sp[i];
        if (pvr__mprotect((void *)s->lo, s->hi - s->lo, s->seg->prot | PROT_WRITE) == 0)
            continue;
        int e = errno;
        while (i--)
            mprotect((void *)x->sp[i].lo, x->sp[i].hi - x->sp[i].lo, x->sp[i].seg->prot);
        return pvr__fail(x->err, PVL_E_WRITE, e, "cannot make [%#lx, %#lx) of \"%s\" "
                         "writable: %s", (unsigned long)s->lo, (unsigned long)s->hi,
                         s->obj->path, strerror(e));
    }
    return PVL_OK;
}

static int mp_put(struct ctx *x, uint8_t *dst, const uint8_t *src, size_t n)
{
    (void)x;
    if (n == 1)
        __atomic_store_n(dst, *src, __ATOMIC_RELAXED);
    else
        memcpy(dst, src, n);
    return 0;
}

static void mp_close(struct ctx *x)
{
    for (size_t i = 0; i < x->nsp; i++)
        if (pvr__mprotect((void *)x->sp[i].lo, x->sp[i].hi - x->sp[i].lo,
                          x->sp[i].seg->prot) != 0)
            x->a->prot_left = 1;
}

static pvl_result pm_open(struct ctx *x)
{
    if ((x->memfd = open("/proc/self/mem", O_RDWR | O_CLOEXEC)) < 0)
        return pvr__fail(x->err, PVL_E_WRITE, errno, "cannot open /proc/self/mem: %s",
                         strerror(errno));
    return PVL_OK;
}

static int pm_put(struct ctx *x, uint8_t *dst, const uint8_t *src, size_t n)
{
    return pwrite(x->memfd, src, n, (off_t)(uintptr_t)dst) == (ssize_t)n ? 0 : -1;
}

static void pm_close(struct ctx *x)
{
    close(x->memfd);
}

static const struct writer writers[2] = {
    {mp_open, mp_put, mp_close},
    {pm_open, pm_put, pm_close},
};

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
    pvl_result r = x->w->open(x);

    a->state = PVR_STATE_OLD;
    if (r != PVL_OK)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        const struct pvr_change *c = &a->v[i];
        if (x->w->put(x, c->addr, pvr__new(a, c), c->room) == 0)
            continue;
        r = pvr__fail(x->err, PVL_E_WRITE, errno, "writing site %#lx of \"%s\": %s",
                      (unsigned long)c->addr, c->obj->path, strerror(errno));
        while (i-- && x->w->put(x, a->v[i].addr, pvr__old(a, &a->v[i]), a->v[i].room) == 0)
            ;
        a->state = i == (size_t)-1 ? PVR_STATE_OLD : PVR_STATE_SPLIT;
        a->nnew = i == (size_t)-1 ? 0 : (uint32_t)(i + 1);
        x->w->close(x);
        return r;
    }
    x->w->close(x);
    a->state = PVR_STATE_NEW, a->nnew = (uint32_t)a->n;
    return PVL_OK;
}

/* ------------------------------------------------------------------------
 * Out-of-line copies.  For each site: its current bytes, then
 * `jmp *0(%rip); .quad end`.  A call in the bytes (e8 rel32 at the start
 * followed by NOPs, or at the end after NOPs) becomes `jmp rel32` to a
 * stub after them that pushes the site's end and jumps to the target, so
 * that the callee returns to the site, never into the copy.
 */

#define JMP_ABS_LEN 14
#define STUB_LEN 34

static int call_offset(const uint8_t *b, unsigned room)
{
    uint8_t nops[PVL_ROOM_MAX];

    if (room < PVL_CALL_LEN)
        return -1;
    pvl_emit_nops(nops, room - PVL_CALL_LEN);
    if (b[0] == 0xe8 && !memcmp(b + PVL_CALL_LEN, nops, room - PVL_CALL_LEN))
        return 0;
    if (b[room - PVL_CALL_LEN] == 0xe8 && !memcmp(b, nops, room - PVL_CALL_LEN))
        return (int)(room - PVL_CALL_LEN);
    return -1;
}

static size_t olx_size(const uint8_t *b, unsigned room)
{
    size_t n = room + JMP_ABS_LEN + (call_offset(b, room) >= 0 ? STUB_LEN : 0);
    return (n + 15) & ~(size_t)15;
}

static uint8_t *put_jmp_abs(uint8_t *p, uint64_t to)
{
    static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0};
    memcpy(p, jmp, 6);
    memcpy(p + 6, &to, 8);
    return p + JMP_ABS_LEN;
}

/* lea -8(%rsp),%rsp; movl $lo,(%rsp); movl $hi,4(%rsp); jmp *target */
static void put_stub(uint8_t *p, uint64_t ret, uint64_t target)
{
    uint32_t lo = (uint32_t)ret, hi = (uint32_t)(ret >> 32);
    memcpy(p, "\x48\x8d\x64\x24\xf8\xc7\x04\x24", 8);
    memcpy(p + 8, &lo, 4);
    memcpy(p + 12, "\xc7\x44\x24\x04", 4);
    memcpy(p + 16, &hi, 4);
    put_jmp_abs(p + 20, target);
}

static void build_olx(uint8_t *o, const uint8_t *b, unsigned room, uintptr_t site)
{
    int c = call_offset(b, room);
    uint8_t *stub = o + room + JMP_ABS_LEN;

    memcpy(o, b, room);
    put_jmp_abs(o + room, site + room);
    if (c < 0)
        return;
    int32_t rel, disp;
    memcpy(&disp, b + c + 1, 4);
    put_stub(stub, site + room, (uint64_t)(site + (uintptr_t)c + PVL_CALL_LEN + (intptr_t)disp));
    rel = (int32_t)(stub - (o + c + PVL_CALL_LEN));
    o[c] = 0xe9;
    memcpy(o + c + 1, &rel, 4);
}

/* ------------------------------------------------------------------------
 * One live batch: sites [first, first + n) of the sorted changes, from
 * their old bytes to their new ones (forward) or back.
 */

struct batch {
    struct pvr_lbatch b;
    struct pvr_lsite *v;
    uint8_t *olx;
    size_t olx_len;
    size_t first, n;
    int forward;
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

static pvl_result batch_build(struct ctx *x, struct batch *bt)
{
    size_t len = 0, off = 0;

    for (size_t i = bt->first; i < bt->first + bt->n; i++)
        len += olx_size(from_of(x, bt, i), x->a->v[i].room);
    bt->v = malloc(bt->n * sizeof *bt->v);
    bt->olx = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!bt->v || bt->olx == MAP_FAILED) {
        free(bt->v);
        if (bt->olx != MAP_FAILED)
            munmap(bt->olx, len);
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for a batch of %zu "
                         "sites", bt->n);
    }
    bt->olx_len = len;
    for (size_t k = 0; k < bt->n; k++) {
        const struct pvr_change *c = &x->a->v[bt->first + k];
        const uint8_t *from = from_of(x, bt, bt->first + k);
        build_olx(bt->olx + off, from, c->room, (uintptr_t)c->addr);
        bt->v[k] = (struct pvr_lsite){(uintptr_t)c->addr, (uintptr_t)(bt->olx + off), c->room};
        off += olx_size(from, c->room);
    }
    if (mprotect(bt->olx, len, PROT_READ | PROT_EXEC) != 0) {
        int e = errno;
        free(bt->v);
        munmap(bt->olx, len);
        return pvr__fail(x->err, PVL_E_WRITE, e, "cannot make out-of-line copies "
                         "executable: %s", strerror(e));
    }
    static uint64_t ids;
    bt->b = (struct pvr_lbatch){bt->v, bt->n, ++ids};
    return PVL_OK;
}

/* Out-of-line copies withdrawn but perhaps still being run by a thread. */
static struct {
    uint8_t *p;
    size_t len;
} *retired;
static size_t nretired;

static void retire(uint8_t *p, size_t len)
{
    void *n = realloc(retired, (nretired + 1) * sizeof *retired);
    if (!n)
        return; /* keep it mapped for ever rather than free it early */
    retired = n;
    retired[nretired].p = p, retired[nretired].len = len;
    nretired++;
}

static void watch_retired(void)
{
    pvr__watch(0, 0);
    for (size_t i = 0; i < nretired; i++)
        pvr__watch((uintptr_t)retired[i].p, (uintptr_t)retired[i].p + retired[i].len);
}

/* A round in which no thread was inside them frees every watched copy. */
static pvl_result round_and_reap(struct ctx *x, int fix)
{
    int busy = 0;
    size_t watched = nretired;
    pvl_result r;

    watch_retired();
    r = pvr__round(fix, x->a->timeout_ms, &busy, &x->a->nmoved, x->err);
    x->a->nrounds++;
    if (r == PVL_OK && !busy && watched) {
        for (size_t i = 0; i < watched; i++)
            munmap(retired[i].p, retired[i].len);
        memmove(retired, retired + watched, (nretired - watched) * sizeof *retired);
        nretired -= watched;
    }
    return r;
}

/* Write one part of every site of the batch: the first byte (tail 0) or
 * the others (tail 1), from the (from) bytes, the (to) bytes or int3. */
enum { FROM, TO, INT3 };

static int put_all(struct ctx *x, struct batch *bt, int which, int tail)
{
    static const uint8_t int3[PVL_ROOM_MAX] = {0xcc};
    int fail = 0;

    for (size_t i = bt->first; i < bt->first + bt->n; i++) {
        const struct pvr_change *c = &x->a->v[i];
        const uint8_t *src = which == FROM ? from_of(x, bt, i)
                             : which == TO ? to_of(x, bt, i) : int3;
        size_t off = tail ? 1 : 0, n = tail ? c->room - 1u : 1u;
        if (x->w->put(x, c->addr + off, src + off, n) != 0)
            fail = -1;
    }
    return fail;
}

#define HEAD 0
#define TAIL 1

static pvl_result serialize(struct ctx *x, const char *step)
{
    if (pvr__membarrier_sync() == 0)
        return PVL_OK;
    return pvr__fail(x->err, PVL_E_WRITE, errno, "membarrier after %s: %s", step,
                     strerror(errno));
}

/* Put the batch back as it was: the tails, then the heads. */
static void batch_undo(struct ctx *x, struct batch *bt, int tails_written)
{
    if (tails_written) {
        put_all(x, bt, FROM, TAIL);
        pvr__membarrier_sync();
    }
    put_all(x, bt, FROM, HEAD);
    pvr__membarrier_sync();
}

static pvl_result write_failed(struct ctx *x, const char *what)
{
    return pvr__fail(x->err, PVL_E_WRITE, errno, "writing %s: %s", what, strerror(errno));
}

/* Steps 2-5.  On failure the batch holds its (from) bytes again. */
static pvl_result batch_steps(struct ctx *x, struct batch *bt)
{
    pvl_result r;

    if (put_all(x, bt, INT3, HEAD) != 0) {
        r = write_failed(x, "int3");
        batch_undo(x, bt, 0);
        return r;
    }
    if ((r = serialize(x, "int3")) != PVL_OK || (r = round_and_reap(x, 1)) != PVL_OK) {
        batch_undo(x, bt, 0);
        return r;
    }
    if (put_all(x, bt, TO, TAIL) != 0) {
        r = write_failed(x, "site bytes");
        batch_undo(x, bt, 1);
        return r;
    }
    if ((r = serialize(x, "the site bytes")) != PVL_OK) {
        batch_undo(x, bt, 1);
        return r;
    }
    if (put_all(x, bt, TO, HEAD) != 0) {
        r = write_failed(x, "first bytes");
        batch_undo(x, bt, 1);
        return r;
    }
    return PVL_OK;
}

/*
 * Step 5's serialization, then withdraw the batch from the handlers.  A
 * SIGTRAP raised by one of its int3s and delivered later finds the site in
 * the set of int3 sites and re-runs its (new) head.  Its out-of-line
 * copies are freed after a later round finds no thread inside them.
 */
static void withdraw(struct batch *bt)
{
    pvr__membarrier_sync(); /* a failure leaves only late traps, handled */
    retire(bt->olx, bt->olx_len);
    pvr__publish(NULL);
    free(bt->v);
}

static pvl_result live_batch(struct ctx *x, size_t first, size_t n, int forward)
{
    struct batch bt = {.first = first, .n = n, .forward = forward};
    pvl_result r = batch_build(x, &bt);

    if (r != PVL_OK)
        return r;
    if (pvr__sites_add(bt.v, bt.n) != 0) {
        free(bt.v);
        munmap(bt.olx, bt.olx_len);
        return pvr__fail(x->err, PVL_E_WRITE, ENOMEM, "out of memory for the site set");
    }
    pvr__publish(&bt.b);
    r = batch_steps(x, &bt);
    withdraw(&bt);
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

static pvl_result apply_live(struct ctx *x, struct pvr_error *err)
{
    struct pvr_apply *a = x->a;
    pvl_result r;

    if ((r = pvr__traps_ready(err)) != PVL_OK)
        return r;
    if ((r = x->w->open(x)) != PVL_OK)
        return r;
    for (size_t i = 0; i < a->n; i += a->batch) {
        size_t n = a->n - i < a->batch ? a->n - i : a->batch;
        if ((r = live_batch(x, i, n, 1)) != PVL_OK) {
            roll_back(x, i);
            if (a->state == PVR_STATE_SPLIT)
                snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                         "; restoring failed too: %u sites stay new", a->nnew);
            x->w->close(x);
            return r;
        }
    }
    x->w->close(x);
    a->state = PVR_STATE_NEW, a->nnew = (uint32_t)a->n;
    return PVL_OK;
}

pvl_result pvr__apply(struct pvr_apply *a, struct pvr_error *err)
{
    struct pvr_error scratch;
    struct ctx x = {a, NULL, 0, &writers[a->procmem ? 1 : 0], -1, err ? err : &scratch};
    pvl_result r;

    a->state = PVR_STATE_OLD;
    sort_changes(a);
    if ((r = make_spans(&x)) == PVL_OK)
        r = a->live ? apply_live(&x, x.err) : apply_direct(&x);
    free(x.sp);
    return r;
}
