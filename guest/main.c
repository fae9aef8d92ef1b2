/*
 * k_main: bring the machine up, link against a ROM if one is published,
 * and run what the command line selects:
 *
 *   selftest        check every operation by its effect; ends with SUCCESS
 *   hcfuzz          malformed hypercalls (needs a pvlink monitor)
 *   fault           an unexpected page fault (shows the exception path)
 *   irq|mmu|log|clock|io [N]   a workload, N iterations
 *   relink N [SITES]  N re-link cycles under load on every CPU (SITES: at
 *                   most that many sites change per link); ends with SUCCESS
 *
 * An empty command line means selftest.  Anything else is refused with
 * a message and K_EXIT_FAIL.
 */
#include "kern.h"

#define MAX_TOKENS 3

static const char usage[] =
    "expected: selftest | hcfuzz | fault | irq [N] | mmu [N] | log [N] | "
    "clock [N] | io [N] | relink N [SITES]";

/* Read the first window page, which nothing maps: the page fault is not
 * in the exception table, so the handler prints vector, error code, RIP
 * and CR2 and exits with K_EXIT_PANIC. */
static int take_fault(void)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)K_WIN_BASE;

    k_printf("fault: reading unmapped %p\n", (void *)p);
    (void)*p;
    k_puts("fault: the read did not fault\n");
    return -1;
}

/* Commands without an argument. */
static const struct {
    const char *name;
    int (*run)(void);
} plain[] = {
    {"selftest", k_selftest},
    {"hcfuzz", k_hcfuzz},
    {"fault", take_fault},
};

/* Split (s) in place at spaces and tabs; returns the token count, or
 * MAX_TOKENS + 1 if there are more. */
static unsigned tokenize(char *s, char *tok[MAX_TOKENS])
{
    unsigned n = 0;

    for (;;) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            return n;
        if (n == MAX_TOKENS)
            return MAX_TOKENS + 1;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
}

static __attribute__((noreturn)) void bad_cmdline(const char *why)
{
    k_printf("cmdline \"%s\": %s; %s\n", k_boot.cmdline, why, usage);
    k_exit(K_EXIT_FAIL);
}

static int run_command(char *cmdline)
{
    char *tok[MAX_TOKENS];
    unsigned n = tokenize(cmdline, tok);
    int w;

    if (n == 0) {
        k_puts("cmdline empty: running selftest\n");
        return k_selftest();
    }
    if (k_streq(tok[0], "relink")) {
        if (n < 2)
            bad_cmdline("relink needs a cycle count");
        return k_relink(tok[1], n == 3 ? tok[2] : 0);
    }
    if (n > 2)
        bad_cmdline("too many words");
    for (size_t i = 0; i < K_ARRAY_LEN(plain); i++) {
        if (!k_streq(tok[0], plain[i].name))
            continue;
        if (n != 1)
            bad_cmdline("this command takes no argument");
        return plain[i].run();
    }
    if ((w = k_work_find(tok[0])) < 0)
        bad_cmdline("unknown command");
    return k_work_run(w, n == 2 ? tok[1] : 0);
}

static void map_ram(void)
{
    for (uint32_t i = 0; i < k_boot.nmemmap; i++) {
        const struct k_memmap_entry *e = &k_boot.memmap[i];
        if (e->type == K_E820_RAM)
            k_mm_identity(e->addr, e->size, 0); /* prints any failure */
    }
}

/*
 * The order matters: start_info is copied before anything below 1 MiB is
 * reused; ACPI is read before page 0 (the BIOS data area) is unmapped; the
 * boot link happens on one CPU, before the others start; the others start
 * once the timer ticks (their start-up waits are counted in ticks).
 */
void k_main(uint32_t start_info)
{
    static char cmd[K_CMDLINE_MAX];
    static struct k_madt madt;
    int acpi;

    k_trap_init();
    k_console_init();
    if (k_boot_copy(start_info) != 0)
        k_exit(K_EXIT_PANIC);
    acpi = k_acpi_madt(&madt) == 0;
    k_mm_init();
    map_ram();
    k_hv_detect();
    k_link_boot();
    /* after linking: under a ROM that buffers the console, this line is
     * one exit rather than two per byte through the UART */
    k_printf("pvlink-kernel: PVH start_info v%u, %u memory map entries, RAM "
             "top %#llx, %s, cmdline \"%s\"\n",
             k_boot.version, k_boot.nmemmap,
             (unsigned long long)k_boot.ram_top,
             k_hv.present ? "pvlink monitor" : "no pvlink monitor",
             k_boot.cmdline);
    if (acpi)
        k_smp_init(&madt);
    k_timer_init(&madt);
    pvk_irq_enable();
    if (k_apic_mode)
        k_smp_start(&madt);
    k_smp_report();
    memcpy(cmd, k_boot.cmdline, sizeof cmd);
    k_exit(run_command(cmd) == 0 ? K_EXIT_OK : K_EXIT_FAIL);
}
