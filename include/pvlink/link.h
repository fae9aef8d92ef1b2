/*
 * The pvlink inline linker (core/): validate a ROM, plan every site, emit
 * x86-64, apply all or nothing.
 *
 * Freestanding: no allocation, no libc.  Every buffer is the caller's.
 * Errors are pvl_result codes; pvl_strerror() gives the message and a
 * struct pvl_diag says where (which field, which entry or site, which
 * instruction and state bit).  The state and action names are here too, in
 * one table for every component.
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
 X(E_ROM_TEMPLATE,   "ROM template is out of bounds, longer than PVL_ROOM_MAX, or over the header or the table") \
 X(E_ROM_CALL,       "ROM call entry is empty, out of bounds, over the header, the table or a template, or longer than PVL_CALL_MAX") \
 X(E_ROM_OVERLAP,    "ROM call entry starts inside an instruction of another call entry") \
 X(E_ROM_PROBE,      "ROM probe is out of bounds, over the header, the table or a template, or longer than PVL_CALL_MAX") \
 X(E_ROM_CLOBBERS,   "clobber mask names RSP or a reserved bit")             \
 X(E_ROM_UNALLOWED,  "entry declares changes its operation's sites do not allow") \
 X(E_ROM_MISSING,    "ROM entry lacks the template or call its action needs") \
 X(E_ROM_REQUIRED,   "ROM entry marks its operation required but keeps it native") \
 X(E_ROM_GATES,      "ROM gates must declare stack and nothing a C call may not change") \
 X(E_TMPL_DECODE,    "instruction pvlink cannot decode")                     \
 X(E_TMPL_BRANCH,    "branch lands outside the code or inside an instruction") \
 X(E_TMPL_RET,       "return-like instruction")                              \
 X(E_TMPL_INDIRECT,  "indirect, far or system transfer, or trap")            \
 X(E_TMPL_RIPREL,    "RIP-relative addressing in a template")                \
 X(E_TMPL_STACK,     "stack pointer used other than by balanced push and pop, or a write to the frame around the site") \
 X(E_INSN_UNMODELLED, "instruction whose effects pvlink does not model")   \
 X(E_INSN_STATE,     "instruction changes state outside the clobber model (segments, shadow stack, bounds)") \
 X(E_EFFECT,         "code writes state its entry does not declare")         \
 X(E_CALL_END,       "call entry does not end in a return or a tail jump")   \
 X(E_CALL_STACK,     "call entry returns with the stack pointer moved, or writes above its frame") \
 X(E_CALL_COMPLEX,   "call entry has more branches than pvlink follows")     \
 X(E_CALL_NOSTACK,   "call entry does not declare stack (the call that reaches it pushes its return address)") \
 X(E_SITE_TABLE,     "site table is misaligned or outside the object")       \
 X(E_SITE_BOUNDS,    "site lies outside the object")                         \
 X(E_SITE_EXEC,      "site room is not inside the object's executable code") \
 X(E_SITE_ROOM,      "site room is 0 or larger than PVL_ROOM_MAX")           \
 X(E_SITE_FLAGS,     "site has unknown flags")                               \
 X(E_SITE_RESERVED,  "site record's reserved field is not zero")            \
 X(E_SITE_IFACE,     "site interface descriptor is invalid")                 \
 X(E_SITE_FORMAT,    "site was built for another pvlink format major version") \
 X(E_SITE_VERSION,   "site was compiled for another interface major version") \
 X(E_SITE_OP,        "unknown operation")                                    \
 X(E_SITE_CLOBBERS,  "site clobber mask names RSP or a reserved bit")        \
 X(E_SITE_TARGET,    "native call target is outside the object")             \
 X(E_SITE_OVERLAP,   "sites overlap")                                        \
 X(E_SITE_ALIAS,     "a site's room covers site records, original copies or descriptors") \
 X(E_ROOM,           "template longer than the site")                        \
 X(E_CLOBBER,        "replacement changes state the site does not allow")    \
 X(E_CALL_ROOM,      "site too small for a call")                            \
 X(E_CALL_RANGE,     "call target out of rel32 range")                       \
 X(E_MUST_PATCH,     "must-patch site would stay native")                    \
 X(E_REQUIRED,       "the environment requires its action for this operation, and the site would not take it") \
 X(E_NO_TEMPLATE,    "inline chosen but the environment has no template")    \
 X(E_NO_CALL,        "call chosen but the environment has no call entry")    \
 X(E_NOP_RESULT,     "NOPs chosen for an operation that returns a value")    \
 X(E_HARDENING,      "calls into the ROM are forbidden by this program")     \
 X(E_POLICY,         "policy chose an unknown action")                       \
 X(E_ENV,            "environment is for another interface or version")      \
 X(E_WRITE,          "writing a site failed")                                \
 X(E_VERIFY,         "site bytes read back differ from those written")       \
 X(E_REFUSED,        "link refused: some sites cannot be linked")         \
 X(E_BUSY,           "a link is already in progress in this thread")         \
 X(E_THREADS,        "a thread of the process prevents a safe link")         \
 X(E_PROV_FILE,      "provider file cannot be opened or read")               \
 X(E_PROV_ELF,       "provider is not an x86-64 ELF shared object")          \
 X(E_PROV_SYMBOL,    "provider does not export pvr_provider_v1")             \
 X(E_PROV_LOAD,      "the dynamic loader refused the provider")              \
 X(E_INSN_VEX,       "VEX-encoded (AVX) instruction, which pvlink does not decode") \
 X(E_INSN_BMI,       "VEX-encoded BMI instruction, which pvlink does not decode") \
 X(E_INSN_EVEX,      "EVEX-encoded (AVX-512) instruction, which pvlink does not decode") \
 X(E_CALL_IJMP,      "indirect jump (a switch's jump table?), which pvlink cannot follow") \
 X(E_CALL_OUTSIDE,   "call entry jumps outside the code pvlink can read, not as a tail call")
/* clang-format on */

