/* Operation numbers of the test interface "pvlink.test" 1.0. */
#ifndef PVL_TEST_TIFACE_OPS_H
#define PVL_TEST_TIFACE_OPS_H
enum { TOP_ADD, TOP_POKE, TOP_GET, TOP_HOOK, TOP_NOPS };
#endif
