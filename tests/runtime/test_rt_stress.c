/*
 * Stress: two threads per core run pvlink.rt sites (in this program and in
 * librt_sites.so) in tight loops and check that every result comes from an
 * implementation that was linked at some point (native, A, B or SO), while
 * the main thread re-links between them RELINKS times (or $RT_STRESS_LINKS,
 * for slow runs such as valgrind's) with the live protocol, writing with
 * mprotect (or through /proc/self/mem when $RT_STRESS_PROCMEM is set: no
 * protection change that valgrind would notice).  No crash, no wrong
 * result, every link complete.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"

#define RELINKS 2000

static atomic_int stop;
static atomic_long bad, bad_op, bad_value, total;

/* Is (got) what op returns under some state? */
static int plausible(int op, long a, long b, long got)
{
    for (int st = 0; st < NSTATES; st++)
        if (rt_expect(st, op, a, b) == got)
            return 1;
    return 0;
}

static void verdict(int op, long a, long b, long got)
{
    if (!plausible(op, a, b, got)) {
        if (atomic_fetch_add(&bad, 1) == 0)
            atomic_store(&bad_op, op), atomic_store(&bad_value, got);
    }
}

static void *worker(void *arg)
{
    long n = 0, seed = (long)(uintptr_t)arg;

    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++, n++) {
            long a = (seed + n) & 0xffff, b = (n >> 3) & 0xff;
            verdict(rt_add__OP, a, b, rt_add(a, b));
            verdict(rt_mix__OP, a, b, rt_mix(a, b));
            verdict(rt_twice__OP, a, 0, rt_twice(a));
            verdict(rt_mix__OP, b, a, rt_mix(b, a));
            verdict(rt_add__OP, a, b, lib_add(a, b));
            verdict(rt_mix__OP, a, b, lib_mix(a, b));
            verdict(rt_twice__OP, b, 0, exe_twice(b));
        }
    }
    atomic_fetch_add(&total, n);
    return NULL;
}

/* After a link, this thread must get exactly the new implementation's
 * results (a stale translation under valgrind would give the old ones). */
static long stale(int st)
{
    long n = 0;
    for (long a = 1; a < 4; a++) {
        n += exe_add(a, 2) != rt_expect(st, rt_add__OP, a, 2);
        n += lib_add(a, 2) != rt_expect(st, rt_add__OP, a, 2);
        n += exe_twice(a) != rt_expect(st, rt_twice__OP, a, 0);
        n += lib_twice(a) != rt_expect(st, rt_twice__OP, a, 0);
        n += exe_mix(a, 3) != rt_expect(st, rt_mix__OP, a, 3);
        n += lib_mix(a, 3) != rt_expect(st, rt_mix__OP, a, 3);
    }
    return n;
}

static void stress(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = (int)(ncpu < 1 ? 2 : 2 * ncpu);
    pthread_t t[64];
    struct pvr_provider *p[NSTATES] = {0};
    struct pvr_error e;
    unsigned long moved = 0, rounds = 0, failures = 0, stale_results = 0;
    const char *env = getenv("RT_STRESS_LINKS");
    int relinks = env && atoi(env) > 0 ? atoi(env) : RELINKS;
    struct pvr_link_opts o = {.flags = getenv("RT_STRESS_PROCMEM") ? PVR_LINK_PROCMEM : 0};

    if (nthreads > 64)
        nthreads = 64;
    p[ST_A] = pvr_provider_table(&rt_desc_a, &rt_iface, &e);
    p[ST_B] = pvr_provider_table(&rt_desc_b, &rt_iface, &e);
    p[ST_SO] = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e);
    if (!p[ST_A] || !p[ST_B] || !p[ST_SO]) {
        t_fail(__FILE__, __LINE__, "providers: %s", e.msg);
        return;
    }
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i * 7919));
    for (int i = 0; i < relinks; i++) {
        struct pvr_report rep = {0};
        pvl_result r = pvr_link(&rt_iface, p[(i + 1) % NSTATES], &o, &rep, &e);
        if (r != PVL_OK || rep.state != PVR_STATE_NEW || !rep.live) {
            if (!failures++)
                t_fail(__FILE__, __LINE__, "re-link %d: %s (state %u, live %u)", i, e.msg,
                       rep.state, rep.live);
        }
        moved += rep.nmoved, rounds += rep.nrounds;
        stale_results += (unsigned long)stale((i + 1) % NSTATES);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("stress: %d threads, %d re-links, %lu rounds, %lu threads moved out of a site, "
           "%ld results checked, %ld wrong; %lu stale after a link\n", nthreads, relinks,
           rounds, moved, atomic_load(&total) * 7, atomic_load(&bad), stale_results);
    CHECK_EQ(stale_results, 0);
    if (atomic_load(&bad))
        t_fail(__FILE__, __LINE__, "%ld wrong results; first: op %ld gave %ld",
               atomic_load(&bad), atomic_load(&bad_op), atomic_load(&bad_value));
    CHECK(atomic_load(&total) > 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    rt_check_results("after the stress", ST_NATIVE);
    for (int s = 0; s < NSTATES; s++)
        CHECK_EQ(pvr_provider_close(p[s], &e), PVL_OK);
}

T_CASES(T(stress))
