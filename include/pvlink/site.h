/*
 * Emitting pvlink sites from GNU C inline assembly.
 *
 * A site is written as one asm statement whose template is PVL_SITE(native)
 * (or PVL_SITE_CALL(), whose native code is a call to a default function)
 * and whose input operands include PVL_SITE_IN(...).  The statement emits:
 *
 *   771:  <native instructions>
 *   772:  NOP padding up to (room) bytes; an assembly error if native > room
 *   pvlink_orig:  a copy of the same (room) bytes, for unlinking
 *   pvlink_sites: a struct pvl_site record pointing at all of the above
 *
 * Contract for the asm statement that carries a site:
 *   - the operation's arguments and results sit in the registers of the
 *     operation's convention, as explicit register constraints;
 *   - every register in (clobbers) is an output or in the clobber list, so
 *     that whatever the linker puts at the site (native code, a template,
 *     a call, NOPs) may change exactly those;
 *   - code containing sites that may become calls is compiled with
 *     -mno-red-zone (a call pushes below the stack pointer), and functions
 *     reached by such calls must not assume a 16-byte aligned stack
 *     (build them with -mincoming-stack-boundary=3, or write them in asm).
 *
 * Needs only the assembler; include <pvlink/abi.h> for the values.
 */
#ifndef PVLINK_SITE_H
#define PVLINK_SITE_H

#include "abi.h"

#define PVL_STR_(x) #x
#define PVL_STR(x) PVL_STR_(x)

/*
 * Padding from the end of the native code (label 772) to (room) bytes
 * after its start (label 771), and an assembly error if the native code is
 * longer than the room.  The NOPs are the recommended forms, the bytes
 * pvl_emit_nops() writes: 11-byte NOPs, then one NOP of the rest (so a
 * padding of up to 11 bytes is a single instruction).  GNU as evaluates
 * the length while it assembles: .nops, and a clear .error.  LLVM's
 * integrated assembler knows the length only at layout, where .if cannot
 * look and .nops refuses 0: each form is made of .fills of at most 4 bytes
 * (its widest pattern) whose count is 1 or 0 by the length, and an .org that cannot move backwards ("invalid .org
 * offset") is the error.
 */
#ifdef __clang__
/* The NOP forms as one assembler macro, defined once per translation
 * unit (and once per module under LTO, whose module assembly is merged):
 * an asm statement per site stays short. */
__asm__(".ifndef .Lpvl_nops_defined\n"
        ".set .Lpvl_nops_defined, 1\n"
        ".macro pvl_nops len\n"
        ".fill ((\\len) / 11 >= 1) & 1, 4, 0x0f2e6666\n"
        ".fill ((\\len) / 11 >= 1) & 1, 4, 0x0000841f\n"
        ".fill ((\\len) / 11 >= 1) & 1, 3, 0x000000\n"
        ".fill ((\\len) / 11 >= 2) & 1, 4, 0x0f2e6666\n"
        ".fill ((\\len) / 11 >= 2) & 1, 4, 0x0000841f\n"
        ".fill ((\\len) / 11 >= 2) & 1, 3, 0x000000\n"
        ".fill ((\\len) / 11 >= 3) & 1, 4, 0x0f2e6666\n"
        ".fill ((\\len) / 11 >= 3) & 1, 4, 0x0000841f\n"
        ".fill ((\\len) / 11 >= 3) & 1, 3, 0x000000\n"
        ".fill ((\\len) / 11 >= 4) & 1, 4, 0x0f2e6666\n"
        ".fill ((\\len) / 11 >= 4) & 1, 4, 0x0000841f\n"
        ".fill ((\\len) / 11 >= 4) & 1, 3, 0x000000\n"
        ".fill ((\\len) / 11 >= 5) & 1, 4, 0x0f2e6666\n"
        ".fill ((\\len) / 11 >= 5) & 1, 4, 0x0000841f\n"
        ".fill ((\\len) / 11 >= 5) & 1, 3, 0x000000\n"
        ".fill ((\\len) % 11 == 1) & 1, 1, 0x90\n"
        ".fill ((\\len) % 11 == 2) & 1, 2, 0x9066\n"
        ".fill ((\\len) % 11 == 3) & 1, 3, 0x001f0f\n"
        ".fill ((\\len) % 11 == 4) & 1, 4, 0x00401f0f\n"
        ".fill ((\\len) % 11 == 5) & 1, 4, 0x00441f0f\n"
        ".fill ((\\len) % 11 == 5) & 1, 1, 0x00\n"
        ".fill ((\\len) % 11 == 6) & 1, 4, 0x441f0f66\n"
        ".fill ((\\len) % 11 == 6) & 1, 2, 0x0000\n"
        ".fill ((\\len) % 11 == 7) & 1, 4, 0x00801f0f\n"
        ".fill ((\\len) % 11 == 7) & 1, 3, 0x000000\n"
        ".fill ((\\len) % 11 == 8) & 1, 4, 0x00841f0f\n"
        ".fill ((\\len) % 11 == 8) & 1, 4, 0x00000000\n"
        ".fill ((\\len) % 11 == 9) & 1, 4, 0x841f0f66\n"
        ".fill ((\\len) % 11 == 9) & 1, 4, 0x00000000\n"
        ".fill ((\\len) % 11 == 9) & 1, 1, 0x00\n"
        ".fill ((\\len) % 11 == 10) & 1, 4, 0x1f0f2e66\n"
        ".fill ((\\len) % 11 == 10) & 1, 4, 0x00000084\n"
        ".fill ((\\len) % 11 == 10) & 1, 2, 0x0000\n"
        ".endm\n"
        ".endif\n");
