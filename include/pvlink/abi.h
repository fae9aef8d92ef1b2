/*
 * pvlink ABI, format version 2: the records a binary carries and the image an
 * environment publishes.
 *
 * This header is self-contained (<stdint.h> and <stddef.h> only) and is shared
 * by the freestanding linker, the guest kernel, the monitor, the user-space
 * runtime and the tools.  Every layout the format depends on is pinned with
 * PVL_STATIC_ASSERT below; changing one is a format change.
 *
 * Three things live in a binary:
 *   - sites: patchable instruction ranges, native by default, each described
 *     by a struct pvl_site in section "pvlink_sites";
 *   - a copy of each site's original bytes (native code plus NOP padding) in
 *     section "pvlink_orig", so that unlinking restores them exactly;
 *   - interface descriptors (struct pvl_iface_desc) in section
 *     "pvlink_iface", naming the pvlink format and the interface and version
 *     the sites were compiled against.
 * Site records point at all three with 32-bit offsets relative to the field
 * that holds them, so a table works wherever it is loaded.
 *
 * An environment publishes a ROM: a struct pvl_rom_header, a table of
 * struct pvl_rom_entry (one per operation it has an opinion on), and code.
 * Offsets inside a ROM are relative to the start of the image, which is one
 * contiguous blob; nothing in it holds an absolute address.
 *
 * Versions.  A reader accepts only inputs of its own format major version
 * (a ROM header's format_major, a descriptor's format_major); any other is
 * refused, naming the major found and the one expected.  Within a major, a
 * newer minor version may only give a meaning to space that older minors
 * reserve (reserved fields, which they keep zero) and to flag bits that
 * older minors leave clear, and only for information an older reader may
 * ignore without linking anything wrongly.  So a reader checks that reserved
 * fields and unknown flag bits are zero in inputs of its own minor or older
 * (a producer that sets them is broken), and ignores them in inputs of a
 * newer minor.  Anything an older reader must not ignore needs a new major.
 *
 * Minor versions of format 2:
 *   2.0  the records and images below, without what 2.1 adds;
 *   2.1  a ROM may declare gates into its environment (PVL_ROM_GATES and
 *        header.gate_writes).  A 2.0 reader ignores them and refuses
 *        code that enters a gate (see PVL_ROM_GATES).
 */
#ifndef PVLINK_ABI_H
#define PVLINK_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* Format version of the records and images described here. */
#define PVL_FORMAT_MAJOR 2
#define PVL_FORMAT_MINOR 1

/* ROM magic: the bytes "PVLR" in memory order (little-endian 0x524c5650). */
#define PVL_ROM_MAGIC 0x524c5650u
/* Interface descriptor magic: "PVLD" in memory order. */
#define PVL_DESC_MAGIC 0x444c5650u

/* Longest interface name, including the terminating NUL. */
#define PVL_IFACE_NAME_MAX 24

/* Largest room a site may have; also the largest inline template. */
#define PVL_ROOM_MAX 64

/* Largest call entry or probe, in bytes, and most entries in a ROM table. */
#define PVL_CALL_MAX 4096
#define PVL_ROM_TABLE_MAX 4096

/* Length of the call form: e8 rel32. */
#define PVL_CALL_LEN 5

/*
 * The machine state an action may change, one bit each: what may change
 * at a site, what an implementation declares it changes, and what the
 * linker derives from its bytes are all such masks (uint64_t).
 *   0..15   rax..r15, in the encoding order (ModRM number plus 8 with REX)
 *   16      FLAGS: the arithmetic flags and DF
 *   17      X87: x87 registers, MMX registers, x87 control/status/tag
 *   18      KMASK: the AVX-512 mask registers k0..k7
 *   19      MXCSR
 *   20      STACK: memory below RSP as the site finds it (a push, a call,
 *           a write to the red zone)
 *   21..31  reserved, zero
 *   32..63  xmm0..xmm31, each the whole zmm register (ymm/zmm upper parts)
 * RSP itself is never in a mask: nothing may leave it changed.  System
 * state (interrupt flag, control registers, MSRs...) is what operations
 * are for, and is not part of the model.
 */
