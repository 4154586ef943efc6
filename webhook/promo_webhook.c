/* promo_webhook.c - promo-webhook: receives the webhooks of GitHub Actions,
 * GitLab CI, Jenkins and Argo CD and turns each verified one into a "hint"
 * for the stage that polls what it is about, so promo learns of a result
 * the moment it happens and keeps polling only as the fallback.
 *
 *   CI / Argo CD ──HTTP POST──▶ promo-webhook ──hint──▶ promo-monitor (monitor.sock)
 *                                              └─hint──▶ promo-watcher (watcher.sock)
 *
 * POST /github, /gitlab, /jenkins, /argocd. A request is checked in this
 * order: path (404), method (405), rate (429: of the client's address, or
 * of all clients together), size (413), signature or
 * token (401), body (400); then an event promo does not act on is 200
 * "ignored", a body seen before is 200 "duplicate", one that matches no run
 * or application is 202 "unmatched", and the others are 200 "hinted". Each
 * answer is counted and logged with the source and what the event was,
 * never the body. It never changes state: the monitor and the watcher
 * re-check with the API before acting, so a forged or replayed webhook can
 * only make promo look sooner. The HTTP server (libmicrohttpd, epoll mode)
 * runs in the stage's own event loop, driven until it has nothing left to
 * do and woken when libmicrohttpd says; each request must arrive whole
 * within webhook.requestTimeout, or its connection is closed, so clients
 * that trickle bytes cannot hold the connection slots; see docs/webhook.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zmq.h>

#include "util/log.h"
#include "util/util.h"
#include "ipc/frame.h"
#include "webhook/webhook.h"

enum webhook_outcome {
    WO_HINTED, WO_IGNORED, WO_DUPLICATE, WO_UNMATCHED, WO_DROPPED, WO_UNVERIFIED, WO_MALFORMED,
    WO_OVERSIZED, WO_METHOD, WO_NOTFOUND, WO_RATE, WO_N
};

static const char *const webhook_outcome_names[WO_N] = {
    "hinted", "ignored", "duplicate", "unmatched", "dropped", "unverified", "malformed",
    "oversized", "method_not_allowed", "not_found", "rate_limited"
};

/* One request being received. */
struct webhook_req {
    char *body;
    size_t len, cap;
    int too_large;
    int answered;                /* a response was queued on the first call */
};

/* One connection, from accept to close. The request on it has until since
 * plus webhook.requestTimeout to arrive whole: libmicrohttpd's own timeout
 * is reset by every byte, so it never ends a request trickled a byte at a
 * time. */
struct webhook_conn {
    struct MHD_Connection *c;
    int64_t since;               /* monotonic ms: accepted, or the last request on it ended */
    int in_body;                 /* the headers are in: its body is being read */
    int closing;                 /* shut down at its deadline: libmicrohttpd closes it next */
    char addr[INET6_ADDRSTRLEN]; /* the client, for the log */
    struct webhook_conn *prev, *next;
};

/* The stage's state. */
struct webhook_state {
    struct stage *st;
    struct MHD_Daemon *d;
    struct webhook_conn *conns;  /* every open connection (at most WEBHOOK_CONN_MAX) */
    int nconns;
    int64_t request_ms;          /* webhook.requestTimeout */
    struct loop_timer *wake;      /* when libmicrohttpd or a deadline needs the loop next */
    int64_t wake_at;             /* monotonic ms of wake */
    uint64_t timeouts;           /* connections closed at their request's deadline */
    uint64_t closed;             /* connections closed, for any reason */
    struct webhook_index ix;
    char *watcher_ep;            /* ipc://RUNDIR/watcher.sock, or NULL for none */
    void *watcher;               /* PUSH socket, or NULL */
    const char *port_file;
    struct webhook_rate rate;    /* the request rate limits */
    uint64_t count[WO_N];
};

static struct webhook_state webhook_state;

