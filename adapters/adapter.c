/* adapter.c - the adapter table, the persisted form of a
 * run, and the helpers the HTTP adapters share (strict JSON fields, URL
 * escaping, transport failure mapping); their request lifecycle is adapter_call.c. */
#include <ctype.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "adapters/adapter.h"
#include "adapters/adapters_internal.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"

#define ADAPTER_JSON_MAX_INT 9007199254740992.0     /* 2^53 */

/* adapter_find - the adapter of a provider name, or NULL. */
const struct adapter *adapter_find(const char *provider)
{
    static const struct adapter *const table[] = {
        &adapter_jenkins, &adapter_github, &adapter_gitlab, &adapter_exec, &adapter_plugin,
    };
    size_t i;

    if (!provider)
        return NULL;
    for (i = 0; i < ARRAY_LEN(table); i++)
        if (strcmp(table[i]->provider, provider) == 0)
            return table[i];
    return NULL;
}

/* adapter_run_to_json - {id, url, api, status, etag?, detail?, durationMs?}. */
cJSON *adapter_run_to_json(const struct adapter_run *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "url", r->url);
    cJSON_AddStringToObject(o, "api", r->api);
    cJSON_AddStringToObject(o, "status", run_status_name(r->status));
    if (r->etag[0])
        cJSON_AddStringToObject(o, "etag", r->etag);
    if (r->detail[0])
        cJSON_AddStringToObject(o, "detail", r->detail);
    if (r->duration_ms > 0)
        cJSON_AddNumberToObject(o, "durationMs", (double)r->duration_ms);
    return o;
}

/* adapter_run_from_json - the inverse of adapter_run_to_json, strict: o must
 * be an object, status a known name, every string field a string (or null)
 * that fits its buffer, durationMs an integral number >= 0. Unknown fields
 * are ignored. On -1, *r is zeroed. */
int adapter_run_from_json(const cJSON *o, struct adapter_run *r)
{
    static const struct { const char *name; size_t off, size; } fields[] = {
        { "id", offsetof(struct adapter_run, id), sizeof(((struct adapter_run *)0)->id) },
        { "url", offsetof(struct adapter_run, url), sizeof(((struct adapter_run *)0)->url) },
        { "api", offsetof(struct adapter_run, api), sizeof(((struct adapter_run *)0)->api) },
        { "etag", offsetof(struct adapter_run, etag), sizeof(((struct adapter_run *)0)->etag) },
        { "detail", offsetof(struct adapter_run, detail), sizeof(((struct adapter_run *)0)->detail) },
    };
    char err[128], name[32];
    int64_t d;
    size_t i;
    int s;

    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(o))
        return -1;
    for (i = 0; i < ARRAY_LEN(fields); i++)
        if (adapter_json_str(o, fields[i].name, 0, (char *)r + fields[i].off, fields[i].size,
                             err, sizeof(err)) < 0)
            goto bad;
    if (adapter_json_str(o, "status", 1, name, sizeof(name), err, sizeof(err)) < 0)
        goto bad;
    if ((s = run_status_parse(name)) < 0)
        goto bad;
    r->status = (enum run_status)s;
    if (adapter_json_int(o, "durationMs", 0, &d, err, sizeof(err)) < 0)
        goto bad;
    r->duration_ms = d > 0 ? d : 0;
    return 0;
bad:
    memset(r, 0, sizeof(*r));
    return -1;
}

/* adapter_res_init - a clean result: no error, rate_remaining -1. */
void adapter_res_init(struct adapter_result *res)
{
    memset(res, 0, sizeof(*res));
    res->rate_remaining = -1;
}

/* adapter_res_error - set the error and its message. */
void adapter_res_error(struct adapter_result *res, int error, const char *fmt, ...)
{
    va_list ap;

    res->error = error;
    va_start(ap, fmt);
    vsnprintf(res->errmsg, sizeof(res->errmsg), fmt, ap);
    va_end(ap);
}

/* adapter_http_failed - map a transport failure to an adapter error. */
int adapter_http_failed(const struct http_resp *resp, const char *what, struct adapter_result *res)
{
    switch (resp->error) {
    case HTTP_OK:
        return 0;
    case HTTP_EBADURL:
    case HTTP_EREDIRECT:
        adapter_res_error(res, ADAPTER_EPERM, "%s: %s", what, resp->errmsg);
        return 1;
    default:
        adapter_res_error(res, ADAPTER_ETEMP, "%s: %s", what,
                          resp->errmsg[0] ? resp->errmsg : "no answer");
        return 1;
    }
}

/* adapter_retry_after - Retry-After of resp into res->retry_after_ms. */
void adapter_retry_after(const struct http_resp *resp, struct adapter_result *res)
{
    const char *v = http_resp_header(resp, "retry-after");
    long ms;

    if (v && (ms = http_retry_after_ms(v)) >= 0)
        res->retry_after_ms = ms;
}

