/*
 * Request latency of a server-shaped program while its sites are re-linked
 * live 100 times a second (issue 11, item 9).  Not a test: `make bench`.
 *
 * Worker threads serve requests back to back: a request runs 20 rounds of
 * two sites (a call op, hash, and a three-instruction inline op, mix) and
 * some plain work, about 10 us in all, and checks its result against a
 * reference computed without sites (every provider computes the same
 * function, so any result other than the reference is wrong).  Other
 * threads sit in epoll_wait on a timerfd that fires every 20 ms, as a
 * server's idle connections would, and count EINTR.  A linker thread
 * re-links every 10 ms, alternating between two providers:
 *
 *   none          no linking: the reference row
 *   call<->call   only hash changes, one call for another: no signal round
 *   inline        mix changes between three instructions and one: each
 *                 link runs a round that signals the running workers
 *
 * Each configuration runs RUNS times for SECONDS, interleaved; the table
 * gives medians over the runs of each run's p50, p99 and p99.9 request
 * latency, the p99 ratio to the no-linking run of the same repetition,
 * EINTR in the epoll threads, and the links' signals and traps.
 *
 *   bench_server [workers] [runs] [seconds]    (defaults: CPUs-1, 5, 1.0;
 *                                               PVL_BENCH_QUICK: 1 run of 0.2 s)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <pvlink/iface.h>
#include <pvlink/runtime.h>

#include "bench.h"

#define SRV(CALL, INLINE)                                                    \
    CALL(srv, hash, long, (long))                                            \
    INLINE(srv, mix, long, (long), 16,                                       \
           "mov %%rdi, %%rax\n\tshl $3, %%rax\n\tadd %%rdi, %%rax", (flags))
PVL_IFACE(srv, "bench.srv", 1, 0, SRV);

#define CHUNKS 20
#define MAX_WORKERS 8
#define EPOLLERS 4

/* hash: three ways to compute the same thing. */
static long hash_ref(long x)
{
    unsigned long v = (unsigned long)x * 0x9e3779b97f4a7c15ul;
    return (long)(v ^ (v >> 29));
}
long srv_hash_default(long x) { return hash_ref(x); }
static long hash_a(long x) { return hash_ref(x); }
static long hash_b(long x)
{
    unsigned long v = (unsigned long)x * 0x9e3779b97f4a7c15ul;
    return (long)((v >> 29) ^ v);
}

static const struct pvr_op_impl impl_a[] = {PVR_CALL(srv, hash, hash_a)};
static const struct pvr_op_impl impl_b[] = {PVR_CALL(srv, hash, hash_b)};
static const struct pvr_op_impl impl_imul[] = { /* imul $9, %rdi, %rax: 9x, like mix */
    PVR_INLINE(mix, "\x48\x6b\xc7\x09", PVL_CLB(RAX) | PVL_CLB(FLAGS))};
static const struct pvr_provider_desc desc_a = PVR_PROVIDER_DESC("bench.srv", 1, 0, "a", impl_a);
static const struct pvr_provider_desc desc_b = PVR_PROVIDER_DESC("bench.srv", 1, 0, "b", impl_b);
static const struct pvr_provider_desc desc_imul =
    PVR_PROVIDER_DESC("bench.srv", 1, 0, "imul", impl_imul);

/* ------------------------------------------------------------------------
 * Requests.
 */

static long work_iters = 200; /* calibrated for ~10 us */

/* Plain work between the sites, the same in the reference. */
static long grind(long x, long n)
{
    unsigned long v = (unsigned long)x;
    for (long i = 0; i < n; i++)
        v = v * 6364136223846793005ul + 1442695040888963407ul;
    return (long)v;
}

static __attribute__((noinline)) long request(long x)
{
    for (int i = 0; i < CHUNKS; i++)
        x = grind(srv_mix(srv_hash(x)), work_iters);
    return x;
}

static long request_ref(long x)
{
    for (int i = 0; i < CHUNKS; i++)
        x = grind(hash_ref(x) * 9, work_iters);
    return x;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Make a request take about 10 us here. */
static void calibrate(void)
{
    double t[101];

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 101; i++) {
            double t0 = now_us();
            request(i);
            t[i] = now_us() - t0;
        }
        qsort(t, 101, sizeof t[0], cmp_double);
        work_iters = (long)(work_iters * 10.0 / t[50]);
        if (work_iters < 1)
            work_iters = 1;
    }
}

/* ------------------------------------------------------------------------
 * One run: workers, epoll threads, maybe a linker.
 */

