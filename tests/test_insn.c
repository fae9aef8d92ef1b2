/*
 * The template decoder (core/insn.c) against Zydis: a curated list with
 * exact lengths and kinds, every instruction of the code loaded in this
 * process, and random bytes.  Whenever both decoders accept an instruction
 * they must agree on its length, and every control transfer Zydis sees
 * must be one pvlink sees too.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>
#include <pvlink/link.h>

#include "../core/insn.h"
#include "harness.h"

static ZydisDecoder zd;

static void zinit(void)
{
    ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

struct known {
    const char *what;
    const char *bytes;
    size_t n;
    int len; /* 0: refused */
    int kind;
    int riprel;
};

#define K(what, b, len, kind) {what, b, sizeof(b) - 1, len, kind, 0}
#define KR(what, b, len) {what, b, sizeof(b) - 1, len, PVL_INSN_PLAIN, 1}

static const struct known known[] = {
    K("cli", "\xfa", 1, PVL_INSN_PLAIN),
    K("pushfq", "\x9c", 1, PVL_INSN_PLAIN),
    K("mov %cr3,%rax", "\x0f\x20\xd8", 3, PVL_INSN_PLAIN),
    K("rdmsr", "\x0f\x32", 2, PVL_INSN_PLAIN),
    K("cpuid", "\x0f\xa2", 2, PVL_INSN_PLAIN),
    K("invlpg (%rdi)", "\x0f\x01\x3f", 3, PVL_INSN_PLAIN),
    K("vmcall", "\x0f\x01\xc1", 3, PVL_INSN_PLAIN),
    K("out %al,$0x80", "\xe6\x80", 2, PVL_INSN_PLAIN),
    K("movabs $imm64,%rax", "\x48\xb8\x01\x02\x03\x04\x05\x06\x07\x08", 10, PVL_INSN_PLAIN),
    K("mov $imm16,%ax", "\x66\xb8\x01\x02", 4, PVL_INSN_PLAIN),
    K("movabs 0x..,%rax (moffs)", "\x48\xa1\x01\x02\x03\x04\x05\x06\x07\x08", 10, PVL_INSN_PLAIN),
    K("mov 0x..,%eax (moffs, 67)", "\x67\xa1\x01\x02\x03\x04", 6, PVL_INSN_PLAIN),
    K("mov abs32(,%riz),%rax", "\x48\x8b\x04\x25\x00\x10\x00\x00", 8, PVL_INSN_PLAIN),
    K("mov 8(%rsp,%rbx,4),%rcx", "\x48\x8b\x4c\x9c\x08", 5, PVL_INSN_PLAIN),
    K("add $imm32,0x100(%rbp)", "\x48\x81\x85\x00\x01\x00\x00\x01\x00\x00\x00", 11, PVL_INSN_PLAIN),
    K("testb $1,(%rax)", "\xf6\x00\x01", 3, PVL_INSN_PLAIN),
    K("testw $imm16,(%rax)", "\x66\xf7\x00\x01\x02", 5, PVL_INSN_PLAIN),
    K("notl (%rax)", "\xf7\x10", 2, PVL_INSN_PLAIN),
    K("enter $16,$0", "\xc8\x10\x00\x00", 4, PVL_INSN_PLAIN),
    K("pextrd $1,%xmm0,%eax", "\x66\x0f\x3a\x16\xc0\x01", 6, PVL_INSN_PLAIN),
    K("pshufb %xmm1,%xmm0", "\x66\x0f\x38\x00\xc1", 5, PVL_INSN_PLAIN),
    K("lock xadd %eax,(%rdx)", "\xf0\x0f\xc1\x02", 4, PVL_INSN_PLAIN),
    K("mov %gs:0x10,%rax", "\x65\x48\x8b\x04\x25\x10\x00\x00\x00", 9, PVL_INSN_PLAIN),
    K("nopw 0(%rax,%rax)", "\x66\x0f\x1f\x44\x00\x00", 6, PVL_INSN_PLAIN),
    K("jmp rel8", "\xeb\x02", 2, PVL_INSN_REL),
    K("jne rel8", "\x75\xfe", 2, PVL_INSN_REL),
    K("jmp rel32", "\xe9\x00\x00\x00\x00", 5, PVL_INSN_REL),
    K("call rel32", "\xe8\x10\x00\x00\x00", 5, PVL_INSN_REL),
    K("je rel32", "\x0f\x84\x00\x01\x00\x00", 6, PVL_INSN_REL),
    K("loop rel8", "\xe2\xfe", 2, PVL_INSN_REL),
    K("jrcxz rel8", "\xe3\x00", 2, PVL_INSN_REL),
    K("ret", "\xc3", 1, PVL_INSN_RET),
    K("ret $8", "\xc2\x08\x00", 3, PVL_INSN_RET),
    K("lret", "\xcb", 1, PVL_INSN_RET),
    K("iretq", "\x48\xcf", 2, PVL_INSN_RET),
    K("call *%rax", "\xff\xd0", 2, PVL_INSN_ESCAPE),
    K("jmp *8(%rax)", "\xff\x60\x08", 3, PVL_INSN_ESCAPE),
    K("ljmp *(%rax)", "\xff\x28", 2, PVL_INSN_ESCAPE),
    K("syscall", "\x0f\x05", 2, PVL_INSN_ESCAPE),
    K("sysenter", "\x0f\x34", 2, PVL_INSN_ESCAPE),
    K("int3", "\xcc", 1, PVL_INSN_ESCAPE),
    K("int $0x80", "\xcd\x80", 2, PVL_INSN_ESCAPE),
    K("ud2", "\x0f\x0b", 2, PVL_INSN_ESCAPE),
    K("ud1 %eax,%eax", "\x0f\xb9\xc0", 3, PVL_INSN_ESCAPE),
    K("getsec", "\x0f\x37", 2, PVL_INSN_ESCAPE),
    K("enclu", "\x0f\x01\xd7", 3, PVL_INSN_ESCAPE),
    K("skinit", "\x0f\x01\xde", 3, PVL_INSN_ESCAPE),
    K("xbegin", "\xc7\xf8\x00\x00\x00\x00", 6, PVL_INSN_ESCAPE),
    KR("mov 0(%rip),%rax", "\x48\x8b\x05\x00\x00\x00\x00", 7),
    KR("lea 0(%rip),%rdi", "\x48\x8d\x3d\x10\x00\x00\x00", 7),
    {"jmp *0(%rip)", "\xff\x25\x00\x00\x00\x00", 6, 6, PVL_INSN_ESCAPE, 1},
    K("66 jmp rel16 (refused)", "\x66\xe9\x00\x00", 0, 0),
    K("vex vzeroupper (refused)", "\xc5\xf8\x77", 0, 0),
    K("evex (refused)", "\x62\xf1\x7c\x48\x10\xc1", 0, 0),
    K("push %es: invalid in 64-bit", "\x06", 0, 0),
    K("truncated imm32", "\xb8\x01\x02", 0, 0),
    K("truncated modrm", "\x8b", 0, 0),
    K("SIB disp32 one byte short", "\x8b\x04\x25\x00\x10\x00", 0, 0),
    K("prefix after rex", "\x48\x66\x90", 0, 0),
    K("only prefixes", "\x66\x66\x66", 0, 0),
    K("16 bytes (too long)", "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90", 0, 0),
};

