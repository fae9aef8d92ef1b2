/*
 * pvr_link: plan every site of an interface in every registered object
 * with the core linker, collect the changes, and only when every object
 * planned cleanly hand them to the writer (patch.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Which provider each interface is linked to (NULL entries: native). */
#define MAX_LINKED 64
static struct {
    char iface[PVL_IFACE_NAME_MAX];
    const struct pvr_provider *p;
} linked[MAX_LINKED];

static int linked_slot(const char *iface, int create)
{
    int free_slot = -1;

    for (int i = 0; i < MAX_LINKED; i++) {
        if (linked[i].iface[0] && !strcmp(linked[i].iface, iface))
            return i;
        if (!linked[i].iface[0] && free_slot < 0)
            free_slot = i;
    }
    if (create && free_slot >= 0)
        strcpy(linked[free_slot].iface, iface);
    return create ? free_slot : -1;
}

int pvr__provider_in_use(const struct pvr_provider *p)
{
    for (int i = 0; i < MAX_LINKED; i++)
        if (linked[i].p == p)
            return 1;
    return 0;
}

const struct pvr_provider *pvr_linked(const struct pvl_iface *iface)
{
    const struct pvr_provider *p = NULL;
    int i;

    if (!iface || !iface->name || pvr__enter(NULL) != PVL_OK)
        return NULL;
    if ((i = linked_slot(iface->name, 0)) >= 0)
        p = linked[i].p;
    pvr__leave();
    return p;
}

/* ------------------------------------------------------------------------
 * Collecting changes.
 */

struct collect {
    struct pvr_change *v;
    size_t n, cap;
    uint8_t *bytes;
    size_t nbytes, bcap;
    const struct pvr_obj *obj;
    const struct pvl_iface *iface;
    int failed;
    /* the policy, for the wrapper */
    pvr_policy_fn policy;
    void *policy_ctx;
};

/*
 * A call followed by NOP padding becomes the NOPs followed by the call, so
 * that a thread inside the callee returns to the site's end, which no later
 * link rewrites.  Same target; kept as it is if the call does not reach it
 * from the end.
 */
static void call_to_end(uint8_t *b, unsigned room, uintptr_t at)
{
    uint8_t nops[PVL_ROOM_MAX], call[PVL_CALL_LEN];
    uint64_t target;
    unsigned pad = room - PVL_CALL_LEN;

    if (room <= PVL_CALL_LEN || !pvl_call_target(b, room, at, &target))
        return;
    pvl_emit_nops(nops, pad);
    if (memcmp(b + PVL_CALL_LEN, nops, pad) != 0 ||
        pvl_emit_call(call, at + pad, target) != PVL_OK)
        return;
    memcpy(b, nops, pad);
    memcpy(b + pad, call, PVL_CALL_LEN);
}

static int grow(struct collect *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    struct pvr_change *v = realloc(c->v, cap * sizeof *v);
    uint8_t *b = v ? realloc(c->bytes, cap * 2 * PVL_ROOM_MAX) : NULL;

    if (v)
        c->v = v;
    if (!b)
        return -1;
    c->bytes = b, c->cap = cap, c->bcap = cap * 2 * PVL_ROOM_MAX;
    return 0;
}

/* Room for every site of every object: no copying while collecting. */
static int presize(struct collect *c)
{
    size_t n = 0;

    for (const struct pvr_obj *o = pvr__objs; o; o = o->next)
        n += o->nsites;
    c->v = malloc((n ? n : 1) * sizeof *c->v);
    c->bytes = malloc((n ? n : 1) * 2 * PVL_ROOM_MAX); /* touched as used */
    c->cap = n, c->bcap = n * 2 * PVL_ROOM_MAX;
    return c->v && c->bytes ? 0 : -1;
}

/* The core's writer: record the change instead of writing it. */
static pvl_result collect_write(void *ctx, const struct pvl_site_info *si, const uint8_t *src,
                                size_t n)
{
    struct collect *c = ctx;
    struct pvr_change *ch;
    uint8_t *old = c->bytes + c->nbytes, *new = old + n, diff = 0;

    if (c->n == c->cap && grow(c) != 0) {
        c->failed = 1;
        return PVL_E_WRITE;
    }
    ch = &c->v[c->n];
    ch->addr = si->local, ch->obj = c->obj, ch->room = (uint8_t)n;
    ch->off = (uint32_t)c->nbytes;
    for (size_t i = 0; i < n; i++)
        old[i] = si->local[i], new[i] = src[i];
    call_to_end(new, (unsigned)n, (uintptr_t)si->local);
    for (size_t i = 0; i < n; i++)
        diff |= old[i] ^ new[i];
    if (diff)
        c->n++, c->nbytes += 2 * n;
    return PVL_OK;
}

