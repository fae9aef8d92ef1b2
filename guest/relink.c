/*
 * relink N [SITES]: N re-link cycles while every CPU runs a load that
 * checks its own results.
 *
 * The load, on every other CPU all the time and on the boot CPU between
 * links: interrupt-flag operations (save_fl, irq_disable, restore_fl: IF
 * must be off inside and as before after), TLB flushes (a window page
 * retargeted between two frames of this CPU's, with flush_tlb_one and
 * flush_tlb_all: the new frame must show through), clock reads (never
 * below this CPU's last), and a console line every LINE_EVERY steps
 * ("relink: cpuN line K ..."; the test checks every line arrived whole and
 * in order).  Every check that fails counts as a wrong result.
 *
 * A cycle visits, from whatever the sites are linked to: with only the
 * boot ROM A known, native then A; once a switch has published B, every
 * ordered pair: B, A, native, B, native, A (a visit to where the sites
 * already are, right after a switch, is skipped).  Each visit is one k_link_to()
 * (poke.c picks the breakpoint path or the rendezvous); under a ROM that
 * requires operations (pvlink-spt's), "native" keeps those on the ROM and
 * puts every other site back (bare()).  The monitor is polled
 * before the first cycle and once a cycle: a switch links to B at once
 * ("ROM switch", counted like the others) and adds B to the cycle.  When
 * the monitor announced that it may switch (PVL_HV_ROM_SWITCH) and no
 * switch has come after N cycles, relink goes on cycling until one comes,
 * taken or declined (SWITCH_WAIT_S seconds of timer ticks at most), then
 * does one more cycle.  With
 * SITES, only the first SITES sites (in table order) that a ROM known when
 * relink starts changes take part, every other site is kept native, and
 * clock_read sites are kept native (a kernel whose clock sites read two
 * clocks would not be monotonic); a first uncounted link puts the rest
 * back to native.
 *
 * Links and load interleave whatever the host's scheduling: before each
 * link, every other CPU must have completed a load step since the one
 * before (waited for, PROGRESS_WAIT_S seconds at most; on a slow or busy
 * host a whole relink can otherwise fit between two steps).  The summary gives, per
 * path, links, sites changed per link, rounds and IPIs per link, TSC
 * cycles per link; the load steps the other CPUs completed while links
 * were in progress; and the wrong results.  SUCCESS needs every link done,
 * 0 wrong results, and no CPU that stopped advancing.
 */
#include "kern.h"

#define MAX_CYCLES 100000
#define LINE_EVERY 64  /* load steps per console line */
#define BSP_BURST 8    /* load steps the boot CPU runs between links */
#define LOAD_WIN 16    /* window pages LOAD_WIN + 2 * cpu are the load's */
#define LOAD_FRAME 8   /* so are scratch frames LOAD_FRAME + 2 * cpu, + 1 */
#define MAX_SITES 2048
#define PROGRESS_WAIT_S 5
#define SWITCH_WAIT_S 60
#define RFLAGS_IF 0x200ull

_Static_assert(K_SCRATCH_PAGES >= LOAD_FRAME + 2 * K_MAX_CPUS, "scratch frames for the load");

struct load {
    volatile uint64_t ops, wrong, lines;
    uint64_t clock_prev;
    const char *first_wrong;
};

struct tally {
    const char *path;
    unsigned links;
    uint64_t changed, rounds, ipis, retries, moved, cycles;
};

static struct load loads[K_MAX_CPUS];
static volatile int stop;
static uint8_t allowed[MAX_SITES / 8];
static struct tally tallies[4] = {{.path = "direct"}, {.path = "breakpoint"}, {.path = "rendezvous"}, {.path = "none"}};

static void wrong(struct load *ld, const char *what)
{
    if (!ld->wrong++)
        ld->first_wrong = what;
}

static void step_irq(struct load *ld)
{
    uint64_t fl = pvk_save_fl();

    pvk_irq_disable();
    if (pvk_save_fl() & RFLAGS_IF)
        wrong(ld, "irq_disable left IF set");
    pvk_restore_fl(fl);
    if ((pvk_save_fl() ^ fl) & RFLAGS_IF)
        wrong(ld, "restore_fl did not restore IF");
}

