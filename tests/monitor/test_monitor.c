/*
 * pvlink-run against small guests of its own (tests/monitor/, in assembly): exact
 * exit counts, every malformed kernel and ROM refused with its message and
 * the guest never started, failures of the guest reported, usage errors.
 *
 * Paths come from the environment (set by monitor/monitor.mk):
 *   MON_RUN (pvlink-run), MON_TINY, MON_FAULT, MON_HANG (test guests),
 *   MON_ROM (the built-in ROM image, as a file), MON_ROM_B (the switch
 *   ROM), MON_ROM_DECLINE (a ROM whose probe declines), MON_TMP (scratch
 *   dir), MON_KERNEL (the reference kernel).
 *
 * SMP cases run 2 vCPUs (this host's software KVM recommends 2) and keep
 * the guest's work tiny; they assert exits, rounds and IPIs, never time.
 * Skips, with the reason, only when /dev/kvm is missing.
 */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pvlink/abi.h>
#include <pvlink/hv.h>
#include <pvlink/link.h>

#include "../harness.h"
#include "../runprog.h"

extern char **environ;

/* tests/runprog.c's, by this file's names */
#define env(name) t_env(name)
#define slurp(path, buf, n) t_slurp(path, buf, n)

struct res {
    int status;
    char out[1 << 16], err[1 << 14];
};

static int have_kvm(void)
{
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        return 1;
    t_skip("/dev/kvm is missing or not accessible: %m");
    return 0;
}

/* Run pvlink-run with (args) (NULL-terminated, after the program). */
static void run(struct res *r, const char *const *args)
{
    r->status = t_run_prog(env("MON_RUN"), args, env("MON_TMP"), 0, r->out, r->err,
                           sizeof r->out);
}

#define RUN(r, ...) run(r, (const char *const[]){__VA_ARGS__, NULL})

/* The run must end with (status) and stderr must contain (msg). */
static void expect(const struct res *r, int status, const char *msg, const char *what, int line)
{
    if (r->status != status || (msg && !strstr(r->err, msg))) {
        size_t n = strlen(r->out);
        t_fail(__FILE__, line, "%s: status %d, stderr \"%s\"; expected %d and \"%s\"; "
               "console ends:\n%s", what, r->status, r->err, status, msg ? msg : "",
               r->out + (n > 1500 ? n - 1500 : 0));
    }
}

static void tiny_boots(void)
{
    struct res r;
    char json[512], buf[4096];

    if (!have_kvm())
        return;
    snprintf(json, sizeof json, "%s/stats.json", env("MON_TMP"));
    RUN(&r, "--stats", "--stats-json", json, env("MON_TINY"));
    expect(&r, 0, "exits to the monitor: 7 (1 vCPU)\n", "tiny guest", __LINE__);
    CHECK(strcmp(r.out, "tiny\nhello\n") == 0);
    slurp(json, buf, sizeof buf);
    CHECK(strstr(buf, "\"user_exits\": 7,") != NULL);
    CHECK(strstr(buf, "{\"port\": 1016, \"dir\": \"out\", \"count\": 5}") != NULL);
    CHECK(strstr(buf, "\"puts\": 1,") != NULL);
    CHECK(strstr(buf, "\"hypercall_errors\": 0,") != NULL);
    CHECK(strstr(buf, "\"hypercall_unknown\": 0,") != NULL);
    CHECK(strstr(buf, "\"hypercall_malformed\": 0,") != NULL);
    CHECK(strstr(buf, "\"cpus\": 1,") != NULL);
    /* the same with no ROM and with a policy: the guest does not care */
    RUN(&r, "--no-rom", env("MON_TINY"));
    expect(&r, 0, NULL, "tiny --no-rom", __LINE__);
    RUN(&r, "--policy", "io_delay=native", "-m", "16", env("MON_TINY"), "--", "a", "b");
    expect(&r, 0, NULL, "tiny --policy", __LINE__);
}

static void guest_failures(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, env("MON_FAULT"));
    expect(&r, 66, "guest failed: triple fault (KVM_EXIT_SHUTDOWN) (vCPU 0, rip 0x100000)", "fault",
           __LINE__);
    RUN(&r, "--timeout", "1", env("MON_HANG"));
    expect(&r, 66, "guest failed: timed out after 1 s", "hang", __LINE__);
}

static void usage_errors(void)
{
    struct res r;

    RUN(&r, "--mem", "5", "k");
    expect(&r, 64, "--mem: \"5\" is not a number in [8, 3072]", "mem", __LINE__);
    RUN(&r, "--policy", "bogus=nop", "k");
    expect(&r, 64, "--policy: unknown operation \"bogus\"", "policy op", __LINE__);
    RUN(&r, "--policy", "io_delay=sideways", "k");
    expect(&r, 64, "--policy: unknown action \"sideways\"", "policy action", __LINE__);
    RUN(&r, "--no-rom", "--late-link", "k");
    expect(&r, 64, "--no-rom cannot be combined", "no-rom", __LINE__);
    RUN(&r, "--stats");
    expect(&r, 64, "no KERNEL given", "no kernel", __LINE__);
    RUN(&r, "--bogus", "k"); /* one message, not getopt's and ours */
    expect(&r, 64, "pvlink-run: unknown option --bogus\n(pvlink-run --help for usage)\n",
           "unknown option", __LINE__);
    CHECK(strstr(r.err, "unrecognized") == NULL);
    RUN(&r, "--timeout");
    expect(&r, 64, "pvlink-run: option --timeout needs an argument\n", "no argument", __LINE__);
    RUN(&r, "--cpus", "0", "k");
    expect(&r, 64, "--cpus: \"0\" is not a number in [1, 8]", "cpus 0", __LINE__);
    RUN(&r, "--cpus", "9", "k");
    expect(&r, 64, "--cpus: \"9\" is not a number in [1, 8]", "cpus 9", __LINE__);
    RUN(&r, "--no-acpi", "--cpus", "2", "k");
    expect(&r, 64, "--no-acpi leaves the kernel one CPU", "no-acpi smp", __LINE__);
    RUN(&r, "--rom-switch-after", "1", "k");
    expect(&r, 64, "--rom-switch-after needs --rom-switch FILE", "switch-after", __LINE__);
    RUN(&r, "--help");
    CHECK(r.status == 0 && strstr(r.out, "usage: pvlink-run") != NULL);
    CHECK(strstr(r.out, "or a console (stdout) that is closed or cannot be written") != NULL);
}

