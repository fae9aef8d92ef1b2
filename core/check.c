/*
 * What the code an implementation offers writes, derived from its bytes,
 * and checked against what it declares: templates (copied into sites),
 * call entries and probes (called from sites, or by the kernel), and the
 * whole implementation of one operation.  The declaration is never
 * believed: a replacement is accepted only if what it writes lies in what
 * it declares, and what it declares in what its operation's sites allow.
 */
#include "insn.h"
#include "internal.h"

#define BITS(n) (((n) + 7) / 8)
#define NOFF 0xffff /* no first writer */
#define BIT(r) PVL_BIT(r)

static int bit_get(const uint8_t *m, size_t k)
{
    return (m[k >> 3] >> (k & 7)) & 1;
}

static void bit_set(uint8_t *m, size_t k)
{
    m[k >> 3] |= (uint8_t)(1u << (k & 7));
}

/* An instruction-level diagnostic: its offset (shown from (org), the
 * entry), its bytes (or what is left of the code when it does not
 * decode), the state bit. */
static pvl_result insn_fail(struct pvl_diag *d, pvl_result code, const char *field,
                            const uint8_t *base, size_t org, size_t off, size_t avail,
                            const struct pvl_insn *in, uint8_t state, uint64_t value)
{
    size_t n = in && in->len ? in->len : avail < 15 ? avail : 15;

    pvl__fail(d, code, field, PVL_NOINDEX, value);
    if (d) {
        d->kind = PVL_DIAG_INSN, d->off = (uint32_t)((int64_t)off - (int64_t)org);
        d->state = state;
        d->name = in ? in->name : 0;
        d->insn_len = (uint8_t)n;
        pvl__copy(d->insn, base + off, n);
    }
    return code;
}

/* An instruction that did not decode: a VEX or EVEX one, named by its
 * bytes and what it is, or else what is left of the code. */
static pvl_result undecoded(struct pvl_diag *d, const char *field, const uint8_t *base,
                            size_t org, size_t off, size_t avail, const struct pvl_insn *in)
{
    static const pvl_result why[] = {
        [PVL_VEX_NONE] = PVL_E_TMPL_DECODE, [PVL_VEX_AVX] = PVL_E_INSN_VEX,
        [PVL_VEX_BMI] = PVL_E_INSN_BMI, [PVL_VEX_EVEX] = PVL_E_INSN_EVEX,
    };

    return insn_fail(d, why[in->vex], field, base, org, off, avail, in->vex ? in : 0,
                     PVL_NOSTATE, 0);
}

/* Record the bits of (w) first written at (off). */
static void note(uint64_t *acc, uint16_t *first, uint64_t w, size_t off)
{
    uint64_t fresh = w & ~*acc;

    *acc |= w;
    for (unsigned b = 0; fresh; b++, fresh >>= 1)
        if (fresh & 1)
            first[b] = (uint16_t)off;
}

/* The lowest bit of (effect) outside (declared), reported at its first
 * writer. */
static pvl_result undeclared(struct pvl_diag *d, const char *field, const uint8_t *code,
                             size_t org, size_t len, uint64_t effect, uint64_t declared,
                             const uint16_t *first)
{
    uint64_t bad = effect & ~declared;
    struct pvl_insn in;
    uint8_t b;

    if (!bad)
        return PVL_OK;
    b = pvl__first_bit(bad);
    pvl_insn_decode(code + first[b], len - first[b], &in);
    return insn_fail(d, PVL_E_EFFECT, field, code, org, first[b], len - first[b], &in, b,
                     bad);
}

/* The instruction forms no code may hold, and those a template may not. */
static pvl_result kind_check(const struct pvl_insn *in, int tmpl)
{
    if (in->kind == PVL_INSN_RET && (tmpl || in->flow != PVL_FLOW_RET || in->op != 0xc3))
        return PVL_E_TMPL_RET;
    if (in->kind == PVL_INSN_ESCAPE && tmpl)
        return PVL_E_TMPL_INDIRECT;
    if (tmpl && in->riprel)
        return PVL_E_TMPL_RIPREL;
    return PVL_OK;
}

/* ------------------------------------------------------------------------
 * Templates: straight copies into someone else's code.
 */

#define TFIELD "entry.template"

struct twalk {
    const uint8_t *t;
    size_t len;
    uint8_t starts[BITS(PVL_ROOM_MAX + 1)];
    size_t branch_at, stack_at; /* the first branch, stack operation (len: none) */
    int64_t depth;              /* bytes pushed so far */
    uint64_t writes;
    uint16_t first[PVL_NSTATE];
    struct pvl_diag *d;
};

/* A write through RSP: below the site's RSP it is STACK; at or above it,
 * it is the frame of the code around the site, which no template may
 * touch.  A stack address taken with lea may be written through.  A pop
 * to memory computes its address with RSP already incremented. */
static pvl_result tmpl_stack_mem(struct twalk *w, const struct pvl_insn *in,
                                 const struct pvl_effect *e, uint64_t *wr)
{
    int64_t at = w->depth + (in->stack > 0 ? in->stack : 0) + in->disp;

    if (!in->mem || in->base != PVL_RSP)
        return PVL_OK;
    if (in->map == 1 && in->op == 0x8d) {
        *wr |= BIT(PVL_STACK);
        return PVL_OK;
    }
    if (!e->wmem)
        return PVL_OK;
    if (in->index != PVL_NOREG || at + (int64_t)pvl_insn_store_size(in) > 0)
        return PVL_E_TMPL_STACK;
    *wr |= BIT(PVL_STACK);
    return PVL_OK;
}

static pvl_result tmpl_insn(struct twalk *w, size_t off, const struct pvl_insn *in)
{
    struct pvl_effect e;
    pvl_result r;
    uint64_t wr;

    if ((r = kind_check(in, 1)) != PVL_OK || (r = pvl_insn_effect(in, &e)) != PVL_OK)
        return r;
    if (e.setsp) /* the effects model says so: reading RSP is harmless */
        return PVL_E_TMPL_STACK;
    wr = e.writes & ~BIT(PVL_RSP);
    if ((r = tmpl_stack_mem(w, in, &e, &wr)) != PVL_OK)
        return r;
    bit_set(w->starts, off);
    if (in->kind == PVL_INSN_REL && w->branch_at == w->len)
        w->branch_at = off;
    if (in->stack && w->stack_at == w->len)
        w->stack_at = off;
    w->depth += in->stack;
    note(&w->writes, w->first, wr, off);
    return PVL_OK;
}

