/* sim_github.c - promo-sim's GitHub REST API: Actions (workflow_dispatch,
 * runs, cancel), issue labels, commit statuses and issue comments, with the
 * headers GitHub requires and sends: User-Agent, Authorization, the
 * x-ratelimit-* family, ETag and 304 for a matching If-None-Match (which costs
 * no rate limit), and a primary rate limit the scenario can make small.
 *
 * Under /github, which plays https://api.github.com. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "util/util.h"
#include "sim/sim.h"

#define SIM_GH_DOCS "https://docs.github.com/rest"

/* sim_github_error - {"message", "documentation_url", "status"} as GitHub answers. */
void sim_github_error(struct sim_resp *rp, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char st[16];

    snprintf(st, sizeof st, "%d", status);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddStringToObject(o, "documentation_url", SIM_GH_DOCS);
    cJSON_AddStringToObject(o, "status", st);
    sim_resp_json(rp, status, o);
}

/* sim_github_validation - 422 "Validation Failed" with one error. */
static void sim_github_validation(struct sim_resp *rp, const char *resource, const char *field,
                                  const char *code, const char *message)
{
    cJSON *o = cJSON_CreateObject(), *errs = cJSON_AddArrayToObject(o, "errors"), *e;

    cJSON_AddStringToObject(o, "message", "Validation Failed");
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "resource", resource);
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "field", field);
    if (message)
        cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(errs, e);
    cJSON_AddStringToObject(o, "documentation_url", SIM_GH_DOCS);
    cJSON_AddStringToObject(o, "status", "422");
    sim_resp_json(rp, 422, o);
}

/* sim_github_user - the user every write is attributed to. */
static cJSON *sim_github_user(void)
{
    cJSON *u = cJSON_CreateObject();

    cJSON_AddStringToObject(u, "login", "promo-sim-bot");
    cJSON_AddNumberToObject(u, "id", 4242);
    cJSON_AddStringToObject(u, "node_id", "U_kgDOAAAQkg");
    cJSON_AddStringToObject(u, "type", "Bot");
    cJSON_AddBoolToObject(u, "site_admin", 0);
    return u;
}

/* sim_github_open_status - 1 for a run status that never completes by itself. */
static int sim_github_open_status(const char *st)
{
    static const char *const open[] = { "queued", "in_progress", "waiting", "requested", "pending" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(open); i++)
        if (strcmp(st, open[i]) == 0)
            return 1;
    return 0;
}

/* sim_github_workflow_name - the workflow's name: the scenario's, else the file's stem. */
static char *sim_github_workflow_name(const struct sim *s, const char *wf)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(sim_scenario_get(s, "github", "workflows"), wf);
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
    const char *dot = strrchr(wf, '.');

    if (n)
        return xstrdup(n);
    return dot ? xstrndup(wf, (size_t)(dot - wf)) : xstrdup(wf);
}

/* sim_github_workflow_id - the numeric id of workflow wf of repo (assigned on first use). */
static long sim_github_workflow_id(struct sim *s, const char *repo, const char *wf)
{
    char key[400];
    char *end;
    long n = strtol(wf, &end, 10);

    if (!*end && n > 0)
        return n;
    snprintf(key, sizeof key, "gh-wfid:%s/%s", repo, wf);
    if (!sim_counter_get(s, key))
        sim_counter_set(s, key, 161330000 + sim_counter_next(s, "gh-wf-seq"));
    return sim_counter_get(s, key);
}

