/*
 * Anywhere in the address space (issue 11, item 4).  This program is
 * built with -no-pie: it lies at 0x400000, in the first GiB, where the
 * old search for veneer memory computed base - d and wrapped around.
 *
 *   - its sites and librt_sites.so's link to the provider shared object
 *     (mapped near the top of the address space) through veneers, live
 *     and direct; results and bytes are checked;
 *   - pvr_map_reach places memory within rel32 reach of spans at the
 *     bottom, in the first GiB, and near the top of the address space;
 *   - code generated at a low address (1 MiB) and at a high one (32 TiB)
 *     calls a function of librt_sites.so once linked, through a veneer.
 *     (32 TiB: above ASan's shadow memory, for SAN=1 builds.)
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../runtime/image.h"
#include "../harness.h"
#include "rt_common.h"

#define REACH 0x7fffffc0ul /* what a rel32 reaches, with a margin */

static int in_reach(uintptr_t lo, uintptr_t hi, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p, from = a < lo ? a : lo, to = a + len > hi ? a + len : hi;
    return to - from <= REACH;
}

static void built_without_pie(void)
{
    const struct pvl_site *lo, *hi;

    exe_sites(&lo, &hi);
    if ((uintptr_t)lo >= (1ul << 30))
        t_fail(__FILE__, __LINE__, "sites at %p: not a non-PIE executable", (const void *)lo);
}

static void so_provider_through_veneers(void)
{
    struct pvr_error e;
    struct pvr_report rep = {0};
    struct pvr_link_opts live = {.flags = PVR_LINK_LIVE}, direct = {.flags = PVR_LINK_STOPPED};
    const struct pvl_site *elo, *ehi, *llo, *lhi;
    struct pvr_provider *so = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e);

    if (!so) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    exe_sites(&elo, &ehi);
    lib_sites(&llo, &lhi);
    for (int i = 0; i < 2; i++) {
        if (pvr_link(&rt_iface, so, i ? &direct : &live, &rep, &e) != PVL_OK)
            t_fail(__FILE__, __LINE__, "%s", e.msg);
        CHECK(rep.nveneers >= 1); /* this program is far from the provider */
        CHECK(rt_check_bytes("SO", elo, ehi, ST_SO) >= 4);
        CHECK_EQ(rt_check_bytes("SO", llo, lhi, ST_SO), 4);
        rt_check_results("SO", ST_SO);
        CHECK_EQ(pvr_unlink(&rt_iface, i ? &direct : &live, NULL, &e), PVL_OK);
        rt_check_results("unlinked", ST_NATIVE);
    }
    CHECK_EQ(pvr_provider_close(so, &e), PVL_OK);
}

static void map_reach_anywhere(void)
{
    const struct pvl_site *lo, *hi;
    static const uintptr_t spans[][2] = {
        {0x10000, 0x11000},               /* the lowest page one may map */
        {0x400000, 0x400000 + (64 << 20)}, /* a non-PIE executable */
        {0x7ffffff00000, 0x7ffffffff000}, /* the top of 47-bit user space */
        {0x200000000000, 0x200000000000 + 0x70000000ul}, /* 1.75 GiB wide */
    };

    exe_sites(&lo, &hi);
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        void *p = pvr_map_reach(spans[i][0], spans[i][1], 8192, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1);
        if (!p) {
            t_fail(__FILE__, __LINE__, "span [%#lx, %#lx): no memory in reach", spans[i][0],
                   spans[i][1]);
            continue;
        }
        CHECK(in_reach(spans[i][0], spans[i][1], p, 8192));
        munmap(p, 8192);
    }
    void *p = pvr_map_near(lo, 4096);
    CHECK(p && in_reach((uintptr_t)lo, (uintptr_t)lo + 1, p, 4096));
    if (p)
        munmap(p, 4096);
    /* a span wider than rel32 reach has no answer */
    CHECK(pvr_map_reach(0x200000000000, 0x200000000000 + 0x90000000ul, 4096,
                        PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1) == NULL);
}