/* First walk: decode and check every instruction, mark starts. */
static pvl_result tmpl_marks(struct twalk *w)
{
    struct pvl_insn in;
    pvl_result r;

    for (size_t off = 0; off < w->len; off += in.len) {
        if (!pvl_insn_decode(w->t + off, w->len - off, &in))
            return undecoded(w->d, TFIELD, w->t, 0, off, w->len - off, &in);
        if ((r = tmpl_insn(w, off, &in)) != PVL_OK)
            return insn_fail(w->d, r, TFIELD, w->t, 0, off, w->len - off, &in, PVL_NOSTATE, 0);
    }
    return PVL_OK;
}

/* Second walk: every relative branch lands on a start or at the end, so
 * that no byte runs that was not checked as an instruction. */
static pvl_result tmpl_branches(struct twalk *w)
{
    struct pvl_insn in;

    for (size_t off = 0; off < w->len; off += in.len) {
        pvl_insn_decode(w->t + off, w->len - off, &in);
        if (in.kind != PVL_INSN_REL)
            continue;
        int64_t to = (int64_t)(off + in.len) + in.rel;
        if (to < 0 || (uint64_t)to > w->len ||
            ((uint64_t)to < w->len && !bit_get(w->starts, (size_t)to)))
            return insn_fail(w->d, PVL_E_TMPL_BRANCH, TFIELD, w->t, 0, off, w->len - off, &in,
                             PVL_NOSTATE, (uint64_t)to);
    }
    return PVL_OK;
}

/*
 * Copies of the stack pointer in a template.  A register may hold the
 * site's RSP plus a known offset (mov %rsp, lea off(%rsp), and copies of
 * those) or some other value computed from it.  A store through one is a
 * store to the stack: below the site's RSP it is STACK, at or above it the
 * frame of the code around the site, and through a value not known
 * exactly it is refused.  A register only gains a mark (an instruction
 * that overwrites it does not clear it), and the walk repeats until
 * nothing changes, so that no path through the template's branches is
 * missed.
 */
enum { A_NONE, A_OFF, A_ANY };

struct alias {
    uint8_t k[16];
    int64_t off[16];
    uint8_t escaped; /* a copy of RSP went to memory: loads may fetch it */
};

static int amark(struct alias *a, unsigned r, uint8_t k, int64_t off)
{
    if (r >= 16 || r == PVL_RSP || a->k[r] == A_ANY)
        return 0;
    if (k == A_OFF && a->k[r] == A_NONE) {
        a->k[r] = A_OFF, a->off[r] = off;
        return 1;
    }
    if (k == A_OFF && a->k[r] == A_OFF && a->off[r] == off)
        return 0;
    a->k[r] = A_ANY;
    return 1;
}

static int aderived(const struct alias *a, unsigned r)
{
    return r == PVL_RSP || (r < 16 && a->k[r] != A_NONE);
}

/* The value of (r) as "RSP + off": 1 if known. */
static int aoff(const struct alias *a, unsigned r, int64_t depth, int64_t *off)
{
    if (r == PVL_RSP)
        return *off = depth, 1;
    if (r < 16 && a->k[r] == A_OFF)
        return *off = a->off[r], 1;
    return 0;
}

/* ModRM.reg is an opcode extension, not a register. */
static int reg_is_ext(const struct pvl_insn *in)
{
    static const uint8_t one[] = {0x80, 0x81, 0x82, 0x83, 0x8f, 0xc0, 0xc1, 0xc6, 0xc7,
                                  0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff};
    static const uint8_t two[] = {0x00, 0x01, 0x0d, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
                                  0x1e, 0x1f, 0x71, 0x72, 0x73, 0xae, 0xba, 0xc7};
    const uint8_t *t = in->map == 1 ? one : two;
    size_t n = in->map == 1 ? sizeof one : sizeof two;

    if (in->map == 1 && in->op >= 0xd8 && in->op <= 0xdf) /* x87 */
        return 1;
    for (size_t i = 0; in->map <= 2 && i < n; i++)
        if (t[i] == in->op)
            return 1;
    return 0;
}

/* Does (in) read a register that holds a copy of RSP (as a value, not as
 * an address it loads from)? */
static int areads(const struct alias *a, const struct pvl_insn *in)
{
    unsigned opr = (in->op & 7u) + ((in->rex & 1) ? 8u : 0u);

    if (in->has_modrm && !reg_is_ext(in) && aderived(a, in->reg))
        return 1;
    if (in->has_modrm && !in->mem && aderived(a, in->rm))
        return 1;
    /* push r, xchg %rax, r: the register is in the opcode */
    if (in->map == 1 && ((in->op >= 0x50 && in->op <= 0x57) || (in->op >= 0x90 && in->op <= 0x97)))
        return aderived(a, opr) || (in->op >= 0x90 && aderived(a, PVL_RAX));
    return 0;
}

/* What (in) does to the marks; 1 if one changed. */
static int aflow(struct alias *a, const struct pvl_insn *in, const struct pvl_effect *e,
                 int64_t depth)
{
    int64_t off;
    int ch = 0;

    if (in->map == 1 && (in->op == 0x89 || in->op == 0x8b) && !in->mem && in->opsize == 8) {
        unsigned src = in->op == 0x89 ? in->reg : in->rm, dst = in->op == 0x89 ? in->rm : in->reg;
        if (aoff(a, src, depth, &off))
            return amark(a, dst, A_OFF, off);
        return aderived(a, src) ? amark(a, dst, A_ANY, 0) : 0;
    }
    if (in->map == 1 && in->op == 0x8d && in->mem && (aderived(a, in->base) ||
                                                     aderived(a, in->index))) {
        if (in->index == PVL_NOREG && aoff(a, in->base, depth, &off) && in->opsize == 8)
            return amark(a, in->reg, A_OFF, off + in->disp);
        return amark(a, in->reg, A_ANY, 0);
    }
    if ((in->stack < 0 || e->wmem || e->wimem) && areads(a, in) && !a->escaped)
        a->escaped = 1, ch = 1;
    if (!areads(a, in) && !(a->escaped && (in->stack > 0 || in->mem)))
        return ch;
    for (unsigned r = 0; r < 16; r++)
        if (e->writes & BIT(r))
            ch |= amark(a, r, A_ANY, 0);
    return ch;
}

/* A store through a copy of RSP: PVL_OK (with STACK in *wr when below
 * the site's RSP) or PVL_E_TMPL_STACK. */
