/*
 * pvlink-run against small guests of its own (tests/monitor/, in assembly): exact
 * exit counts, every malformed kernel and ROM refused with its message and
 * the guest never started, failures of the guest reported, usage errors.
 *
 * Paths come from the environment (set by monitor/monitor.mk):
 *   MON_RUN (pvlink-run), MON_TINY, MON_FAULT, MON_HANG (test guests),
 *   MON_ROM (the built-in ROM image, as a file), MON_TMP (scratch dir).
 * Skips, with the reason, only when /dev/kvm is missing.
 */
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pvlink/abi.h>
#include <pvlink/link.h>

#include "../harness.h"

extern char **environ;

struct res {
    int status;
    char out[8192], err[8192];
};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "test_monitor: %s is not set\n", name);
        exit(2);
    }
    return v;
}

static int have_kvm(void)
{
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        return 1;
    t_skip("/dev/kvm is missing or not accessible: %m");
    return 0;
}

static void slurp(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    ssize_t k = fd < 0 ? 0 : read(fd, buf, n - 1);
    buf[k > 0 ? k : 0] = 0;
    if (fd >= 0)
        close(fd);
}

/* Run pvlink-run with (args) (NULL-terminated, after the program). */
static void run(struct res *r, const char *const *args)
{
    char out[512], err[512];
    const char *argv[32] = {env("MON_RUN")};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st, n = 1;

    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/out", env("MON_TMP"));
    snprintf(err, sizeof err, "%s/err", env("MON_TMP"));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
        t_fail(__FILE__, __LINE__, "cannot run %s", argv[0]);
        r->status = -1;
        return;
    }
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

#define RUN(r, ...) run(r, (const char *const[]){__VA_ARGS__, NULL})

/* The run must end with (status) and stderr must contain (msg). */
static void expect(const struct res *r, int status, const char *msg, const char *what, int line)
{
    if (r->status != status || (msg && !strstr(r->err, msg)))
        t_fail(__FILE__, line, "%s: status %d, stderr \"%s\"; expected %d and \"%s\"", what,
               r->status, r->err, status, msg ? msg : "");
}

