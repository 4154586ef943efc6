/* http.c - the HTTP client of http.h: libcurl's multi interface driven by
 * the stage loop, with the same rules for the synchronous http_perform().
 *
 * One request (struct http_xfer) lives through several transfers: a retry
 * or a followed redirect is a fresh easy handle built by http_xfer_start()
 * from the request's own copy. What happens after a transfer is decided in
 * one place, http_xfer_outcome(), for both drivers: the event loop (sockets
 * through loop_watch_fd, curl's timer through loop_after, retries as
 * loop_after timers) and http_perform's private multi handle.
 *
 * curl never follows a redirect itself: a 3xx is followed here only to the
 * same scheme, host and port, at most HTTP_MAX_HOPS times. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "util/http.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/loop.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000
#define HTTP_TIMEOUT_MS         30000
#define HTTP_MAX_RESPONSE       (4u << 20)
#define HTTP_RETRIES            4
#define HTTP_BACKOFF_BASE_MS    500
#define HTTP_BACKOFF_CAP_MS     30000
#define HTTP_MAX_HOPS           3         /* redirects followed per request */
#define HTTP_URL_MAX            8192
#define HTTP_RESP_HEADERS_MAX   100       /* header lines of one answer */
#define HTTP_RESP_HEADER_LINE   8192      /* bytes of one header line */
#define HTTP_RESP_HEADER_TOTAL  (64u << 10)
#define HTTP_MAX_ACTIVE         64        /* transfers on the multi handle at once; more wait
                                           * in http's own FIFO, not in curl's pending list,
                                           * whose upkeep costs O(n) per finished transfer */

/* What comes after one transfer. */
enum http_next { HTTP_NEXT_DONE, HTTP_NEXT_RETRY, HTTP_NEXT_FOLLOW };

/* One request, through all its attempts and redirect hops. */
struct http_xfer {
    struct http *h;                  /* NULL under http_perform */
    struct http_req req;             /* deep copy; its strings below */
    char *own[HTTP_MAX_HEADERS + 6];
    int nown;
    char *url;                       /* the current URL (after redirects) */
    const char *method;              /* the current method (303: GET) */
    int send_body;                   /* 0 once a 303 turned it into GET */
    int hops;                        /* redirects followed */
    int64_t t0;                      /* now_ms() at the start of this transfer */
    CURL *easy;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    size_t cap;                      /* body bytes allocated */
    size_t hbytes;                   /* header bytes of this answer */
    int too_big;                     /* 1: body cap, 2: header cap */
    struct http_resp resp;
    http_done_fn done;
    void *arg;
    struct loop_timer *tmr;           /* retry or deferred completion */
    int finish;                      /* 1: tmr completes x instead of retrying */
    struct http_xfer *prev, *next;   /* in h->xfers */
    struct http_xfer *qnext;         /* in h's FIFO (of its class) of transfers waiting for a slot */
    int polling;                     /* 1: on the multi handle as a poll (counted in h->npoll) */
};

