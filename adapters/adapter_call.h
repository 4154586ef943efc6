/* adapter_call.h - the one request lifecycle of the CI adapters that speak
 * HTTP (jenkins.c, github.c, gitlab.c).
 *
 * An operation of struct adapter (trigger, find, status, cancel) is a call:
 * adapter_call_start() allocates it, checks the test has an idempotency
 * key, lets the provider check its config and the job (open), then lets it
 * send its first request (trigger, find, read or cancel; or start). Each
 * answer comes back here first: a transport failure (no HTTP answer) ends
 * the call with ADAPTER_ETEMP or ADAPTER_EPERM, anything else goes to the
 * provider's answer hook, which either sends the next request or ends the
 * call. Errors found before a request could be sent end the call from the
 * loop (a 0 ms timer), so done is never called from inside the call that
 * started it.
 *
 * So a provider is a struct adapter_provider: its checks, its endpoints (the
 * first requests and those of answer), its reading of answers and its
 * status mapping. What every provider shares is here once: the headers of
 * each request (credentials, Accept, Content-Type), the HTTP error mapping
 * (adapter_call_http_error, with the provider's words), a lookup by key
 * ending in adapter_call_found, and the deferred completion.
 * docs/hacking.md, "Add a CI provider", walks through a new one. */
#ifndef PROMO_ADAPTER_CALL_H
#define PROMO_ADAPTER_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"

struct http_req;
struct http_resp;
struct adapter_call;

/* The four operations of struct adapter. */
enum adapter_kind { ADAPTER_TRIGGER, ADAPTER_FIND, ADAPTER_STATUS, ADAPTER_CANCEL };

/* The step of a batch's list request (adapter_batch.c), apart from the
 * providers' own steps (0 and up). */
#define ADAPTER_STEP_BATCH (-1)
#define ADAPTER_BATCH_PAGE 100      /* runs in one list (batch_url asks for this many) */

struct adapter_batch;

/* One HTTP status a provider words its own way (adapter_call_http_error):
 * the message is "provider: what: TEXT (HTTP status)", always ADAPTER_EPERM. */
struct adapter_http_word {
    long status;
    const char *text;
};

/* A CI provider behind the lifecycle. */
struct adapter_provider {
    const char *name;           /* provider name: the first word of every message */
    const char *system;         /* http_req.system: logs and metrics */
    const char *noun;           /* what a job is called in messages: "job", "workflow", "project" */
    const char *run_noun;       /* what a run id is called ("pipeline"): ids of status and cancel
                                 * must then be 1..15 digits; NULL: not checked */
    const char *run_path;       /* base + run_path + id is a run's api (adapter_call_run), or NULL */
    const char *headers[4];     /* sent with every request, after the credentials; NULL-ended */
    const char *content_type;   /* the header of a request with a non-empty body, or NULL */
    int64_t rate_wait_ms;       /* > 0: the provider has rate limits (a 429, or a 403 that says
                                 * so): ADAPTER_ETEMP, waiting at least this long without a hint */
    const struct adapter_http_word *words;  /* 4xx statuses worded by the provider; 0-ended */
    const char *rate_headers[3];  /* the limit, remaining and reset (epoch s) headers of its
                                 * answers, fed to the request budget; NULL: none */
    size_t rate_limit_off;      /* offsetof(struct config, X.rate_limit): its configured
                                 * requests an hour (util/budget.h); 0: none */
    /* batch_url - the list request (heap) that may answer the status of
     * c->run together with other runs (a workflow's runs, a job's builds,
     * a project's pipelines), or NULL: c is read alone. May be NULL. */
    char *(*batch_url)(struct adapter_call *c);
    /* batch_list - each run of a list answer j to add(arg, run): 0, or -1
     * with the reason in err (the list is then not used). */
    int (*batch_list)(const cJSON *j, void (*add)(void *arg, const struct adapter_run *run), void *arg,
                      char *err, size_t errlen);
    size_t data_size;           /* bytes of the provider's own state of a call (c->data, zeroed;
                                 * freed with the call: it must not own memory) */
    /* open - check the config and the test and set the call up (base, auth,
     * what the provider keeps); 0, or -1 with the reason in err. */
    int (*open)(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen);
    /* The first request of each operation, for a provider whose runs are
     * known by their id: trigger sends the run's creation (0, or -1 with
     * the reason in err: the call then ends with ADAPTER_EPERM "provider:
     * what: err"); find starts a lookup by key (a find, or a status or
     * cancel of a run without an id); read reads c->run; cancel (below)
     * cancels it. */
    int (*trigger)(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen);
    void (*find)(struct adapter_call *c);
    void (*read)(struct adapter_call *c);
    /* start - instead of the above, send the first request of c->kind
     * (Jenkins: a run starts as a queue item); 0, or -1 as trigger. */
    int (*start)(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen);
    /* answer - an HTTP answer to the request of c->step: send the next
     * request, or end the call (adapter_call_end, _fail, _http_error, _found). */
    void (*answer)(struct adapter_call *c, const struct http_resp *resp);
    /* cancel - cancel the run in c->res.run (given, or found by key). */
    void (*cancel)(struct adapter_call *c);
    /* not_found - a lookup found no run (adapter_call_found): set c->res. May be NULL. */
    void (*not_found)(struct adapter_call *c);
    /* request - last touches to a request before it is sent (headers of
     * one step, basic auth, redirects). May be NULL. */
    void (*request)(struct adapter_call *c, struct http_req *req);
};

