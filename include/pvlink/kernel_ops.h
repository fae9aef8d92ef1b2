/*
 * The kernel operation catalog as data: interface "pvlink.kernel" 1.1.
 * Included by <pvlink/kernel.h> (the site wrappers) and by the linker's
 * catalog table; see <pvlink/kernel.h> for the conventions.
 *
 * Catalog columns: NAME, name, room, the minor version that gave the room
 * its value, clobbers, properties, native code as assembler text (for
 * extended asm), native code as bytes.  Numbers follow
 * the order of the list; a new operation is appended and bumps the minor
 * version.  A room may grow in a minor version (code sized for the old
 * room still fits): 1.1 grew the interrupt-flag operations' rooms from 5 to
 * 8 bytes, so that an environment can keep a virtual interrupt flag in
 * memory and inline it (a store of an immediate to an absolute address is
 * 8 bytes; RIP-relative operands are not allowed in templates).
 */
#ifndef PVLINK_KERNEL_OPS_H
#define PVLINK_KERNEL_OPS_H

#include "abi.h"

#define PVK_IFACE_NAME "pvlink.kernel"
#define PVK_IFACE_MAJOR 1
#define PVK_IFACE_MINOR 1

/*
 * What kernel sites allow.  The kernel is built without a red zone, so
 * every site may write below RSP (STACK); it never allows vector, x87,
 * mask or MXCSR state, which may hold a user program's values: its "C"
 * operations allow the integer part of the C set only.
 */
#define PVK_CLB_SAVE (PVL_CLB(FLAGS) | PVL_CLB(STACK))
#define PVK_CLB_SAVE_RAX (PVL_CLB(RAX) | PVK_CLB_SAVE)
#define PVK_CLB_TSC (PVL_CLB(RAX) | PVL_CLB(RDX) | PVK_CLB_SAVE)
#define PVK_CLB_CPUID                                                        \
    (PVL_CLB(RAX) | PVL_CLB(RBX) | PVL_CLB(RCX) | PVL_CLB(RDX) | PVK_CLB_SAVE)
#define PVK_CLB_C PVL_CLB_C_INT

#define PVK_R PVL_OP_RESULT
#define PVK_NC (PVL_OP_NATIVE_CALL)
#define PVK_NCR (PVL_OP_NATIVE_CALL | PVL_OP_RESULT)

