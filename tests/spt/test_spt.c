/*
 * pvlink-spt end to end: the reference kernel's self-test and workloads on
 * the spt ROM and with every operation that is not required forced native
 * (so that it traps); exact trap counts; the monitor's small guests
 * (tests/monitor/); hostile guests (tests/spt/hostile.S), each with the
 * status and message it must end with; usage errors, refused kernels and
 * ROMs.
 *
 * Paths come from the environment (monitor/spt/spt.mk):
 *   SPT_RUN (pvlink-spt), SPT_KERNEL (the reference kernel), SPT_TINY,
 *   SPT_FAULT, SPT_HANG (tests/monitor guests), SPT_HOSTILE (directory of
 *   hostile-CASE), SPT_ROM (spt's ROM image), MON_ROM (pvlink-run's),
 *   SPT_OLD_KERNEL (the format-2.0 compatibility fixture, a kernel that
 *   knows no ROM gates), SPT_FIXTURE (a reference kernel built before
 *   pvlink-spt existed, tests/fixtures/pvlink-kernel-spt.elf), SPT_TMP
 *   (scratch).
 * Every run has --timeout; a pvlink-spt that outlives 60 s is killed and
 * the case fails.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pvlink/abi.h>
#include <pvlink/link.h>

#include "../harness.h"
#include "../runprog.h"

struct res {
    int status;
    char out[65536], err[65536];
};

/* Run pvlink-spt with (args) (NULL-terminated, after the program); one
 * that outlives 60 s is killed and the case fails. */
static void run(struct res *r, const char *const *args)
{
    r->status = t_run_prog(t_env("SPT_RUN"), args, t_env("SPT_TMP"), 60, r->out, r->err,
                           sizeof r->out);
}

#define RUN(r, ...) run(r, (const char *const[]){__VA_ARGS__, NULL})

static void show(const struct res *r, const char *what, int line, const char *why)
{
    size_t n = strlen(r->out), m = strlen(r->err);
    t_fail(__FILE__, line, "%s: %s; status %d; stderr ends:\n%s\nconsole ends:\n%s", what, why,
           r->status, r->err + (m > 1500 ? m - 1500 : 0), r->out + (n > 1500 ? n - 1500 : 0));
}

/* The run must end with (status); stderr must contain (msg) and the
 * console every line of (lines) (NULL-terminated), if given. */
static void expect(const struct res *r, int status, const char *msg, const char *what, int line)
{
    char why[300];

    if (r->status != status) {
        snprintf(why, sizeof why, "expected status %d", status);
        show(r, what, line, why);
    } else if (msg && !strstr(r->err, msg)) {
        snprintf(why, sizeof why, "stderr lacks \"%s\"", msg);
        show(r, what, line, why);
    }
}

static void expect_out(const struct res *r, const char *text, const char *what, int line)
{
    char why[300];

    if (!strstr(r->out, text)) {
        snprintf(why, sizeof why, "console lacks \"%s\"", text);
        show(r, what, line, why);
    }
}

/* The number after (key) in (s), or -1. */
static long long after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}


/* Run the kernel with (cmd); (native): every non-required action native. */
/* The kernel the tests boot: the one built here, or (SPT_FIXTURE) the
 * fixture built before pvlink-spt existed, for the cases that run both. */
static const char *the_kernel;

static void run_kernel(struct res *r, bool native, const char *stats, const char *cmd1,
                       const char *cmd2)
{
    const char *argv[16];
    int n = 0;

    argv[n++] = "--timeout";
    argv[n++] = "20";
    if (stats)
        argv[n++] = "--stats-json", argv[n++] = stats;
    if (native) /* every operation the ROM does not require: each traps */
        argv[n++] = "--policy", argv[n++] = "all=native";
    argv[n++] = the_kernel ? the_kernel : t_env("SPT_KERNEL");
    argv[n++] = "--";
    argv[n++] = cmd1;
    argv[n++] = cmd2;
    argv[n] = NULL;
    run(r, argv);
}

static long long json_num(const char *path, const char *key)
{
    char buf[16384], k[80];
    t_slurp(path, buf, sizeof buf);
    snprintf(k, sizeof k, key[0] == '{' ? "%s: " : "\"%s\": ", key);
    return after(buf, k);
}

static const char *tmp(const char *name)
{
    static char path[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof path[i], "%s/%s", t_env("SPT_TMP"), name);
    return path[i];
}

