/*
 * pvlink runtime (libpvlink): the inline linker for running user-space
 * processes.  Sites in every loaded object are linked, re-linked and
 * unlinked against providers while other threads execute them.
 *
 * Objects.  Each ELF object whose code includes <pvlink/iface.h>
 * registers its own site table (its hidden __start_/__stop_pvlink_sites)
 * from a constructor when it is loaded, with its loaded bounds, and
 * forgets it from a destructor when it is unloaded (dlclose).  An object
 * loaded after a link keeps its native sites until the next link.  Code
 * generated at run time registers with pvr_region_register().
 *
 * Providers.  A provider implements an interface: for each operation it
 * proposes an action (native, inline template, call, NOPs) and supplies
 * the template and/or the function.  It is a struct pvr_provider_desc,
 * either in the program (pvr_provider_table) or exported by a shared
 * object under the name PVR_PROVIDER_SYMBOL (pvr_provider_open).  Either
 * way it is untrusted: magic, ABI, sizes, interface name and version,
 * every pointer (inside the shared object's segments, or inside mapped
 * memory for a table; calls inside executable code) and every operation
 * name are checked, and each operation's implementation by the linker's
 * own check (pvl_impl_check): action, declared masks within what the
 * operation allows, and the template's bytes and the function's code
 * (followed from its start) decoded, what they write derived and compared
 * with what they declare.  A function's effect includes STACK (the call
 * pushes its return address), and code it calls counts as a C function
 * (PVL_CLB_C).  The first problem is reported with a message naming the
 * provider, the operation and, in the linker's words, the field and the
 * instruction.  Templates are copied; nothing in the descriptor is read after
 * validation.  Loading a shared object runs its constructors: validation
 * protects against malformed or mismatched providers, not malicious ones.
 *
 * Linking.  pvr_link() plans every site of the interface in every
 * registered object (the core linker: room, clobbers, must-patch, per-site
 * policy), and writes only if every site in every object planned cleanly.
 * A call is written at the END of the room, NOPs first, so that the return
 * address of a thread inside the callee is the site's end, which no later
 * link rewrites.  Calls out of rel32 range go through a veneer (an
 * absolute jump) mapped near the object.
 *
 * Writing the text of a running process: the live protocol (used when
 * the process has other threads, or with PVR_LINK_LIVE), in batches of
 * sites sorted by address, after Linux's text_poke_bp_batch.
 *
 * What a thread may be doing.  A thread stands at an instruction start of
 * a site's old code, or outside every site; from outside it can enter a
 * site only through the site's first byte (compiler-delimited sites, no
 * branch into one).  For each offset p > 0 where the old code has an
 * instruction start, the change from old to new bytes is
 *   safe     the new code also starts an instruction at p and the bytes
 *            from p on do not change: a thread there finishes the old code;
 *   guarded  the new code starts an instruction at p and, in both, only
 *            NOPs come before p: a thread there has done nothing yet.  An
 *            int3 sits at p while the site is written, like the one at the
 *            head; a thread that stays at p until afterwards runs the new
 *            code from p, which is the new code;
 *   risky    anything else: a thread standing there must be moved.
 * A change from one instruction to one instruction (call<->call,
 * call<->NOPs, mov $1<->mov $2, or NOP padding after them left alone) has
 * no risky offset; neither has a call with NOPs before it changing target.
 *
 * Before anything is written: every change is planned and shaped, and
 * each other thread is looked at in /proc/self/task/TID (syscall: is it
 * blocked in the kernel, and at which user address will it resume;
 * status: the signals it blocks; a thread /proc does not show is taken
 * for a running one).  A thread blocked in the kernel at an address
 * outside every changed site does not matter.  Any other thread
 * that blocks SIGTRAP (an int3 would kill the process), or that blocks
 * pvlink's signal when a round will be needed, makes the link refuse with
 * PVL_E_THREADS, naming the thread and the signal; nothing is written and
 * nothing waits (a mask counts once the thread keeps it while it runs or
 * sleeps: libc blocks every signal for a moment when it creates a thread).
 *
 * For each batch:
 *   1. build an out-of-line copy of each site's old code that cannot be
 *      emulated, followed by an int3 that sends the thread back to the
 *      site's end; old code that is only NOPs, or NOPs and one call, is
 *      emulated by the SIGTRAP handler instead (the NOPs skipped, the call
 *      made: return address pushed, RIP set), like Linux's int3 handler.
 *      Copies are code that runs at any address: old code that cannot
 *      (pvl_tmpl_check refuses it) makes the link refuse before writing;
 *   2. write int3 over the head and every guarded offset of every site;
 *      membarrier(PRIVATE_EXPEDITED_SYNC_CORE): every thread serializes.
 *      From now on a thread arriving at a site traps and runs the old code
 *      (emulated or copied), never the bytes being written;
 *   3. only when some site of the batch has a risky offset, a round: look
 *      at every other thread again (after step 2, so that one that wakes
 *      up later can only meet an int3) and signal, with pvlink's real-time
 *      signal (pvr_set_signal), only those that are running (or waiting
 *      for a CPU) and those blocked at a risky offset (or two bytes after
 *      one: a restarted system call); each moves itself from a risky
 *      offset to the same offset of the copy (or to the head or end of an
 *      emulated site, where that is the same) and answers.  Threads blocked
 *      in the kernel elsewhere are left alone: they get no signal, so no
 *      EINTR and no early return.  The patcher waits for every answer; a
 *      thread that is seen to keep pvlink's signal blocked ends the wait
 *      at once (PVL_E_THREADS, the batch taken back);
 *   4. write every other byte of every site; membarrier;
 *   5. write the new bytes over the int3s; membarrier;
 *   6. withdraw the batch from the handlers.  A SIGTRAP raised by one of
 *      its int3s but delivered late finds the address in the set of int3
 *      addresses and runs what is there now.  A batch's copies are freed
 *      once no thread is inside them: entries and exits (the copies' int3)
 *      are counted, so no signal is needed for that (a copy a thread never
 *      leaves, because it died or jumped out of a signal handler there,
 *      stays mapped).
 * A link whose changes are all one instruction to one instruction sends
 * no signal at all.  Threads that meet an int3 while a batch is written
 * take a trap each (two through a copy); the report counts signals, the
 * threads a round skipped, and traps.  pvlink's SIGTRAP handler blocks no
 * signal (SA_NODEFER), so /proc shows a thread's own mask; its real-time
 * signal's handler blocks that signal while it runs, so that a round's
 * signal never runs inside the previous one's.  Traps that are not
 * pvlink's go to the handler installed before (SA_SIGINFO or not, its
 * mask, SA_RESETHAND; SIG_DFL and SIG_IGN behave as the kernel would: a
 * trap kills, a sent SIGTRAP is ignored or kills).  A failure at any step
 * restores the old bytes of the batch and then re-links the batches
 * already done back to their old bytes, with the same protocol; the
 * report says whether every site is old, every site is new, or (only if
 * restoring failed too) how many are new: the first nnew changed sites in
 * address order.  Every site is always whole: old bytes or new bytes.  (A
 * failed serialization after step 5 leaves only late traps: the link
 * stands.)
 *
 * With a single thread in the process (or PVR_LINK_STOPPED, the caller's
 * promise, or PVR_LINK_STARTUP, which checks it) the bytes are written
 * directly.  Text is made writable with mprotect (read-write-execute
 * around the writes), or written through /proc/self/mem, which needs no
 * writable mapping (PVR_LINK_PROCMEM; chosen automatically when the
 * process refuses writable executable memory: prctl PR_SET_MDWE, SELinux
 * execmem).  Copies and veneers are executable memory the runtime fills:
 * mapped read-write then read-execute, or read-execute and written
 * through /proc/self/mem, or a memfd mapped read-execute, the first that
 * the process allows.  When none does, the link is refused before any byte
 * changes, with a message that says why.  After every write the runtime
 * tells valgrind which code changed (VALGRIND_DISCARD_TRANSLATIONS, a
 * no-op elsewhere), so programs run correctly under valgrind without
 * --smc-check; under valgrind, /proc shows valgrind's threads, so every
 * other thread is signalled in a round, masks are not checked, and a
 * thread that traps yields (valgrind runs one thread at a time).
 * ThreadSanitizer blocks and defers signals in its own code: under it a
 * live link may be refused (a running thread seen blocking SIGTRAP) or
 * wait out its timeout for a deferred answer; it never writes half a
 * link.  Link such programs before their threads start or at a quiet
 * point.
 *
 * Shared state.  A live link is not atomic for the other threads: while
 * it runs, one thread may run the new code of one site and the old code
 * of another, and a thread inside an old implementation finishes it.
 * Implementations that share state (a checksum's running state, a lock's
 * layout, a buffer format) must therefore change together at a point the
 * program chooses: link them in one call (pvr_link_set: all or nothing,
 * one write, still not atomic for running threads), and do it where no
 * thread uses that state -- at start-up (PVR_LINK_STARTUP: never the live
 * protocol, PVL_E_THREADS if other threads exist) or at a quiet point of
 * the program's own.
 *
 * Requirements on the process: threads that run sites do not block
 * SIGTRAP or pvlink's signal (a link that finds one refuses, it does not
 * kill or wait), and nothing replaces pvlink's handlers (a live link
 * re-installs a replaced SIGTRAP handler and forwards to the replacement).
 * A thread blocked in the kernel that blocks SIGTRAP (a sigwait thread) is
 * left alone; it must not start running sites while a link is in progress
 * (its first int3 would kill the process).  A running thread that pvlink
 * signals is not in a blocking system call, so it sees no EINTR, except
 * in the microseconds between the look and the signal, should it enter a
 * call that never restarts just then.  A thread suspended inside an
 * application signal handler that interrupted it in the middle of a site
 * is not seen (its saved context is not visible); a call at the start of
 * a site's room with NOPs after it returns into the site, which no link
 * can make safe (the core puts calls at the end).  Writable executable
 * memory is not required; calls emulated in the SIGTRAP handler are not
 * shadow-stack aware (CET shadow stacks: not supported).
 *
 * The functions here serialize on one lock and are not async-signal-safe,
 * but they never deadlock: called from a signal handler that interrupted
 * one of them in the same thread, they return PVL_E_BUSY (pvr_object_count
 * returns 0, pvr_linked NULL, pvr_object_register -1 with EBUSY) without
 * taking any lock; calls from different threads wait for each other.  The
 * policy callback must not call them.
 *
 * Every function returns a pvl_result (PVL_OK on success) and fills a
 * struct pvr_error on failure, unless said otherwise.
 */
