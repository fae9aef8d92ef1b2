/*
 * Whole-table behaviour of pvl_link: all or nothing, overlap checking,
 * re-linking and unlinking byte for byte, the report, the writer.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"

#define SAVE (PVL_CLB(FLAGS) | PVL_CLB(STACK))
#define SAVER (PVL_CLB(RAX) | SAVE)

static uint8_t *snapshot(const struct fx *f)
{
    uint8_t *s = malloc(FX_SIZE);
    memcpy(s, f->mem, FX_SIZE);
    return s;
}

/* Three sites: add, poke, get; an environment inlining add and poke and
 * calling get. */
static void setup(struct fx *f, struct fx_env *e)
{
    fx_init(f);
    fx_env_init(e);
    fx_site(f, TOP_ADD, 8, SAVER, 0);
    fx_site(f, TOP_POKE, 6, SAVE, 0);
    fx_site(f, TOP_GET, 5, PVL_CLB_C, 0);
    e->impl[TOP_ADD] = (struct pvl_impl){.action = PVL_ACT_INLINE, .tmpl_len = 3, .tmpl_clobbers = SAVER,
        .call_clobbers = 0, .tmpl = (const uint8_t *)"\x48\x89\xf8", .call = 0};
    e->impl[TOP_POKE] = (struct pvl_impl){.action = PVL_ACT_NOP, .tmpl_len = 0, .tmpl_clobbers = 0,
        .call_clobbers = 0, .tmpl = NULL, .call = 0};
    e->impl[TOP_GET] = (struct pvl_impl){.action = PVL_ACT_CALL, .tmpl_len = 0, .tmpl_clobbers = 0,
        .call_clobbers = PVL_CLB_C, .tmpl = NULL, .call = (uint64_t)FX_BIAS + 0xf000};
}

static void links_and_reports(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_report rep = {0};

    setup(&f, &e);
    struct pvl_link l = fx_request(&f, &e.env);
    l.report = &rep;
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_EQ(rep.nsites, 3);
    CHECK_EQ(rep.count[PVL_ACT_INLINE], 1);
    CHECK_EQ(rep.count[PVL_ACT_NOP], 1);
    CHECK_EQ(rep.count[PVL_ACT_CALL], 1);
    CHECK_EQ(rep.count[PVL_ACT_NATIVE], 0);
    CHECK_EQ(rep.nchanged, 3);
    CHECK_BYTES(fx_local(&f, 0), "\x48\x89\xf8\x0f\x1f\x44\x00\x00", 8);
    CHECK_BYTES(fx_local(&f, 1), "\x66\x0f\x1f\x44\x00\x00", 6);
    /* get at 0x401080 calls 0x40f000: rel = 0xf000 - 0x1080 - 5 = 0xdf7b */
    CHECK_BYTES(fx_local(&f, 2), "\xe8\x7b\xdf\x00\x00", 5);
    /* linking again changes nothing */
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_EQ(rep.nchanged, 0);
    fx_free(&f);
}

static void relink_and_unlink_exact(void)
{
    struct fx f;
    struct fx_env a, b;
    uint8_t *orig;

    setup(&f, &a);
    fx_env_init(&b);
    b.impl[TOP_ADD] = (struct pvl_impl){.action = PVL_ACT_CALL, .tmpl_len = 0, .tmpl_clobbers = 0,
        .call_clobbers = SAVER, .tmpl = NULL, .call = (uint64_t)FX_BIAS + 0xf000};
    b.impl[TOP_GET] = (struct pvl_impl){.action = PVL_ACT_INLINE, .tmpl_len = 5, .tmpl_clobbers = PVL_CLB(RAX),
        .call_clobbers = 0, .tmpl = (const uint8_t *)"\xb8\x22\x00\x00\x00", .call = 0};
    orig = snapshot(&f);
    struct pvl_link la = fx_request(&f, &a.env), lb = fx_request(&f, &b.env),
                    ln = fx_request(&f, NULL);
    CHECK_EQ(pvl_link(&la), PVL_OK);
    CHECK_EQ(pvl_link(&lb), PVL_OK);
    /* add at 0x401000 calls 0x40f000 from the end of its room, after a
     * 3-byte NOP: rel = 0xf000 - (0x1003 + 5) = 0xdff8 */
    CHECK_BYTES(fx_local(&f, 0), "\x0f\x1f\x00\xe8\xf8\xdf\x00\x00", 8);
    CHECK_BYTES(fx_local(&f, 1), "\x48\x89\x37\x0f\x1f\x00", 6); /* native under b */
    CHECK_BYTES(fx_local(&f, 2), "\xb8\x22\x00\x00\x00", 5);
    CHECK_EQ(pvl_link(&ln), PVL_OK);
    CHECK(memcmp(orig, f.mem, FX_SIZE) == 0); /* every byte as built */
    free(orig);
    fx_free(&f);
}