static void curated(void)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct known *k = &known[i];
        struct pvl_insn in;
        size_t len = pvl_insn_decode((const uint8_t *)k->bytes, k->n, &in);
        if ((int)len != k->len)
            t_fail(__FILE__, __LINE__, "%s: length %zu, expected %d", k->what, len, k->len);
        else if (len && (in.kind != k->kind || in.riprel != k->riprel))
            t_fail(__FILE__, __LINE__, "%s: kind %d riprel %d, expected %d %d",
                   k->what, in.kind, in.riprel, k->kind, k->riprel);
    }
}

/* Every proper prefix of a decodable instruction is refused: the decoder
 * never claims bytes it was not given. */
static void truncations_refused(void)
{
    struct pvl_insn in;
    unsigned seed = 7;
    uint8_t buf[16];
    size_t tried = 0;

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct known *k = &known[i];
        if (!k->len)
            continue;
        for (size_t n = 0; n < (size_t)k->len; n++)
            if (pvl_insn_decode((const uint8_t *)k->bytes, n, &in) != 0)
                t_fail(__FILE__, __LINE__, "%s: decoded from its first %zu bytes", k->what, n);
    }
    srand(seed);
    for (int r = 0; r < 200000; r++) {
        for (size_t j = 0; j < sizeof buf; j++)
            buf[j] = (uint8_t)rand();
        size_t len = pvl_insn_decode(buf, sizeof buf, &in);
        for (size_t n = 0; len && n < len; n++, tried++)
            if (pvl_insn_decode(buf, n, &in) != 0) {
                t_fail(__FILE__, __LINE__, "%s: decoded from its first %zu bytes",
                       t_hex(buf, len), n);
                return;
            }
    }
    CHECK(tried > 100000);
}

