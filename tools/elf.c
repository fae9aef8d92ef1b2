/*
 * The ELF reader of the pvlink command.  The file is untrusted: the
 * header, the program and section header tables, every segment and
 * section, the section name table and the symbol table are checked
 * (offsets, sizes, counts, entry sizes, overflow) before anything in them
 * is used, and the first problem found is reported naming the part.
 * Structures are copied out of the file with memcpy, never read in place,
 * so that no alignment is assumed.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

#define PAGE 4096u

/* True when [off, off + len) lies inside [0, size), without overflow. */
static int within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* True when a table of (count) entries of (entsize) at (off) fits. */
static int table_fits(uint64_t off, uint64_t count, uint64_t entsize,
                      size_t size)
{
    return off <= size && count <= (size - off) / entsize;
}

/* ------------------------------------------------------------------------
 * The file header.
 */

static int check_ident(const uint8_t *f, size_t size, struct pvt_err *err)
{
    if (size < SELFMAG || memcmp(f, ELFMAG, SELFMAG) != 0)
        return pvt_fail(err, "not an ELF file (bad magic)");
    if (size < sizeof(Elf64_Ehdr))
        return pvt_fail(err, "truncated: %zu bytes, shorter than the 64-byte "
                             "ELF header", size);
    if (f[EI_CLASS] != ELFCLASS64)
        return pvt_fail(err, "not a 64-bit ELF file (class %u): pvlink reads "
                             "ELF64 x86-64 files", f[EI_CLASS]);
    if (f[EI_DATA] != ELFDATA2LSB)
        return pvt_fail(err, "not a little-endian ELF file (data encoding "
                             "%u)", f[EI_DATA]);
    if (f[EI_VERSION] != EV_CURRENT)
        return pvt_fail(err, "unsupported ELF version %u", f[EI_VERSION]);
    return 0;
}

static int check_header(const Elf64_Ehdr *h, struct pvt_err *err)
{
    if (h->e_machine != EM_X86_64)
        return pvt_fail(err, "not an x86-64 file (machine %u)", h->e_machine);
    if (h->e_version != EV_CURRENT)
        return pvt_fail(err, "unsupported ELF version %u", h->e_version);
    if (h->e_type == ET_REL)
        return pvt_fail(err, "relocatable object: pvlink reads linked "
                             "executables, shared libraries and kernels");
    if (h->e_type != ET_EXEC && h->e_type != ET_DYN)
        return pvt_fail(err, "unsupported ELF type %u (not an executable "
                             "or shared library)", h->e_type);
    if (h->e_ehsize < sizeof(Elf64_Ehdr))
        return pvt_fail(err, "ELF header size %u, expected 64", h->e_ehsize);
    return 0;
}

/* ------------------------------------------------------------------------
 * Section headers.  The count and the name table index may be in section
 * 0 (extended numbering, for files with 0xff00 sections or more).
 */

static void read_shdr(const uint8_t *f, uint64_t off, size_t i, Elf64_Shdr *s)
{
    memcpy(s, f + off + i * sizeof *s, sizeof *s);
}

static int shdr_count(const uint8_t *f, size_t size, const Elf64_Ehdr *h,
                      uint64_t *count, uint32_t *strndx, struct pvt_err *err)
{
    Elf64_Shdr s0;

    *count = h->e_shnum, *strndx = h->e_shstrndx;
    if (h->e_shoff == 0) {
        if (h->e_shnum)
            return pvt_fail(err, "section header table offset is 0 but "
                                 "there are %u sections", h->e_shnum);
        return 0;
    }
    if (h->e_shentsize != sizeof(Elf64_Shdr))
        return pvt_fail(err, "section header entry size %u, expected 64",
                        h->e_shentsize);
    if (!table_fits(h->e_shoff, 1, sizeof s0, size))
        return pvt_fail(err, "section header table (offset 0x%llx) past end "
                             "of file (%zu bytes)",
                        (unsigned long long)h->e_shoff, size);
    read_shdr(f, h->e_shoff, 0, &s0);
    if (*count == 0)
        *count = s0.sh_size;
    if (*strndx == SHN_XINDEX)
        *strndx = s0.sh_link;
    if (!table_fits(h->e_shoff, *count, sizeof s0, size))
        return pvt_fail(err, "section header table (offset 0x%llx, %llu "
                             "entries) past end of file (%zu bytes)",
                        (unsigned long long)h->e_shoff,
                        (unsigned long long)*count, size);
    return 0;
}

