/*
 * pvlink reference guest kernel: what its files share.
 *
 * Every privileged operation outside the boot path goes through a pvlink
 * site (the pvk_* wrappers of <pvlink/kernel.h>).  The only privileged
 * instructions that are not sites are those of the 32-bit entry and the
 * switch to long mode (entry.S), of the APs' real-mode trampoline
 * (trampoline.S, copied below 1 MiB, never run in place), lgdt/lidt/ltr
 * (descriptor tables, trap.c), and iretq in the interrupt return path
 * (vectors.S).  Local APIC and IOAPIC registers are memory, not
 * instructions.
 *
 * SMP.  With ACPI tables (start_info.rsdp_paddr, or an RSDP found by the
 * legacy scan) whose MADT lists local APICs and an IOAPIC, the kernel uses
 * the local APICs (IPIs, EOI) and the IOAPIC (the PIT's interrupt), starts
 * the other CPUs with INIT-SIPI-SIPI and keeps per-CPU state behind GS.
 * Without them it runs on one CPU with the 8259 PIC exactly as before and
 * never touches APIC memory or GS; CPUID's APIC bit is not consulted.
 *
 * Locks are spinlocks taken with interrupts off, held briefly, never while
 * waiting for another CPU; only live linking waits for other CPUs, and it
 * holds none.
 *
 * Everything non-static carries the prefix k_.
 */
#ifndef K_KERN_H
#define K_KERN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <pvlink/hv.h>
#include <pvlink/kernel.h>
#include <pvlink/link.h>

#include "layout.h"

/* Exit codes for the debug-exit port (QEMU exits with (code << 1) | 1). */
enum k_exit_code {
    K_EXIT_OK = 0,    /* selftest passed, workload done */
    K_EXIT_FAIL = 1,  /* a check failed, or a bad command line */
    K_EXIT_PANIC = 2, /* unexpected exception, unusable boot information */
};

/* ---- lib.c: the few libc routines the compiler and we need ---------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t k_strlen(const char *s);
int k_streq(const char *a, const char *b);
/* Parse all of (s) as a decimal number in [lo, hi]; 0 on success, -1 if
 * (s) is empty, has a non-digit, or is out of range. */
int k_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* ---- lock.c: spinlocks ------------------------------------------------- */
struct k_lock {
    volatile uint32_t held;
};
/* Disable interrupts, take (l); returns the flags to give back. */
uint64_t k_lock_irqsave(struct k_lock *l);
void k_unlock_irqrestore(struct k_lock *l, uint64_t flags);

/* ---- console.c: the 8250 UART and formatted output -------------------- */
void k_console_init(void);
/* Write through the console_write site, one CPU at a time. */
void k_console_write(const char *buf, size_t len);
/* Format into (buf, n), always NUL-terminated when n > 0; returns the
 * length it wanted. */
size_t k_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
size_t k_snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print through the console_write site, one site call per call. */
void k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k_puts(const char *s);

/* ---- boot.c: start_info, memory map, command line --------------------- */
#define K_MEMMAP_MAX 128
#define K_CMDLINE_MAX 4096
#define K_E820_RAM 1

struct k_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

struct k_bootinfo {
    uint32_t version, flags;
    uint64_t rsdp; /* start_info.rsdp_paddr: 0 when absent */
    uint32_t nmemmap;
    struct k_memmap_entry memmap[K_MEMMAP_MAX];
    char cmdline[K_CMDLINE_MAX];
    uint64_t ram_top; /* end of the highest RAM entry; 0 if no map */
};

extern struct k_bootinfo k_boot;

/* Copy start_info at physical (pa) and what it points to into k_boot.
 * Returns 0, or -1 after printing what is wrong. */
int k_boot_copy(uint64_t pa);
/* Is [pa, pa + len) wholly inside memory map entries (of any type)? */
int k_boot_covered(uint64_t pa, uint64_t len);
/* Is [pa, pa + len) wholly inside RAM entries of the memory map? */
int k_boot_is_ram(uint64_t pa, uint64_t len);