static void step_tlb(struct load *ld, unsigned cpu, uint64_t i)
{
    unsigned w = LOAD_WIN + 2 * cpu;
    uint64_t fa = k_scratch_frame(LOAD_FRAME + 2 * cpu);
    uint64_t fb = k_scratch_frame(LOAD_FRAME + 2 * cpu + 1);
    volatile uint64_t *a = (volatile uint64_t *)(uintptr_t)fa;
    volatile uint64_t *b = (volatile uint64_t *)(uintptr_t)fb, *p;

    *a = 2 * i + 1, *b = 2 * i + 2;
    p = k_win_map(w, fa);
    if (*p != 2 * i + 1)
        wrong(ld, "a new mapping shows another frame");
    pvk_set_pte(k_win_pte(w), fb | 3);
    pvk_flush_tlb_one(p);
    if (*p != 2 * i + 2)
        wrong(ld, "flush_tlb_one left a stale mapping");
    pvk_set_pte(k_win_pte(w), fa | 3);
    pvk_flush_tlb_all();
    if (*p != 2 * i + 1)
        wrong(ld, "flush_tlb_all left a stale mapping");
    k_win_unmap(w);
}

static void step_clock(struct load *ld)
{
    uint64_t t = pvk_clock_read();

    if (t < ld->clock_prev)
        wrong(ld, "the clock went back");
    ld->clock_prev = t;
}

static void step(unsigned cpu)
{
    struct load *ld = &loads[cpu];

    step_irq(ld);
    step_tlb(ld, cpu, ld->ops);
    step_clock(ld);
    if (ld->ops % LINE_EVERY == LINE_EVERY - 1)
        k_printf("relink: cpu%u line %06llu abcdefghijklmnopqrstuvwxyz\n", cpu,
                 (unsigned long long)ld->lines++);
    ld->ops++;
}

static void load_fn(void *arg)
{
    unsigned cpu = ((struct k_cpu *)arg)->index;

    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        step(cpu);
}

static uint64_t seen[K_MAX_CPUS]; /* each CPU's steps at the last link */
static unsigned stalled;          /* links before which a CPU did not advance */

/* Wait (PROGRESS_WAIT_S at most) until every other CPU has done a load
 * step since the last link. */
static void wait_progress(void)
{
    uint64_t end = k_ticks() + PROGRESS_WAIT_S * K_TICK_HZ;

    for (unsigned i = 1; i < k_ncpus; i++) {
        while (loads[i].ops == seen[i] && k_ticks() < end)
            __asm__ __volatile__("pause");
        stalled += loads[i].ops == seen[i];
        seen[i] = loads[i].ops;
    }
}

static uint64_t others_ops(void)
{
    uint64_t n = 0;

    for (unsigned i = 1; i < k_ncpus; i++)
        n += loads[i].ops;
    return n;
}

/* ---- which sites, which ROMs -------------------------------------------- */

/* Native, but for what ROM (ctx) requires: where the linked ROM's
 * monitor makes some native code wrong (pvlink-spt's save_fl and
 * restore_fl), a visit to "native" keeps those sites on the ROM and puts
 * every other one back. */
static int bare(void *ctx, const struct pvl_site_info *si, int proposed)
{
    return k_rom_requires(ctx, si->op) ? proposed : PVL_ACT_NATIVE;
}

static int limited(void *ctx, const struct pvl_site_info *si, int proposed)
{
    return allowed[si->index / 8] & (1u << (si->index % 8)) ? proposed
                                                           : bare(ctx, si, proposed);
}

static int any_required(const struct k_rom *r)
{
    for (unsigned op = 0; op < PVK_NOPS; op++)
        if (k_rom_requires(r, op))
            return 1;
    return 0;
}

/* Where relink has put the sites: a ROM, or 0 for native; "native" under
 * a ROM that requires operations is bare() on that ROM (keeper). */
static const struct k_rom *keeper;
static int at_native;

static const struct k_rom *where(void)
{
    return at_native ? 0 : k_linked();
}

static const char *where_name(void)
{
    return at_native && keeper ? "native but for what the ROM requires" : k_rom_name(where());
}

/* Link to (r), 0 meaning native as above. */
static int link_to(const struct k_rom *r, const char *when, pvl_policy_fn policy, int quiet,
                   struct k_poke_stats *st)
{
    const struct k_rom *cur = k_linked();
    const struct k_rom *keep = !r && cur && any_required(cur) ? cur : 0;
    int failed;

    if (r)
        failed = k_link_to(r, when, policy, (void *)(uintptr_t)r, quiet, st) != 0;
    else
        failed = k_link_to(keep, when, keep ? bare : 0, (void *)(uintptr_t)keep, quiet, st) != 0;
    if (!failed)
        at_native = !r, keeper = keep;
    return failed;
}