#ifndef PVLINK_RUNTIME_H
#define PVLINK_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"

PVL_BEGIN_DECLS

/* What went wrong: the core's code, the errno of a failed system call (or
 * 0), and a message naming what and where. */
#define PVR_MSG_MAX 320
struct pvr_error {
    pvl_result code;
    int sys;
    char msg[PVR_MSG_MAX];
};

/* ------------------------------------------------------------------------
 * Objects
 */

/*
 * Register the site table [start, stop) of the loaded object that holds
 * it (called by the constructor <pvlink/iface.h> adds to every object).
 * Registering the same table again counts a reference.  Returns 0, or -1
 * (with errno) when no loaded object contains the table, memory runs out,
 * or (EBUSY) it is called from a signal handler that interrupted a pvlink
 * call in this thread; an empty table (start == stop or NULL) is ignored
 * with 0.
 */
#pragma GCC diagnostic push /* <pvlink/iface.h> declares these two as well */
#pragma GCC diagnostic ignored "-Wredundant-decls"
int pvr_object_register(const struct pvl_site *start, const struct pvl_site *stop);

/* Drop one reference to the table at (start); the last one forgets the
 * object (its sites are no longer linked, its veneers are freed). */
void pvr_object_unregister(const struct pvl_site *start);
#pragma GCC diagnostic pop