/* sim_github_run_json - a workflow run as GET /actions/runs/{id} shows it. */
cJSON *sim_github_run_json(struct sim *s, const struct sim_run *r, const char *base, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *repo, *hc;
    enum sim_phase ph = sim_run_phase(r, now);
    char ts[40], *u, *name = sim_github_workflow_name(s, r->job);
    const char *status = "queued", *concl = NULL;
    int64_t upd = r->created;

    if (ph == SIM_RUNNING) {
        status = "in_progress";
        upd = sim_run_start(r);
    } else if (ph == SIM_DONE) {
        upd = sim_run_end(r);
        if (r->plan.status[0] && sim_github_open_status(r->plan.status)) {
            status = r->plan.status;
        } else {
            status = "completed";
            if (r->plan.status[0])
                concl = r->plan.status;
            else if (r->plan.outcome == SIM_PASS)
                concl = "success";
            else if (r->plan.outcome == SIM_CANCEL)
                concl = "cancelled";
            else
                concl = "failure";
        }
    }
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "name", name);
    u = xasprintf("WFR_kwLOsim%ld", r->id);
    cJSON_AddStringToObject(o, "node_id", u);
    free(u);
    cJSON_AddStringToObject(o, "head_branch", r->ref);
    cJSON_AddStringToObject(o, "head_sha", r->sha);
    u = xasprintf(".github/workflows/%s", r->job);
    cJSON_AddStringToObject(o, "path", u);
    free(u);
    cJSON_AddStringToObject(o, "display_title", r->title ? r->title : name);
    cJSON_AddNumberToObject(o, "run_number", (double)r->number);
    cJSON_AddStringToObject(o, "event", "workflow_dispatch");
    cJSON_AddStringToObject(o, "status", status);
    if (concl)
        cJSON_AddStringToObject(o, "conclusion", concl);
    else
        cJSON_AddNullToObject(o, "conclusion");
    cJSON_AddNumberToObject(o, "workflow_id", (double)r->workflow_id);
    cJSON_AddNumberToObject(o, "check_suite_id", (double)(r->id + 20000000000.0));
    u = xasprintf("%s/github/repos/%s/actions/runs/%ld", base, r->repo, r->id);
    cJSON_AddStringToObject(o, "url", u);
    free(u);
    u = xasprintf("%s/github/html/%s/actions/runs/%ld", base, r->repo, r->id);
    cJSON_AddStringToObject(o, "html_url", u);
    free(u);
    cJSON_AddItemToObject(o, "pull_requests", cJSON_CreateArray());
    cJSON_AddStringToObject(o, "created_at", sim_time_gh(r->created, ts, sizeof ts));
    cJSON_AddStringToObject(o, "updated_at", sim_time_gh(upd, ts, sizeof ts));
    cJSON_AddItemToObject(o, "actor", sim_github_user());
    cJSON_AddNumberToObject(o, "run_attempt", 1);
    cJSON_AddItemToObject(o, "referenced_workflows", cJSON_CreateArray());
    cJSON_AddStringToObject(o, "run_started_at", sim_time_gh(r->created, ts, sizeof ts));
    cJSON_AddItemToObject(o, "triggering_actor", sim_github_user());
    u = xasprintf("%s/github/repos/%s/actions/runs/%ld/jobs", base, r->repo, r->id);
    cJSON_AddStringToObject(o, "jobs_url", u);
    free(u);
    u = xasprintf("%s/github/repos/%s/actions/runs/%ld/cancel", base, r->repo, r->id);
    cJSON_AddStringToObject(o, "cancel_url", u);
    free(u);
    u = xasprintf("%s/github/repos/%s/actions/workflows/%ld", base, r->repo, r->workflow_id);
    cJSON_AddStringToObject(o, "workflow_url", u);
    free(u);
    hc = cJSON_AddObjectToObject(o, "head_commit");
    cJSON_AddStringToObject(hc, "id", r->sha);
    repo = cJSON_AddObjectToObject(o, "repository");
    cJSON_AddStringToObject(repo, "name", strchr(r->repo, '/') ? strchr(r->repo, '/') + 1 : r->repo);
    cJSON_AddStringToObject(repo, "full_name", r->repo);
    free(name);
    return o;
}

/* sim_github_auth - 1 if the request carries a good token; else 401 written. */
static int sim_github_auth(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *h = sim_req_header(rq, "Authorization"), *tok = NULL;

    if (!h) {
        sim_github_error(rp, 401, "Requires authentication");
        return 0;
    }
    if (strncasecmp(h, "Bearer ", 7) == 0)
        tok = h + 7;
    else if (strncasecmp(h, "token ", 6) == 0)
        tok = h + 6;
    if (tok && *tok && (!s->github_token || sim_secret_eq(tok, s->github_token))) {
        rq->auth = 1;
        return 1;
    }
    rq->auth = 0;
    sim_github_error(rp, 401, "Bad credentials");
    return 0;
}

/* sim_github_limit - the scenario's primary rate limit (default 5000 an hour). */
static long sim_github_limit(const struct sim *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sim_scenario_get(s, "github", "rateLimit"), "limit");
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (long)v->valuedouble : 5000;
}

/* sim_github_window - open a new rate-limit window when the last one is over. */
static void sim_github_window(struct sim *s, int64_t now)
{
    const cJSON *rl = sim_scenario_get(s, "github", "rateLimit");
    int64_t win = sim_scenario_ms(cJSON_GetObjectItemCaseSensitive(rl, "window"), 3600000);

    if (win < 1000)
        win = 1000;
    if (!s->gh_reset || now / 1000 >= s->gh_reset) {
        s->gh_reset = (now + win + 999) / 1000;
        s->gh_used = 0;
    }
}

/* sim_github_exceeded - the answer once the primary rate limit is used up. */
static void sim_github_exceeded(struct sim *s, struct sim_resp *rp)
{
    const cJSON *rl = sim_scenario_get(s, "github", "rateLimit");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rl, "status");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(rl, "retryAfter");
    int status = cJSON_IsNumber(st) && st->valueint == 429 ? 429 : 403;
    long after = cJSON_IsNumber(ra) ? (long)ra->valuedouble : 1;

    sim_github_error(rp, status, "API rate limit exceeded for this token. Wait for the limit "
                                 "to reset (see x-ratelimit-reset) before retrying.");
    if (after > 0)
        sim_resp_header(rp, "retry-after", "%ld", after);
}

/* sim_github_page - paging arguments: per_page (1..100, default 30), page (>= 1). */
static void sim_github_page(const struct sim_req *rq, int *per, int *page)
{
    const char *pp = sim_req_arg(rq, "per_page"), *pg = sim_req_arg(rq, "page");

    *per = pp ? atoi(pp) : 30;
    if (*per <= 0)
        *per = 30;
    if (*per > 100)
        *per = 100;
    *page = pg ? atoi(pg) : 1;
    if (*page <= 0)
        *page = 1;
}

/* sim_github_link - the Link header of a paged list, when there is more than one page. */
static void sim_github_link(const struct sim_req *rq, struct sim_resp *rp, int total, int per, int page)
{
    int last = total ? (total + per - 1) / per : 1;
    char buf[1024] = "";

    if (last <= 1)
        return;
    if (page < last)
        snprintf(buf, sizeof buf, "<%s%s?per_page=%d&page=%d>; rel=\"next\", "
                 "<%s%s?per_page=%d&page=%d>; rel=\"last\"",
                 rq->base, rq->path, per, page + 1, rq->base, rq->path, per, last);
    else
        snprintf(buf, sizeof buf, "<%s%s?per_page=%d&page=1>; rel=\"first\", "
                 "<%s%s?per_page=%d&page=%d>; rel=\"prev\"",
                 rq->base, rq->path, per, rq->base, rq->path, per, page - 1);
    sim_resp_header(rp, "Link", "%s", buf);
}

