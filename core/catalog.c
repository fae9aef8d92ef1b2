/*
 * Interface catalogs known to the linker: the kernel catalog, built from
 * the same list the site wrappers are built from.
 */
#include <pvlink/kernel_ops.h>

#include "internal.h"

#define OP_INFO_(N, n, room_, since, clb, fl, txt, bytes)                         \
    [PVK_OP_##N] = {.name = #n,                                              \
                    .room = room_,                                           \
                    .room_since = since,                                     \
                    .props = fl,                                             \
                    .native_len = sizeof(bytes) - 1,                         \
                    .clobbers = clb,                                         \
                    .native = (const uint8_t *)bytes},
static const struct pvl_op_info kernel_ops[PVK_NOPS] = {PVK_CATALOG(OP_INFO_)};
#undef OP_INFO_

const struct pvl_iface pvl_kernel_iface = {
    .name = PVK_IFACE_NAME,
    .major = PVK_IFACE_MAJOR,
    .minor = PVK_IFACE_MINOR,
    .nops = PVK_NOPS,
    .ops = kernel_ops,
};

int pvl_iface_find(const struct pvl_iface *iface, const char *name)
{
    for (int i = 0; i < iface->nops; i++)
        if (pvl__name_is(iface->ops[i].name, 64, name))
            return i;
    return -1;
}