/* ---- acpi.c: the RSDP and the MADT -------------------------------------- */
struct k_madt {
    uint64_t rsdp, madt;     /* where they were found */
    const char *found_by;    /* "start_info.rsdp_paddr", "EBDA scan", ... */
    uint64_t lapic;          /* local APIC registers (physical) */
    uint32_t flags;          /* MADT flags (bit 0: 8259 PICs present) */
    unsigned ncpus;          /* enabled local APICs kept, <= K_MAX_CPUS */
    unsigned nignored;       /* enabled ones beyond K_MAX_CPUS */
    uint32_t apic_id[K_MAX_CPUS];
    uint64_t ioapic;         /* the IOAPIC serving GSI ioapic_gsi (0: none) */
    uint32_t ioapic_gsi;     /* its first GSI */
    uint32_t timer_gsi;      /* ISA IRQ 0's GSI (the one in use, after k_timer_init) */
    uint16_t timer_flags;    /* its MPS INTI flags (polarity, trigger) */
    int timer_iso;           /* an interrupt source override named it */
};
/* Find and check the ACPI tables (RSDP, RSDT or XSDT, MADT).  Returns 0
 * with (m) filled, or -1 after printing one line saying why not (no
 * tables, or what is wrong with them); (m) is then unspecified.  Reads
 * only memory the memory map describes. */
int k_acpi_madt(struct k_madt *m);
/* ---- trap.c: GDT/TSS, IDT, exceptions, interrupts --------------------- */
struct k_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct k_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

#define K_STACK_SIZE 16384
#define K_IST_SIZE 4096

/* Per-CPU state; in APIC mode GS points at the running CPU's. */
struct k_cpu {
    struct k_cpu *self; /* first: %gs:0 */
    unsigned index;     /* 0 is the boot CPU */
    uint32_t apic_id;
    volatile int online;
    /* live linking (poke.c) */
    volatile uint64_t sync_ack, park_ack;
    struct k_frame *volatile park_frame;
    uint64_t park_clock; /* its clock when it parked (poke.c) */
    uint64_t trap_hits; /* sites this CPU ran under a trap byte */
    /* work for this CPU (smp.c) */
    void (*volatile work_fn)(void *);
    void *volatile work_arg;
    volatile uint64_t work_gen, done_gen;
    uint64_t ipis;      /* IPIs taken */
    struct k_tss tss;
    uint8_t ist_df[K_IST_SIZE] __attribute__((aligned(16)));
    uint8_t ist_ud[K_IST_SIZE] __attribute__((aligned(16)));
    uint8_t stack[K_STACK_SIZE] __attribute__((aligned(16))); /* APs only */
};

extern struct k_cpu k_cpus[K_MAX_CPUS];
extern int k_apic_mode; /* local APIC + IOAPIC in use, GS set */

static inline struct k_cpu *k_this_cpu(void)
{
    struct k_cpu *c;

    if (!k_apic_mode)
        return &k_cpus[0];
    __asm__ __volatile__("mov %%gs:0, %0" : "=r"(c));
    return c;
}

/* The boot CPU: IDT, its TSS.  Another CPU: load the same IDT, its TSS. */
void k_trap_init(void);
void k_trap_init_cpu(struct k_cpu *c);
/* Called from vectors.S for every vector. */
void k_trap(struct k_frame *f);

/* The last fault recovered through the exception table. */
struct k_fault {
    uint64_t count;
    uint64_t vector, error, rip, cr2;
};
extern volatile struct k_fault k_last_fault;

/* Read or write 8 bytes at (p); 0 on success, -1 if it faulted (the fault
 * is then in k_last_fault). */
int k_probe_read(const volatile uint64_t *p, uint64_t *val);
int k_probe_write(volatile uint64_t *p, uint64_t val);

/* ---- mm.c: page tables ------------------------------------------------ */
#define K_PAGE 4096ull
#define K_HUGE (2ull << 20)
/* The run-time 4 KiB window: K_WIN_PAGES pages from K_WIN_BASE. */
#define K_WIN_BASE 0x4000000000ull /* 256 GiB, outside the identity map */
#define K_WIN_PAGES 512u

void k_mm_init(void);
/* Identity-map [pa, pa + len) (2 MiB pages, uncached if (uc)); 0 or -1
 * after printing why not. */
