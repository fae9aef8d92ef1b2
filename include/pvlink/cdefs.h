/*
 * Language glue shared by every pvlink interface header, so that each of
 * them is valid C (C11 and later) and C++ (C++11 and later) alike.
 * Self-contained: includes nothing.
 *
 *   PVL_STATIC_ASSERT(expr, "why")  a compile-time check at file or block
 *                                    scope, in either language
 *   PVL_BEGIN_DECLS / PVL_END_DECLS  C linkage for the functions and
 *                                    objects a header declares
 *   PVL_EXTERN_C                     C linkage for one declaration
 *   PVL_CONST_OBJ                    "const" for an object defined in a
 *                                    header with external linkage (C++
 *                                    gives a bare const object internal
 *                                    linkage; C warns about extern with an
 *                                    initializer)
 */
#ifndef PVLINK_CDEFS_H
#define PVLINK_CDEFS_H

#ifdef __cplusplus
#define PVL_STATIC_ASSERT(expr, why) static_assert(expr, why)
#define PVL_BEGIN_DECLS extern "C" {
#define PVL_END_DECLS }
#define PVL_EXTERN_C extern "C"
#define PVL_CONST_OBJ extern const
#else
#define PVL_STATIC_ASSERT(expr, why) _Static_assert(expr, why)
#define PVL_BEGIN_DECLS
#define PVL_END_DECLS
#define PVL_EXTERN_C
#define PVL_CONST_OBJ const
#endif

#endif /* PVLINK_CDEFS_H */
