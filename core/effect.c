/*
 * What an instruction writes, from tables: for every instruction form
 * the decoder accepts, a descriptor says which operands it writes (and in
 * which register file), which registers it writes implicitly, whether it
 * writes the flags, the x87/MMX state, MXCSR, the mask registers or
 * memory.  A form without a descriptor is not modelled and is refused;
 * so are forms that change state outside the clobber model (segment
 * registers and bases, the CET shadow stack, MPX bounds).
 *
 * The one-byte map is indexed by opcode; the 0F, 0F 38 and 0F 3A maps by
 * opcode and mandatory prefix (none, 66, F3, F2), which select different
 * SSE instructions.  Opcodes whose meaning depends on ModRM.reg (groups)
 * have tables indexed by it.  tests/test_effect.c checks every form
 * against Zydis's per-operand read/write information.
 */
#include "insn.h"

#include "internal.h"

/* Operand classes, for the ModRM.reg operand and the ModRM.rm operand. */
enum {
    C_NONE,
    C_G,  /* general register (any size: the whole register changes) */
    C_B,  /* 8-bit general register: ah..bh without REX */
    C_X,  /* xmm */
    C_M,  /* mm: the x87 state */
    C_XM, /* mm, or xmm with 66 */
};

/* clang-format off */
#define REGW(c) ((uint32_t)(c))       /* writes the ModRM.reg operand */
#define RMW(c) ((uint32_t)(c) << 3)   /* writes the ModRM.rm operand (memory too) */
#define FL   (1u << 6)   /* writes arithmetic flags or DF */
#define X87  (1u << 7)   /* writes x87 state (also MMX) */
#define OPR  (1u << 8)   /* writes the register in the opcode's low bits */
#define OPRB (1u << 9)   /* the same, an 8-bit register */
#define IMP(k) ((uint32_t)(k) << 10) /* writes the registers of imp[k] */
#define STR  (1u << 15)  /* string instruction: rcx too with f2/f3 */
#define WM   (1u << 16)  /* writes its memory operand */
#define MEMO (1u << 17)  /* memory form only */
#define REGO (1u << 18)  /* register form only */
#define SEG  (1u << 19)  /* changes state outside the model: refused */
#define WIM  (1u << 20)  /* writes memory through rdi (or an absolute address) */
#define MMXU (1u << 21)  /* uses mm registers: the x87 tag word changes */
#define LK   (1u << 22)  /* may take a lock prefix */
#define Y    (1u << 23)  /* modelled (set in every valid descriptor) */
#define GRPF (1u << 24)  /* see the group table grp[IMP index] */
#define IMPK(d) (((d) >> 10) & 31)

/* Implicitly written state. */
enum {
    I_NONE, I_RAX, I_RDX, I_AXDX, I_RCX, I_AXCXDX, I_CPUID, I_SIDI, I_DI, I_SI,
    I_AXSI, I_ENTER, I_LEAVE, I_RET, I_XMM0, I_FXRSTOR, I_XRSTOR, I_MXCSR, I_PUSH,
    I_SYSCALL,
};
#define B_(r) PVL_BIT(PVL_##r)
#define XMM_LO 0x0000ffff00000000ull
#define XMM_ALL 0xffffffff00000000ull
static const uint64_t imp[] = {
    [I_NONE] = 0,
    [I_RAX] = B_(RAX),
    [I_RDX] = B_(RDX),
    [I_AXDX] = B_(RAX) | B_(RDX),
    [I_RCX] = B_(RCX),
    [I_AXCXDX] = B_(RAX) | B_(RCX) | B_(RDX),
    [I_CPUID] = B_(RAX) | B_(RBX) | B_(RCX) | B_(RDX),
    [I_SIDI] = B_(RSI) | B_(RDI),
    [I_DI] = B_(RDI),
    [I_SI] = B_(RSI),
    [I_AXSI] = B_(RAX) | B_(RSI),
    [I_ENTER] = B_(RBP) | B_(RSP) | B_(STACK),
    [I_LEAVE] = B_(RBP) | B_(RSP),
    [I_RET] = B_(RSP),
    [I_XMM0] = PVL_BIT(PVL_XMM0),
    [I_FXRSTOR] = B_(X87) | B_(MXCSR) | XMM_LO,
    [I_XRSTOR] = B_(X87) | B_(MXCSR) | B_(KMASK) | XMM_ALL,
    [I_MXCSR] = B_(MXCSR),
    [I_PUSH] = B_(RSP) | B_(STACK),
    [I_SYSCALL] = B_(RCX) | B_(R11),
};