/* clang-format off */
#define PVK_CATALOG(X)                                                       \
 X(NOP,            nop,            5, 0, PVK_CLB_SAVE,     0,     "", "")          \
 X(IRQ_DISABLE,    irq_disable,    8, 1, PVK_CLB_SAVE,     0,     "cli", "\xfa")   \
 X(IRQ_ENABLE,     irq_enable,     8, 1, PVK_CLB_SAVE,     0,     "sti", "\xfb")   \
 X(SAVE_FL,        save_fl,        8, 1, PVK_CLB_SAVE_RAX, PVK_R, "pushfq; pop %%rax", "\x9c\x58") \
 X(RESTORE_FL,     restore_fl,     8, 1, PVK_CLB_SAVE,     0,     "push %%rdi; popfq", "\x57\x9d") \
 X(SAFE_HALT,      safe_halt,      5, 0, PVK_CLB_SAVE,     0,     "sti; hlt", "\xfb\xf4") \
 X(HALT,           halt,           5, 0, PVK_CLB_SAVE,     0,     "hlt", "\xf4")   \
 X(READ_CR0,       read_cr0,       5, 0, PVK_CLB_SAVE_RAX, PVK_R, "mov %%cr0, %%rax", "\x0f\x20\xc0") \
 X(WRITE_CR0,      write_cr0,      5, 0, PVK_CLB_SAVE,     0,     "mov %%rdi, %%cr0", "\x0f\x22\xc7") \
 X(READ_CR2,       read_cr2,       5, 0, PVK_CLB_SAVE_RAX, PVK_R, "mov %%cr2, %%rax", "\x0f\x20\xd0") \
 X(WRITE_CR2,      write_cr2,      5, 0, PVK_CLB_SAVE,     0,     "mov %%rdi, %%cr2", "\x0f\x22\xd7") \
 X(READ_CR3,       read_cr3,       5, 0, PVK_CLB_SAVE_RAX, PVK_R, "mov %%cr3, %%rax", "\x0f\x20\xd8") \
 X(WRITE_CR3,      write_cr3,      5, 0, PVK_CLB_SAVE,     0,     "mov %%rdi, %%cr3", "\x0f\x22\xdf") \
 X(READ_CR4,       read_cr4,       5, 0, PVK_CLB_SAVE_RAX, PVK_R, "mov %%cr4, %%rax", "\x0f\x20\xe0") \
 X(WRITE_CR4,      write_cr4,      5, 0, PVK_CLB_SAVE,     0,     "mov %%rdi, %%cr4", "\x0f\x22\xe7") \
 X(READ_MSR,       read_msr,      11, 0, PVK_CLB_C,        PVK_R,                  \
   "mov %%edi, %%ecx; rdmsr; shl $32, %%rdx; or %%rdx, %%rax",                   \
   "\x89\xf9\x0f\x32\x48\xc1\xe2\x20\x48\x09\xd0")                              \
 X(WRITE_MSR,      write_msr,     13, 0, PVK_CLB_C,        0,                      \
   "mov %%edi, %%ecx; mov %%esi, %%eax; mov %%rsi, %%rdx; shr $32, %%rdx; wrmsr", \
   "\x89\xf9\x89\xf0\x48\x89\xf2\x48\xc1\xea\x20\x0f\x30")                      \
 X(READ_TSC,       read_tsc,       9, 0, PVK_CLB_TSC,      PVK_R,                  \
   "rdtsc; shl $32, %%rdx; or %%rdx, %%rax",                                     \
   "\x0f\x31\x48\xc1\xe2\x20\x48\x09\xd0")                                      \
 X(CPUID,          cpuid,          5, 0, PVK_CLB_CPUID,    PVK_R, "cpuid", "\x0f\xa2") \
 X(FLUSH_TLB_ONE,  flush_tlb_one,  5, 0, PVK_CLB_SAVE,     0,     "invlpg (%%rdi)", "\x0f\x01\x3f") \
 X(FLUSH_TLB_ALL,  flush_tlb_all,  6, 0, PVK_CLB_SAVE_RAX, 0,                      \
   "mov %%cr3, %%rax; mov %%rax, %%cr3", "\x0f\x20\xd8\x0f\x22\xd8")            \
 X(SET_PTE,        set_pte,        5, 0, PVK_CLB_SAVE,     0,     "mov %%rsi, (%%rdi)", "\x48\x89\x37") \
 X(LAZY_MMU_BEGIN, lazy_mmu_begin, 5, 0, PVK_CLB_SAVE,     0,     "", "")          \
 X(LAZY_MMU_END,   lazy_mmu_end,   5, 0, PVK_CLB_SAVE,     0,     "", "")          \
 X(INB,            inb,            6, 0, PVK_CLB_C,        PVK_R,                  \
   "mov %%edi, %%edx; inb %%dx, %%al; movzbl %%al, %%eax", "\x89\xfa\xec\x0f\xb6\xc0") \
 X(INW,            inw,            7, 0, PVK_CLB_C,        PVK_R,                  \
   "mov %%edi, %%edx; inw %%dx, %%ax; movzwl %%ax, %%eax", "\x89\xfa\x66\xed\x0f\xb7\xc0") \
 X(INL,            inl,            5, 0, PVK_CLB_C,        PVK_R,                  \
   "mov %%edi, %%edx; inl %%dx, %%eax", "\x89\xfa\xed")                         \
 X(OUTB,           outb,           5, 0, PVK_CLB_C,        0,                      \
   "mov %%edi, %%edx; mov %%esi, %%eax; outb %%al, %%dx", "\x89\xfa\x89\xf0\xee") \
 X(OUTW,           outw,           6, 0, PVK_CLB_C,        0,                      \
   "mov %%edi, %%edx; mov %%esi, %%eax; outw %%ax, %%dx", "\x89\xfa\x89\xf0\x66\xef") \
 X(OUTL,           outl,           5, 0, PVK_CLB_C,        0,                      \
   "mov %%edi, %%edx; mov %%esi, %%eax; outl %%eax, %%dx", "\x89\xfa\x89\xf0\xef") \
 X(IO_DELAY,       io_delay,       5, 0, PVK_CLB_SAVE,     0,     "outb %%al, $0x80", "\xe6\x80") \
 X(CONSOLE_WRITE,  console_write,  5, 0, PVK_CLB_C,        PVK_NC,  "", "")        \
 X(CLOCK_READ,     clock_read,     5, 0, PVK_CLB_C,        PVK_NCR, "", "")
/* clang-format on */

#define PVK_ENUM_OP_(N, n, room, since, clb, fl, txt, bytes) PVK_OP_##N,
#define PVK_ENUM_ROOM_(N, n, room, since, clb, fl, txt, bytes) PVK_ROOM_##N = room,
enum pvk_op { PVK_CATALOG(PVK_ENUM_OP_) PVK_NOPS };
enum pvk_room { PVK_CATALOG(PVK_ENUM_ROOM_) PVK_ROOM_END_ };
#undef PVK_ENUM_OP_
#undef PVK_ENUM_ROOM_

#endif /* PVLINK_KERNEL_OPS_H */
