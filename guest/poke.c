/*
 * Writing sites while the other CPUs run them.
 *
 * A link is planned in full first: pvl_link() runs with a writer that only
 * records each change (site, old bytes, new bytes), so that a refused link
 * writes nothing.  Then the changes are written in one batch by one of
 * three paths, all of them sharing the same synchronization rounds
 * whatever the number of sites:
 *
 *   direct      no other CPU is online: write with interrupts off.
 *
 *   breakpoint  every change replaces a single instruction filling the
 *               whole room (a call rel32 in a 5-byte room, or one NOP):
 *               Linux's text_poke_bp.  A trap byte on every first byte,
 *               sync all CPUs, write every tail, sync, write every first
 *               byte, sync (3 rounds).  A CPU that hits a trap byte
 *               meanwhile is steered by the trap handler as the old
 *               instruction would have taken it: past the NOP, or into
 *               the call (the return address pushed on its stack; the
 *               handler runs on its own IST stack so the push cannot land
 *               on its frame).  No CPU can be inside such a site between
 *               its first and last byte (one instruction), so after the
 *               first round none is.
 *
 *               The trap byte is 0x06 (PUSH ES, invalid in 64-bit mode:
 *               #UD, a fault reported at the site), not int3: this
 *               machine's software KVM (kvm_pvm) cannot deliver the #BP a
 *               guest kernel's int3 raises -- it tries to emulate it and
 *               stops the VM (KVM internal error, in pvlink-run and in
 *               QEMU with KVM alike) -- while it re-injects #UD, as
 *               every KVM does for an instruction it cannot emulate.
 *
 *   rendezvous  anything else (a site of several instructions, NOP
 *               padding after an instruction, a clock that changes time
 *               line): stop_machine.  Every other CPU is parked in the PARK
 *               IPI's handler with interrupts off (1 round); the initiator
 *               checks where each was interrupted -- it is the one place a
 *               CPU can be inside a site, since interrupt handlers run no
 *               changing site and enable no interrupts -- then writes
 *               everything and releases them (the handlers' iretq
 *               serializes).  A CPU interrupted inside a changed site's
 *               NOP padding is moved past it; one inside real instructions
 *               makes the initiator release everyone and try again later.
 *               A CPU inside ROM code is no obstacle: the core writes a
 *               call at the end of its room, NOPs first, and the native
 *               calls fill their 5-byte rooms, so every return address is
 *               the end of a site, which holds an instruction boundary
 *               whatever the site becomes.  It is one when the clock moves
 *               from a ROM's to the native one: it may be half-way through
 *               a read of the old clock, which it would finish after the
 *               hand-over.
 *
 * While a round is open the initiator runs no site (the sites it would run
 * may be half-written): rounds, IPIs (local APIC registers are memory),
 * waiting and writing are plain instructions, and the clock hand-over
 * calls ROM code and reads variables directly.
 *
 * Clocks.  A re-link that moves the clock_read sites between the native
 * clock and a ROM's changes time line; the rendezvous does it while every
 * other CPU is parked.  To the native clock (one time line for all CPUs),
 * the native clock continues from the largest present reading of the ROM
 * clock on any CPU (each parked CPU reads it as it parks).  To a ROM's
 * clock (read from each CPU's own TSC, which may differ a little between
 * CPUs), every CPU, initiator and parked ones, waits before going on until
 * the ROM clock on itself has passed the largest value the native clock
 * ever returned.  No CPU ever reads a time below one it read before.
 */
#include "kern.h"

#define MAX_CHANGES 512
#define MAX_BYTES 8192
#define ONE_NOP_MAX 11 /* pvl_emit_nops writes one instruction up to this */
#define PARK_TRIES 1000
#define RETRY_SPINS 2000
#define CLOCK_SPINS 100000000ull
/* PUSH ES, #UD in 64-bit mode: a marker written over a site's first byte
 * for the duration of a link, never part of what a site becomes (the
 * core's emitter has no form for it; see the top of this file). */
#define TRAP_BYTE 0x06

enum kind { MULTI, NOP1, CALL1 };

struct change {
    uint8_t *at;
    uint64_t target; /* CALL1: where the old call goes */
    uint32_t off;    /* of its bytes in old_b and new_b */
    uint8_t room, kind;
};