#define PVL_RESULT_ENUM_(n, msg) PVL_##n,
typedef enum pvl_result { PVL_RESULTS(PVL_RESULT_ENUM_) PVL_NRESULTS } pvl_result;
#undef PVL_RESULT_ENUM_

/* The message for (r); never NULL. */
const char *pvl_strerror(pvl_result r);

/* ------------------------------------------------------------------------
 * Names: the one table of state and action names every component uses.
 */

/* "rax".."r15", "flags", "x87", "kmask", "mxcsr", "stack", "xmm0".."xmm31"
 * for the bits of enum pvl_reg; NULL for a reserved bit or past 63. */
const char *pvl_state_name(unsigned bit);

/* "native", "inline", "call", "nop"; NULL for anything else. */
const char *pvl_action_name(int action);

/* Look an action up by name; returns it or -1. */
int pvl_action_find(const char *name);

/*
 * The names of the bits of (mask), separated by (sep) (", ", " ", ","), a
 * run of three or more vector registers as "xmm0-xmm15", reserved bits as
 * "bitN", and "-" for an empty mask.  Always NUL-terminated when n > 0;
 * returns the length it wanted to write.
 */
size_t pvl_mask_format(uint64_t mask, const char *sep, char *buf, size_t n);

/* ------------------------------------------------------------------------
 * Diagnostics: where an error was found.
 */

#define PVL_NOINDEX 0xffffffffu
#define PVL_NOSTATE 0xff

/* How pvl_diag_format shows a diagnostic's values. */
enum pvl_diag_kind {
    PVL_DIAG_VALUE,    /* "(0x<value>)", omitted when 0 */
    PVL_DIAG_EXPECTED, /* "(found <value>, expected <expected>)" */
    PVL_DIAG_CHECKSUM, /* "(stored 0x<value>, computed 0x<expected>)" */
    PVL_DIAG_INSN,     /* "+<off>: <instruction> <what it does wrong>" */
    PVL_DIAG_LIMIT,    /* "(found <value>, at most <expected>)" */
    PVL_DIAG_MASK,     /* "(<value's state names>; allowed: <expected's>)" */
};

/*
 * A field name, and an index (a ROM table entry or a site number) or
 * PVL_NOINDEX; for PVL_DIAG_INSN, the instruction at byte (off) of the
 * code (its bytes, and in (name) its name where the core knows it: the
 * return-like instructions), the state bit it writes (or PVL_NOSTATE), and
 * for a branch its target offset in (value).  For other kinds, (name) is
 * the operation a ROM table entry is for, where there is one, shown after
 * the index: "entry.flags[4] (restore_fl): ...".
 */
struct pvl_diag {
    pvl_result code;
    uint32_t index;
    const char *field;
    uint64_t value;    /* the offending value, where there is one */
    uint64_t expected; /* what was expected (or computed) */
    uint32_t off;      /* from the code's start; below an open entry, negative
                          as (int32_t)off */
    uint8_t kind;      /* enum pvl_diag_kind */
    uint8_t state;
    uint8_t insn_len;
    uint8_t insn[15];
    const char *name;
};

