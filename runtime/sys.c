/*
 * The system operations whose failure the runtime must survive, each with
 * a fault-injection hook for the tests (pvr_fault_inject); writing through
 * /proc/self/mem; telling valgrind that code changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "internal.h"

static struct {
    _Atomic unsigned nth;
    int err;
} faults[PVR_NFAULTS];

void pvr_fault_inject(enum pvr_fault what, unsigned nth, int err_no)
{
    if (what == PVR_FAULT_NONE || what >= PVR_NFAULTS) {
        for (int i = 0; i < PVR_NFAULTS; i++)
            atomic_store(&faults[i].nth, 0);
        return;
    }
    faults[what].err = err_no;
    atomic_store(&faults[what].nth, nth);
}

/* 1 (with errno set) when this call of (what) is the one to fail. */
static int faulty(enum pvr_fault what)
{
    unsigned n = atomic_load(&faults[what].nth);

    while (n) {
        if (atomic_compare_exchange_weak(&faults[what].nth, &n, n - 1)) {
            if (n == 1) {
                errno = faults[what].err;
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

int pvr__mprotect(void *addr, size_t len, int prot)
{
    return faulty(PVR_FAULT_MPROTECT) ? -1 : mprotect(addr, len, prot);
}

int pvr__membarrier_sync(void)
{
    if (faulty(PVR_FAULT_MEMBARRIER))
        return -1;
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

int pvr__membarrier_register(void)
{
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

    if (q < 0)
        return -1;
    if (!(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_membarrier,
                        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

int pvr__sigqueue(int pid, int tid, int sig, uint64_t value)
{
    siginfo_t si;

    if (faulty(PVR_FAULT_SIGNAL))
        return -1;
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    si.si_value.sival_ptr = (void *)(uintptr_t)value;
    return (int)syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &si);
}

int pvr__gettid(void)
{
    return (int)syscall(SYS_gettid);
}

/* ------------------------------------------------------------------------
 * /proc/self/mem: opened on first use by a link, closed when it ends
 * (pvr__procmem_close), so that no descriptor of this process's memory
 * outlives the link or leaks into a child.  Under pvr__lock.
 */
static int pm_fd = -1;

static int pm_open(void)
{
    if (pm_fd >= 0)
        return 0;
    if (faulty(PVR_FAULT_PROCMEM))
        return -1;
    pm_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    return pm_fd < 0 ? -1 : 0;
}

int pvr__procmem_ready(void)
{
    return pm_open();
}

int pvr__procmem_write(void *dst, const void *src, size_t n)
{
    if (pm_open() != 0)
        return -1;
    if (pwrite(pm_fd, src, n, (off_t)(uintptr_t)dst) != (ssize_t)n) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

void pvr__procmem_close(void)
{
    if (pm_fd >= 0)
        close(pm_fd);
    pm_fd = -1;
}

void *pvr__mmap_code(void *addr, size_t len, int flags, int fd)
{
    if (faulty(PVR_FAULT_MMAP_EXEC))
        return MAP_FAILED;
    return mmap(addr, len, PROT_READ | PROT_EXEC, flags, fd, 0);
}

/* ------------------------------------------------------------------------
 * valgrind runs translations of the code: it must forget those of bytes
 * that changed.  Both are no-ops outside valgrind.
 */
void pvr__code_changed(const void *p, size_t n)
{
    VALGRIND_DISCARD_TRANSLATIONS(p, n);
}

int pvr__on_valgrind(void)
{
    return RUNNING_ON_VALGRIND ? 1 : 0;
}
