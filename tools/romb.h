/*
 * romb: assemble a ROM image in memory (hosted).  Used by the tests, the
 * demonstration and the ROM packer.
 *
 * Layout of the image it produces: header, table, then code and templates
 * (each piece 16-byte aligned), checksum sealed.
 */
#ifndef PVL_ROMB_H
#define PVL_ROMB_H

#include <pvlink/abi.h>

#define ROMB_MAX_ENTRIES 256
#define ROMB_MAX_CODE 65536

struct romb {
    char iface[PVL_IFACE_NAME_MAX];
    uint16_t major, minor;
    struct pvl_rom_entry ent[ROMB_MAX_ENTRIES];
    size_t nent;
    uint8_t code[ROMB_MAX_CODE];
    size_t ncode;
};

/* Start an image for interface (iface) version (major).(minor). */
void romb_init(struct romb *b, const char *iface, uint16_t major,
               uint16_t minor);

/* Append (n) bytes of code or template; returns their offset in the code
 * area (to pass to romb_op).  Aborts if the code area is full. */
uint32_t romb_code(struct romb *b, const void *bytes, size_t n);

/*
 * Add the entry for (op): its (action), an optional template (offset from
 * romb_code, length, clobbers; len 0 for none) and an optional call entry
 * (offset from romb_code or ROMB_NONE, clobbers).  Entries may come in any
 * order; the image has them sorted.
 */
#define ROMB_NONE 0xffffffffu
void romb_op(struct romb *b, uint16_t op, int action, uint32_t tmpl,
             uint8_t tmpl_len, uint32_t tmpl_clobbers, uint32_t call,
             uint32_t call_clobbers);

/* Lay the image out and seal it.  Returns a malloc'd image of (*size)
 * bytes, or NULL on allocation failure. */
void *romb_finish(const struct romb *b, size_t *size);

#endif
