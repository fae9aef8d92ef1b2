/*
 * Providers that must be refused, each with its exact message and code,
 * in provider words: wrong interface, wrong version, template too long,
 * clobbers too wide, a missing file, not an ELF file (or empty), a 32-bit,
 * big-endian or other-machine ELF file, an executable or object file, a
 * truncated file (in the words of the one ELF reader, runtime/elf.h), no
 * pvr_provider_v1, a loader refusal; plus descriptor errors of in-program
 * tables.  Nothing stays loaded after a refusal.  A bare file name is a
 * file in the current directory.
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"

static void expect_msg(const char *file, int line, const struct pvr_error *e,
                       pvl_result code, const char *want)
{
    if (e->code != code)
        t_fail(file, line, "code %d (%s), expected %d (%s)", e->code, pvl_strerror(e->code),
               code, pvl_strerror(code));
    if (strcmp(e->msg, want))
        t_fail(file, line, "message:\n      %s\n  expected:\n      %s", e->msg, want);
}
#define EXPECT_MSG(e, code, ...)                                             \
    do {                                                                     \
        char w_[PVR_MSG_MAX];                                                \
        snprintf(w_, sizeof w_, __VA_ARGS__);                                \
        expect_msg(__FILE__, __LINE__, e, code, w_);                         \
    } while (0)

/* Open (path) as a provider; it must be refused.  Returns the error. */
static struct pvr_error refuse(const char *path)
{
    struct pvr_error e = {0};
    struct pvr_provider *p = pvr_provider_open(path, &rt_iface, &e);
    if (p) {
        t_fail(__FILE__, __LINE__, "%s was accepted", path);
        pvr_provider_close(p, NULL);
    }
    return e;
}

static void good(void)
{
    struct pvr_error e;
    struct pvr_provider *p = pvr_provider_open(rt_path("prov_good.so"), &rt_iface, &e);

    if (!p) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    CHECK(strcmp(pvr_provider_name(p), rt_path("prov_good.so")) == 0);
    CHECK(rt_mapped("prov_good.so"));
    CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
    CHECK(!rt_mapped("prov_good.so"));
}

static void wrong_interface(void)
{
    const char *path = rt_path("prov_iface.so");
    struct pvr_error e = refuse(path);
    EXPECT_MSG(&e, PVL_E_ROM_IFACE, "provider \"%s\" implements \"pvlink.other\" 1.0, "
               "program has \"pvlink.rt\" 1.2", path);
    CHECK(!rt_mapped("prov_iface.so"));
}

static void wrong_version(void)
{
    const char *path = rt_path("prov_version.so");
    struct pvr_error e = refuse(path);
    EXPECT_MSG(&e, PVL_E_ROM_VERSION, "provider \"%s\" implements \"pvlink.rt\" 2.0, "
               "program has 1.2", path);
    CHECK(!rt_mapped("prov_version.so"));
}

/* Room belongs to each site: a template longer than the op's sites is
 * refused for them when linking (as the linker does for a ROM), and
 * nothing is written. */
static void template_too_long(void)
{
    struct pvr_refusal ref[4];
    struct pvr_report rep = {.refused = ref, .refused_cap = 4};
    struct pvr_error e;
    struct pvr_provider *p = pvr_provider_open(rt_path("prov_long.so"), &rt_iface, &e);

    if (!p) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    CHECK_EQ(pvr_link(&rt_iface, p, NULL, &rep, &e), PVL_E_REFUSED);
    CHECK(rep.nrefused >= 1);
    CHECK_EQ(ref[0].r.why, PVL_E_ROOM);
    CHECK_EQ(ref[0].r.op, rt_twice__OP);
    CHECK_EQ(rep.nchanged, 0);
    CHECK(strstr(e.msg, "template longer than the site") != NULL);
    CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
}

static void clobbers_too_wide(void)
{
    const char *path = rt_path("prov_clobbers.so");
    struct pvr_error e = refuse(path);
    EXPECT_MSG(&e, PVL_E_ROM_UNALLOWED, "provider \"%s\", op \"twice\": entry.tmpl_clobbers: "
               "entry declares changes its operation's sites do not allow (rcx; allowed: "
               "rax,flags)", path);
}

/* Write the first (n) bytes of prov_good.so (n = 0: all of it) to (path);
 * its ELF header into (h) when not NULL. */
static void copy_good(const char *path, size_t n, Elf64_Ehdr *h)
{
    static char buf[1 << 20];
    int in = open(rt_path("prov_good.so"), O_RDONLY), out;
    ssize_t got = read(in, buf, sizeof buf);

    close(in);
    if (h)
        memcpy(h, buf, sizeof *h);
    n = n ? n : (size_t)(got > 0 ? got : 0);
    out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (got <= 0 || out < 0 || write(out, buf, n) != (ssize_t)n)
        t_fail(__FILE__, __LINE__, "cannot write %s", path);
    close(out);
}