static void refusal_is_all_or_nothing(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_refusal ref[4];
    struct pvl_report rep = {.refused = ref, .refused_cap = 4};
    struct pvl_diag d;
    char msg[128];

    setup(&f, &e);
    f.sites[1].flags = PVL_SITE_MUST_PATCH;
    e.impl[TOP_POKE].action = PVL_ACT_NATIVE; /* must-patch with no action */
    uint8_t *before = snapshot(&f);
    struct pvl_link l = fx_request(&f, &e.env);
    l.report = &rep, l.diag = &d;
    CHECK_EQ(pvl_link(&l), PVL_E_REFUSED);
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);
    CHECK_EQ(rep.nrefused, 1);
    CHECK_EQ(ref[0].index, 1);
    CHECK_EQ(ref[0].addr, fx_addr(&f, 1));
    CHECK_EQ(ref[0].op, TOP_POKE);
    CHECK_EQ(ref[0].why, PVL_E_MUST_PATCH);
    CHECK_EQ(rep.count[PVL_ACT_INLINE] + rep.count[PVL_ACT_CALL], 2);
    pvl_diag_format(&d, msg, sizeof msg);
    CHECK(strcmp(msg, "sites: link refused: some sites cannot be linked (0x1)") == 0);
    free(before);
    fx_free(&f);
}

static void overlapping_sites_refused(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_diag d;
    uint32_t scratch[4];

    setup(&f, &e);
    f.sites[2].addr -= FX_STRIDE - 4; /* get now starts 4 bytes into poke */
    f.sites[2].orig -= FX_STRIDE - 4;
    uint8_t *before = snapshot(&f);
    struct pvl_link l = fx_request(&f, &e.env);
    l.diag = &d;
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_OVERLAP);
    CHECK_EQ(d.index, 2);
    CHECK_EQ(d.value, fx_addr(&f, 1) + 4);
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);

    /* unsorted table: swap the records of sites 0 and 2 (fix offsets) */
    struct pvl_site t0 = f.sites[0], t2 = f.sites[2];
    int32_t delta = (int32_t)(2 * sizeof(struct pvl_site));
    t0.addr -= delta, t0.orig -= delta, t0.target -= delta, t0.iface -= delta;
    t2.addr += delta, t2.orig += delta, t2.target += delta, t2.iface += delta;
    f.sites[0] = t2, f.sites[2] = t0;
    memcpy(before, f.mem, FX_SIZE);
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_OVERLAP); /* all pairs */
    l.scratch = scratch;
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_OVERLAP); /* sorted in scratch */
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);
    free(before);
    fx_free(&f);
}

static void unsorted_without_overlap(void)
{
    struct fx f;
    struct fx_env e;
    uint32_t scratch[3];

    setup(&f, &e);
    struct pvl_site t0 = f.sites[0], t2 = f.sites[2];
    int32_t delta = (int32_t)(2 * sizeof(struct pvl_site));
    t0.addr -= delta, t0.orig -= delta, t0.target -= delta, t0.iface -= delta;
    t2.addr += delta, t2.orig += delta, t2.target += delta, t2.iface += delta;
    f.sites[0] = t2, f.sites[2] = t0;
    struct pvl_link l = fx_request(&f, &e.env);
    l.scratch = scratch;
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_BYTES(fx_local(&f, 0), "\x48\x89\xf8\x0f\x1f\x44\x00\x00", 8);
    fx_free(&f);
}

/* Point site (i)'s room at (p), keeping its record consistent. */
static void move_room(struct fx *f, size_t i, uint8_t *p)
{
    struct pvl_site *s = &f->sites[i];
    s->addr = (int32_t)(p - (uint8_t *)&s->addr);
}

/* Aliasing is checked whatever the executable ranges are: code generated
 * at run time may keep its records in executable memory. */
