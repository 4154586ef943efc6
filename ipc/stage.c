/* stage.c - the skeleton every pipeline stage runs in: the common command
 * line, config and state dir, transports, signals through a signalfd,
 * readiness on --notify-fd, and the one zmq_poll event loop with a bounded
 * output queue (see stage.h for the contract and the backpressure rule).
 *
 * A stage's main() fills a struct stage_ops and calls stage_main(); nothing
 * here knows what a stage does with its messages. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "stage.h"
#include "frame.h"
#include "transport.h"
#include "ipc/stage_int.h"
#include "util/atomic.h"
#include "util/log.h"
#include "util/metrics.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "util/strmap.h"
#include "util/json.h"

#define STAGE_RECV_BATCH 256     /* input lines per loop turn, for fairness */
#define STAGE_ONCE_IDLE_MS 250   /* --once with a zmq input: idle this long = end of input */

/* The loop's own state; one stage per process. */
static struct stage_loop {
    char *outq[STAGE_OUTQ];          /* encoded lines, ring */
    size_t outlen[STAGE_OUTQ];
    int head, count;
    int code;
    int sigfd;
    int had_in;                      /* the stage started with an input */
    struct loop *loop;               /* the stage's loop, kept at exit (stage_main) */
    struct strmap *waiting;          /* tracker name -> the latest message that met a full queue */
    char **waitq;                    /* their names, in arrival order, from waitq_head */
    size_t waitq_head, nwaitq, capwaitq;
    int in_eof;                      /* the input reached its end and is closed */
    int idle;                        /* the last poll waited STAGE_ONCE_IDLE_MS for nothing */
    uint64_t emitted;                /* stage_emit calls that queued or dropped a message */
    const char *area;                /* prog without "promo-": quarantine name */
    struct strmap *memo;             /* tracker name -> struct stage_memo: fully handled */
    const char *cur_name;            /* the tracker message being handled, and the */
    int64_t cur_gen;                 /* version of its records taken before (stage_memo) */
    uint64_t cur_version;
} stage_loop;

/* What a stage fully handled (stage_memo): the tracker's generation and the
 * version of its records (store_version) when the handling began. */
struct stage_memo {
    int64_t generation;
    uint64_t version;
};

static void stage_input_watch(struct stage *st, short events);

/* stage_queue_line - queue an encoded line (taken) for the output; the
 * caller has checked that there is room. */
static void stage_queue_line(char *line, size_t len)
{
    struct stage_loop *L = &stage_loop;

    L->outq[(L->head + L->count) % STAGE_OUTQ] = line;
    L->outlen[(L->head + L->count) % STAGE_OUTQ] = len;
    L->count++;
    L->emitted++;
}

/* stage_emit - encode msg and queue it: 1 queued (or dropped with no
 * output), 0 queue full, -1 cannot be encoded (logged). */
int stage_emit(struct stage *st, const cJSON *msg)
{
    struct stage_loop *L = &stage_loop;
    const cJSON *kind;
    size_t len;
    char *line;

    if (!st->out) {
        st->msgs_dropped++;
        L->emitted++;
        return 1;
    }
    if (L->count >= STAGE_OUTQ)
        return 0;
    line = frame_encode(msg, &len);
    if (!line) {
        int e = errno;

        kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
        log_error("emit_failed", "kind=%s reason=%s",
                  log_q(cJSON_IsString(kind) ? kind->valuestring : "?"),
                  log_q(e == EMSGSIZE ? "too long" : e == EILSEQ ? "invalid utf-8" :
                        e == ELOOP ? "too deep" : strerror(e)));
        st->msgs_dropped++;
        return -1;
    }
    stage_queue_line(line, len);
    return 1;
}

/* stage_send - see stage.h. */
int stage_send(struct stage *st, const char *name, cJSON *msg)
{
    struct stage_loop *L = &stage_loop;
    int rc;

    if (!strmap_has(L->waiting, name)) {
        rc = stage_emit(st, msg);
        if (rc != 0) {
            cJSON_Delete(msg);
            return rc;
        }
        if (L->nwaitq == L->capwaitq) {
            L->capwaitq = L->capwaitq ? L->capwaitq * 2 : 64;
            L->waitq = xrealloc(L->waitq, L->capwaitq * sizeof(*L->waitq));
        }
        L->waitq[L->nwaitq++] = xstrdup(name);
    }
    cJSON_Delete(strmap_put(L->waiting, name, msg));
    log_debug("output_full", "tracker=%s effect=waits waiting=%zu", name, strmap_count(L->waiting));
    return 1;
}

