/*
 * Application-defined interfaces: declare an interface once, call its
 * operations through pvlink sites, and get the same interface as a
 * struct pvl_iface at run time.  Valid C (C11 and later) and C++ (C++11
 * and later), with gcc and clang, warning-free under -Wall -Wextra
 * -Wpedantic; code using it needs no particular compiler flags.
 *
 * In a header shared by the program and its providers:
 *
 *     #define DEMO_MATH(CALL, INLINE)                                     \
 *         CALL(demo_math, add, long, (long, long))                        \
 *         CALL(demo_math, log, void, (const char *))                      \
 *         INLINE(demo_math, twice, long, (long), 5,                       \
 *                "lea (%%rdi,%%rdi), %%rax", (flags))
 *     PVL_IFACE(demo_math, "demo.math", 1, 3, DEMO_MATH);
 *
 * Every entry repeats the C prefix of the interface (the preprocessor
 * cannot carry it), then names the operation, its result type (void for
 * none; otherwise an integer or pointer type that begins with an
 * identifier) and its parameter types in parentheses (() or (void) for
 * none): at most 6, each an integer or a pointer (checked at compile time),
 * passed in the System V argument registers rdi, rsi, rdx, rcx, r8, r9; the
 * result comes back in rax.
 *
 * PVL_IFACE(prefix, "name", major, minor, LIST) defines, for every op:
 *   prefix_op(args...)       static inline: the call, through a site
 *   prefix_op_fn             the function type of the op
 *   prefix_op__OP            its operation number
 * and, for the interface:
 *   prefix_iface             struct pvl_iface (names, rooms, clobbers,
 *                            props) for the linker and for diagnostics
 *   prefix__NOPS             the number of operations
 *
 * CALL ops: the native code is `call prefix_op_default` in a 5-byte site
 * that may change what a C function may change: the caller-saved
 * registers, the flags, the vector, x87 and mask registers, and memory.
 * Every object that calls the op defines prefix_op_default (declared here
 * with C linkage and hidden visibility: each object carries its own
 * default); PVL_IFACE_DEFAULTS below can define them all from existing
 * functions.  A provider may
 * replace the call with another function of the same type or with an
 * inline template of at most 5 bytes that changes only what the site
 * allows.  The site steps over the red zone and aligns the stack to 16
 * bytes around its room, so that the function it calls finds the System V
 * stack whatever the calling code was compiled with; it keeps the caller's
 * stack pointer in r12 meanwhile (a clobber, so the compiler saves r12
 * once per function) and gives the calling function a frame pointer, so
 * that the unwind information stays exact while the call runs.
 *
 * INLINE ops: the native code is the asm text (AT&T syntax, `%%` for
 * registers) in a site of (room) bytes.  The arguments are inputs in their
 * registers and must not be changed; the result, if any, is rax.  The
 * last field lists what the body (and any replacement) may change besides
 * rax, as tokens: rbx rcx rdx rsi rdi rbp r8-r15 flags memory (an
 * argument register of the op cannot be listed).  The body must be
 * position-independent straight-line code (no call, no push, no
 * RIP-relative operand): its copy in pvlink_orig is what unlinking
 * restores.
 *
 * The header also makes each object that includes it register its site
 * table with the runtime (libpvlink) when it is loaded and forget it when
 * it is unloaded, if the runtime is in the process; without the runtime
 * the sites simply stay native.  Operations must not throw C++ exceptions.
 */
#ifndef PVLINK_IFACE_H
#define PVLINK_IFACE_H

#include <stdint.h>

#include "link.h"
#include "site.h"

/* ------------------------------------------------------------------------
 * Preprocessor tools.  No __VA_OPT__ and no empty variadic argument, so
 * that C11/C17 and C++11/17 -Wpedantic stay quiet.
 */

#define PVL__CAT(a, b) PVL__CAT_(a, b)
#define PVL__CAT_(a, b) a##b
#define PVL__CAT4(a, b, c, d) PVL__CAT4_(a, b, c, d)
#define PVL__CAT4_(a, b, c, d) a##b##c##d
#define PVL__UNPAREN(...) __VA_ARGS__

/* The 16th argument; with a count list behind, the number of arguments. */
#define PVL__ARG16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,   \
                   a13, a14, a15, ...)                                       \
    a15
#define PVL__HAS_COMMA(...)                                                  \
    PVL__ARG16(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, ~)
