/*
 * The kernel operation catalog: interface "pvlink.kernel", version 1.0.
 *
 * These are the operations an environment may want to virtualize in a
 * kernel, the classes VMware's VMI covered.  Each has a fixed number, a
 * calling convention (arguments and result in fixed registers), a default
 * room, and a clobber mask: the registers any action at its sites may
 * change.  The site wrappers below (pvk_*) emit the native code inline,
 * padded to the room, with a site record.
 *
 * Conventions
 *   - Arguments in %rdi, %rsi (the first two System V argument registers);
 *     the result in %rax.  CPUID is the exception: leaf in %eax, subleaf in
 *     %ecx, results in %eax, %ebx, %ecx, %edx, as the instruction has them.
 *   - "save" operations (interrupt flag, control registers, TLB, PTE, lazy
 *     MMU, I/O delay, no-op) may change only their result register and the
 *     flags, whatever the action: a call entry for one of them must preserve
 *     every other register (the callee-save thunk idea of paravirt_ops), so
 *     that the site costs the surrounding code nothing.
 *   - "C" operations (MSRs, port I/O, console, clock) may change every
 *     System V caller-saved register: their call entries are plain C.
 *   - Native code of console_write and clock_read is a call to a function
 *     the program defines: pvk_native_console_write(buf, len) and
 *     pvk_native_clock_read(void), both with hidden visibility.
 *
 * The catalog itself (numbers, rooms, clobbers, native code) is in
 * <pvlink/kernel_ops.h>.
 */
#ifndef PVLINK_KERNEL_H
#define PVLINK_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "site.h"

#include "kernel_ops.h"

