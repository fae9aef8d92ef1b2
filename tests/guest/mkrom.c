/*
 * guest-mkrom KIND OUT: write a test ROM image for the kernel catalog,
 * for the QEMU tests to place in the option-ROM area.
 * guest-mkrom expect KIND KERNEL: print what the kernel's link report
 * must say for that ROM, from the kernel file's own site table:
 * "native N, inline N, call N, nop N" or, for refuse, "refused N".
 *
 *   nop     io_delay and nop become NOPs
 *   mixed   every non-native action: io_delay calls into the ROM (a thunk
 *           doing the same outb), read_tsc is inlined (an equivalent
 *           sequence with other bytes), nop becomes NOPs
 *   refuse  io_delay NOPs, and a read_tsc template longer than its
 *           sites' room: the link must be refused as a whole
 *   badsum  the nop image with its checksum broken: must be rejected
 *   decline the nop image with a probe that always declines (xor %eax,
 *           %eax; ret): the kernel must keep every site native, on any
 *           monitor, and say so in one line
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel_ops.h>
#include <pvlink/link.h>

#include "../../tools/romb.h"

#define CLB_TSC (PVL_CLB(RAX) | PVL_CLB(RDX) | PVL_CLB(FLAGS))

/* rdtsc; shl $32, %rdx; add %rdx, %rax: the native read_tsc with "add"
 * for "or" (the halves do not overlap), so that inlining it changes the
 * sites' bytes but not what they compute */
static const unsigned char tsc_tmpl[] = {0x0f, 0x31, 0x48, 0xc1, 0xe2,
                                         0x20, 0x48, 0x01, 0xd0};
/* the same, then a 3-byte NOP: 12 bytes, for 9-byte sites */
static const unsigned char tsc_long[] = {0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20,
                                         0x48, 0x09, 0xd0, 0x0f, 0x1f, 0x00};
/* outb %al, $0x80; ret: io_delay as a call, changing nothing */
static const unsigned char io_thunk[] = {0xe6, 0x80, 0xc3};
/* xor %eax, %eax; ret: a probe that declines */
static const unsigned char no_probe[] = {0x31, 0xc0, 0xc3};

static void op_nop(struct romb *b, uint16_t op)
{
    romb_op(b, op, PVL_ACT_NOP, 0, 0, 0, ROMB_NONE, 0);
}

static void build(struct romb *b, const char *kind)
{
    romb_init(b, PVK_IFACE_NAME, PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    op_nop(b, PVK_OP_NOP);
    if (!strcmp(kind, "mixed")) {
        uint32_t t = romb_code(b, tsc_tmpl, sizeof tsc_tmpl);
        uint32_t c = romb_code(b, io_thunk, sizeof io_thunk);
        romb_op(b, PVK_OP_READ_TSC, PVL_ACT_INLINE, t, sizeof tsc_tmpl,
                CLB_TSC, ROMB_NONE, 0);
        romb_op(b, PVK_OP_IO_DELAY, PVL_ACT_CALL, 0, 0, 0, c, PVL_CLB(STACK));
        return;
    }
    op_nop(b, PVK_OP_IO_DELAY);
    if (!strcmp(kind, "decline"))
        romb_probe(b, romb_code(b, no_probe, sizeof no_probe));
    if (!strcmp(kind, "refuse")) {
        uint32_t t = romb_code(b, tsc_long, sizeof tsc_long);
        romb_op(b, PVK_OP_READ_TSC, PVL_ACT_INLINE, t, sizeof tsc_long,
                CLB_TSC, ROMB_NONE, 0);
    }
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long n;

    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n)) &&
        fread(p, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else
        free(p), p = NULL;
    if (f)
        fclose(f);
    return p;
}

/* The kernel's pvlink_sites section: (*n) records, or NULL. */
static const struct pvl_site *site_table(const unsigned char *f, size_t len,
                                         size_t *n)
{
    const Elf64_Ehdr *e = (const Elf64_Ehdr *)f;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + e->e_shoff);

    if (len < sizeof *e || e->e_shoff + (uint64_t)e->e_shnum * sizeof *sh > len ||
        e->e_shstrndx >= e->e_shnum)
        return NULL;
    for (unsigned i = 0; i < e->e_shnum; i++) {
        uint64_t name = sh[e->e_shstrndx].sh_offset + sh[i].sh_name;
        if (name + sizeof "pvlink_sites" <= len &&
            !strcmp((const char *)f + name, "pvlink_sites") &&
            sh[i].sh_offset + sh[i].sh_size <= len) {
            *n = sh[i].sh_size / sizeof(struct pvl_site);
            return (const struct pvl_site *)(f + sh[i].sh_offset);
        }
    }
    return NULL;
}

/* What the ROM of (kind) asks for each operation's sites. */
static int action_for(const char *kind, unsigned op)
{
    if (op == PVK_OP_NOP)
        return PVL_ACT_NOP;
    if (op == PVK_OP_IO_DELAY)
        return strcmp(kind, "mixed") ? PVL_ACT_NOP : PVL_ACT_CALL;
    if (op == PVK_OP_READ_TSC && !strcmp(kind, "mixed"))
        return PVL_ACT_INLINE;
    return PVL_ACT_NATIVE;
}

static int expect(const char *kind, const char *kernel)
{
    unsigned count[PVL_NACTIONS] = {0}, tsc = 0;
    size_t len, n;
    unsigned char *f = read_all(kernel, &len);
    const struct pvl_site *s = f ? site_table(f, len, &n) : NULL;

    if (!s) {
        fprintf(stderr, "%s: no readable pvlink_sites section\n", kernel);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        count[action_for(kind, s[i].op)]++;
        tsc += s[i].op == PVK_OP_READ_TSC;
    }
    if (!strcmp(kind, "refuse"))
        printf("refused %u\n", tsc);
    else
        printf("native %u, inline %u, call %u, nop %u\n", count[PVL_ACT_NATIVE],
               count[PVL_ACT_INLINE], count[PVL_ACT_CALL], count[PVL_ACT_NOP]);
    free(f);
    return 0;
}

int main(int argc, char **argv)
{
    static struct romb b;
    const char *kinds[] = {"nop", "mixed", "refuse", "badsum", "decline"};
    const size_t nkinds = sizeof kinds / sizeof kinds[0];
    size_t size, k;
    unsigned char *img;
    FILE *f;

    if (argc == 4 && !strcmp(argv[1], "expect"))
        return expect(argv[2], argv[3]);
    for (k = 0; argc == 3 && k < nkinds && strcmp(argv[1], kinds[k]); k++)
        ;
    if (argc != 3 || k == nkinds) {
        fprintf(stderr, "usage: %s nop|mixed|refuse|badsum|decline OUT\n"
                        "       %s expect nop|mixed|refuse KERNEL\n",
                argv[0], argv[0]);
        return 2;
    }
    build(&b, argv[1]);
    if (!(img = romb_finish(&b, &size))) {
        perror("romb_finish");
        return 1;
    }
    if (!strcmp(argv[1], "badsum"))
        ((struct pvl_rom_header *)img)->checksum ^= 1;
    if (!(f = fopen(argv[2], "wb")) || fwrite(img, 1, size, f) != size ||
        fclose(f) != 0) {
        perror(argv[2]);
        return 1;
    }
    free(img);
    return 0;
}
