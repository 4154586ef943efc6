/* test_http.c - the HTTP client (util/http.c) against servers inside this
 * process: a libmicrohttpd daemon on 127.0.0.1 port 0 that answers by path
 * (ok, 404, flaky 5xx, 429 with Retry-After, rate-limited 403, a hang, an
 * endless body, redirects of every kind, basic and bearer auth), a raw TCP
 * thread that answers garbage, and a closed port. The synchronous path is
 * driven through http_perform(); the asynchronous one through a real stage
 * loop (stage_main with --in none --out none) whose start() submits
 * concurrent requests. Also: http_backoff_ms bounds and http_retry_after_ms
 * parsing, and no secret in any log line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "unit.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "util/loop.h"

#define TH_USER   "promo-bot"
#define TH_PASS   "pw-Sekr1t-Canary-42"
#define TH_BASIC  "Basic cHJvbW8tYm90OnB3LVNla3IxdC1DYW5hcnktNDI="
#define TH_TOKEN  "tok-Canary-0xDEADBEEF"
#define TH_URLPW  "urlpass-Canary-77"

static int th_port;                  /* the MHD daemon */
static int th_junk_port;             /* the garbage server */
static int th_dead_port;             /* nothing listens */
static atomic_int th_stop;           /* handlers and threads: wind down */
static atomic_int th_flaky, th_flaky_async, th_rl, th_rl403, th_auth, th_loop, th_junk_conns;
static atomic_int th_junk_kind;
static atomic_int th_slow_now, th_slow_max;   /* /slow: requests being answered, the most at once */

/* ---- the libmicrohttpd server ---- */

struct th_conn {                     /* one request's upload */
    size_t len;
};

/* th_endless - an endless body, in 16 KiB blocks (stops after 64 MiB). */
static ssize_t th_endless(void *cls, uint64_t pos, char *buf, size_t max)
{
    size_t n = max < 16384 ? max : 16384;

    if (pos > (64u << 20) || atomic_load(&th_stop))
        return MHD_CONTENT_READER_END_OF_STREAM;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

/* th_send - answer status with body and header pairs (name, value, ..., NULL). */
static enum MHD_Result th_send(struct MHD_Connection *c, unsigned status, const char *body, ...)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;
    const char *n, *v;
    va_list ap;

    va_start(ap, body);
    while ((n = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        MHD_add_response_header(r, n, v);
    }
    va_end(ap);
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* th_handler - the routes of the test server. */
static enum MHD_Result th_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct th_conn *tc = *con_cls;
    char buf[256], loc[128];

    if (!tc) {
        *con_cls = calloc(1, sizeof(struct th_conn));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        tc->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/ok") == 0)
        return th_send(c, 200, "hello world", "X-Test", "Value", "X-Padded", "  padded\t ",
                       "Content-Type", "text/plain", NULL);
    if (strcmp(url, "/missing") == 0)
        return th_send(c, 404, "{\"message\":\"Not Found\"}", NULL);
    if (strcmp(url, "/forbidden") == 0)
        return th_send(c, 403, "no", "X-RateLimit-Remaining", "17", NULL);
    if (strcmp(url, "/flaky") == 0)
        return atomic_fetch_add(&th_flaky, 1) < 2 ? th_send(c, 503, "busy", NULL)
                                                  : th_send(c, 200, "recovered", NULL);
    if (strcmp(url, "/flaky-async") == 0)
        return atomic_fetch_add(&th_flaky_async, 1) < 1 ? th_send(c, 502, "busy", NULL)
                                                        : th_send(c, 200, "recovered", NULL);
    if (strcmp(url, "/ratelimit") == 0)
        return atomic_fetch_add(&th_rl, 1) < 1
               ? th_send(c, 429, "slow down", "Retry-After", "1", NULL)
               : th_send(c, 200, "ok now", NULL);
    if (strcmp(url, "/ratelimit403") == 0) {
        snprintf(buf, sizeof(buf), "%lld", (long long)time(NULL) + 2);
        return atomic_fetch_add(&th_rl403, 1) < 1
               ? th_send(c, 403, "rate limit exceeded", "X-RateLimit-Remaining", "0",
                         "X-RateLimit-Reset", buf, NULL)
               : th_send(c, 200, "ok now", NULL);
    }
    if (strcmp(url, "/slow") == 0) {
        int now = atomic_fetch_add(&th_slow_now, 1) + 1, max = atomic_load(&th_slow_max);
        while (now > max && !atomic_compare_exchange_weak(&th_slow_max, &max, now))
            ;
        usleep(100000);
        atomic_fetch_sub(&th_slow_now, 1);
        return th_send(c, 200, "slow", NULL);
    }
    if (strcmp(url, "/hang") == 0) {
        int i;
        for (i = 0; i < 300 && !atomic_load(&th_stop); i++)
            usleep(10000);
        return th_send(c, 200, "late", NULL);
    }
    if (strcmp(url, "/endless") == 0) {
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
                                                                   th_endless, NULL, NULL);
        enum MHD_Result rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/biglen") == 0) {
        static char big[1 << 20];
        struct MHD_Response *r;
        enum MHD_Result rc;

        memset(big, 'y', sizeof(big));
        r = MHD_create_response_from_buffer(sizeof(big), big, MHD_RESPMEM_PERSISTENT);
        rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/many-headers") == 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"ok",
                                                                 MHD_RESPMEM_PERSISTENT);
        enum MHD_Result rc;
        int i;

        for (i = 0; i < 150; i++) {
            snprintf(buf, sizeof(buf), "X-H%d", i);
            MHD_add_response_header(r, buf, "v");
        }
        rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/method") == 0) {
        snprintf(buf, sizeof(buf), "%s %zu", method, tc->len);
        return th_send(c, 200, buf, NULL);
    }
    if (strcmp(url, "/redir-other") == 0) {
        snprintf(loc, sizeof(loc), "http://127.0.0.2:%d/ok", th_port);
        return th_send(c, 302, "", "Location", loc, NULL);
    }
    if (strcmp(url, "/redir-scheme") == 0) {
        snprintf(loc, sizeof(loc), "https://127.0.0.1:%d/ok", th_port);
        return th_send(c, 302, "", "Location", loc, NULL);
    }
    if (strcmp(url, "/redir-port") == 0) {
        snprintf(loc, sizeof(loc), "http://127.0.0.1:%d/ok", th_dead_port);
        return th_send(c, 307, "", "Location", loc, NULL);
    }
    if (strcmp(url, "/redir-abs") == 0) {
        snprintf(loc, sizeof(loc), "http://127.0.0.1:%d/ok", th_port);
        return th_send(c, 301, "", "Location", loc, NULL);
    }
    if (strcmp(url, "/redir-rel") == 0)
        return th_send(c, 302, "", "Location", "ok", NULL);
    if (strcmp(url, "/redir-303") == 0)
        return th_send(c, 303, "", "Location", "/method", NULL);
    if (strcmp(url, "/redir-307") == 0)
        return th_send(c, 307, "", "Location", "/method", NULL);
    if (strcmp(url, "/redir-loop") == 0) {
        atomic_fetch_add(&th_loop, 1);
        return th_send(c, 302, "", "Location", "/redir-loop", NULL);
    }
    if (strcmp(url, "/redir-nowhere") == 0)
        return th_send(c, 302, "", NULL);
    if (strcmp(url, "/auth") == 0) {
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

        if (atomic_fetch_add(&th_auth, 1) % 2 == 0)
            return th_send(c, 503, "try again", NULL);      /* so a retry is logged */
        if (a && (strcmp(a, TH_BASIC) == 0 || strcmp(a, "Bearer " TH_TOKEN) == 0))
            return th_send(c, 200, "welcome", NULL);
        return th_send(c, 401, "{\"message\":\"401 Unauthorized\"}", NULL);
    }
    return th_send(c, 404, "no route", NULL);
}

