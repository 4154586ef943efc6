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
#include "../common/atomic.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/tracker.h"
#include "../common/util.h"

#define STAGE_RECV_BATCH 256     /* input lines per loop turn, for fairness */
#define STAGE_ONCE_IDLE_MS 250   /* --once with a zmq input: idle this long = end of input */

enum {
    STAGE_OPT_IN = 1, STAGE_OPT_OUT, STAGE_OPT_ONCE, STAGE_OPT_DRY_RUN,
    STAGE_OPT_NOTIFY_FD, STAGE_OPT_HELP, STAGE_OPT_VERSION
};

static const struct option stage_base_opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "in", required_argument, NULL, STAGE_OPT_IN },
    { "out", required_argument, NULL, STAGE_OPT_OUT },
    { "once", no_argument, NULL, STAGE_OPT_ONCE },
    { "dry-run", no_argument, NULL, STAGE_OPT_DRY_RUN },
    { "verbose", no_argument, NULL, 'v' },
    { "notify-fd", required_argument, NULL, STAGE_OPT_NOTIFY_FD },
    { "help", no_argument, NULL, STAGE_OPT_HELP },
    { "version", no_argument, NULL, STAGE_OPT_VERSION },
};

struct stage_fd {
    int fd;
    short events;
    stage_fd_fn fn;                  /* NULL: ops->fd */
    void *arg;
};

struct stage_tmr {
    int64_t at;                      /* now_ms() deadline */
    uint64_t seq;                    /* FIFO order among equal deadlines */
    stage_tmr_fn fn;                 /* NULL once cancelled */
    void *arg;
};

/* The loop's own state; one stage per process. */
static struct stage_loop {
    char *outq[STAGE_OUTQ];          /* encoded lines, ring */
    size_t outlen[STAGE_OUTQ];
    int head, count;
    struct stage_fd *fds;
    int nfds, capfds;
    struct stage_tmr **heap;         /* min-heap of one-shot timers */
    size_t nheap, capheap;
    uint64_t tmr_seq;
    int64_t timer_at;                /* now_ms() deadline for ops->tick, 0: none */
    int stopping, code;
    int sigfd;
    int in_eof;                      /* the input reached its end and is closed */
    int idle;                        /* the last poll waited STAGE_ONCE_IDLE_MS for nothing */
    uint64_t emitted;                /* stage_emit calls that queued or dropped a message */
    const char *area;                /* prog without "promo-": quarantine name */
} stage_loop;

/* stage_usage_line - the one-line synopsis. */
static void stage_usage_line(FILE *f, const struct stage_ops *ops)
{
    fprintf(f, "%s [-c FILE] [--in ENDPOINT|-|none] [--out ENDPOINT|-|none] [--once] "
            "[--dry-run] [-v] [--notify-fd N] [--help] [--version]%s%s", ops->prog,
            ops->operands ? " " : "", ops->operands ? ops->operands : "");
}

/* stage_usage_error - "prog: fatal: what arg" and "prog: usage: ..." on
 * stderr; returns EXIT_PERM. */
static int stage_usage_error(const struct stage_ops *ops, const char *what, const char *arg)
{
    fprintf(stderr, "%s: fatal: %s%s\n", ops->prog, what, arg ? arg : "");
    fprintf(stderr, "%s: usage: ", ops->prog);
    stage_usage_line(stderr, ops);
    fprintf(stderr, "\n");
    return EXIT_PERM;
}

