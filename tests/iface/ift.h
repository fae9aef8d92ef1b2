/*
 * The interface tests' interface, "pvlink.ift" 1.0, used from C and C++:
 * every shape PVL_IFACE supports (void results, no arguments, six
 * arguments, bool and pointer results, inline bodies with clobbers).
 */
#ifndef IFT_H
#define IFT_H

#include <stdbool.h>

#include <pvlink/iface.h>

#define PVLINK_IFT(CALL, INLINE)                                             \
    CALL(ift, add, long, (long, long))                                       \
    CALL(ift, note, void, (long))                                            \
    CALL(ift, tick, void, ())                                                \
    CALL(ift, sum6, long, (long, long, long, long, long, long))              \
    CALL(ift, odd, bool, (long))                                             \
    CALL(ift, pick, const char *, (const char *, long))                      \
    CALL(ift, spill, long, (long))                                           \
    INLINE(ift, answer, long, (), 5, "mov $41, %%eax", ())                   \
    INLINE(ift, twice, long, (long), 5, "lea (%%rdi,%%rdi), %%rax", (flags)) \
    INLINE(ift, touch, void, (long), 5, "xor %%ecx, %%ecx", (rcx, flags))

PVL_IFACE(ift, "pvlink.ift", 1, 0, PVLINK_IFT);

#endif