/* A copy of the first (n) bytes of prov_good.so in /tmp. */
static const char *partial_copy(size_t n, Elf64_Ehdr *h)
{
    static char path[64];

    snprintf(path, sizeof path, "/tmp/pvlink-rt-%d.so", (int)getpid());
    copy_good(path, n, h);
    return path;
}

static void truncated_file(void)
{
    Elf64_Ehdr h;
    struct stat st;
    struct pvr_error e;
    const char *path;

    stat(rt_path("prov_good.so"), &st);
    path = partial_copy((size_t)st.st_size / 2, &h);
    e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_ELF, "provider \"%s\": truncated: the section header table "
               "of %u entries (offset 0x%llx, 0x%llx bytes) ends at byte %llu, the file has "
               "%llu", path, h.e_shnum, (unsigned long long)h.e_shoff,
               (unsigned long long)h.e_shnum * sizeof(Elf64_Shdr),
               (unsigned long long)(h.e_shoff + (uint64_t)h.e_shnum * sizeof(Elf64_Shdr)),
               (unsigned long long)st.st_size / 2);
    path = partial_copy(40, &h);
    e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_ELF, "provider \"%s\": truncated: the ELF header ends at "
               "byte 64, the file has 40", path);
    unlink(path);
}

static void garbage_file(void)
{
    char path[64], buf[4096];
    unsigned x = 12345;
    struct pvr_error e;
    int fd;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)((x = x * 1103515245u + 12345u) >> 16);
    snprintf(path, sizeof path, "/tmp/pvlink-rt-garbage-%d.so", (int)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    close(fd);
    e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_ELF, "provider \"%s\": not an ELF file (bad magic)", path);
    CHECK(truncate(path, 0) == 0);
    e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_ELF, "provider \"%s\": not an ELF file (empty)", path);
    unlink(path);
}

static void missing_file(void)
{
    struct pvr_error e = refuse("/nonexistent/provider.so");
    EXPECT_MSG(&e, PVL_E_PROV_FILE, "provider \"/nonexistent/provider.so\": cannot open: No "
               "such file or directory");
    e = refuse("/tmp");
    EXPECT_MSG(&e, PVL_E_PROV_FILE, "provider \"/tmp\": not a regular file");
}

/*
 * A name without a slash is a file in the current directory, as for
 * open(2): the file checked is the file loaded, never one the loader finds
 * on its search path.  prov_good.so copied, in a directory of its own, as
 * libm.so.6 (the system's libm is on the search path) and as libprov.so
 * (nothing is), both opened by bare name from there, then linked; a bare
 * name found only on the search path (libc.so.6) is no file here.
 */
static void bare_name(void)
{
    static const char *const names[] = {"libm.so.6", "libprov.so"};
    char dir[] = "/tmp/pvlink-rt-bare-XXXXXX", cwd[4096], path[2][128];
    struct pvr_error e;

    if (!getcwd(cwd, sizeof cwd) || !mkdtemp(dir)) {
        t_fail(__FILE__, __LINE__, "cannot make a directory: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        copy_good(path[i], 0, NULL);
    }
    CHECK(chdir(dir) == 0);
    for (int i = 0; i < 2; i++) {
        struct pvr_provider *p = pvr_provider_open(names[i], &rt_iface, &e);
        if (!p) {
            t_fail(__FILE__, __LINE__, "%s: %s", names[i], e.msg);
            continue;
        }
        CHECK(strcmp(pvr_provider_name(p), names[i]) == 0);
        CHECK(rt_mapped(path[i]));
        CHECK_EQ(pvr_link(&rt_iface, p, NULL, NULL, &e), PVL_OK);
        rt_check_results(names[i], ST_SO);
        CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
        CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
        CHECK(!rt_mapped(path[i]));
    }
    e = refuse("libc.so.6");
    EXPECT_MSG(&e, PVL_E_PROV_FILE, "provider \"libc.so.6\": cannot open: No such file or "
               "directory");
    CHECK(chdir(cwd) == 0);
    for (int i = 0; i < 2; i++)
        unlink(path[i]);
    rmdir(dir);
}

/* prov_good.so with one header field changed: class, data, machine, type. */
#define SO "; expected a 64-bit x86-64 shared object"
static void wrong_kind_of_elf(void)
{
    static const struct {
        size_t off, len;
        uint16_t v;
        const char *want;
    } cases[] = {
        {EI_CLASS, 1, ELFCLASS32, "a 32-bit ELF file (class 1)" SO},
        {EI_DATA, 1, ELFDATA2MSB, "a big-endian ELF file (data encoding 2)" SO},
        {offsetof(Elf64_Ehdr, e_machine), 2, EM_AARCH64, "built for another machine (ELF "
                                                         "machine 183, AArch64)" SO},
        {offsetof(Elf64_Ehdr, e_machine), 2, 9999, "built for another machine (ELF machine "
                                                   "9999, unknown)" SO},
        {offsetof(Elf64_Ehdr, e_type), 2, ET_EXEC, "an executable (ELF type 2)" SO},
        {offsetof(Elf64_Ehdr, e_type), 2, ET_REL, "a relocatable object (ELF type 1)" SO},
    };
    struct stat st;
    Elf64_Ehdr h;

    stat(rt_path("prov_good.so"), &st);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = partial_copy((size_t)st.st_size, &h);
        int fd = open(path, O_WRONLY);
        CHECK(pwrite(fd, &cases[i].v, cases[i].len, (off_t)cases[i].off) ==
              (ssize_t)cases[i].len);
        close(fd);
        struct pvr_error e = refuse(path);
        EXPECT_MSG(&e, PVL_E_PROV_ELF, "provider \"%s\": %s", path, cases[i].want);
        unlink(path);
    }
}
#undef SO

