/*
 * The signal side of the live protocol.
 *
 * SIGTRAP: a thread that executes one of pvlink's int3s (a trap: si_code
 * SI_KERNEL, or TRAP_BRKPT under valgrind; RIP one past the int3) is
 *   - at a guarded offset of a site being written: it runs the site's old
 *     code from there, emulated (NOPs are skipped, a call is made: its
 *     return address pushed, RIP set to its target) or in the site's
 *     out-of-line copy, which ends with an int3;
 *   - at the end of a copy: back to the end of its site;
 *   - at an int3 of a batch already withdrawn (a trap delivered late): it
 *     starts the operation again from the head of the site.
 * Anything else goes to the handler that was installed before pvlink's.
 *
 * pvlink's real-time signal: a round.  The patcher signals the threads
 * that may stand inside a site at an offset whose bytes are about to
 * change; each moves itself out (to the copy, or to the head or the end of
 * the site when that is the same) and answers.
 *
 * The handlers read the published batch and the batches with copies under
 * a reader count; a batch is freed only when no thread is inside its
 * copies (entries and exits are counted) and no handler reads it.
 * Nothing here allocates or locks in a handler.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#define MAX_THREADS 32768
#define SLOT_BITS 20

static _Atomic(struct pvr_lbatch *) published;
static _Atomic(struct pvr_lbatch *) with_copies; /* published or kept */
static _Atomic int readers;
static _Atomic uint32_t ntraps;
static int vg_yield; /* under valgrind (set before the handler is installed) */

/*
 * Every address pvlink has put an int3 on (until its object is forgotten),
 * with the head of its site: open addressing, readers lock-free.  Slots
 * go from 0 to an address (or to TOMB when the object is unloaded), never
 * back; a grown table replaces the old one, freed once no handler reads
 * it.
 */
#define TOMB ((uintptr_t)1)
struct siteset {
    size_t cap, used;
    struct {
        _Atomic uintptr_t at, head;
    } slot[];
};
static _Atomic(struct siteset *) site_set;
static struct sigaction prev_trap; /* the handler pvlink replaced */
static int rt_sig;                  /* 0 until chosen */
static int ready;

/* The current round. */
static _Atomic uint64_t round_seq;
static _Atomic int round_pid;
static _Atomic int round_open;
static _Atomic uint64_t acks[MAX_THREADS];
static _Atomic uint32_t nacks; /* futex word */
static _Atomic uint32_t round_expect;
static _Atomic uint32_t round_moved;

/* ------------------------------------------------------------------------
 * Looking sites up (handlers).
 */

