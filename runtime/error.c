/*
 * Error messages (state and action names are the core's).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

pvl_result pvr__fail(struct pvr_error *e, pvl_result code, int sys, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return code;
    e->code = code;
    e->sys = sys;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}