#define PVL__COUNT(...)                                                      \
    PVL__ARG16(__VA_ARGS__, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, \
               1, ~)

/* 1 if the argument list is empty, else 0 (an argument may be any type
 * name: it is never followed by parentheses of its own). */
#define PVL__PAREN_COMMA(...) ,
#define PVL__ISEMPTY(...)                                                    \
    PVL__HAS_COMMA(PVL__CAT4(PVL__EMPTY_, PVL__HAS_COMMA(__VA_ARGS__),       \
                             PVL__HAS_COMMA(PVL__PAREN_COMMA __VA_ARGS__),   \
                             PVL__HAS_COMMA(PVL__PAREN_COMMA __VA_ARGS__ ())))
#define PVL__EMPTY_001 ,

/* Number of parameters: 0 for () and (void); more than 6 is an error
 * whose message says so. */
#define PVL__NARG(...) PVL__CAT(PVL__NARG_, PVL__ISEMPTY(__VA_ARGS__))(__VA_ARGS__)
#define PVL__NARG_1(...) 0
#define PVL__NARG_0(...) PVL__CAT(PVL__NARGV_, PVL__COUNT(__VA_ARGS__))(__VA_ARGS__)
#define PVL__NARGV_1(a) PVL__IF(PVL__IS_VOID(a))((0), (1))
#define PVL__NARGV_2(...) 2
#define PVL__NARGV_3(...) 3
#define PVL__NARGV_4(...) 4
#define PVL__NARGV_5(...) 5
#define PVL__NARGV_6(...) 6
#define PVL__NARGV_7(...) _pvlink_operations_take_at_most_6_parameters
#define PVL__NARGV_8 PVL__NARGV_7
#define PVL__NARGV_9 PVL__NARGV_7
#define PVL__NARGV_10 PVL__NARGV_7
#define PVL__NARGV_11 PVL__NARGV_7
#define PVL__NARGV_12 PVL__NARGV_7
#define PVL__NARGV_13 PVL__NARGV_7
#define PVL__NARGV_14 PVL__NARGV_7
#define PVL__NARGV_15 PVL__NARGV_7

/* PVL__IF(c)(then, else), c being 0 or 1. */
#define PVL__IF(c) PVL__CAT(PVL__IF_, c)
#define PVL__IF_1(t, f) PVL__UNPAREN t
#define PVL__IF_0(t, f) PVL__UNPAREN f

/* 1 if the type is exactly void (not void *). */
#define PVL__IS_VOID(type) PVL__ISEMPTY(PVL__CAT_(PVL__VOID_, type))
#define PVL__VOID_void

/* Apply M to each of up to 10 tokens. */
#define PVL__EACH(M, ...) PVL__CAT(PVL__E, PVL__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define PVL__E0(M, ...)
#define PVL__E1(M, a) M(a)
#define PVL__E2(M, a, ...) M(a) PVL__E1(M, __VA_ARGS__)
#define PVL__E3(M, a, ...) M(a) PVL__E2(M, __VA_ARGS__)
#define PVL__E4(M, a, ...) M(a) PVL__E3(M, __VA_ARGS__)
#define PVL__E5(M, a, ...) M(a) PVL__E4(M, __VA_ARGS__)
#define PVL__E6(M, a, ...) M(a) PVL__E5(M, __VA_ARGS__)
#define PVL__E7(M, a, ...) M(a) PVL__E6(M, __VA_ARGS__)
#define PVL__E8(M, a, ...) M(a) PVL__E7(M, __VA_ARGS__)
#define PVL__E9(M, a, ...) M(a) PVL__E8(M, __VA_ARGS__)
#define PVL__E10(M, a, ...) M(a) PVL__E9(M, __VA_ARGS__)

/* ------------------------------------------------------------------------
 * Argument lists: (T0, T1) -> "T0 pvl_a0, T1 pvl_a1", "T0, T1",
 * "pvl_a0, pvl_a1"; () -> "void", "void", "".
 */

