/* The indirect call, built with retpolines (gcc -mindirect-branch=thunk,
 * clang -mretpoline). */
#include "bench_ops.h"

__attribute__((noinline)) long run_retpoline(long n)
{
    long acc = 0;
    for (long i = 0; i < n; i++)
        acc = bench_fp(acc, i);
    return acc;
}
