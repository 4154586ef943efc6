/* adapter_call.c - the one request lifecycle of the HTTP CI adapters: a
 * call is made, checked, sent, answered and ended here; the providers
 * (jenkins.c, github.c, gitlab.c) only say which requests to send and how
 * to read the answers (see adapter_call.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapter_call.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/budget.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "util/loop.h"

/* adapter_call_free - free c (done is not called); the credentials are wiped. */
void adapter_call_free(struct adapter_call *c)
{
    memset(c->auth, 0, sizeof(c->auth));
    free(c->job);
    free(c->key);
    free(c->ref);
    free(c->base);
    free(c->home);
    free(c->url);
    free(c->body);
    free(c->data);
    free(c);
}

/* adapter_call_abandon - the HTTP client was freed before the answer (the
 * stage is stopping): free the call without calling done. */
static void adapter_call_abandon(void *arg)
{
    adapter_batch_abandon(arg);
    adapter_call_free(arg);
}

/* adapter_call_end - deliver the result and free the call. */
void adapter_call_end(struct adapter_call *c)
{
    c->done(c->arg, &c->res);
    adapter_call_free(c);
}

/* adapter_call_later - the timer that ends a call that could not start. */
static void adapter_call_later(struct loop *l, void *arg)
{
    adapter_call_end(arg);
}

/* adapter_call_end_later - end c from the loop. */
void adapter_call_end_later(struct adapter_call *c)
{
    loop_after(c->ctx.loop, 0, adapter_call_later, c);
}

/* adapter_call_vset - res->error and "provider: " + the message. */
static void adapter_call_vset(struct adapter_call *c, int error, const char *fmt, va_list ap)
{
    size_t n;

    n = (size_t)snprintf(c->res.errmsg, sizeof(c->res.errmsg), "%s: ", c->prov->name);
    if (n < sizeof(c->res.errmsg))
        vsnprintf(c->res.errmsg + n, sizeof(c->res.errmsg) - n, fmt, ap);
    c->res.error = error;
}

/* adapter_call_fail - end c with error and its message. */
void adapter_call_fail(struct adapter_call *c, int error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    adapter_call_vset(c, error, fmt, ap);
    va_end(ap);
    adapter_call_end(c);
}

/* adapter_call_fail_later - end c with ADAPTER_EPERM from the loop (it sent
 * nothing, and done must not run inside the call that started it); -1. */
