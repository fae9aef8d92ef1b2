/*
 * librt_ctor.so: a library that links itself from its load-time
 * constructor, like a CPU-dispatch library converted to pvlink.  Its
 * interface "pvlink.ctor" has a call op and a multi-instruction inline op;
 * its constructor links both to the provider inside the library with the
 * default options (live when the process has threads) and keeps the
 * result for the test to read.
 *   f(x) -> x     native; 10x linked
 *   g(x) -> 3x    native (three instructions); 2x linked (one)
 */
#include <string.h>

#include <pvlink/iface.h>
#include <pvlink/runtime.h>

#define PVLINK_CTOR(CALL, INLINE)                                            \
    CALL(ct, f, long, (long))                                                \
    INLINE(ct, g, long, (long), 16,                                          \
           "mov %%rdi, %%rax\n\tadd %%rdi, %%rax\n\tadd %%rdi, %%rax", (flags))
PVL_IFACE(ct, "pvlink.ctor", 1, 0, PVLINK_CTOR);

long ct_f_default(long x) { return x; }
static long fast_f(long x) { return 10 * x; }

static const struct pvr_op_impl impl[] = {
    PVR_CALL(ct, f, fast_f),
    PVR_INLINE(g, "\x48\x8d\x04\x3f", PVL_CLB(RAX) | PVL_CLB(FLAGS)), /* lea (%rdi,%rdi) */
};
static const struct pvr_provider_desc desc = PVR_PROVIDER_DESC("pvlink.ctor", 1, 0, "ctor", impl);

static pvl_result result = PVL_E_ARG;
static struct pvr_report report;
static struct pvr_error error;

__attribute__((constructor)) static void link_self(void)
{
    struct pvr_provider *p;

    /* register this object's sites now, whatever the order of constructors */
    pvr_object_register(__start_pvlink_sites, __stop_pvlink_sites);
    if ((p = pvr_provider_table(&desc, &ct_iface, &error)) != NULL)
        result = pvr_link(&ct_iface, p, NULL, &report, &error);
}

__attribute__((destructor)) static void forget(void)
{
    pvr_object_unregister(__start_pvlink_sites);
}

/* For the test (dlsym). */
long ctor_f(long x);
long ctor_g(long x);
pvl_result ctor_result(struct pvr_report *rep, char *msg, size_t n);

long ctor_f(long x) { return ct_f(x); }
long ctor_g(long x) { return ct_g(x); }

pvl_result ctor_result(struct pvr_report *rep, char *msg, size_t n)
{
    *rep = report;
    strncpy(msg, error.msg, n - 1);
    msg[n - 1] = '\0';
    return result;
}