/* stage_help - --help on stdout. */
static void stage_help(const struct stage_ops *ops)
{
    printf("Usage: ");
    stage_usage_line(stdout, ops);
    printf("\n%s\n\n", ops->summary ? ops->summary : "");
    printf("  -c, --config FILE    configuration (default $PROMO_CONFIG, then ./promo.yaml)\n");
    if (ops->in_default)
        printf("      --in ENDPOINT    where messages come from: a ZeroMQ endpoint this stage\n"
               "                       binds, - for stdin, none (default ipc://RUNDIR/%s)\n",
               ops->in_default);
    else if (ops->message)
        printf("      --in ENDPOINT    where messages come from: a ZeroMQ endpoint this stage\n"
               "                       binds, - for stdin, none (default none)\n");
    else
        printf("      --in none        this stage reads no messages\n");
    if (ops->out_default)
        printf("      --out ENDPOINT   where messages go: a ZeroMQ endpoint this stage\n"
               "                       connects to, - for stdout, none (default ipc://RUNDIR/%s)\n",
               ops->out_default);
    else
        printf("      --out ENDPOINT   where messages go: a ZeroMQ endpoint, - for stdout\n"
               "                       (default none)\n");
    printf("      --once           exit at the end of input / after one pass\n"
           "      --dry-run        no side effects: print what would be done as JSON\n"
           "  -v, --verbose        debug logging\n"
           "      --notify-fd N    write a newline to fd N when ready (s6 readiness)\n"
           "      --help           this text\n"
           "      --version        the version\n");
    if (ops->extra_usage)
        printf("%s%s", ops->extra_usage,
               ops->extra_usage[0] && ops->extra_usage[strlen(ops->extra_usage) - 1] != '\n' ? "\n" : "");
    printf("\nExit status: 0 done, 100 usage or configuration error, 111 temporary error.\n");
}

/* stage_long_opts - the base options followed by ops->extra_opts, {0}
 * ended, as a heap array. */
static struct option *stage_long_opts(const struct stage_ops *ops)
{
    size_t nbase = ARRAY_LEN(stage_base_opts), nextra = 0;
    struct option *o;

    while (ops->extra_opts && ops->extra_opts[nextra].name)
        nextra++;
    o = xcalloc(nbase + nextra + 1, sizeof(*o));
    memcpy(o, stage_base_opts, sizeof(stage_base_opts));
    if (nextra)
        memcpy(o + nbase, ops->extra_opts, nextra * sizeof(*o));
    return o;
}

