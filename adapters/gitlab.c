/* gitlab.c - the GitLab CI adapter: create a pipeline with the key in the
 * variable PROMO_KEY, read its status, find it again by key, cancel it.
 *
 * The job is the project: a numeric id, or its path "group/sub/project"
 * (sent URL-encoded, "group%2Fsub%2Fproject"). Auth is the PRIVATE-TOKEN
 * header with gitlab.tokenFile's token. The ref is the policy's "ref"
 * parameter when it gives one, else the tracker's head ref (a bare SHA
 * cannot start a pipeline); every other parameter becomes an env_var
 * variable, and PROMO_KEY = the idempotency key is added.
 *
 * Finding a pipeline by key lists the 20 newest API-created pipelines of the
 * ref and reads their variables one by one until PROMO_KEY matches, then
 * reads that pipeline. Creating a pipeline is never retried blindly (a
 * second POST is a second pipeline): a temporary error is returned, and the
 * caller must find by key before creating again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define GITLAB_KEY_VAR "PROMO_KEY"
#define GITLAB_FIND_MAX 20

enum gitlab_kind { GITLAB_TRIGGER, GITLAB_FIND, GITLAB_STATUS, GITLAB_CANCEL };
enum gitlab_step { GITLAB_STEP_CREATE, GITLAB_STEP_LIST, GITLAB_STEP_VARS, GITLAB_STEP_PIPELINE,
                   GITLAB_STEP_CANCEL };

struct gitlab_op {
    enum gitlab_kind kind;
    enum gitlab_step step;
    struct http *http;
    char auth[1024];            /* "PRIVATE-TOKEN: ..." (a secret) */
    char *proj_url;             /* {gitlab.url}/api/v4/projects/{id} */
    char *job;
    char *key;
    char *ref;                  /* NULL when none */
    char *body;
    int64_t ids[GITLAB_FIND_MAX];   /* find: candidate pipelines */
    int nids, next;
    struct adapter_run run;     /* the run given to status/cancel */
    struct adapter_result res;
    adapter_done_fn done;
    void *arg;
};

static void gitlab_on_resp(void *arg, const struct http_resp *resp);

