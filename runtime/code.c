/*
 * Executable memory the runtime writes itself: out-of-line copies of
 * sites and veneers.  Three ways to get it, tried in this order and kept
 * process-wide once one is refused (a process cannot leave memory-deny-
 * write-execute once it is on):
 *
 *   mprotect  map read-write, fill, make read-execute; a live page is
 *             made read-write-execute for a write.  Refused (EACCES) under
 *             prctl(PR_SET_MDWE) and by SELinux execmem.
 *   procmem   map read-execute from the start and write through
 *             /proc/self/mem, which needs no writable mapping at all.
 *   memfd     a memfd mapped read-execute (a file mapping, which SELinux
 *             checks as a file, not as execmem), written with pwrite.
 *
 * Every write is followed by pvr__code_changed (valgrind).  Under pvr__lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "image.h"
#include "internal.h"

#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif

static int how = PVR_CODE_MPROTECT;

int pvr__code_how(void)
{
    return how;
}

/* Writable executable memory is refused: say why, as far as we can tell. */
const char *pvr__wx_why(void)
{
    int mdwe = prctl(PR_GET_MDWE, 0, 0, 0, 0);
    return mdwe > 0 ? "the process denies writable executable memory (prctl PR_SET_MDWE)"
                    : "a security policy denies writable executable memory (SELinux "
                      "execmem?)";
}

/* Map (len) bytes for code: within reach of [lo, hi) when hi > 0. */
static void *map(size_t len, int prot, int flags, int fd, uintptr_t lo, uintptr_t hi)
{
    void *p;

    if (hi)
        return pvr_map_reach(lo, hi, len, prot, flags, fd);
    p = mmap(NULL, len, prot, flags, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int new_mprotect(struct pvr_code *c, const uint8_t *init, uintptr_t lo, uintptr_t hi)
{
    if (!(c->p = map(c->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, lo, hi)))
        return -1;
    memcpy(c->p, init, c->len);
    if (mprotect(c->p, c->len, PROT_READ | PROT_EXEC) == 0)
        return 0;
    int e = errno;
    munmap(c->p, c->len);
    errno = e;
    return -1;
}

/* Read-execute memory through pvr__mmap_code, near or anywhere. */
static void *map_code(size_t len, int flags, int fd, uintptr_t lo, uintptr_t hi)
{
    void *p = map(len, PROT_NONE, flags, fd, lo, hi); /* reserve the place */

    if (!p)
        return NULL;
    if (pvr__mmap_code(p, len, flags | MAP_FIXED, fd) == p)
        return p;
    int e = errno;
    munmap(p, len);
    errno = e;
    return NULL;
}

static int new_procmem(struct pvr_code *c, const uint8_t *init, uintptr_t lo, uintptr_t hi)
{
    if (!(c->p = map_code(c->len, MAP_PRIVATE | MAP_ANONYMOUS, -1, lo, hi)))
        return -1;
    if (pvr__procmem_write(c->p, init, c->len) == 0)
        return 0;
    int e = errno;
    munmap(c->p, c->len);
    errno = e;
    return -1;
}

static int new_memfd(struct pvr_code *c, const uint8_t *init, uintptr_t lo, uintptr_t hi)
{
    if ((c->fd = memfd_create("pvlink-code", MFD_CLOEXEC)) < 0)
        return -1;
    if (ftruncate(c->fd, (off_t)c->len) == 0 &&
        pwrite(c->fd, init, c->len, 0) == (ssize_t)c->len &&
        (c->p = map_code(c->len, MAP_SHARED, c->fd, lo, hi)) != NULL)
        return 0;
    int e = errno ? errno : EIO;
    close(c->fd);
    c->fd = -1;
    errno = e;
    return -1;
}

static int (*const makers[])(struct pvr_code *, const uint8_t *, uintptr_t, uintptr_t) = {
    [PVR_CODE_MPROTECT] = new_mprotect,
    [PVR_CODE_PROCMEM] = new_procmem,
    [PVR_CODE_MEMFD] = new_memfd,
};

pvl_result pvr__code_new(struct pvr_code *c, const uint8_t *init, size_t len, uintptr_t lo,
                         uintptr_t hi, struct pvr_error *err)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    int e = 0;

    *c = (struct pvr_code){NULL, (len + pg - 1) & ~(pg - 1), -1};
    uint8_t *buf = calloc(1, c->len);
    if (!buf)
        return pvr__fail(err, PVL_E_WRITE, ENOMEM, "out of memory for code");
    memcpy(buf, init, len);
    for (; how <= PVR_CODE_MEMFD; how++) {
        errno = 0;
        if (makers[how](c, buf, lo, hi) == 0) {
            free(buf);
            pvr__code_changed(c->p, c->len);
            return PVL_OK;
        }
        e = errno;
        if (e != EACCES) /* not a policy: a real failure */
            break;
    }
    if (how > PVR_CODE_MEMFD)
        how = PVR_CODE_MEMFD;
    free(buf);
    c->p = NULL;
    if (hi && e == ENOMEM)
        return pvr__fail(err, PVL_E_CALL_RANGE, e, "no free memory within rel32 reach of "
                         "[%#lx, %#lx)", (unsigned long)lo, (unsigned long)hi);
    return pvr__fail(err, PVL_E_WRITE, e, "cannot create executable memory: %s%s%s",
                     strerror(e), e == EACCES ? "; " : "", e == EACCES ? pvr__wx_why() : "");
}

int pvr__code_put(struct pvr_code *c, size_t off, const void *src, size_t n)
{
    int r;

    if (c->fd >= 0) {
        r = pwrite(c->fd, src, n, (off_t)off) == (ssize_t)n ? 0 : -1;
    } else if (how == PVR_CODE_MPROTECT &&
               mprotect(c->p, c->len, PROT_READ | PROT_WRITE | PROT_EXEC) == 0) {
        memcpy(c->p + off, src, n);
        r = mprotect(c->p, c->len, PROT_READ | PROT_EXEC);
    } else {
        if (how == PVR_CODE_MPROTECT && errno == EACCES)
            how = PVR_CODE_PROCMEM;
        r = pvr__procmem_write(c->p + off, src, n);
    }
    pvr__code_changed(c->p + off, n);
    return r;
}

void pvr__code_free(struct pvr_code *c)
{
    if (c->p)
        munmap(c->p, c->len);
    if (c->fd >= 0)
        close(c->fd);
    c->p = NULL, c->fd = -1;
}
