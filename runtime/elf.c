/*
 * The one reader of untrusted ELF files (elf.h).  Every check is made
 * here once, in the order a reader meets the parts: identification, the
 * header, the section header table and its sections and names, the
 * program header table (whose count may be in section 0) and its
 * segments, then the loadable segments together.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"

/* Record a problem in (e->msg); returns PVELF_BAD. */
static int bad(struct pvelf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct pvelf *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return PVELF_BAD;
}

/* (what), (len) bytes at (off), does not lie in the file: PVELF_BAD. */
static int truncated(struct pvelf *e, const char *what, uint64_t off, uint64_t len)
{
    if (off + len < off)
        return bad(e, "truncated: %s (offset 0x%llx, 0x%llx bytes) ends past byte 2^64, "
                   "the file has %zu", what, (unsigned long long)off,
                   (unsigned long long)len, e->size);
    return bad(e, "truncated: %s (offset 0x%llx, 0x%llx bytes) ends at byte %llu, the file "
               "has %zu", what, (unsigned long long)off, (unsigned long long)len,
               (unsigned long long)(off + len), e->size);
}

/* A table of (count) entries of (entsize) bytes at (off) lies in the file:
 * PVELF_OK, else PVELF_BAD naming it (name) and its size. */
static int check_table(struct pvelf *e, const char *name, uint64_t off, uint64_t count,
                       uint64_t entsize)
{
    char what[96];

    if (off <= e->size && count <= (e->size - off) / entsize)
        return PVELF_OK;
    snprintf(what, sizeof what, "%s of %llu entries", name, (unsigned long long)count);
    if (count > UINT64_MAX / entsize)
        return bad(e, "truncated: %s (offset 0x%llx) ends past byte 2^64, the file has %zu",
                   what, (unsigned long long)off, e->size);
    return truncated(e, what, off, count * entsize);
}

/* An aligned copy of a table check_table accepted, or NULL (out of memory,
 * said in e->msg). */
static void *copy_table(struct pvelf *e, uint64_t off, size_t count, size_t entsize)
{
    void *t = malloc(count * entsize);

    if (!t)
        bad(e, "out of memory (a table of %zu entries)", count);
    else
        memcpy(t, e->file + off, count * entsize);
    return t;
}

/* ------------------------------------------------------------------------
 * Identification and the header: what kind of file it is.
 */

static const struct {
    unsigned type;
    const char *article, *name;
} kinds[] = {{ET_REL, "a", "relocatable object"}, {ET_EXEC, "an", "executable"},
             {ET_DYN, "a", "shared object"}, {ET_CORE, "a", "core file"}};

