/*
 * Finding ROMs and linking the kernel's sites against them.
 *
 * Discovery: CPUID leaf 0x40000000 with the exact pvlink signature, then
 * the ROM leaf (address, sizes, flags); a pvlink monitor's answer is final
 * (flags without PRESENT mean no ROM).  Without the signature, the legacy
 * option-ROM area is scanned at 2 KiB steps for the ROM magic, and the
 * first candidate that validates is taken.  A pvlink monitor may later
 * publish another ROM (PVL_EV_ROM_SWITCH from PVL_HC_POLL, then
 * PVL_HC_ROM_INFO).  Every ROM is untrusted: the region the monitor names
 * is checked against the kernel image and the memory map, and
 * pvl_rom_load() checks the image itself.  Then the ROM's probe, if it
 * has one, says whether it runs on this machine at all (the pvlink ROM
 * checks the CPUID signature): one that declines leaves every site
 * native, said in one line.
 *
 * The kernel knows at most two ROMs: the boot one (slot 0, "ROM A") and
 * the one a switch published (slot 1, "ROM B").  k_link_to() is the one function
 * that links, re-links or unlinks, at boot, late, on a switch and in
 * `relink`: it plans every site and writes the changes all or nothing
 * while the other CPUs run (poke.c), and reports what it did.
 */
#include "kern.h"

extern const struct pvl_site __start_pvlink_sites[], __stop_pvlink_sites[];

/* Refusals kept for the report; more are counted, not listed. */
#define MAX_REFUSED 16
/* Site table size up to which overlap checking sorts in O(n log n). */
#define MAX_SCRATCH 2048

struct k_rom {
    const char *name;
    uint64_t addr, size, region;
    struct pvl_impl impl[PVK_NOPS];
    struct pvl_env env;
    int valid;
};

static struct k_rom roms[2] = {{.name = "ROM A"}, {.name = "ROM B"}};
static const struct k_rom *linked;  /* what the sites are linked to */
static uint64_t (*linked_clock)(void); /* their clock: NULL native */
static struct pvl_refusal refused[MAX_REFUSED];
static uint32_t scratch[MAX_SCRATCH];
/* A ROM published for late linking, waiting for PVL_EV_LINK. */
static int late_pending;
/* A switch was announced by the monitor and handled, taken or not. */
static int switch_came;

size_t k_nsites(void)
{
    return (size_t)(__stop_pvlink_sites - __start_pvlink_sites);
}

const struct k_rom *k_rom_get(unsigned slot)
{
    return slot < K_ARRAY_LEN(roms) && roms[slot].valid ? &roms[slot] : 0;
}

const char *k_rom_name(const struct k_rom *r)
{
    return r ? r->name : "native";
}

const struct k_rom *k_linked(void)
{
    return linked;
}

int k_rom_requires(const struct k_rom *r, unsigned op)
{
    return r && op < PVK_NOPS && (r->impl[op].flags & PVL_ENT_REQUIRED);
}

/* The names of the operations (r) requires, in (buf); 0 if none. */
static size_t required_names(const struct k_rom *r, char *buf, size_t n)
{
    size_t k = 0, count = 0;

    buf[0] = 0;
    for (unsigned op = 0; op < PVK_NOPS; op++)
        if (k_rom_requires(r, op) && k < n)
            k += k_snprintf(buf + k, n - k, "%s%s", count++ ? ", " : "",
                            pvl_kernel_iface.ops[op].name);
    return count;
}

static void link_request(struct pvl_link *l, const struct k_rom *r, pvl_policy_fn policy,
                         void *ctx, struct pvl_report *rep, struct pvl_diag *d)
{
    static const struct pvl_range text = {(uintptr_t)__image_start, (uintptr_t)__text_end};
    size_t n = k_nsites();

    *l = (struct pvl_link){
        .sites = __start_pvlink_sites, .nsites = n,
        .lo = (uintptr_t)__image_start, .hi = (uintptr_t)__image_end,
        .exec = &text, .nexec = 1,
        .bias = 0, .iface = &pvl_kernel_iface, .env = r ? &r->env : 0,
        .policy = policy, .policy_ctx = ctx,
        .scratch = n <= MAX_SCRATCH ? scratch : 0,
        .report = rep, .diag = d};
}