/* Does some known ROM give site (i) other bytes than native? */
static int changes(size_t i)
{
    uint8_t nat[PVL_ROOM_MAX], out[PVL_ROOM_MAX];
    uint16_t op;
    uint8_t room;

    if (k_plan_site(0, i, &op, &room, nat) != 0 || op == PVK_OP_CLOCK_READ)
        return 0;
    for (unsigned s = 0; s < 2; s++)
        if (k_rom_get(s) && k_plan_site(k_rom_get(s), i, &op, &room, out) == 0 &&
            memcmp(out, nat, room))
            return 1;
    return 0;
}

static unsigned choose_sites(unsigned limit)
{
    unsigned n = 0;

    memset(allowed, 0, sizeof allowed);
    for (size_t i = 0; i < k_nsites() && n < limit; i++)
        if (changes(i))
            allowed[i / 8] |= (uint8_t)(1u << (i % 8)), n++;
    return n;
}

/* This cycle's visits: (*n) targets in (t). */
static void visits(const struct k_rom *t[6], unsigned *n)
{
    const struct k_rom *a = k_rom_get(0), *b = k_rom_get(1);

    if (!b) {
        t[0] = 0, t[1] = a, *n = 2;
        return;
    }
    t[0] = b, t[1] = a, t[2] = 0, t[3] = b, t[4] = 0, t[5] = a, *n = 6;
}

static void tally(const struct k_poke_stats *st)
{
    struct tally *t = &tallies[3];

    for (unsigned i = 0; i < K_ARRAY_LEN(tallies); i++)
        if (k_streq(tallies[i].path, st->path))
            t = &tallies[i];
    t->links++;
    t->changed += st->changed, t->rounds += st->rounds, t->ipis += st->ipis;
    t->retries += st->retries, t->moved += st->moved, t->cycles += st->cycles;
}

/* ---- the command --------------------------------------------------------------- */

static int parse(const char *ns, const char *sites, uint64_t *n, uint64_t *limit)
{
    *limit = 0;
    if (k_parse_u64(ns, 1, MAX_CYCLES, n) != 0 ||
        (sites && k_parse_u64(sites, 1, MAX_SITES, limit) != 0)) {
        if (k_parse_u64(ns, 1, MAX_CYCLES, n) != 0)
            k_printf("cmdline: relink: N \"%s\" must be a number from 1 to %u\n", ns,
                     MAX_CYCLES);
        else
            k_printf("cmdline: relink: SITES \"%s\" must be a number from 1 to %u\n", sites,
                     MAX_SITES);
        return -1;
    }
    return 0;
}

/* One counted link to (r); returns 1 if it failed. */
static unsigned visit(const struct k_rom *r, const char *when, int quiet, pvl_policy_fn policy,
                      uint64_t *during, unsigned *nlinks)
{
    struct k_poke_stats st;
    uint64_t before;
    unsigned failed;

    wait_progress();
    before = others_ops();
    failed = (unsigned)link_to(r, when, policy, quiet, &st);

    *during += others_ops() - before;
    tally(&st);
    ++*nlinks;
    for (int i = 0; i < BSP_BURST; i++)
        step(0);
    return failed;
}

/* Go on after cycle (c) of (n)?  Past n only while an announced switch
 * has not come (and not for ever). */
static int more(uint64_t c, uint64_t n, uint64_t *deadline)
{
    if (c < n)
        return 1;
    if (!(k_hv.rom_flags & PVL_HV_ROM_SWITCH) || k_rom_get(1) || k_switch_came())
        return 0;
    if (!*deadline) {
        *deadline = k_ticks() + SWITCH_WAIT_S * K_TICK_HZ;
        k_printf("relink: %llu cycles done; cycling on until the announced ROM switch comes\n",
                 (unsigned long long)n);
    }
    return k_ticks() < *deadline;
}

/* Run the cycles; returns the number of failed links. */
static unsigned cycles(uint64_t n, pvl_policy_fn policy, int switched, uint64_t *during,
                       unsigned *nlinks, uint64_t *ncycles)
{
    const struct k_rom *t[6];
    unsigned nt, failed = 0;
    uint64_t deadline = 0, c = 0;

    for (; !failed && more(c, n, &deadline); c++) {
        if (switched || (k_link_events() & PVL_EV_ROM_SWITCH)) {
            failed += visit(k_rom_get(1), "ROM switch", 0, policy, during, nlinks);
            if (c >= n)
                n = c + 1; /* one more cycle, with B */
        }
        switched = 0;
        visits(t, &nt);
        for (unsigned v = 0; v < nt && !failed; v++)
            if (t[v] != where()) /* not where a switch just went */
                failed += visit(t[v], "relink", 1, policy, during, nlinks);
    }
    *ncycles = c;
    return failed;
}

