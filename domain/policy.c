/* policy.c - PromotionPolicy decoder and validator, and policy sets (see policy.h).
 *
 * Validation walks the document as parsed (so yj_pos_of can name lines and
 * columns) and keeps going after an error, so one run reports every problem
 * of a file. Only a document without errors is copied, given its defaults
 * and bound into a struct policy. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/duration.h"
#include "domain/policy.h"
#include "domain/subst.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "util/yamljson.h"
#include "util/json.h"

static const char *const policy_providers[PP_COUNT] = {
    [PP_JENKINS] = "jenkins",
    [PP_GITHUB_ACTIONS] = "github-actions",
    [PP_GITLAB] = "gitlab",
    [PP_EXEC] = "exec",
    [PP_PLUGIN] = "plugin",
};

/* The fields each mapping may hold; anything else is warned about. */
static const char *const policy_top_fields[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
static const char *const policy_meta_fields[] = { "name", "namespace", "labels", "annotations", "uid",
    "resourceVersion", "generation", "creationTimestamp", NULL };
static const char *const policy_spec_fields[] = { "sourceEnvironment", "targetEnvironment",
    "autoPromote", "timeout", "externalTests", "promotion", NULL };
static const char *const policy_test_fields[] = { "name", "provider", "job", "required", "timeout",
    "parameters", NULL };
static const char *const policy_promo_fields[] = { "argocd", "github", "exclusive", NULL };
static const char *const policy_argo_fields[] = { "cluster", "application", "project", "appNamespace",
    "update", "source", NULL };
static const char *const policy_update_fields[] = { "targetRevision", "kustomizeImage", "helmParameter",
    "mergePatch", NULL };
static const char *const policy_image_fields[] = { "image", "tag", NULL };
static const char *const policy_helm_fields[] = { "name", "value", NULL };
static const char *const policy_gh_fields[] = { "addLabels", "removeLabels", "commitStatus", "comment", NULL };

/* One validation run over one document. */
struct policy_check {
    const struct yj_doc *src;
    const char *file;
    struct policy_diag *d;
    int errors;
};

/* policy_provider_name - the provider's name as written in policies. */
const char *policy_provider_name(enum policy_provider p)
{
    if ((int)p < 0 || p >= PP_COUNT)
        return "?";
    return policy_providers[p];
}

/* policy_update_name - the policy's word for u. */
const char *policy_update_name(enum policy_update u)
{
    return (unsigned)u <= PU_MERGE_PATCH ? policy_update_fields[u] : "?";
}

/* policy_provider_parse - exact, case-sensitive match. */
int policy_provider_parse(const char *s)
{
    int i;

    for (i = 0; s && i < PP_COUNT; i++)
        if (strcmp(s, policy_providers[i]) == 0)
            return i;
    return -1;
}

/* policy_diag_add - format and keep one message (bounded by POLICY_DIAG_MAX). */
void policy_diag_add(struct policy_diag *d, int error, const char *file, int line, int col,
                     const char *fmt, ...)
{
    char body[1024], where[600];
    va_list ap;

    if (error)
        d->nerrors++;
    else
        d->nwarnings++;
    if (d->n >= POLICY_DIAG_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (file && line > 0)
        snprintf(where, sizeof(where), "%s:%d:%d: ", file, line, col > 0 ? col : 1);
    else if (file)
        snprintf(where, sizeof(where), "%s: ", file);
    else
        where[0] = 0;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->msg = xrealloc(d->msg, (size_t)d->cap * sizeof(*d->msg));
    }
    d->msg[d->n].text = xasprintf("%s%s%s", where, error ? "" : "warning: ", body);
    d->msg[d->n].error = error;
    d->n++;
}

/* policy_diag_print - the messages, then how many were left out. */
void policy_diag_print(const struct policy_diag *d, FILE *f)
{
    int i, left = d->nerrors + d->nwarnings - d->n;

    for (i = 0; i < d->n; i++)
        fprintf(f, "%s\n", d->msg[i].text);
    if (left > 0)
        fprintf(f, "... and %d more\n", left);
}

/* policy_diag_free - release the messages. */
void policy_diag_free(struct policy_diag *d)
{
    int i;

    for (i = 0; i < d->n; i++)
        free(d->msg[i].text);
    free(d->msg);
    memset(d, 0, sizeof(*d));
}

/* policy_type_name - "a string", "a list"... for messages. */
static const char *policy_type_name(const cJSON *n)
{
    if (!n)
        return "missing";
    if (cJSON_IsString(n))
        return "a string";
    if (cJSON_IsNumber(n))
        return "a number";
    if (cJSON_IsBool(n))
        return "a boolean";
    if (cJSON_IsNull(n))
        return "null";
    if (cJSON_IsArray(n))
        return "a list";
    if (cJSON_IsObject(n))
        return "a mapping";
    return "an unknown type";
}

/* policy_report - one message about node (or, for key_pos, about its key). */
static void policy_report(struct policy_check *c, int error, const cJSON *node, int key_pos,
                          const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void policy_report(struct policy_check *c, int error, const cJSON *node, int key_pos,
                          const char *path, const char *fmt, ...)
{
    struct yj_pos pos = { 0, 0, 0, 0 };
    char body[800];
    int line, col;
    va_list ap;

    if (c->src && node)
        pos = yj_pos_of(c->src, node);
    line = pos.line;
    col = pos.col;
    if ((key_pos || line == 0) && pos.key_line > 0) {
        line = pos.key_line;
        col = pos.key_col;
    }
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (error)
        c->errors++;
    policy_diag_add(c->d, error, c->file, line, col, "%s: %s", path, body);
}

/* policy_edit_distance - Levenshtein distance of two short strings (capped). */
static int policy_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b), i, j;
    int row[65];

    if (la > 64 || lb > 64)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        int prev = row[0], cur;
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            int sub = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            cur = sub < del ? sub : del;
            cur = cur < ins ? cur : ins;
            prev = row[j];
            row[j] = cur;
        }
    }
    return row[lb];
}

