/*
 * The pvlink inline linker (core/): validate a ROM, plan every site, emit
 * x86-64, apply all or nothing.
 *
 * Freestanding: no allocation, no libc.  Every buffer is the caller's.
 * Errors are pvl_result codes; pvl_strerror() gives the message and a
 * struct pvl_diag says where (which field, which entry or site).
 *
 * Self-contained: <stdint.h>, <stddef.h> and the ABI header only.
 */
#ifndef PVLINK_LINK_H
#define PVLINK_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

PVL_BEGIN_DECLS

/* clang-format off */
#define PVL_RESULTS(X)                                                       \
 X(OK,               "success")                                              \
 X(E_ARG,            "invalid argument to the linker")                       \
 X(E_ROM_SHORT,      "ROM image is shorter than its header")                 \
 X(E_ROM_MAGIC,      "bad ROM magic")                                        \
 X(E_ROM_FORMAT,     "unsupported ROM format major version")                 \
 X(E_ROM_SIZE,       "ROM size field does not fit the image")                \
 X(E_ROM_CHECKSUM,   "ROM checksum mismatch")                                \
 X(E_ROM_RESERVED,   "reserved ROM field is not zero")                       \
 X(E_ROM_IFACE,      "ROM is for another interface")                         \
 X(E_ROM_VERSION,    "ROM interface major version differs")                  \
 X(E_ROM_TABLE,      "ROM table is out of bounds")                           \
 X(E_ROM_OP,         "ROM entry names an unknown operation")                 \
 X(E_ROM_ORDER,      "ROM entries are not in increasing operation order")   \
 X(E_ROM_ACTION,     "ROM entry has an unknown action")                      \
 X(E_ROM_TEMPLATE,   "ROM template is out of bounds")                        \
 X(E_ROM_CALL,       "ROM call entry is out of bounds")                      \
 X(E_ROM_CLOBBERS,   "clobber mask names RSP or an unknown register")        \
 X(E_ROM_MISSING,    "ROM entry lacks the template or call its action needs") \
 X(E_TMPL_DECODE,    "template holds an instruction pvlink cannot decode")   \
 X(E_TMPL_BRANCH,    "template branches outside itself")                     \
 X(E_TMPL_RET,       "template returns")                                     \
 X(E_TMPL_INDIRECT,  "template has an indirect, far or system branch")       \
 X(E_TMPL_RIPREL,    "template uses RIP-relative addressing")                \
 X(E_TMPL_STACK,     "template moves the stack pointer other than by balanced push and pop") \
 X(E_INSN_UNMODELLED, "instruction whose effects pvlink does not model")   \
 X(E_INSN_STATE,     "instruction changes state outside the clobber model (segments, shadow stack, bounds)") \
 X(E_SITE_TABLE,     "site table is misaligned or outside the object")       \
 X(E_SITE_BOUNDS,    "site lies outside the object")                         \
 X(E_SITE_ROOM,      "site room is 0 or larger than PVL_ROOM_MAX")           \
 X(E_SITE_FLAGS,     "site has unknown flags")                               \
 X(E_SITE_IFACE,     "site interface descriptor is invalid")                 \
 X(E_SITE_VERSION,   "site was compiled for another interface major version") \
 X(E_SITE_OP,        "unknown operation")                                    \
 X(E_SITE_CLOBBERS,  "site clobber mask names RSP or an unknown register")   \
 X(E_SITE_TARGET,    "native call target is outside the object")             \
 X(E_SITE_OVERLAP,   "sites overlap")                                        \
 X(E_SITE_ALIAS,     "a site's room covers site records, original copies or descriptors") \
 X(E_ROOM,           "template longer than the site")                        \
 X(E_CLOBBER,        "replacement clobbers a register the site does not allow") \
 X(E_CALL_ROOM,      "site too small for a call")                            \
 X(E_CALL_RANGE,     "call target out of rel32 range")                       \
 X(E_MUST_PATCH,     "must-patch site would stay native")                    \
 X(E_NO_TEMPLATE,    "inline chosen but the environment has no template")    \
 X(E_NO_CALL,        "call chosen but the environment has no call entry")    \
 X(E_NOP_RESULT,     "NOPs chosen for an operation that returns a value")    \
 X(E_HARDENING,      "calls into the ROM are forbidden by this program")     \
 X(E_POLICY,         "policy chose an unknown action")                       \
 X(E_ENV,            "environment is for another interface or version")      \
 X(E_WRITE,          "writing a site failed")                                \
 X(E_VERIFY,         "site bytes read back differ from those written")       \
 X(E_REFUSED,        "link refused: some sites cannot be linked")
/* clang-format on */

