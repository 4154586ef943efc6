/* sim_gitlab.c - promo-sim's GitLab REST API v4 for CI: create a pipeline
 * with variables, get and list pipelines, their variables, cancel; projects
 * by numeric id or URL-encoded path; PRIVATE-TOKEN or Bearer auth.
 *
 * Under /gitlab/api/v4. A pipeline is pending while queued, running, then
 * success, failed or canceled, or any status the scenario names (skipped,
 * manual, scheduled, waiting_for_resource... which then stays). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"
#include "sim/sim.h"

/* sim_gitlab_error - {"message": msg} (GitLab's shape for most errors). */
void sim_gitlab_error(struct sim_resp *rp, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "message", msg);
    sim_resp_json(rp, status, o);
}

/* sim_gitlab_error_key - {"error": msg} (GitLab's shape for parameter errors and unknown routes). */
static void sim_gitlab_error_key(struct sim_resp *rp, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "error", msg);
    sim_resp_json(rp, status, o);
}

/* sim_gitlab_terminal - 1 for a status a pipeline never leaves. */
static int sim_gitlab_terminal(const char *st)
{
    return strcmp(st, "success") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0
        || strcmp(st, "skipped") == 0;
}

/* sim_gitlab_status - the status of pipeline r at now. */
static const char *sim_gitlab_status(const struct sim_run *r, int64_t now)
{
    switch (sim_run_phase(r, now)) {
    case SIM_QUEUED: return "pending";
    case SIM_RUNNING: return "running";
    default: break;
    }
    if (r->plan.status[0])
        return r->plan.status;
    switch (r->plan.outcome) {
    case SIM_PASS: return "success";
    case SIM_CANCEL: return "canceled";
    default: return "failed";
    }
}

