/*
 * The benchmarks' interface, "bench.ops" 1.0:
 *   inl(a, b)  inline, room 5: native lea (%rdi,%rsi),%rax + NOP;
 *              the provider's template lea 1(%rdi,%rsi),%rax fills the room
 *   fn(a, b)   call form: native bench_fn_default (a + b); the provider
 *              calls bench_add1 (a + b + 1)
 * and the functions every variant calls: bench_add1 (noinline), an
 * indirect pointer to it, and the IFUNC ifunc_add1 (libbench_ifunc.so).
 */
#ifndef BENCH_OPS_H
#define BENCH_OPS_H

#include <pvlink/iface.h>

#define BENCH_OPS(CALL, INLINE)                                              \
    INLINE(bench, inl, long, (long, long), 5, "lea (%%rdi,%%rsi), %%rax", ()) \
    CALL(bench, fn, long, (long, long))
PVL_IFACE(bench, "bench.ops", 1, 0, BENCH_OPS);

long bench_add1(long a, long b);
long ifunc_add1(long a, long b);
extern long (*volatile bench_fp)(long, long);

/* One variant: (n) dependent calls, returns the accumulated value. */
typedef long (*bench_run_fn)(long n);
long run_retpoline(long n); /* bench_retp.c, built with -mindirect-branch=thunk */
long run_site_call_bare(long n); /* bench_bare.c, built with -mno-red-zone */

#endif
