/*
 * Result messages and diagnostics formatting, without libc.
 */
#include "internal.h"

#define MSG_(n, msg) [PVL_##n] = msg,
static const char *const messages[PVL_NRESULTS] = {PVL_RESULTS(MSG_)};
#undef MSG_

const char *pvl_strerror(pvl_result r)
{
    if ((unsigned)r >= PVL_NRESULTS)
        return "unknown pvlink result";
    return messages[r];
}

struct out {
    char *buf;
    size_t n, len;
};

static void put(struct out *o, const char *s)
{
    for (; *s; s++, o->len++)
        if (o->len + 1 < o->n)
            o->buf[o->len] = *s;
}

static void put_num(struct out *o, uint64_t v, unsigned base)
{
    char tmp[24];
    int i = 0;

    do
        tmp[i++] = "0123456789abcdef"[v % base];
    while ((v /= base) != 0);
    if (base == 16)
        put(o, "0x");
    while (i)
        put(o, (char[]){tmp[--i], 0});
}

size_t pvl_diag_format(const struct pvl_diag *d, char *buf, size_t n)
{
    struct out o = {buf, n, 0};

    if (d->field) {
        put(&o, d->field);
        if (d->index != PVL_NOINDEX) {
            put(&o, "[");
            put_num(&o, d->index, 10);
            put(&o, "]");
        }
        put(&o, ": ");
    }
    put(&o, pvl_strerror(d->code));
    if (d->value) {
        put(&o, " (");
        put_num(&o, d->value, 16);
        put(&o, ")");
    }
    if (n)
        buf[o.len < n ? o.len : n - 1] = '\0';
    return o.len;
}
