/*
 * Interrupt and exception entry: one stub per vector pushes an error code
 * (0 where the CPU pushes none) and the vector number, the common path
 * saves every general register into a struct k_frame and calls k_trap().
 *
 * iretq is the one privileged instruction of the return path that is not
 * a pvlink site: returning from an interrupt has no catalog operation (the
 * interrupt flag it restores is the interrupted code's own).
 *
 * No SSE/x87 state is saved: the kernel is built -mgeneral-regs-only.
 */
        .text
        .code64

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
                    (v) == 21 || (v) == 29 || (v) == 30)

        .macro STUB v
        .balign 16
1:
        .if !HAS_ERR(\v)
        push $0
        .endif
        push $\v
        jmp k_trap_common
        .pushsection .rodata.k_trap_stubs, "a"
        .quad 1b
        .popsection
        .endm

        .globl k_trap_common
k_trap_common:
        push %rax
        push %rbx
        push %rcx
        push %rdx
        push %rsi
        push %rdi
        push %rbp
        push %r8
        push %r9
        push %r10
        push %r11
        push %r12
        push %r13
        push %r14
        push %r15
        cld
        mov %rsp, %rdi
        call k_trap
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rbp
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
        add $16, %rsp           /* vector, error code */
        iretq

/* A stub for every vector; each appends its address to k_trap_stubs,
 * which therefore has 256 entries in vector order. */
        .pushsection .rodata.k_trap_stubs, "a"
        .balign 8
        .globl k_trap_stubs
k_trap_stubs:
        .popsection

        .set v, 0
        .rept 256
        STUB v
        .set v, v + 1
        .endr

        .section .note.GNU-stack, "", @progbits
