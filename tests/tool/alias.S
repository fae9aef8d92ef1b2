/*
 * Rooms the linker refuses that each record alone does not show: a site
 * whose original copy lies in its own room (the linker would read the
 * copy while it writes the room), and a site whose room runs past the end
 * of the executable code.  `pvlink check` and `pvlink plan` must report
 * them in the linker's words.
 */
#include "site.inc"

    .file "alias.S"

IFACE_DESC(kdesc, "pvlink.kernel", 1, 0, 33)

    .text
    .globl _start
FUNC(_start)
    ud2
ENDFUNC(_start)

FUNC(alias_sites)
    /* 0: a sound site */
    SITE(kdesc, OP_IRQ_DISABLE, 5, CLB_SAVE, 0, cli)
    /* 1: its original copy is its own room */
771: sti ; .nops 4
    SITE_RECORD(771b, 771b, 0, kdesc, CLB_SAVE, OP_IRQ_ENABLE, 5, 0)
    ret
ENDFUNC(alias_sites)

    /* 2: the last bytes of the code: a room of 5 with 3 of them past
       the end of .text */
FUNC(alias_last)
    .nops 2
771: cli ; .nops 1
    .pushsection pvlink_orig, "a" ; 773: cli ; .nops 4 ; .popsection
    SITE_RECORD(771b, 773b, 0, kdesc, CLB_SAVE, OP_IRQ_DISABLE, 5, 0)
ENDFUNC(alias_last)
