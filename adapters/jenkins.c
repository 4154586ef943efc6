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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapter_call.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define JENKINS_KEY_PARAM "PROMO_KEY"

/* The builds and queue items read when looking a run up by key. */
#define JENKINS_TREE_BUILDS \
    "builds%5Bnumber%2Curl%2Cresult%2Cbuilding%2Cduration%2CqueueId%2Cactions%5Bparameters%5Bname%2Cvalue%5D%5D%5D%7B0%2C50%7D"
/* The builds of a job whose status reads share one request (adapter_batch.c). */
#define JENKINS_TREE_BATCH \
    "builds%5Bnumber%2Curl%2Cresult%2Cbuilding%2Cduration%5D%7B0%2C100%7D"
#define JENKINS_TREE_QUEUE \
    "items%5Bid%2Curl%2Cactions%5Bparameters%5Bname%2Cvalue%5D%5D%5D"

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
    char *out, *n, *v, *tmp;
    const cJSON *p;

    if (adapter_params_check(params, JENKINS_KEY_PARAM, 0, NULL, err, errlen) < 0)
        return NULL;
    out = xstrdup("");
    cJSON_ArrayForEach(p, params) {
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
    const cJSON *actions, *a, *params;
    int r;

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
        /* Any value: boolean and number parameters are not the key. */
        if ((r = adapter_json_pairs_have(params, "actions[].parameters", "name", JENKINS_KEY_PARAM, key, 1,
                                         err, errlen)) != 0)
            return r;
    }
    return 0;
}

/* jenkins_builds - job's builds[] into *builds (NULL when missing or
 * null): 0, or -1 when job is not an object or builds not an array. */
static int jenkins_builds(const cJSON *job, const cJSON **builds, char *err, size_t errlen)
{
    if (!cJSON_IsObject(job)) {
        snprintf(err, errlen, "job: not an object");
        return -1;
    }
    *builds = cJSON_GetObjectItemCaseSensitive(job, "builds");
    if (*builds && cJSON_IsNull(*builds))
        *builds = NULL;
    if (*builds && !cJSON_IsArray(*builds)) {
        snprintf(err, errlen, "field builds: not an array");
        return -1;
    }
    return 0;
}

/* jenkins_find_build - the build of job's builds[] that carries key. */
int jenkins_find_build(const cJSON *job, const char *key, struct adapter_run *run,
                       char *err, size_t errlen)
{
    const cJSON *builds, *b;
    int r;

    if (jenkins_builds(job, &builds, err, errlen) < 0)
        return -1;
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

/* jenkins_batch_list - each build of a job's builds[] to add. */
int jenkins_batch_list(const cJSON *job, void (*add)(void *arg, const struct adapter_run *run), void *arg,
                       char *err, size_t errlen)
{
    const cJSON *builds;

    if (jenkins_builds(job, &builds, err, errlen) < 0)
        return -1;
    return adapter_each_run(builds, jenkins_parse_build, add, arg, err, errlen);
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

/* jenkins_open - check the config and the job; jenkins.url and the job's URL. */
static int jenkins_open(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const struct config *cfg = c->ctx.cfg;
    char *path;

    if (!(c->base = adapter_base_url(cfg->jenkins.url))) {
        snprintf(err, errlen, "jenkins.url is not set or not an http(s) URL");
        return -1;
    }
    if ((cfg->jenkins.user && cfg->jenkins.user[0]) != (cfg->jenkins.token && cfg->jenkins.token[0])) {
        snprintf(err, errlen, "jenkins.user and jenkins.tokenFile go together");
        return -1;
    }
    if (!(path = jenkins_job_path(t->job))) {
        snprintf(err, errlen, "job %s: not a job path like \"folder/job\"", log_q(t->job ? t->job : ""));
        return -1;
    }
    c->home = xasprintf("%s%s", c->base, path);
    free(path);
    return 0;
}

/* jenkins_request - every request: HTTP Basic (when configured). A POST:
 * its form type and the cached crumb for this server, and its 303 to an
 * existing queue item (and stop's 302) handed back, not followed. */
static void jenkins_request(struct adapter_call *c, struct http_req *req)
{
    const struct config *cfg = c->ctx.cfg;

    req->basic_user = cfg->jenkins.user && cfg->jenkins.user[0] ? cfg->jenkins.user : NULL;
    req->basic_pass = req->basic_user ? cfg->jenkins.token : NULL;
    if (strcmp(req->method, "POST") != 0)
        return;
    adapter_req_header(req, "Content-Type: application/x-www-form-urlencoded");
    if (jenkins_crumb.header[0] && strcmp(jenkins_crumb.base, c->base) == 0) {
        adapter_req_header(req, jenkins_crumb.header);
        if (jenkins_crumb.cookie[0])
            adapter_req_header(req, jenkins_crumb.cookie);
    }
    req->no_follow = 1;
}

/* jenkins_get - GET url (on jenkins.url's origin: credentials go nowhere else) as step. */
static void jenkins_get(struct adapter_call *c, const char *url, enum jenkins_step step)
{
    if (!adapter_same_origin(url, c->base)) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s is not on jenkins.url %s", log_q(url), c->base);
        return;
    }
    adapter_call_send(c, step, "GET", url, NULL, -1);
}

/* jenkins_post - POST c->url. A trigger is never retried blindly: the
 * caller finds by key first. */
static void jenkins_post(struct adapter_call *c)
{
    if (!adapter_same_origin(c->url, c->base)) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s is not on jenkins.url %s", log_q(c->url), c->base);
        return;
    }
    adapter_call_send(c, JENKINS_STEP_POST, "POST", c->url, c->body ? c->body : "",
                      c->kind == ADAPTER_TRIGGER ? 0 : -1);
}