/* gitlab_project_id - numeric id as is, a path URL-encoded; NULL when invalid. */
char *gitlab_project_id(const char *job)
{
    size_t i, seg = 0, nseg = 0;
    int digits = 1;

    if (!job || !job[0] || strlen(job) > 255)
        return NULL;
    for (i = 0; job[i]; i++)
        if (job[i] < '0' || job[i] > '9')
            digits = 0;
    if (digits)
        return job[0] == '0' ? NULL : xstrdup(job);
    for (i = 0;; i++) {
        char c = job[i];
        if (c == '/' || c == '\0') {
            if (seg == 0 || (seg == 1 && job[i - 1] == '.') || (seg == 2 && job[i - 1] == '.' && job[i - 2] == '.'))
                return NULL;
            nseg++;
            seg = 0;
            if (!c)
                break;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return NULL;
        seg++;
    }
    if (nseg < 2)
        return NULL;
    return adapter_escape(job);
}

/* gitlab_map_status - created, waiting_for_resource, preparing, pending,
 * scheduled -> QUEUED; running -> RUNNING; manual -> RUNNING (waits on a
 * person; the monitor's timeout applies); success -> PASSED; failed,
 * skipped -> FAILED; canceled, canceling -> CANCELLED; anything else -> FAILED. */
enum run_status gitlab_map_status(const char *status)
{
    static const struct { const char *name; enum run_status st; } map[] = {
        { "created", RUN_QUEUED },
        { "waiting_for_resource", RUN_QUEUED },
        { "preparing", RUN_QUEUED },
        { "pending", RUN_QUEUED },
        { "scheduled", RUN_QUEUED },
        { "running", RUN_RUNNING },
        { "manual", RUN_RUNNING },
        { "success", RUN_PASSED },
        { "failed", RUN_FAILED },
        { "skipped", RUN_FAILED },
        { "canceled", RUN_CANCELLED },
        { "canceling", RUN_CANCELLED },
    };
    size_t i;

    if (!status)
        return RUN_FAILED;
    for (i = 0; i < ARRAY_LEN(map); i++)
        if (strcmp(status, map[i].name) == 0)
            return map[i].st;
    return RUN_FAILED;
}

/* gitlab_parse_pipeline - a pipeline object into run (api untouched). */
int gitlab_parse_pipeline(const cJSON *o, struct adapter_run *run, char *err, size_t errlen)
{
    char status[40], url[sizeof(run->url)];
    const cJSON *d;
    int64_t id;

    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "pipeline: not an object");
        return -1;
    }
    if (adapter_json_int(o, "id", 1, &id, err, errlen) < 0
        || adapter_json_str(o, "status", 1, status, sizeof(status), err, errlen) < 0
        || adapter_json_str(o, "web_url", 1, url, sizeof(url), err, errlen) < 0)
        return -1;
    if (id < 1) {
        snprintf(err, errlen, "field id: not a pipeline id");
        return -1;
    }
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "field web_url: not an http(s) URL");
        return -1;
    }
    d = cJSON_GetObjectItemCaseSensitive(o, "duration");
    if (d && !cJSON_IsNull(d) && (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble < 1e9))) {
        snprintf(err, errlen, "field duration: not a number of seconds");
        return -1;
    }
    snprintf(run->id, sizeof(run->id), "%lld", (long long)id);
    str_copy(run->url, url, sizeof(run->url));
    run->status = gitlab_map_status(status);
    str_copy(run->detail, status, sizeof(run->detail));
    run->duration_ms = cJSON_IsNumber(d) ? (int64_t)(d->valuedouble * 1000) : 0;
    return 0;
}

/* gitlab_pipeline_ids - the ids of a pipelines list (at most max). */
int gitlab_pipeline_ids(const cJSON *list, int64_t *ids, int max, char *err, size_t errlen)
{
    const cJSON *p;
    int64_t id;
    int n = 0;

    if (!cJSON_IsArray(list)) {
        snprintf(err, errlen, "pipelines: not an array");
        return -1;
    }
    cJSON_ArrayForEach(p, list) {
        if (!cJSON_IsObject(p)) {
            snprintf(err, errlen, "pipelines[]: not an object");
            return -1;
        }
        if (adapter_json_int(p, "id", 1, &id, err, errlen) < 0)
            return -1;
        if (id < 1) {
            snprintf(err, errlen, "field id: not a pipeline id");
            return -1;
        }
        if (n < max)
            ids[n++] = id;
    }
    return n;
}

/* gitlab_variables_have_key - [{key, value}] holds PROMO_KEY = key. */
int gitlab_variables_have_key(const cJSON *vars, const char *key, char *err, size_t errlen)
{
    const cJSON *v, *k, *val;

    if (!cJSON_IsArray(vars)) {
        snprintf(err, errlen, "variables: not an array");
        return -1;
    }
    cJSON_ArrayForEach(v, vars) {
        if (!cJSON_IsObject(v)) {
            snprintf(err, errlen, "variables[]: not an object");
            return -1;
        }
        k = cJSON_GetObjectItemCaseSensitive(v, "key");
        val = cJSON_GetObjectItemCaseSensitive(v, "value");
        if (!cJSON_IsString(k)) {
            snprintf(err, errlen, "field variables[].key: not a string");
            return -1;
        }
        if (val && !cJSON_IsNull(val) && !cJSON_IsString(val)) {
            snprintf(err, errlen, "field variables[].value: not a string");
            return -1;
        }
        if (strcmp(k->valuestring, GITLAB_KEY_VAR) == 0 && cJSON_IsString(val)
            && strcmp(val->valuestring, key) == 0)
            return 1;
    }
    return 0;
}