static void expect_alias(struct fx *f, struct fx_env *e, size_t bad, const char *what)
{
    struct pvl_diag d;
    uint32_t scratch[3];
    uint8_t *before = snapshot(f);
    struct pvl_range all = {(uintptr_t)f->mem, (uintptr_t)f->mem + FX_SIZE};

    for (int with_scratch = 0; with_scratch < 2; with_scratch++) {
        struct pvl_link l = fx_request(f, &e->env);
        l.exec = &all;
        l.diag = &d, l.scratch = with_scratch ? scratch : NULL;
        pvl_result r = pvl_link(&l);
        if (r != PVL_E_SITE_ALIAS || d.index != bad)
            t_fail(__FILE__, __LINE__, "%s (scratch %d): \"%s\" at site %u", what,
                   with_scratch, pvl_strerror(r), d.index);
        if (memcmp(before, f->mem, FX_SIZE))
            t_fail(__FILE__, __LINE__, "%s: bytes changed", what);
    }
    free(before);
}

/* A room over site records, original copies or a descriptor would change,
 * mid-link, what pass 1 checked: refused before anything is written. */
static void rooms_never_alias(void)
{
    struct fx f;
    struct fx_env e;

    setup(&f, &e); /* add inline, poke NOP, get call */
    move_room(&f, 1, (uint8_t *)&f.sites[2] + 18); /* over site 2's room/op bytes */
    expect_alias(&f, &e, 2, "room over a record");
    fx_free(&f);

    setup(&f, &e);
    f.sites[0].orig = (int32_t)(fx_local(&f, 1) - (uint8_t *)&f.sites[0].orig);
    expect_alias(&f, &e, 0, "copy inside another site's room");
    fx_free(&f);

    setup(&f, &e);
    f.sites[1].orig = (int32_t)(fx_local(&f, 1) - (uint8_t *)&f.sites[1].orig);
    expect_alias(&f, &e, 1, "copy is the site itself");
    fx_free(&f);

    setup(&f, &e);
    move_room(&f, 1, (uint8_t *)f.desc + 8); /* over the descriptor */
    expect_alias(&f, &e, 0, "room over the descriptor");
    fx_free(&f);
}

/* Rooms only inside the executable code: a room in data, or one
 * straddling the end of the text, is refused before anything is written,
 * by the record check itself (in the words pvlink check uses). */
static void rooms_outside_exec(void)
{
    static const struct {
        const char *what;
        size_t at; /* offset of the room in the object */
    } cases[] = {
        {"room in data (after the original copies)", 0x9000},
        {"room in the descriptors' page", 0x80},
        {"room straddling the end of the text", FX_ORIG - 3},
    };
    char msg[200];

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct fx f;
        struct fx_env e;
        struct pvl_refusal ref;
        struct pvl_report rep = {.refused = &ref, .refused_cap = 1};
        struct pvl_site_info si;
        struct pvl_diag d;

        setup(&f, &e);
        move_room(&f, 1, f.mem + cases[k].at);
        uint8_t *before = snapshot(&f);
        struct pvl_link l = fx_request(&f, &e.env);
        l.report = &rep;
        CHECK_EQ(pvl_link(&l), PVL_E_REFUSED);
        CHECK_EQ(rep.nrefused, 1);
        CHECK_EQ(ref.why, PVL_E_SITE_EXEC);
        CHECK_EQ(ref.index, 1);
        CHECK_EQ(pvl_site_check(&l, 1, &si, &d), PVL_E_SITE_EXEC);
        pvl_diag_format(&d, msg, sizeof msg);
        if (strncmp(msg, "site.addr[1]: site room is not inside the object's executable code",
                    strlen("site.addr[1]: site room is not inside the object's executable code")))
            t_fail(__FILE__, __LINE__, "%s: %s", cases[k].what, msg);
        if (memcmp(before, f.mem, FX_SIZE))
            t_fail(__FILE__, __LINE__, "%s: bytes changed", cases[k].what);
        free(before);
        fx_free(&f);
    }
}

/* An operation the environment requires: every site must take its
 * action; a policy may not keep one native. */
static int keep_native(void *ctx, const struct pvl_site_info *si, int proposed)
{
    (void)ctx, (void)si, (void)proposed;
    return PVL_ACT_NATIVE;
}