static pvl_result astore(const struct alias *a, const struct pvl_insn *in,
                         const struct pvl_effect *e, uint64_t *wr)
{
    int64_t off;

    if (e->wimem && (aderived(a, PVL_RDI) || aderived(a, PVL_RSI) || aderived(a, PVL_RAX)))
        return PVL_E_TMPL_STACK; /* string stores, maskmov: through a copy */
    if (!e->wmem || !in->mem || in->base == PVL_RSP ||
        !(aderived(a, in->base) || aderived(a, in->index)))
        return PVL_OK;
    if (in->index != PVL_NOREG || !aoff(a, in->base, 0, &off) ||
        off + in->disp + (int64_t)pvl_insn_store_size(in) > 0)
        return PVL_E_TMPL_STACK;
    *wr |= BIT(PVL_STACK);
    return PVL_OK;
}

/* Third walk, for templates that take a copy of RSP: marks to a fixed
 * point, then every store through a copy. */
static pvl_result tmpl_aliases(struct twalk *w)
{
    struct alias a = {{0}, {0}, 0};
    struct pvl_insn in;
    struct pvl_effect e;
    int changed = 1;
    pvl_result r;

    for (int pass = 0; changed && pass < 64; pass++) {
        int64_t depth = 0;
        changed = 0;
        for (size_t off = 0; off < w->len; off += in.len) {
            pvl_insn_decode(w->t + off, w->len - off, &in);
            pvl_insn_effect(&in, &e);
            changed |= aflow(&a, &in, &e, depth);
            depth += in.stack;
        }
    }
    for (size_t off = 0; off < w->len; off += in.len) {
        uint64_t wr = 0;
        pvl_insn_decode(w->t + off, w->len - off, &in);
        pvl_insn_effect(&in, &e);
        if ((r = astore(&a, &in, &e, &wr)) != PVL_OK)
            return insn_fail(w->d, r, TFIELD, w->t, 0, off, w->len - off, &in, PVL_NOSTATE, 0);
        note(&w->writes, w->first, wr, off);
    }
    return PVL_OK;
}

pvl_result pvl_tmpl_check(const uint8_t *t, size_t len, uint64_t declared, uint64_t *writes,
                          struct pvl_diag *diag)
{
    struct twalk w = {.t = t, .len = len, .branch_at = len, .stack_at = len, .d = diag};
    pvl_result r;
    struct pvl_insn in;

    if (len > PVL_ROOM_MAX)
        return pvl__fail2(diag, PVL_E_ROM_TEMPLATE, "entry.tmpl_len", PVL_NOINDEX, len,
                          PVL_ROOM_MAX, PVL_DIAG_LIMIT);
    if ((r = tmpl_marks(&w)) != PVL_OK || (r = tmpl_branches(&w)) != PVL_OK ||
        (r = tmpl_aliases(&w)) != PVL_OK)
        return r;
    /* pushes and pops balance, in a template without branches (the sum in
     * program order is the run-time effect only without them) */
    if (w.depth != 0 || (w.branch_at < len && w.stack_at < len)) {
        pvl_insn_decode(t + w.stack_at, len - w.stack_at, &in);
        return insn_fail(diag, PVL_E_TMPL_STACK, TFIELD, t, 0, w.stack_at, len - w.stack_at,
                         &in, PVL_NOSTATE, 0);
    }
    if (writes)
        *writes = w.writes;
    return undeclared(diag, TFIELD, t, 0, len, w.writes, declared, w.first);
}

/* ------------------------------------------------------------------------
 * Code reached by a call: control flow, and which registers it leaves
 * as it found them.
 *
 * An abstract state per basic block: for each general register and the
 * flags, whether it holds the value it had at entry (of itself, or of
 * another register it was copied from), a stack address (entry RSP plus
 * an offset), or something else; RSP's offset from its entry value; and
 * what the 8-byte stack slots just below the entry RSP hold.  A walk to a
 * fixpoint over the blocks follows pushes and pops, moves between
 * registers and to and from the slots, and RSP arithmetic, so that a
 * register saved and restored counts as preserved.  A stack address that
 * escapes (into a call, into memory, through an instruction this walk does
 * not follow) makes every store and call suspect of changing the slots
 * (in ROM code; code in a process is trusted to respect its callees'
 * objects).  A store at or above the entry RSP (the return address, the
 * frame of the code around the site) through RSP or an address followed
 * exactly is refused, in ROM code and in a process alike.
 */

#define CFIELD "entry.call"
#define NVAL 17 /* the general registers and the flags */
#define NSLOT 16
#define MAXBLK 48
#define WIN (2 * PVL_CALL_MAX) /* open code: up to PVL_CALL_MAX either side */
#define V_UNK 0xff
#define V_SP 0xfe

struct ast {
    uint8_t val[NVAL];
    int16_t spo[NVAL];
    int16_t rsp;     /* RSP's offset from its entry value, when rsp_ok */
    int16_t rsp_hi;  /* otherwise, with rsp_bound, an upper bound of it */
    uint8_t rsp_ok, rsp_bound, escaped;
    uint8_t maybe_dead; /* only reached past a call to C code that may not return */
    uint8_t slot[NSLOT];
};

/*
 * Offsets are from (base): the code pvlink may read, [base, base + lim),
 * with the entry at (entry) (0 but for open code with code before it).
 * (whole): the readable code ends at lim (open code shorter than
 * PVL_CALL_MAX, or a ROM's exact extent), rather than pvlink's limit.
 */
struct cwalk {
    const struct pvl_callcode *c;
    const char *field;
    const uint8_t *base;
    size_t entry, lim;
    int open, whole; /* open: (c->open & PVL_CODE_OPEN) */
    uint8_t starts[BITS(WIN)];
    uint8_t inside[BITS(WIN)];
    uint8_t leaders[BITS(WIN)]; /* where blocks start */
    uint16_t blk_off[MAXBLK];
    uint8_t has_in[MAXBLK];
    uint8_t dirty[MAXBLK]; /* its in-state changed since it was walked */
    struct ast in[MAXBLK];
    size_t nblk;
    int changed;
    uint64_t writes;
    uint32_t preserved; /* bit r: r held its entry value at every exit */
    uint16_t first[PVL_NSTATE];
    struct pvl_diag *d;
};

static pvl_result cfail(struct cwalk *w, pvl_result r, size_t off, const struct pvl_insn *in,
                        uint64_t value)
{
    return insn_fail(w->d, r, w->field, w->base, w->entry, off, w->lim - off, in, PVL_NOSTATE,
                     value);
}

/* --- the abstract state --- */

static void st_entry(struct ast *s)
{
    for (unsigned r = 0; r < NVAL; r++)
        s->val[r] = (uint8_t)r, s->spo[r] = 0;
    s->rsp = 0, s->rsp_hi = 0, s->rsp_ok = 1, s->rsp_bound = 0, s->escaped = 0;
    s->maybe_dead = 0;
    for (unsigned k = 0; k < NSLOT; k++)
        s->slot[k] = V_UNK;
}