/* policy_check_unknown - warn about every field of obj not in known. */
static void policy_check_unknown(struct policy_check *c, const cJSON *obj, const char *path,
                                 const char *const *known)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj) {
        const char *hint = NULL;
        int i, best = 3;

        for (i = 0; known[i] && strcmp(it->string, known[i]) != 0; i++)
            ;
        if (known[i])
            continue;                   /* known: no suggestion to look for */
        for (i = 0; known[i]; i++) {
            int dist = policy_edit_distance(it->string, known[i]);

            if (strcasecmp(it->string, known[i]) == 0)
                dist = 0;
            if (dist < best) {
                best = dist;
                hint = known[i];
            }
        }
        if (hint)
            policy_report(c, 0, it, 1, path, "unknown field \"%s\" ignored (did you mean \"%s\"?)",
                          it->string, hint);
        else
            policy_report(c, 0, it, 1, path, "unknown field \"%s\" ignored", it->string);
    }
}

/* policy_path - "parent.key" into buf. */
static const char *policy_path(char *buf, size_t len, const char *parent, const char *key)
{
    snprintf(buf, len, "%s%s%s", parent, parent[0] ? "." : "", key);
    return buf;
}

/* policy_check_template - the string is a well-formed template (reports). */
static void policy_check_template(struct policy_check *c, const cJSON *n, const char *path)
{
    char err[256];

    if (subst_check(n->valuestring, err, sizeof(err)) < 0)
        policy_report(c, 1, n, 0, path, "%s", err);
}

/* policy_check_string - obj.key is a non-empty string of at most max bytes.
 * Returns the node when it is a string (even a bad one), else NULL. */
static const cJSON *policy_check_string(struct policy_check *c, const cJSON *obj, const char *key,
                                        const char *parent, int required, size_t max,
                                        int is_template)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[300];

    policy_path(path, sizeof(path), parent, key);
    if (!n) {
        if (required)
            policy_report(c, 1, obj, 1, path, "required field is missing");
        return NULL;
    }
    if (!cJSON_IsString(n)) {
        policy_report(c, 1, n, 0, path, "must be a string, not %s", policy_type_name(n));
        return NULL;
    }
    if (!n->valuestring[0]) {
        policy_report(c, 1, n, 0, path, "must not be empty");
        return n;
    }
    if (strlen(n->valuestring) > max) {
        policy_report(c, 1, n, 0, path, "longer than %zu bytes", max);
        return n;
    }
    if (is_template)
        policy_check_template(c, n, path);
    return n;
}

/* policy_check_env - obj.key is an environment name. */
static const cJSON *policy_check_env(struct policy_check *c, const cJSON *obj, const char *key)
{
    const cJSON *n = policy_check_string(c, obj, key, "spec", 1, POLICY_ENV_MAX, 0);
    char path[64];

    if (!n || !n->valuestring[0] || strlen(n->valuestring) > POLICY_ENV_MAX)
        return NULL;
    if (!name_valid(n->valuestring)) {
        policy_report(c, 1, n, 0, policy_path(path, sizeof(path), "spec", key),
                      "\"%s\" is not a valid environment name (lower case letters, digits, "
                      "'-' and '.', starting and ending with a letter or digit)",
                      n->valuestring);
        return NULL;
    }
    return n;
}

/* policy_check_bool - obj.key, when present, is a boolean. */
static void policy_check_bool(struct policy_check *c, const cJSON *obj, const char *key,
                              const char *parent)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[300];

    if (n && !cJSON_IsBool(n))
        policy_report(c, 1, n, 0, policy_path(path, sizeof(path), parent, key),
                      "must be a boolean (true or false), not %s", policy_type_name(n));
}

/* policy_check_duration - obj.key, when present, is a positive duration. */
static void policy_check_duration(struct policy_check *c, const cJSON *obj, const char *key,
                                  const char *parent)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);
    char path[300], err[200];
    int64_t ms;

    if (!n)
        return;
    policy_path(path, sizeof(path), parent, key);
    if (!cJSON_IsString(n)) {
        policy_report(c, 1, n, 0, path, "must be a duration such as \"30m\" or \"1h\", not %s",
                      policy_type_name(n));
        return;
    }
    if (duration_parse(n->valuestring, &ms, err, sizeof(err)) < 0) {
        policy_report(c, 1, n, 0, path, "%s", err);
        return;
    }
    if (ms <= 0)
        policy_report(c, 1, n, 0, path, "must be positive, not \"%s\"", n->valuestring);
}

/* policy_word_valid - [A-Za-z0-9][A-Za-z0-9._-]* of at most max bytes
 * (first may also be '_' when underscore_first). */
static int policy_word_valid(const char *s, size_t max, int underscore_first)
{
    size_t i, n = strlen(s);

    if (n < 1 || n > max)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (i == 0 && !alnum && !(underscore_first && ch == '_'))
            return 0;
        if (!alnum && ch != '.' && ch != '_' && ch != '-')
            return 0;
    }
    return 1;
}

/* policy_check_parameters - a mapping of parameter names to string templates. */
static void policy_check_parameters(struct policy_check *c, const cJSON *t, const char *parent)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(t, "parameters"), *it;
    char path[400];
    int n = 0;

    if (!ps)
        return;
    policy_path(path, sizeof(path), parent, "parameters");
    if (!cJSON_IsObject(ps)) {
        policy_report(c, 1, ps, 0, path, "must be a mapping of names to strings, not %s",
                      policy_type_name(ps));
        return;
    }
    cJSON_ArrayForEach(it, ps) {
        char ppath[600];

        if (++n == POLICY_MAX_PARAMS + 1)
            policy_report(c, 1, it, 1, path, "more than %d parameters", POLICY_MAX_PARAMS);
        snprintf(ppath, sizeof(ppath), "%s.%s", path, it->string);
        if (!policy_word_valid(it->string, 128, 1)) {
            policy_report(c, 1, it, 1, ppath, "invalid parameter name (letters, digits, '_', "
                          "'.', '-'; at most 128 bytes)");
            continue;
        }
        if (!cJSON_IsString(it)) {
            policy_report(c, 1, it, 0, ppath, "must be a string, not %s (quote it)",
                          policy_type_name(it));
            continue;
        }
        if (strlen(it->valuestring) > POLICY_MAX_STRING) {
            policy_report(c, 1, it, 0, ppath, "longer than %d bytes", POLICY_MAX_STRING);
            continue;
        }
        policy_check_template(c, it, ppath);
    }
}