/* One operation in flight. */
struct adapter_call {
    const struct adapter_provider *prov;
    enum adapter_kind kind;
    int step;                   /* the provider's name for the request in flight */
    struct adapter_ctx ctx;
    char what[200];             /* "project 'group/app'": names the job in messages */
    char *job, *key;            /* of the test */
    char *ref;                  /* adapter_test_ref(), or NULL */
    char *base;                 /* the provider's root URL for this call */
    char *home;                 /* a second URL the provider keeps (GitHub's workflow, Jenkins' job) */
    char *url;                  /* a URL kept between steps (Jenkins' POST, sent again with a crumb) */
    char *body;                 /* a request body kept between steps */
    char auth[1024];            /* the credential header, or "": a secret, wiped */
    char header[640];           /* a header the request hook built for the request in flight */
    int limited;                /* the last answer said the rate limit is exhausted */
    int tries;                  /* the provider's count (Jenkins: crumb asked) */
    uint64_t budget_key;        /* the credential's request budget (util/budget.h) */
    int fresh;                  /* the test's fresh: never answered from a list */
    struct adapter_batch *batch;    /* the batch whose list request c sends, or NULL */
    struct adapter_call *bnext; /* in the batch's calls waiting for that list */
    void *data;                 /* the provider's own state (data_size bytes), or NULL */
    struct adapter_run run;     /* status and cancel: the run given */
    struct adapter_result res;
    adapter_done_fn done;
    void *arg;
};

/* adapter_call_start - the operation kind of provider p: 0 when its first
 * request was sent, -1 when it could not start (done is then called from
 * the loop with the error). run is the run of status and cancel, else NULL. */
int adapter_call_start(const struct adapter_provider *p, enum adapter_kind kind,
                       struct adapter_ctx *ctx, const struct adapter_test *t,
                       const struct adapter_run *run, adapter_done_fn done, void *arg);

/* adapter_call_token - for open: the base URL (heap, no trailing slash) of
 * a server whose token goes in a header. url (named url_name in messages)
 * must be http(s), token (token_name) set and at most 900 bytes; c->auth
 * becomes header + token. NULL with the reason in err. */
char *adapter_call_token(struct adapter_call *c, const char *url, const char *url_name,
                         const char *token, const char *token_name, const char *header,
                         char *err, size_t errlen);

/* adapter_call_send - send a request of c as step: the credentials, the
 * provider's headers, Content-Type when body is not empty, then the request
 * hook. body may be NULL; retries is http_req.max_retries (0 for a request
 * that must never be repeated blindly, -1 the default). */
void adapter_call_send(struct adapter_call *c, int step, const char *method, const char *url,
                       const char *body, int retries);

