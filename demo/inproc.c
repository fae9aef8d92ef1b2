/*
 * pvlink's in-process demonstration: this program's own sites (the kernel
 * catalog operations that are safe in user space) are linked against two
 * ROMs built in memory, and back to native.  For each, it prints the plan
 * (what every site becomes) and runs the operations.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel.h>

#include "../runtime/image.h"
#include "../tools/romb.h"

/* ------------------------------------------------------------------------
 * The program: the natives it supplies, and code with sites.
 */

void pvk_native_console_write(const char *buf, size_t len)
{
    printf("    console (native): %.*s\n", (int)len, buf);
}

static uint64_t native_clock;
uint64_t pvk_native_clock_read(void) { return native_clock += 1000; }

/* What the ROM's console_write recorded: a call entry may not call C
 * code at a kernel site (which allows no vector state to change), so it
 * stores its arguments and the program prints them. */
static struct {
    const char *buf;
    size_t len;
} rom_console;

__attribute__((noinline)) static void workload(void)
{
    uint64_t t0 = pvk_read_tsc(), t1 = pvk_read_tsc();
    struct pvk_cpuid c = pvk_cpuid(0, 0);
    char vendor[13];

    memcpy(vendor, &c.ebx, 4), memcpy(vendor + 4, &c.edx, 4), memcpy(vendor + 8, &c.ecx, 4);
    vendor[12] = 0;
    pvk_nop();
    printf("    read_tsc twice  : delta %llu\n", (unsigned long long)(t1 - t0));
    printf("    cpuid(0)        : \"%s\", max leaf %#x\n", vendor, c.eax);
    printf("    clock_read      : %llu ns\n", (unsigned long long)pvk_clock_read());
    pvk_console_write("hello from a site", 17);
    if (rom_console.buf)
        printf("    console (ROM)   : %.*s\n", (int)rom_console.len, rom_console.buf);
    rom_console.buf = NULL;
}

/* ------------------------------------------------------------------------
 * Two ROMs: "inline" (hot operations inlined), "calls" (everything a call).
 */

#define R(s) s, sizeof(s) - 1