/* sim_github_paged - answer 200 with the page of list that rq asks for
 * (per_page, page), and its Link header. */
static void sim_github_paged(const struct sim_req *rq, struct sim_resp *rp, const cJSON *list)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    int per, page, i = 0;

    sim_github_page(rq, &per, &page);
    cJSON_ArrayForEach(e, list) {
        if (i >= (page - 1) * per && i < page * per)
            cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
        i++;
    }
    sim_resp_json(rp, 200, out);
    sim_github_link(rq, rp, cJSON_GetArraySize(list), per, page);
}

/* sim_github_flaky - a 503 for a flaky workflow, on any request that names it. */
static int sim_github_flaky(struct sim *s, struct sim_resp *rp, const char *wf)
{
    struct sim_plan p;

    sim_scenario_plan(s, SIM_SYS_GITHUB, wf, NULL, &p);
    if (!sim_flaky_hit(s, SIM_SYS_GITHUB, wf, p.flaky))
        return 0;
    sim_github_error(rp, 503, "No server is currently available to service your request. "
                              "Sorry about that. Please try resubmitting your request.");
    return 1;
}

/* sim_github_dispatch - POST /repos/{o}/{r}/actions/workflows/{wf}/dispatches. */
static void sim_github_dispatch(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                                const char *repo, const char *wf)
{
    const cJSON *ref, *inputs, *in, *title_in;
    cJSON *params;
    struct sim_plan plan;
    struct sim_run *r;
    char key[400], *branch, sha[41];
    const char *title_name = "promo_key", *ver;
    int64_t lag;

    if (rq->json_bad || (rq->json && !cJSON_IsObject(rq->json))) {
        sim_github_error(rp, 400, "Problems parsing JSON");
        return;
    }
    ref = cJSON_GetObjectItemCaseSensitive(rq->json, "ref");
    inputs = cJSON_GetObjectItemCaseSensitive(rq->json, "inputs");
    if (!cJSON_IsString(ref) || !*ref->valuestring) {
        sim_github_error(rp, 422, "Invalid request.\n\n\"ref\" wasn't supplied.");
        return;
    }
    if (inputs && !cJSON_IsObject(inputs) && !cJSON_IsNull(inputs)) {
        sim_github_error(rp, 422, "Invalid request.\n\nFor 'properties/inputs', it is not an object.");
        return;
    }
    if (cJSON_GetArraySize(inputs) > 25) {
        sim_github_error(rp, 422, "You may only define up to 25 inputs for a workflow_dispatch event.");
        return;
    }
    params = cJSON_CreateObject();
    cJSON_ArrayForEach(in, inputs) {
        char num[64];
        if (cJSON_IsString(in))
            cJSON_AddStringToObject(params, in->string, in->valuestring);
        else if (cJSON_IsBool(in))
            cJSON_AddStringToObject(params, in->string, cJSON_IsTrue(in) ? "true" : "false");
        else if (cJSON_IsNumber(in)) {
            snprintf(num, sizeof num, "%.15g", in->valuedouble);
            cJSON_AddStringToObject(params, in->string, num);
        } else {
            sim_github_error(rp, 422, "Invalid request.\n\nInput values must be strings, numbers or booleans.");
            cJSON_Delete(params);
            return;
        }
    }
    sim_scenario_plan(s, SIM_SYS_GITHUB, wf, params, &plan);
    if (!plan.exists) {
        sim_github_error(rp, 404, "Not Found");
        cJSON_Delete(params);
        return;
    }
    if (sim_flaky_hit(s, SIM_SYS_GITHUB, wf, plan.flaky)) {
        sim_github_error(rp, 503, "No server is currently available to service your request.");
        cJSON_Delete(params);
        return;
    }
    if (sim_ratelimit_hit(s, SIM_SYS_GITHUB, wf, plan.ratelimit)) {
        sim_github_error(rp, 429, "You have exceeded a secondary rate limit. Please wait a few "
                                  "minutes before you try again.");
        sim_resp_header(rp, "retry-after", "1");
        cJSON_Delete(params);
        return;
    }
    r = sim_run_new(s, SIM_SYS_GITHUB, wf);
    r->id = s->next_gh_run_id++;
    r->created = rq->now;
    r->repo = xstrdup(repo);
    r->workflow_id = sim_github_workflow_id(s, repo, wf);
    snprintf(key, sizeof key, "gh-runnum:%s/%s", repo, wf);
    r->number = sim_counter_next(s, key);
    branch = ref->valuestring;
    if (strncmp(branch, "refs/heads/", 11) == 0)
        branch += 11;
    else if (strncmp(branch, "refs/tags/", 10) == 0)
        branch += 10;
    r->ref = xstrdup(branch);
    if (cJSON_GetStringValue(sim_scenario_get(s, "github", "headSha")))
        r->sha = xstrdup(cJSON_GetStringValue(sim_scenario_get(s, "github", "headSha")));
    else {
        char *seed = xasprintf("%s@%s", repo, branch);
        sim_fake_sha(seed, sha);
        free(seed);
        r->sha = xstrdup(sha);
    }
    if (cJSON_GetStringValue(sim_scenario_get(s, "github", "titleInput")))
        title_name = cJSON_GetStringValue(sim_scenario_get(s, "github", "titleInput"));
    title_in = cJSON_GetObjectItemCaseSensitive(params, title_name);
    if (cJSON_IsString(title_in))
        r->title = xstrdup(title_in->valuestring);
    cJSON_Delete(r->params);
    r->params = params;
    r->plan = plan;
    lag = sim_scenario_ms(sim_scenario_get(s, "github", "dispatchLagMs"), 0);
    if (r->plan.queue_ms < lag)
        r->plan.queue_ms = lag;
    ver = sim_req_header(rq, "X-GitHub-Api-Version");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rq->json, "return_run_details"))
        || (ver && strcmp(ver, "2026-03-10") == 0)) {  /* the newer version always answers them */
        cJSON *o = cJSON_CreateObject();
        char *u;
        cJSON_AddNumberToObject(o, "workflow_run_id", (double)r->id);
        u = xasprintf("%s/github/repos/%s/actions/runs/%ld", rq->base, repo, r->id);
        cJSON_AddStringToObject(o, "run_url", u);
        free(u);
        u = xasprintf("%s/github/html/%s/actions/runs/%ld", rq->base, repo, r->id);
        cJSON_AddStringToObject(o, "html_url", u);
        free(u);
        sim_resp_json(rp, 200, o);
    } else {
        sim_resp_text(rp, 204, "", "");
    }
}

