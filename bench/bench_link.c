/*
 * Linking speed: sites linked per second for 10,000 and 1,000,000 sites
 * generated at run time in an executable mapping, at start-up (one thread:
 * direct writes) and live (the breakpoint protocol, while two threads run
 * the sites); the latency of one live re-link of 1,000 sites while two
 * threads run them; and the core planner alone (a dry run) for reference.
 *
 * The generated code is one function: n sites of 5 bytes, each natively
 * `mov $1, %eax`, then `ret`.  Two providers inline `mov $2, %eax` and
 * `mov $3, %eax`; each measured link re-links every site from one to the
 * other.  Runner threads call the function and check that it returns 1, 2
 * or 3.  Medians of repeated runs (wall clock, CLOCK_MONOTONIC).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <pvlink/runtime.h>

#include "bench.h"

#define ROOM 5

static const struct pvl_op_info gen_ops[1] = {{"val", ROOM, PVL_OP_RESULT, 0, PVL_CLB(RAX), 0, 0}};
static const struct pvl_iface gen_iface = {"bench.gen", 1, 0, 1, gen_ops};

static const struct pvr_op_impl impl_two[] = {PVR_INLINE(val, "\xb8\x02\x00\x00\x00", PVL_CLB(RAX))};
static const struct pvr_op_impl impl_three[] = {PVR_INLINE(val, "\xb8\x03\x00\x00\x00", PVL_CLB(RAX))};
static const struct pvr_provider_desc desc_two = PVR_PROVIDER_DESC("bench.gen", 1, 0, "two", impl_two);
static const struct pvr_provider_desc desc_three = PVR_PROVIDER_DESC("bench.gen", 1, 0, "three", impl_three);

/* ------------------------------------------------------------------------
 * Generated code: [descriptor][text: n sites, ret][orig copies][records]
 */

struct gen {
    uint8_t *mem;
    size_t len, n;
    struct pvl_site *sites;
    long (*fn)(void);
};

static size_t up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

static void gen_make(struct gen *g, size_t n)
{
    size_t text = 64, orig = up(text + n * ROOM + 1, 64), recs = up(orig + n * ROOM, 64);
    static const uint8_t mov1[ROOM] = {0xb8, 1, 0, 0, 0};
    struct pvl_iface_desc *d;

    g->n = n, g->len = up(recs + n * sizeof(struct pvl_site), 4096);
    g->mem = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->mem == MAP_FAILED)
        exit(1);
    d = (struct pvl_iface_desc *)g->mem;
    *d = (struct pvl_iface_desc){PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                 "bench.gen", 1, 0, 1};
    g->sites = (struct pvl_site *)(g->mem + recs);
    for (size_t i = 0; i < n; i++) {
        uint8_t *at = g->mem + text + i * ROOM, *o = g->mem + orig + i * ROOM;
        struct pvl_site *s = &g->sites[i];
        memcpy(at, mov1, ROOM);
        memcpy(o, mov1, ROOM);
        s->addr = (int32_t)(at - (uint8_t *)&s->addr);
        s->orig = (int32_t)(o - (uint8_t *)&s->orig);
        s->target = 0;
        s->iface = (int32_t)((uint8_t *)d - (uint8_t *)&s->iface);
        s->clobbers = PVL_CLB(RAX), s->op = 0, s->room = ROOM, s->flags = 0;
    }
    g->mem[text + n * ROOM] = 0xc3; /* ret */
    mprotect(g->mem, g->len, PROT_READ | PROT_EXEC);
    *(void **)&g->fn = g->mem + text;
}

static void gen_register(struct gen *g)
{
    struct pvr_error e;
    if (pvr_region_register("generated", g->sites, g->n, (uintptr_t)g->mem,
                            (uintptr_t)g->mem + g->len, PROT_READ | PROT_EXEC, &e) != PVL_OK) {
        fprintf(stderr, "bench_link: %s\n", e.msg);
        exit(1);
    }
}

static void gen_free(struct gen *g)
{
    pvr_region_unregister(g->sites);
    munmap(g->mem, g->len);
}

/* ------------------------------------------------------------------------
 * Runner threads.
 */

static atomic_int stop_runners;
static atomic_long runs, wrong;

static void *runner(void *arg)
{
    long (*fn)(void) = (long (*)(void))arg;
    while (!atomic_load_explicit(&stop_runners, memory_order_relaxed)) {
        long v = fn();
        atomic_fetch_add_explicit(&runs, 1, memory_order_relaxed);
        if (v < 1 || v > 3)
            atomic_fetch_add(&wrong, 1);
    }
    return NULL;
}

static pthread_t runners[2];

static void runners_start(struct gen *g)
{
    atomic_store(&stop_runners, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&runners[i], NULL, runner, (void *)g->fn);
}