static struct change chg[MAX_CHANGES];
static uint8_t old_b[MAX_BYTES], new_b[MAX_BYTES];
static unsigned nchg;
static uint32_t nbytes;
static int overflow;
static volatile int steering; /* the breakpoint path is in progress */
static volatile uint64_t sync_gen, park_gen, release_gen;
/* Rendezvous clock hand-over: parked CPUs read the clock as they park
 * (park_reads), and wait on release until release_clock() reaches
 * release_floor. */
static volatile int park_reads;
static uint64_t (*volatile release_clock)(void);
static volatile uint64_t release_floor;

static pvl_result capture(void *ctx, const struct pvl_site_info *si, const uint8_t *src,
                          size_t n)
{
    (void)ctx;
    if (nchg == MAX_CHANGES || n > MAX_BYTES - nbytes) {
        overflow = 1;
        return PVL_E_WRITE;
    }
    chg[nchg++] = (struct change){.at = si->local, .off = nbytes, .room = (uint8_t)n};
    memcpy(old_b + nbytes, si->local, n);
    memcpy(new_b + nbytes, src, n);
    nbytes += (uint32_t)n;
    return PVL_OK;
}

static int nops_at(const uint8_t *b, size_t n)
{
    uint8_t want[PVL_ROOM_MAX];

    pvl_emit_nops(want, n);
    return !memcmp(b, want, n);
}

/* Are the bytes (b), at (at), a call as the core's emitter writes it?
 * Its target in (*target). */
static int call_at(const uint8_t *b, uintptr_t at, uint64_t *target)
{
    uint8_t again[PVL_CALL_LEN];
    int32_t rel;

    memcpy(&rel, b + 1, 4);
    *target = at + PVL_CALL_LEN + (uint64_t)(int64_t)rel;
    return pvl_emit_call(again, at, *target) == PVL_OK && !memcmp(again, b, PVL_CALL_LEN);
}

static void classify(struct change *c)
{
    const uint8_t *o = old_b + c->off;

    c->kind = MULTI;
    if (c->room <= ONE_NOP_MAX && nops_at(o, c->room))
        c->kind = NOP1;
    else if (c->room == PVL_CALL_LEN && call_at(o, (uintptr_t)c->at, &c->target))
        c->kind = CALL1;
}

/* By address, for the lookups below (tables are nearly sorted). */
static void sort(void)
{
    for (unsigned i = 1; i < nchg; i++) {
        struct change c = chg[i];
        unsigned j = i;
        for (; j > 0 && chg[j - 1].at > c.at; j--)
            chg[j] = chg[j - 1];
        chg[j] = c;
    }
}

/* The change whose room holds address (a), or NULL. */
static const struct change *find(uintptr_t a)
{
    unsigned lo = 0, hi = nchg;

    while (lo < hi) {
        unsigned m = lo + (hi - lo) / 2;
        if ((uintptr_t)chg[m].at <= a)
            lo = m + 1;
        else
            hi = m;
    }
    if (lo == 0 || a - (uintptr_t)chg[lo - 1].at >= chg[lo - 1].room)
        return NULL;
    return &chg[lo - 1];
}

/* ---- the trap and IPI handlers' part ------------------------------------ */

int k_poke_trap(struct k_frame *f)
{
    uintptr_t a = f->rip;
    const struct change *c;

    if (!__atomic_load_n(&steering, __ATOMIC_ACQUIRE) || !(c = find(a)) ||
        (uintptr_t)c->at != a)
        return 0;
    if (c->kind == CALL1) {
        f->rsp -= 8;
        *(volatile uint64_t *)(uintptr_t)f->rsp = a + PVL_CALL_LEN;
        f->rip = c->target;
    } else {
        f->rip = a + c->room;
    }
    k_this_cpu()->trap_hits++;
    return 1;
}

