/*
 * A program built against an installed pvlink through pkg-config
 * (tests/tool/install.sh): it has a real kernel-catalog site, validates
 * a ROM it builds in memory with the library's linker, and plans its own
 * sites against it without writing them.  It uses what libpvlink holds
 * today, the core linker API (<pvlink/link.h>); it prints what it found,
 * and the test compares that with the expected lines.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <pvlink/kernel.h>
#include <pvlink/link.h>

/* The object's bounds, its code and its site table, from the static
 * linker. */
extern const char __executable_start[], etext[], _end[];
extern const struct pvl_site __start_pvlink_sites[]
    __attribute__((visibility("hidden")));
extern const struct pvl_site __stop_pvlink_sites[]
    __attribute__((visibility("hidden")));

__attribute__((noinline)) static uint64_t tsc(void) { return pvk_read_tsc(); }

/* A ROM: header, one entry (read_tsc inline: mov $0x1234, %eax), code. */
static struct {
    struct pvl_rom_header h;
    struct pvl_rom_entry e;
    uint8_t code[8];
} rom __attribute__((aligned(16)));

static void make_rom(void)
{
    rom.h = (struct pvl_rom_header){
        .magic = PVL_ROM_MAGIC, .format_major = PVL_FORMAT_MAJOR,
        .iface = PVK_IFACE_NAME, .iface_major = PVK_IFACE_MAJOR,
        .iface_minor = PVK_IFACE_MINOR, .size = sizeof rom,
        .table_off = offsetof(__typeof__(rom), e), .table_count = 1};
    rom.e = (struct pvl_rom_entry){
        .op = PVK_OP_READ_TSC, .action = PVL_ACT_INLINE, .tmpl_len = 5,
        .tmpl_off = offsetof(__typeof__(rom), code),
        .tmpl_clobbers = PVL_CLB(RAX)};
    rom.h.format_minor = PVL_FORMAT_MINOR;
    memcpy(rom.code, "\xb8\x34\x12\x00\x00", 5);
}

int main(void)
{
    static struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    struct pvl_diag d;
    struct pvl_report rep = {0};
    uint8_t out[PVL_ROOM_MAX];
    char msg[128];

    make_rom();
    if (pvl_rom_seal(&rom, sizeof rom) != PVL_OK ||
        pvl_rom_load(&rom, sizeof rom, (uintptr_t)&rom, &pvl_kernel_iface,
                     impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        printf("rom refused: %s\n", msg);
        return 1;
    }
    printf("rom: %s %u.%u accepted\n", env.name, env.major, env.minor);
    struct pvl_range code = {(uintptr_t)__executable_start, (uintptr_t)etext};
    struct pvl_link l = {
        .sites = __start_pvlink_sites,
        .nsites = (size_t)(__stop_pvlink_sites - __start_pvlink_sites),
        .lo = (uintptr_t)__executable_start, .hi = (uintptr_t)_end,
        .exec = &code, .nexec = 1,
        .iface = &pvl_kernel_iface, .env = &env, .flags = PVL_LINK_DRY_RUN,
        .report = &rep};
    pvl_result r = pvl_link(&l);
    printf("plan: %s; %u site(s), %u inline, %u refused\n", pvl_strerror(r),
           rep.nsites, rep.count[PVL_ACT_INLINE], rep.nrefused);
    struct pvl_site_info si;
    int action;
    if (pvl_plan_site(&l, 0, &si, &action, out, NULL) == PVL_OK) {
        printf("site 0 (%s):", pvl_kernel_iface.ops[si.op].name);
        for (int i = 0; i < si.room; i++)
            printf(" %02x", out[i]);
        printf("\n");
    }
    printf("native read_tsc %s\n", tsc() ? "ran" : "returned 0");
    return 0;
}
