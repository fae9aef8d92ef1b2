/*
 * In-process end-to-end: this program's own sites (kernel catalog and the
 * test interface) are linked against in-memory ROMs, run, re-linked to a
 * second ROM, run again, and unlinked.  Operations that are safe in user
 * space are executed and their results checked; the privileged ones (in a
 * function that never runs) have their bytes checked.  Unlinking must give
 * back every original byte.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pvlink/kernel.h>

#include "../runtime/image.h"
#include "../tools/romb.h"
#include "fixture.h"
#include "harness.h"
#include "tiface.h"

/* ------------------------------------------------------------------------
 * The program: its defaults and the functions holding sites.
 */

static char console_native[64], console_rom[64];
static int hooks_native, hooks_rom;

void pvk_native_console_write(const char *buf, size_t len)
{
    snprintf(console_native, sizeof console_native, "%.*s", (int)len, buf);
}
uint64_t pvk_native_clock_read(void) { return 777; }
void tst_hook_default(void) { hooks_native++; }

static void rec_hook(void) { hooks_rom++; }

/* What the ROM's console_write entry records: buffer and length (a ROM may
 * not call C code at a kernel site, which allows no vector state change). */
static struct {
    const char *buf;
    size_t len;
} console_rec;

static void console_rom_take(void)
{
    snprintf(console_rom, sizeof console_rom, "%.*s", (int)console_rec.len, console_rec.buf);
}

__attribute__((noinline)) static uint64_t run_tsc(void) { return pvk_read_tsc(); }
__attribute__((noinline)) static struct pvk_cpuid run_cpuid(uint32_t l) { return pvk_cpuid(l, 0); }
__attribute__((noinline)) static uint64_t run_clock(void) { return pvk_clock_read(); }
__attribute__((noinline)) static void run_console(const char *s) { pvk_console_write(s, strlen(s)); }
__attribute__((noinline)) static void run_nop(void) { pvk_nop(); }
__attribute__((noinline)) static uint64_t run_add(uint64_t a, uint64_t b) { return tst_add(a, b); }
__attribute__((noinline)) static uint64_t run_get(void) { return tst_get(); }
__attribute__((noinline)) static void run_poke(volatile uint64_t *p, uint64_t v) { tst_poke(p, v); }
__attribute__((noinline)) static void run_hook(void) { tst_hook(); }

/* Never called: privileged operations, checked by their bytes only. */
__attribute__((noinline, used)) void e2e_privileged(volatile uint64_t *pte);
void e2e_privileged(volatile uint64_t *pte)
{
    uint64_t fl = pvk_save_fl();
    pvk_irq_disable();
    pvk_write_cr3(pvk_read_cr3());
    pvk_flush_tlb_one(pte);
    pvk_set_pte(pte, pvk_read_msr(0x10));
    pvk_outb(0x80, 1);
    pvk_io_delay();
    pvk_lazy_mmu_begin();
    pvk_lazy_mmu_end();
    pvk_irq_enable();
    pvk_restore_fl(fl);
}

/* ------------------------------------------------------------------------
 * Two ROMs for each interface.  Call entries are raw x86-64.
 */

#define STK PVL_CLB(STACK)
#define SAVER (PVL_CLB(RAX) | PVL_CLB(FLAGS))
#define R(b) b, sizeof(b) - 1

static void add_call(struct romb *b, uint16_t op, const char *code, size_t n, uint64_t clb)
{
    romb_op(b, op, PVL_ACT_CALL, 0, 0, 0, romb_code(b, code, n), clb);
}
static void add_inline(struct romb *b, uint16_t op, const char *t, size_t n, uint64_t clb)
{
    romb_op(b, op, PVL_ACT_INLINE, romb_code(b, t, n), (uint8_t)n, clb, ROMB_NONE, 0);
}

/* A call entry that jumps to the C function (fn) through a pointer after
 * it: jmp *0(%rip); .quad fn.  It may change what a C call may. */