struct http {
    struct loop *loop;
    CURLM *multi;
    struct loop_timer *timer;         /* curl's timeout */
    struct http_xfer *xfers;         /* not yet completed */
    int ninflight;
    int nactive;                     /* easy handles on the multi handle */
    int max_active;
    int npoll;                       /* of nactive: polls (HTTP_PRIO_POLL) */
    uint64_t nsent;                  /* attempts ended (http_sent) */
    struct http_xfer *qhead[HTTP_PRIO_N], *qtail[HTTP_PRIO_N];  /* waiting for a slot, per
                                      * class, oldest first */
    int *fds;                        /* sockets watched for curl */
    int nfds, capfds;
    int depth;                       /* callbacks running: defer http_free */
    int dying;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static int http_global_rc;

/* http_global - curl_global_init, once per process. */
static void http_global(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* http_init - 0 when libcurl is ready. */
static int http_init(void)
{
    pthread_once(&http_once, http_global);
    return http_global_rc;
}

/* http_rand - 64 random bits for jitter (xorshift64*, seeded by getrandom). */
static uint64_t http_rand(void)
{
    static uint64_t s;

    if (s == 0) {
        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || s == 0)
            s = (uint64_t)wall_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dull;
}

/* http_backoff_ms - min(cap, base * 2^(attempt-1)) scaled by a random
 * factor in [0.5, 1]; 0 when base or cap is not positive. */
long http_backoff_ms(int attempt, long base_ms, long cap_ms)
{
    long d = base_ms, half;
    int i;

    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    for (i = 1; i < attempt && d < cap_ms; i++)
        d = d > cap_ms / 2 ? cap_ms : d * 2;
    if (d > cap_ms)
        d = cap_ms;
    half = d / 2;
    return d - half + (long)(http_rand() % (uint64_t)(half + 1));
}

/* http_retry_after_ms - a Retry-After value in ms: delta-seconds (digits
 * only, at most a day) or an HTTP-date (a date in the past is 0). -1 for
 * anything else. */
long http_retry_after_ms(const char *value)
{
    char buf[64];
    size_t n, i;
    int alpha = 0;

    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, value, n);
    buf[n] = 0;
    for (i = 0; i < n && isdigit((unsigned char)buf[i]); i++)
        ;
    if (i == n) {
        long secs;

        if (n > 6)
            return -1;
        secs = strtol(buf, NULL, 10);
        return secs > 86400 ? -1 : secs * 1000;
    }
    for (i = 0; i < n; i++)
        if (isalpha((unsigned char)buf[i]))
            alpha = 1;
    if (!alpha)                      /* every HTTP-date names its month */
        return -1;
    {
        time_t t = curl_getdate(buf, NULL);
        int64_t d;

        if (t == (time_t)-1)
            return -1;
        d = (int64_t)t * 1000 - wall_ms();
        if (d < 0)
            return 0;
        return d > 86400000 ? -1 : (long)d;
    }
}

/* http_seterr - printf into r->errmsg (truncated to fit). */
static void http_seterr(struct http_resp *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
    va_end(ap);
}

/* http_resp_header - the value of header name (case-insensitive), or NULL. */
const char *http_resp_header(const struct http_resp *r, const char *name)
{
    size_t i;

    if (!r || !name)
        return NULL;
    for (i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* http_resp_reset - free what r holds and zero it, keeping attempts. */
static void http_resp_reset(struct http_resp *r)
{
    size_t i;
    int attempts = r->attempts;

    for (i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r->effective_url);
    memset(r, 0, sizeof(*r));
    r->attempts = attempts;
}

/* http_resp_free - free what r holds (r itself is the caller's). */
void http_resp_free(struct http_resp *r)
{
    if (!r)
        return;
    http_resp_reset(r);
    r->attempts = 0;
}

/* http_url_parse - a CURLU of url when it is an absolute http(s) URL with
 * a host, else NULL with the reason in err. */
static CURLU *http_url_parse(const char *url, char *err, size_t errlen)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    CURLUcode uc;

    if (!url || !*url || strlen(url) > HTTP_URL_MAX) {
        snprintf(err, errlen, "empty or over-long URL");
        return NULL;
    }
    if (!(u = curl_url())) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "malformed URL: %s", curl_url_strerror(uc));
        curl_url_cleanup(u);
        return NULL;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "scheme %s not allowed (http, https only)", scheme ? scheme : "?");
        curl_free(scheme);
        curl_url_cleanup(u);
        return NULL;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        snprintf(err, errlen, "URL without a host");
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return NULL;
    }
    curl_free(scheme);
    curl_free(host);
    return u;
}

/* http_url_for_log - url without user and password into buf ("?" when it
 * does not parse); query strings are kept. */
static const char *http_url_for_log(const char *url, char *buf, size_t len)
{
    char err[160], *s = NULL;
    CURLU *u = http_url_parse(url, err, sizeof(err));

    str_copy(buf, "?", len);
    if (!u)
        return buf;
    curl_url_set(u, CURLUPART_USER, NULL, 0);
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
        str_copy(buf, s, len);
    curl_free(s);
    curl_url_cleanup(u);
    return buf;
}

/* http_secret_header - 1 when a request header carries a credential. */
static int http_secret_header(const char *line)
{
    static const char *names[] = { "authorization", "proxy-authorization", "private-token",
                                   "job-token", "x-gitlab-token", "cookie" };
    size_t i, n;

    for (i = 0; i < ARRAY_LEN(names); i++) {
        n = strlen(names[i]);
        if (strncasecmp(line, names[i], n) == 0 && line[n] == ':')
            return 1;
    }
    return 0;
}

/* http_register_secrets - log_secret() every credential in req: the basic
 * password, userinfo in the URL, and the values of credential headers (the
 * whole value and the part after a scheme like "Bearer "). */
static void http_register_secrets(const struct http_req *req)
{
    int i;

    log_secret(req->basic_pass);
    for (i = 0; i < HTTP_MAX_HEADERS && req->headers[i]; i++) {
        const char *v, *sp;

        if (!http_secret_header(req->headers[i]))
            continue;
        v = strchr(req->headers[i], ':') + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        log_secret(v);
        if ((sp = strchr(v, ' ')) != NULL) {
            while (*sp == ' ')
                sp++;
            log_secret(sp);
        }
    }
    {
        char err[160], *pw = NULL;
        CURLU *u = http_url_parse(req->url, err, sizeof(err));

        if (u && curl_url_get(u, CURLUPART_PASSWORD, &pw, CURLU_URLDECODE) == CURLUE_OK)
            log_secret(pw);
        curl_free(pw);
        curl_url_cleanup(u);
    }
}

