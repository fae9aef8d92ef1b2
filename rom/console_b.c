/*
 * ROM B's console: one PVL_HC_PUTS hypercall per console_write call,
 * whatever its content (ROM A batches by line).  The bytes are copied into
 * the ROM's own buffer first, so that the hypercall names memory the ROM
 * region maps at its physical address, wherever the caller's buffer is.
 */
#include "rom.h"

void rom_b_console_write(const char *buf, size_t len) ROM_HIDDEN;

void rom_b_console_write(const char *buf, size_t len)
{
    struct pvl_rom_console *c = rom_console();

    while (len) {
        size_t n = len < PVL_ROM_CONSOLE_CAP ? len : PVL_ROM_CONSOLE_CAP;
        for (size_t i = 0; i < n; i++)
            c->buf[i] = buf[i];
        c->req.nr = PVL_HC_PUTS;
        c->req.args[0] = (uint64_t)(uintptr_t)c->buf;
        c->req.args[1] = n;
        rom_hypercall(&c->req);
        buf += n, len -= n;
    }
    c->len = 0;
}
