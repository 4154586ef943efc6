/* pipe.h - promo-pipe: put any program that reads and writes NDJSON lines
 * on stdin/stdout into the ZeroMQ pipeline in place of a stage.
 *
 * promo_pipe.c is the stage (options, the two directions of lines, the
 * end); pipe_child.c starts, signals and reaps the one child. */
#ifndef PROMO_PIPE_H
#define PROMO_PIPE_H

#include <sys/types.h>

/* The child as pipe_child_start leaves it. */
struct pipe_child {
    pid_t pid;          /* > 0 while it runs, -1 once reaped */
    int to_child;       /* write end of its stdin (non-blocking), or -1 */
    int from_child;     /* read end of its stdout (blocking: see transport_fd_open), or -1 */
    int code;           /* once reaped: its exit code, or 128+N for signal N */
};

/* pipe_child_env - a copy of environ with each "NAME=value" of set[0..n)
 * replacing or adding NAME; NULL-terminated heap array (free with
 * pipe_child_env_free). */
char **pipe_child_env(char *const *set, int n);
void pipe_child_env_free(char **env);

/* pipe_child_start - run argv (searched in PATH) with envp, an empty signal
 * mask, every signal at its default disposition, only fds 0, 1 and 2 open
 * (stdin a pipe from us when with_stdin, else /dev/null; stdout a pipe to us;
 * stderr ours) and SIGTERM when promo-pipe dies. Returns 0, or -errno when
 * the command cannot be started (exec failed: nothing runs) with a log line. */
int pipe_child_start(struct pipe_child *c, char *const *argv, char *const *envp, int with_stdin);

/* pipe_child_reap - collect the child if it ended (no wait). Returns 1 when
 * it was reaped now (c->code set, logged), 0 when it still runs or was
 * reaped before. */
int pipe_child_reap(struct pipe_child *c);

/* pipe_child_signal - send sig to the child while it runs. */
void pipe_child_signal(const struct pipe_child *c, int sig);

/* pipe_child_stop - SIGTERM, wait up to wait_ms for it to end, then SIGKILL
 * and wait. Sets c->code. Nothing when already reaped. */
void pipe_child_stop(struct pipe_child *c, int wait_ms);

#endif