/* policy_check_tests - spec.externalTests: each test, and unique names. */
static void policy_check_tests(struct policy_check *c, const cJSON *spec)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(spec, "externalTests"), *t;
    int i = 0;

    if (!ts) {
        policy_report(c, 0, spec, 1, "spec.externalTests",
                      "no external tests: this hop is promoted without testing");
        return;
    }
    if (!cJSON_IsArray(ts)) {
        policy_report(c, 1, ts, 0, "spec.externalTests", "must be a list of tests, not %s",
                      policy_type_name(ts));
        return;
    }
    if (cJSON_GetArraySize(ts) == 0)
        policy_report(c, 0, ts, 1, "spec.externalTests",
                      "no external tests: this hop is promoted without testing");
    if (cJSON_GetArraySize(ts) > POLICY_MAX_TESTS)
        policy_report(c, 1, ts, 1, "spec.externalTests", "more than %d tests", POLICY_MAX_TESTS);
    cJSON_ArrayForEach(t, ts) {
        char path[64];
        const cJSON *name, *prov, *o;
        int j = 0;

        snprintf(path, sizeof(path), "spec.externalTests[%d]", i);
        if (!cJSON_IsObject(t)) {
            policy_report(c, 1, t, 0, path, "must be a mapping, not %s", policy_type_name(t));
            i++;
            continue;
        }
        policy_check_unknown(c, t, path, policy_test_fields);
        name = policy_check_string(c, t, "name", path, 1, 63, 0);
        if (name && name->valuestring[0] && strlen(name->valuestring) <= 63) {
            if (!policy_word_valid(name->valuestring, 63, 0))
                policy_report(c, 1, name, 0, path, "name \"%s\" is invalid (letters, digits, '.', "
                              "'_', '-', starting with a letter or digit)", name->valuestring);
            /* unique within the policy: compare with the earlier tests */
            cJSON_ArrayForEach(o, ts) {
                const cJSON *on;
                if (j++ >= i)
                    break;
                on = cJSON_GetObjectItemCaseSensitive(o, "name");
                if (cJSON_IsString(on) && strcmp(on->valuestring, name->valuestring) == 0) {
                    char npath[80];
                    snprintf(npath, sizeof(npath), "%s.name", path);
                    policy_report(c, 1, name, 0, npath, "duplicate test name \"%s\" "
                                  "(also spec.externalTests[%d])", name->valuestring, j - 1);
                    break;
                }
            }
        }
        prov = policy_check_string(c, t, "provider", path, 1, 64, 0);
        if (prov && prov->valuestring[0] && policy_provider_parse(prov->valuestring) < 0) {
            char ppath[80];
            snprintf(ppath, sizeof(ppath), "%s.provider", path);
            policy_report(c, 1, prov, 0, ppath, "unknown provider \"%s\" (one of jenkins, "
                          "github-actions, gitlab, exec, plugin)", prov->valuestring);
        }
        policy_check_string(c, t, "job", path, 1, 1024, 1);
        policy_check_bool(c, t, "required", path);
        policy_check_duration(c, t, "timeout", path);
        policy_check_parameters(c, t, path);
        i++;
    }
}

/* policy_check_labels - a list of label templates. */
static void policy_check_labels(struct policy_check *c, const cJSON *gh, const char *key)
{
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(gh, key), *l;
    char path[80];
    int i = 0;

    if (!ls)
        return;
    policy_path(path, sizeof(path), "spec.promotion.github", key);
    if (!cJSON_IsArray(ls)) {
        policy_report(c, 1, ls, 0, path, "must be a list of labels, not %s", policy_type_name(ls));
        return;
    }
    if (cJSON_GetArraySize(ls) > POLICY_MAX_LABELS)
        policy_report(c, 1, ls, 1, path, "more than %d labels", POLICY_MAX_LABELS);
    cJSON_ArrayForEach(l, ls) {
        char lpath[100];
        snprintf(lpath, sizeof(lpath), "%s[%d]", path, i++);
        if (!cJSON_IsString(l)) {
            policy_report(c, 1, l, 0, lpath, "must be a string, not %s", policy_type_name(l));
            continue;
        }
        if (!l->valuestring[0] || strlen(l->valuestring) > 100) {
            policy_report(c, 1, l, 0, lpath, "a label is 1 to 100 bytes");
            continue;
        }
        policy_check_template(c, l, lpath);
    }
}

/* policy_check_kname - obj.key, when present, is an Argo CD project or
 * namespace: a template, or a Kubernetes name when it names no variable. */
static void policy_check_kname(struct policy_check *c, const cJSON *obj, const char *key)
{
    const cJSON *n = policy_check_string(c, obj, key, "spec.promotion.argocd", 0, 253, 1);
    char path[80];

    if (!n || !n->valuestring[0] || strlen(n->valuestring) > 253 || strchr(n->valuestring, '$'))
        return;
    if (!policy_word_valid(n->valuestring, 253, 0))
        policy_report(c, 1, n, 0, policy_path(path, sizeof(path), "spec.promotion.argocd", key),
                      "\"%s\" is not a valid Argo CD name (letters, digits, '.', '_', '-', at most 253 "
                      "bytes)", n->valuestring);
}

