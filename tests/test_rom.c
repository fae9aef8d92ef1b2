/*
 * Malformed ROM images, one defect each: the exact error, the field it
 * names, and (for the link-time ones) proof that no byte of the object
 * changed.
 */
#include <stdlib.h>
#include <string.h>

#include "../tools/romb.h"
#include "fixture.h"
#include "harness.h"

#define SAVE PVL_CLB(FLAGS)
#define SAVER (PVL_CLB(RAX) | PVL_CLB(FLAGS))
#define HDR(img) ((struct pvl_rom_header *)(img))
#define ENT(img, i) ((struct pvl_rom_entry *)((uint8_t *)(img) + HDR(img)->table_off) + (i))

/* A good ROM for the test interface: add inline (mul), get by call. */
static uint8_t *good_rom(size_t *size)
{
    static struct romb b;
    romb_init(&b, "pvlink.test", 1, 0);
    uint32_t mul = romb_code(&b, "\x48\x89\xf8\x48\x0f\xaf\xc6", 7);
    uint32_t get = romb_code(&b, "\xb8\x22\x00\x00\x00\xc3", 6);
    romb_op(&b, TOP_ADD, PVL_ACT_INLINE, mul, 7, SAVER, ROMB_NONE, 0);
    romb_op(&b, TOP_GET, PVL_ACT_CALL, 0, 0, 0, get, PVL_CLB(RAX));
    romb_op(&b, TOP_POKE, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
    return romb_finish(&b, size);
}

static pvl_result load(const uint8_t *img, size_t len, struct pvl_diag *d)
{
    struct pvl_impl impl[TOP_NOPS];
    struct pvl_env env;
    return pvl_rom_load(img, len, 0x10000000, &fx_iface, impl, &env, d);
}

static void good_rom_loads(void)
{
    size_t n;
    uint8_t *img = good_rom(&n);
    struct pvl_impl impl[TOP_NOPS];
    struct pvl_env env;
    struct pvl_diag d;

    CHECK_EQ(pvl_rom_load(img, n, 0x10000000, &fx_iface, impl, &env, &d), PVL_OK);
    CHECK_EQ(impl[TOP_ADD].action, PVL_ACT_INLINE);
    CHECK_EQ(impl[TOP_ADD].tmpl_len, 7);
    CHECK_BYTES(impl[TOP_ADD].tmpl, "\x48\x89\xf8\x48\x0f\xaf\xc6", 7);
    CHECK_EQ(impl[TOP_GET].action, PVL_ACT_CALL);
    CHECK_EQ(impl[TOP_GET].call, 0x10000000 + ENT(img, 2)->call_off);
    CHECK_EQ(impl[TOP_POKE].action, PVL_ACT_NOP);
    CHECK_EQ(impl[TOP_HOOK].action, PVL_ACT_NATIVE);
    CHECK(strcmp(env.name, "pvlink.test") == 0);
    CHECK_EQ(env.nimpl, TOP_NOPS);
    free(img);
}

/* One defect: a mutation of the good image and what it must produce. */
struct defect {
    const char *name;
    void (*mutate)(uint8_t *img, size_t *len);
    int reseal;
    pvl_result want;
    const char *field;
    uint32_t index;
};

static void m_truncate(uint8_t *img, size_t *len) { (void)img; *len = 63; }
static void m_magic(uint8_t *img, size_t *len) { (void)len; HDR(img)->magic ^= 1; }
static void m_major(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_major = 2; }
static void m_size_big(uint8_t *img, size_t *len) { HDR(img)->size = (uint32_t)*len + 1; }
static void m_size_small(uint8_t *img, size_t *len) { (void)len; HDR(img)->size = 63; }
static void m_checksum(uint8_t *img, size_t *len) { img[*len - 1] ^= 0x40; }
static void m_flags(uint8_t *img, size_t *len) { (void)len; HDR(img)->flags = 1; }
static void m_reserved(uint8_t *img, size_t *len) { (void)len; HDR(img)->reserved[1] = 7; }
static void m_iface(uint8_t *img, size_t *len) { (void)len; memcpy(HDR(img)->iface, "pvlink.kernel", 14); }
static void m_iface_unterminated(uint8_t *img, size_t *len) { (void)len; memset(HDR(img)->iface, 'x', 24); }
static void m_iface_major(uint8_t *img, size_t *len) { (void)len; HDR(img)->iface_major = 2; }
static void m_table_off(uint8_t *img, size_t *len) { HDR(img)->table_off = (uint32_t)*len; }
static void m_table_misaligned(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_off += 2; }
static void m_table_in_header(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_off = 32; }
static void m_table_count(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_count = 0x0aaaaaab; }
static void m_op_unknown(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->op = 77; }
static void m_op_newer_minor(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->op = 77; HDR(img)->iface_minor = 1; }
static void m_order(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->op = 0; }
static void m_action(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->action = 4; }
static void m_entry_reserved(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->reserved = 1; }
static void m_clobber_rsp(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_clobbers |= PVL_CLB(RSP); }
static void m_clobber_unknown(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_clobbers |= 1u << 20; }
static void m_tmpl_past_end(uint8_t *img, size_t *len) { ENT(img, 0)->tmpl_off = (uint32_t)*len - 3; }
static void m_tmpl_overflow(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_off = 0xfffffffe; }
static void m_tmpl_in_header(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_off = 8; }
static void m_call_past_end(uint8_t *img, size_t *len) { ENT(img, 2)->call_off = (uint32_t)*len; }
static void m_inline_no_tmpl(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_len = 0; }
static void m_call_no_entry(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_off = 0; }
static void m_nop_result(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->action = PVL_ACT_NOP; }
static void tmpl_put(uint8_t *img, const char *b, uint8_t n)
{
    memcpy(img + ENT(img, 0)->tmpl_off, b, n);
    ENT(img, 0)->tmpl_len = n;
}
static void m_tmpl_ret(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x90\xc3", 2); }
static void m_tmpl_branch(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xeb\x02\x90", 3); }
static void m_tmpl_branch_end(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xeb\x01\x90", 3); }
static void m_tmpl_branch_back(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x90\x75\xfc", 3); }
static void m_tmpl_riprel(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x48\x8b\x05\0\0\0\0", 7); }
static void m_tmpl_indirect(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xff\xd0", 2); }
static void m_tmpl_undecodable(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x90\x90\x06", 3); }
static void m_tmpl_mid_branch(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xeb\x01\xb0\xc3", 4); }
static void m_tmpl_cr_to_rsp(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x0f\x20\x24", 3); }
static void m_tmpl_push_rexw(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x66\x48\x50\x66\x58", 5); }
static void m_tmpl_ud2(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x0f\x0b", 2); }
static void m_tmpl_getsec(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x0f\x37", 2); }
static void m_tmpl_balanced(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x9c\x58", 2); }
static void m_tmpl_unbalanced(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x9c", 1); }
static void m_tmpl_truncated(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x48\x89\xf8\x48\x0f\xaf", 6); }

#define N PVL_NOINDEX
/* clang-format off */
static const struct defect defects[] = {
    {"truncated header", m_truncate, 0, PVL_E_ROM_SHORT, "header", N},
    {"bad magic", m_magic, 1, PVL_E_ROM_MAGIC, "header.magic", N},
    {"format major 2", m_major, 1, PVL_E_ROM_FORMAT, "header.format_major", N},
    {"size past the image", m_size_big, 0, PVL_E_ROM_SIZE, "header.size", N},
    {"size below the header", m_size_small, 0, PVL_E_ROM_SIZE, "header.size", N},
    {"bad checksum", m_checksum, 0, PVL_E_ROM_CHECKSUM, "header.checksum", N},
    {"header flags set", m_flags, 1, PVL_E_ROM_RESERVED, "header.flags", N},
    {"header reserved set", m_reserved, 1, PVL_E_ROM_RESERVED, "header.reserved", N},
    {"other interface", m_iface, 1, PVL_E_ROM_IFACE, "header.iface", N},
    {"unterminated interface name", m_iface_unterminated, 1, PVL_E_ROM_IFACE, "header.iface", N},
    {"interface major 2", m_iface_major, 1, PVL_E_ROM_VERSION, "header.iface_major", N},
    {"table past the end", m_table_off, 1, PVL_E_ROM_TABLE, "header.table_off", N},
    {"table misaligned", m_table_misaligned, 1, PVL_E_ROM_TABLE, "header.table_off", N},
    {"table inside the header", m_table_in_header, 1, PVL_E_ROM_TABLE, "header.table_off", N},
    {"table count overflows", m_table_count, 1, PVL_E_ROM_TABLE, "header.table_off", N},
    {"unknown operation", m_op_unknown, 1, PVL_E_ROM_OP, "entry.op", 2},
    {"newer operation ignored", m_op_newer_minor, 1, PVL_OK, NULL, 0},
    {"entries out of order", m_order, 1, PVL_E_ROM_ORDER, "entry.op", 1},
    {"unknown action", m_action, 1, PVL_E_ROM_ACTION, "entry.action", 1},
    {"entry reserved set", m_entry_reserved, 1, PVL_E_ROM_RESERVED, "entry.reserved", 1},
    {"template clobbers rsp", m_clobber_rsp, 1, PVL_E_ROM_CLOBBERS, "entry.clobbers", 0},
    {"call clobbers bit 20", m_clobber_unknown, 1, PVL_E_ROM_CLOBBERS, "entry.clobbers", 2},
    {"template past the end", m_tmpl_past_end, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"template offset overflows", m_tmpl_overflow, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"template in the header", m_tmpl_in_header, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"call entry past the end", m_call_past_end, 1, PVL_E_ROM_CALL, "entry.call_off", 2},
    {"inline without template", m_inline_no_tmpl, 1, PVL_E_ROM_MISSING, "entry.action", 0},
    {"call without entry", m_call_no_entry, 1, PVL_E_ROM_MISSING, "entry.action", 2},
    {"nop for an op with a result", m_nop_result, 1, PVL_E_NOP_RESULT, "entry.action", 2},
    {"template returns", m_tmpl_ret, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template branches out", m_tmpl_branch, 1, PVL_E_TMPL_BRANCH, "entry.template", 0},
    {"template branches to its end", m_tmpl_branch_end, 1, PVL_OK, NULL, 0},
    {"template branches before itself", m_tmpl_branch_back, 1, PVL_E_TMPL_BRANCH, "entry.template", 0},
    {"template RIP-relative", m_tmpl_riprel, 1, PVL_E_TMPL_RIPREL, "entry.template", 0},
    {"template indirect call", m_tmpl_indirect, 1, PVL_E_TMPL_INDIRECT, "entry.template", 0},
    {"template undecodable", m_tmpl_undecodable, 1, PVL_E_TMPL_DECODE, "entry.template", 0},
    {"template ends mid-instruction", m_tmpl_truncated, 1, PVL_E_TMPL_DECODE, "entry.template", 0},
    {"template branches into an immediate", m_tmpl_mid_branch, 1, PVL_E_TMPL_BRANCH, "entry.template", 0},
    {"template moves cr4 into rsp", m_tmpl_cr_to_rsp, 1, PVL_E_TMPL_STACK, "entry.template", 0},
    {"template push with 66 and REX.W", m_tmpl_push_rexw, 1, PVL_E_TMPL_STACK, "entry.template", 0},
    {"template traps (ud2)", m_tmpl_ud2, 1, PVL_E_TMPL_INDIRECT, "entry.template", 0},
    {"template enters SMX (getsec)", m_tmpl_getsec, 1, PVL_E_TMPL_INDIRECT, "entry.template", 0},
    {"template pushes and pops", m_tmpl_balanced, 1, PVL_OK, NULL, 0},
    {"template only pushes", m_tmpl_unbalanced, 1, PVL_E_TMPL_STACK, "entry.template", 0},
};
/* clang-format on */

static void each_defect_refused(void)
{
    for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
        const struct defect *df = &defects[i];
        size_t len;
        uint8_t *img = good_rom(&len);
        struct pvl_diag d = {0};

        df->mutate(img, &len);
        if (df->reseal && pvl_rom_seal(img, len) != PVL_OK)
            t_fail(__FILE__, __LINE__, "%s: cannot reseal", df->name);
        uint8_t *copy = malloc(len);
        memcpy(copy, img, len);
        pvl_result r = load(img, len, &d);
        if (r != df->want)
            t_fail(__FILE__, __LINE__, "%s: got \"%s\", expected \"%s\"", df->name,
                   pvl_strerror(r), pvl_strerror(df->want));
        else if (r != PVL_OK && (strcmp(d.field, df->field) || d.index != df->index))
            t_fail(__FILE__, __LINE__, "%s: names %s[%u], expected %s[%u]", df->name,
                   d.field, d.index, df->field, df->index);
        if (memcmp(copy, img, len))
            t_fail(__FILE__, __LINE__, "%s: validation changed the image", df->name);
        free(copy);
        free(img);
    }
    printf("  %zu malformed images\n", sizeof defects / sizeof defects[0]);
}

static void message_names_field(void)
{
    size_t len;
    uint8_t *img = good_rom(&len);
    struct pvl_diag d;
    char msg[160];

    ENT(img, 0)->tmpl_off = 0xfffffffe;
    CHECK_EQ(pvl_rom_seal(img, len), PVL_OK);
    CHECK_EQ(load(img, len, &d), PVL_E_ROM_TEMPLATE);
    pvl_diag_format(&d, msg, sizeof msg);
    if (strcmp(msg, "entry.tmpl_off[0]: ROM template is out of bounds (0xfffffffe)"))
        t_fail(__FILE__, __LINE__, "message: %s", msg);
    CHECK_EQ(pvl_diag_format(&d, msg, 8), strlen("entry.tmpl_off[0]: ROM template is out of bounds (0xfffffffe)"));
    CHECK(strcmp(msg, "entry.t") == 0); /* truncated, terminated */
    free(img);
}

/* Link-time refusals through a real ROM image: each leaves the object
 * exactly as it was. */
struct link_defect {
    const char *name;
    uint16_t op;
    uint8_t room;
    uint32_t clobbers;
    uint8_t flags;
    uint64_t rom_addr; /* where the ROM's code runs */
    pvl_result why;
};

static const struct link_defect link_defects[] = {
    {"template longer than the site", TOP_ADD, 6, SAVER, 0, FX_BIAS + 0x20000, PVL_E_ROOM},
    {"template clobbers a register", TOP_ADD, 8, PVL_CLB(FLAGS), 0, FX_BIAS + 0x20000, PVL_E_CLOBBER},
    {"call target out of rel32 range", TOP_GET, 5, PVL_CLB_C, 0, FX_BIAS + 0x90000000ull, PVL_E_CALL_RANGE},
    {"unknown operation", 40, 5, PVL_CLB_C, 0, FX_BIAS + 0x20000, PVL_E_SITE_OP},
    {"must-patch with no usable action", TOP_HOOK, 5, PVL_CLB_C, PVL_SITE_MUST_PATCH | PVL_SITE_NATIVE_CALL,
     FX_BIAS + 0x20000, PVL_E_MUST_PATCH},
};

static void link_refusals_change_nothing(void)
{
    for (size_t i = 0; i < sizeof link_defects / sizeof link_defects[0]; i++) {
        const struct link_defect *ld = &link_defects[i];
        struct fx f;
        size_t len;
        uint8_t *img = good_rom(&len);
        struct pvl_impl impl[TOP_NOPS];
        struct pvl_env env;
        struct pvl_refusal ref;
        struct pvl_report rep = {.refused = &ref, .refused_cap = 1};

        fx_init(&f);
        fx_site(&f, TOP_POKE, 6, SAVE, 0); /* a good site next to the bad one */
        fx_site(&f, ld->op, ld->room, ld->clobbers, ld->flags);
        CHECK_EQ(pvl_rom_load(img, len, ld->rom_addr, &fx_iface, impl, &env, NULL), PVL_OK);
        uint8_t *before = malloc(FX_SIZE);
        memcpy(before, f.mem, FX_SIZE);
        struct pvl_link l = fx_request(&f, &env);
        l.report = &rep;
        pvl_result r = pvl_link(&l);
        if (r != PVL_E_REFUSED || rep.nrefused != 1 || ref.why != ld->why || ref.index != 1)
            t_fail(__FILE__, __LINE__, "%s: got \"%s\" / \"%s\"", ld->name, pvl_strerror(r),
                   pvl_strerror(ref.why));
        if (memcmp(before, f.mem, FX_SIZE))
            t_fail(__FILE__, __LINE__, "%s: bytes changed", ld->name);
        free(before);
        free(img);
        fx_free(&f);
    }
}

static void seal_refuses_bad_sizes(void)
{
    size_t len;
    uint8_t *img = good_rom(&len);
    uint32_t sum = HDR(img)->checksum;

    CHECK_EQ(pvl_rom_seal(img, 63), PVL_E_ROM_SHORT);
    HDR(img)->size = (uint32_t)len + 1;
    CHECK_EQ(pvl_rom_seal(img, len), PVL_E_ROM_SIZE);
    HDR(img)->size = 10;
    CHECK_EQ(pvl_rom_seal(img, len), PVL_E_ROM_SIZE);
    CHECK_EQ(HDR(img)->checksum, sum); /* refused: untouched */
    HDR(img)->size = (uint32_t)len;
    CHECK_EQ(pvl_rom_seal(img, len), PVL_OK);
    CHECK_EQ(HDR(img)->checksum, sum);
    free(img);
}

T_CASES(T(good_rom_loads), T(seal_refuses_bad_sizes), T(each_defect_refused), T(message_names_field),
        T(link_refusals_change_nothing))
