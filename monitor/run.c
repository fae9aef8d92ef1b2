/*
 * Running the guest: one thread per vCPU in KVM_RUN, handling its own
 * exits under the VM lock (COM1, the debug-exit port, the hypercall port,
 * MMIO nobody owns); the main thread waits for the end, the timeout, and
 * the ROM switch (SIGUSR1 or a deadline).  Ports nobody owns read as all
 * ones and ignore writes, and are counted.
 *
 * Stopping: the first status set wins (the guest's exit, a failure, the
 * timeout, a closed console); every vCPU is then kicked out of KVM_RUN
 * with immediate_exit and a signal (a halted vCPU with an in-kernel
 * irqchip leaves KVM_RUN only that way).
 */
#include <err.h>
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "mon.h"

/* Thread-directed: kicks a vCPU thread out of KVM_RUN. */
#define SIG_KICK (SIGRTMIN + 0)
/* Process-directed, waited for by the main thread: a vCPU thread ended. */
#define SIG_DONE (SIGRTMIN + 1)

/* One port access: (data) holds (size) bytes to write or room to read. */
typedef void (*port_fn)(struct mon_vm *vm, uint16_t port, int out, uint8_t *data,
                        int size);

static void com1(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    int reg = port - MON_COM1;
    (void)size;
    if (out) {
        if (reg == 3)
            vm->com1_lcr = data[0];
        if (reg == 0 && !(vm->com1_lcr & 0x80)) /* THR, not the divisor latch */
            mon_console(vm, data, 1);
        return;
    }
    data[0] = reg == 5 ? 0x60 : reg == 2 ? 0x01 : reg == 3 ? vm->com1_lcr : 0;
}

static void debug_exit(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    (void)port;
    if (!out) {
        memset(data, 0xff, (size_t)size);
        return;
    }
    unsigned v = data[0] | (size > 1 ? (unsigned)data[1] << 8 : 0);
    mon_stop_locked(vm, v > MON_GUEST_STATUS_MAX ? MON_GUEST_STATUS_MAX : (int)v);
}

static void hcall_port(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    uint32_t gpa;
    (void)port;
    if (!out || size != 4) {
        if (!out)
            memset(data, 0xff, (size_t)size);
        mon_hcall_malformed(vm); /* only a 32-bit OUT is a hypercall */
        return;
    }
    memcpy(&gpa, data, 4);
    mon_hcall(vm, gpa);
}

static void io_delay(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    (void)vm, (void)port;
    if (!out)
        memset(data, 0xff, (size_t)size);
}

static void unowned(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    (void)port;
    vm->st.unknown_port++;
    if (!out)
        memset(data, 0xff, (size_t)size);
}

static const struct {
    uint16_t lo, hi;
    port_fn fn;
} ports[] = {
    {MON_COM1, MON_COM1 + 7, com1},
    {PVL_DEBUG_EXIT_PORT, PVL_DEBUG_EXIT_PORT + 1, debug_exit},
    {PVL_HV_PORT, PVL_HV_PORT, hcall_port},
    {0x80, 0x80, io_delay},
};

static port_fn port_owner(uint16_t port)
{
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        if (port >= ports[i].lo && port <= ports[i].hi)
            return ports[i].fn;
    return unowned;
}

static void handle_io(struct mon_vcpu *c)
{
    struct mon_vm *vm = c->vm;
    struct kvm_run *r = c->run;
    uint8_t *data = (uint8_t *)r + r->io.data_offset;
    int out = r->io.direction == KVM_EXIT_IO_OUT;
    port_fn fn = port_owner(r->io.port);

    for (uint32_t i = 0; i < r->io.count && vm->exit_status < 0; i++) {
        (out ? vm->st.io_out : vm->st.io_in)[r->io.port]++;
        fn(vm, r->io.port, out, data + (size_t)i * r->io.size, r->io.size);
    }
}

void mon_stop_locked(struct mon_vm *vm, int status)
{
    if (vm->exit_status >= 0)
        return;
    vm->exit_status = status;
    for (unsigned i = 0; i < vm->ncpus; i++)
        vm->cpu[i].run->immediate_exit = 1;
}

static void guest_failed(struct mon_vcpu *c, const char *what)
{
    mon_stop_locked(c->vm, MON_EXIT_GUEST);
    if (c->vm->exit_status == MON_EXIT_GUEST && !c->vm->failure) {
        c->vm->failure = what;
        c->vm->failed_cpu = c->index;
    }
}

/* KVM's internal error, with the data it gives (for an emulation failure,
 * the instruction bytes it could not emulate). */
static void internal_error(char *buf, size_t n, const struct kvm_run *r)
{
    size_t k = (size_t)snprintf(buf, n, "KVM internal error (suberror %u", r->internal.suberror);

    for (uint32_t i = 0; i < r->internal.ndata && i < 4 && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%#llx", i ? " " : ", data ",
                              (unsigned long long)r->internal.data[i]);
    if (k < n)
        snprintf(buf + k, n - k, ")");
}

