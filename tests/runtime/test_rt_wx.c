/*
 * W^X hosts (issue 11, item 6).  Each case runs in a child process that
 * turns on memory-deny-write-execute (prctl PR_SET_MDWE), which refuses
 * writable executable mappings and making memory executable, as SELinux
 * execmem does:
 *
 *   - live links with two threads running the sites, to in-program
 *     providers and to the provider shared object (veneers), go through
 *     /proc/self/mem, chosen automatically; every result is right;
 *   - when anonymous executable mappings are refused too (injected, like
 *     SELinux execmem), code memory comes from a memfd;
 *   - when /proc/self/mem cannot be opened either, the link is refused
 *     before any byte changes, with a message that says why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"

/* Re-link live to each provider in turn while two threads check results. */
static void relink_all(void)
{
    struct pvr_provider *p[NSTATES] = {0};
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    const struct pvl_site *elo, *ehi, *llo, *lhi;
    struct pvr_error e;
    long checked = 0;

    p[ST_A] = pvr_provider_table(&rt_desc_a, &rt_iface, &e);
    p[ST_B] = pvr_provider_table(&rt_desc_b, &rt_iface, &e);
    p[ST_SO] = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e);
    if (!p[ST_A] || !p[ST_B] || !p[ST_SO]) {
        t_fail(__FILE__, __LINE__, "providers: %s", e.msg);
        return;
    }
    exe_sites(&elo, &ehi);
    lib_sites(&llo, &lhi);
    rt_workers_start(2);
    for (int i = 0; i < 40; i++) {
        struct pvr_report rep = {0};
        int st = (i + 1) % NSTATES;
        if (pvr_link(&rt_iface, p[st], &o, &rep, &e) != PVL_OK) {
            t_fail(__FILE__, __LINE__, "link %d: %s", i, e.msg);
            break;
        }
        CHECK_EQ(rep.procmem, 1);
        CHECK_EQ(rt_check_bytes("W^X", elo, ehi, st) >= 4, 1);
        CHECK_EQ(rt_check_bytes("W^X", llo, lhi, st), 4);
    }
    long wrong = rt_workers_stop(&checked);
    printf("wx: 40 live links under MDWE (%s), %ld results checked, %ld wrong\n",
           rt_mapped("/memfd:pvlink-code") ? "code in a memfd, sites through /proc/self/mem"
                                           : "code and sites through /proc/self/mem",
           checked, wrong);
    CHECK_EQ(wrong, 0);
    CHECK(checked > 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK); /* one thread: direct */
    rt_check_results("W^X, unlinked", ST_NATIVE);
    for (int s = 0; s < NSTATES; s++)
        pvr_provider_close(p[s], &e);
}

static void child_live(void)
{
    relink_all();
    CHECK(!rt_mapped("pvlink-code"));
}

static void live_links_under_mdwe(void)
{
    rt_in_child(child_live, 1);
}

static void child_memfd(void)
{
    pvr_fault_inject(PVR_FAULT_MMAP_EXEC, 1, EACCES); /* as SELinux execmem */
    relink_all();
    pvr_fault_inject(PVR_FAULT_NONE, 0, 0);
    CHECK(rt_mapped("/memfd:pvlink-code"));
}

static void memfd_when_exec_mappings_refused(void)
{
    rt_in_child(child_memfd, 1);
}

/* An inline-only provider for pvlink.rt: no call, so no veneer. */
static const struct pvr_op_impl inline_only[] = {
    PVR_INLINE(twice, "\x48\x8d\x04\x7f", PVL_CLB(RAX) | PVL_CLB(FLAGS)),
};
static const struct pvr_provider_desc inline_desc =
    PVR_PROVIDER_DESC("pvlink.rt", 1, 0, "inline-only", inline_only);

static void child_refused(void)
{
    const struct pvl_site *lo, *hi;
    uintptr_t a0 = UINTPTR_MAX, a1 = 0, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct pvr_error e;
    struct pvr_report rep = {0};
    struct pvr_provider *p = pvr_provider_table(&inline_desc, &rt_iface, &e);
    char want[PVR_MSG_MAX];

    exe_sites(&lo, &hi);
    for (const struct pvl_site *s = lo; s < hi; s++)
        if (rt_is_rt(s) && s->op == rt_twice__OP) {
            uintptr_t a = (uintptr_t)pvl_rel(&s->addr);
            a0 = a < a0 ? a : a0;
            a1 = a + s->room > a1 ? a + s->room : a1;
        }
    snprintf(want, sizeof want, "cannot write the sites: making [%#lx, %#lx) of \"\" "
             "writable was refused (the process denies writable executable memory (prctl "
             "PR_SET_MDWE)), and /proc/self/mem cannot be opened: Permission denied",
             (unsigned long)(a0 & ~(pg - 1)), (unsigned long)((a1 + pg - 1) & ~(pg - 1)));
    for (int live = 0; live < 2; live++) {
        struct pvr_link_opts o = {.flags = live ? PVR_LINK_LIVE : 0};
        pvr_fault_inject(PVR_FAULT_PROCMEM, 1, EACCES);
        CHECK_EQ(pvr_link(&rt_iface, p, &o, &rep, &e), PVL_E_WRITE);
        pvr_fault_inject(PVR_FAULT_NONE, 0, 0);
        CHECK_EQ(rep.state, PVR_STATE_OLD);
        if (strcmp(e.msg, want))
            t_fail(__FILE__, __LINE__, "message:\n      %s\n  expected:\n      %s", e.msg, want);
        rt_check_results("refused", ST_NATIVE);
        CHECK_EQ(exe_twice(7), 14);
    }
    pvr_provider_close(p, &e);
}

static void refused_when_nothing_works(void)
{
    rt_in_child(child_refused, 1);
}

T_CASES(T(live_links_under_mdwe), T(memfd_when_exec_mappings_refused),
        T(refused_when_nothing_works))
