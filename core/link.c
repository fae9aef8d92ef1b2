/*
 * The inline linker: validate a site table, plan every site against an
 * environment, and write only when every site planned cleanly.
 *
 * Nomenclature:
 *   local  - where a byte is in this address space (we read and write it)
 *   addr   - where it is when the code runs: local + bias
 *   room   - the bytes a site owns; every action rewrites all of them
 */
#include "internal.h"

/* Sentinel result: the site belongs to another interface; not an error. */
#define OTHER_IFACE PVL_E_ENV

static uintptr_t rel_local(const int32_t *field)
{
    return (uintptr_t)field + (uintptr_t)(intptr_t)*field;
}

static int in_object(const struct pvl_link *l, uintptr_t p, size_t n)
{
    return p >= l->lo && pvl__within(p - l->lo, n, l->hi - l->lo);
}

static uintptr_t site_local(const struct pvl_site *s)
{
    return rel_local(&s->addr);
}

/* Is the room [p, p + n) inside one of the executable ranges? */
static int in_exec(const struct pvl_link *l, uintptr_t p, size_t n)
{
    for (size_t k = 0; k < l->nexec; k++)
        if (p >= l->exec[k].lo && l->exec[k].hi > l->exec[k].lo &&
            pvl__within(p - l->exec[k].lo, n, l->exec[k].hi - l->exec[k].lo))
            return 1;
    return 0;
}

/* The descriptor a site points at must lie in the object, 4-aligned. */
static const struct pvl_iface_desc *site_desc(const struct pvl_link *l,
                                              const struct pvl_site *s)
{
    uintptr_t dp = rel_local(&s->iface);

    if (dp % 4 || !in_object(l, dp, sizeof(struct pvl_iface_desc)))
        return 0;
    return (const struct pvl_iface_desc *)dp;
}

/* A format-1 descriptor began with its NUL-terminated, printable name. */
static int looks_format1(const struct pvl_iface_desc *desc)
{
    const char *p = (const char *)desc;
    size_t i = 0;

    for (; i < PVL_IFACE_NAME_MAX && p[i] >= 0x20 && p[i] < 0x7f; i++)
        ;
    return i > 0 && i < PVL_IFACE_NAME_MAX && p[i] == '\0';
}

/* The descriptor's magic, format and name. */
static pvl_result check_desc(const struct pvl_iface_desc *desc, uint32_t i,
                             struct pvl_diag *d)
{
    if (desc->magic != PVL_DESC_MAGIC) {
        if (looks_format1(desc))
            return pvl__fail2(d, PVL_E_SITE_FORMAT, "site.iface", i, 1, PVL_FORMAT_MAJOR,
                              PVL_DIAG_EXPECTED);
        return pvl__fail(d, PVL_E_SITE_IFACE, "site.iface", i, desc->magic);
    }
    if (desc->format_major != PVL_FORMAT_MAJOR)
        return pvl__fail2(d, PVL_E_SITE_FORMAT, "site.iface", i, desc->format_major,
                          PVL_FORMAT_MAJOR, PVL_DIAG_EXPECTED);
    if (desc->name[PVL_IFACE_NAME_MAX - 1] != '\0')
        return pvl__fail(d, PVL_E_SITE_IFACE, "site.iface", i, 0);
    return PVL_OK;
}

/*
 * Descriptors already judged during one link: a table points at one or
 * two descriptors thousands of times, and comparing names each time is
 * most of the cost of reading a record.
 */
struct desc_cache {
    const struct pvl_iface_desc *mine, *other;
};

/* Is (desc) one of (l->iface)'s?  1 yes, 0 another interface's. */
static int desc_is_mine(const struct pvl_link *l, struct desc_cache *c,
                        const struct pvl_iface_desc *desc)
{
    if (c && desc == c->mine)
        return 1;
    if (c && desc == c->other)
        return 0;
    int mine = pvl__name_is(desc->name, PVL_IFACE_NAME_MAX, l->iface->name);
    if (c)
        *(mine ? &c->mine : &c->other) = desc;
    return mine;
}

