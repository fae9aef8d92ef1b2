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

#define STK PVL_CLB(STACK)
#define SAVE (PVL_CLB(FLAGS) | STK)
#define SAVER (PVL_CLB(RAX) | SAVE)
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
    romb_op(&b, TOP_GET, PVL_ACT_CALL, 0, 0, 0, get, PVL_CLB(RAX) | STK);
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
static void m_major1(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_major = 1; }
static void m_major3(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_major = 3; }
static void m_minor_reserved(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_minor = PVL_FORMAT_MINOR + 1; HDR(img)->reserved[1] = 9; HDR(img)->flags = 2; ENT(img, 1)->reserved1 = 5; ENT(img, 1)->flags = 0x80; }
static void m_size_big(uint8_t *img, size_t *len) { HDR(img)->size = (uint32_t)*len + 1; }
static void m_size_small(uint8_t *img, size_t *len) { (void)len; HDR(img)->size = 63; }
static void m_checksum(uint8_t *img, size_t *len) { img[*len - 1] ^= 0x40; }
static void m_flags(uint8_t *img, size_t *len) { (void)len; HDR(img)->flags = 2; }
static void m_reserved(uint8_t *img, size_t *len) { (void)len; HDR(img)->reserved[1] = 7; }
static void m_iface(uint8_t *img, size_t *len) { (void)len; memcpy(HDR(img)->iface, "pvlink.kernel", 14); }
static void m_iface_unterminated(uint8_t *img, size_t *len) { (void)len; memset(HDR(img)->iface, 'x', 24); }
static void m_iface_major(uint8_t *img, size_t *len) { (void)len; HDR(img)->iface_major = 2; }
static void m_table_off(uint8_t *img, size_t *len) { HDR(img)->table_off = (uint32_t)*len; }
static void m_table_misaligned(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_off += 2; }
static void m_table_in_header(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_off = 32; }
static void m_table_count(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_count = 0xffffffff; }
static void m_table_count_big(uint8_t *img, size_t *len) { (void)len; HDR(img)->table_count = PVL_ROM_TABLE_MAX + 1; }
static void m_op_unknown(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->op = 77; }
static void m_op_newer_minor(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->op = 77; HDR(img)->iface_minor = 1; }
static void m_order(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->op = 0; }
static void m_action(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->action = 4; }
static void m_entry_reserved(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->reserved1 = 1; }
static void m_entry_flags(uint8_t *img, size_t *len) { (void)len; ENT(img, 1)->flags = 0x80; }
static void m_clobber_rsp(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_clobbers |= PVL_CLB(RSP); }
static void m_clobber_unknown(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_clobbers |= 1ull << 21; }
static void m_clobber_unallowed(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_clobbers |= PVL_CLB(XMM3); }
static void m_required_native(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->flags = PVL_ENT_REQUIRED; ENT(img, 2)->action = PVL_ACT_NATIVE; }
static void m_tmpl_past_end(uint8_t *img, size_t *len) { ENT(img, 0)->tmpl_off = (uint32_t)*len - 3; }
static void m_tmpl_overflow(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_off = 0xfffffffe; }
static void m_tmpl_in_header(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_off = 8; }
static void m_call_past_end(uint8_t *img, size_t *len) { ENT(img, 2)->call_off = (uint32_t)*len; }
static void m_call_no_len(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_len = 0; }
static void m_call_cut(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_len -= 1; }
static void m_call_in_table(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_off = HDR(img)->table_off + 8; ENT(img, 2)->call_len = 1; }
static void m_call_at_template(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_off = ENT(img, 0)->tmpl_off; ENT(img, 2)->call_len = 7; }
static void m_call_one_in(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_off += 1; ENT(img, 2)->call_len -= 1; }
static void m_call_mid_insn(uint8_t *img, size_t *len)
{
    (void)len; /* poke offers a call entry starting inside get's first instruction */
    ENT(img, 1)->call_off = ENT(img, 2)->call_off + 1;
    ENT(img, 1)->call_len = ENT(img, 2)->call_len - 1;
    ENT(img, 1)->call_clobbers = SAVE;
}
static void m_size_cuts_call(uint8_t *img, size_t *len)
{ /* the image ends one byte before get's call entry does */
    *len = ENT(img, 2)->call_off + ENT(img, 2)->call_len - 1u;
    HDR(img)->size = (uint32_t)*len;
}
static void m_call_too_long(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_len = PVL_CALL_MAX + 1; }
static void m_tmpl_too_long(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_len = 65; }
static void m_tmpl_len_255(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_len = 255; }
static void m_call_lies(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_clobbers = STK; }
static void m_call_nostack(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_clobbers = PVL_CLB(RAX); }
static void m_probe_ok(uint8_t *img, size_t *len) { (void)len; HDR(img)->probe_off = ENT(img, 2)->call_off; HDR(img)->probe_len = ENT(img, 2)->call_len; }
static void m_probe_in_table(uint8_t *img, size_t *len) { (void)len; HDR(img)->probe_off = HDR(img)->table_off; HDR(img)->probe_len = 4; }
static void m_probe_no_len(uint8_t *img, size_t *len) { (void)len; HDR(img)->probe_off = ENT(img, 2)->call_off; }
static void m_probe_bad(uint8_t *img, size_t *len) { (void)len; HDR(img)->probe_off = ENT(img, 2)->call_off; HDR(img)->probe_len = ENT(img, 2)->call_len - 1; }
static void m_inline_no_tmpl(uint8_t *img, size_t *len) { (void)len; ENT(img, 0)->tmpl_len = 0; }
static void m_call_no_entry(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->call_off = 0; ENT(img, 2)->call_len = 0; }
static void m_nop_result(uint8_t *img, size_t *len) { (void)len; ENT(img, 2)->action = PVL_ACT_NOP; }
static void tmpl_put(uint8_t *img, const char *b, uint8_t n)
{
    memcpy(img + ENT(img, 0)->tmpl_off, b, n);
    ENT(img, 0)->tmpl_len = n;
}
/* The findings of issue 10: templates lying about what they change, and
 * the return-like instructions ERETU, ERETS, SEAMRET, UIRET. */
