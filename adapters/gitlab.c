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

#define GITLAB_KEY_VAR "PROMO_KEY"
#define GITLAB_FIND_MAX 20
#define GITLAB_VAR_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

enum gitlab_step { GITLAB_STEP_CREATE, GITLAB_STEP_LIST, GITLAB_STEP_VARS, GITLAB_STEP_PIPELINE,
                   GITLAB_STEP_CANCEL };

/* gitlab_project_id - numeric id as is, a path URL-encoded; NULL when invalid. */
char *gitlab_project_id(const char *job)
{
    const char *p, *slash;
    int nseg = 0;

    if (!job || !job[0] || strlen(job) > 255)
        return NULL;
    if (strspn(job, "0123456789") == strlen(job))
        return job[0] == '0' ? NULL : xstrdup(job);
    for (p = job;; p = slash + 1) {
        slash = strchr(p, '/');
        if (!adapter_name_ok(p, slash ? (size_t)(slash - p) : strlen(p)))
            return NULL;
        nseg++;
        if (!slash)
            break;
    }
    return nseg < 2 ? NULL : adapter_escape(job);
}

/* The pipeline statuses. manual waits on a person (the monitor's timeout
 * applies); a status this table does not know is not a pass: FAILED. */
static const struct adapter_status_word gitlab_statuses[] = {
    { "created", RUN_QUEUED }, { "waiting_for_resource", RUN_QUEUED }, { "preparing", RUN_QUEUED },
    { "pending", RUN_QUEUED }, { "scheduled", RUN_QUEUED },
    { "running", RUN_RUNNING }, { "manual", RUN_RUNNING },
    { "success", RUN_PASSED },
    { "failed", RUN_FAILED }, { "skipped", RUN_FAILED },
    { "canceled", RUN_CANCELLED }, { "canceling", RUN_CANCELLED },
    { NULL, RUN_UNKNOWN },
};

/* gitlab_map_status - a pipeline status by gitlab_statuses. */
enum run_status gitlab_map_status(const char *status)
{
    return adapter_status_of(gitlab_statuses, status, RUN_FAILED);
}

/* gitlab_parse_pipeline - a pipeline object into run (api untouched). */
int gitlab_parse_pipeline(const cJSON *o, struct adapter_run *run, char *err, size_t errlen)
{
    struct adapter_run r = *run;
    char status[40];
    const cJSON *d;

    if (adapter_json_run(o, "pipeline", "id", "pipeline", "web_url", &r, err, errlen) < 0
        || adapter_json_str(o, "status", 1, status, sizeof(status), err, errlen) < 0)
        return -1;
    d = cJSON_GetObjectItemCaseSensitive(o, "duration");
    if (d && !cJSON_IsNull(d) && (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble < 1e9))) {
        snprintf(err, errlen, "field duration: not a number of seconds");
        return -1;
    }
    r.status = gitlab_map_status(status);
    str_copy(r.detail, status, sizeof(r.detail));
    r.duration_ms = cJSON_IsNumber(d) ? (int64_t)(d->valuedouble * 1000) : 0;
    *run = r;
    return 0;
}

/* gitlab_pipeline_ids - the ids of a pipelines list (at most max). */
int gitlab_pipeline_ids(const cJSON *list, int64_t *ids, int max, char *err, size_t errlen)
{
    return adapter_json_ids(list, "pipelines", "pipeline", ids, max, err, errlen);
}

