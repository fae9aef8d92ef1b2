/*
 * --stats and --stats-json: exits by reason and by port as the monitor saw
 * them (exits to user space, all vCPUs), hypercalls by number, unknown and
 * malformed hypercalls apart, and KVM's own counters summed over the
 * vCPUs' binary stats (every exit, including those the kernel handled:
 * in-kernel PIT, PIC, local APIC and IOAPIC, interrupts).
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mon.h"

static const char *const reason_names[64] = {
    [KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_IO] = "io", [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_SHUTDOWN] = "shutdown",
    [KVM_EXIT_FAIL_ENTRY] = "fail_entry", [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
};
static const char *const hcall_names[8] = {NULL, "puts", "exit", "poll", "nop", "rom_info"};

/* KVM vCPU counters worth reporting, read from the binary stats fd. */
static const char *const kvm_counters[] = {"exits", "io_exits", "mmio_exits", "halt_exits",
                                          "irq_exits", "irq_window_exits", "hypercalls",
                                          "insn_emulation"};
#define NKVM (sizeof kvm_counters / sizeof kvm_counters[0])

/* Add one vCPU's counters named in kvm_counters to (val); returns 0 if
 * none could be read. */
static int read_vcpu_stats(int fd, uint64_t val[NKVM], int have[NKVM])
{
    struct kvm_stats_header h;
    int any = 0;

    if (fd < 0 || pread(fd, &h, sizeof h, 0) != sizeof h)
        return 0;
    size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
    char *descs = calloc(h.num_desc, dsz);
    if (!descs || pread(fd, descs, dsz * h.num_desc, h.desc_offset) < 0) {
        free(descs);
        return 0;
    }
    for (uint32_t i = 0; i < h.num_desc; i++) {
        const struct kvm_stats_desc *d = (const void *)(descs + i * dsz);
        uint64_t v;
        for (size_t k = 0; k < NKVM; k++)
            if (!strncmp(d->name, kvm_counters[k], h.name_size) && d->size == 1 &&
                pread(fd, &v, 8, h.data_offset + d->offset) == 8)
                val[k] += v, have[k] = any = 1;
    }
    free(descs);
    return any;
}

/* (val) for each name in kvm_counters, summed over the vCPUs; returns 0 if
 * none could be read. */
static int read_kvm_stats(const struct mon_vm *vm, uint64_t val[NKVM], int have[NKVM])
{
    int any = 0;

    memset(val, 0, NKVM * sizeof val[0]);
    memset(have, 0, NKVM * sizeof have[0]);
    for (unsigned i = 0; i < vm->ncpus; i++)
        any |= read_vcpu_stats(vm->cpu[i].stats_fd, val, have);
    return any;
}

static uint64_t user_exits(const struct mon_vm *vm)
{
    uint64_t n = 0;
    for (int i = 0; i < 64; i++)
        n += vm->st.exit_reason[i];
    return n;
}

void mon_stats_print(const struct mon_vm *vm, FILE *f)
{
    uint64_t val[NKVM];
    int have[NKVM];

    fprintf(f, "pvlink-run: exits to the monitor: %llu (%u vCPU%s)\n",
            (unsigned long long)user_exits(vm), vm->ncpus, vm->ncpus > 1 ? "s" : "");
    for (int i = 0; i < 64; i++)
        if (vm->st.exit_reason[i])
            fprintf(f, "  %-16s %12llu\n", reason_names[i] ? reason_names[i] : "other",
                    (unsigned long long)vm->st.exit_reason[i]);
    for (int p = 0; p < 0x10000; p++) {
        if (vm->st.io_out[p])
            fprintf(f, "  out %#06x      %12llu\n", p, (unsigned long long)vm->st.io_out[p]);
        if (vm->st.io_in[p])
            fprintf(f, "  in  %#06x      %12llu\n", p, (unsigned long long)vm->st.io_in[p]);
    }
    for (int i = 0; i < 8; i++)
        if (vm->st.hcall[i])
            fprintf(f, "  hypercall %-8s %10llu\n", hcall_names[i] ? hcall_names[i] : "?",
                    (unsigned long long)vm->st.hcall[i]);
    fprintf(f, "  hypercalls unknown   %8llu\n  hypercalls malformed %8llu\n"
               "  unowned ports    %12llu\n",
            (unsigned long long)vm->st.hcall_unknown, (unsigned long long)vm->st.hcall_malformed,
            (unsigned long long)vm->st.unknown_port);
    if (vm->st.rom_switches)
        fprintf(f, "  ROM switches     %12llu\n", (unsigned long long)vm->st.rom_switches);
    if (read_kvm_stats(vm, val, have)) {
        fprintf(f, "pvlink-run: KVM vCPU counters (all exits, in-kernel ones too):\n");
        for (size_t k = 0; k < NKVM; k++)
            if (have[k])
                fprintf(f, "  %-16s %12llu\n", kvm_counters[k], (unsigned long long)val[k]);
    }
}

static void json_ports(FILE *f, const uint64_t *count, const char *dir, int *first)
{
    for (int p = 0; p < 0x10000; p++)
        if (count[p]) {
            fprintf(f, "%s\n    {\"port\": %d, \"dir\": \"%s\", \"count\": %llu}",
                    *first ? "" : ",", p, dir, (unsigned long long)count[p]);
            *first = 0;
        }
}

int mon_stats_json(const struct mon_vm *vm, FILE *f)
{
    uint64_t val[NKVM];
    int have[NKVM], first = 1;

    fprintf(f, "{\n  \"exit_status\": %d,\n  \"cpus\": %u,\n  \"user_exits\": %llu,\n"
               "  \"by_reason\": {",
            vm->exit_status, vm->ncpus, (unsigned long long)user_exits(vm));
    for (int i = 0; i < 64; i++)
        if (vm->st.exit_reason[i]) {
            fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
                    reason_names[i] ? reason_names[i] : "other",
                    (unsigned long long)vm->st.exit_reason[i]);
            first = 0;
        }
    fprintf(f, "},\n  \"io\": [");
    first = 1;
    json_ports(f, vm->st.io_out, "out", &first);
    json_ports(f, vm->st.io_in, "in", &first);
    fprintf(f, "\n  ],\n  \"hypercalls\": {");
    first = 1;
    for (int i = 0; i < 8; i++)
        if (hcall_names[i]) {
            fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", hcall_names[i],
                    (unsigned long long)vm->st.hcall[i]);
            first = 0;
        }
    fprintf(f, "},\n  \"hypercall_unknown\": %llu,\n  \"hypercall_malformed\": %llu,\n"
               "  \"hypercall_errors\": %llu,\n  \"unowned_ports\": %llu,\n"
               "  \"console_bytes\": %llu,\n  \"rom_switches\": %llu,\n  \"kvm\": {",
            (unsigned long long)vm->st.hcall_unknown, (unsigned long long)vm->st.hcall_malformed,
            (unsigned long long)(vm->st.hcall_unknown + vm->st.hcall_malformed),
            (unsigned long long)vm->st.unknown_port, (unsigned long long)vm->st.console_bytes,
            (unsigned long long)vm->st.rom_switches);
    first = 1;
    if (read_kvm_stats(vm, val, have))
        for (size_t k = 0; k < NKVM; k++)
            if (have[k]) {
                fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", kvm_counters[k],
                        (unsigned long long)val[k]);
                first = 0;
            }
    fprintf(f, "}\n}\n");
    int bad = ferror(f);

    return fclose(f) != 0 || bad ? -1 : 0;
}