/*
 * Write the diagnostic into (buf, n), always NUL-terminated when n > 0:
 *   "field[index]: message (value)", "field[index] (operation): ..."
 *   "entry.template[3] +4: 31 c9 writes rcx, which the entry does not declare"
 * pvl_diag_format_insn shows the instruction as (insn_text) instead of its
 * bytes (the pvlink command passes a disassembly).  Return the length they
 * wanted to write.
 */
size_t pvl_diag_format(const struct pvl_diag *d, char *buf, size_t n);
size_t pvl_diag_format_insn(const struct pvl_diag *d, const char *insn_text,
                            char *buf, size_t n);

/* ------------------------------------------------------------------------
 * Interfaces and environments
 */

/* One operation of an interface catalog. */
struct pvl_op_info {
    const char *name;
    uint8_t room;          /* default room of its sites */
    uint8_t props;         /* PVL_OP_RESULT, PVL_OP_NATIVE_CALL */
    uint8_t native_len;    /* bytes in (native); 0 for a native call */
    uint64_t clobbers;     /* what its sites allow any action to change */
    const uint8_t *native; /* expected native code, or NULL if unknown */
    uint8_t room_since;    /* the minor version that gave (room) its value:
                              older binaries' sites have their version's */
};

/* An interface a program is compiled against. */
struct pvl_iface {
    const char *name;
    uint16_t major, minor;
    uint16_t nops;
    const struct pvl_op_info *ops;
};

/* The kernel catalog, "pvlink.kernel" 1.1 (see <pvlink/kernel.h>). */
extern const struct pvl_iface pvl_kernel_iface;

/* Look an operation up by name; returns its number or -1. */
int pvl_iface_find(const struct pvl_iface *iface, const char *name);

/* What an environment offers for one operation. */
struct pvl_impl {
    uint8_t action;          /* enum pvl_action */
    uint8_t tmpl_len;        /* 0: no template */
    uint8_t flags;           /* PVL_ENT_REQUIRED */
    uint64_t tmpl_clobbers;  /* declared, and checked against the bytes */
    uint64_t call_clobbers;
    const uint8_t *tmpl;     /* template bytes */
    uint64_t call;           /* run-time address of the call entry, 0: none */
};

/*
 * An environment: an interface name and version, one pvl_impl per
 * operation (operations at or past nimpl stay native), and the run-time
 * address of its probe (0: none), which the linker never calls.
 */
struct pvl_env {
    const char *name;
    uint16_t major, minor;
    uint32_t nimpl;
    const struct pvl_impl *impl;
    uint64_t probe;
};

/*
 * The (entry_at) callback of struct pvl_callcode for code in a ROM image,
 * as pvl_rom_load checks it, for whoever lists or checks that code again
 * (the pvlink command).  (ctx) is a struct pvl_rom_code: the image's
 * header (the table follows it in the image, already validated), the
 * interface the image is read for, and the offset of the code being
 * checked.  Returns 1 with (*declared) when (off), from that code, is the
 * start of the call entry of an operation the interface knows, or for
 * PVL_OFF_ENV when the image declares gates; 0 otherwise.
 */
struct pvl_rom_code {
    const struct pvl_rom_header *h;
    const struct pvl_iface *iface;
    uint64_t base;
};
int pvl_rom_entry_at(void *ctx, int64_t off, uint64_t *declared);

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
 * become load_addr + call_off, the probe load_addr + probe_off.  Returns
 * PVL_OK, or the first problem with (diag) naming the field; (env) and
 * (impl) are then unspecified.
 * Refuses: short image, bad magic, another format major (naming both), size
 * beyond (len), bad checksum (stored and computed), non-zero reserved fields
 * or unknown flags (in images of this minor or older; a 2.0 image has no
 * flags, and gate_writes is reserved without PVL_ROM_GATES), a gate
 * declaration without STACK or beyond PVL_CLB_C, other interface or
 * major version, a table out of bounds or of more than PVL_ROM_TABLE_MAX
 * entries, unknown operation (unless the ROM is for a newer minor version,
 * whose extra operations are ignored), entries not sorted by operation (or
 * duplicated), and any entry or probe pvl_impl_check() refuses, or whose
 * code overlaps the header, the table or a template, or starts inside an
 * instruction of another call entry.
 */
pvl_result pvl_rom_load(const void *img, size_t len, uint64_t load_addr,
                        const struct pvl_iface *iface, struct pvl_impl *impl,
                        struct pvl_env *env, struct pvl_diag *diag);

/* ------------------------------------------------------------------------
 * Checking code: what a replacement writes, derived from its bytes.
 */