static void no_symbol(void)
{
    const char *path = rt_path("prov_nosym.so");
    struct pvr_error e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_SYMBOL, "provider \"%s\": no symbol pvr_provider_v1 (not a "
               "pvlink provider)", path);
    CHECK(!rt_mapped("prov_nosym.so"));
}

static void loader_refuses(void)
{
    const char *path = rt_path("prov_unres.so");
    struct pvr_error e = refuse(path);
    EXPECT_MSG(&e, PVL_E_PROV_LOAD, "provider \"%s\": the dynamic loader refused it: %s: "
               "undefined symbol: pvlink_test_nowhere", path, path);
    CHECK(!rt_mapped("prov_unres.so"));
}

/* ------------------------------------------------------------------------
 * In-program tables.
 */

static long t_add(long a, long b) { return a * b; }
static const long not_code = 42;

static struct pvr_error refuse_table(const struct pvr_provider_desc *d)
{
    struct pvr_error e = {0};
    struct pvr_provider *p = pvr_provider_table(d, &rt_iface, &e);
    if (p) {
        t_fail(__FILE__, __LINE__, "table was accepted");
        pvr_provider_close(p, NULL);
    }
    return e;
}

static void table_errors(void)
{
    struct pvr_provider_desc d = rt_desc_a;
    struct pvr_op_impl ops[2] = {PVR_CALL(rt, add, t_add)};
    struct pvr_error e;

    d.magic = 0x1234;
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_MAGIC, "provider \"(table)\": descriptor has bad magic 0x1234 "
               "(expected 0x50525650)");
    d = rt_desc_a, d.size = 60;
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_SIZE, "provider \"(table)\": descriptor sizes 60/48 do not "
               "match this runtime's 64/48");
    d = rt_desc_a, d.impl = ops, d.nimpl = 2, d.name = "rt-bad";
    ops[1] = (struct pvr_op_impl){.op = "nosuch", .action = PVL_ACT_NATIVE};
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_OP, "provider \"rt-bad\", op \"nosuch\": no such operation in "
               "\"pvlink.rt\" 1.2");
    ops[1] = (struct pvr_op_impl){.op = "add", .action = PVL_ACT_NATIVE};
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_ORDER, "provider \"rt-bad\", op \"add\": appears twice");
    d.nimpl = 1, ops[0].call = (pvr_fn)(uintptr_t)&not_code;
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_CALL, "provider \"rt-bad\", op \"add\": call %#lx is outside "
               "the provider's executable code", (unsigned long)&not_code);
    ops[0] = (struct pvr_op_impl){.op = "mix", .action = PVL_ACT_NOP};
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_NOP_RESULT, "provider \"rt-bad\", op \"mix\": entry.action: NOPs "
               "chosen for an operation that returns a value (0x3)");
    ops[0] = (struct pvr_op_impl){.op = "mix", .action = PVL_ACT_INLINE, .tmpl_len = 1,
                                  .tmpl = (const uint8_t *)"\xc3", .tmpl_clobbers = 0};
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_TMPL_RET, "provider \"rt-bad\", op \"mix\": entry.template +0: c3 "
               "is a return-like instruction (ret)");
    ops[0] = (struct pvr_op_impl){.op = "mix", .action = PVL_ACT_CALL,
                                  .call = (pvr_fn)t_add, .call_clobbers = PVL_CLB_C};
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_UNALLOWED, "provider \"rt-bad\", op \"mix\": "
               "entry.call_clobbers: entry declares changes its operation's sites do not allow "
               "(rcx,rdx,rsi,rdi,r8,r9,r10,r11,x87,kmask,mxcsr,stack,xmm0-xmm31; allowed: "
               "rax,flags)");
}

