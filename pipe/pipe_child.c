/* pipe_child.c - the one child of promo-pipe: started with fork and exec so
 * that it gets a clean process state (empty signal mask, default signal
 * dispositions, only stdin/stdout/stderr open, SIGTERM if promo-pipe dies),
 * signalled, and reaped by its pid (the stage skeleton reaps nothing).
 *
 * Between fork and exec the child calls only async-signal-safe functions:
 * promo-pipe already runs ZeroMQ's threads. An exec failure travels back on
 * a close-on-exec pipe, so a command that cannot start is reported at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pipe.h"
#include "util/proc.h"
#include "util/log.h"
#include "util/util.h"

extern char **environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* pipe_child_env - environ with set[] replacing or adding its names. */
char **pipe_child_env(char *const *set, int n)
{
    size_t count = 0, k = 0, i;
    char **env;
    int j;

    while (environ && environ[count])
        count++;
    env = xcalloc(count + (size_t)n + 1, sizeof(*env));
    for (i = 0; i < count; i++) {
        for (j = 0; j < n; j++) {
            size_t len = (size_t)(strchr(set[j], '=') - set[j]);

            if (strncmp(environ[i], set[j], len + 1) == 0)
                break;
        }
        if (j == n)
            env[k++] = xstrdup(environ[i]);
    }
    for (j = 0; j < n; j++)
        env[k++] = xstrdup(set[j]);
    env[k] = NULL;
    return env;
}

/* pipe_child_env_free - free what pipe_child_env returned (NULL is fine). */
void pipe_child_env_free(char **env)
{
    size_t i;

    for (i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* pipe_child_fd_to - make fd the child's target fd (0 or 1), open across exec. */
static int pipe_child_fd_to(int fd, int target)
{
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* pipe_child_cloexec_rest - mark every fd above 2 close-on-exec (the
 * ZeroMQ sockets, an s6 notification fd, whatever we inherited). */
static void pipe_child_cloexec_rest(void)
{
    struct rlimit rl;
    long fd, max = 65536;

    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
        max = (long)rl.rlim_cur;
    for (fd = 3; fd < max; fd++)
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

/* pipe_child_exec - in the forked child: set up and exec; never returns.
 * On failure the errno goes to errfd and the child exits 127. */
static void pipe_child_exec(char *const *argv, char *const *envp, int in_fd, int out_fd,
                            int errfd, pid_t parent)
{
    int e;

    proc_child_reset();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
        errno = ESRCH;                      /* promo-pipe is already gone */
        goto fail;
    }
    if (in_fd < 0)
        in_fd = open("/dev/null", O_RDONLY);
    if (in_fd < 0 || pipe_child_fd_to(in_fd, 0) < 0 || pipe_child_fd_to(out_fd, 1) < 0)
        goto fail;
    pipe_child_cloexec_rest();
    environ = (char **)envp;
    execvp(argv[0], argv);
fail:
    e = errno;
    if (write(errfd, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

/* pipe_child_start - fork, exec, and learn whether the exec worked. */
int pipe_child_start(struct pipe_child *c, char *const *argv, char *const *envp, int with_stdin)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, e = 0, status;
    pid_t parent = getpid(), pid;
    ssize_t n;

    c->pid = -1;
    c->to_child = c->from_child = -1;
    c->code = 0;
    if ((with_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        e = errno;
        log_error("pipe_failed", "error=%s", log_q(strerror(e)));
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        e = errno;
        log_error("fork_failed", "error=%s", log_q(strerror(e)));
        goto fail;
    }
    if (pid == 0)
        pipe_child_exec(argv, envp, in[0], out[1], err[1], parent);
    close(err[1]);
    err[1] = -1;
    do
        n = read(err[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        log_error("exec_failed", "command=%s error=%s", log_q(argv[0]), log_q(strerror(e)));
        goto fail;
    }
    e = 0;
    close(err[0]);
    if (with_stdin) {
        close(in[0]);
        c->to_child = in[1];
        if (fcntl(c->to_child, F_SETFL, fcntl(c->to_child, F_GETFL) | O_NONBLOCK) < 0)
            log_warn("fcntl_failed", "fd=child_stdin error=%s", log_q(strerror(errno)));
    }
    close(out[1]);
    c->from_child = out[0];
    c->pid = pid;
    log_info("child_start", "pid=%ld command=%s", (long)pid, log_q(argv[0]));
    return 0;
fail:
    if (in[0] >= 0) { close(in[0]); close(in[1]); }
    if (out[0] >= 0) { close(out[0]); close(out[1]); }
    if (err[0] >= 0) close(err[0]);
    if (err[1] >= 0) close(err[1]);
    return -(e ? e : EIO);
}

/* pipe_child_status - record a wait status in c and log it. */
static void pipe_child_status(struct pipe_child *c, int status)
{
    if (WIFSIGNALED(status)) {
        c->code = 128 + WTERMSIG(status);
        log_info("child_exit", "pid=%ld signal=%d code=%d", (long)c->pid, WTERMSIG(status), c->code);
    } else {
        c->code = WEXITSTATUS(status);
        log_info("child_exit", "pid=%ld status=%d code=%d", (long)c->pid, c->code, c->code);
    }
    c->pid = -1;
}

/* pipe_child_reap - waitpid without waiting. */
int pipe_child_reap(struct pipe_child *c)
{
    int status;
    pid_t r;

    if (c->pid <= 0)
        return 0;
    do
        r = waitpid(c->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r != c->pid)
        return 0;
    pipe_child_status(c, status);
    return 1;
}

/* pipe_child_signal - kill(pid, sig) while it runs. */
void pipe_child_signal(const struct pipe_child *c, int sig)
{
    if (c->pid > 0 && kill(c->pid, sig) < 0 && errno != ESRCH)
        log_warn("kill_failed", "pid=%ld sig=%d error=%s", (long)c->pid, sig, log_q(strerror(errno)));
}

/* pipe_child_stop - TERM, a bounded wait, then KILL. */
void pipe_child_stop(struct pipe_child *c, int wait_ms)
{
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    int64_t until = now_ms() + wait_ms;
    int status;
    pid_t r;

    if (c->pid <= 0)
        return;
    log_info("child_stop", "pid=%ld sig=TERM wait_ms=%d", (long)c->pid, wait_ms);
    pipe_child_signal(c, SIGTERM);
    while (!pipe_child_reap(c) && c->pid > 0) {
        if (now_ms() >= until) {
            log_warn("child_kill", "pid=%ld reason=%s", (long)c->pid, log_q("still running after SIGTERM"));
            pipe_child_signal(c, SIGKILL);
            do
                r = waitpid(c->pid, &status, 0);
            while (r < 0 && errno == EINTR);
            if (r == c->pid)
                pipe_child_status(c, status);
            else
                c->pid = -1;
            return;
        }
        nanosleep(&ts, NULL);
    }
}
