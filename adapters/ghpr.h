/* ghpr.h - the GitHub side effects of a promotion on a pull request: labels,
 * a commit status on the head SHA, and one summary comment updated in place.
 *
 * Operations follow adapters/adapter.h: asynchronous inside the stage's loop
 * (util/http.h), exactly one call of the done callback, never from inside
 * the call that started it. Every request carries Authorization: Bearer
 * (github.tokenFile), Accept: application/vnd.github+json,
 * X-GitHub-Api-Version: 2022-11-28 and User-Agent: promo/<version>.
 *
 * Answers are mapped by ghpr_classify() (pure, tested):
 *   403/429 with retry-after or x-ratelimit-remaining: 0, or a secondary
 *   rate limit message                      ADAPTER_ETEMP with retry_after_ms
 *   5xx, connection errors, timeouts        ADAPTER_ETEMP
 *   401                                     ADAPTER_EPERM "authentication failed"
 *   404, 410 (repository, PR or no access)  ADAPTER_EPERM
 *   422 and any other 4xx                   ADAPTER_EPERM with GitHub's message
 *
 * Idempotency: adding a label that is there, removing one that is not
 * (404 "Label does not exist") and posting a status again are harmless to
 * the PR, yet each is another request and another status in its history:
 * ghpr_has_labels and ghpr_has_status let a caller that may have done them
 * before (a crash, a timeout) look first. The
 * comment carries a hidden marker "<!-- promo:MARKER -->": it is found again
 * by that marker (or by the id the caller persisted) and edited, so a retry
 * after a crash never posts a second one. */
#ifndef PROMO_GHPR_H
#define PROMO_GHPR_H

#include <stddef.h>
#include <stdint.h>
#include "adapter.h"

#define GHPR_API_VERSION  "2022-11-28"
#define GHPR_REPO_MAX     201         /* "owner/name": 39 + 1 + 100, with room */
#define GHPR_MARKER_MAX   64          /* bytes in a marker name */
#define GHPR_DESC_MAX     140         /* characters in a commit status description */
#define GHPR_LABEL_MAX    100         /* bytes in a label name */
#define GHPR_MAX_LABELS   100         /* labels in one add */
#define GHPR_MAX_PAGES    10          /* comment pages searched for the marker */
#define GHPR_PER_PAGE     100
#define GHPR_BODY_MAX     65536       /* GitHub's limit on a comment body */
#define GHPR_RATE_WAIT_MS (60 * 1000) /* rate limited with no hint: wait a minute */

/* The outcome of one operation. */
struct ghpr_result {
    int error;                   /* 0 ok; ADAPTER_ETEMP retry later; ADAPTER_EPERM give up */
    char errmsg[256];            /* names the operation and the repository; no secrets */
    long http_status;            /* of the last answer, 0 when none */
    int64_t retry_after_ms;      /* GitHub asked to wait this long, else 0 */
    long rate_remaining;         /* x-ratelimit-remaining of the last answer, else -1 */
    int skipped;                 /* nothing was asked (an empty label list) */
    int present;                 /* has-labels, has-status: it is there already */
    int64_t comment_id;          /* upsert: the comment's id, to persist */
    int created;                 /* upsert: 1 when posted anew, 0 when edited */
    char comment_url[512];       /* upsert: its html_url, when GitHub says */
};

typedef void (*ghpr_done_fn)(void *arg, const struct ghpr_result *res);

/* ghpr_add_labels - POST /repos/{o}/{r}/issues/{n}/labels {"labels":[...]};
 * with nlabels 0 nothing is sent and done gets skipped = 1. Returns 0 when
 * started, -1 when it could not start (invalid repository, number or label):
 * done is then still called, later, with ADAPTER_EPERM. */
int ghpr_add_labels(struct adapter_ctx *ctx, const char *repo, long number,
                    const char *const *labels, size_t nlabels,
                    ghpr_done_fn done, void *arg);

/* ghpr_remove_label - DELETE /repos/{o}/{r}/issues/{n}/labels/{label}
 * (percent-encoded); 404 "Label does not exist" is success. Same return
 * contract as ghpr_add_labels. */