/* sim_gitlab_project_path - the path of project id, or NULL. */
static const char *sim_gitlab_project_path(const struct sim *s, long id)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, s->gl_projects)
        if ((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id")) == id)
            return cJSON_GetStringValue(cJSON_GetObjectItem(p, "path"));
    return NULL;
}

/* sim_gitlab_project - resolve :id (numeric or path) to (id, path). Unknown
 * projects are created unless the scenario restricts them. Returns 0, or -1
 * when the project does not exist. */
static int sim_gitlab_project(struct sim *s, const char *idseg, long *id, const char **path)
{
    const cJSON *table = sim_scenario_get(s, "gitlab", "projects"), *p, *e;
    char *end;
    long n = strtol(idseg, &end, 10);
    int numeric = *idseg && !*end && n > 0;
    char *made = NULL;
    struct sim_plan plan;
    cJSON *np;

    cJSON_ArrayForEach(p, s->gl_projects) {
        const char *pp = cJSON_GetStringValue(cJSON_GetObjectItem(p, "path"));
        long pid = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id"));
        if ((numeric && pid == n) || (!numeric && strcmp(pp, idseg) == 0)) {
            *id = pid;
            *path = pp;
            return 0;
        }
    }
    if (numeric) {  /* a scenario project with this id? */
        cJSON_ArrayForEach(e, table)
            if (cJSON_IsNumber(cJSON_GetObjectItem(e, "id")) && cJSON_GetObjectItem(e, "id")->valueint == n)
                made = xstrdup(e->string);
        if (!made)
            made = xasprintf("group/project-%ld", n);
    } else {
        made = xstrdup(idseg);
    }
    sim_scenario_plan(s, SIM_SYS_GITLAB, made, NULL, &plan);
    if (!plan.exists) {
        free(made);
        return -1;
    }
    e = cJSON_GetObjectItemCaseSensitive(table, made);
    if (numeric)
        *id = n;
    else if (cJSON_IsNumber(cJSON_GetObjectItem(e, "id")))
        *id = cJSON_GetObjectItem(e, "id")->valueint;
    else {
        do
            *id = s->next_project_id++;
        while (sim_gitlab_project_path(s, *id));
    }
    np = cJSON_CreateObject();
    cJSON_AddNumberToObject(np, "id", (double)*id);
    cJSON_AddStringToObject(np, "path", made);
    cJSON_AddItemToArray(s->gl_projects, np);
    free(made);
    *path = cJSON_GetStringValue(cJSON_GetObjectItem(np, "path"));
    return 0;
}

/* sim_gitlab_time - an ISO time, or null when ms is 0. */
static cJSON *sim_gitlab_time(int64_t ms)
{
    char ts[40];

    return ms ? cJSON_CreateString(sim_time_iso(ms, ts, sizeof ts)) : cJSON_CreateNull();
}

/* sim_gitlab_pipeline_json - a pipeline as GET /projects/:id/pipelines/:pid shows it. */
cJSON *sim_gitlab_pipeline_json(struct sim *s, const struct sim_run *r, const char *base, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *u, *ds;
    const char *st = sim_gitlab_status(r, now);
    enum sim_phase ph = sim_run_phase(r, now);
    int64_t start = r->cancelled_in_queue ? 0 : sim_run_start(r), end = 0, upd = r->created;
    char *url;

    if (ph != SIM_QUEUED && start)
        upd = start;
    if (ph == SIM_DONE) {
        upd = sim_run_end(r);
        if (sim_gitlab_terminal(st))
            end = sim_run_end(r);
    }
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddNumberToObject(o, "iid", (double)r->number);
    cJSON_AddNumberToObject(o, "project_id", (double)r->workflow_id);
    cJSON_AddStringToObject(o, "sha", r->sha);
    cJSON_AddStringToObject(o, "ref", r->ref);
    cJSON_AddStringToObject(o, "status", st);
    cJSON_AddStringToObject(o, "source", "api");
    cJSON_AddItemToObject(o, "created_at", sim_gitlab_time(r->created));
    cJSON_AddItemToObject(o, "updated_at", sim_gitlab_time(upd));
    url = xasprintf("%s/gitlab/%s/-/pipelines/%ld", base, r->job, r->id);
    cJSON_AddStringToObject(o, "web_url", url);
    cJSON_AddStringToObject(o, "before_sha", "0000000000000000000000000000000000000000");
    cJSON_AddBoolToObject(o, "tag", 0);
    cJSON_AddNullToObject(o, "yaml_errors");
    u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddNumberToObject(u, "id", 4242);
    cJSON_AddStringToObject(u, "username", "promo-sim-bot");
    cJSON_AddStringToObject(u, "name", "promo-sim bot");
    cJSON_AddStringToObject(u, "state", "active");
    cJSON_AddItemToObject(o, "started_at", sim_gitlab_time(ph == SIM_QUEUED ? 0 : start));
    cJSON_AddItemToObject(o, "finished_at", sim_gitlab_time(end));
    cJSON_AddNullToObject(o, "committed_at");
    if (end && start)
        cJSON_AddNumberToObject(o, "duration", (double)((end - start) / 1000));
    else
        cJSON_AddNullToObject(o, "duration");
    if (ph != SIM_QUEUED && start)
        cJSON_AddNumberToObject(o, "queued_duration", (double)(start - r->created) / 1000.0);
    else
        cJSON_AddNullToObject(o, "queued_duration");
    cJSON_AddNullToObject(o, "coverage");
    ds = cJSON_AddObjectToObject(o, "detailed_status");
    cJSON_AddStringToObject(ds, "icon", "status_placeholder");
    cJSON_AddStringToObject(ds, "text", st);
    cJSON_AddStringToObject(ds, "label", st);
    cJSON_AddStringToObject(ds, "group", st);
    cJSON_AddBoolToObject(ds, "has_details", 1);
    cJSON_AddStringToObject(ds, "details_path", url + strlen(base) + strlen("/gitlab"));
    cJSON_AddNullToObject(o, "name");
    free(url);
    return o;
}

/* sim_gitlab_brief - the fields a list of pipelines shows. */
static cJSON *sim_gitlab_brief(cJSON *full)
{
    static const char *const keep[] = { "id", "iid", "project_id", "sha", "ref", "status", "source",
                                        "created_at", "updated_at", "web_url", "name" };
    cJSON *o = cJSON_CreateObject();
    size_t i;

    for (i = 0; i < ARRAY_LEN(keep); i++)
        cJSON_AddItemToObject(o, keep[i], cJSON_Duplicate(cJSON_GetObjectItem(full, keep[i]), 1));
    cJSON_Delete(full);
    return o;
}

/* sim_gitlab_auth - 1 if PRIVATE-TOKEN, Bearer or private_token is good; else 401 written. */
static int sim_gitlab_auth(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *tok = sim_req_header(rq, "PRIVATE-TOKEN"), *h = sim_req_header(rq, "Authorization");

    if (!tok && h && strncasecmp(h, "Bearer ", 7) == 0)
        tok = h + 7;
    if (!tok)
        tok = sim_req_arg(rq, "private_token");
    if (!tok && !h) {
        sim_gitlab_error(rp, 401, "401 Unauthorized");
        return 0;
    }
    if (tok && *tok && (!s->gitlab_token || sim_secret_eq(tok, s->gitlab_token))) {
        rq->auth = 1;
        return 1;
    }
    rq->auth = 0;
    sim_gitlab_error(rp, 401, "401 Unauthorized");
    return 0;
}

/* sim_gitlab_flaky - a 503 for a flaky project, on any request that names it. */
static int sim_gitlab_flaky(struct sim *s, struct sim_resp *rp, const char *path)
{
    struct sim_plan p;

    sim_scenario_plan(s, SIM_SYS_GITLAB, path, NULL, &p);
    if (!sim_flaky_hit(s, SIM_SYS_GITLAB, path, p.flaky))
        return 0;
    sim_gitlab_error(rp, 503, "503 Service Unavailable");
    return 1;
}

/* sim_gitlab_param - a create parameter from the JSON body, the form, or the query. */
static const cJSON *sim_gitlab_param(const struct sim_req *rq, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->json, name);

    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(rq->form, name);
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(rq->query, name);
    return v;
}

