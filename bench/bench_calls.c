/*
 * Cost of one call, side by side in one run: plain inline code, a plain
 * direct call, a pvlink site linked inline, a pvlink site linked as a
 * call, an indirect call, the same with retpolines, a GNU IFUNC through
 * the PLT; and the unlinked sites for reference.  Each variant runs CALLS
 * dependent calls (acc = op(acc, i)) per sample; variants are interleaved,
 * REPS samples each, TSC cycles per call (lfence; rdtsc ... rdtscp; lfence),
 * median reported.  Instructions per call are counted exactly by
 * single-stepping a child process with ptrace: (count(2N) - count(N)) / N.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <pvlink/runtime.h>

#include "bench.h"
#include "bench_ops.h"

#define CALLS 1000
#define REPS 3001

/* ------------------------------------------------------------------------
 * The functions called and the variants.
 */

long bench_fn_default(long a, long b) { return a + b; }
__attribute__((noinline)) long bench_add1(long a, long b) { return a + b + 1; }
long (*volatile bench_fp)(long, long) = bench_add1;

/* Exactly the site's asm statement, without the site. */
static inline long plain_lea1(long a, long b)
{
    register long rdi __asm__("rdi") = a, rsi __asm__("rsi") = b;
    long r;
    __asm__ __volatile__("lea 1(%%rdi,%%rsi), %%rax" : "=a"(r) : "r"(rdi), "r"(rsi) : "cc");
    return r;
}

#define RUN(name, expr)                                                      \
    __attribute__((noinline)) static long run_##name(long n)                 \
    {                                                                        \
        long acc = 0;                                                        \
        for (long i = 0; i < n; i++)                                         \
            acc = expr;                                                      \
        return acc;                                                          \
    }

RUN(plain_inline, plain_lea1(acc, i))
RUN(direct_call, bench_add1(acc, i))
RUN(site_inline, bench_inl(acc, i))
RUN(site_call, bench_fn(acc, i))
RUN(indirect, bench_fp(acc, i))
RUN(ifunc_plt, ifunc_add1(acc, i))

/* The same sites kept native (the policy leaves this section alone). */
#define RUN_NATIVE(name, expr)                                               \
    __attribute__((noinline, section("text_native"))) static long run_##name(long n) \
    {                                                                        \
        long acc = 0;                                                        \
        for (long i = 0; i < n; i++)                                         \
            acc = expr;                                                      \
        return acc;                                                          \
    }
RUN_NATIVE(native_inline, bench_inl(acc, i))
RUN_NATIVE(native_call, bench_fn(acc, i))
extern const char __start_text_native[], __stop_text_native[];

static const struct variant {
    const char *name;
    bench_run_fn run;
    int base; /* index of the variant it is compared with, or -1 */
} variants[] = {
    {"plain inline code (lea)", run_plain_inline, -1},
    {"pvlink site linked inline", run_site_inline, 0},
    {"plain direct call", run_direct_call, -1},
    {"pvlink site linked as a call", run_site_call, 2},
    {"the same, bare call form (no red-zone step, no alignment; -mno-red-zone)",
     run_site_call_bare, 2},
    {"indirect call (function pointer)", run_indirect, 2},
    {"indirect call, retpoline", run_retpoline, 2},
    {"GNU IFUNC through the PLT", run_ifunc_plt, 2},
    {"pvlink site, native (lea + nop)", run_native_inline, 0},
    {"pvlink site, native (call default)", run_native_call, 2},
};
#define NV (sizeof variants / sizeof variants[0])

/* ------------------------------------------------------------------------
 * Linking: the provider inlines lea 1(%rdi,%rsi),%rax and calls bench_add1.
 */

static const struct pvr_op_impl impls[] = {
    PVR_INLINE(inl, "\x48\x8d\x44\x37\x01", PVL_CLB(RAX)),
    PVR_CALL(bench, fn, bench_add1),
};
static const struct pvr_provider_desc prov = PVR_PROVIDER_DESC("bench.ops", 1, 0, "bench", impls);

static int keep_native(void *ctx, const struct pvr_site *s, int proposed)
{
    (void)ctx;
    if (s->info.addr >= (uintptr_t)__start_text_native &&
        s->info.addr < (uintptr_t)__stop_text_native)
        return PVL_ACT_NATIVE;
    return proposed;
}

static void link_or_die(void)
{
    struct pvr_error e;
    struct pvr_link_opts o = {.policy = keep_native};
    struct pvr_provider *p = pvr_provider_table(&prov, &bench_iface, &e);

    if (!p || pvr_link(&bench_iface, p, &o, NULL, &e) != PVL_OK) {
        fprintf(stderr, "bench_calls: %s\n", e.msg);
        exit(1);
    }
}

/* ------------------------------------------------------------------------
 * Cycles.
 */

static inline uint64_t tsc_begin(void)
{
    _mm_lfence();
    return __rdtsc();
}

