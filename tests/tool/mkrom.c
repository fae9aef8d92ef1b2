/*
 * mkrom KIND FILE: write one of the ROM images the tool's tests use.
 *
 *   kernel   pvlink.kernel 1.0: every action, templates and call entries,
 *            fitting every site of the fixture
 *   refuse   pvlink.kernel 1.0: a template longer than the read_tsc room,
 *            write_cr3 left native (its fixture site is must-patch).  (An
 *            entry declaring changes its operation does not allow is
 *            refused when the ROM is loaded: tests/test_rom.c.)
 *   test     pvlink.test 1.0 (tests/tiface.h)
 *   unknown  acme.widget 2.1, an interface pvlink has no catalog of
 *   badtmpl  pvlink.kernel 1.0 whose read_tsc template jumps out of itself
 *   probe    pvlink.kernel 1.0 with a probe (mov $1, %eax; ret) and
 *            irq_disable inlined, required by the environment
 *   liar     pvlink.kernel 1.0 whose irq_disable template (xor %eax, %eax;
 *            cli) declares only the flags (issue 10's first finding)
 *   newer    pvlink.kernel 1.1 with an entry for operation 40, unknown to
 *            the 1.0 catalog (so not checked), whose template offset is
 *            far outside the image: ignored, never read
 *   gates    format 2.1: gates declared to write rax, flags and stack;
 *            read_cr3 jumps into one, write_cr3 calls one with rax saved
 *   gates20  the same code in a 2.0 image, without the declaration (what
 *            a 2.0 reader makes of it)
 *   x87      pvlink.kernel 1.0 whose irq_disable template is fninit,
 *            declaring the flags only (kernel sites never allow x87)
 *   avx      pvlink.kernel 1.0 whose console_write call entry is what
 *            -mavx2 code ends in: vzeroupper; ret
 *   switch   pvlink.kernel 1.0 whose console_write call entry dispatches
 *            through a jump table: jmp *%rdx
 *
 * Call entries are a bare `ret` or a few instructions: nothing runs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel_ops.h>
#include <pvlink/link.h>

#include "../../tools/romb.h"

#define R(s) (s), sizeof(s) - 1
#define STK PVL_CLB(STACK)
#define SAVE_RAX (PVL_CLB(RAX) | PVL_CLB(FLAGS))

static void inl(struct romb *b, uint16_t op, const char *t, size_t n,
                uint64_t clb)
{
    romb_op(b, op, PVL_ACT_INLINE, romb_code(b, t, n), (uint8_t)n, clb,
            ROMB_NONE, 0);
}

static void call(struct romb *b, uint16_t op, const char *c, size_t n,
                 uint64_t clb)
{
    romb_op(b, op, PVL_ACT_CALL, 0, 0, 0, romb_code(b, c, n), clb);
}

static void act(struct romb *b, uint16_t op, int action)
{
    romb_op(b, op, action, 0, 0, 0, ROMB_NONE, 0);
}

static void kernel(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    act(b, PVK_OP_NOP, PVL_ACT_NOP);
    call(b, PVK_OP_IRQ_DISABLE, R("\xc3"), STK);
    call(b, PVK_OP_IRQ_ENABLE, R("\xc3"), STK);
    /* jmp over nothing, then the native read: a branch inside the template */
    inl(b, PVK_OP_READ_CR3, R("\xeb\x00\x0f\x20\xd8"), SAVE_RAX);
    call(b, PVK_OP_WRITE_CR3, R("\xc3"), STK);
    /* inline, and a call entry for callers that choose per site */
    uint32_t tsc = romb_code(b, R("\xb8\x34\x12\x00\x00"));
    uint32_t tsc_call = romb_code(b, R("\xb8\x34\x12\x00\x00\xc3"));
    romb_op(b, PVK_OP_READ_TSC, PVL_ACT_INLINE, tsc, 5, PVL_CLB(RAX), tsc_call,
            PVL_CLB(RAX) | STK);
    call(b, PVK_OP_INB, R("\x89\xfa\xec\x0f\xb6\xc0\xc3"), PVK_CLB_C);
    act(b, PVK_OP_IO_DELAY, PVL_ACT_NOP);
    call(b, PVK_OP_CONSOLE_WRITE, R("\xc3"), PVK_CLB_C);
    act(b, PVK_OP_HALT, PVL_ACT_NATIVE);
}

static void refuse(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    call(b, PVK_OP_IRQ_ENABLE, R("\xc3"), STK);
    act(b, PVK_OP_WRITE_CR3, PVL_ACT_NATIVE);
    inl(b, PVK_OP_READ_TSC, R("\x48\xb8\x34\x12\x00\x00\x00\x00\x00\x00"),
        PVL_CLB(RAX));
}