/* gitlab_var_name_ok - a CI/CD variable name: [A-Za-z0-9_]+. */
static int gitlab_var_name_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* gitlab_add_var - append {key, value, variable_type: env_var} to vars. */
static void gitlab_add_var(cJSON *vars, const char *key, const char *value)
{
    cJSON *v = cJSON_CreateObject();

    cJSON_AddStringToObject(v, "key", key);
    cJSON_AddStringToObject(v, "value", value);
    cJSON_AddStringToObject(v, "variable_type", "env_var");
    cJSON_AddItemToArray(vars, v);
}

/* gitlab_create_body - {ref, variables}. */
char *gitlab_create_body(const cJSON *params, const char *key, const char *ref,
                         char *err, size_t errlen)
{
    cJSON *o, *vars;
    const cJSON *p;
    char *text;

    if (!ref || !ref[0]) {
        snprintf(err, errlen, "gitlab needs a ref (headRef or a 'ref' parameter)");
        return NULL;
    }
    if (params && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: not an object");
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ref", ref);
    vars = cJSON_AddArrayToObject(o, "variables");
    if (params)
        cJSON_ArrayForEach(p, params) {
            if (p->string && strcmp(p->string, "ref") == 0)
                continue;
            if (!gitlab_var_name_ok(p->string)) {
                snprintf(err, errlen, "parameter %s: not a variable name ([A-Za-z0-9_]+)",
                         log_q(p->string ? p->string : ""));
                goto bad;
            }
            if (strcmp(p->string, GITLAB_KEY_VAR) == 0) {
                snprintf(err, errlen, "parameter %s: reserved for the idempotency key", p->string);
                goto bad;
            }
            if (!cJSON_IsString(p)) {
                snprintf(err, errlen, "parameter %s: not a string", p->string);
                goto bad;
            }
            gitlab_add_var(vars, p->string, p->valuestring);
        }
    gitlab_add_var(vars, GITLAB_KEY_VAR, key);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        snprintf(err, errlen, "cannot encode the request");
    return text;
bad:
    cJSON_Delete(o);
    return NULL;
}

/* gitlab_op_free - free the op (done is not called). */
static void gitlab_op_free(struct gitlab_op *op)
{
    memset(op->auth, 0, sizeof(op->auth));
    free(op->proj_url);
    free(op->job);
    free(op->key);
    free(op->ref);
    free(op->body);
    free(op);
}

/* gitlab_op_abandon - the HTTP client was freed before the answer (the stage is
 * stopping): free the op without calling done. */
static void gitlab_op_abandon(void *arg)
{
    gitlab_op_free(arg);
}

/* gitlab_end - deliver the result and free the op. */
static void gitlab_end(struct gitlab_op *op)
{
    op->done(op->arg, &op->res);
    gitlab_op_free(op);
}

/* gitlab_op_new - an op for test t, or NULL after scheduling done with the error. */
static struct gitlab_op *gitlab_op_new(struct adapter_ctx *ctx, const struct adapter_test *t,
                                       enum gitlab_kind kind, adapter_done_fn done, void *arg)
{
    const struct config *c = ctx->cfg;
    struct adapter_result res;
    struct gitlab_op *op;
    char *base = NULL, *proj = NULL, err[256];
    const char *ref;

    adapter_res_init(&res);
    if (!(base = adapter_base_url(c->gitlab.url)))
        snprintf(err, sizeof(err), "gitlab.url is not set or not an http(s) URL");
    else if (!c->gitlab.token || !c->gitlab.token[0])
        snprintf(err, sizeof(err), "gitlab.tokenFile is not configured");
    else if (strlen(c->gitlab.token) > 900)
        snprintf(err, sizeof(err), "the GitLab token is too long");
    else if (!t->key || !t->key[0])
        snprintf(err, sizeof(err), "no idempotency key");
    else if (!(proj = gitlab_project_id(t->job)))
        snprintf(err, sizeof(err), "job %s: not a project id or path \"group/project\"",
                 log_q(t->job ? t->job : ""));
    else
        goto ok;
    free(base);
    adapter_res_error(&res, ADAPTER_EPERM, "gitlab: %s", err);
    adapter_finish_later(ctx->loop, &res, done, arg);
    return NULL;
ok:
    op = xcalloc(1, sizeof(*op));
    op->kind = kind;
    op->http = ctx->http;
    snprintf(op->auth, sizeof(op->auth), "PRIVATE-TOKEN: %s", c->gitlab.token);
    op->proj_url = xasprintf("%s/api/v4/projects/%s", base, proj);
    free(base);
    free(proj);
    op->job = xstrdup(t->job);
    op->key = xstrdup(t->key);
    ref = adapter_test_ref(t);
    op->ref = ref ? xstrdup(ref) : NULL;
    op->done = done;
    op->arg = arg;
    adapter_res_init(&op->res);
    return op;
}

/* gitlab_submit - one request with the token. */
static void gitlab_submit(struct gitlab_op *op, const char *method, const char *url,
                          enum gitlab_step step, int retries)
{
    struct http_req req;
    int h = 0;

    memset(&req, 0, sizeof(req));
    op->step = step;
    req.system = "gitlab";
    req.method = method;
    req.url = url;
    req.headers[h++] = op->auth;
    req.headers[h++] = "Accept: application/json";
    if (step == GITLAB_STEP_CREATE) {
        req.headers[h++] = "Content-Type: application/json";
        req.body = op->body;
        req.body_len = strlen(op->body);
    } else if (step == GITLAB_STEP_CANCEL) {
        req.body = "";
    }
    req.max_retries = retries;
    req.abandon = gitlab_op_abandon;
    http_submit(op->http, &req, gitlab_on_resp, op);
}

/* gitlab_get_pipeline - GET the pipeline id. */
static void gitlab_get_pipeline(struct gitlab_op *op, const char *id)
{
    char *url = xasprintf("%s/pipelines/%s", op->proj_url, id);

    gitlab_submit(op, "GET", url, GITLAB_STEP_PIPELINE, -1);
    free(url);
}

/* gitlab_list - start finding the pipeline by key. */
static void gitlab_list(struct gitlab_op *op)
{
    char *r = op->ref ? adapter_escape(op->ref) : NULL, *url;

    url = xasprintf("%s/pipelines?%s%s%sorder_by=id&sort=desc&per_page=%d&source=api", op->proj_url,
                    r ? "ref=" : "", r ? r : "", r ? "&" : "", GITLAB_FIND_MAX);
    gitlab_submit(op, "GET", url, GITLAB_STEP_LIST, -1);
    free(url);
    free(r);
}

/* gitlab_next_vars - read the variables of the next candidate, or end: not found. */
static void gitlab_next_vars(struct gitlab_op *op)
{
    char *url;

    if (op->next >= op->nids) {
        op->res.found = 0;
        gitlab_end(op);
        return;
    }
    url = xasprintf("%s/pipelines/%lld/variables", op->proj_url, (long long)op->ids[op->next++]);
    gitlab_submit(op, "GET", url, GITLAB_STEP_VARS, -1);
    free(url);
}

/* gitlab_cancel_run - POST .../pipelines/{id}/cancel for op->res.run. */
static void gitlab_cancel_run(struct gitlab_op *op)
{
    char *url = xasprintf("%s/pipelines/%s/cancel", op->proj_url, op->res.run.id);

    gitlab_submit(op, "POST", url, GITLAB_STEP_CANCEL, -1);
    free(url);
}

/* gitlab_http_error - an HTTP status the step did not want; ends the op. */
static void gitlab_http_error(struct gitlab_op *op, const struct http_resp *resp, const char *what)
{
    long s = resp->status;
    char err[64], msg[160] = "";
    cJSON *j = adapter_body_json(resp, err, sizeof(err));
    const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
    char *txt;

    if (!m && j)
        m = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsString(m)) {
        snprintf(msg, sizeof(msg), "%s", log_q(m->valuestring));
    } else if (m && (txt = cJSON_PrintUnformatted(m))) {
        snprintf(msg, sizeof(msg), "%s", log_q(txt));
        free(txt);
    }
    cJSON_Delete(j);
    if (s >= 500 || s == 429) {
        adapter_retry_after(resp, &op->res);
        adapter_res_error(&op->res, ADAPTER_ETEMP, "gitlab: %s: HTTP %ld", what, s);
    } else if (s == 401 || s == 403) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: authentication failed (HTTP %ld)", what, s);
    } else if (s == 404) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: no such project or pipeline, or the token cannot see it (HTTP 404)", what);
    } else {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: HTTP %ld%s%s", what, s, msg[0] ? ": " : "", msg);
    }
    gitlab_end(op);
}

