/*
 * Hypercalls.  The guest OUTs the guest-physical address of a struct
 * pvl_hcall to PVL_HV_PORT.  The request and every buffer it names are
 * checked against guest RAM with overflow-safe bounds before use; the
 * request is copied out once (the guest cannot change it under us: its
 * one vCPU is stopped).  Results go back in (ret).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mon.h"

#define PUTS_MAX (64u << 10) /* longest PUTS, bytes */

static int64_t hc_puts(struct mon_vm *vm, const struct pvl_hcall *h)
{
    const char *p = mon_gpa(vm, h->args[0], h->args[1]);

    if (!p || h->args[1] > PUTS_MAX)
        return -PVL_HV_EINVAL;
    fwrite(p, 1, h->args[1], stdout);
    vm->st.console_bytes += h->args[1];
    if (h->args[1] && p[h->args[1] - 1] == '\n')
        fflush(stdout);
    return (int64_t)h->args[1];
}

static int64_t hc_exit(struct mon_vm *vm, const struct pvl_hcall *h)
{
    vm->exit_status = h->args[0] > MON_GUEST_STATUS_MAX ? MON_GUEST_STATUS_MAX
                                                         : (int)h->args[0];
    return 0;
}

/* Late linking: the first poll after boot answers "link now". */
static int64_t hc_poll(struct mon_vm *vm, const struct pvl_hcall *h)
{
    (void)h;
    if (vm->late_link && vm->rom_present && !vm->link_sent) {
        vm->link_sent = true;
        return PVL_EV_LINK;
    }
    return 0;
}

static int64_t hc_nop(struct mon_vm *vm, const struct pvl_hcall *h)
{
    (void)vm, (void)h;
    return 0;
}

static int64_t (*const handlers[])(struct mon_vm *, const struct pvl_hcall *) = {
    [PVL_HC_PUTS] = hc_puts,
    [PVL_HC_EXIT] = hc_exit,
    [PVL_HC_POLL] = hc_poll,
    [PVL_HC_NOP] = hc_nop,
};
#define NHANDLERS (sizeof handlers / sizeof handlers[0])

/* Store (ret) in the request's header, which may be misaligned. */
static void answer(uint8_t *hdr, int32_t ret)
{
    memcpy(hdr + offsetof(struct pvl_hcall, ret), &ret, sizeof ret);
}

void mon_hcall(struct mon_vm *vm, uint64_t gpa)
{
    uint8_t *hdr = mon_gpa(vm, gpa, offsetof(struct pvl_hcall, args));
    struct pvl_hcall h;
    int64_t ret;

    if (!hdr) { /* not even {nr, ret} in RAM: nowhere to answer */
        vm->st.hcall_errors++;
        vm->st.hcall[0]++;
        return;
    }
    if (gpa % 8 || !mon_gpa(vm, gpa, sizeof h)) { /* misaligned or past RAM */
        vm->st.hcall_errors++;
        vm->st.hcall[0]++;
        answer(hdr, -PVL_HV_EINVAL);
        return;
    }
    memcpy(&h, hdr, sizeof h);
    if (h.nr >= NHANDLERS || !handlers[h.nr]) {
        vm->st.hcall[0]++;
        vm->st.hcall_errors++;
        ret = -PVL_HV_ENOSYS;
    } else {
        vm->st.hcall[h.nr]++;
        ret = handlers[h.nr](vm, &h);
        if (ret < 0)
            vm->st.hcall_errors++;
    }
    answer(hdr, (int32_t)ret);
}
