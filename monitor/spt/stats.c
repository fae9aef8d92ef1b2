/*
 * --stats and --stats-json: what the monitor did for the guest.  Traps by
 * emulated instruction, ROM calls into the monitor by operation, virtual
 * interrupts and exceptions delivered, host timer signals, page-table work,
 * and pvlink-run's port and hypercall counters (spt_vm.st).
 */
#include <stdio.h>

#include <pvlink/kernel_ops.h>
#include <pvlink/link.h>

#include "spt.h"

static const char *const hcall_names[8] = {"unknown", "puts", "exit", "poll", "nop",
                                           "rom_info"};

static const char *gate_name(unsigned op)
{
    return op < pvl_kernel_iface.nops ? pvl_kernel_iface.ops[op].name : "?";
}

/* The counters that are one number: JSON key, text (NULL: in the text
 * report's own heading), value. */
struct counter {
    const char *key, *text;
    const uint64_t *v;
};

static const struct counter counters[] = {
    {"interrupts", NULL, &spt_st.irq},
    {"timer_signals", "timer signals (the PIT's)", &spt_st.timer_signals},
    {"kicks", "kick timer signals", &spt_st.kicks},
    {"if_guards", "IF guarded while an interrupt waits", &spt_st.guards},
    {"if_stores", "IF stores trapped and carried out", &spt_st.stores},
    {"halts", "halts", &spt_st.halts},
    {"page_syncs", "page faults mapped (TLB misses)", &spt_st.page_syncs},
    {"reloads", "page-table reloads", &spt_st.reloads},
    {"page_updates", "page updates (invlpg, set_pte)", &spt_st.page_updates},
    {"syscalls", "system calls turned back", &spt_st.syscalls},
};

static const struct counter hcall_counters[] = {
    {"hypercalls_unknown", "hypercalls of unknown number", &spt_vm.st.hcall_unknown},
    {"hypercalls_malformed", "hypercalls malformed", &spt_vm.st.hcall_malformed},
    {"unowned_ports", "accesses to unowned ports", &spt_vm.st.unknown_port},
};

static uint64_t sum(const uint64_t *v, size_t n)
{
    uint64_t s = 0;

    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

void spt_stats_print(FILE *f)
{
    fprintf(f, "pvlink-spt: traps (instructions emulated): %llu\n",
            (unsigned long long)sum(spt_st.trap, SPT_NTRAP));
    for (unsigned i = 0; spt_trap_name(i); i++)
        if (spt_st.trap[i])
            fprintf(f, "  %-28s %12llu\n", spt_trap_name(i), (unsigned long long)spt_st.trap[i]);
    fprintf(f, "pvlink-spt: ROM calls into the monitor (no trap): %llu\n",
            (unsigned long long)sum(spt_st.gate, 64));
    for (unsigned op = 0; op < 64; op++)
        if (spt_st.gate[op])
            fprintf(f, "  %-28s %12llu\n", gate_name(op), (unsigned long long)spt_st.gate[op]);
    fprintf(f, "pvlink-spt: virtual interrupts delivered: %llu\n",
            (unsigned long long)spt_st.irq);
    for (unsigned v = 0; v < 256; v++)
        if (spt_st.exc[v])
            fprintf(f, "  exception/int %-14u %12llu\n", v, (unsigned long long)spt_st.exc[v]);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        if (counters[i].text)
            fprintf(f, "  %-34s %12llu\n", counters[i].text, (unsigned long long)*counters[i].v);
    for (int p = 0; p < 0x10000; p++) {
        if (spt_vm.st.io_out[p])
            fprintf(f, "  out %#06x      %12llu\n", p, (unsigned long long)spt_vm.st.io_out[p]);
        if (spt_vm.st.io_in[p])
            fprintf(f, "  in  %#06x      %12llu\n", p, (unsigned long long)spt_vm.st.io_in[p]);
    }
    for (int i = 0; i < 8; i++)
        if (spt_vm.st.hcall[i])
            fprintf(f, "  hypercall %-6s %12llu\n", hcall_names[i] ? hcall_names[i] : "?",
                    (unsigned long long)spt_vm.st.hcall[i]);
    for (size_t i = 0; i < sizeof hcall_counters / sizeof hcall_counters[0]; i++)
        fprintf(f, "  %-34s %12llu\n", hcall_counters[i].text,
                (unsigned long long)*hcall_counters[i].v);
}

static void json_counts(FILE *f, const char *key, const uint64_t *v, unsigned n,
                        const char *(*name)(unsigned))
{
    int first = 1;

    fprintf(f, "  \"%s\": {", key);
    for (unsigned i = 0; i < n; i++)
        if (v[i] && name(i)) {
            fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", name(i), (unsigned long long)v[i]);
            first = 0;
        }
    fprintf(f, "},\n");
}

static void json_ports(FILE *f)
{
    const char *sep = "";

    fprintf(f, "  \"io\": [");
    for (int p = 0; p < 0x10000; p++)
        for (int out = 1; out >= 0; out--) {
            uint64_t n = out ? spt_vm.st.io_out[p] : spt_vm.st.io_in[p];
            if (!n)
                continue;
            fprintf(f, "%s\n    {\"port\": %d, \"dir\": \"%s\", \"count\": %llu}", sep, p,
                    out ? "out" : "in", (unsigned long long)n);
            sep = ",";
        }
    fprintf(f, "\n  ],\n");
}

static const char *vec_str(unsigned v)
{
    static char buf[256][4];

    snprintf(buf[v], sizeof buf[v], "%u", v);
    return buf[v];
}

int spt_stats_json(FILE *f, int status)
{
    fprintf(f, "{\n  \"exit_status\": %d,\n  \"cpuid_faulting\": %d,\n  \"traps\": %llu,\n",
            status, spt_cpuid_faulting, (unsigned long long)sum(spt_st.trap, SPT_NTRAP));
    json_counts(f, "by_instruction", spt_st.trap, SPT_NTRAP, spt_trap_name);
    fprintf(f, "  \"rom_calls\": %llu,\n", (unsigned long long)sum(spt_st.gate, 64));
    json_counts(f, "rom_calls_by_op", spt_st.gate, 64, gate_name);
    json_counts(f, "exceptions", spt_st.exc, 256, vec_str);
    json_ports(f);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        fprintf(f, "  \"%s\": %llu,\n", counters[i].key, (unsigned long long)*counters[i].v);
    fprintf(f, "  \"hypercalls\": %llu,\n", (unsigned long long)sum(spt_vm.st.hcall, 8));
    for (size_t i = 0; i < sizeof hcall_counters / sizeof hcall_counters[0]; i++)
        fprintf(f, "  \"%s\": %llu,\n", hcall_counters[i].key,
                (unsigned long long)*hcall_counters[i].v);
    fprintf(f, "  \"console_bytes\": %llu\n}\n", (unsigned long long)spt_vm.st.console_bytes);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