/* adapter_call_sendf - adapter_call_send to the URL printed by fmt. */
void adapter_call_sendf(struct adapter_call *c, int step, const char *method, const char *body,
                        int retries, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* adapter_call_end - call done with c->res and free c. */
void adapter_call_end(struct adapter_call *c);

/* adapter_call_fail - end c with error and "provider: " + the message. */
void adapter_call_fail(struct adapter_call *c, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* adapter_call_http_error - end c for an HTTP status its step did not want:
 * rate limited (a provider with rate limits: 429, or 403 when c->limited or
 * its message says "rate limit"), 5xx and 429 are ADAPTER_ETEMP (with
 * Retry-After); if404 (or the provider's word) words a 404; the provider's
 * words the statuses they list; any other is ADAPTER_EPERM with the
 * answer's "message" (or "error"). */
void adapter_call_http_error(struct adapter_call *c, const struct http_resp *resp,
                             const char *what, const char *if404);

/* adapter_call_json - the answer's body as JSON, or NULL after ending c
 * with ADAPTER_EPERM "provider: what: reason". */
cJSON *adapter_call_json(struct adapter_call *c, const struct http_resp *resp, const char *what);

/* adapter_call_run - the answer's body decoded by parse into run (which
 * parse may start from), and run->api = base + run_path + id when the
 * provider has a run_path: 0, or -1 after ending c with ADAPTER_EPERM
 * "provider: what: reason". */
int adapter_call_run(struct adapter_call *c, const struct http_resp *resp, const char *what,
                     int (*parse)(const cJSON *, struct adapter_run *, char *, size_t),
                     struct adapter_run *run);

/* adapter_call_triggered - a trigger answered with run: found = 1, the run
 * in res, logged (adapter_triggered), and c ended. */
void adapter_call_triggered(struct adapter_call *c, const struct adapter_run *run);

/* adapter_call_found - a lookup by key ended: run found (found = 1, the run
 * in res; a cancel whose run is not final goes on to the provider's cancel),
 * or NULL: found = 0 and the provider's not_found. Ends c, unless it cancels. */
void adapter_call_found(struct adapter_call *c, const struct adapter_run *run);

/* ADAPTER_CALL_DEFINE - define struct adapter NAME of provider PNAME whose
 * four operations are calls of the lifecycle with provider P (a struct
 * adapter_provider): all a provider file needs to end with. */
#define ADAPTER_CALL_DEFINE(NAME, PNAME, P)                                                  \
    static int NAME##_trigger(struct adapter_ctx *x, const struct adapter_test *t,          \
                              adapter_done_fn d, void *a)                                   \
    { return adapter_call_start(&(P), ADAPTER_TRIGGER, x, t, NULL, d, a); }                  \
    static int NAME##_find(struct adapter_ctx *x, const struct adapter_test *t,             \
                           adapter_done_fn d, void *a)                                      \
    { return adapter_call_start(&(P), ADAPTER_FIND, x, t, NULL, d, a); }                     \
    static int NAME##_status(struct adapter_ctx *x, const struct adapter_test *t,           \
                             const struct adapter_run *r, adapter_done_fn d, void *a)       \
    { return adapter_call_start(&(P), ADAPTER_STATUS, x, t, r, d, a); }                      \
    static int NAME##_cancel(struct adapter_ctx *x, const struct adapter_test *t,           \
                             const struct adapter_run *r, adapter_done_fn d, void *a)       \
    { return adapter_call_start(&(P), ADAPTER_CANCEL, x, t, r, d, a); }                      \
    const struct adapter NAME = { PNAME, NAME##_trigger, NAME##_find, NAME##_status, NAME##_cancel }

/* adapter_batch_join - (adapter_batch.c) a status read of a run with an
 * id: answered from the provider's list (a fresh one, the one in flight,
 * or a new one c sends) and read alone (the provider's read) when the
 * list does not show it. 0 when the provider does not batch c. */
int adapter_batch_join(struct adapter_call *c);

/* adapter_batch_answer - the answer to the list request of c's batch:
 * every call waiting for it is answered (or read alone). */
void adapter_batch_answer(struct adapter_call *c, const struct http_resp *resp);

/* adapter_batch_release - c, a batch's sender, sent nothing after all: the
 * list is free again; the reads that joined meanwhile are returned (a
 * bnext chain) for the caller to end as it ends c. */
struct adapter_call *adapter_batch_release(struct adapter_call *c);

/* adapter_batch_abandon - c, a batch's sender, is abandoned (the HTTP
 * client was freed): the calls waiting for its list are freed too. */
void adapter_batch_abandon(struct adapter_call *c);

/* adapter_call_free - free c (done is not called); the credentials are wiped. */
void adapter_call_free(struct adapter_call *c);

/* adapter_call_later - end c (its res as set) from the loop: done is never
 * called inside the call that started it. */
void adapter_call_end_later(struct adapter_call *c);

/* adapter_req_header - append header h to req (silently dropped when full). */
void adapter_req_header(struct http_req *req, const char *h);

#endif
