/*
 * Code reached by a call (pvl_call_check): what it writes, derived over its
 * control flow, with callee-saved registers that it saves and restores
 * recognised as unchanged.  Real compiler output that preserves them
 * passes; hand-written code that does not, or that moves the stack
 * pointer, falls off its end, branches or calls where it may not, is
 * refused with the instruction named.
 */
#include <stdlib.h>
#include <string.h>

#include <pvlink/link.h>

#include "harness.h"

#define STK PVL_CLB(STACK)
#define CALLEE_SAVED                                                         \
    (PVL_CLB(RBX) | PVL_CLB(RBP) | PVL_CLB(R12) | PVL_CLB(R13) | PVL_CLB(R14) | \
     PVL_CLB(R15))

/* ------------------------------------------------------------------------
 * Compiled C: enough values live at once that the compiler saves and
 * restores every callee-saved register, alone in its section so that its
 * length is known (__start_/__stop_), not instrumented by sanitizers.
 */

extern const uint8_t __start_pvt_callee_keeps[], __stop_pvt_callee_keeps[];

__attribute__((noinline, used, section("pvt_callee_keeps"),
               no_sanitize("address", "undefined"))) uint64_t
keeps(uint64_t a, uint64_t b, uint64_t n);
uint64_t keeps(uint64_t a, uint64_t b, uint64_t n)
{
    uint64_t x0 = a, x1 = b, x2 = a ^ b, x3 = a + 7, x4 = b * 3, x5 = a >> 3, x6 = b << 2,
             x7 = a * 5, x8 = b + 11, x9 = a - b, x10 = a | 9, x11 = b & 0xff, x12 = a * b,
             x13 = n;
    for (uint64_t i = 0; i < n; i++) {
        x0 += x13, x1 ^= x0, x2 += x1, x3 ^= x2, x4 += x3, x5 ^= x4, x6 += x5;
        x7 ^= x6, x8 += x7, x9 ^= x8, x10 += x9, x11 ^= x10, x12 += x11, x13 ^= x12 + i;
    }
    return x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13;
}

static pvl_result check_code(const uint8_t *code, size_t len, int open, uint64_t declared,
                             uint64_t *writes, struct pvl_diag *d)
{
    struct pvl_callcode c = {code, len, open, NULL, NULL, NULL, 0};
    return pvl_call_check(&c, declared, writes, d);
}

static void compiled_c_preserves(void)
{
    size_t len = (size_t)(__stop_pvt_callee_keeps - __start_pvt_callee_keeps);
    uint64_t w = 0;
    struct pvl_diag d;
    char msg[200];

    CHECK_EQ(keeps(1, 2, 3), keeps(1, 2, 3)); /* it runs */
    CHECK(len > 16);
    /* as a ROM's call entry of exactly its length */
    pvl_result r = check_code(__start_pvt_callee_keeps, len, 0, PVL_CLB_C, &w, &d);
    if (r != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        t_fail(__FILE__, __LINE__, "closed: %s", msg);
    }
    CHECK_EQ(w & CALLEE_SAVED, 0); /* saved and restored: not changed */
    CHECK(w & STK);
    /* as a provider's function: extent unknown, followed from its start */
    r = check_code((const uint8_t *)keeps, len + 4096 > PVL_CALL_MAX ? PVL_CALL_MAX : len + 4096,
                   1, PVL_CLB_C, &w, &d);
    CHECK_EQ(r, PVL_OK);
    CHECK_EQ(w & CALLEE_SAVED, 0);
    /* declared as changing nothing but the result: what it does write is named */
    CHECK_EQ(check_code(__start_pvt_callee_keeps, len, 0, PVL_CLB(RAX) | STK, &w, &d),
             PVL_E_EFFECT);
    CHECK_EQ(d.kind, PVL_DIAG_INSN);
    CHECK(d.state != PVL_RAX && d.state != PVL_STACK && !(CALLEE_SAVED >> d.state & 1));
}