/* Operand list for a site of catalog operation OP with site flags (sfl). */
#define PVK_SITE_IN(OP, clb, sfl)                                            \
    PVL_SITE_IN(&pvk_iface_desc, PVK_OP_##OP, PVK_ROOM_##OP, clb, sfl)

/* The descriptor every object with kernel sites carries. */
PVL_IFACE_DESC(pvk_iface_desc, PVK_IFACE_NAME, PVK_IFACE_MAJOR,
               PVK_IFACE_MINOR, PVK_NOPS);

/* Registers a C-convention site adds to its explicit operands. */
#define PVK_C_CLOBBERS "rcx", "r8", "r9", "r10", "r11", "memory", "cc"

/* Site flags for every wrapper below; a kernel may define it as
 * PVL_SITE_MUST_PATCH before including this header for a build whose
 * native sequences are known not to work under its environment. */
#ifndef PVK_SITE_FLAGS
#define PVK_SITE_FLAGS 0
#endif

/* "save" operation with no argument and no result. */
#define PVK_SAVE0_(OP, txt)                                                  \
    __asm__ __volatile__(PVL_SITE(txt)                                       \
                         :                                                   \
                         : PVK_SITE_IN(OP, PVK_CLB_SAVE, PVK_SITE_FLAGS)     \
                         : "memory", "cc")
/* "save" operation with one argument in %rdi and no result. */
#define PVK_SAVE1_(OP, txt, a)                                               \
    __asm__ __volatile__(PVL_SITE(txt)                                       \
                         :                                                   \
                         : "D"(a),                                           \
                           PVK_SITE_IN(OP, PVK_CLB_SAVE, PVK_SITE_FLAGS)     \
                         : "memory", "cc")
/* "save" operation with a result in %rax. */
#define PVK_SAVER_(OP, txt, r)                                               \
    __asm__ __volatile__(PVL_SITE(txt)                                       \
                         : "=a"(r)                                           \
                         : PVK_SITE_IN(OP, PVK_CLB_SAVE_RAX, PVK_SITE_FLAGS) \
                         : "memory", "cc")

static inline void pvk_nop(void) { PVK_SAVE0_(NOP, ""); }
static inline void pvk_irq_disable(void) { PVK_SAVE0_(IRQ_DISABLE, "cli"); }
static inline void pvk_irq_enable(void) { PVK_SAVE0_(IRQ_ENABLE, "sti"); }
static inline void pvk_safe_halt(void) { PVK_SAVE0_(SAFE_HALT, "sti; hlt"); }
static inline void pvk_halt(void) { PVK_SAVE0_(HALT, "hlt"); }
static inline void pvk_lazy_mmu_begin(void) { PVK_SAVE0_(LAZY_MMU_BEGIN, ""); }
static inline void pvk_lazy_mmu_end(void) { PVK_SAVE0_(LAZY_MMU_END, ""); }
static inline void pvk_io_delay(void)
{
    PVK_SAVE0_(IO_DELAY, "outb %%al, $0x80");
}

static inline uint64_t pvk_save_fl(void)
{
    uint64_t r;
    PVK_SAVER_(SAVE_FL, "pushfq; pop %%rax", r);
    return r;
}
static inline void pvk_restore_fl(uint64_t fl)
{
    PVK_SAVE1_(RESTORE_FL, "push %%rdi; popfq", fl);
}

#define PVK_CR_(n)                                                           \
    static inline uint64_t pvk_read_cr##n(void)                              \
    {                                                                        \
        uint64_t r;                                                          \
        PVK_SAVER_(READ_CR##n, "mov %%cr" #n ", %%rax", r);                  \
        return r;                                                            \
    }                                                                        \
    static inline void pvk_write_cr##n(uint64_t v)                           \
    {                                                                        \
        PVK_SAVE1_(WRITE_CR##n, "mov %%rdi, %%cr" #n, v);                    \
    }
PVK_CR_(0)
PVK_CR_(2)
PVK_CR_(3)
PVK_CR_(4)
#undef PVK_CR_

static inline void pvk_flush_tlb_one(const volatile void *addr)
{
    PVK_SAVE1_(FLUSH_TLB_ONE, "invlpg (%%rdi)", addr);
}
static inline void pvk_flush_tlb_all(void)
{
    uint64_t r;
    PVK_SAVER_(FLUSH_TLB_ALL, "mov %%cr3, %%rax; mov %%rax, %%cr3", r);
    (void)r;
}
static inline void pvk_set_pte(volatile uint64_t *ptep, uint64_t val)
{
    __asm__ __volatile__(
        PVL_SITE("mov %%rsi, (%%rdi)")
        :
        : "D"(ptep), "S"(val),
          PVK_SITE_IN(SET_PTE, PVK_CLB_SAVE, PVK_SITE_FLAGS)
        : "memory", "cc");
}

static inline uint64_t pvk_read_tsc(void)
{
    uint64_t r, d;
    __asm__ __volatile__(
        PVL_SITE("rdtsc; shl $32, %%rdx; or %%rdx, %%rax")
        : "=a"(r), "=d"(d)
        : PVK_SITE_IN(READ_TSC, PVK_CLB_TSC, PVK_SITE_FLAGS)
        : "memory", "cc");
    (void)d;
    return r;
}

struct pvk_cpuid {
    uint32_t eax, ebx, ecx, edx;
};
static inline struct pvk_cpuid pvk_cpuid(uint32_t leaf, uint32_t sub)
{
    struct pvk_cpuid c;
    __asm__ __volatile__(
        PVL_SITE("cpuid")
        : "=a"(c.eax), "=b"(c.ebx), "=c"(c.ecx), "=d"(c.edx)
        : "a"(leaf), "c"(sub),
          PVK_SITE_IN(CPUID, PVK_CLB_CPUID, PVK_SITE_FLAGS)
        : "memory", "cc");
    return c;
}

/*
 * C-convention operation: (a0) in %rdi, (a1) in %rsi, result in (r); the
 * trailing arguments are extra input operands (the native call target).
 */
#define PVK_C_(SITE, OP, sfl, r, a0, a1, ...)                                \
    do {                                                                     \
        uint64_t d_;                                                         \
        __asm__ __volatile__(SITE                                            \
                             : "=a"(r), "+D"(a0), "+S"(a1), "=d"(d_)         \
                             : PVK_SITE_IN(OP, PVK_CLB_C, sfl), __VA_ARGS__  \
                             : PVK_C_CLOBBERS);                              \
        (void)d_;                                                            \
    } while (0)
/* An unused extra operand for the sites that have no call target. */
#define PVK_NO_TARGET_ [pvl_unused] "i"(0)

static inline uint64_t pvk_read_msr(uint32_t msr)
{
    uint64_t r, a0 = msr, a1 = 0;
    PVK_C_(PVL_SITE("mov %%edi, %%ecx; rdmsr; shl $32, %%rdx; "
                    "or %%rdx, %%rax"),
           READ_MSR, PVK_SITE_FLAGS, r, a0, a1, PVK_NO_TARGET_);
    return r;
}
static inline void pvk_write_msr(uint32_t msr, uint64_t val)
{
    uint64_t r, a0 = msr, a1 = val;
    PVK_C_(PVL_SITE("mov %%edi, %%ecx; mov %%esi, %%eax; mov %%rsi, %%rdx; "
                    "shr $32, %%rdx; wrmsr"),
           WRITE_MSR, PVK_SITE_FLAGS, r, a0, a1, PVK_NO_TARGET_);
    (void)r;
}

#define PVK_IN_(w, W, txt)                                                   \
    static inline uint32_t pvk_in##w(uint16_t port)                          \
    {                                                                        \
        uint64_t r, a0 = port, a1 = 0;                                       \
        PVK_C_(PVL_SITE(txt), IN##W, PVK_SITE_FLAGS, r, a0, a1,              \
               PVK_NO_TARGET_);                                              \
        return (uint32_t)r;                                                  \
    }
#define PVK_OUT_(w, W, txt)                                                  \
    static inline void pvk_out##w(uint16_t port, uint32_t v)                 \
    {                                                                        \
        uint64_t r, a0 = port, a1 = v;                                       \
        PVK_C_(PVL_SITE(txt), OUT##W, PVK_SITE_FLAGS, r, a0, a1,             \
               PVK_NO_TARGET_);                                              \
        (void)r;                                                             \
    }
PVK_IN_(b, B, "mov %%edi, %%edx; inb %%dx, %%al; movzbl %%al, %%eax")
PVK_IN_(w, W, "mov %%edi, %%edx; inw %%dx, %%ax; movzwl %%ax, %%eax")
PVK_IN_(l, L, "mov %%edi, %%edx; inl %%dx, %%eax")
PVK_OUT_(b, B, "mov %%edi, %%edx; mov %%esi, %%eax; outb %%al, %%dx")
PVK_OUT_(w, W, "mov %%edi, %%edx; mov %%esi, %%eax; outw %%ax, %%dx")
PVK_OUT_(l, L, "mov %%edi, %%edx; mov %%esi, %%eax; outl %%eax, %%dx")
#undef PVK_IN_
#undef PVK_OUT_

/* Defaults the program supplies for the operations whose native code is a
 * call.  They follow the C convention. */
__attribute__((visibility("hidden"))) void
pvk_native_console_write(const char *buf, size_t len);
__attribute__((visibility("hidden"))) uint64_t pvk_native_clock_read(void);

static inline void pvk_console_write(const char *buf, size_t len)
{
    uint64_t r, a0 = (uint64_t)(uintptr_t)buf, a1 = len;
    PVK_C_(PVL_SITE_CALL(), CONSOLE_WRITE,
           PVK_SITE_FLAGS | PVL_SITE_NATIVE_CALL, r, a0, a1,
           [pvl_target] "i"(pvk_native_console_write));
    (void)r;
}
static inline uint64_t pvk_clock_read(void)
{
    uint64_t r, a0 = 0, a1 = 0;
    PVK_C_(PVL_SITE_CALL(), CLOCK_READ,
           PVK_SITE_FLAGS | PVL_SITE_NATIVE_CALL, r, a0, a1,
           [pvl_target] "i"(pvk_native_clock_read));
    return r;
}

#undef PVK_C_
#undef PVK_NO_TARGET_

#endif /* PVLINK_KERNEL_H */
