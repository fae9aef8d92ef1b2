/*
 * The libc routines a freestanding GCC may emit calls to (memcpy, memmove,
 * memset, memcmp) and a few string helpers.  String instructions keep the
 * instruction count low, which matters on a software-emulated monitor.
 */
#include "kern.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep movsb"
                         : "+D"(d), "+S"(src), "+c"(n)
                         :
                         : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    const char *s = src;
    char *d = dst;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    /* overlapping, destination above: copy backwards */
    d += n - 1, s += n - 1;
    __asm__ __volatile__("std; rep movsb; cld"
                         : "+D"(d), "+S"(s), "+c"(n)
                         :
                         : "memory", "cc");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep stosb"
                         : "+D"(d), "+c"(n)
                         : "a"(c)
                         : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

size_t k_strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

int k_streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int k_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
