/*
 * The call form as it was before sites protected the red zone: the site's
 * room alone (call bench_fn_default, 5 bytes) with nothing around it, in
 * code built with -mno-red-zone, which such a site needs.  bench_calls
 * compares it with the protected form <pvlink/iface.h> emits, to put a
 * number on the protection.
 */
#include "bench_ops.h"

static inline long bare_fn(long a, long b)
{
    register uint64_t rdi __asm__("rdi") = (uint64_t)a, rsi __asm__("rsi") = (uint64_t)b;
    register uint64_t rdx __asm__("rdx"), rcx __asm__("rcx"), r8 __asm__("r8"),
        r9 __asm__("r9");
    uint64_t rax;
    __asm__ __volatile__(PVL_SITE_CALL()
                         : "=a"(rax), "+r"(rdi), "+r"(rsi), "=r"(rdx), "=r"(rcx),
                           "=r"(r8), "=r"(r9)
                         : PVL_SITE_IN(&bench__desc, bench_fn__OP, PVL_CALL_LEN, PVL_CLB_C,
                                       PVL_SITE_NATIVE_CALL),
                           [pvl_target] "i"(bench_fn_default)
                         : "r10", "r11", "cc", "memory", PVL__VEC_CLOBBERS);
    return (long)rax;
}

__attribute__((noinline)) long run_site_call_bare(long n)
{
    long acc = 0;
    for (long i = 0; i < n; i++)
        acc = bare_fn(acc, i);
    return acc;
}
