// A provider shared object written in C++ for "pvlink.ift": add becomes
// a - b, answer becomes mov $43, %eax.
#include <pvlink/runtime.h>

#include "ift.h"

namespace {
long so_add(long a, long b) { return a - b; }
const pvr_op_impl impls[] = {
    PVR_CALL(ift, add, so_add),
    PVR_INLINE(answer, "\xb8\x2b\x00\x00\x00", PVL_CLB(RAX)), // mov $43, %eax
};
} // namespace

// <pvlink/runtime.h> declares pvr_provider_v1 with C linkage and default
// visibility: a plain definition exports it.
const pvr_provider_desc pvr_provider_v1 =
    PVR_PROVIDER_DESC("pvlink.ift", 1, 0, "c++ shared object", impls);
