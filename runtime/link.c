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

    if (!iface || !iface->name)
        return NULL;
    pthread_mutex_lock(&pvr__lock);
    if ((i = linked_slot(iface->name, 0)) >= 0)
        p = linked[i].p;
    pthread_mutex_unlock(&pvr__lock);
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
    int failed;
    /* the policy, for the wrapper */
    pvr_policy_fn policy;
    void *policy_ctx;
};

/*
 * A call followed by NOP padding becomes the NOPs followed by the call, so
 * that a thread inside the callee returns to the site's end.  Same target;
 * kept as it is if the displacement from the end does not fit.
 */
static void call_to_end(uint8_t *b, unsigned room, uintptr_t at)
{
    uint8_t nops[PVL_ROOM_MAX];
    int32_t rel;
    int64_t d;

    if (room <= PVL_CALL_LEN || b[0] != 0xe8)
        return;
    pvl_emit_nops(nops, room - PVL_CALL_LEN);
    if (memcmp(b + PVL_CALL_LEN, nops, room - PVL_CALL_LEN) != 0)
        return;
    memcpy(&rel, b + 1, 4);
    d = (int64_t)(at + PVL_CALL_LEN) + rel - (int64_t)(at + room);
    if (d != (int32_t)d)
        return;
    rel = (int32_t)d;
    memcpy(b, nops, room - PVL_CALL_LEN);
    b[room - PVL_CALL_LEN] = 0xe8;
    memcpy(b + room - PVL_CALL_LEN + 1, &rel, 4);
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
    struct pvr_site s = {c->obj->path, *si};
    return c->policy(c->policy_ctx, &s, proposed);
}

/* ------------------------------------------------------------------------
 * One object.
 */

static int in_reach(const struct pvr_obj *o, uint64_t target)
{
    int64_t a = (int64_t)target - (int64_t)o->lo, b = (int64_t)target - (int64_t)o->hi;
    return a > INT32_MIN + 64 && a < INT32_MAX - 64 && b > INT32_MIN + 64 &&
           b < INT32_MAX - 64;
}

/* The provider's offer as seen from (o): far calls through veneers. */
static pvl_result object_env(struct pvr_obj *o, const struct pvl_iface *iface,
                             const struct pvr_provider *p, struct pvl_impl *impl,
                             struct pvl_env *env, uint32_t *nveneers, struct pvr_error *err)
{
    for (uint16_t op = 0; op < iface->nops; op++) {
        impl[op] = p->impl[op];
        if (!impl[op].call || in_reach(o, impl[op].call))
            continue;
        if (!(impl[op].call = pvr__veneer(o, p->impl[op].call)))
            return pvr__fail(err, PVL_E_CALL_RANGE, errno, "object \"%s\": no memory "
                             "within reach for a veneer to op \"%s\"", o->path,
                             iface->ops[op].name);
        (*nveneers)++;
    }
    *env = (struct pvl_env){iface->name, p->major, p->minor, iface->nops, impl, 0};
    return PVL_OK;
}

static void add_report(struct pvr_report *rep, const struct pvl_report *r,
                       const struct pvr_obj *o)
{
    for (int a = 0; a < PVL_NACTIONS; a++)
        rep->count[a] += r->count[a];
    rep->nsites += r->nsites;
    rep->nother += r->nother;
    for (uint32_t i = 0; i < r->nrefused && i < r->refused_cap; i++)
        if (rep->refused && rep->nrefused + i < rep->refused_cap)
            rep->refused[rep->nrefused + i] = (struct pvr_refusal){o->path, r->refused[i]};
    rep->nrefused += r->nrefused;
    rep->nobjects++;
}

struct request {
    const struct pvl_iface *iface;
    const struct pvr_provider *p;
    struct pvr_link_opts o;
    struct pvr_report *rep;
    struct pvr_error *err;
    struct pvl_impl *impl; /* iface->nops entries */
    struct pvl_refusal *refused;
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
    c->obj = o;
    struct pvl_range exec[PVR_MAX_SEGS]; /* rooms only in executable segments */
    for (int k = 0; k < o->nseg; k++)
        exec[k] = (struct pvl_range){o->seg[k].lo, o->seg[k].hi};
    struct pvl_link l = {
        .sites = o->sites, .nsites = o->nsites, .lo = o->lo, .hi = o->hi,
        .exec = exec, .nexec = (size_t)o->nseg,
        .iface = q->iface, .env = q->p ? &env : NULL,
        .flags = (q->o.flags & PVR_LINK_NO_CALLS) ? PVL_LINK_NO_CALLS : 0,
        .policy = q->o.policy ? policy_wrap : NULL, .policy_ctx = c,
        .write = collect_write, .write_ctx = c, .scratch = scratch,
        .report = &r, .diag = &d};
    res = pvl_link(&l);
    free(scratch);
    add_report(q->rep, &r, o);
    if (c->failed)
        return pvr__fail(q->err, PVL_E_WRITE, ENOMEM, "out of memory for the changes");
    if (res != PVL_OK && res != PVL_E_REFUSED)
        return table_error(o, &d, q->err);
    return res;
}

