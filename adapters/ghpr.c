/* ghpr.c - GitHub pull-request side effects of a promotion: labels, commit
 * status, the summary comment found by its marker and edited in place; the
 * strict decoders, the error mapping and the comment renderer are pure and
 * unit-tested. See ghpr.h for the contracts. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ghpr.h"
#include "domain/config.h"
#include "util/budget.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "util/loop.h"

/* ghpr_msg - printf into dst (truncating quietly: messages only). */
static void ghpr_msg(char *dst, size_t dstlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ghpr_msg(char *dst, size_t dstlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, dstlen, fmt, ap);
    va_end(ap);
}

/* ghpr_type - the JSON type of j in words, for error messages. */
static const char *ghpr_type(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "invalid";
}

/* ghpr_repo_ok - "owner/name" as GitHub allows them. */
int ghpr_repo_ok(const char *repo)
{
    const char *slash, *p;
    size_t olen, nlen;

    if (!repo || !(slash = strchr(repo, '/')))
        return 0;
    olen = (size_t)(slash - repo);
    nlen = strlen(slash + 1);
    if (olen < 1 || olen > 39 || nlen < 1 || nlen > 100)
        return 0;
    for (p = repo; p < slash; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    for (p = slash + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return 0;
    return strcmp(slash + 1, ".") != 0 && strcmp(slash + 1, "..") != 0;
}

/* ghpr_marker_ok - 1..64 of [A-Za-z0-9._:-]. */
int ghpr_marker_ok(const char *marker)
{
    size_t n;

    if (!marker || !*marker)
        return 0;
    for (n = 0; marker[n]; n++) {
        unsigned char c = (unsigned char)marker[n];
        if (n >= GHPR_MARKER_MAX)
            return 0;
        if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
            return 0;
    }
    return 1;
}

/* ghpr_marker_text - the hidden HTML comment of a marker. */
char *ghpr_marker_text(const char *marker, char *buf, size_t len)
{
    snprintf(buf, len, "<!-- promo:%s -->", marker);
    return buf;
}

/* ghpr_body_has_marker - the body holds the marker's hidden text. */
int ghpr_body_has_marker(const char *body, const char *marker)
{
    char m[GHPR_MARKER_MAX + 24];

    if (!body || !ghpr_marker_ok(marker))
        return 0;
    return strstr(body, ghpr_marker_text(marker, m, sizeof(m))) != NULL;
}

/* ghpr_escape - append s percent-encoded (all but RFC 3986 unreserved) to out. */
static char *ghpr_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
    return out;
}

/* ghpr_url - a repository URL (see ghpr.h). */
char *ghpr_url(const char *api, const char *repo, const char *middle, const char *seg,
               const char *query)
{
    size_t alen = strlen(api), n;
    char *url, *p;
    const char *slash = strchr(repo, '/');
    char owner[64];

    while (alen > 0 && api[alen - 1] == '/')
        alen--;
    str_copy(owner, repo, slash && (size_t)(slash - repo) < sizeof(owner)
             ? (size_t)(slash - repo) + 1 : sizeof(owner));
    n = alen + sizeof("/repos/") + 3 * strlen(repo) + (middle ? strlen(middle) : 0)
        + (seg ? 3 * strlen(seg) : 0) + (query ? strlen(query) : 0) + 2;
    url = xmalloc(n);
    memcpy(url, api, alen);
    p = url + alen;
    p += sprintf(p, "/repos/");
    p = ghpr_escape(p, owner);
    *p++ = '/';
    p = ghpr_escape(p, slash ? slash + 1 : "");
    if (middle)
        p += sprintf(p, "%s", middle);
    if (seg)
        p = ghpr_escape(p, seg);
    if (query)
        sprintf(p, "%s", query);
    return url;
}

/* ghpr_description - cut to GHPR_DESC_MAX characters (see ghpr.h). */
char *ghpr_description(const char *desc)
{
    size_t i, chars = 0, cut = 0, len;
    char *out;

    if (!desc)
        desc = "";
    len = strlen(desc);
    for (i = 0; i < len; i++) {
        if (((unsigned char)desc[i] & 0xC0) != 0x80) {
            if (chars == GHPR_DESC_MAX - 1)
                cut = i;
            chars++;
        }
    }
    if (chars <= GHPR_DESC_MAX)
        cut = len;
    out = xmalloc(cut + 4);
    memcpy(out, desc, cut);
    if (cut < len)
        memcpy(out + cut, "\xe2\x80\xa6", 4);    /* "…" and the NUL */
    else
        out[cut] = '\0';
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = ' ';
    return out;
}

/* ghpr_link_next - the rel="next" URL of a Link header. */
int ghpr_link_next(const char *link, char *out, size_t outlen)
{
    const char *p = link, *lt, *gt, *end;

    if (!link)
        return 0;
    for (;;) {
        if (!(lt = strchr(p, '<')) || !(gt = strchr(lt, '>')))
            return 0;
        end = strchr(gt, ',');
        if (!end)
            end = gt + strlen(gt);
        /* the parameters of this entry are in [gt, end) */
        {
            size_t plen = (size_t)(end - gt);
            char params[256];
            str_copy(params, gt + 1, plen < sizeof(params) ? plen : sizeof(params));
            if (strstr(params, "rel=\"next\"") || strstr(params, "rel=next")) {
                size_t ulen = (size_t)(gt - lt - 1);
                if (ulen == 0 || ulen >= outlen)
                    return 0;
                memcpy(out, lt + 1, ulen);
                out[ulen] = '\0';
                return 1;
            }
        }
        if (!*end)
            return 0;
        p = end + 1;
    }
}

/* ghpr_json_id - o.id as a positive integer (< 2^53) into *id; -1 with err. */
static int ghpr_json_id(const cJSON *o, const char *path, int64_t *id, char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "id");

    if (!j) {
        ghpr_msg(err, errlen, "%sid: required field is missing", path);
        return -1;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble < 1 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(int64_t)j->valuedouble) {
        ghpr_msg(err, errlen, "%sid: must be a positive integer, not %s", path,
                 cJSON_IsNumber(j) ? "this number" : ghpr_type(j));
        return -1;
    }
    *id = (int64_t)j->valuedouble;
    return 0;
}

