/*
 * The pvlink tool's fixture: a small binary with sites of the kernel
 * catalog and of the test interface "pvlink.test" (tests/tiface.h), all
 * consistent, at addresses fixed by the link (tools/tools.mk builds it
 * as a static executable and as a stripped shared library).
 */
#include "site.inc"

    /* a fixed file symbol: the linker would name one after a temporary
       object, whose name depends on the compiler driver */
    .file "fixture.S"

IFACE_DESC(kdesc, "pvlink.kernel", 1, 0, 33)
IFACE_DESC(tdesc, "pvlink.test", 1, 0, 4)

    .text
    .globl _start
FUNC(_start)
    ud2
ENDFUNC(_start)

    .globl fx_irq
FUNC(fx_irq)
    SITE(kdesc, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, cli)
    SITE(kdesc, OP_IRQ_ENABLE, 5, CLB_SAVE, 0, sti)
    ret
ENDFUNC(fx_irq)

    .globl fx_tsc
FUNC(fx_tsc)
    SITE(kdesc, OP_READ_TSC, 9, CLB_TSC, 0, rdtsc; shl $32, %rdx; or %rdx, %rax)
    ret
ENDFUNC(fx_tsc)

/* local: no name in the stripped library */
FUNC(fx_cr3)
    SITE(kdesc, OP_READ_CR3, 5, CLB_SAVE_RAX, 0, mov %cr3, %rax)
    SITE(kdesc, OP_WRITE_CR3, 5, CLB_SAVE, MUST_PATCH, mov %rdi, %cr3)
    ret
ENDFUNC(fx_cr3)

    .globl fx_io
FUNC(fx_io)
    SITE(kdesc, OP_INB, 6, CLB_C, 0, mov %edi, %edx; inb %dx, %al; movzbl %al, %eax)
    SITE(kdesc, OP_IO_DELAY, 5, CLB_SAVE, 0, outb %al, $0x80)
    SITE(kdesc, OP_NOP, 5, CLB_SAVE, 0, )
    ret
ENDFUNC(fx_io)

    .globl fx_console
FUNC(fx_console)
    SITE_CALL(kdesc, OP_CONSOLE_WRITE, 5, CLB_C, 0, fx_console_native)
    ret
ENDFUNC(fx_console)

/* test interface: add (0), poke (1), hook (3) */
    .globl fx_test
FUNC(fx_test)
    SITE(tdesc, 0, 8, CLB_SAVE_RAX, 0, lea (%rdi,%rsi), %rax)
    SITE(tdesc, 1, 6, CLB_FLAGS, 0, mov %rsi, (%rdi))
    SITE_CALL(tdesc, 3, 5, CLB_CFULL, 0, fx_hook_default)
    ret
ENDFUNC(fx_test)

FUNC(fx_console_native)
    ret
ENDFUNC(fx_console_native)

FUNC(fx_hook_default)
    ret
ENDFUNC(fx_hook_default)
