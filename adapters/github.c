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
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define GITHUB_MAX_INPUTS 25
#define GITHUB_KEY_INPUT "promo_key"
#define GITHUB_DEFAULT_API "https://api.github.com"
#define GITHUB_MIN_WAIT_MS 60000    /* over the limit with no hint: wait a minute */

enum github_kind { GITHUB_TRIGGER, GITHUB_FIND, GITHUB_STATUS, GITHUB_CANCEL };
enum github_step { GITHUB_STEP_DISPATCH, GITHUB_STEP_LIST, GITHUB_STEP_RUN, GITHUB_STEP_CANCEL };

struct github_op {
    enum github_kind kind;
    enum github_step step;
    struct http *http;
    char auth[1024];            /* "Authorization: Bearer ..." (a secret) */
    char *repo_url;             /* {api}/repos/o/r */
    char *wf_url;               /* {repo_url}/actions/workflows/{wf} */
    char *job;                  /* as given, for messages */
    char *key;
    char *ref;                  /* NULL when none */
    char *body;                 /* the dispatch */
    struct adapter_run run;     /* the run given to status/cancel */
    struct adapter_result res;
    adapter_done_fn done;
    void *arg;
};

static void github_on_resp(void *arg, const struct http_resp *resp);

/* github_name_ok - an owner, repository or workflow name: [A-Za-z0-9._-]+. */
static int github_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

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
    if (!slash || !github_name_ok(rp, (size_t)(slash - rp))
        || !github_name_ok(slash + 1, rn - (size_t)(slash - rp) - 1)) {
        snprintf(err, errlen, "job %s: repository is not OWNER/REPO", log_q(job));
        return -1;
    }
    if (colon ? !github_name_ok(colon + 1, strlen(colon + 1)) : !github_name_ok(job, strlen(job))) {
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
    char status[40], conclusion[40], url[sizeof(run->url)], started[40], updated[40];
    int64_t id, t0, t1;

    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "workflow run: not an object");
        return -1;
    }
    if (adapter_json_int(o, "id", 1, &id, err, errlen) < 0
        || adapter_json_str(o, "status", 1, status, sizeof(status), err, errlen) < 0
        || adapter_json_str(o, "conclusion", 0, conclusion, sizeof(conclusion), err, errlen) < 0
        || adapter_json_str(o, "html_url", 1, url, sizeof(url), err, errlen) < 0
        || adapter_json_str(o, "run_started_at", 0, started, sizeof(started), err, errlen) < 0
        || adapter_json_str(o, "updated_at", 0, updated, sizeof(updated), err, errlen) < 0)
        return -1;
    if (id < 1) {
        snprintf(err, errlen, "field id: not a run id");
        return -1;
    }
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "field html_url: not an http(s) URL");
        return -1;
    }
    snprintf(run->id, sizeof(run->id), "%lld", (long long)id);
    str_copy(run->url, url, sizeof(run->url));
    run->status = github_map_status(status, conclusion[0] ? conclusion : NULL);
    if (conclusion[0])
        snprintf(run->detail, sizeof(run->detail), "%s/%s", status, conclusion);
    else
        str_copy(run->detail, status, sizeof(run->detail));
    run->duration_ms = 0;
    if (strcmp(status, "completed") == 0 && started[0] && updated[0]
        && (t0 = time_parse_iso(started)) >= 0 && (t1 = time_parse_iso(updated)) >= t0)
        run->duration_ms = t1 - t0;
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
    char *text;
    int n = 0;

    if (!ref || !ref[0]) {
        snprintf(err, errlen, "github-actions needs a ref (headRef or a 'ref' parameter)");
        return NULL;
    }
    if (params && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: not an object");
        return NULL;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ref", ref);
    inputs = cJSON_AddObjectToObject(o, "inputs");
    if (params)
        cJSON_ArrayForEach(p, params) {
            if (!p->string || !p->string[0]) {
                snprintf(err, errlen, "parameters: an empty input name");
                goto bad;
            }
            if (strcmp(p->string, "ref") == 0)
                continue;
            if (strcmp(p->string, GITHUB_KEY_INPUT) == 0) {
                snprintf(err, errlen, "parameter %s: reserved for the idempotency key", p->string);
                goto bad;
            }
            if (!cJSON_IsString(p)) {
                snprintf(err, errlen, "parameter %s: not a string", p->string);
                goto bad;
            }
            if (++n >= GITHUB_MAX_INPUTS) {
                snprintf(err, errlen, "parameters: more than %d inputs with %s", GITHUB_MAX_INPUTS,
                         GITHUB_KEY_INPUT);
                goto bad;
            }
            cJSON_AddStringToObject(inputs, p->string, p->valuestring);
        }
    cJSON_AddStringToObject(inputs, GITHUB_KEY_INPUT, key);
    cJSON_AddTrueToObject(o, "return_run_details");
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        snprintf(err, errlen, "cannot encode the request");
    return text;
bad:
    cJSON_Delete(o);
    return NULL;
}