/* A few machines a file may have been built for by mistake. */
static const struct {
    unsigned machine;
    const char *name;
} machines[] = {{EM_386, "i386"}, {EM_ARM, "32-bit Arm"}, {EM_AARCH64, "AArch64"},
                {EM_PPC64, "PowerPC64"}, {EM_S390, "s390"}, {EM_RISCV, "RISC-V"},
                {EM_MIPS, "MIPS"}, {EM_SPARCV9, "SPARC64"}, {EM_LOONGARCH, "LoongArch"}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *machine_name(unsigned m)
{
    for (size_t i = 0; i < COUNT(machines); i++)
        if (machines[i].machine == m)
            return machines[i].name;
    return "unknown";
}

/* "a 64-bit x86-64 executable or shared object": what (want) accepts. */
static void expected(char *buf, size_t n, const struct pvelf_want *want)
{
    size_t used = (size_t)snprintf(buf, n, "a 64-bit x86-64");
    const char *sep = " ";

    for (size_t i = 0; i < COUNT(kinds) && used < n; i++)
        if (want->types & PVELF_TYPE(kinds[i].type)) {
            used += (size_t)snprintf(buf + used, n - used, "%s%s", sep, kinds[i].name);
            sep = " or ";
        }
}

/* The file is not of a kind (want) accepts: what it is, and what is. */
static int wrong_kind(struct pvelf *e, const struct pvelf_want *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int wrong_kind(struct pvelf *e, const struct pvelf_want *want, const char *fmt, ...)
{
    char found[128], exp[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(found, sizeof found, fmt, ap);
    va_end(ap);
    expected(exp, sizeof exp, want);
    return bad(e, "%s; expected %s", found, exp);
}

static int check_ident(struct pvelf *e, const struct pvelf_want *want)
{
    const uint8_t *id = e->file;

    if (e->size == 0)
        return bad(e, "not an ELF file (empty)");
    if (e->size < SELFMAG || memcmp(id, ELFMAG, SELFMAG) != 0)
        return bad(e, "not an ELF file (bad magic)");
    if (e->size < sizeof(Elf64_Ehdr))
        return bad(e, "truncated: the ELF header ends at byte %zu, the file has %zu",
                   sizeof(Elf64_Ehdr), e->size);
    if (id[EI_CLASS] != ELFCLASS64)
        return wrong_kind(e, want, id[EI_CLASS] == ELFCLASS32 ? "a 32-bit ELF file (class %u)"
                          : "an ELF file of unknown class %u", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return wrong_kind(e, want, id[EI_DATA] == ELFDATA2MSB
                          ? "a big-endian ELF file (data encoding %u)"
                          : "an ELF file of unknown data encoding %u", id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return bad(e, "unsupported ELF version %u (e_ident[EI_VERSION]), expected %u",
                   id[EI_VERSION], EV_CURRENT);
    return PVELF_OK;
}

static int check_type(struct pvelf *e, const struct pvelf_want *want)
{
    unsigned t = e->eh.e_type;

    if (t < 32 && (want->types & PVELF_TYPE(t)))
        return PVELF_OK;
    for (size_t i = 0; i < COUNT(kinds); i++)
        if (kinds[i].type == t)
            return wrong_kind(e, want, "%s %s (ELF type %u)", kinds[i].article,
                              kinds[i].name, t);
    return wrong_kind(e, want, "an ELF file of unknown type %u", t);
}

static int check_header(struct pvelf *e, const struct pvelf_want *want)
{
    const Elf64_Ehdr *h = &e->eh;

    memcpy(&e->eh, e->file, sizeof e->eh);
    if (h->e_machine != EM_X86_64)
        return wrong_kind(e, want, "built for another machine (ELF machine %u, %s)",
                          h->e_machine, machine_name(h->e_machine));
    if (h->e_version != EV_CURRENT)
        return bad(e, "unsupported ELF version %u (e_version), expected %u", h->e_version,
                   EV_CURRENT);
    if (check_type(e, want) != PVELF_OK)
        return PVELF_BAD;
    if (h->e_ehsize < sizeof(Elf64_Ehdr))
        return bad(e, "ELF header size %u, expected %zu", h->e_ehsize, sizeof(Elf64_Ehdr));
    return PVELF_OK;
}

/* ------------------------------------------------------------------------
 * Sections.  With 0xff00 sections or more, the count and the name table's
 * index are in section 0 (extended numbering).
 */

static int section_table(struct pvelf *e)
{
    const Elf64_Ehdr *h = &e->eh;
    uint64_t count = h->e_shnum;
    int r;

    if (h->e_shoff == 0)
        return count ? bad(e, "section header table offset is 0 but there are %llu "
                           "sections", (unsigned long long)count) : PVELF_OK;
    if (h->e_shentsize != sizeof(Elf64_Shdr))
        return bad(e, "section header entry size %u, expected %zu", h->e_shentsize,
                   sizeof(Elf64_Shdr));
    if (count == 0) { /* extended numbering, or no sections */
        Elf64_Shdr s0;
        if (!pvelf_within(h->e_shoff, sizeof s0, e->size))
            return truncated(e, "the section count in section header 0", h->e_shoff,
                             sizeof s0);
        memcpy(&s0, e->file + h->e_shoff, sizeof s0);
        count = s0.sh_size;
    }
    if ((r = check_table(e, "the section header table", h->e_shoff, count,
                         sizeof(Elf64_Shdr))) != PVELF_OK || count == 0)
        return r;
    if (!(e->sh = copy_table(e, h->e_shoff, count, sizeof *e->sh)))
        return PVELF_NOMEM;
    e->shnum = count;
    e->shstrndx = h->e_shstrndx == SHN_XINDEX ? e->sh[0].sh_link : h->e_shstrndx;
    return PVELF_OK;
}

/* Each section's bytes lie in the file (section 0 holds no bytes). */
static int check_sections(struct pvelf *e)
{
    for (size_t i = 1; i < e->shnum; i++) {
        const Elf64_Shdr *s = &e->sh[i];
        char what[48];
        if (s->sh_type == SHT_NOBITS || s->sh_type == SHT_NULL ||
            pvelf_within(s->sh_offset, s->sh_size, e->size))
            continue;
        snprintf(what, sizeof what, "section [%zu]", i);
        return truncated(e, what, s->sh_offset, s->sh_size);
    }
    return PVELF_OK;
}

static int check_names(struct pvelf *e)
{
    size_t st = e->shstrndx;

    if (st == SHN_UNDEF)
        return bad(e, "no section name table (e_shstrndx is 0)");
    if (st >= e->shnum)
        return bad(e, "section name table index %zu out of range (%zu sections)", st,
                   e->shnum);
    if (e->sh[st].sh_type != SHT_STRTAB)
        return bad(e, "section name table [%zu] is not a string table (type %u)", st,
                   e->sh[st].sh_type);
    for (size_t i = 1; i < e->shnum; i++)
        if (!pvelf_string(e, st, e->sh[i].sh_name))
            return bad(e, "section [%zu]: name offset 0x%x outside the section name table",
                       i, e->sh[i].sh_name);
    return PVELF_OK;
}

static int read_sections(struct pvelf *e)
{
    int r;

    if ((r = section_table(e)) != PVELF_OK || e->shnum == 0)
        return r;
    if ((r = check_sections(e)) != PVELF_OK)
        return r;
    return check_names(e);
}

/* ------------------------------------------------------------------------
 * Segments.
 */

static uint64_t seg_addr(const Elf64_Phdr *p, const struct pvelf_want *want)
{
    return want->physical ? p->p_paddr : p->p_vaddr;
}

static const char *addr_kind(const struct pvelf_want *want)
{
    return want->physical ? "physical address" : "address";
}

static int program_table(struct pvelf *e)
{
    const Elf64_Ehdr *h = &e->eh;
    uint64_t count = h->e_phnum;
    int r;

    if (count == PN_XNUM) {
        if (e->shnum == 0)
            return bad(e, "program header count is in section 0 (PN_XNUM), but there is "
                       "no section header table");
        count = e->sh[0].sh_info;
    }
    if (count == 0)
        return PVELF_OK;
    if (h->e_phentsize != sizeof(Elf64_Phdr))
        return bad(e, "program header entry size %u, expected %zu", h->e_phentsize,
                   sizeof(Elf64_Phdr));
    if ((r = check_table(e, "the program header table", h->e_phoff, count,
                         sizeof(Elf64_Phdr))) != PVELF_OK)
        return r;
    if (!(e->ph = copy_table(e, h->e_phoff, count, sizeof *e->ph)))
        return PVELF_NOMEM;
    e->phnum = count;
    return PVELF_OK;
}

/* A segment's bytes lie in the file; a loadable one's fit in memory. */
static int check_segment(struct pvelf *e, size_t i, const struct pvelf_want *want)
{
    const Elf64_Phdr *p = &e->ph[i];
    uint64_t a = seg_addr(p, want);
    char what[40];

    if (!pvelf_within(p->p_offset, p->p_filesz, e->size)) {
        snprintf(what, sizeof what, "segment %zu", i);
        return truncated(e, what, p->p_offset, p->p_filesz);
    }
    if (p->p_type != PT_LOAD)
        return PVELF_OK;
    if (p->p_filesz > p->p_memsz)
        return bad(e, "segment %zu: file size 0x%llx larger than its memory size 0x%llx", i,
                   (unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz);
    if (a + p->p_memsz < a)
        return bad(e, "segment %zu: %s 0x%llx + memory size 0x%llx overflows", i,
                   addr_kind(want), (unsigned long long)a, (unsigned long long)p->p_memsz);
    return PVELF_OK;
}

static int read_segments(struct pvelf *e, const struct pvelf_want *want)
{
    int r;

    if ((r = program_table(e)) != PVELF_OK)
        return r;
    for (size_t i = 0; i < e->phnum; i++)
        if ((r = check_segment(e, i, want)) != PVELF_OK)
            return r;
    return PVELF_OK;
}

/* A loadable segment's place in memory. */
struct span {
    uint64_t lo, size;
    size_t seg;
};

static int by_place(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->seg < y->seg ? -1 : x->seg > y->seg;
}

static int overlap(struct pvelf *e, const struct pvelf_want *want, const struct span *a,
                   const struct span *b)
{
    if (a->seg > b->seg) {
        const struct span *t = a;
        a = b, b = t;
    }
    return bad(e, "loadable segments %zu and %zu overlap: [0x%llx, +0x%llx) and [0x%llx, "
               "+0x%llx)%s", a->seg, b->seg, (unsigned long long)a->lo,
               (unsigned long long)a->size, (unsigned long long)b->lo,
               (unsigned long long)b->size, want->physical ? " (physical addresses)" : "");
}

/*
 * There is something to load, and no two loadable segments overlap (what
 * was loaded would depend on their order).  Sorted by address, a segment
 * overlapping any other overlaps its successor or predecessor.
 */
static int check_loads(struct pvelf *e, const struct pvelf_want *want)
{
    struct span *s;
    size_t n = 0;
    int r = PVELF_OK;

    for (size_t i = 0; i < e->phnum; i++)
        n += e->ph[i].p_type == PT_LOAD && e->ph[i].p_memsz;
    if (n == 0)
        return bad(e, "no loadable segments (PT_LOAD)");
    if (!(s = malloc(n * sizeof *s))) {
        bad(e, "out of memory (%zu segments)", n);
        return PVELF_NOMEM;
    }
    n = 0;
    for (size_t i = 0; i < e->phnum; i++)
        if (e->ph[i].p_type == PT_LOAD && e->ph[i].p_memsz)
            s[n++] = (struct span){seg_addr(&e->ph[i], want), e->ph[i].p_memsz, i};
    qsort(s, n, sizeof *s, by_place);
    for (size_t k = 1; k < n && r == PVELF_OK; k++)
        if (s[k].lo < s[k - 1].lo + s[k - 1].size)
            r = overlap(e, want, &s[k - 1], &s[k]);
    free(s);
    return r;
}

/* ------------------------------------------------------------------------
 * The whole file, and what callers look up in it.
 */

static void release(struct pvelf *e)
{
    free(e->ph);
    free(e->sh);
    e->ph = NULL, e->sh = NULL;
    e->phnum = e->shnum = 0;
}

int pvelf_open(struct pvelf *e, const void *file, size_t size, const struct pvelf_want *want)
{
    int r;

    memset(e, 0, sizeof *e);
    e->file = file, e->size = size;
    if ((r = check_ident(e, want)) != PVELF_OK || (r = check_header(e, want)) != PVELF_OK ||
        (r = read_sections(e)) != PVELF_OK || (r = read_segments(e, want)) != PVELF_OK ||
        (r = check_loads(e, want)) != PVELF_OK)
        release(e);
    return r;
}

void pvelf_close(struct pvelf *e)
{
    release(e);
    memset(e, 0, sizeof *e);
}

const char *pvelf_string(const struct pvelf *e, size_t strtab, uint64_t off)
{
    const Elf64_Shdr *s;
    const char *t;

    if (strtab == 0 || strtab >= e->shnum)
        return NULL;
    s = &e->sh[strtab];
    if (s->sh_type != SHT_STRTAB || off >= s->sh_size)
        return NULL;
    t = (const char *)e->file + s->sh_offset; /* in the file: check_sections */
    /* A string table ends with a NUL (as the gABI says it does), or each
     * string is looked for. */
    if (t[s->sh_size - 1] == '\0' || memchr(t + off, '\0', s->sh_size - off))
        return t + off;
    return NULL;
}

const char *pvelf_section_name(const struct pvelf *e, size_t i)
{
    return i == 0 ? "" : pvelf_string(e, e->shstrndx, e->sh[i].sh_name);
}

/* ------------------------------------------------------------------------
 * Notes.
 */

static uint64_t pad4(uint32_t n)
{
    return ((uint64_t)n + 3) & ~(uint64_t)3;
}

static int walk_notes(struct pvelf *e, size_t seg, pvelf_note_fn fn, void *ctx,
                      unsigned *walked)
{
    const Elf64_Phdr *p = &e->ph[seg];
    uint64_t off = p->p_offset, end = p->p_offset + p->p_filesz; /* in the file */
    int r;

    while (end - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        if (++*walked > PVELF_NOTES_MAX)
            return bad(e, "more than %d notes in the PT_NOTE segments", PVELF_NOTES_MAX);
        memcpy(&nh, e->file + off, sizeof nh);
        uint64_t name = off + sizeof nh, desc = name + pad4(nh.n_namesz);
        if (!pvelf_within(name, pad4(nh.n_namesz), end) ||
            !pvelf_within(desc, pad4(nh.n_descsz), end))
            return bad(e, "segment %zu: the note at offset 0x%llx (name %u bytes, "
                       "descriptor %u bytes) runs past the segment, which ends at 0x%llx",
                       seg, (unsigned long long)off, nh.n_namesz, nh.n_descsz,
                       (unsigned long long)end);
        struct pvelf_note n = {seg, off, nh.n_type, nh.n_namesz, nh.n_descsz,
                               e->file + name, e->file + desc};
        if ((r = fn(ctx, &n)) != 0)
            return r;
        off = desc + pad4(nh.n_descsz);
    }
    return PVELF_OK;
}

int pvelf_notes(struct pvelf *e, pvelf_note_fn fn, void *ctx)
{
    unsigned walked = 0;
    int r;

    for (size_t i = 0; i < e->phnum; i++)
        if (e->ph[i].p_type == PT_NOTE && (r = walk_notes(e, i, fn, ctx, &walked)) != 0)
            return r;
    return PVELF_OK;
}