int ghpr_remove_label(struct adapter_ctx *ctx, const char *repo, long number,
                      const char *label, ghpr_done_fn done, void *arg);

/* ghpr_set_status - POST /repos/{o}/{r}/statuses/{sha} {state, target_url,
 * description (cut to 140 characters), context}. state is pending, success,
 * failure or error; target_url and description may be NULL. A target_url
 * that is not ghpr_url_linkable is refused (ADAPTER_EPERM), so callers pick
 * one with it first. Same return contract as ghpr_add_labels. */
int ghpr_set_status(struct adapter_ctx *ctx, const char *repo, const char *sha,
                    const char *state, const char *target_url, const char *description,
                    const char *context, ghpr_done_fn done, void *arg);

/* ghpr_has_labels - GET /repos/{o}/{r}/issues/{n}/labels?per_page=100,
 * following Link rel="next" (same server only) up to GHPR_MAX_PAGES pages:
 * done gets present = 1 when every label is on the PR (names compare
 * case-insensitively, as GitHub's do). For a step whose earlier attempt may
 * have been done (a crash, a timeout) before it is sent again. Same return
 * contract as ghpr_add_labels. */
int ghpr_has_labels(struct adapter_ctx *ctx, const char *repo, long number,
                    const char *const *labels, size_t nlabels,
                    ghpr_done_fn done, void *arg);

/* ghpr_has_status - GET /repos/{o}/{r}/commits/{sha}/statuses?per_page=100
 * (newest first, following Link rel="next" as ghpr_has_labels): done gets
 * present = 1 when the latest status of context has state and description
 * (cut as ghpr_set_status cuts it; NULL or "" for none). Same return
 * contract as ghpr_add_labels. */
int ghpr_has_status(struct adapter_ctx *ctx, const char *repo, const char *sha,
                    const char *state, const char *description, const char *context,
                    ghpr_done_fn done, void *arg);

/* ghpr_upsert_comment - make body the text of the PR's one comment marked
 * "<!-- promo:MARKER -->" (added at the top of body when missing). With
 * known_comment_id > 0: PATCH /repos/{o}/{r}/issues/comments/{id}, and on
 * 404 fall back to searching. Search: GET .../issues/{n}/comments?per_page=100,
 * following Link rel="next" (same server only) up to GHPR_MAX_PAGES pages;
 * the first comment holding the marker is PATCHed; none: POST
 * .../issues/{n}/comments. done gets comment_id (and created). Same return
 * contract as ghpr_add_labels. */
int ghpr_upsert_comment(struct adapter_ctx *ctx, const char *repo, long number,
                        const char *marker, const char *body, int64_t known_comment_id,
                        ghpr_done_fn done, void *arg);

/* ---- pure helpers, for the operations above and for tests ---- */

/* ghpr_url_linkable - 1 when u is an http(s) URL of at most 1000 plain
 * printable bytes that cannot break out of a markdown link: what GitHub
 * takes as a commit status's target_url and the summary shows as a link
 * (an exec test's file:// log is not one). */
int ghpr_url_linkable(const char *u);

/* ghpr_repo_ok - "owner/name": owner 1..39 of [A-Za-z0-9-], name 1..100 of
 * [A-Za-z0-9._-], not "." or "..". */
int ghpr_repo_ok(const char *repo);

/* ghpr_marker_ok - a marker name: 1..GHPR_MARKER_MAX of [A-Za-z0-9._:-]. */
int ghpr_marker_ok(const char *marker);

/* ghpr_marker_text - "<!-- promo:MARKER -->" into buf (>= GHPR_MARKER_MAX + 20). */
char *ghpr_marker_text(const char *marker, char *buf, size_t len);

/* ghpr_body_has_marker - 1 when body holds marker's hidden text. */
int ghpr_body_has_marker(const char *body, const char *marker);

/* ghpr_url - api (trailing '/' dropped) + "/repos/" + owner + "/" + name +
 * middle + seg percent-encoded (seg may be NULL) + query (may be NULL). Heap. */
char *ghpr_url(const char *api, const char *repo, const char *middle, const char *seg,
               const char *query);

/* ghpr_description - desc cut to GHPR_DESC_MAX characters (UTF-8; the last
 * one "…" when cut), control bytes as spaces. Heap. */