static void add_c_call(struct romb *b, uint16_t op, void (*fn)(void))
{
    uintptr_t a = (uintptr_t)fn;
    romb_op(b, op, PVL_ACT_CALL, 0, 0, 0, romb_code(b, "\xff\x25\x00\x00\x00\x00", 6),
            PVL_CLB_C);
    romb_data(b, &a, 8);
}

/* console_write: record (buf, len) in console_rec.  movabs $&console_rec,
 * %rax; mov %rdi, (%rax); mov %rsi, 8(%rax); ret */
static void add_console(struct romb *b)
{
    uint8_t rec[18] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x89, 0x38,
                       0x48, 0x89, 0x70, 0x08, 0xc3};
    uintptr_t to = (uintptr_t)&console_rec;
    memcpy(rec + 2, &to, 8);
    romb_op(b, PVK_OP_CONSOLE_WRITE, PVL_ACT_CALL, 0, 0, 0, romb_code(b, rec, sizeof rec),
            PVK_CLB_C);
}
static void add_nop(struct romb *b, uint16_t op)
{
    romb_op(b, op, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
}

static void *kernel_rom_a(size_t *n)
{
    static struct romb b;
    romb_init(&b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    add_inline(&b, PVK_OP_READ_TSC, R("\xb8\x34\x12\x00\x00"), PVL_CLB(RAX));
    add_call(&b, PVK_OP_CPUID, R("\xb8\x11\x11\x11\x11\xbb\x22\x22\x22\x22"
                                  "\xb9\x33\x33\x33\x33\xba\x44\x44\x44\x44\xc3"),
             PVK_CLB_CPUID);
    add_call(&b, PVK_OP_CLOCK_READ, R("\x48\xb8\x07\xca\x9a\x3b\x00\x00\x00\x00\xc3"),
             PVL_CLB(RAX) | STK); /* 1000000007 */
    add_console(&b);
    add_nop(&b, PVK_OP_NOP);
    add_call(&b, PVK_OP_IRQ_DISABLE, R("\xc3"), STK);
    add_call(&b, PVK_OP_IRQ_ENABLE, R("\xc3"), STK);
    add_call(&b, PVK_OP_WRITE_CR3, R("\xc3"), STK);
    add_inline(&b, PVK_OP_FLUSH_TLB_ONE, R("\x0f\x01\x3f"), 0);
    add_call(&b, PVK_OP_READ_MSR, R("\x31\xc0\xc3"), SAVER | STK);
    add_call(&b, PVK_OP_OUTB, R("\xc3"), STK);
    add_nop(&b, PVK_OP_IO_DELAY);
    add_nop(&b, PVK_OP_LAZY_MMU_BEGIN);
    add_nop(&b, PVK_OP_LAZY_MMU_END);
    return romb_finish(&b, n);
}

static void *kernel_rom_b(size_t *n)
{
    static struct romb b;
    romb_init(&b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    add_call(&b, PVK_OP_READ_TSC, R("\x48\xb8\x55\x55\x00\x00\x00\x00\x00\x00\xc3"),
             PVL_CLB(RAX) | STK);
    add_call(&b, PVK_OP_CPUID, R("\xb8\x01\x00\x00\x00\xbb\x02\x00\x00\x00"
                                  "\xb9\x03\x00\x00\x00\xba\x04\x00\x00\x00\xc3"),
             PVK_CLB_CPUID);
    add_inline(&b, PVK_OP_CLOCK_READ, R("\xb8\x2a\x00\x00\x00"), PVL_CLB(RAX));
    add_console(&b);
    add_inline(&b, PVK_OP_NOP, R("\x90"), 0);
    add_inline(&b, PVK_OP_IRQ_DISABLE, R("\xfa"), 0);
    add_inline(&b, PVK_OP_IRQ_ENABLE, R("\xfb"), 0);
    add_inline(&b, PVK_OP_SET_PTE, R("\x48\x89\x77\x00"), 0); /* mov %rsi, 0(%rdi) */
    return romb_finish(&b, n);
}

static void *test_rom_a(size_t *n)
{
    static struct romb b;
    romb_init(&b, "pvlink.test", 1, 0);
    add_inline(&b, TOP_ADD, R("\x48\x89\xf8\x48\x0f\xaf\xc6"), SAVER); /* a * b */
    add_call(&b, TOP_GET, R("\xb8\x22\x00\x00\x00\xc3"), PVL_CLB(RAX) | STK);
    add_nop(&b, TOP_POKE);
    add_c_call(&b, TOP_HOOK, rec_hook);
    return romb_finish(&b, n);
}

static void *test_rom_b(size_t *n)
{
    static struct romb b;
    romb_init(&b, "pvlink.test", 1, 0);
    add_call(&b, TOP_ADD, R("\x48\x8d\x04\x77\xc3"), PVL_CLB(RAX) | STK); /* a + 2b */
    add_inline(&b, TOP_GET, R("\xb8\x33\x00\x00\x00"), PVL_CLB(RAX));
    add_nop(&b, TOP_HOOK);
    return romb_finish(&b, n);
}

/* ------------------------------------------------------------------------
 * Linking this process.
 */

struct placed {
    void *code;
    size_t len;
    struct pvl_env env;
    struct pvl_impl impl[64];
};

static struct pvr_image self;
static struct pvl_range text[8];
static size_t ntext;

static int place(struct placed *p, void *img, size_t len, const struct pvl_iface *iface)
{
    struct pvl_diag d;
    p->len = len;
    p->code = pvr_rom_place((void *)self.lo, img, len);
    free(img);
    if (!p->code) {
        t_fail(__FILE__, __LINE__, "cannot place a ROM near the text: %m");
        return -1;
    }
    if (pvl_rom_load(p->code, len, (uint64_t)(uintptr_t)p->code, iface, p->impl,
                     &p->env, &d) != PVL_OK) {
        char m[128];
        pvl_diag_format(&d, m, sizeof m);
        t_fail(__FILE__, __LINE__, "ROM refused: %s", m);
        return -1;
    }
    return 0;
}

static pvl_result link_self(const struct pvl_iface *iface, const struct pvl_env *env,
                            struct pvl_report *rep)
{
    struct pvl_link l = {.sites = self.sites, .nsites = self.nsites, .lo = self.lo,
                         .hi = self.hi, .exec = text, .nexec = ntext, .iface = iface,
                         .env = env, .report = rep};
    if (pvr_image_writable(&self, 1) != 0)
        return PVL_E_WRITE;
    pvl_result r = pvl_link(&l);
    pvr_image_writable(&self, 0);
    return r;
}

static int is_iface(const struct pvl_site *s, const char *name)
{
    const struct pvl_iface_desc *d = pvl_rel(&s->iface);
    return strcmp(d->name, name) == 0;
}

/*
 * What a site must hold under (p), derived independently of the planner:
 * the template then NOPs, NOPs then e8 and the displacement, NOPs, or the
 * original copy.
 */
static void expected(const struct pvl_site *s, const struct placed *p, uint8_t *out)
{
    const struct pvl_impl *m = &p->impl[s->op];
    const uint8_t *at = pvl_rel(&s->addr);
    size_t k = 0;

    memcpy(out, pvl_rel(&s->orig), s->room);
    if (m->action == PVL_ACT_NATIVE)
        return;
    if (m->action == PVL_ACT_INLINE) {
        memcpy(out, m->tmpl, m->tmpl_len);
        k = m->tmpl_len;
    } else if (m->action == PVL_ACT_CALL) { /* NOPs, then e8 at the end */
        size_t pad = s->room - 5;
        int32_t rel = (int32_t)((intptr_t)m->call - (intptr_t)(at + s->room));
        pvl_emit_nops(out, pad);
        out[pad] = 0xe8;
        memcpy(out + pad + 1, &rel, 4);
        return;
    }
    pvl_emit_nops(out + k, s->room - k);
}

static void check_all_sites(const char *name, const struct placed *p, const char *iface)
{
    uint8_t want[PVL_ROOM_MAX];
    int checked = 0;

    for (size_t i = 0; i < self.nsites; i++) {
        const struct pvl_site *s = &self.sites[i];
        if (!is_iface(s, iface))
            continue;
        expected(s, p, want);
        if (memcmp(pvl_rel(&s->addr), want, s->room)) {
            char w[200];
            snprintf(w, sizeof w, "%s", t_hex(want, s->room));
            t_fail(__FILE__, __LINE__, "%s: site %zu (op %u): %s, expected %s", name, i,
                   s->op, t_hex(pvl_rel(&s->addr), s->room), w);
        }
        checked++;
    }
    CHECK(checked > 0);
}

/* ------------------------------------------------------------------------
 * The cases.
 */

static struct placed ka, kb, ta, tb;
static uint8_t *orig_bytes;

static int setup(void)
{
    static int state; /* 0: not yet, 1: ready, -1: failed */
    size_t n;
    if (state)
        return state < 0 ? (t_fail(__FILE__, __LINE__, "setup failed earlier"), -1) : 0;
    state = -1;
    if (pvr_image_self(&self) != 0) {
        t_fail(__FILE__, __LINE__, "no site table in this program");
        return -1;
    }
    ntext = pvr_image_exec(&self, text, 8);
    void *img;
    if ((img = kernel_rom_a(&n), place(&ka, img, n, &pvl_kernel_iface)) ||
        (img = kernel_rom_b(&n), place(&kb, img, n, &pvl_kernel_iface)) ||
        (img = test_rom_a(&n), place(&ta, img, n, &fx_iface)) ||
        (img = test_rom_b(&n), place(&tb, img, n, &fx_iface)))
        return -1;
    orig_bytes = malloc(self.nsites * PVL_ROOM_MAX);
    for (size_t i = 0; i < self.nsites; i++)
        memcpy(orig_bytes + i * PVL_ROOM_MAX, pvl_rel(&self.sites[i].addr),
               self.sites[i].room);
    state = 1;
    return 0;
}

static void native_results(void)
{
    unsigned a, b, c, d;
    volatile uint64_t x = 1;

    if (setup())
        return;
    CHECK(self.nsites >= 20);
    uint64_t t0 = run_tsc(), t1 = run_tsc();
    CHECK(t1 > t0);
    struct pvk_cpuid cp = run_cpuid(0);
    __cpuid(0, a, b, c, d);
    CHECK_EQ(cp.ebx, b);
    CHECK_EQ(cp.ecx, c);
    CHECK_EQ(cp.edx, d);
    CHECK_EQ(run_clock(), 777);
    run_console("native");
    CHECK(strcmp(console_native, "native") == 0);
    run_nop();
    CHECK_EQ(run_add(6, 7), 13);
    CHECK_EQ(run_get(), 0x11);
    run_poke(&x, 5);
    CHECK_EQ(x, 5);
    run_hook();
    CHECK_EQ(hooks_native, 1);
}

static void rom_a(void)
{
    struct pvl_report kr = {0}, tr = {0};
    volatile uint64_t x = 1;

    if (setup())
        return;
    CHECK_EQ(link_self(&pvl_kernel_iface, &ka.env, &kr), PVL_OK);
    CHECK_EQ(link_self(&fx_iface, &ta.env, &tr), PVL_OK);
    CHECK_EQ(kr.nother, tr.count[0] + tr.count[1] + tr.count[2] + tr.count[3]);
    CHECK(kr.count[PVL_ACT_CALL] >= 8 && kr.count[PVL_ACT_NOP] >= 4);
    CHECK_EQ(run_tsc(), 0x1234);
    struct pvk_cpuid cp = run_cpuid(0);
    CHECK_EQ(cp.eax, 0x11111111);
    CHECK_EQ(cp.ebx, 0x22222222);
    CHECK_EQ(cp.ecx, 0x33333333);
    CHECK_EQ(cp.edx, 0x44444444);
    CHECK_EQ(run_clock(), 1000000007);
    run_console("via rom a");
    console_rom_take();
    CHECK(strcmp(console_rom, "via rom a") == 0);
    run_nop();
    CHECK_EQ(run_add(6, 7), 42);
    CHECK_EQ(run_get(), 0x22);
    run_poke(&x, 5);
    CHECK_EQ(x, 1); /* poke became NOPs */
    run_hook();
    CHECK_EQ(hooks_rom, 1);
    CHECK_EQ(hooks_native, 1);
    check_all_sites("rom a", &ka, PVK_IFACE_NAME);
    check_all_sites("rom a", &ta, "pvlink.test");
}

static void rom_b(void)
{
    volatile uint64_t x = 1;

    if (setup())
        return;
    CHECK_EQ(link_self(&pvl_kernel_iface, &kb.env, NULL), PVL_OK);
    CHECK_EQ(link_self(&fx_iface, &tb.env, NULL), PVL_OK);
    CHECK_EQ(run_tsc(), 0x5555);
    struct pvk_cpuid cp = run_cpuid(7);
    CHECK_EQ(cp.eax + cp.ebx + cp.ecx + cp.edx, 10);
    CHECK_EQ(run_clock(), 42);
    run_console("via rom b");
    console_rom_take();
    CHECK(strcmp(console_rom, "via rom b") == 0);
    run_nop();
    CHECK_EQ(run_add(6, 7), 20);
    CHECK_EQ(run_get(), 0x33);
    run_poke(&x, 5);
    CHECK_EQ(x, 5);
    int before = hooks_rom + hooks_native;
    run_hook();
    CHECK_EQ(hooks_rom + hooks_native, before); /* hook became NOPs */
    check_all_sites("rom b", &kb, PVK_IFACE_NAME);
    check_all_sites("rom b", &tb, "pvlink.test");
}

static void back_to_native(void)
{
    if (setup())
        return;
    CHECK_EQ(link_self(&pvl_kernel_iface, NULL, NULL), PVL_OK);
    CHECK_EQ(link_self(&fx_iface, NULL, NULL), PVL_OK);
    for (size_t i = 0; i < self.nsites; i++)
        if (memcmp(orig_bytes + i * PVL_ROOM_MAX, pvl_rel(&self.sites[i].addr),
                   self.sites[i].room))
            t_fail(__FILE__, __LINE__, "site %zu not restored", i);
    CHECK_EQ(run_clock(), 777);
    CHECK_EQ(run_add(6, 7), 13);
    run_hook();
    CHECK_EQ(hooks_native, 2);
}

/* Native code in every kernel site is the catalog's native code. */
static void native_bytes_match_catalog(void)
{
    if (setup())
        return;
    for (size_t i = 0; i < self.nsites; i++) {
        const struct pvl_site *s = &self.sites[i];
        if (!is_iface(s, PVK_IFACE_NAME))
            continue;
        const struct pvl_op_info *op = &pvl_kernel_iface.ops[s->op];
        CHECK_EQ(s->room, op->room);
        CHECK_EQ(s->clobbers, op->clobbers);
        CHECK_EQ(!!(s->flags & PVL_SITE_NATIVE_CALL), !!(op->props & PVL_OP_NATIVE_CALL));
        if (op->native_len && memcmp(orig_bytes + i * PVL_ROOM_MAX, op->native, op->native_len))
            t_fail(__FILE__, __LINE__, "%s: native %s", op->name,
                   t_hex(orig_bytes + i * PVL_ROOM_MAX, s->room));
    }
}

T_CASES(T(native_results), T(native_bytes_match_catalog), T(rom_a), T(rom_b),
        T(back_to_native))