/* github_parse_dispatch - {workflow_run_id, run_url, html_url}. */
int github_parse_dispatch(const cJSON *o, struct adapter_run *run, char *err, size_t errlen)
{
    char url[sizeof(run->url)], api[sizeof(run->api)];
    int64_t id;

    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "dispatch answer: not an object");
        return -1;
    }
    if (adapter_json_int(o, "workflow_run_id", 1, &id, err, errlen) < 0
        || adapter_json_str(o, "html_url", 1, url, sizeof(url), err, errlen) < 0
        || adapter_json_str(o, "run_url", 0, api, sizeof(api), err, errlen) < 0)
        return -1;
    if (id < 1) {
        snprintf(err, errlen, "field workflow_run_id: not a run id");
        return -1;
    }
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "field html_url: not an http(s) URL");
        return -1;
    }
    snprintf(run->id, sizeof(run->id), "%lld", (long long)id);
    str_copy(run->url, url, sizeof(run->url));
    run->status = RUN_QUEUED;
    str_copy(run->detail, "dispatched", sizeof(run->detail));
    return 0;
}

/* github_digits - s as a non-negative decimal (at most 15 digits), or -1. */
static int64_t github_digits(const char *s)
{
    int64_t v = 0;
    int n = 0;

    if (!s)
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++n > 15)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return n && !*s ? v : -1;
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

/* github_op_free - free the op (done is not called). */
static void github_op_free(struct github_op *op)
{
    memset(op->auth, 0, sizeof(op->auth));
    free(op->repo_url);
    free(op->wf_url);
    free(op->job);
    free(op->key);
    free(op->ref);
    free(op->body);
    free(op);
}

/* github_op_abandon - the HTTP client was freed before the answer (the stage is
 * stopping): free the op without calling done. */
static void github_op_abandon(void *arg)
{
    github_op_free(arg);
}

/* github_end - deliver the result and free the op. */
static void github_end(struct github_op *op)
{
    op->done(op->arg, &op->res);
    github_op_free(op);
}

/* github_op_new - an op for test t, or NULL after scheduling done with the error. */
static struct github_op *github_op_new(struct adapter_ctx *ctx, const struct adapter_test *t,
                                       enum github_kind kind, adapter_done_fn done, void *arg)
{
    const struct config *c = ctx->cfg;
    char owner[128], repo[128], wf[256], err[256];
    char *base = NULL, *eo, *er, *ew;
    struct adapter_result res;
    struct github_op *op;
    const char *ref;

    adapter_res_init(&res);
    if (!(base = adapter_base_url(c->github.api_url && c->github.api_url[0] ? c->github.api_url
                                                                            : GITHUB_DEFAULT_API)))
        snprintf(err, sizeof(err), "github.apiUrl is not an http(s) URL");
    else if (!c->github.token || !c->github.token[0])
        snprintf(err, sizeof(err), "github.tokenFile is not configured");
    else if (strlen(c->github.token) > 900)
        snprintf(err, sizeof(err), "the GitHub token is too long");
    else if (!t->key || !t->key[0])
        snprintf(err, sizeof(err), "no idempotency key");
    else if (github_split_job(t->job, t->repository, owner, sizeof(owner), repo, sizeof(repo),
                              wf, sizeof(wf), err, sizeof(err)) == 0)
        goto ok;
    free(base);
    adapter_res_error(&res, ADAPTER_EPERM, "github-actions: %s", err);
    adapter_finish_later(ctx->loop, &res, done, arg);
    return NULL;
ok:
    op = xcalloc(1, sizeof(*op));
    op->kind = kind;
    op->http = ctx->http;
    snprintf(op->auth, sizeof(op->auth), "Authorization: Bearer %s", c->github.token);
    eo = adapter_escape(owner);
    er = adapter_escape(repo);
    ew = adapter_escape(wf);
    op->repo_url = xasprintf("%s/repos/%s/%s", base, eo, er);
    op->wf_url = xasprintf("%s/actions/workflows/%s", op->repo_url, ew);
    free(eo);
    free(er);
    free(ew);
    free(base);
    op->job = xstrdup(t->job);
    op->key = xstrdup(t->key);
    ref = adapter_test_ref(t);
    op->ref = ref ? xstrdup(ref) : NULL;
    op->done = done;
    op->arg = arg;
    adapter_res_init(&op->res);
    return op;
}