/* sim_github_run_matches - 1 if run r passes the list filters of rq. */
static int sim_github_run_matches(struct sim *s, const struct sim_req *rq, const struct sim_run *r,
                                  const cJSON *j)
{
    static const char *const f[][2] = {
        { "event", "event" }, { "branch", "head_branch" }, { "head_sha", "head_sha" },
    };
    const char *st = sim_req_arg(rq, "status");
    int64_t lag = sim_scenario_ms(sim_scenario_get(s, "github", "dispatchLagMs"), 0);
    size_t i;

    if (rq->now < r->created + lag)  /* GitHub lists a dispatched run a moment later */
        return 0;
    for (i = 0; i < ARRAY_LEN(f); i++) {
        const char *want = sim_req_arg(rq, f[i][0]);
        const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, f[i][1]));
        if (want && *want && (!have || strcmp(want, have) != 0))
            return 0;
    }
    if (st && *st) {
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(j, "conclusion"));
        if (!((a && strcmp(a, st) == 0) || (b && strcmp(b, st) == 0)))
            return 0;
    }
    return 1;
}

/* sim_github_runs - GET the runs of a repo, or of one workflow (wf not NULL). */
static void sim_github_runs(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                            const char *repo, const char *wf)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    const struct sim_run *r;
    long wid = wf ? sim_github_workflow_id(s, repo, wf) : 0;
    int per, page, total = 0;

    sim_github_page(rq, &per, &page);
    for (r = s->runs; r; r = r->next) {
        cJSON *j;
        if (r->sys != SIM_SYS_GITHUB || strcmp(r->repo, repo) != 0)
            continue;
        if (wf && strcmp(r->job, wf) != 0 && r->workflow_id != wid)
            continue;
        j = sim_github_run_json(s, r, rq->base, rq->now);
        if (!sim_github_run_matches(s, rq, r, j)) {
            cJSON_Delete(j);
            continue;
        }
        cJSON_InsertItemInArray(arr, 0, j);  /* newest first */
        total++;
    }
    cJSON_AddNumberToObject(o, "total_count", total);
    {
        cJSON *pagearr = cJSON_AddArrayToObject(o, "workflow_runs"), *e;
        int i = 0;
        cJSON_ArrayForEach(e, arr) {
            if (i >= (page - 1) * per && i < page * per)
                cJSON_AddItemToArray(pagearr, cJSON_Duplicate(e, 1));
            i++;
        }
    }
    cJSON_Delete(arr);
    sim_resp_json(rp, 200, o);
    sim_github_link(rq, rp, total, per, page);
}

/* sim_github_label_key - "o/r#n", the key of an issue's labels. */
static char *sim_github_issue_key(const char *repo, const char *n)
{
    return xasprintf("%s#%s", repo, n);
}

/* sim_github_label_obj - a label object for name (ids stable per name). */
static cJSON *sim_github_label_obj(struct sim *s, const struct sim_req *rq, const char *repo,
                                   const char *name)
{
    cJSON *l = cJSON_CreateObject();
    char key[400], *u, *enc = sim_url_encode(name);
    long id;

    snprintf(key, sizeof key, "gh-label:%s", name);
    if (!sim_counter_get(s, key))
        sim_counter_set(s, key, s->next_label_id++);
    id = sim_counter_get(s, key);
    cJSON_AddNumberToObject(l, "id", (double)id);
    u = xasprintf("LA_kwDOsim%ld", id);
    cJSON_AddStringToObject(l, "node_id", u);
    free(u);
    u = xasprintf("%s/github/repos/%s/labels/%s", rq->base, repo, enc);
    cJSON_AddStringToObject(l, "url", u);
    free(u);
    free(enc);
    cJSON_AddStringToObject(l, "name", name);
    cJSON_AddStringToObject(l, "color", "ededed");
    cJSON_AddBoolToObject(l, "default", 0);
    cJSON_AddNullToObject(l, "description");
    return l;
}

