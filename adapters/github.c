/* github.c - the GitHub Actions adapter (provider "github-actions"):
 * workflow_dispatch with the key as input promo_key, run status with ETags,
 * lookup by key in the run name, cancel, rate limits.
 *
 * The job is "WORKFLOW" (a file name such as promo.yml, or a numeric id) in
 * the tracker's repository, or "OWNER/REPO:WORKFLOW". The ref is the policy's
 * "ref" parameter when it gives one, else the tracker's head ref; a bare SHA
 * cannot be dispatched. Every other parameter becomes a string input, plus
 * promo_key = the idempotency key (at most 25 inputs in all).
 *
 * Finding a run by key: the dispatch API returns no run (204) on older
 * versions, and a run must be found again after a crash, so the workflow
 * must show the key in its run name:
 *
 *     on: { workflow_dispatch: { inputs: { promo_key: { required: false } } } }
 *     run-name: "promo ${{ inputs.promo_key }}"
 *
 * The API shows the run name as display_title; find lists the workflow's
 * workflow_dispatch runs (50 newest, filtered by branch when the ref is one)
 * and takes the one whose display_title contains the key.
 *
 * "Triggered, run not located yet": when the dispatch was accepted (204) but
 * the run is not listed yet, trigger succeeds with run.status RUN_QUEUED and
 * run.id "" (found = 0). The caller persists that and asks again later:
 * status() on a run with an empty id looks it up by key (returning the same
 * queued, id-less run while it is still not listed), and so does find().
 *
 * Status uses conditional requests: the ETag of the last answer is kept in
 * run.etag and sent as If-None-Match; a 304 (which costs no rate limit)
 * gives not_modified = 1 and the run unchanged. Every answer's
 * x-ratelimit-remaining goes to res.rate_remaining; a 403 or 429 that says
 * the limit is exhausted (remaining 0, or a retry-after) is a temporary
 * error with res.retry_after_ms set.
 *
 * Conclusion "neutral" is NOT a pass here. GitHub's branch protection lets a
 * neutral check satisfy a required status check, but for a workflow run it
 * means the run neither passed nor failed; promo promotes only on
 * "success" (DESIGN.md: never promote what was not tested). */
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

#define GITHUB_MAX_INPUTS 25
#define GITHUB_KEY_INPUT "promo_key"
#define GITHUB_DEFAULT_API "https://api.github.com"
#define GITHUB_MIN_WAIT_MS 60000    /* over the limit with no hint: wait a minute */

enum github_step { GITHUB_STEP_DISPATCH, GITHUB_STEP_LIST, GITHUB_STEP_RUN, GITHUB_STEP_CANCEL };

