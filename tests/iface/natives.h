/* The plain functions behind "pvlink.ift"'s native defaults (natives.c). */
#ifndef IFT_NATIVES_H
#define IFT_NATIVES_H

#include "ift.h"

PVL_BEGIN_DECLS
extern long ift_noted, ift_ticks;
long gen_add(long a, long b);
void gen_note(long v);
void gen_tick(void);
long gen_sum6(long a, long b, long c, long d, long e, long f);
bool gen_odd(long v);
const char *gen_pick(const char *s, long i);
long gen_spill(long v);
PVL_END_DECLS

#endif
