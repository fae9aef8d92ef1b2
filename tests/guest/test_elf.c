/*
 * guest-elf: the reference kernel file, checked as the loaders and the
 * linker will see it.  The kernel is named by PVL_GUEST_KERNEL.
 *
 *   elf_header     ELF64, x86-64, ET_EXEC, e_entry at or above 1 MiB
 *   segments       PT_LOADs at their physical addresses, >= 1 MiB, in the
 *                  file, none writable and executable
 *   pvh_note       one PT_NOTE, the last, p_align <= 4 (QEMU aligns the
 *                  descriptor to it), holding "Xen" type 18 whose entry
 *                  lies in an executable PT_LOAD
 *   no_multiboot   no multiboot (0x1BADB002, first 8 KiB) or multiboot2
 *                  (0xE85250D6, first 32 KiB) magic at any 4-byte offset
 *   sites          a non-empty site table; pvl_link (dry run, env NULL)
 *                  over the image as loaded accepts every record as
 *                  native; planning each site native reproduces its bytes
 *   ops_covered    every catalog operation the kernel uses has a site
 *   privileged     outside sites, no privileged or sensitive instruction
 *                  in 64-bit text except lgdt, lidt, ltr and iretq
 *   checks_detect  the note and multiboot checks fail on doctored copies
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include <pvlink/kernel_ops.h>
#include <pvlink/link.h>

#include "../harness.h"

#define MIB (1ull << 20)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct kfile {
    uint8_t *data;
    size_t len;
};

static struct kfile kf;
static uint8_t *img;     /* PT_LOAD segments as loaded */
static uint64_t img_base, img_size;

static const Elf64_Ehdr *ehdr(const struct kfile *f)
{
    return (const Elf64_Ehdr *)f->data;
}

static const Elf64_Phdr *phdr(const struct kfile *f, unsigned i)
{
    return (const Elf64_Phdr *)(f->data + ehdr(f)->e_phoff) + i;
}

