/*
 * A binary whose site table has one of each problem `pvlink check`
 * finds (the comment above each site says which), for the golden output
 * of check and of sites on an inconsistent table.
 */
#include "site.inc"

    /* a fixed file symbol: the linker would name one after a temporary
       object, whose name depends on the compiler driver */
    .file "bad.S"

IFACE_DESC(kdesc, "pvlink.kernel", 1, 0, 33)
IFACE_DESC(tdesc, "pvlink.test", 1, 0, 4)
IFACE_DESC(tdesc2, "pvlink.test", 2, 0, 4)
IFACE_DESC(kdesc2, "pvlink.kernel", 2, 0, 33)

    .text
    .globl _start
FUNC(_start)
    ud2
ENDFUNC(_start)

FUNC(bad_sites)
    /* 0: irq_disable whose native code is sti */
first:
    SITE(kdesc, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, sti)
    /* 1: read_cr3 in a room of 4: smaller than the catalog's, and than a call */
    SITE(kdesc, OP_READ_CR3, 4, CLB_SAVE_RAX, 0, mov %cr3, %rax)
    /* 2: irq_enable allowing rax: clobbers differ from the catalog */
    SITE(kdesc, OP_IRQ_ENABLE, 5, CLB_SAVE_RAX, 0, sti)
    /* 3: padding that is not NOPs */
    SITE(kdesc, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, cli; .byte 0xcc, 0xcc, 0xcc, 0xcc)
    /* 4: a native call to another function than the record's target */
    SITE_BODY(5, call bad_other)
    SITE_RECORD(771b, 773b, bad_default - ., kdesc, CLB_C, OP_CONSOLE_WRITE, 5, NATIVE_CALL)
    /* 5: the original copy differs from the site (cli here, sti there) */
    771: cli ; .nops 4
    .pushsection pvlink_orig, "a" ; 773: sti ; .nops 4 ; .popsection
    SITE_RECORD(771b, 773b, 0, kdesc, CLB_SAVE, OP_IRQ_DISABLE, 5, 0)
    /* 6: operation 40: past the descriptor and the catalog */
    SITE(kdesc, 40, 5, CLB_SAVE, 0, cli)
    /* 7: the native-call flag on irq_disable, whose native code is inline */
    SITE_CALL(kdesc, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, bad_default)
    /* 8: a second record for site 0: they overlap */
    SITE_RECORD(first, first, 0, kdesc, CLB_SAVE, OP_IRQ_DISABLE, 5, 0)
    /* 9: test interface, bytes that do not decode within the room */
    SITE(tdesc, 0, 3, CLB_SAVE_RAX, 0, .byte 0xb8, 0x01, 0x00)
    /* 10: invalid record: unknown flags */
    SITE(tdesc, 1, 6, CLB_FLAGS, 0x80, mov %rsi, (%rdi))
    /* 11: invalid record: the site address points far outside */
    SITE_RECORD(first + 0x10000000, first, 0, kdesc, CLB_SAVE, OP_NOP, 5, 0)
    /* 12: pvlink.test 2.0 beside 1.0: one interface in two major versions */
    SITE(tdesc2, 0, 8, CLB_SAVE_RAX, 0, lea (%rdi,%rsi), %rax)
    /* 13: pvlink.kernel 2.0: pvlink's catalog is 1.0 (and 1.0 is here too) */
    SITE(kdesc2, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, cli)
    ret
ENDFUNC(bad_sites)

FUNC(bad_other)
    ret
ENDFUNC(bad_other)

FUNC(bad_default)
    ret
ENDFUNC(bad_default)

    /* 14: a site in data, not in an executable segment */
    .section .rodata, "a"
    .globl bad_data
    .type bad_data, @object
bad_data:
    SITE(kdesc, OP_HALT, 5, CLB_SAVE, 0, hlt)
    .size bad_data, . - bad_data
