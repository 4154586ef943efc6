/* tracker.c - the PullRequestTracker document: a strict decoder into
 * struct tracker, the state names, and the default tracker name of a PR.
 *
 * The decoder checks every field it knows (type, range, characters) and
 * reports the first problem as "field.path: reason"; fields it does not know
 * are left alone so a newer writer's additions survive. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "domain/store.h"
#include "domain/tracker.h"
#include "util/util.h"

static const char *const tracker_states[TS_COUNT] = {
    [TS_DEPLOYING] = "deploying",
    [TS_SYNCED] = "synced",
    [TS_TESTING] = "testing",
    [TS_AWAITING_APPROVAL] = "awaiting-approval",
    [TS_PROMOTING] = "promoting",
    [TS_FAILED] = "failed",
    [TS_DONE] = "done",
};

/* tracker_state_name - the document name of s; "unknown" when out of range. */
const char *tracker_state_name(enum tracker_state s)
{
    if ((int)s < 0 || s >= TS_COUNT)
        return "unknown";
    return tracker_states[s];
}

/* tracker_state_parse - state name to enum value; -1 when unknown. */
int tracker_state_parse(const char *s)
{
    int i;

    if (!s)
        return -1;
    for (i = 0; i < TS_COUNT; i++)
        if (strcmp(s, tracker_states[i]) == 0)
            return i;
    return -1;
}

/* tracker_sha_valid - 40 or 64 hex digits (either case). */
int tracker_sha_valid(const char *sha)
{
    size_t i, n;

    if (!sha)
        return 0;
    n = strlen(sha);
    if (n != 40 && n != 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)sha[i]))
            return 0;
    return 1;
}

/* tracker_repo_split - check "owner/name" by GitHub's rules (owner 1-39 of
 * [A-Za-z0-9-], name 1-100 of [A-Za-z0-9._-], not "." or ".."); on success
 * copy the parts into owner/name when given. Returns 1 if valid. */