/* Describe the first refusal: object, site, op, address, reason. */
static pvl_result refused(struct request *q)
{
    const struct pvr_refusal *f = q->rep->refused;

    if (!f || !q->rep->refused_cap)
        return pvr__fail(q->err, PVL_E_REFUSED, 0, "link refused: %u sites cannot be linked",
                         q->rep->nrefused);
    return pvr__fail(q->err, PVL_E_REFUSED, 0, "link refused: %u sites cannot be linked; "
                     "first: object \"%s\" site %u (op \"%s\" at %#llx): %s",
                     q->rep->nrefused, f->object, f->r.index,
                     f->r.op < q->iface->nops ? q->iface->ops[f->r.op].name : "?",
                     (unsigned long long)f->r.addr, pvl_strerror(f->r.why));
}

static pvl_result plan_all(struct request *q, struct collect *c)
{
    pvl_result first = PVL_OK, r;

    for (struct pvr_obj *o = pvr__objs; o; o = o->next) {
        r = plan_object(q, o, c);
        if (r == PVL_E_REFUSED)
            first = first == PVL_OK ? r : first;
        else if (r != PVL_OK)
            return r;
    }
    return first == PVL_E_REFUSED ? refused(q) : PVL_OK;
}

static int want_live(const struct pvr_link_opts *o)
{
    if (o->flags & PVR_LINK_STOPPED)
        return 0;
    return (o->flags & PVR_LINK_LIVE) || pvr__nthreads() != 1;
}

static pvl_result write_changes(struct request *q, struct collect *c)
{
    struct pvr_apply a = {.v = c->v, .n = c->n, .bytes = c->bytes, .live = want_live(&q->o),
                          .procmem = !!(q->o.flags & PVR_LINK_PROCMEM),
                          .batch = q->o.batch ? q->o.batch : 65536,
                          .timeout_ms = q->o.timeout_ms ? q->o.timeout_ms : 10000};
    pvl_result r = pvr__apply(&a, q->err);

    q->rep->live = (uint8_t)a.live, q->rep->state = (uint8_t)a.state;
    q->rep->nnew = a.nnew, q->rep->nbatches = a.nbatches;
    q->rep->nrounds = a.nrounds, q->rep->nmoved = a.nmoved;
    q->rep->prot_left = (uint8_t)a.prot_left;
    return r;
}

static pvl_result check_request(const struct pvl_iface *iface, const struct pvr_provider *p,
                                struct pvr_error *err)
{
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

static void remember(const struct pvl_iface *iface, const struct pvr_provider *p)
{
    int i = linked_slot(iface->name, 1);
    if (i >= 0)
        linked[i].p = p;
}

pvl_result pvr_link(const struct pvl_iface *iface, const struct pvr_provider *p,
                    const struct pvr_link_opts *opts, struct pvr_report *rep,
                    struct pvr_error *err)
{
    struct pvr_report scratch_rep = {0};
    struct pvl_refusal refusals[16];
    struct collect c = {0};
    struct request q = {iface, p, {0}, rep ? rep : &scratch_rep, err, NULL, refusals};
    pvl_result r;

    if (err)
        *err = (struct pvr_error){.code = PVL_OK};
    *q.rep = (struct pvr_report){.refused = q.rep->refused, .refused_cap = q.rep->refused_cap,
                                 .state = PVR_STATE_OLD};
    if ((r = check_request(iface, p, err)) != PVL_OK)
        return r;
    if (opts)
        q.o = *opts;
    c.policy = q.o.policy, c.policy_ctx = q.o.policy_ctx;
    if (!(q.impl = calloc(iface->nops ? iface->nops : 1, sizeof *q.impl)))
        return pvr__fail(err, PVL_E_ARG, ENOMEM, "out of memory");
    pthread_mutex_lock(&pvr__lock);
    r = presize(&c) == 0 ? plan_all(&q, &c)
                         : pvr__fail(err, PVL_E_ARG, ENOMEM, "out of memory for the changes");
    q.rep->nchanged = (uint32_t)c.n;
    if (r == PVL_OK && !(q.o.flags & PVR_LINK_DRY_RUN)) {
        r = c.n ? write_changes(&q, &c) : PVL_OK;
        if (!c.n)
            q.rep->state = PVR_STATE_NEW;
        if (r == PVL_OK)
            remember(iface, p);
    }
    pthread_mutex_unlock(&pvr__lock);
    free(c.v);
    free(c.bytes);
    free(q.impl);
    return r;
}

pvl_result pvr_unlink(const struct pvl_iface *iface, const struct pvr_link_opts *opts,
                      struct pvr_report *rep, struct pvr_error *err)
{
    return pvr_link(iface, NULL, opts, rep, err);
}