/* ------------------------------------------------------------------------
 * The reference kernel.
 */
#define LINKED "pvlink: linked at boot: ROM \"pvlink.kernel\" 1.1 at 0xc0000: "
static bool cpuid_faulting(void);

/* The link report's counts: sites, native, inline, call, nop (-1 if the
 * line is missing). */
static void link_counts(const char *out, long long c[5])
{
    const char *p = strstr(out, LINKED);

    c[0] = p ? after(p, LINKED) : -1;
    c[1] = p ? after(p, "native ") : -1;
    c[2] = p ? after(p, "inline ") : -1;
    c[3] = p ? after(p, "call ") : -1;
    c[4] = p ? after(p, "nop ") : -1;
}

static void kernel_selftest_on(const char *kernel, const char *what)
{
    const char *js = tmp("selftest.json");
    const char *argv[] = {"--timeout", "20", "--stats-json", js, kernel, "selftest", NULL};
    struct res r;
    long long c[5];

    run(&r, argv);
    expect(&r, 0, NULL, what, __LINE__);
    expect_out(&r, "\nSUCCESS\n", what, __LINE__);
    link_counts(r.out, c);
    /* the interrupt-flag operations inline, read_tsc and cpuid native,
     * the no-ops NOPs, every other site a call into the gate */
    CHECK(c[0] > 100 && c[1] + c[2] + c[3] + c[4] == c[0] && c[2] > 0 && c[3] > c[1] + c[4]);
    expect_out(&r, "selftest: interrupt flag ok\n", what, __LINE__);
    expect_out(&r, "selftest: timer interrupt ok\n", what, __LINE__);
    expect_out(&r, "selftest: page faults ok\n", what, __LINE__);
    CHECK(json_num(js, "exit_status") == 0);
    CHECK(json_num(js, "rom_calls") > 1000); /* polling the PIC through the gate */
    CHECK(json_num(js, "interrupts") >= 3);  /* the ticks the test waits for */
    CHECK(json_num(js, "14") == 3);          /* its three page faults... */
    CHECK(json_num(js, "13") == 1);          /* ...and the non-canonical read */
    CHECK(json_num(js, "syscalls") == 0);
    /* the timer check enables interrupts (inline) with a tick pending:
     * the guarded store traps and the tick is taken at once */
    CHECK(json_num(js, "if_stores") >= 1);
}

static void kernel_selftest(void)
{
    kernel_selftest_on(t_env("SPT_KERNEL"), "selftest");
}

/* A reference kernel built before pvlink-spt existed (tests/fixtures/):
 * selftest with its operations linked to the ROM, and every workload,
 * linked and with every action that is not required native (trapped). */
static void kernel_workloads(void);
static void fixture_kernel(void)
{
    const char *k = t_env("SPT_FIXTURE");

    kernel_selftest_on(k, "fixture selftest");
    the_kernel = k;
    kernel_workloads();
    the_kernel = NULL;
}

/* Does this host give pvlink-spt CPUID faulting (else the guest sees the
 * host's CPUID, and no pvlink signature)? */
static bool cpuid_faulting(void)
{
    static int known = -1;
    struct res r;

    if (known < 0) {
        RUN(&r, "--stats-json", tmp("probe.json"), t_env("SPT_TINY"));
        known = json_num(tmp("probe.json"), "cpuid_faulting") == 1;
    }
    return known;
}

static void kernel_selftest_trapped(void)
{
    const char *js = tmp("trapped.json");
    struct res r;

    run_kernel(&r, true, js, "selftest", NULL);
    expect(&r, 0, NULL, "selftest, all native", __LINE__);
    expect_out(&r, "\nSUCCESS\n", "selftest, all native", __LINE__);
    /* only save_fl and restore_fl stay the ROM's (inline), required here */
    long long c[5];
    link_counts(r.out, c);
    CHECK(c[0] > 100 && c[3] == 0 && c[4] == 0 && c[1] + c[2] == c[0] && c[2] > 0 &&
          c[2] < c[1] / 2);
    CHECK(json_num(js, "rom_calls") == 0);
    CHECK(json_num(js, "traps") > 1000);
    CHECK(json_num(js, "cpuid") >= 7 || !cpuid_faulting());
    CHECK(json_num(js, "invlpg") >= 2);
}

struct work {
    const char *name, *n, *line;
};