#define PVL__PARAMS(args) PVL__CAT(PVL__P, PVL__NARG args) args
#define PVL__P0(...) void
#define PVL__P1(a) a pvl_a0
#define PVL__P2(a, b) PVL__P1(a), b pvl_a1
#define PVL__P3(a, b, c) PVL__P2(a, b), c pvl_a2
#define PVL__P4(a, b, c, d) PVL__P3(a, b, c), d pvl_a3
#define PVL__P5(a, b, c, d, e) PVL__P4(a, b, c, d), e pvl_a4
#define PVL__P6(a, b, c, d, e, f) PVL__P5(a, b, c, d, e), f pvl_a5
#define PVL__TYPES(args) PVL__CAT(PVL__T, PVL__NARG args) args
#define PVL__T0(...) void
#define PVL__T1(...) __VA_ARGS__
#define PVL__T2(...) __VA_ARGS__
#define PVL__T3(...) __VA_ARGS__
#define PVL__T4(...) __VA_ARGS__
#define PVL__T5(...) __VA_ARGS__
#define PVL__T6(...) __VA_ARGS__
#define PVL__NAMES(args) PVL__CAT(PVL__N, PVL__NARG args)
#define PVL__N0
#define PVL__N1 pvl_a0
#define PVL__N2 PVL__N1, pvl_a1
#define PVL__N3 PVL__N2, pvl_a2
#define PVL__N4 PVL__N3, pvl_a3
#define PVL__N5 PVL__N4, pvl_a4
#define PVL__N6 PVL__N5, pvl_a5