/* ghpr_json_url - o.html_url (string, null or absent) into url; -1 with err. */
static int ghpr_json_url(const cJSON *o, const char *path, char *url, size_t urllen,
                         char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "html_url");

    url[0] = '\0';
    if (!j || cJSON_IsNull(j))
        return 0;
    if (!cJSON_IsString(j)) {
        ghpr_msg(err, errlen, "%shtml_url: must be a string, not %s", path, ghpr_type(j));
        return -1;
    }
    if (strlen(j->valuestring) >= urllen) {
        ghpr_msg(err, errlen, "%shtml_url: longer than %zu bytes", path, urllen - 1);
        return -1;
    }
    str_copy(url, j->valuestring, urllen);
    return 0;
}

/* ghpr_parse_comment_list - a page of comments; find the marker. */
int ghpr_parse_comment_list(const char *body, size_t len, const char *marker,
                            struct ghpr_comment_page *page, char *err, size_t errlen)
{
    cJSON *doc;
    const cJSON *c, *b;
    char path[32], url[sizeof(page->found_url)];
    int64_t id;
    int i = 0, rc = -1;

    memset(page, 0, sizeof(*page));
    if (!body || len == 0 || !(doc = cJSON_ParseWithLength(body, len))) {
        ghpr_msg(err, errlen, "(answer): not valid JSON");
        return -1;
    }
    if (!cJSON_IsArray(doc)) {
        ghpr_msg(err, errlen, "(answer): must be an array of comments, not %s", ghpr_type(doc));
        goto out;
    }
    cJSON_ArrayForEach(c, doc) {
        snprintf(path, sizeof(path), "[%d].", i);
        if (!cJSON_IsObject(c)) {
            ghpr_msg(err, errlen, "[%d]: must be an object, not %s", i, ghpr_type(c));
            goto out;
        }
        if (ghpr_json_id(c, path, &id, err, errlen) < 0)
            goto out;
        b = cJSON_GetObjectItemCaseSensitive(c, "body");
        if (b && !cJSON_IsNull(b) && !cJSON_IsString(b)) {
            ghpr_msg(err, errlen, "[%d].body: must be a string, not %s", i, ghpr_type(b));
            goto out;
        }
        if (ghpr_json_url(c, path, url, sizeof(url), err, errlen) < 0)
            goto out;
        if (!page->found_id && cJSON_IsString(b) && ghpr_body_has_marker(b->valuestring, marker)) {
            page->found_id = id;
            str_copy(page->found_url, url, sizeof(page->found_url));
        }
        i++;
    }
    page->count = i;
    rc = 0;
out:
    cJSON_Delete(doc);
    if (rc < 0)
        memset(page, 0, sizeof(*page));
    return rc;
}

/* ghpr_parse_comment - one comment's id and html_url. */
int ghpr_parse_comment(const char *body, size_t len, int64_t *id, char *url, size_t urllen,
                       char *err, size_t errlen)
{
    cJSON *doc;
    int rc = -1;

    *id = 0;
    url[0] = '\0';
    if (!body || len == 0 || !(doc = cJSON_ParseWithLength(body, len))) {
        ghpr_msg(err, errlen, "(answer): not valid JSON");
        return -1;
    }
    if (!cJSON_IsObject(doc))
        ghpr_msg(err, errlen, "(answer): must be an object, not %s", ghpr_type(doc));
    else if (ghpr_json_id(doc, "", id, err, errlen) == 0 &&
             ghpr_json_url(doc, "", url, urllen, err, errlen) == 0)
        rc = 0;
    cJSON_Delete(doc);
    if (rc < 0) {
        *id = 0;
        url[0] = '\0';
    }
    return rc;
}

/* ghpr_json_str - o[key] as a string of at most max bytes ("" for null
 * when nullable) into *out; -1 with "PATHkey: reason" in err. */
static int ghpr_json_str(const cJSON *o, const char *path, const char *key, int nullable,
                         size_t max, const char **out, char *err, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

    if (nullable && (!j || cJSON_IsNull(j))) {
        *out = "";
        return 0;
    }
    if (!j) {
        ghpr_msg(err, errlen, "%s%s: required field is missing", path, key);
        return -1;
    }
    if (!cJSON_IsString(j)) {
        ghpr_msg(err, errlen, "%s%s: must be a string, not %s", path, key, ghpr_type(j));
        return -1;
    }
    if (strlen(j->valuestring) > max) {
        ghpr_msg(err, errlen, "%s%s: longer than %zu bytes", path, key, max);
        return -1;
    }
    *out = j->valuestring;
    return 0;
}

/* ghpr_parse_array - body as a JSON array of objects, or NULL with err. */
static cJSON *ghpr_parse_array(const char *body, size_t len, const char *what, char *err, size_t errlen)
{
    cJSON *doc, *e;
    int i = 0;

    if (!body || len == 0 || !(doc = cJSON_ParseWithLength(body, len))) {
        ghpr_msg(err, errlen, "(answer): not valid JSON");
        return NULL;
    }
    if (!cJSON_IsArray(doc)) {
        ghpr_msg(err, errlen, "(answer): must be an array of %s, not %s", what, ghpr_type(doc));
        cJSON_Delete(doc);
        return NULL;
    }
    cJSON_ArrayForEach(e, doc) {
        if (!cJSON_IsObject(e)) {
            ghpr_msg(err, errlen, "[%d]: must be an object, not %s", i, ghpr_type(e));
            cJSON_Delete(doc);
            return NULL;
        }
        i++;
    }
    return doc;
}

/* ghpr_parse_label_list - a page of an issue's labels; mark what is there. */
int ghpr_parse_label_list(const char *body, size_t len, const char *const *want, size_t n,
                          unsigned char *found, char *err, size_t errlen)
{
    cJSON *doc = ghpr_parse_array(body, len, "labels", err, errlen);
    const cJSON *l;
    const char *name;
    char path[32];
    size_t k;
    int i = 0;

    if (!doc)
        return -1;
    cJSON_ArrayForEach(l, doc) {
        snprintf(path, sizeof(path), "[%d].", i++);
        if (ghpr_json_str(l, path, "name", 0, GHPR_LABEL_MAX * 4, &name, err, errlen) < 0) {
            cJSON_Delete(doc);
            return -1;
        }
        for (k = 0; k < n; k++)
            if (strcasecmp(name, want[k]) == 0)
                found[k] = 1;
    }
    cJSON_Delete(doc);
    return 0;
}

