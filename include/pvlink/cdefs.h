/*
 * Language glue shared by every pvlink interface header, so that each of
 * them is valid C (C11 and later) and C++ (C++11 and later) alike.
 * Self-contained: includes nothing.
 *
 *   PVL_STATIC_ASSERT(expr, "why")  a compile-time check at file or block
 *                                    scope, in either language
 *   PVL_BEGIN_DECLS / PVL_END_DECLS  C linkage for the functions and
 *                                    objects a header declares
 */
#ifndef PVLINK_CDEFS_H
#define PVLINK_CDEFS_H

#ifdef __cplusplus
#define PVL_STATIC_ASSERT(expr, why) static_assert(expr, why)
#define PVL_BEGIN_DECLS extern "C" {
#define PVL_END_DECLS }
#else
#define PVL_STATIC_ASSERT(expr, why) _Static_assert(expr, why)
#define PVL_BEGIN_DECLS
#define PVL_END_DECLS
#endif

#endif /* PVLINK_CDEFS_H */
