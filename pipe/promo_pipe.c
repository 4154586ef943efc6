/* promo_pipe.c - promo-pipe: run COMMAND as a pipeline stage. Each message
 * of the input (a ZeroMQ PULL socket promo-pipe binds, or stdin) is written
 * to the child's stdin as one line; each line the child writes on its
 * stdout is checked by the framing rules (frame_decode) and sent on (a PUSH
 * socket promo-pipe connects, or stdout) - a bad one is counted, logged and
 * quarantined, never forwarded. The child's stderr is promo-pipe's.
 *
 * Backpressure, both ways, with one line of buffer at most: while the child
 * has not taken the whole of the last line (its stdin pipe is full), the
 * input is not read (ops->paused); while the output queue is full, the
 * child's stdout is not read (ops->fill reads again when there is room).
 *
 * The end: when the child exits, what it wrote is forwarded (for at most
 * PIPE_DRAIN_MS) and promo-pipe exits with its status (128+N for signal N),
 * so a supervisor restarts both. On SIGTERM or SIGINT the child gets
 * SIGTERM (SIGKILL after PIPE_KILL_AFTER_MS) and its status is ours too;
 * SIGHUP is passed on. At the end of stdin (--in -) the child's stdin is
 * closed once the last line is written, and promo-pipe waits for it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "pipe.h"
#include "../ipc/frame.h"
#include "../ipc/stage.h"
#include "../ipc/transport.h"
#include "util/log.h"
#include "util/util.h"

#define PIPE_DRAIN_MS       2000   /* after the child's exit: forward what it wrote, this long at most */
#define PIPE_KILL_AFTER_MS  5000   /* SIGTERM to SIGKILL when promo-pipe stops */
#define PIPE_FINISH_TICK_MS 20
#define PIPE_QUARANTINE     "pipe.child"   /* quarantine name of the child's bad lines */

static struct pipe_stage {
    char **argv;                /* the command */
    char **envp;                /* its environment */
    struct pipe_child child;
    struct transport *lines;    /* the child's stdout, split into lines */
    int lines_watched;          /* from_child is in the loop (else fill reads it) */
    int stdin_watched;          /* to_child is in the loop for POLLOUT */
    int had_in;                 /* an input was opened: its end closes the child's stdin */
    char *pending;              /* the encoded line being written to the child, or NULL */
    size_t pending_len, pending_off;
    int started;                /* the child was started */
    int exited;                 /* the child was reaped: child.code is its status */
    int64_t drain_until;        /* now_ms() limit for forwarding its last lines */
    int finished;               /* stage_stop was called with the child's code */
    unsigned long long to_child, from_child, bad, dropped;
} pipe_stage;

/* pipe_args - the operands are the command; --once is refused (the child,
 * not promo-pipe, decides when the stage ends). */
static const char *pipe_args(struct stage *st, int argc, char **argv)
{
    if (st->once)
        return "--once is not supported: the command decides when it ends (use --in - for a finite input)";
    if (argc < 1 || !argv[0][0])
        return "missing command: promo-pipe [options] -- COMMAND [ARG...]";
    pipe_stage.argv = argv;
    return NULL;
}

/* pipe_close_stdin - close the child's stdin (it sees the end of its
 * input); a line not yet written is dropped and counted. */
static void pipe_close_stdin(struct stage *st, const char *why)
{
    struct pipe_stage *p = &pipe_stage;

    if (p->child.to_child < 0)
        return;
    if (p->stdin_watched)
        loop_unwatch_fd(st->loop, p->child.to_child);
    p->stdin_watched = 0;
    close(p->child.to_child);
    p->child.to_child = -1;
    if (p->pending) {
        p->dropped++;
        free(p->pending);
        p->pending = NULL;
    }
    log_info("child_stdin_closed", "reason=%s to_child=%llu dropped=%llu", log_q(why), p->to_child,
             p->dropped);
}

/* pipe_close_lines - stop reading the child's stdout. */
static void pipe_close_lines(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    if (p->lines_watched)
        loop_unwatch_fd(st->loop, p->child.from_child);
    p->lines_watched = 0;
    transport_close(p->lines);
    p->lines = NULL;
    if (p->child.from_child >= 0)
        close(p->child.from_child);
    p->child.from_child = -1;
}

static void pipe_stdin_ready(struct loop *l, int fd, short revents, void *arg);

/* pipe_write - write what is left of the pending line to the child, without
 * blocking. Returns when it is all written (then the input may be read
 * again), when the pipe is full (then the fd is watched for POLLOUT), or
 * when the child no longer reads (then its stdin is closed). */
