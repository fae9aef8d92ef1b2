/*
 * Signal masks and re-entry (issue 11, items 2 and 3).
 *
 * A thread that blocks SIGTRAP or pvlink's signal matters only if it may
 * stand inside, or run into, a site being changed: a running one makes
 * the link refuse before any byte changes, with the thread and the signal
 * named; a blocked one (a sigwait thread) is left alone and the link
 * works.  Never a killed process, never a timeout.  The SIGTRAP cases run
 * in a child process: a mistake there kills it, not the test.
 *
 * pvr_link, pvr_unlink and pvr_link_set called from a signal handler that
 * interrupted one of them in the same thread return PVL_E_BUSY; calls
 * from different threads wait for each other; a timer signal whose
 * handler links, firing anywhere, never deadlocks.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"
#include "rt_one.h"

static const struct pvl_site *exe_lo, *exe_hi, *lib_lo, *lib_hi;

/* The helper thread: spins or sleeps in read, with a mask. */
static pthread_t helper;
static atomic_int helper_tid, helper_stop;
static int helper_pipe[2];
static sigset_t helper_mask;
static int helper_spins;

static void *helper_main(void *arg)
{
    char c;

    (void)arg;
    pthread_sigmask(SIG_BLOCK, &helper_mask, NULL);
    atomic_store(&helper_tid, (int)syscall(SYS_gettid));
    if (helper_spins)
        while (!atomic_load_explicit(&helper_stop, memory_order_relaxed))
            __asm__ __volatile__("pause");
    else
        while (read(helper_pipe[0], &c, 1) < 0 && errno == EINTR)
            ;
    return NULL;
}

/* Wait (10 s at most) until thread (tid) sleeps (state S in its stat):
 * in read, not on its way there, however loaded the machine. */
