/*
 * Linking the running process: sites in the executable and in a shared
 * library (librt_sites.so) are linked to in-program providers and to a
 * provider shared object, re-linked, unlinked; results and site bytes are
 * checked after each step.  Also: a library loaded after a link, the
 * per-site policy, a refused link, the live protocol on one thread.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "rt_common.h"

static struct pvr_provider *pa, *pb, *pso;
static const struct pvl_site *exe_lo, *exe_hi, *lib_lo, *lib_hi;

static int setup(void)
{
    static int state;
    struct pvr_error e;

    if (state)
        return state < 0 ? (t_fail(__FILE__, __LINE__, "setup failed earlier"), -1) : 0;
    state = -1;
    exe_sites(&exe_lo, &exe_hi);
    lib_sites(&lib_lo, &lib_hi);
    if (!(pa = pvr_provider_table(&rt_desc_a, &rt_iface, &e)) ||
        !(pb = pvr_provider_table(&rt_desc_b, &rt_iface, &e)) ||
        !(pso = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e))) {
        t_fail(__FILE__, __LINE__, "provider refused: %s", e.msg);
        return -1;
    }
    state = 1;
    return 0;
}

/* Link to (p) and check every result and every byte under (st). */
static void link_and_check(const char *name, const struct pvr_provider *p, int st,
                           unsigned flags)
{
    struct pvr_link_opts o = {.flags = flags};
    struct pvr_report rep = {0};
    struct pvr_error e;
    pvl_result r = pvr_link(&rt_iface, p, &o, &rep, &e);

    if (r != PVL_OK)
        t_fail(__FILE__, __LINE__, "%s: %s", name, e.msg);
    CHECK_EQ(rep.state, PVR_STATE_NEW);
    CHECK_EQ(rep.nnew, rep.nchanged);
    CHECK_EQ(rep.nrefused, 0);
    CHECK(rt_check_bytes(name, exe_lo, exe_hi, st) >= 4);
    CHECK_EQ(rt_check_bytes(name, lib_lo, lib_hi, st), 4);
    rt_check_results(name, st);
    CHECK(pvr_linked(&rt_iface) == p);
}

static void objects(void)
{
    if (setup())
        return;
    CHECK(pvr_object_count() >= 2); /* this program and librt_sites.so */
    CHECK_EQ(lib_hi - lib_lo, 4);
}

static void native(void)
{
    if (setup())
        return;
    rt_check_bytes("native", exe_lo, exe_hi, ST_NATIVE);
    rt_check_bytes("native", lib_lo, lib_hi, ST_NATIVE);
    rt_check_results("native", ST_NATIVE);
}

static void link_relink_unlink(void)
{
    if (setup())
        return;
    link_and_check("A", pa, ST_A, 0);
    link_and_check("B", pb, ST_B, 0);
    link_and_check("SO", pso, ST_SO, 0);
    link_and_check("A again", pa, ST_A, 0);
    link_and_check("unlink", NULL, ST_NATIVE, 0);
}

/* The same through the live protocol (one thread: it still traps nothing,
 * but every step runs) and through /proc/self/mem. */
static void live_protocol(void)
{
    struct pvr_report rep = {0};
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE, .batch = 3};
    struct pvr_error e;

    if (setup())
        return;
    link_and_check("live B", pb, ST_B, PVR_LINK_LIVE);
    link_and_check("live SO, procmem", pso, ST_SO, PVR_LINK_LIVE | PVR_LINK_PROCMEM);
    link_and_check("direct A, procmem", pa, ST_A, PVR_LINK_STOPPED | PVR_LINK_PROCMEM);
    CHECK_EQ(pvr_link(&rt_iface, pb, &o, &rep, &e), PVL_OK);
    CHECK_EQ(rep.live, 1);
    CHECK_EQ(rep.nbatches, (rep.nchanged + 2) / 3);
    /* a round only for batches with a multi-instruction change; nobody to
     * signal in a process of one thread */
    CHECK(rep.nrounds >= 1 && rep.nrounds <= rep.nbatches);
    CHECK_EQ(rep.nsignals, 0);
    rt_check_results("live B in batches of 3", ST_B);
    link_and_check("unlink", NULL, ST_NATIVE, PVR_LINK_LIVE);
}

/* A library loaded after a link stays native until the next link, and is
 * forgotten when unloaded. */
