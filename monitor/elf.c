/*
 * Loading the kernel: an ELF64 x86-64 executable with a PVH note.  The file
 * is untrusted; every offset and size is checked before use, and the first
 * problem is reported with what it is and where.
 *
 * Exactly one PVH entry note is accepted.  Loaders disagree on which of
 * several wins (linux-loader takes the last PT_NOTE's, others the first
 * they meet), so a kernel with two is ambiguous even when they agree; it is
 * refused rather than guessed at.  A note that two PT_NOTE segments both
 * cover is one note.  The entry must lie in the file bytes of an
 * executable PT_LOAD segment: not in data, not in bss (zeros), not past
 * the code.
 */
#include <elf.h>
#include <stdarg.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mon.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct image {
    const char *path;
    uint8_t *buf;
    size_t len;
    Elf64_Phdr *ph; /* copied out of buf */
};

/* The kernel being loaded; static so that a refusal, which exits, leaves
 * nothing unreachable behind. */
static struct image kernel;

__attribute__((noreturn, format(printf, 2, 3))) static void
refuse(const struct image *im, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: kernel %s: ", program_invocation_short_name, im->path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(MON_EXIT_INPUT);
}

static int within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static void read_file(struct image *im)
{
    FILE *f = fopen(im->path, "rb");
    size_t cap = 1 << 20;

    if (!f)
        err(MON_EXIT_INPUT, "kernel %s", im->path);
    im->buf = NULL, im->len = 0;
    for (;;) {
        if (!(im->buf = realloc(im->buf, cap)))
            err(MON_EXIT_HOST, "kernel %s: reading", im->path);
        im->len += fread(im->buf + im->len, 1, cap - im->len, f);
        if (im->len < cap || cap >= (256u << 20))
            break;
        cap *= 2;
    }
    if (ferror(f))
        err(MON_EXIT_INPUT, "kernel %s: reading", im->path);
    if (!feof(f))
        refuse(im, "larger than 256 MiB");
    fclose(f);
}

static const Elf64_Ehdr *check_header(const struct image *im)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)im->buf;

    if (im->len < sizeof *eh)
        refuse(im, "truncated: %zu bytes, an ELF header needs %zu", im->len, sizeof *eh);
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
        refuse(im, "not an ELF file (bad magic)");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        refuse(im, "not a 64-bit ELF file (class %u)", eh->e_ident[EI_CLASS]);
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        refuse(im, "not little-endian (data encoding %u)", eh->e_ident[EI_DATA]);
    if (eh->e_machine != EM_X86_64)
        refuse(im, "not an x86-64 ELF file (machine %u)", eh->e_machine);
    if (eh->e_type != ET_EXEC)
        refuse(im, "not an executable (ELF type %u)", eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        refuse(im, "program header size %u, expected %zu", eh->e_phentsize, sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0 ||
        !within(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), im->len))
        refuse(im, "program headers (%u at offset %#llx) lie outside the file", eh->e_phnum,
               (unsigned long long)eh->e_phoff);
    return eh;
}

