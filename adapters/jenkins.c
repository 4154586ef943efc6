/* jenkins.c - the Jenkins adapter: buildWithParameters with PROMO_KEY, the
 * queue item followed to its build, build status, lookup by key, cancel.
 *
 * A triggered run starts as a queue item: run.id is "" and run.api is the
 * queue item's api/json (from the Location of the 201, or of the 303 when
 * Jenkins merged the request with an identical queued one). status() on such
 * a run reads the queue item, and once it shows executable{number,url} it
 * reads the build and returns run.id = the build number, run.url = the build
 * URL and run.api = its api/json; callers persist what status() returns. A
 * queue item Jenkins has already forgotten (about 5 minutes after it left the
 * queue) is found again by key.
 *
 * Auth is HTTP Basic jenkins.user + the API token. A POST answered 403 gets
 * one retry with a CSRF crumb (GET /crumbIssuer/api/json, its session cookie
 * sent along); the crumb is cached for the process and refetched once when
 * Jenkins refuses it. Credentials are only sent to jenkins.url's origin: a
 * Location or build URL elsewhere is refused.
 *
 * Triggers are not retried by the HTTP client (a retried POST could start a
 * second build): a temporary error is returned, and the caller must look the
 * run up by key (find) before triggering again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define JENKINS_KEY_PARAM "PROMO_KEY"

/* The builds and queue items read when looking a run up by key. */
#define JENKINS_TREE_BUILDS \
    "builds%5Bnumber%2Curl%2Cresult%2Cbuilding%2Cduration%2CqueueId%2Cactions%5Bparameters%5Bname%2Cvalue%5D%5D%5D%7B0%2C50%7D"
#define JENKINS_TREE_QUEUE \
    "items%5Bid%2Curl%2Cactions%5Bparameters%5Bname%2Cvalue%5D%5D%5D"

enum jenkins_kind { JENKINS_TRIGGER, JENKINS_FIND, JENKINS_STATUS, JENKINS_CANCEL };

enum jenkins_step {
    JENKINS_STEP_POST,          /* buildWithParameters, cancelItem or stop */
    JENKINS_STEP_CRUMB,         /* crumbIssuer after a 403 */
    JENKINS_STEP_QUEUE_ITEM,    /* queue/item/N/api/json */
    JENKINS_STEP_BUILD,         /* build api/json */
    JENKINS_STEP_FIND_QUEUE,    /* queue/api/json */
    JENKINS_STEP_FIND_BUILDS,   /* job api/json?tree=builds */
};

/* The CSRF crumb of the process (one Jenkins per config). */
static struct {
    char base[512];
    char header[320];           /* "Jenkins-Crumb: ..." */
    char cookie[512];           /* "Cookie: JSESSIONID...=..." or "" */
} jenkins_crumb;

struct jenkins_op {
    enum jenkins_kind kind;
    enum jenkins_step step;
    struct http *http;
    char *base;                 /* jenkins.url without trailing slash */
    const char *user, *token;   /* from the config, which outlives the op */
    char *job_url;              /* base + /job/a/job/b */
    char *job;                  /* as given, for messages */
    char *key;
    char *post_url, *post_body;
    const char *post_ctype;
    int crumb_tried;
    struct adapter_run run;     /* the run given to status/cancel */
    struct adapter_result res;
    adapter_done_fn done;
    void *arg;
};

static void jenkins_on_resp(void *arg, const struct http_resp *resp);

/* jenkins_job_path - "a/b" -> "/job/a/job/b", each segment escaped; NULL when invalid. */
char *jenkins_job_path(const char *job)
{
    char *out = xstrdup(""), *seg, *e, *tmp;
    const char *p = job, *slash;
    size_t n;

    if (!job || !job[0])
        goto bad;
    for (;;) {
        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            goto bad;
        seg = xstrndup(p, n);
        e = adapter_escape(seg);
        tmp = xasprintf("%s/job/%s", out, e);
        free(seg);
        free(e);
        free(out);
        out = tmp;
        if (!slash)
            return out;
        p = slash + 1;
    }
bad:
    free(out);
    return NULL;
}