/* sim_github_labels - GET/POST/PUT/DELETE /repos/{o}/{r}/issues/{n}/labels[/{name}]. */
static void sim_github_labels(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                              const char *repo, const char *num, const char *name)
{
    char *key = sim_github_issue_key(repo, num);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(s->gh_labels, key), *l;
    const char *m = rq->method;

    if (!list) {
        list = cJSON_AddArrayToObject(s->gh_labels, key);
    }
    if (name) {
        int i = 0, found = -1;
        if (strcmp(m, "DELETE") != 0) {
            sim_github_error(rp, 404, "Not Found");
            goto out;
        }
        cJSON_ArrayForEach(l, list) {
            if (strcasecmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "name")), name) == 0)
                found = i;
            i++;
        }
        if (found < 0) {
            sim_github_error(rp, 404, "Label does not exist");
            goto out;
        }
        cJSON_DeleteItemFromArray(list, found);
        sim_resp_json(rp, 200, cJSON_Duplicate(list, 1));
        goto out;
    }
    if (strcmp(m, "GET") == 0) {
        sim_github_paged(rq, rp, list);
    } else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
        const cJSON *want, *w;
        if (rq->json_bad) {
            sim_github_error(rp, 400, "Problems parsing JSON");
            goto out;
        }
        want = cJSON_IsArray(rq->json) ? rq->json : cJSON_GetObjectItemCaseSensitive(rq->json, "labels");
        if (!cJSON_IsArray(want) || (cJSON_GetArraySize(want) == 0 && strcmp(m, "POST") == 0)) {
            sim_github_validation(rp, "Label", "labels", "missing_field",
                                  "Invalid request: at least one label is required.");
            goto out;
        }
        cJSON_ArrayForEach(w, want) {
            const char *n = cJSON_IsString(w) ? w->valuestring
                          : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
            if (!n || !*n || strlen(n) > 50) {
                sim_github_validation(rp, "Label", "name", "invalid", "A label name must be a "
                                      "non-empty string of at most 50 characters.");
                goto out;
            }
        }
        if (strcmp(m, "PUT") == 0)
            while (cJSON_GetArraySize(list) > 0)
                cJSON_DeleteItemFromArray(list, 0);
        cJSON_ArrayForEach(w, want) {
            const char *n = cJSON_IsString(w) ? w->valuestring
                          : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "name"));
            int have = 0;
            cJSON_ArrayForEach(l, list)
                if (strcasecmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "name")), n) == 0)
                    have = 1;
            if (!have)
                cJSON_AddItemToArray(list, sim_github_label_obj(s, rq, repo, n));
        }
        sim_resp_json(rp, 200, cJSON_Duplicate(list, 1));
    } else {
        sim_github_error(rp, 404, "Not Found");
    }
out:
    free(key);
}

/* sim_github_status_post - POST /repos/{o}/{r}/statuses/{sha}. */
static void sim_github_status_post(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                                   const char *repo, const char *sha)
{
    static const char *const states[] = { "error", "failure", "pending", "success" };
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "state"));
    const char *desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "description"));
    const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "target_url"));
    const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "context"));
    char *key, *u, ts[40];
    cJSON *st, *list;
    size_t i;
    int ok = 0;

    if (rq->json_bad || !cJSON_IsObject(rq->json)) {
        sim_github_error(rp, rq->json_bad ? 400 : 422, rq->json_bad ? "Problems parsing JSON"
                                                                    : "Invalid request.");
        return;
    }
    for (i = 0; state && i < ARRAY_LEN(states); i++)
        if (strcmp(state, states[i]) == 0)
            ok = 1;
    if (!ok) {
        sim_github_validation(rp, "Status", "state", "custom",
                              "state must be one of error, failure, pending, success");
        return;
    }
    if (desc && strlen(desc) > 140) {
        sim_github_validation(rp, "Status", "description", "custom",
                              "description is too long (maximum is 140 characters)");
        return;
    }
    st = cJSON_CreateObject();
    u = xasprintf("%s/github/repos/%s/statuses/%s", rq->base, repo, sha);
    cJSON_AddStringToObject(st, "url", u);
    free(u);
    cJSON_AddStringToObject(st, "avatar_url", "https://avatars.githubusercontent.com/u/4242?v=4");
    cJSON_AddNumberToObject(st, "id", (double)s->next_status_id);
    u = xasprintf("SC_kwDOsim%ld", s->next_status_id++);
    cJSON_AddStringToObject(st, "node_id", u);
    free(u);
    cJSON_AddStringToObject(st, "state", state);
    if (desc) cJSON_AddStringToObject(st, "description", desc);
    else cJSON_AddNullToObject(st, "description");
    if (target) cJSON_AddStringToObject(st, "target_url", target);
    else cJSON_AddNullToObject(st, "target_url");
    cJSON_AddStringToObject(st, "context", ctx && *ctx ? ctx : "default");
    cJSON_AddStringToObject(st, "created_at", sim_time_gh(rq->now, ts, sizeof ts));
    cJSON_AddStringToObject(st, "updated_at", ts);
    cJSON_AddItemToObject(st, "creator", sim_github_user());
    key = xasprintf("%s@%s", repo, sha);
    list = cJSON_GetObjectItemCaseSensitive(s->gh_statuses, key);
    if (!list)
        list = cJSON_AddArrayToObject(s->gh_statuses, key);
    cJSON_InsertItemInArray(list, 0, cJSON_Duplicate(st, 1));
    free(key);
    sim_resp_json(rp, 201, st);
    sim_resp_header(rp, "Location", "%s/github/repos/%s/statuses/%s", rq->base, repo, sha);
}