static void wait_asleep(int tid)
{
    char path[64], buf[512];

    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    for (int i = 0; i < 100000; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        const char *p;
        if (f)
            fclose(f);
        buf[n] = 0;
        if ((p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
            return;
        usleep(100);
    }
    t_fail(__FILE__, __LINE__, "thread %d never went to sleep", tid);
}

/* Start the helper blocking (sig), or every signal if sig is 0. */
static void helper_start(int sig, int spins)
{
    sigemptyset(&helper_mask);
    if (sig)
        sigaddset(&helper_mask, sig);
    else
        sigfillset(&helper_mask);
    helper_spins = spins;
    atomic_store(&helper_tid, 0), atomic_store(&helper_stop, 0);
    if (pipe(helper_pipe) != 0 || pthread_create(&helper, NULL, helper_main, NULL) != 0)
        t_fail(__FILE__, __LINE__, "cannot start the helper");
    while (!atomic_load(&helper_tid))
        usleep(100);
    if (spins)
        usleep(20000); /* spinning */
    else
        wait_asleep(atomic_load(&helper_tid));
}

static void helper_end(void)
{
    atomic_store(&helper_stop, 1);
    CHECK(write(helper_pipe[1], "x", 1) == 1);
    pthread_join(helper, NULL);
    close(helper_pipe[0]), close(helper_pipe[1]);
}

static struct pvr_provider *provider_a(void)
{
    static struct pvr_provider *pa;
    struct pvr_error e;

    exe_sites(&exe_lo, &exe_hi);
    lib_sites(&lib_lo, &lib_hi);
    if (!pa && !(pa = pvr_provider_table(&rt_desc_a, &rt_iface, &e)))
        t_fail(__FILE__, __LINE__, "%s", e.msg);
    return pa;
}

/* Every pvlink.rt site of both objects is native. */
static int all_native(void)
{
    int n = 0, rt = 0;
    for (const struct pvl_site *s = exe_lo; s < exe_hi; s++)
        n += rt_site_is(s, ST_NATIVE), rt += rt_is_rt(s);
    for (const struct pvl_site *s = lib_lo; s < lib_hi; s++)
        n += rt_site_is(s, ST_NATIVE), rt += rt_is_rt(s);
    return n == rt;
}

static void expect_msg(int line, const struct pvr_error *e, const char *want)
{
    if (strcmp(e->msg, want))
        t_fail(__FILE__, line, "message:\n      %s\n  expected:\n      %s", e->msg, want);
}

/* ------------------------------------------------------------------------
 * SIGTRAP.
 */

static void child_trap_running(void)
{
    struct pvr_provider *pa = provider_a();
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;
    char want[PVR_MSG_MAX];

    helper_start(SIGTRAP, 1);
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_THREADS);
    snprintf(want, sizeof want, "thread %d blocks SIGTRAP and is running: an int3 would "
             "kill the process; link refused, nothing written", atomic_load(&helper_tid));
    expect_msg(__LINE__, &e, want);
    CHECK_EQ(e.code, PVL_E_THREADS);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    CHECK(rep.nchanged > 0);
    CHECK(all_native());
    rt_check_results("after the refusal", ST_NATIVE);
    helper_end();
}

/* A running thread that blocks SIGTRAP: refused, named, nothing written. */
static void trap_blocker_running(void)
{
    rt_in_child(child_trap_running, 0);
}

static void child_trap_sleeping(void)
{
    struct pvr_provider *pa = provider_a();
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;

    helper_start(0, 0); /* every signal blocked, asleep in read */
    if (pvr_link(&rt_iface, pa, &o, &rep, &e) != PVL_OK)
        t_fail(__FILE__, __LINE__, "%s", e.msg);
    CHECK_EQ(rep.state, PVR_STATE_NEW);
    CHECK_EQ(rep.nsignals, 0);
    CHECK_EQ(rep.nskipped, rep.nrounds); /* the helper, once per round */
    rt_check_results("linked past a sigwait thread", ST_A);
    CHECK_EQ(pvr_unlink(&rt_iface, &o, NULL, &e), PVL_OK);
    rt_check_results("unlinked", ST_NATIVE);
    helper_end();
}

/* A thread that blocks every signal and sleeps: it does not matter. */
static void trap_blocker_sleeping(void)
{
    rt_in_child(child_trap_sleeping, 0);
}

/* ------------------------------------------------------------------------
 * pvlink's signal.
 */

static void rt_blocker_running(void)
{
    struct pvr_provider *pa = provider_a(), *p1;
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;
    char want[PVR_MSG_MAX];

    helper_start(SIGRTMAX - 2, 1);
    /* pvlink.rt needs a round: refused at once, before writing */
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_THREADS);
    snprintf(want, sizeof want, "thread %d blocks pvlink's signal %d and is running: it "
             "could not be moved out of a site; link refused, nothing written",
             atomic_load(&helper_tid), SIGRTMAX - 2);
    expect_msg(__LINE__, &e, want);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    CHECK(all_native());
    rt_check_results("after the refusal", ST_NATIVE);
    /* pvlink.one needs no round: the mask does not matter */
    p1 = pvr_provider_table(&one_desc_1, &one_iface, &e);
    CHECK_EQ(pvr_link(&one_iface, p1, &o, &rep, &e), PVL_OK);
    CHECK_EQ(rep.nrounds, 0);
    CHECK_EQ(exe_one_f(5), 6);
    CHECK_EQ(pvr_unlink(&one_iface, &o, &rep, &e), PVL_OK);
    CHECK_EQ(exe_one_f(5), 5);
    pvr_provider_close(p1, &e);
    helper_end();
}

static void rt_blocker_sleeping(void)
{
    struct pvr_provider *pa = provider_a();
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;

    helper_start(SIGRTMAX - 2, 0);
    if (pvr_link(&rt_iface, pa, &o, &rep, &e) != PVL_OK)
        t_fail(__FILE__, __LINE__, "%s", e.msg);
    CHECK(rep.nrounds > 0);
    CHECK_EQ(rep.nsignals, 0);
    CHECK_EQ(rep.nskipped, rep.nrounds);
    rt_check_results("linked", ST_A);
    CHECK_EQ(pvr_unlink(&rt_iface, &o, NULL, &e), PVL_OK);
    helper_end();
}

/* ------------------------------------------------------------------------
 * Re-entry.
 */

static pvl_result inner[3];
static char inner_msg[PVR_MSG_MAX];

static void reenter(int sig)
{
    struct pvr_error e;
    struct pvr_link_item it = {&one_iface, NULL};

    (void)sig;
    inner[0] = pvr_link(&rt_iface, NULL, NULL, NULL, &e);
    memcpy(inner_msg, e.msg, sizeof inner_msg);
    inner[1] = pvr_unlink(&rt_iface, NULL, NULL, &e);
    inner[2] = pvr_link_set(&it, 1, NULL, NULL, &e);
}

