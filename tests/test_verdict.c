/*
 * The verdicts of the template and call-entry checks, word for word, for
 * what a new user meets first: x87 templates and code that reads RSP
 * (accepted; only writing RSP moves the stack), the stack writes that stay
 * refused, VEX and EVEX (AVX, BMI, AVX-512) instructions named by their
 * own bytes, and the indirect jump of a switch's jump table.  Each case
 * gives the exact message pvl_diag_format prints, or what accepted code
 * writes.
 */
#include <string.h>

#include <pvlink/link.h>

#include "harness.h"

#define STK PVL_CLB(STACK)
#define X87 PVL_CLB(X87)
#define B(s) s, sizeof(s) - 1

struct verdict {
    const char *what;
    const char *code;
    size_t len;
    int call;          /* 0: a template; 1: a ROM call entry; 2: a provider's function */
    uint64_t declared;
    const char *want;  /* the message, or NULL: accepted */
    uint64_t writes;   /* when accepted */
};

#define STACK_MSG "moves the stack pointer other than by balanced push and pop, or " \
                  "writes the frame of the code around the site"
#define AVX_MSG "is a VEX-encoded (AVX) instruction, which pvlink does not decode; build " \
                "this code without AVX (-mno-avx)"
#define BMI_MSG "is a VEX-encoded BMI instruction, which pvlink does not decode; build " \
                "this code without BMI (-mno-bmi -mno-bmi2)"
#define EVEX_MSG "is an EVEX-encoded (AVX-512) instruction, which pvlink does not decode; " \
                 "build this code without AVX (-mno-avx)"
#define IJMP_MSG "is an indirect jump (a switch's jump table?), which cannot be followed; " \
                 "build this code with -fno-jump-tables"
#define CALL_STACK_MSG "leaves with the stack pointer moved, or writes at or above the " \
                       "return address"
#define INDIRECT_MSG "is an indirect, far or system transfer, or a trap"

