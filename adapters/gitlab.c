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
#include "adapters/adapter_call.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define GITLAB_KEY_VAR "PROMO_KEY"
#define GITLAB_FIND_MAX 20

enum gitlab_step { GITLAB_STEP_CREATE, GITLAB_STEP_LIST, GITLAB_STEP_VARS, GITLAB_STEP_PIPELINE,
                   GITLAB_STEP_CANCEL };

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

/* The state of a lookup by key: the candidates, newest first. */
struct gitlab_find {
    int64_t ids[GITLAB_FIND_MAX];
    int n, next;
};

/* gitlab_open - check the config and the project; the API root and token. */
static int gitlab_open(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const struct config *cfg = c->ctx.cfg;
    char *base = NULL, *proj = NULL;

    if (!(base = adapter_base_url(cfg->gitlab.url)))
        snprintf(err, errlen, "gitlab.url is not set or not an http(s) URL");
    else if (!cfg->gitlab.token || !cfg->gitlab.token[0])
        snprintf(err, errlen, "gitlab.tokenFile is not configured");
    else if (strlen(cfg->gitlab.token) > 900)
        snprintf(err, errlen, "the GitLab token is too long");
    else if (!t->key || !t->key[0])
        snprintf(err, errlen, "no idempotency key");
    else if (!(proj = gitlab_project_id(t->job)))
        snprintf(err, errlen, "job %s: not a project id or path \"group/project\"",
                 log_q(t->job ? t->job : ""));
    if (proj) {
        snprintf(c->auth, sizeof(c->auth), "PRIVATE-TOKEN: %s", cfg->gitlab.token);
        c->base = xasprintf("%s/api/v4/projects/%s", base, proj);
    }
    free(base);
    free(proj);
    return c->base ? 0 : -1;
}

/* gitlab_get_pipeline - GET the pipeline id. */
static void gitlab_get_pipeline(struct adapter_call *c, const char *id)
{
    char *url = xasprintf("%s/pipelines/%s", c->base, id);

    adapter_call_send(c, GITLAB_STEP_PIPELINE, "GET", url, NULL, -1);
    free(url);
}

/* gitlab_list - start finding the pipeline by key: the newest API-created ones of the ref. */
static void gitlab_list(struct adapter_call *c)
{
    char *r = c->ref ? adapter_escape(c->ref) : NULL, *url;

    url = xasprintf("%s/pipelines?%s%s%sorder_by=id&sort=desc&per_page=%d&source=api", c->base,
                    r ? "ref=" : "", r ? r : "", r ? "&" : "", GITLAB_FIND_MAX);
    adapter_call_send(c, GITLAB_STEP_LIST, "GET", url, NULL, -1);
    free(url);
    free(r);
}

/* gitlab_next_vars - read the variables of the next candidate, or end: not found. */
static void gitlab_next_vars(struct adapter_call *c)
{
    struct gitlab_find *f = c->data;
    char *url;

    if (f->next >= f->n) {
        adapter_call_found(c, NULL);
        return;
    }
    url = xasprintf("%s/pipelines/%lld/variables", c->base, (long long)f->ids[f->next++]);
    adapter_call_send(c, GITLAB_STEP_VARS, "GET", url, NULL, -1);
    free(url);
}

/* gitlab_cancel_run - POST .../pipelines/{id}/cancel for c->res.run. */
static void gitlab_cancel_run(struct adapter_call *c)
{
    char *url = xasprintf("%s/pipelines/%s/cancel", c->base, c->res.run.id);

    adapter_call_send(c, GITLAB_STEP_CANCEL, "POST", url, "", -1);
    free(url);
}

/* gitlab_start - the first request of each operation. A pipeline is never
 * created twice by a retry: a second POST is a second pipeline. */
static int gitlab_start(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    char *url;

    if (c->kind == ADAPTER_TRIGGER) {
        if (!(c->body = gitlab_create_body(t->params, t->key, c->ref, err, errlen)))
            return -1;
        url = xasprintf("%s/pipeline", c->base);
        adapter_call_send(c, GITLAB_STEP_CREATE, "POST", url, c->body, 0);
        free(url);
    } else if (c->kind == ADAPTER_FIND || !c->run.id[0]) {
        gitlab_list(c);
    } else if (c->kind == ADAPTER_STATUS) {
        gitlab_get_pipeline(c, c->run.id);
    } else {
        gitlab_cancel_run(c);
    }
    return 0;
}