/* ghpr_parse_status_list - a page of a commit's statuses, newest first; the
 * first of context decides. */
int ghpr_parse_status_list(const char *body, size_t len, const char *context,
                           char *state, size_t statelen, char *desc, size_t desclen,
                           char *err, size_t errlen)
{
    cJSON *doc = ghpr_parse_array(body, len, "statuses", err, errlen);
    const cJSON *s;
    const char *ctx, *st, *d;
    char path[32];
    int i = 0, rc = 0;

    state[0] = desc[0] = '\0';
    if (!doc)
        return -1;
    cJSON_ArrayForEach(s, doc) {
        snprintf(path, sizeof(path), "[%d].", i++);
        if (ghpr_json_str(s, path, "context", 0, 1024, &ctx, err, errlen) < 0 ||
            ghpr_json_str(s, path, "state", 0, 32, &st, err, errlen) < 0 ||
            ghpr_json_str(s, path, "description", 1, 4096, &d, err, errlen) < 0) {
            rc = -1;
            break;
        }
        if (strcmp(ctx, context) == 0) {
            str_copy(state, st, statelen);
            str_copy(desc, d, desclen);
            rc = 1;
            break;
        }
    }
    cJSON_Delete(doc);
    return rc;
}

/* ghpr_clean - s into dst with control bytes as spaces. */
static void ghpr_clean(char *dst, size_t dstlen, const char *s)
{
    size_t i;

    str_copy(dst, s, dstlen);
    for (i = 0; dst[i]; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = ' ';
}

/* ghpr_parse_error - GitHub's message (see ghpr.h). */
void ghpr_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
    cJSON *doc;
    const cJSON *m, *errs, *first, *d;
    char extra[128] = "";

    msg[0] = '\0';
    if (!body || len == 0 || !(doc = cJSON_ParseWithLength(body, len)))
        return;
    if (cJSON_IsObject(doc)) {
        m = cJSON_GetObjectItemCaseSensitive(doc, "message");
        if (cJSON_IsString(m))
            ghpr_clean(msg, msglen, m->valuestring);
        errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
        first = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
        if (cJSON_IsObject(first)) {
            d = cJSON_GetObjectItemCaseSensitive(first, "message");
            if (!cJSON_IsString(d))
                d = cJSON_GetObjectItemCaseSensitive(first, "code");
            if (cJSON_IsString(d))
                ghpr_clean(extra, sizeof(extra), d->valuestring);
        } else if (cJSON_IsString(first)) {
            ghpr_clean(extra, sizeof(extra), first->valuestring);
        }
        if (extra[0]) {
            size_t n = strlen(msg);
            if (n && n + 2 < msglen)
                ghpr_msg(msg + n, msglen - n, ": %s", extra);
            else if (!n)
                str_copy(msg, extra, msglen);
        }
    }
    cJSON_Delete(doc);
}

/* ghpr_label_absent - 404 "Label does not exist". */
int ghpr_label_absent(long status, const char *body, size_t len)
{
    char msg[128];

    if (status != 404)
        return 0;
    ghpr_parse_error(body, len, msg, sizeof(msg));
    return strcmp(msg, "Label does not exist") == 0;
}

/* ghpr_number - a header value of digits only into *out; 0, or -1. */
static int ghpr_number(const char *s, long long *out)
{
    char *end;

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    *out = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    return *end ? -1 : 0;
}

/* ghpr_classify - map one answer (see ghpr.h). */
int ghpr_classify(int http_error, const char *http_errmsg, long status,
                  const char *body, size_t len, const char *retry_after,
                  const char *remaining, const char *reset, int64_t now_s,
                  const char *what, struct ghpr_result *res)
{
    char msg[160];
    long long rem = -1, rst = 0, ra;
    int limited;

    res->error = 0;
    res->errmsg[0] = '\0';
    res->http_status = status;
    res->retry_after_ms = 0;
    res->rate_remaining = ghpr_number(remaining, &rem) == 0 && rem < 1000000000 ? (long)rem : -1;
    if (http_error != HTTP_OK) {
        res->error = (http_error == HTTP_EBADURL || http_error == HTTP_EREDIRECT ||
                      http_error == HTTP_ETOOBIG) ? ADAPTER_EPERM : ADAPTER_ETEMP;
        ghpr_msg(res->errmsg, sizeof(res->errmsg), "github: %s: %s", what,
                 http_errmsg && *http_errmsg ? http_errmsg : "request failed");
        return res->error;
    }
    if (status >= 200 && status < 300)
        return 0;
    ghpr_parse_error(body, len, msg, sizeof(msg));
    /* Rate limits (primary: remaining 0 until reset; secondary: a message
     * and often a retry-after) answer 403 or 429. */
    limited = (status == 403 || status == 429) &&
        (retry_after || res->rate_remaining == 0 || strstr(msg, "rate limit") ||
         status == 429);
    if (limited) {
        res->error = ADAPTER_ETEMP;
        if (retry_after && (ra = http_retry_after_ms(retry_after)) >= 0)
            res->retry_after_ms = ra > 0 ? ra : 1000;
        else if (res->rate_remaining == 0 && ghpr_number(reset, &rst) == 0 && rst > now_s)
            res->retry_after_ms = (int64_t)(rst - now_s) * 1000;
        else if (res->rate_remaining == 0 && reset)
            res->retry_after_ms = 1000;        /* reset already passed */
        else
            res->retry_after_ms = GHPR_RATE_WAIT_MS;
        ghpr_msg(res->errmsg, sizeof(res->errmsg),
                 "github: %s: rate limited (HTTP %ld), retry in %lld s", what, status,
                 (long long)((res->retry_after_ms + 999) / 1000));
    } else if (status == 401) {
        res->error = ADAPTER_EPERM;
        ghpr_msg(res->errmsg, sizeof(res->errmsg),
                 "github: %s: authentication failed (HTTP 401; check github.tokenFile)", what);
    } else if (status == 404 || status == 410) {
        res->error = ADAPTER_EPERM;
        ghpr_msg(res->errmsg, sizeof(res->errmsg),
                 "github: %s: not found (HTTP %ld: no such repository or pull request, or the token may not see it)%s%s",
                 what, status, msg[0] ? ": " : "", msg);
    } else if (status == 422) {
        res->error = ADAPTER_EPERM;
        ghpr_msg(res->errmsg, sizeof(res->errmsg), "github: %s: rejected (HTTP 422): %s",
                 what, msg[0] ? msg : "(no message)");
    } else if (status >= 500) {
        res->error = ADAPTER_ETEMP;
        ghpr_msg(res->errmsg, sizeof(res->errmsg), "github: %s: HTTP %ld%s%s", what, status,
                 msg[0] ? ": " : "", msg);
    } else {
        res->error = ADAPTER_EPERM;
        ghpr_msg(res->errmsg, sizeof(res->errmsg), "github: %s: HTTP %ld%s%s", what, status,
                 msg[0] ? ": " : "", msg);
    }
    return res->error;
}