/* jenkins_form_body - name=value&...&PROMO_KEY=key, escaped. */
char *jenkins_form_body(const cJSON *params, const char *key, char *err, size_t errlen)
{
    char *out = xstrdup(""), *n, *v, *tmp;
    const cJSON *p;

    if (params && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: not an object");
        goto bad;
    }
    if (params)
        cJSON_ArrayForEach(p, params) {
            if (!p->string || !p->string[0]) {
                snprintf(err, errlen, "parameters: an empty parameter name");
                goto bad;
            }
            if (strcmp(p->string, JENKINS_KEY_PARAM) == 0) {
                snprintf(err, errlen, "parameter %s: reserved for the idempotency key", p->string);
                goto bad;
            }
            if (!cJSON_IsString(p)) {
                snprintf(err, errlen, "parameter %s: not a string", p->string);
                goto bad;
            }
            n = adapter_escape(p->string);
            v = adapter_escape(p->valuestring);
            tmp = xasprintf("%s%s=%s&", out, n, v);
            free(n);
            free(v);
            free(out);
            out = tmp;
        }
    v = adapter_escape(key);
    tmp = xasprintf("%s" JENKINS_KEY_PARAM "=%s", out, v);
    free(v);
    free(out);
    return tmp;
bad:
    free(out);
    return NULL;
}

/* jenkins_map_result - building true -> RUNNING; SUCCESS -> PASSED; UNSTABLE
 * (tests failed), FAILURE, NOT_BUILT -> FAILED; ABORTED -> CANCELLED; no
 * result yet -> RUNNING; anything else -> FAILED. */
enum run_status jenkins_map_result(int building, const char *result)
{
    if (building == 1 || !result || !result[0])
        return RUN_RUNNING;
    if (strcmp(result, "SUCCESS") == 0)
        return RUN_PASSED;
    if (strcmp(result, "ABORTED") == 0)
        return RUN_CANCELLED;
    /* UNSTABLE, FAILURE, NOT_BUILT, and whatever a plugin may invent. */
    return RUN_FAILED;
}