/*
 * Check that (len) bytes at (t) are safe to copy into a site and write
 * nothing outside (declared): every instruction decodes and is modelled
 * (VEX and EVEX ones are not: PVL_E_INSN_VEX, PVL_E_INSN_BMI,
 * PVL_E_INSN_EVEX), relative branches land on an instruction start inside
 * the template (or at its end), there is no return-like instruction,
 * indirect, far or system transfer, trap or RIP-relative operand; RSP is
 * written only by pushes and pops that balance, in a template without
 * branches (reading it is allowed), and nothing is written to the frame of
 * the code around the site (PVL_E_TMPL_STACK).  What the
 * template writes is the union over its instructions (in *writes, if not
 * NULL).  Refuses a template longer than PVL_ROOM_MAX.  (diag) names the
 * instruction (PVL_DIAG_INSN).
 */
pvl_result pvl_tmpl_check(const uint8_t *t, size_t len, uint64_t declared,
                          uint64_t *writes, struct pvl_diag *diag);

/*
 * Code reached by a call: a ROM's call entry or probe (len bytes, all of
 * them instructions; (open) 0), or a provider's function ((open)
 * PVL_CODE_OPEN: its extent is unknown, (len) bytes from (code) may be
 * read; only the code reachable from its start is examined).  Open code
 * may also say, with PVL_CODE_BEFORE, that the (before) bytes below
 * (code) are readable code too: relative jumps may go there (compilers
 * move a function's unlikely paths, its ".cold" part, below it), and
 * what they reach is checked like the rest.  At most PVL_CALL_MAX bytes
 * are read on either side of (code).  (entry_at), if not NULL,
 * says whether code offset (off) (relative to (code), may be negative)
 * is the start of a call entry, and what that one declares: branches and
 * calls may go there.  For code that is not open it is also asked, with
 * (off) PVL_OFF_ENV, where indirect calls and jumps (through RIP-relative
 * memory) go: 1 and (*declared) if they enter the environment's gates,
 * which write that much (a ROM's PVL_ROM_GATES declaration); 0 if they go
 * to C functions (PVL_CLB_C).
 *
 * (before) was added last: it is read only when (open) says
 * PVL_CODE_BEFORE, so a caller built without it, whose structure ends at
 * (field), is read as before; an initializer without it leaves it 0.
 */
#define PVL_OFF_ENV INT64_MIN
#define PVL_CODE_OPEN 1   /* a function in a process: extent unknown */
#define PVL_CODE_BEFORE 2 /* with PVL_CODE_OPEN: (before) is set */
struct pvl_callcode {
    const uint8_t *code;
    size_t len;
    int open; /* 0, or PVL_CODE_OPEN, with PVL_CODE_BEFORE */
    int (*entry_at)(void *ctx, int64_t off, uint64_t *declared);
    void *ctx;
    const char *field; /* in diagnostics; NULL: "entry.call" */
    size_t before;     /* open code: readable code bytes below (code) */
};

/*
 * Check code reached by a call against (declared), following its control
 * flow: every instruction decodes and is modelled; no return-like
 * instruction but ret; relative branches land on instruction starts inside
 * it or at a call entry's start; every path ends in ret or a tail jump,
 * with RSP back where it was (in open code, a jump out of the code it may
 * read is a tail jump, and with RSP moved PVL_E_CALL_OUTSIDE); a path
 * that calls C code and is then followed by padding or a trap ends
 * there (the callee does not return); indirect calls and jumps only through a
 * RIP-relative pointer (any indirect call and a RIP-relative jump, in open
 * code; another indirect jump, such as a jump table's, is PVL_E_CALL_IJMP),
 * whose target counts as a C function (PVL_CLB_C), or, when
 * (entry_at) says so for PVL_OFF_ENV, as a gate writing what it declares
 * and returning; calls and jumps to another entry count what that entry
 * declares.  What it writes is the
 * union over the reachable instructions, the entries it calls and STACK,
 * less the general registers and flags that hold their entry value again
 * at every exit (saved and restored through the stack); it must lie in
 * (declared).  (*writes), if not NULL, gets it.
 */
pvl_result pvl_call_check(const struct pvl_callcode *c, uint64_t declared,
                          uint64_t *writes, struct pvl_diag *diag);