/* Where the record and what it points at are; then the descriptor. */
static pvl_result check_place(const struct pvl_link *l, const struct pvl_site *s, uint32_t i,
                              uintptr_t local, struct pvl_diag *d,
                              const struct pvl_iface_desc **desc)
{
    pvl_result r;

    if (s->room == 0 || s->room > PVL_ROOM_MAX)
        return pvl__fail2(d, PVL_E_SITE_ROOM, "site.room", i, s->room, PVL_ROOM_MAX,
                          PVL_DIAG_LIMIT);
    if (!in_object(l, local, s->room))
        return pvl__fail(d, PVL_E_SITE_BOUNDS, "site.addr", i, local + (uintptr_t)l->bias);
    if (!in_object(l, rel_local(&s->orig), s->room))
        return pvl__fail(d, PVL_E_SITE_BOUNDS, "site.orig", i,
                         rel_local(&s->orig) + (uintptr_t)l->bias);
    if (!in_exec(l, local, s->room))
        return pvl__fail(d, PVL_E_SITE_EXEC, "site.addr", i, local + (uintptr_t)l->bias);
    if (!(*desc = site_desc(l, s)))
        return pvl__fail(d, PVL_E_SITE_IFACE, "site.iface", i,
                         rel_local(&s->iface) + (uintptr_t)l->bias);
    if ((r = check_desc(*desc, i, d)) != PVL_OK)
        return r;
    return PVL_OK;
}

/* Flags, reserved space and mask, by the minor-version rule. */
static pvl_result check_fields(const struct pvl_site *s, const struct pvl_iface_desc *desc,
                               uint32_t i, struct pvl_site_info *si, struct pvl_diag *d)
{
    int newer = desc->format_minor > PVL_FORMAT_MINOR;

    if (!newer && (s->flags & ~PVL_SITE_FLAGS_VALID))
        return pvl__fail(d, PVL_E_SITE_FLAGS, "site.flags", i, s->flags);
    if (!newer && s->reserved)
        return pvl__fail(d, PVL_E_SITE_RESERVED, "site.reserved", i, s->reserved);
    if ((s->clobbers & PVL_CLB(RSP)) || (!newer && (s->clobbers & ~PVL_CLB_VALID)))
        return pvl__fail(d, PVL_E_SITE_CLOBBERS, "site.clobbers", i, s->clobbers);
    si->flags = (uint8_t)(s->flags & (newer ? PVL_SITE_FLAGS_VALID : 0xff));
    si->clobbers = s->clobbers & PVL_CLB_VALID;
    return PVL_OK;
}

/*
 * Validate record (i) and describe it in (si).  Everything that does not
 * depend on the interface is checked first, so that OTHER_IFACE means a
 * sound record of another interface.
 */
static pvl_result read_site(const struct pvl_link *l, size_t i, struct desc_cache *c,
                            struct pvl_site_info *si, struct pvl_diag *d)
{
    const struct pvl_site *s = &l->sites[i];
    const struct pvl_iface_desc *desc;
    uintptr_t local = site_local(s);
    uint32_t ix = (uint32_t)i;
    pvl_result r;

    si->index = ix, si->op = s->op, si->room = s->room;
    si->flags = s->flags, si->clobbers = s->clobbers;
    si->local = (uint8_t *)local;
    si->addr = (uint64_t)local + (uint64_t)l->bias;
    if ((r = check_place(l, s, ix, local, d, &desc)) != PVL_OK ||
        (r = check_fields(s, desc, ix, si, d)) != PVL_OK)
        return r;
    if ((si->flags & PVL_SITE_NATIVE_CALL) &&
        (s->room < PVL_CALL_LEN || !in_object(l, rel_local(&s->target), 1)))
        return pvl__fail(d, PVL_E_SITE_TARGET, "site.target", ix,
                         rel_local(&s->target) + (uintptr_t)l->bias);
    if (!desc_is_mine(l, c, desc))
        return OTHER_IFACE;
    if (desc->major != l->iface->major)
        return pvl__fail2(d, PVL_E_SITE_VERSION, "site.iface", ix, desc->major,
                          l->iface->major, PVL_DIAG_EXPECTED);
    if (s->op >= l->iface->nops)
        return pvl__fail(d, PVL_E_SITE_OP, "site.op", ix, s->op);
    return PVL_OK;
}

pvl_result pvl_site_check(const struct pvl_link *l, size_t i, struct pvl_site_info *si,
                          struct pvl_diag *diag)
{
    if (!l || !l->iface || i >= l->nsites || !si)
        return pvl__fail(diag, PVL_E_ARG, "request", PVL_NOINDEX, 0);
    return read_site(l, i, NULL, si, diag);
}

static const struct pvl_impl native_impl = {.action = PVL_ACT_NATIVE};

static const struct pvl_impl *impl_for(const struct pvl_link *l, uint16_t op)
{
    if (!l->env || op >= l->env->nimpl)
        return &native_impl;
    return &l->env->impl[op];
}