/*
 * Register code generated at run time: (n) site records at (sites), every
 * address they refer to inside [lo, hi), the text mapped with protection
 * (prot) (PROT_READ|PROT_EXEC, restored after each link).  (name) is used
 * in messages and must outlive the registration.  Refuses a bad range or
 * a table outside it.
 */
pvl_result pvr_region_register(const char *name, const struct pvl_site *sites,
                               size_t n, uintptr_t lo, uintptr_t hi, int prot,
                               struct pvr_error *err);

/* Forget a region registered with pvr_region_register (by its table). */
void pvr_region_unregister(const struct pvl_site *sites);

/* Number of registered objects and regions. */
size_t pvr_object_count(void);

/* ------------------------------------------------------------------------
 * Providers
 */

/* "PVRP" in memory order. */
#define PVR_PROVIDER_MAGIC 0x50525650u
#define PVR_PROVIDER_ABI 2 /* 2: 64-bit masks (pvlink format 2) */
/* The symbol a provider shared object exports: a struct pvr_provider_desc. */
#define PVR_PROVIDER_SYMBOL "pvr_provider_v1"
/* Limits a descriptor must respect. */
#define PVR_PROVIDER_MAX_OPS 1024
#define PVR_NAME_MAX 64

/*
 * What a provider offers for one operation, named by its name in the
 * interface.  (action) is the enum pvl_action it proposes.  (tmpl,
 * tmpl_len) is an optional inline template changing (tmpl_clobbers);
 * (call) an optional function with the op's signature (stored as a
 * pvr_fn, cast back by the runtime) changing (call_clobbers) (PVL_CLB_C for
 * a C function).  reserved must be zero.
 */
