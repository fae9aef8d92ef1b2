/*
 * The smallest PVH guest: entered in 32-bit protected mode, it writes
 * "tiny\n" to COM1 (5 port exits), prints "hello\n" with one PUTS
 * hypercall, checks the hypercall's result, and exits with status 0
 * through the debug-exit port (or 1 if the hypercall failed).  Exactly 7
 * exits to the monitor; the monitor tests count them.
 */
#include <pvlink/hv.h>

    .code32
    .section .text, "ax"
    .globl _start
_start:
    mov $0x3f8, %dx
    mov $'t', %al
    out %al, %dx
    mov $'i', %al
    out %al, %dx
    mov $'n', %al
    out %al, %dx
    mov $'y', %al
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
    mov $req, %eax
    mov $PVL_HV_PORT, %dx
    out %eax, %dx
    xor %eax, %eax
    cmpl $6, req + 4
    setne %al
    mov $PVL_DEBUG_EXIT_PORT, %dx
    out %al, %dx
1:  hlt
    jmp 1b

    .section .data, "aw"
    .balign 8
req:
    .long PVL_HC_PUTS, 0
    .quad msg, 6, 0, 0
msg:
    .ascii "hello\n"

#include "note.inc"
