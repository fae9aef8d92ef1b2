/*
 * The ELF reader of the pvlink command: the file is checked by the
 * project's one ELF reader (runtime/elf.h: header, tables, sections,
 * names, segments), whose words the command reports; here, its loadable
 * segments become an image, its executable code ranges where rooms may
 * be, and its symbol table (checked here) names addresses.  Structures
 * are copied out of the file with memcpy, never read in place, so that
 * no alignment is assumed.
 */
#include <stdlib.h>
#include <string.h>

#include "../runtime/elf.h"
#include "pvlink.h"

#define PAGE 4096u

/* What the command reads: executables (kernels among them) and shared
 * libraries. */
static const struct pvelf_want wanted = {PVELF_TYPE(ET_EXEC) | PVELF_TYPE(ET_DYN), 0};

/* ------------------------------------------------------------------------
 * Sections and loadable segments, as the reader checked them.
 */

static void copy_sections(struct pvt_elf *e, const struct pvelf *r)
{
    e->secs = pvt_xcalloc(r->shnum, sizeof *e->secs);
    e->nsecs = r->shnum;
    for (size_t i = 0; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        e->secs[i] = (struct pvt_sec){
            .name = pvelf_section_name(r, i), .type = s->sh_type, .link = s->sh_link,
            .flags = s->sh_flags, .addr = s->sh_addr, .off = s->sh_offset,
            .size = s->sh_size, .entsize = s->sh_entsize};
    }
}

static void copy_segments(struct pvt_elf *e, const struct pvelf *r)
{
    e->segs = pvt_xcalloc(r->phnum, sizeof *e->segs);
    for (size_t i = 0; i < r->phnum; i++) {
        const Elf64_Phdr *p = &r->ph[i];
        if (p->p_type == PT_LOAD && p->p_memsz)
            e->segs[e->nsegs++] = (struct pvt_seg){
                .vaddr = p->p_vaddr, .memsz = p->p_memsz, .off = p->p_offset,
                .filesz = p->p_filesz, .flags = p->p_flags};
    }
}

/* ------------------------------------------------------------------------
 * The image of the loadable segments, which the reader found in the file,
 * without overflow and not overlapping.
 */

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

static int read_symbols(struct pvt_elf *e, const struct pvelf *r, struct pvt_err *err)
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
        const char *name = pvelf_string(r, sec->link, s.st_name);
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
    struct pvelf r;
    int bad;

    memset(e, 0, sizeof *e);
    e->file = file, e->size = size;
    switch (pvelf_open(&r, file, size, &wanted)) {
    case PVELF_OK:
        break;
    case PVELF_NOMEM:
        pvt_out_of_memory();
    default:
        return pvt_fail(err, "%s", r.msg);
    }
    e->type = r.eh.e_type;
    copy_sections(e, &r);
    copy_segments(e, &r);
    bad = build_image(e, err) < 0 || read_symbols(e, &r, err) < 0;
    pvelf_close(&r);
    return bad ? -1 : 0;
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
        if (vaddr >= s->vaddr && pvelf_within(vaddr - s->vaddr, n, s->filesz))
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