static void required_operation(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_refusal ref[3];
    struct pvl_report rep = {.refused = ref, .refused_cap = 3};
    uint32_t scratch[3];

    setup(&f, &e);
    uint8_t *before = snapshot(&f);
    e.impl[TOP_POKE].flags = PVL_ENT_REQUIRED; /* poke: NOPs, required */
    struct pvl_link l = fx_request(&f, &e.env);
    l.policy = keep_native, l.scratch = scratch, l.report = &rep;
    CHECK_EQ(pvl_link(&l), PVL_E_REFUSED);
    CHECK_EQ(rep.nrefused, 1);
    CHECK_EQ(ref[0].why, PVL_E_REQUIRED);
    CHECK_EQ(ref[0].index, 1);
    CHECK_EQ(ref[0].op, TOP_POKE);
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);
    /* without the policy the required action is taken */
    l.policy = NULL;
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_BYTES(fx_local(&f, 1), "\x66\x0f\x1f\x44\x00\x00", 6);
    free(before);
    fx_free(&f);
}

/* A site that allows the C integer set only (a kernel's) cannot take a
 * call that may change vector state (a C function's). */
static void vector_state_refused(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_refusal ref;
    struct pvl_report rep = {.refused = &ref, .refused_cap = 1};

    fx_init(&f);
    fx_env_init(&e);
    fx_site(&f, TOP_GET, 5, PVL_CLB_C_INT, 0);
    e.impl[TOP_GET] = (struct pvl_impl){.action = PVL_ACT_CALL, .call_clobbers = PVL_CLB_C,
                                        .call = (uint64_t)FX_BIAS + 0xf000};
    struct pvl_link l = fx_request(&f, &e.env);
    l.report = &rep;
    CHECK_EQ(pvl_link(&l), PVL_E_REFUSED);
    CHECK_EQ(ref.why, PVL_E_CLOBBER);
    CHECK_EQ(ref.state, PVL_X87); /* the first state outside the integer set */
    e.impl[TOP_GET].call_clobbers = PVL_CLB_C_INT; /* what a kernel ROM may declare */
    CHECK_EQ(pvl_link(&l), PVL_OK);
    fx_free(&f);
}

/* Descriptors: format 1 (the name first, no magic) is named as such;
 * another format major is refused; a newer minor's reserved space and
 * unknown flags are ignored, this minor's are refused. */
static void descriptor_format(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_site_info si;
    struct pvl_diag d;
    char msg[200];

    setup(&f, &e);
    struct pvl_link l = fx_request(&f, &e.env);
    memset(f.desc, 0, sizeof *f.desc);
    memcpy(f.desc, "pvlink.test", 12); /* format 1: name, major, minor, nops */
    CHECK_EQ(pvl_site_check(&l, 0, &si, &d), PVL_E_SITE_FORMAT);
    pvl_diag_format(&d, msg, sizeof msg);
    if (strcmp(msg, "site.iface[0]: site was built for another pvlink format major version "
                    "(found 1, expected 2)"))
        t_fail(__FILE__, __LINE__, "format 1: %s", msg);
    *f.desc = (struct pvl_iface_desc){PVL_DESC_MAGIC, 3, 0, "pvlink.test", 1, 0, TOP_NOPS};
    CHECK_EQ(pvl_site_check(&l, 0, &si, &d), PVL_E_SITE_FORMAT);
    CHECK_EQ(d.value, 3);
    *f.desc = (struct pvl_iface_desc){PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                      "pvlink.test", 1, 0, TOP_NOPS};
    f.sites[0].reserved = 1;
    CHECK_EQ(pvl_site_check(&l, 0, &si, &d), PVL_E_SITE_RESERVED);
    f.sites[0].flags |= 0x40;
    f.desc->format_minor = PVL_FORMAT_MINOR + 1; /* newer: both ignored */
    CHECK_EQ(pvl_site_check(&l, 0, &si, &d), PVL_OK);
    CHECK_EQ(si.flags, 0);
    fx_free(&f);
}

struct wlog {
    int calls;
    uint64_t addrs[8];
    int fail_at;
};

static pvl_result logging_writer(void *ctx, const struct pvl_site_info *si,
                                 const uint8_t *src, size_t n)
{
    struct wlog *w = ctx;
    if (w->calls == w->fail_at)
        return PVL_E_WRITE;
    w->addrs[w->calls++] = si->addr;
    memcpy(si->local, src, n);
    return PVL_OK;
}

