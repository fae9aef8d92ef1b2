#include <dlfcn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"
#include "rt_one.h"

/* ------------------------------------------------------------------------
 * The program's defaults and sites.
 */

static long noted;

long rt_add_default(long a, long b) { return a + b; }
void rt_note_default(long v) { noted = v; }

__attribute__((noinline)) long exe_add(long a, long b) { return rt_add(a, b); }
__attribute__((noinline)) long exe_twice(long a) { return rt_twice(a); }
__attribute__((noinline)) long exe_mix(long a, long b) { return rt_mix(a, b); }
__attribute__((noinline)) void exe_note(long v) { rt_note(v); }
long exe_noted(void) { return noted; }

void exe_sites(const struct pvl_site **start, const struct pvl_site **stop)
{
    *start = __start_pvlink_sites;
    *stop = __stop_pvlink_sites;
}

/* ------------------------------------------------------------------------
 * Providers A and B.  twice and mix allow only rax and the flags: their
 * sites may not become calls (a call writes its return address below the
 * stack pointer, where the calling code may keep its red zone), so B
 * inlines them.  rt_b_twice is a call entry written in assembly that
 * changes only rax, for the test that it is refused there anyway.
 */

long rt_b_twice(long a);
long rt_b_mix(long a, long b);
__asm__(".text\n"
        ".globl rt_b_twice\n.type rt_b_twice, @function\n"
        "rt_b_twice:\n\tlea 0(,%rdi,4), %rax\n\tret\n"
        ".size rt_b_twice, .-rt_b_twice\n"
        ".globl rt_b_mix\n.type rt_b_mix, @function\n"
        "rt_b_mix:\n\tmov %rdi, %rax\n\timul %rsi, %rax\n\tret\n"
        ".size rt_b_mix, .-rt_b_mix\n");

static long a_noted;
static long rt_a_add(long a, long b) { return a + b + 1000; }
static void rt_a_note(long v) { a_noted = -v; }

#define SAVER (PVL_CLB(RAX) | PVL_CLB(FLAGS))
#define T_A_TWICE "\x48\x8d\x04\x7f"                         /* lea (%rdi,%rdi,2),%rax */
#define T_A_MIX "\x48\x89\xf0\x48\x01\xf8\x48\x01\xf8"       /* rsi + rdi + rdi */
#define T_B_ADD "\x48\x8d\x44\x37\x07"                       /* lea 7(%rdi,%rsi),%rax */
#define T_B_TWICE "\x48\x6b\xc7\x04"                         /* imul $4,%rdi,%rax */
#define T_B_MIX "\x48\x89\xf8\x48\x0f\xaf\xc6"                 /* rdi * rsi */
#define T_SO_MIX "\x48\x89\xf8\x48\x29\xf0"                  /* rdi - rsi */

static const struct pvr_op_impl impl_a[] = {
    PVR_CALL(rt, add, rt_a_add),
    PVR_CALL(rt, note, rt_a_note),
    PVR_INLINE(twice, T_A_TWICE, SAVER),
    PVR_INLINE(mix, T_A_MIX, SAVER),
};
static const struct pvr_op_impl impl_b[] = {
    PVR_INLINE(add, T_B_ADD, PVL_CLB(RAX)),
    PVR_INLINE(twice, T_B_TWICE, SAVER),
    PVR_INLINE(mix, T_B_MIX, SAVER),
};
const struct pvr_provider_desc rt_desc_a = PVR_PROVIDER_DESC("pvlink.rt", 1, 2, "rt-a", impl_a);
const struct pvr_provider_desc rt_desc_b = PVR_PROVIDER_DESC("pvlink.rt", 1, 0, "rt-b", impl_b);

/* ------------------------------------------------------------------------
 * Expectations.
 */

