/*
 * The test interface, "pvlink.test" 1.0, with real sites: what an
 * application-defined interface looks like in a program.
 *
 *   add(a, b) -> a + b    %rdi, %rsi -> %rax; may change rax, flags, stack
 *   poke(p, v)            *p = v; may change flags, stack
 *   get() -> 0x11         C convention
 *   hook()                native code calls tst_hook_default(); C convention
 */
#ifndef PVL_TEST_TIFACE_H
#define PVL_TEST_TIFACE_H

#include <pvlink/site.h>

#include "tiface_ops.h"

/* Sites in this (hosted, -mno-red-zone) code may also have memory below
 * RSP written (STACK): a call there pushes its return address. */
#define TST_SAVE (PVL_CLB(FLAGS) | PVL_CLB(STACK))
#define TST_SAVER (PVL_CLB(RAX) | TST_SAVE)

PVL_IFACE_DESC(tst_desc, "pvlink.test", 1, 0, TOP_NOPS);

__attribute__((visibility("hidden"))) void tst_hook_default(void);

static inline uint64_t tst_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    __asm__ __volatile__(PVL_SITE("lea (%%rdi,%%rsi), %%rax")
                         : "=a"(r)
                         : "D"(a), "S"(b),
                           PVL_SITE_IN(&tst_desc, TOP_ADD, 8, TST_SAVER, 0)
                         : "cc");
    return r;
}

static inline void tst_poke(volatile uint64_t *p, uint64_t v)
{
    __asm__ __volatile__(PVL_SITE("mov %%rsi, (%%rdi)")
                         :
                         : "D"(p), "S"(v),
                           PVL_SITE_IN(&tst_desc, TOP_POKE, 6, TST_SAVE, 0)
                         : "memory", "cc");
}

/* What a C function may change (PVL_CLB_C), as asm clobbers. */
#define TST_C_CLOBBERS "rcx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", \
    "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",       \
    "xmm12", "xmm13", "xmm14", "xmm15"

static inline uint64_t tst_get(void)
{
    uint64_t r, di, si, dx;
    __asm__ __volatile__(PVL_SITE("mov $0x11, %%eax")
                         : "=a"(r), "=D"(di), "=S"(si), "=d"(dx)
                         : PVL_SITE_IN(&tst_desc, TOP_GET, 5, PVL_CLB_C, 0)
                         : TST_C_CLOBBERS);
    return r;
}

static inline void tst_hook(void)
{
    uint64_t r, di, si, dx;
    __asm__ __volatile__(PVL_SITE_CALL()
                         : "=a"(r), "=D"(di), "=S"(si), "=d"(dx)
                         : PVL_SITE_IN(&tst_desc, TOP_HOOK, 5, PVL_CLB_C,
                                       PVL_SITE_NATIVE_CALL),
                           [pvl_target] "i"(tst_hook_default)
                         : TST_C_CLOBBERS);
}

#endif