#define WEBHOOK_OPT_PORT_FILE 1000
#define WEBHOOK_OPT_WATCHER   1001

/* webhook_answer - queue status with {"status": word} (and Allow for 405). */
static enum MHD_Result webhook_answer(struct MHD_Connection *c, unsigned status, const char *word)
{
    char buf[96];
    struct MHD_Response *r;
    enum MHD_Result rc;
    int n = snprintf(buf, sizeof(buf), "{\"status\":\"%s\"}\n", word);

    r = MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "POST");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header(r, "Retry-After", "1");
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* webhook_outcome - count and log one answer, then queue it. */
static enum MHD_Result webhook_outcome(struct MHD_Connection *c, enum webhook_outcome o, unsigned status,
                                       const char *source, const char *what, const char *detail)
{
    struct webhook_state *ws = &webhook_state;
    enum log_level lvl = o == WO_HINTED || o == WO_IGNORED || o == WO_DUPLICATE ? LOG_INFO : LOG_WARN;

    ws->count[o]++;
    log_write(lvl, webhook_outcome_names[o], "source=%s status=%u event=%s detail=%s count=%llu",
              source ? source : "-", status, log_q(what ? what : "-"), log_q(detail ? detail : "-"),
              (unsigned long long)ws->count[o]);
    return webhook_answer(c, status, webhook_outcome_names[o]);
}

/* webhook_client_addr - the client address of c, as text ("-": unknown). */
static void webhook_client_addr(struct MHD_Connection *c, char *addr, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(addr, len, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, (socklen_t)len);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, (socklen_t)len);
}

/* webhook_rate_ok - the request of c is within the rate limits (its
 * client's and all clients'); else why not, in why. */
static int webhook_rate_ok(struct webhook_state *ws, struct MHD_Connection *c, char *why, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    char addr[INET6_ADDRSTRLEN];

    switch (webhook_rate_take(&ws->rate, sa, now_ms())) {
    case WEBHOOK_RATE_OK:
        return 1;
    case WEBHOOK_RATE_CLIENT:
        webhook_client_addr(c, addr, sizeof(addr));
        snprintf(why, len, "client %s over %.0f requests/s", addr, ws->rate.client_rate);
        return 0;
    default:
        snprintf(why, len, "all clients over %.0f requests/s", ws->rate.rate);
        return 0;
    }
}

/* webhook_source_of - the source a path names, or -1. */
static int webhook_source_of(const char *url)
{
    int i;

    for (i = 0; i < WH_NSOURCES; i++) {
        const char *n = webhook_source_name((enum webhook_source)i);
        if (url[0] == '/' && strcmp(url + 1, n) == 0)
            return i;
    }
    return -1;
}

/* webhook_verified - the request carries the source's signature or token. */
static int webhook_verified(struct stage *st, struct MHD_Connection *c, enum webhook_source src,
                            const struct webhook_req *rq, const char **why)
{
    const struct config *cfg = &st->cfg;
    const char *secret, *got;

    switch (src) {
    case WH_GITHUB:
        secret = cfg->webhook.github_secret;
        got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256");
        break;
    case WH_GITLAB:
        secret = cfg->webhook.gitlab_token;
        got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Token");
        break;
    case WH_JENKINS:
        secret = cfg->webhook.jenkins_token;
        got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Promo-Token");
        break;
    default:
        secret = cfg->webhook.argocd_token;
        got = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Promo-Token");
        break;
    }
    if (!secret || !*secret) {
        *why = "no secret configured for this source";
        return 0;
    }
    if (!got) {
        *why = "no signature or token header";
        return 0;
    }
    *why = src == WH_GITHUB ? "signature mismatch" : "token mismatch";
    if (src == WH_GITHUB)
        return webhook_verify_github(secret, got, rq->body, rq->len);
    return webhook_verify_token(secret, got);
}