/* ------------------------------------------------------------------------
 * Malformed kernels, made from the tiny guest.
 */

static size_t load(const char *path, uint8_t *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    ssize_t k = read(fd, buf, n);
    close(fd);
    return k > 0 ? (size_t)k : 0;
}

static const char *save(const char *name, const void *buf, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", env("MON_TMP"), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
        t_fail(__FILE__, __LINE__, "cannot write %s", path);
    close(fd);
    return path;
}

static Elf64_Phdr *phdr(uint8_t *elf, int type)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
    Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == (Elf64_Word)type)
            return &ph[i];
    return NULL;
}

struct bad_kernel {
    const char *name;
    void (*mutate)(uint8_t *elf, size_t *n);
    const char *msg;
};

static void k_truncated(uint8_t *e, size_t *n) { (void)e; *n = 40; }
static void k_magic(uint8_t *e, size_t *n) { (void)n; e[1] = 'X'; }
static void k_class(uint8_t *e, size_t *n) { (void)n; e[EI_CLASS] = ELFCLASS32; }
static void k_machine(uint8_t *e, size_t *n) { (void)n; ((Elf64_Ehdr *)e)->e_machine = EM_386; }
static void k_type(uint8_t *e, size_t *n) { (void)n; ((Elf64_Ehdr *)e)->e_type = ET_DYN; }
static void k_phoff(uint8_t *e, size_t *n) { ((Elf64_Ehdr *)e)->e_phoff = *n - 8; }
static void k_phoff_odd(uint8_t *e, size_t *n)
{   /* program headers at an odd offset: read safely, then judged */
    Elf64_Ehdr *eh = (Elf64_Ehdr *)e;
    phdr(e, PT_NOTE)->p_type = PT_NULL; /* while still aligned */
    memmove(e + *n + 1, e + eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr));
    eh->e_phoff = *n + 1;
    *n += 1 + eh->e_phnum * sizeof(Elf64_Phdr);
}
static void k_past_ram(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_paddr = 0x3ffffc0; }
static void k_low(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_paddr = 0x8000; }
static void k_wrap(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_memsz = ~0ull - 0x1000; }
static void k_file_range(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_filesz = 1u << 30; phdr(e, PT_LOAD)->p_memsz = 1u << 30; }
static void k_no_note(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_NOTE)->p_type = PT_NULL; }
/* the note, inside the code, loaded a second time */
static void k_overlap(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_NOTE)->p_type = PT_LOAD; }
static void k_note_type(uint8_t *e, size_t *n)
{
    (void)n;
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(e + phdr(e, PT_NOTE)->p_offset);
    nh->n_type = 17;
}
static void k_note_size(uint8_t *e, size_t *n)
{
    (void)n;
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(e + phdr(e, PT_NOTE)->p_offset);
    nh->n_descsz = 4000;
}
static void set_entry(uint8_t *e, uint32_t v)
{
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(e + phdr(e, PT_NOTE)->p_offset);
    memcpy((uint8_t *)(nh + 1) + 4, &v, 4);
}
static void k_entry(uint8_t *e, size_t *n) { (void)n; set_entry(e, 0x200000); }
static void k_entry_bss(uint8_t *e, size_t *n)
{   /* past the segment's file bytes, inside its zero-filled tail */
    (void)n;
    Elf64_Phdr *ld = phdr(e, PT_LOAD);
    ld->p_memsz = ld->p_filesz + 0x1000;
    set_entry(e, (uint32_t)(ld->p_paddr + ld->p_filesz + 0x10));
}
static void k_entry_noexec(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_flags &= ~PF_X; }
/* The PT_NOTE moved to the end of the file, holding two PVH notes whose
 * entries differ by (delta). */
static void two_notes(uint8_t *e, size_t *n, uint32_t delta)
{
    static const uint32_t hdr[4] = {4, 4, 18, 0x006e6558}; /* "Xen\0" */
    Elf64_Phdr *note = phdr(e, PT_NOTE);
    uint32_t entry = 0x100000, second = entry + delta;
    size_t at = (*n + 3) & ~(size_t)3;

    memcpy(e + at, hdr, 16), memcpy(e + at + 16, &entry, 4);
    memcpy(e + at + 20, hdr, 16), memcpy(e + at + 36, &second, 4);
    note->p_offset = at, note->p_filesz = 40;
    *n = at + 40;
}
static void k_two_notes(uint8_t *e, size_t *n) { two_notes(e, n, 0x10); }
static void k_two_equal_notes(uint8_t *e, size_t *n) { two_notes(e, n, 0); }