/* policy_check_plain - s holds no control byte, space or any of bad. */
static int policy_check_plain(const char *s, const char *bad)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr(bad, *s))
            return 0;
    return 1;
}

/* policy_check_merge_patch - a template that, its variables filled with
 * sample values escaped as JSON, is a JSON object. */
static void policy_check_merge_patch(struct policy_check *c, const cJSON *n, const char *path)
{
    struct subst_ctx sc;
    char err[256], *text;
    cJSON *doc;
    int v;

    subst_ctx_init(&sc);
    for (v = 0; v < SV_COUNT; v++)
        subst_ctx_set(&sc, (enum subst_var)v, "x");
    if (!(text = subst_expand(n->valuestring, &sc, SUBST_JSON, err, sizeof(err))))
        return;                          /* policy_check_template reported it */
    doc = cJSON_Parse(text);
    if (!doc)
        policy_report(c, 1, n, 0, path, "not valid JSON once its variables are filled in (write the "
                      "variables inside JSON strings: \"tag\": \"${SHORT_SHA}\")");
    else if (!cJSON_IsObject(doc))
        policy_report(c, 1, n, 0, path, "a merge patch must be a JSON object, not %s",
                      cJSON_IsArray(doc) ? "an array" : "a scalar");
    cJSON_Delete(doc);
    free(text);
}

/* policy_check_update - spec.promotion.argocd.update: "targetRevision", or
 * a mapping with exactly one strategy. */
static void policy_check_update(struct policy_check *c, const cJSON *a)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(a, "update"), *it, *o, *n;
    const char *P = "spec.promotion.argocd.update";
    char path[120], e2[256];
    int count = 0;

    if (!u)
        return;
    if (cJSON_IsString(u)) {
        if (strcmp(u->valuestring, "targetRevision") != 0)
            policy_report(c, 1, u, 0, P, "\"%s\": only targetRevision is written as a word; the others are "
                          "mappings (kustomizeImage: {image, tag}, helmParameter: {name, value}, mergePatch: "
                          "\"{...}\")", u->valuestring);
        return;
    }
    if (!cJSON_IsObject(u)) {
        policy_report(c, 1, u, 0, P, "must be targetRevision or a mapping with one of targetRevision, "
                      "kustomizeImage, helmParameter, mergePatch, not %s", policy_type_name(u));
        return;
    }
    policy_check_unknown(c, u, P, policy_update_fields);
    cJSON_ArrayForEach(it, u) {
        int i;
        for (i = 0; policy_update_fields[i]; i++)
            if (strcmp(it->string, policy_update_fields[i]) == 0)
                count++;
    }
    if (count != 1) {
        policy_report(c, 1, u, 0, P, "must hold exactly one of targetRevision, kustomizeImage, helmParameter, "
                      "mergePatch (found %d)", count);
        return;
    }
    if ((o = cJSON_GetObjectItemCaseSensitive(u, "targetRevision"))) {
        if (!cJSON_IsNull(o) && !(cJSON_IsObject(o) && !o->child))
            policy_report(c, 1, o, 0, "spec.promotion.argocd.update.targetRevision",
                          "takes no settings (write {} or the word targetRevision), not %s", policy_type_name(o));
    } else if ((o = cJSON_GetObjectItemCaseSensitive(u, "kustomizeImage"))) {
        snprintf(path, sizeof(path), "%s.kustomizeImage", P);
        if (!cJSON_IsObject(o)) {
            policy_report(c, 1, o, 0, path, "must be a mapping {image, tag}, not %s", policy_type_name(o));
            return;
        }
        policy_check_unknown(c, o, path, policy_image_fields);
        n = policy_check_string(c, o, "image", path, 1, 253, 0);
        if (n && n->valuestring[0] && strlen(n->valuestring) <= 253 && !policy_check_plain(n->valuestring, "=@$"))
            policy_report(c, 1, n, 0, "spec.promotion.argocd.update.kustomizeImage.image",
                          "\"%s\" is not an image name (no spaces, '=', '@', '$'; no variables)", n->valuestring);
        policy_check_string(c, o, "tag", path, 1, 128, 1);
    } else if ((o = cJSON_GetObjectItemCaseSensitive(u, "helmParameter"))) {
        snprintf(path, sizeof(path), "%s.helmParameter", P);
        if (!cJSON_IsObject(o)) {
            policy_report(c, 1, o, 0, path, "must be a mapping {name, value}, not %s", policy_type_name(o));
            return;
        }
        policy_check_unknown(c, o, path, policy_helm_fields);
        n = policy_check_string(c, o, "name", path, 1, 253, 0);
        if (n && n->valuestring[0] && strlen(n->valuestring) <= 253 && !policy_check_plain(n->valuestring, "$"))
            policy_report(c, 1, n, 0, "spec.promotion.argocd.update.helmParameter.name",
                          "\"%s\" is not a parameter name (no spaces, no control bytes, no variables)",
                          n->valuestring);
        policy_check_string(c, o, "value", path, 1, 4096, 1);
    } else if ((o = cJSON_GetObjectItemCaseSensitive(u, "mergePatch"))) {
        snprintf(path, sizeof(path), "%s.mergePatch", P);
        n = policy_check_string(c, u, "mergePatch", P, 1, POLICY_MAX_STRING, 1);
        if (n && n->valuestring[0] && strlen(n->valuestring) <= POLICY_MAX_STRING &&
            subst_check(n->valuestring, e2, sizeof(e2)) == 0)
            policy_check_merge_patch(c, n, path);
    }
}

/* policy_check_source - spec.promotion.argocd.source: 0..POLICY_MAX_SOURCE. */
static void policy_check_source(struct policy_check *c, const cJSON *a)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "source");
    const char *P = "spec.promotion.argocd.source";

    if (!n)
        return;
    if (!cJSON_IsNumber(n)) {
        policy_report(c, 1, n, 0, P, "must be an index of spec.sources (an integer 0 to %d), not %s",
                      POLICY_MAX_SOURCE, policy_type_name(n));
        return;
    }
    if (n->valuedouble != (double)(int)n->valuedouble || n->valuedouble < 0 ||
        n->valuedouble > POLICY_MAX_SOURCE)
        policy_report(c, 1, n, 0, P, "must be an integer from 0 to %d, not %g", POLICY_MAX_SOURCE,
                      n->valuedouble);
}