int k_plan_site(const struct k_rom *r, size_t i, uint16_t *op, uint8_t *room,
                uint8_t out[PVL_ROOM_MAX])
{
    struct pvl_link l;
    struct pvl_site_info si;
    int action;

    link_request(&l, r, 0, 0, 0, 0);
    if (pvl_plan_site(&l, i, &si, &action, out, NULL) != PVL_OK)
        return -1;
    *op = si.op, *room = si.room;
    return 0;
}

/*
 * The clock the clock_read sites will read after linking (l): NULL for the
 * native one, a ROM's call entry, or (*mixed) when they would not all read
 * the same one (a policy split them, or a ROM inlines its clock, which the
 * kernel cannot call to hand the time line over).
 */
static uint64_t (*clock_after(const struct pvl_link *l, const struct k_rom *r, int *mixed))(void)
{
    uint64_t (*fn)(void) = 0;
    int seen = 0;

    *mixed = 0;
    for (size_t i = 0; i < l->nsites; i++) {
        struct pvl_site_info si;
        uint8_t out[PVL_ROOM_MAX];
        int action;
        uint64_t (*f)(void) = 0;
        if (__start_pvlink_sites[i].op != PVK_OP_CLOCK_READ ||
            pvl_plan_site(l, i, &si, &action, out, NULL) != PVL_OK)
            continue;
        if (action == PVL_ACT_CALL && r)
            f = (uint64_t (*)(void))(uintptr_t)r->impl[PVK_OP_CLOCK_READ].call;
        else if (action != PVL_ACT_NATIVE)
            *mixed = 1;
        if (seen++ && f != fn)
            *mixed = 1;
        fn = f;
    }
    return fn;
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

/* How the changes were written, for the report line: nothing on one
 * CPU, where there is only one way. */
static void describe(char *buf, size_t n, const struct k_poke_stats *st)
{
    size_t k;

    buf[0] = 0;
    if (k_ncpus == 1)
        return;
    k = k_snprintf(buf, n, " (%u CPUs, %s", k_ncpus, st->path);
    if (st->rounds || st->ipis)
        k += k_snprintf(buf + k, n - k, ": %u round%s, %u IPI%s", st->rounds,
                        st->rounds == 1 ? "" : "s", st->ipis, st->ipis == 1 ? "" : "s");
    if (st->retries)
        k += k_snprintf(buf + k, n - k, ", %u retr%s", st->retries,
                        st->retries == 1 ? "y" : "ies");
    k_snprintf(buf + k, n - k, ")");
}

static void print_linked(const char *when, const struct k_rom *r, const struct pvl_report *rep,
                         const struct k_poke_stats *st)
{
    char how[96];

    describe(how, sizeof how, st);
    if (!r) {
        k_printf("pvlink: unlinked at %s: %u sites native; %u changed%s\n", when,
                 rep->nsites, rep->nchanged, how);
        return;
    }
    k_printf("pvlink: linked at %s: ROM \"%s\" %u.%u at %#llx: %u sites: "
             "native %u, inline %u, call %u, nop %u; %u changed%s\n",
             when, r->env.name, r->env.major, r->env.minor, (unsigned long long)r->addr,
             rep->nsites, rep->count[PVL_ACT_NATIVE], rep->count[PVL_ACT_INLINE],
             rep->count[PVL_ACT_CALL], rep->count[PVL_ACT_NOP], rep->nchanged, how);
}

static void print_failed(const char *when, pvl_result r, const struct pvl_report *rep,
                         const struct pvl_diag *d, const struct k_poke_stats *st)
{
    char msg[160];

    print_refusals(rep);
    if (r == PVL_E_REFUSED)
        k_snprintf(msg, sizeof msg, "%u sites cannot be linked", rep->nrefused);
    else if (st->why[0])
        k_snprintf(msg, sizeof msg, "%s", st->why);
    else
        pvl_diag_format(d, msg, sizeof msg);
    k_printf("pvlink: link at %s refused: %s; every site stays as it was (%s)\n", when, msg,
             k_rom_name(linked));
}

int k_link_to(const struct k_rom *r, const char *when, pvl_policy_fn policy, void *ctx,
              int quiet, struct k_poke_stats *st)
{
    struct pvl_report rep = {.refused = refused, .refused_cap = MAX_REFUSED};
    struct pvl_diag d = {0};
    struct k_clock_move cm = {0};
    struct pvl_link l;
    int mixed;
    pvl_result res;
    char req[96];

    if (!r && required_names(linked, req, sizeof req)) {
        /* native code the linked ROM says is wrong here: no unlink */
        k_printf("pvlink: unlink at %s refused: %s requires %s (native code wrong under this "
                 "monitor); every site stays as it was (%s)\n", when, linked->name, req,
                 linked->name);
        *st = (struct k_poke_stats){.path = "none"};
        return -1;
    }
    link_request(&l, r, policy, ctx, &rep, &d);
    cm.from = linked_clock;
    cm.to = clock_after(&l, r, &mixed);
    if (mixed) {
        *st = (struct k_poke_stats){.path = "none"};
        k_snprintf(st->why, sizeof st->why, "the clock_read sites would not all read one "
                   "clock the kernel can call");
        print_failed(when, PVL_E_POLICY, &rep, &d, st);
        return -1;
    }
    cm.moves = !cm.from != !cm.to;
    if ((res = k_poke_link(&l, &cm, st)) != PVL_OK) {
        print_failed(when, res, &rep, &d, st);
        return -1;
    }
    linked = r;
    linked_clock = cm.to;
    if (!quiet)
        print_linked(when, r, &rep, st);
    return 0;
}

enum load { LOADED, REJECTED, DECLINED };

/* Does the ROM accept this machine?  Its probe (C convention, no
 * arguments, nonzero accepts) runs before anything is planned; a ROM
 * without one accepts.  A decline is said in one line. */
static int accepts(const struct k_rom *r)
{
    int (*probe)(void) = (int (*)(void))(uintptr_t)r->env.probe;

    if (!probe || probe())
        return 1;
    if (linked)
        k_printf("pvlink: ROM at %#llx declined this machine (its probe returned 0): every "
                 "site stays as it was (%s)\n", (unsigned long long)r->addr, linked->name);
    else
        k_printf("pvlink: ROM at %#llx declined this machine (its probe returned 0): all %zu "
                 "sites stay native\n", (unsigned long long)r->addr, k_nsites());
    return 0;
}

/* Validate the ROM image at physical (addr), at most (len) bytes, into
 * (r), and ask it whether it runs here.  REJECTED and DECLINED come after
 * one line saying so. */
static enum load load_rom(struct k_rom *r, uint64_t addr, size_t len)
{
    struct pvl_diag d = {0};
    char msg[160];

    r->valid = 0;
    if (pvl_rom_load((const void *)(uintptr_t)addr, len, addr, &pvl_kernel_iface, r->impl,
                     &r->env, &d) != PVL_OK) {
        pvl_diag_format(&d, msg, sizeof msg);
        k_printf("pvlink: ROM at %#llx rejected: %s\n", (unsigned long long)addr, msg);
        return REJECTED;
    }
    r->addr = addr, r->size = len;
    if (!accepts(r))
        return DECLINED;
    r->valid = 1;
    return LOADED;
}

static void print_native(const char *why)
{
    k_printf("pvlink: %s, %zu sites native\n", why, k_nsites());
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* A region a monitor names (CPUID leaf or PVL_HC_ROM_INFO), checked
 * before anything in it is read, then mapped. */
static int region_ok(const char *src, uint64_t a, uint64_t size, uint64_t region)
{
    uint64_t kbase = (uintptr_t)__image_start;
    uint64_t klen = (uintptr_t)__kernel_end - kbase;
    const char *bad = 0;

    if (a == 0 || a % K_PAGE)
        bad = "address is 0 or not page-aligned";
    else if (size < sizeof(struct pvl_rom_header) || size > region)
        bad = "image size is smaller than a header or larger than the region";
    else if (region > (1ull << 32) || a + region > (1ull << 32))
        bad = "region extends past 4 GiB";
    else if (overlaps(a, region, kbase, klen))
        bad = "region overlaps the kernel";
    for (uint32_t i = 0; !bad && i < k_boot.nmemmap; i++) {
        const struct k_memmap_entry *e = &k_boot.memmap[i];
        if (e->type == K_E820_RAM && overlaps(a, region, e->addr, e->size))
            bad = "region overlaps RAM in the memory map";
    }
    if (bad)
        k_printf("pvlink: %s (addr %#llx, image %llu, region %llu bytes): %s\n", src,
                 (unsigned long long)a, (unsigned long long)size,
                 (unsigned long long)region, bad);
    return !bad && k_mm_identity(a, region, 0) == 0;
}

static void link_from_monitor(void)
{
    struct k_poke_stats st;
    enum load l = REJECTED;

    if (k_hv.rom_flags & PVL_HV_ROM_SWITCH)
        k_puts("pvlink: the monitor may switch ROMs while the kernel runs\n");
    if (!(k_hv.rom_flags & PVL_HV_ROM_PRESENT)) {
        print_native("no ROM");
        return;
    }
    if (region_ok("CPUID ROM leaf", k_hv.rom_addr, k_hv.rom_size, k_hv.rom_region))
        l = load_rom(&roms[0], k_hv.rom_addr, k_hv.rom_size);
    if (l != LOADED) {
        if (l == REJECTED)
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
    k_link_to(&roms[0], "boot", 0, 0, 0, &st);
}

/* The option-ROM area lies in the boot identity map.  The first valid
 * ROM decides: linked, refused by the linker, or declined by its probe. */
static void link_from_optrom(void)
{
    struct k_poke_stats st;

    for (uint64_t a = PVL_OPTROM_START; a < PVL_OPTROM_END; a += PVL_OPTROM_ALIGN) {
        if (*(const volatile uint32_t *)(uintptr_t)a != PVL_ROM_MAGIC)
            continue;
        switch (load_rom(&roms[0], a, PVL_OPTROM_END - a)) {
        case LOADED:
            k_link_to(&roms[0], "boot", 0, 0, 0, &st);
            return;
        case DECLINED:
            return;
        case REJECTED:
            break;
        }
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

/* The ROM a switch published: where the monitor says, checked like the
 * boot one.  0, or -1 after a message. */
static int learn_switch(void)
{
    struct pvl_hcall h = {.nr = PVL_HC_ROM_INFO};
    int32_t r = k_hcall(&h);

    if (r < 0 || !(h.args[3] & PVL_HV_ROM_PRESENT)) {
        k_printf("pvlink: ROM switch announced, but ROM_INFO says %d, flags %#llx\n", r,
                 (unsigned long long)h.args[3]);
        return -1;
    }
    if (h.args[0] == roms[0].addr && roms[0].valid) {
        k_puts("pvlink: ROM switch to the ROM already linked: nothing to do\n");
        return -1;
    }
    if (!region_ok("ROM_INFO", h.args[0], h.args[1], h.args[2]) ||
        load_rom(&roms[1], h.args[0], h.args[1]) != LOADED)
        return -1;
    return 0;
}

int k_link_events(void)
{
    struct pvl_hcall h = {.nr = PVL_HC_POLL};
    struct k_poke_stats st;
    int32_t ev;
    int did = 0;

    if (!late_pending && !(k_hv.rom_flags & PVL_HV_ROM_SWITCH))
        return 0; /* the monitor has nothing to say */
    ev = k_hcall(&h);
    if (ev < 0) {
        k_printf("pvlink: POLL hypercall failed: %d\n", ev);
        return 0;
    }
    if ((ev & PVL_EV_LINK) && late_pending) {
        late_pending = 0;
        if (k_link_to(&roms[0], "midpoint", 0, 0, 0, &st) == 0)
            did |= PVL_EV_LINK;
    } else if (late_pending) {
        k_printf("pvlink: POLL at midpoint: events %#x, no link yet\n", (unsigned)ev);
    }
    if (ev & PVL_EV_ROM_SWITCH) {
        switch_came = 1;
        if (learn_switch() == 0)
            did |= PVL_EV_ROM_SWITCH;
    }
    return did;
}

int k_switch_came(void)
{
    return switch_came;
}

int k_link_poll(void)
{
    struct k_poke_stats st;
    int ev = k_link_events();

    if (ev & PVL_EV_ROM_SWITCH)
        return k_link_to(&roms[1], "ROM switch", 0, 0, 0, &st) == 0;
    return ev != 0;
}