/* ------------------------------------------------------------------------
 * Hand-written code, each with its verdict.
 */

struct hand {
    const char *what;
    const char *code;
    size_t len;
    uint64_t declared;
    pvl_result want;
    uint32_t off;   /* where the diagnostic points */
    uint8_t state;  /* the state it names (PVL_E_EFFECT) */
    uint64_t writes; /* what it writes, when accepted */
};

#define C(s) s, sizeof(s) - 1
#define NS PVL_NOSTATE
/* clang-format off */
static const struct hand hands[] = {
    {"push/pop restores rbx", C("\x53\xbb\x01\x00\x00\x00\x5b\xc3"), STK, PVL_OK, 0, NS, STK},
    {"popped into another register", C("\x53\x31\xdb\x59\xc3"), PVL_CLB(RCX) | STK,
     PVL_E_EFFECT, 1, PVL_RBX, 0},
    {"slot dropped, rbx not restored", C("\x53\x31\xdb\x48\x83\xc4\x08\xc3"), STK | PVL_CLB(FLAGS),
     PVL_E_EFFECT, 1, PVL_RBX, 0},
    {"saved in a stack slot with mov", C("\x48\x83\xec\x10\x48\x89\x5c\x24\x08\x31\xdb"
                                         "\x48\x8b\x5c\x24\x08\x48\x83\xc4\x10\xc3"),
     STK | PVL_CLB(FLAGS), PVL_OK, 0, NS, STK | PVL_CLB(FLAGS)},
    {"flags saved by pushfq/popfq", C("\x9c\x31\xc0\x9d\xc3"), PVL_CLB(RAX) | STK, PVL_OK, 0, NS,
     PVL_CLB(RAX) | STK},
    {"kernel save op: out with rax kept", C("\x50\xb0\x01\xe6\x80\x58\xc3"), STK, PVL_OK, 0, NS,
     STK},
    {"slot overwritten through a stack address", C("\x53\x48\x8d\x04\x24\x48\xc7\x00\x00\x00"
                                                   "\x00\x00\x5b\xc3"),
     PVL_CLB(RAX) | STK, PVL_E_EFFECT, 12, PVL_RBX, 0},
    {"returns with rsp moved", C("\x50\xc3"), STK, PVL_E_CALL_STACK, 1, NS, 0},
    {"ret $8", C("\xc2\x08\x00"), STK, PVL_E_TMPL_RET, 0, NS, 0},
    {"iretq in the middle", C("\x48\xcf\xc3"), STK, PVL_E_TMPL_RET, 0, NS, 0},
    {"falls off its end", C("\x31\xc0"), PVL_CLB(RAX) | PVL_CLB(FLAGS) | STK, PVL_E_CALL_END, 0,
     NS, 0},
    {"indirect call through a register", C("\xff\xd0\xc3"), PVL_CLB_C, PVL_E_TMPL_INDIRECT, 0, NS,
     0},
    {"indirect call through a RIP pointer: a C call", C("\xff\x15\x00\x00\x00\x00\xc3"),
     PVL_CLB_C, PVL_OK, 0, NS, PVL_CLB_C},
    {"indirect call through a RIP pointer, declared less", C("\xff\x15\x00\x00\x00\x00\xc3"),
     PVL_CLB(RAX) | STK, PVL_E_EFFECT, 0, PVL_RCX, 0},
    {"tail jump through a RIP pointer", C("\xff\x25\x00\x00\x00\x00"), PVL_CLB_C, PVL_OK, 0, NS,
     PVL_CLB_C},
    {"call into itself, not at an entry", C("\xe8\x01\x00\x00\x00\xc3\xc3"), STK,
     PVL_E_TMPL_BRANCH, 0, NS, 0},
    {"branch into an immediate", C("\xeb\x01\xb0\xc3"), STK, PVL_E_TMPL_BRANCH, 0, NS, 0},
    {"one path returns with rbx still pushed", C("\x53\x85\xff\x74\x03\x31\xdb\xc3\x5b\xc3"),
     PVL_CLB(FLAGS) | STK, PVL_E_CALL_STACK, 7, NS, 0},
    {"restored on both paths of a branch", C("\x53\x85\xff\x74\x04\x31\xdb\x5b\xc3\x5b\xc3"),
     PVL_CLB(FLAGS) | STK, PVL_OK, 0, NS, PVL_CLB(FLAGS) | STK},
    {"loop keeps rbx", C("\x53\x89\xfb\xff\xcb\x75\xfc\x5b\xc3"), PVL_CLB(FLAGS) | STK, PVL_OK, 0,
     NS, PVL_CLB(FLAGS) | STK},
    {"not declaring stack", C("\xc3"), 0, PVL_E_CALL_NOSTACK, 0, NS, 0},
    {"vector state", C("\x66\x0f\xef\xc0\xc3"), STK, PVL_E_EFFECT, 0, PVL_XMM0, 0},
    {"write above the return address", C("\x48\x89\x44\x24\x08\xc3"), PVL_CLB_C,
     PVL_E_CALL_STACK, 0, NS, 0},
    {"realigned frame, rbp restored by leave", C("\x55\x48\x89\xe5\x48\x83\xe4\xf0\x48\x83\xec"
                                                 "\x10\x48\x89\x44\x24\x08\xc9\xc3"),
     PVL_CLB(FLAGS) | STK, PVL_OK, 0, NS, PVL_CLB(FLAGS) | STK},
    {"realigned frame, store that may reach the return address",
     C("\x55\x48\x89\xe5\x48\x83\xe4\xf0\x48\x89\x44\x24\x08\xc9\xc3"),
     PVL_CLB(FLAGS) | STK, PVL_E_CALL_STACK, 8, NS, 0},
    {"frame pointer and leave", C("\x55\x48\x89\xe5\x48\x83\xec\x20\x31\xdb\xc9\xc3"),
     PVL_CLB(RBX) | PVL_CLB(FLAGS) | STK, PVL_OK, 0, NS, PVL_CLB(RBX) | PVL_CLB(FLAGS) | STK},
};
/* clang-format on */