/* stage_send_waiting - send what waits, oldest first, while there is room. */
static void stage_send_waiting(struct stage *st)
{
    struct stage_loop *L = &stage_loop;
    size_t i;

    for (i = L->waitq_head; i < L->nwaitq && stage_out_room(st) > 0; i++) {
        cJSON *msg = strmap_del(L->waiting, L->waitq[i]);

        free(L->waitq[i]);
        if (msg && stage_emit(st, msg) < 0)
            log_warn("dropped", "reason=%s", log_q("cannot be encoded"));
        cJSON_Delete(msg);
    }
    L->waitq_head = i;
    if (L->waitq_head == L->nwaitq) {
        L->waitq_head = L->nwaitq = 0;
    } else if (L->waitq_head > 64 && L->waitq_head > L->nwaitq / 2) {
        /* a queue that never empties (a slow next stage) must not grow */
        memmove(L->waitq, L->waitq + L->waitq_head, (L->nwaitq - L->waitq_head) * sizeof(*L->waitq));
        L->nwaitq -= L->waitq_head;
        L->waitq_head = 0;
    }
}

/* stage_out_room - how many more messages stage_emit takes now. */
int stage_out_room(const struct stage *st)
{
    if (!st->out)
        return STAGE_OUTQ;
    return STAGE_OUTQ - stage_loop.count;
}

/* stage_stop - leave the loop after this iteration with code. */
void stage_stop(struct stage *st, int code)
{
    stage_loop.code = code;
    loop_stop(st->loop);
}

/* stage_message_new - a fresh v1 message of kind with "from" and "sent". */
cJSON *stage_message_new(const struct stage *st, const char *kind)
{
    cJSON *m = cJSON_CreateObject();
    char ts[40];

    if (!m)
        log_fatal(EXIT_TEMP, "out_of_memory", "where=stage_message_new");
    time_format_iso(wall_ms(), ts, sizeof(ts));
    cJSON_AddNumberToObject(m, "v", FRAME_VERSION);
    cJSON_AddStringToObject(m, "kind", kind);
    cJSON_AddStringToObject(m, "from", st->ops->prog);
    cJSON_AddStringToObject(m, "sent", ts);
    return m;
}

/* stage_flush - send queued lines until the output would block. */
static void stage_flush(struct stage *st)
{
    struct stage_loop *L = &stage_loop;

    while (st->out && L->count > 0) {
        int rc = transport_send(st->out, L->outq[L->head], L->outlen[L->head]);

        if (rc == 0)
            return;
        if (rc < 0) {
            if (errno == EPIPE)
                log_error("output_closed", "out=%s", log_q(st->out_ep));
            stage_stop(st, EXIT_TEMP);
            return;
        }
        free(L->outq[L->head]);
        L->outq[L->head] = NULL;
        L->head = (L->head + 1) % STAGE_OUTQ;
        L->count--;
        st->msgs_out++;
    }
}

/* stage_memo - see stage.h. */
void stage_memo(struct stage *st, const char *name, int64_t generation)
{
    struct stage_loop *L = &stage_loop;
    struct stage_memo *m;

    if (!L->cur_name || !st->store || st->dry_run || !store_version_known(st->store) ||
        strcmp(L->cur_name, name) != 0 || L->cur_gen != generation)
        return;
    if (!L->memo)
        L->memo = strmap_new();
    m = strmap_get(L->memo, name);
    if (!m) {
        m = xmalloc(sizeof(*m));
        strmap_put(L->memo, name, m);
    }
    m->generation = generation;
    m->version = L->cur_version;
}

/* stage_memo_clear - see stage.h. */
void stage_memo_clear(struct stage *st)
{
    (void)st;
    strmap_free(stage_loop.memo, free);
    stage_loop.memo = NULL;
}

/* stage_skip - a periodic resync message ("resync": "timer") about a
 * tracker this stage has fully handled at its generation and the current
 * version of its records is passed on as it came, unhandled: the handling
 * would find nothing to do (docs/protocol.md, "Resync"). Returns 1 when
 * skipped; else 0, with the version the handling starts from noted for
 * stage_memo. */
