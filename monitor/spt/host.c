/*
 * The process around the guest, set up before the first guest
 * instruction: what the host CPU offers (FSGSBASE, CPUID, the TSC's
 * rate), guest RAM and the reserved guest addresses, signal handlers,
 * timers, and the sandbox.
 *
 * The sandbox, in order:
 *   1. CPUID faulting (arch_prctl ARCH_SET_CPUID 0): the guest's cpuid
 *      traps, so that it sees pvlink-spt's answers (a host without it
 *      runs the guest with the host's CPUID, and says so);
 *   2. Syscall User Dispatch for every address below SPT_VA_HI: a system
 *      call from guest code (syscall, sysenter, int 0x80) becomes SIGSYS
 *      before the kernel looks at it;
 *   3. a seccomp filter, the same for guest and monitor (they share the
 *      process): six system calls, from monitor addresses only, with their
 *      arguments checked where it matters; anything else raises SIGSYS.
 *        write           to stdout, stderr and the --stats-json file
 *        exit_group
 *        rt_sigreturn
 *        rt_sigtimedwait halt
 *        timer_settime   the PIT's host timer and the kick timer only
 *        mmap            guest pages: the memfd MAP_SHARED|MAP_FIXED, or
 *                        PROT_NONE anonymous MAP_FIXED reservations
 */
#include <err.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <asm/prctl.h>
#include <cpuid.h>

#include "spt.h"

#define HWCAP2_FSGSBASE (1u << 1)
#define SA_RESTORER 0x04000000
#define ALT_STACK (256u << 10)
#define XSAVE_MAX (32u << 10)

uint64_t spt_tsc_hz;
uint64_t spt_host_fs;
uint64_t spt_vdso;
bool spt_cpuid_faulting;
uint32_t spt_rom_leaf[4];

static int tick_timer = -1, deadline_timer = -1, kick_timer = -1;
static bool kick_armed;
static uint64_t tsc_boot, ns_mul; /* ns = (tsc - tsc_boot) * ns_mul >> 32 */
static uint64_t xsave_mask;
static uint8_t xsave_area[XSAVE_MAX] __attribute__((aligned(64)));

/* ------------------------------------------------------------------------
 * CPUID, captured while it still answers.
 */
static const uint32_t captured[] = {0, 1, 7, 0x80000000, 0x80000001, 0x80000002,
                                    0x80000003, 0x80000004, 0x80000007, 0x80000008};
static uint32_t leaves[sizeof captured / sizeof captured[0]][4];

const uint32_t *spt_host_leaf(uint32_t leaf)
{
    static const uint32_t none[4];

    for (size_t i = 0; i < sizeof captured / sizeof captured[0]; i++)
        if (captured[i] == leaf)
            return leaves[i];
    return none;
}

static void capture_cpuid(void)
{
    uint32_t max = __get_cpuid_max(0, NULL), xmax = __get_cpuid_max(0x80000000, NULL);

    for (size_t i = 0; i < sizeof captured / sizeof captured[0]; i++) {
        uint32_t l = captured[i], *v = leaves[i];
        if (l <= max || (l >= 0x80000000 && l <= xmax))
            __cpuid_count(l, 0, v[0], v[1], v[2], v[3]);
    }
}

/* ------------------------------------------------------------------------
 * Time: the TSC, its rate measured against CLOCK_MONOTONIC_RAW.
 */
static uint64_t mono_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC_RAW, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void calibrate_tsc(void)
{
    uint64_t n0 = mono_ns(), c0 = spt_rdtsc(), n1, c1;

    do
        n1 = mono_ns(), c1 = spt_rdtsc();
    while (n1 - n0 < 5000000); /* 5 ms */
    spt_tsc_hz = (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / (n1 - n0));
    if (spt_tsc_hz < 1000000)
        errx(MON_EXIT_HOST, "the TSC does not count (%llu Hz)", (unsigned long long)spt_tsc_hz);
    tsc_boot = spt_rdtsc();
    ns_mul = (uint64_t)((1000000000ull << 32) / spt_tsc_hz);
}

uint64_t spt_clock_ns(void)
{
    return (uint64_t)(((unsigned __int128)(spt_rdtsc() - tsc_boot) * ns_mul) >> 32);
}