static int tracker_repo_split(const char *repo, char *owner, size_t olen, char *name, size_t nlen)
{
    const char *slash, *p;
    size_t on, nn;

    if (!repo || !(slash = strchr(repo, '/')))
        return 0;
    on = (size_t)(slash - repo);
    nn = strlen(slash + 1);
    if (on < 1 || on > 39 || nn < 1 || nn > 100)
        return 0;
    for (p = repo; p < slash; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    for (p = slash + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return 0;
    if (strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0)
        return 0;
    if (owner) {
        if (olen <= on || nlen <= nn)
            return 0;
        memcpy(owner, repo, on);
        owner[on] = '\0';
        memcpy(name, slash + 1, nn + 1);
    }
    return 1;
}

/* tracker_repo_valid - "owner/name" with GitHub's characters and lengths. */
int tracker_repo_valid(const char *repo)
{
    return tracker_repo_split(repo, NULL, 0, NULL, 0);
}

/* tracker_name_for - "owner-name-N" from repository and number into buf:
 * lowercased, every other character mapped to '-', runs of '-' collapsed,
 * '-' trimmed at both ends, cut so the whole fits 253 bytes (and len).
 * Returns buf, or NULL if number < 1 or buf cannot hold even the number. */
char *tracker_name_for(const char *repository, int64_t number, char *buf, size_t len)
{
    char num[24];
    size_t numlen, max, limit, n = 0;
    const char *p;

    if (!buf || len == 0 || number < 1)
        return NULL;
    numlen = (size_t)snprintf(num, sizeof(num), "%lld", (long long)number);
    max = len - 1 < 253 ? len - 1 : 253;
    if (numlen > max)
        return NULL;
    limit = max > numlen + 1 ? max - numlen - 1 : 0;     /* room for "prefix-" */
    for (p = repository ? repository : ""; *p && n < limit; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '-';
        if (c == '-' && (n == 0 || buf[n - 1] == '-'))
            continue;
        buf[n++] = c;
    }
    while (n > 0 && buf[n - 1] == '-')
        n--;
    if (n > 0)
        buf[n++] = '-';
    memcpy(buf + n, num, numlen + 1);
    return buf;
}

/* The decoder's context: where errors go. */
struct tracker_ctx {
    char *err;
    size_t errlen;
};

/* tracker_fail - write "field: reason" into the error buffer; returns -1. */
static int tracker_fail(struct tracker_ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tracker_fail(struct tracker_ctx *c, const char *field, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!c->err || c->errlen == 0)
        return -1;
    n = snprintf(c->err, c->errlen, "%s: ", field);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* tracker_member - obj[key], or NULL when absent or JSON null; sets *dup
 * when the key occurs more than once (an ambiguous document). */
static const cJSON *tracker_member(const cJSON *obj, const char *key, int *dup)
{
    const cJSON *it, *found = NULL;

    *dup = 0;
    cJSON_ArrayForEach(it, obj) {
        if (it->string && strcmp(it->string, key) == 0) {
            if (found)
                *dup = 1;
            else
                found = it;
        }
    }
    if (found && cJSON_IsNull(found))
        return NULL;
    return found;
}

/* tracker_get - look up a member of obj: 0 with *out (NULL if absent and
 * !required), or -1 with the error for a missing or duplicate key. */
static int tracker_get(struct tracker_ctx *c, const cJSON *obj, const char *key,
                       const char *field, int required, const cJSON **out)
{
    int dup;

    *out = tracker_member(obj, key, &dup);
    if (dup)
        return tracker_fail(c, field, "duplicate key");
    if (!*out && required)
        return tracker_fail(c, field, "required");
    return 0;
}

/* tracker_object - a required or optional object member. */
static int tracker_object(struct tracker_ctx *c, const cJSON *obj, const char *key,
                          const char *field, int required, const cJSON **out)
{
    if (tracker_get(c, obj, key, field, required, out) < 0)
        return -1;
    if (*out && !cJSON_IsObject(*out))
        return tracker_fail(c, field, "must be an object");
    return 0;
}

/* tracker_string - a required or optional string member: *out is its value
 * or NULL when absent; non-strings are errors. */
static int tracker_string(struct tracker_ctx *c, const cJSON *obj, const char *key,
                          const char *field, int required, const char **out)
{
    const cJSON *it;

    *out = NULL;
    if (tracker_get(c, obj, key, field, required, &it) < 0)
        return -1;
    if (!it)
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring)
        return tracker_fail(c, field, "must be a string");
    *out = it->valuestring;
    return 0;
}

/* tracker_integer - a required integral JSON number in [lo, hi]. */
static int tracker_integer(struct tracker_ctx *c, const cJSON *obj, const char *key,
                           const char *field, double lo, double hi, int64_t *out)
{
    const cJSON *it;
    double v;

    if (tracker_get(c, obj, key, field, 1, &it) < 0)
        return -1;
    if (!cJSON_IsNumber(it))
        return tracker_fail(c, field, "must be a number");
    v = it->valuedouble;
    if (!isfinite(v) || v != floor(v))
        return tracker_fail(c, field, "must be an integer");
    if (v < lo || v > hi)
        return tracker_fail(c, field, "must be in %.0f..%.0f", lo, hi);
    *out = (int64_t)v;
    return 0;
}

/* tracker_name_field - a required/optional name_valid string shorter than
 * size, copied into dst; absent leaves dst alone. */
static int tracker_name_field(struct tracker_ctx *c, const cJSON *obj, const char *key,
                              const char *field, int required, char *dst, size_t size)
{
    const char *v;

    if (tracker_string(c, obj, key, field, required, &v) < 0)
        return -1;
    if (!v)
        return 0;
    if (!name_valid(v))
        return tracker_fail(c, field, "invalid name \"%.64s\": want 1..253 of [a-z0-9.-], "
                            "starting and ending with [a-z0-9]", v);
    if (strlen(v) >= size)
        return tracker_fail(c, field, "longer than %zu characters", size - 1);
    str_copy(dst, v, size);
    return 0;
}

/* tracker_decode - check doc and fill t; 0, or -1 with "field: reason" in
 * err. t is cleared first; on error its content is unspecified. */
int tracker_decode(const cJSON *doc, struct tracker *t, char *err, size_t errlen)
{
    struct tracker_ctx ctx = { err, errlen };
    struct tracker_ctx *c = &ctx;
    const cJSON *meta, *spec, *status;
    const char *v;
    size_t i;
    int st;

    memset(t, 0, sizeof(*t));
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(doc))
        return tracker_fail(c, "document", "must be a JSON object");

    if (tracker_string(c, doc, "apiVersion", "apiVersion", 1, &v) < 0)
        return -1;
    if (strcmp(v, PROMO_API_VERSION) != 0)
        return tracker_fail(c, "apiVersion", "must be \"%s\", not \"%.64s\"",
                            PROMO_API_VERSION, v);
    if (tracker_string(c, doc, "kind", "kind", 1, &v) < 0)
        return -1;
    if (strcmp(v, "PullRequestTracker") != 0)
        return tracker_fail(c, "kind", "must be \"PullRequestTracker\", not \"%.64s\"", v);

    /* metadata */
    if (tracker_object(c, doc, "metadata", "metadata", 1, &meta) < 0
        || tracker_name_field(c, meta, "name", "metadata.name", 1, t->name, sizeof(t->name)) < 0
        || tracker_integer(c, meta, "generation", "metadata.generation", 1,
                           TRACKER_GENERATION_MAX, &t->generation) < 0
        || tracker_string(c, meta, "creationTimestamp", "metadata.creationTimestamp", 0, &v) < 0)
        return -1;
    if (v && (t->created_ms = time_parse_iso(v)) < 0)
        return tracker_fail(c, "metadata.creationTimestamp",
                            "not an ISO time like 2026-11-28T04:30:00Z: \"%.64s\"", v);

    /* spec */
    if (tracker_object(c, doc, "spec", "spec", 1, &spec) < 0
        || tracker_string(c, spec, "repository", "spec.repository", 1, &v) < 0)
        return -1;
    if (!tracker_repo_split(v, t->owner, sizeof(t->owner), t->repo, sizeof(t->repo)))
        return tracker_fail(c, "spec.repository", "must be \"owner/name\" (owner 1-39 of "
                            "[A-Za-z0-9-], name 1-100 of [A-Za-z0-9._-]), not \"%.64s\"", v);
    str_copy(t->repository, v, sizeof(t->repository));
    if (tracker_integer(c, spec, "number", "spec.number", 1, (double)TRACKER_NUMBER_MAX,
                        &t->number) < 0
        || tracker_string(c, spec, "headSHA", "spec.headSHA", 1, &v) < 0)
        return -1;
    if (!tracker_sha_valid(v))
        return tracker_fail(c, "spec.headSHA", "must be 40 or 64 hex digits, not \"%.70s\"", v);
    for (i = 0; v[i]; i++)
        t->head_sha[i] = (char)tolower((unsigned char)v[i]);
    t->head_sha[i] = '\0';
    if (tracker_string(c, spec, "headRef", "spec.headRef", 0, &v) < 0)
        return -1;
    if (v) {
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof(t->head_ref))
            return tracker_fail(c, "spec.headRef", "must be 1..%zu characters",
                                sizeof(t->head_ref) - 1);
        for (i = 0; i < n; i++)
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
                return tracker_fail(c, "spec.headRef", "control character at offset %zu", i);
        str_copy(t->head_ref, v, sizeof(t->head_ref));
    }
    if (tracker_name_field(c, spec, "application", "spec.application", 1,
                           t->application, sizeof(t->application)) < 0
        || tracker_name_field(c, spec, "environment", "spec.environment", 1,
                              t->environment, sizeof(t->environment)) < 0)
        return -1;

    /* status: optional; where the PR is now, and in which state */
    str_copy(t->status_env, t->environment, sizeof(t->status_env));
    t->state = TS_DEPLOYING;
    if (tracker_object(c, doc, "status", "status", 0, &status) < 0)
        return -1;
    if (!status)
        return 0;
    if (tracker_name_field(c, status, "environment", "status.environment", 0,
                           t->status_env, sizeof(t->status_env)) < 0
        || tracker_string(c, status, "state", "status.state", 0, &v) < 0)
        return -1;
    if (v) {
        if ((st = tracker_state_parse(v)) < 0)
            return tracker_fail(c, "status.state", "unknown state \"%.64s\" (want deploying, "
                                "synced, testing, awaiting-approval, promoting, failed or done)",
                                v);
        t->state = (enum tracker_state)st;
    }
    return 0;
}

