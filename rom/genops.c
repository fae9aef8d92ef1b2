/*
 * genops: write the kernel catalog's operation numbers, the state bits
 * and the record sizes as assembler constants (.set), so that the ROM's table, written in
 * assembly, takes them from the same list as everything else.
 */
#include <stdio.h>

#include <pvlink/kernel_ops.h>

#define OP_(N, n, room, since, clb, fl, txt, bytes) printf(".set OP_%s, %d\n", #n, PVK_OP_##N);

int main(void)
{
    PVK_CATALOG(OP_)
    printf(".set NOPS, %d\n", PVK_NOPS);
    printf(".set CLB_RAX, %#llx\n.set CLB_RDX, %#llx\n.set CLB_FLAGS, %#llx\n",
           (unsigned long long)PVL_CLB(RAX), (unsigned long long)PVL_CLB(RDX),
           (unsigned long long)PVL_CLB(FLAGS));
    printf(".set CLB_STACK, %#llx\n.set CLB_KC, %#llx\n", (unsigned long long)PVL_CLB(STACK),
           (unsigned long long)PVK_CLB_C);
    printf(".set HEADER_SIZE, %zu\n.set ENTRY_SIZE, %zu\n", sizeof(struct pvl_rom_header),
           sizeof(struct pvl_rom_entry));
    printf(".set ACT_NATIVE, %d\n.set ACT_INLINE, %d\n.set ACT_CALL, %d\n.set ACT_NOP, %d\n",
           PVL_ACT_NATIVE, PVL_ACT_INLINE, PVL_ACT_CALL, PVL_ACT_NOP);
    printf(".set ROM_MAGIC, %#x\n.set FORMAT_MAJOR, %d\n.set FORMAT_MINOR, %d\n",
           PVL_ROM_MAGIC, PVL_FORMAT_MAJOR, PVL_FORMAT_MINOR);
    printf(".set ROM_GATES, %#x\n.set ENT_REQUIRED, %#x\n", PVL_ROM_GATES, PVL_ENT_REQUIRED);
    printf(".set IFACE_MAJOR, %d\n.set IFACE_MINOR, %d\n", PVK_IFACE_MAJOR, PVK_IFACE_MINOR);
    return 0;
}
