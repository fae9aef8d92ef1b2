/*
 * pvlink reference guest kernel: what its files share.
 *
 * Every privileged operation outside the boot path goes through a pvlink
 * site (the pvk_* wrappers of <pvlink/kernel.h>).  The only privileged
 * instructions that are not sites are those of the 32-bit entry and the
 * switch to long mode (entry.S), lgdt/lidt/ltr (descriptor tables, here),
 * and iretq in the interrupt return path (vectors.S).
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

/* ---- console.c: the 8250 UART and formatted output -------------------- */
void k_console_init(void);
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
    uint32_t nmemmap;
    struct k_memmap_entry memmap[K_MEMMAP_MAX];
    char cmdline[K_CMDLINE_MAX];
    uint64_t ram_top; /* end of the highest RAM entry; 0 if no map */
};

extern struct k_bootinfo k_boot;

/* Copy start_info at physical (pa) and what it points to into k_boot.
 * Returns 0, or -1 after printing what is wrong. */
int k_boot_copy(uint64_t pa);

/* ---- trap.c: GDT/TSS, IDT, exceptions, interrupts --------------------- */
struct k_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

void k_trap_init(void);
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
#define K_SCRATCH_PAGES 8u
uint64_t k_scratch_frame(unsigned i);

/* ---- timer.c: 8259 PIC, 8254 PIT, ticks, the native clock ------------- */
#define K_PIT_HZ 1193182u
#define K_TICK_HZ 100u
void k_timer_init(void);
int k_timer_ok(void);
uint64_t k_ticks(void);
/* Is IRQ 0 pending in the PIC (requested, not yet taken)? */
int k_timer_pending(void);
/* A PIC interrupt on (line) 0..15 arrived (from k_trap). */
void k_pic_irq(unsigned line);
/* The local APIC's spurious vector arrived. */
void k_apic_spurious(void);

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
/* At a workload's midpoint: poll the monitor and link if it says so.
 * Returns 1 if it linked now. */
int k_link_poll(void);
/* Number of site records in the kernel. */
size_t k_nsites(void);

/* ---- selftest.c, work.c, hcfuzz.c ------------------------------------- */
int k_selftest(void);
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
extern char __kernel_end[];

#define K_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* K_KERN_H */