/* gitlab_pipeline - a pipeline answer into run (api set); -1 after ending the call. */
static int gitlab_pipeline(struct adapter_call *c, const struct http_resp *resp, struct adapter_run *run)
{
    char err[200];
    cJSON *j;

    memset(run, 0, sizeof(*run));
    if (!(j = adapter_call_json(c, resp, c->what)))
        return -1;
    if (gitlab_parse_pipeline(j, run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", c->what, err);
        return -1;
    }
    cJSON_Delete(j);
    snprintf(run->api, sizeof(run->api), "%s/pipelines/%s", c->base, run->id);
    return 0;
}

/* gitlab_answer - the answer to each step. */
static void gitlab_answer(struct adapter_call *c, const struct http_resp *resp)
{
    struct gitlab_find *f = c->data;
    struct adapter_run run;
    long s = resp->status;
    char err[200], id[32];
    cJSON *j;
    int r;

    if (c->step == GITLAB_STEP_VARS && s == 404) {
        gitlab_next_vars(c);            /* gone meanwhile */
        return;
    }
    if (s != 200 && !(c->step == GITLAB_STEP_CREATE && s == 201)
        && !(c->step == GITLAB_STEP_CANCEL && s >= 200 && s < 300)) {
        adapter_call_http_error(c, resp, c->what, NULL);
        return;
    }
    switch (c->step) {
    case GITLAB_STEP_CREATE:
        if (gitlab_pipeline(c, resp, &run) < 0)
            return;
        c->res.found = 1;
        c->res.run = run;
        log_info("adapter_triggered", "system=gitlab project=%s key=%s pipeline=%s", log_q(c->job),
                 c->key, run.id);
        adapter_call_end(c);
        return;
    case GITLAB_STEP_LIST:
        j = adapter_body_json(resp, err, sizeof(err));
        r = j ? gitlab_pipeline_ids(j, f->ids, GITLAB_FIND_MAX, err, sizeof(err)) : -1;
        cJSON_Delete(j);
        if (r < 0) {
            adapter_call_fail(c, ADAPTER_EPERM, "%s: pipelines: %s", c->what, err);
            return;
        }
        f->n = r;
        f->next = 0;
        gitlab_next_vars(c);
        return;
    case GITLAB_STEP_VARS:
        j = adapter_body_json(resp, err, sizeof(err));
        r = j ? gitlab_variables_have_key(j, c->key, err, sizeof(err)) : -1;
        cJSON_Delete(j);
        if (r < 0) {
            adapter_call_fail(c, ADAPTER_EPERM, "%s: pipeline %lld variables: %s", c->what,
                              (long long)f->ids[f->next - 1], err);
        } else if (r == 1) {
            snprintf(id, sizeof(id), "%lld", (long long)f->ids[f->next - 1]);
            gitlab_get_pipeline(c, id);
        } else {
            gitlab_next_vars(c);
        }
        return;
    case GITLAB_STEP_PIPELINE:
        if (gitlab_pipeline(c, resp, &run) == 0)
            adapter_call_found(c, &run);
        return;
    case GITLAB_STEP_CANCEL:
        /* The answer is the pipeline as it is now; keep it when it parses. */
        run = c->res.run;
        if ((j = adapter_body_json(resp, err, sizeof(err))) && gitlab_parse_pipeline(j, &run, err, sizeof(err)) == 0)
            c->res.run = run;
        cJSON_Delete(j);
        adapter_call_end(c);
        return;
    }
}

static const struct adapter_http_word gitlab_words[] = {
    { 401, "authentication failed" },
    { 403, "authentication failed" },
    { 404, "no such project or pipeline, or the token cannot see it" },
    { 0, NULL },
};

static const struct adapter_provider gitlab_provider = {
    .name = "gitlab",
    .system = "gitlab",
    .noun = "project",
    .run_noun = "pipeline",
    .headers = { "Accept: application/json" },
    .content_type = "Content-Type: application/json",
    .words = gitlab_words,
    .data_size = sizeof(struct gitlab_find),
    .open = gitlab_open,
    .start = gitlab_start,
    .answer = gitlab_answer,
    .cancel = gitlab_cancel_run,
};

ADAPTER_CALL_DEFINE(adapter_gitlab, "gitlab", gitlab_provider);
