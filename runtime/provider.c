/*
 * Providers: validate a descriptor (in the program, or exported by a
 * shared object) against the program's interface, and keep a private copy
 * of what it offers.  The descriptor is untrusted: every pointer is
 * checked against the memory it may live in before it is read.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "internal.h"

/* ------------------------------------------------------------------------
 * Memory a descriptor may point into: ranges with their protection.
 */

#define MAX_RANGES 4096

struct mem {
    struct range {
        uintptr_t lo, hi;
        int prot;
    } r[MAX_RANGES];
    size_t n;
};

static int mem_has(const struct mem *m, const void *p, size_t n, int prot)
{
    uintptr_t a = (uintptr_t)p;

    for (size_t i = 0; i < m->n; i++)
        if (a >= m->r[i].lo && a < m->r[i].hi)
            return n <= m->r[i].hi - a && (m->r[i].prot & prot) == prot;
    return 0;
}

/* A NUL-terminated string of at most (max) bytes in readable memory. */
static int mem_str(const struct mem *m, const char *s, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        if (!mem_has(m, s + i, 1, PROT_READ))
            return 0;
        if (s[i] == '\0')
            return 1;
    }
    return 0;
}

static void mem_add(struct mem *m, uintptr_t lo, uintptr_t hi, int prot)
{
    if (m->n < MAX_RANGES && lo < hi)
        m->r[m->n++] = (struct range){lo, hi, prot};
}

/* The whole process's mappings, for providers built in the program. */
static int mem_from_maps(struct mem *m)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");

    if (!f)
        return -1;
    m->n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perm[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) != 3)
            continue;
        mem_add(m, lo, hi, (perm[0] == 'r' ? PROT_READ : 0) |
                               (perm[2] == 'x' ? PROT_EXEC : 0));
    }
    fclose(f);
    return 0;
}

struct find_dl {
    uintptr_t base;
    const char *name;
    struct mem *m;
    int found;
};

static int dl_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_dl *f = arg;

    (void)size;
    if (info->dlpi_addr != f->base || !info->dlpi_name || strcmp(info->dlpi_name, f->name))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mem_add(f->m, lo, lo + ph->p_memsz,
                ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_X) ? PROT_EXEC : 0));
    }
    f->found = 1;
    return 1;
}