/* th_completed - free a request's upload state. */
static void th_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

/* th_start_mhd - the daemon on 127.0.0.1, port 0; th_port set. */
static struct MHD_Daemon *th_start_mhd(void)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                         0, NULL, NULL, th_handler, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, th_completed, NULL,
                         MHD_OPTION_END);
    if (!d)
        return NULL;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    th_port = info ? info->port : 0;
    return d;
}

/* ---- the garbage server and the dead port ---- */

/* th_listen - a TCP socket on 127.0.0.1 at a free port; *port set. With
 * listening 0 the socket is only bound (then closed by the caller). */
static int th_listen(int *port, int listening)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (listening && listen(fd, 16) < 0) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static const char *th_junk[] = {
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 this is not http at all \xff\xfe\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -17\r\nContent-Length: 99999999999999999999999\r\n\r\n{",
    "HTTP/9.9 abc\r\n\r\n",
};

/* th_junk_thread - accept connections, read a little, answer garbage. */
static void *th_junk_thread(void *arg)
{
    int lfd = *(int *)arg;

    while (!atomic_load(&th_stop)) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        const char *j;
        char buf[2048];
        int c;

        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((c = accept(lfd, NULL, NULL)) < 0)
            continue;
        atomic_fetch_add(&th_junk_conns, 1);
        p.fd = c;
        if (poll(&p, 1, 1000) > 0 && read(c, buf, sizeof(buf)) < 0) {
            /* whatever the client sent does not matter */
        }
        j = th_junk[atomic_load(&th_junk_kind)];
        if (write(c, j, strlen(j)) < 0) {
            /* the client may be gone */
        }
        close(c);
    }
    return NULL;
}

/* ---- helpers ---- */