static int zydis_transfers(const ZydisDecodedInstruction *z)
{
    switch (z->meta.category) {
    case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR: case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_SYSCALL: case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_INTERRUPT:
        return 1;
    default:
        return z->raw.imm[0].is_relative; /* e.g. xbegin */
    }
}

struct tally {
    size_t both, mine_only, zydis_only, bad;
};

/* Compare the decoders on the instruction at (p); returns Zydis' length
 * (0 if Zydis refuses). */
static size_t compare_at(const uint8_t *p, size_t n, struct tally *t)
{
    ZydisDecodedInstruction z;
    struct pvl_insn in;
    size_t mine = pvl_insn_decode(p, n, &in);
    int zok = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&zd, NULL, p, n, &z));

    if (!zok) {
        if (mine && getenv("PVL_SHOW_MINE_ONLY"))
            printf("  only pvlink: %s\n", t_hex(p, mine));
        t->mine_only += mine != 0;
        return 0;
    }
    if (!mine) {
        t->zydis_only++;
        if (in.vex && in.len != z.length && t->bad++ < 10) /* measured, not decoded */
            t_fail(__FILE__, __LINE__, "%s: pvlink measures %u bytes, Zydis %u",
                   t_hex(p, z.length), in.len, z.length);
        return z.length;
    }
    t->both++;
    int riprel = (z.attributes & ZYDIS_ATTRIB_HAS_MODRM) && z.raw.modrm.mod == 0 &&
                 z.raw.modrm.rm == 5;
    if (mine != z.length || (zydis_transfers(&z) && in.kind == PVL_INSN_PLAIN) ||
        in.riprel != riprel) {
        if (t->bad++ < 10)
            t_fail(__FILE__, __LINE__, "%s: pvlink len %zu kind %d riprel %d, "
                   "zydis len %u category %d riprel %d", t_hex(p, z.length), mine,
                   in.kind, in.riprel, z.length, z.meta.category, riprel);
    }
    return z.length;
}

static int sweep_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        size_t n = ph->p_filesz;
        for (size_t off = 0; off < n;) {
            size_t zl = compare_at(p + off, n - off, arg);
            off += zl ? zl : 1;
        }
    }
    return 0;
}

/* Linear sweep through every executable segment of this process (the test,
 * libc, Zydis): real compiler output, millions of instructions. */
static void loaded_code(void)
{
    struct tally t = {0};
    zinit();
    dl_iterate_phdr(sweep_object, &t);
    printf("  loaded code: %zu agreed, %zu only zydis decodes, %zu only pvlink decodes\n",
           t.both, t.zydis_only, t.mine_only);
    CHECK_EQ(t.bad, 0);
    CHECK(t.both > 100000);
    CHECK(t.both > 4 * t.zydis_only); /* pvlink refuses only the rare forms */
}

