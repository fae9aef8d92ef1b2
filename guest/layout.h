/*
 * Constants the kernel's C and assembly share: CPUs, descriptor selectors,
 * interrupt vectors, the APs' trampoline page.
 */
#ifndef K_LAYOUT_H
#define K_LAYOUT_H

#define K_MAX_CPUS 8

/* GDT selectors (entry.S); CPU i's TSS is at K_SEL_TSS + 16 * i. */
#define K_SEL_CODE64 0x08
#define K_SEL_DATA 0x10
#define K_SEL_CODE32 0x18
#define K_SEL_TSS 0x20

/* The page the APs start in (real mode, CS = K_TRAMPOLINE >> 4): below
 * 1 MiB, 4 KiB-aligned, RAM in the memory map. */
#define K_TRAMPOLINE 0x8000

/* Interrupt vectors.  PIC mode: 32..47 are the two 8259s.  APIC mode: the
 * timer (IOAPIC) is 32; IPIs are in the highest priority class. */
#define K_VEC_IRQ0 32
#define K_VEC_KICK 0xf0  /* wake a CPU to look for work */
#define K_VEC_SYNC 0xf1  /* serialize and answer (live linking) */
#define K_VEC_PARK 0xf2  /* park until released (live linking) */
#define K_VEC_SPURIOUS 0xff

#endif