static inline uint64_t tsc_end(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure_cycles(double *median)
{
    static double cyc[NV][REPS];
    volatile long sink = 0;
    int reps = bench_reps(REPS, 5);

    for (int warm = 0; warm < bench_reps(50, 1); warm++)
        for (size_t v = 0; v < NV; v++)
            sink += variants[v].run(CALLS);
    for (int r = 0; r < reps; r++)
        for (size_t v = 0; v < NV; v++) {
            uint64_t t0 = tsc_begin();
            sink += variants[v].run(CALLS);
            uint64_t t1 = tsc_end();
            cyc[v][r] = (double)(t1 - t0) / CALLS;
        }
    for (size_t v = 0; v < NV; v++) {
        qsort(cyc[v], (size_t)reps, sizeof cyc[v][0], cmp_double);
        median[v] = cyc[v][reps / 2];
    }
    (void)sink;
}

/* ------------------------------------------------------------------------
 * Instructions: a child runs `int3; run(n); int3` per request; the parent
 * single-steps between the two traps.
 */

static void child_loop(int rd)
{
    int req[2];
    while (read(rd, req, sizeof req) == sizeof req) {
        __asm__ __volatile__("int3");
        variants[req[0]].run(req[1]);
        __asm__ __volatile__("int3");
    }
    _exit(0);
}

/* Steps from the first int3 to the second. */
static long count_steps(pid_t pid)
{
    int st;
    long steps = 0;
    siginfo_t si;

    ptrace(PTRACE_CONT, pid, 0, 0); /* to the first int3 */
    waitpid(pid, &st, 0);
    for (;;) {
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
        waitpid(pid, &st, 0);
        if (!WIFSTOPPED(st))
            return -1;
        ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
        if (si.si_code == SI_KERNEL) /* the second int3 */
            return steps;
        steps++;
    }
}

static void count_instructions(double *per_call)
{
    int fd[2], st;
    pid_t pid;

    if (pipe(fd) != 0)
        exit(1);
    if ((pid = fork()) == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        child_loop(fd[0]);
    }
    waitpid(pid, &st, 0);
    int calls = bench_reps(CALLS, 20);
    for (size_t v = 0; v < NV; v++) {
        long c[2];
        for (int k = 0; k < 2; k++) {
            int req[2] = {(int)v, calls * (k + 1)};
            if (write(fd[1], req, sizeof req) != sizeof req)
                exit(1);
            c[k] = count_steps(pid);
        }
        per_call[v] = (double)(c[1] - c[0]) / calls;
    }
    close(fd[1]);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* ------------------------------------------------------------------------
 * Report.
 */

static void cpu_model(char *buf, size_t n)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(buf, n, "unknown");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(buf, n, "%s", strchr(line, ':') + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
}

int main(void)
{
    double cyc[NV], ins[NV];
    char cpu[128];

    link_or_die();
    for (size_t v = 0; v < NV; v++) /* every variant computes the same thing */
        if (v > 0 && variants[v].run(100) != variants[0].run(100) && v < 8) {
            fprintf(stderr, "bench_calls: %s computes %ld, not %ld\n", variants[v].name,
                    variants[v].run(100), variants[0].run(100));
            return 1;
        }
    count_instructions(ins);
    measure_cycles(cyc);
    cpu_model(cpu, sizeof cpu);
    printf("## Cost per call (%s; %d calls per sample, median of %d samples, "
           "variants interleaved)\n\n", cpu, CALLS, bench_reps(REPS, 5));
    printf("| variant | TSC cycles/call | ratio | instructions/call |\n");
    printf("|---|---:|---:|---:|\n");
    for (size_t v = 0; v < NV; v++) {
        char ratio[64] = "";
        if (variants[v].base >= 0)
            snprintf(ratio, sizeof ratio, "%.3f x %s", cyc[v] / cyc[variants[v].base],
                     variants[v].base == 0 ? "inline" : "direct");
        printf("| %s | %.2f | %s | %.2f |\n", variants[v].name, cyc[v], ratio, ins[v]);
    }
    printf("\nTargets: site linked inline executes as many instructions as plain inline "
           "code: %s (%.2f vs %.2f); within 2%% of its cycles: %s (%+.1f%%); the bare call "
           "form within 5%% of a direct call: %s (%+.1f%%).  The call form <pvlink/iface.h> "
           "emits (safe in code built with any flags) costs %+.2f cycles and %+.0f "
           "instructions per call more than the bare form (%+.1f%% over a direct call)\n",
           ins[1] == ins[0] ? "met" : "MISSED", ins[1], ins[0],
           cyc[1] <= cyc[0] * 1.02 ? "met" : "MISSED", (cyc[1] / cyc[0] - 1) * 100,
           cyc[4] <= cyc[2] * 1.05 ? "met" : "MISSED", (cyc[4] / cyc[2] - 1) * 100,
           cyc[3] - cyc[4], ins[3] - ins[4], (cyc[3] / cyc[2] - 1) * 100);
    return 0;
}