void spt_host_init(void)
{
    uint32_t a, b, c, d;

    if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE))
        errx(MON_EXIT_HOST, "this CPU or kernel does not let user space use "
             "rdfsbase/wrfsbase (FSGSBASE): pvlink-spt needs them");
    __asm__ __volatile__("rdfsbase %0" : "=r"(spt_host_fs));
    spt_vdso = getauxval(AT_SYSINFO_EHDR);
    capture_cpuid();
    __cpuid_count(0xd, 0, a, b, c, d);
    if (b > XSAVE_MAX)
        errx(MON_EXIT_HOST, "the XSAVE area needs %u bytes, more than %u", b, XSAVE_MAX);
    __asm__ __volatile__("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    xsave_mask = ((uint64_t)d << 32 | a) & ~(3ull << 17); /* not AMX tiles */
    calibrate_tsc();
}

/* C library code may use any vector register; the guest's are saved
 * around it (the gate must give them back unchanged). */
static void host_call(void (*fn)(const void *, uint64_t), const void *p, uint64_t n)
{
    uint32_t lo = (uint32_t)xsave_mask, hi = (uint32_t)(xsave_mask >> 32);

    __asm__ __volatile__("xsave64 %0" : "+m"(xsave_area) : "a"(lo), "d"(hi));
    fn(p, n);
    __asm__ __volatile__("xrstor64 %0" : : "m"(xsave_area), "a"(lo), "d"(hi));
}

/* errno of a console write that failed, or 0 */
static int output_errno;

static void output(const void *p, uint64_t n)
{
    if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0)
        output_errno = errno ? errno : EIO;
}

static void hcall(const void *p, uint64_t gpa)
{
    (void)p;
    mon_hcall(&spt_vm, gpa);
}

/* A console that cannot be written (closed, full, gone) ends the run as a
 * host failure, as in pvlink-run. */
void spt_host_output(const char *p, size_t n)
{
    if (output_errno)
        return; /* it failed already: the run is ending, and says why */
    host_call(output, p, n);
    if (output_errno)
        spt_stop(MON_EXIT_HOST, 0, "the console (stdout) cannot be written (%s)",
                 strerror(output_errno));
}

void spt_host_hcall(uint32_t gpa)
{
    host_call(hcall, NULL, gpa);
}

/* ------------------------------------------------------------------------
 * Memory: the memfd, the reservation, the monitor's view.
 */
int spt_host_memory(uint64_t size)
{
    int fd = memfd_create("pvlink-spt guest RAM", MFD_CLOEXEC);
    void *p;

    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        err(MON_EXIT_HOST, "guest RAM: memfd of %llu MiB", (unsigned long long)(size >> 20));
    p = mmap((void *)SPT_VA_LO, SPT_VA_HI - SPT_VA_LO, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)SPT_VA_LO)
        errx(MON_EXIT_HOST, "cannot reserve the guest's addresses [%#llx, %#llx): something "
             "else is mapped there", SPT_VA_LO, SPT_VA_HI);
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        err(MON_EXIT_HOST, "guest RAM: mapping %llu MiB", (unsigned long long)(size >> 20));
    spt_mem_init(fd, p, size);
    return fd;
}

/* ------------------------------------------------------------------------
 * Signals and timers.
 */
struct ksigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static void handle(int sig)
{
    struct ksigaction sa = {(void *)spt_sig_entry, SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
                            (void *)spt_sigreturn, ~0ull};

    if (syscall(SYS_rt_sigaction, sig, &sa, NULL, 8) != 0)
        err(MON_EXIT_HOST, "sigaction(%d)", sig);
}

static int make_timer(int sig, int value)
{
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig,
                          .sigev_value = {.sival_int = value}};
    int id;

    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) != 0)
        err(MON_EXIT_HOST, "timer_create");
    return id;
}

void spt_host_signals(unsigned timeout)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGALRM,
                               SPT_SIG_TICK};
    stack_t ss = {.ss_sp = aligned_alloc(64, ALT_STACK), .ss_size = ALT_STACK};
    struct itimerspec dl = {.it_value = {.tv_sec = timeout}};

    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        err(MON_EXIT_HOST, "sigaltstack");
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        handle(sigs[i]);
    signal(SIGPIPE, SIG_IGN);
    tick_timer = make_timer(SPT_SIG_TICK, 0);
    kick_timer = make_timer(SPT_SIG_TICK, SPT_KICK_ID);
    deadline_timer = make_timer(SIGALRM, 0);
    spt_timeout = timeout;
    if (timeout && syscall(SYS_timer_settime, deadline_timer, 0, &dl, NULL) != 0)
        err(MON_EXIT_HOST, "timer_settime");
}