static void random_bytes(void)
{
    struct tally t = {0};
    unsigned seed = 20261122;
    uint8_t buf[16];

    zinit();
    srand(seed);
    for (int i = 0; i < 300000; i++) {
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = (uint8_t)rand();
        compare_at(buf, sizeof buf, &t);
    }
    printf("  random (seed %u): %zu agreed, %zu only zydis, %zu only pvlink\n", seed,
           t.both, t.zydis_only, t.mine_only);
    CHECK_EQ(t.bad, 0);
    CHECK(t.both > 100000);
}

/* Return-like instructions are returns, each with its name. */
static void return_like_named(void)
{
    static const struct {
        const char *bytes, *name;
        size_t n;
    } r[] = {
        {"\xc3", "ret", 1}, {"\xc2\x08\x00", "ret", 3}, {"\xcb", "lret", 1},
        {"\x48\xcf", "iret", 2}, {"\xcf", "iret", 1}, {"\x0f\x07", "sysret", 2},
        {"\x48\x0f\x07", "sysret", 3}, {"\x0f\x35", "sysexit", 2}, {"\x0f\xaa", "rsm", 2},
        {"\xf3\x0f\x01\xca", "eretu", 4}, {"\xf2\x0f\x01\xca", "erets", 4},
        {"\x66\x0f\x01\xcd", "seamret", 4}, {"\xf3\x0f\x01\xec", "uiret", 4},
    };
    struct pvl_insn in;

    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        size_t len = pvl_insn_decode((const uint8_t *)r[i].bytes, r[i].n, &in);
        if (len != r[i].n || in.kind != PVL_INSN_RET || !in.name || strcmp(in.name, r[i].name))
            t_fail(__FILE__, __LINE__, "%s: len %zu kind %d name %s", r[i].name, len, in.kind,
                   in.name ? in.name : "(none)");
    }
    /* the same bytes without their prefix are other instructions */
    CHECK_EQ(pvl_insn_decode((const uint8_t *)"\x0f\x01\xca", 3, &in), 3); /* clac */
    CHECK_EQ(in.kind, PVL_INSN_PLAIN);
    CHECK_EQ(pvl_insn_decode((const uint8_t *)"\x66\x0f\x01\xcc", 4, &in), 4); /* tdcall */
    CHECK_EQ(in.kind, PVL_INSN_ESCAPE);
}

/*
 * VEX and EVEX instructions are refused, but measured: over the VEX (C5,
 * C4 with maps 0F, 0F 38, 0F 3A) and EVEX (maps 1, 2, 3, 5, 6) prefixes
 * with several L, W, pp and vvvv, every opcode and ModRM form, and with
 * and without an address-size prefix, whenever Zydis decodes the bytes
 * pvlink gives the same length, and says BMI exactly when Zydis's ISA
 * extension is BMI1 or BMI2 (Knights Corner's forms set aside).
 */
static const uint8_t vex_heads[][5] = {
    {2, 0xc5, 0xf8}, {2, 0xc5, 0xfd}, {2, 0xc5, 0x7a}, {2, 0xc5, 0xcb},
    {3, 0xc4, 0xe1, 0x79}, {3, 0xc4, 0x61, 0xfd}, {3, 0xc4, 0xe2, 0x79}, {3, 0xc4, 0xc2, 0xfd},
    {3, 0xc4, 0xe2, 0x48}, {3, 0xc4, 0xe2, 0xc3}, {3, 0xc4, 0xe2, 0x4a}, {3, 0xc4, 0xe3, 0x79},
    {3, 0xc4, 0x43, 0xfd}, {3, 0xc4, 0xe3, 0xfb}, {3, 0xc4, 0xe2, 0xc9},
    {4, 0x62, 0xf1, 0x7c, 0x48}, {4, 0x62, 0xf1, 0xfd, 0x28}, {4, 0x62, 0x61, 0x7e, 0x0a},
    {4, 0x62, 0xf2, 0x7d, 0x48}, {4, 0x62, 0xf2, 0xfd, 0x18}, {4, 0x62, 0xf3, 0x7d, 0x48},
    {4, 0x62, 0xf3, 0xfd, 0x8a}, {4, 0x62, 0xf5, 0x7c, 0x48}, {4, 0x62, 0xf6, 0x7d, 0x08},
};