static void report_paths(void)
{
    for (unsigned i = 0; i < K_ARRAY_LEN(tallies); i++) {
        const struct tally *t = &tallies[i];
        if (!t->links)
            continue;
        k_printf("relink: %s: %u links, %llu rounds, %llu IPIs, %llu retries, %llu CPUs moved "
                 "past padding; per link %llu sites changed, %llu rounds, %llu IPIs, %llu TSC "
                 "cycles\n",
                 t->path, t->links, (unsigned long long)t->rounds, (unsigned long long)t->ipis,
                 (unsigned long long)t->retries, (unsigned long long)t->moved,
                 (unsigned long long)(t->changed / t->links),
                 (unsigned long long)(t->rounds / t->links),
                 (unsigned long long)(t->ipis / t->links),
                 (unsigned long long)(t->cycles / t->links));
    }
}

static uint64_t report_load(uint64_t during)
{
    uint64_t bad = 0, hits = 0;

    for (unsigned i = 0; i < k_ncpus; i++) {
        const struct load *ld = &loads[i];
        bad += ld->wrong;
        hits += k_cpus[i].trap_hits;
        k_printf("relink: cpu%u: %llu load steps, %llu console lines, %llu trap hits, %llu "
                 "wrong%s%s\n", i, (unsigned long long)ld->ops, (unsigned long long)ld->lines,
                 (unsigned long long)k_cpus[i].trap_hits, (unsigned long long)ld->wrong,
                 ld->wrong ? ": first " : "", ld->wrong ? ld->first_wrong : "");
    }
    k_printf("relink: the other CPUs completed %llu load steps while links were in progress; "
             "%llu trap hits; wrong results %llu\n", (unsigned long long)during,
             (unsigned long long)hits, (unsigned long long)bad);
    return bad;
}

/* The cycles on this CPU while every other CPU runs the load; then the
 * load stops.  Returns the number of failed links. */
static unsigned under_load(uint64_t n, pvl_policy_fn policy, int switched, uint64_t *during,
                           unsigned *nlinks, uint64_t *ncycles)
{
    unsigned failed;

    stop = 0, stalled = 0;
    memset(seen, 0, sizeof seen);
    for (unsigned i = 1; i < k_ncpus; i++)
        k_smp_run(&k_cpus[i], load_fn, &k_cpus[i]);
    failed = cycles(n, policy, switched, during, nlinks, ncycles);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (unsigned i = 1; i < k_ncpus; i++)
        k_smp_wait(&k_cpus[i]);
    return failed;
}

static void report_links(uint64_t n, unsigned nlinks, unsigned failed, unsigned chosen,
                         uint64_t limit)
{
    char sites[64];

    if (limit)
        k_snprintf(sites, sizeof sites, "%u sites taking part (at most %llu asked)", chosen,
                   (unsigned long long)limit);
    else
        k_snprintf(sites, sizeof sites, "all sites");
    k_printf("relink: %llu cycles, %u links on %u CPUs, %s, %u failed; now %s\n",
             (unsigned long long)n, nlinks, k_ncpus, sites, failed, where_name());
    report_paths();
    if (stalled)
        k_printf("relink: %u times a CPU did no load step between two links\n", stalled);
}

int k_relink(const char *ns, const char *sites)
{
    uint64_t n, limit, during = 0;
    unsigned failed, nlinks = 0, chosen = 0;
    pvl_policy_fn policy = 0;
    struct k_poke_stats st;
    int switched;

    if (parse(ns, sites, &n, &limit) != 0)
        return -1;
    at_native = !k_linked(), keeper = 0;
    switched = (k_link_events() & PVL_EV_ROM_SWITCH) != 0;
    if (!k_rom_get(0)) {
        k_puts("relink: no ROM is known: nothing to link to\n");
        return -1;
    }
    if (limit) {
        chosen = choose_sites((unsigned)limit);
        policy = limited;
        if (link_to(0, "relink setup", 0, 1, &st) != 0)
            return -1;
    }
    failed = under_load(n, policy, switched, &during, &nlinks, &n);
    report_links(n, nlinks, failed, chosen, limit);
    if (report_load(during) || failed || stalled) {
        k_puts("FAILURE\n");
        return -1;
    }
    k_puts("SUCCESS\n");
    return 0;
}
