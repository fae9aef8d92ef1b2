/*
 * elfpatch IN OUT WHAT...: copy an ELF file with one field changed, to
 * make the malformed inputs the tool's tests feed it.
 *
 *   ehdr FIELD VALUE         class|machine|type|phoff|shoff|shentsize|shnum
 *   shdr NAME FIELD VALUE    size|addr|offset of the section called NAME
 *   site N FIELD VALUE       addr|orig|iface|clobbers|room|flags|op|reserved
 *                            of pvlink_sites (format 2 records)
 *                            record N (the offsets are the raw fields)
 *   trunc N                  keep the first N bytes
 *
 * VALUE is a number (strtoll, any base) or +N to add to the field.  A
 * test helper for files it knows; it still refuses what it cannot find.
 */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *buf;
static size_t len;

static void die(const char *what)
{
    fprintf(stderr, "elfpatch: %s\n", what);
    exit(2);
}

static void need(size_t off, size_t n)
{
    if (off > len || n > len - off)
        die("offset outside the file");
}

/* Set or add to the (n)-byte little-endian field at (off). */
static void patch(size_t off, size_t n, const char *value)
{
    long long v = strtoll(value + (value[0] == '+'), NULL, 0), old = 0;

    need(off, n);
    memcpy(&old, buf + off, n);
    if (value[0] == '+')
        v += old;
    memcpy(buf + off, &v, n);
}

struct field {
    const char *name;
    size_t off, n;
};

static const struct field *find(const struct field *f, const char *name)
{
    for (; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    die("unknown field");
    return NULL;
}

static const struct field ehdr_fields[] = {
    {"class", EI_CLASS, 1},
    {"machine", offsetof(Elf64_Ehdr, e_machine), 2},
    {"type", offsetof(Elf64_Ehdr, e_type), 2},
    {"phoff", offsetof(Elf64_Ehdr, e_phoff), 8},
    {"shoff", offsetof(Elf64_Ehdr, e_shoff), 8},
    {"shentsize", offsetof(Elf64_Ehdr, e_shentsize), 2},
    {"shnum", offsetof(Elf64_Ehdr, e_shnum), 2},
    {NULL, 0, 0}};

static const struct field shdr_fields[] = {
    {"size", offsetof(Elf64_Shdr, sh_size), 8},
    {"addr", offsetof(Elf64_Shdr, sh_addr), 8},
    {"offset", offsetof(Elf64_Shdr, sh_offset), 8},
    {NULL, 0, 0}};

/* struct pvl_site, format 2 */
static const struct field site_fields[] = {
    {"addr", 0, 4}, {"orig", 4, 4}, {"iface", 12, 4}, {"clobbers", 16, 8},
    {"op", 24, 2},  {"room", 26, 1}, {"flags", 27, 1}, {"reserved", 28, 4},
    {NULL, 0, 0}};

/* File offset of the section header called (name). */
static size_t shdr_of(const char *name)
{
    Elf64_Ehdr h;
    Elf64_Shdr s, str;

    need(0, sizeof h);
    memcpy(&h, buf, sizeof h);
    need(h.e_shoff, (size_t)h.e_shnum * sizeof s);
    memcpy(&str, buf + h.e_shoff + h.e_shstrndx * sizeof s, sizeof str);
    for (size_t i = 0; i < h.e_shnum; i++) {
        size_t at = h.e_shoff + i * sizeof s;
        memcpy(&s, buf + at, sizeof s);
        need(str.sh_offset + s.sh_name, 1);
        if (!strcmp((char *)buf + str.sh_offset + s.sh_name, name))
            return at;
    }
    die("no such section");
    return 0;
}

static void run(int argc, char **argv)
{
    const struct field *f;

    if (argc == 6 && !strcmp(argv[3], "ehdr")) {
        f = find(ehdr_fields, argv[4]);
        patch(f->off, f->n, argv[5]);
    } else if (argc == 7 && !strcmp(argv[3], "shdr")) {
        f = find(shdr_fields, argv[5]);
        patch(shdr_of(argv[4]) + f->off, f->n, argv[6]);
    } else if (argc == 7 && !strcmp(argv[3], "site")) {
        Elf64_Shdr s;
        memcpy(&s, buf + shdr_of("pvlink_sites"), sizeof s);
        f = find(site_fields, argv[5]);
        patch(s.sh_offset + 32 * strtoull(argv[4], NULL, 0) + f->off, f->n,
              argv[6]);
    } else if (argc == 5 && !strcmp(argv[3], "trunc")) {
        size_t n = strtoull(argv[4], NULL, 0);
        len = n < len ? n : len;
    } else {
        die("usage: elfpatch IN OUT ehdr|shdr|site|trunc ...");
    }
}

int main(int argc, char **argv)
{
    FILE *f;

    if (argc < 4)
        die("usage: elfpatch IN OUT ehdr|shdr|site|trunc ...");
    if (!(f = fopen(argv[1], "rb")))
        die("cannot open the input");
    buf = malloc(1 << 24);
    len = fread(buf, 1, 1 << 24, f);
    fclose(f);
    run(argc, argv);
    if (!(f = fopen(argv[2], "wb")) || fwrite(buf, 1, len, f) != len || fclose(f))
        die("cannot write the output");
    free(buf);
    return 0;
}