/* sim_gitlab_create - POST /projects/:id/pipeline. */
static void sim_gitlab_create(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                              long pid, const char *path)
{
    const cJSON *ref = sim_gitlab_param(rq, "ref"), *vars = sim_gitlab_param(rq, "variables"), *v;
    cJSON *params, *types;
    struct sim_plan plan;
    struct sim_run *r;
    char key[400], sha[41];
    int i = 0;

    if (rq->json_bad) {
        sim_gitlab_error_key(rp, 400, "400 Bad request - the body is not valid JSON");
        return;
    }
    if (!ref || cJSON_IsNull(ref)) {
        sim_gitlab_error_key(rp, 400, "ref is missing");
        return;
    }
    if (!cJSON_IsString(ref) || !*ref->valuestring) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(o, "message"), *b;
        b = cJSON_AddArrayToObject(m, "base");
        cJSON_AddItemToArray(b, cJSON_CreateString("Reference not found"));
        sim_resp_json(rp, 400, o);
        return;
    }
    if (vars && !cJSON_IsArray(vars)) {
        sim_gitlab_error_key(rp, 400, "variables is invalid");
        return;
    }
    params = cJSON_CreateObject();
    types = cJSON_CreateObject();
    cJSON_ArrayForEach(v, vars) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(v, "key");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "variable_type");
        char msg[128];
        if (!cJSON_IsString(k) || !*k->valuestring) {
            snprintf(msg, sizeof msg, "variables[%d][key] is missing", i);
            goto bad;
        }
        if (val && !cJSON_IsString(val)) {
            snprintf(msg, sizeof msg, "variables[%d][value] is invalid", i);
            goto bad;
        }
        if (t && (!cJSON_IsString(t) || (strcmp(t->valuestring, "env_var") != 0
                                         && strcmp(t->valuestring, "file") != 0))) {
            snprintf(msg, sizeof msg, "variables[%d][variable_type] does not have a valid value", i);
            goto bad;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(params, k->valuestring);
        cJSON_AddStringToObject(params, k->valuestring, val ? val->valuestring : "");
        cJSON_DeleteItemFromObjectCaseSensitive(types, k->valuestring);
        cJSON_AddStringToObject(types, k->valuestring, t ? t->valuestring : "env_var");
        i++;
        continue;
bad:
        sim_gitlab_error_key(rp, 400, msg);
        cJSON_Delete(params);
        cJSON_Delete(types);
        return;
    }
    sim_scenario_plan(s, SIM_SYS_GITLAB, path, params, &plan);
    if (sim_flaky_hit(s, SIM_SYS_GITLAB, path, plan.flaky)) {
        sim_gitlab_error(rp, 503, "503 Service Unavailable");
        goto out;
    }
    if (sim_ratelimit_hit(s, SIM_SYS_GITLAB, path, plan.ratelimit)) {
        sim_resp_text(rp, 429, "text/plain", "Retry later\n");
        sim_resp_header(rp, "Retry-After", "1");
        sim_resp_header(rp, "RateLimit-Name", "throttle_authenticated_api");
        sim_resp_header(rp, "RateLimit-Limit", "60");
        sim_resp_header(rp, "RateLimit-Observed", "61");
        sim_resp_header(rp, "RateLimit-Remaining", "0");
        sim_resp_header(rp, "RateLimit-Reset", "%lld", (long long)(rq->now / 1000 + 1));
        goto out;
    }
    r = sim_run_new(s, SIM_SYS_GITLAB, path);
    r->id = s->next_pipeline_id++;
    r->created = rq->now;
    r->workflow_id = pid;
    snprintf(key, sizeof key, "gl-iid:%ld", pid);
    r->number = sim_counter_next(s, key);
    r->ref = xstrdup(ref->valuestring);
    if (cJSON_GetStringValue(sim_scenario_get(s, "gitlab", "sha")))
        r->sha = xstrdup(cJSON_GetStringValue(sim_scenario_get(s, "gitlab", "sha")));
    else {
        char *seed = xasprintf("%s@%s", path, ref->valuestring);
        sim_fake_sha(seed, sha);
        free(seed);
        r->sha = xstrdup(sha);
    }
    cJSON_Delete(r->params);
    r->params = params;
    r->vartypes = types;
    params = types = NULL;
    r->plan = plan;
    sim_resp_json(rp, 201, sim_gitlab_pipeline_json(s, r, rq->base, rq->now));
