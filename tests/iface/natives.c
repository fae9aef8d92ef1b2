/*
 * The native defaults of "pvlink.ift", from plain functions through
 * PVL_IFACE_DEFAULTS, for the C and the C++ test programs alike.
 */
#include "natives.h"

long ift_noted;
long ift_ticks;

long gen_add(long a, long b) { return a + b; }
void gen_note(long v) { ift_noted = v; }
void gen_tick(void) { ift_ticks++; }
long gen_sum6(long a, long b, long c, long d, long e, long f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}
bool gen_odd(long v) { return v & 1; }
const char *gen_pick(const char *s, long i) { return s + i; }

/* Aligned SSE stores to the stack: a misaligned stack faults here. */
typedef float ift_v4 __attribute__((vector_size(16)));
long gen_spill(long v)
{
    volatile ift_v4 x = {(float)v, 1, 2, 3};
    volatile ift_v4 y = x + x;
    return (long)y[0] / 2;
}