/* Groups of the one-byte map and the 0F map: descriptor by ModRM.reg. */
enum { G_NONE, G_1B, G_1V, G_2B, G_2V, G_3B, G_3V, G_4, G_5, G_1A, G_11B, G_11V,
       G_BA, G_6, G_SREG, NGROUPS };
#define ALU_B (RMW(C_B) | FL | LK | Y)
#define ALU_V (RMW(C_G) | FL | LK | Y)
static const uint32_t grp[NGROUPS][8] = {
    [G_1B] = {ALU_B, ALU_B, ALU_B, ALU_B, ALU_B, ALU_B, ALU_B, FL | Y},
    [G_1V] = {ALU_V, ALU_V, ALU_V, ALU_V, ALU_V, ALU_V, ALU_V, FL | Y},
    [G_2B] = {[0 ... 7] = RMW(C_B) | FL | Y},
    [G_2V] = {[0 ... 7] = RMW(C_G) | FL | Y},
    [G_3B] = {FL | Y, FL | Y, RMW(C_B) | LK | Y, RMW(C_B) | FL | LK | Y,
              [4 ... 7] = IMP(I_RAX) | FL | Y},
    [G_3V] = {FL | Y, FL | Y, RMW(C_G) | LK | Y, RMW(C_G) | FL | LK | Y,
              [4 ... 7] = IMP(I_AXDX) | FL | Y},
    [G_4] = {ALU_B, ALU_B},
    [G_5] = {ALU_V, ALU_V, Y, IMP(I_PUSH) | MEMO | Y, Y, MEMO | Y, Y},
    [G_1A] = {RMW(C_G) | Y},
    [G_11B] = {RMW(C_B) | Y},
    [G_11V] = {RMW(C_G) | Y},
    [G_BA] = {[4] = FL | Y, [5 ... 7] = RMW(C_G) | FL | LK | Y},
    [G_6] = {RMW(C_G) | Y, RMW(C_G) | Y, Y, Y, FL | Y, FL | Y},
    [G_SREG] = {[0 ... 5] = RMW(C_G) | Y}, /* mov %sreg, r/m: six registers */
};
#define GRP(g) (GRPF | IMP(g) | Y)

