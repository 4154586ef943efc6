/* http.h - the one HTTP client of promo: libcurl's multi interface, bounded and quiet about secrets.
 *
 * Every request is asynchronous and runs inside an event loop (util/loop.h):
 * the sockets libcurl asks for are watched with loop_watch_fd() and its
 * timer with loop_after(), so a program still waits in exactly one place.
 * A synchronous http_perform() exists for command-line tools (promoctl) and
 * tests.
 *
 * Rules applied to every request:
 *  - http:// and https:// only (CURLOPT_PROTOCOLS_STR), TLS verification on;
 *  - redirects are followed only to the same scheme, host and port, at most 3;
 *  - connect timeout and total timeout (defaults 5 s and 30 s);
 *  - the response body is capped (default 4 MiB; larger -> HTTP_ETOOBIG);
 *  - retries with exponential backoff and full jitter on connection errors,
 *    timeouts, 5xx and 429 (Retry-After honoured, capped at max_backoff_ms),
 *    up to max_retries; a 403 with x-ratelimit-remaining: 0 is a rate limit
 *    too (waits for Retry-After or x-ratelimit-reset); any other 4xx is never
 *    retried;
 *  - the Authorization header, basic-auth credentials and PRIVATE-TOKEN never
 *    reach a log line (tokens are also registered with log_secret()). */
#ifndef PROMO_HTTP_H
#define PROMO_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct loop;

#define HTTP_MAX_HEADERS 16

/* Errors in http_resp.error (0 when an HTTP answer arrived). */
enum http_error {
    HTTP_OK = 0,
    HTTP_ECONNECT,      /* DNS, refused, reset, TLS: infrastructure */
    HTTP_ETIMEOUT,      /* connect or total timeout */
    HTTP_ETOOBIG,       /* response larger than max_response */
    HTTP_EREDIRECT,     /* redirect to another host or scheme refused */
    HTTP_EBADURL,       /* not http(s), or malformed */
    HTTP_EINTERNAL,     /* curl could not be set up */
};

/* The priority class of a request (http_req.prio): who waits when slots
 * are short. A step of a promotion (the promoter's requests, the monitor's
 * Argo CD revision check) starts before anything else that waits; a poll
 * of a test's status waits behind everything, and polls never hold more
 * than HTTP_POLL_ACTIVE transfers at once, so that a step always finds a
 * connection to its host free (curl keeps at most HTTP_MAX_HOST_CONNS per
 * host: polls leave HTTP_MAX_HOST_CONNS - HTTP_POLL_ACTIVE of them). */
enum http_prio { HTTP_PRIO_NORMAL = 0, HTTP_PRIO_STEP, HTTP_PRIO_POLL, HTTP_PRIO_N };
#define HTTP_MAX_HOST_CONNS 16        /* per client and host: connections reused */
#define HTTP_POLL_ACTIVE    12        /* polls on the wire at once, per client */

struct http_req {
    const char *system;          /* "jenkins", "github", "gitlab", "argocd": logs and metrics */
    const char *method;          /* "GET", "POST", "PATCH", "DELETE", "PUT" */
    const char *url;
    const char *headers[HTTP_MAX_HEADERS];   /* "Name: value", NULL-terminated */
    const char *body;            /* may be NULL */
    size_t body_len;
    const char *basic_user;      /* HTTP Basic auth, or NULL */
    const char *basic_pass;      /* a secret */
    long connect_timeout_ms;     /* 0: 5000 */
    long timeout_ms;             /* 0: 30000 */
    size_t max_response;         /* 0: 4 MiB */
    int max_retries;             /* 0: no retry; -1: the default (4) */
    long max_backoff_ms;         /* 0: 30000 */
    int prio;                    /* enum http_prio (0: normal) */
    const char *kind;            /* a static string: the "kind" of promo_ci_requests_total
                                  * ("poll", "batch", "promotion"...); NULL: from prio */
    int no_follow;               /* 1: hand a 3xx answer back as it is (status and
                                  * its Location header) instead of following it,
                                  * e.g. Jenkins' 303 to an existing queue item */
    /* abandon - called with the done callback's arg instead of done when the
     * client is freed (http_free) before the request completed, so the owner
     * can free what arg holds. May be NULL. */
    void (*abandon)(void *arg);
};

struct http_header {
    char *name;                  /* lowercased */
    char *value;                 /* trimmed */
};

struct http_resp {
    int error;                   /* enum http_error */
    char errmsg[256];
    long status;                 /* HTTP status, 0 when none */
    char *body;                  /* NUL-terminated, may hold len bytes */
    size_t len;
    struct http_header *headers; /* of the final answer */
    size_t nheaders;
    int attempts;                /* 1 + retries done */
    char *effective_url;
};

/* http_resp_header - the value of header name (case-insensitive), or NULL. */
const char *http_resp_header(const struct http_resp *r, const char *name);
void http_resp_free(struct http_resp *r);

/* The completion callback: resp is valid only during the call. */
typedef void (*http_done_fn)(void *arg, const struct http_resp *resp);

struct http;

/* http_new - a client that runs inside loop l. */
struct http *http_new(struct loop *l);
/* http_free - cancel what is in flight (done callbacks are not called; each
 * request's abandon hook is) and free. */
void http_free(struct http *h);
/* http_submit - start req (copied: the caller's strings may go away). done is
 * called exactly once, from the loop, never from inside http_submit.
 * Returns 0, or -1 when the request cannot even be built (bad URL: then done
 * is still called, with error HTTP_EBADURL). */
int http_submit(struct http *h, const struct http_req *req, http_done_fn done, void *arg);
/* http_inflight - requests not yet completed (including those waiting to retry). */
int http_inflight(const struct http *h);

/* http_sent - the attempts h has sent (each retry and redirect counts). */
uint64_t http_sent(const struct http *h);

/* http_perform - the same rules, synchronously. Returns resp->error. */
int http_perform(const struct http_req *req, struct http_resp *resp);

/* http_backoff_ms - the delay before retry number attempt (1-based):
 * min(cap, base * 2^(attempt-1)) scaled by a random factor in [0.5, 1]. */
long http_backoff_ms(int attempt, long base_ms, long cap_ms);

/* http_retry_after_ms - a Retry-After value (seconds or an HTTP date) in ms, or -1. */
long http_retry_after_ms(const char *value);

#endif