/* http_method_ok - one of the methods promo uses. */
static int http_method_ok(const char *m)
{
    static const char *ok[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" };
    size_t i;

    for (i = 0; m && i < ARRAY_LEN(ok); i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

/* http_header_ok - "Name: value" with a token name and no CR, LF or NUL
 * smuggled in. */
static int http_header_ok(const char *line)
{
    const char *p;

    for (p = line; *p && *p != ':'; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    if (p == line || *p != ':')
        return 0;
    for (; *p; p++)
        if (*p == '\r' || *p == '\n')
            return 0;
    return 1;
}

/* http_xfer_keep - remember s as owned by x; returns s. */
static char *http_xfer_keep(struct http_xfer *x, char *s)
{
    if (s)
        x->own[x->nown++] = s;
    return s;
}

/* http_xfer_free - free x and everything it owns (not its easy handle,
 * which the driver has cleaned up). Secrets are wiped first. */
static void http_xfer_free(struct http_xfer *x)
{
    int i;

    if (!x)
        return;
    if (x->req.basic_pass)
        explicit_bzero((char *)x->req.basic_pass, strlen(x->req.basic_pass));
    for (i = 0; i < HTTP_MAX_HEADERS && x->req.headers[i]; i++)
        if (http_secret_header(x->req.headers[i]))
            explicit_bzero((char *)x->req.headers[i], strlen(x->req.headers[i]));
    for (i = 0; i < x->nown; i++)
        free(x->own[i]);
    free(x->url);
    curl_slist_free_all(x->hdrs);
    http_resp_free(&x->resp);
    free(x);
}

/* http_default_timeout_ms - HTTP_TIMEOUT_MS, or $PROMO_HTTP_TIMEOUT_MS when
 * it is a number of ms from 100 to 600000 (docs/operations.md; tests use
 * it to meet a hanging server without waiting 30 s). */
static long http_default_timeout_ms(void)
{
    const char *v = getenv("PROMO_HTTP_TIMEOUT_MS");
    char *end;
    long ms;

    if (!v || !*v)
        return HTTP_TIMEOUT_MS;
    errno = 0;
    ms = strtol(v, &end, 10);
    if (errno || *end || ms < 100 || ms > 600000)
        return HTTP_TIMEOUT_MS;
    return ms;
}

/* http_xfer_new - a deep copy of req. Returns x; when req cannot be built,
 * x->resp.error is set (HTTP_EBADURL) with the reason in errmsg. */
static struct http_xfer *http_xfer_new(const struct http_req *req)
{
    struct http_xfer *x = xcalloc(1, sizeof(*x));
    char err[160];
    CURLU *u;
    int i;

    x->req = *req;
    x->req.system = http_xfer_keep(x, xstrdup(req->system ? req->system : "http"));
    x->req.method = http_xfer_keep(x, xstrdup(req->method ? req->method : "GET"));
    x->req.url = http_xfer_keep(x, req->url ? xstrdup(req->url) : NULL);
    x->req.basic_user = http_xfer_keep(x, req->basic_user ? xstrdup(req->basic_user) : NULL);
    x->req.basic_pass = http_xfer_keep(x, req->basic_pass ? xstrdup(req->basic_pass) : NULL);
    if (req->body) {
        char *b = xmalloc(req->body_len + 1);
        memcpy(b, req->body, req->body_len);
        b[req->body_len] = 0;
        x->req.body = http_xfer_keep(x, b);
    }
    memset(x->req.headers, 0, sizeof(x->req.headers));
    for (i = 0; i < HTTP_MAX_HEADERS && req->headers[i]; i++)
        x->req.headers[i] = http_xfer_keep(x, xstrdup(req->headers[i]));
    if (x->req.connect_timeout_ms <= 0)
        x->req.connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS;
    if (x->req.timeout_ms <= 0)
        x->req.timeout_ms = http_default_timeout_ms();
    if (x->req.max_response == 0)
        x->req.max_response = HTTP_MAX_RESPONSE;
    if (x->req.max_retries < 0)
        x->req.max_retries = HTTP_RETRIES;
    if (x->req.max_backoff_ms <= 0)
        x->req.max_backoff_ms = HTTP_BACKOFF_CAP_MS;
    if (x->req.prio < 0 || x->req.prio >= HTTP_PRIO_N)
        x->req.prio = HTTP_PRIO_NORMAL;
    x->method = x->req.method;
    x->send_body = 1;
    x->resp.attempts = 1;
    http_register_secrets(&x->req);

    if (!(u = http_url_parse(x->req.url, err, sizeof(err)))) {
        x->resp.error = HTTP_EBADURL;
        http_seterr(&x->resp, "%s: %s", x->req.system, err);
        return x;
    }
    curl_url_cleanup(u);
    x->url = xstrdup(x->req.url);
    if (!http_method_ok(x->req.method)) {
        x->resp.error = HTTP_EBADURL;
        http_seterr(&x->resp, "%s: method %s not supported",
                 x->req.system, log_q(x->req.method));
        return x;
    }
    for (i = 0; i < HTTP_MAX_HEADERS && x->req.headers[i]; i++) {
        if (!http_header_ok(x->req.headers[i])) {
            x->resp.error = HTTP_EBADURL;
            http_seterr(&x->resp,
                     "%s: request header %d is not \"Name: value\" on one line",
                     x->req.system, i + 1);
            return x;
        }
    }
    return x;
}

/* http_on_header - CURLOPT_HEADERFUNCTION: keep the headers of the last
 * answer (a status line starts over), names lowercased, values trimmed;
 * too many or too large aborts the transfer (HTTP_ETOOBIG). */
static size_t http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_xfer *x = arg;
    struct http_resp *r = &x->resp;
    size_t n = size * nmemb, nl, vs, ve;
    const char *colon;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        size_t i;

        for (i = 0; i < r->nheaders; i++) {
            free(r->headers[i].name);
            free(r->headers[i].value);
        }
        r->nheaders = 0;
        x->hbytes = 0;
        return n;
    }
    x->hbytes += n;
    if (n > HTTP_RESP_HEADER_LINE || x->hbytes > HTTP_RESP_HEADER_TOTAL) {
        x->too_big = 2;
        return 0;
    }
    if (n == 0 || data[0] == ' ' || data[0] == '\t')
        return n;                       /* obsolete line folding: ignored */
    colon = memchr(data, ':', n);
    if (!colon || colon == data)
        return n;                       /* the blank line, or no header */
    if (r->nheaders >= HTTP_RESP_HEADERS_MAX) {
        x->too_big = 2;
        return 0;
    }
    if (!r->headers)
        r->headers = xcalloc(HTTP_RESP_HEADERS_MAX, sizeof(*r->headers));
    nl = (size_t)(colon - data);
    vs = nl + 1;
    ve = n;
    while (vs < ve && (data[vs] == ' ' || data[vs] == '\t'))
        vs++;
    while (ve > vs && (data[ve - 1] == '\r' || data[ve - 1] == '\n' ||
                       data[ve - 1] == ' ' || data[ve - 1] == '\t'))
        ve--;
    {
        char *name = xstrndup(data, nl), *p;

        for (p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        r->headers[r->nheaders].name = name;
        r->headers[r->nheaders].value = xstrndup(data + vs, ve - vs);
        r->nheaders++;
    }
    return n;
}

/* http_on_body - CURLOPT_WRITEFUNCTION: append, or abort past max_response. */
static size_t http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_xfer *x = arg;
    struct http_resp *r = &x->resp;
    size_t n = size * nmemb;

    if (n > x->req.max_response - r->len) {
        x->too_big = 1;
        return 0;
    }
    if (r->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;

        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > x->req.max_response + 1)
            cap = x->req.max_response + 1;
        r->body = xrealloc(r->body, cap);
        x->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

/* http_xfer_start - a fresh easy handle for the next transfer of x, with
 * every rule of http.h set. Returns 0, or -1 with HTTP_EINTERNAL in resp. */
static int http_xfer_start(struct http_xfer *x)
{
    const struct http_req *q = &x->req;
    CURL *e;
    int i, bad = 0;

    http_resp_reset(&x->resp);
    x->cap = 0;
    x->hbytes = 0;
    x->too_big = 0;
    x->errbuf[0] = 0;
    x->t0 = now_ms();
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    if (http_init() < 0 || !(e = curl_easy_init())) {
        x->resp.error = HTTP_EINTERNAL;
        http_seterr(&x->resp, "%s: curl could not be set up",
                 q->system);
        return -1;
    }
    x->easy = e;
    for (i = 0; i < HTTP_MAX_HEADERS && q->headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(x->hdrs, q->headers[i]);
        if (!l)
            bad = 1;
        else
            x->hdrs = l;
    }
    bad |= curl_easy_setopt(e, CURLOPT_URL, x->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, q->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max_response) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "promo/" PROMO_VERSION) != CURLE_OK;
    if (x->hdrs)
        bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK;
    if (q->basic_user) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_USERNAME, q->basic_user) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, q->basic_pass ? q->basic_pass : "") != CURLE_OK;
    }
    if (strcmp(x->method, "GET") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else if (strcmp(x->method, "HEAD") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
    } else {
        if (strcmp(x->method, "POST") != 0)
            bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method) != CURLE_OK;
        if (strcmp(x->method, "POST") == 0 || (x->send_body && q->body)) {
            const char *b = x->send_body && q->body ? q->body : "";
            curl_off_t blen = x->send_body && q->body ? (curl_off_t)q->body_len : 0;

            bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, blen) != CURLE_OK;
            bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, b) != CURLE_OK;
        }
    }
    if (bad) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        x->resp.error = HTTP_EINTERNAL;
        http_seterr(&x->resp, "%s: curl could not be set up",
                 q->system);
        return -1;
    }
    return 0;
}

