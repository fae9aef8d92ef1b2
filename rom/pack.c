/*
 * pack: seal a flat ROM image (write its checksum) after checking that it
 * is well formed, and write it out.  Usage: pack IN OUT
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>

#include <pvlink/link.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];

    if (!f)
        err(1, "%s", path);
    *len = fread(buf, 1, sizeof buf, f);
    if (ferror(f) || !feof(f))
        errx(1, "%s: unreadable or larger than 1 MiB", path);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    struct pvl_impl impl[64];
    struct pvl_env env;
    struct pvl_diag d;
    char msg[200];
    size_t len;

    if (argc != 3)
        errx(2, "usage: pack IN OUT");
    uint8_t *img = slurp(argv[1], &len);
    if (pvl_rom_seal(img, len) != PVL_OK)
        errx(1, "%s: size field does not match the file (%zu bytes)", argv[1], len);
    if (pvl_rom_load(img, len, 0xc0000, &pvl_kernel_iface, impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        errx(1, "%s: %s", argv[1], msg);
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0)
        err(1, "%s", argv[2]);
    return 0;
}