long rt_expect(int st, int op, long a, long b)
{
    static const long k[NSTATES][rt__NOPS][3] = {
        /* coefficients of a, b and a constant; mul when k = {0,0,-1} */
        [ST_NATIVE] = {{1, 1, 0}, {1, 0, 0}, {2, 0, 0}, {1, 3, 0}},
        [ST_A] = {{1, 1, 1000}, {-1, 0, 0}, {3, 0, 0}, {2, 1, 0}},
        [ST_B] = {{1, 1, 7}, {1, 0, 0}, {4, 0, 0}, {0, 0, -1}},
        [ST_SO] = {{1, -1, 0}, {0, 0, 0}, {2, 0, 0}, {1, -1, 0}},
    };
    const long *c = k[st][op];
    if (c[0] == 0 && c[1] == 0 && c[2] == -1)
        return a * b;
    return c[0] * a + c[1] * b + c[2];
}

static void check_one(const char *where, const char *what, long got, long want)
{
    if (got != want)
        t_fail(__FILE__, __LINE__, "%s: %s = %ld, expected %ld", where, what, got, want);
}

int rt_check_results(const char *where, int st)
{
    long v = 5 + st, lib_before, got;

    check_one(where, "exe add(40, 2)", exe_add(40, 2), rt_expect(st, rt_add__OP, 40, 2));
    check_one(where, "lib add(40, 2)", lib_add(40, 2), rt_expect(st, rt_add__OP, 40, 2));
    check_one(where, "exe twice(21)", exe_twice(21), rt_expect(st, rt_twice__OP, 21, 0));
    check_one(where, "lib twice(21)", lib_twice(21), rt_expect(st, rt_twice__OP, 21, 0));
    check_one(where, "exe mix(10, 3)", exe_mix(10, 3), rt_expect(st, rt_mix__OP, 10, 3));
    check_one(where, "lib mix(10, 3)", lib_mix(10, 3), rt_expect(st, rt_mix__OP, 10, 3));
    noted = 0, a_noted = 0;
    exe_note(v);
    got = st == ST_A ? a_noted : noted;
    check_one(where, "exe note(v) recorded", got, rt_expect(st, rt_note__OP, v, 0));
    lib_before = lib_noted(), a_noted = 0;
    lib_note(v + 100);
    got = st == ST_A ? a_noted : st == ST_SO ? lib_noted() - lib_before : lib_noted();
    check_one(where, "lib note(v) recorded", got, rt_expect(st, rt_note__OP, v + 100, 0));
    return 0;
}

/* ------------------------------------------------------------------------
 * Site bytes, derived from the state table above.
 */

struct want {
    int action;
    const char *tmpl;
    uint8_t len;
    const void *fn; /* NULL: the SO provider's function (somewhere in prov_good.so) */
};

static const struct want wants[NSTATES][rt__NOPS] = {
    [ST_NATIVE] = {{.action = PVL_ACT_NATIVE}, {.action = PVL_ACT_NATIVE},
                   {.action = PVL_ACT_NATIVE}, {.action = PVL_ACT_NATIVE}},
    [ST_A] = {{PVL_ACT_CALL, 0, 0, (const void *)rt_a_add},
              {PVL_ACT_CALL, 0, 0, (const void *)rt_a_note},
              {PVL_ACT_INLINE, T_A_TWICE, 4, 0}, {PVL_ACT_INLINE, T_A_MIX, 9, 0}},
    [ST_B] = {{PVL_ACT_INLINE, T_B_ADD, 5, 0}, {.action = PVL_ACT_NATIVE},
              {PVL_ACT_INLINE, T_B_TWICE, 4, 0}, {PVL_ACT_INLINE, T_B_MIX, 7, 0}},
    [ST_SO] = {{PVL_ACT_CALL, 0, 0, 0}, {.action = PVL_ACT_NOP}, {.action = PVL_ACT_NATIVE},
               {PVL_ACT_INLINE, T_SO_MIX, 6, 0}},
};

/* Where a call at (p) goes, through a veneer if there is one. */
static uintptr_t final_target(const uint8_t *p)
{
    int32_t rel;
    uintptr_t t;
    memcpy(&rel, p + 1, 4);
    t = (uintptr_t)(p + 5) + (uintptr_t)(intptr_t)rel;
    if (!memcmp((const void *)t, "\xff\x25\x00\x00\x00\x00", 6))
        memcpy(&t, (const void *)(t + 6), 8);
    return t;
}