/* gitlab_variables_have_key - [{key, value}] holds PROMO_KEY = key. */
int gitlab_variables_have_key(const cJSON *vars, const char *key, char *err, size_t errlen)
{
    return adapter_json_pairs_have(vars, "variables", "key", GITLAB_KEY_VAR, key, 0, err, errlen);
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

/* gitlab_create_body - {ref, variables}; a variable name is [A-Za-z0-9_]+. */
char *gitlab_create_body(const cJSON *params, const char *key, const char *ref,
                         char *err, size_t errlen)
{
    cJSON *o, *vars;
    const cJSON *p;

    if (!ref || !ref[0]) {
        snprintf(err, errlen, "gitlab needs a ref (headRef or a 'ref' parameter)");
        return NULL;
    }
    if (adapter_params_check(params, GITLAB_KEY_VAR, 1, GITLAB_VAR_CHARS, err, errlen) < 0)
        return NULL;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ref", ref);
    vars = cJSON_AddArrayToObject(o, "variables");
    cJSON_ArrayForEach(p, params)
        if (strcmp(p->string, "ref") != 0)
            gitlab_add_var(vars, p->string, p->valuestring);
    gitlab_add_var(vars, GITLAB_KEY_VAR, key);
    return adapter_json_text(o, err, errlen);
}

/* The state of a lookup by key: the candidates, newest first. */
struct gitlab_find {
    int64_t ids[GITLAB_FIND_MAX];
    int n, next;
};

/* gitlab_open - gitlab.url and the token (PRIVATE-TOKEN); the project's API URL. */
static int gitlab_open(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const struct config *cfg = c->ctx.cfg;
    char *base, *proj;

    if (!(base = adapter_call_token(c, cfg->gitlab.url, "gitlab.url", cfg->gitlab.token, "gitlab.tokenFile",
                                    "PRIVATE-TOKEN: ", err, errlen)))
        return -1;
    if ((proj = gitlab_project_id(t->job)))
        c->base = xasprintf("%s/api/v4/projects/%s", base, proj);
    else
        snprintf(err, errlen, "job %s: not a project id or path \"group/project\"", log_q(t->job ? t->job : ""));
    free(base);
    free(proj);
    return c->base ? 0 : -1;
}

/* gitlab_read - GET the pipeline c->res.run.id. */
static void gitlab_read(struct adapter_call *c)
{
    adapter_call_sendf(c, GITLAB_STEP_PIPELINE, "GET", NULL, -1, "%s/pipelines/%s", c->base, c->res.run.id);
}

/* gitlab_list - start finding the pipeline by key: the newest API-created ones of the ref. */
static void gitlab_list(struct adapter_call *c)
{
    char *r = c->ref ? adapter_escape(c->ref) : NULL;

    adapter_call_sendf(c, GITLAB_STEP_LIST, "GET", NULL, -1,
                       "%s/pipelines?%s%s%sorder_by=id&sort=desc&per_page=%d&source=api", c->base,
                       r ? "ref=" : "", r ? r : "", r ? "&" : "", GITLAB_FIND_MAX);
    free(r);
}

/* gitlab_next_vars - read the variables of the next candidate, or end: not found. */
static void gitlab_next_vars(struct adapter_call *c)
{
    struct gitlab_find *f = c->data;

    if (f->next >= f->n)
        adapter_call_found(c, NULL);
    else
        adapter_call_sendf(c, GITLAB_STEP_VARS, "GET", NULL, -1, "%s/pipelines/%lld/variables", c->base,
                           (long long)f->ids[f->next++]);
}

/* gitlab_cancel_run - POST .../pipelines/{id}/cancel for c->res.run. */
static void gitlab_cancel_run(struct adapter_call *c)
{
    adapter_call_sendf(c, GITLAB_STEP_CANCEL, "POST", "", -1, "%s/pipelines/%s/cancel", c->base, c->res.run.id);
}

/* gitlab_trigger - create the pipeline (never retried blindly: see above). */
static int gitlab_trigger(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    if (!(c->body = gitlab_create_body(t->params, t->key, c->ref, err, errlen)))
        return -1;
    adapter_call_sendf(c, GITLAB_STEP_CREATE, "POST", c->body, 0, "%s/pipeline", c->base);
    return 0;
}

/* gitlab_answer - the answer to each step. */
static void gitlab_answer(struct adapter_call *c, const struct http_resp *resp)
{
    struct gitlab_find *f = c->data;
    struct adapter_run run = { .status = RUN_UNKNOWN };
    long s = resp->status;
    char err[200];
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
        if (adapter_call_run(c, resp, c->what, gitlab_parse_pipeline, &run) == 0)
            adapter_call_triggered(c, &run);
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
            snprintf(c->res.run.id, sizeof(c->res.run.id), "%lld", (long long)f->ids[f->next - 1]);
            gitlab_read(c);
        } else {
            gitlab_next_vars(c);
        }
        return;
    case GITLAB_STEP_PIPELINE:
        if (adapter_call_run(c, resp, c->what, gitlab_parse_pipeline, &run) == 0)
            adapter_call_found(c, &run);
        return;
    case GITLAB_STEP_CANCEL:
        /* The answer is the pipeline as it is now; keep it when it parses. */
        if ((j = adapter_body_json(resp, err, sizeof(err))))
            gitlab_parse_pipeline(j, &c->res.run, err, sizeof(err));     /* unchanged when it does not */
        cJSON_Delete(j);
        adapter_call_end(c);
        return;
    }
}

static const struct adapter_provider gitlab_provider = {
    .name = "gitlab",
    .system = "gitlab",
    .noun = "project",
    .run_noun = "pipeline",
    .run_path = "/pipelines/",
    .headers = { "Accept: application/json" },
    .content_type = "Content-Type: application/json",
    .words = (const struct adapter_http_word[]){
        { 401, "authentication failed" },
        { 403, "authentication failed" },
        { 404, "no such project or pipeline, or the token cannot see it" },
        { 0, NULL },
    },
    .data_size = sizeof(struct gitlab_find),
    .rate_headers = { "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset" },
    .rate_limit_off = offsetof(struct config, gitlab.rate_limit),
    .open = gitlab_open,
    .trigger = gitlab_trigger,
    .find = gitlab_list,
    .read = gitlab_read,
    .answer = gitlab_answer,
    .cancel = gitlab_cancel_run,
};

ADAPTER_CALL_DEFINE(adapter_gitlab, "gitlab", gitlab_provider);