/* jenkins_api_of - url + "api/json" (a slash between) into api; -1 when too long. */
static int jenkins_api_of(const char *url, char *api, size_t size)
{
    size_t n = strlen(url);
    int w = snprintf(api, size, "%s%sapi/json", url, n && url[n - 1] == '/' ? "" : "/");

    return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* jenkins_url_ok - an absolute http(s) URL. */
static int jenkins_url_ok(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* jenkins_parse_build - a build object into run. */
int jenkins_parse_build(const cJSON *b, struct adapter_run *run, char *err, size_t errlen)
{
    char result[sizeof(run->detail)], url[sizeof(run->url)];
    int64_t number, duration;
    int building;

    if (!cJSON_IsObject(b)) {
        snprintf(err, errlen, "build: not an object");
        return -1;
    }
    if (adapter_json_int(b, "number", 1, &number, err, errlen) < 0
        || adapter_json_str(b, "url", 1, url, sizeof(url), err, errlen) < 0
        || adapter_json_bool(b, "building", 1, &building, err, errlen) < 0
        || adapter_json_str(b, "result", 0, result, sizeof(result), err, errlen) < 0
        || adapter_json_int(b, "duration", 0, &duration, err, errlen) < 0)
        return -1;
    if (number < 1) {
        snprintf(err, errlen, "field number: %lld is not a build number", (long long)number);
        return -1;
    }
    if (!jenkins_url_ok(url)) {
        snprintf(err, errlen, "field url: not an http(s) URL");
        return -1;
    }
    if (jenkins_api_of(url, run->api, sizeof(run->api)) < 0) {
        snprintf(err, errlen, "field url: too long");
        return -1;
    }
    snprintf(run->id, sizeof(run->id), "%lld", (long long)number);
    str_copy(run->url, url, sizeof(run->url));
    run->status = jenkins_map_result(building, result[0] ? result : NULL);
    str_copy(run->detail, building == 1 ? "building" : result[0] ? result : "no result", sizeof(run->detail));
    run->duration_ms = duration > 0 ? duration : 0;
    return 0;
}

/* jenkins_parse_queue_item - 0 queued, 1 left the queue (build known), 2 cancelled, -1. */
int jenkins_parse_queue_item(const cJSON *q, struct adapter_run *run, char *err, size_t errlen)
{
    const cJSON *ex, *why;
    char url[sizeof(run->url)];
    int64_t number;
    int cancelled;

    if (!cJSON_IsObject(q)) {
        snprintf(err, errlen, "queue item: not an object");
        return -1;
    }
    if (adapter_json_bool(q, "cancelled", 0, &cancelled, err, errlen) < 0)
        return -1;
    if (cancelled == 1) {
        run->status = RUN_CANCELLED;
        str_copy(run->detail, "queue item cancelled", sizeof(run->detail));
        return 2;
    }
    ex = cJSON_GetObjectItemCaseSensitive(q, "executable");
    if (ex && !cJSON_IsNull(ex)) {
        if (!cJSON_IsObject(ex)) {
            snprintf(err, errlen, "field executable: not an object");
            return -1;
        }
        if (adapter_json_int(ex, "number", 1, &number, err, errlen) < 0
            || adapter_json_str(ex, "url", 1, url, sizeof(url), err, errlen) < 0)
            return -1;
        if (number < 1 || !jenkins_url_ok(url)) {
            snprintf(err, errlen, "field executable: bad number or url");
            return -1;
        }
        if (jenkins_api_of(url, run->api, sizeof(run->api)) < 0) {
            snprintf(err, errlen, "field executable.url: too long");
            return -1;
        }
        snprintf(run->id, sizeof(run->id), "%lld", (long long)number);
        str_copy(run->url, url, sizeof(run->url));
        run->status = RUN_RUNNING;
        str_copy(run->detail, "started", sizeof(run->detail));
        return 1;
    }
    why = cJSON_GetObjectItemCaseSensitive(q, "why");
    if (why && !cJSON_IsNull(why) && !cJSON_IsString(why)) {
        snprintf(err, errlen, "field why: not a string");
        return -1;
    }
    run->status = RUN_QUEUED;
    str_copy(run->detail, cJSON_IsString(why) ? why->valuestring : "queued", sizeof(run->detail));
    return 0;
}

/* jenkins_params_have_key - actions[].parameters[] holds PROMO_KEY = key. */
int jenkins_params_have_key(const cJSON *item, const char *key, char *err, size_t errlen)
{
    const cJSON *actions, *a, *params, *p, *name, *value;

    if (!cJSON_IsObject(item)) {
        snprintf(err, errlen, "item: not an object");
        return -1;
    }
    actions = cJSON_GetObjectItemCaseSensitive(item, "actions");
    if (!actions || cJSON_IsNull(actions))
        return 0;
    if (!cJSON_IsArray(actions)) {
        snprintf(err, errlen, "field actions: not an array");
        return -1;
    }
    cJSON_ArrayForEach(a, actions) {
        if (cJSON_IsNull(a))
            continue;
        if (!cJSON_IsObject(a)) {
            snprintf(err, errlen, "field actions[]: not an object");
            return -1;
        }
        params = cJSON_GetObjectItemCaseSensitive(a, "parameters");
        if (!params || cJSON_IsNull(params))
            continue;
        if (!cJSON_IsArray(params)) {
            snprintf(err, errlen, "field actions[].parameters: not an array");
            return -1;
        }
        cJSON_ArrayForEach(p, params) {
            if (!cJSON_IsObject(p)) {
                snprintf(err, errlen, "field parameters[]: not an object");
                return -1;
            }
            name = cJSON_GetObjectItemCaseSensitive(p, "name");
            value = cJSON_GetObjectItemCaseSensitive(p, "value");
            if (!cJSON_IsString(name)) {
                snprintf(err, errlen, "field parameters[].name: not a string");
                return -1;
            }
            if (strcmp(name->valuestring, JENKINS_KEY_PARAM) == 0 && cJSON_IsString(value)
                && strcmp(value->valuestring, key) == 0)
                return 1;
        }
    }
    return 0;
}

/* jenkins_find_build - the build of job's builds[] that carries key. */
int jenkins_find_build(const cJSON *job, const char *key, struct adapter_run *run,
                       char *err, size_t errlen)
{
    const cJSON *builds, *b;
    int r;

    if (!cJSON_IsObject(job)) {
        snprintf(err, errlen, "job: not an object");
        return -1;
    }
    builds = cJSON_GetObjectItemCaseSensitive(job, "builds");
    if (!builds || cJSON_IsNull(builds))
        return 0;
    if (!cJSON_IsArray(builds)) {
        snprintf(err, errlen, "field builds: not an array");
        return -1;
    }
    cJSON_ArrayForEach(b, builds) {
        if ((r = jenkins_params_have_key(b, key, err, errlen)) < 0)
            return -1;
        if (r == 1) {
            memset(run, 0, sizeof(*run));
            return jenkins_parse_build(b, run, err, errlen) < 0 ? -1 : 1;
        }
    }
    return 0;
}

/* jenkins_find_queued - the queue item of items[] that carries key. */
int jenkins_find_queued(const cJSON *queue, const char *key, const char *base,
                        struct adapter_run *run, char *err, size_t errlen)
{
    const cJSON *items, *it;
    char url[sizeof(run->url)];
    int r, w;

    if (!cJSON_IsObject(queue)) {
        snprintf(err, errlen, "queue: not an object");
        return -1;
    }
    items = cJSON_GetObjectItemCaseSensitive(queue, "items");
    if (!items || cJSON_IsNull(items))
        return 0;
    if (!cJSON_IsArray(items)) {
        snprintf(err, errlen, "field items: not an array");
        return -1;
    }
    cJSON_ArrayForEach(it, items) {
        if ((r = jenkins_params_have_key(it, key, err, errlen)) < 0)
            return -1;
        if (r == 0)
            continue;
        if (adapter_json_str(it, "url", 1, url, sizeof(url), err, errlen) < 0)
            return -1;
        memset(run, 0, sizeof(*run));
        if (jenkins_url_ok(url)) {
            if (!adapter_same_origin(url, base)) {
                snprintf(err, errlen, "field url: not on %s", base);
                return -1;
            }
            str_copy(run->url, url, sizeof(run->url));
        } else {
            w = snprintf(run->url, sizeof(run->url), "%s/%s", base, url[0] == '/' ? url + 1 : url);
            if (w < 0 || (size_t)w >= sizeof(run->url)) {
                snprintf(err, errlen, "field url: too long");
                return -1;
            }
        }
        if (jenkins_queue_id(run->url) < 0 || jenkins_api_of(run->url, run->api, sizeof(run->api)) < 0) {
            snprintf(err, errlen, "field url: not a queue item URL");
            return -1;
        }
        run->status = RUN_QUEUED;
        str_copy(run->detail, "queued", sizeof(run->detail));
        return 1;
    }
    return 0;
}

/* jenkins_queue_id - N of ".../queue/item/N/...", or -1. */
long jenkins_queue_id(const char *url)
{
    const char *p = url ? strstr(url, "/queue/item/") : NULL;
    long n = 0;
    int digits = 0;

    if (!p)
        return -1;
    for (p += strlen("/queue/item/"); *p >= '0' && *p <= '9'; p++) {
        if (++digits > 15)
            return -1;
        n = n * 10 + (*p - '0');
    }
    if (digits == 0 || (*p && *p != '/'))
        return -1;
    return n;
}

/* jenkins_parse_crumb - {crumb, crumbRequestField} -> "Field: crumb". */
int jenkins_parse_crumb(const cJSON *o, char *header, size_t size, char *err, size_t errlen)
{
    char crumb[200], field[64];
    size_t i;
    int w;

    if (adapter_json_str(o, "crumb", 1, crumb, sizeof(crumb), err, errlen) < 0
        || adapter_json_str(o, "crumbRequestField", 1, field, sizeof(field), err, errlen) < 0)
        return -1;
    for (i = 0; field[i]; i++)
        if (!((field[i] >= 'A' && field[i] <= 'Z') || (field[i] >= 'a' && field[i] <= 'z')
              || (field[i] >= '0' && field[i] <= '9') || field[i] == '-' || field[i] == '_')) {
            snprintf(err, errlen, "field crumbRequestField: not a header name");
            return -1;
        }
    if (!field[0] || !crumb[0]) {
        snprintf(err, errlen, "crumb: empty");
        return -1;
    }
    w = snprintf(header, size, "%s: %s", field, crumb);
    if (w < 0 || (size_t)w >= size) {
        snprintf(err, errlen, "crumb: too long");
        return -1;
    }
    return 0;
}

/* jenkins_op_free - free the op (done is not called). */
static void jenkins_op_free(struct jenkins_op *op)
{
    free(op->base);
    free(op->job_url);
    free(op->job);
    free(op->key);
    free(op->post_url);
    free(op->post_body);
    free(op);
}

/* jenkins_op_abandon - the HTTP client was freed before the answer (the stage is
 * stopping): free the op without calling done. */
static void jenkins_op_abandon(void *arg)
{
    jenkins_op_free(arg);
}

/* jenkins_end - deliver the result and free the op. */
static void jenkins_end(struct jenkins_op *op)
{
    op->done(op->arg, &op->res);
    jenkins_op_free(op);
}

/* jenkins_fail_now - an op that cannot start: done is called from the loop. */
static int jenkins_fail_now(struct adapter_ctx *ctx, adapter_done_fn done, void *arg, const char *msg)
{
    struct adapter_result res;

    adapter_res_init(&res);
    adapter_res_error(&res, ADAPTER_EPERM, "%s", msg);
    adapter_finish_later(ctx->loop, &res, done, arg);
    return -1;
}

/* jenkins_op_new - an op for test t, or NULL after scheduling done with the error. */
static struct jenkins_op *jenkins_op_new(struct adapter_ctx *ctx, const struct adapter_test *t,
                                         enum jenkins_kind kind, adapter_done_fn done, void *arg)
{
    const struct config *c = ctx->cfg;
    struct jenkins_op *op;
    char *base, *path, msg[256];

    if (!(base = adapter_base_url(c->jenkins.url))) {
        jenkins_fail_now(ctx, done, arg, "jenkins: jenkins.url is not set or not an http(s) URL");
        return NULL;
    }
    if ((c->jenkins.user && c->jenkins.user[0]) != (c->jenkins.token && c->jenkins.token[0])) {
        free(base);
        jenkins_fail_now(ctx, done, arg, "jenkins: jenkins.user and jenkins.tokenFile go together");
        return NULL;
    }
    if (!(path = jenkins_job_path(t->job))) {
        free(base);
        snprintf(msg, sizeof(msg), "jenkins: job %s: not a job path like \"folder/job\"",
                 log_q(t->job ? t->job : ""));
        jenkins_fail_now(ctx, done, arg, msg);
        return NULL;
    }
    if (!t->key || !t->key[0]) {
        free(base);
        free(path);
        snprintf(msg, sizeof(msg), "jenkins: job %s: no idempotency key", log_q(t->job));
        jenkins_fail_now(ctx, done, arg, msg);
        return NULL;
    }
    op = xcalloc(1, sizeof(*op));
    op->kind = kind;
    op->http = ctx->http;
    op->base = base;
    op->user = c->jenkins.user && c->jenkins.user[0] ? c->jenkins.user : NULL;
    op->token = op->user ? c->jenkins.token : NULL;
    op->job_url = xasprintf("%s%s", base, path);
    op->job = xstrdup(t->job);
    op->key = xstrdup(t->key);
    op->done = done;
    op->arg = arg;
    adapter_res_init(&op->res);
    free(path);
    return op;
}

/* jenkins_req_init - the common parts of a request. */
static void jenkins_req_init(struct jenkins_op *op, struct http_req *req, const char *method,
                             const char *url)
{
    memset(req, 0, sizeof(*req));
    req->system = "jenkins";
    req->method = method;
    req->url = url;
    req->basic_user = op->user;
    req->basic_pass = op->token;
    req->max_retries = -1;
}

/* jenkins_get - GET url (on jenkins.url's origin) as the next step. */
static void jenkins_get(struct jenkins_op *op, const char *url, enum jenkins_step step)
{
    struct http_req req;

    if (!adapter_same_origin(url, op->base)) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s is not on jenkins.url %s", log_q(url),
                          op->base);
        jenkins_end(op);
        return;
    }
    op->step = step;
    jenkins_req_init(op, &req, "GET", url);
    req.headers[0] = "Accept: application/json";
    req.abandon = jenkins_op_abandon;
    http_submit(op->http, &req, jenkins_on_resp, op);
}

