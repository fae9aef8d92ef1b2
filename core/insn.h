/*
 * A minimal x86-64 instruction length decoder, enough to walk the templates
 * a ROM hands over and classify their control transfers.  Legacy prefixes,
 * REX, the one-byte map and the 0F, 0F 38, 0F 3A maps; VEX, EVEX, XOP and
 * 3DNow! encodings are refused.
 */
#ifndef PVL_CORE_INSN_H
#define PVL_CORE_INSN_H

#include <stddef.h>
#include <stdint.h>

enum pvl_insn_kind {
    PVL_INSN_PLAIN,  /* falls through */
    PVL_INSN_REL,    /* relative jump, call or loop; (rel) is set */
    PVL_INSN_RET,    /* ret, retf, iret */
    PVL_INSN_ESCAPE, /* indirect, far or system transfer; xbegin */
};

struct pvl_insn {
    uint8_t len;
    uint8_t kind;   /* enum pvl_insn_kind */
    uint8_t riprel; /* has a RIP-relative memory operand */
    uint8_t rsp;    /* names RSP as a register operand, or is enter/leave */
    int8_t stack;   /* bytes pushed (< 0) or popped (> 0) by push/pop forms */
    int32_t rel;    /* displacement of a PVL_INSN_REL, from the end */
};

/*
 * Decode the instruction at (p), reading at most (n) bytes (and at most 15).
 * Returns its length (also in out->len), or 0 if it is truncated, invalid
 * in 64-bit mode, or of an encoding this decoder does not handle.
 */
size_t pvl_insn_decode(const uint8_t *p, size_t n, struct pvl_insn *out);

#endif