/* sim_github_statuses_get - GET /commits/{ref}/statuses (all, newest first) or
 * /commits/{ref}/status (combined: the latest per context). */
static void sim_github_statuses_get(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                                    const char *repo, const char *ref, int combined)
{
    char *key = xasprintf("%s@%s", repo, ref);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(s->gh_statuses, key), *e;

    free(key);
    if (!combined) {
        sim_github_paged(rq, rp, list);
    } else {
        cJSON *o = cJSON_CreateObject(), *sts = cJSON_CreateArray();
        const char *state = "pending";
        int any_fail = 0, any_pending = 0, n = 0;
        cJSON_ArrayForEach(e, list) {
            const cJSON *x;
            const char *ctx = cJSON_GetStringValue(cJSON_GetObjectItem(e, "context"));
            int seen = 0;
            cJSON_ArrayForEach(x, sts)
                if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "context")), ctx) == 0)
                    seen = 1;
            if (seen)
                continue;
            cJSON_AddItemToArray(sts, cJSON_Duplicate(e, 1));
            n++;
            ctx = cJSON_GetStringValue(cJSON_GetObjectItem(e, "state"));
            if (strcmp(ctx, "error") == 0 || strcmp(ctx, "failure") == 0)
                any_fail = 1;
            else if (strcmp(ctx, "pending") == 0)
                any_pending = 1;
        }
        if (any_fail)
            state = "failure";
        else if (!any_pending && n > 0)
            state = "success";
        cJSON_AddStringToObject(o, "state", state);
        cJSON_AddItemToObject(o, "statuses", sts);
        cJSON_AddStringToObject(o, "sha", ref);
        cJSON_AddNumberToObject(o, "total_count", n);
        sim_resp_json(rp, 200, o);
    }
}

/* sim_github_comment_find - the comment with id in repo, or NULL. */
static cJSON *sim_github_comment_find(struct sim *s, const char *repo, const char *id)
{
    cJSON *c;
    char *end;
    long n = strtol(id, &end, 10);

    if (*end)
        return NULL;
    cJSON_ArrayForEach(c, s->gh_comments) {
        const char *issue = cJSON_GetStringValue(cJSON_GetObjectItem(c, "_issue"));
        if ((long)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "id")) == n && issue
            && strncmp(issue, repo, strlen(repo)) == 0 && issue[strlen(repo)] == '#')
            return c;
    }
    return NULL;
}

/* sim_github_comment_public - a copy of a comment without its private keys. */
static cJSON *sim_github_comment_public(const cJSON *c)
{
    cJSON *o = cJSON_Duplicate(c, 1);

    cJSON_DeleteItemFromObjectCaseSensitive(o, "_issue");
    return o;
}

/* sim_github_comment_body - the "body" of a comment request, or NULL with 400/422 written. */
static const char *sim_github_comment_body(struct sim_req *rq, struct sim_resp *rp)
{
    const char *b;

    if (rq->json_bad) {
        sim_github_error(rp, 400, "Problems parsing JSON");
        return NULL;
    }
    b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "body"));
    if (!b || !*b) {
        sim_github_validation(rp, "IssueComment", "body", "missing_field", NULL);
        return NULL;
    }
    if (strlen(b) > 65536) {
        sim_github_validation(rp, "IssueComment", "body", "custom",
                              "body is too long (maximum is 65536 characters)");
        return NULL;
    }
    return b;
}