static const uint32_t map1[256] = {
    [0x00] = ALU_B, [0x01] = ALU_V, [0x02] = REGW(C_B) | FL | Y, [0x03] = REGW(C_G) | FL | Y,
    [0x04] = IMP(I_RAX) | FL | Y, [0x05] = IMP(I_RAX) | FL | Y,
    [0x08] = ALU_B, [0x09] = ALU_V, [0x0a] = REGW(C_B) | FL | Y, [0x0b] = REGW(C_G) | FL | Y,
    [0x0c] = IMP(I_RAX) | FL | Y, [0x0d] = IMP(I_RAX) | FL | Y,
    [0x10] = ALU_B, [0x11] = ALU_V, [0x12] = REGW(C_B) | FL | Y, [0x13] = REGW(C_G) | FL | Y,
    [0x14] = IMP(I_RAX) | FL | Y, [0x15] = IMP(I_RAX) | FL | Y,
    [0x18] = ALU_B, [0x19] = ALU_V, [0x1a] = REGW(C_B) | FL | Y, [0x1b] = REGW(C_G) | FL | Y,
    [0x1c] = IMP(I_RAX) | FL | Y, [0x1d] = IMP(I_RAX) | FL | Y,
    [0x20] = ALU_B, [0x21] = ALU_V, [0x22] = REGW(C_B) | FL | Y, [0x23] = REGW(C_G) | FL | Y,
    [0x24] = IMP(I_RAX) | FL | Y, [0x25] = IMP(I_RAX) | FL | Y,
    [0x28] = ALU_B, [0x29] = ALU_V, [0x2a] = REGW(C_B) | FL | Y, [0x2b] = REGW(C_G) | FL | Y,
    [0x2c] = IMP(I_RAX) | FL | Y, [0x2d] = IMP(I_RAX) | FL | Y,
    [0x30] = ALU_B, [0x31] = ALU_V, [0x32] = REGW(C_B) | FL | Y, [0x33] = REGW(C_G) | FL | Y,
    [0x34] = IMP(I_RAX) | FL | Y, [0x35] = IMP(I_RAX) | FL | Y,
    [0x38 ... 0x3d] = FL | Y,
    [0x50 ... 0x57] = Y, [0x58 ... 0x5f] = OPR | Y,
    [0x63] = REGW(C_G) | Y, [0x68] = Y, [0x69] = REGW(C_G) | FL | Y, [0x6a] = Y,
    [0x6b] = REGW(C_G) | FL | Y,
    [0x6c ... 0x6d] = IMP(I_DI) | STR | WIM | Y, [0x6e ... 0x6f] = IMP(I_SI) | STR | Y,
    [0x70 ... 0x7f] = Y,
    [0x80] = GRP(G_1B), [0x81] = GRP(G_1V), [0x83] = GRP(G_1V),
    [0x84 ... 0x85] = FL | Y,
    [0x86] = RMW(C_B) | REGW(C_B) | LK | Y, [0x87] = RMW(C_G) | REGW(C_G) | LK | Y,
    [0x88] = RMW(C_B) | Y, [0x89] = RMW(C_G) | Y, [0x8a] = REGW(C_B) | Y,
    [0x8b] = REGW(C_G) | Y, [0x8c] = GRP(G_SREG), [0x8d] = REGW(C_G) | Y,
    [0x8e] = SEG | Y, [0x8f] = GRP(G_1A),
    [0x90] = Y, /* nop; xchg with REX.B: see below */
    [0x91 ... 0x97] = OPR | IMP(I_RAX) | Y,
    [0x98] = IMP(I_RAX) | Y, [0x99] = IMP(I_RDX) | Y, [0x9b] = X87 | Y,
    [0x9c] = Y, [0x9d] = FL | Y, [0x9e] = FL | Y, [0x9f] = IMP(I_RAX) | Y,
    [0xa0 ... 0xa1] = IMP(I_RAX) | Y, [0xa2 ... 0xa3] = WIM | Y,
    [0xa4 ... 0xa5] = IMP(I_SIDI) | STR | WIM | Y,
    [0xa6 ... 0xa7] = IMP(I_SIDI) | STR | FL | Y,
    [0xa8 ... 0xa9] = FL | Y,
    [0xaa ... 0xab] = IMP(I_DI) | STR | WIM | Y,
    [0xac ... 0xad] = IMP(I_AXSI) | STR | Y,
    [0xae ... 0xaf] = IMP(I_DI) | STR | FL | Y,
    [0xb0 ... 0xb7] = OPRB | Y, [0xb8 ... 0xbf] = OPR | Y,
    [0xc0] = GRP(G_2B), [0xc1] = GRP(G_2V),
    [0xc2 ... 0xc3] = IMP(I_RET) | Y,
    [0xc6] = GRP(G_11B), [0xc7] = GRP(G_11V),
    [0xc8] = IMP(I_ENTER) | Y, [0xc9] = IMP(I_LEAVE) | Y,
    [0xca ... 0xcb] = IMP(I_RET) | Y, [0xcc ... 0xcd] = Y, [0xcf] = IMP(I_RET) | FL | Y,
    [0xd0] = GRP(G_2B), [0xd1] = GRP(G_2V), [0xd2] = GRP(G_2B), [0xd3] = GRP(G_2V),
    [0xd7] = IMP(I_RAX) | Y,
    [0xe0 ... 0xe2] = IMP(I_RCX) | Y, [0xe3] = Y,
    [0xe4 ... 0xe5] = IMP(I_RAX) | Y, [0xe6 ... 0xe7] = Y,
    [0xe8 ... 0xe9] = Y, [0xeb] = Y,
    [0xec ... 0xed] = IMP(I_RAX) | Y, [0xee ... 0xef] = Y,
    [0xf1] = Y, [0xf4] = Y, [0xf5] = FL | Y,
    [0xf6] = GRP(G_3B), [0xf7] = GRP(G_3V),
    [0xf8 ... 0xf9] = FL | Y, [0xfa ... 0xfb] = Y, [0xfc ... 0xfd] = FL | Y,
    [0xfe] = GRP(G_4), [0xff] = GRP(G_5),
};

/* The SSE maps: by opcode and mandatory prefix (none, 66, F3, F2). */
#define ALL(x) {x, x, x, x}
#define NP(x) {x, 0, 0, 0}
#define O66(x) {0, x, 0, 0}
#define NP66(x) {x, x, 0, 0}
#define X (REGW(C_X) | Y)
#define MX {REGW(C_M) | MMXU | Y, REGW(C_X) | Y, 0, 0} /* mm, or xmm with 66 */
#define SPECIAL {GRPF | Y, GRPF | Y, GRPF | Y, GRPF | Y} /* resolved in code */