/* webhook_hint - the hint message for target t of ev (caller frees). */
static cJSON *webhook_hint(struct stage *st, const struct webhook_event *ev, const struct webhook_target *t)
{
    cJSON *m = stage_message_new(st, "hint");

    cJSON_AddStringToObject(m, "source", webhook_source_name(ev->source));
    cJSON_AddStringToObject(m, "event", ev->what);
    cJSON_AddStringToObject(m, "name", t->tracker);
    if (ev->source == WH_ARGOCD) {
        cJSON_AddStringToObject(m, "application", t->application);
        if (t->cluster[0])
            cJSON_AddStringToObject(m, "cluster", t->cluster);
    } else {
        cJSON_AddStringToObject(m, "test", t->test);
        cJSON_AddStringToObject(m, "key", t->key);
        if (t->run_id[0])
            cJSON_AddStringToObject(m, "runId", t->run_id);
    }
    return m;
}

/* webhook_send_watcher - send a hint on the watcher's socket without blocking. */
static int webhook_send_watcher(struct webhook_state *ws, const cJSON *m)
{
    size_t len;
    char *line;
    int rc;

    if (!ws->watcher)
        return 1;                /* none: dropped, as stage_emit does */
    line = frame_encode(m, &len);
    if (!line)
        return -1;
    rc = zmq_send(ws->watcher, line, len, ZMQ_DONTWAIT) < 0 ? 0 : 1;
    free(line);
    return rc;
}

/* webhook_handle - a whole request of source src: verify, decode, match, hint. */
static enum MHD_Result webhook_handle(struct stage *st, struct MHD_Connection *c, enum webhook_source src,
                                      struct webhook_req *rq)
{
    struct webhook_state *ws = &webhook_state;
    const char *sname = webhook_source_name(src), *why = NULL;
    const struct webhook_target *t;
    struct webhook_event ev;
    char err[160], detail[1024];
    cJSON *m;
    int rc;

    if (rq->too_large)
        return webhook_outcome(c, WO_OVERSIZED, 413, sname, NULL, "body over 1 MiB");
    if (!webhook_verified(st, c, src, rq, &why))
        return webhook_outcome(c, WO_UNVERIFIED, MHD_HTTP_UNAUTHORIZED, sname, NULL, why);
    if (webhook_event_decode(src, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                              src == WH_GITHUB ? "X-GitHub-Event" : "X-Gitlab-Event"),
                             rq->body ? rq->body : "", rq->len, &ev, err, sizeof(err)) < 0)
        return webhook_outcome(c, WO_MALFORMED, MHD_HTTP_BAD_REQUEST, sname, NULL, err);
    if (!ev.relevant)
        return webhook_outcome(c, WO_IGNORED, MHD_HTTP_OK, sname, ev.what, "not an event promo acts on");
    if (webhook_replay_seen(src, rq->body, rq->len))
        return webhook_outcome(c, WO_DUPLICATE, MHD_HTTP_OK, sname, ev.what, "this body was received before");
    t = webhook_index_match(st, &ws->ix, &ev);
    if (!t) {
        snprintf(detail, sizeof(detail), "run=%s key=%s app=%s", ev.run_id[0] ? ev.run_id : "-",
                 ev.nkeys ? ev.keys[0] : "-", ev.application[0] ? ev.application : "-");
        return webhook_outcome(c, WO_UNMATCHED, MHD_HTTP_ACCEPTED, sname, ev.what, detail);
    }
    if (src != WH_ARGOCD) {
        m = webhook_hint(st, &ev, t);
        rc = stage_emit(st, m);
        cJSON_Delete(m);
        snprintf(detail, sizeof(detail), "tracker=%s test=%s key=%s run=%s to=monitor", t->tracker, t->test,
                 t->key, t->run_id[0] ? t->run_id : "-");
    } else {
        /* every tracker with a hop to this application looks again */
        int n = 0, ok = 0;

        for (; t; t = t->next, n++) {
            m = webhook_hint(st, &ev, t);
            ok += webhook_send_watcher(ws, m) > 0;
            cJSON_Delete(m);
            if (n == 0)
                snprintf(detail, sizeof(detail), "tracker=%s app=%s to=watcher", t->tracker, t->application);
        }
        if (n > 1) {
            size_t off = strlen(detail);
            snprintf(detail + off, sizeof(detail) - off, " trackers=%d", n);
        }
        rc = ok == n;
    }
    if (rc <= 0)
        return webhook_outcome(c, WO_DROPPED, MHD_HTTP_OK, sname, ev.what, detail);
    return webhook_outcome(c, WO_HINTED, MHD_HTTP_OK, sname, ev.what, detail);
}