/* sim_github_comments - issue comments: list, create, get, edit, delete. */
static void sim_github_comments(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                                const char *repo, const char *num, const char *id)
{
    const char *m = rq->method, *body;
    char ts[40], *u;
    cJSON *c;

    if (id) {
        c = sim_github_comment_find(s, repo, id);
        if (!c) {
            sim_github_error(rp, 404, "Not Found");
        } else if (strcmp(m, "GET") == 0) {
            sim_resp_json(rp, 200, sim_github_comment_public(c));
        } else if (strcmp(m, "PATCH") == 0) {
            if (!(body = sim_github_comment_body(rq, rp)))
                return;
            cJSON_ReplaceItemInObjectCaseSensitive(c, "body", cJSON_CreateString(body));
            cJSON_ReplaceItemInObjectCaseSensitive(c, "updated_at",
                                                   cJSON_CreateString(sim_time_gh(rq->now, ts, sizeof ts)));
            sim_resp_json(rp, 200, sim_github_comment_public(c));
        } else if (strcmp(m, "DELETE") == 0) {
            cJSON_ArrayForEach(c, s->gh_comments)
                if (c == sim_github_comment_find(s, repo, id))
                    break;
            cJSON_Delete(cJSON_DetachItemViaPointer(s->gh_comments, c));
            sim_resp_text(rp, 204, "", "");
        } else {
            sim_github_error(rp, 404, "Not Found");
        }
        return;
    }
    if (strcmp(m, "GET") == 0) {
        cJSON *out = cJSON_CreateArray();
        char *key = sim_github_issue_key(repo, num);
        int per, page, i = 0, total = 0;
        sim_github_page(rq, &per, &page);
        cJSON_ArrayForEach(c, s->gh_comments)
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "_issue")), key) == 0) {
                if (i >= (page - 1) * per && i < page * per)
                    cJSON_AddItemToArray(out, sim_github_comment_public(c));
                i++;
                total++;
            }
        free(key);
        sim_resp_json(rp, 200, out);
        sim_github_link(rq, rp, total, per, page);
    } else if (strcmp(m, "POST") == 0) {
        long cid;
        if (!(body = sim_github_comment_body(rq, rp)))
            return;
        cid = s->next_comment_id++;
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "id", (double)cid);
        u = xasprintf("IC_kwDOsim%ld", cid);
        cJSON_AddStringToObject(c, "node_id", u);
        free(u);
        u = xasprintf("%s/github/repos/%s/issues/comments/%ld", rq->base, repo, cid);
        cJSON_AddStringToObject(c, "url", u);
        free(u);
        u = xasprintf("%s/github/html/%s/pull/%s#issuecomment-%ld", rq->base, repo, num, cid);
        cJSON_AddStringToObject(c, "html_url", u);
        free(u);
        u = xasprintf("%s/github/repos/%s/issues/%s", rq->base, repo, num);
        cJSON_AddStringToObject(c, "issue_url", u);
        free(u);
        cJSON_AddStringToObject(c, "body", body);
        cJSON_AddItemToObject(c, "user", sim_github_user());
        cJSON_AddStringToObject(c, "created_at", sim_time_gh(rq->now, ts, sizeof ts));
        cJSON_AddStringToObject(c, "updated_at", ts);
        cJSON_AddStringToObject(c, "author_association", "NONE");
        u = sim_github_issue_key(repo, num);
        cJSON_AddStringToObject(c, "_issue", u);
        free(u);
        cJSON_AddItemToArray(s->gh_comments, c);
        sim_resp_json(rp, 201, sim_github_comment_public(c));
        sim_resp_header(rp, "Location", "%s/github/repos/%s/issues/comments/%ld", rq->base, repo, cid);
    } else {
        sim_github_error(rp, 404, "Not Found");
    }
}

/* sim_github_positive - 1 if s is a positive decimal number. */
static int sim_github_positive(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);

    return *s && !*end && n > 0;
}

/* sim_github_route - dispatch on the path below /github/repos/{o}/{r}. */
static void sim_github_route(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    char **g = rq->seg + 3, *repo;
    int n = rq->nseg - 3;
    const char *m = rq->method;
    int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    struct sim_run *r;

    repo = xasprintf("%s/%s", rq->seg[1], rq->seg[2]);
    if (n >= 2 && strcmp(g[0], "actions") == 0 && strcmp(g[1], "workflows") == 0) {
        if (n == 4 && post && strcmp(g[3], "dispatches") == 0)
            sim_github_dispatch(s, rq, rp, repo, g[2]);
        else if (n == 4 && get && strcmp(g[3], "runs") == 0) {
            struct sim_plan p;
            sim_scenario_plan(s, SIM_SYS_GITHUB, g[2], NULL, &p);
            if (!p.exists)
                sim_github_error(rp, 404, "Not Found");
            else if (!sim_github_flaky(s, rp, g[2]))
                sim_github_runs(s, rq, rp, repo, g[2]);
        } else
            sim_github_error(rp, 404, "Not Found");
    } else if (n >= 2 && strcmp(g[0], "actions") == 0 && strcmp(g[1], "runs") == 0) {
        if (n == 2 && get) {
            sim_github_runs(s, rq, rp, repo, NULL);
            goto out;
        }
        r = n >= 3 && sim_github_positive(g[2]) ? sim_run_find(s, SIM_SYS_GITHUB, atol(g[2])) : NULL;
        if (!r || strcmp(r->repo, repo) != 0) {
            sim_github_error(rp, 404, "Not Found");
        } else if (n == 3 && get) {
            if (!sim_github_flaky(s, rp, r->job))
                sim_resp_json(rp, 200, sim_github_run_json(s, r, rq->base, rq->now));
        } else if (n == 4 && post && strcmp(g[3], "cancel") == 0) {
            int open = r->plan.status[0] && sim_github_open_status(r->plan.status);
            if (sim_run_phase(r, rq->now) == SIM_DONE && !open) {
                sim_github_error(rp, 409, "Cannot cancel a workflow run that is completed.");
            } else {
                if (open && sim_run_phase(r, rq->now) == SIM_DONE) {
                    r->ended = rq->now;
                    r->plan.outcome = SIM_CANCEL;
                    r->plan.status[0] = 0;
                } else {
                    sim_run_finish(r, rq->now, SIM_CANCEL, NULL);
                }
                sim_resp_json(rp, 202, cJSON_CreateObject());
            }
        } else {
            sim_github_error(rp, 404, "Not Found");
        }
    } else if (n >= 3 && strcmp(g[0], "issues") == 0 && strcmp(g[1], "comments") == 0) {
        if (n == 3)
            sim_github_comments(s, rq, rp, repo, NULL, g[2]);
        else
            sim_github_error(rp, 404, "Not Found");
    } else if (n >= 3 && strcmp(g[0], "issues") == 0 && sim_github_positive(g[1])) {
        if (n == 3 && strcmp(g[2], "labels") == 0)
            sim_github_labels(s, rq, rp, repo, g[1], NULL);
        else if (n == 4 && strcmp(g[2], "labels") == 0)
            sim_github_labels(s, rq, rp, repo, g[1], g[3]);
        else if (n == 3 && strcmp(g[2], "comments") == 0)
            sim_github_comments(s, rq, rp, repo, g[1], NULL);
        else
            sim_github_error(rp, 404, "Not Found");
    } else if (n == 2 && strcmp(g[0], "statuses") == 0 && post) {
        sim_github_status_post(s, rq, rp, repo, g[1]);
    } else if (n == 3 && strcmp(g[0], "commits") == 0 && get && strcmp(g[2], "statuses") == 0) {
        sim_github_statuses_get(s, rq, rp, repo, g[1], 0);
    } else if (n == 3 && strcmp(g[0], "commits") == 0 && get && strcmp(g[2], "status") == 0) {
        sim_github_statuses_get(s, rq, rp, repo, g[1], 1);
    } else {
        sim_github_error(rp, 404, "Not Found");
    }
out:
    free(repo);
}