static const struct bad_kernel bad_kernels[] = {
    {"truncated", k_truncated, "truncated: the ELF header ends at byte 64, the file has 40"},
    {"bad magic", k_magic, "not an ELF file (bad magic)"},
    {"ELF32", k_class, "a 32-bit ELF file (class 1); expected a 64-bit x86-64 executable\n"},
    {"i386", k_machine, "built for another machine (ELF machine 3, i386); expected a 64-bit "
     "x86-64 executable\n"},
    {"shared object", k_type, "a shared object (ELF type 3); expected a 64-bit x86-64 "
     "executable\n"},
    {"program headers outside", k_phoff, "truncated: the program header table of 2 entries "
     "(offset 0x"},
    {"program headers misaligned", k_phoff_odd, "no PVH entry note"},
    {"segment past RAM", k_past_ram, "segment 0: [0x3ffffc0, +0x7c) lies outside guest RAM [1 MiB, 0x4000000)"},
    {"segment below 1 MiB", k_low, "segment 0: [0x8000, +0x7c) lies outside guest RAM"},
    {"segment size wraps", k_wrap, "segment 0: physical address 0x100000 + memory size "
     "0xffffffffffffefff overflows\n"},
    {"segment past the file", k_file_range, "truncated: segment 0 (offset 0x1000, 0x40000000 "
     "bytes) ends at byte 1073745920, the file has "},
    {"segments overlap", k_overlap, "loadable segments 0 and 1 overlap: [0x100000, +0x7c) and "
     "[0x100068, +0x14) (physical addresses)\n"},
    {"no PT_NOTE", k_no_note, "no PVH entry note (\"Xen\", type 18): not a PVH kernel"},
    {"other note type", k_note_type, "no PVH entry note"},
    {"note past its segment", k_note_size, "segment 1: the note at offset 0x1068 (name 4 "
     "bytes, descriptor 4000 bytes) runs past the segment, which ends at 0x107c\n"},
    {"entry outside", k_entry, "PVH entry 0x200000 is not in the code of an executable segment: "
     "it lies in no loaded segment"},
    {"entry in bss", k_entry_bss, "is not in the code of an executable segment: it lies in the "
     "zero-filled (bss) part of a segment"},
    {"entry in data", k_entry_noexec, "PVH entry 0x100000 is not in the code of an executable "
     "segment: it lies in a segment that is not executable"},
    {"two PVH notes", k_two_notes, "entries 0x100000 and 0x100010): exactly one is allowed"},
    {"two equal PVH notes", k_two_equal_notes,
     "entries 0x100000 and 0x100000): exactly one is allowed"},
};

static void bad_kernels_refused(void)
{
    static uint8_t elf[65536];
    struct res r;

    if (!have_kvm())
        return;
    for (size_t i = 0; i < sizeof bad_kernels / sizeof bad_kernels[0]; i++) {
        size_t n = load(env("MON_TINY"), elf, sizeof elf);
        bad_kernels[i].mutate(elf, &n);
        RUN(&r, "--mem", "64", save("bad.elf", elf, n));
        expect(&r, 65, bad_kernels[i].msg, bad_kernels[i].name, __LINE__);
        CHECK(r.out[0] == 0); /* the guest never ran */
    }
    RUN(&r, "/nonexistent/kernel");
    expect(&r, 65, "kernel /nonexistent/kernel: No such file or directory", "missing", __LINE__);
}

/* One note seen through two PT_NOTE headers is one note: accepted. */
static void note_seen_twice(void)
{
    static uint8_t elf[65536];
    struct res r;
    size_t n;

    if (!have_kvm())
        return;
    n = load(env("MON_TINY"), elf, sizeof elf);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
    size_t at = (n + 7) & ~(size_t)7;
    memcpy(elf + at, elf + eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr));
    memcpy(elf + at + eh->e_phnum * sizeof(Elf64_Phdr), phdr(elf, PT_NOTE), sizeof(Elf64_Phdr));
    eh->e_phoff = at;
    eh->e_phnum++;
    n = at + eh->e_phnum * sizeof(Elf64_Phdr);
    RUN(&r, save("twice.elf", elf, n));
    expect(&r, 0, NULL, "note seen twice", __LINE__);
    CHECK(strcmp(r.out, "tiny\nhello\n") == 0);
}

/* ------------------------------------------------------------------------
 * Malformed ROM files: each header and table field broken in turn.
 */

#define HDR(img) ((struct pvl_rom_header *)(img))
#define ENT(img, i) ((struct pvl_rom_entry *)((img) + HDR(img)->table_off) + (i))

struct bad_rom {
    const char *name;
    void (*mutate)(uint8_t *img, size_t *n);
    int reseal;
    const char *msg;
};

static void r_short(uint8_t *i, size_t *n) { (void)i; *n = 20; }
static void r_magic(uint8_t *i, size_t *n) { (void)n; HDR(i)->magic = 0x12345678; }
static void r_major(uint8_t *i, size_t *n) { (void)n; HDR(i)->format_major = 9; }
static void r_size(uint8_t *i, size_t *n) { HDR(i)->size = (uint32_t)*n + 16; }
static void r_sum(uint8_t *i, size_t *n) { (void)n; HDR(i)->checksum ^= 1; }
static void r_flags(uint8_t *i, size_t *n) { (void)n; HDR(i)->flags = 4; }
static void r_reserved(uint8_t *i, size_t *n) { (void)n; HDR(i)->reserved[0] = 1; }
static void r_iface(uint8_t *i, size_t *n) { (void)n; HDR(i)->iface[0] = 'X'; }
static void r_imajor(uint8_t *i, size_t *n) { (void)n; HDR(i)->iface_major = 3; }
static void r_toff(uint8_t *i, size_t *n) { (void)n; HDR(i)->table_off = 0xfff0; }
static void r_tcount(uint8_t *i, size_t *n) { (void)n; HDR(i)->table_count = 1000; }
static void r_op(uint8_t *i, size_t *n) { (void)n; ENT(i, 5)->op = 1; }
static void r_action(uint8_t *i, size_t *n) { (void)n; ENT(i, 5)->action = 9; }
static void r_ereserved(uint8_t *i, size_t *n) { (void)n; ENT(i, 5)->reserved1 = 1; }
static void r_tclb(uint8_t *i, size_t *n) { (void)n; ENT(i, 1)->tmpl_clobbers |= 1u << 4; }
static void r_toff2(uint8_t *i, size_t *n) { ENT(i, 1)->tmpl_off = (uint32_t)*n; }
static void r_coff(uint8_t *i, size_t *n) { ENT(i, 31)->call_off = (uint32_t)*n + 8; }
static void r_missing(uint8_t *i, size_t *n) { (void)n; ENT(i, 31)->call_off = 0; ENT(i, 31)->call_len = 0; }
static void r_nopres(uint8_t *i, size_t *n) { (void)n; ENT(i, 32)->action = PVL_ACT_NOP; ENT(i, 32)->call_off = 0; ENT(i, 32)->call_len = 0; }
static void r_tret(uint8_t *i, size_t *n) { (void)n; i[ENT(i, 1)->tmpl_off] = 0xc3; }

