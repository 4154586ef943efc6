/* rec_target.c - the target record: key, decoder, encoder, the readers'
 * table (rec_target.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec.h"
#include "domain/rec_target.h"
#include "domain/store.h"
#include "domain/tracker.h"
#include "domain/view.h"
#include "util/log.h"
#include "util/util.h"

/* target_key - sanitized application name and a short digest. */
int target_key(const char *cluster, const char *app_namespace, const char *application, char *out, size_t len)
{
    char digest[PROMO_KEY_SIZE], stem[201];
    size_t i, n = 0;
    const char *a = application ? application : "";

    if (!promo_key(cluster, app_namespace, a, "", "target", 0, digest, sizeof(digest)) || !digest[0])
        return -1;
    for (i = 0; a[i] && n < sizeof(stem) - 1; i++) {
        char c = a[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'))
            c = '-';
        if (c == '-' && (n == 0 || stem[n - 1] == '-'))
            continue;                 /* no leading or doubled '-' */
        stem[n++] = c;
    }
    while (n > 0 && (stem[n - 1] == '-' || stem[n - 1] == '.'))
        n--;
    stem[n] = '\0';
    if ((size_t)snprintf(out, len, "%s%s%.12s", stem, n ? "-" : "app-", digest + 3) >= len)
        return -1;
    return 0;
}

/* target_copy - a decoded string into a fixed field (its limit is the
 * decoder's, so it always fits). */
static void target_copy(char *dst, size_t len, const char *s)
{
    snprintf(dst, len, "%s", s ? s : "");
}

/* target_entry_decode - one {tracker, generation, headSHA, source, key, at}. */
static int target_entry_decode(const cJSON *o, const char *path, struct rec_pool *p, struct target_entry *e,
                               char *err, size_t errlen)
{
    const char *tracker, *sha, *source, *key, *at;

    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    if (rec_str(o, path, "tracker", 1, REC_MAX_NAME, p, &tracker, err, errlen) < 0 ||
        rec_int(o, path, "generation", 1, 0, (int64_t)TRACKER_GENERATION_MAX, 0, &e->generation, err,
                errlen) < 0 ||
        rec_str(o, path, "headSHA", 1, 64, p, &sha, err, errlen) < 0 ||
        rec_str(o, path, "source", 0, 63, p, &source, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, PROMO_KEY_LEN, p, &key, err, errlen) < 0 ||
        rec_str(o, path, "at", 0, 39, p, &at, err, errlen) < 0)
        return -1;
    if (!name_valid(tracker))
        return rec_err(err, errlen, path, "tracker: \"%s\" is not a valid name", tracker);
    target_entry_set(e, tracker, e->generation, sha, source, key, at);
    return 0;
}

/* target_decode - key, target, environment, holder, waiting. */
int target_decode(const cJSON *o, const char *key, struct target_rec *r, char *err, size_t errlen)
{
    struct rec_pool p = { 0 };
    const cJSON *tg, *h, *w, *e;
    const char *s[8];
    int i = 0, rc = -1;

    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(o)) {
        rec_err(err, errlen, "", "must be an object");
        goto out;
    }
    if (rec_str(o, "", "key", 1, REC_MAX_NAME, &p, &s[0], err, errlen) < 0)
        goto out;
    if (key && strcmp(s[0], key) != 0) {
        rec_err(err, errlen, "key", "\"%s\" is not the name of its file %s.json", s[0], key);
        goto out;
    }
    if (rec_member(o, "", "target", cJSON_Object, 16, &tg, err, errlen) < 0)
        goto out;
    if (!tg) {
        rec_err(err, errlen, "target", "required");
        goto out;
    }
    if (rec_str(tg, "target", "cluster", 1, REC_MAX_NAME, &p, &s[1], err, errlen) < 0 ||
        rec_str(tg, "target", "appNamespace", 0, REC_MAX_NAME, &p, &s[2], err, errlen) < 0 ||
        rec_str(tg, "target", "application", 1, REC_MAX_NAME, &p, &s[3], err, errlen) < 0 ||
        rec_str(o, "", "environment", 1, 63, &p, &s[4], err, errlen) < 0 ||
        rec_str(o, "", "progressAt", 0, 39, &p, &s[5], err, errlen) < 0 ||
        rec_str(o, "", "observed", 0, 127, &p, &s[6], err, errlen) < 0 ||
        rec_int(o, "", "timeoutMs", 0, 0, INT64_C(1) << 50, 0, &r->timeout_ms, err, errlen) < 0 ||
        rec_member(o, "", "holder", cJSON_Object, 16, &h, err, errlen) < 0 ||
        rec_member(o, "", "waiting", cJSON_Array, TARGET_MAX_WAITING, &w, err, errlen) < 0)
        goto out;
    target_copy(r->key, sizeof(r->key), s[0]);
    target_copy(r->cluster, sizeof(r->cluster), s[1]);
    target_copy(r->app_namespace, sizeof(r->app_namespace), s[2]);
    target_copy(r->application, sizeof(r->application), s[3]);
    target_copy(r->environment, sizeof(r->environment), s[4]);
    target_copy(r->progress_at, sizeof(r->progress_at), s[5]);
    target_copy(r->observed, sizeof(r->observed), s[6]);
    if (h) {
        if (target_entry_decode(h, "holder", &p, &r->holder, err, errlen) < 0)
            goto out;
        r->held = 1;
    }
    cJSON_ArrayForEach(e, w) {
        struct target_entry we;
        char path[40];

        snprintf(path, sizeof(path), "waiting[%d]", i++);
        memset(&we, 0, sizeof(we));
        if (target_entry_decode(e, path, &p, &we, err, errlen) < 0)
            goto out;
        if (target_waiting_find(r, we.tracker) >= 0) {
            rec_err(err, errlen, path, "tracker %s waits twice", we.tracker);
            goto out;
        }
        target_waiting_add(r, &we);
    }
    rc = 0;
out:
    rec_pool_free(&p);
    return rc;
}