static int policy_wrap(void *ctx, const struct pvl_site_info *si, int proposed)
{
    struct collect *c = ctx;
    struct pvr_site s = {c->obj->path, *si, c->iface};
    return c->policy(c->policy_ctx, &s, proposed);
}

/* ------------------------------------------------------------------------
 * One object.
 */

/* Can a call anywhere in (o) reach (target)?  Unsigned: no wrap-around. */
static int in_reach(const struct pvr_obj *o, uint64_t target)
{
    uint64_t from = target < o->lo ? target : o->lo, to = target > o->hi ? target : o->hi;
    return to - from < (uint64_t)INT32_MAX - 64;
}

/* Does (o) have a site of op (op) of (iface)?  Records whose descriptor
 * lies outside the object are left to the core to refuse. */
static int has_op(const struct pvr_obj *o, const struct pvl_iface *iface, uint16_t op)
{
    for (size_t i = 0; i < o->nsites; i++) {
        const struct pvl_site *s = &o->sites[i];
        uintptr_t d = (uintptr_t)pvl_rel(&s->iface);
        if (s->op != op || d % 4 || d < o->lo || d > o->hi - sizeof(struct pvl_iface_desc))
            continue;
        if (!strncmp(((const struct pvl_iface_desc *)d)->name, iface->name, PVL_IFACE_NAME_MAX))
            return 1;
    }
    return 0;
}

/* The provider's offer as seen from (o): far calls through veneers, made
 * only where (o) has sites that may use them. */
static pvl_result object_env(struct pvr_obj *o, const struct pvl_iface *iface,
                             const struct pvr_provider *p, struct pvl_impl *impl,
                             struct pvl_env *env, uint32_t *nveneers, struct pvr_error *err)
{
    for (uint16_t op = 0; op < iface->nops; op++) {
        impl[op] = p->impl[op];
        if (!impl[op].call || in_reach(o, impl[op].call) || !has_op(o, iface, op))
            continue;
        struct pvr_error why;
        if (!(impl[op].call = pvr__veneer(o, p->impl[op].call, &why)))
            return pvr__fail(err, why.code, why.sys, "object \"%s\": no veneer for op "
                             "\"%s\": %s", o->path, iface->ops[op].name, why.msg);
        (*nveneers)++;
    }
    *env = (struct pvl_env){iface->name, p->major, p->minor, iface->nops, impl, 0};
    return PVL_OK;
}

static void add_report(struct pvr_report *rep, const struct pvl_report *r,
                       const struct pvr_obj *o, int count_object)
{
    for (int a = 0; a < PVL_NACTIONS; a++)
        rep->count[a] += r->count[a];
    rep->nsites += count_object ? r->nsites : 0;
    rep->nother += r->nother;
    for (uint32_t i = 0; i < r->nrefused && i < r->refused_cap; i++)
        if (rep->refused && rep->nrefused + i < rep->refused_cap)
            rep->refused[rep->nrefused + i] = (struct pvr_refusal){o->path, r->refused[i]};
    rep->nrefused += r->nrefused;
    rep->nobjects += count_object;
}

/* One interface of a link request, planned in every object. */
struct request {
    const struct pvl_iface *iface;
    const struct pvr_provider *p;
    const struct pvr_link_opts *o;
    struct pvr_report *rep;
    struct pvr_error *err;
    struct pvl_impl *impl; /* iface->nops entries */
    struct pvl_refusal *refused;
    int first_item;        /* count objects and sites once */
};

static pvl_result table_error(const struct pvr_obj *o, const struct pvl_diag *d,
                              struct pvr_error *err)
{
    char m[200];
    pvl_diag_format(d, m, sizeof m);
    return pvr__fail(err, d->code, 0, "object \"%s\": %s", o->path, m);
}

static pvl_result plan_object(struct request *q, struct pvr_obj *o, struct collect *c)
{
    struct pvl_env env;
    struct pvl_diag d = {0};
    struct pvl_report r = {.refused = q->refused, .refused_cap = 16};
    uint32_t *scratch = malloc((o->nsites ? o->nsites : 1) * sizeof *scratch);
    pvl_result res;

    if (!scratch)
        return pvr__fail(q->err, PVL_E_ARG, ENOMEM, "out of memory");
    if (q->p && (res = object_env(o, q->iface, q->p, q->impl, &env, &q->rep->nveneers,
                                  q->err)) != PVL_OK) {
        free(scratch);
        return res;
    }
    c->obj = o, c->iface = q->iface;
    struct pvl_range exec[PVR_MAX_SEGS]; /* rooms only in executable segments */
    for (int k = 0; k < o->nseg; k++)
        exec[k] = (struct pvl_range){o->seg[k].lo, o->seg[k].hi};
    struct pvl_link l = {
        .sites = o->sites, .nsites = o->nsites, .lo = o->lo, .hi = o->hi,
        .exec = exec, .nexec = (size_t)o->nseg,
        .iface = q->iface, .env = q->p ? &env : NULL,
        .flags = (q->o->flags & PVR_LINK_NO_CALLS) ? PVL_LINK_NO_CALLS : 0,
        .policy = q->o->policy ? policy_wrap : NULL, .policy_ctx = c,
        .write = collect_write, .write_ctx = c, .scratch = scratch,
        .report = &r, .diag = &d};
    res = pvl_link(&l);
    free(scratch);
    add_report(q->rep, &r, o, q->first_item);
    if (c->failed)
        return pvr__fail(q->err, PVL_E_WRITE, ENOMEM, "out of memory for the changes");
    if (res != PVL_OK && res != PVL_E_REFUSED)
        return table_error(o, &d, q->err);
    return res;
}