/* github_submit - one request with the headers GitHub wants. */
static void github_submit(struct github_op *op, const char *method, const char *url,
                          enum github_step step, int retries)
{
    struct http_req req;
    char inm[sizeof(op->run.etag) + 32];
    int h = 0;

    memset(&req, 0, sizeof(req));
    op->step = step;
    req.system = "github";
    req.method = method;
    req.url = url;
    req.headers[h++] = op->auth;
    req.headers[h++] = "Accept: application/vnd.github+json";
    req.headers[h++] = "X-GitHub-Api-Version: 2022-11-28";
    req.headers[h++] = "User-Agent: promo/" PROMO_VERSION;
    if (step == GITHUB_STEP_DISPATCH) {
        req.headers[h++] = "Content-Type: application/json";
        req.body = op->body;
        req.body_len = strlen(op->body);
    } else if (step == GITHUB_STEP_CANCEL) {
        req.body = "";
    }
    if (step == GITHUB_STEP_RUN && op->run.etag[0]) {
        snprintf(inm, sizeof(inm), "If-None-Match: %s", op->run.etag);
        req.headers[h++] = inm;
    }
    req.max_retries = retries;
    req.abandon = github_op_abandon;
    http_submit(op->http, &req, github_on_resp, op);
}

/* github_run_api - the API URL of run id into op->res.run.api. */
static void github_run_api(struct github_op *op, struct adapter_run *run)
{
    snprintf(run->api, sizeof(run->api), "%s/actions/runs/%s", op->repo_url, run->id);
}

/* github_list - start finding the run by key. */
static void github_list(struct github_op *op)
{
    const char *branch = github_branch_filter(op->ref);
    char *b = branch ? adapter_escape(branch) : NULL, *url;

    url = xasprintf("%s/runs?event=workflow_dispatch&per_page=50%s%s", op->wf_url,
                    b ? "&branch=" : "", b ? b : "");
    github_submit(op, "GET", url, GITHUB_STEP_LIST, -1);
    free(url);
    free(b);
}

/* github_cancel_run - POST .../runs/{id}/cancel for op->res.run. */
static void github_cancel_run(struct github_op *op)
{
    char *url = xasprintf("%s/actions/runs/%s/cancel", op->repo_url, op->res.run.id);

    github_submit(op, "POST", url, GITHUB_STEP_CANCEL, -1);
    free(url);
}

/* github_message - GitHub's "message" of an error body, or "". */
static void github_message(const struct http_resp *resp, char *buf, size_t size)
{
    char err[64];
    cJSON *j = adapter_body_json(resp, err, sizeof(err));
    const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;

    buf[0] = '\0';
    if (cJSON_IsString(m))
        snprintf(buf, size, "%s", log_q(m->valuestring));
    cJSON_Delete(j);
}

/* github_http_error - an HTTP status the step did not want; ends the op. */
static void github_http_error(struct github_op *op, const struct http_resp *resp, const char *what,
                              int exhausted)
{
    long s = resp->status;
    char msg[160];

    github_message(resp, msg, sizeof(msg));
    /* A secondary rate limit may come as a bare 403 whose message says so. */
    if (s == 403 && strstr(msg, "rate limit"))
        exhausted = 1;
    if (s == 429 || (s == 403 && exhausted)) {
        if (op->res.retry_after_ms <= 0)
            op->res.retry_after_ms = GITHUB_MIN_WAIT_MS;
        adapter_res_error(&op->res, ADAPTER_ETEMP, "github-actions: %s: rate limited (HTTP %ld), retry in %lld ms",
                          what, s, (long long)op->res.retry_after_ms);
    } else if (s >= 500) {
        adapter_res_error(&op->res, ADAPTER_ETEMP, "github-actions: %s: HTTP %ld", what, s);
    } else if (s == 401) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: %s: authentication failed (HTTP 401)", what);
    } else if (s == 404) {
        adapter_res_error(&op->res, ADAPTER_EPERM,
                          "github-actions: %s: no such repository, workflow or run, or the token cannot see it (HTTP 404)", what);
    } else {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: %s: HTTP %ld%s%s", what, s,
                          msg[0] ? ": " : "", msg);
    }
    github_end(op);
}

