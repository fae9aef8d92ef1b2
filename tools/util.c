/*
 * Small helpers of the pvlink command: errors, memory, reading files,
 * numbers, and the names of site flags (state and action names are the
 * core's: pvl_state_name, pvl_mask_format, pvl_action_name).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvlink.h"

int pvt_fail(struct pvt_err *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void pvt_out_of_memory(void)
{
    fputs("pvlink: out of memory\n", stderr);
    exit(PVT_EXIT_INTERNAL);
}

void *pvt_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        pvt_out_of_memory();
    return p;
}

void *pvt_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        pvt_out_of_memory();
    p = realloc(p, n && size ? n * size : 1);
    if (!p)
        pvt_out_of_memory();
    return p;
}

char *pvt_xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d)
        pvt_out_of_memory();
    return d;
}

char *pvt_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        pvt_out_of_memory();
    va_end(ap);
    return s;
}

/* Read everything from (fd), which may be a pipe, up to PVT_FILE_MAX. */
static int read_all(int fd, uint8_t **data, size_t *size, struct pvt_err *err)
{
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = pvt_xcalloc(cap, 1);

    for (;;) {
        if (len == cap) {
            if (cap >= PVT_FILE_MAX) {
                free(buf);
                return pvt_fail(err, "file is larger than %zu MiB",
                                PVT_FILE_MAX >> 20);
            }
            cap *= 2;
            buf = pvt_xreallocarray(buf, cap, 1);
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return pvt_fail(err, "cannot read: %s", strerror(e));
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *data = buf, *size = len;
    return 0;
}

int pvt_read_file(const char *path, uint8_t **data, size_t *size,
                  struct pvt_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return pvt_fail(err, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return pvt_fail(err, "is a directory");
    }
    int r = read_all(fd, data, size, err);
    close(fd);
    return r;
}

int pvt_parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* Append (s) to buf at *len, keeping it NUL-terminated. */
static void append(char *buf, size_t n, size_t *len, const char *s)
{
    size_t k = strlen(s);

    if (*len + k + 1 > n)
        k = *len + 1 < n ? n - *len - 1 : 0;
    memcpy(buf + *len, s, k);
    *len += k;
    buf[*len] = '\0';
}

/* Comma-separated names of the set bits of (mask); names[i] or "bitN". */
static void bit_names(char *buf, size_t n, uint32_t mask,
                      const char *const *names, unsigned nnames)
{
    size_t len = 0;
    char tmp[16];

    buf[0] = '\0';
    if (!mask) {
        append(buf, n, &len, "-");
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (len)
            append(buf, n, &len, ",");
        if (i < nnames)
            append(buf, n, &len, names[i]);
        else {
            snprintf(tmp, sizeof tmp, "bit%u", i);
            append(buf, n, &len, tmp);
        }
    }
}

void pvt_site_flags(char *buf, size_t n, unsigned flags)
{
    static const char *const names[] = {"must-patch", "native-call"};

    bit_names(buf, n, flags & 0xffu, names, 2);
}

const char *pvt_action_name(int action)
{
    static char other[24];

    if (pvl_action_name(action))
        return pvl_action_name(action);
    snprintf(other, sizeof other, "action%d", action);
    return other;
}

void pvt_hex(char *buf, size_t n, const uint8_t *p, size_t len)
{
    size_t at = 0;

    if (!n)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (at + 3 + 4 > n) { /* room for " xx" and "..." */
            snprintf(buf + at, n - at, "...");
            return;
        }
        at += (size_t)snprintf(buf + at, n - at, i ? " %02x" : "%02x", p[i]);
    }
}

void pvt_printable(char *buf, size_t n, const char *s, size_t max)
{
    size_t at = 0;

    if (!n)
        return;
    for (size_t i = 0; i < max && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        int printable = c >= 0x20 && c < 0x7f && c != '\\';
        if (at + (printable ? 1 : 4) + 1 > n)
            break;
        if (printable)
            buf[at++] = (char)c;
        else
            at += (size_t)snprintf(buf + at, n - at, "\\x%02x", c);
    }
    buf[at] = '\0';
}

int pvt_finish_output(FILE *f, const char *cmd)
{
    if (fflush(f) == 0 && !ferror(f))
        return 0;
    fprintf(stderr, "pvlink %s: writing the output failed: %s\n", cmd,
            strerror(errno));
    return PVT_EXIT_INTERNAL;
}
