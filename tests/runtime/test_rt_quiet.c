/*
 * Live links leave alone the threads they need not touch (issue 11, item
 * 1).  Nineteen threads sit in blocking calls -- the ones a signal makes
 * fail with EINTR or return early (nanosleep, clock_nanosleep, epoll_wait,
 * select, poll, sem_timedwait, sigsuspend, sigtimedwait, usleep, pause,
 * sleep) and the ones it restarts (read, write, recv, accept, sem_wait,
 * pthread_cond_wait, pthread_mutex_lock, waitpid) -- while two workers run
 * sites and check every result, and the main thread re-links 200 times
 * with the live protocol (at least 200 times, and for at least a second).
 *
 * Asserted: no blocked thread returns before it is woken at the end (no
 * EINTR, no early return, no spurious wake-up); rounds signal only the
 * two running workers and skip every blocked thread; links whose every
 * change is one instruction to one instruction (pvlink.one) run no round
 * and send no signal at all; every result is one of an implementation.
 * The figures (signals per link by kind of change) are printed.  The
 * second case (timeouts) has timed calls expire during the links.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"
#include "rt_one.h"

#define LINKS 200
#define LONG_S 60 /* timeouts of the timed calls: far longer than the test */

enum {
    NANOSLEEP, CLOCK_NANOSLEEP, EPOLL_WAIT, SELECT, POLL, SEM_TIMEDWAIT, SIGSUSPEND,
    SIGTIMEDWAIT, USLEEP, PAUSE, SLEEP, READ, WRITE, RECV, ACCEPT, SEM_WAIT, COND_WAIT,
    MUTEX_LOCK, WAITPID, NCALLS
};
static const char *const names[NCALLS] = {
    "nanosleep", "clock_nanosleep", "epoll_wait", "select", "poll", "sem_timedwait",
    "sigsuspend", "sigtimedwait", "usleep", "pause", "sleep(1)", "read", "write", "recv",
    "accept", "sem_wait", "pthread_cond_wait", "pthread_mutex_lock", "waitpid"};

static atomic_int stop;     /* set before the wake-ups at the end */
static atomic_int started;
static struct {
    pthread_t th;
    atomic_int tid;
    atomic_long early;  /* returns before the end: EINTR, early, spurious */
    atomic_long calls;  /* sleep(1) only: full seconds slept */
    int last_errno;
} bl[NCALLS];

/* What the blocked threads wait on. */
static int efd, ep, sel_pipe[2], poll_pipe[2], read_pipe[2], write_pipe[2], sock[2], lsock;
static sem_t sem_t1, sem_t2;
static pthread_mutex_t cmx = PTHREAD_MUTEX_INITIALIZER, held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_go;
static pid_t child;
static char sock_path[108];

static void on_usr(int sig) { (void)sig; }

static struct timespec in_long(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += LONG_S;
    return t;
}

/* One call of kind (k); 1 when it returned as it does when woken at the
 * end (or, for sleep(1), after a full second), 0 otherwise. */