static const uint32_t map2[256][4] = {
    [0x00] = SPECIAL, [0x01] = SPECIAL,
    [0x02 ... 0x03] = ALL(REGW(C_G) | FL | Y),
    [0x05] = ALL(IMP(I_SYSCALL) | FL | Y), [0x06] = ALL(Y), [0x07] = ALL(IMP(I_RET) | FL | Y),
    [0x08 ... 0x09] = ALL(Y), [0x0b] = ALL(Y), [0x0d] = ALL(MEMO | Y),
    [0x10] = ALL(X), [0x11] = ALL(RMW(C_X) | Y),
    [0x12] = {X, X | MEMO, X, X}, [0x13] = NP66(RMW(C_X) | MEMO | Y),
    [0x14 ... 0x15] = NP66(X), [0x16] = {X, X | MEMO, X, 0},
    [0x17] = NP66(RMW(C_X) | MEMO | Y),
    [0x18] = ALL(Y), [0x19] = ALL(Y), [0x1a ... 0x1b] = ALL(SEG | Y),
    [0x1c ... 0x1d] = ALL(Y), [0x1e] = SPECIAL, [0x1f] = ALL(Y),
    [0x20 ... 0x23] = SPECIAL,
    [0x28] = NP66(X), [0x29] = NP66(RMW(C_X) | Y),
    [0x2a] = {X | MMXU, X | MMXU, X, X}, [0x2b] = NP66(RMW(C_X) | MEMO | Y),
    [0x2c ... 0x2d] = {REGW(C_M) | MMXU | Y, REGW(C_M) | MMXU | Y, REGW(C_G) | Y,
                       REGW(C_G) | Y},
    [0x2e ... 0x2f] = NP66(FL | Y),
    [0x30] = ALL(Y), [0x31 ... 0x33] = ALL(IMP(I_AXDX) | Y), [0x34 ... 0x35] = ALL(IMP(I_RET) | Y),
    [0x37] = NP(IMP(I_CPUID) | Y),
    [0x40 ... 0x4f] = ALL(REGW(C_G) | Y),
    [0x50] = NP66(REGW(C_G) | REGO | Y), [0x51] = ALL(X), [0x52 ... 0x53] = {X, 0, X, 0},
    [0x54 ... 0x57] = NP66(X), [0x58 ... 0x5a] = ALL(X), [0x5b] = {X, X, X, 0},
    [0x5c ... 0x5f] = ALL(X),
    [0x60 ... 0x6b] = MX, [0x6c ... 0x6d] = O66(X),
    [0x6e] = {REGW(C_M) | MMXU | Y, X, 0, 0}, [0x6f] = {REGW(C_M) | MMXU | Y, X, X, 0},
    [0x70] = {REGW(C_M) | MMXU | Y, X, X, X}, [0x71 ... 0x73] = SPECIAL,
    [0x74 ... 0x76] = MX, [0x77] = NP(X87 | Y), [0x7c ... 0x7d] = {0, X, 0, X},
    [0x7e] = {RMW(C_G) | MMXU | Y, RMW(C_G) | Y, X, 0},
    [0x7f] = {RMW(C_M) | MMXU | Y, RMW(C_X) | Y, RMW(C_X) | Y, 0},
    [0x80 ... 0x8f] = ALL(Y), [0x90 ... 0x9f] = ALL(RMW(C_B) | Y),
    [0xa0] = ALL(Y), [0xa1] = ALL(SEG | Y), [0xa2] = ALL(IMP(I_CPUID) | Y), [0xa3] = ALL(FL | Y),
    [0xa4 ... 0xa5] = ALL(RMW(C_G) | FL | Y), [0xa8] = ALL(Y), [0xa9] = ALL(SEG | Y),
    [0xaa] = ALL(IMP(I_RET) | FL | Y), [0xab] = ALL(RMW(C_G) | FL | LK | Y), [0xac ... 0xad] = ALL(RMW(C_G) | FL | Y),
    [0xae] = SPECIAL, [0xaf] = ALL(REGW(C_G) | FL | Y),
    [0xb0] = ALL(RMW(C_B) | IMP(I_RAX) | FL | LK | Y), [0xb1] = ALL(RMW(C_G) | IMP(I_RAX) | FL | LK | Y),
    [0xb2] = ALL(SEG | Y), [0xb3] = ALL(RMW(C_G) | FL | LK | Y), [0xb4 ... 0xb5] = ALL(SEG | Y),
    [0xb6 ... 0xb7] = ALL(REGW(C_G) | Y), [0xb9] = ALL(Y),
    [0xba] = {GRP(G_BA), GRP(G_BA), GRP(G_BA), GRP(G_BA)},
    [0xbb] = ALL(RMW(C_G) | FL | LK | Y), [0xbc ... 0xbd] = ALL(REGW(C_G) | FL | Y),
    [0xbe ... 0xbf] = ALL(REGW(C_G) | Y),
    [0xc0] = ALL(RMW(C_B) | REGW(C_B) | FL | LK | Y), [0xc1] = ALL(RMW(C_G) | REGW(C_G) | FL | LK | Y),
    [0xc2] = ALL(X), [0xc3] = NP(RMW(C_G) | MEMO | Y), [0xc4] = {REGW(C_M) | MMXU | Y, X, 0, 0},
    [0xc5] = NP66(REGW(C_G) | REGO | MMXU | Y), [0xc6] = NP66(X), [0xc7] = SPECIAL,
    [0xc8 ... 0xcf] = ALL(OPR | Y),
    [0xd0] = {0, X, 0, X}, [0xd1 ... 0xd5] = MX,
    [0xd6] = {0, RMW(C_X) | Y, X | REGO | MMXU, REGW(C_M) | REGO | MMXU | Y},
    [0xd7] = NP66(REGW(C_G) | REGO | MMXU | Y), [0xd8 ... 0xdf] = MX, [0xe0 ... 0xe5] = MX,
    [0xe6] = {0, X, X, X}, [0xe7] = {RMW(C_M) | MEMO | MMXU | Y, RMW(C_X) | MEMO | Y, 0, 0},
    [0xe8 ... 0xef] = MX, [0xf0] = {0, 0, 0, X | MEMO}, [0xf1 ... 0xf6] = MX,
    [0xf7] = {REGO | WIM | MMXU | Y, REGO | WIM | Y, 0, 0}, [0xf8 ... 0xfe] = MX,
    [0xff] = ALL(Y),
};