static void *rom_inline(size_t *n)
{
    static struct romb b;
    romb_init(&b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    /* read_tsc: a constant clock, inline: mov $1000, %eax */
    romb_op(&b, PVK_OP_READ_TSC, PVL_ACT_INLINE, romb_code(&b, R("\xb8\xe8\x03\x00\x00")), 5,
            PVL_CLB(RAX), ROMB_NONE, 0);
    /* clock_read inline: mov $42000, %eax */
    romb_op(&b, PVK_OP_CLOCK_READ, PVL_ACT_INLINE, romb_code(&b, R("\xb8\x10\xa4\x00\x00")), 5,
            PVL_CLB(RAX), ROMB_NONE, 0);
    romb_op(&b, PVK_OP_NOP, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
    romb_op(&b, PVK_OP_IRQ_DISABLE, PVL_ACT_INLINE, romb_code(&b, R("\xfa")), 1, 0, ROMB_NONE, 0);
    romb_op(&b, PVK_OP_IO_DELAY, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
    return romb_finish(&b, n);
}

static void *rom_calls(size_t *n)
{
    static struct romb b;
    /* movabs $&rom_console, %rax; mov %rdi, (%rax); mov %rsi, 8(%rax); ret */
    uint8_t rec[18] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x89, 0x38,
                       0x48, 0x89, 0x70, 0x08, 0xc3};
    uintptr_t to = (uintptr_t)&rom_console;

    memcpy(rec + 2, &to, 8);
    romb_init(&b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    /* cpuid: a CPU whose vendor is "pvlinkpvlink" (ebx, edx, ecx), max
     * leaf 1: mov $1,%eax; mov $'pvli',%ebx; mov $'link',%ecx;
     * mov $'nkpv',%edx; ret */
    romb_op(&b, PVK_OP_CPUID, PVL_ACT_CALL, 0, 0, 0,
            romb_code(&b, R("\xb8\x01\x00\x00\x00\xbb\x70\x76\x6c\x69\xb9\x6c\x69\x6e\x6b"
                            "\xba\x6e\x6b\x70\x76\xc3")),
            PVK_CLB_CPUID);
    romb_op(&b, PVK_OP_CONSOLE_WRITE, PVL_ACT_CALL, 0, 0, 0, romb_code(&b, rec, sizeof rec),
            PVK_CLB_C);
    /* clock_read: movabs $7000000000, %rax; ret */
    romb_op(&b, PVK_OP_CLOCK_READ, PVL_ACT_CALL, 0, 0, 0,
            romb_code(&b, R("\x48\xb8\x00\x86\x3b\xa1\x01\x00\x00\x00\xc3")),
            PVL_CLB(RAX) | PVL_CLB(STACK));
    romb_op(&b, PVK_OP_IRQ_DISABLE, PVL_ACT_CALL, 0, 0, 0, romb_code(&b, R("\xc3")),
            PVL_CLB(STACK));
    return romb_finish(&b, n);
}

/* ------------------------------------------------------------------------
 * Linking and printing.
 */

static struct pvr_image self;
static struct pvl_range text[8]; /* where rooms may be */
static size_t ntext;

static void print_plan(const struct pvl_link *l)
{
    for (size_t i = 0; i < l->nsites; i++) {
        struct pvl_site_info si;
        uint8_t bytes[PVL_ROOM_MAX];
        int action;
        pvl_result r = pvl_plan_site(l, i, &si, &action, bytes, NULL);
        if (r == PVL_E_ENV)
            continue;
        printf("    %#14llx  %-14s %-7s ", (unsigned long long)si.addr,
               pvl_kernel_iface.ops[si.op].name, pvl_action_name(action));
        if (r != PVL_OK) {
            printf("refused: %s\n", pvl_strerror(r));
            continue;
        }
        for (int k = 0; k < si.room; k++)
            printf("%02x%s", bytes[k], k + 1 < si.room ? " " : "\n");
    }
}

static void link_to(const char *name, const struct pvl_env *env)
{
    struct pvl_report rep = {0};
    struct pvl_link l = {.sites = self.sites, .nsites = self.nsites, .lo = self.lo,
                         .hi = self.hi, .exec = text, .nexec = ntext,
                         .iface = &pvl_kernel_iface, .env = env, .report = &rep};

    printf("\n== %s ==\n  plan:\n", name);
    print_plan(&l);
    if (pvr_image_writable(&self, 1) != 0)
        err(1, "mprotect");
    pvl_result r = pvl_link(&l);
    pvr_image_writable(&self, 0);
    if (r != PVL_OK)
        errx(1, "link %s: %s", name, pvl_strerror(r));
    printf("  linked: %u inline, %u call, %u native, %u nop; %u sites rewritten\n",
           rep.count[PVL_ACT_INLINE], rep.count[PVL_ACT_CALL], rep.count[PVL_ACT_NATIVE],
           rep.count[PVL_ACT_NOP], rep.nchanged);
    printf("  running:\n");
    workload();
}

static const struct pvl_env *load(void *(*build)(size_t *), struct pvl_impl *impl,
                                  struct pvl_env *env)
{
    size_t n;
    void *img = build(&n);
    void *placed = pvr_rom_place((void *)self.lo, img, n);
    struct pvl_diag d;
    char msg[160];

    free(img);
    if (!placed)
        err(1, "placing a ROM near the text");
    if (pvl_rom_load(placed, n, (uint64_t)(uintptr_t)placed, &pvl_kernel_iface, impl, env,
                     &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        errx(1, "ROM refused: %s", msg);
    }
    return env;
}

__attribute__((noinline, used)) void demo_privileged(void);
void demo_privileged(void) /* never runs: shows how privileged sites link */
{
    pvk_irq_disable();
    pvk_io_delay();
}

int main(void)
{
    static struct pvl_impl ia[PVK_NOPS], ib[PVK_NOPS];
    struct pvl_env ea, eb;
    uint8_t *orig;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pvr_image_self(&self) != 0)
        err(1, "finding this program's sites");
    ntext = pvr_image_exec(&self, text, 8);
    printf("pvlink in-process demonstration: %zu sites in this program, interface %s %d.%d\n",
           self.nsites, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    orig = malloc(self.nsites * PVL_ROOM_MAX);
    for (size_t i = 0; i < self.nsites; i++)
        memcpy(orig + i * PVL_ROOM_MAX, pvl_rel(&self.sites[i].addr), self.sites[i].room);

    printf("\n== native (as compiled) ==\n  running:\n");
    workload();
    link_to("ROM \"inline\": hot operations inlined", load(rom_inline, ia, &ea));
    link_to("ROM \"calls\": operations call into the ROM", load(rom_calls, ib, &eb));
    link_to("back to native", NULL);

    size_t same = 0;
    for (size_t i = 0; i < self.nsites; i++)
        same += !memcmp(orig + i * PVL_ROOM_MAX, pvl_rel(&self.sites[i].addr),
                        self.sites[i].room);
    printf("\n%zu of %zu sites hold their original bytes again.\n", same, self.nsites);
    free(orig);
    return same == self.nsites ? 0 : 1;
}
