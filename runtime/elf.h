/*
 * The one reader of untrusted ELF files in pvlink's hosted programs
 * (prefix pvelf_): the pvlink command (tools/elf.c), the monitors' kernel
 * loader (monitor/elf.c, in pvlink-run and pvlink-spt) and the runtime's
 * look at a provider before dlopen (runtime/provider.c).  It lives with
 * the runtime, the hosted library, and is built into libpvlink without
 * being exported (mk/libpvlink.map); the commands compile the same file.
 *
 * pvelf_open checks, once for every caller: identification (magic,
 * class, data encoding, version), machine (x86-64), the ELF types the
 * caller accepts, the header size, the section header table (offset,
 * entry size, extended numbering, bounds), every section's bytes, the
 * section name table and every section's name, the program header table
 * (entry size, PN_XNUM, bounds), every segment's bytes, a loadable
 * segment's sizes and address overflow, at least one loadable segment,
 * and that no two loadable segments overlap.  Structures are copied out
 * of the file with memcpy (the file decides their alignment); every
 * offset is checked without overflow.  The first problem is reported in
 * (msg), naming the part and the values; the caller puts its own context
 * before it ("pvlink sites: FILE: ", "provider \"x.so\": ", ...).
 *
 * What a caller does with the file (loading it, its image, its symbols,
 * its notes' meaning) is the caller's.
 */
#ifndef PVELF_H
#define PVELF_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* The ELF type (e_type) (t) in a pvelf_want's set of accepted types. */
#define PVELF_TYPE(t) (1u << (t))

/* What the caller accepts; the file must be ELF64, little-endian, x86-64. */
struct pvelf_want {
    unsigned types; /* PVELF_TYPE(ET_EXEC) | PVELF_TYPE(ET_DYN), ... */
    int physical;   /* loadable segments are placed at p_paddr (a kernel):
                     * overflow and overlap are judged there, not at p_vaddr */
};

/* Results of pvelf_open and pvelf_notes. */
enum {
    PVELF_OK = 0,
    PVELF_BAD = -1,   /* the file is malformed; (msg) says how */
    PVELF_NOMEM = -2, /* out of memory; (msg) says so */
};

#define PVELF_MSG_MAX 256

/* At most this many notes are walked in all (pvelf_notes), so that
 * PT_NOTE segments covering the file many times cost little. */
#define PVELF_NOTES_MAX 4096

/* A file that pvelf_open accepted.  The tables are copies (aligned). */
struct pvelf {
    const uint8_t *file;
    size_t size;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;   /* the program headers, phnum of them (PN_XNUM resolved) */
    size_t phnum;
    Elf64_Shdr *sh;   /* the section headers; NULL and shnum 0 when none */
    size_t shnum;     /* extended numbering resolved */
    size_t shstrndx;  /* the section name table, when shnum > 0 */
    char msg[PVELF_MSG_MAX]; /* the first problem found */
};

/* [off, off + len) lies inside [0, size), without overflow. */
static inline int pvelf_within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/*
 * Check (size) bytes at (file) as an ELF file the caller wants, and fill
 * (e).  (file) must outlive (e); it is only read.  Returns PVELF_OK, or
 * PVELF_BAD / PVELF_NOMEM with (e->msg) and nothing to close.
 */
int pvelf_open(struct pvelf *e, const void *file, size_t size,
               const struct pvelf_want *want);
/* Free what pvelf_open allocated; (e) may be zeroed or closed already. */
void pvelf_close(struct pvelf *e);

/* The name of section (i) < shnum, checked by pvelf_open ("" for 0). */
const char *pvelf_section_name(const struct pvelf *e, size_t i);

/*
 * The NUL-terminated string at (off) of section (strtab), or NULL when
 * (strtab) is not a string table section or no such string lies in it.
 */
const char *pvelf_string(const struct pvelf *e, size_t strtab, uint64_t off);

/* One note, as pvelf_notes finds it.  (name) and (desc) point into the
 * file, unaligned; (name) is not necessarily NUL-terminated. */
struct pvelf_note {
    size_t seg;    /* the PT_NOTE segment it was found through */
    uint64_t off;  /* file offset of its header */
    uint32_t type;
    uint32_t namesz, descsz;
    const uint8_t *name, *desc;
};

/* Return 0 to go on, a positive value to stop the walk with it. */
typedef int (*pvelf_note_fn)(void *ctx, const struct pvelf_note *n);

/*
 * Call (fn) for every note of every PT_NOTE segment, in order.  Names and
 * descriptors are padded to 4 bytes (as Xen's and Linux's PVH loaders
 * read them).  A note that two PT_NOTE segments both cover is seen
 * once through each.  Returns PVELF_OK, the positive value of (fn),
 * or PVELF_BAD with (e->msg) when a note runs past its segment or there
 * are more than PVELF_NOTES_MAX.
 */
int pvelf_notes(struct pvelf *e, pvelf_note_fn fn, void *ctx);

#pragma GCC visibility pop

#endif /* PVELF_H */