/* The action for a valid site: the environment's, then the policy's. */
static pvl_result choose(const struct pvl_link *l, const struct pvl_site_info *si,
                         int *action)
{
    int a = impl_for(l, si->op)->action;

    if (!l->env) {
        *action = PVL_ACT_NATIVE; /* unlinking restores every site */
        return PVL_OK;
    }
    if (l->policy)
        a = l->policy(l->policy_ctx, si, a);
    *action = a;
    if (a < 0 || a >= PVL_NACTIONS)
        return PVL_E_POLICY;
    if (a == PVL_ACT_NATIVE && (si->flags & PVL_SITE_MUST_PATCH))
        return PVL_E_MUST_PATCH;
    if ((impl_for(l, si->op)->flags & PVL_ENT_REQUIRED) && a != impl_for(l, si->op)->action)
        return PVL_E_REQUIRED;
    return PVL_OK;
}

static pvl_result emit_native(const struct pvl_link *l,
                              const struct pvl_site_info *si, uint8_t *out)
{
    const struct pvl_site *s = &l->sites[si->index];

    pvl__copy(out, (const void *)rel_local(&s->orig), si->room);
    if (!(si->flags & PVL_SITE_NATIVE_CALL))
        return PVL_OK;
    return pvl_emit_call(out, si->addr, (uint64_t)rel_local(&s->target) + (uint64_t)l->bias);
}

/* What the replacement may change must be what the site allows. */
static pvl_result allowed(uint64_t changes, const struct pvl_site_info *si, uint8_t *state)
{
    if (!(changes & ~si->clobbers))
        return PVL_OK;
    if (state)
        *state = pvl__first_bit(changes & ~si->clobbers);
    return PVL_E_CLOBBER;
}

static pvl_result emit_inline(const struct pvl_impl *m,
                              const struct pvl_site_info *si, uint8_t *out, uint8_t *state)
{
    pvl_result r;

    if (!m->tmpl_len)
        return PVL_E_NO_TEMPLATE;
    if (m->tmpl_len > si->room)
        return PVL_E_ROOM;
    if ((r = allowed(m->tmpl_clobbers, si, state)) != PVL_OK)
        return r;
    pvl__copy(out, m->tmpl, m->tmpl_len);
    pvl_emit_nops(out + m->tmpl_len, si->room - m->tmpl_len);
    return PVL_OK;
}

static pvl_result emit_call(const struct pvl_link *l, const struct pvl_impl *m,
                            const struct pvl_site_info *si, uint8_t *out, uint8_t *state)
{
    pvl_result r;
    size_t pad;

    if (!m->call)
        return PVL_E_NO_CALL;
    if (l->flags & PVL_LINK_NO_CALLS)
        return PVL_E_HARDENING;
    if (si->room < PVL_CALL_LEN)
        return PVL_E_CALL_ROOM;
    if ((r = allowed(m->call_clobbers | PVL_CLB(STACK), si, state)) != PVL_OK)
        return r;
    /* NOPs first, the call last: whoever is inside the callee returns to
     * the end of the room, an instruction boundary under every action, so
     * that the site can be re-linked while calls through it are under way
     * (the NOPs after a call would otherwise be a return address in the
     * middle of the next contents). */
    pad = si->room - PVL_CALL_LEN;
    if ((r = pvl_emit_call(out + pad, si->addr + pad, m->call)) != PVL_OK)
        return r;
    pvl_emit_nops(out, pad);
    return PVL_OK;
}

static pvl_result emit_nop(const struct pvl_link *l,
                           const struct pvl_site_info *si, uint8_t *out)
{
    if (l->iface->ops[si->op].props & PVL_OP_RESULT)
        return PVL_E_NOP_RESULT;
    pvl_emit_nops(out, si->room);
    return PVL_OK;
}

static pvl_result emit(const struct pvl_link *l, const struct pvl_site_info *si,
                       int action, uint8_t *out, uint8_t *state)
{
    const struct pvl_impl *m = impl_for(l, si->op);

    switch (action) {
    case PVL_ACT_NATIVE:
        return emit_native(l, si, out);
    case PVL_ACT_INLINE:
        return emit_inline(m, si, out, state);
    case PVL_ACT_CALL:
        return emit_call(l, m, si, out, state);
    default:
        return emit_nop(l, si, out);
    }
}

static pvl_result plan(const struct pvl_link *l, size_t i, struct desc_cache *c,
                       struct pvl_site_info *si, int *action, uint8_t *out, uint8_t *state)
{
    pvl_result r;

