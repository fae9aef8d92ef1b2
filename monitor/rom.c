/*
 * The ROM pvlink-run publishes: the embedded image (rom/), or one from a
 * file, with --policy overrides applied in its table; validated exactly as
 * a guest will validate it, before the guest exists.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/kernel_ops.h>

#include "mon.h"

extern const uint8_t mon_rom_image[], mon_rom_image_end[];

int mon_policy_parse(const char *s, struct mon_policy *p, char *why, size_t n)
{
    const char *eq = strchr(s, '=');
    char op[64];

    if (!eq || eq == s || (size_t)(eq - s) >= sizeof op) {
        snprintf(why, n, "expected OP=ACTION, got \"%s\"", s);
        return -1;
    }
    memcpy(op, s, (size_t)(eq - s));
    op[eq - s] = 0;
    if ((p->op = pvl_iface_find(&pvl_kernel_iface, op)) < 0) {
        snprintf(why, n, "unknown operation \"%s\" (see the catalog in the README)", op);
        return -1;
    }
    if ((p->action = pvl_action_find(eq + 1)) >= 0)
        return 0;
    snprintf(why, n, "unknown action \"%s\" (native, inline, call or nop)", eq + 1);
    return -1;
}

static uint8_t *read_rom_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = MON_ROM_LIMIT - MON_ROM_GPA + 1;
    uint8_t *buf = malloc(cap);

    if (!f)
        err(MON_EXIT_INPUT, "ROM %s", path);
    if (!buf)
        err(MON_EXIT_HOST, "ROM %s", path);
    *len = fread(buf, 1, cap, f);
    if (ferror(f))
        err(MON_EXIT_INPUT, "ROM %s: reading", path);
    fclose(f);
    if (*len == cap)
        errx(MON_EXIT_INPUT, "ROM %s: larger than the ROM area (%llu KiB)", path,
             (unsigned long long)((cap - 1) >> 10));
    return buf;
}

static struct pvl_rom_entry *entry_for(uint8_t *img, size_t len, int op)
{
    struct pvl_rom_header *h = (struct pvl_rom_header *)img;
    struct pvl_rom_entry *t = (struct pvl_rom_entry *)(img + h->table_off);

    for (uint32_t i = 0; i < h->table_count && h->table_off + (i + 1) * sizeof *t <= len; i++)
        if (t[i].op == op)
            return &t[i];
    return NULL;
}

static void apply_policy(uint8_t *img, size_t len, const struct mon_policy *p, const char *src)
{
    const char *op = pvl_kernel_iface.ops[p->op].name;
    struct pvl_rom_entry *e = entry_for(img, len, p->op);

    if (!e)
        errx(MON_EXIT_INPUT, "--policy %s=%s: ROM %s has no entry for %s", op,
             pvl_action_name(p->action), src, op);
    if ((p->action == PVL_ACT_INLINE && !e->tmpl_len) || (p->action == PVL_ACT_CALL && !e->call_off))
        errx(MON_EXIT_INPUT, "--policy %s=%s: ROM %s offers no %s for %s", op,
             pvl_action_name(p->action), src,
             p->action == PVL_ACT_INLINE ? "inline template" : "call entry", op);
    e->action = (uint8_t)p->action;
}

static void validate(const uint8_t *img, size_t len, const char *src)
{
    struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    struct pvl_diag d;
    char msg[200];

    if (pvl_rom_load(img, len, MON_ROM_GPA, &pvl_kernel_iface, impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        errx(MON_EXIT_INPUT, "ROM %s refused: %s", src, msg);
    }
}

void mon_rom_prepare(struct mon_rom *rom, const struct mon_opts *o)
{
    const char *src = o->rom_file ? o->rom_file : "(built in)";
    size_t len;
    uint8_t *img;

    if (o->rom_file) {
        img = read_rom_file(o->rom_file, &len);
    } else {
        len = (size_t)(mon_rom_image_end - mon_rom_image);
        if (!(img = malloc(len)))
            err(MON_EXIT_HOST, "ROM");
        memcpy(img, mon_rom_image, len);
    }
    validate(img, len, src); /* before touching the table it describes */
    for (int i = 0; i < o->npolicy; i++)
        apply_policy(img, len, &o->policy[i], src);
    if (o->npolicy && pvl_rom_seal(img, len) != PVL_OK)
        errx(MON_EXIT_INPUT, "ROM %s: cannot reseal", src);
    validate(img, len, src);
    rom->img = img;
    rom->size = ((const struct pvl_rom_header *)img)->size;
    rom->data = (MON_ROM_GPA + rom->size + 0xfff) & ~0xfffull;
    rom->region = rom->data + PVL_ROM_DATA_SIZE - MON_ROM_GPA;
    if (MON_ROM_GPA + rom->region > MON_ROM_LIMIT)
        errx(MON_EXIT_INPUT, "ROM %s: %zu bytes do not fit the ROM area with its data", src,
             rom->size);
}

/*
 * ns = ((tsc delta, shifted by (shift)) * mul) >> 32 = delta * 10^6 / khz.
 * Choose the shift that keeps mul in [2^31, 2^32) for the most precision.
 */
static void clock_scale(uint32_t khz, uint32_t *mul, int8_t *shift)
{
    int s = 0;
    unsigned __int128 m = ((unsigned __int128)1000000 << 32) / khz;

    while (m >= (1ull << 32))
        m >>= 1, s++;
    while (m < (1ull << 31) && s > -31)
        m <<= 1, s--;
    *mul = (uint32_t)m;
    *shift = (int8_t)s;
}

void mon_rom_publish(struct mon_vm *vm, uint32_t tsc_khz, uint64_t tsc_now)
{
    struct pvl_clock_page cp = {.version = 2, .tsc_base = tsc_now, .ns_base = 0};
    uint8_t *region = mon_gpa(vm, MON_ROM_GPA, vm->rom.region);

    memset(region, 0, vm->rom.region);
    memcpy(region, vm->rom.img, vm->rom.size);
    clock_scale(tsc_khz, &cp.mul, &cp.shift);
    memcpy(vm->mem + vm->rom.data + PVL_ROM_DATA_CLOCK, &cp, sizeof cp);
}

void mon_rom_flush_console(struct mon_vm *vm)
{
    struct pvl_rom_console *c;

    if (!vm->rom_present)
        return;
    c = (struct pvl_rom_console *)(vm->mem + vm->rom.data + PVL_ROM_DATA_CONSOLE);
    if (c->len && c->len <= PVL_ROM_CONSOLE_CAP) {
        fwrite(c->buf, 1, c->len, stdout);
        c->len = 0;
    }
    fflush(stdout);
}