static void hand_written(void)
{
    char msg[240];

    for (size_t i = 0; i < sizeof hands / sizeof hands[0]; i++) {
        const struct hand *h = &hands[i];
        struct pvl_diag d = {0};
        uint64_t w = 0;
        pvl_result r = check_code((const uint8_t *)h->code, h->len, 0, h->declared, &w, &d);
        pvl_diag_format(&d, msg, sizeof msg);
        if (r != h->want) {
            t_fail(__FILE__, __LINE__, "%s: \"%s\" (%s), expected \"%s\"", h->what,
                   pvl_strerror(r), r ? msg : "", pvl_strerror(h->want));
            continue;
        }
        if (r == PVL_OK && w != h->writes)
            t_fail(__FILE__, __LINE__, "%s: writes %#llx, expected %#llx", h->what,
                   (unsigned long long)w, (unsigned long long)h->writes);
        if (r != PVL_OK && d.kind == PVL_DIAG_INSN && (d.off != h->off || d.state != h->state))
            t_fail(__FILE__, __LINE__, "%s: %s (off %u state %u, expected %u %u)", h->what, msg,
                   d.off, d.state, h->off, h->state);
    }
    printf("  %zu hand-written entries\n", sizeof hands / sizeof hands[0]);
}

/* Branches and calls to another call entry's start count what it
 * declares (the ROM says which offsets are entries). */
static int one_entry(void *ctx, int64_t off, uint64_t *declared)
{
    (void)ctx;
    if (off != 16)
        return 0;
    *declared = PVL_CLB(RDX) | STK;
    return 1;
}

