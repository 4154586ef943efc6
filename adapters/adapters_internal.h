/* adapters_internal.h - what the CI adapters share, and their pure parts.
 *
 * The helpers here (result setup, URL escaping, strict JSON field and run
 * decoding, transport failure mapping) are used by jenkins.c, github.c,
 * gitlab.c and their request lifecycle, adapter_call.c. The parsers and
 * mappers below them are pure functions of their input, declared here so
 * that tests/unit/test_adapters.c can check them by table; the
 * asynchronous operations are not declared here (adapter_call.h).
 *
 * Every decoder is strict: a field of the wrong type, a string longer than
 * the field of struct adapter_run that receives it, a missing required field
 * or a non-object where an object belongs is an error whose message names
 * the field ("field result: not a string or null"); it never crashes and
 * never yields RUN_PASSED. */
#ifndef PROMO_ADAPTERS_INTERNAL_H
#define PROMO_ADAPTERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"

struct http_resp;

/* --- shared helpers (adapter.c) --- */

/* adapter_res_init - a clean result: no error, rate_remaining -1. */
void adapter_res_init(struct adapter_result *res);
/* adapter_res_error - set res->error (ADAPTER_ETEMP/EPERM) and a message. */
void adapter_res_error(struct adapter_result *res, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* adapter_http_failed - if resp carries no HTTP answer (connection, timeout,
 * too big, refused redirect, bad URL), set res to the matching error and
 * return 1: infrastructure trouble is ADAPTER_ETEMP, a bad URL or a refused
 * redirect (configuration) ADAPTER_EPERM. what names the request. Else 0. */
int adapter_http_failed(const struct http_resp *resp, const char *what, struct adapter_result *res);
/* adapter_retry_after - read Retry-After of resp into res->retry_after_ms (when present). */
void adapter_retry_after(const struct http_resp *resp, struct adapter_result *res);
/* adapter_escape - s percent-encoded for a URL path segment, query value or
 * form field (curl_easy_escape: only ALPHA DIGIT - . _ ~ kept); heap. */
char *adapter_escape(const char *s);
/* adapter_base_url - url without trailing slashes (heap), or NULL when url
 * is NULL, empty, or not http:// or https://. */
char *adapter_base_url(const char *url);
/* adapter_same_origin - 1 when url has the scheme, host and port of base
 * (credentials are only ever sent to the configured server). */
int adapter_same_origin(const char *url, const char *base);
/* adapter_body_json - the response body parsed as JSON, or NULL with a
 * message in err (not JSON, trailing data, empty). */
cJSON *adapter_body_json(const struct http_resp *resp, char *err, size_t errlen);
/* adapter_looks_like_sha - 1 when s is 7..64 hex digits (a commit, not a branch or tag). */
int adapter_looks_like_sha(const char *s);
/* adapter_test_ref - the ref to run on: params "ref" when the policy gives a
 * string one, else test->ref; NULL when there is none or it is a bare SHA
 * (dispatch and pipeline creation need a branch or tag). */
const char *adapter_test_ref(const struct adapter_test *t);

/* adapter_name_ok - the n bytes at s are a name of a repository, workflow or
 * project path segment: [A-Za-z0-9._-]+, neither "." nor "..". */
int adapter_name_ok(const char *s, size_t n);

/* One word of a provider's run status vocabulary, and what it means. */
struct adapter_status_word {
    const char *word;           /* NULL ends a table */
    enum run_status status;
};
/* adapter_status_of - the status of word in map, or dflt (word NULL or not there). */
enum run_status adapter_status_of(const struct adapter_status_word *map, const char *word,
                                  enum run_status dflt);

/* adapter_json_run - the id and link every run object has: o an object
 * ("WHAT: not an object"), id_name an integer >= 1 ("field ID: not a NOUN
 * id"), url_name an http(s) URL; into run->id and run->url (and nothing
 * else). 0, or -1 with err and run unchanged. */
int adapter_json_run(const cJSON *o, const char *what, const char *id_name, const char *noun,
                     const char *url_name, struct adapter_run *run, char *err, size_t errlen);

/* adapter_json_ids - the ids of list, an array (named what in messages) of
 * run objects whose "id" is an integer >= 1 ("field id: not a NOUN id"):
 * the first max of them into ids; the count, or -1 with err. */
int adapter_json_ids(const cJSON *list, const char *what, const char *noun, int64_t *ids, int max,
                     char *err, size_t errlen);

/* adapter_params_check - the policy's parameters are fit to send: NULL or an
 * object whose names are not empty nor reserved (the idempotency key's own
 * name), made of the bytes of name_chars when it is not NULL, and whose
 * values are strings; with skip_ref, "ref" (the ref to run on, not a
 * parameter) is not looked at. 0, or -1 with err naming it. */
int adapter_params_check(const cJSON *params, const char *reserved, int skip_ref,
                         const char *name_chars, char *err, size_t errlen);

/* adapter_json_pairs_have - pairs, an array of objects {NAME_FIELD, value}
 * (what names it in messages), holds one whose NAME_FIELD is name and whose
 * value is the string value: 1, 0, or -1 with err. Strict: an array of
 * objects, each NAME_FIELD a string, each value a string or null (or, with
 * any_value, anything: Jenkins' boolean and number parameters). */
int adapter_json_pairs_have(const cJSON *pairs, const char *what, const char *name_field,
                            const char *name, const char *value, int any_value,
                            char *err, size_t errlen);

/* adapter_json_text - o as compact JSON text (heap); o is deleted. NULL
 * with err when it cannot be encoded. */
char *adapter_json_text(cJSON *o, char *err, size_t errlen);

/* Strict field decoding. Each returns 0, or -1 with "field NAME: reason" in err.
 * adapter_json_str: a string of at most size-1 bytes without control
 * characters; absent or null gives "" unless required. */
int adapter_json_str(const cJSON *o, const char *name, int required, char *buf, size_t size,
                     char *err, size_t errlen);
/* adapter_json_int: an integral number in [0, 2^53]; absent or null gives
 * *out = -1 unless required. */
int adapter_json_int(const cJSON *o, const char *name, int required, int64_t *out,
                     char *err, size_t errlen);
/* adapter_json_bool: true or false; absent or null gives *out = -1 unless required. */
int adapter_json_bool(const cJSON *o, const char *name, int required, int *out,
                      char *err, size_t errlen);

/* --- Jenkins (jenkins.c) --- */

/* jenkins_job_path - "a/b" -> "/job/a/job/b" (each segment escaped); heap,
 * or NULL when job is empty, has an empty segment, "." or "..". */
char *jenkins_job_path(const char *job);
/* jenkins_form_body - the form body of buildWithParameters: each parameter
 * (strings only) and PROMO_KEY=key, escaped; heap, or NULL with err (a
 * non-string value, a parameter named PROMO_KEY). */
char *jenkins_form_body(const cJSON *params, const char *key, char *err, size_t errlen);
/* jenkins_map_result - building and result ("SUCCESS", ... or NULL) to a status. */
enum run_status jenkins_map_result(int building, const char *result);
/* jenkins_parse_build - a build object (GET build api/json, or one of a
 * job's builds) into run: id = number, url, api = url + "api/json",
 * status, detail = result, duration_ms. 0, or -1 with err. */
int jenkins_parse_build(const cJSON *b, struct adapter_run *run, char *err, size_t errlen);
/* jenkins_parse_queue_item - GET queue/item/N/api/json: 0 still queued
 * (run unchanged but status QUEUED, detail from "why"), 1 left the queue
 * (run->id/url/api set to the build, status RUNNING), 2 cancelled (status
 * CANCELLED), -1 with err. */
int jenkins_parse_queue_item(const cJSON *q, struct adapter_run *run, char *err, size_t errlen);
/* jenkins_params_have_key - 1 when actions[].parameters[] holds PROMO_KEY = key;
 * 0 when not; -1 with err on a bad shape. */
int jenkins_params_have_key(const cJSON *item, const char *key, char *err, size_t errlen);
/* jenkins_find_build - search a job's api/json {builds:[...]} for the build
 * carrying key: 1 and run filled, 0 not there, -1 with err. */
int jenkins_find_build(const cJSON *job, const char *key, struct adapter_run *run,
                       char *err, size_t errlen);
/* jenkins_find_queued - search queue/api/json {items:[...]} for the item
 * carrying key: 1 and run filled (id "", url and api of the item, relative
 * URLs resolved against base), 0, or -1 with err. */
int jenkins_find_queued(const cJSON *queue, const char *key, const char *base,
                        struct adapter_run *run, char *err, size_t errlen);
/* jenkins_queue_id - the N of ".../queue/item/N/..." in url, or -1. */
long jenkins_queue_id(const char *url);
/* jenkins_parse_crumb - {crumb, crumbRequestField} into "Field: crumb" (header). 0 or -1. */
int jenkins_parse_crumb(const cJSON *o, char *header, size_t size, char *err, size_t errlen);

/* --- GitHub Actions (github.c) --- */

/* github_split_job - "WORKFLOW" (repository from default_repo) or
 * "OWNER/REPO:WORKFLOW" into its parts. 0, or -1 with err. */
int github_split_job(const char *job, const char *default_repo, char *owner, size_t osize,
                     char *repo, size_t rsize, char *wf, size_t wsize, char *err, size_t errlen);
/* github_map_status - a run's status and conclusion (NULL while not
 * completed) to a status. Anything unknown is RUN_FAILED once completed. */
enum run_status github_map_status(const char *status, const char *conclusion);
/* github_parse_run - a workflow run object into run (id, url = html_url,
 * status, detail "status/conclusion", duration from run_started_at to
 * updated_at when completed). api is left alone. 0, or -1 with err. */
int github_parse_run(const cJSON *o, struct adapter_run *run, char *err, size_t errlen);
/* github_find_run - {workflow_runs:[...]}: the run whose display_title
 * contains key. 1 and run filled, 0, -1 with err. */
int github_find_run(const cJSON *list, const char *key, struct adapter_run *run,
                    char *err, size_t errlen);
/* github_dispatch_body - {ref, inputs (params but "ref", + promo_key),
 * return_run_details: true}; heap JSON text, or NULL with err (non-string
 * input, more than 25 inputs, a parameter named promo_key). */
char *github_dispatch_body(const cJSON *params, const char *key, const char *ref,
                           char *err, size_t errlen);
/* github_parse_dispatch - the 200 answer {workflow_run_id, run_url, html_url}
 * into run (id, url); 0 or -1 with err. */
int github_parse_dispatch(const cJSON *o, struct adapter_run *run, char *err, size_t errlen);
/* github_rate - rate-limit header values (each may be NULL) into res:
 * rate_remaining, and retry_after_ms from retry-after, else from reset
 * (epoch seconds, given now_s) when remaining is 0. Returns 1 when the
 * answer says the rate limit is exhausted (remaining 0 or a retry-after). */
int github_rate(const char *remaining, const char *reset, const char *retry_after, int64_t now_s,
                struct adapter_result *res);
/* github_branch_filter - the branch= filter for ref ("refs/heads/x" -> "x",
 * a bare name as is), or NULL for tags and SHAs. */
const char *github_branch_filter(const char *ref);

/* --- GitLab CI (gitlab.c) --- */

/* gitlab_project_id - a numeric id as is, "group/project" URL-encoded
 * ("group%2Fproject"); heap, or NULL when job is not a valid id or path. */
char *gitlab_project_id(const char *job);
/* gitlab_map_status - a pipeline status to a status (unknown -> FAILED). */
enum run_status gitlab_map_status(const char *status);
/* gitlab_parse_pipeline - a pipeline object into run (id, url = web_url,
 * status, detail = status, duration in seconds -> ms). 0 or -1 with err. */
int gitlab_parse_pipeline(const cJSON *o, struct adapter_run *run, char *err, size_t errlen);
/* gitlab_pipeline_ids - the ids of a pipelines list, at most max, into ids;
 * returns the count, or -1 with err. */
int gitlab_pipeline_ids(const cJSON *list, int64_t *ids, int max, char *err, size_t errlen);
/* gitlab_variables_have_key - [{key, value, variable_type}] holds PROMO_KEY = key:
 * 1, 0, or -1 with err. */
int gitlab_variables_have_key(const cJSON *vars, const char *key, char *err, size_t errlen);
/* gitlab_create_body - {ref, variables:[{key, value, variable_type:"env_var"}]
 * (params but "ref", + PROMO_KEY)}; heap JSON text, or NULL with err. */
char *gitlab_create_body(const cJSON *params, const char *key, const char *ref,
                         char *err, size_t errlen);

/* adapter_each_run - each element of the array arr (NULL: none) decoded by
 * parse into a zeroed run and given to add(arg, run): 0, or -1 with
 * parse's reason in err (a batch_list of adapter_call.h). */
int adapter_each_run(const cJSON *arr, int (*parse)(const cJSON *, struct adapter_run *, char *, size_t),
                     void (*add)(void *arg, const struct adapter_run *run), void *arg, char *err, size_t errlen);

/* jenkins_batch_list - each build of a job's builds[] (jenkins_parse_build)
 * to add(arg, run): 0 (none when builds is missing or null), or -1. */
int jenkins_batch_list(const cJSON *job, void (*add)(void *arg, const struct adapter_run *run), void *arg,
                       char *err, size_t errlen);

/* github_batch_list - each workflow_runs[] of a runs list (github_parse_run)
 * to add(arg, run): 0, or -1 with the reason in err. */
int github_batch_list(const cJSON *j, void (*add)(void *arg, const struct adapter_run *run), void *arg,
                      char *err, size_t errlen);

#endif