/*
 * The one check of an implementation of operation (op): a ROM entry or a
 * provider's entry.  The action is known and has what it needs (a
 * template for inline, a call for call), NOPs are not chosen for an
 * operation with a result, a required entry does not require native, the
 * declared masks name no reserved bit or RSP and lie in what the
 * operation's sites allow, the template passes pvl_tmpl_check(), and the
 * call (m->call != 0, its code in (call)) passes pvl_call_check().  (Room
 * is a property of each site: a template longer than a site's room is
 * refused for that site, when linking.)  Fields are named "entry.<field>".
 */
pvl_result pvl_impl_check(const struct pvl_op_info *op, const struct pvl_impl *m,
                          const struct pvl_callcode *call, struct pvl_diag *diag);

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

/* Write the one-byte breakpoint (int3) at (p). */
#define PVL_INT3_LEN 1
void pvl_emit_int3(uint8_t *p);

/* Write `jmp *0(%rip)` followed by the 8-byte (target) at (p): an absolute
 * jump of PVL_JMP_ABS_LEN bytes that reaches any address from anywhere. */
#define PVL_JMP_ABS_LEN 14
void pvl_emit_jmp_abs(uint8_t *p, uint64_t target);

/* If the (n) bytes at (p), running at address (at), start with the call
 * form pvl_emit_call writes, store its target in (*target) and return 1;
 * otherwise return 0 and leave (*target) alone. */
int pvl_call_target(const uint8_t *p, size_t n, uint64_t at, uint64_t *target);

/*
 * Where a thread may stand inside the (n <= 64) bytes of code at (p),
 * decoding from byte 0: bit k of (*starts) is set when an instruction
 * starts at byte k; bit k of (*idle) when bytes [0, k) are only the NOP
 * forms pvl_emit_nops writes (bit 0 always).  Returns 0, or -1 when some
 * instruction does not decode (or n > 64): then every bit below n is set
 * in (*starts) and only bit 0 in (*idle), the cautious answer.
 */
int pvl_code_map(const uint8_t *p, size_t n, uint64_t *starts, uint64_t *idle);

/* ------------------------------------------------------------------------
 * Linking
 */

/* One site, as the planner and the policy callback see it. */
struct pvl_site_info {
    uint32_t index;     /* position in the table */
    uint16_t op;
    uint8_t room;
    uint8_t flags;
    uint64_t clobbers;
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
    uint8_t state;  /* E_CLOBBER: a state bit the site does not allow */
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

/* An address range [lo, hi) in this address space. */
struct pvl_range {
    uintptr_t lo, hi;
};

/*
 * A link request.  Sites are (nsites) records at (sites); every address
 * they refer to must lie in [lo, hi), the object as mapped here, and every
 * room inside one of the (nexec) ranges at (exec): the object's executable
 * code (a room anywhere else, in data or straddling the end of the text,
 * is refused).  Run-time addresses are local addresses plus (bias) (0
 * when linking the running image).  (env) NULL means unlink: every site of
 * (iface) back to its original bytes.
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
    const struct pvl_range *exec;
    size_t nexec;
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
 * The one check of site record (i) of (l): room, bounds of the site, its
 * copy and its descriptor, the room inside the executable ranges, the
 * descriptor's magic and format, flags, reserved field, clobber mask,
 * native call target, interface major version and operation.  Fills (si)
 * (whenever the record can be read) and (diag) ("site.<field>", index i).
 * Returns PVL_OK, PVL_E_ENV for a sound record of another interface, or
 * the problem.
 */
pvl_result pvl_site_check(const struct pvl_link *l, size_t i,
                          struct pvl_site_info *si, struct pvl_diag *diag);

/*
 * The one check of a table as a whole (every record must pass
 * pvl_site_check first): no two rooms overlap, and no room covers a site
 * record, an original copy or a descriptor.  Returns PVL_OK,
 * PVL_E_SITE_OVERLAP or PVL_E_SITE_ALIAS with (diag) naming a site.
 */
pvl_result pvl_table_check(const struct pvl_link *l, struct pvl_diag *diag);

/*
 * Plan one site: the action and the (si->room) bytes it would get.
 * Returns PVL_OK with (*action, out) set, a record error from
 * pvl_site_check, or the reason the site cannot be linked; (si) is filled
 * whenever the record itself can be read.  Writes nothing to the site.
 * Returns PVL_E_ENV for a site of another interface (not an error for
 * pvl_link, which leaves such sites alone).  (*state), if (state) is not
 * NULL, gets a state bit the site does not allow for PVL_E_CLOBBER, and
 * PVL_NOSTATE otherwise.
 */
pvl_result pvl_plan_site(const struct pvl_link *l, size_t i,
                         struct pvl_site_info *si, int *action,
                         uint8_t out[PVL_ROOM_MAX], uint8_t *state);

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
