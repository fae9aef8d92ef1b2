/*
 * The run loop and port I/O: COM1, the debug-exit port, the hypercall port.
 * Ports nobody owns read as all ones and ignore writes, and are counted.
 */
#include <err.h>
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mon.h"

static volatile sig_atomic_t timed_out;
static struct kvm_run *alarm_run;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    alarm_run->immediate_exit = 1;
}

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
        if (reg == 0 && !(vm->com1_lcr & 0x80)) { /* THR, not the divisor latch */
            putchar(data[0]);
            vm->st.console_bytes++;
            if (data[0] == '\n')
                fflush(stdout);
        }
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
    vm->exit_status = v > MON_GUEST_STATUS_MAX ? MON_GUEST_STATUS_MAX : (int)v;
}

static void hcall_port(struct mon_vm *vm, uint16_t port, int out, uint8_t *data, int size)
{
    uint32_t gpa;
    (void)port;
    if (!out || size != 4) {
        if (!out)
            memset(data, 0xff, (size_t)size);
        vm->st.hcall_errors++; /* only a 32-bit OUT is a hypercall */
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

static void handle_io(struct mon_vm *vm)
{
    struct kvm_run *r = vm->run;
    uint8_t *data = (uint8_t *)r + r->io.data_offset;
    int out = r->io.direction == KVM_EXIT_IO_OUT;
    port_fn fn = port_owner(r->io.port);

    for (uint32_t i = 0; i < r->io.count && vm->exit_status < 0; i++) {
        (out ? vm->st.io_out : vm->st.io_in)[r->io.port]++;
        fn(vm, r->io.port, out, data + (size_t)i * r->io.size, r->io.size);
    }
}

static int guest_failed(struct mon_vm *vm, const char *what)
{
    struct kvm_regs regs;
    unsigned long long rip = 0;

    if (ioctl(vm->vcpu, KVM_GET_REGS, &regs) == 0)
        rip = regs.rip;
    fflush(stdout);
    fprintf(stderr, "pvlink-run: guest failed: %s (rip %#llx)\n", what, rip);
    return MON_EXIT_GUEST;
}

/* One exit; returns -1 to go on, or pvlink-run's exit status. */
static int handle_exit(struct mon_vm *vm)
{
    struct kvm_run *r = vm->run;
    char what[96];

    vm->st.exit_reason[r->exit_reason < 64 ? r->exit_reason : 63]++;
    switch (r->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(vm);
        return vm->exit_status;
    case KVM_EXIT_SHUTDOWN:
        return guest_failed(vm, "triple fault (KVM_EXIT_SHUTDOWN)");
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof what, "entry failed (hardware reason %#llx)",
                 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        return guest_failed(vm, what);
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof what, "KVM internal error (suberror %u)", r->internal.suberror);
        return guest_failed(vm, what);
    case KVM_EXIT_HLT:
        return guest_failed(vm, "halted with nothing to wake it");
    case KVM_EXIT_MMIO:
        if (!r->mmio.is_write)
            memset(r->mmio.data, 0xff, sizeof r->mmio.data);
        vm->st.unknown_port++; /* no MMIO devices: reads all ones */
        return -1;
    default:
        snprintf(what, sizeof what, "unexpected exit reason %u", r->exit_reason);
        return guest_failed(vm, what);
    }
}

int mon_run(struct mon_vm *vm, unsigned timeout)
{
    int status = -1;

    alarm_run = vm->run;
    signal(SIGALRM, on_alarm);
    alarm(timeout);
    vm->exit_status = -1;
    while (status < 0) {
        if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
            if (errno != EINTR && errno != EAGAIN)
                err(MON_EXIT_HOST, "KVM: ioctl (RUN) failed");
            if (timed_out) {
                char what[64];
                snprintf(what, sizeof what, "timed out after %u s", timeout);
                return guest_failed(vm, what);
            }
            continue;
        }
        status = handle_exit(vm);
    }
    alarm(0);
    fflush(stdout);
    return status;
}