void spt_timer_set(uint64_t ns, bool periodic)
{
    uint64_t period = periodic ? ns : 0;
    struct {
        long isec, insec, vsec, vnsec;
    } its = {(long)(period / 1000000000u), (long)(period % 1000000000u),
             (long)(ns / 1000000000u), (long)(ns % 1000000000u)};
    long r = spt_syscall(SYS_timer_settime, tick_timer, 0, (long)&its, 0, 0, 0);

    if (r < 0)
        spt_stop(MON_EXIT_HOST, 0, "timer_settime failed (errno %ld)", -r);
}

void spt_kick_arm(void)
{
    struct {
        long isec, insec, vsec, vnsec;
    } its = {0, 0, 0, SPT_KICK_NS};
    long r;

    if (kick_armed)
        return;
    r = spt_syscall(SYS_timer_settime, kick_timer, 0, (long)&its, 0, 0, 0);
    if (r < 0)
        spt_stop(MON_EXIT_HOST, 0, "timer_settime (kick) failed (errno %ld)", -r);
    kick_armed = true;
}

void spt_kick_fired(void)
{
    kick_armed = false;
}

/* ------------------------------------------------------------------------
 * The sandbox.
 */
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define DENY RET(SECCOMP_RET_TRAP)

static void install_filter(int memfd, int json_fd)
{
    const uint32_t guest_mmap = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;
    struct sock_filter f[] = {
        /* 0 */ LD(offsetof(struct seccomp_data, arch)),
        JEQ(AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_KILL_PROCESS),
        LD(offsetof(struct seccomp_data, instruction_pointer) + 4),
        JGE((uint32_t)(SPT_VA_HI >> 32), 1, 0), /* only from monitor code */
        /* 5 */ DENY,
        LD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_exit_group, 4, 0),
        JEQ(SYS_rt_sigreturn, 3, 0),
        JEQ(SYS_rt_sigtimedwait, 2, 0),
        /* 10 */ JEQ(SYS_write, 2, 0),
        JEQ(SYS_timer_settime, 7, 11),
        ALLOW,
        /* 13: write */ LD(ARG_LO(0)),
        JEQ(1, 3, 0),
        /* 15 */ JEQ(2, 2, 0),
        JEQ((uint32_t)json_fd, 1, 0),
        DENY,
        ALLOW,
        /* 19: timer_settime */ LD(ARG_LO(0)),
        /* 20 */ JEQ((uint32_t)tick_timer, 1, 0),
        JEQ((uint32_t)kick_timer, 0, 12),
        ALLOW,
        /* 23: mmap */ JEQ(SYS_mmap, 0, 10),
        LD(ARG_HI(0)), /* addr below SPT_VA_HI */
        /* 25 */ JGE((uint32_t)(SPT_VA_HI >> 32), 8, 0),
        LD(ARG_LO(4)),
        JEQ((uint32_t)memfd, 0, 2),
        LD(ARG_LO(3)),
        JEQ(MAP_SHARED | MAP_FIXED, 5, 4),
        /* 30: anonymous */ LD(ARG_LO(2)),
        JEQ(PROT_NONE, 0, 2),
        LD(ARG_LO(3)),
        JEQ(guest_mmap, 1, 0),
        /* 34 */ DENY,
        ALLOW,
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        err(MON_EXIT_HOST, "seccomp");
}

void spt_host_sandbox(int memfd, int json_fd)
{
    if ((uintptr_t)spt_syscall < SPT_VA_HI || (uintptr_t)write < SPT_VA_HI ||
        (uintptr_t)&memfd < SPT_VA_HI)
        errx(MON_EXIT_HOST, "the monitor itself lies below %#llx, where the guest lives",
             SPT_VA_HI);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0)
        spt_cpuid_faulting = true;
    else if (errno == ENODEV)
        warnx("this host has no CPUID faulting: the guest sees the host's CPUID, not "
              "pvlink-spt's, and finds the ROM by scanning for it");
    else
        err(MON_EXIT_HOST, "CPUID faulting (arch_prctl ARCH_SET_CPUID)");
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, SPT_VA_HI,
              0x800000000000ull - SPT_VA_HI, 0) != 0)
        err(MON_EXIT_HOST, "Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH)");
    install_filter(memfd, json_fd);
}
