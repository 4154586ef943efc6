/* proc.h - child processes for the exec and plugin adapters.
 *
 * What both adapters need to start a program safely from a stage: a clean
 * environment built before fork (no inherited secrets), a child reset to an
 * empty signal mask and default dispositions (the stage blocks SIGTERM,
 * SIGINT, SIGHUP, SIGCHLD and ignores SIGPIPE), every fd above a bound
 * closed, and a liveness check that survives pid reuse (the start time in
 * /proc/PID/stat). */
#ifndef PROMO_ADAPTERS_PROC_H
#define PROMO_ADAPTERS_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* A NULL-terminated "NAME=value" array under construction (heap). */
struct proc_env {
    char **v;
    size_t n, cap;
};

/* proc_env_init - e gets the variables that always pass through from the
 * current environment when set: PATH (else a safe default), HOME, TMPDIR,
 * LANG, LC_ALL, TZ, USER, LOGNAME. Nothing else is inherited. */
void proc_env_init(struct proc_env *e);
/* proc_env_pass_prefix - also pass every current variable whose name starts
 * with prefix (e.g. "PROMO_PLUGIN_"). */
void proc_env_pass_prefix(struct proc_env *e, const char *prefix);
/* proc_env_set - set name=value, replacing an earlier one of that name.
 * value NULL means "". */
void proc_env_set(struct proc_env *e, const char *name, const char *value);
/* proc_env_get - the value of name in e, or NULL. */
const char *proc_env_get(const struct proc_env *e, const char *name);
void proc_env_free(struct proc_env *e);

/* proc_child_reset - in a child after fork: empty signal mask and default
 * disposition for every signal. Async-signal-safe. */
void proc_child_reset(void);

/* proc_close_from - close every fd >= lowfd. Async-signal-safe. */
void proc_close_from(int lowfd);

/* proc_write_all - write len bytes to fd (EINTR and short writes retried);
 * 0 or -1. Async-signal-safe. */
int proc_write_all(int fd, const void *buf, size_t len);

/* proc_start_time - the start time of pid (field 22 of /proc/PID/stat, in
 * clock ticks since boot), or -1 when there is no such live process (absent,
 * or a zombie). */
long long proc_start_time(pid_t pid);

/* proc_alive - 1 when pid is a live process started at start_time. */
int proc_alive(pid_t pid, long long start_time);

/* proc_exec_path_ok - 1 when path is absolute, at most 1023 bytes, and
 * names a regular file this process may execute; otherwise 0 with the
 * reason in err. */
int proc_exec_path_ok(const char *path, char *err, size_t errlen);

#endif
