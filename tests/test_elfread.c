/*
 * The one ELF reader (runtime/elf.h) by itself.  A small file made here
 * (two loadable segments, a PT_NOTE with a PVH note, five sections) is
 * accepted as each caller asks (the pvlink command, a kernel placed at
 * its physical addresses, a provider), then broken one field at a time:
 * each refusal with its exact message, nothing left allocated.  Also
 * extended numbering (section 0 holding the counts), string look-ups and
 * the walk of notes, its bound included.
 */
#include <elf.h>
#include <string.h>

#include "../runtime/elf.h"
#include "harness.h"

#define TEXT_OFF 0x100
#define DATA_OFF 0x110
#define NOTE_OFF 0x120
#define NOTE_SIZE 20
#define STR_OFF 0x134
#define SH_OFF 0x158
#define NSECS 5
#define FILE_SIZE (SH_OFF + NSECS * 64) /* 664 */

/* The section names: .text at 1, .data at 7, .note at 13, .shstrtab at 19. */
static const char names[] = "\0.text\0.data\0.note\0.shstrtab";

static struct {
    _Alignas(8) uint8_t b[65536];
    size_t n;
} f;

static Elf64_Ehdr *eh(void) { return (Elf64_Ehdr *)f.b; }
static Elf64_Phdr *ph(int i) { return (Elf64_Phdr *)(f.b + sizeof(Elf64_Ehdr)) + i; }
static Elf64_Shdr *sh(int i) { return (Elf64_Shdr *)(f.b + SH_OFF) + i; }

static const struct pvelf_want tool = {PVELF_TYPE(ET_EXEC) | PVELF_TYPE(ET_DYN), 0};
static const struct pvelf_want kernel = {PVELF_TYPE(ET_EXEC), 1};
static const struct pvelf_want provider = {PVELF_TYPE(ET_DYN), 0};

static void make(void)
{
    static const uint32_t note[5] = {4, 4, 18, 0x006e6558 /* "Xen" */, 0x400100};

    memset(&f, 0, sizeof f);
    *eh() = (Elf64_Ehdr){.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                         .e_entry = 0x400100, .e_phoff = sizeof(Elf64_Ehdr), .e_shoff = SH_OFF,
                         .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
                         .e_phnum = 3, .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = NSECS,
                         .e_shstrndx = 4};
    memcpy(eh()->e_ident, ELFMAG, SELFMAG);
    eh()->e_ident[EI_CLASS] = ELFCLASS64;
    eh()->e_ident[EI_DATA] = ELFDATA2LSB;
    eh()->e_ident[EI_VERSION] = EV_CURRENT;
    *ph(0) = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, TEXT_OFF, 0x400100, 0x100100, 0x10, 0x10, 0x1000};
    *ph(1) = (Elf64_Phdr){PT_LOAD, PF_R | PF_W, DATA_OFF, 0x401110, 0x101110, 0x10, 0x20, 0x1000};
    *ph(2) = (Elf64_Phdr){PT_NOTE, PF_R, NOTE_OFF, 0, 0, NOTE_SIZE, NOTE_SIZE, 4};
    memset(f.b + TEXT_OFF, 0x90, 0x10);
    memcpy(f.b + NOTE_OFF, note, sizeof note);
    memcpy(f.b + STR_OFF, names, sizeof names);
    *sh(1) = (Elf64_Shdr){1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x400100, TEXT_OFF, 0x10,
                          0, 0, 16, 0};
    *sh(2) = (Elf64_Shdr){7, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x401110, DATA_OFF, 0x10,
                          0, 0, 16, 0};
    *sh(3) = (Elf64_Shdr){13, SHT_NOTE, SHF_ALLOC, 0, NOTE_OFF, NOTE_SIZE, 0, 0, 4, 0};
    *sh(4) = (Elf64_Shdr){19, SHT_STRTAB, 0, 0, STR_OFF, sizeof names, 0, 0, 1, 0};
    f.n = FILE_SIZE;
}

/* The file is refused with exactly (want), and nothing is left to free. */
static void refused(int line, const struct pvelf_want *w, const char *want)
{
    struct pvelf e;
    int r = pvelf_open(&e, f.b, f.n, w);

    if (r != PVELF_BAD || strcmp(e.msg, want) != 0)
        t_fail(__FILE__, line, "got %d \"%s\", expected \"%s\"", r, r ? e.msg : "", want);
    if (r == PVELF_OK)
        pvelf_close(&e);
    else if (e.ph || e.sh || e.phnum || e.shnum)
        t_fail(__FILE__, line, "tables left after a refusal");
}
#define REFUSED(w, msg) refused(__LINE__, w, msg)