/* The slot holding [entry RSP + off, +8), or -1. */
static int slot_of(int64_t off)
{
    if (off >= 0 || off < -8 * NSLOT || off % 8)
        return -1;
    return (int)(-off / 8 - 1);
}

/* Forget the slots [off, off + size) touches (all, for an unknown off). */
static void slots_clobber(struct ast *s, int known, int64_t off, int64_t size)
{
    for (int k = 0; k < NSLOT; k++) {
        int64_t a = -8 * (int64_t)(k + 1);
        if (!known || (a < off + size && off < a + 8))
            s->slot[k] = V_UNK;
    }
}

static void escape(struct ast *s)
{
    s->escaped = 1;
}

/*
 * RSP exactly (rsp_ok), or only bounded above (after an alignment, and
 * $-16, %rsp: compiled code realigns its frame below the slots it
 * saved registers in, and gets RSP back from a frame pointer), or not
 * known at all.
 */
#define SP_NONE INT32_MAX

static int32_t sp_hi(const struct ast *s)
{
    return s->rsp_ok ? s->rsp : s->rsp_bound ? s->rsp_hi : SP_NONE;
}

static void sp_bounded(struct ast *s, int64_t hi)
{
    s->rsp_ok = 0;
    s->rsp_bound = hi <= PVL_CALL_MAX && hi >= -PVL_CALL_MAX;
    s->rsp_hi = (int16_t)(s->rsp_bound ? hi : 0);
}

/* Forget the slots that start below (end) (all for SP_NONE): memory below
 * a stack pointer bounded by end changed. */
static void slots_below(struct ast *s, int64_t end)
{
    for (int k = 0; k < NSLOT; k++)
        if (end == SP_NONE || -8 * (int64_t)(k + 1) < end)
            s->slot[k] = V_UNK;
}

/* Join (b) into (a); returns 1 if (a) changed. */
static int st_join(struct ast *a, const struct ast *b)
{
    int ch = 0;

    for (unsigned r = 0; r < NVAL; r++)
        if (a->val[r] != V_UNK &&
            (a->val[r] != b->val[r] || (a->val[r] == V_SP && a->spo[r] != b->spo[r])))
            a->val[r] = V_UNK, ch = 1;
    if (!(a->rsp_ok && b->rsp_ok && a->rsp == b->rsp)) {
        int32_t ha = sp_hi(a), hb = sp_hi(b), h = ha > hb ? ha : hb;
        int was_ok = a->rsp_ok, was_bound = a->rsp_bound, old = a->rsp_hi;
        sp_bounded(a, h == SP_NONE ? PVL_CALL_MAX + 1 : h);
        ch |= was_ok || was_bound != a->rsp_bound || old != a->rsp_hi;
    }
    if (b->escaped && !a->escaped)
        a->escaped = 1, ch = 1;
    if (a->maybe_dead && !b->maybe_dead)
        a->maybe_dead = 0, ch = 1;
    for (unsigned k = 0; k < NSLOT; k++)
        if (a->slot[k] != V_UNK && a->slot[k] != b->slot[k])
            a->slot[k] = V_UNK, ch = 1;
    return ch;
}

/* --- blocks --- */

static int blk_find(const struct cwalk *w, size_t off)
{
    for (size_t b = 0; b < w->nblk; b++)
        if (w->blk_off[b] == off)
            return (int)b;
    return -1;
}

/* Flow from state (s) into offset (to), a new block if need be. */
static pvl_result flow_to(struct cwalk *w, const struct ast *s, size_t to, size_t from,
                          const struct pvl_insn *in)
{
    int b = blk_find(w, to);

    if (b < 0) {
        if (w->nblk == MAXBLK)
            return cfail(w, PVL_E_CALL_COMPLEX, from, in, 0);
        b = (int)w->nblk++;
        w->blk_off[b] = (uint16_t)to, w->has_in[b] = 0;
        if (!bit_get(w->leaders, to)) /* it may split a block already walked */
            for (size_t k = 0; k < w->nblk; k++)
                w->dirty[k] = w->has_in[k];
        bit_set(w->leaders, to);
    }
    if (!w->has_in[b]) {
        w->in[b] = *s, w->has_in[b] = 1, w->dirty[b] = 1, w->changed = 1;
        return PVL_OK;
    }
    if (st_join(&w->in[b], s))
        w->dirty[b] = 1, w->changed = 1;
    return PVL_OK;
}

/* --- leaving: returns, tail jumps, calls --- */

/* An exit with state (s) to code that changes (decl) and returns to our
 * caller: RSP must be back, and what is not in (decl) keeps its value. */
static pvl_result exit_via(struct cwalk *w, const struct ast *s, uint64_t decl, size_t off,
                           const struct pvl_insn *in)
{
    uint32_t kept = 0;

    if (!s->rsp_ok || s->rsp != 0)
        return cfail(w, PVL_E_CALL_STACK, off, in, 0);
    for (unsigned r = 0; r < NVAL; r++)
        if (s->val[r] == r && !(decl >> r & 1))
            kept |= 1u << r;
    w->preserved &= kept;
    note(&w->writes, w->first, decl & ~BIT(PVL_RSP), off);
    return PVL_OK;
}

/* A call to code that changes (decl) and returns here. */
static void call_out(struct cwalk *w, struct ast *s, uint64_t decl, size_t off)
{
    int ptr = 0;

    for (unsigned r = 0; r < NVAL; r++)
        ptr |= s->val[r] == V_SP && r != PVL_RBP;
    if (ptr && !w->open)
        escape(s);
    for (unsigned r = 0; r < NVAL; r++)
        if (decl >> r & 1)
            s->val[r] = V_UNK;
    /* the callee's frame is below RSP; an escaped frame may change */
    if (s->escaped && !w->open)
        slots_clobber(s, 0, 0, 0);
    else
        slots_below(s, sp_hi(s));
    note(&w->writes, w->first, decl & ~BIT(PVL_RSP), off);
}

/* Where a relative transfer at (off) goes: 1 inside this code at (*to),
 * 2 to a call entry declaring (*decl), 3 to a C function outside (open
 * code: beyond the code it may read, or any call), or an error. */