/* target_entry_encode - the object of e. */
static cJSON *target_entry_encode(const struct target_entry *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "tracker", e->tracker);
    cJSON_AddNumberToObject(o, "generation", (double)e->generation);
    cJSON_AddStringToObject(o, "headSHA", e->head_sha);
    cJSON_AddStringToObject(o, "source", e->source);
    cJSON_AddStringToObject(o, "key", e->key);
    cJSON_AddStringToObject(o, "at", e->at);
    return o;
}

/* target_encode - {key, target, environment, holder, progressAt, observed,
 * timeoutMs, waiting}. */
cJSON *target_encode(const struct target_rec *r)
{
    cJSON *o = cJSON_CreateObject(), *t, *w;
    int i;

    cJSON_AddStringToObject(o, "key", r->key);
    t = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(t, "cluster", r->cluster);
    cJSON_AddStringToObject(t, "appNamespace", r->app_namespace);
    cJSON_AddStringToObject(t, "application", r->application);
    cJSON_AddStringToObject(o, "environment", r->environment);
    if (r->held) {
        cJSON_AddItemToObject(o, "holder", target_entry_encode(&r->holder));
        cJSON_AddStringToObject(o, "progressAt", r->progress_at);
        cJSON_AddStringToObject(o, "observed", r->observed);
        cJSON_AddNumberToObject(o, "timeoutMs", (double)r->timeout_ms);
    } else {
        cJSON_AddNullToObject(o, "holder");
    }
    w = cJSON_AddArrayToObject(o, "waiting");
    for (i = 0; i < r->nwaiting; i++)
        cJSON_AddItemToArray(w, target_entry_encode(&r->waiting[i]));
    return o;
}

void target_free(struct target_rec *r)
{
    free(r->waiting);
    memset(r, 0, sizeof(*r));
}

void target_entry_set(struct target_entry *e, const char *tracker, int64_t generation, const char *head_sha,
                      const char *source, const char *key, const char *at)
{
    target_copy(e->tracker, sizeof(e->tracker), tracker);
    e->generation = generation;
    target_copy(e->head_sha, sizeof(e->head_sha), head_sha);
    target_copy(e->source, sizeof(e->source), source);
    target_copy(e->key, sizeof(e->key), key);
    target_copy(e->at, sizeof(e->at), at);
}