/* Argument (i) in its register, full width; integers and pointers only. */
#define PVL__ARG(i, reg)                                                     \
    PVL_STATIC_ASSERT(__builtin_classify_type(pvl_a##i) != 8 &&              \
                          __builtin_classify_type(pvl_a##i) != 9 &&          \
                          sizeof(pvl_a##i) <= 8,                             \
                      "pvlink: operation arguments are integers or pointers"); \
    register uint64_t pvl_r##i __asm__(reg) = (uint64_t)(uintptr_t)(pvl_a##i)
#define PVL__UNUSED(i, reg) register uint64_t pvl_r##i __asm__(reg)

/* The six argument registers: the first n bound, the others not. */
#define PVL__REGS(n) PVL__CAT(PVL__REGS, n)
#define PVL__REGS0 PVL__UNUSED(0, "rdi"); PVL__REGS0_1
#define PVL__REGS0_1 PVL__UNUSED(1, "rsi"); PVL__REGS0_2
#define PVL__REGS0_2 PVL__UNUSED(2, "rdx"); PVL__REGS0_3
#define PVL__REGS0_3 PVL__UNUSED(3, "rcx"); PVL__REGS0_4
#define PVL__REGS0_4 PVL__UNUSED(4, "r8"); PVL__REGS0_5
#define PVL__REGS0_5 PVL__UNUSED(5, "r9")
#define PVL__REGS1 PVL__ARG(0, "rdi"); PVL__REGS0_1
#define PVL__REGS2 PVL__ARG(0, "rdi"); PVL__ARG(1, "rsi"); PVL__REGS0_2
#define PVL__REGS3 PVL__ARG(0, "rdi"); PVL__ARG(1, "rsi"); PVL__ARG(2, "rdx"); \
    PVL__REGS0_3
#define PVL__REGS4 PVL__ARG(0, "rdi"); PVL__ARG(1, "rsi"); PVL__ARG(2, "rdx"); \
    PVL__ARG(3, "rcx"); PVL__REGS0_4
#define PVL__REGS5 PVL__ARG(0, "rdi"); PVL__ARG(1, "rsi"); PVL__ARG(2, "rdx"); \
    PVL__ARG(3, "rcx"); PVL__ARG(4, "r8"); PVL__REGS0_5
#define PVL__REGS6 PVL__ARG(0, "rdi"); PVL__ARG(1, "rsi"); PVL__ARG(2, "rdx"); \
    PVL__ARG(3, "rcx"); PVL__ARG(4, "r8"); PVL__ARG(5, "r9")

/* Call form: bound registers are read and changed, the others changed. */
#define PVL__COUTS(n) PVL__CAT(PVL__COUTS, n)
#define PVL__COUTS0 "=r"(pvl_r0), "=r"(pvl_r1), "=r"(pvl_r2), "=r"(pvl_r3), \
    "=r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS1 "+r"(pvl_r0), "=r"(pvl_r1), "=r"(pvl_r2), "=r"(pvl_r3), \
    "=r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS2 "+r"(pvl_r0), "+r"(pvl_r1), "=r"(pvl_r2), "=r"(pvl_r3), \
    "=r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS3 "+r"(pvl_r0), "+r"(pvl_r1), "+r"(pvl_r2), "=r"(pvl_r3), \
    "=r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS4 "+r"(pvl_r0), "+r"(pvl_r1), "+r"(pvl_r2), "+r"(pvl_r3), \
    "=r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS5 "+r"(pvl_r0), "+r"(pvl_r1), "+r"(pvl_r2), "+r"(pvl_r3), \
    "+r"(pvl_r4), "=r"(pvl_r5)
#define PVL__COUTS6 "+r"(pvl_r0), "+r"(pvl_r1), "+r"(pvl_r2), "+r"(pvl_r3), \
    "+r"(pvl_r4), "+r"(pvl_r5)

/* Inline form: bound registers are inputs; the others are not touched. */
#define PVL__IINS(n) PVL__CAT(PVL__IINS, n)
#define PVL__IINS0
#define PVL__IINS1 "r"(pvl_r0),
#define PVL__IINS2 PVL__IINS1 "r"(pvl_r1),
#define PVL__IINS3 PVL__IINS2 "r"(pvl_r2),
#define PVL__IINS4 PVL__IINS3 "r"(pvl_r3),
#define PVL__IINS5 PVL__IINS4 "r"(pvl_r4),
#define PVL__IINS6 PVL__IINS5 "r"(pvl_r5),
#define PVL__IREGS(n) PVL__CAT(PVL__IREGS, n)
#define PVL__IREGS0
#define PVL__IREGS1 PVL__ARG(0, "rdi");
#define PVL__IREGS2 PVL__IREGS1 PVL__ARG(1, "rsi");
#define PVL__IREGS3 PVL__IREGS2 PVL__ARG(2, "rdx");
#define PVL__IREGS4 PVL__IREGS3 PVL__ARG(3, "rcx");
#define PVL__IREGS5 PVL__IREGS4 PVL__ARG(4, "r8");
#define PVL__IREGS6 PVL__IREGS5 PVL__ARG(5, "r9");

/*
 * What a C function may change besides the integer registers: every
 * vector register the compilation can name (all are caller-saved), the
 * mask registers, and the x87/MMX stack (clobbering all eight x87
 * registers makes the compiler empty that stack, as the ABI requires at a
 * call).
 */
#define PVL__X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", \
    "st(6)", "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7"
#define PVL__XMM16 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",  \
    "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",    \
    "xmm15"
#define PVL__XMM_HI "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",    \
    "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", \
    "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#if defined(__AVX512F__)
#define PVL__VEC_CLOBBERS PVL__XMM16, PVL__XMM_HI, PVL__X87_CLOBBERS
#elif defined(__SSE__)
#define PVL__VEC_CLOBBERS PVL__XMM16, PVL__X87_CLOBBERS
#else
#define PVL__VEC_CLOBBERS PVL__X87_CLOBBERS
#endif

/*
 * The call form around its room: step over the red zone, align the stack,
 * and come back.  r12 keeps the stack pointer across the call (a C
 * function preserves it; a template may not change it).
 */
#define PVL__CALL_ENTER "mov %%rsp, %%r12\n\tadd $-128, %%rsp\n\tand $-16, %%rsp\n"
#define PVL__CALL_LEAVE "\n\tmov %%r12, %%rsp"

/* The result: rax narrowed to the result type (a bool from al). */
#define PVL__LOWMASK(n) (~(uint64_t)0 >> (64 - 8 * (n)))
#define PVL__RESULT(ret, v) ((ret)((v) & PVL__LOWMASK(sizeof(ret))))
#define PVL__RESULT_OK(ret)                                                  \
    PVL_STATIC_ASSERT(__builtin_classify_type((ret)0) != 8 &&                \
                          __builtin_classify_type((ret)0) != 9 && sizeof(ret) <= 8, \
                      "pvlink: operation results are integers or pointers")
#define PVL__RETURN(ret, v)                                                  \
    PVL__IF(PVL__IS_VOID(ret))(((void)(v)),                                  \
                               (PVL__RESULT_OK(ret); return PVL__RESULT(ret, v)))
#define PVL__PROPS(ret) PVL__IF(PVL__IS_VOID(ret))((0u), ((unsigned)PVL_OP_RESULT))

/* ------------------------------------------------------------------------
 * Clobber tokens of INLINE ops: a mask and the asm clobber strings.
 * rax is always an output of an inline site, so it has no string.
 */

#define PVL__CLBM_rax PVL_CLB(RAX)
#define PVL__CLBM_rbx PVL_CLB(RBX)
#define PVL__CLBM_rcx PVL_CLB(RCX)
#define PVL__CLBM_rdx PVL_CLB(RDX)
#define PVL__CLBM_rsi PVL_CLB(RSI)
#define PVL__CLBM_rdi PVL_CLB(RDI)
#define PVL__CLBM_rbp PVL_CLB(RBP)
#define PVL__CLBM_r8 PVL_CLB(R8)
#define PVL__CLBM_r9 PVL_CLB(R9)
#define PVL__CLBM_r10 PVL_CLB(R10)
#define PVL__CLBM_r11 PVL_CLB(R11)
#define PVL__CLBM_r12 PVL_CLB(R12)
#define PVL__CLBM_r13 PVL_CLB(R13)
#define PVL__CLBM_r14 PVL_CLB(R14)
#define PVL__CLBM_r15 PVL_CLB(R15)
#define PVL__CLBM_flags PVL_CLB(FLAGS)
#define PVL__CLBM_memory 0u
#define PVL__CLBS_rax
#define PVL__CLBS_rbx "rbx",
#define PVL__CLBS_rcx "rcx",
#define PVL__CLBS_rdx "rdx",
#define PVL__CLBS_rsi "rsi",
#define PVL__CLBS_rdi "rdi",
#define PVL__CLBS_rbp "rbp",
#define PVL__CLBS_r8 "r8",
#define PVL__CLBS_r9 "r9",
#define PVL__CLBS_r10 "r10",
#define PVL__CLBS_r11 "r11",
#define PVL__CLBS_r12 "r12",
#define PVL__CLBS_r13 "r13",
#define PVL__CLBS_r14 "r14",
#define PVL__CLBS_r15 "r15",
#define PVL__CLBS_flags
#define PVL__CLBS_memory "memory",
#define PVL__CLBM1(t) | PVL__CLBM_##t
#define PVL__CLBS1(t) PVL__CLBS_##t
#define PVL__CLB_MASK(toks) (PVL_CLB(RAX) PVL__EACH(PVL__CLBM1, PVL__UNPAREN toks))
#define PVL__CLB_STRS(toks) PVL__EACH(PVL__CLBS1, PVL__UNPAREN toks)

/* ------------------------------------------------------------------------
 * The generators PVL_IFACE runs the list through.
 */

#define PVL__ENUM_C(p, op, ret, args) p##_##op##__OP,
#define PVL__ENUM_I(p, op, ret, args, room, body, clb) p##_##op##__OP,

#define PVL__INFO_C(p, op, ret, args)                                        \
    {#op, PVL_CALL_LEN, PVL__PROPS(ret) | PVL_OP_NATIVE_CALL, 0, PVL_CLB_C, 0, 0},
#define PVL__INFO_I(p, op, ret, args, room, body, clb)                       \
    {#op, room, PVL__PROPS(ret), 0, PVL__CLB_MASK(clb), 0, 0},

#define PVL__DECL_C(p, op, ret, args)                                        \
    typedef ret p##_##op##_fn(PVL__TYPES(args));                             \
    PVL_EXTERN_C __attribute__((visibility("hidden"))) ret                  \
        p##_##op##_default(PVL__TYPES(args));                                \
    static inline __attribute__((always_inline, unused)) ret p##_##op(      \
        PVL__PARAMS(args))                                                   \
    {                                                                        \
        uint64_t pvl_rax;                                                    \
        PVL__REGS(PVL__NARG args);                                           \
        __asm__ __volatile__(                                                \
            PVL__CALL_ENTER PVL_SITE_CALL() PVL__CALL_LEAVE                  \
            : "=a"(pvl_rax), PVL__COUTS(PVL__NARG args)                      \
            : PVL_SITE_IN(&p##__desc, p##_##op##__OP, PVL_CALL_LEN,          \
                          PVL_CLB_C, PVL_SITE_NATIVE_CALL),                  \
              [pvl_target] "i"(p##_##op##_default),                          \
              [pvl_frame] "r"(__builtin_frame_address(0))                    \
            : "r10", "r11", "r12", "cc", "memory", PVL__VEC_CLOBBERS);       \
        PVL__RETURN(ret, pvl_rax);                                           \
    }

#define PVL__DECL_I(p, op, ret, args, room, body, clb)                       \
    typedef ret p##_##op##_fn(PVL__TYPES(args));                             \
    static inline __attribute__((always_inline, unused)) ret p##_##op(      \
        PVL__PARAMS(args))                                                   \
    {                                                                        \
        uint64_t pvl_rax;                                                    \
        PVL__IREGS(PVL__NARG args)                                           \
        __asm__ __volatile__(                                                \
            PVL_SITE(body)                                                   \
            : "=a"(pvl_rax)                                                  \
            : PVL__IINS(PVL__NARG args)                                      \
              PVL_SITE_IN(&p##__desc, p##_##op##__OP, room,                  \
                          PVL__CLB_MASK(clb), 0)                             \
            : PVL__CLB_STRS(clb) "cc");                                      \
        PVL__RETURN(ret, pvl_rax);                                           \
    }

/*
 * Declare interface (p) named (name), version (major).(minor), with the
 * operations of (LIST) (see the top of this file).  Use it in a header:
 * the descriptor and the catalog are weak and hidden, one per object.
 */
#define PVL_IFACE(p, name, major, minor, LIST)                               \
    enum { LIST(PVL__ENUM_C, PVL__ENUM_I) p##__NOPS };                       \
    PVL_IFACE_DESC(p##__desc, name, major, minor, p##__NOPS);                \
    __attribute__((weak, visibility("hidden"))) PVL_CONST_OBJ               \
    struct pvl_op_info p##__ops[] = {LIST(PVL__INFO_C, PVL__INFO_I)};        \
    __attribute__((weak, visibility("hidden"))) PVL_CONST_OBJ               \
    struct pvl_iface p##_iface = {name, major, minor, p##__NOPS, p##__ops};  \
    LIST(PVL__DECL_C, PVL__DECL_I)                                           \
    PVL_STATIC_ASSERT(sizeof(name) <= PVL_IFACE_NAME_MAX, "interface name")

/*
 * Define the native default of every CALL op of (LIST), each calling the
 * function that the macro prefix_NATIVE(op) names, which the program
 * defines first.  For a library whose portable implementations are
 * generic_add(), generic_log()...:
 *
 *     #define demo_math_NATIVE(op) generic_##op
 *     PVL_IFACE_DEFAULTS(demo_math, DEMO_MATH);
 *
 * defines demo_math_add_default() calling generic_add(), and so on (a
 * tail call).  Use it in one source file of each object that calls the
 * operations.
 */
#define PVL__DEF_C(p, op, ret, args)                                         \
    PVL_EXTERN_C __attribute__((visibility("hidden"))) ret                  \
        p##_##op##_default(PVL__PARAMS(args))                                \
    {                                                                        \
        PVL__IF(PVL__IS_VOID(ret))((p##_NATIVE(op)(PVL__NAMES(args))),       \
                                   (return p##_NATIVE(op)(PVL__NAMES(args)))); \
    }
#define PVL__DEF_I(p, op, ret, args, room, body, clb)
#define PVL_IFACE_DEFAULTS(p, LIST)                                          \
    LIST(PVL__DEF_C, PVL__DEF_I)                                             \
    PVL_STATIC_ASSERT(1, "pvlink: native defaults of " #p)

/* ------------------------------------------------------------------------
 * Registration of this object's site table with the runtime, if present.
 */

/* (also declared by <pvlink/runtime.h>, which a program may include too) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wredundant-decls"
PVL_BEGIN_DECLS
extern const struct pvl_site __start_pvlink_sites[]
    __attribute__((weak, visibility("hidden")));
extern const struct pvl_site __stop_pvlink_sites[]
    __attribute__((weak, visibility("hidden")));
extern int pvr_object_register(const struct pvl_site *start,
                               const struct pvl_site *stop)
    __attribute__((weak));
extern void pvr_object_unregister(const struct pvl_site *start)
    __attribute__((weak));
PVL_END_DECLS
#pragma GCC diagnostic pop

__attribute__((constructor, used)) static void pvl__register_sites(void)
{
    if (pvr_object_register)
        pvr_object_register(__start_pvlink_sites, __stop_pvlink_sites);
}

__attribute__((destructor, used)) static void pvl__forget_sites(void)
{
    if (pvr_object_unregister)
        pvr_object_unregister(__start_pvlink_sites);
}

#endif /* PVLINK_IFACE_H */