static void pipe_write(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    while (p->pending && p->pending_off < p->pending_len) {
        ssize_t w = write(p->child.to_child, p->pending + p->pending_off, p->pending_len - p->pending_off);

        if (w > 0) {
            p->pending_off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!p->stdin_watched && loop_watch_fd(st->loop, p->child.to_child, LOOP_WRITE,
                                                       pipe_stdin_ready, NULL) == 0) {
                p->stdin_watched = 1;
                log_debug("input_paused", "reason=%s to_child=%llu", log_q("the command's stdin is full"),
                          p->to_child);
            }
            return;
        } else {
            pipe_close_stdin(st, w < 0 ? strerror(errno) : "short write");
            return;
        }
    }
    if (p->pending) {
        free(p->pending);
        p->pending = NULL;
        p->to_child++;
    }
    if (p->stdin_watched) {
        loop_unwatch_fd(st->loop, p->child.to_child);
        p->stdin_watched = 0;
        log_debug("input_resumed", "to_child=%llu", p->to_child);
    }
    if (p->had_in && !st->in)
        pipe_close_stdin(st, "end of input");
}

/* pipe_stdin_ready - the child's stdin has room again (or is broken). */
static void pipe_stdin_ready(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = loop_owner(l);
    pipe_write(st);
}

/* pipe_message - one input message: one line to the child. The skeleton
 * does not call this while pipe_paused says the last line is not written. */
static void pipe_message(struct stage *st, cJSON *msg)
{
    struct pipe_stage *p = &pipe_stage;
    size_t len;
    char *line;

    if (p->child.to_child < 0) {
        p->dropped++;
        if ((p->dropped & (p->dropped - 1)) == 0)      /* 1, 2, 4, 8...: not a line per message */
            log_warn("dropped", "reason=%s dropped=%llu", log_q("the command's stdin is closed"), p->dropped);
        return;
    }
    line = frame_encode(msg, &len);
    if (!line) {
        p->dropped++;
        log_warn("dropped", "reason=%s dropped=%llu", log_q("cannot encode the message"), p->dropped);
        return;
    }
    p->pending = line;
    p->pending_len = len;
    p->pending_off = 0;
    pipe_write(st);
}

/* pipe_paused - 1 while a line waits to be written to the child. */
static int pipe_paused(struct stage *st)
{
    return pipe_stage.pending != NULL;
}

/* pipe_child_line - one line of the child: forward it, or count, log and
 * quarantine it. The output queue has room (pipe_read checks). */
static void pipe_child_line(struct stage *st, const char *line, size_t len)
{
    struct pipe_stage *p = &pipe_stage;
    char err[128];
    cJSON *msg;

    if (len == 0 || (len == 1 && line[0] == '\r'))
        return;                 /* a blank line is no message */
    msg = frame_decode(line, len, err, sizeof(err));
    if (!msg) {
        p->bad++;
        log_warn("bad_message", "from=child reason=%s len=%zu bad=%llu effect=%s", log_q(err), len, p->bad,
                 log_q(st->store ? "quarantined, not forwarded" : "not forwarded"));
        if (st->store)
            store_quarantine_bytes(st->store, PIPE_QUARANTINE, line, len > FRAME_MAX ? FRAME_MAX : len, err);
        return;
    }
    p->from_child++;
    stage_emit(st, msg);
    cJSON_Delete(msg);
}

static void pipe_lines_ready(struct loop *l, int fd, short revents, void *arg);

/* pipe_read - take the child's lines while the output queue has room. Stops
 * watching its stdout when the queue is full (pipe_fill resumes) and closes
 * it at its end. */
static void pipe_read(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    while (p->lines && stage_out_room(st) > 0) {
        const char *line;
        size_t len;
        int rc = transport_recv(p->lines, &line, &len);

        if (rc == 1) {
            pipe_child_line(st, line, len);
        } else if (rc == 0) {
            if (!p->lines_watched && loop_watch_fd(st->loop, p->child.from_child, LOOP_READ,
                                                       pipe_lines_ready, NULL) == 0)
                p->lines_watched = 1;
            return;
        } else {
            log_info("child_stdout_closed", "from_child=%llu bad=%llu", p->from_child, p->bad);
            pipe_close_lines(st);
            return;
        }
    }
    if (p->lines && p->lines_watched) {
        loop_unwatch_fd(st->loop, p->child.from_child);
        p->lines_watched = 0;
    }
}

/* pipe_lines_ready - the child's stdout is readable (or at its end). */
static void pipe_lines_ready(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = loop_owner(l);
    pipe_read(st);
}

/* pipe_fill - the output queue has room: read the child again if it was
 * held back; close the child's stdin once the input ended. */
static void pipe_fill(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    if (p->lines && !p->lines_watched)
        pipe_read(st);
    if (p->had_in && !st->in && !p->pending)
        pipe_close_stdin(st, "end of input");
}

/* pipe_finish - after the child's exit: stop once its stdout is read to
 * the end and the output queue is empty, or at the drain limit. */
