/*
 * A synthetic object for linker tests: a heap buffer laid out like a loaded
 * binary (descriptor, text, original copies, site records), whose sites are
 * planned and written but never executed.
 *
 *   +0x0000  interface descriptors (the test's and one of another name)
 *   +0x1000  text: sites, 64 bytes apart (the executable range)
 *   +0x8000  pvlink_orig copies
 *   +0xc000  pvlink_sites records
 *   +0xf000  native call target
 */
#ifndef PVL_TEST_FIXTURE_H
#define PVL_TEST_FIXTURE_H

#include <pvlink/link.h>

#define FX_SIZE 0x10000
#define FX_TEXT 0x1000
#define FX_ORIG 0x8000
#define FX_RECS 0xc000
#define FX_TARGET 0xf000
#define FX_STRIDE 64
#define FX_BIAS 0x400000 /* run-time address of byte 0 is 0x400000 + ... */

/* The test interface, "pvlink.test" 1.0 (tests/tiface.h). */
#include "tiface_ops.h"
extern const struct pvl_iface fx_iface;

struct fx {
    uint8_t *mem;
    struct pvl_iface_desc *desc, *other;
    struct pvl_site *sites;
    size_t nsites;
};

void fx_init(struct fx *f);
void fx_free(struct fx *f);

/* Add a site for (op) with (room), (clobbers) and (flags); its native code
 * is the catalog's (or a call to FX_TARGET with PVL_SITE_NATIVE_CALL).
 * Returns the site's index. */
size_t fx_site(struct fx *f, uint16_t op, uint8_t room, uint64_t clobbers,
               uint8_t flags);

/* Run-time address of site (i), and of a local pointer into the object. */
uint64_t fx_addr(const struct fx *f, size_t i);
uint8_t *fx_local(const struct fx *f, size_t i);

/* The object's executable code: its text, [FX_TEXT, FX_ORIG). */
extern struct pvl_range fx_exec;

/* A link request for all sites against (env) (NULL: unlink); its
 * executable range is the text (fx_exec, set by fx_request). */
struct pvl_link fx_request(const struct fx *f, const struct pvl_env *env);

/* An environment with one pvl_impl per operation, all native. */
struct fx_env {
    struct pvl_env env;
    struct pvl_impl impl[TOP_NOPS];
};
void fx_env_init(struct fx_env *e);

#endif