enum pvl_reg {
    PVL_RAX, PVL_RCX, PVL_RDX, PVL_RBX, PVL_RSP, PVL_RBP, PVL_RSI, PVL_RDI,
    PVL_R8, PVL_R9, PVL_R10, PVL_R11, PVL_R12, PVL_R13, PVL_R14, PVL_R15,
    PVL_FLAGS, PVL_X87, PVL_KMASK, PVL_MXCSR, PVL_STACK,
    PVL_XMM0 = 32, PVL_XMM1, PVL_XMM2, PVL_XMM3, PVL_XMM4, PVL_XMM5, PVL_XMM6,
    PVL_XMM7, PVL_XMM8, PVL_XMM9, PVL_XMM10, PVL_XMM11, PVL_XMM12, PVL_XMM13,
    PVL_XMM14, PVL_XMM15, PVL_XMM16, PVL_XMM17, PVL_XMM18, PVL_XMM19, PVL_XMM20,
    PVL_XMM21, PVL_XMM22, PVL_XMM23, PVL_XMM24, PVL_XMM25, PVL_XMM26, PVL_XMM27,
    PVL_XMM28, PVL_XMM29, PVL_XMM30, PVL_XMM31,
    PVL_NSTATE
};

#define PVL_CLB(r) ((uint64_t)1 << PVL_##r)
/* The 32 vector registers, and the reserved bits. */
#define PVL_CLB_VEC 0xffffffff00000000ull
#define PVL_CLB_RESERVED 0x00000000ffe00000ull
/* Every bit a mask may hold. */
#define PVL_CLB_VALID (~PVL_CLB_RESERVED & ~PVL_CLB(RSP))
/*
 * What a call to a function with the System V calling convention may
 * change in the integer state: the caller-saved general registers, the
 * flags, and the stack below RSP (the return address and the callee's
 * frame).  Code without floating point (a kernel) allows this much.
 */
#define PVL_CLB_C_INT                                                        \
    (PVL_CLB(RAX) | PVL_CLB(RCX) | PVL_CLB(RDX) | PVL_CLB(RSI) |             \
     PVL_CLB(RDI) | PVL_CLB(R8) | PVL_CLB(R9) | PVL_CLB(R10) |               \
     PVL_CLB(R11) | PVL_CLB(FLAGS) | PVL_CLB(STACK))
/* What a System V call may change: the above, the x87 and MMX state, the
 * mask registers, MXCSR and all 32 vector registers. */
#define PVL_CLB_C                                                            \
    (PVL_CLB_C_INT | PVL_CLB(X87) | PVL_CLB(KMASK) | PVL_CLB(MXCSR) |        \
     PVL_CLB_VEC)

/* What an environment may do with the sites of one operation. */
enum pvl_action {
    PVL_ACT_NATIVE = 0, /* keep (or restore) the original bytes */
    PVL_ACT_INLINE = 1, /* the ROM's template, padded with NOPs */
    PVL_ACT_CALL = 2,   /* e8 rel32 into the ROM, padded with NOPs */
    PVL_ACT_NOP = 3,    /* NOPs over the whole room */
    PVL_NACTIONS
};

/*
 * Properties of an operation in an interface catalog: it returns a value
 * (so it cannot become NOPs), or its native code is a call to a default
 * function rather than inline instructions.
 */
#define PVL_OP_RESULT 0x01u
#define PVL_OP_NATIVE_CALL 0x02u

/* Site flags (struct pvl_site.flags). */
#define PVL_SITE_MUST_PATCH 0x01u  /* the binary knows its native code is
                                    * wrong under any ROM */
#define PVL_SITE_NATIVE_CALL 0x02u /* native code is e8 rel32 to .target */
#define PVL_SITE_FLAGS_VALID 0x03u