static const uint32_t map3[256][4] = {
    [0x00 ... 0x0b] = MX, [0x10] = O66(X), [0x14 ... 0x15] = O66(X), [0x17] = O66(FL | Y),
    [0x1c ... 0x1e] = MX, [0x20 ... 0x25] = O66(X), [0x28 ... 0x29] = O66(X),
    [0x2a] = O66(X | MEMO), [0x2b] = O66(X), [0x30 ... 0x35] = O66(X), [0x37 ... 0x41] = O66(X),
    [0x80 ... 0x82] = O66(FL | MEMO | Y), [0xc8 ... 0xcd] = NP(X), [0xcf] = O66(X),
    [0xdb ... 0xdf] = O66(X),
    [0xf0] = {REGW(C_G) | MEMO | Y, REGW(C_G) | MEMO | Y, 0, REGW(C_G) | Y},
    [0xf1] = {RMW(C_G) | MEMO | Y, RMW(C_G) | MEMO | Y, 0, REGW(C_G) | Y},
    [0xf6] = {SEG | Y, REGW(C_G) | FL | Y, REGW(C_G) | FL | Y, 0},
};

static const uint32_t map4[256][4] = {
    [0x08 ... 0x0e] = O66(X), [0x0f] = MX, [0x14 ... 0x17] = O66(RMW(C_G) | Y),
    [0x20 ... 0x22] = O66(X), [0x40 ... 0x42] = O66(X), [0x44] = O66(X),
    [0x60] = O66(IMP(I_XMM0) | FL | Y), [0x61] = O66(IMP(I_RCX) | FL | Y),
    [0x62] = O66(IMP(I_XMM0) | FL | Y), [0x63] = O66(IMP(I_RCX) | FL | Y),
    [0xcc] = NP(X), [0xce ... 0xcf] = O66(X), [0xdf] = O66(X),
};
/* clang-format on */

/* ------------------------------------------------------------------------
 * The irregular opcodes: 0F 00, 0F 01, 0F 1E, 0F 6E, 0F 71-73, 0F AE,
 * 0F C7 and the x87 escapes.
 */