static const struct work works[] = {
    {"irq", "1000", "irq: 1000 save_fl/irq_disable/restore_fl sequences, "},
    {"mmu", "64", "mmu: 64 pages mapped, touched and unmapped, "},
    {"log", "8", "log: 8 lines of 64 bytes written, "},
    {"clock", "100", "clock: 100 clock reads, "},
    {"io", "100", "io: 100 port writes (io_delay, port 0x80), "},
};

static void kernel_workloads(void)
{
    struct res r;

    for (int native = 0; native < 2; native++)
        for (size_t i = 0; i < sizeof works / sizeof works[0]; i++) {
            run_kernel(&r, native, NULL, works[i].name, works[i].n);
            expect(&r, 0, NULL, works[i].name, __LINE__);
            expect_out(&r, works[i].line, works[i].name, __LINE__);
            if (native) /* all=native: only the required ones are not native */
                expect_out(&r, ", call 0, nop 0; ", works[i].name, __LINE__);
        }
    run_kernel(&r, false, NULL, "log", "3");
    expect_out(&r, "\nlog 00000002 ", "log", __LINE__);
}

/* relink on pvlink-spt: "native" keeps what the ROM requires (save_fl,
 * restore_fl) and puts every other site back, so the cycles run and the
 * load's interrupt-flag checks stay right; with one site taking part the
 * others are native but for the same two. */
static void kernel_relink(void)
{
    struct res r;

    RUN(&r, "--timeout", "20", t_env("SPT_KERNEL"), "relink", "2");
    expect(&r, 0, NULL, "relink 2", __LINE__);
    expect_out(&r, "\nrelink: 2 cycles, 4 links on 1 CPUs, all sites, 0 failed; now ROM A\n",
               "relink 2", __LINE__);
    expect_out(&r, " 0 wrong\n", "relink 2", __LINE__);
    expect_out(&r, "\nSUCCESS\n", "relink 2", __LINE__);
    RUN(&r, "--timeout", "20", t_env("SPT_KERNEL"), "relink", "1", "1");
    expect(&r, 0, NULL, "relink 1 1", __LINE__);
    expect_out(&r, "\nrelink: 1 cycles, 1 links on 1 CPUs, 1 sites taking part (at most 1 "
               "asked), 0 failed; now ROM A\n", "relink 1 1", __LINE__);
    expect_out(&r, "\nSUCCESS\n", "relink 1 1", __LINE__);
}

/* Exact counts: N more iterations, N more traps of the native instruction
 * (the console's traps vary with the digits of the cycles printed). */
#define PORT80 "{\"port\": 128, \"dir\": \"out\", \"count\""
static long long traps_for(const char *cmd, const char *n, const char *key)
{
    const char *js = tmp("count.json");
    struct res r;

    run_kernel(&r, true, js, cmd, n);
    expect(&r, 0, NULL, cmd, __LINE__);
    return json_num(js, key);
}

static void exact_trap_counts(void)
{
    CHECK_EQ(traps_for("irq", "2000", "cli") - traps_for("irq", "1000", "cli"), 1000);
    CHECK_EQ(traps_for("io", "300", PORT80) - traps_for("io", "100", PORT80), 200);
    CHECK_EQ(traps_for("mmu", "48", "invlpg") - traps_for("mmu", "16", "invlpg"), 32);
}

static void kernel_hcfuzz_and_fault(void)
{
    struct res r;

    run_kernel(&r, false, NULL, "hcfuzz", NULL);
    expect(&r, 0, NULL, "hcfuzz", __LINE__);
    if (cpuid_faulting()) /* the kernel finds the pvlink monitor only by CPUID */
        expect_out(&r, "hcfuzz: valid PUTS: ret 46 ok\nhcfuzz: valid NOP: ret 0 ok\nSUCCESS\n",
                   "hcfuzz", __LINE__);
    else
        expect_out(&r, "SKIP hcfuzz: no pvlink monitor\n", "hcfuzz", __LINE__);
    /* an unexpected #PF reaches the kernel's own handler, with CR2 */
    run_kernel(&r, false, NULL, "fault", NULL);
    expect(&r, 2, NULL, "fault", __LINE__);
    expect_out(&r, "EXCEPTION: vector 14 (#PF page fault), error code 0, rip 0x",
               "fault", __LINE__);
    expect_out(&r, ", cr2 0x4000000000\n", "fault", __LINE__);
}