/* ---- the summary comment ---- */

/* A growing string. */
struct ghpr_buf {
    char *p;
    size_t len, cap;
};

/* ghpr_buf_add - append n bytes of s. */
static void ghpr_buf_add(struct ghpr_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* ghpr_buf_str - append a string. */
static void ghpr_buf_str(struct ghpr_buf *b, const char *s)
{
    ghpr_buf_add(b, s, strlen(s));
}

/* ghpr_buf_text - append s (at most max bytes, cut on a UTF-8 boundary)
 * escaped for a markdown table cell: no markdown, HTML, mention, or line
 * break can come through, so no value can fake a marker or a row. */
static void ghpr_buf_text(struct ghpr_buf *b, const char *s, size_t max)
{
    size_t i, n;

    if (!s || !*s) {
        ghpr_buf_str(b, "\xe2\x80\x94");     /* "—" */
        return;
    }
    n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '<': ghpr_buf_str(b, "&lt;"); break;
        case '>': ghpr_buf_str(b, "&gt;"); break;
        case '&': ghpr_buf_str(b, "&amp;"); break;
        case '@': ghpr_buf_str(b, "&#64;"); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']':
        case '(': case ')': case '#': case '!': case '~':
            ghpr_buf_add(b, "\\", 1);
            ghpr_buf_add(b, s + i, 1);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                ghpr_buf_add(b, " ", 1);
            else
                ghpr_buf_add(b, s + i, 1);
        }
    }
    if (n < strlen(s))
        ghpr_buf_str(b, "\xe2\x80\xa6");
}

/* ghpr_url_linkable - an http(s) URL of plain printable bytes that cannot
 * break out of a markdown link (see ghpr.h). */
int ghpr_url_linkable(const char *u)
{
    const char *p;

    if (!u || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) ||
        strlen(u) > 1000)
        return 0;
    for (p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()\"'`|\\[]", *p))
            return 0;
    return 1;
}

/* ghpr_outcome_icon - a sign for an outcome word, or "". */
static const char *ghpr_outcome_icon(const char *o)
{
    static const struct { const char *word, *icon; } icons[] = {
        { "passed", "\xe2\x9c\x85 " }, { "success", "\xe2\x9c\x85 " },
        { "promoted", "\xe2\x9c\x85 " }, { "done", "\xe2\x9c\x85 " },
        { "failed", "\xe2\x9d\x8c " }, { "failure", "\xe2\x9d\x8c " }, { "error", "\xe2\x9d\x8c " },
        { "timed-out", "\xe2\x8f\xb1\xef\xb8\x8f " }, { "cancelled", "\xe2\x9a\xaa " },
        { "running", "\xf0\x9f\x94\x84 " }, { "testing", "\xf0\x9f\x94\x84 " },
        { "queued", "\xe2\x8f\xb3 " }, { "pending", "\xe2\x8f\xb3 " },
        { "awaiting-approval", "\xe2\x8f\xb8\xef\xb8\x8f " },
    };
    size_t i;

    for (i = 0; o && i < ARRAY_LEN(icons); i++)
        if (strcmp(o, icons[i].word) == 0)
            return icons[i].icon;
    return "";
}

/* ghpr_duration - "1h 02m", "3m 05s", "12s", "850ms", or "—" for unknown. */
static void ghpr_duration(char *buf, size_t len, int64_t ms)
{
    int64_t s = ms / 1000;

    if (ms <= 0)
        snprintf(buf, len, "\xe2\x80\x94");
    else if (ms < 1000)
        snprintf(buf, len, "%lldms", (long long)ms);
    else if (s < 60)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%lldh %02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
}

/* ghpr_hex - 1 when s is 7..64 hex digits. */
static int ghpr_hex(const char *s)
{
    size_t n = 0;

    if (!s)
        return 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n >= 7 && n <= 64;
}

#define GHPR_CELL_MAX 100     /* bytes of a value shown in a cell */
#define GHPR_ROWS_MAX 200     /* rows rendered (more are counted) */

/* ghpr_render_summary - the markdown of the summary comment (see ghpr.h). */
char *ghpr_render_summary(const char *marker, const struct ghpr_hop *hop,
                          const struct ghpr_test_row *rows, size_t nrows)
{
    struct ghpr_buf b = { NULL, 0, 0 };
    char m[GHPR_MARKER_MAX + 24], line[128], dur[32];
    size_t i;

    if (!ghpr_marker_ok(marker))
        return NULL;
    ghpr_buf_str(&b, ghpr_marker_text(marker, m, sizeof(m)));
    ghpr_buf_str(&b, "\n### promo: ");
    ghpr_buf_text(&b, hop ? hop->source : NULL, 63);
    ghpr_buf_str(&b, " \xe2\x86\x92 ");          /* " → " */
    ghpr_buf_text(&b, hop ? hop->target : NULL, 63);
    ghpr_buf_str(&b, " \xe2\x80\x94 ");
    ghpr_buf_str(&b, ghpr_outcome_icon(hop ? hop->outcome : NULL));
    ghpr_buf_text(&b, hop ? hop->outcome : NULL, 40);
    ghpr_buf_str(&b, "\n\nHead commit: ");
    if (hop && ghpr_hex(hop->sha)) {
        ghpr_buf_str(&b, "`");
        ghpr_buf_str(&b, hop->sha);
        ghpr_buf_str(&b, "`");
    } else {
        ghpr_buf_text(&b, hop ? hop->sha : NULL, 64);
    }
    ghpr_buf_str(&b, "\n\n");
    if (nrows == 0) {
        ghpr_buf_str(&b, "No promotion tests.\n");
    } else {
        ghpr_buf_str(&b, "| Test | Provider | Required | Outcome | Duration | Run |\n"
                         "|---|---|---|---|---|---|\n");
        for (i = 0; i < nrows && i < GHPR_ROWS_MAX; i++) {
            const struct ghpr_test_row *r = &rows[i];
            ghpr_buf_str(&b, "| ");
            ghpr_buf_text(&b, r->name, GHPR_CELL_MAX);
            ghpr_buf_str(&b, " | ");
            ghpr_buf_text(&b, r->provider, 32);
            ghpr_buf_str(&b, r->required ? " | yes | " : " | no | ");
            ghpr_buf_str(&b, ghpr_outcome_icon(r->outcome));
            ghpr_buf_text(&b, r->outcome, 32);
            ghpr_duration(dur, sizeof(dur), r->duration_ms);
            ghpr_buf_str(&b, " | ");
            ghpr_buf_str(&b, dur);
            ghpr_buf_str(&b, " | ");
            if (ghpr_url_linkable(r->url)) {
                ghpr_buf_str(&b, "[run](");
                ghpr_buf_str(&b, r->url);
                ghpr_buf_str(&b, ")");
            } else {
                ghpr_buf_text(&b, r->url, GHPR_CELL_MAX);
            }
            ghpr_buf_str(&b, " |\n");
        }
        if (nrows > GHPR_ROWS_MAX) {
            snprintf(line, sizeof(line), "\n%zu more tests not shown.\n", nrows - GHPR_ROWS_MAX);
            ghpr_buf_str(&b, line);
        }
    }
    ghpr_buf_str(&b, "\n<sub>promo " PROMO_VERSION
                     " keeps this comment up to date; edits to it are overwritten.</sub>\n");
    return b.p;
}