/* github_copy - copy n bytes of s into buf, or -1 when it does not fit. */
static int github_copy(char *buf, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

/* github_split_job - "WORKFLOW" or "OWNER/REPO:WORKFLOW". */
int github_split_job(const char *job, const char *default_repo, char *owner, size_t osize,
                     char *repo, size_t rsize, char *wf, size_t wsize, char *err, size_t errlen)
{
    const char *colon, *rp, *slash;
    size_t rn;

    if (!job || !job[0]) {
        snprintf(err, errlen, "job: empty (want WORKFLOW or OWNER/REPO:WORKFLOW)");
        return -1;
    }
    colon = strchr(job, ':');
    if (colon) {
        rp = job;
        rn = (size_t)(colon - job);
    } else {
        rp = default_repo;
        rn = rp ? strlen(rp) : 0;
        if (!rn) {
            snprintf(err, errlen, "job %s: no repository (give OWNER/REPO:WORKFLOW)", log_q(job));
            return -1;
        }
    }
    slash = memchr(rp, '/', rn);
    if (!slash || !adapter_name_ok(rp, (size_t)(slash - rp))
        || !adapter_name_ok(slash + 1, rn - (size_t)(slash - rp) - 1)) {
        snprintf(err, errlen, "job %s: repository is not OWNER/REPO", log_q(job));
        return -1;
    }
    if (colon ? !adapter_name_ok(colon + 1, strlen(colon + 1)) : !adapter_name_ok(job, strlen(job))) {
        snprintf(err, errlen, "job %s: workflow is not a file name or id", log_q(job));
        return -1;
    }
    if (github_copy(owner, osize, rp, (size_t)(slash - rp)) < 0
        || github_copy(repo, rsize, slash + 1, rn - (size_t)(slash - rp) - 1) < 0
        || github_copy(wf, wsize, colon ? colon + 1 : job, strlen(colon ? colon + 1 : job)) < 0) {
        snprintf(err, errlen, "job %s: too long", log_q(job));
        return -1;
    }
    return 0;
}

/* github_map_status - status (and conclusion when completed) to a run status:
 * queued, requested, pending, waiting -> QUEUED; in_progress -> RUNNING;
 * action_required (status or conclusion) -> RUNNING: it waits on a person,
 * the monitor's timeout applies; completed: success -> PASSED; cancelled ->
 * CANCELLED; timed_out -> TIMED_OUT; neutral, failure, startup_failure,
 * stale, skipped, none and anything else -> FAILED. An unknown status is
 * FAILED too: it is not a pass, and guessing it is in flight could wait forever. */
enum run_status github_map_status(const char *status, const char *conclusion)
{
    static const char *const queued[] = { "queued", "requested", "pending", "waiting" };
    size_t i;

    if (!status)
        return RUN_FAILED;
    for (i = 0; i < ARRAY_LEN(queued); i++)
        if (strcmp(status, queued[i]) == 0)
            return RUN_QUEUED;
    if (strcmp(status, "in_progress") == 0 || strcmp(status, "action_required") == 0)
        return RUN_RUNNING;
    if (strcmp(status, "completed") != 0 || !conclusion)
        return RUN_FAILED;
    if (strcmp(conclusion, "success") == 0)
        return RUN_PASSED;
    if (strcmp(conclusion, "cancelled") == 0)
        return RUN_CANCELLED;
    if (strcmp(conclusion, "timed_out") == 0)
        return RUN_TIMED_OUT;
    if (strcmp(conclusion, "action_required") == 0)
        return RUN_RUNNING;
    /* neutral (deliberately: see the file comment), failure, startup_failure, stale, skipped, ... */
    return RUN_FAILED;
}

/* github_parse_run - a workflow run object into run (api untouched). */
int github_parse_run(const cJSON *o, struct adapter_run *run, char *err, size_t errlen)
{
    char status[40], conclusion[40], started[40], updated[40];
    struct adapter_run r = *run;
    int64_t t0, t1;

    if (adapter_json_run(o, "workflow run", "id", "run", "html_url", &r, err, errlen) < 0
        || adapter_json_str(o, "status", 1, status, sizeof(status), err, errlen) < 0
        || adapter_json_str(o, "conclusion", 0, conclusion, sizeof(conclusion), err, errlen) < 0
        || adapter_json_str(o, "run_started_at", 0, started, sizeof(started), err, errlen) < 0
        || adapter_json_str(o, "updated_at", 0, updated, sizeof(updated), err, errlen) < 0)
        return -1;
    r.status = github_map_status(status, conclusion[0] ? conclusion : NULL);
    if (conclusion[0])
        snprintf(r.detail, sizeof(r.detail), "%s/%s", status, conclusion);
    else
        str_copy(r.detail, status, sizeof(r.detail));
    r.duration_ms = 0;
    if (strcmp(status, "completed") == 0 && started[0] && updated[0]
        && (t0 = time_parse_iso(started)) >= 0 && (t1 = time_parse_iso(updated)) >= t0)
        r.duration_ms = t1 - t0;
    *run = r;
    return 0;
}

/* github_find_run - the run of workflow_runs[] whose display_title contains key. */
int github_find_run(const cJSON *list, const char *key, struct adapter_run *run,
                    char *err, size_t errlen)
{
    const cJSON *runs, *r, *title;

    if (!cJSON_IsObject(list)) {
        snprintf(err, errlen, "runs: not an object");
        return -1;
    }
    runs = cJSON_GetObjectItemCaseSensitive(list, "workflow_runs");
    if (!cJSON_IsArray(runs)) {
        snprintf(err, errlen, "field workflow_runs: %s", runs ? "not an array" : "missing");
        return -1;
    }
    if (!key || !key[0]) {
        snprintf(err, errlen, "no key to look for");
        return -1;
    }
    cJSON_ArrayForEach(r, runs) {
        if (!cJSON_IsObject(r)) {
            snprintf(err, errlen, "field workflow_runs[]: not an object");
            return -1;
        }
        title = cJSON_GetObjectItemCaseSensitive(r, "display_title");
        if (title && !cJSON_IsNull(title) && !cJSON_IsString(title)) {
            snprintf(err, errlen, "field workflow_runs[].display_title: not a string");
            return -1;
        }
        if (cJSON_IsString(title) && strstr(title->valuestring, key)) {
            memset(run, 0, sizeof(*run));
            return github_parse_run(r, run, err, errlen) < 0 ? -1 : 1;
        }
    }
    return 0;
}

/* github_dispatch_body - the workflow_dispatch request body. */
char *github_dispatch_body(const cJSON *params, const char *key, const char *ref,
                           char *err, size_t errlen)
{
    cJSON *o, *inputs;
    const cJSON *p;

    if (!ref || !ref[0]) {
        snprintf(err, errlen, "github-actions needs a ref (headRef or a 'ref' parameter)");
        return NULL;
    }
    if (adapter_params_check(params, GITHUB_KEY_INPUT, 1, NULL, err, errlen) < 0)
        return NULL;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ref", ref);
    inputs = cJSON_AddObjectToObject(o, "inputs");
    cJSON_ArrayForEach(p, params) {
        if (strcmp(p->string, "ref") == 0)
            continue;
        if (cJSON_GetArraySize(inputs) + 1 >= GITHUB_MAX_INPUTS) {
            snprintf(err, errlen, "parameters: more than %d inputs with %s", GITHUB_MAX_INPUTS,
                     GITHUB_KEY_INPUT);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(inputs, p->string, p->valuestring);
    }
    cJSON_AddStringToObject(inputs, GITHUB_KEY_INPUT, key);
    cJSON_AddTrueToObject(o, "return_run_details");
    return adapter_json_text(o, err, errlen);
}

/* github_parse_dispatch - {workflow_run_id, run_url, html_url}. */
int github_parse_dispatch(const cJSON *o, struct adapter_run *run, char *err, size_t errlen)
{
    char api[sizeof(run->api)];
    struct adapter_run r = *run;

    if (adapter_json_run(o, "dispatch answer", "workflow_run_id", "run", "html_url", &r, err, errlen) < 0
        || adapter_json_str(o, "run_url", 0, api, sizeof(api), err, errlen) < 0)
        return -1;
    r.status = RUN_QUEUED;
    str_copy(r.detail, "dispatched", sizeof(r.detail));
    *run = r;
    return 0;
}

/* github_digits - s as a non-negative decimal (at most 15 digits), or -1. */
static int64_t github_digits(const char *s)
{
    return s ? str_uint(s, s + strlen(s), 999999999999999LL) : -1;
}

/* github_rate - rate-limit headers into res; 1 when the limit is exhausted. */
int github_rate(const char *remaining, const char *reset, const char *retry_after, int64_t now_s,
                struct adapter_result *res)
{
    int64_t rem = github_digits(remaining), rst = github_digits(reset), ra = github_digits(retry_after);

    if (rem >= 0)
        res->rate_remaining = (long)rem;
    if (ra >= 0) {
        res->retry_after_ms = ra * 1000;
        return 1;
    }
    if (rem == 0) {
        res->retry_after_ms = rst > now_s ? (rst - now_s) * 1000 : 1000;
        return 1;
    }
    return 0;
}

/* github_branch_filter - the branch of ref for the runs list, or NULL. */
const char *github_branch_filter(const char *ref)
{
    if (!ref || !ref[0] || adapter_looks_like_sha(ref))
        return NULL;
    if (strncmp(ref, "refs/heads/", 11) == 0)
        return ref[11] ? ref + 11 : NULL;
    if (strncmp(ref, "refs/", 5) == 0)
        return NULL;
    return ref;
}

/* github_open - github.apiUrl and the token (Bearer); the repository's and the workflow's API URLs. */
static int github_open(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    const struct config *cfg = c->ctx.cfg;
    char owner[128], repo[128], wf[256], *base, *eo, *er, *ew;

    if (!(base = adapter_call_token(c, cfg->github.api_url && cfg->github.api_url[0] ? cfg->github.api_url
                                    : GITHUB_DEFAULT_API, "github.apiUrl", cfg->github.token,
                                    "github.tokenFile", "Authorization: Bearer ", err, errlen)))
        return -1;
    if (github_split_job(t->job, t->repository, owner, sizeof(owner), repo, sizeof(repo),
                         wf, sizeof(wf), err, errlen) < 0) {
        free(base);
        return -1;
    }
    eo = adapter_escape(owner);
    er = adapter_escape(repo);
    ew = adapter_escape(wf);
    c->base = xasprintf("%s/repos/%s/%s", base, eo, er);
    c->home = xasprintf("%s/actions/workflows/%s", c->base, ew);
    free(eo);
    free(er);
    free(ew);
    free(base);
    return 0;
}

/* github_request - a status read is conditional: If-None-Match the last ETag. */
static void github_request(struct adapter_call *c, struct http_req *req)
{
    if (c->step == GITHUB_STEP_RUN && c->run.etag[0]) {
        snprintf(c->header, sizeof(c->header), "If-None-Match: %s", c->run.etag);
        adapter_req_header(req, c->header);
    }
}

/* github_run_api - the API URL of run into run->api. */
static void github_run_api(struct adapter_call *c, struct adapter_run *run)
{
    snprintf(run->api, sizeof(run->api), "%s/actions/runs/%s", c->base, run->id);
}

/* github_list - start finding the run by key. */
static void github_list(struct adapter_call *c)
{
    const char *branch = github_branch_filter(c->ref);
    char *b = branch ? adapter_escape(branch) : NULL;

    adapter_call_sendf(c, GITHUB_STEP_LIST, "GET", NULL, -1, "%s/runs?event=workflow_dispatch&per_page=50%s%s",
                       c->home, b ? "&branch=" : "", b ? b : "");
    free(b);
}

/* github_cancel_run - POST .../runs/{id}/cancel for c->res.run. */
static void github_cancel_run(struct adapter_call *c)
{
    adapter_call_sendf(c, GITHUB_STEP_CANCEL, "POST", "", -1, "%s/actions/runs/%s/cancel", c->base,
                       c->res.run.id);
}

/* github_read - GET the run (conditional: see github_request). */
static void github_read(struct adapter_call *c)
{
    adapter_call_sendf(c, GITHUB_STEP_RUN, "GET", NULL, -1, "%s/actions/runs/%s", c->base, c->run.id);
}

/* github_trigger - POST the workflow_dispatch, asking for the run's details.
 * Never retried blindly: a second dispatch would be a second run. */
static int github_trigger(struct adapter_call *c, const struct adapter_test *t, char *err, size_t errlen)
{
    if (!(c->body = github_dispatch_body(t->params, t->key, c->ref, err, errlen)))
        return -1;
    adapter_call_sendf(c, GITHUB_STEP_DISPATCH, "POST", c->body, 0, "%s/dispatches", c->home);
    return 0;
}

/* github_not_located - the run of a dispatch that is not listed yet: queued, no id. */
static void github_not_located(struct adapter_call *c)
{
    if (c->kind != ADAPTER_TRIGGER && c->kind != ADAPTER_STATUS)
        return;
    memset(&c->res.run, 0, sizeof(c->res.run));
    c->res.run.status = RUN_QUEUED;
    str_copy(c->res.run.detail, "dispatched; run not located yet", sizeof(c->res.run.detail));
}

/* github_on_dispatch - 200 with the run, or 204: find it by key. */
static void github_on_dispatch(struct adapter_call *c, const struct http_resp *resp)
{
    char err[200];
    cJSON *j;

    if (resp->status == 204) {
        log_info("adapter_triggered", "system=github job=%s key=%s run=unknown", log_q(c->job), c->key);
        github_list(c);
        return;
    }
    memset(&c->res.run, 0, sizeof(c->res.run));
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || github_parse_dispatch(j, &c->res.run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        /* Accepted, but the answer is unusable: the run exists; find it by key later. */
        github_not_located(c);
        log_warn("adapter_bad_answer", "system=github job=%s key=%s reason=%s", log_q(c->job), c->key,
                 log_q(err));
        adapter_call_end(c);
        return;
    }
    cJSON_Delete(j);
    github_run_api(c, &c->res.run);
    adapter_call_triggered(c, &c->res.run);
}

/* github_on_list - the runs list searched for the key. */
static void github_on_list(struct adapter_call *c, const struct http_resp *resp)
{
    struct adapter_run run;
    char err[200];
    cJSON *j;
    int r;

    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))))
        r = -1;
    else
        r = github_find_run(j, c->key, &run, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: %s", c->what, err);
        return;
    }
    if (r == 1)
        github_run_api(c, &run);
    adapter_call_found(c, r == 1 ? &run : NULL);
}