/* Describe the first refusal: object, site, op, address, reason. */
static pvl_result refused(const struct pvl_iface *iface, const struct pvr_report *rep,
                          struct pvr_error *err)
{
    const struct pvr_refusal *f = rep->refused;

    if (!f || !rep->refused_cap || !iface)
        return pvr__fail(err, PVL_E_REFUSED, 0, "link refused: %u sites cannot be linked",
                         rep->nrefused);
    return pvr__fail(err, PVL_E_REFUSED, 0, "link refused: %u sites cannot be linked; "
                     "first: object \"%s\" site %u (op \"%s\" at %#llx): %s",
                     rep->nrefused, f->object, f->r.index,
                     f->r.op < iface->nops ? iface->ops[f->r.op].name : "?",
                     (unsigned long long)f->r.addr, pvl_strerror(f->r.why));
}

/* Plan (q) in every object; PVL_E_REFUSED when some site was refused. */
static pvl_result plan_all(struct request *q, struct collect *c)
{
    pvl_result first = PVL_OK, r;

    for (struct pvr_obj *o = pvr__objs; o; o = o->next) {
        r = plan_object(q, o, c);
        if (r == PVL_E_REFUSED)
            first = r;
        else if (r != PVL_OK)
            return r;
    }
    return first;
}

static int want_live(const struct pvr_link_opts *o)
{
    if (o->flags & (PVR_LINK_STOPPED | PVR_LINK_STARTUP))
        return 0;
    return (o->flags & PVR_LINK_LIVE) || pvr__nthreads() != 1;
}

static pvl_result write_changes(const struct pvr_link_opts *o, struct collect *c,
                                struct pvr_report *rep, struct pvr_error *err)
{
    struct pvr_apply a = {.v = c->v, .n = c->n, .bytes = c->bytes, .live = want_live(o),
                          .procmem = !!(o->flags & PVR_LINK_PROCMEM),
                          .batch = o->batch ? o->batch : 65536,
                          .timeout_ms = o->timeout_ms ? o->timeout_ms : 10000};
    pvl_result r = pvr__apply(&a, err);

    rep->live = (uint8_t)a.live, rep->state = (uint8_t)a.state;
    rep->nnew = a.nnew, rep->nbatches = a.nbatches;
    rep->nrounds = a.nrounds, rep->nmoved = a.nmoved;
    rep->nsignals = a.nsignals, rep->nskipped = a.nskipped, rep->ntraps = a.ntraps;
    rep->prot_left = (uint8_t)a.prot_left, rep->procmem = (uint8_t)a.used_procmem;
    return r;
}

static pvl_result check_item(const struct pvr_link_item *it, struct pvr_error *err)
{
    const struct pvl_iface *iface = it->iface;
    const struct pvr_provider *p = it->provider;

    if (!iface || !iface->name || strlen(iface->name) >= PVL_IFACE_NAME_MAX ||
        (iface->nops && !iface->ops))
        return pvr__fail(err, PVL_E_ARG, 0, "invalid interface description");
    if (p && (strcmp(p->iface, iface->name) || p->major != iface->major ||
              p->nops != iface->nops))
        return pvr__fail(err, PVL_E_ENV, 0, "provider \"%s\" was validated for \"%s\" "
                         "%u.x, not \"%s\" %u.%u", p->name, p->iface, p->major,
                         iface->name, iface->major, iface->minor);
    return PVL_OK;
}

static pvl_result check_items(const struct pvr_link_item *items, size_t n,
                              struct pvr_error *err)
{
    pvl_result r;

    if (!items || n == 0 || n > MAX_LINKED)
        return pvr__fail(err, PVL_E_ARG, 0, "link set: %zu interfaces (1 to %d)", n,
                         MAX_LINKED);
    for (size_t i = 0; i < n; i++) {
        if ((r = check_item(&items[i], err)) != PVL_OK)
            return r;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(items[j].iface->name, items[i].iface->name))
                return pvr__fail(err, PVL_E_ARG, 0, "link set: interface \"%s\" appears "
                                 "twice", items[i].iface->name);
    }
    return PVL_OK;
}

