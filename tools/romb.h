/*
 * romb: assemble a ROM image in memory (hosted).  Used by the tests, the
 * demonstration and the ROM packer.
 *
 * Layout of the image it produces: header, table, then code and templates
 * (each piece 16-byte aligned, int3 between them), checksum sealed.  A
 * call entry's length is the length of the piece it starts; romb_data
 * appends bytes to the last piece without making them part of it (the
 * pointer after an indirect jump, say).
 */
#ifndef PVL_ROMB_H
#define PVL_ROMB_H

#include <pvlink/abi.h>

#define ROMB_MAX_ENTRIES 256
#define ROMB_MAX_CODE 65536
#define ROMB_MAX_PIECES 1024

struct romb {
    char iface[PVL_IFACE_NAME_MAX];
    uint16_t major, minor;
    struct pvl_rom_entry ent[ROMB_MAX_ENTRIES];
    size_t nent;
    uint8_t code[ROMB_MAX_CODE];
    size_t ncode;
    struct {
        uint32_t off, len;
    } piece[ROMB_MAX_PIECES];
    size_t npiece;
    uint32_t probe, probe_len; /* code offset and length; 0 length: none */
    uint64_t gates;            /* PVL_ROM_GATES declaration; 0: none */
};

/* Start an image for interface (iface) version (major).(minor). */
void romb_init(struct romb *b, const char *iface, uint16_t major,
               uint16_t minor);

/* Append (n) bytes of code or template; returns their offset in the code
 * area (to pass to romb_op).  Aborts if the code area is full. */
uint32_t romb_code(struct romb *b, const void *bytes, size_t n);

/* Append (n) bytes of data right after the last piece, outside it. */
void romb_data(struct romb *b, const void *bytes, size_t n);

/*
 * Add the entry for (op): its (action), an optional template (offset from
 * romb_code, length, what it may change; len 0 for none) and an optional
 * call entry (offset from romb_code or ROMB_NONE, what it may change; its
 * length is its piece's).  Entries may come in any order; the image has
 * them sorted.  Returns the entry, for flags or deliberate damage.
 */
#define ROMB_NONE 0xffffffffu
struct pvl_rom_entry *romb_op(struct romb *b, uint16_t op, int action, uint32_t tmpl,
                              uint8_t tmpl_len, uint64_t tmpl_clobbers, uint32_t call,
                              uint64_t call_clobbers);

/* The probe: the piece at (off) from romb_code. */
void romb_probe(struct romb *b, uint32_t off);

/* Declare gates (format 2.1) that write (writes). */
void romb_gates(struct romb *b, uint64_t writes);

/* Lay the image out and seal it.  Returns a malloc'd image of (*size)
 * bytes, or NULL on allocation failure. */
void *romb_finish(const struct romb *b, size_t *size);

#endif
