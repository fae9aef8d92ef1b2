/*
 * variant: derive a ROM from another one's image.  Usage:
 *     variant IMAGE CHOICES OUT
 * IMAGE is a flat ROM image whose code already holds the new entries;
 * CHOICES is a packed array of struct rom_variant (section .rom_variant of
 * the same link, see rom/switch.S): for each, the table entry of its
 * operation gets the action, the call entry and its clobbers.  The image
 * is sealed and validated as it comes, then changed, sealed and validated
 * again, and written.  Every choice must name an operation the table has.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvlink/link.h>

struct rom_variant {
    uint16_t op;
    uint8_t action, pad;
    uint32_t call_off, call_clobbers;
};
_Static_assert(sizeof(struct rom_variant) == 12, "rom_variant layout (rom/switch.S)");

#define LOAD_ADDR 0xc0000 /* any page-aligned address: the image is PIC */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);

    if (!f || !buf)
        err(1, "%s", path);
    *len = fread(buf, 1, 1 << 20, f);
    if (ferror(f) || !feof(f))
        errx(1, "%s: unreadable or larger than 1 MiB", path);
    fclose(f);
    return buf;
}

static void check(const uint8_t *img, size_t len, const char *what)
{
    struct pvl_impl impl[64];
    struct pvl_env env;
    struct pvl_diag d;
    char msg[200];

    if (pvl_rom_load(img, len, LOAD_ADDR, &pvl_kernel_iface, impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        errx(1, "%s: %s", what, msg);
    }
}

static void apply(uint8_t *img, size_t len, const struct rom_variant *v)
{
    struct pvl_rom_header h;
    struct pvl_rom_entry e;

    memcpy(&h, img, sizeof h);
    for (uint32_t i = 0; i < h.table_count; i++) {
        size_t off = h.table_off + (size_t)i * sizeof e;
        memcpy(&e, img + off, sizeof e);
        if (e.op != v->op)
            continue;
        e.action = v->action;
        e.call_off = v->call_off;
        e.call_clobbers = v->call_clobbers;
        memcpy(img + off, &e, sizeof e);
        return;
    }
    errx(1, "choice for operation %u: the table has no entry for it", v->op);
    (void)len;
}

int main(int argc, char **argv)
{
    size_t len, nc;
    uint8_t *img, *ch;
    FILE *f;

    if (argc != 4)
        errx(2, "usage: variant IMAGE CHOICES OUT");
    img = slurp(argv[1], &len);
    ch = slurp(argv[2], &nc);
    if (nc % sizeof(struct rom_variant))
        errx(1, "%s: %zu bytes is not a whole number of choices", argv[2], nc);
    if (pvl_rom_seal(img, len) != PVL_OK)
        errx(1, "%s: size field does not match the file (%zu bytes)", argv[1], len);
    check(img, len, argv[1]);
    for (size_t i = 0; i < nc; i += sizeof(struct rom_variant)) {
        struct rom_variant v;
        memcpy(&v, ch + i, sizeof v);
        apply(img, len, &v);
    }
    if (pvl_rom_seal(img, len) != PVL_OK)
        errx(1, "%s: cannot seal", argv[1]);
    check(img, len, "the derived image");
    if (!(f = fopen(argv[3], "wb")) || fwrite(img, 1, len, f) != len || fclose(f) != 0)
        err(1, "%s", argv[3]);
    free(img);
    free(ch);
    return 0;
}
