/*
 * Interface catalogs: the ones pvlink knows by name, and catalogs made up
 * for interfaces it does not know.
 */
#include <stdlib.h>
#include <string.h>

#include "pvlink.h"

/*
 * Catalogs whose operations pvlink can name and check.  An interface
 * that publishes a struct pvl_iface (names, rooms, clobbers, native
 * bytes) is added here, and `pvlink sites`, `rom`, `plan` and `check`
 * then use its operation names and native code.
 */
static const struct pvl_iface *const known[] = {
    &pvl_kernel_iface,
};

const struct pvl_iface *pvt_catalog_find(const char *name)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i]->name, name) == 0)
            return known[i];
    return NULL;
}

const char *pvt_op_name(const struct pvl_iface *cat, unsigned op,
                        char buf[16])
{
    if (cat && op < cat->nops && cat->ops[op].name)
        return cat->ops[op].name;
    snprintf(buf, 16, "op%u", op);
    return buf;
}

void pvt_synth_init(struct pvt_synth *s, const char *name, uint16_t major,
                    uint16_t minor, uint32_t nops)
{
    /* operation numbers are 16 bits: at most 65535 fit a pvl_iface */
    uint16_t n = nops > UINT16_MAX ? UINT16_MAX : (uint16_t)nops;

    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ops = pvt_xcalloc(n, sizeof *s->ops);
    s->names = pvt_xcalloc(n, sizeof *s->names);
    for (uint16_t i = 0; i < n; i++) {
        snprintf(s->names[i], sizeof s->names[i], "op%u", i);
        s->ops[i] = (struct pvl_op_info){.name = s->names[i],
                                         .room = PVL_ROOM_MAX,
                                         .clobbers = PVL_CLB_VALID};
    }
    s->iface = (struct pvl_iface){.name = s->name, .major = major,
                                  .minor = minor, .nops = n, .ops = s->ops};
}

void pvt_synth_free(struct pvt_synth *s)
{
    free(s->ops);
    free(s->names);
    memset(s, 0, sizeof *s);
}