    *action = PVL_ACT_NATIVE;
    if (state)
        *state = PVL_NOSTATE;
    if ((r = read_site(l, i, c, si, NULL)) != PVL_OK)
        return r;
    if ((r = choose(l, si, action)) != PVL_OK)
        return r;
    return emit(l, si, *action, out, state);
}

pvl_result pvl_plan_site(const struct pvl_link *l, size_t i,
                         struct pvl_site_info *si, int *action,
                         uint8_t out[PVL_ROOM_MAX], uint8_t *state)
{
    return plan(l, i, NULL, si, action, out, state);
}

/* ------------------------------------------------------------------------
 * Decisions.  With (scratch), pass 1 keeps each site's decision there, one
 * 32-bit word per site: its index, its action, and whether it belongs to
 * another interface.  Pass 2 writes from those words, so the policy is
 * asked once per site and what is written is exactly what was checked.
 * The words are also what overlap checking sorts, when it must.
 */
#define DEC_INDEX 0x0fffffffu
#define DEC_ACTION_SHIFT 28
#define DEC_OTHER 0x80000000u
#define DEC_MAX_SITES DEC_INDEX

static uint32_t dec_make(size_t i, int action, int other)
{
    return (uint32_t)i | (uint32_t)action << DEC_ACTION_SHIFT | (other ? DEC_OTHER : 0);
}

static size_t dec_index(uint32_t w) { return w & DEC_INDEX; }
static int dec_action(uint32_t w) { return (int)((w >> DEC_ACTION_SHIFT) & 7); }

/* ------------------------------------------------------------------------
 * Overlap and alias checking, once every record is known to be sound.
 * Tables are normally in address order (the assembler emits records in the
 * order of the code), so the rooms can be walked in order as they are;
 * otherwise sort the decision words in (scratch) by address, or compare
 * all pairs.
 */

static int overlaps(const struct pvl_site *a, const struct pvl_site *b)
{
    uintptr_t pa = site_local(a), pb = site_local(b);
    return pa < pb + b->room && pb < pa + a->room;
}

static int is_sorted(const struct pvl_link *l)
{
    for (size_t i = 1; i < l->nsites; i++)
        if (site_local(&l->sites[i]) < site_local(&l->sites[i - 1]))
            return 0;
    return 1;
}

static uintptr_t key(const struct pvl_site *s, uint32_t w)
{
    return site_local(&s[dec_index(w)]);
}

static void sift(const struct pvl_site *s, uint32_t *ix, size_t n, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < n && key(s, ix[c]) > key(s, ix[m]))
            m = c;
        if (c + 1 < n && key(s, ix[c + 1]) > key(s, ix[m]))
            m = c + 1;
        if (m == i)
            return;
        uint32_t t = ix[i];
        ix[i] = ix[m], ix[m] = t;
        i = m;
    }
}

static void heap_sort(const struct pvl_site *s, uint32_t *ix, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(s, ix, n, i);
    for (size_t end = n; end-- > 1;) {
        uint32_t t = ix[0];
        ix[0] = ix[end], ix[end] = t;
        sift(s, ix, end, 0);
    }
}

/* In what order the rooms can be visited by address. */
enum order { BY_TABLE, BY_SCRATCH, UNORDERED };

static enum order site_order(const struct pvl_link *l)
{
    if (is_sorted(l))
        return BY_TABLE;
    if (!l->scratch)
        return UNORDERED;
    heap_sort(l->sites, l->scratch, l->nsites);
    return BY_SCRATCH;
}

/* The k-th site in address order (not UNORDERED). */
static const struct pvl_site *nth(const struct pvl_link *l, enum order o, size_t k)
{
    return o == BY_TABLE ? &l->sites[k] : &l->sites[dec_index(l->scratch[k])];
}

/* Returns 1 with (*bad) one of two overlapping sites, or 0. */
static int find_overlap(const struct pvl_link *l, enum order o, size_t *bad)
{
    const struct pvl_site *s = l->sites;
    size_t n = l->nsites;

    if (o == UNORDERED) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (overlaps(&s[i], &s[j]))
                    return *bad = j, 1;
        return 0;
    }
    for (size_t k = 1; k < n; k++)
        if (overlaps(nth(l, o, k - 1), nth(l, o, k)))
            return *bad = (size_t)(nth(l, o, k) - s), 1;
    return 0;
}