/* Start-up mode: this must be the only thread. */
static pvl_result check_alone(struct pvr_error *err)
{
    int first = 0, n = pvr__threads(&first, 1, pvr__gettid());

    if (n == 0)
        return PVL_OK;
    if (n < 0)
        return pvr__fail(err, PVL_E_THREADS, errno, "start-up link: cannot list the "
                         "threads (/proc/self/task): %s", strerror(errno));
    return pvr__fail(err, PVL_E_THREADS, 0, "start-up link refused: %d other thread%s "
                     "(first: %d); nothing written", n, n == 1 ? " runs" : "s run", first);
}

static void remember(const struct pvl_iface *iface, const struct pvr_provider *p)
{
    int i = linked_slot(iface->name, 1);
    if (i >= 0)
        linked[i].p = p;
}

/* Plan every item; on success, (c) holds every change. */
static pvl_result plan_items(const struct pvr_link_item *items, size_t n,
                             const struct pvr_link_opts *o, struct collect *c,
                             struct pvr_report *rep, struct pvr_error *err)
{
    struct pvl_refusal refusals[16];
    const struct pvl_iface *first_refused = NULL;
    pvl_result r = PVL_OK;

    if (presize(c) != 0)
        return pvr__fail(err, PVL_E_ARG, ENOMEM, "out of memory for the changes");
    for (size_t i = 0; i < n && (r == PVL_OK || r == PVL_E_REFUSED); i++) {
        const struct pvl_iface *f = items[i].iface;
        struct request q = {f, items[i].provider, o, rep, err, NULL, refusals, i == 0};
        uint32_t before = rep->nrefused;
        if (!(q.impl = calloc(f->nops ? f->nops : 1, sizeof *q.impl)))
            return pvr__fail(err, PVL_E_ARG, ENOMEM, "out of memory");
        pvl_result ri = plan_all(&q, c);
        free(q.impl);
        if (ri == PVL_E_REFUSED && !before && rep->nrefused)
            first_refused = f;
        r = r == PVL_E_REFUSED && ri == PVL_OK ? r : ri;
    }
    return r == PVL_E_REFUSED ? refused(first_refused, rep, err) : r;
}

static pvl_result link_locked(const struct pvr_link_item *items, size_t n,
                              const struct pvr_link_opts *o, struct pvr_report *rep,
                              struct pvr_error *err)
{
    struct collect c = {.policy = o->policy, .policy_ctx = o->policy_ctx};
    pvl_result r = PVL_OK;

    if ((o->flags & PVR_LINK_STARTUP) && !(o->flags & PVR_LINK_DRY_RUN))
        r = check_alone(err);
    if (r == PVL_OK)
        r = plan_items(items, n, o, &c, rep, err);
    rep->nchanged = (uint32_t)c.n;
    if (r == PVL_OK && !(o->flags & PVR_LINK_DRY_RUN)) {
        r = c.n ? write_changes(o, &c, rep, err) : PVL_OK;
        if (!c.n)
            rep->state = PVR_STATE_NEW;
        for (size_t i = 0; r == PVL_OK && i < n; i++)
            remember(items[i].iface, items[i].provider);
    }
    free(c.v);
    free(c.bytes);
    return r;
}

pvl_result pvr_link_set(const struct pvr_link_item *items, size_t n,
                        const struct pvr_link_opts *opts, struct pvr_report *rep,
                        struct pvr_error *err)
{
    struct pvr_report scratch_rep = {0};
    struct pvr_link_opts o = {0};
    pvl_result r;

    if (err)
        *err = (struct pvr_error){.code = PVL_OK};
    rep = rep ? rep : &scratch_rep;
    *rep = (struct pvr_report){.refused = rep->refused, .refused_cap = rep->refused_cap,
                               .state = PVR_STATE_OLD};
    if ((r = check_items(items, n, err)) != PVL_OK)
        return r;
    if (opts)
        o = *opts;
    if ((r = pvr__enter(err)) != PVL_OK)
        return r;
    r = link_locked(items, n, &o, rep, err);
    pvr__leave();
    return r;
}

pvl_result pvr_link(const struct pvl_iface *iface, const struct pvr_provider *p,
                    const struct pvr_link_opts *opts, struct pvr_report *rep,
                    struct pvr_error *err)
{
    struct pvr_link_item it = {iface, p};
    return pvr_link_set(&it, 1, opts, rep, err);
}

pvl_result pvr_unlink(const struct pvl_iface *iface, const struct pvr_link_opts *opts,
                      struct pvr_report *rep, struct pvr_error *err)
{
    return pvr_link(iface, NULL, opts, rep, err);
}