static const struct bad_rom bad_roms[] = {
    {"truncated", r_short, 0, "header: ROM image is shorter than its header (0x14)"},
    {"magic", r_magic, 1, "header.magic: bad ROM magic (0x12345678)"},
    {"format major", r_major, 1, "header.format_major: unsupported ROM format major version (found 9, expected 2)"},
    {"size", r_size, 0, "header.size: ROM size field does not fit the image"},
    {"checksum", r_sum, 0, "header.checksum: ROM checksum mismatch"},
    {"flags", r_flags, 1, "header.flags: reserved ROM field is not zero (0x4)"},
    {"reserved", r_reserved, 1, "header.reserved: reserved ROM field is not zero"},
    {"interface", r_iface, 1, "header.iface: ROM is for another interface"},
    {"interface major", r_imajor, 1, "header.iface_major: ROM interface major version differs (found 3, expected 1)"},
    {"table offset", r_toff, 1, "header.table_off: ROM table is out of bounds (0xfff0)"},
    {"table count", r_tcount, 1, "header.table_count: ROM table is out of bounds (0x3e8)"},
    {"entry order", r_op, 1, "entry.op[5]: ROM entries are not in increasing operation order (0x1)"},
    {"entry action", r_action, 1, "entry.action[5] (safe_halt): ROM entry has an unknown action (0x9)"},
    {"entry reserved", r_ereserved, 1, "entry.reserved[5]: reserved ROM field is not zero (0x1)"},
    {"template clobbers rsp", r_tclb, 1, "entry.tmpl_clobbers[1] (irq_disable): clobber mask names RSP or a reserved bit"},
    {"template offset", r_toff2, 1, "entry.tmpl_off[1]: ROM template is out of bounds"},
    {"call offset", r_coff, 1, "entry.call_off[31]: ROM call entry is empty, out of bounds"},
    {"call missing", r_missing, 1, "entry.action[31] (console_write): ROM entry lacks the template or call its action needs (0x2)"},
    {"nop for clock_read", r_nopres, 1, "entry.action[32] (clock_read): NOPs chosen for an operation that returns a value (0x3)"},
    {"template returns", r_tret, 1, "entry.template[1] +0: c3 is a return-like instruction (ret)"},
};

static void bad_roms_refused(void)
{
    static uint8_t img[65536];
    struct res r;
    char want[300];

    if (!have_kvm())
        return;
    for (size_t i = 0; i < sizeof bad_roms / sizeof bad_roms[0]; i++) {
        size_t n = load(env("MON_ROM"), img, sizeof img);
        bad_roms[i].mutate(img, &n);
        if (bad_roms[i].reseal)
            pvl_rom_seal(img, n);
        const char *path = save("bad.rom", img, n);
        snprintf(want, sizeof want, "ROM %s refused: %s", path, bad_roms[i].msg);
        RUN(&r, "--rom", path, env("MON_TINY"));
        expect(&r, 65, want, bad_roms[i].name, __LINE__);
        CHECK(r.out[0] == 0); /* the guest never started */
    }
    /* the good image as a file is accepted */
    RUN(&r, "--rom", env("MON_ROM"), env("MON_TINY"));
    expect(&r, 0, NULL, "good ROM file", __LINE__);
    RUN(&r, "--rom", "/nonexistent.rom", env("MON_TINY"));
    expect(&r, 65, "ROM /nonexistent.rom: No such file or directory", "missing ROM", __LINE__);
}

static void policies_checked(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--policy", "read_msr=inline", env("MON_TINY"));
    expect(&r, 65, "--policy read_msr=inline: ROM (built in) offers no inline template for read_msr",
           "inline without template", __LINE__);
    RUN(&r, "--policy", "clock_read=nop", env("MON_TINY"));
    expect(&r, 65, "ROM (built in) refused: entry.action[32] (clock_read): NOPs chosen for an operation",
           "nop for clock", __LINE__);
    RUN(&r, "--policy", "cpuid=call", env("MON_TINY"));
    expect(&r, 65, "offers no call entry for cpuid", "call without entry", __LINE__);
}

/* ------------------------------------------------------------------------
 * The reference kernel under pvlink-run.
 */

/* The number after (key) in (s), or -1. */
static long after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long json_num(const char *path, const char *key)
{
    char buf[8192], k[64];
    slurp(path, buf, sizeof buf);
    snprintf(k, sizeof k, "\"%s\": ", key);
    return after(buf, k);
}

/*
 * What linking the kernel against the built-in ROM must give, computed on
 * the host: the kernel's loaded image and site table, a dry run of the
 * same core.  (count) gets sites by action.
 */
