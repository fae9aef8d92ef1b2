/*
 * Failure is never partial: mprotect, membarrier and signal failures are
 * injected at each step of a live link; every site must end whole (all
 * old, or all new, or -- when taking back fails too -- exactly the first
 * batch new), the report must say which, and the message what failed.
 * (Signals go only to threads that may stand inside a site: the helper
 * thread that must be signalled spins.)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"

static struct pvr_provider *pa;
static const struct pvl_site *exe_lo, *exe_hi, *lib_lo, *lib_hi;

/* A thread that spins (so that a round must signal it) until told. */
static pthread_t helper;
static int helper_tid, helper_stop;

static void *spinner(void *arg)
{
    (void)arg;
    __atomic_store_n(&helper_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&helper_stop, __ATOMIC_RELAXED))
        __asm__ __volatile__("pause");
    return NULL;
}

static void helper_start(void)
{
    helper_tid = 0, helper_stop = 0;
    if (pthread_create(&helper, NULL, spinner, NULL))
        t_fail(__FILE__, __LINE__, "cannot start the helper thread");
    while (!__atomic_load_n(&helper_tid, __ATOMIC_SEQ_CST))
        usleep(100);
}

static void helper_stop_now(void)
{
    __atomic_store_n(&helper_stop, 1, __ATOMIC_RELAXED);
    pthread_join(helper, NULL);
}

static int setup(void)
{
    struct pvr_error e;
    if (!pa && !(pa = pvr_provider_table(&rt_desc_a, &rt_iface, &e))) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return -1;
    }
    exe_sites(&exe_lo, &exe_hi);
    lib_sites(&lib_lo, &lib_hi);
    return 0;
}

/* Sites of both objects in state (st): how many. */
static int count_in(int st)
{
    int n = 0;
    for (const struct pvl_site *s = exe_lo; s < exe_hi; s++)
        n += rt_site_is(s, st);
    for (const struct pvl_site *s = lib_lo; s < lib_hi; s++)
        n += rt_site_is(s, st);
    return n;
}

static int all_sites(void) /* of pvlink.rt */
{
    int n = 0;
    for (const struct pvl_site *s = exe_lo; s < exe_hi; s++)
        n += rt_is_rt(s);
    for (const struct pvl_site *s = lib_lo; s < lib_hi; s++)
        n += rt_is_rt(s);
    return n;
}

/* Link to A live with a fault; expect a refusal with (msg) and all old. */
static void expect_old(const char *what, enum pvr_fault f, unsigned nth, const char *msg,
                       size_t batch)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE, .batch = batch};
    struct pvr_report rep = {0};
    struct pvr_error e = {0};

    pvr_fault_inject(f, nth, EPERM);
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_WRITE);
    pvr_fault_inject(PVR_FAULT_NONE, 0, 0);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    CHECK_EQ(rep.nnew, 0);
    if (strcmp(e.msg, msg))
        t_fail(__FILE__, __LINE__, "%s: message:\n      %s\n  expected:\n      %s", what,
               e.msg, msg);
    CHECK_EQ(count_in(ST_NATIVE), all_sites());
    rt_check_results(what, ST_NATIVE);
    CHECK(pvr_linked(&rt_iface) == NULL);
}

static void mprotect_fails(void)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    char msg[PVR_MSG_MAX];

    if (setup())
        return;
    for (const struct pvl_site *s = exe_lo; s < exe_hi; s++) {
        if (!rt_is_rt(s))
            continue;
        uintptr_t a = (uintptr_t)pvl_rel(&s->addr);
        lo = a < lo ? a : lo;
        hi = a + s->room > hi ? a + s->room : hi;
    }
    snprintf(msg, sizeof msg, "cannot make [%#lx, %#lx) of \"\" writable: Operation not "
             "permitted", (unsigned long)(lo & ~(pg - 1)),
             (unsigned long)((hi + pg - 1) & ~(pg - 1)));
    expect_old("mprotect", PVR_FAULT_MPROTECT, 1, msg, 0);
}

static void membarrier_after_int3(void)
{
    if (setup())
        return;
    expect_old("membarrier 1", PVR_FAULT_MEMBARRIER, 1,
               "membarrier after int3: Operation not permitted", 0);
}

static void membarrier_after_tails(void)
{
    if (setup())
        return;
    expect_old("membarrier 2", PVR_FAULT_MEMBARRIER, 2,
               "membarrier after the site bytes: Operation not permitted", 0);
}

/* The serialization after the last step failing leaves only late traps,
 * which the handler resolves: the link stands. */
static void membarrier_after_heads(void)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_report rep = {0};
    struct pvr_error e;

    if (setup())
        return;
    pvr_fault_inject(PVR_FAULT_MEMBARRIER, 3, EPERM);
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_OK);
    pvr_fault_inject(PVR_FAULT_NONE, 0, 0);
    CHECK_EQ(rep.state, PVR_STATE_NEW);
    CHECK_EQ(count_in(ST_A), all_sites());
    rt_check_results("membarrier 3", ST_A);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
}

static void signal_fails(void)
{
    char msg[PVR_MSG_MAX];

    if (setup())
        return;
    helper_start();
    snprintf(msg, sizeof msg, "cannot signal thread %d: Operation not permitted", helper_tid);
    expect_old("signal", PVR_FAULT_SIGNAL, 1, msg, 0);
    helper_stop_now();
}

/* The second batch fails: the first is taken back. */
static void second_batch_fails(void)
{
    if (setup())
        return;
    expect_old("batch 2", PVR_FAULT_MEMBARRIER, 4,
               "membarrier after int3: Operation not permitted", 2);
}

/* The second batch fails and taking the first back fails too (its round
 * cannot signal the helper): exactly the first batch stays new.  The first
 * batch (add, twice, mix of this program) has a multi-instruction site
 * that changes, so taking it back needs a round. */
static void rollback_fails(void)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE, .batch = 3};
    struct pvr_report rep = {0};
    struct pvr_error e;

    if (setup())
        return;
    helper_start();
    pvr_fault_inject(PVR_FAULT_MEMBARRIER, 4, EPERM); /* batch 2, after int3 */
    pvr_fault_inject(PVR_FAULT_SIGNAL, 2, EPERM);     /* the rollback's round */
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_WRITE);
    pvr_fault_inject(PVR_FAULT_NONE, 0, 0);
    CHECK_EQ(rep.state, PVR_STATE_SPLIT);
    CHECK_EQ(rep.nnew, 3);
    if (strcmp(e.msg, "membarrier after int3: Operation not permitted; restoring failed "
                      "too: 3 sites stay new"))
        t_fail(__FILE__, __LINE__, "message: %s", e.msg);
    /* every site whole: 3 new, the rest old (sites of ops A leaves as they are
     * count in both) */
    int both = 0;
    for (const struct pvl_site *s = exe_lo; s < exe_hi; s++)
        both += rt_site_is(s, ST_A) && rt_site_is(s, ST_NATIVE);
    CHECK_EQ(count_in(ST_A) - both, 3);
    CHECK_EQ(count_in(ST_NATIVE) + count_in(ST_A) - both, all_sites());
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(count_in(ST_NATIVE), all_sites());
    rt_check_results("after the split", ST_NATIVE);
    helper_stop_now();
}

T_CASES(T(mprotect_fails), T(membarrier_after_int3), T(membarrier_after_tails),
        T(membarrier_after_heads), T(signal_fails), T(second_batch_fails), T(rollback_fails))