/* policy_check_promotion - spec.promotion.argocd and .github. */
static void policy_check_promotion(struct policy_check *c, const cJSON *spec)
{
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(spec, "promotion"), *a, *g, *cl;

    if (!pr)
        return;
    if (!cJSON_IsObject(pr)) {
        policy_report(c, 1, pr, 0, "spec.promotion", "must be a mapping, not %s", policy_type_name(pr));
        return;
    }
    policy_check_unknown(c, pr, "spec.promotion", policy_promo_fields);
    policy_check_bool(c, pr, "exclusive", "spec.promotion");
    a = cJSON_GetObjectItemCaseSensitive(pr, "argocd");
    if (a && !cJSON_IsObject(a)) {
        policy_report(c, 1, a, 0, "spec.promotion.argocd", "must be a mapping, not %s",
                      policy_type_name(a));
    } else if (a) {
        policy_check_unknown(c, a, "spec.promotion.argocd", policy_argo_fields);
        cl = policy_check_string(c, a, "cluster", "spec.promotion.argocd", 0, 253, 0);
        if (cl && cl->valuestring[0] && !name_valid(cl->valuestring))
            policy_report(c, 1, cl, 0, "spec.promotion.argocd.cluster",
                          "\"%s\" is not a valid cluster name", cl->valuestring);
        policy_check_string(c, a, "application", "spec.promotion.argocd", 0, 253, 1);
        policy_check_kname(c, a, "project");
        policy_check_kname(c, a, "appNamespace");
        policy_check_update(c, a);
        policy_check_source(c, a);
    }
    g = cJSON_GetObjectItemCaseSensitive(pr, "github");
    if (g && !cJSON_IsObject(g)) {
        policy_report(c, 1, g, 0, "spec.promotion.github", "must be a mapping, not %s",
                      policy_type_name(g));
    } else if (g) {
        policy_check_unknown(c, g, "spec.promotion.github", policy_gh_fields);
        policy_check_labels(c, g, "addLabels");
        policy_check_labels(c, g, "removeLabels");
        policy_check_string(c, g, "commitStatus", "spec.promotion.github", 0, 255, 1);
        policy_check_string(c, g, "comment", "spec.promotion.github", 0, POLICY_MAX_STRING, 1);
    }
}

/* policy_check_doc - every rule on one document; the count of errors. */
static int policy_check_doc(struct policy_check *c, const cJSON *doc)
{
    const cJSON *n, *meta, *spec, *src, *dst;

    if (!cJSON_IsObject(doc)) {
        policy_report(c, 1, doc, 0, "(document)", "must be a mapping, not %s", policy_type_name(doc));
        return c->errors;
    }
    policy_check_unknown(c, doc, "(document)", policy_top_fields);
    n = policy_check_string(c, doc, "apiVersion", "", 1, 100, 0);
    if (n && strcmp(n->valuestring, PROMO_API_VERSION) != 0)
        policy_report(c, 1, n, 0, "apiVersion", "must be \"%s\", not \"%s\"", PROMO_API_VERSION,
                      n->valuestring);
    n = policy_check_string(c, doc, "kind", "", 1, 100, 0);
    if (n && strcmp(n->valuestring, POLICY_KIND) != 0)
        policy_report(c, 1, n, 0, "kind", "must be \"%s\", not \"%s\"", POLICY_KIND, n->valuestring);
    meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    if (!meta) {
        policy_report(c, 1, doc, 1, "metadata", "required field is missing");
    } else if (!cJSON_IsObject(meta)) {
        policy_report(c, 1, meta, 0, "metadata", "must be a mapping, not %s", policy_type_name(meta));
    } else {
        policy_check_unknown(c, meta, "metadata", policy_meta_fields);
        n = policy_check_string(c, meta, "name", "metadata", 1, 253, 0);
        if (n && n->valuestring[0] && !name_valid(n->valuestring))
            policy_report(c, 1, n, 0, "metadata.name", "\"%s\" is not a valid name (lower case "
                          "letters, digits, '-' and '.', at most 253)", n->valuestring);
    }
    spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
    if (!spec) {
        policy_report(c, 1, doc, 1, "spec", "required field is missing");
        return c->errors;
    }
    if (!cJSON_IsObject(spec)) {
        policy_report(c, 1, spec, 0, "spec", "must be a mapping, not %s", policy_type_name(spec));
        return c->errors;
    }
    policy_check_unknown(c, spec, "spec", policy_spec_fields);
    src = policy_check_env(c, spec, "sourceEnvironment");
    dst = policy_check_env(c, spec, "targetEnvironment");
    if (src && dst && strcmp(src->valuestring, dst->valuestring) == 0)
        policy_report(c, 1, dst, 0, "spec.targetEnvironment",
                      "must differ from sourceEnvironment (both \"%s\")", dst->valuestring);
    policy_check_bool(c, spec, "autoPromote", "spec");
    policy_check_duration(c, spec, "timeout", "spec");
    policy_check_tests(c, spec);
    policy_check_promotion(c, spec);
    return c->errors;
}

/* policy_default - add key = value to obj when absent (value consumed). */
static void policy_default(cJSON *obj, const char *key, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_Delete(value);
    else
        cJSON_AddItemToObject(obj, key, value);
}

/* policy_ms - a duration already checked. */
static int64_t policy_ms(const char *s)
{
    int64_t ms = 0;
    char err[100];

    if (!s || duration_parse(s, &ms, err, sizeof(err)) < 0)
        return 0;
    return ms;
}