static int read_sections(struct pvt_elf *e, uint64_t shoff, uint64_t count,
                         struct pvt_err *err)
{
    e->secs = pvt_xcalloc(count, sizeof *e->secs);
    e->nsecs = count;
    for (size_t i = 0; i < count; i++) {
        Elf64_Shdr s;
        read_shdr(e->file, shoff, i, &s);
        e->secs[i] = (struct pvt_sec){
            .name = "", .name_off = s.sh_name, .type = s.sh_type,
            .link = s.sh_link, .flags = s.sh_flags, .addr = s.sh_addr,
            .off = s.sh_offset, .size = s.sh_size, .entsize = s.sh_entsize};
        if (i && s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
            !within(s.sh_offset, s.sh_size, e->size))
            return pvt_fail(err, "section [%zu]: contents (offset 0x%llx, "
                                 "size 0x%llx) past end of file (%zu bytes)",
                            i, (unsigned long long)s.sh_offset,
                            (unsigned long long)s.sh_size, e->size);
    }
    return 0;
}

/* The NUL-terminated string at (off) of string table (st), or NULL. */
static const char *strtab_at(const struct pvt_elf *e, const struct pvt_sec *st,
                             uint64_t off)
{
    if (off >= st->size)
        return NULL;
    const char *s = (const char *)e->file + st->off + off;
    return memchr(s, '\0', st->size - off) ? s : NULL;
}

static int name_sections(struct pvt_elf *e, uint32_t strndx,
                         struct pvt_err *err)
{
    if (strndx == SHN_UNDEF)
        return pvt_fail(err, "no section name table (e_shstrndx is 0)");
    if (strndx >= e->nsecs)
        return pvt_fail(err, "section name table index %u out of range (%zu "
                             "sections)", strndx, e->nsecs);
    const struct pvt_sec *st = &e->secs[strndx];
    if (st->type != SHT_STRTAB)
        return pvt_fail(err, "section name table [%u] is not a string table "
                             "(type %u)", strndx, st->type);
    for (size_t i = 1; i < e->nsecs; i++) {
        const char *name = strtab_at(e, st, e->secs[i].name_off);
        if (!name)
            return pvt_fail(err, "section [%zu]: name offset 0x%x outside the "
                                 "section name table", i, e->secs[i].name_off);
        e->secs[i].name = name;
    }
    return 0;
}

static int parse_sections(struct pvt_elf *e, const Elf64_Ehdr *h,
                          struct pvt_err *err)
{
    uint64_t count;
    uint32_t strndx;

    if (shdr_count(e->file, e->size, h, &count, &strndx, err) < 0)
        return -1;
    if (count == 0)
        return 0;
    if (read_sections(e, h->e_shoff, count, err) < 0)
        return -1;
    return name_sections(e, strndx, err);
}

/* ------------------------------------------------------------------------
 * Program headers and the image of the loadable segments.
 */

static int check_segment(const Elf64_Phdr *p, size_t i, size_t size,
                         struct pvt_err *err)
{
    if (p->p_filesz > p->p_memsz)
        return pvt_fail(err, "segment %zu: file size 0x%llx larger than its "
                             "memory size 0x%llx", i,
                        (unsigned long long)p->p_filesz,
                        (unsigned long long)p->p_memsz);
    if (!within(p->p_offset, p->p_filesz, size))
        return pvt_fail(err, "segment %zu (offset 0x%llx, size "
                             "0x%llx) past end of file (%zu bytes)", i,
                        (unsigned long long)p->p_offset,
                        (unsigned long long)p->p_filesz, size);
    if (p->p_vaddr + p->p_memsz < p->p_vaddr)
        return pvt_fail(err, "segment %zu: address 0x%llx + size 0x%llx "
                             "overflows", i, (unsigned long long)p->p_vaddr,
                        (unsigned long long)p->p_memsz);
    return 0;
}

