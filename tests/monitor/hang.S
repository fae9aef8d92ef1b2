/* A guest that halts with interrupts off: nothing ever wakes it. */
    .code32
    .section .text, "ax"
    .globl _start
_start:
    cli
    hlt
    jmp _start
#include "note.inc"
