/*
 * bench_spt PVLINK_SPT KERNEL: the reference kernel as a process, with its
 * operations linked to pvlink-spt's ROM and trapped, side by side.
 *
 *   1. each operation a workload isolates, trapped (its native instruction,
 *      emulated after a signal) vs linked (inline, or a call through the
 *      gate), in ns per operation;
 *   2. each workload with the ROM vs with every action the ROM does not
 *      require forced native (so that it traps), in ns per iteration;
 *   3. boot to SUCCESS (selftest), wall time of the whole process.
 *
 * The workloads time themselves with the TSC (their line gives cycles);
 * this program measures the TSC's rate.  Every configuration runs once per
 * round, in the same order, for (rounds) rounds; each figure is the
 * median over the rounds.  Rows are markdown tables the README can carry.
 * PVL_BENCH_QUICK: one round, small counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define MAX_ROUNDS 32
#define OUT_MAX (8 << 20) /* the log workload prints its lines */

static const char all_native[] = "every non-required action native";
#define ALL_NATIVE all_native

/* One configuration: a command, policies, and its figure per round. */
struct conf {
    const char *work;      /* workload name, or "selftest" */
    unsigned long n, quick; /* iterations, full and quick */
    const char *policy;    /* NULL: the ROM's choices; ALL_NATIVE; or OP=ACTION */
    double v[MAX_ROUNDS];  /* ns per iteration (or per boot) */
};

static struct conf confs[] = {
    {"irq", 2000000, 2000, NULL, {0}},
    {"irq", 20000, 200, "irq_disable=native", {0}},
    {"irq", 20000, 200, ALL_NATIVE, {0}},
    {"io", 1000000, 1000, NULL, {0}},
    {"io", 200000, 200, "io_delay=call", {0}},
    {"io", 20000, 200, ALL_NATIVE, {0}},
    {"clock", 200000, 200, NULL, {0}},
    {"clock", 5000, 100, ALL_NATIVE, {0}},
    {"log", 20000, 20, NULL, {0}},
    {"log", 500, 10, ALL_NATIVE, {0}},
    {"mmu", 20000, 64, NULL, {0}},
    {"mmu", 2000, 64, ALL_NATIVE, {0}},
    {"selftest", 1, 1, NULL, {0}},
    {"selftest", 1, 1, ALL_NATIVE, {0}},
};
#define NCONF (sizeof confs / sizeof confs[0])

static const char *spt, *kernel;
static double ns_per_cycle;

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned long long tsc(void)
{
    unsigned lo, hi;

    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (unsigned long long)hi << 32 | lo;
}

/* The TSC's period, over 100 ms. */
static double calibrate(void)
{
    double t0 = now_s(), t1;
    unsigned long long c0 = tsc(), c1;

    do
        t1 = now_s(), c1 = tsc();
    while (t1 - t0 < 0.1);
    return (t1 - t0) * 1e9 / (double)(c1 - c0);
}

/* Run pvlink-spt with (argv); its standard output in (out).  Returns the
 * exit status, or -1. */
static int run(const char *const *argv, char *out, size_t cap)
{
    posix_spawn_file_actions_t fa;
    int p[2], st;
    size_t len = 0;
    ssize_t k;
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    while ((k = read(p[0], out + len, cap - 1 - len)) > 0 || (k < 0 && errno == EINTR))
        len += k > 0 ? (size_t)k : 0;
    out[len] = 0;
    close(p[0]);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One run of (c): ns per iteration, or per boot for selftest. */
static double measure(const struct conf *c, char *out)
{
    static char n[32];
    const char *argv[16];
    const char *p;
    int k = 0;
    double t0, t1;

    argv[k++] = spt;
    if (c->policy) { /* every operation the ROM does not require, or one */
        argv[k++] = "--policy";
        argv[k++] = c->policy == ALL_NATIVE ? "all=native" : c->policy;
    }
    argv[k++] = kernel;
    argv[k++] = "--";
    argv[k++] = c->work;
    unsigned long iters = bench_quick() ? c->quick : c->n;
    snprintf(n, sizeof n, "%lu", iters);
    if (strcmp(c->work, "selftest"))
        argv[k++] = n;
    argv[k] = NULL;
    t0 = now_s();
    if (run(argv, out, OUT_MAX) != 0) {
        fprintf(stderr, "bench_spt: %s %s (%s) failed:\n%s\n", c->work, n,
                c->policy ? c->policy : "ROM", out);
        exit(1);
    }
    t1 = now_s();
    if (!strcmp(c->work, "selftest")) {
        if (!strstr(out, "\nSUCCESS\n")) {
            fprintf(stderr, "bench_spt: selftest did not succeed:\n%s\n", out);
            exit(1);
        }
        return (t1 - t0) * 1e9;
    }
    /* "<work>: <n> <what>, <cycles> cycles" */
    char key[64];
    snprintf(key, sizeof key, "\n%s: %lu ", c->work, iters);
    if (!(p = strstr(out, key)) || !(p = strstr(p, " cycles"))) {
        fprintf(stderr, "bench_spt: no result line for %s:\n%s\n", c->work, out);
        exit(1);
    }
    while (p > out && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtod(p, NULL) * ns_per_cycle / (double)iters;
}

/* The machine, named. */
static void machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256], model[200] = "unknown CPU";

    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    printf("Machine: %s, %ld CPUs; TSC %.3f GHz (measured)\n\n", model,
           sysconf(_SC_NPROCESSORS_ONLN), 1.0 / ns_per_cycle);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const struct conf *c, int rounds)
{
    double v[MAX_ROUNDS];

    memcpy(v, c->v, sizeof v[0] * (size_t)rounds);
    qsort(v, (size_t)rounds, sizeof v[0], by_value);
    return rounds % 2 ? v[rounds / 2] : (v[rounds / 2 - 1] + v[rounds / 2]) / 2;
}