/* github_on_dispatch - 200 with the run, or 204: find it by key. */
static void github_on_dispatch(struct github_op *op, const struct http_resp *resp, const char *what, int exhausted)
{
    char err[200];
    cJSON *j;

    if (resp->status == 204) {
        log_info("adapter_triggered", "system=github job=%s key=%s run=unknown", log_q(op->job), op->key);
        github_list(op);
        return;
    }
    if (resp->status != 200) {
        github_http_error(op, resp, what, exhausted);
        return;
    }
    memset(&op->res.run, 0, sizeof(op->res.run));
    if (!(j = adapter_body_json(resp, err, sizeof(err)))
        || github_parse_dispatch(j, &op->res.run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        /* Accepted, but the answer is unusable: the run exists; find it by key later. */
        memset(&op->res.run, 0, sizeof(op->res.run));
        op->res.run.status = RUN_QUEUED;
        str_copy(op->res.run.detail, "dispatched; run not located yet", sizeof(op->res.run.detail));
        log_warn("adapter_bad_answer", "system=github job=%s key=%s reason=%s", log_q(op->job), op->key,
                 log_q(err));
        github_end(op);
        return;
    }
    cJSON_Delete(j);
    github_run_api(op, &op->res.run);
    op->res.found = 1;
    log_info("adapter_triggered", "system=github job=%s key=%s run=%s", log_q(op->job), op->key,
             op->res.run.id);
    github_end(op);
}

/* github_on_list - the runs list searched for the key. */
static void github_on_list(struct github_op *op, const struct http_resp *resp, const char *what, int exhausted)
{
    struct adapter_run run;
    char err[200];
    cJSON *j;
    int r;

    if (resp->status != 200) {
        github_http_error(op, resp, what, exhausted);
        return;
    }
    memset(&run, 0, sizeof(run));
    if (!(j = adapter_body_json(resp, err, sizeof(err))))
        r = -1;
    else
        r = github_find_run(j, op->key, &run, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: %s: %s", what, err);
        github_end(op);
        return;
    }
    if (r == 1) {
        github_run_api(op, &run);
        op->res.found = 1;
        op->res.run = run;
        if (op->kind == GITHUB_CANCEL && !run_status_final(run.status)) {
            github_cancel_run(op);
            return;
        }
        github_end(op);
        return;
    }
    /* Not listed (yet). */
    op->res.found = 0;
    if (op->kind == GITHUB_TRIGGER || op->kind == GITHUB_STATUS) {
        memset(&op->res.run, 0, sizeof(op->res.run));
        op->res.run.status = RUN_QUEUED;
        str_copy(op->res.run.detail, "dispatched; run not located yet", sizeof(op->res.run.detail));
    }
    github_end(op);
}

/* github_on_run - a run's status, or 304. */
static void github_on_run(struct github_op *op, const struct http_resp *resp, const char *what, int exhausted)
{
    struct adapter_run run;
    const char *etag;
    char err[200];
    cJSON *j;

    if (resp->status == 304) {
        op->res.not_modified = 1;
        op->res.run = op->run;
        github_end(op);
        return;
    }
    if (resp->status != 200) {
        github_http_error(op, resp, what, exhausted);
        return;
    }
    run = op->run;
    if (!(j = adapter_body_json(resp, err, sizeof(err))) || github_parse_run(j, &run, err, sizeof(err)) < 0) {
        cJSON_Delete(j);
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: %s: %s", what, err);
        github_end(op);
        return;
    }
    cJSON_Delete(j);
    if (strcmp(run.id, op->run.id) != 0) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: %s: answer is about run %s", what, run.id);
        github_end(op);
        return;
    }
    etag = http_resp_header(resp, "etag");
    run.etag[0] = '\0';
    if (etag && strlen(etag) < sizeof(run.etag) && !strpbrk(etag, "\r\n"))
        str_copy(run.etag, etag, sizeof(run.etag));
    op->res.run = run;
    op->res.found = 1;
    github_end(op);
}