static void other_entries(void)
{
    /* call +16 (an entry declaring rdx); ret */
    static const uint8_t call[] = {0xe8, 0x0b, 0x00, 0x00, 0x00, 0xc3};
    /* jmp +16: a tail jump */
    static const uint8_t jmp[] = {0xe9, 0x0b, 0x00, 0x00, 0x00};
    struct pvl_callcode c = {call, sizeof call, 0, one_entry, NULL, NULL, 0};
    struct pvl_diag d;
    uint64_t w;

    CHECK_EQ(pvl_call_check(&c, PVL_CLB(RDX) | STK, &w, &d), PVL_OK);
    CHECK_EQ(w, PVL_CLB(RDX) | STK);
    CHECK_EQ(pvl_call_check(&c, STK, &w, &d), PVL_E_EFFECT);
    CHECK_EQ(d.state, PVL_RDX);
    CHECK_EQ(d.off, 0);
    c.code = jmp, c.len = sizeof jmp;
    CHECK_EQ(pvl_call_check(&c, PVL_CLB(RDX) | STK, &w, &d), PVL_OK);
    c.entry_at = NULL; /* no entry there: a branch out of the code */
    CHECK_EQ(pvl_call_check(&c, PVL_CLB_C, &w, &d), PVL_E_TMPL_BRANCH);
}

/* Gates (format 2.1): the callback says indirect transfers enter the
 * environment, which writes rax, the flags and the stack. */
#define GATES (PVL_CLB(RAX) | PVL_CLB(FLAGS) | STK)

static int gates(void *ctx, int64_t off, uint64_t *declared)
{
    (void)ctx;
    if (off != PVL_OFF_ENV)
        return 0;
    *declared = GATES;
    return 1;
}

struct gated {
    const char *what;
    const char *code;
    size_t len;
    int open;
    uint64_t declared;
    pvl_result want;
    uint32_t off;
    uint8_t state;
    uint64_t writes;
};

/* clang-format off */
static const struct gated gated[] = {
    {"save form: rax kept around the gate", C("\x50\xb8\x05\x00\x00\x00\xff\x15\x00\x00\x00\x00"
                                               "\x58\xc3"), 0, PVL_CLB(FLAGS) | STK, PVL_OK, 0, NS,
     PVL_CLB(FLAGS) | STK},
    {"tail jump into a gate", C("\xb8\x05\x00\x00\x00\xff\x25\x00\x00\x00\x00"), 0, GATES, PVL_OK,
     0, NS, GATES},
    {"the gate writes rax, not declared", C("\xff\x25\x00\x00\x00\x00"), 0, PVL_CLB(FLAGS) | STK,
     PVL_E_EFFECT, 0, PVL_RAX, 0},
    {"a gate returns: a path after it is live", C("\xff\x15\x00\x00\x00\x00\x50\xc3"), 0, GATES,
     PVL_E_CALL_STACK, 7, NS, 0},
    {"open code: an indirect call is a C call", C("\xff\x15\x00\x00\x00\x00\xc3"), 1, GATES,
     PVL_E_EFFECT, 0, PVL_RCX, 0},
};
/* clang-format on */

static void gate_transfers(void)
{
    char msg[240];

    for (size_t i = 0; i < sizeof gated / sizeof gated[0]; i++) {
        const struct gated *g = &gated[i];
        struct pvl_callcode c = {(const uint8_t *)g->code, g->len, g->open, gates, NULL, NULL, 0};
        struct pvl_diag d = {0};
        uint64_t w = 0;
        pvl_result r = pvl_call_check(&c, g->declared, &w, &d);

        pvl_diag_format(&d, msg, sizeof msg);
        if (r != g->want)
            t_fail(__FILE__, __LINE__, "%s: \"%s\" (%s), expected \"%s\"", g->what,
                   pvl_strerror(r), r ? msg : "", pvl_strerror(g->want));
        else if (r == PVL_OK && w != g->writes)
            t_fail(__FILE__, __LINE__, "%s: writes %#llx, expected %#llx", g->what,
                   (unsigned long long)w, (unsigned long long)g->writes);
        else if (r != PVL_OK && (d.off != g->off || d.state != g->state))
            t_fail(__FILE__, __LINE__, "%s: %s (off %u state %u, expected %u %u)", g->what, msg,
                   d.off, d.state, g->off, g->state);
    }
    /* without the callback's word, the save form is a C call: refused */
    struct pvl_callcode c = {(const uint8_t *)gated[0].code, gated[0].len, 0, NULL, NULL, NULL, 0};
    struct pvl_diag d = {0};
    CHECK_EQ(pvl_call_check(&c, PVL_CLB(FLAGS) | STK, NULL, &d), PVL_E_EFFECT);
    CHECK_EQ(d.state, PVL_RCX);
    CHECK_EQ(d.off, 6);
}