static int predict(uint32_t count[PVL_NACTIONS])
{
    static uint8_t file[4 << 20], img[4 << 20], rom[65536];
    size_t n = load(env("MON_KERNEL"), file, sizeof file), rn = load(env("MON_ROM"), rom, sizeof rom);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
    const char *names = (const char *)file + sh[eh->e_shstrndx].sh_offset;
    uint64_t base = UINT64_MAX, top = 0;
    struct pvl_impl impl[64];
    struct pvl_env envr;
    struct pvl_report rep = {0};

    if (n < sizeof *eh || !rn)
        return -1;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            base = ph[i].p_vaddr < base ? ph[i].p_vaddr : base;
            top = ph[i].p_vaddr + ph[i].p_memsz > top ? ph[i].p_vaddr + ph[i].p_memsz : top;
        }
    if (top - base > sizeof img)
        return -1;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD)
            memcpy(img + ph[i].p_vaddr - base, file + ph[i].p_offset, ph[i].p_filesz);
    struct pvl_range text = {0, 0}; /* rooms lie in .text, as the kernel says */
    for (int i = 0; i < eh->e_shnum; i++)
        if (!strcmp(names + sh[i].sh_name, ".text"))
            text = (struct pvl_range){(uintptr_t)img + sh[i].sh_addr - base,
                                      (uintptr_t)img + sh[i].sh_addr - base + sh[i].sh_size};
    for (int i = 0; i < eh->e_shnum; i++) {
        if (strcmp(names + sh[i].sh_name, "pvlink_sites"))
            continue;
        struct pvl_link l = {.sites = (const struct pvl_site *)(img + sh[i].sh_addr - base),
                             .nsites = sh[i].sh_size / sizeof(struct pvl_site),
                             .lo = (uintptr_t)img, .hi = (uintptr_t)img + (top - base),
                             .exec = &text, .nexec = 1,
                             .bias = (int64_t)base - (int64_t)(uintptr_t)img,
                             .iface = &pvl_kernel_iface, .env = &envr,
                             .flags = PVL_LINK_DRY_RUN, .report = &rep};
        if (pvl_rom_load(rom, rn, 0xc0000, &pvl_kernel_iface, impl, &envr, NULL) != PVL_OK ||
            pvl_link(&l) != PVL_OK)
            return -1;
        memcpy(count, rep.count, sizeof rep.count);
        return (int)rep.nsites;
    }
    return -1;
}

static void check_report(const struct res *r, const char *when, int line)
{
    uint32_t want[PVL_NACTIONS];
    char key[64];
    int nsites = predict(want);
    const char *p;

    snprintf(key, sizeof key, "pvlink: linked at %s: ", when);
    if (nsites <= 0 || !(p = strstr(r->out, key))) {
        t_fail(__FILE__, line, "no \"%s\" line (predicted %d sites)", key, nsites);
        return;
    }
    if (after(p, "sites: native ") != (long)want[PVL_ACT_NATIVE] ||
        after(p, ", inline ") != (long)want[PVL_ACT_INLINE] ||
        after(p, ", call ") != (long)want[PVL_ACT_CALL] || after(p, ", nop ") != (long)want[PVL_ACT_NOP] ||
        after(p, "0xc0000: ") != nsites)
        t_fail(__FILE__, line, "report %.120s; predicted %d sites: native %u, inline %u, call %u, nop %u",
               p, nsites, want[0], want[1], want[2], want[3]);
    CHECK(want[PVL_ACT_CALL] > 0 && want[PVL_ACT_INLINE] > 0 && want[PVL_ACT_NOP] > 0);
}

static void kernel_selftest(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--timeout", "120", env("MON_KERNEL"), "--", "selftest");
    expect(&r, 0, NULL, "selftest with the ROM", __LINE__);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    check_report(&r, "boot", __LINE__);

    RUN(&r, "--timeout", "120", "--no-rom", env("MON_KERNEL"), "--", "selftest");
    expect(&r, 0, NULL, "selftest --no-rom", __LINE__);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    CHECK(after(r.out, "pvlink: no ROM, ") > 0);
    CHECK(strstr(r.out, "pvlink: linked") == NULL);

    RUN(&r, "--timeout", "120", "--late-link", env("MON_KERNEL"), "--", "selftest");
    expect(&r, 0, NULL, "selftest --late-link", __LINE__);
    CHECK(strstr(r.out, "for late linking") != NULL);
    CHECK(strstr(r.out, "selftest: page faults ok\n") != NULL);          /* native */
    CHECK(strstr(r.out, "selftest: page faults ok (linked late)\n") != NULL); /* linked */
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    check_report(&r, "midpoint", __LINE__);
}

/* The lines a log run printed, without the boot and link reports and the
 * cycle count, which differ between native and linked runs. */
static void log_lines(const char *out, char *dst, size_t n)
{
    size_t k = 0;
    for (const char *p = out; *p && k + 1 < n;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        if (!strncmp(p, "log 0", 5) && k + len < n)
            memcpy(dst + k, p, len), k += len;
        p += len;
    }
    dst[k] = 0;
}