static void late_library(void)
{
    size_t before = pvr_object_count();
    const struct pvl_site *lo, *hi;
    void (*sites)(const struct pvl_site **, const struct pvl_site **);
    long (*late_add)(long, long);
    void *h;

    if (setup())
        return;
    link_and_check("A", pa, ST_A, 0);
    if (!(h = dlopen(rt_path("librt_late.so"), RTLD_NOW | RTLD_LOCAL))) {
        t_fail(__FILE__, __LINE__, "dlopen: %s", dlerror());
        return;
    }
    CHECK_EQ(pvr_object_count(), before + 1);
    *(void **)&sites = dlsym(h, "lib_sites");
    *(void **)&late_add = dlsym(h, "lib_add");
    sites(&lo, &hi);
    CHECK_EQ(late_add(40, 2), 42);
    CHECK_EQ(rt_check_bytes("late, before linking", lo, hi, ST_NATIVE), 4);
    link_and_check("B with the late library", pb, ST_B, 0);
    CHECK_EQ(rt_check_bytes("late, linked", lo, hi, ST_B), 4);
    CHECK_EQ(late_add(40, 2), 49);
    dlclose(h);
    CHECK_EQ(pvr_object_count(), before);
    link_and_check("unlink", NULL, ST_NATIVE, 0);
}

/* The policy keeps the library's sites native and sees every site. */
static int keep_lib_native(void *ctx, const struct pvr_site *s, int proposed)
{
    (*(int *)ctx)++;
    return strstr(s->object, "librt_sites.so") ? PVL_ACT_NATIVE : proposed;
}

static void policy(void)
{
    int seen = 0;
    struct pvr_link_opts o = {.policy = keep_lib_native, .policy_ctx = &seen};
    struct pvr_report rep = {0};
    struct pvr_error e;

    if (setup())
        return;
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_OK);
    CHECK_EQ(seen, rep.count[0] + rep.count[1] + rep.count[2] + rep.count[3]);
    CHECK_EQ(rt_check_bytes("policy, lib", lib_lo, lib_hi, ST_NATIVE), 4);
    rt_check_bytes("policy, exe", exe_lo, exe_hi, ST_A);
    CHECK_EQ(exe_add(1, 2), 1003);
    CHECK_EQ(lib_add(1, 2), 3);
    CHECK_EQ(rep.count[PVL_ACT_NATIVE], 4);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    rt_check_results("unlinked", ST_NATIVE);
}

/* NOPs for an op with a result: refused, nothing written, exact message. */
static int nop_everything(void *ctx, const struct pvr_site *s, int proposed)
{
    (void)ctx, (void)s, (void)proposed;
    return PVL_ACT_NOP;
}

static void refused_link(void)
{
    struct pvr_refusal ref[4];
    struct pvr_link_opts o = {.policy = nop_everything};
    struct pvr_report rep = {.refused = ref, .refused_cap = 4};
    struct pvr_error e;
    char want[PVR_MSG_MAX];

    if (setup())
        return;
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_E_REFUSED);
    CHECK_EQ(rep.nchanged, 0);
    CHECK_EQ(rep.state, PVR_STATE_OLD);
    CHECK(rep.nrefused >= 6); /* add, twice, mix in both objects */
    CHECK_EQ(ref[0].r.why, PVL_E_NOP_RESULT);
    snprintf(want, sizeof want, "link refused: %u sites cannot be linked; first: object "
             "\"%s\" site %u (op \"%s\" at %#llx): NOPs chosen for an operation that "
             "returns a value", rep.nrefused, ref[0].object, ref[0].r.index,
             rt_iface.ops[ref[0].r.op].name, (unsigned long long)ref[0].r.addr);
    if (strcmp(e.msg, want))
        t_fail(__FILE__, __LINE__, "message: %s\n  expected: %s", e.msg, want);
    rt_check_bytes("after refusal", exe_lo, exe_hi, ST_NATIVE);
    rt_check_results("after refusal", ST_NATIVE);
}

/* A dry run plans and reports, writes nothing. */
static void dry_run(void)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_DRY_RUN};
    struct pvr_report rep = {0};
    struct pvr_error e;

    if (setup())
        return;
    CHECK_EQ(pvr_link(&rt_iface, pa, &o, &rep, &e), PVL_OK);
    CHECK(rep.nchanged >= 8);
    CHECK_EQ(rep.count[PVL_ACT_CALL] + rep.count[PVL_ACT_INLINE], rep.nchanged);
    rt_check_bytes("dry run", exe_lo, exe_hi, ST_NATIVE);
    CHECK(pvr_linked(&rt_iface) == NULL);
}

/* A linked provider cannot be closed. */
static void close_linked(void)
{
    struct pvr_error e;

    if (setup())
        return;
    CHECK_EQ(pvr_link(&rt_iface, pso, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(pvr_provider_close(pso, &e), PVL_E_ARG);
    char want[PVR_MSG_MAX];
    snprintf(want, sizeof want, "provider \"%s\": sites are linked to it; re-link or unlink "
             "first", rt_path("prov_good.so"));
    CHECK(strcmp(e.msg, want) == 0);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    rt_check_results("unlinked", ST_NATIVE);
}

T_CASES(T(objects), T(native), T(link_relink_unlink), T(live_protocol), T(late_library),
        T(policy), T(refused_link), T(dry_run), T(close_linked))
