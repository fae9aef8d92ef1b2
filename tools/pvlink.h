/*
 * Internals of the pvlink command (tools/): prefix pvt_.
 *
 *   util.c     errors, memory, files, numbers, site flag names
 *   elf.c      an ELF file's image, code and symbols, once the
 *              project's ELF reader (runtime/elf.h) has checked it
 *   sites.c    a binary's site table, record by record, and its interfaces
 *   catalog.c  interface catalogs pvlink knows, and synthesized ones
 *   dis.c      disassembly with Zydis (AT&T syntax, NOP runs compacted)
 *   table.c    aligned text columns;  json.c  a small JSON writer
 *   check.c    the consistency checks behind `pvlink check`
 *   cmd_*.c    the subcommands;  main.c  the subcommand table and help
 *
 * Nothing here trusts a file: an ELF file or ROM image that does not hold
 * together is refused with a message naming the part that is wrong.
 */
#ifndef PVT_PVLINK_H
#define PVT_PVLINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pvlink/link.h>

/* Exit statuses (documented in --help and pvlink(1)). */
enum {
    PVT_EXIT_OK = 0,       /* done; nothing wrong */
    PVT_EXIT_PROBLEMS = 1, /* check found problems; plan: the link is refused */
    PVT_EXIT_USAGE = 2,    /* bad command line */
    PVT_EXIT_INPUT = 3,    /* an input is unreadable or malformed */
    PVT_EXIT_INTERNAL = 4, /* out of memory, or writing the output failed */
};

/* ------------------------------------------------------------------------
 * util.c
 */

/* An error message, filled by the function that failed. */
struct pvt_err {
    char msg[320];
};