/* http_error_of - the http_error of a finished transfer. */
static int http_error_of(const struct http_xfer *x, CURLcode rc)
{
    if (x->too_big)
        return HTTP_ETOOBIG;
    switch (rc) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_ETIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_ETOOBIG;
    case CURLE_URL_MALFORMAT:
        return HTTP_EBADURL;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
        return HTTP_EINTERNAL;
    default:
        /* refused, DNS, reset, TLS, and an answer that is no HTTP at all */
        return HTTP_ECONNECT;
    }
}

/* http_error_name - the short name of an http_error for logs. */
static const char *http_error_name(int e)
{
    static const char *names[] = { "ok", "connect", "timeout", "too_big", "redirect",
                                   "bad_url", "internal" };

    return e >= 0 && (size_t)e < ARRAY_LEN(names) ? names[e] : "?";
}

/* http_redirect - resolve location against x->url; 0 with the absolute URL
 * in *out (heap) when it stays on the same scheme, host and port, else -1
 * with the reason in x->resp.errmsg. */
static int http_redirect(struct http_xfer *x, const char *location, char **out)
{
    static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
    char err[160], lurl[512], *s = NULL;
    CURLU *from = http_url_parse(x->url, err, sizeof(err)), *to = NULL;
    size_t i;
    int rc = -1;

    http_url_for_log(x->url, lurl, sizeof(lurl));
    *out = NULL;
    if (!from || !(to = curl_url_dup(from)) || !location || !*location ||
        curl_url_set(to, CURLUPART_URL, location, 0) != CURLUE_OK) {
        http_seterr(&x->resp, "%s: %s answered %ld with %s Location",
                 x->req.system, lurl, x->resp.status, location && *location ? "a bad" : "no");
        goto out;
    }
    for (i = 0; i < ARRAY_LEN(parts); i++) {
        char *a = NULL, *b = NULL;
        int same = curl_url_get(from, parts[i], &a, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                   curl_url_get(to, parts[i], &b, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                   strcasecmp(a, b) == 0;

        curl_free(a);
        curl_free(b);
        if (!same) {
            http_seterr(&x->resp,
                     "%s: %s answered %ld with a redirect to another %s: %s", x->req.system,
                     lurl, x->resp.status, i == 0 ? "scheme" : i == 1 ? "host" : "port",
                     log_q(location));
            goto out;
        }
    }
    if (x->hops >= HTTP_MAX_HOPS) {
        http_seterr(&x->resp, "%s: %s: more than %d redirects",
                 x->req.system, lurl, HTTP_MAX_HOPS);
        goto out;
    }
    if (curl_url_get(to, CURLUPART_URL, &s, 0) != CURLUE_OK) {
        http_seterr(&x->resp, "%s: %s: bad Location %s",
                 x->req.system, lurl, log_q(location));
        goto out;
    }
    *out = xstrdup(s);
    rc = 0;
out:
    curl_free(s);
    curl_url_cleanup(from);
    curl_url_cleanup(to);
    return rc;
}

/* http_hint_ms - the server's wait for a rate-limited answer (429, or 403
 * with x-ratelimit-remaining: 0): Retry-After, else x-ratelimit-reset
 * (epoch seconds); -1 when it names none. */
static long http_hint_ms(const struct http_resp *r)
{
    const char *ra = http_resp_header(r, "retry-after");
    const char *reset = http_resp_header(r, "x-ratelimit-reset");
    long ms;

    if (ra && (ms = http_retry_after_ms(ra)) >= 0)
        return ms;
    if (reset) {
        char *end;
        long long secs;

        errno = 0;
        secs = strtoll(reset, &end, 10);
        if (!errno && end != reset && *end == 0 && secs > 0 && secs < 100000000000LL) {
            int64_t d = (int64_t)secs * 1000 - wall_ms();
            return d < 0 ? 0 : d > 86400000 ? 86400000 : (long)d;
        }
    }
    return -1;
}

/* http_kind - the "kind" label of x's requests: its own, else its class's. */
static const char *http_kind(const struct http_xfer *x)
{
    static const char *const names[HTTP_PRIO_N] = { "other", "promotion", "poll" };

    return x->req.kind ? x->req.kind : names[x->req.prio];
}

/* http_metrics - count the attempt that just ended (docs/operations.md):
 * by system and status code or error name, and by system and kind; its
 * duration; the rate limit left, when the answer says. */
static void http_metrics(struct http_xfer *x, long status)
{
    const char *rem = http_resp_header(&x->resp, "x-ratelimit-remaining");
    curl_off_t us = 0;
    char code[24];

    metrics_inc2("promo_ci_requests_total", "system", x->req.system, "kind", http_kind(x));
    if (x->h)
        x->h->nsent++;
    snprintf(code, sizeof(code), "%ld", status);
    metrics_inc2("promo_http_requests_total", "system", x->req.system, "code",
                 x->resp.error == HTTP_OK ? code : http_error_name(x->resp.error));
    if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
        metrics_observe("promo_http_request_seconds", "system", x->req.system, (double)us / 1e6);
    if (rem && *rem >= '0' && *rem <= '9')
        metrics_set("promo_ratelimit_remaining", "system", x->req.system, strtod(rem, NULL));
}

/* http_xfer_outcome - decide what follows the transfer that just ended
 * with rc (x->easy still set): done (x->resp final), a retry after *delay_ms
 * (x->resp.attempts counted), or following a redirect (x->url updated).
 * Logs the transfer at debug level and each retry at warn. */
static enum http_next http_xfer_outcome(struct http_xfer *x, CURLcode rc, long *delay_ms)
{
    struct http_resp *r = &x->resp;
    const struct http_req *q = &x->req;
    char lurl[512];
    long status = 0, hint = -1;
    int retry, ratelimited = 0;
    const char *rem;

    *delay_ms = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;
    r->error = http_error_of(x, rc);
    http_url_for_log(x->url, lurl, sizeof(lurl));
    if (r->error != HTTP_OK) {
        const char *why = x->too_big == 1 ? "response larger than max_response" :
                          x->too_big == 2 ? "response headers too large" :
                          x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        http_seterr(r, "%s: %s %s: %s", q->system, x->method, lurl, why);
    }
    if (!r->body)
        r->body = xcalloc(1, 1);
    r->effective_url = xstrdup(x->url);
    log_debug("http", "system=%s method=%s url=%s status=%ld error=%s ms=%lld attempt=%d",
              log_q(q->system), log_q(x->method), log_q(lurl), status,
              http_error_name(r->error), (long long)(now_ms() - x->t0), r->attempts);
    http_metrics(x, status);

    if (r->error == HTTP_OK && !q->no_follow &&
        (status == 301 || status == 302 || status == 303 || status == 307 || status == 308)) {
        char *next;

        if (http_redirect(x, http_resp_header(r, "location"), &next) < 0) {
            r->error = HTTP_EREDIRECT;
            return HTTP_NEXT_DONE;
        }
        free(x->url);
        x->url = next;
        x->hops++;
        if (status == 303 && strcmp(x->method, "HEAD") != 0) {
            x->method = "GET";
            x->send_body = 0;
        }
        return HTTP_NEXT_FOLLOW;
    }

    rem = http_resp_header(r, "x-ratelimit-remaining");
    if (r->error == HTTP_OK && (status == 429 || (status == 403 && rem && strcmp(rem, "0") == 0))) {
        ratelimited = 1;
        hint = http_hint_ms(r);
    }
    retry = r->error == HTTP_ECONNECT || r->error == HTTP_ETIMEOUT ||
            (r->error == HTTP_OK && status >= 500 && status <= 599) || ratelimited;
    if (!retry || r->attempts > q->max_retries)
        return HTTP_NEXT_DONE;
    *delay_ms = hint >= 0 ? (hint < q->max_backoff_ms ? hint : q->max_backoff_ms)
                          : http_backoff_ms(r->attempts, HTTP_BACKOFF_BASE_MS, q->max_backoff_ms);
    metrics_inc("promo_http_retries_total", "system", q->system);
    log_warn("http_retry", "system=%s method=%s url=%s status=%ld error=%s attempt=%d delay_ms=%ld%s",
             log_q(q->system), log_q(x->method), log_q(lurl), status, http_error_name(r->error),
             r->attempts, *delay_ms, hint >= 0 ? " hint=1" : "");
    r->attempts++;
    return HTTP_NEXT_RETRY;
}

/* ---- the stage-loop driver ---- */

static void http_start_async(struct http_xfer *x);

/* http_watch_add - remember that fd is watched for curl. */
static void http_watch_add(struct http *h, int fd)
{
    int i;

    for (i = 0; i < h->nfds; i++)
        if (h->fds[i] == fd)
            return;
    if (h->nfds == h->capfds) {
        h->capfds = h->capfds ? h->capfds * 2 : 8;
        h->fds = xrealloc(h->fds, (size_t)h->capfds * sizeof(*h->fds));
    }
    h->fds[h->nfds++] = fd;
}

/* http_watch_del - fd is no longer watched for curl. */
static void http_watch_del(struct http *h, int fd)
{
    int i;

    for (i = 0; i < h->nfds; i++)
        if (h->fds[i] == fd) {
            h->fds[i] = h->fds[--h->nfds];
            return;
        }
}

/* http_unlink - take x out of h's list of requests in flight. */
static void http_unlink(struct http *h, struct http_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        h->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    h->ninflight--;
}

/* http_enter - a callback from the loop begins: h stays allocated. */
static void http_enter(struct http *h)
{
    h->depth++;
}

static void http_destroy(struct http *h);

/* http_leave - a callback from the loop ends: finish a deferred http_free. */
static void http_leave(struct http *h)
{
    if (--h->depth == 0 && h->dying)
        http_destroy(h);
}

/* http_complete - call x's done callback and free x (unless h is being
 * freed: then the callback is not called). */
static void http_complete(struct http_xfer *x)
{
    struct http *h = x->h;

    http_unlink(h, x);
    if (!h->dying && x->done)
        x->done(x->arg, &x->resp);
    else if (h->dying && x->req.abandon)
        x->req.abandon(x->arg);
    http_xfer_free(x);
}

/* http_on_later - a deferred completion or a retry is due. */
static void http_on_later(struct loop *l, void *arg)
{
    struct http_xfer *x = arg;
    struct http *h = x->h;

    x->tmr = NULL;
    http_enter(h);
    if (x->finish)
        http_complete(x);
    else
        http_start_async(x);
    http_leave(h);
}

/* http_fail_later - complete x (whose resp says why) from the loop, soon. */
static void http_fail_later(struct http_xfer *x)
{
    x->finish = 1;
    x->tmr = loop_after(x->h->loop, 0, http_on_later, x);
}

/* http_start_now - the next transfer of x on h's multi handle; a set-up
 * failure completes x from the loop. */
static void http_start_now(struct http_xfer *x)
{
    struct http *h = x->h;

    if (http_xfer_start(x) < 0) {
        http_fail_later(x);
        return;
    }
    if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        x->resp.error = HTTP_EINTERNAL;
        http_seterr(&x->resp, "%s: curl_multi_add_handle failed",
                 x->req.system);
        http_fail_later(x);
        return;
    }
    h->nactive++;
    x->polling = x->req.prio == HTTP_PRIO_POLL;
    h->npoll += x->polling;
}

/* http_slot_free - a transfer of class prio may start now: a slot is free
 * (for a poll, one of the HTTP_POLL_ACTIVE slots of polls). */
static int http_slot_free(const struct http *h, int prio)
{
    return h->nactive < h->max_active && (prio != HTTP_PRIO_POLL || h->npoll < HTTP_POLL_ACTIVE);
}

/* http_start_async - start x now when a slot is free and nothing of its
 * class waits, else queue it behind the others of its class; its timeouts
 * count from when it starts. */
static void http_start_async(struct http_xfer *x)
{
    struct http *h = x->h;
    int p = x->req.prio;

    if (http_slot_free(h, p) && !h->qhead[p] && (p == HTTP_PRIO_STEP || !h->qhead[HTTP_PRIO_STEP])) {
        http_start_now(x);
        return;
    }
    x->qnext = NULL;
    if (h->qtail[p])
        h->qtail[p]->qnext = x;
    else
        h->qhead[p] = x;
    h->qtail[p] = x;
}

/* http_pump - start waiting transfers while slots are free: promotion
 * steps first, then the others, polls last. */
static void http_pump(struct http *h)
{
    static const int order[] = { HTTP_PRIO_STEP, HTTP_PRIO_NORMAL, HTTP_PRIO_POLL };
    struct http_xfer *x;
    size_t i;

    for (i = 0; i < ARRAY_LEN(order); i++) {
        int p = order[i];

        while (!h->dying && http_slot_free(h, p) && (x = h->qhead[p]) != NULL) {
            h->qhead[p] = x->qnext;
            if (!h->qhead[p])
                h->qtail[p] = NULL;
            x->qnext = NULL;
            http_start_now(x);
        }
    }
}

/* http_stopped - x left the multi handle: its slot is free again. */
static void http_stopped(struct http *h, struct http_xfer *x)
{
    h->nactive--;
    if (x && x->polling)
        h->npoll--;
    if (x)
        x->polling = 0;
}

/* http_drain - collect finished transfers and act on each outcome. */
static void http_drain(struct http *h)
{
    CURLMsg *m;
    int left;

    while (!h->dying && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct http_xfer *x = NULL;
        CURLcode rc = m->data.result;
        CURL *e = m->easy_handle;
        enum http_next next;
        long delay;

        if (m->msg != CURLMSG_DONE)
            continue;
        {
            char *priv = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
            x = (struct http_xfer *)(void *)priv;
        }
        curl_multi_remove_handle(h->multi, e);
        http_stopped(h, x);
        if (!x) {
            curl_easy_cleanup(e);
            continue;
        }
        next = http_xfer_outcome(x, rc, &delay);
        curl_easy_cleanup(e);
        x->easy = NULL;
        if (next == HTTP_NEXT_DONE)
            http_complete(x);
        else if (next == HTTP_NEXT_FOLLOW)
            http_start_async(x);
        else
            x->tmr = loop_after(h->loop, delay, http_on_later, x);
    }
    http_pump(h);
}

/* http_on_fd - a curl socket is ready. */
static void http_on_fd(struct loop *l, int fd, short revents, void *arg)
{
    struct http *h = arg;
    int running, flags = 0;

    if (revents & LOOP_READ)
        flags |= CURL_CSELECT_IN;
    if (revents & LOOP_WRITE)
        flags |= CURL_CSELECT_OUT;
    if (revents & LOOP_ERROR)
        flags |= CURL_CSELECT_ERR;
    http_enter(h);
    curl_multi_socket_action(h->multi, fd, flags, &running);
    http_drain(h);
    http_leave(h);
}

/* http_on_timer - curl's timeout expired. */
static void http_on_timer(struct loop *l, void *arg)
{
    struct http *h = arg;
    int running;

    h->timer = NULL;
    http_enter(h);
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    http_drain(h);
    http_leave(h);
}

/* http_socket_cb - CURLMOPT_SOCKETFUNCTION: watch s in the stage loop. */
static int http_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct http *h = userp;
    short ev = 0;

    if (what == CURL_POLL_REMOVE) {
        loop_unwatch_fd(h->loop, s);
        http_watch_del(h, s);
        return 0;
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= LOOP_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= LOOP_WRITE;
    if (loop_watch_fd(h->loop, s, ev, http_on_fd, h) < 0)
        return -1;
    http_watch_add(h, s);
    return 0;
}

/* http_timer_cb - CURLMOPT_TIMERFUNCTION: one stage timer for curl. */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct http *h = userp;

    loop_cancel(h->loop, h->timer);
    h->timer = NULL;
    if (timeout_ms >= 0)
        h->timer = loop_after(h->loop, timeout_ms, http_on_timer, h);
    return 0;
}