static pvl_result target(struct cwalk *w, size_t off, const struct pvl_insn *in, int *where,
                         size_t *to, uint64_t *decl)
{
    int64_t t = (int64_t)(off + in->len) + in->rel;
    uint64_t shown = (uint64_t)(t - (int64_t)w->entry); /* from the entry */
    const struct pvl_callcode *c = w->c;

    if (t >= 0 && (uint64_t)t < w->lim && in->flow != PVL_FLOW_CALL) {
        if (!w->open && !bit_get(w->starts, (size_t)t))
            return cfail(w, PVL_E_TMPL_BRANCH, off, in, shown);
        if (w->open && bit_get(w->inside, (size_t)t))
            return cfail(w, PVL_E_TMPL_BRANCH, off, in, shown);
        *where = 1, *to = (size_t)t;
        return PVL_OK;
    }
    if (c->entry_at && c->entry_at(c->ctx, (int64_t)shown, decl)) {
        *where = 2;
        return PVL_OK;
    }
    if (w->open && (t < 0 || (uint64_t)t >= w->lim || in->flow == PVL_FLOW_CALL)) {
        *where = 3, *decl = PVL_CLB_C;
        return PVL_OK;
    }
    return cfail(w, PVL_E_TMPL_BRANCH, off, in, shown);
}

/* --- following values through moves, pushes, pops, RSP arithmetic --- */

/* The stack offset memory operand (in) addresses, if it is one. */
static int mem_stack_off(const struct ast *s, const struct pvl_insn *in, int64_t *off)
{
    if (!in->mem || in->index != PVL_NOREG)
        return 0;
    if (in->base == PVL_RSP && s->rsp_ok) {
        *off = s->rsp + (int64_t)in->disp;
        return 1;
    }
    if (in->base < NVAL && s->val[in->base] == V_SP) {
        *off = s->spo[in->base] + (int64_t)in->disp;
        return 1;
    }
    return 0;
}

/* A value moved to register (r): keep track of stack addresses (those
 * further than PVL_CALL_MAX from the entry RSP are not followed). */
static void set_val(struct ast *s, unsigned r, uint8_t v, int64_t spo)
{
    if (v == V_SP && (spo > PVL_CALL_MAX || spo < -PVL_CALL_MAX))
        v = V_UNK;
    if (r == PVL_RSP) {
        s->rsp_ok = v == V_SP, s->rsp_bound = 0, s->rsp = (int16_t)(v == V_SP ? spo : 0);
        return;
    }
    s->val[r] = v, s->spo[r] = (int16_t)(v == V_SP ? spo : 0);
}

static uint8_t reg_val(const struct ast *s, unsigned r, int16_t *spo)
{
    if (r == PVL_RSP) {
        *spo = s->rsp;
        return s->rsp_ok ? V_SP : V_UNK;
    }
    *spo = s->spo[r];
    return s->val[r];
}

static void push_val(struct ast *s, uint8_t v, int size)
{
    if (v == V_SP)
        escape(s), v = V_UNK;
    if (!s->rsp_ok) { /* somewhere below the bound */
        int32_t hi = sp_hi(s);
        slots_below(s, hi);
        if (hi != SP_NONE)
            sp_bounded(s, hi - size);
        return;
    }
    set_val(s, PVL_RSP, V_SP, s->rsp - size);
    if (!s->rsp_ok)
        return;
    int k = size == 8 ? slot_of(s->rsp) : -1;
    if (k >= 0)
        s->slot[k] = v;
    else
        slots_clobber(s, 1, s->rsp, size);
}

static uint8_t pop_val(struct ast *s, int size)
{
    uint8_t v = V_UNK;
    if (!s->rsp_ok) {
        if (s->rsp_bound)
            sp_bounded(s, s->rsp_hi + size);
        return v;
    }
    int k = size == 8 ? slot_of(s->rsp) : -1;
    if (k >= 0)
        v = s->slot[k];
    set_val(s, PVL_RSP, V_SP, s->rsp + size);
    return v;
}

/* push/pop forms with a register: 50+r, 58+r, ff /6, 8f /0, pushf, popf. */
static int stack_op(struct ast *s, const struct pvl_insn *in)
{
    int size = in->stack < 0 ? -in->stack : in->stack;
    unsigned opr = (in->op & 7u) + ((in->rex & 1) ? 8u : 0u);
    int16_t spo;

    if (in->map != 1 || !in->stack)
        return 0;
    if (in->stack < 0) {
        uint8_t v = V_UNK;
        if (in->op >= 0x50 && in->op <= 0x57)
            v = reg_val(s, opr, &spo);
        else if (in->op == 0xff && !in->mem)
            v = reg_val(s, in->rm, &spo);
        else if (in->op == 0x9c)
            v = s->val[PVL_FLAGS];
        push_val(s, size == 8 ? v : V_UNK, size);
        return 1;
    }
    uint8_t v = pop_val(s, size);
    if (size != 8)
        v = V_UNK;
    if (in->op >= 0x58 && in->op <= 0x5f)
        set_val(s, opr, opr == PVL_RSP ? V_UNK : v, 0);
    else if (in->op == 0x8f && !in->mem)
        set_val(s, in->rm, in->rm == PVL_RSP ? V_UNK : v, 0);
    else if (in->op == 0x9d)
        s->val[PVL_FLAGS] = v;
    return 1;
}

/* 64-bit register moves, stores and loads of stack slots, lea of stack
 * addresses, add/sub of immediates to stack addresses, and RSP
 * alignment.  Returns 1 when handled. */
static int move_op(struct ast *s, const struct pvl_insn *in, int64_t *bad_store)
{
    int64_t off;
    int16_t spo;
    uint8_t v;

    if (in->map != 1 || in->opsize != 8)
        return 0;
    if ((in->op == 0x89 || in->op == 0x8b) && !in->mem) { /* mov %r, %r */
        unsigned src = in->op == 0x89 ? in->reg : in->rm, dst = in->op == 0x89 ? in->rm : in->reg;
        v = reg_val(s, src, &spo);
        set_val(s, dst, v, spo);
        return 1;
    }
    if (in->op == 0x89 && mem_stack_off(s, in, &off)) { /* mov %r, slot */
        v = reg_val(s, in->reg, &spo);
        if (v == V_SP)
            escape(s), v = V_UNK;
        if (off + 8 > 0)
            *bad_store = 1;
        int k = slot_of(off);
        if (k >= 0)
            s->slot[k] = v;
        else
            slots_clobber(s, 1, off, 8);
        return 1;
    }
    if (in->op == 0x8b && mem_stack_off(s, in, &off)) { /* mov slot, %r */
        int k = slot_of(off);
        set_val(s, in->reg, k >= 0 ? s->slot[k] : V_UNK, 0);
        return 1;
    }
    if (in->op == 0x8d && mem_stack_off(s, in, &off)) { /* lea of a stack address */
        set_val(s, in->reg, V_SP, off);
        return 1;
    }
    if ((in->op == 0x81 || in->op == 0x83) && !in->mem && in->rm == PVL_RSP &&
        ((in->modrm >> 3) & 7) == 4 && in->imm < 0 && sp_hi(s) != SP_NONE) {
        sp_bounded(s, sp_hi(s)); /* and $-2^k, %rsp: down, by less than 2^k */
        s->val[PVL_FLAGS] = V_UNK;
        return 1;
    }
    if ((in->op == 0x81 || in->op == 0x83) && !in->mem && in->rm == PVL_RSP && !s->rsp_ok &&
        s->rsp_bound && (((in->modrm >> 3) & 7) == 0 || ((in->modrm >> 3) & 7) == 5)) {
        sp_bounded(s, s->rsp_hi + (((in->modrm >> 3) & 7) == 0 ? in->imm : -in->imm));
        s->val[PVL_FLAGS] = V_UNK;
        return 1;
    }
    if ((in->op == 0x81 || in->op == 0x83) && !in->mem) {
        unsigned ext = (in->modrm >> 3) & 7;
        v = reg_val(s, in->rm, &spo);
        if (v != V_SP || (ext != 0 && ext != 5 && ext != 4))
            return 0;
        s->val[PVL_FLAGS] = V_UNK;
        if (ext == 4) /* and: alignment */
            set_val(s, in->rm, V_UNK, 0);
        else
            set_val(s, in->rm, V_SP, spo + (ext == 0 ? in->imm : -in->imm));
        return 1;
    }
    return 0;
}

