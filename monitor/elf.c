/*
 * Loading the kernel: an ELF64 x86-64 executable with a PVH note.  The file
 * is untrusted: the project's one ELF reader (runtime/elf.h) checks it as a
 * file; here, that its segments lie in guest RAM and the PVH note's rules.
 * The first problem is reported with what it is and where.
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

#include "../runtime/elf.h"
#include "mon.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct image {
    const char *path;
    uint8_t *buf;
    size_t len;
    struct pvelf elf; /* buf, checked */
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

/* The file, checked by the project's one ELF reader: a PVH kernel is an
 * executable, loaded at its physical addresses. */
static void check_elf(struct image *im)
{
    static const struct pvelf_want kernel_want = {PVELF_TYPE(ET_EXEC), 1};

    switch (pvelf_open(&im->elf, im->buf, im->len, &kernel_want)) {
    case PVELF_OK:
        return;
    case PVELF_NOMEM:
        errx(MON_EXIT_HOST, "kernel %s: %s", im->path, im->elf.msg);
    default:
        refuse(im, "%s", im->elf.msg);
    }
}

/* A loadable segment lies in guest RAM above the low megabyte. */
static void check_ram(const struct image *im, const Elf64_Phdr *ph, size_t i, uint64_t mem)
{
    if (ph->p_paddr < MON_HIGH_RAM || !pvelf_within(ph->p_paddr, ph->p_memsz, mem))
        refuse(im, "segment %zu: [%#llx, +%#llx) lies outside guest RAM [1 MiB, %#llx)", i,
               (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
               (unsigned long long)mem);
}

/* The PVH entry notes found so far: the file offset of each, and its
 * entry. */
struct pvh_notes {
    const struct image *im;
    unsigned n;
    uint64_t off[2];
    uint32_t entry;
};

static void found_pvh(struct pvh_notes *pn, uint64_t off, uint32_t entry)
{
    if (pn->n == 1 && pn->off[0] == off)
        return; /* the same note, seen through another PT_NOTE */
    if (pn->n == 1)
        refuse(pn->im, "two PVH entry notes (at file offsets %#llx and %#llx, entries %#x "
               "and %#x): exactly one is allowed", (unsigned long long)pn->off[0],
               (unsigned long long)off, pn->entry, entry);
    pn->off[pn->n++] = off;
    pn->entry = entry;
}

/* pvelf_notes' callback: record a PVH entry note. */
static int pvh_note(void *ctx, const struct pvelf_note *n)
{
    struct pvh_notes *pn = ctx;
    uint32_t entry;

    if (n->namesz != 4 || memcmp(n->name, "Xen", 4) || n->type != XEN_ELFNOTE_PHYS32_ENTRY)
        return 0;
    if (n->descsz < 4)
        refuse(pn->im, "PVH note: entry field is %u bytes, needs 4", n->descsz);
    memcpy(&entry, n->desc, 4); /* the file decides its alignment */
    found_pvh(pn, n->off, entry);
    return 0;
}

/* Is (a) in the file bytes of an executable PT_LOAD segment? */
static int in_code(const Elf64_Phdr *ph, size_t n, uint64_t a)
{
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && a >= ph[i].p_paddr &&
            a - ph[i].p_paddr < ph[i].p_filesz)
            return 1;
    return 0;
}

/* Why (a) is not code: the kind of place it is in. */
static const char *where(const Elf64_Phdr *ph, size_t n, uint64_t a)
{
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && a >= ph[i].p_paddr && a - ph[i].p_paddr < ph[i].p_memsz)
            return !(ph[i].p_flags & PF_X) ? "a segment that is not executable"
                                           : "the zero-filled (bss) part of a segment";
    return "no loaded segment";
}

/* The entry of the one PVH note. */
static uint32_t find_entry(struct image *im)
{
    struct pvh_notes pn = {.im = im};

    if (pvelf_notes(&im->elf, pvh_note, &pn) != PVELF_OK)
        refuse(im, "%s", im->elf.msg);
    if (!pn.n)
        refuse(im, "no PVH entry note (\"Xen\", type 18): not a PVH kernel");
    if (!in_code(im->elf.ph, im->elf.phnum, pn.entry))
        refuse(im, "PVH entry %#x is not in the code of an executable segment: it lies in %s",
               pn.entry, where(im->elf.ph, im->elf.phnum, pn.entry));
    return pn.entry;
}

uint32_t mon_elf_load(struct mon_vm *vm, const char *path)
{
    struct image *im = &kernel;
    const Elf64_Phdr *ph;
    uint32_t entry;

    *im = (struct image){.path = path};
    read_file(im);
    check_elf(im);
    ph = im->elf.ph;
    for (size_t i = 0; i < im->elf.phnum; i++)
        if (ph[i].p_type == PT_LOAD)
            check_ram(im, &ph[i], i, vm->mem_size);
    entry = find_entry(im);
    for (size_t i = 0; i < im->elf.phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uint8_t *dst = mon_gpa(vm, ph[i].p_paddr, ph[i].p_memsz);
        memcpy(dst, im->buf + ph[i].p_offset, ph[i].p_filesz);
        memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
    }
    pvelf_close(&im->elf);
    free(im->buf);
    *im = (struct image){0};
    return entry;
}
