/*
 * pvlink ABI, format version 1: the records a binary carries and the image an
 * environment publishes.
 *
 * This header is self-contained (<stdint.h> and <stddef.h> only) and is shared
 * by the freestanding linker, the guest kernel, the monitor, the user-space
 * runtime and the tools.  Every layout the format depends on is pinned with
 * _Static_assert below; changing one is a format change and needs a new major
 * version.
 *
 * Three things live in a binary:
 *   - sites: patchable instruction ranges, native by default, each described
 *     by a struct pvl_site in section "pvlink_sites";
 *   - a copy of each site's original bytes (native code plus NOP padding) in
 *     section "pvlink_orig", so that unlinking restores them exactly;
 *   - interface descriptors (struct pvl_iface_desc) in section
 *     "pvlink_iface", naming the interface and version the sites were
 *     compiled against.
 * Site records point at all three with 32-bit offsets relative to the field
 * that holds them, so a table works wherever it is loaded.
 *
 * An environment publishes a ROM: a struct pvl_rom_header, a table of
 * struct pvl_rom_entry (one per operation it has an opinion on), and code.
 * Offsets inside a ROM are relative to the start of the image, which is one
 * contiguous blob; nothing in it holds an absolute address.
 */
#ifndef PVLINK_ABI_H
#define PVLINK_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* Format version of the records and images described here. */
#define PVL_FORMAT_MAJOR 1
#define PVL_FORMAT_MINOR 0

/* ROM magic: the bytes "PVLR" in memory order (little-endian 0x524c5650). */
#define PVL_ROM_MAGIC 0x524c5650u

/* Longest interface name, including the terminating NUL. */
#define PVL_IFACE_NAME_MAX 24

/* Largest room a site may have; also the largest inline template. */
#define PVL_ROOM_MAX 64

/* Length of the call form: e8 rel32. */
#define PVL_CALL_LEN 5

/*
 * Registers, one bit each, in the x86-64 encoding order (the number in the
 * ModRM reg field, plus 8 with REX), and the arithmetic flags.  A clobber
 * mask is a set of these: the registers an action may leave changed.
 * RSP can never be in a clobber mask.
 */
enum pvl_reg {
    PVL_RAX, PVL_RCX, PVL_RDX, PVL_RBX, PVL_RSP, PVL_RBP, PVL_RSI, PVL_RDI,
    PVL_R8, PVL_R9, PVL_R10, PVL_R11, PVL_R12, PVL_R13, PVL_R14, PVL_R15,
    PVL_FLAGS,
    PVL_NREGS
};

#define PVL_CLB(r) (1u << PVL_##r)
#define PVL_CLB_ALL ((1u << PVL_NREGS) - 1u)
#define PVL_CLB_VALID (PVL_CLB_ALL & ~PVL_CLB(RSP))
/*
 * What a call to a function with the System V calling convention may
 * change: the caller-saved registers and the flags.
 */
#define PVL_CLB_C                                                            \
    (PVL_CLB(RAX) | PVL_CLB(RCX) | PVL_CLB(RDX) | PVL_CLB(RSI) |             \
     PVL_CLB(RDI) | PVL_CLB(R8) | PVL_CLB(R9) | PVL_CLB(R10) |               \
     PVL_CLB(R11) | PVL_CLB(FLAGS))

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
#define PVL_SITE_MUST_PATCH 0x01u  /* native code is wrong under a ROM */
#define PVL_SITE_NATIVE_CALL 0x02u /* native code is e8 rel32 to .target */
#define PVL_SITE_FLAGS_VALID 0x03u

/*
 * A site record.  (addr) is the first byte of the site, (orig) the copy of
 * its original (room) bytes, (target) the function a native call goes to
 * (meaningful only with PVL_SITE_NATIVE_CALL), (iface) the interface
 * descriptor; each is relative to the address of the field itself.
 */
struct pvl_site {
    int32_t addr;
    int32_t orig;
    int32_t target;
    int32_t iface;
    uint32_t clobbers; /* registers any action here may change */
    uint16_t op;       /* operation number within the interface */
    uint8_t room;      /* bytes reserved at the site */
    uint8_t flags;
};

/* An interface a binary's sites were compiled against. */
struct pvl_iface_desc {
    char name[PVL_IFACE_NAME_MAX]; /* NUL-terminated, NUL-padded */
    uint16_t major;
    uint16_t minor;
    uint32_t nops; /* number of operations in this version */
};

/*
 * ROM image header, at offset 0 of the image.  (size) is the whole image in
 * bytes; (checksum) is FNV-1a (32-bit) over all (size) bytes with the
 * checksum field itself read as zero; the table is (table_count) entries at
 * (table_off), 4-aligned, sorted by operation with at most one entry per
 * operation.  (flags) and (reserved) must be zero in format 1.
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
    uint32_t reserved[2];
};

/*
 * One operation's entry in a ROM table.  (action) is what the ROM wants for
 * the operation's sites.  The template, if any, is (tmpl_len) bytes at
 * (tmpl_off) and changes the registers in (tmpl_clobbers); the call entry,
 * if any (call_off != 0), follows the operation's convention and changes
 * the registers in (call_clobbers).  An entry may offer both, so that a
 * caller overriding the decision site by site can pick either.
 */
struct pvl_rom_entry {
    uint16_t op;
    uint8_t action;
    uint8_t tmpl_len;
    uint32_t tmpl_off;
    uint32_t tmpl_clobbers;
    uint32_t call_off;
    uint32_t call_clobbers;
    uint32_t reserved;
};

PVL_STATIC_ASSERT(sizeof(struct pvl_site) == 24, "pvl_site layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, orig) == 4, "pvl_site.orig");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, target) == 8, "pvl_site.target");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, iface) == 12, "pvl_site.iface");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, clobbers) == 16, "pvl_site.clob");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, op) == 20, "pvl_site.op");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, room) == 22, "pvl_site.room");
PVL_STATIC_ASSERT(offsetof(struct pvl_site, flags) == 23, "pvl_site.flags");

PVL_STATIC_ASSERT(sizeof(struct pvl_iface_desc) == 32, "pvl_iface_desc layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, major) == 24, "desc.major");
PVL_STATIC_ASSERT(offsetof(struct pvl_iface_desc, nops) == 28, "desc.nops");

PVL_STATIC_ASSERT(sizeof(struct pvl_rom_header) == 64, "pvl_rom_header layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, format_major) == 4, "hdr.fmaj");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, iface) == 8, "hdr.iface");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, iface_major) == 32, "hdr.imaj");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, size) == 36, "hdr.size");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, checksum) == 40, "hdr.csum");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, table_off) == 44, "hdr.toff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, table_count) == 48, "hdr.tcnt");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_header, flags) == 52, "hdr.flags");

PVL_STATIC_ASSERT(sizeof(struct pvl_rom_entry) == 24, "pvl_rom_entry layout");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, action) == 2, "ent.action");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_len) == 3, "ent.tlen");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_off) == 4, "ent.toff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, tmpl_clobbers) == 8, "ent.tclb");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, call_off) == 12, "ent.coff");
PVL_STATIC_ASSERT(offsetof(struct pvl_rom_entry, call_clobbers) == 16, "ent.cclb");

/* Resolve a self-relative field of a record loaded in memory. */
static inline const void *pvl_rel(const int32_t *field)
{
    return (const char *)field + *field;
}

#endif /* PVLINK_ABI_H */