/* policy_bind - fill defaults into p->doc (a checked copy) and point p at it. */
static void policy_bind(struct policy *p)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(p->doc, "spec"), *ts, *t, *pr, *o;
    char tbuf[64];
    int i = 0;

    policy_default(spec, "autoPromote", cJSON_CreateTrue());
    policy_default(spec, "timeout",
                   cJSON_CreateString(duration_format(POLICY_DEFAULT_TIMEOUT, tbuf, sizeof(tbuf))));
    policy_default(spec, "externalTests", cJSON_CreateArray());
    p->name = json_str(cJSON_GetObjectItemCaseSensitive(p->doc, "metadata"), "name", NULL);
    p->source = json_str(spec, "sourceEnvironment", NULL);
    p->target = json_str(spec, "targetEnvironment", NULL);
    p->auto_promote = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "autoPromote"));
    p->timeout_ms = policy_ms(json_str(spec, "timeout", NULL));
    ts = cJSON_GetObjectItemCaseSensitive(spec, "externalTests");
    p->ntests = cJSON_GetArraySize(ts);
    p->tests = xcalloc((size_t)p->ntests + 1, sizeof(*p->tests));
    cJSON_ArrayForEach(t, ts) {
        struct policy_test *pt = &p->tests[i++];
        policy_default(t, "required", cJSON_CreateTrue());
        policy_default(t, "timeout", cJSON_CreateString(json_str(spec, "timeout", NULL)));
        policy_default(t, "parameters", cJSON_CreateObject());
        pt->name = json_str(t, "name", NULL);
        pt->provider = (enum policy_provider)policy_provider_parse(json_str(t, "provider", NULL));
        pt->job = json_str(t, "job", NULL);
        pt->required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "required"));
        pt->timeout_ms = policy_ms(json_str(t, "timeout", NULL));
        pt->parameters = cJSON_GetObjectItemCaseSensitive(t, "parameters");
    }
    pr = cJSON_GetObjectItemCaseSensitive(spec, "promotion");
    p->exclusive = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(pr, "exclusive"));
    o = cJSON_GetObjectItemCaseSensitive(pr, "argocd");
    p->argocd_cluster = json_str(o, "cluster", NULL);
    p->argocd_application = json_str(o, "application", NULL);
    p->argocd_project = json_str(o, "project", NULL);
    p->argocd_app_namespace = json_str(o, "appNamespace", NULL);
    p->argocd_source = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "source"))
                           ? cJSON_GetObjectItemCaseSensitive(o, "source")->valueint : -1;
    p->argocd_update = PU_TARGET_REVISION;
    {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "update"), *k;
        if ((k = cJSON_GetObjectItemCaseSensitive(u, "kustomizeImage"))) {
            p->argocd_update = PU_KUSTOMIZE_IMAGE;
            p->argocd_update_name = json_str(k, "image", NULL);
            p->argocd_update_value = json_str(k, "tag", NULL);
        } else if ((k = cJSON_GetObjectItemCaseSensitive(u, "helmParameter"))) {
            p->argocd_update = PU_HELM_PARAMETER;
            p->argocd_update_name = json_str(k, "name", NULL);
            p->argocd_update_value = json_str(k, "value", NULL);
        } else if ((k = cJSON_GetObjectItemCaseSensitive(u, "mergePatch"))) {
            p->argocd_update = PU_MERGE_PATCH;
            p->argocd_update_value = k->valuestring;
        }
    }
    o = cJSON_GetObjectItemCaseSensitive(pr, "github");
    p->add_labels = cJSON_GetObjectItemCaseSensitive(o, "addLabels");
    p->remove_labels = cJSON_GetObjectItemCaseSensitive(o, "removeLabels");
    p->commit_status = json_str(o, "commitStatus", NULL);
    p->comment = json_str(o, "comment", NULL);
}

/* policy_decode - check, then copy and bind. */
int policy_decode(const cJSON *doc, const struct yj_doc *src, const char *file,
                  struct policy *p, struct policy_diag *d)
{
    struct policy_check c = { src, file, d, 0 };
    struct yj_pos pos = { 0, 0, 0, 0 };

    memset(p, 0, sizeof(*p));
    if (policy_check_doc(&c, doc) > 0)
        return -1;
    p->doc = cJSON_Duplicate(doc, 1);
    if (!p->doc) {
        policy_diag_add(d, 1, file, 0, 0, "out of memory");
        return -1;
    }
    policy_bind(p);
    p->file = file ? xstrdup(file) : NULL;
    if (src) {
        pos = yj_pos_of(src, doc);
        p->line = pos.line ? pos.line : pos.key_line;
        p->col = pos.line ? pos.col : pos.key_col;
        pos = yj_pos_of(src, cJSON_GetObjectItemCaseSensitive(
                                 cJSON_GetObjectItemCaseSensitive(doc, "spec"), "sourceEnvironment"));
        p->source_line = pos.line;
        p->source_col = pos.col;
    }
    return 0;
}

/* policy_free - release what policy_decode made. */
void policy_free(struct policy *p)
{
    if (!p)
        return;
    cJSON_Delete(p->doc);
    free(p->tests);
    free(p->file);
    memset(p, 0, sizeof(*p));
}

/* ---- policy sets ---- */

/* policy_hash - FNV-1a, 64 bits. */
static uint64_t policy_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = data;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* policy_index_build - an open-addressing table for n keys. */
static void policy_index_build(struct policy_index *x, int n)
{
    size_t size = 8;

    while (size < (size_t)n * 2 + 1)
        size *= 2;
    free(x->key);
    free(x->val);
    x->key = xcalloc(size, sizeof(*x->key));
    x->val = xcalloc(size, sizeof(*x->val));
    x->size = size;
}

/* policy_index_slot - the slot of key: where it is, or the free one where it goes. */
static size_t policy_index_slot(const struct policy_index *x, const char *key)
{
    size_t i = (size_t)policy_hash(14695981039346656037ULL, key, strlen(key)) & (x->size - 1);

    while (x->key[i] && strcmp(x->key[i], key) != 0)
        i = (i + 1) & (x->size - 1);
    return i;
}

