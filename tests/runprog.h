/*
 * Running a program under test (a monitor, a tool) and keeping what it
 * printed: for the end-to-end tests of tests/monitor and tests/spt.
 */
#ifndef PVL_TEST_RUNPROG_H
#define PVL_TEST_RUNPROG_H

#include <stddef.h>

/* The value of environment variable (name); a test program without it is
 * misconfigured: it says so and exits with status 2. */
const char *t_env(const char *name);

/* Read the file at (path) into (buf), NUL-terminated, at most (n - 1)
 * bytes (a longer file is a test failure); an unreadable file reads as
 * empty. */
void t_slurp(const char *path, char *buf, size_t n);

/* Run (prog) with the NULL-terminated (args), its stdout and stderr in
 * files of directory (dir), then in (out) and (err) (each (cap) bytes,
 * NUL-terminated).  Waits at most (timeout) seconds (0: no bound) and then
 * kills it.  Returns its exit status, 128 + the signal that ended it, or
 * -1 (it could not be started, or was killed: a test failure is
 * recorded). */
int t_run_prog(const char *prog, const char *const *args, const char *dir, unsigned timeout,
               char *out, char *err, size_t cap);

#endif