/* Issue 10: a template that declares only rax but zeroes rcx (a live rcx
 * came back 0) is refused, naming the instruction and the register. */
static void lying_template(void)
{
    struct pvr_provider_desc d = rt_desc_a;
    struct pvr_op_impl ops[1] = {PVR_INLINE(mix, "\x31\xc9\x48\x8d\x04\x37", PVL_CLB(RAX))};
    struct pvr_error e;

    d.impl = ops, d.nimpl = 1, d.name = "rt-liar";
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_EFFECT, "provider \"rt-liar\", op \"mix\": entry.template +0: 31 c9 "
               "writes rcx, which the entry does not declare");
}

/* A C function changes vector registers: declared as changing only the
 * integer part of the C set, it is refused (its code is followed). */
__attribute__((noinline)) static long sse_mix(long a, long b)
{
    return (long)((double)a * 1.5 + (double)b);
}

/* A call at an inline site: even a function changing only rax pushes its
 * return address below the stack pointer, where code built with the
 * compiler's defaults keeps its red zone: refused (twice allows rax and
 * the flags). */
static void call_at_inline_site(void)
{
    struct pvr_provider_desc d = rt_desc_a;
    struct pvr_op_impl ops[1] = {{"twice", PVL_ACT_CALL, 0, 0, 0, 0,
                                  PVL_CLB(RAX) | PVL_CLB(STACK), 0, (pvr_fn)rt_b_twice}};
    struct pvr_error e;

    d.impl = ops, d.nimpl = 1, d.name = "rt-call";
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_ROM_UNALLOWED, "provider \"rt-call\", op \"twice\": "
               "entry.call_clobbers: entry declares changes its operation's sites do not "
               "allow (stack; allowed: rax,flags)");
    ops[0].call_clobbers = PVL_CLB(RAX); /* and not declaring it is a lie */
    e = refuse_table(&d);
    EXPECT_MSG(&e, PVL_E_CALL_NOSTACK, "provider \"rt-call\", op \"twice\": "
               "entry.call_clobbers: call entry does not declare stack (the call that "
               "reaches it pushes its return address) (0x1)");
}

static void lying_function(void)
{
    struct pvr_provider_desc d = rt_desc_a;
    struct pvr_op_impl ops[1] = {{.op = "add", .action = PVL_ACT_CALL,
                                  .call = (pvr_fn)sse_mix, .call_clobbers = PVL_CLB_C_INT}};
    struct pvr_error e;

    d.impl = ops, d.nimpl = 1, d.name = "rt-liar";
    e = refuse_table(&d);
    CHECK_EQ(e.code, PVL_E_EFFECT);
    if (!strstr(e.msg, "writes xmm") || !strstr(e.msg, "which the entry does not declare"))
        t_fail(__FILE__, __LINE__, "message: %s", e.msg);
}

/* A provider validated for one interface cannot be linked for another. */
static void other_interface_at_link(void)
{
    static const struct pvl_op_info ops[1] = {{"x", 5, 0, 0, PVL_CLB_C, 0, 0}};
    static const struct pvl_iface other = {"pvlink.rt", 3, 0, 1, ops};
    struct pvr_error e;
    struct pvr_provider *p = pvr_provider_table(&rt_desc_a, &rt_iface, &e);

    CHECK(p != NULL);
    CHECK_EQ(pvr_link(&other, p, NULL, NULL, &e), PVL_E_ENV);
    EXPECT_MSG(&e, PVL_E_ENV, "provider \"rt-a\" was validated for \"pvlink.rt\" 1.x, not "
               "\"pvlink.rt\" 3.0");
    CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
}

/* A function with a .cold part below it (tests/runtime/cold.sh checks
 * that gcc made one): accepted, linked, and it gives a - b live. */
static void cold_part(void)
{
    struct pvr_error e;
    struct pvr_provider *p = pvr_provider_open(rt_path("prov_cold.so"), &rt_iface, &e);

    if (!p) {
        t_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    CHECK_EQ(pvr_link(&rt_iface, p, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(lib_add(7, 3), 4);
    CHECK_EQ(exe_add(-5, 20), -25);
    CHECK_EQ(pvr_unlink(&rt_iface, NULL, NULL, &e), PVL_OK);
    CHECK_EQ(lib_add(7, 3), 10);
    CHECK_EQ(pvr_provider_close(p, &e), PVL_OK);
}

T_CASES(T(good), T(cold_part), T(wrong_interface), T(wrong_version), T(template_too_long),
        T(clobbers_too_wide), T(truncated_file), T(garbage_file), T(missing_file),
        T(bare_name), T(wrong_kind_of_elf), T(no_symbol), T(loader_refuses), T(table_errors),
        T(lying_template), T(call_at_inline_site), T(lying_function),
        T(other_interface_at_link))
