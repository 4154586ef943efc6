/* rec.c - the decoding helpers every record decoder shares (see rec.h).
 *
 * Each helper checks one member: its type first, then its size, and names
 * the member in the error, so a decoder reads as a list of its fields. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/rec.h"
#include "domain/store.h"
#include "domain/tracker.h"
#include "util/util.h"

#define REC_INT_MAX 9007199254740992.0   /* 2^53: exact in a double */

/* rec_pool_add - keep a copy of s. */
const char *rec_pool_add(struct rec_pool *p, const char *s)
{
    if (!s || !*s)
        return "";
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n] = xstrdup(s);
    return p->v[p->n++];
}

/* rec_pool_free - free every string of p. */
void rec_pool_free(struct rec_pool *p)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* rec_err - "path.reason" into err. */
int rec_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    va_list ap;
    size_t l;

    if (!errlen)
        return -1;
    snprintf(err, errlen, "%s: ", path && *path ? path : "record");
    l = strlen(err);
    va_start(ap, fmt);
    vsnprintf(err + l, errlen - l, fmt, ap);
    va_end(ap);
    return -1;
}

/* rec_path - "path.key" in buf (for errors). */
static const char *rec_path(char *buf, size_t len, const char *path, const char *key)
{
    snprintf(buf, len, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", key);
    return buf;
}

/* rec_absent - 1 when o[key] is missing or JSON null. */
static const cJSON *rec_get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* rec_str - a string member within max bytes. */
int rec_str(const cJSON *o, const char *path, const char *key, int required, size_t max,
            struct rec_pool *p, const char **out, char *err, size_t errlen)
{
    const cJSON *v = rec_get(o, key);
    char pb[160];

    *out = "";
    if (!v)
        return required ? rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "required") : 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "must be a string");
    if (strlen(v->valuestring) > max)
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "longer than %zu bytes", max);
    *out = rec_pool_add(p, v->valuestring);
    return 0;
}

/* rec_int - an integral number member in [min, max]. */
int rec_int(const cJSON *o, const char *path, const char *key, int required, int64_t min, int64_t max,
            int64_t dflt, int64_t *out, char *err, size_t errlen)
{
    const cJSON *v = rec_get(o, key);
    char pb[160];
    double d;

    *out = dflt;
    if (!v)
        return required ? rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "required") : 0;
    if (!cJSON_IsNumber(v))
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "must be a number");
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > REC_INT_MAX || d < (double)min || d > (double)max)
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "must be an integer in %lld..%lld",
                       (long long)min, (long long)max);
    *out = (int64_t)d;
    return 0;
}

/* rec_bool - a boolean member. */
int rec_bool(const cJSON *o, const char *path, const char *key, int dflt, int *out, char *err, size_t errlen)
{
    const cJSON *v = rec_get(o, key);
    char pb[160];

    *out = dflt;
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "must be true or false");
    *out = cJSON_IsTrue(v);
    return 0;
}

/* rec_member - an object or array member, bounded. */
int rec_member(const cJSON *o, const char *path, const char *key, int type, int max, const cJSON **out,
               char *err, size_t errlen)
{
    const cJSON *v = rec_get(o, key);
    char pb[160];

    *out = NULL;
    if (!v)
        return 0;
    if ((v->type & 0xFF) != type)
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "must be %s",
                       type == cJSON_Object ? "an object" : type == cJSON_Array ? "an array" : "of another type");
    if (cJSON_GetArraySize(v) > max)
        return rec_err(err, errlen, rec_path(pb, sizeof(pb), path, key), "more than %d entries", max);
    *out = v;
    return 0;
}

/* rec_head - name, generation, headSHA. */
int rec_head(const cJSON *o, const char *namekey, const char *want, int sha_optional, struct rec_pool *p,
             const char **name, int64_t *generation, const char **head_sha, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, "", "not a JSON object");
    if (rec_str(o, "", namekey, 1, REC_MAX_NAME, p, name, err, errlen) < 0 ||
        rec_int(o, "", "generation", 1, 0, (int64_t)REC_INT_MAX, 0, generation, err, errlen) < 0 ||
        rec_str(o, "", "headSHA", !sha_optional, 64, p, head_sha, err, errlen) < 0)
        return -1;
    if (!name_valid(*name))
        return rec_err(err, errlen, namekey, "not a valid tracker name");
    if (want && strcmp(*name, want) != 0)
        return rec_err(err, errlen, namekey, "\"%s\" is not the record's file name \"%s\"", *name, want);
    if ((*head_sha)[0] && !tracker_sha_valid(*head_sha))
        return rec_err(err, errlen, "headSHA", "must be 40 or 64 hex digits");
    return 0;
}

/* rec_conditions - the "conditions" array. */
int rec_conditions(const cJSON *o, struct rec_pool *p, struct rec_condition *c, int *n, char *err, size_t errlen)
{
    const cJSON *arr, *it;
    char path[32];

    *n = 0;
    if (rec_member(o, "", "conditions", cJSON_Array, REC_MAX_CONDITIONS, &arr, err, errlen) < 0)
        return -1;
    cJSON_ArrayForEach(it, arr) {
        struct rec_condition *e = &c[*n];

        snprintf(path, sizeof(path), "conditions[%d]", *n);
        if (!cJSON_IsObject(it))
            return rec_err(err, errlen, path, "must be an object");
        if (rec_str(it, path, "type", 1, REC_MAX_ID, p, &e->type, err, errlen) < 0 ||
            rec_str(it, path, "status", 0, REC_MAX_ID, p, &e->status, err, errlen) < 0 ||
            rec_str(it, path, "reason", 0, REC_MAX_ID, p, &e->reason, err, errlen) < 0 ||
            rec_str(it, path, "message", 0, REC_MAX_TEXT, p, &e->message, err, errlen) < 0 ||
            rec_str(it, path, "lastTransitionTime", 0, REC_MAX_ID, p, &e->last_transition, err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* rec_conditions_encode - {type, status, reason?, message, lastTransitionTime} each. */
cJSON *rec_conditions_encode(const struct rec_condition *c, int n)
{
    cJSON *arr = cJSON_CreateArray();
    int i;

    for (i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "type", c[i].type);
        cJSON_AddStringToObject(o, "status", c[i].status);
        if (c[i].reason && c[i].reason[0])
            cJSON_AddStringToObject(o, "reason", c[i].reason);
        cJSON_AddStringToObject(o, "message", c[i].message);
        cJSON_AddStringToObject(o, "lastTransitionTime", c[i].last_transition);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* rec_current - same generation, and same head SHA when the record has one. */
int rec_current(int64_t generation, const char *head_sha, int64_t gen, const char *sha)
{
    return generation == gen && (!head_sha[0] || strcasecmp(head_sha, sha) == 0);
}

/* rec_read - see rec.h. */
int rec_read(struct store *s, const char *area, const char *name, cJSON **o, char *err, size_t errlen)
{
    int rc;

    *o = NULL;
    if (errlen)
        err[0] = '\0';
    if (!s)
        return -ENOENT;
    rc = store_read(s, area, name, o);
    if (rc == -EBADMSG)
        snprintf(err, errlen, "corrupt record (quarantined)");
    return rc < 0 ? rc : 0;
}

/* rec_stale - see rec.h. */
int rec_stale(const struct tracker *t, int64_t generation, const char *head_sha, char *err, size_t errlen)
{
    if (!t || (head_sha[0] && rec_current(generation, head_sha, t->generation, t->head_sha)))
        return 0;
    snprintf(err, errlen, "about generation %lld, head SHA %.12s", (long long)generation, head_sha);
    return -ESTALE;
}