/* gitlab_take_pipeline - parse a pipeline answer into op->res.run; -1 after ending the op. */
static int gitlab_take_pipeline(struct gitlab_op *op, const struct http_resp *resp, const char *what)
{
    struct adapter_run run;
    char err[200];
    cJSON *j;

    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))) || gitlab_parse_pipeline(j, &run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: %s", what, err);
        gitlab_end(op);
        return -1;
    }
    cJSON_Delete(j);
    snprintf(run.api, sizeof(run.api), "%s/pipelines/%s", op->proj_url, run.id);
    op->res.run = run;
    return 0;
}

/* gitlab_on_resp - the http callback. */
static void gitlab_on_resp(void *arg, const struct http_resp *resp)
{
    struct gitlab_op *op = arg;
    char what[200], err[200];
    cJSON *j;
    int r;

    snprintf(what, sizeof(what), "project %s", log_q(op->job));
    if (adapter_http_failed(resp, what, &op->res)) {
        gitlab_end(op);
        return;
    }
    switch (op->step) {
    case GITLAB_STEP_CREATE:
        if (resp->status != 201 && resp->status != 200) {
            gitlab_http_error(op, resp, what);
            return;
        }
        if (gitlab_take_pipeline(op, resp, what) < 0)
            return;
        op->res.found = 1;
        log_info("adapter_triggered", "system=gitlab project=%s key=%s pipeline=%s", log_q(op->job), op->key,
                 op->res.run.id);
        gitlab_end(op);
        return;
    case GITLAB_STEP_LIST:
        if (resp->status != 200) {
            gitlab_http_error(op, resp, what);
            return;
        }
        j = adapter_body_json(resp, err, sizeof(err));
        r = j ? gitlab_pipeline_ids(j, op->ids, GITLAB_FIND_MAX, err, sizeof(err)) : -1;
        cJSON_Delete(j);
        if (r < 0) {
            adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: pipelines: %s", what, err);
            gitlab_end(op);
            return;
        }
        op->nids = r;
        op->next = 0;
        gitlab_next_vars(op);
        return;
    case GITLAB_STEP_VARS:
        if (resp->status == 404) {      /* gone meanwhile */
            gitlab_next_vars(op);
            return;
        }
        if (resp->status != 200) {
            gitlab_http_error(op, resp, what);
            return;
        }
        j = adapter_body_json(resp, err, sizeof(err));
        r = j ? gitlab_variables_have_key(j, op->key, err, sizeof(err)) : -1;
        cJSON_Delete(j);
        if (r < 0) {
            adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: %s: pipeline %lld variables: %s", what,
                              (long long)op->ids[op->next - 1], err);
            gitlab_end(op);
        } else if (r == 1) {
            char id[32];
            snprintf(id, sizeof(id), "%lld", (long long)op->ids[op->next - 1]);
            gitlab_get_pipeline(op, id);
        } else {
            gitlab_next_vars(op);
        }
        return;
    case GITLAB_STEP_PIPELINE:
        if (resp->status != 200) {
            gitlab_http_error(op, resp, what);
            return;
        }
        if (gitlab_take_pipeline(op, resp, what) < 0)
            return;
        op->res.found = 1;
        if (op->kind == GITLAB_CANCEL && !run_status_final(op->res.run.status)) {
            gitlab_cancel_run(op);
            return;
        }
        gitlab_end(op);
        return;
    case GITLAB_STEP_CANCEL:
        if (resp->status >= 200 && resp->status < 300) {
            char err2[200];
            struct adapter_run run = op->res.run;
            /* The answer is the pipeline as it is now; keep it when it parses. */
            if ((j = adapter_body_json(resp, err2, sizeof(err2))) && gitlab_parse_pipeline(j, &run, err2, sizeof(err2)) == 0)
                op->res.run = run;
            cJSON_Delete(j);
            gitlab_end(op);
        } else {
            gitlab_http_error(op, resp, what);
        }
        return;
    }
}