void target_waiting_add(struct target_rec *r, const struct target_entry *e)
{
    if (r->nwaiting == r->capwaiting) {
        r->capwaiting = r->capwaiting ? r->capwaiting * 2 : 8;
        r->waiting = xrealloc(r->waiting, (size_t)r->capwaiting * sizeof(*r->waiting));
    }
    r->waiting[r->nwaiting++] = *e;
}

int target_waiting_find(const struct target_rec *r, const char *tracker)
{
    int i;

    for (i = 0; i < r->nwaiting; i++)
        if (strcmp(r->waiting[i].tracker, tracker) == 0)
            return i;
    return -1;
}

void target_waiting_remove(struct target_rec *r, int i)
{
    if (i < 0 || i >= r->nwaiting)
        return;
    memmove(&r->waiting[i], &r->waiting[i + 1], (size_t)(r->nwaiting - i - 1) * sizeof(*r->waiting));
    r->nwaiting--;
}

/* target_table_load - every readable, valid record. */
int target_table_load(struct store *s, struct target_table *tt)
{
    char **names = NULL, err[512];
    int n, i;

    memset(tt, 0, sizeof(*tt));
    n = store_list(s, TARGET_AREA, &names);
    if (n == -ENOENT)
        return 0;
    if (n < 0)
        return n;
    tt->v = xcalloc((size_t)n + 1, sizeof(*tt->v));
    for (i = 0; i < n; i++) {
        cJSON *o = NULL;

        if (rec_read(s, TARGET_AREA, names[i], &o, err, sizeof(err)) < 0)
            continue;
        if (target_decode(o, names[i], &tt->v[tt->n], err, sizeof(err)) == 0)
            tt->n++;
        else
            log_warn("bad_record", "area=%s name=%s error=%s", TARGET_AREA, names[i], log_q(err));
        cJSON_Delete(o);
    }
    store_list_free(names);
    return tt->n;
}

void target_table_free(struct target_table *tt)
{
    int i;

    for (i = 0; i < tt->n; i++)
        target_free(&tt->v[i]);
    free(tt->v);
    memset(tt, 0, sizeof(*tt));
}

/* target_since - "12:03 UTC" (today) or "2026-12-06 12:03 UTC" from ISO at. */
static void target_since(const char *at, char *buf, size_t len)
{
    char today[40];

    time_format_iso(wall_ms(), today, sizeof(today));
    if (strlen(at) < 16)
        snprintf(buf, len, "%s", at);
    else if (strncmp(at, today, 10) == 0)
        snprintf(buf, len, "%.5s UTC", at + 11);
    else
        snprintf(buf, len, "%.10s %.5s UTC", at, at + 11);
}

int target_table_note(const struct target_table *tt, const char *name, int64_t generation, char *buf,
                      size_t len)
{
    char since[40];
    int i, w;

    buf[0] = '\0';
    for (i = 0; i < tt->n; i++) {
        const struct target_rec *r = &tt->v[i];

        w = target_waiting_find(r, name);
        if (w >= 0 && r->waiting[w].generation == generation) {
            if (r->held) {
                target_since(r->holder.at, since, sizeof(since));
                snprintf(buf, len, "waiting for %s (position %d of %d), held by %s since %s", r->application,
                         w + 1, r->nwaiting, r->holder.tracker, since);
            } else {
                snprintf(buf, len, "waiting for %s (position %d of %d)", r->application, w + 1, r->nwaiting);
            }
            return 1;
        }
    }
    for (i = 0; i < tt->n; i++) {
        const struct target_rec *r = &tt->v[i];

        if (r->held && strcmp(r->holder.tracker, name) == 0 && r->holder.generation == generation) {
            target_since(r->holder.at, since, sizeof(since));
            snprintf(buf, len, "holds %s since %s", r->application, since);
            return 2;
        }
    }
    return 0;
}

int target_table_apply(const struct target_table *tt, struct view *v)
{
    char note[sizeof(v->waiting)];

    if (target_table_note(tt, v->t.name, v->t.generation, note, sizeof(note)) != 1)
        return 0;
    snprintf(v->waiting, sizeof(v->waiting), "%s", note);
    return 1;
}
