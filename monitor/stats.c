/*
 * --stats and --stats-json: exits by reason and by port as the monitor saw
 * them (exits to user space), hypercalls, errors, and KVM's own counters
 * from the vCPU's binary stats (every exit, including those the kernel
 * handled: in-kernel PIT and PIC, interrupts).
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
static const char *const hcall_names[8] = {"unknown", "puts", "exit", "poll", "nop"};

/* KVM vCPU counters worth reporting, read from the binary stats fd. */
static const char *const kvm_counters[] = {"exits", "io_exits", "mmio_exits", "halt_exits",
                                          "irq_exits", "irq_window_exits", "hypercalls",
                                          "insn_emulation"};
#define NKVM (sizeof kvm_counters / sizeof kvm_counters[0])

/* Fill (val) for each name in kvm_counters; returns 0 if none could be read. */
static int read_kvm_stats(const struct mon_vm *vm, uint64_t val[NKVM], int have[NKVM])
{
    struct kvm_stats_header h;
    int any = 0;

    memset(have, 0, NKVM * sizeof have[0]);
    if (vm->stats_fd < 0 || pread(vm->stats_fd, &h, sizeof h, 0) != sizeof h)
        return 0;
    size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
    char *descs = calloc(h.num_desc, dsz);
    if (!descs || pread(vm->stats_fd, descs, dsz * h.num_desc, h.desc_offset) < 0) {
        free(descs);
        return 0;
    }
    for (uint32_t i = 0; i < h.num_desc; i++) {
        const struct kvm_stats_desc *d = (const void *)(descs + i * dsz);
        for (size_t k = 0; k < NKVM; k++)
            if (!strncmp(d->name, kvm_counters[k], h.name_size) && d->size == 1 &&
                pread(vm->stats_fd, &val[k], 8, h.data_offset + d->offset) == 8)
                have[k] = any = 1;
    }
    free(descs);
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

    fprintf(f, "pvlink-run: exits to the monitor: %llu\n", (unsigned long long)user_exits(vm));
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
            fprintf(f, "  hypercall %-6s %12llu\n", hcall_names[i] ? hcall_names[i] : "?",
                    (unsigned long long)vm->st.hcall[i]);
    fprintf(f, "  hypercall errors %12llu\n  unowned ports    %12llu\n",
            (unsigned long long)vm->st.hcall_errors, (unsigned long long)vm->st.unknown_port);
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

int mon_stats_json(const struct mon_vm *vm, const char *path)
{
    FILE *f = fopen(path, "w");
    uint64_t val[NKVM];
    int have[NKVM], first = 1;

    if (!f)
        return -1;
    fprintf(f, "{\n  \"exit_status\": %d,\n  \"user_exits\": %llu,\n  \"by_reason\": {",
            vm->exit_status, (unsigned long long)user_exits(vm));
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
    for (int i = 0; i < 8; i++)
        fprintf(f, "%s\"%s\": %llu", i ? ", " : "", hcall_names[i] ? hcall_names[i] : "reserved",
                (unsigned long long)vm->st.hcall[i]);
    fprintf(f, "},\n  \"hypercall_errors\": %llu,\n  \"unowned_ports\": %llu,\n"
               "  \"console_bytes\": %llu,\n  \"kvm\": {",
            (unsigned long long)vm->st.hcall_errors, (unsigned long long)vm->st.unknown_port,
            (unsigned long long)vm->st.console_bytes);
    first = 1;
    if (read_kvm_stats(vm, val, have))
        for (size_t k = 0; k < NKVM; k++)
            if (have[k]) {
                fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", kvm_counters[k],
                        (unsigned long long)val[k]);
                first = 0;
            }
    fprintf(f, "}\n}\n");
    return fclose(f);
}