#define PVL_RESULT_ENUM_(n, msg) PVL_##n,
typedef enum pvl_result { PVL_RESULTS(PVL_RESULT_ENUM_) PVL_NRESULTS } pvl_result;
#undef PVL_RESULT_ENUM_

/* The message for (r); never NULL. */
const char *pvl_strerror(pvl_result r);

/* Where an error was found: a field name, and an index (a ROM table entry
 * or a site number) or PVL_NOINDEX. */
#define PVL_NOINDEX 0xffffffffu
struct pvl_diag {
    pvl_result code;
    uint32_t index;
    const char *field;
    uint64_t value; /* the offending value, where there is one */
};

/*
 * Write "field [index]: message (value)" for (d) into (buf, n), always
 * NUL-terminated when n > 0.  Returns the length it wanted to write.
 */
size_t pvl_diag_format(const struct pvl_diag *d, char *buf, size_t n);

/* ------------------------------------------------------------------------
 * Interfaces and environments
 */

/* One operation of an interface catalog. */
struct pvl_op_info {
    const char *name;
    uint8_t room;          /* default room of its sites */
    uint8_t props;         /* PVL_OP_RESULT, PVL_OP_NATIVE_CALL */
    uint8_t native_len;    /* bytes in (native); 0 for a native call */
    uint32_t clobbers;     /* what its sites allow any action to change */
    const uint8_t *native; /* expected native code, or NULL if unknown */
};

/* An interface a program is compiled against. */
struct pvl_iface {
    const char *name;
    uint16_t major, minor;
    uint16_t nops;
    const struct pvl_op_info *ops;
};

/* The kernel catalog, "pvlink.kernel" 1.0 (see <pvlink/kernel.h>). */
extern const struct pvl_iface pvl_kernel_iface;

/* Look an operation up by name; returns its number or -1. */
int pvl_iface_find(const struct pvl_iface *iface, const char *name);

/* What an environment offers for one operation. */
struct pvl_impl {
    uint8_t action;         /* enum pvl_action */
    uint8_t tmpl_len;       /* 0: no template */
    uint32_t tmpl_clobbers;
    uint32_t call_clobbers;
    const uint8_t *tmpl;    /* template bytes */
    uint64_t call;          /* run-time address of the call entry, 0: none */
};

/*
 * An environment: an interface name and version and one pvl_impl per
 * operation (operations at or past nimpl stay native).
 */
struct pvl_env {
    const char *name;
    uint16_t major, minor;
    uint32_t nimpl;
    const struct pvl_impl *impl;
};

/* FNV-1a (32-bit) of (size) bytes of a ROM image, checksum field as 0. */
uint32_t pvl_rom_checksum(const void *img, size_t size);

/* Store the checksum of the image in the buffer (img, len), whose header
 * gives the image size.  Refuses (writing nothing) a buffer shorter than a
 * header, or a size field below the header size or beyond (len). */
pvl_result pvl_rom_seal(void *img, size_t len);

/*
 * Validate the ROM image (img, len) for interface (iface) and describe it
 * in (env), using (impl) as storage for iface->nops entries.  (load_addr)
 * is the address the image's byte 0 has when its code runs; call entries
 * become load_addr + call_off.  Returns PVL_OK, or the first problem with
 * (diag) naming the field; (env) and (impl) are then unspecified.
 * Refuses: short image, bad magic, other format major, size beyond (len),
 * bad checksum, non-zero reserved fields, other interface or major
 * version, table or template or call entry out of bounds, unknown
 * operation (unless the ROM is for a newer minor version, whose extra
 * operations are ignored), entries not sorted by operation (or duplicated), unknown action, bad clobber
 * masks, an action without what it needs, NOPs for an operation with a
 * result, and templates that fail pvl_tmpl_check().
 */
pvl_result pvl_rom_load(const void *img, size_t len, uint64_t load_addr,
                        const struct pvl_iface *iface, struct pvl_impl *impl,
                        struct pvl_env *env, struct pvl_diag *diag);

/*
 * Check that (len) bytes at (t) are safe to copy into a site: every
 * instruction decodes, relative branches stay inside the template (a branch
 * to its end is allowed), and there is no return, indirect, far or system
 * branch and no RIP-relative operand; RSP changes only through pushes and
 * pops that balance, in a template without branches.  (diag->value) is the
 * byte offset of the offending instruction.
 */
pvl_result pvl_tmpl_check(const uint8_t *t, size_t len, struct pvl_diag *diag);

/* ------------------------------------------------------------------------
 * Emitting instructions
 */

/* Fill (n) bytes at (p) with the recommended NOP forms (the ones GNU as
 * emits for .nops: SDM forms up to 9 bytes, 66/66 66 2e prefixed forms for
 * 10 and 11, then 11-byte NOPs followed by the rest). */