/* enter N, 0 and leave, as push %rbp; mov %rsp, %rbp; sub $N, %rsp and
 * mov %rbp, %rsp; pop %rbp. */
static int frame_op(struct ast *s, const struct pvl_insn *in)
{
    int16_t spo;

    if (in->map != 1 || (in->op != 0xc8 && in->op != 0xc9))
        return 0;
    if (in->op == 0xc9) {
        uint8_t v = reg_val(s, PVL_RBP, &spo);
        set_val(s, PVL_RSP, v, spo);
        s->val[PVL_RBP] = pop_val(s, 8);
        return 1;
    }
    push_val(s, s->val[PVL_RBP], 8);
    set_val(s, PVL_RBP, s->rsp_ok ? V_SP : V_UNK, s->rsp);
    if (((in->imm >> 16) & 0xff) != 0 || !s->rsp_ok)
        set_val(s, PVL_RSP, V_UNK, 0); /* nesting levels: not followed */
    else
        set_val(s, PVL_RSP, V_SP, s->rsp - (in->imm & 0xffff));
    return 1;
}

/* Registers the instruction names in its encoding (reg, rm, index, the
 * opcode's register), as general registers or not: an over-approximation
 * of what it may read. */
static uint32_t named_regs(const struct pvl_insn *in)
{
    uint32_t m = 0;

    if (in->has_modrm) {
        m |= 1u << in->reg;
        if (!in->mem)
            m |= 1u << in->rm;
        else if (in->index != PVL_NOREG)
            m |= 1u << in->index;
    }
    if ((in->map == 1 && ((in->op >= 0x50 && in->op < 0x60) || (in->op >= 0x90 && in->op < 0x98) ||
                          in->op >= 0xb0) && in->op < 0xc0) ||
        (in->map == 2 && in->op >= 0xc8 && in->op <= 0xcf))
        m |= 1u << ((in->op & 7u) + ((in->rex & 1) ? 8u : 0u));
    if (in->map == 1 && ((in->op >= 0xa4 && in->op <= 0xaf) || in->op == 0x6c || in->op == 0x6d))
        m |= 1u << PVL_RSI | 1u << PVL_RDI; /* string instructions */
    return m;
}

/* Everything else: what it writes becomes unknown; a stack address it
 * names escapes; a store through a stack address forgets the slots it
 * covers. */
static void generic_op(struct cwalk *w, struct ast *s, const struct pvl_insn *in,
                       const struct pvl_effect *e, int64_t *bad_store)
{
    uint32_t named = named_regs(in);
    int64_t off;

    for (unsigned r = 0; r < NVAL; r++)
        if ((named >> r & 1) && r != PVL_RBP && s->val[r] == V_SP && !w->open)
            escape(s);
    if (e->wmem && mem_stack_off(s, in, &off)) {
        *bad_store = off + (int64_t)pvl_insn_store_size(in) > 0;
        slots_clobber(s, 1, off, pvl_insn_store_size(in));
    } else if (e->wmem && in->base == PVL_RSP && in->index == PVL_NOREG && sp_hi(s) != SP_NONE) {
        int64_t end = sp_hi(s) + (int64_t)in->disp + pvl_insn_store_size(in);
        *bad_store = end > 0; /* below RSP's bound: below the slots it may not reach */
        slots_below(s, end);
    } else if ((e->wmem && in->mem) || e->wimem) {
        if (in->mem && (in->base == PVL_RSP || in->index == PVL_RSP))
            slots_clobber(s, 0, 0, 0);
        else if (s->escaped && !w->open)
            slots_clobber(s, 0, 0, 0);
    }
    for (unsigned r = 0; r < NVAL; r++)
        if (e->writes >> r & 1)
            set_val(s, r, V_UNK, 0);
}

/* One instruction's effect on (s); what it writes is noted. */
static pvl_result transfer(struct cwalk *w, struct ast *s, size_t off, const struct pvl_insn *in,
                           const struct pvl_effect *e)
{
    int64_t bad_store = 0;

    note(&w->writes, w->first, e->writes & ~BIT(PVL_RSP), off);
    if (in->flow == PVL_FLOW_CALL || in->flow == PVL_FLOW_ICALL || in->flow == PVL_FLOW_RET)
        return PVL_OK; /* the callee and the return are the walk's */
    if (!stack_op(s, in) && !frame_op(s, in) && !move_op(s, in, &bad_store))
        generic_op(w, s, in, e, &bad_store);
    if (bad_store) /* the return address and the frame of the code around the site */
        return cfail(w, PVL_E_CALL_STACK, off, in, 0);
    return PVL_OK;
}

/* --- walking --- */