static void vex_one(const uint8_t *buf, size_t n, size_t *agreed, size_t *bad)
{
    ZydisDecodedInstruction z;
    struct pvl_insn in;
    size_t mine = pvl_insn_decode(buf, n, &in);

    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&zd, NULL, buf, n, &z)) ||
        (z.meta.isa_ext >= ZYDIS_ISA_EXT_KNC && z.meta.isa_ext <= ZYDIS_ISA_EXT_KNCV))
        return; /* Knights Corner's jkzd and jknzd are no x86-64 CPU's */
    int bmi = z.meta.isa_ext == ZYDIS_ISA_EXT_BMI1 || z.meta.isa_ext == ZYDIS_ISA_EXT_BMI2;
    int evex = z.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX;
    int want = evex ? PVL_VEX_EVEX : bmi ? PVL_VEX_BMI : PVL_VEX_AVX;
    if (mine == 0 && in.vex == want && in.len == z.length) {
        (*agreed)++;
        return;
    }
    if ((*bad)++ < 10)
        t_fail(__FILE__, __LINE__, "%s: pvlink returns %zu, vex %d length %u; Zydis: %s, "
               "length %u", t_hex(buf, z.length), mine, in.vex, in.len,
               ZydisMnemonicGetString(z.mnemonic), z.length);
}

static void vex_measured(void)
{
    static const uint8_t modrms[][7] = {
        {1, 0xc1}, {1, 0xd7}, {1, 0xf8}, {1, 0x00}, {2, 0x04, 0x24}, {3, 0x44, 0x24, 0x08},
        {5, 0x05, 0, 0, 0, 0}, {6, 0x84, 0x8d, 0, 1, 0, 0}, {6, 0x0c, 0x25, 0, 0x10, 0, 0},
        {2, 0x4d, 0xf0},
    };
    size_t agreed = 0, bad = 0;

    zinit();
    for (size_t h = 0; h < sizeof vex_heads / sizeof vex_heads[0]; h++)
        for (int a67 = 0; a67 < 2; a67++)
            for (unsigned op = 0; op < 256; op++)
                for (size_t m = 0; m < sizeof modrms / sizeof modrms[0]; m++) {
                    uint8_t buf[15] = {0};
                    size_t n = 0;
                    if (a67)
                        buf[n++] = 0x67;
                    memcpy(buf + n, vex_heads[h] + 1, vex_heads[h][0]);
                    n += vex_heads[h][0];
                    buf[n++] = (uint8_t)op;
                    memcpy(buf + n, modrms[m] + 1, modrms[m][0]);
                    n += modrms[m][0];
                    buf[n] = 0x11; /* an immediate, if any */
                    vex_one(buf, sizeof buf, &agreed, &bad);
                }
    printf("  %zu VEX and EVEX encodings measured as Zydis decodes them\n", agreed);
    CHECK_EQ(bad, 0);
    CHECK(agreed > 20000);
}

/* A refusal names the instruction: its length is known, and a VEX
 * instruction cut by the end of the code is not one. */
static void vex_cut(void)
{
    static const char v[] = "\xc4\xe3\x7d\x18\x44\x24\x08\x01"; /* vinsertf128 */
    struct pvl_insn in;

    CHECK_EQ(pvl_insn_decode((const uint8_t *)v, 8, &in), 0);
    CHECK_EQ(in.vex, PVL_VEX_AVX);
    CHECK_EQ(in.len, 8);
    for (size_t n = 0; n < 8; n++) {
        CHECK_EQ(pvl_insn_decode((const uint8_t *)v, n, &in), 0);
        CHECK_EQ(in.vex, PVL_VEX_NONE);
    }
    CHECK_EQ(pvl_insn_decode((const uint8_t *)"\x48\xc5\xf8\x77", 4, &in), 0); /* REX first */
    CHECK_EQ(in.vex, PVL_VEX_NONE);
}

T_CASES(T(curated), T(return_like_named), T(truncations_refused), T(loaded_code),
        T(random_bytes), T(vex_measured), T(vex_cut))