struct run {
    int mode;              /* 0 none, 1 call<->call, 2 inline */
    double seconds;
    atomic_int stop;
    /* results */
    double *lat[MAX_WORKERS];
    size_t nlat[MAX_WORKERS], cap;
    atomic_long wrong, eintr, wakeups;
    long links, signals, traps, rounds, failed;
    double link_us[2048];
};

static int nworkers;
static struct pvr_provider *prov[3];

struct wargs {
    struct run *r;
    int id;
};

static void *worker(void *arg)
{
    struct wargs *w = arg;
    struct run *r = w->r;
    long x = w->id * 1000003l;

    while (!atomic_load_explicit(&r->stop, memory_order_relaxed) && r->nlat[w->id] < r->cap) {
        double t0 = now_us();
        long got = request(x);
        r->lat[w->id][r->nlat[w->id]++] = now_us() - t0;
        if (got != request_ref(x))
            atomic_fetch_add(&r->wrong, 1);
        x++;
    }
    return NULL;
}

struct eargs {
    struct run *r;
    int id;
};

static void *epoller(void *arg)
{
    struct eargs *ea = arg;
    struct run *r = ea->r;
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0), ep = epoll_create1(0);
    /* every 20 ms, the threads' ticks spread over the period */
    struct itimerspec its = {{0, 20000000}, {0, 1000000 + 5000000 * (long)ea->id}};
    struct epoll_event ev = {.events = EPOLLIN};
    uint64_t ticks;

    timerfd_settime(tfd, 0, &its, NULL);
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    while (!atomic_load(&r->stop)) {
        int n = epoll_wait(ep, &ev, 1, 1000);
        if (n < 0 && errno == EINTR)
            atomic_fetch_add(&r->eintr, 1);
        else if (n == 1 && read(tfd, &ticks, sizeof ticks) == sizeof ticks)
            atomic_fetch_add(&r->wakeups, 1);
    }
    close(tfd), close(ep);
    return NULL;
}