/* clang-format off */
static const struct verdict verdicts[] = {
    /* x87 register forms whose ModRM.reg is 4 are opcode extensions */
    {"fchs", B("\xd9\xe0"), 0, X87, NULL, X87},
    {"fabs", B("\xd9\xe1"), 0, X87, NULL, X87},
    {"fnclex", B("\xdb\xe2"), 0, X87, NULL, X87},
    {"fninit", B("\xdb\xe3"), 0, X87, NULL, X87},
    {"fld1", B("\xd9\xe8"), 0, X87, NULL, X87},
    {"fxch", B("\xd9\xc9"), 0, X87, NULL, X87},
    {"fsub %st(4)", B("\xd8\xe4"), 0, X87, NULL, X87},
    {"fninit undeclared", B("\xdb\xe3"), 0, 0,
     "entry.template +0: db e3 writes x87, which the entry does not declare", 0},
    {"fnclex undeclared", B("\xdb\xe2"), 0, 0,
     "entry.template +0: db e2 writes x87, which the entry does not declare", 0},
    {"fchs undeclared", B("\xd9\xe0"), 0, 0,
     "entry.template +0: d9 e0 writes x87, which the entry does not declare", 0},
    {"fld1 undeclared", B("\xd9\xe8"), 0, 0,
     "entry.template +0: d9 e8 writes x87, which the entry does not declare", 0},
    /* reading RSP is harmless */
    {"mov %rsp,%rax", B("\x48\x89\xe0"), 0, PVL_CLB(RAX), NULL, PVL_CLB(RAX)},
    {"mov %esp,%eax", B("\x89\xe0"), 0, PVL_CLB(RAX), NULL, PVL_CLB(RAX)},
    {"cmp $8,%rsp", B("\x48\x83\xfc\x08"), 0, PVL_CLB(FLAGS), NULL, PVL_CLB(FLAGS)},
    {"test %rsp,%rsp", B("\x48\x85\xe4"), 0, PVL_CLB(FLAGS), NULL, PVL_CLB(FLAGS)},
    {"mov $1,%ah (not %spl)", B("\xb4\x01"), 0, PVL_CLB(RAX), NULL, PVL_CLB(RAX)},
    {"push %rsp; pop %rax", B("\x54\x58"), 0, PVL_CLB(RAX) | STK, NULL, PVL_CLB(RAX) | STK},
    {"mov (%rsp),%rax", B("\x48\x8b\x04\x24"), 0, PVL_CLB(RAX), NULL, PVL_CLB(RAX)},
    /* writing it is what is refused */
    {"mov %rax,%rsp", B("\x48\x89\xc4"), 0, PVL_CLB(RAX),
     "entry.template +0: 48 89 c4 " STACK_MSG, 0},
    {"mov %rax,%rsp (8b form)", B("\x48\x8b\xe0"), 0, 0,
     "entry.template +0: 48 8b e0 " STACK_MSG, 0},
    {"add $8,%rsp", B("\x48\x83\xc4\x08"), 0, PVL_CLB(FLAGS),
     "entry.template +0: 48 83 c4 08 " STACK_MSG, 0},
    {"sub $8,%rsp after a nop", B("\x90\x48\x83\xec\x08"), 0, PVL_CLB(FLAGS),
     "entry.template +1: 48 83 ec 08 " STACK_MSG, 0},
    {"and $-16,%rsp", B("\x48\x83\xe4\xf0"), 0, PVL_CLB(FLAGS),
     "entry.template +0: 48 83 e4 f0 " STACK_MSG, 0},
    {"lea -8(%rsp),%rsp", B("\x48\x8d\x64\x24\xf8"), 0, STK,
     "entry.template +0: 48 8d 64 24 f8 " STACK_MSG, 0},
    {"pop %rsp", B("\x5c"), 0, STK, "entry.template +0: 5c " STACK_MSG, 0},
    {"pop %rsp (8f form)", B("\x8f\xc4"), 0, STK, "entry.template +0: 8f c4 " STACK_MSG, 0},
    {"xchg %rax,%rsp", B("\x48\x94"), 0, PVL_CLB(RAX),
     "entry.template +0: 48 94 " STACK_MSG, 0},
    {"mov $0,%esp", B("\xbc\x00\x00\x00\x00"), 0, 0,
     "entry.template +0: bc 00 00 00 00 " STACK_MSG, 0},
    {"mov $1,%spl", B("\x40\xb4\x01"), 0, 0, "entry.template +0: 40 b4 01 " STACK_MSG, 0},
    {"cmove %rax,%rsp", B("\x48\x0f\x44\xe0"), 0, 0,
     "entry.template +0: 48 0f 44 e0 " STACK_MSG, 0},
    {"bswap %rsp", B("\x48\x0f\xcc"), 0, 0, "entry.template +0: 48 0f cc " STACK_MSG, 0},
    {"mov %cr4,%rsp", B("\x0f\x20\xe4"), 0, 0, "entry.template +0: 0f 20 e4 " STACK_MSG, 0},
    {"movq %xmm0,%rsp", B("\x66\x48\x0f\x7e\xc4"), 0, 0,
     "entry.template +0: 66 48 0f 7e c4 " STACK_MSG, 0},
    {"enter $0,$0", B("\xc8\x00\x00\x00"), 0, PVL_CLB(RBP) | STK,
     "entry.template +0: c8 00 00 00 " STACK_MSG, 0},
    {"leave", B("\xc9"), 0, PVL_CLB(RBP), "entry.template +0: c9 " STACK_MSG, 0},
    {"write above the site's RSP", B("\x48\x89\x44\x24\x08"), 0, STK,
     "entry.template +0: 48 89 44 24 08 " STACK_MSG, 0},
    {"push; pop (%rsp): pops to the site's RSP", B("\x50\x8f\x04\x24"), 0, STK,
     "entry.template +1: 8f 04 24 " STACK_MSG, 0},
    {"push; push; pop (%rsp): below it", B("\x50\x50\x8f\x04\x24\x58"), 0, PVL_CLB(RAX) | STK,
     NULL, PVL_CLB(RAX) | STK},
    /* stores through a copy of RSP: below the site's RSP they are STACK,
     * at or above it the frame around the site, through an inexact copy refused */
    {"mov %rsp,%rax; mov %rcx,(%rax)", B("\x48\x89\xe0\x48\x89\x08"), 0,
     PVL_CLB(RAX) | STK, "entry.template +3: 48 89 08 " STACK_MSG, 0},
    {"mov %rsp,%rax; mov %rcx,8(%rax)", B("\x48\x89\xe0\x48\x89\x48\x08"), 0,
     PVL_CLB(RAX) | STK, "entry.template +3: 48 89 48 08 " STACK_MSG, 0},
    {"lea (%rsp),%rax; mov %rcx,(%rax)", B("\x48\x8d\x04\x24\x48\x89\x08"), 0,
     PVL_CLB(RAX) | STK, "entry.template +4: 48 89 08 " STACK_MSG, 0},
    {"lea -8(%rsp),%rax; mov %rcx,(%rax)", B("\x48\x8d\x44\x24\xf8\x48\x89\x08"), 0,
     PVL_CLB(RAX) | STK, NULL, PVL_CLB(RAX) | STK},
    {"mov %rsp,%rax; mov %rcx,-8(%rax) undeclared", B("\x48\x89\xe0\x48\x89\x48\xf8"), 0,
     PVL_CLB(RAX), "entry.template +3: 48 89 48 f8 writes stack, which the entry does not "
     "declare", 0},
    {"mov %rsp,%rax; mov %rax,%rdx; mov %rcx,(%rdx)",
     B("\x48\x89\xe0\x48\x89\xc2\x48\x89\x0a"), 0, PVL_CLB(RAX) | PVL_CLB(RDX) | STK,
     "entry.template +6: 48 89 0a " STACK_MSG, 0},
    {"mov %rsp,%rax; add $-16,%rax; mov %rcx,(%rax): inexact", B("\x48\x89\xe0\x48\x83\xc0"
     "\xf0\x48\x89\x08"), 0, PVL_CLB(RAX) | PVL_CLB(FLAGS) | STK,
     "entry.template +7: 48 89 08 " STACK_MSG, 0},
    {"push %rsp; pop %rax; mov %rcx,(%rax)", B("\x54\x58\x48\x89\x08"), 0,
     PVL_CLB(RAX) | STK, "entry.template +2: 48 89 08 " STACK_MSG, 0},
    {"mov %rsp,%rax; then rax reloaded: still a copy (paths are not told apart)",
     B("\x48\x89\xe0\x31\xc0\x48\x89\x08"), 0, PVL_CLB(RAX) | PVL_CLB(FLAGS) | STK,
     "entry.template +5: 48 89 08 " STACK_MSG, 0},
    {"mov %rsp,%rax; mov %rcx,(%rdx): another register", B("\x48\x89\xe0\x48\x89\x0a"), 0,
     PVL_CLB(RAX), NULL, PVL_CLB(RAX)},
    /* a provider's function may not write its return address or above,
     * directly or through a copy of RSP it follows exactly */
    {"provider: mov %rcx,(%rsp); ret", B("\x48\x89\x0c\x24\xc3"), 2, PVL_CLB_C,
     "entry.call +0: 48 89 0c 24 " CALL_STACK_MSG, 0},
    {"provider: mov %rsp,%rax; mov %rcx,8(%rax); ret", B("\x48\x89\xe0\x48\x89\x48\x08\xc3"),
     2, PVL_CLB_C, "entry.call +3: 48 89 48 08 " CALL_STACK_MSG, 0},
    {"provider: lea 8(%rsp),%rax; mov %rcx,(%rax); ret",
     B("\x48\x8d\x44\x24\x08\x48\x89\x08\xc3"), 2, PVL_CLB_C,
     "entry.call +5: 48 89 08 " CALL_STACK_MSG, 0},
    /* VEX and EVEX: named by their own bytes, with what to do */
    {"vpxor in a provider's function", B("\x31\xc0\xc5\xf1\xef\xc9\x48\xc1\xea\x02\x48\xc1\xe2"
                                         "\x05\x48\x01\xfa\xc3"), 2, PVL_CLB_C,
     "entry.call +2: c5 f1 ef c9 " AVX_MSG, 0},
    {"vzeroupper", B("\xc5\xf8\x77\xc3"), 1, PVL_CLB_C, "entry.call +0: c5 f8 77 " AVX_MSG, 0},
    {"vinsertf128 (C4, 0F 3A, disp8, imm8)", B("\xc4\xe3\x7d\x18\x44\x24\x08\x01\xc3"), 1,
     PVL_CLB_C, "entry.call +0: c4 e3 7d 18 44 24 08 01 " AVX_MSG, 0},
    {"vpbroadcastd (C4, 0F 38)", B("\xc4\xe2\x7d\x58\xc0\xc3"), 2, PVL_CLB_C,
     "entry.call +0: c4 e2 7d 58 c0 " AVX_MSG, 0},
    {"shlx (BMI2)", B("\xc4\xe2\xc9\xf7\xc7\xc3"), 2, PVL_CLB_C,
     "entry.call +0: c4 e2 c9 f7 c7 " BMI_MSG, 0},
    {"andn (BMI1)", B("\xc4\xe2\x78\xf2\xc1\xc3"), 1, PVL_CLB_C,
     "entry.call +0: c4 e2 78 f2 c1 " BMI_MSG, 0},
    {"rorx (BMI2, imm8)", B("\xc4\xe3\xfb\xf0\xc7\x05\xc3"), 1, PVL_CLB_C,
     "entry.call +0: c4 e3 fb f0 c7 05 " BMI_MSG, 0},
    {"vmovups %zmm1,%zmm0 (EVEX)", B("\x62\xf1\x7c\x48\x10\xc1\xc3"), 2, PVL_CLB_C,
     "entry.call +0: 62 f1 7c 48 10 c1 " EVEX_MSG, 0},
    {"vpcmpd $1,64(%rsp),%zmm0,%k1 (EVEX, disp8, imm8)",
     B("\x62\xf3\x7d\x48\x1f\x4c\x24\x01\x01\xc3"), 1, PVL_CLB_C,
     "entry.call +0: 62 f3 7d 48 1f 4c 24 01 01 " EVEX_MSG, 0},
    {"vzeroupper in a template", B("\xc5\xf8\x77"), 0, PVL_CLB_C,
     "entry.template +0: c5 f8 77 " AVX_MSG, 0},
    {"VEX cut by the end", B("\x90\xc4\xe3\x7d\x18\x44"), 0, PVL_CLB_C,
     "entry.template +1: c4 e3 7d 18 44 cannot be decoded, or is cut by the end of the code", 0},
    /* indirect jumps: a jump table's, or other transfers */
    {"jmp *%rdx", B("\xff\xe2"), 2, PVL_CLB_C, "entry.call +0: ff e2 " IJMP_MSG, 0},
    {"jmp *%rdx in a ROM", B("\xff\xe2"), 1, PVL_CLB_C, "entry.call +0: ff e2 " IJMP_MSG, 0},
    {"a switch: movslq; add; jmp *%rax",
     B("\x48\x8d\x15\x00\x00\x00\x00\x48\x63\x04\xba\x48\x01\xd0\xff\xe0"), 2, PVL_CLB_C,
     "entry.call +14: ff e0 " IJMP_MSG, 0},
    {"notrack jmp *%rax", B("\x3e\xff\xe0"), 2, PVL_CLB_C, "entry.call +0: 3e ff e0 " IJMP_MSG, 0},
    {"jmp *table(,%rax,8)", B("\xff\x24\xc5\x00\x10\x00\x00"), 2, PVL_CLB_C,
     "entry.call +0: ff 24 c5 00 10 00 00 " IJMP_MSG, 0},
    {"tail call through the GOT", B("\xff\x25\x00\x00\x00\x00"), 2, PVL_CLB_C, NULL, PVL_CLB_C},
    {"ljmp *(%rax)", B("\xff\x28"), 2, PVL_CLB_C, "entry.call +0: ff 28 " INDIRECT_MSG, 0},
    {"call *%rax in a ROM", B("\xff\xd0\xc3"), 1, PVL_CLB_C, "entry.call +0: ff d0 " INDIRECT_MSG,
     0},
    {"syscall", B("\x0f\x05\xc3"), 2, PVL_CLB_C, "entry.call +0: 0f 05 " INDIRECT_MSG, 0},
    {"int3 in a ROM", B("\xcc\xc3"), 1, PVL_CLB_C, "entry.call +0: cc " INDIRECT_MSG, 0},
    {"jmp *%rax in a template", B("\xff\xe0"), 0, PVL_CLB_C,
     "entry.template +0: ff e0 " INDIRECT_MSG, 0},
};
/* clang-format on */

