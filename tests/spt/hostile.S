/*
 * Hostile guests for pvlink-spt: one PVH kernel per case, built with
 * -DCASE_<name>.  Each enters long mode the way the reference kernel does
 * (a GDT, 2 MiB identity pages over the first GiB, an IDT whose every
 * vector prints "vector 0xNN" on COM1 and exits with status 10), then
 * misbehaves.  tests/spt/test_spt.c says what each must end with.
 */
#include <pvlink/hv.h>

#define COM1 0x3f8
#define CAUGHT 10          /* status: the guest's own IDT caught it */

    .code32
    .section .text, "ax"
    .globl _start
_start:
    lgdt gdtr
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax
    mov %eax, %cr0
    ljmp $0x08, $start64

    .code64
start64:
    lea stack_top(%rip), %rsp
    /* IDT: gate v -> stubs + 16 * v, interrupt gate, selector 8 */
    lea idt(%rip), %rdi
    lea stubs(%rip), %rsi
    xor %ecx, %ecx
1:  mov %rsi, %rax
    and $0xffff, %eax
    or $0x00080000, %eax        /* selector 8 */
    mov %eax, (%rdi)
    mov %rsi, %rax
    shr $16, %rax
    shl $16, %eax
    or $0x8e00, %eax            /* present, DPL 0, interrupt gate */
    mov %eax, 4(%rdi)
    mov %rsi, %rax
    shr $32, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    add $16, %rsi
    inc %ecx
    cmp $256, %ecx
    jne 1b
    lidt idtr(%rip)
    jmp test_case

/* print the NUL-terminated string at %rsi on COM1 */
puts:
    mov $COM1, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  ret

/* exit with status %al */
exit:
    mov $PVL_DEBUG_EXIT_PORT, %dx
    out %al, %dx
    cli
    hlt

/* every vector: print it, exit CAUGHT */
trap_common:
    pop %rbx                    /* the vector */
    lea msg_vector(%rip), %rsi
    call puts
    mov %ebx, %eax
    shr $4, %eax
    call hexdigit
    mov %ebx, %eax
    call hexdigit
    mov $'\n', %al
    out %al, %dx
    mov $CAUGHT, %al
    jmp exit
hexdigit:
    and $15, %eax
    lea hex(%rip), %rsi
    mov (%rsi,%rax), %al
    mov $COM1, %dx
    out %al, %dx
    ret

    .balign 16
stubs:
    .set v, 0
    .rept 256
    .balign 16
    pushq $v
    jmp trap_common
    .set v, v + 1
    .endr

/* the shared page of the ROM's data area (rom/spt/sptabi.h): the ROM is
 * at 0xc0000 (where pvlink-run and pvlink-spt put it), its data area at
 * the first page boundary after its header's size; the gate's address */
shared_addr:
    mov $0xc0000, %eax
    mov 36(%rax), %ecx          /* pvl_rom_header.size */
    add %ecx, %eax
    add $0xfff, %eax
    and $~0xfff, %eax
    add $0x800, %eax            /* SPT_SHARED_OFF */
    ret
gate_addr:
    call shared_addr
    mov 8(%rax), %rax           /* spt_shared.gate */
    ret

/* PIC: ICW1..4, IRQ 0 at vector 32, only IRQ 0 unmasked; IRQ 0's
 * handler is %rax */