int k_mm_identity(uint64_t pa, uint64_t len, int uc);
/* Map window page (i) to physical frame (pa); unmap it and flush it. */
void *k_win_map(unsigned i, uint64_t pa);
void k_win_unmap(unsigned i);
/* The window page's PTE, for tests that bypass k_win_map. */
volatile uint64_t *k_win_pte(unsigned i);
/* Page frames of the kernel's own, for mapping tests. */
#define K_SCRATCH_PAGES 24u
uint64_t k_scratch_frame(unsigned i);

/* ---- timer.c: 8259 PIC, 8254 PIT, ticks, the native clock ------------- */
#define K_PIT_HZ 1193182u
#define K_TICK_HZ 100u
/* Program the PICs and the PIT; in APIC mode the PICs are masked and the
 * PIT's interrupt comes through the IOAPIC to the boot CPU. */
void k_timer_init(struct k_madt *m);
int k_timer_ok(void);
uint64_t k_ticks(void);
/* Is the timer interrupt pending (requested, not yet taken) at the boot
 * CPU? */
int k_timer_pending(void);
/* A PIC interrupt on (line) 0..15 arrived (from k_trap). */
void k_pic_irq(unsigned line);
/* The timer's vector arrived in APIC mode. */
void k_timer_irq(void);
/* The local APIC's spurious vector, or one nobody owns, arrived. */
void k_apic_spurious(void);
void k_unexpected_irq(void);
/* The native clock's time line: the largest value it has returned, and a
 * request that its next reads continue from at least (ns) (a re-link
 * from a ROM's clock to the native one).  Neither runs a site. */
uint64_t k_clock_native_last(void);
void k_clock_native_rebase(uint64_t ns);

/* ---- apic.c: local APIC and IOAPIC registers (APIC mode only) ---------- */
/* Map the registers and enable this CPU's local APIC (spurious vector
 * K_VEC_SPURIOUS, nothing on LINT0, NMI on LINT1 for the boot CPU). */
int k_lapic_init(uint64_t base);
void k_lapic_init_cpu(int boot);
uint32_t k_lapic_id(void);
void k_lapic_eoi(void);
/* Send (vector) as a fixed IPI to APIC id (dest). */
void k_lapic_ipi(uint32_t dest, unsigned vector);
/* INIT, then STARTUP at page (page) (real mode CS = page << 8). */
void k_lapic_init_ipi(uint32_t dest);
void k_lapic_startup_ipi(uint32_t dest, unsigned page);
/* Is (vector) requested at this CPU's local APIC? */
int k_lapic_pending(unsigned vector);
/* Route GSI (gsi) of the IOAPIC of (m) to (vector) at APIC id (dest),
 * with MPS INTI (flags); mask every other pin.  0, or -1 after a
 * message. */
int k_ioapic_route(const struct k_madt *m, uint32_t gsi, uint16_t flags, unsigned vector,
                   uint32_t dest);

/* ---- smp.c: CPUs --------------------------------------------------------- */
extern unsigned k_ncpus; /* online */
/* Decide APIC mode from the MADT (or stay in PIC mode); before the timer. */
void k_smp_init(struct k_madt *m);
/* Start the other CPUs the MADT lists; after the timer runs. */
void k_smp_start(const struct k_madt *m);
/* Run fn(arg) on CPU (c) (not this one), woken by an IPI; wait for it. */
void k_smp_run(struct k_cpu *c, void (*fn)(void *), void *arg);
void k_smp_wait(struct k_cpu *c);
/* An IPI vector arrived (from k_trap). */
void k_smp_ipi(struct k_frame *f);
/* A line on the boot console saying how the CPUs were found. */
void k_smp_report(void);

/* ---- poke.c: writing sites while other CPUs run them ------------------- */
struct k_poke_stats {
    const char *path;      /* "none", "direct", "breakpoint" or "rendezvous" */
    uint32_t changed;      /* sites written */
    uint32_t rounds;       /* synchronization rounds (all CPUs answered) */
    uint32_t ipis;         /* IPIs sent */
    uint32_t retries;      /* rendezvous given up because a CPU was inside */
    uint32_t moved;        /* CPUs moved past NOP padding of a changed site */
    uint64_t cycles;       /* TSC cycles the whole link took */
    char why[120];         /* why it failed, when the link's report cannot say */
};
/* Clocks before and after a link, when it moves clock_read sites between
 * the native clock (NULL) and a ROM's (its call entry); see poke.c. */