typedef void (*pvr_fn)(void);

struct pvr_op_impl {
    const char *op;
    uint8_t action;
    uint8_t tmpl_len;
    uint16_t reserved;
    uint32_t reserved2;
    uint64_t tmpl_clobbers;
    uint64_t call_clobbers;
    const uint8_t *tmpl;
    pvr_fn call;
};

/*
 * A provider: magic PVR_PROVIDER_MAGIC, abi PVR_PROVIDER_ABI, size and
 * impl_size the sizes of the two structures as built, the interface name
 * (NUL-padded) and version it implements, a name for messages, and
 * (nimpl) entries at (impl), each operation at most once.  The major
 * version must equal the program's; another minor is accepted (entries
 * for operations the program does not know are ignored when the provider
 * is newer, refused otherwise).
 */
struct pvr_provider_desc {
    uint32_t magic;
    uint16_t abi;
    uint16_t size;
    char iface[PVL_IFACE_NAME_MAX];
    uint16_t major, minor;
    uint32_t nimpl;
    uint32_t impl_size;
    uint32_t reserved;
    const char *name;
    const struct pvr_op_impl *impl;
};

PVL_STATIC_ASSERT(sizeof(struct pvr_op_impl) == 48, "pvr_op_impl layout");
PVL_STATIC_ASSERT(sizeof(struct pvr_provider_desc) == 64, "pvr_provider_desc layout");

/* Initializers for providers written in C or C++ (every field given, in
 * order, so that both languages take them without extensions). */
#define PVR_PROVIDER_DESC(iface_name, maj, min, prov_name, impls)            \
    {PVR_PROVIDER_MAGIC, PVR_PROVIDER_ABI, sizeof(struct pvr_provider_desc),  \
     iface_name, maj, min, sizeof(impls) / sizeof((impls)[0]),               \
     sizeof(struct pvr_op_impl), 0, prov_name, impls}