/* jenkins_post - POST op->post_url (with the cached crumb for this server). */
static void jenkins_post(struct jenkins_op *op)
{
    struct http_req req;
    char ctype[80];
    int h = 0;

    if (!adapter_same_origin(op->post_url, op->base)) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s is not on jenkins.url %s",
                          log_q(op->post_url), op->base);
        jenkins_end(op);
        return;
    }
    op->step = JENKINS_STEP_POST;
    jenkins_req_init(op, &req, "POST", op->post_url);
    req.body = op->post_body ? op->post_body : "";
    req.body_len = strlen(req.body);
    snprintf(ctype, sizeof(ctype), "Content-Type: %s", op->post_ctype ? op->post_ctype
             : "application/x-www-form-urlencoded");
    req.headers[h++] = ctype;
    req.headers[h++] = "Accept: application/json";
    if (jenkins_crumb.header[0] && strcmp(jenkins_crumb.base, op->base) == 0) {
        req.headers[h++] = jenkins_crumb.header;
        if (jenkins_crumb.cookie[0])
            req.headers[h++] = jenkins_crumb.cookie;
    }
    /* A trigger is never retried blindly: the caller finds by key first. */
    req.max_retries = op->kind == JENKINS_TRIGGER ? 0 : -1;
    /* Read the 303 to an existing queue item (and stop's 302) ourselves. */
    req.no_follow = 1;
    req.abandon = jenkins_op_abandon;
    http_submit(op->http, &req, jenkins_on_resp, op);
}

