/*
 * The smallest complete pvlink program: an interface with one call op and
 * one inline op, a provider built into the program, link, unlink.
 *
 *   cc -std=c11 -O2 -Iinclude examples/minimal.c -Lbuild/lib \
 *      -Wl,-rpath,"$PWD/build/lib" -lpvlink -o minimal
 * or, installed:  cc minimal.c -o minimal $(pkg-config --cflags --libs pvlink)
 *                  (the library flags after the sources: gcc may link --as-needed)
 */
#include <stdio.h>

#include <pvlink/iface.h>
#include <pvlink/runtime.h>

/* The interface: scale(x) calls a function, answer() is inline code. */
#define GREET(CALL, INLINE)                                                  \
    CALL(greet, scale, long, (long))                                         \
    INLINE(greet, answer, long, (), 5, "mov $41, %%eax", ())
PVL_IFACE(greet, "demo.greet", 1, 0, GREET);

long greet_scale_default(long x) { return 2 * x; } /* the native default */

/* A provider: another function for scale, an inline template for answer. */
static long triple(long x) { return 3 * x; }
static const struct pvr_op_impl impls[] = {
    PVR_CALL(greet, scale, triple),
    PVR_INLINE(answer, "\xb8\x2a\x00\x00\x00", PVL_CLB(RAX)), /* mov $42, %eax */
};
static const struct pvr_provider_desc fast =
    PVR_PROVIDER_DESC("demo.greet", 1, 0, "fast", impls);

static void show(const char *when)
{
    printf("%s: scale(7) = %ld, answer() = %ld\n", when, greet_scale(7), greet_answer());
}

int main(void)
{
    struct pvr_error err;
    struct pvr_provider *p = pvr_provider_table(&fast, &greet_iface, &err);

    if (!p || pvr_link(&greet_iface, p, NULL, NULL, &err) != PVL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    show("linked");
    pvr_unlink(&greet_iface, NULL, NULL, &err);
    show("native");
    return pvr_provider_close(p, &err) == PVL_OK ? 0 : 1;
}
