/*
 * A small test harness.  A test program is a table of named cases; each
 * case runs, and the program prints one line per case:
 *     PASS <program>:<case>
 *     FAIL <program>:<case>: <file>:<line>: <what>
 *     SKIP <program>:<case>: <reason>
 * tests/run.sh adds those lines up.  `prog NAME...` runs only those cases.
 */
#ifndef PVL_TEST_HARNESS_H
#define PVL_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct t_case {
    const char *name;
    void (*fn)(void);
};

/* Run the cases of (cases); returns the exit status for main(). */
int t_main(int argc, char **argv, const struct t_case *cases, size_t n);

/* Record a failure of the current case (it goes on running). */
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Mark the current case skipped, with a reason. */
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hex dump of (n) bytes into a static buffer, for messages. */
const char *t_hex(const void *p, size_t n);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            t_fail(__FILE__, __LINE__, "%s", #cond);                         \
    } while (0)

#define CHECK_EQ(got, want)                                                  \
    do {                                                                     \
        unsigned long long g_ = (unsigned long long)(got);                   \
        unsigned long long w_ = (unsigned long long)(want);                  \
        if (g_ != w_)                                                        \
            t_fail(__FILE__, __LINE__, "%s: got %#llx, expected %#llx",      \
                   #got, g_, w_);                                            \
    } while (0)

#define CHECK_BYTES(got, want, n)                                            \
    do {                                                                     \
        if (memcmp((got), (want), (n)) != 0) {                               \
            char w_[200];                                                    \
            snprintf(w_, sizeof w_, "%s", t_hex((want), (n)));               \
            t_fail(__FILE__, __LINE__, "%s: got %s, expected %s", #got,      \
                   t_hex((got), (n)), w_);                                   \
        }                                                                    \
    } while (0)

#define T_CASES(...)                                                         \
    static const struct t_case t_cases_[] = {__VA_ARGS__};                   \
    int main(int argc, char **argv)                                          \
    {                                                                        \
        return t_main(argc, argv, t_cases_,                                  \
                      sizeof t_cases_ / sizeof t_cases_[0]);                 \
    }
#define T(fn) {#fn, fn}

#endif