/* jenkins_http_error - an HTTP status that is not what the step wanted. */
static void jenkins_http_error(struct jenkins_op *op, const struct http_resp *resp, const char *what,
                               const char *if404)
{
    long s = resp->status;

    if (s >= 500 || s == 429) {
        adapter_retry_after(resp, &op->res);
        adapter_res_error(&op->res, ADAPTER_ETEMP, "jenkins: %s: HTTP %ld", what, s);
    } else if (s == 401 || s == 403) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: authentication failed (HTTP %ld)", what, s);
    } else if (s == 404) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: %s", what, if404);
    } else if (s == 400) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: job is not parameterized or the request is bad (HTTP 400)", what);
    } else if (s == 409) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: not buildable (HTTP 409)", what);
    } else {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: unexpected HTTP %ld", what, s);
    }
    jenkins_end(op);
}

/* jenkins_find_start - look the run up by key: the queue first, then the
 * builds (an item leaving the queue in between is then among the builds). */
static void jenkins_find_start(struct jenkins_op *op)
{
    char *url = xasprintf("%s/queue/api/json?tree=%s", op->base, JENKINS_TREE_QUEUE);

    jenkins_get(op, url, JENKINS_STEP_FIND_QUEUE);
    free(url);
}

/* jenkins_cancel_run - cancel what op->res.run now says: a queued item or a build. */
static void jenkins_cancel_run(struct jenkins_op *op)
{
    long qid;

    free(op->post_url);
    op->post_url = NULL;
    if (op->res.run.id[0]) {
        op->post_url = xasprintf("%s%sstop", op->res.run.url,
                                 op->res.run.url[0] && op->res.run.url[strlen(op->res.run.url) - 1] == '/' ? "" : "/");
    } else if ((qid = jenkins_queue_id(op->res.run.api)) >= 0) {
        op->post_url = xasprintf("%s/queue/cancelItem?id=%ld", op->base, qid);
    } else {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: job %s: run has neither a build nor a queue item",
                          log_q(op->job));
        jenkins_end(op);
        return;
    }
    jenkins_post(op);
}