/* webhook_access - libmicrohttpd's request handler: called first with the
 * headers, then with each piece of the body, then once with none left. */
static enum MHD_Result webhook_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct stage *st = cls;
    struct webhook_state *ws = &webhook_state;
    struct webhook_req *rq = *con_cls;
    int src = webhook_source_of(url);
    char why[128];

    if (!rq) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        if (ci && ci->socket_context)
            ((struct webhook_conn *)ci->socket_context)->in_body = 1;
        rq = xcalloc(1, sizeof(*rq));
        *con_cls = rq;
        rq->answered = 1;
        if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
            return webhook_answer(c, MHD_HTTP_OK, "ok");
        if (src < 0)
            return webhook_outcome(c, WO_NOTFOUND, MHD_HTTP_NOT_FOUND, NULL, NULL, "no such endpoint");
        if (strcmp(method, "POST") != 0)
            return webhook_outcome(c, WO_METHOD, MHD_HTTP_METHOD_NOT_ALLOWED, webhook_source_name(src), NULL,
                                   "only POST");
        if (!webhook_rate_ok(ws, c, why, sizeof(why)))
            return webhook_outcome(c, WO_RATE, MHD_HTTP_TOO_MANY_REQUESTS, webhook_source_name(src), NULL, why);
        if (cl && strtoull(cl, NULL, 10) > WEBHOOK_BODY_MAX)
            return webhook_outcome(c, WO_OVERSIZED, 413, webhook_source_name(src), NULL,
                                   "Content-Length over 1 MiB");
        rq->answered = 0;
        return MHD_YES;
    }
    if (rq->answered) {
        *upload_size = 0;        /* the answer is out: discard the rest */
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && rq->len + *upload_size > WEBHOOK_BODY_MAX) {
            rq->too_large = 1;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
        }
        if (!rq->too_large) {
            if (rq->len + *upload_size + 1 > rq->cap) {
                rq->cap = (rq->len + *upload_size + 1) * 2;
                if (rq->cap > WEBHOOK_BODY_MAX + 1)
                    rq->cap = WEBHOOK_BODY_MAX + 1;
                rq->body = xrealloc(rq->body, rq->cap);
            }
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    rq->answered = 1;
    return webhook_handle(st, c, (enum webhook_source)src, rq);
}

/* webhook_completed - a request ended: free what it held. The next
 * request on its connection (keep-alive) has its own deadline, from now. */
static void webhook_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct webhook_req *rq = *con_cls;

    if (ci && ci->socket_context) {
        struct webhook_conn *wc = ci->socket_context;

        wc->since = now_ms();
        wc->in_body = 0;
    }
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* webhook_conn_notify - a connection was accepted (its request's deadline
 * starts) or closed (forget it). */
static void webhook_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    struct webhook_state *ws = &webhook_state;
    struct webhook_conn *wc = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        wc = xcalloc(1, sizeof(*wc));
        wc->c = c;
        wc->since = now_ms();
        webhook_client_addr(c, wc->addr, sizeof(wc->addr));
        wc->next = ws->conns;
        if (ws->conns)
            ws->conns->prev = wc;
        ws->conns = wc;
        ws->nconns++;
        *socket_context = wc;
        return;
    }
    if (!wc)
        return;
    if (wc->prev)
        wc->prev->next = wc->next;
    else
        ws->conns = wc->next;
    if (wc->next)
        wc->next->prev = wc->prev;
    ws->nconns--;
    ws->closed++;
    free(wc);
    *socket_context = NULL;
}