/* jenkins_find_start - look the run up by key: the queue first, then the
 * builds (an item leaving the queue in between is then among the builds). */
static void jenkins_find_start(struct adapter_call *c)
{
    char *url = xasprintf("%s/queue/api/json?tree=%s", c->base, JENKINS_TREE_QUEUE);

    jenkins_get(c, url, JENKINS_STEP_FIND_QUEUE);
    free(url);
}

/* jenkins_cancel_run - cancel what c->res.run now says: a queued item or a build. */
static void jenkins_cancel_run(struct adapter_call *c)
{
    const struct adapter_run *r = &c->res.run;
    long qid;

    free(c->url);
    c->url = NULL;
    if (r->id[0]) {
        c->url = xasprintf("%s%sstop", r->url, r->url[0] && r->url[strlen(r->url) - 1] == '/' ? "" : "/");
    } else if ((qid = jenkins_queue_id(r->api)) >= 0) {
        c->url = xasprintf("%s/queue/cancelItem?id=%ld", c->base, qid);
    } else {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: run has neither a build nor a queue item", c->what);
        return;
    }
    jenkins_post(c);
}

/* jenkins_read - GET a build's api/json (a status read alone). */
static void jenkins_read(struct adapter_call *c)
{
    jenkins_get(c, c->run.api, JENKINS_STEP_BUILD);
}

/* jenkins_batch_url - the job's newest ADAPTER_BATCH_PAGE builds in one
 * tree= query: the status reads of every build of that job. */
static char *jenkins_batch_url(struct adapter_call *c)
{
    return xasprintf("%s/api/json?tree=%s", c->home, JENKINS_TREE_BATCH);
}

/* jenkins_start - the first request of each operation. A run without
 * api/json is looked up by key; one with it is read (or cancelled) there,
 * on jenkins.url's origin only. */
