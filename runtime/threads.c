/*
 * The other threads of the process as /proc shows them, without touching
 * them: their ids, whether each is blocked in the kernel and at which user
 * address it will resume, and which signals it blocks.
 *
 * /proc/self/task/TID/syscall reads a thread's registers only once the
 * kernel has seen it off the CPU in a sleeping (or stopped) state twice
 * with no switch in between, so a "blocked" answer is a consistent
 * snapshot: the thread was not running and its next user instruction was
 * at the address shown (or two bytes before it, when the kernel restarts
 * the system call).  It says "running" for a thread on a CPU or waiting
 * for one (state R in stat), which is not the same as a thread in user
 * space: a thread whose timeout has just fired, or that was just woken, is
 * runnable while still inside the kernel, and a signal that reaches it
 * there makes poll or select fail with EINTR.  pvr__watch tells the two
 * apart by looking again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct dirent64_ {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

int pvr__threads(int *tids, int cap, int self)
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
            if (tid <= 0 || tid == self)
                continue;
            if (n < cap)
                tids[n] = tid;
            n++;
        }
    close(fd);
    return got < 0 ? -1 : n;
}

int pvr__nthreads(void)
{
    int n = pvr__threads(NULL, 0, 0);
    return n;
}

/* Read /proc/self/task/(tid)/(what) into (buf); length, or -1. */
static ssize_t task_file(int tid, const char *what, char *buf, size_t cap)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, what);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* "nr [six arguments] sp pc" or "-1 sp pc" or "running". */
static int parse_syscall(const char *s, uintptr_t *pc)
{
    const char *last = strrchr(s, ' ');
    char *end;

    if (!strncmp(s, "running", 7) || !last)
        return PVR_RUNNING;
    errno = 0;
    *pc = (uintptr_t)strtoull(last + 1, &end, 16);
    return errno || end == last + 1 ? PVR_RUNNING : PVR_BLOCKED;
}

/*
 * During one link (pvr__looks_begin .. _end) the syscall files of up to
 * MAX_KEPT threads stay open, so that the round after the int3s, which
 * runs while other threads trap, reads each with one pread.  Under
 * pvr__lock.
 */
#define MAX_KEPT 256
static struct {
    int tid, fd;
} kept[MAX_KEPT];
static int nkept, keeping;

void pvr__looks_begin(void)
{
    keeping = 1;
}

void pvr__looks_end(void)
{
    while (nkept)
        close(kept[--nkept].fd);
    keeping = 0;
}

/* The open syscall file of (tid), or -1 (not kept: open it each time). */
static int kept_fd(int tid)
{
    char path[64];
    int fd;

    for (int i = 0; i < nkept; i++)
        if (kept[i].tid == tid)
            return kept[i].fd;
    if (!keeping || nkept == MAX_KEPT)
        return -1;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    kept[nkept].tid = tid, kept[nkept++].fd = fd;
    return fd;
}

int pvr__where(int tid, uintptr_t *pc)
{
    char buf[256];
    int fd = kept_fd(tid);
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;

    *pc = 0;
    if (n >= 0)
        buf[n] = '\0';
    else if (task_file(tid, "syscall", buf, sizeof buf) < 0)
        return errno == ENOENT || errno == ESRCH ? PVR_GONE : PVR_RUNNING;
    return parse_syscall(buf, pc);
}

/*
 * Threads seen running are looked at again, with sleeps from 10 us up to
 * 1 ms in between (which also leave a CPU to a thread waiting for one).
 * One seen blocked or gone at any look is settled so.  One seen running
 * is settled running once it has run WATCH_BUSY_NS on a CPU without
 * sleeping (its count of voluntary switches unchanged); after
 * WATCH_LIMIT_NS, once it has had a CPU at all (it may sleep so often
 * that no look sees it); after the caller's limit in any case.  A thread
 * that gets no CPU is waited for: a signal would have to wait for it too.
 * Leaving the kernel and blocking again takes a thread microseconds, yet
 * on a loaded 2-CPU VM its CPU clock showed up to 170 us for it, and a
 * woken thread waited over 100 ms for a CPU (tests/runtime/test_rt_quiet.c,
 * timeouts).
 *
 * The record of when a thread last slept outlives a link: a thread that
 * keeps running between links is settled at the next link's first look.
 * Under pvr__lock.
 */
#define WATCH_BUSY_NS 500000ull
#define WATCH_LIMIT_NS 100000000ull
#define MAX_RECORDS 256

static struct record {
    int tid;
    long long slept;        /* voluntary switches when recorded */
    unsigned long long ran; /* CPU time when recorded */
} records[MAX_RECORDS];
static int nrecords;

static unsigned long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000u + (unsigned long long)t.tv_nsec;
}

/* Voluntary switches of (tid) so far (one each time it slept), or -1. */
static long long slept(int tid)
{
    char buf[4096];
    const char *line;
    long long n;

    if (task_file(tid, "status", buf, sizeof buf) < 0 ||
        !(line = strstr(buf, "\nvoluntary_ctxt_switches:")) || sscanf(line + 25, "%lld", &n) != 1)
        return -1;
    return n;
}

