/*
 * Shared state (issue 11, item 7): changing implementations together.
 *
 *   - start-up mode (PVR_LINK_STARTUP) writes directly when this is the
 *     only thread and refuses, naming a thread, when it is not;
 *   - pvr_link_set links two interfaces in one call, all or nothing: one
 *     refused site anywhere and nothing is written; bad sets are refused;
 *   - a library that links itself from its constructor, dlopen'ed while a
 *     thread sleeps in nanosleep and another blocks every signal: no
 *     EINTR, no signal, no wait; and the same under memory-deny-write-
 *     execute, in a child process.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"
#include "rt_one.h"

static void expect_msg(int line, const struct pvr_error *e, const char *want)
{
    if (strcmp(e->msg, want))
        t_fail(__FILE__, line, "message:\n      %s\n  expected:\n      %s", e->msg, want);
}

/* ------------------------------------------------------------------------
 * Start-up mode.
 */

static atomic_int spin_stop, spin_tid;

static void *spin(void *arg)
{
    (void)arg;
    atomic_store(&spin_tid, (int)syscall(SYS_gettid));
    while (!atomic_load(&spin_stop))
        usleep(1000);
    return NULL;
}

static void startup_mode(void)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_STARTUP};
    struct pvr_report rep = {0};
    struct pvr_error e;
    struct pvr_provider *pa = pvr_provider_table(&rt_desc_a, &rt_iface, &e);
    char want[PVR_MSG_MAX];
    pthread_t t;

    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_OK);
    CHECK_EQ(rep.live, 0);
    CHECK_EQ(rep.nsignals, 0);
    rt_check_results("start-up link", ST_A);
    CHECK_EQ(pvr_unlink(&rt_iface, &o, &rep, &e), PVL_OK);
    rt_check_results("start-up unlink", ST_NATIVE);

    pthread_create(&t, NULL, spin, NULL);
    while (!atomic_load(&spin_tid))
        usleep(100);
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_THREADS);
    snprintf(want, sizeof want, "start-up link refused: 1 other thread runs (first: %d); "
             "nothing written", atomic_load(&spin_tid));
    expect_msg(__LINE__, &e, want);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    rt_check_results("refused", ST_NATIVE);
    atomic_store(&spin_stop, 1);
    pthread_join(t, NULL);
    pvr_provider_close(pa, &e);
}

/* ------------------------------------------------------------------------
 * Link sets.
 */

static int nop_val(void *ctx, const struct pvr_site *s, int proposed)
{
    (void)ctx;
    return s->iface == &one_iface && strcmp(s->object, "") == 0 && s->info.op == one_val__OP
               ? PVL_ACT_NOP : proposed;
}

static void link_set(void)
{
    struct pvr_error e;
    struct pvr_provider *pb = pvr_provider_table(&rt_desc_b, &rt_iface, &e),
                        *p2 = pvr_provider_table(&one_desc_2, &one_iface, &e);
    struct pvr_link_item both[2] = {{&rt_iface, pb}, {&one_iface, p2}};
    struct pvr_link_item twice[2] = {{&rt_iface, pb}, {&rt_iface, NULL}};
    struct pvr_refusal ref[4];
    struct pvr_report rep = {.refused = ref, .refused_cap = 4};
    struct pvr_link_opts refuse = {.policy = nop_val};

    /* one site refused (NOPs for val, which returns a value): nothing */
    CHECK_EQ(pvr_link_set(both, 2, &refuse, &rep, &e), PVL_E_REFUSED);
    CHECK_EQ(rep.nrefused, 1);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    CHECK(strstr(e.msg, "(op \"val\" at ") != NULL);
    rt_check_results("set refused", ST_NATIVE);
    CHECK_EQ(exe_one_f(4), 4);
    CHECK_EQ(exe_one_val(), 1);
    CHECK(pvr_linked(&rt_iface) == NULL && pvr_linked(&one_iface) == NULL);

    /* the same set without the policy: both, in one write */
    CHECK_EQ(pvr_link_set(both, 2, NULL, &rep, &e), PVL_OK);
    CHECK_EQ(rep.nrefused, 0);
    CHECK_EQ(rep.nnew, rep.nchanged);
    CHECK_EQ(rep.count[PVL_ACT_NOP], 1); /* one.tick */
    rt_check_results("set linked", ST_B);
    CHECK_EQ(exe_one_f(4), 6);
    CHECK_EQ(exe_one_val(), 3);
    CHECK(pvr_linked(&rt_iface) == pb && pvr_linked(&one_iface) == p2);

    CHECK_EQ(pvr_link_set(twice, 2, NULL, &rep, &e), PVL_E_ARG);
    expect_msg(__LINE__, &e, "link set: interface \"pvlink.rt\" appears twice");
    CHECK_EQ(pvr_link_set(both, 0, NULL, &rep, &e), PVL_E_ARG);
    expect_msg(__LINE__, &e, "link set: 0 interfaces (1 to 64)");
    rt_check_results("still linked", ST_B);

    both[0].provider = NULL, both[1].provider = NULL;
    CHECK_EQ(pvr_link_set(both, 2, NULL, &rep, &e), PVL_OK);
    rt_check_results("set unlinked", ST_NATIVE);
    CHECK_EQ(exe_one_f(4), 4);
    pvr_provider_close(pb, &e);
    pvr_provider_close(p2, &e);
}

