/* exec.c - the "exec" adapter: a local program as a promotion test.
 *
 * trigger claims the run directory STATE/exec/<key>/ with mkdir (a second
 * trigger of the same key finds it and reports the existing run), then
 * double-forks a supervisor into its own session, so the run outlives a
 * restart of the trigger stage. The supervisor starts the program with
 * execve, never a shell: argv is [job] plus the parameter "args" as ONE
 * element; every parameter is also an environment variable
 * PROMO_PARAM_<NAME>. It copies the program's output into output.log (at
 * most EXEC_OUTPUT_MAX bytes), enforces the test's timeout and a cancel
 * request (SIGTERM to the program's process group, SIGKILL 5 s later) and
 * writes the result atomically to "exit". status, find and cancel only read
 * the run directory and signal processes whose start time they verified.
 * Layout and conventions: docs/providers.md, section "exec". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "adapter.h"
#include "exec.h"
#include "util/proc.h"
#include "util/atomic.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "util/loop.h"

#define EXEC_TICK_MS      100        /* supervisor: how often it looks at deadline and cancel */
#define EXEC_MAX_PARAMS   64
#define EXEC_MAX_VALUE    (32 << 10) /* bytes in one parameter value */
#define EXEC_STARTING_MS  10000      /* no pid file yet, started this recently: still starting */
#define EXEC_KEY_MAX      100

/* One operation in flight: its result is delivered from the loop. */
struct exec_op {
    struct loop *loop;
    adapter_done_fn done;
    void *arg;
    int syncfd;                      /* trigger: read end closed by the supervisor when set up */
    char dir[PATH_MAX];              /* the run directory */
    struct adapter_result res;
};

/* Why the supervisor stopped the program. */
enum { EXEC_REASON_NONE = 0, EXEC_REASON_TIMEOUT, EXEC_REASON_CANCEL };