static struct record *record_of(int tid)
{
    int i = 0;

    while (i < nrecords && records[i].tid != tid)
        i++;
    if (i == nrecords && nrecords == MAX_RECORDS)
        i = (int)((unsigned)tid % MAX_RECORDS); /* full: forget another */
    else if (i == nrecords)
        nrecords++;
    if (records[i].tid != tid)
        records[i] = (struct record){tid, -1, 0};
    return &records[i];
}

/*
 * Has (tid), seen running, run WATCH_BUSY_NS on a CPU without sleeping
 * since its record?  If not, and it slept since (or has no record), it
 * is recorded anew.  The CPU time is read inside the interval the counts
 * of switches bound: after them when recording, before them when asking.
 */
static int busy(int tid)
{
    struct record *r = record_of(tid);
    unsigned long long ran = pvr__ran_ns(tid);
    long long n = slept(tid);

    if (n >= 0 && n == r->slept && ran >= r->ran)
        return ran - r->ran >= WATCH_BUSY_NS;
    r->slept = n, r->ran = pvr__ran_ns(tid);
    return 0;
}

/* A thread being watched, with its CPU time at the first look. */
struct watched {
    int tid;
    unsigned long long ran0;
};

/* Look at (v[0..*n)) once; each thread settled goes to (seen) and out of
 * (v).  (late): settle those seen running that have had a CPU since the
 * first look (or whose CPU time is unknown); (last): every one.  Returns
 * the first non-zero (seen) result. */
static int look(struct watched *v, int *n, int late, int last, pvr_seen_fn seen, void *ctx)
{
    uintptr_t pc;
    int r = 0;

    for (int i = 0; i < *n && !r;) {
        int w = pvr__where(v[i].tid, &pc);
        if (w == PVR_RUNNING && !busy(v[i].tid) && !last &&
            !(late && (!v[i].ran0 || pvr__ran_ns(v[i].tid) != v[i].ran0))) {
            i++;
            continue;
        }
        r = seen(ctx, v[i].tid, w, w == PVR_RUNNING ? 0 : pc);
        v[i] = v[--*n];
    }
    return r;
}

int pvr__watch(const int *tids, int n, unsigned limit_ms, pvr_seen_fn seen, void *ctx)
{
    struct watched *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    unsigned long long start = mono_ns(), t = 0;
    long nap = 10000;
    int nv = v ? n : 0, r = 0;

    for (int i = 0; i < nv; i++)
        v[i] = (struct watched){tids[i], pvr__ran_ns(tids[i])};
    for (int i = 0; !v && i < n && !r; i++) { /* out of memory: running is running */
        uintptr_t pc = 0;
        int w = pvr__where(tids[i], &pc);
        r = seen(ctx, tids[i], w, pc);
    }
    if (v)
        r = look(v, &nv, 0, 0, seen, ctx);
    while (nv && !r) {
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        nap = nap < 500000 ? 2 * nap : 1000000;
        t = mono_ns() - start;
        r = look(v, &nv, t >= WATCH_LIMIT_NS, t >= limit_ms * 1000000ull, seen, ctx);
    }
    free(v);
    return r;
}

int pvr__blocks(int tid, int sig)
{
    char buf[4096];
    const char *line;
    unsigned long long mask;

    if (task_file(tid, "status", buf, sizeof buf) < 0)
        return -1;
    if (!(line = strstr(buf, "\nSigBlk:")) || sscanf(line + 8, "%llx", &mask) != 1)
        return -1;
    return (int)((mask >> (sig - 1)) & 1);
}

/* The thread's CPU-time clock (the kernel's MAKE_THREAD_CPUCLOCK(tid,
 * CPUCLOCK_SCHED), as pthread_getcpuclockid makes it): exact even while
 * the thread runs, where schedstat lags by up to a tick. */
unsigned long long pvr__ran_ns(int tid)
{
    clockid_t c = (clockid_t)(~(unsigned)tid << 3 | 6u);
    struct timespec t;

    if (clock_gettime(c, &t) != 0)
        return 0;
    return (unsigned long long)t.tv_sec * 1000000000u + (unsigned long long)t.tv_nsec;
}

/*
 * A mask seen once may be a moment's: libc blocks every signal while it
 * creates a thread (a new thread starts so until it first runs), and
 * pvlink's signal handler blocks that signal while it runs.  A mask
 * counts (1) once the thread has kept it while sleeping in the kernel or
 * while running 1 ms; a thread that keeps it but never gets a CPU in 50 ms
 * is inconclusive (2); 0 when a look shows the signal unblocked.
 */
int pvr__blocks_still(int tid, int sig)
{
    unsigned long long start = pvr__ran_ns(tid);
    uintptr_t pc;
    int b = pvr__blocks(tid, sig);

    for (int ms = 0; b == 1 && ms < 50; ms++) {
        if (pvr__where(tid, &pc) == PVR_BLOCKED || pvr__ran_ns(tid) - start >= 1000000)
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        b = pvr__blocks(tid, sig);
    }
    return b == 1 ? 2 : b;
}