/* A function for op (op) of interface prefix (p), type-checked. */
#define PVR_CALL(p_, op_, fn_)                                               \
    {#op_, PVL_ACT_CALL, 0, 0, 0, 0, PVL_CLB_C, 0,                            \
     (pvr_fn)(1 ? (fn_) : (p_##_##op_##_fn *)0)}
/* An inline template (a byte string literal) changing (clb). */
#define PVR_INLINE(op_name, bytes, clb)                                      \
    {#op_name, PVL_ACT_INLINE, sizeof(bytes) - 1, 0, 0, (clb), 0,            \
     (const uint8_t *)(bytes), 0}

/*
 * The descriptor a provider shared object defines, under the name
 * PVR_PROVIDER_SYMBOL, exported with C linkage (this declaration gives it
 * both, in C and in C++, and default visibility); the library itself
 * defines none:
 *     const struct pvr_provider_desc pvr_provider_v1 =
 *         PVR_PROVIDER_DESC("demo.greet", 1, 0, "fast", impls);
 */
extern __attribute__((visibility("default"))) const struct pvr_provider_desc
    pvr_provider_v1;

/* A validated provider (opaque). */
struct pvr_provider;

/*
 * Validate the descriptor (d), which lives in this process, against the
 * program's interface (iface), and return a provider, or NULL with (err)
 * saying why.  Pointers must lie in mapped memory (/proc/self/maps):
 * strings and templates readable, calls executable.
 */
struct pvr_provider *pvr_provider_table(const struct pvr_provider_desc *d,
                                        const struct pvl_iface *iface,
                                        struct pvr_error *err);

/*
 * Load the shared object at (path) and validate it against (iface): the
 * file is checked first (an x86-64 ELF shared object whose program headers
 * and segments lie inside the file), then loaded (RTLD_NOW|RTLD_LOCAL),
 * then its PVR_PROVIDER_SYMBOL descriptor checked as for a table, with
 * every pointer inside the object's own segments.  (path) names a file as
 * for open(2): a name without a slash is a file in the current directory,
 * never one the dynamic loader would find on its search path, so the file
 * checked is the file loaded.  Returns the provider or NULL with (err);
 * nothing stays loaded on failure.
 */
struct pvr_provider *pvr_provider_open(const char *path,
                                       const struct pvl_iface *iface,
                                       struct pvr_error *err);

/*
 * Release a provider (dlclose for a shared object).  Refuses (PVL_E_ARG)
 * while sites are linked to it.  The caller makes sure no thread is still
 * running one of its functions (a call that started before the re-link).
 */
pvl_result pvr_provider_close(struct pvr_provider *p, struct pvr_error *err);

/* The provider's name (its path for a shared object). */
const char *pvr_provider_name(const struct pvr_provider *p);

/* ------------------------------------------------------------------------
 * Linking
 */

/* One site as the policy sees it. */
struct pvr_site {
    const char *object; /* path of the object ("" for the executable) */
    struct pvl_site_info info;
    const struct pvl_iface *iface; /* the interface being linked (link sets) */
};

/* Return the action for the site, given the provider's proposal. */
typedef int (*pvr_policy_fn)(void *ctx, const struct pvr_site *s, int proposed);

/* A refused site, with its object. */
struct pvr_refusal {
    const char *object;
    struct pvl_refusal r;
};

#define PVR_LINK_DRY_RUN 0x01u /* plan and report; write nothing */
#define PVR_LINK_STOPPED 0x02u /* no other thread runs these sites: write directly */
#define PVR_LINK_LIVE 0x04u    /* use the live protocol even with one thread */
#define PVR_LINK_NO_CALLS 0x08u /* hardening: refuse calls into the provider */
#define PVR_LINK_PROCMEM 0x10u /* write through /proc/self/mem, not mprotect */
#define PVR_LINK_STARTUP 0x20u /* start-up mode: never the live protocol; refuse
                                  (PVL_E_THREADS) if other threads exist */

struct pvr_link_opts {
    unsigned flags;
    pvr_policy_fn policy;
    void *policy_ctx;
    size_t batch;       /* sites per live batch; 0: 65536 */
    unsigned timeout_ms; /* wait for a thread's answer; 0: 10000 */
};

/* Where the sites are after a link. */
enum pvr_state {
    PVR_STATE_NEW = 0,   /* every site that had to change holds its new bytes */
    PVR_STATE_OLD = 1,   /* every site holds its old bytes (nothing changed) */
    PVR_STATE_SPLIT = 2  /* restoring failed: nnew sites are new, the rest old */
};

/* What a link did.  (refused) is caller storage for (refused_cap) entries. */
struct pvr_report {
    uint32_t count[PVL_NACTIONS]; /* this interface's sites by action */
    uint32_t nsites;              /* records in all tables */
    uint32_t nother;              /* sites of other interfaces */
    uint32_t nchanged;            /* sites whose bytes had to change */
    uint32_t nnew;                /* of those, sites holding the new bytes */
    uint32_t nrefused;
    uint32_t nobjects;
    uint32_t nbatches;
    uint32_t nrounds;   /* signal rounds to the other threads */
    uint32_t nmoved;    /* threads moved out of the middle of a site */
    uint32_t nveneers;  /* calls that needed a veneer */
    uint8_t live;       /* 1: the live protocol was used */
    uint8_t state;      /* enum pvr_state */
    uint8_t prot_left;  /* 1: restoring page protection failed (pages stay RWX) */
    uint32_t refused_cap;
    struct pvr_refusal *refused;
    uint32_t nsignals;  /* signals sent to other threads (all rounds) */
    uint32_t nskipped;  /* threads a round left alone: blocked outside the sites */
    uint32_t ntraps;    /* int3s other threads met while sites were written */
    uint8_t procmem;    /* 1: written through /proc/self/mem */
};

/*
 * Link every site of (iface) in every registered object to provider (p)
 * (validated against the same interface), or unlink them (p NULL: every
 * site back to its original bytes).  (opts) and (rep) may be NULL.
 * Returns PVL_OK; PVL_E_REFUSED with the refusals in (rep) and nothing
 * written; a table error from an object (named in err); PVL_E_ENV for a
 * provider of another interface; PVL_E_THREADS when a thread blocks
 * SIGTRAP or pvlink's signal where that matters, or, in start-up mode,
 * when other threads exist (nothing written); a template code when a
 * site's current code cannot run out of line for a live link (nothing
 * written); PVL_E_BUSY when called from a signal handler that interrupted
 * a pvlink call in this thread; PVL_E_CALL_RANGE or PVL_E_WRITE when no
 * veneer can be made (nothing written); PVL_E_WRITE when writing failed
 * (rep->state says where the sites are, err says what failed).
 */
pvl_result pvr_link(const struct pvl_iface *iface, const struct pvr_provider *p,
                    const struct pvr_link_opts *opts, struct pvr_report *rep,
                    struct pvr_error *err);

/* pvr_link(iface, NULL, ...). */
pvl_result pvr_unlink(const struct pvl_iface *iface, const struct pvr_link_opts *opts,
                      struct pvr_report *rep, struct pvr_error *err);

/* One interface of a link set and its provider (NULL: native). */
struct pvr_link_item {
    const struct pvl_iface *iface;
    const struct pvr_provider *provider;
};

/*
 * Link (n) interfaces at once, all or nothing: every site of every item is
 * planned first, and the changes are written together, in one run of the
 * protocol, only when all of them planned cleanly.  Refuses (PVL_E_ARG) an
 * empty set, more than 64 items, or an interface named twice; otherwise
 * returns as pvr_link.  (rep) counts the sites of all items.
 */
pvl_result pvr_link_set(const struct pvr_link_item *items, size_t n,
                        const struct pvr_link_opts *opts, struct pvr_report *rep,
                        struct pvr_error *err);

/* The provider (iface) is linked to, or NULL when it is native. */
const struct pvr_provider *pvr_linked(const struct pvl_iface *iface);

/*
 * Choose the real-time signal the live protocol sends to threads (default
 * SIGRTMAX - 2).  Refuses a signal outside SIGRTMIN..SIGRTMAX or one that
 * already has a handler; must be called before the first live link.
 */
pvl_result pvr_set_signal(int sig, struct pvr_error *err);

/* ------------------------------------------------------------------------
 * Fault injection, for tests: make the (nth) next call (1 = the next one)
 * of a system operation fail with (err_no).  (what) 0 clears all.
 */
enum pvr_fault {
    PVR_FAULT_NONE,
    PVR_FAULT_MPROTECT,   /* making text writable or restoring it */
    PVR_FAULT_MEMBARRIER, /* a serialization */
    PVR_FAULT_SIGNAL,     /* sending pvlink's signal to a thread */
    PVR_FAULT_PROCMEM,    /* opening /proc/self/mem */
    PVR_FAULT_MMAP_EXEC,  /* mapping memory executable (as SELinux execmem denies) */
    PVR_NFAULTS
};
void pvr_fault_inject(enum pvr_fault what, unsigned nth, int err_no);

PVL_END_DECLS

#endif /* PVLINK_RUNTIME_H */