/* The file is accepted; (e) is open (close it). */
static int accepted(int line, const struct pvelf_want *w, struct pvelf *e)
{
    int r = pvelf_open(e, f.b, f.n, w);

    if (r != PVELF_OK)
        t_fail(__FILE__, line, "refused (%d): %s", r, e->msg);
    return r == PVELF_OK;
}
#define ACCEPTED(w, e) accepted(__LINE__, w, e)

/* Accepted, and closed at once. */
static void fine(int line, const struct pvelf_want *w)
{
    struct pvelf e;

    if (accepted(line, w, &e))
        pvelf_close(&e);
}
#define FINE(w) fine(__LINE__, w)

#define EXEC_OR_SO "; expected a 64-bit x86-64 executable or shared object"

static void accepted_as_asked(void)
{
    struct pvelf e;

    make();
    if (ACCEPTED(&tool, &e)) {
        CHECK_EQ(e.phnum, 3);
        CHECK_EQ(e.shnum, NSECS);
        CHECK_EQ(e.shstrndx, 4);
        CHECK_EQ(e.ph[1].p_memsz, 0x20);
        CHECK(strcmp(pvelf_section_name(&e, 0), "") == 0);
        CHECK(strcmp(pvelf_section_name(&e, 1), ".text") == 0);
        CHECK(strcmp(pvelf_section_name(&e, 4), ".shstrtab") == 0);
        pvelf_close(&e);
        CHECK(e.ph == NULL && e.sh == NULL);
    }
    FINE(&kernel);
    REFUSED(&provider, "an executable (ELF type 2); expected a 64-bit x86-64 shared object");
    eh()->e_type = ET_DYN;
    FINE(&provider);
    FINE(&tool);
    REFUSED(&kernel, "a shared object (ELF type 3); expected a 64-bit x86-64 executable");
}

static void identification(void)
{
    make(), f.n = 0;
    REFUSED(&tool, "not an ELF file (empty)");
    make(), f.n = 3;
    REFUSED(&tool, "not an ELF file (bad magic)");
    make(), f.b[1] = 'X';
    REFUSED(&tool, "not an ELF file (bad magic)");
    make(), f.n = 40;
    REFUSED(&tool, "truncated: the ELF header ends at byte 64, the file has 40");
    make(), f.b[EI_CLASS] = ELFCLASS32;
    REFUSED(&tool, "a 32-bit ELF file (class 1)" EXEC_OR_SO);
    make(), f.b[EI_CLASS] = 9;
    REFUSED(&tool, "an ELF file of unknown class 9" EXEC_OR_SO);
    make(), f.b[EI_DATA] = ELFDATA2MSB;
    REFUSED(&tool, "a big-endian ELF file (data encoding 2)" EXEC_OR_SO);
    make(), f.b[EI_DATA] = 0;
    REFUSED(&tool, "an ELF file of unknown data encoding 0" EXEC_OR_SO);
    make(), f.b[EI_VERSION] = 0;
    REFUSED(&tool, "unsupported ELF version 0 (e_ident[EI_VERSION]), expected 1");
}

static void header(void)
{
    make(), eh()->e_machine = EM_AARCH64;
    REFUSED(&tool, "built for another machine (ELF machine 183, AArch64)" EXEC_OR_SO);
    make(), eh()->e_machine = 9999;
    REFUSED(&kernel, "built for another machine (ELF machine 9999, unknown); expected a "
            "64-bit x86-64 executable");
    make(), eh()->e_version = 2;
    REFUSED(&tool, "unsupported ELF version 2 (e_version), expected 1");
    make(), eh()->e_type = ET_REL;
    REFUSED(&tool, "a relocatable object (ELF type 1)" EXEC_OR_SO);
    make(), eh()->e_type = ET_CORE;
    REFUSED(&kernel, "a core file (ELF type 4); expected a 64-bit x86-64 executable");
    make(), eh()->e_type = 0xfe00;
    REFUSED(&tool, "an ELF file of unknown type 65024" EXEC_OR_SO);
    make(), eh()->e_ehsize = 52;
    REFUSED(&tool, "ELF header size 52, expected 64");
}

static void section_table(void)
{
    struct pvelf e;

    make(), eh()->e_shoff = 0;
    REFUSED(&tool, "section header table offset is 0 but there are 5 sections");
    eh()->e_shnum = 0; /* no section headers at all */
    if (ACCEPTED(&tool, &e)) {
        CHECK(e.shnum == 0 && e.sh == NULL);
        pvelf_close(&e);
    }
    make(), eh()->e_shentsize = 40;
    REFUSED(&tool, "section header entry size 40, expected 64");
    make(), eh()->e_shoff = 0x200;
    REFUSED(&tool, "truncated: the section header table of 5 entries (offset 0x200, 0x140 "
            "bytes) ends at byte 832, the file has 664");
    make(), f.n -= 64;
    REFUSED(&tool, "truncated: the section header table of 5 entries (offset 0x158, 0x140 "
            "bytes) ends at byte 664, the file has 600");
}