char *ghpr_description(const char *desc);

/* ghpr_link_next - the URL of rel="next" in a Link header into out.
 * Returns 1 when found (and it fits), else 0. */
int ghpr_link_next(const char *link, char *out, size_t outlen);

/* A page of comments, as far as the marker search needs it. */
struct ghpr_comment_page {
    int count;                   /* comments on the page */
    int64_t found_id;            /* the first holding the marker, else 0 */
    char found_url[512];
};

/* ghpr_parse_comment_list - decode a page of issue comments (an array of
 * objects with a positive integer id and a string or null body) and look
 * for marker. Returns 0, or -1 with "[i].field: reason" in err. */
int ghpr_parse_comment_list(const char *body, size_t len, const char *marker,
                            struct ghpr_comment_page *page, char *err, size_t errlen);

/* ghpr_parse_label_list - decode a page of an issue's labels (an array of
 * objects with a string name) and set found[i] for each want[i] on it
 * (case-insensitively). Returns 0, or -1 with "[i].field: reason" in err. */
int ghpr_parse_label_list(const char *body, size_t len, const char *const *want, size_t n,
                          unsigned char *found, char *err, size_t errlen);

/* ghpr_parse_status_list - decode a page of a commit's statuses (newest
 * first: objects with string context and state, description a string or
 * null) and find the first of context: its state and description (""
 * for null) into state and desc. Returns 1 found, 0 not on this page, -1
 * with "[i].field: reason" in err. */
int ghpr_parse_status_list(const char *body, size_t len, const char *context,
                           char *state, size_t statelen, char *desc, size_t desclen,
                           char *err, size_t errlen);

/* ghpr_parse_comment - decode one comment (answer of POST or PATCH): its id
 * and html_url (may be absent). Returns 0, or -1 with "field: reason". */
int ghpr_parse_comment(const char *body, size_t len, int64_t *id, char *url, size_t urllen,
                       char *err, size_t errlen);

/* ghpr_parse_error - GitHub's error message: "message" and, for 422, the
 * first errors[].message or errors[].code, joined with ": ". Writes "" when
 * the body is not such an object. */
void ghpr_parse_error(const char *body, size_t len, char *msg, size_t msglen);

/* ghpr_label_absent - 1 when a DELETE label answer says the label was not on
 * the issue (404 with message "Label does not exist"). */
int ghpr_label_absent(long status, const char *body, size_t len);

/* ghpr_classify - map one answer: http_error/http_errmsg from util/http.h,
 * status/body/len, the retry-after, x-ratelimit-remaining and
 * x-ratelimit-reset headers (each may be NULL), now in epoch seconds, what
 * names the operation for messages ("add labels to acme/shop#42"). Fills
 * error, errmsg, http_status, retry_after_ms and rate_remaining; returns
 * res->error. */
int ghpr_classify(int http_error, const char *http_errmsg, long status,
                  const char *body, size_t len, const char *retry_after,
                  const char *remaining, const char *reset, int64_t now_s,
                  const char *what, struct ghpr_result *res);

/* One test of the summary table. */
struct ghpr_test_row {
    const char *name;
    const char *provider;
    int required;
    const char *outcome;         /* "passed", "failed", "running", ... */
    int64_t duration_ms;         /* 0: unknown */
    const char *url;             /* may be NULL */
};

/* The hop the summary is about. */
struct ghpr_hop {
    const char *source, *target; /* environments */
    const char *sha;             /* head SHA */
    const char *outcome;         /* "promoted", "failed", "testing", "awaiting-approval", ... */
};

/* ghpr_render_summary - the markdown of the summary comment: the marker, a
 * title with the hop, the head SHA and the outcome, and the test table.
 * Every value is escaped (no markdown, HTML or marker can be injected by a
 * test name or URL; only http(s) URLs become links) and cut to a sane length,
 * so the result stays under GHPR_BODY_MAX. Heap string, or NULL when the
 * marker is not valid. */
char *ghpr_render_summary(const char *marker, const struct ghpr_hop *hop,
                          const struct ghpr_test_row *rows, size_t nrows);

#endif