out:
    cJSON_Delete(params);
    cJSON_Delete(types);
}

/* sim_gitlab_order - the order_by key sim_gitlab_cmp sorts by (set under sim->lock). */
static const char *sim_gitlab_order;

/* sim_gitlab_cmp - compare two brief pipelines by sim_gitlab_order, ascending. */
static int sim_gitlab_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const cJSON *vx = cJSON_GetObjectItem(x, sim_gitlab_order), *vy = cJSON_GetObjectItem(y, sim_gitlab_order);
    int c = 0;

    if (cJSON_IsString(vx) && cJSON_IsString(vy))
        c = strcmp(vx->valuestring, vy->valuestring);
    if (!c) {
        double ix = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id"));
        double iy = cJSON_GetNumberValue(cJSON_GetObjectItem(y, "id"));
        c = ix < iy ? -1 : ix > iy;
    }
    return c;
}

/* sim_gitlab_list - GET /projects/:id/pipelines with filters, order and pages. */
static void sim_gitlab_list(struct sim *s, struct sim_req *rq, struct sim_resp *rp, long pid)
{
    static const char *const f[] = { "ref", "sha", "status", "source" };
    const char *scope = sim_req_arg(rq, "scope"), *ob = sim_req_arg(rq, "order_by");
    const char *sort = sim_req_arg(rq, "sort"), *pp = sim_req_arg(rq, "per_page");
    const char *pg = sim_req_arg(rq, "page");
    int per = pp ? atoi(pp) : 20, page = pg ? atoi(pg) : 1, n = 0, cap = 16, i, pages;
    cJSON **items = xcalloc((size_t)cap, sizeof *items), *out;
    const struct sim_run *r;
    size_t k;

    if (per <= 0) per = 20;
    if (per > 100) per = 100;
    if (page <= 0) page = 1;
    for (r = s->runs; r; r = r->next) {
        cJSON *b;
        int keep = 1;
        if (r->sys != SIM_SYS_GITLAB || r->workflow_id != pid)
            continue;
        b = sim_gitlab_brief(sim_gitlab_pipeline_json(s, r, rq->base, rq->now));
        for (k = 0; k < ARRAY_LEN(f); k++) {
            const char *want = sim_req_arg(rq, f[k]);
            const char *have = cJSON_GetStringValue(cJSON_GetObjectItem(b, f[k]));
            if (want && *want && (!have || strcmp(want, have) != 0))
                keep = 0;
        }
        if (scope && *scope) {
            const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(b, "status"));
            if (strcmp(scope, "finished") == 0 ? !sim_gitlab_terminal(st)
                : (strcmp(scope, "running") == 0 || strcmp(scope, "pending") == 0)
                      ? strcmp(st, scope) != 0 : 0)
                keep = 0;
        }
        if (!keep) {
            cJSON_Delete(b);
            continue;
        }
        if (n == cap) {
            cap *= 2;
            items = xrealloc(items, (size_t)cap * sizeof *items);
        }
        items[n++] = b;
    }
    sim_gitlab_order = ob && (strcmp(ob, "status") == 0 || strcmp(ob, "ref") == 0
                              || strcmp(ob, "updated_at") == 0) ? ob : "id";
    qsort(items, (size_t)n, sizeof *items, sim_gitlab_cmp);
    out = cJSON_CreateArray();
    for (i = 0; i < n; i++) {
        int idx = sort && strcmp(sort, "asc") == 0 ? i : n - 1 - i;
        if (i >= (page - 1) * per && i < page * per)
            cJSON_AddItemToArray(out, items[idx]);
        else
            cJSON_Delete(items[idx]);
    }
    free(items);
    pages = n ? (n + per - 1) / per : 1;
    sim_resp_json(rp, 200, out);
    sim_resp_header(rp, "X-Total", "%d", n);
    sim_resp_header(rp, "X-Total-Pages", "%d", pages);
    sim_resp_header(rp, "X-Per-Page", "%d", per);
    sim_resp_header(rp, "X-Page", "%d", page);
    if (page < pages)
        sim_resp_header(rp, "X-Next-Page", "%d", page + 1);
    else
        sim_resp_header(rp, "X-Next-Page", "%s", "");
    if (page > 1)
        sim_resp_header(rp, "X-Prev-Page", "%d", page - 1);
    else
        sim_resp_header(rp, "X-Prev-Page", "%s", "");
}

