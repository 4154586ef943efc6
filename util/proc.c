/* proc.c - child processes for the exec and plugin adapters: a clean
 * environment, a child reset to default signals, fds closed, and a pid
 * liveness check that survives pid reuse (see proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/proc.h"
#include "util/util.h"

extern char **environ;

#define PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* The variables every child gets from the current environment when set. */
static const char *const proc_pass[] = {
    "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME",
};

/* proc_env_find - index of name in e, or -1. */
static long proc_env_find(const struct proc_env *e, const char *name)
{
    size_t i, nl = strlen(name);

    for (i = 0; i < e->n; i++)
        if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=')
            return (long)i;
    return -1;
}

/* proc_env_put - add (or replace) the heap string kv = "NAME=value". */
static void proc_env_put(struct proc_env *e, char *kv)
{
    char name[256];
    const char *eq = strchr(kv, '=');
    size_t nl = eq ? (size_t)(eq - kv) : strlen(kv);
    long i;

    if (nl >= sizeof(name)) {
        free(kv);
        return;
    }
    memcpy(name, kv, nl);
    name[nl] = '\0';
    i = proc_env_find(e, name);
    if (i >= 0) {
        free(e->v[i]);
        e->v[i] = kv;
        return;
    }
    if (e->n + 2 > e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

/* proc_env_init - the pass-through variables only. */
void proc_env_init(struct proc_env *e)
{
    size_t i;

    memset(e, 0, sizeof(*e));
    e->cap = 16;
    e->v = xcalloc(e->cap, sizeof(*e->v));
    for (i = 0; i < ARRAY_LEN(proc_pass); i++) {
        const char *v = getenv(proc_pass[i]);

        if (v)
            proc_env_set(e, proc_pass[i], v);
        else if (strcmp(proc_pass[i], "PATH") == 0)
            proc_env_set(e, "PATH", PROC_DEFAULT_PATH);
    }
}

/* proc_env_pass_prefix - pass the current variables named prefix*. */
void proc_env_pass_prefix(struct proc_env *e, const char *prefix)
{
    size_t pl = strlen(prefix);
    char **p;

    for (p = environ; p && *p; p++)
        if (strncmp(*p, prefix, pl) == 0 && strchr(*p, '='))
            proc_env_put(e, xstrdup(*p));
}

/* proc_env_set - set name=value. */
void proc_env_set(struct proc_env *e, const char *name, const char *value)
{
    proc_env_put(e, xasprintf("%s=%s", name, value ? value : ""));
}

/* proc_env_get - the value of name, or NULL. */
const char *proc_env_get(const struct proc_env *e, const char *name)
{
    long i = proc_env_find(e, name);

    return i < 0 ? NULL : e->v[i] + strlen(name) + 1;
}

/* proc_env_free - release e. */
void proc_env_free(struct proc_env *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* proc_raw_default - SIG_DFL for sig through rt_sigaction itself, for the
 * signals libc does not let a program touch. The kernel's structure is
 * handler, flags, restorer, mask on x86-64 and arm64; SIG_DFL needs no
 * restorer. Elsewhere it does nothing. */
static void proc_raw_default(int sig)
{
#if defined(__x86_64__) || defined(__aarch64__)
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } ksa;

    memset(&ksa, 0, sizeof(ksa));
    ksa.handler = SIG_DFL;
    (void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
#else
    (void)sig;
#endif
}

/* proc_child_reset - empty mask, default dispositions, for every signal.
 * glibc's sigaction refuses the two realtime signals it keeps for itself
 * (32 and 33); a parent may still have left them ignored, and an ignored
 * signal stays ignored across execve, so those are reset with the raw
 * system call. */
void proc_child_reset(void)
{
    struct sigaction sa;
    sigset_t none;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, &sa, NULL) < 0 && errno == EINVAL)
            proc_raw_default(sig);
    }
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* proc_close_from - close every fd >= lowfd. */
void proc_close_from(int lowfd)
{
    long max;
    int fd;

    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20)
        max = 1 << 16;
    for (fd = lowfd; fd < max; fd++)
        (void)close(fd);
}

/* proc_write_all - the whole buffer, or -1. */
int proc_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* proc_start_time - field 22 of /proc/PID/stat, -1 when gone or a zombie.
 * No stdio and no heap: the exec supervisor calls it after fork. */
long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd, field, digits = 0;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strrchr(buf, ')');              /* the command name may hold spaces and ')' */
    if (!p || p[1] != ' ')
        return -1;
    p += 2;                             /* field 3: state */
    if (*p == 'Z' || *p == 'X' || *p == 'x')
        return -1;
    for (field = 3; field < 22 && *p; p++)
        if (*p == ' ')
            field++;
    for (; field == 22 && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
        start = start * 10 + (unsigned long long)(*p - '0');
    if (field != 22 || digits == 0)
        return -1;
    return (long long)start;
}

/* proc_alive - pid is live and started at start_time. */
int proc_alive(pid_t pid, long long start_time)
{
    long long now = proc_start_time(pid);

    return now >= 0 && now == start_time;
}

/* proc_exec_path_ok - an absolute path to an executable regular file. */
int proc_exec_path_ok(const char *path, char *err, size_t errlen)
{
    struct stat sb;

    if (!path || path[0] != '/') {
        snprintf(err, errlen, "job must be an absolute path to a program");
        return 0;
    }
    if (strlen(path) > 1023) {
        snprintf(err, errlen, "job path too long");
        return 0;
    }
    if (stat(path, &sb) < 0) {
        snprintf(err, errlen, "job %s: %s", path, strerror(errno));
        return 0;
    }
    if (!S_ISREG(sb.st_mode) || access(path, X_OK) < 0) {
        snprintf(err, errlen, "job %s: not an executable file", path);
        return 0;
    }
    return 1;
}