/* exec_key_valid - 1..EXEC_KEY_MAX chars of [a-z0-9-], not starting with '-'. */
int exec_key_valid(const char *key)
{
    size_t i;

    if (!key || !key[0] || key[0] == '-')
        return 0;
    for (i = 0; key[i]; i++) {
        char c = key[i];

        if (i >= EXEC_KEY_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

/* exec_map_exit - the exit file's text to a status; never a pass unless "exit 0". */
enum run_status exec_map_exit(const char *text, char *detail, size_t len)
{
    size_t n;
    long v;

    if (!text)
        text = "";
    n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
        n--;
    if (n > 5 && strncmp(text, "exit ", 5) == 0 && (v = str_uint(text + 5, text + n, 255)) >= 0) {
        snprintf(detail, len, "exit %ld", v);
        return v == 0 ? RUN_PASSED : RUN_FAILED;
    }
    if (n > 7 && strncmp(text, "signal ", 7) == 0 &&
        (v = str_uint(text + 7, text + n, 127)) > 0) {
        snprintf(detail, len, "signal %ld", v);
        return RUN_FAILED;
    }
    if (n == 7 && strncmp(text, "timeout", 7) == 0) {
        snprintf(detail, len, "timeout");
        return RUN_TIMED_OUT;
    }
    if (n == 9 && strncmp(text, "cancelled", 9) == 0) {
        snprintf(detail, len, "cancelled");
        return RUN_CANCELLED;
    }
    if (n == 5 && strncmp(text, "error", 5) == 0) {
        snprintf(detail, len, "runner error: see output.log");
        return RUN_FAILED;
    }
    snprintf(detail, len, "bad exit file");
    return RUN_FAILED;
}

/* exec_param_env_name - "PROMO_PARAM_" + NAME, uppercased, others '_'. */
int exec_param_env_name(const char *name, char *buf, size_t len)
{
    size_t i, nl = name ? strlen(name) : 0;
    const size_t pl = sizeof("PROMO_PARAM_") - 1;

    if (nl == 0 || nl > 64 || len < pl + nl + 1)
        return -1;
    memcpy(buf, "PROMO_PARAM_", pl);
    for (i = 0; i < nl; i++) {
        char c = name[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            c = '_';
        buf[pl + i] = c;
    }
    buf[pl + nl] = '\0';
    return 0;
}

/* exec_op_new - a fresh operation for done(arg). */
static struct exec_op *exec_op_new(struct loop *l, adapter_done_fn done, void *arg)
{
    struct exec_op *op = xcalloc(1, sizeof(*op));

    op->loop = l;
    op->done = done;
    op->arg = arg;
    op->syncfd = -1;
    op->res.rate_remaining = -1;
    return op;
}

/* exec_op_finish - deliver the result and free op. */
static void exec_op_finish(struct loop *l, void *arg)
{
    struct exec_op *op = arg;

    op->done(op->arg, &op->res);
    free(op);
}

/* exec_op_later - deliver the result from the loop's next turn. */
static void exec_op_later(struct exec_op *op)
{
    loop_after(op->loop, 0, exec_op_finish, op);
}

/* exec_op_fail - set the error of op's result. */
static void exec_op_fail(struct exec_op *op, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void exec_op_fail(struct exec_op *op, int error, const char *fmt, ...)
{
    va_list ap;

    op->res.error = error;
    va_start(ap, fmt);
    vsnprintf(op->res.errmsg, sizeof(op->res.errmsg), fmt, ap);
    va_end(ap);
}

/* exec_op_dir - the run directory of key into op->dir and the run's id,
 * url and api into op->res. Returns 0, or -1 with op's error set. */
static int exec_op_dir(struct exec_op *op, struct adapter_ctx *ctx, const char *key)
{
    struct adapter_run *r = &op->res.run;
    int n;

    if (!ctx->store) {
        exec_op_fail(op, ADAPTER_EPERM, "exec: no state directory");
        return -1;
    }
    if (!exec_key_valid(key)) {
        exec_op_fail(op, ADAPTER_EPERM, "exec: key %s is not a safe name ([a-z0-9-], at most %d)",
                     log_q(key ? key : ""), EXEC_KEY_MAX);
        return -1;
    }
    n = snprintf(op->dir, sizeof(op->dir), "%s/" EXEC_AREA "/%s", store_dir(ctx->store), key);
    if (n < 0 || (size_t)n >= sizeof(op->dir) || (size_t)n >= sizeof(r->api) ||
        (n = snprintf(r->url, sizeof(r->url), "file://%s/output.log", op->dir)) < 0 ||
        (size_t)n >= sizeof(r->url)) {
        exec_op_fail(op, ADAPTER_EPERM, "exec: state directory path too long");
        return -1;
    }
    str_copy(r->id, key, sizeof(r->id));
    str_copy(r->api, op->dir, sizeof(r->api));
    return 0;
}

/* exec_read_small - the first line-ish text of dir/name (at most len-1
 * bytes) into buf. Returns 0 or -errno (-ENOENT when absent). */
static int exec_read_small(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX + 32], *data = NULL;
    size_t n = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    rc = read_file(path, 4096, &data, &n);
    if (rc < 0)
        return rc;
    str_copy(buf, data, len);
    free(data);
    return 0;
}

/* exec_read_pids - the pid file: supervisor pid and start time, program
 * pid and start time. Returns 0, -ENOENT when absent, -EBADMSG when bad. */
static int exec_read_pids(const char *dir, pid_t *spid, long long *sstart, pid_t *cpid,
                          long long *cstart)
{
    char text[256];
    long sp, cp;
    int rc = exec_read_small(dir, "pid", text, sizeof(text));

    if (rc < 0)
        return rc;
    if (sscanf(text, "%ld %lld %ld %lld", &sp, sstart, &cp, cstart) != 4 ||
        sp <= 1 || cp <= 1 || sp > INT_MAX || cp > INT_MAX)
        return -EBADMSG;
    *spid = (pid_t)sp;
    *cpid = (pid_t)cp;
    return 0;
}

/* exec_read_time - the epoch ms in dir/name, or -1. */
static int64_t exec_read_time(const char *dir, const char *name)
{
    char text[64], *nl;

    if (exec_read_small(dir, name, text, sizeof(text)) < 0)
        return -1;
    if ((nl = strchr(text, '\n')) != NULL)
        *nl = '\0';
    return time_parse_iso(text);
}

/* exec_read_exit - if the exit file is there, map it into r (with the
 * duration) and return 1; else 0. */
static int exec_read_exit(const char *dir, struct adapter_run *r)
{
    char text[128];
    int64_t t0, t1;

    if (exec_read_small(dir, "exit", text, sizeof(text)) < 0)
        return 0;
    r->status = exec_map_exit(text, r->detail, sizeof(r->detail));
    t0 = exec_read_time(dir, "started");
    t1 = exec_read_time(dir, "finished");
    r->duration_ms = (t0 >= 0 && t1 >= t0) ? t1 - t0 : 0;
    return 1;
}

/* exec_run_state - the status of the run in op->dir, into op->res.run:
 * the exit file if present; else running while the supervisor lives;
 * starting shortly after the claim; else lost (a failure, never a pass). */
static void exec_run_state(struct exec_op *op)
{
    struct adapter_run *r = &op->res.run;
    pid_t spid, cpid;
    long long sstart, cstart;
    int rc;

    if (exec_read_exit(op->dir, r))
        return;
    rc = exec_read_pids(op->dir, &spid, &sstart, &cpid, &cstart);
    if (rc == 0 && proc_alive(spid, sstart)) {
        char path[PATH_MAX + 16];

        snprintf(path, sizeof(path), "%s/cancel", op->dir);
        r->status = RUN_RUNNING;
        str_copy(r->detail, access(path, F_OK) == 0 ? "cancelling" : "running", sizeof(r->detail));
        return;
    }
    if (rc == -ENOENT) {
        int64_t t0 = exec_read_time(op->dir, "started");

        if (t0 >= 0 && wall_ms() - t0 < EXEC_STARTING_MS && wall_ms() >= t0) {
            r->status = RUN_QUEUED;
            str_copy(r->detail, "starting", sizeof(r->detail));
            return;
        }
    }
    if (exec_read_exit(op->dir, r))     /* finished between the two looks */
        return;
    r->status = RUN_FAILED;
    str_copy(r->detail, "lost: runner died without a result", sizeof(r->detail));
}

/* exec_write_now - dir/name = the current time, ISO, atomically. 0 or -errno. */
static int exec_write_now(const char *dir, const char *name)
{
    char ts[40], line[48];
    int n;

    time_format_iso(wall_ms(), ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "%s\n", ts);
    return atomic_write(dir, name, line, (size_t)n, 0600);
}

/* exec_copy - copy what the program wrote (at most 16 reads) to fd 1,
 * keeping at most EXEC_OUTPUT_MAX bytes in all. Returns 1 at end of file
 * (or a read error), else 0. Supervisor only. */
static int exec_copy(int fd, size_t *kept, int *truncated)
{
    static char buf[65536];
    int i;

    for (i = 0; i < 16; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        size_t m;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : 1;
        if (n == 0)
            return 1;
        m = (size_t)n;
        if (*kept + m > EXEC_OUTPUT_MAX)
            m = EXEC_OUTPUT_MAX - *kept;
        if (m > 0 && proc_write_all(1, buf, m) == 0)
            *kept += m;
        if (m < (size_t)n && !*truncated) {
            static const char note[] = "\n[promo: output truncated at 10 MiB]\n";

            (void)proc_write_all(1, note, sizeof(note) - 1);
            *truncated = 1;
        }
    }
    return 0;
}

/* exec_supervise - the supervisor, in its own session with fd 0 on
 * /dev/null, fds 1 and 2 on output.log and fd 3 the sync pipe to the
 * trigger: start the program, write the pid file, close fd 3, copy the
 * output, enforce the deadline and a cancel request, write "finished" and
 * "exit", and exit. Uses no heap (it runs in a fork of a threaded process). */
static void exec_supervise(const char *dir, char *const argv[], char *const envp[],
                           int64_t timeout_ms) __attribute__((noreturn));
static void exec_supervise(const char *dir, char *const argv[], char *const envp[],
                           int64_t timeout_ms)
{
    char text[128], cancel[PATH_MAX + 16];
    int p[2], status = 0, out_open = 1, truncated = 0, reason = EXEC_REASON_NONE, n, lost = 0;
    int64_t deadline, kill_at = 0, eof_wait = 0;
    size_t kept = 0;
    pid_t child;

    snprintf(cancel, sizeof(cancel), "%s/cancel", dir);
    if (pipe2(p, O_CLOEXEC) < 0 || (child = fork()) < 0) {
        n = snprintf(text, sizeof(text), "promo-exec: cannot start the program: errno %d\n", errno);
        (void)proc_write_all(2, text, (size_t)n);
        exec_write_now(dir, "finished");
        atomic_write(dir, "exit", "error\n", 6, 0600);
        _exit(1);
    }
    if (child == 0) {
        (void)setpgid(0, 0);
        if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
            _exit(127);
        proc_close_from(3);
        execve(argv[0], argv, envp);
        n = snprintf(text, sizeof(text), "promo-exec: cannot execute the program: errno %d\n", errno);
        (void)proc_write_all(2, text, (size_t)n);
        _exit(127);
    }
    (void)setpgid(child, child);
    close(p[1]);
    (void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    n = snprintf(text, sizeof(text), "%ld %lld %ld %lld\n", (long)getpid(),
                 proc_start_time(getpid()), (long)child, proc_start_time(child));
    if (atomic_write(dir, "pid", text, (size_t)n, 0600) < 0) {
        static const char msg[] = "promo-exec: cannot write the pid file\n";

        (void)proc_write_all(2, msg, sizeof(msg) - 1);
    }
    close(3);                           /* the trigger may now report the run */

    deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        struct pollfd pfd;
        int64_t now, wait = EXEC_TICK_MS;
        pid_t w = waitpid(child, &status, WNOHANG);

        if (w == child)
            break;
        if (w < 0 && errno != EINTR) {
            lost = 1;                   /* cannot know how it ended: not a pass */
            break;
        }
        now = now_ms();
        if (reason == EXEC_REASON_NONE && deadline && now >= deadline)
            reason = EXEC_REASON_TIMEOUT;
        if (reason == EXEC_REASON_NONE && access(cancel, F_OK) == 0)
            reason = EXEC_REASON_CANCEL;
        if (reason != EXEC_REASON_NONE && kill_at == 0) {
            (void)kill(-child, SIGTERM);
            kill_at = now + EXEC_KILL_GRACE_MS;
        } else if (kill_at > 0 && now >= kill_at) {
            (void)kill(-child, SIGKILL);
            kill_at = -1;
        }
        if (reason == EXEC_REASON_NONE && deadline && deadline - now < wait)
            wait = deadline - now;
        if (kill_at > 0 && kill_at - now < wait)
            wait = kill_at - now;
        if (!out_open) {                /* output closed: the exit is near, look often */
            eof_wait = eof_wait ? eof_wait * 2 : 1;
            if (eof_wait < wait)
                wait = eof_wait;
        }
        pfd.fd = out_open ? p[0] : -1;
        pfd.events = POLLIN;
        pfd.revents = 0;
        (void)poll(&pfd, 1, (int)(wait > 0 ? wait : 0));
        if (out_open && exec_copy(p[0], &kept, &truncated)) {
            out_open = 0;
            close(p[0]);
        }
    }
    if (reason == EXEC_REASON_NONE && access(cancel, F_OK) == 0)
        reason = EXEC_REASON_CANCEL;    /* cancel signalled it before we looked */
    (void)kill(-child, SIGKILL);        /* what the program left behind in its group */
    if (out_open) {
        (void)exec_copy(p[0], &kept, &truncated);
        close(p[0]);
    }
    if (reason == EXEC_REASON_TIMEOUT)
        n = snprintf(text, sizeof(text), "timeout\n");
    else if (reason == EXEC_REASON_CANCEL)
        n = snprintf(text, sizeof(text), "cancelled\n");
    else if (lost)
        n = snprintf(text, sizeof(text), "error\n");
    else if (WIFEXITED(status))
        n = snprintf(text, sizeof(text), "exit %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        n = snprintf(text, sizeof(text), "signal %d\n", WTERMSIG(status));
    else
        n = snprintf(text, sizeof(text), "error\n");
    exec_write_now(dir, "finished");
    if (atomic_write(dir, "exit", text, (size_t)n, 0600) < 0) {
        static const char msg[] = "promo-exec: cannot write the exit file\n";

        (void)proc_write_all(2, msg, sizeof(msg) - 1);
        _exit(1);
    }
    _exit(0);
}

/* exec_argv_env - argv ([job] + parameters.args) and the environment of
 * the program. Returns 0, or -1 with op's error set (nothing allocated). */
static int exec_argv_env(struct exec_op *op, const struct adapter_test *t, char ***argvp,
                         struct proc_env *env)
{
    const cJSON *p;
    const char *args = NULL;
    char **argv, name[96];
    int count = 0;

    if (t->params && !cJSON_IsObject(t->params)) {
        exec_op_fail(op, ADAPTER_EPERM, "exec: parameters are not an object");
        return -1;
    }
    proc_env_init(env);
    proc_env_set(env, "PROMO_KEY", t->key);
    proc_env_set(env, "PROMO_TRACKER", t->tracker);
    proc_env_set(env, "PROMO_TEST", t->name);
    proc_env_set(env, "PROMO_REPOSITORY", t->repository);
    proc_env_set(env, "PROMO_REF", t->ref);
    proc_env_set(env, "PROMO_SHA", t->sha);
    proc_env_set(env, "PROMO_RUN_DIR", op->dir);
    for (p = t->params ? t->params->child : NULL; p; p = p->next) {
        const char *why = NULL;

        if (++count > EXEC_MAX_PARAMS)
            why = "too many parameters";
        else if (!cJSON_IsString(p) || !p->valuestring)
            why = "not a string";
        else if (strlen(p->valuestring) > EXEC_MAX_VALUE)
            why = "value too long";
        else if (exec_param_env_name(p->string, name, sizeof(name)) < 0)
            why = "bad name";
        else if (proc_env_get(env, name))
            why = "maps to the same variable as another parameter";
        if (why) {
            exec_op_fail(op, ADAPTER_EPERM, "exec: parameter %s: %s",
                         log_q(p->string ? p->string : ""), why);
            proc_env_free(env);
            return -1;
        }
        proc_env_set(env, name, p->valuestring);
        if (strcmp(p->string, "args") == 0)
            args = p->valuestring;
    }
    argv = xcalloc(3, sizeof(*argv));
    argv[0] = xstrdup(t->job);
    argv[1] = args ? xstrdup(args) : NULL;
    *argvp = argv;
    return 0;
}

/* exec_unclaim - remove a run directory whose supervisor never started. */
static void exec_unclaim(const char *dir)
{
    static const char *const names[] = { "started", "output.log", "pid", "exit", "finished" };
    char path[PATH_MAX + 16];
    size_t i;

    for (i = 0; i < ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

/* exec_sync_cb - the supervisor closed the sync pipe (set up, or died):
 * report the run as it now stands. */
static void exec_sync_cb(struct loop *l, int fd, short revents, void *arg)
{
    struct exec_op *op = arg;
    char buf[64];
    ssize_t n;

    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;
    }
    loop_unwatch_fd(l, fd);
    close(fd);
    op->syncfd = -1;
    exec_run_state(op);
    log_info("exec_started", "key=%s status=%s dir=%s", log_q(op->res.run.id),
             log_q(op->res.run.detail), log_q(op->dir));
    exec_op_finish(l, op);
}

/* exec_spawn - start the supervisor for op->dir (double fork, setsid),
 * reap the short-lived intermediate, and watch the sync pipe. Returns 0,
 * or -errno with nothing left running. */
static int exec_spawn(struct exec_op *op, char *const argv[], char *const envp[], int64_t timeout_ms)
{
    char path[PATH_MAX + 16];
    int devnull, logfd, sp[2], status = 0, e;
    pid_t a;

    snprintf(path, sizeof(path), "%s/output.log", op->dir);
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return -errno;
    logfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        e = errno;
        close(devnull);
        return -e;
    }
    if (pipe2(sp, O_CLOEXEC) < 0) {
        e = errno;
        close(devnull);
        close(logfd);
        return -e;
    }
    a = fork();
    if (a == 0) {
        pid_t s;

        if (setsid() < 0)
            _exit(1);
        s = fork();
        if (s != 0)
            _exit(s < 0 ? 1 : 0);
        proc_child_reset();
        if (dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || dup2(sp[1], 3) < 0)
            _exit(1);
        proc_close_from(4);
        exec_supervise(op->dir, argv, envp, timeout_ms);
    }
    e = errno;
    close(devnull);
    close(logfd);
    close(sp[1]);
    if (a < 0) {
        close(sp[0]);
        return -e;
    }
    while (waitpid(a, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        close(sp[0]);
        return -EAGAIN;
    }
    (void)fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    op->syncfd = sp[0];
    if (loop_watch_fd(op->loop, sp[0], LOOP_READ, exec_sync_cb, op) < 0) {
        close(sp[0]);           /* the run goes on; report it as it stands */
        op->syncfd = -1;
        exec_run_state(op);
        exec_op_later(op);
    }
    return 0;
}

/* exec_trigger - start the program once per key (adapter.h). */
static int exec_trigger(struct adapter_ctx *ctx, const struct adapter_test *t,
                        adapter_done_fn done, void *arg)
{
    struct exec_op *op = exec_op_new(ctx->loop, done, arg);
    char area[PATH_MAX], why[256], **argv = NULL;
    struct proc_env env;
    struct stat sb;
    int rc;

    if (exec_op_dir(op, ctx, t->key) < 0)
        goto later;
    if (lstat(op->dir, &sb) == 0)
        goto existing;
    if (!proc_exec_path_ok(t->job, why, sizeof(why))) {
        exec_op_fail(op, ADAPTER_EPERM, "exec: %s", why);
        goto later;
    }
    if (exec_argv_env(op, t, &argv, &env) < 0)
        goto later;
    snprintf(area, sizeof(area), "%s/" EXEC_AREA, store_dir(ctx->store));   /* fits: op->dir did */
    if (mkdir(area, 0700) < 0 && errno != EEXIST) {
        exec_op_fail(op, ADAPTER_ETEMP, "exec: mkdir %s: %s", area, strerror(errno));
        goto free_later;
    }
    if (mkdir(op->dir, 0700) < 0) {
        if (errno == EEXIST) {
            free(argv[0]); free(argv[1]); free(argv);
            proc_env_free(&env);
            goto existing;
        }
        exec_op_fail(op, ADAPTER_ETEMP, "exec: mkdir %s: %s", op->dir, strerror(errno));
        goto free_later;
    }
    if ((rc = exec_write_now(op->dir, "started")) < 0 ||
        (rc = exec_spawn(op, argv, env.v, t->timeout_ms)) < 0) {
        exec_unclaim(op->dir);
        exec_op_fail(op, ADAPTER_ETEMP, "exec: cannot start %s: %s", t->job, strerror(-rc));
        goto free_later;
    }
    free(argv[0]); free(argv[1]); free(argv);
    proc_env_free(&env);
    return 0;

existing:
    log_info("exec_exists", "key=%s dir=%s", log_q(t->key), log_q(op->dir));
    exec_run_state(op);
    exec_op_later(op);
    return 0;
free_later:
    free(argv[0]); free(argv[1]); free(argv);
    proc_env_free(&env);
later:
    exec_op_later(op);
    return -1;
}

/* exec_find - the run of the key, if its directory exists. */
static int exec_find(struct adapter_ctx *ctx, const struct adapter_test *t,
                     adapter_done_fn done, void *arg)
{
    struct exec_op *op = exec_op_new(ctx->loop, done, arg);
    struct stat sb;

    if (exec_op_dir(op, ctx, t->key) < 0) {
        exec_op_later(op);
        return -1;
    }
    if (lstat(op->dir, &sb) == 0) {
        op->res.found = 1;
        exec_run_state(op);
    } else if (errno == ENOENT) {
        memset(&op->res.run, 0, sizeof(op->res.run));
    } else {
        exec_op_fail(op, ADAPTER_ETEMP, "exec: %s: %s", op->dir, strerror(errno));
    }
    exec_op_later(op);
    return 0;
}

/* exec_op_run - op for the run of t (and run, when given: its id must be
 * the key). Returns 0, or -1 with the error set. */
static int exec_op_run(struct exec_op *op, struct adapter_ctx *ctx, const struct adapter_test *t,
                       const struct adapter_run *run)
{
    const char *key = t->key;

    if (run && run->id[0]) {
        if (key && strcmp(key, run->id) != 0) {
            exec_op_fail(op, ADAPTER_EPERM, "exec: run id %s is not the key %s",
                         log_q(run->id), log_q(key));
            return -1;
        }
        key = run->id;
    }
    return exec_op_dir(op, ctx, key);
}

/* exec_status - read the run directory. */
static int exec_status(struct adapter_ctx *ctx, const struct adapter_test *t,
                       const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct exec_op *op = exec_op_new(ctx->loop, done, arg);
    struct stat sb;

    if (exec_op_run(op, ctx, t, run) < 0) {
        exec_op_later(op);
        return -1;
    }
    if (lstat(op->dir, &sb) < 0) {
        op->res.run.status = RUN_FAILED;
        str_copy(op->res.run.detail, "lost: no run directory", sizeof(op->res.run.detail));
    } else {
        exec_run_state(op);
    }
    exec_op_later(op);
    return 0;
}

/* exec_cancel - leave a cancel request for the supervisor and SIGTERM the
 * program's process group now (the supervisor sends SIGKILL 5 s later). */
static int exec_cancel(struct adapter_ctx *ctx, const struct adapter_test *t,
                       const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct exec_op *op = exec_op_new(ctx->loop, done, arg);
    pid_t spid, cpid;
    long long sstart, cstart;
    struct stat sb;
    int rc;

    if (exec_op_run(op, ctx, t, run) < 0)
        goto later;
    if (lstat(op->dir, &sb) < 0) {
        op->res.run.status = RUN_FAILED;
        str_copy(op->res.run.detail, "lost: no run directory", sizeof(op->res.run.detail));
        goto later;
    }
    if (exec_read_exit(op->dir, &op->res.run))
        goto later;                     /* already finished: nothing to cancel */
    rc = atomic_write(op->dir, "cancel", "cancelled\n", 10, 0600);
    if (rc < 0) {
        exec_op_fail(op, ADAPTER_ETEMP, "exec: cannot write %s/cancel: %s", op->dir, strerror(-rc));
        goto later;
    }
    if (exec_read_pids(op->dir, &spid, &sstart, &cpid, &cstart) == 0 && proc_alive(spid, sstart)) {
        if (proc_alive(cpid, cstart))
            (void)kill(-cpid, SIGTERM);
        log_info("exec_cancel", "key=%s pid=%ld", log_q(op->res.run.id), (long)cpid);
        op->res.run.status = RUN_CANCELLED;
        str_copy(op->res.run.detail, "cancel requested", sizeof(op->res.run.detail));
        goto later;
    }
    exec_run_state(op);                 /* starting (it will see the request), finished or lost */
    if (op->res.run.status == RUN_QUEUED) {
        op->res.run.status = RUN_CANCELLED;
        str_copy(op->res.run.detail, "cancel requested", sizeof(op->res.run.detail));
    }
later:
    exec_op_later(op);
    return op->res.error ? -1 : 0;
}

const struct adapter adapter_exec = {
    .provider = "exec",
    .trigger = exec_trigger,
    .find = exec_find,
    .status = exec_status,
    .cancel = exec_cancel,
};