static void runners_stop(void)
{
    atomic_store(&stop_runners, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(runners[i], NULL);
}

/* ------------------------------------------------------------------------
 * Measurements.
 */

static struct pvr_provider *two, *three;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds of (reps) links alternating between the providers; sorted. */
static void time_links(unsigned flags, int reps, double *t, size_t expect)
{
    struct pvr_link_opts o = {.flags = flags};
    struct pvr_report rep = {0};
    struct pvr_error e;

    static unsigned turn; /* alternate across calls too */

    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        pvl_result res = pvr_link(&gen_iface, turn++ % 2 ? two : three, &o, &rep, &e);
        t[r] = now_s() - t0;
        if (res != PVL_OK || (!(flags & PVR_LINK_DRY_RUN) && rep.nchanged != expect)) {
            fprintf(stderr, "bench_link: %s (changed %u of %zu; sites %u other %u refused %u "
                    "objects %u)\n", e.msg, rep.nchanged, expect, rep.nsites, rep.nother,
                    rep.nrefused, rep.nobjects);
            exit(1);
        }
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
}

static const char *only; /* argv[1]: run only the rows whose mode contains it */

static void row(const char *what, size_t n, unsigned flags, int reps, int threads)
{
    struct gen g;
    double t[64];

    if ((only && !strstr(what, only)) || (bench_quick() && n > 10000))
        return;
    reps = bench_reps(reps, 3);
    gen_make(&g, n);
    gen_register(&g);
    if (threads)
        runners_start(&g);
    time_links(flags, 1, t, n); /* first link: pages copied on write, tables grown */
    time_links(flags, reps, t, n);
    if (threads)
        runners_stop();
    printf("| %s | %zu | %d | %.1f ms | %.2f M/s | %.2f M/s |\n", what, n, reps,
           t[reps / 2] * 1e3, n / t[reps / 2] / 1e6, n / t[0] / 1e6);
    gen_free(&g);
}

static void latency(void)
{
    enum { N = 1000, FULL = 301 };
    static double t[FULL];
    const int reps = bench_reps(FULL, 5);
    struct gen g;
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_error e;

    gen_make(&g, N);
    gen_register(&g);
    runners_start(&g);
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        if (pvr_link(&gen_iface, r % 2 ? two : three, &o, NULL, &e) != PVL_OK) {
            fprintf(stderr, "bench_link: %s\n", e.msg);
            exit(1);
        }
        t[r] = now_s() - t0;
    }
    runners_stop();
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    printf("\n## Latency of one live re-link of %d sites while 2 threads run them "
           "(%d re-links)\n\n| median | p10 | p90 | max |\n|---:|---:|---:|---:|\n"
           "| %.0f us | %.0f us | %.0f us | %.0f us |\n", N, reps, t[reps / 2] * 1e6,
           t[reps / 10] * 1e6, t[reps * 9 / 10] * 1e6, t[reps - 1] * 1e6);
    gen_free(&g);
}

int main(int argc, char **argv)
{
    struct pvr_error e;

    only = argc > 1 ? argv[1] : NULL;
    two = pvr_provider_table(&desc_two, &gen_iface, &e);
    three = pvr_provider_table(&desc_three, &gen_iface, &e);
    if (!two || !three) {
        fprintf(stderr, "bench_link: %s\n", e.msg);
        return 1;
    }
    printf("## Sites linked per second (every site re-linked by each link; median and "
           "best of the runs)\n\n");
    printf("| mode | sites | runs | median time | median rate | best rate |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    row("plan only (core, dry run)", 10000, PVR_LINK_DRY_RUN | PVR_LINK_STOPPED, 21, 0);
    row("plan only (core, dry run)", 1000000, PVR_LINK_DRY_RUN | PVR_LINK_STOPPED, 7, 0);
    row("start-up: direct, mprotect", 10000, PVR_LINK_STOPPED, 21, 0);
    row("start-up: direct, mprotect", 1000000, PVR_LINK_STOPPED, 7, 0);
    row("start-up: direct, /proc/self/mem", 10000, PVR_LINK_STOPPED | PVR_LINK_PROCMEM, 21, 0);
    row("start-up: direct, /proc/self/mem", 1000000, PVR_LINK_STOPPED | PVR_LINK_PROCMEM, 7, 0);
    row("live, 2 threads running them", 10000, PVR_LINK_LIVE, 21, 1);
    row("live, 2 threads running them", 1000000, PVR_LINK_LIVE, 7, 1);
    row("live, /proc/self/mem, 2 threads", 10000, PVR_LINK_LIVE | PVR_LINK_PROCMEM, 21, 1);
    if (!only)
        latency();
    printf("\nRunner threads: %ld calls of the generated function, %ld wrong results\n",
           atomic_load(&runs), atomic_load(&wrong));
    return atomic_load(&wrong) ? 1 : 0;
}