/* adapter_escape - percent-encode s; heap (free with free()). */
char *adapter_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s)), *out;

    if (!e)
        log_fatal(EXIT_TEMP, "adapter_escape", "reason=%s", log_q("out of memory"));
    out = xstrdup(e);
    curl_free(e);
    return out;
}

/* adapter_base_url - url without trailing slashes, only http(s). */
char *adapter_base_url(const char *url)
{
    size_t n;

    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return NULL;
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n <= 8 && strncmp(url, "https://", 8) == 0)
        return NULL;
    if (n <= 7)
        return NULL;
    return xstrndup(url, n);
}

/* adapter_origin_len - the length of "scheme://host[:port]" at the start of url, or 0. */
static size_t adapter_origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p || p == url)
        return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

/* adapter_same_origin - 1 when url is on base's scheme, host and port. */
int adapter_same_origin(const char *url, const char *base)
{
    size_t a, b;

    if (!url || !base)
        return 0;
    a = adapter_origin_len(url);
    b = adapter_origin_len(base);
    return a > 0 && a == b && strncasecmp(url, base, a) == 0;
}

/* adapter_body_json - the body as JSON, whole (no trailing data). */
cJSON *adapter_body_json(const struct http_resp *resp, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *j;

    if (!resp->body || resp->len == 0) {
        snprintf(err, errlen, "empty body, JSON expected");
        return NULL;
    }
    j = cJSON_ParseWithLengthOpts(resp->body, resp->len, &end, 0);
    if (!j) {
        snprintf(err, errlen, "body is not JSON (at byte %ld)",
                 end ? (long)(end - resp->body) : 0L);
        return NULL;
    }
    for (; end && end < resp->body + resp->len; end++)
        if (!isspace((unsigned char)*end)) {
            cJSON_Delete(j);
            snprintf(err, errlen, "trailing data after JSON at byte %ld", (long)(end - resp->body));
            return NULL;
        }
    return j;
}

/* adapter_looks_like_sha - 7..64 hex digits. */
int adapter_looks_like_sha(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n >= 7 && n <= 64;
}

/* adapter_test_ref - params "ref", else the tracker's ref; never a bare SHA. */
const char *adapter_test_ref(const struct adapter_test *t)
{
    const cJSON *p = t->params ? cJSON_GetObjectItemCaseSensitive(t->params, "ref") : NULL;
    const char *ref = cJSON_IsString(p) ? p->valuestring : t->ref;

    if (!ref || !ref[0] || adapter_looks_like_sha(ref))
        return NULL;
    return ref;
}

/* adapter_json_str - a bounded string field without control characters. */
int adapter_json_str(const cJSON *o, const char *name, int required, char *buf, size_t size,
                     char *err, size_t errlen)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    size_t n, i;

    buf[0] = '\0';
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "field %s: the enclosing value is not an object", name);
        return -1;
    }
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        snprintf(err, errlen, "field %s: missing", name);
        return -1;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(err, errlen, "field %s: not a string", name);
        return -1;
    }
    n = strlen(v->valuestring);
    if (n >= size) {
        snprintf(err, errlen, "field %s: too long (%zu bytes, at most %zu)", name, n, size - 1);
        return -1;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f) {
            snprintf(err, errlen, "field %s: control character at byte %zu", name, i);
            return -1;
        }
    memcpy(buf, v->valuestring, n + 1);
    return 0;
}

/* adapter_json_int - an integral number in [0, 2^53]. */
int adapter_json_int(const cJSON *o, const char *name, int required, int64_t *out,
                     char *err, size_t errlen)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    double d;

    *out = -1;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "field %s: the enclosing value is not an object", name);
        return -1;
    }
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        snprintf(err, errlen, "field %s: missing", name);
        return -1;
    }
    if (!cJSON_IsNumber(v)) {
        snprintf(err, errlen, "field %s: not a number", name);
        return -1;
    }
    d = v->valuedouble;
    if (!(d >= 0 && d <= ADAPTER_JSON_MAX_INT) || d != (double)(int64_t)d) {
        snprintf(err, errlen, "field %s: not an integer in [0, 2^53]", name);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* adapter_json_bool - true or false. */
int adapter_json_bool(const cJSON *o, const char *name, int required, int *out,
                      char *err, size_t errlen)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;

    *out = -1;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "field %s: the enclosing value is not an object", name);
        return -1;
    }
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        snprintf(err, errlen, "field %s: missing", name);
        return -1;
    }
    if (!cJSON_IsBool(v)) {
        snprintf(err, errlen, "field %s: not a boolean", name);
        return -1;
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

/* adapter_name_ok - [A-Za-z0-9._-]+ of n bytes, neither "." nor "..". */
int adapter_name_ok(const char *s, size_t n)
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

/* adapter_status_of - a provider's word looked up in its table. */
enum run_status adapter_status_of(const struct adapter_status_word *map, const char *word,
                                  enum run_status dflt)
{
    for (; word && map->word; map++)
        if (strcmp(word, map->word) == 0)
            return map->status;
    return dflt;
}

/* adapter_json_run - the id and link every run object has. */
int adapter_json_run(const cJSON *o, const char *what, const char *id_name, const char *noun,
                     const char *url_name, struct adapter_run *run, char *err, size_t errlen)
{
    char url[sizeof(run->url)];
    int64_t id;

    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "%s: not an object", what);
        return -1;
    }
    if (adapter_json_int(o, id_name, 1, &id, err, errlen) < 0
        || adapter_json_str(o, url_name, 1, url, sizeof(url), err, errlen) < 0)
        return -1;
    if (id < 1) {
        snprintf(err, errlen, "field %s: not a %s id", id_name, noun);
        return -1;
    }
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "field %s: not an http(s) URL", url_name);
        return -1;
    }
    snprintf(run->id, sizeof(run->id), "%lld", (long long)id);
    str_copy(run->url, url, sizeof(run->url));
    return 0;
}

