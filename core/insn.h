/*
 * The core's x86-64 decoder and effects model (internal to core/).
 *
 * pvl_insn_decode() finds an instruction's length and operands: legacy
 * prefixes, REX, the one-byte map and the 0F, 0F 38, 0F 3A maps; VEX,
 * EVEX, XOP and 3DNow! encodings are refused (VEX and EVEX ones measured,
 * so that the refusal names the instruction and what it is).  pvl_insn_effect() says
 * what a decoded instruction writes, from tables (core/effect.c), or
 * refuses it when the tables do not model it.
 */
#ifndef PVL_CORE_INSN_H
#define PVL_CORE_INSN_H

#include <stddef.h>
#include <stdint.h>

#include <pvlink/link.h>

enum pvl_insn_kind {
    PVL_INSN_PLAIN,  /* falls through */
    PVL_INSN_REL,    /* relative jump, call or loop; (rel) is set */
    PVL_INSN_RET,    /* a return: ret, retf, iret, sysret, eretu, ... */
    PVL_INSN_ESCAPE, /* indirect, far or system transfer; xbegin; traps */
};

/* How control leaves an instruction, for control-flow walks. */
enum pvl_insn_flow {
    PVL_FLOW_NEXT,  /* falls through only */
    PVL_FLOW_JCC,   /* relative branch or fall through (jcc, loop, jrcxz) */
    PVL_FLOW_JMP,   /* relative jump */
    PVL_FLOW_CALL,  /* relative call, then falls through */
    PVL_FLOW_RET,   /* near return (c3, c2) */
    PVL_FLOW_IJMP,  /* near indirect jump (ff /4) */
    PVL_FLOW_ICALL, /* near indirect call (ff /2) */
    PVL_FLOW_OTHER, /* anything else that is not PVL_INSN_PLAIN */
};

/* Registers in memory operands, besides 0..15. */
#define PVL_NOREG 0xff
#define PVL_RIPREG 0xfe

/* VEX and EVEX instructions, refused with their length (struct
 * pvl_insn.vex): AVX and other vector code, the general-register BMI1 and
 * BMI2 instructions (andn, blsi, blsmsk, blsr, bzhi, pdep, pext, mulx,
 * bextr, shlx, sarx, shrx, rorx), and AVX-512. */
enum { PVL_VEX_NONE, PVL_VEX_AVX, PVL_VEX_BMI, PVL_VEX_EVEX };

/* Prefix bits (struct pvl_insn.pfx). */
#define PVL_PFX_66 0x01
#define PVL_PFX_67 0x02
#define PVL_PFX_LOCK 0x04
#define PVL_PFX_REP 0x08   /* f3 */
#define PVL_PFX_REPNE 0x10 /* f2 */

/* Mandatory-prefix classes (struct pvl_insn.mand): the last of f2/f3, or
 * else 66, selects among the instructions of one SSE opcode. */
enum { PVL_MAND_NONE, PVL_MAND_66, PVL_MAND_F3, PVL_MAND_F2 };

struct pvl_insn {
    uint8_t len;
    uint8_t kind;   /* enum pvl_insn_kind */
    uint8_t flow;   /* enum pvl_insn_flow */
    uint8_t riprel; /* has a RIP-relative memory operand */
    int8_t stack;   /* bytes pushed (< 0) or popped (> 0) by push/pop/call */
    int32_t rel;    /* displacement of a PVL_INSN_REL, from the end */
    const char *name; /* a return-like instruction's name, or NULL */
    uint8_t vex;      /* PVL_VEX_*: not decoded, but (len) is its length */
    /* operands */
    uint8_t map;       /* 1: one-byte map, 2: 0F, 3: 0F 38, 4: 0F 3A */
    uint8_t op;        /* opcode byte within its map */
    uint8_t has_modrm;
    uint8_t modrm;
    uint8_t mem;       /* the ModRM operand is memory */
    uint8_t reg;       /* ModRM.reg + 8 * REX.R */
    uint8_t rm;        /* register form: ModRM.rm + 8 * REX.B */
    uint8_t base;      /* memory form: base register, PVL_NOREG, PVL_RIPREG */
    uint8_t index;     /* memory form: index register or PVL_NOREG */
    uint8_t pfx;       /* PVL_PFX_* */
    uint8_t mand;      /* PVL_MAND_* */
    uint8_t rex;       /* the REX byte, 0 if none */
    uint8_t opsize;    /* general-register operand size: 2, 4 or 8 */
    int32_t disp;      /* memory displacement */
    int64_t imm;       /* first immediate, sign-extended (imm64 as is) */
};

/*
 * Decode the instruction at (p), reading at most (n) bytes (and at most 15).
 * Returns its length (also in out->len), or 0 if it is truncated, invalid
 * in 64-bit mode, or of an encoding this decoder does not handle; for a
 * whole VEX or EVEX instruction it still returns 0, with out->vex and
 * out->len set.
 */
size_t pvl_insn_decode(const uint8_t *p, size_t n, struct pvl_insn *out);

/* ------------------------------------------------------------------------
 * Effects.
 */

/* Bit (r) of a state mask; PVL_RSP's bit is used internally only. */
#define PVL_BIT(r) ((uint64_t)1 << (r))
#define PVL_GPR_MASK 0xffffull

/* Operand size of the memory an instruction writes (bytes, an upper bound). */
unsigned pvl_insn_store_size(const struct pvl_insn *in);

/*
 * What one instruction writes.  (writes) holds state bits (enum pvl_reg),
 * including PVL_RSP when it writes the stack pointer in any way (push,
 * pop, call and enter included); PVL_STACK is set for the pushes
 * (push, call, enter, which write below the stack pointer they find).
 * (wmem): it writes its ModRM memory operand; (wimem): it writes memory
 * through a register without a ModRM operand (string stores, maskmov).
 * (setsp): it writes RSP other than by the push or pop of (in->stack):
 * as an explicit operand (mov, add, lea, xchg, pop %rsp...), or as enter,
 * leave and the returns do.  Reading RSP does not count.
 */
struct pvl_effect {
    uint64_t writes;
    uint8_t wmem;
    uint8_t wimem;
    uint8_t setsp;
};

/*
 * The effect of (in), a decoded instruction.  Returns PVL_OK, or
 * PVL_E_INSN_UNMODELLED for an instruction whose effects the tables do
 * not model (it is refused in templates and call entries), or
 * PVL_E_INSN_STATE for one that changes state outside the clobber model
 * (segment registers and their bases, the shadow stack, MPX bounds).
 */
pvl_result pvl_insn_effect(const struct pvl_insn *in, struct pvl_effect *e);

#endif
