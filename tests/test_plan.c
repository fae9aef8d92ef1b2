/*
 * Table-driven planner tests: one site, one environment entry, maybe a
 * policy; the result and the exact bytes the site gets, then the same
 * through pvl_link, which must write exactly those bytes or nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"

#define B(s) s, sizeof(s) - 1
#define NOP2 "\x66\x90"
#define NOP3 "\x0f\x1f\x00"
#define NOP4 "\x0f\x1f\x40\x00"
#define NOP5 "\x0f\x1f\x44\x00\x00"
#define CALLR(r) "\xe8" r /* r: 4 bytes of rel32 */
#define SAVE (PVL_CLB(FLAGS) | PVL_CLB(STACK))
#define SAVER (PVL_CLB(RAX) | SAVE)
#define MP PVL_SITE_MUST_PATCH
#define NC PVL_SITE_NATIVE_CALL

enum corrupt { OK_REC, BAD_ADDR, BAD_ORIG, BAD_DESC, OTHER, VERSION, BAD_TARGET };

struct row {
    const char *name;
    uint16_t op;
    uint8_t room;
    uint64_t clobbers;
    uint8_t flags;
    enum corrupt corrupt;
    int unlink;
    uint8_t action;
    const char *tmpl;
    uint8_t tmpl_len;
    uint64_t tmpl_clb;
    int64_t call_rel; /* call target = site + 5 + call_rel; INT64_MIN: none */
    uint64_t call_clb;
    int policy; /* -1: none */
    unsigned lflags;
    pvl_result want;
    const char *bytes;
    size_t nbytes;
};

#define NOCALL INT64_MIN
#define ANY_BYTES NULL, 0