void pvl_emit_nops(uint8_t *p, size_t n);

/* Write e8 rel32 at (p), for an instruction that will run at address (at)
 * and call (target).  Refuses (PVL_E_CALL_RANGE, nothing written) when
 * target - (at + 5) does not fit in a signed 32-bit displacement. */
pvl_result pvl_emit_call(uint8_t *p, uint64_t at, uint64_t target);

/* ------------------------------------------------------------------------
 * Linking
 */

/* One site, as the planner and the policy callback see it. */
struct pvl_site_info {
    uint32_t index;     /* position in the table */
    uint16_t op;
    uint8_t room;
    uint8_t flags;
    uint32_t clobbers;
    uint64_t addr;      /* run-time address */
    uint8_t *local;     /* where its bytes are in this address space */
};

/* Return the action to use for the site (any enum pvl_action), given the
 * one the environment proposes. */
typedef int (*pvl_policy_fn)(void *ctx, const struct pvl_site_info *si,
                             int proposed);

/* Write (n) bytes (src) over the site at (si->local).  Returns PVL_OK or
 * PVL_E_WRITE.  The default writer stores and reads back. */
typedef pvl_result (*pvl_write_fn)(void *ctx, const struct pvl_site_info *si,
                                   const uint8_t *src, size_t n);

/* A refused site. */
struct pvl_refusal {
    uint64_t addr;
    uint32_t index;
    uint16_t op;
    uint8_t action; /* the action that was attempted */
    pvl_result why;
};

/* What a link did or would do.  (refused) is caller storage for
 * (refused_cap) entries; nrefused counts all of them. */
struct pvl_report {
    uint32_t count[PVL_NACTIONS]; /* this interface's sites by action */
    uint32_t nsites;              /* records in the table */
    uint32_t nother;              /* sites of other interfaces, left alone */
    uint32_t nchanged;            /* sites whose bytes changed */
    uint32_t nrefused;
    uint32_t refused_cap;
    struct pvl_refusal *refused;
};

#define PVL_LINK_NO_CALLS 0x1u /* hardening: refuse calls into the ROM */
#define PVL_LINK_DRY_RUN 0x2u  /* plan and report, write nothing */

/*
 * A link request.  Sites are (nsites) records at (sites); every address
 * they refer to must lie in [lo, hi), the object as mapped here.  Run-time
 * addresses are local addresses plus (bias) (0 when linking the running
 * image).  (env) NULL means unlink: every site of (iface) back to its
 * original bytes.
 *
 * (scratch) is caller storage for (nsites) words, required with a
 * (policy): the linker asks the policy once per site and keeps the answer
 * there, so that what it writes is exactly what it checked.  It also lets
 * overlap checking sort an unsorted table in O(n log n) instead of
 * comparing all pairs.  At most 2^28 - 1 sites per request.
 */
struct pvl_link {
    const struct pvl_site *sites;
    size_t nsites;
    uintptr_t lo, hi;
    int64_t bias;
    const struct pvl_iface *iface;
    const struct pvl_env *env;
    unsigned flags;
    pvl_policy_fn policy;
    void *policy_ctx;
    pvl_write_fn write;
    void *write_ctx;
    uint32_t *scratch;
    struct pvl_report *report; /* may be NULL */
    struct pvl_diag *diag;     /* may be NULL */
};

/*
 * Plan one site: the action and the (si->room) bytes it would get.
 * Returns PVL_OK with (*action, out) set, PVL_E_SITE_IFACE-class errors for
 * a bad record, or the reason the site cannot be linked; (si) is filled
 * whenever the record itself is sound.  Writes nothing to the site.
 * Returns PVL_E_ENV for a site of another interface (not an error for
 * pvl_link, which leaves such sites alone).
 */
pvl_result pvl_plan_site(const struct pvl_link *l, size_t i,
                         struct pvl_site_info *si, int *action,
                         uint8_t out[PVL_ROOM_MAX]);

/*
 * Link every site of l->iface in the table: validate the table, plan
 * every site, and only if every one planned cleanly, write them (skipping
 * those whose bytes do not change).  Returns PVL_OK; PVL_E_REFUSED with
 * the refusals in the report and nothing written; a table-level error
 * (bad table, overlapping sites, a room over records, original copies or
 * descriptors, environment for another interface) with
 * (diag) saying where and nothing written; or PVL_E_WRITE / PVL_E_VERIFY
 * from the writer, with the report counting what had been written.
 */
pvl_result pvl_link(const struct pvl_link *l);

PVL_END_DECLS

#endif /* PVLINK_LINK_H */
