#include "runprog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

const char *t_env(const char *name)
{
    const char *v = getenv(name);

    if (!v) {
        fprintf(stderr, "%s: %s is not set\n", program_invocation_short_name, name);
        exit(2);
    }
    return v;
}

void t_slurp(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    ssize_t k = fd < 0 ? 0 : read(fd, buf, n - 1);
    char more;

    buf[k > 0 ? k : 0] = 0;
    /* a cut-off output would fail checks on its last lines for no reason
     * anyone could see: say so */
    if (fd >= 0 && k == (ssize_t)(n - 1) && read(fd, &more, 1) == 1)
        t_fail(__FILE__, __LINE__, "%s is longer than the test's %zu-byte buffer", path, n);
    if (fd >= 0)
        close(fd);
}

/* Its status, after at most (timeout) seconds (0: no bound); -1 if it had
 * to be killed. */
static int wait_bounded(pid_t pid, unsigned timeout)
{
    struct timespec ms = {0, 10000000};
    int st;

    for (unsigned long i = 0; timeout == 0 || i < timeout * 100ul; i++) {
        if (waitpid(pid, &st, timeout ? WNOHANG : 0) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int t_run_prog(const char *prog, const char *const *args, const char *dir, unsigned timeout,
               char *out, char *err, size_t cap)
{
    char outf[512], errf[512];
    const char *argv[128] = {prog};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int n = 1, status;

    for (; args[n - 1] && n < 127; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    snprintf(outf, sizeof outf, "%s/out", dir);
    snprintf(errf, sizeof errf, "%s/err", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid, prog, &fa, NULL, (char *const *)argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        t_fail(__FILE__, __LINE__, "cannot run %s", prog);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if ((status = wait_bounded(pid, timeout)) < 0)
        t_fail(__FILE__, __LINE__, "%s ran longer than %u s: killed", prog, timeout);
    t_slurp(outf, out, cap);
    t_slurp(errf, err, cap);
    return status;
}
