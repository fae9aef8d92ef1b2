/*
 * A second test interface, "pvlink.one" 1.0, whose every change replaces
 * one instruction with one instruction: the live protocol needs no signal
 * for it at all.
 *   f(x)     -> x        call form
 *   tick(x)             call form, adds x to a counter
 *   val()    -> 1        inline: mov $1, %eax (5 bytes, room 5)
 * Providers (rt_common.c):
 *   one-1: f -> call x + 1, tick -> call (adds 2x), val -> mov $2, %eax
 *   one-2: f -> call x + 2, tick -> NOPs,          val -> mov $3, %eax
 */
#ifndef RT_ONE_H
#define RT_ONE_H

#include <pvlink/iface.h>
#include <pvlink/runtime.h>

#define PVLINK_ONE(CALL, INLINE)                                             \
    CALL(one, f, long, (long))                                               \
    CALL(one, tick, void, (long))                                            \
    INLINE(one, val, long, (), 5, "mov $1, %%eax", ())

PVL_IFACE(one, "pvlink.one", 1, 0, PVLINK_ONE);

enum { ONE_NATIVE, ONE_1, ONE_2, ONE_NSTATES };
extern const struct pvr_provider_desc one_desc_1, one_desc_2;

/* This program's sites of pvlink.one, and what they give under (st). */
long exe_one_f(long x);
long exe_one_val(void);
void exe_one_tick(long x);
long one_ticks(void);
long one_expect_f(int st, long x);
long one_expect_val(int st);
long one_expect_tick(int st, long x); /* what tick(x) adds */

#endif