/* With extended numbering, section 0 holds the counts. */
static void extended_numbering(void)
{
    struct pvelf e;

    make();
    eh()->e_shnum = 0, sh(0)->sh_size = NSECS;
    eh()->e_shstrndx = SHN_XINDEX, sh(0)->sh_link = 4;
    eh()->e_phnum = PN_XNUM, sh(0)->sh_info = 3;
    if (ACCEPTED(&tool, &e)) {
        CHECK_EQ(e.shnum, NSECS);
        CHECK_EQ(e.shstrndx, 4);
        CHECK_EQ(e.phnum, 3);
        CHECK(strcmp(pvelf_section_name(&e, 2), ".data") == 0);
        pvelf_close(&e);
    }
    sh(0)->sh_size = 1ull << 62;
    REFUSED(&tool, "truncated: the section header table of 4611686018427387904 entries "
            "(offset 0x158) ends past byte 2^64, the file has 664");
    sh(0)->sh_size = 0; /* then there are no sections, and no program header count */
    REFUSED(&tool, "program header count is in section 0 (PN_XNUM), but there is no section "
            "header table");
    eh()->e_phnum = 3;
    FINE(&tool);
    eh()->e_shoff = f.n - 8;
    REFUSED(&tool, "truncated: the section count in section header 0 (offset 0x290, 0x40 "
            "bytes) ends at byte 720, the file has 664");
}

static void sections(void)
{
    make(), sh(1)->sh_offset = 0x1000;
    REFUSED(&tool, "truncated: section [1] (offset 0x1000, 0x10 bytes) ends at byte 4112, "
            "the file has 664");
    make(), sh(1)->sh_size = ~0ull;
    REFUSED(&tool, "truncated: section [1] (offset 0x100, 0xffffffffffffffff bytes) ends "
            "past byte 2^64, the file has 664");
    make(), sh(2)->sh_type = SHT_NOBITS, sh(2)->sh_offset = ~0ull; /* holds no bytes */
    FINE(&tool);
    make(), eh()->e_shstrndx = 0;
    REFUSED(&tool, "no section name table (e_shstrndx is 0)");
    make(), eh()->e_shstrndx = 9;
    REFUSED(&tool, "section name table index 9 out of range (5 sections)");
    make(), eh()->e_shstrndx = 1;
    REFUSED(&tool, "section name table [1] is not a string table (type 1)");
    make(), sh(2)->sh_name = sizeof names;
    REFUSED(&tool, "section [2]: name offset 0x1d outside the section name table");
    /* a name table not ending in a NUL: each name is looked for */
    make(), sh(4)->sh_size = sizeof names - 2;
    REFUSED(&tool, "section [4]: name offset 0x13 outside the section name table");
    sh(4)->sh_name = 13;
    FINE(&tool);
}

static void strings(void)
{
    struct pvelf e;

    make();
    if (!ACCEPTED(&tool, &e))
        return;
    CHECK(strcmp(pvelf_string(&e, 4, 1), ".text") == 0);
    CHECK(strcmp(pvelf_string(&e, 4, 3), "ext") == 0);
    CHECK(strcmp(pvelf_string(&e, 4, sizeof names - 1), "") == 0);
    CHECK(pvelf_string(&e, 4, sizeof names) == NULL); /* past the table */
    CHECK(pvelf_string(&e, 1, 0) == NULL);            /* not a string table */
    CHECK(pvelf_string(&e, 0, 0) == NULL);
    CHECK(pvelf_string(&e, NSECS, 0) == NULL);
    pvelf_close(&e);
}

static void program_headers(void)
{
    make(), eh()->e_phentsize = 32;
    REFUSED(&tool, "program header entry size 32, expected 56");
    make(), eh()->e_phoff = 0x280;
    REFUSED(&tool, "truncated: the program header table of 3 entries (offset 0x280, 0xa8 "
            "bytes) ends at byte 808, the file has 664");
    make(), eh()->e_phnum = 0;
    REFUSED(&kernel, "no loadable segments (PT_LOAD)");
    make(), ph(0)->p_type = PT_NULL, ph(1)->p_type = PT_DYNAMIC;
    REFUSED(&tool, "no loadable segments (PT_LOAD)");
}