/* The last site whose address is <= (a), or NULL. */
static const struct pvr_lsite *floor_site(const struct pvr_lbatch *b, uintptr_t a)
{
    size_t lo = 0, hi = b->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->v[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &b->v[lo - 1] : NULL;
}

/* The site of (b) holding (a), with (*p) the offset; NULL if none. */
static const struct pvr_lsite *site_at(const struct pvr_lbatch *b, uintptr_t a, unsigned *p)
{
    const struct pvr_lsite *s = b ? floor_site(b, a) : NULL;

    if (!s || a >= s->addr + s->room)
        return NULL;
    *p = (unsigned)(a - s->addr);
    return s;
}

static greg_t *reg(void *ucv, int r)
{
    return &((ucontext_t *)ucv)->uc_mcontext.gregs[r];
}

static size_t set_hash(uintptr_t a, size_t cap)
{
    return (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* The head of the site with an int3 of pvlink's at (a), or 0. */
static uintptr_t set_head(uintptr_t a)
{
    const struct siteset *t = atomic_load(&site_set);

    for (size_t i = t ? set_hash(a, t->cap) : 0, n = 0; t && n < t->cap; n++) {
        uintptr_t v = atomic_load(&t->slot[i].at);
        if (v == a)
            return atomic_load(&t->slot[i].head);
        if (v == 0)
            return 0;
        i = (i + 1) & (t->cap - 1);
    }
    return 0;
}

/* What a call instruction does: push the return address, go. */
static void emulate_call(void *ucv, uint64_t ret, uint64_t target)
{
    greg_t *sp = reg(ucv, REG_RSP);

    *sp -= 8;
    *(uint64_t *)(uintptr_t)*sp = ret;
    *reg(ucv, REG_RIP) = (greg_t)target;
}

/* A thread at guarded offset (p) of (s): run the old code from there. */
static void enter(struct pvr_lbatch *b, const struct pvr_lsite *s, unsigned p, void *ucv)
{
    if (s->sh.kind == PVR_EMU_NOPS) {
        *reg(ucv, REG_RIP) = (greg_t)(s->addr + s->room);
    } else if (s->sh.kind == PVR_EMU_CALL) {
        emulate_call(ucv, s->addr + s->room, s->sh.call);
    } else {
        atomic_fetch_add(&b->inside, 1);
        *reg(ucv, REG_RIP) = (greg_t)(s->olx + p);
    }
}

/*
 * The exit int3 of a copy (see patch.c: a copy slot is the old bytes, the
 * exit, and the site's end address at PVR_OLX_END).  Returns 1 if (a) is
 * one, with the thread sent back to its site.
 */
static int leave(uintptr_t a, void *ucv)
{
    for (struct pvr_lbatch *b = atomic_load(&with_copies); b; b = atomic_load(&b->next)) {
        if (a < b->olx_lo || a >= b->olx_hi)
            continue;
        uintptr_t slot = b->olx_lo + (a - b->olx_lo) / PVR_OLX_SLOT * PVR_OLX_SLOT;
        const uint64_t *end = (const uint64_t *)(slot + PVR_OLX_END);
        if (a != slot + end[1])
            return 0; /* not the exit: not ours */
        *reg(ucv, REG_RIP) = (greg_t)end[0];
        atomic_fetch_sub(&b->inside, 1);
        return 1;
    }
    return 0;
}

/* A trap at (a): one of pvlink's int3s?  Returns 1 when handled. */
static int redirect(void *ucv, uintptr_t a)
{
    struct pvr_lbatch *b = atomic_load(&published);
    const struct pvr_lsite *s;
    unsigned p = 0;

    if ((s = site_at(b, a, &p)) && ((s->sh.guards >> p) & 1)) {
        enter(b, s, p, ucv);
        return 1;
    }
    if (leave(a, ucv))
        return 1;
    /* A late trap (delivered after its batch was withdrawn, perhaps after
     * later links changed the site again): the thread had done nothing of
     * the operation yet (guarded offsets have only NOPs before them), so
     * it starts it again from the head, whatever is there now. */
    uintptr_t head = set_head(a);
    if (!head)
        return 0;
    *reg(ucv, REG_RIP) = (greg_t)head;
    return 1;
}

/* Strictly inside a published site at a risky offset: move out. */
static void fixup(void *ucv)
{
    greg_t *rip = reg(ucv, REG_RIP);
    struct pvr_lbatch *b = atomic_load(&published);
    const struct pvr_lsite *s;
    unsigned p = 0;

    if (!(s = site_at(b, (uintptr_t)*rip, &p)) || p == 0 || !((s->sh.risky >> p) & 1))
        return;
    if (s->sh.kind == PVR_COPY) {
        atomic_fetch_add(&b->inside, 1);
        *rip = (greg_t)(s->olx + p);
    } else {
        /* emulated old code: only NOPs before p (not started: the head),
         * or only NOPs after it (done: the end) */
        *rip = (greg_t)(s->addr + (((s->sh.idle >> p) & 1) ? 0 : s->room));
    }
    atomic_fetch_add(&round_moved, 1);
}

/* ------------------------------------------------------------------------
 * Handlers.
 */


/* Record this thread's answer in (slot); yield the CPU while others have
 * not answered, so that a signalled thread waiting for it answers now. */
static void answer(uint64_t slot, uint64_t seq)
{
    atomic_store(&acks[slot], seq);
    if (atomic_fetch_add(&nacks, 1) + 1 < atomic_load(&round_expect))
        sched_yield();
    syscall(SYS_futex, &nacks, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* An executed int3: the kernel reports SI_KERNEL; valgrind TRAP_BRKPT. */
static int is_trap(const siginfo_t *si)
{
    return si->si_code == SI_KERNEL || si->si_code == TRAP_BRKPT;
}

/* What the kernel would do with a SIGTRAP under disposition SIG_DFL or
 * SIG_IGN: a trap is never ignored; SIG_DFL terminates with a core. */
static void chain_default(int sig, const siginfo_t *si)
{
    struct sigaction dfl;

    if (prev_trap.sa_handler == SIG_IGN && !is_trap(si))
        return;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    raise(sig); /* pending until this handler returns and unblocks it */
}

static void chain(int sig, siginfo_t *si, void *ucv)
{
    struct sigaction p = prev_trap;
    sigset_t old;

    if (!(p.sa_flags & SA_SIGINFO) && (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN)) {
        chain_default(sig, si);
        return;
    }
    if (p.sa_flags & SA_RESETHAND)
        prev_trap.sa_handler = SIG_DFL, prev_trap.sa_flags &= ~SA_SIGINFO;
    if (!(p.sa_flags & SA_NODEFER)) /* pvlink's handler does not block it */
        sigaddset(&p.sa_mask, sig);
    pthread_sigmask(SIG_BLOCK, &p.sa_mask, &old);
    if (p.sa_flags & SA_SIGINFO)
        p.sa_sigaction(sig, si, ucv);
    else
        p.sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void trap_handler(int sig, siginfo_t *si, void *ucv)
{
    int e = errno, done = 0;

    if (is_trap(si)) {
        atomic_fetch_add(&readers, 1);
        done = redirect(ucv, (uintptr_t)*reg(ucv, REG_RIP) - 1);
        atomic_fetch_sub(&readers, 1);
    }
    if (done)
        atomic_fetch_add(&ntraps, 1);
    /* valgrind runs one thread at a time: let the patcher finish the batch
     * rather than trap at every site until its time slice ends */
    if (done && vg_yield && atomic_load(&published))
        sched_yield();
    errno = e;
    if (!done)
        chain(sig, si, ucv);
}

static void rt_handler(int sig, siginfo_t *si, void *ucv)
{
    int e = errno;
    uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    uint64_t seq = v >> SLOT_BITS, slot = v & ((1u << SLOT_BITS) - 1);

    (void)sig;
    /* a late signal (its round is over, the site bytes may be new) must
     * not move anything */
    if (si->si_code != SI_QUEUE || si->si_pid != atomic_load(&round_pid) ||
        seq != atomic_load(&round_seq) || slot >= MAX_THREADS || !atomic_load(&round_open))
        return;
    atomic_fetch_add(&readers, 1);
    fixup(ucv);
    atomic_fetch_sub(&readers, 1);
    answer(slot, seq);
    errno = e;
}

/* ------------------------------------------------------------------------
 * Installation.
 */

int pvr__signal(void)
{
    return rt_sig ? rt_sig : SIGRTMAX - 2;
}

pvl_result pvr_set_signal(int sig, struct pvr_error *err)
{
    struct sigaction cur;
    pvl_result r;

    if ((r = pvr__enter(err)) != PVL_OK)
        return r;
    if (sig < SIGRTMIN || sig > SIGRTMAX || sigaction(sig, NULL, &cur) != 0 ||
        (cur.sa_handler != SIG_DFL &&
         !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == rt_handler)))
        r = pvr__fail(err, PVL_E_ARG, 0, "signal %d: not a free real-time signal "
                      "(%d..%d without a handler)", sig, SIGRTMIN, SIGRTMAX);
    else if (ready && sig != rt_sig)
        r = pvr__fail(err, PVL_E_ARG, 0, "signal: already in use (%d); choose it "
                      "before the first live link", rt_sig);
    else
        rt_sig = sig;
    pvr__leave();
    return r;
}

static pvl_result install_rt(struct pvr_error *err)
{
    struct sigaction sa, cur;

    rt_sig = pvr__signal();
    if (sigaction(rt_sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
        return pvr__fail(err, PVL_E_WRITE, 0, "signal %d already has a handler; choose "
                         "another with pvr_set_signal", rt_sig);
    memset(&sa, 0, sizeof sa);
    /* Not SA_NODEFER: a signal of the next round must not run inside this
     * handler, where the thread's own context (which it may have to move)
     * is not the one it would see. */
    sa.sa_sigaction = rt_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(rt_sig, &sa, NULL) != 0)
        return pvr__fail(err, PVL_E_WRITE, errno, "cannot install the handler of signal %d: "
                         "%s", rt_sig, strerror(errno));
    return PVL_OK;
}

/* Install pvlink's SIGTRAP handler, keeping the one it replaces. */
static pvl_result install_trap(struct pvr_error *err)
{
    struct sigaction sa, cur;

    if (sigaction(SIGTRAP, NULL, &cur) != 0)
        return pvr__fail(err, PVL_E_WRITE, errno, "cannot read the SIGTRAP handler");
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == trap_handler)
        return PVL_OK;
    memset(&sa, 0, sizeof sa);
    /* SA_NODEFER and no mask: a thread in it shows its own mask in /proc
     * (a trap leaves its thread at a site's head, a guarded offset or a
     * copy's exit, never where a round would move it, so pvlink's signal
     * may run inside it) */
    sa.sa_sigaction = trap_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    prev_trap = cur;
    if (sigaction(SIGTRAP, &sa, NULL) != 0)
        return pvr__fail(err, PVL_E_WRITE, errno, "cannot install the SIGTRAP handler: %s",
                         strerror(errno));
    return PVL_OK;
}

pvl_result pvr__traps_ready(struct pvr_error *err)
{
    pvl_result r;

    if (!ready) {
        if (pvr__membarrier_register() != 0)
            return pvr__fail(err, PVL_E_WRITE, errno, "membarrier: cannot register for "
                             "PRIVATE_EXPEDITED_SYNC_CORE: %s", strerror(errno));
        if ((r = install_rt(err)) != PVL_OK)
            return r;
        vg_yield = pvr__on_valgrind();
        ready = 1;
    }
    return install_trap(err);
}

/* ------------------------------------------------------------------------
 * Publishing, keeping and freeing batches (patcher side, under pvr__lock).
 */

static void quiesce(void)
{
    while (atomic_load(&readers))
        sched_yield();
}

void pvr__publish(struct pvr_lbatch *b)
{
    if (b && b->olx_hi > b->olx_lo) {
        atomic_store(&b->next, atomic_load(&with_copies));
        atomic_store(&with_copies, b);
    }
    atomic_store(&published, b);
    if (!b)
        quiesce();
}

uint32_t pvr__traps_count(void)
{
    return atomic_load(&ntraps);
}

void pvr__reap(void (*release)(struct pvr_lbatch *))
{
    struct pvr_lbatch *gone = NULL, *pub = atomic_load(&published);
    _Atomic(struct pvr_lbatch *) *pp = &with_copies;

    for (struct pvr_lbatch *b; (b = atomic_load(pp)) != NULL;) {
        if (b == pub || atomic_load(&b->inside) > 0) {
            pp = &b->next;
            continue;
        }
        /* unlinked; a handler still at b follows b->next, still the rest
         * of the list, until quiesce() says none is */
        atomic_store(pp, atomic_load(&b->next));
        b->gone = gone;
        gone = b;
    }
    if (!gone)
        return;
    quiesce();
    while (gone) {
        struct pvr_lbatch *b = gone;
        gone = b->gone;
        release(b);
    }
}

static void set_put(struct siteset *t, uintptr_t a, uintptr_t head)
{
    size_t i = set_hash(a, t->cap);

    for (;;) {
        uintptr_t v = atomic_load(&t->slot[i].at);
        if (v == a)
            return;
        if (v == 0) {
            atomic_store(&t->slot[i].head, head); /* before the address shows */
            atomic_store(&t->slot[i].at, a);
            t->used++;
            return;
        }
        i = (i + 1) & (t->cap - 1);
    }
}

/* A table for at least (need) addresses, with the live ones of (old). */
static struct siteset *set_rebuild(const struct siteset *old, size_t need)
{
    size_t cap = 1024;
    struct siteset *t;

    while (cap < 2 * need)
        cap *= 2;
    if (!(t = calloc(1, sizeof *t + cap * sizeof t->slot[0])))
        return NULL;
    t->cap = cap;
    for (size_t i = 0; old && i < old->cap; i++) {
        uintptr_t v = atomic_load(&old->slot[i].at);
        if (v > TOMB)
            set_put(t, v, atomic_load(&old->slot[i].head));
    }
    return t;
}

int pvr__sites_add(const uintptr_t (*a)[2], size_t n)
{
    struct siteset *t = atomic_load(&site_set);

    if (!t || 2 * (t->used + n) > t->cap) {
        struct siteset *nt = set_rebuild(t, (t ? t->used : 0) + n);
        if (!nt)
            return -1;
        atomic_store(&site_set, nt);
        quiesce();
        free(t);
        t = nt;
    }
    for (size_t i = 0; i < n; i++)
        set_put(t, a[i][0], a[i][1]);
    return 0;
}

void pvr__sites_forget(uintptr_t lo, uintptr_t hi)
{
    struct siteset *t = atomic_load(&site_set);

    for (size_t i = 0; t && i < t->cap; i++) {
        uintptr_t v = atomic_load(&t->slot[i].at);
        if (v >= lo && v < hi)
            atomic_store(&t->slot[i].at, TOMB);
    }
}

/* ------------------------------------------------------------------------
 * Rounds (patcher side).
 */

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Threads that have not answered; those that exited count as answered. */
/*
 * Threads that answered a round recently: they may still be inside
 * pvlink's signal handler, which blocks pvlink's signal while it runs (a
 * thread waiting for a CPU may stay there for milliseconds).  Their mask
 * is not held against them until they have run 10 ms since (patcher side,
 * under pvr__lock).
 */
#define MAX_RECENT 1024
static struct {
    int tid;
    unsigned long long ran; /* its CPU time when it answered */
} recent[MAX_RECENT];
static int nrecent;

static void answered(int tid)
{
    int i = 0;

    while (i < nrecent && recent[i].tid != tid)
        i++;
    if (i == nrecent && nrecent == MAX_RECENT)
        i = (int)((unsigned)tid % MAX_RECENT); /* full: forget another */
    else if (i == nrecent)
        nrecent++;
    recent[i].tid = tid, recent[i].ran = pvr__ran_ns(tid);
}

static int maybe_in_handler(int tid)
{
    for (int i = 0; i < nrecent; i++)
        if (recent[i].tid == tid)
            return pvr__ran_ns(tid) - recent[i].ran < 10000000;
    return 0;
}

int pvr__blocks_signal(int tid)
{
    int b = pvr__blocks_still(tid, rt_sig ? rt_sig : pvr__signal());
    return b == 1 && maybe_in_handler(tid) ? 0 : b;
}

static int unanswered(int pid, const int *tids, int n, uint64_t seq, uint8_t *done,
                      int check_alive, int *first)
{
    int left = 0;

    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        if (atomic_load(&acks[i]) == seq) {
            done[i] = 1;
            answered(tids[i]);
            continue;
        }
        if (check_alive && syscall(SYS_tgkill, pid, tids[i], 0) != 0 && errno == ESRCH) {
            done[i] = 1;
            continue;
        }
        if (!left++)
            *first = tids[i];
    }
    return left;
}

/* A thread that has not answered and blocks the signal (pvlink's SIGTRAP
 * handler blocks nothing; its own handler blocks it only while it runs,
 * for microseconds): seen so at three looks 20 ms apart, having run or
 * slept meanwhile, it is not going to answer. */
static int blocker(const int *tids, int n, const uint8_t *done, uint8_t *strikes,
                   unsigned long long *ran)
{
    for (int i = 0; i < n; i++) {
        unsigned long long now = done[i] ? 0 : pvr__ran_ns(tids[i]);
        uintptr_t pc;
        if (done[i] || pvr__blocks(tids[i], rt_sig) != 1 || maybe_in_handler(tids[i]))
            strikes[i] = 0;
        else if ((now != ran[i] || pvr__where(tids[i], &pc) == PVR_BLOCKED) && ++strikes[i] >= 3)
            return tids[i];
        ran[i] = now;
    }
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* How long the patcher spins for answers before it sleeps. */
#define SPIN_US 200

static pvl_result wait_all(int pid, const int *tids, int n, uint64_t seq, uint8_t *done,
                           unsigned timeout_ms, struct pvr_error *err)
{
    uint64_t start_us = now_us();
    int vg = pvr__on_valgrind();
    static uint8_t strikes[MAX_THREADS];
    static unsigned long long ran[MAX_THREADS];
    uint64_t start = now_ms(), next_look = start + 5;
    int first = 0, who;

    memset(strikes, 0, (size_t)n);
    memset(ran, 0, (size_t)n * sizeof ran[0]);
    for (unsigned spin = 0;; spin++) {
        uint32_t seen = atomic_load(&nacks);
        if (!unanswered(pid, tids, n, seq, done, spin > 0 && spin % 16 == 0, &first))
            return PVL_OK;
        if (now_ms() >= next_look && !pvr__on_valgrind()) { /* a mask may have changed */
            if ((who = blocker(tids, n, done, strikes, ran)) != 0)
                return pvr__fail(err, PVL_E_THREADS, 0, "thread %d blocks pvlink's signal "
                                 "%d and may stand inside a site being changed", who, rt_sig);
            next_look = now_ms() + 20;
        }
        if (now_ms() - start > timeout_ms)
            return pvr__fail(err, PVL_E_WRITE, ETIMEDOUT, "thread %d did not answer "
                             "pvlink's signal %d within %u ms", first, rt_sig, timeout_ms);
        /* answers come in microseconds: sleeping and waking would cost more
         * (not under valgrind, which runs one thread at a time) */
        if (now_us() - start_us < SPIN_US && !vg) {
            for (int k = 0; k < 64 && atomic_load(&nacks) == seen; k++)
                __builtin_ia32_pause();
            continue;
        }
        struct timespec ts = {0, 1000000};
        syscall(SYS_futex, &nacks, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
    }
}

/* The threads signalled in the current round, and which have answered. */
static int round_tids[MAX_THREADS];
static uint8_t round_done[MAX_THREADS];
static int round_n;

void pvr__round_begin(void)
{
    round_n = 0;
    atomic_store(&round_moved, 0);
    atomic_store(&round_pid, getpid());
    atomic_store(&nacks, 0);
    atomic_store(&round_expect, 0);
    atomic_store(&round_seq, atomic_load(&round_seq) + 1);
    atomic_store(&round_open, 1);
}

pvl_result pvr__round_signal(int tid, struct pvr_error *err)
{
    uint64_t seq = atomic_load(&round_seq);
    int i = round_n, tries = 0;

    if (i == MAX_THREADS)
        return pvr__fail(err, PVL_E_WRITE, 0, "more than %d threads", MAX_THREADS);
    round_tids[i] = tid, round_done[i] = 0;
    atomic_store(&acks[i], 0);
    round_n++;
    atomic_fetch_add(&round_expect, 1);
    while (pvr__sigqueue(atomic_load(&round_pid), tid, rt_sig, seq << SLOT_BITS | (uint64_t)i)) {
        if (errno == ESRCH) {
            round_done[i] = 1;
            break;
        }
        if (errno != EAGAIN || ++tries > 1000)
            return pvr__fail(err, PVL_E_WRITE, errno, "cannot signal thread %d: %s", tid,
                             strerror(errno));
        sched_yield();
    }
    return PVL_OK;
}

pvl_result pvr__round_end(int wait, unsigned timeout_ms, uint32_t *moved,
                          struct pvr_error *err)
{
    pvl_result r = PVL_OK;

    if (wait && round_n)
        r = wait_all(atomic_load(&round_pid), round_tids, round_n, atomic_load(&round_seq),
                     round_done, timeout_ms, err);
    atomic_store(&round_open, 0);
    *moved += atomic_load(&round_moved);
    return r;
}
