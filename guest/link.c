/*
 * Finding a ROM and linking the kernel's sites against it.
 *
 * Discovery: CPUID leaf 0x40000000 with the exact pvlink signature, then
 * the ROM leaf (address, sizes, flags); a pvlink monitor's answer is final
 * (flags without PRESENT mean no ROM).  Without the signature, the legacy
 * option-ROM area is scanned at 2 KiB steps for the ROM magic, and the
 * first candidate that validates is taken.  Every ROM is untrusted: the
 * region the monitor names is checked against the kernel image and the
 * memory map, and pvl_rom_load() checks the image itself.
 *
 * link_rom() is the one function that links, at boot and late (when the
 * monitor sets PVL_HV_ROM_LATE and later reports PVL_EV_LINK): validate,
 * link all or nothing with interrupts off, print the report.
 */
#include "kern.h"

extern const struct pvl_site __start_pvlink_sites[], __stop_pvlink_sites[];
extern char __text_end[];

/* Refusals kept for the report; more are counted, not listed. */
#define MAX_REFUSED 16
/* Site table size up to which overlap checking sorts in O(n log n). */
#define MAX_SCRATCH 2048

enum link_status { LINKED = 0, ROM_INVALID = -1, LINK_FAILED = -2 };

static struct pvl_impl impl[PVK_NOPS];
static struct pvl_env env;
static struct pvl_refusal refused[MAX_REFUSED];
static uint32_t scratch[MAX_SCRATCH];
/* A ROM published for late linking, waiting for PVL_EV_LINK. */
static int late_pending;

size_t k_nsites(void)
{
    return (size_t)(__stop_pvlink_sites - __start_pvlink_sites);
}

static void link_request(struct pvl_link *l, const struct pvl_env *e,
                         struct pvl_report *rep, struct pvl_diag *d)
{
    static const struct pvl_range text = {(uintptr_t)__image_start, (uintptr_t)__text_end};
    size_t n = k_nsites();

    *l = (struct pvl_link){
        .sites = __start_pvlink_sites, .nsites = n,
        .lo = (uintptr_t)__image_start, .hi = (uintptr_t)__image_end,
        .exec = &text, .nexec = 1,
        .bias = 0, .iface = &pvl_kernel_iface, .env = e,
        .scratch = n <= MAX_SCRATCH ? scratch : 0,
        .report = rep, .diag = d};
}

static void print_refusals(const struct pvl_report *r)
{
    const struct pvl_iface *ifc = &pvl_kernel_iface;

    for (uint32_t i = 0; i < r->nrefused && i < r->refused_cap; i++) {
        const struct pvl_refusal *f = &r->refused[i];
        k_printf("pvlink: refused site %#llx op %s (%s): %s\n",
                 (unsigned long long)f->addr,
                 f->op < ifc->nops ? ifc->ops[f->op].name : "?",
                 pvl_action_name(f->action) ? pvl_action_name(f->action) : "?",
                 pvl_strerror(f->why));
    }
    if (r->nrefused > r->refused_cap)
        k_printf("pvlink: and %u more refused sites\n",
                 r->nrefused - r->refused_cap);
}

static void print_linked(const char *when, uint64_t addr,
                         const struct pvl_report *r)
{
    k_printf("pvlink: linked at %s: ROM \"%s\" %u.%u at %#llx: %u sites: "
             "native %u, inline %u, call %u, nop %u; %u changed\n",
             when, env.name, env.major, env.minor, (unsigned long long)addr,
             r->nsites, r->count[PVL_ACT_NATIVE], r->count[PVL_ACT_INLINE],
             r->count[PVL_ACT_CALL], r->count[PVL_ACT_NOP], r->nchanged);
}

/* After a failed write the image may be partly linked: put every site
 * back to its original bytes. */
static void restore_native(void)
{
    struct pvl_link l;
    struct pvl_diag d = {0};
    char msg[160];

    link_request(&l, 0, 0, &d);
    if (pvl_link(&l) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        k_printf("pvlink: restoring native code failed: %s\n", msg);
        k_exit(K_EXIT_PANIC);
    }
}

static enum link_status link_env(const char *when, uint64_t addr)
{
    struct pvl_report rep = {.refused = refused, .refused_cap = MAX_REFUSED};
    struct pvl_diag d = {0};
    struct pvl_link l;
    pvl_result r;
    char msg[160];
    uint64_t fl = pvk_save_fl();