/* th_url - "http://127.0.0.1:PORT/path" in a rotating static buffer. */
static const char *th_url(const char *path)
{
    static char bufs[8][128];
    static int next;
    char *b = bufs[next++ & 7];

    snprintf(b, 128, "http://127.0.0.1:%d%s", th_port, path);
    return b;
}

/* th_req - a GET of path with short timeouts and no retries. */
static struct http_req th_req(const char *path)
{
    struct http_req q;

    memset(&q, 0, sizeof(q));
    q.system = "test";
    q.method = "GET";
    q.url = th_url(path);
    q.connect_timeout_ms = 2000;
    q.timeout_ms = 5000;
    q.max_backoff_ms = 2000;
    return q;
}

/* ---- the synchronous tests ---- */

/* test_basic - 200 with body, headers, 404 not retried. */
static void test_basic(void)
{
    struct http_req q = th_req("/ok");
    struct http_resp r;
    size_t i;
    int lower = 1, err;

    err = http_perform(&q, &r);
    unit_ok(err == HTTP_OK && r.error == HTTP_OK && r.status == 200, "GET /ok: 200 (error %d %s)",
            r.error, r.errmsg);
    unit_ok(r.body && r.len == 11 && strcmp(r.body, "hello world") == 0, "body read");
    unit_ok(r.attempts == 1, "one attempt");
    unit_ok(r.effective_url && strstr(r.effective_url, "/ok") != NULL, "effective_url");
    unit_ok(http_resp_header(&r, "x-test") && strcmp(http_resp_header(&r, "x-test"), "Value") == 0,
            "header found by lowercase name");
    unit_ok(http_resp_header(&r, "X-TEST") && http_resp_header(&r, "Content-Type") &&
            strcmp(http_resp_header(&r, "content-type"), "text/plain") == 0,
            "header lookup is case-insensitive");
    unit_ok(http_resp_header(&r, "x-padded") && strcmp(http_resp_header(&r, "x-padded"), "padded") == 0,
            "header value trimmed");
    unit_ok(http_resp_header(&r, "x-absent") == NULL && http_resp_header(&r, "x-tes") == NULL,
            "absent header is NULL");
    for (i = 0; i < r.nheaders; i++)
        for (const char *p = r.headers[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                lower = 0;
    unit_ok(r.nheaders >= 3 && lower, "header names stored lowercased (%zu headers)", r.nheaders);
    http_resp_free(&r);
    unit_ok(r.body == NULL && r.headers == NULL && r.nheaders == 0, "http_resp_free clears");

    q = th_req("/missing");
    q.max_retries = 3;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 404 && r.attempts == 1, "404 answered, not retried");
    unit_ok(strstr(r.body, "Not Found") != NULL, "404 body kept");
    http_resp_free(&r);

    q = th_req("/forbidden");
    q.max_retries = 3;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 403 && r.attempts == 1,
            "403 with remaining quota is not retried");
    http_resp_free(&r);

    q = th_req("/method");
    q.method = "POST";
    q.body = "{\"a\":1}";
    q.body_len = 7;
    http_perform(&q, &r);
    unit_ok(r.status == 200 && strcmp(r.body, "POST 7") == 0, "POST sends its body (%s)", r.body);
    http_resp_free(&r);
    q.method = "PATCH";
    http_perform(&q, &r);
    unit_ok(r.status == 200 && strcmp(r.body, "PATCH 7") == 0, "PATCH sends its body (%s)", r.body);
    http_resp_free(&r);
    q.method = "DELETE";
    q.body = NULL;
    q.body_len = 0;
    http_perform(&q, &r);
    unit_ok(r.status == 200 && strcmp(r.body, "DELETE 0") == 0, "DELETE (%s)", r.body);
    http_resp_free(&r);
}