static int load_file(void)
{
    const char *path = getenv("PVL_GUEST_KERNEL");
    FILE *fp;
    long n;

    if (kf.data)
        return 0;
    if (!path || !(fp = fopen(path, "rb"))) {
        t_fail(__FILE__, __LINE__, "cannot open PVL_GUEST_KERNEL=%s",
               path ? path : "(unset)");
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    kf.data = malloc((size_t)n);
    kf.len = (size_t)n;
    if (!kf.data || fread(kf.data, 1, kf.len, fp) != kf.len) {
        t_fail(__FILE__, __LINE__, "cannot read %s", path);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    if (kf.len < sizeof(Elf64_Ehdr) ||
        ehdr(&kf)->e_phoff + (uint64_t)ehdr(&kf)->e_phnum * sizeof(Elf64_Phdr) > kf.len ||
        ehdr(&kf)->e_shoff + (uint64_t)ehdr(&kf)->e_shnum * sizeof(Elf64_Shdr) > kf.len) {
        t_fail(__FILE__, __LINE__, "%s: headers outside the file", path);
        return -1;
    }
    return 0;
}

/* ---- the checks, on any copy of the file ------------------------------ */

/* Returns the PVH entry from the last PT_NOTE, or 0 (with *why). */
static uint64_t pvh_entry(const struct kfile *f, const char **why)
{
    const Elf64_Phdr *last = NULL;

    for (unsigned i = 0; i < ehdr(f)->e_phnum; i++)
        if (phdr(f, i)->p_type == PT_NOTE)
            last = phdr(f, i);
    if (!last)
        return *why = "no PT_NOTE", 0;
    if (last->p_offset + last->p_filesz > f->len)
        return *why = "PT_NOTE outside the file", 0;
    for (uint64_t off = 0; off + 12 <= last->p_filesz;) {
        const uint32_t *n = (const uint32_t *)(f->data + last->p_offset + off);
        uint64_t name = off + 12, desc = name + ((n[0] + 3u) & ~3u);
        if (n[0] == 4 && n[2] == XEN_ELFNOTE_PHYS32_ENTRY && n[1] >= 4 &&
            desc + 4 <= last->p_filesz &&
            !memcmp(f->data + last->p_offset + name, "Xen", 4))
            return *(const uint32_t *)(f->data + last->p_offset + desc);
        off = desc + ((n[1] + 3u) & ~3u);
    }
    return *why = "no Xen note of type 18 in the last PT_NOTE", 0;
}

/* Offset of a multiboot magic at a 4-aligned offset, or -1. */
static long multiboot_at(const struct kfile *f)
{
    for (size_t off = 0; off + 4 <= f->len && off < 32768; off += 4) {
        uint32_t v;
        memcpy(&v, f->data + off, 4);
        if ((v == 0x1BADB002u && off < 8192) || v == 0xE85250D6u)
            return (long)off;
    }
    return -1;
}

/* ---- loading the image as a loader would ------------------------------ */

static int load_image(void)
{
    uint64_t lo = UINT64_MAX, hi = 0;

    if (img)
        return 0;
    if (load_file())
        return -1;
    for (unsigned i = 0; i < ehdr(&kf)->e_phnum; i++) {
        const Elf64_Phdr *p = phdr(&kf, i);
        if (p->p_type != PT_LOAD)
            continue;
        lo = p->p_paddr < lo ? p->p_paddr : lo;
        hi = p->p_paddr + p->p_memsz > hi ? p->p_paddr + p->p_memsz : hi;
    }
    if (lo >= hi || hi - lo > (64u << 20)) {
        t_fail(__FILE__, __LINE__, "PT_LOAD span [%#lx, %#lx) unusable",
               (unsigned long)lo, (unsigned long)hi);
        return -1;
    }
    img_base = lo, img_size = hi - lo;
    img = calloc(1, img_size);
    for (unsigned i = 0; img && i < ehdr(&kf)->e_phnum; i++) {
        const Elf64_Phdr *p = phdr(&kf, i);
        if (p->p_type == PT_LOAD && p->p_offset + p->p_filesz <= kf.len)
            memcpy(img + (p->p_paddr - lo), kf.data + p->p_offset, p->p_filesz);
    }
    return img ? 0 : -1;
}

static const Elf64_Shdr *section(const char *name)
{
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(kf.data + ehdr(&kf)->e_shoff);
    const Elf64_Shdr *str = &sh[ehdr(&kf)->e_shstrndx];

    for (unsigned i = 0; i < ehdr(&kf)->e_shnum; i++)
        if (str->sh_offset + sh[i].sh_name < kf.len &&
            !strcmp((const char *)kf.data + str->sh_offset + sh[i].sh_name, name))
            return &sh[i];
    return NULL;
}

static uint64_t symbol(const char *name)
{
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(kf.data + ehdr(&kf)->e_shoff);
    const Elf64_Shdr *symtab = section(".symtab");

    if (!symtab)
        return 0;
    const Elf64_Sym *s = (const Elf64_Sym *)(kf.data + symtab->sh_offset);
    const char *strs = (const char *)kf.data + sh[symtab->sh_link].sh_offset;
    for (size_t i = 0; i < symtab->sh_size / sizeof *s; i++)
        if (!strcmp(strs + s[i].st_name, name))
            return s[i].st_value;
    return 0;
}

static const struct pvl_site *sites(size_t *n)
{
    const Elf64_Shdr *s = section("pvlink_sites");

    if (!s || s->sh_addr < img_base || s->sh_addr + s->sh_size > img_base + img_size)
        return *n = 0, NULL;
    *n = s->sh_size / sizeof(struct pvl_site);
    return (const struct pvl_site *)(img + (s->sh_addr - img_base));
}

static void link_request(struct pvl_link *l, struct pvl_report *rep,
                         struct pvl_diag *d)
{
    static struct pvl_range text; /* rooms only in .text, as the kernel says */
    const Elf64_Shdr *t = section(".text");
    size_t n;
    const struct pvl_site *s = sites(&n);

    if (t && t->sh_addr >= img_base && t->sh_addr + t->sh_size <= img_base + img_size)
        text = (struct pvl_range){(uintptr_t)img + (t->sh_addr - img_base),
                                  (uintptr_t)img + (t->sh_addr - img_base) + t->sh_size};
    *l = (struct pvl_link){
        .sites = s, .nsites = n, .lo = (uintptr_t)img,
        .hi = (uintptr_t)img + img_size, .exec = &text, .nexec = 1,
        .bias = (int64_t)(img_base - (uintptr_t)img),
        .iface = &pvl_kernel_iface, .env = NULL, .flags = PVL_LINK_DRY_RUN,
        .report = rep, .diag = d};
}

/* ---- cases ------------------------------------------------------------ */

static void elf_header(void)
{
    if (load_file())
        return;
    const Elf64_Ehdr *e = ehdr(&kf);
    CHECK(!memcmp(e->e_ident, ELFMAG, SELFMAG));
    CHECK_EQ(e->e_ident[EI_CLASS], ELFCLASS64);
    CHECK_EQ(e->e_ident[EI_DATA], ELFDATA2LSB);
    CHECK_EQ(e->e_type, ET_EXEC);
    CHECK_EQ(e->e_machine, EM_X86_64);
    CHECK(e->e_entry >= MIB);
}

static void segments(void)
{
    unsigned loads = 0;

    if (load_file())
        return;
    for (unsigned i = 0; i < ehdr(&kf)->e_phnum; i++) {
        const Elf64_Phdr *p = phdr(&kf, i);
        if (p->p_type != PT_LOAD)
            continue;
        loads++;
        CHECK_EQ(p->p_paddr, p->p_vaddr);
        CHECK(p->p_paddr >= MIB);
        CHECK(p->p_filesz <= p->p_memsz);
        CHECK(p->p_offset + p->p_filesz <= kf.len);
        CHECK((p->p_flags & (PF_W | PF_X)) != (PF_W | PF_X));
    }
    CHECK(loads > 0);
}

static void pvh_note(void)
{
    const char *why = "";
    unsigned notes = 0, last = 0, exec = 0;

    if (load_file())
        return;
    for (unsigned i = 0; i < ehdr(&kf)->e_phnum; i++)
        if (phdr(&kf, i)->p_type == PT_NOTE)
            notes++, last = i;
    CHECK_EQ(notes, 1);
    CHECK(phdr(&kf, last)->p_align <= 4);
    uint64_t entry = pvh_entry(&kf, &why);
    if (!entry) {
        t_fail(__FILE__, __LINE__, "%s", why);
        return;
    }
    CHECK(entry >= MIB);
    for (unsigned i = 0; i < ehdr(&kf)->e_phnum; i++) {
        const Elf64_Phdr *p = phdr(&kf, i);
        exec += p->p_type == PT_LOAD && (p->p_flags & PF_X) &&
                entry >= p->p_paddr && entry < p->p_paddr + p->p_filesz;
    }
    CHECK_EQ(exec, 1);
    CHECK_EQ(entry, symbol("_start32"));
}

static void no_multiboot(void)
{
    if (load_file())
        return;
    long at = multiboot_at(&kf);
    if (at >= 0)
        t_fail(__FILE__, __LINE__, "multiboot magic at file offset %#lx", at);
}

static void sites_valid(void)
{
    struct pvl_report rep = {0};
    struct pvl_diag d = {0};
    struct pvl_link l;
    char msg[200];

    if (load_image())
        return;
    link_request(&l, &rep, &d);
    CHECK(l.nsites > 0);
    pvl_result r = pvl_link(&l);
    pvl_diag_format(&d, msg, sizeof msg);
    if (r != PVL_OK)
        t_fail(__FILE__, __LINE__, "pvl_link: %s", msg);
    CHECK_EQ(rep.count[PVL_ACT_NATIVE], l.nsites);
    CHECK_EQ(rep.nother, 0);
    CHECK_EQ(rep.nrefused, 0);
    for (size_t i = 0; i < l.nsites; i++) {
        struct pvl_site_info si;
        uint8_t out[PVL_ROOM_MAX];
        int action;
        if (pvl_plan_site(&l, i, &si, &action, out, NULL) != PVL_OK ||
            memcmp(out, si.local, si.room) != 0) {
            t_fail(__FILE__, __LINE__, "site %zu at %#lx (%s): native plan "
                   "differs from its bytes", i, (unsigned long)si.addr,
                   pvl_kernel_iface.ops[si.op].name);
            return;
        }
        const struct pvl_op_info *op = &pvl_kernel_iface.ops[si.op];
        CHECK(op->native_len <= si.room);
        CHECK(!memcmp(si.local, op->native, op->native_len));
    }
}

/* The operations the kernel does not use: nothing needs 16- or 32-bit
 * port input or 16-bit output. */
static int unused_op(int op)
{
    return op == PVK_OP_INW || op == PVK_OP_INL || op == PVK_OP_OUTW;
}

static void ops_covered(void)
{
    unsigned count[PVK_NOPS] = {0};
    size_t n;

    if (load_image())
        return;
    const struct pvl_site *s = sites(&n);
    for (size_t i = 0; i < n; i++)
        if (s[i].op < PVK_NOPS)
            count[s[i].op]++;
    for (int op = 0; op < PVK_NOPS; op++)
        if (!unused_op(op) && count[op] == 0)
            t_fail(__FILE__, __LINE__, "no site for %s",
                   pvl_kernel_iface.ops[op].name);
}

/* Instructions that must be sites in 64-bit code (besides those Zydis
 * marks privileged): port I/O, the flag-changing and flag-reading ones
 * that are interrupt-flag operations, TSC and CPUID. */
static int sensitive(const ZydisDecodedInstruction *z,
                     const ZydisDecodedOperand *ops)
{
    static const ZydisMnemonic m[] = {
        ZYDIS_MNEMONIC_IN,    ZYDIS_MNEMONIC_OUT,    ZYDIS_MNEMONIC_INSB,
        ZYDIS_MNEMONIC_INSW,  ZYDIS_MNEMONIC_INSD,   ZYDIS_MNEMONIC_OUTSB,
        ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD,  ZYDIS_MNEMONIC_CLI,
        ZYDIS_MNEMONIC_STI,   ZYDIS_MNEMONIC_PUSHFQ, ZYDIS_MNEMONIC_POPFQ,
        ZYDIS_MNEMONIC_RDTSC, ZYDIS_MNEMONIC_RDTSCP, ZYDIS_MNEMONIC_CPUID,
    };

    if (z->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
        return 1;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (z->mnemonic == m[i])
            return 1;
    for (unsigned i = 0; i < z->operand_count; i++)
        if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (ZydisRegisterGetClass(ops[i].reg.value) == ZYDIS_REGCLASS_CONTROL ||
             ZydisRegisterGetClass(ops[i].reg.value) == ZYDIS_REGCLASS_DEBUG))
            return 1;
    return 0;
}

static int allowed(ZydisMnemonic m)
{
    return m == ZYDIS_MNEMONIC_LGDT || m == ZYDIS_MNEMONIC_LIDT ||
           m == ZYDIS_MNEMONIC_LTR || m == ZYDIS_MNEMONIC_IRETQ;
}

static int in_site(uint64_t addr)
{
    size_t n;
    const struct pvl_site *s = sites(&n);

    for (size_t i = 0; i < n; i++) {
        uint64_t a = (uintptr_t)pvl_rel(&s[i].addr) - (uintptr_t)img + img_base;
        if (addr >= a && addr < a + s[i].room)
            return 1;
    }
    return 0;
}

static void privileged(void)
{
    ZydisDecoder zd;
    ZydisDecodedInstruction z;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    const Elf64_Shdr *text;
    uint64_t start, end, nins = 0, nsens = 0;

    if (load_image())
        return;
    text = section(".text");
    start = symbol("k_start64");
    CHECK(text && start > text->sh_addr);
    if (!text || start <= text->sh_addr)
        return;
    end = text->sh_addr + text->sh_size;
    ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    for (uint64_t a = start; a < end; a += z.length, nins++) {
        const uint8_t *p = img + (a - img_base);
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zd, p, end - a, &z, ops))) {
            t_fail(__FILE__, __LINE__, "cannot decode at %#lx: %s",
                   (unsigned long)a, t_hex(p, 8));
            return;
        }
        if (!sensitive(&z, ops) || allowed(z.mnemonic))
            continue;
        nsens++;
        if (!in_site(a))
            t_fail(__FILE__, __LINE__, "%s at %#lx is not in a site",
                   ZydisMnemonicGetString(z.mnemonic), (unsigned long)a);
    }
    CHECK(nins > 1000);
    CHECK(nsens > 0);
}

static void checks_detect(void)
{
    struct kfile c;
    const char *why = "";

    if (load_file())
        return;
    c.len = kf.len;
    c.data = malloc(c.len);
    memcpy(c.data, kf.data, c.len);
    uint32_t mb = 0x1BADB002u;
    memcpy(c.data + 0x1000, &mb, 4);
    CHECK_EQ(multiboot_at(&c), 0x1000);
    memcpy(c.data, kf.data, c.len);
    for (unsigned i = 0; i < ehdr(&c)->e_phnum; i++)
        if (phdr(&c, i)->p_type == PT_NOTE)
            ((uint32_t *)(c.data + phdr(&c, i)->p_offset))[2] = 17;
    CHECK_EQ(pvh_entry(&c, &why), 0);
    CHECK(strstr(why, "type 18") != NULL);
    free(c.data);
}

T_CASES(T(elf_header), T(segments), T(pvh_note), T(no_multiboot),
        {"sites", sites_valid}, T(ops_covered), T(privileged),
        T(checks_detect))
