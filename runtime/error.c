/*
 * Error messages and register names.
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

static const char *const reg_names[PVL_NREGS] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8",
    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "flags"};

const char *pvr__regs(uint32_t mask, char *buf, size_t n)
{
    size_t k = 0;

    buf[0] = '\0';
    for (int r = 0; r < PVL_NREGS && k < n; r++)
        if (mask & (1u << r))
            k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? " " : "", reg_names[r]);
    if (mask & ~PVL_CLB_ALL && k < n)
        snprintf(buf + k, n - k, "%s0x%x", k ? " " : "", mask & ~PVL_CLB_ALL);
    if (!mask)
        snprintf(buf, n, "nothing");
    return buf;
}