/* test_retries - 503 twice then 200; 429 Retry-After; 403 rate limit. */
static void test_retries(void)
{
    struct http_req q;
    struct http_resp r;
    int64_t t0;

    q = th_req("/flaky");
    q.max_retries = -1;
    atomic_store(&th_flaky, 0);
    t0 = now_ms();
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 200 && r.attempts == 3 &&
            strcmp(r.body, "recovered") == 0, "503 twice then 200: attempts %d", r.attempts);
    unit_ok(now_ms() - t0 >= 700, "backoff waited (%lld ms >= 700)", (long long)(now_ms() - t0));
    http_resp_free(&r);

    q.max_retries = 1;
    atomic_store(&th_flaky, 0);
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 503 && r.attempts == 2,
            "max_retries 1: the last 503 is the answer (attempts %d)", r.attempts);
    http_resp_free(&r);

    q.max_retries = 0;
    atomic_store(&th_flaky, 0);
    http_perform(&q, &r);
    unit_ok(r.status == 503 && r.attempts == 1, "max_retries 0: no retry");
    http_resp_free(&r);

    q = th_req("/ratelimit");
    q.max_retries = 2;
    q.max_backoff_ms = 5000;
    atomic_store(&th_rl, 0);
    t0 = now_ms();
    http_perform(&q, &r);
    unit_ok(r.status == 200 && r.attempts == 2, "429 then 200: attempts %d", r.attempts);
    unit_ok(now_ms() - t0 >= 950, "Retry-After: 1 obeyed (%lld ms)", (long long)(now_ms() - t0));
    http_resp_free(&r);

    q = th_req("/ratelimit");
    q.max_retries = 2;
    q.max_backoff_ms = 200;
    atomic_store(&th_rl, 0);
    t0 = now_ms();
    http_perform(&q, &r);
    unit_ok(r.status == 200 && r.attempts == 2 && now_ms() - t0 >= 190,
            "Retry-After capped at max_backoff_ms (%lld ms)", (long long)(now_ms() - t0));
    http_resp_free(&r);

    q = th_req("/ratelimit403");
    q.max_retries = 2;
    q.max_backoff_ms = 5000;
    atomic_store(&th_rl403, 0);
    t0 = now_ms();
    http_perform(&q, &r);
    unit_ok(r.status == 200 && r.attempts == 2, "403 with x-ratelimit-remaining 0 retried");
    unit_ok(now_ms() - t0 >= 900, "waited for x-ratelimit-reset (%lld ms)",
            (long long)(now_ms() - t0));
    http_resp_free(&r);
}

/* test_limits - hang, endless body, big Content-Length, many headers. */
static void test_limits(void)
{
    struct http_req q;
    struct http_resp r;
    int64_t t0, el;

    q = th_req("/hang");
    q.timeout_ms = 500;
    t0 = now_ms();
    http_perform(&q, &r);
    el = now_ms() - t0;
    unit_ok(r.error == HTTP_ETIMEOUT && r.status == 0, "hanging server: HTTP_ETIMEOUT (%d %s)",
            r.error, r.errmsg);
    unit_ok(el >= 450 && el < 2500, "within the timeout plus slack (%lld ms)", (long long)el);
    unit_ok(strstr(r.errmsg, "/hang") != NULL, "errmsg names the URL: %s", r.errmsg);
    http_resp_free(&r);

    q = th_req("/endless");
    q.max_response = 64 * 1024;
    q.max_retries = 3;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_ETOOBIG && r.attempts == 1, "endless body: HTTP_ETOOBIG, not retried");
    unit_ok(r.len <= 64 * 1024, "no more than max_response kept (%zu)", r.len);
    http_resp_free(&r);

    q = th_req("/biglen");
    q.max_response = 64 * 1024;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_ETOOBIG, "Content-Length over max_response: HTTP_ETOOBIG (%s)", r.errmsg);
    http_resp_free(&r);

    q = th_req("/biglen");
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.len == (1u << 20), "1 MiB under the default cap is read");
    http_resp_free(&r);

    q = th_req("/many-headers");
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_ETOOBIG, "150 response headers: HTTP_ETOOBIG (%s)", r.errmsg);
    http_resp_free(&r);
}

/* test_redirects - same host followed, others refused, 303, loops, no_follow. */
static void test_redirects(void)
{
    static const struct {
        const char *path, *method;
        int error;
        long status;
        const char *body;
    } cases[] = {
        { "/redir-rel", "GET", HTTP_OK, 200, "hello world" },
        { "/redir-abs", "GET", HTTP_OK, 200, "hello world" },
        { "/redir-303", "POST", HTTP_OK, 200, "GET 0" },
        { "/redir-307", "POST", HTTP_OK, 200, "POST 3" },
        { "/redir-other", "GET", HTTP_EREDIRECT, 302, NULL },
        { "/redir-scheme", "GET", HTTP_EREDIRECT, 302, NULL },
        { "/redir-port", "GET", HTTP_EREDIRECT, 307, NULL },
        { "/redir-nowhere", "GET", HTTP_EREDIRECT, 302, NULL },
        { "/redir-loop", "GET", HTTP_EREDIRECT, 302, NULL },
    };
    struct http_req q;
    struct http_resp r;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        q = th_req(cases[i].path);
        q.method = cases[i].method;
        q.max_retries = 2;
        if (strcmp(q.method, "POST") == 0) {
            q.body = "abc";
            q.body_len = 3;
        }
        atomic_store(&th_loop, 0);
        http_perform(&q, &r);
        unit_ok(r.error == cases[i].error && r.status == cases[i].status && r.attempts == 1 &&
                (!cases[i].body || strcmp(r.body, cases[i].body) == 0),
                "%s %s: error %d status %ld body %s (%s)", cases[i].method, cases[i].path,
                r.error, r.status, r.body ? r.body : "-", r.errmsg);
        if (strcmp(cases[i].path, "/redir-loop") == 0)
            unit_ok(atomic_load(&th_loop) == 4, "redirect loop: 3 hops followed, then refused (%d)",
                    atomic_load(&th_loop));
        if (strcmp(cases[i].path, "/redir-rel") == 0)
            unit_ok(r.effective_url && strcmp(r.effective_url, th_url("/ok")) == 0,
                    "effective_url is the redirect target (%s)", r.effective_url);
        http_resp_free(&r);
    }

    q = th_req("/redir-303");
    q.method = "POST";
    q.no_follow = 1;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 303 && http_resp_header(&r, "location") &&
            strcmp(http_resp_header(&r, "Location"), "/method") == 0,
            "no_follow: the 303 and its Location are the answer");
    http_resp_free(&r);

    q = th_req("/redir-other");
    q.no_follow = 1;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_OK && r.status == 302 && http_resp_header(&r, "location") &&
            strstr(http_resp_header(&r, "location"), "127.0.0.2") != NULL,
            "no_follow: a cross-host Location is handed back, not followed");
    http_resp_free(&r);
}