static int phdr_count(const struct pvt_elf *e, const Elf64_Ehdr *h,
                      uint64_t *count, struct pvt_err *err)
{
    *count = h->e_phnum;
    if (h->e_phnum == PN_XNUM) {
        if (e->nsecs == 0)
            return pvt_fail(err, "program header count is in section 0, but "
                                 "there is no section header table");
        Elf64_Shdr s0;
        read_shdr(e->file, h->e_shoff, 0, &s0);
        *count = s0.sh_info;
    }
    if (*count == 0)
        return 0;
    if (h->e_phentsize != sizeof(Elf64_Phdr))
        return pvt_fail(err, "program header entry size %u, expected 56",
                        h->e_phentsize);
    if (!table_fits(h->e_phoff, *count, sizeof(Elf64_Phdr), e->size))
        return pvt_fail(err, "program header table (offset 0x%llx, "
                             "%llu entries) past end of file (%zu bytes)",
                        (unsigned long long)h->e_phoff,
                        (unsigned long long)*count, e->size);
    return 0;
}

static int read_segments(struct pvt_elf *e, const Elf64_Ehdr *h,
                         struct pvt_err *err)
{
    uint64_t count;

    if (phdr_count(e, h, &count, err) < 0)
        return -1;
    e->segs = pvt_xcalloc(count, sizeof *e->segs);
    for (size_t i = 0; i < count; i++) {
        Elf64_Phdr p;
        memcpy(&p, e->file + h->e_phoff + i * sizeof p, sizeof p);
        if (p.p_type != PT_LOAD || p.p_memsz == 0)
            continue;
        if (check_segment(&p, i, e->size, err) < 0)
            return -1;
        e->segs[e->nsegs++] = (struct pvt_seg){
            .vaddr = p.p_vaddr, .memsz = p.p_memsz, .off = p.p_offset,
            .filesz = p.p_filesz, .flags = p.p_flags};
    }
    if (e->nsegs == 0)
        return pvt_fail(err, "no loadable segments (PT_LOAD)");
    return 0;
}