/* http_new - a client in st's loop; NULL when curl cannot be set up. */
struct http *http_new(struct loop *l)
{
    struct http *h;

    if (http_init() < 0) {
        log_error("http_init_failed", "reason=curl_global_init");
        return NULL;
    }
    h = xcalloc(1, sizeof(*h));
    h->loop = l;
    h->max_active = HTTP_MAX_ACTIVE;
    if (!(h->multi = curl_multi_init())) {
        log_error("http_init_failed", "reason=curl_multi_init");
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_MAX_HOST_CONNS);
    return h;
}

/* http_destroy - free h now: transfers, timers, watched fds. */
static void http_destroy(struct http *h)
{
    struct http_xfer *x;
    int i;

    /* A waiting transfer leaves the FIFO only here or in http_pump: drop the
     * whole FIFO at once; each transfer is freed below, from h->xfers. */
    memset(h->qhead, 0, sizeof(h->qhead));
    memset(h->qtail, 0, sizeof(h->qtail));
    while ((x = h->xfers) != NULL) {
        http_unlink(h, x);
        loop_cancel(h->loop, x->tmr);
        if (x->easy) {
            curl_multi_remove_handle(h->multi, x->easy);
            curl_easy_cleanup(x->easy);
            http_stopped(h, x);
        }
        if (x->req.abandon)
            x->req.abandon(x->arg);
        http_xfer_free(x);
    }
    curl_multi_cleanup(h->multi);
    loop_cancel(h->loop, h->timer);
    for (i = 0; i < h->nfds; i++)
        loop_unwatch_fd(h->loop, h->fds[i]);
    free(h->fds);
    free(h);
}