static void m_tmpl_lie_xor_cli(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x31\xc0\xfa", 3); ENT(img, 0)->tmpl_clobbers = PVL_CLB(FLAGS); }
static void m_tmpl_lie_mov_ebx(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xbb\x00\x00\x00\x00", 5); ENT(img, 0)->tmpl_clobbers = 0; }
static void m_tmpl_lie_pushf_pop(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x9c\x58", 2); ENT(img, 0)->tmpl_clobbers = PVL_CLB(FLAGS) | STK; }
static void m_tmpl_lie_xmm(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x66\x0f\xef\xc0", 4); ENT(img, 0)->tmpl_clobbers = SAVER; }
static void m_tmpl_eretu(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xf3\x0f\x01\xca", 4); }
static void m_tmpl_erets(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xf2\x0f\x01\xca", 4); }
static void m_tmpl_seamret(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x66\x0f\x01\xcd", 4); }
static void m_tmpl_uiret(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\xf3\x0f\x01\xec", 4); }
static void m_tmpl_sysret(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x48\x0f\x07", 3); }
static void m_tmpl_mov_ss(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x8e\xd0", 2); }
static void m_tmpl_host_frame(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x48\x89\x44\x24\x08", 5); }
static void m_tmpl_push_pop_stack(uint8_t *img, size_t *len) { (void)len; tmpl_put(img, "\x50\x58", 2); ENT(img, 0)->tmpl_clobbers = PVL_CLB(RAX); }
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
    {"format major 1", m_major1, 1, PVL_E_ROM_FORMAT, "header.format_major", N},
    {"format major 3", m_major3, 1, PVL_E_ROM_FORMAT, "header.format_major", N},
    {"newer minor: reserved space ignored", m_minor_reserved, 1, PVL_OK, NULL, 0},
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
    {"table count 0xffffffff", m_table_count, 1, PVL_E_ROM_TABLE, "header.table_count", N},
    {"table count past the format's limit", m_table_count_big, 1, PVL_E_ROM_TABLE, "header.table_count", N},
    {"unknown operation", m_op_unknown, 1, PVL_E_ROM_OP, "entry.op", 2},
    {"newer operation ignored", m_op_newer_minor, 1, PVL_OK, NULL, 0},
    {"entries out of order", m_order, 1, PVL_E_ROM_ORDER, "entry.op", 1},
    {"unknown action", m_action, 1, PVL_E_ROM_ACTION, "entry.action", 1},
    {"entry reserved set", m_entry_reserved, 1, PVL_E_ROM_RESERVED, "entry.reserved", 1},
    {"entry flag unknown", m_entry_flags, 1, PVL_E_ROM_RESERVED, "entry.flags", 1},
    {"template clobbers rsp", m_clobber_rsp, 1, PVL_E_ROM_CLOBBERS, "entry.tmpl_clobbers", 0},
    {"call clobbers reserved bit 21", m_clobber_unknown, 1, PVL_E_ROM_CLOBBERS, "entry.call_clobbers", 2},
    {"declares what the op does not allow", m_clobber_unallowed, 1, PVL_E_ROM_UNALLOWED, "entry.tmpl_clobbers", 0},
    {"required native", m_required_native, 1, PVL_E_ROM_REQUIRED, "entry.flags", 2},
    {"template past the end", m_tmpl_past_end, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"template offset overflows", m_tmpl_overflow, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"template in the header", m_tmpl_in_header, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_off", 0},
    {"call entry past the end", m_call_past_end, 1, PVL_E_ROM_CALL, "entry.call_off", 2},
    {"call entry without a length", m_call_no_len, 1, PVL_E_ROM_CALL, "entry.call_len", 2},
    {"call entry cut one byte short", m_call_cut, 1, PVL_E_CALL_END, "entry.call", 2},
    {"call entry in the table", m_call_in_table, 1, PVL_E_ROM_CALL, "entry.call_off", 2},
    {"call entry at a template", m_call_at_template, 1, PVL_E_ROM_CALL, "entry.call_off", 2},
    {"call entry one byte into its code", m_call_one_in, 1, PVL_E_EFFECT, "entry.call", 2},
    {"call entry inside another's instruction", m_call_mid_insn, 1, PVL_E_ROM_OVERLAP, "entry.call_off", 1},
    {"image size cuts a call entry", m_size_cuts_call, 1, PVL_E_ROM_CALL, "entry.call_off", 2},
    {"call entry longer than PVL_CALL_MAX", m_call_too_long, 1, PVL_E_ROM_CALL, "entry.call_len", 2},
    {"call entry lies about rax", m_call_lies, 1, PVL_E_EFFECT, "entry.call", 2},
    {"call entry without stack", m_call_nostack, 1, PVL_E_CALL_NOSTACK, "entry.call_clobbers", 2},
    {"template of 65 bytes", m_tmpl_too_long, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_len", 0},
    {"template of 255 bytes", m_tmpl_len_255, 1, PVL_E_ROM_TEMPLATE, "entry.tmpl_len", 0},
    {"probe", m_probe_ok, 1, PVL_OK, NULL, 0},
    {"probe in the table", m_probe_in_table, 1, PVL_E_ROM_PROBE, "header.probe_off", N},
    {"probe without a length", m_probe_no_len, 1, PVL_E_ROM_PROBE, "header.probe_off", N},
    {"probe cut short", m_probe_bad, 1, PVL_E_CALL_END, "header.probe", N},
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
    {"template xor %eax,%eax; cli declared as flags", m_tmpl_lie_xor_cli, 1, PVL_E_EFFECT, "entry.template", 0},
    {"template mov $0,%ebx declared as nothing", m_tmpl_lie_mov_ebx, 1, PVL_E_EFFECT, "entry.template", 0},
    {"template pushfq; pop %rax declared without rax", m_tmpl_lie_pushf_pop, 1, PVL_E_EFFECT, "entry.template", 0},
    {"template pxor %xmm0 declared as rax, flags", m_tmpl_lie_xmm, 1, PVL_E_EFFECT, "entry.template", 0},
    {"template push/pop declared without stack", m_tmpl_push_pop_stack, 1, PVL_E_EFFECT, "entry.template", 0},
    {"template ERETU", m_tmpl_eretu, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template ERETS", m_tmpl_erets, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template SEAMRET", m_tmpl_seamret, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template UIRET", m_tmpl_uiret, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template SYSRET", m_tmpl_sysret, 1, PVL_E_TMPL_RET, "entry.template", 0},
    {"template loads SS", m_tmpl_mov_ss, 1, PVL_E_INSN_STATE, "entry.template", 0},
    {"template writes the frame around the site", m_tmpl_host_frame, 1, PVL_E_TMPL_STACK, "entry.template", 0},
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
    static const char want[] = "entry.tmpl_off[0]: ROM template is out of bounds, longer than "
                               "PVL_ROOM_MAX, or over the header or the table (0xfffffffe)";
    size_t len;
    uint8_t *img = good_rom(&len);
    struct pvl_diag d;
    char msg[200];

    ENT(img, 0)->tmpl_off = 0xfffffffe;
    CHECK_EQ(pvl_rom_seal(img, len), PVL_OK);
    CHECK_EQ(load(img, len, &d), PVL_E_ROM_TEMPLATE);
    pvl_diag_format(&d, msg, sizeof msg);
    if (strcmp(msg, want))
        t_fail(__FILE__, __LINE__, "message: %s", msg);
    CHECK_EQ(pvl_diag_format(&d, msg, 8), strlen(want));
    CHECK(strcmp(msg, "entry.t") == 0); /* truncated, terminated */
    free(img);
}

/* The messages of the findings, word for word: what is wrong,
 * where, what was found and what was expected. */
struct message_case {
    const char *name;
    void (*mutate)(uint8_t *img, size_t *len);
    int reseal;
    const char *want; /* NULL: checked by the caller (computed values) */
};

static void m_sum_zero(uint8_t *img, size_t *len) { (void)len; HDR(img)->checksum = 0x1234; }

static const struct message_case message_cases[] = {
    {"table_count 0xffffffff", m_table_count, 1,
     "header.table_count: ROM table is out of bounds (found 4294967295, at most 4096)"},
    {"format 1", m_major1, 1,
     "header.format_major: unsupported ROM format major version (found 1, expected 2)"},
    {"interface major", m_iface_major, 1,
     "header.iface_major: ROM interface major version differs (found 2, expected 1)"},
    {"template writes rax undeclared", m_tmpl_lie_xor_cli, 1,
     "entry.template[0] +0: 31 c0 writes rax, which the entry does not declare"},
    {"template ERETU", m_tmpl_eretu, 1,
     "entry.template[0] +0: f3 0f 01 ca is a return-like instruction (eretu)"},
    {"template too long", m_tmpl_too_long, 1,
     "entry.tmpl_len[0]: ROM template is out of bounds, longer than PVL_ROOM_MAX, or over the "
     "header or the table (found 65, at most 64)"},
    {"call entry lies", m_call_lies, 1,
     "entry.call[2] +0: b8 22 00 00 00 writes rax, which the entry does not declare"},
    {"declared beyond the op", m_clobber_unallowed, 1,
     "entry.tmpl_clobbers[0] (add): entry declares changes its operation's sites do not allow "
     "(xmm3; allowed: rax,flags,stack)"},
    {"header reserved, this minor", m_reserved, 1,
     "header.reserved: reserved ROM field is not zero (0x7)"},
    {"checksum", m_sum_zero, 0, NULL},
};

static void messages_exact(void)
{
    char msg[300], want[300];

    for (size_t i = 0; i < sizeof message_cases / sizeof message_cases[0]; i++) {
        const struct message_case *c = &message_cases[i];
        size_t len;
        uint8_t *img = good_rom(&len);
        struct pvl_diag d = {0};
        c->mutate(img, &len);
        if (c->reseal)
            pvl_rom_seal(img, len);
        load(img, len, &d);
        pvl_diag_format(&d, msg, sizeof msg);
        if (c->want)
            snprintf(want, sizeof want, "%s", c->want);
        else /* stored and computed */
            snprintf(want, sizeof want, "header.checksum: ROM checksum mismatch (stored 0x1234, "
                     "computed %#x)", pvl_rom_checksum(img, len));
        if (strcmp(msg, want))
            t_fail(__FILE__, __LINE__, "%s:\n      %s\n  expected:\n      %s", c->name, msg, want);
        free(img);
    }
}

/* Link-time refusals through a real ROM image: each leaves the object
 * exactly as it was. */
struct link_defect {
    const char *name;
    uint16_t op;
    uint8_t room;
    uint64_t clobbers;
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

/* ------------------------------------------------------------------------
 * Gates (format 2.1): a ROM declares what its environment's gates write;
 * poke, a "save" operation, calls one with rax saved around it.
 */
#define GATES (PVL_CLB(RAX) | SAVE)

static uint8_t *gated_rom(size_t *size)
{
    /* push %rax; mov $1, %eax; call *ptr(%rip); pop %rax; ret; ptr: .quad 0 */
    static const uint8_t poke[] = "\x50\xb8\x01\x00\x00\x00\xff\x15\x02\x00\x00\x00"
                                  "\x58\xc3";
    /* mov $2, %eax; jmp *ptr(%rip); ptr: .quad 0 */
    static const uint8_t get[] = "\xb8\x02\x00\x00\x00\xff\x25\x00\x00\x00\x00";
    static const uint8_t ptr[8];
    static struct romb b;
    uint32_t p, g;

    romb_init(&b, "pvlink.test", 1, 0);
    p = romb_code(&b, poke, sizeof poke - 1);
    romb_data(&b, ptr, sizeof ptr);
    g = romb_code(&b, get, sizeof get - 1);
    romb_data(&b, ptr, sizeof ptr);
    romb_op(&b, TOP_POKE, PVL_ACT_CALL, 0, 0, 0, p, SAVE);
    romb_op(&b, TOP_GET, PVL_ACT_CALL, 0, 0, 0, g, GATES);
    romb_gates(&b, GATES);
    return romb_finish(&b, size);
}

static void gated_rom_loads(void)
{
    size_t n;
    uint8_t *img = gated_rom(&n);
    struct pvl_impl impl[TOP_NOPS];
    struct pvl_env env;
    struct pvl_diag d;

    CHECK_EQ(HDR(img)->format_minor, 1);
    CHECK_EQ(HDR(img)->flags, PVL_ROM_GATES);
    CHECK_EQ(pvl_rom_gates(HDR(img)), GATES);
    CHECK_EQ(pvl_rom_load(img, n, 0x10000000, &fx_iface, impl, &env, &d), PVL_OK);
    CHECK_EQ(impl[TOP_POKE].action, PVL_ACT_CALL);
    CHECK_EQ(impl[TOP_POKE].call_clobbers, SAVE);
    CHECK_EQ(impl[TOP_GET].call_clobbers, GATES);
    free(img);
}

static void g_as_2_0(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_minor = 0; HDR(img)->flags = 0; HDR(img)->gate_writes = 0; }
static void g_flag_in_2_0(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_minor = 0; }
static void g_no_flag(uint8_t *img, size_t *len) { (void)len; HDR(img)->flags = 0; }
static void g_no_stack(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes = PVL_CLB(RAX) | PVL_CLB(FLAGS); }
static void g_callee_saved(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes |= PVL_CLB(RBX); }
static void g_rsp(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes |= PVL_CLB(RSP); }
static void g_reserved_bit(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes |= 1ull << 21; }
static void g_writes_rcx(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes |= PVL_CLB(RCX); }
static void g_vector(uint8_t *img, size_t *len) { (void)len; HDR(img)->gate_writes |= PVL_CLB(XMM0); }
static void g_unknown_flag(uint8_t *img, size_t *len) { (void)len; HDR(img)->flags |= 2; }
static void g_newer_minor(uint8_t *img, size_t *len) { (void)len; HDR(img)->format_minor = PVL_FORMAT_MINOR + 1; HDR(img)->flags |= 2; HDR(img)->reserved[1] = 3; }
static void g_newer_rcx(uint8_t *img, size_t *len) { g_newer_minor(img, len); g_writes_rcx(img, len); }
static void g_header_reserved(uint8_t *img, size_t *len) { (void)len; HDR(img)->reserved[0] = 1; }

/* clang-format off */
static const struct message_case gate_cases[] = {
    {"gates declared", NULL, 0, NULL},
    /* a 2.0 reader's view: the flag and the mask ignored, gate calls are C calls */
    {"the same code read as 2.0", g_as_2_0, 1,
     "entry.call[0] +6: ff 15 02 00 00 00 writes rcx, which the entry does not declare"},
    {"gates flag in a 2.0 image", g_flag_in_2_0, 1,
     "header.flags: reserved ROM field is not zero (0x1)"},
    {"gate_writes without the flag", g_no_flag, 1,
     "header.gate_writes: reserved ROM field is not zero (0x110001)"},
    {"gates without stack", g_no_stack, 1,
     "header.gate_writes: ROM gates must declare stack and nothing a C call may not change "
     "(0x10001)"},
    {"gates writing a callee-saved register", g_callee_saved, 1,
     "header.gate_writes: ROM gates must declare stack and nothing a C call may not change "
     "(0x110009)"},
    {"gates writing rsp", g_rsp, 1,
     "header.gate_writes: ROM gates must declare stack and nothing a C call may not change "
     "(0x110011)"},
    {"gates writing a reserved bit", g_reserved_bit, 1,
     "header.gate_writes: ROM gates must declare stack and nothing a C call may not change "
     "(0x310001)"},
    {"gates writing rcx, which poke does not declare", g_writes_rcx, 1,
     "entry.call[0] +6: ff 15 02 00 00 00 writes rcx, which the entry does not declare"},
    {"gates writing xmm0: beyond poke's sites", g_vector, 1,
     "entry.call[0] +6: ff 15 02 00 00 00 writes xmm0, which the entry does not declare"},
    {"unknown header flag, this minor", g_unknown_flag, 1,
     "header.flags: reserved ROM field is not zero (0x3)"},
    {"newer minor: unknown flag and reserved ignored, gates kept", g_newer_minor, 1, NULL},
    {"newer minor: gates still checked", g_newer_rcx, 1,
     "entry.call[0] +6: ff 15 02 00 00 00 writes rcx, which the entry does not declare"},
    {"header reserved", g_header_reserved, 1,
     "header.reserved: reserved ROM field is not zero (0x1)"},
};
/* clang-format on */

static void gates_checked(void)
{
    char msg[300];

    for (size_t i = 0; i < sizeof gate_cases / sizeof gate_cases[0]; i++) {
        const struct message_case *c = &gate_cases[i];
        size_t len;
        uint8_t *img = gated_rom(&len);
        struct pvl_diag d = {0};
        pvl_result r;

        if (c->mutate)
            c->mutate(img, &len);
        if (c->reseal)
            pvl_rom_seal(img, len);
        r = load(img, len, &d);
        pvl_diag_format(&d, msg, sizeof msg);
        if (!c->want && r != PVL_OK)
            t_fail(__FILE__, __LINE__, "%s: refused: %s", c->name, msg);
        else if (c->want && strcmp(msg, c->want))
            t_fail(__FILE__, __LINE__, "%s:\n      %s\n  expected:\n      %s", c->name,
                   r ? msg : "accepted", c->want);
        free(img);
    }
    printf("  %zu gate declarations\n", sizeof gate_cases / sizeof gate_cases[0]);
}

T_CASES(T(good_rom_loads), T(seal_refuses_bad_sizes), T(each_defect_refused), T(message_names_field),
        T(messages_exact), T(link_refusals_change_nothing), T(gated_rom_loads), T(gates_checked))