/*
 * A site record.  (addr) is the first byte of the site, (orig) the copy of
 * its original (room) bytes, (target) the function a native call goes to
 * (meaningful only with PVL_SITE_NATIVE_CALL), (iface) the interface
 * descriptor; each is relative to the address of the field itself.
 * (clobbers) is what any action at the site may change; (reserved) is 0.
 * Records are 8-aligned.
 */
struct pvl_site {
    int32_t addr;
    int32_t orig;
    int32_t target;
    int32_t iface;
    uint64_t clobbers;
    uint16_t op;    /* operation number within the interface */
    uint8_t room;   /* bytes reserved at the site */
    uint8_t flags;
    uint32_t reserved;
};

/* An interface a binary's sites were compiled against, in the pvlink
 * format (format_major, format_minor) of this header. */
struct pvl_iface_desc {
    uint32_t magic; /* PVL_DESC_MAGIC */
    uint16_t format_major;
    uint16_t format_minor;
    char name[PVL_IFACE_NAME_MAX]; /* NUL-terminated, NUL-padded */
    uint16_t major;
    uint16_t minor;
    uint32_t nops; /* number of operations in this version */
};

/*
 * ROM header flags (struct pvl_rom_header.flags), by the format minor
 * version that gave them a meaning.
 *
 * PVL_ROM_GATES (2.1): the environment has gates, code outside the image
 * that the image's code enters.  In call entries and the probe, every
 * indirect call or jump through RIP-relative memory (the only indirect
 * transfers a ROM's code may make) enters the environment, which writes
 * what (gate_writes) declares and returns to the caller.  The bytes of
 * the environment cannot be decoded, so this mask is the one declaration
 * the linker believes rather than derives.  It must name STACK (the call
 * pushes its return address; the environment may use the stack below it)
 * and lie within PVL_CLB_C.  Without the flag such transfers count as
 * calls of C functions (PVL_CLB_C), and (gate_writes) is zero.  A 2.0
 * reader ignores the flag and the mask and takes a gate for a C function,
 * which writes at least as much: it may refuse a ROM a 2.1 reader accepts
 * (a kernel's "save" operations do not allow a C call), never link one
 * wrongly.
 */
#define PVL_ROM_GATES 0x1u
#define PVL_ROM_FLAGS_VALID 0x1u

/*
 * ROM image header, at offset 0 of the image.  (size) is the whole image in
 * bytes; (checksum) is FNV-1a (32-bit) over all (size) bytes with the
 * checksum field itself read as zero; the table is (table_count) entries
 * (at most PVL_ROM_TABLE_MAX) at (table_off), 8-aligned, after the header,
 * sorted by operation with at most one entry per operation.  (probe_off,
 * probe_len), if probe_len is not 0, is code the kernel calls before
 * planning, with the C convention and no arguments: it returns nonzero in
 * eax to accept the environment, 0 to decline it; it is checked like a call
 * entry and may change what a C call may change.  (flags) are PVL_ROM_*
 * bits (none in format 2.0); (gate_writes) is the gates' declaration with
 * PVL_ROM_GATES (format 2.1; reserved, zero, in 2.0 and without the flag);
 * (reserved) is zero.
 */
struct pvl_rom_header {
    uint32_t magic;
    uint16_t format_major;
    uint16_t format_minor;
    char iface[PVL_IFACE_NAME_MAX];
    uint16_t iface_major;
    uint16_t iface_minor;
    uint32_t size;
    uint32_t checksum;
    uint32_t table_off;
    uint32_t table_count;
    uint32_t flags;
    uint32_t probe_off;
    uint32_t probe_len;
    uint64_t gate_writes;
    uint32_t reserved[2];
};

/* ROM entry flags (struct pvl_rom_entry.flags). */
#define PVL_ENT_REQUIRED 0x01u /* the native code of this operation is wrong
                                * under this environment: every site must
                                * take the entry's action */