irq0_setup:
    lea idt+32*16(%rip), %rdi
    mov %ax, (%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    mov $0x11, %al
    out %al, $0x20
    mov $32, %al
    out %al, $0x21
    mov $4, %al
    out %al, $0x21
    mov $1, %al
    out %al, $0x21
    mov $0xfe, %al
    out %al, $0x21
    ret

test_case:
#if defined(CASE_syscall)
    /* exit_group(42) if it reached the host; EFER.SCE is clear: #UD */
    mov $231, %eax
    mov $42, %edi
    syscall
#elif defined(CASE_syscall_lstar)
    /* with EFER.SCE and LSTAR: the guest's own system call entry */
    mov $0xc0000080, %ecx
    rdmsr
    or $1, %eax
    wrmsr
    mov $0xc0000082, %ecx
    lea lstar(%rip), %rax
    mov %rax, %rdx
    shr $32, %rdx
    wrmsr
    mov $0xc0000081, %ecx       /* STAR: kernel CS 8 */
    xor %eax, %eax
    mov $0x00080000, %edx
    wrmsr
    mov $231, %eax
    mov $42, %edi
    syscall
    jmp .
lstar:
    lea msg_lstar(%rip), %rsi
    call puts
    mov $11, %al
    jmp exit
#elif defined(CASE_sysenter)
    mov $231, %eax
    sysenter
#elif defined(CASE_int80)
    mov $1, %eax                /* exit(42) in the i386 ABI */
    mov $42, %ebx
    int $0x80
#elif defined(CASE_wild_unmapped)
    mov $0x4000000000, %rax     /* beyond the identity-mapped GiB */
    jmp *%rax
#elif defined(CASE_wild_noncanonical)
    mov $0x8000000000000000, %rax
    jmp *%rax
#elif defined(CASE_wild_vsyscall)
    mov $0xffffffffff600000, %rax /* the host's vsyscall page */
    call *%rax
#elif defined(CASE_pt_not_ram)
    /* map 1 GiB..2 GiB onto frames at 2 GiB, past RAM, and touch it */
    lea pd_far(%rip), %rax
    or $3, %rax
    mov %rax, pdpt+8(%rip)
    mov %cr3, %rax
    mov %rax, %cr3
    movq $1, 0x40000000
#elif defined(CASE_pt_page0)
    movq $1, 0                  /* mapped by the guest, never by a process */
#elif defined(CASE_pt_high)
    /* PML4 entry 200: 100 TiB, where the monitor lives, not the guest */
    lea pdpt(%rip), %rax
    or $3, %rax
    mov %rax, pml4+200*8(%rip)
    mov %cr3, %rax
    mov %rax, %cr3
    mov $0x640000000000, %rax
    movq $1, (%rax)
#elif defined(CASE_pt_cr3)
    mov $0x80000000, %eax       /* page tables past RAM */
    mov %rax, %cr3
#elif defined(CASE_pt_cycle)
    /* a second PML4: the identity GiB, and 127 entries naming itself */
    lea pml4_cycle(%rip), %rdi
    lea pdpt(%rip), %rax
    or $3, %rax
    stosq
    lea pml4_cycle(%rip), %rax
    or $3, %rax
    mov $127, %ecx
    rep stosq
    lea pml4_cycle(%rip), %rax
    mov %rax, %cr3
#elif defined(CASE_storm)
    /* the PIT at its fastest; the 20000th interrupt ends the run */
    lea storm_handler(%rip), %rax
    call irq0_setup
    mov $0x34, %al              /* PIT: mode 2, count 2 */
    out %al, $0x43
    mov $2, %al
    out %al, $0x40
    xor %al, %al
    out %al, $0x40
    sti
    jmp .
storm_handler:
    incl ticks(%rip)
    cmpl $20000, ticks(%rip)
    jae 1f
    push %rax
    mov $0x20, %al              /* EOI */
    out %al, $0x20
    pop %rax
    iretq
1:  mov $12, %al
    jmp exit
#elif defined(CASE_cli_spin)
    cli
    jmp .
#elif defined(CASE_if_store) || defined(CASE_kick)
    /* one PIT interrupt, pending while IF is off; then IF set the way the
     * spt ROM's irq_enable does, by a store, and a spin (the PIT, in mode
     * 0, does not fire again).  if_store stores where the ROM's templates
     * do: the monitor guards that page while an interrupt waits, the store
     * traps, the interrupt comes at once.  kick stores through an alias
     * (1 GiB up), which does not trap: only the kick timer delivers it. */
#if defined(CASE_kick)
    lea pd(%rip), %rax
    or $3, %rax
    mov %rax, pdpt+8(%rip)
    mov %cr3, %rax
    mov %rax, %cr3
#endif
    lea kick_handler(%rip), %rax
    call irq0_setup
    cli
    mov $0x30, %al              /* PIT: mode 0, count 1000 (0.8 ms) */
    out %al, $0x43
    mov $0xe8, %al
    out %al, $0x40
    mov $0x03, %al
    out %al, $0x40
1:  mov $0xe2, %al              /* read-back: channel 0's status */
    out %al, $0x43
    in $0x40, %al
    test $0x80, %al             /* OUT: the count has run out */
    jz 1b
    call shared_addr
#if defined(CASE_kick)
    add $0x40000000, %rax
#endif
    movb $2, 1(%rax)            /* vflags |= IF, as the ROM inlines it */
    jmp .
kick_handler:
    mov $12, %al
    jmp exit
#elif defined(CASE_gate_op)
    call gate_addr
    mov %rax, %rbx
    mov $50, %eax               /* no such operation */
    call *%rbx
#elif defined(CASE_gate_stack)
    call gate_addr
    xor %esp, %esp
    jmp *%rax
#elif defined(CASE_gate_preserves)
    /* the gate gives back every register but the result: general ones,
     * the vector ones (console_write runs C library code in the monitor),
     * and the flags it may change aside */
    call gate_addr
    mov %rax, gate_ptr(%rip)
    .irp r, rbx, rcx, rdx, rbp, r8, r9, r10, r11, r12, r13, r14, r15
    mov $0x0123456789abcdef, %rax
    rol $7, %rax
    xor $\r\()_tag, %rax
    mov %rax, %\r
    .endr
    .irp x, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    mov $0x5a5a5a5a00000000 + \x, %rax
    movq %rax, %xmm\x
    .endr
    lea msg_hello(%rip), %rdi
    mov $6, %esi
    mov $31, %eax               /* PVK_OP_CONSOLE_WRITE */
    call *gate_ptr(%rip)
    lea msg_hello(%rip), %rax
    cmp %rax, %rdi
    jne 9f
    cmp $6, %rsi
    jne 9f
    .irp r, rbx, rcx, rdx, rbp, r8, r9, r10, r11, r12, r13, r14, r15
    mov $0x0123456789abcdef, %rax
    rol $7, %rax
    xor $\r\()_tag, %rax
    cmp %rax, %\r
    jne 9f
    .endr
    .irp x, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movq %xmm\x, %rax
    mov $0x5a5a5a5a00000000 + \x, %rdx
    cmp %rdx, %rax
    jne 9f
    .endr
    xor %eax, %eax
    jmp exit
9:  mov $14, %al                /* a register changed */
    jmp exit
    .set rbx_tag, 1
    .set rcx_tag, 2
    .set rdx_tag, 3
    .set rbp_tag, 4
    .set r8_tag, 5
    .set r9_tag, 6
    .set r10_tag, 7
    .set r11_tag, 8
    .set r12_tag, 9
    .set r13_tag, 10
    .set r14_tag, 11
    .set r15_tag, 12
#else
#error "unknown case"
#endif
    mov $13, %al                /* it went on: not what any case wants */
    jmp exit

    .section .data, "aw"
    .balign 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10 data */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt
idtr:
    .word 256 * 16 - 1
    .quad idt
msg_vector:
    .asciz "vector 0x"
msg_lstar:
    .asciz "lstar\n"
msg_hello:
    .ascii "hello\n"
    .balign 8
gate_ptr:
    .quad 0
hex:
    .ascii "0123456789abcdef"
    .balign 4
ticks:
    .long 0

    .balign 4096
pml4:
    .quad pdpt + 3
    .fill 511, 8, 0
pdpt:
    .quad pd + 3
    .fill 511, 8, 0
pd:
    .set i, 0
    .rept 512
    .quad (i << 21) | 0x83
    .set i, i + 1
    .endr
pd_far:
    .set i, 0
    .rept 512
    .quad (0x80000000 + (i << 21)) | 0x83
    .set i, i + 1
    .endr
pml4_cycle:
    .fill 512, 8, 0
idt:
    .fill 512, 8, 0
stack:
    .fill 4096, 1, 0
stack_top:

#include "note.inc"