/* Format (fmt) into (e) and return -1. */
int pvt_fail(struct pvt_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation that ends the program with status 4 on failure; n*size is
 * checked for overflow.  pvt_out_of_memory is that end. */
_Noreturn void pvt_out_of_memory(void);
void *pvt_xcalloc(size_t n, size_t size);
void *pvt_xreallocarray(void *p, size_t n, size_t size);
char *pvt_xstrdup(const char *s);
char *pvt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file (at most PVT_FILE_MAX bytes); refuses directories. */
#define PVT_FILE_MAX ((size_t)1 << 30)
int pvt_read_file(const char *path, uint8_t **data, size_t *size,
                  struct pvt_err *err);

/* Parse an unsigned 64-bit number (decimal, 0x hex, 0 octal), the whole
 * string, no sign, no overflow.  Returns 0 or -1. */
int pvt_parse_u64(const char *s, uint64_t *v);

/* Site flags ("must-patch,native-call"; "-"; unknown bits as 0x..). */
void pvt_site_flags(char *buf, size_t n, unsigned flags);
/* pvl_action_name, or "action7" for an unknown action. */
const char *pvt_action_name(int action);
/* Bytes as "0f 31 48" (truncated with "..." if buf is too small). */
void pvt_hex(char *buf, size_t n, const uint8_t *p, size_t len);
/* A printable copy of at most (max) bytes of (s): other bytes as \xNN. */
void pvt_printable(char *buf, size_t n, const char *s, size_t max);

/* Flush (f) and report a write error; returns 0 or PVT_EXIT_INTERNAL. */
int pvt_finish_output(FILE *f, const char *cmd);

/* ------------------------------------------------------------------------
 * elf.c
 */

/* A PT_LOAD segment. */
struct pvt_seg {
    uint64_t vaddr, memsz, off, filesz;
    uint32_t flags; /* PF_X, PF_W, PF_R */
};

/* A section header, its name checked to lie in the name table. */
struct pvt_sec {
    const char *name;
    uint32_t type, link;
    uint64_t flags, addr, off, size, entsize;
};

/* A sized symbol (function or object), for naming addresses. */
struct pvt_sym {
    uint64_t value, size;
    const char *name;
};

/*
 * An ELF64 x86-64 executable, shared object or kernel, checked, with its
 * loadable segments copied into (image): the byte at virtual address v is
 * image[v - lo].  Addresses are the file's (load base 0 for ET_DYN).
 */
struct pvt_elf {
    const uint8_t *file;
    size_t size;
    uint16_t type; /* ET_EXEC or ET_DYN */
    struct pvt_seg *segs;
    size_t nsegs;
    struct pvt_sec *secs;
    size_t nsecs;
    uint64_t lo, hi; /* lo: lowest segment, page-aligned down; hi: end */
    uint8_t *image;
    struct pvl_range *exec; /* executable code in (image): where rooms may be */
    size_t nexec;
    struct pvt_sym *syms; /* sorted by value */
    size_t nsyms;
    const char *symsrc; /* ".symtab", ".dynsym" or NULL */
};

/* Largest span of loadable segments pvlink reads. */
#define PVT_IMAGE_MAX ((uint64_t)256 << 20)

/* Check (file, size) and fill (e); (file) must outlive (e). */
int pvt_elf_parse(struct pvt_elf *e, const uint8_t *file, size_t size,
                  struct pvt_err *err);
void pvt_elf_free(struct pvt_elf *e);

const char *pvt_elf_type_name(const struct pvt_elf *e);
/* The first section named (name), or NULL; (*count) gets how many. */
const struct pvt_sec *pvt_elf_section(const struct pvt_elf *e,
                                      const char *name, size_t *count);
/* The segment whose file-backed part holds [vaddr, vaddr + n), or NULL. */
const struct pvt_seg *pvt_elf_segment(const struct pvt_elf *e, uint64_t vaddr,
                                      uint64_t n);
/* Those bytes in the image, or NULL when they are not file-backed. */
const uint8_t *pvt_elf_bytes(const struct pvt_elf *e, uint64_t vaddr,
                             uint64_t n);
/* "name", "name+0x1c" or "?" for the symbol holding (addr). */
void pvt_elf_symbolize(const struct pvt_elf *e, uint64_t addr, char *buf,
                       size_t n);

/* ------------------------------------------------------------------------
 * catalog.c
 */

/* pvlink's own catalog of the interface called (name), or NULL.  This is
 * the hook for naming the operations of more interfaces. */
const struct pvl_iface *pvt_catalog_find(const char *name);

/* The name of operation (op): the catalog's, or "op<N>" in (buf). */
const char *pvt_op_name(const struct pvl_iface *cat, unsigned op,
                        char buf[16]);

/*
 * A catalog made up for an interface pvlink has no catalog of: (nops)
 * operations named op<N>, any room, any clobbers, no known result or
 * native code.  Enough to validate a ROM's structure and plan sites;
 * nothing can tell whether NOPs are wrong for one of its operations.
 */
struct pvt_synth {
    char name[PVL_IFACE_NAME_MAX];
    struct pvl_iface iface;
    struct pvl_op_info *ops;
    char (*names)[16];
};
void pvt_synth_init(struct pvt_synth *s, const char *name, uint16_t major,
                    uint16_t minor, uint32_t nops);
void pvt_synth_free(struct pvt_synth *s);

/* ------------------------------------------------------------------------
 * rom.c: a ROM image checked with pvl_rom_load against the catalog its
 * header names: pvlink's own, or one synthesized (from the binary's
 * descriptor of that interface when there is one, else from the header).
 */

struct pvt_rom {
    const uint8_t *img;
    size_t len;
    int has_header; /* len covers a header (h is a copy of it) */
    struct pvl_rom_header h;
    char iface_name[4 * PVL_IFACE_NAME_MAX]; /* printable */
    const struct pvl_iface *iface;           /* what it was checked against */
    int synthesized;                         /* 1: from the header, 2: binary */
    struct pvt_synth synth;
    struct pvl_impl *impl;
    struct pvl_env env;
    struct pvl_diag diag;
    pvl_result result;
};

struct pvt_iface;
/* Check (img, len), to run at (addr).  (bin) is the binary's descriptor
 * of the ROM's interface, if it has one.  Returns r->result. */
pvl_result pvt_rom_load(struct pvt_rom *r, const uint8_t *img, size_t len,
                        uint64_t addr, const struct pvt_iface *bin);
void pvt_rom_free(struct pvt_rom *r);
/* "pvlink's catalog (33 operations)" or how it was synthesized. */
void pvt_rom_describe_catalog(const struct pvt_rom *r, char *buf, size_t n);
/* The interface name in the ROM header, when it is NUL-terminated. */
const char *pvt_rom_header_iface(const uint8_t *img, size_t len);

/* ------------------------------------------------------------------------
 * sites.c
 */

/* An interface descriptor found in the binary (duplicates merged). */
struct pvt_iface {
    char name[PVL_IFACE_NAME_MAX];
    uint16_t major, minor;
    uint32_t nops;
    uint32_t nsites;
    const struct pvl_iface *catalog; /* pvlink's catalog of that name */
};

/* One record of pvlink_sites; addresses are virtual addresses. */
struct pvt_site {
    uint32_t index;
    uint64_t rec, addr, orig, target, desc;
    uint64_t clobbers;
    uint16_t op;
    uint8_t room, flags;
    const struct pvt_iface *iface; /* NULL when the record is invalid */
    const uint8_t *bytes;          /* room bytes at addr (valid records) */
    const uint8_t *orig_bytes;     /* room bytes at orig (valid records) */
    char *err;                     /* why the record is invalid, or NULL */
};

struct pvt_table {
    const struct pvt_sec *sec; /* NULL: the file has no pvlink_sites */
    struct pvt_site *sites;
    size_t nsites, ninvalid;
    struct pvt_iface *ifaces;
    size_t nifaces;
};

/*
 * Read the site table of (e).  Fails (-1) only when the table itself
 * cannot be read (section out of place, size not a multiple of the
 * record, ...); a record that does not validate gets (err), the linker's
 * words from pvl_site_check, and the rest go on.
 */
int pvt_table_read(struct pvt_table *t, const struct pvt_elf *e,
                   struct pvt_err *err);
void pvt_table_free(struct pvt_table *t);

/* A link request over (e)'s image for the records of (t) against
 * (iface): what the linker itself sees (no environment, no flags). */
void pvt_link_init(struct pvl_link *l, const struct pvt_elf *e,
                   const struct pvt_table *t, const struct pvl_iface *iface);

/* Operation name of a valid site. */
const char *pvt_site_op_name(const struct pvt_site *s, char buf[16]);

/* Report each invalid record as "pvlink CMD: FILE: pvlink_sites[i]: ..." */
void pvt_table_report_invalid(FILE *f, const struct pvt_table *t,
                              const char *cmd, const char *file);

/* The usual opening of the ELF subcommands: read, parse, read the table.
 * Returns 0, or an exit status after printing the error. */
struct pvt_bin {
    uint8_t *data;
    size_t size;
    struct pvt_elf elf;
    struct pvt_table tab;
};
int pvt_bin_open(struct pvt_bin *b, const char *path, const char *cmd);
int pvt_bin_from_memory(struct pvt_bin *b, const uint8_t *data, size_t size,
                        struct pvt_err *err);
void pvt_bin_close(struct pvt_bin *b);

/* ------------------------------------------------------------------------
 * dis.c
 */

/* Names an address for disassembly: write it to buf and return 1, or 0. */
typedef int (*pvt_symfn)(void *ctx, uint64_t addr, char *buf, size_t n);

#define PVT_DIS_MAX 1024
/*
 * Disassemble (len) bytes meant to run at (addr), AT&T syntax, "; "
 * between instructions; a run of NOPs shows as ".nops N" (N bytes), bytes
 * that do not decode as ".byte 0x.., ...".  Branch targets are named by
 * (sym) when it knows them.
 */
void pvt_dis(char *buf, size_t n, const uint8_t *code, size_t len,
             uint64_t addr, pvt_symfn sym, void *ctx);
/* One instruction per line: "<indent>+<offset> <text>" (offsets from the
 * start of the code; (addr) is where it runs, for branch targets). */
void pvt_dis_lines(FILE *out, const char *indent, const uint8_t *code, size_t len,
                   uint64_t addr, pvt_symfn sym, void *ctx);
/* The linker's diagnostic (pvl_diag_format), with an instruction it names
 * shown as AT&T text (addresses are offsets in the code) instead of bytes
 * when Zydis decodes it. */
void pvt_diag_text(char *buf, size_t n, const struct pvl_diag *d);
/* Length of the instruction at (code), 0 if it does not decode within
 * (len); (*is_nop) tells whether it is a NOP. */
size_t pvt_dis_length(const uint8_t *code, size_t len, int *is_nop);
/* 1 when (len) bytes are whole NOP instructions (0 bytes included). */
int pvt_dis_all_nops(const uint8_t *code, size_t len);

/* ------------------------------------------------------------------------
 * table.c: text in aligned columns
 */

struct pvt_tab {
    size_t ncols;
    unsigned right; /* bit i: column i is right-aligned */
    char **cells;   /* row-major, ncols per row; row 0 is the heading */
    size_t nrows, cap;
    size_t filled;  /* cells in the last row */
};
void pvt_tab_init(struct pvt_tab *t, unsigned right, const char *const *head,
                  size_t ncols);
void pvt_tab_cell(struct pvt_tab *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print with (indent) spaces before each row, two between columns, no
 * trailing blanks (nothing at all when there is no row under the
 * heading); frees the table. */
void pvt_tab_print(struct pvt_tab *t, FILE *f, int indent);

/* ------------------------------------------------------------------------
 * json.c: one pretty-printed document
 */

struct pvt_json {
    FILE *f;
    int depth;
    int need_comma;
};
void pvt_json_open(struct pvt_json *j, FILE *f);
/* Containers; (key) NULL inside an array. */
void pvt_json_obj(struct pvt_json *j, const char *key);
void pvt_json_arr(struct pvt_json *j, const char *key);
void pvt_json_end(struct pvt_json *j, char close);
void pvt_json_str(struct pvt_json *j, const char *key, const char *s);
void pvt_json_num(struct pvt_json *j, const char *key, uint64_t v);
void pvt_json_bool(struct pvt_json *j, const char *key, int v);
void pvt_json_null(struct pvt_json *j, const char *key);
void pvt_json_hex(struct pvt_json *j, const char *key, uint64_t v);
void pvt_json_close(struct pvt_json *j);

/* ------------------------------------------------------------------------
 * check.c
 */

enum pvt_level { PVT_WARN, PVT_ERROR };

struct pvt_problem {
    long site; /* index in the table, or -1 for the table as a whole */
    enum pvt_level level;
    char *msg;
};

struct pvt_problems {
    struct pvt_problem *p;
    size_t n, cap, nerrors, nwarnings;
};

/* Run every consistency check on (t) of (e). */
void pvt_check_run(struct pvt_problems *out, const struct pvt_elf *e,
                   const struct pvt_table *t);
void pvt_problems_free(struct pvt_problems *p);

/* ------------------------------------------------------------------------
 * Subcommands: pvt_cmd_* parse the command line, open the files and call
 * pvt_show_*, which print to (out) and return the exit status.  The fuzz
 * target calls pvt_show_* directly.
 */

int pvt_cmd_sites(int argc, char **argv);
int pvt_cmd_rom(int argc, char **argv);
int pvt_cmd_plan(int argc, char **argv);
int pvt_cmd_check(int argc, char **argv);

int pvt_show_sites(FILE *out, FILE *errf, const char *name,
                   const struct pvt_bin *b, int json);
int pvt_show_rom(FILE *out, FILE *errf, const char *name, const uint8_t *img,
                 size_t len);
/* (rom_addr) NULL: the default address for the binary. */
int pvt_show_plan(FILE *out, FILE *errf, const char *elf_name,
                  const struct pvt_bin *b, const char *rom_name,
                  const uint8_t *img, size_t len, const uint64_t *rom_addr,
                  int json);
int pvt_show_check(FILE *out, const char *name, const struct pvt_bin *b);

/* ------------------------------------------------------------------------
 * Command-line options, table-driven (args.c).
 */

struct pvt_opt {
    const char *name;  /* "--json" */
    const char **arg;  /* receives the argument, or NULL for a flag */
    int *flag;         /* set to 1 for a flag */
};

/*
 * Parse argv[1..] against (opts): "--name ARG", "--name=ARG", flags,
 * "--" ending the options.  Positional arguments go to (pos); there must be
 * exactly (npos) of them.  Returns 0, or PVT_EXIT_USAGE after printing why.
 */
int pvt_parse_args(const char *cmd, int argc, char **argv,
                   const struct pvt_opt *opts, const char **pos, int npos,
                   const char *what);

/* Print "pvlink CMD: <fmt with arg>" and the --help hint; (cmd) NULL for
 * the command itself.  Returns PVT_EXIT_USAGE. */
int pvt_usage_error(const char *cmd, const char *fmt, const char *arg);

#endif /* PVT_PVLINK_H */
