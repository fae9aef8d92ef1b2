/*
 * pvlink's SIGTRAP handler forwards every trap that is not its own to the
 * handler installed before it, with the semantics that handler asked for:
 * SA_SIGINFO or not, its mask, SA_RESETHAND; SIG_IGN ignores a sent SIGTRAP
 * but not a trap; SIG_DFL terminates.  A handler that replaces pvlink's is
 * chained behind it at the next live link.  Choosing pvlink's signal.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "rt_common.h"

static volatile int info_calls, plain_calls, last_code, usr1_blocked;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    sigset_t cur;
    (void)uc;
    info_calls++;
    last_code = si->si_code;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    usr1_blocked = sigismember(&cur, SIGUSR1) && sig == SIGTRAP;
}

static void plain_handler(int sig)
{
    plain_calls += sig == SIGTRAP;
}

/* Install (h) as the SIGTRAP handler, then let a live link put pvlink's
 * handler in front of it. */
static void install_then_link(const struct sigaction *h)
{
    struct pvr_link_opts o = {.flags = PVR_LINK_LIVE};
    struct pvr_error e;
    struct sigaction cur;

    sigaction(SIGTRAP, h, NULL);
    if (pvr_link(&rt_iface, NULL, &o, NULL, &e) != PVL_OK) /* nothing changes: installs only */
        t_fail(__FILE__, __LINE__, "%s", e.msg);
    struct pvr_provider *p = pvr_provider_table(&rt_desc_b, &rt_iface, &e);
    CHECK_EQ(pvr_link(&rt_iface, p, &o, NULL, &e), PVL_OK);
    CHECK_EQ(pvr_unlink(&rt_iface, &o, NULL, &e), PVL_OK);
    pvr_provider_close(p, &e);
    sigaction(SIGTRAP, NULL, &cur);
    CHECK((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction != info_handler);
}

static void siginfo_handler(void)
{
    struct sigaction sa = {.sa_sigaction = info_handler, .sa_flags = SA_SIGINFO};

    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    install_then_link(&sa);
    info_calls = 0;
    __asm__ __volatile__("int3");
    CHECK_EQ(info_calls, 1);
    CHECK(last_code == SI_KERNEL || last_code == TRAP_BRKPT); /* kernel; valgrind */
    CHECK_EQ(usr1_blocked, 1); /* the forwarded handler runs with its mask */
    raise(SIGTRAP);
    CHECK_EQ(info_calls, 2);
    CHECK_EQ(last_code, SI_TKILL);
}

static void plain_and_replaced(void)
{
    struct sigaction sa = {.sa_handler = plain_handler};

    sigemptyset(&sa.sa_mask);
    install_then_link(&sa); /* replaces pvlink's; the link re-installs it */
    plain_calls = 0;
    __asm__ __volatile__("int3");
    raise(SIGTRAP);
    CHECK_EQ(plain_calls, 2);
}

/* Run (fn) in a child; returns its wait status. */
static int in_child(void (*fn)(void))
{
    int st = 0;
    pid_t pid;

    fflush(stdout);
    if ((pid = fork()) == 0) {
        fn();
        _exit(0);
    }
    waitpid(pid, &st, 0);
    return st;
}

static void child_resethand(void)
{
    struct sigaction sa = {.sa_handler = plain_handler, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    install_then_link(&sa);
    plain_calls = 0;
    __asm__ __volatile__("int3"); /* plain_handler, then back to SIG_DFL */
    if (plain_calls != 1)
        _exit(3);
    __asm__ __volatile__("int3"); /* terminates */
    _exit(4);
}

static void child_ignore(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    install_then_link(&sa);
    raise(SIGTRAP); /* ignored */
    __asm__ __volatile__("int3"); /* a trap cannot be ignored */
    _exit(5);
}

static void child_default(void)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    install_then_link(&sa);
    __asm__ __volatile__("int3");
    _exit(6);
}

static void resethand_ignore_default(void)
{
    int st = in_child(child_resethand);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTRAP);
    st = in_child(child_ignore);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTRAP);
    st = in_child(child_default);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTRAP);
}

static void choosing_the_signal(void)
{
    struct pvr_error e;
    char want[PVR_MSG_MAX];

    CHECK_EQ(pvr_set_signal(SIGUSR1, &e), PVL_E_ARG);
    snprintf(want, sizeof want, "signal %d: not a free real-time signal (%d..%d without a "
             "handler)", SIGUSR1, SIGRTMIN, SIGRTMAX);
    CHECK(strcmp(e.msg, want) == 0);
    CHECK_EQ(pvr_set_signal(SIGRTMAX - 3, &e), PVL_E_ARG); /* after the first live link */
    snprintf(want, sizeof want, "signal: already in use (%d); choose it before the first "
             "live link", SIGRTMAX - 2);
    if (strcmp(e.msg, want))
        t_fail(__FILE__, __LINE__, "message: %s", e.msg);
}

T_CASES(T(siginfo_handler), T(plain_and_replaced), T(resethand_ignore_default),
        T(choosing_the_signal))
