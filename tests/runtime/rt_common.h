/*
 * Shared by the runtime tests: the program's own pvlink.rt sites, two
 * in-program providers, and checks of results and of site bytes derived
 * independently of the linker.
 *
 *   provider  add         twice          mix            note
 *   native    a+b         2a             a+3b           records v
 *   A         call a+b+1000  inline 3a   inline 2a+b    call, records -v
 *   B         inline a+b+7   inline 4a   inline a*b     native
 *   SO        call a-b    native         inline a-b     NOPs
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#include <pvlink/runtime.h>

#include "rt_iface.h"

enum { ST_NATIVE, ST_A, ST_B, ST_SO, NSTATES };

extern const struct pvr_provider_desc rt_desc_a, rt_desc_b;

/* A call entry in assembly changing only rax (lea 0(,%rdi,4), %rax). */
long rt_b_twice(long a);

/* The program's sites: one of each op in each function. */
long exe_add(long a, long b);
long exe_twice(long a);
long exe_mix(long a, long b);
void exe_note(long v);
long exe_noted(void);
void exe_sites(const struct pvl_site **start, const struct pvl_site **stop);

/* What op (op) returns / records under state (st). */
long rt_expect(int st, int op, long a, long b);

/* Check every result of the program and the library under (st); returns
 * the number of mismatches (each reported with t_fail). */
int rt_check_results(const char *where, int st);

/*
 * Check the bytes of every pvlink.rt site in [start, stop) under (st);
 * (so) is the dlopen handle of the SO provider for state ST_SO.  Returns
 * the number of sites checked.
 */
int rt_check_bytes(const char *where, const struct pvl_site *start,
                   const struct pvl_site *stop, int st);

/* 1 when site (s) is one of pvlink.rt. */
int rt_is_rt(const struct pvl_site *s);

/* 1 when site (s) is one of pvlink.rt and holds exactly its bytes under
 * (st). */
int rt_site_is(const struct pvl_site *s, int st);

/* Start (n) (at most 8) threads that run pvlink.rt sites of this program
 * and of the library in a loop; stop them and return how many results
 * were not those of any implementation (and, in *checked, how many were
 * checked). */
void rt_workers_start(int n);
long rt_workers_stop(long *checked);

/* Run (fn) in a child process, with memory-deny-write-execute on when
 * (mdwe) (a skip when the kernel has none); the child must exit 0 (it
 * prints its own failures) and must not be killed. */
void rt_in_child(void (*fn)(void), int mdwe);

/* 1 when a mapping of this process names (name) (/proc/self/maps). */
int rt_mapped(const char *name);

/* Path of a file next to this test program. */
const char *rt_path(const char *name);

#endif
