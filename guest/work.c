/*
 * Workloads for measurement: each runs N iterations of one kind of
 * operation and prints one line with N and the TSC cycles it took
 * (pvk_read_tsc):
 *
 *   irq N    save_fl, irq_disable, restore_fl
 *   mmu N    map a page (set_pte), touch it, unmap it (set_pte,
 *            flush_tlb_one), in batches under lazy_mmu_begin/end
 *   log N    a 64-byte line (63 characters and '\n') to the console
 *   clock N  a clock read (monotonic, checked)
 *   io N     a port write (io_delay: outb to port 0x80)
 *
 * Every workload is run in two halves.  Between them the kernel polls the
 * monitor (k_link_poll): with a ROM published for late linking, the
 * second half runs linked, and the line gives both halves.  Measured
 * cycles exclude the poll and the link.
 */
#include "kern.h"

#define MAX_N 1000000000ull
#define MMU_BATCH 8u
#define LOG_LINE 64
#define RFLAGS_IF 0x200ull

struct work {
    const char *name;
    const char *what;
    uint64_t def;
    int (*run)(uint64_t from, uint64_t to); /* 0, or -1 after a message */
};

static int work_irq(uint64_t from, uint64_t to)
{
    uint64_t before = pvk_save_fl() & RFLAGS_IF;

    for (uint64_t i = from; i < to; i++) {
        uint64_t fl = pvk_save_fl();
        pvk_irq_disable();
        pvk_restore_fl(fl);
    }
    if ((pvk_save_fl() & RFLAGS_IF) != before) {
        k_puts("irq: the interrupt flag was not restored\n");
        return -1;
    }
    return 0;
}

/* Map (n) window pages onto scratch frames, write each through the window
 * and read it back through the identity map, then unmap them all. */
static int mmu_batch(uint64_t first, unsigned n)
{
    volatile uint64_t *p[MMU_BATCH];
    int bad = 0;

    pvk_lazy_mmu_begin();
    for (unsigned j = 0; j < n; j++)
        p[j] = k_win_map(j, k_scratch_frame(j));
    pvk_lazy_mmu_end();
    for (unsigned j = 0; j < n; j++) {
        *p[j] = first + j;
        bad |= *(volatile uint64_t *)(uintptr_t)k_scratch_frame(j) != first + j;
    }
    pvk_lazy_mmu_begin();
    for (unsigned j = 0; j < n; j++)
        k_win_unmap(j);
    pvk_lazy_mmu_end();
    return bad;
}

static int work_mmu(uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i += MMU_BATCH) {
        unsigned n = to - i < MMU_BATCH ? (unsigned)(to - i) : MMU_BATCH;
        if (mmu_batch(i, n)) {
            k_printf("mmu: page %llu: a write through the window did not "
                     "reach its frame\n",
                     (unsigned long long)i);
            return -1;
        }
    }
    return 0;
}

static int work_log(uint64_t from, uint64_t to)
{
    char line[LOG_LINE + 1];

    for (uint64_t i = from; i < to; i++) {
        size_t n = k_snprintf(line, sizeof line, "log %08llu ",
                              (unsigned long long)i);
        for (; n < LOG_LINE - 1; n++)
            line[n] = (char)('a' + (n + i) % 26);
        line[LOG_LINE - 1] = '\n';
        k_console_write(line, LOG_LINE);
    }
    return 0;
}

static uint64_t clock_prev;

static int work_clock(uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        uint64_t c = pvk_clock_read();
        if (c < clock_prev) {
            k_printf("clock: read %llu went back: %llu ns after %llu ns\n",
                     (unsigned long long)i, (unsigned long long)c,
                     (unsigned long long)clock_prev);
            return -1;
        }
        clock_prev = c;
    }
    return 0;
}

static int work_io(uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++)
        pvk_io_delay();
    return 0;
}

static const struct work works[] = {
    {"irq", "save_fl/irq_disable/restore_fl sequences", 1000, work_irq},
    {"mmu", "pages mapped, touched and unmapped", 64, work_mmu},
    {"log", "lines of 64 bytes written", 8, work_log},
    {"clock", "clock reads", 100, work_clock},
    {"io", "port writes (io_delay, port 0x80)", 100, work_io},
};

int k_work_find(const char *name)
{
    for (size_t i = 0; i < K_ARRAY_LEN(works); i++)
        if (k_streq(works[i].name, name))
            return (int)i;
    return -1;
}

int k_work_run(int w, const char *arg)
{
    const struct work *wk = &works[w];
    uint64_t n = wk->def, mid, t0, t1, t2, t3;
    int linked, r;
    char line[200];
    size_t len;

    if (arg && k_parse_u64(arg, 1, MAX_N, &n) != 0) {
        k_printf("cmdline: %s: N \"%s\" must be a decimal number from 1 to "
                 "%llu\n",
                 wk->name, arg, MAX_N);
        return -1;
    }
    mid = n / 2;
    clock_prev = 0;
    t0 = pvk_read_tsc();
    r = wk->run(0, mid);
    t1 = pvk_read_tsc();
    linked = r == 0 && k_link_poll();
    t2 = pvk_read_tsc();
    r = r ? r : wk->run(mid, n);
    t3 = pvk_read_tsc();
    if (r)
        return r;
    len = k_snprintf(line, sizeof line, "%s: %llu %s, %llu cycles", wk->name,
                     (unsigned long long)n, wk->what,
                     (unsigned long long)((t1 - t0) + (t3 - t2)));
    if (linked)
        k_snprintf(line + len, sizeof line - len,
                   " (first half %llu cycles native, second half %llu "
                   "cycles linked)",
                   (unsigned long long)(t1 - t0), (unsigned long long)(t3 - t2));
    k_printf("%s\n", line);
    return 0;
}