static const struct conf *find(const char *work, const char *policy)
{
    for (size_t i = 0; i < NCONF; i++)
        if (!strcmp(confs[i].work, work) &&
            (confs[i].policy == policy ||
             (policy && confs[i].policy && !strcmp(policy, confs[i].policy))))
            return &confs[i];
    abort();
}

/* "12x", or "1.3x" below 10. */
static const char *ratio(double a, double b)
{
    static char buf[4][16];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], a / b < 10 ? "%.1fx" : "%.0fx", a / b);
    return buf[i];
}

static void print_ops(int r)
{
    double seq = median(find("irq", NULL), r), dis = median(find("irq", "irq_disable=native"), r);

    printf("| operation | trapped: native code, emulated | ns/op | linked | ns/op | ratio |\n");
    printf("|---|---|---:|---|---:|---:|\n");
    /* the sequence save_fl, irq_disable, restore_fl: only irq_disable
     * differs between the two; inline, each is taken as a third of it */
    printf("| irq_disable | cli | %.1f | inline movb | %.2f | %s |\n", dis - seq + seq / 3,
           seq / 3, ratio(dis - seq + seq / 3, seq / 3));
    double io_t = median(find("io", ALL_NATIVE), r), io_c = median(find("io", "io_delay=call"), r);
    double io_n = median(find("io", NULL), r);
    printf("| io_delay | out to port 0x80 | %.1f | call through the gate | %.1f | %s |\n", io_t,
           io_c, ratio(io_t, io_c));
    printf("| io_delay | out to port 0x80 | %.1f | NOPs (the ROM's choice) | %.2f | %s |\n", io_t,
           io_n, ratio(io_t, io_n));
    double ck_t = median(find("clock", ALL_NATIVE), r), ck_c = median(find("clock", NULL), r);
    printf("| clock_read | PIT latch and reads (port I/O) | %.1f | call through the gate | %.1f | "
           "%s |\n", ck_t, ck_c, ratio(ck_t, ck_c));
    double lg_t = median(find("log", ALL_NATIVE), r), lg_c = median(find("log", NULL), r);
    printf("| console_write, 64 bytes | COM1, a byte at a time (port I/O) | %.0f | call through "
           "the gate | %.0f | %s |\n", lg_t, lg_c, ratio(lg_t, lg_c));
}

static void print_works(int r)
{
    static const char *const what[] = {"irq", "save_fl, irq_disable, restore_fl", "io", "io_delay",
                                       "clock", "clock_read", "log", "a 64-byte console line",
                                       "mmu", "map, touch and unmap a page"};

    printf("| workload | one iteration | ROM (ns) | every non-required action native (ns) | "
           "ratio |\n|---|---|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof what / sizeof what[0]; i += 2) {
        double rom = median(find(what[i], NULL), r), nat = median(find(what[i], ALL_NATIVE), r);
        printf("| %s | %s | %.1f | %.1f | %s |\n", what[i], what[i + 1], rom, nat, ratio(nat, rom));
    }
}

static void print_boot(int r)
{
    double rom = median(find("selftest", NULL), r);
    double nat = median(find("selftest", ALL_NATIVE), r);

    printf("| boot to SUCCESS (selftest), whole process | ROM | %.1f ms | every non-required "
           "action native | %.1f ms |\n|---|---|---:|---|---:|\n", rom / 1e6, nat / 1e6);
}

int main(int argc, char **argv)
{
    static char out[OUT_MAX];
    int rounds = bench_reps(11, 1);

    if (argc != 3) {
        fprintf(stderr, "usage: bench_spt PVLINK_SPT KERNEL\n");
        return 2;
    }
    spt = argv[1], kernel = argv[2];
    ns_per_cycle = calibrate();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < NCONF; i++)
            confs[i].v[r] = measure(&confs[i], out);
    printf("## pvlink-spt: trapped vs linked (medians of %d rounds, side by side)\n\n", rounds);
    machine();
    print_ops(rounds);
    printf("\n");
    print_works(rounds);
    printf("\n");
    print_boot(rounds);
    return 0;
}