/* ------------------------------------------------------------------------
 * Open code with code below its entry (PVL_CODE_BEFORE): a function's
 * .cold part, which it jumps into with its frame set up.
 */

struct around {
    const char *what;
    const char *code; /* the cold part first, then the entry */
    size_t len;
    size_t entry;  /* where the function starts in (code) */
    size_t before; /* what the caller says is readable below it */
    uint64_t declared;
    pvl_result want;
    int32_t off; /* where the diagnostic points, from the entry */
    uint64_t writes;
    const char *msg; /* the whole diagnostic, when refused */
};

#define R11F (PVL_CLB(R11) | PVL_CLB(FLAGS) | STK)
/* clang-format off */
/* cold: mov $1,%r11d; jmp back to the pop.  entry (11): push %rbx; test
 * %edi,%edi; je cold; pop %rbx; ret */
#define JUMPS_BACK "\x41\xbb\x01\x00\x00\x00\xe9\x09\x00\x00\x00" \
                   "\x53\x85\xff\x0f\x84\xec\xff\xff\xff\x5b\xc3"
/* cold: call (a C function far away); then (1 byte).  entry (6): push
 * %rbx; test %edi,%edi; je cold; pop %rbx; ret */
#define CALLS(after) "\xe8\x00\x00\x01\x00" after "\x53\x85\xff\x0f\x84\xf1\xff\xff\xff\x5b\xc3"
static const struct around arounds[] = {
    {"jumps into code below and back", C(JUMPS_BACK), 11, 11, R11F, PVL_OK, 0, R11F, NULL},
    {"the cold part returns itself", C("\x41\xbb\x01\x00\x00\x00\x5b\xc3"
                                       "\x53\x85\xff\x0f\x84\xef\xff\xff\xff\x5b\xc3"),
     8, 8, R11F, PVL_OK, 0, R11F, NULL},
    {"what the cold part writes counts", C(JUMPS_BACK), 11, 11, PVL_CLB(FLAGS) | STK,
     PVL_E_EFFECT, -11, 0, "entry.call -11: 41 bb 01 00 00 00 writes r11, which the entry does "
     "not declare"},
    {"below the range the caller describes", C(JUMPS_BACK), 11, 5, R11F, PVL_E_CALL_OUTSIDE, 3, 0,
     "entry.call +3: 0f 84 ec ff ff ff jumps to -11, outside the code pvlink can read, with "
     "the stack pointer moved (not a tail call)"},
    {"no code below: as before, but named", C(JUMPS_BACK), 11, 0, R11F, PVL_E_CALL_OUTSIDE, 3, 0,
     NULL},
    {"jumps back into the middle of the je", C("\x41\xbb\x01\x00\x00\x00\xe9\x04\x00\x00"
                                               "\x00\x53\x85\xff\x0f\x84\xec\xff\xff\xff"
                                               "\x5b\xc3"),
     11, 11, R11F, PVL_E_TMPL_BRANCH, -5, 0, NULL},
    /* the path that does not return changes no register its caller sees */
    {"ends in a C call and a trap", C(CALLS("\xcc")), 6, 6, PVL_CLB_C, PVL_OK, 0,
     PVL_CLB_C & ~0xffffull, NULL},
    {"a C call returning onto bytes that do not decode", C(CALLS("\x0f\x04")), 7, 7, PVL_CLB_C,
     PVL_E_TMPL_DECODE, -2, 0, NULL},
};
/* clang-format on */