/* adapter_params_check - the policy's parameters, fit to send. */
int adapter_params_check(const cJSON *params, const char *reserved, int skip_ref,
                         const char *name_chars, char *err, size_t errlen)
{
    const cJSON *p;

    if (params && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: not an object");
        return -1;
    }
    cJSON_ArrayForEach(p, params) {
        if (!p->string || !p->string[0]) {
            snprintf(err, errlen, "parameters: an empty parameter name");
            return -1;
        }
        if (skip_ref && strcmp(p->string, "ref") == 0)
            continue;
        if (name_chars && strspn(p->string, name_chars) != strlen(p->string)) {
            snprintf(err, errlen, "parameter %s: not a variable name", log_q(p->string));
            return -1;
        }
        if (strcmp(p->string, reserved) == 0) {
            snprintf(err, errlen, "parameter %s: reserved for the idempotency key", p->string);
            return -1;
        }
        if (!cJSON_IsString(p)) {
            snprintf(err, errlen, "parameter %s: not a string", p->string);
            return -1;
        }
    }
    return 0;
}

/* adapter_json_text - o as compact JSON text; o is deleted. */
char *adapter_json_text(cJSON *o, char *err, size_t errlen)
{
    char *text = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    if (!text)
        snprintf(err, errlen, "cannot encode the request");
    return text;
}

/* adapter_json_pairs_have - an array of {name_field, value} holds name = value. */
int adapter_json_pairs_have(const cJSON *pairs, const char *what, const char *name_field,
                            const char *name, const char *value, int any_value,
                            char *err, size_t errlen)
{
    const cJSON *p, *n, *v;

    if (!cJSON_IsArray(pairs)) {
        snprintf(err, errlen, "%s: not an array", what);
        return -1;
    }
    cJSON_ArrayForEach(p, pairs) {
        if (!cJSON_IsObject(p)) {
            snprintf(err, errlen, "%s[]: not an object", what);
            return -1;
        }
        n = cJSON_GetObjectItemCaseSensitive(p, name_field);
        v = cJSON_GetObjectItemCaseSensitive(p, "value");
        if (!cJSON_IsString(n)) {
            snprintf(err, errlen, "field %s[].%s: not a string", what, name_field);
            return -1;
        }
        if (!any_value && v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
            snprintf(err, errlen, "field %s[].value: not a string", what);
            return -1;
        }
        if (strcmp(n->valuestring, name) == 0 && cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return 1;
    }
    return 0;
}

/* adapter_json_ids - the positive integer ids of a list of run objects. */
int adapter_json_ids(const cJSON *list, const char *what, const char *noun, int64_t *ids, int max,
                     char *err, size_t errlen)
{
    const cJSON *p;
    int64_t id;
    int n = 0;

    if (!cJSON_IsArray(list)) {
        snprintf(err, errlen, "%s: not an array", what);
        return -1;
    }
    cJSON_ArrayForEach(p, list) {
        if (!cJSON_IsObject(p)) {
            snprintf(err, errlen, "%s[]: not an object", what);
            return -1;
        }
        if (adapter_json_int(p, "id", 1, &id, err, errlen) < 0)
            return -1;
        if (id < 1) {
            snprintf(err, errlen, "field id: not a %s id", noun);
            return -1;
        }
        if (n < max)
            ids[n++] = id;
    }
    return n;
}

/* adapter_each_run - every run of a list, decoded, to add. */
int adapter_each_run(const cJSON *arr, int (*parse)(const cJSON *, struct adapter_run *, char *, size_t),
                     void (*add)(void *arg, const struct adapter_run *run), void *arg, char *err, size_t errlen)
{
    const cJSON *e;
    struct adapter_run run;

    cJSON_ArrayForEach(e, arr) {
        memset(&run, 0, sizeof(run));
        if (parse(e, &run, err, errlen) < 0)
            return -1;
        add(arg, &run);
    }
    return 0;
}