static int stage_skip(struct stage *st, const cJSON *msg, const char *line, size_t len)
{
    struct stage_loop *L = &stage_loop;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    const struct stage_memo *m;
    struct tracker_msg tm;
    char err[128];
    char *copy;

    L->cur_name = NULL;
    if (!st->store || st->dry_run || !store_version_known(st->store) || !cJSON_IsString(kind) ||
        strcmp(kind->valuestring, "tracker") != 0 || tracker_msg_decode(msg, &tm, err, sizeof(err)) < 0)
        return 0;
    L->cur_name = tm.name;
    L->cur_gen = tm.generation;
    L->cur_version = store_version(st->store, tm.name);
    if (!L->memo || strcmp(json_str(msg, "resync", ""), "timer") != 0 ||
        !(m = strmap_get(L->memo, tm.name)) || m->generation != tm.generation || m->version != L->cur_version)
        return 0;
    st->msgs_skipped++;
    if (st->out && stage_out_room(st) > 0 && !strmap_has(L->waiting, tm.name)) {
        copy = xmalloc(len + 2);
        memcpy(copy, line, len);
        copy[len] = '\n';
        copy[len + 1] = '\0';
        stage_queue_line(copy, len + 1);
    } else {
        stage_send(st, tm.name, stage_forward(st, msg));
    }
    return 1;
}

/* stage_on_versions - inotify has news of the state dir's records. */
static void stage_on_versions(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = arg;

    (void)l, (void)fd, (void)revents;
    store_watch_drain(st->store);
}

/* stage_line - one input line: decode, or count, log and quarantine it. */
static void stage_line(struct stage *st, const char *line, size_t len)
{
    char err[128];
    cJSON *msg;

    if (len == 0 || (len == 1 && line[0] == '\r'))
        return;                 /* a blank line is no message */
    st->msgs_in++;
    msg = frame_decode(line, len, err, sizeof(err));
    if (!msg) {
        st->msgs_bad++;
        log_warn("bad_message", "reason=%s len=%zu in=%s", log_q(err), len, log_q(st->in_ep));
        if (st->store)
            store_quarantine_bytes(st->store, stage_loop.area, line,
                                   len > FRAME_MAX ? FRAME_MAX : len, err);
        return;
    }
    if (st->ops->message && !stage_skip(st, msg, line, len)) {
        double t0 = metrics_now();

        st->ops->message(st, msg);
        metrics_observe("promo_handle_seconds", NULL, NULL, metrics_now() - t0);
    }
    stage_loop.cur_name = NULL;
    cJSON_Delete(msg);
}

/* stage_paused - 1 while the stage says it can take no input message. */
static int stage_paused(struct stage *st)
{
    return st->ops->paused && st->ops->paused(st);
}

/* stage_input - read input lines while the output queue has room and the
 * stage is not paused, at most STAGE_RECV_BATCH of them. */
static void stage_input(struct stage *st)
{
    struct stage_loop *L = &stage_loop;
    int i;

    for (i = 0; i < STAGE_RECV_BATCH && st->in && stage_out_room(st) > 0 && !loop_stopping(st->loop) &&
         !stage_paused(st); i++) {
        const char *line;
        size_t len;
        int rc = transport_recv(st->in, &line, &len);

        if (rc == 0)
            return;
        if (rc == 1) {
            stage_line(st, line, len);
            continue;
        }
        if (rc == -1) {
            log_info("eof", "in=%s msgs=%llu bad=%llu", log_q(st->in_ep),
                     (unsigned long long)st->msgs_in, (unsigned long long)st->msgs_bad);
            stage_input_watch(st, -1);
            transport_close(st->in);
            st->in = NULL;
            L->in_eof = 1;
            return;
        }
        stage_stop(st, EXIT_TEMP);      /* -2: logged by the transport */
        return;
    }
}

/* stage_on_signal - read the signalfd: TERM/INT stop, HUP reload, CHLD child. */
static void stage_on_signal(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = arg;
    struct signalfd_siginfo si;

    for (;;) {
        ssize_t n = read(stage_loop.sigfd, &si, sizeof(si));

        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(si))
            return;
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_info("signal", "sig=%s action=stop", si.ssi_signo == SIGTERM ? "TERM" : "INT");
            stage_stop(st, EXIT_OK);
            break;
        case SIGHUP:
            log_info("signal", "sig=HUP action=reload");
            if (st->ops->reload)
                st->ops->reload(st);
            break;
        case SIGCHLD:
            /* No blanket waitpid(-1) here: whoever forks reaps its own
             * child by pid (util/proc.c), and must see its status. */
            if (st->ops->child)
                st->ops->child(st);
            break;
        default:
            break;
        }
    }
}

