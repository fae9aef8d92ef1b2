/*
 * Compatibility fixtures (tests/fixtures/, see its README): a kernel ELF
 * and a ROM image of format 2.0, built once and kept, and what linking
 * them produced when they were made.  Every later build must still
 * accept both and plan byte for byte the same link: a change of the
 * format, of the checks or of the emitter that breaks an existing binary
 * or ROM shows up here.  (`pvlink plan` on the same pair is compared
 * with its golden text by tests/tool/test.sh.)
 *
 * PVL_FIXTURE_WRITE=FILE writes the bytes file instead of comparing:
 * only when fixtures are made (never to make this test pass).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pvlink/kernel_ops.h"
#include "pvlink/link.h"

#define DIR "tests/fixtures/"
#define KERNEL DIR "pvlink-kernel-2.0.elf"
#define ROM DIR "pvlink-2.0.rom"
#define BYTES DIR "pvlink-kernel-2.0.bytes"
#define ROM_ADDR 0xc0000u /* where the monitor maps it (MON_ROM_GPA) */
#define MAX_EXEC 8

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    *len = buf ? (size_t)n : 0;
    fclose(f);
    return buf;
}

/* The kernel as loaded: its PT_LOAD segments in one buffer. */
struct kernel {
    uint8_t *image;
    uint64_t lo, hi; /* link addresses */
    struct pvl_range exec[MAX_EXEC];
    size_t nexec;
    const struct pvl_site *sites;
    size_t nsites;
};

static int load_kernel(struct kernel *k, const uint8_t *f, size_t len)
{
    const Elf64_Ehdr *eh = (const void *)f;
    const Elf64_Phdr *ph;
    const Elf64_Shdr *sh;
    const char *names;

    memset(k, 0, sizeof *k);
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phoff > len ||
        eh->e_phnum > (len - eh->e_phoff) / sizeof *ph || eh->e_shoff > len ||
        eh->e_shnum > (len - eh->e_shoff) / sizeof *sh || eh->e_shstrndx >= eh->e_shnum)
        return -1;
    ph = (const void *)(f + eh->e_phoff);
    sh = (const void *)(f + eh->e_shoff);
    k->lo = UINT64_MAX;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            if (ph[i].p_vaddr < k->lo)
                k->lo = ph[i].p_vaddr;
            if (ph[i].p_vaddr + ph[i].p_memsz > k->hi)
                k->hi = ph[i].p_vaddr + ph[i].p_memsz;
        }
    if (k->lo >= k->hi || k->hi - k->lo > (64u << 20) || !(k->image = calloc(1, k->hi - k->lo)))
        return -1;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            if (ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset ||
                ph[i].p_filesz > ph[i].p_memsz)
                return -1;
            memcpy(k->image + (ph[i].p_vaddr - k->lo), f + ph[i].p_offset, ph[i].p_filesz);
        }
    names = (const char *)f + sh[eh->e_shstrndx].sh_offset;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_NOBITS || !sh[i].sh_size || !(sh[i].sh_flags & SHF_ALLOC))
            continue;
        if (sh[i].sh_addr < k->lo || sh[i].sh_size > k->hi - sh[i].sh_addr)
            return -1;
        uintptr_t at = (uintptr_t)(k->image + (sh[i].sh_addr - k->lo));
        if ((sh[i].sh_flags & SHF_EXECINSTR) && k->nexec < MAX_EXEC)
            k->exec[k->nexec++] = (struct pvl_range){at, at + sh[i].sh_size};
        if (!strcmp(names + sh[i].sh_name, "pvlink_sites")) {
            k->sites = (const struct pvl_site *)at;
            k->nsites = sh[i].sh_size / sizeof(struct pvl_site);
        }
    }
    return k->sites && k->nexec ? 0 : -1;
}

struct fixture {
    struct kernel k;
    struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    uint8_t *rom;
    size_t rom_len;
};

/* Loads both fixtures; 0 and a failure recorded when one is missing or
 * refused. */