/* ------------------------------------------------------------------------
 * Generated code at a chosen address: [descriptor][f: mov $21,%edi; site:
 * call dflt; ret][dflt: lea (%rdi,%rdi,2),%rax; ret][orig copy][record].
 * Native f() = 63; linked to lib_twice (librt_sites.so), f() = 42.
 */

static const struct pvl_op_info gen_ops[1] = {
    {"f", 5, PVL_OP_RESULT | PVL_OP_NATIVE_CALL, 0, PVL_CLB_C, 0, 0}};
static const struct pvl_iface gen_iface = {"nopie.gen", 1, 0, 1, gen_ops};

static uint8_t *gen_at(uintptr_t want)
{
    uint8_t *m = mmap((void *)want, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

    if (m != (uint8_t *)want) {
        if (m != MAP_FAILED)
            munmap(m, 4096);
        return NULL;
    }
    struct pvl_iface_desc *d = (struct pvl_iface_desc *)m;
    uint8_t *f = m + 64, *site = f + 5, *dflt = m + 128, *orig = m + 192;
    struct pvl_site *s = (struct pvl_site *)(m + 256);

    *d = (struct pvl_iface_desc){PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                 "nopie.gen", 1, 0, 1};
    memcpy(f, "\xbf\x15\x00\x00\x00", 5); /* mov $21, %edi */
    pvl_emit_call(site, (uintptr_t)site, (uintptr_t)dflt);
    f[10] = 0xc3;
    memcpy(dflt, "\x48\x8d\x04\x7f\xc3", 5); /* lea (%rdi,%rdi,2),%rax; ret */
    memcpy(orig, site, 5);
    *s = (struct pvl_site){.clobbers = PVL_CLB_C, .op = 0, .room = 5,
                           .flags = PVL_SITE_NATIVE_CALL};
    s->addr = (int32_t)(site - (uint8_t *)&s->addr);
    s->orig = (int32_t)(orig - (uint8_t *)&s->orig);
    s->target = (int32_t)(dflt - (uint8_t *)&s->target);
    s->iface = (int32_t)((uint8_t *)d - (uint8_t *)&s->iface);
    mprotect(m, 4096, PROT_READ | PROT_EXEC);
    return m;
}

static void generated_code_far_away(void)
{
    static const uintptr_t where[] = {0x100000, 0x200000000000}; /* 1 MiB, 32 TiB */
    const struct pvr_op_impl impl[] = {
        {.op = "f", .action = PVL_ACT_CALL, .call = (pvr_fn)lib_twice,
         .call_clobbers = PVL_CLB_C}};
    const struct pvr_provider_desc desc = PVR_PROVIDER_DESC("nopie.gen", 1, 0, "far", impl);
    struct pvr_error e;
    struct pvr_report rep = {0};
    struct pvr_provider *p = pvr_provider_table(&desc, &gen_iface, &e);

    if (!p) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        uint8_t *m = gen_at(where[i]);
        if (!m) {
            t_skip("cannot map generated code at %#lx", where[i]);
            continue;
        }
        long (*f)(void) = (long (*)(void))(void *)(m + 64);
        CHECK_EQ(f(), 63);
        CHECK_EQ(pvr_region_register("generated", (const struct pvl_site *)(m + 256), 1,
                                     (uintptr_t)m, (uintptr_t)m + 4096,
                                     PROT_READ | PROT_EXEC, &e), PVL_OK);
        if (pvr_link(&gen_iface, p, NULL, &rep, &e) != PVL_OK)
            t_fail(__FILE__, __LINE__, "code at %#lx: %s", where[i], e.msg);
        CHECK_EQ(rep.nveneers, 1);
        CHECK_EQ(f(), 42);
        CHECK_EQ(pvr_unlink(&gen_iface, NULL, NULL, &e), PVL_OK);
        CHECK_EQ(f(), 63);
        pvr_region_unregister((const struct pvl_site *)(m + 256));
        munmap(m, 4096);
    }
    CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
}

T_CASES(T(built_without_pie), T(so_provider_through_veneers), T(map_reach_anywhere),
        T(generated_code_far_away))