/* gitlab_trigger - POST .../pipeline with the variables and PROMO_KEY. */
static int gitlab_trigger(struct adapter_ctx *ctx, const struct adapter_test *t,
                          adapter_done_fn done, void *arg)
{
    struct gitlab_op *op = gitlab_op_new(ctx, t, GITLAB_TRIGGER, done, arg);
    char err[200], *url;

    if (!op)
        return -1;
    if (!(op->body = gitlab_create_body(t->params, t->key, op->ref, err, sizeof(err)))) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: project %s: %s", log_q(t->job), err);
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        gitlab_op_free(op);
        return -1;
    }
    url = xasprintf("%s/pipeline", op->proj_url);
    /* Never retried blindly: a second POST is a second pipeline. */
    gitlab_submit(op, "POST", url, GITLAB_STEP_CREATE, 0);
    free(url);
    return 0;
}

/* gitlab_find - the pipeline whose PROMO_KEY variable is the key. */
static int gitlab_find(struct adapter_ctx *ctx, const struct adapter_test *t,
                       adapter_done_fn done, void *arg)
{
    struct gitlab_op *op = gitlab_op_new(ctx, t, GITLAB_FIND, done, arg);

    if (!op)
        return -1;
    gitlab_list(op);
    return 0;
}

/* gitlab_id_ok - a pipeline id: 1..15 digits. */
static int gitlab_id_ok(const char *id)
{
    size_t n = strspn(id, "0123456789");

    return n > 0 && n <= 15 && !id[n];
}

/* gitlab_status - GET the pipeline (by key when its id is not known). */
static int gitlab_status(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct gitlab_op *op = gitlab_op_new(ctx, t, GITLAB_STATUS, done, arg);

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->id[0]) {
        gitlab_list(op);
        return 0;
    }
    if (!gitlab_id_ok(run->id)) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: pipeline id %s is not a number", log_q(run->id));
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        gitlab_op_free(op);
        return -1;
    }
    gitlab_get_pipeline(op, run->id);
    return 0;
}

/* gitlab_cancel - POST .../pipelines/{id}/cancel (found by key when the id is not known). */
static int gitlab_cancel(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct gitlab_op *op = gitlab_op_new(ctx, t, GITLAB_CANCEL, done, arg);

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->id[0]) {
        gitlab_list(op);
        return 0;
    }
    if (!gitlab_id_ok(run->id)) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "gitlab: pipeline id %s is not a number", log_q(run->id));
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        gitlab_op_free(op);
        return -1;
    }
    gitlab_cancel_run(op);
    return 0;
}

const struct adapter adapter_gitlab = {
    .provider = "gitlab",
    .trigger = gitlab_trigger,
    .find = gitlab_find,
    .status = gitlab_status,
    .cancel = gitlab_cancel,
};