/* ---- the asynchronous operations ---- */

enum ghpr_step {
    GHPR_ADD_LABELS, GHPR_REMOVE_LABEL, GHPR_SET_STATUS,
    GHPR_HAS_LABELS, GHPR_HAS_STATUS,
    GHPR_PATCH_KNOWN, GHPR_LIST, GHPR_PATCH_FOUND, GHPR_POST
};

/* One operation in flight (for the comment: a small state machine). */
struct ghpr_call {
    uint64_t bkey;                  /* the token's request budget (util/budget.h) */
    struct adapter_ctx *ctx;
    enum ghpr_step step;
    ghpr_done_fn done;
    void *arg;
    char what[160];              /* "add labels to owner/name#42", for messages */
    char *repo;
    long number;
    char *marker;
    char *body;                  /* the comment body, JSON-encoded request ready */
    char *api;                   /* github.apiUrl without trailing '/' */
    int pages;
    char **want;                 /* has-labels: the labels looked for */
    unsigned char *found;        /* has-labels: found[i] for want[i] */
    size_t nwant;
    char *state, *desc;          /* has-status: what the status must say */
    struct ghpr_result res;
};

/* ghpr_call_free - release a call (done is not called). */
static void ghpr_call_free(struct ghpr_call *c)
{
    size_t i;

    for (i = 0; i < c->nwant; i++)
        free(c->want[i]);
    free(c->want);
    free(c->found);
    free(c->state);
    free(c->desc);
    free(c->repo);
    free(c->marker);
    free(c->body);
    free(c->api);
    free(c);
}

/* ghpr_call_abandon - the HTTP client was freed before the answer came. */
static void ghpr_call_abandon(void *arg)
{
    ghpr_call_free(arg);
}

/* ghpr_call_finish - call done once, log, free the call. */
static void ghpr_call_finish(struct ghpr_call *c)
{
    if (c->res.error)
        log_warn("github", "op=%s status=%ld error=%s retry_after_ms=%lld msg=%s",
                 log_q(c->what), c->res.http_status,
                 c->res.error == ADAPTER_ETEMP ? "temporary" : "permanent",
                 (long long)c->res.retry_after_ms, log_q(c->res.errmsg));
    else
        log_debug("github", "op=%s status=%ld comment=%lld", log_q(c->what),
                  c->res.http_status, (long long)c->res.comment_id);
    c->done(c->arg, &c->res);
    ghpr_call_free(c);
}

/* ghpr_call_later - the deferred end of a call that did not send. */
static void ghpr_call_later(struct loop *l, void *arg)
{
    ghpr_call_finish(arg);
}

/* ghpr_call_end - end c from the loop with error (0 for a success without
 * request) and a message; returns -1 for an error, 0 otherwise. */
static int ghpr_call_end(struct ghpr_call *c, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ghpr_call_end(struct ghpr_call *c, int error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->res.errmsg, sizeof(c->res.errmsg), fmt, ap);
    va_end(ap);
    c->res.error = error;
    loop_after(c->ctx->loop, 0, ghpr_call_later, c);
    return error ? -1 : 0;
}

/* ghpr_call_new - a call on repo#number; checks the repository and the
 * config. Returns the call; *bad is 1 when it has already been ended. */
static struct ghpr_call *ghpr_call_new(struct adapter_ctx *ctx, enum ghpr_step step,
                                       const char *repo, long number, const char *what,
                                       ghpr_done_fn done, void *arg, int *bad)
{
    struct ghpr_call *c = xcalloc(1, sizeof(*c));
    const char *api = ctx->cfg->github.api_url;
    size_t n;

    c->ctx = ctx;
    c->step = step;
    c->done = done;
    c->arg = arg;
    c->res.rate_remaining = -1;
    c->repo = xstrdup(repo ? repo : "");
    c->number = number;
    if (number > 0)
        ghpr_msg(c->what, sizeof(c->what), "%s %s#%ld", what, c->repo, number);
    else
        ghpr_msg(c->what, sizeof(c->what), "%s %s", what, c->repo);
    *bad = 1;
    if (!ghpr_repo_ok(repo)) {
        ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid repository %s (want owner/name)",
                      c->what, log_q(repo));
        return c;
    }
    if (step != GHPR_SET_STATUS && step != GHPR_HAS_STATUS && number <= 0) {
        ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid pull request number %ld", c->what, number);
        return c;
    }
    if (!api || (strncmp(api, "https://", 8) != 0 && strncmp(api, "http://", 7) != 0)) {
        ghpr_call_end(c, ADAPTER_EPERM, "github: %s: github.apiUrl is not an http(s) URL", c->what);
        return c;
    }
    n = strlen(api);
    while (n > 0 && api[n - 1] == '/')
        n--;
    c->api = xstrndup(api, n);
    *bad = 0;
    return c;
}