static int adapter_call_fail_later(struct adapter_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int adapter_call_fail_later(struct adapter_call *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    adapter_call_vset(c, ADAPTER_EPERM, fmt, ap);
    va_end(ap);
    adapter_call_end_later(c);
    return -1;
}

/* adapter_call_id_ok - a numeric run id: 1..15 digits, not zero. */
static int adapter_call_id_ok(const char *id)
{
    size_t n = strspn(id, "0123456789");

    return n > 0 && n <= 15 && !id[n] && strspn(id, "0") < n;
}

/* adapter_call_budget_key - the key of c's credential: its system, the
 * origin (scheme, host, port) of its server and its credential header. */
static void adapter_call_budget_key(struct adapter_call *c)
{
    c->budget_key = budget_key_url(c->prov->system, c->base, c->auth);
}

/* adapter_call_first - the first request of a provider whose runs are
 * known by id: a run without one is looked up by key. */
static int adapter_call_first(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const struct adapter_provider *p = c->prov;

    if (c->kind == ADAPTER_TRIGGER)
        return p->trigger(c, t, err, errlen);
    if (c->kind == ADAPTER_FIND || !c->run.id[0])
        p->find(c);
    else if (c->kind == ADAPTER_CANCEL)
        p->cancel(c);
    else if (!adapter_batch_join(c))
        p->read(c);
    return 0;
}

/* adapter_call_start - make the call, let the provider check and start it. */
int adapter_call_start(const struct adapter_provider *p, enum adapter_kind kind,
                       struct adapter_ctx *ctx, const struct adapter_test *t,
                       const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct adapter_call *c = xcalloc(1, sizeof(*c));
    const char *ref = adapter_test_ref(t);
    char err[256];

    c->prov = p;
    c->kind = kind;
    c->ctx = *ctx;
    c->done = done;
    c->arg = arg;
    adapter_res_init(&c->res);
    if (run) {
        c->run = *run;
        c->res.run = *run;
    }
    if (p->data_size)
        c->data = xcalloc(1, p->data_size);
    snprintf(c->what, sizeof(c->what), "%s %s", p->noun, log_q(t->job ? t->job : ""));
    if (!t->key || !t->key[0])
        return adapter_call_fail_later(c, "%s: no idempotency key", c->what);
    if (p->open(c, t, err, sizeof(err)) < 0)
        return adapter_call_fail_later(c, "%s", err);
    adapter_call_budget_key(c);
    c->job = xstrdup(t->job);
    c->key = xstrdup(t->key);
    c->ref = ref ? xstrdup(ref) : NULL;
    c->fresh = t->fresh;
    if (run && p->run_noun && run->id[0] && !adapter_call_id_ok(run->id))
        return adapter_call_fail_later(c, "%s id %s is not a number", p->run_noun, log_q(run->id));
    if ((p->start ? p->start(c, t, err, sizeof(err)) : adapter_call_first(c, t, err, sizeof(err))) < 0)
        return adapter_call_fail_later(c, "%s: %s", c->what, err);
    return 0;
}

/* adapter_call_token - check a server URL and token; c->auth = header + token. */
char *adapter_call_token(struct adapter_call *c, const char *url, const char *url_name,
                         const char *token, const char *token_name, const char *header,
                         char *err, size_t errlen)
{
    char *base = adapter_base_url(url);

    if (!base)
        snprintf(err, errlen, "%s is not set or not an http(s) URL", url_name);
    else if (!token || !token[0])
        snprintf(err, errlen, "%s is not configured", token_name);
    else if (strlen(token) > 900)
        snprintf(err, errlen, "%s: the token is too long", token_name);
    else {
        snprintf(c->auth, sizeof(c->auth), "%s%s", header, token);
        return base;
    }
    free(base);
    return NULL;
}

/* adapter_req_header - append h to req's headers. */
void adapter_req_header(struct http_req *req, const char *h)
{
    int n = 0;

    while (n < HTTP_MAX_HEADERS - 1 && req->headers[n])
        n++;
    if (n < HTTP_MAX_HEADERS - 1)
        req->headers[n] = h;
}

/* adapter_call_observe - what an answer tells the request budget: its
 * rate-limit headers (when the provider has them and they are well formed),
 * and a 304 costs nothing. */
static void adapter_call_observe(struct adapter_call *c, const struct http_resp *resp)
{
    const char *const *h = c->prov->rate_headers;

    if (!c->ctx.budget || resp->error != HTTP_OK)
        return;
    if (budget_observe_headers(c->ctx.budget, c->budget_key, h[0] ? http_resp_header(resp, h[0]) : NULL,
                               h[0] ? http_resp_header(resp, h[1]) : NULL,
                               h[0] ? http_resp_header(resp, h[2]) : NULL, resp->status == 304))
        c->limited = 1;
}

/* adapter_call_defer - a poll the budget holds back: nothing asked, "not
 * modified, ask again in ms", from the loop. */
static void adapter_call_defer(struct adapter_call *c, int64_t ms)
{
    struct adapter_call *x = adapter_batch_release(c), *next;

    for (; x; x = next) {
        next = x->bnext;
        x->bnext = NULL;
        adapter_call_defer(x, ms);
    }
    c->res.not_modified = 1;
    c->res.deferred = 1;
    c->res.found = c->run.id[0] != 0;
    c->res.run = c->run;
    c->res.retry_after_ms = ms;
    log_debug("poll_deferred", "system=%s job=%s run=%s delay_ms=%lld", c->prov->system, log_q(c->job),
              log_q(c->run.id), (long long)ms);
    adapter_call_end_later(c);
}

/* adapter_call_answer - the http callback: a transport failure ends the
 * call (a status or cancel keeps the run it was given), else the provider reads it. */
static void adapter_call_answer(void *arg, const struct http_resp *resp)
{
    struct adapter_call *c = arg;
    char what[sizeof(c->what) + 40];

    adapter_call_observe(c, resp);
    if (c->step == ADAPTER_STEP_BATCH) {
        adapter_batch_answer(c, resp);
        return;
    }
    snprintf(what, sizeof(what), "%s: %s", c->prov->name, c->what);
    if (adapter_http_failed(resp, what, &c->res)) {
        if (c->kind == ADAPTER_STATUS || c->kind == ADAPTER_CANCEL)
            c->res.run = c->run;
        adapter_call_end(c);
        return;
    }
    c->prov->answer(c, resp);
}

/* adapter_call_per_hour - the configured requests an hour of c's provider, or 0. */
static int64_t adapter_call_per_hour(const struct adapter_call *c)
{
    if (!c->prov->rate_limit_off)
        return 0;
    return *(const int *)(const void *)((const char *)c->ctx.cfg + c->prov->rate_limit_off);
}

/* adapter_call_send - one request of c with the provider's headers (a
 * poll the budget holds back ends c instead, adapter_call_defer). */
void adapter_call_send(struct adapter_call *c, int step, const char *method, const char *url,
                       const char *body, int retries)
{
    const struct adapter_provider *p = c->prov;
    struct http_req req;
    int64_t wait;
    size_t i;

    c->step = step;
    if (c->ctx.budget) {
        wait = budget_take(c->ctx.budget, c->budget_key, p->system, adapter_call_per_hour(c),
                           c->kind == ADAPTER_STATUS ? BUDGET_POLL : BUDGET_OTHER);
        if (wait > 0) {
            adapter_call_defer(c, wait);
            return;
        }
    }
    memset(&req, 0, sizeof(req));
    req.system = p->system;
    req.prio = c->kind == ADAPTER_STATUS ? HTTP_PRIO_POLL : HTTP_PRIO_NORMAL;
    req.kind = step == ADAPTER_STEP_BATCH ? "batch" : c->kind == ADAPTER_STATUS ? "poll" : NULL;
    req.method = method;
    req.url = url;
    if (c->auth[0])
        adapter_req_header(&req, c->auth);
    for (i = 0; i < ARRAY_LEN(p->headers) && p->headers[i]; i++)
        adapter_req_header(&req, p->headers[i]);
    if (body && body[0] && p->content_type)
        adapter_req_header(&req, p->content_type);
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.max_retries = retries;
    req.abandon = adapter_call_abandon;
    if (p->request)
        p->request(c, &req);
    if (step == ADAPTER_STEP_BATCH && c->header[0])
        adapter_req_header(&req, c->header);     /* the batch's If-None-Match */
    http_submit(c->ctx.http, &req, adapter_call_answer, c);
}

/* adapter_call_sendf - adapter_call_send to the URL of fmt. */
void adapter_call_sendf(struct adapter_call *c, int step, const char *method, const char *body,
                        int retries, const char *fmt, ...)
{
    va_list ap;
    char *url;

    va_start(ap, fmt);
    if (vasprintf(&url, fmt, ap) < 0)
        log_fatal(EXIT_TEMP, "adapter_call_sendf", "reason=%s", log_q("out of memory"));
    va_end(ap);
    adapter_call_send(c, step, method, url, body, retries);
    free(url);
}

/* adapter_call_message - the "message" (else "error") of an error answer, or "". */
static void adapter_call_message(const struct http_resp *resp, char *buf, size_t size)
{
    char err[64], *txt;
    cJSON *j = adapter_body_json(resp, err, sizeof(err));
    const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;

    buf[0] = '\0';
    if (!m && j)
        m = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsString(m)) {
        snprintf(buf, size, "%s", log_q(m->valuestring));
    } else if (m && (txt = cJSON_PrintUnformatted(m))) {
        snprintf(buf, size, "%s", log_q(txt));
        free(txt);
    }
    cJSON_Delete(j);
}