static int call_once(int k)
{
    struct timespec lng = {LONG_S, 0}, abs_t;
    struct epoll_event ev;
    char c;
    sigset_t none, usr2;
    int r;

    switch (k) {
    case NANOSLEEP: return nanosleep(&lng, NULL) == 0;
    case CLOCK_NANOSLEEP: return clock_nanosleep(CLOCK_MONOTONIC, 0, &lng, NULL) == 0;
    case EPOLL_WAIT: return epoll_wait(ep, &ev, 1, LONG_S * 1000) == 1;
    case SELECT: {
        fd_set s;
        struct timeval tv = {LONG_S, 0};
        FD_ZERO(&s);
        FD_SET(sel_pipe[0], &s);
        return select(sel_pipe[0] + 1, &s, NULL, NULL, &tv) == 1;
    }
    case POLL: {
        struct pollfd p = {poll_pipe[0], POLLIN, 0};
        return poll(&p, 1, LONG_S * 1000) == 1;
    }
    case SEM_TIMEDWAIT: abs_t = in_long(); return sem_timedwait(&sem_t1, &abs_t) == 0;
    case SIGSUSPEND: sigemptyset(&none); sigsuspend(&none); return atomic_load(&stop);
    case SIGTIMEDWAIT:
        sigemptyset(&usr2), sigaddset(&usr2, SIGUSR2);
        return sigtimedwait(&usr2, NULL, &lng) == SIGUSR2;
    case USLEEP: return usleep(LONG_S * 1000000u) == 0;
    case PAUSE: pause(); return atomic_load(&stop);
    case SLEEP: return sleep(1) == 0;
    case READ: return read(read_pipe[0], &c, 1) == 1;
    case WRITE: return write(write_pipe[1], "x", 1) == 1;
    case RECV: return recv(sock[0], &c, 1, 0) == 1;
    case ACCEPT: r = accept(lsock, NULL, NULL); return r >= 0 && close(r) == 0;
    case SEM_WAIT: return sem_wait(&sem_t2) == 0;
    case COND_WAIT:
        pthread_mutex_lock(&cmx);
        r = pthread_cond_wait(&cond, &cmx) == 0 && cond_go;
        pthread_mutex_unlock(&cmx);
        return r;
    case MUTEX_LOCK: r = pthread_mutex_lock(&held) == 0; pthread_mutex_unlock(&held); return r;
    case WAITPID: return waitpid(child, NULL, 0) == child;
    }
    return 0;
}

static void *blocked(void *arg)
{
    int k = (int)(intptr_t)arg;
    sigset_t usr;

    /* SIGUSR1 wakes sigsuspend and pause at the end; it is blocked here
     * except inside sigsuspend.  SIGUSR2 is taken by sigtimedwait. */
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR2);
    if (k == SIGSUSPEND)
        sigaddset(&usr, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr, NULL);
    atomic_store(&bl[k].tid, (int)syscall(SYS_gettid));
    atomic_fetch_add(&started, 1);
    for (;;) {
        errno = 0;
        int ok = call_once(k);
        if (atomic_load(&stop))
            return NULL;
        if (k == SLEEP && ok) { /* a full second: sleep again */
            atomic_fetch_add(&bl[k].calls, 1);
            continue;
        }
        bl[k].last_errno = errno;
        atomic_fetch_add(&bl[k].early, 1);
    }
}

static void setup_waits(void)
{
    struct epoll_event ev = {.events = EPOLLIN};
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char buf[65536] = {0};

    efd = eventfd(0, 0), ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    CHECK(pipe(sel_pipe) == 0 && pipe(poll_pipe) == 0 && pipe(read_pipe) == 0 &&
          pipe(write_pipe) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
    fcntl(write_pipe[1], F_SETFL, O_NONBLOCK); /* fill it, then block on it */
    while (write(write_pipe[1], buf, sizeof buf) > 0)
        ;
    fcntl(write_pipe[1], F_SETFL, 0);
    snprintf(sock_path, sizeof sock_path, "/tmp/pvlink-quiet-%d", (int)getpid());
    memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
    unlink(sock_path);
    lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(lsock, (struct sockaddr *)&a, sizeof a) == 0 && listen(lsock, 1) == 0);
    sem_init(&sem_t1, 0, 0), sem_init(&sem_t2, 0, 0);
    pthread_mutex_lock(&held);
    if ((child = fork()) == 0) {
        pause();
        _exit(0);
    }
}

