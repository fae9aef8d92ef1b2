/* The version of pvlink's tools and library, also written into
 * pvlink.pc by tools/tools.mk. */
#ifndef PVT_VERSION_H
#define PVT_VERSION_H
#define PVT_VERSION "0.1.0"
#endif