static int in_so_provider(uintptr_t t)
{
    Dl_info di;
    return dladdr((void *)t, &di) && di.dli_fname && strstr(di.dli_fname, "prov_good.so");
}

static void expect_native(const struct pvl_site *s, uint8_t *out)
{
    const uint8_t *at = pvl_rel(&s->addr);
    memcpy(out, pvl_rel(&s->orig), s->room);
    if (s->flags & PVL_SITE_NATIVE_CALL) {
        int32_t rel = (int32_t)((intptr_t)pvl_rel(&s->target) - (intptr_t)(at + 5));
        out[0] = 0xe8;
        memcpy(out + 1, &rel, 4);
    }
}

/* The bytes site (s) must hold under (w); 0 if a call goes elsewhere. */
static int expected(const struct pvl_site *s, const struct want *w, uint8_t *want)
{
    const uint8_t *at = pvl_rel(&s->addr);
    unsigned pad = w->action == PVL_ACT_INLINE ? w->len : 0;

    if (w->action == PVL_ACT_NATIVE)
        expect_native(s, want);
    else if (w->action == PVL_ACT_INLINE)
        memcpy(want, w->tmpl, w->len), pvl_emit_nops(want + pad, s->room - pad);
    else if (w->action == PVL_ACT_NOP)
        pvl_emit_nops(want, s->room);
    else { /* NOPs first, the call at the end */
        uintptr_t t = final_target(at + s->room - 5);
        pvl_emit_nops(want, s->room - 5u);
        memcpy(want + s->room - 5, at + s->room - 5, 5);
        if (at[s->room - 5] != 0xe8 || (w->fn ? t != (uintptr_t)w->fn : !in_so_provider(t)))
            return 0;
    }
    return 1;
}

int rt_is_rt(const struct pvl_site *s)
{
    const struct pvl_iface_desc *d = pvl_rel(&s->iface);
    return strcmp(d->name, "pvlink.rt") == 0 && s->op < rt__NOPS;
}

int rt_site_is(const struct pvl_site *s, int st)
{
    if (!rt_is_rt(s))
        return 0;
    uint8_t want[PVL_ROOM_MAX];
    return expected(s, &wants[st][s->op], want) &&
           !memcmp(pvl_rel(&s->addr), want, s->room);
}

static int check_site(const char *where, const struct pvl_site *s, const struct want *w)
{
    uint8_t want[PVL_ROOM_MAX];
    const uint8_t *at = pvl_rel(&s->addr);

    if (!expected(s, w, want))
        t_fail(__FILE__, __LINE__, "%s: op %u call goes to %#lx", where, s->op,
               (unsigned long)final_target(at + s->room - 5));
    else if (memcmp(at, want, s->room)) {
        char w_[200];
        snprintf(w_, sizeof w_, "%s", t_hex(want, s->room));
        t_fail(__FILE__, __LINE__, "%s: op %u at %p: %s, expected %s", where, s->op,
               (const void *)at, t_hex(at, s->room), w_);
    }
    return 1;
}

int rt_check_bytes(const char *where, const struct pvl_site *start,
                   const struct pvl_site *stop, int st)
{
    int n = 0;
    for (const struct pvl_site *s = start; s < stop; s++)
        if (rt_is_rt(s))
            n += check_site(where, s, &wants[st][s->op]);
    return n;
}

const char *rt_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    exe[n > 0 ? n : 0] = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", exe, name);
    return buf[k];
}

/* ------------------------------------------------------------------------
 * pvlink.one (rt_one.h).
 */

static _Atomic long ticks;

long one_f_default(long x) { return x; }
void one_tick_default(long x) { ticks += x; }
static long one_f1(long x) { return x + 1; }
static long one_f2(long x) { return x + 2; }
static void one_tick1(long x) { ticks += 2 * x; }