/* github_on_run - a run's status: the same run, and its ETag kept. */
static void github_on_run(struct adapter_call *c, const struct http_resp *resp)
{
    struct adapter_run run = c->run;
    const char *etag;

    if (adapter_call_run(c, resp, c->what, github_parse_run, &run) < 0)
        return;
    if (strcmp(run.id, c->run.id) != 0) {
        adapter_call_fail(c, ADAPTER_EPERM, "%s: answer is about run %s", c->what, run.id);
        return;
    }
    etag = http_resp_header(resp, "etag");
    run.etag[0] = '\0';
    if (etag && strlen(etag) < sizeof(run.etag) && !strpbrk(etag, "\\r\\n"))
        str_copy(run.etag, etag, sizeof(run.etag));
    c->res.run = run;
    c->res.found = 1;
    adapter_call_end(c);
}

/* github_answer - every answer's rate limit headers, then the step's own reading. */
static void github_answer(struct adapter_call *c, const struct http_resp *resp)
{
    long s = resp->status;

    c->limited = github_rate(http_resp_header(resp, "x-ratelimit-remaining"),
                             http_resp_header(resp, "x-ratelimit-reset"),
                             http_resp_header(resp, "retry-after"), wall_ms() / 1000, &c->res);
    switch (c->step) {
    case GITHUB_STEP_DISPATCH:
        if (s == 200 || s == 204)
            github_on_dispatch(c, resp);
        else
            adapter_call_http_error(c, resp, c->what, NULL);
        break;
    case GITHUB_STEP_LIST:
        if (s == 200)
            github_on_list(c, resp);
        else
            adapter_call_http_error(c, resp, c->what, NULL);
        break;
    case GITHUB_STEP_RUN:
        if (s == 304) {                 /* costs no rate limit: nothing changed */
            c->res.not_modified = 1;
            c->res.run = c->run;
            adapter_call_end(c);
        } else if (s == 200) {
            github_on_run(c, resp);
        } else {
            adapter_call_http_error(c, resp, c->what, NULL);
        }
        break;
    case GITHUB_STEP_CANCEL:
        if (s == 409 || (s >= 200 && s < 300)) {
            c->res.retry_after_ms = 0;
            adapter_call_end(c);        /* 409: it had already finished */
        } else {
            adapter_call_http_error(c, resp, c->what, NULL);
        }
        break;
    }
}