/* stage_on_input_fd, stage_on_input_sock - the input is readable. */
static void stage_on_input_fd(struct loop *l, int fd, short revents, void *arg)
{
    stage_input(arg);
}

static void stage_on_input_sock(struct loop *l, void *sock, short revents, void *arg)
{
    stage_input(arg);
}

/* stage_on_output - the output socket takes more. */
static void stage_on_output(struct loop *l, void *sock, short revents, void *arg)
{
    stage_flush(arg);
}

/* stage_input_watch - watch the input for events (0: idle), or stop
 * watching it (-1) before it is closed. */
static void stage_input_watch(struct stage *st, short events)
{
    void *sock = transport_socket(st->in);

    if (events < 0) {
        if (sock)
            loop_unwatch_sock(st->loop, sock);
        else
            loop_unwatch_fd(st->loop, transport_fd(st->in));
    } else if (sock) {
        loop_watch_sock(st->loop, sock, events, stage_on_input_sock, st);
    } else {
        loop_watch_fd(st->loop, transport_fd(st->in), events, stage_on_input_fd, st);
    }
}

/* stage_fill_flush - call ops->fill while there is room and flush, until
 * fill adds nothing or the output takes no more (at most a few rounds, to
 * stay fair to the input and the fds). Returns 1 when fill may have more. */
static int stage_fill_flush(struct stage *st)
{
    struct stage_loop *L = &stage_loop;
    int round;

    for (round = 0; round < 8; round++) {
        uint64_t before = L->emitted;
        int filled = 0;

        stage_send_waiting(st);
        if (st->ops->fill && stage_out_room(st) > 0 && !strmap_count(L->waiting)) {
            st->ops->fill(st);
            filled = 1;
        }
        stage_flush(st);
        if (stage_out_room(st) == 0 || loop_stopping(st->loop))
            return 0;
        if (!filled && st->ops->fill)
            continue;           /* the queue was full and the flush made room: fill now */
        if (L->emitted == before)
            return 0;
    }
    return 1;
}

/* stage_busy - 1 while the stage says it has work in flight. */
static int stage_busy(struct stage *st)
{
    return st->ops->busy && st->ops->busy(st);
}

/* stage_done - 1 when the loop may exit 0: the input ended (stdin EOF;
 * --once: no input at all, or a zmq input idle), the queue is flushed and
 * the stage is not busy. */
static int stage_done(struct stage *st, int had_in)
{
    struct stage_loop *L = &stage_loop;
    int ended;

    if (L->count > 0 || strmap_count(L->waiting) > 0)
        return 0;
    if (L->in_eof)
        ended = 1;
    else if (!st->once)
        ended = 0;
    else if (!had_in)
        ended = 1;
    else
        ended = L->idle;
    return ended && !stage_busy(st);
}

/* stage_prepare - the loop's before-sleep hook: fill and flush the output,
 * leave when done, and watch the input and output for what they can take
 * now. Returns the longest the loop may sleep. */
static long stage_prepare(struct loop *l, void *arg)
{
    struct stage *st = arg;
    struct stage_loop *L = &stage_loop;
    int again = stage_fill_flush(st);

    if (loop_stopping(l))
        return 0;
    if (stage_done(st, L->had_in)) {
        log_debug("done", "msgs_in=%llu msgs_out=%llu", (unsigned long long)st->msgs_in,
                  (unsigned long long)st->msgs_out);
        stage_stop(st, EXIT_OK);
        return 0;
    }
    if (st->in)
        stage_input_watch(st, stage_out_room(st) > 0 && !stage_paused(st) ? LOOP_READ : 0);
    if (st->out && transport_is_zmq(st->out))
        loop_watch_sock(l, transport_socket(st->out), L->count > 0 ? LOOP_WRITE : 0,
                        stage_on_output, st);
    if (again)
        return 0;               /* fill still has more: just look at the rest */
    if (st->once && st->in && transport_is_zmq(st->in))
        return STAGE_ONCE_IDLE_MS;
    return -1;
}

