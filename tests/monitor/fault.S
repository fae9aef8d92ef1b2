/* A guest that executes ud2 with no IDT: #UD, then a triple fault. */
    .code32
    .section .text, "ax"
    .globl _start
_start:
    ud2
#include "note.inc"