static void ghpr_http_done(void *arg, const struct http_resp *resp);

/* ghpr_send - submit one request of c with the GitHub headers. retries is
 * http_req.max_retries. Returns 0, or -1 (done still comes, from the loop). */
static int ghpr_send(struct ghpr_call *c, const char *method, const char *url, const char *body,
                     int retries)
{
    struct http_req req;
    const char *token = c->ctx->cfg->github.token;
    char *auth = NULL;
    int n = 0, rc;

    memset(&req, 0, sizeof(req));
    req.system = "github";
    req.prio = HTTP_PRIO_STEP;          /* labels, statuses, comments of a promotion */
    req.method = method;
    req.url = url;
    req.headers[n++] = "Accept: application/vnd.github+json";
    req.headers[n++] = "X-GitHub-Api-Version: " GHPR_API_VERSION;
    req.headers[n++] = "User-Agent: promo/" PROMO_VERSION;
    if (body)
        req.headers[n++] = "Content-Type: application/json";
    if (token && *token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        req.headers[n++] = auth;
    }
    c->bkey = budget_key_url("github", url, auth ? auth : "");
    budget_take(c->ctx->budget, c->bkey, "github", 0, BUDGET_OTHER);   /* a step always goes */
    req.headers[n] = NULL;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.max_retries = retries;
    req.abandon = ghpr_call_abandon;
    rc = http_submit(c->ctx->http, &req, ghpr_http_done, c);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    return rc;
}

/* ghpr_send_path - ghpr_send to the URL of middle/seg/query in c's repository. */
static int ghpr_send_path(struct ghpr_call *c, const char *method, const char *middle,
                          const char *seg, const char *query, const char *body, int retries)
{
    char *url = ghpr_url(c->api, c->repo, middle, seg, query);
    int rc = ghpr_send(c, method, url, body, retries);

    free(url);
    return rc;
}

/* ghpr_next_page - the URL of the page after resp into next: 1 when there
 * is one, 0 when resp was the last, -1 (c->res set) when Link points away
 * from github.apiUrl: credentials go to the configured server only. */
static int ghpr_next_page(struct ghpr_call *c, const struct http_resp *resp, char *next, size_t len)
{
    size_t alen = strlen(c->api);

    if (!ghpr_link_next(http_resp_header(resp, "link"), next, len))
        return 0;
    if (strncmp(next, c->api, alen) != 0 || next[alen] != '/') {
        c->res.error = ADAPTER_EPERM;
        ghpr_msg(c->res.errmsg, sizeof(c->res.errmsg),
                 "github: %s: Link rel=next points away from github.apiUrl", c->what);
        return -1;
    }
    return 1;
}

/* ghpr_look_step - an answer of a has-labels or has-status lookup: 1 when
 * c asked for the next page, 0 when c is finished (res.present set). */
static int ghpr_look_step(struct ghpr_call *c, const struct http_resp *resp)
{
    char err[200], next[1024], state[32], desc[GHPR_DESC_MAX * 4 + 1];
    size_t i;
    int rc;

    if (c->res.error)
        return 0;
    if (c->step == GHPR_HAS_LABELS) {
        rc = ghpr_parse_label_list(resp->body, resp->len, (const char *const *)c->want, c->nwant,
                                   c->found, err, sizeof(err));
        for (i = 0; rc == 0 && i < c->nwant && c->found[i]; i++)
            ;
        if (rc == 0 && i == c->nwant) {
            c->res.present = 1;
            return 0;
        }
    } else {
        rc = ghpr_parse_status_list(resp->body, resp->len, c->marker, state, sizeof(state), desc,
                                    sizeof(desc), err, sizeof(err));
        if (rc == 1) {                    /* the latest status of the context */
            c->res.present = strcmp(state, c->state) == 0 && strcmp(desc, c->desc) == 0;
            return 0;
        }
    }
    if (rc < 0) {
        c->res.error = ADAPTER_ETEMP;
        ghpr_msg(c->res.errmsg, sizeof(c->res.errmsg), "github: %s: unusable answer (page %d): %s",
                 c->what, c->pages, err);
        return 0;
    }
    if (ghpr_next_page(c, resp, next, sizeof(next)) <= 0 || c->pages >= GHPR_MAX_PAGES)
        return 0;                         /* not there (or an error, set) */
    c->pages++;
    ghpr_send(c, "GET", next, NULL, -1);
    return 1;
}

/* ghpr_comment_patch - PATCH comment id with c's body. */
static int ghpr_comment_patch(struct ghpr_call *c, enum ghpr_step step, int64_t id)
{
    char middle[64];

    c->step = step;
    c->res.comment_id = id;
    snprintf(middle, sizeof(middle), "/issues/comments/%lld", (long long)id);
    return ghpr_send_path(c, "PATCH", middle, NULL, NULL, c->body, -1);
}

/* ghpr_comment_list - GET a page of comments: the first by path, the next by url. */
static int ghpr_comment_list(struct ghpr_call *c, const char *url)
{
    char middle[64], query[32];

    c->step = GHPR_LIST;
    c->pages++;
    if (url)
        return ghpr_send(c, "GET", url, NULL, -1);
    snprintf(middle, sizeof(middle), "/issues/%ld/comments", c->number);
    snprintf(query, sizeof(query), "?per_page=%d", GHPR_PER_PAGE);
    return ghpr_send_path(c, "GET", middle, NULL, query, NULL, -1);
}

/* ghpr_comment_post - POST a new comment. Not retried by the HTTP client:
 * an answer lost after GitHub created the comment must not post a second
 * one; the caller's retry searches by marker first. */
static int ghpr_comment_post(struct ghpr_call *c)
{
    char middle[64];

    c->step = GHPR_POST;
    snprintf(middle, sizeof(middle), "/issues/%ld/comments", c->number);
    return ghpr_send_path(c, "POST", middle, NULL, NULL, c->body, 0);
}

/* ghpr_comment_step - an answer of the comment state machine: 1 when c
 * went on with another request, 0 when c is finished (res set). */