/* http_free - cancel what is in flight (callbacks are not called) and
 * free; from inside a done callback the freeing waits for its return. */
void http_free(struct http *h)
{
    if (!h)
        return;
    h->dying = 1;
    if (h->depth == 0)
        http_destroy(h);
}

/* http_submit - copy req and start it; done is called once, from the loop. */
int http_submit(struct http *h, const struct http_req *req, http_done_fn done, void *arg)
{
    struct http_xfer *x = http_xfer_new(req);

    x->h = h;
    x->done = done;
    x->arg = arg;
    x->next = h->xfers;
    if (h->xfers)
        h->xfers->prev = x;
    h->xfers = x;
    h->ninflight++;
    if (x->resp.error != HTTP_OK) {
        http_fail_later(x);
        return -1;
    }
    http_start_async(x);
    return 0;
}

/* http_sent - attempts sent by h. */
uint64_t http_sent(const struct http *h)
{
    return h ? h->nsent : 0;
}

/* http_inflight - requests not yet completed, retries waiting included. */
int http_inflight(const struct http *h)
{
    return h ? h->ninflight : 0;
}

/* ---- the synchronous driver ---- */

/* http_sleep_ms - sleep ms, through EINTR. */
static void http_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* http_perform - the same rules, synchronously, on a private multi handle.
 * Returns resp->error; resp is the caller's to http_resp_free. */
