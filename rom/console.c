/*
 * The ROM's console: the guest's console_write sites call here.  Bytes go
 * to a buffer in the ROM's data area, flushed to the monitor with one
 * PVL_HC_PUTS hypercall per line (or per full buffer) instead of two port
 * exits per byte through the 8250.  C calling convention (console_write is
 * a "C" operation); runs in the guest with its page tables, which map the
 * ROM region at its physical address.
 */
#include "rom.h"

/* Inlined: a call entry may call only other entries. */
static inline __attribute__((always_inline)) void flush(struct pvl_rom_console *c)
{
    if (!c->len)
        return;
    c->req.nr = PVL_HC_PUTS;
    c->req.args[0] = (uint64_t)(uintptr_t)c->buf;
    c->req.args[1] = c->len;
    rom_hypercall(&c->req);
    c->len = 0;
}

void rom_console_write(const char *buf, size_t len)
{
    struct pvl_rom_console *c = rom_console();

    if (c->len >= PVL_ROM_CONSOLE_CAP) /* the guest scribbled on it */
        c->len = 0;
    for (size_t i = 0; i < len; i++) {
        c->buf[c->len++] = buf[i];
        if (buf[i] == '\n' || c->len == PVL_ROM_CONSOLE_CAP)
            flush(c);
    }
}