/* policy_index_put - add key -> val; returns the existing value instead when
 * the key is already there, else -1. */
static int policy_index_put(struct policy_index *x, const char *key, int val)
{
    size_t i = policy_index_slot(x, key);

    if (x->key[i])
        return x->val[i];
    x->key[i] = key;
    x->val[i] = val;
    return -1;
}

/* policy_index_get - the value of key, or -1. */
static int policy_index_get(const struct policy_index *x, const char *key)
{
    size_t i;

    if (!x->size || !key)
        return -1;
    i = policy_index_slot(x, key);
    return x->key[i] ? x->val[i] : -1;
}

/* policy_index_free - release the table. */
static void policy_index_free(struct policy_index *x)
{
    free(x->key);
    free(x->val);
    memset(x, 0, sizeof(*x));
}

/* policy_set_init - empty. */
void policy_set_init(struct policy_set *s)
{
    memset(s, 0, sizeof(*s));
    s->fingerprint = 14695981039346656037ULL;
}

/* policy_set_nul_error - report the first NUL byte of text with its position. */
static int policy_set_nul_error(struct policy_set *s, const char *text, size_t len, const char *file)
{
    const char *z = memchr(text, 0, len), *p;
    int line = 1, col = 1;

    if (!z)
        return 0;
    for (p = text; p < z; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    policy_diag_add(&s->diag, 1, file, line, col, "NUL byte in file: not a text file");
    return 1;
}

/* policy_set_add_text - parse and decode every document of one file. */
int policy_set_add_text(struct policy_set *s, const char *text, size_t len, const char *file)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct yj_doc yd;
    char err[1024];
    int before = s->diag.nerrors, i, ndocs;

    s->nfiles++;
    s->fingerprint = policy_hash(s->fingerprint, file, strlen(file) + 1);
    s->fingerprint = policy_hash(s->fingerprint, text, len);
    s->fingerprint = policy_hash(s->fingerprint, &len, sizeof(len));
    if (policy_set_nul_error(s, text, len, file))
        return s->diag.nerrors - before;
    lim.max_bytes = POLICY_FILE_MAX;
    lim.max_depth = 32;
    lim.max_nodes = 100000;
    lim.max_docs = POLICY_SET_MAX;
    memset(&yd, 0, sizeof(yd));
    if (yj_parse(text, len, file, &lim, &yd, err, sizeof(err)) < 0) {
        policy_diag_add(&s->diag, 1, NULL, 0, 0, "%s", err[0] ? err : "unparseable");
        yj_free(&yd);
        return s->diag.nerrors - before;
    }
    ndocs = cJSON_GetArraySize(yd.docs);
    for (i = 0; i < ndocs; i++) {
        const cJSON *doc = cJSON_GetArrayItem(yd.docs, i);
        struct policy p;

        if (!doc || cJSON_IsNull(doc))
            continue;
        if (policy_decode(doc, &yd, file, &p, &s->diag) < 0)
            continue;
        if (s->n >= POLICY_SET_MAX) {
            policy_diag_add(&s->diag, 1, file, p.line, p.col, "more than %d policies in the set",
                            POLICY_SET_MAX);
            policy_free(&p);
            break;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->pol = xrealloc(s->pol, (size_t)s->cap * sizeof(*s->pol));
        }
        s->pol[s->n] = xmalloc(sizeof(p));
        *s->pol[s->n] = p;
        s->n++;
    }
    yj_free(&yd);
    return s->diag.nerrors - before;
}

/* policy_set_add_file - read (bounded) and add one file. */
int policy_set_add_file(struct policy_set *s, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int r, before = s->diag.nerrors;

    r = read_file(path, POLICY_FILE_MAX, &text, &len);
    if (r == -EFBIG) {
        policy_diag_add(&s->diag, 1, path, 0, 0, "file larger than %d bytes: refused",
                        POLICY_FILE_MAX);
        return s->diag.nerrors - before;
    }
    if (r == -EINVAL) {
        policy_diag_add(&s->diag, 1, path, 0, 0, "not a regular file");
        return s->diag.nerrors - before;
    }
    if (r < 0) {
        policy_diag_add(&s->diag, 1, path, 0, 0, "cannot read: %s", strerror(-r));
        return s->diag.nerrors - before;
    }
    policy_set_add_text(s, text, len, path);
    free(text);
    return s->diag.nerrors - before;
}