/* Re-link every 10 ms until the run ends. */
static void *linker(void *arg)
{
    struct run *r = arg;
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct timespec next;
    struct pvr_error e;

    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long k = 0; !atomic_load(&r->stop); k++) {
        struct pvr_report rep = {0};
        const struct pvr_provider *p = r->mode == 1 ? prov[k % 2] : k % 2 ? prov[2] : NULL;
        double t0 = now_us();
        if (pvr_link(&srv_iface, p, &o, &rep, &e) != PVL_OK) {
            if (!r->failed++)
                fprintf(stderr, "bench_server: link: %s\n", e.msg);
        } else if (r->links < 2048) {
            r->link_us[r->links] = now_us() - t0;
        }
        r->links++, r->signals += rep.nsignals, r->traps += rep.ntraps;
        r->rounds += rep.nrounds;
        next.tv_nsec += 10000000;
        if (next.tv_nsec >= 1000000000)
            next.tv_sec++, next.tv_nsec -= 1000000000;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

static void run_once(struct run *r)
{
    pthread_t w[MAX_WORKERS], ep[EPOLLERS], lk;
    struct wargs wa[MAX_WORKERS];
    struct eargs ea[EPOLLERS];
    struct pvr_error e;

    for (int i = 0; i < EPOLLERS; i++) {
        ea[i] = (struct eargs){r, i};
        pthread_create(&ep[i], NULL, epoller, &ea[i]);
    }
    for (int i = 0; i < nworkers; i++) {
        wa[i] = (struct wargs){r, i};
        pthread_create(&w[i], NULL, worker, &wa[i]);
    }
    usleep(50000); /* everyone at work or asleep */
    if (r->mode)
        pthread_create(&lk, NULL, linker, r);
    usleep((useconds_t)(r->seconds * 1e6));
    atomic_store(&r->stop, 1);
    for (int i = 0; i < nworkers; i++)
        pthread_join(w[i], NULL);
    if (r->mode)
        pthread_join(lk, NULL);
    for (int i = 0; i < EPOLLERS; i++)
        pthread_join(ep[i], NULL);
    pvr_unlink(&srv_iface, NULL, NULL, &e);
}

/* ------------------------------------------------------------------------
 * Figures.
 */

struct figures {
    double p50, p99, p999, link_p50;
    long eintr, wrong, requests, links;
    double signals, traps, rounds;
};

static double pct(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return n ? v[i] : 0;
}

static struct figures figures_of(struct run *r)
{
    struct figures f = {0};
    size_t n = 0;
    double *all;

    for (int i = 0; i < nworkers; i++)
        n += r->nlat[i];
    all = malloc((n ? n : 1) * sizeof *all);
    n = 0;
    for (int i = 0; i < nworkers; i++) {
        memcpy(all + n, r->lat[i], r->nlat[i] * sizeof *all);
        n += r->nlat[i];
    }
    qsort(all, n, sizeof *all, cmp_double);
    f.p50 = pct(all, n, 0.5), f.p99 = pct(all, n, 0.99), f.p999 = pct(all, n, 0.999);
    f.requests = (long)n, f.eintr = atomic_load(&r->eintr), f.wrong = atomic_load(&r->wrong);
    f.links = r->links;
    if (r->links) {
        size_t k = (size_t)(r->links < 2048 ? r->links : 2048);
        qsort(r->link_us, k, sizeof r->link_us[0], cmp_double);
        f.link_p50 = pct(r->link_us, k, 0.5);
        f.signals = (double)r->signals / r->links, f.traps = (double)r->traps / r->links;
        f.rounds = (double)r->rounds / r->links;
    }
    free(all);
    return f;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* CPU model, CPUs, kernel. */
static void machine(void)
{
    char line[256], model[200] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    struct utsname u;

    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    uname(&u);
    printf("Machine: %s, %ld CPUs, kernel %s\n\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           u.release);
}

static const char *const mode_names[3] = {
    "none", "call<->call (one instruction: no round)",
    "inline: 3 instructions <-> 1 (a round)"};

int main(int argc, char **argv)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int runs = argc > 2 ? atoi(argv[2]) : bench_reps(5, 1);
    double seconds = argc > 3 ? atof(argv[3]) : bench_quick() ? 0.2 : 1.0;
    long failed = 0;
    static struct figures fig[3][32];
    struct pvr_error e;
    size_t cap;

    nworkers = argc > 1 ? atoi(argv[1]) : (int)(ncpu > 1 ? ncpu - 1 : 1);
    nworkers = nworkers < 1 ? 1 : nworkers > MAX_WORKERS ? MAX_WORKERS : nworkers;
    runs = runs < 1 ? 1 : runs > 32 ? 32 : runs;
    prov[0] = pvr_provider_table(&desc_a, &srv_iface, &e);
    prov[1] = pvr_provider_table(&desc_b, &srv_iface, &e);
    prov[2] = pvr_provider_table(&desc_imul, &srv_iface, &e);
    if (!prov[0] || !prov[1] || !prov[2]) {
        fprintf(stderr, "bench_server: %s\n", e.msg);
        return 1;
    }
    calibrate();
    cap = (size_t)(seconds * 1e6 / 2) + 1000; /* requests take ~10 us */
    for (int k = 0; k < runs; k++)
        for (int m = 0; m < 3; m++) {
            struct run *r = calloc(1, sizeof *r);
            r->mode = m, r->seconds = seconds, r->cap = cap;
            for (int i = 0; i < nworkers; i++)
                r->lat[i] = malloc(cap * sizeof(double));
            run_once(r);
            fig[m][k] = figures_of(r);
            failed += r->failed + fig[m][k].wrong;
            for (int i = 0; i < nworkers; i++)
                free(r->lat[i]);
            free(r);
        }
    printf("## Request latency while re-linking 100 times a second\n\n");
    machine();
    printf("%d worker%s serving requests of ~10 us (20 x a call site and a 3-instruction "
           "inline site, %ld iterations of work), %d threads in epoll_wait (a timerfd every "
           "20 ms); medians of %d runs of %.1f s each, configurations interleaved.\n\n",
           nworkers, nworkers == 1 ? "" : "s", work_iters, EPOLLERS, runs, seconds);
    printf("| re-linking | p50 | p99 | p99.9 | p99 / none | EINTR | wrong | rounds/link | "
           "signals/link | traps/link | link time p50 |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int m = 0; m < 3; m++) {
        double p50[32], p99[32], p999[32], ratio[32], sig[32], trp[32], rnd[32], lk[32];
        long eintr = 0, wrong = 0;
        for (int k = 0; k < runs; k++) {
            struct figures *f = &fig[m][k];
            p50[k] = f->p50, p99[k] = f->p99, p999[k] = f->p999;
            ratio[k] = f->p99 / fig[0][k].p99, sig[k] = f->signals, trp[k] = f->traps;
            rnd[k] = f->rounds, lk[k] = f->link_p50;
            eintr += f->eintr, wrong += f->wrong;
        }
        printf("| %s | %.1f us | %.1f us | %.1f us | %.2f | %ld | %ld |", mode_names[m],
               median(p50, runs), median(p99, runs), median(p999, runs),
               median(ratio, runs), eintr, wrong);
        if (m)
            printf(" %.2f | %.2f | %.1f | %.0f us |\n", median(rnd, runs), median(sig, runs),
                   median(trp, runs), median(lk, runs));
        else
            printf(" - | - | - | - |\n");
    }
    return failed ? 1 : 0;
}