static int jenkins_start(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const char *at = c->kind == ADAPTER_CANCEL && c->run.id[0] ? c->run.url : c->run.api;

    if (c->kind == ADAPTER_TRIGGER) {
        if (!(c->body = jenkins_form_body(t->params, t->key, err, errlen)))
            return -1;
        c->url = xasprintf("%s/buildWithParameters", c->home);
        jenkins_post(c);
    } else if (c->kind == ADAPTER_FIND || !c->run.api[0]) {
        jenkins_find_start(c);
    } else if (!adapter_same_origin(at, c->base)) {
        snprintf(err, errlen, "%s is not on jenkins.url %s", log_q(at), c->base);
        return -1;
    } else if (!c->run.id[0]) {
        jenkins_get(c, c->run.api, JENKINS_STEP_QUEUE_ITEM);
    } else if (c->kind == ADAPTER_STATUS) {
        if (!adapter_batch_join(c))
            jenkins_read(c);
    } else {
        jenkins_cancel_run(c);
    }
    return 0;
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
static void jenkins_on_post(struct adapter_call *c, const struct http_resp *resp)
{
    struct adapter_run *run = &c->res.run;
    const char *loc;
    char what[sizeof(c->what) + 8], *url, *q;

    snprintf(what, sizeof(what), "%s: POST", c->what);
    if (resp->status == 403 && !c->tries) {
        /* Perhaps CSRF protection: fetch a crumb once and try again. */
        c->tries = 1;
        jenkins_crumb.header[0] = '\0';
        url = xasprintf("%s/crumbIssuer/api/json", c->base);
        jenkins_get(c, url, JENKINS_STEP_CRUMB);
        free(url);
        return;
    }
    if (c->kind == ADAPTER_CANCEL) {
        if (resp->status >= 200 && resp->status < 400) {
            c->res.error = 0;
            adapter_call_end(c);
        } else if (resp->status == 404) {
            /* The item left the queue or the build is gone: nothing left to stop here. */
            str_copy(c->res.errmsg, "jenkins: nothing to cancel (404)", sizeof(c->res.errmsg));
            adapter_call_end(c);
        } else {
            adapter_call_http_error(c, resp, what, "no such job or build");
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
        if (resp->status >= 200 && resp->status < 400)
            adapter_call_fail(c, ADAPTER_EPERM, "%s: HTTP %ld without a queue item Location", what,
                              resp->status);
        else
            adapter_call_http_error(c, resp, what, "no such job");
        return;
    }
    url = jenkins_resolve(c->base, loc);
    if ((q = strpbrk(url, "?#")))
        *q = '\0';
    memset(run, 0, sizeof(*run));
    if (!adapter_same_origin(url, c->base) || jenkins_queue_id(url) < 0 || strlen(url) >= sizeof(run->url)
        || jenkins_api_of(url, run->api, sizeof(run->api)) < 0) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: Location %s is not a queue item on %s", what, log_q(url),
                          c->base);
        free(url);
        return;
    }
    str_copy(run->url, url, sizeof(run->url));
    run->status = RUN_QUEUED;
    str_copy(run->detail, resp->status == 201 ? "queued" : "queued (merged)", sizeof(run->detail));
    free(url);
    adapter_call_triggered(c, run);
}

/* jenkins_on_crumb - the crumb issuer's answer: cache it and post again. */
static void jenkins_on_crumb(struct adapter_call *c, const struct http_resp *resp)
{
    char err[200], header[sizeof(jenkins_crumb.header)];
    const char *cookie;
    cJSON *j;

    if (resp->status == 404) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: authentication failed (HTTP 403, and no crumb issuer)",
                          c->what);
        return;
    }
    if (resp->status != 200) {
        adapter_call_http_error(c, resp, "crumbIssuer", "no crumb issuer");
        return;
    }
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || jenkins_parse_crumb(j, header, sizeof(header), err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_call_fail(c, ADAPTER_EPERM, "crumbIssuer/api/json: %s", err);
        return;
    }
    cJSON_Delete(j);
    str_copy(jenkins_crumb.base, c->base, sizeof(jenkins_crumb.base));
    str_copy(jenkins_crumb.header, header, sizeof(jenkins_crumb.header));
    jenkins_crumb.cookie[0] = '\0';
    if ((cookie = http_resp_header(resp, "set-cookie")) && strcspn(cookie, ";") < 400)
        snprintf(jenkins_crumb.cookie, sizeof(jenkins_crumb.cookie), "Cookie: %.*s",
                 (int)strcspn(cookie, ";"), cookie);
    jenkins_post(c);
}

/* jenkins_on_queue_item - a queue item: still queued, started, or cancelled. */
static void jenkins_on_queue_item(struct adapter_call *c, const struct http_resp *resp)
{
    char err[200], what[600];
    cJSON *j;
    int r;

    snprintf(what, sizeof(what), "queue item %s", log_q(c->run.api));
    if (resp->status == 404) {
        /* Jenkins forgets left items after a few minutes: find the build by key. */
        jenkins_find_start(c);
        return;
    }
    if (resp->status != 200) {
        adapter_call_http_error(c, resp, what, "no such queue item");
        return;
    }
    c->res.run = c->run;
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || (r = jenkins_parse_queue_item(j, &c->res.run, err, sizeof(err))) < 0) {
        cJSON_Delete(j);
        c->res.run = c->run;
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", what, err);
        return;
    }
    cJSON_Delete(j);
    if (c->kind == ADAPTER_CANCEL && r != 2) {
        jenkins_cancel_run(c);
    } else if (c->kind == ADAPTER_STATUS && r == 1) {
        c->run = c->res.run;            /* the build: read with the job's other builds */
        if (!adapter_batch_join(c))
            jenkins_read(c);
    } else if (c->kind != ADAPTER_CANCEL && r == 1) {
        jenkins_get(c, c->res.run.api, JENKINS_STEP_BUILD);
    } else {
        adapter_call_end(c);
    }
}

