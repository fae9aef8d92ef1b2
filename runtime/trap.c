/*
 * The signal side of the live protocol.
 *
 * SIGTRAP: a thread that executes the int3 at the head of a site being
 * written (a trap, si_code SI_KERNEL, RIP one past the int3) is sent to
 * the site's out-of-line copy.  Anything else goes to the handler that was
 * installed before pvlink's.
 *
 * pvlink's real-time signal: a round.  The patcher signals every other
 * thread; each answers from its handler, after moving itself out of the
 * middle of a published site (when asked) and noting whether it was inside
 * watched out-of-line code.  The SIGTRAP handler blocks this signal, so an
 * answer also proves that the thread's earlier SIGTRAP handlers finished.
 *
 * The handlers read the published batch under a reader count; withdrawing
 * a batch waits for the count to reach zero, so a batch is never freed
 * under a handler.  Nothing here allocates or locks in a handler.
 */
#include <errno.h>
#include <fcntl.h>
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
#define MAX_WATCH 16
#define SLOT_BITS 20

static _Atomic(const struct pvr_lbatch *) published;

/*
 * Every site address pvlink has put an int3 on (until its object is
 * forgotten): open addressing, readers lock-free.  Slots go from 0 to an
 * address (or to TOMB when the object is unloaded), never back; a grown
 * table replaces the old one, freed once no handler reads it.
 */
#define TOMB ((uintptr_t)1)
struct siteset {
    size_t cap, used;
    _Atomic uintptr_t slot[];
};
static _Atomic(struct siteset *) site_set;
static _Atomic int readers;
static struct sigaction prev_trap; /* the handler pvlink replaced */
static int rt_sig;                  /* 0 until chosen */
static int ready;

/* The current round. */
static _Atomic uint64_t round_seq;
static _Atomic int round_fix;
static _Atomic int round_pid;
static _Atomic uint64_t acks[MAX_THREADS];
static _Atomic uint32_t nacks; /* futex word */
static _Atomic uint32_t round_expect; /* answers the round waits for */
static _Atomic int round_open;         /* a fixup round is waiting for answers */
static _Atomic uint64_t round_batch;   /* id of the batch published during it */
static int round_tids[MAX_THREADS];
static _Atomic int round_n;
static _Atomic uint32_t round_moved;
static _Atomic int round_busy;
static struct {
    _Atomic uintptr_t lo, hi;
} watch[MAX_WATCH];
static _Atomic int nwatch;

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