/* clang-format off */
static const struct row rows[] = {
 {"native stays native", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_OK, B("\x48\x8d\x04\x37" NOP4)},
 {"inline, padded", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x48\x89\xf8", 3, SAVER, NOCALL, 0, -1, 0,
  PVL_OK, B("\x48\x89\xf8" NOP5)},
 {"inline, exact fit", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x48\x89\xf8\x48\x0f\xaf\xc6\x90", 8, SAVER, NOCALL, 0, -1, 0,
  PVL_OK, B("\x48\x89\xf8\x48\x0f\xaf\xc6\x90")},
 {"inline, one byte too long", TOP_ADD, 7, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x48\x89\xf8\x48\x0f\xaf\xc6\x90", 8, SAVER, NOCALL, 0, -1, 0,
  PVL_E_ROOM, ANY_BYTES},
 {"inline clobbers rdx", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x31\xd2", 2, SAVER | PVL_CLB(RDX), NOCALL, 0, -1, 0,
  PVL_E_CLOBBER, ANY_BYTES},
 {"call, room 5", TOP_GET, 5, PVL_CLB_C, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x100, PVL_CLB_C, -1, 0,
  PVL_OK, B(CALLR("\x00\x01\x00\x00"))},
 {"call backwards, room 9", TOP_ADD, 9, SAVER, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, -0x10, SAVER, -1, 0,
  PVL_OK, B(NOP4 CALLR("\xec\xff\xff\xff"))}, /* NOPs first, the call last */
 {"call, site too small", TOP_ADD, 4, SAVER, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x100, SAVER, -1, 0,
  PVL_E_CALL_ROOM, ANY_BYTES},
 {"call clobbers too wide", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x100, PVL_CLB_C, -1, 0,
  PVL_E_CLOBBER, ANY_BYTES},
 {"call at +2^31", TOP_GET, 5, PVL_CLB_C, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x80000000ll, PVL_CLB_C, -1, 0,
  PVL_E_CALL_RANGE, ANY_BYTES},
 {"call at +2^31-1", TOP_GET, 5, PVL_CLB_C, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x7fffffffll, PVL_CLB_C, -1, 0,
  PVL_OK, B(CALLR("\xff\xff\xff\x7f"))},
 {"call forbidden by hardening", TOP_GET, 5, PVL_CLB_C, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x100, PVL_CLB_C, -1, PVL_LINK_NO_CALLS,
  PVL_E_HARDENING, ANY_BYTES},
 {"nop", TOP_POKE, 6, SAVE, 0, OK_REC, 0, PVL_ACT_NOP, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_OK, B("\x66\x0f\x1f\x44\x00\x00")},
 {"nop for an op with a result", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_NOP, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_NOP_RESULT, ANY_BYTES},
 {"must-patch left native", TOP_POKE, 6, SAVE, MP, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_MUST_PATCH, ANY_BYTES},
 {"must-patch inlined", TOP_POKE, 6, SAVE, MP, OK_REC, 0, PVL_ACT_INLINE, "\x90", 1, 0, NOCALL, 0, -1, 0,
  PVL_OK, B("\x90\x0f\x1f\x44\x00\x00")},
 {"must-patch unlinked", TOP_POKE, 6, SAVE, MP, OK_REC, 1, PVL_ACT_INLINE, "\x90", 1, 0, NOCALL, 0, -1, 0,
  PVL_OK, B("\x48\x89\x37" NOP3)},
 {"policy: inline -> call", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x90", 1, 0, 0x20, SAVER, PVL_ACT_CALL, 0,
  PVL_OK, B(NOP3 CALLR("\x1d\x00\x00\x00"))},
 {"policy: inline -> native", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x90", 1, 0, NOCALL, 0, PVL_ACT_NATIVE, 0,
  PVL_OK, B("\x48\x8d\x04\x37" NOP4)},
 {"policy: unknown action", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x90", 1, 0, NOCALL, 0, 9, 0,
  PVL_E_POLICY, ANY_BYTES},
 {"policy: inline without template", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_CALL, NULL, 0, 0, 0x20, SAVER, PVL_ACT_INLINE, 0,
  PVL_E_NO_TEMPLATE, ANY_BYTES},
 {"policy: call without entry", TOP_ADD, 8, SAVER, 0, OK_REC, 0, PVL_ACT_INLINE, "\x90", 1, 0, NOCALL, 0, PVL_ACT_CALL, 0,
  PVL_E_NO_CALL, ANY_BYTES},
 {"native call site stays a call", TOP_HOOK, 5, PVL_CLB_C, NC, OK_REC, 1, 0, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_OK, ANY_BYTES},
 {"unknown operation", 9, 5, SAVE, 0, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_OP, ANY_BYTES},
 {"room 0", TOP_POKE, 0, SAVE, 0, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_ROOM, ANY_BYTES},
 {"room 65", TOP_POKE, 65, SAVE, 0, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_ROOM, ANY_BYTES},
 {"unknown site flag", TOP_POKE, 6, SAVE, 0x80, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_FLAGS, ANY_BYTES},
 {"site allows RSP", TOP_POKE, 6, SAVE | PVL_CLB(RSP), 0, OK_REC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_CLOBBERS, ANY_BYTES},
 {"site outside the object", TOP_POKE, 6, SAVE, 0, BAD_ADDR, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_BOUNDS, ANY_BYTES},
 {"original copy outside", TOP_POKE, 6, SAVE, 0, BAD_ORIG, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_BOUNDS, ANY_BYTES},
 {"descriptor outside", TOP_POKE, 6, SAVE, 0, BAD_DESC, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_IFACE, ANY_BYTES},
 {"another interface", TOP_POKE, 6, SAVE, 0, OTHER, 0, PVL_ACT_NOP, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_ENV, ANY_BYTES},
 {"interface major 2", TOP_POKE, 6, SAVE, 0, VERSION, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_VERSION, ANY_BYTES},
 {"native call target outside", TOP_HOOK, 5, PVL_CLB_C, NC, BAD_TARGET, 0, PVL_ACT_NATIVE, NULL, 0, 0, NOCALL, 0, -1, 0,
  PVL_E_SITE_TARGET, ANY_BYTES},
};
/* clang-format on */

static int fixed_policy(void *ctx, const struct pvl_site_info *si, int proposed)
{
    (void)si, (void)proposed;
    return *(const int *)ctx;
}

static void corrupt(struct fx *f, struct pvl_site *s, enum corrupt c)
{
    switch (c) {
    case BAD_ADDR: s->addr = -0x100000; break;
    case BAD_ORIG: s->orig = FX_SIZE; break;
    case BAD_DESC: s->iface += 2; break;
    case OTHER: s->iface += (int32_t)sizeof(struct pvl_iface_desc); break;
    case VERSION: f->desc->major = 2; break;
    case BAD_TARGET: s->target = 0x7fff0000; break;
    case OK_REC: break;
    }
}