static void log_exits(void)
{
    struct res r;
    char nj[512], lj[512], pj[512];
    static char native_lines[8192], rom_lines[8192];

    if (!have_kvm())
        return;
    snprintf(nj, sizeof nj, "%s/log-native.json", env("MON_TMP"));
    snprintf(lj, sizeof lj, "%s/log-rom.json", env("MON_TMP"));
    snprintf(pj, sizeof pj, "%s/log-policy.json", env("MON_TMP"));
    RUN(&r, "--timeout", "120", "--no-rom", "--stats-json", nj, env("MON_KERNEL"), "--", "log", "20");
    expect(&r, 0, NULL, "log native", __LINE__);
    log_lines(r.out, native_lines, sizeof native_lines);
    RUN(&r, "--timeout", "120", "--stats-json", lj, env("MON_KERNEL"), "--", "log", "20");
    expect(&r, 0, NULL, "log linked", __LINE__);
    log_lines(r.out, rom_lines, sizeof rom_lines);
    long native = json_num(nj, "user_exits"), rom = json_num(lj, "user_exits");
    printf("  log 20: %ld exits native, %ld with the ROM\n", native, rom);
    CHECK(native > 0 && rom > 0 && rom * 50 <= native);
    CHECK(strlen(native_lines) == 20 * 64 && strcmp(native_lines, rom_lines) == 0);
    /* the console is what makes the difference: keep it native, lose it */
    RUN(&r, "--timeout", "120", "--policy", "console_write=native", "--stats-json", pj,
        env("MON_KERNEL"), "--", "log", "20");
    expect(&r, 0, NULL, "log with console_write=native", __LINE__);
    CHECK(json_num(pj, "user_exits") * 2 > native);
}

static void clock_exits(void)
{
    struct res r;
    char a[512], b[512];

    if (!have_kvm())
        return;
    snprintf(a, sizeof a, "%s/clock-10.json", env("MON_TMP"));
    snprintf(b, sizeof b, "%s/clock-500.json", env("MON_TMP"));
    RUN(&r, "--timeout", "120", "--stats-json", a, env("MON_KERNEL"), "--", "clock", "10");
    expect(&r, 0, NULL, "clock 10", __LINE__);
    RUN(&r, "--timeout", "120", "--stats-json", b, env("MON_KERNEL"), "--", "clock", "500");
    expect(&r, 0, NULL, "clock 500", __LINE__);
    /* 490 more clock reads, not one more exit to the monitor or hypercall */
    CHECK(json_num(a, "user_exits") > 0);
    CHECK_EQ(json_num(b, "user_exits"), json_num(a, "user_exits"));
    CHECK_EQ(json_num(b, "puts"), json_num(a, "puts"));
}

/* Every OUT to the hypercall port is counted exactly once: by number when
 * well-formed, or as unknown, or as malformed (a bad PUTS is not a PUTS). */
static void hcalls_counted_once(const char *j)
{
    static const char *const kinds[] = {"puts", "exit", "poll", "nop", "rom_info",
                                        "hypercall_unknown", "hypercall_malformed"};
    char buf[8192], key[80];
    long sum = 0;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        sum += json_num(j, kinds[i]);
    slurp(j, buf, sizeof buf);
    snprintf(key, sizeof key, "\"port\": %d, \"dir\": \"out\", \"count\": ", PVL_HV_PORT);
    CHECK(after(buf, key) > 0);
    CHECK_EQ(sum, after(buf, key));
}

static void hypercall_fuzz(void)
{
    struct res r;
    char j[512];

    if (!have_kvm())
        return;
    snprintf(j, sizeof j, "%s/hcfuzz.json", env("MON_TMP"));
    RUN(&r, "--timeout", "120", "--stats-json", j, env("MON_KERNEL"), "--", "hcfuzz");
    expect(&r, 0, NULL, "hcfuzz", __LINE__);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    CHECK(strstr(r.out, "FAIL") == NULL);
    CHECK_EQ(json_num(j, "hypercall_errors"), 8);    /* each bad request, counted */
    CHECK_EQ(json_num(j, "hypercall_unknown"), 2);   /* numbers 0 and 0x7fffffff */
    CHECK_EQ(json_num(j, "hypercall_malformed"), 6); /* addresses, lengths, alignment */
    hcalls_counted_once(j);
}

/* ------------------------------------------------------------------------
 * SMP: 2 vCPUs, ACPI, live re-linking, the ROM switch.
 */

static void smp_selftest(void)
{
    struct res r;
    char j[512];

    if (!have_kvm())
        return;
    snprintf(j, sizeof j, "%s/smp.json", env("MON_TMP"));
    RUN(&r, "--timeout", "120", "--cpus", "2", "--stats-json", j, env("MON_KERNEL"), "--",
        "selftest");
    expect(&r, 0, NULL, "selftest on 2 vCPUs", __LINE__);
    CHECK(strstr(r.out, "\nsmp: 2 of 2 CPUs online (APIC ids 0 1), MADT at 0xf0100 found by "
                 "start_info.rsdp_paddr; timer on IOAPIC GSI 0\n") != NULL);
    CHECK(strstr(r.out, "\nselftest: cpus ok\n") != NULL);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    CHECK_EQ(json_num(j, "cpus"), 2);
}

/* The second CPU costs the monitor one exit, the PUTS of the boot's "smp:"
 * line: its start-up (INIT, STARTUP), IPIs and idling are all handled
 * inside KVM. */
static void smp_exits(void)
{
    struct res r;
    char a[512], b[512];

    if (!have_kvm())
        return;
    snprintf(a, sizeof a, "%s/log-1cpu.json", env("MON_TMP"));
    snprintf(b, sizeof b, "%s/log-2cpu.json", env("MON_TMP"));
    RUN(&r, "--timeout", "120", "--stats-json", a, env("MON_KERNEL"), "--", "log", "5");
    expect(&r, 0, NULL, "log on 1 vCPU", __LINE__);
    RUN(&r, "--timeout", "120", "--cpus", "2", "--stats-json", b, env("MON_KERNEL"), "--", "log",
        "5");
    expect(&r, 0, NULL, "log on 2 vCPUs", __LINE__);
    CHECK(json_num(a, "user_exits") > 0);
    CHECK_EQ(json_num(b, "user_exits"), json_num(a, "user_exits") + 1);
    CHECK_EQ(json_num(b, "puts"), json_num(a, "puts") + 1);
}

