/*
 * The ways between guest code and the monitor that C cannot express:
 *
 *   spt_syscall     the monitor's system calls (no errno, no TLS)
 *   spt_sigreturn   the restorer every handler returns through
 *   spt_sig_entry   every signal handler: the monitor's FS base in, the
 *                   guest's back out (the guest may change FS and GS bases
 *                   at will: with FSGSBASE they are ring-3 registers)
 *   spt_gate        the ROM's call into the monitor, with no trap: saves
 *                   every guest register, switches to the gate stack and
 *                   the monitor's FS, runs spt_gate_c, and resumes the
 *                   guest where spt_gate_regs says (normally the return
 *                   address on its stack)
 *   spt_enter       the first guest instruction: a ud2 whose handler
 *                   replaces the monitor's context with the guest's
 *
 * spt_in_monitor says where the CPU is for asynchronous signals: 0 guest,
 * 1 this file's gate code, 2 monitor C code.
 */
#include "spt.h"

#define G spt_gate_regs
#define GATE_STACK 65536

    .text

    .globl spt_syscall
    .type spt_syscall, @function
spt_syscall:
    endbr64
    mov %rdi, %rax
    mov %rsi, %rdi
    mov %rdx, %rsi
    mov %rcx, %rdx
    mov %r8, %r10
    mov %r9, %r8
    mov 8(%rsp), %r9
    syscall
    ret
    .size spt_syscall, . - spt_syscall

    .globl spt_sigreturn
    .type spt_sigreturn, @function
spt_sigreturn:
    mov $15, %eax               /* rt_sigreturn */
    syscall
    ud2
    .size spt_sigreturn, . - spt_sigreturn

/* (int sig, siginfo_t *si, ucontext_t *uc), on the alternate stack with
 * every signal blocked; the kernel cleared DF and TF, not AC. */
    .globl spt_sig_entry
    .type spt_sig_entry, @function
spt_sig_entry:
    endbr64
    sub $24, %rsp               /* bases[2], alignment */
    pushq $2
    popfq                       /* no AC: the monitor's accesses may be unaligned */
    rdfsbase %rax
    mov %rax, 0(%rsp)
    rdgsbase %rax
    mov %rax, 8(%rsp)
    mov spt_host_fs(%rip), %rax
    wrfsbase %rax
    mov %rsp, %rcx
    call spt_signal
    mov 0(%rsp), %rax
    wrfsbase %rax
    mov 8(%rsp), %rax
    wrgsbase %rax
    add $24, %rsp
    ret
    .size spt_sig_entry, . - spt_sig_entry

    .globl spt_enter, spt_enter_trap
    .type spt_enter, @function
spt_enter:
    mov $0x2b, %eax             /* flat data selectors for 32-bit guest code */
    mov %eax, %ds
    mov %eax, %es
spt_enter_trap:
    ud2
    .size spt_enter, . - spt_enter

/* The gate.  Entered by `call *gate` or `jmp *gate` from the ROM, the
 * operation in %eax, the return address at (%rsp). */
    .globl spt_gate, spt_gate_end, spt_gate_reads, spt_gate_reads_end
    .type spt_gate, @function
    .p2align 4
spt_gate:
    endbr64
    movb $1, spt_in_monitor(%rip)
    mov %rax, G+8*0(%rip)
    mov %rcx, G+8*1(%rip)
    mov %rdx, G+8*2(%rip)
    mov %rbx, G+8*3(%rip)
    mov %rsp, G+8*4(%rip)
    mov %rbp, G+8*5(%rip)
    mov %rsi, G+8*6(%rip)
    mov %rdi, G+8*7(%rip)
    mov %r8, G+8*8(%rip)
    mov %r9, G+8*9(%rip)
    mov %r10, G+8*10(%rip)
    mov %r11, G+8*11(%rip)
    mov %r12, G+8*12(%rip)
    mov %r13, G+8*13(%rip)
    mov %r14, G+8*14(%rip)
    mov %r15, G+8*15(%rip)
    lea gate_stack+GATE_STACK(%rip), %rsp
    pushfq
    popq G+SPT_R_RFLAGS(%rip)
    pushq $2
    popfq
    mov G+8*4(%rip), %rcx
spt_gate_reads:                 /* a fault here: the guest's stack is bad */
    mov (%rcx), %rax
spt_gate_reads_end:
    mov %rax, G+SPT_R_RIP(%rip)
    mov G+8*0(%rip), %eax       /* the operation: the caller's %eax */
    mov %rax, G+SPT_R_OP(%rip)
    add $8, %rcx
    mov %rcx, G+8*4(%rip)
    rdfsbase %rax
    mov %rax, G+SPT_R_FS(%rip)
    rdgsbase %rax
    mov %rax, G+SPT_R_GS(%rip)
    mov spt_host_fs(%rip), %rax
    wrfsbase %rax
    movb $2, spt_in_monitor(%rip)
    call spt_gate_c
    movb $1, spt_in_monitor(%rip)
    mov G+SPT_R_FS(%rip), %rax
    wrfsbase %rax
    mov G+SPT_R_GS(%rip), %rax
    wrgsbase %rax
    pushq G+SPT_R_RFLAGS(%rip)
    popfq
    mov G+8*4(%rip), %rsp
    mov G+8*0(%rip), %rax
    mov G+8*1(%rip), %rcx
    mov G+8*2(%rip), %rdx
    mov G+8*3(%rip), %rbx
    mov G+8*5(%rip), %rbp
    mov G+8*6(%rip), %rsi
    mov G+8*7(%rip), %rdi
    mov G+8*8(%rip), %r8
    mov G+8*9(%rip), %r9
    mov G+8*10(%rip), %r10
    mov G+8*11(%rip), %r11
    mov G+8*12(%rip), %r12
    mov G+8*13(%rip), %r13
    mov G+8*14(%rip), %r14
    mov G+8*15(%rip), %r15
    movb $0, spt_in_monitor(%rip)
    jmp *G+SPT_R_RIP(%rip)
spt_gate_end:
    .size spt_gate, . - spt_gate

    .bss
    .p2align 6
gate_stack:
    .skip GATE_STACK

    .section .note.GNU-stack, "", @progbits