static int load(struct fixture *fx)
{
    struct pvl_diag d = {0};
    uint8_t *elf;
    size_t len;
    char msg[256];

    memset(fx, 0, sizeof *fx);
    if (!(elf = slurp(KERNEL, &len)) || !(fx->rom = slurp(ROM, &fx->rom_len))) {
        t_fail(__FILE__, __LINE__, "cannot read %s or %s (run from the source tree)",
               KERNEL, ROM);
        free(elf);
        return 0;
    }
    int bad = load_kernel(&fx->k, elf, len);
    free(elf);
    if (bad) {
        t_fail(__FILE__, __LINE__, "%s: not the kernel ELF this test reads", KERNEL);
        return 0;
    }
    if (pvl_rom_load(fx->rom, fx->rom_len, ROM_ADDR, &pvl_kernel_iface, fx->impl, &fx->env,
                     &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        t_fail(__FILE__, __LINE__, "%s refused: %s", ROM, msg);
        return 0;
    }
    return 1;
}

static void request(struct fixture *fx, struct pvl_link *l, unsigned flags,
                    struct pvl_report *rep, struct pvl_diag *d)
{
    *l = (struct pvl_link){
        .sites = fx->k.sites,
        .nsites = fx->k.nsites,
        .lo = (uintptr_t)fx->k.image,
        .hi = (uintptr_t)fx->k.image + (uintptr_t)(fx->k.hi - fx->k.lo),
        .exec = fx->k.exec,
        .nexec = fx->k.nexec,
        .bias = (int64_t)(fx->k.lo - (uint64_t)(uintptr_t)fx->k.image),
        .iface = &pvl_kernel_iface,
        .env = &fx->env,
        .flags = flags,
        .report = rep,
        .diag = d,
    };
}

static void done(struct fixture *fx)
{
    free(fx->k.image);
    free(fx->rom);
}

/* Every record passes the linker's record check and the table its table
 * check, as the format-2.0 kernel they were made from. */
static void fixture_records_valid(void)
{
    struct fixture fx;
    struct pvl_link l;
    struct pvl_diag d = {0};
    char msg[256];

    if (!load(&fx))
        return;
    request(&fx, &l, 0, NULL, &d);
    CHECK(fx.k.nsites > 100);
    for (size_t i = 0; i < fx.k.nsites; i++) {
        struct pvl_site_info si;
        if (pvl_site_check(&l, i, &si, &d) != PVL_OK) {
            pvl_diag_format(&d, msg, sizeof msg);
            t_fail(__FILE__, __LINE__, "site %zu: %s", i, msg);
        }
    }
    CHECK_EQ(pvl_table_check(&l, &d), PVL_OK);
    done(&fx);
}

/* The ROM is accepted, with every operation the kernel uses. */
static void fixture_rom_valid(void)
{
    struct fixture fx;

    if (!load(&fx))
        return;
    CHECK(fx.env.probe == 0); /* the 2.0 pvlink ROM has none */
    for (unsigned op = 0; op < PVK_NOPS; op++)
        if (fx.env.impl[op].action == PVL_ACT_CALL)
            CHECK(fx.env.impl[op].call != 0);
    done(&fx);
}

/* The link writes the same bytes into every room as when the fixtures
 * were made: tests/fixtures/pvlink-kernel-2.0.bytes, one line per site
 * "INDEX ADDRESS OP ACTION-COUNTS... BYTES". */
static void fixture_link_byte_identical(void)
{
    struct fixture fx;
    struct pvl_link l;
    struct pvl_report rep = {0};
    struct pvl_diag d = {0};
    char msg[256];
    const char *out = getenv("PVL_FIXTURE_WRITE");

    if (!load(&fx))
        return;
    request(&fx, &l, 0, &rep, &d);
    if (pvl_link(&l) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        t_fail(__FILE__, __LINE__, "link refused: %s", msg);
        done(&fx);
        return;
    }
    /* the text: a header line of totals, then each room as linked */
    size_t cap = 64 + fx.k.nsites * (40 + 3 * PVL_ROOM_MAX), n = 0;
    char *text = malloc(cap);
    n += (size_t)snprintf(text + n, cap - n,
                          "sites %u native %u inline %u call %u nop %u changed %u\n",
                          rep.nsites, rep.count[PVL_ACT_NATIVE], rep.count[PVL_ACT_INLINE],
                          rep.count[PVL_ACT_CALL], rep.count[PVL_ACT_NOP], rep.nchanged);
    for (size_t i = 0; i < fx.k.nsites; i++) {
        const struct pvl_site *s = &fx.k.sites[i];
        const uint8_t *at = (const uint8_t *)&s->addr + s->addr;
        n += (size_t)snprintf(text + n, cap - n, "%zu %#llx op%u", i,
                              (unsigned long long)((uintptr_t)at + (uintptr_t)l.bias),
                              (unsigned)s->op);
        for (unsigned b = 0; b < s->room; b++)
            n += (size_t)snprintf(text + n, cap - n, " %02x", at[b]);
        n += (size_t)snprintf(text + n, cap - n, "\n");
    }
    if (out) {
        FILE *f = fopen(out, "w");
        CHECK(f && fwrite(text, 1, n, f) == n && fclose(f) == 0);
    } else {
        size_t glen;
        uint8_t *want = slurp(BYTES, &glen);
        if (!want) {
            t_fail(__FILE__, __LINE__, "cannot read %s", BYTES);
        } else if (glen != n || memcmp(want, text, n)) {
            size_t k = 0, line = 1;
            while (k < n && k < glen && want[k] == (uint8_t)text[k])
                line += text[k++] == '\n';
            t_fail(__FILE__, __LINE__, "the link differs from %s from line %zu", BYTES, line);
        }
        free(want);
    }
    free(text);
    done(&fx);
}

T_CASES(T(fixture_records_valid), T(fixture_rom_valid), T(fixture_link_byte_identical))