/* webhook_sweep - shut down each connection whose request is past its
 * deadline: webhook.requestTimeout, or WEBHOOK_BUSY_REQUEST_MS while fewer
 * than WEBHOOK_CONN_SPARE slots are free (a webhook arrives whole in far
 * less on any working link; only a client that trickles needs longer, and
 * while the slots are nearly all taken, clients that wait in the listen
 * queue come first). Returns the earliest deadline still ahead (monotonic
 * ms), or -1 for none. shutdown(), not close(): the socket stays
 * libmicrohttpd's, which sees the end of the stream on its next read and
 * closes it the usual way (the fd number cannot be reused under it
 * meanwhile); the client sees its connection end. */
static int64_t webhook_sweep(struct webhook_state *ws, int64_t now)
{
    struct webhook_conn *wc;
    int64_t next = -1, limit = ws->request_ms;
    int busy = ws->nconns > WEBHOOK_CONN_MAX - WEBHOOK_CONN_SPARE;

    if (busy && limit > WEBHOOK_BUSY_REQUEST_MS)
        limit = WEBHOOK_BUSY_REQUEST_MS;
    for (wc = ws->conns; wc; wc = wc->next) {
        int64_t due = wc->since + limit;
        const union MHD_ConnectionInfo *ci;

        if (wc->closing)
            continue;
        if (due > now) {
            if (next < 0 || due < next)
                next = due;
            continue;
        }
        ci = MHD_get_connection_info(wc->c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
        wc->closing = 1;
        ws->timeouts++;
        log_warn("request_timeout", "client=%s phase=%s age_ms=%lld timeout_ms=%lld connections=%d busy=%d count=%llu",
                 wc->addr, wc->in_body ? "body" : "headers", (long long)(now - wc->since), (long long)limit,
                 ws->nconns, busy, (unsigned long long)ws->timeouts);
    }
    return next;
}

static void webhook_wake(struct loop *l, void *arg);

/* webhook_run - let libmicrohttpd do all it can now, close the requests
 * past their deadline, and set the timer for when either needs the loop
 * next. libmicrohttpd's sockets are edge-triggered in its epoll fd: a
 * connection with more data than one MHD_run reads (a body of more than
 * the 16 KiB or so of its read buffer) stays on its "ready" list without
 * waking the epoll fd again, and MHD_get_timeout says 0 for as long as
 * it does. So run until it says otherwise, at most WEBHOOK_RUN_BURST
 * times in a row (then the loop serves its other fds, and a 0 ms timer
 * comes back at once); never sleep longer than it says, or connections
 * hang with data unread and time out late. Run once more after a
 * connection closed, too: at WEBHOOK_CONN_MAX libmicrohttpd takes its
 * listening socket out of its epoll set, and puts it back only at the
 * start of an MHD_run, so a client waiting in the listen queue for the
 * slot just freed would otherwise wait for the next timeout. */
static void webhook_run(struct loop *l, int fd, short revents, void *arg)
{
    struct webhook_state *ws = &webhook_state;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    int64_t now, at, due;
    int i, timed = 0, more = 0;

    if (!ws->d)
        return;
    for (i = 0; i < WEBHOOK_RUN_BURST; i++) {
        uint64_t closed = ws->closed;

        MHD_run(ws->d);
        timed = MHD_get_timeout(ws->d, &ms) == MHD_YES;
        more = (timed && ms == 0) || ws->closed != closed;
        if (!more)
            break;
    }
    now = now_ms();
    due = webhook_sweep(ws, now);
    if (more)
        at = now;
    else
        at = timed ? now + (ms > (MHD_UNSIGNED_LONG_LONG)INT32_MAX ? INT32_MAX : (int64_t)ms) : -1;
    if (due >= 0 && (at < 0 || due < at))
        at = due;
    if (at < 0 || (ws->wake && ws->wake_at <= at))
        return;                  /* nothing to wait for, or an earlier wake will look again */
    loop_cancel(l, ws->wake);
    ws->wake = loop_after(l, at - now, webhook_wake, NULL);
    ws->wake_at = at;
}

/* webhook_wake - the time libmicrohttpd or a deadline asked for. */
static void webhook_wake(struct loop *l, void *arg)
{
    webhook_state.wake = NULL;
    webhook_run(l, -1, 0, NULL);
}

/* webhook_listen_addr - parse "HOST:PORT" (IPv4). Returns 0 or -1. */
static int webhook_listen_addr(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    char host[64], *end;
    long port;

    memset(sa, 0, sizeof(*sa));
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* webhook_opt - --port-file FILE, --watcher ENDPOINT|none. */
static int webhook_opt(struct stage *st, int val, const char *arg)
{
    struct webhook_state *ws = &webhook_state;

    if (val == WEBHOOK_OPT_PORT_FILE) {
        ws->port_file = arg;
        return 0;
    }
    if (val == WEBHOOK_OPT_WATCHER) {
        free(ws->watcher_ep);
        ws->watcher_ep = xstrdup(arg);
        return 0;
    }
    return -1;
}

/* webhook_start - the index, the watcher's socket, the HTTP server. */
static int webhook_start(struct stage *st)
{
    struct webhook_state *ws = &webhook_state;
    const char *listen = st->cfg.webhook.listen ? st->cfg.webhook.listen : WEBHOOK_DEFAULT_LISTEN;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sa;
    int linger = 0, hwm = 1000, one = 1, port;

    st->data = ws;
    ws->st = st;
    ws->request_ms = st->cfg.webhook.request_timeout_ms > 0 ? st->cfg.webhook.request_timeout_ms
                                                           : WEBHOOK_REQUEST_TIMEOUT_MS;
    webhook_rate_init(&ws->rate, st->cfg.webhook.rate_limit, st->cfg.webhook.client_rate_limit, now_ms());
    if (webhook_listen_addr(listen, &sa) < 0) {
        log_error("config_invalid", "key=webhook.listen value=%s error=%s", log_q(listen),
                  log_q("expected IPv4 HOST:PORT, e.g. 127.0.0.1:8090"));
        return EXIT_PERM;
    }
    webhook_index_open(st, &ws->ix);
    if (!ws->watcher_ep)
        ws->watcher_ep = xasprintf("ipc://%s/watcher.sock", st->cfg.run_dir);
    if (strcmp(ws->watcher_ep, "none") != 0) {
        ws->watcher = zmq_socket(st->zctx, ZMQ_PUSH);
        if (!ws->watcher || zmq_setsockopt(ws->watcher, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
            zmq_setsockopt(ws->watcher, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
            zmq_setsockopt(ws->watcher, ZMQ_IMMEDIATE, &one, sizeof(one)) < 0 ||
            zmq_connect(ws->watcher, ws->watcher_ep) < 0) {
            log_error("watcher_socket", "endpoint=%s error=%s", log_q(ws->watcher_ep), log_q(zmq_strerror(errno)));
            return EXIT_TEMP;
        }
    }
    ws->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, webhook_access, st,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_NOTIFY_COMPLETED, webhook_completed, NULL,
                             MHD_OPTION_NOTIFY_CONNECTION, webhook_conn_notify, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEBHOOK_CONN_MAX,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WEBHOOK_CONN_PER_IP,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEBHOOK_HEADER_MEM,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEBHOOK_CONN_TIMEOUT,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                             MHD_OPTION_END);
    if (!ws->d) {
        log_error("listen_failed", "listen=%s error=%s", log_q(listen), log_q("cannot start the HTTP server"));
        return EXIT_TEMP;
    }
    info = MHD_get_daemon_info(ws->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || loop_watch_fd(st->loop, info->epoll_fd, LOOP_READ, webhook_run, NULL) < 0) {
        log_error("listen_failed", "listen=%s error=%s", log_q(listen), log_q("no epoll fd"));
        return EXIT_TEMP;
    }
    info = MHD_get_daemon_info(ws->d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : ntohs(sa.sin_port);
    if (ws->port_file) {
        char *tmp = xasprintf("%s.tmp", ws->port_file);
        FILE *f = fopen(tmp, "w");
        int bad = !f || fprintf(f, "%d\n", port) < 0;

        if (f && fclose(f) != 0)
            bad = 1;
        if (!bad && rename(tmp, ws->port_file) != 0)
            bad = 1;
        free(tmp);
        if (bad) {
            log_error("port_file", "path=%s error=%s", log_q(ws->port_file), log_q(strerror(errno)));
            return EXIT_TEMP;
        }
    }
    log_info("listen", "addr=%s port=%d github=%s gitlab=%s jenkins=%s argocd=%s watcher=%s rate=%.0f client_rate=%.0f "
             "request_timeout_ms=%lld",
             log_q(listen), port, st->cfg.webhook.github_secret ? "on" : "off",
             st->cfg.webhook.gitlab_token ? "on" : "off", st->cfg.webhook.jenkins_token ? "on" : "off",
             st->cfg.webhook.argocd_token ? "on" : "off", log_q(ws->watcher_ep), ws->rate.rate,
             ws->rate.client_rate, (long long)ws->request_ms);
    return 0;
}

/* webhook_stop - stop the server, log the counts. */
static void webhook_stop(struct stage *st)
{
    struct webhook_state *ws = &webhook_state;
    char line[512];
    size_t off = 0;
    int i;

    if (ws->d)
        MHD_stop_daemon(ws->d);      /* closes every connection: webhook_conn_notify frees each */
    ws->d = NULL;
    loop_cancel(st->loop, ws->wake);
    ws->wake = NULL;
    for (i = 0; i < WO_N; i++)
        off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s=%llu", i ? " " : "", webhook_outcome_names[i],
                                (unsigned long long)ws->count[i]);
    log_info("stop", "%s request_timeouts=%llu clients=%d clients_evicted=%llu limited_client=%llu limited_all=%llu",
             line, (unsigned long long)ws->timeouts, ws->rate.nclients, (unsigned long long)ws->rate.evicted,
             (unsigned long long)ws->rate.limited_client, (unsigned long long)ws->rate.limited_all);
    if (ws->watcher)
        zmq_close(ws->watcher);
    ws->watcher = NULL;
    webhook_index_close(&ws->ix);
    free(ws->watcher_ep);
    ws->watcher_ep = NULL;
}

/* main - the stage's options and handlers, run by the shared skeleton. */
int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port-file", required_argument, NULL, WEBHOOK_OPT_PORT_FILE },
        { "watcher", required_argument, NULL, WEBHOOK_OPT_WATCHER },
        { NULL, 0, NULL, 0 },
    };
    static const struct stage_ops ops = {
        .prog = "promo-webhook",
        .summary = "receive GitHub, GitLab, Jenkins and Argo CD webhooks, verify them, and send\n"
                   "each one that matches a run or application as a hint to the monitor or watcher",
        .in_default = NULL,
        .out_default = "monitor.sock",
        .extra_usage =
            "      --port-file FILE write the HTTP port, once listening (webhook.listen port 0: any free)\n"
            "      --watcher ENDPOINT|none  where Argo CD hints go (default ipc://RUNDIR/watcher.sock)\n"
            "\nListens on webhook.listen (default 127.0.0.1:8090): POST /github, /gitlab,\n"
            "/jenkins, /argocd; secrets from webhook.*File. See docs/webhook.md.\n",
        .extra_opts = opts,
        .opt = webhook_opt,
        .start = webhook_start,
        .stop = webhook_stop,
    };

    return stage_main(argc, argv, &ops);
}