static greg_t *rip_of(void *ucv)
{
    return &((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
}

static size_t set_hash(uintptr_t a, size_t cap)
{
    return (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static int set_has(uintptr_t a)
{
    const struct siteset *t = atomic_load(&site_set);

    for (size_t i = t ? set_hash(a, t->cap) : 0, n = 0; t && n < t->cap; n++) {
        uintptr_t v = atomic_load(&t->slot[i]);
        if (v == a)
            return 1;
        if (v == 0)
            return 0;
        i = (i + 1) & (t->cap - 1);
    }
    return 0;
}

/* The published site starting exactly at (a); (*id) its batch. */
static const struct pvr_lsite *head_site(uintptr_t a, uint64_t *id)
{
    const struct pvr_lbatch *b = atomic_load(&published);
    const struct pvr_lsite *s = b ? floor_site(b, a) : NULL;

    if (!s || s->addr != a)
        return NULL;
    *id = b->id;
    return s;
}

/*
 * An int3 at the head of a site: through the site's copy while its batch
 * is published; once withdrawn (a late trap: the signal was delivered
 * after the head was rewritten), run the instruction that is there now.
 */
static int redirect(void *ucv, uint64_t *id)
{
    greg_t *rip = rip_of(ucv);
    uintptr_t a = (uintptr_t)*rip - 1;
    const struct pvr_lsite *s;
    int done = 0;

    *id = 0;
    atomic_fetch_add(&readers, 1);
    if ((s = head_site(a, id)) != NULL) {
        *rip = (greg_t)s->olx, done = 1;
    } else if (set_has(a)) {
        if (*(volatile const uint8_t *)a != 0xcc)
            *rip = (greg_t)a, done = 1;
        else if ((s = head_site(a, id)) != NULL) /* a batch published meanwhile */
            *rip = (greg_t)s->olx, done = 1;
    }
    atomic_fetch_sub(&readers, 1);
    return done;
}

/* Strictly inside a published site: move to the same offset of its copy. */
static void fixup(void *ucv)
{
    greg_t *rip = rip_of(ucv);
    uintptr_t a = (uintptr_t)*rip;
    const struct pvr_lbatch *b = atomic_load(&published);
    const struct pvr_lsite *s = b ? floor_site(b, a) : NULL;

    if (s && a > s->addr && a < s->addr + s->room) {
        *rip = (greg_t)(s->olx + (a - s->addr));
        atomic_fetch_add(&round_moved, 1);
    }
}

static int watched(uintptr_t a)
{
    int n = atomic_load(&nwatch);
    for (int i = 0; i < n; i++)
        if (a >= atomic_load(&watch[i].lo) && a < atomic_load(&watch[i].hi))
            return 1;
    return 0;
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

/*
 * A thread that traps at the head of a site during an open fixup round is
 * not inside a site: it answers the round from the trap (its signal, which
 * the SIGTRAP handler blocks, is ignored later).  Only the round of the
 * batch it was sent through (id): its context is now in that batch's copy,
 * which a later round may be about to free, and only a signal answer
 * checks for that.
 */
static void answer_from_trap(uint64_t id)
{
    uint64_t seq = atomic_load(&round_seq);
    int open = atomic_load(&round_open), tid, n;
    uint64_t batch = atomic_load(&round_batch);

    if (!id || !open || batch != id || atomic_load(&round_seq) != seq)
        return;
    tid = pvr__gettid(), n = atomic_load(&round_n);
    for (int i = 0; i < n; i++)
        if (round_tids[i] == tid) {
            if (atomic_load(&acks[i]) != seq && atomic_load(&round_open))
                answer((uint64_t)i, seq);
            return;
        }
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
    pthread_sigmask(SIG_BLOCK, &p.sa_mask, &old);
    if (p.sa_flags & SA_SIGINFO)
        p.sa_sigaction(sig, si, ucv);
    else
        p.sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void trap_handler(int sig, siginfo_t *si, void *ucv)
{
    int e = errno;
    uint64_t id;

    if (is_trap(si) && redirect(ucv, &id)) {
        answer_from_trap(id);
        errno = e;
        return;
    }
    errno = e;
    chain(sig, si, ucv);
}

static void rt_handler(int sig, siginfo_t *si, void *ucv)
{
    int e = errno;
    uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    uint64_t seq = v >> SLOT_BITS, slot = v & ((1u << SLOT_BITS) - 1);

    (void)sig;
    /* late signals (the thread answered from a trap, the round is over and
     * the site bytes may be new) must not move anything */
    if (si->si_code != SI_QUEUE || si->si_pid != atomic_load(&round_pid) ||
        seq != atomic_load(&round_seq) || slot >= MAX_THREADS || !atomic_load(&round_open))
        return;
    atomic_fetch_add(&readers, 1);
    if (atomic_load(&round_fix))
        fixup(ucv);
    if (watched((uintptr_t)*rip_of(ucv)))
        atomic_store(&round_busy, 1);
    atomic_fetch_sub(&readers, 1);
    answer(slot, seq);
    errno = e;
}

/* ------------------------------------------------------------------------
 * Installation.
 */

pvl_result pvr_set_signal(int sig, struct pvr_error *err)
{
    struct sigaction cur;
    pvl_result r = PVL_OK;

    pthread_mutex_lock(&pvr__lock);
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
    pthread_mutex_unlock(&pvr__lock);
    return r;
}

static pvl_result install_rt(struct pvr_error *err)
{
    struct sigaction sa, cur;

    if (!rt_sig)
        rt_sig = SIGRTMAX - 2;
    if (sigaction(rt_sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
        return pvr__fail(err, PVL_E_WRITE, 0, "signal %d already has a handler; choose "
                         "another with pvr_set_signal", rt_sig);
    memset(&sa, 0, sizeof sa);
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
    sa.sa_sigaction = trap_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, rt_sig);
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
        ready = 1;
    }
    return install_trap(err);
}

/* ------------------------------------------------------------------------
 * Publishing and rounds (patcher side, under pvr__lock).
 */

void pvr__publish(const struct pvr_lbatch *b)
{
    atomic_store(&published, b);
    while (!b && atomic_load(&readers))
        sched_yield();
}

static void set_put(struct siteset *t, uintptr_t a)
{
    size_t i = set_hash(a, t->cap);

    for (;;) {
        uintptr_t v = atomic_load(&t->slot[i]);
        if (v == a)
            return;
        if (v == 0) {
            atomic_store(&t->slot[i], a);
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
        uintptr_t v = atomic_load(&old->slot[i]);
        if (v > TOMB)
            set_put(t, v);
    }
    return t;
}

int pvr__sites_add(const struct pvr_lsite *v, size_t n)
{
    struct siteset *t = atomic_load(&site_set);

    if (!t || 2 * (t->used + n) > t->cap) {
        struct siteset *nt = set_rebuild(t, (t ? t->used : 0) + n);
        if (!nt)
            return -1;
        atomic_store(&site_set, nt);
        while (atomic_load(&readers))
            sched_yield();
        free(t);
        t = nt;
    }
    for (size_t i = 0; i < n; i++)
        set_put(t, v[i].addr);
    return 0;
}

void pvr__sites_forget(uintptr_t lo, uintptr_t hi)
{
    struct siteset *t = atomic_load(&site_set);

    for (size_t i = 0; t && i < t->cap; i++) {
        uintptr_t v = atomic_load(&t->slot[i]);
        if (v >= lo && v < hi)
            atomic_store(&t->slot[i], TOMB);
    }
}

void pvr__watch(uintptr_t lo, uintptr_t hi)
{
    int n = atomic_load(&nwatch);

    if (!lo && !hi) {
        atomic_store(&nwatch, 0);
        return;
    }
    if (n == MAX_WATCH) { /* widen the last range rather than lose one */
        n--;
        lo = lo < watch[n].lo ? lo : watch[n].lo;
        hi = hi > watch[n].hi ? hi : watch[n].hi;
    }
    atomic_store(&watch[n].lo, lo);
    atomic_store(&watch[n].hi, hi);
    atomic_store(&nwatch, n + 1);
}

struct dirent64_ {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* The thread ids of the process, without (self); -1 on error. */
static int list_threads(int *tids, int cap, int self)
{
    char buf[8192];
    int n = 0, fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long got;

    if (fd < 0)
        return -1;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < got;) {
            struct dirent64_ *d = (struct dirent64_ *)(buf + off);
            int tid = atoi(d->name);
            off += d->reclen;
            if (tid > 0 && tid != self && n < cap)
                tids[n++] = tid;
            else if (tid > 0 && tid != self)
                n = cap + 1;
        }
    close(fd);
    return got < 0 ? -1 : n;
}

int pvr__nthreads(void)
{
    int tids[4];
    int n = list_threads(tids, 4, 0);
    return n < 0 ? -1 : n;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Does thread (tid) block (sig)?  From /proc/self/task/TID/status. */
static int blocks(int tid, int sig)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    if (!(f = fopen(path, "re")))
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "SigBlk: %llx", &mask) == 1)
            break;
    fclose(f);
    return !!(mask & (1ull << (sig - 1)));
}

static pvl_result send_all(int pid, const int *tids, int n, uint64_t seq, uint8_t *done,
                           struct pvr_error *err)
{
    for (int i = 0; i < n; i++) {
        int tries = 0;
        while (pvr__sigqueue(pid, tids[i], rt_sig, seq << SLOT_BITS | (uint64_t)i) != 0) {
            if (errno == ESRCH) {
                done[i] = 1;
                break;
            }
            if (errno != EAGAIN || ++tries > 1000)
                return pvr__fail(err, PVL_E_WRITE, errno, "cannot signal thread %d: %s",
                                 tids[i], strerror(errno));
            sched_yield();
        }
    }
    return PVL_OK;
}

/* Threads that have not answered; those that exited count as answered. */
static int unanswered(int pid, const int *tids, int n, uint64_t seq, uint8_t *done,
                      int check_alive, int *first)
{
    int left = 0;

    for (int i = 0; i < n; i++) {
        if (done[i] || atomic_load(&acks[i]) == seq) {
            done[i] = 1;
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

static pvl_result wait_all(int pid, const int *tids, int n, uint64_t seq, uint8_t *done,
                           unsigned timeout_ms, struct pvr_error *err)
{
    uint64_t start = now_ms();
    int first = 0;

    for (unsigned spin = 0;; spin++) {
        uint32_t seen = atomic_load(&nacks);
        if (!unanswered(pid, tids, n, seq, done, spin > 0 && spin % 16 == 0, &first))
            return PVL_OK;
        if (now_ms() - start > timeout_ms)
            return pvr__fail(err, PVL_E_WRITE, ETIMEDOUT, "thread %d did not answer "
                             "pvlink's signal %d within %u ms%s", first, rt_sig, timeout_ms,
                             blocks(first, rt_sig) ? " (it blocks that signal)" : "");
        struct timespec ts = {0, 1000000};
        syscall(SYS_futex, &nacks, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
    }
}

pvl_result pvr__round(int fix, unsigned timeout_ms, int *busy, uint32_t *moved,
                      struct pvr_error *err)
{
    static uint8_t done[MAX_THREADS];
    int *tids = round_tids;
    int pid = getpid(), n = list_threads(tids, MAX_THREADS, pvr__gettid());
    uint64_t seq = atomic_load(&round_seq) + 1;
    pvl_result r;

    if (n < 0 || n > MAX_THREADS)
        return pvr__fail(err, PVL_E_WRITE, n < 0 ? errno : 0, n < 0 ? "cannot list the "
                         "threads: /proc/self/task" : "more than %d threads", MAX_THREADS);
    memset(done, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        atomic_store(&acks[i], 0);
    atomic_store(&round_fix, fix);
    atomic_store(&round_busy, 0);
    atomic_store(&round_moved, 0);
    atomic_store(&round_pid, pid);
    atomic_store(&nacks, 0);
    atomic_store(&round_expect, (uint32_t)n);
    atomic_store(&round_n, n);
    const struct pvr_lbatch *cur = atomic_load(&published);
    atomic_store(&round_batch, cur ? cur->id : 0);
    atomic_store(&round_seq, seq);
    atomic_store(&round_open, 1);
    r = send_all(pid, tids, n, seq, done, err);
    if (r == PVL_OK)
        r = wait_all(pid, tids, n, seq, done, timeout_ms, err);
    atomic_store(&round_open, 0);
    *busy = atomic_load(&round_busy);
    *moved += atomic_load(&round_moved);
    return r;
}