static uint32_t op_0f01_reg(const struct pvl_insn *in)
{
    uint8_t m = in->modrm;

    if ((m & 0xf8) == 0xe0) /* smsw r */
        return RMW(C_G) | Y;
    if ((m & 0xf8) == 0xf0) /* lmsw r */
        return Y;
    /* eretu, uiret; erets; seamret and the TDX calls: refused by kind */
    if (in->mand == PVL_MAND_F3) /* uiret; eretu and erets (FRED) are refused */
        return m == 0xec ? IMP(I_RET) | FL | Y : 0;
    if (in->mand == PVL_MAND_F2)
        return 0;
    if (in->mand == PVL_MAND_66)
        return m >= 0xcc && m <= 0xcf ? IMP(I_CPUID) | FL | Y : 0;
    switch (m) {
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xd1: case 0xd4: case 0xd9:
    case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xdf: case 0xe8: case 0xef:
    case 0xfa: case 0xfb: case 0xfc:
        /* monitor mwait clac stac xsetbv vmfunc vmmcall vmload vmsave stgi
         * clgi invlpga serialize wrpkru monitorx mwaitx clzero */
        return Y;
    case 0xc1: case 0xc4: /* vmcall, vmxoff: VMfail in the flags */
        return FL | Y;
    case 0xc2: case 0xc3: case 0xd5: case 0xd8: case 0xde: /* transfers: refused by kind */
        return FL | Y;
    case 0xc0: case 0xcf: case 0xd7: /* enclv, encls, enclu */
        return IMP(I_CPUID) | FL | Y;
    case 0xd0: case 0xee: /* xgetbv, rdpkru */
        return IMP(I_AXDX) | Y;
    case 0xd6: /* xtest */
        return FL | Y;
    case 0xf8: /* swapgs */
        return SEG | Y;
    case 0xf9: /* rdtscp */
        return IMP(I_AXCXDX) | Y;
    case 0xfd: /* rdpru */
        return IMP(I_AXDX) | FL | Y;
    }
    return 0;
}

static uint32_t op_0f01(const struct pvl_insn *in, unsigned r)
{
    static const uint32_t mem[8] = {WM | Y, WM | Y, Y, Y, WM | Y, 0, Y, Y};

    if (!in->mem)
        return op_0f01_reg(in);
    if (r == 5 && in->mand == PVL_MAND_F3) /* rstorssp */
        return SEG | Y;
    return mem[r];
}

static uint32_t op_0fae(const struct pvl_insn *in, unsigned r)
{
    static const uint32_t mem_np[8] = {WM | Y, IMP(I_FXRSTOR) | Y, IMP(I_MXCSR) | Y, WM | Y,
                                       WM | Y, IMP(I_XRSTOR) | Y, WM | Y, Y};
    static const uint32_t reg_f3[8] = {RMW(C_G) | Y, RMW(C_G) | Y, SEG | Y, SEG | Y,
                                       0, SEG | Y, 0, 0};

    if (in->mem) {
        if (in->mand == PVL_MAND_NONE)
            return mem_np[r];
        if (in->mand == PVL_MAND_66) /* clwb, clflushopt */
            return r >= 6 ? Y : 0;
        return in->mand == PVL_MAND_F3 && r == 6 ? SEG | Y : 0; /* clrssbsy */
    }
    if (in->mand == PVL_MAND_NONE) /* lfence, mfence, sfence */
        return r >= 5 ? Y : 0;
    return in->mand == PVL_MAND_F3 ? reg_f3[r] : 0;
}

static uint32_t op_0fc7(const struct pvl_insn *in, unsigned r)
{
    if (in->mem) {
        if (in->mand == PVL_MAND_NONE) {
            static const uint32_t np[8] = {0, IMP(I_AXDX) | FL | WM | LK | Y, 0,
                                           IMP(I_XRSTOR) | Y, WM | Y, WM | Y, FL | Y,
                                           WM | FL | Y};
            return np[r];
        }
        return r == 6 && in->mand != PVL_MAND_F2 ? FL | Y : 0; /* vmclear, vmxon */
    }
    if (r == 7 && in->mand == PVL_MAND_F3) /* rdpid */
        return RMW(C_G) | Y;
    if ((r == 6 || r == 7) && (in->mand == PVL_MAND_NONE || in->mand == PVL_MAND_66))
        return RMW(C_G) | FL | Y; /* rdrand, rdseed */
    return 0;
}

static uint32_t op_0f00(const struct pvl_insn *in, unsigned r)
{
    (void)in;
    return grp[G_6][r];
}