/* test_bad_input - URLs and requests that cannot be built, garbage answers,
 * a refused connection. */
static void test_bad_input(void)
{
    static const char *bad_urls[] = {
        "ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/", "not a url",
        "http://", "", "127.0.0.1/ok", "dict://127.0.0.1:11211/stat", "http://exa mple.com/",
    };
    struct http_req q;
    struct http_resp r;
    char url[128];
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad_urls); i++) {
        q = th_req("/ok");
        q.url = bad_urls[i];
        http_perform(&q, &r);
        unit_ok(r.error == HTTP_EBADURL && r.status == 0 && r.errmsg[0],
                "URL %s: HTTP_EBADURL (%s)", log_q(bad_urls[i]), r.errmsg);
        http_resp_free(&r);
    }
    q = th_req("/ok");
    q.url = NULL;
    unit_ok(http_perform(&q, &r) == HTTP_EBADURL, "NULL URL: HTTP_EBADURL");
    http_resp_free(&r);
    q = th_req("/ok");
    q.method = "TRACE";
    unit_ok(http_perform(&q, &r) == HTTP_EBADURL, "method TRACE refused");
    http_resp_free(&r);
    q = th_req("/ok");
    q.headers[0] = "X-Evil: a\r\nX-Injected: b";
    unit_ok(http_perform(&q, &r) == HTTP_EBADURL, "header with CRLF refused");
    http_resp_free(&r);
    q.headers[0] = "no colon here";
    unit_ok(http_perform(&q, &r) == HTTP_EBADURL, "header without a name refused");
    http_resp_free(&r);

    for (i = 0; i < ARRAY_LEN(th_junk); i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/junk", th_junk_port);
        q = th_req("/");
        q.url = url;
        q.max_retries = 1;
        q.max_backoff_ms = 50;
        atomic_store(&th_junk_kind, (int)i);
        atomic_store(&th_junk_conns, 0);
        http_perform(&q, &r);
        unit_ok(r.error == HTTP_ECONNECT && r.attempts == 2 && atomic_load(&th_junk_conns) == 2,
                "garbage answer %zu: HTTP_ECONNECT after a retry, no crash (%d %s)", i, r.error,
                r.errmsg);
        http_resp_free(&r);
    }

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", th_dead_port);
    q = th_req("/");
    q.url = url;
    q.max_retries = 2;
    q.max_backoff_ms = 100;
    http_perform(&q, &r);
    unit_ok(r.error == HTTP_ECONNECT && r.attempts == 3 && r.status == 0,
            "connection refused: HTTP_ECONNECT after 2 retries (attempts %d, %s)", r.attempts,
            r.errmsg);
    http_resp_free(&r);
}

/* test_secrets - basic auth, a Bearer token and URL userinfo reach the
 * server but no log line (stderr captured at debug level). */