/* Why save_fl and restore_fl must be linked here: pushf shows the host's
 * IF, popf ignores it.  pvlink-run's ROM, which keeps them native, sees
 * ring 3 in its probe and declines, so the kernel says why it is native. */
static void native_irqflags_are_wrong(void)
{
    struct res r;

    RUN(&r, "--no-rom", "--timeout", "20", t_env("SPT_KERNEL"), "selftest");
    expect(&r, 1, NULL, "--no-rom", __LINE__);
    expect_out(&r, " sites native\n", "--no-rom", __LINE__);
    expect_out(&r, "pvlink: no ROM, ", "--no-rom", __LINE__);
    expect_out(&r, "selftest: interrupt flag FAILED: irq_disable left IF set\n", "--no-rom",
               __LINE__);
    RUN(&r, "--rom", t_env("MON_ROM"), "--timeout", "20", t_env("SPT_KERNEL"), "selftest");
    expect(&r, 1, NULL, "pvlink-run's ROM", __LINE__);
    expect_out(&r, "declined this machine (its probe returned 0): all ", "pvlink-run's ROM",
               __LINE__);
    expect_out(&r, "selftest: interrupt flag FAILED: irq_disable left IF set\n",
               "pvlink-run's ROM", __LINE__);
    expect_out(&r, "selftest: timer interrupt ok\n", "pvlink-run's ROM", __LINE__);
}

/* ------------------------------------------------------------------------
 * Small guests, hostile guests.
 */
static void small_guests(void)
{
    const char *js = tmp("tiny.json");
    struct res r;

    RUN(&r, "--stats", "--stats-json", js, t_env("SPT_TINY"));
    expect(&r, 0, "traps (instructions emulated): 7\n", "tiny", __LINE__);
    CHECK(strcmp(r.out, "tiny\nhello\n") == 0);
    CHECK(json_num(js, "out") == 7);
    CHECK(json_num(js, "hypercalls") == 1);
    CHECK(json_num(js, "console_bytes") == 11);
    RUN(&r, "--no-rom", t_env("SPT_TINY"));
    expect(&r, 0, NULL, "tiny --no-rom", __LINE__);
    RUN(&r, t_env("SPT_FAULT"));
    expect(&r, 66, "guest failed: triple fault: #UD (vector 6) could not be delivered: the "
           "guest is not in long mode", "fault", __LINE__);
    RUN(&r, t_env("SPT_HANG"));
    expect(&r, 66, "guest failed: the guest halted with interrupts disabled: nothing can "
           "wake it (rip 0x100002)", "hang", __LINE__);
}

struct hostile {
    const char *name;
    int status;
    const char *err;  /* on stderr */
    const char *out;  /* on the console */
};

static const struct hostile hostiles[] = {
    /* system calls become what the hardware would make of them */
    {"syscall", 10, NULL, "vector 0x06\n"},
    {"syscall_lstar", 11, NULL, "lstar\n"},
    {"int80", 10, NULL, "vector 0x80\n"},
    /* wild jumps */
    {"wild_unmapped", 10, NULL, "vector 0x0e\n"},
    {"wild_noncanonical", 10, NULL, "vector 0x0d\n"},
    /* page-table tricks */
    {"pt_not_ram", 66, "mapped to 0x80000000: a guest-physical page that is not RAM", NULL},
    {"pt_page0", 66, "the guest touched 0, mapped to 0: page 0, which no process may map", NULL},
    {"pt_high", 66, "the guest touched 0x640000000000, mapped to 0: an address above "
     "pvlink-spt's guest address space", NULL},
    {"pt_cr3", 66, "a page table at guest-physical 0x80000000 lies outside RAM", NULL},
    {"pt_cycle", 66, "the guest's page tables need more than 32768 tables or runs of pages",
     NULL},
    /* interrupts: a storm, a guest that never enables them, and one
     * that enables them with a store (as the ROM's templates do) */
    {"storm", 12, NULL, NULL},
    {"cli_spin", 66, "guest failed: timed out after 1 s", NULL},
    {"if_store", 12, NULL, NULL},
    {"kick", 12, NULL, NULL},
    /* the gate, misused */
    {"gate_op", 66, "the guest called the monitor's gate with unknown operation 50", NULL},
    {"gate_stack", 66, "the guest called the monitor's gate with an unusable stack (rsp 0)",
     NULL},
    /* and used well, it preserves every register but the result */
    {"gate_preserves", 0, NULL, "hello\n"},
};