static void segments(void)
{
    make(), ph(2)->p_offset = 0x1000;
    REFUSED(&tool, "truncated: segment 2 (offset 0x1000, 0x14 bytes) ends at byte 4116, the "
            "file has 664");
    make(), ph(0)->p_filesz = 0x20;
    REFUSED(&tool, "segment 0: file size 0x20 larger than its memory size 0x10");
    make(), ph(1)->p_vaddr = 0xfffffffffffffff0;
    REFUSED(&tool, "segment 1: address 0xfffffffffffffff0 + memory size 0x20 overflows");
    FINE(&kernel); /* placed at its physical address */
    make(), ph(1)->p_paddr = 0xfffffffffffffff0;
    REFUSED(&kernel, "segment 1: physical address 0xfffffffffffffff0 + memory size 0x20 "
            "overflows");
    FINE(&tool);
}

static void overlap(void)
{
    make(), ph(1)->p_vaddr = 0x400108;
    REFUSED(&tool, "loadable segments 0 and 1 overlap: [0x400100, +0x10) and [0x400108, "
            "+0x20)");
    FINE(&kernel);
    make(), ph(1)->p_paddr = 0x1000f0;
    REFUSED(&kernel, "loadable segments 0 and 1 overlap: [0x100100, +0x10) and [0x1000f0, "
            "+0x20) (physical addresses)");
    FINE(&tool);
    make(), ph(1)->p_vaddr = 0x400110; /* touching is not overlapping */
    FINE(&tool);
    make(), ph(2)->p_type = PT_LOAD, ph(2)->p_vaddr = 0x400100, ph(2)->p_memsz = 0;
    ph(2)->p_filesz = 0; /* an empty segment takes no room */
    FINE(&tool);
}

struct seen {
    unsigned n, stop;
    struct pvelf_note last;
};

static int see(void *ctx, const struct pvelf_note *n)
{
    struct seen *s = ctx;

    s->last = *n;
    return ++s->n == s->stop ? 7 : 0;
}

static void notes(void)
{
    struct seen s = {0, 0, {0}};
    struct pvelf e;
    uint32_t entry;

    make();
    if (!ACCEPTED(&kernel, &e))
        return;
    CHECK_EQ(pvelf_notes(&e, see, &s), PVELF_OK);
    CHECK_EQ(s.n, 1);
    CHECK(s.last.seg == 2 && s.last.off == NOTE_OFF && s.last.type == 18);
    CHECK(s.last.namesz == 4 && memcmp(s.last.name, "Xen", 4) == 0 && s.last.descsz == 4);
    memcpy(&entry, s.last.desc, 4);
    CHECK_EQ(entry, 0x400100);
    s = (struct seen){0, 1, {0}};
    CHECK_EQ(pvelf_notes(&e, see, &s), 7); /* the callback's value stops the walk */
    pvelf_close(&e);

    make(), ((uint32_t *)(f.b + NOTE_OFF))[1] = 4000;
    if (ACCEPTED(&kernel, &e)) {
        CHECK_EQ(pvelf_notes(&e, see, &s), PVELF_BAD);
        if (strcmp(e.msg, "segment 2: the note at offset 0x120 (name 4 bytes, descriptor 4000 "
                   "bytes) runs past the segment, which ends at 0x134") != 0)
            t_fail(__FILE__, __LINE__, "message: %s", e.msg);
        pvelf_close(&e);
    }
    make(), ((uint32_t *)(f.b + NOTE_OFF))[0] = 0xffffffff;
    if (ACCEPTED(&kernel, &e)) {
        CHECK_EQ(pvelf_notes(&e, see, &s), PVELF_BAD);
        CHECK(strstr(e.msg, "(name 4294967295 bytes, descriptor 4 bytes) runs past") != NULL);
        pvelf_close(&e);
    }
}

/* Empty notes (a header of zeros) fill a PT_NOTE: (n) of them. */
static unsigned empty_notes(unsigned n)
{
    struct seen s = {0, 0, {0}};
    struct pvelf e;
    int r = PVELF_NOMEM;

    make();
    ph(2)->p_offset = f.n, ph(2)->p_filesz = ph(2)->p_memsz = n * sizeof(Elf64_Nhdr);
    f.n += n * sizeof(Elf64_Nhdr);
    if (ACCEPTED(&tool, &e)) {
        r = pvelf_notes(&e, see, &s);
        if (r != PVELF_OK && strcmp(e.msg, "more than 4096 notes in the PT_NOTE segments"))
            t_fail(__FILE__, __LINE__, "message: %s", e.msg);
        pvelf_close(&e);
    }
    return r == PVELF_OK ? s.n : 0;
}

static void notes_bounded(void)
{
    CHECK_EQ(empty_notes(PVELF_NOTES_MAX), PVELF_NOTES_MAX);
    CHECK_EQ(empty_notes(PVELF_NOTES_MAX + 1), 0);
}

T_CASES(T(accepted_as_asked), T(identification), T(header), T(section_table),
        T(extended_numbering), T(sections), T(strings), T(program_headers), T(segments),
        T(overlap), T(notes), T(notes_bounded))