/* jenkins_resolve - loc made absolute against base's origin when it is a
 * path ("/queue/item/3/"); heap. */
static char *jenkins_resolve(const char *base, const char *loc)
{
    const char *p = strstr(base, "://");
    size_t olen;

    if (loc[0] != '/' || !p)
        return xstrdup(loc);
    p += 3;
    olen = (size_t)(p - base) + strcspn(p, "/");
    return xasprintf("%.*s%s", (int)olen, base, loc);
}

/* jenkins_on_post - the answer to buildWithParameters, cancelItem or stop. */
static void jenkins_on_post(struct jenkins_op *op, const struct http_resp *resp)
{
    const char *loc;
    char what[160], *url, *q;

    snprintf(what, sizeof(what), "job %s: POST", log_q(op->job));
    if (resp->status == 403 && !op->crumb_tried) {
        /* Perhaps CSRF protection: fetch a crumb once and try again. */
        op->crumb_tried = 1;
        jenkins_crumb.header[0] = '\0';
        url = xasprintf("%s/crumbIssuer/api/json", op->base);
        jenkins_get(op, url, JENKINS_STEP_CRUMB);
        free(url);
        return;
    }
    if (op->kind == JENKINS_CANCEL) {
        if (resp->status >= 200 && resp->status < 400) {
            op->res.error = 0;
            jenkins_end(op);
        } else if (resp->status == 404) {
            /* The item left the queue or the build is gone: nothing left to stop here. */
            str_copy(op->res.errmsg, "jenkins: nothing to cancel (404)", sizeof(op->res.errmsg));
            jenkins_end(op);
        } else {
            jenkins_http_error(op, resp, what, "no such job or build");
        }
        return;
    }
    /* trigger: 201 (new item) or 303 (merged with an identical queued one) */
    loc = NULL;
    if (resp->status == 201 || resp->status == 303 || resp->status == 302)
        loc = http_resp_header(resp, "location");
    else if (resp->status == 200 && resp->effective_url && jenkins_queue_id(resp->effective_url) >= 0)
        loc = resp->effective_url;      /* a client that followed the 303 itself */
    if (!loc) {
        if (resp->status >= 200 && resp->status < 400) {
            adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: HTTP %ld without a queue item Location",
                              what, resp->status);
            jenkins_end(op);
        } else {
            jenkins_http_error(op, resp, what, "no such job");
        }
        return;
    }
    url = jenkins_resolve(op->base, loc);
    if ((q = strpbrk(url, "?#")))
        *q = '\0';
    memset(&op->res.run, 0, sizeof(op->res.run));
    if (!adapter_same_origin(url, op->base) || jenkins_queue_id(url) < 0
        || strlen(url) >= sizeof(op->res.run.url)
        || jenkins_api_of(url, op->res.run.api, sizeof(op->res.run.api)) < 0) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: Location %s is not a queue item on %s",
                          what, log_q(url), op->base);
        free(url);
        jenkins_end(op);
        return;
    }
    str_copy(op->res.run.url, url, sizeof(op->res.run.url));
    op->res.run.status = RUN_QUEUED;
    str_copy(op->res.run.detail, resp->status == 201 ? "queued" : "queued (merged)", sizeof(op->res.run.detail));
    log_info("adapter_triggered", "system=jenkins job=%s key=%s queue=%s", log_q(op->job), op->key,
             log_q(url));
    free(url);
    jenkins_end(op);
}