static void test(struct romb *b)
{
    romb_init(b, "pvlink.test", 1, 0);
    inl(b, 0, R("\x48\x89\xf8\x48\x0f\xaf\xc6"), SAVE_RAX); /* add: a * b */
    act(b, 1, PVL_ACT_NOP);                                  /* poke */
    call(b, 2, R("\xb8\x22\x00\x00\x00\xc3"), PVL_CLB(RAX) | STK); /* get */
    call(b, 3, R("\xc3"), PVL_CLB_C);                        /* hook */
}

static void unknown(struct romb *b)
{
    romb_init(b, "acme.widget", 2, 1);
    inl(b, 0, R("\x90"), 0);
    call(b, 5, R("\x31\xc0\xc3"), PVL_CLB(RAX) | PVL_CLB(FLAGS) | STK);
}

static void badtmpl(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    act(b, PVK_OP_NOP, PVL_ACT_NOP);
    inl(b, PVK_OP_READ_TSC, R("\xeb\x10\x90"), PVL_CLB(RAX));
}

static void probe(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    romb_op(b, PVK_OP_IRQ_DISABLE, PVL_ACT_INLINE, romb_code(b, R("\xfa")), 1, 0, ROMB_NONE,
            0)->flags = PVL_ENT_REQUIRED;
    romb_probe(b, romb_code(b, R("\xb8\x01\x00\x00\x00\xc3")));
}

static void liar(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    inl(b, PVK_OP_IRQ_DISABLE, R("\x31\xc0\xfa"), PVL_CLB(FLAGS));
}

static void newer(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR + 1);
    act(b, PVK_OP_NOP, PVL_ACT_NOP);
    romb_op(b, 40, PVL_ACT_INLINE, 0x7ffff000u, 5, 0, ROMB_NONE, 0);
}

/* mov $OP, %eax; jmp *gate(%rip) and push %rax; mov $OP, %eax; call
 * *gate(%rip); pop %rax; ret, the gate pointer after each */
static void gate_code(struct romb *b)
{
    static const uint8_t ptr[8];

    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    call(b, PVK_OP_READ_CR3, R("\xb8\x0b\x00\x00\x00\xff\x25\x00\x00\x00\x00"),
         SAVE_RAX | STK);
    romb_data(b, ptr, sizeof ptr);
    call(b, PVK_OP_WRITE_CR3,
         R("\x50\xb8\x0c\x00\x00\x00\xff\x15\x02\x00\x00\x00\x58\xc3"),
         PVL_CLB(FLAGS) | STK);
    romb_data(b, ptr, sizeof ptr);
}

static void gates(struct romb *b)
{
    gate_code(b);
    romb_gates(b, SAVE_RAX | STK);
}

static void gates20(struct romb *b)
{
    gate_code(b);
}

static void x87(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    inl(b, PVK_OP_IRQ_DISABLE, R("\xdb\xe3"), PVL_CLB(FLAGS));
}

static void avx(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    call(b, PVK_OP_CONSOLE_WRITE, R("\x31\xc0\xc5\xf8\x77\xc3"), PVK_CLB_C);
}

static void jump_table(struct romb *b)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    call(b, PVK_OP_CONSOLE_WRITE, R("\x89\xfa\xff\xe2"), PVK_CLB_C);
}

static const struct {
    const char *name;
    void (*make)(struct romb *);
} kinds[] = {{"kernel", kernel}, {"refuse", refuse}, {"test", test},
             {"unknown", unknown}, {"badtmpl", badtmpl}, {"probe", probe},
             {"liar", liar}, {"newer", newer}, {"gates", gates}, {"gates20", gates20},
             {"x87", x87}, {"avx", avx}, {"switch", jump_table}};

int main(int argc, char **argv)
{
    static struct romb b;
    size_t n;
    FILE *f;

    for (size_t i = 0; argc == 3 && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(argv[1], kinds[i].name))
            continue;
        kinds[i].make(&b);
        uint8_t *img = romb_finish(&b, &n);
        if (img && !strcmp(argv[1], "gates20")) { /* a 2.0 image */
            ((struct pvl_rom_header *)img)->format_minor = 0;
            pvl_rom_seal(img, n);
        }
        if (!img || !(f = fopen(argv[2], "wb")) || fwrite(img, 1, n, f) != n ||
            fclose(f)) {
            perror(argv[2]);
            return 1;
        }
        free(img);
        return 0;
    }
    fprintf(stderr, "usage: mkrom kernel|refuse|test|unknown|badtmpl|probe|liar|newer|gates|"
                    "gates20|x87|avx|switch FILE\n");
    return 2;
}