static pvl_result judge(const struct verdict *v, uint64_t *w, struct pvl_diag *d)
{
    struct pvl_callcode c = {(const uint8_t *)v->code, v->len, v->call == 2, NULL, NULL, NULL, 0};

    if (!v->call)
        return pvl_tmpl_check((const uint8_t *)v->code, v->len, v->declared, w, d);
    return pvl_call_check(&c, v->declared, w, d);
}

static void exact_verdicts(void)
{
    char msg[400];

    for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
        const struct verdict *v = &verdicts[i];
        struct pvl_diag d = {0};
        uint64_t w = 0;
        pvl_result r = judge(v, &w, &d);

        msg[0] = 0;
        if (r != PVL_OK)
            pvl_diag_format(&d, msg, sizeof msg);
        if (!v->want && r != PVL_OK)
            t_fail(__FILE__, __LINE__, "%s: refused: %s", v->what, msg);
        else if (!v->want && w != v->writes)
            t_fail(__FILE__, __LINE__, "%s: writes %#llx, expected %#llx", v->what,
                   (unsigned long long)w, (unsigned long long)v->writes);
        else if (v->want && strcmp(msg, v->want))
            t_fail(__FILE__, __LINE__, "%s:\n    got  \"%s\"\n    want \"%s\"", v->what,
                   r ? msg : "(accepted)", v->want);
    }
    printf("  %zu verdicts\n", sizeof verdicts / sizeof verdicts[0]);
}

/* The result codes behind the messages: one each, and the short words
 * pvl_strerror gives. */
static void result_codes(void)
{
    struct pvl_diag d = {0};
    uint64_t w;

    CHECK_EQ(pvl_tmpl_check((const uint8_t *)"\xc5\xf8\x77", 3, 0, &w, &d), PVL_E_INSN_VEX);
    CHECK_EQ(d.insn_len, 3);
    CHECK_EQ(pvl_tmpl_check((const uint8_t *)"\xc4\xe2\xc9\xf7\xc7", 5, 0, &w, &d),
             PVL_E_INSN_BMI);
    CHECK_EQ(pvl_tmpl_check((const uint8_t *)"\x62\xf1\x7c\x48\x10\xc1", 6, 0, &w, &d),
             PVL_E_INSN_EVEX);
    CHECK_EQ(d.insn_len, 6);
    CHECK(!strcmp(pvl_strerror(PVL_E_INSN_VEX),
                  "VEX-encoded (AVX) instruction, which pvlink does not decode"));
    CHECK(!strcmp(pvl_strerror(PVL_E_CALL_IJMP),
                  "indirect jump (a switch's jump table?), which pvlink cannot follow"));
}

T_CASES(T(exact_verdicts), T(result_codes))
