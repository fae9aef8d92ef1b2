/*
 * libFuzzer target over the one ELF reader (runtime/elf.h): each input is
 * opened as each of its callers asks (the pvlink command, a kernel placed
 * at its physical addresses, a provider).  A refusal must leave a message
 * and nothing allocated.  What is accepted must be what the reader
 * promises, checked here independently: every segment's and section's
 * bytes inside the input, loadable segments sized and placed without
 * overflow and not overlapping, every section name a string inside its
 * table; then every string look-up the input suggests, and the walk of
 * notes, whose names and descriptors are read whole.  ASan and UBSan
 * catch any read outside the input (libFuzzer's buffer is exactly its
 * size).
 *
 *   make fuzz-run FUZZ_RUNS=50000
 */
#include <stdlib.h>
#include <string.h>

#include "../../runtime/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(cond)                                                           \
    do {                                                                     \
        if (!(cond))                                                         \
            abort();                                                         \
    } while (0)

static const struct pvelf_want wants[] = {
    {PVELF_TYPE(ET_EXEC) | PVELF_TYPE(ET_DYN), 0}, /* the pvlink command */
    {PVELF_TYPE(ET_EXEC), 1},                      /* a kernel */
    {PVELF_TYPE(ET_DYN), 0},                       /* a provider */
};

static int in_file(const struct pvelf *e, const void *p, uint64_t n)
{
    const uint8_t *b = p;

    return b >= e->file && pvelf_within((uint64_t)(b - e->file), n, e->size);
}

static uint64_t addr(const Elf64_Phdr *p, const struct pvelf_want *w)
{
    return w->physical ? p->p_paddr : p->p_vaddr;
}

static int loadable(const Elf64_Phdr *p)
{
    return p->p_type == PT_LOAD && p->p_memsz;
}

static void check_segments(const struct pvelf *e, const struct pvelf_want *w)
{
    size_t nload = 0;

    for (size_t i = 0; i < e->phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];
        MUST(pvelf_within(p->p_offset, p->p_filesz, e->size));
        if (p->p_type != PT_LOAD)
            continue;
        MUST(p->p_filesz <= p->p_memsz && addr(p, w) + p->p_memsz >= addr(p, w));
        nload += loadable(p);
        for (size_t j = 0; loadable(p) && j < i; j++) /* (a quadratic oracle) */
            MUST(!loadable(&e->ph[j]) || addr(p, w) >= addr(&e->ph[j], w) + e->ph[j].p_memsz ||
                 addr(&e->ph[j], w) >= addr(p, w) + p->p_memsz);
    }
    MUST(nload > 0);
}

static void check_sections(const struct pvelf *e)
{
    for (size_t i = 1; i < e->shnum; i++) {
        const Elf64_Shdr *s = &e->sh[i];
        const char *name = pvelf_section_name(e, i);
        MUST(s->sh_type == SHT_NOBITS || s->sh_type == SHT_NULL ||
             pvelf_within(s->sh_offset, s->sh_size, e->size));
        MUST(name && in_file(e, name, strlen(name) + 1));
    }
}

/* Look up the strings the section headers' own fields point at. */
static void look_up(const struct pvelf *e)
{
    for (size_t t = 0; t <= e->shnum; t++)
        for (size_t i = 0; i < e->shnum; i++) {
            const char *s = pvelf_string(e, t, e->sh[i].sh_name);
            MUST(!s || in_file(e, s, strlen(s) + 1));
            s = pvelf_string(e, t, e->sh[i].sh_info);
            MUST(!s || in_file(e, s, strlen(s) + 1));
        }
}

static int see(void *ctx, const struct pvelf_note *n)
{
    const struct pvelf *e = ctx;
    volatile uint8_t sink = 0;

    MUST(in_file(e, n->name, n->namesz) && in_file(e, n->desc, n->descsz));
    for (uint32_t i = 0; i < n->namesz; i++)
        sink ^= n->name[i];
    for (uint32_t i = 0; i < n->descsz; i++)
        sink ^= n->desc[i];
    (void)sink;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t k = 0; k < sizeof wants / sizeof wants[0]; k++) {
        struct pvelf e;
        int r = pvelf_open(&e, data, size, &wants[k]);
        MUST(r == PVELF_OK || r == PVELF_BAD || r == PVELF_NOMEM);
        if (r != PVELF_OK) {
            MUST(e.msg[0] && memchr(e.msg, '\0', sizeof e.msg) && !e.ph && !e.sh);
            continue;
        }
        check_segments(&e, &wants[k]);
        check_sections(&e);
        if (e.shnum <= 64) /* (look_up is quadratic) */
            look_up(&e);
        r = pvelf_notes(&e, see, &e);
        MUST(r == PVELF_OK || (r == PVELF_BAD && e.msg[0]));
        pvelf_close(&e);
    }
    return 0;
}