/* No ACPI tables: one CPU on the 8259 PIC, and the timer still ticks. */
static void no_acpi(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--timeout", "120", "--no-acpi", env("MON_KERNEL"), "--", "selftest");
    expect(&r, 0, NULL, "selftest --no-acpi", __LINE__);
    CHECK(strstr(r.out, "acpi: no RSDP (start_info.rsdp_paddr is 0, no legacy scan found one): "
                 "one CPU, 8259 PIC\n") != NULL);
    CHECK(strstr(r.out, "\nsmp:") == NULL);
    CHECK(strstr(r.out, "selftest: timer interrupt ok\n") != NULL);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
}

/* The numbers of a "relink: PATH: L links, R rounds, I IPIs, T retries"
 * line, or -1 in (*links) if there is none. */
static void path_line(const char *out, const char *path, long v[4])
{
    char key[64];
    const char *p;

    snprintf(key, sizeof key, "\nrelink: %s: ", path);
    v[0] = -1, v[1] = v[2] = v[3] = 0;
    if ((p = strstr(out, key)))
        sscanf(p + strlen(key), "%ld links, %ld rounds, %ld IPIs, %ld retries", &v[0], &v[1],
               &v[2], &v[3]);
}

/* Batching: on 2 CPUs, a breakpoint link takes 3 rounds and a
 * rendezvous 1 (plus 1 per retry), each round 1 IPI, whatever the number
 * of sites.  The rendezvous must have been taken; the breakpoint path too
 * when (breakpoint) is set.  (Every link of all the kernel's sites changes
 * interrupt-flag sites of 8 bytes between an inline form and a call
 * followed by padding, several instructions: all of them rendezvous.) */
static void check_rounds(const char *out, int line, int breakpoint)
{
    long bp[4], rv[4];

    path_line(out, "breakpoint", bp);
    path_line(out, "rendezvous", rv);
    if ((breakpoint || bp[0] >= 0) &&
        (bp[0] <= 0 || bp[1] != 3 * bp[0] || bp[2] != bp[1] || bp[3] != 0))
        t_fail(__FILE__, line, "breakpoint: %ld links, %ld rounds, %ld IPIs", bp[0], bp[1],
               bp[2]);
    if (rv[0] <= 0 || rv[1] != rv[0] + rv[3] || rv[2] != rv[1])
        t_fail(__FILE__, line, "rendezvous: %ld links, %ld rounds, %ld IPIs, %ld retries",
               rv[0], rv[1], rv[2], rv[3]);
}

/* Every console line of the load arrived whole, each CPU's in order from
 * 0; returns how many. */
static int check_load_lines(const char *out, int line)
{
    long next[8] = {0};
    int n = 0;

    for (const char *p = out; (p = strstr(p, "relink: cpu")); p++) {
        unsigned cpu;
        long k;
        int len = 0;
        if (p != out && p[-1] != '\n')
            continue;
        if (sscanf(p, "relink: cpu%u line %6ld abcdefghijklmnopqrstuvwxyz%n", &cpu, &k,
                   &len) == 2 && len == 51 && p[len] == '\n' && cpu < 8) {
            if (k != next[cpu]++)
                t_fail(__FILE__, line, "cpu%u line %ld, expected %ld", cpu, k, next[cpu] - 1);
            n++;
        } else if (sscanf(p, "relink: cpu%u: ", &cpu) != 1) {
            t_fail(__FILE__, line, "a mangled load line: %.60s", p);
        }
    }
    return n;
}

static void relink_switch(void)
{
    struct res r;
    char j[512];

    if (!have_kvm())
        return;
    snprintf(j, sizeof j, "%s/relink.json", env("MON_TMP"));
    RUN(&r, "--timeout", "300", "--cpus", "2", "--rom-switch", env("MON_ROM_B"),
        "--rom-switch-after", "0", "--stats-json", j, env("MON_KERNEL"), "--", "relink", "2");
    expect(&r, 0, NULL, "relink 2 with a switch", __LINE__);
    CHECK(strstr(r.out, "\npvlink: linked at ROM switch: ROM \"pvlink.kernel\" 1.1 at 0xd0000: ")
          != NULL);
    CHECK(strstr(r.out, "\nrelink: 2 cycles, 12 links on 2 CPUs, all sites, 0 failed; now "
                 "ROM A\n") != NULL);
    CHECK(strstr(r.out, "; wrong results 0\n") != NULL);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
    check_rounds(r.out, __LINE__, 0);
    CHECK(check_load_lines(r.out, __LINE__) > 0);
    CHECK_EQ(json_num(j, "rom_switches"), 1);
    CHECK_EQ(json_num(j, "hypercall_errors"), 0);
}

/* Only 10 sites take part: the same rounds and IPIs per link. */
static void relink_ten_sites(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--timeout", "300", "--cpus", "2", "--rom-switch", env("MON_ROM_B"),
        "--rom-switch-after", "0", env("MON_KERNEL"), "--", "relink", "2", "10");
    expect(&r, 0, NULL, "relink 2 10", __LINE__);
    CHECK(strstr(r.out, "\nrelink: 2 cycles, 12 links on 2 CPUs, 10 sites taking part (at most "
                 "10 asked), 0 failed; now ROM A\n") != NULL);
    CHECK(strstr(r.out, "\npvlink: linked at ROM switch: ROM \"pvlink.kernel\" 1.1 at 0xd0000: ")
          != NULL);
    CHECK(strstr(r.out, "; wrong results 0\n") != NULL);
    check_rounds(r.out, __LINE__, 1);
}

/* Run pvlink-run with (args), its stdout a pipe: returns the pid and the
 * pipe's read end in (*fd); stderr goes to MON_TMP/err. */