/* jenkins_on_build - a build's api/json. */
static void jenkins_on_build(struct adapter_call *c, const struct http_resp *resp)
{
    struct adapter_run run = { .status = RUN_UNKNOWN };
    char what[600];

    snprintf(what, sizeof(what), "build %s", log_q(c->res.run.api));
    if (resp->status != 200) {
        adapter_call_http_error(c, resp, what, "no such build");
    } else if (adapter_call_run(c, resp, what, jenkins_parse_build, &run) == 0) {
        c->res.run = run;
        adapter_call_end(c);
    }
}

/* jenkins_on_find - the queue, then the job's builds, searched for the key. */
static void jenkins_on_find(struct adapter_call *c, const struct http_resp *resp)
{
    char err[200], what[600], *url;
    struct adapter_run run;
    cJSON *j;
    int r;

    if (c->step == JENKINS_STEP_FIND_QUEUE)
        snprintf(what, sizeof(what), "queue/api/json");
    else
        snprintf(what, sizeof(what), "%s api/json", c->what);
    if (resp->status != 200) {
        adapter_call_http_error(c, resp, what, "no such job");
        return;
    }
    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))))
        r = -1;
    else if (c->step == JENKINS_STEP_FIND_QUEUE)
        r = jenkins_find_queued(j, c->key, c->base, &run, err, sizeof(err));
    else
        r = jenkins_find_build(j, c->key, &run, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", what, err);
    } else if (r == 0 && c->step == JENKINS_STEP_FIND_QUEUE) {
        url = xasprintf("%s/api/json?tree=%s", c->home, JENKINS_TREE_BUILDS);
        jenkins_get(c, url, JENKINS_STEP_FIND_BUILDS);
        free(url);
    } else {
        adapter_call_found(c, r == 1 ? &run : NULL);
    }
}

/* jenkins_not_found - a status whose queue item is gone and whose build no lookup finds. */
static void jenkins_not_found(struct adapter_call *c)
{
    if (c->kind != ADAPTER_STATUS)
        return;
    c->res.run = c->run;
    adapter_res_error(&c->res, ADAPTER_EPERM, "jenkins: %s: queue item %s is gone and no recent build carries key %s",
                      c->what, log_q(c->run.api), c->key);
}

/* jenkins_answer - the answer to each step. */
static void jenkins_answer(struct adapter_call *c, const struct http_resp *resp)
{
    switch (c->step) {
    case JENKINS_STEP_POST:
        jenkins_on_post(c, resp);
        break;
    case JENKINS_STEP_CRUMB:
        jenkins_on_crumb(c, resp);
        break;
    case JENKINS_STEP_QUEUE_ITEM:
        jenkins_on_queue_item(c, resp);
        break;
    case JENKINS_STEP_BUILD:
        jenkins_on_build(c, resp);
        break;
    case JENKINS_STEP_FIND_QUEUE:
    case JENKINS_STEP_FIND_BUILDS:
        jenkins_on_find(c, resp);
        break;
    }
}

static const struct adapter_http_word jenkins_words[] = {
    { 400, "job is not parameterized or the request is bad" },
    { 401, "authentication failed" },
    { 403, "authentication failed" },
    { 409, "not buildable" },
    { 0, NULL },
};

static const struct adapter_provider jenkins_provider = {
    .name = "jenkins",
    .system = "jenkins",
    .noun = "job",
    .headers = { "Accept: application/json" },
    .words = jenkins_words,
    .rate_limit_off = offsetof(struct config, jenkins.rate_limit),
    .batch_url = jenkins_batch_url,
    .batch_list = jenkins_batch_list,
    .open = jenkins_open,
    .start = jenkins_start,
    .read = jenkins_read,
    .answer = jenkins_answer,
    .cancel = jenkins_cancel_run,
    .not_found = jenkins_not_found,
    .request = jenkins_request,
};

ADAPTER_CALL_DEFINE(adapter_jenkins, "jenkins", jenkins_provider);