#define PVL_ENT_FLAGS_VALID 0x01u

/*
 * One operation's entry in a ROM table.  (action) is what the ROM wants for
 * the operation's sites.  The template, if any (tmpl_len != 0, at most
 * PVL_ROOM_MAX), is (tmpl_len) bytes at (tmpl_off) and changes at most
 * (tmpl_clobbers); the call entry, if any (call_off != 0), is (call_len)
 * bytes at (call_off) (at most PVL_CALL_MAX), follows the operation's
 * convention and changes at most (call_clobbers), which includes STACK
 * (the call that reaches it pushes a return address).  An entry may offer
 * both, so that a caller overriding the decision site by site can pick
 * either.  Every declaration is checked against what the bytes do.
 */
struct pvl_rom_entry {
    uint16_t op;
    uint8_t action;
    uint8_t flags;
    uint16_t tmpl_len;
    uint16_t reserved0;
    uint32_t tmpl_off;
    uint32_t call_off;
    uint32_t call_len;
    uint32_t reserved1;
    uint64_t tmpl_clobbers;
    uint64_t call_clobbers;
};

PVL_STATIC_ASSERT(sizeof(struct pvl_site) == 32, "pvl_site layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, orig) == 4, "pvl_site.orig");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, target) == 8, "pvl_site.target");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, iface) == 12, "pvl_site.iface");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, clobbers) == 16, "pvl_site.clob");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, op) == 24, "pvl_site.op");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, room) == 26, "pvl_site.room");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, flags) == 27, "pvl_site.flags");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, reserved) == 28, "pvl_site.reserved");

PVL_STATIC_ASSERT(sizeof(struct pvl_iface_desc) == 40, "pvl_iface_desc layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, format_major) == 4, "desc.fmaj");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, format_minor) == 6, "desc.fmin");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, name) == 8, "desc.name");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, major) == 32, "desc.major");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, minor) == 34, "desc.minor");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, nops) == 36, "desc.nops");

PVL_STATIC_ASSERT(sizeof(struct pvl_rom_header) == 80, "pvl_rom_header layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, format_major) == 4, "hdr.fmaj");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, format_minor) == 6, "hdr.fmin");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, iface) == 8, "hdr.iface");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, iface_major) == 32, "hdr.imaj");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, size) == 36, "hdr.size");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, checksum) == 40, "hdr.csum");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, table_off) == 44, "hdr.toff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, table_count) == 48, "hdr.tcnt");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, flags) == 52, "hdr.flags");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, probe_off) == 56, "hdr.poff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, probe_len) == 60, "hdr.plen");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, gate_writes) == 64, "hdr.gates");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, reserved) == 72, "hdr.reserved");

PVL_STATIC_ASSERT(sizeof(struct pvl_rom_entry) == 40, "pvl_rom_entry layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, action) == 2, "ent.action");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, flags) == 3, "ent.flags");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_len) == 4, "ent.tlen");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, reserved0) == 6, "ent.res0");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_off) == 8, "ent.toff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, call_off) == 12, "ent.coff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, call_len) == 16, "ent.clen");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, reserved1) == 20, "ent.res1");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_clobbers) == 24, "ent.tclb");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, call_clobbers) == 32, "ent.cclb");

/* What the gates of a validated ROM header write: its (gate_writes) with
 * PVL_ROM_GATES in an image of format 2.1 or newer, else 0 (no gates:
 * indirect transfers count as C calls). */
static inline uint64_t pvl_rom_gates(const struct pvl_rom_header *h)
{
    return h->format_minor >= 1 && (h->flags & PVL_ROM_GATES) ? h->gate_writes : 0;
}

/* Resolve a self-relative field of a record loaded in memory. */
static inline const void *pvl_rel(const int32_t *field)
{
    return (const char *)field + *field;
}

#endif /* PVLINK_ABI_H */
