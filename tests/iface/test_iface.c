/*
 * <pvlink/iface.h> in a program built with the compiler's default flags
 * (red zone on, no stack-alignment options), at -O0, -O2 and -O3: every
 * operation shape, native and linked to a provider, with what the
 * compiler keeps live around a site (red-zone locals, vector and x87
 * registers) checked after each call, functions that need the System V
 * stack alignment called through sites, and unwinding through a site.
 */
#include <execinfo.h>
#include <string.h>

#include <pvlink/runtime.h>

#include "../harness.h"
#include "natives.h"

#define ift_NATIVE(op) gen_##op
PVL_IFACE_DEFAULTS(ift, PVLINK_IFT);

/* ------------------------------------------------------------------------
 * The provider.
 */

static long p_add(long a, long b) { return a * b; }
static long p_noted;
static void p_note(long v) { p_noted = v; }
static long p_sum6(long a, long b, long c, long d, long e, long f)
{
    return a + b + c + d + e + f;
}
static bool p_odd(long v) { return !(v & 1); }
static const char *p_pick(const char *s, long i) { return s + 2 * i; }

/* Changes every vector register the ABI lets a function change, and the
 * x87 state, then needs an aligned stack. */
static long p_spill(long v)
{
    __asm__ __volatile__("pcmpeqb %%xmm0, %%xmm0\n\t"
                         "movdqa %%xmm0, %%xmm1\n\tmovdqa %%xmm0, %%xmm2\n\t"
                         "movdqa %%xmm0, %%xmm3\n\tmovdqa %%xmm0, %%xmm4\n\t"
                         "movdqa %%xmm0, %%xmm5\n\tmovdqa %%xmm0, %%xmm6\n\t"
                         "movdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm8\n\t"
                         "movdqa %%xmm0, %%xmm9\n\tmovdqa %%xmm0, %%xmm10\n\t"
                         "movdqa %%xmm0, %%xmm11\n\tmovdqa %%xmm0, %%xmm12\n\t"
                         "movdqa %%xmm0, %%xmm13\n\tmovdqa %%xmm0, %%xmm14\n\t"
                         "movdqa %%xmm0, %%xmm15"
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                           "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                           "xmm12", "xmm13", "xmm14", "xmm15");
    volatile long double ld = (long double)v * 3.0L;
    return gen_spill((long)(ld / 3.0L)) + 1;
}

/* A deep stack of its own: whatever it leaves below the caller's stack
 * pointer, it leaves in what was the caller's red zone if the site did
 * not step over it. */
static long p_scribble(long a, long b)
{
    volatile long junk[64];
    for (int i = 0; i < 64; i++)
        junk[i] = -1;
    return a + b + junk[3] + 2;
}

static const struct pvr_op_impl p_impls[] = {
    PVR_CALL(ift, add, p_add),
    PVR_CALL(ift, note, p_note),
    {"tick", PVL_ACT_NOP, 0, 0, 0, 0, 0, 0, 0},
    PVR_CALL(ift, sum6, p_sum6),
    PVR_CALL(ift, odd, p_odd),
    PVR_CALL(ift, pick, p_pick),
    PVR_CALL(ift, spill, p_spill),
    PVR_INLINE(answer, "\xb8\x2a\x00\x00\x00", PVL_CLB(RAX)), /* mov $42, %eax */
    PVR_INLINE(twice, "\x48\x8d\x04\x7f", PVL_CLB(RAX)),      /* lea (%rdi,%rdi,2), %rax */
    PVR_INLINE(touch, "\x31\xc9", PVL_CLB(RCX) | PVL_CLB(FLAGS)), /* xor %ecx, %ecx */
};
static const struct pvr_provider_desc p_desc =
    PVR_PROVIDER_DESC("pvlink.ift", 1, 0, "ift-test", p_impls);
static const struct pvr_op_impl scribble_impls[] = {
    PVR_CALL(ift, add, p_scribble)
};

static struct pvr_provider *provider(const struct pvr_provider_desc *d)
{
    struct pvr_error err;
    struct pvr_provider *p = pvr_provider_table(d, &ift_iface, &err);
    if (!p)
        t_fail(__FILE__, __LINE__, "provider: %s", err.msg);
    return p;
}

static int link_to(const struct pvr_provider *p)
{
    struct pvr_error err;
    if (pvr_link(&ift_iface, p, NULL, NULL, &err) == PVL_OK)
        return 1;
    t_fail(__FILE__, __LINE__, "link: %s", err.msg);
    return 0;
}

/* ------------------------------------------------------------------------
 * Callers, each in a function of its own, so that the compiler treats
 * the site as it would in a program: leaf functions keep their locals in
 * the red zone and run with the stack 8 bytes off 16.
 */

__attribute__((noinline)) static long red_zone(long a)
{
    volatile long keep[8];
    for (int i = 0; i < 8; i++)
        keep[i] = a + i;
    long r = ift_add(a, 1);
    for (int i = 0; i < 8; i++)
        r += keep[i] - (a + i);
    return r;
}

__attribute__((noinline)) static long leaf_spill(long v) { return ift_spill(v); }

__attribute__((noinline)) static double vectors_live(double x)
{
    double a = x * 1.5, b = x + 0.25, c = x * x;
    long r = ift_spill((long)x);
    return a + b + c + (double)r;
}

__attribute__((noinline)) static long double x87_live(long double x)
{
    long double a = x * 3.0L;
    ift_note(7);
    return a + x;
}

static void check_shapes(int linked)
{
    static const char s[] = "abcdef";
    CHECK_EQ(ift_add(6, 7), linked ? 42 : 13);
    ift_note(5);
    CHECK_EQ(linked ? p_noted : ift_noted, 5);
    long ticks = ift_ticks;
    ift_tick();
    CHECK_EQ(ift_ticks - ticks, linked ? 0 : 1);
    CHECK_EQ(ift_sum6(1, 2, 3, 4, 5, 6), linked ? 21 : 91);
    CHECK_EQ(ift_odd(3), !linked);
    CHECK(ift_pick(s, 1) == s + (linked ? 2 : 1));
    CHECK_EQ(ift_spill(9), linked ? 10 : 9);
    CHECK_EQ(ift_answer(), linked ? 42 : 41);
    CHECK_EQ(ift_twice(5), linked ? 15 : 10);
    ift_touch(0);
}

static void shapes(void)
{
    struct pvr_provider *p = provider(&p_desc);
    if (!p)
        return;
    check_shapes(0);
    if (link_to(p))
        check_shapes(1);
    pvr_unlink(&ift_iface, NULL, NULL, NULL);
    check_shapes(0);
    pvr_provider_close(p, NULL);
}

static void live_state(void)
{
    struct pvr_provider *p = provider(&p_desc);
    if (!p)
        return;
    for (int linked = 0; linked < 2; linked++) {
        if (linked && !link_to(p))
            break;
        CHECK_EQ(red_zone(10), linked ? 10 : 11);
        CHECK_EQ(leaf_spill(4), linked ? 5 : 4);
        double v = vectors_live(2.0);
        CHECK(v == 3.0 + 2.25 + 4.0 + (linked ? 3.0 : 2.0));
        CHECK(x87_live(2.0L) == 8.0L);
    }
    pvr_unlink(&ift_iface, NULL, NULL, NULL);
    pvr_provider_close(p, NULL);
}

/* The add site linked to a function that writes deep below its frame:
 * the red-zone locals of the caller survive. */
static void red_zone_scribbled(void)
{
    struct pvr_provider_desc d = PVR_PROVIDER_DESC("pvlink.ift", 1, 0, "scribble",
                                                   scribble_impls);
    struct pvr_provider *p = provider(&d);
    if (!p || !link_to(p))
        return;
    CHECK_EQ(red_zone(10), 12);
    pvr_unlink(&ift_iface, NULL, NULL, NULL);
    pvr_provider_close(p, NULL);
}

/* Unwinding from inside a call made by a site reaches the site's caller
 * and beyond: the stack pointer moved, the unwind information did not. */
static void *bt_want;
static int bt_found;
static void bt_note(long v)
{
    void *frames[32];
    int n = backtrace(frames, 32);
    (void)v;
    for (int i = 0; i < n; i++)
        bt_found |= frames[i] == bt_want;
}
static const struct pvr_op_impl bt_impls[] = {PVR_CALL(ift, note, bt_note)};

__attribute__((noinline)) static void bt_site(void)
{
    ift_note(1);
    __asm__ __volatile__("" ::: "memory");
}
__attribute__((noinline)) static void bt_caller(void)
{
    bt_site();
    bt_want = __builtin_return_address(0); /* where bt_caller returns */
    __asm__ __volatile__("" ::: "memory");
}
__attribute__((noinline)) static void bt_outer(void)
{
    bt_caller();
    __asm__ __volatile__("" ::: "memory");
}

static void unwind(void)
{
    struct pvr_provider_desc d = PVR_PROVIDER_DESC("pvlink.ift", 1, 0, "bt", bt_impls);
    struct pvr_provider *p = provider(&d);
    bt_outer(); /* learns the address bt_caller returns to */
    if (!p || !link_to(p))
        return;
    bt_found = 0;
    bt_outer();
    CHECK(bt_found);
    pvr_unlink(&ift_iface, NULL, NULL, NULL);
    pvr_provider_close(p, NULL);
}

T_CASES(T(shapes), T(live_state), T(red_zone_scribbled), T(unwind))