static int ghpr_comment_step(struct ghpr_call *c, const struct http_resp *resp)
{
    struct ghpr_comment_page page;
    char err[200], next[1024];
    int64_t id;

    if (c->step == GHPR_PATCH_KNOWN && resp->error == HTTP_OK && resp->status == 404) {
        /* The persisted comment was deleted: look for another, else post. */
        log_info("github", "op=%s msg=%s", log_q(c->what),
                 log_q("known comment is gone; searching by marker"));
        c->res.comment_id = 0;
        ghpr_comment_list(c, NULL);
        return 1;
    }
    if (c->step == GHPR_PATCH_FOUND && c->res.error && resp->status == 404) {
        /* Deleted between the search and the edit: search again later. */
        c->res.error = ADAPTER_ETEMP;
        ghpr_msg(c->res.errmsg, sizeof(c->res.errmsg),
                 "github: %s: comment %lld vanished while being edited", c->what,
                 (long long)c->res.comment_id);
        return 0;
    }
    if (c->res.error)
        return 0;
    switch (c->step) {
    case GHPR_LIST:
        if (ghpr_parse_comment_list(resp->body, resp->len, c->marker, &page, err, sizeof(err)) < 0) {
            c->res.error = ADAPTER_ETEMP;
            ghpr_msg(c->res.errmsg, sizeof(c->res.errmsg),
                     "github: %s: unusable comment list (page %d): %s", c->what, c->pages, err);
            return 0;
        }
        if (page.found_id) {
            ghpr_comment_patch(c, GHPR_PATCH_FOUND, page.found_id);
            return 1;
        }
        switch (ghpr_next_page(c, resp, next, sizeof(next))) {
        case -1:
            return 0;
        case 1:
            if (c->pages < GHPR_MAX_PAGES) {
                ghpr_comment_list(c, next);
                return 1;
            }
            /* More than 1000 comments and no marker in them: posting a
             * new one is safer than failing the promotion forever. */
            log_warn("github", "op=%s pages=%d msg=%s", log_q(c->what), c->pages,
                     log_q("marker not found in the pages searched; posting a new comment"));
        }
        ghpr_comment_post(c);
        return 1;
    case GHPR_PATCH_KNOWN:
    case GHPR_PATCH_FOUND:
    case GHPR_POST:
        if (ghpr_parse_comment(resp->body, resp->len, &id, c->res.comment_url,
                               sizeof(c->res.comment_url), err, sizeof(err)) < 0) {
            /* The edit or post happened, but we do not know the id: a
             * retry finds the comment by its marker. */
            c->res.error = ADAPTER_ETEMP;
            ghpr_msg(c->res.errmsg, sizeof(c->res.errmsg),
                     "github: %s: unusable comment answer (HTTP %ld): %s", c->what,
                     resp->status, err);
            return 0;
        }
        c->res.comment_id = id;
        c->res.created = c->step == GHPR_POST;
        return 0;
    default:
        return 0;
    }
}

/* ghpr_http_done - an answer (or a failure) of the HTTP client. */
static void ghpr_http_done(void *arg, const struct http_resp *resp)
{
    struct ghpr_call *c = arg;
    int64_t saved_id = c->res.comment_id;

    if (resp->error == HTTP_OK)
        budget_observe_headers(c->ctx->budget, c->bkey, http_resp_header(resp, "x-ratelimit-limit"),
                               http_resp_header(resp, "x-ratelimit-remaining"),
                               http_resp_header(resp, "x-ratelimit-reset"), resp->status == 304);

    ghpr_classify(resp->error, resp->errmsg, resp->status, resp->body, resp->len,
                  http_resp_header(resp, "retry-after"),
                  http_resp_header(resp, "x-ratelimit-remaining"),
                  http_resp_header(resp, "x-ratelimit-reset"), wall_ms() / 1000,
                  c->what, &c->res);
    c->res.comment_id = saved_id;
    if (c->step == GHPR_REMOVE_LABEL && c->res.error &&
        ghpr_label_absent(resp->status, resp->body, resp->len)) {
        c->res.error = 0;                 /* not there: what we wanted */
        c->res.errmsg[0] = '\0';
    }
    if (c->step >= GHPR_PATCH_KNOWN && ghpr_comment_step(c, resp))
        return;
    if ((c->step == GHPR_HAS_LABELS || c->step == GHPR_HAS_STATUS) && ghpr_look_step(c, resp))
        return;
    ghpr_call_finish(c);
}

/* ghpr_label_ok - a label name: 1..100 bytes, no control bytes. */
static int ghpr_label_ok(const char *l)
{
    const char *p;

    if (!l || !*l || strlen(l) > GHPR_LABEL_MAX)
        return 0;
    for (p = l; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* ghpr_labels_args - check the labels of c: 1 go on; else c is ended (0
 * for none: skipped, nothing to send) and the return value is the caller's. */
static int ghpr_labels_args(struct ghpr_call *c, const char *const *labels, size_t nlabels)
{
    size_t i;

    if (nlabels == 0) {
        c->res.skipped = 1;
        c->res.present = 1;
        return ghpr_call_end(c, 0, "%s", "");
    }
    if (nlabels > GHPR_MAX_LABELS)
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: more than %d labels", c->what,
                             GHPR_MAX_LABELS);
    for (i = 0; i < nlabels; i++)
        if (!ghpr_label_ok(labels[i]))
            return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid label %s", c->what,
                                 log_q(labels[i] ? labels[i] : "(null)"));
    return 1;
}

/* ghpr_add_labels - add labels to a PR (see ghpr.h). */
int ghpr_add_labels(struct adapter_ctx *ctx, const char *repo, long number,
                    const char *const *labels, size_t nlabels,
                    ghpr_done_fn done, void *arg)
{
    int bad, rc;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_ADD_LABELS, repo, number, "add labels to",
                                        done, arg, &bad);
    char middle[64], *body;
    cJSON *o, *a;
    size_t i;

    if (bad || (rc = ghpr_labels_args(c, labels, nlabels)) <= 0)
        return bad ? -1 : rc;
    o = cJSON_CreateObject();
    a = cJSON_AddArrayToObject(o, "labels");
    for (i = 0; i < nlabels; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(labels[i]));
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body)
        log_fatal(EXIT_TEMP, "ghpr_add_labels", "msg=%s", log_q("out of memory"));
    snprintf(middle, sizeof(middle), "/issues/%ld/labels", number);
    rc = ghpr_send_path(c, "POST", middle, NULL, NULL, body, -1);
    free(body);
    return rc;
}