static void tiny_boots(void)
{
    struct res r;
    char json[512], buf[4096];

    if (!have_kvm())
        return;
    snprintf(json, sizeof json, "%s/stats.json", env("MON_TMP"));
    RUN(&r, "--stats", "--stats-json", json, env("MON_TINY"));
    expect(&r, 0, "exits to the monitor: 7\n", "tiny guest", __LINE__);
    CHECK(strcmp(r.out, "tiny\nhello\n") == 0);
    slurp(json, buf, sizeof buf);
    CHECK(strstr(buf, "\"user_exits\": 7,") != NULL);
    CHECK(strstr(buf, "{\"port\": 1016, \"dir\": \"out\", \"count\": 5}") != NULL);
    CHECK(strstr(buf, "\"puts\": 1,") != NULL);
    CHECK(strstr(buf, "\"hypercall_errors\": 0,") != NULL);
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
    expect(&r, 66, "guest failed: triple fault (KVM_EXIT_SHUTDOWN) (rip 0x100000)", "fault",
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
    RUN(&r, "--help");
    CHECK(r.status == 0 && strstr(r.out, "usage: pvlink-run") != NULL);
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
static void k_past_ram(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_paddr = 0x3ffffc0; }
static void k_low(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_paddr = 0x8000; }
static void k_wrap(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_memsz = ~0ull - 0x1000; }
static void k_file_range(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_LOAD)->p_filesz = 1u << 30; phdr(e, PT_LOAD)->p_memsz = 1u << 30; }
static void k_no_note(uint8_t *e, size_t *n) { (void)n; phdr(e, PT_NOTE)->p_type = PT_NULL; }
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
static void k_entry(uint8_t *e, size_t *n)
{
    (void)n;
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(e + phdr(e, PT_NOTE)->p_offset);
    uint32_t bad = 0x200000;
    memcpy((uint8_t *)(nh + 1) + 4, &bad, 4);
}

static const struct bad_kernel bad_kernels[] = {
    {"truncated", k_truncated, "truncated: 40 bytes, an ELF header needs 64"},
    {"bad magic", k_magic, "not an ELF file (bad magic)"},
    {"ELF32", k_class, "not a 64-bit ELF file (class 1)"},
    {"i386", k_machine, "not an x86-64 ELF file (machine 3)"},
    {"shared object", k_type, "not an executable (ELF type 3)"},
    {"program headers outside", k_phoff, "program headers (2 at offset"},
    {"segment past RAM", k_past_ram, "segment 0: [0x3ffffc0, +0x7c) lies outside guest RAM [1 MiB, 0x4000000)"},
    {"segment below 1 MiB", k_low, "segment 0: [0x8000, +0x7c) lies outside guest RAM"},
    {"segment size wraps", k_wrap, "lies outside guest RAM"},
    {"segment past the file", k_file_range, "segment 0: file bytes [0x1000, +0x40000000) lie outside the file"},
    {"no PT_NOTE", k_no_note, "no PVH entry note (\"Xen\", type 18): not a PVH kernel"},
    {"other note type", k_note_type, "no PVH entry note"},
    {"note past its segment", k_note_size, "runs past the segment"},
    {"entry outside", k_entry, "PVH entry 0x200000 is not inside a loaded segment"},
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
static void r_ereserved(uint8_t *i, size_t *n) { (void)n; ENT(i, 5)->reserved = 1; }
static void r_tclb(uint8_t *i, size_t *n) { (void)n; ENT(i, 1)->tmpl_clobbers |= 1u << 4; }
static void r_toff2(uint8_t *i, size_t *n) { ENT(i, 1)->tmpl_off = (uint32_t)*n; }
static void r_coff(uint8_t *i, size_t *n) { ENT(i, 31)->call_off = (uint32_t)*n + 8; }
static void r_missing(uint8_t *i, size_t *n) { (void)n; ENT(i, 31)->call_off = 0; }
static void r_nopres(uint8_t *i, size_t *n) { (void)n; ENT(i, 32)->action = PVL_ACT_NOP; ENT(i, 32)->call_off = 0; }
static void r_tret(uint8_t *i, size_t *n) { (void)n; i[ENT(i, 1)->tmpl_off] = 0xc3; }

static const struct bad_rom bad_roms[] = {
    {"truncated", r_short, 0, "header: ROM image is shorter than its header (0x14)"},
    {"magic", r_magic, 1, "header.magic: bad ROM magic (0x12345678)"},
    {"format major", r_major, 1, "header.format_major: unsupported ROM format major version (0x9)"},
    {"size", r_size, 0, "header.size: ROM size field does not fit the image"},
    {"checksum", r_sum, 0, "header.checksum: ROM checksum mismatch"},
    {"flags", r_flags, 1, "header.flags: reserved ROM field is not zero (0x4)"},
    {"reserved", r_reserved, 1, "header.reserved: reserved ROM field is not zero"},
    {"interface", r_iface, 1, "header.iface: ROM is for another interface"},
    {"interface major", r_imajor, 1, "header.iface_major: ROM interface major version differs (0x3)"},
    {"table offset", r_toff, 1, "header.table_off: ROM table is out of bounds (0xfff0)"},
    {"table count", r_tcount, 1, "header.table_off: ROM table is out of bounds"},
    {"entry order", r_op, 1, "entry.op[5]: ROM entries are not in increasing operation order (0x1)"},
    {"entry action", r_action, 1, "entry.action[5]: ROM entry has an unknown action (0x9)"},
    {"entry reserved", r_ereserved, 1, "entry.reserved[5]: reserved ROM field is not zero (0x1)"},
    {"template clobbers rsp", r_tclb, 1, "entry.clobbers[1]: clobber mask names RSP or an unknown register"},
    {"template offset", r_toff2, 1, "entry.tmpl_off[1]: ROM template is out of bounds"},
    {"call offset", r_coff, 1, "entry.call_off[31]: ROM call entry is out of bounds"},
    {"call missing", r_missing, 1, "entry.action[31]: ROM entry lacks the template or call its action needs (0x2)"},
    {"nop for clock_read", r_nopres, 1, "entry.action[32]: NOPs chosen for an operation that returns a value (0x3)"},
    {"template returns", r_tret, 1, "entry.template[1]: template returns"},
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
    expect(&r, 65, "ROM (built in) refused: entry.action[32]: NOPs chosen for an operation",
           "nop for clock", __LINE__);
    RUN(&r, "--policy", "cpuid=call", env("MON_TINY"));
    expect(&r, 65, "offers no call entry for cpuid", "call without entry", __LINE__);
}

T_CASES(T(tiny_boots), T(guest_failures), T(usage_errors), T(bad_kernels_refused),
        T(bad_roms_refused), T(policies_checked))
