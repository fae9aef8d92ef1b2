/*
 * Result messages, the state and action names, and diagnostics
 * formatting, without libc.  These tables are the only ones: the tools,
 * the runtime, the kernel and the monitor print names through them.
 */
#include "internal.h"

#define MSG_(n, msg) [PVL_##n] = msg,
static const char *const messages[PVL_NRESULTS] = {PVL_RESULTS(MSG_)};
#undef MSG_

const char *pvl_strerror(pvl_result r)
{
    if ((unsigned)r >= PVL_NRESULTS)
        return "unknown pvlink result";
    return messages[r];
}

/* ------------------------------------------------------------------------
 * Names.
 */

static const char *const state_names[PVL_NSTATE] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "flags", "x87", "kmask", "mxcsr", "stack",
    [32] = "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
    "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
    "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
};

const char *pvl_state_name(unsigned bit)
{
    return bit < PVL_NSTATE ? state_names[bit] : 0;
}

static const char *const action_names[PVL_NACTIONS] = {
    [PVL_ACT_NATIVE] = "native",
    [PVL_ACT_INLINE] = "inline",
    [PVL_ACT_CALL] = "call",
    [PVL_ACT_NOP] = "nop",
};

const char *pvl_action_name(int action)
{
    return action >= 0 && action < PVL_NACTIONS ? action_names[action] : 0;
}

int pvl_action_find(const char *name)
{
    for (int a = 0; a < PVL_NACTIONS; a++)
        if (pvl__name_is(action_names[a], 16, name))
            return a;
    return -1;
}

/* ------------------------------------------------------------------------
 * A bounded string.
 */

struct out {
    char *buf;
    size_t n, len;
};

static void put(struct out *o, const char *s)
{
    for (; *s; s++, o->len++)
        if (o->len + 1 < o->n)
            o->buf[o->len] = *s;
}

static void put_num(struct out *o, uint64_t v, unsigned base)
{
    char tmp[24];
    int i = 0;

    do
        tmp[i++] = "0123456789abcdef"[v % base];
    while ((v /= base) != 0);
    if (base == 16)
        put(o, "0x");
    while (i)
        put(o, (char[]){tmp[--i], 0});
}

static size_t finish(struct out *o)
{
    if (o->n)
        o->buf[o->len < o->n ? o->len : o->n - 1] = '\0';
    return o->len;
}

/* Bits lo..hi of (mask) that are set, all of them vector registers. */
static unsigned vec_run(uint64_t mask, unsigned lo)
{
    unsigned hi = lo;
    while (hi + 1 < PVL_NSTATE && (mask >> (hi + 1) & 1))
        hi++;
    return hi;
}

size_t pvl_mask_format(uint64_t mask, const char *sep, char *buf, size_t n)
{
    struct out o = {buf, n, 0};
    int first = 1;

    if (!mask)
        put(&o, "-");
    for (unsigned b = 0; b < PVL_NSTATE; b++) {
        if (!(mask >> b & 1))
            continue;
        if (!first)
            put(&o, sep);
        first = 0;
        if (!state_names[b]) {
            put(&o, "bit");
            put_num(&o, b, 10);
            continue;
        }
        put(&o, state_names[b]);
        unsigned hi = b >= PVL_XMM0 ? vec_run(mask, b) : b;
        if (hi >= b + 2) {
            put(&o, "-");
            put(&o, state_names[hi]);
            b = hi;
        }
    }
    return finish(&o);
}

/* ------------------------------------------------------------------------
 * Diagnostics.
 */

/* What an instruction does wrong: %S the state, %N its name, %T the
 * branch target. */
static const struct {
    pvl_result code;
    const char *phrase;
} insn_phrases[] = {
    {PVL_E_TMPL_DECODE, "cannot be decoded, or is cut by the end of the code"},
    {PVL_E_INSN_UNMODELLED, "is an instruction whose effects pvlink does not model"},
    {PVL_E_INSN_STATE, "changes state outside the clobber model"},
    {PVL_E_TMPL_BRANCH, "branches to %T, which is neither an instruction start in this "
                        "code nor a call entry"},
    {PVL_E_TMPL_RET, "is a return-like instruction (%N)"},
    {PVL_E_INSN_VEX, "is a VEX-encoded (AVX) instruction, which pvlink does not decode; "
                     "build this code without AVX (-mno-avx)"},
    {PVL_E_INSN_BMI, "is a VEX-encoded BMI instruction, which pvlink does not decode; "
                     "build this code without BMI (-mno-bmi -mno-bmi2)"},
    {PVL_E_INSN_EVEX, "is an EVEX-encoded (AVX-512) instruction, which pvlink does not "
                      "decode; build this code without AVX (-mno-avx)"},
    {PVL_E_TMPL_INDIRECT, "is an indirect, far or system transfer, or a trap"},
    {PVL_E_CALL_IJMP, "is an indirect jump (a switch's jump table?), which cannot be "
                      "followed; build this code with -fno-jump-tables"},
    {PVL_E_TMPL_RIPREL, "uses RIP-relative addressing, which a template may not"},
    {PVL_E_TMPL_STACK, "moves the stack pointer other than by balanced push and pop, "
                       "or writes the frame of the code around the site"},
    {PVL_E_EFFECT, "writes %S, which the entry does not declare"},
    {PVL_E_CALL_END, "falls through the end of the code, which must end in a return "
                     "or a tail jump"},
    {PVL_E_CALL_STACK, "leaves with the stack pointer moved, or writes at or above the "
                       "return address"},
    {PVL_E_CALL_COMPLEX, "is one branch target too many for pvlink to follow"},
    {PVL_E_CALL_OUTSIDE, "jumps to %T, outside the code pvlink can read, with the stack "
                         "pointer moved (not a tail call)"},
};