/*
 * Aliasing.  Pass 2 reads records, original copies and descriptors while it
 * writes rooms, so none of them may lie in a room: a room over another
 * site's record or copy would change, mid-link, what was checked.  Rooms
 * are disjoint, so in address order their ends are sorted too and the only
 * room that can meet [lo, hi) is the last one starting below hi.
 */
static int hits_room(const struct pvl_link *l, enum order o, uintptr_t lo, uintptr_t hi)
{
    size_t a = 0, b = l->nsites;

    if (o != UNORDERED) { /* outside the span of all rooms: settled at once */
        const struct pvl_site *last = nth(l, o, l->nsites - 1);
        if (hi <= site_local(nth(l, o, 0)) || lo >= site_local(last) + last->room)
            return 0;
    }
    if (o == UNORDERED) {
        for (size_t i = 0; i < l->nsites; i++) {
            uintptr_t p = site_local(&l->sites[i]);
            if (p < hi && lo < p + l->sites[i].room)
                return 1;
        }
        return 0;
    }
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (site_local(nth(l, o, m)) < hi)
            a = m + 1;
        else
            b = m;
    }
    if (a == 0)
        return 0;
    const struct pvl_site *s = nth(l, o, a - 1);
    return site_local(s) + s->room > lo;
}

/* The index of the first record that lies in a room, or nsites (the table
 * is asked about whole first: it is one range, and almost never in one). */
static size_t record_in_room(const struct pvl_link *l, enum order o)
{
    uintptr_t t = (uintptr_t)l->sites;

    if (!hits_room(l, o, t, t + l->nsites * sizeof(struct pvl_site)))
        return l->nsites;
    for (size_t i = 0; i < l->nsites; i++)
        if (hits_room(l, o, t + i * sizeof(struct pvl_site), t + (i + 1) * sizeof(struct pvl_site)))
            return i;
    return l->nsites;
}

/* Returns 1 with (*bad) a site whose record, copy or descriptor lies in a
 * room, or 0.  Descriptors repeat: each distinct one is checked once. */