int http_perform(const struct http_req *req, struct http_resp *resp)
{
    struct http_xfer *x = http_xfer_new(req);
    CURLM *multi = NULL;
    int err;

    if (x->resp.error == HTTP_OK && (http_init() < 0 || !(multi = curl_multi_init()))) {
        x->resp.error = HTTP_EINTERNAL;
        http_seterr(&x->resp, "%s: curl could not be set up",
                 x->req.system);
    }
    while (x->resp.error == HTTP_OK) {      /* once per transfer */
        CURLcode rc = CURLE_FAILED_INIT;
        CURLMsg *m;
        int running = 1, left;
        long delay;
        enum http_next next;

        if (http_xfer_start(x) < 0)
            break;
        if (curl_multi_add_handle(multi, x->easy) != CURLM_OK) {
            x->resp.error = HTTP_EINTERNAL;
            http_seterr(&x->resp, "%s: curl_multi_add_handle failed",
                     x->req.system);
            curl_easy_cleanup(x->easy);
            x->easy = NULL;
            break;
        }
        while (running) {
            if (curl_multi_perform(multi, &running) != CURLM_OK)
                break;
            if (running)
                curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
        while ((m = curl_multi_info_read(multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE && m->easy_handle == x->easy)
                rc = m->data.result;
        curl_multi_remove_handle(multi, x->easy);
        next = http_xfer_outcome(x, rc, &delay);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        if (next == HTTP_NEXT_DONE)
            break;
        if (next == HTTP_NEXT_RETRY)
            http_sleep_ms(delay);
        x->resp.error = HTTP_OK;
    }
    if (multi)
        curl_multi_cleanup(multi);
    *resp = x->resp;
    memset(&x->resp, 0, sizeof(x->resp));
    err = resp->error;
    http_xfer_free(x);
    return err;
}
