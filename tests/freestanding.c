/*
 * The linker with no libc at all: built with -ffreestanding -nostdinc and
 * linked -nostdlib -static against the freestanding core objects.  It loads
 * a ROM, links a synthetic object, checks the bytes, unlinks, and exits
 * with 0 or the line number of the first failed check (lz4 style).
 */
#include <pvlink/link.h>

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c))                                                            \
            fs_exit(__LINE__);                                               \
    } while (0)

__attribute__((noreturn)) static void fs_exit(long status)
{
    __asm__ __volatile__("syscall" ::"a"(60L), "D"(status) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

static const struct pvl_op_info ops[2] = {
    {"first", 5, 0, 1, PVL_CLB(FLAGS), (const uint8_t *)"\xfa", 0},
    {"second", 8, PVL_OP_RESULT, 3, PVL_CLB(RAX) | PVL_CLB(FLAGS),
     (const uint8_t *)"\x0f\x20\xd8", 0},
};
static const struct pvl_iface iface = {"fs.test", 1, 0, 2, ops};

/* The object: descriptor, two sites, their original copies, records. */
static struct {
    struct pvl_iface_desc desc;
    uint8_t text[16];
    uint8_t orig[16];
    struct pvl_site rec[2];
} obj __attribute__((aligned(8))) = {
    {PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR, "fs.test", 1, 0, 2},
    {0xfa, 0x0f, 0x1f, 0x40, 0x00, 0x0f, 0x20, 0xd8, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0xfa, 0x0f, 0x1f, 0x40, 0x00, 0x0f, 0x20, 0xd8, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    {{0}},
};

/* A ROM: op 0 becomes NOPs, op 1 becomes "mov $7,%eax" inline. */
static struct {
    struct pvl_rom_header h;
    struct pvl_rom_entry e[2];
    uint8_t code[16];
} rom __attribute__((aligned(8))) = {
    {.magic = PVL_ROM_MAGIC, .format_major = PVL_FORMAT_MAJOR,
     .format_minor = PVL_FORMAT_MINOR, .iface = "fs.test", .iface_major = 1,
     .size = sizeof rom, .table_off = sizeof(struct pvl_rom_header), .table_count = 2},
    {{.op = 0, .action = PVL_ACT_NOP},
     {.op = 1, .action = PVL_ACT_INLINE, .tmpl_len = 5,
      .tmpl_off = sizeof(struct pvl_rom_header) + 2 * sizeof(struct pvl_rom_entry),
      .tmpl_clobbers = PVL_CLB(RAX)}},
    {0xb8, 7, 0, 0, 0},
};

static int32_t rel(const void *field, const void *to)
{
    return (int32_t)((const char *)to - (const char *)field);
}

static void make_records(void)
{
    for (int i = 0; i < 2; i++) {
        struct pvl_site *s = &obj.rec[i];
        s->addr = rel(&s->addr, obj.text + 5 * i);
        s->orig = rel(&s->orig, obj.orig + 5 * i);
        s->iface = rel(&s->iface, &obj.desc);
        s->op = (uint16_t)i;
        s->room = (uint8_t)(i ? 8 : 5);
        s->clobbers = ops[i].clobbers;
    }
}

static int same(const uint8_t *a, const char *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != (uint8_t)b[i])
            return 0;
    return 1;
}

void fs_main(void);
void fs_main(void)
{
    struct pvl_impl impl[2];
    struct pvl_env env;
    struct pvl_report rep = {0};

    make_records();
    CHECK(pvl_rom_seal(&rom, sizeof rom) == PVL_OK);
    CHECK(pvl_rom_load(&rom, sizeof rom, (uint64_t)(uintptr_t)&rom, &iface, impl, &env,
                       0) == PVL_OK);
    struct pvl_range text = {(uintptr_t)obj.text, (uintptr_t)obj.text + sizeof obj.text};
    struct pvl_link l = {.sites = obj.rec, .nsites = 2, .lo = (uintptr_t)&obj,
                         .hi = (uintptr_t)&obj + sizeof obj, .exec = &text, .nexec = 1,
                         .iface = &iface, .env = &env, .report = &rep};
    CHECK(pvl_link(&l) == PVL_OK);
    CHECK(rep.count[PVL_ACT_NOP] == 1 && rep.count[PVL_ACT_INLINE] == 1);
    CHECK(same(obj.text, "\x0f\x1f\x44\x00\x00\xb8\x07\x00\x00\x00\x0f\x1f\x00", 13));
    l.env = 0;
    CHECK(pvl_link(&l) == PVL_OK);
    CHECK(same(obj.text, (const char *)obj.orig, 13));
    fs_exit(0);
}

__asm__(".globl _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall fs_main\n\thlt\n");