/* ghpr_remove_label - remove one label from a PR (see ghpr.h). */
int ghpr_remove_label(struct adapter_ctx *ctx, const char *repo, long number,
                      const char *label, ghpr_done_fn done, void *arg)
{
    int bad;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_REMOVE_LABEL, repo, number, "remove label from",
                                        done, arg, &bad);
    char middle[64];

    if (bad)
        return -1;
    if (!ghpr_label_ok(label))
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid label %s", c->what,
                             log_q(label ? label : "(null)"));
    snprintf(middle, sizeof(middle), "/issues/%ld/labels/", number);
    return ghpr_send_path(c, "DELETE", middle, label, NULL, NULL, -1);
}

/* ghpr_status_args - check the SHA, state and context of c's status:
 * 0 go on, -1 c is ended. */
static int ghpr_status_args(struct ghpr_call *c, const char *sha, const char *state, const char *context)
{
    if (!ghpr_hex(sha) || (strlen(sha) != 40 && strlen(sha) != 64))
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid commit SHA %s", c->what,
                             log_q(sha ? sha : "(null)"));
    if (!state || (strcmp(state, "pending") != 0 && strcmp(state, "success") != 0 &&
                   strcmp(state, "failure") != 0 && strcmp(state, "error") != 0))
        return ghpr_call_end(c, ADAPTER_EPERM,
                             "github: %s: state %s is not pending, success, failure or error",
                             c->what, log_q(state ? state : "(null)"));
    if (!context || !*context || strlen(context) > 255)
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: the status context must be 1..255 bytes",
                             c->what);
    return 0;
}

/* ghpr_set_status - a commit status on sha (see ghpr.h). */
int ghpr_set_status(struct adapter_ctx *ctx, const char *repo, const char *sha,
                    const char *state, const char *target_url, const char *description,
                    const char *context, ghpr_done_fn done, void *arg)
{
    int bad, rc;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_SET_STATUS, repo, 0, "set commit status on",
                                        done, arg, &bad);
    char *body, *desc;
    cJSON *o;

    if (bad || ghpr_status_args(c, sha, state, context) < 0)
        return -1;
    if (target_url && *target_url && !ghpr_url_linkable(target_url))
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: target_url %s is not a plain http(s) URL",
                             c->what, log_q(target_url));
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", state);
    if (target_url && *target_url)
        cJSON_AddStringToObject(o, "target_url", target_url);
    if (description && *description) {
        desc = ghpr_description(description);
        cJSON_AddStringToObject(o, "description", desc);
        free(desc);
    }
    cJSON_AddStringToObject(o, "context", context);
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body)
        log_fatal(EXIT_TEMP, "ghpr_set_status", "msg=%s", log_q("out of memory"));
    rc = ghpr_send_path(c, "POST", "/statuses/", sha, NULL, body, -1);
    free(body);
    return rc;
}

/* ghpr_upsert_comment - the one marked comment, edited in place (see ghpr.h). */
int ghpr_upsert_comment(struct adapter_ctx *ctx, const char *repo, long number,
                        const char *marker, const char *body, int64_t known_comment_id,
                        ghpr_done_fn done, void *arg)
{
    int bad;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_LIST, repo, number, "upsert comment on",
                                        done, arg, &bad);
    char m[GHPR_MARKER_MAX + 24], *text;
    cJSON *o;

    if (bad)
        return -1;
    if (!ghpr_marker_ok(marker))
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: invalid marker %s", c->what,
                             log_q(marker ? marker : "(null)"));
    if (!body)
        body = "";
    c->marker = xstrdup(marker);
    text = ghpr_body_has_marker(body, marker) ? xstrdup(body)
        : xasprintf("%s\n%s", ghpr_marker_text(marker, m, sizeof(m)), body);
    if (strlen(text) > GHPR_BODY_MAX) {
        free(text);
        return ghpr_call_end(c, ADAPTER_EPERM, "github: %s: comment longer than %d bytes",
                             c->what, GHPR_BODY_MAX);
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "body", text);
    free(text);
    c->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!c->body)
        log_fatal(EXIT_TEMP, "ghpr_upsert_comment", "msg=%s", log_q("out of memory"));
    if (known_comment_id > 0)
        return ghpr_comment_patch(c, GHPR_PATCH_KNOWN, known_comment_id);
    return ghpr_comment_list(c, NULL);
}

/* ghpr_has_labels - are labels all on the PR (see ghpr.h). */
int ghpr_has_labels(struct adapter_ctx *ctx, const char *repo, long number,
                    const char *const *labels, size_t nlabels,
                    ghpr_done_fn done, void *arg)
{
    int bad, rc;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_HAS_LABELS, repo, number, "look up labels of",
                                        done, arg, &bad);
    char middle[64], query[32];
    size_t i;

    if (bad || (rc = ghpr_labels_args(c, labels, nlabels)) <= 0)
        return bad ? -1 : rc;
    c->want = xcalloc(nlabels, sizeof(*c->want));
    c->found = xcalloc(nlabels, 1);
    for (i = 0; i < nlabels; i++)
        c->want[i] = xstrdup(labels[i]);
    c->nwant = nlabels;
    c->pages = 1;
    snprintf(middle, sizeof(middle), "/issues/%ld/labels", number);
    snprintf(query, sizeof(query), "?per_page=%d", GHPR_PER_PAGE);
    return ghpr_send_path(c, "GET", middle, NULL, query, NULL, -1);
}

/* ghpr_has_status - does the latest status of context say this (see ghpr.h). */
int ghpr_has_status(struct adapter_ctx *ctx, const char *repo, const char *sha,
                    const char *state, const char *description, const char *context,
                    ghpr_done_fn done, void *arg)
{
    int bad;
    struct ghpr_call *c = ghpr_call_new(ctx, GHPR_HAS_STATUS, repo, 0, "look up commit status of",
                                        done, arg, &bad);
    char query[48];

    if (bad || ghpr_status_args(c, sha, state, context) < 0)
        return -1;
    c->state = xstrdup(state);
    c->desc = description && *description ? ghpr_description(description) : xstrdup("");
    c->marker = xstrdup(context);
    c->pages = 1;
    snprintf(query, sizeof(query), "/statuses?per_page=%d", GHPR_PER_PAGE);
    return ghpr_send_path(c, "GET", "/commits/", sha, query, NULL, -1);
}