/* jenkins_on_crumb - the crumb issuer's answer: cache it and post again. */
static void jenkins_on_crumb(struct jenkins_op *op, const struct http_resp *resp)
{
    char err[200], header[sizeof(jenkins_crumb.header)];
    const char *cookie;
    cJSON *j;

    if (resp->status == 404) {
        adapter_res_error(&op->res, ADAPTER_EPERM,
                          "jenkins: job %s: authentication failed (HTTP 403, and no crumb issuer)", log_q(op->job));
        jenkins_end(op);
        return;
    }
    if (resp->status != 200) {
        jenkins_http_error(op, resp, "crumbIssuer", "no crumb issuer");
        return;
    }
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || jenkins_parse_crumb(j, header, sizeof(header), err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: crumbIssuer/api/json: %s", err);
        jenkins_end(op);
        return;
    }
    cJSON_Delete(j);
    str_copy(jenkins_crumb.base, op->base, sizeof(jenkins_crumb.base));
    str_copy(jenkins_crumb.header, header, sizeof(jenkins_crumb.header));
    jenkins_crumb.cookie[0] = '\0';
    if ((cookie = http_resp_header(resp, "set-cookie")) && strcspn(cookie, ";") < 400)
        snprintf(jenkins_crumb.cookie, sizeof(jenkins_crumb.cookie), "Cookie: %.*s",
                 (int)strcspn(cookie, ";"), cookie);
    jenkins_post(op);
}

/* jenkins_on_queue_item - a queue item: still queued, started, or cancelled. */
static void jenkins_on_queue_item(struct jenkins_op *op, const struct http_resp *resp)
{
    char err[200], what[600];
    cJSON *j;
    int r;

    snprintf(what, sizeof(what), "queue item %s", log_q(op->run.api));
    if (resp->status == 404) {
        /* Jenkins forgets left items after a few minutes: find the build by key. */
        jenkins_find_start(op);
        return;
    }
    if (resp->status != 200) {
        jenkins_http_error(op, resp, what, "no such queue item");
        return;
    }
    op->res.run = op->run;
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || (r = jenkins_parse_queue_item(j, &op->res.run, err, sizeof(err))) < 0) {
        cJSON_Delete(j);
        op->res.run = op->run;
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: %s", what, err);
        jenkins_end(op);
        return;
    }
    cJSON_Delete(j);
    if (op->kind == JENKINS_CANCEL) {
        if (r == 2)
            jenkins_end(op);
        else
            jenkins_cancel_run(op);
        return;
    }
    if (r == 1)
        jenkins_get(op, op->res.run.api, JENKINS_STEP_BUILD);
    else
        jenkins_end(op);
}

/* jenkins_on_build - a build's api/json. */
static void jenkins_on_build(struct jenkins_op *op, const struct http_resp *resp)
{
    char err[200], what[600];
    struct adapter_run run;
    cJSON *j;

    snprintf(what, sizeof(what), "build %s", log_q(op->res.run.api));
    if (resp->status != 200) {
        jenkins_http_error(op, resp, what, "no such build");
        return;
    }
    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))) || jenkins_parse_build(j, &run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: %s", what, err);
        jenkins_end(op);
        return;
    }
    cJSON_Delete(j);
    op->res.run = run;
    jenkins_end(op);
}

/* jenkins_on_find - the queue, then the job's builds, searched for the key. */
static void jenkins_on_find(struct jenkins_op *op, const struct http_resp *resp)
{
    char err[200], what[600], *url;
    struct adapter_run run;
    cJSON *j;
    int r;

    if (op->step == JENKINS_STEP_FIND_QUEUE)
        snprintf(what, sizeof(what), "queue/api/json");
    else
        snprintf(what, sizeof(what), "job %s api/json", log_q(op->job));
    if (resp->status != 200) {
        jenkins_http_error(op, resp, what, "no such job");
        return;
    }
    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))))
        r = -1;
    else if (op->step == JENKINS_STEP_FIND_QUEUE)
        r = jenkins_find_queued(j, op->key, op->base, &run, err, sizeof(err));
    else
        r = jenkins_find_build(j, op->key, &run, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: %s: %s", what, err);
        jenkins_end(op);
        return;
    }
    if (r == 0 && op->step == JENKINS_STEP_FIND_QUEUE) {
        url = xasprintf("%s/api/json?tree=%s", op->job_url, JENKINS_TREE_BUILDS);
        jenkins_get(op, url, JENKINS_STEP_FIND_BUILDS);
        free(url);
        return;
    }
    if (r == 1) {
        op->res.found = 1;
        op->res.run = run;
    }
    switch (op->kind) {
    case JENKINS_STATUS:
        if (!r) {
            op->res.run = op->run;
            adapter_res_error(&op->res, ADAPTER_EPERM,
                              "jenkins: job %s: queue item %s is gone and no recent build carries key %s",
                              log_q(op->job), log_q(op->run.api), op->key);
        }
        jenkins_end(op);
        break;
    case JENKINS_CANCEL:
        if (r == 1 && !run_status_final(run.status))
            jenkins_cancel_run(op);
        else
            jenkins_end(op);
        break;
    default:
        jenkins_end(op);
        break;
    }
}