    link_request(&l, &env, &rep, &d);
    /* no interrupt may run a half-written site */
    pvk_irq_disable();
    r = pvl_link(&l);
    if (r == PVL_E_WRITE || r == PVL_E_VERIFY)
        restore_native();
    pvk_restore_fl(fl);
    if (r == PVL_OK) {
        print_linked(when, addr, &rep);
        return LINKED;
    }
    print_refusals(&rep);
    if (r == PVL_E_REFUSED)
        k_snprintf(msg, sizeof msg, "%u sites cannot be linked", rep.nrefused);
    else
        pvl_diag_format(&d, msg, sizeof msg);
    k_printf("pvlink: link at %s refused: %s; all %zu sites stay native\n",
             when, msg, k_nsites());
    return LINK_FAILED;
}

/* Validate the ROM image at physical (addr), at most (len) bytes, and link
 * against it.  Used at boot and late. */
static enum link_status link_rom(const char *when, uint64_t addr, size_t len)
{
    struct pvl_diag d = {0};
    char msg[160];

    if (pvl_rom_load((const void *)(uintptr_t)addr, len, addr,
                     &pvl_kernel_iface, impl, &env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        k_printf("pvlink: ROM at %#llx rejected: %s\n",
                 (unsigned long long)addr, msg);
        return ROM_INVALID;
    }
    return link_env(when, addr);
}

static void print_native(const char *why)
{
    k_printf("pvlink: %s, %zu sites native\n", why, k_nsites());
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The region the monitor names, checked before anything in it is read. */
static int region_ok(void)
{
    uint64_t a = k_hv.rom_addr, size = k_hv.rom_size, region = k_hv.rom_region;
    uint64_t kbase = (uintptr_t)__image_start;
    uint64_t klen = (uintptr_t)__kernel_end - kbase;
    const char *bad = 0;

    if (a == 0 || a % K_PAGE)
        bad = "address is 0 or not page-aligned";
    else if (size < sizeof(struct pvl_rom_header) || size > region)
        bad = "image size is smaller than a header or larger than the region";
    else if (a + region > (1ull << 32))
        bad = "region extends past 4 GiB";
    else if (overlaps(a, region, kbase, klen))
        bad = "region overlaps the kernel";
    for (uint32_t i = 0; !bad && i < k_boot.nmemmap; i++) {
        const struct k_memmap_entry *e = &k_boot.memmap[i];
        if (e->type == K_E820_RAM && overlaps(a, region, e->addr, e->size))
            bad = "region overlaps RAM in the memory map";
    }
    if (bad)
        k_printf("pvlink: CPUID ROM leaf (addr %#llx, image %llu, region "
                 "%llu bytes): %s\n",
                 (unsigned long long)a, (unsigned long long)size,
                 (unsigned long long)region, bad);
    return !bad;
}

static void link_from_monitor(void)
{
    if (!(k_hv.rom_flags & PVL_HV_ROM_PRESENT)) {
        print_native("no ROM");
        return;
    }
    if (!region_ok() || k_mm_identity(k_hv.rom_addr, k_hv.rom_region, 0) != 0) {
        print_native("ROM rejected");
        return;
    }
    if (k_hv.rom_flags & PVL_HV_ROM_LATE) {
        late_pending = 1;
        k_printf("pvlink: ROM at %#x for late linking, %zu sites native "
                 "until the monitor says link\n",
                 k_hv.rom_addr, k_nsites());
        return;
    }
    if (link_rom("boot", k_hv.rom_addr, k_hv.rom_size) == ROM_INVALID)
        print_native("ROM rejected");
}

/* The option-ROM area lies in the boot identity map. */
static void link_from_optrom(void)
{
    for (uint64_t a = PVL_OPTROM_START; a < PVL_OPTROM_END; a += PVL_OPTROM_ALIGN) {
        if (*(const volatile uint32_t *)(uintptr_t)a != PVL_ROM_MAGIC)
            continue;
        if (link_rom("boot", a, PVL_OPTROM_END - a) != ROM_INVALID)
            return; /* linked, or a valid ROM the kernel cannot link */
    }
    print_native("no ROM");
}

void k_link_boot(void)
{
    if (k_hv.present)
        link_from_monitor();
    else
        link_from_optrom();
}

int k_link_poll(void)
{
    struct pvl_hcall h = {.nr = PVL_HC_POLL};
    int32_t ev;

    if (!late_pending)
        return 0;
    ev = k_hcall(&h);
    if (ev < 0) {
        k_printf("pvlink: POLL hypercall failed: %d\n", ev);
        return 0;
    }
    if (!(ev & PVL_EV_LINK)) {
        k_printf("pvlink: POLL at midpoint: events %#x, no link yet\n",
                 (unsigned)ev);
        return 0;
    }
    late_pending = 0;
    return link_rom("midpoint", k_hv.rom_addr, k_hv.rom_size) == LINKED;
}