/* adapter_call_http_error - end c for an unwanted HTTP status. */
void adapter_call_http_error(struct adapter_call *c, const struct http_resp *resp,
                             const char *what, const char *if404)
{
    const struct adapter_provider *p = c->prov;
    const struct adapter_http_word *w;
    long s = resp->status;
    char msg[160];

    adapter_call_message(resp, msg, sizeof(msg));
    if (p->rate_wait_ms > 0 && (s == 429 || (s == 403 && (c->limited || strstr(msg, "rate limit"))))) {
        if (c->res.retry_after_ms <= 0)
            c->res.retry_after_ms = p->rate_wait_ms;
        adapter_call_fail(c, ADAPTER_ETEMP, "%s: rate limited (HTTP %ld), retry in %lld ms", what, s,
                          (long long)c->res.retry_after_ms);
        return;
    }
    if (s >= 500 || s == 429) {
        adapter_retry_after(resp, &c->res);
        adapter_call_fail(c, ADAPTER_ETEMP, "%s: HTTP %ld", what, s);
        return;
    }
    if (s == 404 && if404) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", what, if404);
        return;
    }
    for (w = p->words; w && w->status; w++)
        if (w->status == s) {
            adapter_call_fail(c, ADAPTER_EPERM, "%s: %s (HTTP %ld)", what, w->text, s);
            return;
        }
    adapter_call_fail(c, ADAPTER_EPERM, "%s: HTTP %ld%s%s", what, s, msg[0] ? ": " : "", msg);
}

