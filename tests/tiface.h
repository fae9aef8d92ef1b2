/*
 * The test interface, "pvlink.test" 1.0, with real sites: what an
 * application-defined interface looks like in a program.
 *
 *   add(a, b) -> a + b    %rdi, %rsi -> %rax; may change rax, flags
 *   poke(p, v)            *p = v; may change flags
 *   get() -> 0x11         C convention
 *   hook()                native code calls tst_hook_default(); C convention
 */
#ifndef PVL_TEST_TIFACE_H
#define PVL_TEST_TIFACE_H

#include <pvlink/site.h>

#include "tiface_ops.h"

#define TST_SAVER (PVL_CLB(RAX) | PVL_CLB(FLAGS))

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
                           PVL_SITE_IN(&tst_desc, TOP_POKE, 6, PVL_CLB(FLAGS), 0)
                         : "memory", "cc");
}

#define TST_C_CLOBBERS "rcx", "r8", "r9", "r10", "r11", "memory", "cc"

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