/* Wake every blocked thread the way its call expects, after stop is set. */
static void wake_all(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    uint64_t one = 1;
    char buf[65536];
    int c = socket(AF_UNIX, SOCK_STREAM, 0);

    CHECK(write(efd, &one, sizeof one) == sizeof one);
    CHECK(write(sel_pipe[1], "x", 1) == 1 && write(poll_pipe[1], "x", 1) == 1 &&
          write(read_pipe[1], "x", 1) == 1 && send(sock[1], "x", 1, 0) == 1);
    CHECK(read(write_pipe[0], buf, sizeof buf) > 0);
    memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    sem_post(&sem_t1), sem_post(&sem_t2);
    pthread_mutex_lock(&cmx);
    cond_go = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cmx);
    pthread_mutex_unlock(&held);
    kill(child, SIGKILL);
    for (int k = 0; k < NCALLS; k++) /* the sleepers, sigsuspend, pause */
        if (k == NANOSLEEP || k == CLOCK_NANOSLEEP || k == USLEEP || k == PAUSE ||
            k == SIGSUSPEND || k == SLEEP)
            pthread_kill(bl[k].th, SIGUSR1);
    pthread_kill(bl[SIGTIMEDWAIT].th, SIGUSR2);
    for (int k = 0; k < NCALLS; k++)
        pthread_join(bl[k].th, NULL);
    close(c);
    unlink(sock_path);
}

/* ------------------------------------------------------------------------
 * Workers: run the sites of both interfaces and check every result.
 */

static atomic_int stop_workers;
static atomic_long wrong, checked;

static int plausible_rt(int op, long a, long b, long got)
{
    for (int st = 0; st < NSTATES; st++)
        if (rt_expect(st, op, a, b) == got)
            return 1;
    return 0;
}

static int plausible_one(long x, long f, long v)
{
    int ok_f = 0, ok_v = 0;
    for (int st = 0; st < ONE_NSTATES; st++)
        ok_f |= one_expect_f(st, x) == f, ok_v |= one_expect_val(st) == v;
    return ok_f && ok_v;
}

