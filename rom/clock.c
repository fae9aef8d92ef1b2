/*
 * The ROM's clock: nanoseconds from the TSC and the clock page the monitor
 * keeps in the ROM's data area, with no exit.  The page follows the
 * pvclock protocol (see <pvlink/hv.h>): (version) odd while it changes;
 * read it, the fields, and it again, until it is even and unchanged.
 */
#include "rom.h"

static inline __attribute__((always_inline)) uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* ((delta shifted) * mul) >> 32, in 128 bits. */
static inline __attribute__((always_inline)) uint64_t scale(uint64_t delta, uint32_t mul,
                                                           int8_t shift)
{
    if (shift >= 0)
        delta <<= shift;
    else
        delta >>= -shift;
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t rom_clock_read(void)
{
    volatile struct pvl_clock_page *p = rom_clock_page();
    uint32_t v, mul;
    uint64_t tsc_base, ns_base, tsc;
    int8_t shift;

    do {
        v = p->version;
        __asm__ __volatile__("" ::: "memory");
        mul = p->mul, tsc_base = p->tsc_base, ns_base = p->ns_base, shift = p->shift;
        tsc = rdtsc();
        __asm__ __volatile__("" ::: "memory");
    } while ((v & 1) || v != p->version);
    return ns_base + scale(tsc - tsc_base, mul, shift);
}