static void test_secrets(void)
{
    char path[600], url[200], *log = NULL;
    struct http_req q;
    struct http_resp r;
    size_t len = 0;
    int fd, saved, ok1, ok2, ok3;

    snprintf(path, sizeof(path), "%s/stderr.log", unit_tmpdir());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved = dup(STDERR_FILENO);
    if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        unit_ok(0, "capture stderr");
        return;
    }
    log_set_level(LOG_DEBUG);

    q = th_req("/auth");
    q.max_retries = 2;
    q.max_backoff_ms = 50;
    q.basic_user = TH_USER;
    q.basic_pass = TH_PASS;
    atomic_store(&th_auth, 0);
    http_perform(&q, &r);
    ok1 = r.status == 200 && r.attempts == 2;
    http_resp_free(&r);

    q = th_req("/auth");
    q.max_retries = 2;
    q.max_backoff_ms = 50;
    q.headers[0] = "Authorization: Bearer " TH_TOKEN;
    q.headers[1] = "Accept: application/json";
    atomic_store(&th_auth, 0);
    http_perform(&q, &r);
    ok2 = r.status == 200 && r.attempts == 2;
    http_resp_free(&r);

    snprintf(url, sizeof(url), "http://someone:%s@127.0.0.1:%d/missing", TH_URLPW, th_port);
    q = th_req("/");
    q.url = url;
    http_perform(&q, &r);
    ok3 = r.status == 404;
    http_resp_free(&r);

    log_set_level(LOG_INFO);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    unit_ok(ok1, "basic auth sent (200 after a retry)");
    unit_ok(ok2, "bearer token sent (200 after a retry)");
    unit_ok(ok3, "URL with userinfo requested");
    if (read_file(path, 1 << 20, &log, &len) != 0) {
        unit_ok(0, "read the captured log");
        return;
    }
    unit_ok(strstr(log, "event=http ") != NULL && strstr(log, "event=http_retry ") != NULL &&
            strstr(log, "system=test") != NULL && strstr(log, "attempt=2") != NULL,
            "request and retry lines were logged");
    unit_ok(strstr(log, TH_PASS) == NULL, "the basic-auth password is in no log line");
    unit_ok(strstr(log, TH_BASIC + 6) == NULL, "the Basic credential is in no log line");
    unit_ok(strstr(log, TH_TOKEN) == NULL, "the bearer token is in no log line");
    unit_ok(strstr(log, TH_URLPW) == NULL && strstr(log, "someone") == NULL,
            "URL userinfo is in no log line");
    unit_ok(strstr(log, "/missing") != NULL, "the URL itself is logged");
    free(log);
}

/* test_backoff - http_backoff_ms stays within its bounds, with jitter. */
static void test_backoff(void)
{
    static const struct { int attempt; long base, cap, lo, hi; } cases[] = {
        { 1, 100, 1000, 50, 100 },
        { 2, 100, 1000, 100, 200 },
        { 4, 100, 1000, 400, 800 },
        { 5, 100, 1000, 500, 1000 },
        { 50, 100, 1000, 500, 1000 },
        { INT_MAX, 500, 30000, 15000, 30000 },
        { 1, 5000, 1000, 500, 1000 },
        { 0, 100, 1000, 50, 100 },
        { -3, 100, 1000, 50, 100 },
        { 3, 0, 1000, 0, 0 },
        { 3, 100, 0, 0, 0 },
        { 40, LONG_MAX / 2, LONG_MAX, LONG_MAX / 2, LONG_MAX },
    };
    size_t i;
    int k;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        long lo = LONG_MAX, hi = LONG_MIN;

        for (k = 0; k < 500; k++) {
            long d = http_backoff_ms(cases[i].attempt, cases[i].base, cases[i].cap);
            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
        }
        unit_ok(lo >= cases[i].lo && hi <= cases[i].hi,
                "backoff attempt %d base %ld cap %ld in [%ld, %ld] (saw %ld..%ld)",
                cases[i].attempt, cases[i].base, cases[i].cap, cases[i].lo, cases[i].hi, lo, hi);
        if (cases[i].hi - cases[i].lo >= 100)
            unit_ok(hi > lo, "backoff attempt %d has jitter", cases[i].attempt);
    }
}

/* test_retry_after - delta-seconds and HTTP-dates. */
static void test_retry_after(void)
{
    static const struct { const char *in; long want; } cases[] = {
        { "1", 1000 }, { "0", 0 }, { " 120 ", 120000 }, { "86400", 86400000 },
        { "86401", -1 }, { "9999999", -1 }, { "", -1 }, { "   ", -1 }, { "-5", -1 },
        { "1.5", -1 }, { "+3", -1 }, { "3s", -1 }, { "abc", -1 }, { "0x10", -1 },
        { "Wed, 21 Oct 2015 07:28:00 GMT", 0 }, { "Sunday, 06-Nov-94 08:49:37 GMT", 0 },
        { "Sun Nov  6 08:49:37 1994", 0 }, { "Thu, 99 Foo 2015 xx:yy", -1 },
    };
    char date[64];
    time_t t;
    size_t i;
    long got;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        got = http_retry_after_ms(cases[i].in);
        unit_ok(got == cases[i].want, "Retry-After %s -> %ld (got %ld)", log_q(cases[i].in),
                cases[i].want, got);
    }
    unit_ok(http_retry_after_ms(NULL) == -1, "Retry-After NULL -> -1");
    t = time(NULL) + 30;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    got = http_retry_after_ms(date);
    unit_ok(got > 27000 && got <= 30000, "Retry-After %s (30 s ahead) -> %ld", date, got);
    t = time(NULL) + 3 * 86400;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    unit_ok(http_retry_after_ms(date) == -1, "Retry-After 3 days ahead -> -1");
}

/* ---- the asynchronous path, in a real event loop ---- */

