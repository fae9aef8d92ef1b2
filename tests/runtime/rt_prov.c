/*
 * Provider shared objects for pvlink.rt, one source built five ways (the
 * makefile sets PROV_IFACE, PROV_MAJOR, PROV_MINOR and PROV_TABLE): the
 * good one and four that must be refused.
 *   good      "pvlink.rt" 1.4: add -> call (a - b), mix -> inline a - b,
 *             note -> NOPs, plus an op newer than the program (ignored)
 *   iface     implements "pvlink.other" 1.0
 *   version   implements "pvlink.rt" 2.0
 *   long      twice's template is 9 bytes (room 5)
 *   clobbers  twice's template changes rcx (twice allows rax flags)
 *   nosym     the good one, but its descriptor is not named pvr_provider_v1
 *             (the makefile renames it)
 *   unres     the good one calling a function no object defines: the
 *             loader refuses it (PROV_UNRESOLVED)
 *   cold      add -> call (a - b) through a function that gcc -O2 splits:
 *             its unlikely paths (a cold helper it jumps back from, and
 *             abort) go to add_cold.cold, below it (rt.mk checks that
 *             the symbol is there, when gcc builds it)
 */
#include <stdlib.h>

#include <pvlink/runtime.h>

#include "rt_iface.h"

#ifdef PROV_UNRESOLVED
long pvlink_test_nowhere(long a, long b);
static long so_add(long a, long b) { return pvlink_test_nowhere(a, b); }
#else
static long so_add(long a, long b) { return a - b; }
#endif

__attribute__((unused)) static const struct pvr_op_impl good[] = {
    PVR_CALL(rt, add, so_add),
    PVR_INLINE(mix, "\x48\x89\xf8\x48\x29\xf0", PVL_CLB(RAX) | PVL_CLB(FLAGS)),
    {.op = "note", .action = PVL_ACT_NOP},
    {.op = "future_op", .action = PVL_ACT_NOP}, /* newer than the program */
};
/* Read at run time, so that the loop is not unrolled away. */
static volatile long so_rounds = 4;

__attribute__((noinline)) static long so_step(long i)
{
    __asm__ volatile("");
    return i & 1;
}

__attribute__((cold, noinline)) static long so_slow(long i)
{
    __asm__ volatile("");
    return i * 5;
}

/* a - b: the loop adds 2, taken back at the end; the unlikely paths are
 * never taken, but make the hot part jump into its cold part with its
 * frame set up, and the cold part jump back. */
__attribute__((noinline)) long add_cold(long a, long b);
__attribute__((noinline)) long add_cold(long a, long b)
{
    long s = 0;

    if (__builtin_expect(b == -1000001, 0))
        abort();
    for (long i = 0; i < so_rounds; i++) {
        s += so_step(i);
        if (__builtin_expect(s == 1000, 0))
            s += so_slow(i);
    }
    return a - b + s - 2;
}

__attribute__((unused)) static const struct pvr_op_impl cold[] = {
    PVR_CALL(rt, add, add_cold),
};
__attribute__((unused)) static const struct pvr_op_impl too_long[] = {
    PVR_INLINE(twice, "\x48\x8d\x04\x3f\x0f\x1f\x44\x00\x00", PVL_CLB(RAX)),
};
__attribute__((unused)) static const struct pvr_op_impl wide[] = {
    PVR_INLINE(twice, "\x48\x8d\x0c\x3f", PVL_CLB(RAX) | PVL_CLB(RCX)),
};

const struct pvr_provider_desc pvr_provider_v1 =
    PVR_PROVIDER_DESC(PROV_IFACE, PROV_MAJOR, PROV_MINOR, "rt-so", PROV_TABLE);
