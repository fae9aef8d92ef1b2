/*
 * genops: write the kernel catalog's operation numbers and the clobber
 * bits as assembler constants (.set), so that the ROM's table, written in
 * assembly, takes them from the same list as everything else.
 */
#include <stdio.h>

#include <pvlink/kernel_ops.h>

#define OP_(N, n, room, clb, fl, txt, bytes) printf(".set OP_%s, %d\n", #n, PVK_OP_##N);

int main(void)
{
    PVK_CATALOG(OP_)
    printf(".set NOPS, %d\n", PVK_NOPS);
    printf(".set CLB_RAX, %#x\n.set CLB_RDX, %#x\n.set CLB_FLAGS, %#x\n",
           PVL_CLB(RAX), PVL_CLB(RDX), PVL_CLB(FLAGS));
    printf(".set CLB_C, %#x\n.set CLB_CPUID, %#x\n", PVL_CLB_C, PVK_CLB_CPUID);
    printf(".set ACT_NATIVE, %d\n.set ACT_INLINE, %d\n.set ACT_CALL, %d\n.set ACT_NOP, %d\n",
           PVL_ACT_NATIVE, PVL_ACT_INLINE, PVL_ACT_CALL, PVL_ACT_NOP);
    printf(".set ROM_MAGIC, %#x\n.set FORMAT_MAJOR, %d\n.set FORMAT_MINOR, %d\n",
           PVL_ROM_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR);
    printf(".set IFACE_MAJOR, %d\n.set IFACE_MINOR, %d\n", PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    return 0;
}