/* What depends on the host: sysenter is #UD in 64-bit mode on AMD, and
 * taken by the kernel on Intel; the vsyscall page may be absent. */
static bool host_has(const char *file, const char *text)
{
    FILE *f = fopen(file, "r");
    char line[512];
    bool found = false;

    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

static const struct hostile sysenter_intel = {
    "sysenter", 66, "guest failed: the guest executed sysenter, which the host kernel takes "
    "for a 32-bit system call: it ran none, but the guest's rip and rsp are lost", NULL};
static const struct hostile sysenter_amd = {"sysenter", 10, NULL, "vector 0x06\n"};
static const struct hostile vsyscall_there = {
    "wild_vsyscall", 66, "guest failed: the guest made system call 96 from host code, which "
    "the sandbox forbids", NULL};
static const struct hostile vsyscall_gone = {"wild_vsyscall", 10, NULL, "vector 0x0e\n"};

/* Run hostile guest (name) with --timeout (timeout); returns its
 * statistics file. */
static const char *hostile(struct res *r, const char *name, const char *timeout)
{
    const char *js = tmp("hostile.json");
    char path[512];

    snprintf(path, sizeof path, "%s/hostile-%s", t_env("SPT_HOSTILE"), name);
    RUN(r, "--timeout", timeout, "--stats-json", js, path);
    return js;
}

static void run_hostile(const struct hostile *h)
{
    struct res r;

    hostile(&r, h->name, "1");
    expect(&r, h->status, h->err, h->name, __LINE__);
    if (h->out)
        expect_out(&r, h->out, h->name, __LINE__);
}

static void hostile_guests(void)
{
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++)
        run_hostile(&hostiles[i]);
    CHECK(json_num(tmp("hostile.json"), "syscalls") == 0);
    run_hostile(host_has("/proc/cpuinfo", "GenuineIntel") ? &sysenter_intel : &sysenter_amd);
    run_hostile(host_has("/proc/self/maps", "[vsyscall]") ? &vsyscall_there : &vsyscall_gone);
}

/* An interrupt held back by IF: the store that sets IF where the ROM's
 * templates store traps (the page is guarded) and the interrupt is taken;
 * through an alias it does not trap, and the kick timer delivers it. */
static void if_set_by_store(void)
{
    static const struct {
        const char *name;
        long long stores, kicks; /* stores trapped; kicks at least */
    } cases[] = {{"if_store", 1, 0}, {"kick", 0, 1}};
    struct res r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *js = hostile(&r, cases[i].name, "5");
        expect(&r, 12, NULL, cases[i].name, __LINE__);
        CHECK(json_num(js, "interrupts") == 1);
        CHECK(json_num(js, "timer_signals") == 1); /* the PIT's one shot */
        CHECK(json_num(js, "if_stores") == cases[i].stores);
        CHECK(json_num(js, "kicks") >= cases[i].kicks);
    }
}

static void storm_counted(void)
{
    struct res r;
    const char *js = hostile(&r, "storm", "20");

    expect(&r, 12, NULL, "storm", __LINE__);
    CHECK(json_num(js, "interrupts") == 20000);
    js = hostile(&r, "syscall", "20");
    CHECK(json_num(js, "syscalls") == 1);
}
/* ------------------------------------------------------------------------
 * Usage, kernels and ROMs refused.
 */
static void usage_errors(void)
{
    static const struct {
        const char *args[4];
        const char *err;
    } cases[] = {
        {{"--mem", "5", "k"}, "pvlink-spt: --mem: \"5\" is not a number in [8, 3072]\n"},
        {{"--timeout", "0", "k"}, "pvlink-spt: --timeout: \"0\" is not a number in [1, 86400]\n"},
        {{"--policy", "bogus=nop", "k"}, "pvlink-spt: --policy: unknown operation \"bogus\""},
        {{"--no-rom", "--policy", "nop=nop", "k"},
         "pvlink-spt: --no-rom cannot be combined with --rom or --policy\n"
         "(pvlink-spt --help for usage)\n"},
        {{"--stats"}, "pvlink-spt: no KERNEL given\n"},
        {{"--cpus", "2", "k"}, "pvlink-spt: unknown option --cpus\n(pvlink-spt --help for usage)\n"},
        {{"--rom"}, "pvlink-spt: option --rom needs an argument\n"},
        {{"--policy", "all=nop", "k"}, "pvlink-spt: --policy: \"all\" takes only native, got \"nop\"\n"},
    };
    struct res r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(&r, cases[i].args);
        expect(&r, 64, cases[i].err, cases[i].args[0], __LINE__);
    }
    RUN(&r, "--help");
    CHECK(r.status == 0 && strstr(r.out, "usage: pvlink-spt") && strstr(r.out, "66 the guest"));
}