/* stage_loop_run - turns of the loop until a stop; returns the exit code. */
static int stage_loop_run(struct stage *st)
{
    struct stage_loop *L = &stage_loop;

    L->had_in = st->in != NULL;
    loop_before_sleep(st->loop, stage_prepare, st);
    while (!loop_stopping(st->loop)) {
        int64_t t0 = now_ms();
        int rc = loop_once(st->loop, -1);

        if (rc < 0) {
            log_error("poll_failed", "error=%s", log_q(zmq_strerror(errno)));
            L->code = EXIT_TEMP;
            break;
        }
        /* --once with a zmq input: a whole idle wait with nothing ready is
         * the end of the input (see stage_done). */
        L->idle = rc == 0 && now_ms() - t0 >= STAGE_ONCE_IDLE_MS;
    }
    return L->code;
}

/* stage_signals_setup - block the signals the loop reads from a signalfd
 * and ignore SIGPIPE. Returns the signalfd, or -1. Must run before any
 * thread (zmq's) exists so every thread inherits the mask. */
static int stage_signals_setup(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* stage_metrics_write - the skeleton's counters into the metrics, then the
 * file (docs/operations.md). */
static void stage_metrics_write(struct stage *st)
{
    metrics_counter_set("promo_messages_in_total", NULL, NULL, (double)st->msgs_in);
    metrics_counter_set("promo_messages_out_total", NULL, NULL, (double)st->msgs_out);
    metrics_counter_set("promo_messages_bad_total", NULL, NULL, (double)st->msgs_bad);
    metrics_counter_set("promo_messages_dropped_total", NULL, NULL, (double)st->msgs_dropped);
    metrics_counter_set("promo_messages_stale_total", NULL, NULL, (double)st->msgs_stale);
    metrics_counter_set("promo_messages_skipped_total", NULL, NULL, (double)st->msgs_skipped);
    if (store_version_known(st->store)) {
        uint64_t hits, misses;

        store_cache_stats(st->store, &hits, &misses);
        metrics_counter_set("promo_record_cache_hits_total", NULL, NULL, (double)hits);
        metrics_counter_set("promo_record_cache_misses_total", NULL, NULL, (double)misses);
    }
    metrics_set("promo_messages_waiting", NULL, NULL, (double)strmap_count(stage_loop.waiting));
    metrics_set("promo_output_queue", NULL, NULL, stage_loop.count);
    metrics_write();
}

/* stage_metrics_tick - write the metrics every METRICS_INTERVAL_MS. */
static void stage_metrics_tick(struct loop *l, void *arg)
{
    stage_metrics_write(arg);
    loop_after(l, METRICS_INTERVAL_MS, stage_metrics_tick, arg);
}

/* stage_metrics_start - STATE/metrics/promo_<name>.prom, where name is the
 * prog without "promo-" (promo-pipe adds its endpoint's socket name:
 * "pipe-trigger"); none in --dry-run or without a state dir. */
static void stage_metrics_start(struct stage *st)
{
    char name[128], *dir;
    const char *ep = st->in_ep && strcmp(st->in_ep, "none") != 0 ? st->in_ep : st->out_ep;

    if (!st->store || st->dry_run)
        return;
    str_copy(name, stage_loop.area, sizeof(name));
    if (!st->ops->in_default && !st->ops->out_default && ep && strcmp(ep, "none") != 0 &&
        strcmp(ep, "-") != 0) {
        const char *b = strrchr(ep, '/') ? strrchr(ep, '/') + 1 : ep;
        size_t n = strlen(name), i;

        snprintf(name + n, sizeof(name) - n, "-%.*s", (int)strcspn(b, "."), b);
        for (i = 0; name[i]; i++)
            if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
                  name[i] == '-' || name[i] == '_'))
                name[i] = '_';
    }
    dir = xasprintf("%s/%s", st->cfg.state_dir, METRICS_AREA);
    metrics_init(name, dir);
    free(dir);
    stage_metrics_write(st);
    loop_after(st->loop, METRICS_INTERVAL_MS, stage_metrics_tick, st);
}

/* stage_notify - s6 readiness: a newline on fd, then close it. */
static void stage_notify(int fd)
{
    ssize_t w;

    if (fd < 0)
        return;
    do
        w = write(fd, "\n", 1);
    while (w < 0 && errno == EINTR);
    if (w != 1)
        log_warn("notify_failed", "fd=%d error=%s", fd, log_q(strerror(errno)));
    close(fd);
}

/* stage_free_msg - a waiting message, at exit. */
static void stage_free_msg(void *v)
{
    cJSON_Delete(v);
}