static int find_alias(const struct pvl_link *l, enum order o, size_t *bad)
{
    uintptr_t last_desc = 0;

    if (!l->nsites)
        return 0;
    if ((*bad = record_in_room(l, o)) < l->nsites)
        return 1;
    for (size_t i = 0; i < l->nsites; i++) {
        const struct pvl_site *s = &l->sites[i];
        uintptr_t orig = rel_local(&s->orig), desc = rel_local(&s->iface);
        if (hits_room(l, o, orig, orig + s->room) ||
            (desc != last_desc && hits_room(l, o, desc, desc + sizeof(struct pvl_iface_desc))))
            return *bad = i, 1;
        last_desc = desc;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The link itself.
 */

static void refuse(struct pvl_report *rep, const struct pvl_site_info *si,
                   int action, pvl_result why, uint8_t state)
{
    if (rep->refused && rep->nrefused < rep->refused_cap)
        rep->refused[rep->nrefused] = (struct pvl_refusal){
            .addr = si->addr, .index = si->index, .op = si->op,
            .action = (uint8_t)action, .state = state, .why = why};
    rep->nrefused++;
}

static pvl_result check_request(const struct pvl_link *l)
{
    uintptr_t t = (uintptr_t)l->sites;

    if (!l->iface || l->lo >= l->hi || (l->nsites && !l->sites) ||
        (l->policy && !l->scratch) || l->nsites > DEC_MAX_SITES || (l->nexec && !l->exec))
        return pvl__fail(l->diag, PVL_E_ARG, "request", PVL_NOINDEX, 0);
    if (l->nsites > (l->hi - l->lo) / sizeof(struct pvl_site) || t % 8 ||
        (l->nsites && !in_object(l, t, l->nsites * sizeof(struct pvl_site))))
        return pvl__fail(l->diag, PVL_E_SITE_TABLE, "sites", PVL_NOINDEX, t);
    if (l->env && (!l->env->name || !pvl__name_is(l->env->name, 64, l->iface->name) ||
                   l->env->major != l->iface->major))
        return pvl__fail(l->diag, PVL_E_ENV, "environment", PVL_NOINDEX,
                         l->env->major);
    return PVL_OK;
}

/* Pass 1: plan every site, record refusals, keep decisions in scratch. */
static void plan_all(const struct pvl_link *l, struct pvl_report *rep)
{
    struct desc_cache c = {0, 0};
    uint8_t buf[PVL_ROOM_MAX];

    for (size_t i = 0; i < l->nsites; i++) {
        struct pvl_site_info si;
        int action;
        uint8_t state;
        pvl_result r = plan(l, i, &c, &si, &action, buf, &state);
        if (r == OTHER_IFACE)
            rep->nother++;
        else if (r != PVL_OK)
            refuse(rep, &si, action, r, state);
        else
            rep->count[action]++;
        if (l->scratch)
            l->scratch[i] = dec_make(i, action, r == OTHER_IFACE);
    }
}

static pvl_result default_write(void *ctx, const struct pvl_site_info *si,
                                const uint8_t *src, size_t n)
{
    (void)ctx;
    pvl__copy(si->local, src, n);
    return pvl__same(si->local, src, n) ? PVL_OK : PVL_E_VERIFY;
}

/* The bytes for site (i): the decision pass 1 kept (from scratch), or
 * planned again when there is no policy to ask twice.  OTHER_IFACE for a
 * site that is not ours. */
static pvl_result replan(const struct pvl_link *l, size_t k, struct desc_cache *c,
                         struct pvl_site_info *si, uint8_t *buf)
{
    pvl_result r;
    int action;

    if (!l->scratch)
        return plan(l, k, c, si, &action, buf, NULL);
    uint32_t w = l->scratch[k];
    if (w & DEC_OTHER)
        return OTHER_IFACE;
    if ((r = read_site(l, dec_index(w), c, si, NULL)) != PVL_OK)
        return r;
    return emit(l, si, dec_action(w), buf, NULL);
}

/* Pass 2: every site planned cleanly; write those that change. */
static pvl_result write_all(const struct pvl_link *l, struct pvl_report *rep)
{
    struct desc_cache c = {0, 0};
    uint8_t buf[PVL_ROOM_MAX];
    pvl_write_fn wr = l->write ? l->write : default_write;

    for (size_t k = 0; k < l->nsites; k++) {
        struct pvl_site_info si;
        pvl_result r = replan(l, k, &c, &si, buf);
        if (r == OTHER_IFACE)
            continue;
        if (r != PVL_OK) /* the table changed under us */
            return pvl__fail(l->diag, r, "site", si.index, si.addr);
        if (pvl__same(si.local, buf, si.room))
            continue;
        if ((r = wr(l->write_ctx, &si, buf, si.room)) != PVL_OK)
            return pvl__fail(l->diag, r, "site", si.index, si.addr);
        rep->nchanged++;
    }
    return PVL_OK;
}

/* Overlaps and aliases, every record being sound. */
static pvl_result table_check(const struct pvl_link *l, struct pvl_diag *d)
{
    enum order o = site_order(l);
    size_t bad;

    if (find_overlap(l, o, &bad))
        return pvl__fail(d, PVL_E_SITE_OVERLAP, "site", (uint32_t)bad,
                         (uint64_t)site_local(&l->sites[bad]) + (uint64_t)l->bias);
    if (find_alias(l, o, &bad))
        return pvl__fail(d, PVL_E_SITE_ALIAS, "site", (uint32_t)bad,
                         (uint64_t)site_local(&l->sites[bad]) + (uint64_t)l->bias);
    return PVL_OK;
}

pvl_result pvl_table_check(const struct pvl_link *l, struct pvl_diag *diag)
{
    pvl_result r;

    if (!l || (r = check_request(l)) != PVL_OK)
        return l ? r : PVL_E_ARG;
    if (l->scratch) /* the words overlap checking sorts, when it must */
        for (size_t i = 0; i < l->nsites; i++)
            l->scratch[i] = dec_make(i, PVL_ACT_NATIVE, 0);
    return table_check(l, diag);
}

pvl_result pvl_link(const struct pvl_link *l)
{
    struct pvl_report scratch_rep = {0};
    struct pvl_report *rep;
    pvl_result r;

    if (!l)
        return PVL_E_ARG;
    rep = l->report ? l->report : &scratch_rep;
    *rep = (struct pvl_report){.refused = rep->refused,
                               .refused_cap = rep->refused_cap,
                               .nsites = (uint32_t)l->nsites};
    if ((r = check_request(l)) != PVL_OK)
        return r;
    plan_all(l, rep);
    if (rep->nrefused)
        return pvl__fail(l->diag, PVL_E_REFUSED, "sites", PVL_NOINDEX, rep->nrefused);
    if ((r = table_check(l, l->diag)) != PVL_OK)
        return r;
    if (l->flags & PVL_LINK_DRY_RUN)
        return PVL_OK;
    return write_all(l, rep);
}