/* A byte offset in code, "+4" or "-16". */
static void put_signed(struct out *o, uint64_t v)
{
    int64_t s = (int64_t)v;
    put(o, s < 0 ? "-" : "+");
    put_num(o, s < 0 ? 0 - v : v, 10);
}

static void put_phrase(struct out *o, const struct pvl_diag *d, const char *p)
{
    for (; *p; p++) {
        if (p[0] != '%' || !p[1]) {
            put(o, (char[]){*p, 0});
            continue;
        }
        p++;
        if (*p == 'S') {
            const char *s = d->state == PVL_NOSTATE ? 0 : pvl_state_name(d->state);
            put(o, s ? s : "?");
        } else if (*p == 'N') {
            put(o, d->name ? d->name : "?");
        } else if (*p == 'T') {
            put_signed(o, d->value);
        }
    }
}

static void put_insn(struct out *o, const struct pvl_diag *d, const char *text)
{
    const char *phrase = pvl_strerror(d->code);

    put(o, " ");
    put_signed(o, (uint64_t)(int64_t)(int32_t)d->off);
    put(o, ": ");
    if (text) {
        put(o, text);
    } else {
        for (unsigned i = 0; i < d->insn_len && i < sizeof d->insn; i++) {
            if (i)
                put(o, " ");
            put(o, (char[]){"0123456789abcdef"[d->insn[i] >> 4],
                            "0123456789abcdef"[d->insn[i] & 15], 0});
        }
        if (!d->insn_len)
            put(o, "(end)");
    }
    for (size_t i = 0; i < sizeof insn_phrases / sizeof insn_phrases[0]; i++)
        if (insn_phrases[i].code == d->code)
            phrase = insn_phrases[i].phrase;
    put(o, " ");
    put_phrase(o, d, phrase);
}

static void put_values(struct out *o, const struct pvl_diag *d)
{
    if (d->kind == PVL_DIAG_EXPECTED) {
        put(o, " (found ");
        put_num(o, d->value, 10);
        put(o, ", expected ");
        put_num(o, d->expected, 10);
        put(o, ")");
    } else if (d->kind == PVL_DIAG_LIMIT) {
        put(o, " (found ");
        put_num(o, d->value, 10);
        put(o, ", at most ");
        put_num(o, d->expected, 10);
        put(o, ")");
    } else if (d->kind == PVL_DIAG_MASK) {
        char m[320];
        put(o, " (");
        pvl_mask_format(d->value, ",", m, sizeof m);
        put(o, m);
        put(o, "; allowed: ");
        pvl_mask_format(d->expected, ",", m, sizeof m);
        put(o, m);
        put(o, ")");
    } else if (d->kind == PVL_DIAG_CHECKSUM) {
        put(o, " (stored ");
        put_num(o, d->value, 16);
        put(o, ", computed ");
        put_num(o, d->expected, 16);
        put(o, ")");
    } else if (d->value) {
        put(o, " (");
        put_num(o, d->value, 16);
        if (d->state != PVL_NOSTATE && pvl_state_name(d->state)) {
            put(o, ": ");
            put(o, pvl_state_name(d->state));
        }
        put(o, ")");
    }
}

size_t pvl_diag_format_insn(const struct pvl_diag *d, const char *insn_text, char *buf,
                            size_t n)
{
    struct out o = {buf, n, 0};

    if (d->field) {
        put(&o, d->field);
        if (d->index != PVL_NOINDEX) {
            put(&o, "[");
            put_num(&o, d->index, 10);
            put(&o, "]");
        }
        if (d->kind != PVL_DIAG_INSN && d->name) {
            put(&o, " (");
            put(&o, d->name);
            put(&o, ")");
        }
        if (d->kind != PVL_DIAG_INSN)
            put(&o, ": ");
    }
    if (d->kind == PVL_DIAG_INSN) {
        put_insn(&o, d, insn_text);
        return finish(&o);
    }
    put(&o, pvl_strerror(d->code));
    put_values(&o, d);
    return finish(&o);
}

size_t pvl_diag_format(const struct pvl_diag *d, char *buf, size_t n)
{
    return pvl_diag_format_insn(d, 0, buf, n);
}