static void *worker(void *arg)
{
    long n = (long)(intptr_t)arg;

    while (!atomic_load_explicit(&stop_workers, memory_order_relaxed)) {
        for (int k = 0; k < 32; k++, n++) {
            long a = n & 0xfff, b = (n >> 4) & 0xff;
            long bad = !plausible_rt(rt_add__OP, a, b, exe_add(a, b)) +
                       !plausible_rt(rt_mix__OP, a, b, lib_mix(a, b)) +
                       !plausible_rt(rt_twice__OP, a, 0, exe_twice(a)) +
                       !plausible_one(a, exe_one_f(a), exe_one_val());
            exe_one_tick(1);
            if (bad)
                atomic_fetch_add(&wrong, bad);
        }
        atomic_fetch_add(&checked, 32 * 4);
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * The links.
 */

struct tally {
    unsigned links, rounds, signals, skipped, traps, failed;
};

static void relink(const struct pvl_iface *f, const struct pvr_provider *p, struct tally *t)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;

    if (pvr_link(f, p, &o, &rep, &e) != PVL_OK || rep.state != PVR_STATE_NEW) {
        if (!t->failed++)
            t_fail(__FILE__, __LINE__, "link: %s", e.msg);
        return;
    }
    t->links++, t->rounds += rep.nrounds, t->signals += rep.nsignals;
    t->skipped += rep.nskipped, t->traps += rep.ntraps;
}

static void report(const char *what, const struct tally *t)
{
    printf("quiet: %-44s %3u links: %3u rounds, %.2f signals/link, %.1f threads "
           "skipped/link, %.1f traps/link\n", what, t->links, t->rounds,
           t->links ? (double)t->signals / t->links : 0.0,
           t->links ? (double)t->skipped / t->links : 0.0,
           t->links ? (double)t->traps / t->links : 0.0);
}

static void quiet(void)
{
    struct pvr_provider *rt[NSTATES] = {0}, *one[ONE_NSTATES] = {0};
    struct pvr_error e;
    struct sigaction sa = {.sa_handler = on_usr};
    struct tally multi = {0}, single = {0};
    pthread_t w[2];

    rt[ST_A] = pvr_provider_table(&rt_desc_a, &rt_iface, &e);
    rt[ST_B] = pvr_provider_table(&rt_desc_b, &rt_iface, &e);
    rt[ST_SO] = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e);
    one[ONE_1] = pvr_provider_table(&one_desc_1, &one_iface, &e);
    one[ONE_2] = pvr_provider_table(&one_desc_2, &one_iface, &e);
    if (!rt[ST_A] || !rt[ST_B] || !rt[ST_SO] || !one[ONE_1] || !one[ONE_2]) {
        t_fail(__FILE__, __LINE__, "providers: %s", e.msg);
        return;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    setup_waits();
    for (int k = 0; k < NCALLS; k++)
        pthread_create(&bl[k].th, NULL, blocked, (void *)(intptr_t)k);
    while (atomic_load(&started) < NCALLS)
        usleep(1000);
    usleep(100000); /* let every one of them block */
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, worker, (void *)(intptr_t)(i * 7919));

    /* every change of pvlink.one is one instruction to one instruction */
    for (int i = 0; i < LINKS / 2; i++)
        relink(&one_iface, one[(i + 1) % ONE_NSTATES], &single);
    /* pvlink.rt changes multi-instruction inline sites too; go on until
     * sleep(1) has slept through links for a full second */
    for (int i = 0; i < LINKS / 2 || (!atomic_load(&bl[SLEEP].calls) && !multi.failed); i++) {
        relink(&rt_iface, rt[(i + 1) % NSTATES], &multi);
        if (i >= LINKS / 2)
            usleep(2000);
    }

    atomic_store(&stop_workers, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    atomic_store(&stop, 1);
    wake_all();

    report("pvlink.one (call<->call, call<->nop, mov<->mov)", &single);
    report("pvlink.rt (also multi-instruction inline)", &multi);
    long early = 0;
    for (int k = 0; k < NCALLS; k++)
        early += atomic_load(&bl[k].early);
    for (int k = 0; k < NCALLS; k++)
        if (atomic_load(&bl[k].early))
            t_fail(__FILE__, __LINE__, "%s returned %ld times before it was woken (last "
                   "errno %s)", names[k], atomic_load(&bl[k].early),
                   strerror(bl[k].last_errno));
    printf("quiet: %d blocked threads, %ld EINTR or early returns; sleep(1) slept %ld full "
           "seconds; %ld results checked, %ld wrong\n", NCALLS, early,
           atomic_load(&bl[SLEEP].calls),
           atomic_load(&checked), atomic_load(&wrong));
    CHECK(single.links + multi.links >= LINKS);
    CHECK(atomic_load(&bl[SLEEP].calls) >= 1);
    CHECK_EQ(single.rounds, 0);
    CHECK_EQ(single.signals, 0);
    CHECK(multi.rounds > 0);
    /* each round looks at every other thread: it signals the two workers
     * and skips every blocked thread (sleep(1), the one that wakes up
     * between calls, may be running when a round looks) */
    CHECK_EQ(multi.signals + multi.skipped, (NCALLS + 2) * multi.rounds);
    CHECK(multi.skipped >= (NCALLS - 1) * multi.rounds);
    CHECK_EQ(atomic_load(&wrong), 0);
    CHECK(atomic_load(&checked) > 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(pvr_unlink(&one_iface, NULL, NULL, &e), PVL_OK);
    for (int s = 0; s < NSTATES; s++)
        pvr_provider_close(rt[s], &e);
    for (int s = 0; s < ONE_NSTATES; s++)
        pvr_provider_close(one[s], &e);
}

/* ------------------------------------------------------------------------
 * Timeouts that expire while links run.  A thread whose timeout has just
 * fired is runnable, and /proc says "running", while it is still inside
 * the kernel on its way out of its call; a signal then makes poll and
 * select fail with EINTR after the full timeout.  Threads loop in timed
 * calls of 5 to 19 ms while two workers run sites and the main thread
 * re-links pvlink.rt (A, B, native: every link a round) LINKS times.
 *
 * Asserted: every call returns as a timeout does, never with an error
 * and never before its timeout; every link ran a round; rounds signal at
 * most the two workers (a sleeper is never signalled) and account for
 * every thread; every result is one of an implementation.
 */
enum {
    TM_NANOSLEEP, TM_CLOCK_NANOSLEEP, TM_USLEEP, TM_EPOLL_WAIT, TM_POLL, TM_POLL2, TM_PPOLL,
    TM_SELECT, TM_SELECT2, TM_PSELECT, TM_SEM_TIMEDWAIT, TM_SIGTIMEDWAIT, NTIMED
};
static const struct {
    const char *name;
    int ms;
} timed_calls[NTIMED] = {
    {"nanosleep", 7}, {"clock_nanosleep", 11}, {"usleep", 13}, {"epoll_wait", 5},
    {"poll", 5}, {"poll", 17}, {"ppoll", 7}, {"select", 5}, {"select", 19},
    {"pselect", 11}, {"sem_timedwait", 13}, {"sigtimedwait", 5},
};

static atomic_int tm_stop;
static struct {
    pthread_t th;
    atomic_long ok, failed, early;
    int last_errno;
} tm[NTIMED];
static int tm_ep, tm_pipe[2];
static sem_t tm_sem;

static uint64_t clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One timed call of kind (k), (ms) long, on things that never get ready:
 * 1 when it timed out as it should, 0 on an error (errno says which). */
static int timed_once(int k, int ms)
{
    struct timespec rel = {0, ms * 1000000L}, abs_t;
    struct timeval tv = {0, ms * 1000L};
    struct pollfd p = {tm_pipe[0], POLLIN, 0};
    struct epoll_event ev;
    sigset_t usr2;
    fd_set s;

    FD_ZERO(&s);
    FD_SET(tm_pipe[0], &s);
    switch (k) {
    case TM_NANOSLEEP: return nanosleep(&rel, NULL) == 0;
    case TM_CLOCK_NANOSLEEP: return (errno = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL)) == 0;
    case TM_USLEEP: return usleep((useconds_t)ms * 1000u) == 0;
    case TM_EPOLL_WAIT: return epoll_wait(tm_ep, &ev, 1, ms) == 0;
    case TM_POLL: case TM_POLL2: return poll(&p, 1, ms) == 0;
    case TM_PPOLL: return ppoll(&p, 1, &rel, NULL) == 0;
    case TM_SELECT: case TM_SELECT2: return select(tm_pipe[0] + 1, &s, NULL, NULL, &tv) == 0;
    case TM_PSELECT: return pselect(tm_pipe[0] + 1, &s, NULL, NULL, &rel, NULL) == 0;
    case TM_SEM_TIMEDWAIT:
        clock_gettime(CLOCK_REALTIME, &abs_t);
        abs_t.tv_nsec += ms * 1000000L;
        abs_t.tv_sec += abs_t.tv_nsec / 1000000000, abs_t.tv_nsec %= 1000000000;
        return sem_timedwait(&tm_sem, &abs_t) != 0 && errno == ETIMEDOUT;
    case TM_SIGTIMEDWAIT:
        sigemptyset(&usr2), sigaddset(&usr2, SIGUSR2);
        return sigtimedwait(&usr2, NULL, &rel) < 0 && errno == EAGAIN;
    }
    return 0;
}

static void *timed(void *arg)
{
    int k = (int)(intptr_t)arg, ms = timed_calls[k].ms;
    /* sem_timedwait's deadline is on CLOCK_REALTIME */
    clockid_t c = k == TM_SEM_TIMEDWAIT ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    sigset_t usr2;

    sigemptyset(&usr2), sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    while (!atomic_load(&tm_stop)) {
        uint64_t t0 = clock_ns(c);
        errno = 0;
        int ok = timed_once(k, ms);
        uint64_t took = clock_ns(c) - t0;
        if (!ok) {
            tm[k].last_errno = errno;
            atomic_fetch_add(&tm[k].failed, 1);
        } else if (took < (uint64_t)ms * 1000000u) {
            atomic_fetch_add(&tm[k].early, 1);
        } else {
            atomic_fetch_add(&tm[k].ok, 1);
        }
    }
    return NULL;
}

static void timeouts(void)
{
    struct pvr_provider *p[3] = {0};
    struct epoll_event ev = {.events = EPOLLIN};
    struct tally t = {0};
    struct pvr_error e;
    long nchecked = 0, nwrong, bad = 0;

    p[0] = pvr_provider_table(&rt_desc_a, &rt_iface, &e);
    p[1] = pvr_provider_table(&rt_desc_b, &rt_iface, &e); /* p[2]: native */
    if (!p[0] || !p[1]) {
        t_fail(__FILE__, __LINE__, "providers: %s", e.msg);
        return;
    }
    CHECK(pipe(tm_pipe) == 0 && (tm_ep = epoll_create1(0)) >= 0);
    CHECK(epoll_ctl(tm_ep, EPOLL_CTL_ADD, tm_pipe[0], &ev) == 0);
    sem_init(&tm_sem, 0, 0);
    atomic_store(&tm_stop, 0);
    rt_workers_start(2);
    for (int k = 0; k < NTIMED; k++)
        pthread_create(&tm[k].th, NULL, timed, (void *)(intptr_t)k);
    for (int k = 0; k < NTIMED; k++) /* every thread under way (and its mask set) */
        while (!atomic_load(&tm[k].ok) && !atomic_load(&tm[k].failed) &&
               !atomic_load(&tm[k].early))
            usleep(1000);
    for (int i = 0; i < LINKS; i++) {
        struct tally one = {0};
        relink(&rt_iface, p[i % 3], &one);
        CHECK_EQ(one.rounds, one.links); /* each link changes inline code: a round */
        t.links += one.links, t.rounds += one.rounds, t.signals += one.signals;
        t.skipped += one.skipped, t.traps += one.traps, t.failed += one.failed;
        usleep(3000);
    }
    nwrong = rt_workers_stop(&nchecked);
    atomic_store(&tm_stop, 1);
    for (int k = 0; k < NTIMED; k++)
        pthread_join(tm[k].th, NULL);

    report("pvlink.rt with timeouts expiring", &t);
    for (int k = 0; k < NTIMED; k++) {
        bad += atomic_load(&tm[k].failed) + atomic_load(&tm[k].early);
        if (atomic_load(&tm[k].failed))
            t_fail(__FILE__, __LINE__, "%s (%d ms) failed %ld times (last errno %s)",
                   timed_calls[k].name, timed_calls[k].ms, atomic_load(&tm[k].failed),
                   strerror(tm[k].last_errno));
        if (atomic_load(&tm[k].early))
            t_fail(__FILE__, __LINE__, "%s (%d ms) returned before its timeout %ld times",
                   timed_calls[k].name, timed_calls[k].ms, atomic_load(&tm[k].early));
        CHECK(atomic_load(&tm[k].ok) > 0);
    }
    printf("quiet: %d threads in timed calls of 5-19 ms, %ld EINTR or early returns; "
           "%ld results checked, %ld wrong\n", NTIMED, bad, nchecked, nwrong);
    CHECK_EQ(t.links, LINKS);
    CHECK_EQ(t.rounds, LINKS);
    /* the workers at most; every other thread was left alone */
    CHECK(t.signals <= 2 * t.rounds);
    CHECK_EQ(t.signals + t.skipped, (NTIMED + 2) * t.rounds);
    CHECK_EQ(nwrong, 0);
    CHECK(nchecked > 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    for (int i = 0; i < 2; i++)
        pvr_provider_close(p[i], &e);
    close(tm_ep), close(tm_pipe[0]), close(tm_pipe[1]);
    sem_destroy(&tm_sem);
}

T_CASES(T(quiet), T(timeouts))
