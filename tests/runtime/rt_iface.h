/*
 * The runtime tests' interface, "pvlink.rt" 1.2, declared with
 * <pvlink/iface.h>:
 *   add(a, b)   -> a + b      call form, default rt_add_default
 *   note(v)                   call form, records v
 *   twice(a)    -> 2a         inline: lea (%rdi,%rdi),%rax + 1 NOP, room 5
 *   mix(a, b)   -> a + 3b     inline: four instructions in a 16-byte room
 */
#ifndef RT_IFACE_H
#define RT_IFACE_H

#include <pvlink/iface.h>

#define PVLINK_RT(CALL, INLINE)                                              \
    CALL(rt, add, long, (long, long))                                        \
    CALL(rt, note, void, (long))                                             \
    INLINE(rt, twice, long, (long), 5, "lea (%%rdi,%%rdi), %%rax", (flags))  \
    INLINE(rt, mix, long, (long, long), 16,                                  \
           "mov %%rdi, %%rax\n\tadd %%rsi, %%rax\n\t"                        \
           "add %%rsi, %%rax\n\tadd %%rsi, %%rax",                           \
           (flags))

PVL_IFACE(rt, "pvlink.rt", 1, 2, PVLINK_RT);

/* The library's entry points (rt_lib.c), one site of each op each. */
long lib_add(long a, long b);
long lib_twice(long a);
long lib_mix(long a, long b);
void lib_note(long v);
long lib_noted(void);
void lib_sites(const struct pvl_site **start, const struct pvl_site **stop);

#endif