#define PVL_SITE_COPY_PAD_ "pvl_nops %c[pvl_room]-(772b-771b)\n\t"
#define PVL_SITE_PAD_ PVL_SITE_COPY_PAD_ ".org 771b + %c[pvl_room]\n\t"
#else
#define PVL_SITE_PAD_                                                        \
    ".if (772b - 771b) > %c[pvl_room]\n\t"                                   \
    ".error \"pvlink: native code is longer than the site's room\"\n\t"     \
    ".endif\n\t"                                                             \
    ".nops %c[pvl_room] - (772b - 771b)\n\t"
#define PVL_SITE_COPY_PAD_ ".nops %c[pvl_room] - (772b - 771b)\n\t"
#endif

/* The part shared by both site forms; (tgt) is the record's target field. */
#define PVL_SITE_TAIL_(native, tgt)                                          \
    "\n772:\n\t" PVL_SITE_PAD_                                               \
    ".pushsection pvlink_orig, \"a\"\n"                                      \
    "773:\n\t" native "\n\t" PVL_SITE_COPY_PAD_                              \
    ".popsection\n\t"                                                        \
    ".pushsection pvlink_sites, \"a\"\n\t"                                   \
    ".balign 8\n\t"                                                          \
    ".long 771b - .\n\t"                                                     \
    ".long 773b - .\n\t"                                                     \
    ".long " tgt "\n\t"                                                      \
    ".long %c[pvl_desc] - .\n\t"                                             \
    ".long %c[pvl_clb_lo], %c[pvl_clb_hi]\n\t"                               \
    ".short %c[pvl_op]\n\t"                                                  \
    ".byte %c[pvl_room], %c[pvl_flags]\n\t"                                  \
    ".long 0\n\t"                                                            \
    ".popsection\n"

/* A site whose native code is the instruction text (native). */
#define PVL_SITE(native) "771:\n\t" native PVL_SITE_TAIL_(native, "0")

/*
 * A site whose native code calls the function given as operand
 * [pvl_target] (a static or hidden function, "i" constraint).
 */
#define PVL_SITE_CALL()                                                      \
    "771:\n\tcall %c[pvl_target]"                                            \
    PVL_SITE_TAIL_("call %c[pvl_target]", "%c[pvl_target] - .")

/*
 * The input operands every site needs: the interface descriptor (an
 * object in section pvlink_iface, static or hidden), the operation number,
 * the room, the clobber mask (64 bits, emitted as two 32-bit halves) and
 * the flags; all compile-time constants.
 */
#define PVL_SITE_IN(desc, op, room, clobbers, flags)                         \
    [pvl_desc] "i"(desc), [pvl_op] "i"(op), [pvl_room] "i"(room),            \
    [pvl_clb_lo] "i"((unsigned)((clobbers) & 0xffffffffu)),                  \
    [pvl_clb_hi] "i"((unsigned)((uint64_t)(clobbers) >> 32)),                \
    [pvl_flags] "i"(flags)

/* Define an interface descriptor; one per interface per object is enough,
 * duplicates are harmless (the linker compares names). */
#define PVL_IFACE_DESC(sym, name, major, minor, nops)                        \
    __attribute__((weak, visibility("hidden"), used,                         \
                   section("pvlink_iface"), aligned(4)))                     \
    PVL_CONST_OBJ struct pvl_iface_desc sym = {PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, \
                                               PVL_FORMAT_MINOR, name, major,   \
                                               minor, nops}

#endif /* PVLINK_SITE_H */
