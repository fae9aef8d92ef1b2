/*
 * Spinlocks.  Taken with interrupts off, so that an interrupt handler never
 * spins on a lock its own CPU holds and no CPU holding one can be parked by
 * live linking (which reaches other CPUs only through interrupts).
 */
#include "kern.h"

uint64_t k_lock_irqsave(struct k_lock *l)
{
    uint64_t fl = pvk_save_fl();

    pvk_irq_disable();
    while (__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
            __asm__ __volatile__("pause");
    return fl;
}

void k_unlock_irqrestore(struct k_lock *l, uint64_t flags)
{
    __atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
    pvk_restore_fl(flags);
}