/* stage_parse_fd - a decimal fd number; -1 when not one. */
static int stage_parse_fd(const char *s)
{
    char *end;
    long v;

    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

/* stage_resolve - the endpoint for one side: explicit (given), "none" for
 * none, else ipc://RUNDIR/dflt, else NULL. Heap string or NULL. */
static char *stage_resolve(const char *given, const char *dflt, const char *run_dir)
{
    if (given)
        return strcmp(given, "none") == 0 ? NULL : xstrdup(given);
    if (dflt)
        return xasprintf("ipc://%s/%s", run_dir, dflt);
    return NULL;
}

/* stage_is_zmq_ep - 1 when ep names a ZeroMQ endpoint (not stdio, not none). */
static int stage_is_zmq_ep(const char *ep)
{
    return ep && strcmp(ep, "-") != 0;
}

/* stage_open_errno_code - exit code for a transport that did not open. */
static int stage_open_errno_code(int e)
{
    return (e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO ||
            e == ENAMETOOLONG || e == EEXIST) ? EXIT_PERM : EXIT_TEMP;
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
    L->outq[(L->head + L->count) % STAGE_OUTQ] = line;
    L->outlen[(L->head + L->count) % STAGE_OUTQ] = len;
    L->count++;
    L->emitted++;
    return 1;
}

/* stage_tracker - see stage.h. */
cJSON *stage_tracker(struct stage *st, const cJSON *msg, struct tracker *t, double *msg_gen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(msg, "generation");
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(msg, "tracker");
    cJSON *doc = NULL;
    char err[256];
    int rc = -ENOENT;

    if (!cJSON_IsString(name) || !name_valid(name->valuestring) || !cJSON_IsNumber(gen)) {
        log_warn("bad_message", "reason=%s", log_q("tracker message without a valid name and generation"));
        st->msgs_bad++;
        return NULL;
    }
    if (st->store) {
        rc = tracker_read(st->store, name->valuestring, &doc, t, err, sizeof(err));
        if (rc == -EBADMSG) {
            log_warn("bad_tracker", "tracker=%s error=%s", name->valuestring, log_q(err));
            return NULL;
        }
        if (rc < 0 && rc != -ENOENT) {
            log_warn("tracker_unreadable", "tracker=%s error=%s", name->valuestring, log_q(strerror(-rc)));
            return NULL;
        }
    }
    if (rc == 0) {
        *msg_gen = gen->valuedouble;
        return doc;             /* checked by tracker_read, name included */
    }
    if (st->store && !st->dry_run) {
        log_info("tracker_gone", "tracker=%s reason=%s", name->valuestring, log_q("not in the state dir"));
        return NULL;
    }
    if (!cJSON_IsObject(snap)) {
        log_warn("bad_message", "tracker=%s reason=%s", name->valuestring, log_q("no tracker snapshot"));
        st->msgs_bad++;
        return NULL;
    }
    doc = cJSON_Duplicate(snap, 1);
    if (tracker_decode(doc, t, err, sizeof(err)) < 0) {
        log_warn("bad_tracker", "tracker=%s error=%s", name->valuestring, log_q(err));
        cJSON_Delete(doc);
        return NULL;
    }
    if (strcmp(t->name, name->valuestring) != 0) {
        log_warn("bad_message", "tracker=%s reason=%s", name->valuestring, log_q("name mismatch"));
        cJSON_Delete(doc);
        return NULL;
    }
    *msg_gen = gen->valuedouble;
    return doc;
}

/* stage_out_room - how many more messages stage_emit takes now. */
int stage_out_room(const struct stage *st)
{
    if (!st->out)
        return STAGE_OUTQ;
    return STAGE_OUTQ - stage_loop.count;
}

/* stage_watch_fd - add (or update) fd in the loop, served by ops->fd. */
int stage_watch_fd(struct stage *st, int fd, short events, void *arg)
{
    return stage_watch_fd_cb(st, fd, events, NULL, arg);
}

/* stage_watch_fd_cb - add (or update) fd in the loop, served by fn. */
int stage_watch_fd_cb(struct stage *st, int fd, short events, stage_fd_fn fn, void *arg)
{
    struct stage_loop *L = &stage_loop;
    int i;

    if (fd < 0)
        return -1;
    for (i = 0; i < L->nfds; i++) {
        if (L->fds[i].fd == fd) {
            L->fds[i].events = events;
            L->fds[i].fn = fn;
            L->fds[i].arg = arg;
            return 0;
        }
    }
    if (L->nfds == L->capfds) {
        L->capfds = L->capfds ? L->capfds * 2 : 16;
        L->fds = xrealloc(L->fds, (size_t)L->capfds * sizeof(*L->fds));
    }
    L->fds[L->nfds].fd = fd;
    L->fds[L->nfds].events = events;
    L->fds[L->nfds].fn = fn;
    L->fds[L->nfds].arg = arg;
    L->nfds++;
    return 0;
}

/* stage_tmr_less - heap order: deadline, then creation order. */
static int stage_tmr_less(const struct stage_tmr *a, const struct stage_tmr *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* stage_heap_up - restore the heap upwards from i. */
static void stage_heap_up(size_t i)
{
    struct stage_tmr **h = stage_loop.heap;

    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct stage_tmr *t;
        if (!stage_tmr_less(h[i], h[p]))
            break;
        t = h[i]; h[i] = h[p]; h[p] = t;
        i = p;
    }
}

/* stage_heap_pop - remove and return the earliest timer. */
static struct stage_tmr *stage_heap_pop(void)
{
    struct stage_loop *L = &stage_loop;
    struct stage_tmr *top = L->heap[0];
    size_t i = 0;

    L->heap[0] = L->heap[--L->nheap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct stage_tmr *t;
        if (l < L->nheap && stage_tmr_less(L->heap[l], L->heap[m]))
            m = l;
        if (r < L->nheap && stage_tmr_less(L->heap[r], L->heap[m]))
            m = r;
        if (m == i)
            break;
        t = L->heap[i]; L->heap[i] = L->heap[m]; L->heap[m] = t;
        i = m;
    }
    return top;
}

/* stage_after - schedule a one-shot timer. */
struct stage_tmr *stage_after(struct stage *st, int64_t ms, stage_tmr_fn fn, void *arg)
{
    struct stage_loop *L = &stage_loop;
    struct stage_tmr *t = xcalloc(1, sizeof(*t));

    t->at = now_ms() + (ms > 0 ? ms : 0);
    t->seq = ++L->tmr_seq;
    t->fn = fn;
    t->arg = arg;
    if (L->nheap == L->capheap) {
        L->capheap = L->capheap ? L->capheap * 2 : 64;
        L->heap = xrealloc(L->heap, L->capheap * sizeof(*L->heap));
    }
    L->heap[L->nheap++] = t;
    stage_heap_up(L->nheap - 1);
    return t;
}

/* stage_cancel - disarm; the node is freed when it reaches the top. */
void stage_cancel(struct stage *st, struct stage_tmr *t)
{
    if (t)
        t->fn = NULL;
}

/* stage_timers_due - the ms until the next live timer (-1: none), after
 * dropping cancelled ones from the top. */
static long stage_timers_next(void)
{
    struct stage_loop *L = &stage_loop;

    while (L->nheap && !L->heap[0]->fn)
        free(stage_heap_pop());
    if (!L->nheap)
        return -1;
    {
        int64_t d = L->heap[0]->at - now_ms();
        return d > 0 ? (long)d : 0;
    }
}

/* stage_timers_run - fire every timer that is due now (not those that the
 * callbacks add meanwhile with a deadline still ahead). */
static void stage_timers_run(struct stage *st)
{
    struct stage_loop *L = &stage_loop;
    int64_t now = now_ms();
    uint64_t last = L->tmr_seq;

    while (L->nheap && !L->stopping && L->heap[0]->at <= now && L->heap[0]->seq <= last) {
        struct stage_tmr *t = stage_heap_pop();
        if (t->fn)
            t->fn(st, t->arg);
        free(t);
    }
}

/* stage_unwatch_fd - remove fd from the loop (absent is fine). */
void stage_unwatch_fd(struct stage *st, int fd)
{
    struct stage_loop *L = &stage_loop;
    int i;

    for (i = 0; i < L->nfds; i++) {
        if (L->fds[i].fd == fd) {
            L->fds[i] = L->fds[L->nfds - 1];
            L->nfds--;
            return;
        }
    }
}

/* stage_timer - call ops->tick no later than ms from now. */
void stage_timer(struct stage *st, int64_t ms)
{
    int64_t at = now_ms() + (ms > 0 ? ms : 0);

    if (stage_loop.timer_at == 0 || at < stage_loop.timer_at)
        stage_loop.timer_at = at ? at : 1;
}

/* stage_stop - leave the loop after this iteration with code. */
void stage_stop(struct stage *st, int code)
{
    stage_loop.stopping = 1;
    stage_loop.code = code;
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
    if (st->ops->message) {
        double t0 = metrics_now();

        st->ops->message(st, msg);
        metrics_observe("promo_handle_seconds", NULL, NULL, metrics_now() - t0);
    }
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

    for (i = 0; i < STAGE_RECV_BATCH && st->in && stage_out_room(st) > 0 && !L->stopping &&
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
            transport_close(st->in);
            st->in = NULL;
            L->in_eof = 1;
            return;
        }
        stage_stop(st, EXIT_TEMP);      /* -2: logged by the transport */
        return;
    }
}