/* github_batch_list - each run of a list of workflow runs to add. */
int github_batch_list(const cJSON *j, void (*add)(void *arg, const struct adapter_run *run), void *arg,
                      char *err, size_t errlen)
{
    const cJSON *runs = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "workflow_runs") : NULL;

    if (!cJSON_IsArray(runs)) {
        snprintf(err, errlen, "field workflow_runs: %s", !cJSON_IsObject(j) ? "runs: not an object" :
                 runs ? "not an array" : "missing");
        return -1;
    }
    return adapter_each_run(runs, github_parse_run, add, arg, err, errlen);
}

/* github_batch_url - the workflow's dispatched runs, newest first, a page
 * of ADAPTER_BATCH_PAGE (the API's largest): one request (conditional) for the runs of every
 * test of that workflow and repository. */
static char *github_batch_url(struct adapter_call *c)
{
    return xasprintf("%s/runs?event=workflow_dispatch&per_page=%d", c->home, ADAPTER_BATCH_PAGE);
}

static const struct adapter_http_word github_words[] = {
    { 401, "authentication failed" },
    { 404, "no such repository, workflow or run, or the token cannot see it" },
    { 0, NULL },
};

static const struct adapter_provider github_provider = {
    .name = "github-actions",
    .system = "github",
    .noun = "workflow",
    .run_noun = "run",
    .headers = { "Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                 "User-Agent: promo/" PROMO_VERSION },
    .content_type = "Content-Type: application/json",
    .rate_wait_ms = GITHUB_MIN_WAIT_MS,
    .words = github_words,
    .rate_headers = { "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset" },
    .batch_url = github_batch_url,
    .batch_list = github_batch_list,
    .open = github_open,
    .trigger = github_trigger,
    .find = github_list,
    .read = github_read,
    .answer = github_answer,
    .cancel = github_cancel_run,
    .not_found = github_not_located,
    .request = github_request,
};

ADAPTER_CALL_DEFINE(adapter_github, "github-actions", github_provider);