__attribute__((noinline)) long exe_one_f(long x) { return one_f(x); }
__attribute__((noinline)) long exe_one_val(void) { return one_val(); }
__attribute__((noinline)) void exe_one_tick(long x) { one_tick(x); }
long one_ticks(void) { return ticks; }

static const struct pvr_op_impl one_impl_1[] = {
    PVR_CALL(one, f, one_f1),
    PVR_CALL(one, tick, one_tick1),
    PVR_INLINE(val, "\xb8\x02\x00\x00\x00", PVL_CLB(RAX)),
};
static const struct pvr_op_impl one_impl_2[] = {
    PVR_CALL(one, f, one_f2),
    {.op = "tick", .action = PVL_ACT_NOP},
    PVR_INLINE(val, "\xb8\x03\x00\x00\x00", PVL_CLB(RAX)),
};
const struct pvr_provider_desc one_desc_1 =
    PVR_PROVIDER_DESC("pvlink.one", 1, 0, "one-1", one_impl_1);
const struct pvr_provider_desc one_desc_2 =
    PVR_PROVIDER_DESC("pvlink.one", 1, 0, "one-2", one_impl_2);

long one_expect_f(int st, long x) { return x + st; }
long one_expect_val(int st) { return 1 + st; }
long one_expect_tick(int st, long x) { return st == ONE_NATIVE ? x : st == ONE_1 ? 2 * x : 0; }

/* ------------------------------------------------------------------------
 * Worker threads that run pvlink.rt sites and count wrong results.
 */

static atomic_int workers_stop;
static atomic_long workers_wrong, workers_checked;
static pthread_t workers[8];
static int nworkers;

static int plausible(int op, long a, long b, long got)
{
    for (int st = 0; st < NSTATES; st++)
        if (rt_expect(st, op, a, b) == got)
            return 1;
    return 0;
}

static void *work(void *arg)
{
    long n = (long)(intptr_t)arg;

    while (!atomic_load_explicit(&workers_stop, memory_order_relaxed)) {
        for (int k = 0; k < 32; k++, n++) {
            long a = n & 0xfff, b = (n >> 4) & 0xff;
            long bad = !plausible(rt_add__OP, a, b, exe_add(a, b)) +
                       !plausible(rt_add__OP, a, b, lib_add(a, b)) +
                       !plausible(rt_mix__OP, a, b, lib_mix(a, b)) +
                       !plausible(rt_mix__OP, a, b, exe_mix(a, b)) +
                       !plausible(rt_twice__OP, a, 0, exe_twice(a));
            if (bad)
                atomic_fetch_add(&workers_wrong, bad);
        }
        atomic_fetch_add(&workers_checked, 32 * 5);
    }
    return NULL;
}

void rt_workers_start(int n)
{
    atomic_store(&workers_stop, 0);
    atomic_store(&workers_wrong, 0), atomic_store(&workers_checked, 0);
    for (nworkers = 0; nworkers < n && nworkers < 8; nworkers++)
        pthread_create(&workers[nworkers], NULL, work, (void *)(intptr_t)(nworkers * 7919));
}

long rt_workers_stop(long *checked)
{
    atomic_store(&workers_stop, 1);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    nworkers = 0;
    if (checked)
        *checked = atomic_load(&workers_checked);
    return atomic_load(&workers_wrong);
}

/* ------------------------------------------------------------------------
 * Children.
 */

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
#define EXIT_NO_MDWE 77

void rt_in_child(void (*fn)(void), int mdwe)
{
    int st = 0;
    pid_t pid;

    fflush(stdout);
    if ((pid = fork()) == 0) {
        if (mdwe && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0)
            _exit(EXIT_NO_MDWE);
        fn();
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_NO_MDWE && mdwe)
        t_skip("this kernel has no PR_SET_MDWE (Linux 6.3 or later)");
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        t_fail(__FILE__, __LINE__, "the child %s %d", WIFSIGNALED(st) ? "was killed by signal"
               : "exited with", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int rt_mapped(const char *name)
{
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");

    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, name) != NULL;
    if (f)
        fclose(f);
    return found;
}
