/*
 * The VM: KVM setup, guest memory, the vCPUs and CPUID with the pvlink
 * leaves.  The boot CPU (vCPU 0) starts in the PVH entry state (32-bit
 * protected mode, paging off, flat segments, ebx -> start_info); the
 * others wait, as KVM creates them with an in-kernel local APIC, for the
 * INIT and STARTUP IPIs the guest sends.  vCPU i has APIC id i.
 */
#include <err.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mon.h"

static int kvm_ioctl(int fd, unsigned long req, void *arg, const char *what)
{
    int r = ioctl(fd, req, arg);
    if (r < 0)
        err(MON_EXIT_HOST, "KVM: ioctl (%s) failed", what);
    return r;
}

static void need_cap(int kvm, int cap, const char *what)
{
    if (ioctl(kvm, KVM_CHECK_EXTENSION, cap) <= 0)
        errx(MON_EXIT_HOST, "KVM: capability %s is missing", what);
}

static void create_memory(struct mon_vm *vm, uint64_t size)
{
    struct kvm_userspace_memory_region r = {.slot = 0, .guest_phys_addr = 0,
                                            .memory_size = size};

    vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
                   MAP_NORESERVE, -1, 0);
    if (vm->mem == MAP_FAILED)
        err(MON_EXIT_HOST, "guest memory (%llu MiB)", (unsigned long long)(size >> 20));
    vm->mem_size = size;
    r.userspace_addr = (uintptr_t)vm->mem;
    kvm_ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION, &r, "SET_USER_MEMORY_REGION");
}

/*
 * A real PIT does not queue the ticks a CPU missed while interrupts were
 * off; KVM's by default re-injects them back to back afterwards, which a
 * guest that has just spent a while with interrupts off (linking, say)
 * sees as a storm of ticks.  Turn that off where KVM allows it.
 */
static void pit_discard_lost_ticks(struct mon_vm *vm)
{
    struct kvm_reinject_control rc = {.pit_reinject = 0};

    if (ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_REINJECT_CONTROL) > 0)
        kvm_ioctl(vm->vm, KVM_REINJECT_CONTROL, &rc, "REINJECT_CONTROL");
}

static void create_vcpu(struct mon_vm *vm, unsigned i)
{
    struct mon_vcpu *c = &vm->cpu[i];

    c->vm = vm;
    c->index = i;
    c->fd = kvm_ioctl(vm->vm, KVM_CREATE_VCPU, (void *)(uintptr_t)i, "CREATE_VCPU");
    c->run_size = (size_t)kvm_ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "GET_VCPU_MMAP_SIZE");
    c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED)
        err(MON_EXIT_HOST, "KVM: mmap of kvm_run");
    c->stats_fd = ioctl(c->fd, KVM_GET_STATS_FD, 0); /* optional */
}

void mon_vm_create(struct mon_vm *vm, uint64_t mem_size, unsigned ncpus)
{
    struct kvm_pit_config pit = {.flags = 0};

    if ((vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
        err(MON_EXIT_HOST, "/dev/kvm");
    if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        errx(MON_EXIT_HOST, "KVM: API version is not %d", KVM_API_VERSION);
    need_cap(vm->kvm, KVM_CAP_USER_MEMORY, "USER_MEMORY");
    need_cap(vm->kvm, KVM_CAP_IRQCHIP, "IRQCHIP");
    need_cap(vm->kvm, KVM_CAP_PIT2, "PIT2");
    need_cap(vm->kvm, KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT");
    if (ncpus > 1 && ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS) < (int)ncpus &&
        ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS) < (int)ncpus)
        errx(MON_EXIT_HOST, "KVM: %u vCPUs are more than this host allows", ncpus);
    vm->vm = kvm_ioctl(vm->kvm, KVM_CREATE_VM, 0, "CREATE_VM");
    kvm_ioctl(vm->vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)MON_TSS_ADDR, "SET_TSS_ADDR");
    kvm_ioctl(vm->vm, KVM_CREATE_IRQCHIP, 0, "CREATE_IRQCHIP");
    kvm_ioctl(vm->vm, KVM_CREATE_PIT2, &pit, "CREATE_PIT2");
    pit_discard_lost_ticks(vm);
    create_memory(vm, mem_size);
    vm->ncpus = ncpus;
    for (unsigned i = 0; i < ncpus; i++)
        create_vcpu(vm, i);
}

/* ------------------------------------------------------------------------
 * CPUID: what KVM supports, with the hypervisor bit, each vCPU's APIC id
 * and the pvlink leaves.
 */

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn)
            return &c->entries[i];
    return NULL;
}

static void set_leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t a, uint32_t b, uint32_t cx,
                     uint32_t d)
{
    struct kvm_cpuid_entry2 *e = leaf(c, fn);

    if (!e)
        e = &c->entries[c->nent++];
    *e = (struct kvm_cpuid_entry2){.function = fn, .eax = a, .ebx = b, .ecx = cx, .edx = d};
}