/* The loaded segments of the shared object (dl). */
static int mem_from_dl(struct mem *m, void *dl)
{
    struct link_map *lm;
    struct find_dl f = {0, NULL, m, 0};

    m->n = 0;
    if (dlinfo(dl, RTLD_DI_LINKMAP, &lm) != 0)
        return -1;
    f.base = lm->l_addr, f.name = lm->l_name;
    dl_iterate_phdr(dl_segments, &f);
    return f.found ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * The descriptor.
 */

struct check {
    const char *who; /* the provider's name in messages */
    const struct mem *m;
    const struct pvl_iface *iface;
    struct pvr_provider *p;
    size_t tmpl_used;
    struct pvr_error *err;
};

static pvl_result head_fail(struct check *c, pvl_result code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pvl_result head_fail(struct check *c, pvl_result code, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pvr__fail(c->err, code, 0, "provider \"%s\": %s", c->who, what);
}

static pvl_result check_head(struct check *c, const struct pvr_provider_desc *d)
{
    if (!mem_has(c->m, d, sizeof *d, PROT_READ))
        return head_fail(c, PVL_E_ROM_SHORT, "descriptor at %#lx is outside the provider",
                         (unsigned long)d);
    if (d->magic != PVR_PROVIDER_MAGIC)
        return head_fail(c, PVL_E_ROM_MAGIC, "descriptor has bad magic %#x (expected %#x)",
                         d->magic, PVR_PROVIDER_MAGIC);
    if (d->abi != PVR_PROVIDER_ABI)
        return head_fail(c, PVL_E_ROM_FORMAT, "descriptor ABI %u, this runtime reads ABI %u",
                         d->abi, PVR_PROVIDER_ABI);
    if (d->size != sizeof *d || d->impl_size != sizeof(struct pvr_op_impl))
        return head_fail(c, PVL_E_ROM_SIZE, "descriptor sizes %u/%u do not match this "
                         "runtime's %zu/%zu", d->size, d->impl_size, sizeof *d,
                         sizeof(struct pvr_op_impl));
    if (d->reserved)
        return head_fail(c, PVL_E_ROM_RESERVED, "reserved field is %u, must be 0",
                         d->reserved);
    if (memchr(d->iface, '\0', sizeof d->iface) == NULL)
        return head_fail(c, PVL_E_ROM_IFACE, "interface name is not NUL-terminated");
    if (d->name && !mem_str(c->m, d->name, PVR_NAME_MAX))
        return head_fail(c, PVL_E_ROM_TABLE, "name at %#lx is not a string inside the "
                         "provider", (unsigned long)d->name);
    return PVL_OK;
}

static pvl_result check_iface(struct check *c, const struct pvr_provider_desc *d)
{
    const struct pvl_iface *f = c->iface;

    if (strcmp(d->iface, f->name) != 0)
        return pvr__fail(c->err, PVL_E_ROM_IFACE, 0,
                         "provider \"%s\" implements \"%s\" %u.%u, program has \"%s\" %u.%u",
                         c->who, d->iface, d->major, d->minor, f->name, f->major, f->minor);
    if (d->major != f->major)
        return pvr__fail(c->err, PVL_E_ROM_VERSION, 0,
                         "provider \"%s\" implements \"%s\" %u.%u, program has %u.%u", c->who,
                         d->iface, d->major, d->minor, f->major, f->minor);
    if (d->nimpl > PVR_PROVIDER_MAX_OPS)
        return head_fail(c, PVL_E_ROM_TABLE, "%u op entries, at most %d", d->nimpl,
                         PVR_PROVIDER_MAX_OPS);
    if (d->nimpl && !mem_has(c->m, d->impl, d->nimpl * sizeof *d->impl, PROT_READ))
        return head_fail(c, PVL_E_ROM_TABLE, "op table (%u entries at %#lx) is outside the "
                         "provider", d->nimpl, (unsigned long)d->impl);
    return PVL_OK;
}

static pvl_result op_fail(struct check *c, pvl_result code, const char *op,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static pvl_result op_fail(struct check *c, pvl_result code, const char *op,
                          const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pvr__fail(c->err, code, 0, "provider \"%s\", op \"%s\": %s", c->who, op, what);
}

/* The range with (prot) holding [lo, hi) at one end: (up) the one
 * starting at hi, else the one ending at lo; or NULL. */
static const struct range *mem_next(const struct mem *m, uintptr_t lo, uintptr_t hi, int up,
                                    int prot)
{
    for (size_t i = 0; i < m->n; i++)
        if ((up ? m->r[i].lo == hi : m->r[i].hi == lo) && (m->r[i].prot & prot) == prot &&
            m->r[i].lo < m->r[i].hi)
            return &m->r[i];
    return NULL;
}

/* The memory with (prot) around (p), over ranges that meet: its bytes
 * from (p) on (0 if p has not (prot)), and in (*below) those before p. */
static size_t mem_around(const struct mem *m, const void *p, int prot, size_t *below)
{
    uintptr_t a = (uintptr_t)p, lo = a, hi = a + 1;
    const struct range *r;

    *below = 0;
    if (!mem_has(m, p, 1, prot))
        return 0;
    for (size_t i = 0; i < m->n; i++)
        if (a >= m->r[i].lo && a < m->r[i].hi) {
            lo = m->r[i].lo, hi = m->r[i].hi;
            break;
        }
    while ((r = mem_next(m, lo, hi, 0, prot)) != NULL || (r = mem_next(m, lo, hi, 1, prot)))
        lo = r->lo < lo ? r->lo : lo, hi = r->hi > hi ? r->hi : hi;
    *below = a - lo;
    return hi - a;
}

/* Where the template and the function are: inside the provider. */
static pvl_result check_memory(struct check *c, const char *op, const struct pvr_op_impl *e)
{
    if (e->tmpl_len && !mem_has(c->m, e->tmpl, e->tmpl_len, PROT_READ))
        return op_fail(c, PVL_E_ROM_TEMPLATE, op, "template at %#lx (%u bytes) is outside "
                       "the provider", (unsigned long)e->tmpl, e->tmpl_len);
    if (e->call && !mem_has(c->m, (const void *)(uintptr_t)e->call, 1, PROT_READ | PROT_EXEC))
        return op_fail(c, PVL_E_ROM_CALL, op, "call %#lx is outside the provider's "
                       "executable code", (unsigned long)e->call);
    return PVL_OK;
}

/*
 * Everything else is the linker's own check of an implementation
 * (pvl_impl_check), in its words: action, declared masks against the op,
 * the template's bytes, and the function's code followed from its start
 * (of unknown length: as much as the readable, executable mappings around
 * it hold, up to PVL_CALL_MAX either side, so that jumps into its ".cold"
 * part below it are followed), what both write against what they declare.
 */
static pvl_result check_impl(struct check *c, const char *op, const struct pvr_op_impl *e,
                             const struct pvl_op_info *info, struct pvl_impl *m)
{
    const void *fn = (const void *)(uintptr_t)e->call;
    struct pvl_callcode cc = {.code = fn, .open = PVL_CODE_OPEN | PVL_CODE_BEFORE};
    struct pvl_diag d;
    char msg[PVR_MSG_MAX];
    pvl_result r;

    if (e->reserved || e->reserved2)
        return op_fail(c, PVL_E_ROM_RESERVED, op, "reserved fields must be 0");
    cc.len = mem_around(c->m, fn, PROT_READ | PROT_EXEC, &cc.before);
    *m = (struct pvl_impl){.action = e->action, .tmpl_len = e->tmpl_len,
                           .tmpl_clobbers = e->tmpl_clobbers, .call_clobbers = e->call_clobbers,
                           .tmpl = e->tmpl, .call = (uint64_t)(uintptr_t)e->call};
    if ((r = pvl_impl_check(info, m, e->call ? &cc : NULL, &d)) == PVL_OK)
        return PVL_OK;
    pvl_diag_format(&d, msg, sizeof msg);
    return op_fail(c, r, op, "%s", msg);
}

/* Entry (i): its op, then everything it offers; fills c->p->impl. */
static pvl_result check_entry(struct check *c, const struct pvr_provider_desc *d, uint32_t i,
                              uint8_t *seen)
{
    const struct pvr_op_impl *e = &d->impl[i];
    const struct pvl_op_info *info;
    struct pvl_impl m;
    pvl_result r;
    int op;

    if (!e->op || !mem_str(c->m, e->op, PVR_NAME_MAX))
        return head_fail(c, PVL_E_ROM_OP, "entry %u: op name at %#lx is not a string inside "
                         "the provider", i, (unsigned long)e->op);
    if ((op = pvl_iface_find(c->iface, e->op)) < 0) {
        if (d->minor > c->iface->minor)
            return PVL_OK; /* an operation newer than this program */
        return op_fail(c, PVL_E_ROM_OP, e->op, "no such operation in \"%s\" %u.%u",
                       c->iface->name, c->iface->major, c->iface->minor);
    }
    if (seen[op]++)
        return op_fail(c, PVL_E_ROM_ORDER, e->op, "appears twice");
    info = &c->iface->ops[op];
    if ((r = check_memory(c, e->op, e)) != PVL_OK ||
        (r = check_impl(c, e->op, e, info, &m)) != PVL_OK)
        return r;
    if (e->tmpl_len)
        memcpy(c->p->tmpl + c->tmpl_used, e->tmpl, e->tmpl_len);
    m.tmpl = e->tmpl_len ? c->p->tmpl + c->tmpl_used : NULL;
    c->p->impl[op] = m;
    c->tmpl_used += e->tmpl_len;
    return PVL_OK;
}

static pvl_result check_iface_sane(const struct pvl_iface *f, struct pvr_error *err)
{
    if (!f || !f->name || strlen(f->name) >= PVL_IFACE_NAME_MAX || (f->nops && !f->ops) ||
        f->nops > PVR_PROVIDER_MAX_OPS)
        return pvr__fail(err, PVL_E_ARG, 0, "the program's interface description is invalid");
    return PVL_OK;
}

static struct pvr_provider *new_provider(const struct pvl_iface *f, uint32_t nimpl)
{
    struct pvr_provider *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    p->impl = calloc(f->nops ? f->nops : 1, sizeof *p->impl);
    p->tmpl = malloc((size_t)nimpl * PVL_ROOM_MAX + 1);
    if (!p->impl || !p->tmpl) {
        free(p->impl), free(p->tmpl), free(p);
        return NULL;
    }
    for (uint16_t op = 0; op < f->nops; op++)
        p->impl[op] = (struct pvl_impl){.action = PVL_ACT_NATIVE};
    return p;
}

static void free_provider(struct pvr_provider *p)
{
    if (p)
        free(p->impl), free(p->tmpl), free(p);
}

/* What a table without a (valid) name is called in messages. */
#define TABLE_NAME "(table)"

/* The whole descriptor; returns a provider or NULL with (err). */
static struct pvr_provider *check_desc(const char *who, const struct pvr_provider_desc *d,
                                       const struct mem *m, const struct pvl_iface *iface,
                                       struct pvr_error *err)
{
    struct check c = {who, m, iface, NULL, 0, err};
    uint8_t seen[PVR_PROVIDER_MAX_OPS] = {0};

    if (check_head(&c, d) != PVL_OK)
        return NULL;
    if (!strcmp(who, TABLE_NAME) && d->name) /* a table names itself */
        c.who = d->name;
    if (check_iface(&c, d) != PVL_OK)
        return NULL;
    if (!(c.p = new_provider(iface, d->nimpl))) {
        pvr__fail(err, PVL_E_ARG, ENOMEM, "provider \"%s\": out of memory", c.who);
        return NULL;
    }
    for (uint32_t i = 0; i < d->nimpl; i++)
        if (check_entry(&c, d, i, seen) != PVL_OK) {
            free_provider(c.p);
            return NULL;
        }
    snprintf(c.p->name, sizeof c.p->name, "%s", c.who);
    snprintf(c.p->iface, sizeof c.p->iface, "%s", iface->name);
    c.p->major = d->major, c.p->minor = d->minor, c.p->nops = iface->nops;
    return c.p;
}

struct pvr_provider *pvr_provider_table(const struct pvr_provider_desc *d,
                                        const struct pvl_iface *iface, struct pvr_error *err)
{
    struct mem *m;
    struct pvr_provider *p = NULL;

    if (check_iface_sane(iface, err) != PVL_OK)
        return NULL;
    if (!(m = malloc(sizeof *m))) {
        pvr__fail(err, PVL_E_ARG, ENOMEM, "provider: out of memory");
        return NULL;
    }
    if (mem_from_maps(m) != 0)
        pvr__fail(err, PVL_E_ARG, errno, "provider: cannot read /proc/self/maps: %s",
                  strerror(errno));
    else
        p = check_desc(TABLE_NAME, d, m, iface, err);
    free(m);
    return p;
}

/* ------------------------------------------------------------------------
 * Shared objects: the file first, then the loaded object.
 */

/* The file's bytes, as the project's one ELF reader (elf.h) sees them: a
 * provider is a shared object. */
static pvl_result check_elf(const char *path, const void *img, size_t size,
                            struct pvr_error *err)
{
    static const struct pvelf_want provider_want = {PVELF_TYPE(ET_DYN), 0};
    struct pvelf e;

    switch (pvelf_open(&e, img, size, &provider_want)) {
    case PVELF_OK:
        pvelf_close(&e);
        return PVL_OK;
    case PVELF_NOMEM:
        return pvr__fail(err, PVL_E_ARG, ENOMEM, "provider \"%s\": %s", path, e.msg);
    default:
        return pvr__fail(err, PVL_E_PROV_ELF, 0, "provider \"%s\": %s", path, e.msg);
    }
}

static pvl_result file_fail(struct pvr_error *err, const char *path, const char *what, int e)
{
    return pvr__fail(err, PVL_E_PROV_FILE, e, "provider \"%s\": %s: %s", path, what,
                     strerror(e));
}

/* Check the file at (path) before the loader sees it. */
static pvl_result check_file(const char *path, struct pvr_error *err)
{
    struct stat st;
    void *img;
    pvl_result r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return file_fail(err, path, "cannot open", errno);
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return file_fail(err, path, "cannot read", e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pvr__fail(err, PVL_E_PROV_FILE, 0, "provider \"%s\": not a regular file", path);
    }
    if (st.st_size == 0) { /* nothing to map; the reader says what it is */
        close(fd);
        return check_elf(path, "", 0, err);
    }
    img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        return file_fail(err, path, "cannot read", errno);
    r = check_elf(path, img, (size_t)st.st_size, err);
    munmap(img, (size_t)st.st_size);
    return r;
}

static struct pvr_provider *check_loaded(const char *path, void *dl,
                                         const struct pvl_iface *iface, struct pvr_error *err)
{
    struct pvr_provider *p = NULL;
    const struct pvr_provider_desc *d = dlsym(dl, PVR_PROVIDER_SYMBOL);
    struct mem *m = malloc(sizeof *m);

    if (!m)
        pvr__fail(err, PVL_E_ARG, ENOMEM, "provider \"%s\": out of memory", path);
    else if (!d)
        pvr__fail(err, PVL_E_PROV_SYMBOL, 0, "provider \"%s\": no symbol %s (not a pvlink "
                  "provider)", path, PVR_PROVIDER_SYMBOL);
    else if (mem_from_dl(m, dl) != 0)
        pvr__fail(err, PVL_E_PROV_LOAD, 0, "provider \"%s\": cannot find its segments", path);
    else if (!mem_has(m, d, sizeof *d, PROT_READ))
        pvr__fail(err, PVL_E_PROV_SYMBOL, 0, "provider \"%s\": symbol \"%s\" is not in the "
                  "provider", path, PVR_PROVIDER_SYMBOL);
    else
        p = check_desc(path, d, m, iface, err);
    free(m);
    return p;
}

/* What dlopen gets for (path): the file check_file checked.  A name
 * without a slash is a file in the current directory, as for open(2);
 * given as it is, dlopen would search the library path for it. */
static const char *load_name(const char *path, char *buf, size_t cap)
{
    if (strchr(path, '/'))
        return path;
    snprintf(buf, cap, "./%s", path);
    return buf;
}

struct pvr_provider *pvr_provider_open(const char *path, const struct pvl_iface *iface,
                                       struct pvr_error *err)
{
    char here[PVR_NAME_MAX + 3];
    struct pvr_provider *p;
    void *dl;

    if (check_iface_sane(iface, err) != PVL_OK)
        return NULL;
    if (!path) {
        pvr__fail(err, PVL_E_ARG, 0, "provider: no path");
        return NULL;
    }
    if (strlen(path) > PVR_NAME_MAX) {
        pvr__fail(err, PVL_E_ARG, 0, "provider \"%.*s...\": path longer than %d bytes",
                  PVR_NAME_MAX, path, PVR_NAME_MAX);
        return NULL;
    }
    if (check_file(path, err) != PVL_OK)
        return NULL;
    if (!(dl = dlopen(load_name(path, here, sizeof here), RTLD_NOW | RTLD_LOCAL))) {
        pvr__fail(err, PVL_E_PROV_LOAD, 0, "provider \"%s\": the dynamic loader refused it: "
                  "%s", path, dlerror());
        return NULL;
    }
    if (!(p = check_loaded(path, dl, iface, err))) {
        dlclose(dl);
        return NULL;
    }
    p->dl = dl;
    return p;
}

const char *pvr_provider_name(const struct pvr_provider *p)
{
    return p ? p->name : "(native)";
}

pvl_result pvr_provider_close(struct pvr_provider *p, struct pvr_error *err)
{
    pvl_result r;

    if (!p)
        return PVL_OK;
    if ((r = pvr__enter(err)) != PVL_OK)
        return r;
    if (pvr__provider_in_use(p)) {
        pvr__leave();
        return pvr__fail(err, PVL_E_ARG, 0, "provider \"%s\": sites are linked to it; "
                         "re-link or unlink first", p->name);
    }
    pvr__leave();
    if (p->dl)
        dlclose(p->dl);
    free_provider(p);
    return PVL_OK;
}