enum { TA_OK1, TA_OK2, TA_OK3, TA_FLAKY, TA_BADURL, TA_REFUSED, TA_ENDLESS, TA_REDIR,
       TA_FROMCB, TA_HANG, TA_N };

static struct {
    struct loop *loop;
    struct http *h;
    int calls[TA_N];
    int error[TA_N];
    long status[TA_N];
    int attempts[TA_N];
    char body[TA_N][32];
    int in_submit;                   /* 1 while http_submit runs */
    int called_in_submit;
    int bad_rc, submitted_rc, inflight_after, inflight_at_stop, completed, timed_out;
} ta;

static const int ta_ids[TA_N] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void ta_submit(int id, const struct http_req *q);

/* ta_done - record one completion; stop the loop after all but the hang. */
static void ta_done(void *arg, const struct http_resp *r)
{
    int id = *(const int *)arg;

    if (ta.in_submit)
        ta.called_in_submit = 1;
    ta.calls[id]++;
    ta.error[id] = r->error;
    ta.status[id] = r->status;
    ta.attempts[id] = r->attempts;
    str_copy(ta.body[id], r->body ? r->body : "", sizeof(ta.body[id]));
    if (id == TA_OK1) {              /* a submit from inside a done callback */
        struct http_req q = th_req("/method");
        ta_submit(TA_FROMCB, &q);
    }
    if (++ta.completed == TA_N - 1)
        loop_stop(ta.loop);
}

/* ta_submit - http_submit with the in-submit guard. */
static void ta_submit(int id, const struct http_req *q)
{
    int rc;

    ta.in_submit = 1;
    rc = http_submit(ta.h, q, ta_done, (void *)&ta_ids[id]);
    ta.in_submit = 0;
    if (id == TA_BADURL)
        ta.bad_rc = rc;
    else
        ta.submitted_rc |= rc;
}

/* ta_watchdog - the loop took far too long. */
static void ta_watchdog(struct loop *l, void *arg)
{
    ta.timed_out = 1;
    loop_stop(l);
}

/* ta_start - submit everything at once. */
static int ta_start(struct loop *l)
{
    struct http_req q;
    char url[128];

    ta.loop = l;
    ta.h = http_new(l);
    if (!ta.h)
        return EXIT_TEMP;
    q = th_req("/ok");
    ta_submit(TA_OK1, &q);
    ta_submit(TA_OK2, &q);
    ta_submit(TA_OK3, &q);
    q = th_req("/flaky-async");
    q.max_retries = 2;
    q.max_backoff_ms = 100;
    ta_submit(TA_FLAKY, &q);
    q = th_req("/ok");
    q.url = "file:///etc/passwd";
    ta_submit(TA_BADURL, &q);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", th_dead_port);
    q = th_req("/ok");
    q.url = url;
    q.max_retries = 1;
    q.max_backoff_ms = 50;
    ta_submit(TA_REFUSED, &q);
    q = th_req("/endless");
    q.max_response = 32 * 1024;
    ta_submit(TA_ENDLESS, &q);
    q = th_req("/redir-rel");
    ta_submit(TA_REDIR, &q);
    q = th_req("/hang");
    q.timeout_ms = 20000;
    ta_submit(TA_HANG, &q);
    ta.inflight_after = http_inflight(ta.h);
    loop_after(l, 15000, ta_watchdog, NULL);
    return 0;
}

/* ta_stop - free the client with the hang still in flight. */
static void ta_stop(void)
{
    ta.inflight_at_stop = http_inflight(ta.h);
    http_free(ta.h);
    ta.h = NULL;
}