struct k_clock_move {
    int moves;
    uint64_t (*from)(void), (*to)(void);
};
/* Plan (l) in full, then write what changes, all or nothing, while every
 * other online CPU runs.  Returns PVL_OK, or the link's refusal (nothing
 * written), or PVL_E_WRITE/PVL_E_VERIFY after putting every site back. */
pvl_result k_poke_link(const struct pvl_link *l, const struct k_clock_move *cm,
                       struct k_poke_stats *st);
/* The trap handlers' part: a #UD at a site being written (1 if it was
 * one), and the SYNC and PARK IPIs. */
int k_poke_trap(struct k_frame *f);
void k_poke_sync(void);
void k_poke_park(struct k_frame *f);

/* ---- hv.c: the pvlink monitor, hypercalls, exit ----------------------- */
struct k_hv {
    int present; /* CPUID signature matched */
    uint32_t max_leaf;
    uint32_t rom_addr, rom_size, rom_region, rom_flags;
};
extern struct k_hv k_hv;

void k_hv_detect(void);
/* Issue hypercall (h); only when k_hv.present.  Returns h->ret. */
int32_t k_hcall(struct pvl_hcall *h);
/* Issue a hypercall whose request is at guest-physical (gpa), which may
 * be anything (hcfuzz). */
void k_hcall_raw(uint32_t gpa);
__attribute__((noreturn)) void k_exit(int code);

/* ---- link.c: finding, checking and linking a ROM ---------------------- */
void k_link_boot(void);
/* At a workload's midpoint: poll the monitor and link if it says so
 * (late linking), or re-link to the ROM it switched to.  Returns 1 if it
 * linked now. */
int k_link_poll(void);
/* Poll the monitor: link late if it says so (PVL_EV_LINK in the result);
 * learn, checked and loaded but not linked, a ROM a switch published
 * (PVL_EV_ROM_SWITCH in the result: k_rom_get(1) is it). */
int k_link_events(void);
/* Number of site records in the kernel. */
size_t k_nsites(void);

/* A ROM the kernel knows: the boot one (slot 0) and the one a switch
 * published (slot 1). */
struct k_rom;
const struct k_rom *k_rom_get(unsigned slot); /* NULL if none */
const char *k_rom_name(const struct k_rom *r); /* "ROM A", "ROM B", "native" */
/* Link every site to ROM (r), or native with NULL, while the other CPUs
 * run; (policy) may keep sites native (see relink.c).  Prints a report
 * line unless (quiet).  0 on success (st filled), -1 after a message. */
int k_link_to(const struct k_rom *r, const char *when, pvl_policy_fn policy, void *ctx,
              int quiet, struct k_poke_stats *st);
const struct k_rom *k_linked(void); /* what the sites are linked to */
/* Does ROM (r) require its own action for operation (op)?  (Its native
 * code is wrong under that ROM's monitor; k_link_to(NULL) then refuses.) */
int k_rom_requires(const struct k_rom *r, unsigned op);
/* Did the monitor announce a ROM switch, taken or not (declined,
 * rejected)? */
int k_switch_came(void);
/* Plan site (i) against ROM (r) (NULL: native) into (out); 0 or -1. */
int k_plan_site(const struct k_rom *r, size_t i, uint16_t *op, uint8_t *room,
                uint8_t out[PVL_ROOM_MAX]);

/* ---- selftest.c, work.c, hcfuzz.c, relink.c ---------------------------- */
int k_selftest(void);
/* relink N [SITES]: N re-link cycles under load on every CPU. */
int k_relink(const char *n, const char *sites);
/* The workload called (name), or -1. */
int k_work_find(const char *name);
/* Run workload (w) with the iteration count in (arg), or its default if
 * (arg) is NULL; -1 (after a message) if (arg) is not a valid count or a
 * check failed. */
int k_work_run(int w, const char *arg);
int k_hcfuzz(void);

/* ---- main.c ----------------------------------------------------------- */
__attribute__((noreturn)) void k_main(uint32_t start_info);

/* Image bounds from kernel.ld. */
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];
extern char __kernel_end[], __text_end[];

#define K_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* K_KERN_H */
