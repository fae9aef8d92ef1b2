/*
 * The ROMs pvlink-run publishes: at boot the embedded image (rom/) or one
 * from a file, with --policy overrides applied in its table; and for
 * --rom-switch a second one, published while the guest runs.  Each is
 * validated exactly as a guest will validate it, at the address it will
 * have, before the guest exists.
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
    if (!strcmp(op, "all")) { /* every operation the ROM does not require */
        p->op = MON_POLICY_ALL;
        if ((p->action = pvl_action_find(eq + 1)) == PVL_ACT_NATIVE)
            return 0;
        snprintf(why, n, "\"all\" takes only native, got \"%s\"", eq + 1);
        return -1;
    }
    if ((p->op = pvl_iface_find(&pvl_kernel_iface, op)) < 0) {
        snprintf(why, n, "unknown operation \"%s\" (see the catalog in the README)", op);
        return -1;
    }
    if ((p->action = pvl_action_find(eq + 1)) >= 0)
        return 0;
    snprintf(why, n, "unknown action \"%s\" (native, inline, call or nop)", eq + 1);
    return -1;
}

static uint8_t *read_rom_file(const char *path, size_t *len, size_t area)
{
    FILE *f = fopen(path, "rb");
    size_t cap = area + 1;
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

/* all=native: every entry the ROM does not mark required (the image is
 * validated: the table lies in it). */
static void apply_all_native(uint8_t *img)
{
    struct pvl_rom_header *h = (struct pvl_rom_header *)img;
    struct pvl_rom_entry *t = (struct pvl_rom_entry *)(img + h->table_off);

    for (uint32_t i = 0; i < h->table_count; i++)
        if (!(t[i].flags & PVL_ENT_REQUIRED))
            t[i].action = PVL_ACT_NATIVE;
}

static void apply_policy(uint8_t *img, size_t len, const struct mon_policy *p, const char *src)
{
    if (p->op == MON_POLICY_ALL) {
        apply_all_native(img);
        return;
    }
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

static void validate(const uint8_t *img, size_t len, uint64_t gpa, const char *src)
{
    struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    struct pvl_diag d;
    char msg[200];

    if (pvl_rom_load(img, len, gpa, &pvl_kernel_iface, impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        errx(MON_EXIT_INPUT, "ROM %s refused: %s", src, msg);
    }
}

void mon_rom_prepare(struct mon_rom *rom, const struct mon_opts *o, const char *file,
                     uint64_t gpa, uint64_t limit)
{
    const char *src = file ? file : "(built in)";
    size_t len;
    uint8_t *img;

    if (file) {
        img = read_rom_file(file, &len, limit - gpa);
    } else {
        len = (size_t)(mon_rom_image_end - mon_rom_image);
        if (!(img = malloc(len)))
            err(MON_EXIT_HOST, "ROM");
        memcpy(img, mon_rom_image, len);
    }
    validate(img, len, gpa, src); /* before touching the table it describes */
    for (int i = 0; o && i < o->npolicy; i++)
        apply_policy(img, len, &o->policy[i], src);
    if (o && o->npolicy && pvl_rom_seal(img, len) != PVL_OK)
        errx(MON_EXIT_INPUT, "ROM %s: cannot reseal", src);
    validate(img, len, gpa, src);
    rom->img = img;
    rom->gpa = gpa;
    rom->size = ((const struct pvl_rom_header *)img)->size;
    rom->data = (gpa + rom->size + 0xfff) & ~0xfffull;
    rom->region = rom->data + PVL_ROM_DATA_SIZE - gpa;
    if (gpa + rom->region > limit)
        errx(MON_EXIT_INPUT, "ROM %s: %zu bytes do not fit the ROM area [%#llx, %#llx) with "
             "its data", src, rom->size, (unsigned long long)gpa, (unsigned long long)limit);
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

void mon_rom_clock(struct mon_vm *vm, uint32_t tsc_khz, uint64_t tsc_now)
{
    vm->clock = (struct pvl_clock_page){.version = 2, .tsc_base = tsc_now, .ns_base = 0};
    clock_scale(tsc_khz, &vm->clock.mul, &vm->clock.shift);
}

void mon_rom_publish(struct mon_vm *vm, struct mon_rom *rom)
{
    uint8_t *region = mon_gpa(vm, rom->gpa, rom->region);

    memset(region, 0, rom->region);
    memcpy(region, rom->img, rom->size);
    memcpy(vm->mem + rom->data + PVL_ROM_DATA_CLOCK, &vm->clock, sizeof vm->clock);
    rom->published = true;
}

static void flush_console(struct mon_vm *vm, const struct mon_rom *rom)
{
    struct pvl_rom_console *c;

    if (!rom->published)
        return;
    c = (struct pvl_rom_console *)(vm->mem + rom->data + PVL_ROM_DATA_CONSOLE);
    if (c->len && c->len <= PVL_ROM_CONSOLE_CAP) {
        fwrite(c->buf, 1, c->len, stdout);
        c->len = 0;
    }
}

void mon_rom_flush_console(struct mon_vm *vm)
{
    flush_console(vm, &vm->rom);
    flush_console(vm, &vm->rom2);
    fflush(stdout);
}