/* sim_gitlab_handle - everything under /gitlab/api/v4. */
void sim_gitlab_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *m = rq->method, *path = NULL;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    long pid = 0;
    struct sim_run *r = NULL;
    char **g;
    int n;

    if (!sim_gitlab_auth(s, rq, rp))
        return;
    if (rq->nseg < 2 || strcmp(rq->seg[0], "projects") != 0) {
        sim_gitlab_error_key(rp, 404, "404 Not Found");
        return;
    }
    if (sim_gitlab_project(s, rq->seg[1], &pid, &path) != 0) {
        sim_gitlab_error(rp, 404, "404 Project Not Found");
        return;
    }
    g = rq->seg + 2;
    n = rq->nseg - 2;
    if (n == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        const char *slash = strrchr(path, '/');
        char *u = xasprintf("%s/gitlab/%s", rq->base, path);
        cJSON_AddNumberToObject(o, "id", (double)pid);
        cJSON_AddStringToObject(o, "name", slash ? slash + 1 : path);
        cJSON_AddStringToObject(o, "path", slash ? slash + 1 : path);
        cJSON_AddStringToObject(o, "path_with_namespace", path);
        cJSON_AddStringToObject(o, "default_branch", "main");
        cJSON_AddStringToObject(o, "web_url", u);
        free(u);
        sim_resp_json(rp, 200, o);
        return;
    }
    if (n == 1 && post && strcmp(g[0], "pipeline") == 0) {
        sim_gitlab_create(s, rq, rp, pid, path);
        return;
    }
    if (n < 1 || strcmp(g[0], "pipelines") != 0) {
        sim_gitlab_error_key(rp, 404, "404 Not Found");
        return;
    }
    if (sim_gitlab_flaky(s, rp, path))
        return;
    if (n == 1 && get) {
        sim_gitlab_list(s, rq, rp, pid);
        return;
    }
    if (n >= 2) {
        char *end;
        long id = strtol(g[1], &end, 10);
        r = *end ? NULL : sim_run_find(s, SIM_SYS_GITLAB, id);
        if (r && r->workflow_id != pid)
            r = NULL;
    }
    if (n >= 2 && !r) {
        sim_gitlab_error(rp, 404, "404 Not found");
    } else if (n == 2 && get) {
        sim_resp_json(rp, 200, sim_gitlab_pipeline_json(s, r, rq->base, rq->now));
    } else if (n == 3 && get && strcmp(g[2], "variables") == 0) {
        cJSON *out = cJSON_CreateArray();
        const cJSON *v;
        cJSON_ArrayForEach(v, r->params) {
            cJSON *e = cJSON_CreateObject();
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(r->vartypes, v->string));
            cJSON_AddStringToObject(e, "variable_type", t ? t : "env_var");
            cJSON_AddStringToObject(e, "key", v->string);
            cJSON_AddStringToObject(e, "value", v->valuestring);
            cJSON_AddBoolToObject(e, "raw", 0);
            cJSON_AddItemToArray(out, e);
        }
        sim_resp_json(rp, 200, out);
    } else if (n == 3 && post && strcmp(g[2], "cancel") == 0) {
        const char *st = sim_gitlab_status(r, rq->now);
        if (!sim_gitlab_terminal(st)) {
            if (sim_run_phase(r, rq->now) == SIM_DONE) {  /* stuck in manual, scheduled... */
                r->ended = rq->now;
                r->plan.status[0] = 0;
                r->plan.outcome = SIM_CANCEL;
            } else {
                sim_run_finish(r, rq->now, SIM_CANCEL, NULL);
            }
        }
        sim_resp_json(rp, 200, sim_gitlab_pipeline_json(s, r, rq->base, rq->now));
    } else {
        sim_gitlab_error_key(rp, 404, "404 Not Found");
    }
}
