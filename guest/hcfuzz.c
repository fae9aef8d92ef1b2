/*
 * hcfuzz: malformed hypercalls, for the pvlink monitor's tests.  Each one
 * must come back with a negative ret (PVL_HV_EINVAL for a bad address or
 * length, PVL_HV_ENOSYS for an unknown number) and leave the monitor
 * running; a valid PUTS and NOP at the end must still work.
 *
 * "RAM" is what the memory map says: its end is the end of the highest
 * RAM entry.  Hypercall requests are named by 32-bit addresses, so that
 * end must lie below 4 GiB.
 */
#include "kern.h"

#define SENTINEL 0x7eadbeef
#define FOUR_GIB (1ull << 32)

enum where { IN_KERNEL, MISALIGNED, STRADDLING };

struct fuzz {
    const char *name;
    enum where where;
    uint32_t nr;
    int arg_kind; /* how to fill args: see fill_args() */
    int32_t want;
};

enum { ARG_NONE, ARG_PAST_RAM, ARG_WRAP, ARG_RUNS_PAST, ARG_VALID };

static const char valid_msg[] = "hcfuzz: a valid PUTS after the malformed "
                                "ones\n";
static uint64_t reqbuf[16];

static const struct fuzz cases[] = {
    {"request straddling the end of RAM", STRADDLING, PVL_HC_NOP, ARG_NONE,
     -PVL_HV_EINVAL},
    {"PUTS with a buffer past RAM", IN_KERNEL, PVL_HC_PUTS, ARG_PAST_RAM,
     -PVL_HV_EINVAL},
    {"PUTS with a buffer running past RAM", IN_KERNEL, PVL_HC_PUTS,
     ARG_RUNS_PAST, -PVL_HV_EINVAL},
    {"PUTS whose address + length overflows", IN_KERNEL, PVL_HC_PUTS,
     ARG_WRAP, -PVL_HV_EINVAL},
    {"unknown hypercall number 0", IN_KERNEL, 0, ARG_NONE, -PVL_HV_ENOSYS},
    {"unknown hypercall number 0x7fffffff", IN_KERNEL, 0x7fffffff, ARG_NONE,
     -PVL_HV_ENOSYS},
    {"misaligned request", MISALIGNED, PVL_HC_NOP, ARG_NONE, -PVL_HV_EINVAL},
    {"valid PUTS", IN_KERNEL, PVL_HC_PUTS, ARG_VALID,
     (int32_t)sizeof valid_msg - 1},
    {"valid NOP", IN_KERNEL, PVL_HC_NOP, ARG_NONE, 0},
};

static void fill_args(struct pvl_hcall *h, int kind, uint64_t top)
{
    uint64_t buf = (uintptr_t)valid_msg;

    switch (kind) {
    case ARG_PAST_RAM:
        h->args[0] = top + K_PAGE, h->args[1] = 16;
        break;
    case ARG_RUNS_PAST:
        h->args[0] = top - 8, h->args[1] = 64;
        break;
    case ARG_WRAP:
        h->args[0] = buf, h->args[1] = UINT64_MAX - buf + 2;
        break;
    case ARG_VALID:
        h->args[0] = buf, h->args[1] = sizeof valid_msg - 1;
        break;
    }
}

/* Where the request goes; written byte by byte, since it may be
 * misaligned or half outside RAM. */
static uint64_t place(enum where w, uint64_t top)
{
    switch (w) {
    case MISALIGNED:
        return (uintptr_t)reqbuf + 4;
    case STRADDLING:
        return top - 16; /* nr, ret, args[0] in RAM; the rest past it */
    default:
        return (uintptr_t)reqbuf;
    }
}

static int run_case(const struct fuzz *c, uint64_t top)
{
    struct pvl_hcall h = {.nr = c->nr, .ret = SENTINEL};
    uint64_t gpa = place(c->where, top);
    size_t len = c->where == STRADDLING ? 16 : sizeof h;
    int32_t ret;

    fill_args(&h, c->arg_kind, top);
    memcpy((void *)(uintptr_t)gpa, &h, len);
    k_hcall_raw((uint32_t)gpa);
    memcpy(&ret, (const void *)(uintptr_t)(gpa + offsetof(struct pvl_hcall, ret)),
           sizeof ret);
    if (ret != c->want) {
        k_printf("hcfuzz: %s (request at %#llx): ret %d, expected %d%s\n",
                 c->name, (unsigned long long)gpa, ret, c->want,
                 ret == SENTINEL ? " (ret not written)" : "");
        return -1;
    }
    k_printf("hcfuzz: %s: ret %d ok\n", c->name, ret);
    return 0;
}

int k_hcfuzz(void)
{
    uint64_t top = k_boot.ram_top;
    unsigned failed = 0;

    if (!k_hv.present) {
        k_puts("SKIP hcfuzz: no pvlink monitor\n");
        return 0;
    }
    if (top < K_PAGE || top >= FOUR_GIB || top % 8) {
        k_printf("hcfuzz: RAM ends at %#llx: needs a memory map whose RAM "
                 "ends, 8-aligned, below 4 GiB\n",
                 (unsigned long long)top);
        return -1;
    }
    /* A request past RAM cannot get an answer: surviving it is the test. */
    k_hcall_raw((uint32_t)top);
    k_printf("hcfuzz: request at %#llx past RAM: survived\n",
             (unsigned long long)top);
    for (size_t i = 0; i < K_ARRAY_LEN(cases); i++)
        failed += run_case(&cases[i], top) != 0;
    if (failed) {
        k_printf("FAILURE: %u of %zu hypercall checks failed\n", failed,
                 K_ARRAY_LEN(cases) + 1);
        return -1;
    }
    k_puts("SUCCESS\n");
    return 0;
}