static int raise_in_policy(void *ctx, const struct pvr_site *s, int proposed)
{
    (void)s;
    if (!(*(int *)ctx)++)
        raise(SIGUSR1); /* the handler runs here, inside pvr_link */
    return proposed;
}

static void reentry_is_busy(void)
{
    struct pvr_provider *pa = provider_a();
    int calls = 0;
    struct pvr_link_opts o = {.policy = raise_in_policy, .policy_ctx = &calls};
    struct sigaction sa = {.sa_handler = reenter}, old;
    struct pvr_error e;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, NULL, &e), PVL_OK);
    sigaction(SIGUSR1, &old, NULL);
    CHECK(calls > 0);
    CHECK_EQ(inner[0], PVL_E_BUSY);
    CHECK_EQ(inner[1], PVL_E_BUSY);
    CHECK_EQ(inner[2], PVL_E_BUSY);
    if (strcmp(inner_msg, "pvlink is busy: this thread is already inside a pvlink call (a "
                          "signal handler interrupted it)"))
        t_fail(__FILE__, __LINE__, "message: %s", inner_msg);
    rt_check_results("the outer link", ST_A);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
}

/* Two threads link at the same time: each call waits for the other. */
static atomic_int serial_bad;

static void *linker(void *arg)
{
    struct pvr_provider *p[2];
    const struct pvl_iface *f = arg == NULL ? &rt_iface : &one_iface;
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_error e;

    p[0] = arg == NULL ? pvr_provider_table(&rt_desc_a, f, &e)
                       : pvr_provider_table(&one_desc_1, f, &e);
    p[1] = NULL;
    for (int i = 0; i < 50; i++)
        if (pvr_link(f, p[i % 2], &o, NULL, &e) != PVL_OK &&
            atomic_fetch_add(&serial_bad, 1) == 0)
            t_fail(__FILE__, __LINE__, "%s: %s", f->name, e.msg);
    pvr_provider_close(p[0], &e);
    return NULL;
}

static void threads_serialize(void)
{
    pthread_t t[2];

    provider_a();
    pthread_create(&t[0], NULL, linker, NULL);
    pthread_create(&t[1], NULL, linker, (void *)1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    CHECK_EQ(atomic_load(&serial_bad), 0);
    CHECK(pvr_linked(&rt_iface) == NULL && pvr_linked(&one_iface) == NULL);
    rt_check_results("after both", ST_NATIVE);
    CHECK_EQ(exe_one_f(1), 1);
}

/* A timer whose handler links, firing wherever the main thread is
 * (mostly inside pvr_link): it gets PVL_OK or PVL_E_BUSY, never hangs. */
static atomic_int timer_ok, timer_busy, timer_other;
static struct pvr_provider *timer_p;

static void on_timer(int sig)
{
    static int k;
    pvl_result r = pvr_link(&one_iface, (k++ & 1) ? timer_p : NULL, NULL, NULL, NULL);

    (void)sig;
    atomic_fetch_add(r == PVL_OK ? &timer_ok : r == PVL_E_BUSY ? &timer_busy : &timer_other,
                     1);
}

static void timer_never_deadlocks(void)
{
    struct pvr_provider *pa = provider_a();
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct sigaction sa = {.sa_handler = on_timer};
    struct itimerval it = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    struct timespec t0, t1;
    struct pvr_error e;
    int links = 0, bad = 0;

    timer_p = pvr_provider_table(&one_desc_2, &one_iface, &e);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        bad += pvr_link(&rt_iface, (links++ & 1) ? pa : NULL, &o, NULL, NULL) != PVL_OK;
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 300);
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    printf("masks: %d links with a timer linking from its handler: %d linked, %d busy\n",
           links, atomic_load(&timer_ok), atomic_load(&timer_busy));
    CHECK_EQ(bad, 0);
    CHECK_EQ(atomic_load(&timer_other), 0);
    CHECK(atomic_load(&timer_busy) > 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(pvr_unlink(&one_iface, NULL, NULL, &e), PVL_OK);
    pvr_provider_close(timer_p, &e);
}

T_CASES(T(trap_blocker_running), T(trap_blocker_sleeping), T(rt_blocker_running),
        T(rt_blocker_sleeping), T(reentry_is_busy), T(threads_serialize),
        T(timer_never_deadlocks))
