/*
 * What every benchmark shares: the quick mode.  With PVL_BENCH_QUICK set
 * (to anything but 0), a benchmark runs one short pass of every row, to
 * prove it still builds, runs and computes the right thing (`make
 * bench-smoke`, in CI); its figures then mean nothing.  `make bench` is
 * the full run.
 */
#ifndef PVL_BENCH_H
#define PVL_BENCH_H

#include <stdlib.h>

static inline int bench_quick(void)
{
    const char *q = getenv("PVL_BENCH_QUICK");
    return q && *q && *q != '0';
}

/* (full) repetitions, or (quick) in quick mode. */
static inline int bench_reps(int full, int quick)
{
    return bench_quick() ? quick : full;
}

#endif