/* 0F 71..73: shifts by an immediate, register forms only. */
static uint32_t op_shift_imm(const struct pvl_insn *in, unsigned r)
{
    static const uint8_t ok[3] = {0x54, 0x54, 0xcc}; /* /2 /4 /6; 73: /2 /3 /6 /7 */
    unsigned which = in->op - 0x71u;

    if (in->mem || in->mand > PVL_MAND_66 || !((ok[which] >> r) & 1))
        return 0;
    if (which == 2 && (r == 3 || r == 7) && in->mand != PVL_MAND_66)
        return 0;
    return in->mand == PVL_MAND_66 ? RMW(C_X) | Y : RMW(C_M) | MMXU | Y;
}

/* 0F 20..23: moves from and to control and debug registers that exist. */
static uint32_t op_crdr(const struct pvl_insn *in)
{
    int cr = in->op == 0x20 || in->op == 0x22;
    unsigned n = in->reg;

    if (cr ? !(n == 0 || n == 2 || n == 3 || n == 4 || n == 8) : n > 7)
        return 0;
    return in->op <= 0x21 ? RMW(C_G) | Y : Y;
}

/* 0F 1E: hint NOPs, endbr64/endbr32, and rdsspd/q (f3, register, /1). */
static uint32_t op_0f1e(const struct pvl_insn *in, unsigned r)
{
    if (in->mand == PVL_MAND_F3 && !in->mem && r == 1)
        return RMW(C_G) | Y;
    return Y;
}

/* x87: register forms that exist, per escape byte D8..DF (bit k: ModRM
 * 0xc0 + k), memory forms that exist (bit: ModRM.reg) and store to
 * memory. */
static const uint64_t x87_reg_ok[8] = {
    ~0ull,                                           /* d8 */
    0xffff7f330001ffffull,                           /* d9 */
    0x00000200ffffffffull,                           /* da */
    0x00ffff0cffffffffull,                           /* db */
    0xffffffff0000ffffull,                           /* dc */
    0x0000ffffffff00ffull,                           /* dd */
    0xffffffff0200ffffull,                           /* de */
    0x00ffff0100000000ull,                           /* df */
};
static const uint8_t x87_mem_ok[8] = {0xff, 0xfd, 0xff, 0xaf, 0xff, 0xdf, 0xff, 0xff};
static const uint8_t x87_store[8] = {0, 0xcc, 0, 0x8e, 0, 0xce, 0, 0xce};

static uint32_t op_x87(const struct pvl_insn *in, unsigned r)
{
    unsigned e = in->op - 0xd8u, k = in->modrm & 0x3fu;

    if (in->mem) {
        if (!((x87_mem_ok[e] >> r) & 1))
            return 0;
        return X87 | (((x87_store[e] >> r) & 1) ? WM : 0) | Y;
    }
    if (!((x87_reg_ok[e] >> k) & 1))
        return 0;
    if (e == 7 && k == 0x20) /* fnstsw %ax */
        return X87 | IMP(I_RAX) | Y;
    if ((e == 3 || e == 7) && k >= 0x28 && k < 0x38) /* fucomi, fcomi(p) */
        return X87 | FL | Y;
    return X87 | Y;
}

/* The group and prefix-dependent forms, resolved. */
static uint32_t special(const struct pvl_insn *in, uint32_t d)
{
    unsigned r = (in->modrm >> 3) & 7;

    if (in->map == 1)
        return in->op >= 0xd8 && in->op <= 0xdf ? op_x87(in, r) : grp[IMPK(d)][r];
    if (in->map != 2)
        return 0;
    switch (in->op) {
    case 0x00: return op_0f00(in, r);
    case 0x01: return op_0f01(in, r);
    case 0x1e: return op_0f1e(in, r);
    case 0x20: case 0x21: case 0x22: case 0x23: return op_crdr(in);
    case 0x71: case 0x72: case 0x73: return op_shift_imm(in, r);
    case 0xae: return op_0fae(in, r);
    case 0xba: return grp[G_BA][r];
    case 0xc7: return op_0fc7(in, r);
    }
    return 0;
}

static uint32_t descriptor(const struct pvl_insn *in)
{
    uint32_t d;

    switch (in->map) {
    case 1:
        d = (in->op >= 0xd8 && in->op <= 0xdf) ? GRPF | Y : map1[in->op];
        break;
    case 2:
        d = map2[in->op][in->mand];
        break;
    case 3:
        d = map3[in->op][in->mand];
        break;
    default:
        d = map4[in->op][in->mand];
    }
    return (d & GRPF) ? special(in, d) : d;
}

/* ------------------------------------------------------------------------
 * Operands to state bits.
 */

/* The general register an 8-bit operand number names: ah..bh are the
 * second bytes of rax..rbx unless there is a REX prefix. */