/* ------------------------------------------------------------------------
 * A library that links itself when loaded into a process with threads.
 */

static atomic_int stop, ready;
static atomic_long eintr, returns;
static pthread_t sleeper, waiter;

static void *nap(void *arg)
{
    struct timespec t = {60, 0};

    (void)arg;
    atomic_fetch_add(&ready, 1);
    for (;;) {
        int r = nanosleep(&t, NULL);
        if (atomic_load(&stop))
            return NULL;
        atomic_fetch_add(r != 0 && errno == EINTR ? &eintr : &returns, 1);
    }
}

static void *sigwaiter(void *arg)
{
    sigset_t all;
    int sig;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    atomic_fetch_add(&ready, 1);
    sigemptyset(&all);
    sigaddset(&all, SIGUSR2);
    sigwait(&all, &sig); /* SIGUSR2 at the end */
    return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static void threads_start(void)
{
    struct sigaction sa = {.sa_handler = on_usr1};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    atomic_store(&stop, 0), atomic_store(&ready, 0);
    pthread_create(&sleeper, NULL, nap, NULL);
    pthread_create(&waiter, NULL, sigwaiter, NULL);
    while (atomic_load(&ready) < 2)
        usleep(1000);
    usleep(50000); /* both asleep */
}

static void threads_stop(void)
{
    atomic_store(&stop, 1);
    pthread_kill(sleeper, SIGUSR1);
    pthread_kill(waiter, SIGUSR2);
    pthread_join(sleeper, NULL);
    pthread_join(waiter, NULL);
}

static void load_ctor_library(int expect_procmem)
{
    pvl_result (*result)(struct pvr_report *, char *, size_t);
    long (*f)(long), (*g)(long);
    struct pvr_report rep;
    char msg[PVR_MSG_MAX];
    void *h;

    threads_start();
    if (!(h = dlopen(rt_path("librt_ctor.so"), RTLD_NOW | RTLD_LOCAL))) {
        t_fail(__FILE__, __LINE__, "dlopen: %s", dlerror());
        threads_stop();
        return;
    }
    *(void **)&result = dlsym(h, "ctor_result");
    *(void **)&f = dlsym(h, "ctor_f");
    *(void **)&g = dlsym(h, "ctor_g");
    if (result(&rep, msg, sizeof msg) != PVL_OK)
        t_fail(__FILE__, __LINE__, "the constructor's link: %s", msg);
    CHECK_EQ(rep.live, 1);
    CHECK_EQ(rep.nrounds, 1);  /* g changes three instructions into one */
    CHECK_EQ(rep.nsignals, 0); /* both threads asleep: skipped */
    CHECK_EQ(rep.nskipped, 2);
    CHECK_EQ(rep.procmem, expect_procmem);
    CHECK_EQ(f(7), 70);
    CHECK_EQ(g(7), 14);
    threads_stop();
    CHECK_EQ(atomic_load(&eintr), 0);
    CHECK_EQ(atomic_load(&returns), 0);
    dlclose(h);
}

static void constructor_links_itself(void)
{
    load_ctor_library(0);
}

static void child_mdwe(void)
{
    load_ctor_library(1);
}

static void constructor_under_mdwe(void)
{
    rt_in_child(child_mdwe, 1);
}

T_CASES(T(startup_mode), T(link_set), T(constructor_under_mdwe), T(constructor_links_itself))