static pid_t spawn_pipe(const char *const *args, int *fd)
{
    const char *argv[32] = {env("MON_RUN")};
    posix_spawn_file_actions_t fa;
    char err[512];
    int p[2], n = 1;
    pid_t pid;

    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    snprintf(err, sizeof err, "%s/err", env("MON_TMP"));
    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Read (fd) into (buf) until (want) appears (NULL: end of file). */
static size_t read_until(int fd, char *buf, size_t n, size_t have, const char *want)
{
    ssize_t k;

    while (have + 1 < n && (k = read(fd, buf + have, n - 1 - have)) > 0) {
        have += (size_t)k;
        buf[have] = 0;
        if (want && strstr(buf, want))
            break;
    }
    buf[have] = 0;
    return have;
}

/* SIGUSR1 publishes the switch ROM; the guest re-links to it.  relink
 * waits for a switch the monitor announced, so the signal may come at any
 * time after the first line, on a slow host or a fast one. */
static void switch_on_signal(void)
{
    static char out[1 << 16];
    int fd, st;
    pid_t pid;
    size_t n;

    if (!have_kvm())
        return;
    pid = spawn_pipe((const char *const[]){"--timeout", "300", "--cpus", "2", "--rom-switch",
                                           env("MON_ROM_B"), env("MON_KERNEL"), "--", "relink",
                                           "1", NULL}, &fd);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    n = read_until(fd, out, sizeof out, 0, "\n");
    kill(pid, SIGUSR1);
    read_until(fd, out, sizeof out, n, NULL);
    close(fd);
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "pvlink: the monitor may switch ROMs while the kernel runs\n") != NULL);
    CHECK(strstr(out, "\npvlink: linked at ROM switch: ROM \"pvlink.kernel\" 1.1 at 0xd0000: ")
          != NULL);
    CHECK(strstr(out, "; wrong results 0\n") != NULL);
    CHECK(strstr(out, "\nSUCCESS\n") != NULL);
}

/* A console that goes away stops the guest with status 67. */
static void console_closed(void)
{
    char err[8192], path[512];
    int fd, st;
    pid_t pid;

    if (!have_kvm())
        return;
    pid = spawn_pipe((const char *const[]){"--timeout", "120", env("MON_KERNEL"), "--", "log",
                                           "50", NULL}, &fd);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    close(fd);
    waitpid(pid, &st, 0);
    snprintf(path, sizeof path, "%s/err", env("MON_TMP"));
    slurp(path, err, sizeof err);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 67);
    CHECK(strstr(err, "pvlink-run: the console (stdout) cannot be written (Broken pipe); "
                      "guest stopped") != NULL);
}

/* A ROM whose probe declines leaves the kernel native even under the
 * pvlink monitor, after one line (the ROM is tests/guest/mkrom's
 * "decline", in MON_ROM_DECLINE). */
static void rom_declines(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--timeout", "120", "--rom", env("MON_ROM_DECLINE"), env("MON_KERNEL"), "--",
        "selftest");
    expect(&r, 0, NULL, "declining ROM", __LINE__);
    CHECK(strstr(r.out, "pvlink: ROM at 0xc0000 declined this machine (its probe returned 0): "
                        "all ") != NULL);
    CHECK(strstr(r.out, "pvlink: linked") == NULL);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
}

/* A switch to a ROM whose probe declines (pvlink-spt's, here) leaves the
 * sites on ROM A, says so, and ends relink's wait for the switch. */
static void switch_declined(void)
{
    struct res r;

    if (!have_kvm())
        return;
    RUN(&r, "--timeout", "120", "--cpus", "2", "--rom-switch", env("MON_ROM_SPT"),
        "--rom-switch-after", "0", env("MON_KERNEL"), "--", "relink", "1");
    expect(&r, 0, NULL, "declined switch", __LINE__);
    CHECK(strstr(r.out, "declined this machine (its probe returned 0): every site stays as it "
                        "was (ROM A)\n") != NULL);
    CHECK(strstr(r.out, "cycling on until") == NULL);
    CHECK(strstr(r.out, "\nrelink: 1 cycles, 2 links on 2 CPUs, all sites, 0 failed; now ROM "
                        "A\n") != NULL);
    CHECK(strstr(r.out, "\nSUCCESS\n") != NULL);
}

/* An unwritable --stats-json file is refused before the guest runs. */
static void stats_file_first(void)
{
    struct res r;

    RUN(&r, "--stats-json", "/nonexistent/dir/x.json", env("MON_TINY"));
    expect(&r, 67, "pvlink-run: --stats-json /nonexistent/dir/x.json: No such file or directory",
           "unwritable --stats-json", __LINE__);
    CHECK(r.out[0] == 0);
}

/* The switch ROM is checked at its address before anything runs. */
static void bad_switch_rom(void)
{
    static uint8_t img[65536];
    struct res r;
    char want[300];
    size_t n;

    if (!have_kvm())
        return;
    n = load(env("MON_ROM_B"), img, sizeof img);
    HDR(img)->checksum ^= 1;
    const char *path = save("bad-b.rom", img, n);
    snprintf(want, sizeof want, "ROM %s refused: header.checksum: ROM checksum mismatch", path);
    RUN(&r, "--rom-switch", path, env("MON_TINY"));
    expect(&r, 65, want, "bad switch ROM", __LINE__);
    CHECK(r.out[0] == 0);
}

T_CASES(T(tiny_boots), T(guest_failures), T(usage_errors), T(bad_kernels_refused),
        T(note_seen_twice), T(bad_roms_refused), T(policies_checked), T(kernel_selftest),
        T(log_exits), T(clock_exits), T(hypercall_fuzz), T(smp_selftest), T(smp_exits),
        T(no_acpi), T(relink_switch), T(relink_ten_sites), T(switch_on_signal),
        T(console_closed), T(bad_switch_rom), T(rom_declines), T(stats_file_first), T(switch_declined))
