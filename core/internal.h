/*
 * Helpers shared by the core's files.  Freestanding: these stand in for the
 * few libc routines the linker needs, so that it runs in a kernel at boot.
 */
#ifndef PVL_CORE_INTERNAL_H
#define PVL_CORE_INTERNAL_H

#include <pvlink/link.h>

static inline void pvl__copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
}

static inline int pvl__same(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--)
        if (*x++ != *y++)
            return 0;
    return 1;
}

/* Compare a NUL-padded name field of (cap) bytes with a C string. */
static inline int pvl__name_is(const char *field, size_t cap, const char *s)
{
    size_t i;
    for (i = 0; i < cap; i++) {
        if (field[i] != s[i])
            return 0;
        if (s[i] == '\0')
            return 1;
    }
    return s[i] == '\0';
}

/* True when [off, off + len) lies inside [0, size), without overflow. */
static inline int pvl__within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* Fill (d) (may be NULL) and return (code): a field and its value. */
static inline pvl_result pvl__fail(struct pvl_diag *d, pvl_result code,
                                   const char *field, uint32_t index,
                                   uint64_t value)
{
    if (d)
        *d = (struct pvl_diag){.code = code, .index = index, .field = field,
                               .value = value, .kind = PVL_DIAG_VALUE,
                               .state = PVL_NOSTATE};
    return code;
}

/* The same with what was expected (or computed), shown as (kind). */
static inline pvl_result pvl__fail2(struct pvl_diag *d, pvl_result code,
                                    const char *field, uint32_t index,
                                    uint64_t value, uint64_t expected,
                                    enum pvl_diag_kind kind)
{
    pvl__fail(d, code, field, index, value);
    if (d)
        d->expected = expected, d->kind = (uint8_t)kind;
    return code;
}

/* The lowest set bit of a non-zero mask. */
static inline uint8_t pvl__first_bit(uint64_t m)
{
    uint8_t b = 0;
    while (!(m & 1))
        m >>= 1, b++;
    return b;
}

#endif