/* adapter_call_json - the body as JSON, or NULL after ending c. */
cJSON *adapter_call_json(struct adapter_call *c, const struct http_resp *resp, const char *what)
{
    char err[200];
    cJSON *j = adapter_body_json(resp, err, sizeof(err));

    if (!j)
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", what, err);
    return j;
}

/* adapter_call_run - the body decoded into run by parse. */
int adapter_call_run(struct adapter_call *c, const struct http_resp *resp, const char *what,
                     int (*parse)(const cJSON *, struct adapter_run *, char *, size_t),
                     struct adapter_run *run)
{
    char err[200];
    cJSON *j;
    int r;

    if (!(j = adapter_call_json(c, resp, what)))
        return -1;
    r = parse(j, run, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", what, err);
        return -1;
    }
    if (c->prov->run_path)
        snprintf(run->api, sizeof(run->api), "%s%s%s", c->base, c->prov->run_path, run->id);
    return 0;
}

/* adapter_call_triggered - the end of a trigger that knows its run. */
void adapter_call_triggered(struct adapter_call *c, const struct adapter_run *run)
{
    c->res.found = 1;
    c->res.run = *run;
    log_info("adapter_triggered", "system=%s job=%s key=%s run=%s url=%s", c->prov->system, log_q(c->job),
             c->key, log_q(run->id), log_q(run->url));
    adapter_call_end(c);
}

/* adapter_call_found - the end of a lookup by key. */
void adapter_call_found(struct adapter_call *c, const struct adapter_run *run)
{
    if (!run) {
        c->res.found = 0;
        if (c->prov->not_found)
            c->prov->not_found(c);
        adapter_call_end(c);
        return;
    }
    c->res.found = 1;
    c->res.run = *run;
    if (c->kind == ADAPTER_CANCEL && !run_status_final(run->status)) {
        c->prov->cancel(c);
        return;
    }
    adapter_call_end(c);
}