/* test_async - concurrent requests through http_submit in an event loop. */
static void test_async(void)
{
    struct loop *l = loop_new(NULL);
    int rc, i;

    atomic_store(&th_flaky_async, 0);
    rc = ta_start(l);
    if (rc == 0)
        rc = loop_run(l);
    ta_stop();
    loop_free(l);
    if (ta.timed_out)
        rc = 1;

    unit_ok(rc == 0 && !ta.timed_out, "async: the loop ended by the last callback (rc %d)", rc);
    unit_ok(ta.submitted_rc == 0 && ta.bad_rc == -1, "async: http_submit returns 0, and -1 for a bad URL");
    unit_ok(ta.inflight_after == TA_N - 1, "async: http_inflight counts every submitted request (%d)",
            ta.inflight_after);
    unit_ok(!ta.called_in_submit, "async: no callback from inside http_submit");
    for (i = TA_OK1; i <= TA_OK3; i++)
        unit_ok(ta.calls[i] == 1 && ta.error[i] == HTTP_OK && ta.status[i] == 200 &&
                strcmp(ta.body[i], "hello world") == 0, "async: concurrent GET %d answered", i);
    unit_ok(ta.calls[TA_FLAKY] == 1 && ta.status[TA_FLAKY] == 200 && ta.attempts[TA_FLAKY] == 2,
            "async: 502 retried on a stage timer, then 200 (attempts %d)", ta.attempts[TA_FLAKY]);
    unit_ok(ta.calls[TA_BADURL] == 1 && ta.error[TA_BADURL] == HTTP_EBADURL,
            "async: bad URL completed from the loop with HTTP_EBADURL");
    unit_ok(ta.calls[TA_REFUSED] == 1 && ta.error[TA_REFUSED] == HTTP_ECONNECT &&
            ta.attempts[TA_REFUSED] == 2, "async: refused, retried once, HTTP_ECONNECT");
    unit_ok(ta.calls[TA_ENDLESS] == 1 && ta.error[TA_ENDLESS] == HTTP_ETOOBIG,
            "async: endless body HTTP_ETOOBIG");
    unit_ok(ta.calls[TA_REDIR] == 1 && ta.status[TA_REDIR] == 200 &&
            strcmp(ta.body[TA_REDIR], "hello world") == 0, "async: same-host redirect followed");
    unit_ok(ta.calls[TA_FROMCB] == 1 && strcmp(ta.body[TA_FROMCB], "GET 0") == 0,
            "async: a request submitted from a done callback completes");
    unit_ok(ta.inflight_at_stop == 1 && ta.calls[TA_HANG] == 0,
            "async: http_free cancels the hang without calling back (inflight %d, calls %d)",
            ta.inflight_at_stop, ta.calls[TA_HANG]);
}

/* Fair HTTP: polls queued by the hundred, then one promotion step. */
#define TP_POLLS 60
static struct {
    struct loop *loop;
    int done, step_at, polls_before_step, bad;
} tp;

/* tp_done - count completions; note when the step came. */
static void tp_done(void *arg, const struct http_resp *r)
{
    if (r->error != HTTP_OK || r->status != 200)
        tp.bad++;
    if (arg)
        tp.step_at = tp.done + 1;
    else if (!tp.step_at)
        tp.polls_before_step++;
    if (++tp.done == TP_POLLS + 1)
        loop_stop(tp.loop);
}

/* test_prio - a step submitted behind TP_POLLS slow polls completes before
 * most of them, and polls never hold more than HTTP_POLL_ACTIVE slots. */
static void test_prio(void)
{
    struct loop *l = loop_new(NULL);
    struct http *h = http_new(l);
    struct http_req q = th_req("/slow");
    static int step = 1;
    int i;

    memset(&tp, 0, sizeof(tp));
    tp.loop = l;
    atomic_store(&th_slow_max, 0);
    q.prio = HTTP_PRIO_POLL;
    q.kind = "poll";
    for (i = 0; i < TP_POLLS; i++)
        http_submit(h, &q, tp_done, NULL);
    q.prio = HTTP_PRIO_STEP;
    q.kind = NULL;
    http_submit(h, &q, tp_done, &step);
    loop_after(l, 15000, ta_watchdog, NULL);
    loop_run(l);
    http_free(h);
    loop_free(l);
    unit_ok(tp.done == TP_POLLS + 1 && tp.bad == 0, "prio: every request answered (%d, bad %d)", tp.done, tp.bad);
    unit_ok(tp.polls_before_step <= HTTP_POLL_ACTIVE, "prio: the step did not wait behind the queued polls "
            "(%d polls before it)", tp.polls_before_step);
    unit_ok(atomic_load(&th_slow_max) <= HTTP_POLL_ACTIVE + 1, "prio: at most %d polls (and the step) at once (%d)",
            HTTP_POLL_ACTIVE, atomic_load(&th_slow_max));
    unit_ok(atomic_load(&th_slow_max) >= HTTP_POLL_ACTIVE, "prio: polls do run side by side (%d)",
            atomic_load(&th_slow_max));
}

int main(void)
{
    struct MHD_Daemon *d;
    pthread_t junk;
    int lfd, dead;

    log_init("test_http", LOG_INFO);
    d = th_start_mhd();
    if (!unit_ok(d != NULL && th_port > 0, "test server on 127.0.0.1:%d", th_port))
        return unit_done();
    lfd = th_listen(&th_junk_port, 1);
    dead = th_listen(&th_dead_port, 0);
    if (dead >= 0)
        close(dead);
    if (!unit_ok(lfd >= 0 && dead >= 0 && pthread_create(&junk, NULL, th_junk_thread, &lfd) == 0,
                 "garbage server on %d, dead port %d", th_junk_port, th_dead_port)) {
        MHD_stop_daemon(d);
        return unit_done();
    }

    test_backoff();
    test_retry_after();
    test_basic();
    test_retries();
    test_limits();
    test_redirects();
    test_bad_input();
    test_secrets();
    test_async();
    test_prio();

    atomic_store(&th_stop, 1);
    pthread_join(junk, NULL);
    close(lfd);
    MHD_stop_daemon(d);
    return unit_done();
}