/* sim_github_etag - W/"<sha256 of the body>" into out (>= 72 bytes). */
static void sim_github_etag(const struct sim_resp *rp, char *out, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    EVP_Digest(rp->body ? rp->body : "", rp->len, md, &n, EVP_sha256(), NULL);
    for (i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * n] = 0;
    snprintf(out, len, "W/\"%s\"", hex);
}

/* sim_github_handle - everything under /github. */
void sim_github_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *ua = sim_req_header(rq, "User-Agent"), *ver = sim_req_header(rq, "X-GitHub-Api-Version");
    const char *acc = sim_req_header(rq, "Accept"), *inm = sim_req_header(rq, "If-None-Match");
    long limit = sim_github_limit(s);
    int counted = 1;
    char etag[160];

    sim_github_window(s, rq->now);
    if (!ua || !*ua) {
        sim_resp_text(rp, 403, "text/plain; charset=utf-8",
                      "Request forbidden by administrative rules. Please make sure your request "
                      "has a User-Agent header (https://docs.github.com/rest/overview/"
                      "resources-in-the-rest-api#user-agent-required).\n");
        counted = 0;
    } else if (ver && strcmp(ver, "2022-11-28") != 0 && strcmp(ver, "2026-03-10") != 0) {
        char *m = xasprintf("API version %s is not supported.", ver);
        sim_github_error(rp, 400, m);
        free(m);
    } else if (acc && !strstr(acc, "json") && !strstr(acc, "*/*")
               && !strstr(acc, "application/vnd.github")) {
        char *m = xasprintf("Unsupported 'Accept' header: '%s'. Must accept 'application/json'.", acc);
        sim_github_error(rp, 415, m);
        free(m);
    } else if (rq->nseg == 1 && strcmp(rq->seg[0], "rate_limit") == 0 && strcmp(rq->method, "GET") == 0) {
        cJSON *o, *core, *res;
        if (!sim_github_auth(s, rq, rp))
            goto headers;
        o = cJSON_CreateObject();
        core = cJSON_CreateObject();
        cJSON_AddNumberToObject(core, "limit", (double)limit);
        cJSON_AddNumberToObject(core, "used", (double)s->gh_used);
        cJSON_AddNumberToObject(core, "remaining", (double)(limit > s->gh_used ? limit - s->gh_used : 0));
        cJSON_AddNumberToObject(core, "reset", (double)s->gh_reset);
        res = cJSON_AddObjectToObject(o, "resources");
        cJSON_AddItemToObject(res, "core", cJSON_Duplicate(core, 1));
        cJSON_AddItemToObject(o, "rate", core);
        sim_resp_json(rp, 200, o);
        counted = 0;  /* GET /rate_limit costs nothing */
    } else if (!sim_github_auth(s, rq, rp)) {
        ;
    } else if (s->gh_used >= limit) {
        sim_github_exceeded(s, rp);
        counted = 0;
    } else if (rq->nseg >= 4 && strcmp(rq->seg[0], "repos") == 0) {
        sim_github_route(s, rq, rp);
    } else {
        sim_github_error(rp, 404, "Not Found");
    }
    if (rp->status == 200 && strcmp(rq->method, "GET") == 0 && counted) {
        sim_github_etag(rp, etag, sizeof etag);
        sim_resp_header(rp, "ETag", "%s", etag);
        if (inm && strstr(inm, etag + 2)) {
            free(rp->body);
            rp->body = NULL;
            rp->len = 0;
            rp->status = 304;
            counted = 0;  /* a 304 costs no rate limit */
        }
        sim_resp_header(rp, "Cache-Control", "private, max-age=60, s-maxage=60");
        sim_resp_header(rp, "Vary", "Accept, Authorization, Cookie, X-GitHub-OTP");
    }
    if (counted && rq->auth == 1)
        s->gh_used++;
headers:
    sim_resp_header(rp, "x-ratelimit-limit", "%ld", limit);
    sim_resp_header(rp, "x-ratelimit-remaining", "%ld", limit > s->gh_used ? limit - s->gh_used : 0);
    sim_resp_header(rp, "x-ratelimit-used", "%ld", s->gh_used);
    sim_resp_header(rp, "x-ratelimit-reset", "%lld", (long long)s->gh_reset);
    sim_resp_header(rp, "x-ratelimit-resource", "core");
    sim_resp_header(rp, "x-github-request-id", "SIM0:%04lX:%06lX:%08lX", (long)getpid() & 0xffff,
                    s->seq + 1, (long)(rq->now & 0xffffffff));
    sim_resp_header(rp, "x-github-api-version-selected", "%s", ver && rp->status != 400 ? ver : "2022-11-28");
}