/* github_on_resp - the http callback. */
static void github_on_resp(void *arg, const struct http_resp *resp)
{
    struct github_op *op = arg;
    char what[200];
    int exhausted;

    snprintf(what, sizeof(what), "workflow %s", log_q(op->job));
    if (adapter_http_failed(resp, what, &op->res)) {
        github_end(op);
        return;
    }
    exhausted = github_rate(http_resp_header(resp, "x-ratelimit-remaining"),
                            http_resp_header(resp, "x-ratelimit-reset"),
                            http_resp_header(resp, "retry-after"), wall_ms() / 1000, &op->res);
    switch (op->step) {
    case GITHUB_STEP_DISPATCH:
        github_on_dispatch(op, resp, what, exhausted);
        break;
    case GITHUB_STEP_LIST:
        github_on_list(op, resp, what, exhausted);
        break;
    case GITHUB_STEP_RUN:
        github_on_run(op, resp, what, exhausted);
        break;
    case GITHUB_STEP_CANCEL:
        if (resp->status == 202 || resp->status == 409 || (resp->status >= 200 && resp->status < 300)) {
            op->res.retry_after_ms = 0;
            github_end(op);     /* 409: it had already finished */
        } else {
            github_http_error(op, resp, what, exhausted);
        }
        break;
    }
}

/* github_trigger - POST the workflow_dispatch, asking for the run's details. */
static int github_trigger(struct adapter_ctx *ctx, const struct adapter_test *t,
                          adapter_done_fn done, void *arg)
{
    struct github_op *op = github_op_new(ctx, t, GITHUB_TRIGGER, done, arg);
    char err[200], *url;

    if (!op)
        return -1;
    if (!(op->body = github_dispatch_body(t->params, t->key, op->ref, err, sizeof(err)))) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: workflow %s: %s", log_q(t->job), err);
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        github_op_free(op);
        return -1;
    }
    url = xasprintf("%s/dispatches", op->wf_url);
    /* Never retried blindly: a second dispatch would be a second run. */
    github_submit(op, "POST", url, GITHUB_STEP_DISPATCH, 0);
    free(url);
    return 0;
}

/* github_find - the workflow_dispatch run whose run name carries the key. */
static int github_find(struct adapter_ctx *ctx, const struct adapter_test *t,
                       adapter_done_fn done, void *arg)
{
    struct github_op *op = github_op_new(ctx, t, GITHUB_FIND, done, arg);

    if (!op)
        return -1;
    github_list(op);
    return 0;
}

/* github_status - GET the run (conditional); a run not located yet is looked up by key. */
static int github_status(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct github_op *op = github_op_new(ctx, t, GITHUB_STATUS, done, arg);
    char *url;

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->id[0]) {
        github_list(op);
        return 0;
    }
    if (github_digits(run->id) < 1) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: run id %s is not a number", log_q(run->id));
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        github_op_free(op);
        return -1;
    }
    url = xasprintf("%s/actions/runs/%s", op->repo_url, run->id);
    github_submit(op, "GET", url, GITHUB_STEP_RUN, -1);
    free(url);
    return 0;
}

/* github_cancel - POST cancel (202; 409 when it already finished, which is fine). */
static int github_cancel(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    struct github_op *op = github_op_new(ctx, t, GITHUB_CANCEL, done, arg);

    if (!op)
        return -1;
    op->run = *run;
    op->res.run = *run;
    if (!run->id[0]) {
        github_list(op);
        return 0;
    }
    if (github_digits(run->id) < 1) {
        adapter_res_error(&op->res, ADAPTER_EPERM, "github-actions: run id %s is not a number", log_q(run->id));
        adapter_finish_later(ctx->loop, &op->res, done, arg);
        github_op_free(op);
        return -1;
    }
    github_cancel_run(op);
    return 0;
}

const struct adapter adapter_github = {
    .provider = "github-actions",
    .trigger = github_trigger,
    .find = github_find,
    .status = github_status,
    .cancel = github_cancel,
};