static void writer_sees_only_changes(void)
{
    struct fx f;
    struct fx_env e;
    struct wlog w = {.fail_at = -1};
    struct pvl_diag d;

    setup(&f, &e);
    e.impl[TOP_POKE].action = PVL_ACT_NATIVE; /* unchanged: no write */
    struct pvl_link l = fx_request(&f, &e.env);
    l.write = logging_writer, l.write_ctx = &w, l.diag = &d;
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_EQ(w.calls, 2);
    CHECK_EQ(w.addrs[0], fx_addr(&f, 0));
    CHECK_EQ(w.addrs[1], fx_addr(&f, 2));

    /* a failing writer is reported with the site it failed on */
    struct wlog w2 = {.fail_at = 0};
    struct pvl_link u = fx_request(&f, NULL);
    u.write = logging_writer, u.write_ctx = &w2, u.diag = &d;
    CHECK_EQ(pvl_link(&u), PVL_E_WRITE);
    CHECK_EQ(d.index, 0);
    fx_free(&f);
}

/* A policy that answers differently every time it is asked: inline, then
 * an unknown action.  Asked once per site, it cannot make the linker write
 * what it did not check. */
static int fickle_policy(void *ctx, const struct pvl_site_info *si, int proposed)
{
    int *calls = ctx;
    (void)si, (void)proposed;
    return (*calls)++ < 3 ? PVL_ACT_NATIVE : 7;
}

static void policy_asked_once(void)
{
    struct fx f;
    struct fx_env e;
    uint32_t scratch[3];
    int calls = 0;

    setup(&f, &e);
    struct pvl_link l = fx_request(&f, &e.env);
    l.policy = fickle_policy, l.policy_ctx = &calls, l.scratch = scratch;
    uint8_t *before = snapshot(&f);
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_EQ(calls, 3); /* once per site, not once per pass */
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0); /* all native: unchanged */
    CHECK_EQ(pvl_link(&l), PVL_E_REFUSED); /* now it answers 7 */
    CHECK_EQ(calls, 6);
    free(before);
    fx_free(&f);
}

static void dry_run_writes_nothing(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_report rep = {0};

    setup(&f, &e);
    uint8_t *before = snapshot(&f);
    struct pvl_link l = fx_request(&f, &e.env);
    l.flags = PVL_LINK_DRY_RUN, l.report = &rep;
    CHECK_EQ(pvl_link(&l), PVL_OK);
    CHECK_EQ(rep.count[PVL_ACT_INLINE], 1);
    CHECK_EQ(rep.count[PVL_ACT_CALL], 1);
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);
    free(before);
    fx_free(&f);
}

static void bad_requests(void)
{
    struct fx f;
    struct fx_env e;
    struct pvl_diag d;

    setup(&f, &e);
    uint8_t *before = snapshot(&f);
    struct pvl_link l = fx_request(&f, &e.env);
    l.diag = &d;
    e.env.name = "someone.else";
    CHECK_EQ(pvl_link(&l), PVL_E_ENV);
    e.env.name = "pvlink.test", e.env.major = 2;
    CHECK_EQ(pvl_link(&l), PVL_E_ENV);
    e.env.major = 1;
    l.sites = (const struct pvl_site *)((const uint8_t *)f.sites + 2);
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_TABLE); /* misaligned */
    l.sites = (const struct pvl_site *)(f.mem + FX_SIZE - 24);
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_TABLE); /* runs past the object */
    l.sites = f.sites, l.nsites = 0x100000;
    CHECK_EQ(pvl_link(&l), PVL_E_SITE_TABLE); /* more records than the object holds */
    l.nsites = (size_t)-1 / 8;
    CHECK_EQ(pvl_link(&l), PVL_E_ARG); /* past 2^28 - 1 sites */
    l.nsites = 3, l.iface = NULL;
    CHECK_EQ(pvl_link(&l), PVL_E_ARG);
    l.iface = &fx_iface, l.policy = fickle_policy;
    CHECK_EQ(pvl_link(&l), PVL_E_ARG); /* a policy needs scratch */
    CHECK(memcmp(before, f.mem, FX_SIZE) == 0);
    free(before);
    fx_free(&f);
}

T_CASES(T(links_and_reports), T(relink_and_unlink_exact), T(refusal_is_all_or_nothing),
        T(overlapping_sites_refused), T(unsorted_without_overlap),
        T(rooms_never_alias), T(rooms_outside_exec), T(required_operation),
        T(vector_state_refused), T(descriptor_format), T(writer_sees_only_changes),
        T(policy_asked_once), T(dry_run_writes_nothing),
        T(bad_requests))