/* tracker_read_check - the store_check_fn of tracker_read: a valid document
 * whose metadata.name is the name of its file. A file holding another
 * tracker's name would be listed under one name and found by the stages
 * under the other, and its stage records written under a name that is not
 * its own: it is as bad as a torn one. */
static int tracker_read_check(const cJSON *doc, const char *name, char *why, size_t whylen, void *arg)
{
    struct tracker *t = arg;

    if (tracker_decode(doc, t, why, whylen) < 0)
        return -1;
    if (strcmp(t->name, name) != 0) {
        snprintf(why, whylen, "metadata.name: \"%s\" is not the name of its file trackers/%s.json",
                 t->name, name);
        return -1;
    }
    return 0;
}

/* tracker_read - trackers/name.json, checked; see tracker.h. */
int tracker_read(struct store *s, const char *name, cJSON **doc, struct tracker *t, char *err, size_t errlen)
{
    char why[640];
    cJSON *d = NULL, *owned = NULL;
    const cJSON *b;
    int rc;

    if (doc)
        *doc = NULL;
    if (doc)
        rc = store_read_checked(s, "trackers", name, tracker_read_check, t, &d, why, sizeof(why));
    else                              /* t is all the caller wants: no copy of a cached document */
        rc = store_read_borrow(s, "trackers", name, tracker_read_check, t, &b, &owned, why, sizeof(why));
    if (err && errlen && rc == -EBADMSG)
        snprintf(err, errlen, "%s (quarantined)", why);
    else if (err && errlen)
        err[0] = '\0';
    cJSON_Delete(owned);
    if (rc < 0)
        return rc;
    if (doc)
        *doc = d;
    return 0;
}