void k_poke_sync(void)
{
    struct k_cpu *c = k_this_cpu();

    __atomic_store_n(&c->sync_ack, __atomic_load_n(&sync_gen, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
}

/* The clock_read site here runs whatever the sites still hold (nothing is
 * written before every CPU has parked); the native clock's lock is never
 * held by a CPU that can take an interrupt. */
void k_poke_park(struct k_frame *f)
{
    struct k_cpu *c = k_this_cpu();
    uint64_t g = __atomic_load_n(&park_gen, __ATOMIC_ACQUIRE);
    uint64_t (*fn)(void);

    c->park_frame = f;
    if (park_reads)
        c->park_clock = pvk_clock_read();
    __atomic_store_n(&c->park_ack, g, __ATOMIC_RELEASE);
    while (__atomic_load_n(&release_gen, __ATOMIC_ACQUIRE) < g)
        __asm__ __volatile__("pause");
    if ((fn = release_clock))
        for (uint64_t i = 0; i < CLOCK_SPINS && fn() < release_floor; i++)
            __asm__ __volatile__("pause");
}

/* ---- rounds ---------------------------------------------------------------- */

static void send_all(unsigned vector, struct k_poke_stats *st)
{
    struct k_cpu *me = k_this_cpu();

    for (unsigned i = 0; i < k_ncpus; i++)
        if (&k_cpus[i] != me) {
            k_lapic_ipi(k_cpus[i].apic_id, vector);
            st->ipis++;
        }
}

static void wait_all(size_t ack, uint64_t g)
{
    struct k_cpu *me = k_this_cpu();

    for (unsigned i = 0; i < k_ncpus; i++)
        if (&k_cpus[i] != me)
            while (__atomic_load_n((volatile uint64_t *)((char *)&k_cpus[i] + ack),
                                   __ATOMIC_ACQUIRE) < g)
                __asm__ __volatile__("pause");
}

/* Every other CPU takes an IPI, answers, and serializes (iretq) before it
 * runs anything again. */
static void sync_round(struct k_poke_stats *st)
{
    uint64_t g = __atomic_add_fetch(&sync_gen, 1, __ATOMIC_SEQ_CST);

    send_all(K_VEC_SYNC, st);
    wait_all(offsetof(struct k_cpu, sync_ack), g);
    st->rounds++;
}

static void park_all(struct k_poke_stats *st)
{
    uint64_t g = __atomic_add_fetch(&park_gen, 1, __ATOMIC_SEQ_CST);

    send_all(K_VEC_PARK, st);
    wait_all(offsetof(struct k_cpu, park_ack), g);
    st->rounds++;
}

static void release_all(void)
{
    __atomic_store_n(&release_gen, park_gen, __ATOMIC_RELEASE);
}

/* ---- writing ----------------------------------------------------------------- */

static void put(const struct change *c, const uint8_t *bytes, unsigned from, unsigned n)
{
    memcpy(c->at + from, bytes + c->off + from, n);
}

static int all_written(const uint8_t *bytes)
{
    for (unsigned i = 0; i < nchg; i++)
        if (memcmp(chg[i].at, bytes + chg[i].off, chg[i].room))
            return 0;
    return 1;
}

/* With nobody else running the sites. */
static pvl_result write_direct(void)
{
    for (unsigned i = 0; i < nchg; i++)
        put(&chg[i], new_b, 0, chg[i].room);
    if (all_written(new_b))
        return PVL_OK;
    for (unsigned i = 0; i < nchg; i++)
        put(&chg[i], old_b, 0, chg[i].room);
    return PVL_E_VERIFY;
}

static void trap_steps(const uint8_t *to, struct k_poke_stats *st)
{
    static const uint8_t trap = TRAP_BYTE;

    for (unsigned i = 0; i < nchg; i++)
        memcpy(chg[i].at, &trap, 1);
    sync_round(st);
    for (unsigned i = 0; i < nchg; i++)
        put(&chg[i], to, 1, chg[i].room - 1u);
    sync_round(st);
    for (unsigned i = 0; i < nchg; i++)
        put(&chg[i], to, 0, 1);
    sync_round(st);
}

static pvl_result via_breakpoint(struct k_poke_stats *st)
{
    __atomic_store_n(&steering, 1, __ATOMIC_SEQ_CST);
    trap_steps(new_b, st);
    if (!all_written(new_b)) { /* back the same way: the old bytes */
        trap_steps(old_b, st);
        __atomic_store_n(&steering, 0, __ATOMIC_SEQ_CST);
        return PVL_E_VERIFY;
    }
    __atomic_store_n(&steering, 0, __ATOMIC_SEQ_CST);
    return PVL_OK;
}

/* Can the parked CPUs resume once everything is written?  Moves any
 * sitting in a changed site's NOP padding past it; (*where) says where one
 * cannot be moved.  (rom_busy): a CPU in ROM code cannot resume either. */
static int parked_safe(int rom_busy, struct k_poke_stats *st, uint64_t *where)
{
    struct k_cpu *me = k_this_cpu();

    for (unsigned i = 0; i < k_ncpus; i++) {
        struct k_frame *f = k_cpus[i].park_frame;
        const struct change *c;
        if (&k_cpus[i] == me)
            continue;
        if ((c = find(f->rip)) && f->rip != (uintptr_t)c->at) {
            unsigned off = (unsigned)(f->rip - (uintptr_t)c->at);
            if (!nops_at(old_b + c->off + off, c->room - off))
                return *where = f->rip, 0;
            f->rip = (uintptr_t)c->at + c->room;
            st->moved++;
        } else if (rom_busy && (f->rip < (uintptr_t)__image_start ||
                                f->rip >= (uintptr_t)__text_end)) {
            return *where = f->rip, 0;
        }
    }
    return 1;
}

/* Hand the time line over (see the top of this file), everyone else
 * parked; -1 if the new clock never caught up here. */
static int clock_handover(const struct k_clock_move *cm)
{
    struct k_cpu *me = k_this_cpu();
    uint64_t t;

    release_clock = 0;
    if (!cm || !cm->moves)
        return 0;
    if (cm->from && !cm->to) {
        t = cm->from();
        for (unsigned i = 0; i < k_ncpus; i++)
            if (&k_cpus[i] != me && k_cpus[i].park_clock > t)
                t = k_cpus[i].park_clock;
        k_clock_native_rebase(t);
        return 0;
    }
    if (cm->from || !cm->to)
        return 0; /* ROM to ROM: one time line (<pvlink/hv.h>) */
    release_floor = k_clock_native_last();
    for (uint64_t i = 0; i < CLOCK_SPINS; i++)
        if (cm->to() >= release_floor) {
            release_clock = cm->to;
            return 0;
        }
    return -1;
}

static void let_interrupts_in(uint64_t fl)
{
    pvk_restore_fl(fl);
    for (int i = 0; i < RETRY_SPINS; i++)
        __asm__ __volatile__("pause");
    pvk_irq_disable();
}

static pvl_result via_rendezvous(const struct k_clock_move *cm, uint64_t fl,
                                 struct k_poke_stats *st)
{
    uint64_t where = 0;
    pvl_result r;

    park_reads = cm && cm->moves && cm->from && !cm->to;
    for (unsigned tries = 0;; tries++) {
        park_all(st);
        if (parked_safe(park_reads, st, &where))
            break;
        release_all();
        if (tries == PARK_TRIES) {
            k_snprintf(st->why, sizeof st->why, "a CPU stayed inside a changing site (at "
                       "%#llx) through %u tries", (unsigned long long)where, PARK_TRIES);
            return PVL_E_WRITE;
        }
        st->retries++;
        let_interrupts_in(fl);
    }
    if (clock_handover(cm) != 0) {
        release_all();
        k_snprintf(st->why, sizeof st->why, "the new clock stayed behind the native one");
        return PVL_E_WRITE;
    }
    r = write_direct();
    if (r != PVL_OK)
        release_clock = 0; /* everything is as it was */
    release_all();
    return r;
}

static int all_single(void)
{
    for (unsigned i = 0; i < nchg; i++)
        if (chg[i].kind == MULTI)
            return 0;
    return 1;
}

static pvl_result apply(const struct k_clock_move *cm, uint64_t fl, struct k_poke_stats *st)
{
    if (nchg == 0)
        return st->path = "none", PVL_OK;
    if (k_ncpus == 1) {
        st->path = "direct";
        if (clock_handover(cm) != 0) {
            k_snprintf(st->why, sizeof st->why, "the new clock stayed behind the native one");
            return PVL_E_WRITE;
        }
        return write_direct();
    }
    if (all_single() && !(cm && cm->moves))
        return st->path = "breakpoint", via_breakpoint(st);
    return st->path = "rendezvous", via_rendezvous(cm, fl, st);
}

pvl_result k_poke_link(const struct pvl_link *l0, const struct k_clock_move *cm,
                       struct k_poke_stats *st)
{
    struct pvl_link l = *l0;
    uint64_t t0 = pvk_read_tsc(), fl = pvk_save_fl();
    pvl_result r;

    *st = (struct k_poke_stats){.path = "none"};
    l.write = capture;
    l.write_ctx = 0;
    nchg = 0, nbytes = 0, overflow = 0;
    pvk_irq_disable();
    r = pvl_link(&l);
    if (r == PVL_OK) {
        sort();
        for (unsigned i = 0; i < nchg; i++)
            classify(&chg[i]);
        st->changed = nchg;
        r = apply(cm, fl, st);
    } else if (overflow) {
        k_snprintf(st->why, sizeof st->why, "more than %u sites or %u bytes change at once",
                   MAX_CHANGES, MAX_BYTES);
    }
    pvk_restore_fl(fl);
    st->cycles = pvk_read_tsc() - t0;
    return r;
}
