/*
 * variant: derive a ROM from another one's image.  Usage:
 *     variant IMAGE CHOICES SYMS OUT
 * IMAGE is a flat ROM image whose code already holds the new entries;
 * CHOICES is a packed array of struct rom_variant (section .rom_variant of
 * the same link, see rom/switch.S); SYMS is `nm -S` of that link, which
 * gives each call entry's length (its symbol's size): for each choice, the
 * table entry of its operation gets the action, the call entry, its length
 * and what it may change.  The image
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
    uint32_t call_off;
    uint64_t call_clobbers;
};
_Static_assert(sizeof(struct rom_variant) == 16, "rom_variant layout (rom/switch.S)");

#define LOAD_ADDR 0xc0000 /* any page-aligned address: the image is PIC */

/* The file at (path), NUL-terminated after its (*len) bytes. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc((1 << 20) + 1);

    if (!f || !buf)
        err(1, "%s", path);
    *len = fread(buf, 1, 1 << 20, f);
    buf[*len] = 0;
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

/* The size nm gives the symbol at (off) in (syms), or 0. */
static uint32_t size_at(const char *syms, uint32_t off)
{
    unsigned long long v, n;
    int k;

    for (const char *p = syms; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
        if (sscanf(p, "%llx %llx %*c %*s%n", &v, &n, &k) == 2 && v == off)
            return (uint32_t)n;
    return 0;
}

static void apply(uint8_t *img, size_t len, const struct rom_variant *v, const char *syms)
{
    struct pvl_rom_header h;
    struct pvl_rom_entry e;
    uint32_t clen = size_at(syms, v->call_off);

    memcpy(&h, img, sizeof h);
    for (uint32_t i = 0; i < h.table_count; i++) {
        size_t off = h.table_off + (size_t)i * sizeof e;
        memcpy(&e, img + off, sizeof e);
        if (e.op != v->op)
            continue;
        if (!clen)
            errx(1, "choice for operation %u: no sized symbol at call entry %#x", v->op,
                 v->call_off);
        e.action = v->action;
        e.call_off = v->call_off;
        e.call_len = clen;
        e.call_clobbers = v->call_clobbers;
        memcpy(img + off, &e, sizeof e);
        return;
    }
    errx(1, "choice for operation %u: the table has no entry for it", v->op);
    (void)len;
}

int main(int argc, char **argv)
{
    size_t len, nc, ns;
    uint8_t *img, *ch, *syms;
    FILE *f;

    if (argc != 5)
        errx(2, "usage: variant IMAGE CHOICES SYMS OUT");
    img = slurp(argv[1], &len);
    ch = slurp(argv[2], &nc);
    syms = slurp(argv[3], &ns);
    if (nc % sizeof(struct rom_variant))
        errx(1, "%s: %zu bytes is not a whole number of choices", argv[2], nc);
    if (pvl_rom_seal(img, len) != PVL_OK)
        errx(1, "%s: size field does not match the file (%zu bytes)", argv[1], len);
    check(img, len, argv[1]);
    for (size_t i = 0; i < nc; i += sizeof(struct rom_variant)) {
        struct rom_variant v;
        memcpy(&v, ch + i, sizeof v);
        apply(img, len, &v, (const char *)syms);
    }
    if (pvl_rom_seal(img, len) != PVL_OK)
        errx(1, "%s: cannot seal", argv[1]);
    check(img, len, "the derived image");
    if (!(f = fopen(argv[4], "wb")) || fwrite(img, 1, len, f) != len || fclose(f) != 0)
        err(1, "%s", argv[4]);
    free(img);
    free(ch);
    free(syms);
    return 0;
}