static void code_below(void)
{
    char msg[240];

    for (size_t i = 0; i < sizeof arounds / sizeof arounds[0]; i++) {
        const struct around *a = &arounds[i];
        struct pvl_callcode c = {(const uint8_t *)a->code + a->entry, a->len - a->entry,
                                 PVL_CODE_OPEN | PVL_CODE_BEFORE, NULL, NULL, NULL, a->before};
        struct pvl_diag d = {0};
        uint64_t w = 0;
        pvl_result r = pvl_call_check(&c, a->declared, &w, &d);

        pvl_diag_format(&d, msg, sizeof msg);
        if (r != a->want)
            t_fail(__FILE__, __LINE__, "%s: \"%s\" (%s), expected \"%s\"", a->what,
                   pvl_strerror(r), r ? msg : "", pvl_strerror(a->want));
        else if (r == PVL_OK && w != a->writes)
            t_fail(__FILE__, __LINE__, "%s: writes %#llx, expected %#llx", a->what,
                   (unsigned long long)w, (unsigned long long)a->writes);
        else if (r != PVL_OK && ((int32_t)d.off != a->off || (a->msg && strcmp(msg, a->msg))))
            t_fail(__FILE__, __LINE__, "%s: %s (off %d, expected %d)", a->what, msg,
                   (int)(int32_t)d.off, (int)a->off);
    }
}

/* (before) is read only with PVL_CODE_BEFORE, and only for open code:
 * a caller built before it existed is read as before. */
static void before_needs_flag(void)
{
    const uint8_t *code = (const uint8_t *)JUMPS_BACK + 11;
    struct pvl_callcode c = {code, 11, PVL_CODE_OPEN, NULL, NULL, NULL, 11};
    struct pvl_diag d = {0};

    CHECK_EQ(pvl_call_check(&c, R11F, NULL, &d), PVL_E_CALL_OUTSIDE);
    c.open = PVL_CODE_BEFORE; /* closed: exact extent, no code below */
    CHECK_EQ(pvl_call_check(&c, R11F, NULL, &d), PVL_E_TMPL_BRANCH);
    CHECK_EQ((int64_t)d.value, -11);
}

/* A C call that is the last instruction pvlink reads: at the end of the
 * readable code a return would fault, so the callee is taken not to
 * return; at PVL_CALL_MAX, with more code after it, the path is refused. */
static void call_at_the_end(void)
{
    size_t n = PVL_CALL_MAX + 16;
    uint8_t *code = malloc(n);
    struct pvl_diag d = {0};

    if (!code)
        return;
    code[0] = 0x50; /* push %rax: the stack stays moved */
    for (size_t k = 1; k + 5 < PVL_CALL_MAX; k += 2)
        code[k] = 0x89, code[k + 1] = 0xc0; /* mov %eax,%eax */
    memcpy(code + PVL_CALL_MAX - 5, "\xe8\x00\x00\x01\x00", 5);
    memset(code + PVL_CALL_MAX, 0x90, 16);
    CHECK_EQ(check_code(code, PVL_CALL_MAX, 1, PVL_CLB_C, NULL, &d), PVL_OK);
    CHECK_EQ(check_code(code, n, 1, PVL_CLB_C, NULL, &d), PVL_E_CALL_END);
    CHECK_EQ(d.off, PVL_CALL_MAX - 5);
    free(code);
}

T_CASES(T(compiled_c_preserves), T(hand_written), T(other_entries), T(gate_transfers),
        T(code_below), T(before_needs_flag), T(call_at_the_end))