static void check_load(const struct image *im, const Elf64_Phdr *ph, int i, uint64_t mem)
{
    if (!within(ph->p_offset, ph->p_filesz, im->len))
        refuse(im, "segment %d: file bytes [%#llx, +%#llx) lie outside the file", i,
               (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
    if (ph->p_filesz > ph->p_memsz)
        refuse(im, "segment %d: file size %#llx exceeds memory size %#llx", i,
               (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
    if (ph->p_paddr < MON_HIGH_RAM || !within(ph->p_paddr, ph->p_memsz, mem))
        refuse(im, "segment %d: [%#llx, +%#llx) lies outside guest RAM [1 MiB, %#llx)", i,
               (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
               (unsigned long long)mem);
}

static void check_overlap(const struct image *im, const Elf64_Phdr *ph, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const Elf64_Phdr *a = &ph[i], *b = &ph[j];
            if (a->p_type != PT_LOAD || b->p_type != PT_LOAD || !a->p_memsz || !b->p_memsz)
                continue;
            if (a->p_paddr < b->p_paddr + b->p_memsz && b->p_paddr < a->p_paddr + a->p_memsz)
                refuse(im, "segments %d and %d overlap", i, j);
        }
}

/* The PVH entry notes found so far: the file offset of each, and its
 * entry. */
struct pvh_notes {
    unsigned n;
    uint64_t off[2];
    uint32_t entry;
};

static void found_pvh(const struct image *im, struct pvh_notes *pn, uint64_t off,
                      uint32_t entry)
{
    if (pn->n == 1 && pn->off[0] == off)
        return; /* the same note, seen through another PT_NOTE */
    if (pn->n == 1)
        refuse(im, "two PVH entry notes (at file offsets %#llx and %#llx, entries %#x and "
               "%#x): exactly one is allowed", (unsigned long long)pn->off[0],
               (unsigned long long)off, pn->entry, entry);
    pn->off[pn->n++] = off;
    pn->entry = entry;
}

/* Walk the notes of one PT_NOTE segment, recording PVH entry notes. */
static void find_pvh(const struct image *im, const Elf64_Phdr *ph, int i, struct pvh_notes *pn)
{
    uint64_t off = ph->p_offset, end;
    uint32_t entry;

    if (!within(ph->p_offset, ph->p_filesz, im->len))
        refuse(im, "note segment %d lies outside the file", i);
    end = ph->p_offset + ph->p_filesz;
    while (end - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh; /* copied out: the file decides its alignment */
        memcpy(&nh, im->buf + off, sizeof nh);
        uint64_t name = off + sizeof nh, namesz = (nh.n_namesz + 3ull) & ~3ull;
        uint64_t desc = name + namesz, descsz = (nh.n_descsz + 3ull) & ~3ull;
        if (!within(name, namesz, end) || !within(desc, descsz, end))
            refuse(im, "note segment %d: note at offset %#llx runs past the segment", i,
                   (unsigned long long)off);
        if (nh.n_namesz == 4 && !memcmp(im->buf + name, "Xen", 4) &&
            nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY) {
            if (nh.n_descsz < 4)
                refuse(im, "PVH note: entry field is %u bytes, needs 4", nh.n_descsz);
            memcpy(&entry, im->buf + desc, 4);
            found_pvh(im, pn, off, entry);
        }
        off = desc + descsz;
    }
}

/* Is (a) in the file bytes of an executable PT_LOAD segment? */
static int in_code(const Elf64_Phdr *ph, int n, uint64_t a)
{
    for (int i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && a >= ph[i].p_paddr &&
            a - ph[i].p_paddr < ph[i].p_filesz)
            return 1;
    return 0;
}

/* Why (a) is not code: the kind of place it is in. */
static const char *where(const Elf64_Phdr *ph, int n, uint64_t a)
{
    for (int i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && a >= ph[i].p_paddr && a - ph[i].p_paddr < ph[i].p_memsz)
            return !(ph[i].p_flags & PF_X) ? "a segment that is not executable"
                                           : "the zero-filled (bss) part of a segment";
    return "no loaded segment";
}

/* The program headers, copied out of the file (which decides e_phoff and so
 * their alignment). */
static Elf64_Phdr *copy_phdrs(struct image *im, const Elf64_Ehdr *eh)
{
    im->ph = calloc(eh->e_phnum, sizeof *im->ph);
    if (!im->ph)
        err(MON_EXIT_HOST, "kernel %s: program headers", im->path);
    memcpy(im->ph, im->buf + eh->e_phoff, eh->e_phnum * sizeof *im->ph);
    return im->ph;
}

uint32_t mon_elf_load(struct mon_vm *vm, const char *path)
{
    struct image *im = &kernel;
    struct pvh_notes pn = {0};

    *im = (struct image){.path = path};
    read_file(im);
    const Elf64_Ehdr *eh = check_header(im); /* at offset 0 of a malloc'd buffer */
    Elf64_Phdr *ph = copy_phdrs(im, eh);
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD)
            check_load(im, &ph[i], i, vm->mem_size);
        else if (ph[i].p_type == PT_NOTE)
            find_pvh(im, &ph[i], i, &pn);
    }
    check_overlap(im, ph, eh->e_phnum);
    if (!pn.n)
        refuse(im, "no PVH entry note (\"Xen\", type 18): not a PVH kernel");
    if (!in_code(ph, eh->e_phnum, pn.entry))
        refuse(im, "PVH entry %#x is not in the code of an executable segment: it lies in %s",
               pn.entry, where(ph, eh->e_phnum, pn.entry));
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uint8_t *dst = mon_gpa(vm, ph[i].p_paddr, ph[i].p_memsz);
        memcpy(dst, im->buf + ph[i].p_offset, ph[i].p_filesz);
        memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
    }
    free(ph);
    free(im->buf);
    *im = (struct image){0};
    return pn.entry;
}
