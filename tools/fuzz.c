/*
 * libFuzzer target over everything the pvlink command reads from files:
 * each input is read as an ELF file (header, program and section
 * headers, segments, names, symbols, the site table and every record)
 * and, when it parses, listed (columns and JSON), checked and planned
 * against a kernel and a test-interface ROM; and it is read as a ROM
 * image (header, synthesized catalogs, table, templates).  The output
 * goes to /dev/null: what is tested is that no input makes the reader
 * touch memory it should not, or overflow, or leak.
 *
 *   make B=build-fuzz fuzz-tool TOOL_FUZZ_RUNS=20000
 */
#include <stdlib.h>

#include <pvlink/kernel_ops.h>

#include "pvlink.h"
#include "romb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rom {
    uint8_t *img;
    size_t len;
};

static struct rom make_rom(int kernel)
{
    static struct romb b;
    struct rom r;
    uint32_t ret = 0;

    romb_init(&b, kernel ? PVK_IFACE_NAME : "pvlink.test", 1, 0);
    ret = romb_code(&b, "\xc3", 1);
    romb_op(&b, 0, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
    romb_op(&b, 1, PVL_ACT_INLINE, romb_code(&b, "\xfa", 1), 1, 0, ROMB_NONE, 0);
    romb_op(&b, 2, PVL_ACT_CALL, 0, 0, 0, ret, PVL_CLB(STACK));
    romb_op(&b, 3, PVL_ACT_CALL, 0, 0, 0, ret, PVK_CLB_SAVE_RAX);
    if (kernel)
        romb_op(&b, PVK_OP_CONSOLE_WRITE, PVL_ACT_CALL, 0, 0, 0, ret, PVK_CLB_C);
    romb_probe(&b, ret);
    r.img = romb_finish(&b, &r.len);
    if (!r.img)
        abort();
    return r;
}

static void as_elf(FILE *null, const uint8_t *data, size_t size,
                   const struct rom *k, const struct rom *t)
{
    struct pvt_bin b = {0};
    struct pvt_err err;
    uint64_t far = 0x7fff00000000ull;

    if (pvt_bin_from_memory(&b, data, size, &err) == 0) {
        pvt_show_sites(null, null, "in", &b, 0);
        pvt_show_sites(null, null, "in", &b, 1);
        pvt_show_check(null, "in", &b);
        pvt_show_plan(null, null, "in", &b, "k", k->img, k->len, NULL, 0);
        pvt_show_plan(null, null, "in", &b, "t", t->img, t->len, &far, 1);
    }
    pvt_table_free(&b.tab);
    pvt_elf_free(&b.elf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    static struct rom k, t;

    if (!null) {
        if (!(null = fopen("/dev/null", "w")))
            abort();
        k = make_rom(1), t = make_rom(0);
    }
    as_elf(null, data, size, &k, &t);
    pvt_show_rom(null, null, "in", data, size);
    return 0;
}