static int by_vaddr(const void *a, const void *b)
{
    const struct pvt_seg *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Segments may not overlap: the image would depend on their order. */
static int check_overlaps(const struct pvt_elf *e, struct pvt_err *err)
{
    struct pvt_seg *s = pvt_xcalloc(e->nsegs, sizeof *s);
    int r = 0;

    memcpy(s, e->segs, e->nsegs * sizeof *s);
    qsort(s, e->nsegs, sizeof *s, by_vaddr);
    for (size_t i = 1; i < e->nsegs && r == 0; i++)
        if (s[i].vaddr < s[i - 1].vaddr + s[i - 1].memsz)
            r = pvt_fail(err, "loadable segments at 0x%llx and 0x%llx overlap",
                         (unsigned long long)s[i - 1].vaddr,
                         (unsigned long long)s[i].vaddr);
    free(s);
    return r;
}

static void add_exec(struct pvt_elf *e, uint64_t vaddr, uint64_t size)
{
    if (!size || vaddr < e->lo || vaddr > e->hi || size > e->hi - vaddr)
        return;
    e->exec = pvt_xreallocarray(e->exec, e->nexec + 1, sizeof *e->exec);
    e->exec[e->nexec++] = (struct pvl_range){(uintptr_t)(e->image + (vaddr - e->lo)),
                                             (uintptr_t)(e->image + (vaddr - e->lo) + size)};
}

/*
 * The executable code, where rooms may be: the sections with
 * SHF_EXECINSTR (a kernel's one executable segment also holds its
 * read-only data, which its linker does not patch), or without section
 * headers the executable segments.
 */
static void find_exec(struct pvt_elf *e)
{
    for (size_t i = 1; i < e->nsecs; i++)
        if ((e->secs[i].flags & SHF_EXECINSTR) && (e->secs[i].flags & SHF_ALLOC) &&
            e->secs[i].type == SHT_PROGBITS)
            add_exec(e, e->secs[i].addr, e->secs[i].size);
    for (size_t i = 0; !e->nexec && i < e->nsegs; i++)
        if (e->segs[i].flags & PF_X)
            add_exec(e, e->segs[i].vaddr, e->segs[i].memsz);
}

static int build_image(struct pvt_elf *e, struct pvt_err *err)
{
    e->lo = UINT64_MAX, e->hi = 0;
    for (size_t i = 0; i < e->nsegs; i++) {
        if (e->segs[i].vaddr < e->lo)
            e->lo = e->segs[i].vaddr;
        if (e->segs[i].vaddr + e->segs[i].memsz > e->hi)
            e->hi = e->segs[i].vaddr + e->segs[i].memsz;
    }
    e->lo &= ~(uint64_t)(PAGE - 1);
    if (e->hi - e->lo > PVT_IMAGE_MAX)
        return pvt_fail(err, "loadable segments span 0x%llx bytes (0x%llx to "
                             "0x%llx), more than the %llu MiB pvlink reads",
                        (unsigned long long)(e->hi - e->lo),
                        (unsigned long long)e->lo, (unsigned long long)e->hi,
                        (unsigned long long)(PVT_IMAGE_MAX >> 20));
    if (check_overlaps(e, err) < 0)
        return -1;
    e->image = pvt_xcalloc(e->hi - e->lo, 1);
    for (size_t i = 0; i < e->nsegs; i++)
        memcpy(e->image + (e->segs[i].vaddr - e->lo), e->file + e->segs[i].off,
               e->segs[i].filesz);
    find_exec(e);
    return 0;
}

/* ------------------------------------------------------------------------
 * Symbols: the sized symbols of .symtab, else of .dynsym.
 */

static const struct pvt_sec *find_type(const struct pvt_elf *e, uint32_t type)
{
    for (size_t i = 1; i < e->nsecs; i++)
        if (e->secs[i].type == type)
            return &e->secs[i];
    return NULL;
}

static int check_symtab(const struct pvt_elf *e, const struct pvt_sec *sym,
                        struct pvt_err *err)
{
    if (sym->entsize != sizeof(Elf64_Sym))
        return pvt_fail(err, "section %s: entry size %llu, expected 24",
                        sym->name, (unsigned long long)sym->entsize);
    if (sym->size % sizeof(Elf64_Sym))
        return pvt_fail(err, "section %s: size 0x%llx is not a multiple of "
                             "the 24-byte symbol", sym->name,
                        (unsigned long long)sym->size);
    if (sym->link == 0 || sym->link >= e->nsecs ||
        e->secs[sym->link].type != SHT_STRTAB)
        return pvt_fail(err, "section %s: its string table (section %u) is "
                             "not a string table", sym->name, sym->link);
    return 0;
}

/* Symbols that can hold a site: functions, objects (a site in data is a
 * problem check reports, and should be found), sized untyped labels. */
static int is_site_symbol(const Elf64_Sym *s)
{
    int type = ELF64_ST_TYPE(s->st_info);

    if (s->st_shndx == SHN_UNDEF || s->st_size == 0)
        return 0;
    return type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_OBJECT ||
           type == STT_NOTYPE;
}

static int by_value(const void *a, const void *b)
{
    const struct pvt_sym *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int read_symbols(struct pvt_elf *e, struct pvt_err *err)
{
    const struct pvt_sec *sec = find_type(e, SHT_SYMTAB);

    if (!sec)
        sec = find_type(e, SHT_DYNSYM);
    if (!sec)
        return 0;
    if (check_symtab(e, sec, err) < 0)
        return -1;
    size_t n = sec->size / sizeof(Elf64_Sym);
    const struct pvt_sec *str = &e->secs[sec->link];
    e->syms = pvt_xcalloc(n, sizeof *e->syms);
    e->symsrc = sec->name;
    for (size_t i = 1; i < n; i++) {
        Elf64_Sym s;
        memcpy(&s, e->file + sec->off + i * sizeof s, sizeof s);
        if (!is_site_symbol(&s))
            continue;
        const char *name = strtab_at(e, str, s.st_name);
        if (!name)
            return pvt_fail(err, "section %s: symbol %zu: name offset 0x%x "
                                 "outside %s", sec->name, i, s.st_name,
                            str->name);
        e->syms[e->nsyms++] = (struct pvt_sym){s.st_value, s.st_size, name};
    }
    qsort(e->syms, e->nsyms, sizeof *e->syms, by_value);
    return 0;
}

/* ------------------------------------------------------------------------
 * The whole file.
 */

int pvt_elf_parse(struct pvt_elf *e, const uint8_t *file, size_t size,
                  struct pvt_err *err)
{
    Elf64_Ehdr h;

    memset(e, 0, sizeof *e);
    e->file = file, e->size = size;
    if (check_ident(file, size, err) < 0)
        return -1;
    memcpy(&h, file, sizeof h);
    e->type = h.e_type;
    if (check_header(&h, err) < 0 || parse_sections(e, &h, err) < 0 ||
        read_segments(e, &h, err) < 0 || build_image(e, err) < 0 ||
        read_symbols(e, err) < 0)
        return -1;
    return 0;
}

void pvt_elf_free(struct pvt_elf *e)
{
    free(e->segs);
    free(e->secs);
    free(e->image);
    free(e->exec);
    free(e->syms);
    memset(e, 0, sizeof *e);
}

const char *pvt_elf_type_name(const struct pvt_elf *e)
{
    return e->type == ET_EXEC ? "ET_EXEC" : "ET_DYN";
}

const struct pvt_sec *pvt_elf_section(const struct pvt_elf *e,
                                      const char *name, size_t *count)
{
    const struct pvt_sec *first = NULL;

    *count = 0;
    for (size_t i = 1; i < e->nsecs; i++) {
        if (strcmp(e->secs[i].name, name) != 0)
            continue;
        if (!first)
            first = &e->secs[i];
        ++*count;
    }
    return first;
}

const struct pvt_seg *pvt_elf_segment(const struct pvt_elf *e, uint64_t vaddr,
                                      uint64_t n)
{
    for (size_t i = 0; i < e->nsegs; i++) {
        const struct pvt_seg *s = &e->segs[i];
        if (vaddr >= s->vaddr && within(vaddr - s->vaddr, n, s->filesz))
            return s;
    }
    return NULL;
}

const uint8_t *pvt_elf_bytes(const struct pvt_elf *e, uint64_t vaddr,
                             uint64_t n)
{
    if (!pvt_elf_segment(e, vaddr, n))
        return NULL;
    return e->image + (vaddr - e->lo);
}

/* Symbols nested inside others are rare; look this far back for one that
 * holds the address when the nearest one below it does not. */
#define SYM_LOOKBACK 64

void pvt_elf_symbolize(const struct pvt_elf *e, uint64_t addr, char *buf,
                       size_t n)
{
    size_t lo = 0, hi = e->nsyms; /* first symbol above addr */
    char name[160];

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->syms[mid].value <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k > 0 && lo - k < SYM_LOOKBACK; k--) {
        const struct pvt_sym *s = &e->syms[k - 1];
        if (addr - s->value >= s->size)
            continue;
        pvt_printable(name, sizeof name, s->name, 128);
        if (addr == s->value)
            snprintf(buf, n, "%s", name);
        else
            snprintf(buf, n, "%s+0x%llx", name,
                     (unsigned long long)(addr - s->value));
        return;
    }
    snprintf(buf, n, "?");
}