/* policy_set_name_cmp - qsort order of file names. */
static int policy_set_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* policy_set_wanted - a policy file name: not hidden, with a known suffix. */
static int policy_set_wanted(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.')
        return 0;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

/* policy_set_add_dir - every policy file of dir, sorted by name. */
int policy_set_add_dir(struct policy_set *s, const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    int n = 0, cap = 0, i, before = s->diag.nerrors;

    if (!dp) {
        policy_diag_add(&s->diag, 1, dir, 0, 0, "cannot open policy directory: %s", strerror(errno));
        return s->diag.nerrors - before;
    }
    while ((de = readdir(dp)) != NULL) {
        if (!policy_set_wanted(de->d_name))
            continue;
        if (n >= POLICY_SET_MAX_FILES) {
            policy_diag_add(&s->diag, 1, dir, 0, 0, "more than %d policy files", POLICY_SET_MAX_FILES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, (size_t)cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(dp);
    if (n > 1)
        qsort(names, (size_t)n, sizeof(*names), policy_set_name_cmp);
    for (i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        policy_set_add_file(s, path);
        free(path);
        free(names[i]);
    }
    free(names);
    return s->diag.nerrors - before;
}

/* policy_set_next - the policy that continues from p's target, or -1. */
static int policy_set_next(const struct policy_set *s, int i)
{
    return policy_index_get(&s->by_source, s->pol[i]->target);
}

/* policy_set_check_cycles - walk source -> target from every policy; a walk
 * that meets itself is a cycle, reported once at the policy where it closes. */
static void policy_set_check_cycles(struct policy_set *s)
{
    int *walk = xcalloc((size_t)s->n + 1, sizeof(int));
    int i, j, k;

    for (i = 0; i < s->n; i++) {
        if (walk[i])
            continue;
        for (j = i; j >= 0 && !walk[j]; j = policy_set_next(s, j))
            walk[j] = i + 1;
        if (j >= 0 && walk[j] == i + 1) {
            /* j is on a cycle: describe it */
            char text[1024];
            size_t len = 0;

            len += (size_t)snprintf(text, sizeof(text), "%s", s->pol[j]->source);
            k = j;
            do {
                if (len < sizeof(text))
                    len += (size_t)snprintf(text + len, sizeof(text) - len, " → %s", s->pol[k]->target);
                k = policy_set_next(s, k);
            } while (k >= 0 && k != j);
            policy_diag_add(&s->diag, 1, s->pol[j]->file, s->pol[j]->source_line,
                            s->pol[j]->source_col, "spec.sourceEnvironment: cycle in the "
                            "environment chain: %s (policy \"%s\")", text, s->pol[j]->name);
        }
    }
    free(walk);
}

/* policy_set_finish - duplicate names, ambiguous sources, cycles; indexes. */
int policy_set_finish(struct policy_set *s)
{
    struct policy_index names = { 0 };
    int i, prev;

    policy_index_build(&names, s->n);
    policy_index_build(&s->by_source, s->n);
    policy_index_build(&s->by_target, s->n);
    for (i = 0; i < s->n; i++) {
        struct policy *p = s->pol[i];

        prev = policy_index_put(&names, p->name, i);
        if (prev >= 0)
            policy_diag_add(&s->diag, 1, p->file, p->line, p->col, "metadata.name: duplicate "
                            "policy name \"%s\" (also %s:%d)", p->name,
                            s->pol[prev]->file ? s->pol[prev]->file : "?", s->pol[prev]->line);
        prev = policy_index_put(&s->by_source, p->source, i);
        if (prev >= 0)
            policy_diag_add(&s->diag, 1, p->file, p->source_line, p->source_col,
                            "spec.sourceEnvironment: ambiguous: policies \"%s\" (%s:%d) and \"%s\" "
                            "both promote from \"%s\"", s->pol[prev]->name,
                            s->pol[prev]->file ? s->pol[prev]->file : "?", s->pol[prev]->line,
                            p->name, p->source);
        policy_index_put(&s->by_target, p->target, i);
    }
    policy_index_free(&names);
    policy_set_check_cycles(s);
    s->finished = 1;
    return s->diag.nerrors ? -1 : 0;
}

/* policy_set_load_dir - a whole directory, checked. */
int policy_set_load_dir(struct policy_set *s, const char *dir)
{
    policy_set_init(s);
    policy_set_add_dir(s, dir);
    return policy_set_finish(s);
}

/* policy_set_valid - finished and error free. */
int policy_set_valid(const struct policy_set *s)
{
    return s->finished && s->diag.nerrors == 0;
}

/* policy_set_lookup - by source environment, O(1). */
const struct policy *policy_set_lookup(const struct policy_set *s, const char *env)
{
    int i = policy_index_get(&s->by_source, env);

    return i >= 0 ? s->pol[i] : NULL;
}

/* policy_set_decide - found, end of chain, or not found. */
enum policy_verdict policy_set_decide(const struct policy_set *s, const char *env,
                                      const struct policy **out)
{
    const struct policy *p = policy_set_lookup(s, env);

    if (out)
        *out = p;
    if (p)
        return POLICY_FOUND;
    if (policy_index_get(&s->by_target, env) >= 0)
        return POLICY_END_OF_CHAIN;
    return POLICY_NOT_FOUND;
}

/* policy_set_chains - from each root (a source that is no target) to its end. */
cJSON *policy_set_chains(const struct policy_set *s)
{
    cJSON *all = cJSON_CreateArray();
    int i;

    for (i = 0; i < s->n; i++) {
        cJSON *chain;
        int j, steps = 0;

        if (policy_index_get(&s->by_target, s->pol[i]->source) >= 0)
            continue;
        if (policy_index_get(&s->by_source, s->pol[i]->source) != i)
            continue;            /* an ambiguous duplicate: listed once */
        chain = cJSON_CreateArray();
        cJSON_AddItemToArray(chain, cJSON_CreateString(s->pol[i]->source));
        for (j = i; j >= 0 && steps <= s->n; j = policy_set_next(s, j), steps++)
            cJSON_AddItemToArray(chain, cJSON_CreateString(s->pol[j]->target));
        cJSON_AddItemToArray(all, chain);
    }
    return all;
}

/* policy_set_chain_text - "dev → staging → prod; qa → prod". */
char *policy_set_chain_text(const struct policy_set *s)
{
    cJSON *all = policy_set_chains(s), *chain, *env;
    char *out = xstrdup(""), *t;

    cJSON_ArrayForEach(chain, all) {
        int first = 1;
        if (out[0]) {
            t = xasprintf("%s; ", out);
            free(out);
            out = t;
        }
        cJSON_ArrayForEach(env, chain) {
            t = xasprintf("%s%s%s", out, first ? "" : " → ", env->valuestring);
            free(out);
            out = t;
            first = 0;
        }
    }
    cJSON_Delete(all);
    return out;
}

/* policy_set_free - every policy, index and message. */
void policy_set_free(struct policy_set *s)
{
    int i;

    for (i = 0; i < s->n; i++) {
        policy_free(s->pol[i]);
        free(s->pol[i]);
    }
    free(s->pol);
    policy_index_free(&s->by_source);
    policy_index_free(&s->by_target);
    policy_diag_free(&s->diag);
    policy_set_init(s);
}