/* The supported leaves minus KVM's own hypervisor leaves, with the
 * hypervisor bit set and the pvlink leaves added. */
static struct kvm_cpuid2 *cpuid_template(struct mon_vm *vm)
{
    const uint32_t max = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + (max + 4) * sizeof c->entries[0]);
    uint32_t rom_flags = vm->rom_present ? PVL_HV_ROM_PRESENT : 0, n = 0;

    if (!c)
        err(MON_EXIT_HOST, "CPUID table");
    c->nent = max;
    kvm_ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, c, "GET_SUPPORTED_CPUID");
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 e = c->entries[i];
        if (e.function >= PVL_HV_CPUID_BASE && e.function < PVL_HV_CPUID_BASE + 0x100)
            continue; /* KVM's own hypervisor leaves make way for ours */
        if (e.function == 1)
            e.ecx |= 1u << 31; /* running under a hypervisor */
        c->entries[n++] = e;
    }
    c->nent = n;
    if (vm->late_link)
        rom_flags |= PVL_HV_ROM_LATE;
    if (vm->rom2.img)
        rom_flags |= PVL_HV_ROM_SWITCH;
    set_leaf(c, PVL_HV_CPUID_BASE, PVL_HV_CPUID_INFO, PVL_HV_SIG_EBX, PVL_HV_SIG_ECX,
             PVL_HV_SIG_EDX);
    set_leaf(c, PVL_HV_CPUID_ROM, vm->rom_present ? (uint32_t)vm->rom.gpa : 0,
             vm->rom_present ? (uint32_t)vm->rom.size : 0,
             vm->rom_present ? (uint32_t)vm->rom.region : 0, rom_flags);
    set_leaf(c, PVL_HV_CPUID_INFO, PVL_HV_ABI_VERSION, PVL_HV_PORT, 0, 0);
    return c;
}

/* vCPU (id)'s APIC id in leaf 1 (initial APIC id) and in the x2APIC
 * topology leaves 0xb and 0x1f (every subleaf). */
static void set_apic_id(struct kvm_cpuid2 *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1)
            e->ebx = (e->ebx & 0x00ffffffu) | id << 24;
        else if (e->function == 0xb || e->function == 0x1f)
            e->edx = id;
    }
}

static void setup_cpuid(struct mon_vm *vm)
{
    struct kvm_cpuid2 *c = cpuid_template(vm);

    for (unsigned i = 0; i < vm->ncpus; i++) {
        set_apic_id(c, i);
        kvm_ioctl(vm->cpu[i].fd, KVM_SET_CPUID2, c, "SET_CPUID2");
    }
    free(c);
}

/* ------------------------------------------------------------------------
 * PVH entry: registers (boot.c writes start_info, memory map, command
 * line).
 */

static struct kvm_segment flat(uint16_t sel, uint8_t type)
{
    return (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = sel,
                                .type = type, .present = 1, .s = 1, .db = 1, .g = 1};
}

static void setup_registers(struct mon_vm *vm, uint32_t entry)
{
    struct kvm_sregs s;
    struct kvm_regs r = {.rip = entry, .rbx = MON_START_INFO, .rflags = 2};
    int fd = vm->cpu[0].fd;

    kvm_ioctl(fd, KVM_GET_SREGS, &s, "GET_SREGS");
    s.cs = flat(0x8, 0xb);
    s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, 0x3);
    s.tr = (struct kvm_segment){.base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb,
                                .present = 1};
    s.cr0 = 0x11; /* PE | ET */
    s.cr4 = 0, s.efer = 0;
    kvm_ioctl(fd, KVM_SET_SREGS, &s, "SET_SREGS");
    kvm_ioctl(fd, KVM_SET_REGS, &r, "SET_REGS");
}

void mon_vm_boot(struct mon_vm *vm, uint32_t entry, const char *cmdline)
{
    mon_pvh_write(vm, cmdline, vm->acpi ? mon_acpi_build(vm) : 0, 0);
    setup_cpuid(vm);
    setup_registers(vm, entry);
}

uint32_t mon_vm_tsc_khz(struct mon_vm *vm)
{
    int khz = ioctl(vm->cpu[0].fd, KVM_GET_TSC_KHZ, 0);
    if (khz <= 0)
        err(MON_EXIT_HOST, "KVM: ioctl (GET_TSC_KHZ) failed");
    return (uint32_t)khz;
}

uint64_t mon_vm_guest_tsc(struct mon_vm *vm)
{
    union { /* a header and one entry: the ioctl's variable-sized layout */
        struct kvm_msrs h;
        uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } m = {.h = {.nmsrs = 1}};

    m.h.entries[0].index = 0x10; /* IA32_TIME_STAMP_COUNTER */
    if (ioctl(vm->cpu[0].fd, KVM_GET_MSRS, &m) != 1)
        err(MON_EXIT_HOST, "KVM: ioctl (GET_MSRS, TSC) failed");
    return m.h.entries[0].data;
}