/* jenkins_on_resp - the http callback: a transport failure ends the op, else the step decides. */
static void jenkins_on_resp(void *arg, const struct http_resp *resp)
{
    struct jenkins_op *op = arg;
    char what[200];

    snprintf(what, sizeof(what), "jenkins: job %s", log_q(op->job));
    if (adapter_http_failed(resp, what, &op->res)) {
        if (op->kind == JENKINS_STATUS || op->kind == JENKINS_CANCEL)
            op->res.run = op->run;
        jenkins_end(op);
        return;
    }
    switch (op->step) {
    case JENKINS_STEP_POST:
        jenkins_on_post(op, resp);
        break;
    case JENKINS_STEP_CRUMB:
        jenkins_on_crumb(op, resp);
        break;
    case JENKINS_STEP_QUEUE_ITEM:
        jenkins_on_queue_item(op, resp);
        break;
    case JENKINS_STEP_BUILD:
        jenkins_on_build(op, resp);
        break;
    case JENKINS_STEP_FIND_QUEUE:
    case JENKINS_STEP_FIND_BUILDS:
        jenkins_on_find(op, resp);
        break;
    }
}

/* jenkins_trigger - POST buildWithParameters with the parameters and PROMO_KEY. */
static int jenkins_trigger(struct adapter_ctx *ctx, const struct adapter_test *t,
                           adapter_done_fn done, void *arg)
{
    struct jenkins_op *op = jenkins_op_new(ctx, t, JENKINS_TRIGGER, done, arg);
    char err[200];

    if (!op)
        return -1;
    if (!(op->post_body = jenkins_form_body(t->params, t->key, err, sizeof(err)))) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "jenkins: job %s: %s", log_q(t->job), err);
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        jenkins_op_free(op);
        return -1;
    }
    op->post_url = xasprintf("%s/buildWithParameters", op->job_url);
    op->post_ctype = "application/x-www-form-urlencoded";
    jenkins_post(op);
    return 0;
}

/* jenkins_find - look the run up by PROMO_KEY: queued items, then the last 50 builds. */
static int jenkins_find(struct adapter_ctx *ctx, const struct adapter_test *t,
                        adapter_done_fn done, void *arg)
{
    struct jenkins_op *op = jenkins_op_new(ctx, t, JENKINS_FIND, done, arg);

    if (!op)
        return -1;
    jenkins_find_start(op);
    return 0;
}

/* jenkins_status - read the queue item (then the build), or the build. */
static int jenkins_status(struct adapter_ctx *ctx, const struct adapter_test *t,
                          const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct jenkins_op *op = jenkins_op_new(ctx, t, JENKINS_STATUS, done, arg);

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->api[0]) {
        jenkins_find_start(op);
        return 0;
    }
    if (!run->id[0])
        jenkins_get(op, run->api, JENKINS_STEP_QUEUE_ITEM);
    else
        jenkins_get(op, run->api, JENKINS_STEP_BUILD);
    return 0;
}

/* jenkins_cancel - a queued item: cancelItem (or stop, if it started since);
 * a build: POST stop. Cancelling what is gone or finished succeeds. */
static int jenkins_cancel(struct adapter_ctx *ctx, const struct adapter_test *t,
                          const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct jenkins_op *op = jenkins_op_new(ctx, t, JENKINS_CANCEL, done, arg);

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->api[0])
        jenkins_find_start(op);
    else if (!run->id[0])
        jenkins_get(op, run->api, JENKINS_STEP_QUEUE_ITEM);
    else
        jenkins_cancel_run(op);
    return 0;
}

const struct adapter adapter_jenkins = {
    .provider = "jenkins",
    .trigger = jenkins_trigger,
    .find = jenkins_find,
    .status = jenkins_status,
    .cancel = jenkins_cancel,
};