/* stage_main - run the stage; returns the process exit code. */
int stage_main(int argc, char **argv, const struct stage_ops *ops)
{
    struct stage_loop *L = &stage_loop;
    struct stage st;
    struct option *longopts;
    const char *cfgarg = NULL, *inarg = NULL, *outarg = NULL, *cfgpath;
    char *in_ep = NULL, *out_ep = NULL, err[4096];
    int notify_fd = -1, c, code = EXIT_OK, i, li = 0;

    memset(&st, 0, sizeof(st));
    st.ops = ops;
    memset(L, 0, sizeof(*L));
    L->waiting = strmap_new();
    L->sigfd = -1;
    L->area = strncmp(ops->prog, "promo-", 6) == 0 ? ops->prog + 6 : ops->prog;
    log_init(ops->prog, LOG_INFO);

    longopts = stage_long_opts(ops);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ops->args ? "+:c:v" : ":c:v", longopts, &li)) != -1) {
        switch (c) {
        case 'c': cfgarg = optarg; break;
        case 'v': st.verbose++; break;
        case STAGE_OPT_IN: inarg = optarg; break;
        case STAGE_OPT_OUT: outarg = optarg; break;
        case STAGE_OPT_ONCE: st.once = 1; break;
        case STAGE_OPT_DRY_RUN: st.dry_run = 1; break;
        case STAGE_OPT_NOTIFY_FD:
            notify_fd = stage_parse_fd(optarg);
            if (notify_fd < 0) {
                free(longopts);
                return stage_usage_error(ops, "--notify-fd: not a file descriptor: ", optarg);
            }
            break;
        case STAGE_OPT_HELP:
            stage_help(ops);
            free(longopts);
            return EXIT_OK;
        case STAGE_OPT_VERSION:
            printf("%s %s\n", ops->prog, PROMO_VERSION);
            free(longopts);
            return EXIT_OK;
        case ':':
            free(longopts);
            return stage_usage_error(ops, "option requires an argument: ", argv[optind - 1]);
        case '?':
            free(longopts);
            return stage_usage_error(ops, "unknown option: ", argv[optind - 1]);
        default:
            if (c >= 1000 && ops->opt && ops->opt(&st, c, optarg) == 0)
                break;
            snprintf(err, sizeof(err), "invalid --%s%s%s", longopts[li].name,
                     optarg ? ": " : "", optarg ? optarg : "");
            free(longopts);
            return stage_usage_error(ops, err, NULL);
        }
    }
    free(longopts);
    if (ops->args) {
        const char *why = ops->args(&st, argc - optind, argv + optind);

        if (why)
            return stage_usage_error(ops, why, NULL);
    } else if (optind < argc) {
        return stage_usage_error(ops, "unexpected argument: ", argv[optind]);
    }
    if (!ops->message && inarg && strcmp(inarg, "none") != 0)
        return stage_usage_error(ops, "this stage reads no input: --in ", inarg);
    if (st.verbose)
        log_set_level(LOG_DEBUG);
    if (notify_fd >= 0 && fcntl(notify_fd, F_GETFD) < 0) {
        snprintf(err, sizeof(err), "%d", notify_fd);
        return stage_usage_error(ops, "--notify-fd: fd not open: ", err);
    }

    /* config */
    cfgpath = config_find(cfgarg);
    config_defaults(&st.cfg);
    if (cfgpath) {
        if (config_load(&st.cfg, cfgpath, err, sizeof(err)) < 0) {
            char *line = err, *nl;

            for (; line && *line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                if (nl)
                    *nl = '\0';
                log_error("config_invalid", "config=%s error=%s", log_q(cfgpath), log_q(line));
            }
            config_free(&st.cfg);
            return EXIT_PERM;
        }
    }

    in_ep = ops->message ? stage_resolve(inarg, ops->in_default, st.cfg.run_dir) : NULL;
    out_ep = stage_resolve(outarg, ops->out_default, st.cfg.run_dir);
    st.in_ep = in_ep ? in_ep : "none";
    st.out_ep = out_ep ? out_ep : "none";
    log_info("start", "version=%s in=%s out=%s config=%s%s", PROMO_VERSION, log_q(st.in_ep),
             log_q(st.out_ep), log_q(cfgpath ? cfgpath : "builtin"), st.dry_run ? " dry_run=1" : "");

    /* state dir: made when missing, except by a stage run on stdin/stdout
     * with no config file at all (a try on the command line must not leave
     * /var/lib/promo behind; it runs standalone instead) */
    atomic_durable(st.cfg.durable);
    st.store = store_open(st.cfg.state_dir, cfgpath || stage_is_zmq_ep(in_ep) || stage_is_zmq_ep(out_ep));
    if (!st.store) {
        if (stage_is_zmq_ep(in_ep) || stage_is_zmq_ep(out_ep)) {
            log_error("state_dir_failed", "dir=%s error=%s", log_q(st.cfg.state_dir),
                      log_q(strerror(errno)));
            code = EXIT_TEMP;
            goto out;
        }
        log_warn("no_state_dir", "dir=%s mode=standalone", log_q(st.cfg.state_dir));
    }

    /* signals, before zmq starts its threads */
    L->sigfd = stage_signals_setup();
    if (L->sigfd < 0) {
        log_error("signalfd_failed", "error=%s", log_q(strerror(errno)));
        code = EXIT_TEMP;
        goto out;
    }

    /* transports */
    st.zctx = zmq_ctx_new();
    if (!st.zctx) {
        log_error("zmq_failed", "error=%s", log_q(zmq_strerror(errno)));
        code = EXIT_TEMP;
        goto out;
    }
    if (in_ep && !(st.in = transport_in_open(st.zctx, in_ep))) {
        code = stage_open_errno_code(errno);
        goto out;
    }
    if (out_ep && !(st.out = transport_out_open(st.zctx, out_ep))) {
        code = stage_open_errno_code(errno);
        goto out;
    }

    /* the loop serves the signals first, then the input, then the output,
     * then what the stage watches itself */
    st.loop = loop_new(&st);
    loop_watch_fd(st.loop, L->sigfd, LOOP_READ, stage_on_signal, &st);
    if (st.in)
        stage_input_watch(&st, 0);
    if (st.out && transport_is_zmq(st.out))
        loop_watch_sock(st.loop, transport_socket(st.out), 0, stage_on_output, &st);

    /* record versions (store.h), watched before anything is read, for
     * the stages that call stage_memo; drained whenever inotify has news
     * so that its queue does not overflow between messages */
    if (st.store && (st.in || ops->fill) && !st.dry_run && store_watch_start(st.store) == 0)
        loop_watch_fd(st.loop, store_watch_fd(st.store), LOOP_READ, stage_on_versions, &st);

    if (ops->start && (code = ops->start(&st)) != 0) {
        log_error("start_failed", "code=%d", code);
        if (ops->stop)
            ops->stop(&st);
        goto out;
    }
    stage_metrics_start(&st);
    stage_notify(notify_fd);
    notify_fd = -1;

    code = stage_loop_run(&st);
    if (ops->stop)
        ops->stop(&st);
    if (metrics_path())
        stage_metrics_write(&st);

