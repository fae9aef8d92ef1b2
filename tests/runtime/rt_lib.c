/*
 * A shared object with its own pvlink.rt sites and defaults: linked with
 * the test programs (librt_sites.so) and built again for dlopen
 * (librt_late.so).
 */
#include "rt_iface.h"

static long noted;

long rt_add_default(long a, long b) { return a + b; }
void rt_note_default(long v) { noted = v; }

long lib_add(long a, long b) { return rt_add(a, b); }
long lib_twice(long a) { return rt_twice(a); }
long lib_mix(long a, long b) { return rt_mix(a, b); }
void lib_note(long v) { rt_note(v); }
long lib_noted(void) { return noted; }

void lib_sites(const struct pvl_site **start, const struct pvl_site **stop)
{
    *start = __start_pvlink_sites;
    *stop = __stop_pvlink_sites;
}