/* Decode and check the instruction at (off). */
static pvl_result step(struct cwalk *w, size_t off, struct pvl_insn *in, struct pvl_effect *e)
{
    pvl_result r;

    if (!pvl_insn_decode(w->base + off, w->lim - off, in))
        return undecoded(w->d, w->field, w->base, w->entry, off, w->lim - off, in);
    if ((r = kind_check(in, 0)) != PVL_OK)
        return cfail(w, r, off, in, 0);
    if (in->kind == PVL_INSN_ESCAPE && in->flow != PVL_FLOW_ICALL && in->flow != PVL_FLOW_IJMP &&
        !(w->open && in->map <= 2 && (in->op == 0xcc || in->op == 0x0b)))
        return cfail(w, PVL_E_TMPL_INDIRECT, off, in, 0);
    if (in->flow == PVL_FLOW_IJMP && !in->riprel) /* not a tail call through a pointer */
        return cfail(w, PVL_E_CALL_IJMP, off, in, 0);
    if (in->flow == PVL_FLOW_ICALL && !w->open && !in->riprel)
        return cfail(w, PVL_E_TMPL_INDIRECT, off, in, 0);
    if ((r = pvl_insn_effect(in, e)) != PVL_OK)
        return cfail(w, r, off, in, 0);
    if (w->open) {
        if (bit_get(w->inside, off))
            return cfail(w, PVL_E_TMPL_BRANCH, off, in, off);
        for (size_t k = off + 1; k < off + in->len && k < w->lim; k++)
            if (bit_get(w->starts, k))
                return cfail(w, PVL_E_TMPL_BRANCH, off, in, k);
        bit_set(w->starts, off);
        for (size_t k = off + 1; k < off + in->len && k < w->lim; k++)
            bit_set(w->inside, k);
    }
    return PVL_OK;
}

/* Padding or a trap: what a compiler puts after a call that does not
 * return. */
static int is_padding(const struct cwalk *w, size_t off)
{
    struct pvl_insn in;

    if (off >= w->lim || !pvl_insn_decode(w->base + off, w->lim - off, &in))
        return 0;
    return (in.map == 1 && ((in.op == 0x90 && !(in.rex & 1)) || in.op == 0xcc)) ||
           (in.map == 2 && (in.op == 0x1f || in.op == 0x0b));
}

/*
 * A call to C code (through a pointer, or out of a function of a process)
 * may not return (abort, __assert_fail, a sanitizer's report: a ".cold"
 * part usually ends in one), and the bytes cannot say which callee does.
 * Followed by padding or a trap, it does not: a compiler puts nothing
 * there that the call returns to.  Otherwise the path goes on, marked:
 * past such a call it may be running into the next function, and a path
 * that then leaves with the stack pointer moved (by a return, a tail jump
 * or a jump out of the code), or runs into the end of the readable code
 * (where a return would fault), is taken to be the dead one, not refused.
 * Everything else still refuses it: an instruction that does not decode
 * or is not allowed, and the end of what pvlink reads when more code
 * follows (PVL_CALL_MAX), since if the callee did return, code pvlink has
 * not seen would run.  Every instruction walked still counts in what the
 * code writes.
 */
static int c_call_ends_path(const struct cwalk *w, struct ast *s, size_t next)
{
    if (is_padding(w, next))
        return 1;
    s->maybe_dead = 1;
    return 0;
}

static pvl_result dead_end(const struct cwalk *w, const struct ast *s, size_t off, pvl_result r)
{
    int end = w->whole && (r == PVL_E_CALL_END || (r == PVL_E_TMPL_DECODE && off + 15 > w->lim));

    if (s->maybe_dead && (r == PVL_E_CALL_STACK || r == PVL_E_CALL_OUTSIDE || end))
        return PVL_OK;
    return r;
}

/* Where an indirect transfer of this code goes: into the environment's
 * gates (1, writing *decl, and returning), or to a C function. */
static int gate(const struct cwalk *w, uint64_t *decl)
{
    const struct pvl_callcode *c = w->c;
    uint64_t g = 0;

    if (!w->open && c->entry_at && c->entry_at(c->ctx, PVL_OFF_ENV, &g)) {
        *decl = g;
        return 1;
    }
    *decl = PVL_CLB_C;
    return 0;
}

/* The control transfer ending instruction (in) at (off): 1 when the path
 * goes on at the next instruction. */
static pvl_result leave(struct cwalk *w, struct ast *s, size_t off, const struct pvl_insn *in,
                        int *goes_on)
{
    int where = 0;
    size_t to = 0;
    uint64_t decl = 0;
    pvl_result r;

    *goes_on = 0;
    switch (in->flow) {
    case PVL_FLOW_RET:
        return exit_via(w, s, 0, off, in);
    case PVL_FLOW_IJMP:
        gate(w, &decl);
        return exit_via(w, s, decl, off, in);
    case PVL_FLOW_ICALL:
        where = gate(w, &decl);
        call_out(w, s, decl, off);
        *goes_on = where || !c_call_ends_path(w, s, off + in->len);
        return PVL_OK;
    case PVL_FLOW_OTHER: /* a trap, in code of a process: the path ends */
        return PVL_OK;
    case PVL_FLOW_NEXT:
        *goes_on = 1;
        return PVL_OK;
    }
    if ((r = target(w, off, in, &where, &to, &decl)) != PVL_OK)
        return r;
    if (in->flow == PVL_FLOW_CALL) {
        call_out(w, s, decl, off);
        *goes_on = where != 3 || !c_call_ends_path(w, s, off + in->len);
        return PVL_OK;
    }
    /* out of the code pvlink may read: a tail jump, but only with RSP back */
    if (where == 3 && !(s->rsp_ok && s->rsp == 0))
        return cfail(w, PVL_E_CALL_OUTSIDE, off, in,
                     (uint64_t)((int64_t)(off + in->len) + in->rel - (int64_t)w->entry));
    r = where == 1 ? flow_to(w, s, to, off, in) : exit_via(w, s, decl, off, in);
    *goes_on = in->flow == PVL_FLOW_JCC;
    return r;
}

/* Walk block (b) until it ends or reaches another block. */
static pvl_result walk_block(struct cwalk *w, size_t b)
{
    struct ast s = w->in[b];
    struct pvl_insn in;
    struct pvl_effect e;
    pvl_result r;
    int goes_on;

    for (size_t off = w->blk_off[b];;) {
        if ((r = step(w, off, &in, &e)) != PVL_OK || (r = transfer(w, &s, off, &in, &e)) != PVL_OK ||
            (r = leave(w, &s, off, &in, &goes_on)) != PVL_OK)
            return dead_end(w, &s, off, r);
        if (!goes_on)
            return PVL_OK;
        size_t next = off + in.len;
        if (next >= w->lim)
            return dead_end(w, &s, off, cfail(w, PVL_E_CALL_END, off, &in, 0));
        if (in.flow == PVL_FLOW_JCC || bit_get(w->leaders, next))
            return flow_to(w, &s, next, off, &in);
        off = next;
    }
}