out:
    log_info("stop", "code=%d msgs_in=%llu msgs_out=%llu bad=%llu stale=%llu dropped=%llu queued=%d "
             "waiting=%zu skipped=%llu", code, (unsigned long long)st.msgs_in, (unsigned long long)st.msgs_out,
             (unsigned long long)st.msgs_bad, (unsigned long long)st.msgs_stale,
             (unsigned long long)(st.msgs_dropped), L->count, strmap_count(L->waiting),
             (unsigned long long)st.msgs_skipped);
    for (i = 0; i < L->count; i++)
        free(L->outq[(L->head + i) % STAGE_OUTQ]);
    for (; L->waitq_head < L->nwaitq; L->waitq_head++)
        free(L->waitq[L->waitq_head]);
    free(L->waitq);
    strmap_free(L->waiting, stage_free_msg);
    stage_memo_clear(&st);
    L->count = 0;
    transport_close(st.in);
    transport_close(st.out);
    st.in = st.out = NULL;
    if (st.zctx)
        zmq_ctx_term(st.zctx);
    if (st.store)
        store_close(st.store);
    if (L->sigfd >= 0)
        close(L->sigfd);
    /* The loop is not freed: work still in flight at exit (a plugin being
     * reaped, a retry waiting) is held by its timers only, and freeing them
     * would turn what the process still holds into leaks. It stays reachable
     * from here until the process ends, as the loop's state always was. */
    L->loop = st.loop;
    config_free(&st.cfg);
    metrics_free();
    free(in_ep);
    free(out_ep);
    return code;
}