static void run_row(const struct row *r)
{
    struct fx f;
    struct fx_env e;
    struct pvl_site_info si;
    uint8_t out[PVL_ROOM_MAX], want[PVL_ROOM_MAX], *before;
    uint32_t scratch[1];
    int action, pol = r->policy;

    fx_init(&f);
    fx_env_init(&e);
    fx_site(&f, r->op, r->room, r->clobbers, r->flags);
    corrupt(&f, &f.sites[0], r->corrupt);
    if (r->op < TOP_NOPS)
        e.impl[r->op] = (struct pvl_impl){
            .action = r->action, .tmpl_len = r->tmpl_len,
            .tmpl = (const uint8_t *)r->tmpl, .tmpl_clobbers = r->tmpl_clb,
            .call = r->call_rel == NOCALL ? 0 : fx_addr(&f, 0) + 5 + (uint64_t)r->call_rel,
            .call_clobbers = r->call_clb};
    struct pvl_link l = fx_request(&f, r->unlink ? NULL : &e.env);
    l.flags = r->lflags;
    if (pol >= 0)
        l.policy = fixed_policy, l.policy_ctx = &pol, l.scratch = scratch;

    pvl_result got = pvl_plan_site(&l, 0, &si, &action, out, NULL);
    if (got != r->want)
        t_fail(__FILE__, __LINE__, "%s: plan gave \"%s\", expected \"%s\"", r->name,
               pvl_strerror(got), pvl_strerror(r->want));
    if (got == PVL_OK && r->bytes && memcmp(out, r->bytes, r->nbytes)) {
        memcpy(want, r->bytes, r->nbytes);
        t_fail(__FILE__, __LINE__, "%s: bytes %s", r->name, t_hex(out, r->room));
        t_fail(__FILE__, __LINE__, "%s: expected %s", r->name, t_hex(want, r->nbytes));
    }

    /* the same through pvl_link: exactly these bytes, or nothing at all */
    before = malloc(FX_SIZE);
    memcpy(before, f.mem, FX_SIZE);
    pvl_result lr = pvl_link(&l);
    if (got == PVL_OK) {
        if (lr != PVL_OK)
            t_fail(__FILE__, __LINE__, "%s: link gave \"%s\"", r->name, pvl_strerror(lr));
        else if (memcmp(fx_local(&f, 0), out, r->room))
            t_fail(__FILE__, __LINE__, "%s: link wrote other bytes", r->name);
    } else if (got == PVL_E_ENV) {
        if (lr != PVL_OK || memcmp(before, f.mem, FX_SIZE))
            t_fail(__FILE__, __LINE__, "%s: other interface's site touched", r->name);
    } else {
        if (lr != PVL_E_REFUSED)
            t_fail(__FILE__, __LINE__, "%s: link gave \"%s\", expected refusal", r->name,
                   pvl_strerror(lr));
        if (memcmp(before, f.mem, FX_SIZE))
            t_fail(__FILE__, __LINE__, "%s: a refused link changed bytes", r->name);
    }
    free(before);
    fx_free(&f);
}

static void planner_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
    printf("  %zu planner cases\n", sizeof rows / sizeof rows[0]);
}

/* A native call is re-encoded for the site's address: e8 to the target. */
static void native_call_reencoded(void)
{
    struct fx f;
    struct pvl_site_info si;
    uint8_t out[PVL_ROOM_MAX], want[5];
    int action;

    fx_init(&f);
    fx_site(&f, TOP_HOOK, 5, PVL_CLB_C, NC);
    struct pvl_link l = fx_request(&f, NULL);
    CHECK_EQ(pvl_plan_site(&l, 0, &si, &action, out, NULL), PVL_OK);
    pvl_emit_call(want, fx_addr(&f, 0), (uint64_t)FX_BIAS + FX_TARGET);
    CHECK_BYTES(out, want, 5);
    CHECK_BYTES(fx_local(&f, 0), want, 5);
    fx_free(&f);
}

T_CASES(T(planner_table), T(native_call_reencoded))