static unsigned byte_reg(const struct pvl_insn *in, unsigned n)
{
    return (!in->rex && n >= 4 && n < 8) ? n - 4 : n;
}

static uint64_t operand(const struct pvl_insn *in, unsigned cls, unsigned n)
{
    switch (cls) {
    case C_G:
        return PVL_BIT(n);
    case C_B:
        return PVL_BIT(byte_reg(in, n));
    case C_X:
        return PVL_BIT(PVL_XMM0 + n);
    case C_M:
        return PVL_BIT(PVL_X87);
    case C_XM:
        return in->mand == PVL_MAND_66 ? PVL_BIT(PVL_XMM0 + n) : PVL_BIT(PVL_X87);
    }
    return 0;
}

/* ModRM.rm written: a register, or memory. */
static void rm_written(const struct pvl_insn *in, unsigned cls, struct pvl_effect *e)
{
    if (!cls)
        return;
    if (in->mem)
        e->wmem = 1;
    else
        e->writes |= operand(in, cls, in->rm);
}

pvl_result pvl_insn_effect(const struct pvl_insn *in, struct pvl_effect *e)
{
    uint32_t d = descriptor(in);

    *e = (struct pvl_effect){0, 0, 0, 0};
    if (!(d & Y) || (in->mem ? (d & REGO) : (d & MEMO)) ||
        ((in->pfx & PVL_PFX_LOCK) && !(d & LK)))
        return PVL_E_INSN_UNMODELLED;
    if (d & SEG)
        return PVL_E_INSN_STATE;
    e->writes = imp[IMPK(d)];
    e->writes |= operand(in, d & 7, in->reg);
    rm_written(in, (d >> 3) & 7, e);
    if (d & (OPR | OPRB)) {
        unsigned n = (in->op & 7u) + ((in->rex & 1) ? 8u : 0u);
        e->writes |= PVL_BIT((d & OPRB) ? byte_reg(in, n) : n);
    }
    if (in->map == 1 && in->op == 0x90 && (in->rex & 1)) /* xchg %r8, %rax */
        e->writes |= PVL_BIT(PVL_R8) | PVL_BIT(PVL_RAX);
    if ((d & STR) && (in->pfx & (PVL_PFX_REP | PVL_PFX_REPNE)))
        e->writes |= PVL_BIT(PVL_RCX);
    e->writes |= ((d & FL) ? PVL_BIT(PVL_FLAGS) : 0) |
                 ((d & (X87 | MMXU)) ? PVL_BIT(PVL_X87) : 0);
    e->setsp = (e->writes & PVL_BIT(PVL_RSP)) != 0;
    if (in->stack)
        e->writes |= PVL_BIT(PVL_RSP) | (in->stack < 0 ? PVL_BIT(PVL_STACK) : 0);
    e->wmem |= (d & WM) && in->mem;
    e->wimem = (d & WIM) != 0;
    return PVL_OK;
}

/* Bytes the x87 stores write, by escape byte D8..DF and ModRM.reg. */
static const uint8_t x87_store_size[8][8] = {
    [1] = {[2] = 4, [3] = 4, [6] = 28, [7] = 2},            /* fst(p) m32, fnstenv, fnstcw */
    [3] = {[1] = 4, [2] = 4, [3] = 4, [7] = 10},            /* fisttp, fist(p) m32, fstp m80 */
    [5] = {[1] = 8, [2] = 8, [3] = 8, [6] = 108, [7] = 2},  /* m64 forms, fnsave, fnstsw */
    [7] = {[1] = 2, [2] = 2, [3] = 2, [6] = 10, [7] = 8},   /* m16 forms, fbstp, fistp m64 */
};

unsigned pvl_insn_store_size(const struct pvl_insn *in)
{
    uint32_t d = descriptor(in);
    unsigned rm = (d >> 3) & 7;

    if (in->map == 1 && in->op >= 0xd8 && in->op <= 0xdf && in->mem &&
        x87_store_size[in->op - 0xd8][(in->modrm >> 3) & 7])
        return x87_store_size[in->op - 0xd8][(in->modrm >> 3) & 7];
    if (in->map == 1 && in->op == 0x8f)
        return in->opsize == 2 ? 2 : 8; /* pop to memory */
    if (rm == C_B)
        return 1;
    if (rm == C_G)
        return in->opsize;
    if (rm == C_X || rm == C_M || rm == C_XM)
        return 16; /* at most */
    return PVL_CALL_MAX; /* fxsave, xsave, sgdt, x87 environments: large */
}
