/*
 * Disassembly of site and template bytes with Zydis 4 (AT&T syntax, as
 * the catalog's native code is written).  Runs of NOPs are shown as
 * ".nops N", the assembler directive that pads sites; bytes that do not
 * decode are shown as ".byte" so that nothing is hidden.
 */
#include <stdarg.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "pvlink.h"

static ZydisDecoder decoder;
static ZydisFormatter formatter;
static int ready;

static void init(void)
{
    if (ready)
        return;
    ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_ATT);
    ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE,
                              ZYAN_FALSE);
    ZydisFormatterSetProperty(&formatter,
                              ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
                              ZYDIS_PADDING_DISABLED);
    ready = 1;
}

size_t pvt_dis_length(const uint8_t *code, size_t len, int *is_nop)
{
    ZydisDecodedInstruction in;

    init();
    *is_nop = 0;
    if (!len || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, NULL, code,
                                                            len, &in)))
        return 0;
    *is_nop = in.mnemonic == ZYDIS_MNEMONIC_NOP;
    return in.length;
}

int pvt_dis_all_nops(const uint8_t *code, size_t len)
{
    size_t at = 0, k;
    int nop;

    while (at < len) {
        if (!(k = pvt_dis_length(code + at, len - at, &nop)) || !nop)
            return 0;
        at += k;
    }
    return 1;
}

/* A bounded string being built; output past the end is dropped and the
 * string ends in "..." instead. */
struct sb {
    char *buf;
    size_t n, len;
    int full;
};

static void put(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct sb *b, const char *fmt, ...)
{
    va_list ap;

    if (b->full)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(b->buf + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->n - b->len) {
        b->full = 1;
        if (b->n >= 4)
            memcpy(b->buf + b->n - 4, "...", 4);
        return;
    }
    b->len += (size_t)k;
}

/* The target of a relative branch, if (in) is one. */
static int branch_target(const ZydisDecodedInstruction *in,
                         const ZydisDecodedOperand *ops, uint64_t at,
                         uint64_t *target)
{
    for (unsigned i = 0; i < in->operand_count_visible; i++)
        if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[i].imm.is_relative)
            return ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, &ops[i], at, target));
    return 0;
}

static void format_one(struct sb *b, const ZydisDecodedInstruction *in,
                       const ZydisDecodedOperand *ops, uint64_t at,
                       pvt_symfn sym, void *ctx)
{
    char text[160], name[200];
    uint64_t target;

    if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, in, ops,
                                                      in->operand_count_visible,
                                                      text, sizeof text, at,
                                                      NULL)))
        snprintf(text, sizeof text, "(unformattable)");
    put(b, "%s", text);
    if (sym && branch_target(in, ops, at, &target) &&
        sym(ctx, target, name, sizeof name))
        put(b, " <%s>", name);
}

static void put_bytes(struct sb *b, const uint8_t *p, size_t n)
{
    put(b, ".byte ");
    for (size_t i = 0; i < n; i++)
        put(b, i ? ", 0x%02x" : "0x%02x", p[i]);
}

void pvt_dis(char *buf, size_t n, const uint8_t *code, size_t len,
             uint64_t addr, pvt_symfn sym, void *ctx)
{
    struct sb b = {buf, n, 0, 0};
    size_t at = 0, nops = 0;

    init();
    buf[0] = '\0';
    while (at < len) {
        ZydisDecodedInstruction in;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code + at, len - at,
                                                 &in, ops)))
            break;
        if (in.mnemonic == ZYDIS_MNEMONIC_NOP) {
            nops += in.length;
        } else {
            if (nops)
                put(&b, "%s.nops %zu", b.len ? "; " : "", nops), nops = 0;
            put(&b, "%s", b.len ? "; " : "");
            format_one(&b, &in, ops, addr + at, sym, ctx);
        }
        at += in.length;
    }
    if (nops)
        put(&b, "%s.nops %zu", b.len ? "; " : "", nops);
    if (at < len) {
        put(&b, "%s", b.len ? "; " : "");
        put_bytes(&b, code + at, len - at);
    }
}

void pvt_diag_text(char *buf, size_t n, const struct pvl_diag *d)
{
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    char text[160];

    init();
    if (d->kind != PVL_DIAG_INSN || !d->insn_len ||
        !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, d->insn, d->insn_len, &in, ops)) ||
        in.length != d->insn_len ||
        !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, &in, ops,
                                                      in.operand_count_visible, text,
                                                      sizeof text, d->off, NULL))) {
        pvl_diag_format(d, buf, n); /* the bytes, as the core shows them */
        return;
    }
    pvl_diag_format_insn(d, text, buf, n);
}

void pvt_dis_lines(FILE *out, const char *indent, const uint8_t *code, size_t len,
                   uint64_t addr, pvt_symfn sym, void *ctx)
{
    size_t at = 0;

    init();
    while (at < len) {
        ZydisDecodedInstruction in;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        char line[PVT_DIS_MAX];
        struct sb b = {line, sizeof line, 0, 0};
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code + at, len - at, &in, ops))) {
            put_bytes(&b, code + at, len - at);
            fprintf(out, "%s+%-4zu %s\n", indent, at, line);
            return;
        }
        format_one(&b, &in, ops, addr + at, sym, ctx);
        fprintf(out, "%s+%-4zu %s\n", indent, at, line);
        at += in.length;
    }
}
