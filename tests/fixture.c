#include "fixture.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* add(a, b) -> a + b         lea (%rdi,%rsi),%rax
 * poke(p, v)                 mov %rsi,(%rdi)
 * get() -> value             mov $0x11,%eax (C convention)
 * hook()                     call to a default function */
struct pvl_range fx_exec;

static const struct pvl_op_info fx_ops[TOP_NOPS] = {
    [TOP_ADD] = {"add", 8, PVL_OP_RESULT, 4, PVL_CLB(RAX) | PVL_CLB(FLAGS) | PVL_CLB(STACK),
                 (const uint8_t *)"\x48\x8d\x04\x37", 0},
    [TOP_POKE] = {"poke", 6, 0, 3, PVL_CLB(FLAGS) | PVL_CLB(STACK),
                  (const uint8_t *)"\x48\x89\x37", 0},
    [TOP_GET] = {"get", 5, PVL_OP_RESULT, 5, PVL_CLB_C,
                 (const uint8_t *)"\xb8\x11\x00\x00\x00", 0},
    [TOP_HOOK] = {"hook", 5, PVL_OP_NATIVE_CALL, 0, PVL_CLB_C, NULL, 0},
};

const struct pvl_iface fx_iface = {"pvlink.test", 1, 0, TOP_NOPS, fx_ops};

void fx_init(struct fx *f)
{
    f->mem = aligned_alloc(4096, FX_SIZE);
    memset(f->mem, 0xcc, FX_SIZE);
    f->desc = (struct pvl_iface_desc *)f->mem;
    f->other = f->desc + 1;
    *f->desc = (struct pvl_iface_desc){PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                       "pvlink.test", 1, 0, TOP_NOPS};
    *f->other = (struct pvl_iface_desc){PVL_DESC_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR,
                                        "someone.else", 1, 0, 4};
    f->sites = (struct pvl_site *)(f->mem + FX_RECS);
    f->nsites = 0;
    memset(f->mem + FX_TARGET, 0xc3, 16);
}

void fx_free(struct fx *f)
{
    free(f->mem);
}

static int32_t rel_to(const void *field, const void *to)
{
    return (int32_t)((const uint8_t *)to - (const uint8_t *)field);
}

size_t fx_site(struct fx *f, uint16_t op, uint8_t room, uint64_t clobbers,
               uint8_t flags)
{
    size_t i = f->nsites++;
    uint8_t *text = f->mem + FX_TEXT + i * FX_STRIDE;
    uint8_t *orig = f->mem + FX_ORIG + i * FX_STRIDE;
    struct pvl_site *s = &f->sites[i];
    size_t n = 0;

    if (flags & PVL_SITE_NATIVE_CALL) {
        pvl_emit_call(text, (uint64_t)FX_BIAS + FX_TEXT + i * FX_STRIDE,
                      (uint64_t)FX_BIAS + FX_TARGET);
        n = PVL_CALL_LEN;
    } else if (op < TOP_NOPS && fx_ops[op].native) {
        n = fx_ops[op].native_len;
        memcpy(text, fx_ops[op].native, n);
    }
    if (n <= room && room <= FX_STRIDE)
        pvl_emit_nops(text + n, room - n);
    memcpy(orig, text, room <= FX_STRIDE ? room : FX_STRIDE);
    s->addr = rel_to(&s->addr, text);
    s->orig = rel_to(&s->orig, orig);
    s->target = rel_to(&s->target, f->mem + FX_TARGET);
    s->iface = rel_to(&s->iface, f->desc);
    s->clobbers = clobbers;
    s->op = op;
    s->room = room;
    s->flags = flags;
    s->reserved = 0;
    return i;
}

uint64_t fx_addr(const struct fx *f, size_t i)
{
    (void)f;
    return (uint64_t)FX_BIAS + FX_TEXT + i * FX_STRIDE;
}

uint8_t *fx_local(const struct fx *f, size_t i)
{
    return f->mem + FX_TEXT + i * FX_STRIDE;
}

struct pvl_link fx_request(const struct fx *f, const struct pvl_env *env)
{
    fx_exec = (struct pvl_range){(uintptr_t)f->mem + FX_TEXT, (uintptr_t)f->mem + FX_ORIG};
    return (struct pvl_link){
        .sites = f->sites,
        .nsites = f->nsites,
        .lo = (uintptr_t)f->mem,
        .hi = (uintptr_t)f->mem + FX_SIZE,
        .exec = &fx_exec,
        .nexec = 1,
        .bias = (int64_t)FX_BIAS - (int64_t)(uintptr_t)f->mem,
        .iface = &fx_iface,
        .env = env,
    };
}

void fx_env_init(struct fx_env *e)
{
    memset(e, 0, sizeof *e);
    e->env = (struct pvl_env){"pvlink.test", 1, 0, TOP_NOPS, e->impl, 0};
}