static void refused(void)
{
    static uint8_t img[65536];
    struct res r;
    char want[600];
    int fd;
    ssize_t n;

    RUN(&r, "/nonexistent/kernel");
    expect(&r, 65, "kernel /nonexistent/kernel: No such file or directory", "no kernel file",
           __LINE__);
    RUN(&r, t_env("SPT_ROM"));
    expect(&r, 65, "pvlink-spt: kernel ", "a ROM as kernel", __LINE__);
    expect(&r, 65, ": not an ELF file (bad magic)", "a ROM as kernel", __LINE__);
    CHECK(r.out[0] == 0);
    RUN(&r, "--policy", "read_msr=inline", t_env("SPT_TINY"));
    expect(&r, 65, "--policy read_msr=inline: ROM (built in) offers no inline template for "
           "read_msr", "inline without template", __LINE__);
    RUN(&r, "--policy", "clock_read=nop", t_env("SPT_TINY"));
    expect(&r, 65, "ROM (built in) refused: entry.action[32] (clock_read): NOPs chosen for an operation",
           "nop for clock", __LINE__);
    fd = open(t_env("SPT_ROM"), O_RDONLY);
    n = read(fd, img, sizeof img);
    close(fd);
    CHECK(n > 64);
    ((struct pvl_rom_header *)img)->checksum ^= 1;
    fd = open(tmp("bad.rom"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, img, (size_t)n) == n);
    close(fd);
    RUN(&r, "--rom", tmp("bad.rom"), t_env("SPT_TINY"));
    snprintf(want, sizeof want, "ROM %s refused: header.checksum: ROM checksum mismatch",
             tmp("bad.rom"));
    expect(&r, 65, want, "bad checksum", __LINE__);
    CHECK(r.out[0] == 0);
}

/* ------------------------------------------------------------------------
 * Required operations left native: refused.
 */
static void required_refused(void)
{
    struct res r;

    /* by pvlink-spt, before the guest runs: the core validator's words */
    RUN(&r, "--policy", "restore_fl=native", t_env("SPT_KERNEL"));
    expect(&r, 65, "pvlink-spt: ROM (built in) refused: entry.flags[4] (restore_fl): ROM entry "
           "marks its operation required but keeps it native (0x1)\n", "restore_fl=native", __LINE__);
    CHECK(r.out[0] == 0);
    RUN(&r, "--policy", "save_fl=native", t_env("SPT_KERNEL"));
    expect(&r, 65, "pvlink-spt: ROM (built in) refused: entry.flags[3] (save_fl): ROM entry "
           "marks its operation required but keeps it native (0x1)\n", "save_fl=native", __LINE__);
}

/* A kernel whose linker knows format 2.0 only takes the gates for C
 * functions, which "save" operations do not allow: it refuses the ROM
 * (and, native, fails the interrupt-flag check: popf ignores IF here). */
static void old_reader_refuses(void)
{
    struct res r;

    RUN(&r, "--timeout", "20", t_env("SPT_OLD_KERNEL"), "selftest");
    expect(&r, 1, NULL, "2.0 kernel", __LINE__);
    expect_out(&r, "pvlink: ROM at 0xc0000 rejected: entry.call[5] +6: ff 15 ", "2.0 kernel",
               __LINE__);
    expect_out(&r, " writes rcx, which the entry does not declare\npvlink: ROM rejected, ",
               "2.0 kernel", __LINE__);
    expect_out(&r, "selftest: interrupt flag FAILED: irq_disable left IF set\n", "2.0 kernel",
               __LINE__);
}

T_CASES(T(small_guests), T(usage_errors), T(refused), T(kernel_selftest), T(fixture_kernel),
        T(kernel_selftest_trapped), T(kernel_workloads), T(kernel_relink), T(exact_trap_counts),
        T(kernel_hcfuzz_and_fault), T(native_irqflags_are_wrong), T(required_refused),
        T(old_reader_refuses), T(hostile_guests), T(if_set_by_store), T(storm_counted))