/* One exit, with the VM lock held. */
static void handle_exit(struct mon_vcpu *c)
{
    struct kvm_run *r = c->run;
    static char what[MON_MAX_CPUS][160];

    c->vm->st.exit_reason[r->exit_reason < 64 ? r->exit_reason : 63]++;
    switch (r->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(c);
        return;
    case KVM_EXIT_SHUTDOWN:
        return guest_failed(c, "triple fault (KVM_EXIT_SHUTDOWN)");
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what[c->index], sizeof what[0], "entry failed (hardware reason %#llx)",
                 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        return guest_failed(c, what[c->index]);
    case KVM_EXIT_INTERNAL_ERROR:
        internal_error(what[c->index], sizeof what[0], r);
        return guest_failed(c, what[c->index]);
    case KVM_EXIT_HLT:
        return guest_failed(c, "halted with nothing to wake it");
    case KVM_EXIT_MMIO:
        if (!r->mmio.is_write)
            memset(r->mmio.data, 0xff, sizeof r->mmio.data);
        c->vm->st.unknown_port++; /* no MMIO devices: reads all ones */
        return;
    default:
        snprintf(what[c->index], sizeof what[0], "unexpected exit reason %u", r->exit_reason);
        return guest_failed(c, what[c->index]);
    }
}

static void *vcpu_thread(void *arg)
{
    struct mon_vcpu *c = arg;
    struct mon_vm *vm = c->vm;
    sigset_t kick;

    sigemptyset(&kick);
    sigaddset(&kick, SIG_KICK);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
    for (;;) {
        int r = ioctl(c->fd, KVM_RUN, 0), e = errno;
        pthread_mutex_lock(&vm->lock);
        if (r < 0 && e != EINTR && e != EAGAIN) {
            fprintf(stderr, "pvlink-run: KVM: ioctl (RUN) of vCPU %u failed: %s\n", c->index,
                    strerror(e));
            mon_stop_locked(vm, MON_EXIT_HOST);
        } else if (r == 0) {
            handle_exit(c);
        }
        int stop = vm->exit_status >= 0;
        pthread_mutex_unlock(&vm->lock);
        if (stop)
            break;
    }
    kill(getpid(), SIG_DONE);
    return NULL;
}

static void on_kick(int sig)
{
    (void)sig;
}

/* Publish the switch ROM: its region, then the event the next POLL
 * reports. */
static void rom_switch(struct mon_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->rom2.img && !vm->rom2.published && vm->exit_status < 0) {
        mon_rom_publish(vm, &vm->rom2);
        vm->current = &vm->rom2;
        vm->switch_pending = true;
        vm->st.rom_switches++;
    }
    pthread_mutex_unlock(&vm->lock);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Seconds until (deadline), as a timespec; deadline 0 means none (an hour). */
static struct timespec until(double deadline)
{
    double d = deadline ? deadline - now() : 3600;
    if (d < 0)
        d = 0;
    return (struct timespec){(time_t)d, (long)((d - (time_t)d) * 1e9)};
}

static int kicked_status(struct mon_vm *vm, unsigned timeout)
{
    static char what[64];

    pthread_mutex_lock(&vm->lock);
    if (vm->exit_status < 0) {
        snprintf(what, sizeof what, "timed out after %u s", timeout);
        vm->failure = what;
        vm->failed_cpu = 0;
        mon_stop_locked(vm, MON_EXIT_GUEST);
    }
    int s = vm->exit_status;
    pthread_mutex_unlock(&vm->lock);
    return s;
}

/* The main thread: wait for a vCPU to end the run, the timeout or the ROM
 * switch; then stop and join every vCPU. */
static void wait_for_end(struct mon_vm *vm, unsigned timeout, int switch_after)
{
    double start = now(), t_end = timeout ? start + timeout : 0;
    double t_switch = switch_after >= 0 ? start + switch_after : 0;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIG_DONE);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        double next = t_switch && (!t_end || t_switch < t_end) ? t_switch : t_end;
        struct timespec ts = until(next);
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIG_DONE)
            return;
        if (sig == SIGUSR1 || (t_switch && now() >= t_switch)) {
            rom_switch(vm);
            t_switch = 0;
        }
        if (t_end && now() >= t_end) {
            kicked_status(vm, timeout);
            return;
        }
    }
}

/* Where the guest stopped, for a failure message. */
static unsigned long long rip_of(struct mon_vcpu *c)
{
    struct kvm_regs regs;
    return ioctl(c->fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
}

int mon_run(struct mon_vm *vm, unsigned timeout, int switch_after)
{
    struct sigaction sa = {.sa_handler = on_kick};
    sigset_t block;

    sigaction(SIG_KICK, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIG_KICK);
    sigaddset(&block, SIG_DONE);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL); /* threads inherit it */
    vm->exit_status = -1;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if ((errno = pthread_create(&vm->cpu[i].thread, NULL, vcpu_thread, &vm->cpu[i])))
            err(MON_EXIT_HOST, "vCPU thread");
    wait_for_end(vm, timeout, switch_after);
    pthread_mutex_lock(&vm->lock);
    mon_stop_locked(vm, MON_EXIT_GUEST); /* a no-op unless nothing was set */
    pthread_mutex_unlock(&vm->lock);
    for (unsigned i = 0; i < vm->ncpus; i++)
        pthread_kill(vm->cpu[i].thread, SIG_KICK);
    for (unsigned i = 0; i < vm->ncpus; i++)
        pthread_join(vm->cpu[i].thread, NULL);
    fflush(stdout);
    if (vm->failure)
        fprintf(stderr, "pvlink-run: guest failed: %s (vCPU %u, rip %#llx)\n", vm->failure,
                vm->failed_cpu, rip_of(&vm->cpu[vm->failed_cpu]));
    else if (vm->console_errno)
        fprintf(stderr, "pvlink-run: the console (stdout) cannot be written (%s); guest "
                "stopped\n", strerror(vm->console_errno));
    return vm->exit_status;
}