/* Every byte of a ROM's code decodes, as instructions checked alike. */
static pvl_result linear_pass(struct cwalk *w)
{
    struct pvl_insn in;
    struct pvl_effect e;
    pvl_result r;

    for (size_t off = 0; off < w->lim; off += in.len) {
        if ((r = step(w, off, &in, &e)) != PVL_OK)
            return r;
        bit_set(w->starts, off);
        /* where blocks will start: branch targets, and after a jcc */
        int64_t t = (int64_t)(off + in.len) + in.rel;
        if (in.kind == PVL_INSN_REL && in.flow != PVL_FLOW_CALL && t >= 0 && (uint64_t)t < w->lim)
            bit_set(w->leaders, (size_t)t);
        if (in.flow == PVL_FLOW_JCC && off + in.len < w->lim)
            bit_set(w->leaders, off + in.len);
    }
    return PVL_OK;
}

/* Walk the blocks whose in-state changed until none does: the states only
 * lose precision, so this ends. */
static pvl_result walk_all(struct cwalk *w)
{
    pvl_result r;

    st_entry(&w->in[0]);
    w->blk_off[0] = (uint16_t)w->entry, w->has_in[0] = 1, w->dirty[0] = 1, w->nblk = 1;
    bit_set(w->leaders, w->entry);
    do {
        w->changed = 0;
        for (size_t b = 0; b < w->nblk; b++) {
            if (!w->dirty[b])
                continue;
            w->dirty[b] = 0, w->changed = 1;
            if ((r = walk_block(w, b)) != PVL_OK)
                return r;
        }
    } while (w->changed);
    return PVL_OK;
}

/* A fresh walk (field by field: a freestanding core has no memset).  Open
 * code with PVL_CODE_BEFORE is read from up to PVL_CALL_MAX bytes below
 * its entry; (before) is not read otherwise (a caller's structure may end
 * before it). */
static void cwalk_init(struct cwalk *w, const struct pvl_callcode *c, struct pvl_diag *d)
{
    int around = (c->open & PVL_CODE_OPEN) && (c->open & PVL_CODE_BEFORE);
    size_t after = c->len > PVL_CALL_MAX ? PVL_CALL_MAX : c->len;

    w->c = c, w->d = d, w->field = c->field ? c->field : CFIELD;
    w->open = c->open & PVL_CODE_OPEN;
    w->entry = around ? (c->before > PVL_CALL_MAX ? PVL_CALL_MAX : c->before) : 0;
    w->base = c->code ? c->code - w->entry : c->code;
    w->lim = w->entry + after;
    w->whole = c->len <= PVL_CALL_MAX;
    w->nblk = 0, w->changed = 0, w->writes = 0;
    w->preserved = (1u << NVAL) - 1;
    for (size_t k = 0; k < sizeof w->starts; k++)
        w->starts[k] = 0, w->inside[k] = 0, w->leaders[k] = 0;
    for (unsigned b = 0; b < PVL_NSTATE; b++)
        w->first[b] = NOFF;
}

pvl_result pvl_call_check(const struct pvl_callcode *c, uint64_t declared, uint64_t *writes,
                          struct pvl_diag *diag)
{
    struct cwalk w;
    pvl_result r;
    uint64_t effect;

    cwalk_init(&w, c, diag);
    if (!c->code || !c->len || (!w.open && c->len > PVL_CALL_MAX))
        return pvl__fail2(diag, PVL_E_ROM_CALL, "entry.call_len", PVL_NOINDEX, c->len,
                          PVL_CALL_MAX, PVL_DIAG_LIMIT);
    if ((!w.open && (r = linear_pass(&w)) != PVL_OK) || (r = walk_all(&w)) != PVL_OK)
        return r;
    effect = (w.writes | BIT(PVL_STACK)) & ~(uint64_t)w.preserved;
    if (writes)
        *writes = effect;
    if (!(declared & BIT(PVL_STACK)))
        return pvl__fail(diag, PVL_E_CALL_NOSTACK, "entry.call_clobbers", PVL_NOINDEX, declared);
    return undeclared(diag, CFIELD, w.base, w.entry, w.lim, effect & ~BIT(PVL_STACK), declared,
                      w.first);
}

/* ------------------------------------------------------------------------
 * One implementation of one operation.
 */

static pvl_result mask_check(struct pvl_diag *d, const char *field, uint64_t m,
                             uint64_t allowed)
{
    if (m & ~PVL_CLB_VALID)
        return pvl__fail(d, PVL_E_ROM_CLOBBERS, field, PVL_NOINDEX, m);
    if (m & ~allowed)
        return pvl__fail2(d, PVL_E_ROM_UNALLOWED, field, PVL_NOINDEX, m & ~allowed, allowed,
                          PVL_DIAG_MASK);
    return PVL_OK;
}

static pvl_result action_check(const struct pvl_op_info *op, const struct pvl_impl *m,
                               struct pvl_diag *d)
{
    if (m->action >= PVL_NACTIONS)
        return pvl__fail(d, PVL_E_ROM_ACTION, "entry.action", PVL_NOINDEX, m->action);
    if ((m->action == PVL_ACT_INLINE && !m->tmpl_len) || (m->action == PVL_ACT_CALL && !m->call))
        return pvl__fail(d, PVL_E_ROM_MISSING, "entry.action", PVL_NOINDEX, m->action);
    if (m->action == PVL_ACT_NOP && (op->props & PVL_OP_RESULT))
        return pvl__fail(d, PVL_E_NOP_RESULT, "entry.action", PVL_NOINDEX, m->action);
    if ((m->flags & PVL_ENT_REQUIRED) && m->action == PVL_ACT_NATIVE)
        return pvl__fail(d, PVL_E_ROM_REQUIRED, "entry.flags", PVL_NOINDEX, m->flags);
    return PVL_OK;
}

pvl_result pvl_impl_check(const struct pvl_op_info *op, const struct pvl_impl *m,
                          const struct pvl_callcode *call, struct pvl_diag *d)
{
    pvl_result r;

    if (!op || !m || (m->tmpl_len && !m->tmpl) || (m->call && !call))
        return pvl__fail(d, PVL_E_ARG, "arguments", PVL_NOINDEX, 0);
    if ((r = action_check(op, m, d)) != PVL_OK)
        return r;
    if (m->tmpl_len &&
        ((r = mask_check(d, "entry.tmpl_clobbers", m->tmpl_clobbers, op->clobbers)) != PVL_OK))
        return r;
    if (m->call &&
        ((r = mask_check(d, "entry.call_clobbers", m->call_clobbers, op->clobbers)) != PVL_OK))
        return r;
    if (m->tmpl_len && (r = pvl_tmpl_check(m->tmpl, m->tmpl_len, m->tmpl_clobbers, 0, d)) != PVL_OK)
        return r;
    if (m->call && (r = pvl_call_check(call, m->call_clobbers, 0, d)) != PVL_OK)
        return r;
    return PVL_OK;
}