/* stage_signals - read the signalfd: TERM/INT stop, HUP reload, CHLD child. */
static void stage_signals(struct stage *st)
{
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
             * child by pid (adapters/proc.c), and must see its status. */
            if (st->ops->child)
                st->ops->child(st);
            break;
        default:
            break;
        }
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

        if (st->ops->fill && stage_out_room(st) > 0) {
            st->ops->fill(st);
            filled = 1;
        }
        stage_flush(st);
        if (stage_out_room(st) == 0 || L->stopping)
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

    if (L->count > 0)
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

/* stage_loop_run - the event loop; returns the exit code. */
static int stage_loop_run(struct stage *st)
{
    struct stage_loop *L = &stage_loop;
    zmq_pollitem_t *items = NULL;
    size_t capitems = 0;
    int had_in = st->in != NULL;

    for (;;) {
        int n = 0, i_sig, i_in = -1, i_out = -1, i_fd0, nfds, rc, i, again;
        long timeout = -1, tnext;

        if (L->stopping)
            break;
        if (capitems < (size_t)L->nfds + 3) {
            capitems = (size_t)L->nfds + 19;
            items = xrealloc(items, capitems * sizeof(*items));
        }
        again = stage_fill_flush(st);
        if (L->stopping)
            break;
        if (stage_done(st, had_in)) {
            log_debug("done", "msgs_in=%llu msgs_out=%llu", (unsigned long long)st->msgs_in,
                      (unsigned long long)st->msgs_out);
            L->code = EXIT_OK;
            break;
        }

        memset(items, 0, capitems * sizeof(*items));
        i_sig = n;
        items[n].fd = L->sigfd;
        items[n++].events = ZMQ_POLLIN;
        if (st->in && stage_out_room(st) > 0 && !stage_paused(st)) {
            i_in = n;
            items[n].socket = transport_socket(st->in);
            items[n].fd = transport_fd(st->in);
            items[n++].events = ZMQ_POLLIN;
        }
        if (st->out && L->count > 0 && transport_is_zmq(st->out)) {
            i_out = n;
            items[n].socket = transport_socket(st->out);
            items[n++].events = ZMQ_POLLOUT;
        }
        i_fd0 = n;
        nfds = L->nfds;
        for (i = 0; i < nfds; i++) {
            items[n].fd = L->fds[i].fd;
            items[n++].events = L->fds[i].events;
        }
        if (L->timer_at) {
            int64_t d = L->timer_at - now_ms();
            timeout = d > 0 ? (long)d : 0;
        }
        tnext = stage_timers_next();
        if (tnext >= 0 && (timeout < 0 || tnext < timeout))
            timeout = tnext;
        if (again)
            timeout = 0;        /* fill still has more: just look at the rest */
        else if (st->once && st->in && transport_is_zmq(st->in) &&
            (timeout < 0 || timeout > STAGE_ONCE_IDLE_MS))
            timeout = STAGE_ONCE_IDLE_MS;

        rc = zmq_poll(items, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll_failed", "error=%s", log_q(zmq_strerror(errno)));
            L->code = EXIT_TEMP;
            break;
        }
        L->idle = (rc == 0 && timeout >= STAGE_ONCE_IDLE_MS);

        if (items[i_sig].revents)
            stage_signals(st);
        if (L->stopping)
            break;
        if (i_in >= 0 && items[i_in].revents)
            stage_input(st);
        if (i_out >= 0 && items[i_out].revents)
            stage_flush(st);
        for (i = 0; i < nfds && !L->stopping; i++) {
            zmq_pollitem_t *it = &items[i_fd0 + i];
            int j;

            if (!it->revents)
                continue;
            for (j = 0; j < L->nfds && L->fds[j].fd != it->fd; j++)
                ;
            if (j >= L->nfds)
                continue;                           /* unwatched meanwhile */
            if (L->fds[j].fn)
                L->fds[j].fn(st, it->fd, it->revents, L->fds[j].arg);
            else if (st->ops->fd)
                st->ops->fd(st, it->fd, it->revents, L->fds[j].arg);
        }
        if (!L->stopping && L->timer_at && now_ms() >= L->timer_at) {
            L->timer_at = 0;
            if (st->ops->tick)
                st->ops->tick(st);
        }
        if (!L->stopping)
            stage_timers_run(st);
    }
    free(items);
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
    metrics_set("promo_output_queue", NULL, NULL, stage_loop.count);
    metrics_write();
}

/* stage_metrics_tick - write the metrics every METRICS_INTERVAL_MS. */
static void stage_metrics_tick(struct stage *st, void *arg)
{
    stage_metrics_write(st);
    stage_after(st, METRICS_INTERVAL_MS, stage_metrics_tick, NULL);
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
    stage_after(st, METRICS_INTERVAL_MS, stage_metrics_tick, NULL);
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

    /* state dir */
    atomic_durable(st.cfg.durable);
    st.store = store_open(st.cfg.state_dir, 1);
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
    log_info("stop", "code=%d msgs_in=%llu msgs_out=%llu bad=%llu dropped=%llu queued=%d",
             code, (unsigned long long)st.msgs_in, (unsigned long long)st.msgs_out,
             (unsigned long long)st.msgs_bad, (unsigned long long)(st.msgs_dropped),
             L->count);
    for (i = 0; i < L->count; i++)
        free(L->outq[(L->head + i) % STAGE_OUTQ]);
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
    config_free(&st.cfg);
    metrics_free();
    free(in_ep);
    free(out_ep);
    return code;
}
