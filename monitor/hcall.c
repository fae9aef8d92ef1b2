/*
 * Hypercalls.  The guest OUTs the guest-physical address of a struct
 * pvl_hcall to PVL_HV_PORT.  The request and every buffer it names are
 * checked against guest RAM with overflow-safe bounds before use; the
 * request is copied out once, so that another vCPU changing it meanwhile
 * changes nothing the monitor checked.  Results go back in (ret), and for
 * PVL_HC_ROM_INFO in (args).
 *
 * Counting: hcall[nr] counts well-formed requests by number; an unknown
 * number is counted in hcall_unknown (PVL_HV_ENOSYS); a request that is not
 * a 32-bit OUT, not 8-aligned, not wholly in RAM, or names a bad buffer
 * (PVL_HV_EINVAL, or no answer at all when even its header is outside RAM)
 * is counted in hcall_malformed.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mon.h"

#define PUTS_MAX (64u << 10) /* longest PUTS, bytes */

static int64_t hc_puts(struct mon_vm *vm, struct pvl_hcall *h)
{
    const char *p = mon_gpa(vm, h->args[0], h->args[1]);

    if (!p || h->args[1] > PUTS_MAX)
        return -PVL_HV_EINVAL;
    mon_console(vm, p, h->args[1]);
    return (int64_t)h->args[1];
}

static int64_t hc_exit(struct mon_vm *vm, struct pvl_hcall *h)
{
    mon_stop_locked(vm, h->args[0] > MON_GUEST_STATUS_MAX ? MON_GUEST_STATUS_MAX
                                                          : (int)h->args[0]);
    return 0;
}

/* Late linking: the first poll after boot answers "link now"; a ROM
 * switch is reported once, by the first poll after it. */
static int64_t hc_poll(struct mon_vm *vm, struct pvl_hcall *h)
{
    int64_t ev = 0;

    (void)h;
    if (vm->late_link && vm->rom_present && !vm->link_sent) {
        vm->link_sent = true;
        ev |= PVL_EV_LINK;
    }
    if (vm->switch_pending) {
        vm->switch_pending = false;
        ev |= PVL_EV_ROM_SWITCH;
    }
    return ev;
}

static int64_t hc_nop(struct mon_vm *vm, struct pvl_hcall *h)
{
    (void)vm, (void)h;
    return 0;
}

static int64_t hc_rom_info(struct mon_vm *vm, struct pvl_hcall *h)
{
    const struct mon_rom *r = vm->current;

    memset(h->args, 0, sizeof h->args);
    if (r && r->published) {
        h->args[0] = r->gpa;
        h->args[1] = r->size;
        h->args[2] = r->region;
        h->args[3] = PVL_HV_ROM_PRESENT;
    }
    return 0;
}

static int64_t (*const handlers[])(struct mon_vm *, struct pvl_hcall *) = {
    [PVL_HC_PUTS] = hc_puts,
    [PVL_HC_EXIT] = hc_exit,
    [PVL_HC_POLL] = hc_poll,
    [PVL_HC_NOP] = hc_nop,
    [PVL_HC_ROM_INFO] = hc_rom_info,
};
#define NHANDLERS (sizeof handlers / sizeof handlers[0])
_Static_assert(NHANDLERS <= sizeof ((struct mon_stats *)0)->hcall / sizeof(uint64_t),
               "a counter per hypercall number");

/* Store (ret) in the request's header, which may be misaligned. */
static void answer(uint8_t *hdr, int32_t ret)
{
    memcpy(hdr + offsetof(struct pvl_hcall, ret), &ret, sizeof ret);
}

void mon_hcall_malformed(struct mon_vm *vm)
{
    vm->st.hcall_malformed++;
}

void mon_hcall(struct mon_vm *vm, uint64_t gpa)
{
    uint8_t *hdr = mon_gpa(vm, gpa, offsetof(struct pvl_hcall, args));
    struct pvl_hcall h;
    int64_t ret;

    if (!hdr) /* not even {nr, ret} in RAM: nowhere to answer */
        return mon_hcall_malformed(vm);
    if (gpa % 8 || !mon_gpa(vm, gpa, sizeof h)) { /* misaligned or past RAM */
        mon_hcall_malformed(vm);
        answer(hdr, -PVL_HV_EINVAL);
        return;
    }
    memcpy(&h, hdr, sizeof h);
    if (h.nr >= NHANDLERS || !handlers[h.nr]) {
        vm->st.hcall_unknown++;
        answer(hdr, -PVL_HV_ENOSYS);
        return;
    }
    ret = handlers[h.nr](vm, &h);
    if (ret == -PVL_HV_EINVAL) /* a bad buffer: malformed, not a PUTS or the like */
        mon_hcall_malformed(vm);
    else
        vm->st.hcall[h.nr]++;
    if (h.nr == PVL_HC_ROM_INFO)
        memcpy(hdr + offsetof(struct pvl_hcall, args), h.args, sizeof h.args);
    answer(hdr, (int32_t)ret);
}