static void pipe_finish(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct pipe_stage *p = &pipe_stage;
    int flushed = stage_out_room(st) == STAGE_OUTQ;

    if (p->finished)
        return;
    if ((p->lines || !flushed) && now_ms() < p->drain_until) {
        if (p->lines && !p->lines_watched)
            pipe_read(st);
        loop_after(st->loop, PIPE_FINISH_TICK_MS, pipe_finish, NULL);
        return;
    }
    if (p->lines || !flushed)
        log_warn("drain_timeout", "unread=%s queued=%d", p->lines ? "yes" : "no", STAGE_OUTQ - stage_out_room(st));
    p->finished = 1;
    stage_stop(st, p->child.code);
}

/* pipe_child_event - SIGCHLD: reap the child; its end is ours. */
static void pipe_child_event(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    if (!pipe_child_reap(&p->child))
        return;
    p->exited = 1;
    pipe_close_stdin(st, "the command exited");
    p->drain_until = now_ms() + PIPE_DRAIN_MS;
    pipe_read(st);
    pipe_finish(st->loop, NULL);
}

/* pipe_reload - SIGHUP: the child's business. */
static void pipe_reload(struct stage *st)
{
    pipe_child_signal(&pipe_stage.child, SIGHUP);
}

/* pipe_busy - 1 until the child's end has been handled: the skeleton must
 * not end the loop at the end of stdin while the child still works. */
static int pipe_busy(struct stage *st)
{
    return !pipe_stage.finished;
}

/* pipe_start - the child, with PROMO_CONFIG, PROMO_STATE_DIR, PROMO_RUN_DIR
 * (and PROMO_DRY_RUN=1 with --dry-run) in its environment. */
static int pipe_start(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;
    char *set[4];
    int n = 0, rc, i;

    st->data = p;
    if (st->cfg.path)
        set[n++] = xasprintf("PROMO_CONFIG=%s", st->cfg.path);
    set[n++] = xasprintf("PROMO_STATE_DIR=%s", st->cfg.state_dir);
    set[n++] = xasprintf("PROMO_RUN_DIR=%s", st->cfg.run_dir);
    if (st->dry_run)
        set[n++] = xasprintf("PROMO_DRY_RUN=1");
    p->envp = pipe_child_env(set, n);
    for (i = 0; i < n; i++)
        free(set[i]);
    p->had_in = st->in != NULL;
    rc = pipe_child_start(&p->child, p->argv, p->envp, p->had_in);
    if (rc < 0)
        return (rc == -ENOENT || rc == -EACCES || rc == -ENOEXEC || rc == -ENOTDIR) ? EXIT_PERM : EXIT_TEMP;
    p->started = 1;
    p->lines = transport_fd_open("child stdout", p->child.from_child);
    if (!p->lines)
        return EXIT_TEMP;
    pipe_read(st);
    return 0;
}

/* pipe_stop - the loop ended: if the child still runs (SIGTERM, an output
 * error), close its pipes, SIGTERM it and wait; free everything. */
static void pipe_stop(struct stage *st)
{
    struct pipe_stage *p = &pipe_stage;

    pipe_close_stdin(st, "promo-pipe stops");
    pipe_close_lines(st);
    pipe_child_stop(&p->child, PIPE_KILL_AFTER_MS);
    if (p->started && p->child.pid < 0)
        p->exited = 1;
    if (p->exited)
        log_info("pipe_stop", "code=%d to_child=%llu from_child=%llu bad=%llu dropped=%llu", p->child.code,
                 p->to_child, p->from_child, p->bad, p->dropped);
    pipe_child_env_free(p->envp);
    p->envp = NULL;
}

int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-pipe",
        .summary = "run COMMAND as a pipeline stage: input messages become lines on its stdin,\n"
                   "the lines of its stdout are checked and sent on (docs/custom-stages.md)",
        .in_default = NULL,
        .out_default = NULL,
        .operands = "-- COMMAND [ARG...]",
        .extra_usage =
            "  --in and --out have no default: give the endpoints of the stage COMMAND\n"
            "  replaces (--in binds, --out connects, as that stage would). Without --in,\n"
            "  COMMAND's stdin is /dev/null; without --out its lines are checked and dropped.\n"
            "  --once is refused. --dry-run sets PROMO_DRY_RUN=1 for COMMAND, which decides.\n"
            "  COMMAND also gets PROMO_CONFIG, PROMO_STATE_DIR and PROMO_RUN_DIR; its stderr\n"
            "  is promo-pipe's. A bad line of COMMAND is quarantined as pipe.child, not sent.\n"
            "  Exit status: COMMAND's (128+N when signal N ended it), 100 when it cannot be\n"
            "  started (not found, not executable) or on a usage error, 111 on other errors.\n",
        .args = pipe_args,
        .start = pipe_start,
        .message = pipe_message,
        .paused = pipe_paused,
        .fill = pipe_fill,
        .busy = pipe_busy,
        .reload = pipe_reload,
        .child = pipe_child_event,
        .stop = pipe_stop,
    };
    int rc = stage_main(argc, argv, &ops);

    if (rc == EXIT_OK && pipe_stage.exited)
        rc = pipe_stage.child.code;
    return rc;
}
